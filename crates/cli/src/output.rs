//! Standard output for every command: `print!`/`println!` that ignore a
//! closed stdout (`forklore list | head`): the reader going away is not an
//! error worth a panic. Diagnostics go to stderr with `eprintln!`.

/// `print!` that ignores a closed stdout.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($t)*);
    }};
}

/// `println!` that ignores a closed stdout.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

pub(crate) use {out, outln};
