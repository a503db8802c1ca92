//! forklore-bench: latency workbench.
