//! The model against each matrix kernel's own source (checked-in extracts
//! under fixtures/kernels/<series>/, written by ci/kernel-fixtures.sh from
//! Debian's linux-source-X.Y and linux-libc-dev; no network here):
//!
//! - `sched.h`: the UAPI CLONE_* defines. The model's flag table
//!   (`FLAG_NAMES` + `FLAG_SINCE`) must define exactly these names and bits
//!   for that version: a flag removed, renamed, re-valued or dated after the
//!   series fails.
//! - `functions.tsv`: `file, function, start line, end line, hash` of the
//!   functions the model can cite. Every rule (creation `RULES` and
//!   `LIFECYCLE_RULES`) that applies to the series must cite functions that
//!   exist in that file of that series.
//! - `rules.tsv`: per series, each applicable rule id with the file, function
//!   and line range it cites. The model and this table must agree both ways:
//!   a rule removed or renamed in the model, or its citation changed, fails
//!   until the table is regenerated (`FORKLORE_BLESS=1 cargo test -p
//!   forklore-model --test kernel_source`), and the regenerated table must
//!   still resolve against `functions.tsv`.

use forklore_model::flags::{flags_defined_in, FLAG_NAMES, FLAG_SINCE};
use forklore_model::lifecycle::LIFECYCLE_RULES;
use forklore_model::rules::ranges_contain;
use forklore_model::{KernelVersion, RuleInfo, VersionRange, RULES};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const SERIES: &[&str] = &["5.10", "6.1", "6.12", "7.2", "7.3"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/kernels")
}

fn read(series: &str, file: &str) -> String {
    let p = root().join(series).join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The upstream version of the series' linux-source package
/// (`5.10.262-1` -> 5.10.262, `7.3~rc7-1~exp1` -> 7.3.0).
fn version(series: &str) -> KernelVersion {
    let text = read(series, "VERSION");
    let line = text
        .lines()
        .find(|l| l.starts_with("linux-source-"))
        .expect("VERSION names linux-source");
    let v: KernelVersion = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(
        format!("{}.{}", v.major, v.minor),
        series,
        "VERSION of {series}"
    );
    v
}

/// `#define CLONE_X value` lines: (X, value); CLONE_ARGS_SIZE_* are sizes.
fn uapi_flags(series: &str) -> BTreeSet<(String, u64)> {
    read(series, "sched.h")
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == "#define").then_some(())?;
            let name = w.next()?.strip_prefix("CLONE_")?;
            if name.starts_with("ARGS_SIZE") {
                return None;
            }
            // `0x00000100`, `0x100000000ULL` or `(1ULL << 32)`.
            let expr: String = w.collect::<Vec<_>>().join(" ");
            let expr = expr.split("/*").next()?.trim();
            let v = if let Some(shift) = expr.strip_prefix("(1ULL << ") {
                1u64 << shift.trim_end_matches(')').trim().parse::<u32>().ok()?
            } else {
                let hex = expr.trim_end_matches("ULL").trim_end_matches('U');
                u64::from_str_radix(hex.strip_prefix("0x")?, 16).ok()?
            };
            Some((name.to_string(), v))
        })
        .collect()
}

type Functions = BTreeMap<(String, String), (u32, u32)>;

fn functions(series: &str) -> Functions {
    read(series, "functions.tsv")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "functions.tsv line {l:?}");
            (
                (f[0].to_string(), f[1].to_string()),
                (f[2].parse().unwrap(), f[3].parse().unwrap()),
            )
        })
        .collect()
}

/// The source files ci/kernel-fixtures.sh indexes; citations of other files
/// (security/, ipc/, syscall tables) are not checked.
fn indexed_files() -> BTreeSet<String> {
    std::fs::read_to_string(root().join("FILES"))
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// `kernel/cred.c: copy_creds -> kernel/user_namespace.c: create_user_ns`,
/// `kernel/exit.c: SYSCALL_DEFINE1(exit_group) / do_exit`,
/// `fs/exec.c: do_open_execat (path_noexec)` ... -> [(file, function, versions)].
/// A part without `file: ` names a function of the previous part's file;
/// ` (...)` remarks are dropped; a `[6.13+]`, `[-6.12]` or `[5.9-6.7]`
/// suffix limits the citation to those releases (the function was added,
/// renamed or moved). `pidfd_open` also matches `SYSCALL_DEFINEn(pidfd_open)`.
fn citations(function: &str) -> Vec<(String, String, Option<VersionRange>)> {
    let mut text = function.to_string();
    while let Some(i) = text.find(" (") {
        let Some(j) = text[i..].find(')') else { break };
        text.replace_range(i..i + j + 1, "");
    }
    let mut out = Vec::new();
    let mut file = String::new();
    for part in text.split(" -> ").flat_map(|p| p.split(" / ")) {
        let rest = match part.split_once(": ") {
            Some((f, r)) if f.contains('/') || f.ends_with(".c") || f.ends_with(".h") => {
                file = f.trim().to_string();
                r
            }
            _ => part,
        };
        let (rest, range) = match rest.split_once(" [") {
            Some((r, v)) => (r, Some(range_of(v.trim_end_matches(']')))),
            None => (rest, None),
        };
        let rest = rest.trim();
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let name = if ident.starts_with("SYSCALL_DEFINE") {
            rest[..rest.find(')').map_or(rest.len(), |i| i + 1)].to_string()
        } else {
            ident
        };
        if !file.is_empty() && !name.is_empty() {
            out.push((file.clone(), name, range));
        }
    }
    out
}

/// `6.13+`, `-6.12`, `5.9-6.7` (an upper bound covers the whole x.y series).
fn range_of(s: &str) -> VersionRange {
    let v = |t: &str| -> KernelVersion { t.parse().unwrap_or_else(|_| panic!("version {t:?}")) };
    let end = |t: &str| {
        let k = v(t);
        KernelVersion::new(k.major, k.minor, u32::MAX)
    };
    if let Some(a) = s.strip_suffix('+') {
        VersionRange {
            from: v(a),
            to: None,
        }
    } else if let Some(b) = s.strip_prefix('-') {
        VersionRange {
            from: KernelVersion::new(0, 0, 0),
            to: Some(end(b)),
        }
    } else {
        let (a, b) = s.split_once('-').unwrap_or_else(|| panic!("range {s:?}"));
        VersionRange {
            from: v(a),
            to: Some(end(b)),
        }
    }
}

/// Does `fns` define `name` in `file` (a syscall also by its bare name)?
fn lookup(fns: &Functions, file: &str, name: &str) -> Option<(u32, u32)> {
    if let Some(r) = fns.get(&(file.to_string(), name.to_string())) {
        return Some(*r);
    }
    (0..=6).find_map(|n| {
        fns.get(&(file.to_string(), format!("SYSCALL_DEFINE{n}({name})")))
            .copied()
    })
}

/// The citations of `r` that apply to `v` and name an indexed file.
fn cited_in(r: &RuleInfo, v: KernelVersion, files: &BTreeSet<String>) -> Vec<(String, String)> {
    citations(r.function)
        .into_iter()
        .filter(|(f, _, range)| files.contains(f) && range.map_or(true, |x| x.contains(v)))
        .map(|(f, n, _)| (f, n))
        .collect()
}

fn all_rules() -> impl Iterator<Item = &'static RuleInfo> {
    RULES.iter().chain(LIFECYCLE_RULES.iter())
}

/// One line per (rule, cited function) of the rules that apply to `v`:
/// `id<TAB>file<TAB>function<TAB>start<TAB>end`, in table order.
fn rule_lines(v: KernelVersion, fns: &Functions, files: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for r in all_rules().filter(|r| ranges_contain(r.versions, v)) {
        for (file, name) in cited_in(r, v, files) {
            let line = match lookup(fns, &file, &name) {
                Some((s, e)) => format!("{}\t{file}\t{name}\t{s}\t{e}", r.id),
                None => format!("{}\t{file}\t{name}\tMISSING\tMISSING", r.id),
            };
            if seen.insert(line.clone()) {
                out.push(line);
            }
        }
    }
    out
}

#[test]
fn every_series_has_fixtures() {
    for s in SERIES {
        let v = version(s);
        assert!(!uapi_flags(s).is_empty(), "{s}: no CLONE_ defines");
        assert!(
            functions(s).len() > 50,
            "{s} ({v}): too few functions indexed"
        );
    }
}

#[test]
fn flag_table_matches_each_series_uapi_header() {
    assert_eq!(FLAG_NAMES.len(), FLAG_SINCE.len());
    for ((n, _), (m, _)) in FLAG_NAMES.iter().zip(FLAG_SINCE) {
        assert_eq!(n, m, "FLAG_SINCE is in FLAG_NAMES order");
    }
    let mut problems = Vec::new();
    for s in SERIES {
        let v = version(s);
        let header = uapi_flags(s);
        let model: BTreeSet<(String, u64)> = flags_defined_in(v)
            .into_iter()
            .map(|(n, b)| (n.to_string(), b))
            .collect();
        for (n, b) in header.difference(&model) {
            problems.push(format!(
                "{s} ({v}): sched.h defines CLONE_{n} = {b:#x}; the model does not (for this version)"
            ));
        }
        for (n, b) in model.difference(&header) {
            problems.push(format!(
                "{s} ({v}): the model has CLONE_{n} = {b:#x}; sched.h does not"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_rule_cites_a_function_of_its_series() {
    let files = indexed_files();
    let mut checked = 0;
    let mut problems = Vec::new();
    for s in SERIES {
        let v = version(s);
        let fns = functions(s);
        for r in all_rules().filter(|r| ranges_contain(r.versions, v)) {
            assert!(
                !citations(r.function).is_empty(),
                "rule {}: no function in {:?}",
                r.id,
                r.function
            );
            for (file, name) in cited_in(r, v, &files) {
                checked += 1;
                if lookup(&fns, &file, &name).is_none() {
                    problems.push(format!(
                        "{s} ({v}): rule {} cites {file}: {name}, not in that series' source",
                        r.id
                    ));
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} citations checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn rules_table_matches_the_model() {
    let files = indexed_files();
    let bless = std::env::var_os("FORKLORE_BLESS").is_some();
    let mut problems = Vec::new();
    for s in SERIES {
        let v = version(s);
        let fns = functions(s);
        let want = rule_lines(v, &fns, &files);
        let path = root().join(s).join("rules.tsv");
        if bless {
            std::fs::write(&path, want.join("\n") + "\n").unwrap();
            continue;
        }
        let have: Vec<String> = read(s, "rules.tsv").lines().map(str::to_string).collect();
        let (hs, ws): (BTreeSet<_>, BTreeSet<_>) = (have.iter().collect(), want.iter().collect());
        for l in hs.difference(&ws) {
            problems.push(format!(
                "{s}: rules.tsv has {l:?}; the model no longer does"
            ));
        }
        for l in ws.difference(&hs) {
            problems.push(format!("{s}: the model has {l:?}; rules.tsv does not"));
        }
        for l in &have {
            if l.contains("MISSING") {
                problems.push(format!("{s}: {l:?}: cited function not in the source"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn citation_parser() {
    let names = |s: &str| -> Vec<(String, String)> {
        citations(s).into_iter().map(|(f, n, _)| (f, n)).collect()
    };
    assert_eq!(
        names("kernel/cred.c: copy_creds -> kernel/user_namespace.c: create_user_ns"),
        vec![
            ("kernel/cred.c".into(), "copy_creds".into()),
            ("kernel/user_namespace.c".into(), "create_user_ns".into())
        ]
    );
    assert_eq!(
        names("kernel/exit.c: SYSCALL_DEFINE1(exit_group) / do_exit"),
        vec![
            ("kernel/exit.c".into(), "SYSCALL_DEFINE1(exit_group)".into()),
            ("kernel/exit.c".into(), "do_exit".into())
        ]
    );
    assert_eq!(
        names("fs/exec.c: do_open_execat (path_noexec / ARCH -> x)"),
        vec![("fs/exec.c".into(), "do_open_execat".into())]
    );
    let c = citations("kernel/exit.c: kernel_waitid_prepare [6.7+] / kernel_waitid [-6.6]");
    assert_eq!(c.len(), 2);
    assert!(c[0].2.unwrap().contains("6.7.0".parse().unwrap()));
    assert!(!c[1].2.unwrap().contains("6.7.0".parse().unwrap()));
    assert!(c[1].2.unwrap().contains("6.6.300".parse().unwrap()));
}
