//! The report: JSON schema `forklore-bench/1`, the terminal table and the
//! comparison of two reports.

use crate::env::Environment;
use crate::error::{bad, BenchError};
use crate::parse::format_size;
use crate::stats::{Stats, NOISE_THRESHOLD};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Schema identifier written in every report. The number changes when a
/// field changes meaning or disappears; new fields may appear within 1.
pub const SCHEMA: &str = "forklore-bench/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub forklore_version: String,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix_s: u64,
    pub environment: Environment,
    pub config: RunConfig,
    pub harness: Harness,
    /// One entry per (method, rss), in run order: the methods measured.
    pub results: Vec<MethodResult>,
    /// The methods this environment refused (a sandbox without clone3, a
    /// seccomp profile, an old kernel): each with the failing call and its
    /// errno. Not measured; every other method was. Absent in reports
    /// written before it existed.
    #[serde(default)]
    pub unavailable: Vec<Unavailable>,
    /// Cost versus parent RSS, one per method (only with two or more sizes).
    pub fits: Vec<RssFit>,
    /// Human notes (pinning advice, noisy results).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub methods: Vec<String>,
    /// The `clone` method's flags, e.g. `CLONE_VM|CLONE_VFORK|SIGCHLD`.
    pub clone_flags: String,
    /// Operations per method per run (`--iterations`), if fixed.
    pub iterations: Option<u64>,
    /// Time per method per run in ms (`--duration`, or the default cap).
    pub duration_ms: Option<u64>,
    pub warmup: u64,
    pub runs: u32,
    pub rss_bytes: Vec<u64>,
    pub thp: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Harness {
    /// How each operation is timed.
    pub clock: String,
    /// Two clock reads back to back, recorded like a sample: the cost the
    /// harness adds to every measurement (not subtracted).
    pub overhead: Stats,
    /// Anonymous resident memory of the timing process (forklore-bench-loop,
    /// the parent of every child) before timing, in KiB: fork copies the
    /// page tables of every such page, so fork's "RSS 0" cost includes this.
    pub parent_anon_kib: u64,
    /// Mappings (VMAs) of the timing process; fork duplicates each one.
    pub parent_mappings: u64,
}

/// `status` of a measured method.
pub const MEASURED: &str = "measured";
/// `status` of a method the environment refused.
pub const UNAVAILABLE: &str = "unavailable";

fn measured() -> String {
    MEASURED.into()
}

fn unavailable() -> String {
    UNAVAILABLE.into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodResult {
    pub method: String,
    /// Always `measured` here (see [`Unavailable`]).
    #[serde(default = "measured")]
    pub status: String,
    pub description: String,
    /// Private anonymous memory touched in the parent before the run.
    pub rss_bytes: u64,
    /// All runs merged.
    pub stats: Stats,
    /// Each run on its own.
    pub runs: Vec<RunSummary>,
    /// (max - min) / median of the per-run p50s; null with one run.
    pub spread: Option<f64>,
    /// spread > 5%: do not read the numbers as exact.
    pub noisy: bool,
    pub counters: Counters,
    /// Cumulative distribution: [latency ns, fraction <= it].
    pub cdf: Vec<(u64, f64)>,
}

/// A method whose first operation failed in a way that says the
/// environment lacks it: a syscall refused (e.g. clone3 answered ENOSYS),
/// or a child that could not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unavailable {
    pub method: String,
    /// Always `unavailable`.
    #[serde(default = "unavailable")]
    pub status: String,
    pub description: String,
    /// The call that failed (`clone3`, `wait4`, `posix_spawn`, ...); null
    /// when a child failed instead.
    pub call: Option<String>,
    /// Its errno by name (`ENOSYS`), or `errno N` for one forklore does not
    /// name; null when a child failed instead.
    pub errno: Option<String>,
    /// The whole reason, one line: `clone3 failed: Function not implemented (os error 38)`.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub samples: u64,
    pub p50_ns: u64,
    pub mean_ns: f64,
}

/// Per-operation counts during the timed loops (getrusage deltas) and
/// during a separate, shorter pass with inherited perf counters (inheriting
/// counters makes fork slower, so they are never on during timing).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Counters {
    /// Voluntary + involuntary context switches of the parent.
    pub parent_context_switches: f64,
    /// Minor + major page faults of the parent.
    pub parent_page_faults: f64,
    /// Context switches of reaped children (RUSAGE_CHILDREN).
    pub children_context_switches: f64,
    /// Page faults of reaped children.
    pub children_page_faults: f64,
    /// perf event name -> count per op (parent + children + threads).
    pub perf: BTreeMap<String, f64>,
    /// perf events that could not be opened, with the reason.
    pub perf_unavailable: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RssFit {
    pub method: String,
    /// (rss bytes, p50 ns) per point.
    pub points: Vec<(u64, u64)>,
    pub intercept_ns: f64,
    pub ms_per_gib: f64,
    /// Cost per 4 KiB page of parent memory.
    pub ns_per_page: f64,
    pub r2: f64,
    /// Fitted growth across the sweep (slope × RSS range) relative to the
    /// p50 measured at the sweep's smallest RSS.
    pub growth: f64,
    /// growth under 10%: the cost does not depend on the parent's memory.
    pub flat: bool,
    /// The method shares the parent's mm (CLONE_VM).
    pub shares_vm: bool,
    /// The same fit on each run's p50s alone.
    pub per_run_ms_per_gib: Vec<f64>,
    /// Relative spread of `per_run_ms_per_gib` (only meaningful when not flat).
    pub slope_spread: Option<f64>,
}

/// `1.23 µs`, `456 ns`, `12.3 ms`.
pub fn fmt_ns(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2}M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1}k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

impl Report {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "forklore bench {} — {}",
            self.forklore_version,
            self.environment.summary()
        );
        let h = &self.harness.overhead;
        let _ = writeln!(
            o,
            "harness: {}; overhead per sample p50 {} (min {}, mean {}), included in every number below",
            self.harness.clock,
            fmt_ns(h.p50_ns as f64),
            fmt_ns(h.min_ns as f64),
            fmt_ns(h.mean_ns)
        );
        let _ = writeln!(
            o,
            "timing process (forklore-bench-loop) before timing: {} KiB anonymous resident memory, {} mappings (fork copies both)",
            self.harness.parent_anon_kib, self.harness.parent_mappings
        );
        let sweep = self.config.rss_bytes.len() > 1
            || self.config.rss_bytes.first().is_some_and(|&r| r > 0);
        let _ = writeln!(
            o,
            "\n{:<17}{}{:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>9} {:>7} {:>7} {:>7}",
            "method",
            if sweep { format!("{:>6} ", "rss") } else { String::new() },
            "n",
            "min",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
            "mean",
            "ops/s",
            "spread",
            "csw/op",
            "pf/op",
            "cpf/op"
        );
        for r in &self.results {
            let s = &r.stats;
            let spread = match r.spread {
                Some(x) if r.noisy => format!("{:.1}% !", x * 100.0),
                Some(x) => format!("{:.1}%", x * 100.0),
                None => "n/a".into(),
            };
            let c = &r.counters;
            let _ = writeln!(
                o,
                "{:<17}{}{:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>9} {:>7.2} {:>7.1} {:>7.1}",
                r.method,
                if sweep { format!("{:>6} ", format_size(r.rss_bytes)) } else { String::new() },
                s.samples,
                fmt_ns(s.min_ns as f64),
                fmt_ns(s.p50_ns as f64),
                fmt_ns(s.p90_ns as f64),
                fmt_ns(s.p99_ns as f64),
                fmt_ns(s.p999_ns as f64),
                fmt_ns(s.max_ns as f64),
                fmt_ns(s.mean_ns),
                fmt_rate(s.ops_per_sec),
                spread,
                c.parent_context_switches + c.children_context_switches,
                c.parent_page_faults,
                c.children_page_faults,
            );
        }
        for u in &self.unavailable {
            let why = match (&u.call, &u.errno) {
                (Some(c), Some(e)) => format!("{c}: {e}"),
                _ => u.reason.clone(),
            };
            let _ = writeln!(
                o,
                "{:<17}{}{:>8} {why} (not measured)",
                u.method,
                if sweep {
                    format!("{:>6} ", "-")
                } else {
                    String::new()
                },
                "unavailable"
            );
        }
        let _ = writeln!(
            o,
            "\ncsw/op: context switches (parent + children), pf/op: parent page faults, cpf/op: children's page faults (getrusage)"
        );
        let perf: Vec<_> = self
            .results
            .iter()
            .filter(|r| !r.counters.perf.is_empty())
            .collect();
        if !perf.is_empty() {
            let _ = writeln!(
                o,
                "perf counters per op (separate pass, inherited by children):"
            );
            for r in perf {
                let items: Vec<String> = r
                    .counters
                    .perf
                    .iter()
                    .map(|(k, v)| format!("{k} {v:.1}"))
                    .collect();
                let rss = if sweep {
                    format!(" @{}", format_size(r.rss_bytes))
                } else {
                    String::new()
                };
                let _ = writeln!(o, "  {}{}: {}", r.method, rss, items.join(", "));
            }
        }
        if let Some(r) = self
            .results
            .iter()
            .find(|r| !r.counters.perf_unavailable.is_empty())
        {
            let items: Vec<String> = r
                .counters
                .perf_unavailable
                .iter()
                .map(|(k, v)| format!("{k} ({v})"))
                .collect();
            let _ = writeln!(o, "perf events unavailable: {}", items.join(", "));
        }
        if !self.fits.is_empty() {
            let _ = writeln!(
                o,
                "\ncost versus parent RSS (p50, least squares over {} sizes):",
                self.config.rss_bytes.len()
            );
            for f in &self.fits {
                let shape = if f.flat {
                    format!("flat ({:+.1}% over the sweep)", f.growth * 100.0)
                } else {
                    let runs = match f.slope_spread {
                        Some(s) if s > NOISE_THRESHOLD => {
                            format!(", per run varies {:.0}% !", s * 100.0)
                        }
                        Some(s) => format!(", per run ±{:.1}%", s * 100.0 / 2.0),
                        None => String::new(),
                    };
                    format!("grows {:+.0}% over the sweep{runs}", f.growth * 100.0)
                };
                let _ = writeln!(
                    o,
                    "  {:<16} {:>8.3} ms/GiB  {:>7.2} ns/page  R² {:.4}  at {} {:>10}  {}{}",
                    f.method,
                    f.ms_per_gib,
                    f.ns_per_page,
                    f.r2,
                    f.points
                        .iter()
                        .min()
                        .map_or(String::new(), |p| format_size(p.0)),
                    f.points
                        .iter()
                        .min()
                        .map_or(String::new(), |p| fmt_ns(p.1 as f64)),
                    shape,
                    if f.shares_vm { "  (CLONE_VM)" } else { "" }
                );
            }
        }
        for n in &self.notes {
            let _ = writeln!(o, "note: {n}");
        }
        o
    }
}

/// Load a report written by `--json`/`--output`.
/// Only a regular file is read: a FIFO is opened without blocking and
/// refused, like a directory or a device.
pub fn load(path: &std::path::Path) -> Result<Report, BenchError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let cannot = |e: std::io::Error| bad(format!("cannot read {}: {e}", path.display()));
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(bad(format!(
            "cannot read {}: not a regular file",
            path.display()
        )));
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(cannot)?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("{} is not JSON: {e}", path.display())))?;
    match v.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => {
            return Err(bad(format!(
                "{} has schema {other:?}; this forklore reads {SCHEMA:?}",
                path.display()
            )))
        }
        None => {
            return Err(bad(format!(
                "{} is not a forklore bench report (no \"schema\")",
                path.display()
            )))
        }
    }
    serde_json::from_value(v).map_err(|e| {
        bad(format!(
            "{} is not a valid {SCHEMA} report: {e}",
            path.display()
        ))
    })
}

/// Per-method ratio B/A of the p50s, for every (method, rss) in both.
/// A difference is "within noise" when |B/A - 1| is below the larger
/// run-to-run spread of the two (or 5% when a side had a single run).
pub fn compare(a: &Report, b: &Report, a_name: &str, b_name: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "A: {a_name}: {}", a.environment.summary());
    let _ = writeln!(o, "B: {b_name}: {}", b.environment.summary());
    let _ = writeln!(
        o,
        "\n{:<17}{:>6} {:>11} {:>11} {:>8}  verdict",
        "method", "rss", "A p50", "B p50", "B/A"
    );
    let mut matched = 0;
    for ra in &a.results {
        let Some(rb) = b
            .results
            .iter()
            .find(|r| r.method == ra.method && r.rss_bytes == ra.rss_bytes)
        else {
            continue;
        };
        matched += 1;
        let ratio = rb.stats.p50_ns as f64 / ra.stats.p50_ns.max(1) as f64;
        let noise = ra
            .spread
            .unwrap_or(NOISE_THRESHOLD)
            .max(rb.spread.unwrap_or(NOISE_THRESHOLD));
        let verdict = if (ratio - 1.0).abs() <= noise {
            format!("within noise (±{:.1}%)", noise * 100.0)
        } else if ratio > 1.0 {
            format!("B slower by {:.1}%", (ratio - 1.0) * 100.0)
        } else {
            format!("B faster by {:.1}%", (1.0 - ratio) * 100.0)
        };
        let _ = writeln!(
            o,
            "{:<17}{:>6} {:>11} {:>11} {:>8.3}  {}",
            ra.method,
            format_size(ra.rss_bytes),
            fmt_ns(ra.stats.p50_ns as f64),
            fmt_ns(rb.stats.p50_ns as f64),
            ratio,
            verdict
        );
    }
    for (side, here, there) in [("A", a, b), ("B", b, a)] {
        for u in &here.unavailable {
            if there.results.iter().any(|r| r.method == u.method) {
                let _ = writeln!(
                    o,
                    "{:<17}{:>6} unavailable in {side}: {}",
                    u.method, "", u.reason
                );
            }
        }
    }
    if matched == 0 {
        let _ = writeln!(o, "(no method measured at the same RSS in both reports)");
    }
    o
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_report() -> Report {
        let stats = Stats {
            samples: 10,
            min_ns: 90_000,
            p50_ns: 100_000,
            p90_ns: 110_000,
            p99_ns: 120_000,
            p999_ns: 130_000,
            max_ns: 140_000,
            mean_ns: 101_000.5,
            ops_per_sec: 9900.0,
        };
        let mut counters = Counters {
            parent_context_switches: 1.0,
            ..Default::default()
        };
        counters.perf.insert("page_faults".into(), 20.5);
        counters
            .perf_unavailable
            .insert("cycles".into(), "ENOENT".into());
        Report {
            schema: SCHEMA.into(),
            forklore_version: "0.1.0".into(),
            started_unix_s: 1,
            environment: Environment::capture(None, 2, false),
            config: RunConfig {
                methods: vec!["fork".into()],
                clone_flags: "SIGCHLD".into(),
                iterations: Some(10),
                duration_ms: None,
                warmup: 1,
                runs: 2,
                rss_bytes: vec![0, 1 << 30],
                thp: false,
            },
            harness: Harness {
                clock: "CLOCK_MONOTONIC".into(),
                overhead: stats.clone(),
                parent_anon_kib: 1000,
                parent_mappings: 40,
            },
            results: vec![MethodResult {
                method: "fork".into(),
                status: MEASURED.into(),
                description: "d".into(),
                rss_bytes: 0,
                stats,
                runs: vec![RunSummary {
                    samples: 5,
                    p50_ns: 100_000,
                    mean_ns: 1.0,
                }],
                spread: Some(0.02),
                noisy: false,
                counters,
                cdf: vec![(90_000, 0.0), (140_000, 1.0)],
            }],
            unavailable: vec![Unavailable {
                method: "clone3".into(),
                status: UNAVAILABLE.into(),
                description: "d3".into(),
                call: Some("clone3".into()),
                errno: Some("ENOSYS".into()),
                reason: "clone3 failed: Function not implemented (os error 38)".into(),
            }],
            fits: vec![RssFit {
                method: "fork".into(),
                points: vec![(0, 100_000), (1 << 30, 30_000_000)],
                intercept_ns: 100_000.0,
                ms_per_gib: 29.9,
                ns_per_page: 114.0,
                r2: 0.999,
                growth: 299.0,
                flat: false,
                shares_vm: false,
                per_run_ms_per_gib: vec![29.0, 30.5],
                slope_spread: Some(0.05),
            }],
            notes: vec!["n".into()],
        }
    }

    #[test]
    fn json_round_trip() {
        let r = sample_report();
        let text = serde_json::to_string_pretty(&r).unwrap();
        assert!(text.contains("\"schema\": \"forklore-bench/1\""));
        let back: Report = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
        // The fields consumers rely on are where the schema says.
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["results"][0]["stats"]["p50_ns"], 100_000);
        assert_eq!(v["fits"][0]["ms_per_gib"], 29.9);
        assert_eq!(v["harness"]["overhead"]["p50_ns"], 100_000);
        assert!(v["environment"]["virtualized"].is_boolean());
        assert_eq!(v["results"][0]["status"], "measured");
        assert_eq!(v["unavailable"][0]["status"], "unavailable");
        assert_eq!(v["unavailable"][0]["errno"], "ENOSYS");
        assert_eq!(v["unavailable"][0]["call"], "clone3");
    }

    #[test]
    fn reports_without_status_or_unavailable_still_load() {
        let mut v = serde_json::to_value(sample_report()).unwrap();
        v.as_object_mut().unwrap().remove("unavailable");
        v["results"][0].as_object_mut().unwrap().remove("status");
        let r: Report = serde_json::from_value(v).unwrap();
        assert!(r.unavailable.is_empty());
        assert_eq!(r.results[0].status, MEASURED);
    }

    #[test]
    fn unavailable_methods_are_rows_and_compared() {
        let r = sample_report();
        let t = r.table();
        let row = t.lines().find(|l| l.starts_with("clone3")).unwrap();
        assert!(
            row.contains("unavailable") && row.contains("clone3: ENOSYS"),
            "{row}"
        );
        let mut host = r.clone();
        host.unavailable.clear();
        host.results.push(MethodResult {
            method: "clone3".into(),
            ..host.results[0].clone()
        });
        let out = compare(&host, &r, "host.json", "gvisor.json");
        assert!(out.contains("unavailable in B: clone3 failed"), "{out}");
    }

    #[test]
    fn load_rejects_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = load(&dir.path().join("nope.json")).unwrap_err();
        assert!(matches!(missing, BenchError::BadInput(ref m) if m.contains("cannot read")));
        let p = dir.path().join("x.json");
        std::fs::write(&p, "{\"schema\": \"forklore-bench/9\"}").unwrap();
        assert!(matches!(load(&p), Err(BenchError::BadInput(m)) if m.contains("forklore-bench/9")));
        std::fs::write(&p, "[1,2").unwrap();
        assert!(matches!(load(&p), Err(BenchError::BadInput(m)) if m.contains("not JSON")));
        std::fs::write(&p, serde_json::to_string(&sample_report()).unwrap()).unwrap();
        assert_eq!(load(&p).unwrap(), sample_report());
    }

    #[test]
    fn compare_marks_noise() {
        let a = sample_report();
        let mut b = a.clone();
        b.results[0].stats.p50_ns = 103_000; // +3% with spread 2% / 2%: outside
        b.results[0].spread = Some(0.04); //  now 4%: inside
        let out = compare(&a, &b, "a.json", "b.json");
        assert!(
            out.contains("1.030") && out.contains("within noise"),
            "{out}"
        );
        b.results[0].stats.p50_ns = 150_000;
        let out = compare(&a, &b, "a.json", "b.json");
        assert!(out.contains("B slower by 50.0%"), "{out}");
    }

    #[test]
    fn table_shows_every_result() {
        let t = sample_report().table();
        assert!(t.contains("fork") && t.contains("100.00 µs") && t.contains("ms/GiB"));
        assert!(t.contains("R² 0.9990"));
    }
}
