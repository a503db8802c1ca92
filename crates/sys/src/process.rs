//! The calling process: fork when single-threaded (the one place forklore
//! forks to run Rust code in the child), exit, thread count, pidfd_open,
//! futex words, prctl options and a seccomp filter.

use crate::abi::{
    nr, AUDIT_ARCH, BPF_JMP_JEQ_K, BPF_LD_W_ABS, BPF_RET_K, CLONE_ARGS_SIZE_VER0, CLONE_PIDFD,
    CLONE_SETTLS, CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK, CLONE_VM, CSIGNAL, FUTEX_WAIT,
    FUTEX_WAKE, PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG,
    SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_SET_MODE_FILTER, SIGCHLD,
};
use crate::errno::Errno;
use crate::raw;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::AtomicU32;
use std::time::Duration;

pub use crate::abi::{PIDFD_NONBLOCK, PIDFD_THREAD};

/// Where a fork returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Forked {
    Parent { child: i32 },
    Child,
}

/// Number of threads of this process (`num_threads`, field 20 of
/// /proc/self/stat).
pub fn thread_count() -> std::io::Result<usize> {
    let s = std::fs::read_to_string("/proc/self/stat")?;
    let bad = || std::io::Error::from(std::io::ErrorKind::InvalidData);
    // Fields after the parenthesised comm, which may contain spaces.
    let rest = s.get(s.rfind(')').ok_or_else(bad)? + 2..).ok_or_else(bad)?;
    rest.split(' ')
        .nth(17)
        .and_then(|v| v.parse().ok())
        .ok_or_else(bad)
}

/// Refuse (EDEADLK) when /proc shows more than one thread: a fork of a
/// multithreaded process leaves the child with locks (malloc, stdio, env)
/// held by threads that do not exist there.
fn ensure_single_threaded() -> Result<(), Errno> {
    match thread_count() {
        Ok(n) if n != 1 => Err(Errno::EDEADLK),
        _ => Ok(()),
    }
}

/// Fork this single-threaded process; the child gets `exit_signal` as its
/// exit signal and may run any Rust code. Refuses with EDEADLK when the
/// process has more than one thread.
///
/// With SIGCHLD this is libc's `fork()`, which also keeps glibc's
/// bookkeeping (the cached tid, atfork handlers). Any other exit signal
/// needs `clone(exit_signal, 0, 0, 0, 0)`, after which glibc's thread
/// descriptor still names the parent's tid (glibc's raise() asks the kernel
/// for the tid, so abort still works).
pub fn fork_single_threaded(exit_signal: u64) -> Result<Forked, Errno> {
    ensure_single_threaded()?;
    let pid = if exit_signal == SIGCHLD as u64 {
        // SAFETY: the process has one thread (checked above), so the child
        // inherits no lock held by another thread and may run any code.
        match unsafe { libc::fork() } {
            -1 => return Err(Errno::last_os_error()),
            pid => pid as i64,
        }
    } else {
        // SAFETY: as above; no CLONE_VM and no new stack, so the child
        // continues on its own copy of this stack and returns normally.
        raw::result(unsafe { raw::syscall5(nr::CLONE, exit_signal & CSIGNAL, 0, 0, 0, 0) })?
    };
    Ok(match pid {
        0 => Forked::Child,
        child => Forked::Parent {
            child: child as i32,
        },
    })
}

/// `clone3({flags | CLONE_PIDFD, pidfd = &fd, exit_signal}, 64)` without a
/// stack: a fork that also returns a pidfd for the child. Refuses (EDEADLK)
/// unless this process is single-threaded, and refuses (EINVAL) flags that
/// would share memory or the thread group, so the child may run ordinary
/// Rust code (as after [`fork_single_threaded`]).
pub fn fork_with_pidfd(flags: u64, exit_signal: u64) -> Result<(Forked, Option<OwnedFd>), Errno> {
    if flags & (CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_VFORK | CLONE_SETTLS) != 0 {
        return Err(Errno::EINVAL);
    }
    ensure_single_threaded()?;
    let mut pidfd: i32 = -1;
    // struct clone_args (CLONE_ARGS_SIZE_VER0 = 64 bytes): flags, pidfd,
    // child_tid, parent_tid, exit_signal, stack, stack_size, tls.
    let args: [u64; 8] = [
        flags | CLONE_PIDFD,
        &mut pidfd as *mut i32 as u64,
        0,
        0,
        exit_signal,
        0,
        0,
        0,
    ];
    // SAFETY: as fork_single_threaded: one thread, no CLONE_VM, no new
    // stack (the child continues on its own copy of this stack and returns
    // normally). The kernel reads `args` (a live local) and writes the
    // pidfd into the live local `pidfd` in the parent before returning.
    let r = unsafe { raw::syscall2(nr::CLONE3, args.as_ptr() as u64, CLONE_ARGS_SIZE_VER0) };
    match raw::result(r)? {
        0 => Ok((Forked::Child, None)),
        pid => {
            // SAFETY: the kernel installed this fd for us in the parent.
            let fd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
            Ok((Forked::Parent { child: pid as i32 }, fd))
        }
    }
}

/// `_exit(code)`: leave now, without running destructors or flushing.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// `exit(code)`: ends the calling thread only.
pub fn exit_thread(code: i32) -> ! {
    loop {
        // SAFETY: exit does not return; no memory is touched.
        unsafe { raw::syscall1(nr::EXIT, code as u64) };
    }
}

/// `exit_group(code)`.
pub fn exit_group(code: i32) -> ! {
    loop {
        // SAFETY: as exit_thread.
        unsafe { raw::syscall1(nr::EXIT_GROUP, code as u64) };
    }
}

/// `gettid()`.
pub fn gettid() -> i32 {
    // SAFETY: no side effects.
    unsafe { raw::syscall0(nr::GETTID) as i32 }
}

/// `pidfd_open(pid, flags)` ([`PIDFD_NONBLOCK`], [`PIDFD_THREAD`]): an
/// owned fd.
pub fn pidfd_open(pid: i32, flags: u32) -> Result<OwnedFd, Errno> {
    // SAFETY: no memory arguments.
    let r = unsafe { raw::syscall2(nr::PIDFD_OPEN, pid as u64, flags as u64) };
    let fd = raw::result(r)?;
    // SAFETY: the kernel just returned this new descriptor; we own it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// This thread's thread pointer, what CLONE_SETTLS sets: the FS base on
/// x86_64 (`arch_prctl(ARCH_GET_FS)`), TPIDR_EL0 on aarch64.
pub fn fs_base() -> Result<u64, Errno> {
    raw::thread_pointer()
}

/// The highest user address `access_ok(addr, 0)` accepts: the kernel's
/// TASK_SIZE_MAX, which clone3_stack_valid checks stacks against. On arm64
/// it is `1 << VA_BITS`, a build option (48 in Debian's 6.1, 52 in its
/// 6.12) that userspace cannot otherwise read. Measured with
/// `read(pipe, addr, 0)`: vfs_read checks `access_ok(buf, count)` before
/// anything else and returns EFAULT when it fails, while a 0-byte read of
/// an empty pipe returns 0 without touching `buf`. The limit is the power
/// of two L with `read(L) == 0` and `read(L + 1) == EFAULT`; `None` when
/// no such L in 2^36..2^57 answers that way.
pub fn access_ok_limit() -> Option<u64> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two descriptors into the live array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return None;
    }
    // SAFETY: both descriptors were just created and are owned here.
    let (r, _w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let rd = |addr: u64| {
        use std::os::fd::AsRawFd;
        // SAFETY: a 0-byte read writes nothing at `addr`; the kernel only
        // range-checks it.
        unsafe { raw::syscall3(nr::READ, r.as_raw_fd() as u64, addr, 0) }
    };
    let efault = -(Errno::EFAULT.raw() as i64);
    (36..=57)
        .rev()
        .map(|b| 1u64 << b)
        .find(|&l| rd(l) == 0 && rd(l + 1) == efault)
}

/// `futex(word, FUTEX_WAIT, expected, timeout)` (shared, not PRIVATE: the
/// words live in MAP_SHARED pages used by several processes). Returns early
/// on wake, timeout, signal or value mismatch.
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(|d| [d.as_secs() as i64, d.subsec_nanos() as i64]);
    let tsp = ts.as_ref().map_or(0, |t| t.as_ptr() as u64);
    // SAFETY: `word` is a live atomic; the kernel only reads it and the
    // timespec, which outlives the call.
    unsafe {
        raw::syscall4(
            nr::FUTEX,
            word as *const AtomicU32 as u64,
            FUTEX_WAIT,
            expected as u64,
            tsp,
        );
    }
}

/// `futex(word, FUTEX_WAKE, n)`.
pub fn futex_wake(word: &AtomicU32, n: u32) {
    // SAFETY: FUTEX_WAKE does not touch memory beyond looking up the word.
    unsafe {
        raw::syscall3(
            nr::FUTEX,
            word as *const AtomicU32 as u64,
            FUTEX_WAKE,
            n as u64,
        );
    }
}

fn prctl(op: u64, a: u64) -> Result<i64, Errno> {
    // SAFETY: used only with options that take integer arguments.
    let r = unsafe { raw::syscall5(nr::PRCTL, op, a, 0, 0, 0) };
    raw::result(r)
}

/// `prctl(PR_SET_CHILD_SUBREAPER, 1)`: orphaned descendants come to us.
pub fn set_child_subreaper() -> Result<(), Errno> {
    prctl(PR_SET_CHILD_SUBREAPER, 1).map(|_| ())
}

/// `prctl(PR_SET_PDEATHSIG, sig)`: `sig` when the parent (thread) exits.
/// Cleared by the kernel on credential changes: set it again after them.
pub fn set_pdeathsig(sig: i32) -> Result<(), Errno> {
    prctl(PR_SET_PDEATHSIG, sig as u64).map(|_| ())
}

/// `prctl(PR_SET_DUMPABLE, on)`: keeps /proc/self owned by us after setuid.
pub fn set_dumpable(on: bool) -> Result<(), Errno> {
    prctl(PR_SET_DUMPABLE, on as u64).map(|_| ())
}

/// Install a seccomp filter that makes syscall `nr_denied` fail with `err`
/// and allows everything else, as container runtimes do for clone3
/// (Docker's default profile answers clone3 with ENOSYS so that libc falls
/// back to clone). Sets no_new_privs first, which an unprivileged caller
/// needs. `prctl(PR_SET_NO_NEW_PRIVS, 1)` +
/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)`.
pub fn seccomp_deny_syscall(nr_denied: u64, err: Errno) -> Result<(), Errno> {
    let ins = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    // struct seccomp_data: nr at offset 0, arch at offset 4.
    let prog = [
        ins(BPF_LD_W_ABS, 0, 0, 4),
        ins(BPF_JMP_JEQ_K, 0, 3, AUDIT_ARCH),
        ins(BPF_LD_W_ABS, 0, 0, 0),
        ins(BPF_JMP_JEQ_K, 0, 1, nr_denied as u32),
        ins(
            BPF_RET_K,
            0,
            0,
            SECCOMP_RET_ERRNO | (err.raw() as u32 & 0xffff),
        ),
        ins(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ];
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut _,
    };
    prctl(PR_SET_NO_NEW_PRIVS, 1)?;
    // SAFETY: `fprog` points at `prog`, a valid 6-instruction program that
    // lives on this stack frame for the duration of the call; the kernel
    // copies it (seccomp_prepare_user_filter) and keeps no pointer to ours.
    let r = unsafe {
        raw::syscall3(
            nr::SECCOMP,
            SECCOMP_SET_MODE_FILTER,
            0,
            &fprog as *const libc::sock_fprog as u64,
        )
    };
    raw::result(r).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_count_sees_this_test_thread() {
        assert!(thread_count().unwrap() >= 1);
    }
}
