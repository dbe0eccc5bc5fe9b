//! File writes that never leave a half-written file: write a temporary file
//! beside the target, flush it to disk, then rename it over the target. And
//! the lock that serialises writers of a shared directory.

use std::io::Write;
use std::path::Path;

/// Replaces the contents of `path` with `bytes` atomically, keeping its
/// permissions. A symlink is followed: its target is rewritten, the link stays.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    stage(path, bytes)?.commit()
}

/// A file's new contents, flushed to a temporary file beside it and not yet
/// in place. Dropping it removes the temporary file; the target is untouched.
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    target: std::path::PathBuf,
}

impl Staged {
    /// Renames the new contents over the target.
    pub fn commit(self) -> Result<(), String> {
        self.tmp
            .persist(&self.target)
            .map_err(|e| format!("cannot replace the file: {}", e.error))?;
        Ok(())
    }
}

/// Everything [`write_atomic`] does short of the final rename: the part
/// that can fail for want of space or permissions.
pub fn stage(path: &Path, bytes: &[u8]) -> Result<Staged, String> {
    let target =
        std::fs::canonicalize(path).map_err(|e| format!("cannot resolve the path: {e}"))?;
    let dir = target
        .parent()
        .ok_or_else(|| "it has no parent directory".to_string())?;
    let permissions = std::fs::metadata(&target).ok().map(|m| m.permissions());
    let mut tmp = tempfile::Builder::new()
        .prefix(".wharf-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot create a temporary file in {}: {e}", dir.display()))?;
    tmp.write_all(bytes)
        .map_err(|e| format!("cannot write: {e}"))?;
    if let Some(p) = permissions {
        tmp.as_file()
            .set_permissions(p)
            .map_err(|e| format!("cannot keep the file's permissions: {e}"))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| format!("cannot flush to disk: {e}"))?;
    Ok(Staged { tmp, target })
}

/// Replaces several files: every new content is written and flushed beside
/// its file first, and only when all of them are staged is each renamed into
/// place. A failure while staging changes no file.
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> crate::Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let s = stage(path, bytes).map_err(|e| crate::Error::file(path, e))?;
        staged.push((*path, s));
    }
    for (path, s) in staged {
        s.commit().map_err(|e| crate::Error::file(path, e))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` all at once: a new file is created, an
/// existing one replaced atomically (keeping its permissions).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if path.exists() {
        return write_atomic(path, bytes);
    }
    let tmp = filled_temp(path, bytes, 0o644)?;
    tmp.persist(path)
        .map_err(|e| format!("cannot create the file: {}", e.error))?;
    Ok(())
}

/// Creates `path` with `bytes` and `mode`, all at once; an existing file
/// is never replaced (a key, say).
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let tmp = filled_temp(path, bytes, mode)?;
    tmp.persist_noclobber(path)
        .map_err(|e| format!("cannot create the file: {}", e.error))?;
    Ok(())
}

/// A temporary file beside `path` holding `bytes`, with `mode`, flushed to
/// disk; dropped (removed) unless persisted.
fn filled_temp(path: &Path, bytes: &[u8], mode: u32) -> Result<tempfile::NamedTempFile, String> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".wharf-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot create a temporary file in {}: {e}", dir.display()))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot set the file's permissions: {e}"))?;
    tmp.write_all(bytes)
        .map_err(|e| format!("cannot write: {e}"))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| format!("cannot flush to disk: {e}"))?;
    Ok(tmp)
}

/// Reads a whole file of at most `max` bytes; `what` names it in errors
/// ("the bundle", "the predicate"). A larger file is refused, never cut.
pub fn read_bounded(path: &Path, max: u64, what: &str) -> crate::Result<Vec<u8>> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| crate::Error::file(path, format!("cannot read {what}: {e}"));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > max {
        return Err(crate::Error::file(
            path,
            format!("larger than {} MiB: too big for {what}", max >> 20),
        ));
    }
    Ok(bytes)
}

/// Takes an exclusive lock on `path` (created when `create`), waiting for
/// another holder and saying so on stderr, naming `what` is locked. The lock
/// lasts until the returned file is dropped; `None` on a file system
/// without locks (some network mounts), where writers go unserialised.
/// An error does not name `path`: the caller does.
pub fn lock(path: &Path, create: bool, what: &str) -> Result<Option<std::fs::File>, String> {
    let file = if create {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
    } else {
        std::fs::File::open(path)
    }
    .map_err(|e| format!("cannot open it to lock {what}: {e}"))?;
    let held = match file.try_lock() {
        Ok(()) => return Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => {
            crate::report::info(&format!(
                "waiting for another wharf process to finish with {what} ..."
            ));
            file.lock()
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    };
    match held {
        Ok(()) => Ok(Some(file)),
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => Ok(None),
        Err(e) => Err(format!("cannot lock {what}: {e}")),
    }
}

/// wharf's cache root (the OSV database, TUF metadata):
/// `$WHARF_CACHE_DIR`, else `$XDG_CACHE_HOME/wharf` (if absolute, as the XDG
/// spec asks), else `$HOME/.cache/wharf`.
pub fn cache_root() -> crate::Result<std::path::PathBuf> {
    use std::path::PathBuf;
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("WHARF_CACHE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(xdg) = var("XDG_CACHE_HOME").map(PathBuf::from) {
        if xdg.is_absolute() {
            return Ok(xdg.join("wharf"));
        }
    }
    if let Some(home) = var("HOME") {
        return Ok(PathBuf::from(home).join(".cache").join("wharf"));
    }
    Err(crate::Error::Usage(
        "cannot find a cache directory: set WHARF_CACHE_DIR (or HOME)".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_keeps_mode_and_leaves_no_temp_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("values.yaml");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&file, b"new").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn writes_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        let link = dir.path().join("link.yaml");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn a_batch_that_cannot_stage_every_file_changes_none() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a.yaml");
        let gone = dir.path().join("gone/b.yaml");
        std::fs::write(&first, "old").unwrap();
        let err = write_all_atomic(&[(&first, b"new"), (&gone, b"new")]).unwrap_err();
        assert!(err.to_string().contains("gone/b.yaml"), "{err}");
        assert_eq!(std::fs::read(&first).unwrap(), b"old");
        // No temporary file is left behind either.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_all_atomic(&[(&first, b"new")]).unwrap();
        assert_eq!(std::fs::read(&first).unwrap(), b"new");
    }
}
