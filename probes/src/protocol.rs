//! The wire protocol between runner and probe: every type that crosses the
//! pipe, and nothing else (the probe's entry point is `bootstrap`).
//!
//! stdin (runner → probe), JSON lines, read to EOF before anything runs:
//! a [`Header`], then one [`ProbeCase`] per line.
//!
//! stdout (probe → runner), JSON lines, whole lines per `write`: first
//! `context` (the detected model Context) or `skip`, then one `result` per
//! case in order (written in batches, see [`ResultSink`]; a result may come
//! twice after a crash, the runner keeps the first of each index), and
//! finally `end` from the reaper (how the worker ended, what had to be
//! cleaned up). Empty lines mean nothing.

use forklore_model::{Context, Errno, PidfdKind, ReapedBy, Request};
use forklore_observe::ProcInfo;
use forklore_sys::linebuf::LineBuffer;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// First stdin line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Header {
    pub context: ContextSpec,
    /// The runner's pid: the probe exits at once if its parent is already
    /// someone else (the runner died before PR_SET_PDEATHSIG took effect).
    pub runner_pid: Option<u32>,
    /// Suite-floor mode (forklore-bench's `suite_floor`): run each case as
    /// its raw call only, plus what a created child needs to be gone, with
    /// no observation and no restore; one `floor` line on stdout at the
    /// end instead of a result per case.
    #[serde(default)]
    pub floor: bool,
    /// The CPU to keep the probe on ([`crate::ProbeCommand::cpu`]).
    #[serde(default)]
    pub cpu: Option<usize>,
}

/// Prefix of the one stdout line a floor run ends with.
pub(crate) const FLOOR_LINE: &str = "forklore-floor";

/// One stdout line.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Msg {
    Context {
        context: Context,
    },
    Skip {
        reason: String,
    },
    Result {
        index: usize,
        id: String,
        obs: Box<Observation>,
    },
    End {
        /// "exited 0", "killed by SIGSEGV"...
        worker: String,
        /// The signal that killed the worker, if one did.
        signal: Option<i32>,
        /// Processes the reaper had to kill at the end.
        killed: u32,
    },
}

/// A stdout line as the runner reads it: [`Msg`]'s fields flat, with the
/// tag as one more field. `serde` reads an internally tagged enum by
/// buffering the whole line into a generic tree first (most of the
/// runner's CPU per case); a flat struct is read in one pass.
#[derive(Deserialize)]
struct Line {
    kind: LineKind,
    context: Option<Context>,
    reason: Option<String>,
    index: Option<usize>,
    id: Option<String>,
    obs: Option<Box<Observation>>,
    worker: Option<String>,
    signal: Option<i32>,
    killed: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum LineKind {
    Context,
    Skip,
    Result,
    End,
}

/// Read one stdout line (what [`emit`] wrote).
pub(crate) fn decode(line: &str) -> Result<Msg, String> {
    let l: Line = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let missing = |f: &str| format!("missing field `{f}`");
    Ok(match l.kind {
        LineKind::Context => Msg::Context {
            context: l.context.ok_or_else(|| missing("context"))?,
        },
        LineKind::Skip => Msg::Skip {
            reason: l.reason.ok_or_else(|| missing("reason"))?,
        },
        LineKind::Result => Msg::Result {
            index: l.index.ok_or_else(|| missing("index"))?,
            id: l.id.ok_or_else(|| missing("id"))?,
            obs: l.obs.ok_or_else(|| missing("obs"))?,
        },
        LineKind::End => Msg::End {
            worker: l.worker.ok_or_else(|| missing("worker"))?,
            signal: l.signal,
            killed: l.killed.ok_or_else(|| missing("killed"))?,
        },
    })
}

/// A message as one line, newline included.
fn encode(msg: &Msg) -> String {
    let mut line = serde_json::to_string(msg).unwrap_or_else(|e| {
        format!("{{\"kind\":\"skip\",\"reason\":\"cannot encode a message: {e}\"}}")
    });
    line.push('\n');
    line
}

/// Write bytes with a single `write` so lines never interleave.
fn write_out(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Write one line now.
pub(crate) fn emit(msg: &Msg) {
    write_out(encode(msg).as_bytes());
}

/// The longest a result line waits in a [`ResultSink`] once the case after
/// it has ended. A batch writes a few hundred lines a second at least,
/// so the runner still sees progress well inside any stall timeout.
pub(crate) const SINK_DELAY: Duration = Duration::from_millis(50);

/// The worker's result lines, written in batches (a `write` and a runner
/// wake-up per 64 KiB instead of per case; measured: about a tenth of a
/// full check's CPU time). The lines wait in a shared [`LineBuffer`] the
/// reaper writes out if the worker dies ([`flush_left`]), so a crash
/// loses no result and the runner still blames the case in flight. A line
/// waits at most until the buffer is full or [`SINK_DELAY`] has passed at
/// the end of a case.
pub(crate) struct ResultSink<'a> {
    buf: &'a LineBuffer,
    since: Instant,
}

impl<'a> ResultSink<'a> {
    pub(crate) fn new(buf: &'a LineBuffer) -> Self {
        ResultSink {
            buf,
            since: Instant::now(),
        }
    }

    pub(crate) fn push(&mut self, msg: &Msg) {
        let line = encode(msg);
        if !self.buf.append(line.as_bytes()) {
            self.flush();
            if !self.buf.append(line.as_bytes()) {
                // Longer than the whole buffer: nothing waits before it.
                write_out(line.as_bytes());
            }
        }
        if self.since.elapsed() >= SINK_DELAY {
            self.flush();
        }
    }

    /// Write what waits. The buffer is cleared after the write: if the
    /// worker is killed in between, the reaper writes those lines again
    /// and the runner drops them by index.
    pub(crate) fn flush(&mut self) {
        if !self.buf.is_empty() {
            write_out(&self.buf.contents());
            self.buf.clear();
        }
        self.since = Instant::now();
    }
}

impl Drop for ResultSink<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The reaper, once the worker is gone: write the lines it left. A newline
/// first ends a line the worker may have been killed in the middle of
/// writing (the runner skips empty lines and drops repeated results).
pub(crate) fn flush_left(buf: &LineBuffer) {
    if !buf.is_empty() {
        let mut bytes = vec![b'\n'];
        bytes.extend(buf.contents());
        write_out(&bytes);
        buf.clear();
    }
}

/// How much to observe about a case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObserveLevel {
    /// Return value and errno, the child's self-report, tid words, pidfd
    /// kind, which wait option reaped it and the status word. No /proc
    /// reads, no rusage.
    #[default]
    Light,
    /// Everything: also /proc of the child alive and as a zombie, pidfd
    /// fdinfo, rusage, and a full check of signal dispositions.
    Full,
}

/// One case for the probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeCase {
    pub id: String,
    pub request: Request,
    #[serde(default)]
    pub observe: ObserveLevel,
}

/// Test-only: a case whose id starts with this makes the probe worker kill
/// itself with SIGSEGV instead of running the request (to test crash
/// recovery and cleanup).
pub const CRASH_PROBE_ID_PREFIX: &str = "__forklore_crash_probe__";

/// Test-only: a case whose id starts with this makes the probe worker hang
/// (to test the runner's stall timeout).
pub const STALL_PROBE_ID_PREFIX: &str = "__forklore_stall_probe__";

impl ProbeCase {
    pub fn new(id: impl Into<String>, request: Request, observe: ObserveLevel) -> Self {
        ProbeCase {
            id: id.into(),
            request,
            observe,
        }
    }

    /// Test-only: a case that crashes the probe (see [`CRASH_PROBE_ID_PREFIX`]).
    pub fn crash_probe(suffix: &str) -> Self {
        ProbeCase::new(
            format!("{CRASH_PROBE_ID_PREFIX}{suffix}"),
            Request::fork(),
            ObserveLevel::Light,
        )
    }

    /// Test-only: a case that hangs the probe (see [`STALL_PROBE_ID_PREFIX`]).
    pub fn stall_probe(suffix: &str) -> Self {
        ProbeCase::new(
            format!("{STALL_PROBE_ID_PREFIX}{suffix}"),
            Request::fork(),
            ObserveLevel::Light,
        )
    }
}

/// The situation the probe arranges before running a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextSpec {
    /// Whatever the runner is ("root" when run as root).
    AsIs,
    /// An unused uid/gid with no capabilities (as root: setgroups([]),
    /// setgid, setuid to a uid no process uses and /etc/passwd lacks).
    Unprivileged,
    /// Drop one capability (effective, permitted, inheritable, bounding).
    DropCap(u32),
    /// Inside a new user namespace (uid/gid 0 mapped to the caller's).
    UserNs,
    /// Init (pid 1) of a new pid namespace.
    PidNsInit,
    /// After unshare(CLONE_NEWPID), a holder child kept alive as that
    /// namespace's init.
    UnsharePid,
    /// The unprivileged uid with RLIMIT_NPROC = n.
    Nproc(u64),
    /// chroot into a temporary directory.
    Chroot,
    /// In a child user namespace whose user.max_user_namespaces is 0.
    UserNsLimitZero,
    /// Under a seccomp filter that answers clone3 with ENOSYS, as Docker's
    /// default profile does: the environment, not the kernel, decides.
    SeccompClone3Enosys,
    /// PTRACE_SEIZEd (no options) by a tracer process of the probe's own
    /// that passes every stop through: CLONE_PTRACE children are traced.
    Traced,
}

impl ContextSpec {
    /// One context of each kind, in declaration order (the error for an
    /// unknown name lists them so).
    pub const KINDS: [ContextSpec; 11] = [
        ContextSpec::AsIs,
        ContextSpec::Unprivileged,
        ContextSpec::DropCap(forklore_model::cap::CAP_SYS_ADMIN),
        ContextSpec::UserNs,
        ContextSpec::PidNsInit,
        ContextSpec::UnsharePid,
        ContextSpec::Nproc(1),
        ContextSpec::Chroot,
        ContextSpec::UserNsLimitZero,
        ContextSpec::SeccompClone3Enosys,
        ContextSpec::Traced,
    ];

    /// The contexts of a default `forklore check` run, in report order.
    pub const DEFAULT_RUN: [ContextSpec; 11] = [
        ContextSpec::AsIs,
        ContextSpec::Unprivileged,
        ContextSpec::DropCap(forklore_model::cap::CAP_SYS_ADMIN),
        ContextSpec::UserNs,
        ContextSpec::PidNsInit,
        ContextSpec::UnsharePid,
        ContextSpec::Nproc(1),
        ContextSpec::UserNsLimitZero,
        ContextSpec::Chroot,
        ContextSpec::SeccompClone3Enosys,
        ContextSpec::Traced,
    ];

    /// The context's name: the one place the names are spelled.
    pub fn name(&self) -> String {
        match self {
            ContextSpec::AsIs => "root".into(),
            ContextSpec::Unprivileged => "user".into(),
            ContextSpec::DropCap(c) => format!("drop-cap-{}", cap_short_name(*c)),
            ContextSpec::UserNs => "userns".into(),
            ContextSpec::PidNsInit => "pidns-init".into(),
            ContextSpec::UnsharePid => "unshare-pid".into(),
            ContextSpec::Nproc(n) => format!("nproc-{n}"),
            ContextSpec::Chroot => "chroot".into(),
            ContextSpec::UserNsLimitZero => "userns-limit-0".into(),
            ContextSpec::SeccompClone3Enosys => "seccomp-clone3-enosys".into(),
            ContextSpec::Traced => "traced".into(),
        }
    }
}

/// `sys_admin` for 21; the number itself for capabilities caps does not know.
fn cap_short_name(c: u32) -> String {
    caps::all()
        .into_iter()
        .find(|k| k.index() as u32 == c)
        .map(|k| {
            k.to_string()
                .trim_start_matches("CAP_")
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|| c.to_string())
}

impl fmt::Display for ContextSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for ContextSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || {
            let kinds: Vec<String> = ContextSpec::KINDS
                .iter()
                .map(|k| match k {
                    ContextSpec::DropCap(_) => "drop-cap-<name>".into(),
                    ContextSpec::Nproc(_) => "nproc-<n>".into(),
                    k => k.name(),
                })
                .collect();
            format!("unknown context {s:?} ({})", kinds.join(", "))
        };
        let fixed = ContextSpec::KINDS
            .into_iter()
            .filter(|k| !matches!(k, ContextSpec::DropCap(_) | ContextSpec::Nproc(_)))
            .find(|k| k.name() == t);
        if let Some(k) = fixed {
            return Ok(k);
        }
        Ok(match t.as_str() {
            "as-is" | "asis" => ContextSpec::AsIs,
            "unprivileged" => ContextSpec::Unprivileged,
            _ => {
                if let Some(c) = t.strip_prefix("drop-cap-") {
                    if let Ok(n) = c.parse::<u32>() {
                        // A number the probe cannot drop is bad input, not
                        // a context whose every case is skipped.
                        return if caps::all().iter().any(|k| k.index() as u32 == n) {
                            Ok(ContextSpec::DropCap(n))
                        } else {
                            Err(format!("unknown capability number {n} in context {s:?}"))
                        };
                    }
                    let full = format!("CAP_{}", c.to_ascii_uppercase());
                    let k: caps::Capability = full.parse().map_err(|_| bad())?;
                    ContextSpec::DropCap(k.index() as u32)
                } else if let Some(n) = t.strip_prefix("nproc-") {
                    ContextSpec::Nproc(n.parse().map_err(|_| bad())?)
                } else {
                    return Err(bad());
                }
            }
        })
    }
}

/// How a case ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseOutcome {
    /// The call returned a child id.
    Success,
    /// The call returned -errno.
    #[default]
    Error,
    /// The probe crashed, stalled or could not observe the case.
    Broken,
    /// The probe declined to run it (see `skipped`).
    Skipped,
}

/// `struct rusage` of the reaped child (Full observation): the sys layer's
/// one `Rusage`, which is also the wire form.
pub use forklore_sys::Rusage;

/// What the probe saw for one case. Flat; every field is documented with
/// where it comes from. `None` means "not observed" (not applicable, or not
/// at this observation level). On the pipe a `None` field is left out (a
/// failing call's line is a third as long); reports list every field,
/// `null` included (see [`observation_fields`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub outcome: CaseOutcome,
    /// Raw syscall result: the child's tid in the caller's pid namespace, or -errno.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<i64>,
    /// `-ret` when the call failed (raw number kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<Errno>,
    /// gettid() in the child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// getpid() in the child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tgid: Option<i32>,
    /// getppid() in the child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppid: Option<i32>,
    /// The CHILD_SETTID word as the child read it right after starting
    /// (`None`: still untouched, or the pointer was not the probe's word).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_tid: Option<i64>,
    /// The same word once the child is gone (0 shows CHILD_CLEARTID ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_tid_after_exit: Option<i64>,
    /// The PARENT_SETTID word after the call returned (`None`: untouched).
    /// With legacy clone and CLONE_PIDFD this slot holds the pidfd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_tid: Option<i64>,
    /// /proc State letter while the child waited for the go-ahead (Full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proc_state: Option<String>,
    /// /proc State letter once it had exited, before reaping (Full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zombie_state: Option<String>,
    /// /proc details while alive (Full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proc: Option<ProcInfo>,
    /// /proc details as a zombie (Full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zombie: Option<ProcInfo>,
    /// exit_signal from /proc stat field 38 (zombie if seen, else alive; Full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_signal: Option<i32>,
    /// First of plain, __WCLONE, __WALL that reaped it (tried in that order
    /// once the child was a zombie); `callers_parent` when the probe's
    /// reaper did (CLONE_PARENT); `none` for a thread (not waitable, joined
    /// through CHILD_CLEARTID) or an auto-reaped child (see `wait_errno`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaped_by: Option<ReapedBy>,
    /// For `callers_parent`: which option the reaper needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaper_option: Option<ReapedBy>,
    /// The wait status word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_status: Option<i32>,
    /// errno of the wait that found no child (ECHILD: auto-reaped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_errno: Option<Errno>,
    /// Full only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rusage: Option<Rusage>,
    /// The descriptor the kernel wrote is a pidfd, and of which kind
    /// (O_EXCL = PIDFD_THREAD in its flags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pidfd: Option<PidfdKind>,
    /// `Pid:` in the pidfd's fdinfo while the child was alive (Full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pidfd_pid: Option<i32>,
    /// The caller slept until the child exited: the child's "about to exit"
    /// flag was already set when the call returned. Conclusive for Full
    /// cases (the child waits for a go-ahead) and CLONE_VFORK cases; a Light
    /// non-VFORK case whose child had already exited reports `None` (it may
    /// simply have run first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_suspended: Option<bool>,
    /// The caller's getpid() / getppid() (what CLONE_PARENT and
    /// CLONE_THREAD children should report).
    pub caller_pid: i32,
    pub caller_ppid: i32,
    /// The call ran in a throwaway caller forked from the probe, because
    /// the child's exit signal (SIGKILL) kills its caller.
    pub helper_caller: bool,
    /// The signal that killed the caller (the child's exit signal was
    /// delivered to it). With it, `reaped_by` is `none`: the probe's reaper
    /// adopted and reaped the orphan (`reaper_option`, `wait_status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_killed_by: Option<i32>,
    /// The set_tid values actually passed (Unused/PidMax/CallerPid resolved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_tid: Option<Vec<i32>>,
    /// For CgroupFd::Cgroup2: whether the probe could write the target's
    /// and the common ancestor's cgroup.procs (access(W_OK), effective ids).
    /// Measured once per context and reported here for the record; the
    /// model reads it from the context (`Context::cgroup_write`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_procs_writable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_ancestor_writable: Option<bool>,
    /// Wall time of the syscall in the caller, nanoseconds.
    pub call_ns: u64,
    /// Probe state the case changed and the probe put back
    /// (e.g. "SIGCHLD disposition").
    pub restored: Vec<String>,
    /// Why the case is broken (e.g. "probe killed by SIGSEGV").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken: Option<String>,
    /// Why the case was not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Who traced the child while it waited for the go-ahead (Full, and
    /// only when the caller itself is traced: the `traced` context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracer: Option<forklore_model::ptrace::Tracer>,
    /// The call failed with EAGAIN while a task limit was full of what
    /// the suite itself runs: the pids cgroup above the caller had less
    /// than the suite's headroom free (`forklore_observe::limits::pids_tight`
    /// says it), or the caller's uid was at RLIMIT_NPROC with a task count
    /// other than the context measured (the suite's other probes share the
    /// uid when the runner is not root). Which limit, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_short: Option<String>,
}

impl Observation {
    pub fn broken(reason: impl Into<String>) -> Self {
        Observation {
            outcome: CaseOutcome::Broken,
            broken: Some(reason.into()),
            ..Default::default()
        }
    }
    pub fn skipped(reason: impl Into<String>) -> Self {
        Observation {
            outcome: CaseOutcome::Skipped,
            skipped: Some(reason.into()),
            ..Default::default()
        }
    }
}

/// The name of every field of [`Observation`], as serde knows them: the
/// wire leaves `None` fields out, reports put them back as `null`.
pub fn observation_fields() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    static FIELDS: std::sync::OnceLock<&'static [&'static str]> = std::sync::OnceLock::new();
    /// A deserializer that only records the field list serde asks for.
    struct Grab<'a>(&'a mut &'static [&'static str]);
    impl<'de> de::Deserializer<'de> for Grab<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("field names only"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("field names only"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    FIELDS.get_or_init(|| {
        let mut f: &'static [&'static str] = &[];
        let _ = Observation::deserialize(Grab(&mut f));
        f
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_reads_every_message_as_the_enum_does() {
        let obs = Observation {
            outcome: CaseOutcome::Success,
            ret: Some(4242),
            pid: Some(4242),
            proc_state: Some("S".into()),
            ..Observation::default()
        };
        let msgs = [
            Msg::Context {
                context: Context::user("6.18".parse().unwrap()),
            },
            Msg::Skip {
                reason: "no".into(),
            },
            Msg::Result {
                index: 7,
                id: "clone3/flags=0x1".into(),
                obs: Box::new(obs),
            },
            Msg::End {
                worker: "exited 0".into(),
                signal: None,
                killed: 2,
            },
            Msg::End {
                worker: "killed by SIGSEGV".into(),
                signal: Some(11),
                killed: 0,
            },
        ];
        for m in &msgs {
            let line = serde_json::to_string(m).unwrap();
            let fast = decode(&line).unwrap();
            let slow: Msg = serde_json::from_str(&line).unwrap();
            assert_eq!(serde_json::to_string(&fast).unwrap(), line);
            assert_eq!(serde_json::to_string(&slow).unwrap(), line);
        }
        assert!(decode(r#"{"kind":"result","index":1,"id":"x"}"#)
            .unwrap_err()
            .contains("obs"));
        assert!(decode(r#"{"kind":"nonsense"}"#).is_err());
        // A line leaves out what was not observed, and reads back whole.
        let line = serde_json::to_string(&msgs[2]).unwrap();
        assert!(!line.contains("null"), "{line}");
        match decode(&line).unwrap() {
            Msg::Result { obs, .. } => assert_eq!(obs.proc_state.as_deref(), Some("S")),
            _ => panic!("not a result"),
        }
    }

    #[test]
    fn observation_fields_are_every_field() {
        let f = observation_fields();
        // Every field serialised when none is skipped (an Observation with
        // all the skippable ones absent shows only the others).
        let shown = serde_json::to_value(Observation::default()).unwrap();
        let shown = shown.as_object().unwrap();
        for k in shown.keys() {
            assert!(f.contains(&k.as_str()), "{k}");
        }
        for k in [
            "outcome", "ret", "errno", "proc", "zombie", "rusage", "set_tid", "skipped",
        ] {
            assert!(f.contains(&k), "{k}");
        }
        assert!(f.len() > shown.len());
        assert!(decode("not json").is_err());
    }
}
