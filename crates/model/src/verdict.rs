//! The verdict vocabulary shared by the generated cases (forklore-suite) and
//! the lifecycle scenarios (forklore-scenarios): what one comparison of an
//! observation with the model's expectation came to.

use serde::{Deserialize, Serialize};

/// The outcome of one case. Serialised in lowercase (`"pass"`, `"fail"`,
/// `"skip"`, `"env"`, `"broken"`, `"xfail"`), in reports and on the scenario
/// wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Observed equals predicted.
    Pass,
    /// The kernel and the model disagree.
    Fail,
    /// A precondition is missing (not root, no cgroup2, kernel too old, no
    /// exec target...).
    Skip,
    /// The environment decided, not the kernel rule (seccomp, LSM, resources).
    Env,
    /// The case could not run: setup failed, the probe or scenario crashed
    /// or timed out.
    Broken,
    /// A fail that a baseline (`check --expect FILE`) lists as a known
    /// divergence: reported, not counted as a failure. Only the report
    /// assigns it; a comparison never does.
    Xfail,
}

impl Verdict {
    /// The serialised name (`"pass"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
            Verdict::Env => "env",
            Verdict::Broken => "broken",
            Verdict::Xfail => "xfail",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Verdict;

    #[test]
    fn serde_names_are_the_as_str_names() {
        for v in [
            Verdict::Pass,
            Verdict::Fail,
            Verdict::Skip,
            Verdict::Env,
            Verdict::Broken,
            Verdict::Xfail,
        ] {
            let s = serde_json::to_string(&v).unwrap();
            assert_eq!(s, format!("\"{}\"", v.as_str()));
            assert_eq!(serde_json::from_str::<Verdict>(&s).unwrap(), v);
        }
    }
}
