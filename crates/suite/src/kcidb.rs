//! `check --format kcidb`: the report as KernelCI's KCIDB I/O data
//! (schema v5.3, as shipped by PyPI's kcidb-io; a copy is checked in at
//! fixtures/kcidb/ and the tests validate against it).
//!
//! forklore builds no kernel: the one *checkout* stands for the running
//! (or declared) kernel's source and the one *build* for its image; each
//! listed case is a *test* with `path` = `GROUP.CASE` (the case id with the
//! context removed, characters KCIDB paths do not allow turned into `_`),
//! `status` PASS/FAIL/SKIP/ERROR and the context in `environment`. Passing
//! matrix cases, which the report only counts, become one PASS test per
//! group and context (`path` = `GROUP`, the count in `misc`).

use crate::report::{CaseResult, Report, Verdict};
use serde_json::{json, Value};

/// The KCIDB schema version written.
pub const KCIDB_MAJOR: u64 = 5;
pub const KCIDB_MINOR: u64 = 3;
/// The origin (CI system name) in every id.
pub const ORIGIN: &str = "forklore";

/// One KCIDB path segment: `[a-zA-Z0-9_-]+`.
pub fn segment(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        "_".into()
    } else {
        out
    }
}

/// `GROUP.CASE`: the case id without its `/context` suffix.
pub fn test_path(group: &str, id: &str, context: &str) -> String {
    let case = id.strip_suffix(&format!("/{context}")).unwrap_or(id);
    format!("{}.{}", segment(group), segment(case))
}

/// KCIDB status of a verdict. `env` (the environment decided, e.g. a
/// seccomp filter) is SKIP; `broken` (the suite could not run the case)
/// is ERROR; `xfail` (a failure a baseline expected) stays FAIL, with
/// the verdict in `misc`.
pub fn status(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail | Verdict::Xfail => "FAIL",
        Verdict::Skip | Verdict::Env => "SKIP",
        Verdict::Broken => "ERROR",
    }
}

/// RFC 3339 UTC time of a Unix timestamp (civil-from-days, no time crate).
pub fn rfc3339(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let secs = unix_s % 86_400;
    // Howard Hinnant's days_to_civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Where the run happened: `environment` of each test of one context.
fn environment(r: &Report, context: &str) -> Value {
    // What the probe detected in that context, briefly (the check JSON
    // has the whole object).
    let detected = r.contexts.iter().find(|c| c.name == context).map(|c| {
        json!({"status": c.status, "reason": c.reason,
               "missing": c.detected.get("missing").cloned().unwrap_or(Value::Null)})
    });
    json!({
        "comment": format!(
            "forklore context {context} on Linux {} ({})",
            r.kernel,
            r.host.get("kernel").and_then(Value::as_str).map(|k| format!("host reports {k}")).unwrap_or_else(|| "host".into())
        ),
        "misc": {
            "context": context,
            "host": r.host,
            "kernel_note": r.kernel_note,
            "detected": detected,
        }
    })
}

fn comment(c: &CaseResult) -> Option<String> {
    c.reason.as_ref().map(|r| {
        // KCIDB strings must not contain NUL.
        r.replace('\0', " ")
    })
}

/// The report as one KCIDB I/O object. `started_unix_s` is when the run
/// started (ids and start times derive from it; a test passes a constant).
pub fn to_kcidb(r: &Report, started_unix_s: u64, all_cases: bool) -> Value {
    let arch = std::env::consts::ARCH;
    let run = format!("{}-{started_unix_s}", segment(&r.kernel));
    let checkout_id = format!("{ORIGIN}:linux-{}", r.kernel);
    let build_id = format!("{ORIGIN}:linux-{}-{arch}", r.kernel);
    let start = rfc3339(started_unix_s);
    let mut tests = Vec::new();
    // Groups whose passing cases are only counted: one aggregate test.
    let mut listed_pass: std::collections::BTreeMap<String, usize> = Default::default();
    for c in &r.cases {
        if c.verdict == Verdict::Pass && c.generated && !all_cases {
            continue;
        }
        if c.verdict == Verdict::Pass {
            *listed_pass
                .entry(format!("{}/{}", c.group, c.context))
                .or_default() += 1;
        }
        let mut t = json!({
            "id": format!("{ORIGIN}:{run}:{}", c.id),
            "build_id": build_id,
            "origin": ORIGIN,
            "path": test_path(&c.group, &c.id, &c.context),
            "status": status(c.verdict),
            "start_time": start,
            "environment": environment(r, &c.context),
            "misc": {
                "case": c.id,
                "group": c.group,
                "context": c.context,
                "verdict": c.verdict.as_str(),
                "repro": c.repro,
            },
        });
        // Both sides only where they explain something (not a pass).
        if c.verdict != Verdict::Pass {
            t["misc"]["expected"] = c.expected.clone();
            t["misc"]["observed"] = c.observed.clone();
        }
        if let Some(m) = comment(c) {
            t["comment"] = Value::from(m);
        }
        tests.push(t);
    }
    for (gc, counts) in &r.groups {
        let listed = listed_pass.get(gc).copied().unwrap_or(0);
        let unlisted = counts.pass.saturating_sub(listed);
        if unlisted == 0 {
            continue;
        }
        let (group, context) = gc.rsplit_once('/').unwrap_or((gc, ""));
        tests.push(json!({
            "id": format!("{ORIGIN}:{run}:{gc}:passing"),
            "build_id": build_id,
            "origin": ORIGIN,
            "path": segment(group),
            "status": "PASS",
            "start_time": start,
            "comment": format!("{unlisted} generated cases of {gc} passed (counted, not listed)"),
            "environment": environment(r, context),
            "misc": {"group": group, "context": context, "passing_cases": unlisted, "counts": counts},
        }));
    }
    json!({
        "version": {"major": KCIDB_MAJOR, "minor": KCIDB_MINOR},
        "checkouts": [{
            "id": checkout_id,
            "origin": ORIGIN,
            "tree_name": "mainline",
            "comment": format!("Linux {} as forklore found it (the running or declared kernel; forklore does not build kernels)", r.kernel),
            "start_time": start,
            "valid": true,
            "misc": {"kernel": r.kernel, "kernel_note": r.kernel_note},
        }],
        "builds": [{
            "id": build_id,
            "checkout_id": checkout_id,
            "origin": ORIGIN,
            "architecture": arch,
            "comment": format!("Linux {} on {arch}", r.kernel),
            "start_time": start,
            "misc": {"forklore_schema": crate::report::SCHEMA, "quick": r.quick,
                     "duration_s": r.duration_s, "summary": r.summary},
        }],
        "tests": tests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Report;

    /// kcidb-io 141's schema (v5.3), exported with
    /// `kcidb_io.schema.LATEST.json` (see fixtures/kcidb/README.md).
    const SCHEMA: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/kcidb/kcidb-io-141-schema-v5.3.json"
    ));

    fn validator() -> jsonschema::Validator {
        // ECMA-262's `\0` (NUL) in the schema's patterns is spelled
        // `\x00` for the Rust regex engines: the same character.
        let schema: Value = serde_json::from_str(&SCHEMA.replace(r"\\0", r"\\x00")).unwrap();
        // kcidb-io validates with Draft 7 and its format checker.
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    }

    fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
        v.iter_errors(doc)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect()
    }

    /// A report with every verdict, a lifecycle case and a counted
    /// (unlisted) passing matrix group.
    fn sample() -> Report {
        use crate::divergence::tests::case;
        let mut r = Report::new(
            "6.18.44".into(),
            json!({"kernel": "6.18.44", "runner_is_root": true, "jobs": 2}),
            true,
        );
        r.count("clone-matrix", "root", Verdict::Pass);
        r.count("clone-matrix", "root", Verdict::Pass);
        r.push(case(
            "clone/flags=0x10900",
            "clone-matrix",
            "root",
            Some("E3"),
            Some("EINVAL"),
            None,
            "expected EINVAL (E3), observed success",
        ));
        let mut x = case(
            "clone/flags=0x1",
            "clone-matrix",
            "user",
            Some("E3"),
            Some("EINVAL"),
            Some("EPERM"),
            "x",
        );
        x.verdict = Verdict::Xfail;
        r.push(x);
        for (v, id) in [
            (Verdict::Skip, "a"),
            (Verdict::Env, "b"),
            (Verdict::Broken, "c"),
            (Verdict::Pass, "d"),
        ] {
            let mut c = case(id, "order", "root", None, None, None, "why");
            c.verdict = v;
            c.generated = false;
            c.reason = (v != Verdict::Pass).then(|| format!("{} reason", v.as_str()));
            r.push(c);
        }
        r.push(crate::scenario_case::scenario_case(
            crate::scenario_case::tests::mismatch(),
            "root",
            Some(forklore_model::KernelVersion::new(6, 18, 44)),
            false,
        ));
        r
    }

    #[test]
    fn output_validates_against_kcidb_io_schema() {
        let v = validator();
        let doc = to_kcidb(&sample(), 1_795_561_893, false);
        let errs = errors(&v, &doc);
        assert!(errs.is_empty(), "{errs:#?}");
        let tests = doc["tests"].as_array().unwrap();
        let paths: Vec<&str> = tests.iter().map(|t| t["path"].as_str().unwrap()).collect();
        assert!(
            paths.contains(&"clone-matrix.clone_flags_0x10900"),
            "{paths:?}"
        );
        assert!(paths.contains(&"lifecycle-exec.lifecycle_exec_de-thread"));
        // The two counted passing cases: one aggregate test.
        let agg = tests.iter().find(|t| t["path"] == "clone-matrix").unwrap();
        assert_eq!(
            (
                agg["status"].as_str(),
                agg["misc"]["passing_cases"].as_u64()
            ),
            (Some("PASS"), Some(2))
        );
        let st = |p: &str| {
            tests.iter().find(|t| t["path"] == p).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(st("order.a"), "SKIP");
        assert_eq!(st("order.b"), "SKIP");
        assert_eq!(st("order.c"), "ERROR");
        assert_eq!(st("order.d"), "PASS");
        assert_eq!(st("lifecycle-exec.lifecycle_exec_de-thread"), "FAIL");
        assert_eq!(doc["tests"][0]["environment"]["misc"]["context"], "root");
        // Ids are unique, as KCIDB requires.
        let mut ids: Vec<&str> = tests.iter().map(|t| t["id"].as_str().unwrap()).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    /// The validator is not a rubber stamp: what KCIDB forbids is caught.
    #[test]
    fn the_schema_rejects_what_kcidb_forbids() {
        let v = validator();
        let good = to_kcidb(&sample(), 0, false);
        for (what, f) in [
            (
                "a status KCIDB does not have",
                Box::new(|d: &mut Value| d["tests"][0]["status"] = "XFAIL".into())
                    as Box<dyn Fn(&mut Value)>,
            ),
            (
                "a slash in a path",
                Box::new(|d: &mut Value| d["tests"][0]["path"] = "clone/x".into()),
            ),
            (
                "an id without origin prefix",
                Box::new(|d: &mut Value| d["builds"][0]["id"] = "no-colon".into()),
            ),
            (
                "an unknown top-level field",
                Box::new(|d: &mut Value| d["extra"] = json!(1)),
            ),
            (
                "a bad date-time",
                Box::new(|d: &mut Value| d["tests"][0]["start_time"] = "yesterday".into()),
            ),
            (
                "another major version",
                Box::new(|d: &mut Value| d["version"]["major"] = json!(4)),
            ),
        ] {
            let mut d = good.clone();
            f(&mut d);
            assert!(!errors(&v, &d).is_empty(), "{what} was accepted");
        }
    }

    #[test]
    fn paths_statuses_and_times() {
        assert_eq!(
            test_path("clone-matrix", "clone/flags=0x10900/root", "root"),
            "clone-matrix.clone_flags_0x10900"
        );
        assert_eq!(
            test_path("lifecycle-exec", "lifecycle/exec/empty-argv/user", "user"),
            "lifecycle-exec.lifecycle_exec_empty-argv"
        );
        assert_eq!(status(Verdict::Env), "SKIP");
        assert_eq!(status(Verdict::Broken), "ERROR");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(rfc3339(1_795_561_893), "2026-11-24T23:11:33+00:00");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00+00:00");
    }
}
