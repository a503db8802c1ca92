//! execve errors (model-spec §3.10): which errno each failing exec gives.
//! Fixtures with special modes are created at run time in a tempdir that is
//! removed afterwards.

use crate::case::{outcome, Abort, Check, Ctx, Facts};
use crate::util::{self, cpath, exec_in_child, ExecObs, SKIP_PREFIX};
use forklore_model::lifecycle::Expect;
use forklore_model::lifecycle::{self as lm, ExecFacts, FileKind, Format, Lookup};
use forklore_sys::{self as sys, ExecArgs};
use serde_json::Value;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn rlimit_stack() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_STACK)
        .map(|(s, _)| s)
        .unwrap_or(8 << 20)
}

/// Facts of a plain `execve(path, [path], [])` of an ELF that runs.
fn facts(path: &[u8]) -> ExecFacts {
    ExecFacts {
        filename_readable: true,
        filename_len: path.len(),
        lookup: Lookup::Found,
        kind: FileKind::Regular,
        exec_bit: true,
        noexec_mount: false,
        open_for_write: false,
        args_readable: true,
        argc: 1,
        envc: 0,
        longest_string: path.len() + 1,
        strings_total: 2 * (path.len() + 1),
        rlimit_stack: rlimit_stack(),
        format: Format::Elf,
    }
}

/// exec `path` with argv [path] and no environment; returns the outcome.
fn try_exec(path: &[u8]) -> Result<ExecObs, Abort> {
    try_exec_with(path, || Ok(Value::Null))
}

fn try_exec_with(
    path: &[u8],
    setup: impl FnOnce() -> Result<Value, String>,
) -> Result<ExecObs, Abort> {
    let c = CString::new(path.to_vec()).map_err(|e| Abort::Broken(e.to_string()))?;
    let args = ExecArgs::new(&[path], &[]);
    Ok(exec_in_child(setup, || sys::execve(&c, &args))?.1)
}

fn one(name: &str, ctx: &Ctx, f: &ExecFacts, obs: ExecObs) -> Result<Check, Abort> {
    let mut out = Facts::new();
    let e = lm::exec_error(ctx.kernel, f);
    out.add(
        name,
        Expect {
            value: outcome(e.value),
            rule: e.rule,
        },
        obs.outcome(),
    );
    out.done()
}

fn write_file(p: &Path, content: &[u8], mode: u32) -> Result<(), Abort> {
    std::fs::write(p, content)?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn copy_target(ctx: &Ctx, to: &Path, mode: u32) -> Result<(), Abort> {
    std::fs::copy(ctx.target()?, to)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

pub fn enoent_missing(ctx: &Ctx) -> Result<Check, Abort> {
    ctx.target()?;
    let d = tempfile::tempdir()?;
    let p = d.path().join("missing");
    let b = p.as_os_str().as_bytes();
    one(
        "missing",
        ctx,
        &ExecFacts {
            lookup: Lookup::Missing,
            ..facts(b)
        },
        try_exec(b)?,
    )
}

pub fn enoent_empty(ctx: &Ctx) -> Result<Check, Abort> {
    one(
        "empty",
        ctx,
        &ExecFacts {
            filename_len: 0,
            ..facts(b"")
        },
        try_exec(b"")?,
    )
}

pub fn enoent_interp(ctx: &Ctx) -> Result<Check, Abort> {
    let d = tempfile::tempdir()?;
    let p = d.path().join("script");
    write_file(
        &p,
        format!("#!{}/no-such-interpreter\n", d.path().display()).as_bytes(),
        0o755,
    )?;
    let b = p.as_os_str().as_bytes();
    let fmt = Format::Script {
        depth: 1,
        interpreter_missing: true,
    };
    one(
        "missing_interpreter",
        ctx,
        &ExecFacts {
            format: fmt,
            ..facts(b)
        },
        try_exec(b)?,
    )
}

pub fn enotdir(ctx: &Ctx) -> Result<Check, Abort> {
    let d = tempfile::tempdir()?;
    write_file(&d.path().join("file"), b"x", 0o755)?;
    let p = d.path().join("file").join("x");
    let b = p.as_os_str().as_bytes();
    one(
        "component_is_file",
        ctx,
        &ExecFacts {
            lookup: Lookup::NotDir,
            ..facts(b)
        },
        try_exec(b)?,
    )
}

pub fn eacces_dir(ctx: &Ctx) -> Result<Check, Abort> {
    let d = tempfile::tempdir()?;
    let p = d.path().join("dir");
    std::fs::create_dir(&p)?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
    let b = p.as_os_str().as_bytes();
    one(
        "directory",
        ctx,
        &ExecFacts {
            kind: FileKind::Directory,
            ..facts(b)
        },
        try_exec(b)?,
    )
}

pub fn eacces_mode(ctx: &Ctx) -> Result<Check, Abort> {
    let d = tempfile::tempdir()?;
    let p = d.path().join("elf-0644");
    copy_target(ctx, &p, 0o644)?;
    let b = p.as_os_str().as_bytes();
    let mut c = one(
        "no_exec_bit",
        ctx,
        &ExecFacts {
            exec_bit: false,
            ..facts(b)
        },
        try_exec(b)?,
    )?;
    c.note = Some(format!("euid {}", util::euid()));
    Ok(c)
}

pub fn eacces_fifo(ctx: &Ctx) -> Result<Check, Abort> {
    let d = tempfile::tempdir()?;
    let p = d.path().join("fifo");
    nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o755))?;
    let b = p.as_os_str().as_bytes();
    one(
        "fifo",
        ctx,
        &ExecFacts {
            kind: FileKind::Fifo,
            ..facts(b)
        },
        try_exec(b)?,
    )
}

pub fn eacces_noexec(ctx: &Ctx) -> Result<Check, Abort> {
    use nix::mount::{mount, MsFlags};
    let target = ctx.target()?;
    let d = tempfile::tempdir()?;
    let mnt = d.path().join("mnt");
    std::fs::create_dir(&mnt)?;
    let p = mnt.join("elf");
    let b = p.as_os_str().as_bytes().to_vec();
    let (mnt2, p2) = (mnt.clone(), p.clone());
    let obs = try_exec_with(&b, move || {
        // Only this child's private mount namespace sees the mount.
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
            .map_err(|e| format!("{SKIP_PREFIX}unshare(CLONE_NEWNS): {e}"))?;
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| format!("{SKIP_PREFIX}cannot make / private in a new mount namespace: {e}"))?;
        mount(
            Some("tmpfs"),
            &mnt2,
            Some("tmpfs"),
            MsFlags::MS_NOEXEC,
            Some("size=64m"),
        )
        .map_err(|e| format!("{SKIP_PREFIX}cannot mount a noexec tmpfs: {e}"))?;
        std::fs::copy(&target, &p2).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&p2, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        Ok(Value::Null)
    })?;
    one(
        "noexec_mount",
        ctx,
        &ExecFacts {
            noexec_mount: true,
            ..facts(&b)
        },
        obs,
    )
}

pub fn enoexec(ctx: &Ctx) -> Result<Check, Abort> {
    let d = tempfile::tempdir()?;
    let p = d.path().join("not-a-program");
    write_file(&p, b"this is neither ELF nor a #! script\n", 0o755)?;
    let b = p.as_os_str().as_bytes();
    one(
        "unknown_format",
        ctx,
        &ExecFacts {
            format: Format::Unknown,
            ..facts(b)
        },
        try_exec(b)?,
    )
}

pub fn eloop_symlink(ctx: &Ctx) -> Result<Check, Abort> {
    let d = tempfile::tempdir()?;
    std::os::unix::fs::symlink(d.path().join("b"), d.path().join("a"))?;
    std::os::unix::fs::symlink(d.path().join("a"), d.path().join("b"))?;
    let p = d.path().join("a");
    let b = p.as_os_str().as_bytes();
    one(
        "symlink_loop",
        ctx,
        &ExecFacts {
            lookup: Lookup::SymlinkLoop,
            ..facts(b)
        },
        try_exec(b)?,
    )
}

pub fn interp_depth(ctx: &Ctx) -> Result<Check, Abort> {
    let target = ctx.target()?;
    let d = tempfile::tempdir()?;
    let mut f = Facts::new();
    for n in [5u32, 6] {
        // s1 -> s2 -> ... -> sn -> the exec target.
        for i in 1..=n {
            let next = if i == n {
                target.clone()
            } else {
                d.path().join(format!("c{n}-s{}", i + 1))
            };
            write_file(
                &d.path().join(format!("c{n}-s{i}")),
                format!("#!{}\n", next.display()).as_bytes(),
                0o755,
            )?;
        }
        let p = d.path().join(format!("c{n}-s1"));
        let b = p.as_os_str().as_bytes();
        let fmt = Format::Script {
            depth: n,
            interpreter_missing: false,
        };
        let e = lm::exec_error(
            ctx.kernel,
            &ExecFacts {
                format: fmt,
                ..facts(b)
            },
        );
        f.add(
            &format!("chain_of_{n}"),
            Expect {
                value: outcome(e.value),
                rule: e.rule,
            },
            try_exec(b)?.outcome(),
        );
    }
    f.done()
}

pub fn etxtbsy(ctx: &Ctx) -> Result<Check, Abort> {
    let d = tempfile::tempdir()?;
    let p = d.path().join("busy");
    copy_target(ctx, &p, 0o755)?;
    let writer = std::fs::OpenOptions::new().write(true).open(&p)?;
    let b = p.as_os_str().as_bytes();
    let obs = try_exec(b)?;
    drop(writer);
    one(
        "open_for_write",
        ctx,
        &ExecFacts {
            open_for_write: true,
            ..facts(b)
        },
        obs,
    )
}

pub fn efault_filename(ctx: &Ctx) -> Result<Check, Abort> {
    let args = ExecArgs::new(&[b"x"], &[]);
    let (_, obs) = exec_in_child(
        || Ok(Value::Null),
        || sys::execve_addr(1, args.argv_addr(), args.envp_addr()),
    )?;
    one(
        "bad_filename_pointer",
        ctx,
        &ExecFacts {
            filename_readable: false,
            ..facts(b"x")
        },
        obs,
    )
}

pub fn efault_argv(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let c = cpath(&t);
    let (_, obs) = exec_in_child(
        || Ok(Value::Null),
        || sys::execve_addr(c.as_ptr() as usize, 1, 0),
    )?;
    let b = t.as_os_str().as_bytes();
    one(
        "bad_argv_pointer",
        ctx,
        &ExecFacts {
            args_readable: false,
            ..facts(b)
        },
        obs,
    )
}

pub fn e2big_strlen(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let c = cpath(&t);
    let tb = t.as_os_str().as_bytes();
    let mut f = Facts::new();
    for len in [lm::MAX_ARG_STRLEN - 1, lm::MAX_ARG_STRLEN] {
        let big = vec![b'a'; len];
        let args = ExecArgs::new(&[tb, &big], &[]);
        let (_, obs) = exec_in_child(|| Ok(Value::Null), || sys::execve(&c, &args))?;
        let facts = ExecFacts {
            argc: 2,
            longest_string: len + 1,
            strings_total: 2 * (tb.len() + 1) + len + 1,
            ..facts(tb)
        };
        let e = lm::exec_error(ctx.kernel, &facts);
        f.add(
            &format!("arg_of_{len}_bytes"),
            Expect {
                value: outcome(e.value),
                rule: e.rule,
            },
            obs.outcome(),
        );
    }
    f.done()
}

pub fn e2big_total(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let c = cpath(&t);
    let tb = t.as_os_str().as_bytes();
    const EACH: usize = 100_000;
    let limit = lm::exec_string_limit(rlimit_stack(), 64, 0).unwrap_or(0) as usize;
    let n = limit / (EACH + 1) + 2;
    let s = vec![b'b'; EACH];
    let mut argv: Vec<&[u8]> = vec![tb];
    argv.extend(std::iter::repeat(&s[..]).take(n));
    let args = ExecArgs::new(&argv, &[]);
    let (_, obs) = exec_in_child(|| Ok(Value::Null), || sys::execve(&c, &args))?;
    let facts = ExecFacts {
        argc: n + 1,
        longest_string: EACH + 1,
        strings_total: 2 * (tb.len() + 1) + n * (EACH + 1),
        ..facts(tb)
    };
    let mut out = one(&format!("{n}_strings_of_{EACH}"), ctx, &facts, obs)?;
    out.note = Some(format!(
        "RLIMIT_STACK {} gives a string limit of {limit}",
        rlimit_stack()
    ));
    Ok(out)
}

pub fn enametoolong(ctx: &Ctx) -> Result<Check, Abort> {
    let p = format!("/{}", "a".repeat(lm::PATH_MAX + 10));
    one(
        "path_over_path_max",
        ctx,
        &facts(p.as_bytes()),
        try_exec(p.as_bytes())?,
    )
}
