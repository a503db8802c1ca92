//! Argument normalisation (model-spec §1.A, §1.B): what `kernel_clone()`
//! receives (`struct kernel_clone_args`), plus the clone3 argument-block facts
//! the §1.B checks read.

use super::ranges_contain;
use crate::flags::{
    CLONE_EMPTY_MNTNS, CLONE_LEGACY_FLAGS, CLONE_NEWNS, CLONE_VFORK, CLONE_VM, CSIGNAL, SIGCHLD,
};
use crate::prediction::VersionRange;
use crate::request::{
    ArgsMem, CgroupFd, Clone3Args, Ptr, Request, SetTid, Stack, Syscall, TidSpec, Tls,
};
use crate::version::KernelVersion;
use crate::Context;

const fn kv(a: u32, b: u32, c: u32) -> KernelVersion {
    KernelVersion::new(a, b, c)
}

/// Kernels whose legacy `clone()` keeps only the low 32 bits of its first
/// argument (`lower_32_bits()`, 3f2c788a1314 "fork: prevent accidental access
/// to clone3 features"). Mainline: pulled for 5.7-rc6 (brauner tag
/// for-linus-2020-05-13). Stable: queued for 5.4.y ("[PATCH 5.4 072/147]",
/// 2020-05-18, i.e. 5.4.42) and, by the same posting date, 5.6.14 (the 5.6.y
/// point release is inferred, not read). Before it the upper bits reached
/// `copy_process`, where (for legacy clone) none of them changes an errno.
/// Kernels whose `kernel_clone()` turns CLONE_EMPTY_MNTNS into
/// CLONE_EMPTY_MNTNS|CLONE_NEWNS before `copy_process()` ("Creating an empty
/// mount namespace implies creating a new mount namespace", linux-source-7.2
/// 7.2.13 and 7.3-rc7 kernel/fork.c: kernel_clone), so every CLONE_NEWNS
/// check (E1 NEWNS|FS, the CAP_SYS_ADMIN check in copy_namespaces) applies.
/// Only clone3 can carry bit 37 (legacy clone keeps the low 32 bits). Done
/// here, after the clone3 block is read; no check between
/// `clone3_args_valid()` and `kernel_clone()` reads CLONE_NEWNS.
pub const EMPTY_MNTNS_IMPLIES_NEWNS: &[VersionRange] = &[VersionRange {
    from: kv(7, 2, 0),
    to: None,
}];

pub const LEGACY_CLONE_DROPS_HIGH_BITS: &[VersionRange] = &[
    VersionRange {
        from: kv(5, 4, 42),
        to: Some(kv(5, 4, u32::MAX)),
    },
    VersionRange {
        from: kv(5, 6, 14),
        to: Some(kv(5, 6, u32::MAX)),
    },
    VersionRange {
        from: kv(5, 7, 0),
        to: None,
    },
];

/// `sizeof(struct clone_args)` of the kernel under test (§1.B): 64 in
/// 5.3–5.4 (VER0), 80 in 5.5–5.6 (VER1, set_tid), 88 from 5.7 (VER2, cgroup).
pub fn clone_args_ksize(v: KernelVersion) -> u64 {
    if v >= kv(5, 7, 0) {
        88
    } else if v >= kv(5, 5, 0) {
        80
    } else {
        64
    }
}

/// Where the probe's "fresh" clone3 stack lives (any valid user range will do).
pub const FRESH_STACK: u64 = 0x7f00_0000_0000;
pub const FRESH_STACK_SIZE: u64 = 0x1_0000;

/// The normalised arguments (`struct kernel_clone_args` plus the clone3 block
/// facts), computed once per prediction and read by every rule condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kargs {
    pub syscall: Syscall,
    /// The 64-bit `kargs.flags`.
    pub flags: u64,
    /// `kargs.exit_signal` (legacy clone: the low byte; clone3: the 64-bit field).
    pub exit_signal: u64,
    /// Where `kargs.pidfd` points (legacy clone: the `parent_tid` argument).
    pub pidfd: Ptr,
    pub parent_tid: Ptr,
    pub child_tid: Ptr,
    /// `kargs.pidfd == kargs.parent_tid` as pointer values (legacy clone:
    /// always; clone3: `pidfd_is_parent_tid`, or both NULL).
    pub pidfd_eq_parent_tid: bool,
    /// clone3 `stack` / `stack_size` (legacy clone: `newsp`, 0).
    pub stack: u64,
    pub stack_size: u64,
    pub tls: Tls,
    /// clone3 only: the `size` argument, the kernel's struct size, how many
    /// bytes of the block are readable, and the first non-zero byte in the
    /// tail `[ksize, size)`.
    pub size: u64,
    pub ksize: u64,
    pub readable: u64,
    pub first_nonzero_in_tail: Option<u64>,
    /// The `set_tid` field as the kernel reads it (`None` = 0 or not copied).
    pub set_tid_ptr: Option<Ptr>,
    /// The `set_tid_size` field as the kernel reads it (0 if not copied).
    pub set_tid_size: u64,
    pub set_tid_entries: Vec<TidSpec>,
    /// The `cgroup` field as the kernel reads it.
    pub cgroup: CgroupFd,
    pub cgroup_value: u64,
}

impl Kargs {
    pub fn has(&self, bits: u64) -> bool {
        self.flags & bits != 0
    }
    pub fn all(&self, bits: u64) -> bool {
        self.flags & bits == bits
    }
    pub fn is_clone3(&self) -> bool {
        self.syscall == Syscall::Clone3
    }
}

/// The numeric value a `CgroupFd` puts into the clone3 `cgroup` field.
pub fn cgroup_field_value(c: CgroupFd) -> u64 {
    match c {
        CgroupFd::Zero => 0,
        CgroupFd::Raw(v) => v,
        // Any real fd the probe opens is >= 3.
        _ => 3,
    }
}

/// Normalise a request per model-spec §1.A/§1.B for `ctx.kernel`.
pub fn normalise(req: &Request, ctx: &Context) -> Kargs {
    let mut k = Kargs {
        syscall: req.syscall,
        flags: 0,
        exit_signal: SIGCHLD,
        pidfd: req.parent_tid,
        parent_tid: req.parent_tid,
        child_tid: req.child_tid,
        pidfd_eq_parent_tid: true,
        stack: 0,
        stack_size: 0,
        tls: req.tls,
        size: 0,
        ksize: 0,
        readable: 0,
        first_nonzero_in_tail: None,
        set_tid_ptr: None,
        set_tid_size: 0,
        set_tid_entries: Vec::new(),
        cgroup: CgroupFd::Zero,
        cgroup_value: 0,
    };
    match req.syscall {
        Syscall::Fork => {}
        Syscall::Vfork => k.flags = CLONE_VFORK | CLONE_VM,
        Syscall::Clone => {
            let raw = if ranges_contain(LEGACY_CLONE_DROPS_HIGH_BITS, ctx.kernel) {
                req.flags & CLONE_LEGACY_FLAGS
            } else {
                req.flags
            };
            k.flags = raw & !CSIGNAL;
            k.exit_signal = raw & CSIGNAL;
            k.stack = match req.stack {
                Stack::Inherit => 0,
                Stack::Fresh => FRESH_STACK + FRESH_STACK_SIZE,
                Stack::Raw { stack, size } => stack.wrapping_add(size),
            };
        }
        Syscall::Clone3 => {
            let default = Clone3Args::default();
            let a = req.clone3.as_ref().unwrap_or(&default);
            normalise_clone3(&mut k, req, a, ctx.kernel);
            if k.flags & CLONE_EMPTY_MNTNS != 0
                && ranges_contain(EMPTY_MNTNS_IMPLIES_NEWNS, ctx.kernel)
            {
                k.flags |= CLONE_NEWNS;
            }
        }
    }
    k
}

fn normalise_clone3(k: &mut Kargs, req: &Request, a: &Clone3Args, v: KernelVersion) {
    k.flags = req.flags;
    k.exit_signal = a.exit_signal;
    k.pidfd = a.pidfd;
    k.pidfd_eq_parent_tid =
        a.pidfd_is_parent_tid || (a.pidfd == Ptr::Null && req.parent_tid == Ptr::Null);
    (k.stack, k.stack_size) = match req.stack {
        Stack::Inherit => (0, 0),
        Stack::Fresh => (FRESH_STACK, FRESH_STACK_SIZE),
        Stack::Raw { stack, size } => (stack, size),
    };
    k.size = a.size;
    k.ksize = clone_args_ksize(v);
    k.readable = match a.mem {
        ArgsMem::Valid => u64::MAX,
        ArgsMem::Null | ArgsMem::Unmapped => 0,
        ArgsMem::Truncated(n) => n,
    };

    // What the caller wrote at each field offset (little-endian u64 fields).
    let set_tid: Option<&SetTid> = a.set_tid.as_ref();
    let set_tid_field_nonzero = set_tid.is_some_and(|s| s.ptr != Ptr::Null);
    let set_tid_size_field = set_tid.map_or(0, |s| s.size);
    let cgroup_value = cgroup_field_value(a.cgroup);

    // Non-zero bytes in the tail [ksize, size): fields the kernel does not
    // know yet count as tail bytes (e.g. set_tid on 5.4 gives E2BIG).
    let tail = k.ksize..a.size;
    let mut nonzero: Vec<u64> = Vec::new();
    if let Some(at) = a.tail_nonzero_at {
        nonzero.push(at);
    }
    if set_tid_field_nonzero {
        nonzero.push(64);
    }
    if set_tid_size_field != 0 {
        nonzero.push(72);
    }
    if cgroup_value != 0 {
        nonzero.push(80);
    }
    k.first_nonzero_in_tail = nonzero.into_iter().filter(|o| tail.contains(o)).min();

    // Fields the kernel copies: those wholly inside min(size, ksize).
    let copied = a.size.min(k.ksize);
    let visible = |off: u64| off + 8 <= copied;
    if visible(64) {
        k.set_tid_ptr = set_tid.filter(|s| s.ptr != Ptr::Null).map(|s| s.ptr);
    }
    if visible(72) {
        k.set_tid_size = set_tid_size_field;
    }
    if let Some(s) = set_tid {
        k.set_tid_entries = s.entries.clone();
    }
    if visible(80) {
        k.cgroup = a.cgroup;
        k.cgroup_value = cgroup_value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::*;
    use crate::{Caps, Request};

    fn ctx(v: &str) -> Context {
        Context::root(v.parse().unwrap(), Caps::all())
    }

    #[test]
    fn fork_and_vfork_kargs() {
        let k = normalise(&Request::fork(), &ctx("6.18"));
        assert_eq!((k.flags, k.exit_signal), (0, SIGCHLD));
        let k = normalise(&Request::vfork(), &ctx("6.18"));
        assert_eq!((k.flags, k.exit_signal), (CLONE_VFORK | CLONE_VM, SIGCHLD));
    }

    #[test]
    fn legacy_clone_splits_signal_byte_and_drops_high_bits_from_5_7() {
        let raw = CLONE_CLEAR_SIGHAND | CLONE_VM | 0x80;
        let k = normalise(&Request::clone(raw), &ctx("5.7"));
        assert_eq!(
            k.flags, CLONE_VM,
            "high bits dropped, 0x80 is signal not NEWTIME"
        );
        assert_eq!(k.exit_signal, 0x80);
        let k = normalise(&Request::clone(raw), &ctx("5.6.13"));
        assert_eq!(
            k.flags,
            CLONE_VM | CLONE_CLEAR_SIGHAND,
            "5.6.13 still passes bit 32"
        );
        let k = normalise(&Request::clone(raw), &ctx("5.4.42"));
        assert_eq!(k.flags, CLONE_VM, "5.4.y backport");
        let k = normalise(&Request::clone(raw), &ctx("5.5.0"));
        assert_eq!(k.flags, CLONE_VM | CLONE_CLEAR_SIGHAND);
    }

    #[test]
    fn legacy_clone_pidfd_is_parent_tid() {
        let mut r = Request::clone(CLONE_PIDFD | SIGCHLD);
        r.parent_tid = Ptr::Unmapped;
        let k = normalise(&r, &ctx("6.18"));
        assert_eq!(k.pidfd, Ptr::Unmapped);
        assert!(k.pidfd_eq_parent_tid);
    }

    #[test]
    fn clone3_pointer_equality() {
        let mut r = Request::clone3(CLONE_PIDFD | CLONE_PARENT_SETTID, 17);
        assert!(!normalise(&r, &ctx("6.18")).pidfd_eq_parent_tid);
        r.parent_tid = Ptr::Null;
        r.clone3.as_mut().unwrap().pidfd = Ptr::Null;
        assert!(
            normalise(&r, &ctx("6.18")).pidfd_eq_parent_tid,
            "both NULL are equal"
        );
        let mut r = Request::clone3(CLONE_PIDFD | CLONE_PARENT_SETTID, 17);
        r.clone3.as_mut().unwrap().pidfd_is_parent_tid = true;
        assert!(normalise(&r, &ctx("6.18")).pidfd_eq_parent_tid);
    }

    #[test]
    fn clone3_fields_past_size_or_ksize() {
        let mut r = Request::clone3(0, 17);
        let a = r.clone3.as_mut().unwrap();
        a.set_tid = Some(SetTid {
            ptr: Ptr::Valid,
            size: 1,
            entries: vec![TidSpec::Unused],
        });
        // 6.18, size 88: copied.
        let k = normalise(&r, &ctx("6.18"));
        assert_eq!((k.set_tid_ptr, k.set_tid_size), (Some(Ptr::Valid), 1));
        assert_eq!(k.first_nonzero_in_tail, None);
        // 5.4 (ksize 64): the set_tid field is a non-zero tail byte.
        let k = normalise(&r, &ctx("5.4"));
        assert_eq!((k.set_tid_ptr, k.set_tid_size), (None, 0));
        assert_eq!(k.first_nonzero_in_tail, Some(64));
        // size 64: fields past size read as 0 and there is no tail.
        r.clone3.as_mut().unwrap().size = 64;
        let k = normalise(&r, &ctx("6.18"));
        assert_eq!(
            (k.set_tid_ptr, k.set_tid_size, k.first_nonzero_in_tail),
            (None, 0, None)
        );
    }

    #[test]
    fn clone3_stack_values() {
        let mut r = Request::clone3(0, 17);
        r.stack = Stack::Inherit;
        let k = normalise(&r, &ctx("6.18"));
        assert_eq!((k.stack, k.stack_size), (0, 0));
        r.stack = Stack::Raw { stack: 5, size: 7 };
        let k = normalise(&r, &ctx("6.18"));
        assert_eq!((k.stack, k.stack_size), (5, 7));
    }

    #[test]
    fn ksize_by_version() {
        assert_eq!(clone_args_ksize("5.3".parse().unwrap()), 64);
        assert_eq!(clone_args_ksize("5.4.300".parse().unwrap()), 64);
        assert_eq!(clone_args_ksize("5.5".parse().unwrap()), 80);
        assert_eq!(clone_args_ksize("5.6.19".parse().unwrap()), 80);
        assert_eq!(clone_args_ksize("5.7".parse().unwrap()), 88);
    }
}
