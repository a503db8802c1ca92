//! The limits the suite itself runs under (RLIMIT_NOFILE, RLIMIT_NPROC,
//! RLIMIT_AS, the pids and memory cgroups), read from /proc and cgroupfs,
//! so that a shortage of the suite's *own* descriptors, processes, threads
//! or memory is reported as the environment ("the suite ran out of file
//! descriptors (RLIMIT_NOFILE 16, 12 open)"), never as kernel behaviour.
//!
//! Only the suite's auxiliary operations (its pipes, helper forks, threads,
//! the scenario and probe processes) are classified with this. A creation
//! case whose measured clone returns EAGAIN is an observation, judged by
//! the model's rules.

use std::path::PathBuf;

/// Free descriptors the suite wants below RLIMIT_NOFILE before a case; a
/// would-be mismatch seen with less is not judged (see [`tight`]).
pub const FD_HEADROOM: u64 = 32;
/// Free task slots (RLIMIT_NPROC for a non-root uid, pids.max) the suite
/// wants before a case.
pub const TASK_HEADROOM: u64 = 32;

/// A soft limit from /proc/self/limits (`"Max open files"`, `"Max
/// processes"`, `"Max address space"`): `Some(None)` = unlimited, `None` =
/// unreadable.
pub fn soft_limit(name: &str) -> Option<Option<u64>> {
    let s = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_soft_limit(&s, name)
}

fn parse_soft_limit(limits: &str, name: &str) -> Option<Option<u64>> {
    let l = limits.lines().find(|l| l.starts_with(name))?;
    let soft = l[name.len()..].split_whitespace().next()?;
    if soft == "unlimited" {
        return Some(None);
    }
    soft.parse().ok().map(Some)
}

/// Descriptors open in this process.
pub fn open_fd_count() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

/// A cgroup knob of this process's cgroup for `controller` (v1 hierarchy
/// named after it, else the v2 unified one), or of its nearest ancestor
/// that sets one: (cgroup path, limit, current usage).
fn cgroup_limit(
    controller: &str,
    max_file: &str,
    current_file: &str,
) -> Option<(String, u64, u64)> {
    let cg = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut tried = Vec::new();
    for line in cg.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let base: PathBuf = if ctrls.split(',').any(|c| c == controller) {
            crate::mounts()
                .into_iter()
                .find(|m| m.fstype == "cgroup" && m.mount_point.ends_with(controller))?
                .mount_point
        } else if ctrls.is_empty() {
            crate::cgroup2_mount()?
        } else {
            continue;
        };
        tried.push((base, path.to_string()));
    }
    for (base, path) in tried {
        // This cgroup first, then each ancestor up to the root.
        let mut p = path.trim_end_matches('/').to_string();
        loop {
            let dir = base.join(p.trim_start_matches('/'));
            let max = std::fs::read_to_string(dir.join(max_file)).ok();
            if let Some(max) = max.as_deref().and_then(|m| m.trim().parse::<u64>().ok()) {
                let cur = std::fs::read_to_string(dir.join(current_file))
                    .ok()
                    .and_then(|c| c.trim().parse().ok())
                    .unwrap_or(0);
                return Some((if p.is_empty() { "/".into() } else { p }, max, cur));
            }
            match p.rfind('/') {
                Some(i) => p.truncate(i),
                None => break,
            }
            if p.is_empty() {
                // The root cgroup has no limit files; stop after it.
                let dir = base.clone();
                if std::fs::read_to_string(dir.join(max_file)).is_err() {
                    break;
                }
            }
        }
    }
    None
}

/// (cgroup, pids.max, pids.current) of the tightest pids limit above us.
pub fn pids_limit() -> Option<(String, u64, u64)> {
    cgroup_limit("pids", "pids.max", "pids.current")
}

/// (cgroup, limit in bytes, usage) of the memory cgroup (v2 memory.max or
/// v1 memory.limit_in_bytes), when one is set.
pub fn memory_limit() -> Option<(String, u64, u64)> {
    cgroup_limit("memory", "memory.max", "memory.current")
        .or_else(|| cgroup_limit("memory", "memory.limit_in_bytes", "memory.usage_in_bytes"))
        // v1 reports "no limit" as a huge number.
        .filter(|(_, max, _)| *max < (1 << 60))
}

fn real_uid() -> u32 {
    crate::self_uids().0
}

/// "the suite ran out of file descriptors (RLIMIT_NOFILE 16, 12 open)".
pub fn fd_shortage() -> String {
    let lim = match soft_limit("Max open files") {
        Some(Some(n)) => n.to_string(),
        Some(None) => "unlimited".into(),
        None => "unknown".into(),
    };
    format!(
        "the suite ran out of file descriptors (RLIMIT_NOFILE {lim}, {} open)",
        open_fd_count()
    )
}

/// What limits task creation for this process, in words: RLIMIT_NPROC
/// (which the kernel does not apply to uid 0) and the pids cgroup.
pub fn task_limits() -> String {
    let mut parts = Vec::new();
    let uid = real_uid();
    if let Some(Some(n)) = soft_limit("Max processes") {
        if uid != 0 {
            parts.push(format!(
                "RLIMIT_NPROC {n} for uid {uid} ({} tasks of that uid running)",
                crate::tasks_of_ruid(uid)
            ));
        }
    }
    if let Some((cg, max, cur)) = pids_limit() {
        parts.push(format!("pids.max {max} in cgroup {cg} ({cur} in use)"));
    }
    if parts.is_empty() {
        "no RLIMIT_NPROC or pids cgroup limit found (kernel.threads-max or pid_max?)".into()
    } else {
        parts.join(", ")
    }
}

/// What limits memory for this process, in words.
pub fn memory_limits() -> String {
    let mut parts = Vec::new();
    if let Some(Some(n)) = soft_limit("Max address space") {
        parts.push(format!("RLIMIT_AS {n}"));
    }
    if let Some((cg, max, cur)) = memory_limit() {
        parts.push(format!("memory limit {max} in cgroup {cg} ({cur} in use)"));
    }
    if parts.is_empty() {
        "no RLIMIT_AS or memory cgroup limit found".into()
    } else {
        parts.join(", ")
    }
}

/// Classify an errno from one of the suite's own auxiliary operations
/// (`what`: "fork", "create a pipe", "start a thread"...): a shortage of a
/// resource the suite needs, in words, or `None` if `errno` is not one.
pub fn shortage(errno: i32, what: &str) -> Option<String> {
    use forklore_model::Errno;
    match Errno(errno) {
        Errno::EMFILE => Some(format!("{} (could not {what}: EMFILE)", fd_shortage())),
        Errno::ENFILE => Some(format!(
            "the system ran out of file descriptors (could not {what}: ENFILE)"
        )),
        Errno::EAGAIN => Some(format!(
            "the suite could not {what} (EAGAIN): {}",
            task_limits()
        )),
        Errno::ENOMEM => Some(format!(
            "the suite ran out of memory (could not {what}: ENOMEM): {}",
            memory_limits()
        )),
        _ => None,
    }
}

/// Whether the suite is short of headroom right now: fewer than
/// [`FD_HEADROOM`] free descriptors, or fewer than [`TASK_HEADROOM`] free
/// task slots. A mismatch observed in that state may be the suite's own
/// shortage, so it is reported as the environment with this reason.
pub fn tight() -> Option<String> {
    if let Some(Some(n)) = soft_limit("Max open files") {
        let open = open_fd_count();
        if n.saturating_sub(open) < FD_HEADROOM {
            return Some(format!(
                "the suite is short of file descriptors (RLIMIT_NOFILE {n}, {open} open; it wants {FD_HEADROOM} free)"
            ));
        }
    }
    let uid = real_uid();
    if uid != 0 {
        if let Some(Some(n)) = soft_limit("Max processes") {
            let used = crate::tasks_of_ruid(uid);
            if n.saturating_sub(used) < TASK_HEADROOM {
                return Some(format!(
                    "the suite is short of processes (RLIMIT_NPROC {n} for uid {uid}, {used} in use; it wants {TASK_HEADROOM} free)"
                ));
            }
        }
    }
    pids_tight()
}

/// The pids-cgroup part of [`tight`]: fewer than [`TASK_HEADROOM`] free
/// slots under the tightest pids.max above this process. Unlike
/// RLIMIT_NPROC (which the `nproc-1` context sets on purpose, for the
/// model to judge), a pids limit is the environment's, shared with the
/// suite's own processes.
pub fn pids_tight() -> Option<String> {
    let (cg, max, cur) = pids_limit()?;
    (max.saturating_sub(cur) < TASK_HEADROOM).then(|| {
        format!(
            "the suite is short of processes (pids.max {max} in cgroup {cg}, {cur} in use; it wants {TASK_HEADROOM} free)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_limits_parse() {
        let s = "Limit                     Soft Limit           Hard Limit           Units\n\
                 Max processes             5                    63704                processes\n\
                 Max open files            16                   16                   files\n\
                 Max address space         unlimited            unlimited            bytes\n";
        assert_eq!(parse_soft_limit(s, "Max open files"), Some(Some(16)));
        assert_eq!(parse_soft_limit(s, "Max processes"), Some(Some(5)));
        assert_eq!(parse_soft_limit(s, "Max address space"), Some(None));
        assert_eq!(parse_soft_limit(s, "Max locked memory"), None);
    }

    #[test]
    fn shortages_are_named() {
        assert!(shortage(24, "create a pipe")
            .unwrap()
            .starts_with("the suite ran out of file descriptors (RLIMIT_NOFILE "));
        assert!(shortage(11, "fork")
            .unwrap()
            .starts_with("the suite could not fork (EAGAIN): "));
        assert!(shortage(12, "map memory").unwrap().contains("ENOMEM"));
        assert!(shortage(23, "open").unwrap().contains("ENFILE"));
        // Not a shortage: EINVAL, EPERM, EBADF.
        assert_eq!(shortage(22, "fork"), None);
        assert_eq!(shortage(1, "fork"), None);
        assert_eq!(shortage(9, "dup2"), None);
    }

    #[test]
    fn this_process_limits_are_readable() {
        assert!(soft_limit("Max open files").is_some());
        assert!(open_fd_count() >= 3);
    }
}
