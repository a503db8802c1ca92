//! Post-creation semantics (model-spec §3): execve errors and effects,
//! exit/exit_group status, wait4/waitid selection, vfork release,
//! reparenting, zombies in procfs.
//!
//! Every expectation comes from one row of [`LIFECYCLE_RULES`] (id, kernel
//! function, versions, source). The functions return an [`Expect`]: the
//! predicted value and the id of the rule that decided it. Pure: no I/O.

use crate::errno::Errno;
use crate::prediction::{RuleInfo, VersionRange};
use crate::version::KernelVersion;
use serde::{Deserialize, Serialize};

/// A predicted value and the rule that decided it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Expect<T> {
    pub value: T,
    pub rule: &'static str,
}

impl<T> Expect<T> {
    const fn by(rule: &'static str, value: T) -> Self {
        Expect { value, rule }
    }
}

const fn kv(major: u32, minor: u32, patch: u32) -> KernelVersion {
    KernelVersion::new(major, minor, patch)
}
const fn from(v: KernelVersion) -> VersionRange {
    VersionRange { from: v, to: None }
}
const fn span(a: KernelVersion, b: KernelVersion) -> VersionRange {
    VersionRange {
        from: a,
        to: Some(b),
    }
}

const ALWAYS: &[VersionRange] = &[from(kv(2, 6, 0))];

macro_rules! rule {
    ($id:expr, $f:expr, $errno:expr, $reason:expr, $source:expr) => {
        rule!($id, $f, $errno, $reason, $source, ALWAYS, None)
    };
    ($id:expr, $f:expr, $errno:expr, $reason:expr, $source:expr, $versions:expr, $unc:expr) => {
        RuleInfo {
            id: $id,
            function: $f,
            errno: $errno,
            reason: $reason,
            source: $source,
            versions: $versions,
            uncertain: $unc,
        }
    };
}

/// The lifecycle rule table, in the order of model-spec §3.
pub static LIFECYCLE_RULES: &[RuleInfo] = &[
    // --- §3.10 execve errors, in kernel order (6.8+) ---
    rule!("L-EXEC-EFAULT-FILENAME", "fs/namei.c: getname", Some(Errno::EFAULT),
        "the filename pointer is unreadable", "model-spec §3.10 step 1"),
    rule!("L-EXEC-ENAMETOOLONG", "fs/namei.c: getname", Some(Errno::ENAMETOOLONG),
        "the filename (with its NUL) is longer than PATH_MAX", "model-spec §3.10 step 1"),
    rule!("L-EXEC-ENOENT-EMPTY", "fs/namei.c: getname_flags", Some(Errno::ENOENT),
        "an empty filename without AT_EMPTY_PATH", "model-spec §3.10 step 1"),
    rule!("L-EXEC-ARGS-FIRST", "fs/exec.c: do_execveat_common", None,
        "5.9-6.7 counted and copied argv/envp before opening the file",
        "model-spec §3.10 version note; 978ffcbf00d8 (6.8) moved the open first",
        &[span(kv(5, 9, 0), kv(6, 7, 255))], None),
    rule!("L-EXEC-LOOKUP", "fs/namei.c: path lookup in do_open_execat", None,
        "path lookup errors: ENOENT, ENOTDIR, ELOOP (symlink loop), EACCES (search)",
        "model-spec §3.10 step 3"),
    rule!("L-EXEC-EACCES-TYPE", "fs/exec.c: do_open_execat", Some(Errno::EACCES),
        "not a regular file (directory, FIFO, device)", "model-spec §3.10 step 3; S_ISREG check"),
    rule!("L-EXEC-EACCES-MODE", "fs/namei.c: generic_permission (MAY_EXEC)", Some(Errno::EACCES),
        "no execute bit for anyone: CAP_DAC_OVERRIDE does not grant exec",
        "model-spec §3.10 step 3"),
    rule!("L-EXEC-EACCES-NOEXEC", "fs/exec.c: do_open_execat (path_noexec)", Some(Errno::EACCES),
        "the file is on a noexec mount", "model-spec §3.10 step 3"),
    rule!("L-EXEC-ETXTBSY", "fs/exec.c: exe_file_deny_write_access", Some(Errno::ETXTBSY),
        "the file is open for writing",
        "model-spec §3.10 step 3; absent 6.11.0-6.11.10 and 6.12.0-6.12.1 (2a010c412853, reverted by 3b832035387f)",
        &[span(kv(2, 6, 0), kv(6, 10, 255)), span(kv(6, 11, 11), kv(6, 11, 255)), from(kv(6, 12, 2))],
        None),
    rule!("L-EXEC-EFAULT-ARGV", "fs/exec.c: count / copy_strings", Some(Errno::EFAULT),
        "the argv/envp array or one of its strings is unreadable", "model-spec §3.10 steps 4 and 6"),
    rule!("L-EXEC-E2BIG-STRLEN", "fs/exec.c: copy_strings (valid_arg_len)", Some(Errno::E2BIG),
        "one string, NUL included, longer than MAX_ARG_STRLEN (32 pages)",
        "model-spec §3.10 step 6"),
    rule!("L-EXEC-E2BIG-TOTAL", "fs/exec.c: bprm_stack_limits / copy_strings", Some(Errno::E2BIG),
        "strings beyond max(min(RLIMIT_STACK/4, 6 MiB), 128 KiB) minus the pointer array",
        "model-spec §3.10 step 5-6"),
    rule!("L-EXEC-ENOENT-INTERP", "fs/binfmt_script.c: load_script (open_exec)", Some(Errno::ENOENT),
        "the #! interpreter does not exist", "model-spec §3.10 step 7"),
    rule!("L-EXEC-ELOOP-DEPTH", "fs/exec.c: search_binary_handler / exec_binprm", Some(Errno::ELOOP),
        "more than 5 interpreter rewrites", "model-spec §3.10 step 7",
        &[from(kv(3, 8, 0))], Some("first release with ELOOP (vs ENOEXEC) not verified; about 3.8")),
    rule!("L-EXEC-ENOEXEC", "fs/exec.c: search_binary_handler", Some(Errno::ENOEXEC),
        "no binary handler recognises the file", "model-spec §3.10 step 7"),
    rule!("L-EXEC-OK", "fs/exec.c: bprm_execve", None,
        "no check failed: the new image runs", "model-spec §3.10"),
    // --- §3.10 effects of a successful exec ---
    rule!("L-EXEC-IDENTITY", "fs/exec.c: de_thread / begin_new_exec", None,
        "pid, ppid, pgid and sid are unchanged by exec", "model-spec §3.10 effects"),
    rule!("L-EXEC-EXIT-SIGNAL", "fs/exec.c: de_thread", None,
        "exit_signal is reset to SIGCHLD (\"we have changed execution domain\")",
        "model-spec §3.2, §3.10"),
    rule!("L-EXEC-SIGNALS", "kernel/signal.c: flush_signal_handlers(t, 1)", None,
        "caught handlers become SIG_DFL, SIG_IGN is kept, the blocked mask is kept",
        "model-spec §3.10 effects"),
    rule!("L-EXEC-ALTSTACK", "fs/exec.c: begin_new_exec (sas_ss_reset via flush_signal_handlers)", None,
        "sigaltstack is cleared", "model-spec §3.5, §3.10"),
    rule!("L-EXEC-CLOEXEC", "fs/exec.c: begin_new_exec (do_close_on_exec)", None,
        "close-on-exec descriptors are closed, others stay open", "execve(2); model-spec §3.10"),
    rule!("L-EXEC-EMPTY-ARGV", "fs/exec.c: do_execveat_common", None,
        "an empty argv becomes argv[0] = \"\" (argc 1)",
        "\"exec: Force single empty string when argv is empty\" (5.18)",
        &[from(kv(5, 18, 0))], None),
    rule!("L-EXEC-EMPTY-ARGV-OLD", "fs/exec.c: do_execveat_common", None,
        "an empty argv runs with argc 0", "before 5.18",
        &[span(kv(2, 6, 0), kv(5, 17, 255))], None),
    rule!("L-EXEC-DE-THREAD", "fs/exec.c: de_thread (exchange_tids)", None,
        "exec from a non-leader thread: other threads die, the thread takes the leader's pid, the parent sees no exit",
        "model-spec §3.10 effects"),
    // --- §3.7 exit ---
    rule!("L-EXIT-STATUS", "kernel/exit.c: SYSCALL_DEFINE1(exit_group) / do_exit", None,
        "a normal exit reports (code & 0xff) << 8", "model-spec §3.6, §3.7"),
    rule!("L-EXIT-SIGNALED", "kernel/exit.c: wait_task_zombie", None,
        "a signal death reports signo, | 0x80 when a core was dumped", "model-spec §3.6"),
    rule!("L-EXIT-GROUP", "kernel/exit.c: do_group_exit (zap_other_threads)", None,
        "exit_group kills every thread; the group code is what the parent sees",
        "model-spec §3.7"),
    rule!("L-EXIT-LEADER-DELAY", "kernel/exit.c: delay_group_leader / wait_consider_task", None,
        "a leader that exited while threads live stays Z and cannot be reaped until the group is empty",
        "model-spec §3.6, §3.9"),
    rule!("L-EXIT-LAST-THREAD-CODE", "kernel/exit.c: synchronize_group_exit (quick_threads)", None,
        "without a group exit, the last thread's code becomes the group code",
        "model-spec §3.7",
        &[from(kv(5, 19, 0))], Some("first release not verified (5.19 or 6.0)")),
    rule!("L-EXIT-LEADER-CODE", "kernel/exit.c: wait_task_zombie", None,
        "without a group exit, the leader's own code is reported", "model-spec §3.7 (older kernels)",
        &[span(kv(2, 6, 0), kv(5, 18, 255))], Some("last release not verified (5.18 or 5.19)")),
    // --- §3.6 wait ---
    rule!("L-WAIT-EINVAL", "kernel/exit.c: kernel_wait4", Some(Errno::EINVAL),
        "options outside WNOHANG|WUNTRACED|WCONTINUED|__WNOTHREAD|__WCLONE|__WALL",
        "model-spec §3.6 wait4 (1)"),
    rule!("L-WAIT-ESRCH", "kernel/exit.c: kernel_wait4", Some(Errno::ESRCH),
        "upid == INT_MIN cannot be negated", "model-spec §3.6 wait4 (2)"),
    rule!("L-WAITID-EINVAL", "kernel/exit.c: kernel_waitid_prepare", Some(Errno::EINVAL),
        "bad waitid options, none of WEXITED|WSTOPPED|WCONTINUED, or a bad id for the idtype",
        "model-spec §3.6 waitid"),
    rule!("L-WAIT-PGID", "kernel/exit.c: kernel_wait4 (PIDTYPE_PGID)", None,
        "0 selects the caller's process group, < -1 selects group -upid", "model-spec §3.6 wait4 (2)"),
    rule!("L-WAIT-ELIGIBLE", "kernel/exit.c: eligible_child", None,
        "__WALL takes any child; otherwise __WCLONE takes exit_signal != SIGCHLD and no __WCLONE takes SIGCHLD",
        "model-spec §3.6"),
    rule!("L-WAIT-THREAD", "kernel/exit.c: do_wait_thread (children list)", None,
        "CLONE_THREAD tasks are never on the children list: never waitable", "model-spec §3.6"),
    rule!("L-WAIT-NOTHREAD", "kernel/exit.c: __do_wait (__WNOTHREAD)", None,
        "without __WNOTHREAD the children of every thread of the group are candidates",
        "model-spec §3.6"),
    rule!("L-WAIT-AUTOREAP", "kernel/signal.c: do_notify_parent", None,
        "a SIGCHLD child of a parent ignoring SIGCHLD or using SA_NOCLDWAIT is reaped at exit",
        "model-spec §3.6"),
    rule!("L-WAIT-ECHILD", "kernel/exit.c: do_wait", Some(Errno::ECHILD),
        "no eligible child", "model-spec §3.6 wait4 (3)"),
    rule!("L-WAIT-WNOHANG", "kernel/exit.c: do_wait", None,
        "WNOHANG with eligible children none of which is ready returns 0", "model-spec §3.6 wait4 (4)"),
    rule!("L-WAIT-EFAULT", "kernel/exit.c: SYSCALL_DEFINE4(wait4)", Some(Errno::EFAULT),
        "a bad status pointer fails after the child was reaped", "model-spec §3.6 wait4 (6)"),
    rule!("L-WAIT-REAP", "kernel/exit.c: wait_task_zombie", None,
        "a zombie eligible child is reaped; rusage is filled in", "model-spec §3.6"),
    // --- §3.4 vfork ---
    rule!("L-VFORK-SUSPEND", "kernel/fork.c: wait_for_vfork_done (TASK_KILLABLE)", None,
        "the calling thread sleeps killable (shown D) until the child's mm is released",
        "model-spec §3.4", &[from(kv(3, 5, 0))], Some("killable since about 3.5")),
    rule!("L-VFORK-RELEASE", "kernel/fork.c: mm_release -> complete_vfork_done", None,
        "released by a successful exec (exec_mmap) or by exit/death, not by a failed exec, once",
        "model-spec §3.4"),
    rule!("L-VFORK-MEMORY", "kernel/fork.c: copy_mm", None,
        "CLONE_VM shares memory; CLONE_VFORK without CLONE_VM suspends with private memory",
        "model-spec §3.4"),
    // --- §3.8 reparenting ---
    rule!("L-REPARENT-ORDER", "kernel/exit.c: find_new_reaper", None,
        "orphans go to a live thread of the same group, else the nearest subreaper, else the pid-ns init",
        "model-spec §3.8"),
    rule!("L-REPARENT-EXIT-SIGNAL", "kernel/exit.c: reparent_leader", None,
        "moving to another thread group resets exit_signal to SIGCHLD; a threaded reparent keeps it",
        "model-spec §3.2, §3.8"),
    rule!("L-PDEATHSIG-THREAD", "kernel/exit.c: forget_original_parent", None,
        "pdeath_signal fires when the parent thread exits, even if the process lives on",
        "model-spec §3.8"),
    rule!("L-FORK-PDEATHSIG", "kernel/fork.c: copy_process", None,
        "pdeath_signal is 0 in a fork child", "model-spec §3.1"),
    rule!("L-FORK-SUBREAPER", "kernel/fork.c: copy_process", None,
        "is_child_subreaper is not inherited by fork children", "model-spec §3.1",
        &[from(kv(3, 4, 0))], None),
    rule!("L-PIDNS-ZAP", "kernel/pid_namespace.c: zap_pid_ns_processes", None,
        "when the pid-ns init dies every process in the namespace is killed",
        "model-spec §3.7"),
    rule!("L-PIDNS-ENOMEM", "kernel/pid.c: alloc_pid", Some(Errno::ENOMEM),
        "a fork into a pid namespace whose init died fails", "model-spec §3.7 (E31c/E36)"),
    // --- §3.9 procfs ---
    rule!("L-PROC-ZOMBIE", "fs/proc/array.c: task_state_array", None,
        "an unreaped dead task shows Z in stat and status", "model-spec §3.9"),
    rule!("L-PROC-REAPED", "fs/proc/base.c: proc_pid_lookup", None,
        "a reaped task has no /proc/<pid>", "model-spec §3.9"),
    rule!("L-PROC-NSPID", "fs/proc/array.c: task_state (NSpid)", None,
        "NSpid lists one pid per pid-namespace level, outermost first", "proc(5)",
        &[from(kv(4, 1, 0))], None),
];

/// Look a lifecycle rule up by id.
pub fn rule(id: &str) -> Option<&'static RuleInfo> {
    LIFECYCLE_RULES.iter().find(|r| r.id == id)
}

/// Does the rule apply to this kernel?
pub fn applies(id: &str, k: KernelVersion) -> bool {
    rule(id).is_some_and(|r| r.versions.iter().any(|v| v.contains(k)))
}

pub const SIGCHLD: i32 = 17;

// ---------------------------------------------------------------- exit

/// `exit(code)` / `exit_group(code)`: the wait status (`(code & 0xff) << 8`).
pub fn exit_status(code: i64) -> Expect<i32> {
    Expect::by("L-EXIT-STATUS", ((code & 0xff) << 8) as i32)
}

/// Killed by `sig`; `core` when a core was dumped.
pub fn signaled_status(sig: i32, core: bool) -> Expect<i32> {
    Expect::by("L-EXIT-SIGNALED", sig | if core { 0x80 } else { 0 })
}

/// How the threads of a group ended, in time order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadEnd {
    /// `exit(code)`: this thread only.
    Exit(i64),
    /// `exit_group(code)`: every thread.
    ExitGroup(i64),
}

/// The status the parent sees when the thread group is gone.
pub fn group_exit_status(k: KernelVersion, ends: &[ThreadEnd], leader_index: usize) -> Expect<i32> {
    if let Some(code) = ends.iter().find_map(|e| match e {
        ThreadEnd::ExitGroup(c) => Some(*c),
        _ => None,
    }) {
        // do_group_exit: the first group exit sets group_exit_code.
        return Expect::by("L-EXIT-GROUP", exit_status(code).value);
    }
    let code = |e: &ThreadEnd| match e {
        ThreadEnd::Exit(c) | ThreadEnd::ExitGroup(c) => *c,
    };
    if applies("L-EXIT-LAST-THREAD-CODE", k) {
        let last = ends.last().map(code).unwrap_or(0);
        Expect::by("L-EXIT-LAST-THREAD-CODE", exit_status(last).value)
    } else {
        let leader = ends.get(leader_index).map(code).unwrap_or(0);
        Expect::by("L-EXIT-LEADER-CODE", exit_status(leader).value)
    }
}

/// A leader that called `exit()` while `live_threads` other threads run:
/// is it reapable?
pub fn leader_reapable(live_threads: usize) -> Expect<bool> {
    Expect::by("L-EXIT-LEADER-DELAY", live_threads == 0)
}

// ---------------------------------------------------------------- wait

/// Wait option bits (include/uapi/linux/wait.h).
pub mod wopt {
    pub const WNOHANG: u32 = 0x1;
    pub const WUNTRACED: u32 = 0x2;
    pub const WSTOPPED: u32 = 0x2;
    pub const WEXITED: u32 = 0x4;
    pub const WCONTINUED: u32 = 0x8;
    pub const WNOWAIT: u32 = 0x0100_0000;
    pub const WNOTHREAD: u32 = 0x2000_0000;
    pub const WALL: u32 = 0x4000_0000;
    pub const WCLONE: u32 = 0x8000_0000;
}

/// What the waiter knows about one task it may wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitChild {
    pub pid: i32,
    pub pgid: i32,
    /// The task's exit_signal (-1 for a CLONE_THREAD task).
    pub exit_signal: i32,
    /// A CLONE_THREAD task of the waiter's group (never on `children`).
    pub is_thread: bool,
    /// Created by the calling thread (false: by another thread of its group).
    pub child_of_calling_thread: bool,
    pub ptraced_by_caller: bool,
    /// Dead and not yet reaped.
    pub zombie: bool,
}

/// `eligible_child` plus the children-list walk: may this wait see the task?
/// (The pid selector is checked by [`wait4_result`].)
pub fn wait_eligible(c: &WaitChild, options: u32) -> Expect<bool> {
    if c.is_thread {
        return Expect::by("L-WAIT-THREAD", false);
    }
    if options & wopt::WNOTHREAD != 0 && !c.child_of_calling_thread {
        return Expect::by("L-WAIT-NOTHREAD", false);
    }
    if options & wopt::WALL != 0 || c.ptraced_by_caller {
        return Expect::by("L-WAIT-ELIGIBLE", true);
    }
    let clone_child = c.exit_signal != SIGCHLD;
    let wclone = options & wopt::WCLONE != 0;
    Expect::by("L-WAIT-ELIGIBLE", clone_child == wclone)
}

/// What `wait4` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitResult {
    Reaped {
        pid: i32,
        status: i32,
    },
    /// WNOHANG and nothing ready.
    NoneReady,
    /// Would block.
    Blocks,
    Error(Errno),
}

/// `wait4(upid, status, options, rusage)` against `children` (with their
/// exit statuses: `(child, status)`), the caller in process group `caller_pgid`.
pub fn wait4_result(
    upid: i32,
    options: u32,
    caller_pgid: i32,
    children: &[(WaitChild, i32)],
    status_ptr_valid: bool,
) -> Expect<WaitResult> {
    use wopt::*;
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WCLONE | WALL) != 0 {
        return Expect::by("L-WAIT-EINVAL", WaitResult::Error(Errno::EINVAL));
    }
    if upid == i32::MIN {
        return Expect::by("L-WAIT-ESRCH", WaitResult::Error(Errno::ESRCH));
    }
    let selected = |c: &WaitChild| match upid {
        -1 => true,
        0 => c.pgid == caller_pgid,
        u if u < -1 => c.pgid == -u,
        u => c.pid == u,
    };
    let eligible: Vec<&(WaitChild, i32)> = children
        .iter()
        .filter(|(c, _)| selected(c) && wait_eligible(c, options).value)
        .collect();
    let pgid_rule = upid == 0 || upid < -1;
    if eligible.is_empty() {
        return Expect::by("L-WAIT-ECHILD", WaitResult::Error(Errno::ECHILD));
    }
    if let Some((c, st)) = eligible.iter().find(|(c, _)| c.zombie) {
        if !status_ptr_valid {
            return Expect::by("L-WAIT-EFAULT", WaitResult::Error(Errno::EFAULT));
        }
        let rule = if pgid_rule {
            "L-WAIT-PGID"
        } else {
            "L-WAIT-REAP"
        };
        return Expect::by(
            rule,
            WaitResult::Reaped {
                pid: c.pid,
                status: *st,
            },
        );
    }
    if options & WNOHANG != 0 {
        Expect::by("L-WAIT-WNOHANG", WaitResult::NoneReady)
    } else {
        Expect::by("L-WAIT-REAP", WaitResult::Blocks)
    }
}

/// The parent's SIGCHLD disposition, as far as auto-reaping goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigchldDisposition {
    Default,
    Ignore,
    /// A handler or SIG_DFL installed with SA_NOCLDWAIT.
    NoCldWait,
}

/// `do_notify_parent`: is the child reaped by the kernel at exit?
pub fn autoreaped(exit_signal: i32, parent: SigchldDisposition, ptraced: bool) -> Expect<bool> {
    let v = !ptraced && exit_signal == SIGCHLD && parent != SigchldDisposition::Default;
    Expect::by("L-WAIT-AUTOREAP", v)
}

/// waitid idtypes.
pub const P_ALL: i32 = 0;
pub const P_PID: i32 = 1;
pub const P_PGID: i32 = 2;

/// `kernel_waitid_prepare`'s argument checks; `None` when they pass.
pub fn waitid_error(idtype: i32, id: i32, options: u32) -> Option<Expect<Errno>> {
    use wopt::*;
    let bad = options
        & !(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | WNOTHREAD | WCLONE | WALL)
        != 0
        || options & (WEXITED | WSTOPPED | WCONTINUED) == 0
        || match idtype {
            P_ALL => false,
            P_PID => id <= 0,
            P_PGID => id < 0,
            3 => id < 0, // P_PIDFD
            _ => true,
        };
    bad.then(|| Expect::by("L-WAITID-EINVAL", Errno::EINVAL))
}

// ---------------------------------------------------------------- execve

/// What path lookup finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lookup {
    Found,
    Missing,
    /// A non-final component is not a directory.
    NotDir,
    SymlinkLoop,
    SearchDenied,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Regular,
    Directory,
    Fifo,
    Device,
}

/// What the binary handlers make of the file content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Elf,
    /// `#!` chain: `depth` scripts before reaching `end`.
    Script {
        depth: u32,
        interpreter_missing: bool,
    },
    Unknown,
}

/// Everything that decides an execve's errno (model-spec §3.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecFacts {
    pub filename_readable: bool,
    /// Bytes of the filename without its NUL.
    pub filename_len: usize,
    pub lookup: Lookup,
    pub kind: FileKind,
    /// Some execute bit is set in the mode.
    pub exec_bit: bool,
    pub noexec_mount: bool,
    pub open_for_write: bool,
    /// The argv/envp arrays and strings are readable.
    pub args_readable: bool,
    pub argc: usize,
    pub envc: usize,
    /// Longest string, NUL included.
    pub longest_string: usize,
    /// Filename + envp + argv strings, NULs included.
    pub strings_total: usize,
    /// RLIMIT_STACK soft limit in bytes.
    pub rlimit_stack: u64,
    pub format: Format,
}

pub const PATH_MAX: usize = 4096;
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// `bprm_stack_limits`: bytes available for strings, or None when the
/// pointer array alone is too big.
pub fn exec_string_limit(rlimit_stack: u64, argc: usize, envc: usize) -> Option<u64> {
    const STK_LIM: u64 = 8 << 20;
    const ARG_MAX: u64 = 32 * 4096;
    let limit = (STK_LIM / 4 * 3).min(rlimit_stack / 4).max(ARG_MAX);
    let ptrs = ((argc.max(1) + envc) * 8) as u64;
    (limit > ptrs).then(|| limit - ptrs)
}

/// The errno of an execve with these facts, or None (it runs), for kernel `k`.
pub fn exec_error(k: KernelVersion, f: &ExecFacts) -> Expect<Option<Errno>> {
    let name = || -> Option<Expect<Option<Errno>>> {
        if !f.filename_readable {
            return Some(Expect::by("L-EXEC-EFAULT-FILENAME", Some(Errno::EFAULT)));
        }
        if f.filename_len + 1 > PATH_MAX {
            return Some(Expect::by("L-EXEC-ENAMETOOLONG", Some(Errno::ENAMETOOLONG)));
        }
        if f.filename_len == 0 {
            return Some(Expect::by("L-EXEC-ENOENT-EMPTY", Some(Errno::ENOENT)));
        }
        None
    };
    let open = || -> Option<Expect<Option<Errno>>> {
        let e = match f.lookup {
            Lookup::Found => None,
            Lookup::Missing => Some(Errno::ENOENT),
            Lookup::NotDir => Some(Errno::ENOTDIR),
            Lookup::SymlinkLoop => Some(Errno::ELOOP),
            Lookup::SearchDenied => Some(Errno::EACCES),
        };
        if e.is_some() {
            return Some(Expect::by("L-EXEC-LOOKUP", e));
        }
        if f.kind != FileKind::Regular {
            return Some(Expect::by("L-EXEC-EACCES-TYPE", Some(Errno::EACCES)));
        }
        if f.noexec_mount {
            return Some(Expect::by("L-EXEC-EACCES-NOEXEC", Some(Errno::EACCES)));
        }
        if !f.exec_bit {
            return Some(Expect::by("L-EXEC-EACCES-MODE", Some(Errno::EACCES)));
        }
        if f.open_for_write && applies("L-EXEC-ETXTBSY", k) {
            return Some(Expect::by("L-EXEC-ETXTBSY", Some(Errno::ETXTBSY)));
        }
        None
    };
    let args = || -> Option<Expect<Option<Errno>>> {
        if !f.args_readable {
            return Some(Expect::by("L-EXEC-EFAULT-ARGV", Some(Errno::EFAULT)));
        }
        if f.longest_string > MAX_ARG_STRLEN {
            return Some(Expect::by("L-EXEC-E2BIG-STRLEN", Some(Errno::E2BIG)));
        }
        match exec_string_limit(f.rlimit_stack, f.argc, f.envc) {
            Some(l) if f.strings_total as u64 <= l => None,
            _ => Some(Expect::by("L-EXEC-E2BIG-TOTAL", Some(Errno::E2BIG))),
        }
    };
    if let Some(e) = name() {
        return e;
    }
    let early_args = applies("L-EXEC-ARGS-FIRST", k);
    let first = if early_args { args() } else { open() };
    if let Some(e) = first {
        return e;
    }
    let second = if early_args { open() } else { args() };
    if let Some(e) = second {
        return e;
    }
    match f.format {
        Format::Elf => Expect::by("L-EXEC-OK", None),
        Format::Unknown => Expect::by("L-EXEC-ENOEXEC", Some(Errno::ENOEXEC)),
        Format::Script {
            depth,
            interpreter_missing,
        } => {
            // exec_binprm: `if (depth > 5) return -ELOOP` after each rewrite.
            if depth > 5 && applies("L-EXEC-ELOOP-DEPTH", k) {
                Expect::by("L-EXEC-ELOOP-DEPTH", Some(Errno::ELOOP))
            } else if depth > 5 {
                Expect::by("L-EXEC-ENOEXEC", Some(Errno::ENOEXEC))
            } else if interpreter_missing {
                Expect::by("L-EXEC-ENOENT-INTERP", Some(Errno::ENOENT))
            } else {
                Expect::by("L-EXEC-OK", None)
            }
        }
    }
}

/// A signal disposition as exec sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Default,
    Ignore,
    Caught,
}

/// `flush_signal_handlers(current, 1)` at exec.
pub fn exec_disposition(before: Disposition) -> Expect<Disposition> {
    let after = match before {
        Disposition::Ignore => Disposition::Ignore,
        _ => Disposition::Default,
    };
    Expect::by("L-EXEC-SIGNALS", after)
}

/// Facts after a successful execve (model-spec §3.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ExecEffects {
    /// pid, ppid, pgid, sid unchanged.
    pub identity_kept: Expect<bool>,
    pub exit_signal: Expect<i32>,
    pub blocked_mask_kept: Expect<bool>,
    pub altstack_cleared: Expect<bool>,
    pub cloexec_closed: Expect<bool>,
    /// argc seen by the new image when argv was empty (NULL).
    pub empty_argv_argc: Expect<usize>,
    /// Threads left after exec (de_thread).
    pub threads_after: Expect<usize>,
    /// The parent sees an exit when a non-leader thread execs.
    pub parent_sees_leader_exit: Expect<bool>,
}

pub fn exec_effects(k: KernelVersion) -> ExecEffects {
    ExecEffects {
        identity_kept: Expect::by("L-EXEC-IDENTITY", true),
        exit_signal: Expect::by("L-EXEC-EXIT-SIGNAL", SIGCHLD),
        blocked_mask_kept: Expect::by("L-EXEC-SIGNALS", true),
        altstack_cleared: Expect::by("L-EXEC-ALTSTACK", true),
        cloexec_closed: Expect::by("L-EXEC-CLOEXEC", true),
        empty_argv_argc: if applies("L-EXEC-EMPTY-ARGV", k) {
            Expect::by("L-EXEC-EMPTY-ARGV", 1)
        } else {
            Expect::by("L-EXEC-EMPTY-ARGV-OLD", 0)
        },
        threads_after: Expect::by("L-EXEC-DE-THREAD", 1),
        parent_sees_leader_exit: Expect::by("L-EXEC-DE-THREAD", false),
    }
}

// ---------------------------------------------------------------- vfork

/// Something that happens to a vfork child while its parent waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VforkEvent {
    ExecFailed,
    ExecSucceeded,
    Exited,
    KilledBySignal,
    /// The child exits after it already released the parent (by exec).
    ExitAfterExec,
}

/// Does this event (re)start the vfork parent?
pub fn vfork_releases(e: VforkEvent) -> Expect<bool> {
    let v = matches!(
        e,
        VforkEvent::ExecSucceeded | VforkEvent::Exited | VforkEvent::KilledBySignal
    );
    Expect::by("L-VFORK-RELEASE", v)
}

/// /proc state letter of the suspended vfork caller.
pub fn vfork_wait_state(k: KernelVersion) -> Expect<char> {
    // TASK_KILLABLE = TASK_WAKEKILL | TASK_UNINTERRUPTIBLE shows as D; so did
    // the older uninterruptible wait.
    let _ = k;
    Expect::by("L-VFORK-SUSPEND", 'D')
}

/// Is the caller suspended (CLONE_VFORK) and is memory shared (CLONE_VM)?
pub fn vfork_semantics(clone_vm: bool, clone_vfork: bool) -> (Expect<bool>, Expect<bool>) {
    (
        Expect::by("L-VFORK-SUSPEND", clone_vfork),
        Expect::by("L-VFORK-MEMORY", clone_vm),
    )
}

// ---------------------------------------------------------------- reparenting

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NewReaper {
    /// Another live thread of the dying thread's group.
    SameGroupThread,
    /// The nearest PR_SET_CHILD_SUBREAPER ancestor at the same pid-ns level.
    Subreaper,
    /// The init of the pid namespace.
    PidNsInit,
}

/// What `find_new_reaper` looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaperFacts {
    pub live_thread_in_group: bool,
    /// An ancestor below the ns init with is_child_subreaper and a live thread.
    pub subreaper_ancestor: bool,
}

pub fn new_reaper(f: &ReaperFacts) -> Expect<NewReaper> {
    let v = if f.live_thread_in_group {
        NewReaper::SameGroupThread
    } else if f.subreaper_ancestor {
        NewReaper::Subreaper
    } else {
        NewReaper::PidNsInit
    };
    Expect::by("L-REPARENT-ORDER", v)
}

/// `reparent_leader`: the child's exit_signal after moving to `to`.
pub fn exit_signal_after_reparent(old: i32, to: NewReaper) -> Expect<i32> {
    let v = if to == NewReaper::SameGroupThread {
        old
    } else {
        SIGCHLD
    };
    Expect::by("L-REPARENT-EXIT-SIGNAL", v)
}

/// Does the child's pdeath_signal fire when its creating thread exits while
/// the parent process lives on?
pub fn pdeathsig_on_thread_exit() -> Expect<bool> {
    Expect::by("L-PDEATHSIG-THREAD", true)
}

/// A fork child's (pdeath_signal, is_child_subreaper), whatever the parent's.
pub fn fork_child_prctl_state(
    parent_pdeathsig: i32,
    parent_subreaper: bool,
) -> (Expect<i32>, Expect<bool>) {
    let _ = (parent_pdeathsig, parent_subreaper);
    (
        Expect::by("L-FORK-PDEATHSIG", 0),
        Expect::by("L-FORK-SUBREAPER", false),
    )
}

/// After the init of a pid namespace dies: are the other members gone, and
/// what does a new fork into it return?
pub fn pidns_after_init_death() -> (Expect<bool>, Expect<Errno>) {
    (
        Expect::by("L-PIDNS-ZAP", true),
        Expect::by("L-PIDNS-ENOMEM", Errno::ENOMEM),
    )
}

// ---------------------------------------------------------------- procfs

/// What /proc shows for a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcView {
    /// Present with this state letter.
    State(char),
    Gone,
}

/// /proc for a dead task: Z until reaped, then gone.
pub fn proc_after_death(reaped: bool) -> Expect<ProcView> {
    if reaped {
        Expect::by("L-PROC-REAPED", ProcView::Gone)
    } else {
        Expect::by("L-PROC-ZOMBIE", ProcView::State('Z'))
    }
}

/// Number of NSpid entries of a task `level` pid namespaces below the root.
pub fn nspid_entries(level: usize) -> Expect<usize> {
    Expect::by("L-PROC-NSPID", level + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K618: KernelVersion = kv(6, 18, 44);

    #[test]
    fn rule_ids_are_unique_and_resolvable() {
        for (i, r) in LIFECYCLE_RULES.iter().enumerate() {
            assert!(
                LIFECYCLE_RULES[..i].iter().all(|o| o.id != r.id),
                "duplicate {}",
                r.id
            );
            assert!(!r.versions.is_empty());
        }
        assert!(rule("L-WAIT-ELIGIBLE").is_some());
    }

    #[test]
    fn status_encoding() {
        assert_eq!(exit_status(0x1234).value, 0x3400);
        assert_eq!(exit_status(-1).value, 0xff00);
        assert_eq!(exit_status(256).value, 0);
        assert_eq!(signaled_status(9, false).value, 9);
        assert_eq!(signaled_status(3, true).value, 0x83);
    }

    #[test]
    fn group_code_wins_and_last_thread_rule_is_versioned() {
        use ThreadEnd::*;
        let e = group_exit_status(K618, &[Exit(3), ExitGroup(9)], 0);
        assert_eq!((e.value, e.rule), (0x900, "L-EXIT-GROUP"));
        assert_eq!(group_exit_status(K618, &[Exit(1), Exit(2)], 0).value, 0x200);
        assert_eq!(
            group_exit_status(kv(5, 10, 0), &[Exit(1), Exit(2)], 0).value,
            0x100
        );
    }

    fn child(es: i32) -> WaitChild {
        WaitChild {
            pid: 100,
            pgid: 1,
            exit_signal: es,
            is_thread: false,
            child_of_calling_thread: true,
            ptraced_by_caller: false,
            zombie: true,
        }
    }

    #[test]
    fn eligibility_matrix() {
        use wopt::*;
        let t = |c: &WaitChild, o| wait_eligible(c, o).value;
        assert!(t(&child(17), 0) && !t(&child(17), WCLONE) && t(&child(17), WALL));
        assert!(!t(&child(10), 0) && t(&child(10), WCLONE) && t(&child(10), WALL));
        assert!(!t(&child(0), 0) && t(&child(0), WCLONE) && t(&child(0), WALL));
        let thread = WaitChild {
            is_thread: true,
            exit_signal: -1,
            ..child(17)
        };
        assert!(!t(&thread, WALL));
        let sib = WaitChild {
            child_of_calling_thread: false,
            ..child(17)
        };
        assert!(t(&sib, 0) && !t(&sib, WNOTHREAD));
    }

    #[test]
    fn wait4_order() {
        use wopt::*;
        let kids = [(child(17), 0x100)];
        let r = |u, o| wait4_result(u, o, 1, &kids, true).value;
        assert_eq!(r(i32::MIN, 0x100), WaitResult::Error(Errno::EINVAL));
        assert_eq!(r(i32::MIN, 0), WaitResult::Error(Errno::ESRCH));
        assert_eq!(r(101, 0), WaitResult::Error(Errno::ECHILD));
        assert_eq!(
            r(-1, 0),
            WaitResult::Reaped {
                pid: 100,
                status: 0x100
            }
        );
        assert_eq!(
            r(0, 0),
            WaitResult::Reaped {
                pid: 100,
                status: 0x100
            }
        );
        assert_eq!(r(-2, 0), WaitResult::Error(Errno::ECHILD));
        let live = [(
            WaitChild {
                zombie: false,
                ..child(17)
            },
            0,
        )];
        assert_eq!(
            wait4_result(-1, WNOHANG, 1, &live, true).value,
            WaitResult::NoneReady
        );
        assert_eq!(
            wait4_result(-1, 0, 1, &kids, false).value,
            WaitResult::Error(Errno::EFAULT)
        );
        assert_eq!(
            wait4_result(-1, 0, 1, &[], true).value,
            WaitResult::Error(Errno::ECHILD)
        );
    }

    #[test]
    fn autoreap_only_sigchld_children() {
        assert!(autoreaped(17, SigchldDisposition::Ignore, false).value);
        assert!(autoreaped(17, SigchldDisposition::NoCldWait, false).value);
        assert!(!autoreaped(10, SigchldDisposition::Ignore, false).value);
        assert!(!autoreaped(17, SigchldDisposition::Default, false).value);
    }

    #[test]
    fn waitid_checks() {
        use wopt::*;
        assert!(waitid_error(P_ALL, 0, WNOHANG).is_some());
        assert!(waitid_error(P_PID, 0, WEXITED).is_some());
        assert!(waitid_error(P_PID, 5, WEXITED | WNOWAIT).is_none());
    }

    fn ok_facts() -> ExecFacts {
        ExecFacts {
            filename_readable: true,
            filename_len: 10,
            lookup: Lookup::Found,
            kind: FileKind::Regular,
            exec_bit: true,
            noexec_mount: false,
            open_for_write: false,
            args_readable: true,
            argc: 1,
            envc: 0,
            longest_string: 11,
            strings_total: 22,
            rlimit_stack: 8 << 20,
            format: Format::Elf,
        }
    }

    #[test]
    fn exec_errors() {
        let e = |f: ExecFacts| exec_error(K618, &f).value;
        assert_eq!(e(ok_facts()), None);
        assert_eq!(
            e(ExecFacts {
                filename_len: 0,
                ..ok_facts()
            }),
            Some(Errno::ENOENT)
        );
        assert_eq!(
            e(ExecFacts {
                filename_len: 4096,
                ..ok_facts()
            }),
            Some(Errno::ENAMETOOLONG)
        );
        assert_eq!(
            e(ExecFacts {
                kind: FileKind::Fifo,
                ..ok_facts()
            }),
            Some(Errno::EACCES)
        );
        assert_eq!(
            e(ExecFacts {
                format: Format::Unknown,
                ..ok_facts()
            }),
            Some(Errno::ENOEXEC)
        );
        let s = |d, m| Format::Script {
            depth: d,
            interpreter_missing: m,
        };
        assert_eq!(
            e(ExecFacts {
                format: s(5, false),
                ..ok_facts()
            }),
            None
        );
        assert_eq!(
            e(ExecFacts {
                format: s(6, false),
                ..ok_facts()
            }),
            Some(Errno::ELOOP)
        );
        assert_eq!(
            e(ExecFacts {
                format: s(1, true),
                ..ok_facts()
            }),
            Some(Errno::ENOENT)
        );
        assert_eq!(
            e(ExecFacts {
                longest_string: MAX_ARG_STRLEN,
                ..ok_facts()
            }),
            None
        );
        assert_eq!(
            e(ExecFacts {
                longest_string: MAX_ARG_STRLEN + 1,
                ..ok_facts()
            }),
            Some(Errno::E2BIG)
        );
        assert_eq!(
            e(ExecFacts {
                strings_total: 3 << 20,
                ..ok_facts()
            }),
            Some(Errno::E2BIG)
        );
        // Missing file and bad argv: the open comes first on 6.8+, not on 5.9-6.7.
        let both = ExecFacts {
            lookup: Lookup::Missing,
            args_readable: false,
            ..ok_facts()
        };
        assert_eq!(exec_error(K618, &both).value, Some(Errno::ENOENT));
        assert_eq!(exec_error(kv(6, 1, 0), &both).value, Some(Errno::EFAULT));
        // ETXTBSY disappeared in 6.11.0-6.11.10.
        let w = ExecFacts {
            open_for_write: true,
            ..ok_facts()
        };
        assert_eq!(exec_error(K618, &w).value, Some(Errno::ETXTBSY));
        assert_eq!(exec_error(kv(6, 11, 5), &w).value, None);
        assert_eq!(exec_error(kv(6, 11, 11), &w).value, Some(Errno::ETXTBSY));
    }

    #[test]
    fn exec_effects_by_version() {
        assert_eq!(exec_effects(K618).empty_argv_argc.value, 1);
        assert_eq!(exec_effects(kv(5, 17, 0)).empty_argv_argc.value, 0);
        assert_eq!(
            exec_disposition(Disposition::Caught).value,
            Disposition::Default
        );
        assert_eq!(
            exec_disposition(Disposition::Ignore).value,
            Disposition::Ignore
        );
        assert_eq!(exec_string_limit(8 << 20, 1, 0), Some((2 << 20) - 8));
    }

    #[test]
    fn vfork_and_reparent() {
        assert!(!vfork_releases(VforkEvent::ExecFailed).value);
        assert!(vfork_releases(VforkEvent::ExecSucceeded).value);
        assert!(!vfork_releases(VforkEvent::ExitAfterExec).value);
        let f = ReaperFacts {
            live_thread_in_group: false,
            subreaper_ancestor: true,
        };
        assert_eq!(new_reaper(&f).value, NewReaper::Subreaper);
        assert_eq!(
            exit_signal_after_reparent(10, NewReaper::Subreaper).value,
            17
        );
        assert_eq!(
            exit_signal_after_reparent(10, NewReaper::SameGroupThread).value,
            10
        );
        assert_eq!(nspid_entries(1).value, 2);
        assert_eq!(proc_after_death(true).value, ProcView::Gone);
    }
}
