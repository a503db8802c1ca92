//! ptrace across clone (issue 16): which children of a traced caller are
//! traced and by whom (CLONE_PTRACE, PTRACE_O_TRACEFORK / VFORK / CLONE,
//! CLONE_UNTRACED), the PTRACE_EVENT_* stop kernel_clone reports, the
//! first stop of an auto-attached child, who may wait for a tracee, and
//! which attaches ptrace_attach refuses.
//!
//! Every expectation comes from one row of [`PTRACE_RULES`];
//! [`crate::lifecycle::rule`] finds these rows too. Pure: no I/O.

use crate::errno::Errno;
use crate::flags::{CLONE_PTRACE, CLONE_UNTRACED, CLONE_VFORK};
use crate::lifecycle::{Expect, SIGCHLD};
use crate::prediction::RuleInfo;
use crate::ruledef::{by, from, kv, span};
use crate::version::KernelVersion;
use serde::{Deserialize, Serialize};

/// The ptrace rule table.
pub static PTRACE_RULES: &[RuleInfo] = &[
    // --- creation of a traced caller's child ---
    rule!("P-CLONE-EVENT", "kernel/fork.c: kernel_clone (trace = PTRACE_EVENT_*)", None,
        "without CLONE_UNTRACED, kernel_clone picks PTRACE_EVENT_VFORK for CLONE_VFORK, PTRACE_EVENT_CLONE for an exit signal other than SIGCHLD, else PTRACE_EVENT_FORK (clone3 with SIGCHLD included), and reports it only when the tracer enabled the matching PTRACE_O_TRACE* option; the event message is the new pid",
        "kernel/fork.c kernel_clone (_do_fork before 5.10); ptrace(2) PTRACE_O_TRACEFORK/VFORK/CLONE, PTRACE_GETEVENTMSG"),
    rule!("P-CLONE-PTRACE", "kernel/fork.c: copy_process -> include/linux/ptrace.h: ptrace_init_task", None,
        "ptrace_init_task(p, (clone_flags & CLONE_PTRACE) || trace): when the caller is traced and CLONE_PTRACE was passed or an event is reported, the child is linked to the caller's tracer; CLONE_UNTRACED only stops the event (trace = 0), it does not clear an explicit CLONE_PTRACE; an untraced caller's child is never traced",
        "kernel/fork.c copy_process; include/linux/ptrace.h ptrace_init_task (4b9d33e6d83c); clone(2) CLONE_UNTRACED: the tracer cannot force CLONE_PTRACE"),
    rule!("P-INIT-STOP", "include/linux/ptrace.h: ptrace_init_task; kernel/signal.c: do_jobctl_trap", None,
        "an auto-attached child of a PTRACE_SEIZEd caller gets JOBCTL_TRAP_STOP and first stops in PTRACE_EVENT_STOP with SIGTRAP (no group stop in progress); of a PTRACE_ATTACHed caller, it gets SIGSTOP queued and first stops delivering SIGSTOP",
        "include/linux/ptrace.h ptrace_init_task; kernel/signal.c do_jobctl_trap (signr = SIGTRAP when not group-stopped); ptrace(2) PTRACE_EVENT_STOP",
        &[from(kv(3, 4, 0))], None),
    rule!("P-EVENT-STOP", "kernel/ptrace.c / kernel/signal.c: ptrace_event -> ptrace_notify", None,
        "the caller stops in a PTRACE_EVENT stop: wait status 0x7f | (SIGTRAP | event << 8) << 8",
        "kernel/signal.c ptrace_notify(SIGTRAP | (event << 8), message); ptrace(2) \"status>>8 == (SIGTRAP | PTRACE_EVENT_foo << 8)\""),
    // --- waiting for a tracee ---
    rule!("P-WAIT-TRACEE", "kernel/exit.c: eligible_child / wait_task_stopped (ptrace = 1)", None,
        "a tracer waits for its tracee whatever its exit signal and without __WALL/__WCLONE (\"assume __WALL if the child is traced\"), and sees its ptrace stops without WUNTRACED/WSTOPPED",
        "kernel/exit.c eligible_child: if (ptrace || (wo->wo_flags & __WALL)) return 1; bf959931ddb8 (4.7)",
        &[from(kv(4, 7, 0))], None),
    rule!("P-WAIT-TRACEE-OLD", "kernel/exit.c: eligible_child", None,
        "before 4.7 a tracer's wait for a non-child tracee followed the exit-signal rule: __WCLONE for a clone child, none for a SIGCHLD child, or __WALL",
        "kernel/exit.c eligible_child before bf959931ddb8",
        &[span(kv(2, 6, 0), kv(4, 6, 255))], None),
    rule!("P-WAIT-TRACER-FIRST", "kernel/exit.c: wait_task_zombie (ptrace_reparented)", None,
        "the exit of a tracee whose real parent is not the tracer is reported to the tracer first; the task is then detached and stays a zombie for its real parent, which reaps it with the same status",
        "kernel/exit.c wait_task_zombie: if (ptrace_reparented(p)) ... __ptrace_unlink, do_notify_parent; EXIT_ZOMBIE kept for the real parent"),
    // --- ptrace_attach (PTRACE_ATTACH / PTRACE_SEIZE), in kernel order ---
    rule!("P-ATTACH-KTHREAD", "kernel/ptrace.c: ptrace_attach", Some(Errno::EPERM),
        "a kernel thread (PF_KTHREAD) cannot be traced, not even by root",
        "kernel/ptrace.c ptrace_attach: if (unlikely(task->flags & PF_KTHREAD)) return -EPERM",
        &[from(kv(2, 6, 27))],
        Some("the PF_KTHREAD test dates from about 2.6.27; earlier kernels refused a task without an mm in __ptrace_may_access, with EPERM too")),
    rule!("P-ATTACH-SELF", "kernel/ptrace.c: ptrace_attach", Some(Errno::EPERM),
        "a process cannot trace itself or a thread of its own group (same_thread_group)",
        "kernel/ptrace.c ptrace_attach: if (same_thread_group(task, current)) return -EPERM"),
    rule!("P-ATTACH-CREDS", "kernel/ptrace.c: __ptrace_may_access", Some(Errno::EPERM),
        "a tracer whose uid/gid do not match the target's real, effective and saved ids needs CAP_SYS_PTRACE in the target's user namespace",
        "kernel/ptrace.c __ptrace_may_access (PTRACE_MODE_ATTACH_REALCREDS): uid_eq/gid_eq checks, else ptrace_has_cap"),
    rule!("P-ATTACH-DUMPABLE", "kernel/ptrace.c: __ptrace_may_access", Some(Errno::EPERM),
        "a target whose mm is not dumpable (PR_SET_DUMPABLE 0, a setuid change) needs CAP_SYS_PTRACE in the mm's user namespace",
        "kernel/ptrace.c __ptrace_may_access: get_dumpable(mm) != SUID_DUMP_USER && !ptrace_has_cap(mm->user_ns, mode)"),
    rule!("P-ATTACH-YAMA", "security/yama/yama_lsm.c: yama_ptrace_access_check", Some(Errno::EPERM),
        "YAMA ptrace_scope 1: without CAP_SYS_PTRACE only descendants (or a declared PR_SET_PTRACER); 2: only with CAP_SYS_PTRACE; 3: no attach at all",
        "security/yama/yama_lsm.c; Documentation/admin-guide/LSM/Yama.rst",
        &[from(kv(3, 4, 0))], None),
    rule!("P-ATTACH-TRACED", "kernel/ptrace.c: ptrace_attach", Some(Errno::EPERM),
        "a task that already has a tracer cannot be attached again (task->ptrace set)",
        "kernel/ptrace.c ptrace_attach: if (task->ptrace) return -EPERM (after __ptrace_may_access)"),
    rule!("P-SEIZE", "kernel/ptrace.c: ptrace_attach (PTRACE_SEIZE)", None,
        "PTRACE_SEIZE (attach without stopping, PTRACE_EVENT_STOP) exists from 3.4; earlier kernels answer EIO",
        "ptrace(2) PTRACE_SEIZE (since Linux 3.4)",
        &[from(kv(3, 4, 0))], None),
    rule!("P-ATTACH-OK", "kernel/ptrace.c: ptrace_attach", None,
        "no check failed: the target is traced by the caller", "kernel/ptrace.c ptrace_attach"),
];

/// Look a ptrace rule up by id.
pub fn rule(id: &str) -> Option<&'static RuleInfo> {
    PTRACE_RULES.iter().find(|r| r.id == id)
}

fn applies(id: &str, k: KernelVersion) -> bool {
    rule(id).is_some_and(|r| r.versions.iter().any(|v| v.contains(k)))
}

/// include/uapi/linux/ptrace.h.
pub mod ev {
    pub const PTRACE_EVENT_FORK: u32 = 1;
    pub const PTRACE_EVENT_VFORK: u32 = 2;
    pub const PTRACE_EVENT_CLONE: u32 = 3;
    pub const PTRACE_EVENT_STOP: u32 = 128;
    pub const PTRACE_O_TRACEFORK: u32 = 0x2;
    pub const PTRACE_O_TRACEVFORK: u32 = 0x4;
    pub const PTRACE_O_TRACECLONE: u32 = 0x8;
}

pub const SIGTRAP: i32 = 5;
pub const SIGSTOP: i32 = 19;

/// kernel_clone: the PTRACE_EVENT_* reported to the caller's tracer when
/// it creates a child with `flags` and `exit_signal`, the tracer having set
/// `options` (None: no event is reported).
pub fn clone_event(flags: u64, exit_signal: i32, options: u32) -> Expect<Option<u32>> {
    use ev::*;
    if flags & CLONE_UNTRACED != 0 {
        return by("P-CLONE-EVENT", None);
    }
    let (event, option) = if flags & CLONE_VFORK != 0 {
        (PTRACE_EVENT_VFORK, PTRACE_O_TRACEVFORK)
    } else if exit_signal != SIGCHLD {
        (PTRACE_EVENT_CLONE, PTRACE_O_TRACECLONE)
    } else {
        (PTRACE_EVENT_FORK, PTRACE_O_TRACEFORK)
    };
    by("P-CLONE-EVENT", (options & option != 0).then_some(event))
}

/// The wait status of the caller's event stop for `event`.
pub fn event_stop_status(event: u32) -> Expect<i32> {
    by(
        "P-EVENT-STOP",
        0x7f | ((SIGTRAP | (event as i32) << 8) << 8),
    )
}

/// Who traces a new child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tracer {
    /// Not traced (TracerPid 0).
    None,
    /// The caller's tracer.
    CallersTracer,
    /// Someone else.
    Other,
}

/// copy_process/ptrace_init_task: is the child of a caller (traced or not)
/// traced, given the event kernel_clone chose?
pub fn child_tracer(caller_traced: bool, flags: u64, event: Option<u32>) -> Expect<Tracer> {
    let traced = caller_traced && (flags & CLONE_PTRACE != 0 || event.is_some());
    by(
        "P-CLONE-PTRACE",
        if traced {
            Tracer::CallersTracer
        } else {
            Tracer::None
        },
    )
}

/// How the caller's tracer attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachKind {
    Seize,
    Attach,
}

/// The wait status of an auto-attached (traced) child's first stop.
pub fn initial_stop_status(kind: AttachKind) -> Expect<i32> {
    let s = match kind {
        AttachKind::Seize => 0x7f | ((SIGTRAP | (ev::PTRACE_EVENT_STOP as i32) << 8) << 8),
        AttachKind::Attach => 0x7f | (SIGSTOP << 8),
    };
    by("P-INIT-STOP", s)
}

/// What the tracer's wait sees of a traced child: its first stop's status
/// when traced by the waiter, else nothing (the waiter has no such child:
/// ECHILD).
pub fn child_first_stop(tracer: Tracer, kind: AttachKind) -> Expect<Option<i32>> {
    match tracer {
        Tracer::CallersTracer => {
            let s = initial_stop_status(kind);
            by(s.rule, Some(s.value))
        }
        _ => by("P-CLONE-PTRACE", None),
    }
}

/// eligible_child for a tracer waiting for its tracee, which is not its
/// child, with exit signal `exit_signal` and wait `options`.
pub fn tracee_wait_eligible(k: KernelVersion, exit_signal: i32, options: u32) -> Expect<bool> {
    use crate::lifecycle::wopt::{WALL, WCLONE};
    if applies("P-WAIT-TRACEE", k) {
        return by("P-WAIT-TRACEE", true);
    }
    let v = options & WALL != 0 || ((exit_signal != SIGCHLD) == (options & WCLONE != 0));
    by("P-WAIT-TRACEE-OLD", v)
}

/// Who collects the exit (wait status `status`) of a tracee whose real
/// parent is not its tracer, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceeZombie {
    /// The real parent's `wait4(pid, __WALL | WNOHANG)` before the tracer
    /// waited: 0, nothing ready ("a zombie ptracee is only visible to its
    /// ptracer").
    pub parent_first: i32,
    /// What the tracer's wait reports.
    pub tracer: Option<i32>,
    /// What the real parent's wait reports afterwards.
    pub parent_after: i32,
}

pub fn tracee_zombie(status: i32) -> Expect<TraceeZombie> {
    by(
        "P-WAIT-TRACER-FIRST",
        TraceeZombie {
            parent_first: 0,
            tracer: Some(status),
            parent_after: status,
        },
    )
}

/// Does this kernel have PTRACE_SEIZE?
pub fn seize_available(k: KernelVersion) -> Expect<bool> {
    by("P-SEIZE", applies("P-SEIZE", k))
}

/// What the caller of PTRACE_ATTACH / PTRACE_SEIZE knows about the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachFacts {
    pub kthread: bool,
    pub same_thread_group: bool,
    /// The caller's uid and gid match the target's real, effective and
    /// saved ids.
    pub same_creds: bool,
    pub dumpable: bool,
    /// The caller has CAP_SYS_PTRACE (in the target's user namespace).
    pub cap_sys_ptrace: bool,
    /// /proc/sys/kernel/yama/ptrace_scope, None without YAMA.
    pub yama_scope: Option<u8>,
    /// The target is a descendant of the caller (YAMA scope 1).
    pub descendant: bool,
    pub already_traced: bool,
}

/// ptrace_attach: None when the attach succeeds, else the errno.
pub fn attach_result(f: &AttachFacts) -> Expect<Option<Errno>> {
    let eperm = Some(Errno::EPERM);
    if f.kthread {
        return by("P-ATTACH-KTHREAD", eperm);
    }
    if f.same_thread_group {
        return by("P-ATTACH-SELF", eperm);
    }
    if !f.same_creds && !f.cap_sys_ptrace {
        return by("P-ATTACH-CREDS", eperm);
    }
    if !f.dumpable && !f.cap_sys_ptrace {
        return by("P-ATTACH-DUMPABLE", eperm);
    }
    let yama_refuses = match f.yama_scope {
        Some(1) => !f.cap_sys_ptrace && !f.descendant,
        Some(2) => !f.cap_sys_ptrace,
        Some(s) if s >= 3 => true,
        _ => false,
    };
    if yama_refuses {
        return by("P-ATTACH-YAMA", eperm);
    }
    if f.already_traced {
        return by("P-ATTACH-TRACED", eperm);
    }
    by("P-ATTACH-OK", None)
}

#[cfg(test)]
mod tests {
    use super::ev::*;
    use super::*;
    use crate::flags::CLONE_VM;

    const ALL: u32 = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;

    #[test]
    fn rule_ids_are_unique_and_not_lifecycle_ids() {
        for (i, r) in PTRACE_RULES.iter().enumerate() {
            assert!(PTRACE_RULES[..i].iter().all(|o| o.id != r.id), "{}", r.id);
            assert!(r.id.starts_with("P-"));
        }
        assert!(crate::lifecycle::rule("P-CLONE-PTRACE").is_some());
    }

    #[test]
    fn event_choice_follows_vfork_then_exit_signal() {
        assert_eq!(clone_event(0, SIGCHLD, ALL).value, Some(PTRACE_EVENT_FORK));
        assert_eq!(
            clone_event(CLONE_VM | CLONE_VFORK, SIGCHLD, ALL).value,
            Some(PTRACE_EVENT_VFORK)
        );
        assert_eq!(clone_event(0, 0, ALL).value, Some(PTRACE_EVENT_CLONE));
        assert_eq!(clone_event(CLONE_UNTRACED, SIGCHLD, ALL).value, None);
        assert_eq!(clone_event(0, SIGCHLD, PTRACE_O_TRACECLONE).value, None);
        assert_eq!(event_stop_status(PTRACE_EVENT_FORK).value, 0x1057f);
    }

    #[test]
    fn clone_ptrace_needs_a_traced_caller_and_survives_untraced() {
        let f = CLONE_PTRACE | CLONE_UNTRACED;
        assert_eq!(child_tracer(true, f, None).value, Tracer::CallersTracer);
        assert_eq!(child_tracer(false, CLONE_PTRACE, None).value, Tracer::None);
        assert_eq!(child_tracer(true, 0, None).value, Tracer::None);
        assert_eq!(initial_stop_status(AttachKind::Seize).value, 0x80057f);
        assert_eq!(initial_stop_status(AttachKind::Attach).value, 0x137f);
    }

    #[test]
    fn attach_order() {
        let ok = AttachFacts {
            same_creds: true,
            dumpable: true,
            ..Default::default()
        };
        assert_eq!(attach_result(&ok).value, None);
        let k = AttachFacts {
            kthread: true,
            cap_sys_ptrace: true,
            ..ok
        };
        assert_eq!(attach_result(&k).rule, "P-ATTACH-KTHREAD");
        let nd = AttachFacts {
            dumpable: false,
            ..ok
        };
        assert_eq!(attach_result(&nd).rule, "P-ATTACH-DUMPABLE");
        let y = AttachFacts {
            yama_scope: Some(2),
            ..ok
        };
        assert_eq!(attach_result(&y).rule, "P-ATTACH-YAMA");
        let y1 = AttachFacts {
            yama_scope: Some(1),
            descendant: true,
            ..ok
        };
        assert_eq!(attach_result(&y1).value, None);
        let t = AttachFacts {
            already_traced: true,
            ..ok
        };
        assert_eq!(attach_result(&t).rule, "P-ATTACH-TRACED");
    }

    #[test]
    fn tracee_wait_is_versioned() {
        use crate::lifecycle::wopt::WCLONE;
        assert!(tracee_wait_eligible(kv(6, 18, 0), 0, 0).value);
        assert!(!tracee_wait_eligible(kv(4, 4, 0), 0, 0).value);
        assert!(tracee_wait_eligible(kv(4, 4, 0), 0, WCLONE).value);
    }
}
