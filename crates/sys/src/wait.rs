//! Reaping children: the one `wait4` and the one `waitid` of forklore, and
//! the one [`Rusage`].

use crate::abi::nr;
use crate::errno::Errno;
use crate::raw;

pub use crate::abi::{
    CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED, P_ALL, P_PGID, P_PID, P_PIDFD,
    WALL, WCLONE, WCONTINUED, WEXITED, WNOHANG, WNOTHREAD, WNOWAIT, WSTOPPED, WUNTRACED,
};

/// Resource usage of a reaped child (`struct rusage`, the useful fields).
/// Serializable: the probe sends it to the runner as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rusage {
    pub utime_us: u64,
    pub stime_us: u64,
    pub maxrss_kb: u64,
    pub minflt: u64,
    pub majflt: u64,
    pub nvcsw: u64,
    pub nivcsw: u64,
}

impl Rusage {
    /// Decode `struct rusage` as 18 native words (two timevals, then the
    /// 14 longs: maxrss is word 4, minflt 8, majflt 9, nvcsw 16, nivcsw 17).
    fn from_words(ru: &[i64; 18]) -> Rusage {
        let w = |i: usize| ru[i] as u64;
        Rusage {
            utime_us: w(0) * 1_000_000 + w(1),
            stime_us: w(2) * 1_000_000 + w(3),
            maxrss_kb: w(4),
            minflt: w(8),
            majflt: w(9),
            nvcsw: w(16),
            nivcsw: w(17),
        }
    }
}

/// What wait4 reported for one child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reaped {
    pub pid: i32,
    /// The raw wait status.
    pub status: i32,
    pub rusage: Rusage,
}

/// `wait4(pid, status_addr, options, rusage_addr)` with raw addresses.
///
/// # Safety
/// Each address is 0, points at live memory of the right size that only
/// this call writes, or is invalid on purpose (the kernel's put_user /
/// copy_to_user report it as EFAULT).
unsafe fn sys_wait4(pid: i32, status_addr: u64, options: u32, rusage_addr: u64) -> i64 {
    // SAFETY: this function's contract.
    unsafe {
        raw::syscall4(
            nr::WAIT4,
            pid as i64 as u64,
            status_addr,
            options as u64,
            rusage_addr,
        )
    }
}

/// `wait4(pid, &status, options, &rusage)`. `Ok(None)` when WNOHANG found
/// nothing ready.
pub fn wait4(pid: i32, options: u32) -> Result<Option<Reaped>, Errno> {
    let mut status: i32 = 0;
    let mut ru = [0i64; 18];
    // SAFETY: `status` and `ru` (144 bytes = sizeof(struct rusage) on a
    // 64-bit architecture) are live locals the kernel writes into.
    let r = unsafe {
        sys_wait4(
            pid,
            &mut status as *mut i32 as u64,
            options,
            ru.as_mut_ptr() as u64,
        )
    };
    match raw::result(r)? {
        0 => Ok(None),
        p => Ok(Some(Reaped {
            pid: p as i32,
            status,
            rusage: Rusage::from_words(&ru),
        })),
    }
}

/// `wait4(pid, status_addr, options, NULL)` with a raw status address the
/// kernel validates (put_user reports EFAULT): the child's pid, or 0.
pub fn wait4_status_addr(pid: i32, status_addr: usize, options: u32) -> Result<i32, Errno> {
    // SAFETY: the kernel writes the status with put_user, which faults safely
    // on bad addresses; this API receives an address (usize, not a
    // reference), which callers use only as a deliberately invalid value.
    let r = unsafe { sys_wait4(pid, status_addr as u64, options, 0) };
    raw::result(r).map(|p| p as i32)
}

/// What waitid reports (`siginfo_t` fields for SIGCHLD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitInfo {
    pub pid: i32,
    /// [`CLD_EXITED`], [`CLD_KILLED`], [`CLD_DUMPED`], [`CLD_STOPPED`],
    /// [`CLD_CONTINUED`].
    pub code: i32,
    /// Exit code or signal number.
    pub status: i32,
    /// si_signo (SIGCHLD).
    pub signo: i32,
    /// si_uid: the child's real uid.
    pub uid: u32,
}

/// `waitid(idtype, id, &info, options, NULL)`. `Ok(None)` when WNOHANG
/// found nothing (the kernel then reports si_pid 0).
pub fn waitid(idtype: i32, id: i32, options: u32) -> Result<Option<WaitInfo>, Errno> {
    let mut si = [0i32; 32];
    // SAFETY: `si` is a live 128-byte local (sizeof(siginfo_t)); rusage is
    // NULL.
    let r = unsafe {
        raw::syscall5(
            nr::WAITID,
            idtype as u64,
            id as i64 as u64,
            si.as_mut_ptr() as u64,
            options as u64,
            0,
        )
    };
    raw::result(r)?;
    // siginfo_t for SIGCHLD: si_signo, si_errno, si_code, (pad), si_pid,
    // si_uid, si_status.
    if si[4] == 0 {
        return Ok(None);
    }
    Ok(Some(WaitInfo {
        pid: si[4],
        code: si[2],
        status: si[6],
        signo: si[0],
        uid: si[5] as u32,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_without_children_is_echild() {
        assert_eq!(wait4(i32::MAX, WNOHANG | WALL), Err(Errno::ECHILD));
        assert_eq!(
            waitid(P_PID, i32::MAX, WEXITED | WNOHANG),
            Err(Errno::ECHILD)
        );
    }
}
