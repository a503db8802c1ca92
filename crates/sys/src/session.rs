//! Sessions, process groups and the controlling terminal: `setsid`,
//! `setpgid`, `getsid`, `getpgid`, and the pseudo-terminal ioctls the
//! session scenarios use (open `/dev/ptmx`, unlock and name the slave,
//! `TIOCSCTTY`, `TIOCGSID`, `TIOCGPGRP`). Integer-only syscalls, plus
//! ioctls whose argument is a live local.

use crate::abi::{
    nr, O_CLOEXEC, O_NOCTTY, O_RDWR, TIOCGPGRP, TIOCGPTN, TIOCGSID, TIOCSCTTY, TIOCSPTLCK,
};
use crate::errno::Errno;
use crate::raw;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

/// `setsid()`: the new session's id.
pub fn setsid() -> Result<i32, Errno> {
    // SAFETY: no arguments, no memory.
    raw::result(unsafe { raw::syscall0(nr::SETSID) }).map(|v| v as i32)
}

/// `setpgid(pid, pgid)`.
pub fn setpgid(pid: i32, pgid: i32) -> Result<(), Errno> {
    // SAFETY: integer arguments only. Sign-extended as the kernel's pid_t
    // argument is read back (a negative pgid stays negative).
    let r = unsafe { raw::syscall2(nr::SETPGID, pid as i64 as u64, pgid as i64 as u64) };
    raw::result(r).map(|_| ())
}

/// `getsid(pid)` (0: the caller).
pub fn getsid(pid: i32) -> Result<i32, Errno> {
    // SAFETY: integer argument only.
    raw::result(unsafe { raw::syscall1(nr::GETSID, pid as i64 as u64) }).map(|v| v as i32)
}

/// `getpgid(pid)` (0: the caller).
pub fn getpgid(pid: i32) -> Result<i32, Errno> {
    // SAFETY: integer argument only.
    raw::result(unsafe { raw::syscall1(nr::GETPGID, pid as i64 as u64) }).map(|v| v as i32)
}

/// `ioctl(fd, req, &int)`: an ioctl that reads or writes one `int`.
fn ioctl_int(fd: i32, req: u64, v: &mut i32) -> Result<i64, Errno> {
    // SAFETY: `v` is a live, writable local int, which is what these
    // requests read or write (TIOCSPTLCK reads one, TIOCGPTN, TIOCGSID and
    // TIOCGPGRP write one pid_t/unsigned int).
    raw::result(unsafe { raw::syscall3(nr::IOCTL, fd as u64, req, v as *mut i32 as u64) })
}

/// `ioctl(fd, TIOCSCTTY, steal)`: make the terminal the caller's
/// controlling terminal (the caller must be a session leader without one).
pub fn set_ctty(fd: i32, steal: u64) -> Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes its argument by value; no memory.
    let r = unsafe { raw::syscall3(nr::IOCTL, fd as u64, TIOCSCTTY, steal) };
    raw::result(r).map(|_| ())
}

/// `ioctl(fd, TIOCGSID)`: the session the terminal controls.
pub fn tty_sid(fd: i32) -> Result<i32, Errno> {
    let mut v = 0;
    ioctl_int(fd, TIOCGSID, &mut v).map(|_| v)
}

/// `ioctl(fd, TIOCGPGRP)` (tcgetpgrp): the terminal's foreground group.
pub fn tty_pgrp(fd: i32) -> Result<i32, Errno> {
    let mut v = 0;
    ioctl_int(fd, TIOCGPGRP, &mut v).map(|_| v)
}

/// A pseudo-terminal pair's master and the path of its slave.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: std::path::PathBuf,
}

/// `posix_openpt(O_RDWR | O_NOCTTY)`, `grantpt` (nothing to do on devpts:
/// the slave is created with the opener's uid), `unlockpt`
/// (`TIOCSPTLCK` 0) and `ptsname` (`TIOCGPTN`). The master is close-on-exec.
pub fn open_pty() -> std::io::Result<Pty> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags((O_NOCTTY | O_CLOEXEC | O_RDWR) as i32)
        .open("/dev/ptmx")?;
    let master = OwnedFd::from(f);
    let mut unlock = 0;
    ioctl_int(master.as_raw_fd(), TIOCSPTLCK, &mut unlock)
        .map_err(|e| std::io::Error::from_raw_os_error(e.raw()))?;
    let mut n = 0;
    ioctl_int(master.as_raw_fd(), TIOCGPTN, &mut n)
        .map_err(|e| std::io::Error::from_raw_os_error(e.raw()))?;
    Ok(Pty {
        master,
        slave: format!("/dev/pts/{n}").into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_ids_and_missing_pid() {
        let me = std::process::id() as i32;
        assert!(getsid(0).unwrap() >= 0);
        assert_eq!(getpgid(0).unwrap(), getpgid(me).unwrap());
        assert_eq!(getsid(i32::MAX), Err(Errno::ESRCH));
        assert_eq!(setpgid(0, -1), Err(Errno::EINVAL));
    }
}
