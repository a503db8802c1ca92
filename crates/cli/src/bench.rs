//! `forklore bench`: the latency workbench's options, handed to
//! forklore-bench as plain [`BenchOptions`].

use crate::output::{errln, WriteError};
use crate::{exit, files};
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
    /// (names, CLONE_ names, hex; an exit signal like SIGUSR1, but not a
    /// stop signal: SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU). Default: SIGCHLD.
    #[arg(long, value_name = "FLAGS")]
    pub flags: Option<String>,
    /// Timed operations per method per run. Default: 5000, capped at 1 s.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub iterations: Option<String>,
    /// Time per method per run instead of a count, e.g. 500ms, 2s.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub duration: Option<String>,
    /// Untimed operations before each run (at most 0.5 s). Default: 100.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub warmup: Option<String>,
    /// Pin the bench and every child to this CPU (on a VM this roughly
    /// halves fork costs: wake-ups stay on one vCPU). Default: not pinned.
    #[arg(long, value_name = "CPU", allow_hyphen_values = true)]
    pub pin: Option<String>,
    /// Parent RSS sweep: touch this much private anonymous memory before
    /// timing, e.g. 0,64M,256M,1G. Default: 0 (no sweep).
    #[arg(long, value_name = "SIZES", allow_hyphen_values = true)]
    pub rss: Option<String>,
    /// Let the RSS ballast use transparent huge pages (MADV_HUGEPAGE);
    /// default MADV_NOHUGEPAGE.
    #[arg(long)]
    pub thp: bool,
    /// Repeat every measurement N times and report the spread. Default: 3.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub runs: Option<String>,
    /// Print the JSON report (schema forklore-bench/1) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to FILE (atomically; a regular file or a
    /// new name, checked before the measurement).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write an SVG plot: latency distributions, and cost versus RSS
    /// (atomically, like --output).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Skip the perf-counter pass.
    #[arg(long)]
    pub no_perf: bool,
    /// Compare two JSON reports (regular files): per-method ratio B/A of the p50s.
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
            // Test-only: simulate a sandbox that lacks these syscalls.
            deny: std::env::var("FORKLORE_BENCH_DENY").ok(),
        }
    }
}

/// Bad input is an [`InputError`] (exit 2 like every command), output
/// paths included, refused before the measurement; a failed measurement
/// exits 1, an interrupted one 130, a failed write on stdout 3 (141 for a
/// closed pipe).
pub fn run(args: &BenchArgs) -> Result<i32, exit::Error> {
    if !args.list_methods {
        match &args.compare {
            Some(inputs) => {
                for p in inputs {
                    files::check_input("--compare", p)?;
                }
            }
            None => {
                for (opt, p) in [("--output", &args.output), ("--plot", &args.plot)] {
                    if let Some(p) = p {
                        files::check_output(opt, p)?;
                    }
                }
            }
        }
    }
    let mut save = |p: &std::path::Path, bytes: &[u8]| files::write_atomic(p, bytes);
    match forklore_bench::run(&args.options(), &mut std::io::stdout(), &mut save) {
        Ok(()) => Ok(exit::OK),
        Err(BenchError::BadInput(m)) => Err(InputError(m).into()),
        Err(BenchError::Output(e)) => Err(WriteError::stdout(e).into()),
        Err(e) => {
            // The code says it all if stderr fails too.
            let _ = errln!("forklore bench: {e}");
            Ok(match e {
                BenchError::Interrupted(_) => exit::INTERRUPTED,
                _ => exit::FAIL,
            })
        }
    }
}
