//! Helpers shared by the cases, in one place: pipes and reads with a
//! deadline, children (fork, wait until exit, reap), an execve in a child,
//! and the /proc facts cases compare (read through forklore-observe).

use crate::case::{ename, Abort, STEP};
use forklore_model::lifecycle::wopt::{WALL, WEXITED, WNOHANG, WNOWAIT};
use forklore_model::lifecycle::P_PID;
use forklore_model::lifecycle::{self as lm, WaitResult, WaitidInfo};
use forklore_model::Errno;
use forklore_sys::{self as sys, Forked};
use nix::poll::{poll, PollFd, PollFlags};
use serde_json::Value;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// The real uid.
pub fn uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

// ---- pipes and reads with a deadline

/// A CLOEXEC pipe: (read end, write end).
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Abort> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| own_failure(e as i32, "create a pipe", format!("pipe2: {e}")))
}

/// The suite's own auxiliary operation `what` failed with `errno`: a
/// shortage of descriptors, tasks or memory is the environment (`Env`,
/// with the limit named), anything else is `Broken` with `detail`. Never
/// for the syscall a case measures.
pub fn own_failure(errno: i32, what: &str, detail: String) -> Abort {
    match forklore_observe::limits::shortage(errno, what) {
        Some(why) => Abort::Env(why),
        None => Abort::Broken(detail),
    }
}

/// The case puts a descriptor at number `highest` (e.g. the exec target's
/// FORKLORE_HOLD_FD=100): below that RLIMIT_NOFILE the dup2 would fail and
/// the observation would be wrong, so the case is the environment's.
pub fn need_fd_number(highest: u64) -> Result<(), Abort> {
    match forklore_observe::limits::soft_limit("Max open files") {
        Some(Some(n)) if n <= highest => Err(Abort::Env(format!(
            "the suite ran out of file descriptors (RLIMIT_NOFILE {n}): this case needs fd {highest}"
        ))),
        _ => Ok(()),
    }
}

/// Wait until `fd` is readable or `timeout` passes.
pub fn readable(fd: &impl AsFd, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, ms) {
            Ok(n) if n > 0 => return true,
            Ok(_) if left.is_zero() => return false,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
}

/// Read exactly `n` bytes with a deadline.
pub fn read_n(fd: &OwnedFd, n: usize, timeout: Duration) -> Result<Vec<u8>, Abort> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < n {
        if !readable(fd, deadline.saturating_duration_since(Instant::now())) {
            return Err(Abort::Broken(format!(
                "timed out reading {n} bytes (got {})",
                out.len()
            )));
        }
        let mut buf = vec![0u8; n - out.len()];
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => {
                return Err(Abort::Broken(format!(
                    "EOF after {} of {n} bytes",
                    out.len()
                )))
            }
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Abort::Broken(format!("read: {e}"))),
        }
    }
    Ok(out)
}

pub fn read_byte(fd: &OwnedFd, timeout: Duration) -> Result<u8, Abort> {
    Ok(read_n(fd, 1, timeout)?[0])
}

pub fn read_u32(fd: &OwnedFd, timeout: Duration) -> Result<u32, Abort> {
    let b = read_n(fd, 4, timeout)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Read one line (up to '\n' or EOF) with a deadline.
pub fn read_line(fd: &OwnedFd, timeout: Duration) -> Result<String, Abort> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    loop {
        if !readable(fd, deadline.saturating_duration_since(Instant::now())) {
            return Err(Abort::Broken("timed out reading a line".into()));
        }
        let mut b = [0u8; 1];
        match nix::unistd::read(fd, &mut b) {
            Ok(0) => break,
            Ok(_) if b[0] == b'\n' => break,
            Ok(_) => out.push(b[0]),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Abort::Broken(format!("read: {e}"))),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// [`read_line`] for a pipe this caller owns and closes afterwards (the
/// exec target's one report line): reads in blocks instead of a byte per
/// poll and read, and drops whatever follows the newline with the fd.
/// A 128 KiB argument echoed back costs 260,000 syscalls byte by byte:
/// 40 ms on hardware, over 20 s under qemu TCG.
pub fn read_line_owned(fd: OwnedFd, timeout: Duration) -> Result<String, Abort> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut b = vec![0u8; 64 * 1024];
    loop {
        if !readable(&fd, deadline.saturating_duration_since(Instant::now())) {
            return Err(Abort::Broken("timed out reading a line".into()));
        }
        match nix::unistd::read(&fd, &mut b) {
            Ok(0) => break,
            Ok(n) => match b[..n].iter().position(|&c| c == b'\n') {
                Some(i) => {
                    out.extend_from_slice(&b[..i]);
                    break;
                }
                None => out.extend_from_slice(&b[..n]),
            },
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Abort::Broken(format!("read: {e}"))),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

pub fn write_all(fd: &OwnedFd, b: &[u8]) -> Result<(), Abort> {
    let mut done = 0;
    while done < b.len() {
        match nix::unistd::write(fd, &b[done..]) {
            Ok(k) => done += k,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Abort::Broken(format!("write: {e}"))),
        }
    }
    Ok(())
}

/// Spin (yielding the CPU) until `cond` holds or `timeout` passes.
pub fn spin_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::yield_now();
    }
}

// ---- /proc, through forklore-observe

/// State letter from /proc/<pid>/stat, None when the directory is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    forklore_observe::stat_field(&pid.to_string(), 3)?
        .chars()
        .next()
}

/// exit_signal (stat field 38).
pub fn proc_exit_signal(pid: i32) -> Option<i32> {
    forklore_observe::stat_field(&pid.to_string(), 38)?
        .parse()
        .ok()
}

/// A numeric field of /proc/<pid>/stat (numbered as in proc(5)).
pub fn stat_number(pid: i32, n: usize) -> Option<i64> {
    forklore_observe::stat_field(&pid.to_string(), n)?
        .parse()
        .ok()
}

/// A `Name:` line of /proc/<pid>/status (`pid` may be `"self"`).
pub fn status_field(pid: &str, name: &str) -> Option<String> {
    forklore_observe::status_field(pid, name)
}

/// /proc/<pid>/stat's state in the model's terms.
pub fn proc_view(pid: i32) -> lm::ProcView {
    match proc_state(pid) {
        Some(c) => lm::ProcView::State(c),
        None => lm::ProcView::Gone,
    }
}

/// [`proc_view`] once the task is past EXIT_DEAD (`X`): a child the
/// kernel reaps itself is EXIT_DEAD from exit_notify until release_task,
/// which runs after the tasklist lock is dropped and after a waiting parent
/// may already have been woken (and got ECHILD). `X` is that transition,
/// not a state to report; waits at most `timeout` for it to end.
pub fn proc_view_settled(pid: i32, timeout: Duration) -> lm::ProcView {
    let deadline = Instant::now() + timeout;
    loop {
        let v = proc_view(pid);
        if v != lm::ProcView::State('X') || Instant::now() >= deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

// ---- children

/// Fork a child that runs `f` and exits with its return value.
pub fn fork_child(f: impl FnOnce() -> i32) -> Result<i32, Abort> {
    match sys::fork_single_threaded(17)
        .map_err(|e| own_failure(e.raw(), "fork", format!("fork: errno {e}")))?
    {
        Forked::Child => sys::exit_group(f()),
        Forked::Parent { child: pid } => Ok(pid),
    }
}

/// Block until `pid` is a zombie (waitid WNOWAIT, any kind of child).
pub fn until_zombie(pid: i32) -> Result<(), Abort> {
    if !exited_within(pid, STEP)? {
        return Err(Abort::Broken(format!("child {pid} did not exit")));
    }
    Ok(())
}

/// Wait (without reaping) until child `pid` has exited, at most `timeout`:
/// a pidfd becomes readable when the process exits. Where pidfd_open is
/// missing (ENOSYS in some sandboxes), poll waitid(WNOHANG | WNOWAIT).
pub fn exited_within(pid: i32, timeout: Duration) -> Result<bool, Abort> {
    match pidfd_open(pid) {
        Ok(fd) => Ok(readable(&fd, timeout)),
        Err(sys::Errno::ENOSYS) => {
            let deadline = Instant::now() + timeout;
            loop {
                match sys::waitid(P_PID, pid, WEXITED | WNOHANG | WNOWAIT | WALL) {
                    Ok(Some(_)) => return Ok(true),
                    Ok(None) if Instant::now() >= deadline => return Ok(false),
                    Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                    Err(e) => {
                        return Err(Abort::Broken(format!("waitid({pid}): errno {e}")));
                    }
                }
            }
        }
        Err(e) => Err(Abort::Broken(format!("pidfd_open({pid}): errno {e}"))),
    }
}

/// After [`exited_within`] said `pid` exited: wait until its exit is
/// complete for waiters. A pidfd turns readable at do_notify_pidfd, inside
/// exit_notify's tasklist_lock write section, before the parent's signal is
/// queued; a waitid (WNOWAIT, WNOHANG) takes that lock for reading, so once
/// it returns, exit_notify has finished (the signal is pending, the
/// children are reparented). On a fast machine the window is nanoseconds;
/// under emulation (qemu TCG) a scenario did read ShdPnd inside it.
pub fn exit_complete(pid: i32) {
    let _ = sys::waitid(P_PID, pid, WEXITED | WNOHANG | WNOWAIT | WALL);
}

/// After a CLONE_CHILD_CLEARTID join: wait (up to `timeout`) until thread
/// `tid` of this process is released. The kernel clears the tid word in
/// mm_release, before exit_notify reparents the thread's children; the
/// thread leaves /proc/self/task only in release_task, after it.
pub fn thread_released(tid: i32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let path = format!("/proc/self/task/{tid}");
    while std::path::Path::new(&path).exists() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// pidfd_open(pid, 0), or ENOSYS when `FORKLORE_SIMULATE_MISSING` lists
/// `pidfd-open` (tests of the degraded path).
fn pidfd_open(pid: i32) -> Result<OwnedFd, sys::Errno> {
    if forklore_observe::simulated_missing("pidfd-open") {
        return Err(sys::Errno::ENOSYS);
    }
    sys::pidfd_open(pid, 0)
}

/// pidfd_open for a case that needs a pidfd to test anything: ENOSYS is
/// the facility missing (skip, with the reason), anything else broken.
pub fn pidfd_needed(pid: i32) -> Result<OwnedFd, Abort> {
    pidfd_open(pid).map_err(|e| match e {
        sys::Errno::ENOSYS => {
            Abort::Skip("pidfd_open is not implemented here (ENOSYS): no pidfd to test".into())
        }
        e => Abort::Broken(format!("pidfd_open({pid}): errno {e}")),
    })
}

/// Reap `pid` (any kind of child) if it exits within `timeout`:
/// `Some(status)`, or None when it is still alive.
pub fn reap_within(pid: i32, timeout: Duration) -> Result<Option<i32>, Abort> {
    if !exited_within(pid, timeout)? {
        return Ok(None);
    }
    sys::wait4(pid, WALL)
        .map(|r| r.map(|r| r.status))
        .map_err(|e| Abort::Broken(format!("wait4({pid}): errno {e}")))
}

/// Observed wait4 outcome in the model's terms.
pub fn observe_wait4(r: Result<Option<sys::Reaped>, sys::Errno>) -> WaitResult {
    match r {
        Ok(None) => WaitResult::NoneReady,
        Ok(Some(r)) => WaitResult::Reaped {
            pid: r.pid,
            status: r.status,
        },
        Err(e) => WaitResult::Error(Errno(e.raw())),
    }
}

/// A waitid result in the model's terms.
pub fn observe_waitid(
    r: Result<Option<sys::WaitInfo>, sys::Errno>,
) -> Result<Option<WaitidInfo>, Errno> {
    match r {
        Ok(None) => Ok(None),
        Ok(Some(i)) => Ok(Some(WaitidInfo {
            signo: i.signo,
            pid: i.pid,
            uid: i.uid,
            code: i.code,
            status: i.status,
        })),
        Err(e) => Err(Errno(e.raw())),
    }
}

// ---- execve in a child

/// What happened to an execve in a child.
#[derive(Debug)]
pub enum ExecObs {
    Failed(sys::Errno),
    Ran {
        report: Value,
        status: i32,
    },
    /// execve neither returned nor ran the new image within [`STEP`] (it
    /// blocks: gVisor's execve of a FIFO waits for a writer); the child
    /// was killed. An observation, judged against the model like any other.
    Blocked,
}

impl ExecObs {
    /// The errno name, or `"ok"` when the new image ran.
    pub fn outcome(&self) -> String {
        match self {
            ExecObs::Failed(e) => ename(*e),
            ExecObs::Ran { .. } => "ok".into(),
            ExecObs::Blocked => "blocked".into(),
        }
    }
}

/// A `setup` error that starts with this is a facility the environment
/// lacks (a mount refused in a sandbox): the case is skipped with the rest
/// of the message, not broken.
pub const SKIP_PREFIX: &str = "skip: ";

/// Fork; in the child run `setup` (its JSON goes back as "pre"), point
/// stdout at a pipe, and call `exec`, which returns the errno on failure.
pub fn exec_in_child(
    setup: impl FnOnce() -> Result<Value, String>,
    exec: impl FnOnce() -> sys::Errno,
) -> Result<(Value, ExecObs), Abort> {
    let (err_r, err_w) = pipe()?;
    let (out_r, out_w) = pipe()?;
    let (pre_r, pre_w) = pipe()?;
    match sys::fork_single_threaded(17).map_err(|e| Abort::Broken(format!("fork: {}", ename(e))))? {
        Forked::Child => {
            drop((err_r, out_r, pre_r));
            let pre = match setup() {
                Ok(v) => v,
                Err(e) => serde_json::json!({ "setup_error": e }),
            };
            let _ = write_all(&pre_w, format!("{pre}\n").as_bytes());
            drop(pre_w);
            let _ = sys::dup2(out_w.as_raw_fd(), 1);
            let e = exec();
            let _ = write_all(&err_w, &e.raw().to_le_bytes());
            sys::exit_group(0)
        }
        Forked::Parent { child: pid } => {
            drop((err_w, out_w, pre_w));
            let pre: Value = serde_json::from_str(&read_line(&pre_r, STEP)?).unwrap_or(Value::Null);
            if let Some(e) = pre.get("setup_error") {
                let _ = reap_within(pid, STEP);
                if let Some(why) = e.as_str().and_then(|e| e.strip_prefix(SKIP_PREFIX)) {
                    return Err(Abort::Skip(why.to_string()));
                }
                return Err(Abort::Broken(format!("setup in the child: {e}")));
            }
            // Exec success closes err_w (CLOEXEC): EOF with no bytes.
            let mut buf = [0u8; 4];
            if !readable(&err_r, STEP) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = reap_within(pid, STEP);
                return Ok((pre, ExecObs::Blocked));
            }
            let n = nix::unistd::read(&err_r, &mut buf).unwrap_or(0);
            if n == 4 {
                let _ = reap_within(pid, STEP);
                return Ok((
                    pre,
                    ExecObs::Failed(sys::Errno::from_raw(i32::from_le_bytes(buf))),
                ));
            }
            let line = read_line_owned(out_r, STEP)?;
            let report = serde_json::from_str(&line).unwrap_or(Value::String(line));
            let status = reap_within(pid, STEP)?.unwrap_or(-1);
            Ok((pre, ExecObs::Ran { report, status }))
        }
    }
}

/// A path as a C string (empty if it holds a NUL).
pub fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
}
