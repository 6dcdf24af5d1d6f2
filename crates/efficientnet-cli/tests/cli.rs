//! The `efficientnet` binary end to end: outputs, exit codes, and clear errors (no panics).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{TINY_TRAIN, bin, fixture, random_lite0, scratch, text};

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

/// The images of the eval tests and the ImageNet class each is filed under.
const EVAL_IMAGES: [(&str, usize); 3] = [
    ("images/chelsea.jpg", 281), // tabby
    ("images/coffee.jpg", 967),  // espresso
    ("images/odd/gray.png", 0),  // tench (any class will do)
];

/// Top-1, top-5 (%) and mean cross-entropy of logits rows against `labels`, computed here.
fn expected_scores(logits: &[f32], labels: &[usize]) -> (f64, f64, f64) {
    let (mut top1, mut top5, mut loss) = (0.0, 0.0, 0.0);
    for (row, &label) in logits.chunks(1000).zip(labels) {
        let rank = row.iter().filter(|&&v| v > row[label]).count();
        top1 += f64::from(u8::from(rank == 0));
        top5 += f64::from(u8::from(rank < 5));
        let max = row.iter().copied().fold(f32::MIN, f32::max);
        let sum: f64 = row.iter().map(|&v| f64::from(v - max).exp()).sum();
        loss += sum.ln() - f64::from(row[label] - max);
    }
    let n = labels.len() as f64;
    (100.0 * top1 / n, 100.0 * top5 / n, loss / n)
}

/// `eval --json` on `data`, parsed.
fn eval_json(weights: &str, data: &Path) -> serde_json::Value {
    let out = run(&[
        "eval",
        "--model",
        "tf_efficientnet_lite0",
        "--weights",
        weights,
        "--data",
        data.to_str().expect("utf-8 path"),
        "--batch-size",
        "2",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// `eval` scores a class-folder split (WordNet-id folders) and the Kaggle layout alike, with
/// the numbers `predict --save-logits` gives for the same images, in ImageNet's own order.
#[test]
fn eval_scores_class_folders_and_the_kaggle_layout() {
    let weights = random_lite0("eval-lite0.safetensors");

    let folders = scratch("eval-folders");
    let kaggle = scratch("eval-kaggle");
    let val = kaggle.join("ILSVRC/Data/CLS-LOC/val");
    std::fs::create_dir_all(&val).expect("mkdir");
    let mut solution = String::from("ImageId,PredictionString\n");
    let mut files = Vec::new();
    for (i, (image, class)) in EVAL_IMAGES.iter().enumerate() {
        let wnid = efficientnet::imagenet::wnid(*class).expect("wnid");
        let dir = folders.join("val").join(wnid);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let name = PathBuf::from(image).file_name().expect("name").to_owned();
        std::fs::copy(fixture(image), dir.join(&name)).expect("copy");
        files.push(dir.join(&name).to_str().expect("utf-8").to_owned());
        std::fs::copy(fixture(image), val.join(format!("img{i}.JPEG"))).expect("copy");
        solution.push_str(&format!("img{i},{wnid} 1 2 3 4\n"));
    }
    std::fs::write(kaggle.join("LOC_val_solution.csv"), solution).expect("csv");
    let mapping: String = (0..1000)
        .map(|i| {
            let wnid = efficientnet::imagenet::wnid(i).expect("wnid");
            let name = efficientnet::imagenet::class_name(i).expect("name");
            format!("{wnid} {name}\n")
        })
        .collect();
    std::fs::write(kaggle.join("LOC_synset_mapping.txt"), mapping).expect("mapping");

    // The reference: logits of the same images through `predict`, in folder (= label) order.
    let logits_file = scratch("eval-logits.npy");
    let mut args = vec![
        "predict",
        "--model",
        "tf_efficientnet_lite0",
        "--weights",
        &weights,
    ];
    let logits_arg = logits_file.to_str().expect("utf-8").to_owned();
    args.extend(["--save-logits", &logits_arg]);
    args.extend(files.iter().map(String::as_str));
    let out = run(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bytes = std::fs::read(&logits_file).expect("logits");
    let logits: Vec<f32> = npyz::NpyFile::new(&bytes[..])
        .expect("npy")
        .into_vec()
        .expect("f32");
    // Folders sort by WordNet id: tench (n01440764), tabby (n02123045), espresso (n07920052).
    let by_folder = |i: usize| [2usize, 0, 1][i];
    let labels: Vec<usize> = (0..3).map(|i| EVAL_IMAGES[by_folder(i)].1).collect();
    let ordered: Vec<f32> = (0..3)
        .flat_map(|i| {
            let k = by_folder(i);
            logits[k * 1000..(k + 1) * 1000].to_vec()
        })
        .collect();
    let (top1, top5, loss) = expected_scores(&ordered, &labels);

    for data in [&folders, &kaggle] {
        let report = eval_json(&weights, data);
        assert_eq!(report["images"], 3, "{report}");
        assert_eq!(
            report["weight_set"], "tf_efficientnet_lite0.in1k",
            "{report}"
        );
        let close = |key: &str, want: f64| {
            let got = report[key].as_f64().expect("number");
            assert!(
                (got - want).abs() < 1e-3,
                "{key}: {got} vs {want} ({report})"
            );
        };
        close("top1", top1);
        close("top5", top5);
        close("loss", loss);
        assert_eq!(report["per_class"].as_array().map(Vec::len), Some(3));
    }
}

/// An unreadable image is named and counted (exit code 1) and the others are still scored; a
/// split whose classes do not match the model's outputs is refused.
#[test]
fn eval_names_unreadable_images_and_refuses_mismatched_classes() {
    let weights = random_lite0("eval-bad-lite0.safetensors");
    let data = scratch("eval-bad");
    let tabby = data.join("n02123045");
    std::fs::create_dir_all(&tabby).expect("mkdir");
    std::fs::copy(fixture("images/chelsea.jpg"), tabby.join("chelsea.jpg")).expect("copy");
    std::fs::write(tabby.join("broken.jpg"), b"\xff\xd8\xff\xe0 not really").expect("write");
    let per_class = scratch("eval-per-class.csv");
    let out = run(&[
        "eval",
        "--model",
        "tf_efficientnet_lite0",
        "--weights",
        &weights,
        "--data",
        data.to_str().expect("utf-8"),
        "--per-class",
        per_class.to_str().expect("utf-8"),
    ]);
    assert_clean_failure(&out, "1 of 2 images could not be read");
    assert_clean_failure(&out, "broken.jpg");
    assert!(text(&out.stdout).contains("top-1"), "{}", text(&out.stdout));
    let csv = std::fs::read_to_string(&per_class).expect("csv");
    assert!(
        csv.starts_with("class,images,top1,top5\n\"n02123045\",1,"),
        "{csv}"
    );

    let other = scratch("eval-other");
    for class in ["cats", "dogs"] {
        std::fs::create_dir_all(other.join(class)).expect("mkdir");
        std::fs::copy(
            fixture("images/chelsea.jpg"),
            other.join(class).join("a.jpg"),
        )
        .expect("copy");
    }
    let out = run(&[
        "eval",
        "--model",
        "tf_efficientnet_lite0",
        "--weights",
        &weights,
        "--data",
        other.to_str().expect("utf-8"),
    ]);
    assert_clean_failure(&out, "has 2 classes but the model has 1000 outputs");
}

/// A model fine-tuned by `train` exports with `export --out F.onnx` (the format from the
/// extension), and tract runs the file with this crate's logits; flags of the other format are
/// refused.
#[test]
fn a_trained_model_exports_to_onnx_and_runs_in_tract() {
    use burn::tensor::{Distribution, Tensor};
    use efficientnet::ModelName;
    use efficientnet::weights::Pretrained;
    use tract_onnx::prelude::{
        DatumExt, Framework, InferenceModelExt, IntoRunnable, Tensor as TractTensor, tvec,
    };

    let out = scratch("train-onnx");
    let out_arg = out.to_str().expect("utf-8 path");
    let data = [
        "--synthetic-train",
        "32",
        "--synthetic-valid",
        "16",
        "--workers",
        "1",
    ];
    let args: Vec<&str> = TINY_TRAIN
        .iter()
        .chain(&data)
        .chain(&["--epochs", "1", "--out", out_arg])
        .copied()
        .collect();
    let trained = run(&args);
    assert!(trained.status.success(), "{}", text(&trained.stderr));
    let bpk = out.join("model.bpk");
    let onnx_file = out.join("model.onnx");
    let (bpk_arg, onnx_arg) = (
        bpk.to_str().expect("utf-8"),
        onnx_file.to_str().expect("utf-8"),
    );

    let export = [
        "export",
        "--model",
        "b0",
        "--weights",
        bpk_arg,
        "--out",
        onnx_arg,
    ];
    let with =
        |extra: &[&'static str]| -> Vec<&str> { export.iter().chain(extra).copied().collect() };
    assert_clean_failure(
        &run(&with(&["--half"])),
        "--half does not apply to --format onnx",
    );
    assert_clean_failure(&run(&with(&["--resolution", "16"])), "at least 32");
    let exported = run(&with(&["--resolution", "40x48"]));
    let stderr = text(&exported.stderr);
    assert!(exported.status.success(), "{stderr}");
    assert!(
        stderr.contains("input: float32 [batch, 3, 40, 48]"),
        "{stderr}"
    );
    assert!(stderr.contains("logits: float32 [batch, 6]"), "{stderr}");
    assert_clean_failure(&run(&with(&[])), "already exists");
    let safetensors = [
        "export",
        "--model",
        "b0",
        "--weights",
        bpk_arg,
        "--batch",
        "2",
    ];
    let safetensors: Vec<&str> = safetensors
        .iter()
        .chain(&["--out", "x.safetensors"])
        .copied()
        .collect();
    assert_clean_failure(
        &run(&safetensors),
        "--batch does not apply to --format safetensors",
    );

    // tract on three images against the model as this crate loads it.
    let device = burn::tensor::Device::flex();
    let name: ModelName = "b0".parse().expect("name");
    let (model, _) = Pretrained::open(&bpk, name)
        .expect("open")
        .init(&device)
        .expect("init");
    let x = Tensor::<4>::random([3, 3, 40, 48], Distribution::Normal(0.0, 1.0), &device);
    let ours = model
        .forward(x.clone())
        .into_data()
        .try_into_vec::<f32>()
        .expect("f32");
    let runnable = tract_onnx::onnx()
        .model_for_path(&onnx_file)
        .expect("tract reads the export")
        .with_input_fact(0, f32::fact([3, 3, 40, 48]).into())
        .expect("fact")
        .into_optimized()
        .expect("optimised")
        .into_runnable()
        .expect("runnable");
    let values = x.into_data().try_into_vec::<f32>().expect("f32");
    let input = TractTensor::from_shape(&[3, 3, 40, 48], &values).expect("tensor");
    let outputs = runnable.run(tvec![input.into()]).expect("tract runs");
    let theirs: Vec<f32> = outputs[0]
        .to_plain_array_view::<f32>()
        .expect("f32 logits")
        .iter()
        .copied()
        .collect();
    assert_eq!(theirs.len(), 3 * 6); // the six synthetic classes
    let range = ours.iter().copied().fold(f32::MIN, f32::max)
        - ours.iter().copied().fold(f32::MAX, f32::min);
    let diff = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        diff <= 1e-4 * range,
        "tract differs by {diff} (range {range})"
    );
}
