//! [`RawThread`]: a CLONE_THREAD task of this process that runs a
//! [`Script`] of raw syscalls, joined through CLONE_CHILD_CLEARTID.

use crate::abi::{nr, FUTEX_WAIT};
use crate::errno::Errno;
use crate::raw;
use crate::script::{clone_with_stack, Script, STACK_SIZE};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A CLONE_THREAD task running a [`Script`] in this process.
pub struct RawThread {
    tid: i32,
    ctid: Box<AtomicU32>,
    script: Box<Script>,
    stack: Vec<u8>,
}

/// Start a thread (`CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|CHILD_CLEARTID`)
/// that runs `script`.
pub fn spawn_thread(script: Box<Script>) -> Result<RawThread, Errno> {
    let mut t = RawThread {
        tid: 0,
        ctid: Box::new(AtomicU32::new(0)),
        script,
        stack: vec![0u8; STACK_SIZE],
    };
    let flags = crate::abi::THREAD_FLAGS;
    let ctid = t.ctid.as_ptr();
    // SAFETY: the stack, ctid word and script are heap allocations owned by
    // `t`; `RawThread`'s Drop leaks them unless the kernel has cleared ctid
    // (the thread is gone), so they outlive the thread. PARENT_SETTID and
    // CHILD_CLEARTID both point at `ctid`, written by the kernel only and
    // read here through the atomic.
    let r = unsafe { clone_with_stack(flags, &mut t.stack, ctid, ctid, &t.script, 0) };
    t.tid = raw::result(r)? as i32;
    Ok(t)
}

impl RawThread {
    pub fn tid(&self) -> i32 {
        self.tid
    }
    pub fn script(&self) -> &Script {
        &self.script
    }
    /// Address of the CLONE_CHILD_CLEARTID word (for
    /// [`crate::script::Step::WaitTid`]).
    pub fn clear_tid_addr(&self) -> usize {
        self.ctid.as_ptr() as usize
    }
    /// Has the kernel cleared the tid word (the thread released its mm)?
    pub fn gone(&self) -> bool {
        self.ctid.load(Ordering::SeqCst) == 0
    }
    /// Wait until the thread is gone or `timeout` passes.
    pub fn join(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.ctid.load(Ordering::SeqCst);
            if v == 0 {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let left = deadline - now;
            let ts = [left.as_secs() as i64, left.subsec_nanos() as i64];
            // SAFETY: FUTEX_WAIT reads the word we own and the timespec on
            // our stack; it changes no memory.
            unsafe {
                raw::syscall4(
                    nr::FUTEX,
                    self.ctid.as_ptr() as u64,
                    FUTEX_WAIT,
                    v as u64,
                    ts.as_ptr() as u64,
                )
            };
        }
    }
}

impl Drop for RawThread {
    fn drop(&mut self) {
        if !self.gone() {
            // The thread may still use its stack and script: never free them.
            std::mem::forget(std::mem::take(&mut self.stack));
            let s = std::mem::replace(&mut self.script, Script::new(&[]));
            std::mem::forget(s);
            let c = std::mem::replace(&mut self.ctid, Box::new(AtomicU32::new(0)));
            std::mem::forget(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Step;

    #[test]
    fn thread_runs_script_and_is_joined() {
        let t = spawn_thread(Script::new(&[
            Step::Store { word: 1, value: 77 },
            Step::Exit { code: 0 },
        ]))
        .unwrap();
        assert!(t.join(Duration::from_secs(5)));
        assert_eq!(t.script().word(1), 77);
    }
}
