//! forklore-probe: the probe engine process.
