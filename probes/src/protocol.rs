//! The wire protocol between runner and probe, and the probe's entry point.
//!
//! stdin (runner → probe), JSON lines, read to EOF before anything runs:
//! a [`Header`], then one [`ProbeCase`] per line.
//!
//! stdout (probe → runner), JSON lines, one `write` each: first `context`
//! (the detected model Context) or `skip`, then one `result` per case in
//! order, flushed as soon as the case is done, and finally `end` from the
//! reaper (how the worker ended, what had to be cleaned up).

use crate::context::{self, Prepared};
use crate::{reaper, ContextSpec, Observation, ProbeCase};
use forklore_model::Context;
use forklore_sys::mailbox::Mailbox;
use forklore_sys::mem::Shared;
use forklore_sys::process::{self, Forked};
use forklore_sys::signal;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// First stdin line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Header {
    pub context: ContextSpec,
    /// The runner's pid: the probe exits at once if its parent is already
    /// someone else (the runner died before PR_SET_PDEATHSIG took effect).
    pub runner_pid: Option<u32>,
}

/// One stdout line.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Msg {
    Context {
        context: Context,
    },
    Skip {
        reason: String,
    },
    Result {
        index: usize,
        id: String,
        obs: Box<Observation>,
    },
    End {
        /// "exited 0", "killed by SIGSEGV"...
        worker: String,
        /// The signal that killed the worker, if one did.
        signal: Option<i32>,
        /// Processes the reaper had to kill at the end.
        killed: u32,
    },
}

/// Write one line with a single `write` so lines never interleave.
pub(crate) fn emit(msg: &Msg) {
    let mut line = serde_json::to_string(msg).unwrap_or_else(|e| {
        format!("{{\"kind\":\"skip\",\"reason\":\"cannot encode a message: {e}\"}}")
    });
    line.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

pub(crate) fn probe_main() -> i32 {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("forklore-probe: cannot read stdin: {e}");
        return 2;
    }
    let mut lines = input.lines();
    let header: Header = match lines.next().map(serde_json::from_str) {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            eprintln!("forklore-probe: bad header: {e}");
            return 2;
        }
        None => {
            eprintln!("forklore-probe: empty input");
            return 2;
        }
    };
    let mut cases: Vec<ProbeCase> = Vec::new();
    for (i, l) in lines.enumerate() {
        match serde_json::from_str(l) {
            Ok(c) => cases.push(c),
            Err(e) => {
                eprintln!("forklore-probe: bad case on line {}: {e}", i + 2);
                return 2;
            }
        }
    }
    // Every fork copies the page tables of what is still mapped.
    drop(input);
    // The reaper cleans up on SIGTERM; the runner's death sends it.
    let term = match signal::install_flag_handler(libc::SIGTERM) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("forklore-probe: sigaction: errno {e}");
            return 2;
        }
    };
    let _ = process::set_pdeathsig(libc::SIGTERM);
    if let Some(r) = header.runner_pid {
        if std::os::unix::process::parent_id() != r {
            return 3;
        }
    }
    if let Err(e) = process::set_child_subreaper() {
        emit(&Msg::Skip {
            reason: format!("PR_SET_CHILD_SUBREAPER failed: errno {e}"),
        });
        return 0;
    }
    let prepared = match Prepared::before_fork(&header.context, &cases) {
        Ok(p) => p,
        Err(reason) => {
            emit(&Msg::Skip { reason });
            return 0;
        }
    };
    let mailbox: Shared<Mailbox> = match Shared::new() {
        Ok(m) => m,
        Err(e) => {
            emit(&Msg::Skip {
                reason: format!("cannot map the reaper mailbox: {e}"),
            });
            return 0;
        }
    };
    let reaper_pid = std::process::id();
    match process::fork_single_threaded(libc::SIGCHLD as u64) {
        Err(e) => {
            emit(&Msg::Skip {
                reason: format!("fork of the worker failed: errno {e}"),
            });
            prepared.cleanup();
            0
        }
        Ok(Forked::Child) => {
            // The worker never returns into the caller's main: it must not
            // run destructors of the reaper's resources (temp dirs).
            let code =
                context::worker_main(reaper_pid, &header.context, &prepared, &cases, &mailbox);
            process::exit_now(code)
        }
        Ok(Forked::Parent { child }) => reaper::reaper_main(child, &mailbox, prepared, term),
    }
}
