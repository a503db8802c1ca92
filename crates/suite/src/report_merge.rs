//! `forklore report A.json B.json ...`: check reports from several kernels
//! (the kernel matrix's output, one JSON file per kernel) merged into one
//! view: kernels as columns, groups as rows (pass/fail/skip/env counts,
//! summed over contexts), then every divergence with its count per kernel
//! and the model's explanation (rule id, reason, the versions the rule
//! applies to, from this forklore's model). Text, JSON and one
//! self-contained HTML page (inline CSS, no scripts, no external assets).

use crate::baseline::check_report_cases;
use crate::divergence::{self, Divergence};
use crate::fingerprint::{fmt_ranges, rule_ranges};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Schema of `forklore report --json`.
pub const SCHEMA: &str = "forklore-report/1";

/// Verdict counts of a group in one run (contexts summed).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Cell {
    pub pass: u64,
    pub fail: u64,
    pub skip: u64,
    pub env: u64,
    pub broken: u64,
    pub xfail: u64,
    pub total: u64,
}

impl Cell {
    fn add(&mut self, v: &Value) {
        let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        self.pass += n("pass");
        self.fail += n("fail");
        self.skip += n("skip");
        self.env += n("env");
        self.broken += n("broken");
        self.xfail += n("xfail");
        self.total += n("total");
    }

    /// `pass/fail/skip/env` (and `+N broken`, `+N xfail` when there are).
    pub fn text(&self) -> String {
        let mut s = format!("{}/{}/{}/{}", self.pass, self.fail, self.skip, self.env);
        if self.broken > 0 {
            let _ = write!(s, " +{}b", self.broken);
        }
        if self.xfail > 0 {
            let _ = write!(s, " +{}x", self.xfail);
        }
        s
    }
}

/// One input report.
#[derive(Clone, Debug, Serialize)]
pub struct Column {
    /// Column heading: the kernel, with the file's name when two runs
    /// share a kernel.
    pub label: String,
    pub file: String,
    pub kernel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_note: Option<String>,
    pub quick: bool,
    pub duration_s: f64,
    pub summary: Cell,
    /// Contexts that ran, and those skipped with why.
    pub contexts: Vec<String>,
    pub divergences: Vec<Divergence>,
}

/// A rule as the model explains it.
#[derive(Clone, Debug, Serialize)]
pub struct RuleNote {
    pub id: String,
    pub reason: Option<String>,
    pub function: Option<String>,
    pub versions: String,
}

/// One divergence key across the runs.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub key: String,
    /// Failing cases per column (0: absent there).
    pub counts: Vec<usize>,
    pub reason: Option<String>,
    pub rules: Vec<RuleNote>,
    pub first: String,
    pub repro: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Merged {
    pub schema: &'static str,
    pub columns: Vec<Column>,
    /// Group name → one cell per column (`None`: not run there).
    pub groups: BTreeMap<String, Vec<Option<Cell>>>,
    pub divergences: Vec<Row>,
}

fn rule_notes(rule: Option<&str>) -> Vec<RuleNote> {
    rule.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|id| {
            let info = crate::scenario_case::lookup_rule(id, None);
            RuleNote {
                id: id.to_string(),
                reason: info.map(|i| i.reason.to_string()),
                function: info.map(|i| i.function.to_string()),
                versions: match rule_ranges(id) {
                    r if r.is_empty() => "not in this model".into(),
                    r => fmt_ranges(&r),
                },
            }
        })
        .collect()
}

/// The rules as the report's own first case states them (the deciding
/// row's versions at that kernel: a check that changed form has several
/// rows with one id); the model's tables when the case does not say.
fn rules_of_case(expected: Option<&Value>, rule: Option<&str>) -> Vec<RuleNote> {
    let note = |r: &Value| {
        let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        let versions: Vec<&str> = r
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        Some(RuleNote {
            id: s("id").or_else(|| s("rule"))?,
            reason: s("reason"),
            function: s("function"),
            versions: if versions.is_empty() {
                return None;
            } else {
                versions.join(", ")
            },
        })
    };
    let from_case: Option<Vec<RuleNote>> =
        expected.and_then(|e| match e.get("rules").and_then(Value::as_array) {
            Some(rs) if !rs.is_empty() => rs.iter().map(note).collect(),
            _ => note(e).map(|n| vec![n]),
        });
    from_case.unwrap_or_else(|| rule_notes(rule))
}

/// Merge parsed check reports, each with the file name it came from.
/// The error is one line naming the file.
pub fn merge(reports: &[(String, Value)]) -> Result<Merged, String> {
    let mut columns = Vec::new();
    let mut groups: BTreeMap<String, Vec<Option<Cell>>> = BTreeMap::new();
    let n = reports.len();
    for (i, (file, v)) in reports.iter().enumerate() {
        let cases = check_report_cases(v).map_err(|e| format!("{file}: {e}"))?;
        let gs = v
            .get("groups")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{file}: a check report without a \"groups\" object"))?;
        for (gc, counts) in gs {
            let group = gc.rsplit_once('/').map_or(gc.as_str(), |(g, _)| g);
            let col = groups
                .entry(group.to_string())
                .or_insert_with(|| vec![None; n]);
            col[i].get_or_insert_with(Cell::default).add(counts);
        }
        let mut summary = Cell::default();
        summary.add(v.get("summary").unwrap_or(&Value::Null));
        let contexts = v
            .get("contexts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
                match c.get("reason").and_then(Value::as_str) {
                    Some(r) => format!("{name} (skipped: {r})"),
                    None => name.to_string(),
                }
            })
            .collect();
        let str_of = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        columns.push(Column {
            label: String::new(),
            file: file.clone(),
            kernel: str_of("kernel").unwrap_or_else(|| "?".into()),
            kernel_note: str_of("kernel_note"),
            quick: v.get("quick").and_then(Value::as_bool).unwrap_or(false),
            duration_s: v.get("duration_s").and_then(Value::as_f64).unwrap_or(0.0),
            summary,
            contexts,
            divergences: divergence::cluster(cases.iter().copied(), |_| None),
        });
    }
    // Labels: the kernel, or kernel + file stem where kernels repeat.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for c in &columns {
        *seen.entry(c.kernel.clone()).or_default() += 1;
    }
    for c in &mut columns {
        c.label = if seen[&c.kernel] > 1 {
            let stem = std::path::Path::new(&c.file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| c.file.clone());
            format!("{} ({stem})", c.kernel)
        } else {
            c.kernel.clone()
        };
    }
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for (i, c) in columns.iter().enumerate() {
        let expected_of = |id: &str| {
            reports[i]
                .1
                .get("cases")
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter()
                        .find(|x| x.get("id").and_then(Value::as_str) == Some(id))
                        .and_then(|x| x.get("expected"))
                })
        };
        for d in &c.divergences {
            let row = rows.entry(d.key.clone()).or_insert_with(|| Row {
                key: d.key.clone(),
                counts: vec![0; n],
                reason: d.reason.clone(),
                rules: rules_of_case(expected_of(&d.first), d.rule.as_deref()),
                first: d.first.clone(),
                repro: d.repro.clone(),
            });
            if row.rules.is_empty() && row.reason.is_none() && d.expected == "success" {
                row.reason = Some(
                    "the model predicts success here (no rule refuses the call); the facts named differ"
                        .into(),
                );
            }
            row.counts[i] += d.count;
        }
    }
    let mut divergences: Vec<Row> = rows.into_values().collect();
    // In most kernels first, then largest.
    divergences.sort_by(|a, b| {
        let k = |r: &Row| {
            (
                std::cmp::Reverse(r.counts.iter().filter(|c| **c > 0).count()),
                std::cmp::Reverse(r.counts.iter().sum::<usize>()),
            )
        };
        k(a).cmp(&k(b)).then_with(|| a.key.cmp(&b.key))
    });
    Ok(Merged {
        schema: SCHEMA,
        columns,
        groups,
        divergences,
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Merged {
    /// Any run with a failing or broken case.
    pub fn any_failure(&self) -> bool {
        self.columns
            .iter()
            .any(|c| c.summary.fail + c.summary.broken > 0)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let w = self
            .columns
            .iter()
            .map(|c| c.label.len())
            .chain(
                self.groups
                    .values()
                    .flatten()
                    .flatten()
                    .map(|c| c.text().len()),
            )
            .chain(self.columns.iter().map(|c| c.summary.text().len()))
            .max()
            .unwrap_or(8)
            .max(8)
            + 2;
        let _ = writeln!(
            o,
            "forklore report: {} runs (cells: pass/fail/skip/env, contexts summed)",
            self.columns.len()
        );
        for c in &self.columns {
            let _ = writeln!(
                o,
                "  {}: {}{}, {:.1}s, {} cases{}",
                c.label,
                c.file,
                if c.quick { ", quick" } else { "" },
                c.duration_s,
                c.summary.total,
                c.kernel_note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(o);
        let _ = write!(o, "{:<24}", "group");
        for c in &self.columns {
            let _ = write!(o, "{:>w$}", c.label);
        }
        let _ = writeln!(o);
        for (g, cells) in &self.groups {
            let _ = write!(o, "{g:<24}");
            for c in cells {
                let t = c.as_ref().map_or("-".to_string(), Cell::text);
                let _ = write!(o, "{t:>w$}");
            }
            let _ = writeln!(o);
        }
        let _ = write!(o, "{:<24}", "total");
        for c in &self.columns {
            let _ = write!(o, "{:>w$}", c.summary.text());
        }
        let _ = writeln!(o);
        if self.divergences.is_empty() {
            let _ = writeln!(o, "\nno divergences: every run agrees with the model");
            return o;
        }
        let _ = writeln!(
            o,
            "\ndivergences ({}; failing cases per run, - = none):",
            self.divergences.len()
        );
        for d in &self.divergences {
            let per: Vec<String> = self
                .columns
                .iter()
                .zip(&d.counts)
                .map(|(c, n)| {
                    if *n == 0 {
                        format!("{} -", c.label)
                    } else {
                        format!("{} {n}", c.label)
                    }
                })
                .collect();
            let _ = writeln!(o, "  {}", d.key);
            let _ = writeln!(o, "      {}", per.join(" | "));
            for r in &d.rules {
                let _ = writeln!(
                    o,
                    "      model rule {}: {} [versions: {}]",
                    r.id,
                    r.reason.as_deref().unwrap_or("?"),
                    r.versions
                );
            }
            if d.rules.is_empty() {
                if let Some(why) = &d.reason {
                    let _ = writeln!(o, "      {why}");
                }
            }
            let _ = writeln!(o, "      first: {}", d.first);
            if let Some(r) = &d.repro {
                let _ = writeln!(o, "      reproduce: {r}");
            }
        }
        o
    }

    /// One self-contained HTML page: inline CSS, no scripts, no external
    /// assets.
    pub fn to_html(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>forklore report: {} kernels</title>",
            self.columns.len()
        );
        o.push_str(
            "<style>\n\
             body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1d1d1f;background:#fff}\n\
             h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}\n\
             table{border-collapse:collapse;margin:8px 0}\n\
             th,td{border:1px solid #d0d0d7;padding:4px 8px;text-align:right;vertical-align:top}\n\
             th{background:#f2f2f5}td.g,th.g{text-align:left;font-family:ui-monospace,Menlo,monospace}\n\
             td.ok{background:#e7f6ea}td.bad{background:#fde2e1;font-weight:600}td.na{color:#999;text-align:center}\n\
             td.skip{background:#f4f4f6}.n{color:#666;font-size:12px}\n\
             .key{font-family:ui-monospace,Menlo,monospace;font-weight:600}\n\
             .div{border-left:4px solid #d93025;padding:6px 12px;margin:10px 0;background:#fafafa}\n\
             code{font-family:ui-monospace,Menlo,monospace;font-size:12.5px;background:#f2f2f5;padding:1px 4px;border-radius:3px}\n\
             .legend span{display:inline-block;padding:1px 6px;margin-right:6px}\n\
             </style></head><body>\n",
        );
        let _ = writeln!(
            o,
            "<h1>forklore report</h1><div class=\"n\">{} runs merged; cells are pass / fail / skip / env, contexts summed</div>",
            self.columns.len()
        );
        o.push_str("<h2>Runs</h2><table><tr><th class=\"g\">kernel</th><th class=\"g\">file</th><th>cases</th><th>pass</th><th>fail</th><th>skip</th><th>env</th><th>broken</th><th class=\"g\">contexts</th></tr>\n");
        for c in &self.columns {
            let s = &c.summary;
            let _ = writeln!(
                o,
                "<tr><td class=\"g\"><b>{}</b>{}</td><td class=\"g\">{}{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"g n\">{}</td></tr>",
                esc(&c.label),
                c.kernel_note.as_ref().map(|n| format!("<div class=\"n\">{}</div>", esc(n))).unwrap_or_default(),
                esc(&c.file),
                if c.quick { " <span class=\"n\">(quick)</span>" } else { "" },
                s.total,
                s.pass,
                if s.fail > 0 { "bad" } else { "ok" },
                s.fail,
                s.skip,
                s.env,
                if s.broken > 0 { "bad" } else { "ok" },
                s.broken,
                esc(&c.contexts.join(", "))
            );
        }
        o.push_str("</table>\n<h2>Groups</h2><table><tr><th class=\"g\">group</th>");
        for c in &self.columns {
            let _ = write!(o, "<th>{}</th>", esc(&c.label));
        }
        o.push_str("</tr>\n");
        for (g, cells) in &self.groups {
            let _ = write!(o, "<tr><td class=\"g\">{}</td>", esc(g));
            for c in cells {
                match c {
                    None => o.push_str("<td class=\"na\">–</td>"),
                    Some(c) => {
                        let class = if c.fail + c.broken > 0 {
                            "bad"
                        } else if c.pass == 0 {
                            "skip"
                        } else {
                            "ok"
                        };
                        let _ = write!(o, "<td class=\"{class}\">{}</td>", esc(&c.text()));
                    }
                }
            }
            o.push_str("</tr>\n");
        }
        o.push_str("</table>\n");
        if self.divergences.is_empty() {
            o.push_str("<h2>Divergences</h2><p>None: every run agrees with the model.</p>\n");
        } else {
            let _ = writeln!(
                o,
                "<h2>Divergences ({})</h2><table><tr><th class=\"g\">kernel does / model says</th>",
                self.divergences.len()
            );
            for c in &self.columns {
                let _ = write!(o, "<th>{}</th>", esc(&c.label));
            }
            o.push_str("</tr>\n");
            for d in &self.divergences {
                let _ = write!(o, "<tr><td class=\"g key\">{}</td>", esc(&d.key));
                for n in &d.counts {
                    if *n == 0 {
                        o.push_str("<td class=\"na\">–</td>");
                    } else {
                        let _ = write!(o, "<td class=\"bad\">{n}</td>");
                    }
                }
                o.push_str("</tr>\n");
            }
            o.push_str("</table>\n<h2>What the model says, per divergence</h2>\n");
            for d in &self.divergences {
                let kernels: Vec<&str> = self
                    .columns
                    .iter()
                    .zip(&d.counts)
                    .filter(|(_, n)| **n > 0)
                    .map(|(c, _)| c.label.as_str())
                    .collect();
                let _ = write!(
                    o,
                    "<div class=\"div\"><div class=\"key\">{}</div><div class=\"n\">on {}</div>",
                    esc(&d.key),
                    esc(&kernels.join(", "))
                );
                for r in &d.rules {
                    let _ = write!(
                        o,
                        "<div>model rule <b>{}</b>: {} <span class=\"n\">({}; versions {})</span></div>",
                        esc(&r.id),
                        esc(r.reason.as_deref().unwrap_or("?")),
                        esc(r.function.as_deref().unwrap_or("?")),
                        esc(&r.versions)
                    );
                }
                if d.rules.is_empty() {
                    if let Some(why) = &d.reason {
                        let _ = write!(o, "<div>{}</div>", esc(why));
                    }
                }
                let _ = write!(o, "<div class=\"n\">first: <code>{}</code>", esc(&d.first));
                if let Some(r) = &d.repro {
                    let _ = write!(o, " reproduce: <code>{}</code>", esc(r));
                }
                o.push_str("</div></div>\n");
            }
        }
        o.push_str("</body></html>\n");
        o
    }
}

/// Group rows that exist in some runs only (a quick run has fewer).
pub fn groups_in_some(m: &Merged) -> BTreeSet<&str> {
    m.groups
        .iter()
        .filter(|(_, cells)| cells.iter().any(Option::is_none))
        .map(|(g, _)| g.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::divergence::tests::case;
    use crate::report::{Report, Verdict};
    use serde_json::json;

    fn run(kernel: &str, fails: usize, lifecycle_fail: bool) -> Value {
        let mut r = Report::new(kernel.into(), json!({"kernel": kernel}), true);
        for _ in 0..10 {
            r.count("clone-matrix", "root", Verdict::Pass);
            r.count("clone-matrix", "user", Verdict::Pass);
        }
        for i in 0..fails {
            r.push(case(
                &format!("clone/{i}"),
                "clone-matrix",
                "root",
                Some("E8'"),
                Some("EINVAL"),
                None,
                "expected EINVAL (E8'), observed success",
            ));
        }
        if lifecycle_fail {
            r.push(crate::scenario_case::scenario_case(
                crate::scenario_case::tests::mismatch(),
                "user",
                None,
                false,
            ));
        }
        serde_json::from_str(&r.to_json(false)).unwrap()
    }

    #[test]
    fn kernels_are_columns_groups_rows_and_divergences_explained() {
        let m = merge(&[
            ("a/6.1.json".into(), run("6.1.0", 3, false)),
            ("b/6.18.json".into(), run("6.18.44", 0, false)),
            ("c/6.18-user.json".into(), run("6.18.44", 1, true)),
        ])
        .unwrap();
        let labels: Vec<&str> = m.columns.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["6.1.0", "6.18.44 (6.18)", "6.18.44 (6.18-user)"]);
        // Contexts summed: 20 passing per run, plus the failures.
        let cm = &m.groups["clone-matrix"];
        assert_eq!(cm[0].as_ref().unwrap().text(), "20/3/0/0");
        assert_eq!(cm[1].as_ref().unwrap().text(), "20/0/0/0");
        assert_eq!(m.groups["lifecycle-exec"][0], None);
        assert_eq!(
            groups_in_some(&m).into_iter().collect::<Vec<_>>(),
            ["lifecycle-exec"]
        );
        // E8' is in two runs: first; counts per column.
        assert_eq!(m.divergences[0].key, "E8':EINVAL -> success");
        assert_eq!(m.divergences[0].counts, [3, 0, 1]);
        let e8 = &m.divergences[0].rules[0];
        assert_eq!(e8.id, "E8'");
        assert_eq!(e8.versions, fmt_ranges(&rule_ranges("E8'")));
        assert!(e8.reason.is_some());
        let l = &m.divergences[1];
        assert_eq!(l.key, "L-EXEC-DE-THREAD:facts -> differs: threads");
        assert_eq!(l.counts, [0, 0, 1]);
        assert_eq!(l.rules[0].versions, "2.6+");
        assert!(m.any_failure());
        let t = m.to_text();
        assert!(
            t.contains("6.1.0 3 | 6.18.44 (6.18) - | 6.18.44 (6.18-user) 1"),
            "{t}"
        );
        assert!(t.contains("model rule E8':"), "{t}");
        let h = m.to_html();
        assert!(h.starts_with("<!DOCTYPE html>") && h.ends_with("</html>\n"));
        // Self-contained: no external reference of any kind.
        for bad in [
            "http://", "https://", "<script", "<link", "src=", "@import", "url(",
        ] {
            assert!(!h.contains(bad), "{bad} in the page");
        }
        assert!(h.contains("E8&#39;") || h.contains("E8'"));
        assert!(h.contains("<td class=\"bad\">3</td>"));
        // JSON round trip.
        let v: Value = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["divergences"][0]["counts"], json!([3, 0, 1]));
    }

    #[test]
    fn the_deciding_rows_versions_come_from_the_case() {
        // C2 has two rows (the check changed form): the case names the
        // ranges of the row that decided at its kernel.
        let mut r = Report::new("6.1.0".into(), json!({}), true);
        let mut c = case(
            "clone3/x",
            "clone3-ns",
            "root",
            Some("C2"),
            Some("EINVAL"),
            None,
            "x",
        );
        c.expected["versions"] = json!(["5.16–6.1.19"]);
        r.push(c);
        let v: Value = serde_json::from_str(&r.to_json(false)).unwrap();
        let m = merge(&[("a".into(), v)]).unwrap();
        assert_eq!(m.divergences[0].rules[0].versions, "5.16–6.1.19");
        assert_ne!(fmt_ranges(&rule_ranges("C2")), "5.16–6.1.19");
    }

    #[test]
    fn bad_input_names_the_file() {
        let e = merge(&[("x.json".into(), json!({"schema": "forklore-bench/1"}))]).unwrap_err();
        assert!(e.starts_with("x.json: "), "{e}");
        let e = merge(&[(
            "y.json".into(),
            json!({"schema": "forklore-check/1", "cases": []}),
        )])
        .unwrap_err();
        assert!(e.contains("groups"), "{e}");
        // No divergence anywhere: said so.
        let m = merge(&[("a".into(), run("6.18.44", 0, false))]).unwrap();
        assert!(m.to_text().contains("no divergences") && !m.any_failure());
    }
}
