//! forklore-suite: where the model and the kernel meet. The case catalogue,
//! the runner that feeds cases to probe processes, verdicts, and reports.

#![forbid(unsafe_code)]

pub mod catalogue;
pub mod check;
pub mod cli;
/// `print!` that ignores a closed stdout (`forklore list | head`): the
/// reader going away is not an error worth a panic.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($t)*);
    }};
}

/// `println!` that ignores a closed stdout.
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

pub mod exit;
pub mod explain;
pub mod input;
pub mod report;
pub mod verdict;
