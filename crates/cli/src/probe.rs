//! `forklore probe`: one case (or one lifecycle scenario) on this host,
//! observed next to predicted, with a verdict.

use crate::args::RequestArgs;
use crate::check::runner_is_root;
use crate::exit;
use crate::output::{errln, out, outln, WriteError};
use clap::Args;
use forklore_model::Request;
use forklore_probe::ProbeCommand;
use forklore_suite::check;
use forklore_suite::input::InputError;
use forklore_suite::report::Verdict;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Context the probe sets up first: root, user, drop-cap-<cap>,
    /// userns, pidns-init, unshare-pid, nproc-<N>, chroot, userns-limit-0.
    /// Default: root when run as root, else user.
    #[arg(long)]
    pub context: Option<String>,
    /// Run a lifecycle scenario instead of a creation call, by id
    /// (see `forklore list --filter 'lifecycle/*'`); contexts root and user.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Print one JSON object instead of text (in every verdict, and for
    /// bad input too, with verdict "error").
    #[arg(long)]
    pub json: bool,
    /// Model against kernel version X.Y[.Z] instead of the one detected.
    #[arg(long)]
    pub kernel: Option<String>,
}

pub fn run(args: &ProbeArgs) -> Result<i32, exit::Error> {
    let r = run_inner(args);
    if let (true, Err(exit::Error::Usage(m))) = (args.json, &r) {
        // A script still gets a document; the line on stderr and exit 2
        // stay as for every bad input.
        let name = args.context.as_deref().unwrap_or("");
        outln!(
            "{}",
            serde_json::json!({"context": name, "verdict": "error", "reason": m})
        )?;
    }
    r
}

fn run_inner(args: &ProbeArgs) -> Result<i32, exit::Error> {
    let kernel = crate::check::declared_kernel(args.kernel.as_deref())?;
    let request = args.request.options();
    match &args.scenario {
        Some(id) => {
            if request.is_set() {
                return Err(InputError(
                    "--scenario runs a lifecycle scenario; it takes no request options".into(),
                )
                .into());
            }
            crate::check::host_context(kernel)?;
            crate::check::require_own_proc()?;
            probe_scenario(id, args.context.as_deref(), args.json, kernel)
        }
        None => {
            let req = request.build()?;
            crate::check::host_context(kernel)?;
            crate::check::require_own_proc()?;
            probe_one(&req, args.context.as_deref(), args.json, kernel)
        }
    }
}

/// `forklore probe`: one case, observed in full, with the model's prediction.
fn probe_one(
    req: &Request,
    context: Option<&str>,
    json: bool,
    kernel: Option<forklore_model::KernelVersion>,
) -> Result<i32, exit::Error> {
    let is_root = runner_is_root();
    let name = context
        .map(str::to_string)
        .unwrap_or_else(|| check::default_context(is_root).into());
    let spec = match check::context_spec(&name, is_root).map_err(InputError)? {
        Ok(s) => s,
        Err(reason) => {
            print_skip(json, &name, &reason)?;
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
        Ok(c) => match kernel {
            Some(k) => check::with_declared_kernel(c, k),
            None => c,
        },
        Err(reason) => {
            print_skip(json, &name, &reason)?;
            return Ok(exit::SKIP);
        }
    };
    let Some((_, obs)) = batch.results.first() else {
        let reason = "the probe returned no result";
        if json {
            outln!(
                "{}",
                serde_json::json!({"context": name, "verdict": "broken", "reason": reason})
            )?;
        }
        errln!("forklore: {reason}")?;
        return Ok(exit::BROKEN);
    };
    let pred = forklore_model::predict(req, &ctx);
    let (verdict, reason) = forklore_suite::verdict::compare(req, &ctx, &pred, obs);
    let expected = forklore_suite::explain::explain_json(req, &ctx, &pred);
    let observed = forklore_suite::verdict::observation_json(obs);
    if json {
        let v = serde_json::json!({
            "context": name,
            "observed": observed,
            "expected": expected,
            "verdict": verdict.as_str(),
            "reason": reason,
        });
        outln!("{v}")?;
    } else {
        outln!("{}", forklore_suite::explain::call_summary(req))?;
        outln!(
            "context:   {name}: {}",
            forklore_suite::explain::context_summary(&ctx)
        )?;
        outln!(
            "observed:  {}",
            forklore_suite::verdict::observed_summary(obs)
        )?;
        out!(
            "{}",
            indent_prediction(&forklore_suite::explain::explain_text(req, &ctx, &pred))
        )?;
        outln!(
            "verdict:   {}{}",
            verdict.as_str().to_uppercase(),
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        )?;
    }
    Ok(match verdict {
        Verdict::Pass => exit::OK,
        // A probe has no baseline: xfail never reaches it.
        Verdict::Fail | Verdict::Xfail => exit::FAIL,
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

fn print_skip(json: bool, name: &str, reason: &str) -> Result<(), WriteError> {
    if json {
        outln!(
            "{}",
            serde_json::json!({"context": name, "verdict": "skip", "reason": reason})
        )
    } else {
        outln!("verdict:   SKIP: context {name}: {reason}")
    }
}

/// `forklore probe --scenario ID`: one lifecycle scenario in the root or
/// user context, with the model's expectation next to the observation.
fn probe_scenario(
    id: &str,
    context: Option<&str>,
    json: bool,
    kernel: Option<forklore_model::KernelVersion>,
) -> Result<i32, exit::Error> {
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
        .unwrap_or_else(|| check::default_context(is_root).into());
    let uid = match check::scenario_uid(&name, is_root).map_err(InputError)? {
        Ok(uid) => uid,
        Err(reason) => {
            print_skip(json, &name, &reason)?;
            return Ok(exit::SKIP);
        }
    };
    let mut cmd = sc::ScenarioCommand::current_exe()
        .map_err(|e| InputError(format!("cannot find own executable: {e}")))?;
    if let Some(k) = kernel {
        cmd.args.extend(["--kernel".to_string(), k.to_string()]);
    }
    let Some(r) = sc::run(&cmd, &[info.id], Duration::from_secs(60), uid)
        .into_iter()
        .next()
    else {
        let reason = "the scenario returned no result";
        if json {
            outln!(
                "{}",
                serde_json::json!({"id": id, "context": name, "verdict": "broken", "reason": reason})
            )?;
        }
        errln!("forklore: {reason}")?;
        return Ok(exit::BROKEN);
    };
    if json {
        outln!("{}", serde_json::to_string(&r).unwrap_or_default())?;
    } else {
        outln!("{}: {}", r.id, info.description)?;
        outln!("context:   {name}")?;
        outln!("expected:  {}", r.expected)?;
        outln!("observed:  {}", r.observed)?;
        if let Some(rule) = &r.rule {
            outln!("rules:     {rule}")?;
            // Each rule as explain shows it: reason, where, versions.
            for id in rule.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match forklore_suite::scenario_case::lookup_rule(id, kernel) {
                    Some(i) => {
                        let vs: Vec<String> = i.versions.iter().map(|v| v.to_string()).collect();
                        outln!("  {id}: {}", i.reason)?;
                        outln!("    where: {}; versions: {}", i.function, vs.join(", "))?;
                    }
                    None => outln!("  {id}: not in the model's rule tables")?,
                }
            }
        }
        outln!(
            "verdict:   {:?}{}",
            r.verdict,
            r.reason
                .as_ref()
                .map(|x| format!(": {x}"))
                .unwrap_or_default()
        )?;
    }
    Ok(match r.verdict {
        sc::Verdict::Pass => exit::OK,
        sc::Verdict::Fail | sc::Verdict::Xfail => exit::FAIL,
        sc::Verdict::Skip | sc::Verdict::Env => exit::SKIP,
        sc::Verdict::Broken => exit::BROKEN,
    })
}
