//! Cases per second through one probe (run with `--ignored --nocapture`,
//! in release mode for meaningful numbers).

use forklore_model::{flags::*, Request};
use forklore_probe::*;
use std::time::{Duration, Instant};

const MATRIX: [u64; 17] = [
    CLONE_VM,
    CLONE_FS,
    CLONE_FILES,
    CLONE_SIGHAND,
    CLONE_PIDFD,
    CLONE_PTRACE,
    CLONE_VFORK,
    CLONE_PARENT,
    CLONE_THREAD,
    CLONE_SYSVSEM,
    CLONE_SETTLS,
    CLONE_PARENT_SETTID,
    CLONE_CHILD_CLEARTID,
    CLONE_DETACHED,
    CLONE_UNTRACED,
    CLONE_CHILD_SETTID,
    CLONE_IO,
];

fn flags(i: u32) -> u64 {
    MATRIX
        .iter()
        .enumerate()
        .filter(|(b, _)| i & (1 << b) != 0)
        .map(|(_, f)| *f)
        .sum()
}

fn run(level: ObserveLevel, n: u32, step: u32) {
    let cmd = ProbeCommand::binary(env!("CARGO_BIN_EXE_forklore-probe"));
    let mut cases = Vec::new();
    for k in 0..n {
        let i = k.wrapping_mul(step) % (1 << 17);
        cases.push(ProbeCase::new(
            format!("clone-{i}"),
            Request::clone(flags(i) | SIGCHLD),
            level,
        ));
        let es = if flags(i) & (CLONE_THREAD | CLONE_PARENT) != 0 {
            0
        } else {
            SIGCHLD
        };
        cases.push(ProbeCase::new(
            format!("clone3-{i}"),
            Request::clone3(flags(i), es),
            level,
        ));
    }
    let t = Instant::now();
    let r = run_batch(&cmd, &ContextSpec::AsIs, &cases, Duration::from_secs(30));
    let dt = t.elapsed();
    let ok = r
        .results
        .iter()
        .filter(|(_, o)| o.outcome == CaseOutcome::Success)
        .count();
    let broken: Vec<_> = r
        .results
        .iter()
        .filter(|(_, o)| o.outcome == CaseOutcome::Broken)
        .collect();
    let restored = r
        .results
        .iter()
        .filter(|(_, o)| !o.restored.is_empty())
        .count();
    println!(
        "{level:?}: {} cases ({ok} successes) in {:.2}s = {:.0} cases/s; broken {}, restored {restored}",
        cases.len(),
        dt.as_secs_f64(),
        cases.len() as f64 / dt.as_secs_f64(),
        broken.len()
    );
    for b in broken.iter().take(5) {
        println!("  broken: {b:?}");
    }
    assert_eq!(r.results.len(), cases.len());
}

#[test]
#[ignore]
fn throughput_light() {
    run(ObserveLevel::Light, 10_000, 7919);
}

#[test]
#[ignore]
fn throughput_full() {
    run(ObserveLevel::Full, 1_000, 7919);
}

fn one(name: &str, req: Request, n: usize) {
    let cmd = ProbeCommand::binary(env!("CARGO_BIN_EXE_forklore-probe"));
    let cases: Vec<_> = (0..n)
        .map(|i| ProbeCase::new(format!("{name}-{i}"), req.clone(), ObserveLevel::Light))
        .collect();
    let t = Instant::now();
    let r = run_batch(&cmd, &ContextSpec::AsIs, &cases, Duration::from_secs(30));
    let dt = t.elapsed();
    println!("{name}: {:.1} us/case", dt.as_secs_f64() * 1e6 / n as f64);
    assert_eq!(r.results.len(), n);
}

#[test]
#[ignore]
fn per_kind_cost() {
    one("einval", Request::clone(CLONE_THREAD | SIGCHLD), 20_000);
    one("fork", Request::clone(SIGCHLD), 5_000);
    one("vm", Request::clone(CLONE_VM | SIGCHLD), 5_000);
    one(
        "vfork",
        Request::clone(CLONE_VM | CLONE_VFORK | SIGCHLD),
        5_000,
    );
    one(
        "thread",
        Request::clone(CLONE_VM | CLONE_SIGHAND | CLONE_THREAD),
        5_000,
    );
    one("parent", Request::clone(CLONE_VM | CLONE_PARENT), 5_000);
}

#[test]
#[ignore]
fn per_flag_cost() {
    for f in MATRIX {
        let base = if f & (CLONE_SIGHAND | CLONE_THREAD) != 0 {
            CLONE_VM | CLONE_SIGHAND
        } else {
            CLONE_VM
        };
        one(&format_flags(f), Request::clone(base | f | SIGCHLD), 2_000);
        one(
            &format!("{} nonvm", format_flags(f)),
            Request::clone(f | SIGCHLD),
            1_000,
        );
    }
}

/// Random 64-bit flags and exit signals through clone and clone3: nothing
/// may come back broken. (`--ignored`; slow with namespace flags.)
#[test]
#[ignore]
fn random_flags_never_break_the_probe() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let cmd = ProbeCommand::binary(env!("CARGO_BIN_EXE_forklore-probe"));
    let mut cases = Vec::new();
    for i in 0..3000 {
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

/// Two probes at once (one per core), as the suite runs them.
#[test]
#[ignore]
fn throughput_two_probes() {
    let t = Instant::now();
    let n: u32 = 10_000;
    std::thread::scope(|s| {
        for half in 0..2u32 {
            s.spawn(move || {
                let cmd = ProbeCommand::binary(env!("CARGO_BIN_EXE_forklore-probe"));
                let cases: Vec<_> = (0..n)
                    .flat_map(|k| {
                        let i = (k * 2 + half).wrapping_mul(7919) % (1 << 17);
                        let es = if flags(i) & (CLONE_THREAD | CLONE_PARENT) != 0 {
                            0
                        } else {
                            SIGCHLD
                        };
                        [
                            ProbeCase::new(
                                format!("clone-{i}"),
                                Request::clone(flags(i) | SIGCHLD),
                                ObserveLevel::Light,
                            ),
                            ProbeCase::new(
                                format!("clone3-{i}"),
                                Request::clone3(flags(i), es),
                                ObserveLevel::Light,
                            ),
                        ]
                    })
                    .collect();
                let r = run_batch(&cmd, &ContextSpec::AsIs, &cases, Duration::from_secs(30));
                assert_eq!(r.results.len(), cases.len());
            });
        }
    });
    let dt = t.elapsed();
    println!(
        "two probes: {} cases in {:.2}s = {:.0} cases/s",
        4 * n,
        dt.as_secs_f64(),
        4.0 * n as f64 / dt.as_secs_f64()
    );
}
