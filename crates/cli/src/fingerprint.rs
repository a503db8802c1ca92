//! `forklore fingerprint`: the kernel versions consistent with what this
//! kernel does (only the cases that discriminate versions), per
//! version-bounded rule and overall, and whether the claimed version
//! (uname, or `--kernel`) is among them.

use crate::check::{declared_kernel, runner_is_root};
use crate::exit;
use crate::output::out;
use clap::Args;
use forklore_probe::ProbeCommand;
use forklore_suite::check;
use forklore_suite::fingerprint::{self, FingerprintOptions};
use forklore_suite::input::InputError;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct FingerprintArgs {
    /// The version to check the observations against (default: the
    /// running kernel's, from /proc/sys/kernel or uname(2)).
    #[arg(long)]
    pub kernel: Option<String>,
    /// Print one JSON object (schema forklore-fingerprint/1).
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when the claimed version is not consistent with what was
    /// observed (default: say so and exit 0).
    #[arg(long)]
    pub strict: bool,
    /// The context the cases run in: root or user (default: root as
    /// root, else user).
    #[arg(long)]
    pub context: Option<String>,
    /// Seconds a probe may go without finishing a case (1 to 86400).
    #[arg(long, default_value_t = 60, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..=crate::check::MAX_BATCH_TIMEOUT))]
    pub batch_timeout: u64,
}

pub fn run(args: &FingerprintArgs) -> Result<i32, exit::Error> {
    let declared = declared_kernel(args.kernel.as_deref())?;
    crate::check::require_own_proc()?;
    let info = forklore_observe::kernel_info();
    let (claimed, source) = match (declared, info.version) {
        (Some(k), _) => (k, "declared with --kernel".to_string()),
        (None, Some(v)) => (
            v,
            info.note
                .map(|n| format!("running kernel, {n}"))
                .unwrap_or_else(|| "running kernel".into()),
        ),
        (None, None) => {
            return Err(InputError(format!(
                "the running kernel's version is {}; say which to compare with --kernel X.Y[.Z]",
                info.note.as_deref().unwrap_or("unknown")
            ))
            .into())
        }
    };
    let is_root = runner_is_root();
    let context = args
        .context
        .clone()
        .unwrap_or_else(|| check::default_context(is_root).to_string());
    if !check::is_full_context(&context) {
        return Err(InputError(format!(
            "--context {context:?}: fingerprint runs as root or user"
        ))
        .into());
    }
    let spec = match check::context_spec(&context, is_root).map_err(InputError)? {
        Ok(s) => s,
        Err(why) => return Err(InputError(format!("--context {context}: {why}")).into()),
    };
    let scenario_uid = match check::scenario_uid(&context, is_root).map_err(InputError)? {
        Ok(u) => u,
        Err(why) => return Err(InputError(format!("--context {context}: {why}")).into()),
    };
    // The host as detected, its kernel the claimed one: it only picks the
    // cases; each is judged with the context the probe detects.
    let host = check::with_declared_kernel(forklore_observe::detect_host_context(), claimed);
    let opts = FingerprintOptions {
        probe: ProbeCommand::current_exe()
            .map_err(|e| InputError(format!("cannot find own executable: {e}")))?,
        context,
        spec,
        scenario_uid,
        host,
        claimed,
        claimed_source: source,
        batch_timeout: Duration::from_secs(args.batch_timeout),
        jobs: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    };
    let f = fingerprint::run(&opts);
    if args.json {
        out!("{}", f.to_json())?;
    } else {
        out!("{}", f.to_text())?;
    }
    Ok(if f.creation_cases + f.lifecycle_cases == 0 {
        exit::BROKEN
    } else if args.strict && !f.claimed_consistent {
        exit::FAIL
    } else {
        exit::OK
    })
}
