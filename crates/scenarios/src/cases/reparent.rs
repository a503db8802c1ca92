//! Reparenting, PR_SET_PDEATHSIG, subreapers and pid-namespace init
//! (model-spec §3.1, §3.7, §3.8). The scenario process above every case is
//! itself a child subreaper, so an "ancestor subreaper" always exists
//! outside the case.

use crate::case::{ename, Abort, Check, Ctx, Facts, STEP};
use crate::util::{self, fork_child, observe_wait4, pipe, read_byte, read_u32};
use forklore_model::lifecycle::wopt::{WCLONE, WEXITED, WNOHANG, WNOTHREAD, WNOWAIT};
use forklore_model::lifecycle::Expect;
use forklore_model::lifecycle::{self as lm, NewReaper, ReaperFacts, WaitChild};
use forklore_sys::{self as sys, Forked, Handler, Script, Step};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use std::os::fd::AsRawFd;

const SIGUSR1: i32 = 10;
const SIGCHLD: i32 = 17;
const PR_SET_PDEATHSIG: i32 = 1;

fn me() -> i32 {
    std::process::id() as i32
}

fn wait_child(pid: i32, es: i32, of_calling_thread: bool) -> WaitChild {
    WaitChild {
        pid,
        pgid: nix::unistd::getpgrp().as_raw(),
        exit_signal: es,
        is_thread: false,
        child_of_calling_thread: of_calling_thread,
        ptraced_by_caller: false,
        zombie: false,
    }
}

fn eligible_now(pid: i32, opts: u32) -> bool {
    sys::waitid(lm::P_PID, pid, WEXITED | WNOHANG | WNOWAIT | opts).is_ok()
}

fn ppid_in_proc(pid: i32) -> Option<i32> {
    util::status_field(&pid.to_string(), "PPid").and_then(|s| s.parse().ok())
}

pub fn sibling_thread(_: &Ctx) -> Result<Check, Abort> {
    sys::set_handler(SIGUSR1, Handler::Ignore).map_err(|e| Abort::Broken(ename(e)))?;
    let (ready_r, ready_w) = pipe()?;
    let (tgo_r, tgo_w) = pipe()?;
    let (info_r, info_w) = pipe()?;
    let (cgo_r, cgo_w) = pipe()?;
    let t = sys::spawn_thread(Script::new(&[
        Step::Fork {
            exit_signal: SIGUSR1 as u64,
            child_pc: 4,
        },
        Step::Write {
            fd: ready_w.as_raw_fd(),
            byte: b't',
        },
        Step::Read {
            fd: tgo_r.as_raw_fd(),
        },
        Step::Exit { code: 0 },
        // 4: the child
        Step::WriteGetppid {
            fd: info_w.as_raw_fd(),
        },
        Step::Read {
            fd: cgo_r.as_raw_fd(),
        },
        Step::WriteGetppid {
            fd: info_w.as_raw_fd(),
        },
        Step::ExitGroup { code: 3 },
    ]))
    .map_err(|e| Abort::Broken(format!("thread: {}", ename(e))))?;
    read_byte(&ready_r, STEP)?;
    let c = t.script().result(0) as i32;
    if c <= 0 {
        return Err(Abort::Broken(format!("fork in the thread failed: {c}")));
    }
    let mut f = Facts::new();
    let opts = WCLONE | WNOTHREAD;
    f.add(
        "before/getppid",
        Expect {
            value: me(),
            rule: "L-REPARENT-ORDER",
        },
        read_u32(&info_r, STEP)? as i32,
    );
    f.add(
        "before/leader_wnothread_eligible",
        lm::wait_eligible(&wait_child(c, SIGUSR1, false), opts),
        eligible_now(c, opts),
    );
    util::write_all(&tgo_w, b"x")?;
    if !t.join(STEP) || !util::thread_released(t.tid(), STEP) {
        return Err(Abort::Broken("thread did not exit".into()));
    }
    // join() returns when the thread's CLONE_CHILD_CLEARTID word is cleared,
    // in exit_mm() -> mm_release(): before exit_notify() reparents its
    // children (kernel/exit.c: do_exit calls exit_mm, then exit_notify ->
    // forget_original_parent). A non-leader thread is released right after
    // exit_notify, so once /proc/self/task/<tid> is gone the reparenting has
    // happened. (Seen under TCG on 7.3-rc7: the leader's __WNOTHREAD wait ran
    // in that window.)
    let tid = t.tid();
    if !util::spin_until(STEP, || {
        !std::path::Path::new(&format!("/proc/self/task/{tid}")).exists()
    }) {
        return Err(Abort::Broken(format!("thread {tid} was not released")));
    }
    let reaper = lm::new_reaper(&ReaperFacts {
        live_thread_in_group: true,
        subreaper_ancestor: true,
    });
    f.add("new_reaper", reaper, NewReaper::SameGroupThread);
    let to_leader = reaper.value == NewReaper::SameGroupThread;
    f.add(
        "after/leader_wnothread_eligible",
        lm::wait_eligible(&wait_child(c, SIGUSR1, to_leader), opts),
        eligible_now(c, opts),
    );
    f.add(
        "after/proc_ppid",
        Expect {
            value: Some(me()),
            rule: reaper.rule,
        },
        ppid_in_proc(c),
    );
    f.add(
        "after/exit_signal",
        lm::exit_signal_after_reparent(SIGUSR1, reaper.value),
        util::proc_exit_signal(c),
    );
    util::write_all(&cgo_w, b"x")?;
    f.add(
        "after/getppid",
        Expect {
            value: me(),
            rule: reaper.rule,
        },
        read_u32(&info_r, STEP)? as i32,
    );
    f.add("status", lm::exit_status(3), util::reap_within(c, STEP)?);
    f.done()
}

pub fn pdeathsig_thread(_: &Ctx) -> Result<Check, Abort> {
    let (ready_r, ready_w) = pipe()?;
    let (tgo_r, tgo_w) = pipe()?;
    let (never_r, _never_w) = pipe()?;
    let t = sys::spawn_thread(Script::new(&[
        Step::Fork {
            exit_signal: SIGCHLD as u64,
            child_pc: 3,
        },
        Step::Read {
            fd: tgo_r.as_raw_fd(),
        },
        Step::Exit { code: 0 },
        // 3: the child
        Step::Prctl {
            option: PR_SET_PDEATHSIG,
            arg: 9,
        },
        Step::Write {
            fd: ready_w.as_raw_fd(),
            byte: b'c',
        },
        Step::Read {
            fd: never_r.as_raw_fd(),
        },
        Step::ExitGroup { code: 0 },
    ]))
    .map_err(|e| Abort::Broken(format!("thread: {}", ename(e))))?;
    read_byte(&ready_r, STEP)?;
    util::spin_until(STEP, || t.script().result(0) != i64::MIN);
    let c = t.script().result(0) as i32;
    if c <= 0 {
        return Err(Abort::Broken(format!("fork in the thread failed: {c}")));
    }
    let mut f = Facts::new();
    f.add(
        "alive_before_thread_exit",
        Expect {
            value: true,
            rule: "L-PDEATHSIG-THREAD",
        },
        !util::exited_within(c, std::time::Duration::ZERO)?,
    );
    util::write_all(&tgo_w, b"x")?;
    t.join(STEP);
    let fires = lm::pdeathsig_on_thread_exit();
    let exp = if fires.value {
        Some(lm::signaled_status(9, false).value)
    } else {
        None
    };
    f.add(
        "child_status_after_thread_exit",
        Expect {
            value: exp,
            rule: fires.rule,
        },
        util::reap_within(c, STEP)?,
    );
    f.done()
}

pub fn to_subreaper(_: &Ctx) -> Result<Check, Abort> {
    nix::sys::prctl::set_child_subreaper(true)?;
    sys::sigprocmask(sys::SIG_BLOCK, 1 << (SIGCHLD - 1)).map_err(|e| Abort::Broken(ename(e)))?;
    let (pid_r, pid_w) = pipe()?;
    let (info_r, info_w) = pipe()?;
    let (cgo_r, cgo_w) = pipe()?;
    let (mgo_r, mgo_w) = pipe()?;
    let m = fork_child(move || match sys::fork_single_threaded(SIGUSR1 as u64) {
        Ok(Forked::Child) => {
            let _ = util::write_all(
                &info_w,
                &(nix::unistd::getppid().as_raw() as u32).to_le_bytes(),
            );
            let _ = read_byte(&cgo_r, STEP * 2);
            let _ = util::write_all(
                &info_w,
                &(nix::unistd::getppid().as_raw() as u32).to_le_bytes(),
            );
            4
        }
        Ok(Forked::Parent { child: c }) => {
            let _ = util::write_all(&pid_w, &(c as u32).to_le_bytes());
            // Exit only after the child has looked at its first parent.
            let _ = read_byte(&mgo_r, STEP * 2);
            0
        }
        Err(_) => 1,
    })?;
    let c = read_u32(&pid_r, STEP)? as i32;
    let mut f = Facts::new();
    f.add(
        "before/getppid",
        Expect {
            value: m,
            rule: "L-REPARENT-ORDER",
        },
        read_u32(&info_r, STEP)? as i32,
    );
    util::write_all(&mgo_w, b"x")?;
    let m_status = util::reap_within(m, STEP)?;
    if m_status != Some(0) {
        return Err(Abort::Broken(format!(
            "middle process ended with {m_status:?}"
        )));
    }
    // Drop the SIGCHLD of the middle process: SIG_IGN discards a pending signal.
    sys::set_handler(SIGCHLD, Handler::Ignore).map_err(|e| Abort::Broken(ename(e)))?;
    sys::set_handler(SIGCHLD, Handler::Default).map_err(|e| Abort::Broken(ename(e)))?;
    let reaper = lm::new_reaper(&ReaperFacts {
        live_thread_in_group: false,
        subreaper_ancestor: true,
    });
    f.add("new_reaper", reaper, NewReaper::Subreaper);
    f.add(
        "after/proc_ppid",
        Expect {
            value: Some(me()),
            rule: reaper.rule,
        },
        ppid_in_proc(c),
    );
    let es = lm::exit_signal_after_reparent(SIGUSR1, reaper.value);
    f.add("after/exit_signal", es, util::proc_exit_signal(c));
    util::write_all(&cgo_w, b"x")?;
    f.add(
        "after/getppid",
        Expect {
            value: me(),
            rule: reaper.rule,
        },
        read_u32(&info_r, STEP)? as i32,
    );
    if !util::exited_within(c, STEP)? {
        return Err(Abort::Broken("orphan did not exit".into()));
    }
    util::exit_complete(c);
    let pending = util::status_field("self", "ShdPnd")
        .and_then(|s| u64::from_str_radix(&s, 16).ok())
        .unwrap_or(0);
    f.add(
        "subreaper_got_sigchld",
        Expect {
            value: es.value == SIGCHLD,
            rule: es.rule,
        },
        pending & (1 << (SIGCHLD - 1)) != 0,
    );
    let kid = WaitChild {
        zombie: true,
        ..wait_child(c, es.value, true)
    };
    f.add(
        "plain_wait",
        lm::wait4_result(c, 0, kid.pgid, &[(kid, lm::exit_status(4).value)], true),
        observe_wait4(sys::wait4(c, 0)),
    );
    f.done()
}

pub fn to_pidns_init(_: &Ctx) -> Result<Check, Abort> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID)?;
    let (res_r, res_w) = pipe()?;
    let init = fork_child(move || {
        // pid 1 of the new namespace; no subreaper inside it.
        let (cgo_r, cgo_w) = match pipe() {
            Ok(p) => p,
            Err(_) => return 100,
        };
        let (info_r, info_w) = match pipe() {
            Ok(p) => p,
            Err(_) => return 101,
        };
        let m = fork_child(move || {
            let _ = fork_child(move || {
                let _ = read_byte(&cgo_r, STEP * 2);
                let _ = util::write_all(
                    &info_w,
                    &(nix::unistd::getppid().as_raw() as u32).to_le_bytes(),
                );
                4
            });
            0
        });
        let Ok(m) = m else { return 102 };
        let _ = sys::wait4(m, 0);
        let _ = util::write_all(&cgo_w, b"x");
        let ppid = read_u32(&info_r, STEP).map(|p| p as i64).unwrap_or(-1);
        let w = sys::wait4(-1, 0)
            .ok()
            .flatten()
            .map_or((-1, -1), |r| (r.pid, r.status));
        let msg = serde_json::json!({"init_pid": std::process::id(), "orphan_getppid": ppid, "reaped_status": w.1});
        let _ = util::write_all(&res_w, format!("{msg}\n").as_bytes());
        0
    })?;
    let line = util::read_line(&res_r, STEP)?;
    let v: Value = serde_json::from_str(&line)
        .map_err(|_| Abort::Broken(format!("init reported {line:?}")))?;
    let _ = util::reap_within(init, STEP)?;
    let reaper = lm::new_reaper(&ReaperFacts {
        live_thread_in_group: false,
        subreaper_ancestor: false,
    });
    let mut f = Facts::new();
    f.add("new_reaper", reaper, NewReaper::PidNsInit);
    f.add(
        "init_pid_in_ns",
        Expect {
            value: 1,
            rule: "L-REPARENT-ORDER",
        },
        &v["init_pid"],
    );
    f.add(
        "orphan_getppid",
        Expect {
            value: 1,
            rule: reaper.rule,
        },
        &v["orphan_getppid"],
    );
    f.add(
        "reaped_by_init_status",
        lm::exit_status(4),
        &v["reaped_status"],
    );
    f.done()
}

pub fn fork_resets(_: &Ctx) -> Result<Check, Abort> {
    fork_resets_impl()
}

fn fork_resets_impl() -> Result<Check, Abort> {
    nix::sys::prctl::set_child_subreaper(true)?;
    nix::sys::prctl::set_pdeathsig(Signal::SIGUSR2)?;
    let (r, w) = pipe()?;
    let c = fork_child(move || {
        let pd = nix::sys::prctl::get_pdeathsig()
            .ok()
            .flatten()
            .map(|s| s as i32)
            .unwrap_or(0);
        let sr = nix::sys::prctl::get_child_subreaper().unwrap_or(true);
        let _ = util::write_all(&w, &[pd as u8, sr as u8]);
        0
    })?;
    let got = util::read_n(&r, 2, STEP)?;
    let _ = util::reap_within(c, STEP)?;
    let (pd, sr) = lm::fork_child_prctl_state(12, true);
    let mut f = Facts::new();
    f.add(
        "parent_has",
        Expect {
            value: (12, true),
            rule: "L-FORK-PDEATHSIG",
        },
        (
            nix::sys::prctl::get_pdeathsig()
                .ok()
                .flatten()
                .map(|s| s as i32)
                .unwrap_or(0),
            nix::sys::prctl::get_child_subreaper().unwrap_or(false),
        ),
    );
    f.add("child_pdeath_signal", pd, got[0] as i32);
    f.add("child_is_subreaper", sr, got[1] != 0);
    f.done()
}

pub fn pidns_init_death(_: &Ctx) -> Result<Check, Abort> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID)?;
    let (kid_r, kid_w) = pipe()?;
    let init = fork_child(move || {
        let (never_r, _never_w) = match pipe() {
            Ok(p) => p,
            Err(_) => return 100,
        };
        for _ in 0..2 {
            let w = kid_w.try_clone();
            let nr = never_r.try_clone();
            let _ = fork_child(move || {
                // /proc is the host's: /proc/self names our host pid.
                let host = std::fs::read_link("/proc/self")
                    .ok()
                    .and_then(|p| p.to_str().and_then(|s| s.parse::<u32>().ok()))
                    .unwrap_or(0);
                if let Ok(w) = w {
                    let _ = util::write_all(&w, &host.to_le_bytes());
                }
                if let Ok(nr) = nr {
                    let mut b = [0u8; 1];
                    let _ = nix::unistd::read(&nr, &mut b);
                }
                0
            });
        }
        let mut b = [0u8; 1];
        let _ = nix::unistd::read(&never_r, &mut b);
        0
    })?;
    let k1 = read_u32(&kid_r, STEP)? as i32;
    let k2 = read_u32(&kid_r, STEP)? as i32;
    let mut f = Facts::new();
    let alive = |p: i32| util::proc_state(p).is_some_and(|c| c != 'Z');
    if !(alive(k1) && alive(k2) && k1 > 0 && k2 > 0) {
        return Err(Abort::Broken(format!(
            "namespace members not running: {k1} {k2}"
        )));
    }
    kill(Pid::from_raw(init), Signal::SIGKILL)?;
    f.add(
        "init_status",
        lm::signaled_status(9, false),
        util::reap_within(init, STEP)?,
    );
    let (zap, enomem) = lm::pidns_after_init_death();
    f.add(
        "members_gone",
        zap,
        util::proc_state(k1).is_none() && util::proc_state(k2).is_none(),
    );
    let fork_after = match sys::fork_single_threaded(17) {
        Ok(Forked::Child) => sys::exit_group(0),
        Ok(Forked::Parent { child: p }) => {
            let _ = util::reap_within(p, STEP);
            "ok".to_string()
        }
        Err(e) => ename(e),
    };
    f.add(
        "fork_into_dead_namespace",
        Expect {
            value: enomem.value.to_string(),
            rule: enomem.rule,
        },
        fork_after,
    );
    f.done()
}
