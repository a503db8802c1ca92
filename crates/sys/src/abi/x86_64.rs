//! x86_64-only ABI: syscalls other architectures do not have, arch_prctl
//! codes, and the seccomp audit architecture.

/// Syscalls only some architectures have (aarch64 has no fork, vfork,
/// dup2 or arch_prctl). Re-exported through [`super::nr`].
pub mod nr_arch {
    use linux_raw_sys::general as g;

    pub const FORK: u64 = g::__NR_fork as u64;
    pub const VFORK: u64 = g::__NR_vfork as u64;
    pub const DUP2: u64 = g::__NR_dup2 as u64;
    pub const ARCH_PRCTL: u64 = g::__NR_arch_prctl as u64;
}

/// `arch_prctl` code for reading the FS base
/// (arch/x86/include/uapi/asm/prctl.h; not in linux-raw-sys).
pub const ARCH_GET_FS: u64 = 0x1003;

/// `AUDIT_ARCH_X86_64`: `seccomp_data.arch` on this architecture.
pub const AUDIT_ARCH: u32 = linux_raw_sys::ptrace::AUDIT_ARCH_X86_64;

/// `clone`'s argument order: x86_64 selects no CONFIG_CLONE_BACKWARDS*
/// (only `CLONE_BACKWARDS if X86_32`, arch/x86/Kconfig), so kernel/fork.c's
/// `SYSCALL_DEFINE5(clone, ...)` takes `(flags, newsp, parent_tidptr,
/// child_tidptr, tls)`.
pub const fn legacy_clone_args(flags: u64, newsp: u64, ptid: u64, ctid: u64, tls: u64) -> [u64; 5] {
    [flags, newsp, ptid, ctid, tls]
}
