//! The probe engine against the real kernel, through this test binary
//! re-executed as the probe (`__probe`). Assertions are about observed relations (who is whose parent,
//! which wait option reaped what), never about particular pid values.
//! A test that cannot run here (most need root) is reported as ignored,
//! with the reason, never as passed.

use forklore_model::flags::*;
use forklore_model::{
    cap, ArgsMem, CgroupAccess, CgroupFd, Clone3Args, Errno, PidfdKind, Ptr, ReapedBy, Request,
    SetTid, TidSpec,
};
use forklore_probe::*;
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::time::Duration;

fn cmd() -> ProbeCommand {
    ProbeCommand::current_exe().expect("own executable")
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// What a test did: ran to completion, or could not run here (ignored,
/// with the reason). A failed assertion panics, which is a failure.
type Ran = Result<Completion, Failed>;

/// This test cannot run here: report it as ignored with the reason, never
/// as passed.
fn skip(why: &str) -> Ran {
    Ok(Completion::ignored_with(why))
}

fn batch(ctx: ContextSpec, cases: &[(&str, Request, ObserveLevel)]) -> BatchResult {
    let cases: Vec<ProbeCase> = cases
        .iter()
        .map(|(id, r, l)| ProbeCase::new(*id, r.clone(), *l))
        .collect();
    let r = run_batch(&cmd(), &ctx, &cases, Duration::from_secs(20));
    if r.context.is_ok() {
        assert_eq!(r.results.len(), cases.len(), "notes: {:?}", r.notes);
        for ((id, _), c) in r.results.iter().zip(&cases) {
            assert_eq!(id, &c.id);
        }
    }
    r
}

fn one(ctx: ContextSpec, req: Request, level: ObserveLevel) -> Observation {
    let r = batch(ctx, &[("case", req, level)]);
    r.context.as_ref().expect("context");
    r.results.into_iter().next().unwrap().1
}

fn full(req: Request) -> Observation {
    one(ContextSpec::AsIs, req, ObserveLevel::Full)
}

fn ok(o: &Observation) {
    assert_eq!(o.outcome, CaseOutcome::Success, "{o:#?}");
}

fn thread_without_sighand_is_einval() -> Ran {
    let o = full(Request::clone(CLONE_THREAD | SIGCHLD));
    assert_eq!(o.outcome, CaseOutcome::Error);
    assert_eq!(o.errno, Some(Errno::EINVAL));
    assert_eq!(o.ret, Some(-22));
    assert_eq!(o.pid, None, "no child ran");
    Ok(Completion::Completed)
}

fn process_child_full() -> Ran {
    let o = full(Request::clone(
        CLONE_CHILD_SETTID | CLONE_PARENT_SETTID | SIGCHLD,
    ));
    ok(&o);
    let ret = o.ret.unwrap() as i32;
    assert_eq!(
        o.pid,
        Some(ret),
        "gettid() in the child is the return value"
    );
    assert_eq!(o.tgid, Some(ret), "its own thread group");
    assert_eq!(o.ppid, Some(o.caller_pid), "the caller is its parent");
    assert_eq!(o.parent_tid, Some(ret as i64));
    assert_eq!(o.child_tid, Some(ret as i64));
    assert_eq!(
        o.proc_state.as_deref(),
        Some("S"),
        "alive, waiting for the go-ahead"
    );
    assert_eq!(o.zombie_state.as_deref(), Some("Z"));
    let z = o.zombie.as_ref().unwrap();
    assert_eq!(
        (z.pid, z.tgid, z.ppid, z.threads),
        (ret, ret, o.caller_pid, 1)
    );
    assert_eq!(o.exit_signal, Some(17));
    assert_eq!(o.reaped_by, Some(ReapedBy::Plain));
    assert_eq!(o.wait_status, Some(42 << 8));
    assert!(o.rusage.is_some());
    assert_eq!(o.caller_suspended, Some(false));
    assert!(o.restored.is_empty(), "{:?}", o.restored);
    Ok(Completion::Completed)
}

fn fork_light_has_no_proc_reads() -> Ran {
    let o = one(ContextSpec::AsIs, Request::fork(), ObserveLevel::Light);
    ok(&o);
    assert_eq!(o.ppid, Some(o.caller_pid));
    assert_eq!(o.reaped_by, Some(ReapedBy::Plain));
    assert_eq!(o.wait_status, Some(42 << 8));
    assert!(o.proc.is_none() && o.zombie.is_none() && o.rusage.is_none());
    Ok(Completion::Completed)
}

fn exit_signal_other_than_sigchld_needs_wclone() -> Ran {
    let a = full(Request::clone(0));
    ok(&a);
    assert_eq!(a.reaped_by, Some(ReapedBy::Wclone));
    assert_eq!(a.exit_signal, Some(0));
    let b = full(Request::clone3(0, 10));
    ok(&b);
    assert_eq!(b.reaped_by, Some(ReapedBy::Wclone));
    assert_eq!(b.exit_signal, Some(10));
    Ok(Completion::Completed)
}

fn thread_child_is_joined_not_reaped() -> Ran {
    let o = full(Request::clone(
        CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID,
    ));
    ok(&o);
    let ret = o.ret.unwrap() as i32;
    assert_eq!(o.pid, Some(ret));
    assert_eq!(
        o.tgid,
        Some(o.caller_pid),
        "same thread group as the caller"
    );
    assert_eq!(
        o.ppid,
        Some(o.caller_ppid),
        "getppid() is the caller's parent"
    );
    assert_eq!(o.child_tid, Some(ret as i64), "CHILD_SETTID wrote the tid");
    assert_eq!(o.child_tid_after_exit, Some(0), "CHILD_CLEARTID cleared it");
    assert_eq!(o.reaped_by, Some(ReapedBy::None));
    assert_eq!(
        o.wait_errno,
        Some(Errno::ECHILD),
        "threads are not waitable"
    );
    assert_eq!(o.exit_signal, Some(-1));
    let p = o.proc.as_ref().unwrap();
    assert_eq!((p.tgid, p.threads), (o.caller_pid, 2));
    Ok(Completion::Completed)
}

fn thread_without_cleartid_is_still_joined() -> Ran {
    // The child registers its own join word with set_tid_address; a second
    // thread case right after proves the first one is gone.
    let r = batch(
        ContextSpec::AsIs,
        &[
            (
                "t1",
                Request::clone(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM),
                ObserveLevel::Light,
            ),
            (
                "t2",
                Request::clone(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM),
                ObserveLevel::Full,
            ),
        ],
    );
    for (_, o) in &r.results {
        ok(o);
        assert_eq!(o.tgid, Some(o.caller_pid));
    }
    assert_eq!(
        r.results[1].1.proc.as_ref().unwrap().threads,
        2,
        "only the caller and this thread"
    );
    Ok(Completion::Completed)
}

fn vfork_suspends_the_caller() -> Ran {
    for req in [
        Request::vfork(),
        Request::clone(CLONE_VM | CLONE_VFORK | SIGCHLD),
    ] {
        for level in [ObserveLevel::Light, ObserveLevel::Full] {
            let o = one(ContextSpec::AsIs, req.clone(), level);
            ok(&o);
            assert_eq!(o.caller_suspended, Some(true), "{o:#?}");
            assert_eq!(o.ppid, Some(o.caller_pid));
            assert_eq!(o.reaped_by, Some(ReapedBy::Plain));
        }
    }
    Ok(Completion::Completed)
}

fn clone_parent_child_belongs_to_the_callers_parent() -> Ran {
    for level in [ObserveLevel::Light, ObserveLevel::Full] {
        let o = one(
            ContextSpec::AsIs,
            Request::clone(CLONE_PARENT | SIGCHLD),
            level,
        );
        ok(&o);
        assert_eq!(o.ppid, Some(o.caller_ppid), "sibling of the caller");
        assert_ne!(o.ppid, Some(o.caller_pid));
        assert_eq!(o.reaped_by, Some(ReapedBy::CallersParent));
        assert_eq!(
            o.reaper_option,
            Some(ReapedBy::Plain),
            "exit_signal = leader's SIGCHLD"
        );
        assert_eq!(o.wait_status, Some(42 << 8));
        if level == ObserveLevel::Full {
            let z = o.zombie.as_ref().expect("the reaper read the zombie");
            assert_eq!(z.state, "Z");
            assert_eq!(z.ppid, o.caller_ppid);
            assert_eq!(o.exit_signal, Some(17));
        }
    }
    Ok(Completion::Completed)
}

fn pidfd_kinds() -> Ran {
    let o = full(Request::clone3(CLONE_PIDFD, 17));
    ok(&o);
    assert_eq!(o.pidfd, Some(PidfdKind::Process));
    assert_eq!(o.pidfd_pid, o.ret.map(|r| r as i32));
    // Legacy clone writes the pidfd into parent_tid.
    let l = full(Request::clone(CLONE_PIDFD | SIGCHLD));
    ok(&l);
    assert_eq!(l.pidfd, Some(PidfdKind::Process));
    assert!(l.parent_tid.is_some_and(|fd| fd >= 0));
    // PIDFD and PARENT_SETTID through legacy clone share one pointer.
    let e = full(Request::clone(CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD));
    assert_eq!(e.errno, Some(Errno::EINVAL));
    // 6.9+: a thread pidfd.
    let t = full(Request::clone3(
        CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM,
        0,
    ));
    ok(&t);
    assert_eq!(t.pidfd, Some(PidfdKind::Thread));
    // A bad pidfd pointer fails the call.
    let mut r = Request::clone3(CLONE_PIDFD, 17);
    r.clone3.as_mut().unwrap().pidfd = Ptr::Unmapped;
    assert_eq!(full(r).errno, Some(Errno::EFAULT));
    Ok(Completion::Completed)
}

fn clone3_argument_block() -> Ran {
    let with = |f: &dyn Fn(&mut Clone3Args)| {
        let mut r = Request::clone3(0, 17);
        f(r.clone3.as_mut().unwrap());
        r
    };
    let cases = [
        ("size63", with(&|a| a.size = 63), Some(Errno::EINVAL)),
        ("size4097", with(&|a| a.size = 4097), Some(Errno::E2BIG)),
        (
            "null4097",
            with(&|a| {
                a.size = 4097;
                a.mem = ArgsMem::Null
            }),
            Some(Errno::E2BIG),
        ),
        (
            "tail",
            with(&|a| {
                a.size = 96;
                a.tail_nonzero_at = Some(90)
            }),
            Some(Errno::E2BIG),
        ),
        ("zero-tail", with(&|a| a.size = 4096), None),
        (
            "tail-unmapped",
            with(&|a| {
                a.size = 96;
                a.mem = ArgsMem::Truncated(88)
            }),
            Some(Errno::EFAULT),
        ),
        (
            "ver1-unmapped",
            with(&|a| a.mem = ArgsMem::Truncated(64)),
            Some(Errno::EFAULT),
        ),
        (
            "unmapped",
            with(&|a| a.mem = ArgsMem::Unmapped),
            Some(Errno::EFAULT),
        ),
        ("exit65", with(&|a| a.exit_signal = 65), Some(Errno::EINVAL)),
    ];
    let r = batch(
        ContextSpec::AsIs,
        &cases
            .iter()
            .map(|(id, r, _)| (*id, r.clone(), ObserveLevel::Light))
            .collect::<Vec<_>>(),
    );
    for ((id, o), (_, _, want)) in r.results.iter().zip(&cases) {
        match want {
            Some(e) => assert_eq!(o.errno, Some(*e), "{id}: {o:#?}"),
            None => ok(o),
        }
    }
    Ok(Completion::Completed)
}

fn stack_and_tls_values() -> Ran {
    let mut raw = Request::clone(CLONE_VM | SIGCHLD);
    raw.stack = forklore_model::Stack::Raw {
        stack: 0x1000,
        size: 0x10,
    };
    ok(&full(raw)); // the trampoline never uses the kernel's stack pointer
    let mut inherit = Request::clone(CLONE_VM | SIGCHLD);
    inherit.stack = forklore_model::Stack::Inherit;
    ok(&full(inherit));
    let mut tls = Request::clone(CLONE_SETTLS | SIGCHLD);
    ok(&full(tls.clone()));
    tls.tls = forklore_model::Tls::Raw(0x7fff_ffff_f000);
    assert_eq!(full(tls).errno, Some(Errno::EPERM));
    let mut st = Request::clone3(0, 17);
    st.stack = forklore_model::Stack::Raw {
        stack: 0x1000,
        size: 0,
    };
    assert_eq!(full(st).errno, Some(Errno::EINVAL));
    Ok(Completion::Completed)
}

fn pointer_faults_after_creation_are_ignored() -> Ran {
    let mut r = Request::clone(CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD);
    r.parent_tid = Ptr::Unmapped;
    r.child_tid = Ptr::Kernel;
    let o = full(r);
    ok(&o);
    assert_eq!(o.parent_tid, None);
    assert_eq!(o.child_tid, None);
    Ok(Completion::Completed)
}

fn new_pid_namespace_child() -> Ran {
    if !is_root() {
        return skip("CLONE_NEWPID needs CAP_SYS_ADMIN");
    }
    let o = full(Request::clone(CLONE_NEWPID | SIGCHLD));
    ok(&o);
    assert_eq!(
        (o.pid, o.tgid, o.ppid),
        (Some(1), Some(1), Some(0)),
        "init of the new namespace"
    );
    let p = o.proc.as_ref().unwrap();
    assert_eq!(p.nspid.len(), 2);
    assert_eq!(p.nspid[1], 1);
    assert_eq!(p.nspid[0] as i64, o.ret.unwrap());
    assert_eq!(o.reaped_by, Some(ReapedBy::Plain));
    Ok(Completion::Completed)
}

fn sighand_newpid_hazard_is_restored() -> Ran {
    if !is_root() {
        return skip("CLONE_NEWPID needs CAP_SYS_ADMIN");
    }
    let r = batch(
        ContextSpec::AsIs,
        &[
            (
                "hazard",
                Request::clone(CLONE_NEWPID | CLONE_SIGHAND | CLONE_VM | SIGCHLD),
                ObserveLevel::Light,
            ),
            ("next", Request::fork(), ObserveLevel::Light),
        ],
    );
    let (h, n) = (&r.results[0].1, &r.results[1].1);
    ok(h);
    assert_eq!(
        h.reaped_by,
        Some(ReapedBy::None),
        "auto-reaped: SIGCHLD became SIG_IGN"
    );
    assert_eq!(h.restored, vec!["SIGCHLD disposition".to_string()]);
    ok(n);
    assert_eq!(
        n.reaped_by,
        Some(ReapedBy::Plain),
        "the next case is not affected"
    );
    assert!(n.restored.is_empty());
    Ok(Completion::Completed)
}

fn set_tid() -> Ran {
    if !is_root() {
        return skip("set_tid needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE");
    }
    // set_tid is judged against every pid namespace level above the
    // caller's: from inside a nested one they cannot be read.
    if let Err(why) = forklore_observe::outer_pid_levels_known() {
        return skip(&why);
    }
    let st = |entries: Vec<TidSpec>| {
        let mut r = Request::clone3(0, 17);
        let n = entries.len() as u64;
        r.clone3.as_mut().unwrap().set_tid = Some(SetTid {
            ptr: Ptr::Valid,
            size: n,
            entries,
        });
        r
    };
    let unused = full(st(vec![TidSpec::Unused]));
    ok(&unused);
    assert_eq!(
        Some(unused.ret.unwrap() as i32),
        unused.set_tid.as_ref().map(|v| v[0])
    );
    assert_eq!(
        full(st(vec![TidSpec::CallerPid])).errno,
        Some(Errno::EEXIST)
    );
    assert_eq!(full(st(vec![TidSpec::PidMax])).errno, Some(Errno::EINVAL));
    assert_eq!(
        full(st(vec![TidSpec::Unused, TidSpec::Unused])).errno,
        Some(Errno::EINVAL)
    );
    Ok(Completion::Completed)
}

fn cgroup2_created_is_used_and_removed() -> Ran {
    let Some(mnt) = forklore_observe::cgroup2_mount() else {
        return skip("no cgroup2 hierarchy");
    };
    if !is_root() {
        return skip("creating a cgroup needs root");
    }
    let mut r = Request::clone3(CLONE_INTO_CGROUP, 17);
    r.clone3.as_mut().unwrap().cgroup = CgroupFd::Cgroup2 { created: true };
    let mut bad = Request::clone3(CLONE_INTO_CGROUP, 17);
    bad.clone3.as_mut().unwrap().cgroup = CgroupFd::NotOpen;
    let mut file = Request::clone3(CLONE_INTO_CGROUP, 17);
    file.clone3.as_mut().unwrap().cgroup = CgroupFd::RegularFile;
    let b = batch(
        ContextSpec::AsIs,
        &[
            ("in", r, ObserveLevel::Full),
            ("notopen", bad, ObserveLevel::Full),
            ("file", file, ObserveLevel::Full),
        ],
    );
    let ctx = b.context.as_ref().expect("context");
    assert_eq!(
        ctx.cgroup_write.created,
        Some(CgroupAccess::WRITABLE),
        "measured once for the context, as root"
    );
    let o = &b.results[0].1;
    ok(o);
    assert_eq!(o.cgroup_procs_writable, Some(true));
    assert_eq!(b.results[1].1.errno, Some(Errno::EBADF));
    assert_eq!(b.results[2].1.errno, Some(Errno::EBADF));
    for pid in &b.probe_pids {
        assert!(
            !mnt.join(format!("forklore-{pid}")).exists(),
            "cgroup left behind"
        );
    }
    Ok(Completion::Completed)
}

fn unprivileged_context() -> Ran {
    let r = batch(
        ContextSpec::Unprivileged,
        &[
            ("fork", Request::fork(), ObserveLevel::Full),
            (
                "uts",
                Request::clone(CLONE_NEWUTS | SIGCHLD),
                ObserveLevel::Light,
            ),
        ],
    );
    let ctx = r
        .context
        .expect("the unprivileged context needs no privilege");
    assert_eq!(ctx.caps.0, 0, "no capabilities");
    assert!(!ctx.ruid_is_global_root);
    ok(&r.results[0].1);
    assert_eq!(r.results[0].1.ppid, Some(r.results[0].1.caller_pid));
    assert_eq!(r.results[1].1.errno, Some(Errno::EPERM));
    Ok(Completion::Completed)
}

fn drop_cap_sys_admin() -> Ran {
    if !is_root() {
        return skip("dropping a capability needs one");
    }
    let r = batch(
        ContextSpec::DropCap(cap::CAP_SYS_ADMIN),
        &[(
            "uts",
            Request::clone(CLONE_NEWUTS | SIGCHLD),
            ObserveLevel::Light,
        )],
    );
    let ctx = r.context.unwrap();
    assert!(!ctx.caps.has(cap::CAP_SYS_ADMIN));
    assert!(ctx.caps.has(cap::CAP_SETUID));
    assert_eq!(r.results[0].1.errno, Some(Errno::EPERM));
    Ok(Completion::Completed)
}

fn user_namespace_context() -> Ran {
    let r = batch(
        ContextSpec::UserNs,
        &[
            (
                "uts",
                Request::clone(CLONE_NEWUTS | SIGCHLD),
                ObserveLevel::Full,
            ),
            ("fork", Request::fork(), ObserveLevel::Full),
        ],
    );
    let ctx = match r.context {
        Ok(c) => c,
        Err(why) => return skip(&why),
    };
    assert_eq!(ctx.userns_level, 1);
    assert!(
        ctx.caps.has(cap::CAP_SYS_ADMIN),
        "all capabilities in its own namespace"
    );
    assert_eq!(
        ctx.set_tid_capable,
        vec![false],
        "the pid namespace belongs to the initial userns"
    );
    ok(&r.results[0].1);
    ok(&r.results[1].1);
    Ok(Completion::Completed)
}

fn userns_limit_zero() -> Ran {
    let r = batch(
        ContextSpec::UserNsLimitZero,
        &[(
            "userns",
            Request::clone(CLONE_NEWUSER | SIGCHLD),
            ObserveLevel::Light,
        )],
    );
    let ctx = match r.context {
        Ok(c) => c,
        Err(why) => return skip(&why),
    };
    assert!(ctx.userns_limit_reached);
    assert_eq!(r.results[0].1.errno, Some(Errno::ENOSPC));
    // The host's limit is untouched.
    assert_ne!(forklore_observe::max_user_namespaces(), Some(0));
    Ok(Completion::Completed)
}

fn pid_namespace_init_context() -> Ran {
    if !is_root() {
        return skip("pidns-init needs CAP_SYS_ADMIN");
    }
    // set_tid is judged against every pid namespace level above the
    // caller's: from inside a nested one they cannot be read.
    if let Err(why) = forklore_observe::outer_pid_levels_known() {
        return skip(&why);
    }
    let st = |entries: Vec<TidSpec>| {
        let mut r = Request::clone3(0, 17);
        let n = entries.len() as u64;
        r.clone3.as_mut().unwrap().set_tid = Some(SetTid {
            ptr: Ptr::Valid,
            size: n,
            entries,
        });
        r
    };
    let r = batch(
        ContextSpec::PidNsInit,
        &[
            (
                "parent",
                Request::clone(CLONE_PARENT | SIGCHLD),
                ObserveLevel::Light,
            ),
            ("fork", Request::fork(), ObserveLevel::Full),
            ("tid1", st(vec![TidSpec::Unused]), ObserveLevel::Light),
            (
                "tid2",
                st(vec![TidSpec::Unused, TidSpec::Unused]),
                ObserveLevel::Full,
            ),
            ("tid-own", st(vec![TidSpec::Value(1)]), ObserveLevel::Light),
        ],
    );
    let ctx = r.context.unwrap();
    assert!(ctx.is_pidns_init);
    assert_eq!(ctx.pidns_level, 1);
    assert_eq!(ctx.set_tid_capable, vec![true, true]);
    assert_eq!(
        r.results[0].1.errno,
        Some(Errno::EINVAL),
        "init may not create siblings"
    );
    let f = &r.results[1].1;
    ok(f);
    assert_eq!(f.caller_pid, 1);
    assert_eq!(f.ppid, Some(1));
    assert_eq!(
        f.proc.as_ref().unwrap().ppid,
        1,
        "/proc is the namespace's own"
    );
    for (id, o) in &r.results[2..4] {
        ok(o);
        let want = o.set_tid.as_ref().unwrap();
        assert_eq!(
            o.ret,
            Some(want[0] as i64),
            "{id}: the pid asked for at the caller's level"
        );
    }
    let two = &r.results[3].1;
    let nspid = &two.proc.as_ref().unwrap().nspid;
    assert_eq!(
        nspid,
        &vec![two.set_tid.as_ref().unwrap()[0]],
        "/proc shows only the inner level"
    );
    assert_eq!(
        r.results[4].1.errno,
        Some(Errno::EEXIST),
        "pid 1 is the caller"
    );
    Ok(Completion::Completed)
}

fn unshare_pid_context() -> Ran {
    if !is_root() {
        return skip("unshare(CLONE_NEWPID) needs CAP_SYS_ADMIN");
    }
    let r = batch(
        ContextSpec::UnsharePid,
        &[
            (
                "thread",
                Request::clone(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM),
                ObserveLevel::Light,
            ),
            ("fork1", Request::fork(), ObserveLevel::Full),
            ("fork2", Request::fork(), ObserveLevel::Full),
            (
                "newpid",
                Request::clone(CLONE_NEWPID | SIGCHLD),
                ObserveLevel::Light,
            ),
        ],
    );
    let ctx = r.context.unwrap();
    assert!(ctx.pidns_for_children_differs);
    assert!(
        ctx.unshared_pidns_has_init,
        "the holder is the namespace's init"
    );
    assert_eq!(ctx.pidns_level, 1);
    assert_eq!(r.results[0].1.errno, Some(Errno::EINVAL));
    for (_, f) in &r.results[1..3] {
        ok(f);
        assert_eq!(
            f.ppid,
            Some(0),
            "the parent is outside the child's namespace"
        );
        assert_eq!(f.proc.as_ref().unwrap().nspid.len(), 2);
    }
    assert_eq!(r.results[3].1.errno, Some(Errno::EINVAL));
    Ok(Completion::Completed)
}

fn nproc_contexts() -> Ran {
    if !is_root() {
        return skip("nproc contexts use a fresh uid (needs root)");
    }
    let r1 = batch(
        ContextSpec::Nproc(1),
        &[("fork", Request::fork(), ObserveLevel::Light)],
    );
    let c1 = r1.context.unwrap();
    assert_eq!(c1.nproc.map(|n| (n.limit, n.count)), Some((1, 1)));
    assert_eq!(r1.results[0].1.errno, Some(Errno::EAGAIN));
    let r2 = batch(
        ContextSpec::Nproc(2),
        &[
            ("a", Request::fork(), ObserveLevel::Light),
            ("b", Request::fork(), ObserveLevel::Light),
        ],
    );
    r2.context.unwrap();
    ok(&r2.results[0].1);
    ok(&r2.results[1].1); // the first child was reaped before the second call
    Ok(Completion::Completed)
}

fn chroot_context() -> Ran {
    if !is_root() {
        return skip("chroot needs root");
    }
    let r = batch(
        ContextSpec::Chroot,
        &[
            (
                "userns",
                Request::clone(CLONE_NEWUSER | SIGCHLD),
                ObserveLevel::Light,
            ),
            ("fork", Request::fork(), ObserveLevel::Full),
        ],
    );
    let ctx = r.context.unwrap();
    assert!(ctx.chrooted);
    assert_eq!(r.results[0].1.errno, Some(Errno::EPERM));
    ok(&r.results[1].1);
    assert!(
        r.results[1].1.zombie.is_some(),
        "/proc is readable inside the chroot"
    );
    Ok(Completion::Completed)
}

fn crash_and_stall_are_broken_and_the_batch_goes_on() -> Ran {
    let cases = vec![
        ProbeCase::new("a", Request::fork(), ObserveLevel::Light),
        ProbeCase::crash_probe("1"),
        ProbeCase::new("b", Request::fork(), ObserveLevel::Light),
        ProbeCase::stall_probe("2"),
        ProbeCase::new("c", Request::fork(), ObserveLevel::Light),
    ];
    let r = run_batch(&cmd(), &ContextSpec::AsIs, &cases, Duration::from_secs(2));
    assert_eq!(r.results.len(), 5);
    let o: Vec<&Observation> = r.results.iter().map(|(_, o)| o).collect();
    ok(o[0]);
    assert_eq!(o[1].outcome, CaseOutcome::Broken);
    assert_eq!(o[1].broken.as_deref(), Some("probe killed by SIGSEGV"));
    ok(o[2]);
    assert_eq!(o[3].outcome, CaseOutcome::Broken);
    assert!(
        o[3].broken.as_deref().unwrap().contains("stalled"),
        "{:?}",
        o[3].broken
    );
    ok(o[4]);
    assert_eq!(r.probe_pids.len(), 3);
    Ok(Completion::Completed)
}

fn context_names_round_trip() -> Ran {
    for c in [
        ContextSpec::AsIs,
        ContextSpec::Unprivileged,
        ContextSpec::DropCap(cap::CAP_SYS_ADMIN),
        ContextSpec::UserNs,
        ContextSpec::PidNsInit,
        ContextSpec::UnsharePid,
        ContextSpec::Nproc(2),
        ContextSpec::Chroot,
        ContextSpec::UserNsLimitZero,
    ] {
        assert_eq!(c.name().parse::<ContextSpec>(), Ok(c));
    }
    assert_eq!(
        ContextSpec::DropCap(cap::CAP_SYS_ADMIN).name(),
        "drop-cap-sys_admin"
    );
    assert!("drop-cap-nonsense".parse::<ContextSpec>().is_err());
    assert!("bogus".parse::<ContextSpec>().is_err());
    Ok(Completion::Completed)
}

fn sigkill_exit_signal_error_is_quick() -> Ran {
    let t = std::time::Instant::now();
    let o = one(
        ContextSpec::AsIs,
        Request::clone(CLONE_SIGHAND | 9),
        ObserveLevel::Light,
    );
    assert_eq!(o.errno, Some(Errno::EINVAL));
    assert!(o.helper_caller);
    assert_eq!(
        o.caller_killed_by, None,
        "no child, nothing kills the caller"
    );
    assert!(t.elapsed() < Duration::from_secs(5));
    Ok(Completion::Completed)
}

fn sigkill_exit_signal_runs_in_a_throwaway_caller() -> Ran {
    for (req, level) in [
        (Request::clone(9), ObserveLevel::Full),
        (Request::clone(9), ObserveLevel::Light),
        (Request::clone3(0, 9), ObserveLevel::Light),
        (
            Request::clone(CLONE_VM | CLONE_VFORK | 9),
            ObserveLevel::Light,
        ),
    ] {
        let r = batch(
            ContextSpec::AsIs,
            &[
                ("kill", req, level),
                ("after", Request::fork(), ObserveLevel::Light),
            ],
        );
        let o = &r.results[0].1;
        ok(o);
        assert!(o.helper_caller);
        assert_eq!(o.caller_killed_by, Some(9), "{o:#?}");
        assert_eq!(
            o.ppid,
            Some(o.caller_pid),
            "the throwaway caller was the parent"
        );
        assert_ne!(o.caller_pid, r.results[1].1.caller_pid);
        assert_eq!(o.reaped_by, Some(ReapedBy::None));
        assert_eq!(
            o.reaper_option,
            Some(ReapedBy::Plain),
            "reparented: exit_signal reset to SIGCHLD"
        );
        if level == ObserveLevel::Full {
            assert_eq!(o.exit_signal, Some(9), "{o:#?}");
        }
        ok(&r.results[1].1);
        assert!(!r.results[1].1.helper_caller);
    }
    Ok(Completion::Completed)
}

fn seccomp_context_answers_clone3_with_enosys_and_leaves_clone_alone() -> Ran {
    let r = batch(
        ContextSpec::SeccompClone3Enosys,
        &[
            ("clone3", Request::clone3(0, SIGCHLD), ObserveLevel::Light),
            ("clone", Request::clone(SIGCHLD), ObserveLevel::Light),
        ],
    );
    let ctx = r
        .context
        .as_ref()
        .expect("a filter needs no privilege (no_new_privs)");
    assert!(
        ctx.seccomp_filter,
        "the detected context reports the filter"
    );
    let (c3, c) = (&r.results[0].1, &r.results[1].1);
    assert_eq!(c3.errno, Some(Errno::ENOSYS), "{c3:#?}");
    ok(c);
    assert_eq!(c.reaped_by, Some(ReapedBy::Plain));
    Ok(Completion::Completed)
}

fn traced_context_traces_clone_ptrace_children() -> Ran {
    use forklore_model::ptrace::Tracer;
    let r = batch(
        ContextSpec::Traced,
        &[
            (
                "ptrace",
                Request::clone(CLONE_PTRACE | SIGCHLD),
                ObserveLevel::Full,
            ),
            ("plain", Request::clone(SIGCHLD), ObserveLevel::Full),
            (
                "ptrace+untraced",
                Request::clone3(CLONE_PTRACE | CLONE_UNTRACED, SIGCHLD),
                ObserveLevel::Full,
            ),
        ],
    );
    let ctx = r
        .context
        .as_ref()
        .expect("a child of ours may trace us (same uid, dumpable) unless YAMA says no");
    assert!(ctx.caller_traced, "the worker reports itself traced");
    let seen: Vec<Option<Tracer>> = r.results.iter().map(|(_, o)| o.tracer).collect();
    for (_, o) in &r.results {
        ok(o);
        assert_eq!(o.reaped_by, Some(ReapedBy::Plain), "{o:#?}");
    }
    assert_eq!(
        seen,
        vec![
            Some(Tracer::CallersTracer),
            Some(Tracer::None),
            Some(Tracer::CallersTracer)
        ]
    );
    Ok(Completion::Completed)
}

fn main() {
    // Re-executed as the probe: become it before any thread starts.
    if std::env::args().nth(1).as_deref() == Some("__probe") {
        std::process::exit(probe_main());
    }
    let args = Arguments::from_args();
    let trials: Vec<Trial> = vec![
        Trial::ignorable_test(
            "thread_without_sighand_is_einval",
            thread_without_sighand_is_einval,
        ),
        Trial::ignorable_test("process_child_full", process_child_full),
        Trial::ignorable_test("fork_light_has_no_proc_reads", fork_light_has_no_proc_reads),
        Trial::ignorable_test(
            "exit_signal_other_than_sigchld_needs_wclone",
            exit_signal_other_than_sigchld_needs_wclone,
        ),
        Trial::ignorable_test(
            "thread_child_is_joined_not_reaped",
            thread_child_is_joined_not_reaped,
        ),
        Trial::ignorable_test(
            "thread_without_cleartid_is_still_joined",
            thread_without_cleartid_is_still_joined,
        ),
        Trial::ignorable_test("vfork_suspends_the_caller", vfork_suspends_the_caller),
        Trial::ignorable_test(
            "clone_parent_child_belongs_to_the_callers_parent",
            clone_parent_child_belongs_to_the_callers_parent,
        ),
        Trial::ignorable_test("pidfd_kinds", pidfd_kinds),
        Trial::ignorable_test("clone3_argument_block", clone3_argument_block),
        Trial::ignorable_test("stack_and_tls_values", stack_and_tls_values),
        Trial::ignorable_test(
            "pointer_faults_after_creation_are_ignored",
            pointer_faults_after_creation_are_ignored,
        ),
        Trial::ignorable_test("new_pid_namespace_child", new_pid_namespace_child),
        Trial::ignorable_test(
            "sighand_newpid_hazard_is_restored",
            sighand_newpid_hazard_is_restored,
        ),
        Trial::ignorable_test("set_tid", set_tid),
        Trial::ignorable_test(
            "cgroup2_created_is_used_and_removed",
            cgroup2_created_is_used_and_removed,
        ),
        Trial::ignorable_test("unprivileged_context", unprivileged_context),
        Trial::ignorable_test("drop_cap_sys_admin", drop_cap_sys_admin),
        Trial::ignorable_test("user_namespace_context", user_namespace_context),
        Trial::ignorable_test("userns_limit_zero", userns_limit_zero),
        Trial::ignorable_test("pid_namespace_init_context", pid_namespace_init_context),
        Trial::ignorable_test("unshare_pid_context", unshare_pid_context),
        Trial::ignorable_test("nproc_contexts", nproc_contexts),
        Trial::ignorable_test("chroot_context", chroot_context),
        Trial::ignorable_test(
            "crash_and_stall_are_broken_and_the_batch_goes_on",
            crash_and_stall_are_broken_and_the_batch_goes_on,
        ),
        Trial::ignorable_test("context_names_round_trip", context_names_round_trip),
        Trial::ignorable_test(
            "sigkill_exit_signal_error_is_quick",
            sigkill_exit_signal_error_is_quick,
        ),
        Trial::ignorable_test(
            "sigkill_exit_signal_runs_in_a_throwaway_caller",
            sigkill_exit_signal_runs_in_a_throwaway_caller,
        ),
        Trial::ignorable_test(
            "traced_context_traces_clone_ptrace_children",
            traced_context_traces_clone_ptrace_children,
        ),
        Trial::ignorable_test(
            "seccomp_context_answers_clone3_with_enosys_and_leaves_clone_alone",
            seccomp_context_answers_clone3_with_enosys_and_leaves_clone_alone,
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}
