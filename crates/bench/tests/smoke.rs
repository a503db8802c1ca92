//! Smoke runs of every method with a few iterations, one after another on
//! the main thread (harness = false): every run pins the calling thread and
//! leaves no child and no thread behind, which is checked after each.
//! Asserts counts and shapes, never times.

use forklore_bench::methods::METHODS;
use forklore_bench::{run_report, BenchError, BenchOptions, Report};
use libtest_mimic::{Arguments, Failed, Trial};
use nix::sys::wait::{waitpid, WaitPidFlag};

fn quick(methods: &str) -> BenchOptions {
    BenchOptions {
        method: Some(methods.into()),
        iterations: Some("5".into()),
        warmup: Some("2".into()),
        runs: Some("2".into()),
        ..Default::default()
    }
}

fn no_children_left() -> Result<(), Failed> {
    match waitpid(None, Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL)) {
        Err(nix::errno::Errno::ECHILD) => Ok(()),
        other => Err(format!("a child was left behind: {other:?}").into()),
    }
}

fn single_threaded() -> Result<(), Failed> {
    match forklore_bench::runner::thread_count() {
        Some(1) => Ok(()),
        n => Err(format!("threads after the run: {n:?}").into()),
    }
}

fn check_shape(r: &Report, methods: usize, per_run: u64) -> Result<(), Failed> {
    if r.results.len() != methods {
        return Err(format!("{} results for {methods} methods", r.results.len()).into());
    }
    for m in &r.results {
        let runs: Vec<u64> = m.runs.iter().map(|x| x.samples).collect();
        if runs != vec![per_run; r.config.runs as usize]
            || m.stats.samples != per_run * r.config.runs as u64
        {
            return Err(format!("{}: samples {runs:?} / {}", m.method, m.stats.samples).into());
        }
        let s = &m.stats;
        if !(s.min_ns <= s.p50_ns && s.p50_ns <= s.p99_ns && s.p99_ns <= s.max_ns && s.min_ns > 0) {
            return Err(format!("{}: percentiles out of order {s:?}", m.method).into());
        }
        if m.spread.is_none() || m.cdf.is_empty() {
            return Err(format!("{}: spread or cdf missing", m.method).into());
        }
    }
    Ok(())
}

fn method_trial(name: &'static str) -> Trial {
    Trial::test(format!("method::{name}"), move || {
        let mut a = quick(name);
        if name == "clone" {
            a.flags = Some("VM|VFORK".into());
        }
        let r = run_report(&a).map_err(|e| format!("{name}: {e}"))?;
        check_shape(&r, 1, 5)?;
        if r.results[0].method != name {
            return Err("wrong method".into());
        }
        no_children_left()?;
        single_threaded()
    })
}

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let mut trials: Vec<Trial> = METHODS.iter().map(|m| method_trial(m.name)).collect();
    trials.push(Trial::test("clone::thread_flags_are_joined", || {
        let mut a = quick("clone");
        a.flags = Some("VM|SIGHAND|THREAD".into());
        let r = run_report(&a).map_err(|e| e.to_string())?;
        check_shape(&r, 1, 5)?;
        single_threaded()
    }));
    trials.push(Trial::test("clone::kernel_rejection_is_bad_input", || {
        let mut a = quick("clone");
        a.flags = Some("SIGHAND".into()); // SIGHAND without VM: EINVAL in copy_process
        match run_report(&a) {
            Err(BenchError::BadInput(m))
                if m.contains("EINVAL") || m.contains("Invalid argument") =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}").into()),
        }
    }));
    trials.push(Trial::test(
        "sandbox::denied_methods_are_unavailable",
        || {
            // A seccomp filter in the timing process answers clone3 with
            // ENOSYS, as gVisor does: the clone3 methods are reported
            // unavailable with the call and errno, every other one measured
            // (glibc's posix_spawn falls back to clone).
            let mut a = quick("fork,clone3,clone3-pidfd,posix-spawn");
            a.no_perf = true;
            a.deny = Some("clone3".into());
            let r = run_report(&a).map_err(|e| e.to_string())?;
            check_shape(&r, 2, 5)?;
            let measured: Vec<&str> = r.results.iter().map(|m| m.method.as_str()).collect();
            if measured != ["fork", "posix-spawn"] {
                return Err(format!("measured {measured:?}").into());
            }
            let un: Vec<(&str, Option<&str>, Option<&str>)> = r
                .unavailable
                .iter()
                .map(|u| (u.method.as_str(), u.call.as_deref(), u.errno.as_deref()))
                .collect();
            let want = [
                ("clone3", Some("clone3"), Some("ENOSYS")),
                ("clone3-pidfd", Some("clone3"), Some("ENOSYS")),
            ];
            if un != want || r.unavailable.iter().any(|u| u.status != "unavailable") {
                return Err(format!("unavailable {un:?}").into());
            }
            if !r.table().contains("clone3: ENOSYS")
                || !r.notes.iter().any(|n| n.contains("unavailable here"))
            {
                return Err("table or notes do not say it".into());
            }
            // Another errno is reported as such.
            let mut b = quick("clone3,getpid");
            b.no_perf = true;
            b.deny = Some("clone3:EPERM".into());
            let r = run_report(&b).map_err(|e| e.to_string())?;
            if r.unavailable.len() != 1 || r.unavailable[0].errno.as_deref() != Some("EPERM") {
                return Err(format!("{:?}", r.unavailable).into());
            }
            // Everything refused: still a report, with nothing measured.
            let mut c = quick("clone3");
            c.deny = Some("clone3".into());
            let r = run_report(&c).map_err(|e| e.to_string())?;
            if !r.results.is_empty() || r.unavailable.len() != 1 {
                return Err(format!("{:?}", r.unavailable).into());
            }
            no_children_left()?;
            single_threaded()
        },
    ));
    trials.push(Trial::test("sandbox::bad_deny_is_bad_input", || {
        for spec in ["spork", "clone3:EWHAT"] {
            let mut a = quick("fork");
            a.deny = Some(spec.into());
            match run_report(&a) {
                Err(BenchError::BadInput(m)) if m.contains("FORKLORE_BENCH_DENY") => {}
                other => return Err(format!("{spec}: {other:?}").into()),
            }
        }
        Ok(())
    }));
    trials.push(Trial::test("counters::perf_pass_or_reasons", || {
        let a = quick("fork");
        let r = run_report(&a).map_err(|e| e.to_string())?;
        let c = &r.results[0].counters;
        if c.perf.len() + c.perf_unavailable.len() != 5 {
            return Err(format!("perf counters: {c:?}").into());
        }
        if c.perf.get("page_faults").is_some_and(|&v| v <= 0.0) {
            return Err("a fork child with no page faults".into());
        }
        Ok(())
    }));
    trials.push(Trial::test("sweep::fits_every_method", || {
        let mut a = quick("fork,vfork");
        a.rss = Some("0,8M".into());
        a.no_perf = true;
        let r = run_report(&a).map_err(|e| e.to_string())?;
        check_shape(&r, 4, 5)?;
        if r.fits.len() != 2 || r.fits.iter().any(|f| f.points.len() != 2) {
            return Err(format!("fits: {:?}", r.fits).into());
        }
        let vfork = r
            .fits
            .iter()
            .find(|f| f.method == "vfork")
            .ok_or("no vfork fit")?;
        if !vfork.shares_vm {
            return Err("vfork should be marked CLONE_VM".into());
        }
        let dir = tempfile::tempdir()?;
        forklore_bench::plot::write_svg(&r, &dir.path().join("x.svg"))
            .map_err(|e| e.to_string())?;
        no_children_left()
    }));
    trials.push(Trial::test("pin::cpu0", || {
        let mut a = quick("getpid,vfork");
        a.pin = Some("0".into());
        let r = run_report(&a).map_err(|e| e.to_string())?;
        if r.environment.pinned_cpu != Some(0) {
            return Err("pin not recorded".into());
        }
        // The mask is restored afterwards.
        let mask = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))?;
        let n = (0..nix::sched::CpuSet::count())
            .filter(|&c| mask.is_set(c).unwrap_or(false))
            .count();
        if n != r.environment.cpus_allowed {
            return Err(format!("affinity not restored: {n} CPUs").into());
        }
        Ok(())
    }));
    trials.push(Trial::test("duration::budget", || {
        let mut a = quick("getpid");
        a.iterations = None;
        a.duration = Some("20ms".into());
        let r = run_report(&a).map_err(|e| e.to_string())?;
        if r.results[0].stats.samples < 100 {
            return Err(format!(
                "only {} getpid calls in 2 x 20 ms",
                r.results[0].stats.samples
            )
            .into());
        }
        Ok(())
    }));
    trials.push(Trial::test("signal::sigterm_cleans_up", || {
        // SIGTERM to this process mid-run: the measurement stops between
        // batches, reaps its timing process, removes its temporary
        // directory and reports the interruption; afterwards SIGTERM's
        // disposition is back to what it was.
        let ours = || -> Result<usize, Failed> {
            Ok(std::fs::read_dir(std::env::temp_dir())?
                .filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("forklore-bench")
                })
                .count())
        };
        let before = ours()?;
        let mut a = quick("fork");
        a.iterations = None;
        a.duration = Some("10s".into());
        a.runs = Some("1".into());
        a.no_perf = true;
        let me = nix::unistd::getpid();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let _ = nix::sys::signal::kill(me, nix::sys::signal::Signal::SIGTERM);
        });
        let r = run_report(&a);
        sender.join().map_err(|_| "sender thread panicked")?;
        match r {
            Err(BenchError::Interrupted("SIGTERM")) => {}
            other => return Err(format!("{other:?}").into()),
        }
        no_children_left()?;
        if ours()? != before {
            return Err("the temporary directory was left behind".into());
        }
        match forklore_sys::signal::signal_disposition(nix::libc::SIGTERM) {
            Ok((forklore_sys::signal::Disposition::Default, _)) => {}
            other => return Err(format!("SIGTERM disposition not restored: {other:?}").into()),
        }
        single_threaded()
    }));
    libtest_mimic::run(&args, trials).exit();
}
