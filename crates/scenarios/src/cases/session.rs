//! Sessions and process groups (kernel/sys.c ksys_setsid, sys_setpgid,
//! getsid, getpgid; kernel/fork.c copy_process). The case process never
//! changes its own session or group (the scenario process finds leftovers
//! by its group): every setsid/setpgid that can succeed runs in a child.

use crate::case::{ename, Abort, Check, Ctx, Facts, STEP};
use crate::util::{self, fork_child, pipe, read_byte, read_line, read_n, write_all};
use forklore_model::lifecycle::Expect;
use forklore_model::session::{self as sm, Creation, GroupArg, Ids, SetsidFacts, Target};
use forklore_model::Errno;
use forklore_sys::abi::{CLONE_VFORK, CLONE_VM, SIGCHLD};
use forklore_sys::{self as sys, ExecArgs, Script, Step};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// A syscall result as the cases compare it: the number, or the errno name.
pub(crate) fn res(r: Result<i32, sys::Errno>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => ename(e),
    }
}

/// The model's `Result` in the same form as [`res`].
pub(crate) fn want(e: Expect<Result<i32, Errno>>) -> Expect<String> {
    Expect {
        value: match e.value {
            Ok(v) => v.to_string(),
            Err(e) => e.to_string(),
        },
        rule: e.rule,
    }
}

/// The model's errno-or-success in the form of [`res`] for a call that
/// returns 0.
pub(crate) fn want0(e: Expect<Option<Errno>>) -> Expect<String> {
    Expect {
        value: e.value.map(|e| e.to_string()).unwrap_or_else(|| "0".into()),
        rule: e.rule,
    }
}

pub(crate) fn res0(r: Result<(), sys::Errno>) -> String {
    res(r.map(|()| 0))
}

/// Fork a child that runs `f` and writes its JSON value as one line; read
/// the line and reap the child.
pub(crate) fn child_json(f: impl FnOnce() -> Value) -> Result<Value, Abort> {
    let (r, w) = pipe()?;
    let pid = fork_child(move || {
        let v = f();
        let _ = write_all(&w, format!("{v}\n").as_bytes());
        0
    })?;
    let line = read_line(&r, STEP);
    let _ = util::reap_within(pid, STEP)?;
    let line = line?;
    serde_json::from_str(&line).map_err(|e| Abort::Broken(format!("child report {line:?}: {e}")))
}

/// The pid of a child that has been reaped: no process has it (until the
/// pid space wraps around, far beyond a case's lifetime).
pub(crate) fn reaped_pid() -> Result<i32, Abort> {
    let pid = fork_child(|| 0)?;
    util::reap_within(pid, STEP)?;
    Ok(pid)
}

/// A process this case created, held by a pidfd taken while it is surely
/// alive, so the final SIGKILL cannot reach a recycled pid.
pub(crate) struct Held {
    pid: i32,
    fd: Option<OwnedFd>,
}

pub(crate) fn hold(pid: i32) -> Held {
    Held {
        pid,
        fd: (pid > 0).then(|| sys::pidfd_open(pid, 0).ok()).flatten(),
    }
}

impl Held {
    /// SIGKILL it (a stopped process too) and reap it if it is our child.
    pub(crate) fn kill_and_reap(&self) {
        match &self.fd {
            Some(fd) => {
                let _ = sys::pidfd_send_signal(fd.as_raw_fd(), Signal::SIGKILL as i32);
                let _ = util::readable(fd, STEP);
            }
            // No pidfd (ENOSYS): by pid, only while it is not yet a zombie.
            None if self.pid > 0 && !matches!(util::proc_state(self.pid), None | Some('Z')) => {
                let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
                let _ = util::exited_within(self.pid, STEP);
            }
            None => {}
        }
        if self.pid > 0 {
            let _ = sys::wait4(self.pid, sys::abi::WALL | sys::abi::WNOHANG);
        }
    }
}

fn ids_of(b: &[u8]) -> (i32, Ids) {
    let n = |i: usize| i32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (
        n(0),
        Ids {
            pgid: n(4),
            sid: n(8),
        },
    )
}

fn my_ids() -> Ids {
    Ids {
        pgid: sys::getpgid(0).unwrap_or(-1),
        sid: sys::getsid(0).unwrap_or(-1),
    }
}

/// stat field 7, the controlling terminal's device number (0: none).
pub(crate) fn tty_nr(pid: &str) -> i64 {
    forklore_observe::stat_field(pid, 7)
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

// ---------------------------------------------------------------- session

/// A child of a new session leader, of each kind, reads its pgid and sid.
pub fn inherit(_: &Ctx) -> Result<Check, Abort> {
    let (r, w) = pipe()?;
    let pid = fork_child(move || {
        // A new session, so the inherited ids differ from the case's.
        let _ = sys::setsid();
        let wfd = w.as_raw_fd();
        let p = my_ids();
        let me = std::process::id() as i32;
        let mut b = Vec::new();
        for v in [me, p.pgid, p.sid] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let _ = write_all(&w, &b);
        // fork: ordinary Rust in the child.
        match sys::fork_single_threaded(SIGCHLD as u64) {
            Ok(sys::Forked::Child) => {
                let c = my_ids();
                let mut b = Vec::new();
                for v in [std::process::id() as i32, c.pgid, c.sid] {
                    b.extend_from_slice(&v.to_le_bytes());
                }
                let _ = write_all(&w, &b);
                sys::exit_group(0)
            }
            Ok(sys::Forked::Parent { child }) => {
                let _ = sys::wait4(child, 0);
            }
            Err(_) => return 100,
        }
        let script = Script::new(&[Step::WriteIds { fd: wfd }, Step::ExitGroup { code: 0 }]);
        for (i, spawn) in [
            sys::clone_script(CLONE_VM | CLONE_VFORK, SIGCHLD as u64, &script),
            sys::clone_script(0, SIGCHLD as u64, &script),
        ]
        .into_iter()
        .enumerate()
        {
            match spawn {
                Ok(c) => {
                    let _ = sys::wait4(c, 0);
                }
                Err(_) => return 101 + i as i32,
            }
        }
        match sys::clone3_script(0, SIGCHLD as u64, &script) {
            Ok(c) => {
                let _ = sys::wait4(c, 0);
            }
            // clone3 refused (ENOSYS under a seccomp filter): say so.
            Err(_) => {
                let _ = write_all(&w, &[0xff; 12]);
            }
        }
        // Last: this makes the process multithreaded.
        let t = Script::new(&[Step::WriteIds { fd: wfd }, Step::Exit { code: 0 }]);
        match sys::spawn_thread(t) {
            Ok(t) => {
                let _ = t.join(STEP);
                std::mem::forget(t);
            }
            Err(_) => return 104,
        }
        0
    })?;
    let got = read_n(&r, 12 * 6, STEP);
    let _ = util::reap_within(pid, STEP)?;
    let got = got?;
    let (ppid, parent) = ids_of(&got[0..12]);
    if parent.sid != ppid {
        return Err(Abort::Broken(format!(
            "the creator's setsid did not take effect: pid {ppid}, sid {}",
            parent.sid
        )));
    }
    let mut f = Facts::new();
    for (i, (name, how)) in [
        ("fork", Creation::Fork),
        ("vfork", Creation::Vfork),
        ("clone", Creation::Clone),
        ("clone3", Creation::Clone3),
        ("thread", Creation::Thread),
    ]
    .into_iter()
    .enumerate()
    {
        let rec = &got[12 * (i + 1)..12 * (i + 2)];
        if how == Creation::Clone3 && rec == [0xff; 12] {
            return Err(Abort::Env(
                "clone3 was refused (seccomp filter or ENOSYS)".into(),
            ));
        }
        f.add(name, sm::child_ids(how, parent), ids_of(rec).1);
    }
    f.done()
}

/// setsid in a child: the new sid, the ids and tty after it, a second call.
pub fn setsid(_: &Ctx) -> Result<Check, Abort> {
    let v = child_json(|| {
        let me = std::process::id() as i32;
        let first = res(sys::setsid());
        let ids = my_ids();
        let tty = tty_nr("self");
        let second = res(sys::setsid());
        json!({ "pid": me, "first": first, "ids": ids, "tty_nr": tty, "second": second })
    })?;
    let pid = v["pid"].as_i64().unwrap_or(-1) as i32;
    let mut f = Facts::new();
    let base = SetsidFacts {
        pid,
        ..Default::default()
    };
    f.add("setsid", want(sm::setsid_result(base)), &v["first"]);
    let after = sm::after_setsid(pid);
    f.add(
        "ids_after",
        Expect {
            value: after.value.0,
            rule: after.rule,
        },
        &v["ids"],
    );
    f.add(
        "tty_nr_after",
        Expect {
            value: after.value.1,
            rule: after.rule,
        },
        &v["tty_nr"],
    );
    let again = SetsidFacts {
        session_leader: true,
        group_with_my_pid: true,
        ..base
    };
    f.add("setsid_again", want(sm::setsid_result(again)), &v["second"]);
    f.done()
}

/// A group leader's setsid is EPERM; a member of its group may.
pub fn setsid_group_leader(_: &Ctx) -> Result<Check, Abort> {
    let v = child_json(|| {
        let me = std::process::id() as i32;
        let pg = res0(sys::setpgid(0, 0));
        let leader = res(sys::setsid());
        // A member of this group (not its leader) may.
        let member =
            child_json(|| json!({ "pid": std::process::id(), "setsid": res(sys::setsid()) }))
                .unwrap_or(Value::Null);
        json!({ "pid": me, "setpgid": pg, "setsid": leader, "member": member })
    })?;
    let pid = v["pid"].as_i64().unwrap_or(-1) as i32;
    let mpid = v["member"]["pid"].as_i64().unwrap_or(-1) as i32;
    let mut f = Facts::new();
    f.add(
        "setpgid_0_0",
        want0(sm::setpgid_result(Target::SelfProc, GroupArg::Own, false)),
        &v["setpgid"],
    );
    let leader = SetsidFacts {
        pid,
        session_leader: false,
        group_with_my_pid: true,
    };
    f.add(
        "group_leader_setsid",
        want(sm::setsid_result(leader)),
        &v["setsid"],
    );
    let member = SetsidFacts {
        pid: mpid,
        ..Default::default()
    };
    f.add(
        "member_setsid",
        want(sm::setsid_result(member)),
        &v["member"]["setsid"],
    );
    f.done()
}

/// getsid/getpgid of a child in its own session (no same-session check on
/// Linux) and of a reaped pid.
pub fn get_ids(_: &Ctx) -> Result<Check, Abort> {
    let (rdy_r, rdy_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let go_w_raw = go_w.as_raw_fd();
    let pid = fork_child(move || {
        let _ = sys::close_inherited(go_w_raw);
        let ok = sys::setsid().is_ok();
        let _ = write_all(&rdy_w, if ok { b"s" } else { b"f" });
        let _ = read_byte(&go_r, STEP * 2);
        0
    })?;
    let ready = read_byte(&rdy_r, STEP);
    let (sid, pgid) = (sys::getsid(pid), sys::getpgid(pid));
    drop(go_w);
    let _ = util::reap_within(pid, STEP)?;
    if ready? != b's' {
        return Err(Abort::Broken("the child's setsid failed".into()));
    }
    let gone = reaped_pid()?;
    let after = sm::after_setsid(pid).value.0;
    let mut f = Facts::new();
    f.add(
        "getsid_other_session",
        want(sm::get_result(true, after.sid)),
        res(sid),
    );
    f.add(
        "getpgid_other_session",
        want(sm::get_result(true, after.pgid)),
        res(pgid),
    );
    f.add(
        "getsid_reaped",
        want(sm::get_result(false, 0)),
        res(sys::getsid(gone)),
    );
    f.add(
        "getpgid_reaped",
        want(sm::get_result(false, 0)),
        res(sys::getpgid(gone)),
    );
    f.done()
}

// ---------------------------------------------------------------- pgrp

const CHILD: Target = Target::Child {
    same_session: true,
    execed: false,
    session_leader: false,
};

/// setpgid that succeeds: a child moved into a new group and back into
/// the case's (same session) by its parent; a child making its own group.
pub fn new_group(_: &Ctx) -> Result<Check, Abort> {
    let (go_r, go_w) = pipe()?;
    let go_w_raw = go_w.as_raw_fd();
    let pid = fork_child(move || {
        let _ = sys::close_inherited(go_w_raw);
        let _ = read_byte(&go_r, STEP * 2);
        0
    })?;
    let mine = my_ids();
    let r1 = res0(sys::setpgid(pid, 0));
    let g1 = Ids {
        pgid: sys::getpgid(pid).unwrap_or(-1),
        sid: sys::getsid(pid).unwrap_or(-1),
    };
    let r2 = res0(sys::setpgid(pid, mine.pgid));
    let g2 = Ids {
        pgid: sys::getpgid(pid).unwrap_or(-1),
        sid: sys::getsid(pid).unwrap_or(-1),
    };
    drop(go_w);
    let _ = util::reap_within(pid, STEP)?;
    let own = child_json(
        || json!({ "pid": std::process::id(), "setpgid": res0(sys::setpgid(0, 0)), "ids": my_ids() }),
    )?;
    let opid = own["pid"].as_i64().unwrap_or(-1) as i32;
    let mut f = Facts::new();
    f.add(
        "parent_setpgid_child_0",
        want0(sm::setpgid_result(CHILD, GroupArg::Own, false)),
        r1,
    );
    f.add("child_ids", sm::ids_after_setpgid(pid, 0, mine.sid), g1);
    f.add(
        "parent_moves_child_back",
        want0(sm::setpgid_result(CHILD, GroupArg::SameSession, false)),
        r2,
    );
    f.add(
        "child_ids_back",
        sm::ids_after_setpgid(pid, mine.pgid, mine.sid),
        g2,
    );
    f.add(
        "own_setpgid_0_0",
        want0(sm::setpgid_result(Target::SelfProc, GroupArg::Own, false)),
        &own["setpgid"],
    );
    f.add(
        "own_ids",
        sm::ids_after_setpgid(opid, 0, mine.sid),
        &own["ids"],
    );
    f.done()
}

/// A negative pgid is EINVAL (checked first, so safe to ask of ourselves).
pub fn einval(_: &Ctx) -> Result<Check, Abort> {
    let mut f = Facts::new();
    for (name, pid, pgid) in [
        ("self_-1", 0, -1),
        ("self_int_min", 0, i32::MIN),
        ("missing_-5", i32::MAX, -5),
    ] {
        let t = if pid == 0 {
            Target::SelfProc
        } else {
            Target::Other
        };
        f.add(
            name,
            want0(sm::setpgid_result(t, GroupArg::Negative, false)),
            res0(sys::setpgid(pid, pgid)),
        );
    }
    f.done()
}

/// setpgid on a grandchild and on a reaped pid is ESRCH.
pub fn esrch(_: &Ctx) -> Result<Check, Abort> {
    let (rdy_r, rdy_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let go_w_raw = go_w.as_raw_fd();
    let pid = fork_child(move || {
        let _ = sys::close_inherited(go_w_raw);
        let g = fork_child(|| {
            let _ = read_byte(&go_r, STEP * 2);
            0
        });
        let g = g.unwrap_or(-1);
        let _ = write_all(&rdy_w, &g.to_le_bytes());
        let _ = util::reap_within(g, STEP * 3);
        0
    })?;
    let g = util::read_u32(&rdy_r, STEP)? as i32;
    let on_grandchild = res0(sys::setpgid(g, g));
    drop(go_w);
    let _ = util::reap_within(pid, STEP * 4)?;
    if g <= 0 {
        return Err(Abort::Broken("the grandchild was not created".into()));
    }
    let gone = reaped_pid()?;
    let mut f = Facts::new();
    f.add(
        "grandchild",
        want0(sm::setpgid_result(Target::Other, GroupArg::Own, false)),
        on_grandchild,
    );
    f.add(
        "reaped_pid",
        want0(sm::setpgid_result(Target::Other, GroupArg::Own, false)),
        res0(sys::setpgid(gone, 0)),
    );
    f.done()
}

/// EPERM: a child in another session; a session leader moving itself; a
/// member of a new session asking for a group of the old one or a missing one.
pub fn eperm(_: &Ctx) -> Result<Check, Abort> {
    let case_pgid = my_ids().pgid;
    let (rdy_r, rdy_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let (rep_r, rep_w) = pipe()?;
    let missing = reaped_pid()?;
    let go_w_raw = go_w.as_raw_fd();
    let pid = fork_child(move || {
        let _ = sys::close_inherited(go_w_raw);
        let _ = sys::setsid();
        let leader_self = res0(sys::setpgid(0, 0));
        let member = child_json(|| {
            json!({
                "old_session_group": res0(sys::setpgid(0, case_pgid)),
                "missing_group": res0(sys::setpgid(0, missing)),
                "own_group": res0(sys::setpgid(0, 0)),
            })
        })
        .unwrap_or(Value::Null);
        let v = json!({ "leader_self": leader_self, "member": member });
        let _ = write_all(&rep_w, format!("{v}\n").as_bytes());
        let _ = write_all(&rdy_w, b"r");
        let _ = read_byte(&go_r, STEP * 2);
        0
    })?;
    let ready = read_byte(&rdy_r, STEP);
    let on_child = res0(sys::setpgid(pid, pid));
    drop(go_w);
    let line = read_line(&rep_r, STEP);
    let _ = util::reap_within(pid, STEP)?;
    ready?;
    let v: Value = serde_json::from_str(&line?).unwrap_or(Value::Null);
    let other_session = Target::Child {
        same_session: false,
        execed: false,
        session_leader: true,
    };
    let mut f = Facts::new();
    f.add(
        "child_in_other_session",
        want0(sm::setpgid_result(other_session, GroupArg::Own, false)),
        on_child,
    );
    f.add(
        "session_leader_self",
        want0(sm::setpgid_result(Target::SelfProc, GroupArg::Own, true)),
        &v["leader_self"],
    );
    f.add(
        "group_of_other_session",
        want0(sm::setpgid_result(
            Target::SelfProc,
            GroupArg::OtherSession,
            false,
        )),
        &v["member"]["old_session_group"],
    );
    f.add(
        "missing_group",
        want0(sm::setpgid_result(
            Target::SelfProc,
            GroupArg::Missing,
            false,
        )),
        &v["member"]["missing_group"],
    );
    f.add(
        "own_group_control",
        want0(sm::setpgid_result(Target::SelfProc, GroupArg::Own, false)),
        &v["member"]["own_group"],
    );
    f.done()
}

/// setpgid on a child that has exec'd is EACCES; before the exec it works.
pub fn eacces(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    util::need_fd_number(100)?;
    let args = ExecArgs::new(&[t.as_os_str().as_bytes()], &[b"FORKLORE_HOLD_FD=100"]);
    let path = util::cpath(&t);
    let (out_r, out_w) = pipe()?;
    let (hold_r, hold_w) = pipe()?;
    let (rdy_r, rdy_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let hold_w_raw = hold_w.as_raw_fd();
    let go_w_raw = go_w.as_raw_fd();
    let pid = fork_child(move || {
        let _ = sys::close_inherited(hold_w_raw);
        let _ = sys::close_inherited(go_w_raw);
        let _ = write_all(&rdy_w, b"r");
        let _ = read_byte(&go_r, STEP);
        let _ = sys::dup2(out_w.as_raw_fd(), 1);
        let _ = sys::dup2(hold_r.as_raw_fd(), 100);
        let _ = sys::execve(&path, &args);
        127
    })?;
    let cleanup = |hold_w: OwnedFd| {
        drop(hold_w);
        let _ = util::reap_within(pid, STEP);
    };
    if let Err(e) = read_byte(&rdy_r, STEP) {
        cleanup(hold_w);
        return Err(e);
    }
    let before = res0(sys::setpgid(pid, pid));
    let _ = write_all(&go_w, b"g");
    // The report line is written by the new image.
    let line = read_line(&out_r, STEP);
    let after = res0(sys::setpgid(pid, 0));
    cleanup(hold_w);
    line?;
    let execed = Target::Child {
        same_session: true,
        execed: true,
        session_leader: false,
    };
    let mut f = Facts::new();
    f.add(
        "before_exec",
        want0(sm::setpgid_result(CHILD, GroupArg::Own, false)),
        before,
    );
    f.add(
        "after_exec",
        want0(sm::setpgid_result(execed, GroupArg::Own, false)),
        after,
    );
    f.done()
}
