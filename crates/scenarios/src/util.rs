//! The scenario process (subreaper, one case process per scenario, cleanup)
//! and helpers shared by the cases: pipes, /proc readers, bounded waits.

use crate::cases::{self, Abort, Ctx};
use crate::{ScenarioResult, Verdict, CASE_DEADLINE};
use forklore_sys as sys;
use nix::poll::{poll, PollFd, PollFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// SIGKILL a whole process group (ignores ESRCH).
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        let _ = kill(Pid::from_raw(-pgid), Signal::SIGKILL);
    }
}

/// A CLOEXEC pipe: (read end, write end).
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Abort> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Abort::Broken(format!("pipe2: {e}")))
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

/// Fields of /proc/<pid>/stat, numbered as in proc(5) (index 1 = pid).
pub fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = s.rsplit_once(')')?;
    let mut v = vec![
        String::new(),
        head.split_whitespace().next()?.to_string(),
        String::new(),
    ];
    v.extend(rest.split_whitespace().map(str::to_string));
    Some(v)
}

/// State letter from /proc/<pid>/stat, None when the directory is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    stat_fields(pid)?.get(3)?.chars().next()
}

/// exit_signal (stat field 38).
pub fn proc_exit_signal(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(38)?.parse().ok()
}

/// A `Name:` line of /proc/<pid>/status.
pub fn status_field(pid: &str, name: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|r| r.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
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

/// Wait (without reaping) until child `pid` has exited, at most `timeout`:
/// a pidfd becomes readable when the process exits.
pub fn exited_within(pid: i32, timeout: Duration) -> Result<bool, Abort> {
    let fd = sys::pidfd_open(pid, 0)
        .map_err(|e| Abort::Broken(format!("pidfd_open({pid}): errno {e}")))?;
    Ok(readable(&fd, timeout))
}

/// Reap `pid` (any kind of child) if it exits within `timeout`:
/// `Some(status)`, or None when it is still alive.
pub fn reap_within(pid: i32, timeout: Duration) -> Result<Option<i32>, Abort> {
    if !exited_within(pid, timeout)? {
        return Ok(None);
    }
    sys::wait4(pid, cases::WALL)
        .map(|r| r.map(|r| r.status))
        .map_err(|e| Abort::Broken(format!("wait4({pid}): errno {e}")))
}

/// The direct children of this process (all threads).
pub fn my_children() -> Vec<i32> {
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

/// Kill and reap every descendant (they are reparented to this subreaper).
pub fn kill_and_reap_all(timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        for c in my_children() {
            let _ = kill(Pid::from_raw(c), Signal::SIGKILL);
        }
        match sys::wait4(-1, cases::WALL | cases::WNOHANG) {
            Err(_) => return, // ECHILD: nothing left
            Ok(None) => {
                if Instant::now() >= deadline {
                    return;
                }
                // Something is dying: block until it is reapable.
                let _ = sys::waitid(0, 0, cases::WEXITED | cases::WNOWAIT | cases::WALL);
            }
            Ok(_) => {}
        }
    }
}

fn result_from(
    id: &str,
    group: &str,
    start: Instant,
    r: Result<cases::Check, Abort>,
) -> ScenarioResult {
    let mut out = ScenarioResult {
        id: id.to_string(),
        group: group.to_string(),
        verdict: Verdict::Broken,
        expected: serde_json::Value::Null,
        observed: serde_json::Value::Null,
        rule: None,
        reason: None,
        duration_ms: 0,
    };
    match r {
        Ok(c) => {
            out.verdict = if c.expected == c.observed {
                Verdict::Pass
            } else {
                Verdict::Fail
            };
            out.expected = c.expected;
            out.observed = c.observed;
            out.rule = Some(c.rules.join(","));
            out.reason = c.note;
        }
        Err(Abort::Skip(r)) => {
            out.verdict = Verdict::Skip;
            out.reason = Some(r);
        }
        Err(Abort::Env(r)) => {
            out.verdict = Verdict::Env;
            out.reason = Some(r);
        }
        Err(Abort::Broken(r)) => out.reason = Some(r),
    }
    out.duration_ms = start.elapsed().as_millis() as u64;
    out
}

fn drop_privileges(uid: u32) -> Result<(), String> {
    use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
    if euid() != 0 {
        return Ok(());
    }
    setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
    let g = Gid::from_raw(uid);
    setresgid(g, g, g).map_err(|e| format!("setresgid: {e}"))?;
    let u = Uid::from_raw(uid);
    setresuid(u, u, u).map_err(|e| format!("setresuid: {e}"))?;
    Ok(())
}

/// The body of the scenario process.
pub fn run_in_scenario_process(ids: &[String], as_uid: Option<u32>) -> Vec<ScenarioResult> {
    let mut out = Vec::new();
    let priv_err = as_uid.map(drop_privileges).and_then(Result::err);
    // Orphans of a case come back to us, so nothing escapes the cleanup.
    let subreaper = nix::sys::prctl::set_child_subreaper(true);
    for id in ids {
        let start = Instant::now();
        let Some(case) = cases::CASES.iter().find(|c| c.id == id.as_str()) else {
            out.push(result_from(
                id,
                "unknown",
                start,
                Err(Abort::Broken(format!("no scenario {id:?}"))),
            ));
            continue;
        };
        let r = if let Some(e) = &priv_err {
            Err(Abort::Broken(format!(
                "cannot drop to the unprivileged uid: {e}"
            )))
        } else if let Err(e) = subreaper {
            Err(Abort::Broken(format!("PR_SET_CHILD_SUBREAPER: {e}")))
        } else if case.needs_root && euid() != 0 {
            Err(Abort::Skip("needs root".into()))
        } else {
            run_case_process(case)
        };
        out.push(result_from(id, case.group(), start, r));
        kill_and_reap_all(Duration::from_secs(5));
    }
    out
}

/// Fork the case process, collect its JSON result, kill it at the deadline.
fn run_case_process(case: &'static cases::Case) -> Result<cases::Check, Abort> {
    let (r, w) = pipe()?;
    match sys::fork_single_threaded(17).map_err(|e| Abort::Broken(format!("fork: errno {e}")))? {
        sys::Forked::Child => {
            drop(r);
            // The case never writes on the scenario process's stdout.
            if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
                let _ = sys::dup2(null.as_raw_fd(), 1);
            }
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
            let ctx = Ctx::detect();
            let res = (case.run)(&ctx);
            let msg = match res {
                Ok(c) => serde_json::json!({"ok": c}),
                Err(a) => serde_json::json!({"abort": a}),
            };
            let _ = write_all(&w, msg.to_string().as_bytes());
            drop(w);
            sys::exit_group(0);
        }
        sys::Forked::Parent { child: pid } => {
            drop(w);
            let exited = exited_within(pid, CASE_DEADLINE)?;
            if !exited {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let status = sys::wait4(pid, cases::WALL)
                .ok()
                .flatten()
                .map_or(-1, |r| r.status);
            let mut buf = Vec::new();
            // The case wrote before exiting; descendants may still hold the
            // pipe, so read only what is there.
            let _ = nix::fcntl::fcntl(
                &r,
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            );
            let mut f = std::fs::File::from(r);
            let _ = f.read_to_end(&mut buf);
            if !exited {
                return Err(Abort::Broken(format!(
                    "case timed out after {CASE_DEADLINE:?}"
                )));
            }
            let v: serde_json::Value = serde_json::from_slice(&buf).map_err(|_| {
                Abort::Broken(format!(
                    "case process died without a result (wait status {status:#x})"
                ))
            })?;
            if let Some(c) = v.get("ok") {
                serde_json::from_value(c.clone()).map_err(|e| Abort::Broken(e.to_string()))
            } else {
                Err(serde_json::from_value(v["abort"].clone())
                    .unwrap_or(Abort::Broken("bad abort".into())))
            }
        }
    }
}
