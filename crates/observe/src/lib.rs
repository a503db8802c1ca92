//! forklore-observe: /proc readers and host-context detection.
