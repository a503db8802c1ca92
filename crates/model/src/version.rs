//! Kernel versions (`x.y.z`), parsed from `uname -r` style strings.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A kernel release, compared numerically (`6.9 < 6.18`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KernelVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl KernelVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        KernelVersion {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed kernel version {0:?}: expected X.Y or X.Y.Z (e.g. 6.18 or 5.10.1)")]
pub struct VersionParseError(pub String);

impl FromStr for KernelVersion {
    type Err = VersionParseError;

    /// Accepts `6.18`, `6.18.44` and `uname -r` strings such as
    /// `6.18.44-fc-v669` or `6.1.0-28-amd64` (the suffix after the numeric
    /// part is ignored). Anything else is an error, never a default.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || VersionParseError(s.to_string());
        let t = s.trim();
        // The numeric part ends at the first character that is not a digit or '.'.
        let end = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, rest) = t.split_at(end);
        if !rest.is_empty() && !rest.starts_with(['-', '+', '_', '~']) {
            return Err(err());
        }
        let parts: Vec<&str> = num.split('.').collect();
        if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(err());
        }
        let n = |p: &str| p.parse::<u32>().map_err(|_| err());
        Ok(KernelVersion {
            major: n(parts[0])?,
            minor: n(parts[1])?,
            patch: if parts.len() == 3 { n(parts[2])? } else { 0 },
        })
    }
}

impl KernelVersion {
    /// The running kernel from `/proc/sys/kernel/osrelease` and
    /// `/proc/sys/kernel/version` (what `uname -r` and `uname -v` print).
    ///
    /// Debian's release string is the package ABI name, whose third number
    /// is always 0 (`6.1.0-28-amd64` is really 6.1.119); the upstream point
    /// release is only in the version string
    /// (`#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)`). Rows keyed
    /// on stable backports (for example C2 in 6.1.20+) need the real number,
    /// so a `Debian X.Y.Z` token with the same X.Y and a patch level not
    /// below the release string's wins. Every other kernel is read from
    /// `osrelease` alone.
    pub fn from_uname(osrelease: &str, version: &str) -> Result<Self, VersionParseError> {
        let rel: KernelVersion = osrelease.parse()?;
        let mut words = version.split_whitespace();
        while let Some(w) = words.next() {
            if w != "Debian" {
                continue;
            }
            if let Some(Ok(v)) = words.next().map(str::parse::<KernelVersion>) {
                if (v.major, v.minor) == (rel.major, rel.minor) && v.patch >= rel.patch {
                    return Ok(v);
                }
            }
        }
        Ok(rel)
    }

    /// Ubuntu's kernels say `6.8.0-45-generic` in `uname -r`, too; the
    /// upstream version is the last word of `/proc/version_signature`
    /// (`Ubuntu 6.8.0-45.45-generic 6.8.12`). Taken when its X.Y matches
    /// `current` and it is not older; otherwise `current` stands.
    pub fn with_ubuntu_signature(current: KernelVersion, signature: &str) -> KernelVersion {
        match signature
            .split_whitespace()
            .last()
            .map(str::parse::<KernelVersion>)
        {
            Some(Ok(v))
                if signature.starts_with("Ubuntu")
                    && (v.major, v.minor) == (current.major, current.minor)
                    && v.patch >= current.patch =>
            {
                v
            }
            _ => current,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ubuntu_signature_names_the_upstream_release() {
        let rel = KernelVersion::new(6, 8, 0);
        let sig = "Ubuntu 6.8.0-45.45-generic 6.8.12";
        assert_eq!(
            KernelVersion::with_ubuntu_signature(rel, sig),
            KernelVersion::new(6, 8, 12)
        );
        // Another series, or not Ubuntu's format: the release stands.
        assert_eq!(
            KernelVersion::with_ubuntu_signature(rel, "Ubuntu 6.5.0-1.1-generic 6.5.3"),
            rel
        );
        assert_eq!(
            KernelVersion::with_ubuntu_signature(rel, "something 6.8.12"),
            rel
        );
        assert_eq!(KernelVersion::with_ubuntu_signature(rel, ""), rel);
    }

    #[test]
    fn parses_uname_forms() {
        assert_eq!(
            "6.18".parse::<KernelVersion>().unwrap(),
            KernelVersion::new(6, 18, 0)
        );
        assert_eq!(
            "6.18.44-fc-v669".parse::<KernelVersion>().unwrap(),
            KernelVersion::new(6, 18, 44)
        );
        assert_eq!(
            "6.1.0-28-amd64".parse::<KernelVersion>().unwrap(),
            KernelVersion::new(6, 1, 0)
        );
        assert!(KernelVersion::new(6, 9, 0) < KernelVersion::new(6, 18, 0));
    }

    #[test]
    fn debian_abi_name_uses_the_version_string() {
        // Strings as Debian bookworm's kernels report them.
        let v = KernelVersion::from_uname(
            "6.1.0-56-amd64\n",
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)\n",
        );
        assert_eq!(v, Ok(KernelVersion::new(6, 1, 192)));
        let v = KernelVersion::from_uname(
            "6.12.117+deb12-amd64",
            "#1 SMP PREEMPT_DYNAMIC Debian 6.12.117-1~deb12u1 (2026-11-14)",
        );
        assert_eq!(v, Ok(KernelVersion::new(6, 12, 117)));
        // Not Debian, or a token that does not match the release: osrelease.
        let v = KernelVersion::from_uname("6.18.44-fc-v669", "#1 SMP PREEMPT_DYNAMIC @0");
        assert_eq!(v, Ok(KernelVersion::new(6, 18, 44)));
        let v = KernelVersion::from_uname("6.1.0-56-amd64", "#1 SMP Debian 5.10.200-1 (x)");
        assert_eq!(v, Ok(KernelVersion::new(6, 1, 0)));
        let v = KernelVersion::from_uname("6.1.0-56-amd64", "#1 SMP Debian");
        assert_eq!(v, Ok(KernelVersion::new(6, 1, 0)));
        assert!(KernelVersion::from_uname("garbage", "Debian 6.1.192-2").is_err());
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "6", "6.", "x.y", "6.18.1.2", "6..1", "6.18abc", "v6.18"] {
            assert!(bad.parse::<KernelVersion>().is_err(), "{bad:?} accepted");
        }
    }
}
