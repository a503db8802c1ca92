//! Kernel threads seen from user space (issue 16), read-only: kthreadd
//! (pid 2, ppid 0) and every other PF_KTHREAD task in /proc. The only
//! things sent to a kernel thread are a PTRACE_SEIZE (refused for every
//! kernel thread) and kills of kthreadd, which the kernel drops: SIGKILL is
//! sent only when /proc/2/status shows it ignored.

use crate::case::{outcome, Abort, Check, Ctx, Facts};
use crate::util;
use forklore_model::kthread::{self as km, MmView, PF_KTHREAD};
use forklore_model::lifecycle::Expect;
use forklore_model::ptrace::{self as pm, AttachFacts};
use forklore_model::{cap, Errno};
use forklore_sys::ptrace as pt;

/// /proc must show the initial pid namespace's kernel threads.
fn need_kthreadd() -> Result<(), Abort> {
    forklore_observe::kernel_threads_visible().map_err(Abort::Skip)
}

fn flags(pid: i32) -> Option<u64> {
    forklore_observe::stat_field(&pid.to_string(), 9)?
        .parse()
        .ok()
}

fn mm_view(pid: i32) -> Option<MmView> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let maps = std::fs::read(format!("/proc/{pid}/maps")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(MmView {
        cmdline_bytes: cmdline.len(),
        maps_bytes: maps.len(),
        vmsize_line: status.lines().any(|l| l.starts_with("VmSize:")),
    })
}

/// Every PF_KTHREAD task but kthreadd, as (pid, ppid); tasks that vanish
/// while we read are left out.
fn other_kthreads() -> Vec<(i32, i64)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<(i32, i64)> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| p != 2)
        .filter_map(|p| {
            let f = flags(p)?;
            (f & PF_KTHREAD != 0).then_some(())?;
            Some((p, util::stat_number(p, 4)?))
        })
        .collect();
    out.sort();
    out
}

/// An outcome as a name (`"EPERM"`, `"ok"`).
fn errno_of(r: Result<(), nix::errno::Errno>) -> String {
    outcome(r.err().map(|e| Errno(e as i32)))
}

fn named(e: Expect<Option<Errno>>) -> Expect<String> {
    Expect {
        value: outcome(e.value),
        rule: e.rule,
    }
}

pub fn kthreadd(_: &Ctx) -> Result<Check, Abort> {
    need_kthreadd()?;
    let mut f = Facts::new();
    f.add(
        "ids",
        km::kthreadd_ids(),
        (2, util::stat_number(2, 4).unwrap_or(-1) as i32),
    );
    f.add(
        "pf_kthread",
        km::has_pf_kthread(),
        flags(2).is_some_and(|x| x & PF_KTHREAD != 0),
    );
    f.add("mm", km::kthread_mm_view(), mm_view(2));
    let sigign =
        util::status_field("2", "SigIgn").and_then(|s| u64::from_str_radix(s.trim(), 16).ok());
    f.add("sigign", km::kthreadd_sigign(), sigign);
    f.done()
}

pub fn children(_: &Ctx) -> Result<Check, Abort> {
    need_kthreadd()?;
    let all = other_kthreads();
    if all.is_empty() {
        return Err(Abort::Skip(
            "no kernel thread other than kthreadd is visible in /proc".into(),
        ));
    }
    let mut f = Facts::new();
    let want = km::kthread_ppid();
    let wrong: Vec<(i32, i64)> = all
        .iter()
        .copied()
        .filter(|&(_, ppid)| ppid != want.value as i64)
        .collect();
    f.add(
        "ppid_not_kthreadd",
        Expect {
            value: Vec::<(i32, i64)>::new(),
            rule: want.rule,
        },
        wrong,
    );
    let mm = km::kthread_mm_view();
    let odd: Vec<(i32, MmView)> = all
        .iter()
        .filter_map(|&(p, _)| Some((p, mm_view(p)?)))
        .filter(|(_, v)| *v != mm.value)
        .collect();
    f.add(
        "mm_not_empty",
        Expect {
            value: Vec::<(i32, MmView)>::new(),
            rule: mm.rule,
        },
        odd,
    );
    let mut c = f.done()?;
    c.note = Some(format!("{} kernel threads besides kthreadd", all.len()));
    Ok(c)
}

pub fn untouchable(_: &Ctx) -> Result<Check, Abort> {
    need_kthreadd()?;
    let caps = forklore_observe::effective_caps();
    let mut f = Facts::new();
    // PTRACE_SEIZE: refused for kthreadd and for another kernel thread.
    let kt = AttachFacts {
        kthread: true,
        same_creds: util::uid() == 0 && nix::unistd::getgid().as_raw() == 0,
        cap_sys_ptrace: caps.has(cap::CAP_SYS_PTRACE),
        ..Default::default()
    };
    let seize = |pid: i32| outcome(pt::ptrace_seize(pid, 0).err().map(|e| Errno(e.raw())));
    f.add(
        "kthreadd/ptrace_seize",
        named(pm::attach_result(&kt)),
        seize(2),
    );
    if let Some(&(other, _)) = other_kthreads().first() {
        f.add(
            "other/ptrace_seize",
            named(pm::attach_result(&kt)),
            seize(other),
        );
    }
    // kill: root's ids match kthreadd's; otherwise CAP_KILL decides.
    let permitted = util::euid() == 0 || util::uid() == 0 || caps.has(cap::CAP_KILL);
    let kthreadd = nix::unistd::Pid::from_raw(2);
    f.add(
        "kthreadd/kill_0",
        named(km::kill_kthreadd(permitted)),
        errno_of(nix::sys::signal::kill(kthreadd, None)),
    );
    let start = util::stat_number(2, 22);
    let sigign =
        util::status_field("2", "SigIgn").and_then(|s| u64::from_str_radix(s.trim(), 16).ok());
    let sigkill_ignored = sigign.is_some_and(|m| m & (1 << (9 - 1)) != 0);
    let mut note = None;
    let expect = km::kill_kthreadd(permitted);
    if expect.value.is_some() || sigkill_ignored {
        f.add(
            "kthreadd/kill_sigkill",
            named(expect),
            errno_of(nix::sys::signal::kill(
                kthreadd,
                nix::sys::signal::Signal::SIGKILL,
            )),
        );
    } else {
        note = Some(format!(
            "SIGKILL not sent: /proc/2/status SigIgn {sigign:x?} does not show it ignored"
        ));
    }
    let alive = util::proc_state(2).is_some_and(|s| s != 'Z' && s != 'X')
        && util::stat_number(2, 22) == start;
    f.add("kthreadd/alive_after", km::kthreadd_survives(), alive);
    let mut c = f.done()?;
    c.note = note;
    Ok(c)
}
