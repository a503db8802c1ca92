//! Raw process-creation loops for forklore-bench.
//!
//! A [`Loop`] times one operation at a time with `clock_gettime(
//! CLOCK_MONOTONIC)` (vDSO, no syscall) and writes nanoseconds into a slice
//! the caller owns; statistics happen in forklore-bench, between batches,
//! outside the timed region.
//!
//! Every child is created by one inline-asm block ([`spawn_raw`]): when the
//! syscall returns 0 the child switches to its own stack (if it has one),
//! calls [`child_main`] and never leaves the block, so it never returns into
//! the parent's Rust frames. The child runs raw syscalls only: `execve`
//! (optional) then `SYS_exit`. No allocation, no libc, no TLS, no panics.

use crate::raw::{nr, syscall0, syscall1, syscall2, syscall3, syscall4, syscall5, syscall6};
use core::arch::asm;
use core::ffi::c_char;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::ffi::CString;
use std::fmt;

// Flag values as u64 (include/uapi/linux/sched.h): libc's are c_int.
pub const CLONE_VM: u64 = 0x0000_0100;
pub const CLONE_FS: u64 = 0x0000_0200;
pub const CLONE_FILES: u64 = 0x0000_0400;
pub const CLONE_SIGHAND: u64 = 0x0000_0800;
pub const CLONE_PIDFD: u64 = 0x0000_1000;
pub const CLONE_VFORK: u64 = 0x0000_4000;
pub const CLONE_PARENT: u64 = 0x0000_8000;
pub const CLONE_THREAD: u64 = 0x0001_0000;
pub const CLONE_SYSVSEM: u64 = 0x0004_0000;
pub const CLONE_SETTLS: u64 = 0x0008_0000;
pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
pub const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
pub const SIGCHLD: u64 = 17;

/// Flags of a pthread-style thread (glibc's `create_thread`, minus SETTLS:
/// the child never touches TLS).
pub const THREAD_FLAGS: u64 = CLONE_VM
    | CLONE_FS
    | CLONE_FILES
    | CLONE_SIGHAND
    | CLONE_THREAD
    | CLONE_SYSVSEM
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID;

const WALL: u64 = 0x4000_0000; // __WALL: reap children whatever their exit signal
const WEXITED: u64 = 4;
const P_PIDFD: u64 = 3;
const CLD_EXITED: i32 = 1;
const FUTEX_WAIT: u64 = 0; // not _PRIVATE: CLEARTID wakes the shared key (mm_release)
const PERF_EVENT_OPEN: u64 = 298;
const MADVISE: u64 = 28;
const MADV_HUGEPAGE: u64 = 14;
const MADV_NOHUGEPAGE: u64 = 15;

/// Size of a child stack: the child only calls `child_main` (a few words)
/// and makes syscalls.
const CHILD_STACK: usize = 64 * 1024;

/// What went wrong in a loop. Raw errno numbers; forklore-bench names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpError {
    /// A syscall (or libc call) in the parent failed.
    Syscall { call: &'static str, errno: i32 },
    /// A child did not exit with status 0 (raw wait status, or 127 << 8 when
    /// its execve failed).
    Child { status: i32 },
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpError::Syscall { call, errno } => {
                write!(
                    f,
                    "{call} failed: {}",
                    std::io::Error::from_raw_os_error(*errno)
                )
            }
            OpError::Child { status } if libc::WIFEXITED(*status) => {
                let code = libc::WEXITSTATUS(*status);
                if code == 127 {
                    write!(f, "child exited with status 127 (its execve failed)")
                } else {
                    write!(f, "child exited with status {code}")
                }
            }
            OpError::Child { status } => {
                write!(f, "child ended abnormally (wait status {status:#x})")
            }
        }
    }
}

impl std::error::Error for OpError {}

fn check(call: &'static str, ret: i64) -> Result<i64, OpError> {
    crate::raw::result(ret).map_err(|errno| OpError::Syscall { call, errno })
}

/// `clock_gettime(CLOCK_MONOTONIC)` in nanoseconds, through the vDSO.
#[inline(always)]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always
    // exists, so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The process-creation syscall a [`Create`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syscall {
    /// `syscall(SYS_fork)`.
    Fork,
    /// `syscall(SYS_clone, flags | exit_signal, stack, ptid, ctid, tls)`.
    Clone,
    /// `syscall(SYS_clone3, &clone_args, sizeof clone_args)`.
    Clone3,
}

/// One way of creating a child, timed from before the call until the child
/// is reaped (or, with `parent_return_only`, until the call returns in the
/// parent; the reap then happens outside the timed region).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Create {
    pub syscall: Syscall,
    /// Clone flags without the exit signal.
    pub flags: u64,
    /// Exit signal (ignored for CLONE_THREAD and for `Fork`).
    pub exit_signal: u64,
    /// The child executes the loop's exec target instead of exiting.
    pub exec: bool,
    pub parent_return_only: bool,
}

/// The operation a [`Loop`] times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Nothing: two clock reads back to back, i.e. the harness's own cost.
    Noop,
    /// `syscall(SYS_getpid)`: the syscall floor.
    Getpid,
    /// Create a child and reap it.
    Create(Create),
    /// glibc `posix_spawn` of the exec target, then `wait4`.
    PosixSpawn,
}

/// An exec target prepared in the parent so the child only passes
/// pointers to `execve`. The environment is empty.
pub struct ExecTarget {
    _path: CString,
    _argv0: CString,
    argv: Box<[*const c_char; 2]>,
    envp: Box<[*const c_char; 1]>,
    args: Box<ChildExec>,
}

#[repr(C)]
struct ChildExec {
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
}

impl ExecTarget {
    /// `path` must not contain NUL.
    pub fn new(path: &str) -> Result<Self, OpError> {
        let bad = OpError::Syscall {
            call: "execve path",
            errno: libc::EINVAL,
        };
        let path_c = CString::new(path).map_err(|_| bad.clone())?;
        let argv0 = CString::new(path).map_err(|_| bad)?;
        let argv = Box::new([argv0.as_ptr(), core::ptr::null()]);
        let envp = Box::new([core::ptr::null()]);
        let args = Box::new(ChildExec {
            path: path_c.as_ptr(),
            argv: argv.as_ptr(),
            envp: envp.as_ptr(),
        });
        Ok(ExecTarget {
            _path: path_c,
            _argv0: argv0,
            argv,
            envp,
            args,
        })
    }
}

/// A private anonymous mapping, unmapped on drop.
struct Mapping {
    addr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(len: usize) -> Result<Self, OpError> {
        // SAFETY: a fresh anonymous private mapping at an address the kernel
        // chooses overlaps nothing Rust owns.
        let ret = unsafe {
            syscall6(
                nr::MMAP,
                0,
                len as u64,
                (libc::PROT_READ | libc::PROT_WRITE) as u64,
                (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64,
                u64::MAX,
                0,
            )
        };
        let addr = check("mmap", ret)? as *mut u8;
        Ok(Mapping { addr, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: we own this mapping and no child uses it any more: every
        // child created on it was reaped (vfork/wait4) or joined (CLEARTID)
        // before the loop returned.
        unsafe { syscall2(nr::MUNMAP, self.addr as u64, self.len as u64) };
    }
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

/// A prepared timing loop for one [`Op`].
pub struct Loop {
    op: Op,
    stack: Option<Mapping>,
    exec: Option<ExecTarget>,
    /// ptid/ctid word: CLONE_PARENT_SETTID writes the tid, CLEARTID zeroes
    /// it and futex-wakes when a thread exits.
    tid_word: Box<AtomicU32>,
    /// Where CLONE_PIDFD stores the pidfd.
    pidfd: Box<AtomicI32>,
    clone_args: Box<CloneArgs>,
}

impl Loop {
    /// Prepare `op`. `exec` is required when the op executes a program.
    /// CLONE_THREAD children are joined through CLONE_CHILD_CLEARTID, which
    /// is added if missing; executing from a thread is refused (execve would
    /// kill the parent thread in de_thread).
    pub fn new(op: Op, exec: Option<&str>) -> Result<Self, OpError> {
        let einval = |call| OpError::Syscall {
            call,
            errno: libc::EINVAL,
        };
        let mut op = op;
        let needs_exec = match &mut op {
            Op::PosixSpawn => true,
            Op::Create(c) => {
                if c.flags & CLONE_THREAD != 0 {
                    if c.exec {
                        return Err(einval("exec from a CLONE_THREAD child"));
                    }
                    c.flags |= CLONE_CHILD_CLEARTID;
                }
                if c.flags & CLONE_PARENT != 0 {
                    return Err(einval("CLONE_PARENT (the child could not be reaped)"));
                }
                if c.syscall == Syscall::Fork && c.flags != 0 {
                    return Err(einval("fork with flags"));
                }
                c.exec
            }
            _ => false,
        };
        let exec = match (needs_exec, exec) {
            (true, Some(p)) => Some(ExecTarget::new(p)?),
            (true, None) => return Err(einval("exec target missing")),
            (false, _) => None,
        };
        let stack = match op {
            Op::Create(c) if c.flags & CLONE_VM != 0 => Some(Mapping::new(CHILD_STACK)?),
            _ => None,
        };
        Ok(Loop {
            op,
            stack,
            exec,
            tid_word: Box::new(AtomicU32::new(0)),
            pidfd: Box::new(AtomicI32::new(-1)),
            clone_args: Box::default(),
        })
    }

    /// The op as prepared (CLONE_CHILD_CLEARTID added for threads).
    pub fn op(&self) -> Op {
        self.op
    }

    /// Run `out.len()` operations, writing each one's duration in ns.
    /// Stops at the first failure; no child is left behind either way.
    pub fn run(&mut self, out: &mut [u64]) -> Result<(), OpError> {
        match self.op {
            Op::Noop => {
                for slot in out.iter_mut() {
                    let t0 = now_ns();
                    *slot = now_ns() - t0;
                }
                Ok(())
            }
            Op::Getpid => {
                for slot in out.iter_mut() {
                    let t0 = now_ns();
                    // SAFETY: getpid has no side effects.
                    unsafe { syscall0(nr::GETPID) };
                    *slot = now_ns() - t0;
                }
                Ok(())
            }
            Op::PosixSpawn => self.run_posix_spawn(out),
            Op::Create(c) => self.run_create(c, out),
        }
    }

    fn run_posix_spawn(&mut self, out: &mut [u64]) -> Result<(), OpError> {
        let exec = self.exec.as_ref().expect("checked in new");
        for slot in out.iter_mut() {
            let t0 = now_ns();
            let mut pid: libc::pid_t = 0;
            // SAFETY: path, argv and envp are NUL-terminated arrays of valid
            // C strings owned by `exec`; null file actions and attributes
            // are allowed. The parent is single-threaded Rust; posix_spawn
            // runs its own child on its own stack.
            let err = unsafe {
                libc::posix_spawn(
                    &mut pid,
                    exec.args.path,
                    core::ptr::null(),
                    core::ptr::null(),
                    exec.argv.as_ptr() as *const *mut c_char,
                    exec.envp.as_ptr() as *const *mut c_char,
                )
            };
            if err != 0 {
                return Err(OpError::Syscall {
                    call: "posix_spawn",
                    errno: err,
                });
            }
            reap(pid as i64)?;
            *slot = now_ns() - t0;
        }
        Ok(())
    }

    fn run_create(&mut self, c: Create, out: &mut [u64]) -> Result<(), OpError> {
        let child_arg: *const ChildExec = match &self.exec {
            Some(e) => &*e.args,
            None => core::ptr::null(),
        };
        let stack_top = self
            .stack
            .as_ref()
            .map_or(0, |m| m.addr as u64 + m.len as u64);
        let tid_ptr = &*self.tid_word as *const AtomicU32 as u64;
        let pidfd_ptr = &*self.pidfd as *const AtomicI32 as u64;
        let thread = c.flags & CLONE_THREAD != 0;
        let pidfd = c.flags & CLONE_PIDFD != 0;
        // clone: CLONE_PIDFD stores the fd through the parent_tid pointer.
        let ptid = if pidfd { pidfd_ptr } else { tid_ptr };
        let (nr, a1, a2, a3, a4, a5) = match c.syscall {
            Syscall::Fork => (nr::FORK, 0, 0, 0, 0, 0),
            Syscall::Clone => (
                nr::CLONE,
                c.flags | c.exit_signal,
                stack_top,
                ptid,
                tid_ptr,
                0,
            ),
            Syscall::Clone3 => {
                let stack = self.stack.as_ref();
                *self.clone_args = CloneArgs {
                    flags: c.flags,
                    pidfd: pidfd_ptr,
                    child_tid: tid_ptr,
                    parent_tid: tid_ptr,
                    exit_signal: if thread { 0 } else { c.exit_signal },
                    stack: stack.map_or(0, |m| m.addr as u64),
                    stack_size: stack.map_or(0, |m| m.len as u64),
                    ..CloneArgs::default()
                };
                let args = &*self.clone_args as *const CloneArgs as u64;
                (
                    nr::CLONE3,
                    args,
                    core::mem::size_of::<CloneArgs>() as u64,
                    0,
                    0,
                    0,
                )
            }
        };
        for slot in out.iter_mut() {
            self.tid_word.store(u32::MAX, Ordering::SeqCst);
            let t0 = now_ns();
            // SAFETY: see spawn_raw. The stack (if any) is ours and unused
            // (the previous child was reaped or joined); the tid and pidfd
            // words are heap cells that outlive the child.
            let ret = unsafe { spawn_raw(nr, a1, a2, a3, a4, a5, child_arg) };
            let pid = check(syscall_name(c.syscall), ret)?;
            let mut t1 = now_ns();
            if thread {
                join_thread(&self.tid_word)?;
            } else if pidfd && c.syscall == Syscall::Clone3 {
                let fd = self.pidfd.load(Ordering::SeqCst);
                let waited = reap_pidfd(fd);
                close(fd);
                waited?;
            } else {
                let waited = reap(pid);
                if pidfd {
                    close(self.pidfd.load(Ordering::SeqCst));
                }
                waited?;
            }
            if !c.parent_return_only {
                t1 = now_ns();
            }
            *slot = t1 - t0;
        }
        Ok(())
    }
}

fn syscall_name(s: Syscall) -> &'static str {
    match s {
        Syscall::Fork => "fork",
        Syscall::Clone => "clone",
        Syscall::Clone3 => "clone3",
    }
}

/// `wait4(pid, &status, __WALL, NULL)`; the child must have exited with 0.
fn reap(pid: i64) -> Result<(), OpError> {
    let mut status: i32 = 0;
    loop {
        // SAFETY: `status` is a valid out pointer; rusage is NULL.
        let ret = unsafe {
            syscall4(
                nr::WAIT4,
                pid as u64,
                &mut status as *mut i32 as u64,
                WALL,
                0,
            )
        };
        match crate::raw::result(ret) {
            Err(libc::EINTR) => continue,
            Err(errno) => {
                return Err(OpError::Syscall {
                    call: "wait4",
                    errno,
                })
            }
            Ok(_) if status == 0 => return Ok(()),
            Ok(_) => return Err(OpError::Child { status }),
        }
    }
}

/// `waitid(P_PIDFD, fd, &info, WEXITED | __WALL, NULL)`.
fn reap_pidfd(fd: i32) -> Result<(), OpError> {
    let mut info = [0i32; 32]; // siginfo_t: 128 bytes
    loop {
        // SAFETY: `info` is a writable 128-byte siginfo buffer; rusage NULL.
        let ret = unsafe {
            syscall5(
                nr::WAITID,
                P_PIDFD,
                fd as u64,
                info.as_mut_ptr() as u64,
                WEXITED | WALL,
                0,
            )
        };
        match crate::raw::result(ret) {
            Err(libc::EINTR) => continue,
            Err(errno) => {
                return Err(OpError::Syscall {
                    call: "waitid(P_PIDFD)",
                    errno,
                })
            }
            // si_code at byte 8, si_status at byte 24 (SIGCHLD layout).
            Ok(_) if info[2] == CLD_EXITED && info[6] == 0 => return Ok(()),
            Ok(_) if info[2] == CLD_EXITED => {
                return Err(OpError::Child {
                    status: info[6] << 8,
                })
            }
            Ok(_) => {
                return Err(OpError::Child {
                    status: info[6] & 0x7f,
                })
            }
        }
    }
}

/// Wait until CLONE_CHILD_CLEARTID zeroes the tid word (kernel mm_release
/// clears it and does a FUTEX_WAKE once the thread no longer uses its stack).
fn join_thread(word: &AtomicU32) -> Result<(), OpError> {
    loop {
        let v = word.load(Ordering::SeqCst);
        if v == 0 {
            return Ok(());
        }
        // SAFETY: FUTEX_WAIT only reads the aligned u32 at `word`, which
        // lives as long as this call; timeout NULL.
        let ret = unsafe {
            syscall4(
                nr::FUTEX,
                word as *const AtomicU32 as u64,
                FUTEX_WAIT,
                v as u64,
                0,
            )
        };
        match crate::raw::result(ret) {
            Ok(_) | Err(libc::EAGAIN) | Err(libc::EINTR) => {}
            Err(errno) => {
                return Err(OpError::Syscall {
                    call: "futex(FUTEX_WAIT)",
                    errno,
                })
            }
        }
    }
}

fn close(fd: i32) {
    // SAFETY: `fd` is a pidfd this loop received and owns.
    unsafe { syscall1(nr::CLOSE, fd as u64) };
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
    a5: u64,
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
            in("r8") a5,
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
        // SAFETY: `exec` points to the parent's ChildExec, alive for the
        // whole loop and readable here (shared VM, or our private copy);
        // execve only reads the strings. It returns only on failure.
        unsafe {
            let e = &*exec;
            syscall3(nr::EXECVE, e.path as u64, e.argv as u64, e.envp as u64);
        }
        code = 127;
    }
    loop {
        // SAFETY: SYS_exit ends this task only; it does not return.
        unsafe { syscall1(nr::EXIT, code) };
    }
}

/// Parent memory for the RSS sweep: `len` bytes of private anonymous memory,
/// every 4 KiB page written once, unmapped on drop.
pub struct Ballast {
    map: Mapping,
}

impl Ballast {
    /// `thp`: MADV_HUGEPAGE instead of MADV_NOHUGEPAGE (the default, so the
    /// page-table copy is per 4 KiB page whatever the system THP setting).
    pub fn new(len: usize, thp: bool) -> Result<Self, OpError> {
        let map = Mapping::new(len.max(1))?;
        let advice = if thp { MADV_HUGEPAGE } else { MADV_NOHUGEPAGE };
        // SAFETY: madvise on our own fresh mapping changes only its THP policy.
        let ret = unsafe { syscall3(MADVISE, map.addr as u64, map.len as u64, advice) };
        check("madvise", ret)?;
        for off in (0..map.len).step_by(4096) {
            // SAFETY: `off < len`, inside our writable mapping; volatile so
            // the touch is not optimised away.
            unsafe { map.addr.add(off).write_volatile(1) };
        }
        Ok(Ballast { map })
    }

    pub fn len(&self) -> usize {
        self.map.len
    }

    pub fn is_empty(&self) -> bool {
        self.map.len == 0
    }
}

/// Software and hardware events counted by [`PerfCounter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerfEvent {
    ContextSwitches,
    PageFaults,
    CpuMigrations,
    Cycles,
    Instructions,
}

impl PerfEvent {
    pub const ALL: [PerfEvent; 5] = [
        PerfEvent::ContextSwitches,
        PerfEvent::PageFaults,
        PerfEvent::CpuMigrations,
        PerfEvent::Cycles,
        PerfEvent::Instructions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PerfEvent::ContextSwitches => "context_switches",
            PerfEvent::PageFaults => "page_faults",
            PerfEvent::CpuMigrations => "cpu_migrations",
            PerfEvent::Cycles => "cycles",
            PerfEvent::Instructions => "instructions",
        }
    }

    /// (perf type, config): PERF_TYPE_HARDWARE = 0, PERF_TYPE_SOFTWARE = 1.
    fn type_config(self) -> (u32, u64) {
        match self {
            PerfEvent::Cycles => (0, 0),
            PerfEvent::Instructions => (0, 1),
            PerfEvent::PageFaults => (1, 2),
            PerfEvent::ContextSwitches => (1, 3),
            PerfEvent::CpuMigrations => (1, 4),
        }
    }
}

/// `struct perf_event_attr`, PERF_ATTR_SIZE_VER0 (64 bytes).
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

/// A counting perf event on this process and, through `inherit`, on every
/// child and thread it creates (their counts are folded in when they exit).
/// Inheritance makes fork itself slower, so use it in a separate pass.
pub struct PerfCounter {
    fd: i32,
    pub event: PerfEvent,
}

impl PerfCounter {
    /// `perf_event_open(&attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC)`; Err(errno)
    /// when the kernel or the hypervisor does not provide the event.
    pub fn open(event: PerfEvent) -> Result<Self, i32> {
        let (type_, config) = event.type_config();
        // inherit (bit 1) | exclude_hv (bit 6)
        let attr = PerfEventAttr {
            type_,
            size: 64,
            config,
            flags: (1 << 1) | (1 << 6),
            ..Default::default()
        };
        // SAFETY: `attr` is a valid VER0 perf_event_attr the kernel only reads.
        let ret = unsafe {
            syscall5(
                PERF_EVENT_OPEN,
                &attr as *const PerfEventAttr as u64,
                0,
                u64::MAX,
                u64::MAX,
                8,
            )
        };
        crate::raw::result(ret).map(|fd| PerfCounter {
            fd: fd as i32,
            event,
        })
    }

    /// The current count.
    pub fn read(&self) -> Result<u64, i32> {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into `v` from our own perf fd.
        let ret = unsafe { syscall3(nr::READ, self.fd as u64, &mut v as *mut u64 as u64, 8) };
        crate::raw::result(ret).map(|_| v)
    }
}

impl Drop for PerfCounter {
    fn drop(&mut self) {
        close(self.fd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Tests here do not create processes: libtest runs them on threads, and
    // forklore never forks from a multithreaded process. The process-creating
    // loops are exercised by forklore-bench's single-threaded smoke test.

    #[test]
    fn clock_is_monotonic() {
        let a = now_ns();
        let b = now_ns();
        assert!(b >= a && a > 0);
    }

    #[test]
    fn getpid_and_noop_loops_fill_every_slot() {
        for op in [Op::Noop, Op::Getpid] {
            let mut l = Loop::new(op, None).unwrap();
            let mut out = vec![u64::MAX; 64];
            l.run(&mut out).unwrap();
            assert!(out.iter().all(|&v| v < 1_000_000_000), "{op:?}: {out:?}");
        }
    }

    #[test]
    fn clone_parent_and_thread_exec_are_refused() {
        let c = Create {
            syscall: Syscall::Clone,
            flags: CLONE_PARENT,
            exit_signal: SIGCHLD,
            exec: false,
            parent_return_only: false,
        };
        assert!(Loop::new(Op::Create(c), None).is_err());
        let t = Create {
            flags: THREAD_FLAGS,
            exec: true,
            ..c
        };
        assert!(Loop::new(Op::Create(t), Some("/bin/true")).is_err());
        let f = Create {
            syscall: Syscall::Fork,
            flags: CLONE_VM,
            ..c
        };
        assert!(Loop::new(Op::Create(f), None).is_err());
    }

    #[test]
    fn ballast_maps_and_touches() {
        let b = Ballast::new(1 << 20, false).unwrap();
        assert_eq!(b.len(), 1 << 20);
    }

    #[test]
    fn perf_counter_opens_or_reports_errno() {
        match PerfCounter::open(PerfEvent::PageFaults) {
            Ok(c) => assert!(c.read().is_ok()),
            Err(e) => assert!(e > 0),
        }
    }
}
