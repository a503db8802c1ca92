//! forklore-bench-loop: the process in which `forklore bench` runs its
//! timed loops.
//!
//! Why a separate process: fork copies the caller's whole mm (every VMA,
//! every page-table entry of its anonymous memory), so what fork costs
//! depends on who calls it. A dynamically linked Rust program carries std,
//! libgcc_s and libm: about 35 mappings and a few hundred KiB of anonymous
//! memory, which made fork ~30 % dearer than in a plain C program. This
//! helper is `#![no_std]` and links only libc (for `clock_gettime` through
//! the vDSO and for `posix_spawn`), so it has the footprint of a minimal C
//! program: 22 mappings and ~120 KiB of anonymous memory here. Its
//! samples live in one 32 KiB batch buffer; statistics happen in forklore,
//! between batches, outside the timed region.
//!
//! Built by crates/sys/build.rs with `rustc -C panic=abort` and embedded in
//! forklore-sys (`forklore_sys::bench::BENCH_LOOP_ELF`). Single-threaded;
//! it never allocates. Nothing here can share code with forklore-sys (it
//! is compiled alone, against core only), so the clone trampoline below
//! has the same shape as the probe's in crates/sys/src/lifecycle.rs.
//! Every child is created by one inline-asm block ([`spawn_raw`]): when the
//! syscall returns 0 the child switches to its own stack (if it has one),
//! calls [`child_main`] and never returns into Rust frames. The child runs
//! raw syscalls only: `execve` (optional) then `SYS_exit`.
//!
//! Protocol: native-endian u64 words, commands on stdin, replies on stdout.
//! Every command is answered with `[status, detail]` (status 0 = ok,
//! 1 = a syscall failed: detail = call id << 32 | errno, 2 = a child exited
//! with wait status `detail`, 3 = unknown command `detail`), followed on
//! success by the command's payload:
//!
//! * `PREPARE op syscall flags exit_signal exec parent_return_only len`
//!   then `len` bytes of exec path: choose the operation to time.
//! * `RUN n` (n <= 4096): time n operations; payload: n durations in ns.
//! * `BALLAST bytes thp`: replace the RSS ballast (0 = none).
//! * `RUSAGE`: payload: own context switches, own page faults, children's
//!   context switches, children's page faults (getrusage totals).
//!
//! End of stdin or a closed stdout (EPIPE) ends the helper; so does its
//! parent's death (PDEATHSIG).
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

#[link(name = "c")]
extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    fn posix_spawn(
        pid: *mut i32,
        path: *const u8,
        file_actions: *const u8,
        attr: *const u8,
        argv: *const *const u8,
        envp: *const *const u8,
    ) -> i32;
}

// x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl).
const SYS_READ: u64 = 0;
const SYS_WRITE: u64 = 1;
const SYS_CLOSE: u64 = 3;
const SYS_MMAP: u64 = 9;
const SYS_MUNMAP: u64 = 11;
const SYS_MADVISE: u64 = 28;
const SYS_GETPID: u64 = 39;
const SYS_CLONE: u64 = 56;
const SYS_FORK: u64 = 57;
const SYS_EXECVE: u64 = 59;
const SYS_EXIT: u64 = 60;
const SYS_WAIT4: u64 = 61;
const SYS_GETRUSAGE: u64 = 98;
const SYS_PRCTL: u64 = 157;
const SYS_FUTEX: u64 = 202;
const SYS_EXIT_GROUP: u64 = 231;
const SYS_WAITID: u64 = 247;
const SYS_CLONE3: u64 = 435;

const CLONE_VM: u64 = 0x100;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_THREAD: u64 = 0x1_0000;
const WALL: u64 = 0x4000_0000;
const WEXITED: u64 = 4;
const P_PIDFD: u64 = 3;
const CLD_EXITED: i32 = 1;
const FUTEX_WAIT: u64 = 0; // not _PRIVATE: CLEARTID wakes the shared key (mm_release)
const EINTR: i64 = 4;
const EAGAIN: i64 = 11;
const PR_SET_PDEATHSIG: u64 = 1;
const SIGKILL: u64 = 9;
const MADV_HUGEPAGE: u64 = 14;
const MADV_NOHUGEPAGE: u64 = 15;

// Commands and the ids of failing calls: forklore-sys's bench.rs mirrors them.
const CMD_PREPARE: u64 = 1;
const CMD_RUN: u64 = 2;
const CMD_BALLAST: u64 = 3;
const CMD_RUSAGE: u64 = 4;
const OP_NOOP: u64 = 0;
const OP_GETPID: u64 = 1;
const OP_CREATE: u64 = 2;
const OP_POSIX_SPAWN: u64 = 3;
const SC_FORK: u64 = 0;
const SC_CLONE: u64 = 1;
const SC_CLONE3: u64 = 2;
const CALL_FORK: u64 = 0;
const CALL_CLONE: u64 = 1;
const CALL_CLONE3: u64 = 2;
const CALL_WAIT4: u64 = 3;
const CALL_WAITID: u64 = 4;
const CALL_FUTEX: u64 = 5;
const CALL_MMAP: u64 = 6;
const CALL_MADVISE: u64 = 7;
const CALL_POSIX_SPAWN: u64 = 8;
const CALL_GETRUSAGE: u64 = 9;
const CALL_READ: u64 = 10;

const BATCH: usize = 4096;
const PATH_MAX: usize = 4096;
/// The child only calls `child_main` (a few words) and makes syscalls.
const CHILD_STACK: u64 = 64 * 1024;

/// A failure: (status, detail) as sent on the wire.
type Fail = (u64, u64);

fn sys_fail(call: u64, ret: i64) -> Fail {
    (1, (call << 32) | (-ret) as u64)
}

#[inline(always)]
unsafe fn syscall6(n: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64, a6: u64) -> i64 {
    let ret: i64;
    // SAFETY: the caller passes a valid syscall; `syscall` clobbers rcx and
    // r11 only (and memory the kernel writes through pointer arguments).
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") n as i64 => ret,
            in("rdi") a1, in("rsi") a2, in("rdx") a3,
            in("r10") a4, in("r8") a5, in("r9") a6,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[inline(always)]
unsafe fn syscall3(n: u64, a1: u64, a2: u64, a3: u64) -> i64 {
    // SAFETY: forwarded to the caller.
    unsafe { syscall6(n, a1, a2, a3, 0, 0, 0) }
}

fn exit_group(code: u64) -> ! {
    loop {
        // SAFETY: exit_group ends the process; it does not return.
        unsafe { syscall3(SYS_EXIT_GROUP, code, 0, 0) };
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit_group(101)
}

/// core's prebuilt objects name this symbol even with panic=abort; nothing
/// unwinds here, so it is never called.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

/// Static builds only: crti's `_init` calls the weak `__gmon_start__` when
/// its GOT slot is non-zero, and rust-lld's static-pie output relocates the
/// slot of the undefined weak symbol to the image base, so `_init` would
/// jump there. Defining it as a no-op keeps the call harmless.
#[cfg(target_feature = "crt-static")]
#[no_mangle]
pub extern "C" fn __gmon_start__() {}

#[inline(always)]
fn now_ns() -> u64 {
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC (1)
    // always exists, so the call cannot fail.
    unsafe { clock_gettime(1, &mut ts) };
    ts.sec as u64 * 1_000_000_000 + ts.nsec as u64
}

fn read_exact(buf: *mut u8, len: usize) -> Result<(), Fail> {
    let mut done = 0;
    while done < len {
        // SAFETY: `buf[done..len]` is writable memory the caller owns.
        let r = unsafe { syscall3(SYS_READ, 0, buf as u64 + done as u64, (len - done) as u64) };
        if r == -EINTR {
            continue;
        }
        if r == 0 {
            exit_group(0); // forklore closed our stdin: we are done.
        }
        if r < 0 {
            return Err(sys_fail(CALL_READ, r));
        }
        done += r as usize;
    }
    Ok(())
}

fn read_words<const N: usize>() -> Result<[u64; N], Fail> {
    let mut w = [0u64; N];
    read_exact(w.as_mut_ptr() as *mut u8, N * 8)?;
    Ok(w)
}

fn write_all(buf: *const u8, len: usize) {
    let mut done = 0;
    while done < len {
        // SAFETY: `buf[done..len]` is readable memory the caller owns.
        let r = unsafe { syscall3(SYS_WRITE, 1, buf as u64 + done as u64, (len - done) as u64) };
        if r == -EINTR {
            continue;
        }
        if r <= 0 {
            exit_group(3); // forklore is gone: nobody to report to.
        }
        done += r as usize;
    }
}

fn write_words(w: &[u64]) {
    write_all(w.as_ptr() as *const u8, w.len() * 8);
}

/// What a child needs to execve: pointers into the helper's memory.
#[repr(C)]
struct ChildExec {
    path: *const u8,
    argv: *const *const u8,
    envp: *const *const u8,
}

/// clone3's `struct clone_args` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// A private anonymous mapping (addr 0 = none).
#[derive(Clone, Copy)]
struct Mapping {
    addr: u64,
    len: u64,
}

impl Mapping {
    const NONE: Mapping = Mapping { addr: 0, len: 0 };

    fn new(len: u64) -> Result<Mapping, Fail> {
        // SAFETY: a fresh private anonymous mapping at an address the kernel
        // picks overlaps nothing in use. PROT_READ|WRITE, PRIVATE|ANONYMOUS.
        let r = unsafe { syscall6(SYS_MMAP, 0, len, 3, 0x22, u64::MAX, 0) };
        if r < 0 {
            return Err(sys_fail(CALL_MMAP, r));
        }
        Ok(Mapping {
            addr: r as u64,
            len,
        })
    }

    fn unmap(&mut self) {
        if self.addr != 0 {
            // SAFETY: we own this mapping and no child uses it any more: each
            // child was reaped or joined before its operation's timing ended.
            unsafe { syscall3(SYS_MUNMAP, self.addr, self.len, 0) };
        }
        *self = Mapping::NONE;
    }
}

struct State {
    op: u64,
    syscall: u64,
    flags: u64,
    exit_signal: u64,
    exec: bool,
    parent_return_only: bool,
    path: [u8; PATH_MAX],
    argv: [*const u8; 2],
    envp: [*const u8; 1],
    child: ChildExec,
    stack: Mapping,
    ballast: Mapping,
    /// ptid/ctid word: PARENT_SETTID writes the tid, CLEARTID zeroes it and
    /// futex-wakes when a thread exits.
    tid_word: AtomicU32,
    /// Where CLONE_PIDFD stores the pidfd.
    pidfd: AtomicI32,
    clone_args: CloneArgs,
}

impl State {
    fn prepare(&mut self) -> Result<(), Fail> {
        let [op, syscall, flags, exit_signal, exec, pro, len] = read_words::<7>()?;
        if len as usize >= PATH_MAX {
            return Err((3, CMD_PREPARE));
        }
        read_exact(self.path.as_mut_ptr(), len as usize)?;
        self.path[len as usize] = 0;
        self.op = op;
        self.syscall = syscall;
        self.flags = flags;
        self.exit_signal = exit_signal;
        self.exec = exec != 0;
        self.parent_return_only = pro != 0;
        self.argv = [self.path.as_ptr(), core::ptr::null()];
        self.envp = [core::ptr::null()];
        self.child = ChildExec {
            path: self.path.as_ptr(),
            argv: self.argv.as_ptr(),
            envp: self.envp.as_ptr(),
        };
        // A child stack only while a CLONE_VM op is prepared: vfork children
        // touch its pages, and fork would copy them.
        let wants_stack = op == OP_CREATE && flags & CLONE_VM != 0;
        if wants_stack && self.stack.addr == 0 {
            self.stack = Mapping::new(CHILD_STACK)?;
        } else if !wants_stack {
            self.stack.unmap();
        }
        Ok(())
    }

    fn ballast(&mut self) -> Result<(), Fail> {
        let [bytes, thp] = read_words::<2>()?;
        self.ballast.unmap();
        if bytes == 0 {
            return Ok(());
        }
        let m = Mapping::new(bytes)?;
        self.ballast = m;
        let advice = if thp != 0 {
            MADV_HUGEPAGE
        } else {
            MADV_NOHUGEPAGE
        };
        // SAFETY: madvise on our own fresh mapping changes only its THP policy.
        let r = unsafe { syscall3(SYS_MADVISE, m.addr, m.len, advice) };
        if r < 0 {
            return Err(sys_fail(CALL_MADVISE, r));
        }
        let mut off = 0;
        while off < m.len {
            // SAFETY: `off < len`, inside our writable mapping; volatile so
            // the touch is not optimised away.
            unsafe { ((m.addr + off) as *mut u8).write_volatile(1) };
            off += 4096;
        }
        Ok(())
    }

    fn rusage(&self) -> Result<[u64; 4], Fail> {
        let mut out = [0u64; 4];
        for (i, who) in [0u64, u64::MAX].into_iter().enumerate() {
            // struct rusage: 2 timevals, then 14 longs; minflt is word 8,
            // majflt 9, nvcsw 16, nivcsw 17.
            let mut ru = [0i64; 18];
            // SAFETY: `ru` is a writable 144-byte struct rusage.
            let r = unsafe { syscall3(SYS_GETRUSAGE, who, ru.as_mut_ptr() as u64, 0) };
            if r < 0 {
                return Err(sys_fail(CALL_GETRUSAGE, r));
            }
            out[2 * i] = (ru[16] + ru[17]) as u64;
            out[2 * i + 1] = (ru[8] + ru[9]) as u64;
        }
        Ok(out)
    }

    fn run(&mut self, out: &mut [u64]) -> Result<(), Fail> {
        match self.op {
            OP_NOOP => {
                for slot in out.iter_mut() {
                    let t0 = now_ns();
                    *slot = now_ns() - t0;
                }
                Ok(())
            }
            OP_GETPID => {
                for slot in out.iter_mut() {
                    let t0 = now_ns();
                    // SAFETY: getpid has no side effects.
                    unsafe { syscall3(SYS_GETPID, 0, 0, 0) };
                    *slot = now_ns() - t0;
                }
                Ok(())
            }
            OP_POSIX_SPAWN => self.run_posix_spawn(out),
            OP_CREATE => self.run_create(out),
            _ => Err((3, CMD_PREPARE)),
        }
    }

    fn run_posix_spawn(&mut self, out: &mut [u64]) -> Result<(), Fail> {
        for slot in out.iter_mut() {
            let t0 = now_ns();
            let mut pid = 0i32;
            // SAFETY: path, argv and envp are NUL-terminated and live in
            // `self`; null file actions and attributes are allowed. This
            // process is single-threaded.
            let err = unsafe {
                posix_spawn(
                    &mut pid,
                    self.child.path,
                    core::ptr::null(),
                    core::ptr::null(),
                    self.child.argv,
                    self.child.envp,
                )
            };
            if err != 0 {
                return Err((1, (CALL_POSIX_SPAWN << 32) | err as u64));
            }
            reap(pid as i64)?;
            *slot = now_ns() - t0;
        }
        Ok(())
    }

    fn run_create(&mut self, out: &mut [u64]) -> Result<(), Fail> {
        let child_arg: *const ChildExec = if self.exec {
            &self.child
        } else {
            core::ptr::null()
        };
        let stack_top = if self.stack.addr != 0 {
            self.stack.addr + self.stack.len
        } else {
            0
        };
        let tid_ptr = &self.tid_word as *const AtomicU32 as u64;
        let pidfd_ptr = &self.pidfd as *const AtomicI32 as u64;
        let thread = self.flags & CLONE_THREAD != 0;
        let pidfd = self.flags & CLONE_PIDFD != 0;
        // clone: CLONE_PIDFD stores the fd through the parent_tid pointer.
        let ptid = if pidfd { pidfd_ptr } else { tid_ptr };
        let (nr, call, a1, a2, a3, a4) = match self.syscall {
            SC_FORK => (SYS_FORK, CALL_FORK, 0, 0, 0, 0),
            SC_CLONE => (
                SYS_CLONE,
                CALL_CLONE,
                self.flags | self.exit_signal,
                stack_top,
                ptid,
                tid_ptr,
            ),
            SC_CLONE3 => {
                self.clone_args = CloneArgs {
                    flags: self.flags,
                    pidfd: pidfd_ptr,
                    child_tid: tid_ptr,
                    parent_tid: tid_ptr,
                    exit_signal: if thread { 0 } else { self.exit_signal },
                    stack: self.stack.addr,
                    stack_size: self.stack.len,
                    ..CloneArgs::default()
                };
                let args = &self.clone_args as *const CloneArgs as u64;
                let size = core::mem::size_of::<CloneArgs>() as u64;
                (SYS_CLONE3, CALL_CLONE3, args, size, 0, 0)
            }
            _ => return Err((3, CMD_PREPARE)),
        };
        for slot in out.iter_mut() {
            self.tid_word.store(u32::MAX, Ordering::SeqCst);
            let t0 = now_ns();
            // SAFETY: see spawn_raw. The stack (if any) is ours and unused
            // (the previous child was reaped or joined); the tid and pidfd
            // words live in `self`, which outlives every child.
            let ret = unsafe { spawn_raw(nr, a1, a2, a3, a4, child_arg) };
            if ret < 0 {
                return Err(sys_fail(call, ret));
            }
            let mut t1 = now_ns();
            if thread {
                join_thread(&self.tid_word)?;
            } else if pidfd && self.syscall == SC_CLONE3 {
                let fd = self.pidfd.load(Ordering::SeqCst);
                let waited = reap_pidfd(fd);
                close(fd);
                waited?;
            } else {
                let waited = reap(ret);
                if pidfd {
                    close(self.pidfd.load(Ordering::SeqCst));
                }
                waited?;
            }
            if !self.parent_return_only {
                t1 = now_ns();
            }
            *slot = t1 - t0;
        }
        Ok(())
    }
}

/// `wait4(pid, &status, __WALL, NULL)`; the child must have exited with 0.
fn reap(pid: i64) -> Result<(), Fail> {
    let mut status: i32 = 0;
    loop {
        // SAFETY: `status` is a valid out pointer; rusage is NULL.
        let r = unsafe {
            syscall6(
                SYS_WAIT4,
                pid as u64,
                &mut status as *mut i32 as u64,
                WALL,
                0,
                0,
                0,
            )
        };
        if r == -EINTR {
            continue;
        }
        if r < 0 {
            return Err(sys_fail(CALL_WAIT4, r));
        }
        return if status == 0 {
            Ok(())
        } else {
            Err((2, status as u64))
        };
    }
}

/// `waitid(P_PIDFD, fd, &info, WEXITED | __WALL, NULL)`.
fn reap_pidfd(fd: i32) -> Result<(), Fail> {
    let mut info = [0i32; 32]; // siginfo_t: 128 bytes
    loop {
        // SAFETY: `info` is a writable 128-byte siginfo buffer; rusage NULL.
        let r = unsafe {
            syscall6(
                SYS_WAITID,
                P_PIDFD,
                fd as u64,
                info.as_mut_ptr() as u64,
                WEXITED | WALL,
                0,
                0,
            )
        };
        if r == -EINTR {
            continue;
        }
        if r < 0 {
            return Err(sys_fail(CALL_WAITID, r));
        }
        // si_code at byte 8, si_status at byte 24 (SIGCHLD layout); turned
        // back into a wait status.
        return match (info[2], info[6]) {
            (CLD_EXITED, 0) => Ok(()),
            (CLD_EXITED, code) => Err((2, (code << 8) as u64)),
            (_, sig) => Err((2, (sig & 0x7f) as u64)),
        };
    }
}

/// Wait until CLONE_CHILD_CLEARTID zeroes the tid word (mm_release clears it
/// and does a FUTEX_WAKE once the thread no longer uses its stack).
fn join_thread(word: &AtomicU32) -> Result<(), Fail> {
    loop {
        let v = word.load(Ordering::SeqCst);
        if v == 0 {
            return Ok(());
        }
        // SAFETY: FUTEX_WAIT only reads the aligned u32 at `word`, which
        // lives as long as this call; timeout NULL.
        let r = unsafe {
            syscall6(
                SYS_FUTEX,
                word as *const AtomicU32 as u64,
                FUTEX_WAIT,
                v as u64,
                0,
                0,
                0,
            )
        };
        if r < 0 && r != -EAGAIN && r != -EINTR {
            return Err(sys_fail(CALL_FUTEX, r));
        }
    }
}

fn close(fd: i32) {
    // SAFETY: `fd` is a pidfd this loop received and owns.
    unsafe { syscall3(SYS_CLOSE, fd as u64, 0, 0) };
}

/// Issue a process-creating syscall whose child side never leaves this asm
/// block: on a 0 return it clears the frame pointer, aligns its stack,
/// calls `child_main(child_arg)` (which ends in SYS_exit) and traps if that
/// ever returned.
///
/// # Safety
/// The arguments must form a valid call: any stack passed must be a mapping
/// no one else uses until the child is gone; with CLONE_VM the child shares
/// our memory and must only run `child_main`, which it does. `child_arg` is
/// null or points to a live `ChildExec`.
#[inline(always)]
unsafe fn spawn_raw(
    nr: u64,
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
    child_arg: *const ChildExec,
) -> i64 {
    let ret: i64;
    // SAFETY: in the parent this is one `syscall` (clobbers rax, rcx, r11;
    // arguments are preserved by the kernel). The child, on its new stack
    // or on its private copy of ours, never returns from the block, so the
    // registers and frames Rust sees are only ever the parent's.
    unsafe {
        asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "and rsp, -16",
            "mov rdi, r12",
            "call r13",
            "ud2",
            "2:",
            inlateout("rax") nr as i64 => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            in("r10") a4,
            in("r8") 0u64,
            in("r12") child_arg,
            in("r13") child_main as extern "C" fn(*const ChildExec) -> ! as usize,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    ret
}

/// The whole life of a benchmark child: optionally execve, then SYS_exit.
/// Raw syscalls only (no TLS, no allocation, no unwinding).
extern "C" fn child_main(exec: *const ChildExec) -> ! {
    let mut code = 0;
    if !exec.is_null() {
        // SAFETY: `exec` points to the helper's ChildExec, alive for the
        // whole loop and readable here (shared VM, or our private copy);
        // execve only reads the strings. It returns only on failure.
        unsafe {
            let e = &*exec;
            syscall3(SYS_EXECVE, e.path as u64, e.argv as u64, e.envp as u64);
        }
        code = 127;
    }
    loop {
        // SAFETY: SYS_exit ends this task only; it does not return.
        unsafe { syscall3(SYS_EXIT, code, 0, 0) };
    }
}

#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    // SAFETY: PR_SET_PDEATHSIG only sets this process's death signal: if
    // forklore dies, so does the helper (and with it nothing is orphaned).
    unsafe { syscall3(SYS_PRCTL, PR_SET_PDEATHSIG, SIGKILL, 0) };
    let mut st = State {
        op: OP_NOOP,
        syscall: SC_FORK,
        flags: 0,
        exit_signal: 17,
        exec: false,
        parent_return_only: false,
        path: [0; PATH_MAX],
        argv: [core::ptr::null(); 2],
        envp: [core::ptr::null()],
        child: ChildExec {
            path: core::ptr::null(),
            argv: core::ptr::null(),
            envp: core::ptr::null(),
        },
        stack: Mapping::NONE,
        ballast: Mapping::NONE,
        tid_word: AtomicU32::new(0),
        pidfd: AtomicI32::new(-1),
        clone_args: CloneArgs::default(),
    };
    let mut samples = [0u64; BATCH];
    loop {
        let [cmd] = match read_words::<1>() {
            Ok(w) => w,
            Err((s, d)) => {
                write_words(&[s, d]);
                exit_group(3);
            }
        };
        let res = match cmd {
            CMD_PREPARE => st.prepare().map(|()| 0),
            CMD_RUN => match read_words::<1>() {
                Ok([n]) if n as usize <= BATCH => st.run(&mut samples[..n as usize]).map(|()| n),
                Ok(_) => Err((3, CMD_RUN)),
                Err(f) => Err(f),
            },
            CMD_BALLAST => st.ballast().map(|()| 0),
            CMD_RUSAGE => st.rusage().map(|r| {
                samples[..4].copy_from_slice(&r);
                4
            }),
            other => Err((3, other)),
        };
        match res {
            Ok(n) => {
                write_words(&[0, 0]);
                write_words(&samples[..n as usize]);
            }
            Err((s, d)) => write_words(&[s, d]),
        }
    }
}
