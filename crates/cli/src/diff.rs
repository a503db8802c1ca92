//! `forklore diff A.json B.json`: divergences and verdicts that differ
//! between two check reports. Exit 0 when they agree, 1 when they differ,
//! 2 on bad input.

use crate::output::out;
use crate::{exit, files};
use clap::Args;
use forklore_suite::diff;
use forklore_suite::input::InputError;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct DiffArgs {
    /// The first `forklore check --format json` report (A).
    pub a: PathBuf,
    /// The second report (B).
    pub b: PathBuf,
    /// Print the diff as JSON (schema forklore-diff/1).
    #[arg(long)]
    pub json: bool,
    /// Case ids listed per verdict change (0 to 100000).
    #[arg(long, default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(0..=100_000))]
    pub limit: u64,
}

pub fn run(args: &DiffArgs) -> Result<i32, exit::Error> {
    let a = files::read_json("report", &args.a)?;
    let b = files::read_json("report", &args.b)?;
    let (fa, fb) = (args.a.display().to_string(), args.b.display().to_string());
    let d = diff::diff((&fa, &a), (&fb, &b), args.limit as usize).map_err(InputError)?;
    if args.json {
        out!("{}", d.to_json())?;
    } else {
        out!("{}", d.to_text())?;
    }
    Ok(if d.identical { exit::OK } else { exit::FAIL })
}
