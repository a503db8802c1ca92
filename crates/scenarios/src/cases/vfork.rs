//! vfork scenarios (model-spec §3.4). The caller P is a process created
//! for the case; the case process watches it from outside (a third
//! process), through pipes and /proc/P/stat.
//!
//! The vfork child runs on its own stack (clone(CLONE_VM|CLONE_VFORK) with
//! a fresh stack, as posix_spawn does): the kernel path is the same as
//! vfork(2) (`kernel_clone` with CLONE_VFORK|CLONE_VM, SIGCHLD).

use crate::case::{Abort, Check, Ctx, Facts, STEP};
use crate::util::{self, fork_child, pipe, read_byte, read_n, read_u32};
use forklore_model::lifecycle::Expect;
use forklore_model::lifecycle::{self as lm, VforkEvent};
use forklore_sys::abi::{CLONE_VFORK, CLONE_VM};
use forklore_sys::{self as sys, ExecArgs, Script, Step};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

const SHARED: u64 = 0xabc;

fn is_d(pid: i32) -> bool {
    util::spin_until(STEP, || util::proc_state(pid) == Some('D'))
}

fn state(pid: i32) -> String {
    util::proc_state(pid)
        .map(String::from)
        .unwrap_or_else(|| "gone".into())
}

fn quiet(fd: &std::os::fd::OwnedFd) -> bool {
    !util::readable(fd, Duration::ZERO)
}

pub fn until_exec(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    // The exec target holds fd 100 (FORKLORE_HOLD_FD) open.
    util::need_fd_number(100)?;
    let target =
        CString::new(t.as_os_str().as_bytes()).map_err(|e| Abort::Broken(e.to_string()))?;
    let bad = CString::new("/nonexistent/forklore").unwrap_or_default();
    let args = ExecArgs::new(&[t.as_os_str().as_bytes()], &[b"FORKLORE_HOLD_FD=100"]);
    let (held_r, held_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let (res_r, res_w) = pipe()?;
    let (hold_r, hold_w) = pipe()?;
    let hold_w_raw = hold_w.as_raw_fd();
    let p = fork_child(move || {
        // Only the case process may keep the hold pipe open for writing.
        let _ = sys::close_inherited(hold_w_raw);
        let s1 = Script::new(&[
            Step::Store {
                word: 0,
                value: SHARED,
            },
            Step::Write {
                fd: held_w.as_raw_fd(),
                byte: b'h',
            },
            Step::Read {
                fd: go_r.as_raw_fd(),
            },
            Step::Execve {
                path: bad.as_ptr() as usize,
                argv: args.argv_addr(),
                envp: args.envp_addr(),
            },
            Step::Write {
                fd: held_w.as_raw_fd(),
                byte: b'f',
            },
            Step::Read {
                fd: go_r.as_raw_fd(),
            },
            Step::Dup2 {
                old: hold_r.as_raw_fd(),
                new: 100,
            },
            Step::Execve {
                path: target.as_ptr() as usize,
                argv: args.argv_addr(),
                envp: args.envp_addr(),
            },
            Step::ExitGroup { code: 127 },
        ]);
        let v = sys::clone_script(CLONE_VM | CLONE_VFORK, 17, &s1).unwrap_or(-1);
        let mut msg = vec![b'r'];
        msg.extend_from_slice(&v.to_le_bytes());
        msg.extend_from_slice(&s1.word(0).to_le_bytes());
        let _ = util::write_all(&res_w, &msg);
        let s2 = Script::new(&[
            Step::Write {
                fd: held_w.as_raw_fd(),
                byte: b'2',
            },
            Step::Read {
                fd: go_r.as_raw_fd(),
            },
            Step::ExitGroup { code: 6 },
        ]);
        let v2 = sys::clone_script(CLONE_VM | CLONE_VFORK, 17, &s2).unwrap_or(-1);
        let _ = util::write_all(&res_w, b"R");
        let st1 = sys::wait4(v, 0).ok().flatten().map_or(-1, |r| r.status);
        let st2 = sys::wait4(v2, 0).ok().flatten().map_or(-1, |r| r.status);
        let mut m = st1.to_le_bytes().to_vec();
        m.extend_from_slice(&st2.to_le_bytes());
        let _ = util::write_all(&res_w, &m);
        0
    })?;
    let mut f = Facts::new();
    let d = lm::vfork_wait_state(ctx.kernel);
    let d = Expect {
        value: d.value.to_string(),
        rule: d.rule,
    };
    let not_yet = Expect {
        value: false,
        rule: "L-VFORK-SUSPEND",
    };
    if read_byte(&held_r, STEP)? != b'h' {
        return Err(Abort::Broken("vfork child did not start".into()));
    }
    is_d(p);
    f.add("held/caller_state", d.clone(), state(p));
    f.add("held/caller_resumed", not_yet, !quiet(&res_r));
    util::write_all(&go_w, b"g")?;
    if read_byte(&held_r, STEP)? != b'f' {
        return Err(Abort::Broken(
            "vfork child did not report its failed exec".into(),
        ));
    }
    f.add("after_failed_exec/caller_state", d.clone(), state(p));
    f.add(
        "after_failed_exec/caller_resumed",
        lm::vfork_releases(VforkEvent::ExecFailed),
        !quiet(&res_r),
    );
    util::write_all(&go_w, b"g")?;
    let resumed = util::readable(&res_r, STEP);
    f.add(
        "after_exec/caller_resumed",
        lm::vfork_releases(VforkEvent::ExecSucceeded),
        resumed,
    );
    if !resumed {
        return f.done();
    }
    let msg = read_n(&res_r, 13, STEP)?;
    let v = i32::from_le_bytes([msg[1], msg[2], msg[3], msg[4]]);
    let word = u64::from_le_bytes(msg[5..13].try_into().unwrap_or([0; 8]));
    let (_, shared) = lm::vfork_semantics(true, true);
    f.add(
        "shared_write_seen",
        Expect {
            value: SHARED,
            rule: shared.rule,
        },
        word,
    );
    let running = util::proc_state(v).is_some_and(|c| c != 'Z');
    f.add(
        "after_exec/exec_child_still_running",
        Expect {
            value: true,
            rule: "L-VFORK-RELEASE",
        },
        running,
    );
    // Second vfork: the first child's (exec'd) exit must not release it.
    if read_byte(&held_r, STEP)? != b'2' {
        return Err(Abort::Broken("second vfork child did not start".into()));
    }
    is_d(p);
    drop(hold_w);
    let z = util::spin_until(STEP, || util::proc_state(v) == Some('Z'));
    if !z {
        return Err(Abort::Broken(format!(
            "exec'd child {v} did not exit: {}",
            state(v)
        )));
    }
    f.add("exec_child_exit/caller_state", d, state(p));
    f.add(
        "exec_child_exit/caller_resumed",
        lm::vfork_releases(VforkEvent::ExitAfterExec),
        !quiet(&res_r),
    );
    util::write_all(&go_w, b"g")?;
    let resumed2 = util::readable(&res_r, STEP);
    f.add(
        "second_child_exit/caller_resumed",
        lm::vfork_releases(VforkEvent::Exited),
        resumed2,
    );
    if resumed2 {
        read_byte(&res_r, STEP)?;
        let st1 = read_u32(&res_r, STEP)? as i32;
        let st2 = read_u32(&res_r, STEP)? as i32;
        f.add("exec_child_status", lm::exit_status(42), st1);
        f.add("second_child_status", lm::exit_status(6), st2);
    }
    f.done()
}

#[derive(Clone, Copy, PartialEq)]
enum Release {
    Exit,
    Kill,
}

fn simple(ctx: &Ctx, flags: u64, release: Release) -> Result<Check, Abort> {
    let (held_r, held_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let (res_r, res_w) = pipe()?;
    let p = fork_child(move || {
        let s = Script::new(&[
            Step::Store {
                word: 0,
                value: SHARED,
            },
            Step::Write {
                fd: held_w.as_raw_fd(),
                byte: b'h',
            },
            Step::Read {
                fd: go_r.as_raw_fd(),
            },
            Step::ExitGroup { code: 5 },
        ]);
        let v = sys::clone_script(flags, 17, &s).unwrap_or(-1);
        let mut msg = vec![b'r'];
        msg.extend_from_slice(&s.word(0).to_le_bytes());
        let st = sys::wait4(v, 0).ok().flatten().map_or(-1, |r| r.status);
        msg.extend_from_slice(&st.to_le_bytes());
        let _ = util::write_all(&res_w, &msg);
        0
    })?;
    let mut f = Facts::new();
    let d = lm::vfork_wait_state(ctx.kernel);
    let (suspends, shares) = lm::vfork_semantics(flags & CLONE_VM != 0, flags & CLONE_VFORK != 0);
    if read_byte(&held_r, STEP)? != b'h' {
        return Err(Abort::Broken("vfork child did not start".into()));
    }
    is_d(p);
    f.add(
        "held/caller_state",
        Expect {
            value: if suspends.value {
                d.value.to_string()
            } else {
                "S".into()
            },
            rule: d.rule,
        },
        state(p),
    );
    f.add(
        "held/caller_resumed",
        Expect {
            value: !suspends.value,
            rule: suspends.rule,
        },
        !quiet(&res_r),
    );
    let (event, status) = match release {
        Release::Exit => {
            util::write_all(&go_w, b"g")?;
            (VforkEvent::Exited, lm::exit_status(5))
        }
        Release::Kill => {
            let kids =
                std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")).unwrap_or_default();
            let v: i32 = kids
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                // Without .../children (gVisor): the PPid of every process.
                .or_else(|| forklore_observe::children_of(p).first().map(|c| c.0))
                .unwrap_or(0);
            if v <= 0 {
                return Err(Abort::Broken("cannot find the vfork child".into()));
            }
            kill(Pid::from_raw(v), Signal::SIGKILL)?;
            (VforkEvent::KilledBySignal, lm::signaled_status(9, false))
        }
    };
    let resumed = util::readable(&res_r, STEP);
    f.add(
        "released/caller_resumed",
        lm::vfork_releases(event),
        resumed,
    );
    if resumed {
        let msg = read_n(&res_r, 13, STEP)?;
        let word = u64::from_le_bytes(msg[1..9].try_into().unwrap_or([0; 8]));
        let st = i32::from_le_bytes(msg[9..13].try_into().unwrap_or([0; 4]));
        f.add(
            "child_write_seen_by_caller",
            Expect {
                value: if shares.value { SHARED } else { 0 },
                rule: shares.rule,
            },
            word,
        );
        f.add("child_status", status, st);
    }
    f.done()
}

pub fn exit_releases(ctx: &Ctx) -> Result<Check, Abort> {
    simple(ctx, CLONE_VM | CLONE_VFORK, Release::Exit)
}

pub fn no_vm(ctx: &Ctx) -> Result<Check, Abort> {
    simple(ctx, CLONE_VFORK, Release::Exit)
}

pub fn killed(ctx: &Ctx) -> Result<Check, Abort> {
    simple(ctx, CLONE_VM | CLONE_VFORK, Release::Kill)
}
