//! The x86_64 instructions: `syscall` with the number in rax and the
//! arguments in rdi, rsi, rdx, r10, r8, r9; the clone trampoline; the
//! signal restorer; the thread pointer (the FS base).

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
    // SAFETY: the `syscall` instruction clobbers only rax (result), rcx and
    // r11 (return address and rflags), which are declared; memory effects are
    // the caller's responsibility per this function's contract.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret,
             lateout("rcx") _, lateout("r11") _, options(nostack));
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
    // SAFETY: as in syscall0; the argument register is declared as input.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a1,
             lateout("rcx") _, lateout("r11") _, options(nostack));
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
    // SAFETY: as in syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a1, in("rsi") a2,
             lateout("rcx") _, lateout("r11") _, options(nostack));
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
    // SAFETY: as in syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, lateout("rcx") _, lateout("r11") _, options(nostack));
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
    // SAFETY: as in syscall0; the 4th argument travels in r10 on x86_64.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, in("r10") a4, lateout("rcx") _, lateout("r11") _,
             options(nostack));
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
    // SAFETY: as in syscall4.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, in("r10") a4, in("r8") a5, lateout("rcx") _, lateout("r11") _,
             options(nostack));
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
    // SAFETY: as in syscall4.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, in("r10") a4, in("r8") a5, in("r9") a6,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// The one clone trampoline of forklore-sys (the bench helper, compiled
/// alone, has its own in helper/bench_loop.rs). Issues `nr` (fork, vfork,
/// clone or clone3) with up to five arguments. In the parent it is a plain
/// syscall. In the child (`rax == 0`) it switches `rsp` to `stack_top`,
/// clears the frame pointer and calls `entry(arg)`, so the stack pointer
/// the kernel gave the child never matters.
///
/// # Safety
/// `stack_top` must be the 16-byte-aligned top of a stack that nobody else
/// uses while the child may run on it (for a child without CLONE_VM: the
/// child's private copy of such a stack). `entry` must run only raw
/// syscalls when the child shares memory or TLS with its creator, and `arg`
/// must stay valid for as long as the child uses it. Every pointer the
/// kernel writes through must point at memory Rust code accesses only
/// through atomics, or be invalid.
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
    // behaves like a plain syscall (rax, rcx, r11 clobbered; the kernel
    // preserves the argument registers and r12-r14). In the child it never
    // returns: it leaves the parent's frame for the prepared stack (16-byte
    // aligned before `call`, as the SysV ABI wants) and calls `entry`,
    // which ends with SYS_exit; `ud2` traps should it ever return. So no
    // compiler assumption about this frame is violated.
    unsafe {
        asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov rsp, r12",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r14",
            "ud2",
            "2:",
            inlateout("rax") nr as i64 => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r12") stack_top,
            in("r13") arg,
            in("r14") entry as usize,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    ret
}

/// `rt_sigreturn`'s number, loaded by the restorer below (a `global_asm!`
/// immediate cannot name a Rust constant on this crate's MSRV).
#[used]
static RT_SIGRETURN_NR: u64 = nr::RT_SIGRETURN;

core::arch::global_asm!(
    ".pushsection .text.forklore_sigreturn,\"ax\",@progbits",
    ".globl forklore_sigreturn_restorer",
    "forklore_sigreturn_restorer:",
    "mov rax, qword ptr [rip + {nr}]",
    "syscall",
    "ud2",
    ".popsection",
    nr = sym RT_SIGRETURN_NR,
);

extern "C" {
    fn forklore_sigreturn_restorer();
}

/// The `sa_restorer` of every handler this crate installs: the x86_64
/// kernel requires SA_RESTORER and returns from a handler into it with
/// `rsp` at the signal frame, which it must hand to `rt_sigreturn`
/// untouched (it is plain asm: no prologue).
pub fn sigreturn_restorer() -> u64 {
    forklore_sigreturn_restorer as unsafe extern "C" fn() as usize as u64
}

/// This thread's thread pointer: the FS base (`arch_prctl(ARCH_GET_FS)`).
pub fn thread_pointer() -> Result<u64, crate::errno::Errno> {
    let mut v = 0u64;
    // SAFETY: the kernel writes 8 bytes into the live local `v`.
    let r = unsafe {
        syscall2(
            nr::ARCH_PRCTL,
            crate::abi::ARCH_GET_FS,
            &mut v as *mut u64 as u64,
        )
    };
    super::result(r).map(|_| v)
}
