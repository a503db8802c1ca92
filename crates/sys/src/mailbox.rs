//! The page through which the probe's reaper (its parent, a
//! PR_SET_CHILD_SUBREAPER) tells the worker about CLONE_PARENT children it
//! reaped. All fields are atomics in a MAP_SHARED page created before the
//! worker is forked.

use crate::mem::SharedPod;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, Ordering};

pub const RECORDS: usize = 16;

/// One reaped child, as the reaper saw it.
#[repr(C)]
pub struct ReapRecord {
    /// Sequence number this record was posted with (1-based; 0 = empty).
    pub seq: AtomicU32,
    pub pid: AtomicI32,
    /// 0 none, 1 plain, 2 __WCLONE, 3 __WALL.
    pub option: AtomicU32,
    pub status: AtomicI32,
    /// The zombie's /proc was read (Full observation).
    pub has_zombie: AtomicU32,
    /// State letter as a byte.
    pub z_state: AtomicU32,
    pub z_pid: AtomicI32,
    pub z_tgid: AtomicI32,
    pub z_ppid: AtomicI32,
    pub z_threads: AtomicI64,
    /// stat field 38; i32::MIN when unknown.
    pub z_exit_signal: AtomicI32,
    pub z_nspid_len: AtomicU32,
    pub z_nspid: [AtomicI32; 8],
    pub has_rusage: AtomicU32,
    /// utime_us, stime_us, maxrss_kb, minflt, majflt, nvcsw, nivcsw.
    pub rusage: [AtomicI64; 7],
}

#[repr(C)]
pub struct Mailbox {
    /// Records posted so far (futex word the worker waits on).
    pub posted: AtomicU32,
    /// Worker → reaper: 1 when the current case wants Full observation.
    pub full: AtomicU32,
    pub records: [ReapRecord; RECORDS],
}

// SAFETY: repr(C) structs of atomics and arrays of atomics; all-zero valid.
unsafe impl SharedPod for ReapRecord {}
// SAFETY: as above.
unsafe impl SharedPod for Mailbox {}

impl Mailbox {
    /// The slot the next record goes to, and its sequence number.
    pub fn next_slot(&self) -> (&ReapRecord, u32) {
        let seq = self.posted.load(Ordering::Acquire).wrapping_add(1);
        (&self.records[seq as usize % RECORDS], seq)
    }

    /// Publish a record filled in through `next_slot` and wake the worker.
    pub fn publish(&self, rec: &ReapRecord, seq: u32) {
        rec.seq.store(seq, Ordering::Release);
        self.posted.store(seq, Ordering::Release);
        crate::process::futex_wake(&self.posted, u32::MAX);
    }

    /// Find the record for `pid` posted after `since`, waiting up to
    /// `timeout`. Returns the record and the new high-water mark.
    pub fn wait_for(
        &self,
        pid: i32,
        since: u32,
        timeout: std::time::Duration,
    ) -> (Option<&ReapRecord>, u32) {
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = since;
        loop {
            let posted = self.posted.load(Ordering::Acquire);
            while seen != posted {
                seen = seen.wrapping_add(1);
                let r = &self.records[seen as usize % RECORDS];
                if r.seq.load(Ordering::Acquire) == seen && r.pid.load(Ordering::Relaxed) == pid {
                    return (Some(r), posted);
                }
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return (None, seen);
            }
            crate::process::futex_wait(&self.posted, posted, Some(deadline - now));
        }
    }
}
