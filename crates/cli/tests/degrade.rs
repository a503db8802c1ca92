//! Degrade, never collapse: with a facility simulated missing
//! (`FORKLORE_SIMULATE_MISSING`, a test-only variable the detection reads),
//! only the cases that need it are skipped, with the reason; the rest run
//! and pass. The kernel version is never a silent 0.0.0, and every
//! `probe --json` prints a document.

#![forbid(unsafe_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_forklore");
const SIM: &str = "FORKLORE_SIMULATE_MISSING";

fn run(args: &[&str], missing: Option<&str>) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).stdin(Stdio::null());
    match missing {
        Some(m) => c.env(SIM, m),
        None => c.env_remove(SIM),
    };
    c.output().expect("run forklore")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn verdicts(report: &Value) -> BTreeMap<String, (String, String)> {
    report["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_string(),
                (
                    c["verdict"].as_str().unwrap_or_default().to_string(),
                    c["reason"].as_str().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect()
}

/// Run `args` as they are and with `facility` simulated missing: in the
/// second run every case whose id starts with `prefix` is `skip` with a
/// reason containing `why`, every other case keeps its verdict, there is
/// at least one of each and nothing is broken. Returns the second report.
fn only_these_skip(args: &[&str], facility: &str, prefix: &str, why: &str) -> Value {
    let normal = verdicts(&json(&run(args, None)));
    let r = json(&run(args, Some(facility)));
    assert_eq!(r["summary"]["broken"], 0, "{}", r["summary"]);
    let sim = verdicts(&r);
    assert_eq!(normal.len(), sim.len());
    let (mut skipped, mut kept) = (0, 0);
    for (id, (v, reason)) in &sim {
        if id.starts_with(prefix) {
            assert_eq!(v, "skip", "{id}");
            assert!(reason.contains(why), "{id}: {reason}");
            skipped += 1;
        } else {
            assert_eq!(v, &normal[id].0, "{id}: {reason}");
            kept += 1;
        }
    }
    assert!(skipped > 0 && kept > 0, "{skipped} skipped, {kept} kept");
    r
}

#[test]
fn without_a_subreaper_only_the_cases_that_need_one_skip() {
    let args = ["check", "--quick", "--format", "json", "--all-cases"];
    let normal = run(&args, None);
    let normal = json(&normal);
    let out = run(&args, Some("subreaper"));
    let sim = json(&out);
    assert_eq!(sim["summary"]["broken"], 0, "{}", sim["summary"]);
    assert_eq!(sim["summary"]["fail"], normal["summary"]["fail"]);
    assert_eq!(sim["summary"]["total"], normal["summary"]["total"]);
    // Every context that ran before still runs, and says what it lacks.
    for (a, b) in normal["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(sim["contexts"].as_array().unwrap())
    {
        assert_eq!(a["name"], b["name"]);
        assert_eq!(a["status"], b["status"], "{}", b["name"]);
        if b["status"] == "ran" && b["name"] != "lifecycle" {
            let missing = b["detected"]["missing"].as_array().expect("missing");
            assert!(
                missing.iter().any(|m| m["facility"] == "subreaper"),
                "{}: {missing:?}",
                b["name"]
            );
        }
    }
    let (n, s) = (verdicts(&normal), verdicts(&sim));
    assert_eq!(n.len(), s.len());
    let mut newly_skipped = 0;
    for (id, (v, why)) in &s {
        let (nv, _) = &n[id];
        if v == nv {
            continue;
        }
        // The only change: a skip naming the missing subreaper.
        assert_eq!(v, "skip", "{id}: {nv} became {v}: {why}");
        assert!(
            why.contains("no child subreaper: PR_SET_CHILD_SUBREAPER"),
            "{id}: {why}"
        );
        newly_skipped += 1;
    }
    // Some cases do need one (exit_signal SIGKILL, the subreaper scenarios).
    assert!(newly_skipped > 0);
    assert!(
        newly_skipped < s.len() / 10,
        "{newly_skipped} of {} skipped",
        s.len()
    );
}

#[test]
fn without_pidfd_open_the_scenarios_wait_another_way() {
    let args = [
        "check",
        "--quick",
        "--filter",
        "lifecycle*",
        "--format",
        "json",
        "--all-cases",
    ];
    let out = run(&args, Some("pidfd-open"));
    let r = json(&out);
    assert_eq!(r["summary"]["broken"], 0, "{}", r["summary"]);
    let v = verdicts(&r);
    // No failure of its own: whatever fails fails without the simulation
    // too (a known divergence of the host's kernel, say).
    let normal = verdicts(&json(&run(&args, None)));
    for (id, (verdict, why)) in &v {
        if verdict == "fail" {
            assert_eq!(
                normal[id].0, "fail",
                "{id} fails only without pidfd_open: {why}"
            );
        }
    }
    let pidfd_skips = v
        .iter()
        .filter(|(_, (verdict, why))| verdict == "skip" && why.contains("pidfd_open"))
        .count();
    assert!(pidfd_skips > 0);
    // The exec, exit and wait scenarios still pass (the harness waits
    // with waitid instead of a pidfd).
    for (id, (verdict, why)) in &v {
        if id.starts_with("lifecycle/wait/") {
            assert!(
                verdict == "pass" || why == "needs root",
                "{id}: {verdict} {why}"
            );
        }
    }
}

/// In a nested pid namespace (a container) the levels above the caller
/// are hidden: exactly the set_tid cases skip, naming why; all else runs.
#[test]
fn in_a_nested_pid_namespace_only_set_tid_cases_skip() {
    let args = [
        "check",
        "--filter",
        "set-tid/*",
        "--filter",
        "clone3-args/*",
        "--format",
        "json",
        "--all-cases",
    ];
    let r = only_these_skip(&args, "pidns-outer", "set-tid/", "pid namespaces above");
    assert_eq!(r["summary"]["fail"], 0, "{}", r["summary"]);
}

/// Without kernel threads in /proc (a pid namespace with its own /proc, a
/// sandbox): the kthread scenarios skip naming it, the context lists it as
/// missing, the other scenarios keep their verdicts.
#[test]
fn without_kernel_threads_only_the_kthread_scenarios_skip() {
    let args = [
        "check",
        "--quick",
        "--filter",
        "lifecycle/kthread/*",
        "--filter",
        "lifecycle/session/*",
        "--filter",
        "order/*",
        "--format",
        "json",
        "--all-cases",
    ];
    let r = only_these_skip(&args, "kthreads", "lifecycle/kthread/", "no kernel threads");
    let listed = r["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["detected"]["missing"].as_array())
        .flatten()
        .any(|m| m["facility"] == "kthreads");
    assert!(listed, "kthreads listed as missing: {}", r["contexts"]);
}

#[test]
fn the_kernel_version_says_where_it_came_from() {
    let args = [
        "check",
        "--quick",
        "--contexts",
        "root,user",
        "--filter",
        "clone3-args/*",
        "--format",
        "json",
    ];
    let normal = json(&run(&args, None));
    assert!(normal.get("kernel_note").is_none(), "{normal:?}");
    // Without /proc/sys: uname(2), said so.
    let out = run(&args, Some("proc-sys-kernel"));
    let r = json(&out);
    assert_eq!(r["kernel"], normal["kernel"]);
    let note = r["kernel_note"].as_str().expect("kernel_note");
    assert!(note.contains("uname(2)"), "{note}");
    assert_eq!(r["summary"]["broken"], 0);
    // Unknown: refused with exit 2, asking for --kernel...
    let out = run(&args, Some("proc-sys-kernel,uname"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--kernel") && err.lines().count() == 1,
        "{err}"
    );
    // ...which models against the declared version.
    let mut with = args.to_vec();
    with.extend(["--kernel", "6.1"]);
    let out = run(&with, Some("proc-sys-kernel,uname"));
    let r = json(&out);
    assert_eq!(r["kernel"], "6.1.0");
    assert!(r["kernel_note"].as_str().unwrap().contains("declared"));
    let ctx = &r["contexts"][0]["detected"];
    assert_eq!(
        ctx["kernel"],
        serde_json::json!({"major": 6, "minor": 1, "patch": 0})
    );
    // explain, too: refused without --kernel, modelled with it.
    let out = run(
        &["explain", "--flags", "THREAD"],
        Some("proc-sys-kernel,uname"),
    );
    assert_eq!(out.status.code(), Some(2));
    let out = run(
        &["explain", "--flags", "THREAD", "--kernel", "6.1", "--json"],
        Some("proc-sys-kernel,uname"),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["kernel"], "6.1.0");
    // A bad --kernel is bad input.
    let out = run(&["check", "--quick", "--kernel", "six"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn probe_json_prints_a_document_in_every_verdict() {
    // Skip (the case needs a subreaper), exit 4.
    let out = run(
        &["probe", "--json", "--exit-signal", "SIGKILL"],
        Some("subreaper"),
    );
    assert_eq!(out.status.code(), Some(4));
    let v = json(&out);
    assert_eq!(v["verdict"], "skip");
    assert!(v["reason"].as_str().unwrap().contains("subreaper"), "{v}");
    // Pass.
    let out = run(&["probe", "--json"], Some("subreaper"));
    assert_eq!(json(&out)["verdict"], "pass");
    // Bad input: a document with verdict error, and exit 2.
    let out = run(&["probe", "--json", "--context", "no-such"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["verdict"], "error");
    let out = run(&["probe", "--json", "--scenario", "no/such"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["verdict"], "error");
    // A scenario that needs a subreaper: skip, with the reason.
    let out = run(
        &[
            "probe",
            "--json",
            "--scenario",
            "lifecycle/reparent/to-subreaper",
        ],
        Some("subreaper"),
    );
    assert_eq!(out.status.code(), Some(4));
    let v = json(&out);
    assert_eq!(v["verdict"], "skip", "{v}");
    assert!(v["reason"].as_str().unwrap().contains("subreaper"), "{v}");
    // Unknown kernel: refused, still a document.
    let out = run(&["probe", "--json"], Some("proc-sys-kernel,uname"));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["verdict"], "error");
    let out = run(
        &["probe", "--json", "--kernel", "6.1"],
        Some("proc-sys-kernel,uname"),
    );
    assert_eq!(json(&out)["verdict"], "pass");
}

/// A /proc of another pid namespace (`unshare -fp` without `--mount-proc`):
/// the observing commands refuse with one line and exit 2 instead of
/// blaming the kernel for what /proc shows; `probe --json` still prints a
/// document; `explain` (no observation) is unaffected.
#[test]
fn a_proc_of_another_pid_namespace_is_refused() {
    for args in [
        &["check", "--quick"][..],
        &["fingerprint"][..],
        &["probe", "--syscall", "fork"][..],
    ] {
        let out = run(args, Some("proc-pidns"));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("/proc belongs to another pid namespace"),
            "{err}"
        );
    }
    let doc = json(&run(
        &["probe", "--json", "--syscall", "fork"],
        Some("proc-pidns"),
    ));
    assert_eq!(doc["verdict"], "error");
    assert!(doc["reason"]
        .as_str()
        .unwrap()
        .contains("another pid namespace"));
    let explain = run(&["explain", "--flags", "THREAD"], Some("proc-pidns"));
    assert_eq!(explain.status.code(), Some(0));
}
