//! The reaper: the probe's first process, parent of the worker, and a
//! PR_SET_CHILD_SUBREAPER. It reaps CLONE_PARENT children (reading the
//! zombie's /proc first when the case is Full) and reports them to the
//! worker through the shared [`Mailbox`]; it resumes a worker stopped by a
//! child's exit signal (SIGSTOP cannot be ignored); and when the worker
//! ends, however it ends, it kills and reaps every remaining descendant,
//! removes what it created, and reports how the worker ended.

use crate::context::Prepared;
use crate::engine::reap_in_order;
use crate::protocol::{emit, Msg};
use forklore_model::ReapedBy;
use forklore_observe as observe;
use forklore_sys::mailbox::Mailbox;
use forklore_sys::wait::{self, CLD_STOPPED, WALL, WEXITED, WNOWAIT, WSTOPPED};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
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

/// Reap one zombie that is not the worker and post it to the mailbox.
fn reap_and_post(pid: i32, mailbox: &Mailbox) {
    let full = mailbox.full.load(Ordering::Relaxed) != 0;
    let (rec, seq) = mailbox.next_slot();
    rec.seq.store(0, Ordering::Release);
    rec.has_zombie.store(0, Ordering::Relaxed);
    rec.has_rusage.store(0, Ordering::Relaxed);
    if full {
        if let Ok(z) = observe::proc_info(pid) {
            rec.z_state.store(
                z.state.bytes().next().unwrap_or(b'?') as u32,
                Ordering::Relaxed,
            );
            rec.z_pid.store(z.pid, Ordering::Relaxed);
            rec.z_tgid.store(z.tgid, Ordering::Relaxed);
            rec.z_ppid.store(z.ppid, Ordering::Relaxed);
            rec.z_threads.store(z.threads as i64, Ordering::Relaxed);
            rec.z_exit_signal
                .store(z.exit_signal.unwrap_or(i32::MIN), Ordering::Relaxed);
            let n = z.nspid.len().min(rec.z_nspid.len());
            for (slot, v) in rec.z_nspid.iter().zip(&z.nspid) {
                slot.store(*v, Ordering::Relaxed);
            }
            rec.z_nspid_len.store(n as u32, Ordering::Relaxed);
            rec.has_zombie.store(1, Ordering::Relaxed);
        }
    }
    let (option, status) = match reap_in_order(pid) {
        Ok((who, r)) => {
            if let Some(ru) = full.then_some(r.rusage) {
                let v = [
                    ru.utime_us,
                    ru.stime_us,
                    ru.maxrss_kb,
                    ru.minflt,
                    ru.majflt,
                    ru.nvcsw,
                    ru.nivcsw,
                ];
                for (slot, x) in rec.rusage.iter().zip(v) {
                    slot.store(x as i64, Ordering::Relaxed);
                }
                rec.has_rusage.store(1, Ordering::Relaxed);
            }
            let code = match who {
                ReapedBy::Plain => 1,
                ReapedBy::Wclone => 2,
                ReapedBy::Wall => 3,
                _ => 0,
            };
            (code, r.status)
        }
        Err(_) => (0, 0),
    };
    rec.option.store(option, Ordering::Relaxed);
    rec.status.store(status, Ordering::Relaxed);
    rec.pid.store(pid, Ordering::Relaxed);
    mailbox.publish(rec, seq);
}

/// SIGKILL every descendant (orphans are reparented to us, the subreaper)
/// and reap them all. Returns how many live processes had to be killed.
fn kill_descendants() -> u32 {
    let me = std::process::id() as i32;
    let mut killed = 0;
    for _ in 0..10_000 {
        let kids = observe::children_of(me);
        for (pid, state) in &kids {
            if *state != 'Z' {
                killed += 1;
            }
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        match wait::wait4(-1, WALL) {
            Ok(_) => {}
            Err(forklore_sys::Errno::ECHILD) if kids.is_empty() => break,
            Err(forklore_sys::Errno::ECHILD) => {
                std::thread::sleep(std::time::Duration::from_millis(1))
            }
            Err(_) => {}
        }
    }
    killed
}

pub(crate) fn reaper_main(
    worker: i32,
    mailbox: &Mailbox,
    prepared: Prepared,
    term: &AtomicBool,
) -> i32 {
    let mut end = ("vanished".to_string(), None);
    loop {
        if term.load(Ordering::SeqCst) {
            let _ = kill(Pid::from_raw(worker), Signal::SIGKILL);
        }
        match wait::waitid(wait::P_ALL, 0, WEXITED | WSTOPPED | WNOWAIT | WALL) {
            Err(forklore_sys::Errno::EINTR) | Ok(None) => continue,
            Err(forklore_sys::Errno::ECHILD) => break,
            Err(e) => {
                eprintln!("forklore-probe reaper: waitid: errno {e}");
                break;
            }
            Ok(Some(info)) if info.code == CLD_STOPPED => {
                // A child's exit signal may be SIGSTOP: resume, consume the report.
                let _ = kill(Pid::from_raw(info.pid), Signal::SIGCONT);
                let _ = wait::waitid(wait::P_PID, info.pid, WSTOPPED | WALL | wait::WNOHANG);
            }
            Ok(Some(info)) if info.pid == worker => {
                if let Ok(Some(r)) = wait::wait4(worker, WALL) {
                    end = describe(r.status);
                }
                break;
            }
            Ok(Some(info)) => reap_and_post(info.pid, mailbox),
        }
    }
    let killed = kill_descendants();
    for p in prepared.cleanup() {
        eprintln!("forklore-probe reaper: {p}");
    }
    emit(&Msg::End {
        worker: end.0,
        signal: end.1,
        killed,
    });
    0
}
