//! Issue 12's commands end to end: `report` over check reports (text, JSON,
//! HTML), `check --format kcidb`, `fingerprint` on this host, and their bad
//! input (one line, exit 2).

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

fn usage(o: &Output, needle: &str) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(o), 2, "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains(needle), "{needle:?} in {e}");
}

/// A check report of kernel `k` with `fails` E8' failures.
fn synthetic(k: &str, fails: usize) -> Value {
    let cases: Vec<Value> = (0..fails)
        .map(|i| {
            json!({
                "id": format!("clone/flags={i:#x}/root"), "group": "clone-matrix", "context": "root",
                "verdict": "fail",
                "expected": {"outcome": "error", "errno": "EINVAL", "errno_value": 22, "rule": "E8'",
                             "reason": "pidfds for threads were refused until PIDFD_THREAD existed"},
                "observed": {"outcome": "success", "errno": null},
                "reason": "expected EINVAL (E8'), observed success",
                "repro": "forklore probe --syscall clone --flags 0x1011100 --context root"
            })
        })
        .collect();
    json!({
        "schema": "forklore-check/1", "kernel": k, "host": {}, "quick": true, "duration_s": 1.0,
        "summary": {"pass": 10, "fail": fails, "skip": 0, "env": 0, "broken": 0, "total": fails + 10},
        "groups": {"clone-matrix/root": {"pass": 10, "fail": fails, "skip": 0, "env": 0, "broken": 0, "total": fails + 10}},
        "contexts": [{"name": "root", "status": "ran", "detected": {}, "cases": fails + 10}], "cases": cases
    })
}

#[test]
fn report_merges_runs_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.json"), synthetic("6.1.0", 4).to_string()).unwrap();
    std::fs::write(d.join("b.json"), synthetic("6.18.44", 0).to_string()).unwrap();
    let o = forklore(&["report", "a.json", "b.json", "--html", "r.html"], d);
    assert_eq!(code(&o), 1, "a run with failures: exit 1");
    let t = stdout(&o);
    assert!(
        t.contains("E8':EINVAL -> success") && t.contains("6.1.0 4 | 6.18.44 -"),
        "{t}"
    );
    assert!(
        t.contains("model rule E8':") && t.contains("versions: 5.2–6.8.y"),
        "{t}"
    );
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    assert!(html.contains("<table") && !html.contains("http"));
    let o = forklore(&["report", "--json", "b.json"], d);
    assert_eq!(code(&o), 0);
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["schema"], "forklore-report/1");
    // Bad input: one line, exit 2, nothing written.
    std::fs::write(d.join("junk.json"), "not json").unwrap();
    usage(
        &forklore(&["report", "a.json", "junk.json"], d),
        "junk.json",
    );
    usage(&forklore(&["report", "none.json"], d), "none.json");
    std::fs::write(d.join("bench.json"), r#"{"schema": "forklore-bench/1"}"#).unwrap();
    usage(&forklore(&["report", "bench.json"], d), "bench.json");
    usage(
        &forklore(&["report", "a.json", "--html", "nodir/x.html"], d),
        "--html",
    );
    let o = forklore(&["report"], d);
    assert_eq!(code(&o), 2);
}

#[test]
fn kcidb_output_has_the_kcidb_shape() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = forklore(
        &[
            "check",
            "--quick",
            "--contexts",
            "root,user",
            "--filter",
            "clone3-args",
            "--format",
            "kcidb",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["version"], json!({"major": 5, "minor": 3}));
    assert_eq!(v["checkouts"].as_array().unwrap().len(), 1);
    let tests = v["tests"].as_array().unwrap();
    assert!(!tests.is_empty());
    for t in tests {
        let p = t["path"].as_str().unwrap();
        assert!(p.starts_with("clone3-args"), "{p}");
        assert!(
            p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{p}"
        );
        assert!(
            ["PASS", "SKIP"].contains(&t["status"].as_str().unwrap()),
            "{t}"
        );
        assert_eq!(t["build_id"], v["builds"][0]["id"]);
    }
}

#[test]
fn fingerprint_brackets_this_host_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = forklore(&["fingerprint", "--json"], d);
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["schema"], "forklore-fingerprint/1");
    // This host agrees with the model (check has 0 fail): its own version
    // is in the range, unless a case told nothing (an unprivileged runner
    // skips some scenarios, which only widens the range).
    assert_eq!(j["claimed_consistent"], true, "{}", j["verdict"]);
    assert_eq!(code(&o), 0);
    // Declared wrongly: a mismatch is said, exit 0, or 1 with --strict.
    let o = forklore(&["fingerprint", "--kernel", "4.4"], d);
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("MISMATCH: the claimed 4.4.0"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        code(&forklore(
            &["fingerprint", "--kernel", "4.4", "--strict"],
            d
        )),
        1
    );
    usage(
        &forklore(&["fingerprint", "--kernel", "6.x"], d),
        "--kernel",
    );
    usage(
        &forklore(&["fingerprint", "--context", "userns"], d),
        "--context",
    );
}
