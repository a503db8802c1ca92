//! Resolving the symbolic set_tid entries of a request (`Unused`,
//! `PidMax`, `CallerPid`) into the pids the probe passes, per pid
//! namespace level.

use forklore_model::{Context, KernelVersion, TidSpec};
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// Where the caller sits in the pid namespaces, as arranged for the context.
pub(crate) struct PidLevels {
    /// Level of the pid namespace /proc shows (after a remount).
    pub procfs_level: u32,
    /// Level of the caller's active pid namespace.
    pub active_level: u32,
    /// Caller's pid at each level from 0 (as NSpid, outermost first).
    pub nspid_abs: Vec<i32>,
    /// The procfs mount of the initial view kept open across a /proc
    /// remount (pidns-init), to look pids up at the outer level.
    pub outer_proc: Option<File>,
    /// `pid_max` at level 0.
    pub outer_pid_max: u32,
}

/// The pid namespaces the caller's children land in, and cursors for
/// finding unused pids in them.
pub(crate) struct PidSpace {
    caller_pid: i32,
    pid_max: i32,
    kernel: KernelVersion,
    children_level: u32,
    /// Where to look pids up, per pid-namespace level.
    proc_dirs: Vec<(i64, PathBuf)>,
    _outer_proc: Option<File>,
    nspid_abs: Vec<i32>,
    /// `pid_max` at level 0 (the runner's namespace).
    outer_pid_max: i32,
    active_level: i64,
    unused_cursor: HashMap<i64, i32>,
    nested_cursor: i32,
}

impl PidSpace {
    pub fn new(levels: &PidLevels, ctx: &Context) -> Self {
        let outer_proc = levels.outer_proc.as_ref().and_then(|f| f.try_clone().ok());
        let mut proc_dirs = vec![(levels.procfs_level as i64, PathBuf::from("/proc"))];
        if let Some(f) = &outer_proc {
            proc_dirs.push((0, PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()))));
        }
        PidSpace {
            caller_pid: std::process::id() as i32,
            pid_max: ctx.pid_max as i32,
            kernel: ctx.kernel,
            children_level: ctx.pidns_level,
            proc_dirs,
            _outer_proc: outer_proc,
            nspid_abs: levels.nspid_abs.clone(),
            outer_pid_max: levels.outer_pid_max as i32,
            active_level: levels.active_level as i64,
            unused_cursor: HashMap::new(),
            nested_cursor: 2000,
        }
    }

    /// `pid_max` of the namespace at `level`. Since 6.14 it is per
    /// namespace, and a new namespace starts at PID_MAX_LIMIT (4194304 on
    /// 64-bit), whatever its parent's is: kernel/pid_namespace.c
    /// create_pid_namespace sets `ns->pid_max = PID_MAX_LIMIT` (7863dcc72d0f
    /// "pid: allow pid_max to be set per pid namespace"); `unshare -p`
    /// shows the same on 6.18.
    fn level_pid_max(&self, level: i64) -> i32 {
        if level == self.active_level {
            self.pid_max
        } else if level == 0 {
            self.outer_pid_max
        } else if level > self.active_level && self.kernel >= KernelVersion::new(6, 14, 0) {
            4_194_304
        } else {
            self.pid_max
        }
    }

    /// A pid no task uses at `level` right now (set_tid `Unused`), looked
    /// up in a procfs that shows that level; high pids for levels none
    /// shows (fresh nested namespaces hold only the probe's few tasks).
    fn unused_pid(&mut self, level: i64) -> i32 {
        let max = self.level_pid_max(level);
        if let Some((_, dir)) = self.proc_dirs.iter().find(|(l, _)| *l == level) {
            let dir = dir.clone();
            let cur = self.unused_cursor.entry(level).or_insert(max - 1);
            for _ in 0..max {
                let p = *cur;
                if !dir.join(p.to_string()).exists() {
                    return p;
                }
                *cur = if p <= 300 { max - 1 } else { p - 1 };
            }
            *cur
        } else {
            self.nested_cursor += 1;
            if self.nested_cursor >= max.min(self.pid_max) {
                self.nested_cursor = 2000;
            }
            self.nested_cursor
        }
    }

    /// The set_tid array as passed, `[0]` = the child's innermost level
    /// (one deeper than the caller's children with CLONE_NEWPID).
    pub fn resolve_set_tid(&mut self, new_pidns: bool, entries: &[TidSpec]) -> Vec<i32> {
        let child_level = self.children_level as i64 + new_pidns as i64;
        let mut out = Vec::with_capacity(entries.len());
        for (i, t) in entries.iter().enumerate() {
            let level = child_level - i as i64;
            out.push(match *t {
                TidSpec::Value(v) => v,
                TidSpec::PidMax => self.level_pid_max(level),
                TidSpec::CallerPid => {
                    if level >= 0 && (level as usize) < self.nspid_abs.len() {
                        self.nspid_abs[level as usize]
                    } else {
                        self.caller_pid
                    }
                }
                TidSpec::Unused => self.unused_pid(level),
            });
        }
        out
    }
}
