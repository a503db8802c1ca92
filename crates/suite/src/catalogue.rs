//! The case catalogue: generated flag matrices, namespace subsets, undefined
//! bits, exit-signal variants, clone3 argument cases, and which contexts each
//! runs in. Every case has a stable id (`group/...`), a group and tags.

use forklore_model::flags::*;
use forklore_model::{
    clone3_default_exit_signal, ArgsMem, CgroupFd, Ptr, Request, SetTid, Stack, TidSpec, Tls,
};
use forklore_probe::{ObserveLevel, ProbeCase};

/// One catalogue entry, before it is bound to a context: the case as the
/// probe runs it, plus where the catalogue files it.
#[derive(Clone, Debug)]
pub struct Case {
    /// Stable id without the context suffix (e.g. `clone/flags=0x10900`),
    /// the request, and how much to observe (Full reads /proc, rusage and
    /// fdinfo too, slower: for hand-picked cases).
    pub probe: ProbeCase,
    pub group: &'static str,
    pub tags: Vec<&'static str>,
}

impl Case {
    fn new(
        id: String,
        group: &'static str,
        tags: Vec<&'static str>,
        request: Request,
        observe: ObserveLevel,
    ) -> Case {
        Case {
            probe: ProbeCase::new(id, request, observe),
            group,
            tags,
        }
    }

    /// Stable id without the context suffix.
    pub fn id(&self) -> &str {
        &self.probe.id
    }

    pub fn request(&self) -> &Request {
        &self.probe.request
    }
}

/// The 17 non-namespace legacy clone flags of the matrix.
pub use forklore_model::flags::MATRIX_FLAGS;

/// Namespace flags for the subset groups (clone3 adds CLONE_NEWTIME).
pub const NS_LIST: [u64; 7] = [
    CLONE_NEWNS,
    CLONE_NEWCGROUP,
    CLONE_NEWUTS,
    CLONE_NEWIPC,
    CLONE_NEWUSER,
    CLONE_NEWPID,
    CLONE_NEWNET,
];

/// Other flags combined with every namespace subset: one of each kind of
/// interaction the checks know about (FS for E1/E2, THREAD for E6, SYSVSEM
/// for E28c, PARENT, VM for E7, VFORK, PIDFD).
pub const NS_COVER: [u64; 8] = [
    0,
    CLONE_FS,
    CLONE_VM | CLONE_SIGHAND,
    CLONE_THREAD | CLONE_SIGHAND | CLONE_VM,
    CLONE_SYSVSEM,
    CLONE_PARENT,
    CLONE_VM | CLONE_VFORK,
    CLONE_PIDFD | CLONE_FILES,
];

/// Spread the bits of `n` over the positions of `bits`.
fn combo(bits: &[u64], n: u64) -> u64 {
    bits.iter()
        .enumerate()
        .filter(|(i, _)| n & (1 << i) != 0)
        .fold(0, |acc, (_, b)| acc | b)
}

fn case(id: String, group: &'static str, tags: &[&'static str], request: Request) -> Case {
    Case::new(id, group, tags.to_vec(), request, ObserveLevel::Light)
}

/// Every combination of the 17 legacy flags through clone (exit signal
/// SIGCHLD): 131072 cases. `step` > 1 samples every step-th combination.
pub fn clone_matrix(step: usize) -> Vec<Case> {
    (0u64..1 << MATRIX_FLAGS.len())
        .step_by(step)
        .map(|n| {
            let f = combo(&MATRIX_FLAGS, n);
            case(
                format!("clone/flags={f:#x}"),
                "clone-matrix",
                &["matrix"],
                Request::clone(f | SIGCHLD),
            )
        })
        .collect()
}

/// The same space plus CLONE_CLEAR_SIGHAND through clone3: 262144 cases.
/// exit_signal is SIGCHLD, or 0 where THREAD/PARENT require it (C4 has its
/// own cases in the exit-signal group).
pub fn clone3_matrix(step: usize) -> Vec<Case> {
    let mut bits = MATRIX_FLAGS.to_vec();
    bits.push(CLONE_CLEAR_SIGHAND);
    (0u64..1 << bits.len())
        .step_by(step)
        .map(|n| {
            let f = combo(&bits, n);
            let sig = clone3_default_exit_signal(f);
            case(
                format!("clone3/flags={f:#x}"),
                "clone3-matrix",
                &["matrix"],
                Request::clone3(f, sig),
            )
        })
        .collect()
}

/// Every subset of the namespace flags with each cover combination.
pub fn namespaces() -> Vec<Case> {
    let mut out = Vec::new();
    for n in 0u64..1 << NS_LIST.len() {
        let ns = combo(&NS_LIST, n);
        for cover in NS_COVER {
            let f = ns | cover;
            out.push(case(
                format!("clone-ns/flags={f:#x}"),
                "clone-ns",
                &["namespaces"],
                Request::clone(f | SIGCHLD),
            ));
        }
    }
    let mut ns3 = NS_LIST.to_vec();
    ns3.push(CLONE_NEWTIME);
    for n in 0u64..1 << ns3.len() {
        let ns = combo(&ns3, n);
        for cover in NS_COVER {
            let f = ns | cover;
            out.push(case(
                format!("clone3-ns/flags={f:#x}"),
                "clone3-ns",
                &["namespaces"],
                Request::clone3(f, clone3_default_exit_signal(f)),
            ));
        }
    }
    out
}

/// Every undefined (or not-yet-defined on some kernel) bit on its own.
pub fn undefined_bits() -> Vec<Case> {
    let mut out = Vec::new();
    for b in 32..64 {
        let f = 1u64 << b;
        out.push(case(
            format!("clone/bit={b}"),
            "undefined-bits",
            &["bits"],
            Request::clone(f | SIGCHLD),
        ));
    }
    // clone3 keeps the exit signal out of `flags`: each CSIGNAL bit alone
    // (C2; bit 7 is CLONE_NEWTIME, allowed from 6.3).
    for b in 0..8 {
        let f = 1u64 << b;
        out.push(case(
            format!("clone3/bit={b}"),
            "undefined-bits",
            &["bits"],
            Request::clone3(f, SIGCHLD),
        ));
    }
    for b in 32..64 {
        let f = 1u64 << b;
        // Bits 32 and 33 are CLEAR_SIGHAND and INTO_CGROUP: still single-bit cases.
        out.push(case(
            format!("clone3/bit={b}"),
            "undefined-bits",
            &["bits"],
            Request::clone3(f, SIGCHLD),
        ));
    }
    out
}

/// Exit-signal values through clone (the low byte) and clone3 (the field).
pub fn exit_signals() -> Vec<Case> {
    let sigs: [u64; 7] = [0, SIGCHLD, 10, 64, 65, 0x80, 255];
    let sets = [
        0,
        CLONE_VM | CLONE_VFORK,
        CLONE_THREAD | CLONE_SIGHAND | CLONE_VM,
        CLONE_PARENT,
    ];
    let mut out = Vec::new();
    for f in sets {
        for s in sigs {
            out.push(case(
                format!("exit-signal/clone/flags={f:#x}/sig={s}"),
                "exit-signal",
                &["exit_signal"],
                Request::clone(f | s),
            ));
            out.push(case(
                format!("exit-signal/clone3/flags={f:#x}/sig={s}"),
                "exit-signal",
                &["exit_signal"],
                Request::clone3(f, s),
            ));
        }
    }
    for s in [0x100u64, 0x111, 1 << 32] {
        out.push(case(
            format!("exit-signal/clone3/flags=0x0/sig={s:#x}"),
            "exit-signal",
            &["exit_signal"],
            Request::clone3(0, s),
        ));
    }
    out
}

fn c3(flags: u64, edit: impl FnOnce(&mut Request)) -> Request {
    let mut r = Request::clone3(flags, clone3_default_exit_signal(flags));
    edit(&mut r);
    r
}

fn args(r: &mut Request) -> &mut forklore_model::Clone3Args {
    r.clone3.as_mut().expect("clone3 request")
}

/// clone3 argument-block cases: sizes, tails, NULL/unmapped blocks, stacks,
/// TLS, pidfd/parent_tid aliasing, pointers.
pub fn clone3_args(task_size_max: u64) -> Vec<Case> {
    let mut out = Vec::new();
    let mut add = |name: &str, tags: &[&'static str], r: Request| {
        out.push(Case::new(
            format!("clone3-args/{name}"),
            "clone3-args",
            tags.to_vec(),
            r,
            ObserveLevel::Light,
        ));
    };
    for size in [0u64, 63, 64, 80, 88, 96, 4096, 4097] {
        add(
            &format!("size={size}"),
            &["size"],
            c3(0, |r| args(r).size = size),
        );
    }
    add(
        "size=96/tail-nonzero",
        &["size"],
        c3(0, |r| {
            args(r).size = 96;
            args(r).tail_nonzero_at = Some(90);
        }),
    );
    add(
        "size=4096/tail-nonzero",
        &["size"],
        c3(0, |r| {
            args(r).size = 4096;
            args(r).tail_nonzero_at = Some(4095);
        }),
    );
    add(
        "size=96/tail-unmapped",
        &["size", "pointer"],
        c3(0, |r| {
            args(r).size = 96;
            args(r).mem = ArgsMem::Truncated(88);
        }),
    );
    add(
        "size=96/tail-unmapped/bad-flags",
        &["size", "pointer", "order"],
        c3(1 << 40, |r| {
            args(r).size = 96;
            args(r).mem = ArgsMem::Truncated(88);
        }),
    );
    add(
        "size=88/ver1-unmapped",
        &["size", "pointer"],
        c3(0, |r| {
            args(r).mem = ArgsMem::Truncated(64);
        }),
    );
    for (mem, name) in [(ArgsMem::Null, "null"), (ArgsMem::Unmapped, "unmapped")] {
        for size in [63u64, 64, 88, 4097] {
            add(
                &format!("uargs={name}/size={size}"),
                &["pointer", "order"],
                c3(0, |r| {
                    args(r).size = size;
                    args(r).mem = mem;
                }),
            );
        }
    }
    // Stacks (C5): x86_64 access_ok accepts stack + size <= TASK_SIZE_MAX.
    let page = 4096u64;
    let stacks: [(&str, Stack); 7] = [
        ("inherit", Stack::Inherit),
        (
            "zero-with-size",
            Stack::Raw {
                stack: 0,
                size: page,
            },
        ),
        (
            "no-size",
            Stack::Raw {
                stack: 0x10000,
                size: 0,
            },
        ),
        (
            "end-at-task-size-max",
            Stack::Raw {
                stack: task_size_max - page,
                size: page,
            },
        ),
        (
            "past-task-size-max",
            Stack::Raw {
                stack: task_size_max - page,
                size: 2 * page,
            },
        ),
        (
            "overflow",
            Stack::Raw {
                stack: u64::MAX - page + 1,
                size: 2 * page,
            },
        ),
        (
            "kernel",
            Stack::Raw {
                stack: 0xffff_8000_0000_0000,
                size: page,
            },
        ),
    ];
    for (name, st) in stacks {
        add(
            &format!("stack={name}"),
            &["stack"],
            c3(0, |r| r.stack = st),
        );
    }
    // TLS (E30): do_arch_prctl_64(ARCH_SET_FS) rejects tls >= TASK_SIZE_MAX.
    for (name, v) in [
        ("below-task-size-max", task_size_max - 1),
        ("task-size-max", task_size_max),
        ("kernel", 0xffff_8000_0000_0000),
    ] {
        add(
            &format!("tls={name}"),
            &["tls"],
            c3(CLONE_SETTLS, |r| r.tls = Tls::Raw(v)),
        );
        out_clone_tls(&mut |n, r| add(&n, &["tls"], r), name, v);
    }
    // pidfd / parent_tid (D1, E32).
    let pp = CLONE_PIDFD | CLONE_PARENT_SETTID;
    add(
        "pidfd+parent_settid/same",
        &["pidfd", "pointer"],
        c3(pp, |r| args(r).pidfd_is_parent_tid = true),
    );
    add(
        "pidfd+parent_settid/different",
        &["pidfd", "pointer"],
        c3(pp, |_| {}),
    );
    add(
        "pidfd+parent_settid/both-null",
        &["pidfd", "pointer"],
        c3(pp, |r| {
            args(r).pidfd = Ptr::Null;
            r.parent_tid = Ptr::Null;
        }),
    );
    for (p, name) in [
        (Ptr::Null, "null"),
        (Ptr::Unmapped, "unmapped"),
        (Ptr::Kernel, "kernel"),
    ] {
        add(
            &format!("pidfd={name}"),
            &["pidfd", "pointer"],
            c3(CLONE_PIDFD, |r| args(r).pidfd = p),
        );
        add(
            &format!("parent_tid={name}"),
            &["pointer"],
            c3(CLONE_PARENT_SETTID, |r| r.parent_tid = p),
        );
        add(
            &format!("child_tid={name}"),
            &["pointer"],
            c3(CLONE_CHILD_SETTID, |r| r.child_tid = p),
        );
    }
    add(
        "pidfd-ignored-without-flag",
        &["pidfd", "pointer"],
        c3(0, |r| args(r).pidfd = Ptr::Unmapped),
    );
    out
}

fn out_clone_tls(add: &mut dyn FnMut(String, Request), name: &str, v: u64) {
    let mut r = Request::clone(CLONE_SETTLS | SIGCHLD);
    r.tls = Tls::Raw(v);
    add(format!("legacy-tls={name}"), r);
}

/// The 7.1 flags (CLONE_AUTOREAP, CLONE_NNP, CLONE_PIDFD_AUTOKILL) with the
/// flags their rules E9–E12' read: C1 rejects them before 7.1, after which
/// each combination is decided by those rows.
pub fn new_flags() -> Vec<Case> {
    let news = [
        CLONE_AUTOREAP,
        CLONE_NNP,
        CLONE_PIDFD_AUTOKILL,
        CLONE_AUTOREAP | CLONE_NNP,
        CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP,
        CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP | CLONE_NNP,
    ];
    let others = [
        0,
        CLONE_PIDFD,
        CLONE_THREAD | CLONE_SIGHAND | CLONE_VM,
        CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM,
        CLONE_PARENT,
    ];
    let mut out = Vec::new();
    for n in news {
        for o in others {
            for sig in [0, SIGCHLD] {
                let f = n | o;
                out.push(case(
                    format!("clone3-new-flags/flags={f:#x}/sig={sig}"),
                    "clone3-new-flags",
                    &["new_flags"],
                    Request::clone3(f, sig),
                ));
            }
        }
    }
    out
}

/// Legacy clone pointer cases (§1.A, §1.F).
pub fn legacy_pointers() -> Vec<Case> {
    let mut out = Vec::new();
    for (p, name) in [
        (Ptr::Null, "null"),
        (Ptr::Unmapped, "unmapped"),
        (Ptr::Kernel, "kernel"),
    ] {
        // (slot, flag, which pointer the fault is in, tags)
        let slots: [(&str, u64, bool, &[&'static str]); 3] = [
            ("parent_tid", CLONE_PARENT_SETTID, true, &["pointer"]),
            ("child_tid", CLONE_CHILD_SETTID, false, &["pointer"]),
            ("pidfd", CLONE_PIDFD, true, &["pointer", "pidfd"]),
        ];
        for (slot, flag, in_parent_tid, tags) in slots {
            let mut r = Request::clone(flag | SIGCHLD);
            if in_parent_tid {
                r.parent_tid = p;
            } else {
                r.child_tid = p;
            }
            out.push(case(
                format!("pointers/clone/{slot}={name}"),
                "pointers",
                tags,
                r,
            ));
        }
    }
    let mut r = Request::clone(CLONE_VM | CLONE_VFORK | SIGCHLD);
    r.stack = Stack::Inherit;
    out.push(case(
        "pointers/clone/vfork-inherit-stack".into(),
        "pointers",
        &["stack"],
        r,
    ));
    out
}

/// set_tid cases (B4–B6, B9, E31).
pub fn set_tid() -> Vec<Case> {
    let st = |ptr: Ptr, size: u64, entries: Vec<TidSpec>| Some(SetTid { ptr, size, entries });
    let mut out = Vec::new();
    let mut add = |name: &str, flags: u64, s: Option<SetTid>| {
        let r = c3(flags, |r| args(r).set_tid = s);
        out.push(case(format!("set-tid/{name}"), "set-tid", &["set_tid"], r));
    };
    add("size=33", 0, st(Ptr::Valid, 33, vec![TidSpec::Unused; 33]));
    add("null-with-size", 0, st(Ptr::Null, 1, vec![]));
    add(
        "ptr-with-size-0",
        0,
        st(Ptr::Valid, 0, vec![TidSpec::Unused]),
    );
    add("unmapped", 0, st(Ptr::Unmapped, 1, vec![TidSpec::Unused]));
    add(
        "unmapped/bad-flags",
        1 << 40,
        st(Ptr::Unmapped, 1, vec![TidSpec::Unused]),
    );
    add("zero", 0, st(Ptr::Valid, 1, vec![TidSpec::Value(0)]));
    add("negative", 0, st(Ptr::Valid, 1, vec![TidSpec::Value(-5)]));
    add("pid_max", 0, st(Ptr::Valid, 1, vec![TidSpec::PidMax]));
    add("in-use", 0, st(Ptr::Valid, 1, vec![TidSpec::CallerPid]));
    add("unused", 0, st(Ptr::Valid, 1, vec![TidSpec::Unused]));
    add(
        "size=2-at-level-0",
        0,
        st(Ptr::Valid, 2, vec![TidSpec::Unused, TidSpec::Unused]),
    );
    let nsp = CLONE_NEWUSER | CLONE_NEWPID;
    add(
        "newuser+newpid/[1]",
        nsp,
        st(Ptr::Valid, 1, vec![TidSpec::Value(1)]),
    );
    add(
        "newuser+newpid/[2]",
        nsp,
        st(Ptr::Valid, 1, vec![TidSpec::Value(2)]),
    );
    add(
        "newuser+newpid/[1,unused]",
        nsp,
        st(Ptr::Valid, 2, vec![TidSpec::Value(1), TidSpec::Unused]),
    );
    add(
        "newuser+newpid/size=3",
        nsp,
        st(
            Ptr::Valid,
            3,
            vec![TidSpec::Value(1), TidSpec::Unused, TidSpec::Unused],
        ),
    );
    add(
        "newpid/[1]",
        CLONE_NEWPID,
        st(Ptr::Valid, 1, vec![TidSpec::Value(1)]),
    );
    // Ordering (§1.H): E31 (set_tid) before E34 (cgroup).
    let r = c3(CLONE_INTO_CGROUP, |r| {
        args(r).set_tid = st(Ptr::Valid, 1, vec![TidSpec::Unused]);
        args(r).cgroup = CgroupFd::NotOpen;
    });
    out.push(case(
        "set-tid/unused+bad-cgroup".into(),
        "set-tid",
        &["set_tid", "order"],
        r,
    ));
    out
}

/// CLONE_INTO_CGROUP cases (B8, E34).
pub fn cgroup() -> Vec<Case> {
    let mut out = Vec::new();
    let mut add = |name: &str, edit: &dyn Fn(&mut Request)| {
        let mut r = c3(CLONE_INTO_CGROUP, |_| {});
        edit(&mut r);
        out.push(case(format!("cgroup/{name}"), "cgroup", &["cgroup"], r));
    };
    add("not-open", &|r| args(r).cgroup = CgroupFd::NotOpen);
    add("regular-file", &|r| args(r).cgroup = CgroupFd::RegularFile);
    add("non-cgroup-dir", &|r| {
        args(r).cgroup = CgroupFd::NonCgroupDir
    });
    add("cgroup-v1-dir", &|r| args(r).cgroup = CgroupFd::CgroupV1Dir);
    add("over-int-max", &|r| {
        args(r).cgroup = CgroupFd::Raw(0xffff_ffff)
    });
    add("size=80", &|r| {
        args(r).size = 80;
        args(r).cgroup = CgroupFd::Cgroup2 { created: true };
    });
    add("v2-child", &|r| {
        args(r).cgroup = CgroupFd::Cgroup2 { created: true };
    });
    add("v2-child/thread", &|r| {
        r.flags |= CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
        args(r).exit_signal = 0;
        args(r).cgroup = CgroupFd::Cgroup2 { created: true };
    });
    add("value-without-flag", &|r| {
        r.flags &= !CLONE_INTO_CGROUP;
        args(r).cgroup = CgroupFd::NotOpen;
    });
    // Ordering (§1.H): E32 (pidfd put_user) before E34.
    add("bad-pidfd+bad-cgroup", &|r| {
        r.flags |= CLONE_PIDFD;
        args(r).pidfd = Ptr::Null;
        args(r).cgroup = CgroupFd::NotOpen;
    });
    out
}

/// Cross-rule orderings of model-spec §1.H that are not covered elsewhere,
/// and hand-picked cases observed in full (/proc, rusage, fdinfo).
pub fn orderings() -> Vec<Case> {
    let mut out = Vec::new();
    let mut add = |name: &str, r: Request| {
        out.push(Case::new(
            format!("order/{name}"),
            "order",
            vec!["order"],
            r,
            ObserveLevel::Full,
        ));
    };
    add(
        "newuts+thread",
        Request::clone(CLONE_NEWUTS | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM),
    );
    add("newuts", Request::clone(CLONE_NEWUTS | SIGCHLD));
    add(
        "newuser+fs",
        Request::clone(CLONE_NEWUSER | CLONE_FS | SIGCHLD),
    );
    add(
        "newipc+sysvsem",
        Request::clone(CLONE_NEWIPC | CLONE_SYSVSEM | SIGCHLD),
    );
    let mut r = Request::clone3(CLONE_SETTLS, SIGCHLD);
    r.tls = Tls::Raw(0xffff_8000_0000_0000);
    if let Some(a) = r.clone3.as_mut() {
        a.set_tid = Some(SetTid {
            ptr: Ptr::Valid,
            size: 1,
            entries: vec![TidSpec::Value(0)],
        });
    }
    add("bad-tls+bad-set-tid", r);
    // Full observations of each kind of child.
    add("fork", Request::fork());
    add("vfork", Request::vfork());
    add(
        "thread",
        Request::clone(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM),
    );
    add("parent", Request::clone(CLONE_PARENT));
    add("pidfd", Request::clone3(CLONE_PIDFD, SIGCHLD));
    add(
        "pidfd-thread",
        Request::clone3(CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0),
    );
    add("newpid", Request::clone(CLONE_NEWPID | SIGCHLD));
    add(
        "newuser+newpid",
        Request::clone(CLONE_NEWUSER | CLONE_NEWPID | SIGCHLD),
    );
    add("exit-signal-usr1", Request::clone(10));
    add("exit-signal-0", Request::clone3(0, 0));
    add(
        "settids",
        Request::clone(CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD),
    );
    add("vfork-no-vm", Request::clone(CLONE_VFORK | SIGCHLD));
    out
}

/// Requests every non-default context runs: each check a context can change
/// (E5 PARENT, E6 THREAD, E15c NEWUSER, E16 NPROC, E28 namespaces, E31 set_tid).
pub fn context_cover() -> Vec<Case> {
    let mut out = Vec::new();
    let mut add = |name: String, r: Request| {
        out.push(case(format!("ctx/{name}"), "contexts", &["context"], r));
    };
    add("fork".into(), Request::fork());
    add("vfork".into(), Request::vfork());
    for f in [
        0,
        CLONE_VM,
        CLONE_VM | CLONE_VFORK,
        CLONE_THREAD | CLONE_SIGHAND | CLONE_VM,
        CLONE_SIGHAND | CLONE_VM,
        CLONE_PARENT,
        CLONE_PIDFD,
        CLONE_FS,
    ] {
        for ns in NS_LIST
            .iter()
            .copied()
            .chain([0, CLONE_NEWUSER | CLONE_NEWPID])
        {
            let fl = f | ns;
            add(format!("clone/flags={fl:#x}"), Request::clone(fl | SIGCHLD));
            add(
                format!("clone3/flags={fl:#x}"),
                Request::clone3(fl, clone3_default_exit_signal(fl)),
            );
        }
    }
    for c in set_tid() {
        add(c.probe.id, c.probe.request);
    }
    out
}

/// What the `traced` context adds to the cover set: CLONE_PTRACE with and
/// without CLONE_UNTRACED (and neither) on a process, a thread, a
/// CLONE_PARENT and a CLONE_VM child, through clone and clone3, observed
/// in full so that the child's TracerPid is read (rule P-CLONE-PTRACE).
pub fn ptrace_cover() -> Vec<Case> {
    let mut out = Vec::new();
    for f in [
        0,
        CLONE_THREAD | CLONE_SIGHAND | CLONE_VM,
        CLONE_PARENT,
        CLONE_VM,
    ] {
        for p in [
            0,
            CLONE_PTRACE,
            CLONE_PTRACE | CLONE_UNTRACED,
            CLONE_UNTRACED,
        ] {
            let fl = f | p;
            for (name, r) in [
                (format!("clone/flags={fl:#x}"), Request::clone(fl | SIGCHLD)),
                (
                    format!("clone3/flags={fl:#x}"),
                    Request::clone3(fl, clone3_default_exit_signal(fl)),
                ),
            ] {
                out.push(Case::new(
                    format!("ctx/ptrace/{name}"),
                    "contexts",
                    vec!["context", "ptrace"],
                    r,
                    ObserveLevel::Full,
                ));
            }
        }
    }
    out
}

/// The default catalogue (every case) or the quick subset.
pub fn catalogue(quick: bool, task_size_max: u64) -> Vec<Case> {
    let mut out = Vec::new();
    if quick {
        // A representative slice: every combination of the flags the checks
        // read, other flags left out; the hand-written groups in full.
        out.extend(clone_matrix(61));
        out.extend(clone3_matrix(127));
    } else {
        out.extend(clone_matrix(1));
        out.extend(clone3_matrix(1));
    }
    if quick {
        out.extend(namespaces().into_iter().step_by(5));
    } else {
        out.extend(namespaces());
    }
    out.extend(undefined_bits());
    out.extend(exit_signals());
    out.extend(new_flags());
    out.extend(clone3_args(task_size_max));
    out.extend(legacy_pointers());
    out.extend(set_tid());
    out.extend(cgroup());
    out.extend(orderings());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use forklore_model::Syscall;
    use std::collections::HashSet;

    #[test]
    fn matrix_sizes() {
        assert_eq!(clone_matrix(1).len(), 131072);
        assert_eq!(clone3_matrix(1).len(), 262144);
        assert!(clone_matrix(1)
            .iter()
            .all(|c| c.request().syscall == Syscall::Clone));
    }

    #[test]
    fn ids_are_unique() {
        let all = catalogue(false, 0x7fff_ffff_f000);
        let mut seen = HashSet::new();
        for c in &all {
            assert!(seen.insert(c.id().to_string()), "duplicate id {}", c.id());
        }
        let ctx = context_cover();
        let mut seen = HashSet::new();
        for c in &ctx {
            assert!(seen.insert(c.id().to_string()), "duplicate id {}", c.id());
        }
    }

    #[test]
    fn matrix_covers_every_flag_alone() {
        let m = clone_matrix(1);
        for f in MATRIX_FLAGS {
            assert!(m.iter().any(|c| c.request().flags == f | SIGCHLD));
        }
    }
}
