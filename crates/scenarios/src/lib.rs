//! forklore-scenarios: hand-written lifecycle scenarios (execve, vfork,
//! exit/exit_group, wait4/waitid, reparenting, zombies in /proc).
//!
//! Each scenario observes the host kernel and compares what it saw with an
//! expectation computed by `forklore_model::lifecycle` for this kernel
//! version and context (never copied from an observation).
//!
//! Process model: [`run`] (which may be called from a multithreaded
//! process) spawns `<program> <args...> [--as-uid N] <scenario-id>` with
//! `std::process::Command`. That binary calls [`scenario_main`] first thing
//! when `argv[1] == "__scenario"`. The scenario process is single-threaded:
//! it becomes a child subreaper, forks one "case" process per scenario,
//! waits for it with a deadline (pidfd + poll), then kills and reaps every
//! descendant left, so nothing survives a scenario. The case process prints
//! nothing on stdout (fd 1 is /dev/null); its result travels over a pipe and
//! the scenario process prints one JSON line per scenario.
//!
//! The exec target is the `forklore-exec-target` binary
//! (crates/scenarios/exec-target): `$FORKLORE_EXEC_TARGET`, else next to the current
//! executable or one directory up (test binaries live in target/*/deps).
//! Without it, exec scenarios skip with a reason.

#![forbid(unsafe_code)]

mod cases;
mod util;

use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How to start a scenario process.
#[derive(Clone, Debug)]
pub struct ScenarioCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl ScenarioCommand {
    /// The current executable with `["__scenario"]`: for binaries whose
    /// `main` calls [`scenario_main`] when `argv[1] == "__scenario"`.
    pub fn current_exe() -> std::io::Result<ScenarioCommand> {
        Ok(ScenarioCommand {
            program: std::env::current_exe()?,
            args: vec!["__scenario".into()],
        })
    }
}

/// One catalogue entry.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioInfo {
    /// `lifecycle/<group>/<name>`.
    pub id: &'static str,
    /// `exec`, `vfork`, `exit`, `wait`, `reparent` or `proc`.
    pub group: &'static str,
    pub needs_root: bool,
    pub description: &'static str,
}

/// The suite's verdict vocabulary (forklore-model), shared with the
/// generated cases.
pub use forklore_model::Verdict;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub id: String,
    pub group: String,
    pub verdict: Verdict,
    pub expected: serde_json::Value,
    pub observed: serde_json::Value,
    /// The deciding model rule id(s), comma-separated.
    pub rule: Option<String>,
    pub reason: Option<String>,
    pub duration_ms: u64,
}

/// Every scenario, in catalogue order.
pub fn catalogue() -> Vec<ScenarioInfo> {
    cases::CASES
        .iter()
        .map(|c| ScenarioInfo {
            id: c.id,
            group: c.group(),
            needs_root: c.needs_root,
            description: c.description,
        })
        .collect()
}

/// The deadline a scenario process gives each case before killing it.
pub const CASE_DEADLINE: Duration = Duration::from_secs(20);

/// Entry point of the scenario process. `args` may be the whole argv
/// (everything up to and including `"__scenario"` is skipped) or just what
/// follows it: `[--as-uid N] <id>...`. Prints one JSON [`ScenarioResult`]
/// line per id on stdout. Returns 0, or 2 on bad arguments.
pub fn scenario_main(args: &[String]) -> i32 {
    let rest = match args.iter().position(|a| a == "__scenario") {
        Some(i) => &args[i + 1..],
        None => args,
    };
    let mut ids = Vec::new();
    let mut as_uid = None;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if a == "--as-uid" {
            match it.next().and_then(|v| v.parse::<u32>().ok()) {
                Some(u) => as_uid = Some(u),
                None => {
                    eprintln!("__scenario: --as-uid needs a number");
                    return 2;
                }
            }
        } else {
            ids.push(a.clone());
        }
    }
    let out = util::run_in_scenario_process(&ids, as_uid);
    for r in out {
        println!("{}", serde_json::to_string(&r).unwrap_or_default());
    }
    0
}

/// Locate the exec target (see the crate docs).
pub fn exec_target() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FORKLORE_EXEC_TARGET") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [
        dir.join("forklore-exec-target"),
        dir.parent()?.join("forklore-exec-target"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Run `ids` (all scenarios when empty), each in its own scenario process,
/// two at a time. `unprivileged_uid`: when the runner is root, the scenario
/// process drops to that uid (and gid) first. A scenario process that
/// outlives `timeout` is killed with its process group and reported Broken.
pub fn run(
    cmd: &ScenarioCommand,
    ids: &[&str],
    timeout: Duration,
    unprivileged_uid: Option<u32>,
) -> Vec<ScenarioResult> {
    let all = catalogue();
    let unknown = ScenarioInfo {
        id: "unknown",
        group: "unknown",
        needs_root: false,
        description: "",
    };
    let jobs: Vec<(String, ScenarioInfo)> = if ids.is_empty() {
        all.into_iter().map(|c| (c.id.to_string(), c)).collect()
    } else {
        ids.iter()
            .map(|id| {
                (
                    id.to_string(),
                    all.iter()
                        .find(|c| c.id == *id)
                        .cloned()
                        .unwrap_or(unknown.clone()),
                )
            })
            .collect()
    };
    let target = exec_target();
    let is_root = util::euid() == 0;
    let mut results: Vec<Option<ScenarioResult>> = vec![None; jobs.len()];
    let queue = std::sync::Mutex::new(jobs.into_iter().enumerate());
    let slots = std::sync::Mutex::new(&mut results);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let next = queue.lock().map(|mut q| q.next()).ok().flatten();
                let Some((i, (id, info))) = next else { break };
                let r = run_one(
                    cmd,
                    &id,
                    &info,
                    timeout,
                    if is_root { unprivileged_uid } else { None },
                    target.as_ref(),
                );
                if let Ok(mut sl) = slots.lock() {
                    sl[i] = Some(r);
                }
            });
        }
    });
    results.into_iter().flatten().collect()
}

fn run_one(
    cmd: &ScenarioCommand,
    id: &str,
    info: &ScenarioInfo,
    timeout: Duration,
    uid: Option<u32>,
    target: Option<&PathBuf>,
) -> ScenarioResult {
    use std::os::unix::process::CommandExt;
    let start = Instant::now();
    let broken = |reason: String| ScenarioResult {
        id: id.to_string(),
        group: info.group.to_string(),
        verdict: Verdict::Broken,
        expected: serde_json::Value::Null,
        observed: serde_json::Value::Null,
        rule: None,
        reason: Some(reason),
        duration_ms: start.elapsed().as_millis() as u64,
    };
    let mut c = Command::new(&cmd.program);
    c.args(&cmd.args);
    if let Some(u) = uid {
        c.arg("--as-uid").arg(u.to_string());
    }
    c.arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0);
    if let Some(t) = target {
        c.env("FORKLORE_EXEC_TARGET", t);
    }
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => return broken(format!("cannot start scenario process: {e}")),
    };
    let pid = child.id() as i32;
    let stdout = child.stdout.take();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        if let Some(o) = stdout {
            for l in BufReader::new(o).lines().map_while(Result::ok) {
                lines.push(l);
            }
        }
        let _ = tx.send(lines);
    });
    let lines = rx.recv_timeout(timeout);
    if lines.is_err() {
        util::kill_group(pid);
    }
    let _ = child.wait();
    util::kill_group(pid);
    let lines = match lines {
        Ok(l) => l,
        Err(_) => {
            return broken(format!(
                "scenario process timed out after {timeout:?}; killed"
            ))
        }
    };
    let parsed = lines
        .iter()
        .find_map(|l| serde_json::from_str::<ScenarioResult>(l).ok());
    match parsed {
        Some(mut r) => {
            r.duration_ms = start.elapsed().as_millis() as u64;
            r
        }
        None => broken(format!(
            "no result line from the scenario process: {lines:?}"
        )),
    }
}
