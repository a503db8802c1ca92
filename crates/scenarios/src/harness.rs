//! The scenario process: it drops privileges if asked, becomes a child
//! subreaper (where it cannot, the cases that need one are skipped and the
//! process group finds what the others left), forks one case process per scenario, collects the case's
//! result over a pipe (killing it at [`CASE_DEADLINE`]), then kills and
//! reaps every descendant left, and prints one JSON [`ScenarioResult`] line
//! per scenario.

use crate::case::{Abort, Case, Check, Ctx};
use crate::cases::CASES;
use crate::result::{ScenarioResult, Verdict};
use crate::util;
use forklore_model::lifecycle::wopt::{WALL, WEXITED, WNOHANG, WNOWAIT};
use forklore_sys as sys;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::Read;
use std::io::Write as _;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// The deadline a scenario process gives each case before killing it.
pub const CASE_DEADLINE: Duration = Duration::from_secs(20);

/// Entry point of the scenario process. `args` may be the whole argv
/// (everything up to and including `"__scenario"` is skipped) or just what
/// follows it: `[--as-uid N] [--kernel X.Y[.Z]] <id>...`. Prints one JSON [`ScenarioResult`]
/// line per id on stdout. Returns 0, or 2 on bad arguments.
pub fn scenario_main(args: &[String]) -> i32 {
    let rest = match args.iter().position(|a| a == "__scenario") {
        Some(i) => &args[i + 1..],
        None => args,
    };
    let mut ids = Vec::new();
    let mut as_uid = None;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if a == "--as-uid" {
            match it.next().and_then(|v| v.parse::<u32>().ok()) {
                Some(u) => as_uid = Some(u),
                None => {
                    let _ = writeln!(std::io::stderr(), "__scenario: --as-uid needs a number");
                    return 2;
                }
            }
        } else if a == "--kernel" {
            match it.next().and_then(|v| v.parse().ok()) {
                Some(k) => {
                    let _ = crate::case::DECLARED_KERNEL.set(k);
                }
                None => {
                    let _ = writeln!(std::io::stderr(), "__scenario: --kernel needs X.Y[.Z]");
                    return 2;
                }
            }
        } else {
            ids.push(a.clone());
        }
    }
    let out = run_in_scenario_process(&ids, as_uid);
    // Not println!: a write error (the runner went away, a full device) is
    // an exit code, never a panic.
    let mut stdout = std::io::stdout().lock();
    for r in out {
        let line = serde_json::to_string(&r).unwrap_or_default();
        if writeln!(stdout, "{line}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return 3;
        }
    }
    0
}

/// Without a subreaper, orphans of a case went to init: SIGKILL every
/// other live member of this process's group (the runner starts the
/// scenario process as a group leader, and every case process and its
/// descendants inherit the group).
fn kill_group() {
    let me = std::process::id() as i32;
    if nix::unistd::getpgrp().as_raw() != me {
        return;
    }
    for _ in 0..1000 {
        let alive: Vec<i32> = forklore_observe::group_members(me)
            .into_iter()
            .filter(|&(pid, state)| pid != me && state != 'Z' && state != 'X')
            .map(|(pid, _)| pid)
            .collect();
        if alive.is_empty() {
            return;
        }
        for pid in alive {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Kill and reap every descendant (they are reparented to this subreaper;
/// without one, the process group finds them).
pub fn kill_and_reap_all(timeout: Duration) {
    if !IS_SUBREAPER.load(std::sync::atomic::Ordering::Relaxed) {
        kill_group();
    }
    let deadline = Instant::now() + timeout;
    loop {
        for c in forklore_observe::self_children() {
            let _ = kill(Pid::from_raw(c), Signal::SIGKILL);
        }
        match sys::wait4(-1, WALL | WNOHANG) {
            Err(_) => return, // ECHILD: nothing left
            Ok(None) => {
                if Instant::now() >= deadline {
                    return;
                }
                // Something is dying: block until it is reapable.
                let _ = sys::waitid(0, 0, WEXITED | WNOWAIT | WALL);
            }
            Ok(_) => {}
        }
    }
}

/// The facts on which `expected` and `observed` differ, as
/// "key: expected X, observed Y" (every key of either side).
pub fn differences(expected: &serde_json::Value, observed: &serde_json::Value) -> Vec<String> {
    let (Some(e), Some(o)) = (expected.as_object(), observed.as_object()) else {
        return if expected == observed {
            Vec::new()
        } else {
            vec![format!("expected {expected}, observed {observed}")]
        };
    };
    let null = serde_json::Value::Null;
    let mut keys: Vec<&String> = e.keys().chain(o.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (a, b) = (e.get(k).unwrap_or(&null), o.get(k).unwrap_or(&null));
            (a != b).then(|| format!("{k}: expected {a}, observed {b}"))
        })
        .collect()
}

/// The verdict of one case. `tight`: the suite's own headroom before the
/// case was short ([`forklore_observe::limits::tight`]); a mismatch seen
/// then may be the suite's shortage, not the kernel's behaviour, so it is
/// `Env` with both sides kept. A `Fail` always names what differed.
fn result_from(
    id: &str,
    group: &str,
    start: Instant,
    r: Result<Check, Abort>,
    tight: Option<String>,
) -> ScenarioResult {
    let mut out = ScenarioResult {
        id: id.to_string(),
        group: group.to_string(),
        verdict: Verdict::Broken,
        expected: serde_json::Value::Null,
        observed: serde_json::Value::Null,
        rule: None,
        reason: None,
        duration_ms: 0,
    };
    match r {
        Ok(c) => {
            let diffs = differences(&c.expected, &c.observed);
            out.rule = Some(c.rules.join(","));
            if diffs.is_empty() {
                out.verdict = Verdict::Pass;
                out.reason = c.note;
            } else {
                let what = match &c.note {
                    Some(n) => format!("{}; {n}", diffs.join("; ")),
                    None => diffs.join("; "),
                };
                match tight {
                    Some(short) => {
                        out.verdict = Verdict::Env;
                        out.reason = Some(format!("{short}; not judged: {what}"));
                    }
                    None => {
                        out.verdict = Verdict::Fail;
                        out.reason = Some(what);
                    }
                }
            }
            out.expected = c.expected;
            out.observed = c.observed;
        }
        Err(Abort::Skip(r)) => {
            out.verdict = Verdict::Skip;
            out.reason = Some(r);
        }
        Err(Abort::Env(r)) => {
            out.verdict = Verdict::Env;
            out.reason = Some(r);
        }
        // A case that could not run while the suite was short of headroom
        // ("EOF after 0 of 1 bytes" from a helper that could not fork):
        // the environment, with both facts named.
        Err(Abort::Broken(r)) => match tight {
            Some(short) => {
                out.verdict = Verdict::Env;
                out.reason = Some(format!("{short}; the case could not run: {r}"));
            }
            None => out.reason = Some(r),
        },
    }
    out.duration_ms = start.elapsed().as_millis() as u64;
    out
}

fn drop_privileges(uid: u32) -> Result<(), String> {
    use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
    if util::euid() != 0 {
        return Ok(());
    }
    setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
    let g = Gid::from_raw(uid);
    setresgid(g, g, g).map_err(|e| format!("setresgid: {e}"))?;
    let u = Uid::from_raw(uid);
    setresuid(u, u, u).map_err(|e| format!("setresuid: {e}"))?;
    Ok(())
}

/// Whether this process became a child subreaper.
static IS_SUBREAPER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Become a child subreaper; the reason when that is not possible (or
/// simulated missing).
fn become_subreaper() -> Result<(), String> {
    if forklore_observe::simulated_missing("subreaper") {
        return Err(format!(
            "no child subreaper: PR_SET_CHILD_SUBREAPER not used (simulated by {})",
            forklore_observe::SIMULATE_ENV
        ));
    }
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| format!("no child subreaper: PR_SET_CHILD_SUBREAPER failed with {e:?}"))?;
    IS_SUBREAPER.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// The body of the scenario process.
pub fn run_in_scenario_process(ids: &[String], as_uid: Option<u32>) -> Vec<ScenarioResult> {
    let mut out = Vec::new();
    let priv_err = as_uid.map(drop_privileges).and_then(Result::err);
    // Orphans of a case come back to us, so nothing escapes the cleanup.
    // Without one, only the cases that need it are skipped.
    let subreaper = become_subreaper();
    for id in ids {
        let start = Instant::now();
        let Some(case) = CASES.iter().find(|c| c.id == id.as_str()) else {
            out.push(result_from(
                id,
                "unknown",
                start,
                Err(Abort::Broken(format!("no scenario {id:?}"))),
                None,
            ));
            continue;
        };
        // Measured before the case: the case's own pipes and children
        // would distort a measurement taken after it.
        let tight = forklore_observe::limits::tight();
        let r = if let Some(e) = &priv_err {
            Err(Abort::Broken(format!(
                "cannot drop to the unprivileged uid: {e}"
            )))
        } else if let (Err(why), true) = (&subreaper, case.needs.contains(&"subreaper")) {
            Err(Abort::Skip(why.clone()))
        } else if case.needs_root && util::euid() != 0 {
            Err(Abort::Skip("needs root".into()))
        } else if case.needs_root
            && !forklore_observe::effective_caps().has(forklore_model::cap::CAP_SYS_ADMIN)
        {
            // Every root-only scenario makes a mount or pid namespace: root
            // without CAP_SYS_ADMIN (a container's default) cannot.
            Err(Abort::Skip(
                "needs CAP_SYS_ADMIN (root here lacks it, as in a container)".into(),
            ))
        } else {
            run_case_process(case)
        };
        out.push(result_from(id, case.group(), start, r, tight));
        kill_and_reap_all(Duration::from_secs(5));
    }
    out
}

/// Fork the case process, collect its JSON result, kill it at the deadline.
fn run_case_process(case: &'static Case) -> Result<Check, Abort> {
    let (r, w) = util::pipe()?;
    match sys::fork_single_threaded(17)
        .map_err(|e| util::own_failure(e.raw(), "fork", format!("fork: errno {e}")))?
    {
        sys::Forked::Child => {
            drop(r);
            // The case never writes on the scenario process's stdout.
            if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
                let _ = sys::dup2(null.as_raw_fd(), 1);
            }
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
            let ctx = Ctx::detect();
            let res = (case.run)(&ctx);
            let msg = match res {
                Ok(c) => serde_json::json!({"ok": c}),
                Err(a) => serde_json::json!({"abort": a}),
            };
            let _ = util::write_all(&w, msg.to_string().as_bytes());
            drop(w);
            sys::exit_group(0);
        }
        sys::Forked::Parent { child: pid } => {
            drop(w);
            let exited = util::exited_within(pid, CASE_DEADLINE)?;
            if !exited {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let status = sys::wait4(pid, WALL)
                .ok()
                .flatten()
                .map_or(-1, |r| r.status);
            let mut buf = Vec::new();
            // The case wrote before exiting; descendants may still hold the
            // pipe, so read only what is there.
            let _ = nix::fcntl::fcntl(
                &r,
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            );
            let mut f = std::fs::File::from(r);
            let _ = f.read_to_end(&mut buf);
            if !exited {
                return Err(Abort::Broken(format!(
                    "case timed out after {CASE_DEADLINE:?}"
                )));
            }
            let v: serde_json::Value = serde_json::from_slice(&buf).map_err(|_| {
                Abort::Broken(format!(
                    "case process died without a result (wait status {status:#x})"
                ))
            })?;
            if let Some(c) = v.get("ok") {
                serde_json::from_value(c.clone()).map_err(|e| Abort::Broken(e.to_string()))
            } else {
                Err(serde_json::from_value(v["abort"].clone())
                    .unwrap_or(Abort::Broken("bad abort".into())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(obs: serde_json::Value) -> Result<Check, Abort> {
        Ok(Check {
            expected: json!({"threads": 1, "pid": 7}),
            observed: obs,
            rules: vec!["L-EXEC-DE-THREAD".into()],
            note: None,
        })
    }

    #[test]
    fn a_mismatch_is_a_fail_with_a_reason() {
        let r = result_from(
            "a",
            "exec",
            Instant::now(),
            check(json!({"threads": 2, "pid": 7})),
            None,
        );
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.reason.as_deref(), Some("threads: expected 1, observed 2"));
        let r = result_from(
            "a",
            "exec",
            Instant::now(),
            check(json!({"threads": 1, "pid": 7})),
            None,
        );
        assert_eq!(r.verdict, Verdict::Pass);
        // A key only one side has is a difference too.
        assert_eq!(
            differences(&json!({"a": 1}), &json!({"a": 1, "b": false})),
            vec!["b: expected null, observed false".to_string()]
        );
    }

    #[test]
    fn a_mismatch_while_short_is_env_and_keeps_both_sides() {
        let short = Some("the suite is short of file descriptors (RLIMIT_NOFILE 16)".to_string());
        let r = result_from(
            "a",
            "exec",
            Instant::now(),
            check(json!({"threads": 2, "pid": 7})),
            short.clone(),
        );
        assert_eq!(r.verdict, Verdict::Env);
        let why = r.reason.unwrap();
        assert!(
            why.starts_with("the suite is short of file descriptors")
                && why.contains("threads: expected 1, observed 2"),
            "{why}"
        );
        assert_eq!(r.observed["threads"], 2);
        // Short but matching: still a pass.
        let r = result_from(
            "a",
            "exec",
            Instant::now(),
            check(json!({"threads": 1, "pid": 7})),
            short,
        );
        assert_eq!(r.verdict, Verdict::Pass);
        // A setup call that hit EMFILE is env, naming the limit.
        let a: Abort = nix::errno::Errno::EMFILE.into();
        assert!(
            matches!(a, Abort::Env(ref w) if w.contains("RLIMIT_NOFILE")),
            "{a:?}"
        );
        let a: Abort = nix::errno::Errno::EINVAL.into();
        assert!(matches!(a, Abort::Broken(_)));
        // Broken while short: env; broken with headroom: broken.
        let b = || Err(Abort::Broken("EOF after 0 of 1 bytes".into()));
        let r = result_from("a", "exec", Instant::now(), b(), Some("short".into()));
        assert_eq!(r.verdict, Verdict::Env);
        assert_eq!(
            r.reason.as_deref(),
            Some("short; the case could not run: EOF after 0 of 1 bytes")
        );
        assert_eq!(
            result_from("a", "exec", Instant::now(), b(), None).verdict,
            Verdict::Broken
        );
    }
}
