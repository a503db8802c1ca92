//! What a scenario run reports: the catalogue entry and the result line.

use serde::{Deserialize, Serialize};

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
