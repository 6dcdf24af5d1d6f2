//! Parameter counts and MACs against the published PyTorch numbers.

use efficientnet::{EfficientNetConfig, Variant};

/// `sum(p.numel() for p in model.parameters())` of torchvision (B0–B7, V2-S/M/L) and timm
/// (Lite, V2-B, B8, L2), i.e. without BN running statistics.
/// Source: torchvision's weight enums (`num_params`) and timm's models, counted in PyTorch.
const PUBLISHED_PARAMS: [(Variant, usize); 22] = [
    (Variant::B0, 5_288_548),
    (Variant::B1, 7_794_184),
    (Variant::B2, 9_109_994),
    (Variant::B3, 12_233_232),
    (Variant::B4, 19_341_616),
    (Variant::B5, 30_389_784),
    (Variant::B6, 43_040_704),
    (Variant::B7, 66_347_960),
    (Variant::B8, 87_413_142),
    (Variant::L2, 480_309_308),
    (Variant::Lite0, 4_652_008),
    (Variant::Lite1, 5_416_680),
    (Variant::Lite2, 6_092_072),
    (Variant::Lite3, 8_197_096),
    (Variant::Lite4, 13_006_568),
    (Variant::V2S, 21_458_488),
    (Variant::V2M, 54_139_356),
    (Variant::V2L, 118_515_272),
    (Variant::V2B0, 7_139_704),
    (Variant::V2B1, 8_141_052),
    (Variant::V2B2, 10_096_086),
    (Variant::V2B3, 14_358_406),
];

/// Published MACs (G) at a resolution: torchvision's weight metadata `_ops` (B0–B7 at their
/// eval crop, V2-S/M/L) and the automl README (V2-B0–B3, two significant digits).
const PUBLISHED_GMACS: [(Variant, usize, f64); 15] = [
    (Variant::B0, 224, 0.386),
    (Variant::B1, 240, 0.687),
    (Variant::B2, 288, 1.088),
    (Variant::B3, 300, 1.827),
    (Variant::B4, 380, 4.394),
    (Variant::B5, 456, 10.266),
    (Variant::B6, 528, 19.068),
    (Variant::B7, 600, 37.746),
    (Variant::V2S, 384, 8.366),
    (Variant::V2M, 480, 24.582),
    (Variant::V2L, 480, 56.08),
    (Variant::V2B0, 224, 0.72),
    (Variant::V2B1, 240, 1.2),
    (Variant::V2B2, 260, 1.7),
    (Variant::V2B3, 300, 3.0),
];

#[test]
fn plan_param_counts_equal_published_numbers_for_every_variant() {
    assert_eq!(PUBLISHED_PARAMS.len(), Variant::ALL.len());
    for (variant, published) in PUBLISHED_PARAMS {
        assert_eq!(variant.config().num_params(), published, "{variant}");
        assert_eq!(
            variant.config().tf().num_params(),
            published,
            "tf_{variant}"
        );
    }
}

/// Builds every variant (L2, 480M parameters, and B8 are covered by the plan count above and
/// by the ignored test below) and counts the parameters of the real Burn modules.
#[test]
fn built_models_have_the_published_trainable_parameter_counts() {
    let device = super::device();
    for (variant, published) in PUBLISHED_PARAMS {
        if matches!(variant, Variant::B8 | Variant::L2) {
            continue;
        }
        let model = variant.config().init(&device);
        assert_eq!(model.num_trainable_params(), published, "{variant}");
    }
}

#[test]
#[ignore = "allocates B8 (87M parameters); run with `cargo xtask test-slow`"]
fn built_b8_has_the_published_parameter_count() {
    let model = EfficientNetConfig::b8().init(&super::device());
    assert_eq!(model.num_trainable_params(), 87_413_142);
}

#[test]
fn macs_are_within_one_percent_of_published_figures() {
    for (variant, resolution, gmacs) in PUBLISHED_GMACS {
        let ours = variant.config().plan().macs(resolution, resolution) as f64 / 1e9;
        let rel = (ours - gmacs).abs() / gmacs;
        assert!(
            rel < 0.01,
            "{variant} @{resolution}: ours {ours:.4} G vs {gmacs} G"
        );
    }
    // At the native resolution (the `info` column) for the V1 sizes whose torchvision crop is native.
    assert!((EfficientNetConfig::b0().macs() as f64 / 1e9 - 0.386).abs() < 0.00386);
    assert!((EfficientNetConfig::b7().macs() as f64 / 1e9 - 37.746).abs() < 0.37746);
    assert!((EfficientNetConfig::v2_s().macs() as f64 / 1e9 - 8.366).abs() < 0.08366);
}

#[test]
fn scaled_stage_tables_match_the_reference() {
    let outs = |c: EfficientNetConfig| -> Vec<usize> {
        c.plan().stages.iter().map(|s| s[0].out_channels).collect()
    };
    let repeats =
        |c: EfficientNetConfig| -> Vec<usize> { c.plan().stages.iter().map(Vec::len).collect() };
    // EfficientNet paper, Table 1 scaled by width 1.2 / depth 1.4 (torchvision's B3).
    assert_eq!(
        outs(EfficientNetConfig::b3()),
        [24, 32, 48, 96, 136, 232, 384]
    );
    assert_eq!(repeats(EfficientNetConfig::b3()), [2, 3, 3, 5, 5, 6, 2]);
    assert_eq!(
        outs(EfficientNetConfig::b7()),
        [32, 48, 80, 160, 224, 384, 640]
    );
    assert_eq!(repeats(EfficientNetConfig::b7()), [4, 7, 7, 10, 10, 13, 4]);
    assert_eq!(EfficientNetConfig::b7().plan().stem_channels, 64);
    assert_eq!(EfficientNetConfig::b7().plan().head_channels, 2560);
    // Lite: stem/head fixed, first/last depth fixed (§1.3).
    let lite4 = EfficientNetConfig::lite4().plan();
    assert_eq!((lite4.stem_channels, lite4.head_channels), (32, 1280));
    assert_eq!(repeats(EfficientNetConfig::lite4()), [1, 4, 4, 6, 6, 8, 1]);
    // V2-B3: no 10% rule, first stage 16 channels (§2.2).
    assert_eq!(outs(EfficientNetConfig::v2_b3())[0], 16);
    assert_eq!(EfficientNetConfig::v2_s().plan().blocks().count(), 40);
    assert_eq!(EfficientNetConfig::v2_m().plan().blocks().count(), 57);
    assert_eq!(EfficientNetConfig::v2_l().plan().blocks().count(), 79);
}

#[test]
#[ignore = "allocates L2 (480M parameters, ~2 GB); run with `cargo xtask test-slow`"]
fn built_l2_has_the_published_parameter_count_and_runs_forward() {
    let device = super::device();
    let model = EfficientNetConfig::l2().with_num_classes(5).init(&device);
    assert_eq!(
        model.num_trainable_params(),
        480_309_308 - 5504 * 1000 - 1000 + 5504 * 5 + 5
    );
    let logits = model.forward(super::images([1, 3, 32, 32], &device));
    assert_eq!(logits.dims(), [1, 5]);
    assert!(super::all_finite(&logits));
}
