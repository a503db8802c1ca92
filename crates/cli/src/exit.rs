//! The published exit codes (README "Exit codes"): one table for every
//! command.

/// Everything ran and nothing failed (skips allowed).
pub const OK: i32 = 0;
/// `check`, `probe`: at least one case failed (the kernel and the model
/// disagree). `bench`: a measurement could not be completed (a syscall
/// failed, a file could not be written).
pub const FAIL: i32 = 1;
/// Bad input: unknown flag, malformed version, conflicting options,
/// unreadable file...
pub const USAGE: i32 = 2;
/// The suite itself broke (a probe crashed, a report could not be written).
pub const BROKEN: i32 = 3;
/// `forklore probe`: the case was skipped (precondition missing).
pub const SKIP: i32 = 4;
/// `bench`: stopped by SIGINT or SIGTERM (128 + SIGINT, as shells say),
/// after the timing process and the temporary files were cleaned up.
pub const INTERRUPTED: i32 = 130;
