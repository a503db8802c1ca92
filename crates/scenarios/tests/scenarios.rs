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
    let results = std::sync::Arc::new(run(&cmd, &[], Duration::from_secs(60), None));
    let trials = groups
        .into_iter()
        .map(|g| {
            let results = results.clone();
            Trial::test(format!("lifecycle::{g}"), move || {
                let mut bad = Vec::new();
                for r in results.iter().filter(|r| r.group == g) {
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
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
