//! `cargo test` face of the conformance suite: runs `forklore check --quick`
//! (every context) and the lifecycle scenarios once, then reports one test
//! per group through libtest-mimic, so cargo test and nextest show
//! conformance like any other test.
//!
//! This binary is also its own probe and scenario process: re-executed with
//! `__probe` / `__scenario` it becomes the single-threaded probe before the
//! (multithreaded) harness starts.

#![forbid(unsafe_code)]

use forklore_suite::check::{self, CheckOptions};
use forklore_suite::report::{Report, Verdict};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    match argv.get(1).map(String::as_str) {
        Some("__probe") => return ExitCode::from(forklore_probe::probe_main() as u8),
        Some("__scenario") => {
            return ExitCode::from(forklore_scenarios::scenario_main(&argv[2..]) as u8)
        }
        _ => {}
    }
    let args = Arguments::from_args();
    let host = forklore_observe::detect_host_context();
    let groups: BTreeSet<String> = forklore_suite::catalogue::catalogue(true, host.task_size_max)
        .iter()
        .map(|c| c.group.to_string())
        .chain(["contexts".to_string()])
        .chain(
            forklore_scenarios::catalogue()
                .iter()
                .map(|s| check::scenario_group(s.group)),
        )
        .collect();
    let report = if args.list {
        None
    } else {
        let opts = CheckOptions {
            quick: true,
            filters: Vec::new(),
            contexts: check::default_contexts(),
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            probe: forklore_probe::ProbeCommand::current_exe().expect("own executable"),
            batch_size: 2048,
            batch_timeout: Duration::from_secs(120),
            progress: None,
            host: host.clone(),
            keep_passing_details: false,
            kernel: None,
            pin: true,
        };
        let mut r = check::run_check(&opts, host.ruid_is_global_root);
        if let Some((path, b)) = host_baseline() {
            b.apply(&mut r, &path);
            eprintln!("applied {path} (this kernel's known divergences)");
        }
        let s = &r.summary;
        eprintln!(
            "forklore check --quick: {} cases: {} pass, {} fail, {} skip, {} env, {} broken in {:.1}s",
            s.total, s.pass, s.fail, s.skip, s.env, s.broken, r.duration_s
        );
        let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
        for c in r.cases.iter().filter(|c| c.verdict == Verdict::Skip) {
            *reasons
                .entry(format!(
                    "{}: {}",
                    c.context,
                    c.reason.as_deref().unwrap_or("")
                ))
                .or_default() += 1;
        }
        for (why, n) in reasons {
            eprintln!("  skipped {n} × {why}");
        }
        Some(std::sync::Arc::new(r))
    };
    let trials = groups
        .into_iter()
        .map(|g| {
            let report = report.clone();
            let is_root = host.ruid_is_global_root;
            Trial::ignorable_test(format!("conformance::{g}"), move || match report {
                Some(r) => group_verdict(&r, &g, is_root),
                None => Ok(Completion::Completed),
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// A group passes only when it executed something and nothing failed. A
/// group with no case fails; one where nothing executed (every case
/// skipped or decided by the environment) fails as root and is reported
/// ignored, with the reasons, for an ordinary user, who cannot run it here.
fn group_verdict(r: &Report, group: &str, is_root: bool) -> Result<Completion, Failed> {
    // Counts cover every case (passing matrix cases are only counted);
    // the listed cases carry the failures and skips with their reasons.
    let prefix = format!("{group}/");
    let mut counts = forklore_suite::report::Counts::default();
    for (_, c) in r.groups.iter().filter(|(k, _)| k.starts_with(&prefix)) {
        counts.pass += c.pass;
        counts.fail += c.fail;
        counts.skip += c.skip;
        counts.env += c.env;
        counts.broken += c.broken;
        counts.total += c.total;
    }
    if counts.total == 0 {
        return Err(format!("group {group} ran no case").into());
    }
    let xfail: usize = r
        .groups
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(_, c)| c.xfail)
        .sum();
    let listed: Vec<_> = r.cases.iter().filter(|c| c.group == group).collect();
    let bad: Vec<String> = listed
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Broken))
        .take(20)
        .map(|c| {
            format!(
                "{} {}: {}\n    reproduce: {}",
                c.verdict.as_str(),
                c.id,
                c.reason.as_deref().unwrap_or(""),
                c.repro.as_deref().unwrap_or("")
            )
        })
        .collect();
    if counts.fail + counts.broken > 0 {
        return Err(format!(
            "{} of {} cases failed:\n{}",
            counts.fail + counts.broken,
            counts.total,
            bad.join("\n")
        )
        .into());
    }
    if counts.pass == 0 {
        let mut why: Vec<String> = listed
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Skip | Verdict::Env))
            .map(|c| {
                format!(
                    "{}: {}",
                    c.verdict.as_str(),
                    c.reason.as_deref().unwrap_or("")
                )
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if why.len() > 5 {
            why.truncate(5);
            why.push("...".into());
        }
        let msg = format!(
            "no case of {group} executed: {} skip, {} env ({})",
            counts.skip,
            counts.env,
            why.join("; ")
        );
        // A facility the environment lacks (a nested pid namespace, no
        // subreaper: listed per context as `missing`) is no fault of the
        // root caller's: every skip naming one is reported, not failed.
        let missing: BTreeSet<String> = r
            .contexts
            .iter()
            .filter_map(|c| c.detected.get("missing")?.as_array().cloned())
            .flatten()
            .filter_map(|m| m.get("reason")?.as_str().map(String::from))
            .collect();
        let all_missing = listed
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Skip | Verdict::Env))
            .all(|c| {
                let why = c.reason.as_deref().unwrap_or("");
                missing.iter().any(|m| why.contains(m.as_str()))
            });
        let excused = all_missing && !listed.is_empty();
        return if is_root && !excused {
            Err(msg.into())
        } else {
            Ok(Completion::ignored_with(msg))
        };
    }
    if xfail > 0 {
        let why: BTreeSet<String> = r
            .cases
            .iter()
            .filter(|c| c.group == group && c.verdict == Verdict::Xfail)
            .map(|c| c.id.clone())
            .collect();
        return Ok(Completion::ignored_with(format!(
            "{} pass; {xfail} known divergence(s) of this kernel, explained in ci/host-baseline.json: {}",
            counts.pass,
            why.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(Completion::Completed)
}

/// ci/host-baseline.json when the running kernel is of the releases it
/// was measured on (its `kernel_release` glob): that build's known divergences, each with its evidence.
/// On any other kernel the same cases must pass.
fn host_baseline() -> Option<(String, forklore_suite::baseline::Baseline)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ci/host-baseline.json");
    let b = forklore_suite::baseline::Baseline::parse(&std::fs::read_to_string(path).ok()?)
        .expect("ci/host-baseline.json is a baseline");
    let running = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    b.measured_on(&running).then(|| (path.to_string(), b))
}
