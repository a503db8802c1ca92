//! forklore versus a plain C loop (crates/bench/cbench/loop.c) doing the
//! same operations, measured in the same session, interleaved round by
//! round so both see the same machine. Builds the C loop with gcc.
//!
//! `cargo run --release -p forklore-bench --example c_baseline -- [CPU] [ITERATIONS] [ROUNDS]`
//! (defaults: CPU 0, 3000 iterations, 5 rounds). Prints, per method, the
//! median over rounds of each side's p50 and their difference.

use forklore_bench::{run_report, stats::median, BenchArgs};
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
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(src)
        .output()?;
    if !out.status.success() {
        return Err(format!("gcc failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let target = forklore_bench::elf::write_to(dir.path())?;

    let mut rust: Vec<Vec<f64>> = vec![Vec::new(); METHODS.len()];
    let mut c: Vec<Vec<f64>> = vec![Vec::new(); METHODS.len()];
    let mut c_same: Vec<Vec<f64>> = vec![Vec::new(); METHODS.len()];
    let mut c_anon = Vec::new();
    let mut overhead = Vec::new();
    let mut footprint = (0, 0);
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        for (i, m) in METHODS.iter().enumerate() {
            let c_loop = |anon: Option<u64>| -> Result<(f64, f64), Box<dyn std::error::Error>> {
                let mut cmd = Command::new(&exe);
                cmd.args([*m, iterations.as_str(), "100", cpu.as_str()])
                    .arg(&target);
                if let Some(kib) = anon {
                    cmd.arg(kib.to_string());
                }
                let out = cmd.output()?;
                let line = String::from_utf8_lossy(&out.stdout);
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() != 6 {
                    return Err(format!(
                        "C loop {m}: {line:?} {}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                    .into());
                }
                Ok((f[1].parse()?, f[5].parse()?))
            };
            let (p50, anon) = c_loop(None)?;
            c[i].push(p50);
            c_anon.push(anon);
            // Same parent size as forklore's bench process (previous round's).
            if footprint.0 > 0 {
                c_same[i].push(c_loop(Some(footprint.0))?.0);
            }
            let r = run_report(&BenchArgs {
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
            footprint = (r.harness.parent_anon_kib, r.harness.parent_mappings);
        }
    }
    println!("forklore vs plain C, pinned to CPU {cpu}, {iterations} iterations x {rounds} rounds (median of per-round p50s)");
    println!(
        "harness overhead p50 {:.0} ns; forklore parent {} KiB anon, {} mappings",
        median(&overhead),
        footprint.0,
        footprint.1
    );
    println!(
        "C same-size: the C loop grown to forklore's anonymous RSS; C plain: the C loop as is ({:.0} KiB anon)",
        median(&c_anon)
    );
    println!(
        "{:<17} {:>11} {:>12} {:>7} {:>11} {:>7}",
        "method", "forklore", "C same-size", "diff", "C plain", "diff"
    );
    let fmt = forklore_bench::report::fmt_ns;
    for (i, m) in METHODS.iter().enumerate() {
        let (r, same, plain) = (median(&rust[i]), median(&c_same[i]), median(&c[i]));
        let d = |x: f64| {
            let v = (r - x) / x * 100.0;
            format!("{v:>+6.1}%{}", if v.abs() <= 5.0 { " " } else { "!" })
        };
        println!(
            "{:<17} {:>11} {:>12} {} {:>11} {}",
            m,
            fmt(r),
            fmt(same),
            d(same),
            fmt(plain),
            d(plain)
        );
    }
    println!("! = more than 5% apart");
    Ok(())
}
