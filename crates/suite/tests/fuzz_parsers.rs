//! Seeded generator tests for the value parsers, in process: flag
//! expressions and signals (forklore-model `parse_flags` / `parse_signal`),
//! kernel versions, capability names, and every request and context option
//! (`RequestOptions::build`, `ContextOptions::build`).
//!
//! Properties, for every generated input:
//! - the parser never panics;
//! - an error is one non-empty line without control characters (it is
//!   printed as `forklore: <error>` and exit 2);
//! - where a printer exists, its output parses back to the same value
//!   (`format_flags`, `format_legacy_clone_arg`, `signal_name`,
//!   `KernelVersion`'s Display, `cap_name`, `RequestOptions::from_request`).
//!
//! The generator is a fixed-seed splitmix64: a failure names its input and
//! reproduces on every run. `FORKLORE_FUZZ_SEED` picks another seed,
//! `FORKLORE_FUZZ_CASES` the number of cases per parser (default 4000).

use forklore_model::flags::{
    format_flags, format_legacy_clone_arg, parse_flags, parse_signal, signal_name, FLAG_NAMES,
    SIGNAL_NAMES,
};
use forklore_model::{Caps, Context, KernelVersion};
use forklore_suite::input::{cap_name, parse_cap, ContextOptions, RequestOptions};
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

/// splitmix64: small, fast, and the same sequence everywhere.
/// Interior state so that `r.case(r.pick(..))` borrows `r` only shared.
struct Rng(std::cell::Cell<u64>);

impl Rng {
    fn new(stream: u64) -> Rng {
        let seed = std::env::var("FORKLORE_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x5eed_f0c4_c10e_2026);
        Rng(std::cell::Cell::new(
            seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        ))
    }
    fn next(&self) -> u64 {
        let mut z = self.0.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.0.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    fn chance(&self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    /// Random ASCII case.
    fn case(&self, s: &str) -> String {
        s.chars()
            .map(|c| {
                if self.chance(50) {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect()
    }
    /// A number as the parsers see it: decimal or hex, sometimes padded.
    fn numeral(&self, v: u64) -> String {
        let s = match self.below(4) {
            0 => format!("{v:#x}"),
            1 => format!("{v:#X}").replacen("0X", "0x", 1),
            _ => v.to_string(),
        };
        if self.chance(10) {
            format!(" {s} ")
        } else {
            s
        }
    }
    /// An interesting u64: small, a single bit, a boundary, or anything.
    fn number(&self) -> u64 {
        match self.below(6) {
            0 => self.next() % 300,
            1 => 1 << self.below(64),
            2 => self.pick(&[
                0,
                1,
                u64::MAX,
                u64::MAX - 1,
                u32::MAX as u64,
                i32::MAX as u64,
                1 << 32,
                88,
                64,
                65,
            ]),
            _ => self.next(),
        }
    }
}

fn cases() -> usize {
    std::env::var("FORKLORE_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4000)
}

/// Text that is hostile to a parser: numbers that do not fit, signs,
/// exponents, non-ASCII digits, control characters, emptiness, length.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\0",
    "\x1b[31m",
    "-",
    "+",
    "-1",
    "+1",
    "-0",
    "0",
    "00",
    "0x",
    "0X",
    "0x-1",
    "0xg",
    "0b101",
    "0o17",
    "1e9",
    "1.5",
    ".",
    "..",
    ":",
    "::",
    "1_000",
    "18446744073709551615",
    "18446744073709551616",
    "0xffffffffffffffff",
    "0x1ffffffffffffffff",
    "99999999999999999999999999999999",
    "4294967295",
    "4294967296",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "٣",
    "１２",
    "é",
    "💥",
    "\u{202e}",
    "\u{feff}1",
    "NaN",
    "inf",
    "null",
    "None",
    "SIG",
    "SIGRTMIN+",
    "SIGRTMIN+-1",
    "SIGRTMIN+18446744073709551615",
    "SIGRTMIN+18446744073709551616",
    "SIGRTMIN+31",
    "SIGRTMAX-1",
    "SIGRT1",
    "CLONE_",
    "clone_clone_vm",
    "|",
    ",",
    "||",
    ",,",
    "truncated:",
    "truncated:-1",
    "self,",
    "a:b:c",
];

fn hostile(r: &mut Rng) -> String {
    match r.below(10) {
        0 => "x".repeat(1 + r.below(5000)),
        1 => {
            // Random code points, printable or not.
            (0..1 + r.below(12))
                .map(|_| char::from_u32(r.next() as u32 % 0x11_0000).unwrap_or('\u{fffd}'))
                .collect()
        }
        2 => r.numeral(r.number().wrapping_neg()),
        _ => r.pick(HOSTILE).to_string(),
    }
}

/// Every way a panic or a bad error message can show up, with its input.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn check<T: Debug, E: std::fmt::Display>(
        &mut self,
        what: &str,
        input: &dyn Debug,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Option<T> {
        match catch(f) {
            Err(p) => {
                let msg = panic_message(&*p);
                self.0.push(format!("{what}({input:?}) panicked: {msg}"));
                None
            }
            Ok(Err(e)) => {
                let m = e.to_string();
                if m.trim().is_empty() || m.chars().any(char::is_control) {
                    self.0
                        .push(format!("{what}({input:?}): error is not one line: {m:?}"));
                }
                None
            }
            Ok(Ok(v)) => Some(v),
        }
    }
    fn fail(&mut self, msg: String) {
        self.0.push(msg);
    }
    /// Long generated inputs are cut for the report (the seed reproduces them).
    fn shorten(m: &str) -> String {
        match m.char_indices().nth(400) {
            Some((i, _)) => format!("{}…", &m[..i]),
            None => m.to_string(),
        }
    }
    fn assert_none(self, what: &str, n: usize) {
        if self.0.is_empty() {
            eprintln!("{what}: {n} cases, 0 violations");
            return;
        }
        let distinct: std::collections::BTreeSet<&String> = self.0.iter().collect();
        let mut seen = std::collections::BTreeSet::new();
        let shown: Vec<_> = self.0.iter().filter(|m| seen.insert(*m)).take(40).collect();
        panic!(
            "{what}: {} violations in {n} cases ({} distinct); first ones:\n  {}",
            self.0.len(),
            distinct.len(),
            shown
                .iter()
                .map(|s| Findings::shorten(s))
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
}

thread_local! {
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f`, catching a panic without the default hook's message: each is
/// reported as a finding instead (a test's own failure still prints).
fn catch<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(|c| c.get()) {
                default(info)
            }
        }))
    });
    CATCHING.with(|c| c.set(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(false));
    r
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// A flag expression built from known pieces, with the value it means.
fn valid_flag_expr(r: &mut Rng) -> (String, u64, Option<u64>) {
    let mut toks = Vec::new();
    let mut bits = 0;
    for _ in 0..r.below(6) {
        if r.chance(75) {
            let (name, bit) = r.pick(FLAG_NAMES);
            bits |= bit;
            let prefix = if r.chance(50) { "CLONE_" } else { "" };
            toks.push(r.case(&format!("{prefix}{name}")));
        } else {
            let v = r.number();
            bits |= v;
            toks.push(r.numeral(v));
        }
    }
    let mut sig = None;
    if r.chance(30) {
        let (name, v) = r.pick(SIGNAL_NAMES);
        sig = Some(v);
        let at = r.below(toks.len() + 1);
        toks.insert(at, r.case(name));
    }
    let mut s = String::new();
    for (i, t) in toks.iter().enumerate() {
        if i > 0 {
            s.push_str(r.pick(&["|", ",", " | ", ", ", "|\t"]));
        }
        s.push_str(t);
    }
    (s, bits, sig)
}

/// Anything: valid pieces, hostile pieces, joined by separators or not.
fn any_flag_expr(r: &mut Rng) -> String {
    let mut s = String::new();
    for i in 0..1 + r.below(5) {
        if i > 0 && r.chance(80) {
            s.push_str(r.pick(&["|", ",", " ", "||", ""]));
        }
        match r.below(4) {
            0 => s.push_str(&valid_flag_expr(r).0),
            1 => s.push_str(&r.case(r.pick(SIGNAL_NAMES).0)),
            _ => s.push_str(&hostile(r)),
        }
    }
    s
}

#[test]
fn flag_expressions() {
    let n = cases();
    let r = &mut Rng::new(1);
    let mut f = Findings::default();
    for _ in 0..n {
        let s = any_flag_expr(r);
        f.check("parse_flags", &s, || parse_flags(&s));
        let (s, bits, sig) = valid_flag_expr(r);
        if let Some(p) = f.check("parse_flags", &s, || parse_flags(&s)) {
            if p.flags != bits || p.exit_signal != sig {
                f.fail(format!(
                    "parse_flags({s:?}) = {p:?}, expected flags {bits:#x} signal {sig:?}"
                ));
            }
        } else {
            f.fail(format!("parse_flags({s:?}) refused a valid expression"));
        }
    }
    f.assert_none("flag expressions", 2 * n);
}

#[test]
fn flag_printers_round_trip() {
    let n = cases();
    let r = &mut Rng::new(2);
    let mut f = Findings::default();
    for _ in 0..n {
        // Bits: any word, or a handful of known flags.
        let bits = if r.chance(50) {
            r.number()
        } else {
            (0..r.below(8)).fold(0, |b, _| b | r.pick(FLAG_NAMES).1)
        };
        let text = format_flags(bits);
        if let Some(p) = f.check("parse_flags", &text, || parse_flags(&text)) {
            if p.flags != bits || p.exit_signal.is_some() {
                f.fail(format!(
                    "format_flags({bits:#x}) = {text:?} parses as {p:?}"
                ));
            }
        }
        // Legacy clone word: flags plus the exit-signal byte.
        let raw = (bits & !0xff) | (r.next() % 0x100);
        let text = format_legacy_clone_arg(raw);
        if let Some(p) = f.check("parse_flags", &text, || parse_flags(&text)) {
            let back = p.flags | p.exit_signal.unwrap_or(0);
            if back != raw {
                f.fail(format!(
                    "format_legacy_clone_arg({raw:#x}) = {text:?} parses back as {back:#x}"
                ));
            }
        } else {
            f.fail(format!(
                "format_legacy_clone_arg({raw:#x}) = {text:?} does not parse"
            ));
        }
    }
    f.assert_none("flag printers", 2 * n);
}

#[test]
fn signals() {
    let n = cases();
    let r = &mut Rng::new(3);
    let mut f = Findings::default();
    // Every number a signal printer can produce names itself.
    for sig in 0..=300u64 {
        let name = signal_name(sig);
        match parse_signal(&name) {
            Some(v) if v == sig => {}
            other => f.fail(format!(
                "signal_name({sig}) = {name:?} parses back as {other:?}"
            )),
        }
    }
    for (name, v) in SIGNAL_NAMES {
        let bare = name.strip_prefix("SIG").unwrap();
        for s in [r.case(name), r.case(bare)] {
            if parse_signal(&s) != Some(*v) {
                f.fail(format!("parse_signal({s:?}) != Some({v})"));
            }
        }
    }
    for _ in 0..n {
        let s = match r.below(4) {
            0 => format!(
                "{}{}",
                r.case(r.pick(&["SIGRTMIN", "rtmin", "SIGRTMAX", "sig"])),
                hostile(r)
            ),
            1 => format!("SIGRTMIN+{}", r.number()),
            2 => r.numeral(r.number()),
            _ => hostile(r),
        };
        if let Err(p) = catch(|| parse_signal(&s)) {
            let msg = panic_message(&*p);
            f.fail(format!("parse_signal({s:?}) panicked: {msg}"));
        }
    }
    f.assert_none("signals", n);
}

#[test]
fn kernel_versions() {
    let n = cases();
    let r = &mut Rng::new(4);
    let mut f = Findings::default();
    for _ in 0..n {
        // Valid: X.Y or X.Y.Z with a uname suffix, every part a u32.
        let part = |r: &mut Rng| {
            if r.chance(20) {
                r.next() as u32
            } else {
                (r.next() % 30) as u32
            }
        };
        let (a, b, c) = (part(r), part(r), part(r));
        let three = r.chance(50);
        let suffix = r.pick(&[
            "",
            "",
            "-fc-v669",
            "-28-amd64",
            "+deb12-amd64",
            "_x",
            "~rc1",
        ]);
        let s = if three {
            format!("{a}.{b}.{c}{suffix}")
        } else {
            format!("{a}.{b}{suffix}")
        };
        let want = KernelVersion::new(a, b, if three { c } else { 0 });
        match f.check("KernelVersion", &s, || s.parse::<KernelVersion>()) {
            Some(v) if v == want => {
                let back = v.to_string();
                if back.parse::<KernelVersion>() != Ok(v) {
                    f.fail(format!(
                        "{v:?} prints as {back:?}, which does not parse back"
                    ));
                }
            }
            other => f.fail(format!(
                "KernelVersion({s:?}) = {other:?}, expected {want:?}"
            )),
        }
        // Anything: parts that overflow u32, hostile text, odd joins.
        let mut s = String::new();
        for i in 0..1 + r.below(5) {
            if i > 0 {
                s.push_str(r.pick(&[".", ".", "-", "..", ""]));
            }
            match r.below(3) {
                0 => s.push_str(&r.number().to_string()),
                1 => s.push_str(&(r.next() % 20).to_string()),
                _ => s.push_str(&hostile(r)),
            }
        }
        if let Some(v) = f.check("KernelVersion", &s, || s.parse::<KernelVersion>()) {
            if v.to_string().parse::<KernelVersion>() != Ok(v) {
                f.fail(format!("KernelVersion({s:?}) = {v:?} does not print back"));
            }
        }
    }
    f.assert_none("kernel versions", 2 * n);
}

#[test]
fn capability_names() {
    let n = cases();
    let r = &mut Rng::new(5);
    let mut f = Findings::default();
    let known = [
        "CHOWN",
        "DAC_OVERRIDE",
        "KILL",
        "SETGID",
        "SETUID",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_ADMIN",
        "SYS_RESOURCE",
        "CHECKPOINT_RESTORE",
    ];
    for _ in 0..n {
        let name = r.pick(&known);
        let s = if r.chance(50) {
            r.case(&format!("CAP_{name}"))
        } else {
            r.case(name)
        };
        match f.check("parse_cap", &s, || parse_cap(&s)) {
            Some(c) => {
                let printed = cap_name(c);
                if printed != format!("CAP_{name}") || parse_cap(&printed) != Ok(c) {
                    f.fail(format!("parse_cap({s:?}) = {c}, printed {printed:?}"));
                }
            }
            None => f.fail(format!("parse_cap({s:?}) refused a known capability")),
        }
        let s = if r.chance(30) {
            format!("CAP_{}", hostile(r))
        } else {
            hostile(r)
        };
        f.check("parse_cap", &s, || parse_cap(&s));
    }
    f.assert_none("capability names", 2 * n);
}

fn pointer(r: &mut Rng) -> String {
    if r.chance(70) {
        r.case(r.pick(&["valid", "null", "unmapped", "kernel", "0"]))
    } else {
        hostile(r)
    }
}

fn maybe(r: &mut Rng, percent: u64, g: impl FnOnce(&mut Rng) -> String) -> Option<String> {
    r.chance(percent).then(|| g(r))
}

fn num_or_hostile(r: &mut Rng) -> String {
    if r.chance(70) {
        r.numeral(r.number())
    } else {
        hostile(r)
    }
}

fn set_tid_list(r: &mut Rng) -> String {
    let entries: Vec<String> = (0..1 + r.below(40))
        .map(|_| match r.below(6) {
            0 => r.case(r.pick(&["self", "unused", "pid_max", "pid-max"])),
            1 => ((r.next() as i32) % 100_000).to_string(),
            2 => (r.next() as i32).to_string(),
            3 => format!(" {} ", r.next() % 50),
            4 => r.number().to_string(),
            _ => hostile(r),
        })
        .collect();
    entries.join(if r.chance(90) { "," } else { ", " })
}

fn request_options(r: &mut Rng) -> RequestOptions {
    let syscall = if r.chance(85) {
        r.case(r.pick(&["fork", "vfork", "clone", "clone3", "clone3"]))
    } else {
        hostile(r)
    };
    let clone3 = syscall.eq_ignore_ascii_case("clone3");
    // clone3 fields are mostly given with clone3 (they are refused otherwise).
    let p3 = if clone3 { 35 } else { 4 };
    RequestOptions {
        syscall,
        flags: if r.chance(70) {
            valid_flag_expr(r).0
        } else if r.chance(50) {
            String::new()
        } else {
            any_flag_expr(r)
        },
        exit_signal: maybe(r, 25, |r| {
            if r.chance(60) {
                r.case(r.pick(SIGNAL_NAMES).0)
            } else {
                num_or_hostile(r)
            }
        }),
        size: maybe(r, p3, |r| {
            if r.chance(50) {
                r.pick(&["64", "80", "88", "96", "4096", "4097", "0"])
                    .to_string()
            } else {
                num_or_hostile(r)
            }
        }),
        args_mem: maybe(r, p3, |r| match r.below(3) {
            0 => r.case(r.pick(&["valid", "null", "unmapped"])),
            1 => format!("{}{}", r.case("truncated:"), num_or_hostile(r)),
            _ => hostile(r),
        }),
        tail_nonzero_at: maybe(r, p3, |r| {
            if r.chance(50) {
                (r.next() % 200).to_string()
            } else {
                num_or_hostile(r)
            }
        }),
        stack: maybe(r, 15, |r| match r.below(3) {
            0 => r.case(r.pick(&["fresh", "inherit", "0"])),
            1 => format!("{}:{}", num_or_hostile(r), num_or_hostile(r)),
            _ => hostile(r),
        }),
        tls: maybe(r, 15, |r| {
            if r.chance(30) {
                r.case("valid")
            } else {
                num_or_hostile(r)
            }
        }),
        parent_tid: maybe(r, 15, pointer),
        child_tid: maybe(r, 15, pointer),
        pidfd: maybe(r, p3, |r| {
            if r.chance(20) {
                r.case("parent-tid")
            } else {
                pointer(r)
            }
        }),
        set_tid: maybe(r, p3, set_tid_list),
        set_tid_size: maybe(r, p3, num_or_hostile),
        set_tid_ptr: maybe(r, p3, pointer),
        cgroup: maybe(r, p3, |r| {
            if r.chance(60) {
                r.case(r.pick(&[
                    "zero", "not-open", "file", "dir", "v1", "v2-root", "v2-child",
                ]))
            } else {
                num_or_hostile(r)
            }
        }),
    }
}

#[test]
fn request_options_build() {
    let n = cases();
    let r = &mut Rng::new(6);
    let mut f = Findings::default();
    let mut built = 0;
    for _ in 0..n {
        let o = request_options(r);
        let Some(req) = f.check("RequestOptions::build", &o, || o.build()) else {
            continue;
        };
        built += 1;
        // The reproducer is the inverse of build.
        let back = RequestOptions::from_request(&req);
        let argv = back.to_argv();
        if argv.iter().any(|a| a.is_empty()) {
            f.fail(format!("to_argv of {o:?} has an empty argument: {argv:?}"));
        }
        match f.check("RequestOptions::build", &back, || back.build()) {
            Some(again) if again == req => {}
            other => f.fail(format!(
                "{o:?} builds {req:?}; its reproducer {back:?} builds {other:?}"
            )),
        }
    }
    // A generator that never reaches a valid request tests nothing.
    assert!(built * 10 > n, "only {built} of {n} requests were valid");
    f.assert_none("request options", n);
}

#[test]
fn context_options_build() {
    let n = cases();
    let r = &mut Rng::new(7);
    let mut f = Findings::default();
    let hosts = [
        Context::root(KernelVersion::new(6, 18, 0), Caps::all()),
        Context::user(KernelVersion::new(5, 3, 0)),
    ];
    let mut built = 0;
    for _ in 0..n {
        let o = ContextOptions {
            kernel: maybe(r, 50, |r| {
                if r.chance(60) {
                    format!("{}.{}", r.next() % 10, r.next() % 30)
                } else {
                    hostile(r)
                }
            }),
            arch: maybe(r, 30, |r| {
                if r.chance(70) {
                    r.case(r.pick(&["x86_64", "aarch64", "arm64", "amd64"]))
                } else {
                    hostile(r)
                }
            }),
            as_: if r.chance(85) {
                r.case(r.pick(&["root", "user"]))
            } else {
                hostile(r)
            },
            drop_caps: maybe(r, 30, |r| {
                (0..1 + r.below(4))
                    .map(|_| {
                        if r.chance(70) {
                            r.case(r.pick(&["CAP_SYS_ADMIN", "sys_admin", "kill", "setuid"]))
                        } else {
                            hostile(r)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            pidns_init: r.chance(20),
            unshared_pidns: r.chance(20),
            userns_level: r.chance(20).then(|| r.next() as u32 % 40),
            chrooted: r.chance(20),
            nproc: maybe(r, 30, |r| match r.below(3) {
                0 => format!("{}:{}", r.next() % 10, r.next() % 10),
                1 => format!("{}:{}", num_or_hostile(r), num_or_hostile(r)),
                _ => hostile(r),
            }),
            userns_limit_reached: r.chance(20),
            seccomp: r.chance(20),
            traced: r.chance(20),
        };
        let host = &hosts[r.below(hosts.len())];
        if f.check("ContextOptions::build", &o, || o.build(host))
            .is_some()
        {
            built += 1;
        }
    }
    assert!(built * 10 > n, "only {built} of {n} contexts were valid");
    f.assert_none("context options", n);
}
