//! The worker's state that cases must not change (signal dispositions and
//! mask, rlimits, cwd, descriptors, children), captured once before the
//! first case and put back after each; what had to be put back is reported
//! in the case's `restored`.

use crate::protocol::Observation;
use forklore_observe as observe;
use forklore_sys::wait::{WALL, WNOHANG};
use forklore_sys::{self as sys, Disposition};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use std::collections::BTreeSet;
use std::path::PathBuf;

pub(crate) struct Baseline {
    sigmask: u64,
    dispositions: Vec<(i32, Disposition)>,
    fds: BTreeSet<i32>,
    lowest_free_fd: i32,
    nproc: Option<(u64, u64)>,
    nofile: Option<(u64, u64)>,
    cwd: Option<PathBuf>,
    /// A child the context keeps on purpose (the unshare-pid holder).
    holder: Option<i32>,
}

fn dispositions() -> Vec<(i32, Disposition)> {
    (1..=64)
        .filter(|s| *s != libc::SIGKILL && *s != libc::SIGSTOP)
        .filter_map(|s| Some((s, sys::signal_disposition(s).ok()?.0)))
        .collect()
}

fn rlimit(r: Resource) -> Option<(u64, u64)> {
    getrlimit(r).ok()
}

impl Baseline {
    /// The worker as it is now, with the context arranged.
    pub fn capture(holder: Option<i32>) -> Baseline {
        Baseline {
            sigmask: sys::sigmask(),
            dispositions: dispositions(),
            fds: observe::open_fds().into_iter().collect(),
            lowest_free_fd: sys::lowest_free_fd().unwrap_or(-1),
            nproc: rlimit(Resource::RLIMIT_NPROC),
            nofile: rlimit(Resource::RLIMIT_NOFILE),
            cwd: std::env::current_dir().ok(),
            holder,
        }
    }

    /// Verify and restore what a case may have changed in the worker.
    /// The cheap checks run after every case; the full ones (every
    /// disposition, rlimits, cwd) after Full cases.
    pub fn restore(&self, obs: &mut Observation, full: bool) {
        // zap_pid_ns_processes() sets SIGCHLD to SIG_IGN in a handler table
        // shared through CLONE_SIGHAND (model-spec §3.5).
        if sys::signal_disposition(libc::SIGCHLD).map(|d| d.0) != Ok(Disposition::Default) {
            let _ = sys::set_signal_disposition(libc::SIGCHLD, Disposition::Default);
            obs.restored.push("SIGCHLD disposition".into());
        }
        // Only SIGCHLD is known to change (above); the full check is for Full cases.
        if full {
            let mut changed = false;
            for (sig, d) in &self.dispositions {
                if *sig == libc::SIGCHLD {
                    continue;
                }
                if sys::signal_disposition(*sig).map(|x| x.0).ok() != Some(*d) {
                    let _ = sys::set_signal_disposition(*sig, *d);
                    changed = true;
                }
            }
            if changed {
                obs.restored.push("signal dispositions".into());
            }
        }
        if sys::sigmask() != self.sigmask {
            sys::set_sigmask(self.sigmask);
            obs.restored.push("signal mask".into());
        }
        // Children left behind (none should be: every case reaps its own).
        while let Ok(Some(r)) = sys::wait4(-1, WNOHANG | WALL) {
            if Some(r.pid) != self.holder {
                obs.restored.push(format!("unreaped child {}", r.pid));
            }
        }
        // Leaked descriptors: a pidfd is always allocated at the lowest free
        // number, so a leak shows there first.
        if sys::lowest_free_fd().unwrap_or(-1) != self.lowest_free_fd {
            let mut closed = false;
            for fd in observe::open_fds() {
                if !self.fds.contains(&fd) && sys::close_pidfd(fd).is_ok() {
                    closed = true;
                }
            }
            if closed {
                obs.restored.push("open fds".into());
            }
        }
        if full {
            for (r, base, name) in [
                (Resource::RLIMIT_NPROC, self.nproc, "RLIMIT_NPROC"),
                (Resource::RLIMIT_NOFILE, self.nofile, "RLIMIT_NOFILE"),
            ] {
                if let Some((s, h)) = base {
                    if rlimit(r) != Some((s, h)) {
                        let _ = setrlimit(r, s, h);
                        obs.restored.push(name.into());
                    }
                }
            }
            if let Some(cwd) = &self.cwd {
                if std::env::current_dir().ok().as_ref() != Some(cwd) {
                    let _ = std::env::set_current_dir(cwd);
                    obs.restored.push("cwd".into());
                }
            }
        }
    }
}
