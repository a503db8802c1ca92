//! `forklore diff A.json B.json`: what differs between two check reports
//! (host vs gVisor, kernel X vs Y, yesterday vs today): divergences only in
//! one run or in both with other counts, per-group counts, and the cases
//! whose verdict changed.
//!
//! Reports list every case except passing matrix cases, which are only
//! counted in `groups`. A case listed in one report and not in the other is
//! therefore `pass` in the other when its group/context ran there (that is
//! exact: only passing cases go unlisted), and `absent` when it did not.
//! Runs of different catalogues (`--quick` against a full run) compare
//! cases that are in only one catalogue as `pass`: the diff says so in a
//! note, and the per-group counts show the difference.

use crate::baseline::check_report_cases;
use crate::divergence::{self, Divergence, Failure};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Schema of `forklore diff --json`.
pub const SCHEMA: &str = "forklore-diff/1";

/// What identifies a run in the diff.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunInfo {
    /// The file as named on the command line.
    pub file: String,
    pub kernel: String,
    pub quick: bool,
    pub summary: Value,
}

/// A divergence present in both runs with different counts.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CountChange {
    pub key: String,
    pub a: usize,
    pub b: usize,
    pub reason: Option<String>,
}

/// A group/context whose counts differ (`null`: not run there).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GroupChange {
    pub group: String,
    pub a: Value,
    pub b: Value,
}

/// The cases that went from one verdict to another.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Transition {
    /// `pass`, `fail`, ... or `absent` (its group/context did not run).
    pub from: String,
    pub to: String,
    pub count: usize,
    /// Per group/context.
    pub groups: BTreeMap<String, usize>,
    /// The first ids (by id), at most the diff's limit.
    pub ids: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Diff {
    pub schema: &'static str,
    pub identical: bool,
    pub a: RunInfo,
    pub b: RunInfo,
    pub only_a: Vec<Divergence>,
    pub only_b: Vec<Divergence>,
    pub changed: Vec<CountChange>,
    pub verdicts: Vec<Transition>,
    pub groups: Vec<GroupChange>,
    pub notes: Vec<String>,
}

struct Run<'a> {
    info: RunInfo,
    groups: BTreeMap<String, &'a Value>,
    cases: BTreeMap<&'a str, Failure<'a>>,
    divergences: Vec<Divergence>,
}

fn run<'a>(file: &str, v: &'a Value) -> Result<Run<'a>, String> {
    let cases = check_report_cases(v).map_err(|e| format!("{file}: {e}"))?;
    let groups = v
        .get("groups")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{file}: a check report without a \"groups\" object"))?
        .iter()
        .map(|(k, c)| (k.clone(), c))
        .collect();
    let divergences = divergence::cluster(cases.iter().copied(), |_| None);
    Ok(Run {
        info: RunInfo {
            file: file.to_string(),
            kernel: v
                .get("kernel")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            quick: v.get("quick").and_then(Value::as_bool).unwrap_or(false),
            summary: v.get("summary").cloned().unwrap_or(Value::Null),
        },
        groups,
        cases: cases.into_iter().map(|c| (c.id, c)).collect(),
        divergences,
    })
}

fn verdict_in(run: &Run<'_>, id: &str, group_ctx: &str) -> String {
    match run.cases.get(id) {
        Some(c) => c.verdict.as_str().to_string(),
        None if run.groups.contains_key(group_ctx) => "pass".into(),
        None => "absent".into(),
    }
}

/// Compare two check reports (parsed JSON). `limit`: ids listed per verdict
/// change. The error is one line naming the file.
pub fn diff(
    (file_a, a): (&str, &Value),
    (file_b, b): (&str, &Value),
    limit: usize,
) -> Result<Diff, String> {
    let (ra, rb) = (run(file_a, a)?, run(file_b, b)?);
    let find = |ds: &[Divergence], k: &str| ds.iter().position(|d| d.key == k);
    let only_a: Vec<Divergence> = ra
        .divergences
        .iter()
        .filter(|d| find(&rb.divergences, &d.key).is_none())
        .cloned()
        .collect();
    let only_b: Vec<Divergence> = rb
        .divergences
        .iter()
        .filter(|d| find(&ra.divergences, &d.key).is_none())
        .cloned()
        .collect();
    let changed: Vec<CountChange> = ra
        .divergences
        .iter()
        .filter_map(|d| {
            let other = &rb.divergences[find(&rb.divergences, &d.key)?];
            (other.count != d.count).then(|| CountChange {
                key: d.key.clone(),
                a: d.count,
                b: other.count,
                reason: d.reason.clone(),
            })
        })
        .collect();

    let names: BTreeSet<&String> = ra.groups.keys().chain(rb.groups.keys()).collect();
    let groups: Vec<GroupChange> = names
        .into_iter()
        .filter_map(|g| {
            let (x, y) = (ra.groups.get(g), rb.groups.get(g));
            (x != y).then(|| GroupChange {
                group: g.clone(),
                a: x.map_or(Value::Null, |v| (*v).clone()),
                b: y.map_or(Value::Null, |v| (*v).clone()),
            })
        })
        .collect();

    let mut trans: BTreeMap<(String, String), Transition> = BTreeMap::new();
    let ids: BTreeSet<&str> = ra.cases.keys().chain(rb.cases.keys()).copied().collect();
    for id in ids {
        let c = ra.cases.get(id).or_else(|| rb.cases.get(id));
        let Some(c) = c else { continue };
        let gc = format!("{}/{}", c.group, c.context);
        let (from, to) = (verdict_in(&ra, id, &gc), verdict_in(&rb, id, &gc));
        if from == to {
            continue;
        }
        let t = trans
            .entry((from.clone(), to.clone()))
            .or_insert_with(|| Transition {
                from,
                to,
                count: 0,
                groups: BTreeMap::new(),
                ids: Vec::new(),
            });
        t.count += 1;
        *t.groups.entry(gc).or_default() += 1;
        if t.ids.len() < limit {
            t.ids.push(id.to_string());
        }
    }
    let mut verdicts: Vec<Transition> = trans.into_values().collect();
    verdicts.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then_with(|| (&x.from, &x.to).cmp(&(&y.from, &y.to)))
    });

    let mut notes = Vec::new();
    if ra.info.quick != rb.info.quick {
        notes.push(
            "one run is --quick and the other is not: a case in only one catalogue counts as pass in the other (see the group counts)"
                .to_string(),
        );
    }
    let identical = only_a.is_empty()
        && only_b.is_empty()
        && changed.is_empty()
        && verdicts.is_empty()
        && groups.is_empty();
    Ok(Diff {
        schema: SCHEMA,
        identical,
        a: ra.info,
        b: rb.info,
        only_a,
        only_b,
        changed,
        verdicts,
        groups,
        notes,
    })
}

fn counts_text(v: &Value) -> String {
    if v.is_null() {
        return "not run".into();
    }
    ["pass", "fail", "xfail", "skip", "env", "broken", "total"]
        .iter()
        .filter_map(|k| {
            let n = v.get(*k).and_then(Value::as_u64)?;
            (n > 0 || *k == "total").then(|| format!("{k} {n}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Diff {
    /// JSON text (schema [`SCHEMA`]).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The report for people: divergences first, then verdict changes,
    /// then group counts.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let run = |r: &RunInfo| {
            format!(
                "{} (Linux {}{})",
                r.file,
                r.kernel,
                if r.quick { ", quick" } else { "" }
            )
        };
        let _ = writeln!(o, "forklore diff: A = {}", run(&self.a));
        let _ = writeln!(o, "               B = {}", run(&self.b));
        if self.identical {
            let _ = writeln!(o, "identical: the same divergences, verdicts and counts");
        }
        for (title, ds) in [("only in A", &self.only_a), ("only in B", &self.only_b)] {
            if ds.is_empty() {
                continue;
            }
            let _ = writeln!(o, "\ndivergences {title} ({}):", ds.len());
            for d in ds {
                let _ = writeln!(o, "  {:>6} × {}", d.count, d.key);
                if let Some(why) = &d.reason {
                    let _ = writeln!(o, "           {why}");
                }
                let _ = writeln!(
                    o,
                    "           groups: {}; contexts: {}; first: {}",
                    d.groups.join(", "),
                    d.contexts.join(", "),
                    d.first
                );
            }
        }
        if !self.changed.is_empty() {
            let _ = writeln!(
                o,
                "\ndivergences in both, with other counts ({}):",
                self.changed.len()
            );
            for c in &self.changed {
                let _ = writeln!(o, "  {} → {} × {}", c.a, c.b, c.key);
            }
        }
        if !self.verdicts.is_empty() {
            let n: usize = self.verdicts.iter().map(|t| t.count).sum();
            let _ = writeln!(o, "\nverdicts that changed ({n} cases):");
            for t in &self.verdicts {
                let per: Vec<String> = t.groups.iter().map(|(g, n)| format!("{g} {n}")).collect();
                let _ = writeln!(
                    o,
                    "  {} → {}: {} ({})",
                    t.from,
                    t.to,
                    t.count,
                    per.join(", ")
                );
                for id in &t.ids {
                    let _ = writeln!(o, "      {id}");
                }
                if t.count > t.ids.len() {
                    let _ = writeln!(o, "      ... {} more", t.count - t.ids.len());
                }
            }
        }
        if !self.groups.is_empty() {
            let _ = writeln!(o, "\ngroup counts that differ ({}):", self.groups.len());
            for g in &self.groups {
                let _ = writeln!(
                    o,
                    "  {}: {} → {}",
                    g.group,
                    counts_text(&g.a),
                    counts_text(&g.b)
                );
            }
        }
        for n in &self.notes {
            let _ = writeln!(o, "\nnote: {n}");
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::divergence::tests::case;
    use crate::report::{Report, Verdict};
    use serde_json::json;

    fn report(fails: &[(&str, &str)], quick: bool) -> Value {
        let mut r = Report::new("6.18.0".into(), json!({}), quick);
        for (id, seen) in fails {
            let seen = (*seen != "success").then_some(*seen);
            r.push(case(
                id,
                "clone-matrix",
                "root",
                Some("E3"),
                Some("EINVAL"),
                seen,
                "x",
            ));
        }
        // Passing matrix cases are counted only.
        for _ in 0..10 {
            r.count("clone-matrix", "root", Verdict::Pass);
        }
        serde_json::from_str(&r.to_json(false)).unwrap()
    }

    #[test]
    fn identical_reports_do_not_differ() {
        let a = report(&[("clone/1", "success"), ("clone/2", "EPERM")], true);
        let d = diff(("a", &a), ("b", &a), 20).unwrap();
        assert!(d.identical, "{}", d.to_text());
        assert!(d.to_text().contains("identical"));
    }

    #[test]
    fn clusters_counts_and_verdicts_that_differ_are_listed() {
        let a = report(
            &[
                ("clone/1", "success"),
                ("clone/2", "success"),
                ("clone/3", "EPERM"),
            ],
            true,
        );
        let b = report(&[("clone/1", "success"), ("clone/4", "EAGAIN")], true);
        let d = diff(("host.json", &a), ("gvisor.json", &b), 1).unwrap();
        assert!(!d.identical);
        let keys = |ds: &[Divergence]| ds.iter().map(|d| d.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&d.only_a), vec!["E3:EINVAL -> EPERM"]);
        assert_eq!(keys(&d.only_b), vec!["E3:EINVAL -> EAGAIN"]);
        assert_eq!(
            d.changed,
            vec![CountChange {
                key: "E3:EINVAL -> success".into(),
                a: 2,
                b: 1,
                reason: Some("rule Some(\"E3\") says so".into())
            }]
        );
        // clone/2 and clone/3 are unlisted in B: they passed there.
        let t: Vec<(&str, &str, usize)> = d
            .verdicts
            .iter()
            .map(|t| (t.from.as_str(), t.to.as_str(), t.count))
            .collect();
        assert_eq!(t, vec![("fail", "pass", 2), ("pass", "fail", 1)]);
        assert_eq!(d.verdicts[0].ids, vec!["clone/2/root"], "limited to 1");
        assert_eq!(d.verdicts[0].groups["clone-matrix/root"], 2);
        assert_eq!(d.groups.len(), 1);
        let text = d.to_text();
        assert!(
            text.contains("only in A (1)") && text.contains("2 → 1 × E3:EINVAL -> success"),
            "{text}"
        );
        assert!(
            text.contains("fail → pass: 2") && text.contains("... 1 more"),
            "{text}"
        );
        let j: Value = serde_json::from_str(&d.to_json()).unwrap();
        assert_eq!(j["schema"], SCHEMA);
        assert_eq!(j["identical"], false);
    }

    #[test]
    fn a_group_not_run_is_absent_and_quick_against_full_is_noted() {
        let a = report(&[("clone/1", "success")], true);
        let mut b = report(&[], false);
        b["groups"] = json!({});
        let d = diff(("a", &a), ("b", &b), 20).unwrap();
        assert_eq!(d.verdicts[0].to, "absent");
        assert_eq!(d.groups[0].b, Value::Null);
        assert_eq!(d.notes.len(), 1);
        assert!(d.to_text().contains("not run"));
    }

    #[test]
    fn bad_reports_are_one_line_naming_the_file() {
        let good = report(&[], true);
        for bad in [
            json!({}),
            json!({"schema": "forklore-bench/1"}),
            json!({"schema": "forklore-check/1", "cases": []}),
            json!({"schema": "forklore-check/1", "groups": {}, "cases": [{"id": 1}]}),
        ] {
            let e = diff(("x.json", &bad), ("y", &good), 5).unwrap_err();
            assert!(e.starts_with("x.json: ") && !e.contains('\n'), "{e}");
        }
    }
}
