//! execveat(2) (fs/exec.c do_execveat_common, alloc_bprm, do_open_execat;
//! fs/binfmt_script.c load_script): a path relative to a directory
//! descriptor, AT_EMPTY_PATH on an O_PATH descriptor, a memfd and a
//! script, AT_SYMLINK_NOFOLLOW, invalid flags, an empty path without
//! AT_EMPTY_PATH. The descriptors are opened by the case process and
//! inherited by the child that calls execveat; fixtures live in a tempdir.

use crate::case::{outcome, Abort, Check, Ctx, Facts};
use crate::util::{cpath, exec_in_child, ExecObs};
use forklore_model::execveat::{self as xm, ExecveatFacts, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW};
use forklore_model::lifecycle::Expect;
use forklore_model::KernelVersion;
use forklore_sys::{self as sys, ExecArgs};
use serde_json::Value;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The sys crate's flag values are the model's.
const _: () = assert!(sys::abi::AT_EMPTY_PATH == AT_EMPTY_PATH);
const _: () = assert!(sys::abi::AT_SYMLINK_NOFOLLOW == AT_SYMLINK_NOFOLLOW);

/// `execveat(dirfd, path, [argv0], [], flags)` in a child.
fn try_execveat(dirfd: i32, path: &[u8], flags: u32) -> Result<ExecObs, Abort> {
    let c = CString::new(path.to_vec()).map_err(|e| Abort::Broken(e.to_string()))?;
    let args = ExecArgs::new(&[b"forklore-execveat"], &[]);
    Ok(exec_in_child(
        || Ok(Value::Null),
        || sys::execveat(dirfd, &c, &args, flags),
    )?
    .1)
}

/// The model's verdict as the outcome string ("ok" or the errno name).
fn want(k: KernelVersion, f: ExecveatFacts) -> Expect<String> {
    let e = xm::execveat_error(k, &f);
    Expect {
        value: outcome(e.value),
        rule: e.rule,
    }
}

/// Open `path` with `flags` (O_PATH, O_DIRECTORY, ...); close-on-exec
/// only if `cloexec` (std always sets it; cleared here otherwise).
fn open(path: &Path, flags: u32, cloexec: bool) -> Result<OwnedFd, Abort> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags as i32)
        .open(path)
        .map_err(|e| Abort::Broken(format!("open {}: {e}", path.display())))?;
    let fd = OwnedFd::from(f);
    if !cloexec {
        nix::fcntl::fcntl(
            &fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )?;
    }
    Ok(fd)
}

const RUNS: ExecveatFacts = ExecveatFacts {
    flags: 0,
    empty_path: false,
    relative_to_dirfd: false,
    final_symlink: false,
    script: false,
    fd_cloexec: true,
    runnable: true,
};

pub fn dirfd_relative(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let (dir, name) = match (t.parent(), t.file_name()) {
        (Some(d), Some(n)) => (d, n),
        _ => return Err(Abort::Broken(format!("{} has no parent", t.display()))),
    };
    // O_PATH: the target's directory is 0711 (searchable, not readable).
    let dirfd = open(dir, sys::abi::O_PATH | sys::abi::O_DIRECTORY, true)?;
    let obs = try_execveat(
        dirfd.as_raw_fd(),
        std::os::unix::ffi::OsStrExt::as_bytes(name),
        0,
    )?;
    let mut f = Facts::new();
    let facts = ExecveatFacts {
        relative_to_dirfd: true,
        ..RUNS
    };
    f.add("relative_name", want(ctx.kernel, facts), obs.outcome());
    f.done()
}

pub fn empty_path_opath(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let fd = open(&t, sys::abi::O_PATH, true)?;
    let obs = try_execveat(fd.as_raw_fd(), b"", AT_EMPTY_PATH)?;
    let mut f = Facts::new();
    let facts = ExecveatFacts {
        empty_path: true,
        flags: AT_EMPTY_PATH,
        ..RUNS
    };
    f.add("o_path_fd", want(ctx.kernel, facts), obs.outcome());
    f.done()
}

pub fn empty_path_memfd(ctx: &Ctx) -> Result<Check, Abort> {
    // vm.memfd_noexec = 2 (6.3+) makes every memfd non-executable.
    if let Ok(v) = std::fs::read_to_string("/proc/sys/vm/memfd_noexec") {
        if v.trim() == "2" {
            return Err(Abort::Skip(
                "vm.memfd_noexec is 2: no memfd may be executed".into(),
            ));
        }
    }
    let name = c"forklore-exec-target";
    let exec_flags = sys::abi::MFD_CLOEXEC | sys::abi::MFD_EXEC;
    let fd = match sys::memfd_create(name, exec_flags) {
        Ok(fd) => fd,
        // Before 6.3 MFD_EXEC is unknown (EINVAL); every memfd is executable.
        Err(sys::Errno::EINVAL) => sys::memfd_create(name, sys::abi::MFD_CLOEXEC)
            .map_err(|e| Abort::Broken(format!("memfd_create: {e}")))?,
        Err(sys::Errno::ENOSYS) => {
            return Err(Abort::Skip(
                "memfd_create is not implemented (ENOSYS)".into(),
            ))
        }
        Err(e) => return Err(Abort::Broken(format!("memfd_create: {e}"))),
    };
    let mut file = std::fs::File::from(fd);
    std::io::Write::write_all(&mut file, sys::exec::EXEC_TARGET_ELF)?;
    let fd = OwnedFd::from(file);
    let obs = try_execveat(fd.as_raw_fd(), b"", AT_EMPTY_PATH)?;
    let mut f = Facts::new();
    let facts = ExecveatFacts {
        empty_path: true,
        flags: AT_EMPTY_PATH,
        ..RUNS
    };
    f.add("memfd", want(ctx.kernel, facts), obs.outcome());
    f.done()
}

/// A `#!<target>` script in a fresh tempdir.
fn script(t: &Path) -> Result<(tempfile::TempDir, std::path::PathBuf), Abort> {
    let dir = tempfile::tempdir()?;
    let p = dir.path().join("script");
    std::fs::write(&p, format!("#!{}\n", t.display()))?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
    // The directory must be searchable by whoever runs the interpreter.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    Ok((dir, p))
}

/// A script through a descriptor that stays open across the exec: it
/// runs, the interpreter gets /dev/fd/N; the same descriptor relative to
/// its directory too.
pub fn script_fd(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let (dir, p) = script(&t)?;
    let fd = open(&p, 0, false)?;
    let obs = try_execveat(fd.as_raw_fd(), b"", AT_EMPTY_PATH)?;
    let dirfd = open(dir.path(), sys::abi::O_PATH | sys::abi::O_DIRECTORY, false)?;
    let rel = try_execveat(dirfd.as_raw_fd(), b"script", 0)?;
    let mut f = Facts::new();
    let facts = ExecveatFacts {
        empty_path: true,
        flags: AT_EMPTY_PATH,
        script: true,
        fd_cloexec: false,
        ..RUNS
    };
    f.add("script_fd", want(ctx.kernel, facts), obs.outcome());
    let arg1 = match &obs {
        ExecObs::Ran { report, .. } => report["argv"][1].clone(),
        _ => Value::Null,
    };
    f.add(
        "interpreter_argv1",
        xm::script_path_arg(fd.as_raw_fd()),
        arg1,
    );
    let facts = ExecveatFacts {
        relative_to_dirfd: true,
        script: true,
        fd_cloexec: false,
        ..RUNS
    };
    f.add(
        "script_relative_to_dirfd",
        want(ctx.kernel, facts),
        rel.outcome(),
    );
    f.done()
}

/// The same through close-on-exec descriptors: ENOENT.
pub fn script_cloexec(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let (dir, p) = script(&t)?;
    let fd = open(&p, 0, true)?;
    let obs = try_execveat(fd.as_raw_fd(), b"", AT_EMPTY_PATH)?;
    let dirfd = open(dir.path(), sys::abi::O_PATH | sys::abi::O_DIRECTORY, true)?;
    let rel = try_execveat(dirfd.as_raw_fd(), b"script", 0)?;
    // The ELF itself through a close-on-exec descriptor runs.
    let tfd = open(&t, sys::abi::O_PATH, true)?;
    let elf = try_execveat(tfd.as_raw_fd(), b"", AT_EMPTY_PATH)?;
    let mut f = Facts::new();
    let script = ExecveatFacts {
        empty_path: true,
        flags: AT_EMPTY_PATH,
        script: true,
        fd_cloexec: true,
        ..RUNS
    };
    f.add("script_cloexec_fd", want(ctx.kernel, script), obs.outcome());
    let facts = ExecveatFacts {
        relative_to_dirfd: true,
        script: true,
        fd_cloexec: true,
        ..RUNS
    };
    f.add(
        "script_relative_to_cloexec_dirfd",
        want(ctx.kernel, facts),
        rel.outcome(),
    );
    let facts = ExecveatFacts {
        script: false,
        ..script
    };
    f.add("elf_cloexec_fd", want(ctx.kernel, facts), elf.outcome());
    f.done()
}

pub fn symlink_nofollow(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let dir = tempfile::tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&t, &link)?;
    let l = cpath(&link);
    let nofollow = try_execveat(sys::abi::AT_FDCWD, l.as_bytes(), AT_SYMLINK_NOFOLLOW)?;
    let follow = try_execveat(sys::abi::AT_FDCWD, l.as_bytes(), 0)?;
    let mut f = Facts::new();
    let facts = ExecveatFacts {
        final_symlink: true,
        ..RUNS
    };
    f.add(
        "nofollow",
        want(
            ctx.kernel,
            ExecveatFacts {
                flags: AT_SYMLINK_NOFOLLOW,
                ..facts
            },
        ),
        nofollow.outcome(),
    );
    f.add("follow", want(ctx.kernel, facts), follow.outcome());
    f.done()
}

pub fn einval_flags(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let p = cpath(&t);
    let mut f = Facts::new();
    for flags in [0x2u32, 0x200, 0x400, 0x8000_0000, AT_EMPTY_PATH | 0x1] {
        let obs = try_execveat(sys::abi::AT_FDCWD, p.as_bytes(), flags)?;
        let facts = ExecveatFacts { flags, ..RUNS };
        f.add(
            &format!("flags_{flags:#x}"),
            want(ctx.kernel, facts),
            obs.outcome(),
        );
    }
    f.done()
}

pub fn enoent_empty(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let fd = open(&t, sys::abi::O_PATH, true)?;
    let mut f = Facts::new();
    // Also with an invalid flag: the name is looked at first.
    for flags in [0u32, 0x2] {
        let obs = try_execveat(fd.as_raw_fd(), b"", flags)?;
        let facts = ExecveatFacts {
            empty_path: true,
            flags,
            ..RUNS
        };
        f.add(
            &format!("empty_path_flags_{flags:#x}"),
            want(ctx.kernel, facts),
            obs.outcome(),
        );
    }
    f.done()
}
