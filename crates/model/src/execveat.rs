//! execveat(2): what the dirfd, the path and the flags decide beyond what
//! execve does (fs/exec.c do_execveat_common, alloc_bprm, do_open_execat;
//! fs/namei.c getname_uflags; fs/binfmt_script.c load_script).
//!
//! Every expectation comes from one row of [`EXECVEAT_RULES`], found by
//! [`crate::lifecycle::rule`] like the other lifecycle rules. Pure: no I/O.

use crate::errno::Errno;
use crate::lifecycle::Expect;
use crate::prediction::{RuleInfo, VersionRange};
use crate::version::KernelVersion;

/// execveat was added in 3.19 (51f39a1f0cea "syscalls: implement execveat() system call").
const SINCE_3_19: &[VersionRange] = &[VersionRange {
    from: KernelVersion::new(3, 19, 0),
    to: None,
}];

/// `AT_SYMLINK_NOFOLLOW`, `AT_EMPTY_PATH` and `AT_EXECVE_CHECK`
/// (include/uapi/linux/fcntl.h).
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_EMPTY_PATH: u32 = 0x1000;
pub const AT_EXECVE_CHECK: u32 = 0x10000;

/// The failed-name error came before the flags check up to a release
/// between 6.19 and 7.2 (6.18 and 6.12 checked the name first; 7.2.13's
/// source does not).
const UP_TO_7_1: &[VersionRange] = &[VersionRange {
    from: KernelVersion::new(3, 19, 0),
    to: Some(KernelVersion::new(7, 1, 255)),
}];
const SINCE_7_2: &[VersionRange] = &[VersionRange {
    from: KernelVersion::new(7, 2, 0),
    to: None,
}];
const ORDER_CHANGE: &str = "the release that moved the failed-name check after the flags check (the struct filename CLASS conversion of execveat) lies between 6.19 and 7.2 and is not pinned down: 6.18 (this host) and Debian 6.12 check the name first, Debian 7.2.13's source and kernel the flags";

const SINCE_6_14: &[VersionRange] = &[VersionRange {
    from: KernelVersion::new(6, 14, 0),
    to: None,
}];

/// The execveat rules, in the order the kernel checks them.
pub static EXECVEAT_RULES: &[RuleInfo] = &[
    RuleInfo {
        id: "L-EXECAT-ENOENT-EMPTY",
        function: "fs/namei.c: getname_uflags (from the execveat entry)",
        errno: Some(Errno::ENOENT),
        reason: "an empty path without AT_EMPTY_PATH; do_execveat_common returns the failed name's error before the flags are looked at",
        source: "fs/exec.c SYSCALL_DEFINE5(execveat) -> getname_uflags(filename, flags): LOOKUP_EMPTY only with AT_EMPTY_PATH; do_execveat_common: if (IS_ERR(filename)) return PTR_ERR(filename), before alloc_bprm -> do_open_execat; execveat(2) ERRORS. Observed on 6.18 (host) and Debian 5.10, 6.1, 6.12",
        versions: UP_TO_7_1,
        uncertain: Some(ORDER_CHANGE),
        arches: crate::ALL_ARCHES,
    },
    RuleInfo {
        id: "L-EXECAT-ENOENT-EMPTY-LATE",
        function: "fs/exec.c: do_open_execat (do_file_open of the failed name, after the flags check)",
        errno: Some(Errno::ENOENT),
        reason: "an empty path without AT_EMPTY_PATH and valid flags; the failed name's error comes from the open, after the flags check (an invalid flag is EINVAL first)",
        source: "7.2.13 fs/exec.c: SYSCALL_DEFINE5(execveat) CLASS(filename_uflags, name) -> do_execveat_common -> CLASS(bprm) -> alloc_bprm -> do_open_execat: flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_EXECVE_CHECK) -> EINVAL, then do_file_open(fd, name) with the failed name -> ENOENT; no IS_ERR(filename) check before. Observed on Debian 7.2.13 under qemu",
        versions: SINCE_7_2,
        uncertain: Some(ORDER_CHANGE),
        arches: crate::ALL_ARCHES,
    },
    rule!("L-EXECAT-EINVAL-FLAGS", "fs/exec.c: do_open_execat", Some(Errno::EINVAL),
        "a flag other than AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH",
        "fs/exec.c do_open_execat (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)); execveat(2) ERRORS", SINCE_3_19, None),
    RuleInfo {
        id: "L-EXECAT-EXECVE-CHECK",
        function: "fs/exec.c: do_open_execat / bprm_execve (AT_EXECVE_CHECK)",
        errno: None,
        reason: "AT_EXECVE_CHECK is a valid flag (check only, no exec); before it existed it was EINVAL like any other",
        source: "\"exec: Add a new AT_EXECVE_CHECK flag to execveat(2)\" (6.14); execveat(2)",
        versions: SINCE_6_14,
        uncertain: Some("first release 6.14 not verified against a 6.13 kernel"),
        arches: crate::ALL_ARCHES,
    },
    rule!("L-EXECAT-ELOOP-NOFOLLOW", "fs/exec.c: do_open_execat (AT_SYMLINK_NOFOLLOW clears LOOKUP_FOLLOW)", Some(Errno::ELOOP),
        "AT_SYMLINK_NOFOLLOW and the path's last component is a symbolic link",
        "fs/exec.c do_open_execat; execveat(2) ERRORS", SINCE_3_19, None),
    rule!("L-EXECAT-DIRFD", "fs/exec.c: do_open_execat (do_filp_open(fd, name))", None,
        "a relative path is resolved against dirfd: the file there runs",
        "fs/exec.c do_open_execat; execveat(2)", SINCE_3_19, None),
    rule!("L-EXECAT-EMPTY-PATH", "fs/exec.c: do_open_execat (LOOKUP_EMPTY)", None,
        "AT_EMPTY_PATH with an empty path runs the file dirfd refers to (an O_PATH descriptor, a memfd)",
        "fs/exec.c do_open_execat; execveat(2) (fexecve)", SINCE_3_19, None),
    rule!("L-EXECAT-SCRIPT-FD", "fs/exec.c: alloc_bprm (bprm->filename = \"/dev/fd/N\")", None,
        "a script run through a descriptor that stays open across the exec: its interpreter gets /dev/fd/N as the script's path",
        "fs/exec.c alloc_bprm; fs/binfmt_script.c load_script; execveat(2) NOTES", SINCE_3_19, None),
    rule!("L-EXECAT-SCRIPT-CLOEXEC", "fs/binfmt_script.c: load_script (BINPRM_FLAGS_PATH_INACCESSIBLE)", Some(Errno::ENOENT),
        "a script run through a close-on-exec descriptor: its /dev/fd/N path would be gone after the exec, so load_script gives up",
        "fs/exec.c alloc_bprm (close_on_exec(fd) -> BINPRM_FLAGS_PATH_INACCESSIBLE); fs/binfmt_script.c load_script; execveat(2) NOTES", SINCE_3_19, None),
];

/// What an execveat call looks like to the checks above.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExecveatFacts {
    pub flags: u32,
    /// The path is "".
    pub empty_path: bool,
    /// The path (not empty) is relative and dirfd is a directory descriptor.
    pub relative_to_dirfd: bool,
    /// The path's last component is a symbolic link (to a runnable file).
    pub final_symlink: bool,
    /// The file is a `#!` script whose interpreter exists.
    pub script: bool,
    /// dirfd is close-on-exec.
    pub fd_cloexec: bool,
    /// The file is a runnable program or script otherwise (as execve would
    /// run it).
    pub runnable: bool,
}

/// The errno of the call, or None when the new image runs.
pub fn execveat_error(k: KernelVersion, f: &ExecveatFacts) -> Expect<Option<Errno>> {
    let by = |rule, value| Expect { value, rule };
    let bad_name = f.empty_path && f.flags & AT_EMPTY_PATH == 0;
    if bad_name && crate::lifecycle::applies("L-EXECAT-ENOENT-EMPTY", k) {
        return by("L-EXECAT-ENOENT-EMPTY", Some(Errno::ENOENT));
    }
    let mut valid = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH;
    if crate::lifecycle::applies("L-EXECAT-EXECVE-CHECK", k) {
        valid |= AT_EXECVE_CHECK;
    }
    if f.flags & !valid != 0 {
        return by("L-EXECAT-EINVAL-FLAGS", Some(Errno::EINVAL));
    }
    if bad_name {
        return by("L-EXECAT-ENOENT-EMPTY-LATE", Some(Errno::ENOENT));
    }
    if !f.empty_path && f.final_symlink && f.flags & AT_SYMLINK_NOFOLLOW != 0 {
        return by("L-EXECAT-ELOOP-NOFOLLOW", Some(Errno::ELOOP));
    }
    // The name becomes /dev/fd/N[/path] when the file is named through dirfd.
    let via_fd = f.empty_path || f.relative_to_dirfd;
    if f.script && via_fd && f.fd_cloexec {
        return by("L-EXECAT-SCRIPT-CLOEXEC", Some(Errno::ENOENT));
    }
    if !f.runnable {
        // Not a case this model covers: execve's own checks decide.
        return by("L-EXEC-OK", None);
    }
    if f.script && via_fd {
        return by("L-EXECAT-SCRIPT-FD", None);
    }
    if f.empty_path {
        by("L-EXECAT-EMPTY-PATH", None)
    } else if f.relative_to_dirfd {
        by("L-EXECAT-DIRFD", None)
    } else {
        // An absolute path (or AT_FDCWD): execve's own rules.
        by("L-EXEC-OK", None)
    }
}

/// The path argument a script's interpreter gets when the script was run
/// through `fd` with an empty path (AT_EMPTY_PATH).
pub fn script_path_arg(fd: i32) -> Expect<String> {
    Expect {
        value: format!("/dev/fd/{fd}"),
        rule: "L-EXECAT-SCRIPT-FD",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_resolve_through_the_lifecycle_lookup() {
        for r in EXECVEAT_RULES {
            assert_eq!(crate::lifecycle::rule(r.id).map(|x| x.id), Some(r.id));
        }
        assert!(!crate::lifecycle::applies(
            "L-EXECAT-DIRFD",
            KernelVersion::new(3, 18, 0)
        ));
        assert!(crate::lifecycle::applies(
            "L-EXECAT-DIRFD",
            KernelVersion::new(6, 18, 0)
        ));
    }

    #[test]
    fn order_of_checks() {
        let ok = ExecveatFacts {
            runnable: true,
            ..Default::default()
        };
        let k = KernelVersion::new(6, 18, 0);
        let e = |f: ExecveatFacts| execveat_error(k, &f).value;
        assert_eq!(
            e(ExecveatFacts {
                empty_path: true,
                flags: 1,
                ..ok
            }),
            Some(Errno::ENOENT)
        );
        assert_eq!(e(ExecveatFacts { flags: 1, ..ok }), Some(Errno::EINVAL));
        assert_eq!(
            e(ExecveatFacts {
                final_symlink: true,
                flags: AT_SYMLINK_NOFOLLOW,
                ..ok
            }),
            Some(Errno::ELOOP)
        );
        assert_eq!(
            e(ExecveatFacts {
                final_symlink: true,
                ..ok
            }),
            None
        );
        let script = ExecveatFacts {
            empty_path: true,
            flags: AT_EMPTY_PATH,
            script: true,
            ..ok
        };
        assert_eq!(e(script), None);
        assert_eq!(
            e(ExecveatFacts {
                fd_cloexec: true,
                ..script
            }),
            Some(Errno::ENOENT)
        );
        // An ELF through a close-on-exec fd runs.
        assert_eq!(
            e(ExecveatFacts {
                fd_cloexec: true,
                script: false,
                ..script
            }),
            None
        );
        assert_eq!(script_path_arg(5).value, "/dev/fd/5");
        let check = ExecveatFacts {
            flags: AT_EXECVE_CHECK,
            ..ok
        };
        assert_eq!(
            execveat_error(KernelVersion::new(6, 13, 0), &check).value,
            Some(Errno::EINVAL)
        );
        assert_eq!(execveat_error(k, &check).value, None);
    }

    #[test]
    fn an_empty_name_with_a_bad_flag_is_einval_from_7_2() {
        let f = ExecveatFacts {
            runnable: true,
            empty_path: true,
            flags: 2,
            ..Default::default()
        };
        let at = |a, b, c| execveat_error(KernelVersion::new(a, b, c), &f);
        assert_eq!(at(6, 18, 0).value, Some(Errno::ENOENT));
        assert_eq!(at(6, 18, 0).rule, "L-EXECAT-ENOENT-EMPTY");
        assert_eq!(at(7, 2, 13).value, Some(Errno::EINVAL));
        assert_eq!(at(7, 2, 13).rule, "L-EXECAT-EINVAL-FLAGS");
        let valid = ExecveatFacts { flags: 0, ..f };
        let late = execveat_error(KernelVersion::new(7, 3, 0), &valid);
        assert_eq!(late.value, Some(Errno::ENOENT));
        assert_eq!(late.rule, "L-EXECAT-ENOENT-EMPTY-LATE");
    }
}
