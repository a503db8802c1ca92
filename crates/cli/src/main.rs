//! `forklore`: a thin command line over forklore-suite, forklore-bench and
//! the model. All logic lives in the library crates.

use clap::{Parser, Subcommand};
use forklore_suite::exit;
use forklore_suite::input::{ContextArgs, RequestArgs};
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
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || matches!(e.kind(), ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand)
            {
                let _ = e.print();
                return code(if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    exit::USAGE
                } else {
                    exit::OK
                });
            }
            // One line naming the problem (clap's first line), exit 2.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("forklore: {}", first.trim_start_matches("error: "));
            return code(exit::USAGE);
        }
    };
    match run(cli) {
        Ok(c) => code(c),
        Err(e) => {
            eprintln!("forklore: {e}");
            code(exit::USAGE)
        }
    }
}

fn code(c: i32) -> ExitCode {
    ExitCode::from(c.clamp(0, 255) as u8)
}

fn run(cli: Cli) -> Result<i32, forklore_suite::input::InputError> {
    match cli.command {
        Command::Explain { request, context, json } => {
            let req = request.build()?;
            let host = forklore_observe::detect_host_context();
            let ctx = context.build(&host)?;
            let p = forklore_model::predict(&req, &ctx);
            if json {
                println!("{}", forklore_suite::explain::explain_json(&req, &ctx, &p));
            } else {
                print!("{}", forklore_suite::explain::explain_text(&req, &ctx, &p));
            }
            Ok(exit::OK)
        }
    }
}
