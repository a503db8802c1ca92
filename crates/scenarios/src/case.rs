//! The types a scenario case is made of: the catalogue entry ([`Case`]),
//! what it knows about its host ([`Ctx`]), what it returns ([`Check`], built
//! with [`Facts`]) or why it returned nothing ([`Abort`]).

use forklore_model::lifecycle::Expect;
use forklore_model::{Errno, KernelVersion};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

/// How long a case waits for one expected event before calling it missing.
pub const STEP: Duration = Duration::from_secs(5);

pub struct Case {
    pub id: &'static str,
    pub needs_root: bool,
    /// Facilities of the environment the case cannot run without (names
    /// as in [`forklore_model::MissingFacility`], e.g. `subreaper`).
    pub needs: &'static [&'static str],
    pub description: &'static str,
    pub run: fn(&Ctx) -> Result<Check, Abort>,
}

impl Case {
    pub fn group(&self) -> &'static str {
        self.id.split('/').nth(1).unwrap_or("unknown")
    }
}

/// Why a case did not produce a comparison.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Abort {
    Skip(String),
    Env(String),
    Broken(String),
}

/// `?` on a setup call: a shortage of the suite's own descriptors, tasks
/// or memory is `Env` with the limit named; any other error is `Broken`.
impl From<nix::errno::Errno> for Abort {
    fn from(e: nix::errno::Errno) -> Abort {
        match forklore_observe::limits::shortage(e as i32, "set up the case") {
            Some(why) => Abort::Env(why),
            None => Abort::Broken(format!("setup: {e}")),
        }
    }
}

impl From<std::io::Error> for Abort {
    fn from(e: std::io::Error) -> Abort {
        match e
            .raw_os_error()
            .and_then(|n| forklore_observe::limits::shortage(n, "set up the case"))
        {
            Some(why) => Abort::Env(why),
            None => Abort::Broken(format!("setup: {e}")),
        }
    }
}

/// Expected and observed facts, keyed alike, and the rules that decided.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Check {
    pub expected: Value,
    pub observed: Value,
    pub rules: Vec<String>,
    pub note: Option<String>,
}

/// Builds a [`Check`] one fact at a time.
#[derive(Default)]
pub struct Facts {
    exp: Map<String, Value>,
    obs: Map<String, Value>,
    rules: Vec<String>,
}

impl Facts {
    pub fn new() -> Facts {
        Facts::default()
    }
    /// Record one fact: the model's expectation and the observation.
    pub fn add<T: Serialize, O: Serialize>(
        &mut self,
        key: &str,
        e: Expect<T>,
        observed: O,
    ) -> &mut Self {
        self.exp.insert(
            key.into(),
            serde_json::to_value(&e.value).unwrap_or(Value::Null),
        );
        self.obs.insert(
            key.into(),
            serde_json::to_value(&observed).unwrap_or(Value::Null),
        );
        if !self.rules.iter().any(|r| r == e.rule) {
            self.rules.push(e.rule.to_string());
        }
        self
    }
    pub fn done(&mut self) -> Result<Check, Abort> {
        Ok(Check {
            expected: Value::Object(std::mem::take(&mut self.exp)),
            observed: Value::Object(std::mem::take(&mut self.obs)),
            rules: std::mem::take(&mut self.rules),
            note: None,
        })
    }
}

/// What a case knows about its host.
pub struct Ctx {
    pub kernel: KernelVersion,
    /// The exec target, or why there is none.
    pub target: Result<PathBuf, String>,
}

/// The kernel version declared with `--kernel` (the scenario process's
/// `--kernel` argument), which replaces the detected one.
pub static DECLARED_KERNEL: std::sync::OnceLock<KernelVersion> = std::sync::OnceLock::new();

impl Ctx {
    pub fn detect() -> Ctx {
        Ctx {
            // observe applies the Debian/Ubuntu handling (uname -v,
            // /proc/version_signature) the suite uses for its own cases.
            // The runner refuses an unknown version unless one is declared.
            kernel: DECLARED_KERNEL.get().copied().unwrap_or_else(|| {
                forklore_observe::kernel_version().unwrap_or(KernelVersion::new(0, 0, 0))
            }),
            target: crate::target::from_env(),
        }
    }
    /// The exec target, or Skip.
    pub fn target(&self) -> Result<PathBuf, Abort> {
        let t = self
            .target
            .clone()
            .map_err(|why| Abort::Skip(format!("no exec target: {why}")))?;
        // An unprivileged uid may not reach a root-owned target directory.
        if nix::unistd::access(&t, nix::unistd::AccessFlags::X_OK).is_err() {
            return Err(Abort::Skip(format!(
                "{} is not executable by uid {}",
                t.display(),
                nix::unistd::geteuid().as_raw()
            )));
        }
        Ok(t)
    }
}

/// An errno as its name (`"ECHILD"`), for comparisons.
pub fn ename(e: forklore_sys::Errno) -> String {
    Errno(e.raw()).to_string()
}

/// An optional errno as a name or `"ok"`.
pub fn outcome(e: Option<Errno>) -> String {
    e.map(|e| e.to_string()).unwrap_or_else(|| "ok".into())
}
