//! Orphaned process groups (kernel/exit.c exit_notify -> kill_orphaned_pgrp)
//! and a session leader's exit with a pseudo-terminal as its controlling
//! terminal (drivers/tty/tty_jobctrl.c disassociate_ctty).
//!
//! Shape: the case process P forks A, which calls setsid (a new session,
//! so nothing outside the case can keep a group of it from becoming
//! orphaned). A's children are the group members watched; they catch
//! SIGHUP and SIGCONT with flag handlers and report what they caught once
//! P lets them (a byte on a pipe), after A has exited and been reaped.
//! Every process created is killed by pid and reaped at the end (P makes
//! itself a child subreaper so the orphans come back to it).

use super::session::{hold, res0};
use crate::case::{Abort, Check, Ctx, Facts, STEP};
use crate::util::{self, fork_child, pipe, read_line, write_all};
use forklore_model::lifecycle::Expect;
use forklore_model::session as sm;
use forklore_sys as sys;
use forklore_sys::abi::{SIGCONT, SIGHUP};
use serde_json::{json, Value};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::Ordering;

/// In a member: install the flag handlers (no SA_RESTART).
fn catch_hup_cont() -> bool {
    sys::install_flag_handler(SIGHUP).is_ok() && sys::install_flag_handler(SIGCONT).is_ok()
}

/// In a member: the signals caught so far, in signal-number order (the
/// order a process with both pending takes them).
fn caught() -> Vec<&'static str> {
    let mut v = Vec::new();
    for (sig, name) in [(SIGHUP, "SIGHUP"), (SIGCONT, "SIGCONT")] {
        // install_flag_handler hands back the same static flag again.
        if sys::install_flag_handler(sig).is_ok_and(|f| f.load(Ordering::SeqCst)) {
            v.push(name);
        }
    }
    v
}

/// In a member: block until P writes a byte or closes the pipe (EINTR from
/// a caught signal is retried).
fn wait_go(fd: &OwnedFd) {
    let deadline = std::time::Instant::now() + STEP * 3;
    while std::time::Instant::now() < deadline {
        let mut b = [0u8; 1];
        match nix::unistd::read(fd, &mut b) {
            Err(nix::errno::Errno::EINTR) => continue,
            _ => return,
        }
    }
}

/// A member's report line.
fn report(w: &OwnedFd, name: &str) {
    let v = json!({ "name": name, "pid": std::process::id(), "caught": caught() });
    let _ = write_all(w, format!("{v}\n").as_bytes());
}

/// Read `n` JSON lines (each with "name") within the deadline; what came.
fn read_reports(r: &OwnedFd, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..n {
        match read_line(r, STEP) {
            Ok(l) => out.push(serde_json::from_str(&l).unwrap_or(Value::String(l))),
            Err(_) => break,
        }
    }
    out
}

fn find<'a>(v: &'a [Value], name: &str) -> Option<&'a Value> {
    v.iter().find(|x| x["name"] == name)
}

/// What a member caught, or a note that it never reported.
fn caught_of(v: &[Value], name: &str) -> Value {
    find(v, name)
        .map(|x| x["caught"].clone())
        .unwrap_or_else(|| Value::String(format!("{name} did not report")))
}

fn pid_of(v: &[Value], name: &str) -> i32 {
    find(v, name).and_then(|x| x["pid"].as_i64()).unwrap_or(-1) as i32
}

/// A group {B, C} (B its leader, C B's child) in A's new session; A exits.
/// With `stop`, B is stopped first (SIGSTOP to itself).
fn orphan_group(stop: bool, watch: &[&str]) -> Result<Check, Abort> {
    let subreaper = sys::set_child_subreaper().is_ok();
    let (rdy_r, rdy_w) = pipe()?;
    let (rep_r, rep_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let (aexit_r, aexit_w) = pipe()?;
    let (go_w_raw, aexit_w_raw) = (go_w.as_raw_fd(), aexit_w.as_raw_fd());
    let a = fork_child(move || {
        let _ = sys::close_inherited(go_w_raw);
        let _ = sys::close_inherited(aexit_w_raw);
        if sys::setsid().is_err() {
            return 100;
        }
        let b = fork_child(|| {
            let _ = sys::setpgid(0, 0);
            if !catch_hup_cont() {
                return 101;
            }
            let c = fork_child(|| {
                let v = json!({ "name": "C", "pid": std::process::id() });
                let _ = write_all(&rdy_w, format!("{v}\n").as_bytes());
                wait_go(&go_r);
                report(&rep_w, "C");
                0
            });
            let v = json!({ "name": "B", "pid": std::process::id(), "child": c.as_ref().ok() });
            let _ = write_all(&rdy_w, format!("{v}\n").as_bytes());
            if stop {
                let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
            }
            wait_go(&go_r);
            report(&rep_w, "B");
            if let Ok(c) = c {
                let _ = util::reap_within(c, STEP);
            }
            0
        });
        if b.is_err() {
            return 102;
        }
        // Exit when P says so (a byte or EOF).
        let _ = util::read_byte(&aexit_r, STEP * 3);
        0
    })?;
    let ready = read_reports(&rdy_r, 2);
    let (b, c) = (pid_of(&ready, "B"), pid_of(&ready, "C"));
    // Both wait for `go` now: alive, so their pidfds name them.
    let held = [hold(c), hold(b)];
    let cleanup = |go_w: OwnedFd| {
        drop(go_w);
        for h in &held {
            h.kill_and_reap();
        }
        let _ = util::reap_within(a, STEP);
    };
    if b <= 0 || c <= 0 {
        drop(aexit_w);
        cleanup(go_w);
        return Err(Abort::Broken(format!(
            "the group members did not start: {ready:?}"
        )));
    }
    if stop && !util::spin_until(STEP, || util::proc_state(b) == Some('T')) {
        drop(aexit_w);
        cleanup(go_w);
        return Err(Abort::Broken(format!("B ({b}) did not stop")));
    }
    // A exits: the group {B, C} loses its last parent in the session
    // outside the group. exit_notify sends any signals before A is a zombie.
    let _ = write_all(&aexit_w, b"x");
    let a_status = util::reap_within(a, STEP)?;
    let _ = write_all(&go_w, b"gg");
    let reports = read_reports(&rep_r, 2);
    cleanup(go_w);
    if a_status != Some(0) {
        return Err(Abort::Broken(format!("A ended with {a_status:?}")));
    }
    let mut f = Facts::new();
    let e = sm::orphaned_group_signals(stop);
    for (name, key) in [("B", "B_stopped_leader"), ("C", "C_running_member")] {
        if watch.contains(&name) {
            f.add(key, e.clone(), caught_of(&reports, name));
        }
    }
    let mut check = f.done()?;
    if !subreaper {
        check.note = Some(
            "not a child subreaper: the orphans went to the pid namespace's init (outside A's \
             session, so the group is orphaned all the same)"
                .into(),
        );
    }
    Ok(check)
}

/// The stopped member (the group's leader B).
pub fn stopped_member(_: &Ctx) -> Result<Check, Abort> {
    orphan_group(true, &["B"])
}

/// The member that was not stopped (C, B's child) of the same group.
pub fn running_member(_: &Ctx) -> Result<Check, Abort> {
    orphan_group(true, &["C"])
}

/// No member stopped: neither gets anything.
pub fn running_group(_: &Ctx) -> Result<Check, Abort> {
    orphan_group(false, &["B", "C"])
}

/// A new session leader A acquires a pseudo-terminal (TIOCSCTTY); B in
/// A's group (the foreground group) and D in a group of its own; A exits.
pub fn ctty_leader_exit(_: &Ctx) -> Result<Check, Abort> {
    let pty = match sys::open_pty() {
        Ok(p) => p,
        Err(e) => {
            return Err(Abort::Skip(format!("no pseudo-terminal: /dev/ptmx: {e}")));
        }
    };
    let _ = sys::set_child_subreaper();
    let (rdy_r, rdy_w) = pipe()?;
    let (rep_r, rep_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let (aexit_r, aexit_w) = pipe()?;
    let (go_w_raw, aexit_w_raw) = (go_w.as_raw_fd(), aexit_w.as_raw_fd());
    let master_raw = pty.master.as_raw_fd();
    let slave = pty.slave.clone();
    let a = fork_child(move || {
        let _ = sys::close_inherited(go_w_raw);
        let _ = sys::close_inherited(aexit_w_raw);
        let _ = sys::close_inherited(master_raw);
        let me = std::process::id() as i32;
        let sid = sys::setsid();
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(sys::abi::O_NOCTTY as i32)
            .open(&slave);
        let tty = match tty {
            Ok(t) => OwnedFd::from(t),
            Err(e) => {
                let v =
                    json!({ "name": "A", "setup_error": format!("open {}: {e}", slave.display()) });
                let _ = write_all(&rdy_w, format!("{v}\n").as_bytes());
                return 100;
            }
        };
        let t = tty.as_raw_fd();
        let set = res0(sys::set_ctty(t, 0));
        let after =
            json!({ "pgid": sys::tty_pgrp(t).unwrap_or(-1), "sid": sys::tty_sid(t).unwrap_or(-1) });
        let member = |name: &'static str, own_group: bool| {
            let (rdy_w, rep_w, go_r) = (&rdy_w, &rep_w, &go_r);
            fork_child(move || {
                if own_group {
                    let _ = sys::setpgid(0, 0);
                }
                if !catch_hup_cont() {
                    return 101;
                }
                // Not a session leader: TIOCSCTTY is refused.
                let not_leader = res0(sys::set_ctty(t, 0));
                let _ = sys::close_inherited(t);
                let v = json!({ "name": name, "pid": std::process::id(), "tiocsctty": not_leader });
                let _ = write_all(rdy_w, format!("{v}\n").as_bytes());
                wait_go(go_r);
                report(rep_w, name);
                0
            })
        };
        let b = member("B", false);
        let d = member("D", true);
        // E: has the terminal, then leaves it with setsid.
        let e = fork_child(|| {
            let _ = sys::close_inherited(t);
            let before = super::session::tty_nr("self");
            let me = std::process::id();
            let sid = super::session::res(sys::setsid());
            let v = json!({
                "name": "E", "pid": me, "has_ctty": before != 0, "setsid": sid,
                "tty_nr_after": super::session::tty_nr("self"),
            });
            let _ = write_all(&rdy_w, format!("{v}\n").as_bytes());
            0
        });
        let v = json!({
            "name": "A", "pid": me, "setsid": sid.is_ok(), "tiocsctty": set, "tty": after,
            "members": [b.as_ref().ok(), d.as_ref().ok(), e.as_ref().ok()],
        });
        let _ = write_all(&rdy_w, format!("{v}\n").as_bytes());
        let _ = util::read_byte(&aexit_r, STEP * 3);
        drop(tty);
        0
    })?;
    let ready = read_reports(&rdy_r, 4);
    let (b, d, e) = (
        pid_of(&ready, "B"),
        pid_of(&ready, "D"),
        pid_of(&ready, "E"),
    );
    // E may have exited already: then only its zombie is left to reap.
    let held = [hold(b), hold(d), hold(e)];
    let cleanup = |go_w: OwnedFd| {
        drop(go_w);
        for h in &held {
            h.kill_and_reap();
        }
        let _ = util::reap_within(a, STEP);
    };
    let av = find(&ready, "A").cloned().unwrap_or(Value::Null);
    if let Some(e) = av.get("setup_error") {
        drop(aexit_w);
        cleanup(go_w);
        return Err(Abort::Env(format!(
            "the pseudo-terminal's slave cannot be opened: {e}"
        )));
    }
    if b <= 0 || d <= 0 || e <= 0 || av["setsid"] != true {
        drop(aexit_w);
        cleanup(go_w);
        return Err(Abort::Broken(format!(
            "the session did not start: {ready:?}"
        )));
    }
    let a_pid = av["pid"].as_i64().unwrap_or(-1) as i32;
    let _ = write_all(&aexit_w, b"x");
    let a_status = util::reap_within(a, STEP)?;
    let _ = write_all(&go_w, b"gg");
    let reports = read_reports(&rep_r, 2);
    cleanup(go_w);
    drop(pty);
    if a_status != Some(0) {
        return Err(Abort::Broken(format!("A ended with {a_status:?}")));
    }
    let mut f = Facts::new();
    f.add(
        "leader_tiocsctty",
        super::session::want0(sm::set_ctty_result(true)),
        &av["tiocsctty"],
    );
    f.add(
        "tty_session_and_foreground",
        sm::ctty_after_set(a_pid),
        &av["tty"],
    );
    f.add(
        "member_tiocsctty",
        super::session::want0(sm::set_ctty_result(false)),
        find(&ready, "B")
            .map(|x| x["tiocsctty"].clone())
            .unwrap_or(Value::Null),
    );
    let ev = find(&ready, "E").cloned().unwrap_or(Value::Null);
    f.add("child_has_ctty", sm::child_has_ctty(), &ev["has_ctty"]);
    let after = sm::after_setsid(e);
    f.add(
        "child_setsid",
        super::session::want(sm::setsid_result(sm::SetsidFacts {
            pid: e,
            ..Default::default()
        })),
        &ev["setsid"],
    );
    f.add(
        "child_tty_nr_after_setsid",
        Expect {
            value: after.value.1,
            rule: after.rule,
        },
        &ev["tty_nr_after"],
    );
    f.add(
        "foreground_member",
        sm::leader_exit_signals(true),
        caught_of(&reports, "B"),
    );
    f.add(
        "background_member",
        sm::leader_exit_signals(false),
        caught_of(&reports, "D"),
    );
    f.done()
}
