//! forklore-scenarios: hand-written lifecycle scenarios (execve, vfork,
//! exit/exit_group, wait4/waitid, reparenting, zombies in /proc).
//!
//! Each scenario observes the host kernel and compares what it saw with an
//! expectation computed by `forklore_model::lifecycle` for this kernel
//! version and context (never copied from an observation).
//!
//! Process model: [`run`] (runner.rs) (which may be called from a multithreaded
//! process) spawns `<program> <args...> [--as-uid N] <scenario-id>` with
//! `std::process::Command`. That binary calls [`scenario_main`] (harness.rs) first thing
//! when `argv[1] == "__scenario"`. The scenario process is single-threaded:
//! it becomes a child subreaper, forks one "case" process per scenario,
//! waits for it with a deadline (pidfd + poll), then kills and reaps every
//! descendant left, so nothing survives a scenario. The case process prints
//! nothing on stdout (fd 1 is /dev/null); its result travels over a pipe and
//! the scenario process prints one JSON line per scenario.
//!
//! The exec target is forklore-sys's embedded `forklore-exec-target`
//! (crates/sys/helper/exec_target.rs), which [`run`] writes to a private
//! temporary directory for the run and passes to the scenario processes as
//! `$FORKLORE_EXEC_TARGET` (a path already there is used instead). Without
//! it, exec scenarios skip with a reason.
//!
//! Modules, each depending only on those listed before it:
//! `result` (what a run reports), `target` (finding the exec target),
//! `case` (the types a case is made of), `util` (helpers shared by the
//! cases), `cases` (the catalogue and the cases themselves), `harness`
//! (the scenario process), `runner` (starting scenario processes).

#![forbid(unsafe_code)]

mod case;
mod cases;
mod harness;
mod result;
mod runner;
mod target;
mod util;

pub use cases::catalogue;
pub use harness::{scenario_main, CASE_DEADLINE};
pub use result::{ScenarioInfo, ScenarioResult, Verdict};
pub use runner::{run, ScenarioCommand};
pub use target::{exec_target, ExecTarget};
