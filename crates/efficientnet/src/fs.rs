//! Crash-safe file writes: a file is either its old self or completely new, never cut short.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Suffix of the temporary file [`write_atomically`] writes before renaming it into place.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// `<path>.partial`, where [`write_atomically`] stages `path`.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(PARTIAL_SUFFIX);
    PathBuf::from(name)
}

/// Writes `bytes` to `path` so that, whenever the process dies or the disk fills up, `path`
/// holds either its previous content (or nothing) or all of `bytes`.
///
/// The bytes go to `<path>.partial`, are flushed to the device, and that file is renamed over
/// `path` (a rename within a directory is atomic on POSIX file systems); then the directory
/// entry is flushed too. On error the partial file is removed and `path` is untouched.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let partial = partial_path(path);
    let written = (|| {
        let mut file = File::create(&partial)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&partial, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
        return written;
    }
    // Make the rename itself durable; not every platform lets a directory be opened/synced.
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// [`write_atomically`] with its error as this crate's [`Error::Io`] naming `path`.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_leaves_no_partial() {
        let dir = std::env::temp_dir().join(format!("efficientnet-fs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("a.bin");
        write_atomically(&path, b"first").expect("write");
        write_atomically(&path, b"second, longer").expect("overwrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"second, longer");
        assert!(!partial_path(&path).exists());
        // A failed write (the target is a directory) leaves nothing behind.
        let err = write_atomically(&dir, b"x").expect_err("a directory");
        assert!(!partial_path(&dir).exists(), "{err}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
