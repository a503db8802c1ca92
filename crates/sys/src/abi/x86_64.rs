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
