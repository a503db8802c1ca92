//! `forklore explain`: what the model predicts for a call, and why.

use crate::args::{ContextArgs, RequestArgs};
use crate::exit;
use crate::output::{out, outln};
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub context: ContextArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ExplainArgs) -> Result<i32, exit::Error> {
    let req = args.request.options().build()?;
    let opts = args.context.options();
    // An unknown running version is refused unless --kernel names one.
    let host = match &opts.kernel {
        Some(_) => forklore_observe::detect_host_context(),
        None => crate::check::host_context(None)?,
    };
    let ctx = opts.build(&host)?;
    let p = forklore_model::predict(&req, &ctx);
    if args.json {
        outln!("{}", forklore_suite::explain::explain_json(&req, &ctx, &p))?;
    } else {
        out!("{}", forklore_suite::explain::explain_text(&req, &ctx, &p))?;
    }
    Ok(exit::OK)
}
