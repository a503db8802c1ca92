//! Observed vs predicted: the verdict of one case, and the command line that
//! reproduces it.

use crate::input::RequestOptions;
use crate::report::Verdict;
use forklore_model::{
    Context, Outcome, Parent, Prediction, Ptr, ReapedBy, Request, Semantics, Syscall,
};
use forklore_probe::{CaseOutcome, Observation};

/// A `forklore probe ...` command line that runs this request in this
/// context: the arguments of [`RequestOptions::from_request`], which
/// `forklore probe` parses back into the same request.
pub fn repro_command(req: &Request, context: &str) -> String {
    let mut a = vec!["forklore".to_string(), "probe".to_string()];
    a.extend(RequestOptions::from_request(req).to_argv());
    a.extend(["--context".to_string(), context.to_string()]);
    a.join(" ")
}

/// The last word on a case's verdict. A `fail` blames the kernel or the
/// model, so it must carry both sides (expected and observed) and a
/// reason; a would-be fail without them is a bug in forklore, reported as
/// `broken` with that explanation instead. Every other non-pass verdict
/// gets a reason too.
pub fn settle(mut r: crate::report::CaseResult) -> crate::report::CaseResult {
    let empty = |v: &serde_json::Value| v.is_null() || v.as_object().is_some_and(|o| o.is_empty());
    let no_reason = !r.reason.as_deref().is_some_and(|s| !s.trim().is_empty());
    if r.verdict == Verdict::Fail {
        let mut missing = Vec::new();
        if no_reason {
            missing.push("a reason");
        }
        if empty(&r.expected) {
            missing.push("the expected side");
        }
        if empty(&r.observed) {
            missing.push("the observed side");
        }
        if !missing.is_empty() {
            let was = r.reason.take().filter(|s| !s.trim().is_empty());
            r.verdict = Verdict::Broken;
            r.reason = Some(format!(
                "forklore bug: a fail without {}{}",
                missing.join(" or "),
                was.map(|w| format!(" ({w})")).unwrap_or_default()
            ));
        }
    } else if r.verdict != Verdict::Pass && no_reason {
        r.reason =
            Some(format!("{:?} without a stated reason (forklore bug)", r.verdict).to_lowercase());
    }
    r
}

fn errno_text(e: forklore_model::Errno) -> String {
    e.to_string()
}

/// The observation as reported in JSON: the probe's fields, with `errno`
/// as a name (null if the number is unknown to us) next to `errno_value`
/// (the raw number, always kept), like the explain object.
pub fn observation_json(obs: &Observation) -> serde_json::Value {
    let mut v = serde_json::to_value(obs).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        // Serialisation leaves out what was not observed (for the pipe);
        // a report lists every field.
        for f in forklore_probe::observation_fields() {
            map.entry(*f).or_insert(serde_json::Value::Null);
        }
        map.insert("errno".into(), obs.errno.and_then(|e| e.name()).into());
        map.insert("errno_value".into(), obs.errno.map(|e| e.0).into());
    }
    v
}

/// One line describing what the probe saw.
pub fn observed_summary(obs: &Observation) -> String {
    match obs.outcome {
        CaseOutcome::Error => match obs.errno {
            Some(e) => format!("{} ({})", errno_text(e), e.0),
            None => "error".into(),
        },
        CaseOutcome::Success => {
            let mut parts = vec![format!("success: child {}", obs.ret.unwrap_or(-1))];
            if let (Some(p), Some(t), Some(pp)) = (obs.pid, obs.tgid, obs.ppid) {
                parts.push(format!("child saw tid {p} pid {t} ppid {pp}"));
            }
            if let Some(s) = &obs.proc_state {
                parts.push(format!("state {s}"));
            }
            if let Some(s) = &obs.zombie_state {
                parts.push(format!("then {s}"));
            }
            if let Some(e) = obs.exit_signal {
                parts.push(format!("exit_signal {e}"));
            }
            if let Some(r) = observed_reaped(obs) {
                parts.push(format!("reaped by {}", reaped_name(r)));
            }
            if let Some(k) = obs.pidfd {
                parts.push(format!("pidfd {k:?}").to_lowercase());
            }
            if obs.caller_suspended == Some(true) {
                parts.push("caller suspended".into());
            }
            parts.join(", ")
        }
        CaseOutcome::Broken => format!("broken: {}", obs.broken.as_deref().unwrap_or("?")),
        CaseOutcome::Skipped => format!("skipped: {}", obs.skipped.as_deref().unwrap_or("?")),
    }
}

fn reaped_name(r: ReapedBy) -> &'static str {
    match r {
        ReapedBy::Plain => "plain wait",
        ReapedBy::Wclone => "__WCLONE",
        ReapedBy::Wall => "__WALL",
        ReapedBy::None => "nobody (not waitable)",
        ReapedBy::Autoreaped => "the kernel (auto-reaped)",
        ReapedBy::CallersParent => "the caller's parent",
    }
}

/// Which wait reaped the child. The probe reports `none` both for threads
/// (joined through CHILD_CLEARTID) and for processes no wait found
/// (ECHILD): the latter were auto-reaped by the kernel.
fn observed_reaped(obs: &Observation) -> Option<ReapedBy> {
    // A thread reports the caller's tgid and a tid of its own.
    let thread = obs.tgid == Some(obs.caller_pid) && obs.pid != obs.tgid;
    match (obs.reaped_by, obs.wait_errno) {
        (Some(ReapedBy::None), Some(e)) if e == forklore_model::Errno::ECHILD && !thread => {
            Some(ReapedBy::Autoreaped)
        }
        (r, _) => r,
    }
}

/// Compare the model's prediction with the observation.
///
/// An error prediction passes when the errno matches. A success prediction
/// passes when every observed fact the model speaks about matches: thread
/// group, parent as the child saw it, pid namespace, exit_signal, the wait
/// option that reaped it, pidfd kind, the *_SETTID words and vfork
/// suspension. Facts not observed at this level are not judged.
pub fn compare(
    req: &Request,
    ctx: &Context,
    pred: &Prediction,
    obs: &Observation,
) -> (Verdict, Option<String>) {
    match obs.outcome {
        CaseOutcome::Broken => {
            return (
                Verdict::Broken,
                Some(obs.broken.clone().unwrap_or_else(|| "broken".into())),
            )
        }
        CaseOutcome::Skipped => {
            return (
                Verdict::Skip,
                Some(obs.skipped.clone().unwrap_or_else(|| "skipped".into())),
            )
        }
        _ => {}
    }
    let rule = pred.rule.map(|r| r.id).unwrap_or("-");
    match &pred.outcome {
        // A0: a seccomp filter is installed, and a filter may answer clone3
        // itself. It did only if the call failed the way filters fail
        // (ENOSYS, as Docker's profile does, or EPERM). Any other answer
        // came from the kernel (podman's default profile allows clone3), so
        // it is judged against the model as if no filter were there.
        Outcome::Environment { .. }
            if pred.rule.is_some_and(|r| r.id == "A0")
                && environment_explains(req, ctx, obs).is_none() =>
        {
            let unfiltered = Context {
                seccomp_filter: false,
                ..ctx.clone()
            };
            let p = forklore_model::predict(req, &unfiltered);
            let (v, why) = compare(req, &unfiltered, &p, obs);
            let why = why.map(|w| format!("{w} (the seccomp filter let {} through)", req.syscall));
            (v, why)
        }
        Outcome::Environment { reason } => {
            let seen = match (obs.outcome, obs.errno) {
                (CaseOutcome::Error, Some(e)) => e.to_string(),
                _ => "success".to_string(),
            };
            (Verdict::Env, Some(format!("observed {seen}: {reason}")))
        }
        Outcome::Error { errno } => match obs.outcome {
            CaseOutcome::Error if obs.errno == Some(*errno) => (Verdict::Pass, None),
            _ => {
                let seen = observed_summary(obs);
                if let Some(env) = environment_explains(req, ctx, obs) {
                    return (
                        Verdict::Env,
                        Some(format!("{env}; model predicted {errno} ({rule})")),
                    );
                }
                (
                    Verdict::Fail,
                    Some(format!("expected {errno} ({rule}), observed {seen}")),
                )
            }
        },
        Outcome::Success(sem) => {
            if obs.outcome == CaseOutcome::Error {
                if let Some(env) = environment_explains(req, ctx, obs) {
                    return (Verdict::Env, Some(env));
                }
                return (
                    Verdict::Fail,
                    Some(format!(
                        "expected success, observed {}",
                        observed_summary(obs)
                    )),
                );
            }
            let diffs = semantic_diffs(req, ctx, sem, obs);
            if diffs.is_empty() {
                (Verdict::Pass, None)
            } else {
                (
                    Verdict::Fail,
                    Some(format!("succeeded, but {}", diffs.join("; "))),
                )
            }
        }
    }
}

/// Errors the environment, not a kernel rule, produced: a seccomp filter
/// returning ENOSYS/EPERM (Docker's default profile does this for clone3),
/// or resource exhaustion the model does not track.
fn environment_explains(req: &Request, ctx: &Context, obs: &Observation) -> Option<String> {
    let e = obs.errno?;
    if ctx.seccomp_filter
        && (e == forklore_model::Errno::ENOSYS || e == forklore_model::Errno::EPERM)
    {
        return Some(format!(
            "a seccomp filter is installed and {} returned {e}",
            req.syscall
        ));
    }
    if e == forklore_model::Errno::ENOMEM && !ctx.pidns_dead {
        return Some("ENOMEM: memory or a kernel resource ran out".into());
    }
    if e == forklore_model::Errno::EAGAIN {
        if let Some(short) = &obs.pids_short {
            return Some(format!(
                "EAGAIN with a task limit nearly full of the suite's own processes: {short}"
            ));
        }
    }
    None
}

fn semantic_diffs(req: &Request, ctx: &Context, sem: &Semantics, obs: &Observation) -> Vec<String> {
    let mut d = Vec::new();
    let mut check = |what: &str, expected: String, observed: String| {
        if expected != observed {
            d.push(format!("{what}: expected {expected}, observed {observed}"));
        }
    };
    // Identity as the child saw it (§3.1): getpid() in the child.
    if let Some(tgid) = obs.tgid {
        let (ok, want) = if sem.new_pid_ns {
            (tgid == 1, "1 (init of a new pid namespace)".to_string())
        } else if sem.same_thread_group {
            (
                tgid == obs.caller_pid && obs.pid != Some(tgid),
                format!(
                    "{} (the caller's tgid, with a tid of its own)",
                    obs.caller_pid
                ),
            )
        } else if ctx.pidns_for_children_differs {
            // The child lives in the unshared namespace, where the caller has
            // no pid: it is that namespace's init if none lives yet.
            if ctx.unshared_pidns_has_init {
                (
                    tgid > 1 && obs.pid == Some(tgid),
                    "its own tid in the unshared namespace, not 1 (its init is another task)"
                        .to_string(),
                )
            } else {
                (
                    tgid == 1,
                    "1 (the unshared namespace's first task is its init)".to_string(),
                )
            }
        } else {
            (
                Some(tgid as i64) == obs.ret && obs.pid == Some(tgid),
                format!(
                    "{} (its own tid, as returned to the caller)",
                    obs.ret.unwrap_or(-1)
                ),
            )
        };
        if !ok {
            check("getpid() in the child", want, tgid.to_string());
        }
    }
    if let Some(ppid) = obs.ppid {
        let expected = if sem.new_pid_ns || ctx.pidns_for_children_differs {
            0
        } else {
            match sem.parent {
                Parent::Caller => obs.caller_pid,
                Parent::CallersParent => obs.caller_ppid,
            }
        };
        check(
            "getppid() in the child",
            expected.to_string(),
            ppid.to_string(),
        );
    }
    if let Some(es) = obs.exit_signal {
        check("exit_signal", sem.exit_signal.to_string(), es.to_string());
    }
    // Only in a traced caller (the `traced` context): who traces the child.
    if let (Some(want), Some(seen)) = (sem.tracer, obs.tracer) {
        check(
            "tracer (P-CLONE-PTRACE)",
            format!("{want:?}"),
            format!("{seen:?}"),
        );
    }
    if let Some(r) = observed_reaped(obs) {
        check(
            "reaped by",
            reaped_name(sem.reaped_by).into(),
            reaped_name(r).into(),
        );
    }
    if sem.pidfd.is_some() || obs.pidfd.is_some() {
        check(
            "pidfd",
            format!("{:?}", sem.pidfd),
            format!("{:?}", obs.pidfd),
        );
    }
    // PARENT_SETTID: the child's tid as the parent sees it, if the pointer
    // was the probe's word (faults are ignored, §1.F). Legacy clone with
    // CLONE_PIDFD uses the same slot for the pidfd.
    let legacy_pidfd = req.syscall == Syscall::Clone && sem.pidfd.is_some();
    if req.parent_tid == Ptr::Valid && !legacy_pidfd {
        let expected = if sem.parent_tid_written {
            obs.ret
        } else {
            None
        };
        check(
            "PARENT_SETTID word",
            format!("{expected:?}"),
            format!("{:?}", obs.parent_tid),
        );
    }
    // CHILD_SETTID: the child's tid in its own pid namespace.
    if req.child_tid == Ptr::Valid && obs.pid.is_some() {
        let expected = if sem.child_tid_written {
            obs.pid.map(i64::from)
        } else {
            None
        };
        check(
            "CHILD_SETTID word",
            format!("{expected:?}"),
            format!("{:?}", obs.child_tid),
        );
    }
    // set_tid: the child's pid in its own (innermost) namespace is the
    // first entry the probe passed.
    if sem.pid_from_set_tid {
        if let (Some(pid), Some(first)) = (obs.pid, obs.set_tid.as_ref().and_then(|v| v.first())) {
            check(
                "the child's pid (set_tid[0])",
                first.to_string(),
                pid.to_string(),
            );
        }
    }
    if let Some(s) = obs.caller_suspended {
        check(
            "caller suspended",
            sem.caller_suspended.to_string(),
            s.to_string(),
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use forklore_model::flags::*;
    use forklore_model::{predict, Caps, Errno, KernelVersion, TidSpec};

    fn ctx() -> Context {
        Context::root(KernelVersion::new(6, 18, 0), Caps::all())
    }

    /// EAGAIN from a creation the model lets succeed is the environment's
    /// only when the probe saw the pids cgroup nearly full at that moment;
    /// otherwise it is a disagreement.
    #[test]
    fn eagain_under_a_full_pids_cgroup_is_env() {
        let c = ctx();
        let req = Request::fork();
        let p = predict(&req, &c);
        let eagain = Observation {
            outcome: CaseOutcome::Error,
            ret: Some(-11),
            errno: Some(Errno::EAGAIN),
            ..Default::default()
        };
        assert_eq!(compare(&req, &c, &p, &eagain).0, Verdict::Fail);
        let short = Observation {
            pids_short: Some("the suite is short of processes (pids.max 10 ...)".into()),
            ..eagain
        };
        let (v, why) = compare(&req, &c, &p, &short);
        assert_eq!(v, Verdict::Env);
        assert!(why.unwrap().contains("pids.max 10"));
    }

    /// Under a seccomp filter, clone3 failing with ENOSYS is the filter's
    /// doing (env); any other answer is the kernel's and is judged.
    #[test]
    fn a_filter_that_lets_clone3_through_is_judged() {
        let c = Context {
            seccomp_filter: true,
            ..ctx()
        };
        let req = Request::clone3(CLONE_THREAD, 0);
        let p = predict(&req, &c);
        assert_eq!(p.rule.map(|r| r.id), Some("A0"));
        let err = |e: Errno| Observation {
            outcome: CaseOutcome::Error,
            ret: Some(-1),
            errno: Some(e),
            ..Default::default()
        };
        // The filter's answer.
        assert_eq!(compare(&req, &c, &p, &err(Errno::ENOSYS)).0, Verdict::Env);
        // The kernel's answer: THREAD without SIGHAND is EINVAL (E3).
        assert_eq!(compare(&req, &c, &p, &err(Errno::EINVAL)).0, Verdict::Pass);
        // A wrong kernel answer fails, naming the filter.
        let (v, why) = compare(&req, &c, &p, &err(Errno::E2BIG));
        assert_eq!(v, Verdict::Fail);
        assert!(why
            .unwrap()
            .contains("the seccomp filter let clone3 through"));
    }

    /// What a correct fork child looks like to the probe.
    fn fork_obs() -> Observation {
        Observation {
            outcome: CaseOutcome::Success,
            ret: Some(200),
            pid: Some(200),
            tgid: Some(200),
            ppid: Some(100),
            caller_pid: 100,
            caller_ppid: 50,
            reaped_by: Some(ReapedBy::Plain),
            exit_signal: Some(17),
            ..Default::default()
        }
    }

    fn result(verdict: Verdict, reason: Option<&str>, both: bool) -> crate::report::CaseResult {
        let side = if both {
            serde_json::json!({"errno": "EINVAL"})
        } else {
            serde_json::Value::Null
        };
        crate::report::CaseResult {
            id: "x/root".into(),
            group: "g".into(),
            tags: vec![],
            context: "root".into(),
            verdict,
            expected: side.clone(),
            observed: side,
            reason: reason.map(str::to_string),
            repro: None,
            generated: false,
        }
    }

    #[test]
    fn a_fail_needs_both_sides_and_a_reason() {
        // A complete fail stays a fail.
        let ok = settle(result(
            Verdict::Fail,
            Some("expected EINVAL, observed EPERM"),
            true,
        ));
        assert_eq!(ok.verdict, Verdict::Fail);
        // No reason: broken, and says so.
        let r = settle(result(Verdict::Fail, None, true));
        assert_eq!(r.verdict, Verdict::Broken);
        assert!(r.reason.unwrap().contains("without a reason"));
        let r = settle(result(Verdict::Fail, Some("  "), true));
        assert_eq!(r.verdict, Verdict::Broken);
        // No sides: broken, keeping the reason it had.
        let r = settle(result(Verdict::Fail, Some("differs"), false));
        assert_eq!(r.verdict, Verdict::Broken);
        let why = r.reason.unwrap();
        assert!(
            why.contains("the expected side") && why.contains("(differs)"),
            "{why}"
        );
        // Other verdicts are kept; a non-pass gets a reason.
        assert_eq!(
            settle(result(Verdict::Pass, None, false)).verdict,
            Verdict::Pass
        );
        assert_eq!(settle(result(Verdict::Pass, None, false)).reason, None);
        let e = settle(result(Verdict::Env, None, false));
        assert_eq!(e.verdict, Verdict::Env);
        assert!(e.reason.is_some());
    }

    #[test]
    fn errno_must_match() {
        let req = Request::clone(CLONE_THREAD | SIGCHLD);
        let p = predict(&req, &ctx());
        let mut obs = Observation {
            outcome: CaseOutcome::Error,
            errno: Some(Errno::EINVAL),
            ..Default::default()
        };
        assert_eq!(compare(&req, &ctx(), &p, &obs).0, Verdict::Pass);
        obs.errno = Some(Errno::EPERM);
        let (v, why) = compare(&req, &ctx(), &p, &obs);
        assert_eq!(v, Verdict::Fail);
        assert!(why.unwrap().contains("expected EINVAL (E3)"));
    }

    #[test]
    fn the_tracer_is_judged_only_for_a_traced_caller() {
        use forklore_model::ptrace::Tracer;
        let req = Request::clone(CLONE_PTRACE | SIGCHLD);
        // Untraced caller: no prediction, an observation is not judged.
        let p = predict(&req, &ctx());
        let seen = Observation {
            tracer: Some(Tracer::None),
            ..fork_obs()
        };
        assert_eq!(compare(&req, &ctx(), &p, &seen).0, Verdict::Pass);
        // Traced caller: CLONE_PTRACE puts the child under the same tracer.
        let traced = Context {
            caller_traced: true,
            ..ctx()
        };
        let p = predict(&req, &traced);
        let (v, why) = compare(&req, &traced, &p, &seen);
        assert_eq!(v, Verdict::Fail);
        assert!(why.unwrap().contains("P-CLONE-PTRACE"));
        let right = Observation {
            tracer: Some(Tracer::CallersTracer),
            ..fork_obs()
        };
        assert_eq!(compare(&req, &traced, &p, &right).0, Verdict::Pass);
    }

    #[test]
    fn success_facts_are_judged() {
        let req = Request::fork();
        let p = predict(&req, &ctx());
        assert_eq!(compare(&req, &ctx(), &p, &fork_obs()).0, Verdict::Pass);
        let wrong_parent = Observation {
            ppid: Some(50),
            ..fork_obs()
        };
        assert_eq!(compare(&req, &ctx(), &p, &wrong_parent).0, Verdict::Fail);
        let wrong_reaper = Observation {
            reaped_by: Some(ReapedBy::Wclone),
            ..fork_obs()
        };
        assert_eq!(compare(&req, &ctx(), &p, &wrong_reaper).0, Verdict::Fail);
        let wrong_pid = Observation {
            tgid: Some(201),
            ..fork_obs()
        };
        assert_eq!(compare(&req, &ctx(), &p, &wrong_pid).0, Verdict::Fail);
        let wrong_signal = Observation {
            exit_signal: Some(10),
            ..fork_obs()
        };
        assert_eq!(compare(&req, &ctx(), &p, &wrong_signal).0, Verdict::Fail);
        let failed = Observation {
            outcome: CaseOutcome::Error,
            errno: Some(Errno::EAGAIN),
            ..Default::default()
        };
        assert_eq!(compare(&req, &ctx(), &p, &failed).0, Verdict::Fail);
    }

    #[test]
    fn set_tid_pid_is_checked() {
        let mut req = Request::clone3(0, SIGCHLD);
        if let Some(a) = req.clone3.as_mut() {
            a.set_tid = Some(forklore_model::SetTid {
                ptr: Ptr::Valid,
                size: 1,
                entries: vec![TidSpec::Unused],
            });
        }
        let p = predict(&req, &ctx());
        let good = Observation {
            set_tid: Some(vec![200]),
            ..fork_obs()
        };
        assert_eq!(compare(&req, &ctx(), &p, &good).0, Verdict::Pass);
        let bad = Observation {
            set_tid: Some(vec![201]),
            ..fork_obs()
        };
        assert_eq!(compare(&req, &ctx(), &p, &bad).0, Verdict::Fail);
    }

    #[test]
    fn seccomp_outcomes_are_env_and_threads_are_not_autoreaped() {
        let c = Context {
            seccomp_filter: true,
            ..ctx()
        };
        let req = Request::clone3(0, SIGCHLD);
        let p = predict(&req, &c);
        let obs = Observation {
            outcome: CaseOutcome::Error,
            errno: Some(Errno::ENOSYS),
            ..Default::default()
        };
        let (v, why) = compare(&req, &c, &p, &obs);
        assert_eq!(v, Verdict::Env);
        assert!(why.unwrap().starts_with("observed ENOSYS"));
        // A thread reports reaped_by none + ECHILD: not "auto-reaped".
        let thread = Observation {
            tgid: Some(100),
            pid: Some(201),
            reaped_by: Some(ReapedBy::None),
            wait_errno: Some(Errno::ECHILD),
            ..fork_obs()
        };
        assert_eq!(observed_reaped(&thread), Some(ReapedBy::None));
        let process = Observation {
            reaped_by: Some(ReapedBy::None),
            wait_errno: Some(Errno::ECHILD),
            ..fork_obs()
        };
        assert_eq!(observed_reaped(&process), Some(ReapedBy::Autoreaped));
    }
}
