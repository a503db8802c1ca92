//! forklore-sys: every `unsafe` line of forklore lives here. Raw syscalls,
//! the clone trampoline, the code that runs in a freshly created child, and
//! the benchmark's tight loops. It executes; it never decides what is right.
//!
//! | module      | what |
//! |-------------|------|
//! | [`abi`]     | the kernel ABI vocabulary (clone flags, syscall numbers, wait, futex, prctl, signal constants) from linux-raw-sys, per architecture |
//! | [`errno`]   | [`Errno`], a raw errno with names |
//! | [`raw`]     | the architecture's `syscall0..6`, the one clone trampoline, the signal restorer |
//! | [`clone`]   | the probe's per-case call: [`clone::Arena`], [`clone::CallSpec`] and the child's self-report |
//! | [`script`]  | the child-side interpreter: [`Step`], [`Script`], [`clone_script`] |
//! | [`thread`]  | [`RawThread`]: a CLONE_THREAD task running a script |
//! | [`wait`]    | the one `wait4` / `waitid` and [`Rusage`] |
//! | [`signal`]  | dispositions, masks, altstack, `tgkill`, `pidfd_send_signal` |
//! | [`fd`]      | inherited descriptors: `dup2`, close, cloexec, probing |
//! | [`exec`]    | `execve` with arbitrary pointers, [`ExecArgs`] |
//! | [`session`] | `setsid`, `setpgid`, `getsid`, `getpgid`, a pseudo-terminal and `TIOCSCTTY` |
//! | [`process`] | fork when single-threaded, exit, thread count, pidfd_open, futex, prctl, seccomp |
//! | [`ptrace`]  | attach, seize, options, resume, detach, the event message |
//! | [`mem`], [`mailbox`] | mappings and shared pages of atomics |
//! | [`bench`]   | forklore bench's helper process and perf counters |
//!
//! The safe functions and types of `script`, `thread`, `wait`, `signal`,
//! `fd`, `exec` and `process` are also re-exported at the crate root, so
//! callers may write `forklore_sys::wait4`.

pub mod abi;
pub mod bench;
pub mod clone;
pub mod errno;
pub mod exec;
pub mod fd;
pub mod linebuf;
pub mod mailbox;
pub mod mem;
pub mod process;
pub mod ptrace;
pub mod raw;
pub mod script;
pub mod session;
pub mod signal;
pub mod thread;
pub mod wait;

pub use errno::Errno;
pub use exec::{execve, execve_addr, execveat, memfd_create, ExecArgs};
pub use fd::{
    close_inherited, close_pidfd, dup2, fcntl_getfl, fd_file, fd_is_open, lowest_free_fd,
    set_cloexec,
};
pub use mem::no_huge_pages;
pub use process::{
    exit_group, exit_now, exit_thread, fork_single_threaded, fork_with_pidfd, fs_base, futex_wait,
    futex_wake, gettid, pidfd_open, seccomp_deny_syscall, set_child_subreaper, set_dumpable,
    set_pdeathsig, thread_count, Forked, PIDFD_NONBLOCK, PIDFD_THREAD,
};
pub use script::{clone3_script, clone_script, clone_script_tls, Script, Step, MAX_STEPS};
pub use session::{getpgid, getsid, open_pty, set_ctty, setpgid, setsid, tty_pgrp, tty_sid, Pty};
pub use signal::{
    altstack, catch_flag, catch_handler_addr, handler_of, install_flag_handler, pidfd_send_signal,
    set_altstack, set_handler, set_sigmask, set_signal_disposition, sigmask, signal_disposition,
    sigprocmask, tgkill, CaughtSignal, Disposition, Handler, SIG_BLOCK, SIG_SETMASK, SIG_UNBLOCK,
    SS_DISABLE,
};
pub use thread::{spawn_thread, RawThread};
pub use wait::{wait4, wait4_status_addr, waitid, Reaped, Rusage, WaitInfo};
