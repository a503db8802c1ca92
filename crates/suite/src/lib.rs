//! forklore-suite: the catalogue, the runner, verdicts and reports.
