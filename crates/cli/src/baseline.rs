//! `forklore baseline REPORT.json`: a baseline file (`check --expect`)
//! with one entry per divergence of a check report, on stdout.

use crate::output::out;
use crate::{exit, files};
use clap::Args;
use forklore_suite::baseline::Baseline;
use forklore_suite::input::InputError;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct BaselineArgs {
    /// A `forklore check --format json` report. Each divergence becomes an
    /// entry whose reason is "TODO: explain" (or the reason a baseline
    /// already gave it in that run).
    pub report: PathBuf,
}

pub fn run(args: &BaselineArgs) -> Result<i32, exit::Error> {
    let v = files::read_json("report", &args.report)?;
    let b = Baseline::from_report(&v)
        .map_err(|e| InputError(format!("report {}: {e}", args.report.display())))?;
    out!("{}", b.to_json())?;
    Ok(exit::OK)
}
