//! The published exit codes (README "Exit codes"): one table for every
//! command, and the one place an error becomes a code.

use crate::output::{errln, WriteError};
use forklore_suite::input::InputError;

/// Everything ran and nothing failed (skips allowed).
pub const OK: i32 = 0;
/// `check`, `probe`: at least one case failed (the kernel and the model
/// disagree; with `--expect`, a failure the baseline does not know; with
/// `--strict-expect`, also a vanished baseline entry). `diff`: the two
/// reports differ. `bench`: a measurement could not be completed (a
/// syscall failed, a file could not be written).
pub const FAIL: i32 = 1;
/// Bad input: unknown flag, malformed version, conflicting options, a
/// value that is not UTF-8, a filter that matches nothing, an unusable
/// output path or an unreadable input file (refused before any work).
pub const USAGE: i32 = 2;
/// The suite itself broke (a probe crashed, a report could not be
/// written), or stdout/stderr could not be written (a full disk,
/// /dev/full): one line on stderr if stderr still works.
pub const BROKEN: i32 = 3;
/// `forklore probe`: the case was skipped (precondition missing).
pub const SKIP: i32 = 4;
/// `bench`: stopped by SIGINT or SIGTERM (128 + SIGINT, as shells say),
/// after the timing process and the temporary files were cleaned up.
pub const INTERRUPTED: i32 = 130;
/// stdout was a pipe whose reader went away (`forklore list | head`): the
/// rest of the output is dropped without a word, and the code is the one a
/// shell shows for a tool killed by SIGPIPE (128 + 13).
pub const CLOSED_PIPE: i32 = 141;

/// Why a command stopped early.
#[derive(Debug)]
pub enum Error {
    /// Bad input: one line, exit [`USAGE`].
    Usage(String),
    /// stdout or stderr could not be written.
    Write(WriteError),
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Usage(e.0)
    }
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Self {
        Error::Write(e)
    }
}

/// The exit code of `e`, after its one line on stderr (if stderr works:
/// a failing stderr changes nothing but the missing line).
pub fn report(e: &Error) -> i32 {
    match e {
        Error::Usage(m) => {
            let _ = errln!("forklore: {m}");
            USAGE
        }
        Error::Write(w) if w.is_closed_pipe() => CLOSED_PIPE,
        Error::Write(w) => {
            let _ = errln!("forklore: cannot write to {}: {}", w.stream, w.error);
            BROKEN
        }
    }
}
