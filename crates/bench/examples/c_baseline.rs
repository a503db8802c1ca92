//! forklore versus a plain C loop (crates/bench/cbench/loop.c) doing the
//! same operations, measured in the same session, interleaved round by
//! round so both see the same machine. Builds the C loop with gcc. Both
//! sides write their samples out in batches and keep no per-iteration
//! array (fork copies the caller's memory); both p50s are exact medians of
//! the raw samples on the C side and HDR (3 significant digits) on ours.
//!
//! `cargo run --release -p forklore-bench --example c_baseline -- [CPU] [ITERATIONS] [ROUNDS]`
//! (defaults: CPU 0, 3000 iterations, 5 rounds). Prints, per method, the
//! median over rounds of each side's p50 and their difference.

use forklore_bench::{run_report, stats::median, BenchOptions};
use std::process::Command;

const METHODS: &[&str] = &[
    "getpid",
    "fork",
    "fork-return",
    "vfork",
    "clone3",
    "clone3-vfork",
    "clone3-pidfd",
    "thread",
    "thread3",
    "posix-spawn",
    "fork-exec",
    "vfork-exec",
    "posix-spawn-true",
    "fork-exec-true",
    "vfork-exec-true",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cpu = args.first().map_or("0", String::as_str).to_string();
    let iterations = args.get(1).map_or("3000", String::as_str).to_string();
    let rounds: usize = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/cbench/loop.c");
    let exe = dir.path().join("cloop");
    let out = Command::new("gcc")
        // -z now: rustc links forklore-bench-loop with full RELRO (every
        // symbol bound at start-up). With gcc's default lazy binding the
        // loop's parent never calls execve, so every fork-exec child
        // resolves execve through the PLT itself: ~14 more page faults and
        // ~25 us per operation here, a difference of the build, not of
        // the measurement.
        .args(["-O2", "-Wl,-z,now", "-o"])
        .arg(&exe)
        .arg(src)
        .output()?;
    if !out.status.success() {
        return Err(format!("gcc failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let target = forklore_bench::elf::write_to(dir.path())?;

    let mut rust: Vec<Vec<f64>> = vec![Vec::new(); METHODS.len()];
    let mut c: Vec<Vec<f64>> = vec![Vec::new(); METHODS.len()];
    let mut overhead = Vec::new();
    let (mut c_foot, mut r_foot) = ((0, 0), (0, 0));
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        for (i, m) in METHODS.iter().enumerate() {
            let out = Command::new(&exe)
                .args([*m, iterations.as_str(), "100", cpu.as_str()])
                .arg(&target)
                .output()?;
            let err = String::from_utf8_lossy(&out.stderr);
            let foot: Vec<u64> = err
                .lines()
                .find_map(|l| l.strip_prefix("footprint "))
                .map(|l| {
                    l.split_whitespace()
                        .filter_map(|w| w.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            if !out.status.success() || foot.len() != 2 || out.stdout.len() % 8 != 0 {
                return Err(format!("C loop {m}: {} {err}", out.status).into());
            }
            c_foot = (foot[0], foot[1]);
            let mut samples: Vec<u64> = out
                .stdout
                .chunks_exact(8)
                .map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")))
                .collect();
            samples.sort_unstable();
            c[i].push(samples[samples.len() / 2] as f64);
            let r = run_report(&BenchOptions {
                method: Some(m.to_string()),
                iterations: Some(iterations.clone()),
                warmup: Some("100".into()),
                runs: Some("1".into()),
                pin: Some(cpu.clone()),
                no_perf: true,
                ..Default::default()
            })?;
            rust[i].push(r.results[0].stats.p50_ns as f64);
            overhead.push(r.harness.overhead.p50_ns as f64);
            r_foot = (r.harness.parent_anon_kib, r.harness.parent_mappings);
        }
    }
    println!("forklore vs plain C, pinned to CPU {cpu}, {iterations} iterations x {rounds} rounds (median of per-round p50s)");
    println!(
        "harness overhead p50 {:.0} ns; timing process: forklore-bench-loop {} KiB anon, {} mappings; C loop {} KiB anon, {} mappings",
        median(&overhead),
        r_foot.0,
        r_foot.1,
        c_foot.0,
        c_foot.1
    );
    println!(
        "{:<17} {:>11} {:>11} {:>7}",
        "method", "forklore", "C", "diff"
    );
    let fmt = forklore_bench::report::fmt_ns;
    for (i, m) in METHODS.iter().enumerate() {
        let (r, x) = (median(&rust[i]), median(&c[i]));
        let v = (r - x) / x * 100.0;
        let mark = if v.abs() <= 5.0 { " " } else { "!" };
        println!("{m:<17} {:>11} {:>11} {v:>+6.1}%{mark}", fmt(r), fmt(x));
    }
    println!("! = more than 5% apart");
    Ok(())
}
