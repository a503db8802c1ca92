//! Check results and their reports: text for people, JSON (versioned
//! schema), JUnit XML and KTAP for CI.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// JSON schema identifier; bump on incompatible changes. Added fields
/// (`divergences`, `expect`, `xfail` counts) are compatible and keep it.
pub const SCHEMA: &str = "forklore-check/1";

use crate::baseline::ExpectReport;
use crate::divergence::{self, Divergence, Failure};

/// One vocabulary for suite cases and lifecycle scenarios (forklore-model).
pub use forklore_model::Verdict;

/// One case bound to one context, with its verdict.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// `clone/flags=0x10900/root`.
    pub id: String,
    pub group: String,
    /// Catalogue tags (`matrix`, `pointer`, `order`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<&'static str>,
    pub context: String,
    pub verdict: Verdict,
    /// The model's prediction (the `explain --json` object); null for skips.
    pub expected: Value,
    /// The probe's observation; null for skips.
    pub observed: Value,
    /// Why it failed / was skipped / was decided by the environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A `forklore probe ...` command that reproduces the case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repro: Option<String>,
    /// Generated matrix cases that pass are summarised, not listed, in JSON.
    #[serde(skip)]
    pub generated: bool,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    pub env: usize,
    pub broken: usize,
    /// Failures a baseline expected (`check --expect`); omitted when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub xfail: usize,
    pub total: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Counts {
    pub fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.pass += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Skip => self.skip += 1,
            Verdict::Env => self.env += 1,
            Verdict::Broken => self.broken += 1,
            Verdict::Xfail => self.xfail += 1,
        }
        self.total += 1;
    }
}

/// What happened to one context as a whole.
#[derive(Clone, Debug, Serialize)]
pub struct ContextReport {
    pub name: String,
    /// "ran" or "skipped".
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The model context detected inside the probe.
    pub detected: Value,
    pub cases: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub kernel: String,
    /// Why `kernel` is not simply the running kernel's release (read from
    /// uname(2) only, declared with --kernel); absent when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_note: Option<String>,
    pub host: Value,
    pub quick: bool,
    pub duration_s: f64,
    pub summary: Counts,
    /// Counts per `group/context`.
    pub groups: BTreeMap<String, Counts>,
    pub contexts: Vec<ContextReport>,
    /// What became of each entry of the `--expect` baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<ExpectReport>,
    /// Every case, except passing cases of generated groups (counted in
    /// `groups`) unless `--all-cases` was given. Serialised by `to_json`.
    #[serde(skip)]
    pub cases: Vec<CaseResult>,
}

/// The model's side of a listed failure: for a scenario, both fact
/// objects; then each deciding rule with where it lives and the kernel
/// versions it applies to (`rules`, or the explain object's own fields).
fn explain_lines(o: &mut String, c: &CaseResult) {
    let e = &c.expected;
    if let Some(facts) = e.get("facts") {
        let _ = writeln!(o, "    expected: facts {facts}");
        let _ = writeln!(o, "    observed: facts {}", c.observed);
    }
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let versions_of = |v: &Value| {
        v.get("versions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
    };
    let one = |o: &mut String, r: &Value, id: &str| {
        let _ = writeln!(
            o,
            "    model rule {id}: {}",
            str_of(r, "reason").unwrap_or_default()
        );
        let mut at = Vec::new();
        if let Some(f) = str_of(r, "function") {
            at.push(format!("where: {f}"));
        }
        if let Some(v) = versions_of(r) {
            at.push(format!("versions: {v}"));
        }
        if let Some(src) = str_of(r, "source") {
            at.push(format!("source: {src}"));
        }
        if !at.is_empty() {
            let _ = writeln!(o, "      {}", at.join("; "));
        }
        if let Some(u) = str_of(r, "uncertain") {
            let _ = writeln!(o, "      uncertain: {u}");
        }
    };
    match e.get("rules").and_then(Value::as_array) {
        Some(rules) if !rules.is_empty() => {
            for r in rules {
                one(o, r, &str_of(r, "id").unwrap_or_default());
            }
        }
        _ => {
            if let Some(rule) = str_of(e, "rule") {
                one(o, e, &rule);
            }
        }
    }
}

/// Failures listed one by one in the text report (the rest are counted in
/// their divergence and listed in JSON).
pub const FAILURES_LISTED: usize = 200;

impl Report {
    pub fn new(kernel: String, host: Value, quick: bool) -> Self {
        Report {
            schema: SCHEMA,
            kernel,
            kernel_note: None,
            host,
            quick,
            duration_s: 0.0,
            summary: Counts::default(),
            groups: BTreeMap::new(),
            contexts: Vec::new(),
            expect: None,
            cases: Vec::new(),
        }
    }

    pub fn push(&mut self, r: CaseResult) {
        self.count(&r.group, &r.context, r.verdict);
        self.cases.push(r);
    }

    /// Count a case without keeping it (passing matrix cases, unless every
    /// case is to be listed).
    pub fn count(&mut self, group: &str, context: &str, v: Verdict) {
        self.summary.add(v);
        self.groups
            .entry(format!("{group}/{context}"))
            .or_default()
            .add(v);
    }

    /// The failing (and baselined) cases clustered: largest first.
    pub fn divergences(&self) -> Vec<Divergence> {
        divergence::cluster(self.cases.iter().map(Failure::from), |k| {
            self.expect.as_ref().and_then(|e| e.known(k))
        })
    }

    /// Baseline entries that matched nothing (vanished divergences).
    pub fn xpass(&self) -> usize {
        self.expect.as_ref().map_or(0, |e| e.xpass().count())
    }

    fn listed(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| c.verdict != Verdict::Pass)
    }

    /// JSON text. With `all_cases`, passing generated cases are listed too.
    pub fn to_json(&self, all_cases: bool) -> String {
        #[derive(Serialize)]
        struct View<'a> {
            #[serde(flatten)]
            head: &'a Report,
            divergences: Vec<Divergence>,
            cases: Vec<&'a CaseResult>,
        }
        let cases = self
            .cases
            .iter()
            .filter(|c| all_cases || !(c.generated && c.verdict == Verdict::Pass))
            .collect();
        let view = View {
            head: self,
            divergences: self.divergences(),
            cases,
        };
        serde_json::to_string_pretty(&view).unwrap_or_default() + "\n"
    }

    /// Summary first, then every failure with both sides and a repro line,
    /// then skips grouped by reason.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let s = &self.summary;
        let _ = writeln!(
            o,
            "forklore check: Linux {}, {} cases in {:.1}s{}",
            self.kernel,
            s.total,
            self.duration_s,
            if self.quick { " (quick)" } else { "" }
        );
        if let Some(n) = &self.kernel_note {
            let _ = writeln!(o, "  kernel {}: {n}", self.kernel);
        }
        let _ = write!(
            o,
            "  pass {}  fail {}  skip {}  env {}  broken {}",
            s.pass, s.fail, s.skip, s.env, s.broken
        );
        if self.expect.is_some() || s.xfail > 0 {
            let _ = write!(o, "  xfail {}  xpass {}", s.xfail, self.xpass());
        }
        let _ = writeln!(o);
        let _ = writeln!(o);
        let _ = writeln!(o, "contexts:");
        for c in &self.contexts {
            match &c.reason {
                Some(r) => {
                    let _ = writeln!(o, "  {:<22} {} ({r})", c.name, c.status);
                }
                None => {
                    let _ = writeln!(o, "  {:<22} {} {} cases", c.name, c.status, c.cases);
                }
            }
            // Facilities this environment lacks: the cases that needed
            // them are skipped with the same reason.
            for m in c.detected["missing"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    o,
                    "  {:<22}   without {}: {}",
                    "",
                    m["facility"].as_str().unwrap_or("?"),
                    m["reason"].as_str().unwrap_or("?")
                );
            }
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<34} {:>7} {:>6} {:>6} {:>6} {:>5} {:>6}",
            "group/context", "total", "pass", "fail", "skip", "env", "broken"
        );
        for (g, c) in &self.groups {
            let _ = writeln!(
                o,
                "{:<34} {:>7} {:>6} {:>6} {:>6} {:>5} {:>6}",
                g, c.total, c.pass, c.fail, c.skip, c.env, c.broken
            );
        }
        let divergences = self.divergences();
        if !divergences.is_empty() {
            let _ = writeln!(
                o,
                "\ndivergences ({} cluster{} of {} failing cases, largest first):",
                divergences.len(),
                if divergences.len() == 1 { "" } else { "s" },
                divergences.iter().map(|d| d.count).sum::<usize>()
            );
            for d in &divergences {
                let _ = writeln!(o, "  {:>6} × {}", d.count, d.key);
                if let Some(why) = &d.reason {
                    match &d.rule {
                        Some(rule) => {
                            let _ = writeln!(o, "           model rule {rule}: {why}");
                        }
                        None => {
                            let _ = writeln!(o, "           model: {why}");
                        }
                    }
                }
                let _ = writeln!(
                    o,
                    "           groups: {}; contexts: {}",
                    d.groups.join(", "),
                    d.contexts.join(", ")
                );
                let _ = writeln!(o, "           first: {}", d.first);
                if let Some(r) = &d.repro {
                    let _ = writeln!(o, "           reproduce: {r}");
                }
                if d.xfail > 0 {
                    let _ = writeln!(
                        o,
                        "           expected ({} xfail): {}",
                        d.xfail,
                        d.known.as_deref().unwrap_or("")
                    );
                }
            }
        }
        if let Some(e) = &self.expect {
            let _ = writeln!(
                o,
                "\nbaseline {}: {} entries, {} cases xfail, {} vanished (xpass)",
                e.file,
                e.entries.len(),
                s.xfail,
                e.xpass().count()
            );
            for x in e.xpass() {
                let _ = writeln!(o, "  XPASS {}: {}", x.key, x.reason);
                if !x.ids.is_empty() {
                    let _ = writeln!(o, "        ids: {}", x.ids.join(", "));
                }
            }
        }
        let fails: Vec<&CaseResult> = self
            .cases
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Broken))
            .collect();
        if !fails.is_empty() {
            let _ = writeln!(o, "\nfailures ({}):", fails.len());
            for c in fails.iter().take(FAILURES_LISTED) {
                let _ = writeln!(o, "  {} {}", c.verdict.as_str().to_uppercase(), c.id);
                if c.verdict == Verdict::Fail {
                    let key = divergence::key(&Failure::from(*c)).text();
                    let _ = writeln!(o, "    divergence: {key}");
                }
                if let Some(r) = &c.reason {
                    let _ = writeln!(o, "    {r}");
                }
                explain_lines(&mut o, c);
                if let Some(r) = &c.repro {
                    let _ = writeln!(o, "    reproduce: {r}");
                }
            }
            if fails.len() > FAILURES_LISTED {
                let _ = writeln!(
                    o,
                    "  ... {} more in the JSON report (each is in a divergence above)",
                    fails.len() - FAILURES_LISTED
                );
            }
        }
        let mut skips: BTreeMap<String, usize> = BTreeMap::new();
        for c in self
            .listed()
            .filter(|c| matches!(c.verdict, Verdict::Skip | Verdict::Env))
        {
            *skips
                .entry(format!(
                    "{} {}: {}",
                    c.verdict.as_str(),
                    c.context,
                    c.reason.as_deref().unwrap_or("no reason given")
                ))
                .or_default() += 1;
        }
        if !skips.is_empty() {
            let _ = writeln!(o, "\nskipped and environment-decided, by reason:");
            for (r, n) in skips {
                let _ = writeln!(o, "  {n:>6} × {r}");
            }
        }
        o
    }

    /// KTAP (kselftest): one diagnostic line per divergence after the plan,
    /// then one test point per group/context, failures (with their
    /// divergence key) and skips itemised as diagnostics under it. A
    /// group whose only failures a baseline expected is `ok N g # XFAIL`
    /// (kselftest's `ksft_test_result_xfail`); the totals count xfail cases
    /// and vanished baseline entries (xpass).
    pub fn to_ktap(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "TAP version 13");
        let _ = writeln!(o, "1..{}", self.groups.len());
        for (i, d) in self.divergences().iter().enumerate() {
            let _ = writeln!(
                o,
                "# divergence {}: {} × {}{}; first {}; reproduce: {}{}",
                i + 1,
                d.count,
                d.key,
                match (&d.rule, &d.reason) {
                    (Some(r), Some(why)) => format!(" (model rule {r}: {why})"),
                    (None, Some(why)) => format!(" ({why})"),
                    _ => String::new(),
                },
                d.first,
                d.repro.as_deref().unwrap_or("-"),
                match &d.known {
                    Some(k) if d.xfail > 0 => format!("; expected ({} xfail): {k}", d.xfail),
                    _ => String::new(),
                }
            );
        }
        if let Some(e) = &self.expect {
            for x in e.xpass() {
                let _ = writeln!(
                    o,
                    "# XPASS baseline entry vanished: {}: {}",
                    x.key, x.reason
                );
            }
        }
        for (i, (g, c)) in self.groups.iter().enumerate() {
            let _ = writeln!(
                o,
                "# {g}: {} cases: {} pass, {} fail, {} skip, {} env, {} broken{}",
                c.total,
                c.pass,
                c.fail,
                c.skip,
                c.env,
                c.broken,
                if c.xfail > 0 {
                    format!(", {} xfail", c.xfail)
                } else {
                    String::new()
                }
            );
            let mut keys: Vec<String> = Vec::new();
            for r in self
                .listed()
                .filter(|r| format!("{}/{}", r.group, r.context) == *g)
            {
                let key = matches!(r.verdict, Verdict::Fail | Verdict::Xfail)
                    .then(|| divergence::key(&Failure::from(r)).text());
                let _ = writeln!(
                    o,
                    "#   {} {}: {}{}",
                    r.verdict.as_str().to_uppercase(),
                    r.id,
                    r.reason.as_deref().unwrap_or(""),
                    key.as_ref().map(|k| format!(" [{k}]")).unwrap_or_default()
                );
                if let Some(k) = key {
                    if r.verdict == Verdict::Xfail && !keys.contains(&k) {
                        keys.push(k);
                    }
                }
            }
            let n = i + 1;
            if c.fail + c.broken > 0 {
                let _ = writeln!(o, "not ok {n} {g}");
            } else if c.xfail > 0 {
                let _ = writeln!(
                    o,
                    "ok {n} {g} # XFAIL known divergence: {}",
                    keys.join("; ")
                );
            } else if c.pass == 0 && c.skip > 0 {
                let reason = self
                    .listed()
                    .find(|r| format!("{}/{}", r.group, r.context) == *g)
                    .and_then(|r| r.reason.clone())
                    .unwrap_or_default();
                let _ = writeln!(o, "ok {n} {g} # SKIP {reason}");
            } else {
                let _ = writeln!(o, "ok {n} {g}");
            }
        }
        let s = &self.summary;
        let _ = writeln!(
            o,
            "# Totals: pass:{} fail:{} xfail:{} xpass:{} skip:{} error:{}",
            s.pass,
            s.fail,
            s.xfail,
            self.xpass(),
            s.skip + s.env,
            s.broken
        );
        o
    }

    /// JUnit XML: one test suite per group/context with a summary test case
    /// for the passing cases, and one test case per failure or skip.
    pub fn to_junit(&self) -> String {
        use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
        let mut rep = JReport::new("forklore check");
        rep.set_time(std::time::Duration::from_secs_f64(self.duration_s));
        for (g, c) in &self.groups {
            let mut suite = TestSuite::new(g.as_str());
            if c.pass > 0 {
                suite.add_test_case(TestCase::new(
                    format!("{g}: {} cases pass", c.pass),
                    TestCaseStatus::success(),
                ));
            }
            for r in self
                .listed()
                .filter(|r| format!("{}/{}", r.group, r.context) == *g)
            {
                let status = match r.verdict {
                    Verdict::Fail | Verdict::Broken => {
                        let mut s = TestCaseStatus::non_success(if r.verdict == Verdict::Fail {
                            NonSuccessKind::Failure
                        } else {
                            NonSuccessKind::Error
                        });
                        if let TestCaseStatus::NonSuccess {
                            message,
                            description,
                            ..
                        } = &mut s
                        {
                            *message = Some(
                                match r.verdict {
                                    Verdict::Fail => format!(
                                        "[{}] {}",
                                        divergence::key(&Failure::from(r)).text(),
                                        r.reason.as_deref().unwrap_or("")
                                    ),
                                    _ => r.reason.clone().unwrap_or_default(),
                                }
                                .into(),
                            );
                            *description = Some(
                                format!(
                                    "expected: {}\nobserved: {}\nreproduce: {}",
                                    r.expected,
                                    r.observed,
                                    r.repro.as_deref().unwrap_or("")
                                )
                                .into(),
                            );
                        }
                        s
                    }
                    Verdict::Xfail => {
                        let key = divergence::key(&Failure::from(r)).text();
                        let known = self.expect.as_ref().and_then(|e| e.known(&key));
                        let mut s = TestCaseStatus::skipped();
                        if let TestCaseStatus::Skipped {
                            message,
                            description,
                            ..
                        } = &mut s
                        {
                            *message = Some(
                                format!(
                                    "expected failure: {} [{key}]",
                                    known.as_deref().unwrap_or("")
                                )
                                .into(),
                            );
                            *description = Some(
                                format!(
                                    "{}\nexpected: {}\nobserved: {}\nreproduce: {}",
                                    r.reason.as_deref().unwrap_or(""),
                                    r.expected,
                                    r.observed,
                                    r.repro.as_deref().unwrap_or("")
                                )
                                .into(),
                            );
                        }
                        s
                    }
                    _ => {
                        let mut s = TestCaseStatus::skipped();
                        if let TestCaseStatus::Skipped { message, .. } = &mut s {
                            *message = Some(
                                format!(
                                    "{}: {}",
                                    r.verdict.as_str(),
                                    r.reason.as_deref().unwrap_or("")
                                )
                                .into(),
                            );
                        }
                        s
                    }
                };
                suite.add_test_case(TestCase::new(r.id.as_str(), status));
            }
            rep.add_test_suite(suite);
        }
        rep.to_string().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(id: &str, v: Verdict, generated: bool) -> CaseResult {
        CaseResult {
            id: format!("{id}/root"),
            group: "g".into(),
            tags: vec![],
            context: "root".into(),
            verdict: v,
            expected: json!({"rule": "E3", "reason": "THREAD needs SIGHAND"}),
            observed: json!({"outcome": "success"}),
            reason: (v != Verdict::Pass).then(|| "expected EINVAL, observed success".into()),
            repro: Some("forklore probe --flags THREAD".into()),
            generated,
        }
    }

    fn sample() -> Report {
        let mut r = Report::new("6.18.0".into(), json!({}), false);
        r.push(result("a", Verdict::Pass, true));
        r.push(result("b", Verdict::Fail, true));
        r.push(result("c", Verdict::Skip, false));
        r
    }

    #[test]
    fn counts_and_json_listing() {
        let r = sample();
        assert_eq!(
            r.summary,
            Counts {
                pass: 1,
                fail: 1,
                skip: 1,
                env: 0,
                broken: 0,
                xfail: 0,
                total: 3
            }
        );
        let v: Value = serde_json::from_str(&r.to_json(false)).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(
            v["cases"].as_array().unwrap().len(),
            2,
            "passing generated case is summarised"
        );
        let v: Value = serde_json::from_str(&r.to_json(true)).unwrap();
        assert_eq!(v["cases"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn text_ktap_junit_itemise_failures() {
        let r = sample();
        let t = r.to_text();
        assert!(t.contains("FAIL b/root") && t.contains("reproduce: forklore probe"));
        let k = r.to_ktap();
        assert!(k.starts_with("TAP version 13\n1..1\n") && k.contains("not ok 1 g/root"));
        let j = r.to_junit();
        assert!(j.contains("<failure") && j.contains("b/root") && j.contains("<skipped"));
    }

    #[test]
    fn divergences_lead_every_format_and_baselined_ones_are_xfail() {
        use crate::divergence::tests::case;
        let mut r = Report::new("6.18.0".into(), json!({}), true);
        for i in 0..300 {
            r.push(case(
                &format!("clone/{i:03}"),
                "clone-matrix",
                "root",
                Some("E3"),
                Some("EINVAL"),
                None,
                "expected EINVAL (E3), observed success",
            ));
        }
        r.push(case(
            "fork/0",
            "fork",
            "user",
            None,
            None,
            Some("EAGAIN"),
            "expected success, observed EAGAIN (11)",
        ));
        let t = r.to_text();
        let clusters = t
            .find("divergences (2 clusters of 301 failing cases")
            .expect(&t);
        let big = t.find("   300 × E3:EINVAL -> success").expect(&t);
        let small = t.find("     1 × success -> EAGAIN").expect(&t);
        let failures = t.find("failures (301):").expect(&t);
        assert!(clusters < big && big < small && small < failures, "{t}");
        assert!(t.contains("model rule E3: rule Some(\"E3\") says so"));
        assert!(
            t.contains("first: clone/000/root")
                && t.contains("reproduce: forklore probe clone/000 --context root")
        );
        assert!(t.contains("... 101 more in the JSON report"));
        assert!(!t.contains("xfail"), "no baseline, no xfail column");
        let v: Value = serde_json::from_str(&r.to_json(false)).unwrap();
        assert_eq!(v["divergences"][0]["key"], "E3:EINVAL -> success");
        assert_eq!(v["divergences"][0]["count"], 300);
        assert_eq!(v["divergences"][1]["contexts"], json!(["user"]));
        assert!(v["summary"].get("xfail").is_none() && v.get("expect").is_none());
        let k = r.to_ktap();
        assert!(
            k.contains("# divergence 1: 300 × E3:EINVAL -> success (model rule E3:"),
            "{k}"
        );
        assert!(k.contains("[success -> EAGAIN]") && k.contains("not ok 2 fork/user"));
        let j = r.to_junit();
        assert!(
            j.contains("[E3:EINVAL -&gt; success] expected EINVAL"),
            "{j}"
        );

        // The same run against a baseline that knows E3 and a vanished one.
        let b = crate::baseline::Baseline::parse(
            &json!({"schema": "forklore-baseline/1", "divergences": [
                {"key": "E3:EINVAL -> success", "reason": "gVisor: see #123"},
                {"key": "B1:EPERM -> success", "reason": "fixed?"}]})
            .to_string(),
        )
        .unwrap();
        b.apply(&mut r, "base.json");
        assert_eq!((r.summary.fail, r.summary.xfail, r.xpass()), (1, 300, 1));
        let t = r.to_text();
        assert!(
            t.contains("fail 1  skip 0  env 0  broken 0  xfail 300  xpass 1"),
            "{t}"
        );
        assert!(t.contains("expected (300 xfail): gVisor: see #123"));
        assert!(t.contains("XPASS B1:EPERM -> success: fixed?"));
        assert!(t.contains("failures (1):"));
        let v: Value = serde_json::from_str(&r.to_json(false)).unwrap();
        assert_eq!(v["summary"]["xfail"], 300);
        assert_eq!(v["divergences"][0]["xfail"], 300);
        assert_eq!(v["divergences"][0]["known"], "gVisor: see #123");
        assert_eq!(v["expect"]["entries"][1]["status"], "xpass");
        assert_eq!(v["cases"][0]["verdict"], "xfail");
        let k = r.to_ktap();
        assert!(
            k.contains("ok 1 clone-matrix/root # XFAIL known divergence: E3:EINVAL -> success"),
            "{k}"
        );
        assert!(k.contains("# XPASS baseline entry vanished: B1:EPERM -> success"));
        assert!(k.contains("# Totals: pass:0 fail:1 xfail:300 xpass:1 skip:0 error:0"));
        let j = r.to_junit();
        assert!(
            j.contains("expected failure: gVisor: see #123 [E3:EINVAL -&gt; success]"),
            "{j}"
        );
    }
}
