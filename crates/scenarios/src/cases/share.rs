//! What a successful clone shares (model-spec §3.1): CLONE_FILES, CLONE_FS,
//! CLONE_SIGHAND, CLONE_CLEAR_SIGHAND, CLONE_SETTLS. Each child is a raw
//! clone running a [`Script`] of raw syscalls; each flag is also run
//! without it, so both sides of the rule are observed.

use crate::case::{ename, Abort, Check, Ctx, Facts, STEP};
use crate::util::{self, pipe};
use forklore_model::lifecycle::Expect;
use forklore_model::lifecycle::{self as lm, cflag, Disposition, Shareable};
use forklore_sys::abi::{CLONE_VFORK, CLONE_VM};
use forklore_sys::{self as sys, Handler, Script, Step};
use std::ffi::CString;
use std::os::fd::{AsRawFd, IntoRawFd};

const SIGUSR1: i32 = 10;
const SIGUSR2: i32 = 12;

/// Run `script` in a raw clone child (`flags | SIGCHLD`) and reap it; the
/// child's exit status must be 0.
fn run_child(flags: u64, script: &Script, tls: u64) -> Result<(), Abort> {
    let pid = sys::clone_script_tls(flags, 17, script, tls)
        .map_err(|e| Abort::Broken(format!("clone({flags:#x}): {}", ename(e))))?;
    reap_ok(pid)
}

fn reap_ok(pid: i32) -> Result<(), Abort> {
    match util::reap_within(pid, STEP)? {
        Some(0) => Ok(()),
        Some(st) => Err(Abort::Broken(format!(
            "child {pid} ended with status {st:#x}"
        ))),
        None => Err(Abort::Broken(format!("child {pid} did not exit"))),
    }
}

fn disposition(h: u64) -> Disposition {
    match h {
        0 => Disposition::Default,
        1 => Disposition::Ignore,
        _ => Disposition::Caught,
    }
}

fn read_u64(fd: &std::os::fd::OwnedFd) -> Result<u64, Abort> {
    let b = util::read_n(fd, 8, STEP)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(&b);
    Ok(u64::from_le_bytes(a))
}

pub fn files(_: &Ctx) -> Result<Check, Abort> {
    let mut f = Facts::new();
    for (name, flags) in [("without", 0u64), ("clone_files", cflag::CLONE_FILES)] {
        // A raw descriptor: if the child closes it for us, nothing of ours
        // may close it again.
        let fd = std::fs::File::open("/dev/null")?.into_raw_fd();
        run_child(flags, &Script::new(&[Step::Close { fd }]), 0)?;
        let open = sys::fd_is_open(fd);
        f.add(
            &format!("{name}/closed_in_parent"),
            lm::clone_shares(Shareable::Files, flags),
            !open,
        );
        if open {
            let _ = sys::close_inherited(fd);
        }
    }
    f.done()
}

pub fn fs(_: &Ctx) -> Result<Check, Abort> {
    let mut f = Facts::new();
    let dir = tempfile::tempdir()?;
    let there = dir.path().canonicalize()?;
    let path = CString::new(there.as_os_str().as_encoded_bytes())
        .map_err(|e| Abort::Broken(e.to_string()))?;
    for (name, flags) in [("without", 0u64), ("clone_fs", cflag::CLONE_FS)] {
        std::env::set_current_dir("/")?;
        run_child(
            flags,
            &Script::new(&[Step::Chdir {
                path: path.as_ptr() as usize,
            }]),
            0,
        )?;
        let cwd = std::env::current_dir()?;
        f.add(
            &format!("{name}/parent_cwd_moved"),
            lm::clone_shares(Shareable::Fs, flags),
            cwd == there,
        );
    }
    std::env::set_current_dir("/")?;
    f.done()
}

pub fn sighand(_: &Ctx) -> Result<Check, Abort> {
    let mut f = Facts::new();
    for (name, flags) in [("without", 0u64), ("clone_sighand", cflag::CLONE_SIGHAND)] {
        sys::set_handler(SIGUSR2, Handler::Default).map_err(|e| Abort::Broken(ename(e)))?;
        // CLONE_SIGHAND needs CLONE_VM; CLONE_VFORK keeps us suspended (and
        // the shared stack and script alive) until the child exits.
        let script = Script::new(&[Step::SetHandler {
            sig: SIGUSR2,
            handler: Handler::Catch { flags: 0 },
        }]);
        run_child(flags | CLONE_VM | CLONE_VFORK, &script, 0)?;
        let (h, _) = sys::handler_of(SIGUSR2).map_err(|e| Abort::Broken(ename(e)))?;
        let shared = lm::clone_shares(Shareable::Sighand, flags);
        let expected = Expect {
            value: if shared.value {
                Disposition::Caught
            } else {
                Disposition::Default
            },
            rule: shared.rule,
        };
        f.add(&format!("{name}/parent_sigusr2"), expected, disposition(h));
    }
    sys::set_handler(SIGUSR2, Handler::Default).map_err(|e| Abort::Broken(ename(e)))?;
    f.done()
}

pub fn clear_sighand(ctx: &Ctx) -> Result<Check, Abort> {
    let mut f = Facts::new();
    sys::set_handler(SIGUSR1, Handler::Catch { flags: 0 }).map_err(|e| Abort::Broken(ename(e)))?;
    sys::set_handler(SIGUSR2, Handler::Ignore).map_err(|e| Abort::Broken(ename(e)))?;
    for (name, flags) in [
        ("without", 0u64),
        ("clone_clear_sighand", cflag::CLONE_CLEAR_SIGHAND),
    ] {
        let (r, w) = pipe()?;
        let script = Script::new(&[
            Step::ReportHandler {
                fd: w.as_raw_fd(),
                sig: SIGUSR1,
            },
            Step::ReportHandler {
                fd: w.as_raw_fd(),
                sig: SIGUSR2,
            },
        ]);
        let pid = match sys::clone3_script(flags, 17, &script) {
            Err(sys::Errno::ENOSYS) => {
                return Err(Abort::Skip("clone3 is not available (ENOSYS)".into()))
            }
            Err(e) => return Err(Abort::Broken(format!("clone3: {}", ename(e)))),
            Ok(p) => p,
        };
        drop(w);
        let usr1 = read_u64(&r)?;
        let usr2 = read_u64(&r)?;
        reap_ok(pid)?;
        f.add(
            &format!("{name}/caught_sigusr1"),
            lm::child_disposition(ctx.kernel, Disposition::Caught, flags),
            disposition(usr1),
        );
        f.add(
            &format!("{name}/ignored_sigusr2"),
            lm::child_disposition(ctx.kernel, Disposition::Ignore, flags),
            disposition(usr2),
        );
    }
    f.done()
}

pub fn settls(_: &Ctx) -> Result<Check, Abort> {
    let mut f = Facts::new();
    let parent_fs = sys::fs_base().map_err(|e| Abort::Broken(ename(e)))?;
    // Any user address will do: the child never touches TLS.
    let area = vec![0u64; 64];
    let tls = area.as_ptr() as u64;
    for (name, flags) in [("without", 0u64), ("clone_settls", cflag::CLONE_SETTLS)] {
        let (r, w) = pipe()?;
        let script = Script::new(&[Step::ReportFsBase { fd: w.as_raw_fd() }]);
        let pid = sys::clone_script_tls(flags, 17, &script, tls)
            .map_err(|e| Abort::Broken(format!("clone: {}", ename(e))))?;
        drop(w);
        let seen = read_u64(&r)?;
        reap_ok(pid)?;
        f.add(
            &format!("{name}/child_fs_base"),
            lm::child_fs_base(flags, tls, parent_fs),
            seen,
        );
    }
    drop(area);
    f.done()
}
