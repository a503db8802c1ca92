//! What the model predicts: success with its semantics, an errno, or
//! "the environment decides", plus the rule that decided and the rules checked.

use crate::errno::Errno;
use crate::version::KernelVersion;
use serde::{Deserialize, Serialize};

/// An inclusive range of kernel versions; `to == None` means "and later".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRange {
    pub from: KernelVersion,
    pub to: Option<KernelVersion>,
}

impl VersionRange {
    pub fn contains(&self, v: KernelVersion) -> bool {
        v >= self.from && self.to.map_or(true, |t| v <= t)
    }
}

impl std::fmt::Display for VersionRange {
    /// `5.2+`, `5.2–6.8` (a `to` with patch `u32::MAX` means every X.Y.z),
    /// `5.10.175–5.10` (a stable backport).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |v: KernelVersion| {
            if v.patch == 0 || v.patch == u32::MAX {
                format!("{}.{}", v.major, v.minor)
            } else {
                v.to_string()
            }
        };
        match self.to {
            None => write!(f, "{}+", short(self.from)),
            Some(t) => write!(f, "{}–{}", short(self.from), short(t)),
        }
    }
}

/// Which wait option is the first, in the order plain, `__WCLONE`, `__WALL`,
/// that reaps the child (`eligible_child` in kernel/exit.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReapedBy {
    /// `wait4(pid, ..., 0)`: exit_signal == SIGCHLD.
    Plain,
    /// `__WCLONE`: any other exit_signal (0 included).
    Wclone,
    /// Only `__WALL`.
    Wall,
    /// Not waitable (a CLONE_THREAD child).
    None,
    /// No wait finds it: the kernel reaped it when it exited
    /// (`do_notify_parent` with SIGCHLD ignored by the parent, or 7.1's
    /// CLONE_AUTOREAP).
    Autoreaped,
    /// Reaped by the caller's parent (the probe's reaper): CLONE_PARENT.
    CallersParent,
}

/// Who the child's real parent is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parent {
    /// The calling thread.
    Caller,
    /// The caller's real parent (CLONE_PARENT or CLONE_THREAD).
    CallersParent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PidfdKind {
    Process,
    /// 6.9+: CLONE_PIDFD|CLONE_THREAD gives a PIDFD_THREAD pidfd.
    Thread,
}

/// Expected facts about a successful call (model-spec §3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Semantics {
    /// The child is a thread in the caller's thread group (tgid == caller's).
    pub same_thread_group: bool,
    pub parent: Parent,
    /// The child's exit_signal; -1 for threads. With CLONE_PARENT it is the
    /// caller's group leader's (`Context::leader_exit_signal`).
    pub exit_signal: i64,
    pub reaped_by: ReapedBy,
    /// A pidfd is returned, and of which kind.
    pub pidfd: Option<PidfdKind>,
    /// The child is init of a new pid namespace (getpid() == 1, getppid() == 0).
    pub new_pid_ns: bool,
    /// CLONE_PARENT_SETTID writes the child's tid into `parent_tid`.
    pub parent_tid_written: bool,
    /// CLONE_CHILD_SETTID writes the child's tid into `child_tid`.
    pub child_tid_written: bool,
    /// The caller sleeps until the child execs or exits (CLONE_VFORK).
    pub caller_suspended: bool,
    /// clone3 set_tid was given: the child's pid in its innermost pid
    /// namespace is `set_tid[0]` (kernel/pid.c alloc_pid uses the requested
    /// tid instead of allocating one).
    #[serde(default)]
    pub pid_from_set_tid: bool,
    /// Who traces the child, predicted only when the caller is traced
    /// (`Context::caller_traced`): rule P-CLONE-PTRACE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracer: Option<crate::ptrace::Tracer>,
}

/// The verdict part of a prediction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    Success(Semantics),
    Error {
        errno: Errno,
    },
    /// Decided by the environment, not by a deterministic kernel rule
    /// (ENOMEM, LSM, seccomp...): not asserted.
    Environment {
        reason: String,
    },
}

/// One row of the rule table, as shown to users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    /// B1..B9, C1..C5, D1..D2, E1..E36, A* entry rules (model-spec §1).
    pub id: &'static str,
    /// `kernel/fork.c: copy_process`.
    pub function: &'static str,
    /// The errno when the condition holds (None for rules that never fail).
    pub errno: Option<Errno>,
    /// One sentence: why this check exists / what it rejects.
    pub reason: &'static str,
    /// Where the behaviour comes from (commit, man page, model-spec row).
    pub source: &'static str,
    /// Versions the rule applies to (several ranges for stable backports).
    pub versions: &'static [VersionRange],
    /// Set when the spec marks this rule UNCERTAIN and the source did not settle it.
    pub uncertain: Option<&'static str>,
    /// Architectures whose kernels have this check ([`crate::ALL_ARCHES`]
    /// for the common code).
    pub arches: &'static [crate::Arch],
}

/// The model's answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    pub outcome: Outcome,
    /// The deciding rule (the first failing one), or `None` on success.
    pub rule: Option<RuleInfo>,
    /// Ids of the rules evaluated before the decision, in kernel order,
    /// that applied to this kernel version and passed.
    pub checked: Vec<&'static str>,
}

impl Prediction {
    pub fn errno(&self) -> Option<Errno> {
        match &self.outcome {
            Outcome::Error { errno } => Some(*errno),
            _ => None,
        }
    }
    pub fn is_success(&self) -> bool {
        matches!(self.outcome, Outcome::Success(_))
    }
}
