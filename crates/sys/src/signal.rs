//! Signals: dispositions (raw `rt_sigaction` with this crate's restorer,
//! and libc's for flag handlers), the blocked mask, the alternate stack,
//! and sending (`tgkill`, `pidfd_send_signal`).

use crate::abi::{nr, SA_RESTART, SA_RESTORER, SIG_DFL, SIG_IGN};
use crate::errno::Errno;
use crate::raw;
use std::sync::atomic::{AtomicBool, Ordering};

pub use crate::abi::{SIG_BLOCK, SIG_SETMASK, SIG_UNBLOCK, SS_DISABLE};

/// How a signal is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    Default,
    Ignore,
    /// A no-op handler in this crate, with these sa_flags.
    Catch {
        flags: u64,
    },
}

extern "C" fn noop_handler(_sig: i32) {}

/// The `struct kernel_sigaction` words for `h`: handler, flags, restorer,
/// mask.
pub(crate) fn sigaction_words(h: Handler) -> [u64; 4] {
    let (handler, flags) = match h {
        Handler::Default => (SIG_DFL, 0u64),
        Handler::Ignore => (SIG_IGN, 0u64),
        Handler::Catch { flags } => (catch_handler_addr(), flags | SA_RESTORER),
    };
    [handler, flags | SA_RESTORER, raw::sigreturn_restorer(), 0]
}

/// The address [`Handler::Catch`] installs (to recognise it in a report).
pub fn catch_handler_addr() -> u64 {
    noop_handler as extern "C" fn(i32) as usize as u64
}

/// `rt_sigaction(sig, new, NULL, 8)`.
pub fn set_handler(sig: i32, h: Handler) -> Result<(), Errno> {
    let act = sigaction_words(h);
    // SAFETY: `act` is a live kernel_sigaction; the handler is a no-op
    // extern "C" fn and the restorer issues rt_sigreturn, as the x86_64 ABI
    // requires.
    let r = unsafe { raw::syscall4(nr::RT_SIGACTION, sig as u64, act.as_ptr() as u64, 0, 8) };
    raw::result(r).map(|_| ())
}

/// The current disposition of `sig` as `(sa_handler, sa_flags)`:
/// sa_handler 0 = SIG_DFL, 1 = SIG_IGN, else caught.
pub fn handler_of(sig: i32) -> Result<(u64, u64), Errno> {
    let mut old = [0u64; 4];
    // SAFETY: `old` is a live buffer of sizeof(kernel_sigaction).
    let r = unsafe { raw::syscall4(nr::RT_SIGACTION, sig as u64, 0, old.as_mut_ptr() as u64, 8) };
    raw::result(r)?;
    Ok((old[0], old[1]))
}

/// A signal's disposition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    Default,
    Ignore,
    /// A handler function (or SA_SIGINFO action); its flags.
    Handler(u64),
}

/// Query `sig`'s disposition (`sigaction(sig, NULL, &old)`).
pub fn signal_disposition(sig: i32) -> Result<(Disposition, u64), Errno> {
    // SAFETY: all-zero is a valid sigaction.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: query only (act is NULL); `old` is a live local.
    let r = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    if r != 0 {
        return Err(Errno::last_os_error());
    }
    let d = match old.sa_sigaction {
        libc::SIG_DFL => Disposition::Default,
        libc::SIG_IGN => Disposition::Ignore,
        _ => Disposition::Handler(old.sa_flags as u64),
    };
    Ok((d, old.sa_flags as u64))
}

/// Set `sig` to SIG_DFL or SIG_IGN with no flags and an empty mask.
pub fn set_signal_disposition(sig: i32, d: Disposition) -> Result<(), Errno> {
    let h = match d {
        Disposition::Default => libc::SIG_DFL,
        Disposition::Ignore => libc::SIG_IGN,
        Disposition::Handler(_) => return Err(Errno::EINVAL),
    };
    // SAFETY: all-zero is a valid sigaction (empty mask, no flags).
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = h;
    // SAFETY: SIG_DFL/SIG_IGN install no code; `act` is a live local.
    let r = unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) };
    if r != 0 {
        return Err(Errno::last_os_error());
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
pub fn install_flag_handler(sig: i32) -> Result<&'static AtomicBool, Errno> {
    let flag = FLAGS.get(sig as usize).ok_or(Errno::EINVAL)?;
    // SAFETY: all-zero is a valid sigaction.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = set_flag as extern "C" fn(libc::c_int) as usize;
    // SAFETY: the handler only stores to a static atomic, which is
    // async-signal-safe; `act` is a live local.
    let r = unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) };
    if r != 0 {
        return Err(Errno::last_os_error());
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
pub fn catch_flag(sig: i32) -> Result<CaughtSignal, Errno> {
    let flag = FLAGS.get(sig as usize).ok_or(Errno::EINVAL)?;
    flag.store(false, Ordering::SeqCst);
    // SAFETY: all-zero is a valid sigaction.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = set_flag as extern "C" fn(libc::c_int) as usize;
    act.sa_flags = SA_RESTART as libc::c_int;
    // SAFETY: as above, zero is a valid sigaction to receive the old one.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: the handler only stores to a static atomic, which is
    // async-signal-safe; `act` and `old` are live locals.
    let r = unsafe { libc::sigaction(sig, &act, &mut old) };
    if r != 0 {
        return Err(Errno::last_os_error());
    }
    Ok(CaughtSignal { sig, old, flag })
}

impl Drop for CaughtSignal {
    fn drop(&mut self) {
        // SAFETY: `old` is the action sigaction returned for this signal.
        unsafe { libc::sigaction(self.sig, &self.old, std::ptr::null_mut()) };
    }
}

/// `rt_sigprocmask(how, &set, &old, 8)` with 64-bit masks (bit n-1 =
/// signal n); returns the old mask.
pub fn sigprocmask(how: i32, set: u64) -> Result<u64, Errno> {
    let mut old = 0u64;
    // SAFETY: both masks are live locals.
    let r = unsafe {
        raw::syscall4(
            nr::RT_SIGPROCMASK,
            how as u64,
            &set as *const u64 as u64,
            &mut old as *mut u64 as u64,
            8,
        )
    };
    raw::result(r).map(|_| old)
}

/// The calling thread's blocked-signal mask (bit n-1 = signal n).
pub fn sigmask() -> u64 {
    let mut old: u64 = 0;
    // SAFETY: query only (set is NULL); the kernel writes 8 bytes into `old`.
    unsafe {
        raw::syscall4(
            nr::RT_SIGPROCMASK,
            SIG_SETMASK as u64,
            0,
            &mut old as *mut u64 as u64,
            8,
        );
    }
    old
}

/// Replace the calling thread's blocked-signal mask.
pub fn set_sigmask(mask: u64) {
    // A valid `how` and a live mask: the call cannot fail.
    let _ = sigprocmask(SIG_SETMASK, mask);
}

/// Install a leaked `size`-byte alternate signal stack.
pub fn set_altstack(size: usize) -> Result<(), Errno> {
    let mem: &'static mut [u8] = Vec::leak(vec![0u8; size]);
    // stack_t { ss_sp, ss_flags (int, padded), ss_size }
    let ss: [u64; 3] = [mem.as_mut_ptr() as u64, 0, size as u64];
    // SAFETY: the stack memory is leaked, so it stays valid for as long as a
    // signal could run on it; `ss` is a live local the kernel only reads.
    let r = unsafe { raw::syscall2(nr::SIGALTSTACK, ss.as_ptr() as u64, 0) };
    raw::result(r).map(|_| ())
}

/// `sigaltstack(NULL, &old)`: `(ss_flags, ss_size)`.
pub fn altstack() -> Result<(i32, u64), Errno> {
    let mut ss = [0u64; 3];
    // SAFETY: `ss` is a live stack_t-sized buffer.
    let r = unsafe { raw::syscall2(nr::SIGALTSTACK, 0, ss.as_mut_ptr() as u64) };
    raw::result(r)?;
    Ok((ss[1] as i32, ss[2]))
}

/// `tgkill(tgid, tid, sig)` (sig 0 only checks that the thread exists).
pub fn tgkill(tgid: i32, tid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: no memory arguments.
    raw::result(unsafe { raw::syscall3(nr::TGKILL, tgid as u64, tid as u64, sig as u64) })
        .map(|_| ())
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`.
pub fn pidfd_send_signal(pidfd: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: info is NULL (the kernel builds a SI_USER siginfo itself); no
    // other memory argument.
    let r = unsafe { raw::syscall4(nr::PIDFD_SEND_SIGNAL, pidfd as u64, sig as u64, 0, 0) };
    raw::result(r).map(|_| ())
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
}
