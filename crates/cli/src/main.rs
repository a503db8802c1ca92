//! `forklore`: a thin command line over forklore-suite, forklore-bench and
//! the model. All logic lives in the library crates.

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use forklore_suite::exit;
use forklore_suite::input::{ContextArgs, InputError, RequestArgs};
use std::process::ExitCode;

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
    Explain {
        #[command(flatten)]
        request: RequestArgs,
        #[command(flatten)]
        context: ContextArgs,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run one case on this host: observed next to predicted, and a verdict.
    Probe {
        #[command(flatten)]
        request: RequestArgs,
        /// Context the probe sets up first: root, user, drop-cap-<cap>,
        /// userns, pidns-init, unshare-pid, nproc-<N>, chroot, userns-limit-0.
        /// Default: root when run as root, else user.
        #[arg(long)]
        context: Option<String>,
        /// Run a lifecycle scenario instead of a creation call, by id
        /// (see `forklore list --filter 'lifecycle/*'`); contexts root and user.
        #[arg(long)]
        scenario: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The conformance suite (default: every case, every context).
    Check(forklore_suite::cli::CheckArgs),
    /// List the catalogue: case ids, groups and contexts.
    List(forklore_suite::cli::ListArgs),
    /// Latency workbench: what process creation costs.
    Bench(forklore_bench::BenchArgs),
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
    match run(cli) {
        Ok(c) => code(c),
        Err(e) => {
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

fn run(cli: Cli) -> Result<i32, InputError> {
    match cli.command {
        Command::Explain {
            request,
            context,
            json,
        } => {
            let req = request.build()?;
            let host = forklore_observe::detect_host_context();
            let ctx = context.build(&host)?;
            let p = forklore_model::predict(&req, &ctx);
            if json {
                forklore_suite::outln!("{}", forklore_suite::explain::explain_json(&req, &ctx, &p));
            } else {
                forklore_suite::out!("{}", forklore_suite::explain::explain_text(&req, &ctx, &p));
            }
            Ok(exit::OK)
        }
        Command::Probe {
            request,
            context,
            scenario,
            json,
        } => match scenario {
            Some(id) => {
                if request.is_set() {
                    return Err(InputError(
                        "--scenario runs a lifecycle scenario; it takes no request options".into(),
                    ));
                }
                forklore_suite::cli::probe_scenario(&id, context.as_deref(), json)
            }
            None => {
                let req = request.build()?;
                forklore_suite::cli::probe_one(&req, context.as_deref(), json)
            }
        },
        Command::Check(args) => forklore_suite::cli::check(&args),
        Command::List(args) => forklore_suite::cli::list(&args),
        Command::Bench(args) => match forklore_bench::run(&args) {
            Ok(c) => Ok(c),
            Err(e @ forklore_bench::BenchError::BadInput(_)) => Err(InputError(e.to_string())),
            Err(e) => {
                eprintln!("forklore bench: {e}");
                Ok(e.exit_code())
            }
        },
    }
}
