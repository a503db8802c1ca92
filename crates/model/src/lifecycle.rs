//! Post-creation semantics (model-spec §3): execve errors and effects,
//! exit/exit_group status, wait4/waitid selection, vfork release,
//! reparenting, zombies in procfs.
//!
//! Every expectation comes from one row of [`LIFECYCLE_RULES`] (id, kernel
//! function, versions, source). The functions return an [`Expect`]: the
//! predicted value and the id of the rule that decided it. Pure: no I/O.

use crate::errno::Errno;
use crate::prediction::{RuleInfo, VersionRange};
use crate::ruledef::{from, kv, span, Y};
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

/// dcd46d897adb "exec: Force single empty string when argv is empty":
/// mainline 5.18, backported to 5.10.110.
const EMPTY_ARGV: &[VersionRange] = &[span(kv(5, 10, 110), kv(5, 10, Y)), from(kv(5, 18, 0))];
const EMPTY_ARGV_OLD: &[VersionRange] = &[
    span(kv(2, 6, 0), kv(5, 10, 109)),
    span(kv(5, 11, 0), kv(5, 17, Y)),
];

/// The lifecycle rule table, in the order of model-spec §3.
pub static LIFECYCLE_RULES: &[RuleInfo] = &[
    // --- §3.10 execve errors, in kernel order (6.8+) ---
    rule!("L-EXEC-EFAULT-FILENAME", "fs/namei.c: getname_flags (via getname)", Some(Errno::EFAULT),
        "the filename pointer is unreadable", "model-spec §3.10 step 1"),
    rule!("L-EXEC-ENAMETOOLONG", "fs/namei.c: getname_flags (via getname)", Some(Errno::ENAMETOOLONG),
        "the filename (with its NUL) is longer than PATH_MAX", "model-spec §3.10 step 1"),
    rule!("L-EXEC-ENOENT-EMPTY", "fs/namei.c: getname_flags", Some(Errno::ENOENT),
        "an empty filename without AT_EMPTY_PATH", "model-spec §3.10 step 1"),
    rule!("L-EXEC-ARGS-FIRST", "fs/exec.c: do_execveat_common", None,
        "5.9-6.7 counted and copied argv/envp before opening the file",
        "model-spec §3.10 version note; 978ffcbf00d8 (6.8) moved the open first",
        &[span(kv(5, 9, 0), kv(6, 7, Y))], None),
    rule!("L-EXEC-LOOKUP", "fs/exec.c: do_open_execat (path lookup: do_filp_open)", None,
        "path lookup errors: ENOENT, ENOTDIR, ELOOP (symlink loop), EACCES (search)",
        "model-spec §3.10 step 3"),
    rule!("L-EXEC-EACCES-TYPE", "fs/exec.c: do_open_execat", Some(Errno::EACCES),
        "not a regular file (directory, FIFO, device)", "model-spec §3.10 step 3; S_ISREG check"),
    rule!("L-EXEC-EACCES-MODE", "fs/namei.c: generic_permission (MAY_EXEC)", Some(Errno::EACCES),
        "no execute bit for anyone: CAP_DAC_OVERRIDE does not grant exec",
        "model-spec §3.10 step 3"),
    rule!("L-EXEC-EACCES-NOEXEC", "fs/exec.c: do_open_execat (path_noexec)", Some(Errno::EACCES),
        "the file is on a noexec mount", "model-spec §3.10 step 3"),
    rule!("L-EXEC-ETXTBSY", "fs/exec.c: do_open_execat (exe_file_deny_write_access / deny_write_access)", Some(Errno::ETXTBSY),
        "the file is open for writing",
        "model-spec §3.10 step 3; absent 6.11.0-6.11.10 and 6.12.0-6.12.1 (2a010c412853, reverted by 3b832035387f)",
        &[span(kv(2, 6, 0), kv(6, 10, Y)), span(kv(6, 11, 11), kv(6, 11, Y)), from(kv(6, 12, 2))],
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
        "dcd46d897adb \"exec: Force single empty string when argv is empty\" (5.18); \
         stable backport in 5.10.110 (Debian linux 5.10.113-1 changelog, ChangeLog-5.10.110; \
         linux-source-5.10 5.10.262 fs/exec.c do_execveat_common: `if (bprm->argc == 0) \
         { retval = copy_string_kernel(\"\", bprm); ... bprm->argc = 1; }`)",
        EMPTY_ARGV, Some("other stable series (5.4.y, 5.15.y, 5.16.y, 5.17.y) also took the \
         backport; their first release is not recorded here, so they are modelled as before it")),
    rule!("L-EXEC-EMPTY-ARGV-OLD", "fs/exec.c: do_execveat_common", None,
        "an empty argv runs with argc 0",
        "before dcd46d897adb (5.18) and its 5.10.110 stable backport",
        EMPTY_ARGV_OLD, None),
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
    rule!("L-EXIT-LEADER-DELAY", "include/linux/sched/signal.h: delay_group_leader -> kernel/exit.c: wait_consider_task", None,
        "a leader that exited while threads live stays Z and cannot be reaped until the group is empty",
        "model-spec §3.6, §3.9"),
    rule!("L-EXIT-LAST-THREAD-CODE", "kernel/exit.c: synchronize_group_exit (quick_threads)", None,
        "without a group exit, the last thread's code becomes the group code",
        "model-spec §3.7",
        &[from(kv(5, 19, 0))], Some("first release not verified (5.19 or 6.0)")),
    rule!("L-EXIT-LEADER-CODE", "kernel/exit.c: wait_task_zombie", None,
        "without a group exit, the leader's own code is reported", "model-spec §3.7 (older kernels)",
        &[span(kv(2, 6, 0), kv(5, 18, Y))], Some("last release not verified (5.18 or 5.19)")),
    // --- §3.6 wait ---
    rule!("L-WAIT-EINVAL", "kernel/exit.c: kernel_wait4", Some(Errno::EINVAL),
        "options outside WNOHANG|WUNTRACED|WCONTINUED|__WNOTHREAD|__WCLONE|__WALL",
        "model-spec §3.6 wait4 (1)"),
    rule!("L-WAIT-ESRCH", "kernel/exit.c: kernel_wait4", Some(Errno::ESRCH),
        "upid == INT_MIN cannot be negated", "model-spec §3.6 wait4 (2)"),
    rule!("L-WAITID-EINVAL", "kernel/exit.c: kernel_waitid_prepare [6.7+] / kernel_waitid [-6.6] (the prepare helper was split out for io_uring waitid in 6.7)", Some(Errno::EINVAL),
        "bad waitid options, none of WEXITED|WSTOPPED|WCONTINUED, or a bad id for the idtype",
        "model-spec §3.6 waitid"),
    rule!("L-WAIT-PGID", "kernel/exit.c: kernel_wait4 (PIDTYPE_PGID)", None,
        "0 selects the caller's process group, < -1 selects group -upid", "model-spec §3.6 wait4 (2)"),
    rule!("L-WAIT-ELIGIBLE", "kernel/exit.c: eligible_child", None,
        "__WALL takes any child; otherwise __WCLONE takes exit_signal != SIGCHLD and no __WCLONE takes SIGCHLD",
        "model-spec §3.6"),
    rule!("L-WAIT-THREAD", "kernel/exit.c: do_wait_thread (children list)", None,
        "CLONE_THREAD tasks are never on the children list: never waitable", "model-spec §3.6"),
    rule!("L-WAIT-NOTHREAD", "kernel/exit.c: __do_wait [6.1+] / do_wait [-5.10] (__WNOTHREAD; __do_wait is in 6.1.192, not in 5.10.262)", None,
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
    rule!("L-WAIT-STOPPED", "kernel/exit.c: wait_task_stopped", None,
        "a group-stopped child is reported only with WUNTRACED/WSTOPPED: wait4 status (sig << 8) | 0x7f, waitid CLD_STOPPED with si_status = the stop signal; reporting clears it unless WNOWAIT",
        "model-spec §3.6; wait(2)"),
    rule!("L-WAIT-CONTINUED", "kernel/exit.c: wait_task_continued", None,
        "a child resumed by SIGCONT is reported only with WCONTINUED: wait4 status 0xffff, waitid CLD_CONTINUED with si_status SIGCONT; reporting clears SIGNAL_STOP_CONTINUED unless WNOWAIT",
        "model-spec §3.6; wait(2)", &[from(kv(2, 6, 10))], None),
    rule!("L-WAITID-SIGINFO", "kernel/exit.c: wait_task_zombie (infop)", None,
        "waitid of a dead child: si_signo SIGCHLD, si_pid, si_uid = the child's real uid, CLD_EXITED with the exit code or CLD_KILLED/CLD_DUMPED with the signal",
        "model-spec §3.6; waitid(2)"),
    rule!("L-WAITID-WNOWAIT", "kernel/exit.c: wait_task_zombie (WNOWAIT)", None,
        "WNOWAIT reports the child and leaves it waitable (still a zombie)",
        "model-spec §3.6; waitid(2)"),
    // --- pidfds ---
    rule!("L-PIDFD-POLL", "fs/pidfs.c: pidfd_poll (kernel/fork.c before 6.9)", None,
        "a process pidfd polls readable once the task has exited (exit_state set, thread group empty) or is gone; not while it runs",
        "\"pidfd: add polling support\" (5.3)", &[from(kv(5, 3, 0))], None),
    rule!("L-PIDFD-CLONE", "kernel/fork.c: copy_process (CLONE_PIDFD)", None,
        "clone3 with CLONE_PIDFD returns a pidfd for the new child in args.pidfd",
        "\"clone: add CLONE_PIDFD\" (5.2, clone); clone3 (5.3)", &[from(kv(5, 3, 0))], None),
    rule!("L-PIDFD-WAITID", "kernel/exit.c: kernel_waitid_prepare [6.7+] / kernel_waitid [-6.6] (P_PIDFD; the prepare helper was split out for io_uring waitid in 6.7)", None,
        "waitid(P_PIDFD, fd) waits for the child the pidfd refers to (PIDTYPE_PID)",
        "\"exit: add support for waiting on pidfds\" (5.4)", &[from(kv(5, 4, 0))], None),
    rule!("L-PIDFD-NONBLOCK", "kernel/exit.c: kernel_waitid (O_NONBLOCK gives EAGAIN)", Some(Errno::EAGAIN),
        "a PIDFD_NONBLOCK pidfd makes waitid on a live child fail with EAGAIN instead of blocking",
        "\"pidfd: support PIDFD_NONBLOCK in pidfd_open()\" (5.10)", &[from(kv(5, 10, 0))], None),
    rule!("L-PIDFD-SIGNAL", "kernel/signal.c: pidfd_send_signal", None,
        "pidfd_send_signal delivers to the thread group while its task exists (a zombie included)",
        "\"signal: add pidfd_send_signal() syscall\" (5.1)", &[from(kv(5, 1, 0))], None),
    rule!("L-PIDFD-SIGNAL-ESRCH", "kernel/signal.c: pidfd_send_signal -> kill_pid_info", Some(Errno::ESRCH),
        "after the child was reaped the pid has no task: ESRCH",
        "\"signal: add pidfd_send_signal() syscall\" (5.1)", &[from(kv(5, 1, 0))], None),
    rule!("L-PIDFD-OPEN-ESRCH", "kernel/pid.c: pidfd_open (find_get_pid)", Some(Errno::ESRCH),
        "no struct pid for that number in the caller's pid namespace",
        "\"pid: add pidfd_open()\" (5.3)", &[from(kv(5, 3, 0))], None),
    rule!("L-PIDFD-OPEN-NONLEADER-ENOENT", "kernel/fork.c: pidfd_prepare", Some(Errno::ENOENT),
        "without PIDFD_THREAD the pid must be a thread-group leader: ENOENT for another thread",
        "\"pidfd: improve uapi when task isn't found\" (Brauner, April 2025)", &[from(kv(6, 15, 0))],
        Some("merged during 6.15-rc; the first tag carrying it was not checked")),
    rule!("L-PIDFD-OPEN-NONLEADER-EINVAL", "kernel/pid.c: pidfd_create / kernel/fork.c: pidfd_prepare", Some(Errno::EINVAL),
        "without PIDFD_THREAD the pid must be a thread-group leader: EINVAL for another thread (before the ENOENT change)",
        "\"pid: add pidfd_open()\" (5.3)", &[span(kv(5, 3, 0), kv(6, 14, Y))],
        Some("last release with EINVAL assumed 6.14")),
    rule!("L-PIDFD-THREAD", "kernel/pid.c: pidfd_open / kernel/fork.c: pidfd_prepare (PIDFD_THREAD)", None,
        "PIDFD_THREAD (O_EXCL) opens a pidfd for any thread; older kernels reject the flag with EINVAL",
        "\"pidfd: implement PIDFD_THREAD flag for pidfd_open()\" (6.9)", &[from(kv(6, 9, 0))], None),
    rule!("L-PIDFD-FLAGS-EINVAL", "kernel/pid.c: pidfd_open", Some(Errno::EINVAL),
        "flags outside PIDFD_NONBLOCK (5.10+) and PIDFD_THREAD (6.9+) are EINVAL",
        "\"pid: add pidfd_open()\" (5.3)", &[from(kv(5, 3, 0))], None),
    // --- §3.1 what a successful clone shares ---
    rule!("L-SHARE-FILES", "kernel/fork.c: copy_files", None,
        "CLONE_FILES shares the files_struct (a close in the child closes the parent's fd); without it the child gets a copy",
        "model-spec §3.1; clone(2)"),
    rule!("L-SHARE-FS", "kernel/fork.c: copy_fs", None,
        "CLONE_FS shares the fs_struct (cwd, root, umask): the child's chdir moves the parent; without it the child gets a copy",
        "model-spec §3.1; clone(2)"),
    rule!("L-SHARE-SIGHAND", "kernel/fork.c: copy_sighand", None,
        "CLONE_SIGHAND shares the handler table (a handler the child installs is the parent's); without it the child gets a copy",
        "model-spec §3.1; clone(2)"),
    rule!("L-SHARE-CLEAR-SIGHAND", "kernel/fork.c: copy_sighand (flush_signal_handlers(tsk, 0))", None,
        "CLONE_CLEAR_SIGHAND resets caught handlers to SIG_DFL in the child; SIG_IGN stays",
        "\"clone3: add CLONE_CLEAR_SIGHAND\" (5.5); model-spec §3.1", &[from(kv(5, 5, 0))], None),
    rule!("L-SHARE-SETTLS", "arch/x86/kernel/process.c: copy_thread (do_set_thread_area_64 / ARCH_SET_FS); arch/arm64/kernel/process.c: copy_thread (thread.uw.tp_value)", None,
        "CLONE_SETTLS sets the child's thread pointer (x86_64 FS base, arm64 TPIDR_EL0) to tls; without it the child inherits the parent's",
        "model-spec §3.1; clone(2)"),
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

/// Look a lifecycle rule up by id: this table, then the tables of the
/// modules that extend it (sessions and groups, execveat, ptrace, kernel
/// threads).
pub fn rule(id: &str) -> Option<&'static RuleInfo> {
    LIFECYCLE_RULES
        .iter()
        .chain(crate::session::SESSION_RULES)
        .chain(crate::execveat::EXECVEAT_RULES)
        .find(|r| r.id == id)
        .or_else(|| crate::ptrace::rule(id))
        .or_else(|| crate::kthread::rule(id))
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

/// `siginfo.si_code` values for SIGCHLD.
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;
pub const SIGCONT: i32 = 18;

/// A state change a waiter may collect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildEvent {
    /// exit(code) / exit_group(code).
    Exited(i64),
    /// Killed by a signal (`core`: a core was dumped).
    Killed { sig: i32, core: bool },
    /// Group stop by this signal.
    Stopped(i32),
    /// Resumed by SIGCONT after a group stop.
    Continued,
}

fn event_rule(ev: ChildEvent) -> &'static str {
    match ev {
        ChildEvent::Exited(_) | ChildEvent::Killed { .. } => "L-WAITID-SIGINFO",
        ChildEvent::Stopped(_) => "L-WAIT-STOPPED",
        ChildEvent::Continued => "L-WAIT-CONTINUED",
    }
}

/// Does a wait with `options` report this pending event? wait4 callers
/// pass their options | WEXITED (kernel_wait4 adds it).
pub fn wait_reports(ev: ChildEvent, options: u32) -> Expect<bool> {
    let bit = match ev {
        ChildEvent::Exited(_) | ChildEvent::Killed { .. } => wopt::WEXITED,
        ChildEvent::Stopped(_) => wopt::WSTOPPED,
        ChildEvent::Continued => wopt::WCONTINUED,
    };
    Expect::by(event_rule(ev), options & bit != 0)
}

/// The wait4 status word for an event.
pub fn wait4_status(ev: ChildEvent) -> Expect<i32> {
    match ev {
        ChildEvent::Exited(c) => exit_status(c),
        ChildEvent::Killed { sig, core } => signaled_status(sig, core),
        // wait_task_stopped: (exit_code << 8) | 0x7f
        ChildEvent::Stopped(sig) => Expect::by("L-WAIT-STOPPED", (sig << 8) | 0x7f),
        // wait_task_continued: 0xffff
        ChildEvent::Continued => Expect::by("L-WAIT-CONTINUED", 0xffff),
    }
}

/// What waitid's siginfo says about an event of child `pid` whose real uid
/// is `uid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitidInfo {
    pub signo: i32,
    pub pid: i32,
    pub uid: u32,
    pub code: i32,
    pub status: i32,
}

pub fn waitid_info(ev: ChildEvent, pid: i32, uid: u32) -> Expect<WaitidInfo> {
    let (code, status) = match ev {
        ChildEvent::Exited(c) => (CLD_EXITED, (c & 0xff) as i32),
        ChildEvent::Killed { sig, core: false } => (CLD_KILLED, sig),
        ChildEvent::Killed { sig, core: true } => (CLD_DUMPED, sig),
        ChildEvent::Stopped(sig) => (CLD_STOPPED, sig),
        ChildEvent::Continued => (CLD_CONTINUED, SIGCONT),
    };
    Expect::by(
        event_rule(ev),
        WaitidInfo {
            signo: SIGCHLD,
            pid,
            uid,
            code,
            status,
        },
    )
}

/// After a wait reported the event, is it reported again? Only with WNOWAIT.
pub fn reported_again(ev: ChildEvent, options: u32) -> Expect<bool> {
    let again = options & wopt::WNOWAIT != 0;
    let rule = match ev {
        ChildEvent::Exited(_) | ChildEvent::Killed { .. } => "L-WAITID-WNOWAIT",
        _ => event_rule(ev),
    };
    Expect::by(rule, again)
}

// ---------------------------------------------------------------- pidfd

pub const P_PIDFD: i32 = 3;
/// pidfd_open flags (include/uapi/linux/pidfd.h).
pub const PIDFD_NONBLOCK: u32 = 0o4000;
pub const PIDFD_THREAD: u32 = 0o200;

/// Is a process pidfd readable (POLLIN)? `exited`: the task has exit_state
/// set; `group_empty`: no other thread left; `reaped`: no task any more.
pub fn pidfd_readable(exited: bool, group_empty: bool, reaped: bool) -> Expect<bool> {
    Expect::by("L-PIDFD-POLL", reaped || (exited && group_empty))
}

/// Does clone3(CLONE_PIDFD) hand back a pidfd on this kernel?
pub fn clone3_pidfd(k: KernelVersion) -> Expect<bool> {
    Expect::by("L-PIDFD-CLONE", applies("L-PIDFD-CLONE", k))
}

/// The child a pidfd names, as a waiter finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitTarget {
    /// Running, nothing to report.
    Running,
    /// This event is pending.
    Pending(ChildEvent),
    /// Already reaped: no longer a child of anyone.
    Reaped,
}

/// waitid(P_PIDFD, fd, options) on the child the pidfd names: what it reports.
pub fn waitid_pidfd(
    k: KernelVersion,
    target: WaitTarget,
    pid: i32,
    uid: u32,
    options: u32,
    nonblock_fd: bool,
) -> Expect<Result<Option<WaitidInfo>, Errno>> {
    if !applies("L-PIDFD-WAITID", k) {
        return Expect::by("L-PIDFD-WAITID", Err(Errno::EINVAL));
    }
    match target {
        WaitTarget::Reaped => Expect::by("L-WAIT-ECHILD", Err(Errno::ECHILD)),
        WaitTarget::Pending(ev) if wait_reports(ev, options).value => {
            let i = waitid_info(ev, pid, uid);
            Expect::by(i.rule, Ok(Some(i.value)))
        }
        _ if options & wopt::WNOHANG != 0 => Expect::by("L-WAIT-WNOHANG", Ok(None)),
        _ if nonblock_fd && applies("L-PIDFD-NONBLOCK", k) => {
            Expect::by("L-PIDFD-NONBLOCK", Err(Errno::EAGAIN))
        }
        // It would block.
        _ => Expect::by("L-PIDFD-WAITID", Ok(None)),
    }
}

/// pidfd_send_signal's result for a process that is alive or a zombie
/// (`reaped` false) or was reaped.
pub fn pidfd_signal_result(reaped: bool) -> Expect<Option<Errno>> {
    if reaped {
        Expect::by("L-PIDFD-SIGNAL-ESRCH", Some(Errno::ESRCH))
    } else {
        Expect::by("L-PIDFD-SIGNAL", None)
    }
}

/// What pidfd_open names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PidTarget {
    /// A live (or zombie) thread-group leader.
    Leader,
    /// A live thread that is not the group leader.
    NonLeaderThread,
    /// A number no task uses (e.g. a reaped child's).
    NoSuchPid,
}

/// `pidfd_open(target, flags)`: None on success.
pub fn pidfd_open_result(k: KernelVersion, target: PidTarget, flags: u32) -> Expect<Option<Errno>> {
    let mut known = 0;
    if applies("L-PIDFD-NONBLOCK", k) {
        known |= PIDFD_NONBLOCK;
    }
    if applies("L-PIDFD-THREAD", k) {
        known |= PIDFD_THREAD;
    }
    if flags & !known != 0 {
        return Expect::by(
            if flags & PIDFD_THREAD != 0 && !applies("L-PIDFD-THREAD", k) {
                "L-PIDFD-THREAD"
            } else {
                "L-PIDFD-FLAGS-EINVAL"
            },
            Some(Errno::EINVAL),
        );
    }
    match target {
        PidTarget::NoSuchPid => Expect::by("L-PIDFD-OPEN-ESRCH", Some(Errno::ESRCH)),
        PidTarget::Leader => Expect::by("L-PIDFD-OPEN-ESRCH", None),
        PidTarget::NonLeaderThread if flags & PIDFD_THREAD != 0 => {
            Expect::by("L-PIDFD-THREAD", None)
        }
        PidTarget::NonLeaderThread if applies("L-PIDFD-OPEN-NONLEADER-ENOENT", k) => {
            Expect::by("L-PIDFD-OPEN-NONLEADER-ENOENT", Some(Errno::ENOENT))
        }
        PidTarget::NonLeaderThread => {
            Expect::by("L-PIDFD-OPEN-NONLEADER-EINVAL", Some(Errno::EINVAL))
        }
    }
}

// ---------------------------------------------------------------- sharing

/// The clone flags the sharing rules read (the model's one flag table is
/// [`crate::flags`]).
pub mod cflag {
    pub use crate::flags::{
        CLONE_CLEAR_SIGHAND, CLONE_FILES, CLONE_FS, CLONE_SETTLS, CLONE_SIGHAND,
    };
}

/// What a child may share with its creator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shareable {
    Files,
    Fs,
    Sighand,
}

/// After a successful clone with `flags`, is a change the child makes to
/// this resource seen by the parent?
pub fn clone_shares(what: Shareable, flags: u64) -> Expect<bool> {
    let (rule, bit) = match what {
        Shareable::Files => ("L-SHARE-FILES", cflag::CLONE_FILES),
        Shareable::Fs => ("L-SHARE-FS", cflag::CLONE_FS),
        Shareable::Sighand => ("L-SHARE-SIGHAND", cflag::CLONE_SIGHAND),
    };
    Expect::by(rule, flags & bit != 0)
}

/// The child's disposition of a signal the parent had as `parent`.
pub fn child_disposition(k: KernelVersion, parent: Disposition, flags: u64) -> Expect<Disposition> {
    if flags & cflag::CLONE_CLEAR_SIGHAND != 0 && applies("L-SHARE-CLEAR-SIGHAND", k) {
        let v = match parent {
            Disposition::Ignore => Disposition::Ignore,
            _ => Disposition::Default,
        };
        return Expect::by("L-SHARE-CLEAR-SIGHAND", v);
    }
    Expect::by("L-SHARE-SIGHAND", parent)
}

/// The child's FS base.
pub fn child_fs_base(flags: u64, tls: u64, parent_fs_base: u64) -> Expect<u64> {
    let v = if flags & cflag::CLONE_SETTLS != 0 {
        tls
    } else {
        parent_fs_base
    };
    Expect::by("L-SHARE-SETTLS", v)
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
    fn stop_continue_and_siginfo() {
        use wopt::*;
        let st = ChildEvent::Stopped(19);
        assert!(!wait_reports(st, WEXITED).value);
        assert!(wait_reports(st, WEXITED | WUNTRACED).value);
        assert_eq!(wait4_status(st).value, 0x137f);
        assert_eq!(wait4_status(ChildEvent::Continued).value, 0xffff);
        assert!(!wait_reports(ChildEvent::Continued, WEXITED | WSTOPPED).value);
        let i = waitid_info(ChildEvent::Exited(0x1234), 5, 7).value;
        assert_eq!(
            (i.code, i.status, i.uid, i.signo),
            (CLD_EXITED, 0x34, 7, 17)
        );
        let c = waitid_info(ChildEvent::Continued, 5, 7).value;
        assert_eq!((c.code, c.status), (CLD_CONTINUED, SIGCONT));
        assert!(reported_again(ChildEvent::Exited(0), WEXITED | WNOWAIT).value);
        assert!(!reported_again(st, WSTOPPED).value);
    }

    #[test]
    fn pidfd_rules_by_version() {
        use wopt::*;
        assert_eq!(
            pidfd_open_result(K618, PidTarget::NonLeaderThread, 0).value,
            Some(Errno::ENOENT)
        );
        assert_eq!(
            pidfd_open_result(kv(6, 8, 0), PidTarget::NonLeaderThread, 0).value,
            Some(Errno::EINVAL)
        );
        assert_eq!(
            pidfd_open_result(K618, PidTarget::NonLeaderThread, PIDFD_THREAD).value,
            None
        );
        assert_eq!(
            pidfd_open_result(kv(6, 8, 0), PidTarget::NonLeaderThread, PIDFD_THREAD).value,
            Some(Errno::EINVAL)
        );
        assert_eq!(
            pidfd_open_result(K618, PidTarget::NoSuchPid, 0).value,
            Some(Errno::ESRCH)
        );
        assert_eq!(
            pidfd_open_result(kv(5, 9, 0), PidTarget::Leader, PIDFD_NONBLOCK).value,
            Some(Errno::EINVAL)
        );
        assert_eq!(
            waitid_pidfd(K618, WaitTarget::Running, 5, 0, WEXITED, true).value,
            Err(Errno::EAGAIN)
        );
        assert_eq!(
            waitid_pidfd(K618, WaitTarget::Running, 5, 0, WEXITED | WNOHANG, true).value,
            Ok(None)
        );
        assert!(pidfd_readable(true, true, false).value);
        assert!(!pidfd_readable(true, false, false).value);
        assert!(!pidfd_readable(false, true, false).value);
        assert_eq!(pidfd_signal_result(true).value, Some(Errno::ESRCH));
    }

    #[test]
    fn sharing() {
        use cflag::*;
        assert!(clone_shares(Shareable::Files, CLONE_FILES).value);
        assert!(!clone_shares(Shareable::Fs, CLONE_FILES).value);
        assert_eq!(
            child_disposition(K618, Disposition::Caught, CLONE_CLEAR_SIGHAND).value,
            Disposition::Default
        );
        assert_eq!(
            child_disposition(K618, Disposition::Ignore, CLONE_CLEAR_SIGHAND).value,
            Disposition::Ignore
        );
        assert_eq!(
            child_disposition(K618, Disposition::Caught, 0).value,
            Disposition::Caught
        );
        assert_eq!(child_fs_base(CLONE_SETTLS, 5, 9).value, 5);
        assert_eq!(child_fs_base(0, 5, 9).value, 9);
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
