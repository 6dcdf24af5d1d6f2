//! Numerical parity with PyTorch: fixtures written by `scripts/make_fixtures.py` (torchvision,
//! timm, efficientnet_pytorch; random weights with randomised BatchNorm statistics, reduced
//! width/depth). Logits and every stage's activations must match to 1e-4 of their range.
//!
//! With `EFFICIENTNET_FIXTURES=DIR` the same tests run on the full-size set that
//! `make_fixtures.py --full` writes there (`cargo xtask parity --full`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use efficientnet::weights::{FileTensor, LoadOptions, load_weights, read_tensors};
use efficientnet::{EfficientNet, EfficientNetConfig, PaddingMode};

use super::device;

/// `tests/fixtures/` at the workspace root, or `$EFFICIENTNET_TEST_FIXTURES` where the test
/// binary runs away from its source tree (the GPU bundle of `cargo xtask gpu-bundle` carries
/// a copy of the folder).
pub fn fixture(name: &str) -> PathBuf {
    let dir = match std::env::var_os("EFFICIENTNET_TEST_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"),
    };
    dir.join(name)
}

/// The folder the parity cases are read from: `$EFFICIENTNET_FIXTURES` (full size) or the
/// committed reduced-size `tests/fixtures/`.
pub fn parity_fixture(name: &str) -> PathBuf {
    match std::env::var_os("EFFICIENTNET_FIXTURES") {
        Some(dir) => PathBuf::from(dir).join(name),
        None => fixture(name),
    }
}

/// Our config for each fixture case (same multipliers as the PyTorch builders).
pub fn config(case: &str) -> EfficientNetConfig {
    if std::env::var_os("EFFICIENTNET_FIXTURES").is_some() {
        return full_size_config(case);
    }
    let b0 = EfficientNetConfig::b0().with_width(0.25).with_depth(0.34);
    let config = match case {
        "tv_b0" => b0,
        "tf_b0" => b0.tf(),
        // efficientnet_pytorch: static SAME padding for its image size, BN eps 1e-3; width 0.35
        // (see make_fixtures.py: its first block of a stage never takes the residual).
        "lukemelas_b0" => EfficientNetConfig::b0()
            .with_width(0.35)
            .with_depth(0.34)
            .with_padding(PaddingMode::TfSame)
            .with_bn_eps(1e-3),
        "tf_v2_b0" => EfficientNetConfig::v2_b0()
            .with_width(0.25)
            .with_depth(0.5)
            .tf(),
        // torchvision V2: symmetric padding, BN eps 1e-3.
        "tv_v2" => EfficientNetConfig::v2_b0()
            .with_width(0.25)
            .with_depth(0.5)
            .with_bn_eps(1e-3),
        "tf_lite0" => EfficientNetConfig::lite0().with_width(0.25).tf(),
        other => panic!("unknown fixture case {other}"),
    };
    config.with_num_classes(10)
}

fn tensor<const D: usize>(
    io: &BTreeMap<String, FileTensor>,
    name: &str,
    device: &Device,
) -> Tensor<D> {
    let t = io
        .get(name)
        .unwrap_or_else(|| panic!("fixture lacks `{name}`"));
    let values = t.values.clone().expect("float tensor");
    Tensor::from_data(TensorData::new(values, t.shape.clone()), device)
}

/// The full-size cases of `make_fixtures.py --full` (1000 classes).
fn full_size_config(case: &str) -> EfficientNetConfig {
    match case {
        "tv_b0" => EfficientNetConfig::b0(),
        "tf_b0" => EfficientNetConfig::b0().tf(),
        "lukemelas_b0" => EfficientNetConfig::b0()
            .with_padding(PaddingMode::TfSame)
            .with_bn_eps(1e-3),
        "tf_v2_b0" => EfficientNetConfig::v2_b0().tf(),
        "tv_v2" => EfficientNetConfig::v2_s().with_bn_eps(1e-3),
        "tf_lite0" => EfficientNetConfig::lite0().tf(),
        other => panic!("unknown fixture case {other}"),
    }
}

/// max |ours - theirs| / (max(theirs) - min(theirs)).
pub fn relative_error<const D: usize>(ours: Tensor<D>, theirs: Tensor<D>) -> f32 {
    assert_eq!(ours.dims(), theirs.dims());
    let range =
        theirs.clone().max().into_scalar::<f32>() - theirs.clone().min().into_scalar::<f32>();
    let diff = (ours - theirs).abs().max().into_scalar::<f32>();
    diff / range.max(f32::MIN_POSITIVE)
}

/// The fixture case's model with its PyTorch weights, on `device`.
pub fn load_on(case: &str, file: &str, device: &Device) -> EfficientNet {
    load_config_on(config(case), case, file, device)
}

/// [`load_on`] with `config` (the case's, perhaps changed) instead of the case's own.
pub fn load_config_on(
    config: EfficientNetConfig,
    case: &str,
    file: &str,
    device: &Device,
) -> EfficientNet {
    let model = config.init(device);
    let (model, report) = load_weights(model, parity_fixture(file), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    assert!(report.loaded > 0);
    model
}

/// The parity cases of `scripts/make_fixtures.py`: `for case in CASES` walks the names of
/// `tests/fixtures/cases.txt`, the list that script and `cargo xtask parity` read too.
pub const CASES: FixtureCases = FixtureCases;

/// The case list of `tests/fixtures/cases.txt` (one name a line, `#` comments), in order.
#[derive(Clone, Copy, Debug)]
pub struct FixtureCases;

impl IntoIterator for FixtureCases {
    type Item = &'static str;
    type IntoIter = std::vec::IntoIter<&'static str>;

    fn into_iter(self) -> Self::IntoIter {
        include_str!("../../../../tests/fixtures/cases.txt")
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect::<Vec<_>>()
            .into_iter()
    }
}

fn check(case: &str) {
    check_on(case, &device(), 1e-4);
}

/// Runs `case` on `device` and compares the stem, every stage, the head and the logits with
/// PyTorch's: each must be within `tolerance` of its range. Returns the logits' error.
pub fn check_on(case: &str, device: &Device, tolerance: f32) -> f32 {
    let model = load_on(case, &format!("{case}.weights.safetensors"), device);
    let io = read_tensors(&parity_fixture(&format!("{case}.io.safetensors"))).expect("io fixture");
    let input: Tensor<4> = tensor(&io, "input", device);

    // Stage by stage, so a mismatch points at its layer.
    let mut x = model.stem.forward(input.clone());
    let err = relative_error(x.clone(), tensor(&io, "stem", device));
    assert!(err <= tolerance, "{case} stem: relative error {err}");
    for (s, stage) in model.stages.iter().enumerate() {
        x = stage.blocks.iter().fold(x, |x, b| b.forward(x));
        let err = relative_error(x.clone(), tensor(&io, &format!("stage.{s}"), device));
        assert!(err <= tolerance, "{case} stage {s}: relative error {err}");
    }
    let head = model.head.forward(x);
    let err = relative_error(head, tensor(&io, "head", device));
    assert!(err <= tolerance, "{case} head: relative error {err}");

    let logits = model.forward(input);
    let err = relative_error(logits, tensor(&io, "logits", device));
    assert!(err <= tolerance, "{case} logits: relative error {err}");
    eprintln!("{case} on {device:?}: logits relative error {err:.2e}");
    err
}

#[test]
fn torchvision_b0_symmetric_padding() {
    check("tv_b0");
}

#[test]
fn timm_tf_b0_same_padding_odd_non_square_input() {
    check("tf_b0");
}

#[test]
fn lukemelas_b0_same_padding() {
    check("lukemelas_b0");
}

#[test]
fn timm_tf_v2_b0_fused_mbconv() {
    check("tf_v2_b0");
}

#[test]
fn torchvision_v2_layout() {
    check("tv_v2");
}

#[test]
fn timm_tf_lite0_relu6_without_se() {
    check("tf_lite0");
}

#[test]
fn pytorch_zip_wrapped_and_legacy_checkpoints_load() {
    let reference = load_on("tv_b0", "tv_b0.weights.safetensors", &device());
    let io = read_tensors(&parity_fixture("tv_b0.io.safetensors")).expect("io fixture");
    let x: Tensor<4> = tensor(&io, "input", &device());
    let want = reference.forward(x.clone());
    // Zip format, the state dict wrapped as {'state_dict': ..., 'epoch': 3}.
    let got = load_on("tv_b0", "tv_b0_wrapped.pth", &device()).forward(x.clone());
    got.into_data().assert_eq(&want.into_data(), true);
    // The pre-1.6 (non-zip) pickle format, lukemelas keys.
    let a = load_on("lukemelas_b0", "lukemelas_b0_legacy.pth", &device());
    let b = load_on(
        "lukemelas_b0",
        "lukemelas_b0.weights.safetensors",
        &device(),
    );
    a.forward(x.clone())
        .into_data()
        .assert_eq(&b.forward(x).into_data(), true);
}

/// `fuse()` (BatchNorm folded into the convolutions) keeps every case's logits within 1e-5 of
/// PyTorch's unfused model's range, and removes the BatchNorm tensors.
#[test]
fn fused_models_match_pytorch() {
    use burn::module::Module;
    for case in CASES {
        let model = load_on(case, &format!("{case}.weights.safetensors"), &device());
        let params = model.num_params();
        let fused = model.fuse();
        assert!(
            fused.num_params() < params,
            "{case}: BatchNorm tensors are gone"
        );
        let io = read_tensors(&parity_fixture(&format!("{case}.io.safetensors"))).expect("io");
        let logits = fused.forward(tensor(&io, "input", &device()));
        let err = relative_error(logits, tensor(&io, "logits", &device()));
        assert!(err <= 1e-5, "{case} fused: relative error {err}");
        eprintln!("{case} fused: logits relative error {err:.2e}");
    }
}

/// Writes every fixture case, imported from PyTorch's file, back out in its own layout to
/// `$EFFICIENTNET_EXPORT_DIR` (default: the temp dir), for `scripts/check_export.py` to load
/// with `strict=True` and compare logits. Run by `cargo xtask parity`.
#[test]
#[ignore = "writes files for scripts/check_export.py; run by `cargo xtask parity`"]
fn export_every_case_for_pytorch() {
    use efficientnet::weights::{Layout, Precision, export_safetensors};
    let dir = std::env::var_os("EFFICIENTNET_EXPORT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("efficientnet-export"));
    std::fs::create_dir_all(&dir).expect("export dir");
    for case in CASES {
        let layout = match case {
            c if c.starts_with("tv_") => Layout::Torchvision,
            c if c.starts_with("tf_") => Layout::Timm,
            _ => Layout::Lukemelas,
        };
        let model = load_on(case, &format!("{case}.weights.safetensors"), &device());
        let out = dir.join(format!("{case}.safetensors"));
        export_safetensors(&model, layout, &out, Precision::F32).expect("export");
        println!("{case}: {}", out.display());
    }
}
