//! Where the exec target (`forklore-exec-target`, crates/scenarios/exec-target)
//! is: `$FORKLORE_EXEC_TARGET`, else next to the current executable or one
//! directory up (test binaries live in target/*/deps).

use std::path::PathBuf;

/// Locate the exec target; None when it is not there.
pub fn exec_target() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FORKLORE_EXEC_TARGET") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [
        dir.join("forklore-exec-target"),
        dir.parent()?.join("forklore-exec-target"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}
