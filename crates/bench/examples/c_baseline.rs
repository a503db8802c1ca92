//! forklore versus a plain C loop (crates/bench/cbench/loop.c) doing the
//! same operations, measured in the same session, interleaved round by
//! round so both see the same machine. Builds the C loop with
//! `gcc -static -O2`: a static program is the floor for what fork copies
//! (12 mappings), and forklore's timing process is linked the same way.
//! Both sides write their samples out in batches and keep no
//! per-iteration array (fork copies the caller's memory); both p50s are
//! exact medians of the raw samples on the C side and HDR (3 significant
//! digits) on ours. Within a round the two sides alternate which goes
//! first (C first in odd rounds), so neither always runs on a machine the
//! other has just warmed.
//!
//! `cargo run --release -p forklore-bench --example c_baseline -- [CPU] [ITERATIONS] [ROUNDS] [METHODS]`
//! (defaults: CPU 0, 3000 iterations, 5 rounds, every method below;
//! METHODS is a comma-separated subset). `FORKLORE_CBENCH_DYNAMIC=1`
//! builds the C loop the old way (`gcc -O2 -Wl,-z,now`, dynamically
//! linked). Prints, per method, the median over rounds of each side's p50,
//! their difference, and the median and range of the per-round ratios.

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
    let methods: Vec<&str> = match args.get(3) {
        Some(list) => {
            let wanted: Vec<&str> = list.split(',').collect();
            if let Some(bad) = wanted.iter().find(|w| !METHODS.contains(w)) {
                return Err(format!("unknown method {bad}").into());
            }
            METHODS
                .iter()
                .copied()
                .filter(|m| wanted.contains(m))
                .collect()
        }
        None => METHODS.to_vec(),
    };
    let dynamic = std::env::var_os("FORKLORE_CBENCH_DYNAMIC").is_some_and(|v| v == "1");
    let dir = tempfile::tempdir()?;
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/cbench/loop.c");
    let exe = dir.path().join("cloop");
    // Static by default: no loader, no libc.so, no PLT (so no lazy
    // binding either). Dynamic: -z now, as rustc links (with gcc's default
    // lazy binding the loop's parent never calls execve, so every fork-exec
    // child resolves execve through the PLT itself: ~14 more page faults
    // and ~25 us per operation here, a difference of the build, not of the
    // measurement).
    let flags: &[&str] = if dynamic {
        &["-O2", "-Wl,-z,now", "-o"]
    } else {
        &["-static", "-O2", "-o"]
    };
    let out = Command::new("gcc")
        .args(flags)
        .arg(&exe)
        .arg(src)
        .output()?;
    if !out.status.success() {
        return Err(format!("gcc failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let target = forklore_bench::elf::write_to(dir.path())?;

    let n = methods.len();
    let mut rust: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut c: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut overhead = Vec::new();
    let (mut c_foot, mut r_foot) = ((0, 0), (0, 0));
    let run_c = |m: &str| -> Result<(f64, (u64, u64)), Box<dyn std::error::Error>> {
        let out = Command::new(&exe)
            .args([m, iterations.as_str(), "100", cpu.as_str()])
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
        let mut samples: Vec<u64> = out
            .stdout
            .chunks_exact(8)
            .map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")))
            .collect();
        samples.sort_unstable();
        Ok((samples[samples.len() / 2] as f64, (foot[0], foot[1])))
    };
    let run_rust = |m: &str| -> Result<forklore_bench::Report, Box<dyn std::error::Error>> {
        Ok(run_report(&BenchOptions {
            method: Some(m.to_string()),
            iterations: Some(iterations.clone()),
            warmup: Some("100".into()),
            runs: Some("1".into()),
            pin: Some(cpu.clone()),
            no_perf: true,
            ..Default::default()
        })?)
    };
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        for (i, m) in methods.iter().enumerate() {
            let c_first = round % 2 == 0;
            let mut r = None;
            if !c_first {
                r = Some(run_rust(m)?);
            }
            let (p50, foot) = run_c(m)?;
            c[i].push(p50);
            c_foot = foot;
            let r = match r {
                Some(r) => r,
                None => run_rust(m)?,
            };
            rust[i].push(r.results[0].stats.p50_ns as f64);
            overhead.push(r.harness.overhead.p50_ns as f64);
            r_foot = (r.harness.parent_anon_kib, r.harness.parent_mappings);
        }
    }
    let kind = if dynamic { "dynamic" } else { "static" };
    println!("forklore vs plain C ({kind}), pinned to CPU {cpu}, {iterations} iterations x {rounds} rounds (median of per-round p50s)");
    println!(
        "harness overhead p50 {:.0} ns; timing process: forklore-bench-loop {} KiB anon, {} mappings; C loop {} KiB anon, {} mappings",
        median(&overhead),
        r_foot.0,
        r_foot.1,
        c_foot.0,
        c_foot.1
    );
    println!(
        "{:<17} {:>11} {:>11} {:>7}   {:>22}",
        "method", "forklore", "C", "diff", "per-round ratio (range)"
    );
    let fmt = forklore_bench::report::fmt_ns;
    for (i, m) in methods.iter().enumerate() {
        let (r, x) = (median(&rust[i]), median(&c[i]));
        let v = (r - x) / x * 100.0;
        let mark = if v.abs() <= 5.0 { " " } else { "!" };
        let ratios: Vec<f64> = rust[i].iter().zip(&c[i]).map(|(a, b)| a / b).collect();
        let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        println!(
            "{m:<17} {:>11} {:>11} {v:>+6.1}%{mark}   {:.3} ({lo:.3}..{hi:.3})",
            fmt(r),
            fmt(x),
            median(&ratios)
        );
    }
    println!("! = more than 5% apart");
    Ok(())
}
