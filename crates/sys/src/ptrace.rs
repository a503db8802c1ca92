//! ptrace(2) requests the lifecycle-ptrace scenarios and the `traced`
//! context use: attach (PTRACE_ATTACH / PTRACE_SEIZE), options, resume,
//! detach and the event message. Every call is made by the thread that is
//! (or becomes) the tracer: ptrace binds a tracee to a thread, so these are
//! called only from single-threaded processes.

use crate::abi::{
    nr, PR_GET_DUMPABLE, PR_SET_PTRACER, PTRACE_ATTACH, PTRACE_CONT, PTRACE_DETACH,
    PTRACE_GETEVENTMSG, PTRACE_SEIZE, PTRACE_SETOPTIONS, PTRACE_TRACEME,
};
use crate::errno::Errno;
use crate::raw;

pub use crate::abi::{
    PTRACE_EVENT_CLONE, PTRACE_EVENT_FORK, PTRACE_EVENT_STOP, PTRACE_EVENT_VFORK,
    PTRACE_O_EXITKILL, PTRACE_O_TRACECLONE, PTRACE_O_TRACEFORK, PTRACE_O_TRACEVFORK,
};

/// `ptrace(request, pid, addr, data)` for requests whose `addr` and `data`
/// are integers (never addresses).
fn ptrace_int(request: u64, pid: i32, addr: u64, data: u64) -> Result<i64, Errno> {
    // SAFETY: every caller passes a request that reads no user memory
    // through `addr` / `data` (TRACEME, ATTACH, SEIZE, SETOPTIONS, CONT,
    // DETACH take integers or ignore them).
    let r = unsafe { raw::syscall4(nr::PTRACE, request, pid as i64 as u64, addr, data) };
    raw::result(r)
}

/// `ptrace(PTRACE_SEIZE, pid, 0, options)`: attach without stopping it.
pub fn ptrace_seize(pid: i32, options: u32) -> Result<(), Errno> {
    ptrace_int(PTRACE_SEIZE, pid, 0, options as u64).map(|_| ())
}

/// `ptrace(PTRACE_ATTACH, pid, 0, 0)`: attach and send it SIGSTOP.
pub fn ptrace_attach(pid: i32) -> Result<(), Errno> {
    ptrace_int(PTRACE_ATTACH, pid, 0, 0).map(|_| ())
}

/// `ptrace(PTRACE_TRACEME, 0, 0, 0)`: the parent becomes the tracer.
pub fn ptrace_traceme() -> Result<(), Errno> {
    ptrace_int(PTRACE_TRACEME, 0, 0, 0).map(|_| ())
}

/// `ptrace(PTRACE_SETOPTIONS, pid, 0, options)` (the tracee is stopped).
pub fn ptrace_setoptions(pid: i32, options: u32) -> Result<(), Errno> {
    ptrace_int(PTRACE_SETOPTIONS, pid, 0, options as u64).map(|_| ())
}

/// `ptrace(PTRACE_CONT, pid, 0, sig)`: resume a stopped tracee, delivering
/// `sig` (0: none).
pub fn ptrace_cont(pid: i32, sig: i32) -> Result<(), Errno> {
    ptrace_int(PTRACE_CONT, pid, 0, sig as u64).map(|_| ())
}

/// `ptrace(PTRACE_DETACH, pid, 0, sig)` (the tracee is stopped).
pub fn ptrace_detach(pid: i32, sig: i32) -> Result<(), Errno> {
    ptrace_int(PTRACE_DETACH, pid, 0, sig as u64).map(|_| ())
}

/// `ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg)`: the message of the last
/// PTRACE_EVENT stop (the new task's pid for FORK / VFORK / CLONE).
pub fn ptrace_geteventmsg(pid: i32) -> Result<u64, Errno> {
    let mut msg: u64 = 0;
    // SAFETY: the kernel writes one unsigned long (8 bytes here) into the
    // live local `msg` with put_user.
    let r = unsafe {
        raw::syscall4(
            nr::PTRACE,
            PTRACE_GETEVENTMSG,
            pid as i64 as u64,
            0,
            &mut msg as *mut u64 as u64,
        )
    };
    raw::result(r).map(|_| msg)
}

/// `prctl(PR_SET_PTRACER, pid)`: under YAMA ptrace_scope 1, let `pid`
/// attach to this process although it is not a descendant (EINVAL without
/// YAMA).
pub fn set_ptracer(pid: i32) -> Result<(), Errno> {
    // SAFETY: PR_SET_PTRACER takes an integer argument.
    let r = unsafe { raw::syscall5(nr::PRCTL, PR_SET_PTRACER, pid as i64 as u64, 0, 0, 0) };
    raw::result(r).map(|_| ())
}

/// `prctl(PR_GET_DUMPABLE)`: whether this process's mm is dumpable (an
/// attach by a tracer without CAP_SYS_PTRACE needs it).
pub fn dumpable() -> Result<bool, Errno> {
    // SAFETY: PR_GET_DUMPABLE takes no memory arguments.
    let r = unsafe { raw::syscall5(nr::PRCTL, PR_GET_DUMPABLE, 0, 0, 0, 0) };
    raw::result(r).map(|v| v == 1)
}
