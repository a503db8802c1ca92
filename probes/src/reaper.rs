//! The reaper: the probe's first process, parent of the worker, and a
//! PR_SET_CHILD_SUBREAPER. It reaps CLONE_PARENT children (reading the
//! zombie's /proc first when the case is Full) and reports them to the
//! worker through the shared [`Mailbox`]; it resumes a worker stopped by a
//! child's exit signal (SIGSTOP cannot be ignored); and when the worker
//! ends, however it ends, it kills and reaps every remaining descendant,
//! removes what it created, and reports how the worker ended. Where
//! PR_SET_CHILD_SUBREAPER fails (some sandboxes), it leads a process group
//! that every probe process inherits and kills that group instead.

use crate::context::Prepared;
use crate::protocol::{emit, flush_left, Msg};
use crate::wait::reap_and_post;
use forklore_observe as observe;
use forklore_sys::linebuf::LineBuffer;
use forklore_sys::mailbox::Mailbox;
use forklore_sys::wait::{CLD_STOPPED, WALL, WEXITED, WNOWAIT, WSTOPPED};
use forklore_sys::{self as sys};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

fn describe(status: i32) -> (String, Option<i32>) {
    if libc::WIFEXITED(status) {
        (format!("exited {}", libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        let s = libc::WTERMSIG(status);
        (
            format!("killed by {}", forklore_model::flags::signal_name(s as u64)),
            Some(s),
        )
    } else {
        (format!("status {status:#x}"), None)
    }
}

/// Without a subreaper, orphans went to init: SIGKILL every other live
/// member of our process group (every probe process is in it; init reaps
/// the orphans). Returns how many were alive.
fn kill_group() -> u32 {
    let me = std::process::id() as i32;
    let mut killed = 0;
    for round in 0..1000 {
        let alive: Vec<i32> = observe::group_members(me)
            .into_iter()
            .filter(|&(pid, state)| pid != me && state != 'Z' && state != 'X')
            .map(|(pid, _)| pid)
            .collect();
        if alive.is_empty() {
            break;
        }
        if round == 0 {
            killed = alive.len() as u32;
        }
        for pid in alive {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    killed
}

/// SIGKILL every descendant (orphans are reparented to us when we are the
/// subreaper; without one, [`kill_group`] finds them) and reap all our
/// children. Returns how many live processes had to be killed.
fn kill_descendants(subreaper: bool) -> u32 {
    let me = std::process::id() as i32;
    let mut killed = if subreaper { 0 } else { kill_group() };
    for _ in 0..10_000 {
        let kids = observe::children_of(me);
        for (pid, state) in &kids {
            if *state != 'Z' {
                killed += 1;
            }
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        match sys::wait4(-1, WALL) {
            Ok(_) => {}
            Err(sys::Errno::ECHILD) if kids.is_empty() => break,
            Err(sys::Errno::ECHILD) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(_) => {}
        }
    }
    killed
}

pub(crate) fn reaper_main(
    worker: i32,
    mailbox: &Mailbox,
    lines: &LineBuffer,
    prepared: Prepared,
    term: &AtomicBool,
    subreaper: bool,
) -> i32 {
    let mut end = ("vanished".to_string(), None);
    loop {
        if term.load(Ordering::SeqCst) {
            let _ = kill(Pid::from_raw(worker), Signal::SIGKILL);
        }
        match sys::waitid(
            forklore_sys::wait::P_ALL,
            0,
            WEXITED | WSTOPPED | WNOWAIT | WALL,
        ) {
            Err(sys::Errno::EINTR) | Ok(None) => continue,
            Err(sys::Errno::ECHILD) => break,
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "forklore-probe reaper: waitid: errno {e}"
                );
                break;
            }
            Ok(Some(info)) if info.code == CLD_STOPPED => {
                // A child's exit signal may be SIGSTOP: resume, consume the report.
                let _ = kill(Pid::from_raw(info.pid), Signal::SIGCONT);
                let _ = sys::waitid(
                    forklore_sys::wait::P_PID,
                    info.pid,
                    WSTOPPED | WALL | forklore_sys::wait::WNOHANG,
                );
            }
            Ok(Some(info)) if info.pid == worker => {
                if let Ok(Some(r)) = sys::wait4(worker, WALL) {
                    end = describe(r.status);
                }
                break;
            }
            Ok(Some(info)) => reap_and_post(info.pid, mailbox),
        }
    }
    let killed = kill_descendants(subreaper);
    // The worker is gone: the results it had not written yet.
    flush_left(lines);
    for p in prepared.cleanup() {
        let _ = writeln!(std::io::stderr(), "forklore-probe reaper: {p}");
    }
    emit(&Msg::End {
        worker: end.0,
        signal: end.1,
        killed,
    });
    0
}
