//! The machine a report was measured on.

use serde::{Deserialize, Serialize};
use std::fs;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// `uname -r` (`/proc/sys/kernel/osrelease`, else uname(2)).
    pub kernel: String,
    /// `/proc/version`.
    pub kernel_build: String,
    pub cpu_model: String,
    /// CPUs online (`/sys/devices/system/cpu/online`).
    pub cpus_online: usize,
    /// CPUs this process may run on.
    pub cpus_allowed: usize,
    /// `--pin`: parent and children on this one CPU.
    pub pinned_cpu: Option<usize>,
    /// `/sys/kernel/mm/transparent_hugepage/enabled`, the bracketed choice.
    pub thp_system: String,
    /// What the RSS ballast asked for: `nohugepage` (default) or `hugepage`.
    pub thp_ballast: String,
    /// The CPU reports the `hypervisor` flag.
    pub virtualized: bool,
    /// DMI vendor/product when known (e.g. "QEMU", "Amazon EC2").
    pub hypervisor: Option<String>,
    /// `/sys/devices/system/clocksource/clocksource0/current_clocksource`.
    pub clocksource: String,
}

fn read_trim(path: &str) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Count CPUs in a list like `0-3,8,10-11`.
pub fn count_cpu_list(list: &str) -> usize {
    list.trim()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|r| match r.split_once('-') {
            Some((a, b)) => match (a.parse::<usize>(), b.parse::<usize>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            },
            None => usize::from(r.parse::<usize>().is_ok()),
        })
        .sum()
}

/// The bracketed word of a sysfs choice file: `always [madvise] never`.
pub fn bracketed(s: &str) -> Option<String> {
    let a = s.find('[')?;
    let b = s[a..].find(']')?;
    Some(s[a + 1..a + b].to_string())
}

impl Environment {
    pub fn capture(pinned_cpu: Option<usize>, cpus_allowed: usize, thp: bool) -> Environment {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            cpuinfo.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == name).then(|| v.trim().to_string())
            })
        };
        let virtualized =
            field("flags").is_some_and(|f| f.split_whitespace().any(|w| w == "hypervisor"));
        let hypervisor = [
            "/sys/class/dmi/id/sys_vendor",
            "/sys/class/dmi/id/product_name",
            "/sys/hypervisor/type",
        ]
        .iter()
        .filter_map(|p| read_trim(p))
        .next();
        Environment {
            // A sandbox may have no /proc/sys (gVisor): ask uname(2).
            kernel: read_trim("/proc/sys/kernel/osrelease")
                .or_else(|| {
                    nix::sys::utsname::uname()
                        .ok()
                        .map(|u| u.release().to_string_lossy().into_owned())
                })
                .unwrap_or_else(|| "unknown".into()),
            kernel_build: read_trim("/proc/version").unwrap_or_default(),
            cpu_model: field("model name").unwrap_or_else(|| "unknown".into()),
            cpus_online: read_trim("/sys/devices/system/cpu/online")
                .map_or(0, |s| count_cpu_list(&s)),
            cpus_allowed,
            pinned_cpu,
            thp_system: read_trim("/sys/kernel/mm/transparent_hugepage/enabled")
                .and_then(|s| bracketed(&s))
                .unwrap_or_else(|| "unknown".into()),
            thp_ballast: if thp { "hugepage" } else { "nohugepage" }.into(),
            virtualized,
            hypervisor,
            clocksource: read_trim(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .unwrap_or_else(|| "unknown".into()),
        }
    }

    /// One line: `Linux 6.18.44 · AMD EPYC · 2 CPUs · VM · pinned to CPU 0 · THP madvise (ballast nohugepage)`.
    pub fn summary(&self) -> String {
        let vm = if self.virtualized {
            match &self.hypervisor {
                Some(h) => format!("VM ({h})"),
                None => "VM".to_string(),
            }
        } else {
            "bare metal".to_string()
        };
        let pin = match self.pinned_cpu {
            Some(c) => format!("pinned to CPU {c}"),
            None => "not pinned".to_string(),
        };
        format!(
            "Linux {} | {} | {} CPUs online, {} allowed | {} | {} | THP {} (ballast {}) | clock {}",
            self.kernel,
            self.cpu_model,
            self.cpus_online,
            self.cpus_allowed,
            vm,
            pin,
            self.thp_system,
            self.thp_ballast,
            self.clocksource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpu_list("0-1"), 2);
        assert_eq!(count_cpu_list("0-3,8,10-11\n"), 7);
        assert_eq!(count_cpu_list("0"), 1);
        assert_eq!(count_cpu_list(""), 0);
    }

    #[test]
    fn thp_choice() {
        assert_eq!(
            bracketed("always [madvise] never").as_deref(),
            Some("madvise")
        );
        assert_eq!(bracketed("never"), None);
    }

    #[test]
    fn capture_reads_this_machine() {
        let e = Environment::capture(Some(0), 1, false);
        assert!(!e.kernel.is_empty() && e.cpus_online >= 1);
        assert!(e.summary().contains("pinned to CPU 0"));
    }
}
