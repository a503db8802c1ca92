//! Arranging a context inside the probe.
//!
//! Order matters: resources that need the runner's privileges (cgroup
//! directories, fds) are prepared first, then credentials change, then the
//! cgroup write permissions are measured as the new credentials, then
//! chroot. A context that cannot be arranged is a skip with the reason.

use crate::pids::PidLevels;
use crate::protocol::{ContextSpec, ProbeCase};
use crate::resources::Resources;
use forklore_model::CgroupFd;
use forklore_observe::{self as observe, ContextHints};
use forklore_sys::{self as sys, Disposition, Forked};
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{self, Gid, Uid};
use std::fs::File;
use std::path::{Path, PathBuf};

/// What the reaper sets up before forking the worker (and removes after).
pub(crate) struct Prepared {
    /// `pid_max` of the runner's pid namespace (read before any unshare).
    pub outer_pid_max: u32,
    pub chroot_dir: Option<tempfile::TempDir>,
    pub cg2_created: Option<PathBuf>,
    pub cg2_created_err: Option<String>,
}

fn wants_cgroup2_created(cases: &[ProbeCase]) -> bool {
    cases.iter().any(|c| {
        matches!(
            c.request.clone3.as_ref().map(|a| a.cgroup),
            Some(CgroupFd::Cgroup2 { created: true, .. })
        )
    })
}

impl Prepared {
    pub fn before_fork(spec: &ContextSpec, cases: &[ProbeCase]) -> Result<Prepared, String> {
        let mut p = Prepared {
            outer_pid_max: observe::pid_max(),
            chroot_dir: None,
            cg2_created: None,
            cg2_created_err: None,
        };
        if *spec == ContextSpec::PidNsInit {
            unshare(CloneFlags::CLONE_NEWPID)
                .map_err(|e| format!("cannot unshare(CLONE_NEWPID): {e} (needs CAP_SYS_ADMIN)"))?;
        }
        if *spec == ContextSpec::Chroot {
            if !Uid::effective().is_root() {
                return Err(
                    "chroot needs root (CAP_SYS_CHROOT and CAP_SYS_ADMIN for /proc)".into(),
                );
            }
            p.chroot_dir = Some(
                tempfile::Builder::new()
                    .prefix("forklore-chroot-")
                    .tempdir()
                    .map_err(|e| format!("cannot create the chroot directory: {e}"))?,
            );
        }
        if wants_cgroup2_created(cases) {
            match observe::cgroup2_mount() {
                None => p.cg2_created_err = Some("no cgroup2 hierarchy is mounted".into()),
                Some(m) => {
                    let dir = m.join(format!("forklore-{}", std::process::id()));
                    match std::fs::create_dir(&dir) {
                        Ok(()) => p.cg2_created = Some(dir),
                        Err(e) => {
                            p.cg2_created_err =
                                Some(format!("cannot create cgroup {}: {e}", dir.display()))
                        }
                    }
                }
            }
        }
        Ok(p)
    }

    /// Remove what `before_fork` created. Runs in the reaper once every
    /// other probe process is gone.
    pub fn cleanup(self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(dir) = &self.cg2_created {
            let mut last = None;
            for _ in 0..200 {
                match std::fs::remove_dir(dir) {
                    Ok(()) => {
                        last = None;
                        break;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        last = None;
                        break;
                    }
                    // Dying tasks can keep a cgroup busy for a moment.
                    Err(e) => last = Some(e),
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            if let Some(e) = last {
                problems.push(format!("cannot remove cgroup {}: {e}", dir.display()));
            }
        }
        if let Some(d) = self.chroot_dir {
            let _ = std::fs::remove_dir(d.path().join("proc"));
            if let Err(e) = d.close() {
                problems.push(format!("cannot remove the chroot directory: {e}"));
            }
        }
        problems
    }
}

/// What arranging the context produced.
pub(crate) struct Arranged {
    pub hints: ContextHints,
    /// The holder child kept alive as init of the unshared pid namespace.
    pub holder: Option<i32>,
    /// Where the caller sits in the pid namespaces.
    pub pids: PidLevels,
    /// The tracer process of the `traced` context.
    pub tracer: Option<i32>,
}

fn errno_str(e: nix::Error) -> String {
    format!("{} ({})", e.desc(), e as i32)
}

/// A uid/gid in 40000..60000 that no process uses and neither
/// /etc/passwd nor /etc/group lists. The search starts at a point derived
/// from `seed` (the probe's pid) so that probes starting at the same time
/// (the suite runs several) pick different ids: RLIMIT_NPROC counts every
/// task of the uid.
pub fn unused_id(seed: u32) -> Option<u32> {
    let used = observe::uids_in_use();
    let passwd = observe::ids_in_file("/etc/passwd");
    let group = observe::ids_in_file("/etc/group");
    let start = seed % 20000;
    (0..20000)
        .map(|k| 40000 + (start + k) % 20000)
        .find(|u| !used.contains(u) && !passwd.contains(u) && !group.contains(u))
}

/// Re-arm what credential changes clear.
pub(crate) fn rearm(reaper: u32, pidns_init: bool) -> Result<(), String> {
    let _ = sys::set_dumpable(true);
    sys::set_pdeathsig(libc::SIGKILL).map_err(|e| format!("PR_SET_PDEATHSIG: errno {e}"))?;
    let pp = std::os::unix::process::parent_id();
    if pp != reaper && !(pidns_init && pp == 0) {
        return Err("the reaper is gone".into());
    }
    Ok(())
}

fn become_unprivileged(reaper: u32) -> Result<u32, String> {
    if !Uid::effective().is_root() {
        return Ok(Uid::current().as_raw());
    }
    let id = unused_id(reaper).ok_or("no unused uid in 40000..60000")?;
    unistd::setgroups(&[]).map_err(|e| format!("setgroups([]): {}", errno_str(e)))?;
    let g = Gid::from_raw(id);
    unistd::setresgid(g, g, g).map_err(|e| format!("setresgid({id}): {}", errno_str(e)))?;
    let u = Uid::from_raw(id);
    unistd::setresuid(u, u, u).map_err(|e| format!("setresuid({id}): {}", errno_str(e)))?;
    // All three uids non-zero: the kernel cleared permitted/effective; the
    // ambient set goes too.
    let _ = caps::clear(None, caps::CapSet::Ambient);
    let eff = caps::read(None, caps::CapSet::Effective).map_err(|e| e.to_string())?;
    if !eff.is_empty() {
        return Err(format!("capabilities left after setuid: {eff:?}"));
    }
    Ok(id)
}

fn enter_userns() -> Result<(), String> {
    let uid = Uid::effective().as_raw();
    let gid = Gid::effective().as_raw();
    if let Some(0) = observe::max_user_namespaces() {
        return Err("user namespaces are disabled (user.max_user_namespaces = 0)".into());
    }
    unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| {
        format!(
            "user namespaces unavailable: unshare(CLONE_NEWUSER): {}",
            errno_str(e)
        )
    })?;
    let w = |p: &str, s: String| std::fs::write(p, s).map_err(|e| format!("cannot write {p}: {e}"));
    w("/proc/self/setgroups", "deny".into())?;
    w("/proc/self/uid_map", format!("0 {uid} 1"))?;
    w("/proc/self/gid_map", format!("0 {gid} 1"))?;
    Ok(())
}

/// Mount a fresh procfs on `target` inside a private mount namespace.
fn private_proc(target: &Path) -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWNS)
        .map_err(|e| format!("unshare(CLONE_NEWNS): {}", errno_str(e)))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("make / private: {}", errno_str(e)))?;
    mount(
        Some("proc"),
        target,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| format!("mount proc on {}: {}", target.display(), errno_str(e)))
}

/// Arrange `spec` in the worker. Credentials first, then measurements that
/// depend on them, then chroot.
pub(crate) fn arrange(
    spec: &ContextSpec,
    prepared: &Prepared,
    res: &mut Resources,
    reaper: u32,
) -> Result<Arranged, String> {
    let nspid_abs = observe::self_nspid();
    let base_userns = if observe::in_initial_userns() { 0 } else { 1 };
    let ruid0 = Uid::current().is_root() && base_userns == 0;
    let mut a = Arranged {
        hints: ContextHints::default(),
        holder: None,
        tracer: None,
        pids: PidLevels {
            procfs_level: 0,
            active_level: nspid_abs.len().saturating_sub(1) as u32,
            nspid_abs,
            outer_proc: None,
            outer_pid_max: prepared.outer_pid_max,
        },
    };
    match spec {
        ContextSpec::AsIs => {}
        ContextSpec::Unprivileged => {
            become_unprivileged(reaper)?;
            rearm(reaper, false)?;
        }
        ContextSpec::Nproc(n) => {
            let uid = become_unprivileged(reaper)?;
            rearm(reaper, false)?;
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NPROC, *n, *n)
                .map_err(|e| format!("setrlimit(RLIMIT_NPROC, {n}): {}", errno_str(e)))?;
            a.hints.nproc_count = Some(observe::tasks_of_ruid(uid));
            a.hints.nproc_limit = Some(*n);
        }
        ContextSpec::DropCap(c) => {
            let cap = caps::all()
                .into_iter()
                .find(|k| k.index() as u32 == *c)
                .ok_or_else(|| format!("capability {c} is unknown to this probe"))?;
            for set in [
                caps::CapSet::Effective,
                caps::CapSet::Permitted,
                caps::CapSet::Inheritable,
            ] {
                caps::drop(None, set, cap).map_err(|e| format!("cannot drop {cap}: {e}"))?;
            }
            let _ = caps::drop(None, caps::CapSet::Bounding, cap);
            let _ = caps::drop(None, caps::CapSet::Ambient, cap);
            rearm(reaper, false)?;
        }
        ContextSpec::UserNs | ContextSpec::UserNsLimitZero => {
            enter_userns()?;
            rearm(reaper, false)?;
            a.hints.userns_level = Some(base_userns + 1);
            a.hints.ruid_is_global_root = Some(ruid0);
            a.hints.pidns_levels_owned = Some(0);
            if *spec == ContextSpec::UserNsLimitZero {
                std::fs::write("/proc/sys/user/max_user_namespaces", "0").map_err(|e| {
                    format!("cannot set user.max_user_namespaces in the child namespace: {e}")
                })?;
                if observe::max_user_namespaces() != Some(0) {
                    return Err("user.max_user_namespaces did not become 0".into());
                }
            }
        }
        ContextSpec::PidNsInit => {
            if std::process::id() != 1 {
                return Err("the worker is not pid 1 of the new pid namespace".into());
            }
            rearm(reaper, true)?;
            a.pids.outer_proc = File::open("/proc").ok();
            private_proc(Path::new("/proc"))?;
            a.pids.procfs_level = a.pids.active_level;
            a.hints.active_pidns_level = Some(a.pids.active_level);
        }
        ContextSpec::UnsharePid => {
            unshare(CloneFlags::CLONE_NEWPID).map_err(|e| {
                format!(
                    "cannot unshare(CLONE_NEWPID): {} (needs CAP_SYS_ADMIN)",
                    errno_str(e)
                )
            })?;
            match sys::fork_single_threaded(libc::SIGCHLD as u64) {
                Err(e) => return Err(format!("cannot fork the pid-namespace holder: errno {e}")),
                Ok(Forked::Child) => {
                    // Init of the new namespace until the worker goes;
                    // reaps whatever is orphaned into the namespace.
                    let _ = sys::set_pdeathsig(libc::SIGKILL);
                    loop {
                        if sys::wait4(-1, forklore_sys::wait::WALL) == Err(sys::Errno::ECHILD) {
                            nix::unistd::pause();
                        }
                    }
                }
                Ok(Forked::Parent { child }) => {
                    a.holder = Some(child);
                    a.hints.unshared_pidns_has_init = Some(true);
                }
            }
        }
        ContextSpec::Chroot => {}
        ContextSpec::SeccompClone3Enosys => {
            sys::seccomp_deny_syscall(forklore_sys::abi::nr::CLONE3, sys::Errno::ENOSYS)
                .map_err(|e| format!("cannot install the seccomp filter: errno {e}"))?;
        }
        ContextSpec::Traced => a.tracer = Some(start_tracer()?),
    }
    res.measure_cgroups();
    if *spec == ContextSpec::Chroot {
        let dir = prepared
            .chroot_dir
            .as_ref()
            .ok_or("no chroot directory")?
            .path()
            .to_path_buf();
        let proc_dir = dir.join("proc");
        std::fs::create_dir_all(&proc_dir)
            .map_err(|e| format!("mkdir {}: {e}", proc_dir.display()))?;
        private_proc(&proc_dir)?;
        unistd::chroot(&dir).map_err(|e| format!("chroot: {}", errno_str(e)))?;
        unistd::chdir("/").map_err(|e| format!("chdir /: {}", errno_str(e)))?;
        a.hints.chrooted = Some(true);
    }
    Ok(a)
}

/// Fork the `traced` context's tracer: a single-threaded child that
/// PTRACE_SEIZEs the worker (its parent) with no options and passes every
/// stop of every tracee through until none is left. Under YAMA
/// ptrace_scope 1 a child may not attach its parent unless the parent
/// names it with PR_SET_PTRACER, which the worker does first (without
/// YAMA that prctl is EINVAL and not needed). Returns the tracer's pid
/// once the worker is traced.
fn start_tracer() -> Result<i32, String> {
    let worker = std::process::id() as i32;
    let (go_r, go_w) = unistd::pipe().map_err(|e| format!("pipe: {}", errno_str(e)))?;
    let (st_r, st_w) = unistd::pipe().map_err(|e| format!("pipe: {}", errno_str(e)))?;
    match sys::fork_single_threaded(libc::SIGCHLD as u64) {
        Err(e) => Err(format!("cannot fork the tracer: errno {e}")),
        Ok(Forked::Child) => {
            drop((go_w, st_r));
            let _ = sys::set_pdeathsig(libc::SIGKILL);
            let mut b = [0u8; 1];
            let _ = unistd::read(&go_r, &mut b);
            let r = sys::ptrace::ptrace_seize(worker, 0);
            let code = r.err().map_or(0, |e| e.raw());
            let _ = unistd::write(&st_w, &code.to_le_bytes());
            drop(st_w);
            if r.is_err() {
                sys::exit_now(0);
            }
            pass_through_stops()
        }
        Ok(Forked::Parent { child }) => {
            drop((go_r, st_w));
            let _ = sys::ptrace::set_ptracer(child);
            let _ = unistd::write(&go_w, b"g");
            let mut b = [0u8; 4];
            let n = unistd::read(&st_r, &mut b).unwrap_or(0);
            let code = i32::from_le_bytes(b);
            if n != 4 || code != 0 {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(child),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = sys::wait4(child, forklore_sys::wait::WALL);
                return Err(if n == 4 {
                    format!(
                        "cannot arrange a tracer: PTRACE_SEIZE of the worker failed with errno {code} (YAMA ptrace_scope {:?})",
                        std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
                            .ok()
                            .map(|s| s.trim().to_string())
                    )
                } else {
                    "the tracer died before attaching".into()
                });
            }
            Ok(child)
        }
    }
}

/// The tracer's loop: continue every stop of every tracee (the worker and
/// its CLONE_PTRACE children), delivering the signal of a signal-delivery
/// stop; exits when no tracee is left.
fn pass_through_stops() -> ! {
    use forklore_sys::wait::WALL;
    loop {
        match sys::wait4(-1, WALL) {
            Ok(Some(r)) if r.status & 0xff == 0x7f => {
                let sig = (r.status >> 8) & 0xff;
                // An event or group stop (status >> 16 set): resume without
                // a signal; a signal-delivery stop: deliver it.
                let deliver = if r.status >> 16 != 0 { 0 } else { sig };
                let _ = sys::ptrace::ptrace_cont(r.pid, deliver);
            }
            Ok(_) => {}
            Err(sys::Errno::EINTR) => {}
            Err(_) => sys::exit_now(0),
        }
    }
}

/// Signals a case can send the worker: every child's exit signal (any of
/// 1..64 through clone's low byte or clone3's field). Ignored signals are
/// dropped when sent, so they neither kill the worker nor pile up. SIGCHLD
/// stays default (SIG_IGN would auto-reap children); SIGSTOP is undone by
/// the reaper; SIGKILL cannot be ignored (the engine declines such cases).
pub(crate) fn ignore_signals() {
    for sig in 1..=64 {
        if sig == libc::SIGCHLD || sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        let _ = sys::set_signal_disposition(sig, Disposition::Ignore);
    }
    let _ = sys::set_signal_disposition(libc::SIGCHLD, Disposition::Default);
    sys::set_sigmask(0);
}
