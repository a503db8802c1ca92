//! forklore-scenarios: hand-written lifecycle scenarios (issue: lifecycle). Being written.
