//! Raw x86_64 `syscall` instructions (rustix's `syscall0..6` shape).
//!
//! These are the only way code running in a freshly cloned child may enter
//! the kernel: no libc wrapper, no errno TLS, no allocation. Each returns the
//! kernel's raw result: `-4095..=-1` is `-errno`.

use core::arch::asm;

/// `syscall(nr)`.
///
/// # Safety
/// The caller guarantees that `nr` with these arguments has no effect that
/// breaks Rust's invariants (e.g. unmapping memory still in use).
#[inline(always)]
pub unsafe fn syscall0(nr: u64) -> i64 {
    let ret: i64;
    // SAFETY: the `syscall` instruction clobbers only rax (result), rcx and
    // r11 (return address and rflags), which are declared; memory effects are
    // the caller's responsibility per this function's contract.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// `syscall(nr, a1)`.
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall1(nr: u64, a1: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in syscall0; the argument register is declared as input.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a1,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// `syscall(nr, a1, a2)`.
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall2(nr: u64, a1: u64, a2: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a1, in("rsi") a2,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// `syscall(nr, a1, a2, a3)`.
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall3(nr: u64, a1: u64, a2: u64, a3: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// `syscall(nr, a1, a2, a3, a4)`.
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall4(nr: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in syscall0; the 4th argument travels in r10 on x86_64.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, in("r10") a4, lateout("rcx") _, lateout("r11") _,
             options(nostack));
    }
    ret
}

/// `syscall(nr, a1, a2, a3, a4, a5)`.
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall5(nr: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in syscall4.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, in("r10") a4, in("r8") a5, lateout("rcx") _, lateout("r11") _,
             options(nostack));
    }
    ret
}

/// `syscall(nr, a1, ..., a6)`.
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall6(nr: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64, a6: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in syscall4.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, in("r10") a4, in("r8") a5, in("r9") a6,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// Split a raw result into `Ok(value)` or `Err(errno)`.
#[inline(always)]
pub fn result(ret: i64) -> Result<i64, i32> {
    if (-4095..0).contains(&ret) {
        Err((-ret) as i32)
    } else {
        Ok(ret)
    }
}

/// x86_64 syscall numbers used across forklore.
pub mod nr {
    pub const READ: u64 = 0;
    pub const WRITE: u64 = 1;
    pub const CLOSE: u64 = 3;
    pub const MMAP: u64 = 9;
    pub const MPROTECT: u64 = 10;
    pub const MUNMAP: u64 = 11;
    pub const MADVISE: u64 = 28;
    pub const RT_SIGACTION: u64 = 13;
    pub const RT_SIGPROCMASK: u64 = 14;
    pub const SCHED_YIELD: u64 = 24;
    pub const GETPID: u64 = 39;
    pub const CLONE: u64 = 56;
    pub const FORK: u64 = 57;
    pub const VFORK: u64 = 58;
    pub const EXECVE: u64 = 59;
    pub const EXIT: u64 = 60;
    pub const WAIT4: u64 = 61;
    pub const KILL: u64 = 62;
    pub const FCNTL: u64 = 72;
    pub const GETPPID: u64 = 110;
    pub const PRCTL: u64 = 157;
    pub const GETTID: u64 = 186;
    pub const FUTEX: u64 = 202;
    pub const SET_TID_ADDRESS: u64 = 218;
    pub const EXIT_GROUP: u64 = 231;
    pub const TGKILL: u64 = 234;
    pub const WAITID: u64 = 247;
    pub const PIDFD_SEND_SIGNAL: u64 = 424;
    pub const PIDFD_OPEN: u64 = 434;
    pub const SECCOMP: u64 = 317;
    pub const CLONE3: u64 = 435;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getpid_matches_std() {
        // SAFETY: getpid has no side effects.
        let pid = unsafe { syscall0(nr::GETPID) };
        assert_eq!(pid, std::process::id() as i64);
    }

    #[test]
    fn errors_come_back_negative() {
        // SAFETY: close(-1) only fails with EBADF.
        let r = unsafe { syscall1(nr::CLOSE, u64::MAX) };
        assert_eq!(result(r), Err(libc::EBADF));
    }
}
