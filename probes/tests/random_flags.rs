//! Random 64-bit flags and exit signals through clone and clone3, as root
//! and unprivileged: whatever the kernel answers, no case may break the
//! probe, and every case gets a result. This test binary is also the
//! probe (re-executed with `__probe`).

use forklore_model::{flags::*, Request};
use forklore_probe::*;
use libtest_mimic::{Arguments, Trial};
use std::time::{Duration, Instant};

fn main() {
    // Re-executed as the probe: become it before any thread starts.
    if std::env::args().nth(1).as_deref() == Some("__probe") {
        std::process::exit(probe_main());
    }
    let args = Arguments::from_args();
    let trials = vec![Trial::test("random_flags_never_break_the_probe", || {
        random_flags_never_break_the_probe();
        Ok(())
    })];
    libtest_mimic::run(&args, trials).exit();
}

/// Random 64-bit flags and exit signals through clone and clone3: nothing
/// may come back broken.
fn random_flags_never_break_the_probe() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let cmd = ProbeCommand::current_exe().expect("own executable");
    let mut cases = Vec::new();
    for i in 0..600 {
        let r = rnd();
        // Mostly low bits, some upper ones; avoid NEWNET (slow teardown) half the time.
        let mut f = r & 0xffff_ffff;
        if i % 2 == 0 {
            f &= !CLONE_NEWNET;
        }
        if i % 7 == 0 {
            f |= (rnd() & 0x3f) << 32;
        }
        let level = if i % 5 == 0 {
            ObserveLevel::Full
        } else {
            ObserveLevel::Light
        };
        if i % 2 == 0 {
            cases.push(ProbeCase::new(
                format!("clone-{i}"),
                Request::clone(f),
                level,
            ));
        } else {
            let es = if rnd() % 3 == 0 { rnd() % 70 } else { 0 };
            cases.push(ProbeCase::new(
                format!("clone3-{i}"),
                Request::clone3(f & !0xff, es),
                level,
            ));
        }
    }
    for ctx in [ContextSpec::AsIs, ContextSpec::Unprivileged] {
        let t = Instant::now();
        let r = run_batch(&cmd, &ctx, &cases, Duration::from_secs(30));
        let broken: Vec<_> = r
            .results
            .iter()
            .filter(|(_, o)| o.outcome == CaseOutcome::Broken)
            .collect();
        let ok = r
            .results
            .iter()
            .filter(|(_, o)| o.outcome == CaseOutcome::Success)
            .count();
        let restored: Vec<_> = r
            .results
            .iter()
            .filter(|(_, o)| !o.restored.is_empty())
            .map(|(i, o)| (i, &o.restored))
            .collect();
        println!(
            "{ctx}: {} cases, {ok} successes, {:.2}s, restored {:?}",
            r.results.len(),
            t.elapsed().as_secs_f64(),
            restored.iter().take(5).collect::<Vec<_>>()
        );
        for (id, o) in &r.results {
            if o.call_ns > 5_000_000 {
                println!(
                    "slow call {id}: {:.1} ms {:?} {:?}",
                    o.call_ns as f64 / 1e6,
                    o.outcome,
                    o.errno
                );
            }
        }
        assert!(
            broken.is_empty(),
            "{:#?}",
            broken.iter().take(3).collect::<Vec<_>>()
        );
        assert_eq!(r.results.len(), cases.len());
    }
}
