//! Running one case in the worker: turn the abstract `Request` into real
//! arguments, call through the trampoline, observe, reap or join, and put
//! the worker back the way it was.

use crate::context::Arranged;
use crate::{
    CaseOutcome, Observation, ObserveLevel, ProbeCase, Rusage, CRASH_PROBE_ID_PREFIX,
    STALL_PROBE_ID_PREFIX,
};
use forklore_model::flags::{
    CLONE_CHILD_CLEARTID, CLONE_NEWPID, CLONE_PARENT, CLONE_PIDFD, CLONE_THREAD, CLONE_VFORK,
    CLONE_VM, SIGCHLD,
};
use forklore_model::{
    ArgsMem, CgroupFd, Context, Errno, KernelVersion, PidfdKind, Ptr, ReapedBy, Request, Stack,
    Syscall, TidSpec, Tls,
};
use forklore_observe as observe;
use forklore_sys::clone::{
    Arena, BlockMem, CallKind, CallSpec, ChildPlan, Clone3Block, JoinWord, SetTidArg, StackArg,
    TlsArg, UPtr, NOT_READ, WORD_SENTINEL,
};
use forklore_sys::fd;
use forklore_sys::mailbox::{Mailbox, ReapRecord};
use forklore_sys::process::{self, Forked};
use forklore_sys::signal::{self, Disposition};
use forklore_sys::wait::{self, WALL, WCLONE, WEXITED, WNOHANG, WNOWAIT};
use std::collections::BTreeSet;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The exit code every probe child passes to SYS_exit.
pub const CHILD_EXIT_CODE: u8 = 42;
const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// A cgroup2 directory a case can clone into, and what the probe's
/// credentials may do there.
pub(crate) struct CgroupTarget {
    pub file: File,
    pub path: PathBuf,
    pub procs_writable: bool,
    pub ancestor_writable: bool,
}

impl CgroupTarget {
    pub fn new(file: File, path: PathBuf) -> Self {
        CgroupTarget {
            file,
            path,
            procs_writable: false,
            ancestor_writable: false,
        }
    }
}

/// Descriptors the cases' `cgroup` field can refer to, opened up front.
#[derive(Default)]
pub(crate) struct Resources {
    pub regular_file: Option<File>,
    pub non_cgroup_dir: Option<File>,
    pub cgroup_v1: Option<File>,
    pub cg2_root: Option<CgroupTarget>,
    pub cg2_created: Option<CgroupTarget>,
    pub cg2_created_err: Option<String>,
}

/// The worker's state that cases must not change, captured once.
struct Baseline {
    sigmask: u64,
    dispositions: Vec<(i32, Disposition)>,
    fds: BTreeSet<i32>,
    lowest_free_fd: i32,
    nproc: Option<(u64, u64)>,
    nofile: Option<(u64, u64)>,
    cwd: Option<PathBuf>,
}

fn dispositions() -> Vec<(i32, Disposition)> {
    (1..=64)
        .filter(|s| *s != libc::SIGKILL && *s != libc::SIGSTOP)
        .filter_map(|s| Some((s, signal::signal_disposition(s).ok()?.0)))
        .collect()
}

fn rlimit(r: nix::sys::resource::Resource) -> Option<(u64, u64)> {
    nix::sys::resource::getrlimit(r).ok()
}

/// What `call_and_peek` hands to `finish`.
struct Peek {
    tid: i32,
    pidfd: Option<i32>,
}

pub(crate) struct Engine<'a> {
    arena: Arena,
    mailbox: &'a Mailbox,
    mail_seen: u32,
    res: Resources,
    not_open_fd: i32,
    caller_pid: i32,
    caller_ppid: i32,
    is_pidns_init: bool,
    holder: Option<i32>,
    pid_max: i32,
    kernel: KernelVersion,
    children_level: u32,
    /// Where to look pids up, per pid-namespace level.
    proc_dirs: Vec<(i64, PathBuf)>,
    _outer_proc: Option<File>,
    nspid_abs: Vec<i32>,
    /// `pid_max` at level 0 (the runner's namespace) and at the caller's level.
    outer_pid_max: i32,
    active_level: i64,
    unused_cursor: std::collections::HashMap<i64, i32>,
    nested_cursor: i32,
    base: Baseline,
    /// Cases may fork a throwaway caller (not in RLIMIT_NPROC contexts).
    helper_ok: bool,
}

fn uptr(p: Ptr) -> UPtr {
    match p {
        Ptr::Valid => UPtr::Word,
        Ptr::Null => UPtr::Null,
        Ptr::Unmapped => UPtr::Unmapped,
        Ptr::Kernel => UPtr::Kernel,
    }
}

/// A word the kernel may have written: `None` while it holds the sentinel.
fn word(v: u32) -> Option<i64> {
    (v != WORD_SENTINEL).then_some(v as i32 as i64)
}

/// The CLONE_* bits that reach copy_process, and the exit signal.
fn effective(req: &Request) -> (u64, u64) {
    match req.syscall {
        Syscall::Fork => (0, SIGCHLD),
        Syscall::Vfork => (CLONE_VM | CLONE_VFORK, SIGCHLD),
        // kernel/fork.c SYSCALL_DEFINE5(clone): lower_32_bits, low byte = signal.
        Syscall::Clone => (req.flags & 0xffff_ff00, req.flags & 0xff),
        Syscall::Clone3 => (
            req.flags,
            req.clone3.as_ref().map_or(SIGCHLD, |a| a.exit_signal),
        ),
    }
}

fn reaped_by_code(code: u32) -> Option<ReapedBy> {
    match code {
        1 => Some(ReapedBy::Plain),
        2 => Some(ReapedBy::Wclone),
        3 => Some(ReapedBy::Wall),
        _ => None,
    }
}

fn rusage(r: &wait::Rusage) -> Rusage {
    Rusage {
        utime_us: r.utime_us,
        stime_us: r.stime_us,
        maxrss_kb: r.maxrss_kb,
        minflt: r.minflt,
        majflt: r.majflt,
        nvcsw: r.nvcsw,
        nivcsw: r.nivcsw,
    }
}

/// Reap a zombie child with the first of plain, __WCLONE, __WALL that
/// works (eligible_child in kernel/exit.c decides which).
pub(crate) fn reap_in_order(pid: i32) -> Result<(ReapedBy, wait::Reaped), forklore_sys::Errno> {
    let mut last = forklore_sys::Errno::ECHILD;
    for (opt, who) in [
        (0, ReapedBy::Plain),
        (WCLONE, ReapedBy::Wclone),
        (WALL, ReapedBy::Wall),
    ] {
        match wait::wait4(pid, WNOHANG | opt) {
            Ok(Some(r)) => return Ok((who, r)),
            Ok(None) => {}
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn record_to_obs(r: &ReapRecord, obs: &mut Observation) {
    obs.reaped_by = Some(ReapedBy::CallersParent);
    obs.reaper_option = reaped_by_code(r.option.load(Ordering::Relaxed));
    obs.wait_status = Some(r.status.load(Ordering::Relaxed));
    if r.has_rusage.load(Ordering::Relaxed) != 0 {
        let v: Vec<u64> = r
            .rusage
            .iter()
            .map(|x| x.load(Ordering::Relaxed) as u64)
            .collect();
        obs.rusage = Some(Rusage {
            utime_us: v[0],
            stime_us: v[1],
            maxrss_kb: v[2],
            minflt: v[3],
            majflt: v[4],
            nvcsw: v[5],
            nivcsw: v[6],
        });
    }
    if r.has_zombie.load(Ordering::Relaxed) != 0 {
        let n = (r.z_nspid_len.load(Ordering::Relaxed) as usize).min(r.z_nspid.len());
        let es = r.z_exit_signal.load(Ordering::Relaxed);
        let z = observe::ProcInfo {
            state: char::from(r.z_state.load(Ordering::Relaxed) as u8).to_string(),
            pid: r.z_pid.load(Ordering::Relaxed),
            tgid: r.z_tgid.load(Ordering::Relaxed),
            ppid: r.z_ppid.load(Ordering::Relaxed),
            threads: r.z_threads.load(Ordering::Relaxed) as u64,
            nspid: r.z_nspid[..n]
                .iter()
                .map(|x| x.load(Ordering::Relaxed))
                .collect(),
            exit_signal: (es != i32::MIN).then_some(es),
        };
        obs.zombie_state = Some(z.state.clone());
        obs.zombie = Some(z);
    }
}

impl<'a> Engine<'a> {
    pub fn new(
        mailbox: &'a Mailbox,
        res: Resources,
        arranged: &Arranged,
        ctx: &Context,
        helper_ok: bool,
    ) -> std::io::Result<Self> {
        let arena = Arena::new()?;
        let outer_proc = arranged
            .outer_proc
            .as_ref()
            .and_then(|f| f.try_clone().ok());
        let mut proc_dirs = vec![(arranged.procfs_level as i64, PathBuf::from("/proc"))];
        if let Some(f) = &outer_proc {
            proc_dirs.push((0, PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()))));
        }
        let not_open_fd = (100..).find(|fd| !fd::fd_is_open(*fd)).unwrap_or(1_000_000);
        let pid_max = ctx.pid_max as i32;
        let base = Baseline {
            sigmask: signal::sigmask(),
            dispositions: dispositions(),
            fds: observe::open_fds().into_iter().collect(),
            lowest_free_fd: fd::lowest_free_fd().unwrap_or(-1),
            nproc: rlimit(nix::sys::resource::Resource::RLIMIT_NPROC),
            nofile: rlimit(nix::sys::resource::Resource::RLIMIT_NOFILE),
            cwd: std::env::current_dir().ok(),
        };
        Ok(Engine {
            arena,
            mailbox,
            mail_seen: mailbox.posted.load(Ordering::Acquire),
            res,
            not_open_fd,
            caller_pid: std::process::id() as i32,
            caller_ppid: std::os::unix::process::parent_id() as i32,
            is_pidns_init: ctx.is_pidns_init,
            holder: arranged.holder,
            pid_max,
            kernel: ctx.kernel,
            children_level: ctx.pidns_level,
            proc_dirs,
            _outer_proc: outer_proc,
            nspid_abs: arranged.nspid_abs.clone(),
            outer_pid_max: arranged.outer_pid_max as i32,
            active_level: arranged.active_level as i64,
            unused_cursor: Default::default(),
            nested_cursor: 2000,
            base,
            helper_ok,
        })
    }

    /// A pid no task uses at `level` right now (set_tid `Unused`).
    /// `pid_max` of the namespace at `level`. Since 6.14 it is per
    /// namespace, and a new namespace starts at PID_MAX_LIMIT (4194304 on
    /// 64-bit), whatever its parent's is: kernel/pid_namespace.c
    /// create_pid_namespace sets `ns->pid_max = PID_MAX_LIMIT` (7863dcc72d0f
    /// "pid: allow pid_max to be set per pid namespace"); `unshare -p`
    /// shows the same on 6.18.
    fn level_pid_max(&self, level: i64) -> i32 {
        if level == self.active_level {
            self.pid_max
        } else if level == 0 {
            self.outer_pid_max
        } else if level > self.active_level && self.kernel >= KernelVersion::new(6, 14, 0) {
            4_194_304
        } else {
            self.pid_max
        }
    }

    /// A pid no task uses at `level` right now (set_tid `Unused`), looked
    /// up in a procfs that shows that level; high pids for levels none
    /// shows (fresh nested namespaces hold only the probe's few tasks).
    fn unused_pid(&mut self, level: i64) -> i32 {
        let max = self.level_pid_max(level);
        if let Some((_, dir)) = self.proc_dirs.iter().find(|(l, _)| *l == level) {
            let dir = dir.clone();
            let cur = self.unused_cursor.entry(level).or_insert(max - 1);
            for _ in 0..max {
                let p = *cur;
                if !dir.join(p.to_string()).exists() {
                    return p;
                }
                *cur = if p <= 300 { max - 1 } else { p - 1 };
            }
            *cur
        } else {
            self.nested_cursor += 1;
            if self.nested_cursor >= max.min(self.pid_max) {
                self.nested_cursor = 2000;
            }
            self.nested_cursor
        }
    }

    fn resolve_set_tid(&mut self, flags: u64, entries: &[TidSpec]) -> Vec<i32> {
        let child_level = self.children_level as i64 + (flags & CLONE_NEWPID != 0) as i64;
        let mut out = Vec::with_capacity(entries.len());
        for (i, t) in entries.iter().enumerate() {
            let level = child_level - i as i64;
            out.push(match *t {
                TidSpec::Value(v) => v,
                TidSpec::PidMax => self.level_pid_max(level),
                TidSpec::CallerPid => {
                    if level >= 0 && (level as usize) < self.nspid_abs.len() {
                        self.nspid_abs[level as usize]
                    } else {
                        self.caller_pid
                    }
                }
                TidSpec::Unused => self.unused_pid(level),
            });
        }
        out
    }

    fn cgroup_fd(&self, c: CgroupFd, obs: &mut Observation) -> Result<u64, String> {
        let fd = |f: &Option<File>, why: &str| -> Result<u64, String> {
            f.as_ref()
                .map(|f| f.as_raw_fd() as u64)
                .ok_or_else(|| why.to_string())
        };
        match c {
            CgroupFd::Zero => Ok(0),
            CgroupFd::Raw(v) => Ok(v),
            CgroupFd::NotOpen => Ok(self.not_open_fd as u64),
            CgroupFd::RegularFile => fd(&self.res.regular_file, "cannot create a regular file"),
            CgroupFd::NonCgroupDir => fd(&self.res.non_cgroup_dir, "cannot open /"),
            CgroupFd::CgroupV1Dir => fd(&self.res.cgroup_v1, "no cgroup v1 hierarchy is mounted"),
            CgroupFd::Cgroup2 { created, .. } => {
                let t = if created {
                    &self.res.cg2_created
                } else {
                    &self.res.cg2_root
                };
                let Some(t) = t else {
                    return Err(if created {
                        self.res
                            .cg2_created_err
                            .clone()
                            .unwrap_or("no created cgroup".into())
                    } else {
                        "no cgroup2 hierarchy is mounted".into()
                    });
                };
                obs.cgroup_procs_writable = Some(t.procs_writable);
                obs.cgroup_ancestor_writable = Some(t.ancestor_writable);
                Ok(t.file.as_raw_fd() as u64)
            }
        }
    }

    /// Turn the request into a call with every pointer symbolic.
    fn build(
        &mut self,
        req: &Request,
        full: bool,
        obs: &mut Observation,
    ) -> Result<CallSpec, String> {
        let (flags, _) = effective(req);
        let vfork = flags & CLONE_VFORK != 0;
        let thread = flags & CLONE_THREAD != 0;
        let kind = match req.syscall {
            Syscall::Fork => CallKind::Fork,
            Syscall::Vfork => CallKind::Vfork,
            Syscall::Clone => CallKind::Clone,
            Syscall::Clone3 => CallKind::Clone3,
        };
        let clone3 = if req.syscall == Syscall::Clone3 {
            let a = req.clone3.clone().unwrap_or_default();
            let set_tid = match &a.set_tid {
                None => None,
                Some(st) => {
                    let entries = self.resolve_set_tid(flags, &st.entries);
                    obs.set_tid = Some(entries.clone());
                    Some(SetTidArg {
                        ptr: uptr(st.ptr),
                        size: st.size,
                        entries,
                    })
                }
            };
            let cgroup = self.cgroup_fd(a.cgroup, obs)?;
            Some((
                Clone3Block {
                    size: a.size,
                    mem: match a.mem {
                        ArgsMem::Valid => BlockMem::Valid,
                        ArgsMem::Null => BlockMem::Null,
                        ArgsMem::Unmapped => BlockMem::Unmapped,
                        ArgsMem::Truncated(n) => BlockMem::Truncated(n),
                    },
                    tail_nonzero_at: a.tail_nonzero_at,
                    exit_signal: a.exit_signal,
                    set_tid,
                    cgroup,
                },
                uptr(a.pidfd),
                a.pidfd_is_parent_tid,
            ))
        } else {
            None
        };
        let (block, pidfd, same) = match clone3 {
            Some((b, p, s)) => (Some(b), p, s),
            None => (None, UPtr::Word, false),
        };
        Ok(CallSpec {
            kind,
            flags: req.flags,
            parent_tid: uptr(req.parent_tid),
            child_tid: uptr(req.child_tid),
            pidfd,
            pidfd_is_parent_tid: same,
            tls: match req.tls {
                Tls::Valid => TlsArg::Dummy,
                Tls::Raw(v) => TlsArg::Raw(v),
            },
            stack: match req.stack {
                Stack::Inherit => StackArg::Inherit,
                Stack::Fresh => StackArg::Fresh,
                Stack::Raw { stack, size } => StackArg::Raw { stack, size },
            },
            clone3: block,
            child: ChildPlan {
                // Full: keep the child alive for /proc. Never for VFORK: the
                // caller is suspended until the child exits.
                wait_go: full && !vfork,
                set_join_address: thread
                    && !(flags & CLONE_CHILD_CLEARTID != 0 && req.child_tid == Ptr::Valid),
                exit_code: CHILD_EXIT_CODE,
            },
        })
    }

    pub fn run(&mut self, case: &ProbeCase) -> Observation {
        if case.id.starts_with(CRASH_PROBE_ID_PREFIX) {
            crash_self();
        }
        if case.id.starts_with(STALL_PROBE_ID_PREFIX) {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        let mut obs = self.run_inner(case);
        if !obs.helper_caller {
            obs.caller_pid = self.caller_pid;
            obs.caller_ppid = self.caller_ppid;
        }
        let (flags, _) = effective(&case.request);
        self.restore(&mut obs, flags, case.observe == ObserveLevel::Full);
        obs
    }

    fn run_inner(&mut self, case: &ProbeCase) -> Observation {
        let req = &case.request;
        let full = case.observe == ObserveLevel::Full;
        let mut obs = Observation::default();
        let spec = match self.build(req, full, &mut obs) {
            Ok(s) => s,
            Err(reason) => {
                return Observation {
                    skipped: Some(reason),
                    outcome: CaseOutcome::Skipped,
                    ..obs
                }
            }
        };
        let (flags, exit_signal) = effective(req);
        let thread = flags & CLONE_THREAD != 0;
        let parent = flags & CLONE_PARENT != 0;
        self.mailbox.full.store(full as u32, Ordering::Relaxed);
        // A SIGKILL exit signal kills the caller when the child exits
        // (do_notify_parent), unless the caller is a pid-namespace init
        // (signals from inside are ignored there). Run it in a throwaway
        // caller so the probe survives.
        if !thread && !parent && exit_signal == libc::SIGKILL as u64 && !self.is_pidns_init {
            if !self.helper_ok {
                return Observation {
                    skipped: Some(
                        "exit_signal SIGKILL needs a throwaway caller, which would change \
                         this context's task count"
                            .into(),
                    ),
                    outcome: CaseOutcome::Skipped,
                    ..obs
                };
            }
            return self.run_in_helper(req, spec, full, obs);
        }
        match self.call_and_peek(req, &spec, full, &mut obs) {
            Some(peek) => self.finish(req, &spec, full, peek, obs),
            None => obs,
        }
    }

    /// Issue the call and observe what can be seen before the child is
    /// released: return value, words, pidfd, and (Full) /proc while alive.
    /// `None` when there is no child to finish (error or broken).
    fn call_and_peek(
        &mut self,
        req: &Request,
        spec: &CallSpec,
        full: bool,
        obs: &mut Observation,
    ) -> Option<Peek> {
        let (flags, _) = effective(req);
        let vfork = flags & CLONE_VFORK != 0;
        let t0 = Instant::now();
        let ret = match self.arena.call(spec) {
            Ok(r) => r,
            Err(e) => {
                let _ = self.arena.renew();
                obs.broken = Some(e.to_string());
                obs.outcome = CaseOutcome::Broken;
                return None;
            }
        };
        obs.call_ns = t0.elapsed().as_nanos() as u64;
        let exited_at_return = self.arena.ctl().exited.load(Ordering::Acquire) != 0;
        let sh = self.arena.shared();
        let parent_tid_word = word(sh.parent_tid.load(Ordering::Acquire));
        let pidfd_word = word(sh.pidfd.load(Ordering::Acquire));
        obs.ret = Some(ret);
        obs.parent_tid = parent_tid_word;
        if ret < 0 {
            obs.outcome = CaseOutcome::Error;
            obs.errno = Some(Errno((-ret) as i32));
            self.arena.child_gone();
            return None;
        }
        obs.outcome = CaseOutcome::Success;
        // With the go-ahead handshake (Full) a child cannot exit before the
        // caller looks unless the caller was suspended. Without it (Light),
        // "already exited" can also be a child that simply ran first: only
        // "not exited" is conclusive, except for CLONE_VFORK where the
        // child never waits anyway.
        obs.caller_suspended = if spec.child.wait_go || vfork || !exited_at_return {
            Some(exited_at_return)
        } else {
            None
        };
        let tid = ret as i32;

        // The pidfd: legacy clone writes it to parent_tid; clone3 to pidfd.
        let mut pidfd = None;
        if flags & CLONE_PIDFD != 0 {
            let slot = match req.syscall {
                Syscall::Clone => parent_tid_word,
                Syscall::Clone3 if spec.pidfd_is_parent_tid => parent_tid_word,
                Syscall::Clone3 => pidfd_word,
                _ => None,
            };
            if let Some(fd) = slot {
                let fd = fd as i32;
                if fd >= 0 && signal::pidfd_send_signal(fd, 0) != Err(forklore_sys::Errno::EBADF) {
                    let fl = fd::fcntl_getfl(fd).unwrap_or(0) as u32;
                    obs.pidfd = Some(if fl & observe::PIDFD_THREAD != 0 {
                        PidfdKind::Thread
                    } else {
                        PidfdKind::Process
                    });
                    pidfd = Some(fd);
                }
            }
        }

        if full && !vfork {
            if self.arena.wait_started(WAIT_LIMIT) {
                // The report is written just before the child blocks on the
                // go-ahead futex: give it a moment to be seen sleeping.
                let mut info = observe::proc_info(tid);
                let until = Instant::now() + Duration::from_millis(50);
                while matches!(&info, Ok(p) if p.state == "R") && Instant::now() < until {
                    std::thread::yield_now();
                    info = observe::proc_info(tid);
                }
                if let Ok(p) = info {
                    obs.proc_state = Some(p.state.clone());
                    obs.exit_signal = p.exit_signal;
                    obs.proc = Some(p);
                }
            }
            if let Some(fd) = pidfd {
                obs.pidfd_pid = observe::pidfd_info(fd).ok().and_then(|i| i.pid);
            }
        }

        Some(Peek { tid, pidfd })
    }

    /// Release the child, wait for it to be gone (reaped, joined or
    /// reported by the reaper), and collect the rest.
    fn finish(
        &mut self,
        req: &Request,
        spec: &CallSpec,
        full: bool,
        peek: Peek,
        mut obs: Observation,
    ) -> Observation {
        let (flags, _) = effective(req);
        let thread = flags & CLONE_THREAD != 0;
        let parent = flags & CLONE_PARENT != 0;
        let Peek { tid, pidfd } = peek;
        let mut gone = true;
        if thread {
            // Threads are on the thread list, not `children`: not waitable.
            let w = wait::wait4(tid, WNOHANG | WALL);
            self.arena.release();
            let which = if spec.child.set_join_address {
                JoinWord::Join
            } else {
                JoinWord::ChildTid
            };
            if !self.arena.wait_cleared(which, WAIT_LIMIT) || !self.wait_thread_gone(tid) {
                gone = false;
                obs.outcome = CaseOutcome::Broken;
                obs.broken = Some("the CLONE_THREAD child did not exit".into());
            }
            obs.reaped_by = Some(ReapedBy::None);
            obs.wait_errno = w.err().map(|e| Errno(e.raw()));
        } else if parent {
            self.arena.release();
            let (rec, seen) = self.mailbox.wait_for(tid, self.mail_seen, WAIT_LIMIT);
            self.mail_seen = seen;
            match rec {
                Some(r) => record_to_obs(r, &mut obs),
                None => {
                    gone = false;
                    obs.outcome = CaseOutcome::Broken;
                    obs.broken = Some("the reaper did not report the CLONE_PARENT child".into());
                }
            }
        } else {
            self.arena.release();
            match wait::waitid(wait::P_PID, tid, WEXITED | WNOWAIT | WALL) {
                Ok(Some(_)) => {
                    if full {
                        if let Ok(z) = observe::proc_info(tid) {
                            obs.zombie_state = Some(z.state.clone());
                            obs.zombie = Some(z);
                        }
                    }
                    match reap_in_order(tid) {
                        Ok((who, r)) => {
                            obs.reaped_by = Some(who);
                            obs.wait_status = Some(r.status);
                            obs.rusage = full.then(|| rusage(&r.rusage));
                        }
                        Err(e) => {
                            obs.reaped_by = Some(ReapedBy::None);
                            obs.wait_errno = Some(Errno(e.raw()));
                        }
                    }
                }
                // Gone without a zombie: auto-reaped (SIGCHLD ignored).
                Err(forklore_sys::Errno::ECHILD) => {
                    obs.reaped_by = Some(ReapedBy::None);
                    obs.wait_errno = Some(Errno(libc::ECHILD));
                }
                Ok(None) | Err(_) => {
                    gone = false;
                    obs.outcome = CaseOutcome::Broken;
                    obs.broken = Some("waitid on the child failed".into());
                }
            }
        }
        if let Some(z) = &obs.zombie {
            obs.exit_signal = z.exit_signal.or(obs.exit_signal);
        }

        let c = self.arena.ctl();
        if c.started.load(Ordering::Acquire) != 0 {
            obs.pid = Some(c.tid.load(Ordering::Relaxed));
            obs.tgid = Some(c.pid.load(Ordering::Relaxed));
            obs.ppid = Some(c.ppid.load(Ordering::Relaxed));
            let seen = c.child_tid_seen.load(Ordering::Relaxed);
            obs.child_tid = if seen == NOT_READ {
                None
            } else {
                word(seen as u32)
            };
        }
        if req.child_tid == Ptr::Valid {
            obs.child_tid_after_exit = word(self.arena.shared().child_tid.load(Ordering::Acquire));
        }
        if let Some(fd) = pidfd {
            let _ = fd::close_pidfd(fd);
        }
        if gone {
            self.arena.child_gone();
        } else {
            // The child may still run on the arena: abandon it.
            let _ = self.arena.renew();
        }
        obs
    }

    /// Run a case whose child's exit kills its caller: fork a throwaway
    /// caller (the worker is single-threaded here), let it issue the call
    /// and report what it saw before releasing the child over a pipe, then
    /// observe its death. The orphaned zombie goes to the reaper (the
    /// subreaper), which reports it through the mailbox.
    fn run_in_helper(
        &mut self,
        req: &Request,
        mut spec: CallSpec,
        full: bool,
        mut obs: Observation,
    ) -> Observation {
        use std::io::{Read, Write};
        let (flags, _) = effective(req);
        let vfork = flags & CLONE_VFORK != 0;
        // The helper must report before the child may exit.
        spec.child.wait_go = !vfork;
        obs.helper_caller = true;
        let (rd, wr) = match nix::unistd::pipe() {
            Ok(p) => p,
            Err(e) => {
                obs.outcome = CaseOutcome::Broken;
                obs.broken = Some(format!("pipe: {e}"));
                return obs;
            }
        };
        let helper = match process::fork_single_threaded(libc::SIGCHLD as u64) {
            Err(e) => {
                obs.outcome = CaseOutcome::Broken;
                obs.broken = Some(format!("cannot fork a throwaway caller: errno {e}"));
                return obs;
            }
            Ok(Forked::Child) => {
                drop(rd);
                let mut o = obs.clone();
                o.caller_pid = std::process::id() as i32;
                o.caller_ppid = std::os::unix::process::parent_id() as i32;
                let peek = self.call_and_peek(req, &spec, full, &mut o);
                let mut line = serde_json::to_vec(&o).unwrap_or_default();
                line.push(b'\n');
                let mut f = File::from(wr);
                let _ = f.write_all(&line);
                drop(f);
                if peek.is_none() {
                    process::exit_now(0);
                }
                self.arena.release();
                // The child's exit signal ends this process.
                std::thread::sleep(WAIT_LIMIT);
                process::exit_now(0)
            }
            Ok(Forked::Parent { child }) => child,
        };
        drop(wr);
        let mut text = String::new();
        let _ = File::from(rd).read_to_string(&mut text);
        if let Some(r) = wait::wait4(helper, WALL).ok().flatten() {
            if libc::WIFSIGNALED(r.status) {
                obs.caller_killed_by = Some(libc::WTERMSIG(r.status));
            }
        }
        let killed_by = obs.caller_killed_by;
        if let Ok(o) = serde_json::from_str::<Observation>(text.trim()) {
            obs = o;
        } else {
            // Killed before it could report (CLONE_VFORK: suspended until
            // the child exited). Take what the child reported.
            obs.caller_suspended = Some(true);
            obs.caller_pid = helper;
            obs.caller_ppid = self.caller_pid;
        }
        obs.helper_caller = true;
        obs.caller_killed_by = killed_by;
        let c = self.arena.ctl();
        let started = c.started.load(Ordering::Acquire) != 0;
        let child = match obs.ret {
            Some(r) if r > 0 => Some(r as i32),
            Some(_) => None,
            None if started && flags & CLONE_NEWPID == 0 => Some(c.tid.load(Ordering::Relaxed)),
            None => None,
        };
        if obs.ret.is_none() && started {
            obs.outcome = CaseOutcome::Success;
        }
        if started {
            obs.pid = Some(c.tid.load(Ordering::Relaxed));
            obs.tgid = Some(c.pid.load(Ordering::Relaxed));
            obs.ppid = Some(c.ppid.load(Ordering::Relaxed));
            let seen = c.child_tid_seen.load(Ordering::Relaxed);
            obs.child_tid = if seen == NOT_READ {
                None
            } else {
                word(seen as u32)
            };
        }
        let mut gone = !started;
        if let Some(pid) = child {
            let (rec, seen) = self.mailbox.wait_for(pid, self.mail_seen, WAIT_LIMIT);
            self.mail_seen = seen;
            if let Some(r) = rec {
                record_to_obs(r, &mut obs);
                // Reaped by the subreaper after its caller died, not by the caller.
                obs.reaped_by = Some(ReapedBy::None);
                gone = true;
            }
        }
        if req.child_tid == Ptr::Valid {
            obs.child_tid_after_exit = word(self.arena.shared().child_tid.load(Ordering::Acquire));
        }
        if !gone {
            let _ = self.arena.renew();
        }
        obs
    }

    /// After CHILD_CLEARTID woke us the thread is still in do_exit; wait
    /// until it is released (tgkill says ESRCH) so the probe is
    /// single-threaded again before the next case.
    fn wait_thread_gone(&self, tid: i32) -> bool {
        let deadline = Instant::now() + WAIT_LIMIT;
        let mut spins = 0u32;
        while signal::tgkill(self.caller_pid, tid, 0) != Err(forklore_sys::Errno::ESRCH) {
            if Instant::now() > deadline {
                return false;
            }
            spins += 1;
            if spins > 100 {
                std::thread::sleep(Duration::from_micros(50));
            } else {
                std::thread::yield_now();
            }
        }
        true
    }

    /// Verify and restore what a case may have changed in the worker.
    fn restore(&mut self, obs: &mut Observation, _flags: u64, full: bool) {
        // zap_pid_ns_processes() sets SIGCHLD to SIG_IGN in a handler table
        // shared through CLONE_SIGHAND (model-spec §3.5).
        if signal::signal_disposition(libc::SIGCHLD).map(|d| d.0) != Ok(Disposition::Default) {
            let _ = signal::set_signal_disposition(libc::SIGCHLD, Disposition::Default);
            obs.restored.push("SIGCHLD disposition".into());
        }
        // Only SIGCHLD is known to change (above); the full check is for Full cases.
        if full {
            let mut changed = false;
            for (sig, d) in &self.base.dispositions {
                if *sig == libc::SIGCHLD {
                    continue;
                }
                if signal::signal_disposition(*sig).map(|x| x.0).ok() != Some(*d) {
                    let _ = signal::set_signal_disposition(*sig, *d);
                    changed = true;
                }
            }
            if changed {
                obs.restored.push("signal dispositions".into());
            }
        }
        if signal::sigmask() != self.base.sigmask {
            signal::set_sigmask(self.base.sigmask);
            obs.restored.push("signal mask".into());
        }
        // Children left behind (none should be: every case reaps its own).
        while let Ok(Some(r)) = wait::wait4(-1, WNOHANG | WALL) {
            if Some(r.pid) != self.holder {
                obs.restored.push(format!("unreaped child {}", r.pid));
            }
        }
        // Leaked descriptors: a pidfd is always allocated at the lowest free
        // number, so a leak shows there first.
        if fd::lowest_free_fd().unwrap_or(-1) != self.base.lowest_free_fd {
            let mut closed = false;
            for fd in observe::open_fds() {
                if !self.base.fds.contains(&fd) && fd::close_pidfd(fd).is_ok() {
                    closed = true;
                }
            }
            if closed {
                obs.restored.push("open fds".into());
            }
        }
        if full {
            use nix::sys::resource::{setrlimit, Resource};
            for (r, base, name) in [
                (Resource::RLIMIT_NPROC, self.base.nproc, "RLIMIT_NPROC"),
                (Resource::RLIMIT_NOFILE, self.base.nofile, "RLIMIT_NOFILE"),
            ] {
                if let Some((s, h)) = base {
                    if rlimit(r) != Some((s, h)) {
                        let _ = setrlimit(r, s, h);
                        obs.restored.push(name.into());
                    }
                }
            }
            if let Some(cwd) = &self.base.cwd {
                if std::env::current_dir().ok().as_ref() != Some(cwd) {
                    let _ = std::env::set_current_dir(cwd);
                    obs.restored.push("cwd".into());
                }
            }
        }
    }
}

/// Test-only: die by SIGSEGV as a crashing case would.
fn crash_self() -> ! {
    let _ = signal::set_signal_disposition(libc::SIGSEGV, Disposition::Default);
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSEGV);
    process::exit_now(139)
}
