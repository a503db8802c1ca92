//! Divergences: failing cases clustered by what the model expected and what
//! was observed, so a run with thousands of failures reads as a few dozen
//! distinct behaviours.
//!
//! The cluster key is `RULE:EXPECTED -> OBSERVED` and is built only from
//! names (rule ids, errno names, fact names), never from values such as
//! pids or tids, so it is the same across runs and machines:
//!
//! - `E3:EINVAL -> success`: the model's rule E3 predicted EINVAL, the call
//!   succeeded;
//! - `E3:EINVAL -> EPERM`: another errno came back (an errno this build has
//!   no name for is `errno 512`);
//! - `success -> EAGAIN`: success predicted (success has no deciding rule),
//!   an error observed;
//! - `success -> differs: exit_signal, reaped by`: both succeeded, but these
//!   observed facts differ from the model's;
//! - `L-EXEC-DE-THREAD:facts -> differs: threads`: a lifecycle scenario
//!   (deciding rule ids) whose listed facts differ.
//!
//! Only `fail` (and baselined `xfail`) cases are clustered; `broken` cases
//! are the suite's own trouble and are listed, not clustered.

use crate::report::{CaseResult, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One failing case as the clustering sees it: borrowed from a
/// [`CaseResult`] or from a case object of a JSON report.
#[derive(Clone, Copy, Debug)]
pub struct Failure<'a> {
    pub id: &'a str,
    pub group: &'a str,
    pub context: &'a str,
    pub verdict: Verdict,
    pub expected: &'a Value,
    pub observed: &'a Value,
    pub reason: Option<&'a str>,
    pub repro: Option<&'a str>,
}

impl<'a> From<&'a CaseResult> for Failure<'a> {
    fn from(c: &'a CaseResult) -> Self {
        Failure {
            id: &c.id,
            group: &c.group,
            context: &c.context,
            verdict: c.verdict,
            expected: &c.expected,
            observed: &c.observed,
            reason: c.reason.as_deref(),
            repro: c.repro.as_deref(),
        }
    }
}

impl<'a> Failure<'a> {
    /// A case object of a `forklore-check/1` report; `None` if it lacks an
    /// id, group, context or a known verdict.
    pub fn from_json(v: &'a Value) -> Option<Self> {
        static NULL: Value = Value::Null;
        Some(Failure {
            id: v.get("id")?.as_str()?,
            group: v.get("group")?.as_str()?,
            context: v.get("context")?.as_str()?,
            verdict: serde_json::from_value(v.get("verdict")?.clone()).ok()?,
            expected: v.get("expected").unwrap_or(&NULL),
            observed: v.get("observed").unwrap_or(&NULL),
            reason: v.get("reason").and_then(Value::as_str),
            repro: v.get("repro").and_then(Value::as_str),
        })
    }

    /// A lifecycle scenario (its facts are compared key by key), not a
    /// generated clone case.
    fn lifecycle(&self) -> bool {
        self.group.starts_with("lifecycle-")
    }
}

/// The two sides of a cluster key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// The deciding model rule id(s); `None` for a predicted success.
    pub rule: Option<String>,
    /// `EINVAL`, `success`, `environment`, or `facts` (a scenario).
    pub expected: String,
    /// `EPERM`, `success`, `differs: fact, fact`.
    pub observed: String,
}

impl Key {
    /// `RULE:EXPECTED -> OBSERVED` (`EXPECTED -> OBSERVED` without a rule).
    pub fn text(&self) -> String {
        match &self.rule {
            Some(r) => format!("{r}:{} -> {}", self.expected, self.observed),
            None => format!("{} -> {}", self.expected, self.observed),
        }
    }
}

fn errno_of(v: &Value) -> String {
    match v.get("errno").and_then(Value::as_str) {
        Some(name) => name.to_string(),
        None => match v.get("errno_value").and_then(Value::as_i64) {
            Some(n) => format!("errno {n}"),
            None => "error".into(),
        },
    }
}

fn differs(facts: Vec<String>) -> String {
    if facts.is_empty() {
        "differs".into()
    } else {
        format!("differs: {}", facts.join(", "))
    }
}

/// The facts named in a success comparison's reason
/// (`succeeded, but exit_signal: expected 17, observed 10; reaped by: ...`,
/// as [`crate::verdict::compare`] writes it), without their values.
fn facts_from_reason(reason: &str) -> Vec<String> {
    let Some(rest) = reason.strip_prefix("succeeded, but ") else {
        return Vec::new();
    };
    let mut facts: Vec<String> = rest
        .split("; ")
        .filter_map(|part| part.split_once(": expected ").map(|(k, _)| k.to_string()))
        .collect();
    facts.dedup();
    facts
}

/// The cluster key of a failing case.
pub fn key(f: &Failure<'_>) -> Key {
    let rule = f
        .expected
        .get("rule")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    if f.lifecycle() {
        // The facts on which the two objects differ ("rule" is the one key
        // check adds to the expected side).
        // Reports since issue 12 nest the expected facts under "facts"
        // next to the rule's explanation; older ones put them at the top.
        let expected = f.expected.get("facts").unwrap_or(f.expected);
        let facts = match (expected.as_object(), f.observed.as_object()) {
            (Some(e), Some(o)) => {
                let keys: BTreeSet<&String> =
                    e.keys().chain(o.keys()).filter(|k| *k != "rule").collect();
                keys.into_iter()
                    .filter(|k| {
                        e.get(*k).unwrap_or(&Value::Null) != o.get(*k).unwrap_or(&Value::Null)
                    })
                    .cloned()
                    .collect()
            }
            _ => Vec::new(),
        };
        return Key {
            rule,
            expected: "facts".into(),
            observed: differs(facts),
        };
    }
    let expected = match f.expected.get("outcome").and_then(Value::as_str) {
        Some("error") => errno_of(f.expected),
        Some(o) => o.to_string(),
        None => "unknown".into(),
    };
    let observed = match f.observed.get("outcome").and_then(Value::as_str) {
        Some("error") => errno_of(f.observed),
        Some("success") if expected == "success" => {
            differs(f.reason.map(facts_from_reason).unwrap_or_default())
        }
        Some(o) => o.to_string(),
        None => "unknown".into(),
    };
    Key {
        rule,
        expected,
        observed,
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One cluster of failing cases.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Divergence {
    /// `RULE:EXPECTED -> OBSERVED` (see the module docs): stable across runs.
    pub key: String,
    /// The deciding model rule id(s), if any.
    pub rule: Option<String>,
    pub expected: String,
    pub observed: String,
    /// Failing cases in the cluster (xfail included).
    pub count: usize,
    /// How many of them a baseline expected (`check --expect`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub xfail: usize,
    /// `group` names and contexts affected, sorted.
    pub groups: Vec<String>,
    pub contexts: Vec<String>,
    /// The model rule's reason text (a scenario: the first case's reason).
    pub reason: Option<String>,
    /// The first case (by id) and its reproducer.
    pub first: String,
    pub repro: Option<String>,
    /// The baseline's reason, when the baseline knows this cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
}

/// Cluster the `fail` and `xfail` cases of `cases`; `known(key)` is the
/// baseline's reason for a key. Largest cluster first, then by key.
pub fn cluster<'a>(
    cases: impl IntoIterator<Item = Failure<'a>>,
    known: impl Fn(&str) -> Option<String>,
) -> Vec<Divergence> {
    struct Acc<'a> {
        key: Key,
        count: usize,
        xfail: usize,
        groups: BTreeSet<&'a str>,
        contexts: BTreeSet<&'a str>,
        first: Failure<'a>,
    }
    let mut by_key: BTreeMap<String, Acc<'a>> = BTreeMap::new();
    for f in cases {
        if !matches!(f.verdict, Verdict::Fail | Verdict::Xfail) {
            continue;
        }
        let k = key(&f);
        let acc = by_key.entry(k.text()).or_insert_with(|| Acc {
            key: k,
            count: 0,
            xfail: 0,
            groups: BTreeSet::new(),
            contexts: BTreeSet::new(),
            first: f,
        });
        acc.count += 1;
        acc.xfail += usize::from(f.verdict == Verdict::Xfail);
        acc.groups.insert(f.group);
        acc.contexts.insert(f.context);
        if f.id < acc.first.id {
            acc.first = f;
        }
    }
    let mut out: Vec<Divergence> = by_key
        .into_iter()
        .map(|(text, a)| {
            // A scenario's explanation is its rules' reason when the report
            // has it (older reports: the first case's reason).
            let rule_reason = a.first.expected.get("reason").and_then(Value::as_str);
            let reason = if a.first.lifecycle() && rule_reason.is_none() {
                a.first.reason.map(str::to_string)
            } else {
                a.first
                    .expected
                    .get("reason")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            Divergence {
                known: known(&text),
                key: text,
                rule: a.key.rule,
                expected: a.key.expected,
                observed: a.key.observed,
                count: a.count,
                xfail: a.xfail,
                groups: a.groups.into_iter().map(str::to_string).collect(),
                contexts: a.contexts.into_iter().map(str::to_string).collect(),
                reason,
                first: a.first.id.to_string(),
                repro: a.first.repro.map(str::to_string),
            }
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A failing generated case as check writes it: `expected` is the
    /// explain object, `observed` the observation JSON.
    pub(crate) fn case(
        id: &str,
        group: &str,
        ctx: &str,
        rule: Option<&str>,
        want: Option<&str>,
        seen: Option<&str>,
        reason: &str,
    ) -> CaseResult {
        let expected = match want {
            Some(e) => json!({"outcome": "error", "errno": e, "errno_value": 22,
                              "rule": rule, "reason": format!("rule {rule:?} says so")}),
            None => json!({"outcome": "success", "errno": null, "rule": rule, "reason": null}),
        };
        let observed = match seen {
            Some("ENOTKNOWN") => json!({"outcome": "error", "errno": null, "errno_value": 512}),
            Some(e) => json!({"outcome": "error", "errno": e, "errno_value": 1, "pid": null}),
            None => json!({"outcome": "success", "errno": null, "ret": 4242, "pid": 4242}),
        };
        CaseResult {
            id: format!("{id}/{ctx}"),
            group: group.into(),
            tags: vec!["matrix"],
            context: ctx.into(),
            verdict: Verdict::Fail,
            expected,
            observed,
            reason: Some(reason.into()),
            repro: Some(format!("forklore probe {id} --context {ctx}")),
            generated: true,
        }
    }

    fn keys(cs: &[CaseResult]) -> Vec<(String, usize)> {
        cluster(cs.iter().map(Failure::from), |_| None)
            .into_iter()
            .map(|d| (d.key, d.count))
            .collect()
    }

    #[test]
    fn keys_name_rule_expected_and_observed() {
        let k = |c: &CaseResult| key(&Failure::from(c)).text();
        let einval = case("a", "g", "root", Some("E3"), Some("EINVAL"), None, "x");
        assert_eq!(k(&einval), "E3:EINVAL -> success");
        let eperm = case(
            "a",
            "g",
            "root",
            Some("E3"),
            Some("EINVAL"),
            Some("EPERM"),
            "x",
        );
        assert_eq!(k(&eperm), "E3:EINVAL -> EPERM");
        let unnamed = case(
            "a",
            "g",
            "root",
            Some("E3"),
            Some("EINVAL"),
            Some("ENOTKNOWN"),
            "x",
        );
        assert_eq!(k(&unnamed), "E3:EINVAL -> errno 512");
        let refused = case("a", "g", "root", None, None, Some("EAGAIN"), "x");
        assert_eq!(k(&refused), "success -> EAGAIN");
        // Facts by name, never by value: two runs with other pids agree.
        let a = case("a", "g", "root", None, None, None,
            "succeeded, but getpid() in the child: expected 4242 (its own tid, as returned to the caller), observed 17; exit_signal: expected 17, observed 0");
        let b = case("b", "g", "user", None, None, None,
            "succeeded, but getpid() in the child: expected 99 (its own tid, as returned to the caller), observed 5; exit_signal: expected 17, observed 10");
        assert_eq!(
            k(&a),
            "success -> differs: getpid() in the child, exit_signal"
        );
        assert_eq!(k(&a), k(&b));
    }

    #[test]
    fn the_reason_format_of_compare_is_what_the_key_reads() {
        use forklore_model::{predict, Caps, Context, KernelVersion, ReapedBy, Request};
        use forklore_probe::{CaseOutcome, Observation};
        let ctx = Context::root(KernelVersion::new(6, 18, 0), Caps::all());
        let req = Request::fork();
        let p = predict(&req, &ctx);
        let obs = Observation {
            outcome: CaseOutcome::Success,
            ret: Some(200),
            pid: Some(200),
            tgid: Some(200),
            ppid: Some(100),
            caller_pid: 100,
            caller_ppid: 50,
            reaped_by: Some(ReapedBy::Wclone),
            exit_signal: Some(10),
            ..Default::default()
        };
        let (v, reason) = crate::verdict::compare(&req, &ctx, &p, &obs);
        assert_eq!(v, Verdict::Fail);
        let c = CaseResult {
            expected: crate::explain::explain_json(&req, &ctx, &p),
            observed: crate::verdict::observation_json(&obs),
            reason,
            ..case("fork", "g", "root", None, None, None, "")
        };
        assert_eq!(
            key(&Failure::from(&c)).text(),
            "success -> differs: exit_signal, reaped by"
        );
    }

    #[test]
    fn thousands_of_failures_are_a_few_clusters_largest_first() {
        let mut cs = Vec::new();
        for i in 0..1000 {
            let ctx = if i % 2 == 0 { "root" } else { "user" };
            cs.push(case(
                &format!("clone/{i:04}"),
                "clone-matrix",
                ctx,
                Some("E3"),
                Some("EINVAL"),
                None,
                "x",
            ));
        }
        for i in 0..30 {
            cs.push(case(
                &format!("clone3/{i:04}"),
                "clone3-args",
                "root",
                Some("C1"),
                Some("E2BIG"),
                Some("EINVAL"),
                "x",
            ));
        }
        cs.push(case(
            "fork/0",
            "fork",
            "root",
            None,
            None,
            Some("EAGAIN"),
            "x",
        ));
        // Not clustered: a pass, a skip and a broken case.
        let mut other = case("z", "g", "root", Some("E3"), Some("EINVAL"), None, "x");
        for v in [Verdict::Pass, Verdict::Skip, Verdict::Broken, Verdict::Env] {
            other.verdict = v;
            cs.push(other.clone());
        }
        assert_eq!(
            keys(&cs),
            vec![
                ("E3:EINVAL -> success".to_string(), 1000),
                ("C1:E2BIG -> EINVAL".to_string(), 30),
                ("success -> EAGAIN".to_string(), 1)
            ]
        );
        let d = &cluster(cs.iter().rev().map(Failure::from), |k| {
            (k == "E3:EINVAL -> success").then(|| "known".to_string())
        })[0];
        assert_eq!(d.groups, vec!["clone-matrix"]);
        assert_eq!(d.contexts, vec!["root", "user"]);
        // The first case by id, whatever the order the cases came in.
        assert_eq!(d.first, "clone/0000/root");
        assert_eq!(
            d.repro.as_deref(),
            Some("forklore probe clone/0000 --context root")
        );
        assert_eq!(d.reason.as_deref(), Some("rule Some(\"E3\") says so"));
        assert_eq!(d.known.as_deref(), Some("known"));
        assert_eq!(d.rule.as_deref(), Some("E3"));
    }

    #[test]
    fn lifecycle_failures_cluster_by_rule_and_fact() {
        let mk = |id: &str, threads: i64, pid: i64| CaseResult {
            id: format!("{id}/root"),
            group: "lifecycle-exec".into(),
            tags: vec!["lifecycle"],
            context: "root".into(),
            verdict: Verdict::Fail,
            expected: json!({"threads": 1, "pid": 7, "rule": "L-EXEC-DE-THREAD"}),
            observed: json!({"threads": threads, "pid": pid}),
            reason: Some(format!("threads: expected 1, observed {threads}")),
            repro: None,
            generated: false,
        };
        let cs = vec![
            mk("lifecycle/exec/a", 2, 7),
            mk("lifecycle/exec/b", 3, 7),
            mk("lifecycle/exec/c", 2, 8),
        ];
        assert_eq!(
            keys(&cs),
            vec![
                ("L-EXEC-DE-THREAD:facts -> differs: threads".to_string(), 2),
                (
                    "L-EXEC-DE-THREAD:facts -> differs: pid, threads".to_string(),
                    1
                )
            ]
        );
    }

    #[test]
    fn json_cases_cluster_like_case_results() {
        let c = case("a", "g", "root", Some("E3"), Some("EINVAL"), None, "x");
        let v = serde_json::to_value(&c).unwrap();
        let f = Failure::from_json(&v).unwrap();
        assert_eq!(key(&f), key(&Failure::from(&c)));
        assert!(Failure::from_json(&json!({"id": "x"})).is_none());
        assert!(Failure::from_json(
            &json!({"id": "x", "group": "g", "context": "c", "verdict": "odd"})
        )
        .is_none());
    }
}
