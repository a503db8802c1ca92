//! CLONE_* flag values (include/uapi/linux/sched.h, model-spec §2.1), signal
//! numbers, and the parser for user-supplied flag expressions.
//!
//! Values are defined here as `u64`: libc 0.2's `CLONE_CLEAR_SIGHAND` and
//! `CLONE_INTO_CGROUP` are 0 and `CLONE_IO as u64` sign-extends.

use crate::version::KernelVersion;

pub const CSIGNAL: u64 = 0x0000_00ff;
pub const CLONE_NEWTIME: u64 = 0x0000_0080;
pub const CLONE_VM: u64 = 0x0000_0100;
pub const CLONE_FS: u64 = 0x0000_0200;
pub const CLONE_FILES: u64 = 0x0000_0400;
pub const CLONE_SIGHAND: u64 = 0x0000_0800;
pub const CLONE_PIDFD: u64 = 0x0000_1000;
pub const CLONE_PTRACE: u64 = 0x0000_2000;
pub const CLONE_VFORK: u64 = 0x0000_4000;
pub const CLONE_PARENT: u64 = 0x0000_8000;
pub const CLONE_THREAD: u64 = 0x0001_0000;
pub const CLONE_NEWNS: u64 = 0x0002_0000;
pub const CLONE_SYSVSEM: u64 = 0x0004_0000;
pub const CLONE_SETTLS: u64 = 0x0008_0000;
pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
pub const CLONE_DETACHED: u64 = 0x0040_0000;
pub const CLONE_UNTRACED: u64 = 0x0080_0000;
pub const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
pub const CLONE_NEWCGROUP: u64 = 0x0200_0000;
pub const CLONE_NEWUTS: u64 = 0x0400_0000;
pub const CLONE_NEWIPC: u64 = 0x0800_0000;
pub const CLONE_NEWUSER: u64 = 0x1000_0000;
pub const CLONE_NEWPID: u64 = 0x2000_0000;
pub const CLONE_NEWNET: u64 = 0x4000_0000;
pub const CLONE_IO: u64 = 0x8000_0000;
pub const CLONE_CLEAR_SIGHAND: u64 = 1 << 32;
pub const CLONE_INTO_CGROUP: u64 = 1 << 33;
pub const CLONE_AUTOREAP: u64 = 1 << 34;
pub const CLONE_NNP: u64 = 1 << 35;
pub const CLONE_PIDFD_AUTOKILL: u64 = 1 << 36;
/// clone3 only: a new, empty mount namespace; kernel_clone() adds
/// CLONE_NEWNS (linux-source-7.2 7.2.13 kernel/fork.c).
pub const CLONE_EMPTY_MNTNS: u64 = 1 << 37;

/// `CLONE_LEGACY_FLAGS` in kernel/fork.c.
pub const CLONE_LEGACY_FLAGS: u64 = 0xffff_ffff;

/// All namespace flags (clone3 may also carry CLONE_NEWTIME).
pub const NS_FLAGS: u64 = CLONE_NEWNS
    | CLONE_NEWCGROUP
    | CLONE_NEWUTS
    | CLONE_NEWIPC
    | CLONE_NEWUSER
    | CLONE_NEWPID
    | CLONE_NEWNET
    | CLONE_NEWTIME;

/// The 17 non-namespace legacy flags whose every combination forms the
/// conformance matrix (everything in the low 32 bits except the CSIGNAL
/// byte and the namespace flags).
pub const MATRIX_FLAGS: [u64; 17] = [
    CLONE_VM,
    CLONE_FS,
    CLONE_FILES,
    CLONE_SIGHAND,
    CLONE_PIDFD,
    CLONE_PTRACE,
    CLONE_VFORK,
    CLONE_PARENT,
    CLONE_THREAD,
    CLONE_SYSVSEM,
    CLONE_SETTLS,
    CLONE_PARENT_SETTID,
    CLONE_CHILD_CLEARTID,
    CLONE_DETACHED,
    CLONE_UNTRACED,
    CLONE_CHILD_SETTID,
    CLONE_IO,
];

/// Flag names in bit order, without the `CLONE_` prefix.
pub const FLAG_NAMES: &[(&str, u64)] = &[
    ("NEWTIME", CLONE_NEWTIME),
    ("VM", CLONE_VM),
    ("FS", CLONE_FS),
    ("FILES", CLONE_FILES),
    ("SIGHAND", CLONE_SIGHAND),
    ("PIDFD", CLONE_PIDFD),
    ("PTRACE", CLONE_PTRACE),
    ("VFORK", CLONE_VFORK),
    ("PARENT", CLONE_PARENT),
    ("THREAD", CLONE_THREAD),
    ("NEWNS", CLONE_NEWNS),
    ("SYSVSEM", CLONE_SYSVSEM),
    ("SETTLS", CLONE_SETTLS),
    ("PARENT_SETTID", CLONE_PARENT_SETTID),
    ("CHILD_CLEARTID", CLONE_CHILD_CLEARTID),
    ("DETACHED", CLONE_DETACHED),
    ("UNTRACED", CLONE_UNTRACED),
    ("CHILD_SETTID", CLONE_CHILD_SETTID),
    ("NEWCGROUP", CLONE_NEWCGROUP),
    ("NEWUTS", CLONE_NEWUTS),
    ("NEWIPC", CLONE_NEWIPC),
    ("NEWUSER", CLONE_NEWUSER),
    ("NEWPID", CLONE_NEWPID),
    ("NEWNET", CLONE_NEWNET),
    ("IO", CLONE_IO),
    ("CLEAR_SIGHAND", CLONE_CLEAR_SIGHAND),
    ("INTO_CGROUP", CLONE_INTO_CGROUP),
    ("AUTOREAP", CLONE_AUTOREAP),
    ("NNP", CLONE_NNP),
    ("PIDFD_AUTOKILL", CLONE_PIDFD_AUTOKILL),
    ("EMPTY_MNTNS", CLONE_EMPTY_MNTNS),
];

/// The release whose include/uapi/linux/sched.h first defines each flag
/// (model-spec §4 timeline; cross-checked against each matrix series' UAPI
/// header by crates/model/tests/kernel_source.rs from fixtures/kernels/).
/// Same order as [`FLAG_NAMES`].
pub const FLAG_SINCE: &[(&str, KernelVersion)] = &[
    ("NEWTIME", KernelVersion::new(5, 6, 0)), // 769071ac9f20 "ns: Introduce Time Namespace"
    ("VM", KernelVersion::new(2, 0, 0)),
    ("FS", KernelVersion::new(2, 0, 0)),
    ("FILES", KernelVersion::new(2, 0, 0)),
    ("SIGHAND", KernelVersion::new(2, 0, 0)),
    ("PIDFD", KernelVersion::new(5, 2, 0)), // b3e583825266 "clone: add CLONE_PIDFD"
    ("PTRACE", KernelVersion::new(2, 2, 0)),
    ("VFORK", KernelVersion::new(2, 2, 0)),
    ("PARENT", KernelVersion::new(2, 3, 12)),
    ("THREAD", KernelVersion::new(2, 4, 0)),
    ("NEWNS", KernelVersion::new(2, 4, 19)),
    ("SYSVSEM", KernelVersion::new(2, 5, 10)),
    ("SETTLS", KernelVersion::new(2, 5, 32)),
    ("PARENT_SETTID", KernelVersion::new(2, 5, 49)),
    ("CHILD_CLEARTID", KernelVersion::new(2, 5, 49)),
    ("DETACHED", KernelVersion::new(2, 5, 32)),
    ("UNTRACED", KernelVersion::new(2, 5, 46)),
    ("CHILD_SETTID", KernelVersion::new(2, 5, 49)),
    ("NEWCGROUP", KernelVersion::new(4, 6, 0)),
    ("NEWUTS", KernelVersion::new(2, 6, 19)),
    ("NEWIPC", KernelVersion::new(2, 6, 19)),
    ("NEWUSER", KernelVersion::new(2, 6, 23)),
    ("NEWPID", KernelVersion::new(2, 6, 24)),
    ("NEWNET", KernelVersion::new(2, 6, 24)),
    ("IO", KernelVersion::new(2, 6, 25)),
    ("CLEAR_SIGHAND", KernelVersion::new(5, 5, 0)), // b612e5df4587 "clone3: add CLONE_CLEAR_SIGHAND"
    ("INTO_CGROUP", KernelVersion::new(5, 7, 0)), // ef2c41cf38a7 "clone3: allow spawning processes into cgroups"
    ("AUTOREAP", KernelVersion::new(7, 1, 0)),    // "clone: add CLONE_AUTOREAP"
    ("NNP", KernelVersion::new(7, 1, 0)),         // "clone: add CLONE_NNP"
    ("PIDFD_AUTOKILL", KernelVersion::new(7, 1, 0)), // "pidfd: add CLONE_PIDFD_AUTOKILL"
    // In linux-libc-dev 7.2.13's sched.h, not in the 7.1-cycle snapshot the
    // spec read (spec §0.1 H, 07c3ef58); 7.1.y not checked.
    ("EMPTY_MNTNS", KernelVersion::new(7, 2, 0)),
];

/// The flags a kernel's UAPI header defines: `(name, bit)` of every
/// [`FLAG_NAMES`] entry whose [`FLAG_SINCE`] is not after `v`.
pub fn flags_defined_in(v: KernelVersion) -> Vec<(&'static str, u64)> {
    FLAG_NAMES
        .iter()
        .filter(|(n, _)| FLAG_SINCE.iter().any(|(m, since)| m == n && *since <= v))
        .copied()
        .collect()
}

/// x86_64 signal numbers (arch/x86/include/uapi/asm/signal.h).
pub const SIGNAL_NAMES: &[(&str, u64)] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGIO", 29),
    ("SIGPWR", 30),
    ("SIGSYS", 31),
];
pub const SIGCHLD: u64 = 17;
/// `_NSIG` on x86_64: `valid_signal(sig)` is `sig <= 64`.
pub const NSIG: u64 = 64;

/// Name of a signal number, `SIGRTMIN+n` style for real-time signals.
pub fn signal_name(sig: u64) -> String {
    if let Some((n, _)) = SIGNAL_NAMES.iter().find(|(_, v)| *v == sig) {
        return (*n).to_string();
    }
    match sig {
        0 => "0".to_string(),
        32..=64 => format!("SIGRT{}", sig - 32),
        _ => sig.to_string(),
    }
}

/// Render flags as `CLONE_VM|CLONE_VFORK|0x4000000000`; unknown bits are kept
/// as hex so nothing is silently dropped. `0` renders as `0`.
pub fn format_flags(flags: u64) -> String {
    let mut parts = Vec::new();
    let mut rest = flags;
    for (name, bit) in FLAG_NAMES {
        if flags & bit != 0 {
            parts.push(format!("CLONE_{name}"));
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        "0".to_string()
    } else {
        parts.join("|")
    }
}

/// Render a legacy `clone()` first argument: the flags plus the exit-signal
/// byte, e.g. `CLONE_VM|CLONE_VFORK|SIGCHLD`.
pub fn format_legacy_clone_arg(raw: u64) -> String {
    let sig = raw & CSIGNAL;
    let flags = raw & !CSIGNAL;
    let f = format_flags(flags);
    match (flags, sig) {
        (_, 0) => f,
        (0, s) => signal_name(s),
        (_, s) => format!("{f}|{}", signal_name(s)),
    }
}

/// The result of parsing a user's flag expression.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParsedFlags {
    /// CLONE_* bits (names, hex and decimal tokens ORed together).
    pub flags: u64,
    /// An exit signal given by name inside the expression (`SIGCHLD`).
    pub exit_signal: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagParseError {
    #[error("unknown clone flag {0:?} (names such as VM, CLONE_THREAD, or a number like 0x100)")]
    UnknownName(String),
    #[error("empty element in flag expression {0:?}")]
    Empty(String),
    #[error("number {0:?} does not fit in 64 bits")]
    Overflow(String),
    #[error("two exit signals in one flag expression: {0} and {1}")]
    TwoSignals(String, String),
}

/// Parse `"THREAD|SIGHAND"`, `"clone_vm,clone_vfork"`, `"0x10900"`, `"256"`,
/// `"VM|VFORK|SIGCHLD"`. Names are case-insensitive, with or without
/// `CLONE_`; signal names need their `SIG` prefix (`SIGIO` vs `CLONE_IO`).
/// The empty string and `0` mean no flags.
pub fn parse_flags(expr: &str) -> Result<ParsedFlags, FlagParseError> {
    let mut out = ParsedFlags::default();
    if expr.trim().is_empty() {
        return Ok(out);
    }
    for tok in expr.split(['|', ',']) {
        let t = tok.trim();
        if t.is_empty() {
            return Err(FlagParseError::Empty(expr.to_string()));
        }
        if let Some(v) = parse_number(t)? {
            out.flags |= v;
            continue;
        }
        let upper = t.to_ascii_uppercase();
        // Flag names first: CLONE_SIGHAND starts with "SIG" too.
        let bare = upper.strip_prefix("CLONE_").unwrap_or(&upper);
        if let Some((_, bit)) = FLAG_NAMES.iter().find(|(n, _)| *n == bare) {
            out.flags |= bit;
            continue;
        }
        if !upper.starts_with("SIG") {
            return Err(FlagParseError::UnknownName(t.into()));
        }
        let sig = parse_signal(&upper).ok_or_else(|| FlagParseError::UnknownName(t.into()))?;
        if let Some(prev) = out.exit_signal {
            return Err(FlagParseError::TwoSignals(
                signal_name(prev),
                signal_name(sig),
            ));
        }
        out.exit_signal = Some(sig);
    }
    Ok(out)
}

/// Parse a signal given as a name (`SIGCHLD`, `chld`, `SIGRTMIN+2`,
/// `SIGRT3`) or a
/// number (`17`, `0x80`). Numbers are not range-checked: out-of-range exit
/// signals are cases in their own right.
pub fn parse_signal(s: &str) -> Option<u64> {
    let t = s.trim();
    if let Ok(Some(v)) = parse_number(t) {
        return Some(v);
    }
    let upper = t.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    if let Some((_, v)) = SIGNAL_NAMES.iter().find(|(n, _)| *n == full) {
        return Some(*v);
    }
    let rt = |base: u64, rest: &str| -> Option<u64> {
        if rest.is_empty() {
            return Some(base);
        }
        let n: u64 = rest.strip_prefix('+')?.parse().ok()?;
        base.checked_add(n).filter(|v| *v <= 64)
    };
    if let Some(rest) = full.strip_prefix("SIGRTMIN") {
        return rt(34, rest);
    }
    if full == "SIGRTMAX" {
        return Some(64);
    }
    // `SIGRT<n>` is signal 32 + n, the kernel's numbering, as [`signal_name`]
    // prints signals 32..=64 that have no other name.
    if let Some(n) = full
        .strip_prefix("SIGRT")
        .and_then(|r| r.parse::<u64>().ok())
    {
        return (n <= 32).then_some(32 + n);
    }
    None
}

/// `Ok(None)` when `t` is not numeric at all; `Err` when it is numeric but
/// does not fit.
fn parse_number(t: &str) -> Result<Option<u64>, FlagParseError> {
    let (digits, radix) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (t, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Ok(None);
    }
    u64::from_str_radix(digits, radix)
        .map(Some)
        .map_err(|_| FlagParseError::Overflow(t.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_numbers_and_signals() {
        let p = parse_flags("THREAD|sighand").unwrap();
        assert_eq!(p.flags, CLONE_THREAD | CLONE_SIGHAND);
        let p = parse_flags("clone_vm, CLONE_VFORK | SIGCHLD").unwrap();
        assert_eq!(p.flags, CLONE_VM | CLONE_VFORK);
        assert_eq!(p.exit_signal, Some(17));
        assert_eq!(parse_flags("0x10900").unwrap().flags, 0x10900);
        assert_eq!(parse_flags("256").unwrap().flags, CLONE_VM);
        assert_eq!(parse_flags("IO").unwrap().flags, CLONE_IO);
        assert_eq!(parse_flags("SIGIO").unwrap().exit_signal, Some(29));
        assert_eq!(parse_flags("").unwrap(), ParsedFlags::default());
        assert_eq!(parse_flags("CLEAR_SIGHAND").unwrap().flags, 1 << 32);
    }

    #[test]
    fn rejects_bad_tokens() {
        assert!(matches!(
            parse_flags("VM|BOGUS"),
            Err(FlagParseError::UnknownName(_))
        ));
        assert!(matches!(
            parse_flags("VM||FS"),
            Err(FlagParseError::Empty(_))
        ));
        assert!(matches!(
            parse_flags("0x1ffffffffffffffff"),
            Err(FlagParseError::Overflow(_))
        ));
        assert!(matches!(
            parse_flags("SIGCHLD|SIGUSR1"),
            Err(FlagParseError::TwoSignals(..))
        ));
        assert!(matches!(
            parse_flags("SIGNOPE"),
            Err(FlagParseError::UnknownName(_))
        ));
    }

    #[test]
    fn formats_keep_unknown_bits() {
        assert_eq!(format_flags(CLONE_VM | (1 << 40)), "CLONE_VM|0x10000000000");
        assert_eq!(
            format_legacy_clone_arg(0x4111),
            "CLONE_VM|CLONE_VFORK|SIGCHLD"
        );
        assert_eq!(format_flags(0), "0");
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal("chld"), Some(17));
        assert_eq!(parse_signal("SIGRTMIN+2"), Some(36));
        assert_eq!(parse_signal("0x80"), Some(128));
        assert_eq!(parse_signal("SIGFOO"), None);
    }
}
