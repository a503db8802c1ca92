//! The runner side: spawn a probe, feed it a batch, read results with a
//! stall timeout, and recover from crashes by re-spawning for the rest.
//!
//! Safe to call from any thread of a multithreaded process: the only
//! process creation here is `std::process::Command`.

use crate::protocol::{ContextSpec, Header, Msg, Observation, ProbeCase};
use crate::stages::Stages;
use forklore_model::Context;
use forklore_sys::wait::{self, WEXITED, WNOHANG, WNOWAIT};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How to start a probe process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Keep the probe, and so every process it creates, on this CPU
    /// (`sched_setaffinity`, inherited over fork). A probe mostly waits
    /// for its child; on its own CPU the child runs the moment the probe
    /// blocks, where a child placed on another CPU costs a cross-CPU
    /// wake-up each way and leaves the probe's CPU idle meanwhile.
    /// `None`: the scheduler places it.
    pub cpu: Option<usize>,
}

impl ProbeCommand {
    /// This executable with `__probe`: any binary that calls
    /// [`probe_main`] first thing when `argv[1] == "__probe"`.
    pub fn current_exe() -> std::io::Result<ProbeCommand> {
        Ok(ProbeCommand {
            program: std::env::current_exe()?,
            args: vec!["__probe".into()],
            cpu: None,
        })
    }

    /// A dedicated probe binary (e.g. `forklore-probe`), run with `__probe`.
    pub fn binary(path: impl Into<PathBuf>) -> ProbeCommand {
        ProbeCommand {
            program: path.into(),
            args: vec!["__probe".into()],
            cpu: None,
        }
    }

    /// The same command with its probe kept on `cpu` (see [`Self::cpu`]).
    pub fn on_cpu(&self, cpu: Option<usize>) -> ProbeCommand {
        ProbeCommand {
            cpu,
            ..self.clone()
        }
    }
}

/// What a batch produced.
#[derive(Clone, Debug)]
pub struct BatchResult {
    /// The context the probe arranged and detected, or why it was skipped.
    pub context: Result<Context, String>,
    /// One entry per case, in order (`broken` ones included), unless the
    /// context was skipped (then empty).
    pub results: Vec<(String, Observation)>,
    /// Pid (= process group id) of every probe spawned for this batch.
    pub probe_pids: Vec<u32>,
    /// Diagnostics: probe stderr and crash notes.
    pub notes: Vec<String>,
    /// Per-stage time of the probes and of this side (`FORKLORE_STAGES`).
    pub stages: Stages,
}

#[derive(Default)]
struct ProbeRun {
    pid: Option<u32>,
    context: Option<Result<Context, String>>,
    results: Vec<(String, Observation)>,
    end: Option<(String, Option<i32>, u32)>,
    stalled: bool,
    spawn_error: Option<String>,
    stderr: String,
    stages: Stages,
}

impl ProbeRun {
    /// Why the case in flight did not finish.
    fn failure(&self, timeout: Duration) -> String {
        if let Some(e) = &self.spawn_error {
            return format!("cannot start the probe: {e}");
        }
        if self.stalled {
            return format!("probe stalled for {:.1}s (killed)", timeout.as_secs_f64());
        }
        match &self.end {
            Some((_, Some(sig), _)) => {
                format!(
                    "probe killed by {}",
                    forklore_model::flags::signal_name(*sig as u64)
                )
            }
            Some((w, None, _)) => format!("probe worker {w} early"),
            None => "probe ended without a report".into(),
        }
    }
}

/// Run `cases` in a probe arranged as `ctx`. `timeout` bounds how long the
/// probe may go without producing a result line (a stall): a stalled probe
/// is killed and the case in flight reported broken. A crashing case is
/// reported broken ("probe killed by SIGSEGV") and the rest of the batch
/// continues in a new probe. Nothing the probe created survives the call.
pub fn run_batch(
    cmd: &ProbeCommand,
    ctx: &ContextSpec,
    cases: &[ProbeCase],
    timeout: Duration,
) -> BatchResult {
    let mut out = BatchResult {
        context: Err("the probe reported no context".into()),
        results: Vec::with_capacity(cases.len()),
        probe_pids: Vec::new(),
        notes: Vec::new(),
        stages: Stages::default(),
    };
    let mut next = 0;
    let mut have_context = false;
    loop {
        let run = run_probe(cmd, ctx, &cases[next..], timeout);
        out.probe_pids.extend(run.pid);
        out.stages.merge(&run.stages);
        // The probe's stage line is accounting, not a diagnostic.
        let stderr: String = run
            .stderr
            .lines()
            .filter(|l| !(run.stages.on() && out.stages.add_line(l)))
            .map(|l| format!("{l}\n"))
            .collect();
        if !stderr.trim().is_empty() {
            out.notes.push(stderr.trim_end().to_string());
        }
        if let Some((_, _, killed)) = &run.end {
            if *killed > 0 {
                out.notes.push(format!(
                    "the reaper had to kill {killed} leftover process(es)"
                ));
            }
        }
        match &run.context {
            Some(Ok(c)) if !have_context => {
                out.context = Ok(c.clone());
                have_context = true;
            }
            Some(Ok(_)) => {}
            Some(Err(reason)) if !have_context => {
                out.context = Err(reason.clone());
                return out;
            }
            Some(Err(reason)) => {
                let why = format!("the context could not be arranged again: {reason}");
                for c in &cases[next..] {
                    out.results
                        .push((c.id.clone(), Observation::broken(why.clone())));
                }
                return out;
            }
            None if !have_context => {
                out.context = Err(format!("the probe did not start: {}", run.failure(timeout)));
                return out;
            }
            None => {}
        }
        let done = run.results.len();
        out.results.extend(run.results.iter().cloned());
        next += done;
        if next >= cases.len() {
            return out;
        }
        let why = run.failure(timeout);
        out.notes.push(format!("case {:?}: {why}", cases[next].id));
        out.results
            .push((cases[next].id.clone(), Observation::broken(why)));
        next += 1;
        if next >= cases.len() {
            return out;
        }
    }
}

fn encode_input(cmd: &ProbeCommand, ctx: &ContextSpec, cases: &[ProbeCase]) -> Vec<u8> {
    encode_header(cmd, ctx, cases, false)
}

fn encode_header(
    cmd: &ProbeCommand,
    ctx: &ContextSpec,
    cases: &[ProbeCase],
    floor: bool,
) -> Vec<u8> {
    let header = Header {
        context: *ctx,
        runner_pid: Some(std::process::id()),
        floor,
        cpu: cmd.cpu,
    };
    let mut s = serde_json::to_string(&header).unwrap_or_default();
    s.push('\n');
    for c in cases {
        s.push_str(&serde_json::to_string(c).unwrap_or_default());
        s.push('\n');
    }
    s.into_bytes()
}

fn handle_line(line: &str, run: &mut ProbeRun) {
    if line.is_empty() {
        return;
    }
    match crate::protocol::decode(line) {
        Ok(Msg::Context { context }) => run.context = Some(Ok(context)),
        Ok(Msg::Skip { reason }) => run.context = Some(Err(reason)),
        // The reaper writes again what a killed worker may already have
        // written (see protocol::ResultSink): keep the first of each index.
        Ok(Msg::Result { index, .. }) if index < run.results.len() => {}
        Ok(Msg::Result { index, id, .. }) if index > run.results.len() => {
            run.stderr.push_str(&format!(
                "probe result {index} ({id}) came before result {}\n",
                run.results.len()
            ))
        }
        Ok(Msg::Result { id, obs, .. }) => run.results.push((id, *obs)),
        Ok(Msg::End {
            worker,
            signal,
            killed,
        }) => run.end = Some((worker, signal, killed)),
        Err(e) => run
            .stderr
            .push_str(&format!("unreadable probe line ({e}): {line}\n")),
    }
}

fn run_probe(
    cmd: &ProbeCommand,
    ctx: &ContextSpec,
    cases: &[ProbeCase],
    timeout: Duration,
) -> ProbeRun {
    let mut run = ProbeRun {
        stages: Stages::from_env(),
        ..ProbeRun::default()
    };
    let m = run.stages.start();
    let mut child = match Command::new(&cmd.program)
        .args(&cmd.args)
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            run.spawn_error = Some(format!("{}: {e}", cmd.program.display()));
            return run;
        }
    };
    let pid = child.id();
    run.pid = Some(pid);
    // The probe reads all of stdin before it does anything else.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&encode_input(cmd, ctx, cases));
    }
    run.stages.stop("client.spawn+write-input", m);
    let reading = run.stages.start();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut pending = Vec::new();
    let mut errbuf = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut last_progress = Instant::now();
    while stdout.is_some() {
        let left = timeout.saturating_sub(last_progress.elapsed());
        if left.is_zero() {
            run.stalled = true;
            break;
        }
        let wait =
            PollTimeout::try_from(left.min(Duration::from_secs(1))).unwrap_or(PollTimeout::MAX);
        let (out_ready, err_ready) = {
            let mut fds = Vec::with_capacity(2);
            if let Some(o) = &stdout {
                fds.push(PollFd::new(o.as_fd(), PollFlags::POLLIN));
            }
            if let Some(e) = &stderr {
                fds.push(PollFd::new(e.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, wait) {
                Ok(0) | Err(nix::errno::Errno::EINTR) => (false, false),
                Err(_) => break,
                Ok(_) => {
                    let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
                    (ready(&fds[0]), fds.get(1).is_some_and(ready))
                }
            }
        };
        if err_ready {
            if let Some(e) = stderr.as_mut() {
                match e.read(&mut buf) {
                    Ok(0) | Err(_) => stderr = None,
                    Ok(n) => errbuf.extend_from_slice(&buf[..n]),
                }
            }
        }
        if out_ready {
            if let Some(o) = stdout.as_mut() {
                match o.read(&mut buf) {
                    Ok(0) | Err(_) => stdout = None,
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                }
            }
            // Every whole line, then one drain (a drain per line would move
            // the rest of a 64 KiB read once per line).
            let mut used = 0;
            while let Some(nl) = pending[used..].iter().position(|b| *b == b'\n') {
                let line = &pending[used..used + nl];
                used += nl + 1;
                let before = run.results.len();
                handle_line(String::from_utf8_lossy(line).trim(), &mut run);
                if run.results.len() != before || run.context.is_some() && before == 0 {
                    last_progress = Instant::now();
                }
            }
            pending.drain(..used);
        }
    }
    run.stages.stop("client.poll+read+parse", reading);
    let m = run.stages.start();
    finish(&mut child, pid, run.stalled);
    run.stages.stop("client.end-probe", m);
    // Whatever stderr still holds.
    if let Some(mut e) = stderr {
        let _ = e.read_to_end(&mut errbuf);
    }
    if let Some(mut o) = stdout {
        let mut rest = Vec::new();
        let _ = o.read_to_end(&mut rest);
        pending.extend(rest);
    }
    for line in String::from_utf8_lossy(&pending).lines() {
        if !line.trim().is_empty() {
            handle_line(line.trim(), &mut run);
        }
    }
    run.stderr.push_str(&String::from_utf8_lossy(&errbuf));
    run
}

/// End the probe and everything it made. The reaper gets SIGTERM first (it
/// then kills the worker and every descendant and removes what it created);
/// the whole process group gets SIGKILL while the reaper's zombie still
/// pins the group id, so nothing else can be hit.
fn finish(child: &mut std::process::Child, pid: u32, stalled: bool) {
    let p = pid as i32;
    let reaper_exited = |limit: Duration| {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(_)) = wait::waitid(wait::P_PID, p, WEXITED | WNOWAIT | WNOHANG) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    if stalled {
        let _ = kill(Pid::from_raw(p), Signal::SIGTERM);
        // A stopped reaper (SIGSTOP from outside) would hold the SIGTERM
        // pending and cost the 5 s + 2 s waits below: wake the group.
        let _ = kill(Pid::from_raw(-p), Signal::SIGCONT);
    }
    if !reaper_exited(Duration::from_secs(5)) {
        let _ = kill(Pid::from_raw(p), Signal::SIGTERM);
        reaper_exited(Duration::from_secs(2));
    }
    let _ = kill(Pid::from_raw(-p), Signal::SIGKILL);
    let _ = child.wait();
    // Backstop for a reaper that died before its cleanup.
    if let Some(m) = forklore_observe::cgroup2_mount() {
        let _ = std::fs::remove_dir(m.join(format!("forklore-{pid}")));
    }
}

/// What a floor run measured (see [`run_floor`]).
#[derive(Clone, Debug)]
pub struct FloorResult {
    /// Per case, in order: `e` the call failed, `c` it created a child,
    /// `o` it did not run as a plain call.
    pub kinds: Vec<u8>,
    /// Summed wall time of the failing calls, ns.
    pub error_ns: u64,
    /// Summed wall time of the creating calls with release and reap, ns.
    pub create_ns: u64,
}

/// The suite floor: run `cases` in one probe arranged as `ctx`, each as its
/// raw call plus what a created child needs to be gone (no observation, no
/// restore, no result lines), and return what each cost. For benchmarks
/// only: a crash or a stall is an error here, not a broken case.
pub fn run_floor(
    cmd: &ProbeCommand,
    ctx: &ContextSpec,
    cases: &[ProbeCase],
) -> Result<FloorResult, String> {
    let mut child = Command::new(&cmd.program)
        .args(&cmd.args)
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("{}: {e}", cmd.program.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&encode_header(cmd, ctx, cases, true));
    }
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    let _ = child.wait();
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix(crate::protocol::FLOOR_LINE))
        .ok_or_else(|| format!("the probe reported no floor line: {out}"))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    match f[..] {
        [kinds, e, c] if kinds.len() == cases.len() => Ok(FloorResult {
            kinds: kinds.as_bytes().to_vec(),
            error_ns: e.parse().map_err(|_| "bad floor line")?,
            create_ns: c.parse().map_err(|_| "bad floor line")?,
        }),
        _ => Err(format!("unreadable floor line: {line}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result_line(index: usize, id: &str, ret: i64) -> String {
        let obs = Observation {
            ret: Some(ret),
            ..Observation::default()
        };
        serde_json::to_string(&Msg::Result {
            index,
            id: id.into(),
            obs: Box::new(obs),
        })
        .unwrap()
    }

    #[test]
    fn results_written_again_after_a_crash_count_once() {
        // What the runner reads when the worker was killed while writing
        // its buffer and the reaper wrote the buffer again (a newline
        // first, ending the cut line): protocol::flush_left.
        let mut run = ProbeRun::default();
        let first = result_line(0, "a", 1);
        let second = result_line(1, "b", 2);
        handle_line(&first, &mut run);
        handle_line(&second[..second.len() / 2], &mut run);
        handle_line("", &mut run);
        handle_line(&first, &mut run);
        handle_line(&second, &mut run);
        handle_line(&result_line(2, "c", 3), &mut run);
        let ids: Vec<(&str, Option<i64>)> = run
            .results
            .iter()
            .map(|(id, o)| (id.as_str(), o.ret))
            .collect();
        assert_eq!(ids, [("a", Some(1)), ("b", Some(2)), ("c", Some(3))]);
        // The cut line is reported, nothing else.
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.starts_with("unreadable probe line"),
            "{}",
            run.stderr
        );
    }

    #[test]
    fn a_result_out_of_order_is_reported_not_kept() {
        let mut run = ProbeRun::default();
        handle_line(&result_line(1, "b", 2), &mut run);
        assert!(run.results.is_empty());
        assert!(run
            .stderr
            .contains("probe result 1 (b) came before result 0"));
    }
}
