//! The exec target reports what its new image sees. Running it here also
//! makes `cargo test --workspace` build the binary, which the lifecycle
//! scenarios (and the conformance harness) exec.

use std::process::Command;

#[test]
fn reports_its_own_identity_and_exits_with_the_requested_code() {
    let out = Command::new(env!("CARGO_BIN_EXE_forklore-exec-target"))
        .arg("hello")
        .env("FORKLORE_EXIT_CODE", "7")
        .output()
        .expect("run the exec target");
    assert_eq!(out.status.code(), Some(7));
    let line = String::from_utf8(out.stdout).expect("utf-8 report");
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    let pid = v["pid"].as_i64().expect("pid");
    assert!(pid > 0);
    assert_eq!(v["tid"].as_i64(), Some(pid), "single-threaded: tid == pid");
    assert_eq!(v["ppid"].as_i64(), Some(std::process::id() as i64));
    assert_eq!(v["argv"][1], "hello");
    assert_eq!(v["argc"].as_i64(), Some(2));
}
