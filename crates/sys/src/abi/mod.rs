//! The kernel ABI vocabulary of forklore: clone flags, syscall numbers,
//! wait options, futex operations, prctl options, signal-action constants.
//!
//! Every value comes from linux-raw-sys (bindgen output of the kernel's
//! uapi headers for the target architecture), widened to the type the
//! syscall takes. Nothing here is typed by hand except what linux-raw-sys
//! does not carry, each with the header it comes from. Clone flags are
//! `u64` and never taken from libc: libc 0.2's `CLONE_CLEAR_SIGHAND` and
//! `CLONE_INTO_CGROUP` are 0 (c_int overflow) and `CLONE_IO as u64`
//! sign-extends.
//!
//! Architecture-specific items (syscalls only some architectures have, such
//! as fork, vfork, dup2, arch_prctl) live in the per-arch submodule, which
//! is re-exported here: a port adds `abi/<arch>.rs` and one `cfg` line.

use linux_raw_sys::{errno as e, general as g, ioctl as io, prctl as p, ptrace as pt};

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;
#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

// ---------------------------------------------------------------- clone flags
// include/uapi/linux/sched.h

/// The exit-signal byte of clone's first argument.
pub const CSIGNAL: u64 = g::CSIGNAL as u64;
pub const CLONE_NEWTIME: u64 = g::CLONE_NEWTIME as u64;
pub const CLONE_VM: u64 = g::CLONE_VM as u64;
pub const CLONE_FS: u64 = g::CLONE_FS as u64;
pub const CLONE_FILES: u64 = g::CLONE_FILES as u64;
pub const CLONE_SIGHAND: u64 = g::CLONE_SIGHAND as u64;
pub const CLONE_PIDFD: u64 = g::CLONE_PIDFD as u64;
pub const CLONE_PTRACE: u64 = g::CLONE_PTRACE as u64;
pub const CLONE_VFORK: u64 = g::CLONE_VFORK as u64;
pub const CLONE_PARENT: u64 = g::CLONE_PARENT as u64;
pub const CLONE_THREAD: u64 = g::CLONE_THREAD as u64;
pub const CLONE_NEWNS: u64 = g::CLONE_NEWNS as u64;
pub const CLONE_SYSVSEM: u64 = g::CLONE_SYSVSEM as u64;
pub const CLONE_SETTLS: u64 = g::CLONE_SETTLS as u64;
pub const CLONE_PARENT_SETTID: u64 = g::CLONE_PARENT_SETTID as u64;
pub const CLONE_CHILD_CLEARTID: u64 = g::CLONE_CHILD_CLEARTID as u64;
pub const CLONE_DETACHED: u64 = g::CLONE_DETACHED as u64;
pub const CLONE_UNTRACED: u64 = g::CLONE_UNTRACED as u64;
pub const CLONE_CHILD_SETTID: u64 = g::CLONE_CHILD_SETTID as u64;
pub const CLONE_NEWCGROUP: u64 = g::CLONE_NEWCGROUP as u64;
pub const CLONE_NEWUTS: u64 = g::CLONE_NEWUTS as u64;
pub const CLONE_NEWIPC: u64 = g::CLONE_NEWIPC as u64;
pub const CLONE_NEWUSER: u64 = g::CLONE_NEWUSER as u64;
pub const CLONE_NEWPID: u64 = g::CLONE_NEWPID as u64;
pub const CLONE_NEWNET: u64 = g::CLONE_NEWNET as u64;
pub const CLONE_IO: u64 = g::CLONE_IO as u64;
pub const CLONE_CLEAR_SIGHAND: u64 = g::CLONE_CLEAR_SIGHAND;
pub const CLONE_INTO_CGROUP: u64 = g::CLONE_INTO_CGROUP;
// Newer than linux-raw-sys 0.12 (include/uapi/linux/sched.h of the kernels
// that added them); the model's flag table names them too.
pub const CLONE_AUTOREAP: u64 = 1 << 34;
pub const CLONE_NNP: u64 = 1 << 35;
pub const CLONE_PIDFD_AUTOKILL: u64 = 1 << 36;
pub const CLONE_EMPTY_MNTNS: u64 = 1 << 37;

/// Every clone flag by name (without the `CLONE_` prefix), in bit order.
pub const CLONE_FLAG_NAMES: &[(&str, u64)] = &[
    ("NEWTIME", CLONE_NEWTIME),
    ("VM", CLONE_VM),
    ("FS", CLONE_FS),
    ("FILES", CLONE_FILES),
    ("SIGHAND", CLONE_SIGHAND),
    ("PIDFD", CLONE_PIDFD),
    ("PTRACE", CLONE_PTRACE),
    ("VFORK", CLONE_VFORK),
    ("PARENT", CLONE_PARENT),
    ("THREAD", CLONE_THREAD),
    ("NEWNS", CLONE_NEWNS),
    ("SYSVSEM", CLONE_SYSVSEM),
    ("SETTLS", CLONE_SETTLS),
    ("PARENT_SETTID", CLONE_PARENT_SETTID),
    ("CHILD_CLEARTID", CLONE_CHILD_CLEARTID),
    ("DETACHED", CLONE_DETACHED),
    ("UNTRACED", CLONE_UNTRACED),
    ("CHILD_SETTID", CLONE_CHILD_SETTID),
    ("NEWCGROUP", CLONE_NEWCGROUP),
    ("NEWUTS", CLONE_NEWUTS),
    ("NEWIPC", CLONE_NEWIPC),
    ("NEWUSER", CLONE_NEWUSER),
    ("NEWPID", CLONE_NEWPID),
    ("NEWNET", CLONE_NEWNET),
    ("IO", CLONE_IO),
    ("CLEAR_SIGHAND", CLONE_CLEAR_SIGHAND),
    ("INTO_CGROUP", CLONE_INTO_CGROUP),
    ("AUTOREAP", CLONE_AUTOREAP),
    ("NNP", CLONE_NNP),
    ("PIDFD_AUTOKILL", CLONE_PIDFD_AUTOKILL),
    ("EMPTY_MNTNS", CLONE_EMPTY_MNTNS),
];

/// `sizeof(struct clone_args)` of the first version (no set_tid, cgroup).
/// Flags of a pthread-style thread (glibc's `create_thread`, minus SETTLS:
/// forklore's threads never touch TLS).
pub const THREAD_FLAGS: u64 = CLONE_VM
    | CLONE_FS
    | CLONE_FILES
    | CLONE_SIGHAND
    | CLONE_THREAD
    | CLONE_SYSVSEM
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID;

pub const CLONE_ARGS_SIZE_VER0: u64 = g::CLONE_ARGS_SIZE_VER0 as u64;
/// `sizeof(struct clone_args)` with set_tid, set_tid_size and cgroup.
pub const CLONE_ARGS_SIZE_VER2: u64 = g::CLONE_ARGS_SIZE_VER2 as u64;

// ---------------------------------------------------------------- syscalls

/// Syscall numbers of the target architecture (`__NR_*`), as the `u64` the
/// syscall instruction takes. Architecture-only ones are in the per-arch
/// module's `nr` (re-exported as `nr_arch`).
pub mod nr {
    pub use super::nr_arch::*;
    use linux_raw_sys::general as g;

    pub const READ: u64 = g::__NR_read as u64;
    pub const WRITE: u64 = g::__NR_write as u64;
    pub const CLOSE: u64 = g::__NR_close as u64;
    pub const MMAP: u64 = g::__NR_mmap as u64;
    pub const MPROTECT: u64 = g::__NR_mprotect as u64;
    pub const MUNMAP: u64 = g::__NR_munmap as u64;
    pub const MADVISE: u64 = g::__NR_madvise as u64;
    pub const RT_SIGACTION: u64 = g::__NR_rt_sigaction as u64;
    pub const RT_SIGPROCMASK: u64 = g::__NR_rt_sigprocmask as u64;
    pub const RT_SIGRETURN: u64 = g::__NR_rt_sigreturn as u64;
    pub const SIGALTSTACK: u64 = g::__NR_sigaltstack as u64;
    pub const SCHED_YIELD: u64 = g::__NR_sched_yield as u64;
    pub const GETPID: u64 = g::__NR_getpid as u64;
    pub const GETPPID: u64 = g::__NR_getppid as u64;
    pub const GETTID: u64 = g::__NR_gettid as u64;
    pub const CLONE: u64 = g::__NR_clone as u64;
    pub const CLONE3: u64 = g::__NR_clone3 as u64;
    pub const EXECVE: u64 = g::__NR_execve as u64;
    pub const EXIT: u64 = g::__NR_exit as u64;
    pub const EXIT_GROUP: u64 = g::__NR_exit_group as u64;
    pub const WAIT4: u64 = g::__NR_wait4 as u64;
    pub const WAITID: u64 = g::__NR_waitid as u64;
    pub const KILL: u64 = g::__NR_kill as u64;
    pub const TGKILL: u64 = g::__NR_tgkill as u64;
    pub const FCNTL: u64 = g::__NR_fcntl as u64;
    pub const CHDIR: u64 = g::__NR_chdir as u64;
    pub const PRCTL: u64 = g::__NR_prctl as u64;
    pub const FUTEX: u64 = g::__NR_futex as u64;
    pub const SET_TID_ADDRESS: u64 = g::__NR_set_tid_address as u64;
    pub const GETRUSAGE: u64 = g::__NR_getrusage as u64;
    pub const PERF_EVENT_OPEN: u64 = g::__NR_perf_event_open as u64;
    pub const SECCOMP: u64 = g::__NR_seccomp as u64;
    pub const PIDFD_SEND_SIGNAL: u64 = g::__NR_pidfd_send_signal as u64;
    pub const PIDFD_OPEN: u64 = g::__NR_pidfd_open as u64;
    pub const PTRACE: u64 = g::__NR_ptrace as u64;
    // sessions, process groups, terminals, execveat
    pub const SETSID: u64 = g::__NR_setsid as u64;
    pub const SETPGID: u64 = g::__NR_setpgid as u64;
    pub const GETSID: u64 = g::__NR_getsid as u64;
    pub const GETPGID: u64 = g::__NR_getpgid as u64;
    pub const IOCTL: u64 = g::__NR_ioctl as u64;
    pub const EXECVEAT: u64 = g::__NR_execveat as u64;
    pub const MEMFD_CREATE: u64 = g::__NR_memfd_create as u64;
}

// ---------------------------------------------------------------- wait
// include/uapi/linux/wait.h

pub const WNOHANG: u32 = g::WNOHANG;
pub const WUNTRACED: u32 = g::WUNTRACED;
pub const WSTOPPED: u32 = g::WSTOPPED;
pub const WEXITED: u32 = g::WEXITED;
pub const WCONTINUED: u32 = g::WCONTINUED;
pub const WNOWAIT: u32 = g::WNOWAIT;
/// `__WNOTHREAD`.
pub const WNOTHREAD: u32 = g::__WNOTHREAD;
/// `__WALL`.
pub const WALL: u32 = g::__WALL;
/// `__WCLONE`.
pub const WCLONE: u32 = g::__WCLONE;
pub const P_ALL: i32 = g::P_ALL as i32;
pub const P_PID: i32 = g::P_PID as i32;
pub const P_PGID: i32 = g::P_PGID as i32;
pub const P_PIDFD: i32 = g::P_PIDFD as i32;
/// `si_code` values of a SIGCHLD siginfo (include/uapi/asm-generic/siginfo.h).
pub const CLD_EXITED: i32 = g::CLD_EXITED as i32;
pub const CLD_KILLED: i32 = g::CLD_KILLED as i32;
pub const CLD_DUMPED: i32 = g::CLD_DUMPED as i32;
pub const CLD_STOPPED: i32 = g::CLD_STOPPED as i32;
pub const CLD_CONTINUED: i32 = g::CLD_CONTINUED as i32;
pub const RUSAGE_SELF: i32 = g::RUSAGE_SELF as i32;
pub const RUSAGE_CHILDREN: i32 = g::RUSAGE_CHILDREN;

// ---------------------------------------------------------------- futex
// include/uapi/linux/futex.h (not the _PRIVATE forms: CLONE_CHILD_CLEARTID
// wakes the shared key, and the shared pages are used by several processes)

pub const FUTEX_WAIT: u64 = g::FUTEX_WAIT as u64;
pub const FUTEX_WAKE: u64 = g::FUTEX_WAKE as u64;

// ---------------------------------------------------------------- prctl
// include/uapi/linux/prctl.h

pub const PR_SET_PDEATHSIG: u64 = p::PR_SET_PDEATHSIG as u64;
pub const PR_SET_DUMPABLE: u64 = p::PR_SET_DUMPABLE as u64;
pub const PR_SET_CHILD_SUBREAPER: u64 = p::PR_SET_CHILD_SUBREAPER as u64;
pub const PR_SET_NO_NEW_PRIVS: u64 = p::PR_SET_NO_NEW_PRIVS as u64;

// ---------------------------------------------------------------- ptrace
// include/uapi/linux/ptrace.h

pub const PTRACE_TRACEME: u64 = pt::PTRACE_TRACEME as u64;
pub const PTRACE_CONT: u64 = pt::PTRACE_CONT as u64;
pub const PTRACE_ATTACH: u64 = pt::PTRACE_ATTACH as u64;
pub const PTRACE_DETACH: u64 = pt::PTRACE_DETACH as u64;
pub const PTRACE_SETOPTIONS: u64 = pt::PTRACE_SETOPTIONS as u64;
pub const PTRACE_GETEVENTMSG: u64 = pt::PTRACE_GETEVENTMSG as u64;
pub const PTRACE_SEIZE: u64 = pt::PTRACE_SEIZE as u64;
pub const PTRACE_O_TRACEFORK: u32 = pt::PTRACE_O_TRACEFORK;
pub const PTRACE_O_TRACEVFORK: u32 = pt::PTRACE_O_TRACEVFORK;
pub const PTRACE_O_TRACECLONE: u32 = pt::PTRACE_O_TRACECLONE;
pub const PTRACE_O_EXITKILL: u32 = pt::PTRACE_O_EXITKILL;
pub const PTRACE_EVENT_FORK: u32 = pt::PTRACE_EVENT_FORK;
pub const PTRACE_EVENT_VFORK: u32 = pt::PTRACE_EVENT_VFORK;
pub const PTRACE_EVENT_CLONE: u32 = pt::PTRACE_EVENT_CLONE;
pub const PTRACE_EVENT_STOP: u32 = pt::PTRACE_EVENT_STOP;
pub const PR_GET_DUMPABLE: u64 = p::PR_GET_DUMPABLE as u64;
pub const PR_SET_PTRACER: u64 = p::PR_SET_PTRACER as u64;

// ---------------------------------------------------------------- seccomp
// include/uapi/linux/seccomp.h, include/uapi/linux/filter.h

pub const SECCOMP_SET_MODE_FILTER: u64 = pt::SECCOMP_SET_MODE_FILTER as u64;
pub const SECCOMP_RET_ALLOW: u32 = pt::SECCOMP_RET_ALLOW;
pub const SECCOMP_RET_ERRNO: u32 = pt::SECCOMP_RET_ERRNO;
pub const BPF_LD_W_ABS: u16 = (pt::BPF_LD | pt::BPF_W | pt::BPF_ABS) as u16;
pub const BPF_JMP_JEQ_K: u16 = (pt::BPF_JMP | pt::BPF_JEQ | pt::BPF_K) as u16;
pub const BPF_RET_K: u16 = (pt::BPF_RET | pt::BPF_K) as u16;

// ---------------------------------------------------------------- signals
// include/uapi/asm-generic/signal*.h and the arch's signal.h

pub const SIGKILL: i32 = g::SIGKILL as i32;
pub const SIGCHLD: i32 = g::SIGCHLD as i32;
pub const SA_RESTART: u64 = g::SA_RESTART as u64;
pub const SA_RESTORER: u64 = g::SA_RESTORER as u64;
pub const SIG_BLOCK: i32 = g::SIG_BLOCK as i32;
pub const SIG_UNBLOCK: i32 = g::SIG_UNBLOCK as i32;
pub const SIG_SETMASK: i32 = g::SIG_SETMASK as i32;
pub const SS_DISABLE: i32 = g::SS_DISABLE as i32;
/// `SIG_DFL` and `SIG_IGN` as handler words (include/uapi/asm-generic/
/// signal-defs.h: `((__sighandler_t)0)` and `((__sighandler_t)1)`).
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

// ---------------------------------------------------------------- fds, memory
// include/uapi/asm-generic/fcntl.h, mman-common.h

pub const F_DUPFD: u64 = g::F_DUPFD as u64;
pub const F_GETFD: u64 = g::F_GETFD as u64;
pub const F_SETFD: u64 = g::F_SETFD as u64;
pub const F_GETFL: u64 = g::F_GETFL as u64;
pub const FD_CLOEXEC: u64 = g::FD_CLOEXEC as u64;
pub const O_NONBLOCK: u32 = g::O_NONBLOCK;
/// include/uapi/linux/pidfd.h: `PIDFD_NONBLOCK` is `O_NONBLOCK`.
pub const PIDFD_NONBLOCK: u32 = g::O_NONBLOCK;
/// include/uapi/linux/pidfd.h: `PIDFD_THREAD` is `O_EXCL`.
pub const PIDFD_THREAD: u32 = g::O_EXCL;
pub const PROT_READ: u64 = g::PROT_READ as u64;
pub const PROT_WRITE: u64 = g::PROT_WRITE as u64;
pub const MAP_PRIVATE: u64 = g::MAP_PRIVATE as u64;
pub const MAP_ANONYMOUS: u64 = g::MAP_ANONYMOUS as u64;
pub const MADV_HUGEPAGE: u64 = g::MADV_HUGEPAGE as u64;
pub const MADV_NOHUGEPAGE: u64 = g::MADV_NOHUGEPAGE as u64;

// ---------------------------------------------------------------- terminals
// include/uapi/asm-generic/ioctls.h (the architecture's ioctls.h)

pub const TIOCSCTTY: u64 = io::TIOCSCTTY as u64;
pub const TIOCNOTTY: u64 = io::TIOCNOTTY as u64;
pub const TIOCGPGRP: u64 = io::TIOCGPGRP as u64;
pub const TIOCGSID: u64 = io::TIOCGSID as u64;
pub const TIOCGPTN: u64 = io::TIOCGPTN as u64;
pub const TIOCSPTLCK: u64 = io::TIOCSPTLCK as u64;
pub const SIGHUP: i32 = g::SIGHUP as i32;
pub const SIGCONT: i32 = g::SIGCONT as i32;
pub const SIGSTOP: i32 = g::SIGSTOP as i32;

// ---------------------------------------------------------------- execveat
// include/uapi/linux/fcntl.h, include/uapi/linux/memfd.h

pub const AT_FDCWD: i32 = g::AT_FDCWD;
pub const AT_EMPTY_PATH: u32 = g::AT_EMPTY_PATH;
pub const AT_SYMLINK_NOFOLLOW: u32 = g::AT_SYMLINK_NOFOLLOW;
pub const O_PATH: u32 = g::O_PATH;
pub const O_DIRECTORY: u32 = g::O_DIRECTORY;
pub const O_CLOEXEC: u32 = g::O_CLOEXEC;
pub const O_RDWR: u32 = g::O_RDWR;
pub const O_NOCTTY: u32 = g::O_NOCTTY;
pub const MFD_CLOEXEC: u32 = g::MFD_CLOEXEC;
/// 6.3+; older kernels refuse it with EINVAL.
pub const MFD_EXEC: u32 = g::MFD_EXEC;

// ---------------------------------------------------------------- errno
// include/uapi/asm-generic/errno*.h, as raw `i32` (see [`crate::Errno`]).

/// Every errno value forklore names, with its name.
pub(crate) const ERRNO_NAMES: &[(&str, u32)] = &[
    ("EPERM", e::EPERM),
    ("ENOENT", e::ENOENT),
    ("ESRCH", e::ESRCH),
    ("EINTR", e::EINTR),
    ("EIO", e::EIO),
    ("ENXIO", e::ENXIO),
    ("E2BIG", e::E2BIG),
    ("ENOEXEC", e::ENOEXEC),
    ("EBADF", e::EBADF),
    ("ECHILD", e::ECHILD),
    ("EAGAIN", e::EAGAIN),
    ("ENOMEM", e::ENOMEM),
    ("EACCES", e::EACCES),
    ("EFAULT", e::EFAULT),
    ("EBUSY", e::EBUSY),
    ("EEXIST", e::EEXIST),
    ("ENODEV", e::ENODEV),
    ("ENOTDIR", e::ENOTDIR),
    ("EISDIR", e::EISDIR),
    ("EINVAL", e::EINVAL),
    ("ENFILE", e::ENFILE),
    ("EMFILE", e::EMFILE),
    ("ETXTBSY", e::ETXTBSY),
    ("ENOSPC", e::ENOSPC),
    ("ESPIPE", e::ESPIPE),
    ("EPIPE", e::EPIPE),
    ("ERANGE", e::ERANGE),
    ("EDEADLK", e::EDEADLK),
    ("ENAMETOOLONG", e::ENAMETOOLONG),
    ("ENOSYS", e::ENOSYS),
    ("ELOOP", e::ELOOP),
    ("ELIBBAD", e::ELIBBAD),
    ("EUSERS", e::EUSERS),
    ("EOPNOTSUPP", e::EOPNOTSUPP),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The constants build.rs generated for the bench helper.
    #[allow(dead_code)]
    mod helper {
        include!(concat!(env!("OUT_DIR"), "/bench_loop_abi.rs"));
    }

    #[test]
    fn bench_helper_constants_are_this_modules() {
        use helper as h;
        let pairs: &[(u64, u64)] = &[
            (h::SYS_READ, nr::READ),
            (h::SYS_WRITE, nr::WRITE),
            (h::SYS_CLOSE, nr::CLOSE),
            (h::SYS_MMAP, nr::MMAP),
            (h::SYS_MUNMAP, nr::MUNMAP),
            (h::SYS_MADVISE, nr::MADVISE),
            (h::SYS_GETPID, nr::GETPID),
            (h::SYS_CLONE, nr::CLONE),
            #[cfg(target_arch = "x86_64")]
            (h::SYS_FORK, nr::FORK),
            (h::SYS_EXECVE, nr::EXECVE),
            (h::SYS_EXIT, nr::EXIT),
            (h::SYS_WAIT4, nr::WAIT4),
            (h::SYS_GETRUSAGE, nr::GETRUSAGE),
            (h::SYS_PRCTL, nr::PRCTL),
            (h::SYS_FUTEX, nr::FUTEX),
            (h::SYS_EXIT_GROUP, nr::EXIT_GROUP),
            (h::SYS_WAITID, nr::WAITID),
            (h::SYS_CLONE3, nr::CLONE3),
            (h::CLONE_VM, CLONE_VM),
            (h::CLONE_PIDFD, CLONE_PIDFD),
            (h::CLONE_THREAD, CLONE_THREAD),
            (h::WALL, WALL as u64),
            (h::WEXITED, WEXITED as u64),
            (h::P_PIDFD, P_PIDFD as u64),
            (h::FUTEX_WAIT, FUTEX_WAIT),
            (h::PR_SET_PDEATHSIG, PR_SET_PDEATHSIG),
            (h::SIGKILL, SIGKILL as u64),
            (h::SIGCHLD, SIGCHLD as u64),
            (h::MADV_HUGEPAGE, MADV_HUGEPAGE),
            (h::MADV_NOHUGEPAGE, MADV_NOHUGEPAGE),
            (h::PROT_READ_WRITE, PROT_READ | PROT_WRITE),
            (h::MAP_PRIVATE_ANONYMOUS, MAP_PRIVATE | MAP_ANONYMOUS),
        ];
        for (i, (helper, abi)) in pairs.iter().enumerate() {
            assert_eq!(helper, abi, "pair {i}");
        }
        assert_eq!(h::CLD_EXITED, CLD_EXITED);
        assert_eq!(h::RUSAGE_SELF, RUSAGE_SELF);
        assert_eq!(h::RUSAGE_CHILDREN, RUSAGE_CHILDREN);
        assert_eq!(h::EINTR, crate::Errno::EINTR.raw() as i64);
        assert_eq!(h::EAGAIN, crate::Errno::EAGAIN.raw() as i64);
    }

    /// The constants build.rs generated for the exec target.
    #[allow(dead_code)]
    mod exec_target {
        include!(concat!(env!("OUT_DIR"), "/exec_target_abi.rs"));
    }

    #[test]
    fn exec_target_constants_are_this_modules() {
        use exec_target as t;
        assert_eq!(t::F_GETFD as u64, F_GETFD);
        assert_eq!(t::SS_DISABLE, SS_DISABLE);
        assert_eq!(t::EINTR, crate::Errno::EINTR.raw());
        assert_eq!(t::O_RDONLY as u32, g::O_RDONLY);
        assert_eq!(t::O_CLOEXEC as u32, g::O_CLOEXEC);
    }

    #[test]
    fn clone_flags_are_distinct_single_bits_and_wide() {
        for (name, bit) in CLONE_FLAG_NAMES {
            assert_eq!(bit.count_ones(), 1, "{name}");
        }
        // The traps libc 0.2 sets: 0 for the high flags, sign extension for IO.
        assert_eq!(CLONE_CLEAR_SIGHAND, 1 << 32);
        assert_eq!(CLONE_INTO_CGROUP, 1 << 33);
        assert_eq!(CLONE_IO, 0x8000_0000);
    }
}
