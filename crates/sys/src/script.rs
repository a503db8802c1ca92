//! The child-side interpreter: a [`Script`] of raw syscalls that a task
//! created by [`clone_script`], [`clone3_script`] or
//! [`crate::thread::spawn_thread`] runs (threads, vfork children, clone
//! children with any exit_signal).
//!
//! Code that runs in such a task executes only raw syscalls: no
//! allocation, no locks, no TLS (a CLONE_VM task shares the creator's
//! thread pointer), no panics.

use crate::abi::{
    nr, CLONE_PIDFD, CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK, CLONE_VM, CSIGNAL, FUTEX_WAIT,
};
use crate::errno::Errno;
use crate::raw;
use crate::signal::{sigaction_words, Handler};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// One step of a [`Script`]. Each step's raw return value is stored in
/// `Script::results[i]` (visible to the creator only for CLONE_VM tasks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `write(fd, &byte, 1)`.
    Write { fd: i32, byte: u8 },
    /// `read(fd, buf, 1)`: blocks until a byte or EOF.
    Read { fd: i32 },
    /// Write `getppid()` as 4 little-endian bytes.
    WriteGetppid { fd: i32 },
    /// Write `getpid()`, `getpgid(0)` and `getsid(0)` as 3 x 4
    /// little-endian bytes (one write).
    WriteIds { fd: i32 },
    /// `words[word] = value` (shared memory when CLONE_VM).
    Store { word: usize, value: u64 },
    /// Sleep on a futex until the u32 at `addr` no longer holds `tid` (a
    /// CLONE_CHILD_CLEARTID word of another thread, cleared when it exits).
    /// The kernel validates `addr`. Returns -EAGAIN when done.
    WaitTid { addr: usize, tid: i32 },
    /// `dup2(old, new)`.
    Dup2 { old: i32, new: i32 },
    /// `prctl(option, arg)`.
    Prctl { option: i32, arg: u64 },
    /// `execve(path, argv, envp)` with caller-prepared addresses, which the
    /// kernel validates (bad ones give EFAULT). Returns only on failure.
    Execve {
        path: usize,
        argv: usize,
        envp: usize,
    },
    /// `clone(exit_signal)` on a copy of this task's memory; the child
    /// continues at step `child_pc`, the parent with the next step.
    Fork { exit_signal: u64, child_pc: usize },
    /// Continue at step `pc`.
    Jump { pc: usize },
    /// `close(fd)`.
    Close { fd: i32 },
    /// `chdir(path)`: `path` is the address of a NUL-terminated string valid
    /// in this task's memory (a copy of the creator's without CLONE_VM); the
    /// kernel validates it.
    Chdir { path: usize },
    /// Install a disposition for `sig` ([`crate::signal::set_handler`]'s
    /// encoding).
    SetHandler { sig: i32, handler: Handler },
    /// Write the current sa_handler of `sig` as 8 little-endian bytes
    /// (0 = SIG_DFL, 1 = SIG_IGN, else the handler's address).
    ReportHandler { fd: i32, sig: i32 },
    /// Write `arch_prctl(ARCH_GET_FS)` (the FS base) as 8 little-endian bytes.
    ReportFsBase { fd: i32 },
    /// `exit(code)`: this thread only.
    Exit { code: i32 },
    /// `exit_group(code)`.
    ExitGroup { code: i32 },
}

pub const MAX_STEPS: usize = 24;

/// A program of raw syscalls run by a task created with
/// [`crate::thread::spawn_thread`] or [`clone_script`]. Falling off the end
/// is `exit_group(0)`.
pub struct Script {
    steps: [Step; MAX_STEPS],
    len: usize,
    pub results: [AtomicI64; MAX_STEPS],
    pub words: [AtomicU64; 4],
}

impl Script {
    pub fn new(steps: &[Step]) -> Box<Script> {
        assert!(steps.len() <= MAX_STEPS, "script too long");
        let mut s = [Step::ExitGroup { code: 0 }; MAX_STEPS];
        s[..steps.len()].copy_from_slice(steps);
        Box::new(Script {
            steps: s,
            len: steps.len(),
            results: std::array::from_fn(|_| AtomicI64::new(i64::MIN)),
            words: std::array::from_fn(|_| AtomicU64::new(0)),
        })
    }

    /// The raw return of step `i` (`i64::MIN` if it has not run).
    pub fn result(&self, i: usize) -> i64 {
        self.results[i].load(Ordering::SeqCst)
    }

    pub fn word(&self, i: usize) -> u64 {
        self.words[i].load(Ordering::SeqCst)
    }
}

/// Runs in the new task. Only raw syscalls.
fn run_script(s: &Script, mut pc: usize) -> ! {
    loop {
        if pc >= s.len {
            // SAFETY: exit_group never returns and touches no user memory.
            unsafe { raw::syscall1(nr::EXIT_GROUP, 0) };
            continue;
        }
        let mut next = pc + 1;
        let step = s.steps[pc];
        // SAFETY (for every arm): each syscall gets either pointers into
        // memory this task owns for the duration of the call (a local byte,
        // the script's own words), or addresses the kernel validates with
        // copy_{from,to}_user / get_user and reports as EFAULT (futex word,
        // execve arrays, chdir path). None of them unmaps, remaps or frees
        // memory. SetHandler installs only SIG_DFL, SIG_IGN or this crate's
        // no-op handler with its rt_sigreturn restorer (sigaction_words).
        let r: i64 = unsafe {
            match step {
                Step::Write { fd, byte } => {
                    let b = byte;
                    raw::syscall3(nr::WRITE, fd as u64, &b as *const u8 as u64, 1)
                }
                Step::Read { fd } => {
                    let mut b = 0u8;
                    raw::syscall3(nr::READ, fd as u64, &mut b as *mut u8 as u64, 1)
                }
                Step::WriteGetppid { fd } => {
                    let p = (raw::syscall0(nr::GETPPID) as u32).to_le_bytes();
                    raw::syscall3(nr::WRITE, fd as u64, p.as_ptr() as u64, 4)
                }
                Step::WriteIds { fd } => {
                    // No slicing (no panic path): the bytes one by one.
                    let p = (raw::syscall0(nr::GETPID) as u32).to_le_bytes();
                    let g = (raw::syscall1(nr::GETPGID, 0) as u32).to_le_bytes();
                    let s = (raw::syscall1(nr::GETSID, 0) as u32).to_le_bytes();
                    let b = [
                        p[0], p[1], p[2], p[3], g[0], g[1], g[2], g[3], s[0], s[1], s[2], s[3],
                    ];
                    raw::syscall3(nr::WRITE, fd as u64, b.as_ptr() as u64, 12)
                }
                Step::Store { word, value } => {
                    s.words[word % 4].store(value, Ordering::SeqCst);
                    0
                }
                Step::WaitTid { addr, tid } => {
                    // Only the kernel reads the word: -EAGAIN means it no
                    // longer holds `tid` (the kernel cleared it).
                    loop {
                        let r =
                            raw::syscall4(nr::FUTEX, addr as u64, FUTEX_WAIT, tid as u32 as u64, 0);
                        if r != 0 && r != -(Errno::EINTR.raw() as i64) {
                            break r;
                        }
                    }
                }
                Step::Dup2 { old, new } => crate::fd::raw_dup2(old, new),
                Step::Prctl { option, arg } => {
                    raw::syscall5(nr::PRCTL, option as u64, arg, 0, 0, 0)
                }
                Step::Execve { path, argv, envp } => {
                    raw::syscall3(nr::EXECVE, path as u64, argv as u64, envp as u64)
                }
                Step::Fork {
                    exit_signal,
                    child_pc,
                } => {
                    let r = raw::syscall5(nr::CLONE, exit_signal, 0, 0, 0, 0);
                    if r == 0 {
                        next = child_pc;
                    }
                    r
                }
                Step::Jump { pc } => {
                    next = pc;
                    0
                }
                Step::Close { fd } => raw::syscall1(nr::CLOSE, fd as u64),
                Step::Chdir { path } => raw::syscall1(nr::CHDIR, path as u64),
                Step::SetHandler { sig, handler } => {
                    let act = sigaction_words(handler);
                    raw::syscall4(nr::RT_SIGACTION, sig as u64, act.as_ptr() as u64, 0, 8)
                }
                Step::ReportHandler { fd, sig } => {
                    let mut old = [0u64; 4];
                    let r =
                        raw::syscall4(nr::RT_SIGACTION, sig as u64, 0, old.as_mut_ptr() as u64, 8);
                    if r < 0 {
                        r
                    } else {
                        let b = old[0].to_le_bytes();
                        raw::syscall3(nr::WRITE, fd as u64, b.as_ptr() as u64, 8)
                    }
                }
                Step::ReportFsBase { fd } => {
                    // x86_64: arch_prctl(ARCH_GET_FS); aarch64: TPIDR_EL0.
                    match raw::thread_pointer() {
                        Err(e) => -(e.raw() as i64),
                        Ok(v) => {
                            let b = v.to_le_bytes();
                            raw::syscall3(nr::WRITE, fd as u64, b.as_ptr() as u64, 8)
                        }
                    }
                }
                Step::Exit { code } => raw::syscall1(nr::EXIT, code as u64),
                Step::ExitGroup { code } => raw::syscall1(nr::EXIT_GROUP, code as u64),
            }
        };
        s.results[pc].store(r, Ordering::SeqCst);
        pc = next;
    }
}

/// The [`raw::ChildEntry`] of a script task.
///
/// # Safety
/// `arg` is the address of a `Script` that stays alive and unmoved for as
/// long as the task can use that memory.
unsafe extern "C" fn script_entry(arg: usize) -> ! {
    // SAFETY: this function's contract; `clone_with_stack`'s callers keep
    // the script alive (see each caller's SAFETY comment).
    let s = unsafe { &*(arg as *const Script) };
    run_script(s, 0)
}

/// The 16-byte aligned top of `stack`.
fn stack_top(stack: &mut [u8]) -> u64 {
    ((stack.as_mut_ptr() as usize + stack.len()) & !15) as u64
}

/// `clone(flags, stack_top, ptid, ctid, tls)`; the child runs `script` on
/// the new stack.
///
/// # Safety
/// `stack` must stay allocated while the child runs on it (for CLONE_VM
/// children); `script` must outlive the child's use of it; `ptid` and
/// `ctid` must be null or point at words only the kernel and atomics touch.
pub(crate) unsafe fn clone_with_stack(
    flags: u64,
    stack: &mut [u8],
    ptid: *mut u32,
    ctid: *mut u32,
    script: &Script,
    tls: u64,
) -> i64 {
    let top = stack_top(stack);
    let arg = script as *const Script as usize;
    // SAFETY: `top` is the aligned top of `stack`, which the caller keeps
    // alive for the child; script_entry runs only raw syscalls; the caller
    // keeps `script` alive (this function's contract).
    unsafe {
        raw::clone_trampoline(
            nr::CLONE,
            crate::abi::legacy_clone_args(flags, top, ptid as u64, ctid as u64, tls),
            top,
            script_entry,
            arg,
        )
    }
}

pub(crate) const STACK_SIZE: usize = 256 * 1024;

/// Create a process (no CLONE_THREAD) that runs `script`:
/// `clone(flags | exit_signal)` on a fresh stack. `flags` may contain
/// CLONE_VFORK, and CLONE_VM only together with CLONE_VFORK (the caller
/// then sleeps until the child execs or exits, so the shared stack and
/// script stay valid while it runs). Returns the child's pid.
pub fn clone_script(flags: u64, exit_signal: u64, script: &Script) -> Result<i32, Errno> {
    clone_script_tls(flags, exit_signal, script, 0)
}

/// The flag checks [`clone_script`] and [`clone3_script`] share: no
/// CLONE_THREAD; CLONE_VM only with CLONE_VFORK; CLONE_SIGHAND only with
/// both (the kernel requires CLONE_VM, and the handler table the child may
/// change then points at code in memory it shares with us).
fn script_flags_ok(flags: u64, exit_signal: u64) -> bool {
    let vm_vfork = CLONE_VM | CLONE_VFORK;
    flags & CLONE_THREAD == 0
        && exit_signal <= CSIGNAL
        && flags & CSIGNAL == 0
        && (flags & CLONE_VM == 0 || flags & CLONE_VFORK != 0)
        && (flags & CLONE_SIGHAND == 0 || flags & vm_vfork == vm_vfork)
}

/// [`clone_script`] with a `tls` argument (used with CLONE_SETTLS: the
/// child's FS base; the script never touches thread-local storage).
pub fn clone_script_tls(
    flags: u64,
    exit_signal: u64,
    script: &Script,
    tls: u64,
) -> Result<i32, Errno> {
    if !script_flags_ok(flags, exit_signal) {
        return Err(Errno::EINVAL);
    }
    let mut stack = vec![0u8; STACK_SIZE];
    // SAFETY: without CLONE_VM the child has its own copy of the stack and
    // script. With CLONE_VM|CLONE_VFORK this thread is suspended until the
    // child released the shared mm (exec or exit), so `stack` and `script`
    // outlive every use by the child. A CLONE_SETTLS child only runs the
    // script, which uses no TLS.
    let r = unsafe {
        clone_with_stack(
            flags | exit_signal,
            &mut stack,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            script,
            tls,
        )
    };
    raw::result(r).map(|p| p as i32)
}

/// `clone3({flags, exit_signal, stack, stack_size}, 64)`: a process that
/// runs `script` on a fresh stack, for flags only clone3 takes
/// (CLONE_CLEAR_SIGHAND). The same restrictions as [`clone_script`].
pub fn clone3_script(flags: u64, exit_signal: u64, script: &Script) -> Result<i32, Errno> {
    if !script_flags_ok(flags, exit_signal) || flags & CLONE_PIDFD != 0 {
        return Err(Errno::EINVAL);
    }
    let mut stack = vec![0u8; STACK_SIZE];
    let base = stack.as_mut_ptr() as u64;
    let top = stack_top(&mut stack);
    // struct clone_args, CLONE_ARGS_SIZE_VER0: flags, pidfd, child_tid,
    // parent_tid, exit_signal, stack, stack_size, tls. The kernel starts the
    // child with rsp = stack + stack_size = top.
    let args: [u64; 8] = [flags, 0, 0, 0, exit_signal, base, top - base, 0];
    // SAFETY: the child starts on `top` in its own copy of memory (or, with
    // CLONE_VM|CLONE_VFORK, in ours while we are suspended, so `stack` and
    // `script` outlive it) and runs only the script; `args` is a live local
    // the kernel only reads.
    let ret = unsafe {
        raw::clone_trampoline(
            nr::CLONE3,
            [
                args.as_ptr() as u64,
                crate::abi::CLONE_ARGS_SIZE_VER0,
                0,
                0,
                0,
            ],
            top,
            script_entry,
            script as *const Script as usize,
        )
    };
    raw::result(ret).map(|p| p as i32)
}
