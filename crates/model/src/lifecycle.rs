//! Post-creation semantics (model-spec §3): being written.
