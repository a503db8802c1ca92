//! `execve` with arbitrary (even bad) pointers, the argument arrays it
//! takes, and the program the execve scenarios exec ([`EXEC_TARGET_ELF`]).

use crate::abi::nr;
use crate::errno::Errno;
use crate::raw;
use std::ffi::{CStr, CString};

/// forklore-exec-target (`helper/exec_target.rs`, built by build.rs): a
/// `#![no_std]` program with a C `main`, linked only against libc, that
/// prints one JSON line describing what the new image sees and exits with
/// `$FORKLORE_EXIT_CODE` (default 42). crates/scenarios writes it to a file
/// before running scenarios.
pub const EXEC_TARGET_ELF: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/forklore-exec-target"));

/// `execve(path, argv, envp)` with raw addresses (0 = NULL). The kernel
/// validates every address; returns the errno when the call fails.
pub fn execve_addr(path: usize, argv: usize, envp: usize) -> Errno {
    // SAFETY: execve only reads user memory through copy_from_user /
    // strncpy_from_user, which report bad addresses as EFAULT. On success the
    // whole address space is replaced and this function never returns.
    let r = unsafe { raw::syscall3(nr::EXECVE, path as u64, argv as u64, envp as u64) };
    Errno::from_raw((-r) as i32)
}

/// NULL-terminated pointer arrays for execve, kept alive by the owner.
pub struct ExecArgs {
    _strings: Vec<CString>,
    pub argv: Vec<usize>,
    pub envp: Vec<usize>,
}

impl ExecArgs {
    pub fn new(argv: &[&[u8]], envp: &[&[u8]]) -> ExecArgs {
        let mut strings = Vec::new();
        let mut mk = |v: &[&[u8]]| {
            let mut out = Vec::new();
            for s in v {
                let c = CString::new(s.to_vec()).expect("no NUL inside");
                out.push(c.as_ptr() as usize);
                strings.push(c);
            }
            out.push(0);
            out
        };
        let argv = mk(argv);
        let envp = mk(envp);
        ExecArgs {
            _strings: strings,
            argv,
            envp,
        }
    }
    pub fn argv_addr(&self) -> usize {
        self.argv.as_ptr() as usize
    }
    pub fn envp_addr(&self) -> usize {
        self.envp.as_ptr() as usize
    }
}

/// `execve(path, args.argv, args.envp)`; returns the errno on failure.
pub fn execve(path: &CStr, args: &ExecArgs) -> Errno {
    execve_addr(path.as_ptr() as usize, args.argv_addr(), args.envp_addr())
}

/// `execveat(dirfd, path, args.argv, args.envp, flags)`; returns the errno
/// on failure (on success it does not return).
pub fn execveat(dirfd: i32, path: &CStr, args: &ExecArgs, flags: u32) -> Errno {
    // SAFETY: as execve_addr: the kernel only reads the path and the
    // NULL-terminated arrays (kept alive by `path` and `args`), reporting
    // bad addresses as EFAULT; dirfd and flags are integers it validates.
    let r = unsafe {
        raw::syscall5(
            nr::EXECVEAT,
            dirfd as i64 as u64,
            path.as_ptr() as u64,
            args.argv_addr() as u64,
            args.envp_addr() as u64,
            flags as u64,
        )
    };
    Errno::from_raw((-r) as i32)
}

/// `memfd_create(name, flags)`: an anonymous file (e.g. to write a program
/// into and run it with `execveat(fd, "", AT_EMPTY_PATH)`).
pub fn memfd_create(name: &CStr, flags: u32) -> Result<std::os::fd::OwnedFd, Errno> {
    use std::os::fd::FromRawFd;
    // SAFETY: the kernel only reads the NUL-terminated name.
    let r = unsafe { raw::syscall2(nr::MEMFD_CREATE, name.as_ptr() as u64, flags as u64) };
    let fd = raw::result(r)?;
    // SAFETY: the kernel just returned this new descriptor; we own it.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_exec_pointer_is_efault() {
        assert_eq!(execve_addr(1, 0, 0), Errno::EFAULT);
    }

    #[test]
    fn execveat_bad_flags_is_einval() {
        let a = ExecArgs::new(&[b"x"], &[]);
        assert_eq!(execveat(-100, c"/nonexistent", &a, 0x1), Errno::EINVAL);
    }
}
