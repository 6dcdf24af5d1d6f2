//! The `efficientnet` binary end to end: outputs, exit codes, and clear errors (no panics).

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::{TINY_TRAIN, bin, scratch, text};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

/// Fails with one `error:` line on stderr, a non-zero code, and no panic or backtrace.
fn assert_clean_failure(out: &Output, needle: &str) {
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "expected failure, stderr: {stderr}");
    assert!(stderr.contains(needle), "stderr lacks `{needle}`: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(
        !stderr.contains("RUST_BACKTRACE"),
        "backtrace hint: {stderr}"
    );
}

#[test]
fn info_lists_variants_and_json() {
    let out = run(&["info"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("efficientnet_b7") && stdout.contains("66,347,960"));
    let out = run(&["info", "--model", "tf_efficientnet_lite0", "--json"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("\"params\": 4652008"), "{stdout}");
    assert!(stdout.contains("\"padding\": \"TfSame\""), "{stdout}");
}

#[test]
fn bad_flags_and_unknown_models_fail_cleanly() {
    assert_clean_failure(
        &run(&["info", "--model", "efficientnet_b9"]),
        "unknown model",
    );
    assert_clean_failure(&run(&["--device", "tpu", "info"]), "unknown device");
    assert_clean_failure(&run(&["info", "--frobnicate"]), "--frobnicate");
    assert_clean_failure(
        &run(&["--device", "cuda", "info"]),
        "not compiled into this binary",
    );
}

#[test]
fn device_lists_and_training_strategies_fail_cleanly() {
    let out = scratch("devices");
    let out = out.to_str().expect("utf-8 path");
    assert_clean_failure(
        &run(&["train", "--devices", "flex,cuda:1", "--out", out]),
        "rebuild with `cargo build -p efficientnet-cli --features cuda`",
    );
    assert_clean_failure(
        &run(&["train", "--devices", "flex,flex", "--ddp", "--out", out]),
        "--ddp needs CUDA devices",
    );
    assert_clean_failure(
        &run(&[
            "train",
            "--devices",
            "flex,flex",
            "--batch-size",
            "5",
            "--out",
            out,
        ]),
        "does not split evenly over 2 devices",
    );
    assert_clean_failure(
        &run(&["train", "--precision", "f8", "--out", out]),
        "invalid value 'f8'",
    );
}

#[test]
fn predict_refuses_weights_of_another_width() {
    let weights = fixture("tf_b0.weights.safetensors");
    // The fixture is a width-0.25 B0 with 10 classes; its shapes do not fit full B0.
    let out = run(&[
        "predict",
        "--model",
        "tf_efficientnet_b0",
        "--weights",
        weights.to_str().expect("utf-8 path"),
        fixture("images/chelsea.jpg").to_str().expect("utf-8 path"),
    ]);
    assert_clean_failure(&out, "weights do not fit the model");
    assert_clean_failure(
        &out,
        "conv_stem.weight: model [32, 3, 3, 3], file [8, 3, 3, 3]",
    );
}

#[test]
fn unreadable_weights_and_images_fail_cleanly() {
    let not_weights = scratch("notes.pth");
    std::fs::write(&not_weights, "hello").expect("write");
    let out = run(&[
        "predict",
        "--model",
        "b0",
        "--weights",
        not_weights.to_str().expect("utf-8 path"),
        "x.jpg",
    ]);
    assert_clean_failure(&out, "not a usable weight file");
    let out = run(&[
        "predict",
        "--model",
        "b0",
        "--weights",
        "/nonexistent/w.pth",
        "x.jpg",
    ]);
    assert_clean_failure(&out, "/nonexistent/w.pth");
}

#[test]
fn import_predict_export_round_trip() {
    use efficientnet::EfficientNetConfig;
    use efficientnet::weights::{Layout, Precision, export_safetensors, read_tensors};

    // A full-size, randomly initialised Lite0 written as a timm-layout PyTorch file.
    let device = burn::tensor::Device::flex();
    let model = EfficientNetConfig::from_name("tf_efficientnet_lite0")
        .expect("model")
        .init(&device);
    let original = scratch("lite0.original.safetensors");
    let bpk = scratch("lite0.bpk");
    let exported = scratch("lite0.exported.safetensors");
    for f in [&original, &bpk, &exported] {
        let _ = std::fs::remove_file(f);
    }
    let _ = std::fs::remove_file(format!("{}.json", bpk.display()));
    export_safetensors(&model, Layout::Timm, &original, Precision::F32).expect("export");
    let path = |p: &PathBuf| p.to_str().expect("utf-8 path").to_owned();

    let import = [
        "import",
        "--model",
        "tf_efficientnet_lite0",
        "--weights",
        &path(&original),
        "--out",
        &path(&bpk),
    ];
    let out = run(&import);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The config (TF SAME padding, eps 1e-3) and eval transform travel beside the burnpack.
    let meta = std::fs::read_to_string(format!("{}.json", path(&bpk))).expect("metadata");
    assert!(
        meta.contains("TfSame") && meta.contains("\"crop\": 224"),
        "{meta}"
    );
    // A second import refuses to overwrite.
    let again = run(&import);
    assert_clean_failure(&again, "already exists");

    let out = run(&[
        "predict",
        "--model",
        "tf_efficientnet_lite0",
        "--weights",
        &path(&bpk),
        "--top-k",
        "3",
        &path(&fixture("images/chelsea.jpg")),
        &path(&fixture("images/coffee.jpg")),
        "missing.jpg",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 2 * 4, "{stdout}");
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("chelsea.jpg") && stdout.contains("coffee.jpg"));
    assert_clean_failure(&out, "1 of 3 images could not be read");

    let out = run(&[
        "export",
        "--model",
        "tf_efficientnet_lite0",
        "--weights",
        &path(&bpk),
        "--layout",
        "timm",
        "--out",
        &path(&exported),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let a = read_tensors(&original).expect("original");
    let b = read_tensors(&exported).expect("exported");
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (key, t) in &a {
        assert_eq!(t.values, b[key].values, "{key}");
    }
}

#[test]
fn train_resumes_with_the_saved_config() {
    let out = scratch("train-resume");
    let out_arg = out.to_str().expect("utf-8 path");
    let data = [
        "--synthetic-train",
        "64",
        "--synthetic-valid",
        "16",
        "--workers",
        "1",
        "--epochs",
        "1",
        "--out",
        out_arg,
    ];
    let tiny: Vec<&str> = TINY_TRAIN.iter().chain(&data).copied().collect();
    let first = run(&tiny);
    assert!(first.status.success(), "{}", text(&first.stderr));
    // Options other than --epochs/--workers come from the run's config.json.
    assert_clean_failure(
        &run(&["train", "--out", out_arg, "--resume", "--lr", "0.1"]),
        "cannot be used with",
    );
    let resumed = run(&["train", "--out", out_arg, "--resume", "--epochs", "2"]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    let summary = std::fs::read_to_string(out.join("summary.json")).expect("summary");
    assert!(summary.contains("\"epochs\": 2"), "{summary}");
    assert_clean_failure(
        &run(&["train", "--out", &format!("{out_arg}-missing"), "--resume"]),
        "holds no training run",
    );
    // --freeze-epochs without --pretrained is refused before any work.
    assert_clean_failure(
        &run(&[
            "train",
            "--freeze-epochs",
            "1",
            "--out",
            &format!("{out_arg}-frozen"),
        ]),
        "--pretrained",
    );
}
