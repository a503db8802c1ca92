//! forklore-suite: where the model and the kernel meet. The case catalogue,
//! the runner that feeds cases to probe processes, verdicts, and reports.

pub mod exit;
pub mod explain;
pub mod catalogue;
pub mod input;
pub mod report;
