//! pidfd scenarios: poll, waitid(P_PIDFD), pidfd_send_signal, pidfd_open
//! errors, PIDFD_NONBLOCK.

use crate::case::{ename, outcome, Abort, Check, Ctx, Facts, STEP};
use crate::util::{
    self, fork_child, observe_waitid, pipe, proc_view, read_byte, uid, until_zombie,
};
use forklore_model::lifecycle::wopt::{WEXITED, WNOHANG};
use forklore_model::lifecycle::Expect;
use forklore_model::lifecycle::{
    self as lm, ChildEvent, PidTarget, WaitTarget, PIDFD_NONBLOCK, PIDFD_THREAD, P_PIDFD,
};
use forklore_model::Errno;
use forklore_sys::{self as sys, Forked, Script, Step};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

const SIGTERM: i32 = 15;

/// Is `fd` readable right now (poll with a zero timeout)?
fn poll_in(fd: &OwnedFd) -> bool {
    util::readable(fd, Duration::ZERO)
}

fn outcome_of<T>(r: Result<T, sys::Errno>) -> String {
    outcome(r.err().map(|e| Errno(e.raw())))
}

/// An errno expectation as a name or `"ok"`, like [`outcome_of`].
fn named(e: Expect<Option<Errno>>) -> Expect<String> {
    Expect {
        value: outcome(e.value),
        rule: e.rule,
    }
}

/// clone3(CLONE_PIDFD) a child that runs `f` and exits with its value.
/// `Ok(None)` when the parent got no pidfd back (a finding, not a setup
/// failure).
fn fork_pidfd(f: impl FnOnce() -> i32) -> Result<(i32, Option<OwnedFd>), Abort> {
    match sys::fork_with_pidfd(0, 17) {
        Err(sys::Errno::ENOSYS) => Err(Abort::Skip("clone3 is not available (ENOSYS)".into())),
        Err(e) => Err(Abort::Broken(format!("clone3: {}", ename(e)))),
        Ok((Forked::Child, _)) => sys::exit_group(f()),
        Ok((Forked::Parent { child: pid }, fd)) => Ok((pid, fd)),
    }
}

/// A child that blocks until a byte arrives on the returned write end (or
/// 2 * STEP passes), then exits with `code`.
fn held_child(code: i32) -> Result<(i32, Option<OwnedFd>, OwnedFd), Abort> {
    let (r, w) = pipe()?;
    let (pid, fd) = fork_pidfd(move || {
        let _ = read_byte(&r, STEP * 2);
        code
    })?;
    Ok((pid, fd, w))
}

pub fn poll_and_waitid(ctx: &Ctx) -> Result<Check, Abort> {
    let k = ctx.kernel;
    let mut f = Facts::new();
    let (pid, fd3, release) = held_child(7)?;
    f.add("clone3_returns_pidfd", lm::clone3_pidfd(k), fd3.is_some());
    let Some(fd3) = fd3 else { return f.done() };
    let fdo = util::pidfd_needed(pid)?;
    let live = lm::pidfd_readable(false, true, false);
    f.add("live/clone3_pidfd_readable", live, poll_in(&fd3));
    f.add("live/pidfd_open_readable", live, poll_in(&fdo));
    let o = WEXITED | WNOHANG;
    f.add(
        "live/waitid_p_pidfd_wnohang",
        lm::waitid_pidfd(k, WaitTarget::Running, pid, uid(), o, false),
        observe_waitid(sys::waitid(P_PIDFD, fd3.as_raw_fd(), o)),
    );
    util::write_all(&release, b"x")?;
    // Bounded: the pidfd is what tells us the child exited.
    let became = util::readable(&fd3, STEP);
    let dead = lm::pidfd_readable(true, true, false);
    f.add("exited/clone3_pidfd_readable", dead, became);
    f.add("exited/pidfd_open_readable", dead, poll_in(&fdo));
    f.add(
        "exited/still_a_zombie",
        lm::proc_after_death(false),
        proc_view(pid),
    );
    f.add(
        "waitid_p_pidfd",
        lm::waitid_pidfd(
            k,
            WaitTarget::Pending(ChildEvent::Exited(7)),
            pid,
            uid(),
            WEXITED,
            false,
        ),
        observe_waitid(sys::waitid(P_PIDFD, fd3.as_raw_fd(), WEXITED)),
    );
    f.add("reaped/proc", lm::proc_after_death(true), proc_view(pid));
    f.add(
        "reaped/pidfd_readable",
        lm::pidfd_readable(true, true, true),
        poll_in(&fdo),
    );
    f.add(
        "reaped/waitid_p_pidfd",
        lm::waitid_pidfd(k, WaitTarget::Reaped, pid, uid(), WEXITED | WNOHANG, false),
        observe_waitid(sys::waitid(P_PIDFD, fdo.as_raw_fd(), WEXITED | WNOHANG)),
    );
    f.done()
}

pub fn send_signal(ctx: &Ctx) -> Result<Check, Abort> {
    let k = ctx.kernel;
    let mut f = Facts::new();
    let (pid, fd, _hold) = held_child(0)?;
    let fd = match fd {
        Some(fd) => fd,
        None => util::pidfd_needed(pid)?,
    };
    f.add(
        "live/send_sigterm",
        named(lm::pidfd_signal_result(false)),
        outcome_of(sys::pidfd_send_signal(fd.as_raw_fd(), SIGTERM)),
    );
    if !util::readable(&fd, STEP) {
        return Err(Abort::Broken(format!("child {pid} did not die of SIGTERM")));
    }
    f.add(
        "zombie/send_sigterm",
        named(lm::pidfd_signal_result(false)),
        outcome_of(sys::pidfd_send_signal(fd.as_raw_fd(), SIGTERM)),
    );
    f.add(
        "waitid_p_pidfd",
        lm::waitid_pidfd(
            k,
            WaitTarget::Pending(ChildEvent::Killed {
                sig: SIGTERM,
                core: false,
            }),
            pid,
            uid(),
            WEXITED,
            false,
        ),
        observe_waitid(sys::waitid(P_PIDFD, fd.as_raw_fd(), WEXITED)),
    );
    f.add(
        "reaped/send_sigterm",
        named(lm::pidfd_signal_result(true)),
        outcome_of(sys::pidfd_send_signal(fd.as_raw_fd(), SIGTERM)),
    );
    f.done()
}

pub fn open_errors(ctx: &Ctx) -> Result<Check, Abort> {
    let k = ctx.kernel;
    let mut f = Facts::new();
    // A pid nobody uses: a child of ours, reaped (pids are allocated
    // cyclically, so it is not reused within this scenario).
    let gone = fork_child(|| 0)?;
    until_zombie(gone)?;
    sys::wait4(gone, 0).map_err(|e| Abort::Broken(format!("wait4: {}", ename(e))))?;
    f.add(
        "reaped_pid",
        named(lm::pidfd_open_result(k, PidTarget::NoSuchPid, 0)),
        outcome_of(sys::pidfd_open(gone, 0)),
    );
    let me = std::process::id() as i32;
    f.add(
        "self",
        named(lm::pidfd_open_result(k, PidTarget::Leader, 0)),
        outcome_of(sys::pidfd_open(me, 0)),
    );
    f.add(
        "self_unknown_flag",
        named(lm::pidfd_open_result(k, PidTarget::Leader, 1)),
        outcome_of(sys::pidfd_open(me, 1)),
    );
    f.add(
        "self_pidfd_thread",
        named(lm::pidfd_open_result(k, PidTarget::Leader, PIDFD_THREAD)),
        outcome_of(sys::pidfd_open(me, PIDFD_THREAD)),
    );
    // A second thread (raw clone; no fork happens after it, and it is joined
    // before the case returns).
    let (hold_r, hold_w) = pipe()?;
    let t = sys::spawn_thread(Script::new(&[
        Step::Read {
            fd: hold_r.as_raw_fd(),
        },
        Step::Exit { code: 0 },
    ]))
    .map_err(|e| Abort::Broken(format!("thread: {}", ename(e))))?;
    let tid = t.tid();
    f.add(
        "non_leader_thread",
        named(lm::pidfd_open_result(k, PidTarget::NonLeaderThread, 0)),
        outcome_of(sys::pidfd_open(tid, 0)),
    );
    f.add(
        "non_leader_thread_pidfd_thread",
        named(lm::pidfd_open_result(
            k,
            PidTarget::NonLeaderThread,
            PIDFD_THREAD,
        )),
        outcome_of(sys::pidfd_open(tid, PIDFD_THREAD)),
    );
    util::write_all(&hold_w, b"x")?;
    if !t.join(STEP) {
        return Err(Abort::Broken("the thread did not exit".into()));
    }
    f.done()
}

pub fn nonblock(ctx: &Ctx) -> Result<Check, Abort> {
    let k = ctx.kernel;
    let mut f = Facts::new();
    let (r, release) = pipe()?;
    let pid = fork_child(move || {
        let _ = read_byte(&r, STEP * 2);
        4
    })?;
    let opened = sys::pidfd_open(pid, PIDFD_NONBLOCK);
    f.add(
        "open_pidfd_nonblock",
        named(lm::pidfd_open_result(k, PidTarget::Leader, PIDFD_NONBLOCK)),
        outcome_of(opened.as_ref().map(|_| ()).map_err(|e| *e)),
    );
    let Ok(fd) = opened else { return f.done() };
    let me = uid();
    f.add(
        "live/waitid_p_pidfd",
        lm::waitid_pidfd(k, WaitTarget::Running, pid, me, WEXITED, true),
        observe_waitid(sys::waitid(P_PIDFD, fd.as_raw_fd(), WEXITED)),
    );
    f.add(
        "live/waitid_p_pidfd_wnohang",
        lm::waitid_pidfd(k, WaitTarget::Running, pid, me, WEXITED | WNOHANG, true),
        observe_waitid(sys::waitid(P_PIDFD, fd.as_raw_fd(), WEXITED | WNOHANG)),
    );
    util::write_all(&release, b"x")?;
    if !util::readable(&fd, STEP) {
        return Err(Abort::Broken(format!("child {pid} did not exit")));
    }
    f.add(
        "exited/waitid_p_pidfd",
        lm::waitid_pidfd(
            k,
            WaitTarget::Pending(ChildEvent::Exited(4)),
            pid,
            me,
            WEXITED,
            true,
        ),
        observe_waitid(sys::waitid(P_PIDFD, fd.as_raw_fd(), WEXITED)),
    );
    f.done()
}
