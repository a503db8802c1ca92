//! Everything besides the syscall arguments that changes the kernel's answer
//! (model-spec §0.4). The probe engine detects or arranges these; the model
//! only reads them.

use crate::arch::Arch;
use crate::version::KernelVersion;
use serde::{Deserialize, Serialize};

/// Capability numbers (include/uapi/linux/capability.h).
pub mod cap {
    pub const CAP_CHOWN: u32 = 0;
    pub const CAP_DAC_OVERRIDE: u32 = 1;
    pub const CAP_KILL: u32 = 5;
    pub const CAP_SETGID: u32 = 6;
    pub const CAP_SETUID: u32 = 7;
    pub const CAP_SYS_CHROOT: u32 = 18;
    pub const CAP_SYS_PTRACE: u32 = 19;
    pub const CAP_SYS_ADMIN: u32 = 21;
    pub const CAP_SYS_RESOURCE: u32 = 24;
    pub const CAP_CHECKPOINT_RESTORE: u32 = 40;
}

/// A set of capabilities as a bit mask (bit n = capability n).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Caps(pub u64);

impl Caps {
    pub const fn has(self, cap: u32) -> bool {
        self.0 & (1u64 << cap) != 0
    }
    pub const fn without(self, cap: u32) -> Caps {
        Caps(self.0 & !(1u64 << cap))
    }
    pub const fn all() -> Caps {
        Caps((1u64 << 41) - 1)
    }
}

/// RLIMIT_NPROC as the ucount check sees it at the caller's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Nproc {
    /// Soft limit (RLIMIT_NPROC).
    pub limit: u64,
    /// Tasks (threads and unreaped zombies included) charged to the caller's
    /// (user-ns, real uid) before the call.
    pub count: u64,
}

/// What the caller's credentials may do with one cgroup2 directory: the
/// two `cgroup.procs` writes `cgroup_procs_write_permission` checks
/// (kernel/cgroup/cgroup.c) before CLONE_INTO_CGROUP moves the child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CgroupAccess {
    /// The target's `cgroup.procs` is writable (access(W_OK), effective ids).
    pub procs_writable: bool,
    /// The `cgroup.procs` of the common ancestor of the caller's cgroup and
    /// the target is writable.
    pub ancestor_writable: bool,
}

impl CgroupAccess {
    /// Both writes allowed (what root may do, and what the model assumes
    /// when nobody measured).
    pub const WRITABLE: CgroupAccess = CgroupAccess {
        procs_writable: true,
        ancestor_writable: true,
    };
}

/// The caller's access to the cgroup2 directories a clone3 `cgroup` field
/// can name ([`crate::CgroupFd::Cgroup2`]). An environment fact: the probe
/// measures it once per context, after the context's credentials are in
/// place, and reports it with the rest of the context. `None` = not
/// measured (no case of the batch names that directory): read as
/// [`CgroupAccess::WRITABLE`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CgroupWrite {
    /// The hierarchy's root (`Cgroup2 { created: false }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<CgroupAccess>,
    /// The child cgroup the run created (`Cgroup2 { created: true }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<CgroupAccess>,
}

impl CgroupWrite {
    /// Nothing measured.
    pub fn is_unmeasured(&self) -> bool {
        self.root.is_none() && self.created.is_none()
    }

    /// Access to the created cgroup (`true`) or the root (`false`).
    pub fn access(&self, created: bool) -> CgroupAccess {
        let a = if created { self.created } else { self.root };
        a.unwrap_or(CgroupAccess::WRITABLE)
    }
}

/// A facility the suite's own machinery relies on that this environment
/// does not provide (e.g. `subreaper`: PR_SET_CHILD_SUBREAPER fails in some
/// sandboxes). Only the cases that truly need it are skipped, with
/// `reason`; the model's predictions never read it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MissingFacility {
    /// Short name: `subreaper`, `proc-sys-kernel`, `pidfd-open`, ...
    pub facility: String,
    /// What was tried and how it failed.
    pub reason: String,
}

/// The caller's situation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Context {
    /// The architecture of the kernel (whose syscall table, clone argument
    /// order and arch checks apply). Callers set the host's
    /// (`forklore_observe::host_arch`); [`Context::root`] starts from x86_64.
    #[serde(default = "Arch::recorded_before_arches")]
    pub arch: Arch,
    pub kernel: KernelVersion,
    /// Why `kernel` is not simply the running kernel's release (read from
    /// uname(2) only, declared with `--kernel`, ...); `None` when it was
    /// read from /proc/sys/kernel/osrelease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_note: Option<String>,
    /// Facilities the probe or the scenarios need that this environment
    /// lacks (empty on an ordinary Linux host).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingFacility>,
    /// Effective capabilities in the caller's own user namespace.
    pub caps: Caps,
    /// Depth of the caller's user namespace (0 = initial). `capable()` in the
    /// initial namespace needs level 0 and the capability.
    pub userns_level: u32,
    /// Real kuid is global root (uid 0 inside a child userns does not count).
    pub ruid_is_global_root: bool,
    /// The caller is init (child reaper) of its active pid namespace.
    pub is_pidns_init: bool,
    /// `pid_ns_for_children` differs from the active pid ns (after
    /// `unshare(CLONE_NEWPID)`).
    pub pidns_for_children_differs: bool,
    /// After `unshare(CLONE_NEWPID)`: the first child was created and is
    /// still alive, so `pid_ns_for_children` has a child reaper (its init).
    pub unshared_pidns_has_init: bool,
    /// Level of `pid_ns_for_children` (0 = initial).
    pub pidns_level: u32,
    /// `pid_ns_for_children` no longer accepts tasks (its init exited).
    pub pidns_dead: bool,
    /// The time namespace for children differs (only matters in 5.6–6.1).
    pub timens_for_children_differs: bool,
    /// The caller's root is not its mount namespace's root.
    pub chrooted: bool,
    /// RLIMIT_NPROC headroom; `None` = RLIM_INFINITY.
    pub nproc: Option<Nproc>,
    /// `user.max_user_namespaces` leaves no room for another user namespace.
    pub userns_limit_reached: bool,
    /// SCHED_DEADLINE without SCHED_FLAG_RESET_ON_FORK.
    pub sched_deadline_no_reset: bool,
    /// A cgroup2 hierarchy is mounted.
    pub cgroup2: bool,
    /// What the caller may write in the cgroup2 directories cases target.
    #[serde(default, skip_serializing_if = "CgroupWrite::is_unmeasured")]
    pub cgroup_write: CgroupWrite,
    /// A seccomp filter is installed (outcomes it decides are "env").
    pub seccomp_filter: bool,
    /// exit_signal of the caller's thread-group leader: what a CLONE_PARENT
    /// child inherits (copy_process: `current->group_leader->exit_signal`).
    pub leader_exit_signal: i64,
    /// 7.1+: the caller was created with CLONE_AUTOREAP.
    pub caller_autoreap: bool,
    /// The caller is ptraced (its TracerPid is not 0) by a tracer that set
    /// no PTRACE_O_TRACE* option (the `traced` context arranges one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub caller_traced: bool,
    /// TASK_SIZE_MAX, the limit of `access_ok` (clone3 stacks, x86_64's TLS
    /// check): x86_64 0x7ffffffff000 with 4-level paging, arm64
    /// `1 << VA_BITS` ([`Arch::default_task_size_max`]; the probe measures it).
    pub task_size_max: u64,
    /// `pid_max` of the target pid namespace.
    pub pid_max: u32,
    /// Levels of the target pid namespace whose owning user ns grants the
    /// caller CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE, innermost first
    /// (`checkpoint_restore_ns_capable`); length = pidns_level + 1.
    pub set_tid_capable: Vec<bool>,
}

impl Context {
    /// Global root with all capabilities except those the bounding set
    /// lacks, on x86_64 (see [`Context::on`] for another architecture).
    pub fn root(kernel: KernelVersion, caps: Caps) -> Self {
        Context {
            arch: Arch::X86_64,
            kernel,
            kernel_note: None,
            missing: Vec::new(),
            caps,
            userns_level: 0,
            ruid_is_global_root: true,
            is_pidns_init: false,
            pidns_for_children_differs: false,
            unshared_pidns_has_init: false,
            pidns_level: 0,
            pidns_dead: false,
            timens_for_children_differs: false,
            chrooted: false,
            nproc: None,
            userns_limit_reached: false,
            sched_deadline_no_reset: false,
            cgroup2: true,
            cgroup_write: CgroupWrite::default(),
            seccomp_filter: false,
            leader_exit_signal: 17,
            caller_autoreap: false,
            caller_traced: false,
            task_size_max: 0x7fff_ffff_f000,
            pid_max: 32768,
            set_tid_capable: vec![
                caps.has(cap::CAP_SYS_ADMIN) || caps.has(cap::CAP_CHECKPOINT_RESTORE),
            ],
        }
    }

    /// An ordinary user: no capabilities, real uid not root.
    pub fn user(kernel: KernelVersion) -> Self {
        Context {
            caps: Caps(0),
            ruid_is_global_root: false,
            set_tid_capable: vec![false],
            ..Context::root(kernel, Caps(0))
        }
    }

    /// This context on `arch`, with that architecture's usual TASK_SIZE_MAX.
    pub fn on(self, arch: Arch) -> Self {
        Context {
            arch,
            task_size_max: arch.default_task_size_max(),
            ..self
        }
    }

    /// `ns_capable(current_user_ns(), cap)`.
    pub fn cap_in_own_userns(&self, cap: u32) -> bool {
        self.caps.has(cap)
    }

    /// The reason `facility` is missing, if it is.
    pub fn missing(&self, facility: &str) -> Option<&str> {
        self.missing
            .iter()
            .find(|m| m.facility == facility)
            .map(|m| m.reason.as_str())
    }

    /// Record a missing facility (once).
    pub fn add_missing(&mut self, facility: &str, reason: impl Into<String>) {
        if self.missing(facility).is_none() {
            self.missing.push(MissingFacility {
                facility: facility.into(),
                reason: reason.into(),
            });
        }
    }

    /// `capable(cap)`: in the initial user namespace.
    pub fn capable_init(&self, cap: u32) -> bool {
        self.userns_level == 0 && self.caps.has(cap)
    }
}
