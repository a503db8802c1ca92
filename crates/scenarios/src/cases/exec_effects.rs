//! What a successful execve does (model-spec §3.10): identity kept,
//! exit_signal reset, signal dispositions, mask, altstack, CLOEXEC fds,
//! empty argv, exec from a non-leader thread.

use crate::case::{ename, Abort, Check, Ctx, Facts, STEP};
use crate::util::{
    self, cpath, exec_in_child, fork_child, observe_wait4, pipe, proc_view, read_line, ExecObs,
};
use forklore_model::lifecycle::wopt::{WALL, WEXITED, WNOHANG, WNOWAIT};
use forklore_model::lifecycle::Expect;
use forklore_model::lifecycle::{self as lm, Disposition};
use forklore_sys::{self as sys, ExecArgs, Handler, Script, Step};
use serde_json::Value;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

const SIGHUP: i32 = 1;
const SIGUSR1: i32 = 10;
const SIGUSR2: i32 = 12;
const SIGTERM: i32 = 15;

fn mask_of(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(u64::MAX)
}

fn status_hex(name: &str) -> u64 {
    util::status_field("self", name)
        .and_then(|s| u64::from_str_radix(&s, 16).ok())
        .unwrap_or(u64::MAX)
}

pub fn success_state(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    // The child dup2s /dev/null to fds 20 and 21.
    util::need_fd_number(21)?;
    let c = cpath(&t);
    let tb = t.as_os_str().as_bytes();
    let args = ExecArgs::new(&[tb, b"x", b"y"], &[]);
    let (pre, obs) = exec_in_child(
        || {
            let err = |e: sys::Errno| ename(e);
            sys::set_handler(SIGUSR1, Handler::Catch { flags: 0 }).map_err(err)?;
            sys::set_handler(SIGUSR2, Handler::Ignore).map_err(err)?;
            sys::sigprocmask(sys::SIG_BLOCK, (1 << (SIGHUP - 1)) | (1 << (SIGTERM - 1)))
                .map_err(err)?;
            sys::set_altstack(64 * 1024).map_err(err)?;
            let null = std::fs::File::open("/dev/null").map_err(|e| e.to_string())?;
            sys::dup2(null.as_raw_fd(), 20).map_err(err)?;
            sys::dup2(null.as_raw_fd(), 21).map_err(err)?;
            sys::set_cloexec(20).map_err(err)?;
            let me = std::process::id() as i32;
            Ok(serde_json::json!({
                "pid": std::process::id(),
                "ppid": util::stat_number(me, 4),
                "pgid": util::stat_number(me, 5),
                "sid": util::stat_number(me, 6),
                "sig_ign": status_hex("SigIgn"),
                "sig_cgt": status_hex("SigCgt"),
                "sig_blk": status_hex("SigBlk"),
                "altstack_enabled": sys::altstack().map(|(fl, _)| fl & sys::SS_DISABLE == 0).unwrap_or(false),
            }))
        },
        || sys::execve(&c, &args),
    )?;
    let ExecObs::Ran { report, status } = obs else {
        return Err(Abort::Broken(format!("exec failed: {obs:?}")));
    };
    if pre["altstack_enabled"] != Value::Bool(true)
        || mask_of(&pre, "sig_cgt") & (1 << (SIGUSR1 - 1)) == 0
    {
        return Err(Abort::Broken(format!(
            "pre-exec state not as set up: {pre}"
        )));
    }
    let fx = lm::exec_effects(ctx.kernel);
    let mut f = Facts::new();
    let kept = |v: &Value| {
        if fx.identity_kept.value {
            v.clone()
        } else {
            Value::Null
        }
    };
    for k in ["pid", "ppid", "pgid", "sid"] {
        f.add(
            k,
            Expect {
                value: kept(&pre[k]),
                rule: fx.identity_kept.rule,
            },
            &report[k],
        );
    }
    f.add("exit_signal", fx.exit_signal, &report["exit_signal"]);
    // Per signal: caught -> default, ignored kept (flush_signal_handlers).
    let (pre_ign, pre_cgt) = (mask_of(&pre, "sig_ign"), mask_of(&pre, "sig_cgt"));
    let (mut exp_ign, mut exp_cgt, mut rule) = (0u64, 0u64, "L-EXEC-SIGNALS");
    for sig in 1..=64 {
        let bit = 1u64 << (sig - 1);
        let before = if pre_ign & bit != 0 {
            Disposition::Ignore
        } else if pre_cgt & bit != 0 {
            Disposition::Caught
        } else {
            Disposition::Default
        };
        let after = lm::exec_disposition(before);
        rule = after.rule;
        match after.value {
            Disposition::Ignore => exp_ign |= bit,
            Disposition::Caught => exp_cgt |= bit,
            Disposition::Default => {}
        }
    }
    f.add(
        "sig_ign",
        Expect {
            value: format!("{exp_ign:016x}"),
            rule,
        },
        format!("{:016x}", mask_of(&report, "sig_ign")),
    );
    f.add(
        "sig_cgt",
        Expect {
            value: format!("{exp_cgt:016x}"),
            rule,
        },
        format!("{:016x}", mask_of(&report, "sig_cgt")),
    );
    let blk = if fx.blocked_mask_kept.value {
        mask_of(&pre, "sig_blk")
    } else {
        0
    };
    f.add(
        "sig_blk",
        Expect {
            value: format!("{blk:016x}"),
            rule: fx.blocked_mask_kept.rule,
        },
        format!("{:016x}", mask_of(&report, "sig_blk")),
    );
    f.add(
        "altstack_disabled",
        fx.altstack_cleared,
        &report["altstack_disabled"],
    );
    let open: Vec<i64> = report["open_fds"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    f.add(
        "fd20_cloexec_open",
        Expect {
            value: !fx.cloexec_closed.value,
            rule: fx.cloexec_closed.rule,
        },
        open.contains(&20),
    );
    f.add(
        "fd21_open",
        Expect {
            value: true,
            rule: fx.cloexec_closed.rule,
        },
        open.contains(&21),
    );
    let argv = vec![t.to_string_lossy().into_owned(), "x".into(), "y".into()];
    f.add(
        "argv",
        Expect {
            value: argv,
            rule: "L-EXEC-OK",
        },
        &report["argv"],
    );
    f.add("status", lm::exit_status(42), status);
    f.done()
}

pub fn exit_signal_reset(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let c = cpath(&t);
    let args = ExecArgs::new(&[t.as_os_str().as_bytes()], &[]);
    sys::set_handler(SIGUSR1, Handler::Ignore).map_err(|e| Abort::Broken(ename(e)))?;
    let (go_r, go_w) = pipe()?;
    let (out_r, out_w) = pipe()?;
    let script = Script::new(&[
        Step::Read {
            fd: go_r.as_raw_fd(),
        },
        Step::Dup2 {
            old: out_w.as_raw_fd(),
            new: 1,
        },
        Step::Execve {
            path: c.as_ptr() as usize,
            argv: args.argv_addr(),
            envp: args.envp_addr(),
        },
        Step::ExitGroup { code: 127 },
    ]);
    let pid = sys::clone_script(0, SIGUSR1 as u64, &script)
        .map_err(|e| Abort::Broken(format!("clone: {}", ename(e))))?;
    drop(out_w);
    let child = |es| lm::WaitChild {
        pid,
        pgid: nix::unistd::getpgrp().as_raw(),
        exit_signal: es,
        is_thread: false,
        child_of_calling_thread: true,
        ptraced_by_caller: false,
        zombie: false,
    };
    let plain_ok = || sys::waitid(lm::P_PID, pid, WEXITED | WNOHANG | WNOWAIT).is_ok();
    let mut f = Facts::new();
    f.add(
        "before/exit_signal",
        Expect {
            value: SIGUSR1,
            rule: "L-WAIT-ELIGIBLE",
        },
        util::proc_exit_signal(pid),
    );
    f.add(
        "before/plain_wait_eligible",
        lm::wait_eligible(&child(SIGUSR1), 0),
        plain_ok(),
    );
    util::write_all(&go_w, b"x")?;
    let line = read_line(&out_r, STEP)?;
    let report: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
    let fx = lm::exec_effects(ctx.kernel);
    f.add("after/exit_signal", fx.exit_signal, &report["exit_signal"]);
    // Blocking plain wait: ECHILD at once if the child were not eligible.
    let w = sys::wait4(pid, 0);
    f.add(
        "after/plain_wait_eligible",
        lm::wait_eligible(&child(fx.exit_signal.value), 0),
        w.is_ok(),
    );
    f.add(
        "after/status",
        lm::exit_status(42),
        w.ok().flatten().map_or(-1, |r| r.status),
    );
    f.done()
}

pub fn empty_argv(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let c = cpath(&t);
    let (_, obs) = exec_in_child(
        || Ok(Value::Null),
        || sys::execve_addr(c.as_ptr() as usize, 0, 0),
    )?;
    let ExecObs::Ran { report, .. } = obs else {
        return Err(Abort::Broken(format!("exec failed: {obs:?}")));
    };
    let fx = lm::exec_effects(ctx.kernel);
    let mut f = Facts::new();
    f.add("argc", fx.empty_argv_argc, &report["argc"]);
    let argv: Vec<String> = vec![String::new(); fx.empty_argv_argc.value];
    f.add(
        "argv",
        Expect {
            value: argv,
            rule: fx.empty_argv_argc.rule,
        },
        &report["argv"],
    );
    f.done()
}

pub fn non_leader(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    // The exec target holds fd 100 (FORKLORE_HOLD_FD) open.
    util::need_fd_number(100)?;
    let c = cpath(&t);
    let args = ExecArgs::new(&[t.as_os_str().as_bytes()], &[b"FORKLORE_HOLD_FD=100"]);
    let (out_r, out_w) = pipe()?;
    let (hold_r, hold_w) = pipe()?;
    let (tid_r, tid_w) = pipe()?;
    let (tgo_r, tgo_w) = pipe()?;
    let pid = fork_child(move || {
        let _ = sys::dup2(out_w.as_raw_fd(), 1);
        let _ = sys::dup2(hold_r.as_raw_fd(), 100);
        // The thread execs only after the leader reported its tid.
        let th = sys::spawn_thread(Script::new(&[
            Step::Read {
                fd: tgo_r.as_raw_fd(),
            },
            Step::Execve {
                path: c.as_ptr() as usize,
                argv: args.argv_addr(),
                envp: args.envp_addr(),
            },
            Step::Exit { code: 0 },
        ]));
        let tid = th.as_ref().map(|t| t.tid()).unwrap_or(-1);
        let _ = util::write_all(&tid_w, &tid.to_le_bytes());
        let _ = util::write_all(&tgo_w, b"x");
        std::mem::forget(th);
        // The leader blocks until de_thread kills it.
        let (never_r, _never_w): (OwnedFd, OwnedFd) = match pipe() {
            Ok(p) => p,
            Err(_) => return 101,
        };
        let mut b = [0u8; 1];
        let _ = nix::unistd::read(&never_r, &mut b);
        102
    })?;
    let thread_tid = util::read_u32(&tid_r, STEP)? as i32;
    let line = read_line(&out_r, STEP)?;
    let report: Value =
        serde_json::from_str(&line).map_err(|_| Abort::Broken(format!("no report: {line:?}")))?;
    let fx = lm::exec_effects(ctx.kernel);
    let mut f = Facts::new();
    f.add(
        "pid",
        Expect {
            value: pid,
            rule: fx.identity_kept.rule,
        },
        &report["pid"],
    );
    f.add(
        "tid_is_pid",
        Expect {
            value: pid,
            rule: "L-EXEC-DE-THREAD",
        },
        &report["tid"],
    );
    f.add(
        "ppid",
        Expect {
            value: std::process::id(),
            rule: fx.identity_kept.rule,
        },
        &report["ppid"],
    );
    f.add("threads", fx.threads_after, &report["threads"]);
    f.add(
        "old_thread_tid_gone",
        Expect {
            value: lm::ProcView::Gone,
            rule: "L-EXEC-DE-THREAD",
        },
        // A missing /proc/<tid> reads as Gone.
        if thread_tid == pid {
            lm::ProcView::Gone
        } else {
            proc_view(thread_tid)
        },
    );
    let seen = sys::waitid(lm::P_PID, pid, WEXITED | WNOHANG | WNOWAIT | WALL)
        .map(|i| i.is_some())
        .unwrap_or(true);
    f.add(
        "parent_sees_exit_while_running",
        fx.parent_sees_leader_exit,
        seen,
    );
    drop(hold_w);
    let st = util::reap_within(pid, STEP)?;
    f.add("status", lm::exit_status(42), st);
    f.add(
        "one_exit_only",
        lm::wait4_result(pid, WNOHANG, 0, &[], true),
        observe_wait4(sys::wait4(pid, WNOHANG | WALL)),
    );
    f.done()
}
