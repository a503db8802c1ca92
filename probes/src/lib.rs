//! forklore-probe: the probe engine process and its runner-side client.
//!
//! The runner (any thread of any process) calls [`run_batch`], which spawns
//! a probe with `std::process::Command` (`<exe> __probe`), hands it a
//! context and a batch of cases on stdin, and reads one JSON line per case.
//! The probe is single-threaded; it forks once into a *reaper*
//! (PR_SET_CHILD_SUBREAPER: reaps CLONE_PARENT children and every orphan,
//! kills what is left at the end) and a *worker*, which arranges the
//! context, reports the detected [`forklore_model::Context`], then runs the
//! cases one by one through the inline-asm trampoline in `forklore-sys`.
//!
//! A crash or a stall costs one probe, never the batch: [`run_batch`] kills
//! the probe's process group, reports the case in flight as broken and
//! continues with the rest in a new probe.

//!
//! Modules, each depending only on those above it:
//!
//! | module      | concern |
//! |-------------|---------|
//! | `protocol`  | the wire types: cases, observations, contexts, messages |
//! | `client`    | the runner side: spawn, feed, read, recover |
//! | `wait`      | reaping in the kernel's order, and the reaper↔worker mailbox codec |
//! | `resources` | descriptors cases refer to, and what the context may write in cgroup2 |
//! | `pids`      | resolving symbolic set_tid entries against the pid namespaces |
//! | `lower`     | a `Request` lowered once into the raw call (words and pointers) |
//! | `baseline`  | the worker's state between cases: captured once, restored after each |
//! | `context`   | arranging a context (credentials, namespaces, chroot, seccomp) |
//! | `engine`    | one case: call, observe, finish; the throwaway caller |
//! | `reaper`    | the subreaper process |
//! | `bootstrap` | `probe_main`: read the batch, fork reaper and worker, the worker loop |
//! | `stages`    | optional per-stage time accounting (`FORKLORE_STAGES=1`), probe and runner |

#![forbid(unsafe_code)]

mod baseline;
mod bootstrap;
mod client;
mod context;
mod engine;
mod lower;
mod pids;
mod protocol;
mod reaper;
mod resources;
mod stages;
mod wait;

pub use client::{run_batch, run_floor, BatchResult, FloorResult, ProbeCommand};
pub use context::unused_id;
pub use forklore_observe::{detect_host_context, ProcInfo};
pub use protocol::{
    observation_fields, CaseOutcome, ContextSpec, Observation, ObserveLevel, ProbeCase, Rusage,
    CRASH_PROBE_ID_PREFIX, STALL_PROBE_ID_PREFIX,
};
pub use stages::{stages_enabled, Mark, Stages, STAGES_ENV, STAGES_LINE};

/// The probe process's entry point. Call it first thing in `main` when
/// `argv[1] == "__probe"`, before any thread exists; returns the exit code.
pub fn probe_main() -> i32 {
    bootstrap::probe_main()
}
