//! What the caller asks the kernel for: one fork/vfork/clone/clone3 call,
//! described abstractly enough for the model and concretely enough for the
//! probe engine to build the real argument block.

use crate::flags::{self, SIGCHLD};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Syscall {
    Fork,
    Vfork,
    Clone,
    Clone3,
}

impl Syscall {
    pub fn name(self) -> &'static str {
        match self {
            Syscall::Fork => "fork",
            Syscall::Vfork => "vfork",
            Syscall::Clone => "clone",
            Syscall::Clone3 => "clone3",
        }
    }
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Syscall {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "fork" => Ok(Syscall::Fork),
            "vfork" => Ok(Syscall::Vfork),
            "clone" => Ok(Syscall::Clone),
            "clone3" => Ok(Syscall::Clone3),
            _ => Err(format!(
                "unknown syscall {s:?} (fork, vfork, clone or clone3)"
            )),
        }
    }
}

/// Where a user pointer argument points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Ptr {
    /// A mapped, writable word prepared by the probe.
    #[default]
    Valid,
    /// 0.
    Null,
    /// A user address with nothing mapped behind it.
    Unmapped,
    /// An address at or above TASK_SIZE_MAX (0xffff_8000_0000_0000).
    Kernel,
}

impl Ptr {
    /// Readable/writable by `copy_from_user` / `put_user`.
    pub fn accessible(self) -> bool {
        self == Ptr::Valid
    }
}

/// The child's stack argument (`newsp` for clone, `stack`/`stack_size` for clone3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Stack {
    /// clone: `newsp = 0`; clone3: `stack = 0, stack_size = 0` (keep the caller's SP).
    Inherit,
    /// A fresh mapped stack prepared by the probe.
    #[default]
    Fresh,
    /// Explicit clone3 `stack`/`stack_size` values, for the argument checks
    /// (clone: `newsp = stack + size`). The child never runs on these: the
    /// probe's child code switches to its own stack first.
    Raw { stack: u64, size: u64 },
}

/// The TLS argument, used with CLONE_SETTLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Tls {
    /// A pointer to a small mapped area prepared by the probe.
    #[default]
    Valid,
    /// An explicit value (e.g. TASK_SIZE_MAX to provoke EPERM).
    Raw(u64),
}

/// Where the clone3 argument block lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind", content = "readable")]
pub enum ArgsMem {
    #[default]
    Valid,
    Null,
    Unmapped,
    /// The block is placed so that only its first `readable` bytes are mapped;
    /// the page after them is not (e.g. 88 = the tail of a 96-byte block is
    /// unmapped; 64 = the VER1/VER2 fields are unmapped).
    Truncated(u64),
}

/// One entry of a clone3 `set_tid` array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum TidSpec {
    /// A literal pid value.
    Value(i32),
    /// The caller's own pid: always in use.
    CallerPid,
    /// A pid the probe finds free in that namespace just before the call.
    Unused,
    /// `pid_max` of that namespace: one past the largest valid pid.
    PidMax,
}

/// clone3 `set_tid` / `set_tid_size`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SetTid {
    /// Where `set_tid` points (Null makes the field 0).
    pub ptr: Ptr,
    /// The `set_tid_size` field, which may differ from `entries.len()`.
    pub size: u64,
    /// The array contents, `[0]` = innermost pid namespace.
    pub entries: Vec<TidSpec>,
}

/// What the clone3 `cgroup` field refers to (used with CLONE_INTO_CGROUP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum CgroupFd {
    /// The field is 0 (fd 0 is stdin in the probe: not a cgroup).
    #[default]
    Zero,
    /// A literal value, e.g. `0xffffffff` (> INT_MAX).
    Raw(u64),
    /// A fd number that is not open.
    NotOpen,
    /// An open regular file.
    RegularFile,
    /// An open directory that is not on a cgroup filesystem.
    NonCgroupDir,
    /// A directory of a cgroup v1 hierarchy.
    CgroupV1Dir,
    /// A cgroup2 directory. Whether the caller may write its `cgroup.procs`
    /// and the common ancestor's is an environment fact: it lives in
    /// [`crate::Context::cgroup_write`], not here.
    Cgroup2 {
        /// A child cgroup the run created (true) or the hierarchy's root.
        created: bool,
    },
}

/// The exit signal a clone3 request gets when the caller names none: 0 for
/// CLONE_THREAD or CLONE_PARENT children (a non-zero one is EINVAL there,
/// model-spec §1.C), SIGCHLD otherwise. The one place this default lives:
/// the catalogue, the CLI and the examples all ask here.
pub const fn clone3_default_exit_signal(flags: u64) -> u64 {
    if flags & (flags::CLONE_THREAD | flags::CLONE_PARENT) != 0 {
        0
    } else {
        SIGCHLD
    }
}

/// The clone3-only part of a request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Clone3Args {
    /// The `size` argument.
    pub size: u64,
    /// Where the block lives.
    pub mem: ArgsMem,
    /// Offset of a non-zero byte past the kernel's struct (the tail), if any.
    pub tail_nonzero_at: Option<u64>,
    /// The `exit_signal` field (64 bits, any value).
    pub exit_signal: u64,
    /// Where `pidfd` points.
    pub pidfd: Ptr,
    /// `pidfd` and `parent_tid` hold the same address.
    pub pidfd_is_parent_tid: bool,
    pub set_tid: Option<SetTid>,
    pub cgroup: CgroupFd,
}

impl Default for Clone3Args {
    fn default() -> Self {
        Clone3Args {
            size: 88,
            mem: ArgsMem::Valid,
            tail_nonzero_at: None,
            exit_signal: SIGCHLD,
            pidfd: Ptr::Valid,
            pidfd_is_parent_tid: false,
            set_tid: None,
            cgroup: CgroupFd::Zero,
        }
    }
}

/// One process-creation call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Request {
    pub syscall: Syscall,
    /// clone: the raw first argument, CLONE_* bits plus the exit-signal byte,
    /// upper 32 bits as passed. clone3: the `flags` field. fork/vfork: 0.
    pub flags: u64,
    /// clone: `parent_tid` (also the CLONE_PIDFD slot). clone3: `parent_tid`.
    pub parent_tid: Ptr,
    pub child_tid: Ptr,
    pub tls: Tls,
    pub stack: Stack,
    /// Present for clone3 only.
    pub clone3: Option<Clone3Args>,
}

impl Request {
    pub fn fork() -> Self {
        Self::base(Syscall::Fork, 0)
    }
    pub fn vfork() -> Self {
        Self::base(Syscall::Vfork, 0)
    }
    /// Legacy clone with `raw` as the first argument (flags | exit signal).
    pub fn clone(raw: u64) -> Self {
        Self::base(Syscall::Clone, raw)
    }
    /// clone3 with the default argument block (size 88, exit_signal SIGCHLD).
    pub fn clone3(flags: u64, exit_signal: u64) -> Self {
        let mut r = Self::base(Syscall::Clone3, flags);
        r.clone3 = Some(Clone3Args {
            exit_signal,
            ..Clone3Args::default()
        });
        r
    }
    fn base(syscall: Syscall, flags: u64) -> Self {
        Request {
            syscall,
            flags,
            parent_tid: Ptr::Valid,
            child_tid: Ptr::Valid,
            tls: Tls::Valid,
            stack: Stack::Fresh,
            clone3: None,
        }
    }

    /// The flags as the user would write them (legacy clone includes the signal).
    pub fn flags_display(&self) -> String {
        match self.syscall {
            Syscall::Clone => flags::format_legacy_clone_arg(self.flags),
            _ => flags::format_flags(self.flags),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::{CLONE_PARENT, CLONE_SIGHAND, CLONE_THREAD, CLONE_VM};

    #[test]
    fn clone3_default_exit_signal_is_zero_for_threads_and_parent_children() {
        assert_eq!(clone3_default_exit_signal(0), SIGCHLD);
        assert_eq!(clone3_default_exit_signal(CLONE_VM), SIGCHLD);
        assert_eq!(
            clone3_default_exit_signal(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM),
            0
        );
        assert_eq!(clone3_default_exit_signal(CLONE_PARENT), 0);
    }
}
