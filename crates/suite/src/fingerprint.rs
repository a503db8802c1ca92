//! `forklore fingerprint`: which kernel versions are consistent with what
//! this kernel does. Only the cases whose prediction changes with the
//! version are run: creation cases whose outcome differs between the
//! version ranges of the rule table (each distinct behaviour once or
//! twice), and the lifecycle scenarios that name a version-bounded rule.
//!
//! The versions are cut into *intervals* at every boundary of every rule's
//! ranges (and the argument-normalisation boundaries): inside one interval
//! the model predicts the same for every case, so no set of observations
//! can tell two versions of one interval apart, and a range built from
//! whole intervals is as narrow as the rules allow. For each case the
//! intervals whose prediction the observation matches are kept; per
//! version-bounded rule, the intervals consistent with every case it
//! decides; overall, the intersection. A claimed version (uname, or
//! `--kernel`) outside it is a mismatch: a distro kernel with backports,
//! a sandbox with a made-up release, or a model that is wrong.

use crate::catalogue::{self, Case};
use crate::report::Verdict;
use crate::verdict::compare;
use forklore_model::lifecycle::LIFECYCLE_RULES;
use forklore_model::{predict, Context, KernelVersion, Request, RuleInfo, VersionRange};
use forklore_probe::{run_batch, ContextSpec, ProbeCase, ProbeCommand};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// JSON schema identifier of the fingerprint report.
pub const SCHEMA: &str = "forklore-fingerprint/1";

/// The oldest version the model speaks about (every rule starts at 2.6 or
/// later): the first interval starts here.
pub const OLDEST: KernelVersion = KernelVersion::new(2, 6, 0);

/// How many cases of one behaviour (the same prediction in every interval)
/// are run: more only repeat the question.
pub const PER_BEHAVIOUR: usize = 2;

/// Contradicting cases listed in the text (the JSON has them all).
pub const CONTRADICTIONS_LISTED: usize = 12;

/// A patch number that stands for "every X.Y.z" in a range end (the
/// model's tables use 255 and u32::MAX).
fn ends_series(v: KernelVersion) -> bool {
    v.patch >= 255
}

/// The last X.Y of each major series (3.19, 4.20, 5.19, 6.19): after it
/// comes X+1.0.
fn last_minor(major: u32) -> u32 {
    match major {
        2 => 6,
        3 => 19,
        4 => 20,
        5 => 19,
        _ => 19,
    }
}

/// The first version after the inclusive end `v` of a range.
pub fn after(v: KernelVersion) -> KernelVersion {
    if ends_series(v) {
        if v.minor >= last_minor(v.major) {
            KernelVersion::new(v.major + 1, 0, 0)
        } else {
            KernelVersion::new(v.major, v.minor + 1, 0)
        }
    } else {
        KernelVersion::new(v.major, v.minor, v.patch + 1)
    }
}

/// The last version before `v` (X.Y.y = every patch of X.Y).
pub fn before(v: KernelVersion) -> KernelVersion {
    if v.patch > 0 {
        KernelVersion::new(v.major, v.minor, v.patch - 1)
    } else if v.minor > 0 {
        KernelVersion::new(v.major, v.minor - 1, u32::MAX)
    } else {
        KernelVersion::new(v.major - 1, last_minor(v.major - 1), u32::MAX)
    }
}

/// Where an interval starts, for every range: its start and the version
/// after its end.
pub fn boundaries<'a>(
    ranges: impl IntoIterator<Item = &'a VersionRange>,
) -> BTreeSet<KernelVersion> {
    let mut out = BTreeSet::new();
    for r in ranges {
        if r.from > OLDEST {
            out.insert(r.from);
        }
        if let Some(t) = r.to {
            let a = after(t);
            if a > OLDEST {
                out.insert(a);
            }
        }
    }
    out
}

/// A range that is not "every version the model knows": the rule's
/// presence depends on the kernel.
pub fn bounded(versions: &[VersionRange]) -> bool {
    !(versions.len() == 1 && versions[0].from <= OLDEST && versions[0].to.is_none())
}

/// Every version range of a creation rule id (all its rows).
fn creation_versions(id: &str) -> Vec<VersionRange> {
    forklore_model::rules::rule_versions(id)
}

/// The versions of a rule id, creation or lifecycle.
pub fn rule_ranges(id: &str) -> Vec<VersionRange> {
    match forklore_model::lifecycle::rule(id) {
        Some(r) => r.versions.to_vec(),
        None => creation_versions(id),
    }
}

/// The interval starts: [`OLDEST`] and every boundary of the creation
/// table, the argument normalisation and the lifecycle rules.
pub fn interval_starts() -> Vec<KernelVersion> {
    let mut pts = boundaries(
        forklore_model::RULES
            .iter()
            .flat_map(|r: &RuleInfo| r.versions),
    );
    pts.extend(boundaries(
        forklore_model::rules::LEGACY_CLONE_DROPS_HIGH_BITS,
    ));
    // sizeof(struct clone_args) grows in 5.5 and 5.7 (clone_args_ksize).
    for v in [KernelVersion::new(5, 5, 0), KernelVersion::new(5, 7, 0)] {
        pts.insert(v);
    }
    pts.extend(boundaries(LIFECYCLE_RULES.iter().flat_map(|r| r.versions)));
    pts.insert(OLDEST);
    pts.into_iter().filter(|v| *v >= OLDEST).collect()
}

/// The interval `v` lies in.
pub fn interval_of(starts: &[KernelVersion], v: KernelVersion) -> Option<usize> {
    starts.iter().rposition(|s| *s <= v)
}

/// Consecutive intervals in `set` as version ranges (the last interval is
/// open-ended).
pub fn ranges(starts: &[KernelVersion], set: &[bool]) -> Vec<VersionRange> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < set.len() {
        if !set[i] {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < set.len() && set[j + 1] {
            j += 1;
        }
        out.push(VersionRange {
            from: starts[i],
            to: starts.get(j + 1).map(|n| before(*n)),
        });
        i = j + 1;
    }
    out
}

fn fmt_version(v: KernelVersion) -> String {
    if v.patch == u32::MAX || (v.patch >= 255 && v.patch != 0) {
        format!("{}.{}.y", v.major, v.minor)
    } else if v.patch == 0 {
        format!("{}.{}", v.major, v.minor)
    } else {
        v.to_string()
    }
}

/// `5.3–5.10.174`, `6.2–6.2.6`, `6.15+`; a range within one X.Y that
/// covers all of it reads `6.14` (every 6.14.z).
pub fn fmt_range(r: &VersionRange) -> String {
    let zero = KernelVersion::new(0, 0, 0);
    match r.to {
        None if r.from == zero => "all".into(),
        Some(t) if r.from == zero => format!("≤{}", fmt_version(t)),
        None => format!("{}+", fmt_version(r.from)),
        Some(t)
            if r.from.patch == 0
                && ends_series(t)
                && (r.from.major, r.from.minor) == (t.major, t.minor) =>
        {
            format!("{}.{}.y", t.major, t.minor)
        }
        Some(t) => format!("{}–{}", fmt_version(r.from), fmt_version(t)),
    }
}

pub fn fmt_ranges(rs: &[VersionRange]) -> String {
    if rs.is_empty() {
        return "none".into();
    }
    rs.iter().map(fmt_range).collect::<Vec<_>>().join(", ")
}

/// One observation, judged in every interval: `consistent[i]` is whether
/// the kernel's answer matches the model's prediction for interval `i`
/// (`None`: the case told nothing, e.g. skipped or decided by the
/// environment).
#[derive(Clone, Debug, Serialize)]
pub struct Judged {
    pub id: String,
    /// The version-bounded rules whose presence decides this case.
    pub rules: Vec<String>,
    /// One line: what was observed.
    pub observed: String,
    #[serde(skip)]
    pub consistent: Vec<Option<bool>>,
}

/// A creation case judged in every interval (`starts`) against the
/// observation, with `ctx` as the probe detected it (its kernel replaced
/// by each interval's first version).
pub fn judge_creation(
    id: &str,
    req: &Request,
    ctx: &Context,
    obs: &forklore_probe::Observation,
    starts: &[KernelVersion],
) -> Judged {
    let mut rules = BTreeSet::new();
    let consistent = starts
        .iter()
        .map(|k| {
            let c = Context {
                kernel: *k,
                ..ctx.clone()
            };
            let p = predict(req, &c);
            if let Some(r) = p.rule {
                if bounded(&creation_versions(r.id)) {
                    rules.insert(r.id.to_string());
                }
            }
            match compare(req, &c, &p, obs).0 {
                Verdict::Pass => Some(true),
                Verdict::Fail => Some(false),
                _ => None,
            }
        })
        .collect();
    Judged {
        id: id.to_string(),
        rules: if rules.is_empty() {
            // Only the argument normalisation (struct size, high bits) moved.
            vec!["kargs".into()]
        } else {
            rules.into_iter().collect()
        },
        observed: crate::verdict::observed_summary(obs),
        consistent,
    }
}

/// The model's prediction for `req` in every interval, as one comparable
/// signature (outcome and deciding rule).
fn signature(req: &Request, ctx: &Context, starts: &[KernelVersion]) -> Vec<String> {
    starts
        .iter()
        .map(|k| {
            let c = Context {
                kernel: *k,
                ..ctx.clone()
            };
            let p = predict(req, &c);
            format!(
                "{}|{}",
                serde_json::to_string(&p.outcome).unwrap_or_default(),
                p.rule.map(|r| r.id).unwrap_or("")
            )
        })
        .collect()
}

/// The creation cases of the quick catalogue whose prediction changes
/// across the intervals, at most [`PER_BEHAVIOUR`] per distinct behaviour.
pub fn discriminating_cases(ctx: &Context, starts: &[KernelVersion]) -> Vec<Case> {
    let mut seen: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for c in catalogue::catalogue(true, ctx.task_size_max) {
        let sig = signature(c.request(), ctx, starts);
        if sig.iter().all(|s| *s == sig[0]) {
            continue;
        }
        let n = seen.entry(sig).or_default();
        if *n < PER_BEHAVIOUR {
            *n += 1;
            out.push(c);
        }
    }
    out
}

/// What one version-bounded rule says about the kernel.
#[derive(Clone, Debug, Serialize)]
pub struct RuleFinding {
    pub id: String,
    /// Where the model says the rule applies.
    pub versions: String,
    /// The versions consistent with every case this rule decides.
    pub consistent: Vec<String>,
    pub cases: usize,
    /// Whether the claimed version is among them.
    pub claimed_consistent: bool,
    /// Cases of this rule that contradict the claimed version.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contradicting: Vec<String>,
}

/// The fingerprint: per rule, overall, and the verdict on the claim.
#[derive(Clone, Debug, Serialize)]
pub struct Fingerprint {
    pub schema: &'static str,
    /// The version the environment claims (uname) or `--kernel` declared.
    pub claimed: String,
    pub claimed_source: String,
    pub context: String,
    pub duration_s: f64,
    /// Cases run: creation and lifecycle.
    pub creation_cases: usize,
    pub lifecycle_cases: usize,
    /// Cases that told nothing (skip, env, broken), with why.
    pub uninformative: Vec<String>,
    pub rules: Vec<RuleFinding>,
    /// Versions consistent with every observation (empty: none is).
    pub consistent: Vec<String>,
    /// When nothing is consistent with everything: the versions consistent
    /// with the most cases, and how many of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best: Option<Best>,
    pub claimed_consistent: bool,
    /// One sentence on the claim.
    pub verdict: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Every case with the versions it allows.
    pub cases: Vec<CaseFinding>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Best {
    pub versions: Vec<String>,
    pub agreeing: usize,
    pub of: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseFinding {
    pub id: String,
    pub rules: Vec<String>,
    pub observed: String,
    pub consistent: Vec<String>,
}

/// Intersect judged cases into the fingerprint (pure: no I/O).
pub fn intersect(
    starts: &[KernelVersion],
    judged: &[Judged],
    claimed: KernelVersion,
) -> (Vec<RuleFinding>, Vec<bool>, Option<Best>, Vec<CaseFinding>) {
    let n = starts.len();
    let claimed_at = interval_of(starts, claimed);
    let allows = |j: &Judged, i: usize| j.consistent.get(i).copied().flatten() != Some(false);
    let mut all = vec![true; n];
    for j in judged {
        for (i, a) in all.iter_mut().enumerate() {
            *a &= allows(j, i);
        }
    }
    let mut by_rule: BTreeMap<&str, Vec<&Judged>> = BTreeMap::new();
    for j in judged {
        for r in &j.rules {
            by_rule.entry(r.as_str()).or_default().push(j);
        }
    }
    let rules = by_rule
        .into_iter()
        .map(|(id, js)| {
            let set: Vec<bool> = (0..n).map(|i| js.iter().all(|j| allows(j, i))).collect();
            let contradicting = match claimed_at {
                Some(c) => js
                    .iter()
                    .filter(|j| !allows(j, c))
                    .map(|j| j.id.clone())
                    .collect(),
                None => Vec::new(),
            };
            RuleFinding {
                id: id.to_string(),
                versions: if id == "kargs" {
                    "clone3 struct size 64/80/88 (5.3/5.5/5.7); legacy clone high bits dropped (5.4.42, 5.6.14, 5.7+)".into()
                } else {
                    fmt_ranges(&rule_ranges(id))
                },
                consistent: ranges(starts, &set).iter().map(fmt_range).collect(),
                cases: js.len(),
                claimed_consistent: claimed_at.is_some_and(|c| set[c]),
                contradicting,
            }
        })
        .collect();
    let best = (!all.iter().any(|a| *a)).then(|| {
        let score: Vec<usize> = (0..n)
            .map(|i| judged.iter().filter(|j| allows(j, i)).count())
            .collect();
        let top = score.iter().copied().max().unwrap_or(0);
        let set: Vec<bool> = score.iter().map(|s| *s == top).collect();
        Best {
            versions: ranges(starts, &set).iter().map(fmt_range).collect(),
            agreeing: top,
            of: judged.len(),
        }
    });
    let cases = judged
        .iter()
        .map(|j| CaseFinding {
            id: j.id.clone(),
            rules: j.rules.clone(),
            observed: j.observed.clone(),
            consistent: ranges(starts, &(0..n).map(|i| allows(j, i)).collect::<Vec<_>>())
                .iter()
                .map(fmt_range)
                .collect(),
        })
        .collect();
    (rules, all, best, cases)
}

/// Options of one fingerprint run.
pub struct FingerprintOptions {
    pub probe: ProbeCommand,
    /// The probe context name (`root` or `user`) and its spec.
    pub context: String,
    pub spec: ContextSpec,
    /// The scenario process's uid (`None`: as is).
    pub scenario_uid: Option<u32>,
    pub host: Context,
    pub claimed: KernelVersion,
    pub claimed_source: String,
    pub batch_timeout: Duration,
    pub jobs: usize,
}

/// Lifecycle scenarios run at `kernel` (declared to the scenario process).
fn run_scenarios_at(
    opts: &FingerprintOptions,
    ids: &[&str],
    kernel: KernelVersion,
) -> Vec<forklore_scenarios::ScenarioResult> {
    let Ok(mut cmd) = forklore_scenarios::ScenarioCommand::current_exe() else {
        return Vec::new();
    };
    cmd.args
        .extend(["--kernel".to_string(), kernel.to_string()]);
    forklore_scenarios::run(&cmd, ids, opts.batch_timeout, opts.scenario_uid)
}

fn lifecycle_bounded(rule: Option<&str>) -> Vec<String> {
    rule.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|id| forklore_model::lifecycle::rule(id).is_some_and(|r| bounded(r.versions)))
        .map(str::to_string)
        .collect()
}

/// Run the fingerprint.
pub fn run(opts: &FingerprintOptions) -> Fingerprint {
    let start = Instant::now();
    let starts = interval_starts();
    let mut notes = Vec::new();
    let mut uninformative = Vec::new();
    let mut judged = Vec::new();

    // Creation cases: one probe batch, judged in every interval.
    let cases = discriminating_cases(&opts.host, &starts);
    let probe_cases: Vec<ProbeCase> = cases.iter().map(|c| c.probe.clone()).collect();
    let batch = run_batch(&opts.probe, &opts.spec, &probe_cases, opts.batch_timeout);
    let creation_cases;
    match &batch.context {
        Ok(ctx) => {
            creation_cases = batch.results.len();
            for (case, (_, obs)) in cases.iter().zip(&batch.results) {
                let j = judge_creation(case.id(), case.request(), ctx, obs, &starts);
                if j.consistent.iter().all(Option::is_none) {
                    uninformative.push(format!("{}: {}", j.id, j.observed));
                } else {
                    judged.push(j);
                }
            }
        }
        Err(why) => {
            creation_cases = 0;
            notes.push(format!(
                "creation cases not run: context {}: {why}",
                opts.context
            ));
        }
    }

    // Lifecycle: the scenarios that name a version-bounded rule at the
    // claimed version, run again at every boundary of the bounded rules
    // they name (until no new rule appears).
    let all: Vec<&'static str> = forklore_scenarios::catalogue()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let first = run_scenarios_at(opts, &all, opts.claimed);
    let mut selected: Vec<&str> = Vec::new();
    let mut rules_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &first {
        let b = lifecycle_bounded(r.rule.as_deref());
        if !b.is_empty() && matches!(r.verdict, Verdict::Pass | Verdict::Fail) {
            if let Some(id) = all.iter().find(|a| **a == r.id) {
                selected.push(id);
                rules_of.entry(r.id.clone()).or_default().extend(b);
            }
        }
    }
    let mut at: BTreeMap<KernelVersion, Vec<forklore_scenarios::ScenarioResult>> = BTreeMap::new();
    at.insert(opts.claimed, first);
    let mut points: BTreeSet<KernelVersion> = BTreeSet::new();
    points.insert(OLDEST);
    for _round in 0..4 {
        let named: BTreeSet<String> = rules_of.values().flatten().cloned().collect();
        let wanted: BTreeSet<KernelVersion> = boundaries(
            named
                .iter()
                .filter_map(|id| forklore_model::lifecycle::rule(id))
                .flat_map(|r| r.versions),
        );
        let new: Vec<KernelVersion> = wanted.difference(&points).copied().collect();
        if new.is_empty() && points.iter().all(|p| at.contains_key(p)) {
            break;
        }
        points.extend(new);
        let todo: Vec<KernelVersion> = points
            .iter()
            .copied()
            .filter(|p| !at.contains_key(p))
            .collect();
        // A few scenario processes at once (each is single-threaded;
        // threads here only spawn them).
        let jobs = opts.jobs.max(1);
        for chunk in todo.chunks(jobs) {
            let results: Vec<(KernelVersion, Vec<_>)> = std::thread::scope(|s| {
                let hs: Vec<_> = chunk
                    .iter()
                    .map(|k| (*k, s.spawn(|| run_scenarios_at(opts, &selected, *k))))
                    .collect();
                hs.into_iter()
                    .map(|(k, h)| (k, h.join().unwrap_or_default()))
                    .collect()
            });
            for (k, rs) in results {
                for r in &rs {
                    if rules_of.contains_key(&r.id) {
                        let b = lifecycle_bounded(r.rule.as_deref());
                        rules_of.entry(r.id.clone()).or_default().extend(b);
                    }
                }
                at.insert(k, rs);
            }
        }
    }
    // Each interval is judged by the run at the last lifecycle point at or
    // before its start (the scenarios' rules do not change in between).
    let lpoints: Vec<KernelVersion> = points.iter().copied().collect();
    for id in &selected {
        let verdict_at = |k: &KernelVersion| {
            at.get(k)
                .and_then(|rs| rs.iter().find(|r| r.id == *id))
                .map(|r| (r.verdict, r.reason.clone(), r.observed.clone()))
        };
        let consistent: Vec<Option<bool>> = starts
            .iter()
            .map(|s| {
                let p = lpoints.iter().rev().find(|p| *p <= s).unwrap_or(&OLDEST);
                match verdict_at(p).map(|v| v.0) {
                    Some(Verdict::Pass) => Some(true),
                    Some(Verdict::Fail) => Some(false),
                    _ => None,
                }
            })
            .collect();
        let observed = verdict_at(&opts.claimed)
            .map(|(_, _, o)| o.to_string())
            .unwrap_or_default();
        let j = Judged {
            id: id.to_string(),
            rules: rules_of
                .get(*id)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default(),
            observed,
            consistent,
        };
        if j.consistent.iter().all(Option::is_none) {
            uninformative.push(format!("{}: no verdict", j.id));
        } else {
            judged.push(j);
        }
    }

    let (rules, all, best, case_findings) = intersect(&starts, &judged, opts.claimed);
    let consistent: Vec<String> = ranges(&starts, &all).iter().map(fmt_range).collect();
    let claimed_consistent =
        interval_of(&starts, opts.claimed).is_some_and(|i| all.get(i) == Some(&true));
    let verdict = if judged.is_empty() {
        "no case told anything about the version".to_string()
    } else if consistent.is_empty() {
        format!(
            "no kernel version is consistent with every observation: not the behaviour of any one mainline or stable release the model knows (a sandbox imitating Linux, a kernel with distro patches, or a model error); closest: {} ({} of {} cases agree)",
            best.as_ref().map(|b| b.versions.join(", ")).unwrap_or_default(),
            best.as_ref().map_or(0, |b| b.agreeing),
            judged.len()
        )
    } else if claimed_consistent {
        format!(
            "the claimed {} is consistent with what was observed",
            opts.claimed
        )
    } else {
        format!(
            "MISMATCH: the claimed {} is not in the consistent range {}: backported or missing changes (a distro kernel), or a kernel that reports another release",
            opts.claimed,
            consistent.join(", ")
        )
    };
    Fingerprint {
        schema: SCHEMA,
        claimed: opts.claimed.to_string(),
        claimed_source: opts.claimed_source.clone(),
        context: opts.context.clone(),
        duration_s: start.elapsed().as_secs_f64(),
        creation_cases,
        lifecycle_cases: selected.len(),
        uninformative,
        rules,
        consistent,
        best,
        claimed_consistent,
        verdict,
        notes,
        cases: case_findings,
    }
}

impl Fingerprint {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "forklore fingerprint: claimed Linux {} ({}), context {}",
            self.claimed, self.claimed_source, self.context
        );
        let _ = writeln!(
            o,
            "  {} creation cases and {} lifecycle scenarios that discriminate versions, in {:.1}s",
            self.creation_cases, self.lifecycle_cases, self.duration_s
        );
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<30} {:>5}  {:<34} consistent with what was observed",
            "rule", "cases", "model versions"
        );
        for r in &self.rules {
            // A long list of model ranges gets a line of its own.
            let versions = if r.versions.chars().count() > 34 {
                let _ = writeln!(o, "{:<30} {:>5}  {}", r.id, r.cases, r.versions);
                String::new()
            } else {
                r.versions.clone()
            };
            let _ = writeln!(
                o,
                "{:<30} {:>5}  {:<34} {}{}",
                if versions.is_empty() {
                    ""
                } else {
                    r.id.as_str()
                },
                if versions.is_empty() {
                    String::new()
                } else {
                    r.cases.to_string()
                },
                versions,
                if r.consistent.is_empty() {
                    "none".to_string()
                } else {
                    r.consistent.join(", ")
                },
                if r.claimed_consistent {
                    ""
                } else {
                    "   <- excludes the claimed version"
                }
            );
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "consistent kernel versions: {}",
            if self.consistent.is_empty() {
                "none".to_string()
            } else {
                self.consistent.join(", ")
            }
        );
        if let Some(b) = &self.best {
            let _ = writeln!(
                o,
                "closest: {} ({} of {} cases agree)",
                b.versions.join(", "),
                b.agreeing,
                b.of
            );
        }
        let _ = writeln!(o, "{}", self.verdict);
        // Each contradicting case once, with the rules it bears on; the
        // first few (the JSON has them all).
        let mut contra: Vec<(&str, Vec<&str>)> = Vec::new();
        for r in &self.rules {
            for id in &r.contradicting {
                match contra.iter_mut().find(|(c, _)| *c == id.as_str()) {
                    Some((_, rules)) => rules.push(&r.id),
                    None => contra.push((id, vec![&r.id])),
                }
            }
        }
        // One case of each set of rules first: variety before repetition.
        let mut firsts = Vec::new();
        let mut rest = Vec::new();
        for c in contra {
            if firsts.iter().any(|(_, r): &(&str, Vec<&str>)| *r == c.1) {
                rest.push(c);
            } else {
                firsts.push(c);
            }
        }
        firsts.extend(rest);
        let contra = firsts;
        if !contra.is_empty() {
            let _ = writeln!(
                o,
                "\nwhat contradicts the claimed {} ({} cases):",
                self.claimed,
                contra.len()
            );
            for (id, rules) in contra.iter().take(CONTRADICTIONS_LISTED) {
                let seen = self
                    .cases
                    .iter()
                    .find(|c| c.id == *id)
                    .map(|c| c.observed.as_str())
                    .unwrap_or("");
                let _ = writeln!(o, "  {id} ({}): observed {seen}", rules.join(", "));
            }
            if contra.len() > CONTRADICTIONS_LISTED {
                let _ = writeln!(
                    o,
                    "  ... {} more (see --json)",
                    contra.len() - CONTRADICTIONS_LISTED
                );
            }
        }
        for n in &self.notes {
            let _ = writeln!(o, "note: {n}");
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forklore_model::flags::*;
    use forklore_model::{Caps, Errno};
    use forklore_probe::{CaseOutcome, Observation};

    fn kv(a: u32, b: u32, c: u32) -> KernelVersion {
        KernelVersion::new(a, b, c)
    }

    #[test]
    fn neighbours_and_formatting() {
        assert_eq!(after(kv(5, 17, 255)), kv(5, 18, 0));
        assert_eq!(after(kv(5, 19, u32::MAX)), kv(6, 0, 0));
        assert_eq!(after(kv(6, 1, 19)), kv(6, 1, 20));
        assert_eq!(before(kv(6, 0, 0)), kv(5, 19, u32::MAX));
        assert_eq!(before(kv(6, 9, 0)), kv(6, 8, u32::MAX));
        assert_eq!(before(kv(6, 1, 20)), kv(6, 1, 19));
        let starts = [
            kv(2, 6, 0),
            kv(5, 3, 0),
            kv(6, 1, 20),
            kv(6, 2, 0),
            kv(6, 9, 0),
        ];
        let r = ranges(&starts, &[false, true, false, true, true]);
        assert_eq!(fmt_ranges(&r), "5.3–6.1.19, 6.2+");
        let r = ranges(&starts, &[true, false, false, false, false]);
        assert_eq!(fmt_ranges(&r), "2.6–5.2.y");
        assert_eq!(fmt_ranges(&ranges(&starts, &[false; 5])), "none");
        assert_eq!(interval_of(&starts, kv(6, 1, 5)), Some(1));
        assert_eq!(interval_of(&starts, kv(6, 18, 44)), Some(4));
        assert_eq!(interval_of(&starts, kv(2, 4, 0)), None);
    }

    fn root(k: KernelVersion) -> Context {
        Context::root(k, Caps::all())
    }

    fn ok() -> Observation {
        Observation {
            outcome: CaseOutcome::Success,
            ..Default::default()
        }
    }

    fn err(e: Errno) -> Observation {
        Observation {
            outcome: CaseOutcome::Error,
            ret: Some(-1),
            errno: Some(e),
            ..Default::default()
        }
    }

    /// What mainline Linux 6.1.0 does, written down from the kernel's
    /// history, not from the model: clone3 exists (5.3); CLONE_NEWTIME in
    /// clone3 flags is EINVAL (until a402f1e35313: 6.3, stable 6.1.20);
    /// CLONE_PIDFD with CLONE_THREAD is EINVAL (until 6.9); the 7.1 flag
    /// CLONE_AUTOREAP is unknown (EINVAL); clone3 with CLEAR_SIGHAND works
    /// (5.5). The fingerprint of these facts must contain 6.1.0 and
    /// exclude 5.2, 6.3, 6.9 and 6.18: if a rule's version range in the
    /// table moves, one of these fails.
    fn facts_of_6_1() -> Vec<(&'static str, Request, Observation)> {
        vec![
            ("clone3-plain", Request::clone3(0, 17), ok()),
            (
                "clone3-newtime",
                Request::clone3(CLONE_NEWTIME, 17),
                err(Errno::EINVAL),
            ),
            (
                "clone3-pidfd-thread",
                Request::clone3(CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0),
                err(Errno::EINVAL),
            ),
            (
                "clone3-autoreap",
                Request::clone3(CLONE_AUTOREAP, 17),
                err(Errno::EINVAL),
            ),
            (
                "clone3-clear-sighand",
                Request::clone3(CLONE_CLEAR_SIGHAND, 17),
                ok(),
            ),
        ]
    }

    fn fingerprint_of(
        facts: &[(&str, Request, Observation)],
        claimed: KernelVersion,
    ) -> (Vec<RuleFinding>, Vec<bool>, Vec<KernelVersion>) {
        let starts = interval_starts();
        let ctx = root(claimed);
        let judged: Vec<Judged> = facts
            .iter()
            .map(|(id, req, obs)| judge_creation(id, req, &ctx, obs, &starts))
            .collect();
        let (rules, all, _, _) = intersect(&starts, &judged, claimed);
        (rules, all, starts)
    }

    #[test]
    fn synthetic_6_1_is_bracketed_narrowly() {
        let (rules, all, starts) = fingerprint_of(&facts_of_6_1(), kv(6, 1, 0));
        let inside = |v| interval_of(&starts, v).is_some_and(|i| all[i]);
        assert!(
            inside(kv(6, 1, 0)),
            "{}",
            fmt_ranges(&ranges(&starts, &all))
        );
        for out in [
            kv(5, 2, 0),
            kv(6, 1, 20),
            kv(6, 3, 0),
            kv(6, 9, 0),
            kv(6, 18, 44),
            kv(7, 1, 0),
        ] {
            assert!(
                !inside(out),
                "{out} in {}",
                fmt_ranges(&ranges(&starts, &all))
            );
        }
        // The stable trees that still lack a402f1e35313 stay in: the
        // range is exactly what C2 and the other rules allow.
        assert!(inside(kv(5, 10, 100)) && inside(kv(5, 15, 102)));
        assert!(!inside(kv(5, 10, 175)));
        // Per rule: C2 names where the NEWTIME check is.
        let c2 = rules
            .iter()
            .find(|r| r.id == "C2")
            .expect("C2 decides NEWTIME");
        assert!(c2.claimed_consistent && c2.contradicting.is_empty());
        assert!(
            c2.consistent.iter().any(|r| r.starts_with("5.16–6.1.19")),
            "{:?}",
            c2.consistent
        );
    }

    #[test]
    fn a_mismatch_names_the_rule_and_the_case() {
        // The 6.1 facts, claimed as 6.18 (uname lying, or a backport).
        let (rules, all, starts) = fingerprint_of(&facts_of_6_1(), kv(6, 18, 0));
        let at = interval_of(&starts, kv(6, 18, 0)).unwrap();
        assert!(!all[at]);
        let against: Vec<&RuleFinding> = rules.iter().filter(|r| !r.claimed_consistent).collect();
        assert!(!against.is_empty());
        assert!(against
            .iter()
            .any(|r| r.contradicting.contains(&"clone3-newtime".to_string())));
        // gVisor-like: clone3 is ENOSYS, so only before 5.3.
        let facts = vec![("clone3-plain", Request::clone3(0, 17), err(Errno::ENOSYS))];
        let (_, all, starts) = fingerprint_of(&facts, kv(4, 4, 0));
        assert_eq!(fmt_ranges(&ranges(&starts, &all)), "2.6–5.2.y");
    }

    #[test]
    fn contradictory_observations_give_the_closest_versions() {
        let starts = interval_starts();
        let ctx = root(kv(6, 18, 0));
        let mut j: Vec<Judged> = facts_of_6_1()
            .iter()
            .map(|(id, r, o)| judge_creation(id, r, &ctx, o, &starts))
            .collect();
        // And clone3 ENOSYS at the same time: no kernel does both.
        j.push(judge_creation(
            "nosys",
            &Request::clone3(0, 17),
            &ctx,
            &err(Errno::ENOSYS),
            &starts,
        ));
        let (_, all, best, _) = intersect(&starts, &j, kv(6, 18, 0));
        assert!(!all.iter().any(|a| *a));
        let b = best.unwrap();
        assert_eq!((b.agreeing, b.of), (5, 6));
    }

    #[test]
    fn every_interval_behaves_as_one_version() {
        // Within an interval the model must not change its mind: check the
        // first and last version of each for a set of requests.
        let starts = interval_starts();
        let reqs: Vec<Request> = facts_of_6_1().into_iter().map(|f| f.1).collect();
        for w in starts.windows(2) {
            let last = before(w[1]);
            let last = if last.patch == u32::MAX {
                KernelVersion::new(last.major, last.minor, 254)
            } else {
                last
            };
            for r in &reqs {
                assert_eq!(
                    signature(r, &root(w[0]), &[w[0]]),
                    signature(r, &root(last), &[last]),
                    "{w:?}"
                );
            }
        }
    }
}
