//! forklore bench's timing loops, run in a helper process.
//!
//! The loops themselves live in `helper/bench_loop.rs`: a `#![no_std]`
//! program linked only against libc, built by this crate's build.rs and
//! embedded here as [`BENCH_LOOP_ELF`]. fork copies its caller's whole mm,
//! so the caller must be as small as a plain C program for fork's cost to
//! be the kernel's and not forklore's: this process, a dynamically linked
//! Rust program, has about 35 mappings; the helper, linked static and
//! non-PIE, has 11 (a `gcc -static` C program has 12) and ~84 KiB of
//! anonymous memory.
//!
//! A [`Helper`] starts the program, tells it which [`Op`] to time and
//! receives batches of per-operation durations (ns, `clock_gettime(
//! CLOCK_MONOTONIC)` through the vDSO before and after each operation).
//! The helper creates every child with one inline-asm block; the child runs
//! raw syscalls only (`execve`, optional, then `SYS_exit`).

use crate::abi::nr;
use crate::errno::Errno;
use crate::raw::{syscall1, syscall3, syscall5};
use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub use crate::abi::{
    CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_FILES, CLONE_FS, CLONE_PARENT,
    CLONE_PARENT_SETTID, CLONE_PIDFD, CLONE_SETTLS, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD,
    CLONE_VFORK, CLONE_VM,
};
/// The usual exit signal, as clone's flag byte.
pub const SIGCHLD: u64 = crate::abi::SIGCHLD as u64;

pub use crate::abi::THREAD_FLAGS;

/// The helper program's bytes (see the module documentation).
pub const BENCH_LOOP_ELF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/forklore-bench-loop"));

/// Most operations one [`Helper::run`] may time (the helper's buffer).
pub const BATCH_MAX: usize = 4096;

// The helper's commands, operations and failing-call ids (bench_loop.rs).
const CMD_PREPARE: u64 = 1;
const CMD_RUN: u64 = 2;
const CMD_BALLAST: u64 = 3;
const CMD_RUSAGE: u64 = 4;
const CALLS: [&str; 11] = [
    "fork",
    "clone",
    "clone3",
    "wait4",
    "waitid(P_PIDFD)",
    "futex(FUTEX_WAIT)",
    "mmap",
    "madvise",
    "posix_spawn",
    "getrusage",
    "read",
];

/// What went wrong in a loop. Raw errno numbers; forklore-bench names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpError {
    /// A syscall (or libc call) in the parent failed.
    Syscall { call: &'static str, errno: Errno },
    /// A child did not exit with status 0 (raw wait status, or 127 << 8 when
    /// its execve failed).
    Child { status: i32 },
    /// The helper process could not be started, or stopped answering.
    Helper(String),
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpError::Syscall { call, errno } => {
                write!(
                    f,
                    "{call} failed: {}",
                    std::io::Error::from_raw_os_error(errno.raw())
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
            OpError::Helper(why) => write!(f, "bench helper: {why}"),
        }
    }
}

impl std::error::Error for OpError {}

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
    /// The child executes the exec target instead of exiting.
    pub exec: bool,
    pub parent_return_only: bool,
}

/// The operation a [`Helper`] times.
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

impl Op {
    /// Check `self` and complete it: CLONE_THREAD children are joined
    /// through CLONE_CHILD_CLEARTID, which is added if missing; executing
    /// from a thread is refused (execve would kill the helper in de_thread),
    /// and so are CLONE_PARENT (the child could not be reaped) and fork
    /// with flags. Returns the op as the helper will run it, and whether it
    /// needs an exec target.
    pub fn checked(self) -> Result<(Op, bool), OpError> {
        let einval = |call| OpError::Syscall {
            call,
            errno: Errno::EINVAL,
        };
        let mut op = self;
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
            Op::Noop | Op::Getpid => false,
        };
        Ok((op, needs_exec))
    }

    /// The helper's PREPARE words (without the command and the path).
    fn words(self) -> [u64; 6] {
        match self {
            Op::Noop => [0, 0, 0, 0, 0, 0],
            Op::Getpid => [1, 0, 0, 0, 0, 0],
            Op::PosixSpawn => [3, 0, 0, 0, 1, 0],
            Op::Create(c) => [
                2,
                match c.syscall {
                    Syscall::Fork => 0,
                    Syscall::Clone => 1,
                    Syscall::Clone3 => 2,
                },
                c.flags,
                c.exit_signal,
                c.exec as u64,
                c.parent_return_only as u64,
            ],
        }
    }
}

/// The number of a syscall the bench's methods make and a sandbox may lack,
/// by the name forklore bench's test-only `FORKLORE_BENCH_DENY` takes
/// (`execve` is not one: the filter is in place when the helper itself is
/// executed).
pub fn deniable_syscall(name: &str) -> Option<u64> {
    Some(match name {
        #[cfg(target_arch = "x86_64")]
        "fork" => nr::FORK,
        "clone" => nr::CLONE,
        "clone3" => nr::CLONE3,
        "wait4" => nr::WAIT4,
        "waitid" => nr::WAITID,
        _ => return None,
    })
}

/// Write the helper program into `dir` (mode 0755) and return its path.
pub fn write_helper(dir: &Path) -> io::Result<PathBuf> {
    let path = dir.join("forklore-bench-loop");
    std::fs::write(&path, BENCH_LOOP_ELF)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

/// getrusage totals of the helper (RUSAGE_SELF) and of the children it
/// reaped (RUSAGE_CHILDREN).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HelperUsage {
    pub context_switches: u64,
    pub page_faults: u64,
    pub children_context_switches: u64,
    pub children_page_faults: u64,
}

/// A running forklore-bench-loop, with its stdin and stdout piped to us.
/// Dropping it closes both pipes, which ends it (end of input, or EPIPE on
/// a reply nobody reads), and reaps it; it also dies with this process
/// (PR_SET_PDEATHSIG).
pub struct Helper {
    child: Child,
}

impl Helper {
    /// Start the helper written by [`write_helper`]. It inherits this
    /// process's CPU affinity, so pin first.
    pub fn spawn(exe: &Path) -> Result<Helper, OpError> {
        Helper::spawn_denying(exe, &[])
    }

    /// [`Helper::spawn`], with each syscall of `deny` made to fail with its
    /// errno in the helper and its children by a seccomp filter installed
    /// between fork and exec: what a sandbox without that syscall looks
    /// like (forklore bench's test-only simulation). With a non-empty list
    /// the helper is started by fork + exec rather than posix_spawn: call it
    /// only from a single-threaded process.
    pub fn spawn_denying(exe: &Path, deny: &[(u64, Errno)]) -> Result<Helper, OpError> {
        let mut filters = [(0u64, Errno::from_raw(0)); 8];
        if deny.len() > filters.len() {
            return Err(OpError::Helper(format!(
                "at most {} denied syscalls",
                filters.len()
            )));
        }
        filters[..deny.len()].copy_from_slice(deny);
        let n = deny.len();
        let mut tries = 0;
        let child = loop {
            let mut cmd = Command::new(exe);
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
            if n > 0 {
                // SAFETY: the closure runs in the forked child before exec;
                // it only reads the copied array and makes raw prctl and
                // seccomp syscalls (seccomp_deny_syscall builds its program
                // on the stack): no allocation, no lock, async-signal-safe.
                unsafe {
                    cmd.pre_exec(move || {
                        for &(nr, err) in &filters[..n] {
                            crate::process::seccomp_deny_syscall(nr, err)
                                .map_err(|e| io::Error::from_raw_os_error(e.raw()))?;
                        }
                        Ok(())
                    });
                }
            }
            match cmd.spawn() {
                Ok(c) => break c,
                // Another thread's child may still hold the freshly written
                // file open for writing until its exec (CLOEXEC): retry.
                Err(e) if e.raw_os_error() == Some(Errno::ETXTBSY.raw()) && tries < 200 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => {
                    return Err(OpError::Helper(format!(
                        "cannot start {}: {e}",
                        exe.display()
                    )))
                }
            }
        };
        Ok(Helper { child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn lost(&mut self, e: io::Error) -> OpError {
        let status = match self.child.try_wait() {
            Ok(Some(s)) => format!(" ({s})"),
            _ => String::new(),
        };
        OpError::Helper(format!("lost contact: {e}{status}"))
    }

    fn send(&mut self, words: &[u64], extra: &[u8]) -> Result<(), OpError> {
        let mut msg: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        msg.extend_from_slice(extra);
        let res = match self.child.stdin.as_mut() {
            Some(to) => to.write_all(&msg),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        };
        res.map_err(|e| self.lost(e))
    }

    fn receive(&mut self, out: &mut [u64]) -> Result<(), OpError> {
        let mut bytes = vec![0u8; out.len() * 8];
        let res = match self.child.stdout.as_mut() {
            Some(from) => from.read_exact(&mut bytes),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        };
        if let Err(e) = res {
            return Err(self.lost(e));
        }
        for (w, b) in out.iter_mut().zip(bytes.chunks_exact(8)) {
            *w = u64::from_ne_bytes(b.try_into().expect("8-byte chunk"));
        }
        Ok(())
    }

    /// One command: send it, then read `[status, detail]` and decode it.
    fn command(&mut self, words: &[u64], extra: &[u8]) -> Result<(), OpError> {
        self.send(words, extra)?;
        let mut head = [0u64; 2];
        self.receive(&mut head)?;
        match head {
            [0, _] => Ok(()),
            [1, d] => Err(OpError::Syscall {
                call: CALLS
                    .get((d >> 32) as usize)
                    .copied()
                    .unwrap_or("a syscall"),
                errno: Errno::from_raw(d as u32 as i32),
            }),
            [2, d] => Err(OpError::Child { status: d as i32 }),
            [s, d] => Err(OpError::Helper(format!(
                "protocol error (status {s}, detail {d})"
            ))),
        }
    }

    /// Choose the operation to time; see [`Op::checked`]. `exec` is required
    /// when the op executes a program. Returns the op as it will run.
    pub fn prepare(&mut self, op: Op, exec: Option<&str>) -> Result<Op, OpError> {
        let (op, needs_exec) = op.checked()?;
        let path = match (needs_exec, exec) {
            (true, Some(p)) if !p.is_empty() && !p.contains('\0') && p.len() < 4096 => p,
            (true, _) => {
                return Err(OpError::Syscall {
                    call: "exec target",
                    errno: Errno::EINVAL,
                })
            }
            (false, _) => "",
        };
        let w = op.words();
        let mut words = vec![CMD_PREPARE];
        words.extend_from_slice(&w);
        words.push(path.len() as u64);
        self.command(&words, path.as_bytes())?;
        Ok(op)
    }

    /// Time `out.len()` operations (in batches of at most [`BATCH_MAX`]),
    /// writing each one's duration in ns. Stops at the first failure; the
    /// helper leaves no child behind either way.
    pub fn run(&mut self, out: &mut [u64]) -> Result<(), OpError> {
        for chunk in out.chunks_mut(BATCH_MAX) {
            self.command(&[CMD_RUN, chunk.len() as u64], &[])?;
            self.receive(chunk)?;
        }
        Ok(())
    }

    /// Give the helper `bytes` of private anonymous memory, every 4 KiB page
    /// written once (MADV_NOHUGEPAGE, or MADV_HUGEPAGE with `thp`),
    /// replacing the previous ballast. 0 frees it.
    pub fn ballast(&mut self, bytes: u64, thp: bool) -> Result<(), OpError> {
        self.command(&[CMD_BALLAST, bytes, thp as u64], &[])
    }

    pub fn rusage(&mut self) -> Result<HelperUsage, OpError> {
        self.command(&[CMD_RUSAGE], &[])?;
        let mut w = [0u64; 4];
        self.receive(&mut w)?;
        Ok(HelperUsage {
            context_switches: w[0],
            page_faults: w[1],
            children_context_switches: w[2],
            children_page_faults: w[3],
        })
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        drop(self.child.stdout.take());
        let _ = self.child.wait();
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

/// A counting perf event on one process and, through `inherit`, on every
/// child and thread it creates afterwards (their counts are folded in when
/// they exit). Inheritance makes fork itself slower, so use it in a
/// separate pass.
pub struct PerfCounter {
    fd: i32,
    pub event: PerfEvent,
}

impl PerfCounter {
    /// `perf_event_open(&attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC)` (pid 0:
    /// this process); Err(errno) when the kernel or the hypervisor does not
    /// provide the event, or we may not watch `pid`.
    pub fn open(event: PerfEvent, pid: u32) -> Result<Self, Errno> {
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
                nr::PERF_EVENT_OPEN,
                &attr as *const PerfEventAttr as u64,
                pid as u64,
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
    pub fn read(&self) -> Result<u64, Errno> {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into `v` from our own perf fd.
        let ret = unsafe { syscall3(nr::READ, self.fd as u64, &mut v as *mut u64 as u64, 8) };
        crate::raw::result(ret).map(|_| v)
    }
}

impl Drop for PerfCounter {
    fn drop(&mut self) {
        // SAFETY: `fd` is our own perf fd, closed once.
        unsafe { syscall1(nr::CLOSE, self.fd as u64) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The helper is started with std's Command (posix_spawn), which is safe
    // from libtest's threads; every fork happens inside the single-threaded
    // helper. The process-creating methods are exercised by forklore-bench's
    // smoke test.

    fn helper() -> (tempfile::TempDir, Helper) {
        let dir = tempfile::tempdir().unwrap();
        let exe = write_helper(dir.path()).unwrap();
        let h = Helper::spawn(&exe).unwrap();
        (dir, h)
    }

    /// The program headers of an ELF64 little-endian image: (p_type, …).
    fn segment_types(elf: &[u8]) -> Vec<u32> {
        let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
        let phoff = u64::from_le_bytes(elf[32..40].try_into().unwrap()) as usize;
        let (phentsize, phnum) = (u16_at(54), u16_at(56));
        (0..phnum)
            .map(|i| {
                let o = phoff + i * phentsize;
                u32::from_le_bytes(elf[o..o + 4].try_into().unwrap())
            })
            .collect()
    }

    #[test]
    fn timing_loop_is_static_and_not_a_pie() {
        // fork copies every mapping of the timing process: it must be as
        // small as a static C program, so no loader, no libc.so, no PIE.
        let elf = BENCH_LOOP_ELF;
        assert_eq!(&elf[..4], b"\x7fELF");
        assert_eq!(u16::from_le_bytes([elf[16], elf[17]]), 2, "ET_EXEC");
        let types = segment_types(elf);
        assert!(types.contains(&1), "a PT_LOAD: {types:?}");
        assert!(!types.contains(&3), "no PT_INTERP: {types:?}");
        assert!(!types.contains(&2), "no PT_DYNAMIC: {types:?}");
        // Running: its own file and anonymous or special mappings only, as
        // many as a `gcc -static` program has (12 with [vsyscall]; 11 here).
        let (_d, mut h) = helper();
        h.prepare(Op::Getpid, None).unwrap();
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", h.pid())).unwrap();
        let files: Vec<&str> = maps
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .filter(|f| f.starts_with('/'))
            .collect();
        assert!(
            files.iter().all(|f| f.ends_with("/forklore-bench-loop")),
            "{maps}"
        );
        assert!(maps.lines().count() <= 12, "{maps}");
    }

    #[test]
    fn getpid_and_noop_fill_every_slot() {
        let (_d, mut h) = helper();
        for op in [Op::Noop, Op::Getpid] {
            assert_eq!(h.prepare(op, None).unwrap(), op);
            let mut out = vec![u64::MAX; BATCH_MAX + 10];
            h.run(&mut out).unwrap();
            assert!(out.iter().all(|&v| v < 1_000_000_000), "{op:?}");
        }
    }

    #[test]
    fn fork_failure_and_child_status_are_reported() {
        let (_d, mut h) = helper();
        let fork = Create {
            syscall: Syscall::Fork,
            flags: 0,
            exit_signal: SIGCHLD,
            exec: true,
            parent_return_only: false,
        };
        // execve of a directory fails in the child, which exits 127.
        h.prepare(Op::Create(fork), Some("/")).unwrap();
        let mut out = [0u64; 3];
        assert_eq!(h.run(&mut out), Err(OpError::Child { status: 127 << 8 }));
        // clone3 with an unknown flag bit: EINVAL from the kernel, by name.
        let bad = Create {
            syscall: Syscall::Clone3,
            flags: 1 << 62,
            exec: false,
            ..fork
        };
        h.prepare(Op::Create(bad), None).unwrap();
        assert_eq!(
            h.run(&mut out),
            Err(OpError::Syscall {
                call: "clone3",
                errno: Errno::EINVAL
            })
        );
        // Still answering.
        h.prepare(Op::Getpid, None).unwrap();
        h.run(&mut out).unwrap();
    }

    #[test]
    fn refusals_happen_before_the_helper_runs_anything() {
        let c = Create {
            syscall: Syscall::Clone,
            flags: CLONE_PARENT,
            exit_signal: SIGCHLD,
            exec: false,
            parent_return_only: false,
        };
        assert!(Op::Create(c).checked().is_err());
        let t = Create {
            flags: THREAD_FLAGS,
            exec: true,
            ..c
        };
        assert!(Op::Create(t).checked().is_err());
        let f = Create {
            syscall: Syscall::Fork,
            flags: CLONE_VM,
            ..c
        };
        assert!(Op::Create(f).checked().is_err());
        let th = Create {
            flags: THREAD_FLAGS & !CLONE_CHILD_CLEARTID,
            ..c
        };
        let (done, _) = Op::Create(th).checked().unwrap();
        assert!(matches!(done, Op::Create(x) if x.flags & CLONE_CHILD_CLEARTID != 0));
        let (_d, mut h) = helper();
        assert!(h.prepare(Op::PosixSpawn, None).is_err());
    }

    #[test]
    fn ballast_is_resident_in_the_helper_and_freed() {
        let (_d, mut h) = helper();
        let anon = |pid: u32| -> u64 {
            let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            s.lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap()
        };
        let before = anon(h.pid());
        h.ballast(8 << 20, false).unwrap();
        assert!(anon(h.pid()) >= before + 8 * 1024);
        h.ballast(0, false).unwrap();
        assert!(anon(h.pid()) < before + 1024);
        let u = h.rusage().unwrap();
        assert!(u.page_faults >= 2048, "{u:?}");
    }

    #[test]
    fn helper_ends_when_dropped() {
        let (_d, h) = helper();
        let pid = h.pid();
        drop(h);
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
        // Also when it is blocked writing replies nobody reads (three
        // batches overflow a 64 KiB pipe).
        let (_d, mut h) = helper();
        h.prepare(Op::Getpid, None).unwrap();
        let run = [CMD_RUN, BATCH_MAX as u64];
        for _ in 0..3 {
            h.send(&run, &[]).unwrap();
        }
        let pid = h.pid();
        drop(h);
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn perf_counter_opens_or_reports_errno() {
        match PerfCounter::open(PerfEvent::PageFaults, 0) {
            Ok(c) => assert!(c.read().is_ok()),
            Err(e) => assert!(e.raw() > 0),
        }
    }
}
