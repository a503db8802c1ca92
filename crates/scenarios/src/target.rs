//! Where the exec target is. The program is forklore-sys's embedded
//! `forklore-exec-target` (`crates/sys/helper/exec_target.rs`,
//! [`forklore_sys::exec::EXEC_TARGET_ELF`]): the runner writes it once per
//! [`crate::run`] into a fresh private directory under the temporary
//! directory (`$TMPDIR`, else /tmp), removed when the run ends, and passes
//! its path to every scenario process as `$FORKLORE_EXEC_TARGET`. A path
//! already in `$FORKLORE_EXEC_TARGET` is used as it is (another exec target
//! for an experiment, or the scenario process reading what its runner
//! passed).
//!
//! The scenario processes may run as another uid than the runner (root
//! drops them to an unprivileged one), so the directory is mode 0711 (only
//! its owner may list or change it, anyone may reach the file in it) and the
//! file 0755: readable, since a program its user cannot read runs
//! non-dumpable, which would change what /proc shows of it.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The environment variable naming the exec target.
pub const ENV: &str = "FORKLORE_EXEC_TARGET";

/// Set instead of [`ENV`] for the scenario processes when the runner has
/// no exec target: why (the exec scenarios skip with this reason).
pub const ENV_ERROR: &str = "FORKLORE_EXEC_TARGET_ERROR";

/// The file name the embedded target is written under.
const NAME: &str = "forklore-exec-target";

/// An exec target: a given path, or the embedded program written to a
/// private directory that is removed when this value is dropped.
#[derive(Debug)]
pub struct ExecTarget {
    path: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl ExecTarget {
    /// Where the program is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// In a scenario process: the exec target its runner passed, or why there
/// is none.
pub fn from_env() -> Result<PathBuf, String> {
    match std::env::var_os(ENV).map(PathBuf::from) {
        Some(p) if p.is_file() => Ok(p),
        Some(p) => Err(format!("${ENV} ({}) is not a file", p.display())),
        None => Err(std::env::var(ENV_ERROR)
            .unwrap_or_else(|_| format!("${ENV} is not set (run scenarios through forklore)"))),
    }
}

/// `$FORKLORE_EXEC_TARGET` when set (an error when it names no file), else
/// the embedded program written to a fresh private directory.
pub fn exec_target() -> io::Result<ExecTarget> {
    if let Some(p) = std::env::var_os(ENV) {
        let path = PathBuf::from(p);
        if !path.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("${ENV} ({}) is not a file", path.display()),
            ));
        }
        return Ok(ExecTarget { path, _dir: None });
    }
    write_embedded()
}

/// Write the embedded program to `<tmp>/.forklore-XXXXXX/forklore-exec-target`.
fn write_embedded() -> io::Result<ExecTarget> {
    let dir = tempfile::Builder::new().prefix(".forklore-").tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))?;
    let path = dir.path().join(NAME);
    // std opens with O_CLOEXEC, so a child another thread forks meanwhile
    // drops the write descriptor at its exec and cannot leave the file
    // busy (ETXTBSY) for long.
    std::fs::write(&path, forklore_sys::exec::EXEC_TARGET_ELF)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(ExecTarget {
        path,
        _dir: Some(dir),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn report(t: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, serde_json::Value) {
        let out = Command::new(t)
            .args(args)
            .env_remove("FORKLORE_EXIT_CODE")
            .env_remove("FORKLORE_HOLD_FD")
            .envs(env.iter().copied())
            .output()
            .expect("run the exec target");
        let line = String::from_utf8(out.stdout).expect("utf-8 report");
        assert_eq!(line.matches('\n').count(), 1, "one line: {line:?}");
        let v = serde_json::from_str(line.trim()).expect("one JSON line");
        (out.status.code(), v)
    }

    /// The embedded program, written out, reports its own identity and
    /// exits with the requested code; the directory goes with the value.
    #[test]
    fn the_embedded_target_reports_what_it_sees() {
        let t = write_embedded().expect("write the exec target");
        let dir = t.path().parent().expect("a directory").to_path_buf();
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o7777;
        assert_eq!(mode(&dir), 0o711);
        assert_eq!(mode(t.path()), 0o755);

        let (code, v) = report(
            t.path(),
            &["hello", "a\"b\\c\n"],
            &[("FORKLORE_EXIT_CODE", "7")],
        );
        assert_eq!(code, Some(7));
        let pid = v["pid"].as_i64().expect("pid");
        assert!(pid > 0);
        assert_eq!(v["tid"].as_i64(), Some(pid), "single-threaded: tid == pid");
        assert_eq!(v["ppid"].as_i64(), Some(std::process::id() as i64));
        assert_eq!(v["argc"].as_i64(), Some(3));
        assert_eq!(v["argv"][0].as_str(), t.path().to_str());
        assert_eq!(v["argv"][1], "hello");
        assert_eq!(v["argv"][2], "a\"b\\c\n");
        assert_eq!(v["threads"].as_i64(), Some(1));
        assert_eq!(v["exit_signal"].as_i64(), Some(17), "SIGCHLD");
        assert_eq!(v["altstack_disabled"], true);
        let fds = v["open_fds"].as_array().expect("open_fds");
        assert_eq!(fds[..3], [0, 1, 2], "{fds:?}");
        // Inherited from this process. Not "> 0": a session (or group)
        // whose leader lives outside our pid namespace reads as 0, as in a
        // CI container whose processes descend from a session-0 init.
        let me = std::process::id() as i32;
        for (k, field) in [("pgid", 5), ("sid", 6)] {
            let mine = crate::util::stat_number(me, field).expect(k);
            assert_eq!(v[k].as_i64(), Some(mine), "{k}");
        }
        for k in ["sig_ign", "sig_cgt", "sig_blk"] {
            assert_ne!(v[k].as_u64(), Some(u64::MAX), "{k} was read");
        }
        // What std::process::Command leaves: nothing caught.
        assert_eq!(v["sig_cgt"].as_u64(), Some(0));

        let (code, _) = report(t.path(), &[], &[]);
        assert_eq!(code, Some(42), "default exit code");
        let (code, _) = report(t.path(), &[], &[("FORKLORE_EXIT_CODE", "x")]);
        assert_eq!(code, Some(42), "unparsable exit code");

        drop(t);
        assert!(!dir.exists(), "{} removed", dir.display());
    }

    #[test]
    fn a_named_target_must_exist() {
        // Only this test sets the variable, and only to look it up here.
        let missing = "/nonexistent/forklore-exec-target";
        std::env::set_var(ENV, missing);
        let r = exec_target();
        std::env::remove_var(ENV);
        let e = r.expect_err("a missing named target is an error");
        assert!(e.to_string().contains(missing), "{e}");
    }
}
