//! Raw syscalls for the lifecycle scenarios: a clone trampoline that runs a
//! prepared [`Script`] of raw syscalls in the new task (threads, vfork
//! children, clone children with any exit_signal), fork from a
//! single-threaded process, execve with arbitrary (even bad) pointers,
//! wait4/waitid, signal dispositions and sigaltstack.
//!
//! Code that runs in a task created here executes only raw syscalls: no
//! allocation, no locks, no TLS (a CLONE_VM task shares the creator's
//! thread pointer), no panics.

use crate::raw::{self, nr};
use std::ffi::CStr;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

pub const CLONE_VM: u64 = 0x100;
pub const CLONE_FS: u64 = 0x200;
pub const CLONE_FILES: u64 = 0x400;
pub const CLONE_SIGHAND: u64 = 0x800;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_THREAD: u64 = 0x10000;
pub const CLONE_SYSVSEM: u64 = 0x40000;
pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;

const NR_RT_SIGACTION: u64 = 13;
const NR_RT_SIGPROCMASK: u64 = 14;
const NR_DUP2: u64 = 33;
const NR_PRCTL: u64 = 157;
const NR_SIGALTSTACK: u64 = 131;
const NR_TGKILL: u64 = 234;
const NR_PIDFD_OPEN: u64 = 434;
const NR_CHDIR: u64 = 80;
const NR_ARCH_PRCTL: u64 = 158;
const ARCH_GET_FS: u64 = 0x1003;
const FUTEX_WAIT: u64 = 0;

/// A raw errno value (positive).
pub type Errno = i32;

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
    /// Install a disposition for `sig` ([`set_handler`]'s encoding).
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

/// A program of raw syscalls run by a task created with [`spawn_thread`] or
/// [`clone_script`]. Falling off the end is `exit_group(0)`.
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
                        if r != 0 && r != -4 {
                            break r;
                        }
                    }
                }
                Step::Dup2 { old, new } => raw::syscall2(NR_DUP2, old as u64, new as u64),
                Step::Prctl { option, arg } => raw::syscall5(NR_PRCTL, option as u64, arg, 0, 0, 0),
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
                Step::Chdir { path } => raw::syscall1(NR_CHDIR, path as u64),
                Step::SetHandler { sig, handler } => {
                    let act = sigaction_words(handler);
                    raw::syscall4(NR_RT_SIGACTION, sig as u64, act.as_ptr() as u64, 0, 8)
                }
                Step::ReportHandler { fd, sig } => {
                    let mut old = [0u64; 4];
                    let r =
                        raw::syscall4(NR_RT_SIGACTION, sig as u64, 0, old.as_mut_ptr() as u64, 8);
                    if r < 0 {
                        r
                    } else {
                        let b = old[0].to_le_bytes();
                        raw::syscall3(nr::WRITE, fd as u64, b.as_ptr() as u64, 8)
                    }
                }
                Step::ReportFsBase { fd } => {
                    let mut v = 0u64;
                    let r = raw::syscall2(NR_ARCH_PRCTL, ARCH_GET_FS, &mut v as *mut u64 as u64);
                    if r < 0 {
                        r
                    } else {
                        let b = v.to_le_bytes();
                        raw::syscall3(nr::WRITE, fd as u64, b.as_ptr() as u64, 8)
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

extern "C" fn script_entry(arg: usize) -> ! {
    // SAFETY: `arg` is the address of a live `Script` passed by
    // `clone_with_stack`, whose callers keep it alive (and unmoved) for as
    // long as this task can use that memory.
    let s = unsafe { &*(arg as *const Script) };
    run_script(s, 0)
}

/// Lay out the top of `stack` for [`clone_entry_syscall`]: `arg` and the
/// entry point, popped by the child. Returns the child's stack pointer.
fn prepare_entry_stack(stack: &mut [u8], arg: usize) -> usize {
    let top = (stack.as_mut_ptr() as usize + stack.len()) & !15;
    let sp = top - 16;
    // SAFETY: sp..top lies inside `stack` (callers pass at least 64 KiB).
    unsafe {
        *(sp as *mut usize) = arg;
        *((sp + 8) as *mut usize) = script_entry as extern "C" fn(usize) -> ! as usize;
    }
    sp
}

/// `syscall(nr, a1..a5)` for clone or clone3 whose child starts on a stack
/// laid out by [`prepare_entry_stack`]: the child pops the argument and the
/// entry point and calls it; it never returns here.
///
/// # Safety
/// The child's stack pointer (clone: `a2`; clone3: `stack + stack_size` in
/// the block at `a1`) must come from [`prepare_entry_stack`], and the stack
/// and the script must outlive the child's use of them.
unsafe fn clone_entry_syscall(nr: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    let ret: i64;
    // SAFETY: in the parent this is a plain syscall (rax, rcx, r11
    // clobbered; clone3 ignores rdx/r10/r8). In the child, execution
    // continues on the fresh stack: it pops the argument and the entry point
    // and calls it with a 16-byte aligned stack; the entry never returns
    // (ud2 guards). The child never returns into the Rust frame that issued
    // the asm, so no compiler assumption about that frame is violated.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "pop rdi",
            "pop rax",
            "call rax",
            "ud2",
            "2:",
            inlateout("rax") nr as i64 => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            in("r10") a4,
            in("r8") a5,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    ret
}

/// `clone(flags, stack_top, ptid, ctid, tls)`; the child runs
/// `script_entry(arg)` on the new stack.
///
/// # Safety
/// `stack` must stay allocated while the child runs on it (for CLONE_VM
/// children); `arg` must point to a `Script` that outlives the child's use.
unsafe fn clone_with_stack(
    flags: u64,
    stack: &mut [u8],
    ptid: *mut u32,
    ctid: *mut u32,
    arg: usize,
    tls: u64,
) -> i64 {
    let sp = prepare_entry_stack(stack, arg);
    // SAFETY: sp comes from prepare_entry_stack; the caller keeps the stack
    // and the script alive (this function's contract).
    unsafe { clone_entry_syscall(nr::CLONE, flags, sp as u64, ptid as u64, ctid as u64, tls) }
}

const STACK_SIZE: usize = 256 * 1024;

/// A CLONE_THREAD task running a [`Script`] in this process.
pub struct RawThread {
    tid: i32,
    ctid: Box<AtomicU32>,
    script: Box<Script>,
    stack: Vec<u8>,
}

/// Start a thread (`CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|CHILD_CLEARTID`)
/// that runs `script`.
pub fn spawn_thread(script: Box<Script>) -> Result<RawThread, Errno> {
    let mut t = RawThread {
        tid: 0,
        ctid: Box::new(AtomicU32::new(0)),
        script,
        stack: vec![0u8; STACK_SIZE],
    };
    let flags = CLONE_VM
        | CLONE_FS
        | CLONE_FILES
        | CLONE_SIGHAND
        | CLONE_THREAD
        | CLONE_SYSVSEM
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID;
    let ctid = t.ctid.as_ptr();
    let arg = &*t.script as *const Script as usize;
    // SAFETY: the stack, ctid word and script are heap allocations owned by
    // `t`; `RawThread`'s Drop leaks them unless the kernel has cleared ctid
    // (the thread is gone), so they outlive the thread. PARENT_SETTID and
    // CHILD_CLEARTID both point at `ctid`, written by the kernel only.
    let r = unsafe { clone_with_stack(flags, &mut t.stack, ctid, ctid, arg, 0) };
    match raw::result(r) {
        Ok(tid) => {
            t.tid = tid as i32;
            Ok(t)
        }
        Err(e) => Err(e),
    }
}

impl RawThread {
    pub fn tid(&self) -> i32 {
        self.tid
    }
    pub fn script(&self) -> &Script {
        &self.script
    }
    /// Address of the CLONE_CHILD_CLEARTID word (for [`Step::WaitTid`]).
    pub fn clear_tid_addr(&self) -> usize {
        self.ctid.as_ptr() as usize
    }
    /// Has the kernel cleared the tid word (the thread released its mm)?
    pub fn gone(&self) -> bool {
        self.ctid.load(Ordering::SeqCst) == 0
    }
    /// Wait until the thread is gone or `timeout` passes.
    pub fn join(&self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let v = self.ctid.load(Ordering::SeqCst);
            if v == 0 {
                return true;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            let left = deadline - now;
            let ts = [left.as_secs() as i64, left.subsec_nanos() as i64];
            // SAFETY: FUTEX_WAIT reads the word we own and the timespec on
            // our stack; it changes no memory.
            unsafe {
                raw::syscall4(
                    nr::FUTEX,
                    self.ctid.as_ptr() as u64,
                    FUTEX_WAIT,
                    v as u64,
                    ts.as_ptr() as u64,
                )
            };
        }
    }
}

impl Drop for RawThread {
    fn drop(&mut self) {
        if !self.gone() {
            // The thread may still use its stack and script: never free them.
            std::mem::forget(std::mem::take(&mut self.stack));
            let s = std::mem::replace(&mut self.script, Script::new(&[]));
            std::mem::forget(s);
            let c = std::mem::replace(&mut self.ctid, Box::new(AtomicU32::new(0)));
            std::mem::forget(c);
        }
    }
}

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
        && exit_signal <= 0xff
        && flags & 0xff == 0
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
        return Err(22);
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
            script as *const Script as usize,
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
        return Err(22);
    }
    let mut stack = vec![0u8; STACK_SIZE];
    let base = stack.as_mut_ptr() as usize;
    let sp = prepare_entry_stack(&mut stack, script as *const Script as usize);
    // struct clone_args, CLONE_ARGS_SIZE_VER0: flags, pidfd, child_tid,
    // parent_tid, exit_signal, stack, stack_size, tls. The kernel starts the
    // child with rsp = stack + stack_size = sp.
    let args: [u64; 8] = [
        flags,
        0,
        0,
        0,
        exit_signal,
        base as u64,
        (sp - base) as u64,
        0,
    ];
    // SAFETY: the child starts on `sp` (from prepare_entry_stack) in its own
    // copy of memory (or, with CLONE_VM|CLONE_VFORK, in ours while we are
    // suspended, so `stack` and `script` outlive it); `args` is a live local
    // the kernel only reads.
    let ret = unsafe { clone_entry_syscall(nr::CLONE3, args.as_ptr() as u64, 64, 0, 0, 0) };
    raw::result(ret).map(|p| p as i32)
}

/// `arch_prctl(ARCH_GET_FS)`: this thread's FS base.
pub fn fs_base() -> Result<u64, Errno> {
    let mut v = 0u64;
    // SAFETY: the kernel writes 8 bytes into the live local `v`.
    let r = unsafe { raw::syscall2(NR_ARCH_PRCTL, ARCH_GET_FS, &mut v as *mut u64 as u64) };
    raw::result(r).map(|_| v)
}

/// The address [`Handler::Catch`] installs (to recognise it in a report).
pub fn catch_handler_addr() -> u64 {
    noop_handler as extern "C" fn(i32) as usize as u64
}

/// Where a [`fork_process`] call returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Forked {
    Child,
    Parent(i32),
}

/// Number of threads of this process (entries of /proc/self/task).
pub fn thread_count() -> std::io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// `clone(exit_signal, 0, 0, 0, 0)`: fork with any exit signal. Refuses
/// (EDEADLK) unless this process is single-threaded, so the child may run
/// ordinary Rust code.
pub fn fork_process(exit_signal: u64) -> Result<Forked, Errno> {
    if thread_count().map_err(|e| e.raw_os_error().unwrap_or(5))? != 1 {
        return Err(35);
    }
    // SAFETY: the process has one thread, so no lock (malloc, stdio, env) is
    // held by another thread at the time of the copy, and the child is a
    // complete copy of the only thread: it may continue running Rust code.
    // The child returns in its own address space (no CLONE_VM).
    let r = unsafe { raw::syscall5(nr::CLONE, exit_signal & 0xff, 0, 0, 0, 0) };
    match raw::result(r)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as i32)),
    }
}

/// `exit(code)`: ends the calling thread only.
pub fn exit_thread(code: i32) -> ! {
    loop {
        // SAFETY: exit does not return; no memory is touched.
        unsafe { raw::syscall1(nr::EXIT, code as u64) };
    }
}

/// `exit_group(code)`.
pub fn exit_group(code: i32) -> ! {
    loop {
        // SAFETY: as exit_thread.
        unsafe { raw::syscall1(nr::EXIT_GROUP, code as u64) };
    }
}

/// `execve(path, argv, envp)` with raw addresses (0 = NULL). The kernel
/// validates every address; returns the errno when the call fails.
pub fn execve_addr(path: usize, argv: usize, envp: usize) -> Errno {
    // SAFETY: execve only reads user memory through copy_from_user /
    // strncpy_from_user, which report bad addresses as EFAULT. On success the
    // whole address space is replaced and this function never returns.
    let r = unsafe { raw::syscall3(nr::EXECVE, path as u64, argv as u64, envp as u64) };
    (-r) as i32
}

/// NULL-terminated pointer arrays for execve, kept alive by the owner.
pub struct ExecArgs {
    _strings: Vec<std::ffi::CString>,
    pub argv: Vec<usize>,
    pub envp: Vec<usize>,
}

impl ExecArgs {
    pub fn new(argv: &[&[u8]], envp: &[&[u8]]) -> ExecArgs {
        let mut strings = Vec::new();
        let mut mk = |v: &[&[u8]]| {
            let mut out = Vec::new();
            for s in v {
                let c = std::ffi::CString::new(s.to_vec()).expect("no NUL inside");
                out.push(c.as_ptr() as usize);
                strings.push(c);
            }
            out.push(0);
            out
        };
        let argv = mk(argv);
        let envp = mk(envp);
        ExecArgs {
            _strings: strings,
            argv,
            envp,
        }
    }
    pub fn argv_addr(&self) -> usize {
        self.argv.as_ptr() as usize
    }
    pub fn envp_addr(&self) -> usize {
        self.envp.as_ptr() as usize
    }
}

/// `execve(path, args.argv, args.envp)`; returns the errno on failure.
pub fn execve(path: &CStr, args: &ExecArgs) -> Errno {
    execve_addr(path.as_ptr() as usize, args.argv_addr(), args.envp_addr())
}

/// Resource usage as wait4 reports it (the fields forklore looks at).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rusage {
    pub utime_us: i64,
    pub stime_us: i64,
    pub maxrss_kb: i64,
    pub minflt: i64,
}

/// `wait4(pid, &status, options, &rusage)`: `(pid, status, rusage)`.
pub fn wait4(pid: i32, options: u32) -> Result<(i32, i32, Rusage), Errno> {
    let mut status: i32 = 0;
    let mut ru = [0i64; 18];
    // SAFETY: status and the rusage buffer (144 bytes = sizeof(struct
    // rusage) on x86_64) are live locals the kernel writes into.
    let r = unsafe {
        raw::syscall4(
            nr::WAIT4,
            pid as i64 as u64,
            &mut status as *mut i32 as u64,
            options as u64,
            ru.as_mut_ptr() as u64,
        )
    };
    let p = raw::result(r)? as i32;
    let usage = Rusage {
        utime_us: ru[0] * 1_000_000 + ru[1],
        stime_us: ru[2] * 1_000_000 + ru[3],
        maxrss_kb: ru[4],
        minflt: ru[8],
    };
    Ok((p, status, usage))
}

/// `wait4(pid, status_addr, options, NULL)` with a raw status address the
/// kernel validates (put_user reports EFAULT).
pub fn wait4_status_addr(pid: i32, status_addr: usize, options: u32) -> Result<i32, Errno> {
    // SAFETY: the kernel writes the status with put_user, which faults safely
    // on bad addresses; a valid address is the caller's business only if it
    // points at Rust memory, which this API never receives (usize, not a ref)
    // except as a deliberately invalid value.
    let r = unsafe {
        raw::syscall4(
            nr::WAIT4,
            pid as i64 as u64,
            status_addr as u64,
            options as u64,
            0,
        )
    };
    raw::result(r).map(|p| p as i32)
}

/// What waitid reports (`siginfo_t` fields for SIGCHLD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitInfo {
    /// 0 when WNOHANG found nothing ready.
    pub pid: i32,
    /// CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3, CLD_STOPPED = 5,
    /// CLD_CONTINUED = 6.
    pub code: i32,
    /// Exit code or signal number.
    pub status: i32,
    /// si_signo (SIGCHLD when something was reported).
    pub signo: i32,
    /// si_uid: the child's real uid.
    pub uid: u32,
}

/// `waitid(idtype, id, &info, options, NULL)`.
pub fn waitid(idtype: i32, id: i32, options: u32) -> Result<WaitInfo, Errno> {
    let mut si = [0i32; 32];
    // SAFETY: si is a 128-byte local (sizeof(siginfo_t)).
    let r = unsafe {
        raw::syscall5(
            nr::WAITID,
            idtype as u64,
            id as i64 as u64,
            si.as_mut_ptr() as u64,
            options as u64,
            0,
        )
    };
    raw::result(r)?;
    // siginfo_t for SIGCHLD: si_signo, si_errno, si_code, (pad), si_pid,
    // si_uid, si_status.
    Ok(WaitInfo {
        pid: si[4],
        code: si[2],
        status: si[6],
        signo: si[0],
        uid: si[5] as u32,
    })
}

/// `pidfd_open(pid, 0)`: an owned fd.
pub fn pidfd_open(pid: i32) -> Result<std::os::fd::OwnedFd, Errno> {
    // SAFETY: no memory arguments.
    let r = unsafe { raw::syscall2(NR_PIDFD_OPEN, pid as u64, 0) };
    let fd = raw::result(r)? as i32;
    // SAFETY: the kernel just returned this new fd; nobody else owns it.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// `pidfd_open(pid, flags)` (PIDFD_NONBLOCK = O_NONBLOCK, PIDFD_THREAD =
/// O_EXCL): an owned fd.
pub fn pidfd_open_flags(pid: i32, flags: u32) -> Result<std::os::fd::OwnedFd, Errno> {
    // SAFETY: no memory arguments.
    let r = unsafe { raw::syscall2(NR_PIDFD_OPEN, pid as u64, flags as u64) };
    let fd = raw::result(r)? as i32;
    // SAFETY: the kernel just returned this new fd; nobody else owns it.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`.
pub fn pidfd_send_signal(pidfd: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: info is NULL (the kernel builds a SI_USER siginfo itself); no
    // other memory argument.
    let r = unsafe { raw::syscall4(nr::PIDFD_SEND_SIGNAL, pidfd as u64, sig as u64, 0, 0) };
    raw::result(r).map(|_| ())
}

pub const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_SETTLS: u64 = 0x0008_0000;
pub const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;

/// `clone3({flags | CLONE_PIDFD, pidfd = &fd, exit_signal}, 64)` without a
/// stack: a fork that also returns a pidfd for the child. Refuses (EDEADLK)
/// unless this process is single-threaded, and refuses (EINVAL) flags that
/// would share memory or the thread group, so the child may run ordinary
/// Rust code (as after [`fork_process`]).
pub fn fork_with_pidfd(
    flags: u64,
    exit_signal: u64,
) -> Result<(Forked, Option<std::os::fd::OwnedFd>), Errno> {
    if flags & (CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_VFORK | CLONE_SETTLS) != 0 {
        return Err(22);
    }
    if thread_count().map_err(|e| e.raw_os_error().unwrap_or(5))? != 1 {
        return Err(35);
    }
    let mut pidfd: i32 = -1;
    // struct clone_args (CLONE_ARGS_SIZE_VER0 = 64 bytes): flags, pidfd,
    // child_tid, parent_tid, exit_signal, stack, stack_size, tls.
    let args: [u64; 8] = [
        flags | CLONE_PIDFD,
        &mut pidfd as *mut i32 as u64,
        0,
        0,
        exit_signal,
        0,
        0,
        0,
    ];
    // SAFETY: as fork_process: one thread, no CLONE_VM, no new stack (the
    // child continues on its own copy of this stack and returns normally).
    // The kernel reads `args` (a live local) and writes the pidfd into the
    // live local `pidfd` in the parent before returning.
    let r = unsafe { raw::syscall2(nr::CLONE3, args.as_ptr() as u64, 64) };
    match raw::result(r)? {
        0 => Ok((Forked::Child, None)),
        pid => {
            // SAFETY: the kernel installed this fd for us in the parent.
            let fd = (pidfd >= 0).then(|| unsafe {
                <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(pidfd)
            });
            Ok((Forked::Parent(pid as i32), fd))
        }
    }
}

/// `tgkill(tgid, tid, sig)`.
pub fn tgkill(tgid: i32, tid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: no memory arguments.
    raw::result(unsafe { raw::syscall3(NR_TGKILL, tgid as u64, tid as u64, sig as u64) })
        .map(|_| ())
}

/// How a signal is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    Default,
    Ignore,
    /// A no-op handler in this crate, with these sa_flags.
    Catch {
        flags: u64,
    },
}

extern "C" fn noop_handler(_sig: i32) {}

const SA_RESTORER: u64 = 0x0400_0000;

core::arch::global_asm!(
    ".pushsection .text.forklore_sigreturn,\"ax\",@progbits",
    ".globl forklore_lifecycle_sigreturn",
    "forklore_lifecycle_sigreturn:",
    "mov eax, 15",
    "syscall",
    ".popsection",
);

extern "C" {
    fn forklore_lifecycle_sigreturn();
}

/// The `struct kernel_sigaction` words for `h`.
fn sigaction_words(h: Handler) -> [u64; 4] {
    let (handler, flags) = match h {
        Handler::Default => (0usize, 0u64),
        Handler::Ignore => (1usize, 0u64),
        Handler::Catch { flags } => (
            noop_handler as extern "C" fn(i32) as usize,
            flags | SA_RESTORER,
        ),
    };
    // struct kernel_sigaction { handler, flags, restorer, mask }
    [
        handler as u64,
        flags | SA_RESTORER,
        forklore_lifecycle_sigreturn as unsafe extern "C" fn() as usize as u64,
        0,
    ]
}

/// `madvise(MADV_NOHUGEPAGE)` over the whole pages inside `buf`, so that
/// touching it faults 4 KiB pages whatever the host's THP setting.
pub fn no_huge_pages(buf: &mut [u8]) -> Result<(), Errno> {
    const PAGE: usize = 4096;
    let start = (buf.as_ptr() as usize).next_multiple_of(PAGE);
    let end = (buf.as_ptr() as usize + buf.len()) & !(PAGE - 1);
    if end <= start {
        return Ok(());
    }
    // SAFETY: [start, end) lies inside `buf`, which we borrow mutably, and
    // MADV_NOHUGEPAGE only changes how future faults are served: it never
    // changes the contents or the mapping of that memory.
    let r = unsafe {
        raw::syscall3(
            nr::MADVISE,
            start as u64,
            (end - start) as u64,
            libc::MADV_NOHUGEPAGE as u64,
        )
    };
    raw::result(r).map(|_| ())
}

/// `rt_sigaction(sig, new, NULL, 8)`.
pub fn set_handler(sig: i32, h: Handler) -> Result<(), Errno> {
    let act = sigaction_words(h);
    // SAFETY: `act` is a live kernel_sigaction; the handler is a no-op
    // extern "C" fn and the restorer issues rt_sigreturn, as the x86_64 ABI
    // requires.
    let r = unsafe { raw::syscall4(NR_RT_SIGACTION, sig as u64, act.as_ptr() as u64, 0, 8) };
    raw::result(r).map(|_| ())
}

/// The current disposition of `sig`: 0 = SIG_DFL, 1 = SIG_IGN, else caught.
pub fn handler_of(sig: i32) -> Result<(u64, u64), Errno> {
    let mut old = [0u64; 4];
    // SAFETY: `old` is a live buffer of sizeof(kernel_sigaction).
    let r = unsafe { raw::syscall4(NR_RT_SIGACTION, sig as u64, 0, old.as_mut_ptr() as u64, 8) };
    raw::result(r)?;
    Ok((old[0], old[1]))
}

/// `rt_sigprocmask(how, set, &old, 8)` with 64-bit masks (bit n-1 = signal n).
pub fn sigprocmask(how: i32, set: u64) -> Result<u64, Errno> {
    let mut old = 0u64;
    // SAFETY: both masks are live locals.
    let r = unsafe {
        raw::syscall4(
            NR_RT_SIGPROCMASK,
            how as u64,
            &set as *const u64 as u64,
            &mut old as *mut u64 as u64,
            8,
        )
    };
    raw::result(r).map(|_| old)
}

pub const SIG_BLOCK: i32 = 0;
pub const SIG_SETMASK: i32 = 2;
pub const SS_DISABLE: i32 = 2;

/// Install a leaked `size`-byte alternate signal stack.
pub fn set_altstack(size: usize) -> Result<(), Errno> {
    let mem: &'static mut [u8] = Vec::leak(vec![0u8; size]);
    // stack_t { ss_sp, ss_flags (int, padded), ss_size }
    let ss: [u64; 3] = [mem.as_mut_ptr() as u64, 0, size as u64];
    // SAFETY: the stack memory is leaked, so it stays valid for as long as a
    // signal could run on it.
    let r = unsafe { raw::syscall2(NR_SIGALTSTACK, ss.as_ptr() as u64, 0) };
    raw::result(r).map(|_| ())
}

/// `sigaltstack(NULL, &old)`: `(ss_flags, ss_size)`.
pub fn altstack() -> Result<(i32, u64), Errno> {
    let mut ss = [0u64; 3];
    // SAFETY: `ss` is a live stack_t-sized buffer.
    let r = unsafe { raw::syscall2(NR_SIGALTSTACK, 0, ss.as_mut_ptr() as u64) };
    raw::result(r)?;
    Ok((ss[1] as i32, ss[2]))
}

/// Is `fd` open (`fcntl(fd, F_GETFD)` succeeds)?
pub fn fd_is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD reads no user memory.
    let r = unsafe { raw::syscall2(72, fd as u64, 1) };
    r >= 0
}

/// Take ownership of an inherited fd named by the environment (the exec
/// target's hold fd). Returns None when it is not open.
pub fn fd_file(fd: i32) -> Option<std::fs::File> {
    if fd < 3 || !fd_is_open(fd) {
        return None;
    }
    // SAFETY: the fd is open and, in the exec target, owned by nobody else:
    // it was inherited across execve and is named only by the environment.
    Some(unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// `dup2(old, new)`. The caller must own `new` or know it is unused: the
/// old file there is closed.
pub fn dup2(old: i32, new: i32) -> Result<(), Errno> {
    // SAFETY: dup2 touches no user memory.
    raw::result(unsafe { raw::syscall2(NR_DUP2, old as u64, new as u64) }).map(|_| ())
}

/// `close(fd)` for a descriptor a fork child inherited but does not own
/// (the parent's `OwnedFd` lives on in the parent's address space only).
pub fn close_inherited(fd: i32) -> Result<(), Errno> {
    // SAFETY: close touches no user memory; the caller guarantees no object
    // in this process still uses `fd`.
    raw::result(unsafe { raw::syscall1(nr::CLOSE, fd as u64) }).map(|_| ())
}

/// Set FD_CLOEXEC on `fd` (`fcntl(fd, F_SETFD, FD_CLOEXEC)`).
pub fn set_cloexec(fd: i32) -> Result<(), Errno> {
    // SAFETY: F_SETFD touches no user memory.
    raw::result(unsafe { raw::syscall3(72, fd as u64, 2, 1) }).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn thread_runs_script_and_is_joined() {
        let t = spawn_thread(Script::new(&[
            Step::Store { word: 1, value: 77 },
            Step::Exit { code: 0 },
        ]))
        .unwrap();
        assert!(t.join(Duration::from_secs(5)));
        assert_eq!(t.script().word(1), 77);
    }

    #[test]
    fn bad_exec_pointer_is_efault() {
        assert_eq!(execve_addr(1, 0, 0), 14);
    }
}
