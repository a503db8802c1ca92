//! The command line against hostile input and output: non-UTF-8
//! arguments, stdout and stderr that cannot be written, output paths that
//! are not regular files, absurd option values. Each runs the built
//! binary and checks the exit code, the one line on stderr, and that the
//! special file named is untouched.

#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fs::{self, File};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_forklore");

/// Run to completion with a deadline (a blocked FIFO open is a failure,
/// not a hung test).
fn run_with(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn forklore");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("forklore did not finish in 60 s: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn forklore<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let mut c = Command::new(BIN);
    c.args(args.into_iter().map(Into::into));
    c.stdout(Stdio::piped());
    c
}

fn stderr_line(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(text.lines().count(), 1, "one line on stderr: {text:?}");
    text
}

/// Exit 2 with one line on stderr containing `needle`.
fn usage_error(out: &Output, needle: &str) {
    let line = stderr_line(out);
    assert_eq!(out.status.code(), Some(2), "{line}");
    assert!(line.contains(needle), "{needle:?} not in {line:?}");
}

fn dev_full() -> File {
    File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full")
}

#[test]
fn a_non_utf8_value_is_one_line_and_exit_2() {
    for cmd in [
        vec!["list", "--filter"],
        vec!["check", "--quick", "--filter"],
        vec!["explain", "--flags"],
        vec!["bench", "--method"],
    ] {
        let mut args: Vec<OsString> = cmd.iter().map(OsString::from).collect();
        args.push(OsString::from_vec(vec![b'a', 0xff, b'b']));
        let out = run_with(forklore(args));
        usage_error(&out, "not valid UTF-8");
    }
    // The subcommand itself.
    let out = run_with(forklore([OsString::from_vec(vec![0xfe])]));
    assert_eq!(out.status.code(), Some(2));
    stderr_line(&out);
}

#[test]
fn stdout_that_cannot_be_written_is_exit_3_with_one_line() {
    for args in [
        vec!["list", "--filter", "clone3-args/*"],
        vec!["list", "--groups"],
        vec!["explain"],
        vec!["explain", "--json"],
        vec!["bench", "--list-methods"],
        vec!["--help"],
        vec!["probe", "--syscall", "fork"],
        vec![
            "check",
            "--quick",
            "--contexts",
            "user",
            "--filter",
            "clone3-args/*",
        ],
    ] {
        let mut cmd = forklore(&args);
        cmd.stdout(dev_full());
        let out = run_with(cmd);
        let line = stderr_line(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {line}");
        assert!(line.contains("standard output"), "{args:?}: {line}");
    }
}

#[test]
fn a_closed_pipe_is_exit_141_without_a_word() {
    let mut child = Command::new(BIN)
        .arg("list")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141));
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn stderr_that_cannot_be_written_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.txt");
    let mut cmd = forklore([
        "check",
        "--quick",
        "--contexts",
        "user",
        "--filter",
        "clone3-args/*",
        "--output",
    ]);
    cmd.arg(&report);
    cmd.stderr(dev_full());
    let status = cmd.stdin(Stdio::null()).status().unwrap();
    // The summary line could not be written: an error, not a panic (101).
    assert_eq!(status.code(), Some(3));
    assert!(fs::read_to_string(&report).unwrap().contains("clone3-args"));
    // Bad input with a broken stderr: still exit 2.
    let status = Command::new(BIN)
        .args(["list", "--filter", "nomatch"])
        .stderr(dev_full())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

/// The special files an output path must never replace, made in `dir`.
fn special_files(dir: &Path) -> Vec<(std::path::PathBuf, &'static str)> {
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let target = dir.join("target.txt");
    fs::write(&target, "keep me\n").unwrap();
    let link = dir.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let socket = dir.join("socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    vec![
        (fifo, "a FIFO"),
        (link, "a symbolic link"),
        (socket, "a socket"),
        ("/dev/null".into(), "a character device"),
        (dir.to_path_buf(), "a directory"),
    ]
}

fn assert_untouched(dir: &Path) {
    assert!(fs::symlink_metadata(dir.join("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    let link = fs::symlink_metadata(dir.join("link")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!(
        fs::read_to_string(dir.join("target.txt")).unwrap(),
        "keep me\n"
    );
    assert!(fs::symlink_metadata(dir.join("socket"))
        .unwrap()
        .file_type()
        .is_socket());
    assert!(fs::symlink_metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    // No temporary file left behind.
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["fifo", "link", "socket", "target.txt"]);
}

#[test]
fn output_paths_that_are_not_regular_files_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    for (path, kind) in special_files(dir.path()) {
        for args in [
            vec!["check", "--quick", "--output"],
            vec!["bench", "--method", "getpid", "--output"],
            vec!["bench", "--method", "getpid", "--plot"],
        ] {
            let mut cmd = forklore(&args);
            cmd.arg(&path);
            let start = Instant::now();
            let out = run_with(cmd);
            usage_error(&out, kind);
            assert!(out.stdout.is_empty(), "{args:?}: refused before any work");
            // Before any work: no run, no measurement.
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{args:?} {path:?}"
            );
        }
        assert_untouched(dir.path());
    }
    // --compare never opens a FIFO for a blocking read.
    let fifo = dir.path().join("fifo");
    let mut cmd = forklore(["bench", "--compare"]);
    cmd.arg(&fifo).arg(&fifo);
    usage_error(&run_with(cmd), "FIFO");
    assert_untouched(dir.path());
}

#[test]
fn output_names_and_directories_are_checked_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("x".repeat(300));
    let missing = dir.path().join("no-such-dir/report.txt");
    for (path, needle) in [(long, "file name too long"), (missing, "no-such-dir")] {
        for opt in ["check --quick --output", "bench --method getpid --output"] {
            let mut cmd = forklore(opt.split(' '));
            cmd.arg(&path);
            let out = run_with(cmd);
            usage_error(&out, needle);
            assert!(out.stdout.is_empty());
        }
    }
}

/// Run `check` writing to `path` under `umask`.
fn check_under_umask(umask: &str, path: &Path) -> Output {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &format!("umask {umask}; exec \"$0\" \"$@\""), BIN])
        .args([
            "check",
            "--quick",
            "--contexts",
            "user",
            "--filter",
            "clone3-args/*",
            "--format",
            "json",
            "--output",
        ])
        .arg(path)
        .stdout(Stdio::piped());
    run_with(cmd)
}

#[test]
fn reports_are_created_0644_under_umask_022_and_keep_an_existing_mode() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.json");
    let out = check_under_umask("022", &new);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::metadata(&new).unwrap().mode() & 0o7777, 0o644);
    // The umask is honoured, not overridden.
    let private = dir.path().join("private.json");
    check_under_umask("077", &private);
    assert_eq!(fs::metadata(&private).unwrap().mode() & 0o7777, 0o600);
    // Replacing a file keeps its mode (and its owner).
    let old = dir.path().join("old.json");
    fs::write(&old, "old").unwrap();
    fs::set_permissions(&old, fs::Permissions::from_mode(0o640)).unwrap();
    let before = fs::metadata(&old).unwrap();
    let out = check_under_umask("022", &old);
    assert_eq!(out.status.code(), Some(0));
    let after = fs::metadata(&old).unwrap();
    assert_eq!(after.mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert_ne!(after.ino(), before.ino(), "replaced by rename, atomically");
    assert!(fs::read_to_string(&old).unwrap().contains("clone3-args"));
    // Nothing else was left in the directory.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
}

#[test]
fn option_values_are_bounded() {
    for (args, needle) in [
        (vec!["check", "--jobs", "0"], "--jobs"),
        (vec!["check", "--jobs", "100000"], "--jobs"),
        (vec!["check", "--jobs", "18446744073709551615"], "--jobs"),
        (vec!["check", "--jobs", "-1"], "--jobs"),
        (vec!["check", "--batch-timeout", "0"], "--batch-timeout"),
        (vec!["check", "--batch-size", "0"], "--batch-size"),
        (vec!["check", "--contexts", "drop-cap-63"], "capability"),
        (vec!["probe", "--context", "drop-cap-63"], "capability"),
        (vec!["list", "--filter", "nomatch"], "no case matches"),
        (
            vec!["list", "--groups", "--filter", "nomatch"],
            "no case matches",
        ),
        (vec!["check", "--filter", "nomatch"], "no case matches"),
        (
            vec!["explain", "--syscall", "clone3", "--size", "-1"],
            "--size",
        ),
        (vec!["explain", "--userns-level", "-1"], "--userns-level"),
        (vec!["explain", "--arch", "sparc64"], "--arch"),
        (vec!["bench", "--iterations", "-5"], "--iterations"),
        (vec!["bench", "--pin", "-1"], "--pin"),
        (vec!["bench", "--flags", "SIGSTOP"], "SIGSTOP"),
        (vec!["bench", "--flags", "VM|SIGTSTP"], "SIGTSTP"),
        (vec!["bench", "--flags", "SIGTTIN"], "SIGTTIN"),
        (vec!["bench", "--flags", "0x16"], "SIGTTOU"),
    ] {
        let out = run_with(forklore(&args));
        usage_error(&out, needle);
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn the_probe_and_scenario_entry_points_still_work() {
    // `probe` re-executes this binary as `__probe`: a passing case proves it.
    let out = run_with(forklore(["probe", "--syscall", "fork"]));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("PASS"));
}

/// `explain --arch` works on any host and differs between the two
/// architectures exactly as the model's arch rules say (A3, E30, the clone
/// argument order), and agrees elsewhere.
#[test]
fn explain_arch_differences() {
    let run = |args: &[&str]| {
        let out = run_with(forklore(args.iter().copied()));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let json = |args: &[&str]| -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--kernel", "6.12", "--json"]);
        serde_json::from_str(&run(&a)).unwrap()
    };
    // fork: a syscall on x86_64, ENOSYS (A3) on aarch64.
    let x = json(&["explain", "--arch", "x86_64", "--syscall", "fork"]);
    let a = json(&["explain", "--arch", "arm64", "--syscall", "fork"]);
    assert_eq!(
        (x["outcome"].as_str(), x["arch"].as_str()),
        (Some("success"), Some("x86_64"))
    );
    assert_eq!(
        (a["errno"].as_str(), a["rule"].as_str(), a["arch"].as_str()),
        (Some("ENOSYS"), Some("A3"), Some("aarch64"))
    );
    assert_eq!(a["arches"], serde_json::json!(["aarch64"]));
    // TLS at x86_64's TASK_SIZE_MAX: E30 on x86_64 only.
    let tls = [
        "explain",
        "--syscall",
        "clone3",
        "--flags",
        "SETTLS",
        "--tls",
        "0x7ffffffff000",
    ];
    let x = json(&[&tls[..], &["--arch", "x86_64"]].concat());
    let a = json(&[&tls[..], &["--arch", "aarch64"]].concat());
    assert_eq!(
        (x["errno"].as_str(), x["rule"].as_str()),
        (Some("EPERM"), Some("E30"))
    );
    assert_eq!(a["outcome"].as_str(), Some("success"));
    // The common checks agree.
    let x = json(&["explain", "--arch", "x86_64", "--flags", "THREAD|SIGHAND"]);
    let a = json(&["explain", "--arch", "aarch64", "--flags", "THREAD|SIGHAND"]);
    assert_eq!((&x["rule"], &x["errno"]), (&a["rule"], &a["errno"]));
    // The text names the legacy clone argument order.
    let t = run(&[
        "explain", "--arch", "aarch64", "--kernel", "6.12", "--flags", "SIGCHLD",
    ]);
    assert!(
        t.contains("clone(flags, newsp, parent_tid, tls, child_tid) (CONFIG_CLONE_BACKWARDS)"),
        "{t}"
    );
    let t = run(&[
        "explain", "--arch", "x86_64", "--kernel", "6.12", "--flags", "SIGCHLD",
    ]);
    assert!(
        t.contains("clone(flags, newsp, parent_tid, child_tid, tls)\n"),
        "{t}"
    );
}
