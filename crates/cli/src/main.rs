//! `forklore`: the command line. The clap types of every command live here
//! ([`args`] for the option groups several commands share, one module per
//! command); the library crates take plain option structs. One exit-code
//! table ([`exit`]) and one stdout policy ([`output`]) serve every command.

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::process::ExitCode;

mod output;

mod args;
mod baseline;
mod bench;
mod check;
mod diff;
mod exit;
mod explain;
mod files;
mod fingerprint;
mod list;
mod probe;
mod report;

#[derive(Parser)]
#[command(
    name = "forklore",
    version,
    about = "Conformance suite and workbench for Linux process creation",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// What the model predicts for a call, and why (no syscalls are made).
    Explain(explain::ExplainArgs),
    /// Run one case on this host: observed next to predicted, and a verdict.
    Probe(probe::ProbeArgs),
    /// The conformance suite (default: every case, every context).
    Check(check::CheckArgs),
    /// List the catalogue: case ids, groups and contexts.
    List(list::ListArgs),
    /// Latency workbench: what process creation costs.
    Bench(bench::BenchArgs),
    /// Write a baseline (known divergences, for `check --expect`) from a
    /// check JSON report.
    Baseline(baseline::BaselineArgs),
    /// Divergences and verdicts that differ between two check JSON reports.
    Diff(diff::DiffArgs),
    /// The kernel versions consistent with what this kernel does (only
    /// the cases that discriminate versions), and whether the claimed one
    /// is among them.
    Fingerprint(fingerprint::FingerprintArgs),
    /// Merge check JSON reports from several kernels into one view
    /// (text, JSON, or a self-contained HTML page with --html).
    Report(report::ReportArgs),
}

fn main() -> ExitCode {
    // Probe and scenario processes are this same binary re-executed; they
    // must start before anything else so they stay single-threaded. The
    // arguments stay OsStrings: a value that is not UTF-8 is clap's to
    // refuse (one line, exit 2), not a panic in std::env::args.
    let argv: Vec<OsString> = std::env::args_os().collect();
    match argv.get(1).and_then(|a| a.to_str()) {
        Some("__probe") => return code(forklore_probe::probe_main()),
        Some("__scenario") => {
            let rest: Vec<String> = argv[2..]
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            return code(forklore_scenarios::scenario_main(&rest));
        }
        _ => {}
    }
    code(run(argv))
}

fn run(argv: Vec<OsString>) -> i32 {
    let result = match Cli::try_parse_from(&argv) {
        Ok(cli) => match &cli.command {
            Command::Explain(a) => explain::run(a),
            Command::Probe(a) => probe::run(a),
            Command::Check(a) => check::run(a),
            Command::List(a) => list::run(a),
            Command::Bench(a) => bench::run(a),
            Command::Baseline(a) => baseline::run(a),
            Command::Diff(a) => diff::run(a),
            Command::Fingerprint(a) => fingerprint::run(a),
            Command::Report(a) => report::run(a),
        },
        Err(e) => clap_error(e, &argv),
    };
    // The last partial line of stdout is written here: a command has not
    // succeeded until it is.
    match result.and_then(|c| output::flush().map(|()| c).map_err(exit::Error::from)) {
        Ok(c) => c,
        Err(e) => exit::report(&e),
    }
}

/// Help and version go to stdout with exit 0; every usage error is one line
/// on stderr and exit 2.
fn clap_error(e: clap::Error, argv: &[OsString]) -> Result<i32, exit::Error> {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            output::out!("{}", e.render())?;
            Ok(exit::OK)
        }
        ErrorKind::InvalidUtf8 => {
            // clap does not say which argument: name the first one.
            let bad = argv
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, a)| a.to_str().is_none());
            Err(exit::Error::Usage(match bad {
                Some((i, a)) => {
                    format!("argument {i} is not valid UTF-8: {:?}", a.to_string_lossy())
                }
                None => "an argument is not valid UTF-8".into(),
            }))
        }
        _ => {
            let text = e.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            Err(exit::Error::Usage(
                first.trim_start_matches("error: ").to_string(),
            ))
        }
    }
}

fn code(c: i32) -> ExitCode {
    ExitCode::from(c.clamp(0, 255) as u8)
}

#[cfg(test)]
mod tests;
