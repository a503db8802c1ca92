//! `forklore check`: bind catalogue cases to contexts, feed them to probe
//! processes in batches across `jobs` worker threads, predict each with the
//! context the probe detected, and collect verdicts.
//!
//! The worker threads only spawn probe processes (std::process::Command);
//! every fork/clone happens inside a single-threaded probe.

use crate::catalogue::{self, Case};
use crate::report::{CaseResult, ContextReport, Report, Verdict};
use crate::verdict::{compare, repro_command, settle};
use forklore_model::{predict, Context};
use forklore_probe::{run_batch, ContextSpec, ObserveLevel, ProbeCase, ProbeCommand, Stages};
use std::collections::VecDeque;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Options of one check run.
pub struct CheckOptions {
    pub quick: bool,
    /// Glob patterns on case ids and group names; empty = everything.
    pub filters: Vec<glob::Pattern>,
    /// Context names to run (see [`default_contexts`]).
    pub contexts: Vec<String>,
    pub jobs: usize,
    pub probe: ProbeCommand,
    pub batch_size: usize,
    pub batch_timeout: Duration,
    /// Called with (done, total) after every batch.
    pub progress: Option<Box<dyn Fn(usize, usize) + Sync>>,
    pub host: Context,
    /// Keep the expected/observed objects of passing matrix cases too.
    pub keep_passing_details: bool,
    /// `--kernel`: model against this version instead of the one each
    /// probe detects (the detected context keeps a note saying so).
    pub kernel: Option<forklore_model::KernelVersion>,
    /// Keep each parallel probe on a CPU of its own (worker slot i on the
    /// i-th allowed CPU, round robin; see [`ProbeCommand::cpu`]). Off, the
    /// scheduler places every probe and child.
    pub pin: bool,
}

/// The probe command each of `jobs` worker slots uses: slot `i` on the
/// `i`-th CPU this process may use, round robin, when `pin` and there is
/// more than one; otherwise `probe` as given.
fn slot_probes(probe: &ProbeCommand, jobs: usize, pin: bool) -> Vec<ProbeCommand> {
    let cpus = if pin {
        forklore_observe::allowed_cpus()
    } else {
        Vec::new()
    };
    (0..jobs.max(1))
        .map(|i| match cpus.len() {
            0 | 1 => probe.clone(),
            n => probe.on_cpu(Some(cpus[i % n])),
        })
        .collect()
}

/// The detected context with a declared kernel version put in, and the
/// note saying what the environment itself claimed.
pub fn with_declared_kernel(mut ctx: Context, declared: forklore_model::KernelVersion) -> Context {
    let claimed = match &ctx.kernel_note {
        Some(n) => format!("{}, {n}", ctx.kernel),
        None => ctx.kernel.to_string(),
    };
    ctx.kernel = declared;
    ctx.kernel_note = Some(format!(
        "declared with --kernel {declared}; the environment says {claimed}"
    ));
    ctx
}

/// Contexts of the default run: the full catalogue as root and as a user,
/// a covering set in the others. The names are the probe's
/// ([`ContextSpec::DEFAULT_RUN`]).
pub fn default_contexts() -> Vec<String> {
    ContextSpec::DEFAULT_RUN
        .iter()
        .map(ContextSpec::name)
        .collect()
}

/// The contexts that run the whole catalogue (the others run the cover set).
pub fn is_full_context(name: &str) -> bool {
    matches!(name, "root" | "user")
}

/// The context a single case runs in when none is named: `root` for a
/// runner that is root, else `user`.
pub fn default_context(runner_is_root: bool) -> &'static str {
    if runner_is_root {
        "root"
    } else {
        "user"
    }
}

/// The uid a lifecycle scenario runs as in context `name` (`root` or
/// `user`): `None` = the runner's own; as root, `user` is an unused uid.
/// `Ok(Err)` = skip with this reason; `Err` = not a scenario context.
pub fn scenario_uid(
    name: &str,
    runner_is_root: bool,
) -> Result<Result<Option<u32>, String>, String> {
    Ok(match (name, runner_is_root) {
        ("root", true) | ("user", false) => Ok(None),
        ("root", false) => Err("needs root: forklore runs as an ordinary user".into()),
        ("user", true) => forklore_probe::unused_id(std::process::id())
            .map(Some)
            .ok_or_else(|| "no unused uid to run as".to_string()),
        (other, _) => {
            return Err(format!(
                "--context {other:?}: scenarios run as root or user"
            ))
        }
    })
}

/// Resolve a context name to what the probe sets up, for a runner that is
/// (or is not) root. `Err` = skip with this reason.
pub fn context_spec(
    name: &str,
    runner_is_root: bool,
) -> Result<Result<ContextSpec, String>, String> {
    let spec: ContextSpec = match name {
        "root" if !runner_is_root => {
            return Ok(Err("needs root: forklore runs as an ordinary user".into()))
        }
        "root" => ContextSpec::AsIs,
        "user" if !runner_is_root => ContextSpec::AsIs,
        "user" => ContextSpec::Unprivileged,
        other => other.parse::<ContextSpec>()?,
    };
    Ok(Ok(spec))
}

/// `c` in context `ctx` is selected by `filters` (the `id/ctx` string is
/// only built when there is a filter: ~800k of them otherwise).
fn matches(filters: &[glob::Pattern], c: &Case, ctx: &str) -> bool {
    if filters.is_empty() {
        return true;
    }
    let full_id = format!("{}/{ctx}", c.id());
    filters
        .iter()
        .any(|p| p.matches(&full_id) || p.matches(c.id()) || p.matches(c.group))
}

struct Work {
    context: String,
    spec: ContextSpec,
    cases: Vec<Case>,
}

/// What a worker thread takes from the queue.
enum Job {
    /// A batch of catalogue cases for one probe process.
    Batch(Work),
    /// The lifecycle scenarios of context `root` or `user` (one scenario
    /// process).
    Scenarios(&'static str),
}

impl Job {
    /// How many of the job's cases are observed in full.
    fn full_observations(&self) -> usize {
        match self {
            Job::Batch(w) => w
                .cases
                .iter()
                .filter(|c| c.probe.observe == ObserveLevel::Full)
                .count(),
            Job::Scenarios(_) => 0,
        }
    }
}

/// Run the suite. Never panics on kernel behaviour; a probe that crashes or
/// hangs costs one case, reported as broken.
pub fn run_check(opts: &CheckOptions, runner_is_root: bool) -> Report {
    let start = Instant::now();
    let mut stages = Stages::from_env();
    let m = stages.start();
    let host_json = serde_json::json!({
        "kernel": opts.host.kernel.to_string(),
        "runner_is_root": runner_is_root,
        "jobs": opts.jobs,
    });
    let mut report = Report::new(opts.host.kernel.to_string(), host_json, opts.quick);
    report.kernel_note = opts.host.kernel_note.clone();
    let full = catalogue::catalogue(opts.quick, opts.host.task_size_max);
    let cover = catalogue::context_cover();
    let traced_cover: Vec<Case> = cover
        .iter()
        .cloned()
        .chain(catalogue::ptrace_cover())
        .collect();
    stages.stop("runner.catalogue", m);
    let m = stages.start();

    let mut queue = VecDeque::new();
    let mut total = 0usize;
    for name in &opts.contexts {
        let source = if is_full_context(name) {
            &full
        } else if name == "traced" {
            &traced_cover
        } else {
            &cover
        };
        let cases: Vec<Case> = source
            .iter()
            .filter(|c| matches(&opts.filters, c, name))
            .cloned()
            .collect();
        if cases.is_empty() {
            continue;
        }
        let spec = match context_spec(name, runner_is_root) {
            Ok(Ok(s)) => s,
            Ok(Err(reason)) | Err(reason) => {
                report.contexts.push(ContextReport {
                    name: name.clone(),
                    status: "skipped".into(),
                    reason: Some(reason.clone()),
                    detected: serde_json::Value::Null,
                    cases: cases.len(),
                });
                for c in cases {
                    report.push(skip_result(&c, name, &reason));
                }
                continue;
            }
        };
        total += cases.len();
        // Contexts whose outcome depends on a per-uid task count run in one
        // batch, so parallel probes do not share that count.
        let chunk = if name.starts_with("nproc") {
            usize::MAX
        } else {
            opts.batch_size.max(1)
        };
        let mut it = cases.into_iter().peekable();
        while it.peek().is_some() {
            let part: Vec<Case> = it.by_ref().take(chunk).collect();
            queue.push_back(Job::Batch(Work {
                context: name.clone(),
                spec,
                cases: part,
            }));
        }
    }

    // The slowest batches first, so the last ones to finish are short and
    // no worker idles while another runs a long batch alone: a case
    // observed in full (/proc alive and as a zombie, rusage, fdinfo) costs
    // several times a matrix case, and the hand-written groups that use it
    // come last in the catalogue (measured: that last batch took 0.9 s of
    // a 7 s root-context run with the other CPU idle). A stable sort: equal
    // batches keep catalogue order.
    queue
        .make_contiguous()
        .sort_by_key(|j| std::cmp::Reverse(j.full_observations()));
    // The scenario processes go first: they run next to the batches
    // instead of after them.
    for ctx in ["user", "root"] {
        if opts.contexts.iter().any(|c| c == ctx) {
            queue.push_front(Job::Scenarios(ctx));
        }
    }
    stages.stop("runner.bind-contexts", m);
    let parallel = stages.start();
    // Results go into the report as each batch finishes, so a full run keeps
    // counts, not ~800k case records.
    struct Done {
        cases: usize,
        contexts: Vec<(String, Result<Context, String>, usize)>,
        stages: Stages,
    }
    let done = Mutex::new((
        Done {
            cases: 0,
            contexts: Vec::new(),
            stages: Stages::default(),
        },
        report,
    ));
    let probes = slot_probes(&opts.probe, opts.jobs, opts.pin);
    let worker = |slot: usize, job: Job| {
        let work = match job {
            Job::Batch(w) => w,
            Job::Scenarios(ctx) => {
                let mut st = Stages::from_env();
                let m = st.start();
                let results = scenario_results(opts, runner_is_root, ctx);
                st.stop("runner.scenarios", m);
                let mut guard = done.lock().unwrap_or_else(|e| e.into_inner());
                let (d, report) = &mut *guard;
                for r in results {
                    report.push(r);
                }
                d.stages.merge(&st);
                return;
            }
        };
        let (ctx_name, detected, results, mut st) =
            run_work(opts, &probes[slot % probes.len()], &work);
        let m = st.start();
        let mut guard = done.lock().unwrap_or_else(|e| e.into_inner());
        let (d, report) = &mut *guard;
        d.cases += work.cases.len();
        match d.contexts.iter_mut().find(|(n, _, _)| *n == ctx_name) {
            Some(entry) => {
                entry.2 += results.len();
                // Each batch measures the cgroup access its own
                // cases need: report what any batch measured.
                if let (Ok(seen), Ok(now)) = (&mut entry.1, &detected) {
                    let w = &mut seen.cgroup_write;
                    w.root = w.root.or(now.cgroup_write.root);
                    w.created = w.created.or(now.cgroup_write.created);
                }
            }
            None => d.contexts.push((ctx_name, detected, results.len())),
        }
        for r in results {
            // Passing matrix cases are counted, not kept, unless
            // the JSON is to list every case.
            if r.generated && r.verdict == Verdict::Pass && !opts.keep_passing_details {
                report.count(&r.group, &r.context, r.verdict);
            } else {
                report.push(r);
            }
        }
        if let Some(p) = &opts.progress {
            p(d.cases, total);
        }
        st.stop("runner.merge-results", m);
        d.stages.merge(&st);
    };
    drain_parallel(queue, opts.jobs, worker);

    let (done, mut report) = done.into_inner().unwrap_or_else(|e| e.into_inner());
    stages.stop("runner.batches(all workers)", parallel);
    stages.merge(&done.stages);
    let seen_contexts = done.contexts;
    for name in &opts.contexts {
        if let Some((n, detected, count)) = seen_contexts.iter().find(|(n, _, _)| n == name) {
            report.contexts.push(match detected {
                Ok(ctx) => ContextReport {
                    name: n.clone(),
                    status: "ran".into(),
                    reason: None,
                    detected: serde_json::to_value(ctx).unwrap_or_default(),
                    cases: *count,
                },
                Err(reason) => ContextReport {
                    name: n.clone(),
                    status: "skipped".into(),
                    reason: Some(reason.clone()),
                    detected: serde_json::Value::Null,
                    cases: *count,
                },
            });
        }
    }
    let m = stages.start();
    report.cases.sort_by(|a, b| a.id.cmp(&b.id));
    stages.stop("runner.sort", m);
    report.duration_s = start.elapsed().as_secs_f64();
    if stages.on() {
        // Accounting asked for in the environment: not part of any report.
        let _ = write!(
            std::io::stderr(),
            "forklore: stages of this run (wall = sum over threads/processes)\n{}",
            stages.table()
        );
    }
    report
}

/// Run `f` on every item of `queue`, `jobs` at a time (this thread is one
/// of them): each worker takes the next item as soon as it is free. The
/// queue is locked only to take an item, never while `f` runs. `f` gets
/// the worker's slot (0..jobs) too, the same for every item it runs.
fn drain_parallel<T: Send>(queue: VecDeque<T>, jobs: usize, f: impl Fn(usize, T) + Sync) {
    // One worker per item at most: more would only idle.
    let workers = jobs.clamp(1, queue.len().max(1));
    let queue = Mutex::new(queue);
    let worker = |slot: usize| loop {
        // A poisoned lock only means another worker panicked; the queue
        // is still consistent. The guard must end in this statement: in
        // `while let Some(w) = queue.lock()...pop_front()` it would live
        // through the whole body and run the items one at a time whatever
        // `jobs` says.
        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        match next {
            Some(item) => f(slot, item),
            None => break,
        }
    };
    std::thread::scope(|s| {
        // jobs - 1 extra threads; this thread is the last worker. A thread
        // the system refuses (a pids cgroup, RLIMIT_NPROC) means fewer
        // parallel batches, never a panic or a lost case.
        let mut refused = None;
        for slot in 1..workers {
            if let Err(e) = std::thread::Builder::new().spawn_scoped(s, move || worker(slot)) {
                refused = Some(e);
                break;
            }
        }
        if let Some(e) = refused {
            let why = e
                .raw_os_error()
                .and_then(|n| forklore_observe::limits::shortage(n, "start a worker thread"))
                .unwrap_or_else(|| format!("could not start a worker thread: {e}"));
            // Not eprintln!: a closed stderr must not panic the run.
            let _ = writeln!(
                std::io::stderr(),
                "forklore: running with fewer jobs: {why}"
            );
        }
        worker(0);
    });
}

/// Run `cases` in context `context` (arranged as `spec`) the way
/// [`run_check`] runs a context's batches: `opts.batch_size` cases per
/// probe, `opts.jobs` at a time, predicted and judged. For benchmarks that
/// time the suite on a chosen set of cases (forklore-bench's
/// `suite_floor`); results in no particular order.
pub fn run_cases(
    opts: &CheckOptions,
    context: &str,
    spec: ContextSpec,
    cases: Vec<Case>,
) -> Vec<CaseResult> {
    let mut queue = VecDeque::new();
    let mut it = cases.into_iter().peekable();
    while it.peek().is_some() {
        queue.push_back(Work {
            context: context.to_string(),
            spec,
            cases: it.by_ref().take(opts.batch_size.max(1)).collect(),
        });
    }
    let out = Mutex::new(Vec::new());
    let probes = slot_probes(&opts.probe, opts.jobs, opts.pin);
    drain_parallel(queue, opts.jobs, |slot: usize, w: Work| {
        let (_, _, results, _) = run_work(opts, &probes[slot % probes.len()], &w);
        out.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(results);
    });
    out.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// The lifecycle scenarios of `context` (`root` or `user`) as
/// [`run_check`] runs them. For benchmarks.
pub fn run_scenario_cases(
    opts: &CheckOptions,
    runner_is_root: bool,
    context: &str,
) -> Vec<CaseResult> {
    match context {
        "root" => scenario_results(opts, runner_is_root, "root"),
        "user" => scenario_results(opts, runner_is_root, "user"),
        _ => Vec::new(),
    }
}

fn skip_result(c: &Case, ctx: &str, reason: &str) -> CaseResult {
    CaseResult {
        id: format!("{}/{ctx}", c.id()),
        group: c.group.to_string(),
        tags: c.tags.clone(),
        context: ctx.to_string(),
        verdict: Verdict::Skip,
        expected: serde_json::Value::Null,
        observed: serde_json::Value::Null,
        reason: Some(reason.to_string()),
        repro: None,
        generated: c.tags.contains(&"matrix"),
    }
}

fn run_work(
    opts: &CheckOptions,
    probe: &ProbeCommand,
    work: &Work,
) -> (String, Result<Context, String>, Vec<CaseResult>, Stages) {
    let mut stages = Stages::from_env();
    let m = stages.start();
    let probe_cases: Vec<ProbeCase> = work.cases.iter().map(|c| c.probe.clone()).collect();
    stages.stop("runner.copy-cases", m);
    let m = stages.start();
    let batch = run_batch(probe, &work.spec, &probe_cases, opts.batch_timeout);
    stages.stop("runner.run_batch", m);
    stages.merge(&batch.stages);
    let ctx = match &batch.context {
        Ok(ctx) => match opts.kernel {
            Some(k) => with_declared_kernel(ctx.clone(), k),
            None => ctx.clone(),
        },
        Err(reason) => {
            let results = work
                .cases
                .iter()
                .map(|c| skip_result(c, &work.context, reason))
                .collect();
            return (work.context.clone(), Err(reason.clone()), results, stages);
        }
    };
    let m = stages.start();
    let mut results = Vec::with_capacity(work.cases.len());
    for (case, (id, obs)) in work.cases.iter().zip(batch.results.iter()) {
        debug_assert_eq!(case.id(), id);
        let request = case.request();
        let pred = predict(request, &ctx);
        let (verdict, reason) = compare(request, &ctx, &pred, obs);
        let generated = case.tags.contains(&"matrix");
        // Passing matrix cases are only counted (and listed by id with
        // --all-cases): rendering both sides for ~800k of them would cost
        // gigabytes and most of the run time.
        let keep = verdict != Verdict::Pass || !generated || opts.keep_passing_details;
        results.push(settle(CaseResult {
            id: format!("{}/{}", case.id(), work.context),
            group: case.group.to_string(),
            tags: case.tags.clone(),
            context: work.context.clone(),
            verdict,
            expected: if keep {
                crate::explain::explain_json(request, &ctx, &pred)
            } else {
                serde_json::Value::Null
            },
            observed: if keep {
                crate::verdict::observation_json(obs)
            } else {
                serde_json::Value::Null
            },
            repro: (verdict != Verdict::Pass).then(|| repro_command(case.request(), &work.context)),
            reason,
            generated,
        }));
    }
    // A batch that returned fewer results than cases lost the rest.
    for case in work.cases.iter().skip(batch.results.len()) {
        results.push(CaseResult {
            id: format!("{}/{}", case.id(), work.context),
            group: case.group.to_string(),
            tags: case.tags.clone(),
            context: work.context.clone(),
            verdict: Verdict::Broken,
            expected: serde_json::Value::Null,
            observed: serde_json::Value::Null,
            reason: Some("the probe returned no result for this case".into()),
            repro: Some(repro_command(case.request(), &work.context)),
            generated: case.tags.contains(&"matrix"),
        });
    }
    stages.stop("runner.predict+verdict", m);
    (work.context.clone(), Ok(ctx), results, stages)
}

/// The lifecycle scenarios (execve, exit, wait4, vfork, reparenting, /proc)
/// of one of the two full contexts: as root (when the runner is root) and as
/// an unprivileged user (as root: each scenario process drops to an unused
/// uid first). One scenario process per context, run by a worker next to
/// the probe batches.
fn scenario_results(
    opts: &CheckOptions,
    runner_is_root: bool,
    ctx: &'static str,
) -> Vec<CaseResult> {
    use forklore_scenarios as sc;
    let all = sc::catalogue();
    let selected: Vec<&sc::ScenarioInfo> = all
        .iter()
        .filter(|s| {
            let group = scenario_group(s.group);
            let full = format!("{}/{ctx}", s.id);
            opts.filters.is_empty()
                || opts
                    .filters
                    .iter()
                    .any(|p| p.matches(s.id) || p.matches(&full) || p.matches(&group))
        })
        .collect();
    let skip = |reason: &str| -> Vec<CaseResult> {
        selected
            .iter()
            .map(|s| CaseResult {
                id: format!("{}/{ctx}", s.id),
                group: scenario_group(s.group),
                tags: vec!["lifecycle"],
                context: ctx.to_string(),
                verdict: Verdict::Skip,
                expected: serde_json::Value::Null,
                observed: serde_json::Value::Null,
                reason: Some(reason.to_string()),
                repro: None,
                generated: false,
            })
            .collect()
    };
    if selected.is_empty() {
        return Vec::new();
    }
    let uid = match scenario_uid(ctx, runner_is_root) {
        Ok(Ok(uid)) => uid,
        Ok(Err(reason)) | Err(reason) => return skip(&reason),
    };
    let cmd = match sc::ScenarioCommand::current_exe() {
        Ok(mut c) => {
            if let Some(k) = opts.kernel {
                c.args.extend(["--kernel".to_string(), k.to_string()]);
            }
            c
        }
        Err(e) => return skip(&format!("cannot find own executable: {e}")),
    };
    let ids: Vec<&str> = selected.iter().map(|s| s.id).collect();
    // The version the model was asked about: declared, or the host's.
    let kernel = opts.kernel.unwrap_or(opts.host.kernel);
    sc::run(&cmd, &ids, opts.batch_timeout, uid)
        .into_iter()
        .map(|r| crate::scenario_case::scenario_case(r, ctx, Some(kernel), opts.kernel.is_some()))
        .collect()
}

/// Report group of a scenario group (`exec` → `lifecycle-exec`).
pub fn scenario_group(g: &str) -> String {
    crate::scenario_case::scenario_group(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_names_parse_back() {
        for k in ContextSpec::KINDS.iter().chain(&ContextSpec::DEFAULT_RUN) {
            assert_eq!(k.name().parse::<ContextSpec>(), Ok(*k), "{}", k.name());
        }
        let names = default_contexts();
        assert_eq!(names.len(), ContextSpec::DEFAULT_RUN.len());
        assert!(names.iter().filter(|n| is_full_context(n)).count() == 2);
        for n in &names {
            assert!(context_spec(n, true).is_ok(), "{n}");
        }
    }

    #[test]
    fn jobs_run_items_at_the_same_time() {
        // Each item waits (up to 10 s) for the other to start: with the
        // queue locked while an item runs, neither sees the other.
        use std::sync::{Condvar, Mutex};
        for jobs in [2, 3] {
            let started = Mutex::new(0usize);
            let cv = Condvar::new();
            let overlapped = Mutex::new(0usize);
            let slots = Mutex::new(Vec::new());
            drain_parallel(VecDeque::from([1, 2]), jobs, |slot, _| {
                slots.lock().unwrap().push(slot);
                let mut n = started.lock().unwrap();
                *n += 1;
                cv.notify_all();
                let (n, _) = cv
                    .wait_timeout_while(n, Duration::from_secs(10), |n| *n < 2)
                    .unwrap();
                if *n == 2 {
                    *overlapped.lock().unwrap() += 1;
                }
            });
            assert_eq!(*overlapped.lock().unwrap(), 2, "jobs {jobs}");
            // Items running at the same time are on different slots.
            let mut slots = slots.into_inner().unwrap();
            slots.sort();
            assert_eq!(slots, [0, 1], "jobs {jobs}");
        }
        // One job: every item still runs, in order.
        let seen = Mutex::new(Vec::new());
        drain_parallel(VecDeque::from([1, 2, 3]), 1, |slot, i| {
            seen.lock().unwrap().push((slot, i))
        });
        assert_eq!(*seen.lock().unwrap(), [(0, 1), (0, 2), (0, 3)]);
    }

    #[test]
    fn each_slot_probe_gets_its_own_cpu_round_robin() {
        let cpus = forklore_observe::allowed_cpus();
        assert!(!cpus.is_empty(), "sched_getaffinity gave no CPU");
        let probe = ProbeCommand::binary("/bin/true");
        let probes = slot_probes(&probe, 5, true);
        assert_eq!(probes.len(), 5);
        for (i, p) in probes.iter().enumerate() {
            let want = (cpus.len() > 1).then(|| cpus[i % cpus.len()]);
            assert_eq!(p.cpu, want, "slot {i} of {cpus:?}");
            assert_eq!(p.program, probe.program);
        }
        assert!(slot_probes(&probe, 5, false)
            .iter()
            .all(|p| p.cpu.is_none()));
        assert_eq!(slot_probes(&probe, 0, true).len(), 1);
    }

    #[test]
    fn scenario_contexts() {
        assert_eq!(scenario_uid("root", true), Ok(Ok(None)));
        assert_eq!(scenario_uid("user", false), Ok(Ok(None)));
        assert!(scenario_uid("root", false).unwrap().is_err());
        assert!(scenario_uid("userns", true).is_err());
        assert_eq!(default_context(true), "root");
        assert_eq!(default_context(false), "user");
    }
}
