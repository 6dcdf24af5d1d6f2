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

/// The file `name` under the repository's `tests/fixtures/`.
#[allow(dead_code)] // not every test binary reads fixtures
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

/// A full-size, randomly initialised Lite0 written as a timm-layout file `name` in the
/// scratch folder; its path.
#[allow(dead_code)] // not every test binary needs a model
pub fn random_lite0(name: &str) -> String {
    use efficientnet::EfficientNetConfig;
    use efficientnet::weights::{Layout, Precision, export_safetensors};
    let path = scratch(name);
    let device = burn::tensor::Device::flex();
    let model = EfficientNetConfig::from_name("tf_efficientnet_lite0")
        .expect("model")
        .init(&device);
    export_safetensors(&model, Layout::Timm, &path, Precision::F32).expect("export");
    path.to_str().expect("utf-8 path").to_owned()
}

/// Captured output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `train` on a tiny model (B0 at width 0.25, depth 0.34, 32 px) and the built-in synthetic
/// images; tests add the data sizes, epochs, workers and `--out`.
#[allow(dead_code)] // not every test binary trains
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
