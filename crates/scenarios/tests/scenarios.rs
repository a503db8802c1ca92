//! Runs the lifecycle scenario catalogue: one libtest-mimic trial per group.
//! The test binary is also its own scenario process (`__scenario`).

#![forbid(unsafe_code)]

use forklore_scenarios::{catalogue, run, scenario_main, ScenarioCommand, ScenarioResult, Verdict};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::time::Duration;

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("__scenario") {
        std::process::exit(scenario_main(&argv));
    }
    let args = Arguments::from_args();
    let cmd = ScenarioCommand::current_exe().expect("current exe");
    let mut groups: Vec<&'static str> = catalogue().iter().map(|c| c.group).collect();
    groups.dedup();
    // Run every scenario once, up front (two scenario processes at a time);
    // the trials report per group.
    let mut passes = vec![(String::new(), run(&cmd, &[], Duration::from_secs(60), None))];
    // As root, run everything a second time with the scenario processes
    // dropped to an unprivileged uid (FORKLORE_SCENARIOS_UID, default 65534;
    // "none" turns it off).
    let uid = std::env::var("FORKLORE_SCENARIOS_UID").unwrap_or_else(|_| "65534".into());
    if nix::unistd::geteuid().is_root() {
        if let Ok(u) = uid.parse::<u32>() {
            passes.push((
                format!("::as_uid_{u}"),
                run(&cmd, &[], Duration::from_secs(60), Some(u)),
            ));
        }
    }
    let passes = std::sync::Arc::new(passes);
    let is_root = nix::unistd::geteuid().is_root();
    let known = std::sync::Arc::new(host_known());
    let mut trials = Vec::new();
    for (pi, (suffix, _)) in passes.iter().enumerate() {
        for g in &groups {
            let (g, passes, known) = (*g, passes.clone(), known.clone());
            let ctx = if suffix.is_empty() { "root" } else { "user" };
            trials.push(Trial::ignorable_test(
                format!("lifecycle::{g}{suffix}"),
                move || {
                    let results: Vec<&ScenarioResult> =
                        passes[pi].1.iter().filter(|r| r.group == g).collect();
                    group_verdict(g, &results, is_root, &known, ctx)
                },
            ));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

/// A group passes only when it executed something and nothing failed. A
/// group with no result fails; one where nothing executed (every scenario
/// skipped or decided by the environment) fails as root and is reported
/// ignored, with the reasons, for an ordinary user, who cannot run it here.
fn group_verdict(
    group: &str,
    results: &[&ScenarioResult],
    is_root: bool,
    known: &[Known],
    ctx: &str,
) -> Result<Completion, Failed> {
    let mut xfail = Vec::new();
    if results.is_empty() {
        return Err(format!("group {group} produced no result").into());
    }
    let mut bad = Vec::new();
    let mut not_run = std::collections::BTreeSet::new();
    let mut executed = 0;
    for r in results {
        let reason = r.reason.clone().unwrap_or_default();
        match r.verdict {
            Verdict::Pass => {
                executed += 1;
                println!("  pass  {} ({} ms)", r.id, r.duration_ms)
            }
            Verdict::Skip | Verdict::Env => {
                println!("  {:?}  {}: {reason}", r.verdict, r.id);
                not_run.insert(format!("{}: {reason}", r.verdict.as_str()));
            }
            Verdict::Fail
                if known.iter().any(|k| {
                    r.rule
                        .as_deref()
                        .is_some_and(|rs| rs.split(',').any(|x| x.trim() == k.rule))
                        && k.ids.iter().any(|p| p.matches(&format!("{}/{ctx}", r.id)))
                }) =>
            {
                executed += 1;
                xfail.push(r.id.clone());
            }
            Verdict::Fail | Verdict::Broken | Verdict::Xfail => {
                bad.push(format!(
                    "{:?} {}: {reason}\n    rule: {:?}\n    expected: {}\n    observed: {}",
                    r.verdict, r.id, r.rule, r.expected, r.observed
                ));
            }
        }
    }
    if !bad.is_empty() {
        return Err(Failed::from(bad.join("\n")));
    }
    if executed == 0 {
        // A facility this environment lacks (kernel threads hidden by a
        // nested pid namespace, ...), detected independently of the
        // scenarios: a group every skip of which names it is reported, not
        // failed.
        let missing: Vec<String> = [
            forklore_observe::kernel_threads_visible().err(),
            forklore_observe::outer_pid_levels_known().err(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let all_missing = !not_run.is_empty()
            && not_run
                .iter()
                .all(|w| missing.iter().any(|m| w.contains(m.as_str())));
        let why = not_run.into_iter().collect::<Vec<_>>().join("; ");
        let msg = format!("no scenario of {group} executed ({why})");
        return if is_root && !all_missing {
            Err(msg.into())
        } else {
            Ok(Completion::ignored_with(msg))
        };
    }
    if !xfail.is_empty() {
        return Ok(Completion::ignored_with(format!(
            "known divergence(s) of this kernel, explained in ci/host-baseline.json: {}",
            xfail.join(", ")
        )));
    }
    Ok(Completion::Completed)
}

/// A known divergence of the running kernel build (ci/host-baseline.json,
/// applied only on a release its `kernel_release` glob matches): the deciding rule and the case
/// ids (`ID/CONTEXT` globs) it covers.
#[derive(Clone)]
struct Known {
    rule: String,
    ids: Vec<glob::Pattern>,
}

fn host_known() -> Vec<Known> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ci/host-baseline.json");
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let b: serde_json::Value = serde_json::from_str(&text).expect("ci/host-baseline.json is JSON");
    let running = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let measured_on = b["kernel_release"]
        .as_str()
        .and_then(|g| glob::Pattern::new(g).ok())
        .is_some_and(|p| p.matches(running.trim()));
    if !measured_on {
        return Vec::new();
    }
    b["divergences"]
        .as_array()
        .expect("divergences")
        .iter()
        .map(|d| Known {
            // "RULE:EXPECTED -> OBSERVED"
            rule: d["key"]
                .as_str()
                .and_then(|k| k.split(':').next())
                .unwrap_or("")
                .to_string(),
            ids: d["ids"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|g| glob::Pattern::new(g.as_str()?).ok())
                        .collect()
                })
                .unwrap_or_default(),
        })
        .filter(|k| !k.ids.is_empty())
        .collect()
}
