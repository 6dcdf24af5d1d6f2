//! The fuzz input as a file: the library's readers take paths, as users give them.

use std::path::PathBuf;

/// Writes `data` to a per-process scratch file named `input.<extension>` and returns its path.
pub fn file(data: &[u8], extension: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("efficientnet-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(format!("input.{extension}"));
    std::fs::write(&path, data).expect("scratch file");
    path
}
