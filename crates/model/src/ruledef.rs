//! How the lifecycle rule tables (lifecycle, session, ptrace, kthread,
//! execveat) write a version range and a row: one set of helpers and one
//! `rule!` instead of a copy per table.

use crate::lifecycle::Expect;
use crate::prediction::VersionRange;
use crate::version::KernelVersion;

pub(crate) const fn kv(major: u32, minor: u32, patch: u32) -> KernelVersion {
    KernelVersion::new(major, minor, patch)
}

/// From `v` on.
pub(crate) const fn from(v: KernelVersion) -> VersionRange {
    VersionRange { from: v, to: None }
}

/// From `a` to `b`, both included.
pub(crate) const fn span(a: KernelVersion, b: KernelVersion) -> VersionRange {
    VersionRange {
        from: a,
        to: Some(b),
    }
}

/// Patch number meaning "every point release of this x.y series" (5.10.y is past 255).
pub(crate) const Y: u32 = u32::MAX;

/// Every version the model knows (2.6 on).
pub(crate) const ALWAYS: &[VersionRange] = &[from(kv(2, 6, 0))];

/// The expectation `value`, decided by rule `rule`.
pub(crate) const fn by<T>(rule: &'static str, value: T) -> Expect<T> {
    Expect { value, rule }
}

/// One row ([`crate::prediction::RuleInfo`]) for every architecture:
/// `rule!(id, function, errno, reason, source)` applies to every version;
/// `rule!(id, function, errno, reason, source, versions, uncertain)`.
macro_rules! rule {
    ($id:expr, $f:expr, $errno:expr, $reason:expr, $source:expr) => {
        rule!(
            $id,
            $f,
            $errno,
            $reason,
            $source,
            $crate::ruledef::ALWAYS,
            None
        )
    };
    ($id:expr, $f:expr, $errno:expr, $reason:expr, $source:expr, $versions:expr, $unc:expr) => {
        $crate::prediction::RuleInfo {
            id: $id,
            function: $f,
            errno: $errno,
            reason: $reason,
            source: $source,
            versions: $versions,
            uncertain: $unc,
            arches: $crate::ALL_ARCHES,
        }
    };
}
