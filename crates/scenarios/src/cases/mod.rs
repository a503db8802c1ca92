//! The scenario catalogue. Each case runs in its own fresh, single-threaded
//! case process and returns what the model expected next to what it saw.

use crate::case::Case;
use crate::result::ScenarioInfo;

mod exec_effects;
mod exec_errors;
mod execveat;
mod exit;
mod kthread;
mod orphan;
mod pidfd;
mod procfs;
mod ptrace;
mod reparent;
mod session;
mod share;
mod stop;
mod vfork;
mod wait;

macro_rules! case {
    ($id:literal, $root:expr, $f:path, $d:literal) => {
        case!($id, $root, $f, $d, needs = [])
    };
    ($id:literal, $root:expr, $f:path, $d:literal, needs = [$($n:literal),*]) => {
        Case {
            id: $id,
            needs_root: $root,
            needs: &[$($n),*],
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
        "CLONE_SETTLS: the child's thread pointer (x86_64 FS base, arm64 TPIDR_EL0) is tls; without it, the parent's"),
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
    case!("lifecycle/exec/enoent-missing", false, exec_errors::enoent_missing, "execve of a missing file"),
    case!("lifecycle/exec/enoent-empty-path", false, exec_errors::enoent_empty, "execve(\"\")"),
    case!("lifecycle/exec/enoent-interpreter", false, exec_errors::enoent_interp, "a script whose #! interpreter is missing"),
    case!("lifecycle/exec/enotdir", false, exec_errors::enotdir, "a path component is a regular file"),
    case!("lifecycle/exec/eacces-directory", false, exec_errors::eacces_dir, "execve of a directory"),
    case!("lifecycle/exec/eacces-no-exec-bit", false, exec_errors::eacces_mode, "an ELF with mode 0644 (root too)"),
    case!("lifecycle/exec/eacces-fifo", false, exec_errors::eacces_fifo, "execve of a FIFO"),
    case!("lifecycle/exec/eacces-noexec-mount", true, exec_errors::eacces_noexec,
        "an executable on a noexec tmpfs mounted in a private mount namespace"),
    case!("lifecycle/exec/enoexec", false, exec_errors::enoexec, "a file no binary handler recognises"),
    case!("lifecycle/exec/eloop-symlink", false, exec_errors::eloop_symlink, "a symlink loop"),
    case!("lifecycle/exec/interpreter-depth", false, exec_errors::interp_depth,
        "a chain of 5 #! scripts runs, 6 gives ELOOP"),
    case!("lifecycle/exec/etxtbsy", false, exec_errors::etxtbsy, "an executable open for writing"),
    case!("lifecycle/exec/efault-filename", false, exec_errors::efault_filename, "an unreadable filename pointer"),
    case!("lifecycle/exec/efault-argv", false, exec_errors::efault_argv, "an unreadable argv pointer"),
    case!("lifecycle/exec/e2big-strlen", false, exec_errors::e2big_strlen,
        "a 131071-byte argument runs, a 131072-byte one is E2BIG"),
    case!("lifecycle/exec/e2big-total", false, exec_errors::e2big_total, "argument strings beyond the stack limit"),
    case!("lifecycle/exec/enametoolong", false, exec_errors::enametoolong, "a filename longer than PATH_MAX"),
    case!("lifecycle/exec/success-state", false, exec_effects::success_state,
        "after exec: same pid/ppid/pgid/sid, exit_signal SIGCHLD, handlers reset, SIG_IGN and mask kept, sigaltstack cleared, CLOEXEC fds closed"),
    case!("lifecycle/exec/exit-signal-reset", false, exec_effects::exit_signal_reset,
        "a clone child with exit_signal SIGUSR1 becomes waitable without __WCLONE after exec"),
    case!("lifecycle/exec/empty-argv", false, exec_effects::empty_argv, "argv == NULL gives argv[0] = \"\" on 5.18+"),
    case!("lifecycle/exec/non-leader-thread", false, exec_effects::non_leader,
        "exec from a non-leader thread keeps the pid, leaves one thread, and the parent sees no exit"),
    // execveat
    case!("lifecycle/execveat/dirfd-relative", false, execveat::dirfd_relative,
        "a name relative to an O_PATH directory descriptor runs"),
    case!("lifecycle/execveat/empty-path-opath", false, execveat::empty_path_opath,
        "AT_EMPTY_PATH on an O_PATH descriptor of the program runs it"),
    case!("lifecycle/execveat/empty-path-memfd", false, execveat::empty_path_memfd,
        "AT_EMPTY_PATH on a memfd holding the exec target runs it"),
    case!("lifecycle/execveat/script-fd", false, execveat::script_fd,
        "a #! script through a descriptor kept across exec runs, its interpreter gets /dev/fd/N; relative to a kept directory descriptor too"),
    case!("lifecycle/execveat/script-cloexec-fd", false, execveat::script_cloexec,
        "a #! script through an O_CLOEXEC descriptor (or relative to an O_CLOEXEC directory descriptor) is ENOENT; an ELF that way runs"),
    case!("lifecycle/execveat/symlink-nofollow", false, execveat::symlink_nofollow,
        "AT_SYMLINK_NOFOLLOW on a symlink is ELOOP; without it the link is followed"),
    case!("lifecycle/execveat/einval-flags", false, execveat::einval_flags,
        "flags other than AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH (and 6.14+ AT_EXECVE_CHECK) are EINVAL"),
    case!("lifecycle/execveat/enoent-empty-path", false, execveat::enoent_empty,
        "an empty path without AT_EMPTY_PATH is ENOENT, even with an invalid flag (the name is copied first)"),
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
        "an orphan goes to the nearest subreaper, which gets SIGCHLD and reaps it; exit_signal becomes SIGCHLD",
        needs = ["subreaper"]),
    case!("lifecycle/reparent/to-pidns-init", true, reparent::to_pidns_init,
        "with no subreaper inside the pid namespace an orphan goes to its init"),
    case!("lifecycle/reparent/pdeathsig-thread-exit", false, reparent::pdeathsig_thread,
        "PR_SET_PDEATHSIG fires when the creating thread exits while the process lives"),
    case!("lifecycle/reparent/fork-resets-prctl", false, reparent::fork_resets,
        "a fork child has pdeath_signal 0 and is not a subreaper", needs = ["subreaper"]),
    case!("lifecycle/reparent/pidns-init-death", true, reparent::pidns_init_death,
        "killing a pid-namespace init kills its members; a new fork into it is ENOMEM"),
    // session
    case!("lifecycle/session/inherit", false, session::inherit,
        "a fork, vfork, clone and clone3 child and a CLONE_THREAD thread of a new session leader have its pgid and sid"),
    case!("lifecycle/session/setsid", false, session::setsid,
        "setsid returns the pid; then sid = pgid = pid and no controlling terminal; a second setsid is EPERM"),
    case!("lifecycle/session/setsid-group-leader", false, session::setsid_group_leader,
        "a process-group leader's setsid is EPERM; a member of its group (not the leader) may"),
    case!("lifecycle/session/getsid-getpgid", false, session::get_ids,
        "getsid/getpgid of a child in another session give its ids; of a reaped pid ESRCH"),
    // pgrp
    case!("lifecycle/pgrp/new-group", false, session::new_group,
        "setpgid(child, 0) makes the child a group leader, setpgid(child, pgid) moves it back; setpgid(0, 0) in a child"),
    case!("lifecycle/pgrp/einval-negative", false, session::einval, "a negative pgid is EINVAL, before the pid is looked up"),
    case!("lifecycle/pgrp/esrch-not-child", false, session::esrch, "setpgid on a grandchild or a reaped pid is ESRCH"),
    case!("lifecycle/pgrp/eperm", false, session::eperm,
        "EPERM: a child in another session, a session leader, a group of another session, a missing group"),
    case!("lifecycle/pgrp/eacces-after-exec", false, session::eacces,
        "setpgid on a child works before its execve and is EACCES after"),
    // orphan
    case!("lifecycle/orphan/stopped-member-hup-cont", false, orphan::stopped_member,
        "a group with a stopped member is orphaned by the exit of its last parent outside it in the session: the stopped member gets SIGHUP and SIGCONT"),
    case!("lifecycle/orphan/running-member-hup-cont", false, orphan::running_member,
        "the same group's member that was not stopped gets SIGHUP and SIGCONT too (every member)"),
    case!("lifecycle/orphan/running-group-no-signal", false, orphan::running_group,
        "the same group with no stopped member gets no signal"),
    case!("lifecycle/orphan/ctty-leader-exit", false, orphan::ctty_leader_exit,
        "a session leader acquires a pseudo-terminal (TIOCSCTTY; a non-leader's is EPERM) and exits: the foreground group gets SIGHUP, a background group nothing"),
    // proc
    case!("lifecycle/proc/zombie-state", false, procfs::zombie_state,
        "Z in /proc/<pid>/stat and status until reaped, then the directory is gone"),
    case!("lifecycle/proc/nspid", true, procfs::nspid, "NSpid lists one pid per pid-namespace level"),
    // ptrace across clone (issue 16)
    case!("lifecycle/ptrace/clone-events", false, ptrace::clone_events,
        "PTRACE_O_TRACEFORK/VFORK/CLONE: fork, vfork, clone and clone3 children give the PTRACE_EVENT kernel_clone picks (by CLONE_VFORK, then exit signal), message = new pid; the child is traced by the caller's tracer and first stops in PTRACE_EVENT_STOP (SEIZE) or with SIGSTOP (ATTACH)"),
    case!("lifecycle/ptrace/clone-ptrace-untraced", false, ptrace::clone_ptrace_untraced,
        "CLONE_PTRACE: a traced caller's child is traced by the same tracer without any option; CLONE_UNTRACED stops the auto-attach but not an explicit CLONE_PTRACE; an untraced caller's CLONE_PTRACE child is not traced"),
    case!("lifecycle/ptrace/tracee-wait", false, ptrace::tracee_wait,
        "a tracer waits for its non-child tracee without __WALL, with or without __WCLONE (4.7+), sees its exit first; only then its real parent reaps it"),
    case!("lifecycle/ptrace/attach-refused", false, ptrace::attach_refused,
        "PTRACE_SEIZE/ATTACH is EPERM for oneself, for a task already traced, for a non-dumpable child without CAP_SYS_PTRACE and for init without CAP_SYS_PTRACE"),
    // kernel threads (issue 16), read-only
    case!("lifecycle/kthread/kthreadd", false, kthread::kthreadd,
        "kthreadd is pid 2 with ppid 0, PF_KTHREAD, no mm (empty cmdline and maps, no VmSize), every signal ignored"),
    case!("lifecycle/kthread/children", false, kthread::children,
        "every other PF_KTHREAD task has ppid 2 and no mm"),
    case!("lifecycle/kthread/untouchable", false, kthread::untouchable,
        "PTRACE_SEIZE of a kernel thread is EPERM; kill(2, 0 / SIGKILL) is EPERM without privilege, accepted and dropped as root; kthreadd lives on"),
];

/// Every scenario, in catalogue order.
pub fn catalogue() -> Vec<ScenarioInfo> {
    CASES
        .iter()
        .map(|c| ScenarioInfo {
            id: c.id,
            group: c.group(),
            needs_root: c.needs_root,
            description: c.description,
        })
        .collect()
}
