//! Stand-in for `forklore bench` until the CLI wires it in:
//! `cargo run --release -p forklore-bench --example bench -- --pin 0`.

use clap::Parser;
use forklore_bench::{run, BenchArgs};

#[derive(Parser)]
#[command(name = "forklore-bench", about = "process-creation latency workbench")]
struct Cli {
    #[command(flatten)]
    bench: BenchArgs,
}

fn main() {
    let cli = Cli::parse();
    let code = match run(&cli.bench) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("forklore bench: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
