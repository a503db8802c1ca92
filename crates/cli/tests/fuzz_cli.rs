//! The whole command line as a user runs it: the built `forklore` binary,
//! spawned with thousands of generated argument vectors (fixed seed):
//! every subcommand and the hidden ones, known and unknown options, huge
//! numbers, empty strings, non-UTF-8 bytes, over-long values, and odd
//! output paths (a directory, a FIFO, symlinks, a socket, a missing
//! directory, a 300-byte name), with stdout sometimes /dev/full or closed.
//!
//! Checked for every invocation:
//! - no panic (exit 101 or "panicked" on stderr) and no hang (per-run
//!   timeout; the process group is killed and the hang counted);
//! - the exit code is a documented one (0, 1, 2, 3, 4, 130, and 141 for a closed pipe);
//! - exit 2 comes with exactly one non-empty line on stderr;
//! - stdout unwritable (/dev/full, closed) is a non-zero exit with a message;
//! - every special file named as a path is the same file afterwards (kind
//!   and inode): nothing replaces a FIFO, socket, symlink or directory;
//! - nothing is left behind: the run's private TMPDIR is empty and no
//!   process carrying the run's tag in its environment survives it.
//!
//! Cheap by construction: `check` always `--quick` with a filter of a few
//! cases, `bench` only with `--iterations` of at most 50 (or refused),
//! `probe` with one small request.
//!
//! Budget: `FORKLORE_FUZZ_CASES` (default 2000), `FORKLORE_FUZZ_SEED`,
//! `FORKLORE_FUZZ_TIMEOUT` seconds per run (default 20),
//! `FORKLORE_FUZZ_JOBS` parallel runs (default 2). Device nodes (/dev/null,
//! /dev/full) as `--output` are only tried with `FORKLORE_FUZZ_DEVICES=1`:
//! a build that replaces them would replace the host's device node.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_forklore");
const DOCUMENTED_EXITS: [i32; 7] = [0, 1, 2, 3, 4, 130, 141];

/// splitmix64 with interior state (`r.pick(..)` inside `r.arg(..)`).
struct Rng(std::cell::Cell<u64>);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(std::cell::Cell::new(seed))
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
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Values no option should choke on.
fn hostile(r: &Rng) -> OsString {
    match r.below(12) {
        0 => OsString::from_vec(vec![0xff]),
        1 => OsString::from_vec(b"abc\x80def".to_vec()),
        2 => OsString::from_vec(vec![0xc3, 0x28, b'/', 0xfe]),
        3 => "a".repeat(4097 + r.below(3000)).into(),
        _ => r
            .pick(&[
                "",
                " ",
                "-1",
                "-",
                "--",
                "0",
                "1e9",
                "18446744073709551615",
                "18446744073709551616",
                "4294967296",
                "0x",
                "\n",
                "a\nb",
                "\x1b[2J",
                "💥",
                "=",
                "SIGRTMIN+18446744073709551615",
            ])
            .into(),
    }
}

/// A path argument: a kind of file the test made, or an odd name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PathKind {
    NewName,
    Regular,
    Dir,
    DirSlash,
    Fifo,
    Socket,
    Symlink,
    Dangling,
    DirLink,
    MissingDir,
    LongName,
    OverPathMax,
    Empty,
    DevNull,
    DevFull,
    NonUtf8,
    GarbageJson,
}

const PATH_KINDS: &[PathKind] = &[
    PathKind::NewName,
    PathKind::NewName,
    PathKind::Regular,
    PathKind::Dir,
    PathKind::DirSlash,
    PathKind::Fifo,
    PathKind::Socket,
    PathKind::Symlink,
    PathKind::Dangling,
    PathKind::DirLink,
    PathKind::MissingDir,
    PathKind::LongName,
    PathKind::OverPathMax,
    PathKind::Empty,
    PathKind::DevNull,
    PathKind::DevFull,
    PathKind::NonUtf8,
    PathKind::GarbageJson,
];

/// The files one run works with, made fresh in its own directory.
struct Sandbox {
    dir: PathBuf,
    _sock: Option<std::os::unix::net::UnixListener>,
}

impl Sandbox {
    fn new(dir: PathBuf) -> Sandbox {
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("regular"), "old\n").unwrap();
        fs::write(dir.join("garbage.json"), "{not json").unwrap();
        fs::create_dir(dir.join("dir")).unwrap();
        let fifo = dir.join("fifo");
        let ok = Command::new("mkfifo").arg(&fifo).status();
        assert!(ok.map(|s| s.success()).unwrap_or(false), "mkfifo failed");
        let sock = std::os::unix::net::UnixListener::bind(dir.join("sock")).ok();
        std::os::unix::fs::symlink(dir.join("regular"), dir.join("link")).unwrap();
        std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling")).unwrap();
        std::os::unix::fs::symlink(dir.join("dir"), dir.join("dirlink")).unwrap();
        fs::create_dir(dir.join("tmp")).unwrap();
        Sandbox { dir, _sock: sock }
    }

    fn path(&self, k: PathKind) -> OsString {
        let d = &self.dir;
        match k {
            PathKind::NewName => d.join("out.report").into(),
            PathKind::Regular => d.join("regular").into(),
            PathKind::Dir => d.join("dir").into(),
            PathKind::DirSlash => {
                let mut s = d.join("dir").into_os_string();
                s.push("/");
                s
            }
            PathKind::Fifo => d.join("fifo").into(),
            PathKind::Socket => d.join("sock").into(),
            PathKind::Symlink => d.join("link").into(),
            PathKind::Dangling => d.join("dangling").into(),
            PathKind::DirLink => d.join("dirlink").into(),
            PathKind::MissingDir => d.join("missing/out").into(),
            PathKind::LongName => d.join("n".repeat(300)).into(),
            PathKind::OverPathMax => d.join("x/".repeat(2100)).join("out").into(),
            PathKind::Empty => OsString::new(),
            PathKind::DevNull => "/dev/null".into(),
            PathKind::DevFull => "/dev/full".into(),
            PathKind::NonUtf8 => {
                let mut v = d.as_os_str().as_bytes().to_vec();
                v.extend_from_slice(b"/out\xff\xfe");
                OsString::from_vec(v)
            }
            PathKind::GarbageJson => d.join("garbage.json").into(),
        }
    }

    /// (kind, inode, rdev) of the special files, by lstat.
    fn specials(&self) -> BTreeMap<&'static str, Option<(u32, u64, u64)>> {
        let mut m = BTreeMap::new();
        for (name, p) in [
            ("dir", self.dir.join("dir")),
            ("fifo", self.dir.join("fifo")),
            ("socket", self.dir.join("sock")),
            ("symlink", self.dir.join("link")),
            ("dangling symlink", self.dir.join("dangling")),
            ("symlink to dir", self.dir.join("dirlink")),
            ("/dev/null", "/dev/null".into()),
            ("/dev/full", "/dev/full".into()),
        ] {
            let md = fs::symlink_metadata(&p).ok();
            m.insert(
                name,
                md.map(|md| (md.mode() & 0o170000, md.ino(), md.rdev())),
            );
        }
        m
    }
}

/// How the run's stdout is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stdout {
    Captured,
    DevFull,
    Closed,
}

struct Case {
    argv: Vec<OsString>,
    stdout: Stdout,
    stderr_full: bool,
    /// The argv prints something to stdout when it succeeds.
    prints: bool,
    /// Device nodes named as output paths.
    devices: bool,
    /// Why issue 11 says this argv is bad input (exit 2), if it is.
    refuse: Option<&'static str>,
}

/// Output paths that must be refused up front: anything but a regular
/// file or a new name in a writable directory.
fn refused_output(k: PathKind) -> bool {
    !matches!(
        k,
        PathKind::NewName | PathKind::Regular | PathKind::NonUtf8 | PathKind::GarbageJson
    )
}

fn os(s: &str) -> OsString {
    s.into()
}

/// A value for an option: usually a plausible one, sometimes hostile.
fn val(r: &Rng, good: &[&str]) -> OsString {
    if r.chance(80) {
        os(r.pick(good))
    } else {
        hostile(r)
    }
}

fn path_arg(r: &Rng, sb: &Sandbox, used: &mut Vec<PathKind>) -> OsString {
    let k = r.pick(PATH_KINDS);
    used.push(k);
    sb.path(k)
}

const FLAGS: &[&str] = &[
    "",
    "VM|VFORK|SIGCHLD",
    "THREAD|SIGHAND|VM",
    "0x100",
    "CLONE_PIDFD",
    "NEWPID",
    "SIGCHLD",
    "SIGRTMIN+2",
    "0xffffffffffffffff",
    "0x1ffffffffffffffff",
    "VM||FS",
    "BOGUS",
];

fn explain_or_probe_request(r: &Rng, a: &mut Vec<OsString>) {
    let syscall = r.pick(&["fork", "vfork", "clone", "clone3", "clone3", "spawn"]);
    if r.chance(90) {
        a.extend([os("--syscall"), val(r, &[syscall])]);
    }
    let clone3 = syscall == "clone3";
    let opts: &[(&str, &[&str])] = &[
        ("--flags", FLAGS),
        (
            "--exit-signal",
            &["SIGCHLD", "17", "0", "65", "300", "SIGRTMAX", "usr1"],
        ),
        (
            "--size",
            &["64", "88", "96", "4097", "0", "18446744073709551615"],
        ),
        (
            "--args-mem",
            &["valid", "null", "unmapped", "truncated:8", "truncated:-1"],
        ),
        (
            "--tail-nonzero-at",
            &["90", "0", "200", "18446744073709551615"],
        ),
        (
            "--stack",
            &["fresh", "inherit", "0:0", "0x1000:0x1000", "1:"],
        ),
        ("--tls", &["valid", "0", "0xffffffffffffffff"]),
        ("--parent-tid", &["valid", "null", "unmapped", "kernel"]),
        ("--child-tid", &["valid", "null", "unmapped", "kernel"]),
        ("--pidfd", &["valid", "null", "parent-tid", "kernel"]),
        (
            "--set-tid",
            &["1", "self", "unused", "pid_max", "-5", "1,2,3", "1,,2"],
        ),
        ("--set-tid-size", &["0", "1", "33", "18446744073709551615"]),
        ("--set-tid-ptr", &["valid", "null", "unmapped"]),
        (
            "--cgroup",
            &["zero", "not-open", "file", "dir", "v1", "v2-root", "999"],
        ),
    ];
    for (name, good) in opts {
        let p = if clone3 || r.chance(10) { 12 } else { 3 };
        if r.chance(p) {
            a.push(os(name));
            a.push(val(r, good));
        }
    }
}

fn gen_case(r: &Rng, sb: &Sandbox, used: &mut Vec<PathKind>) -> Case {
    let mut a: Vec<OsString> = Vec::new();
    let mut prints = false;
    match r.below(100) {
        // explain: pure, cheap, many options.
        0..=29 => {
            a.push(os("explain"));
            explain_or_probe_request(r, &mut a);
            let ctx: &[(&str, &[&str])] = &[
                (
                    "--kernel",
                    &["6.18", "5.3", "6.1.0-28-amd64", "6", "4294967296.1"],
                ),
                ("--as", &["root", "user", "admin"]),
                (
                    "--drop-caps",
                    &["sys_admin", "CAP_KILL,setuid", "cap_63", "63"],
                ),
                ("--userns-level", &["1", "0", "4294967296", "-1"]),
                ("--nproc", &["1:1", "0:0", "1", "18446744073709551616:1"]),
            ];
            for (name, good) in ctx {
                if r.chance(12) {
                    a.extend([os(name), val(r, good)]);
                }
            }
            for f in [
                "--pidns-init",
                "--unshared-pidns",
                "--chrooted",
                "--userns-limit-reached",
                "--seccomp",
                "--json",
            ] {
                if r.chance(8) {
                    a.push(os(f));
                }
            }
            prints = true;
        }
        // list
        30..=42 => {
            a.push(os("list"));
            // The full catalogue takes seconds in a debug build: mostly --quick.
            if r.chance(95) {
                a.push(os("--quick"));
            }
            for _ in 0..r.below(3) {
                match r.below(3) {
                    0 => a.push(os("--groups")),
                    1 => a.push(os("--contexts")),
                    _ => a.extend([
                        os("--filter"),
                        val(
                            r,
                            &["clone3-args/*", "nomatch", "[", "*/root", "lifecycle/*"],
                        ),
                    ]),
                }
            }
            prints = true;
        }
        // check: always --quick and a filter of a few cases, one context.
        43..=60 => {
            a.extend([os("check"), os("--quick")]);
            a.extend([
                os("--filter"),
                val(r, &["pointers/*", "cgroup/*", "set-tid/*", "nomatch", "["]),
            ]);
            a.extend([
                os("--contexts"),
                val(
                    r,
                    &[
                        "root",
                        "root",
                        "user",
                        "drop-cap-63",
                        "drop-cap-sys_admin",
                        "bogus",
                        "root,,user",
                    ],
                ),
            ]);
            if r.chance(40) {
                a.extend([os("--output"), path_arg(r, sb, used)]);
            } else {
                prints = true;
            }
            let opts: &[(&str, &[&str])] = &[
                ("--format", &["text", "json", "junit", "ktap", "xml"]),
                ("--jobs", &["1", "2", "0", "64", "18446744073709551615"]),
                ("--batch-size", &["1", "4096", "0", "18446744073709551615"]),
                (
                    "--batch-timeout",
                    &["1", "120", "0", "18446744073709551615"],
                ),
            ];
            for (name, good) in opts {
                if r.chance(20) {
                    a.extend([os(name), val(r, good)]);
                }
            }
            if r.chance(10) {
                a.push(os("--all-cases"));
            }
        }
        // probe: one small request, or a scenario.
        61..=70 => {
            a.push(os("probe"));
            if r.chance(25) {
                a.extend([
                    os("--scenario"),
                    val(r, &["lifecycle/wait/echild", "lifecycle/nope", ""]),
                ]);
            } else {
                explain_or_probe_request(r, &mut a);
            }
            if r.chance(40) {
                a.extend([
                    os("--context"),
                    val(
                        r,
                        &["root", "user", "drop-cap-63", "userns", "nproc-1", "bogus"],
                    ),
                ]);
            }
            if r.chance(30) {
                a.push(os("--json"));
            }
            prints = true;
        }
        // bench: at most 50 iterations, one run, no perf pass.
        71..=86 => {
            a.push(os("bench"));
            match r.below(10) {
                0 => a.push(os("--list-methods")),
                1 | 2 => {
                    a.push(os("--compare"));
                    a.push(path_arg(r, sb, used));
                    a.push(path_arg(r, sb, used));
                }
                _ => {
                    a.extend([os("--iterations"), val(r, &["1", "10", "50", "0"])]);
                    a.extend([os("--runs"), val(r, &["1", "1", "0"])]);
                    a.extend([os("--warmup"), val(r, &["0", "1"])]);
                    a.push(os("--no-perf"));
                    a.extend([
                        os("--method"),
                        val(
                            r,
                            &[
                                "fork",
                                "vfork",
                                "clone",
                                "thread",
                                "getpid",
                                "bogus",
                                "clone,fork",
                            ],
                        ),
                    ]);
                    if r.chance(30) {
                        a.extend([
                            os("--flags"),
                            val(
                                r,
                                &[
                                    "VM|VFORK",
                                    "SIGUSR1",
                                    "SIGSTOP",
                                    "SIGTSTP",
                                    "PARENT",
                                    "THREAD|SIGHAND|VM",
                                ],
                            ),
                        ]);
                    }
                    if r.chance(15) {
                        a.extend([os("--rss"), val(r, &["0", "0,1M", "64k", "-1", "1e9"])]);
                    }
                    if r.chance(15) {
                        a.extend([os("--pin"), val(r, &["0", "99999", "-1"])]);
                    }
                    if r.chance(20) {
                        a.extend([os("--output"), path_arg(r, sb, used)]);
                    }
                    if r.chance(10) {
                        a.extend([os("--plot"), path_arg(r, sb, used)]);
                    }
                    if r.chance(20) {
                        a.push(os("--json"));
                    }
                }
            }
            prints = a.iter().all(|x| x != "--compare");
        }
        // Hidden subcommands, with nothing on stdin.
        87..=90 => {
            a.push(os(r.pick(&["__probe", "__scenario"])));
            for _ in 0..r.below(3) {
                a.push(val(r, &["lifecycle/wait/echild", "bogus", "--json"]));
            }
        }
        // The top level: help, version, nothing, unknown commands.
        _ => {
            let top = r.pick(&[
                "",
                "--help",
                "-h",
                "--version",
                "-V",
                "help",
                "nope",
                "-x",
                "--",
                "-",
            ]);
            if !top.is_empty() {
                a.push(os(top));
            }
            if r.chance(30) {
                a.push(hostile(r));
            }
            prints = matches!(top, "--help" | "-h" | "--version" | "-V" | "help");
        }
    }
    // Noise: an unknown option, a stray value, a repeated option.
    if r.chance(8) {
        let at = r.below(a.len() + 1).max(1.min(a.len()));
        a.insert(
            at,
            os(r.pick(&["--bogus", "--json=maybe", "-q", "--quick=1"])),
        );
        prints = false;
    }
    if r.chance(6) {
        let at = r.below(a.len() + 1);
        a.insert(at, hostile(r));
        prints = false;
    }
    let stdout = match r.below(100) {
        0..=6 => Stdout::DevFull,
        7..=11 => Stdout::Closed,
        _ => Stdout::Captured,
    };
    let has = |x: &str| a.iter().any(|y| y == x);
    let pair = |o: &str, v: &str| a.windows(2).any(|w| w[0] == o && w[1] == v);
    let refuse = if has("--compare") {
        Some("--compare of files that are not reports")
    } else if used.iter().any(|k| refused_output(*k)) {
        Some("an output path that is not a regular file or a new name")
    } else if pair("--batch-timeout", "0") {
        Some("--batch-timeout 0")
    } else if pair("--jobs", "18446744073709551615") {
        Some("an absurd --jobs")
    } else if pair("--contexts", "drop-cap-63") {
        Some("an unknown capability number")
    } else if has("list")
        && pair("--filter", "nomatch")
        && a.iter().filter(|x| *x == "--filter").count() == 1
    {
        Some("a filter that matches nothing")
    } else {
        None
    };
    let devices = used
        .iter()
        .any(|k| matches!(k, PathKind::DevNull | PathKind::DevFull));
    Case {
        argv: a,
        stdout,
        stderr_full: r.chance(2),
        prints,
        devices,
        refuse,
    }
}

/// `argv` as a shell would need it: `$'..'` with escapes where needed,
/// over-long values shortened.
fn shell_quote(argv: &[OsString]) -> String {
    let mut out = vec!["forklore".to_string()];
    for a in argv {
        let b = a.as_bytes();
        let (b, tail) = if b.len() > 80 {
            (&b[..60], format!("…({} bytes)", b.len()))
        } else {
            (b, String::new())
        };
        let plain = !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_./:,=+*@%".contains(c));
        let q = if plain {
            String::from_utf8_lossy(b).into_owned()
        } else {
            let mut s = String::from("$'");
            for &c in b {
                match c {
                    b'\'' => s.push_str("\\'"),
                    b'\\' => s.push_str("\\\\"),
                    0x20..=0x7e => s.push(c as char),
                    _ => s.push_str(&format!("\\x{c:02x}")),
                }
            }
            s.push('\'');
            s
        };
        out.push(q + &tail);
    }
    out.join(" ")
}

/// Processes whose environment carries `tag` (descendants of one run).
fn tagged_processes(tag: &[u8]) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    let me = std::process::id() as i32;
    let Ok(rd) = fs::read_dir("/proc") else {
        return found;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(env) = fs::read(e.path().join("environ")) else {
            continue;
        };
        if env.split(|&c| c == 0).any(|kv| kv == tag) {
            let cmd = fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            found.push((pid, cmd.chars().take(120).collect()));
        }
    }
    found
}

struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    hung: bool,
    stderr: String,
    elapsed: Duration,
}

fn run_case(case: &Case, sb: &Sandbox, tag: &str, timeout: Duration) -> (Outcome, Vec<String>) {
    let mut problems = Vec::new();
    let tmp = sb.dir.join("tmp");
    let out_path = sb.dir.join("stdout");
    let err_path = sb.dir.join("stderr");
    let mut cmd = match case.stdout {
        Stdout::Closed => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg("exec \"$0\" \"$@\" >&-").arg(EXE);
            c
        }
        _ => Command::new(EXE),
    };
    cmd.args(&case.argv)
        .env("TMPDIR", &tmp)
        .env("FORKLORE_FUZZ_TAG", tag)
        .current_dir(&sb.dir)
        .stdin(Stdio::null())
        .process_group(0);
    match case.stdout {
        Stdout::DevFull => cmd.stdout(
            fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        ),
        _ => cmd.stdout(fs::File::create(&out_path).unwrap()),
    };
    if case.stderr_full {
        cmd.stderr(
            fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        );
    } else {
        cmd.stderr(fs::File::create(&err_path).unwrap());
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn forklore");
    let pid = child.id() as i32;
    let mut hung = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > timeout {
            hung = true;
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    // Anything of this run still alive after a grace period is left behind.
    let tagb = format!("FORKLORE_FUZZ_TAG={tag}").into_bytes();
    let mut left = tagged_processes(&tagb);
    let grace = Instant::now();
    while !left.is_empty() && grace.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
        left = tagged_processes(&tagb);
    }
    if !left.is_empty() {
        problems.push(format!(
            "left processes behind: {}",
            left.iter()
                .map(|(p, c)| format!("{p} ({c})"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for (p, _) in &left {
            // Ours (they carry this run's tag): end them by pid.
            let _ = Command::new("kill")
                .args(["-KILL", &p.to_string()])
                .status();
        }
    }
    let stray: Vec<String> = fs::read_dir(&tmp)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    if !stray.is_empty() {
        problems.push(format!("left in TMPDIR: {}", stray.join(", ")));
        let _ = Command::new("chattr").arg("-i").arg(&tmp).status();
        fix_perms_and_remove(&tmp);
        fs::create_dir_all(&tmp).unwrap();
    }
    let stderr = if case.stderr_full {
        String::new()
    } else {
        String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default()).into_owned()
    };
    (
        Outcome {
            code: status.code(),
            signal: status.signal(),
            hung,
            stderr,
            elapsed,
        },
        problems,
    )
}

fn fix_perms_and_remove(p: &Path) {
    if let Ok(rd) = fs::read_dir(p) {
        for e in rd.flatten() {
            let _ = fs::set_permissions(e.path(), fs::Permissions::from_mode(0o700));
        }
    }
    let _ = fs::remove_dir_all(p);
}

/// Properties of one finished run; each violation is (kind, detail).
fn judge(case: &Case, o: &Outcome) -> Vec<(String, String)> {
    let mut v = Vec::new();
    let first_err = o
        .stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let err_line: String = first_err.chars().take(200).collect();
    if o.hung {
        v.push(("hang (killed after the timeout)".into(), String::new()));
        return v;
    }
    if o.code == Some(101) || o.stderr.contains("panicked") {
        let msg = o
            .stderr
            .lines()
            .find(|l| l.contains("panicked"))
            .unwrap_or(first_err);
        let at = match msg.split("panicked at ").nth(1) {
            Some(loc) => loc.trim_end_matches(':'),
            None if case.stderr_full => "? (exit 101; stderr was /dev/full)",
            None => "? (exit 101)",
        };
        v.push((format!("panic at {at}"), msg.chars().take(200).collect()));
    }
    match (o.code, o.signal) {
        (Some(c), _) if !DOCUMENTED_EXITS.contains(&c) && c != 101 => {
            v.push((format!("undocumented exit code {c}"), err_line.clone()))
        }
        (None, Some(s)) => v.push((format!("killed by signal {s}"), err_line.clone())),
        _ => {}
    }
    if o.code == Some(2) && !case.stderr_full {
        let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() != 1 {
            v.push((
                "exit 2 without exactly one line on stderr".into(),
                format!(
                    "{} lines: {:?}",
                    lines.len(),
                    o.stderr.chars().take(200).collect::<String>()
                ),
            ));
        }
    }
    if let (Some(why), Some(c)) = (case.refuse, o.code) {
        if c != 2 && c != 101 {
            v.push((
                format!("not refused (exit {c}, want 2): {why}"),
                err_line.clone(),
            ));
        }
    }
    // A closed stdout (`>&-`) is not checked here: Rust's start-up reopens a
    // closed descriptor 0, 1 or 2 on /dev/null before `main`, so forklore
    // cannot tell it from `>/dev/null` (README, "Exit codes"). It still
    // runs, for the panic, hang and leftover checks above.
    if case.stdout == Stdout::DevFull && case.prints && !case.stderr_full {
        if o.code == Some(0) {
            v.push((
                format!("stdout {:?}: exit 0 (write error ignored)", case.stdout),
                String::new(),
            ));
        } else if o.stderr.trim().is_empty() {
            v.push((
                format!(
                    "stdout {:?}: exit {:?} without a message",
                    case.stdout, o.code
                ),
                String::new(),
            ));
        }
    }
    v
}

#[derive(Default)]
struct Tally {
    exits: BTreeMap<String, usize>,
    violations: BTreeMap<String, Vec<(String, String)>>,
    not_run: Vec<String>,
    slowest: Vec<(Duration, String)>,
}

#[test]
fn cli_fuzz() {
    let cases = env_num("FORKLORE_FUZZ_CASES", 2000) as usize;
    let seed = env_num("FORKLORE_FUZZ_SEED", 0xf0c4_c11f_2026);
    let timeout = Duration::from_secs(env_num("FORKLORE_FUZZ_TIMEOUT", 20));
    let jobs = env_num("FORKLORE_FUZZ_JOBS", 2).max(1) as usize;
    let devices = std::env::var("FORKLORE_FUZZ_DEVICES").as_deref() == Ok("1");
    let base = tempfile::Builder::new()
        .prefix("forklore-cli-fuzz.")
        .tempdir()
        .unwrap();
    let tmp_before = forklore_entries_in_tmp();
    let next = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..jobs {
            let (next, tally, base) = (&next, &tally, base.path());
            s.spawn(move || {
                let sb = Sandbox::new(base.join(format!("w{w}")));
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= cases {
                        break;
                    }
                    // Each case has its own stream: the same argv whatever the jobs.
                    let r = Rng::new(seed ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
                    let mut used = Vec::new();
                    let case = gen_case(&r, &sb, &mut used);
                    let shown = format!(
                        "{}{}{}",
                        shell_quote(&case.argv),
                        match case.stdout {
                            Stdout::Captured => "",
                            Stdout::DevFull => " >/dev/full",
                            Stdout::Closed => " >&-",
                        },
                        if case.stderr_full { " 2>/dev/full" } else { "" }
                    );
                    if case.devices && !devices {
                        tally.lock().unwrap().not_run.push(shown);
                        continue;
                    }
                    let before = sb.specials();
                    let (o, problems) = run_case(&case, &sb, &format!("{seed:x}-{i}"), timeout);
                    let after = sb.specials();
                    let mut v = judge(&case, &o);
                    v.extend(problems.into_iter().map(|p| {
                        let k = p.split(':').next().unwrap_or("").to_string();
                        (k, p)
                    }));
                    for (name, b) in &before {
                        if after.get(name) != Some(b) {
                            v.push((
                                format!("special file replaced: {name}"),
                                format!("{b:?} -> {:?}", after.get(name).copied().flatten()),
                            ));
                        }
                    }
                    if before != after {
                        // Put the sandbox back so later cases test the real thing.
                        rebuild(&sb);
                    }
                    let mut t = tally.lock().unwrap();
                    let key = match (o.hung, o.code, o.signal) {
                        (true, ..) => "hang".to_string(),
                        (_, Some(c), _) => format!("exit {c}"),
                        (_, None, Some(sig)) => format!("signal {sig}"),
                        _ => "?".into(),
                    };
                    *t.exits.entry(key).or_default() += 1;
                    t.slowest.push((o.elapsed, shown.clone()));
                    for (k, d) in v {
                        t.violations.entry(k).or_default().push((shown.clone(), d));
                    }
                }
            });
        }
    });
    let elapsed = start.elapsed();
    let mut t = tally.into_inner().unwrap();
    let tmp_after = forklore_entries_in_tmp();
    let new_in_tmp: Vec<_> = tmp_after.difference(&tmp_before).collect();
    if !new_in_tmp.is_empty() {
        // Other runs on this machine may add entries too: a hint, named as such.
        t.violations
            .entry("new forklore entries in /tmp (maybe another run's)".into())
            .or_default()
            .push((String::new(), format!("{new_in_tmp:?}")));
    }
    let leftovers = processes_running(EXE);
    if !leftovers.is_empty() {
        t.violations
            .entry("processes of this binary still running at the end".into())
            .or_default()
            .push((String::new(), format!("{leftovers:?}")));
    }
    eprintln!(
        "cli fuzz: {cases} argument vectors (seed {seed:#x}, {jobs} jobs) in {:.1}s",
        elapsed.as_secs_f64()
    );
    for (k, n) in &t.exits {
        eprintln!("  {k:<10} {n}");
    }
    t.slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (d, argv) in t.slowest.iter().take(3) {
        eprintln!("  slowest: {:.1}s {argv}", d.as_secs_f64());
    }
    if !t.not_run.is_empty() {
        eprintln!(
            "  not run: {} vectors naming /dev/null or /dev/full as an output path \
             (would replace a host device node on an unfixed build; FORKLORE_FUZZ_DEVICES=1 runs them), e.g.\n    {}",
            t.not_run.len(),
            t.not_run[0]
        );
    }
    if t.violations.is_empty() {
        eprintln!("  0 violations");
        return;
    }
    let mut report = String::new();
    let total: usize = t.violations.values().map(Vec::len).sum();
    for (k, list) in &t.violations {
        report.push_str(&format!("\n{k}: {} vector(s)", list.len()));
        let mut seen = BTreeSet::new();
        for (argv, detail) in list.iter().filter(|(a, _)| seen.insert(a.clone())).take(5) {
            report.push_str(&format!("\n    {argv}"));
            if !detail.is_empty() {
                report.push_str(&format!("\n      -> {detail}"));
            }
        }
    }
    panic!(
        "cli fuzz: {total} violations in {} kinds:{report}",
        t.violations.len()
    );
}

/// Put back the special files a run replaced or removed.
fn rebuild(sb: &Sandbox) {
    let d = &sb.dir;
    for name in ["dir", "fifo", "link", "dangling", "dirlink"] {
        let p = d.join(name);
        if fs::symlink_metadata(&p).is_ok() {
            let _ = fs::remove_dir_all(&p).or_else(|_| fs::remove_file(&p));
        }
    }
    fs::create_dir(d.join("dir")).unwrap();
    Command::new("mkfifo").arg(d.join("fifo")).status().unwrap();
    std::os::unix::fs::symlink(d.join("regular"), d.join("link")).unwrap();
    std::os::unix::fs::symlink(d.join("nowhere"), d.join("dangling")).unwrap();
    std::os::unix::fs::symlink(d.join("dir"), d.join("dirlink")).unwrap();
    // A replaced socket cannot be re-bound under the live listener's name:
    // later cases see a regular file there and the report says so once.
}

fn forklore_entries_in_tmp() -> BTreeSet<String> {
    fs::read_dir("/tmp")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("forklore") && !n.starts_with("forklore-cli-fuzz."))
                .collect()
        })
        .unwrap_or_default()
}

fn processes_running(exe: &str) -> Vec<i32> {
    let want = fs::canonicalize(exe).unwrap_or_else(|_| exe.into());
    fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let pid = e.file_name().to_string_lossy().parse::<i32>().ok()?;
                    (fs::read_link(e.path().join("exe")).ok()? == want).then_some(pid)
                })
                .collect()
        })
        .unwrap_or_default()
}
