//! A lifecycle scenario's result as a report case: the same shape of
//! explanation a creation case gets. A scenario compares facts (exit
//! status, who reaped whom, what exec kept); when they differ the report
//! shows the expected and observed facts, every deciding rule with its
//! kernel function, reason and versions, and a command that reproduces it.
//!
//! `expected` is `{"outcome": "facts", "facts": {...}, "rule": "L-A,L-B",
//! "reason", "errno", "function", "source", "versions", "uncertain",
//! "rules": [...]}`
//! (the top-level rule fields are the first rule's, as in the explain
//! object; `rules` lists each). `observed` is the facts object as the
//! scenario saw them.

use crate::report::{CaseResult, Verdict};
use crate::verdict::settle;
use forklore_model::{KernelVersion, RuleInfo};
use forklore_scenarios::ScenarioResult;
use serde_json::{json, Value};

/// Report group of a scenario group (`exec` → `lifecycle-exec`).
pub fn scenario_group(g: &str) -> String {
    format!("lifecycle-{g}")
}

/// A rule id a scenario names: a lifecycle rule, or a creation rule
/// (some scenarios decide on one, e.g. the clone3 pidfd rules). For a
/// creation id with several rows, the row of `kernel` if there is one.
pub fn lookup_rule(id: &str, kernel: Option<KernelVersion>) -> Option<RuleInfo> {
    if let Some(r) = forklore_model::lifecycle::rule(id) {
        return Some(*r);
    }
    kernel
        .and_then(|k| forklore_model::rules::rule(id, k).map(|r| r.info()))
        .or_else(|| forklore_model::RULES.iter().find(|r| r.id == id).copied())
}

/// One rule as the report shows it.
pub fn rule_json(r: &RuleInfo) -> Value {
    json!({
        "id": r.id,
        "function": r.function,
        "errno": r.errno.and_then(|e| e.name()),
        "reason": r.reason,
        "source": r.source,
        "versions": r.versions.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
        "uncertain": r.uncertain,
    })
}

/// The `expected` object of a scenario case (see the module docs).
/// `rule` is the scenario's comma-separated rule ids.
pub fn expected_json(facts: Value, rule: Option<&str>, kernel: Option<KernelVersion>) -> Value {
    let ids: Vec<&str> = rule
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let infos: Vec<Option<RuleInfo>> = ids.iter().map(|id| lookup_rule(id, kernel)).collect();
    let rules: Vec<Value> = ids
        .iter()
        .zip(&infos)
        .map(|(id, i)| match i {
            Some(r) => rule_json(r),
            // Never silently dropped: an id the model does not know is a
            // forklore bug worth seeing in the report.
            None => json!({"id": id, "reason": "not in the model's rule tables (forklore bug)"}),
        })
        .collect();
    let first = infos.iter().flatten().next();
    let reason = {
        let all: Vec<&str> = infos.iter().flatten().map(|r| r.reason).collect();
        (!all.is_empty()).then(|| all.join("; "))
    };
    json!({
        "outcome": "facts",
        "kernel": kernel.map(|k| k.to_string()),
        "facts": facts,
        "rule": (!ids.is_empty()).then(|| ids.join(",")),
        "reason": reason,
        "errno": first.and_then(|r| r.errno).and_then(|e| e.name()),
        "function": first.map(|r| r.function),
        "source": first.map(|r| r.source),
        "versions": first.map(|r| r.versions.iter().map(|v| v.to_string()).collect::<Vec<_>>()),
        "uncertain": first.and_then(|r| r.uncertain),
        "rules": rules,
    })
}

/// The command that runs this one scenario again in this context.
pub fn scenario_repro(id: &str, context: &str, kernel: Option<KernelVersion>) -> String {
    let mut s = format!("forklore probe --scenario {id} --context {context}");
    if let Some(k) = kernel {
        s.push_str(&format!(" --kernel {k}"));
    }
    s
}

/// A scenario result in context `ctx` as a report case. `kernel` is the
/// version the model was asked about (a declared `--kernel` or the host's);
/// `declared` is set when it was declared (the reproducer repeats it).
pub fn scenario_case(
    r: ScenarioResult,
    ctx: &str,
    kernel: Option<KernelVersion>,
    declared: bool,
) -> CaseResult {
    let verdict = r.verdict;
    // A scenario that did not get as far as comparing (skip, env, broken)
    // has no facts: keep null so settle() sees what is missing.
    let expected = if r.expected.is_null() && r.rule.is_none() {
        Value::Null
    } else {
        expected_json(r.expected, r.rule.as_deref(), kernel)
    };
    settle(CaseResult {
        id: format!("{}/{ctx}", r.id),
        group: scenario_group(&r.group),
        tags: vec!["lifecycle"],
        context: ctx.to_string(),
        verdict,
        expected,
        observed: r.observed,
        reason: r.reason,
        repro: (verdict != Verdict::Pass)
            .then(|| scenario_repro(&r.id, ctx, kernel.filter(|_| declared))),
        generated: false,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::divergence::{self, Failure};
    use crate::report::Report;

    /// What the scenario process reports for a case forced to mismatch
    /// (harness.rs `result_from`: a `Check` whose facts differ).
    pub(crate) fn mismatch() -> ScenarioResult {
        ScenarioResult {
            id: "lifecycle/exec/de-thread".into(),
            group: "exec".into(),
            verdict: Verdict::Fail,
            expected: json!({"threads": 1, "pid": 7}),
            observed: json!({"threads": 2, "pid": 7}),
            rule: Some("L-EXEC-DE-THREAD".into()),
            reason: Some("threads: expected 1, observed 2".into()),
            duration_ms: 3,
        }
    }

    #[test]
    fn a_lifecycle_failure_carries_facts_rule_versions_and_a_reproducer() {
        let k = KernelVersion::new(6, 18, 0);
        let c = scenario_case(mismatch(), "root", Some(k), false);
        assert_eq!(c.verdict, Verdict::Fail, "{:?}", c.reason);
        let e = &c.expected;
        assert_eq!(e["outcome"], "facts");
        assert_eq!(e["facts"], json!({"threads": 1, "pid": 7}));
        assert_eq!(e["rule"], "L-EXEC-DE-THREAD");
        let want = forklore_model::lifecycle::rule("L-EXEC-DE-THREAD").unwrap();
        assert_eq!(e["reason"], want.reason);
        assert_eq!(e["function"], want.function);
        assert_eq!(e["versions"], json!(["2.6+"]));
        assert_eq!(e["rules"][0]["id"], "L-EXEC-DE-THREAD");
        assert_eq!(e["kernel"], "6.18.0");
        assert!(e["errno"].is_null(), "an effects rule has no errno");
        assert_eq!(
            expected_json(json!({}), Some("L-EXEC-ETXTBSY"), None)["errno"],
            "ETXTBSY"
        );
        assert_eq!(
            c.repro.as_deref(),
            Some("forklore probe --scenario lifecycle/exec/de-thread --context root")
        );
        // The divergence key is built from the facts only, as before.
        assert_eq!(
            divergence::key(&Failure::from(&c)).text(),
            "L-EXEC-DE-THREAD:facts -> differs: threads"
        );
        // Text: both sides, the rule with where/versions, the reproducer.
        let mut rep = Report::new("6.18.0".into(), json!({}), true);
        rep.push(c);
        let t = rep.to_text();
        for want_line in [
            "FAIL lifecycle/exec/de-thread/root",
            "threads: expected 1, observed 2",
            "expected: facts {\"pid\":7,\"threads\":1}",
            "observed: facts {\"pid\":7,\"threads\":2}",
            &format!("model rule L-EXEC-DE-THREAD: {}", want.reason),
            "where: fs/exec.c: de_thread (exchange_tids); versions: 2.6+",
            "reproduce: forklore probe --scenario lifecycle/exec/de-thread --context root",
        ] {
            assert!(t.contains(want_line), "missing {want_line:?} in\n{t}");
        }
        // The divergence explains itself with the model rule, not "-".
        let d = &rep.divergences()[0];
        assert_eq!(d.rule.as_deref(), Some("L-EXEC-DE-THREAD"));
        assert_eq!(d.reason.as_deref(), Some(want.reason));
        assert!(t.contains(&format!("model rule L-EXEC-DE-THREAD: {}", want.reason)));
        // JSON keeps all of it.
        let v: Value = serde_json::from_str(&rep.to_json(false)).unwrap();
        assert_eq!(v["cases"][0]["expected"]["versions"], json!(["2.6+"]));
        assert_eq!(v["divergences"][0]["reason"], want.reason);
    }

    #[test]
    fn several_rules_an_unknown_rule_and_a_declared_kernel() {
        let r = ScenarioResult {
            rule: Some("L-EXIT-LAST-THREAD-CODE,L-NOT-A-RULE".into()),
            ..mismatch()
        };
        let k = KernelVersion::new(5, 10, 0);
        let c = scenario_case(r, "user", Some(k), true);
        assert_eq!(c.expected["rules"].as_array().unwrap().len(), 2);
        assert_eq!(c.expected["versions"], json!(["5.19+"]));
        assert!(c.expected["rules"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("not in the model"));
        assert!(c.repro.unwrap().ends_with("--context user --kernel 5.10.0"));
        // A skip stays a skip with its reason and no expected side.
        let s = ScenarioResult {
            verdict: Verdict::Skip,
            expected: Value::Null,
            observed: Value::Null,
            rule: None,
            reason: Some("needs root".into()),
            ..mismatch()
        };
        let c = scenario_case(s, "user", None, false);
        assert_eq!(c.verdict, Verdict::Skip);
        assert!(c.expected.is_null());
    }
}
