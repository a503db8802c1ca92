//! A request lowered once: a [`forklore_model::Request`] becomes the raw
//! call the sys layer issues ([`CallSpec`]: the words, with every pointer
//! still symbolic), next to the model's own reading of the same request
//! ([`Kargs`]: what `kernel_clone()` receives, legacy flags and the signal
//! byte already split). The engine asks [`Lowered`] which kind of child to
//! expect and never re-derives it from the request.

use crate::pids::PidSpace;
use crate::resources::Resources;
use forklore_model::flags::{
    CLONE_CHILD_CLEARTID, CLONE_NEWPID, CLONE_PARENT, CLONE_PIDFD, CLONE_THREAD, CLONE_VFORK,
};
use forklore_model::rules::{normalise, Kargs};
use forklore_model::{ArgsMem, CgroupAccess, Context, Ptr, Request, SetTid, Stack, Syscall, Tls};
use forklore_sys::clone::{
    BlockMem, CallKind, CallSpec, ChildPlan, Clone3Block, SetTidArg, StackArg, TlsArg, UPtr,
};

/// The exit code every probe child passes to SYS_exit.
pub const CHILD_EXIT_CODE: u8 = 42;

/// One case, ready to call.
pub(crate) struct Lowered {
    /// The raw call.
    pub spec: CallSpec,
    /// The model's normalisation of the request for this kernel.
    pub kargs: Kargs,
    /// The set_tid values actually passed (symbolic entries resolved).
    pub set_tid: Option<Vec<i32>>,
    /// For a cgroup2 target: what the context may write there.
    pub cgroup_access: Option<CgroupAccess>,
}

impl Lowered {
    /// CLONE_VFORK: the caller sleeps until the child exits or execs.
    pub fn vfork(&self) -> bool {
        self.kargs.has(CLONE_VFORK)
    }
    /// CLONE_THREAD: the child joins the caller's thread group.
    pub fn thread(&self) -> bool {
        self.kargs.has(CLONE_THREAD)
    }
    /// CLONE_PARENT: the child belongs to the caller's parent (the reaper).
    pub fn parent(&self) -> bool {
        self.kargs.has(CLONE_PARENT)
    }
    /// CLONE_NEWPID: the child is init of a new pid namespace.
    pub fn new_pidns(&self) -> bool {
        self.kargs.has(CLONE_NEWPID)
    }
    /// CLONE_PIDFD: the kernel writes a pidfd.
    pub fn pidfd(&self) -> bool {
        self.kargs.has(CLONE_PIDFD)
    }
    /// `kargs.exit_signal`.
    pub fn exit_signal(&self) -> u64 {
        self.kargs.exit_signal
    }
}

fn uptr(p: Ptr) -> UPtr {
    match p {
        Ptr::Valid => UPtr::Word,
        Ptr::Null => UPtr::Null,
        Ptr::Unmapped => UPtr::Unmapped,
        Ptr::Kernel => UPtr::Kernel,
    }
}

fn block_mem(m: ArgsMem) -> BlockMem {
    match m {
        ArgsMem::Valid => BlockMem::Valid,
        ArgsMem::Null => BlockMem::Null,
        ArgsMem::Unmapped => BlockMem::Unmapped,
        ArgsMem::Truncated(n) => BlockMem::Truncated(n),
    }
}

fn call_kind(s: Syscall) -> CallKind {
    match s {
        Syscall::Fork => CallKind::Fork,
        Syscall::Vfork => CallKind::Vfork,
        Syscall::Clone => CallKind::Clone,
        Syscall::Clone3 => CallKind::Clone3,
    }
}

/// Lower `req` for the caller in `ctx`. `full`: the child waits for a
/// go-ahead so /proc can be read while it is alive. `Err` says why the
/// probe cannot provide what the request names (the case is skipped).
pub(crate) fn lower(
    req: &Request,
    ctx: &Context,
    full: bool,
    pids: &mut PidSpace,
    res: &Resources,
) -> Result<Lowered, String> {
    if matches!(req.syscall, Syscall::Fork | Syscall::Vfork) && !ctx.arch.has_fork_syscalls() {
        // Nothing to issue: the model's answer (A3, ENOSYS) is the syscall
        // table's, and the clone cases cover what libc's fork and vfork
        // issue instead.
        return Err(format!(
            "{} is not a system call on {} (model rule A3: ENOSYS); libc's {} is {}, covered by the clone cases",
            req.syscall,
            ctx.arch,
            req.syscall,
            if req.syscall == Syscall::Fork {
                "clone(SIGCHLD)"
            } else {
                "clone(CLONE_VM|CLONE_VFORK|SIGCHLD)"
            }
        ));
    }
    let kargs = normalise(req, ctx);
    let mut set_tid = None;
    let mut cgroup_access = None;
    let (clone3, pidfd, pidfd_is_parent_tid) = match (req.syscall, &req.clone3) {
        (Syscall::Clone3, a) => {
            let default = Default::default();
            let a = a.as_ref().unwrap_or(&default);
            let cgroup = res.cgroup_field(a.cgroup)?;
            cgroup_access = cgroup.access;
            let st = a.set_tid.as_ref().map(|st: &SetTid| {
                let entries = pids.resolve_set_tid(kargs.has(CLONE_NEWPID), &st.entries);
                set_tid = Some(entries.clone());
                SetTidArg {
                    ptr: uptr(st.ptr),
                    size: st.size,
                    entries,
                }
            });
            let block = Clone3Block {
                size: a.size,
                mem: block_mem(a.mem),
                tail_nonzero_at: a.tail_nonzero_at,
                exit_signal: a.exit_signal,
                set_tid: st,
                cgroup: cgroup.value,
            };
            (Some(block), uptr(a.pidfd), a.pidfd_is_parent_tid)
        }
        _ => (None, UPtr::Word, false),
    };
    let thread = kargs.has(CLONE_THREAD);
    let vfork = kargs.has(CLONE_VFORK);
    let spec = CallSpec {
        kind: call_kind(req.syscall),
        flags: req.flags,
        parent_tid: uptr(req.parent_tid),
        child_tid: uptr(req.child_tid),
        pidfd,
        pidfd_is_parent_tid,
        tls: match req.tls {
            Tls::Valid => TlsArg::Dummy,
            Tls::Raw(v) => TlsArg::Raw(v),
        },
        stack: match req.stack {
            Stack::Inherit => StackArg::Inherit,
            Stack::Fresh => StackArg::Fresh,
            Stack::Raw { stack, size } => StackArg::Raw { stack, size },
        },
        clone3,
        child: ChildPlan {
            // Full: keep the child alive for /proc. Never for VFORK: the
            // caller is suspended until the child exits.
            wait_go: full && !vfork,
            // A thread is joined through a cleared word: the case's own
            // CHILD_CLEARTID word if it has one, else one the child
            // registers with set_tid_address.
            set_join_address: thread
                && !(kargs.has(CLONE_CHILD_CLEARTID) && req.child_tid == Ptr::Valid),
            exit_code: CHILD_EXIT_CODE,
        },
    };
    Ok(Lowered {
        spec,
        kargs,
        set_tid,
        cgroup_access,
    })
}
