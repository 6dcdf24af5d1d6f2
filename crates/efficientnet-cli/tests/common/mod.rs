//! What the CLI's test binaries share: the binary, scratch paths, output text, a tiny run.

use std::path::PathBuf;
use std::process::Command;

/// The `efficientnet` binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_efficientnet"))
}

/// A fresh path `name` in this test process's temp folder (anything left there is removed).
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("efficientnet-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    path
}

/// Captured output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `train` on a tiny model (B0 at width 0.25, depth 0.34, 32 px) and the built-in synthetic
/// images; tests add the data sizes, epochs, workers and `--out`.
pub const TINY_TRAIN: [&str; 11] = [
    "train",
    "--width",
    "0.25",
    "--depth",
    "0.34",
    "--image-size",
    "32",
    "--batch-size",
    "16",
    "--lr",
    "0.002",
];
