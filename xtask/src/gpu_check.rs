//! `cargo xtask gpu-check`: on a machine with a GPU and a Vulkan driver, one command that
//! builds once, runs the backend suite on wgpu/Vulkan, times B0 inference (batch 64 and 256)
//! and B0 training steps (batch 64; f32, bf16 and f16 mixed precision) with `efficientnet bench`,
//! and writes everything to one JSON report. Sized for a short GPU lease: one build (the test
//! profile, whose dependencies are optimised), then about a minute of GPU work.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

use crate::backends::{self, Kind};

/// The runs to time: (label, bench arguments).
const BENCHES: [(&str, &[&str]); 6] = [
    (
        "B0 inference, batch 64, 224 px",
        &["--mode", "infer", "--batch-size", "64"],
    ),
    (
        "B0 inference, batch 256, 224 px",
        &["--mode", "infer", "--batch-size", "256"],
    ),
    (
        "B0 inference f16, batch 256, 224 px",
        &[
            "--mode",
            "infer",
            "--batch-size",
            "256",
            "--precision",
            "f16",
        ],
    ),
    (
        "B0 training step f32, batch 64, 224 px",
        &["--mode", "train", "--batch-size", "64"],
    ),
    (
        "B0 training step bf16 mixed, batch 64, 224 px",
        &[
            "--mode",
            "train",
            "--batch-size",
            "64",
            "--precision",
            "bf16",
        ],
    ),
    (
        "B0 training step f16 mixed + loss scaling, batch 64, 224 px",
        &[
            "--mode",
            "train",
            "--batch-size",
            "64",
            "--precision",
            "f16",
        ],
    ),
];

/// Runs `cmd`, returning (success, stdout, stderr, seconds).
fn capture(cmd: &mut Command) -> Result<(bool, String, String, f64), String> {
    eprintln!("xtask gpu-check: {cmd:?}");
    let started = Instant::now();
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    Ok((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed().as_secs_f64(),
    ))
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One line of a tool's output, or `null` when the tool is missing.
fn probe(program: &str, args: &[&str]) -> Value {
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {
            Value::String(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        _ => Value::Null,
    }
}

/// Executables of the build, from cargo's JSON messages: (test binary `model`, CLI binary).
fn executables(messages: &str) -> (Option<PathBuf>, Option<PathBuf>) {
    let (mut model, mut cli) = (None, None);
    for line in messages.lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(path) = message["executable"].as_str() else {
            continue;
        };
        let name = message["target"]["name"].as_str().unwrap_or_default();
        let test = message["profile"]["test"].as_bool().unwrap_or(false);
        match (name, test) {
            ("model", true) => model = Some(PathBuf::from(path)),
            ("efficientnet", false) => cli = Some(PathBuf::from(path)),
            _ => {}
        }
    }
    (model, cli)
}

/// Runs the check and writes the report to `out`.
pub fn run(cargo: &str, root: &Path, out: &Path, device: &str) -> Result<(), String> {
    let started = Instant::now();
    let mut report = json!({
        "device": device,
        "gpu": probe("nvidia-smi", &["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]),
        "vulkan": probe("vulkaninfo", &["--summary"]),
        "profile": "test (dependencies and this workspace at opt-level 3, debug assertions on)",
    });
    let Some(messages) = build(cargo, root, &mut report)? else {
        write(out, &report)?;
        return Err(format!("build failed; see {}", out.display()));
    };
    let (model, cli) = executables(&messages);
    let model = model.ok_or("cargo built no `model` test binary")?;
    let cli = cli.ok_or("cargo built no `efficientnet` binary")?;
    report["wgpu_backend_suite"] = backend_suite(root, &model)?;
    report["benches"] = Value::Array(benches(root, &cli, device)?);
    report["total_seconds"] = json!(started.elapsed().as_secs_f64());
    write(out, &report)?;
    println!("gpu-check report: {}", out.display());
    if report["wgpu_backend_suite"]["passed"] != json!(true) {
        return Err("the wgpu backend suite failed; see the report".into());
    }
    Ok(())
}

/// One build: the test binaries and the CLI, with wgpu (+ fusion, autotune) in the CLI.
/// Returns cargo's JSON messages, or `None` with the error in `report`.
fn build(cargo: &str, root: &Path, report: &mut Value) -> Result<Option<String>, String> {
    let feature = format!("efficientnet-cli/{}", backends::of(Kind::Wgpu).feature);
    let (ok, stdout, stderr, seconds) = capture(
        Command::new(cargo)
            .current_dir(root)
            .args([
                "test",
                "--workspace",
                "--no-run",
                "--message-format=json-render-diagnostics",
            ])
            .args(["--features", &feature]),
    )?;
    report["build_seconds"] = json!(seconds);
    if !ok {
        report["build_error"] = json!(tail(&stderr, 40));
        return Ok(None);
    }
    Ok(Some(stdout))
}

/// The backend suite on wgpu, a Vulkan adapter required.
fn backend_suite(root: &Path, model: &Path) -> Result<Value, String> {
    let (ok, stdout, stderr, seconds) = capture(
        Command::new(model)
            .current_dir(root.join("crates/efficientnet"))
            .args(["backends::wgpu", "--nocapture", "--test-threads=1"])
            .env("EFFICIENTNET_REQUIRE_VULKAN", "1"),
    )?;
    Ok(json!({
        "passed": ok,
        "seconds": seconds,
        "log": tail(&format!("{stdout}\n{stderr}"), 40),
    }))
}

/// Every run of [`BENCHES`] on `device`: its label, seconds and report (or error).
fn benches(root: &Path, cli: &Path, device: &str) -> Result<Vec<Value>, String> {
    let mut benches = Vec::new();
    for (label, args) in BENCHES {
        let (ok, stdout, stderr, seconds) = capture(
            Command::new(cli)
                .current_dir(root)
                .args([
                    "--device",
                    device,
                    "bench",
                    "--model",
                    "efficientnet_b0",
                    "--json",
                ])
                .args(["--warmup", "3", "--iters", "10"])
                .args(args),
        )?;
        let result = match serde_json::from_str::<Value>(&stdout) {
            Ok(value) if ok => value,
            _ => json!({ "error": tail(&format!("{stdout}\n{stderr}"), 12) }),
        };
        eprintln!("xtask gpu-check: {label}: {result}");
        benches.push(json!({ "label": label, "seconds": seconds, "result": result }));
    }
    Ok(benches)
}

/// Writes `report` as pretty JSON to `out`.
fn write(out: &Path, report: &Value) -> Result<(), String> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(out, text + "\n").map_err(|e| format!("{}: {e}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_test_binary_and_the_cli_in_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"model","kind":["test"]},"profile":{"test":true},"executable":"/t/debug/deps/model-abc"}
{"reason":"compiler-artifact","target":{"name":"efficientnet","kind":["bin"]},"profile":{"test":false},"executable":"/t/debug/efficientnet"}
{"reason":"compiler-artifact","target":{"name":"efficientnet","kind":["bin"]},"profile":{"test":true},"executable":"/t/debug/deps/efficientnet-1"}
not json
{"reason":"build-finished","success":true}"#;
        let (model, cli) = executables(messages);
        assert_eq!(model, Some(PathBuf::from("/t/debug/deps/model-abc")));
        assert_eq!(cli, Some(PathBuf::from("/t/debug/efficientnet")));
    }
}
