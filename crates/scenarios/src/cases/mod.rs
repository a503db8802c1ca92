//! The scenario catalogue. Each case runs in its own fresh, single-threaded
//! case process and returns what the model expected next to what it saw.

use forklore_model::lifecycle::Expect;
use forklore_model::{Errno, KernelVersion};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

mod exec;
mod exit;
mod pidfd;
mod procfs;
mod reparent;
mod share;
mod stop;
mod vfork;
mod wait;

pub use forklore_model::lifecycle::wopt::{WALL, WCLONE, WEXITED, WNOHANG, WNOTHREAD, WNOWAIT};

/// How long a case waits for one expected event before calling it missing.
pub const STEP: Duration = Duration::from_secs(5);

pub struct Case {
    pub id: &'static str,
    pub needs_root: bool,
    pub description: &'static str,
    pub run: fn(&Ctx) -> Result<Check, Abort>,
}

impl Case {
    pub fn group(&self) -> &'static str {
        self.id.split('/').nth(1).unwrap_or("unknown")
    }
}

/// Why a case did not produce a comparison.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Abort {
    Skip(String),
    Env(String),
    Broken(String),
}

impl From<nix::errno::Errno> for Abort {
    fn from(e: nix::errno::Errno) -> Abort {
        Abort::Broken(format!("setup: {e}"))
    }
}

impl From<std::io::Error> for Abort {
    fn from(e: std::io::Error) -> Abort {
        Abort::Broken(format!("setup: {e}"))
    }
}

/// Expected and observed facts, keyed alike, and the rules that decided.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Check {
    pub expected: Value,
    pub observed: Value,
    pub rules: Vec<String>,
    pub note: Option<String>,
}

/// Builds a [`Check`] one fact at a time.
#[derive(Default)]
pub struct Facts {
    exp: Map<String, Value>,
    obs: Map<String, Value>,
    rules: Vec<String>,
}

impl Facts {
    pub fn new() -> Facts {
        Facts::default()
    }
    /// Record one fact: the model's expectation and the observation.
    pub fn add<T: Serialize, O: Serialize>(
        &mut self,
        key: &str,
        e: Expect<T>,
        observed: O,
    ) -> &mut Self {
        self.exp.insert(
            key.into(),
            serde_json::to_value(&e.value).unwrap_or(Value::Null),
        );
        self.obs.insert(
            key.into(),
            serde_json::to_value(&observed).unwrap_or(Value::Null),
        );
        if !self.rules.iter().any(|r| r == e.rule) {
            self.rules.push(e.rule.to_string());
        }
        self
    }
    pub fn done(&mut self) -> Result<Check, Abort> {
        Ok(Check {
            expected: Value::Object(std::mem::take(&mut self.exp)),
            observed: Value::Object(std::mem::take(&mut self.obs)),
            rules: std::mem::take(&mut self.rules),
            note: None,
        })
    }
}

/// What a case knows about its host.
pub struct Ctx {
    pub kernel: KernelVersion,
    pub target: Option<PathBuf>,
}

impl Ctx {
    pub fn detect() -> Ctx {
        let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let ver = std::fs::read_to_string("/proc/sys/kernel/version").unwrap_or_default();
        Ctx {
            kernel: KernelVersion::from_uname(&rel, &ver).unwrap_or(KernelVersion::new(0, 0, 0)),
            target: crate::exec_target(),
        }
    }
    /// The exec target, or Skip.
    pub fn target(&self) -> Result<PathBuf, Abort> {
        let t = self.target.clone().ok_or_else(|| {
            Abort::Skip("forklore-exec-target not found (set FORKLORE_EXEC_TARGET or build probes/exec-target)".into())
        })?;
        // An unprivileged uid may not reach a root-owned target directory.
        if nix::unistd::access(&t, nix::unistd::AccessFlags::X_OK).is_err() {
            return Err(Abort::Skip(format!(
                "{} is not executable by uid {}",
                t.display(),
                crate::util::euid()
            )));
        }
        Ok(t)
    }
}

/// An errno as its name (`"ECHILD"`), for comparisons.
pub fn ename(e: forklore_sys::Errno) -> String {
    Errno(e.raw()).to_string()
}

/// An optional errno as a name or `"ok"`.
pub fn outcome(e: Option<Errno>) -> String {
    e.map(|e| e.to_string()).unwrap_or_else(|| "ok".into())
}

macro_rules! case {
    ($id:literal, $root:expr, $f:path, $d:literal) => {
        Case {
            id: $id,
            needs_root: $root,
            description: $d,
            run: $f,
        }
    };
}

pub static CASES: &[Case] = &[
    // wait
    case!("lifecycle/wait/selection-matrix", false, wait::selection_matrix,
        "plain/__WCLONE/__WALL/__WNOTHREAD against exit_signal SIGCHLD, SIGUSR1, 0, a CLONE_THREAD task and a sibling thread's child"),
    case!("lifecycle/wait/wnohang-live-child", false, wait::wnohang_live,
        "WNOHANG with a live child returns 0; the later blocking wait reaps it"),
    case!("lifecycle/wait/echild", false, wait::echild,
        "ECHILD: no children, not a child, already reaped, autoreaped by SIGCHLD SIG_IGN and by SA_NOCLDWAIT"),
    case!("lifecycle/wait/einval-options", false, wait::einval,
        "EINVAL for unknown wait4 options (even with INT_MIN) and bad waitid options"),
    case!("lifecycle/wait/esrch-int-min", false, wait::esrch,
        "wait4(INT_MIN) is ESRCH"),
    case!("lifecycle/wait/pgid-selection", false, wait::pgid_selection,
        "wait4(0) takes the caller's process group, wait4(-pgid) the named one"),
    case!("lifecycle/wait/efault-after-reap", false, wait::efault_status,
        "a bad status pointer gives EFAULT after the child was reaped; the next wait is ECHILD"),
    case!("lifecycle/wait/rusage", false, wait::rusage,
        "wait4 fills in rusage (maxrss and minor faults cover what the child touched)"),
    case!("lifecycle/wait/stopped-wuntraced", false, stop::wuntraced,
        "a SIGSTOPped child: wait4 reports (SIGSTOP << 8) | 0x7f only with WUNTRACED, once; after SIGCONT 0xffff only with WCONTINUED, once"),
    case!("lifecycle/wait/stopped-waitid", false, stop::waitid_stopped,
        "waitid WSTOPPED: CLD_STOPPED / SIGSTOP (WNOWAIT leaves it), not with WEXITED; WCONTINUED: CLD_CONTINUED / SIGCONT"),
    case!("lifecycle/wait/waitid-siginfo-exited", false, stop::waitid_exited,
        "waitid of a dead child: si_signo SIGCHLD, CLD_EXITED with the exit code, si_uid the child's real uid, WNOWAIT leaves a zombie; CLD_KILLED with the signal"),
    // pidfd
    case!("lifecycle/pidfd/poll-and-waitid", false, pidfd::poll_and_waitid,
        "clone3(CLONE_PIDFD) and pidfd_open pidfds poll not readable while the child runs, readable once it is a zombie; waitid(P_PIDFD) reaps it (CLD_EXITED, code); then ECHILD"),
    case!("lifecycle/pidfd/send-signal", false, pidfd::send_signal,
        "pidfd_send_signal(SIGTERM) kills the child (CLD_KILLED), succeeds on the zombie, and is ESRCH after the reap"),
    case!("lifecycle/pidfd/open-errors", false, pidfd::open_errors,
        "pidfd_open: ESRCH for a reaped pid, EINVAL for an unknown flag, ENOENT (6.15+; EINVAL before) for a non-leader thread, which PIDFD_THREAD (6.9+) opens"),
    case!("lifecycle/pidfd/nonblock-eagain", false, pidfd::nonblock,
        "waitid(P_PIDFD) on a PIDFD_NONBLOCK pidfd of a live child is EAGAIN (5.10+), with WNOHANG 0; after the exit it reaps"),
    // share
    case!("lifecycle/share/clone-files", false, share::files,
        "a descriptor a CLONE_FILES child closes is closed in the parent; without the flag it stays open"),
    case!("lifecycle/share/clone-fs", false, share::fs,
        "a CLONE_FS child's chdir moves the parent's cwd; without the flag it does not"),
    case!("lifecycle/share/clone-sighand", false, share::sighand,
        "a handler a CLONE_SIGHAND (|VM|VFORK) child installs is the parent's; without the flag it is not"),
    case!("lifecycle/share/clone-clear-sighand", false, share::clear_sighand,
        "clone3 CLONE_CLEAR_SIGHAND: a caught handler is SIG_DFL in the child, SIG_IGN stays (5.5+); without it both are inherited"),
    case!("lifecycle/share/clone-settls", false, share::settls,
        "CLONE_SETTLS: the child's FS base (arch_prctl ARCH_GET_FS) is tls; without it, the parent's"),
    // exit
    case!("lifecycle/exit/status-encoding", false, exit::status_encoding,
        "exit_group(code) and exit(code) report (code & 0xff) << 8"),
    case!("lifecycle/exit/killed-by-signal", false, exit::killed,
        "a child killed by SIGTERM / SIGKILL reports the signal number"),
    case!("lifecycle/exit/core-dump-bit", false, exit::core_bit,
        "SIGQUIT with RLIMIT_CORE 0 has no core bit; with a core written it has 0x80"),
    case!("lifecycle/exit/exit-group-from-thread", false, exit::group_from_thread,
        "exit_group from a non-leader thread kills every thread; the group code wins over an earlier exit()"),
    case!("lifecycle/exit/leader-exit-zombie", false, exit::leader_zombie,
        "the leader exits first: Z with Threads 2, not reapable, then the last thread's code"),
    // exec
    case!("lifecycle/exec/enoent-missing", false, exec::enoent_missing, "execve of a missing file"),
    case!("lifecycle/exec/enoent-empty-path", false, exec::enoent_empty, "execve(\"\")"),
    case!("lifecycle/exec/enoent-interpreter", false, exec::enoent_interp, "a script whose #! interpreter is missing"),
    case!("lifecycle/exec/enotdir", false, exec::enotdir, "a path component is a regular file"),
    case!("lifecycle/exec/eacces-directory", false, exec::eacces_dir, "execve of a directory"),
    case!("lifecycle/exec/eacces-no-exec-bit", false, exec::eacces_mode, "an ELF with mode 0644 (root too)"),
    case!("lifecycle/exec/eacces-fifo", false, exec::eacces_fifo, "execve of a FIFO"),
    case!("lifecycle/exec/eacces-noexec-mount", true, exec::eacces_noexec,
        "an executable on a noexec tmpfs mounted in a private mount namespace"),
    case!("lifecycle/exec/enoexec", false, exec::enoexec, "a file no binary handler recognises"),
    case!("lifecycle/exec/eloop-symlink", false, exec::eloop_symlink, "a symlink loop"),
    case!("lifecycle/exec/interpreter-depth", false, exec::interp_depth,
        "a chain of 5 #! scripts runs, 6 gives ELOOP"),
    case!("lifecycle/exec/etxtbsy", false, exec::etxtbsy, "an executable open for writing"),
    case!("lifecycle/exec/efault-filename", false, exec::efault_filename, "an unreadable filename pointer"),
    case!("lifecycle/exec/efault-argv", false, exec::efault_argv, "an unreadable argv pointer"),
    case!("lifecycle/exec/e2big-strlen", false, exec::e2big_strlen,
        "a 131071-byte argument runs, a 131072-byte one is E2BIG"),
    case!("lifecycle/exec/e2big-total", false, exec::e2big_total, "argument strings beyond the stack limit"),
    case!("lifecycle/exec/enametoolong", false, exec::enametoolong, "a filename longer than PATH_MAX"),
    case!("lifecycle/exec/success-state", false, exec::success_state,
        "after exec: same pid/ppid/pgid/sid, exit_signal SIGCHLD, handlers reset, SIG_IGN and mask kept, sigaltstack cleared, CLOEXEC fds closed"),
    case!("lifecycle/exec/exit-signal-reset", false, exec::exit_signal_reset,
        "a clone child with exit_signal SIGUSR1 becomes waitable without __WCLONE after exec"),
    case!("lifecycle/exec/empty-argv", false, exec::empty_argv, "argv == NULL gives argv[0] = \"\" on 5.18+"),
    case!("lifecycle/exec/non-leader-thread", false, exec::non_leader,
        "exec from a non-leader thread keeps the pid, leaves one thread, and the parent sees no exit"),
    // vfork
    case!("lifecycle/vfork/suspend-until-exec", false, vfork::until_exec,
        "the caller is D while the child holds it, not released by a failed exec, released by a successful one, and not again by the exec'd child's exit"),
    case!("lifecycle/vfork/exit-releases", false, vfork::exit_releases,
        "the caller is D until the child exits; the child's write is visible"),
    case!("lifecycle/vfork/no-vm-still-suspends", false, vfork::no_vm,
        "CLONE_VFORK without CLONE_VM suspends the caller, memory stays private"),
    case!("lifecycle/vfork/killed-child-releases", false, vfork::killed,
        "a vfork child killed by SIGKILL releases the caller"),
    // reparent
    case!("lifecycle/reparent/sibling-thread-first", false, reparent::sibling_thread,
        "a child of an exiting thread goes to a live thread of the same group; exit_signal kept"),
    case!("lifecycle/reparent/to-subreaper", false, reparent::to_subreaper,
        "an orphan goes to the nearest subreaper, which gets SIGCHLD and reaps it; exit_signal becomes SIGCHLD"),
    case!("lifecycle/reparent/to-pidns-init", true, reparent::to_pidns_init,
        "with no subreaper inside the pid namespace an orphan goes to its init"),
    case!("lifecycle/reparent/pdeathsig-thread-exit", false, reparent::pdeathsig_thread,
        "PR_SET_PDEATHSIG fires when the creating thread exits while the process lives"),
    case!("lifecycle/reparent/fork-resets-prctl", false, reparent::fork_resets,
        "a fork child has pdeath_signal 0 and is not a subreaper"),
    case!("lifecycle/reparent/pidns-init-death", true, reparent::pidns_init_death,
        "killing a pid-namespace init kills its members; a new fork into it is ENOMEM"),
    // proc
    case!("lifecycle/proc/zombie-state", false, procfs::zombie_state,
        "Z in /proc/<pid>/stat and status until reaped, then the directory is gone"),
    case!("lifecycle/proc/nspid", true, procfs::nspid, "NSpid lists one pid per pid-namespace level"),
];
