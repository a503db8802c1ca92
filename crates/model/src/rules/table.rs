//! The ordered rule table. One row per check (or per version-specific form
//! of a check), in the order the kernel performs them. Citations name the
//! model-spec row (`spec §1.E E16`), commits (hash + subject) and man pages.

use super::{Applies, Effect, Kargs, Kind, Row};
use crate::arch::{AARCH64_ONLY, ALL_ARCHES, X86_64_ONLY};
use crate::context::cap::{CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN, CAP_SYS_RESOURCE};
use crate::flags::*;
use crate::prediction::VersionRange;
use crate::request::{CgroupFd, Request, TidSpec, Tls};
use crate::version::KernelVersion;
use crate::{CgroupAccess, Context, Errno};

// ---------------------------------------------------------------- helpers --

/// Patch number meaning "every point release of this x.y series".
const Y: u32 = u32::MAX;

const fn kv(a: u32, b: u32, c: u32) -> KernelVersion {
    KernelVersion::new(a, b, c)
}
const fn since(a: u32, b: u32, c: u32) -> VersionRange {
    VersionRange {
        from: kv(a, b, c),
        to: None,
    }
}
const fn span(a: u32, b: u32, c: u32, x: u32, y: u32, z: u32) -> VersionRange {
    VersionRange {
        from: kv(a, b, c),
        to: Some(kv(x, y, z)),
    }
}
const ALL: &[VersionRange] = &[since(0, 0, 0)];

const fn fail(e: Errno) -> Effect {
    Effect::Fail(e)
}

fn never(_: &Request, _: &Context, _: &Kargs) -> bool {
    false
}

const FORK: &str = "kernel/fork.c: copy_process";
const ARGS: &str = "kernel/fork.c: copy_clone_args_from_user";
const VALID: &str = "kernel/fork.c: clone3_args_valid";
const KCLONE: &str = "kernel/fork.c: kernel_clone";
const CREDS: &str = "kernel/cred.c: copy_creds -> kernel/user_namespace.c: create_user_ns";
const NSPROXY: &str = "kernel/nsproxy.c: copy_namespaces";
const CREATE_NS: &str = "kernel/nsproxy.c: create_new_namespaces";
const PIDNS: &str = "kernel/pid_namespace.c: copy_pid_ns / create_pid_namespace";
const ALLOC_PID: &str = "kernel/pid.c: alloc_pid";
const CGROUP: &str = "kernel/cgroup/cgroup.c: cgroup_css_set_fork";
const ATTACH: &str = "kernel/cgroup/cgroup.c: cgroup_attach_permissions";

pub(super) const PLACEHOLDER: Row = Row {
    id: "",
    function: FORK,
    effect: Effect::Fail(Errno::EINVAL),
    reason: "",
    source: "",
    versions: ALL,
    uncertain: None,
    applies: Applies::All,
    arches: ALL_ARCHES,
    kind: Kind::Deterministic,
    cond: never,
};

/// A row that depends on the environment: listed for order, never fires.
const ENV: Row = Row {
    kind: Kind::Environment,
    ..PLACEHOLDER
};

// ------------------------------------------------------- derived predicates --

fn nproc_exempt(c: &Context) -> bool {
    c.ruid_is_global_root || c.capable_init(CAP_SYS_RESOURCE) || c.capable_init(CAP_SYS_ADMIN)
}

/// `CAP_SYS_ADMIN` in the user namespace that will own the child's new
/// namespaces: the new user ns with CLONE_NEWUSER (its creator owns it, so
/// this always holds), otherwise the caller's own.
fn admin_in_child_userns(c: &Context, k: &Kargs) -> bool {
    k.has(CLONE_NEWUSER) || c.cap_in_own_userns(CAP_SYS_ADMIN)
}

fn pidns_mismatch(c: &Context, k: &Kargs) -> bool {
    k.has(CLONE_NEWUSER | CLONE_NEWPID) || c.pidns_for_children_differs
}

/// Level of the pid namespace the child's pid is allocated in (innermost).
fn target_pidns_level(c: &Context, k: &Kargs) -> u64 {
    c.pidns_level as u64 + k.has(CLONE_NEWPID) as u64
}

/// Where the per-level set_tid walk of `alloc_pid` stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TidStop {
    /// Every entry passed (remaining levels are allocated cyclically).
    Ok,
    /// `tid < 1 || tid >= pid_max` (EINVAL).
    Range,
    /// `tid != 1` in a namespace without a child reaper (EINVAL).
    NoReaper,
    /// No CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE over that namespace (EPERM).
    NoCap,
    /// The pid is taken at that level (EEXIST).
    InUse,
}

/// `alloc_pid`'s walk over `set_tid[]`, innermost level first (spec §1.E E31b).
///
/// Modelling decisions for pid values the model cannot know:
/// * `CallerPid` is 1 when the caller is its pid namespace's init, else some
///   pid > 1; it is in use at the caller's own level (and its ancestors',
///   where the caller has a pid too) and assumed free in namespaces below
///   the caller's (new with CLONE_NEWPID, or unshared), where the caller has
///   no pid.
/// * `Unused` is a free pid other than 1.
/// * `Value(1)` is in use in a namespace that has a reaper (its init);
///   any other literal value is assumed free (vectors that need a busy pid
///   use `CallerPid`).
/// * Levels that already exist take their capability from
///   `Context::set_tid_capable` (innermost first); the probe must compute it
///   per kernel version (CAP_CHECKPOINT_RESTORE counts from 5.9 only).
/// * Every level uses `Context::pid_max` (global before 6.14, per namespace
///   after; the probe reports the target's).
pub(crate) fn set_tid_walk(c: &Context, k: &Kargs) -> TidStop {
    if k.set_tid_ptr.is_none() || k.set_tid_size == 0 {
        return TidStop::Ok;
    }
    let new_ns = k.has(CLONE_NEWPID);
    let levels = target_pidns_level(c, k) + 1;
    let n = k.set_tid_size.min(levels) as usize;
    let pid_max = c.pid_max as i64;
    let caller_pid: i64 = if c.is_pidns_init { 1 } else { 2 };
    for i in 0..n {
        let entry = k
            .set_tid_entries
            .get(i)
            .copied()
            .unwrap_or(TidSpec::Value(0));
        // The innermost level has no child reaper yet when the call creates
        // it (NEWPID) or after unshare(CLONE_NEWPID) with no child so far.
        let fresh =
            i == 0 && (new_ns || (c.pidns_for_children_differs && !c.unshared_pidns_has_init));
        // Levels below the caller's active pid namespace: a new one (NEWPID)
        // and the unshared pid_ns_for_children. The caller has no pid there.
        let below_caller = i < new_ns as usize + c.pidns_for_children_differs as usize;
        let value: Option<i64> = match entry {
            TidSpec::Value(v) => Some(v as i64),
            TidSpec::CallerPid => Some(caller_pid),
            TidSpec::PidMax => Some(pid_max),
            TidSpec::Unused => None,
        };
        if value.is_some_and(|v| v < 1 || v >= pid_max) {
            return TidStop::Range;
        }
        if fresh && value != Some(1) {
            return TidStop::NoReaper;
        }
        let capable = if i == 0 && new_ns {
            // The new pid ns is owned by the new user ns (NEWUSER: the caller
            // owns it, so it is capable) or by the caller's own user ns. In
            // the latter case E28b already demanded CAP_SYS_ADMIN there, so
            // the set_tid check always passes: whether CAP_CHECKPOINT_RESTORE
            // alone would do (5.9+) is not observable for this level.
            k.has(CLONE_NEWUSER) || c.cap_in_own_userns(CAP_SYS_ADMIN)
        } else {
            let idx = if new_ns { i - 1 } else { i };
            c.set_tid_capable.get(idx).copied().unwrap_or(false)
        };
        if !capable {
            return TidStop::NoCap;
        }
        let in_use = match entry {
            TidSpec::CallerPid => !below_caller,
            TidSpec::Value(1) => !fresh,
            _ => false,
        };
        if in_use {
            return TidStop::InUse;
        }
    }
    TidStop::Ok
}

fn into_cgroup(k: &Kargs) -> bool {
    k.has(CLONE_INTO_CGROUP)
}

/// The caller's access to the cgroup2 directory the `cgroup` field names
/// (an environment fact of the context), if it names one.
fn cgroup2_access(c: &Context, k: &Kargs) -> Option<CgroupAccess> {
    match k.cgroup {
        CgroupFd::Cgroup2 { created } => Some(c.cgroup_write.access(created)),
        _ => None,
    }
}

fn nproc(c: &Context, over: fn(u64, u64) -> bool) -> bool {
    c.nproc.is_some_and(|n| over(n.count, n.limit)) && !nproc_exempt(c)
}

// ---------------------------------------------------------------- the table --

pub(super) const ROWS: &[Row] = &[
    // ---- §1.A syscall entry ----------------------------------------------
    Row {
        id: "A0",
        function: "kernel/seccomp.c: __secure_computing [-7.2] / __seccomp_permit_syscall [7.3+] (syscall entry; renamed in 7.3-rc, linux-source-7.3 7.3~rc7)",
        effect: Effect::Environment(
            "a seccomp filter is installed: container runtimes and sandboxes commonly \
             make clone3 fail with ENOSYS (seccomp cannot inspect its argument block) \
             so libc falls back to clone; the filter, not the kernel, decides",
        ),
        reason: "seccomp filters run before the syscall and often reject clone3 wholesale",
        source: "spec §0.4 (seccomp) and §5.6; DESIGN.md 'environment-dependent outcomes'",
        applies: Applies::Clone3,
        cond: |_, c, _| c.seccomp_filter,
        ..PLACEHOLDER
    },
    Row {
        id: "A1",
        function: "arch/x86/entry/syscalls/syscall_64.tbl (no clone3 entry)",
        effect: fail(Errno::ENOSYS),
        reason: "clone3 (syscall 435) does not exist before 5.3",
        source: "7f192e3cd316 \"fork: add clone3\" (v5.3); spec §4",
        versions: &[span(0, 0, 0, 5, 2, Y)],
        applies: Applies::Clone3,
        arches: X86_64_ONLY,
        cond: |_, _, _| true,
        ..PLACEHOLDER
    },
    Row {
        id: "A1",
        function: "include/uapi/asm-generic/unistd.h (no __NR_clone3 before 5.3)",
        effect: fail(Errno::ENOSYS),
        reason: "clone3 (syscall 435 of the generic table) does not exist before 5.3",
        source: "7f192e3cd316 \"fork: add clone3\" and 8f3220a80654 \"arch: wire-up clone3() syscall\" (v5.3, __ARCH_WANT_SYS_CLONE3 in arch/arm64/include/asm/unistd.h)",
        versions: &[span(0, 0, 0, 5, 2, Y)],
        uncertain: Some("the arm64 wiring is taken from the v5.3 wire-up commit's subject; its diff was not read here"),
        applies: Applies::Clone3,
        arches: AARCH64_ONLY,
        cond: |_, _, _| true,
        ..PLACEHOLDER
    },
    Row {
        id: "A2",
        function: "kernel/fork.c: legacy_clone_args_valid (SYSCALL_DEFINE5(clone))",
        effect: fail(Errno::EINVAL),
        reason: "legacy clone returns the pidfd through parent_tid, so CLONE_PIDFD|CLONE_PARENT_SETTID is refused at entry",
        source: "spec §1.A; F-5.4 legacy_clone_args_valid; folded into kernel_clone by \"fork: fold legacy_clone_args_valid() into _do_fork()\" (fork-v5.9 tag)",
        versions: &[span(5, 3, 0, 5, 8, Y)],
        applies: Applies::LegacyClone,
        cond: |_, _, k| k.all(CLONE_PIDFD | CLONE_PARENT_SETTID),
        ..PLACEHOLDER
    },
    Row {
        id: "A3",
        function: "kernel/fork.c: SYSCALL_DEFINE0(fork) / SYSCALL_DEFINE0(vfork) (built only under __ARCH_WANT_SYS_FORK / __ARCH_WANT_SYS_VFORK, which arm64 does not define: include/uapi/asm-generic/unistd.h has no __NR_fork/__NR_vfork)",
        effect: fail(Errno::ENOSYS),
        reason: "arm64 has no fork or vfork system call (the generic syscall table); libc's fork() is clone(SIGCHLD) and vfork() is clone(CLONE_VM|CLONE_VFORK|SIGCHLD)",
        source: "arch/arm64/include/asm/unistd.h defines __ARCH_WANT_SYS_CLONE but neither __ARCH_WANT_SYS_FORK nor __ARCH_WANT_SYS_VFORK; kernel/fork.c SYSCALL_DEFINE0(fork) is #ifdef __ARCH_WANT_SYS_FORK; x86_64: arch/x86/entry/syscalls/syscall_64.tbl 57 fork, 58 vfork",
        applies: Applies::ForkVfork,
        arches: AARCH64_ONLY,
        cond: |_, _, _| true,
        ..PLACEHOLDER
    },
    // ---- §1.B copy_clone_args_from_user ------------------------------------
    Row {
        id: "B1",
        function: ARGS,
        effect: fail(Errno::E2BIG),
        reason: "an argument block larger than a page is refused before any memory access",
        source: "spec §1.B B1 [6.18 ✓]; F-new copy_clone_args_from_user",
        versions: &[since(5, 3, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.size > 4096,
        ..PLACEHOLDER
    },
    Row {
        id: "B2",
        function: ARGS,
        effect: fail(Errno::EINVAL),
        reason: "the block must hold at least CLONE_ARGS_SIZE_VER0 (64) bytes",
        source: "spec §1.B B2 [6.18 ✓]",
        versions: &[since(5, 3, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.size < 64,
        ..PLACEHOLDER
    },
    Row {
        id: "B3a-i",
        function: "lib/usercopy.c: check_zeroed_user (via copy_struct_from_user)",
        effect: fail(Errno::EFAULT),
        reason: "the tail beyond the kernel's struct is scanned first; an unreadable byte reached before any non-zero one faults",
        source: "spec §1.B B3a [6.18 ✓ size 96, tail unmapped]; f14c234b4bc5 \"clone3: switch to copy_struct_from_user()\" (5.4); 5.3 used a get_user loop with the same order",
        versions: &[since(5, 3, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| {
            let fault_at = k.readable.max(k.ksize);
            k.size > k.ksize
                && k.readable < k.size
                && k.first_nonzero_in_tail.map_or(true, |z| z >= fault_at)
        },
        ..PLACEHOLDER
    },
    Row {
        id: "B3a-ii",
        function: "lib/usercopy.c: check_zeroed_user (via copy_struct_from_user)",
        effect: fail(Errno::E2BIG),
        reason: "a non-zero byte beyond the kernel's struct means a field this kernel does not know",
        source: "spec §1.B B3a [6.18 ✓ non-zero byte at 90 of 96]",
        versions: &[since(5, 3, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.size > k.ksize && k.first_nonzero_in_tail.is_some(),
        ..PLACEHOLDER
    },
    Row {
        id: "B3b",
        function: ARGS,
        effect: fail(Errno::EFAULT),
        reason: "min(size, ksize) bytes are copied; an unreadable block faults",
        source: "spec §1.B B3b [6.18 ✓ NULL with size 64; bytes 64..88 unmapped]",
        versions: &[since(5, 3, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.readable < k.size.min(k.ksize),
        ..PLACEHOLDER
    },
    Row {
        id: "B4",
        function: ARGS,
        effect: fail(Errno::EINVAL),
        reason: "set_tid cannot name more levels than MAX_PID_NS_LEVEL (32)",
        source: "spec §1.B B4 [6.18 ✓ 33]; 49cb2fc42ce4 \"fork: extend clone3() to support setting a PID\" (5.5)",
        versions: &[since(5, 5, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.set_tid_size > 32,
        ..PLACEHOLDER
    },
    Row {
        id: "B5",
        function: ARGS,
        effect: fail(Errno::EINVAL),
        reason: "a set_tid_size without a set_tid array is inconsistent",
        source: "spec §1.B B5 [6.18 ✓]",
        versions: &[since(5, 5, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.set_tid_ptr.is_none() && k.set_tid_size > 0,
        ..PLACEHOLDER
    },
    Row {
        id: "B6",
        function: ARGS,
        effect: fail(Errno::EINVAL),
        reason: "a set_tid array with size 0 is inconsistent",
        source: "spec §1.B B6 [6.18 ✓]",
        versions: &[since(5, 5, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.set_tid_ptr.is_some() && k.set_tid_size == 0,
        ..PLACEHOLDER
    },
    Row {
        id: "B7",
        function: ARGS,
        effect: fail(Errno::EINVAL),
        reason: "exit_signal must fit in CSIGNAL and be a valid signal (<= 64)",
        source: "spec §1.B B7 [6.18 ✓ 65, 0x111]; a0eb9abd8af9 \"fork: block invalid exit signals with clone3()\" (brauner tag for-linus-20190912 on v5.3-rc8, so in v5.3 final)",
        versions: &[span(5, 3, 0, 7, 0, Y)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.exit_signal & !CSIGNAL != 0 || k.exit_signal > NSIG,
        ..PLACEHOLDER
    },
    Row {
        id: "B7",
        function: ARGS,
        effect: fail(Errno::EINVAL),
        reason: "exit_signal must fit in CSIGNAL; 7.1 moved the valid_signal() part to kernel_clone (D2)",
        source: "spec §1.B B7; 09e7827e7857 \"kernel/fork: validate exit_signal in kernel_clone()\" (diff drops !valid_signal from copy_clone_args_from_user)",
        versions: &[since(7, 1, 0)],
        uncertain: Some("7.1 not verified against a released tag (spec §5.1)"),
        applies: Applies::Clone3,
        cond: |_, _, k| k.exit_signal & !CSIGNAL != 0,
        ..PLACEHOLDER
    },
    Row {
        id: "B8",
        function: ARGS,
        effect: fail(Errno::EINVAL),
        reason: "CLONE_INTO_CGROUP needs a VER2 (88-byte) block and a cgroup fd <= INT_MAX",
        source: "spec §1.B B8 [6.18 ✓ size 80; 0xffffffff]; ef2c41cf38a7 \"clone3: allow spawning processes into cgroups\" (5.7)",
        versions: &[since(5, 7, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| into_cgroup(k) && (k.cgroup_value > i32::MAX as u64 || k.size < 88),
        ..PLACEHOLDER
    },
    Row {
        id: "B9",
        function: ARGS,
        effect: fail(Errno::EFAULT),
        reason: "the set_tid array (set_tid_size * 4 bytes) is copied before the flags are validated",
        source: "spec §1.B B9 [6.18 ✓]",
        versions: &[since(5, 5, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.set_tid_ptr.is_some_and(|p| !p.accessible()),
        ..PLACEHOLDER
    },
    // ---- §1.C clone3_args_valid / clone3_stack_valid -----------------------
    Row {
        id: "C1",
        function: VALID,
        effect: fail(Errno::EINVAL),
        reason: "flag bits above the 32 legacy ones are unknown in 5.3–5.4",
        source: "spec §1.C C1; 7f192e3cd316 \"fork: add clone3\"",
        versions: &[span(5, 3, 0, 5, 4, Y)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.flags & !CLONE_LEGACY_FLAGS != 0,
        ..PLACEHOLDER
    },
    Row {
        id: "C1",
        function: VALID,
        effect: fail(Errno::EINVAL),
        reason: "unknown flag bits (5.5–5.6 know CLONE_CLEAR_SIGHAND)",
        source: "spec §1.C C1; b612e5df4587 \"clone3: add CLONE_CLEAR_SIGHAND\" (5.5)",
        versions: &[span(5, 5, 0, 5, 6, Y)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.flags & !(CLONE_LEGACY_FLAGS | CLONE_CLEAR_SIGHAND) != 0,
        ..PLACEHOLDER
    },
    Row {
        id: "C1",
        function: VALID,
        effect: fail(Errno::EINVAL),
        reason: "unknown flag bits (5.7–7.0 also know CLONE_INTO_CGROUP)",
        source: "spec §1.C C1 [6.18 ✓ 1<<34, 1<<40]; ef2c41cf38a7 (5.7)",
        versions: &[span(5, 7, 0, 7, 0, Y)],
        applies: Applies::Clone3,
        cond: |_, _, k| {
            k.flags & !(CLONE_LEGACY_FLAGS | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0
        },
        ..PLACEHOLDER
    },
    Row {
        id: "C1",
        function: VALID,
        effect: fail(Errno::EINVAL),
        reason: "unknown flag bits (7.1 adds CLONE_AUTOREAP, CLONE_NNP, CLONE_PIDFD_AUTOKILL)",
        source: "spec §1.C C1 and §2.1; H (sched.h snapshot 07c3ef58)",
        versions: &[span(7, 1, 0, 7, 1, Y)],
        uncertain: Some("7.1 mask not verified against a released tag (spec §5.1)"),
        applies: Applies::Clone3,
        cond: |_, _, k| {
            k.flags
                & !(CLONE_LEGACY_FLAGS
                    | CLONE_CLEAR_SIGHAND
                    | CLONE_INTO_CGROUP
                    | CLONE_AUTOREAP
                    | CLONE_NNP
                    | CLONE_PIDFD_AUTOKILL)
                != 0
        },
        ..PLACEHOLDER
    },
    Row {
        id: "C1",
        function: VALID,
        effect: fail(Errno::EINVAL),
        reason: "unknown flag bits (7.2 adds CLONE_EMPTY_MNTNS, bit 37)",
        source: "linux-source-7.2 7.2.13 and linux-source-7.3 7.3~rc7 kernel/fork.c: \
                 clone3_args_valid (mask ends `CLONE_PIDFD_AUTOKILL | CLONE_EMPTY_MNTNS`); \
                 linux-libc-dev 7.2.13 include/uapi/linux/sched.h `CLONE_EMPTY_MNTNS (1ULL << 37)`. \
                 Seen in the 7.2.13 matrix run: clone3 bit 37 succeeded as root, EPERM as uid 65534",
        versions: &[since(7, 2, 0)],
        uncertain: Some("first release with CLONE_EMPTY_MNTNS (7.2 merge window) inferred from the 7.1-cycle snapshot lacking it"),
        applies: Applies::Clone3,
        cond: |_, _, k| {
            k.flags
                & !(CLONE_LEGACY_FLAGS
                    | CLONE_CLEAR_SIGHAND
                    | CLONE_INTO_CGROUP
                    | CLONE_AUTOREAP
                    | CLONE_NNP
                    | CLONE_PIDFD_AUTOKILL
                    | CLONE_EMPTY_MNTNS)
                != 0
        },
        ..PLACEHOLDER
    },
    Row {
        id: "C2",
        function: VALID,
        effect: fail(Errno::EINVAL),
        reason: "CLONE_DETACHED and the CSIGNAL byte (CLONE_NEWTIME included) are reserved in clone3 flags",
        source: "spec §1.C C2; stable kernels without a402f1e35313",
        versions: &[
            span(5, 3, 0, 5, 10, 174),
            span(5, 11, 0, 5, 15, 102),
            span(5, 16, 0, 6, 1, 19),
            span(6, 2, 0, 6, 2, 6),
        ],
        uncertain: Some("backport point releases: 5.10.175 read from the 5.10.y-rt commit list; 5.15.103, 6.1.20 and 6.2.7 inferred from the stable review posting of 2023-03-15 (\"[PATCH 6.2 008/141]\")"),
        applies: Applies::Clone3,
        cond: |_, _, k| k.has(CLONE_DETACHED | CSIGNAL),
        ..PLACEHOLDER
    },
    Row {
        id: "C2",
        function: VALID,
        effect: fail(Errno::EINVAL),
        reason: "CLONE_DETACHED and the CSIGNAL byte except CLONE_NEWTIME are reserved in clone3 flags",
        source: "spec §1.C C2 [6.18 ✓ DETACHED, 0x40]; a402f1e35313 \"fork: allow CLONE_NEWTIME in clone3 flags\" (6.3; stable 5.10.175, 5.15.103, 6.1.20, 6.2.7)",
        versions: &[
            span(5, 10, 175, 5, 10, Y),
            span(5, 15, 103, 5, 15, Y),
            span(6, 1, 20, 6, 1, Y),
            span(6, 2, 7, 6, 2, Y),
            since(6, 3, 0),
        ],
        uncertain: Some("backport point releases other than 5.10.175 inferred from the stable review date"),
        applies: Applies::Clone3,
        cond: |_, _, k| k.has(CLONE_DETACHED | (CSIGNAL & !CLONE_NEWTIME)),
        ..PLACEHOLDER
    },
    Row {
        id: "C3",
        function: VALID,
        effect: fail(Errno::EINVAL),
        reason: "sharing the handler table and resetting it are contradictory",
        source: "spec §1.C C3 [6.18 ✓]; b612e5df4587 (5.5)",
        versions: &[since(5, 5, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.all(CLONE_SIGHAND | CLONE_CLEAR_SIGHAND),
        ..PLACEHOLDER
    },
    Row {
        id: "C4",
        function: VALID,
        effect: fail(Errno::EINVAL),
        reason: "threads and CLONE_PARENT children do not take an exit signal from clone3",
        source: "spec §1.C C4 [6.18 ✓]",
        versions: &[since(5, 3, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| k.has(CLONE_THREAD | CLONE_PARENT) && k.exit_signal != 0,
        ..PLACEHOLDER
    },
    Row {
        id: "C5",
        function: "kernel/fork.c: clone3_stack_valid",
        effect: fail(Errno::EINVAL),
        reason: "stack and stack_size must both be 0 or describe a user range (access_ok: stack + stack_size <= TASK_SIZE_MAX, 1 << VA_BITS on arm64)",
        source: "spec §1.C C5 [6.18 ✓]; fa729c4df558 \"clone3: validate stack arguments\" (pidfd-fixes, v5.4-rc; stable \"[PATCH 5.3 063/193]\" 2019-11-11 = 5.3.11)",
        versions: &[span(5, 3, 11, 5, 3, Y), since(5, 4, 0)],
        applies: Applies::Clone3,
        cond: |_, c, k| {
            if k.stack == 0 {
                k.stack_size != 0
            } else {
                k.stack_size == 0
                    || k.stack.checked_add(k.stack_size).map_or(true, |end| end > c.task_size_max)
            }
        },
        ..PLACEHOLDER
    },
    // ---- §1.D kernel_clone -------------------------------------------------
    Row {
        id: "D1",
        function: KCLONE,
        effect: fail(Errno::EINVAL),
        reason: "the pidfd and the parent tid cannot be written to the same address",
        source: "spec §1.D D1 [6.18 ✓ clone3 equal/NULL pointers; legacy always]; \"fork: fold legacy_clone_args_valid() into _do_fork()\" (fork-v5.9)",
        versions: &[since(5, 9, 0)],
        cond: |_, _, k| k.all(CLONE_PIDFD | CLONE_PARENT_SETTID) && k.pidfd_eq_parent_tid,
        ..PLACEHOLDER
    },
    Row {
        id: "D2",
        function: KCLONE,
        effect: fail(Errno::EINVAL),
        reason: "exit_signal must be a valid signal (<= 64), for legacy clone too",
        source: "spec §1.D D2; 09e7827e7857 \"kernel/fork: validate exit_signal in kernel_clone()\": the check follows the pidfd==parent_tid test and is unconditional (also for THREAD/PARENT)",
        versions: &[since(7, 1, 0)],
        uncertain: Some("whether it reached stable kernels: a 7.0.y backport was posted (\"[PATCH 7.0 015/332]\") and Oleg Nesterov objected; assumed absent from stable"),
        cond: |_, _, k| k.exit_signal > NSIG,
        ..PLACEHOLDER
    },
    // ---- §1.E copy_process -------------------------------------------------
    Row {
        id: "E1",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "a new mount namespace cannot share fs_struct (root/cwd) with the caller",
        source: "spec §1.E E1 [6.18 ✓]; man clone.2 (CLONE_NEWNS since 2.4.19)",
        versions: &[since(2, 4, 19)],
        cond: |_, _, k| k.all(CLONE_NEWNS | CLONE_FS),
        ..PLACEHOLDER
    },
    Row {
        id: "E2",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "a new user namespace cannot share fs_struct with the caller",
        source: "spec §1.E E2 [6.18 ✓]; e66eded8309e \"userns: Don't allow CLONE_NEWUSER | CLONE_FS\" (3.9)",
        versions: &[since(3, 9, 0)],
        cond: |_, _, k| k.all(CLONE_NEWUSER | CLONE_FS),
        ..PLACEHOLDER
    },
    Row {
        id: "E3",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "threads must share signal handlers",
        source: "spec §1.E E3 [6.18 ✓]; man clone.2 (since 2.5.35)",
        versions: &[since(2, 5, 35)],
        cond: |_, _, k| k.has(CLONE_THREAD) && !k.has(CLONE_SIGHAND),
        ..PLACEHOLDER
    },
    Row {
        id: "E4",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "shared signal handlers require a shared address space",
        source: "spec §1.E E4 [6.18 ✓]; man clone.2 (since 2.6.0)",
        versions: &[since(2, 6, 0)],
        cond: |_, _, k| k.has(CLONE_SIGHAND) && !k.has(CLONE_VM),
        ..PLACEHOLDER
    },
    Row {
        id: "E5",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "global and container inits cannot create siblings (they would have no reaper)",
        source: "spec §1.E E5 [6.18 ✓]; \"prevent global and container-inits from creating siblings\" (2.6.32)",
        versions: &[since(2, 6, 32)],
        cond: |_, c, k| k.has(CLONE_PARENT) && c.is_pidns_init,
        ..PLACEHOLDER
    },
    Row {
        id: "E6",
        function: "kernel/fork.c: do_fork / copy_process",
        effect: fail(Errno::EINVAL),
        reason: "a child in a new pid/user namespace cannot be a thread or a sibling",
        source: "spec §1.I (2.6.24–3.11)",
        versions: &[span(2, 6, 24, 3, 11, Y)],
        uncertain: Some("exact pre-3.12 form (NEWUSER part, placement in do_fork) not read in source (spec §1.I)"),
        cond: |_, _, k| k.has(CLONE_THREAD | CLONE_PARENT) && k.has(CLONE_NEWPID | CLONE_NEWUSER),
        ..PLACEHOLDER
    },
    Row {
        id: "E6",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "a child in another pid/user namespace cannot share signal handlers or be a sibling",
        source: "spec §1.I; 40a0d32d1eaf \"fork: unify and tighten up CLONE_NEWUSER/CLONE_NEWPID checks\" (3.12)",
        versions: &[span(3, 12, 0, 3, 12, Y)],
        cond: |_, c, k| k.has(CLONE_SIGHAND | CLONE_PARENT) && pidns_mismatch(c, k),
        ..PLACEHOLDER
    },
    Row {
        id: "E6",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "a child in another pid/user namespace cannot share signal handlers",
        source: "spec §1.I; 1f7f4dde5c94 \"fork: Allow CLONE_PARENT after setns(CLONE_NEWPID)\" (3.13)",
        versions: &[span(3, 13, 0, 3, 13, Y)],
        cond: |_, c, k| k.has(CLONE_SIGHAND) && pidns_mismatch(c, k),
        ..PLACEHOLDER
    },
    Row {
        id: "E6",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "a child in another pid/user namespace cannot share the thread group",
        source: "spec §1.E E6 (THREAD key verified in v4.4)",
        versions: &[span(3, 14, 0, 4, 3, Y)],
        uncertain: Some("the key moved from CLONE_SIGHAND to CLONE_THREAD somewhere between 3.13 and 4.4 (commit not identified, spec §5.2); this row assumes CLONE_THREAD"),
        cond: |_, c, k| k.has(CLONE_THREAD) && pidns_mismatch(c, k),
        ..PLACEHOLDER
    },
    Row {
        id: "E6",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "a child in another pid/user namespace cannot share the thread group",
        source: "spec §1.E E6 [6.18 ✓]; F-4.4, F-4.9, F-new copy_process",
        versions: &[since(4, 4, 0)],
        cond: |_, c, k| k.has(CLONE_THREAD) && pidns_mismatch(c, k),
        ..PLACEHOLDER
    },
    Row {
        id: "E7",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "after unshare(CLONE_NEWTIME) a child cannot share the mm or thread group (vdso time data)",
        source: "spec §1.E E7; 769071ac9f20 \"ns: Introduce Time Namespace\" (5.6); removed by 2b5f9dad32ed \"fs/exec: switch timens when a task gets a new mm\" (6.2)",
        versions: &[span(5, 6, 0, 6, 1, Y)],
        cond: |_, c, k| k.has(CLONE_THREAD | CLONE_VM) && c.timens_for_children_differs,
        ..PLACEHOLDER
    },
    Row {
        id: "E8",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "CLONE_DETACHED is blocked with CLONE_PIDFD so the bit can be reused",
        source: "spec §1.E E8 [6.18 ✓]; b3e583825266 \"clone: add CLONE_PIDFD\" (5.2)",
        versions: &[since(5, 2, 0)],
        cond: |_, _, k| k.all(CLONE_PIDFD | CLONE_DETACHED),
        ..PLACEHOLDER
    },
    Row {
        id: "E8'",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "pidfds for threads were refused until PIDFD_THREAD existed",
        source: "spec §1.E E8'; allowed by 83b290c9e3b5 \"pidfd: clone: allow CLONE_THREAD | CLONE_PIDFD together\" (6.9 merge window, after 64bef697d33b PIDFD_THREAD)",
        versions: &[span(5, 2, 0, 6, 8, Y)],
        cond: |_, _, k| k.all(CLONE_PIDFD | CLONE_THREAD),
        ..PLACEHOLDER
    },
    Row {
        id: "E8''",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "5.2 returned the pidfd through parent_tid, so CLONE_PARENT_SETTID was refused in copy_process",
        source: "spec §1.E E8' and §1.I (5.2); b3e583825266 copy_process hunk; moved to legacy_clone_args_valid by 7f192e3cd316 (5.3)",
        versions: &[span(5, 2, 0, 5, 2, Y)],
        uncertain: Some("the 5.2 code also had get_user(*parent_tid) (EFAULT) and *parent_tid != 0 (EINVAL) checks; whether they survived into 5.2 final is unsettled (a removal patch by Dmitry Levin exists), so they are not modelled"),
        cond: |_, _, k| k.all(CLONE_PIDFD | CLONE_PARENT_SETTID),
        ..PLACEHOLDER
    },
    Row {
        id: "E9",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "an auto-reaped child must be a process of its own with no exit signal",
        source: "spec §1.E E9; \"clone: add CLONE_AUTOREAP\" (7.1 cycle)",
        versions: &[since(7, 1, 0)],
        uncertain: Some("7.1 content not verified against a released tag (spec §5.1)"),
        cond: |_, _, k| {
            k.has(CLONE_AUTOREAP) && (k.has(CLONE_THREAD | CLONE_PARENT) || k.exit_signal != 0)
        },
        ..PLACEHOLDER
    },
    Row {
        id: "E10",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "an auto-reaped caller cannot create siblings",
        source: "spec §1.E E10 (7.1 cycle)",
        versions: &[since(7, 1, 0)],
        uncertain: Some("7.1 content not verified against a released tag (spec §5.1)"),
        cond: |_, c, k| k.has(CLONE_PARENT) && c.caller_autoreap,
        ..PLACEHOLDER
    },
    Row {
        id: "E11",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "no_new_privs is per thread group, so CLONE_NNP cannot create a thread",
        source: "spec §1.E E11; \"clone: add CLONE_NNP\" (7.1 cycle)",
        versions: &[since(7, 1, 0)],
        uncertain: Some("7.1 content not verified against a released tag (spec §5.1)"),
        cond: |_, _, k| k.all(CLONE_NNP | CLONE_THREAD),
        ..PLACEHOLDER
    },
    Row {
        id: "E12",
        function: FORK,
        effect: fail(Errno::EINVAL),
        reason: "CLONE_PIDFD_AUTOKILL needs a pidfd and CLONE_AUTOREAP and cannot make a thread",
        source: "spec §1.E E12; \"pidfd: add CLONE_PIDFD_AUTOKILL\" (7.1 cycle)",
        versions: &[since(7, 1, 0)],
        uncertain: Some("7.1 content not verified against a released tag (spec §5.1)"),
        cond: |_, _, k| {
            k.has(CLONE_PIDFD_AUTOKILL)
                && (!k.has(CLONE_PIDFD) || !k.has(CLONE_AUTOREAP) || k.has(CLONE_THREAD))
        },
        ..PLACEHOLDER
    },
    Row {
        id: "E12'",
        function: FORK,
        effect: fail(Errno::EPERM),
        reason: "kill-on-close of a child is a privilege unless the child runs with no_new_privs",
        source: "spec §1.E E12' (7.1 cycle)",
        versions: &[since(7, 1, 0)],
        uncertain: Some("7.1 content not verified against a released tag (spec §5.1)"),
        cond: |_, c, k| {
            k.has(CLONE_PIDFD_AUTOKILL) && !k.has(CLONE_NNP) && !c.cap_in_own_userns(CAP_SYS_ADMIN)
        },
        ..PLACEHOLDER
    },
    Row {
        id: "E13",
        effect: fail(Errno::ERESTARTNOINTR),
        reason: "a pending signal makes fork restart transparently (invisible to user space)",
        source: "spec §1.E E13; c3ad2c3b02e9 \"signal: Don't restart fork when signals come in\" (4.20)",
        versions: &[since(4, 20, 0)],
        ..ENV
    },
    Row {
        id: "E14",
        function: "kernel/fork.c: dup_task_struct",
        effect: fail(Errno::ENOMEM),
        reason: "task_struct/stack allocation failure",
        source: "spec §1.E E14",
        ..ENV
    },
    Row {
        id: "E16",
        effect: fail(Errno::EAGAIN),
        reason: "RLIMIT_NPROC: user->processes >= limit, checked before copy_creds (root, CAP_SYS_RESOURCE and CAP_SYS_ADMIN in the initial ns are exempt)",
        source: "spec §1.E E16 (≤5.13 form); F-5.4, F-4.9 copy_process",
        versions: &[span(0, 0, 0, 5, 13, Y)],
        cond: |_, c, _| nproc(c, |count, limit| count >= limit),
        ..PLACEHOLDER
    },
    Row {
        id: "E16",
        effect: fail(Errno::EAGAIN),
        reason: "RLIMIT_NPROC on ucounts, checked before copy_creds charges the child: count > limit, so limit+1 tasks were allowed",
        source: "spec §1.E E16; 21d1c5e386bc \"Reimplement RLIMIT_NPROC on top of ucounts\" (5.14)",
        versions: &[span(5, 14, 0, 5, 15, 24), span(5, 16, 0, 5, 16, 10)],
        uncertain: Some("stable point releases of 8f2f9c4d82f2: 5.15.25 from \"[PATCH 5.15 181/196]\" (2022-02-21); 5.16.11 inferred from the same posting date"),
        cond: |_, c, _| nproc(c, |count, limit| count > limit),
        ..PLACEHOLDER
    },
    Row {
        id: "E15b",
        function: "kernel/cred.c: prepare_creds",
        effect: fail(Errno::ENOMEM),
        reason: "credential allocation failure",
        source: "spec §1.E E15b",
        ..ENV
    },
    Row {
        id: "E15c-priv",
        function: CREDS,
        effect: fail(Errno::EPERM),
        reason: "before 3.8 creating a user namespace needed CAP_SYS_ADMIN, CAP_SETUID and CAP_SETGID",
        source: "spec §1.I (2.6.23–3.7); man clone.2 (unprivileged CLONE_NEWUSER since 3.8)",
        versions: &[span(2, 6, 23, 3, 7, Y)],
        uncertain: Some("position within the checks not verified in source (spec §1.I)"),
        cond: |_, c, k| {
            k.has(CLONE_NEWUSER)
                && !(c.cap_in_own_userns(CAP_SYS_ADMIN)
                    && c.cap_in_own_userns(CAP_SETUID)
                    && c.cap_in_own_userns(CAP_SETGID))
        },
        ..PLACEHOLDER
    },
    Row {
        id: "E15c-i",
        function: CREDS,
        effect: fail(Errno::EUSERS),
        reason: "user namespaces nest at most 33 levels below the initial one (parent level > 32)",
        source: "spec §1.E E15c-i (EUSERS in 3.11–4.8)",
        versions: &[span(3, 11, 0, 4, 8, Y)],
        cond: |_, c, k| k.has(CLONE_NEWUSER) && c.userns_level > 32,
        ..PLACEHOLDER
    },
    Row {
        id: "E15c-i",
        function: CREDS,
        effect: fail(Errno::ENOSPC),
        reason: "user namespaces nest at most 33 levels below the initial one (parent level > 32)",
        source: "spec §1.E E15c-i [6.18 ✓ 34th level]; 4.9 per-userns limits (EUSERS -> ENOSPC)",
        versions: &[since(4, 9, 0)],
        cond: |_, c, k| k.has(CLONE_NEWUSER) && c.userns_level > 32,
        ..PLACEHOLDER
    },
    Row {
        id: "E15c-ii",
        function: CREDS,
        effect: fail(Errno::ENOSPC),
        reason: "user.max_user_namespaces leaves no room at some ancestor level",
        source: "spec §1.E E15c-ii [6.18 ✓]",
        versions: &[since(4, 9, 0)],
        cond: |_, c, k| k.has(CLONE_NEWUSER) && c.userns_limit_reached,
        ..PLACEHOLDER
    },
    Row {
        id: "E15c-iii",
        function: CREDS,
        effect: fail(Errno::EPERM),
        reason: "a chrooted caller cannot create a user namespace (it would escape the chroot)",
        source: "spec §1.E E15c-iii [6.18 ✓]; 3151527ee007 \"userns: Don't allow creation if the user is chrooted\" (3.9)",
        versions: &[since(3, 9, 0)],
        cond: |_, c, k| k.has(CLONE_NEWUSER) && c.chrooted,
        ..PLACEHOLDER
    },
    Row {
        id: "E15c-iv",
        function: CREDS,
        effect: fail(Errno::EPERM),
        reason: "the caller's euid/egid must be mapped in the parent user namespace",
        source: "spec §1.E E15c-iv (the Context does not carry mappings)",
        versions: &[since(3, 8, 0)],
        ..ENV
    },
    Row {
        id: "E15c-v",
        function: "security/security.c: security_create_user_ns",
        effect: fail(Errno::EACCES),
        reason: "LSM hook on user-namespace creation (e.g. Ubuntu's AppArmor restriction)",
        source: "spec §1.E E15c-v; spec §5.6",
        versions: &[since(6, 1, 0)],
        ..ENV
    },
    Row {
        id: "E15c-vi",
        function: CREDS,
        effect: fail(Errno::ENOMEM),
        reason: "user-namespace allocation or inode number failure",
        source: "spec §1.E E15c-vi",
        ..ENV
    },
    Row {
        id: "E15d",
        function: "kernel/cred.c: set_cred_ucounts",
        effect: fail(Errno::EAGAIN),
        reason: "ucount allocation for the new user namespace failed",
        source: "spec §1.E E15d",
        versions: &[since(5, 14, 0)],
        ..ENV
    },
    Row {
        id: "E16",
        effect: fail(Errno::EAGAIN),
        reason: "RLIMIT_NPROC after copy_creds charged the child: count + 1 > limit (root, CAP_SYS_RESOURCE and CAP_SYS_ADMIN in the initial ns are exempt)",
        source: "spec §1.E E16 [6.18 ✓]; 8f2f9c4d82f2 \"ucounts: Enforce RLIMIT_NPROC not RLIMIT_NPROC+1\" (5.17; stable 5.15.25, 5.16.11)",
        versions: &[span(5, 15, 25, 5, 15, Y), span(5, 16, 11, 5, 16, Y), since(5, 17, 0)],
        uncertain: Some("5.16.11 inferred from the stable posting date of the 5.15 backport"),
        cond: |_, c, _| nproc(c, |count, limit| count + 1 > limit),
        ..PLACEHOLDER
    },
    Row {
        id: "E17",
        effect: fail(Errno::EAGAIN),
        reason: "nr_threads >= kernel.threads-max (no exemption)",
        source: "spec §1.E E17 (the Context does not carry threads-max)",
        ..ENV
    },
    Row {
        id: "E18",
        effect: fail(Errno::ENOMEM),
        reason: "internal initialisation and mpol_dup failures",
        source: "spec §1.E E18",
        ..ENV
    },
    Row {
        id: "E19",
        function: "kernel/sched/core.c: sched_fork",
        effect: fail(Errno::EAGAIN),
        reason: "a SCHED_DEADLINE task cannot fork unless SCHED_FLAG_RESET_ON_FORK is set",
        source: "spec §1.E E19 [6.18 ✓]; SCHED_DEADLINE (3.14)",
        versions: &[since(3, 14, 0)],
        cond: |_, c, _| c.sched_deadline_no_reset,
        ..PLACEHOLDER
    },
    Row {
        id: "E20",
        effect: fail(Errno::ENOMEM),
        reason: "perf_event_init_task / audit_alloc failures",
        source: "spec §1.E E20",
        ..ENV
    },
    Row {
        id: "E21",
        function: "security/security.c: security_task_alloc",
        effect: fail(Errno::EACCES),
        reason: "LSM task allocation hook (before 4.13: security_task_create, ahead of dup_task_struct)",
        source: "spec §1.E E21",
        versions: &[since(4, 13, 0)],
        ..ENV
    },
    Row {
        id: "E22",
        function: "ipc/sem.c: copy_semundo",
        effect: fail(Errno::ENOMEM),
        reason: "SysV semaphore undo list allocation",
        source: "spec §1.E E22",
        ..ENV
    },
    Row {
        id: "E23",
        function: "kernel/fork.c: copy_files",
        effect: fail(Errno::ENOMEM),
        reason: "fd table duplication (EMFILE if more fds are open than fs.nr_open)",
        source: "spec §1.E E23",
        ..ENV
    },
    Row {
        id: "E24",
        function: "kernel/fork.c: copy_fs",
        effect: fail(Errno::EAGAIN),
        reason: "CLONE_FS while a thread sharing fs_struct is inside execve (race)",
        source: "spec §1.E E24",
        ..ENV
    },
    Row {
        id: "E25",
        function: "kernel/fork.c: copy_sighand",
        effect: fail(Errno::ENOMEM),
        reason: "signal handler table allocation",
        source: "spec §1.E E25",
        ..ENV
    },
    Row {
        id: "E26",
        function: "kernel/fork.c: copy_signal",
        effect: fail(Errno::ENOMEM),
        reason: "signal_struct allocation",
        source: "spec §1.E E26",
        ..ENV
    },
    Row {
        id: "E27",
        function: "kernel/fork.c: copy_mm",
        effect: fail(Errno::ENOMEM),
        reason: "address space duplication",
        source: "spec §1.E E27",
        ..ENV
    },
    Row {
        id: "E28b",
        function: NSPROXY,
        effect: fail(Errno::EPERM),
        reason: "new namespaces need CAP_SYS_ADMIN in the user namespace that will own them (before 4.6 bit 0x02000000 is not CLONE_NEWCGROUP)",
        source: "spec §1.E E28b; CLONE_NEWCGROUP added in 4.6 (spec §2.1)",
        versions: &[span(0, 0, 0, 4, 5, Y)],
        cond: |_, c, k| {
            k.has(NS_FLAGS & !(CLONE_NEWUSER | CLONE_NEWCGROUP)) && !admin_in_child_userns(c, k)
        },
        ..PLACEHOLDER
    },
    Row {
        id: "E28b",
        function: NSPROXY,
        effect: fail(Errno::EPERM),
        reason: "new namespaces need CAP_SYS_ADMIN in the user namespace that will own them (the new one with CLONE_NEWUSER)",
        source: "spec §1.E E28b [6.18 ✓ NEWUTS EPERM, NEWUTS|NEWUSER ok, NEWTIME EPERM]",
        versions: &[since(4, 6, 0)],
        cond: |_, c, k| k.has(NS_FLAGS & !CLONE_NEWUSER) && !admin_in_child_userns(c, k),
        ..PLACEHOLDER
    },
    Row {
        id: "E28c",
        function: NSPROXY,
        effect: fail(Errno::EINVAL),
        reason: "a new IPC namespace cannot share the SysV semaphore undo list",
        source: "spec §1.E E28c [6.18 ✓ root EINVAL, user EPERM]; CLONE_NEWIPC (2.6.19)",
        versions: &[since(2, 6, 19)],
        cond: |_, _, k| k.all(CLONE_NEWIPC | CLONE_SYSVSEM),
        ..PLACEHOLDER
    },
    Row {
        id: "E28d-mnt",
        function: CREATE_NS,
        effect: fail(Errno::ENOSPC),
        reason: "user.max_mnt_namespaces exceeded (also ENOMEM)",
        source: "spec §1.E E28d",
        versions: &[since(4, 9, 0)],
        ..ENV
    },
    Row {
        id: "E28d-uts",
        function: CREATE_NS,
        effect: fail(Errno::ENOSPC),
        reason: "user.max_uts_namespaces exceeded",
        source: "spec §1.E E28d",
        versions: &[since(4, 9, 0)],
        ..ENV
    },
    Row {
        id: "E28d-ipc",
        function: CREATE_NS,
        effect: fail(Errno::ENOSPC),
        reason: "user.max_ipc_namespaces exceeded",
        source: "spec §1.E E28d",
        versions: &[since(4, 9, 0)],
        ..ENV
    },
    Row {
        id: "E28d-pid-i",
        function: PIDNS,
        effect: fail(Errno::EINVAL),
        reason: "CLONE_NEWPID after unshare(CLONE_NEWPID)/setns: pid_ns_for_children must be the active pid ns",
        source: "spec §1.E E28d-pid (1) (3.8+)",
        versions: &[since(3, 8, 0)],
        cond: |_, c, k| k.has(CLONE_NEWPID) && c.pidns_for_children_differs,
        ..PLACEHOLDER
    },
    Row {
        id: "E28d-pid-ii",
        function: PIDNS,
        effect: fail(Errno::EINVAL),
        reason: "the new pid ns's owner must be the parent pid ns's owner or a descendant (in_userns)",
        source: "spec §1.E E28d-pid (2) (the Context does not carry ns ownership)",
        versions: &[since(3, 8, 0)],
        ..ENV
    },
    Row {
        id: "E28d-pid-iii",
        function: PIDNS,
        effect: fail(Errno::EINVAL),
        reason: "pid namespaces nest at most 32 levels (MAX_PID_NS_LEVEL)",
        source: "spec §1.E E28d-pid (3) (3.7–4.8 per code reading)",
        versions: &[span(3, 7, 0, 4, 8, Y)],
        uncertain: Some("3.7–4.8 errno: EINVAL per code reading vs ENOSPC per man page (spec §5.3)"),
        cond: |_, c, k| k.has(CLONE_NEWPID) && c.pidns_level >= 32,
        ..PLACEHOLDER
    },
    Row {
        id: "E28d-pid-iii",
        function: PIDNS,
        effect: fail(Errno::ENOSPC),
        reason: "pid namespaces nest at most 32 levels (MAX_PID_NS_LEVEL)",
        source: "spec §1.E E28d-pid (3) [6.18 ✓ 33rd level]",
        versions: &[since(4, 9, 0)],
        cond: |_, c, k| k.has(CLONE_NEWPID) && c.pidns_level >= 32,
        ..PLACEHOLDER
    },
    Row {
        id: "E28d-pid-iv",
        function: PIDNS,
        effect: fail(Errno::ENOSPC),
        reason: "user.max_pid_namespaces exceeded",
        source: "spec §1.E E28d-pid (4)",
        versions: &[since(4, 9, 0)],
        ..ENV
    },
    Row {
        id: "E28d-cgroup",
        function: CREATE_NS,
        effect: fail(Errno::ENOSPC),
        reason: "user.max_cgroup_namespaces exceeded",
        source: "spec §1.E E28d",
        versions: &[since(4, 9, 0)],
        ..ENV
    },
    Row {
        id: "E28d-net",
        function: CREATE_NS,
        effect: fail(Errno::ENOSPC),
        reason: "user.max_net_namespaces exceeded",
        source: "spec §1.E E28d",
        versions: &[since(4, 9, 0)],
        ..ENV
    },
    Row {
        id: "E28d-time",
        function: CREATE_NS,
        effect: fail(Errno::ENOSPC),
        reason: "user.max_time_namespaces exceeded",
        source: "spec §1.E E28d",
        versions: &[since(5, 6, 0)],
        ..ENV
    },
    Row {
        id: "E29",
        function: "kernel/fork.c: copy_io [-5.10] / copy_process (copy_io is in kernel/fork.c in 5.10.262 and in block/blk-ioc.c by 6.1.192)",
        effect: fail(Errno::ENOMEM),
        reason: "io_context allocation",
        source: "spec §1.E E29",
        ..ENV
    },
    Row {
        id: "E30-shstk",
        function: "arch/x86/kernel/shstk.c: shstk_alloc_thread_stack",
        effect: fail(Errno::ENOMEM),
        reason: "user shadow stack allocation for CLONE_VM without CLONE_VFORK",
        source: "spec §1.E E30 (6.6+)",
        versions: &[since(6, 6, 0)],
        arches: X86_64_ONLY,
        ..ENV
    },
    Row {
        id: "E30-gcs",
        function: "arch/arm64/mm/gcs.c: gcs_alloc_thread_stack (from copy_thread)",
        effect: fail(Errno::ENOMEM),
        reason: "a Guarded Control Stack is allocated for a CLONE_VM child (without CLONE_VFORK) of a task that enabled GCS",
        source: "arm64 GCS support, merged for v6.13 (arm64 for-next/gcs)",
        versions: &[since(6, 13, 0)],
        uncertain: Some("the merge release and the call site are from the series' cover letter, not read in the source here"),
        arches: AARCH64_ONLY,
        ..ENV
    },
    Row {
        id: "E30",
        function: "arch/x86/kernel/process.c: copy_thread -> arch/x86/kernel/process_64.c: do_arch_prctl_64 (ARCH_SET_FS)",
        effect: fail(Errno::EPERM),
        reason: "a 64-bit CLONE_SETTLS base must be below TASK_SIZE_MAX",
        source: "spec §1.E E30 [6.18 ✓ 0x7ffffffff000 EPERM, 0x7fffffffefff ok]; x86_64 only: arm64's copy_thread (arch/arm64/kernel/process.c) stores tls in thread.uw.tp_value (TPIDR_EL0) unchecked",
        arches: X86_64_ONLY,
        cond: |_, c, k| {
            k.has(CLONE_SETTLS) && matches!(k.tls, Tls::Raw(v) if v >= c.task_size_max)
        },
        ..PLACEHOLDER
    },
    Row {
        id: "E31a",
        function: ALLOC_PID,
        effect: fail(Errno::EINVAL),
        reason: "set_tid cannot name more levels than the target pid namespace has",
        source: "spec §1.E E31a [6.18 ✓]; 49cb2fc42ce4 (5.5)",
        versions: &[since(5, 5, 0)],
        applies: Applies::Clone3,
        cond: |_, c, k| k.set_tid_ptr.is_some() && k.set_tid_size > target_pidns_level(c, k) + 1,
        ..PLACEHOLDER
    },
    Row {
        id: "E31b-i",
        function: ALLOC_PID,
        effect: fail(Errno::EINVAL),
        reason: "a set_tid entry is outside [1, pid_max)",
        source: "spec §1.E E31b [6.18 ✓ [0], [pid_max]]; pid_max per namespace since 7863dcc72d0f (6.14)",
        versions: &[since(5, 5, 0)],
        applies: Applies::Clone3,
        cond: |_, c, k| set_tid_walk(c, k) == TidStop::Range,
        ..PLACEHOLDER
    },
    Row {
        id: "E31b-ii",
        function: ALLOC_PID,
        effect: fail(Errno::EINVAL),
        reason: "only pid 1 can be requested in a namespace that has no init yet",
        source: "spec §1.E E31b [6.18 ✓ NEWUSER|NEWPID [2]]",
        versions: &[since(5, 5, 0)],
        applies: Applies::Clone3,
        cond: |_, c, k| set_tid_walk(c, k) == TidStop::NoReaper,
        ..PLACEHOLDER
    },
    Row {
        id: "E31b-iii",
        function: ALLOC_PID,
        effect: fail(Errno::EPERM),
        reason: "choosing a pid needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE (5.9+) over that namespace's owner",
        source: "spec §1.E E31b [6.18 ✓ uid 65534 EPERM; [1, outer] EPERM]; CAP_CHECKPOINT_RESTORE accepted since 5.9",
        versions: &[since(5, 5, 0)],
        applies: Applies::Clone3,
        cond: |_, c, k| set_tid_walk(c, k) == TidStop::NoCap,
        ..PLACEHOLDER
    },
    Row {
        id: "E31b-iv",
        function: ALLOC_PID,
        effect: fail(Errno::EEXIST),
        reason: "the requested pid is already in use at that level (capability is checked first)",
        source: "spec §1.E E31b [6.18 ✓ root [getpid()] EEXIST]; spec §1.H",
        versions: &[since(5, 5, 0)],
        applies: Applies::Clone3,
        cond: |_, c, k| set_tid_walk(c, k) == TidStop::InUse,
        ..PLACEHOLDER
    },
    Row {
        id: "E31b-v",
        function: ALLOC_PID,
        effect: fail(Errno::EAGAIN),
        reason: "no free pid for a level without a set_tid entry",
        source: "spec §1.E E31b",
        ..ENV
    },
    Row {
        id: "E31c",
        function: ALLOC_PID,
        effect: fail(Errno::ENOMEM),
        reason: "the target pid namespace no longer accepts tasks (its init exited)",
        source: "spec §1.E E31c [6.18 ✓ after unshare(CLONE_NEWPID) and init's exit]",
        cond: |_, c, k| !k.has(CLONE_NEWPID) && c.pidns_dead,
        ..PLACEHOLDER
    },
    Row {
        id: "E32-fd",
        function: "kernel/fork.c: pidfd_prepare",
        effect: fail(Errno::EMFILE),
        reason: "no free fd below RLIMIT_NOFILE for the pidfd (ENFILE/ENOMEM for the file)",
        source: "spec §1.E E32",
        versions: &[since(5, 2, 0)],
        ..ENV
    },
    Row {
        id: "E32",
        function: FORK,
        effect: fail(Errno::EFAULT),
        reason: "put_user(pidfd) to the pidfd slot (legacy clone: parent_tid) faulted; no child is created",
        source: "spec §1.E E32 [6.18 ✓ pidfd NULL or 8]; spec §1.H (E32 before E34)",
        versions: &[since(5, 2, 0)],
        cond: |_, _, k| k.has(CLONE_PIDFD) && !k.pidfd.accessible(),
        ..PLACEHOLDER
    },
    Row {
        id: "E33",
        effect: fail(Errno::ENOMEM),
        reason: "futex private hash for CLONE_THREAD|CLONE_VM (newer kernels)",
        source: "spec §1.E E33",
        ..ENV
    },
    Row {
        id: "E34a",
        function: "kernel/cgroup/cgroup.c: cgroup_css_set_fork (fdget)",
        effect: fail(Errno::EBADF),
        reason: "the CLONE_INTO_CGROUP fd is not open (a raw fd number is modelled as not open)",
        source: "spec §1.E E34a [6.18 ✓]",
        versions: &[since(5, 7, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| into_cgroup(k) && matches!(k.cgroup, CgroupFd::NotOpen | CgroupFd::Raw(_)),
        ..PLACEHOLDER
    },
    Row {
        id: "E34b",
        function: "kernel/cgroup/cgroup.c: cgroup_get_from_file",
        effect: fail(Errno::EBADF),
        reason: "the fd is not a cgroup directory (fd 0 is the probe's stdin)",
        source: "spec §1.E E34b [6.18 ✓ regular file, other-fs directory]",
        versions: &[since(5, 7, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| {
            into_cgroup(k)
                && matches!(k.cgroup, CgroupFd::Zero | CgroupFd::RegularFile | CgroupFd::NonCgroupDir)
        },
        ..PLACEHOLDER
    },
    Row {
        id: "E34c",
        function: "kernel/cgroup/cgroup.c: cgroup_get_from_file",
        effect: fail(Errno::EBADF),
        reason: "a cgroup v1 directory cannot be a CLONE_INTO_CGROUP target",
        source: "spec §1.E E34c [6.18 ✓]; cgroup_get_from_file was cgroup2-only from 5.7; f3a2aebdd6fb \"cgroup: enable cgroup_get_from_file() on cgroup1\" briefly broke it in the 6.1 cycle and the follow-up (\"Restore the error check for V1 cgroups in the clone() path\", cgroup_v1v2_get_from_file split) restored EBADF",
        versions: &[since(5, 7, 0)],
        applies: Applies::Clone3,
        cond: |_, _, k| into_cgroup(k) && k.cgroup == CgroupFd::CgroupV1Dir,
        ..PLACEHOLDER
    },
    Row {
        id: "E34d",
        function: CGROUP,
        effect: fail(Errno::ENOENT),
        reason: "the target cgroup is not online",
        source: "spec §1.E E34d",
        versions: &[since(5, 7, 0)],
        applies: Applies::Clone3,
        ..ENV
    },
    Row {
        id: "E34e",
        function: CGROUP,
        effect: fail(Errno::ENODEV),
        reason: "the target cgroup was removed",
        source: "spec §1.E E34e",
        versions: &[since(5, 7, 0)],
        applies: Applies::Clone3,
        ..ENV
    },
    Row {
        id: "E34f",
        function: "kernel/cgroup/cgroup.c: cgroup_may_write",
        effect: fail(Errno::EACCES),
        reason: "the caller may not write the target's cgroup.procs",
        source: "spec §1.E E34f [6.18 ✓ uid 65534 into the cgroup2 root]",
        versions: &[since(5, 7, 0)],
        applies: Applies::Clone3,
        cond: |_, c, k| {
            into_cgroup(k) && cgroup2_access(c, k).is_some_and(|a| !a.procs_writable)
        },
        ..PLACEHOLDER
    },
    Row {
        id: "E34g",
        function: "kernel/cgroup/cgroup.c: cgroup_procs_write_permission",
        effect: fail(Errno::EACCES),
        reason: "the caller may not write the common ancestor's cgroup.procs",
        source: "spec §1.E E34g",
        versions: &[since(5, 7, 0)],
        applies: Applies::Clone3,
        cond: |_, c, k| {
            into_cgroup(k) && cgroup2_access(c, k).is_some_and(|a| !a.ancestor_writable)
        },
        ..PLACEHOLDER
    },
    Row {
        id: "E34g-ns",
        function: "kernel/cgroup/cgroup.c: cgroup_procs_write_permission",
        effect: fail(Errno::ENOENT),
        reason: "nsdelegate: source or target outside the caller's cgroup namespace root",
        source: "spec §1.E E34g",
        versions: &[since(5, 7, 0)],
        applies: Applies::Clone3,
        ..ENV
    },
    Row {
        id: "E34h",
        function: "kernel/cgroup/cgroup.c: cgroup_migrate_vet_dst",
        effect: fail(Errno::EOPNOTSUPP),
        reason: "target is not a valid domain (EOPNOTSUPP) or violates no-internal-processes (EBUSY)",
        source: "spec §1.E E34h",
        versions: &[since(5, 7, 0)],
        applies: Applies::Clone3,
        ..ENV
    },
    Row {
        id: "E34i",
        function: ATTACH,
        effect: fail(Errno::EOPNOTSUPP),
        reason: "a thread must stay in its thread group's domain cgroup",
        source: "spec §1.E E34i",
        versions: &[since(5, 7, 0)],
        uncertain: Some("assumes the caller is not already a member of the target cgroup2 directory (the CgroupFd does not say); then its dom_cgrp differs"),
        applies: Applies::Clone3,
        cond: |_, _, k| {
            into_cgroup(k) && k.has(CLONE_THREAD) && matches!(k.cgroup, CgroupFd::Cgroup2 { .. })
        },
        ..PLACEHOLDER
    },
    Row {
        id: "E34j",
        function: "kernel/cgroup/cgroup.c: find_css_set",
        effect: fail(Errno::ENOMEM),
        reason: "css_set allocation",
        source: "spec §1.E E34j",
        versions: &[since(5, 7, 0)],
        applies: Applies::Clone3,
        ..ENV
    },
    Row {
        id: "E34k",
        function: "kernel/cgroup/pids.c: pids_can_fork",
        effect: fail(Errno::EAGAIN),
        reason: "some ancestor's pids.max would be exceeded",
        source: "spec §1.E E34k (pids controller 4.3; the Context does not carry pids.max)",
        versions: &[since(4, 3, 0)],
        ..ENV
    },
    Row {
        id: "E34l",
        function: "kernel/cgroup/cgroup.c: cgroup_can_fork",
        effect: fail(Errno::EINVAL),
        reason: "another controller's can_fork (cpuset for CLONE_INTO_CGROUP moves)",
        source: "spec §1.E E34l",
        versions: &[since(5, 7, 0)],
        ..ENV
    },
    Row {
        id: "E35",
        function: "kernel/sched/core.c: sched_cgroup_fork (scx_fork)",
        effect: fail(Errno::ENOMEM),
        reason: "a sched_ext BPF scheduler refused the task",
        source: "spec §1.E E35",
        versions: &[since(6, 12, 0)],
        ..ENV
    },
    Row {
        id: "E36",
        effect: fail(Errno::ENOMEM),
        reason: "under tasklist_lock: pid ns stopped accepting tasks meanwhile (ENOMEM) or the caller is dying (EINTR, invisible)",
        source: "spec §1.E E36 (a dead ns is already caught by E31c; this is the race)",
        versions: &[since(4, 20, 0)],
        ..ENV
    },
    Row {
        id: "E36",
        effect: fail(Errno::ERESTARTNOINTR),
        reason: "before 4.20 any pending signal here restarted fork transparently",
        source: "spec §1.E E36 and §1.I (≤4.19; F-4.4, F-4.9)",
        versions: &[span(0, 0, 0, 4, 19, Y)],
        ..ENV
    },
];

/// The rule table, in kernel order.
pub static TABLE: &[Row] = ROWS;
