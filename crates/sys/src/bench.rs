//! Raw process-creation loops for forklore-bench. PLACEHOLDER: being written.
