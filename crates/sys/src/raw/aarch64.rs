//! The aarch64 instructions: `svc #0` with the number in x8 and the
//! arguments in x0..x5 (the result comes back in x0; the kernel preserves
//! every other general register, arch/arm64/kernel/entry-common.c); the
//! clone trampoline; the signal restorer; the thread pointer (TPIDR_EL0).

use super::ChildEntry;
use crate::abi::nr;
use core::arch::asm;

/// `syscall(nr)`.
///
/// # Safety
/// The caller guarantees that `nr` with these arguments has no effect that
/// breaks Rust's invariants (e.g. unmapping memory still in use).
#[inline(always)]
pub unsafe fn syscall0(nr: u64) -> i64 {
    let ret: i64;
    // SAFETY: `svc #0` changes only x0 (the result), which is declared;
    // memory effects are the caller's responsibility per this contract.
    unsafe {
        asm!("svc #0", in("x8") nr, lateout("x0") ret, options(nostack));
    }
    ret
}

/// `syscall(nr, a1)`.
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall1(nr: u64, a1: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in syscall0; x0 carries the argument in and the result out.
    unsafe {
        asm!("svc #0", in("x8") nr, inlateout("x0") a1 as i64 => ret, options(nostack));
    }
    ret
}

/// `syscall(nr, a1, a2)`.
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall2(nr: u64, a1: u64, a2: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in syscall1.
    unsafe {
        asm!("svc #0", in("x8") nr, inlateout("x0") a1 as i64 => ret, in("x1") a2,
             options(nostack));
    }
    ret
}

/// `syscall(nr, a1, a2, a3)`.
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall3(nr: u64, a1: u64, a2: u64, a3: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in syscall1.
    unsafe {
        asm!("svc #0", in("x8") nr, inlateout("x0") a1 as i64 => ret, in("x1") a2,
             in("x2") a3, options(nostack));
    }
    ret
}

/// `syscall(nr, a1, a2, a3, a4)`.
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall4(nr: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in syscall1.
    unsafe {
        asm!("svc #0", in("x8") nr, inlateout("x0") a1 as i64 => ret, in("x1") a2,
             in("x2") a3, in("x3") a4, options(nostack));
    }
    ret
}

/// `syscall(nr, a1, a2, a3, a4, a5)`.
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall5(nr: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in syscall1.
    unsafe {
        asm!("svc #0", in("x8") nr, inlateout("x0") a1 as i64 => ret, in("x1") a2,
             in("x2") a3, in("x3") a4, in("x4") a5, options(nostack));
    }
    ret
}

/// `syscall(nr, a1, ..., a6)`.
///
/// # Safety
/// As [`syscall0`].
#[inline(always)]
pub unsafe fn syscall6(nr: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64, a6: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in syscall1.
    unsafe {
        asm!("svc #0", in("x8") nr, inlateout("x0") a1 as i64 => ret, in("x1") a2,
             in("x2") a3, in("x3") a4, in("x4") a5, in("x5") a6, options(nostack));
    }
    ret
}

/// The one clone trampoline of forklore-sys (the bench helper, compiled
/// alone, has its own in helper/bench_loop.rs). Issues `nr` (clone or
/// clone3; arm64 has no fork or vfork) with up to five arguments, in the
/// kernel's order (for clone see `abi::legacy_clone_args`: arm64 is
/// CONFIG_CLONE_BACKWARDS). In the parent it is a plain syscall. In the
/// child (`x0 == 0`) it switches `sp` to `stack_top` rounded down to 16
/// bytes (AAPCS64: sp is always 16-byte aligned, the hardware checks it),
/// clears the frame pointer and the link register and calls `entry(arg)`,
/// so the stack pointer the kernel gave the child never matters.
///
/// # Safety
/// `stack_top` must be the top of a stack that nobody else uses while the
/// child may run on it (for a child without CLONE_VM: the child's private
/// copy of such a stack). `entry` must run only raw syscalls when the child
/// shares memory or TLS with its creator, and `arg` must stay valid for as
/// long as the child uses it. Every pointer the kernel writes through must
/// point at memory Rust code accesses only through atomics, or be invalid.
#[inline(never)]
pub unsafe fn clone_trampoline(
    nr: u64,
    a: [u64; 5],
    stack_top: u64,
    entry: ChildEntry,
    arg: usize,
) -> i64 {
    let ret: i64;
    // SAFETY: the caller upholds the contract above. In the parent the asm
    // behaves like a plain syscall (only x0 changes; the kernel preserves
    // x1-x30 and sp). In the child it never returns: it leaves the parent's
    // frame for the prepared stack, aligned to 16, and calls `entry`, which
    // ends with SYS_exit; `brk` traps should it ever return. So no compiler
    // assumption about this frame is violated.
    unsafe {
        asm!(
            "svc #0",
            "cbnz x0, 2f",
            "and x9, x9, #0xfffffffffffffff0",
            "mov sp, x9",
            "mov x29, xzr",
            "mov x30, xzr",
            "mov x0, x10",
            "blr x11",
            "brk #0x1",
            "2:",
            in("x8") nr,
            inlateout("x0") a[0] as i64 => ret,
            in("x1") a[1],
            in("x2") a[2],
            in("x3") a[3],
            in("x4") a[4],
            inout("x9") stack_top => _,
            in("x10") arg,
            in("x11") entry as usize,
        );
    }
    ret
}

/// `rt_sigreturn`'s number, loaded by the restorer below (a `global_asm!`
/// immediate cannot name a Rust constant on this crate's MSRV).
#[used]
static RT_SIGRETURN_NR: u64 = nr::RT_SIGRETURN;

// The kernel enters the restorer through x30 (setup_return in
// arch/arm64/kernel/signal.c: SA_RESTORER's sa_restorer, else the vDSO's
// __kernel_rt_sigreturn) with sp at the signal frame, which rt_sigreturn
// reads: plain asm, no prologue, sp untouched. x8 is free: the frame holds
// the interrupted registers.
core::arch::global_asm!(
    ".pushsection .text.forklore_sigreturn,\"ax\",%progbits",
    ".globl forklore_sigreturn_restorer",
    ".p2align 2",
    "forklore_sigreturn_restorer:",
    "adrp x8, {nr}",
    "ldr x8, [x8, :lo12:{nr}]",
    "svc #0",
    "brk #0x1",
    ".popsection",
    nr = sym RT_SIGRETURN_NR,
);

extern "C" {
    fn forklore_sigreturn_restorer();
}

/// The `sa_restorer` of every handler this crate installs. arm64 would
/// otherwise return through the vDSO's `__kernel_rt_sigreturn`; like on
/// x86_64, every handler gets SA_RESTORER and this plain-asm restorer, so
/// both architectures install the same `kernel_sigaction` words.
pub fn sigreturn_restorer() -> u64 {
    forklore_sigreturn_restorer as unsafe extern "C" fn() as usize as u64
}

/// This thread's thread pointer: TPIDR_EL0, what CLONE_SETTLS sets on
/// arm64 (`p->thread.uw.tp_value = tls` in copy_thread).
pub fn thread_pointer() -> Result<u64, crate::errno::Errno> {
    let v: u64;
    // SAFETY: reading TPIDR_EL0 is an unprivileged register read with no
    // side effects.
    unsafe {
        asm!("mrs {}, tpidr_el0", out(reg) v, options(nomem, nostack, preserves_flags));
    }
    Ok(v)
}
