//! forklore-suite: where the model and the kernel meet. The case catalogue,
//! the runner that feeds cases to probe processes, verdicts, and reports.
//! The command line that drives it lives in the `forklore` crate.

#![forbid(unsafe_code)]

pub mod baseline;
pub mod catalogue;
pub mod check;
pub mod diff;
pub mod divergence;
pub mod explain;
pub mod fingerprint;
pub mod input;
pub mod kcidb;
pub mod report;
pub mod report_merge;
pub mod scenario_case;
pub mod verdict;
