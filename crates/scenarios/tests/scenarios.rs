//! Runs the lifecycle scenario catalogue: one libtest-mimic trial per group.
//! The test binary is also its own scenario process (`__scenario`).

use forklore_scenarios::{catalogue, run, scenario_main, ScenarioCommand, Verdict};
use libtest_mimic::{Arguments, Failed, Trial};
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
    let mut trials = Vec::new();
    for (pi, (suffix, _)) in passes.iter().enumerate() {
        for g in &groups {
            let (g, passes) = (*g, passes.clone());
            trials.push(Trial::test(format!("lifecycle::{g}{suffix}"), move || {
                let mut bad = Vec::new();
                for r in passes[pi].1.iter().filter(|r| r.group == g) {
                    let reason = r.reason.clone().unwrap_or_default();
                    match r.verdict {
                        Verdict::Pass => println!("  pass  {} ({} ms)", r.id, r.duration_ms),
                        Verdict::Skip | Verdict::Env => println!("  {:?}  {}: {reason}", r.verdict, r.id),
                        Verdict::Fail | Verdict::Broken => {
                            bad.push(format!(
                                "{:?} {}: {reason}\n    rule: {:?}\n    expected: {}\n    observed: {}",
                                r.verdict, r.id, r.rule, r.expected, r.observed
                            ));
                        }
                    }
                }
                if bad.is_empty() {
                    Ok(())
                } else {
                    Err(Failed::from(bad.join("\n")))
                }
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
