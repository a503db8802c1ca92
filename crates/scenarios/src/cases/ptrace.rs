//! ptrace across clone (issue 16): the case process is the tracer. It
//! forks a tracee T, attaches it (PTRACE_SEIZE or PTRACE_ATTACH, with
//! PTRACE_O_EXITKILL), lets T create one child N, and observes the event
//! stop T makes, N's TracerPid and N's first stop; then it kills N and T by
//! pid and reaps what is its own. The tracer passes every other stop of T
//! through (a SIGCHLD from N stops a traced T too).

use crate::case::{ename, outcome, Abort, Check, Ctx, Facts, STEP};
use crate::util::{self, fork_child, pipe, read_byte, readable, write_all};
use forklore_model::lifecycle::wopt::{WALL, WCLONE, WEXITED, WNOHANG, WNOWAIT, WSTOPPED};
use forklore_model::lifecycle::{Expect, P_PID, SIGCHLD};
use forklore_model::ptrace::{self as pm, ev, AttachFacts, AttachKind, Tracer};
use forklore_model::{cap, Errno};
use forklore_sys::abi::{CLONE_PTRACE, CLONE_UNTRACED, CLONE_VFORK, CLONE_VM};
use forklore_sys::ptrace as pt;
use forklore_sys::{self as sys, Script, Step};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// How T creates N.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// libc fork().
    Fork,
    /// clone(CLONE_VM | CLONE_VFORK | SIGCHLD): T sleeps until N dies.
    Vfork,
    Clone {
        flags: u64,
        exit_signal: i32,
    },
    Clone3 {
        flags: u64,
        exit_signal: i32,
    },
}

impl Op {
    fn flags(self) -> u64 {
        match self {
            Op::Fork => 0,
            Op::Vfork => CLONE_VM | CLONE_VFORK,
            Op::Clone { flags, .. } | Op::Clone3 { flags, .. } => flags,
        }
    }
    fn exit_signal(self) -> i32 {
        match self {
            Op::Fork | Op::Vfork => SIGCHLD,
            Op::Clone { exit_signal, .. } | Op::Clone3 { exit_signal, .. } => exit_signal,
        }
    }
    /// Create N, which blocks reading `hold` and then exits 0. The pid, or
    /// -errno.
    fn create(self, hold: &OwnedFd) -> i32 {
        let script = Script::new(&[
            Step::Read {
                fd: hold.as_raw_fd(),
            },
            Step::ExitGroup { code: 0 },
        ]);
        let r = match self {
            Op::Fork => match sys::fork_single_threaded(SIGCHLD as u64) {
                Ok(sys::Forked::Child) => {
                    let mut b = [0u8; 1];
                    let _ = nix::unistd::read(hold, &mut b);
                    sys::exit_group(0)
                }
                Ok(sys::Forked::Parent { child }) => Ok(child),
                Err(e) => Err(e),
            },
            Op::Vfork | Op::Clone { .. } => {
                sys::clone_script(self.flags(), self.exit_signal() as u64, &script)
            }
            Op::Clone3 { .. } => {
                sys::clone3_script(self.flags(), self.exit_signal() as u64, &script)
            }
        };
        r.unwrap_or_else(|e| -e.raw())
    }
}

/// T's life: wait for "g", create N, report its pid; then serve commands
/// ("p": probe wait4(N, __WALL|WNOHANG); "w": reap N) until EOF.
fn tracee_body(op: Op, go: &OwnedFd, rep: &OwnedFd, hold: &OwnedFd) -> i32 {
    if read_byte(go, STEP * 2).is_err() {
        return 90;
    }
    let pid = op.create(hold);
    if write_all(rep, &pid.to_le_bytes()).is_err() {
        return 91;
    }
    loop {
        let answer = match read_byte(go, STEP * 4) {
            Ok(b'p') => match sys::wait4(pid, WALL | WNOHANG) {
                Ok(None) => 0,
                Ok(Some(r)) => r.pid,
                Err(e) => -e.raw(),
            },
            Ok(b'w') => match util::reap_within(pid, STEP) {
                Ok(Some(st)) => st,
                _ => -1,
            },
            _ => return 0,
        };
        if write_all(rep, &answer.to_le_bytes()).is_err() {
            return 92;
        }
    }
}

/// One stop of T the tracer saw.
#[derive(Clone, Copy, Debug)]
struct EventStop {
    status: i32,
    msg: u64,
}

/// The tracer's side of one T.
struct Tracee {
    pid: i32,
    go: OwnedFd,
    rep: OwnedFd,
    /// The write end N blocks on (kept open while N lives).
    _hold: OwnedFd,
}

fn is_stop(status: i32) -> bool {
    status & 0xff == 0x7f
}

impl Tracee {
    /// Run T (continuing every stop, passing signals through) until its
    /// report pipe is readable (true) or, with `at_event`, until its first
    /// PTRACE_EVENT stop (false, recorded in `event`).
    fn pump(&self, at_event: bool, event: &mut Option<EventStop>) -> Result<bool, Abort> {
        let deadline = Instant::now() + STEP * 2;
        loop {
            if readable(&self.rep, Duration::from_millis(1)) {
                return Ok(true);
            }
            match sys::wait4(self.pid, WALL | WNOHANG) {
                Ok(None) => {}
                Ok(Some(r)) if is_stop(r.status) => {
                    let sig = (r.status >> 8) & 0xff;
                    if r.status >> 16 != 0 {
                        let msg = pt::ptrace_geteventmsg(self.pid).unwrap_or(u64::MAX);
                        pt::ptrace_cont(self.pid, 0)
                            .map_err(|e| Abort::Broken(format!("PTRACE_CONT: {}", ename(e))))?;
                        if event.is_none() {
                            *event = Some(EventStop {
                                status: r.status,
                                msg,
                            });
                        }
                        if at_event {
                            return Ok(false);
                        }
                    } else {
                        // A signal-delivery stop: pass the signal on.
                        pt::ptrace_cont(self.pid, sig)
                            .map_err(|e| Abort::Broken(format!("PTRACE_CONT: {}", ename(e))))?;
                    }
                }
                Ok(Some(r)) => {
                    return Err(Abort::Broken(format!(
                        "the tracee ended (wait status {:#x})",
                        r.status
                    )))
                }
                Err(e) => return Err(Abort::Broken(format!("wait4(tracee): {}", ename(e)))),
            }
            if Instant::now() >= deadline {
                return Err(Abort::Broken("the tracee did not report in time".into()));
            }
        }
    }

    /// The next 4-byte answer of T, continuing its stops meanwhile.
    fn answer(&self) -> Result<i32, Abort> {
        let mut ev = None;
        self.pump(false, &mut ev)?;
        Ok(util::read_u32(&self.rep, STEP)? as i32)
    }

    fn command(&self, c: u8) -> Result<i32, Abort> {
        write_all(&self.go, &[c])?;
        self.answer()
    }
}

impl Drop for Tracee {
    /// Never leave T behind: SIGKILL it by pid and reap it (its children
    /// go to the scenario process, a subreaper, which reaps them).
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
        let _ = util::reap_within(self.pid, STEP);
    }
}

/// What the environment lets this process do as a tracer, measured.
struct Env {
    me: i32,
    /// PTRACE_SEIZE exists on this kernel (P-SEIZE).
    seize: Expect<bool>,
    cap_sys_ptrace: bool,
    yama: Option<u8>,
}

fn yama_scope() -> Option<u8> {
    std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

fn tracer_pid(pid: &str) -> Option<i32> {
    util::status_field(pid, "TracerPid").and_then(|s| s.trim().parse().ok())
}

impl Env {
    /// A child inherits our mm's dumpable flag, and a uid change (the
    /// `user` context as root) clears it: make it 1 so that our own
    /// children are attachable without CAP_SYS_PTRACE, as for any process
    /// that did not change uid.
    fn prepare(ctx: &Ctx) -> Result<Env, Abort> {
        sys::set_dumpable(true)
            .map_err(|e| Abort::Broken(format!("PR_SET_DUMPABLE: {}", ename(e))))?;
        Ok(Env {
            me: std::process::id() as i32,
            seize: pm::seize_available(ctx.kernel),
            cap_sys_ptrace: forklore_observe::effective_caps().has(cap::CAP_SYS_PTRACE),
            yama: yama_scope(),
        })
    }
    /// The facts of attaching a child of ours.
    fn own_child(&self) -> AttachFacts {
        AttachFacts {
            same_creds: true,
            dumpable: sys::ptrace::dumpable().unwrap_or(false),
            cap_sys_ptrace: self.cap_sys_ptrace,
            yama_scope: self.yama,
            descendant: true,
            ..Default::default()
        }
    }
    /// Classify a TracerPid: `callers` is the tracer of the task that
    /// created it.
    fn classify(tracer: i32, callers: i32) -> Tracer {
        if tracer == 0 {
            Tracer::None
        } else if tracer == callers {
            Tracer::CallersTracer
        } else {
            Tracer::Other
        }
    }
}

fn observed_attach(r: Result<(), sys::Errno>) -> Option<Errno> {
    r.err().map(|e| Errno(e.raw()))
}

/// The attach's outcome as a name (`"EPERM"`, `"ok"`).
fn observed_name(r: Result<(), sys::Errno>) -> String {
    outcome(observed_attach(r))
}

/// [`pm::attach_result`] as a name.
fn attach_named(f: &AttachFacts) -> Expect<String> {
    let e = pm::attach_result(f);
    Expect {
        value: outcome(e.value),
        rule: e.rule,
    }
}

/// Fork T and attach it. `Err(Check)`: the attach itself disagreed with
/// the model (the check to return).
fn start_tracee(
    env: &Env,
    op: Op,
    kind: AttachKind,
    options: u32,
    f: &mut Facts,
) -> Result<Result<Tracee, ()>, Abort> {
    if !env.seize.value {
        return Err(Abort::Skip(format!(
            "this kernel has no PTRACE_SEIZE ({})",
            env.seize.rule
        )));
    }
    let expect = pm::attach_result(&env.own_child());
    if let Some(e) = expect.value {
        return Err(Abort::Skip(format!(
            "the model predicts {e} for attaching our own child ({}; YAMA ptrace_scope {:?}, CAP_SYS_PTRACE {})",
            expect.rule, env.yama, env.cap_sys_ptrace
        )));
    }
    let (go_r, go_w) = pipe()?;
    let (rep_r, rep_w) = pipe()?;
    let (hold_r, hold_w) = pipe()?;
    let (gw, rr, hw) = (go_w.as_raw_fd(), rep_r.as_raw_fd(), hold_w.as_raw_fd());
    let pid = fork_child(|| {
        for fd in [gw, rr, hw] {
            let _ = nix::unistd::close(fd);
        }
        tracee_body(op, &go_r, &rep_w, &hold_r)
    })?;
    drop((go_r, rep_w, hold_r));
    let t = Tracee {
        pid,
        go: go_w,
        rep: rep_r,
        _hold: hold_w,
    };
    let opts = options | pt::PTRACE_O_EXITKILL;
    let r = match kind {
        AttachKind::Seize => pt::ptrace_seize(pid, opts),
        AttachKind::Attach => pt::ptrace_attach(pid),
    };
    let obs = observed_attach(r);
    if obs != expect.value {
        f.add("attach_own_child", expect, obs);
        return Ok(Err(()));
    }
    if kind == AttachKind::Attach {
        // The attach queued SIGSTOP: wait for that stop, then set options.
        let deadline = Instant::now() + STEP;
        loop {
            match sys::wait4(pid, WALL | WNOHANG) {
                Ok(Some(r)) if is_stop(r.status) => break,
                Ok(None) if Instant::now() < deadline => std::thread::yield_now(),
                other => {
                    return Err(Abort::Broken(format!(
                        "no attach stop of the tracee: {other:?}"
                    )))
                }
            }
        }
        pt::ptrace_setoptions(pid, opts)
            .and_then(|()| pt::ptrace_cont(pid, 0))
            .map_err(|e| Abort::Broken(format!("PTRACE_SETOPTIONS/CONT: {}", ename(e))))?;
    }
    Ok(Ok(t))
}

/// Wait (as tracer) for a stop or exit of `pid` with `options`.
fn tracer_wait(pid: i32, options: u32) -> Result<Option<i32>, Abort> {
    let deadline = Instant::now() + STEP;
    loop {
        match sys::wait4(pid, options | WNOHANG) {
            Ok(Some(r)) => return Ok(Some(r.status)),
            Ok(None) if Instant::now() < deadline => std::thread::yield_now(),
            Ok(None) => return Ok(None),
            Err(e) => return Err(Abort::Broken(format!("wait4({pid}): {}", ename(e)))),
        }
    }
}

/// What became of one sub-case.
enum Row {
    /// Observed; go on with the next.
    Done,
    /// The tracee could not be set up (recorded as a fact): stop the table.
    Stop,
    /// The creation call is not available here: no facts, say why.
    Unavailable(String),
}

/// One sub-case: T creates N with `op` under a tracer attached with
/// `kind` and `options`.
fn observe_creation(
    env: &Env,
    f: &mut Facts,
    name: &str,
    op: Op,
    kind: AttachKind,
    options: u32,
) -> Result<Row, Abort> {
    let t = match start_tracee(env, op, kind, options, f)? {
        Ok(t) => t,
        Err(()) => return Ok(Row::Stop),
    };
    write_all(&t.go, b"g")?;
    let mut event = None;
    let reported_first = t.pump(true, &mut event)?;
    let ev_expect = pm::clone_event(op.flags(), op.exit_signal(), options);
    // N's pid: T's report, or (vfork: T sleeps until N dies) the event message.
    let n = if reported_first {
        util::read_u32(&t.rep, STEP)? as i32
    } else {
        event.map(|e| e.msg as i32).unwrap_or(-1)
    };
    if n == -sys::Errno::ENOSYS.raw() && matches!(op, Op::Clone3 { .. }) {
        // clone3 is not implemented here (gVisor, an old kernel, a seccomp
        // filter): this sub-case cannot run; the others still do.
        return Ok(Row::Unavailable(format!(
            "{name}: clone3 is not available (ENOSYS)"
        )));
    }
    if n <= 0 {
        return Err(Abort::Broken(format!("{name}: T could not create N ({n})")));
    }
    let tracer = tracer_pid(&n.to_string()).unwrap_or(-1);
    let tracer_expect = pm::child_tracer(true, op.flags(), ev_expect.value);
    f.add(
        &format!("{name}/child_tracer"),
        tracer_expect,
        Env::classify(tracer, env.me),
    );
    // The first stop, when it is our tracee; else wait4 finds no such child.
    let first = if tracer == env.me {
        tracer_wait(n, WALL)?
    } else {
        match sys::wait4(n, WALL | WNOHANG) {
            Err(sys::Errno::ECHILD) => None,
            other => {
                return Err(Abort::Broken(format!(
                    "wait4(N) as a non-tracer: {other:?}"
                )))
            }
        }
    };
    f.add(
        &format!("{name}/child_first_stop"),
        pm::child_first_stop(tracer_expect.value, kind),
        first,
    );
    // N dies; as its tracer we collect that first.
    let _ = kill(Pid::from_raw(n), Signal::SIGKILL);
    if tracer == env.me {
        let _ = tracer_wait(n, WALL)?;
    }
    let reported = if reported_first { n } else { t.answer()? };
    f.add(
        &format!("{name}/event"),
        ev_expect,
        event.map(|e| (e.status >> 16) as u32),
    );
    if let Some(e) = ev_expect.value {
        f.add(
            &format!("{name}/event_status"),
            {
                let s = pm::event_stop_status(e);
                Expect {
                    value: Some(s.value),
                    rule: s.rule,
                }
            },
            event.map(|e| e.status),
        );
        f.add(
            &format!("{name}/eventmsg_is_new_pid"),
            Expect {
                value: true,
                rule: ev_expect.rule,
            },
            event.is_some_and(|e| e.msg == reported as u64),
        );
    }
    drop(t);
    Ok(Row::Done)
}

const ALL: u32 = ev::PTRACE_O_TRACEFORK | ev::PTRACE_O_TRACEVFORK | ev::PTRACE_O_TRACECLONE;

fn run_table(ctx: &Ctx, table: &[(&str, Op, AttachKind, u32)]) -> Result<Check, Abort> {
    let env = Env::prepare(ctx)?;
    let mut f = Facts::new();
    let mut unavailable = Vec::new();
    for &(name, op, kind, options) in table {
        match observe_creation(&env, &mut f, name, op, kind, options)? {
            Row::Done => {}
            Row::Stop => break,
            Row::Unavailable(why) => unavailable.push(why),
        }
    }
    let mut c = f.done()?;
    if !unavailable.is_empty() {
        c.note = Some(format!("not run: {}", unavailable.join("; ")));
    }
    Ok(c)
}

pub fn clone_events(ctx: &Ctx) -> Result<Check, Abort> {
    use AttachKind::*;
    run_table(
        ctx,
        &[
            ("fork", Op::Fork, Seize, ALL),
            ("vfork", Op::Vfork, Seize, ALL),
            (
                "clone-exit-signal-0",
                Op::Clone {
                    flags: 0,
                    exit_signal: 0,
                },
                Seize,
                ALL,
            ),
            (
                "clone3-sigchld",
                Op::Clone3 {
                    flags: 0,
                    exit_signal: SIGCHLD,
                },
                Seize,
                ALL,
            ),
            (
                "clone3-exit-signal-0",
                Op::Clone3 {
                    flags: 0,
                    exit_signal: 0,
                },
                Seize,
                ALL,
            ),
            (
                "clone3-sigchld-only-traceclone",
                Op::Clone3 {
                    flags: 0,
                    exit_signal: SIGCHLD,
                },
                Seize,
                ev::PTRACE_O_TRACECLONE,
            ),
            ("fork-attach", Op::Fork, Attach, ev::PTRACE_O_TRACEFORK),
        ],
    )
}

pub fn clone_ptrace_untraced(ctx: &Ctx) -> Result<Check, Abort> {
    use AttachKind::*;
    let sc = SIGCHLD;
    let mut c = run_table(
        ctx,
        &[
            (
                "untraced-traceall",
                Op::Clone {
                    flags: CLONE_UNTRACED,
                    exit_signal: sc,
                },
                Seize,
                ALL,
            ),
            (
                "ptrace-untraced-traceall",
                Op::Clone {
                    flags: CLONE_PTRACE | CLONE_UNTRACED,
                    exit_signal: sc,
                },
                Seize,
                ALL,
            ),
            (
                "ptrace-no-options",
                Op::Clone {
                    flags: CLONE_PTRACE,
                    exit_signal: sc,
                },
                Seize,
                0,
            ),
            (
                "ptrace-attach-no-options",
                Op::Clone {
                    flags: CLONE_PTRACE,
                    exit_signal: sc,
                },
                Attach,
                0,
            ),
            (
                "plain-no-options",
                Op::Clone {
                    flags: 0,
                    exit_signal: sc,
                },
                Seize,
                0,
            ),
            (
                "clone3-ptrace-no-options",
                Op::Clone3 {
                    flags: CLONE_PTRACE,
                    exit_signal: sc,
                },
                Seize,
                0,
            ),
        ],
    )?;
    // And this (normally untraced) process's own CLONE_PTRACE child.
    let my_tracer = tracer_pid("self").unwrap_or(0);
    let (hold_r, hold_w) = pipe()?;
    let script = Script::new(&[
        Step::Read {
            fd: hold_r.as_raw_fd(),
        },
        Step::ExitGroup { code: 0 },
    ]);
    let n = sys::clone_script(CLONE_PTRACE, SIGCHLD as u64, &script)
        .map_err(|e| Abort::Broken(format!("clone(CLONE_PTRACE): {}", ename(e))))?;
    let seen = tracer_pid(&n.to_string()).unwrap_or(-1);
    let _ = kill(Pid::from_raw(n), Signal::SIGKILL);
    let _ = util::reap_within(n, STEP);
    drop((hold_r, hold_w));
    let e = pm::child_tracer(my_tracer != 0, CLONE_PTRACE, None);
    let key = "caller-not-traced/child_tracer";
    if let (Some(exp), Some(obs)) = (c.expected.as_object_mut(), c.observed.as_object_mut()) {
        exp.insert(
            key.into(),
            serde_json::to_value(e.value).unwrap_or_default(),
        );
        obs.insert(
            key.into(),
            serde_json::to_value(Env::classify(seen, my_tracer)).unwrap_or_default(),
        );
    }
    if !c.rules.iter().any(|r| r == e.rule) {
        c.rules.push(e.rule.into());
    }
    Ok(c)
}

/// A tracer waits for its non-child tracee: without __WALL, with and
/// without __WCLONE, whatever the exit signal; it sees the exit first,
/// and only then the real parent reaps the zombie with the same status.
pub fn tracee_wait(ctx: &Ctx) -> Result<Check, Abort> {
    let env = Env::prepare(ctx)?;
    let mut f = Facts::new();
    let cases = [
        ("fork", Op::Fork, ev::PTRACE_O_TRACEFORK),
        (
            "clone-exit-signal-0",
            Op::Clone {
                flags: 0,
                exit_signal: 0,
            },
            ev::PTRACE_O_TRACECLONE,
        ),
    ];
    for (name, op, options) in cases {
        let t = match start_tracee(&env, op, AttachKind::Seize, options, &mut f)? {
            Ok(t) => t,
            Err(()) => return f.done(),
        };
        write_all(&t.go, b"g")?;
        let mut event = None;
        let _ = t.pump(true, &mut event)?;
        let n = match event {
            Some(e) => e.msg as i32,
            None => return Err(Abort::Broken(format!("{name}: no event stop"))),
        };
        // T reports N's pid once continued.
        let _ = t.answer()?;
        // N's first stop, left in place (WNOWAIT).
        let deadline = Instant::now() + STEP;
        while !matches!(
            sys::waitid(P_PID, n, WEXITED | WSTOPPED | WALL | WNOHANG | WNOWAIT),
            Ok(Some(_))
        ) {
            if Instant::now() >= deadline {
                return Err(Abort::Broken(format!("{name}: N never stopped")));
            }
            std::thread::yield_now();
        }
        for (oname, o) in [("plain", 0u32), ("wclone", WCLONE)] {
            let e = pm::tracee_wait_eligible(ctx.kernel, op.exit_signal(), o);
            let r = sys::waitid(P_PID, n, WEXITED | WNOHANG | WNOWAIT | o);
            let obs = match r {
                Ok(Some(_)) => "reported".to_string(),
                Ok(None) => "none".to_string(),
                Err(e) => ename(e),
            };
            f.add(
                &format!("{name}/waitid_stop_{oname}"),
                Expect {
                    value: if e.value { "reported" } else { "ECHILD" },
                    rule: e.rule,
                },
                obs,
            );
        }
        // Consume the stop, kill N, wait until it is a zombie.
        let _ = sys::wait4(n, WALL | WNOHANG);
        let _ = kill(Pid::from_raw(n), Signal::SIGKILL);
        if !util::spin_until(STEP, || util::proc_state(n) == Some('Z')) {
            return Err(Abort::Broken(format!("{name}: N did not become a zombie")));
        }
        let killed = forklore_model::lifecycle::signaled_status(9, false);
        let z = pm::tracee_zombie(killed.value);
        let part = |v| Expect {
            value: v,
            rule: z.rule,
        };
        // The zombie is the tracer's first: the real parent finds nothing ready.
        f.add(
            &format!("{name}/parent_before_tracer"),
            part(Some(z.value.parent_first)),
            Some(t.command(b'p')?),
        );
        let plain_ok = pm::tracee_wait_eligible(ctx.kernel, op.exit_signal(), 0).value;
        f.add(
            &format!("{name}/tracer_sees_exit"),
            part(z.value.tracer),
            tracer_wait(n, if plain_ok { 0 } else { WALL })?,
        );
        f.add(
            &format!("{name}/parent_reaps_after"),
            part(Some(z.value.parent_after)),
            Some(t.command(b'w')?),
        );
        drop(t);
    }
    f.done()
}

/// PTRACE_SEIZE / PTRACE_ATTACH refusals: ourselves, a task already
/// traced, a non-dumpable child, init (only where the model predicts a
/// refusal: the suite never traces init).
pub fn attach_refused(ctx: &Ctx) -> Result<Check, Abort> {
    let env = Env::prepare(ctx)?;
    let mut f = Facts::new();
    let me = AttachFacts {
        same_thread_group: true,
        ..env.own_child()
    };
    f.add(
        "self/seize",
        attach_named(&me),
        observed_name(pt::ptrace_seize(env.me, 0)),
    );
    f.add(
        "self/attach",
        attach_named(&me),
        observed_name(pt::ptrace_attach(env.me)),
    );

    // A child of ours that we already traced.
    let (r, w) = pipe()?;
    let c = fork_child(move || {
        let _ = read_byte(&r, STEP * 2);
        0
    })?;
    let first = observed_attach(pt::ptrace_seize(c, pt::PTRACE_O_EXITKILL));
    // Before 3.4 PTRACE_SEIZE is an unknown request (EIO): the rest of
    // this case assumes it exists, as the model says for this kernel.
    f.add("seize_exists", env.seize, first != Some(Errno::EIO));
    f.add(
        "own-child/seize",
        attach_named(&env.own_child()),
        outcome(first),
    );
    let again = AttachFacts {
        already_traced: first.is_none(),
        ..env.own_child()
    };
    f.add(
        "traced-child/seize-again",
        attach_named(&again),
        observed_name(pt::ptrace_seize(c, 0)),
    );
    let _ = kill(Pid::from_raw(c), Signal::SIGKILL);
    let _ = util::reap_within(c, STEP);
    drop(w);

    // A child that made itself non-dumpable.
    let (r, w) = pipe()?;
    let (ready_r, ready_w) = pipe()?;
    let c = fork_child(move || {
        let ok = sys::set_dumpable(false).is_ok();
        let _ = write_all(&ready_w, &[ok as u8]);
        let _ = read_byte(&r, STEP * 2);
        0
    })?;
    if read_byte(&ready_r, STEP)? != 1 {
        let _ = kill(Pid::from_raw(c), Signal::SIGKILL);
        let _ = util::reap_within(c, STEP);
        return Err(Abort::Broken(
            "PR_SET_DUMPABLE 0 failed in the child".into(),
        ));
    }
    let nd = AttachFacts {
        dumpable: false,
        ..env.own_child()
    };
    f.add(
        "nondumpable-child/seize",
        attach_named(&nd),
        observed_name(pt::ptrace_seize(c, pt::PTRACE_O_EXITKILL)),
    );
    let _ = kill(Pid::from_raw(c), Signal::SIGKILL);
    let _ = util::reap_within(c, STEP);
    drop(w);

    // init, only where the model predicts the refusal.
    let ids = |name: &str| -> Vec<u32> {
        util::status_field("1", name)
            .map(|s| {
                s.split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (uids, gids) = (ids("Uid"), ids("Gid"));
    if uids.len() >= 3 && gids.len() >= 3 {
        let (u, g) = (util::uid(), nix::unistd::getgid().as_raw());
        let init = AttachFacts {
            same_creds: uids[..3].iter().all(|&x| x == u) && gids[..3].iter().all(|&x| x == g),
            dumpable: true,
            cap_sys_ptrace: env.cap_sys_ptrace,
            yama_scope: env.yama,
            descendant: false,
            ..Default::default()
        };
        let e = attach_named(&init);
        if e.value != "ok" {
            f.add("init/seize", e, observed_name(pt::ptrace_seize(1, 0)));
        }
    }
    f.done()
}
