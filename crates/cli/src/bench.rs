//! `forklore bench`: the latency workbench's options, handed to
//! forklore-bench as plain [`BenchOptions`].

use crate::exit;
use clap::Args;
use forklore_bench::{BenchError, BenchOptions};
use forklore_suite::input::InputError;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Methods to time, comma-separated; `all` and `default` expand (see
    /// --list-methods). Default: the default set; with --rss: fork, vfork,
    /// clone3-vfork, thread; with --flags alone: clone.
    #[arg(long = "method", value_name = "LIST")]
    pub method: Option<String>,
    /// Flags of the `clone` method, e.g. `VM|VFORK` or `THREAD|SIGHAND|VM`
    /// (names, CLONE_ names, hex; an exit signal like SIGUSR1). Default: SIGCHLD.
    #[arg(long, value_name = "FLAGS")]
    pub flags: Option<String>,
    /// Timed operations per method per run. Default: 5000, capped at 1 s.
    #[arg(long, value_name = "N")]
    pub iterations: Option<String>,
    /// Time per method per run instead of a count, e.g. 500ms, 2s.
    #[arg(long, value_name = "TIME")]
    pub duration: Option<String>,
    /// Untimed operations before each run (at most 0.5 s). Default: 100.
    #[arg(long, value_name = "N")]
    pub warmup: Option<String>,
    /// Pin the bench and every child to this CPU (on a VM this roughly
    /// halves fork costs: wake-ups stay on one vCPU). Default: not pinned.
    #[arg(long, value_name = "CPU")]
    pub pin: Option<String>,
    /// Parent RSS sweep: touch this much private anonymous memory before
    /// timing, e.g. 0,64M,256M,1G. Default: 0 (no sweep).
    #[arg(long, value_name = "SIZES")]
    pub rss: Option<String>,
    /// Let the RSS ballast use transparent huge pages (MADV_HUGEPAGE);
    /// default MADV_NOHUGEPAGE.
    #[arg(long)]
    pub thp: bool,
    /// Repeat every measurement N times and report the spread. Default: 3.
    #[arg(long, value_name = "N")]
    pub runs: Option<String>,
    /// Print the JSON report (schema forklore-bench/1) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write an SVG plot: latency distributions, and cost versus RSS.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Skip the perf-counter pass.
    #[arg(long)]
    pub no_perf: bool,
    /// Compare two JSON reports: per-method ratio B/A of the p50s.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub compare: Option<Vec<PathBuf>>,
    /// List the methods and exit.
    #[arg(long)]
    pub list_methods: bool,
}

impl BenchArgs {
    /// The plain options forklore-bench validates and runs.
    pub fn options(&self) -> BenchOptions {
        let a = self.clone();
        BenchOptions {
            method: a.method,
            flags: a.flags,
            iterations: a.iterations,
            duration: a.duration,
            warmup: a.warmup,
            pin: a.pin,
            rss: a.rss,
            thp: a.thp,
            runs: a.runs,
            json: a.json,
            output: a.output,
            plot: a.plot,
            no_perf: a.no_perf,
            compare: a.compare,
            list_methods: a.list_methods,
        }
    }
}

/// Bad input is an [`InputError`] (exit 2 like every command); a failed
/// measurement exits 1, an interrupted one 130.
pub fn run(args: &BenchArgs) -> Result<i32, InputError> {
    match forklore_bench::run(&args.options(), &mut std::io::stdout()) {
        Ok(()) => Ok(exit::OK),
        Err(BenchError::BadInput(m)) => Err(InputError(m)),
        Err(e) => {
            eprintln!("forklore bench: {e}");
            Ok(match e {
                BenchError::Interrupted(_) => exit::INTERRUPTED,
                _ => exit::FAIL,
            })
        }
    }
}
