//! Rendering the rule set for one kernel version (for the CLI).

use super::{Effect, Kind, TABLE};
use crate::prediction::VersionRange;
use crate::version::KernelVersion;
use std::fmt::Write as _;

/// Every version range in which some row with this id applies, in table
/// order (a check that changed form has several rows with one id).
pub fn rule_versions(id: &str) -> Vec<VersionRange> {
    TABLE
        .iter()
        .filter(|r| r.id == id)
        .flat_map(|r| r.versions.iter().copied())
        .collect()
}

fn fmt_version(v: KernelVersion) -> String {
    if v == KernelVersion::new(0, 0, 0) {
        "always".to_string()
    } else if v.patch == u32::MAX {
        format!("{}.{}.y", v.major, v.minor)
    } else if v.patch == 0 {
        format!("{}.{}", v.major, v.minor)
    } else {
        v.to_string()
    }
}

/// Human form of a list of ranges: `5.3–5.10.174, 5.11–6.1.19, 6.3+`.
pub fn fmt_ranges(ranges: &[VersionRange]) -> String {
    ranges
        .iter()
        .map(|r| match r.to {
            None if r.from == KernelVersion::new(0, 0, 0) => "all".to_string(),
            None => format!("{}+", fmt_version(r.from)),
            Some(t) if r.from == KernelVersion::new(0, 0, 0) => format!("≤{}", fmt_version(t)),
            Some(t) => format!("{}–{}", fmt_version(r.from), fmt_version(t)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rule set of kernel `v` as a text table, in kernel order: id, errno,
/// function, the versions the row applies to, and the reason. Rows the model
/// cannot evaluate from a Context are marked `env`; uncertain rows `?`.
pub fn render_rules(v: KernelVersion) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Rules of Linux {v} (kernel order; env = environment-dependent, ? = uncertain)"
    );
    for r in TABLE.iter().filter(|r| r.applies_to_version(v)) {
        let errno = match r.effect {
            Effect::Fail(e) => e.to_string(),
            Effect::Environment(_) => "env".to_string(),
        };
        let mark = match (r.kind, r.uncertain.is_some()) {
            (Kind::Environment, true) => "env?",
            (Kind::Environment, false) => "env",
            (Kind::Deterministic, true) => "?",
            (Kind::Deterministic, false) => "",
        };
        let _ = writeln!(
            out,
            "{:<13} {:<15} {:<4} {:<52} [{}] {}",
            r.id,
            errno,
            mark,
            r.function,
            fmt_ranges(r.versions),
            r.reason
        );
        if let Some(u) = r.uncertain {
            let _ = writeln!(out, "{:<13} uncertain: {u}", "");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_version() {
        let text = render_rules("6.8".parse().unwrap());
        assert!(text.contains("E8'"));
        assert!(text.contains("5.2–6.8.y"), "{text}");
        let text = render_rules("6.9".parse().unwrap());
        assert!(!text.lines().any(|l| l.starts_with("E8' ")));
    }

    #[test]
    fn versions_of_an_id_collect_all_rows() {
        let c2 = rule_versions("C2");
        assert_eq!(c2.len(), 9);
        assert_eq!(fmt_ranges(&rule_versions("E16")[..1]), "≤5.13.y");
        assert_eq!(fmt_ranges(&rule_versions("D1")), "5.9+");
    }
}
