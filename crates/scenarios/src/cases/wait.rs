//! wait4 / waitid scenarios (model-spec §3.6).

use crate::case::{ename, Abort, Check, Ctx, Facts, STEP};
use crate::util::{self, fork_child, observe_wait4, pipe, proc_view, read_byte, until_zombie};
use forklore_model::lifecycle::wopt::{WALL, WCLONE, WEXITED, WNOHANG, WNOTHREAD, WNOWAIT};
use forklore_model::lifecycle::Expect;
use forklore_model::lifecycle::{self as lm, SigchldDisposition, WaitChild, WaitResult};
use forklore_model::Errno;
use forklore_sys::{self as sys, Handler, Script, Step};
use std::os::fd::AsRawFd;

const SIGUSR1: i32 = 10;

fn pgid() -> i32 {
    nix::unistd::getpgrp().as_raw()
}

/// A child of the calling thread with this exit_signal.
fn kid(pid: i32, exit_signal: i32, zombie: bool) -> WaitChild {
    WaitChild {
        pid,
        pgid: pgid(),
        exit_signal,
        is_thread: false,
        child_of_calling_thread: true,
        ptraced_by_caller: false,
        zombie,
    }
}

/// Eligible for this waitid option set = not ECHILD (WNOHANG|WNOWAIT: nothing changes).
fn eligible(pid: i32, opts: u32) -> Result<bool, Abort> {
    match sys::waitid(lm::P_PID, pid, WEXITED | WNOHANG | WNOWAIT | opts) {
        Ok(_) => Ok(true),
        Err(sys::Errno::ECHILD) => Ok(false),
        Err(e) => Err(Abort::Broken(format!("waitid: {}", ename(e)))),
    }
}

pub fn selection_matrix(_: &Ctx) -> Result<Check, Abort> {
    // Children with exit_signal SIGUSR1 would kill us with the default action.
    sys::set_handler(SIGUSR1, Handler::Ignore).map_err(|e| Abort::Broken(ename(e)))?;
    let exit0 = Script::new(&[Step::ExitGroup { code: 0 }]);
    let mut kids = Vec::new();
    for es in [17, SIGUSR1, 0] {
        let pid = sys::clone_script(0, es as u64, &exit0)
            .map_err(|e| Abort::Broken(format!("clone: {}", ename(e))))?;
        kids.push((format!("exit_signal_{es}"), kid(pid, es, true)));
    }
    let (hold_r, hold_w) = pipe()?;
    let thread = sys::spawn_thread(Script::new(&[
        Step::Read {
            fd: hold_r.as_raw_fd(),
        },
        Step::Exit { code: 0 },
    ]))
    .map_err(|e| Abort::Broken(format!("thread: {}", ename(e))))?;
    kids.push((
        "clone_thread".into(),
        WaitChild {
            is_thread: true,
            exit_signal: -1,
            ..kid(thread.tid(), -1, false)
        },
    ));
    // A sibling thread forks a child (SIGCHLD) that exits at once.
    let sib = sys::spawn_thread(Script::new(&[
        Step::Fork {
            exit_signal: 17,
            child_pc: 3,
        },
        Step::Read {
            fd: hold_r.as_raw_fd(),
        },
        Step::Exit { code: 0 },
        Step::ExitGroup { code: 0 },
    ]))
    .map_err(|e| Abort::Broken(format!("thread: {}", ename(e))))?;
    if !util::spin_until(STEP, || sib.script().result(0) != i64::MIN) {
        return Err(Abort::Broken("sibling thread did not fork".into()));
    }
    let sib_child = sib.script().result(0);
    if sib_child <= 0 {
        return Err(Abort::Broken(format!("sibling fork failed: {sib_child}")));
    }
    kids.push((
        "sibling_thread_child".into(),
        WaitChild {
            child_of_calling_thread: false,
            ..kid(sib_child as i32, 17, true)
        },
    ));
    for (_, k) in &kids {
        if !k.is_thread {
            until_zombie(k.pid)?;
        }
    }
    let opts: [(&str, u32); 5] = [
        ("plain", 0),
        ("wclone", WCLONE),
        ("wall", WALL),
        ("wnothread", WNOTHREAD),
        ("wall_wnothread", WALL | WNOTHREAD),
    ];
    let mut f = Facts::new();
    for (name, k) in &kids {
        for (oname, o) in opts {
            let key = format!("{name}/{oname}");
            f.add(&key, lm::wait_eligible(k, o), eligible(k.pid, o)?);
        }
    }
    util::write_all(&hold_w, b"xx")?;
    drop(hold_w);
    thread.join(STEP);
    sib.join(STEP);
    f.done()
}

pub fn wnohang_live(_: &Ctx) -> Result<Check, Abort> {
    let (r, w) = pipe()?;
    let pid = fork_child(|| {
        let mut b = [0u8; 1];
        let _ = nix::unistd::read(&r, &mut b);
        3
    })?;
    let mut f = Facts::new();
    let live = [(kid(pid, 17, false), 0)];
    f.add(
        "wnohang_live",
        lm::wait4_result(pid, WNOHANG, pgid(), &live, true),
        observe_wait4(sys::wait4(pid, WNOHANG)),
    );
    util::write_all(&w, b"x")?;
    until_zombie(pid)?;
    let dead = [(kid(pid, 17, true), lm::exit_status(3).value)];
    f.add(
        "blocking_after_exit",
        lm::wait4_result(pid, 0, pgid(), &dead, true),
        observe_wait4(sys::wait4(pid, 0)),
    );
    f.done()
}

pub fn echild(_: &Ctx) -> Result<Check, Abort> {
    let mut f = Facts::new();
    f.add(
        "no_children",
        lm::wait4_result(-1, 0, pgid(), &[], true),
        observe_wait4(sys::wait4(-1, 0)),
    );
    let parent = nix::unistd::getppid().as_raw();
    f.add(
        "not_a_child",
        lm::wait4_result(parent, 0, pgid(), &[], true),
        observe_wait4(sys::wait4(parent, 0)),
    );
    let pid = fork_child(|| 0)?;
    until_zombie(pid)?;
    let _ = sys::wait4(pid, 0);
    f.add(
        "already_reaped",
        lm::wait4_result(pid, 0, pgid(), &[], true),
        observe_wait4(sys::wait4(pid, 0)),
    );
    for (name, disp, h) in [
        (
            "sigchld_ignored",
            SigchldDisposition::Ignore,
            Handler::Ignore,
        ),
        (
            "sa_nocldwait",
            SigchldDisposition::NoCldWait,
            Handler::Catch {
                flags: 2, /* SA_NOCLDWAIT */
            },
        ),
    ] {
        sys::set_handler(17, h).map_err(|e| Abort::Broken(ename(e)))?;
        let pid = fork_child(|| 0)?;
        let auto = lm::autoreaped(17, disp, false);
        let model_children: Vec<(WaitChild, i32)> = if auto.value {
            vec![]
        } else {
            vec![(kid(pid, 17, true), 0)]
        };
        // A blocking wait: with autoreap it returns ECHILD once the child is gone.
        let obs = observe_wait4(sys::wait4(-1, 0));
        f.add(
            &format!("{name}/autoreaped"),
            auto,
            !matches!(obs, WaitResult::Reaped { .. }),
        );
        f.add(
            &format!("{name}/wait"),
            lm::wait4_result(-1, 0, pgid(), &model_children, true),
            obs,
        );
        // An autoreaped child is released by the exiting task itself, after
        // exit_notify() has dropped tasklist_lock (kernel/exit.c: exit_notify
        // marks it EXIT_DEAD, then release_task()). wait_consider_task()
        // skips EXIT_DEAD, so the blocking wait above can return ECHILD in
        // that window, while /proc still shows the task as 'X (dead)'. Look
        // at /proc once the release has had its (bounded) chance to finish;
        // a task that stays 'X' is still reported as such.
        let _ = util::spin_until(STEP, || proc_view(pid) != lm::ProcView::State('X'));
        f.add(
            &format!("{name}/proc"),
            lm::proc_after_death(true),
            util::proc_view_settled(pid, STEP),
        );
        sys::set_handler(17, Handler::Default).map_err(|e| Abort::Broken(ename(e)))?;
    }
    f.done()
}

pub fn einval(_: &Ctx) -> Result<Check, Abort> {
    let mut f = Facts::new();
    let pid = fork_child(|| 0)?;
    until_zombie(pid)?;
    let kids = [(kid(pid, 17, true), 0)];
    for (name, upid, o) in [
        ("bad_bit_0x100", -1, 0x100u32),
        ("wnowait_in_wait4", -1, WNOWAIT),
        ("int_min_and_bad_bit", i32::MIN, 0x100),
    ] {
        f.add(
            name,
            lm::wait4_result(upid, o, pgid(), &kids, true),
            observe_wait4(sys::wait4(upid, o)),
        );
    }
    let waitid_obs = |t, id, o| match sys::waitid(t, id, o) {
        Ok(_) => "ok".to_string(),
        Err(e) => ename(e),
    };
    for (name, t, id, o) in [
        ("waitid_no_wexited", lm::P_ALL, 0, WNOHANG),
        ("waitid_pid_0", lm::P_PID, 0, WEXITED | WNOHANG),
        ("waitid_bad_idtype", 9, 0, WEXITED | WNOHANG),
    ] {
        let e = lm::waitid_error(t, id, o).unwrap_or(Expect {
            value: Errno(0),
            rule: "L-WAITID-EINVAL",
        });
        f.add(
            name,
            Expect {
                value: e.value.to_string(),
                rule: e.rule,
            },
            waitid_obs(t, id, o),
        );
    }
    let _ = sys::wait4(pid, 0);
    f.done()
}

pub fn esrch(_: &Ctx) -> Result<Check, Abort> {
    let mut f = Facts::new();
    let pid = fork_child(|| 0)?;
    until_zombie(pid)?;
    let kids = [(kid(pid, 17, true), 0)];
    f.add(
        "int_min",
        lm::wait4_result(i32::MIN, 0, pgid(), &kids, true),
        observe_wait4(sys::wait4(i32::MIN, 0)),
    );
    f.add(
        "child_still_there",
        Expect {
            value: true,
            rule: "L-WAIT-ESRCH",
        },
        util::proc_state(pid) == Some('Z'),
    );
    let _ = sys::wait4(pid, 0);
    f.done()
}

pub fn pgid_selection(_: &Ctx) -> Result<Check, Abort> {
    let (r, w) = pipe()?;
    let rr = r.try_clone()?;
    let a = fork_child(move || {
        let _ = read_byte(&rr, STEP * 2);
        1
    })?;
    let b = fork_child(move || {
        let _ = read_byte(&r, STEP * 2);
        2
    })?;
    nix::unistd::setpgid(nix::unistd::Pid::from_raw(b), nix::unistd::Pid::from_raw(b))?;
    util::write_all(&w, b"xx")?;
    until_zombie(a)?;
    until_zombie(b)?;
    let me = pgid();
    let mut kids = vec![
        (kid(a, 17, true), lm::exit_status(1).value),
        (
            WaitChild {
                pgid: b,
                ..kid(b, 17, true)
            },
            lm::exit_status(2).value,
        ),
    ];
    let mut f = Facts::new();
    for (name, upid) in [
        ("group_of_b", -b),
        ("own_group", 0),
        ("group_of_b_again", -b),
    ] {
        let e = lm::wait4_result(upid, WNOHANG, me, &kids, true);
        let o = observe_wait4(sys::wait4(upid, WNOHANG));
        if let WaitResult::Reaped { pid, .. } = e.value {
            kids.retain(|(k, _)| k.pid != pid);
        }
        f.add(name, e, o);
    }
    let _ = sys::wait4(-1, WALL);
    let _ = sys::wait4(-1, WALL);
    f.done()
}

pub fn efault_status(_: &Ctx) -> Result<Check, Abort> {
    let pid = fork_child(|| 5)?;
    until_zombie(pid)?;
    let kids = [(kid(pid, 17, true), lm::exit_status(5).value)];
    let mut f = Facts::new();
    let obs = match sys::wait4_status_addr(pid, 8, 0) {
        Ok(p) => WaitResult::Reaped { pid: p, status: -1 },
        Err(e) => WaitResult::Error(Errno(e.raw())),
    };
    f.add(
        "bad_status_pointer",
        lm::wait4_result(pid, 0, pgid(), &kids, false),
        obs,
    );
    // The child was reaped before the fault: it is gone.
    f.add(
        "then",
        lm::wait4_result(pid, 0, pgid(), &[], true),
        observe_wait4(sys::wait4(pid, 0)),
    );
    f.add("proc", lm::proc_after_death(true), proc_view(pid));
    f.done()
}

pub fn rusage(_: &Ctx) -> Result<Check, Abort> {
    const MIB: usize = 16;
    let pid = fork_child(|| {
        let mut v = vec![0u8; MIB << 20];
        // One minor fault per 4 KiB page even where THP is "always"
        // (Debian's default): a 2 MiB page would fault once for 512.
        let _ = sys::no_huge_pages(&mut v);
        for i in (0..v.len()).step_by(4096) {
            v[i] = 1;
        }
        std::hint::black_box(&v);
        0
    })?;
    until_zombie(pid)?;
    let r = sys::wait4(pid, 0)
        .map_err(|e| Abort::Broken(ename(e)))?
        .ok_or_else(|| Abort::Broken("wait4 reaped nothing".into()))?;
    let (status, ru) = (r.status, r.rusage);
    let mut f = Facts::new();
    let reap = Expect {
        value: true,
        rule: "L-WAIT-REAP",
    };
    f.add("status", lm::exit_status(0), status);
    f.add(
        "maxrss_covers_touched_memory",
        reap,
        ru.maxrss_kb >= (MIB as u64) * 1024,
    );
    f.add(
        "minflt_covers_touched_pages",
        reap,
        // Less the two partial pages at the ends madvise cannot cover.
        ru.minflt >= (MIB as u64) * 256 - 2,
    );
    f.done()
}
