//! Raw syscalls for the lifecycle scenarios: being written.
