//! forklore-sys: every `unsafe` line of forklore lives here. Raw syscalls,
//! the clone trampoline, the code that runs in a freshly created child, and
//! the benchmark's tight loops. It executes; it never decides what is right.

pub mod bench;
pub mod clone;
pub mod lifecycle;
pub mod mailbox;
pub mod mem;
pub mod process;
pub mod raw;
