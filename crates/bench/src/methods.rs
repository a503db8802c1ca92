//! The catalogue of process-creation methods the bench can time.

use crate::error::{bad, BenchError};
use forklore_model::flags as mf;
use forklore_sys::bench::{self as sb, Create, Op, Syscall};
use nix::sys::signal::Signal;

/// What a child executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Nothing: the child exits.
    None,
    /// forklore's minimal static exec target (see [`crate::elf`]).
    Minimal,
    /// `/bin/true`.
    BinTrue,
}

/// One named method.
#[derive(Debug, Clone, Copy)]
pub struct Method {
    pub name: &'static str,
    pub description: &'static str,
    /// In the default set (`--method` not given).
    pub default: bool,
    /// In the default set of an RSS sweep.
    pub sweep_default: bool,
    /// Shares the parent's mm (CLONE_VM): cost should not grow with RSS.
    pub shares_vm: bool,
    pub target: Target,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Getpid,
    Create {
        syscall: Syscall,
        flags: u64,
        parent_return_only: bool,
    },
    /// `clone` with the user's `--flags`.
    UserClone,
    PosixSpawn,
}

const VFORK: u64 = sb::CLONE_VM | sb::CLONE_VFORK;

const fn create(syscall: Syscall, flags: u64) -> Kind {
    Kind::Create {
        syscall,
        flags,
        parent_return_only: false,
    }
}

const fn m(
    name: &'static str,
    description: &'static str,
    default: bool,
    sweep_default: bool,
    shares_vm: bool,
    target: Target,
    kind: Kind,
) -> Method {
    Method {
        name,
        description,
        default,
        sweep_default,
        shares_vm,
        target,
        kind,
    }
}

/// Every method, in table order.
pub const METHODS: &[Method] = &[
    m("getpid", "syscall(SYS_getpid): the syscall floor", true, false, false, Target::None, Kind::Getpid),
    m("fork", "fork + child SYS_exit + wait4", true, true, false, Target::None, create(Syscall::Fork, 0)),
    m(
        "fork-return",
        "fork, timed until it returns in the parent (the reap is not timed)",
        true,
        false,
        false,
        Target::None,
        Kind::Create { syscall: Syscall::Fork, flags: 0, parent_return_only: true },
    ),
    m("vfork", "clone(VM|VFORK|SIGCHLD) on its own stack + SYS_exit + wait4", true, true, true, Target::None, create(Syscall::Clone, VFORK)),
    m("clone", "clone(--flags, default SIGCHLD) + SYS_exit + reap (wait4 __WALL, or futex for THREAD)", false, false, false, Target::None, Kind::UserClone),
    m("clone3", "clone3(exit_signal=SIGCHLD) + SYS_exit + wait4", true, false, false, Target::None, create(Syscall::Clone3, 0)),
    m("clone3-vfork", "clone3(VM|VFORK) on its own stack + SYS_exit + wait4", true, true, true, Target::None, create(Syscall::Clone3, VFORK)),
    m("clone3-pidfd", "clone3(PIDFD) + SYS_exit + waitid(P_PIDFD) + close", true, false, false, Target::None, create(Syscall::Clone3, sb::CLONE_PIDFD)),
    m("thread", "clone(VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|PARENT_SETTID|CHILD_CLEARTID) + SYS_exit + futex join", true, true, true, Target::None, create(Syscall::Clone, sb::THREAD_FLAGS)),
    m("thread3", "clone3 with the thread flags + SYS_exit + futex join", false, false, true, Target::None, create(Syscall::Clone3, sb::THREAD_FLAGS)),
    m("posix-spawn", "glibc posix_spawn(minimal static target) + wait4", true, false, true, Target::Minimal, Kind::PosixSpawn),
    m("posix-spawn-true", "glibc posix_spawn(/bin/true) + wait4", false, false, true, Target::BinTrue, Kind::PosixSpawn),
    m("fork-exec", "fork + execve(minimal static target) + wait4", true, false, false, Target::Minimal, create(Syscall::Fork, 0)),
    m("vfork-exec", "clone(VM|VFORK) + execve(minimal static target) + wait4", true, false, true, Target::Minimal, create(Syscall::Clone, VFORK)),
    m("fork-exec-true", "fork + execve(/bin/true) + wait4", false, false, false, Target::BinTrue, create(Syscall::Fork, 0)),
    m("vfork-exec-true", "clone(VM|VFORK) + execve(/bin/true) + wait4", false, false, true, Target::BinTrue, create(Syscall::Clone, VFORK)),
];

/// The user's `--flags` for the `clone` method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloneFlags {
    pub flags: u64,
    pub exit_signal: u64,
}

impl Default for CloneFlags {
    fn default() -> Self {
        CloneFlags {
            flags: 0,
            exit_signal: mf::SIGCHLD,
        }
    }
}

impl CloneFlags {
    /// Parse with forklore-model's flag syntax (`VM|VFORK`, `clone_thread,sighand`,
    /// `0x4100`, `SIGUSR1`). The exit signal defaults to SIGCHLD.
    pub fn parse(expr: &str) -> Result<Self, BenchError> {
        let p = mf::parse_flags(expr).map_err(|e| bad(format!("--flags: {e}")))?;
        let flags = p.flags & !mf::CSIGNAL;
        let exit_signal = p.exit_signal.unwrap_or(if p.flags & mf::CSIGNAL != 0 {
            p.flags & mf::CSIGNAL
        } else {
            mf::SIGCHLD
        });
        // The timing process receives the exit signal of every child it
        // reaps: a stop signal would stop it mid-measurement, where only
        // SIGKILL reaches it (threads send no exit signal).
        let stopping = [
            Signal::SIGSTOP,
            Signal::SIGTSTP,
            Signal::SIGTTIN,
            Signal::SIGTTOU,
        ];
        if flags & mf::CLONE_THREAD == 0 && stopping.iter().any(|&s| s as u64 == exit_signal) {
            return Err(bad(format!(
                "--flags: exit signal {} would stop the timing process; use SIGCHLD or another signal",
                mf::signal_name(exit_signal)
            )));
        }
        if flags & mf::CLONE_PARENT != 0 {
            return Err(bad("--flags: CLONE_PARENT is not benchmarkable (the child would belong to our parent, which cannot reap it for us)"));
        }
        if flags & mf::CLONE_INTO_CGROUP != 0 {
            return Err(bad("--flags: CLONE_INTO_CGROUP needs a cgroup fd (clone3 only); not supported by the clone method"));
        }
        if flags > mf::CLONE_LEGACY_FLAGS {
            return Err(bad(format!(
                "--flags: {} do not fit in clone's flags word (use clone3)",
                mf::format_flags(flags & !mf::CLONE_LEGACY_FLAGS)
            )));
        }
        Ok(CloneFlags { flags, exit_signal })
    }

    pub fn display(&self) -> String {
        let f = mf::format_flags(self.flags);
        let sig = mf::signal_name(self.exit_signal);
        if self.flags == 0 {
            sig
        } else {
            format!("{f}|{sig}")
        }
    }
}

impl Method {
    /// The raw op forklore-sys runs.
    pub fn op(&self, clone: CloneFlags) -> Op {
        let exec = self.target != Target::None;
        match self.kind {
            Kind::Getpid => Op::Getpid,
            Kind::PosixSpawn => Op::PosixSpawn,
            Kind::Create {
                syscall,
                flags,
                parent_return_only,
            } => Op::Create(Create {
                syscall,
                flags,
                exit_signal: mf::SIGCHLD,
                exec,
                parent_return_only,
            }),
            Kind::UserClone => Op::Create(Create {
                syscall: Syscall::Clone,
                flags: clone.flags,
                exit_signal: clone.exit_signal,
                exec: false,
                parent_return_only: false,
            }),
        }
    }

    /// True for the `clone` method, whose flags come from the user.
    pub fn takes_flags(&self) -> bool {
        matches!(self.kind, Kind::UserClone)
    }

    /// Shares the parent's VM, taking the user's flags into account.
    pub fn is_vm_family(&self, clone: CloneFlags) -> bool {
        if self.takes_flags() {
            clone.flags & mf::CLONE_VM != 0
        } else {
            self.shares_vm
        }
    }
}

pub fn find(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}

/// `--method` list: names separated by commas; `all` and `default` expand.
/// Order follows [`METHODS`]; duplicates collapse.
pub fn select(spec: &str) -> Result<Vec<&'static Method>, BenchError> {
    let mut chosen = vec![false; METHODS.len()];
    for tok in spec.split(',').map(|t| t.trim().to_ascii_lowercase()) {
        let tok = tok.replace('_', "-");
        match tok.as_str() {
            "" => return Err(bad(format!("--method: empty name in {spec:?}"))),
            "all" => chosen.iter_mut().for_each(|c| *c = true),
            "default" => METHODS
                .iter()
                .zip(chosen.iter_mut())
                .for_each(|(m, c)| *c |= m.default),
            name => match METHODS.iter().position(|m| m.name == name) {
                Some(i) => chosen[i] = true,
                None => {
                    let known: Vec<_> = METHODS.iter().map(|m| m.name).collect();
                    return Err(bad(format!(
                        "unknown method {name:?} (known: {}, all, default)",
                        known.join(", ")
                    )));
                }
            },
        }
    }
    Ok(METHODS
        .iter()
        .zip(chosen)
        .filter(|(_, c)| *c)
        .map(|(m, _)| m)
        .collect())
}

pub fn defaults(sweep: bool) -> Vec<&'static Method> {
    METHODS
        .iter()
        .filter(|m| if sweep { m.sweep_default } else { m.default })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_names_all_default() {
        let v = select("vfork,fork,fork").unwrap();
        assert_eq!(
            v.iter().map(|m| m.name).collect::<Vec<_>>(),
            ["fork", "vfork"]
        );
        assert_eq!(select("all").unwrap().len(), METHODS.len());
        assert_eq!(select("default").unwrap().len(), defaults(false).len());
        assert_eq!(select("CLONE3_VFORK").unwrap()[0].name, "clone3-vfork");
        let e = select("fork,spoon").unwrap_err();
        assert!(matches!(e, BenchError::BadInput(ref m) if m.contains("\"spoon\"")));
        assert!(select("fork,,vfork").is_err());
    }

    #[test]
    fn names_are_unique_and_defaults_sane() {
        for (i, a) in METHODS.iter().enumerate() {
            assert!(
                METHODS[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
        assert!(defaults(true).iter().any(|m| m.name == "fork"));
        assert!(defaults(true).iter().any(|m| m.name == "clone3-vfork"));
        assert!(!defaults(false).iter().any(|m| m.takes_flags()));
    }

    #[test]
    fn clone_flags() {
        assert_eq!(CloneFlags::parse("").unwrap(), CloneFlags::default());
        let v = CloneFlags::parse("VM|VFORK").unwrap();
        assert_eq!(
            v,
            CloneFlags {
                flags: mf::CLONE_VM | mf::CLONE_VFORK,
                exit_signal: 17
            }
        );
        let s = CloneFlags::parse("clone_vm,SIGUSR1").unwrap();
        assert_eq!(s.exit_signal, 10);
        assert_eq!(CloneFlags::parse("0x4100").unwrap().flags, 0x4100);
        assert!(CloneFlags::parse("PARENT").is_err());
        assert!(CloneFlags::parse("WOBBLE").is_err());
        assert!(CloneFlags::parse("CLEAR_SIGHAND").is_err());
        assert_eq!(
            CloneFlags::parse("VM|VFORK").unwrap().display(),
            "CLONE_VM|CLONE_VFORK|SIGCHLD"
        );
    }

    #[test]
    fn vm_family() {
        assert!(find("vfork").unwrap().is_vm_family(CloneFlags::default()));
        assert!(!find("fork").unwrap().is_vm_family(CloneFlags::default()));
        let clone = find("clone").unwrap();
        assert!(clone.is_vm_family(CloneFlags::parse("VM|VFORK").unwrap()));
    }
}
