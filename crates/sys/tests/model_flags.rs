//! The pure model keeps its own clone-flag table (crates/model/src/flags.rs,
//! no dependency on sys); this pins it to the ABI vocabulary, name for name
//! and bit for bit.

use forklore_model::flags as model;
use forklore_sys::abi;

#[test]
fn model_flag_table_is_the_abi_table() {
    assert_eq!(model::FLAG_NAMES, abi::CLONE_FLAG_NAMES);
}

#[test]
fn model_flag_constants_are_the_abis() {
    let pairs = [
        (model::CSIGNAL, abi::CSIGNAL),
        (model::CLONE_NEWTIME, abi::CLONE_NEWTIME),
        (model::CLONE_VM, abi::CLONE_VM),
        (model::CLONE_FS, abi::CLONE_FS),
        (model::CLONE_FILES, abi::CLONE_FILES),
        (model::CLONE_SIGHAND, abi::CLONE_SIGHAND),
        (model::CLONE_PIDFD, abi::CLONE_PIDFD),
        (model::CLONE_PTRACE, abi::CLONE_PTRACE),
        (model::CLONE_VFORK, abi::CLONE_VFORK),
        (model::CLONE_PARENT, abi::CLONE_PARENT),
        (model::CLONE_THREAD, abi::CLONE_THREAD),
        (model::CLONE_NEWNS, abi::CLONE_NEWNS),
        (model::CLONE_SYSVSEM, abi::CLONE_SYSVSEM),
        (model::CLONE_SETTLS, abi::CLONE_SETTLS),
        (model::CLONE_PARENT_SETTID, abi::CLONE_PARENT_SETTID),
        (model::CLONE_CHILD_CLEARTID, abi::CLONE_CHILD_CLEARTID),
        (model::CLONE_DETACHED, abi::CLONE_DETACHED),
        (model::CLONE_UNTRACED, abi::CLONE_UNTRACED),
        (model::CLONE_CHILD_SETTID, abi::CLONE_CHILD_SETTID),
        (model::CLONE_NEWCGROUP, abi::CLONE_NEWCGROUP),
        (model::CLONE_NEWUTS, abi::CLONE_NEWUTS),
        (model::CLONE_NEWIPC, abi::CLONE_NEWIPC),
        (model::CLONE_NEWUSER, abi::CLONE_NEWUSER),
        (model::CLONE_NEWPID, abi::CLONE_NEWPID),
        (model::CLONE_NEWNET, abi::CLONE_NEWNET),
        (model::CLONE_IO, abi::CLONE_IO),
        (model::CLONE_CLEAR_SIGHAND, abi::CLONE_CLEAR_SIGHAND),
        (model::CLONE_INTO_CGROUP, abi::CLONE_INTO_CGROUP),
        (model::CLONE_AUTOREAP, abi::CLONE_AUTOREAP),
        (model::CLONE_NNP, abi::CLONE_NNP),
        (model::CLONE_PIDFD_AUTOKILL, abi::CLONE_PIDFD_AUTOKILL),
    ];
    for (i, (m, a)) in pairs.iter().enumerate() {
        assert_eq!(m, a, "flag {i}");
    }
}

#[test]
fn model_wait_options_are_the_abis() {
    use forklore_model::lifecycle::wopt;
    assert_eq!(wopt::WNOHANG, abi::WNOHANG);
    assert_eq!(wopt::WUNTRACED, abi::WUNTRACED);
    assert_eq!(wopt::WSTOPPED, abi::WSTOPPED);
    assert_eq!(wopt::WEXITED, abi::WEXITED);
    assert_eq!(wopt::WCONTINUED, abi::WCONTINUED);
    assert_eq!(wopt::WNOWAIT, abi::WNOWAIT);
    assert_eq!(wopt::WNOTHREAD, abi::WNOTHREAD);
    assert_eq!(wopt::WALL, abi::WALL);
    assert_eq!(wopt::WCLONE, abi::WCLONE);
}

/// The model names errnos by number (it cannot depend on sys): every number
/// it names must be the one sys's ABI vocabulary gives that name. The
/// kernel-internal ERESTART* codes never reach user space and are not in
/// the UAPI headers sys takes its names from.
#[test]
fn model_errno_names_are_the_abis() {
    let mut named = 0;
    for raw in 1..600 {
        let Some(m) = forklore_model::Errno(raw).name() else {
            continue;
        };
        if m.starts_with("ERESTART") {
            continue;
        }
        named += 1;
        assert_eq!(
            forklore_sys::Errno::from_raw(raw).name(),
            Some(m),
            "errno {raw}: the model says {m}"
        );
    }
    assert!(named >= 30, "only {named} errno names checked");
}
