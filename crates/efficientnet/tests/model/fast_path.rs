//! The fast inference path of fused models on flex (`EfficientNet::fuse`, then `forward`):
//! its logits against the op-by-op path of the unfused model, on every PyTorch fixture case
//! and on random-weight models of every family at batch 3 and odd sizes.

use burn::tensor::Tensor;
use efficientnet::kernels::fast_path_applies;
use efficientnet::weights::read_tensors;
use efficientnet::{EfficientNet, EfficientNetConfig};

use super::parity::{CASES, load_on, parity_fixture, relative_error};
use super::{device, images};

/// Runs `model` unfused (op by op) and fused (fast path) on `x`; returns the relative error
/// of the fast path's logits to the unfused model's logit range.
fn fast_path_error(model: EfficientNet, x: Tensor<4>) -> f32 {
    assert!(
        !fast_path_applies(&model, &x),
        "an unfused model runs op by op"
    );
    let want = model.forward(x.clone());
    let fused = model.fuse();
    assert!(fast_path_applies(&fused, &x));
    let got = fused.forward(x.clone());
    // The fused model op by op agrees too (the same network, another path).
    let op_by_op = fused.forward_head(fused.forward_backbone(x));
    assert!(relative_error(op_by_op, want.clone()) <= 1e-5);
    relative_error(got, want)
}

#[test]
fn fast_path_matches_every_fixture_case() {
    for case in CASES {
        let model = load_on(case, &format!("{case}.weights.safetensors"), &device());
        let io = read_tensors(&parity_fixture(&format!("{case}.io.safetensors"))).expect("io");
        let input = &io["input"];
        let data = burn::tensor::TensorData::new(
            input.values.clone().expect("float input"),
            input.shape.clone(),
        );
        let err = fast_path_error(model, Tensor::from_data(data, &device()));
        eprintln!("{case}: fast path relative error {err:.2e}");
        assert!(err <= 1e-5, "{case}: fast path relative error {err}");
    }
}

#[test]
fn fast_path_matches_every_family_at_batch_3_and_odd_sizes() {
    let configs = [
        (
            "b0 symmetric",
            EfficientNetConfig::b0().with_width(0.25),
            [45, 53],
        ),
        (
            "b0 tf same",
            EfficientNetConfig::b0().with_width(0.25).tf(),
            [33, 64],
        ),
        // Depth 1.8: a second stage-1 block without expansion, with the residual.
        (
            "b4 depth",
            EfficientNetConfig::b4().with_width(0.25).with_depth(0.6),
            [40, 40],
        ),
        (
            "lite0 relu6",
            EfficientNetConfig::lite0().with_width(0.25).tf(),
            [37, 41],
        ),
        (
            "v2-b0 fused",
            EfficientNetConfig::v2_b0().with_width(0.25),
            [64, 35],
        ),
        (
            "v2-s",
            EfficientNetConfig::v2_s().with_width(0.25).with_depth(0.3),
            [48, 48],
        ),
    ];
    for (name, config, [h, w]) in configs {
        let model = config.with_num_classes(7).init(&device());
        let x = images([3, 3, h, w], &device());
        let err = fast_path_error(model, x);
        eprintln!("{name}: fast path relative error {err:.2e}");
        assert!(err <= 1e-5, "{name}: fast path relative error {err}");
    }
}

#[test]
fn fast_path_is_off_under_autodiff() {
    let model = EfficientNetConfig::b0()
        .with_width(0.25)
        .init(&device())
        .fuse();
    let x = images([1, 3, 32, 32], &device());
    assert!(fast_path_applies(&model, &x));
    assert!(!fast_path_applies(
        &model,
        &images([1, 3, 32, 32], &device().autodiff())
    ));
}
