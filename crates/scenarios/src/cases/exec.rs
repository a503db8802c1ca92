//! execve scenarios (model-spec §3.10). Fixtures with special modes are
//! created at run time in a tempdir that is removed afterwards.

use super::wait::fork_child;
use super::*;
use crate::util::{self, pipe, read_line};
use forklore_model::lifecycle::{self as lm, Disposition, ExecFacts, FileKind, Format, Lookup};
use forklore_sys::{self as sys, ExecArgs, Forked, Handler, Script, Step};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const SIGHUP: i32 = 1;
const SIGUSR1: i32 = 10;
const SIGUSR2: i32 = 12;
const SIGTERM: i32 = 15;

/// What happened to an execve in a child.
#[derive(Debug)]
pub enum ExecObs {
    Failed(sys::Errno),
    Ran { report: Value, status: i32 },
}

impl ExecObs {
    fn outcome(&self) -> String {
        match self {
            ExecObs::Failed(e) => ename(*e),
            ExecObs::Ran { .. } => "ok".into(),
        }
    }
}

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
            let _ = util::write_all(&pre_w, format!("{pre}\n").as_bytes());
            drop(pre_w);
            let _ = sys::dup2(out_w.as_raw_fd(), 1);
            let e = exec();
            let _ = util::write_all(&err_w, &e.raw().to_le_bytes());
            sys::exit_group(0)
        }
        Forked::Parent { child: pid } => {
            drop((err_w, out_w, pre_w));
            let pre: Value = serde_json::from_str(&read_line(&pre_r, STEP)?).unwrap_or(Value::Null);
            if let Some(e) = pre.get("setup_error") {
                let _ = util::reap_within(pid, STEP);
                return Err(Abort::Broken(format!("setup in the child: {e}")));
            }
            // Exec success closes err_w (CLOEXEC): EOF with no bytes.
            let mut buf = [0u8; 4];
            if !util::readable(&err_r, STEP) {
                return Err(Abort::Broken("exec child neither failed nor ran".into()));
            }
            let n = nix::unistd::read(&err_r, &mut buf).unwrap_or(0);
            if n == 4 {
                let _ = util::reap_within(pid, STEP);
                return Ok((
                    pre,
                    ExecObs::Failed(sys::Errno::from_raw(i32::from_le_bytes(buf))),
                ));
            }
            let line = read_line(&out_r, STEP)?;
            let report = serde_json::from_str(&line).unwrap_or(Value::String(line));
            let status = util::reap_within(pid, STEP)?.unwrap_or(-1);
            Ok((pre, ExecObs::Ran { report, status }))
        }
    }
}

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
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
            .map_err(|e| format!("unshare: {e}"))?;
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| format!("make-rprivate: {e}"))?;
        mount(
            Some("tmpfs"),
            &mnt2,
            Some("tmpfs"),
            MsFlags::MS_NOEXEC,
            Some("size=64m"),
        )
        .map_err(|e| format!("mount noexec tmpfs: {e}"))?;
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

fn mask_of(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(u64::MAX)
}

fn status_hex(name: &str) -> u64 {
    util::status_field("self", name)
        .and_then(|s| u64::from_str_radix(&s, 16).ok())
        .unwrap_or(u64::MAX)
}

pub fn success_state(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let c = cpath(&t);
    let tb = t.as_os_str().as_bytes();
    let args = ExecArgs::new(&[tb, b"x", b"y"], &[]);
    let (pre, obs) = exec_in_child(
        || {
            let err = |e: sys::Errno| ename(e);
            sys::set_handler(SIGUSR1, Handler::Catch { flags: 0 }).map_err(err)?;
            sys::set_handler(SIGUSR2, Handler::Ignore).map_err(err)?;
            sys::sigprocmask(sys::SIG_BLOCK, (1 << (SIGHUP - 1)) | (1 << (SIGTERM - 1)))
                .map_err(err)?;
            sys::set_altstack(64 * 1024).map_err(err)?;
            let null = std::fs::File::open("/dev/null").map_err(|e| e.to_string())?;
            sys::dup2(null.as_raw_fd(), 20).map_err(err)?;
            sys::dup2(null.as_raw_fd(), 21).map_err(err)?;
            sys::set_cloexec(20).map_err(err)?;
            let st = util::stat_fields(std::process::id() as i32).unwrap_or_default();
            Ok(serde_json::json!({
                "pid": std::process::id(),
                "ppid": st.get(4).and_then(|s| s.parse::<i64>().ok()),
                "pgid": st.get(5).and_then(|s| s.parse::<i64>().ok()),
                "sid": st.get(6).and_then(|s| s.parse::<i64>().ok()),
                "sig_ign": status_hex("SigIgn"),
                "sig_cgt": status_hex("SigCgt"),
                "sig_blk": status_hex("SigBlk"),
                "altstack_enabled": sys::altstack().map(|(fl, _)| fl & sys::SS_DISABLE == 0).unwrap_or(false),
            }))
        },
        || sys::execve(&c, &args),
    )?;
    let ExecObs::Ran { report, status } = obs else {
        return Err(Abort::Broken(format!("exec failed: {obs:?}")));
    };
    if pre["altstack_enabled"] != Value::Bool(true)
        || mask_of(&pre, "sig_cgt") & (1 << (SIGUSR1 - 1)) == 0
    {
        return Err(Abort::Broken(format!(
            "pre-exec state not as set up: {pre}"
        )));
    }
    let fx = lm::exec_effects(ctx.kernel);
    let mut f = Facts::new();
    let kept = |v: &Value| {
        if fx.identity_kept.value {
            v.clone()
        } else {
            Value::Null
        }
    };
    for k in ["pid", "ppid", "pgid", "sid"] {
        f.add(
            k,
            Expect {
                value: kept(&pre[k]),
                rule: fx.identity_kept.rule,
            },
            &report[k],
        );
    }
    f.add("exit_signal", fx.exit_signal, &report["exit_signal"]);
    // Per signal: caught -> default, ignored kept (flush_signal_handlers).
    let (pre_ign, pre_cgt) = (mask_of(&pre, "sig_ign"), mask_of(&pre, "sig_cgt"));
    let (mut exp_ign, mut exp_cgt, mut rule) = (0u64, 0u64, "L-EXEC-SIGNALS");
    for sig in 1..=64 {
        let bit = 1u64 << (sig - 1);
        let before = if pre_ign & bit != 0 {
            Disposition::Ignore
        } else if pre_cgt & bit != 0 {
            Disposition::Caught
        } else {
            Disposition::Default
        };
        let after = lm::exec_disposition(before);
        rule = after.rule;
        match after.value {
            Disposition::Ignore => exp_ign |= bit,
            Disposition::Caught => exp_cgt |= bit,
            Disposition::Default => {}
        }
    }
    f.add(
        "sig_ign",
        Expect {
            value: format!("{exp_ign:016x}"),
            rule,
        },
        format!("{:016x}", mask_of(&report, "sig_ign")),
    );
    f.add(
        "sig_cgt",
        Expect {
            value: format!("{exp_cgt:016x}"),
            rule,
        },
        format!("{:016x}", mask_of(&report, "sig_cgt")),
    );
    let blk = if fx.blocked_mask_kept.value {
        mask_of(&pre, "sig_blk")
    } else {
        0
    };
    f.add(
        "sig_blk",
        Expect {
            value: format!("{blk:016x}"),
            rule: fx.blocked_mask_kept.rule,
        },
        format!("{:016x}", mask_of(&report, "sig_blk")),
    );
    f.add(
        "altstack_disabled",
        fx.altstack_cleared,
        &report["altstack_disabled"],
    );
    let open: Vec<i64> = report["open_fds"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    f.add(
        "fd20_cloexec_open",
        Expect {
            value: !fx.cloexec_closed.value,
            rule: fx.cloexec_closed.rule,
        },
        open.contains(&20),
    );
    f.add(
        "fd21_open",
        Expect {
            value: true,
            rule: fx.cloexec_closed.rule,
        },
        open.contains(&21),
    );
    let argv = vec![t.to_string_lossy().into_owned(), "x".into(), "y".into()];
    f.add(
        "argv",
        Expect {
            value: argv,
            rule: "L-EXEC-OK",
        },
        &report["argv"],
    );
    f.add("status", lm::exit_status(42), status);
    f.done()
}

pub fn exit_signal_reset(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let c = cpath(&t);
    let args = ExecArgs::new(&[t.as_os_str().as_bytes()], &[]);
    sys::set_handler(SIGUSR1, Handler::Ignore).map_err(|e| Abort::Broken(ename(e)))?;
    let (go_r, go_w) = pipe()?;
    let (out_r, out_w) = pipe()?;
    let script = Script::new(&[
        Step::Read {
            fd: go_r.as_raw_fd(),
        },
        Step::Dup2 {
            old: out_w.as_raw_fd(),
            new: 1,
        },
        Step::Execve {
            path: c.as_ptr() as usize,
            argv: args.argv_addr(),
            envp: args.envp_addr(),
        },
        Step::ExitGroup { code: 127 },
    ]);
    let pid = sys::clone_script(0, SIGUSR1 as u64, &script)
        .map_err(|e| Abort::Broken(format!("clone: {}", ename(e))))?;
    drop(out_w);
    let child = |es| lm::WaitChild {
        pid,
        pgid: nix::unistd::getpgrp().as_raw(),
        exit_signal: es,
        is_thread: false,
        child_of_calling_thread: true,
        ptraced_by_caller: false,
        zombie: false,
    };
    let plain_ok = || sys::waitid(lm::P_PID, pid, WEXITED | WNOHANG | WNOWAIT).is_ok();
    let mut f = Facts::new();
    f.add(
        "before/exit_signal",
        Expect {
            value: SIGUSR1,
            rule: "L-WAIT-ELIGIBLE",
        },
        util::proc_exit_signal(pid),
    );
    f.add(
        "before/plain_wait_eligible",
        lm::wait_eligible(&child(SIGUSR1), 0),
        plain_ok(),
    );
    util::write_all(&go_w, b"x")?;
    let line = read_line(&out_r, STEP)?;
    let report: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
    let fx = lm::exec_effects(ctx.kernel);
    f.add("after/exit_signal", fx.exit_signal, &report["exit_signal"]);
    // Blocking plain wait: ECHILD at once if the child were not eligible.
    let w = sys::wait4(pid, 0);
    f.add(
        "after/plain_wait_eligible",
        lm::wait_eligible(&child(fx.exit_signal.value), 0),
        w.is_ok(),
    );
    f.add(
        "after/status",
        lm::exit_status(42),
        w.ok().flatten().map_or(-1, |r| r.status),
    );
    f.done()
}

pub fn empty_argv(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let c = cpath(&t);
    let (_, obs) = exec_in_child(
        || Ok(Value::Null),
        || sys::execve_addr(c.as_ptr() as usize, 0, 0),
    )?;
    let ExecObs::Ran { report, .. } = obs else {
        return Err(Abort::Broken(format!("exec failed: {obs:?}")));
    };
    let fx = lm::exec_effects(ctx.kernel);
    let mut f = Facts::new();
    f.add("argc", fx.empty_argv_argc, &report["argc"]);
    let argv: Vec<String> = vec![String::new(); fx.empty_argv_argc.value];
    f.add(
        "argv",
        Expect {
            value: argv,
            rule: fx.empty_argv_argc.rule,
        },
        &report["argv"],
    );
    f.done()
}

pub fn non_leader(ctx: &Ctx) -> Result<Check, Abort> {
    let t = ctx.target()?;
    let c = cpath(&t);
    let args = ExecArgs::new(&[t.as_os_str().as_bytes()], &[b"FORKLORE_HOLD_FD=100"]);
    let (out_r, out_w) = pipe()?;
    let (hold_r, hold_w) = pipe()?;
    let (tid_r, tid_w) = pipe()?;
    let (tgo_r, tgo_w) = pipe()?;
    let pid = fork_child(move || {
        let _ = sys::dup2(out_w.as_raw_fd(), 1);
        let _ = sys::dup2(hold_r.as_raw_fd(), 100);
        // The thread execs only after the leader reported its tid.
        let th = sys::spawn_thread(Script::new(&[
            Step::Read {
                fd: tgo_r.as_raw_fd(),
            },
            Step::Execve {
                path: c.as_ptr() as usize,
                argv: args.argv_addr(),
                envp: args.envp_addr(),
            },
            Step::Exit { code: 0 },
        ]));
        let tid = th.as_ref().map(|t| t.tid()).unwrap_or(-1);
        let _ = util::write_all(&tid_w, &tid.to_le_bytes());
        let _ = util::write_all(&tgo_w, b"x");
        std::mem::forget(th);
        // The leader blocks until de_thread kills it.
        let (never_r, _never_w): (OwnedFd, OwnedFd) = match pipe() {
            Ok(p) => p,
            Err(_) => return 101,
        };
        let mut b = [0u8; 1];
        let _ = nix::unistd::read(&never_r, &mut b);
        102
    })?;
    let thread_tid = util::read_u32(&tid_r, STEP)? as i32;
    let line = read_line(&out_r, STEP)?;
    let report: Value =
        serde_json::from_str(&line).map_err(|_| Abort::Broken(format!("no report: {line:?}")))?;
    let fx = lm::exec_effects(ctx.kernel);
    let mut f = Facts::new();
    f.add(
        "pid",
        Expect {
            value: pid,
            rule: fx.identity_kept.rule,
        },
        &report["pid"],
    );
    f.add(
        "tid_is_pid",
        Expect {
            value: pid,
            rule: "L-EXEC-DE-THREAD",
        },
        &report["tid"],
    );
    f.add(
        "ppid",
        Expect {
            value: std::process::id(),
            rule: fx.identity_kept.rule,
        },
        &report["ppid"],
    );
    f.add("threads", fx.threads_after, &report["threads"]);
    f.add(
        "old_thread_tid_gone",
        Expect {
            value: lm::ProcView::Gone,
            rule: "L-EXEC-DE-THREAD",
        },
        {
            let s = util::stat_fields(thread_tid);
            if s.is_none() || thread_tid == pid {
                lm::ProcView::Gone
            } else {
                super::wait::proc_view(thread_tid)
            }
        },
    );
    let seen = sys::waitid(lm::P_PID, pid, WEXITED | WNOHANG | WNOWAIT | WALL)
        .map(|i| i.is_some())
        .unwrap_or(true);
    f.add(
        "parent_sees_exit_while_running",
        fx.parent_sees_leader_exit,
        seen,
    );
    drop(hold_w);
    let st = util::reap_within(pid, STEP)?;
    f.add("status", lm::exit_status(42), st);
    f.add(
        "one_exit_only",
        lm::wait4_result(pid, WNOHANG, 0, &[], true),
        super::wait::observe_wait4(sys::wait4(pid, WNOHANG | WALL)),
    );
    f.done()
}
