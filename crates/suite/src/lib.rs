//! forklore-suite: where the model and the kernel meet. The case catalogue,
//! the runner that feeds cases to probe processes, verdicts, and reports.

pub mod catalogue;
pub mod check;
pub mod cli;
pub mod exit;
pub mod explain;
pub mod input;
pub mod report;
pub mod verdict;
