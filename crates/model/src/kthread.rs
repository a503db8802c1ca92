//! Kernel threads as user space sees them (issue 16): kthreadd is pid 2
//! with ppid 0, every other kernel thread is its child, carries PF_KTHREAD,
//! has no mm (empty cmdline and maps, no VmSize), cannot be traced, and
//! kthreadd ignores every signal.
//!
//! Every expectation comes from one row of [`KTHREAD_RULES`];
//! [`crate::lifecycle::rule`] finds these rows too. Pure: no I/O.

use crate::errno::Errno;
use crate::lifecycle::Expect;
use crate::prediction::{RuleInfo, VersionRange};
use crate::ruledef::{by, from, kv};
use serde::{Deserialize, Serialize};

/// kthreadd (73c279927f89, 2.6.22).
const KTHREADD: &[VersionRange] = &[from(kv(2, 6, 22))];
/// PF_KTHREAD (2.6.27).
const PF_KTHREAD_SINCE: &[VersionRange] = &[from(kv(2, 6, 27))];

/// The kernel-thread rule table.
pub static KTHREAD_RULES: &[RuleInfo] = &[
    rule!("K-KTHREADD", "init/main.c: rest_init", None,
        "rest_init starts kernel_init (pid 1) and then kthreadd, which gets pid 2; its parent is the idle task, shown as ppid 0",
        "init/main.c rest_init: kernel_thread(kthreadd, ...) after user_mode_thread(kernel_init, ...); fs/proc/array.c do_task_stat (ppid of a task whose parent is pid 0)",
        KTHREADD, None),
    rule!("K-PARENT", "kernel/kthread.c: kthreadd / create_kthread", None,
        "every other kernel thread is created by kthreadd (kthread_create_on_node queues the request to it), so its ppid is 2",
        "kernel/kthread.c create_kthread: kernel_thread(kthread, create, ...) run by kthreadd",
        KTHREADD, None),
    rule!("K-PF-KTHREAD", "include/linux/sched.h: PF_KTHREAD", None,
        "kernel threads carry PF_KTHREAD (0x00200000) in task->flags, shown in /proc/<pid>/stat field 9",
        "include/linux/sched.h #define PF_KTHREAD 0x00200000; fs/proc/array.c do_task_stat (task->flags)",
        PF_KTHREAD_SINCE, None),
    rule!("K-NO-MM", "fs/proc/base.c, fs/proc/array.c, fs/proc/task_mmu.c", None,
        "a kernel thread has no mm: /proc/<pid>/cmdline and maps read empty and status has no VmSize line",
        "fs/proc/base.c get_mm_cmdline (no mm: 0 bytes); fs/proc/task_mmu.c proc_maps_open -> proc_mem_open (no mm: nothing to show); fs/proc/array.c proc_pid_status: task_mem only if (mm)",
        KTHREADD, None),
    rule!("K-SIGIGN", "kernel/kthread.c: kthreadd -> kernel/signal.c: ignore_signals", None,
        "kthreadd sets every handler to SIG_IGN, so /proc/2/status SigIgn has all 64 bits",
        "kernel/kthread.c kthreadd: ignore_signals(tsk); fs/proc/array.c collect_sigign_sigcatch",
        KTHREADD, None),
    rule!("K-KILL-PERM", "kernel/signal.c: check_kill_permission", Some(Errno::EPERM),
        "kill from a uid that matches none of kthreadd's (root's) ids, without CAP_KILL, is refused before anything else, signal 0 included",
        "kernel/signal.c check_kill_permission / kill_ok_by_cred",
        KTHREADD, None),
    rule!("K-KILL-IGNORED", "kernel/signal.c: prepare_signal -> sig_ignored -> sig_task_ignored", None,
        "a permitted kill of kthreadd returns 0 but the signal is dropped (its handler is SIG_IGN, SIGKILL included): kthreadd lives on",
        "kernel/signal.c sig_task_ignored -> sig_handler_ignored (SIG_IGN); __send_signal_locked returns 0 for an ignored signal",
        KTHREADD, None),
];

/// Look a kernel-thread rule up by id.
pub fn rule(id: &str) -> Option<&'static RuleInfo> {
    KTHREAD_RULES.iter().find(|r| r.id == id)
}

/// include/linux/sched.h.
pub const PF_KTHREAD: u64 = 0x0020_0000;

/// kthreadd's pid and ppid.
pub fn kthreadd_ids() -> Expect<(i32, i32)> {
    by("K-KTHREADD", (2, 0))
}

/// The ppid of every kernel thread other than kthreadd.
pub fn kthread_ppid() -> Expect<i32> {
    by("K-PARENT", 2)
}

/// Is PF_KTHREAD set in a kernel thread's stat flags?
pub fn has_pf_kthread() -> Expect<bool> {
    by("K-PF-KTHREAD", true)
}

/// What /proc shows of a task's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MmView {
    pub cmdline_bytes: usize,
    pub maps_bytes: usize,
    pub vmsize_line: bool,
}

/// A kernel thread's memory as /proc shows it.
pub fn kthread_mm_view() -> Expect<MmView> {
    by(
        "K-NO-MM",
        MmView {
            cmdline_bytes: 0,
            maps_bytes: 0,
            vmsize_line: false,
        },
    )
}

/// kthreadd's SigIgn mask (all 64 signals).
pub fn kthreadd_sigign() -> Expect<u64> {
    by("K-SIGIGN", u64::MAX)
}

/// `kill(2, sig)`: None when it returns 0. `permitted`: the caller's ids
/// match kthreadd's (root's) or it has CAP_KILL.
pub fn kill_kthreadd(permitted: bool) -> Expect<Option<Errno>> {
    if permitted {
        by("K-KILL-IGNORED", None)
    } else {
        by("K-KILL-PERM", Some(Errno::EPERM))
    }
}

/// Is kthreadd still there after any kill user space can send?
pub fn kthreadd_survives() -> Expect<bool> {
    by("K-KILL-IGNORED", true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_resolve_through_the_lifecycle_lookup() {
        for (i, r) in KTHREAD_RULES.iter().enumerate() {
            assert!(KTHREAD_RULES[..i].iter().all(|o| o.id != r.id), "{}", r.id);
            assert!(crate::lifecycle::rule(r.id).is_some(), "{}", r.id);
        }
        assert_eq!(kthreadd_ids().value, (2, 0));
        assert_eq!(kill_kthreadd(false).value, Some(Errno::EPERM));
        assert_eq!(kill_kthreadd(true).value, None);
    }
}
