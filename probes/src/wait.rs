//! Reaping, and the codec of what the reaper reports to the worker.
//!
//! Both probe processes reap: the worker its own children, the reaper the
//! CLONE_PARENT children and orphans. Both try the wait options in the
//! order the kernel's `eligible_child` (kernel/exit.c) makes meaningful,
//! and the reaper hands what it saw to the worker through the shared
//! [`Mailbox`] as plain atomics: [`post`] writes a record, [`read_record`]
//! turns one back into observation fields.

use crate::protocol::{Observation, Rusage};
use forklore_model::ReapedBy;
use forklore_observe::{self as observe, ProcInfo};
use forklore_sys::mailbox::{Mailbox, ReapRecord};
use forklore_sys::wait::{WALL, WCLONE, WNOHANG};
use forklore_sys::{self as sys, Reaped};
use std::sync::atomic::Ordering;

/// Reap a zombie child with the first of plain, __WCLONE, __WALL that
/// works (eligible_child in kernel/exit.c decides which). `Err(errno)` of
/// the last wait when none did.
pub(crate) fn reap_in_order(pid: i32) -> Result<(ReapedBy, Reaped), sys::Errno> {
    let mut last = sys::Errno::ECHILD;
    for (opt, who) in [
        (0, ReapedBy::Plain),
        (WCLONE, ReapedBy::Wclone),
        (WALL, ReapedBy::Wall),
    ] {
        match sys::wait4(pid, WNOHANG | opt) {
            Ok(Some(r)) => return Ok((who, r)),
            Ok(None) => {}
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The mailbox's number for the wait option that reaped (0 = none did).
fn option_code(who: ReapedBy) -> u32 {
    match who {
        ReapedBy::Plain => 1,
        ReapedBy::Wclone => 2,
        ReapedBy::Wall => 3,
        _ => 0,
    }
}

fn option_from_code(code: u32) -> Option<ReapedBy> {
    match code {
        1 => Some(ReapedBy::Plain),
        2 => Some(ReapedBy::Wclone),
        3 => Some(ReapedBy::Wall),
        _ => None,
    }
}

/// Reaper side: read the zombie `pid` (when the case is Full), reap it and
/// publish what was seen to the worker.
pub(crate) fn reap_and_post(pid: i32, mailbox: &Mailbox) {
    let full = mailbox.full.load(Ordering::Relaxed) != 0;
    let (rec, seq) = mailbox.next_slot();
    rec.seq.store(0, Ordering::Release);
    rec.has_zombie.store(0, Ordering::Relaxed);
    rec.has_rusage.store(0, Ordering::Relaxed);
    if full {
        if let Ok(z) = observe::proc_info(pid) {
            write_zombie(rec, &z);
        }
    }
    let (option, status) = match reap_in_order(pid) {
        Ok((who, r)) => {
            if let Some(ru) = full.then_some(r.rusage) {
                write_rusage(rec, &ru);
            }
            (option_code(who), r.status)
        }
        Err(_) => (0, 0),
    };
    rec.option.store(option, Ordering::Relaxed);
    rec.status.store(status, Ordering::Relaxed);
    rec.pid.store(pid, Ordering::Relaxed);
    mailbox.publish(rec, seq);
}

fn write_zombie(rec: &ReapRecord, z: &ProcInfo) {
    rec.z_state.store(
        z.state.bytes().next().unwrap_or(b'?') as u32,
        Ordering::Relaxed,
    );
    rec.z_pid.store(z.pid, Ordering::Relaxed);
    rec.z_tgid.store(z.tgid, Ordering::Relaxed);
    rec.z_ppid.store(z.ppid, Ordering::Relaxed);
    rec.z_threads.store(z.threads as i64, Ordering::Relaxed);
    rec.z_exit_signal
        .store(z.exit_signal.unwrap_or(i32::MIN), Ordering::Relaxed);
    let n = z.nspid.len().min(rec.z_nspid.len());
    for (slot, v) in rec.z_nspid.iter().zip(&z.nspid) {
        slot.store(*v, Ordering::Relaxed);
    }
    rec.z_nspid_len.store(n as u32, Ordering::Relaxed);
    rec.has_zombie.store(1, Ordering::Relaxed);
}

fn write_rusage(rec: &ReapRecord, r: &Rusage) {
    let v = [
        r.utime_us,
        r.stime_us,
        r.maxrss_kb,
        r.minflt,
        r.majflt,
        r.nvcsw,
        r.nivcsw,
    ];
    for (slot, x) in rec.rusage.iter().zip(v) {
        slot.store(x as i64, Ordering::Relaxed);
    }
    rec.has_rusage.store(1, Ordering::Relaxed);
}

/// Worker side: what the reaper reported about a child it reaped.
pub(crate) fn read_record(r: &ReapRecord, obs: &mut Observation) {
    obs.reaped_by = Some(ReapedBy::CallersParent);
    obs.reaper_option = option_from_code(r.option.load(Ordering::Relaxed));
    obs.wait_status = Some(r.status.load(Ordering::Relaxed));
    if r.has_rusage.load(Ordering::Relaxed) != 0 {
        let v: Vec<u64> = r
            .rusage
            .iter()
            .map(|x| x.load(Ordering::Relaxed) as u64)
            .collect();
        obs.rusage = Some(Rusage {
            utime_us: v[0],
            stime_us: v[1],
            maxrss_kb: v[2],
            minflt: v[3],
            majflt: v[4],
            nvcsw: v[5],
            nivcsw: v[6],
        });
    }
    if r.has_zombie.load(Ordering::Relaxed) != 0 {
        let n = (r.z_nspid_len.load(Ordering::Relaxed) as usize).min(r.z_nspid.len());
        let es = r.z_exit_signal.load(Ordering::Relaxed);
        let z = ProcInfo {
            state: char::from(r.z_state.load(Ordering::Relaxed) as u8).to_string(),
            pid: r.z_pid.load(Ordering::Relaxed),
            tgid: r.z_tgid.load(Ordering::Relaxed),
            ppid: r.z_ppid.load(Ordering::Relaxed),
            threads: r.z_threads.load(Ordering::Relaxed) as u64,
            nspid: r.z_nspid[..n]
                .iter()
                .map(|x| x.load(Ordering::Relaxed))
                .collect(),
            exit_signal: (es != i32::MIN).then_some(es),
            // Not carried: a zombie reaches its real parent untraced.
            tracer_pid: 0,
        };
        obs.zombie_state = Some(z.state.clone());
        obs.zombie = Some(z);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_codes_round_trip() {
        for who in [ReapedBy::Plain, ReapedBy::Wclone, ReapedBy::Wall] {
            assert_eq!(option_from_code(option_code(who)), Some(who));
        }
        assert_eq!(option_from_code(option_code(ReapedBy::None)), None);
    }
}
