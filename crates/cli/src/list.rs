//! `forklore list`: the catalogue's case ids, groups and contexts.

use crate::check::patterns;
use crate::exit;
use crate::output::outln;
use clap::Args;
use forklore_suite::check;
use forklore_suite::input::InputError;

#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    /// List the quick subset.
    #[arg(long)]
    pub quick: bool,
    /// Only ids or groups matching this glob (repeatable).
    #[arg(long)]
    pub filter: Vec<String>,
    /// Print the groups with their case counts instead of every id.
    #[arg(long)]
    pub groups: bool,
    /// Print the context names and what each runs (takes no --filter).
    #[arg(long, conflicts_with = "filter")]
    pub contexts: bool,
}

pub fn run(args: &ListArgs) -> Result<i32, exit::Error> {
    let filters = patterns(&args.filter)?;
    if args.contexts {
        for name in check::default_contexts() {
            let what = if check::is_full_context(&name) {
                "the whole catalogue"
            } else if name == "traced" {
                "the context cover set and the CLONE_PTRACE cases, under a tracer"
            } else {
                "the context cover set"
            };
            outln!("{name:<22} {what}")?;
        }
        return Ok(exit::OK);
    }
    let host = forklore_observe::detect_host_context();
    let mut all: Vec<(String, String)> =
        forklore_suite::catalogue::catalogue(args.quick, host.task_size_max)
            .into_iter()
            .chain(forklore_suite::catalogue::context_cover())
            .chain(forklore_suite::catalogue::ptrace_cover())
            .map(|c| (c.group.to_string(), c.probe.id))
            .collect();
    all.extend(
        forklore_scenarios::catalogue()
            .into_iter()
            .map(|s| (check::scenario_group(s.group), s.id.to_string())),
    );
    let cases: Vec<_> = all
        .into_iter()
        .filter(|(g, id)| {
            filters.is_empty() || filters.iter().any(|p| p.matches(id) || p.matches(g))
        })
        .collect();
    if cases.is_empty() {
        // As in `check`: a filter that matches nothing is a mistake.
        return Err(InputError("no case matches the --filter given".into()).into());
    }
    if args.groups {
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for (g, _) in &cases {
            *counts.entry(g.as_str()).or_default() += 1;
        }
        for (g, n) in counts {
            outln!("{g:<18} {n:>7}")?;
        }
    } else {
        for (g, id) in &cases {
            outln!("{g:<18} {id}")?;
        }
    }
    Ok(exit::OK)
}
