//! exit / exit_group scenarios (model-spec §3.6, §3.7, §3.9).

use crate::case::{ename, Abort, Check, Ctx, Facts, STEP};
use crate::util::{self, fork_child, pipe, proc_view, until_zombie};
use forklore_model::lifecycle::wopt::{WEXITED, WNOHANG, WNOWAIT};
use forklore_model::lifecycle::Expect;
use forklore_model::lifecycle::{self as lm, ThreadEnd};
use forklore_sys::{self as sys, Script, Step};
use nix::sys::signal::{kill, Signal};
use std::os::fd::AsRawFd;

fn reap(pid: i32) -> Result<i32, Abort> {
    util::reap_within(pid, STEP)?.ok_or_else(|| Abort::Broken(format!("child {pid} did not exit")))
}

pub fn status_encoding(_: &Ctx) -> Result<Check, Abort> {
    let mut f = Facts::new();
    for code in [0i64, 1, 255, 256, 0x1234, -1] {
        let pid = fork_child(move || code as i32)?;
        f.add(
            &format!("exit_group({code})"),
            lm::exit_status(code),
            reap(pid)?,
        );
    }
    let pid = fork_child(|| sys::exit_thread(7))?;
    f.add("exit(7) single thread", lm::exit_status(7), reap(pid)?);
    f.done()
}

pub fn killed(_: &Ctx) -> Result<Check, Abort> {
    let mut f = Facts::new();
    for sig in [Signal::SIGTERM, Signal::SIGKILL] {
        let pid = fork_child(move || {
            let _ = kill(nix::unistd::getpid(), sig);
            0
        })?;
        f.add(
            &format!("{sig}"),
            lm::signaled_status(sig as i32, false),
            reap(pid)?,
        );
    }
    f.done()
}

pub fn core_bit(_: &Ctx) -> Result<Check, Abort> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    // Where cores go decides whether the case can find one.
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").map_err(|e| {
        Abort::Skip(format!(
            "cannot read /proc/sys/kernel/core_pattern ({e}): where a core would go is unknown"
        ))
    })?;
    let pattern = pattern.trim().to_string();
    if pattern.starts_with('|') || pattern.starts_with('/') || pattern.contains('/') {
        return Err(Abort::Skip(format!(
            "core_pattern {pattern:?} does not write into the cwd"
        )));
    }
    let (_, hard) = getrlimit(Resource::RLIMIT_CORE)?;
    if hard < 1 << 30 {
        return Err(Abort::Skip(format!("hard RLIMIT_CORE {hard} too small")));
    }
    let dir = tempfile::tempdir()?;
    let mut f = Facts::new();
    for (name, limit) in [("rlimit_core_0", 0), ("core_written", hard)] {
        let d = dir.path().to_path_buf();
        let pid = fork_child(move || {
            let _ = nix::unistd::chdir(&d);
            // Whoever started us may have left SIGQUIT ignored or blocked
            // (busybox su does): the case is about the default action.
            let _ = sys::set_handler(Signal::SIGQUIT as i32, sys::Handler::Default);
            if let Ok(mask) = sys::sigprocmask(sys::SIG_BLOCK, 0) {
                let _ = sys::sigprocmask(
                    sys::SIG_SETMASK,
                    mask & !(1u64 << (Signal::SIGQUIT as i32 - 1)),
                );
            }
            let _ = setrlimit(Resource::RLIMIT_CORE, limit, hard);
            // A uid change clears dumpable; make it explicit.
            let _ = nix::sys::prctl::set_dumpable(true);
            let _ = kill(nix::unistd::getpid(), Signal::SIGQUIT);
            0
        })?;
        let st = reap(pid)?;
        let wrote = std::fs::read_dir(dir.path())?
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("core"));
        if limit > 0 && !wrote && st == Signal::SIGQUIT as i32 {
            return Err(Abort::Env(
                "the kernel wrote no core file (filesystem or dumpable policy)".into(),
            ));
        }
        f.add(
            name,
            lm::signaled_status(Signal::SIGQUIT as i32, limit > 0),
            st,
        );
    }
    f.done()
}

pub fn group_from_thread(ctx: &Ctx) -> Result<Check, Abort> {
    let (go_r, go_w) = pipe()?;
    let (rep_r, rep_w) = pipe()?;
    let pid = fork_child(move || {
        // Single-threaded here: build both threads, then block forever.
        let t1 = match sys::spawn_thread(Script::new(&[
            Step::Read {
                fd: go_r.as_raw_fd(),
            },
            Step::Exit { code: 3 },
        ])) {
            Ok(t) => t,
            Err(_) => return 100,
        };
        let t2 = match sys::spawn_thread(Script::new(&[
            Step::WaitTid {
                addr: t1.clear_tid_addr(),
                tid: t1.tid(),
            },
            Step::ExitGroup { code: 9 },
        ])) {
            Ok(t) => t,
            Err(_) => return 101,
        };
        let _ = util::write_all(&rep_w, b"r");
        std::mem::forget((t1, t2));
        // The leader waits on a pipe nobody writes: only exit_group ends it.
        let (never_r, _never_w) = match pipe() {
            Ok(p) => p,
            Err(_) => return 102,
        };
        let mut b = [0u8; 1];
        let _ = nix::unistd::read(&never_r, &mut b);
        104
    })?;
    util::read_byte(&rep_r, STEP)?;
    let threads_before = util::status_field(&pid.to_string(), "Threads");
    util::write_all(&go_w, b"x")?;
    let mut f = Facts::new();
    f.add(
        "threads_before",
        Expect {
            value: "3",
            rule: "L-EXIT-GROUP",
        },
        threads_before,
    );
    let st = util::reap_within(pid, STEP)?;
    let ends = [ThreadEnd::Exit(3), ThreadEnd::ExitGroup(9)];
    f.add("status", lm::group_exit_status(ctx.kernel, &ends, 0), st);
    f.add(
        "proc_after_reap",
        lm::proc_after_death(true),
        proc_view(pid),
    );
    f.done()
}

pub fn leader_zombie(ctx: &Ctx) -> Result<Check, Abort> {
    let (go_r, go_w) = pipe()?;
    let (rep_r, rep_w) = pipe()?;
    let pid = fork_child(move || {
        let t = match sys::spawn_thread(Script::new(&[
            Step::Read {
                fd: go_r.as_raw_fd(),
            },
            Step::Exit { code: 2 },
        ])) {
            Ok(t) => t,
            Err(_) => return 100,
        };
        std::mem::forget(t);
        let _ = util::write_all(&rep_w, b"r");
        sys::exit_thread(1)
    })?;
    util::read_byte(&rep_r, STEP)?;
    let mut f = Facts::new();
    let became_z = util::spin_until(STEP, || util::proc_state(pid) == Some('Z'));
    f.add(
        "leader_state",
        lm::proc_after_death(false),
        if became_z {
            lm::ProcView::State('Z')
        } else {
            proc_view(pid)
        },
    );
    f.add(
        "threads_while_leader_dead",
        Expect {
            value: "2",
            rule: "L-EXIT-LEADER-DELAY",
        },
        util::status_field(&pid.to_string(), "Threads"),
    );
    let reapable = match sys::waitid(lm::P_PID, pid, WEXITED | WNOHANG | WNOWAIT) {
        Ok(i) => i.is_some(),
        Err(e) => return Err(Abort::Broken(format!("waitid: {}", ename(e)))),
    };
    f.add(
        "reapable_while_thread_lives",
        lm::leader_reapable(1),
        reapable,
    );
    util::write_all(&go_w, b"x")?;
    let st = util::reap_within(pid, STEP)?;
    let ends = [ThreadEnd::Exit(1), ThreadEnd::Exit(2)];
    f.add("status", lm::group_exit_status(ctx.kernel, &ends, 0), st);
    let _ = until_zombie;
    f.done()
}
