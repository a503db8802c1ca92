//! Sessions, process groups, orphaned groups and the controlling terminal:
//! what a new task inherits (copy_process), setsid/setpgid/getsid/getpgid
//! (kernel/sys.c), the SIGHUP + SIGCONT of a newly orphaned group with a
//! stopped member (kernel/exit.c) and the SIGHUP a session leader's exit
//! sends its terminal's foreground group (drivers/tty/tty_jobctrl.c).
//!
//! Every expectation comes from one row of [`SESSION_RULES`], found by
//! [`crate::lifecycle::rule`] like the other lifecycle rules. Pure: no I/O.

use crate::errno::Errno;
use crate::lifecycle::Expect;
use crate::prediction::RuleInfo;
use crate::ruledef::by;

/// Sessions, groups, orphans, the controlling terminal.
pub static SESSION_RULES: &[RuleInfo] = &[
    rule!("L-SESS-INHERIT", "kernel/fork.c: copy_process (init_task_pid PIDTYPE_PGID, PIDTYPE_SID)", None,
        "a new process is attached to its creator's process group and session (fork, vfork, clone, clone3); a CLONE_THREAD task shares its group leader's",
        "kernel/fork.c copy_process: task_pgrp(current), task_session(current); credentials(7)"),
    rule!("L-SESS-SETSID", "kernel/sys.c: ksys_setsid", None,
        "setsid makes the caller the leader of a new session and of a new group: sid = pgid = pid, returned; the new session has no controlling terminal (proc_clear_tty)",
        "kernel/sys.c ksys_setsid; setsid(2)"),
    rule!("L-SESS-SETSID-EPERM", "kernel/sys.c: ksys_setsid", Some(Errno::EPERM),
        "the caller is already a session leader, or a process group with the caller's pid as its id exists (the caller is a group leader)",
        "kernel/sys.c ksys_setsid (signal->leader; pid_task(sid, PIDTYPE_PGID)); setsid(2) ERRORS"),
    rule!("L-SESS-GETSID", "kernel/sys.c: getsid / getpgid", None,
        "getsid/getpgid(0) name the caller's session/group; for another pid its session/group, also across sessions (Linux does not refuse that)",
        "kernel/sys.c do_getsid, do_getpgid; getsid(2) NOTES"),
    rule!("L-SESS-GET-ESRCH", "kernel/sys.c: getsid / getpgid (find_task_by_vpid)", Some(Errno::ESRCH),
        "no process with that pid (a reaped child)", "kernel/sys.c do_getsid, do_getpgid; getsid(2), getpgid(2)"),
    rule!("L-PGRP-EINVAL", "kernel/sys.c: sys_setpgid", Some(Errno::EINVAL),
        "a negative pgid, checked before the pid is looked up", "kernel/sys.c sys_setpgid (pgid < 0); setpgid(2)"),
    rule!("L-PGRP-ESRCH", "kernel/sys.c: sys_setpgid", Some(Errno::ESRCH),
        "pid is neither the caller nor one of its children (a grandchild, a reaped pid)",
        "kernel/sys.c sys_setpgid (find_task_by_vpid; p != group_leader); setpgid(2)"),
    rule!("L-PGRP-EPERM-CHILD-SESSION", "kernel/sys.c: sys_setpgid", Some(Errno::EPERM),
        "the child is in another session than the caller (it called setsid)",
        "kernel/sys.c sys_setpgid (task_session(p) != task_session(group_leader)); setpgid(2)"),
    rule!("L-PGRP-EACCES", "kernel/sys.c: sys_setpgid", Some(Errno::EACCES),
        "the child has performed an execve (PF_FORKNOEXEC is clear)",
        "kernel/sys.c sys_setpgid (!(p->flags & PF_FORKNOEXEC)); setpgid(2)"),
    rule!("L-PGRP-EPERM-LEADER", "kernel/sys.c: sys_setpgid", Some(Errno::EPERM),
        "the process to move is a session leader", "kernel/sys.c sys_setpgid (p->signal->leader); setpgid(2)"),
    rule!("L-PGRP-EPERM-GROUP", "kernel/sys.c: sys_setpgid", Some(Errno::EPERM),
        "pgid != pid and no process group with that id exists in the caller's session (none at all, or one of another session)",
        "kernel/sys.c sys_setpgid (pid_task(pgrp, PIDTYPE_PGID); task_session(g) != task_session(group_leader)); setpgid(2)"),
    rule!("L-PGRP-OK", "kernel/sys.c: sys_setpgid (change_pid PIDTYPE_PGID)", None,
        "setpgid(pid, 0) and setpgid(pid, pid) make pid a group leader; setpgid(pid, g) moves it into group g of the same session",
        "kernel/sys.c sys_setpgid; setpgid(2)"),
    rule!("L-ORPHAN-HUP-CONT", "kernel/exit.c: exit_notify -> forget_original_parent -> reparent_leader -> kill_orphaned_pgrp", None,
        "when a process group becomes orphaned (its last member's parent in another group of the same session exits) and a member is stopped, every member gets SIGHUP, then SIGCONT",
        "kernel/exit.c kill_orphaned_pgrp, will_become_orphaned_pgrp, has_stopped_jobs; POSIX.1-2017 XSH 2.4.3 / _exit(), 3.2.2.2"),
    rule!("L-ORPHAN-NOT-STOPPED", "kernel/exit.c: kill_orphaned_pgrp (has_stopped_jobs)", None,
        "a group that becomes orphaned with no stopped member gets no signal",
        "kernel/exit.c kill_orphaned_pgrp: the signals are sent only if has_stopped_jobs(pgrp)"),
    rule!("L-CTTY-SET", "drivers/tty/tty_jobctrl.c: tiocsctty / __proc_set_tty", None,
        "TIOCSCTTY by a session leader without a controlling terminal (on a terminal of no session) makes it the session's terminal, its foreground group the leader's group; processes the leader forks afterwards inherit it",
        "drivers/tty/tty_jobctrl.c tiocsctty, __proc_set_tty (tty->pgrp = task_pgrp(current)); kernel/fork.c copy_signal (tty_kref_get); tty_ioctl(4)"),
    rule!("L-CTTY-EPERM", "drivers/tty/tty_jobctrl.c: tiocsctty", Some(Errno::EPERM),
        "TIOCSCTTY by a process that is not a session leader", "drivers/tty/tty_jobctrl.c tiocsctty (!current->signal->leader); tty_ioctl(4)"),
    rule!("L-CTTY-HUP", "drivers/tty/tty_jobctrl.c: disassociate_ctty(1) from do_exit", None,
        "when a session leader with a pseudo-terminal as controlling terminal exits, the terminal's foreground group gets SIGHUP (no SIGCONT on exit); other groups of the session get nothing from it",
        "kernel/exit.c do_exit (group_dead && signal->leader); drivers/tty/tty_jobctrl.c disassociate_ctty (TTY_DRIVER_TYPE_PTY: kill_pgrp(SIGHUP), SIGCONT only if !on_exit); credentials(7)"),
];

/// The ids a process reads of itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Ids {
    pub pgid: i32,
    pub sid: i32,
}

/// How a task was created (for [`child_ids`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Creation {
    Fork,
    Vfork,
    Clone,
    Clone3,
    Thread,
}

/// The pgid and sid of a new task created by a caller with `parent`'s.
pub fn child_ids(_how: Creation, parent: Ids) -> Expect<Ids> {
    by("L-SESS-INHERIT", parent)
}

/// What the caller of setsid knows about itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetsidFacts {
    pub pid: i32,
    pub session_leader: bool,
    /// A process group whose id is the caller's pid exists (the caller, or
    /// a process it moved there, leads it).
    pub group_with_my_pid: bool,
}

/// setsid's return: the new sid, or the errno.
pub fn setsid_result(f: SetsidFacts) -> Expect<Result<i32, Errno>> {
    if f.session_leader || f.group_with_my_pid {
        by("L-SESS-SETSID-EPERM", Err(Errno::EPERM))
    } else {
        by("L-SESS-SETSID", Ok(f.pid))
    }
}

/// The ids after a successful setsid by `pid`; the controlling terminal
/// (stat's tty_nr) is 0.
pub fn after_setsid(pid: i32) -> Expect<(Ids, i32)> {
    by(
        "L-SESS-SETSID",
        (
            Ids {
                pgid: pid,
                sid: pid,
            },
            0,
        ),
    )
}

/// getsid/getpgid of an existing process: its own value (`actual`, read
/// by the model's caller from /proc or the process itself), or ESRCH.
pub fn get_result(exists: bool, actual: i32) -> Expect<Result<i32, Errno>> {
    if exists {
        by("L-SESS-GETSID", Ok(actual))
    } else {
        by("L-SESS-GET-ESRCH", Err(Errno::ESRCH))
    }
}

/// Whom `setpgid(pid, pgid)` names, as sys_setpgid looks at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The caller itself (pid 0 or its own pid).
    SelfProc,
    /// A child of the caller (of any of its threads).
    Child {
        same_session: bool,
        execed: bool,
        session_leader: bool,
    },
    /// Anyone else (a grandchild, an unrelated process, no process).
    Other,
}

/// The group `setpgid` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupArg {
    Negative,
    /// 0 or the target's own pid: a new group led by the target.
    Own,
    /// An existing group in the caller's session.
    SameSession,
    /// An existing group of another session.
    OtherSession,
    /// No group has this id.
    Missing,
}

/// `setpgid(pid, pgid)` for a caller who is not itself a session leader
/// unless `caller_leader` (then moving itself is EPERM): the errno, in
/// sys_setpgid's order, or None.
pub fn setpgid_result(
    target: Target,
    group: GroupArg,
    caller_leader: bool,
) -> Expect<Option<Errno>> {
    if group == GroupArg::Negative {
        return by("L-PGRP-EINVAL", Some(Errno::EINVAL));
    }
    let leader = match target {
        Target::Other => return by("L-PGRP-ESRCH", Some(Errno::ESRCH)),
        Target::Child {
            same_session,
            execed,
            session_leader,
        } => {
            if !same_session {
                return by("L-PGRP-EPERM-CHILD-SESSION", Some(Errno::EPERM));
            }
            if execed {
                return by("L-PGRP-EACCES", Some(Errno::EACCES));
            }
            session_leader
        }
        Target::SelfProc => caller_leader,
    };
    if leader {
        return by("L-PGRP-EPERM-LEADER", Some(Errno::EPERM));
    }
    match group {
        GroupArg::OtherSession | GroupArg::Missing => by("L-PGRP-EPERM-GROUP", Some(Errno::EPERM)),
        _ => by("L-PGRP-OK", None),
    }
}

/// The ids of process `pid` (in session `sid`) after a successful
/// `setpgid(pid, pgid)`: pgid 0 means pid.
pub fn ids_after_setpgid(pid: i32, pgid: i32, sid: i32) -> Expect<Ids> {
    by(
        "L-PGRP-OK",
        Ids {
            pgid: if pgid == 0 { pid } else { pgid },
            sid,
        },
    )
}

/// Signals a member of a process group sees when the group's last link to
/// its session outside the group exits. `stopped_member`: some member is
/// stopped at that moment. The signals in the order sent.
pub fn orphaned_group_signals(stopped_member: bool) -> Expect<Vec<&'static str>> {
    if stopped_member {
        by("L-ORPHAN-HUP-CONT", vec!["SIGHUP", "SIGCONT"])
    } else {
        by("L-ORPHAN-NOT-STOPPED", vec![])
    }
}

/// TIOCSCTTY(0) on a terminal that is no session's controlling terminal:
/// None (it becomes the caller's) for a session leader without one, EPERM
/// for anyone else.
pub fn set_ctty_result(session_leader: bool) -> Expect<Option<Errno>> {
    if session_leader {
        by("L-CTTY-SET", None)
    } else {
        by("L-CTTY-EPERM", Some(Errno::EPERM))
    }
}

/// The terminal's session and foreground group right after a session
/// leader `leader` (whose pgid is its pid) acquired it.
pub fn ctty_after_set(leader: i32) -> Expect<Ids> {
    by(
        "L-CTTY-SET",
        Ids {
            pgid: leader,
            sid: leader,
        },
    )
}

/// Whether a child the leader forked after acquiring the terminal has a
/// controlling terminal (stat's tty_nr != 0).
pub fn child_has_ctty() -> Expect<bool> {
    by("L-CTTY-SET", true)
}

/// Signals a process of the session gets when the session leader, whose
/// controlling terminal is a pseudo-terminal, exits. `foreground`: the
/// process is in the terminal's foreground group.
pub fn leader_exit_signals(foreground: bool) -> Expect<Vec<&'static str>> {
    by(
        "L-CTTY-HUP",
        if foreground { vec!["SIGHUP"] } else { vec![] },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::KernelVersion;

    #[test]
    fn rules_resolve_through_the_lifecycle_lookup() {
        for r in SESSION_RULES {
            assert_eq!(crate::lifecycle::rule(r.id).map(|x| x.id), Some(r.id));
            assert!(!r.function.is_empty() && !r.source.is_empty());
        }
        assert!(crate::lifecycle::applies(
            "L-ORPHAN-HUP-CONT",
            KernelVersion::new(6, 18, 0)
        ));
    }

    #[test]
    fn setpgid_order() {
        let child = |s, e, l| Target::Child {
            same_session: s,
            execed: e,
            session_leader: l,
        };
        assert_eq!(
            setpgid_result(Target::Other, GroupArg::Negative, false).value,
            Some(Errno::EINVAL)
        );
        assert_eq!(
            setpgid_result(Target::Other, GroupArg::Own, false).value,
            Some(Errno::ESRCH)
        );
        assert_eq!(
            setpgid_result(child(false, true, true), GroupArg::Own, false).rule,
            "L-PGRP-EPERM-CHILD-SESSION"
        );
        assert_eq!(
            setpgid_result(child(true, true, false), GroupArg::Own, false).value,
            Some(Errno::EACCES)
        );
        assert_eq!(
            setpgid_result(child(true, false, false), GroupArg::Own, false).value,
            None
        );
        assert_eq!(
            setpgid_result(Target::SelfProc, GroupArg::OtherSession, false).rule,
            "L-PGRP-EPERM-GROUP"
        );
        assert_eq!(
            setpgid_result(Target::SelfProc, GroupArg::Own, true).rule,
            "L-PGRP-EPERM-LEADER"
        );
        assert_eq!(
            setpgid_result(Target::SelfProc, GroupArg::SameSession, false).value,
            None
        );
    }

    #[test]
    fn setsid_and_orphans() {
        let f = SetsidFacts {
            pid: 9,
            ..Default::default()
        };
        assert_eq!(setsid_result(f).value, Ok(9));
        let g = SetsidFacts {
            group_with_my_pid: true,
            ..f
        };
        assert_eq!(setsid_result(g).value, Err(Errno::EPERM));
        assert_eq!(
            orphaned_group_signals(true).value,
            vec!["SIGHUP", "SIGCONT"]
        );
        assert!(orphaned_group_signals(false).value.is_empty());
        assert_eq!(leader_exit_signals(true).value, vec!["SIGHUP"]);
        assert!(leader_exit_signals(false).value.is_empty());
    }
}
