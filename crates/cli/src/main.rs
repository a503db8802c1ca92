//! `forklore`: the command line. The clap types of every command live here
//! ([`args`] for the option groups several commands share, one module per
//! command); the library crates take plain option structs. One exit-code
//! table ([`exit`]) and one stdout policy ([`output`]) serve every command.

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use forklore_suite::input::InputError;
use std::process::ExitCode;

mod output;

mod args;
mod bench;
mod check;
mod exit;
mod explain;
mod list;
mod probe;

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
}

fn main() -> ExitCode {
    // Probe and scenario processes are this same binary re-executed; they
    // must start before anything else so they stay single-threaded.
    let argv: Vec<String> = std::env::args().collect();
    match argv.get(1).map(String::as_str) {
        Some("__probe") => return code(forklore_probe::probe_main()),
        Some("__scenario") => return code(forklore_scenarios::scenario_main(&argv[2..])),
        _ => {}
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return code(clap_error(e)),
    };
    let result = match &cli.command {
        Command::Explain(a) => explain::run(a),
        Command::Probe(a) => probe::run(a),
        Command::Check(a) => check::run(a),
        Command::List(a) => list::run(a),
        Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(c) => code(c),
        Err(InputError(e)) => {
            eprintln!("forklore: {e}");
            code(exit::USAGE)
        }
    }
}

/// Help and version go to stdout with exit 0; every usage error is one line
/// on stderr and exit 2.
fn clap_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            exit::OK
        }
        _ => {
            let text = e.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            eprintln!("forklore: {}", first.trim_start_matches("error: "));
            exit::USAGE
        }
    }
}

fn code(c: i32) -> ExitCode {
    ExitCode::from(c.clamp(0, 255) as u8)
}

#[cfg(test)]
mod tests;
