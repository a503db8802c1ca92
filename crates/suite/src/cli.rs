//! The `check`, `list` and `probe` subcommands: option types and the glue
//! between them, the runner and the reports. The binary only dispatches.

use crate::catalogue;
use crate::check::{self, CheckOptions};
use crate::exit;
use crate::input::InputError;
use crate::report::Verdict;
use clap::{Args, ValueEnum};
use forklore_model::Request;
use forklore_probe::ProbeCommand;
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

#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    /// List the quick subset.
    #[arg(long)]
    pub quick: bool,
    /// Only ids or groups matching this glob (repeatable).
    #[arg(long)]
    pub filter: Vec<String>,
    /// Print the groups with their case counts instead of every id.
    #[arg(long)]
    pub groups: bool,
    /// Print the context names and what each runs.
    #[arg(long)]
    pub contexts: bool,
}

fn patterns(list: &[String]) -> Result<Vec<glob::Pattern>, InputError> {
    list.iter()
        .map(|f| glob::Pattern::new(f).map_err(|e| InputError(format!("--filter {f:?}: {e}"))))
        .collect()
}

fn runner_is_root() -> bool {
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

pub fn check(args: &CheckArgs) -> Result<i32, InputError> {
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
        None => crate::out!("{text}"),
    }
    Ok(if s.fail > 0 {
        exit::FAIL
    } else if s.broken > 0 {
        exit::BROKEN
    } else {
        exit::OK
    })
}

pub fn list(args: &ListArgs) -> Result<i32, InputError> {
    let filters = patterns(&args.filter)?;
    if args.contexts {
        for name in check::default_contexts() {
            let what = if check::is_full_context(&name) {
                "the whole catalogue"
            } else {
                "the context cover set"
            };
            crate::outln!("{name:<22} {what}");
        }
        return Ok(exit::OK);
    }
    let host = forklore_observe::detect_host_context();
    let mut all: Vec<(String, String)> = catalogue::catalogue(args.quick, host.task_size_max)
        .into_iter()
        .chain(catalogue::context_cover())
        .map(|c| (c.group.to_string(), c.probe.id))
        .collect();
    all.extend(
        forklore_scenarios::catalogue()
            .into_iter()
            .map(|s| (check::scenario_group(s.group), s.id.to_string())),
    );
    let cases: Vec<_> = all
        .into_iter()
        .filter(|(g, id)| {
            filters.is_empty() || filters.iter().any(|p| p.matches(id) || p.matches(g))
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if args.groups {
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for (g, _) in &cases {
            *counts.entry(g.as_str()).or_default() += 1;
        }
        for (g, n) in counts {
            let _ = writeln!(out, "{g:<18} {n:>7}");
        }
    } else {
        for (g, id) in &cases {
            if writeln!(out, "{g:<18} {id}").is_err() {
                break; // e.g. a closed pipe (| head)
            }
        }
    }
    Ok(exit::OK)
}

/// `forklore probe`: one case, observed in full, with the model's prediction.
pub fn probe_one(req: &Request, context: Option<&str>, json: bool) -> Result<i32, InputError> {
    let is_root = runner_is_root();
    let name = context
        .map(str::to_string)
        .unwrap_or_else(|| if is_root { "root" } else { "user" }.into());
    let spec = match check::context_spec(&name, is_root).map_err(InputError)? {
        Ok(s) => s,
        Err(reason) => {
            print_skip(json, &name, &reason);
            return Ok(exit::SKIP);
        }
    };
    let probe = ProbeCommand::current_exe()
        .map_err(|e| InputError(format!("cannot find own executable: {e}")))?;
    let case = forklore_probe::ProbeCase {
        id: "probe".into(),
        request: req.clone(),
        observe: forklore_probe::ObserveLevel::Full,
    };
    let batch = forklore_probe::run_batch(
        &probe,
        &spec,
        std::slice::from_ref(&case),
        Duration::from_secs(60),
    );
    let ctx = match batch.context {
        Ok(c) => c,
        Err(reason) => {
            print_skip(json, &name, &reason);
            return Ok(exit::SKIP);
        }
    };
    let Some((_, obs)) = batch.results.first() else {
        eprintln!("forklore: the probe returned no result");
        return Ok(exit::BROKEN);
    };
    let pred = forklore_model::predict(req, &ctx);
    let (verdict, reason) = crate::verdict::compare(req, &ctx, &pred, obs);
    let expected = crate::explain::explain_json(req, &ctx, &pred);
    let observed = crate::verdict::observation_json(obs);
    if json {
        let v = serde_json::json!({
            "context": name,
            "observed": observed,
            "expected": expected,
            "verdict": verdict.as_str(),
            "reason": reason,
        });
        crate::outln!("{v}");
    } else {
        crate::outln!("{}", crate::explain::call_summary(req));
        crate::outln!(
            "context:   {name}: {}",
            crate::explain::context_summary(&ctx)
        );
        crate::outln!("observed:  {}", crate::verdict::observed_summary(obs));
        crate::out!(
            "{}",
            indent_prediction(&crate::explain::explain_text(req, &ctx, &pred))
        );
        crate::outln!(
            "verdict:   {}{}",
            verdict.as_str().to_uppercase(),
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        );
    }
    Ok(match verdict {
        Verdict::Pass => exit::OK,
        Verdict::Fail => exit::FAIL,
        Verdict::Skip | Verdict::Env => exit::SKIP,
        Verdict::Broken => exit::BROKEN,
    })
}

fn indent_prediction(text: &str) -> String {
    // The first line repeats the call; label the model's part.
    text.lines()
        .skip(1)
        .map(|l| match l.strip_prefix("verdict:   ") {
            Some(v) => format!("predicted: {v}\n"),
            None => format!("{l}\n"),
        })
        .collect()
}

fn print_skip(json: bool, name: &str, reason: &str) {
    if json {
        crate::outln!(
            "{}",
            serde_json::json!({"context": name, "verdict": "skip", "reason": reason})
        );
    } else {
        crate::outln!("verdict:   SKIP: context {name}: {reason}");
    }
}

/// `forklore probe --scenario ID`: one lifecycle scenario in the root or
/// user context, with the model's expectation next to the observation.
pub fn probe_scenario(id: &str, context: Option<&str>, json: bool) -> Result<i32, InputError> {
    use forklore_scenarios as sc;
    let info = sc::catalogue()
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| {
            InputError(format!(
                "unknown scenario {id:?} (see forklore list --filter 'lifecycle/*')"
            ))
        })?;
    let is_root = runner_is_root();
    let name = context
        .map(str::to_string)
        .unwrap_or_else(|| if is_root { "root" } else { "user" }.into());
    let uid = match (name.as_str(), is_root) {
        ("root", true) | ("user", false) => None,
        ("user", true) => Some(
            forklore_probe::unused_id(std::process::id())
                .ok_or_else(|| InputError("no unused uid to run as".into()))?,
        ),
        ("root", false) => {
            print_skip(json, &name, "needs root: forklore runs as an ordinary user");
            return Ok(exit::SKIP);
        }
        (other, _) => {
            return Err(InputError(format!(
                "--context {other:?}: scenarios run as root or user"
            )))
        }
    };
    let cmd = sc::ScenarioCommand::current_exe()
        .map_err(|e| InputError(format!("cannot find own executable: {e}")))?;
    let Some(r) = sc::run(&cmd, &[info.id], Duration::from_secs(60), uid)
        .into_iter()
        .next()
    else {
        eprintln!("forklore: the scenario returned no result");
        return Ok(exit::BROKEN);
    };
    if json {
        crate::outln!("{}", serde_json::to_string(&r).unwrap_or_default());
    } else {
        crate::outln!("{}: {}", r.id, info.description);
        crate::outln!("context:   {name}");
        crate::outln!("expected:  {}", r.expected);
        crate::outln!("observed:  {}", r.observed);
        if let Some(rule) = &r.rule {
            crate::outln!("rules:     {rule}");
        }
        crate::outln!(
            "verdict:   {:?}{}",
            r.verdict,
            r.reason
                .as_ref()
                .map(|x| format!(": {x}"))
                .unwrap_or_default()
        );
    }
    Ok(match r.verdict {
        sc::Verdict::Pass => exit::OK,
        sc::Verdict::Fail => exit::FAIL,
        sc::Verdict::Skip | sc::Verdict::Env => exit::SKIP,
        sc::Verdict::Broken => exit::BROKEN,
    })
}
