//! Cases per second through the probe: a measurement, not a test.
//! `cargo run --release -p forklore-probe --example throughput [light|full|kinds|flags|two]`
//! (no argument: all of them). The example is its own probe process.

use forklore_model::{clone3_default_exit_signal, flags::*, Request};
use forklore_probe::*;
use std::time::{Duration, Instant};

const MATRIX: [u64; 17] = MATRIX_FLAGS;

fn flags(i: u32) -> u64 {
    MATRIX
        .iter()
        .enumerate()
        .filter(|(b, _)| i & (1 << b) != 0)
        .map(|(_, f)| *f)
        .sum()
}

fn run(level: ObserveLevel, n: u32, step: u32) {
    let cmd = ProbeCommand::binary(std::env::current_exe().expect("own executable"));
    let mut cases = Vec::new();
    for k in 0..n {
        let i = k.wrapping_mul(step) % (1 << 17);
        cases.push(ProbeCase::new(
            format!("clone-{i}"),
            Request::clone(flags(i) | SIGCHLD),
            level,
        ));
        let es = clone3_default_exit_signal(flags(i));
        cases.push(ProbeCase::new(
            format!("clone3-{i}"),
            Request::clone3(flags(i), es),
            level,
        ));
    }
    let t = Instant::now();
    let r = run_batch(&cmd, &ContextSpec::AsIs, &cases, Duration::from_secs(30));
    let dt = t.elapsed();
    let ok = r
        .results
        .iter()
        .filter(|(_, o)| o.outcome == CaseOutcome::Success)
        .count();
    let broken: Vec<_> = r
        .results
        .iter()
        .filter(|(_, o)| o.outcome == CaseOutcome::Broken)
        .collect();
    let restored = r
        .results
        .iter()
        .filter(|(_, o)| !o.restored.is_empty())
        .count();
    println!(
        "{level:?}: {} cases ({ok} successes) in {:.2}s = {:.0} cases/s; broken {}, restored {restored}",
        cases.len(),
        dt.as_secs_f64(),
        cases.len() as f64 / dt.as_secs_f64(),
        broken.len()
    );
    for b in broken.iter().take(5) {
        println!("  broken: {b:?}");
    }
    assert_eq!(r.results.len(), cases.len());
}

fn throughput_light() {
    run(ObserveLevel::Light, 10_000, 7919);
}

fn throughput_full() {
    run(ObserveLevel::Full, 1_000, 7919);
}

fn one(name: &str, req: Request, n: usize) {
    let cmd = ProbeCommand::binary(std::env::current_exe().expect("own executable"));
    let cases: Vec<_> = (0..n)
        .map(|i| ProbeCase::new(format!("{name}-{i}"), req.clone(), ObserveLevel::Light))
        .collect();
    let t = Instant::now();
    let r = run_batch(&cmd, &ContextSpec::AsIs, &cases, Duration::from_secs(30));
    let dt = t.elapsed();
    println!("{name}: {:.1} us/case", dt.as_secs_f64() * 1e6 / n as f64);
    assert_eq!(r.results.len(), n);
}

fn per_kind_cost() {
    one("einval", Request::clone(CLONE_THREAD | SIGCHLD), 20_000);
    one("fork", Request::clone(SIGCHLD), 5_000);
    one("vm", Request::clone(CLONE_VM | SIGCHLD), 5_000);
    one(
        "vfork",
        Request::clone(CLONE_VM | CLONE_VFORK | SIGCHLD),
        5_000,
    );
    one(
        "thread",
        Request::clone(CLONE_VM | CLONE_SIGHAND | CLONE_THREAD),
        5_000,
    );
    one("parent", Request::clone(CLONE_VM | CLONE_PARENT), 5_000);
}

fn per_flag_cost() {
    for f in MATRIX {
        let base = if f & (CLONE_SIGHAND | CLONE_THREAD) != 0 {
            CLONE_VM | CLONE_SIGHAND
        } else {
            CLONE_VM
        };
        one(&format_flags(f), Request::clone(base | f | SIGCHLD), 2_000);
        one(
            &format!("{} nonvm", format_flags(f)),
            Request::clone(f | SIGCHLD),
            1_000,
        );
    }
}

/// Two probes at once (one per core), as the suite runs them.
fn throughput_two_probes() {
    let t = Instant::now();
    let n: u32 = 10_000;
    std::thread::scope(|s| {
        for half in 0..2u32 {
            s.spawn(move || {
                let cmd = ProbeCommand::binary(std::env::current_exe().expect("own executable"));
                let cases: Vec<_> = (0..n)
                    .flat_map(|k| {
                        let i = (k * 2 + half).wrapping_mul(7919) % (1 << 17);
                        let es = clone3_default_exit_signal(flags(i));
                        [
                            ProbeCase::new(
                                format!("clone-{i}"),
                                Request::clone(flags(i) | SIGCHLD),
                                ObserveLevel::Light,
                            ),
                            ProbeCase::new(
                                format!("clone3-{i}"),
                                Request::clone3(flags(i), es),
                                ObserveLevel::Light,
                            ),
                        ]
                    })
                    .collect();
                let r = run_batch(&cmd, &ContextSpec::AsIs, &cases, Duration::from_secs(30));
                assert_eq!(r.results.len(), cases.len());
            });
        }
    });
    let dt = t.elapsed();
    println!(
        "two probes: {} cases in {:.2}s = {:.0} cases/s",
        4 * n,
        dt.as_secs_f64(),
        4.0 * n as f64 / dt.as_secs_f64()
    );
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("__probe") {
        std::process::exit(probe_main());
    }
    let which = argv.get(1).map(String::as_str).unwrap_or("all");
    let all = which == "all";
    if all || which == "light" {
        throughput_light();
    }
    if all || which == "full" {
        throughput_full();
    }
    if all || which == "kinds" {
        per_kind_cost();
    }
    if all || which == "flags" {
        per_flag_cost();
    }
    if all || which == "two" {
        throughput_two_probes();
    }
}
