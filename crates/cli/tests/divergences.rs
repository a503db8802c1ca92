//! `check --expect`, `baseline` and `diff` end to end: a real quick run on
//! this host (which must agree with the model), and synthetic reports with
//! failures (the model is never changed to make a failure).

#![forbid(unsafe_code)]

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_forklore");

fn forklore(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run forklore")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit 2 with one line on stderr containing `needle`.
fn usage(o: &Output, needle: &str) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(o), 2, "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains(needle), "{needle:?} in {e}");
}

/// A check report with `fails` failing cases of rule E3 (EINVAL predicted,
/// success observed), `other` failing with EPERM observed, and 10 passing
/// matrix cases counted in its group.
fn synthetic(fails: usize, other: usize) -> Value {
    let mut cases = Vec::new();
    let mut case = |i: usize, seen: Value| {
        cases.push(json!({
            "id": format!("clone/flags={i:#x}/root"), "group": "clone-matrix", "tags": ["matrix"],
            "context": "root", "verdict": "fail",
            "expected": {"outcome": "error", "errno": "EINVAL", "errno_value": 22, "rule": "E3",
                         "reason": "threads must share signal handlers"},
            "observed": seen,
            "reason": "expected EINVAL (E3), observed something else",
            "repro": format!("forklore probe --syscall clone --flags {i:#x} --context root")
        }));
    };
    for i in 0..fails {
        case(
            i,
            json!({"outcome": "success", "errno": null, "ret": 1000 + i}),
        );
    }
    for i in 0..other {
        case(
            1000 + i,
            json!({"outcome": "error", "errno": "EPERM", "errno_value": 1}),
        );
    }
    let n = fails + other;
    json!({
        "schema": "forklore-check/1", "kernel": "6.18.0", "host": {}, "quick": true, "duration_s": 1.0,
        "summary": {"pass": 10, "fail": n, "skip": 0, "env": 0, "broken": 0, "total": n + 10},
        "groups": {"clone-matrix/root": {"pass": 10, "fail": n, "skip": 0, "env": 0, "broken": 0, "total": n + 10}},
        "contexts": [], "cases": cases
    })
}

fn write(dir: &Path, name: &str, v: &Value) {
    std::fs::write(dir.join(name), v.to_string()).unwrap();
}

const FILTER: [&str; 6] = [
    "check",
    "--quick",
    "--contexts",
    "root,user",
    "--filter",
    "clone3-args",
];

#[test]
fn a_host_run_has_no_divergences_and_a_baseline_is_checked_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut args = FILTER.to_vec();
    args.extend(["--format", "json", "--output", "host.json"]);
    let o = forklore(&args, d);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let host: Value = serde_json::from_slice(&std::fs::read(d.join("host.json")).unwrap()).unwrap();
    assert_eq!(host["divergences"], json!([]));
    assert!(host["summary"]["pass"].as_u64().unwrap() > 0);
    assert!(host.get("expect").is_none() && host["summary"].get("xfail").is_none());

    // A baseline from a run without failures is empty, and valid.
    let o = forklore(&["baseline", "host.json"], d);
    assert_eq!(code(&o), 0);
    let b: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(b["schema"], "forklore-baseline/1");
    assert_eq!(b["divergences"], json!([]));

    // An entry nothing matches: reported as vanished (xpass), exit 0;
    // with --strict-expect, exit 1.
    write(
        d,
        "base.json",
        &json!({"schema": "forklore-baseline/1", "divergences": [
        {"key": "C1:E2BIG -> EINVAL", "reason": "gVisor: https://example.invalid/1"}]}),
    );
    let mut args = FILTER.to_vec();
    args.extend(["--expect", "base.json"]);
    let o = forklore(&args, d);
    assert_eq!(code(&o), 0);
    let text = stdout(&o);
    assert!(text.contains("xfail 0  xpass 1"), "{text}");
    assert!(
        text.contains("XPASS C1:E2BIG -> EINVAL: gVisor: https://example.invalid/1"),
        "{text}"
    );
    args.push("--strict-expect");
    assert_eq!(code(&forklore(&args, d)), 1);
    let mut ktap = FILTER.to_vec();
    ktap.extend(["--expect", "base.json", "--format", "ktap"]);
    assert!(stdout(&forklore(&ktap, d)).contains("xfail:0 xpass:1"));

    // A bad baseline is one line, exit 2, before any case runs.
    std::fs::write(d.join("bad.json"), "{\"schema\": \"forklore-baseline/1\"}").unwrap();
    let mut bad = FILTER.to_vec();
    bad.extend(["--expect", "bad.json"]);
    usage(&forklore(&bad, d), "--expect bad.json");
    let mut missing = FILTER.to_vec();
    missing.extend(["--expect", "nothing.json"]);
    usage(&forklore(&missing, d), "nothing.json");
    usage(&forklore(&["check", "--strict-expect"], d), "--expect");
}

#[test]
fn baseline_and_diff_of_synthetic_reports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a.json", &synthetic(40, 3));
    write(d, "b.json", &synthetic(40, 0));

    let o = forklore(&["baseline", "a.json"], d);
    assert_eq!(code(&o), 0);
    let b: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let keys: Vec<(&str, u64)> = b["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["key"].as_str().unwrap(), e["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        keys,
        vec![("E3:EINVAL -> success", 40), ("E3:EINVAL -> EPERM", 3)]
    );
    assert_eq!(b["divergences"][0]["reason"], "TODO: explain");

    assert_eq!(code(&forklore(&["diff", "a.json", "a.json"], d)), 0);
    let o = forklore(&["diff", "a.json", "b.json"], d);
    assert_eq!(code(&o), 1);
    let text = stdout(&o);
    assert!(
        text.contains("divergences only in A (1):") && text.contains("3 × E3:EINVAL -> EPERM"),
        "{text}"
    );
    assert!(text.contains("fail → pass: 3"), "{text}");
    let o = forklore(&["diff", "--json", "b.json", "a.json"], d);
    assert_eq!(code(&o), 1);
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["schema"], "forklore-diff/1");
    assert_eq!(j["only_b"][0]["key"], "E3:EINVAL -> EPERM");
    assert_eq!(j["verdicts"][0]["from"], "pass");

    // Bad input: one line, exit 2.
    std::fs::write(d.join("junk.json"), "not json").unwrap();
    usage(&forklore(&["diff", "a.json", "junk.json"], d), "junk.json");
    usage(&forklore(&["diff", "a.json", "none.json"], d), "none.json");
    usage(&forklore(&["baseline", "junk.json"], d), "junk.json");
    write(d, "bench.json", &json!({"schema": "forklore-bench/1"}));
    usage(
        &forklore(&["baseline", "bench.json"], d),
        "not a forklore-check report",
    );
    usage(
        &forklore(&["diff", "bench.json", "a.json"], d),
        "bench.json",
    );
}
