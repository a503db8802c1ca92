//! `forklore check`: the conformance suite's options, the run, and the
//! report written to stdout or a file.

use crate::output::{errln, out};
use crate::{exit, files, output};
use clap::{Args, ValueEnum};
use forklore_probe::ProbeCommand;
use forklore_suite::baseline::Baseline;
use forklore_suite::check::{self, CheckOptions};
use forklore_suite::input::InputError;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// The most `--jobs` taken (the run uses at most one per batch anyway).
pub const MAX_JOBS: u64 = 1024;
/// The longest `--batch-timeout` taken, in seconds (a day).
pub const MAX_BATCH_TIMEOUT: u64 = 86_400;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Junit,
    Ktap,
    /// KernelCI KCIDB I/O JSON (schema v5.3).
    Kcidb,
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of stdout; a one-line
    /// summary still goes to stderr. FILE is a regular file (replaced,
    /// keeping its mode) or a new name (mode 0666 minus the umask).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Only cases whose id, id/context or group matches this glob
    /// (repeatable), e.g. 'clone3-args/*' or '*/user'.
    #[arg(long)]
    pub filter: Vec<String>,
    /// Comma-separated contexts (default: all). See `forklore list --contexts`.
    #[arg(long)]
    pub contexts: Option<String>,
    /// A representative subset that runs in a few seconds.
    #[arg(long)]
    pub quick: bool,
    /// Parallel probe processes, 1 to 1024 (default: the number of CPUs);
    /// never more than there are batches.
    #[arg(long, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..=MAX_JOBS))]
    pub jobs: Option<u64>,
    /// Let the scheduler place the probes. By default each parallel probe
    /// (with every process it creates) stays on a CPU of its own, round
    /// robin over the CPUs this process may use: a probe mostly waits for
    /// its child, and a child on the same CPU runs the moment it blocks.
    #[arg(long)]
    pub no_pin: bool,
    /// In JSON, list passing matrix cases too, with both sides (very large:
    /// about 1 KiB per case).
    #[arg(long)]
    pub all_cases: bool,
    /// Cases per probe process (at least 1).
    #[arg(long, default_value_t = 4096, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,
    /// Seconds a probe may go without finishing a case before it is
    /// treated as stalled, killed, and the case in flight reported broken
    /// (1 to 86400).
    #[arg(long, default_value_t = 120, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..=MAX_BATCH_TIMEOUT))]
    pub batch_timeout: u64,
    /// Known divergences (a `forklore-baseline/1` file, see `forklore
    /// baseline`): failures in them are `xfail` (exit 0); entries that
    /// match nothing are reported as vanished (`xpass`).
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
    /// With --expect: a vanished baseline entry (xpass) also exits 1.
    #[arg(long)]
    pub strict_expect: bool,
    /// Model against kernel version X.Y[.Z] instead of the one detected
    /// (needed where the release cannot be told, e.g. without /proc/sys
    /// and with an unparsable uname(2) release).
    #[arg(long)]
    pub kernel: Option<String>,
}

/// Read a baseline file (`--expect`): any problem is one line, exit 2,
/// before the run.
pub(crate) fn read_baseline(path: &std::path::Path) -> Result<Baseline, InputError> {
    let text = files::read_input("--expect", path)?;
    Baseline::parse(&text).map_err(|e| InputError(format!("--expect {}: {e}", path.display())))
}

/// `--kernel X.Y[.Z]`, parsed as `explain --kernel` is.
pub(crate) fn declared_kernel(
    arg: Option<&str>,
) -> Result<Option<forklore_model::KernelVersion>, InputError> {
    arg.map(|k| {
        k.parse::<forklore_model::KernelVersion>()
            .map_err(|e| InputError(format!("--kernel: {e}")))
    })
    .transpose()
}

/// The host's context with the declared kernel in it. Without a declared
/// kernel, an unknown running version is refused (exit 2): predicting
/// against a made-up 0.0.0 would judge every version-bounded case wrongly.
pub(crate) fn host_context(
    declared: Option<forklore_model::KernelVersion>,
) -> Result<forklore_model::Context, InputError> {
    let host = forklore_observe::detect_host_context();
    match declared {
        Some(k) => Ok(check::with_declared_kernel(host, k)),
        None if forklore_observe::kernel_version().is_none() => Err(InputError(format!(
            "the running kernel's version is {}; say which to model against with --kernel X.Y[.Z]",
            host.kernel_note.as_deref().unwrap_or("unknown")
        ))),
        None => Ok(host),
    }
}

/// The commands that observe (check, probe, fingerprint) refuse a /proc of
/// another pid namespace (exit 2): every observation would be wrong.
pub(crate) fn require_own_proc() -> Result<(), InputError> {
    forklore_observe::proc_is_own_pid_namespace().map_err(InputError)
}

pub(crate) fn patterns(list: &[String]) -> Result<Vec<glob::Pattern>, InputError> {
    list.iter()
        .map(|f| glob::Pattern::new(f).map_err(|e| InputError(format!("--filter {f:?}: {e}"))))
        .collect()
}

pub(crate) fn runner_is_root() -> bool {
    forklore_observe::detect_host_context().ruid_is_global_root
}

/// Parse and validate `--contexts`.
pub fn parse_contexts(arg: Option<&str>) -> Result<Vec<String>, InputError> {
    let Some(list) = arg else {
        return Ok(check::default_contexts());
    };
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(InputError(format!("--contexts {list:?}: empty name")));
        }
        let _inner_skip_is_fine = check::context_spec(name, true).map_err(InputError)?;
        out.push(name.to_string());
    }
    Ok(out)
}

/// Probes to run at once without `--jobs`: one per CPU. Each probe is
/// kept on its CPU with the children it creates, so a CPU is busy while
/// its probe waits for a child: measured on a 2-vCPU VM, the full default
/// check took 11.75-11.84 s with 2 probes and 11.54-11.92 s with 4. (Before
/// pinning, 4 probes were faster than 2, 14.5 s against 16.8 s, and were
/// the default; but each probe holds memory, descriptors and processes of
/// its own: under a 64 MiB memory cgroup 4 probes got the run OOM-killed
/// in 4 of 10 `ci/limits.sh` runs, and `--jobs 2` in 0 of 8 where `--jobs
/// 4` was in 1 of 8.)
fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

pub fn run(args: &CheckArgs) -> Result<i32, exit::Error> {
    let filters = patterns(&args.filter)?;
    let kernel = declared_kernel(args.kernel.as_deref())?;
    let host = host_context(kernel)?;
    require_own_proc()?;
    let contexts = parse_contexts(args.contexts.as_deref())?;
    if let Some(out) = &args.output {
        files::check_output("--output", out)?;
    }
    let baseline = match &args.expect {
        Some(p) => Some((read_baseline(p)?, p.display().to_string())),
        None if args.strict_expect => {
            return Err(InputError("--strict-expect needs --expect FILE".into()).into())
        }
        None => None,
    };
    let jobs = match args.jobs {
        Some(n) => n as usize,
        None => default_jobs(),
    };
    let probe = ProbeCommand::current_exe()
        .map_err(|e| InputError(format!("cannot find own executable: {e}")))?;
    let tty = std::io::stderr().is_terminal();
    let progress: Option<Box<dyn Fn(usize, usize) + Sync>> = if tty {
        Some(Box::new(|done, total| {
            let width = 40;
            let filled = (done * width).checked_div(total).unwrap_or(width);
            // Cosmetic: a failing stderr shows in the summary line.
            let _ = output::stderr(format_args!(
                "\r[{}{}] {done}/{total} cases",
                "#".repeat(filled),
                " ".repeat(width - filled)
            ));
            if done == total {
                let _ = output::stderr(format_args!("\r{}\r", " ".repeat(width + 40)));
            }
        }))
    } else {
        None
    };
    let opts = CheckOptions {
        quick: args.quick,
        filters,
        contexts,
        jobs,
        probe,
        batch_size: usize::try_from(args.batch_size).unwrap_or(usize::MAX),
        batch_timeout: Duration::from_secs(args.batch_timeout),
        progress,
        host,
        keep_passing_details: args.all_cases,
        kernel,
        pin: !args.no_pin,
    };
    let is_root = runner_is_root();
    let mut report = check::run_check(&opts, is_root);
    if let Some((b, file)) = &baseline {
        b.apply(&mut report, file);
    }
    if report.summary.total == 0 {
        return Err(InputError("no case matches the --filter/--contexts given".into()).into());
    }
    let text = match args.format {
        Format::Text => report.to_text(),
        Format::Json => report.to_json(args.all_cases),
        Format::Junit => report.to_junit(),
        Format::Ktap => report.to_ktap(),
        Format::Kcidb => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let started = now.saturating_sub(report.duration_s as u64);
            let v = forklore_suite::kcidb::to_kcidb(&report, started, args.all_cases);
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
    };
    let s = &report.summary;
    match &args.output {
        Some(path) => {
            if let Err(e) = files::write_atomic(path, text.as_bytes()) {
                errln!("forklore: cannot write {}: {e}", path.display())?;
                return Ok(exit::BROKEN);
            }
            let expected = match &report.expect {
                Some(_) => format!(", {} xfail, {} xpass", s.xfail, report.xpass()),
                None => String::new(),
            };
            errln!(
                "forklore check: {} cases: {} pass, {} fail, {} skip, {} env, {} broken{expected} in {:.1}s; report in {}",
                s.total, s.pass, s.fail, s.skip, s.env, s.broken, report.duration_s, path.display()
            )?;
        }
        None => out!("{text}")?,
    }
    Ok(
        if s.fail > 0 || (args.strict_expect && report.xpass() > 0) {
            exit::FAIL
        } else if s.broken > 0 {
            exit::BROKEN
        } else {
            exit::OK
        },
    )
}
