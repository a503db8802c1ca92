//! Baselines: known divergences (`check --expect FILE`), and the file
//! `forklore baseline REPORT.json` writes from a run.
//!
//! The file is JSON, schema `forklore-baseline/1`:
//!
//! ```json
//! {"schema": "forklore-baseline/1",
//!  "note": "free text (optional)",
//!  "kernel_release": "6.18.*-fc-v* (optional: a glob of the releases it was measured on)",
//!  "divergences": [
//!    {"key": "E3:EINVAL -> success", "reason": "gVisor accepts ... (link)",
//!     "ids": ["clone/*/root"], "count": 12, "first": "clone/flags=0x10000/root"}
//!  ]}
//! ```
//!
//! `key` is a cluster key ([`crate::divergence`]) and `reason` free text,
//! both required and non-empty; `ids` (optional) narrows the entry to cases
//! whose id matches one of these globs; `count` and `first` are what the
//! run that wrote the entry saw (informational). Unknown fields are refused
//! (a typo must not silently widen or narrow a baseline).
//!
//! A failing case whose key (and, with `ids`, whose id) an entry matches
//! becomes `xfail`; the first matching entry takes it. An entry that took
//! no case is `xpass`: the divergence it describes has vanished.

use crate::divergence::{self, Failure};
use crate::report::{Report, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Schema identifier of baseline files.
pub const SCHEMA: &str = "forklore-baseline/1";

/// The reason `forklore baseline` writes for a cluster nobody explained yet.
pub const TODO: &str = "TODO: explain";

/// One known divergence.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub key: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
}

/// A baseline file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub schema: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// A glob of the kernel releases (`uname -r`) whose divergences these
    /// are, when the baseline is about one kernel family rather than an
    /// environment. Informational for `check --expect`; the project's own
    /// tests apply a baseline of the host only on a matching release
    /// ([`Baseline::measured_on`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_release: Option<String>,
    pub divergences: Vec<Entry>,
}

/// What became of one baseline entry in a run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExpectEntry {
    pub key: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    pub reason: String,
    /// Failing cases this entry turned into xfail.
    pub matched: usize,
    /// `xfail` (it matched) or `xpass` (vanished: nothing matched).
    pub status: &'static str,
}

/// The baseline's part of a report (`expect` in JSON).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExpectReport {
    /// The file as named on the command line.
    pub file: String,
    pub entries: Vec<ExpectEntry>,
}

impl ExpectReport {
    /// Entries that matched nothing.
    pub fn xpass(&self) -> impl Iterator<Item = &ExpectEntry> {
        self.entries.iter().filter(|e| e.matched == 0)
    }

    /// The reason of the first entry for `key` that matched something.
    pub fn known(&self, key: &str) -> Option<String> {
        self.entries
            .iter()
            .find(|e| e.key == key && e.matched > 0)
            .map(|e| e.reason.clone())
    }
}

impl Baseline {
    /// Whether `release` matches `kernel_release` (a glob; an exact release
    /// is a glob without wildcards). A baseline without one, or with a
    /// pattern that is not a glob, matches nothing.
    pub fn measured_on(&self, release: &str) -> bool {
        self.kernel_release
            .as_deref()
            .and_then(|g| glob::Pattern::new(g).ok())
            .is_some_and(|p| p.matches(release.trim()))
    }

    /// Parse and validate a baseline file's text. The error is one line.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let b: Baseline = serde_json::from_str(text).map_err(|e| format!("not a baseline: {e}"))?;
        if b.schema != SCHEMA {
            return Err(format!("schema {:?}, expected {SCHEMA:?}", b.schema));
        }
        if let Some(g) = &b.kernel_release {
            glob::Pattern::new(g)
                .map_err(|e| format!("kernel_release {g:?} is not a glob: {e}"))?;
        }
        for (i, e) in b.divergences.iter().enumerate() {
            let n = i + 1;
            if e.key.trim().is_empty() || !e.key.contains(" -> ") {
                return Err(format!(
                    "divergence {n}: key {:?} is not a cluster key (RULE:EXPECTED -> OBSERVED)",
                    e.key
                ));
            }
            if e.reason.trim().is_empty() {
                return Err(format!("divergence {n} ({}): empty reason", e.key));
            }
            for g in &e.ids {
                glob::Pattern::new(g)
                    .map_err(|err| format!("divergence {n} ({}): ids {g:?}: {err}", e.key))?;
            }
        }
        Ok(b)
    }

    /// Turn the failures this baseline knows into `xfail` (counts follow),
    /// and record what became of each entry in `report.expect`.
    pub fn apply(&self, report: &mut Report, file: &str) {
        let globs: Vec<Vec<glob::Pattern>> = self
            .divergences
            .iter()
            .map(|e| {
                e.ids
                    .iter()
                    .filter_map(|g| glob::Pattern::new(g).ok())
                    .collect()
            })
            .collect();
        let mut matched = vec![0usize; self.divergences.len()];
        for c in report
            .cases
            .iter_mut()
            .filter(|c| c.verdict == Verdict::Fail)
        {
            let key = divergence::key(&Failure::from(&*c)).text();
            let hit = self.divergences.iter().zip(&globs).position(|(e, g)| {
                e.key == key && (g.is_empty() || g.iter().any(|p| p.matches(&c.id)))
            });
            if let Some(i) = hit {
                matched[i] += 1;
                c.verdict = Verdict::Xfail;
                for counts in [
                    &mut report.summary,
                    report
                        .groups
                        .entry(format!("{}/{}", c.group, c.context))
                        .or_default(),
                ] {
                    counts.fail = counts.fail.saturating_sub(1);
                    counts.xfail += 1;
                }
            }
        }
        report.expect = Some(ExpectReport {
            file: file.to_string(),
            entries: self
                .divergences
                .iter()
                .zip(matched)
                .map(|(e, m)| ExpectEntry {
                    key: e.key.clone(),
                    ids: e.ids.clone(),
                    reason: e.reason.clone(),
                    matched: m,
                    status: if m > 0 { "xfail" } else { "xpass" },
                })
                .collect(),
        });
    }

    /// A baseline with one entry per divergence of a check report (JSON):
    /// the reason a baseline already gave (`known`), else [`TODO`].
    pub fn from_report(report: &Value) -> Result<Baseline, String> {
        let cases = check_report_cases(report)?;
        let known: Vec<(String, String)> = report
            .get("divergences")
            .and_then(Value::as_array)
            .map(|ds| {
                ds.iter()
                    .filter_map(|d| {
                        Some((
                            d.get("key")?.as_str()?.to_string(),
                            d.get("known")?.as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let ds = divergence::cluster(cases, |k| {
            known
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, r)| r.clone())
        });
        Ok(Baseline {
            schema: SCHEMA.into(),
            kernel_release: None,
            note: Some(format!(
                "written by forklore baseline from a run on Linux {}{}",
                report.get("kernel").and_then(Value::as_str).unwrap_or("?"),
                if report.get("quick") == Some(&Value::Bool(true)) {
                    " (quick)"
                } else {
                    ""
                }
            )),
            divergences: ds
                .into_iter()
                .map(|d| Entry {
                    reason: d.known.unwrap_or_else(|| TODO.into()),
                    key: d.key,
                    ids: Vec::new(),
                    count: Some(d.count),
                    first: Some(d.first),
                })
                .collect(),
        })
    }

    /// The file's text (pretty JSON, newline-terminated).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// The cases of a `forklore-check/*` JSON report, or why it is not one.
pub fn check_report_cases(report: &Value) -> Result<Vec<Failure<'_>>, String> {
    match report.get("schema").and_then(Value::as_str) {
        Some(s) if s.starts_with("forklore-check/") => {}
        Some(s) => return Err(format!("schema {s:?} is not a forklore-check report")),
        None => return Err("not a forklore check report (no \"schema\")".into()),
    }
    let cases = report
        .get("cases")
        .and_then(Value::as_array)
        .ok_or("a check report without a \"cases\" array")?;
    cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Failure::from_json(c).ok_or_else(|| {
                format!(
                    "case {}: needs id, group, context and a known verdict",
                    i + 1
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::divergence::tests::case;
    use serde_json::json;

    fn report() -> Report {
        let mut r = Report::new("6.18.0".into(), json!({}), true);
        for i in 0..5 {
            r.push(case(
                &format!("clone/{i}"),
                "clone-matrix",
                "root",
                Some("E3"),
                Some("EINVAL"),
                None,
                "x",
            ));
        }
        r.push(case(
            "clone3/0",
            "clone3-args",
            "user",
            Some("C1"),
            Some("E2BIG"),
            Some("EINVAL"),
            "x",
        ));
        r.push(case(
            "fork/0",
            "fork",
            "root",
            None,
            None,
            Some("EAGAIN"),
            "x",
        ));
        r
    }

    fn baseline(entries: serde_json::Value) -> Result<Baseline, String> {
        Baseline::parse(&json!({"schema": SCHEMA, "divergences": entries}).to_string())
    }

    #[test]
    fn known_become_xfail_vanished_are_xpass_new_stay_fail() {
        let mut r = report();
        let b = baseline(json!([
            {"key": "E3:EINVAL -> success", "reason": "gVisor accepts it"},
            {"key": "C1:E2BIG -> EINVAL", "reason": "narrowed away", "ids": ["clone3/*/root"]},
            {"key": "B1:EPERM -> success", "reason": "fixed upstream"}
        ]))
        .unwrap();
        b.apply(&mut r, "gvisor.json");
        assert_eq!(
            (r.summary.fail, r.summary.xfail, r.summary.total),
            (2, 5, 7)
        );
        assert_eq!(r.groups["clone-matrix/root"].xfail, 5);
        assert_eq!(r.groups["clone-matrix/root"].fail, 0);
        assert_eq!(r.groups["clone3-args/user"].fail, 1);
        let e = r.expect.as_ref().unwrap();
        assert_eq!(e.entries[0].matched, 5);
        assert_eq!(e.entries[0].status, "xfail");
        let xpass: Vec<&str> = e.xpass().map(|x| x.key.as_str()).collect();
        assert_eq!(xpass, vec!["C1:E2BIG -> EINVAL", "B1:EPERM -> success"]);
        let ds = r.divergences();
        assert_eq!(ds[0].xfail, 5);
        assert_eq!(ds[0].known.as_deref(), Some("gVisor accepts it"));
        assert_eq!(ds[1].known, None);
        // The id glob, when it matches, takes the case.
        let mut r = report();
        baseline(json!([{"key": "C1:E2BIG -> EINVAL", "reason": "r", "ids": ["clone3/*"]}]))
            .unwrap()
            .apply(&mut r, "f");
        assert_eq!((r.summary.fail, r.summary.xfail), (6, 1));
    }

    #[test]
    fn bad_files_are_refused_in_one_line() {
        for (text, want) in [
            ("", "not a baseline"),
            ("[]", "not a baseline"),
            (
                r#"{"schema": "forklore-baseline/2", "divergences": []}"#,
                "schema",
            ),
            (r#"{"schema": "forklore-baseline/1"}"#, "divergences"),
            (
                r#"{"schema": "forklore-baseline/1", "divergences": [{"key": "E3:EINVAL -> success"}]}"#,
                "reason",
            ),
            (
                r#"{"schema": "forklore-baseline/1", "divergences": [{"key": "E3:EINVAL -> success", "reason": " "}]}"#,
                "empty reason",
            ),
            (
                r#"{"schema": "forklore-baseline/1", "divergences": [{"key": "E3", "reason": "r"}]}"#,
                "not a cluster key",
            ),
            (
                r#"{"schema": "forklore-baseline/1", "divergences": [{"key": "a -> b", "reason": "r", "id": ["x"]}]}"#,
                "unknown field",
            ),
            (
                r#"{"schema": "forklore-baseline/1", "divergences": [{"key": "a -> b", "reason": "r", "ids": ["[x"]}]}"#,
                "ids",
            ),
        ] {
            let e = Baseline::parse(text).unwrap_err();
            assert!(e.contains(want) && !e.contains('\n'), "{text}: {e}");
        }
    }

    #[test]
    fn a_baseline_written_from_a_report_expects_exactly_that_report() {
        let json: Value = serde_json::from_str(&report().to_json(false)).unwrap();
        let b = Baseline::from_report(&json).unwrap();
        assert_eq!(b.divergences.len(), 3);
        assert_eq!(b.divergences[0].key, "E3:EINVAL -> success");
        assert_eq!(b.divergences[0].count, Some(5));
        assert_eq!(b.divergences[0].reason, TODO);
        // It parses back, and applied to the same run leaves nothing failing.
        let b = Baseline::parse(&b.to_json()).unwrap();
        let mut r = report();
        b.apply(&mut r, "f");
        assert_eq!((r.summary.fail, r.summary.xfail), (0, 7));
        assert_eq!(r.expect.as_ref().unwrap().xpass().count(), 0);
        // A report already run with a baseline keeps its reasons.
        let mut r = report();
        baseline(json!([{"key": "success -> EAGAIN", "reason": "sandbox limit"}]))
            .unwrap()
            .apply(&mut r, "f");
        let json: Value = serde_json::from_str(&r.to_json(false)).unwrap();
        let again = Baseline::from_report(&json).unwrap();
        let reasons: Vec<&str> = again
            .divergences
            .iter()
            .map(|e| e.reason.as_str())
            .collect();
        assert_eq!(reasons, vec![TODO, TODO, "sandbox limit"]);
        assert!(Baseline::from_report(&json!({"schema": "forklore-bench/1"})).is_err());
        assert!(Baseline::from_report(&json!({"cases": []})).is_err());
    }

    #[test]
    fn kernel_release_is_a_glob_of_the_builds_it_was_measured_on() {
        let parse = |k: &str| {
            Baseline::parse(
                &json!({"schema": SCHEMA, "kernel_release": k, "divergences": []}).to_string(),
            )
        };
        let family = parse("6.18.*-fc-v*").unwrap();
        assert!(family.measured_on("6.18.44-fc-v1252\n"));
        assert!(family.measured_on("6.18.44-fc-v1272"));
        assert!(!family.measured_on("6.12.118-amd64"));
        let exact = parse("6.1.0-40-amd64").unwrap();
        assert!(exact.measured_on("6.1.0-40-amd64"));
        assert!(!exact.measured_on("6.1.0-41-amd64"));
        let none = Baseline::parse(&json!({"schema": SCHEMA, "divergences": []}).to_string());
        assert!(!none.unwrap().measured_on("6.18.44-fc-v1252"));
        assert!(parse("6.18.[").unwrap_err().contains("kernel_release"));
    }
}
