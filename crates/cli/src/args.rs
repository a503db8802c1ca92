//! Argument groups shared by several commands: the request options
//! (`explain`, `probe`) and the stated context (`explain`). Values are kept
//! as text and validated by forklore-suite's option structs, so every
//! mistake is one line naming the option. Numeric options take a value
//! starting with `-` (`--size -1`), so the parser, not clap's "unexpected
//! argument", says what is wrong with it.

use clap::Args;
use forklore_model::Request;
use forklore_suite::input::{ContextOptions, RequestOptions};

/// The call to make (or explain).
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct RequestArgs {
    /// fork, vfork, clone or clone3.
    #[arg(long, default_value = "clone")]
    pub syscall: String,
    /// CLONE_* flags: names (THREAD, CLONE_THREAD, any case), hex or decimal,
    /// joined by `|` or `,`. For clone a signal name sets the exit signal
    /// (`VM|VFORK|SIGCHLD`).
    #[arg(long, default_value = "")]
    pub flags: String,
    /// Exit signal (name or number). clone: the low byte of the flags
    /// (default none, i.e. 0, unless given in --flags). clone3: the
    /// exit_signal field (default SIGCHLD, or 0 with THREAD or PARENT).
    #[arg(long, allow_hyphen_values = true)]
    pub exit_signal: Option<String>,
    /// clone3 `size` argument (default 88).
    #[arg(long, allow_hyphen_values = true)]
    pub size: Option<String>,
    /// Where the clone3 argument block lives: valid, null, unmapped, or
    /// truncated:N (only the first N bytes are mapped).
    #[arg(long)]
    pub args_mem: Option<String>,
    /// Put a non-zero byte at this offset of the clone3 block (the tail past
    /// the kernel's struct).
    #[arg(long, allow_hyphen_values = true)]
    pub tail_nonzero_at: Option<String>,
    /// Stack: fresh (default), inherit (0), or STACK:SIZE raw values (hex ok).
    #[arg(long, allow_hyphen_values = true)]
    pub stack: Option<String>,
    /// TLS for CLONE_SETTLS: valid (default) or a raw value.
    #[arg(long, allow_hyphen_values = true)]
    pub tls: Option<String>,
    /// parent_tid pointer: valid, null, unmapped or kernel (legacy clone:
    /// also the CLONE_PIDFD slot).
    #[arg(long)]
    pub parent_tid: Option<String>,
    /// child_tid pointer: valid, null, unmapped or kernel.
    #[arg(long)]
    pub child_tid: Option<String>,
    /// clone3 pidfd pointer: valid, null, unmapped, kernel, or `parent-tid`
    /// (the same address as parent_tid).
    #[arg(long)]
    pub pidfd: Option<String>,
    /// clone3 set_tid entries, innermost first: numbers, `self` (the caller's
    /// pid), `unused` (a free pid), `pid_max`. Comma-separated.
    // A negative entry (`--set-tid -5`) is a value, not an option.
    #[arg(long, allow_hyphen_values = true)]
    pub set_tid: Option<String>,
    /// clone3 set_tid_size (default: the number of --set-tid entries).
    #[arg(long, allow_hyphen_values = true)]
    pub set_tid_size: Option<String>,
    /// clone3 set_tid pointer: valid (default), null or unmapped.
    #[arg(long)]
    pub set_tid_ptr: Option<String>,
    /// clone3 cgroup fd: zero, not-open, file, dir, v1, v2-root, v2-child or
    /// a raw number.
    #[arg(long, allow_hyphen_values = true)]
    pub cgroup: Option<String>,
}

impl RequestArgs {
    /// The plain options the suite builds a request from.
    pub fn options(&self) -> RequestOptions {
        let a = self.clone();
        RequestOptions {
            syscall: a.syscall,
            flags: a.flags,
            exit_signal: a.exit_signal,
            size: a.size,
            args_mem: a.args_mem,
            tail_nonzero_at: a.tail_nonzero_at,
            stack: a.stack,
            tls: a.tls,
            parent_tid: a.parent_tid,
            child_tid: a.child_tid,
            pidfd: a.pidfd,
            set_tid: a.set_tid,
            set_tid_size: a.set_tid_size,
            set_tid_ptr: a.set_tid_ptr,
            cgroup: a.cgroup,
        }
    }

    /// The arguments that reproduce `req` (see [`RequestOptions::from_request`]).
    #[cfg_attr(not(test), allow(dead_code))] // the round-trip test's half of the pair
    pub fn from_request(req: &Request) -> Self {
        let o = RequestOptions::from_request(req);
        RequestArgs {
            syscall: o.syscall,
            flags: o.flags,
            exit_signal: o.exit_signal,
            size: o.size,
            args_mem: o.args_mem,
            tail_nonzero_at: o.tail_nonzero_at,
            stack: o.stack,
            tls: o.tls,
            parent_tid: o.parent_tid,
            child_tid: o.child_tid,
            pidfd: o.pidfd,
            set_tid: o.set_tid,
            set_tid_size: o.set_tid_size,
            set_tid_ptr: o.set_tid_ptr,
            cgroup: o.cgroup,
        }
    }

    /// These arguments as a command line (`--syscall clone3 --flags 0x0 ...`).
    #[cfg_attr(not(test), allow(dead_code))] // reproducers use RequestOptions::to_argv
    pub fn to_argv(&self) -> Vec<String> {
        self.options().to_argv()
    }
}

/// The caller's context for `explain` (no syscalls: everything is stated).
#[derive(Args, Debug, Clone)]
pub struct ContextArgs {
    /// Kernel version X.Y[.Z] (default: this host's).
    #[arg(long, allow_hyphen_values = true)]
    pub kernel: Option<String>,
    /// Architecture: x86_64 or aarch64 (arm64). Default: this host's
    /// (the architecture forklore was built for).
    #[arg(long, allow_hyphen_values = true)]
    pub arch: Option<String>,
    /// root (all capabilities, real uid 0) or user (no capabilities).
    #[arg(long = "as", default_value = "root")]
    pub as_: String,
    /// Drop these capabilities (names like CAP_SYS_ADMIN or sys_admin, comma-separated).
    #[arg(long)]
    pub drop_caps: Option<String>,
    /// The caller is init of its pid namespace.
    #[arg(long)]
    pub pidns_init: bool,
    /// The caller did unshare(CLONE_NEWPID) and has not forked yet.
    #[arg(long)]
    pub unshared_pidns: bool,
    /// The caller is in a user namespace this many levels below the initial one
    /// (it holds all capabilities there, none in the initial namespace).
    #[arg(long, allow_negative_numbers = true)]
    pub userns_level: Option<u32>,
    /// The caller is chrooted.
    #[arg(long)]
    pub chrooted: bool,
    /// RLIMIT_NPROC as LIMIT:COUNT (tasks already charged to the real uid).
    #[arg(long, allow_hyphen_values = true)]
    pub nproc: Option<String>,
    /// user.max_user_namespaces leaves no room for another user namespace.
    #[arg(long)]
    pub userns_limit_reached: bool,
    /// A seccomp filter is installed.
    #[arg(long)]
    pub seccomp: bool,
    /// The caller is ptraced (by a tracer that set no PTRACE_O_* option).
    #[arg(long)]
    pub traced: bool,
}

impl ContextArgs {
    /// The plain options the suite builds a context from.
    pub fn options(&self) -> ContextOptions {
        let a = self.clone();
        ContextOptions {
            kernel: a.kernel,
            arch: a.arch,
            as_: a.as_,
            drop_caps: a.drop_caps,
            pidns_init: a.pidns_init,
            unshared_pidns: a.unshared_pidns,
            userns_level: a.userns_level,
            chrooted: a.chrooted,
            nproc: a.nproc,
            userns_limit_reached: a.userns_limit_reached,
            seccomp: a.seccomp,
            traced: a.traced,
        }
    }
}
