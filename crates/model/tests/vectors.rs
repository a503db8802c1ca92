//! Table-driven test vectors (fixtures/model/*.json): each names a request,
//! a context, a kernel version, the expected outcome and the deciding rule,
//! and cites where the expectation comes from (model-spec row, commit, man
//! page). Expected values were written from the spec and kernel sources,
//! not from running the model.
//!
//! Besides checking every vector, the tests check the vector set itself:
//! every deterministic row fires in at least one vector inside its version
//! range, every version boundary of every row has a vector on each side, and
//! every row of model-spec §1.H is covered.

use forklore_model::flags::parse_flags;
use forklore_model::rules::{ranges_contain, Kind, TABLE};
use forklore_model::{
    cap, Caps, Context, Errno, KernelVersion, Outcome, Prediction, Request, Syscall,
};
use rstest::rstest;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The vector files, embedded at compile time (the model crate does no I/O,
/// not even in its tests).
const FILES: &[(&str, &str)] = &[
    (
        "entry_clone3.json",
        include_str!("../../../fixtures/model/entry_clone3.json"),
    ),
    (
        "kernel_clone.json",
        include_str!("../../../fixtures/model/kernel_clone.json"),
    ),
    (
        "copy_process.json",
        include_str!("../../../fixtures/model/copy_process.json"),
    ),
    (
        "semantics.json",
        include_str!("../../../fixtures/model/semantics.json"),
    ),
    (
        "arch.json",
        include_str!("../../../fixtures/model/arch.json"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    name: String,
    syscall: String,
    #[serde(default)]
    flags: String,
    /// clone3: the exit_signal field (default SIGCHLD); clone: ORed into the
    /// low byte (usually given as a signal name inside `flags` instead).
    #[serde(default)]
    exit_signal: Option<Value>,
    kernel: String,
    /// "root" (global root, all capabilities) or "user" (no capabilities).
    #[serde(default = "default_as", rename = "as")]
    as_: String,
    /// Replace the effective capabilities (names such as CAP_SYS_ADMIN).
    #[serde(default)]
    caps: Option<Vec<String>>,
    /// Deep-merged into the serialized Request / Context ("0x.." strings
    /// become numbers).
    #[serde(default)]
    request: Option<Value>,
    #[serde(default)]
    context: Option<Value>,
    /// An errno name, "success" or "environment".
    expect: String,
    /// The deciding rule id (null on success).
    rule: Option<String>,
    /// Rule ids whose version boundary this vector pins (besides `rule`).
    #[serde(default)]
    boundary_of: Vec<String>,
    /// Row number (1-based) of model-spec §1.H this vector reproduces.
    #[serde(default)]
    spec_1h: Option<u32>,
    /// Expected fields of the success semantics (partial).
    #[serde(default)]
    semantics: Option<Value>,
    source: String,
}

fn default_as() -> String {
    "root".into()
}

fn load(file: &str) -> Vec<Vector> {
    let (_, text) = FILES
        .iter()
        .find(|(name, _)| *name == file)
        .unwrap_or_else(|| panic!("no vector file {file}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("fixtures/model/{file}: {e}"))
}

fn all_vectors() -> Vec<Vector> {
    FILES.iter().flat_map(|(f, _)| load(f)).collect()
}

fn hexify(v: &mut Value) {
    match v {
        Value::String(s) if s.starts_with("0x") => {
            let n = u64::from_str_radix(&s[2..], 16).unwrap_or_else(|_| panic!("bad hex {s}"));
            *v = Value::from(n);
        }
        Value::Array(a) => a.iter_mut().for_each(hexify),
        Value::Object(o) => o.values_mut().for_each(hexify),
        _ => {}
    }
}

fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

fn num(v: &Value) -> u64 {
    match v {
        Value::Number(n) => n.as_u64().expect("unsigned"),
        Value::String(s) => forklore_model::flags::parse_signal(s).expect("signal"),
        _ => panic!("bad exit_signal {v}"),
    }
}

fn cap_number(name: &str) -> u32 {
    match name {
        "CAP_SYS_ADMIN" => cap::CAP_SYS_ADMIN,
        "CAP_SYS_RESOURCE" => cap::CAP_SYS_RESOURCE,
        "CAP_CHECKPOINT_RESTORE" => cap::CAP_CHECKPOINT_RESTORE,
        "CAP_SETUID" => cap::CAP_SETUID,
        "CAP_SETGID" => cap::CAP_SETGID,
        _ => panic!("unknown capability {name}"),
    }
}

fn build(v: &Vector) -> (Request, Context) {
    let kernel: KernelVersion = v.kernel.parse().expect("kernel version");
    let syscall: Syscall = v.syscall.parse().expect("syscall");
    let parsed = parse_flags(&v.flags).expect("flags");
    let es = v.exit_signal.as_ref().map(num);
    let mut req = match syscall {
        Syscall::Fork | Syscall::Vfork => {
            assert!(
                v.flags.is_empty() && es.is_none(),
                "{}: fork/vfork take no flags",
                v.name
            );
            if syscall == Syscall::Fork {
                Request::fork()
            } else {
                Request::vfork()
            }
        }
        Syscall::Clone => {
            Request::clone(parsed.flags | parsed.exit_signal.unwrap_or(0) | es.unwrap_or(0))
        }
        Syscall::Clone3 => {
            assert!(
                !(parsed.exit_signal.is_some() && es.is_some()),
                "{}: two exit signals",
                v.name
            );
            Request::clone3(parsed.flags, es.or(parsed.exit_signal).unwrap_or(17))
        }
    };
    let mut ctx = match v.as_.as_str() {
        "root" => Context::root(kernel, Caps::all()),
        "user" => Context::user(kernel),
        other => panic!("{}: unknown 'as' {other}", v.name),
    };
    if let Some(caps) = &v.caps {
        ctx.caps = Caps(caps.iter().fold(0, |m, c| m | (1u64 << cap_number(c))));
    }
    if let Some(over) = &v.request {
        let mut over = over.clone();
        hexify(&mut over);
        let mut base = serde_json::to_value(&req).unwrap();
        merge(&mut base, &over);
        req = serde_json::from_value(base).unwrap_or_else(|e| panic!("{}: request: {e}", v.name));
    }
    if let Some(over) = &v.context {
        let mut over = over.clone();
        hexify(&mut over);
        let mut base = serde_json::to_value(&ctx).unwrap();
        merge(&mut base, &over);
        ctx = serde_json::from_value(base).unwrap_or_else(|e| panic!("{}: context: {e}", v.name));
    }
    (req, ctx)
}

/// Returns a description of every mismatch (empty = pass).
fn check(v: &Vector, p: &Prediction) -> Vec<String> {
    let mut errs = Vec::new();
    let got = match &p.outcome {
        Outcome::Success(_) => "success".to_string(),
        Outcome::Error { errno } => errno.to_string(),
        Outcome::Environment { .. } => "environment".to_string(),
    };
    if got != v.expect {
        errs.push(format!("outcome: expected {}, got {got}", v.expect));
    }
    let rule = p.rule.map(|r| r.id.to_string());
    if rule != v.rule {
        errs.push(format!("rule: expected {:?}, got {rule:?}", v.rule));
    }
    if let (Some(want), Outcome::Success(s)) = (&v.semantics, &p.outcome) {
        let have = serde_json::to_value(s).unwrap();
        for (k, w) in want.as_object().expect("semantics object") {
            if have.get(k) != Some(w) {
                errs.push(format!(
                    "semantics.{k}: expected {w}, got {:?}",
                    have.get(k)
                ));
            }
        }
    } else if v.semantics.is_some() {
        errs.push("semantics given for a non-success vector".into());
    }
    errs
}

#[rstest]
#[case::entry_clone3("entry_clone3.json")]
#[case::kernel_clone("kernel_clone.json")]
#[case::copy_process("copy_process.json")]
#[case::semantics("semantics.json")]
#[case::arch("arch.json")]
fn vectors_match_the_model(#[case] file: &str) {
    let vectors = load(file);
    assert!(!vectors.is_empty());
    let mut failures = Vec::new();
    for v in &vectors {
        let (req, ctx) = build(v);
        let p = forklore_model::predict(&req, &ctx);
        let errs = check(v, &p);
        if !errs.is_empty() {
            failures.push(format!(
                "{} [{} {}]: {}",
                v.name,
                v.syscall,
                v.kernel,
                errs.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn vectors_are_well_formed() {
    let vectors = all_vectors();
    let mut names = BTreeSet::new();
    for v in &vectors {
        assert!(
            names.insert(v.name.clone()),
            "duplicate vector name {}",
            v.name
        );
        assert!(v.source.len() > 8, "{}: cite a source", v.name);
        let kernel: KernelVersion = v.kernel.parse().unwrap();
        match v.expect.as_str() {
            "success" | "environment" => {}
            e => assert!(
                Errno::from_name(e).is_some(),
                "{}: unknown errno {e}",
                v.name
            ),
        }
        assert_eq!(
            v.expect == "success",
            v.rule.is_none(),
            "{}: rule iff failure",
            v.name
        );
        if let Some(id) = &v.rule {
            // The expected rule exists in that kernel and its errno matches.
            let row = TABLE
                .iter()
                .find(|r| r.id == id && ranges_contain(r.versions, kernel))
                .unwrap_or_else(|| panic!("{}: rule {id} is not part of {kernel}", v.name));
            let info = row.info();
            if v.expect != "environment" {
                assert_eq!(
                    info.errno.map(|e| e.to_string()),
                    Some(v.expect.clone()),
                    "{}",
                    v.name
                );
            }
        }
        for id in &v.boundary_of {
            assert!(
                TABLE.iter().any(|r| r.id == id),
                "{}: unknown id {id}",
                v.name
            );
        }
    }
}

#[test]
fn every_deterministic_row_fires_in_some_vector() {
    let vectors = all_vectors();
    let mut missing = Vec::new();
    for row in TABLE.iter().filter(|r| r.kind == Kind::Deterministic) {
        let fired = vectors.iter().any(|v| {
            v.rule.as_deref() == Some(row.id)
                && ranges_contain(row.versions, v.kernel.parse().unwrap())
                && row.arches.contains(&build(v).1.arch)
        });
        if !fired {
            missing.push(format!("{} ({:?}, {:?})", row.id, row.versions, row.arches));
        }
    }
    assert!(
        missing.is_empty(),
        "rows no vector fires:\n{}",
        missing.join("\n")
    );
}

fn succ(v: KernelVersion) -> KernelVersion {
    if v.patch != u32::MAX {
        KernelVersion::new(v.major, v.minor, v.patch + 1)
    } else if v.minor != u32::MAX {
        KernelVersion::new(v.major, v.minor + 1, 0)
    } else {
        KernelVersion::new(v.major + 1, 0, 0)
    }
}

fn pred(v: KernelVersion) -> KernelVersion {
    if v.patch > 0 {
        KernelVersion::new(v.major, v.minor, v.patch - 1)
    } else if v.minor > 0 {
        KernelVersion::new(v.major, v.minor - 1, u32::MAX)
    } else {
        KernelVersion::new(v.major - 1, u32::MAX, u32::MAX)
    }
}

/// Versions where a row starts or stops applying.
fn boundary_points(versions: &[forklore_model::VersionRange]) -> BTreeSet<KernelVersion> {
    let zero = KernelVersion::new(0, 0, 0);
    versions
        .iter()
        .flat_map(|r| [Some(r.from), r.to.map(succ)])
        .flatten()
        .filter(|&p| p != zero && ranges_contain(versions, p) != ranges_contain(versions, pred(p)))
        .collect()
}

#[test]
fn every_version_boundary_has_a_vector_on_each_side() {
    let vectors = all_vectors();
    // Boundary points of every deterministic id (union over its rows).
    let mut points: BTreeMap<&str, BTreeSet<KernelVersion>> = BTreeMap::new();
    for row in TABLE.iter().filter(|r| r.kind == Kind::Deterministic) {
        points
            .entry(row.id)
            .or_default()
            .extend(boundary_points(row.versions));
    }
    let mut missing = Vec::new();
    for (id, pts) in &points {
        let kernels: Vec<KernelVersion> = vectors
            .iter()
            .filter(|v| v.rule.as_deref() == Some(*id) || v.boundary_of.iter().any(|b| b == id))
            .map(|v| v.kernel.parse().unwrap())
            .collect();
        let pts: Vec<KernelVersion> = pts.iter().copied().collect();
        for (i, &p) in pts.iter().enumerate() {
            let prev = if i == 0 {
                KernelVersion::new(0, 0, 0)
            } else {
                pts[i - 1]
            };
            let next = pts.get(i + 1).copied();
            let below = kernels.iter().any(|&k| prev <= k && k < p);
            let above = kernels
                .iter()
                .any(|&k| p <= k && next.map_or(true, |n| k < n));
            if !below {
                missing.push(format!("{id}: no vector in [{prev}, {p})"));
            }
            if !above {
                missing.push(format!("{id}: no vector in [{p}, {next:?})"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "boundaries without vectors:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_row_of_spec_1h_is_covered() {
    let covered: BTreeSet<u32> = all_vectors().iter().filter_map(|v| v.spec_1h).collect();
    let all: BTreeSet<u32> = (1..=11).collect();
    assert_eq!(covered, all, "model-spec §1.H has 11 rows");
}

#[test]
fn boundary_points_are_where_membership_changes() {
    let v = |s: &str| s.parse::<KernelVersion>().unwrap();
    let c5 = TABLE.iter().find(|r| r.id == "C5").unwrap();
    // 5.3.11–5.3.y and 5.4+ are contiguous: a single boundary.
    assert_eq!(
        boundary_points(c5.versions).into_iter().collect::<Vec<_>>(),
        vec![v("5.3.11")]
    );
    let e8 = TABLE.iter().find(|r| r.id == "E8'").unwrap();
    assert_eq!(
        boundary_points(e8.versions).into_iter().collect::<Vec<_>>(),
        vec![v("5.2"), v("6.9")]
    );
}
