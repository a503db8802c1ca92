//! Runs the measurements: pinning, warm-up, batches, counters, RSS sweep.
//! Everything here happens on the calling (main) thread.

use crate::env::Environment;
use crate::error::{bad, failed, BenchError};
use crate::methods::{CloneFlags, Method, Target};
use crate::parse::format_size;
use crate::report::{
    Counters, Harness, MethodResult, Report, RssFit, RunConfig, RunSummary, Unavailable, MEASURED,
    SCHEMA, UNAVAILABLE,
};
use crate::stats::{self, linear_fit, new_run_histogram, record, Sparse, Stats, NOISE_THRESHOLD};
use forklore_sys::bench::{
    write_helper, Helper, HelperUsage, Op, OpError, PerfCounter, PerfEvent, BATCH_MAX,
};
use forklore_sys::errno::Errno;
use forklore_sys::signal::{catch_flag, CaughtSignal};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long one method runs in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub max_iterations: Option<u64>,
    pub max_time: Option<Duration>,
}

/// Everything a measurement needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub methods: Vec<&'static Method>,
    pub clone: CloneFlags,
    pub budget: Budget,
    /// Warm-up operations before each timed run (capped at [`WARMUP_CAP`]).
    pub warmup: u64,
    pub pin: Option<usize>,
    pub rss: Vec<u64>,
    pub thp: bool,
    pub runs: u32,
    pub perf: bool,
    pub progress: bool,
    /// Test-only: syscalls made to fail in the timing process (a seccomp
    /// filter), to simulate a sandbox that lacks them. Empty normally.
    pub deny: Vec<(u64, Errno)>,
}

pub const WARMUP_CAP: Duration = Duration::from_millis(500);
const BATCH_TARGET: Duration = Duration::from_millis(10);
const OVERHEAD_SAMPLES: usize = 100_000;
const PERF_OPS: u64 = 200;
const PERF_CAP: Duration = Duration::from_millis(300);
const BIN_TRUE: &str = "/bin/true";

/// Check that `cpu` exists and we may run on it; returns the current mask.
pub fn check_cpu(cpu: usize) -> Result<CpuSet, BenchError> {
    let mask = sched_getaffinity(Pid::from_raw(0))
        .map_err(|e| failed(format!("sched_getaffinity: {e}")))?;
    let allowed = allowed_list(&mask);
    if !mask.is_set(cpu).unwrap_or(false) {
        return Err(bad(format!(
            "--pin {cpu}: no such CPU available to this process (allowed: {allowed})"
        )));
    }
    Ok(mask)
}

fn allowed_list(mask: &CpuSet) -> String {
    let cpus: Vec<String> = (0..CpuSet::count())
        .filter(|&c| mask.is_set(c).unwrap_or(false))
        .map(|c| c.to_string())
        .collect();
    cpus.join(",")
}

fn cpu_count(mask: &CpuSet) -> usize {
    (0..CpuSet::count())
        .filter(|&c| mask.is_set(c).unwrap_or(false))
        .count()
}

/// Restores the original CPU mask on drop.
struct PinGuard(Option<CpuSet>);

impl Drop for PinGuard {
    fn drop(&mut self) {
        if let Some(mask) = &self.0 {
            let _ = sched_setaffinity(Pid::from_raw(0), mask);
        }
    }
}

/// (RssAnon in KiB, number of mappings) of process `pid`: what fork copies.
pub fn footprint(pid: u32) -> (u64, u64) {
    let anon = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0);
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map_or(0, |s| s.lines().count() as u64);
    (anon, maps)
}

/// Number of threads of this process ([`forklore_sys::thread_count`]).
pub fn thread_count() -> Option<usize> {
    forklore_sys::thread_count().ok()
}

fn op_error(method: &str, e: OpError) -> BenchError {
    failed(format!("{method}: {e}"))
}

/// SIGINT and SIGTERM caught for the length of a measurement, so that an
/// interrupted run still reaps its timing process and removes its
/// temporary directory (Ctrl-C also reaches the helper, which then dies;
/// its lost contact is reported as the interruption it is).
struct Stop {
    int: CaughtSignal,
    term: CaughtSignal,
}

impl Stop {
    fn install() -> Result<Stop, BenchError> {
        let catch = |sig, name| {
            catch_flag(sig)
                .map_err(|e| failed(format!("cannot catch {name}: {}", std::io::Error::from(e))))
        };
        Ok(Stop {
            int: catch(Signal::SIGINT as i32, "SIGINT")?,
            term: catch(Signal::SIGTERM as i32, "SIGTERM")?,
        })
    }

    fn hit(&self) -> Option<&'static str> {
        if self.int.flag.load(Ordering::SeqCst) {
            Some("SIGINT")
        } else if self.term.flag.load(Ordering::SeqCst) {
            Some("SIGTERM")
        } else {
            None
        }
    }

    fn check(&self) -> Result<(), BenchError> {
        self.hit()
            .map_or(Ok(()), |s| Err(BenchError::Interrupted(s)))
    }

    /// An op failure, unless it is the interruption's doing.
    fn op_error(&self, method: &str, e: OpError) -> BenchError {
        match self.hit() {
            Some(s) => BenchError::Interrupted(s),
            None => op_error(method, e),
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Ru {
    csw: f64,
    flt: f64,
}

/// (the helper's own, its children's) counts.
fn ru(u: &HelperUsage) -> (Ru, Ru) {
    (
        Ru {
            csw: u.context_switches as f64,
            flt: u.page_faults as f64,
        },
        Ru {
            csw: u.children_context_switches as f64,
            flt: u.children_page_faults as f64,
        },
    )
}

struct Timed {
    parent: Ru,
    children: Ru,
}

/// Warm up, then time `lp` until the budget is spent or `tick` (called
/// between batches with the count so far) returns false.
fn time_loop(
    hist: &mut Histogram<u32>,
    lp: &mut Helper,
    budget: Budget,
    warmup: u64,
    buf: &mut [u64],
    tick: &mut dyn FnMut(u64) -> bool,
) -> Result<Timed, OpError> {
    let mut est_ns = 0u64;
    let w0 = Instant::now();
    let mut wdone = 0;
    while wdone < warmup && w0.elapsed() < WARMUP_CAP {
        let n = (warmup - wdone).min(16) as usize;
        lp.run(&mut buf[..n])?;
        wdone += n as u64;
        est_ns = buf[..n].iter().sum::<u64>() / n as u64;
    }
    let mut batch = (BATCH_TARGET.as_nanos() as u64)
        .checked_div(est_ns)
        .map_or(1, |b| b.clamp(1, BATCH_MAX as u64) as usize);
    hist.reset();
    let (p0, c0) = ru(&lp.rusage()?);
    let start = Instant::now();
    let mut done = 0u64;
    loop {
        let mut n = batch;
        if let Some(max) = budget.max_iterations {
            n = n.min((max - done) as usize);
        }
        if n == 0 {
            break;
        }
        lp.run(&mut buf[..n])?;
        let mut sum = 0u64;
        for &v in &buf[..n] {
            record(hist, v);
            sum += v;
        }
        done += n as u64;
        if budget.max_time.is_some_and(|t| start.elapsed() >= t) {
            break;
        }
        if !tick(done) {
            break;
        }
        let mean = (sum / n as u64).max(1);
        batch = (BATCH_TARGET.as_nanos() as u64 / mean).clamp(1, BATCH_MAX as u64) as usize;
    }
    let (p1, c1) = ru(&lp.rusage()?);
    let per = |a: f64, b: f64| if done > 0 { (b - a) / done as f64 } else { 0.0 };
    Ok(Timed {
        parent: Ru {
            csw: per(p0.csw, p1.csw),
            flt: per(p0.flt, p1.flt),
        },
        children: Ru {
            csw: per(c0.csw, c1.csw),
            flt: per(c0.flt, c1.flt),
        },
    })
}

/// A short extra pass with inherited perf counters (they slow fork down, so
/// they are never open while timing).
fn perf_pass(
    lp: &mut Helper,
    ops: u64,
    buf: &mut [u64],
    counters: &mut Counters,
) -> Result<(), OpError> {
    let mut open = Vec::new();
    for ev in PerfEvent::ALL {
        match PerfCounter::open(ev, lp.pid()) {
            Ok(c) => open.push(c),
            Err(errno) => {
                let why = std::io::Error::from(errno).to_string();
                counters.perf_unavailable.insert(ev.name().to_string(), why);
            }
        }
    }
    if open.is_empty() {
        return Ok(());
    }
    let before: Vec<Option<u64>> = open.iter().map(|c| c.read().ok()).collect();
    let t0 = Instant::now();
    let mut done = 0u64;
    while done < ops && t0.elapsed() < PERF_CAP {
        let n = (ops - done).min(buf.len() as u64).min(16) as usize;
        lp.run(&mut buf[..n])?;
        done += n as u64;
    }
    for (c, b) in open.iter().zip(before) {
        if let (Some(b), Ok(a)) = (b, c.read()) {
            counters.perf.insert(
                c.event.name().to_string(),
                (a.saturating_sub(b)) as f64 / done.max(1) as f64,
            );
        }
    }
    Ok(())
}

fn progress_bar(enabled: bool, units: u64) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    // No enable_steady_tick: that would start a thread, and we fork.
    let pb = ProgressBar::with_draw_target(Some(units), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
        pb.set_style(style);
    }
    pb
}

/// Run the whole measurement described by `cfg`.
pub fn measure(cfg: &Config) -> Result<Report, BenchError> {
    let started_unix_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let original = match cfg.pin {
        Some(cpu) => Some(check_cpu(cpu)?),
        None => None,
    };
    let allowed = sched_getaffinity(Pid::from_raw(0))
        .map(|m| cpu_count(&m))
        .unwrap_or(0);
    let _restore = PinGuard(original);
    if let Some(cpu) = cfg.pin {
        let mut one = CpuSet::new();
        one.set(cpu).map_err(|e| bad(format!("--pin {cpu}: {e}")))?;
        sched_setaffinity(Pid::from_raw(0), &one).map_err(|e| bad(format!("--pin {cpu}: {e}")))?;
    }
    let environment = Environment::capture(cfg.pin, allowed, cfg.thp);
    // Declared before the temporary directory and the helper, so it is
    // dropped after them: signals stay caught until both are cleaned up.
    let stop = Stop::install()?;

    // Exec targets.
    let tmp = tempfile::Builder::new()
        .prefix("forklore-bench")
        .tempdir()
        .map_err(|e| failed(format!("cannot create a temporary directory: {e}")))?;
    let mut minimal: Option<PathBuf> = None;
    if cfg.methods.iter().any(|m| m.target == Target::Minimal) {
        let p = crate::elf::write_to(tmp.path())
            .map_err(|e| failed(format!("cannot write the exec target: {e}")))?;
        minimal = Some(p);
    }
    if cfg.methods.iter().any(|m| m.target == Target::BinTrue)
        && !std::path::Path::new(BIN_TRUE).exists()
    {
        return Err(failed(format!("{BIN_TRUE} does not exist on this system")));
    }
    let target_of = |m: &Method| -> Option<String> {
        match m.target {
            Target::None => None,
            Target::Minimal => minimal.as_ref().map(|p| p.to_string_lossy().into_owned()),
            Target::BinTrue => Some(BIN_TRUE.to_string()),
        }
    };

    // The timing process: small like a plain C program (fork copies its
    // caller), pinned like us (affinity is inherited).
    let exe = write_helper(tmp.path())
        .map_err(|e| failed(format!("cannot write the bench helper: {e}")))?;
    let mut helper = if cfg.deny.is_empty() {
        Helper::spawn(&exe)
    } else {
        Helper::spawn_denying(&exe, &cfg.deny)
    }
    .map_err(|e| failed(e.to_string()))?;
    let mut buf = vec![0u64; BATCH_MAX];

    // Check every op works: one op each. A bad --flags combination is the
    // user's input, rejected by the kernel; any other method whose first
    // op fails is one this environment lacks (a sandbox without clone3, a
    // seccomp profile): it is reported unavailable and the rest measured.
    let user_flags = cfg.clone != CloneFlags::default();
    let mut ops = Vec::new();
    let mut unavailable = Vec::new();
    for m in &cfg.methods {
        let target = target_of(m);
        let first = helper
            .prepare(m.op(cfg.clone), target.as_deref())
            .and_then(|op| helper.run(&mut buf[..1]).map(|()| op));
        match first {
            Ok(op) => ops.push((*m, op, target)),
            // Ctrl-C during this first op is an interruption, not a
            // rejection of the flags or a missing method.
            Err(e) if stop.hit().is_some() => return Err(stop.op_error(m.name, e)),
            Err(e) if m.takes_flags() && user_flags => {
                return Err(bad(format!(
                    "clone({}) is rejected here: {e}",
                    cfg.clone.display()
                )))
            }
            Err(e @ (OpError::Syscall { .. } | OpError::Child { .. })) => {
                unavailable.push(unavailable_method(m, cfg.clone, &e))
            }
            Err(e) => return Err(stop.op_error(m.name, e)),
        }
    }
    let methods: Vec<&Method> = ops.iter().map(|(m, _, _)| *m).collect();

    let units = cfg.runs as u64 * cfg.rss.len() as u64 * methods.len() as u64 + cfg.runs as u64;
    let pb = progress_bar(cfg.progress, units);

    // The harness's own cost: a timed nothing.
    helper
        .prepare(Op::Noop, None)
        .map_err(|e| stop.op_error("noop", e))?;
    let mut overhead = new_run_histogram();
    for _ in 0..cfg.runs {
        pb.set_message("harness overhead");
        for _ in 0..OVERHEAD_SAMPLES / BATCH_MAX {
            helper.run(&mut buf).map_err(|e| stop.op_error("noop", e))?;
            for &v in buf.iter() {
                record(&mut overhead, v);
            }
        }
        pb.inc(1);
    }

    // Runs outermost: each run is a whole sweep, so slow drifts of the
    // machine spread over every point instead of bending one of them.
    let nm = methods.len();
    let slots = cfg.rss.len() * nm;
    let mut hists: Vec<Sparse> = vec![Sparse::default(); slots];
    let mut runs: Vec<Vec<RunSummary>> = vec![Vec::new(); slots];
    let mut counters: Vec<Counters> = vec![Counters::default(); slots];
    let mut run_hist = new_run_histogram();
    let (parent_anon_kib, parent_mappings) = footprint(helper.pid());
    for run in 0..cfg.runs {
        for (ri, &rss) in cfg.rss.iter().enumerate() {
            if rss > 0 {
                pb.set_message(format!("touching {} of parent memory", format_size(rss)));
            }
            helper.ballast(rss, cfg.thp).map_err(|e| match stop.hit() {
                Some(sig) => BenchError::Interrupted(sig),
                None => failed(format!("--rss {rss}: {e}")),
            })?;
            for (i, m) in methods.iter().enumerate() {
                let j = ri * nm + i;
                let label = format!(
                    "run {}/{} {} rss {}",
                    run + 1,
                    cfg.runs,
                    m.name,
                    format_size(rss)
                );
                pb.set_message(label.clone());
                let mut tick = |done: u64| {
                    pb.set_message(format!("{label}: {done} ops"));
                    stop.hit().is_none()
                };
                let (_, op, target) = &ops[i];
                helper
                    .prepare(*op, target.as_deref())
                    .map_err(|e| stop.op_error(m.name, e))?;
                let t = time_loop(
                    &mut run_hist,
                    &mut helper,
                    cfg.budget,
                    cfg.warmup,
                    &mut buf,
                    &mut tick,
                )
                .map_err(|e| stop.op_error(m.name, e))?;
                stop.check()?;
                runs[j].push(RunSummary {
                    samples: run_hist.len(),
                    p50_ns: run_hist.value_at_quantile(0.5),
                    mean_ns: run_hist.mean(),
                });
                hists[j].add(&run_hist);
                let c = &mut counters[j];
                let k = cfg.runs as f64;
                c.parent_context_switches += t.parent.csw / k;
                c.parent_page_faults += t.parent.flt / k;
                c.children_context_switches += t.children.csw / k;
                c.children_page_faults += t.children.flt / k;
                pb.inc(1);
            }
            if cfg.perf && run + 1 == cfg.runs {
                for (i, m) in methods.iter().enumerate() {
                    pb.set_message(format!("perf counters {}", m.name));
                    let (_, op, target) = &ops[i];
                    helper
                        .prepare(*op, target.as_deref())
                        .map_err(|e| stop.op_error(m.name, e))?;
                    perf_pass(&mut helper, PERF_OPS, &mut buf, &mut counters[ri * nm + i])
                        .map_err(|e| stop.op_error(m.name, e))?;
                }
            }
        }
    }
    let mut results = Vec::new();
    for (ri, &rss) in cfg.rss.iter().enumerate() {
        for (i, m) in methods.iter().enumerate() {
            let j = ri * nm + i;
            let merged = hists[j].to_histogram();
            let p50s: Vec<f64> = runs[j].iter().map(|r| r.p50_ns as f64).collect();
            let spread = stats::spread(&p50s);
            results.push(MethodResult {
                method: m.name.to_string(),
                status: MEASURED.into(),
                description: describe(m, cfg.clone),
                rss_bytes: rss,
                stats: Stats::from_histogram(&merged),
                runs: std::mem::take(&mut runs[j]),
                spread,
                noisy: spread.is_some_and(|s| s > NOISE_THRESHOLD),
                counters: std::mem::take(&mut counters[j]),
                cdf: stats::cdf(&merged, 48),
            });
        }
    }
    pb.finish_and_clear();
    drop(helper);
    drop(tmp);

    let fits = fits(cfg, &methods, &results);
    let harness = Harness {
        clock: "clock_gettime(CLOCK_MONOTONIC) via vDSO, read before and after each operation by forklore-bench-loop (no_std, libc only)"
            .into(),
        overhead: Stats::from_histogram(&overhead),
        parent_anon_kib,
        parent_mappings,
    };
    let notes = notes(cfg, &environment, &harness, &results, &unavailable);
    Ok(Report {
        schema: SCHEMA.into(),
        forklore_version: env!("CARGO_PKG_VERSION").into(),
        started_unix_s,
        environment,
        config: RunConfig {
            methods: cfg.methods.iter().map(|m| m.name.to_string()).collect(),
            clone_flags: cfg.clone.display(),
            iterations: cfg.budget.max_iterations,
            duration_ms: cfg.budget.max_time.map(|d| d.as_millis() as u64),
            warmup: cfg.warmup,
            runs: cfg.runs,
            rss_bytes: cfg.rss.clone(),
            thp: cfg.thp,
        },
        harness,
        results,
        unavailable,
        fits,
        notes,
    })
}

fn describe(m: &Method, clone: CloneFlags) -> String {
    if m.takes_flags() {
        format!("clone({}) + SYS_exit + reap", clone.display())
    } else {
        m.description.to_string()
    }
}

/// The report entry of a method whose first op failed with `e`.
fn unavailable_method(m: &Method, clone: CloneFlags, e: &OpError) -> Unavailable {
    let (call, errno) = match e {
        OpError::Syscall { call, errno } => (
            Some(call.to_string()),
            Some(
                errno
                    .name()
                    .map_or_else(|| format!("errno {}", errno.raw()), str::to_string),
            ),
        ),
        _ => (None, None),
    };
    Unavailable {
        method: m.name.to_string(),
        status: UNAVAILABLE.into(),
        description: describe(m, clone),
        call,
        errno,
        reason: e.to_string(),
    }
}

/// Fitted growth over a sweep (`slope` × the RSS range) relative to the
/// cost measured at the sweep's smallest RSS. Not relative to the
/// intercept: that is a fit parameter, and it can be tiny or negative when
/// the largest point dominates the fit.
fn sweep_growth(xy: &[(f64, f64)], slope: f64) -> f64 {
    let xmax = xy.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let xmin = xy.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let base = xy
        .iter()
        .filter(|p| p.0 == xmin)
        .map(|p| p.1)
        .fold(0.0, f64::max)
        .max(1.0);
    slope * (xmax - xmin) / base
}

/// Least-squares cost versus RSS for every method measured at 2+ sizes.
pub fn fits(cfg: &Config, methods: &[&Method], results: &[MethodResult]) -> Vec<RssFit> {
    if cfg.rss.len() < 2 {
        return Vec::new();
    }
    let gib = (1u64 << 30) as f64;
    let mut out = Vec::new();
    for m in methods {
        let points: Vec<(u64, u64)> = results
            .iter()
            .filter(|r| r.method == m.name)
            .map(|r| (r.rss_bytes, r.stats.p50_ns))
            .collect();
        let xy: Vec<(f64, f64)> = points
            .iter()
            .map(|&(x, y)| (x as f64 / gib, y as f64))
            .collect();
        let Some(f) = linear_fit(&xy) else { continue };
        let at: Vec<&MethodResult> = results.iter().filter(|r| r.method == m.name).collect();
        let per_run: Vec<f64> = (0..cfg.runs as usize)
            .filter_map(|k| {
                let xy: Vec<(f64, f64)> = at
                    .iter()
                    .filter_map(|r| {
                        r.runs
                            .get(k)
                            .map(|s| (r.rss_bytes as f64 / gib, s.p50_ns as f64))
                    })
                    .collect();
                linear_fit(&xy).map(|f| f.slope / 1e6)
            })
            .collect();
        let growth = sweep_growth(&xy, f.slope);
        out.push(RssFit {
            method: m.name.to_string(),
            points,
            intercept_ns: f.intercept,
            ms_per_gib: f.slope / 1e6,
            ns_per_page: f.slope / (gib / 4096.0),
            r2: f.r2,
            growth,
            flat: growth.abs() < 0.10,
            shares_vm: m.is_vm_family(cfg.clone),
            slope_spread: stats::spread(&per_run),
            per_run_ms_per_gib: per_run,
        });
    }
    out
}

fn notes(
    cfg: &Config,
    env: &Environment,
    harness: &Harness,
    results: &[MethodResult],
    unavailable: &[Unavailable],
) -> Vec<String> {
    let mut n = Vec::new();
    if !unavailable.is_empty() {
        let list: Vec<String> = unavailable
            .iter()
            .map(|u| match &u.errno {
                Some(e) => format!("{} ({e})", u.method),
                None => u.method.clone(),
            })
            .collect();
        n.push(format!(
            "unavailable here, not measured: {}; this environment (a sandbox, a seccomp profile or an older kernel) refuses them. Every other method was measured.",
            list.join(", ")
        ));
    }
    match (cfg.pin, env.virtualized) {
        (Some(cpu), true) => n.push(format!(
            "pinned to CPU {cpu}: parent and children share one vCPU, so wake-ups stay local; on a VM this roughly halves fork/exit/wait costs compared with unpinned runs. Compare only runs with the same pinning."
        )),
        (Some(cpu), false) => n.push(format!("pinned to CPU {cpu}: parent and children share one CPU. Compare only runs with the same pinning.")),
        (None, true) => n.push(
            "not pinned, on a VM: a child woken on another vCPU costs an IPI (a VM exit); --pin CPU typically halves the cost of fork+exit+wait here."
                .into(),
        ),
        (None, false) => n.push("not pinned: children may start on another CPU; use --pin CPU for steadier numbers.".into()),
    }
    if cfg.runs < 2 {
        n.push("one run: the spread between runs is unknown; use --runs 3 or more before trusting small differences.".into());
    }
    let noisy: Vec<String> = results
        .iter()
        .filter(|r| r.noisy)
        .map(|r| {
            if cfg.rss.len() > 1 {
                format!("{}@{}", r.method, crate::parse::format_size(r.rss_bytes))
            } else {
                r.method.clone()
            }
        })
        .collect();
    if !noisy.is_empty() {
        n.push(format!(
            "NOISY (p50 varies more than {:.0}% between runs, marked !): {}; read those numbers as approximate (try --pin, more --runs, a quieter machine).",
            NOISE_THRESHOLD * 100.0,
            noisy.join(", ")
        ));
    }
    if harness.overhead.p50_ns > 50 {
        n.push(format!(
            "the harness costs {} ns per sample here (goal: under 50 ns); the clocksource is {}.",
            harness.overhead.p50_ns, env.clocksource
        ));
    }
    if cfg.rss.len() > 1 && cfg.thp {
        n.push("--thp: the ballast is MADV_HUGEPAGE; page tables of 2 MiB pages are much cheaper to copy.".into());
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::linear_fit;

    #[test]
    fn growth_is_relative_to_the_smallest_point_not_the_intercept() {
        // fork on this VM (0, 64M, 256M, 1G): a slight upward bend makes
        // the least-squares intercept negative.
        let xy = [
            (0.0, 67_711.0),
            (0.0625, 1_775_615.0),
            (0.25, 6_979_583.0),
            (1.0, 29_704_191.0),
        ];
        let f = linear_fit(&xy).unwrap();
        assert!(f.intercept < 0.0, "{f:?}");
        let g = sweep_growth(&xy, f.slope);
        assert!((400.0..500.0).contains(&g), "{g}");
        // A flat line stays flat whatever the order of the points.
        let flat = [(1.0, 22_100.0), (0.0, 21_900.0), (0.25, 22_000.0)];
        let f = linear_fit(&flat).unwrap();
        assert!(sweep_growth(&flat, f.slope).abs() < 0.1);
    }
}
