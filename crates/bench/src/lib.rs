//! forklore-bench: the latency workbench behind `forklore bench`.
//!
//! Times every way of creating a process on this kernel, one operation at
//! a time (raw syscalls in forklore-sys, `clock_gettime` via the vDSO around
//! each op, HDR histograms), with warm-up, repeated runs and their spread,
//! getrusage and perf counters, an RSS sweep with a least-squares cost per
//! GiB, a table, a versioned JSON report, an SVG plot and report comparison.
//!
//! Entry point for the CLI: [`BenchOptions`] (filled by the `bench`
//! subcommand of the `forklore` crate) and [`run`], which writes the table
//! or report to the writer it is given; a [`BenchError`] is one line for
//! stderr (the command maps its kind to an exit code).
//!
//! The bench forks from the calling process: call [`run`] from the main
//! thread of a single-threaded process (it refuses otherwise).

#![forbid(unsafe_code)]

pub mod elf;
pub mod env;
pub mod error;
pub mod methods;
pub mod parse;
pub mod plot;
pub mod report;
pub mod runner;
pub mod stats;

pub use error::BenchError;
pub use report::{Report, SCHEMA};

use error::bad;
use methods::{CloneFlags, METHODS};
use runner::{Budget, Config};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The most `--iterations` bench accepts: ten million forks take about
/// 12 minutes on a 2-vCPU VM; more is a typo, not a measurement.
pub const MAX_ITERATIONS: u64 = 10_000_000;

/// Default operations per method per run, when neither `--iterations` nor
/// `--duration` is given ...
pub const DEFAULT_ITERATIONS: u64 = 5000;
/// ... capped at this much time per method per run.
pub const DEFAULT_TIME_CAP: Duration = Duration::from_secs(1);
/// Default warm-up operations before each timed run.
pub const DEFAULT_WARMUP: u64 = 100;
/// Default number of runs (their spread is reported).
pub const DEFAULT_RUNS: u32 = 3;

/// Options of `forklore bench`, one field per command-line option (see
/// `forklore bench --help`). Values are taken as text and validated by
/// [`config`], so every mistake is reported as one line ([`BenchError::BadInput`]).
#[derive(Debug, Clone, Default)]
pub struct BenchOptions {
    /// Methods to time, comma-separated; `all` and `default` expand (see
    /// --list-methods). Default: the default set; with --rss: fork, vfork,
    /// clone3-vfork, thread; with --flags alone: clone.
    pub method: Option<String>,
    /// Flags of the `clone` method, e.g. `VM|VFORK` or `THREAD|SIGHAND|VM`
    /// (names, CLONE_ names, hex; an exit signal like SIGUSR1). Default: SIGCHLD.
    pub flags: Option<String>,
    /// Timed operations per method per run. Default: 5000, capped at 1 s.
    pub iterations: Option<String>,
    /// Time per method per run instead of a count, e.g. 500ms, 2s.
    pub duration: Option<String>,
    /// Untimed operations before each run (at most 0.5 s). Default: 100.
    pub warmup: Option<String>,
    /// Pin the bench and every child to this CPU (on a VM this roughly
    /// halves fork costs: wake-ups stay on one vCPU). Default: not pinned.
    pub pin: Option<String>,
    /// Parent RSS sweep: touch this much private anonymous memory before
    /// timing, e.g. 0,64M,256M,1G. Default: 0 (no sweep).
    pub rss: Option<String>,
    /// Let the RSS ballast use transparent huge pages (MADV_HUGEPAGE);
    /// default MADV_NOHUGEPAGE.
    pub thp: bool,
    /// Repeat every measurement N times and report the spread. Default: 3.
    pub runs: Option<String>,
    /// Print the JSON report (schema forklore-bench/1) instead of the table.
    pub json: bool,
    /// Also write the JSON report to FILE.
    pub output: Option<PathBuf>,
    /// Write an SVG plot: latency distributions, and cost versus RSS.
    pub plot: Option<PathBuf>,
    /// Skip the perf-counter pass.
    pub no_perf: bool,
    /// Compare two JSON reports: per-method ratio B/A of the p50s.
    pub compare: Option<Vec<PathBuf>>,
    /// List the methods and exit.
    pub list_methods: bool,
    /// Test-only simulation of a sandbox: syscalls the timing process is
    /// made to fail by a seccomp filter, comma-separated `NAME[:ERRNO]`
    /// (errno ENOSYS by default), e.g. `clone3` or `clone3,wait4:EPERM`;
    /// names: fork, clone, clone3, wait4, waitid. `forklore bench` takes it
    /// from the environment variable `FORKLORE_BENCH_DENY`.
    pub deny: Option<String>,
}

/// Parse [`BenchOptions::deny`].
pub fn parse_deny(spec: &str) -> Result<Vec<(u64, forklore_sys::errno::Errno)>, BenchError> {
    let mut out = Vec::new();
    for tok in spec.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (name, err) = tok.split_once(':').unwrap_or((tok, "ENOSYS"));
        let nr = forklore_sys::bench::deniable_syscall(name).ok_or_else(|| {
            bad(format!(
                "FORKLORE_BENCH_DENY: unknown syscall {name:?} (known: fork, clone, clone3, wait4, waitid)"
            ))
        })?;
        let errno = forklore_model::errno::Errno::from_name(err)
            .ok_or_else(|| bad(format!("FORKLORE_BENCH_DENY: unknown errno {err:?}")))?;
        out.push((nr, forklore_sys::errno::Errno::from_raw(errno.0)));
    }
    if out.len() > 8 {
        return Err(bad("FORKLORE_BENCH_DENY: at most 8 syscalls"));
    }
    Ok(out)
}

impl BenchOptions {
    fn measurement_options(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut add = |set: bool, name| {
            if set {
                v.push(name)
            }
        };
        add(self.method.is_some(), "--method");
        add(self.flags.is_some(), "--flags");
        add(self.iterations.is_some(), "--iterations");
        add(self.duration.is_some(), "--duration");
        add(self.warmup.is_some(), "--warmup");
        add(self.pin.is_some(), "--pin");
        add(self.rss.is_some(), "--rss");
        add(self.thp, "--thp");
        add(self.runs.is_some(), "--runs");
        add(self.json, "--json");
        add(self.output.is_some(), "--output");
        add(self.plot.is_some(), "--plot");
        add(self.no_perf, "--no-perf");
        v
    }
}

/// Validate the options into a [`Config`].
pub fn config(args: &BenchOptions) -> Result<Config, BenchError> {
    if args.iterations.is_some() && args.duration.is_some() {
        return Err(bad("--iterations and --duration cannot be used together"));
    }
    let budget = match (&args.iterations, &args.duration) {
        (Some(n), _) => Budget {
            max_iterations: Some(parse::parse_at_most("--iterations", n, MAX_ITERATIONS)?),
            max_time: None,
        },
        (_, Some(d)) => Budget {
            max_iterations: None,
            max_time: Some(parse::parse_duration(d).map_err(|e| bad(format!("--duration: {e}")))?),
        },
        _ => Budget {
            max_iterations: Some(DEFAULT_ITERATIONS),
            max_time: Some(DEFAULT_TIME_CAP),
        },
    };
    let rss = match &args.rss {
        Some(s) => parse::parse_size_list(s).map_err(|e| bad(format!("--rss: {e}")))?,
        None => vec![0],
    };
    if args.thp && args.rss.is_none() {
        return Err(bad("--thp only applies to the --rss ballast"));
    }
    if rss.iter().any(|&b| b > 64 << 30) {
        return Err(bad("--rss: sizes above 64G are not supported"));
    }
    let sweep = args.rss.is_some();
    let clone = match &args.flags {
        Some(f) => CloneFlags::parse(f)?,
        None => CloneFlags::default(),
    };
    let methods = match (&args.method, &args.flags) {
        (Some(m), _) => methods::select(m)?,
        (None, Some(_)) => vec![methods::find("clone").expect("clone is in the catalogue")],
        (None, None) => methods::defaults(sweep),
    };
    if methods.is_empty() {
        return Err(bad("--method selects no method"));
    }
    if args.flags.is_some() && !methods.iter().any(|m| m.takes_flags()) {
        return Err(bad(
            "--flags applies to the clone method; add clone to --method",
        ));
    }
    let warmup = match &args.warmup {
        Some(w) => parse::parse_count("--warmup", w)?,
        None => DEFAULT_WARMUP,
    };
    let runs = match &args.runs {
        Some(r) => parse::parse_positive("--runs", r)?,
        None => DEFAULT_RUNS as u64,
    };
    if runs > 1000 {
        return Err(bad(format!("--runs {runs}: at most 1000")));
    }
    let pin = match &args.pin {
        Some(p) => {
            let cpu = parse::parse_count("--pin", p)? as usize;
            runner::check_cpu(cpu)?;
            Some(cpu)
        }
        None => None,
    };
    Ok(Config {
        methods,
        clone,
        budget,
        warmup,
        pin,
        rss,
        thp: args.thp,
        runs: runs as u32,
        perf: !args.no_perf,
        progress: true,
        deny: match &args.deny {
            Some(d) => parse_deny(d)?,
            None => Vec::new(),
        },
    })
}

/// Measure as `args` say and return the report, printing nothing.
pub fn run_report(args: &BenchOptions) -> Result<Report, BenchError> {
    let mut cfg = config(args)?;
    cfg.progress = false;
    runner::measure(&cfg)
}

/// How [`run`] writes a file it was asked for (`--output`, `--plot`):
/// `forklore bench` passes its atomic write.
pub type SaveFile<'a> = &'a mut dyn FnMut(&Path, &[u8]) -> std::io::Result<()>;

/// `forklore bench`: list the methods, compare two reports or measure, and
/// write the table (or JSON report) to `out`, then the `--output` report
/// and the `--plot` through `save`. The caller checks those paths before
/// calling (this runs the measurement first). Bad input is
/// `Err(BenchError::BadInput)`; a failed write on `out` is
/// `Err(BenchError::Output)`.
pub fn run(args: &BenchOptions, out: &mut dyn Write, save: SaveFile<'_>) -> Result<(), BenchError> {
    if args.list_methods {
        for m in METHODS {
            let tags = match (m.default, m.shares_vm) {
                (true, true) => " [default, CLONE_VM]",
                (true, false) => " [default]",
                (false, true) => " [CLONE_VM]",
                (false, false) => "",
            };
            writeln!(out, "{:<17} {}{}", m.name, m.description, tags)
                .map_err(BenchError::Output)?;
        }
        return Ok(());
    }
    if let Some(files) = &args.compare {
        let others = args.measurement_options();
        if !others.is_empty() {
            return Err(bad(format!(
                "--compare cannot be combined with {}",
                others.join(", ")
            )));
        }
        let [a, b] = files.as_slice() else {
            return Err(bad("--compare takes two report files"));
        };
        let ra = report::load(a)?;
        let rb = report::load(b)?;
        write!(
            out,
            "{}",
            report::compare(&ra, &rb, &a.display().to_string(), &b.display().to_string())
        )
        .map_err(BenchError::Output)?;
        return Ok(());
    }
    let cfg = config(args)?;
    let report = runner::measure(&cfg)?;
    let json =
        serde_json::to_string_pretty(&report).map_err(|e| error::failed(format!("JSON: {e}")))?;
    if args.json {
        writeln!(out, "{json}")
    } else {
        write!(out, "{}", report.table())
    }
    .map_err(BenchError::Output)?;
    if let Some(p) = &args.output {
        save(p, format!("{json}\n").as_bytes())
            .map_err(|e| error::failed(format!("cannot write {}: {e}", p.display())))?;
    }
    if let Some(p) = &args.plot {
        let svg = plot::render_svg(&report)?;
        save(p, svg.as_bytes())
            .map_err(|e| error::failed(format!("cannot write {}: {e}", p.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> BenchOptions {
        BenchOptions::default()
    }

    fn bad_input(a: &BenchOptions) -> String {
        match config(a) {
            Err(BenchError::BadInput(m)) => {
                assert!(!m.contains('\n'), "one line: {m}");
                m
            }
            other => panic!("expected bad input, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = config(&args()).unwrap();
        assert_eq!(
            c.budget,
            Budget {
                max_iterations: Some(5000),
                max_time: Some(DEFAULT_TIME_CAP)
            }
        );
        assert_eq!(c.runs, 3);
        assert_eq!(c.warmup, 100);
        assert_eq!(c.rss, vec![0]);
        assert_eq!(c.methods.len(), methods::defaults(false).len());
        let sweep = config(&BenchOptions {
            rss: Some("0,64M,256M,1G".into()),
            ..args()
        })
        .unwrap();
        assert_eq!(sweep.rss.len(), 4);
        assert!(sweep.methods.iter().any(|m| m.name == "clone3-vfork"));
        let flags = config(&BenchOptions {
            flags: Some("VM|VFORK".into()),
            ..args()
        })
        .unwrap();
        assert_eq!(flags.methods[0].name, "clone");
    }

    #[test]
    fn bad_inputs_are_one_line() {
        assert!(bad_input(&BenchOptions {
            method: Some("fork,spork".into()),
            ..args()
        })
        .contains("spork"));
        assert!(bad_input(&BenchOptions {
            rss: Some("0,64Q".into()),
            ..args()
        })
        .contains("64Q"));
        assert!(bad_input(&BenchOptions {
            iterations: Some("0".into()),
            ..args()
        })
        .contains("--iterations"));
        let both = BenchOptions {
            iterations: Some("10".into()),
            duration: Some("1s".into()),
            ..args()
        };
        assert!(bad_input(&both).contains("--duration"));
        assert!(bad_input(&BenchOptions {
            pin: Some("4096".into()),
            ..args()
        })
        .contains("--pin"));
        assert!(bad_input(&BenchOptions {
            pin: Some("x".into()),
            ..args()
        })
        .contains("--pin"));
        assert!(bad_input(&BenchOptions {
            runs: Some("0".into()),
            ..args()
        })
        .contains("--runs"));
        assert!(bad_input(&BenchOptions {
            thp: true,
            ..args()
        })
        .contains("--thp"));
        assert!(bad_input(&BenchOptions {
            flags: Some("NOPE".into()),
            ..args()
        })
        .contains("NOPE"));
        let f = BenchOptions {
            flags: Some("VM".into()),
            method: Some("fork".into()),
            ..args()
        };
        assert!(bad_input(&f).contains("clone"));
        assert!(bad_input(&BenchOptions {
            duration: Some("soon".into()),
            ..args()
        })
        .contains("soon"));
    }

    #[test]
    fn stopping_exit_signals_are_bad_input() {
        for sig in [
            "SIGSTOP",
            "SIGTSTP",
            "SIGTTIN",
            "SIGTTOU",
            "0x13",
            "VM|VFORK|SIGTSTP",
        ] {
            let m = bad_input(&BenchOptions {
                flags: Some(sig.into()),
                ..args()
            });
            assert!(m.contains("would stop the timing process"), "{sig}: {m}");
        }
        // Threads send no exit signal: nothing to stop.
        let t = CloneFlags::parse("THREAD|SIGHAND|VM|SIGSTOP").unwrap();
        assert_eq!(t.exit_signal, 19);
        assert!(CloneFlags::parse("SIGUSR1").is_ok());
    }

    #[test]
    fn compare_never_blocks_on_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let e = report::load(&fifo).unwrap_err();
        assert!(matches!(e, BenchError::BadInput(ref m) if m.contains("not a regular file")));
        let e = report::load(dir.path()).unwrap_err();
        assert!(matches!(e, BenchError::BadInput(_)));
    }

    #[test]
    fn compare_errors_are_bad_input() {
        let a = BenchOptions {
            compare: Some(vec![
                "/nonexistent/a.json".into(),
                "/nonexistent/b.json".into(),
            ]),
            ..args()
        };
        let e = run(&a, &mut Vec::new(), &mut |_, _| Ok(())).unwrap_err();
        assert!(matches!(e, BenchError::BadInput(_)));
        assert!(e.to_string().contains("/nonexistent/a.json"));
        let mixed = BenchOptions {
            method: Some("fork".into()),
            ..a
        };
        let e = run(&mixed, &mut Vec::new(), &mut |_, _| Ok(())).unwrap_err();
        assert!(e.to_string().contains("--method"));
    }

    #[test]
    fn list_methods_lists_every_method() {
        let mut text = Vec::new();
        run(
            &BenchOptions {
                list_methods: true,
                ..args()
            },
            &mut text,
            &mut |_, _| Ok(()),
        )
        .unwrap();
        let text = String::from_utf8(text).unwrap();
        assert_eq!(text.lines().count(), METHODS.len());
    }
}
