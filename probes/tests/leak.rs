//! Nothing a batch creates may outlive it, even when a case crashes or
//! hangs the probe. Its own test binary, so no other test's probes are
//! counted.

use forklore_model::flags::*;
use forklore_model::{Clone3Args, Request};
use forklore_probe::*;
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// (pid, ppid, pgrp, state) of every process.
fn processes() -> Vec<(i32, i32, i32, char)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = s.rfind(')') else { continue };
        let f: Vec<&str> = s[close + 2..].split(' ').collect();
        let state = f[0].chars().next().unwrap_or('?');
        v.push((
            pid,
            f[1].parse().unwrap_or(0),
            f[2].parse().unwrap_or(0),
            state,
        ));
    }
    v
}

/// Processes (zombies included) descending from this test process.
fn descendants() -> Vec<(i32, char)> {
    let me = std::process::id() as i32;
    let all = processes();
    let parent: HashMap<i32, i32> = all.iter().map(|p| (p.0, p.1)).collect();
    all.iter()
        .filter(|p| {
            let mut cur = p.1;
            for _ in 0..64 {
                if cur == me {
                    return true;
                }
                match parent.get(&cur) {
                    Some(pp) if *pp != cur => cur = *pp,
                    _ => return false,
                }
            }
            false
        })
        .map(|p| (p.0, p.3))
        .collect()
}

fn varied_cases() -> Vec<ProbeCase> {
    let root = nix::unistd::geteuid().is_root();
    let mut kinds: Vec<Request> = vec![
        Request::fork(),
        Request::vfork(),
        Request::clone(SIGCHLD),
        Request::clone(0),
        Request::clone(CLONE_VM | SIGCHLD),
        Request::clone(CLONE_VM | CLONE_VFORK | SIGCHLD),
        Request::clone(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM),
        Request::clone(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_CHILD_CLEARTID),
        Request::clone(CLONE_PARENT | SIGCHLD),
        Request::clone(CLONE_PARENT | CLONE_VM | CLONE_VFORK),
        Request::clone(CLONE_PIDFD | SIGCHLD),
        Request::clone3(CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0),
        Request::clone(CLONE_THREAD | SIGCHLD),
        Request::clone(CLONE_FILES | CLONE_FS | CLONE_IO | SIGCHLD),
        Request::clone(CLONE_NEWUSER | SIGCHLD),
        Request::clone(19), // exit signal SIGSTOP: the reaper resumes the worker
        Request::clone3(0, 64),
        Request::clone(9), // exit signal SIGKILL: a throwaway caller dies instead
    ];
    if root {
        kinds.push(Request::clone(CLONE_NEWPID | SIGCHLD));
        kinds.push(Request::clone(
            CLONE_NEWPID | CLONE_SIGHAND | CLONE_VM | SIGCHLD,
        ));
        kinds.push(Request::clone(
            CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD,
        ));
        let mut r = Request::clone3(CLONE_INTO_CGROUP, 17);
        r.clone3 = Some(Clone3Args {
            cgroup: forklore_model::CgroupFd::Cgroup2 { created: true },
            ..Clone3Args::default()
        });
        kinds.push(r);
    }
    let mut cases = Vec::new();
    for i in 0..300 {
        let level = if i % 3 == 0 {
            ObserveLevel::Full
        } else {
            ObserveLevel::Light
        };
        cases.push(ProbeCase::new(
            format!("c{i}"),
            kinds[i % kinds.len()].clone(),
            level,
        ));
        if i == 150 {
            cases.push(ProbeCase::crash_probe("mid"));
        }
        if i == 200 {
            cases.push(ProbeCase::stall_probe("mid"));
        }
    }
    cases
}

/// One batch of varied cases in `ctx` (with a crash and a stall) leaves no
/// process, process-group member or cgroup behind. A context that cannot
/// be arranged here is reported as ignored, with the reason.
fn a_batch_leaves_nothing_behind(ctx: ContextSpec) -> Result<Completion, Failed> {
    let before = descendants();
    assert!(
        before.is_empty(),
        "descendants before the batch: {before:?}"
    );
    let cmd = ProbeCommand::current_exe().expect("own executable");
    let cases = varied_cases();
    {
        let r = run_batch(&cmd, &ctx, &cases, Duration::from_secs(3));
        if let Err(why) = &r.context {
            return Ok(Completion::ignored_with(format!("context {ctx}: {why}")));
        }
        assert_eq!(r.results.len(), cases.len());
        let broken: Vec<_> = r
            .results
            .iter()
            .filter(|(_, o)| o.outcome == CaseOutcome::Broken)
            .map(|(id, o)| format!("{id}: {:?}", o.broken))
            .collect();
        assert_eq!(
            broken.len(),
            2,
            "{ctx}: only the crash and the stall are broken: {broken:?}"
        );
        assert_eq!(
            r.probe_pids.len(),
            3,
            "one probe, one after the crash, one after the stall"
        );
        let after = descendants();
        assert!(after.is_empty(), "{ctx}: left behind: {after:?}");
        // Killed or reparented processes are gone from the probes' groups too.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left: Vec<_> = processes()
                .into_iter()
                .filter(|p| r.probe_pids.contains(&(p.2 as u32)))
                .collect();
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{ctx}: still in the probes' process groups: {left:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(m) = forklore_observe::cgroup2_mount() {
            for pid in &r.probe_pids {
                assert!(
                    !m.join(format!("forklore-{pid}")).exists(),
                    "cgroup left behind"
                );
            }
        }
    }
    Ok(Completion::Completed)
}

fn main() {
    // Re-executed as the probe: become it before any thread starts.
    if std::env::args().nth(1).as_deref() == Some("__probe") {
        std::process::exit(probe_main());
    }
    let mut args = Arguments::from_args();
    // Each trial counts the test process's descendants: one at a time.
    args.test_threads = Some(1);
    let trials = [
        ContextSpec::AsIs,
        ContextSpec::Unprivileged,
        ContextSpec::UnsharePid,
    ]
    .into_iter()
    .map(|ctx| {
        Trial::ignorable_test(format!("a_batch_leaves_nothing_behind/{ctx}"), move || {
            a_batch_leaves_nothing_behind(ctx)
        })
    })
    .collect();
    libtest_mimic::run(&args, trials).exit();
}
