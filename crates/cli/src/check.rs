//! `forklore check`: the conformance suite's options, the run, and the
//! report written to stdout or a file.

use crate::exit;
use crate::output::out;
use clap::{Args, ValueEnum};
use forklore_probe::ProbeCommand;
use forklore_suite::check::{self, CheckOptions};
use forklore_suite::input::InputError;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Junit,
    Ktap,
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of stdout; a one-line
    /// summary still goes to stderr.
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
    /// Parallel probe processes (default: the number of CPUs).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// In JSON, list passing matrix cases too, with both sides (very large:
    /// about 1 KiB per case).
    #[arg(long)]
    pub all_cases: bool,
    /// Cases per probe process.
    #[arg(long, default_value_t = 4096)]
    pub batch_size: usize,
    /// Seconds a probe may go without finishing a case before it is
    /// treated as stalled, killed, and the case in flight reported broken.
    #[arg(long, default_value_t = 120)]
    pub batch_timeout: u64,
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

/// Refuse an `--output` that cannot be written before spending a run on it.
pub fn check_output_path(out: &Path) -> Result<(), InputError> {
    if out.is_dir() {
        return Err(InputError(format!(
            "--output {}: is a directory",
            out.display()
        )));
    }
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    tempfile::NamedTempFile::new_in(dir).map(drop).map_err(|e| {
        InputError(format!(
            "--output {}: cannot write in {}: {e}",
            out.display(),
            dir.display()
        ))
    })
}

/// Write `text` to `path` atomically (temp file in the same directory, then rename).
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

pub fn run(args: &CheckArgs) -> Result<i32, InputError> {
    let filters = patterns(&args.filter)?;
    let contexts = parse_contexts(args.contexts.as_deref())?;
    if args.jobs == Some(0) {
        return Err(InputError("--jobs must be at least 1".into()));
    }
    if args.batch_size == 0 {
        return Err(InputError("--batch-size must be at least 1".into()));
    }
    if let Some(out) = &args.output {
        check_output_path(out)?;
    }
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let probe = ProbeCommand::current_exe()
        .map_err(|e| InputError(format!("cannot find own executable: {e}")))?;
    let tty = std::io::stderr().is_terminal();
    let progress: Option<Box<dyn Fn(usize, usize) + Sync>> = if tty {
        Some(Box::new(|done, total| {
            let width = 40;
            let filled = (done * width).checked_div(total).unwrap_or(width);
            eprint!(
                "\r[{}{}] {done}/{total} cases",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
            if done == total {
                eprint!("\r{}\r", " ".repeat(width + 40));
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
        batch_size: args.batch_size,
        batch_timeout: Duration::from_secs(args.batch_timeout),
        progress,
        host: forklore_observe::detect_host_context(),
        keep_passing_details: args.all_cases,
    };
    let is_root = runner_is_root();
    let report = check::run_check(&opts, is_root);
    if report.summary.total == 0 {
        return Err(InputError(
            "no case matches the --filter/--contexts given".into(),
        ));
    }
    let text = match args.format {
        Format::Text => report.to_text(),
        Format::Json => report.to_json(args.all_cases),
        Format::Junit => report.to_junit(),
        Format::Ktap => report.to_ktap(),
    };
    let s = &report.summary;
    match &args.output {
        Some(path) => {
            if let Err(e) = write_atomic(path, &text) {
                eprintln!("forklore: cannot write {}: {e}", path.display());
                return Ok(exit::BROKEN);
            }
            eprintln!(
                "forklore check: {} cases: {} pass, {} fail, {} skip, {} env, {} broken in {:.1}s; report in {}",
                s.total, s.pass, s.fail, s.skip, s.env, s.broken, report.duration_s, path.display()
            );
        }
        None => out!("{text}"),
    }
    Ok(if s.fail > 0 {
        exit::FAIL
    } else if s.broken > 0 {
        exit::BROKEN
    } else {
        exit::OK
    })
}
