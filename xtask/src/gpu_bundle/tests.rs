//! The bundle's `run.sh` against stand-in binaries (shell scripts that answer as the CLI and
//! the test binary do), so its report is checked without a GPU or a release build.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::*;
use crate::process::root;

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gpu-bundle-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("bin")).expect("scratch folder");
    dir
}

/// What the stand-in test binary prints: quotes, backslashes, a tab, terminal colours.
const SUITE_LOG: &str = "Vulkan adapters: [\"llvmpipe\" (Cpu)]\nwgpu: path C:\\x\tok";

/// A bundle of stand-ins in a fresh folder `name`: the suite exits `suite_rc`, a bench of
/// `failing` precision fails with an error message. Returns the folder.
fn fake_bundle(name: &str, suite_rc: i32, failing: &str) -> PathBuf {
    let dir = scratch(name);
    copy(&root().join("xtask/gpu-bundle/run.sh"), &dir.join("run.sh")).expect("run.sh");
    let suite = format!(
        "#!/bin/sh\nprintf '%s\\n' '{SUITE_LOG}'\nprintf '\\033[31mred\\033[0m\\n'\nexit {suite_rc}\n"
    );
    // Prints what `efficientnet bench --json` prints, after a log line on stdout.
    let cli = format!(
        r#"#!/bin/sh
precision=f32; batch=0
while [ $# -gt 0 ]; do
  case "$1" in --precision) precision=$2; shift;; --batch-size) batch=$2; shift;; esac
  shift
done
if [ "$precision" = "{failing}" ]; then echo "error: $precision is not supported" >&2; exit 1; fi
echo "INFO some log line"
printf '{{\n  "precision": "%s",\n  "batch_size": %s,\n  "images_per_second": 12.5\n}}\n' "$precision" "$batch"
"#
    );
    for (name, text) in [("backend-suite", suite), ("efficientnet", cli)] {
        let path = dir.join("bin").join(name);
        fs::write(&path, text).expect("stand-in");
        make_executable(&path).expect("chmod");
    }
    dir
}

fn run_sh(dir: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(dir.join("run.sh"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("bash runs")
}

fn report(dir: &Path) -> Value {
    let text = fs::read_to_string(dir.join("gpu-check.json")).expect("the report is written");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the report is JSON ({e}):\n{text}"))
}

#[test]
fn a_passing_short_run_reports_every_bench_and_the_suite_log_verbatim() {
    let dir = fake_bundle("pass", 0, "none");
    let out = run_sh(&dir, &["--short"]);
    assert!(out.status.success(), "{out:?}");
    let report = report(&dir);
    assert_eq!(report["mode"], "short");
    assert_eq!(report["device"], "vulkan");
    assert_eq!(report["passed"], true);
    let suite = &report["backend_suite"];
    assert_eq!(suite["passed"], true);
    let log = suite["log"].as_str().expect("log");
    assert!(log.starts_with(SUITE_LOG), "{log:?}");
    assert!(log.ends_with("[31mred[0m"), "colour codes dropped: {log:?}");
    let benches = report["benches"].as_array().expect("benches");
    assert_eq!(benches.len(), 7);
    for bench in benches {
        assert_eq!(bench["result"]["images_per_second"], 12.5, "{bench}");
        assert_eq!(bench["result"]["batch_size"], 2, "short runs use batch 2");
    }
    assert_eq!(benches[5]["result"]["precision"], "bf16");
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn packed_binaries_are_unpacked_outside_the_bundle() {
    let dir = fake_bundle("packed", 0, "none");
    for name in ["efficientnet", "backend-suite"] {
        let status = Command::new("xz")
            .arg(dir.join("bin").join(name))
            .status()
            .expect("xz runs (Debian: apt-get install xz-utils)");
        assert!(status.success());
    }
    let out = run_sh(&dir, &["--short"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(report(&dir)["passed"], true);
    let left: Vec<_> = fs::read_dir(dir.join("bin"))
        .expect("bin")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        left.len(),
        2,
        "only the two .xz files stay in bin/: {left:?}"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn failures_are_reported_and_fail_the_run() {
    let dir = fake_bundle("fail", 101, "bf16");
    let out = run_sh(&dir, &["--budget", "60"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report = report(&dir);
    assert_eq!(report["mode"], "full");
    assert_eq!(report["passed"], false);
    assert_eq!(report["backend_suite"]["passed"], false);
    assert_eq!(report["backend_suite"]["exit_code"], 101);
    let benches = report["benches"].as_array().expect("benches");
    assert_eq!(benches[1]["result"]["batch_size"], 256);
    let bf16 = &benches[5];
    assert_eq!(bf16["exit_code"], 1, "{bf16}");
    assert!(
        bf16["error"]
            .as_str()
            .is_some_and(|e| e.contains("bf16 is not supported")),
        "{bf16}"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_exhausted_budget_skips_the_remaining_steps() {
    let dir = fake_bundle("budget", 0, "none");
    let out = run_sh(&dir, &["--budget", "0"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report = report(&dir);
    assert_eq!(report["backend_suite"]["skipped"], "out of the time budget");
    let benches = report["benches"].as_array().expect("benches");
    assert!(
        benches.iter().all(|b| b["skipped"].is_string()),
        "{benches:?}"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_usage_and_a_broken_bundle_are_clear_errors() {
    let dir = fake_bundle("usage", 0, "none");
    for (args, message) in [
        (&["--frobnicate"][..], "unknown argument '--frobnicate'"),
        (
            &["--device", "cuda"][..],
            "--device is vulkan, wgpu or flex",
        ),
        (&["--budget", "soon"][..], "--budget takes whole seconds"),
        (&["--out"][..], "usage: run.sh"),
    ] {
        let out = run_sh(&dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    fs::remove_file(dir.join("bin/backend-suite")).expect("remove");
    let out = run_sh(&dir, &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bin/backend-suite(.xz) is missing"),
        "{stderr}"
    );
    assert!(
        !dir.join("gpu-check.json").exists(),
        "no report from a broken bundle"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn clear_refuses_a_folder_that_holds_no_bundle() {
    let dir = scratch("clear");
    fs::write(dir.join("notes.txt"), "keep me").expect("write");
    let err = clear(&dir).expect_err("not a bundle");
    assert!(err.contains("holds no bundle"), "{err}");
    assert!(dir.join("notes.txt").exists());
    fs::write(dir.join("manifest.json"), "{}").expect("write");
    clear(&dir).expect("a bundle is replaced");
    assert!(!dir.exists());
}
