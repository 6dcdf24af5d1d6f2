//! Forward passes: every variant, non-square inputs, both padding modes, endpoints, head swap.

use burn::module::Module;
use efficientnet::{EfficientNetConfig, PaddingMode, Variant};

use super::{all_finite, device, images};

#[test]
fn every_variant_runs_forward_at_a_small_resolution() {
    let device = device();
    for variant in Variant::ALL {
        if variant == Variant::L2 {
            continue; // 480M parameters; covered by `cargo xtask test-slow`
        }
        let model = variant.config().with_num_classes(7).init(&device);
        let logits = model.forward(images([2, 3, 64, 64], &device));
        assert_eq!(logits.dims(), [2, 7], "{variant}");
        assert!(all_finite(&logits), "{variant}: non-finite logits");
    }
}

#[test]
fn non_square_inputs_work_in_both_padding_modes() {
    let device = device();
    for padding in [PaddingMode::Symmetric, PaddingMode::TfSame] {
        for config in [EfficientNetConfig::b0(), EfficientNetConfig::v2_b0()] {
            let model = config.with_padding(padding).init(&device);
            for [h, w] in [[96, 160], [33, 47]] {
                let logits = model.forward(images([1, 3, h, w], &device));
                assert_eq!(logits.dims(), [1, 1000], "{padding:?} {h}x{w}");
                assert!(all_finite(&logits), "{padding:?} {h}x{w}");
            }
        }
    }
}

#[test]
fn smallest_supported_input_is_32_pixels() {
    let device = device();
    let model = EfficientNetConfig::b0().tf().init(&device);
    let features = model.forward_backbone(images([1, 3, 32, 32], &device));
    assert_eq!(features.dims(), [1, 320, 1, 1]);
}

#[test]
fn forward_features_gives_the_five_endpoints() {
    let device = device();
    let cases = [
        (EfficientNetConfig::b0(), [16, 24, 40, 112, 320]),
        (EfficientNetConfig::b3(), [24, 32, 48, 136, 384]),
        (EfficientNetConfig::lite0(), [16, 24, 40, 112, 320]),
        (EfficientNetConfig::v2_s(), [24, 48, 64, 160, 256]),
        (EfficientNetConfig::v2_b3(), [16, 40, 56, 136, 232]),
    ];
    for (config, channels) in cases {
        let info = config.feature_info();
        assert_eq!(
            info.iter().map(|f| f.channels).collect::<Vec<_>>(),
            channels
        );
        assert_eq!(
            info.iter().map(|f| f.stride).collect::<Vec<_>>(),
            [2, 4, 8, 16, 32]
        );
        let model = config.init(&device);
        assert_eq!(model.feature_info(), info.as_slice());
        let features = model.forward_features(images([1, 3, 96, 160], &device));
        assert_eq!(features.len(), 5);
        for (f, (c, s)) in features.iter().zip(channels.iter().zip([2, 4, 8, 16, 32])) {
            assert_eq!(f.dims(), [1, *c, 96usize.div_ceil(s), 160usize.div_ceil(s)]);
        }
    }
}

#[test]
fn replacing_the_classifier_keeps_the_backbone() {
    let device = device();
    let model = EfficientNetConfig::b0().init(&device);
    let x = images([2, 3, 64, 64], &device);
    let before = model.forward_backbone(x.clone());
    let stem_before = model.stem.conv.weight.val();

    let model = model.with_num_classes(10, &device);
    assert_eq!(model.num_classes(), 10);
    assert_eq!(model.forward(x.clone()).dims(), [2, 10]);
    model
        .stem
        .conv
        .weight
        .val()
        .into_data()
        .assert_eq(&stem_before.into_data(), true);
    model
        .forward_backbone(x)
        .into_data()
        .assert_eq(&before.into_data(), true);
    assert_eq!(
        model.num_trainable_params(),
        5_288_548 - 1280 * 1000 - 1000 + 1280 * 10 + 10
    );
}

#[test]
fn inference_is_deterministic_and_eval_mode_on_a_plain_device() {
    let device = device();
    let model = EfficientNetConfig::b0()
        .with_dropout(0.5)
        .with_drop_path_rate(0.5)
        .init(&device);
    let x = images([2, 3, 64, 64], &device);
    let a = model.forward(x.clone());
    let b = model.valid().forward(x);
    a.into_data().assert_eq(&b.into_data(), true);
}

#[test]
fn weight_init_follows_the_tf_reference() {
    let device = device();
    let model = EfficientNetConfig::b0().init(&device);
    let head = model.head.conv.weight.val(); // [1280, 320, 1, 1], fan_out = 1280
    let std = head.clone().var(0).mean().into_scalar::<f32>() as f64;
    let expected = 2.0 / 1280.0;
    assert!(
        (std - expected).abs() / expected < 0.05,
        "head conv variance {std} vs {expected}"
    );
    let w = model.classifier.weight.val(); // U(-1/sqrt(1000), 1/sqrt(1000))
    let bound = 1.0 / 1000f32.sqrt();
    let max = w.clone().abs().max().into_scalar::<f32>();
    assert!(
        max <= bound && max > 0.9 * bound,
        "classifier max |w| {max}"
    );
    let bias = model.classifier.bias.as_ref().expect("bias").val();
    assert_eq!(bias.abs().sum().into_scalar::<f32>(), 0.0);
}
