//! `forklore report A.json B.json ...`: check reports from several kernels
//! merged into one view (kernels as columns, groups as rows, divergences
//! with the model's explanation); text or JSON on stdout, and with
//! `--html FILE` one self-contained HTML page. Exit 0 when no run has a
//! failing or broken case, 1 when one has, 2 on bad input.

use crate::output::{errln, out};
use crate::{exit, files};
use clap::Args;
use forklore_suite::input::InputError;
use forklore_suite::report_merge;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// `forklore check --format json` reports, one per kernel (or run).
    #[arg(required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,
    /// Print the merged view as JSON (schema forklore-report/1).
    #[arg(long)]
    pub json: bool,
    /// Also write the merged view as one self-contained HTML page (inline
    /// CSS, no scripts, no external assets) to FILE, atomically.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub fn run(args: &ReportArgs) -> Result<i32, exit::Error> {
    if let Some(h) = &args.html {
        files::check_output("--html", h)?;
    }
    let mut reports = Vec::new();
    for p in &args.reports {
        reports.push((p.display().to_string(), files::read_json("report", p)?));
    }
    let m = report_merge::merge(&reports).map_err(InputError)?;
    if let Some(h) = &args.html {
        if let Err(e) = files::write_atomic(h, m.to_html().as_bytes()) {
            errln!("forklore: cannot write {}: {e}", h.display())?;
            return Ok(exit::BROKEN);
        }
    }
    if args.json {
        out!("{}", m.to_json())?;
    } else {
        out!("{}", m.to_text())?;
    }
    Ok(if m.any_failure() {
        exit::FAIL
    } else {
        exit::OK
    })
}
