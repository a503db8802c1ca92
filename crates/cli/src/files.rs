//! Report files: the checks every output path (`check --output`, `bench
//! --output`, `bench --plot`) passes before any work, and the atomic write
//! that replaces the file afterwards.
//!
//! An output path is a regular file (replaced: its mode, and its owner
//! where we may set it, are kept) or a new name in an existing directory we
//! can write in (created 0666 minus the umask, i.e. 0644 under umask 022).
//! Anything else is refused up front, exit 2: a symbolic link, a device
//! node, a FIFO or a socket is never replaced by a regular file, and a FIFO
//! is never opened (that would block).

use forklore_suite::input::InputError;
use std::fs::{self, Metadata, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

/// Longest file name (a path component) Linux file systems take.
const NAME_MAX: usize = 255;
/// Longest path the kernel takes (with its terminating NUL).
const PATH_MAX: usize = 4096;

/// What a non-regular file is, in words.
pub fn kind(m: &Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Refuse (one line naming `option`) an output path that the write at the
/// end of the run would not take: see the module docs.
pub fn check_output(option: &str, path: &Path) -> Result<(), InputError> {
    let shown = path.display();
    let bad = |why: String| InputError(format!("{option} {shown}: {why}"));
    let Some(name) = path.file_name() else {
        return Err(bad("not a file name".into()));
    };
    if name.len() > NAME_MAX {
        return Err(bad(format!(
            "file name too long ({} bytes, at most {NAME_MAX})",
            name.len()
        )));
    }
    if path.as_os_str().len() >= PATH_MAX {
        return Err(bad(format!(
            "path too long (at most {} bytes)",
            PATH_MAX - 1
        )));
    }
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(m) => {
            return Err(bad(format!(
                "is {}; only a regular file or a new name is replaced",
                kind(&m)
            )))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(bad(e.to_string())),
    }
    let dir = dir_of(path);
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(bad(format!("{} is not a directory", dir.display()))),
        Err(e) => return Err(bad(format!("{}: {e}", dir.display()))),
    }
    // The write creates a temporary file next to the report: try it.
    temp_in(dir)
        .map(drop)
        .map_err(|e| bad(format!("cannot create a file in {}: {e}", dir.display())))
}

fn temp_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".forklore-")
        .suffix(".tmp")
        // open(2)'s mode: the umask applies (0644 under umask 022).
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
}

/// Write `bytes` to `path` atomically: a temporary file in the same
/// directory, synced, then renamed over `path`. An existing regular file
/// keeps its mode and (where we may set it) its owner; anything else at
/// `path` is left alone and the write fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let existing = match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => Some(m),
        Ok(m) => {
            return Err(io::Error::other(format!(
                "is {} now; not replaced",
                kind(&m)
            )))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let dir = dir_of(path);
    let mut tmp = temp_in(dir)?;
    if let Some(m) = &existing {
        // Owner first: chown clears the set-id bits chmod then restores.
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(m.uid()), Some(m.gid()));
        tmp.as_file()
            .set_permissions(Permissions::from_mode(m.mode() & 0o7777))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    match existing {
        Some(_) => tmp.persist(path).map_err(|e| e.error)?,
        // A new name stays new: never replace what appeared meanwhile.
        None => tmp.persist_noclobber(path).map_err(|e| e.error)?,
    };
    // The rename is durable once the directory is.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Refuse (one line naming `option`) an input file that is not a regular
/// file (a FIFO would block the read, a directory cannot be read).
pub fn check_input(option: &str, path: &Path) -> Result<(), InputError> {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(m) => Err(InputError(format!(
            "{option} {}: is {}, not a regular file",
            path.display(),
            kind(&m)
        ))),
        Err(e) => Err(InputError(format!("{option} {}: {e}", path.display()))),
    }
}

/// The text of an input file (`--expect`, `baseline`, `diff`): a regular
/// file in UTF-8, else one line naming `option` (exit 2).
pub fn read_input(option: &str, path: &Path) -> Result<String, InputError> {
    check_input(option, path)?;
    let bytes =
        fs::read(path).map_err(|e| InputError(format!("{option} {}: {e}", path.display())))?;
    String::from_utf8(bytes)
        .map_err(|_| InputError(format!("{option} {}: not UTF-8 text", path.display())))
}

/// A JSON input file (`baseline`, `diff`), parsed; one line on error.
pub fn read_json(option: &str, path: &Path) -> Result<serde_json::Value, InputError> {
    let text = read_input(option, path)?;
    serde_json::from_str(&text)
        .map_err(|e| InputError(format!("{option} {}: not JSON: {e}", path.display())))
}
