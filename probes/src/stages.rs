//! Where a check run's time goes: optional per-stage accounting of wall
//! time and the calling thread's CPU time, switched on by
//! `FORKLORE_STAGES=1` in the environment (the probe inherits it). Off, a
//! stage costs one branch. The probe prints its totals to stderr as one
//! `forklore-stages` line per process; the runner adds them up.

use nix::time::{clock_gettime, ClockId};
use std::time::Instant;

/// The environment variable that switches the accounting on.
pub const STAGES_ENV: &str = "FORKLORE_STAGES";
/// Prefix of the line a probe prints.
pub const STAGES_LINE: &str = "forklore-stages";

/// `FORKLORE_STAGES` is set (to anything but `0` or empty).
pub fn stages_enabled() -> bool {
    std::env::var_os(STAGES_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

fn thread_cpu_ns() -> u64 {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// The start of a stage (`None` when accounting is off).
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    wall: Instant,
    cpu: u64,
}

/// Totals per stage: wall ns, thread-CPU ns, count.
#[derive(Clone, Debug, Default)]
pub struct Stages {
    on: bool,
    acc: Vec<(String, u64, u64, u64)>,
}

impl Stages {
    /// Accounting as the environment says.
    pub fn from_env() -> Stages {
        Stages {
            on: stages_enabled(),
            acc: Vec::new(),
        }
    }

    pub fn on(&self) -> bool {
        self.on
    }

    /// Start a stage.
    pub fn start(&self) -> Option<Mark> {
        self.on.then(|| Mark {
            wall: Instant::now(),
            cpu: thread_cpu_ns(),
        })
    }

    /// End a stage started with [`Stages::start`] and add it to `name`.
    pub fn stop(&mut self, name: &str, mark: Option<Mark>) {
        if let Some(m) = mark {
            let wall = m.wall.elapsed().as_nanos() as u64;
            let cpu = thread_cpu_ns().saturating_sub(m.cpu);
            self.add(name, wall, cpu, 1);
        }
    }

    /// Add a measured amount to `name`.
    pub fn add(&mut self, name: &str, wall: u64, cpu: u64, n: u64) {
        match self.acc.iter_mut().find(|(k, ..)| k == name) {
            Some(e) => {
                e.1 += wall;
                e.2 += cpu;
                e.3 += n;
            }
            None => self.acc.push((name.to_string(), wall, cpu, n)),
        }
    }

    /// Add every stage of `other`.
    pub fn merge(&mut self, other: &Stages) {
        for (k, w, c, n) in &other.acc {
            self.add(k, *w, *c, *n);
        }
    }

    /// `forklore-stages name=wall_ns/cpu_ns/count ...`
    pub fn line(&self) -> String {
        let mut s = STAGES_LINE.to_string();
        for (k, w, c, n) in &self.acc {
            s.push_str(&format!(" {k}={w}/{c}/{n}"));
        }
        s
    }

    /// Add the stages of a line made by [`Stages::line`]; `false` if `line`
    /// is not one.
    pub fn add_line(&mut self, line: &str) -> bool {
        let Some(rest) = line.trim().strip_prefix(STAGES_LINE) else {
            return false;
        };
        for item in rest.split_whitespace() {
            let Some((k, v)) = item.split_once('=') else {
                continue;
            };
            let n: Vec<u64> = v.split('/').filter_map(|x| x.parse().ok()).collect();
            if let [w, c, n] = n[..] {
                self.add(k, w, c, n);
            }
        }
        true
    }

    /// A table: stage, count, wall s, CPU s, µs wall per count.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:<28} {:>9} {:>9} {:>9} {:>10}\n",
            "stage", "count", "wall s", "cpu s", "wall µs/n"
        );
        for (k, w, c, n) in &self.acc {
            s.push_str(&format!(
                "{:<28} {:>9} {:>9.3} {:>9.3} {:>10.2}\n",
                k,
                n,
                *w as f64 / 1e9,
                *c as f64 / 1e9,
                *w as f64 / 1e3 / (*n).max(1) as f64
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_adds_back() {
        let mut a = Stages {
            on: true,
            acc: Vec::new(),
        };
        a.add("call", 10, 4, 2);
        a.add("reap", 7, 1, 1);
        a.add("call", 1, 1, 1);
        let mut b = Stages::default();
        assert!(b.add_line(&a.line()));
        assert!(!b.add_line("probe: something else"));
        assert_eq!(b.acc, a.acc);
        assert_eq!(b.acc[0], ("call".to_string(), 11, 5, 3));
    }
}
