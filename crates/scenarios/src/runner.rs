//! The runner side (may be multithreaded): start one scenario process per
//! scenario with `std::process::Command`, two at a time, and read back its
//! JSON result line; a scenario process that outlives the timeout is killed
//! with its process group and reported Broken.

use crate::cases::catalogue;
use crate::result::{ScenarioInfo, ScenarioResult, Verdict};
use crate::target;
use crate::util;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
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

/// SIGKILL a whole process group (ignores ESRCH).
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        let _ = kill(Pid::from_raw(-pgid), Signal::SIGKILL);
    }
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
    // Written once for the whole run, removed when `target` is dropped at
    // the end of this function, after every scenario process has ended.
    let target = target::exec_target().map_err(|e| e.to_string());
    let is_root = util::euid() == 0;
    let mut results: Vec<Option<ScenarioResult>> = vec![None; jobs.len()];
    let queue = std::sync::Mutex::new(jobs.into_iter().enumerate());
    let slots = std::sync::Mutex::new(&mut results);
    let work = || loop {
        let next = queue.lock().map(|mut q| q.next()).ok().flatten();
        let Some((i, (id, info))) = next else { break };
        let r = run_one(
            cmd,
            &id,
            &info,
            timeout,
            if is_root { unprivileged_uid } else { None },
            target.as_ref().map(|t| t.path()),
        );
        if let Ok(mut sl) = slots.lock() {
            sl[i] = Some(r);
        }
    };
    std::thread::scope(|s| {
        // A second thread if one can be had (a pids limit may refuse it):
        // this thread works too, so a refused thread costs time, not cases.
        let _ = std::thread::Builder::new()
            .name("scenarios".into())
            .spawn_scoped(s, work);
        work();
    });
    results.into_iter().flatten().collect()
}

fn run_one(
    cmd: &ScenarioCommand,
    id: &str,
    info: &ScenarioInfo,
    timeout: Duration,
    uid: Option<u32>,
    target: Result<&Path, &String>,
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
    match target {
        Ok(t) => c.env(target::ENV, t),
        Err(why) => c.env_remove(target::ENV).env(target::ENV_ERROR, why),
    };
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => {
            let detail = format!("cannot start scenario process: {e}");
            return match e
                .raw_os_error()
                .and_then(|n| forklore_observe::limits::shortage(n, "start a scenario process"))
            {
                Some(why) => ScenarioResult {
                    verdict: Verdict::Env,
                    reason: Some(why),
                    ..broken(detail)
                },
                None => broken(detail),
            };
        }
    };
    let pid = child.id() as i32;
    // Read the result lines here, with poll and a deadline (no reader
    // thread: under a pids limit the thread may be what is refused).
    let deadline = start + timeout;
    let mut out = Vec::new();
    let mut eof = false;
    if let Some(mut o) = child.stdout.take() {
        let mut buf = [0u8; 8192];
        while !eof {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !util::readable(&o, left) {
                break;
            }
            match std::io::Read::read(&mut o, &mut buf) {
                Ok(0) => eof = true,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => eof = true,
            }
        }
    } else {
        eof = true;
    }
    if !eof {
        kill_group(pid);
    }
    let _ = child.wait();
    kill_group(pid);
    if !eof {
        return broken(format!(
            "scenario process timed out after {timeout:?}; killed"
        ));
    }
    let lines: Vec<String> = String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_string)
        .collect();
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
