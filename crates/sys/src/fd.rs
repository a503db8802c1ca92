//! File descriptors a child inherits: probing, duplicating, closing and
//! marking them close-on-exec without an owning Rust object.

use crate::abi::{nr, FD_CLOEXEC, F_DUPFD, F_GETFD, F_GETFL, F_SETFD};
use crate::errno::Errno;
use crate::raw;
use std::os::fd::FromRawFd;

/// Is `fd` open (`fcntl(fd, F_GETFD)` succeeds)?
pub fn fd_is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD reads no user memory.
    let r = unsafe { raw::syscall2(nr::FCNTL, fd as u64, F_GETFD) };
    r >= 0
}

/// `fcntl(fd, F_GETFL)`.
pub fn fcntl_getfl(fd: i32) -> Result<i32, Errno> {
    // SAFETY: F_GETFL has no memory arguments.
    let r = unsafe { raw::syscall2(nr::FCNTL, fd as u64, F_GETFL) };
    raw::result(r).map(|v| v as i32)
}

/// Set FD_CLOEXEC on `fd` (`fcntl(fd, F_SETFD, FD_CLOEXEC)`).
pub fn set_cloexec(fd: i32) -> Result<(), Errno> {
    // SAFETY: F_SETFD touches no user memory.
    raw::result(unsafe { raw::syscall3(nr::FCNTL, fd as u64, F_SETFD, FD_CLOEXEC) }).map(|_| ())
}

/// The lowest descriptor number not in use (via `F_DUPFD` then `close`).
pub fn lowest_free_fd() -> Result<i32, Errno> {
    // SAFETY: duplicating fd 0 onto the lowest free number and closing the
    // duplicate at once; no Rust object owns the duplicate.
    let r = unsafe { raw::syscall3(nr::FCNTL, 0, F_DUPFD, 0) };
    match raw::result(r) {
        Ok(fd) => {
            // SAFETY: `fd` is the duplicate created just above.
            unsafe { raw::syscall1(nr::CLOSE, fd as u64) };
            Ok(fd as i32)
        }
        // fd 0 not open: then 0 is the lowest free number.
        Err(Errno::EBADF) => Ok(0),
        Err(e) => Err(e),
    }
}

/// Take ownership of an inherited fd named by the environment (the exec
/// target's hold fd). Returns None when it is not open.
pub fn fd_file(fd: i32) -> Option<std::fs::File> {
    if fd < 3 || !fd_is_open(fd) {
        return None;
    }
    // SAFETY: the fd is open and, in the exec target, owned by nobody else:
    // it was inherited across execve and is named only by the environment.
    Some(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// `dup2(old, new)`. The caller must own `new` or know it is unused: the
/// old file there is closed.
pub fn dup2(old: i32, new: i32) -> Result<(), Errno> {
    // SAFETY: dup2 touches no user memory.
    raw::result(unsafe { raw_dup2(old, new) }).map(|_| ())
}

/// `dup2(old, new)` as one raw syscall result (usable in a cloned child).
///
/// # Safety
/// As [`raw::syscall2`]: the caller owns `new` or knows it is unused.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn raw_dup2(old: i32, new: i32) -> i64 {
    // SAFETY: forwarded to the caller.
    unsafe { raw::syscall2(nr::DUP2, old as u64, new as u64) }
}

/// `dup2(old, new)` where the syscall table has only dup3 (arm64): what
/// libc does, `dup3(old, new, 0)`, except that `old == new` (which dup3
/// refuses with EINVAL) returns `new` if it is open, as dup2 does.
///
/// # Safety
/// As [`raw::syscall2`]: the caller owns `new` or knows it is unused.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
pub(crate) unsafe fn raw_dup2(old: i32, new: i32) -> i64 {
    // SAFETY: forwarded to the caller; F_GETFD reads no user memory.
    unsafe {
        if old == new {
            let r = raw::syscall2(nr::FCNTL, old as u64, F_GETFD);
            if r < 0 {
                r
            } else {
                new as i64
            }
        } else {
            raw::syscall3(nr::DUP3, old as u64, new as u64, 0)
        }
    }
}

/// `close(fd)` for a descriptor a fork child inherited but does not own
/// (the parent's `OwnedFd` lives on in the parent's address space only).
pub fn close_inherited(fd: i32) -> Result<(), Errno> {
    // SAFETY: close touches no user memory; the caller guarantees no object
    // in this process still uses `fd`.
    raw::result(unsafe { raw::syscall1(nr::CLOSE, fd as u64) }).map(|_| ())
}

/// Close `fd` if it is a pidfd (`pidfd_send_signal(fd, 0)` does not say
/// EBADF). Pidfds are the only descriptors a case creates; the kernel wrote
/// the number into a word and no Rust object owns it.
pub fn close_pidfd(fd: i32) -> Result<(), Errno> {
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    if crate::signal::pidfd_send_signal(fd, 0) == Err(Errno::EBADF) {
        return Err(Errno::EBADF);
    }
    // SAFETY: `fd` is a pidfd (checked above); the probe never wraps pidfds
    // the kernel reports in an owning Rust object, so no object's
    // descriptor is invalidated.
    let r = unsafe { raw::syscall1(nr::CLOSE, fd as u64) };
    raw::result(r).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_fd_is_not_open() {
        let fd = lowest_free_fd().unwrap();
        assert!(!fd_is_open(fd));
    }
}
