//! forklore-exec-target: the program the execve scenarios exec. It reports
//! what the new image sees as one JSON line on stdout, then exits with
//! `$FORKLORE_EXIT_CODE` (default 42).
//!
//! `#![no_main]`: Rust's runtime start-up would change what we measure (it
//! sets SIGPIPE to SIG_IGN and installs SIGSEGV/SIGBUS handlers and a
//! sigaltstack). With a C `main`, the process state is exactly what execve
//! left. argv is read from /proc/self/cmdline, dispositions and masks from
//! /proc/self/status, so no raw pointers are touched here.
//!
//! Report fields: pid, tid, ppid, pgid, sid, exit_signal (stat field 38),
//! threads, argc, argv, sig_ign / sig_cgt / sig_blk (64-bit masks, bit n-1 =
//! signal n), altstack_disabled, open_fds (0..64).
//!
//! If `$FORKLORE_HOLD_FD` names a fd, the target reads it until EOF before
//! exiting, so the scenario can look at the live process.
#![no_main]
// Not `forbid`: the one exception is the `#[no_mangle]` C `main` below
// (the unsafe_code lint covers no_mangle); there is no unsafe block here.
#![deny(unsafe_code)]

use std::io::{Read, Write};

/// A `Name:` field of /proc/self/status ("" when missing).
fn status_field(name: &str) -> String {
    forklore_observe::status_field("self", name).unwrap_or_default()
}

fn hex(name: &str) -> u64 {
    u64::from_str_radix(&status_field(name), 16).unwrap_or(u64::MAX)
}

/// Field `n` of /proc/self/stat (numbered as in proc(5)), -1 when missing.
fn num(n: usize) -> i64 {
    forklore_observe::stat_field("self", n)
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1)
}

// The C entry point, so that Rust's runtime start-up does not change the
// state being reported (see the crate docs). No other symbol is exported.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    let cmdline = std::fs::read("/proc/self/cmdline").unwrap_or_default();
    let argv: Vec<String> = if cmdline.is_empty() {
        Vec::new()
    } else {
        cmdline
            .strip_suffix(&[0])
            .unwrap_or(&cmdline)
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    };
    let tid = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .and_then(|s| s.parse::<i64>().ok())
        })
        .unwrap_or(-1);
    let open_fds: Vec<i32> = (0..64).filter(|fd| forklore_sys::fd_is_open(*fd)).collect();
    let altstack_disabled = forklore_sys::altstack()
        .map(|(flags, _)| flags & forklore_sys::SS_DISABLE != 0)
        .unwrap_or(false);
    let report = serde_json::json!({
        "pid": std::process::id(),
        "tid": tid,
        "ppid": num(4),
        "pgid": num(5),
        "sid": num(6),
        "exit_signal": num(38),
        "threads": status_field("Threads").parse::<i64>().unwrap_or(-1),
        "argc": argv.len(),
        "argv": argv,
        "sig_ign": hex("SigIgn"),
        "sig_cgt": hex("SigCgt"),
        "sig_blk": hex("SigBlk"),
        "altstack_disabled": altstack_disabled,
        "open_fds": open_fds,
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{report}");
    let _ = out.flush();
    if let Some(fd) = std::env::var("FORKLORE_HOLD_FD")
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    {
        if let Some(f) = forklore_sys::fd_file(fd) {
            let mut f = f;
            let mut sink = Vec::new();
            let _ = f.read_to_end(&mut sink);
        }
    }
    std::env::var("FORKLORE_EXIT_CODE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(42)
}
