//! The builds several tasks share, located through cargo's JSON messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::backends::{self, Kind};

/// The release CLI's features: flex (CPU) and wgpu on Vulkan, without the `remote` worker. One
/// build serves the CPU benchmarks and the GPU bundle; flex runs the same either way.
pub fn release_features() -> String {
    [Kind::Flex, Kind::Wgpu, Kind::Vulkan]
        .map(|kind| backends::of(kind).feature)
        .join(",")
}

/// Builds the release `efficientnet` binary with [`release_features`]; its path.
pub fn release_cli(cargo: &str, root: &Path) -> Result<PathBuf, String> {
    let messages = cargo_json(
        Command::new(cargo)
            .current_dir(root)
            .args(["build", "--release", "--locked", "-p", "efficientnet-cli"])
            .args(["--no-default-features", "--features", &release_features()]),
    )?;
    executable(&messages, "efficientnet", false)
        .ok_or_else(|| "cargo built no `efficientnet` binary".into())
}

/// Runs a cargo build with JSON messages on stdout (diagnostics rendered on stderr).
pub fn cargo_json(cmd: &mut Command) -> Result<String, String> {
    cmd.arg("--message-format=json-render-diagnostics");
    eprintln!("xtask: running {cmd:?}");
    let output = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{cmd:?} failed with {}", output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The executable of target `name` in cargo's JSON messages (`test`: the test harness build).
pub fn executable(messages: &str, name: &str, test: bool) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| {
            m["target"]["name"] == json!(name) && m["profile"]["test"].as_bool() == Some(test)
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_test_binary_and_the_cli_in_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"model","kind":["test"]},"profile":{"test":true},"executable":"/t/debug/deps/model-abc"}
{"reason":"compiler-artifact","target":{"name":"efficientnet","kind":["bin"]},"profile":{"test":false},"executable":"/t/release/efficientnet"}
{"reason":"compiler-artifact","target":{"name":"efficientnet","kind":["bin"]},"profile":{"test":true},"executable":"/t/debug/deps/efficientnet-1"}
not json
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable(messages, "model", true),
            Some(PathBuf::from("/t/debug/deps/model-abc"))
        );
        assert_eq!(
            executable(messages, "efficientnet", false),
            Some(PathBuf::from("/t/release/efficientnet"))
        );
        assert_eq!(executable(messages, "train", true), None);
    }
}
