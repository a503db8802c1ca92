//! The architecture whose kernel the model predicts for: an input like the
//! kernel version. The model never looks at what it was compiled for; the
//! host's architecture is a default the callers supply
//! (`forklore_observe::host_arch`).
//!
//! What differs between the two, each with its source (Linux 6.x):
//!
//! * **fork and vfork** are system calls on x86_64
//!   (arch/x86/entry/syscalls/syscall_64.tbl: 57 fork, 58 vfork) and not on
//!   arm64, which uses the generic table (include/uapi/asm-generic/unistd.h
//!   declares `__NR_fork` only under `__ARCH_WANT_SYS_FORK`, which
//!   arch/arm64/include/asm/unistd.h does not define). libc's fork there is
//!   `clone(SIGCHLD)`, vfork is `clone(CLONE_VM|CLONE_VFORK|SIGCHLD)`.
//!   Rule A3.
//! * **legacy clone's argument order**: arch/arm64/Kconfig selects
//!   CLONE_BACKWARDS, so kernel/fork.c's `SYSCALL_DEFINE5(clone, ...)` takes
//!   `(flags, newsp, parent_tid, tls, child_tid)`; x86_64 selects it only
//!   for X86_32 and takes `(flags, newsp, parent_tid, child_tid, tls)`.
//!   [`Arch::legacy_clone_order`].
//! * **CLONE_SETTLS**: x86_64's copy_thread passes the value to
//!   `do_arch_prctl_64(ARCH_SET_FS)`, which rejects a base >= TASK_SIZE_MAX
//!   with EPERM (rule E30); arm64's copy_thread stores it in
//!   `thread.uw.tp_value` (TPIDR_EL0) unchecked.
//! * **TASK_SIZE_MAX**, the limit of `access_ok` (clone3_stack_valid, rule
//!   C5): x86_64 `(1 << 47) - PAGE_SIZE` (4-level paging;
//!   arch/x86/include/asm/page_64_types.h); arm64 `1 << VA_BITS`
//!   (arch/arm64/include/asm/processor.h; Debian: VA_BITS 48 in bookworm's
//!   6.1, 52 in trixie's 6.12). A context carries the value detected on
//!   its host; [`Arch::default_task_size_max`] is the usual one.
//! * **user shadow stacks**: x86's shstk (E30-shstk, 6.6+) and arm64's
//!   Guarded Control Stack (E30-gcs, 6.13+) allocate a stack for a
//!   CLONE_VM child; both are environment rows.
//!
//! Errno numbers, signal numbers, clone flags, `struct clone_args` and the
//! 64-bit siginfo layout are the same asm-generic values on both.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An architecture the model knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    X86_64,
    Aarch64,
}

/// Every architecture (the default of a rule).
pub const ALL_ARCHES: &[Arch] = &[Arch::X86_64, Arch::Aarch64];
/// Rules only x86_64 has.
pub const X86_64_ONLY: &[Arch] = &[Arch::X86_64];
/// Rules only arm64 has.
pub const AARCH64_ONLY: &[Arch] = &[Arch::Aarch64];

impl Arch {
    pub const fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// fork and vfork are system calls of this architecture.
    pub const fn has_fork_syscalls(self) -> bool {
        matches!(self, Arch::X86_64)
    }

    /// The kernel is built with CONFIG_CLONE_BACKWARDS.
    pub const fn clone_backwards(self) -> bool {
        matches!(self, Arch::Aarch64)
    }

    /// Legacy clone's five arguments, in the order this architecture's
    /// `SYSCALL_DEFINE5(clone, ...)` takes them.
    pub const fn legacy_clone_order(self) -> [&'static str; 5] {
        if self.clone_backwards() {
            ["flags", "newsp", "parent_tid", "tls", "child_tid"]
        } else {
            ["flags", "newsp", "parent_tid", "child_tid", "tls"]
        }
    }

    /// The usual TASK_SIZE_MAX (access_ok's limit): x86_64 with 4-level
    /// paging, arm64 with VA_BITS = 48 (bookworm's kernels; the probe
    /// measures the running kernel's, 52 bits on trixie's).
    pub const fn default_task_size_max(self) -> u64 {
        match self {
            Arch::X86_64 => 0x7fff_ffff_f000,
            Arch::Aarch64 => 1 << 48,
        }
    }

    /// For serde: contexts written before the field existed were x86_64's,
    /// the only architecture then.
    pub(crate) fn recorded_before_arches() -> Arch {
        Arch::X86_64
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "x86_64" | "x86-64" | "amd64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            _ => Err(format!("unknown architecture {s:?} (x86_64 or aarch64)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_round_trip() {
        for a in ALL_ARCHES {
            assert_eq!(a.name().parse::<Arch>().unwrap(), *a);
            assert_eq!(
                serde_json::to_string(a).unwrap(),
                format!("\"{}\"", a.name())
            );
        }
        assert_eq!("arm64".parse::<Arch>().unwrap(), Arch::Aarch64);
        assert_eq!("AMD64".parse::<Arch>().unwrap(), Arch::X86_64);
        assert!("riscv64".parse::<Arch>().is_err());
    }

    #[test]
    fn clone_argument_order_follows_clone_backwards() {
        assert_eq!(Arch::X86_64.legacy_clone_order()[3..], ["child_tid", "tls"]);
        assert_eq!(
            Arch::Aarch64.legacy_clone_order()[3..],
            ["tls", "child_tid"]
        );
    }
}
