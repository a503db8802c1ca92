//! forklore-observe: /proc readers and host-context detection.
//!
//! Everything here reads files; nothing changes the system. The probe calls
//! [`detect_context`] after arranging a context, so the model is given what
//! the kernel will actually see; `forklore explain` uses
//! [`detect_host_context`] for its defaults.

#![forbid(unsafe_code)]

pub mod limits;

use forklore_model::{cap, Arch, Caps, Context, KernelVersion, Nproc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// TASK_SIZE_MAX with 4-level paging (`(1 << 47) - PAGE_SIZE`).
pub const TASK_SIZE_MAX_4LEVEL: u64 = 0x7fff_ffff_f000;
/// TASK_SIZE_MAX with 5-level paging (LA57).
pub const TASK_SIZE_MAX_5LEVEL: u64 = (1 << 56) - 4096;

/// The architecture forklore was built for, which is the running
/// kernel's (a 64-bit static binary of one architecture): the default of
/// the model's `Context::arch`.
pub const fn host_arch() -> Arch {
    #[cfg(target_arch = "x86_64")]
    {
        Arch::X86_64
    }
    #[cfg(target_arch = "aarch64")]
    {
        Arch::Aarch64
    }
}

/// TASK_SIZE_MAX of the running kernel: x86_64 from the paging mode
/// (LA57 or not); arm64 measured (`forklore_sys::process::access_ok_limit`),
/// else the usual VA_BITS = 48.
pub fn task_size_max() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if la57() {
            TASK_SIZE_MAX_5LEVEL
        } else {
            TASK_SIZE_MAX_4LEVEL
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        forklore_sys::process::access_ok_limit().unwrap_or(Arch::Aarch64.default_task_size_max())
    }
}

/// What /proc/<pid>/status and /proc/<pid>/stat say about one task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcInfo {
    /// `State:` letter (`R`, `S`, `Z`...).
    pub state: String,
    pub pid: i32,
    pub tgid: i32,
    pub ppid: i32,
    pub threads: u64,
    /// `NSpid:` outermost first (the procfs mount's namespace first).
    pub nspid: Vec<i32>,
    /// stat field 38.
    pub exit_signal: Option<i32>,
    /// `TracerPid:` (0: not traced; left out of JSON then).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tracer_pid: i32,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

/// This process's `TracerPid:` (0: not traced).
pub fn self_tracer_pid() -> i32 {
    status_field("self", "TracerPid")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Read /proc/<pid>/{status,stat}. Works for thread ids too.
pub fn proc_info(pid: i32) -> Result<ProcInfo, String> {
    proc_info_in(Path::new("/proc"), pid)
}

/// As [`proc_info`] with procfs mounted at `root`.
pub fn proc_info_in(root: &Path, pid: i32) -> Result<ProcInfo, String> {
    let p = procfs::process::Process::new_with_root(root.join(pid.to_string()))
        .map_err(|e| format!("/proc/{pid}: {e}"))?;
    let st = p.status().map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let stat = p.stat().map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    Ok(ProcInfo {
        state: st
            .state
            .chars()
            .next()
            .map(String::from)
            .unwrap_or_default(),
        pid: st.pid,
        tgid: st.tgid,
        ppid: st.ppid,
        threads: st.threads,
        nspid: st.nspid.unwrap_or_default(),
        exit_signal: stat.exit_signal,
        tracer_pid: st.tracerpid,
    })
}

/// /proc/self/fdinfo/<fd> of a pidfd.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidfdInfo {
    /// `Pid:` (-1 once the process is reaped; absent if not a pidfd).
    pub pid: Option<i32>,
    /// `NSpid:`.
    pub nspid: Vec<i32>,
    /// `flags:` (octal in the file), including O_EXCL = PIDFD_THREAD.
    pub flags: u32,
}

/// `O_EXCL`, which the kernel uses as `PIDFD_THREAD`.
pub const PIDFD_THREAD: u32 = 0o200;

pub fn pidfd_info(fd: i32) -> Result<PidfdInfo, String> {
    let path = format!("/proc/self/fdinfo/{fd}");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = PidfdInfo::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k {
            "Pid" => out.pid = v.parse().ok(),
            "NSpid" => {
                out.nspid = v
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            }
            "flags" => out.flags = u32::from_str_radix(v, 8).unwrap_or(0),
            _ => {}
        }
    }
    Ok(out)
}

/// Open descriptors of this process (from /proc/self/fd).
pub fn open_fds() -> Vec<i32> {
    let mut v: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// Names of facilities `FORKLORE_SIMULATE_MISSING` (a comma-separated
/// list, for tests only) makes the detection report missing, e.g.
/// `subreaper,proc-sys-kernel` (`uname` as well makes the kernel version
/// unknown).
pub const SIMULATE_ENV: &str = "FORKLORE_SIMULATE_MISSING";

/// `facility` is listed in [`SIMULATE_ENV`].
pub fn simulated_missing(facility: &str) -> bool {
    std::env::var(SIMULATE_ENV)
        .map(|v| v.split(',').any(|f| f.trim() == facility))
        .unwrap_or(false)
}

/// The running kernel's release as far as it can be told, and how
/// far it can be trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelInfo {
    /// `None`: no release string could be parsed.
    pub version: Option<KernelVersion>,
    /// Why the version is not simply `/proc/sys/kernel/osrelease`'s (read
    /// from uname(2) only, or unknown); `None` when it is.
    pub note: Option<String>,
}

fn read_proc_sys_kernel(name: &str) -> Result<String, String> {
    let path = format!("/proc/sys/kernel/{name}");
    if simulated_missing("proc-sys-kernel") {
        return Err(format!("{path}: absent (simulated by {SIMULATE_ENV})"));
    }
    std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))
}

/// The running kernel: `/proc/sys/kernel/osrelease` (with Debian's real
/// point release from `/proc/sys/kernel/version` and Ubuntu's from
/// `/proc/version_signature`); when /proc/sys is not there, uname(2), said
/// so in the note (a sandbox reports whatever release it likes, and
/// nothing can cross-check it). Never a silent 0.0.0.
pub fn kernel_info() -> KernelInfo {
    let (rel, ver, source_note) = match read_proc_sys_kernel("osrelease") {
        Ok(rel) => (
            rel,
            read_proc_sys_kernel("version").unwrap_or_default(),
            None,
        ),
        Err(why) => {
            let u = if simulated_missing("uname") {
                Err(nix::errno::Errno::ENOSYS)
            } else {
                nix::sys::utsname::uname()
            };
            let (rel, ver) = match &u {
                Ok(u) => (
                    u.release().to_string_lossy().into_owned(),
                    u.version().to_string_lossy().into_owned(),
                ),
                Err(e) => {
                    return KernelInfo {
                        version: None,
                        note: Some(format!("unknown: {why}, and uname(2) failed: {e}")),
                    }
                }
            };
            let note = format!(
                "from uname(2) only ({why}): nothing can cross-check it, and a sandbox may \
                 report any release; declare one with --kernel"
            );
            (rel, ver, Some(note))
        }
    };
    match KernelVersion::from_uname(&rel, &ver) {
        Ok(v) => {
            // Ubuntu: the upstream release is in /proc/version_signature.
            let v = match std::fs::read_to_string("/proc/version_signature") {
                Ok(sig) => KernelVersion::with_ubuntu_signature(v, &sig),
                Err(_) => v,
            };
            KernelInfo {
                version: Some(v),
                note: source_note,
            }
        }
        Err(_) => KernelInfo {
            version: None,
            note: Some(format!(
                "unknown: the release {:?} is not X.Y[.Z]{}",
                rel.trim(),
                if source_note.is_some() {
                    " (from uname(2))"
                } else {
                    ""
                }
            )),
        },
    }
}

/// The running kernel's version, when it can be told (see [`kernel_info`]).
pub fn kernel_version() -> Option<KernelVersion> {
    kernel_info().version
}

/// Facilities of the environment that reading files can tell are missing
/// (the probe adds what only a system call can tell: the child subreaper,
/// pidfd_open). Each is `(name, reason)`.
pub fn missing_facilities() -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Err(why) = read_proc_sys_kernel("pid_max") {
        out.push((
            "proc-sys-kernel".to_string(),
            format!("{why}: pid_max taken as 32768"),
        ));
    }
    let sim = |f: &str| simulated_missing(f).then(|| format!("simulated by {SIMULATE_ENV}"));
    if let Some(why) = sim("proc-stat").or_else(|| {
        self_stat_field(38)
            .is_none()
            .then(|| "/proc/self/stat has no field 38 (exit_signal)".to_string())
    }) {
        out.push(("proc-stat".to_string(), why));
    }
    if let Some(why) = sim("proc-ns").or_else(|| {
        ns_id("pid")
            .is_none()
            .then(|| "/proc/self/ns/pid cannot be read: namespace identities are unknown".into())
    }) {
        out.push(("proc-ns".to_string(), why));
    }
    out
}

/// The value of a `Name:` line of /proc/<pid>/status, trimmed (`pid` may
/// be `"self"` or a thread id).
pub fn status_field(pid: &str, name: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|l| {
        l.strip_prefix(name)?
            .strip_prefix(':')
            .map(|v| v.trim().to_string())
    })
}

fn self_status_field(name: &str) -> Option<String> {
    status_field("self", name)
}

/// Effective capabilities (`CapEff:`).
pub fn effective_caps() -> Caps {
    Caps(
        self_status_field("CapEff")
            .and_then(|v| u64::from_str_radix(&v, 16).ok())
            .unwrap_or(0),
    )
}

/// `NSpid:` of this process, outermost first.
pub fn self_nspid() -> Vec<i32> {
    self_status_field("NSpid")
        .map(|v| {
            v.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Real, effective uid (`Uid:` first two fields).
pub fn self_uids() -> (u32, u32) {
    let v: Vec<u32> = self_status_field("Uid")
        .map(|v| {
            v.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    (
        v.first().copied().unwrap_or(u32::MAX),
        v.get(1).copied().unwrap_or(u32::MAX),
    )
}

/// The seccomp mode (`Seccomp:`): 0 off, 1 strict, 2 filter.
pub fn seccomp_mode() -> u32 {
    self_status_field("Seccomp")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Field `n` (numbered as in proc(5), 3 = state) of /proc/<pid>/stat;
/// None when the file is gone or `n` < 3 (pid and comm are not fields
/// this reads: comm may hold spaces).
pub fn stat_field(pid: &str, n: usize) -> Option<String> {
    // Skip past the comm's ')'.
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.get(s.rfind(')')? + 2..)?;
    rest.split_whitespace()
        .nth(n.checked_sub(3)?)
        .map(str::to_string)
}

fn self_stat_field(n: usize) -> Option<String> {
    stat_field("self", n)
}

/// The direct children of this process, of all its threads
/// (/proc/self/task/*/children).
pub fn self_children() -> Vec<i32> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc/self/task") {
        for t in rd.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                v.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    v
}

/// This process's exit_signal (stat field 38).
pub fn leader_exit_signal() -> i64 {
    self_stat_field(38)
        .and_then(|v| v.parse().ok())
        .unwrap_or(17)
}

/// Scheduling policy (stat field 41); 6 = SCHED_DEADLINE.
pub fn sched_policy() -> u32 {
    self_stat_field(41)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `pid_max` as this process's pid namespace sees it (32768, the
/// kernel's default, when /proc/sys cannot tell: [`missing_facilities`]
/// says so).
pub fn pid_max() -> u32 {
    read_proc_sys_kernel("pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(32768)
}

/// `user.max_user_namespaces` in this process's user namespace.
pub fn max_user_namespaces() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// 5-level paging in use: the CPU has LA57 and the kernel was not told
/// `no5lvl`.
pub fn la57() -> bool {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let has = cpu
        .lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|l| l.split_whitespace().any(|f| f == "la57"));
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    has && !cmdline.split_whitespace().any(|w| w == "no5lvl")
}

/// A mount of a given filesystem type, from /proc/self/mountinfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_point: PathBuf,
    pub root: String,
    pub fstype: String,
    pub super_options: String,
}

pub fn mounts() -> Vec<MountEntry> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            Some(MountEntry {
                root: unescape(f.get(3)?),
                mount_point: PathBuf::from(unescape(f.get(4)?)),
                fstype: r.first()?.to_string(),
                super_options: r.get(2).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

fn unescape(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where the cgroup2 hierarchy is mounted (e.g. /sys/fs/cgroup/unified).
pub fn cgroup2_mount() -> Option<PathBuf> {
    mounts()
        .into_iter()
        .find(|m| m.fstype == "cgroup2")
        .map(|m| m.mount_point)
}

/// A cgroup v1 hierarchy's mount point, if any.
pub fn cgroup_v1_mount() -> Option<PathBuf> {
    mounts()
        .into_iter()
        .find(|m| m.fstype == "cgroup")
        .map(|m| m.mount_point)
}

/// This process's cgroup2 path (`0::/path` in /proc/self/cgroup).
pub fn self_cgroup2_path() -> Option<String> {
    let s = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("0::").map(str::to_string))
}

/// No mount is visible at `/`: the process root is below its mount
/// namespace's root (mountinfo omits mounts outside the root).
pub fn chrooted_heuristic() -> bool {
    let m = mounts();
    !m.is_empty() && !m.iter().any(|e| e.mount_point == Path::new("/"))
}

/// `/proc/self/uid_map` is the identity map of the initial user namespace.
pub fn in_initial_userns() -> bool {
    let s = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let f: Vec<&str> = s.split_whitespace().collect();
    f == ["0", "0", "4294967295"]
}

/// Map `uid` of this process's user namespace to the parent namespace
/// through /proc/self/uid_map.
pub fn map_uid_outward(uid: u32) -> Option<u32> {
    let s = std::fs::read_to_string("/proc/self/uid_map").ok()?;
    for l in s.lines() {
        let f: Vec<u64> = l
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if let [inside, outside, count] = f[..] {
            if (uid as u64) >= inside && (uid as u64) < inside + count {
                return Some((outside + uid as u64 - inside) as u32);
            }
        }
    }
    None
}

/// Tasks (threads, zombies included) whose real uid is `uid` as this
/// process sees uids, over every visible pid.
pub fn tasks_of_ruid(uid: u32) -> u64 {
    let Ok(all) = procfs::process::all_processes() else {
        return 0;
    };
    all.filter_map(|p| p.ok())
        .filter_map(|p| p.status().ok())
        .filter(|s| s.ruid == uid)
        .map(|s| s.threads.max(1))
        .sum()
}

/// Every uid any visible process uses (real, effective, saved, fs).
pub fn uids_in_use() -> std::collections::HashSet<u32> {
    let Ok(all) = procfs::process::all_processes() else {
        return Default::default();
    };
    all.filter_map(|p| p.ok())
        .filter_map(|p| p.status().ok())
        .flat_map(|s| [s.ruid, s.euid, s.suid, s.fuid])
        .collect()
}

/// Processes whose parent is `pid`, with their state letter (from /proc/*/stat).
pub fn children_of(pid: i32) -> Vec<(i32, char)> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    all.filter_map(|p| p.ok())
        .filter_map(|p| p.stat().ok())
        .filter(|s| s.ppid == pid)
        .map(|s| (s.pid, s.state))
        .collect()
}

/// Ids listed in an /etc/passwd- or /etc/group-style file (third field).
pub fn ids_in_file(path: &str) -> std::collections::HashSet<u32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(':').nth(2)?.parse().ok())
        .collect()
}

/// `readlink /proc/self/ns/<name>`.
pub fn ns_id(name: &str) -> Option<String> {
    std::fs::read_link(format!("/proc/self/ns/{name}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// `PROC_PID_INIT_INO` (include/linux/proc_ns.h): the initial pid
/// namespace's fixed inode number, as `/proc/*/ns/pid` names it.
const INIT_PIDNS_LINK: &str = "pid:[4026531836]";

/// Whether the pid namespaces above the caller's can be known: set_tid
/// names a pid per level and alloc_pid (kernel/pid.c) judges each against
/// that level's `pid_max` and the caller's depth. From inside a nested pid
/// namespace neither can be read: NSpid in /proc/self/status starts at
/// the namespace /proc was mounted from (a container's own /proc hides the
/// levels above), and /proc/sys/kernel/pid_max is the reader's own
/// namespace's since 6.14 (7863dcc72d0f). Known when the caller is in the
/// initial pid namespace; `Err` says what was seen.
pub fn outer_pid_levels_known() -> Result<(), String> {
    if simulated_missing("pidns-outer") {
        return Err(format!(
            "the pid namespaces above the caller's are hidden (simulated by {SIMULATE_ENV})"
        ));
    }
    let own = ns_id("pid");
    if own.as_deref() == Some(INIT_PIDNS_LINK) {
        return Ok(());
    }
    Err(format!(
        "the caller's pid namespace ({}) is not Linux's initial one ({INIT_PIDNS_LINK}; NSpid \
         shows {} level(s)): the depth and pid_max of any levels above it cannot be read from \
         inside",
        own.unwrap_or_else(|| "/proc/self/ns/pid unreadable".into()),
        self_nspid().len()
    ))
}

/// Whether /proc is the caller's own pid namespace's: `/proc/self` names
/// the pid getpid() returns. In a pid namespace without a proc of its own
/// (`unshare -fp` without `--mount-proc`) every /proc observation is of
/// another namespace's view, and comparing them with the model would blame
/// the kernel for the setup. No /proc at all, or an unreadable or
/// non-numeric `/proc/self`, is not this problem (other checks report it).
pub fn proc_is_own_pid_namespace() -> Result<(), String> {
    let me = std::process::id();
    let seen = if simulated_missing("proc-pidns") {
        Some(me.wrapping_add(1))
    } else {
        std::fs::read_link("/proc/self")
            .ok()
            .and_then(|p| p.to_str()?.parse::<u32>().ok())
    };
    match seen {
        Some(pid) if pid != me => Err(format!(
            "/proc belongs to another pid namespace (/proc/self is pid {pid}, getpid() is {me}): \
             nothing it shows can be compared with the model; mount a proc for this namespace \
             (unshare -fp --mount-proc, or mount -t proc proc /proc inside it)"
        )),
        _ => Ok(()),
    }
}

/// Whether /proc shows the initial pid namespace's kernel threads:
/// kthreadd at pid 2 with PF_KTHREAD in its flags (kernel/kthread.c
/// kthreadd; include/linux/sched.h PF_KTHREAD). Not from inside a nested
/// pid namespace with its own /proc (pid 2 is a user process or absent
/// there) nor in a sandbox that has no kernel threads; `Err` says what was
/// seen.
pub fn kernel_threads_visible() -> Result<(), String> {
    if simulated_missing("kthreads") {
        return Err(format!(
            "no kernel threads are visible in /proc (simulated by {SIMULATE_ENV})"
        ));
    }
    let nspid = self_nspid();
    if nspid.len() > 1 {
        return Err(format!(
            "in a nested pid namespace (NSpid {nspid:?}): no kernel threads are visible"
        ));
    }
    let flags: Option<u64> = stat_field("2", 9).and_then(|f| f.parse().ok());
    match flags {
        Some(f) if f & forklore_model::kthread::PF_KTHREAD != 0 => Ok(()),
        Some(_) => Err(
            "/proc shows pid 2 as a user process, not kthreadd (a pid namespace with its own \
             /proc): no kernel threads are visible"
                .into(),
        ),
        None => Err(
            "/proc shows no pid 2 (a pid namespace or a sandbox): no kernel threads are visible"
                .into(),
        ),
    }
}

/// The CPUs this thread may run on (its `sched_getaffinity` mask), in
/// order; empty if the mask cannot be read.
pub fn allowed_cpus() -> Vec<usize> {
    let Ok(set) = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) else {
        return Vec::new();
    };
    (0..nix::sched::CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect()
}

/// Facts the probe knows from arranging the context, which /proc cannot
/// tell from inside (e.g. how deep a nested user namespace is).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextHints {
    /// Depth of the caller's user namespace when known.
    pub userns_level: Option<u32>,
    /// Whether the real kuid is 0, when known (it does not change with
    /// unshare(CLONE_NEWUSER)).
    pub ruid_is_global_root: Option<bool>,
    /// `pid_ns_for_children` cannot take tasks any more.
    pub pidns_dead: Option<bool>,
    /// After unshare(CLONE_NEWPID): the namespace's init (first child) is alive.
    pub unshared_pidns_has_init: Option<bool>,
    /// The probe chrooted itself.
    pub chrooted: Option<bool>,
    /// Tasks charged to the caller's uid, when counted before a privilege change.
    pub nproc_count: Option<u64>,
    /// Number of pid-namespace levels below the caller's user namespace
    /// owner (those levels grant set_tid to a caller with CAP_SYS_ADMIN in
    /// its own user namespace). `None`: every level is owned by an ancestor
    /// user namespace unless the caller is in the initial one.
    pub pidns_levels_owned: Option<u32>,
    /// The RLIMIT_NPROC soft limit when /proc is unreliable.
    pub nproc_limit: Option<u64>,
    /// Level of the caller's active pid namespace when /proc (remounted
    /// inside it) cannot tell.
    pub active_pidns_level: Option<u32>,
}

/// RLIMIT_NPROC soft limit (`Max processes` in /proc/self/limits); `None` = unlimited.
pub fn nproc_limit() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/limits").ok()?;
    let l = s.lines().find(|l| l.starts_with("Max processes"))?;
    let soft = l["Max processes".len()..].split_whitespace().next()?;
    soft.parse().ok()
}

/// The model's `Context` for this process as it is now.
pub fn detect_context(h: &ContextHints) -> Context {
    let info = kernel_info();
    // Unknown stays visibly unknown: the note says so, and the runner
    // refuses to predict without a declared --kernel.
    let kernel = info.version.unwrap_or(KernelVersion::new(0, 0, 0));
    let caps = effective_caps();
    let initial = in_initial_userns();
    let userns_level = h.userns_level.unwrap_or(if initial { 0 } else { 1 });
    let (ruid, _euid) = self_uids();
    let ruid_is_global_root = h.ruid_is_global_root.unwrap_or(if userns_level == 0 {
        ruid == 0
    } else if userns_level == 1 {
        map_uid_outward(ruid) == Some(0)
    } else {
        false
    });
    let nspid = self_nspid();
    let is_pidns_init = nspid.last() == Some(&1) || std::process::id() == 1;
    let differs = match (ns_id("pid"), ns_id("pid_for_children")) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    };
    let active_level = h
        .active_pidns_level
        .unwrap_or(nspid.len().saturating_sub(1) as u32);
    let pidns_level = active_level + differs as u32;
    let timens_differs = match (ns_id("time"), ns_id("time_for_children")) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    };
    let limit = h.nproc_limit.or_else(nproc_limit);
    let nproc = limit.map(|limit| Nproc {
        limit,
        count: h.nproc_count.unwrap_or_else(|| tasks_of_ruid(ruid)),
    });
    let set_tid_cap = caps.has(cap::CAP_SYS_ADMIN) || caps.has(cap::CAP_CHECKPOINT_RESTORE);
    let owned = h
        .pidns_levels_owned
        .unwrap_or(if userns_level == 0 { u32::MAX } else { 0 });
    // Innermost first: index 0 is pid_ns_for_children (level pidns_level).
    let set_tid_capable = (0..=pidns_level)
        .map(|i| set_tid_cap && i < owned)
        .collect();
    let mut ctx = Context {
        arch: host_arch(),
        kernel,
        kernel_note: info.note,
        missing: Vec::new(),
        caps,
        userns_level,
        ruid_is_global_root,
        is_pidns_init,
        pidns_for_children_differs: differs,
        unshared_pidns_has_init: differs && h.unshared_pidns_has_init.unwrap_or(false),
        pidns_level,
        pidns_dead: h.pidns_dead.unwrap_or(false),
        timens_for_children_differs: timens_differs,
        chrooted: h.chrooted.unwrap_or_else(chrooted_heuristic),
        nproc,
        userns_limit_reached: max_user_namespaces() == Some(0),
        sched_deadline_no_reset: sched_policy() == 6,
        cgroup2: cgroup2_mount().is_some(),
        // Measured by the probe for the directories its cases target.
        cgroup_write: Default::default(),
        seccomp_filter: seccomp_mode() == 2,
        leader_exit_signal: leader_exit_signal(),
        caller_autoreap: false,
        caller_traced: self_tracer_pid() != 0,
        task_size_max: task_size_max(),
        pid_max: pid_max(),
        set_tid_capable,
    };
    for (f, why) in missing_facilities() {
        ctx.add_missing(&f, why);
    }
    ctx
}

/// Processes in process group `pgid`, with their state letter (from
/// /proc/*/stat): how the probe and the scenarios find what they created
/// when they cannot be a child subreaper.
pub fn group_members(pgid: i32) -> Vec<(i32, char)> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    all.filter_map(|p| p.ok())
        .filter_map(|p| p.stat().ok())
        .filter(|s| s.pgrp == pgid)
        .map(|s| (s.pid, s.state))
        .collect()
}

/// The context of the calling process, for `forklore explain` defaults.
pub fn detect_host_context() -> Context {
    detect_context(&ContextHints::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_info_matches_std() {
        let me = std::process::id() as i32;
        let i = proc_info(me).unwrap();
        assert_eq!(i.pid, me);
        assert_eq!(i.tgid, me);
        assert!(!i.state.is_empty());
        assert!(!i.nspid.is_empty());
    }

    #[test]
    fn host_context_is_plausible() {
        let c = detect_host_context();
        assert!(c.kernel.major >= 3);
        assert_eq!(c.set_tid_capable.len() as u32, c.pidns_level + 1);
        assert!(c.pid_max >= 301);
        let (ruid, _) = self_uids();
        assert_eq!(c.ruid_is_global_root, ruid == 0 && c.userns_level == 0);
        if let Some(n) = c.nproc {
            assert!(n.count >= 1);
        }
    }

    #[test]
    fn mountinfo_unescapes() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert!(!mounts().is_empty());
    }
}
