//! aarch64-only ABI: what differs from x86_64 in the vocabulary.
//!
//! arm64 uses the generic syscall table (include/uapi/asm-generic/unistd.h)
//! without `__ARCH_WANT_SYS_FORK`, `__ARCH_WANT_SYS_VFORK` or the legacy
//! `dup2`: there is no fork, vfork, dup2 or arch_prctl syscall, so
//! [`nr_arch`] is empty (libc's fork is `clone(SIGCHLD)`, vfork is
//! `clone(CLONE_VM|CLONE_VFORK|SIGCHLD)`, dup2 is `dup3(old, new, 0)`).

/// Syscalls only some architectures have: none of x86_64's exist here.
pub mod nr_arch {
    use linux_raw_sys::general as g;

    /// `dup3`: dup2's replacement in the generic table.
    pub const DUP3: u64 = g::__NR_dup3 as u64;
}

/// `AUDIT_ARCH_AARCH64`: `seccomp_data.arch` on this architecture.
pub const AUDIT_ARCH: u32 = linux_raw_sys::ptrace::AUDIT_ARCH_AARCH64;

/// `clone`'s argument order: arm64 selects CONFIG_CLONE_BACKWARDS
/// (arch/arm64/Kconfig), so kernel/fork.c's `SYSCALL_DEFINE5(clone, ...)`
/// takes `(flags, newsp, parent_tidptr, tls, child_tidptr)`.
pub const fn legacy_clone_args(flags: u64, newsp: u64, ptid: u64, ctid: u64, tls: u64) -> [u64; 5] {
    [flags, newsp, ptid, tls, ctid]
}
