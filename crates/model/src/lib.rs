//! forklore-model: the reference model of the Linux kernel's process-creation
//! checks (fork, vfork, clone, clone3), keyed by kernel version and by the
//! caller's context. Pure: no I/O and no syscalls (`forbid(unsafe_code)`).
//!
//! `predict(&Request, &Context) -> Prediction`.

#![forbid(unsafe_code)]

#[macro_use]
mod ruledef;
pub mod arch;
pub mod context;
pub mod errno;
pub mod execveat;
pub mod flags;
pub mod kthread;
pub mod lifecycle;
pub mod prediction;
pub mod ptrace;
pub mod request;
pub mod rules;
pub mod session;
pub mod verdict;
pub mod version;

pub use arch::{Arch, AARCH64_ONLY, ALL_ARCHES, X86_64_ONLY};
pub use context::{cap, Caps, CgroupAccess, CgroupWrite, Context, MissingFacility, Nproc};
pub use errno::Errno;
pub use prediction::{
    Outcome, Parent, PidfdKind, Prediction, ReapedBy, RuleInfo, Semantics, VersionRange,
};
pub use request::{
    clone3_default_exit_signal, ArgsMem, CgroupFd, Clone3Args, Ptr, Request, SetTid, Stack,
    Syscall, TidSpec, Tls,
};
pub use rules::{predict, RULES};
pub use verdict::Verdict;
pub use version::KernelVersion;
