//! Published exit codes (README "Exit codes").

/// Everything ran and nothing failed (skips allowed).
pub const OK: i32 = 0;
/// At least one case failed: the kernel and the model disagree.
pub const FAIL: i32 = 1;
/// Bad input: unknown flag, malformed version, conflicting options...
pub const USAGE: i32 = 2;
/// The suite itself broke (a probe crashed, a report could not be written).
pub const BROKEN: i32 = 3;
/// `forklore probe`: the case was skipped (precondition missing).
pub const SKIP: i32 = 4;
