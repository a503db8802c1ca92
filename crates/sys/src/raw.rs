//! The instructions of forklore: `syscall0..6` (rustix's shape), the clone
//! trampoline, the signal restorer and the thread pointer, one file per
//! architecture (raw/x86_64.rs, raw/aarch64.rs) with the same functions.
//!
//! These are the only way code running in a freshly cloned child may enter
//! the kernel: no libc wrapper, no errno TLS, no allocation. Each returns the
//! kernel's raw result: `-4095..=-1` is `-errno`.

use crate::errno::Errno;

#[cfg(target_arch = "x86_64")]
#[path = "raw/x86_64.rs"]
mod arch;
#[cfg(target_arch = "aarch64")]
#[path = "raw/aarch64.rs"]
mod arch;

pub use arch::{
    clone_trampoline, sigreturn_restorer, syscall0, syscall1, syscall2, syscall3, syscall4,
    syscall5, syscall6, thread_pointer,
};

/// Split a raw result into `Ok(value)` or `Err(errno)`.
#[inline(always)]
pub fn result(ret: i64) -> Result<i64, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw((-ret) as i32))
    } else {
        Ok(ret)
    }
}

/// The entry point of a task started by [`clone_trampoline`]: it receives
/// the trampoline's `arg` and must never return.
pub type ChildEntry = unsafe extern "C" fn(arg: usize) -> !;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::nr;

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
        assert_eq!(result(r), Err(Errno::EBADF));
    }
}
