//! The probe process from start to end: read the batch from stdin, set up
//! the reaper (this process) and fork the worker, which arranges the
//! context, reports it and runs the cases (see the crate docs).

use crate::context::{arrange, ignore_signals, rearm, Prepared};
use crate::engine::Engine;
use crate::protocol::{emit, ContextSpec, Header, Msg, ProbeCase, ResultSink, FLOOR_LINE};
use crate::reaper;
use crate::resources::Resources;
use crate::stages::Stages;
use forklore_observe as observe;
use forklore_sys::linebuf::LineBuffer;
use forklore_sys::mailbox::Mailbox;
use forklore_sys::mem::Shared;
use forklore_sys::{self as sys, Forked};
use std::io::Read;
use std::io::Write as _;

/// Read the batch, fork the worker, and become the reaper.
pub(crate) fn probe_main() -> i32 {
    let mut stages = Stages::from_env();
    let m = stages.start();
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        let _ = writeln!(std::io::stderr(), "forklore-probe: cannot read stdin: {e}");
        return 2;
    }
    let mut lines = input.lines();
    let header: Header = match lines.next().map(serde_json::from_str) {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            let _ = writeln!(std::io::stderr(), "forklore-probe: bad header: {e}");
            return 2;
        }
        None => {
            let _ = writeln!(std::io::stderr(), "forklore-probe: empty input");
            return 2;
        }
    };
    let mut cases: Vec<ProbeCase> = Vec::new();
    for (i, l) in lines.enumerate() {
        match serde_json::from_str(l) {
            Ok(c) => cases.push(c),
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "forklore-probe: bad case on line {}: {e}",
                    i + 2
                );
                return 2;
            }
        }
    }
    // Every fork copies the page tables of what is still mapped.
    drop(input);
    stages.stop("probe.read+parse-input", m);
    if let Some(cpu) = header.cpu {
        // Placement only: no case observes the affinity mask, and a CPU
        // the probe may not use (a cpuset that changed since the runner
        // looked) leaves it where the scheduler put it.
        let mut set = nix::sched::CpuSet::new();
        if set.set(cpu).is_ok() {
            let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
        }
    }
    // The reaper cleans up on SIGTERM; the runner's death sends it.
    let term = match sys::install_flag_handler(libc::SIGTERM) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "forklore-probe: sigaction: errno {e}");
            return 2;
        }
    };
    let _ = sys::set_pdeathsig(libc::SIGTERM);
    if let Some(r) = header.runner_pid {
        if std::os::unix::process::parent_id() != r {
            return 3;
        }
    }
    // Without a subreaper the probe still runs: orphans would escape to
    // init, so the reaper leads a process group of its own instead and
    // kills that group at the end; only the cases whose child outlives its
    // caller are skipped (see engine::run_inner).
    let no_subreaper = if observe::simulated_missing("subreaper") {
        Some(format!(
            "no child subreaper: PR_SET_CHILD_SUBREAPER not used (simulated by {})",
            observe::SIMULATE_ENV
        ))
    } else {
        sys::set_child_subreaper()
            .err()
            .map(|e| format!("no child subreaper: PR_SET_CHILD_SUBREAPER failed with {e}"))
    };
    // Read before any context remounts /proc.
    let outer_hidden = observe::outer_pid_levels_known().err();
    // No probe case needs kernel threads; listed so a report says why the
    // lifecycle-kthread scenarios skip.
    let no_kthreads = observe::kernel_threads_visible().err();
    // Facilities found missing before the fork, for the worker's context.
    let missing: Vec<(&str, String)> = [
        ("subreaper", &no_subreaper),
        ("pidns-outer", &outer_hidden),
        ("kthreads", &no_kthreads),
    ]
    .into_iter()
    .filter_map(|(f, why)| Some((f, why.clone()?)))
    .collect();
    if no_subreaper.is_some() {
        let _ = nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0));
    }
    let prepared = match Prepared::before_fork(&header.context, &cases) {
        Ok(p) => p,
        Err(reason) => {
            emit(&Msg::Skip { reason });
            return 0;
        }
    };
    let pages = match Pages::new() {
        Ok(p) => p,
        Err(reason) => {
            emit(&Msg::Skip { reason });
            return 0;
        }
    };
    let reaper_pid = std::process::id();
    match sys::fork_single_threaded(libc::SIGCHLD as u64) {
        Err(e) => {
            // The suite's own fork: a task limit is named, not "errno 11".
            let reason = forklore_observe::limits::shortage(e.raw(), "fork the probe worker")
                .unwrap_or_else(|| format!("fork of the worker failed: errno {e}"));
            emit(&Msg::Skip { reason });
            prepared.cleanup();
            0
        }
        Ok(Forked::Child) => {
            // The worker never returns into the caller's main: it must not
            // run destructors of the reaper's resources (temp dirs).
            let code = worker_main(
                reaper_pid, &header, &prepared, &cases, &pages, &missing, stages,
            );
            sys::exit_now(code)
        }
        Ok(Forked::Parent { child }) => reaper::reaper_main(
            child,
            &pages.mailbox,
            &pages.lines,
            prepared,
            term,
            no_subreaper.is_none(),
        ),
    }
}

/// The MAP_SHARED pages the reaper and the worker share, mapped before
/// the fork.
struct Pages {
    /// Reaper → worker: the CLONE_PARENT children it reaped.
    mailbox: Shared<Mailbox>,
    /// Worker → reaper: result lines not yet written (protocol::ResultSink).
    lines: Shared<LineBuffer>,
}

impl Pages {
    fn new() -> Result<Pages, String> {
        Ok(Pages {
            mailbox: Shared::new().map_err(|e| format!("cannot map the reaper mailbox: {e}"))?,
            lines: Shared::new().map_err(|e| format!("cannot map the result buffer: {e}"))?,
        })
    }
}

/// The worker: arrange the context, report it, run the cases in order.
fn worker_main(
    reaper: u32,
    header: &Header,
    prepared: &Prepared,
    cases: &[ProbeCase],
    pages: &Pages,
    missing: &[(&str, String)],
    mut stages: Stages,
) -> i32 {
    let setup = stages.start();
    let spec = &header.context;
    let pidns_init = *spec == ContextSpec::PidNsInit;
    if rearm(reaper, pidns_init).is_err() {
        return 3;
    }
    ignore_signals();
    let created = match &prepared.cg2_created_err {
        Some(e) => Err(e.as_str()),
        None => Ok(prepared.cg2_created.as_deref()),
    };
    let mut res = Resources::open(cases, created);
    let arranged = match arrange(spec, prepared, &mut res, reaper) {
        Ok(a) => a,
        Err(reason) => {
            emit(&Msg::Skip { reason });
            return 0;
        }
    };
    let mut ctx = observe::detect_context(&arranged.hints);
    // Measured in `arrange`, as the context's credentials: constant for
    // the whole batch, so it travels with the context, not with a case.
    ctx.cgroup_write = res.cgroup_write();
    for (facility, why) in missing {
        ctx.add_missing(facility, why.as_str());
    }
    // Facilities only a system call tells (the files are read in observe).
    if observe::simulated_missing("pidfd-open") {
        ctx.add_missing(
            "pidfd-open",
            format!(
                "pidfd_open(2) not used (simulated by {})",
                observe::SIMULATE_ENV
            ),
        );
    } else if let Err(sys::Errno::ENOSYS) = sys::pidfd_open(std::process::id() as i32, 0) {
        ctx.add_missing(
            "pidfd-open",
            "pidfd_open(2) is ENOSYS: scenarios that need a pidfd skip",
        );
    }
    emit(&Msg::Context {
        context: ctx.clone(),
    });
    // A throwaway caller would change the task count (nproc) or leave its
    // orphans to the namespace's init instead of the reaper (unshare-pid).
    let helper_ok = !matches!(spec, ContextSpec::Nproc(_) | ContextSpec::UnsharePid);
    let mut engine = match Engine::new(&pages.mailbox, res, &arranged, &ctx, helper_ok) {
        Ok(e) => e,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "forklore-probe: cannot set up the case memory: {e}"
            );
            return 4;
        }
    };
    stages.stop("probe.setup-context", setup);
    if header.floor {
        run_floor(&mut engine, cases);
        return 0;
    }
    let mut sink = ResultSink::new(&pages.lines);
    for (index, case) in cases.iter().enumerate() {
        let obs = engine.run(case);
        let m = stages.start();
        sink.push(&Msg::Result {
            index,
            id: case.id.clone(),
            obs: Box::new(obs),
        });
        stages.stop("probe.emit", m);
    }
    let m = stages.start();
    sink.flush();
    stages.stop("probe.emit", m);
    if stages.on() {
        stages.merge(&engine.stages);
        let _ = writeln!(std::io::stderr(), "{}", stages.line());
    }
    // The tracer first: killing it detaches the worker (exit_ptrace).
    if let Some(t) = arranged.tracer {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(t),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = sys::wait4(t, forklore_sys::wait::WALL);
    }
    if let Some(h) = arranged.holder {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(h),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = sys::wait4(h, forklore_sys::wait::WALL);
    }
    0
}

/// Floor mode: every case as its raw call (see [`Engine::run_floor`]),
/// timed one by one; then one line: `forklore-floor` followed by one
/// letter per case (`e` the call failed, `c` it created a child, `o` it
/// did not run this way) and the summed wall ns of the `e` and `c` cases.
fn run_floor(engine: &mut Engine, cases: &[ProbeCase]) {
    let mut kinds = String::with_capacity(cases.len());
    let (mut err_ns, mut create_ns) = (0u128, 0u128);
    for case in cases {
        let t = std::time::Instant::now();
        let ret = engine.run_floor(case);
        let ns = t.elapsed().as_nanos();
        match ret {
            Some(r) if r < 0 => {
                kinds.push('e');
                err_ns += ns;
            }
            Some(_) => {
                kinds.push('c');
                create_ns += ns;
            }
            None => kinds.push('o'),
        }
    }
    let _ = writeln!(
        std::io::stdout(),
        "{FLOOR_LINE} {kinds} {err_ns} {create_ns}"
    );
}
