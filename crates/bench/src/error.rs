//! The bench's one error type.

/// Exit code: everything went fine.
pub const EXIT_OK: i32 = 0;
/// Exit code: a measurement could not be completed (a syscall failed, a
/// file could not be written).
pub const EXIT_FAILURE: i32 = 1;
/// Exit code: bad input (unknown method, malformed size, conflicting
/// options, unreadable compare file).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code: stopped by SIGINT or SIGTERM (128 + SIGINT, as shells say),
/// after the timing process and the temporary files were cleaned up.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Errors from [`crate::run`]. The message is one line.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The user asked for something we cannot do; exit code 2.
    #[error("{0}")]
    BadInput(String),
    /// The measurement failed; exit code 1.
    #[error("{0}")]
    Failed(String),
    /// SIGINT or SIGTERM arrived; exit code 130.
    #[error("interrupted by {0}; nothing was reported")]
    Interrupted(&'static str),
}

impl BenchError {
    pub fn exit_code(&self) -> i32 {
        match self {
            BenchError::BadInput(_) => EXIT_BAD_INPUT,
            BenchError::Failed(_) => EXIT_FAILURE,
            BenchError::Interrupted(_) => EXIT_INTERRUPTED,
        }
    }
}

pub(crate) fn bad(msg: impl Into<String>) -> BenchError {
    BenchError::BadInput(msg.into())
}

pub(crate) fn failed(msg: impl Into<String>) -> BenchError {
    BenchError::Failed(msg.into())
}
