//! User input → model `Request` / `Context`: the request and context options
//! shared by `forklore explain` and `forklore probe`, as plain option
//! structs (the command-line layer in the `forklore` crate fills them).
//!
//! Every malformed or conflicting option is an [`InputError`] naming the
//! problem; nothing falls back to a silent default.
//!
//! [`RequestOptions::from_request`] and [`RequestOptions::to_argv`] are the
//! inverse of [`RequestOptions::build`]: the reproducer command line of a
//! case is produced from them.

use forklore_model::flags::{self, parse_flags, parse_signal};
use forklore_model::{
    cap, ArgsMem, CgroupFd, Clone3Args, Context, KernelVersion, Nproc, Ptr, Request, SetTid, Stack,
    Syscall, TidSpec, Tls,
};

/// Bad user input: printed as one line, exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

fn bad<T>(msg: impl Into<String>) -> Result<T, InputError> {
    Err(InputError(msg.into()))
}

/// The call to make (or explain): the text of each request option, as
/// given on the command line (`forklore explain --help` documents the
/// syntax). `None` / empty = the option was not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOptions {
    /// `--syscall`: fork, vfork, clone or clone3 (default clone).
    pub syscall: String,
    /// `--flags`: a flag expression (model `parse_flags`).
    pub flags: String,
    /// `--exit-signal`: name or number.
    pub exit_signal: Option<String>,
    /// `--size`: the clone3 `size` argument.
    pub size: Option<String>,
    /// `--args-mem`: valid, null, unmapped or truncated:N.
    pub args_mem: Option<String>,
    /// `--tail-nonzero-at`: offset of a non-zero byte in the clone3 block.
    pub tail_nonzero_at: Option<String>,
    /// `--stack`: fresh, inherit or STACK:SIZE.
    pub stack: Option<String>,
    /// `--tls`: valid or a raw value.
    pub tls: Option<String>,
    /// `--parent-tid`: a pointer kind.
    pub parent_tid: Option<String>,
    /// `--child-tid`: a pointer kind.
    pub child_tid: Option<String>,
    /// `--pidfd`: a pointer kind or parent-tid.
    pub pidfd: Option<String>,
    /// `--set-tid`: comma-separated entries.
    pub set_tid: Option<String>,
    /// `--set-tid-size`: the clone3 set_tid_size field.
    pub set_tid_size: Option<String>,
    /// `--set-tid-ptr`: a pointer kind.
    pub set_tid_ptr: Option<String>,
    /// `--cgroup`: zero, not-open, file, dir, v1, v2-root, v2-child or a number.
    pub cgroup: Option<String>,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            syscall: Syscall::Clone.name().into(),
            flags: String::new(),
            exit_signal: None,
            size: None,
            args_mem: None,
            tail_nonzero_at: None,
            stack: None,
            tls: None,
            parent_tid: None,
            child_tid: None,
            pidfd: None,
            set_tid: None,
            set_tid_size: None,
            set_tid_ptr: None,
            cgroup: None,
        }
    }
}

fn ptr_name(p: Ptr) -> &'static str {
    match p {
        Ptr::Valid => "valid",
        Ptr::Null => "null",
        Ptr::Unmapped => "unmapped",
        Ptr::Kernel => "kernel",
    }
}

fn parse_u64(what: &str, s: &str) -> Result<u64, InputError> {
    let t = s.trim();
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => t.parse::<u64>(),
    };
    r.map_err(|_| InputError(format!("{what}: {s:?} is not a number")))
}

fn parse_ptr(what: &str, s: &str) -> Result<Ptr, InputError> {
    match s.to_ascii_lowercase().as_str() {
        "valid" => Ok(Ptr::Valid),
        "null" | "0" => Ok(Ptr::Null),
        "unmapped" => Ok(Ptr::Unmapped),
        "kernel" => Ok(Ptr::Kernel),
        _ => bad(format!(
            "{what}: {s:?} is not a pointer kind (valid, null, unmapped, kernel)"
        )),
    }
}

fn parse_signal_arg(s: &str) -> Result<u64, InputError> {
    parse_signal(s).ok_or_else(|| InputError(format!("--exit-signal: unknown signal {s:?}")))
}

impl RequestOptions {
    /// Whether any request option differs from its default.
    pub fn is_set(&self) -> bool {
        self.syscall != RequestOptions::default().syscall
            || !self.flags.is_empty()
            || self.exit_signal.is_some()
            || self.size.is_some()
            || self.args_mem.is_some()
            || self.tail_nonzero_at.is_some()
            || self.stack.is_some()
            || self.tls.is_some()
            || self.parent_tid.is_some()
            || self.child_tid.is_some()
            || self.pidfd.is_some()
            || self.set_tid.is_some()
            || self.set_tid_size.is_some()
            || self.set_tid_ptr.is_some()
            || self.cgroup.is_some()
    }

    /// The options that [`build`](Self::build) turns back into `req`:
    /// every field that differs from the default is stated, numbers in hex
    /// where the kernel reads bits. `build(from_request(r)) == r` for every
    /// request the catalogue holds (tested in the `forklore` crate).
    pub fn from_request(req: &Request) -> Self {
        let mut o = RequestOptions {
            syscall: req.syscall.name().into(),
            ..RequestOptions::default()
        };
        if matches!(req.syscall, Syscall::Clone | Syscall::Clone3) {
            o.flags = format!("{:#x}", req.flags);
        }
        if let Some(c) = &req.clone3 {
            o.exit_signal = Some(c.exit_signal.to_string());
            if c.size != Clone3Args::default().size {
                o.size = Some(c.size.to_string());
            }
            o.args_mem = match c.mem {
                ArgsMem::Valid => None,
                ArgsMem::Null => Some("null".into()),
                ArgsMem::Unmapped => Some("unmapped".into()),
                ArgsMem::Truncated(n) => Some(format!("truncated:{n}")),
            };
            o.tail_nonzero_at = c.tail_nonzero_at.map(|t| t.to_string());
            if c.pidfd_is_parent_tid {
                o.pidfd = Some("parent-tid".into());
            } else if c.pidfd != Ptr::Valid {
                o.pidfd = Some(ptr_name(c.pidfd).into());
            }
            if let Some(st) = &c.set_tid {
                if !st.entries.is_empty() {
                    let e: Vec<String> = st
                        .entries
                        .iter()
                        .map(|t| match t {
                            TidSpec::Value(v) => v.to_string(),
                            TidSpec::CallerPid => "self".into(),
                            TidSpec::Unused => "unused".into(),
                            TidSpec::PidMax => "pid_max".into(),
                        })
                        .collect();
                    o.set_tid = Some(e.join(","));
                }
                o.set_tid_size = Some(st.size.to_string());
                o.set_tid_ptr = Some(ptr_name(st.ptr).into());
            }
            o.cgroup = match c.cgroup {
                CgroupFd::Zero => None,
                CgroupFd::Raw(v) => Some(format!("{v:#x}")),
                CgroupFd::NotOpen => Some("not-open".into()),
                CgroupFd::RegularFile => Some("file".into()),
                CgroupFd::NonCgroupDir => Some("dir".into()),
                CgroupFd::CgroupV1Dir => Some("v1".into()),
                CgroupFd::Cgroup2 { created: false, .. } => Some("v2-root".into()),
                CgroupFd::Cgroup2 { created: true, .. } => Some("v2-child".into()),
            };
        }
        o.stack = match req.stack {
            Stack::Fresh => None,
            Stack::Inherit => Some("inherit".into()),
            Stack::Raw { stack, size } => Some(format!("{stack:#x}:{size:#x}")),
        };
        if let Tls::Raw(v) = req.tls {
            o.tls = Some(format!("{v:#x}"));
        }
        if req.parent_tid != Ptr::Valid {
            o.parent_tid = Some(ptr_name(req.parent_tid).into());
        }
        if req.child_tid != Ptr::Valid {
            o.child_tid = Some(ptr_name(req.child_tid).into());
        }
        o
    }

    /// The command-line arguments that state these options
    /// (`["--syscall", "clone3", "--flags", "0x0", ...]`); `--syscall` always
    /// comes first, options at their default are left out.
    pub fn to_argv(&self) -> Vec<String> {
        let mut a = vec!["--syscall".to_string(), self.syscall.clone()];
        let mut opt = |name: &str, v: Option<&String>| {
            if let Some(v) = v {
                a.push(name.into());
                a.push(v.clone());
            }
        };
        opt("--flags", Some(&self.flags).filter(|f| !f.is_empty()));
        opt("--exit-signal", self.exit_signal.as_ref());
        opt("--size", self.size.as_ref());
        opt("--args-mem", self.args_mem.as_ref());
        opt("--tail-nonzero-at", self.tail_nonzero_at.as_ref());
        opt("--pidfd", self.pidfd.as_ref());
        opt("--set-tid", self.set_tid.as_ref());
        opt("--set-tid-size", self.set_tid_size.as_ref());
        opt("--set-tid-ptr", self.set_tid_ptr.as_ref());
        opt("--cgroup", self.cgroup.as_ref());
        opt("--stack", self.stack.as_ref());
        opt("--tls", self.tls.as_ref());
        opt("--parent-tid", self.parent_tid.as_ref());
        opt("--child-tid", self.child_tid.as_ref());
        a
    }

    /// Build the request, rejecting options that do not fit the syscall.
    pub fn build(&self) -> Result<Request, InputError> {
        let syscall: Syscall = self.syscall.parse().map_err(InputError)?;
        let parsed = parse_flags(&self.flags).map_err(|e| InputError(format!("--flags: {e}")))?;
        let clone3_only = [
            ("--size", self.size.is_some()),
            ("--args-mem", self.args_mem.is_some()),
            ("--tail-nonzero-at", self.tail_nonzero_at.is_some()),
            ("--pidfd", self.pidfd.is_some()),
            ("--set-tid", self.set_tid.is_some()),
            ("--set-tid-size", self.set_tid_size.is_some()),
            ("--set-tid-ptr", self.set_tid_ptr.is_some()),
            ("--cgroup", self.cgroup.is_some()),
        ];
        if syscall != Syscall::Clone3 {
            if let Some((name, _)) = clone3_only.iter().find(|(_, set)| *set) {
                return bad(format!("{name} is a clone3 field; --syscall is {syscall}"));
            }
        }
        let mut req = match syscall {
            Syscall::Fork | Syscall::Vfork => {
                if !self.flags.trim().is_empty() || self.exit_signal.is_some() {
                    return bad(format!(
                        "{syscall} takes no flags or exit signal; use --syscall clone or clone3"
                    ));
                }
                if syscall == Syscall::Fork {
                    Request::fork()
                } else {
                    Request::vfork()
                }
            }
            Syscall::Clone => {
                if parsed.flags >> 32 != 0 && parsed.flags & !flags::CLONE_LEGACY_FLAGS != 0 {
                    // Allowed on purpose: upper bits are cases (the kernel drops them).
                }
                let sig = match (parsed.exit_signal, &self.exit_signal) {
                    (Some(_), Some(_)) => {
                        return bad("exit signal given twice: in --flags and with --exit-signal")
                    }
                    (Some(s), None) => s,
                    (None, Some(s)) => parse_signal_arg(s)?,
                    (None, None) => 0,
                };
                if sig > 0xff {
                    return bad(format!(
                        "--exit-signal {sig} does not fit clone's 8-bit signal field"
                    ));
                }
                if parsed.flags & flags::CSIGNAL != 0 && sig != 0 {
                    return bad("--flags already sets low-byte bits; give the exit signal once");
                }
                Request::clone(parsed.flags | sig)
            }
            Syscall::Clone3 => {
                let sig = match (parsed.exit_signal, &self.exit_signal) {
                    (Some(_), Some(_)) => {
                        return bad("exit signal given twice: in --flags and with --exit-signal")
                    }
                    (Some(s), None) => s,
                    (None, Some(s)) => parse_signal_arg(s)?,
                    (None, None) => forklore_model::clone3_default_exit_signal(parsed.flags),
                };
                let mut r = Request::clone3(parsed.flags, sig);
                r.clone3 = Some(self.clone3_args(sig)?);
                r
            }
        };
        if let Some(s) = &self.stack {
            if matches!(syscall, Syscall::Fork | Syscall::Vfork) {
                return bad(format!("--stack does not apply to {syscall}"));
            }
            req.stack = match s.to_ascii_lowercase().as_str() {
                "fresh" => Stack::Fresh,
                "inherit" | "0" => Stack::Inherit,
                other => {
                    let (a, b) = other.split_once(':').ok_or_else(|| {
                        InputError(format!(
                            "--stack: {s:?} is not fresh, inherit or STACK:SIZE"
                        ))
                    })?;
                    Stack::Raw {
                        stack: parse_u64("--stack", a)?,
                        size: parse_u64("--stack", b)?,
                    }
                }
            };
        }
        if let Some(t) = &self.tls {
            req.tls = if t.eq_ignore_ascii_case("valid") {
                Tls::Valid
            } else {
                Tls::Raw(parse_u64("--tls", t)?)
            };
        }
        if let Some(p) = &self.parent_tid {
            req.parent_tid = parse_ptr("--parent-tid", p)?;
        }
        if let Some(p) = &self.child_tid {
            req.child_tid = parse_ptr("--child-tid", p)?;
        }
        Ok(req)
    }

    fn clone3_args(&self, exit_signal: u64) -> Result<Clone3Args, InputError> {
        let mut a = Clone3Args {
            exit_signal,
            ..Clone3Args::default()
        };
        if let Some(s) = &self.size {
            a.size = parse_u64("--size", s)?;
        }
        if let Some(m) = &self.args_mem {
            a.mem = match m.to_ascii_lowercase().as_str() {
                "valid" => ArgsMem::Valid,
                "null" => ArgsMem::Null,
                "unmapped" => ArgsMem::Unmapped,
                other => match other.strip_prefix("truncated:") {
                    Some(n) => ArgsMem::Truncated(parse_u64("--args-mem", n)?),
                    None => {
                        return bad(format!(
                            "--args-mem: {m:?} is not valid, null, unmapped or truncated:N"
                        ))
                    }
                },
            };
        }
        if let Some(t) = &self.tail_nonzero_at {
            let off = parse_u64("--tail-nonzero-at", t)?;
            if off >= a.size {
                return bad(format!(
                    "--tail-nonzero-at {off} lies outside the {}-byte block",
                    a.size
                ));
            }
            a.tail_nonzero_at = Some(off);
        }
        if let Some(p) = &self.pidfd {
            if p.eq_ignore_ascii_case("parent-tid") {
                a.pidfd_is_parent_tid = true;
            } else {
                a.pidfd = parse_ptr("--pidfd", p)?;
            }
        }
        if self.set_tid.is_some() || self.set_tid_size.is_some() || self.set_tid_ptr.is_some() {
            let entries = match &self.set_tid {
                None => Vec::new(),
                Some(list) => list
                    .split(',')
                    .map(|t| match t.trim().to_ascii_lowercase().as_str() {
                        "self" => Ok(TidSpec::CallerPid),
                        "unused" => Ok(TidSpec::Unused),
                        "pid_max" | "pid-max" => Ok(TidSpec::PidMax),
                        v => v.parse::<i32>().map(TidSpec::Value).map_err(|_| {
                            InputError(format!(
                                "--set-tid: {t:?} is not a pid, self, unused or pid_max"
                            ))
                        }),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            };
            let size = match &self.set_tid_size {
                Some(s) => parse_u64("--set-tid-size", s)?,
                None => entries.len() as u64,
            };
            let ptr = match &self.set_tid_ptr {
                Some(p) => parse_ptr("--set-tid-ptr", p)?,
                None if entries.is_empty() => Ptr::Null,
                None => Ptr::Valid,
            };
            a.set_tid = Some(SetTid { ptr, size, entries });
        }
        if let Some(c) = &self.cgroup {
            a.cgroup = match c.to_ascii_lowercase().as_str() {
                "zero" => CgroupFd::Zero,
                "not-open" => CgroupFd::NotOpen,
                "file" => CgroupFd::RegularFile,
                "dir" => CgroupFd::NonCgroupDir,
                "v1" => CgroupFd::CgroupV1Dir,
                // Writability is an environment fact of the context
                // (`Context::cgroup_write`), not part of the request.
                "v2-root" => CgroupFd::Cgroup2 { created: false },
                "v2-child" => CgroupFd::Cgroup2 { created: true },
                other => CgroupFd::Raw(parse_u64("--cgroup", other)?),
            };
        }
        Ok(a)
    }
}

/// The caller's context for `explain` (no syscalls: everything is stated),
/// one field per option of `forklore explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextOptions {
    /// Kernel version X.Y[.Z] (default: this host's).
    pub kernel: Option<String>,
    /// Architecture x86_64 or aarch64 (default: this host's).
    pub arch: Option<String>,
    /// `--as`: root (all capabilities, real uid 0) or user (no capabilities).
    pub as_: String,
    /// Drop these capabilities (names like CAP_SYS_ADMIN or sys_admin, comma-separated).
    pub drop_caps: Option<String>,
    /// The caller is init of its pid namespace.
    pub pidns_init: bool,
    /// The caller did unshare(CLONE_NEWPID) and has not forked yet.
    pub unshared_pidns: bool,
    /// The caller is in a user namespace this many levels below the initial one
    /// (it holds all capabilities there, none in the initial namespace).
    pub userns_level: Option<u32>,
    /// The caller is chrooted.
    pub chrooted: bool,
    /// RLIMIT_NPROC as LIMIT:COUNT (tasks already charged to the real uid).
    pub nproc: Option<String>,
    /// user.max_user_namespaces leaves no room for another user namespace.
    pub userns_limit_reached: bool,
    /// A seccomp filter is installed.
    pub seccomp: bool,
    /// The caller is ptraced (no PTRACE_O_* options).
    pub traced: bool,
}

impl Default for ContextOptions {
    fn default() -> Self {
        ContextOptions {
            kernel: None,
            arch: None,
            as_: "root".into(),
            drop_caps: None,
            pidns_init: false,
            unshared_pidns: false,
            userns_level: None,
            chrooted: false,
            nproc: None,
            userns_limit_reached: false,
            seccomp: false,
            traced: false,
        }
    }
}

/// Capability names accepted by `--drop-caps`.
const CAP_NAMES: &[(&str, u32)] = &[
    ("CHOWN", cap::CAP_CHOWN),
    ("DAC_OVERRIDE", cap::CAP_DAC_OVERRIDE),
    ("KILL", cap::CAP_KILL),
    ("SETGID", cap::CAP_SETGID),
    ("SETUID", cap::CAP_SETUID),
    ("SYS_CHROOT", cap::CAP_SYS_CHROOT),
    ("SYS_PTRACE", cap::CAP_SYS_PTRACE),
    ("SYS_ADMIN", cap::CAP_SYS_ADMIN),
    ("SYS_RESOURCE", cap::CAP_SYS_RESOURCE),
    ("CHECKPOINT_RESTORE", cap::CAP_CHECKPOINT_RESTORE),
];

pub fn parse_cap(name: &str) -> Result<u32, InputError> {
    let up = name.trim().to_ascii_uppercase();
    let bare = up.strip_prefix("CAP_").unwrap_or(&up);
    CAP_NAMES
        .iter()
        .find(|(n, _)| *n == bare)
        .map(|(_, c)| *c)
        .ok_or_else(|| InputError(format!("unknown capability {name:?}")))
}

pub fn cap_name(c: u32) -> String {
    CAP_NAMES
        .iter()
        .find(|(_, v)| *v == c)
        .map(|(n, _)| format!("CAP_{n}"))
        .unwrap_or_else(|| format!("cap {c}"))
}

impl ContextOptions {
    /// Build a model context. `host` supplies the defaults that describe this
    /// machine (kernel version, capabilities of root here, pid_max...).
    pub fn build(&self, host: &Context) -> Result<Context, InputError> {
        let kernel = match &self.kernel {
            Some(k) => k
                .parse::<KernelVersion>()
                .map_err(|e| InputError(format!("--kernel: {e}")))?,
            None => host.kernel,
        };
        let mut ctx = match self.as_.to_ascii_lowercase().as_str() {
            "root" => Context {
                kernel,
                ..Context::root(
                    kernel,
                    if host.ruid_is_global_root {
                        host.caps
                    } else {
                        forklore_model::Caps::all()
                    },
                )
            },
            "user" => Context::user(kernel),
            other => return bad(format!("--as {other:?}: expected root or user")),
        };
        ctx.pid_max = host.pid_max;
        ctx.task_size_max = host.task_size_max;
        if let Some(a) = &self.arch {
            let arch = a
                .parse::<forklore_model::Arch>()
                .map_err(|e| InputError(format!("--arch: {e}")))?;
            if arch != host.arch {
                // Another architecture: its usual TASK_SIZE_MAX, not ours.
                ctx = ctx.on(arch);
            }
        } else {
            ctx.arch = host.arch;
        }
        ctx.cgroup2 = host.cgroup2;
        if let Some(list) = &self.drop_caps {
            for c in list.split(',') {
                ctx.caps = ctx.caps.without(parse_cap(c)?);
            }
        }
        if self.pidns_init && self.unshared_pidns {
            return bad("--pidns-init and --unshared-pidns describe different callers; pick one");
        }
        ctx.is_pidns_init = self.pidns_init;
        if self.unshared_pidns {
            ctx.pidns_for_children_differs = true;
            ctx.pidns_level += 1;
            ctx.set_tid_capable
                .insert(0, ctx.caps.has(cap::CAP_SYS_ADMIN));
        }
        if let Some(l) = self.userns_level {
            if l > 0 {
                ctx.userns_level = l;
                ctx.caps = forklore_model::Caps::all();
                ctx.ruid_is_global_root = false;
            }
        }
        ctx.chrooted = self.chrooted;
        if let Some(n) = &self.nproc {
            let (l, c) = n.split_once(':').ok_or_else(|| {
                InputError(format!("--nproc {n:?}: expected LIMIT:COUNT, e.g. 1:1"))
            })?;
            ctx.nproc = Some(Nproc {
                limit: parse_u64("--nproc", l)?,
                count: parse_u64("--nproc", c)?,
            });
        }
        ctx.userns_limit_reached = self.userns_limit_reached;
        ctx.seccomp_filter = self.seccomp;
        ctx.caller_traced = self.traced;
        let can = ctx.caps.has(cap::CAP_SYS_ADMIN) || ctx.caps.has(cap::CAP_CHECKPOINT_RESTORE);
        let n = ctx.set_tid_capable.len();
        ctx.set_tid_capable = vec![can; n];
        Ok(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(syscall: &str, fl: &str) -> RequestOptions {
        RequestOptions {
            syscall: syscall.into(),
            flags: fl.into(),
            ..Default::default()
        }
    }

    #[test]
    fn legacy_clone_carries_signal_in_low_byte() {
        let r = req("clone", "VM|VFORK|SIGCHLD").build().unwrap();
        assert_eq!(r.flags, 0x4111);
        let mut a = req("clone", "VM");
        a.exit_signal = Some("SIGUSR1".into());
        assert_eq!(a.build().unwrap().flags, 0x100 | 10);
    }

    #[test]
    fn clone3_default_exit_signal_follows_thread_and_parent() {
        let r = req("clone3", "").build().unwrap();
        assert_eq!(r.clone3.unwrap().exit_signal, 17);
        let r = req("clone3", "THREAD|SIGHAND|VM").build().unwrap();
        assert_eq!(r.clone3.unwrap().exit_signal, 0);
    }

    #[test]
    fn conflicting_options_are_errors() {
        let mut a = req("clone", "VM|SIGCHLD");
        a.exit_signal = Some("17".into());
        assert!(a.build().is_err());
        let mut a = req("clone", "VM");
        a.size = Some("64".into());
        assert!(a.build().unwrap_err().0.contains("clone3 field"));
        assert!(req("fork", "VM").build().is_err());
        assert!(req("spawn", "").build().is_err());
        assert!(req("clone", "NOPE").build().is_err());
    }

    #[test]
    fn context_parsing() {
        let host = Context::root("6.18".parse().unwrap(), forklore_model::Caps::all());
        let c = ContextOptions {
            as_: "user".into(),
            ..Default::default()
        };
        assert!(!c.build(&host).unwrap().ruid_is_global_root);
        let c = ContextOptions {
            as_: "root".into(),
            kernel: Some("6.x".into()),
            ..Default::default()
        };
        assert!(c.build(&host).is_err());
        let c = ContextOptions {
            as_: "root".into(),
            drop_caps: Some("sys_admin".into()),
            ..Default::default()
        };
        assert!(!c.build(&host).unwrap().caps.has(cap::CAP_SYS_ADMIN));
        let c = ContextOptions {
            as_: "admin".into(),
            ..Default::default()
        };
        assert!(c.build(&host).is_err());
    }
}
