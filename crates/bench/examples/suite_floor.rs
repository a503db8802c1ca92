//! The suite against its floor: the same catalogue cases run (a) as the
//! suite runs them (probe batches, observation, restore, the JSON pipe,
//! prediction and verdict: `forklore_suite::check::run_cases`) and (b) as
//! their raw `clone`/`clone3` call only, plus the release and reap a
//! created child needs, in one probe per batch with no observation
//! (`forklore_probe::run_floor`). Prints, per group, the suite's wall time
//! per case and its ratio to the floor's.
//!
//! Groups: *matrix errors* (cases whose call fails), *successful
//! creations* (cases whose call creates a child), both decided by the
//! floor run; *lifecycle*: the scenarios, whose floor here is only the
//! scenario process run alone, without the runner (its steps and checks
//! included: there is no raw-syscall replay of the scenarios yet).
//!
//! `cargo run --release -p forklore-bench --example suite_floor -- [--every K] [--jobs N]`
//! (`--every K`: every K-th catalogue case, default 1 = all; `--jobs`:
//! the suite's parallel batches, default 1 so both sides are one
//! process at a time). Runs in context `root` as root, else `user`.

use forklore_probe::{run_floor, ProbeCommand};
use forklore_suite::catalogue::{self, Case};
use forklore_suite::check::{self, CheckOptions};
use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // The probe and scenario processes are this binary re-executed.
    match args.get(1).map(String::as_str) {
        Some("__probe") => std::process::exit(forklore_probe::probe_main()),
        Some("__scenario") => std::process::exit(forklore_scenarios::scenario_main(&args[2..])),
        _ => {}
    }
    let every = arg(&args, "--every", 1).max(1);
    let jobs = arg(&args, "--jobs", 1).max(1);
    let host = forklore_probe::detect_host_context();
    let is_root = host.ruid_is_global_root;
    let ctx = check::default_context(is_root);
    let spec = match check::context_spec(ctx, is_root) {
        Ok(Ok(s)) => s,
        _ => {
            eprintln!("suite_floor: context {ctx} cannot run here");
            std::process::exit(2);
        }
    };
    let cases: Vec<Case> = catalogue::catalogue(false, host.task_size_max)
        .into_iter()
        .step_by(every)
        .collect();
    let probe = ProbeCommand::current_exe().expect("own executable");
    let opts = CheckOptions {
        quick: false,
        filters: Vec::new(),
        contexts: vec![ctx.to_string()],
        jobs,
        probe: probe.clone(),
        batch_size: 4096,
        batch_timeout: Duration::from_secs(120),
        progress: None,
        host: host.clone(),
        keep_passing_details: false,
        kernel: None,
        pin: true,
    };

    // (b) the floor, in batches of the suite's size (a probe's memory,
    // which every fork copies, grows with its batch), its probe kept on
    // the CPU the suite's first probe uses (`check` pins probes).
    let cpus = forklore_observe::allowed_cpus();
    let probe = probe.on_cpu(cpus.first().copied().filter(|_| cpus.len() > 1));
    let t = Instant::now();
    let mut kinds = Vec::with_capacity(cases.len());
    let (mut floor_err_ns, mut floor_create_ns) = (0u64, 0u64);
    for chunk in cases.chunks(opts.batch_size) {
        let probe_cases: Vec<_> = chunk.iter().map(|c| c.probe.clone()).collect();
        match run_floor(&probe, &spec, &probe_cases) {
            Ok(f) => {
                kinds.extend(f.kinds);
                floor_err_ns += f.error_ns;
                floor_create_ns += f.create_ns;
            }
            Err(e) => {
                eprintln!("suite_floor: {e}");
                std::process::exit(1);
            }
        }
    }
    let floor_wall = t.elapsed();
    let mut errors = Vec::new();
    let mut creations = Vec::new();
    let mut other = 0usize;
    for (c, k) in cases.into_iter().zip(&kinds) {
        match k {
            b'e' => errors.push(c),
            b'c' => creations.push(c),
            _ => other += 1,
        }
    }
    let (n_err, n_create) = (errors.len(), creations.len());

    // (a) the suite on the same cases, group by group.
    let timed = |cases: Vec<Case>| {
        let t = Instant::now();
        let r = check::run_cases(&opts, ctx, spec, cases);
        let wall = t.elapsed();
        let pass = r
            .iter()
            .filter(|r| r.verdict == forklore_suite::report::Verdict::Pass)
            .count();
        (wall, r.len(), pass)
    };
    let (suite_err, err_n, err_pass) = timed(errors);
    let (suite_create, create_n, create_pass) = timed(creations);
    let t = Instant::now();
    let lc = check::run_scenario_cases(&opts, is_root, ctx);
    let suite_lc = t.elapsed();
    let lc_pass = lc
        .iter()
        .filter(|r| r.verdict == forklore_suite::report::Verdict::Pass)
        .count();
    // The scenario process alone, without the runner around it.
    let cmd = forklore_scenarios::ScenarioCommand::current_exe().expect("own executable");
    let all = forklore_scenarios::catalogue();
    let ids: Vec<&str> = all.iter().map(|s| s.id).collect();
    let uid = check::scenario_uid(ctx, is_root)
        .ok()
        .and_then(|r| r.ok())
        .flatten();
    let t = Instant::now();
    let alone = forklore_scenarios::run(&cmd, &ids, opts.batch_timeout, uid).len();
    let alone_wall = t.elapsed();

    let per = |d: f64, n: usize| d / n.max(1) as f64;
    println!(
        "suite floor, context {ctx}, every {every}th case, suite --jobs {jobs}, batches of {}",
        opts.batch_size
    );
    println!(
        "floor run: {:.2} s wall for {} cases ({} did not run as a plain call: exit signal SIGKILL needs a throwaway caller, or skipped)",
        floor_wall.as_secs_f64(),
        kinds.len(),
        other
    );
    println!(
        "{:<22} {:>7} {:>12} {:>12} {:>8} {:>6}",
        "group", "cases", "suite µs/case", "floor µs/case", "ratio", "pass"
    );
    let row = |g: &str, n: usize, suite_us: f64, floor_us: f64, pass: usize, ran: usize| {
        println!(
            "{g:<22} {n:>7} {suite_us:>12.2} {floor_us:>12.2} {:>7.1}× {pass:>6}{}",
            suite_us / floor_us.max(1e-9),
            if ran != n {
                format!(" (of {ran} results)")
            } else {
                String::new()
            }
        );
    };
    row(
        "matrix errors",
        n_err,
        per(suite_err.as_secs_f64() * 1e6, n_err),
        per(floor_err_ns as f64 / 1e3, n_err),
        err_pass,
        err_n,
    );
    row(
        "successful creations",
        n_create,
        per(suite_create.as_secs_f64() * 1e6, n_create),
        per(floor_create_ns as f64 / 1e3, n_create),
        create_pass,
        create_n,
    );
    row(
        "lifecycle (process)",
        lc.len(),
        per(suite_lc.as_secs_f64() * 1e6, lc.len()),
        per(alone_wall.as_secs_f64() * 1e6, alone),
        lc_pass,
        lc.len(),
    );
}
