//! The clone trampoline, the code a new child runs, and the per-batch memory
//! ([`Arena`]) every case's pointers point into.
//!
//! The crate's one trampoline ([`raw::clone_trampoline`]) serves fork,
//! vfork, clone and clone3: in the child it switches to the arena's stack
//! and calls [`child_entry`] with the control block. The stack pointer the
//! kernel gave the child therefore never matters, so any `newsp`/`stack`
//! value is harmless.
//!
//! The child runs only raw syscalls: no allocation, no libc, no TLS (so
//! `CLONE_SETTLS` with any value is fine), no panics, no formatting. It
//! writes a self-report into a `MAP_SHARED` page, optionally waits for the
//! parent's go-ahead on a futex in that page, and leaves with `SYS_exit`.

use crate::abi::{nr, CLONE_ARGS_SIZE_VER2, FUTEX_WAIT, FUTEX_WAKE, SIGCHLD};
use crate::mem::{Mapping, Prot, Shared, SharedPod, PAGE_SIZE};
use crate::raw;
use std::io;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Value of the tid/pidfd words before the call: "not written".
pub const WORD_SENTINEL: u32 = 0xa5a5_a5a5;
/// `child_tid_seen` when the child did not read a CHILD_SETTID word.
pub const NOT_READ: i64 = i64::MIN;
/// An address the kernel never lets user space touch (start of the kernel half).
pub const KERNEL_ADDR: u64 = 0xffff_8000_0000_0000;

const STACK_SIZE: usize = 64 * 1024;
/// Room for a clone3 block that may be up to 4097 bytes (and more for tests).
const BLOCK_RW: usize = 2 * PAGE_SIZE;
const SET_TID_CAP: usize = 64;

/// The control block and self-report shared between the probe and its child.
#[repr(C)]
pub struct ChildCtl {
    /// Parent → child: non-zero = go ahead and exit (futex word).
    pub go: AtomicU32,
    /// Child → parent: the self-report is written (futex word).
    pub started: AtomicU32,
    /// Child → parent: set right before `SYS_exit`.
    pub exited: AtomicU32,
    /// Join word for threads whose case has no usable CHILD_CLEARTID: the
    /// child points `set_tid_address` here, the kernel clears it at exit.
    pub join: AtomicU32,
    /// Plan: wait for `go` before exiting (never for CLONE_VFORK).
    pub wait_go: AtomicU32,
    /// Plan: call `set_tid_address(&join)` first.
    pub set_join_address: AtomicU32,
    /// Plan: the code passed to `SYS_exit`.
    pub exit_code: AtomicU32,
    /// Report: gettid(), getpid(), getppid() as the child saw them.
    pub tid: AtomicI32,
    pub pid: AtomicI32,
    pub ppid: AtomicI32,
    /// Plan: address of the CHILD_SETTID word to read (0 = none).
    pub child_tid_addr: AtomicU64,
    /// Report: the CHILD_SETTID word as the child saw it, or [`NOT_READ`].
    pub child_tid_seen: AtomicI64,
}

/// The page shared with every child: control block plus the words the
/// kernel writes (PARENT_SETTID, CHILD_SETTID/CLEARTID, pidfd) and the
/// `set_tid` array it reads.
#[repr(C)]
pub struct CaseShared {
    pub ctl: ChildCtl,
    pub parent_tid: AtomicU32,
    pub child_tid: AtomicU32,
    pub pidfd: AtomicU32,
    pub set_tid: [AtomicI32; SET_TID_CAP],
}

// SAFETY: both are repr(C) structs of atomics; all-zero is a valid value.
unsafe impl SharedPod for ChildCtl {}
// SAFETY: as above.
unsafe impl SharedPod for CaseShared {}

/// The code a new child runs, on the arena's stack (a [`raw::ChildEntry`]).
///
/// # Safety
/// Called only by the trampoline in a new child with `ctl` the address of
/// the arena's live [`ChildCtl`].
unsafe extern "C" fn child_entry(ctl: usize) -> ! {
    // SAFETY: per this function's contract `ctl` points at the control block
    // in the arena's MAP_SHARED page, mapped in this child (inherited by
    // fork, or shared with CLONE_VM) for its whole life.
    let ctl = unsafe { &*(ctl as *const ChildCtl) };
    // SAFETY (all raw syscalls below): gettid/getpid/getppid/futex/
    // set_tid_address/exit touch only the control block, which lives as long
    // as this child (see above); none allocates or uses TLS.
    unsafe {
        ctl.tid
            .store(raw::syscall0(nr::GETTID) as i32, Ordering::Relaxed);
        ctl.pid
            .store(raw::syscall0(nr::GETPID) as i32, Ordering::Relaxed);
        ctl.ppid
            .store(raw::syscall0(nr::GETPPID) as i32, Ordering::Relaxed);
        let a = ctl.child_tid_addr.load(Ordering::Relaxed);
        if a != 0 {
            // The CHILD_SETTID word is in the same shared page.
            let w = &*(a as *const AtomicU32);
            ctl.child_tid_seen
                .store(w.load(Ordering::Relaxed) as i64, Ordering::Relaxed);
        }
        if ctl.set_join_address.load(Ordering::Relaxed) != 0 {
            raw::syscall1(nr::SET_TID_ADDRESS, &ctl.join as *const AtomicU32 as u64);
        }
        ctl.started.store(1, Ordering::Release);
        raw::syscall3(
            nr::FUTEX,
            &ctl.started as *const AtomicU32 as u64,
            FUTEX_WAKE,
            1,
        );
        if ctl.wait_go.load(Ordering::Relaxed) != 0 {
            while ctl.go.load(Ordering::Acquire) == 0 {
                raw::syscall4(
                    nr::FUTEX,
                    &ctl.go as *const AtomicU32 as u64,
                    FUTEX_WAIT,
                    0,
                    0,
                );
            }
        }
        ctl.exited.store(1, Ordering::Release);
        let code = ctl.exit_code.load(Ordering::Relaxed) as u64;
        loop {
            raw::syscall1(nr::EXIT, code);
        }
    }
}

/// Which syscall to issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    Fork,
    Vfork,
    Clone,
    Clone3,
}

/// A user pointer argument, resolved by the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UPtr {
    /// The arena's word for this argument.
    #[default]
    Word,
    Null,
    /// A PROT_NONE page: any access faults.
    Unmapped,
    /// [`KERNEL_ADDR`].
    Kernel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackArg {
    /// clone `newsp = 0`; clone3 `stack = stack_size = 0`.
    Inherit,
    /// The arena's stack.
    Fresh,
    /// Literal clone3 `stack`/`stack_size` (clone: `newsp = stack + size`).
    Raw { stack: u64, size: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsArg {
    /// A small mapped dummy area.
    Dummy,
    Raw(u64),
}

/// Where the clone3 argument block lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockMem {
    Valid,
    Null,
    Unmapped,
    /// Only the first `n` bytes are mapped (at most 8192).
    Truncated(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetTidArg {
    pub ptr: UPtr,
    /// The `set_tid_size` field.
    pub size: u64,
    /// Resolved pids, `[0]` = innermost (at most 64 are stored).
    pub entries: Vec<i32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clone3Block {
    pub size: u64,
    pub mem: BlockMem,
    pub tail_nonzero_at: Option<u64>,
    pub exit_signal: u64,
    pub set_tid: Option<SetTidArg>,
    pub cgroup: u64,
}

/// What the child does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildPlan {
    pub wait_go: bool,
    pub set_join_address: bool,
    pub exit_code: u8,
}

/// One call, with every pointer symbolic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSpec {
    pub kind: CallKind,
    /// clone: the raw first argument; clone3: the `flags` field.
    pub flags: u64,
    pub parent_tid: UPtr,
    pub child_tid: UPtr,
    /// clone3 `pidfd` (legacy clone uses `parent_tid`).
    pub pidfd: UPtr,
    /// clone3: `pidfd` holds the same address as `parent_tid`.
    pub pidfd_is_parent_tid: bool,
    pub tls: TlsArg,
    pub stack: StackArg,
    pub clone3: Option<Clone3Block>,
    pub child: ChildPlan,
}

/// Which futex word to join a thread on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinWord {
    /// The case's CHILD_SETTID/CLEARTID word.
    ChildTid,
    /// [`ChildCtl::join`] (registered by the child with set_tid_address).
    Join,
}

/// A previous child may still be running on the arena.
#[derive(Debug, thiserror::Error)]
#[error("the previous case's child has not been confirmed gone")]
pub struct ArenaBusy;

/// Per-batch memory for cases: shared page, child stack, a PROT_NONE page
/// for unmapped pointers, the clone3 block area and a dummy TLS area.
/// Mapped once and reused by every case.
pub struct Arena {
    shared: ManuallyDrop<Shared<CaseShared>>,
    stack: ManuallyDrop<Mapping>,
    unmapped: Mapping,
    /// BLOCK_RW read-write bytes followed by one PROT_NONE page.
    block: Mapping,
    tls: Mapping,
    outstanding: bool,
}

impl Arena {
    pub fn new() -> io::Result<Arena> {
        let stack = Mapping::anon(STACK_SIZE + PAGE_SIZE, false, Prot::ReadWrite)?;
        stack.protect(0, PAGE_SIZE, Prot::None)?;
        let block = Mapping::anon(BLOCK_RW + PAGE_SIZE, false, Prot::ReadWrite)?;
        block.protect(BLOCK_RW, PAGE_SIZE, Prot::None)?;
        Ok(Arena {
            shared: ManuallyDrop::new(Shared::new()?),
            stack: ManuallyDrop::new(stack),
            unmapped: Mapping::anon(PAGE_SIZE, false, Prot::None)?,
            block,
            tls: Mapping::anon(PAGE_SIZE, false, Prot::ReadWrite)?,
            outstanding: false,
        })
    }

    pub fn shared(&self) -> &CaseShared {
        &self.shared
    }

    pub fn ctl(&self) -> &ChildCtl {
        &self.shared.ctl
    }

    /// Address of the PROT_NONE page.
    pub fn unmapped_addr(&self) -> u64 {
        self.unmapped.addr()
    }

    /// The child of the last call is known to be gone (reaped, joined, or
    /// never created): the stack and shared page may be reused.
    pub fn child_gone(&mut self) {
        self.outstanding = false;
    }

    /// The last child could not be confirmed gone: abandon (leak) the stack
    /// and shared page it may still use and map fresh ones.
    pub fn renew(&mut self) -> io::Result<()> {
        let fresh = Arena::new()?;
        let mut old = std::mem::replace(self, fresh);
        old.outstanding = true;
        drop(old); // leaks the stack and shared page
        Ok(())
    }

    fn word_addr(&self, p: UPtr, word: &AtomicU32) -> u64 {
        match p {
            UPtr::Word => word as *const AtomicU32 as u64,
            UPtr::Null => 0,
            UPtr::Unmapped => self.unmapped.addr(),
            UPtr::Kernel => KERNEL_ADDR,
        }
    }

    /// Reset the shared page, build the arguments and issue the call.
    /// Returns the raw result (`-errno` on failure, the child's tid, and
    /// never 0: the child does not come back here).
    pub fn call(&mut self, spec: &CallSpec) -> Result<i64, ArenaBusy> {
        if self.outstanding {
            return Err(ArenaBusy);
        }
        let sh = &*self.shared;
        let c = &sh.ctl;
        c.go.store(0, Ordering::Relaxed);
        c.started.store(0, Ordering::Relaxed);
        c.exited.store(0, Ordering::Relaxed);
        c.join.store(WORD_SENTINEL, Ordering::Relaxed);
        c.wait_go
            .store(spec.child.wait_go as u32, Ordering::Relaxed);
        c.set_join_address
            .store(spec.child.set_join_address as u32, Ordering::Relaxed);
        c.exit_code
            .store(spec.child.exit_code as u32, Ordering::Relaxed);
        c.tid.store(0, Ordering::Relaxed);
        c.pid.store(0, Ordering::Relaxed);
        c.ppid.store(0, Ordering::Relaxed);
        let cta = if spec.child_tid == UPtr::Word {
            &sh.child_tid as *const AtomicU32 as u64
        } else {
            0
        };
        c.child_tid_addr.store(cta, Ordering::Relaxed);
        c.child_tid_seen.store(NOT_READ, Ordering::Relaxed);
        sh.parent_tid.store(WORD_SENTINEL, Ordering::Relaxed);
        sh.child_tid.store(WORD_SENTINEL, Ordering::Relaxed);
        sh.pidfd.store(WORD_SENTINEL, Ordering::Relaxed);

        let stack_base = self.stack.addr() + PAGE_SIZE as u64;
        let stack_top = self.stack.end();
        let parent_tid = self.word_addr(spec.parent_tid, &sh.parent_tid);
        let child_tid = self.word_addr(spec.child_tid, &sh.child_tid);
        let tls = match spec.tls {
            TlsArg::Dummy => self.tls.addr() + 64,
            TlsArg::Raw(v) => v,
        };
        let (stack, stack_size) = match spec.stack {
            StackArg::Inherit => (0, 0),
            StackArg::Fresh => (stack_base, STACK_SIZE as u64),
            StackArg::Raw { stack, size } => (stack, size),
        };
        let (nrno, args) = match spec.kind {
            #[cfg(target_arch = "x86_64")]
            CallKind::Fork => (nr::FORK, [0; 5]),
            #[cfg(target_arch = "x86_64")]
            CallKind::Vfork => (nr::VFORK, [0; 5]),
            // Not system calls here (the generic syscall table has no
            // number for them): the probe skips these cases before lowering
            // them (model rule A3). Should one arrive, nothing is issued and
            // the answer is the kernel's for a number it does not have.
            #[cfg(not(target_arch = "x86_64"))]
            CallKind::Fork | CallKind::Vfork => {
                return Ok(-(crate::errno::Errno::ENOSYS.raw() as i64))
            }
            CallKind::Clone => (
                nr::CLONE,
                crate::abi::legacy_clone_args(
                    spec.flags,
                    stack.wrapping_add(stack_size),
                    parent_tid,
                    child_tid,
                    tls,
                ),
            ),
            CallKind::Clone3 => {
                let b = spec.clone3.clone().unwrap_or(Clone3Block {
                    size: CLONE_ARGS_SIZE_VER2,
                    mem: BlockMem::Valid,
                    tail_nonzero_at: None,
                    exit_signal: SIGCHLD as u64,
                    set_tid: None,
                    cgroup: 0,
                });
                let pidfd = if spec.pidfd_is_parent_tid {
                    parent_tid
                } else {
                    self.word_addr(spec.pidfd, &sh.pidfd)
                };
                let set_tid = match &b.set_tid {
                    None => (0, 0),
                    Some(st) => {
                        for (i, slot) in sh.set_tid.iter().enumerate() {
                            slot.store(st.entries.get(i).copied().unwrap_or(0), Ordering::Relaxed);
                        }
                        let p = match st.ptr {
                            UPtr::Word => sh.set_tid.as_ptr() as u64,
                            other => self.word_addr(other, &sh.parent_tid),
                        };
                        (p, st.size)
                    }
                };
                let fields: [u64; 11] = [
                    spec.flags,
                    pidfd,
                    child_tid,
                    parent_tid,
                    b.exit_signal,
                    stack,
                    stack_size,
                    tls,
                    set_tid.0,
                    set_tid.1,
                    b.cgroup,
                ];
                let addr = self.write_block(&b, &fields);
                (nr::CLONE3, [addr, b.size, 0, 0, 0])
            }
        };
        let ctl = &self.shared.ctl as *const ChildCtl as usize;
        // SAFETY: `stack_top` is the page-aligned top of the arena's private
        // stack, used by no one while no child is outstanding (checked
        // above); `ctl` points into the arena's shared page, and child_entry
        // runs only raw syscalls. Pointers the kernel writes through
        // (parent_tid, child_tid, pidfd, CLEARTID) are the shared page's
        // atomic words, the PROT_NONE page, NULL or a kernel address; the
        // clone3 block and set_tid array are only read.
        let ret = unsafe { raw::clone_trampoline(nrno, args, stack_top, child_entry, ctl) };
        self.outstanding = ret > 0;
        Ok(ret)
    }

    /// Write the clone3 block; return the address to pass.
    fn write_block(&mut self, b: &Clone3Block, fields: &[u64; 11]) -> u64 {
        let base = self.block.addr();
        // SAFETY: [base, base + BLOCK_RW) is the read-write part of the
        // block mapping, which only this arena touches.
        unsafe { std::ptr::write_bytes(self.block.ptr(), 0, BLOCK_RW) };
        let (start, readable) = match b.mem {
            BlockMem::Null => return 0,
            BlockMem::Unmapped => return self.unmapped.addr(),
            BlockMem::Valid => (0usize, BLOCK_RW),
            BlockMem::Truncated(n) => {
                let n = (n as usize).min(BLOCK_RW);
                (BLOCK_RW - n, n)
            }
        };
        let mut bytes = [0u8; 88];
        for (i, f) in fields.iter().enumerate() {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&f.to_le_bytes());
        }
        let n = readable.min(88);
        // SAFETY: start + n <= BLOCK_RW: the range is in the read-write part.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.block.ptr().add(start), n) };
        if let Some(off) = b.tail_nonzero_at {
            if (off as usize) < readable {
                // SAFETY: start + off < BLOCK_RW, inside the read-write part.
                unsafe { *self.block.ptr().add(start + off as usize) = 1 };
            }
        }
        base + start as u64
    }

    /// Wait until the child has written its self-report.
    pub fn wait_started(&self, timeout: Duration) -> bool {
        wait_while(&self.shared.ctl.started, |v| v == 0, timeout)
    }

    /// Let the child exit.
    pub fn release(&self) {
        let go = &self.shared.ctl.go;
        go.store(1, Ordering::Release);
        crate::process::futex_wake(go, 1);
    }

    /// Wait until the kernel clears a thread's join word (exit of a
    /// CLONE_THREAD child through CHILD_CLEARTID or set_tid_address).
    pub fn wait_cleared(&self, which: JoinWord, timeout: Duration) -> bool {
        let w = match which {
            JoinWord::ChildTid => &self.shared.child_tid,
            JoinWord::Join => &self.shared.ctl.join,
        };
        wait_while(w, |v| v != 0, timeout)
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        if !self.outstanding {
            // SAFETY: neither field is used after this point.
            unsafe {
                ManuallyDrop::drop(&mut self.shared);
                ManuallyDrop::drop(&mut self.stack);
            }
        }
        // Otherwise a child may still run on the stack and write the shared
        // page: leave both mapped.
    }
}

/// Futex-wait on `w` while `cond(value)` holds, up to `timeout` in total.
fn wait_while(w: &AtomicU32, cond: impl Fn(u32) -> bool, timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let v = w.load(Ordering::Acquire);
        if !cond(v) {
            return true;
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            return false;
        }
        crate::process::futex_wait(w, v, Some(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{
        CLONE_CHILD_SETTID, CLONE_PARENT_SETTID, CLONE_THREAD, CLONE_VFORK, CLONE_VM,
    };
    use crate::errno::Errno;
    use crate::wait::{self, WALL};

    fn plan(wait_go: bool) -> ChildPlan {
        ChildPlan {
            wait_go,
            set_join_address: false,
            exit_code: 42,
        }
    }

    fn spec(kind: CallKind, flags: u64) -> CallSpec {
        CallSpec {
            kind,
            flags,
            parent_tid: UPtr::Word,
            child_tid: UPtr::Word,
            pidfd: UPtr::Word,
            pidfd_is_parent_tid: false,
            tls: TlsArg::Dummy,
            stack: StackArg::Fresh,
            clone3: None,
            child: plan(true),
        }
    }

    // Tests in this module create processes; libtest runs tests on threads,
    // so only CLONE_VM-free children that run nothing but the raw child code
    // are created here (no Rust code runs in the child besides child_entry).
    #[test]
    fn clone_child_reports_and_exits() {
        let mut a = Arena::new().unwrap();
        let s = spec(
            CallKind::Clone,
            CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD as u64,
        );
        let ret = a.call(&s).unwrap();
        assert!(ret > 0, "clone failed: {ret}");
        assert!(a.wait_started(Duration::from_secs(5)));
        assert_eq!(a.ctl().tid.load(Ordering::Relaxed), ret as i32);
        assert_eq!(
            a.ctl().ppid.load(Ordering::Relaxed),
            std::process::id() as i32
        );
        assert_eq!(a.shared().parent_tid.load(Ordering::Relaxed), ret as u32);
        assert_eq!(a.ctl().child_tid_seen.load(Ordering::Relaxed), ret);
        a.release();
        let r = wait::wait4(ret as i32, WALL).unwrap().unwrap();
        assert_eq!(r.status, 42 << 8);
        a.child_gone();
        // An error: THREAD without SIGHAND.
        let e = a
            .call(&spec(CallKind::Clone, CLONE_THREAD | SIGCHLD as u64))
            .unwrap();
        assert_eq!(e, -(Errno::EINVAL.raw() as i64));
    }

    #[test]
    fn clone3_block_and_vfork_suspend() {
        let mut a = Arena::new().unwrap();
        let mut s = spec(CallKind::Clone3, CLONE_VFORK | CLONE_VM);
        s.child = plan(false);
        s.clone3 = Some(Clone3Block {
            size: 88,
            mem: BlockMem::Valid,
            tail_nonzero_at: None,
            exit_signal: SIGCHLD as u64,
            set_tid: None,
            cgroup: 0,
        });
        let ret = a.call(&s).unwrap();
        assert!(ret > 0, "clone3 failed: {ret}");
        assert_eq!(
            a.ctl().exited.load(Ordering::Relaxed),
            1,
            "vfork parent resumed before the child exited"
        );
        let r = wait::wait4(ret as i32, WALL).unwrap().unwrap();
        assert_eq!(r.status, 42 << 8);
        a.child_gone();
        // size 63 → EINVAL, 4097 → E2BIG; tail non-zero → E2BIG; unmapped tail → EFAULT.
        let mut b = s.clone3.clone().unwrap();
        b.size = 63;
        s.clone3 = Some(b.clone());
        assert_eq!(a.call(&s).unwrap(), -(Errno::EINVAL.raw() as i64));
        b.size = 4097;
        s.clone3 = Some(b.clone());
        assert_eq!(a.call(&s).unwrap(), -(Errno::E2BIG.raw() as i64));
        b.size = 96;
        b.tail_nonzero_at = Some(90);
        s.clone3 = Some(b.clone());
        assert_eq!(a.call(&s).unwrap(), -(Errno::E2BIG.raw() as i64));
        b.tail_nonzero_at = None;
        b.mem = BlockMem::Truncated(88);
        s.clone3 = Some(b.clone());
        assert_eq!(a.call(&s).unwrap(), -(Errno::EFAULT.raw() as i64));
    }
}
