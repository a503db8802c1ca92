//! Safe wrappers for the process-control syscalls the probe needs and that
//! nix does not offer safely: futex, wait4 with rusage, waitid with
//! `WNOWAIT|__WALL`, tgkill, pidfd_open, signal dispositions and mask,
//! prctl, and fork of a single-threaded process.

use crate::raw::{self, nr};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

pub const WNOHANG: i32 = 1;
pub const WUNTRACED: i32 = 2;
pub const WSTOPPED: i32 = 2;
pub const WEXITED: i32 = 4;
pub const WCONTINUED: i32 = 8;
pub const WNOWAIT: i32 = 0x0100_0000;
pub const WNOTHREAD: i32 = 0x2000_0000;
pub const WALL: i32 = 0x4000_0000;
pub const WCLONE: i32 = 0x8000_0000_u32 as i32;

fn errno(r: i64) -> Result<i64, i32> {
    raw::result(r)
}

/// `futex(word, FUTEX_WAIT, expected, timeout)` (shared, not PRIVATE: the
/// words live in MAP_SHARED pages used by several processes). Returns early
/// on wake, timeout, signal or value mismatch.
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let tsp = ts.as_ref().map_or(0, |t| t as *const libc::timespec as u64);
    // SAFETY: `word` is a live atomic; the kernel only reads it and the
    // timespec, which outlives the call.
    unsafe {
        raw::syscall4(
            nr::FUTEX,
            word as *const AtomicU32 as u64,
            0,
            expected as u64,
            tsp,
        );
    }
}

/// `futex(word, FUTEX_WAKE, n)`.
pub fn futex_wake(word: &AtomicU32, n: u32) {
    // SAFETY: FUTEX_WAKE does not touch memory beyond looking up the word.
    unsafe {
        raw::syscall3(nr::FUTEX, word as *const AtomicU32 as u64, 1, n as u64);
    }
}

/// Resource usage of a reaped child (`struct rusage`, the useful fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rusage {
    pub utime_us: u64,
    pub stime_us: u64,
    pub maxrss_kb: u64,
    pub minflt: u64,
    pub majflt: u64,
    pub nvcsw: u64,
    pub nivcsw: u64,
}

/// What wait4 reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reaped {
    pub pid: i32,
    pub status: i32,
    pub rusage: Option<Rusage>,
}

/// `wait4(pid, &status, options, want_rusage ? &ru : NULL)`.
/// `Ok(None)` when WNOHANG found nothing ready.
pub fn wait4(pid: i32, options: i32, want_rusage: bool) -> Result<Option<Reaped>, i32> {
    let mut status: i32 = 0;
    // SAFETY: all-zero is a valid rusage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rup = if want_rusage {
        &mut ru as *mut libc::rusage as u64
    } else {
        0
    };
    // SAFETY: status and ru are live locals the kernel writes into.
    let r = unsafe {
        raw::syscall4(
            nr::WAIT4,
            pid as i64 as u64,
            &mut status as *mut i32 as u64,
            options as i64 as u64,
            rup,
        )
    };
    let r = errno(r)?;
    if r == 0 {
        return Ok(None);
    }
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Ok(Some(Reaped {
        pid: r as i32,
        status,
        rusage: want_rusage.then(|| Rusage {
            utime_us: tv(ru.ru_utime),
            stime_us: tv(ru.ru_stime),
            maxrss_kb: ru.ru_maxrss as u64,
            minflt: ru.ru_minflt as u64,
            majflt: ru.ru_majflt as u64,
            nvcsw: ru.ru_nvcsw as u64,
            nivcsw: ru.ru_nivcsw as u64,
        }),
    }))
}

/// What waitid reported (`si_pid`, `si_code`, `si_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitInfo {
    pub pid: i32,
    /// CLD_EXITED (1), CLD_KILLED (2), CLD_DUMPED (3), CLD_STOPPED (5)...
    pub code: i32,
    pub status: i32,
}

pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// `waitid(pid > 0 ? P_PID : P_ALL, pid, &info, options, NULL)`.
/// `Ok(None)` when WNOHANG found nothing.
pub fn waitid(pid: i32, options: i32) -> Result<Option<WaitInfo>, i32> {
    let (idtype, id) = if pid > 0 {
        (libc::P_PID, pid as u64)
    } else {
        (libc::P_ALL, 0)
    };
    // SAFETY: all-zero is a valid siginfo_t.
    let mut si: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `si` is a live local the kernel fills in; rusage is NULL.
    let r = unsafe {
        raw::syscall5(
            nr::WAITID,
            idtype as u64,
            id,
            &mut si as *mut libc::siginfo_t as u64,
            options as i64 as u64,
            0,
        )
    };
    errno(r)?;
    // SAFETY: after a successful waitid the SIGCHLD fields are initialised
    // (or all zero when WNOHANG found nothing).
    let (pid, status) = unsafe { (si.si_pid(), si.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    Ok(Some(WaitInfo {
        pid,
        code: si.si_code,
        status,
    }))
}

/// `tgkill(tgid, tid, sig)`.
pub fn tgkill(tgid: i32, tid: i32, sig: i32) -> Result<(), i32> {
    // SAFETY: sending a signal has no memory effects on this process
    // (sig 0 only checks existence).
    let r = unsafe { raw::syscall3(nr::TGKILL, tgid as u64, tid as u64, sig as u64) };
    errno(r).map(|_| ())
}

/// `gettid()`.
pub fn gettid() -> i32 {
    // SAFETY: no side effects.
    unsafe { raw::syscall0(nr::GETTID) as i32 }
}

/// `pidfd_open(pid, flags)`.
pub fn pidfd_open(pid: i32, flags: u32) -> Result<OwnedFd, i32> {
    // SAFETY: no memory arguments.
    let r = unsafe { raw::syscall2(nr::PIDFD_OPEN, pid as u64, flags as u64) };
    let fd = errno(r)?;
    // SAFETY: the kernel just returned this new descriptor; we own it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `pidfd_send_signal(fd, sig, NULL, 0)`.
pub fn pidfd_send_signal(fd: i32, sig: i32) -> Result<(), i32> {
    // SAFETY: no memory arguments (info is NULL).
    let r = unsafe { raw::syscall4(nr::PIDFD_SEND_SIGNAL, fd as u64, sig as u64, 0, 0) };
    errno(r).map(|_| ())
}

/// `fcntl(fd, F_GETFL)`.
pub fn fcntl_getfl(fd: i32) -> Result<i32, i32> {
    // SAFETY: F_GETFL has no memory arguments.
    let r = unsafe { raw::syscall2(nr::FCNTL, fd as u64, libc::F_GETFL as u64) };
    errno(r).map(|v| v as i32)
}

/// `fcntl(fd, F_GETFD)`: is the descriptor open?
pub fn fd_is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD has no memory arguments.
    let r = unsafe { raw::syscall2(nr::FCNTL, fd as u64, libc::F_GETFD as u64) };
    r >= 0
}

/// The lowest descriptor number not in use (via `F_DUPFD` then `close`).
pub fn lowest_free_fd() -> Result<i32, i32> {
    // SAFETY: duplicating fd 0.. onto the lowest free number and closing the
    // duplicate at once; no Rust object owns the duplicate.
    let r = unsafe { raw::syscall3(nr::FCNTL, 0, libc::F_DUPFD as u64, 0) };
    match errno(r) {
        Ok(fd) => {
            // SAFETY: `fd` is the duplicate created just above.
            unsafe { raw::syscall1(nr::CLOSE, fd as u64) };
            Ok(fd as i32)
        }
        // fd 0 not open: then 0 is the lowest free number.
        Err(libc::EBADF) => Ok(0),
        Err(e) => Err(e),
    }
}

/// Close `fd` if it is a pidfd (`pidfd_send_signal(fd, 0)` does not say
/// EBADF). Pidfds are the only descriptors a case creates; the kernel wrote
/// the number into a word and no Rust object owns it.
pub fn close_pidfd(fd: i32) -> Result<(), i32> {
    if fd < 0 {
        return Err(libc::EBADF);
    }
    if pidfd_send_signal(fd, 0) == Err(libc::EBADF) {
        return Err(libc::EBADF);
    }
    // SAFETY: `fd` is a pidfd (checked above); the probe never wraps pidfds
    // the kernel reports in an owning Rust object, so no object's
    // descriptor is invalidated.
    let r = unsafe { raw::syscall1(nr::CLOSE, fd as u64) };
    errno(r).map(|_| ())
}

/// A signal's disposition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    Default,
    Ignore,
    /// A handler function (or SA_SIGINFO action); its flags.
    Handler(u64),
}

/// Query `sig`'s disposition (`rt_sigaction(sig, NULL, &old)`).
pub fn signal_disposition(sig: i32) -> Result<(Disposition, u64), i32> {
    // SAFETY: all-zero is a valid sigaction.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: query only (act is NULL); `old` is a live local.
    let r = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    if r != 0 {
        return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    let d = match old.sa_sigaction {
        libc::SIG_DFL => Disposition::Default,
        libc::SIG_IGN => Disposition::Ignore,
        _ => Disposition::Handler(old.sa_flags as u64),
    };
    Ok((d, old.sa_flags as u64))
}

/// Set `sig` to SIG_DFL or SIG_IGN with no flags and an empty mask.
pub fn set_signal_disposition(sig: i32, d: Disposition) -> Result<(), i32> {
    let h = match d {
        Disposition::Default => libc::SIG_DFL,
        Disposition::Ignore => libc::SIG_IGN,
        Disposition::Handler(_) => return Err(libc::EINVAL),
    };
    // SAFETY: all-zero is a valid sigaction (empty mask, no flags).
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = h;
    // SAFETY: SIG_DFL/SIG_IGN install no code; `act` is a live local.
    let r = unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    Ok(())
}

static FLAGS: [AtomicBool; 65] = [const { AtomicBool::new(false) }; 65];

extern "C" fn set_flag(sig: libc::c_int) {
    if let Some(f) = FLAGS.get(sig as usize) {
        f.store(true, Ordering::SeqCst);
    }
}

/// Install a handler for `sig` (no SA_RESTART, so blocking calls return
/// EINTR) that only sets a flag; returns the flag.
pub fn install_flag_handler(sig: i32) -> Result<&'static AtomicBool, i32> {
    let flag = FLAGS.get(sig as usize).ok_or(libc::EINVAL)?;
    // SAFETY: all-zero is a valid sigaction.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = set_flag as extern "C" fn(libc::c_int) as usize;
    // SAFETY: the handler only stores to a static atomic, which is
    // async-signal-safe; `act` is a live local.
    let r = unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    Ok(flag)
}

/// A flag handler for one signal that puts the previous disposition back
/// when dropped (see [`catch_flag`]).
pub struct CaughtSignal {
    sig: i32,
    old: libc::sigaction,
    pub flag: &'static AtomicBool,
}

/// Like [`install_flag_handler`], for a while: clears the flag, installs
/// the handler with SA_RESTART (blocking calls resume after it ran), and
/// restores the previous action when the guard is dropped.
pub fn catch_flag(sig: i32) -> Result<CaughtSignal, i32> {
    let flag = FLAGS.get(sig as usize).ok_or(libc::EINVAL)?;
    flag.store(false, Ordering::SeqCst);
    // SAFETY: all-zero is a valid sigaction.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = set_flag as extern "C" fn(libc::c_int) as usize;
    act.sa_flags = libc::SA_RESTART;
    // SAFETY: as above, zero is a valid sigaction to receive the old one.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: the handler only stores to a static atomic, which is
    // async-signal-safe; `act` and `old` are live locals.
    let r = unsafe { libc::sigaction(sig, &act, &mut old) };
    if r != 0 {
        return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    Ok(CaughtSignal { sig, old, flag })
}

impl Drop for CaughtSignal {
    fn drop(&mut self) {
        // SAFETY: `old` is the action sigaction returned for this signal.
        unsafe { libc::sigaction(self.sig, &self.old, std::ptr::null_mut()) };
    }
}

/// The calling thread's blocked-signal mask (bit n-1 = signal n).
pub fn sigmask() -> u64 {
    let mut old: u64 = 0;
    // SAFETY: query only; the kernel writes 8 bytes into `old`.
    unsafe {
        raw::syscall4(
            nr::RT_SIGPROCMASK,
            libc::SIG_SETMASK as u64,
            0,
            &mut old as *mut u64 as u64,
            8,
        );
    }
    old
}

/// Replace the blocked-signal mask.
pub fn set_sigmask(mask: u64) {
    // SAFETY: the kernel reads 8 bytes from `mask`; no old mask is returned.
    unsafe {
        raw::syscall4(
            nr::RT_SIGPROCMASK,
            libc::SIG_SETMASK as u64,
            &mask as *const u64 as u64,
            0,
            8,
        );
    }
}

fn prctl(op: i32, a: u64) -> Result<i64, i32> {
    // SAFETY: used only with options that take integer arguments.
    let r = unsafe { raw::syscall5(nr::PRCTL, op as u64, a, 0, 0, 0) };
    errno(r)
}

/// `prctl(PR_SET_CHILD_SUBREAPER, 1)`: orphaned descendants come to us.
pub fn set_child_subreaper() -> Result<(), i32> {
    prctl(libc::PR_SET_CHILD_SUBREAPER, 1).map(|_| ())
}

/// `prctl(PR_SET_PDEATHSIG, sig)`: `sig` when the parent (thread) exits.
/// Cleared by the kernel on credential changes: set it again after them.
pub fn set_pdeathsig(sig: i32) -> Result<(), i32> {
    prctl(libc::PR_SET_PDEATHSIG, sig as u64).map(|_| ())
}

/// `prctl(PR_SET_DUMPABLE, on)`: keeps /proc/self owned by us after setuid.
pub fn set_dumpable(on: bool) -> Result<(), i32> {
    prctl(libc::PR_SET_DUMPABLE, on as u64).map(|_| ())
}

/// Install a seccomp filter that makes syscall `nr` fail with `errno` and
/// allows everything else, as container runtimes do for clone3 (Docker's
/// default profile answers clone3 with ENOSYS so that libc falls back to
/// clone). Sets no_new_privs first, which an unprivileged caller needs.
/// `prctl(PR_SET_NO_NEW_PRIVS, 1)` + `seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)`.
pub fn seccomp_deny_syscall(nr_denied: u32, err: u32) -> Result<(), i32> {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    let ins = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    // struct seccomp_data: nr at offset 0, arch at offset 4.
    let prog = [
        ins(LD_W_ABS, 0, 0, 4),
        ins(JEQ_K, 0, 3, AUDIT_ARCH_X86_64),
        ins(LD_W_ABS, 0, 0, 0),
        ins(JEQ_K, 0, 1, nr_denied),
        ins(RET_K, 0, 0, SECCOMP_RET_ERRNO | (err & 0xffff)),
        ins(RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ];
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut _,
    };
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1)?;
    // SAFETY: `fprog` points at `prog`, a valid 6-instruction program that
    // lives on this stack frame for the duration of the call; the kernel
    // copies it (seccomp_prepare_user_filter) and keeps no pointer to ours.
    let r = unsafe {
        raw::syscall3(
            nr::SECCOMP,
            1, // SECCOMP_SET_MODE_FILTER
            0,
            &fprog as *const libc::sock_fprog as u64,
        )
    };
    errno(r).map(|_| ())
}

/// Result of [`fork_single_threaded`].
#[derive(Debug, PartialEq, Eq)]
pub enum Forked {
    Parent { child: i32 },
    Child,
}

/// Number of threads in this process (from /proc/self/stat), if readable.
pub fn thread_count() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    rest.split(' ').nth(17)?.parse().ok()
}

/// `fork()` for a process that has a single thread. Refuses (EBUSY) when
/// /proc shows more than one thread: forking a multithreaded process leaves
/// the child with locks held by threads that do not exist there.
pub fn fork_single_threaded() -> Result<Forked, i32> {
    if thread_count().is_some_and(|n| n != 1) {
        return Err(libc::EBUSY);
    }
    // SAFETY: the process has one thread (checked above), so the child
    // inherits no lock held by another thread and may run any code.
    let r = unsafe { libc::fork() };
    match r {
        -1 => Err(io::Error::last_os_error().raw_os_error().unwrap_or(0)),
        0 => Ok(Forked::Child),
        child => Ok(Forked::Parent { child }),
    }
}

/// `_exit(code)`: leave now, without running destructors or flushing.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmask_round_trips() {
        let m = sigmask();
        set_sigmask(m | (1 << (libc::SIGUSR2 - 1)));
        assert_ne!(sigmask() & (1 << (libc::SIGUSR2 - 1)), 0);
        set_sigmask(m);
        assert_eq!(sigmask(), m);
    }

    #[test]
    fn wait_without_children_is_echild() {
        assert_eq!(wait4(i32::MAX, WNOHANG | WALL, false), Err(libc::ECHILD));
    }

    #[test]
    fn lowest_free_fd_is_not_open() {
        let fd = lowest_free_fd().unwrap();
        assert!(!fd_is_open(fd));
    }
}
