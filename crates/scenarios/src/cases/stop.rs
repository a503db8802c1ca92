//! Stopped / continued children and waitid's siginfo (model-spec §3.6):
//! WUNTRACED / WSTOPPED, WCONTINUED, WNOWAIT, si_code / si_status / si_uid.

use crate::case::{ename, Abort, Check, Ctx, Facts, STEP};
use crate::util::{
    self, fork_child, observe_wait4, observe_waitid, pipe, proc_view, read_byte, uid, until_zombie,
};
use forklore_model::lifecycle::wopt::{WEXITED, WNOHANG, WNOWAIT};
use forklore_model::lifecycle::Expect;
use forklore_model::lifecycle::{self as lm, wopt, ChildEvent, WaitResult, WaitidInfo, P_PID};
use forklore_model::Errno;
use forklore_sys as sys;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::os::fd::OwnedFd;

const SIGSTOP: i32 = 19;

/// What a `wait4(pid, options | WNOHANG)` should return when `ev` is the
/// only pending event (`consumed`: an earlier wait without WNOWAIT took it).
fn expect_wait4(pid: i32, ev: ChildEvent, options: u32, consumed: bool) -> Expect<WaitResult> {
    let r = lm::wait_reports(ev, options | WEXITED);
    let v = if r.value && !consumed {
        WaitResult::Reaped {
            pid,
            status: lm::wait4_status(ev).value,
        }
    } else {
        WaitResult::NoneReady
    };
    Expect {
        value: v,
        rule: r.rule,
    }
}

/// What a `waitid(P_PID, pid, options | WNOHANG)` should report.
fn expect_waitid(
    pid: i32,
    uid: u32,
    ev: ChildEvent,
    options: u32,
    consumed: bool,
) -> Expect<Result<Option<WaitidInfo>, Errno>> {
    let r = lm::wait_reports(ev, options);
    let v = if r.value && !consumed {
        Some(lm::waitid_info(ev, pid, uid).value)
    } else {
        None
    };
    Expect {
        value: Ok(v),
        rule: r.rule,
    }
}

/// A child blocked reading a pipe (exits 0 when released or after 2 * STEP).
fn held_child() -> Result<(i32, OwnedFd), Abort> {
    let (r, w) = pipe()?;
    let pid = fork_child(move || {
        let _ = read_byte(&r, STEP * 2);
        0
    })?;
    Ok((pid, w))
}

/// SIGSTOP `pid` and block until the stop is reportable: a bounded /proc
/// poll for state T, then a WNOWAIT waitid (changes nothing).
fn stop(pid: i32) -> Result<(), Abort> {
    kill(Pid::from_raw(pid), Signal::SIGSTOP)?;
    if !util::spin_until(STEP, || util::proc_state(pid) == Some('T')) {
        return Err(Abort::Broken(format!("child {pid} did not stop")));
    }
    sys::waitid(P_PID, pid, wopt::WSTOPPED | WNOWAIT)
        .map_err(|e| Abort::Broken(format!("waitid WSTOPPED|WNOWAIT: {}", ename(e))))?;
    Ok(())
}

/// SIGCONT `pid`; block (WNOWAIT) until the continue is reportable.
fn cont(pid: i32) -> Result<(), Abort> {
    kill(Pid::from_raw(pid), Signal::SIGCONT)?;
    sys::waitid(P_PID, pid, wopt::WCONTINUED | WNOWAIT)
        .map_err(|e| Abort::Broken(format!("waitid WCONTINUED|WNOWAIT: {}", ename(e))))?;
    Ok(())
}

fn release_and_reap(pid: i32, w: &OwnedFd, f: &mut Facts) -> Result<(), Abort> {
    util::write_all(w, b"x")?;
    until_zombie(pid)?;
    f.add(
        "exited/wait4",
        expect_wait4(pid, ChildEvent::Exited(0), 0, false),
        observe_wait4(sys::wait4(pid, WNOHANG)),
    );
    Ok(())
}

pub fn wuntraced(_: &Ctx) -> Result<Check, Abort> {
    use wopt::{WCONTINUED, WUNTRACED};
    let mut f = Facts::new();
    let (pid, w) = held_child()?;
    stop(pid)?;
    let st = ChildEvent::Stopped(SIGSTOP);
    let w4 = |o: u32| observe_wait4(sys::wait4(pid, o | WNOHANG));
    f.add("stopped/plain", expect_wait4(pid, st, 0, false), w4(0));
    f.add(
        "stopped/wcontinued",
        expect_wait4(pid, st, WCONTINUED, false),
        w4(WCONTINUED),
    );
    f.add(
        "stopped/wuntraced",
        expect_wait4(pid, st, WUNTRACED, false),
        w4(WUNTRACED),
    );
    let again = !lm::reported_again(st, WUNTRACED).value;
    f.add(
        "stopped/wuntraced_again",
        expect_wait4(pid, st, WUNTRACED, again),
        w4(WUNTRACED),
    );
    cont(pid)?;
    let ct = ChildEvent::Continued;
    f.add("continued/plain", expect_wait4(pid, ct, 0, false), w4(0));
    f.add(
        "continued/wuntraced",
        expect_wait4(pid, ct, WUNTRACED, false),
        w4(WUNTRACED),
    );
    f.add(
        "continued/wcontinued",
        expect_wait4(pid, ct, WCONTINUED, false),
        w4(WCONTINUED),
    );
    let again = !lm::reported_again(ct, WCONTINUED).value;
    f.add(
        "continued/wcontinued_again",
        expect_wait4(pid, ct, WCONTINUED, again),
        w4(WCONTINUED),
    );
    release_and_reap(pid, &w, &mut f)?;
    f.done()
}

pub fn waitid_stopped(_: &Ctx) -> Result<Check, Abort> {
    use wopt::{WCONTINUED, WSTOPPED};
    let mut f = Facts::new();
    let (pid, w) = held_child()?;
    let me = uid();
    stop(pid)?;
    let st = ChildEvent::Stopped(SIGSTOP);
    let wi = |o: u32| observe_waitid(sys::waitid(P_PID, pid, o | WNOHANG));
    f.add(
        "stopped/wexited",
        expect_waitid(pid, me, st, WEXITED, false),
        wi(WEXITED),
    );
    f.add(
        "stopped/wstopped_wnowait",
        expect_waitid(pid, me, st, WSTOPPED | WNOWAIT, false),
        wi(WSTOPPED | WNOWAIT),
    );
    let again = !lm::reported_again(st, WSTOPPED | WNOWAIT).value;
    f.add(
        "stopped/wstopped",
        expect_waitid(pid, me, st, WSTOPPED, again),
        wi(WSTOPPED),
    );
    let again = !lm::reported_again(st, WSTOPPED).value;
    f.add(
        "stopped/wstopped_again",
        expect_waitid(pid, me, st, WSTOPPED, again),
        wi(WSTOPPED),
    );
    cont(pid)?;
    let ct = ChildEvent::Continued;
    f.add(
        "continued/wexited_wstopped",
        expect_waitid(pid, me, ct, WEXITED | WSTOPPED, false),
        wi(WEXITED | WSTOPPED),
    );
    f.add(
        "continued/wcontinued",
        expect_waitid(pid, me, ct, WCONTINUED, false),
        wi(WCONTINUED),
    );
    let again = !lm::reported_again(ct, WCONTINUED).value;
    f.add(
        "continued/wcontinued_again",
        expect_waitid(pid, me, ct, WCONTINUED, again),
        wi(WCONTINUED),
    );
    release_and_reap(pid, &w, &mut f)?;
    f.done()
}

pub fn waitid_exited(_: &Ctx) -> Result<Check, Abort> {
    let mut f = Facts::new();
    // As root the child takes another real uid first, so si_uid is the
    // child's, not the waiter's.
    let child_uid = if util::euid() == 0 { 4242 } else { uid() };
    let pid = fork_child(move || {
        if util::euid() == 0 {
            let u = nix::unistd::Uid::from_raw(child_uid);
            if nix::unistd::setresuid(u, u, u).is_err() {
                return 99;
            }
        }
        300
    })?;
    until_zombie(pid)?;
    let ev = ChildEvent::Exited(300);
    let wi = |o: u32| observe_waitid(sys::waitid(P_PID, pid, o | WNOHANG));
    f.add(
        "wnowait",
        expect_waitid(pid, child_uid, ev, WEXITED | WNOWAIT, false),
        wi(WEXITED | WNOWAIT),
    );
    f.add(
        "wnowait/still_a_zombie",
        lm::reported_again(ev, WEXITED | WNOWAIT),
        proc_view(pid) == lm::ProcView::State('Z'),
    );
    let again = !lm::reported_again(ev, WEXITED | WNOWAIT).value;
    f.add(
        "reap",
        expect_waitid(pid, child_uid, ev, WEXITED, again),
        wi(WEXITED),
    );
    f.add("reaped/proc", lm::proc_after_death(true), proc_view(pid));
    // A signal death: CLD_KILLED with the signal number.
    let pid = fork_child(|| {
        let _ = kill(nix::unistd::getpid(), Signal::SIGKILL);
        0
    })?;
    until_zombie(pid)?;
    let ev = ChildEvent::Killed {
        sig: 9,
        core: false,
    };
    f.add(
        "killed",
        expect_waitid(pid, uid(), ev, WEXITED, false),
        wi_for(pid, WEXITED),
    );
    f.done()
}

fn wi_for(pid: i32, o: u32) -> Result<Option<WaitidInfo>, Errno> {
    observe_waitid(sys::waitid(P_PID, pid, o | WNOHANG))
}
