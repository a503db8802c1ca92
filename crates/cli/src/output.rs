//! The one print module: every byte a command writes to stdout or stderr
//! goes through here, and every write can fail. Rust's `print!` family
//! panics on a write error, and a Rust program ignores SIGPIPE, so a closed
//! pipe is an `EPIPE` error like any other: the commands pass these errors
//! up with `?` and `main` turns them into an exit code ([`crate::exit`]):
//! 141 without a word for a reader that went away (`forklore list | head`),
//! else 3 with one line on stderr (stdout on a full disk, /dev/full).

use std::fmt;
use std::io::{self, Write};

/// Which standard stream a write failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "standard output",
            Stream::Stderr => "standard error",
        })
    }
}

/// A failed write on stdout or stderr.
#[derive(Debug)]
pub struct WriteError {
    pub stream: Stream,
    pub error: io::Error,
}

impl WriteError {
    pub fn stdout(error: io::Error) -> Self {
        WriteError {
            stream: Stream::Stdout,
            error,
        }
    }

    /// The reader of stdout went away (`EPIPE`): not worth a message.
    pub fn is_closed_pipe(&self) -> bool {
        self.stream == Stream::Stdout && self.error.kind() == io::ErrorKind::BrokenPipe
    }
}

/// Write to stdout (line-buffered: see [`flush`]).
pub fn stdout(args: fmt::Arguments<'_>) -> Result<(), WriteError> {
    io::stdout()
        .lock()
        .write_fmt(args)
        .map_err(WriteError::stdout)
}

/// Write to stderr (unbuffered).
pub fn stderr(args: fmt::Arguments<'_>) -> Result<(), WriteError> {
    io::stderr()
        .lock()
        .write_fmt(args)
        .map_err(|error| WriteError {
            stream: Stream::Stderr,
            error,
        })
}

/// Flush stdout: the last partial line is only written here, so a command
/// is not done (and has not succeeded) before this returns `Ok`.
pub fn flush() -> Result<(), WriteError> {
    io::stdout().lock().flush().map_err(WriteError::stdout)
}

/// `print!` that returns the write error instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::output::stdout(format_args!($($t)*))
    };
}

/// `println!` that returns the write error instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::output::stdout(format_args!("{}\n", format_args!($($t)*)))
    };
}

/// `eprintln!` that returns the write error instead of panicking.
macro_rules! errln {
    ($($t:tt)*) => {
        $crate::output::stderr(format_args!("{}\n", format_args!($($t)*)))
    };
}

pub(crate) use {errln, out, outln};
