//! The bench's one error type.

/// Errors from [`crate::run`]. The message is one line. The `forklore`
/// command maps the kinds to its exit codes (bad input 2, failed 1,
/// interrupted 130, output 3).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The user asked for something we cannot do.
    #[error("{0}")]
    BadInput(String),
    /// The measurement failed.
    #[error("{0}")]
    Failed(String),
    /// The table or report could not be written to the output stream
    /// (the `forklore` command reports it as a stdout write error).
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
    /// SIGINT or SIGTERM arrived.
    #[error("interrupted by {0}; nothing was reported")]
    Interrupted(&'static str),
}

pub(crate) fn bad(msg: impl Into<String>) -> BenchError {
    BenchError::BadInput(msg.into())
}

pub(crate) fn failed(msg: impl Into<String>) -> BenchError {
    BenchError::Failed(msg.into())
}
