//! The descriptors a case's clone3 `cgroup` field can refer to, opened
//! while the runner's privileges still hold, and what the context's
//! credentials may do in the cgroup2 targets (an environment fact the
//! probe reports in the [`forklore_model::Context`]).

use crate::protocol::ProbeCase;
use forklore_model::{CgroupAccess, CgroupFd, CgroupWrite, Syscall};
use forklore_observe as observe;
use forklore_sys as sys;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// A cgroup2 directory a case can clone into, and what the probe's
/// credentials may do there.
pub(crate) struct CgroupTarget {
    pub file: File,
    pub path: PathBuf,
    /// Measured by [`Resources::measure_cgroups`] once the context's
    /// credentials are in place.
    pub access: CgroupAccess,
}

impl CgroupTarget {
    fn new(file: File, path: PathBuf) -> Self {
        CgroupTarget {
            file,
            path,
            access: CgroupAccess {
                procs_writable: false,
                ancestor_writable: false,
            },
        }
    }
}

/// Descriptors the cases' `cgroup` field can refer to, opened up front.
pub(crate) struct Resources {
    regular_file: Option<File>,
    non_cgroup_dir: Option<File>,
    cgroup_v1: Option<File>,
    cg2_root: Option<CgroupTarget>,
    cg2_created: Option<CgroupTarget>,
    cg2_created_err: Option<String>,
    /// A descriptor number that is not open (`CgroupFd::NotOpen`).
    not_open_fd: i32,
}

/// What the `cgroup` field of a case holds once lowered.
pub(crate) struct CgroupField {
    /// The value written into the argument block.
    pub value: u64,
    /// For a cgroup2 target: what the context may write there.
    pub access: Option<CgroupAccess>,
}

impl Resources {
    /// Open what the cases refer to. `created` is the cgroup the reaper
    /// created for this batch (or why it could not).
    pub fn open(cases: &[ProbeCase], created: Result<Option<&Path>, &str>) -> Resources {
        let mut r = Resources {
            regular_file: None,
            non_cgroup_dir: None,
            cgroup_v1: None,
            cg2_root: None,
            cg2_created: None,
            cg2_created_err: None,
            not_open_fd: 0,
        };
        let kinds: Vec<CgroupFd> = cases
            .iter()
            .filter(|c| c.request.syscall == Syscall::Clone3)
            .filter_map(|c| c.request.clone3.as_ref().map(|a| a.cgroup))
            .collect();
        let any = |f: &dyn Fn(&CgroupFd) -> bool| kinds.iter().any(f);
        if any(&|k| *k == CgroupFd::RegularFile) {
            r.regular_file = tempfile::tempfile().ok();
        }
        if any(&|k| *k == CgroupFd::NonCgroupDir) {
            r.non_cgroup_dir = File::open("/").ok();
        }
        if any(&|k| *k == CgroupFd::CgroupV1Dir) {
            r.cgroup_v1 = observe::cgroup_v1_mount().and_then(|m| File::open(m).ok());
        }
        if any(&|k| matches!(k, CgroupFd::Cgroup2 { created: false })) {
            r.cg2_root = observe::cgroup2_mount()
                .and_then(|m| Some(CgroupTarget::new(File::open(&m).ok()?, m)));
        }
        if any(&|k| matches!(k, CgroupFd::Cgroup2 { created: true })) {
            match created {
                Ok(Some(d)) => {
                    r.cg2_created = File::open(d)
                        .ok()
                        .map(|f| CgroupTarget::new(f, d.to_path_buf()));
                    if r.cg2_created.is_none() {
                        r.cg2_created_err = Some(format!("cannot open {}", d.display()));
                    }
                }
                Ok(None) => r.cg2_created_err = Some("no created cgroup".into()),
                Err(e) => r.cg2_created_err = Some(e.to_string()),
            }
        }
        r.not_open_fd = (100..)
            .find(|fd| !sys::fd_is_open(*fd))
            .unwrap_or(1_000_000);
        r
    }

    /// Measure the cgroup2 targets' write permissions as the current
    /// credentials (call after the context changed them, before chroot).
    pub fn measure_cgroups(&mut self) {
        let Some(m) = observe::cgroup2_mount() else {
            return;
        };
        for t in [&mut self.cg2_root, &mut self.cg2_created]
            .into_iter()
            .flatten()
        {
            let (p, a) = cgroup_access(&m, &t.path);
            t.access = CgroupAccess {
                procs_writable: p,
                ancestor_writable: a,
            };
        }
    }

    /// The measured access to the cgroup2 targets, for the context.
    pub fn cgroup_write(&self) -> CgroupWrite {
        CgroupWrite {
            root: self.cg2_root.as_ref().map(|t| t.access),
            created: self.cg2_created.as_ref().map(|t| t.access),
        }
    }

    /// The value a case's `cgroup` field lowers to, or why the probe
    /// cannot provide the descriptor it names.
    pub fn cgroup_field(&self, c: CgroupFd) -> Result<CgroupField, String> {
        let plain = |value: u64| {
            Ok(CgroupField {
                value,
                access: None,
            })
        };
        let fd = |f: &Option<File>, why: &str| -> Result<CgroupField, String> {
            f.as_ref()
                .map(|f| CgroupField {
                    value: f.as_raw_fd() as u64,
                    access: None,
                })
                .ok_or_else(|| why.to_string())
        };
        match c {
            CgroupFd::Zero => plain(0),
            CgroupFd::Raw(v) => plain(v),
            CgroupFd::NotOpen => plain(self.not_open_fd as u64),
            CgroupFd::RegularFile => fd(&self.regular_file, "cannot create a regular file"),
            CgroupFd::NonCgroupDir => fd(&self.non_cgroup_dir, "cannot open /"),
            CgroupFd::CgroupV1Dir => fd(&self.cgroup_v1, "no cgroup v1 hierarchy is mounted"),
            CgroupFd::Cgroup2 { created } => {
                let t = if created {
                    &self.cg2_created
                } else {
                    &self.cg2_root
                };
                let Some(t) = t else {
                    return Err(if created {
                        self.cg2_created_err
                            .clone()
                            .unwrap_or("no created cgroup".into())
                    } else {
                        "no cgroup2 hierarchy is mounted".into()
                    });
                };
                Ok(CgroupField {
                    value: t.file.as_raw_fd() as u64,
                    access: Some(t.access),
                })
            }
        }
    }
}

fn common_ancestor(a: &str, b: &str) -> String {
    let pa: Vec<&str> = a.split('/').filter(|s| !s.is_empty()).collect();
    let pb: Vec<&str> = b.split('/').filter(|s| !s.is_empty()).collect();
    let n = pa.iter().zip(&pb).take_while(|(x, y)| x == y).count();
    format!("/{}", pa[..n].join("/"))
}

fn writable(p: &Path) -> bool {
    nix::unistd::faccessat(
        nix::fcntl::AT_FDCWD,
        p,
        nix::unistd::AccessFlags::W_OK,
        nix::fcntl::AtFlags::AT_EACCESS,
    )
    .is_ok()
}

/// cgroup.procs write permission of `dir` and of the common ancestor of
/// the caller's cgroup and `dir` (cgroup_procs_write_permission).
fn cgroup_access(mount_point: &Path, dir: &Path) -> (bool, bool) {
    let rel = dir
        .strip_prefix(mount_point)
        .map(|p| format!("/{}", p.display()))
        .unwrap_or("/".into());
    let src = observe::self_cgroup2_path().unwrap_or("/".into());
    let anc = common_ancestor(&src, &rel);
    let anc_dir = mount_point.join(anc.trim_start_matches('/'));
    (
        writable(&dir.join("cgroup.procs")),
        writable(&anc_dir.join("cgroup.procs")),
    )
}

#[cfg(test)]
mod tests {
    use super::common_ancestor;

    #[test]
    fn common_ancestor_of_cgroup_paths() {
        assert_eq!(common_ancestor("/a/b/c", "/a/b/d"), "/a/b");
        assert_eq!(common_ancestor("/a", "/b"), "/");
        assert_eq!(common_ancestor("/", "/x"), "/");
    }
}
