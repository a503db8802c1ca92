//! Running one case in the worker: lower the request, call through the
//! trampoline, observe, reap or join, and put the worker back the way it
//! was. A case whose child's exit signal would kill its caller runs in a
//! throwaway caller forked for it.

use crate::baseline::Baseline;
use crate::context::Arranged;
use crate::lower::{lower, Lowered};
use crate::pids::PidSpace;
use crate::protocol::{
    CaseOutcome, Observation, ObserveLevel, ProbeCase, CRASH_PROBE_ID_PREFIX, STALL_PROBE_ID_PREFIX,
};
use crate::resources::Resources;
use crate::stages::Stages;
use crate::wait::{read_record, reap_in_order};
use forklore_model::ptrace::Tracer;
use forklore_model::{Context, Errno, PidfdKind, Ptr, ReapedBy, Syscall};
use forklore_observe as observe;
use forklore_sys::clone::{Arena, JoinWord, NOT_READ, WORD_SENTINEL};
use forklore_sys::mailbox::Mailbox;
use forklore_sys::wait::{WALL, WEXITED, WNOHANG, WNOWAIT};
use forklore_sys::{self as sys, Disposition, Forked};
use std::fs::File;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const WAIT_LIMIT: Duration = Duration::from_secs(10);

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
    pids: PidSpace,
    ctx: Context,
    caller_pid: i32,
    caller_ppid: i32,
    base: Baseline,
    /// Cases may fork a throwaway caller (not in RLIMIT_NPROC contexts).
    helper_ok: bool,
    /// The worker's own TracerPid (0: not traced).
    tracer_pid: i32,
    /// Per-stage time (FORKLORE_STAGES).
    pub(crate) stages: Stages,
}

/// How close to RLIMIT_NPROC the context's task count must be for an
/// EAGAIN to be checked against a changed count ([`Engine::nproc_short`]).
const TASKS_NEAR: u64 = 64;

/// A word the kernel may have written: `None` while it holds the sentinel.
fn word(v: u32) -> Option<i64> {
    (v != WORD_SENTINEL).then_some(v as i32 as i64)
}

impl<'a> Engine<'a> {
    /// After an EAGAIN: the caller's uid is at its RLIMIT_NPROC now and
    /// its task count is not what the context measured (the model's
    /// input), so tasks that appeared since, such as the suite's other
    /// probes and their children when they share the runner's uid, may
    /// have taken the last slot. Only looked at when the limit was within
    /// reach at detection (a /proc scan).
    fn nproc_short(&self) -> Option<String> {
        let n = self.ctx.nproc.as_ref()?;
        if n.count.saturating_add(TASKS_NEAR) < n.limit {
            return None;
        }
        let uid = nix::unistd::getuid().as_raw();
        let now = forklore_observe::tasks_of_ruid(uid);
        (now >= n.limit && now != n.count).then(|| {
            format!(
                "RLIMIT_NPROC {} for uid {uid}: {now} tasks of that uid now, {} when the context \
                 was detected (the suite's other probes count when they share the uid)",
                n.limit, n.count
            )
        })
    }

    /// Set up the case memory and capture the baseline: call once the
    /// context is arranged, before the first case.
    pub fn new(
        mailbox: &'a Mailbox,
        res: Resources,
        arranged: &Arranged,
        ctx: &Context,
        helper_ok: bool,
    ) -> std::io::Result<Self> {
        let arena = Arena::new()?;
        // Before the baseline: the pid space keeps a descriptor open.
        let pids = PidSpace::new(&arranged.pids, ctx);
        let base = Baseline::capture(arranged.holder);
        Ok(Engine {
            arena,
            mailbox,
            mail_seen: mailbox.posted.load(Ordering::Acquire),
            res,
            pids,
            ctx: ctx.clone(),
            caller_pid: std::process::id() as i32,
            caller_ppid: std::os::unix::process::parent_id() as i32,
            base,
            helper_ok,
            tracer_pid: observe::self_tracer_pid(),
            stages: Stages::from_env(),
        })
    }

    /// Run one case and put the worker back the way it was.
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
        let m = self.stages.start();
        self.base
            .restore(&mut obs, case.observe == ObserveLevel::Full);
        self.stages.stop("probe.restore", m);
        obs
    }

    fn run_inner(&mut self, case: &ProbeCase) -> Observation {
        let req = &case.request;
        let full = case.observe == ObserveLevel::Full;
        // set_tid names a pid per pid-namespace level, judged against the
        // caller's depth and each level's pid_max (alloc_pid): unknowable
        // from inside a nested pid namespace.
        if let Some(why) = self.ctx.missing("pidns-outer") {
            if req.clone3.as_ref().is_some_and(|a| a.set_tid.is_some()) {
                return Observation::skipped(format!("{why}; set_tid is judged against them"));
            }
        }
        let call = match lower(req, &self.ctx, full, &mut self.pids, &self.res) {
            Ok(c) => c,
            Err(reason) => return Observation::skipped(reason),
        };
        let mut obs = Observation {
            set_tid: call.set_tid.clone(),
            cgroup_procs_writable: call.cgroup_access.map(|a| a.procs_writable),
            cgroup_ancestor_writable: call.cgroup_access.map(|a| a.ancestor_writable),
            ..Observation::default()
        };
        self.mailbox.full.store(full as u32, Ordering::Relaxed);
        // A SIGKILL exit signal kills the caller when the child exits
        // (do_notify_parent), unless the caller is a pid-namespace init
        // (signals from inside are ignored there). Run it in a throwaway
        // caller so the probe survives.
        if !call.thread()
            && !call.parent()
            && call.exit_signal() == libc::SIGKILL as u64
            && !self.ctx.is_pidns_init
        {
            if let Some(why) = self.ctx.missing("subreaper") {
                // The child outlives its throwaway caller: only a
                // subreaper collects it (and reports how it ended).
                return Observation {
                    skipped: Some(format!(
                        "{why}; exit_signal SIGKILL runs in a throwaway caller whose orphan \
                         only a subreaper collects"
                    )),
                    outcome: CaseOutcome::Skipped,
                    ..obs
                };
            }
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
            let m = self.stages.start();
            let obs = self.run_in_helper(call, full, obs);
            self.stages.stop("probe.throwaway-caller", m);
            return obs;
        }
        let m = self.stages.start();
        let peek = self.call_and_peek(&call, full, &mut obs);
        self.stages.stop(
            if peek.is_some() {
                "probe.call+observe(child)"
            } else {
                "probe.call(error)"
            },
            m,
        );
        match peek {
            Some(peek) => {
                let m = self.stages.start();
                let obs = self.finish(&call, full, peek, obs);
                self.stages.stop("probe.release+reap", m);
                obs
            }
            None => obs,
        }
    }

    /// Issue the call and observe what can be seen before the child is
    /// released: return value, words, pidfd, and (Full) /proc while alive.
    /// `None` when there is no child to finish (error or broken).
    fn call_and_peek(&mut self, call: &Lowered, full: bool, obs: &mut Observation) -> Option<Peek> {
        let spec = &call.spec;
        let vfork = call.vfork();
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
            if obs.errno == Some(Errno::EAGAIN) {
                obs.pids_short =
                    forklore_observe::limits::pids_tight().or_else(|| self.nproc_short());
            }
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
        if call.pidfd() {
            let slot = match call.kargs.syscall {
                Syscall::Clone => parent_tid_word,
                Syscall::Clone3 if spec.pidfd_is_parent_tid => parent_tid_word,
                Syscall::Clone3 => pidfd_word,
                _ => None,
            };
            if let Some(fd) = slot {
                let fd = fd as i32;
                if fd >= 0 && sys::pidfd_send_signal(fd, 0) != Err(sys::Errno::EBADF) {
                    let fl = sys::fcntl_getfl(fd).unwrap_or(0) as u32;
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
                    if self.tracer_pid != 0 {
                        obs.tracer = Some(if p.tracer_pid == 0 {
                            Tracer::None
                        } else if p.tracer_pid == self.tracer_pid {
                            Tracer::CallersTracer
                        } else {
                            Tracer::Other
                        });
                    }
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
        call: &Lowered,
        full: bool,
        peek: Peek,
        mut obs: Observation,
    ) -> Observation {
        let spec = &call.spec;
        let thread = call.thread();
        let parent = call.parent();
        let Peek { tid, pidfd } = peek;
        let mut gone = true;
        if thread {
            // Threads are on the thread list, not `children`: not waitable.
            let w = sys::wait4(tid, WNOHANG | WALL);
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
        } else if parent && !self.own_child(tid) {
            self.arena.release();
            let (rec, seen) = self.mailbox.wait_for(tid, self.mail_seen, WAIT_LIMIT);
            self.mail_seen = seen;
            match rec {
                Some(r) => read_record(r, &mut obs),
                None => {
                    gone = false;
                    obs.outcome = CaseOutcome::Broken;
                    obs.broken = Some("the reaper did not report the CLONE_PARENT child".into());
                }
            }
        } else {
            // Also a CLONE_PARENT child the environment made the caller's
            // own (gVisor does): observed as such, and judged.
            self.arena.release();
            gone = self.reap_own(tid, full, &mut obs);
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
        if call.kargs.child_tid == Ptr::Valid {
            obs.child_tid_after_exit = word(self.arena.shared().child_tid.load(Ordering::Acquire));
        }
        if let Some(fd) = pidfd {
            let _ = sys::close_pidfd(fd);
        }
        if gone {
            self.arena.child_gone();
        } else {
            // The child may still run on the arena: abandon it.
            let _ = self.arena.renew();
        }
        obs
    }

    /// `tid` is a child of this process (waitid finds it): a CLONE_PARENT
    /// child should not be (Linux makes it the caller's parent's).
    fn own_child(&self, tid: i32) -> bool {
        !matches!(
            sys::waitid(
                forklore_sys::wait::P_PID,
                tid,
                WEXITED | WNOHANG | WNOWAIT | WALL
            ),
            Err(sys::Errno::ECHILD)
        )
    }

    /// Wait for our child `tid` to exit, read its zombie when `full`, and
    /// reap it. `false`: it is still there (the case is broken).
    fn reap_own(&mut self, tid: i32, full: bool, obs: &mut Observation) -> bool {
        let mut gone = true;
        match sys::waitid(forklore_sys::wait::P_PID, tid, WEXITED | WNOWAIT | WALL) {
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
                        obs.rusage = full.then_some(r.rusage);
                    }
                    Err(e) => {
                        obs.reaped_by = Some(ReapedBy::None);
                        obs.wait_errno = Some(Errno(e.raw()));
                    }
                }
            }
            // Gone without a zombie: auto-reaped (SIGCHLD ignored).
            Err(sys::Errno::ECHILD) => {
                obs.reaped_by = Some(ReapedBy::None);
                obs.wait_errno = Some(Errno(libc::ECHILD));
            }
            Ok(None) | Err(_) => {
                gone = false;
                obs.outcome = CaseOutcome::Broken;
                obs.broken = Some("waitid on the child failed".into());
            }
        }
        gone
    }

    /// Run a case whose child's exit kills its caller: fork a throwaway
    /// caller (the worker is single-threaded here), let it issue the call
    /// and report what it saw before releasing the child over a pipe, then
    /// observe its death. The orphaned zombie goes to the reaper (the
    /// subreaper), which reports it through the mailbox.
    fn run_in_helper(
        &mut self,
        mut call: Lowered,
        full: bool,
        mut obs: Observation,
    ) -> Observation {
        use std::io::{Read, Write};
        let vfork = call.vfork();
        // The helper must report before the child may exit.
        call.spec.child.wait_go = !vfork;
        obs.helper_caller = true;
        let (rd, wr) = match nix::unistd::pipe() {
            Ok(p) => p,
            Err(e) => {
                obs.outcome = CaseOutcome::Broken;
                obs.broken = Some(format!("pipe: {e}"));
                return obs;
            }
        };
        let helper = match sys::fork_single_threaded(libc::SIGCHLD as u64) {
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
                let peek = self.call_and_peek(&call, full, &mut o);
                let mut line = serde_json::to_vec(&o).unwrap_or_default();
                line.push(b'\n');
                let mut f = File::from(wr);
                let _ = f.write_all(&line);
                drop(f);
                if peek.is_none() {
                    sys::exit_now(0);
                }
                self.arena.release();
                // The child's exit signal ends this process.
                std::thread::sleep(WAIT_LIMIT);
                sys::exit_now(0)
            }
            Ok(Forked::Parent { child }) => child,
        };
        drop(wr);
        let mut text = String::new();
        let _ = File::from(rd).read_to_string(&mut text);
        if let Some(r) = sys::wait4(helper, WALL).ok().flatten() {
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
            None if started && !call.new_pidns() => Some(c.tid.load(Ordering::Relaxed)),
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
                read_record(r, &mut obs);
                // Reaped by the subreaper after its caller died, not by the caller.
                obs.reaped_by = Some(ReapedBy::None);
                gone = true;
            }
        }
        if call.kargs.child_tid == Ptr::Valid {
            obs.child_tid_after_exit = word(self.arena.shared().child_tid.load(Ordering::Acquire));
        }
        if !gone {
            let _ = self.arena.renew();
        }
        obs
    }

    /// The suite floor for one case: the raw call, and for a created child
    /// the release and the reaping (or join) it needs before the next
    /// case. No /proc, no pidfd checks, no restore. `None`: the case does
    /// not run this way (skipped when lowered, or its child's exit signal
    /// needs a throwaway caller).
    pub fn run_floor(&mut self, case: &ProbeCase) -> Option<i64> {
        let call = lower(&case.request, &self.ctx, false, &mut self.pids, &self.res).ok()?;
        if !call.thread()
            && !call.parent()
            && call.exit_signal() == libc::SIGKILL as u64
            && !self.ctx.is_pidns_init
        {
            return None;
        }
        let ret = match self.arena.call(&call.spec) {
            Ok(r) => r,
            Err(_) => {
                let _ = self.arena.renew();
                return None;
            }
        };
        if ret < 0 {
            self.arena.child_gone();
            return Some(ret);
        }
        // A pidfd the kernel wrote must be closed (legacy clone: in parent_tid).
        let pidfd = call
            .pidfd()
            .then(|| {
                let sh = self.arena.shared();
                let w = match (call.kargs.syscall, call.spec.pidfd_is_parent_tid) {
                    (Syscall::Clone, _) | (Syscall::Clone3, true) => &sh.parent_tid,
                    _ => &sh.pidfd,
                };
                word(w.load(Ordering::Acquire)).map(|fd| fd as i32)
            })
            .flatten()
            .filter(|fd| *fd >= 0);
        let peek = Peek {
            tid: ret as i32,
            pidfd,
        };
        let _ = self.finish(&call, false, peek, Observation::default());
        Some(ret)
    }

    /// After CHILD_CLEARTID woke us the thread is still in do_exit; wait
    /// until it is released (tgkill says ESRCH) so the probe is
    /// single-threaded again before the next case.
    fn wait_thread_gone(&self, tid: i32) -> bool {
        let deadline = Instant::now() + WAIT_LIMIT;
        let mut spins = 0u32;
        while sys::tgkill(self.caller_pid, tid, 0) != Err(sys::Errno::ESRCH) {
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
}

/// Test-only: die by SIGSEGV as a crashing case would.
fn crash_self() -> ! {
    let _ = sys::set_signal_disposition(libc::SIGSEGV, Disposition::Default);
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSEGV);
    sys::exit_now(139)
}
