//! Published numbers the figures and tables print, each with its source. Everything else in
//! the figures (parameters, MACs, channels) is computed from the model configs.

use efficientnet::Variant;

/// Where the EfficientNet (V1) top-1 figures and the other ConvNets come from.
pub const PAPER: &str = "Tan & Le, EfficientNet, arXiv 1905.11946v5 (Sep 2020), Table 2";

/// Published ImageNet top-1 (%) of every variant: the EfficientNet paper ([`PAPER`]) for
/// B0–B7, AdvProp (Xie et al., CVPR 2020) for B8, Noisy Student (Xie et al., CVPR 2020) for
/// L2, the TF EfficientNet-Lite README (FP32) for Lite0–4, and the automl EfficientNetV2
/// README (ImageNet-1k training) for V2.
pub const TOP1: [(Variant, f64); 22] = [
    (Variant::B0, 77.1),
    (Variant::B1, 79.1),
    (Variant::B2, 80.1),
    (Variant::B3, 81.6),
    (Variant::B4, 82.9),
    (Variant::B5, 83.6),
    (Variant::B6, 84.0),
    (Variant::B7, 84.3),
    (Variant::B8, 85.5),
    (Variant::L2, 88.4),
    (Variant::Lite0, 75.1),
    (Variant::Lite1, 76.7),
    (Variant::Lite2, 77.6),
    (Variant::Lite3, 79.8),
    (Variant::Lite4, 81.5),
    (Variant::V2B0, 78.7),
    (Variant::V2B1, 79.8),
    (Variant::V2B2, 80.5),
    (Variant::V2B3, 82.1),
    (Variant::V2S, 83.9),
    (Variant::V2M, 85.2),
    (Variant::V2L, 85.7),
];

/// The source of `v`'s entry in [`TOP1`], short.
pub fn top1_source(v: Variant) -> &'static str {
    match v {
        Variant::B8 => "AdvProp",
        Variant::L2 => "Noisy Student, JFT",
        _ => match v.config().family {
            efficientnet::Family::V1 => "paper v5",
            efficientnet::Family::Lite => "TF Lite README",
            _ => "automl README",
        },
    }
}

/// The published top-1 of `v`.
pub fn top1(v: Variant) -> Option<f64> {
    TOP1.iter().find(|(w, _)| *w == v).map(|(_, t)| *t)
}

/// Another ConvNet as published: name, top-1 %, parameters (millions), GFLOPs (the papers'
/// "FLOPs" are multiply-adds; `None` where not given).
pub type Baseline = (&'static str, f64, f64, Option<f64>);

/// The other ConvNets of the paper's figures 1 and 5: [`PAPER`] for all but MobileNetV2,
/// which is from Sandler et al. (CVPR 2018), Table 4 (1.0 width, 224 px).
pub const BASELINES: [Baseline; 6] = [
    ("MobileNetV2", 72.0, 3.4, Some(0.30)),
    ("ResNet-50", 76.0, 26.0, Some(4.1)),
    ("ResNet-152", 77.8, 60.0, Some(11.0)),
    ("Inception-v4", 80.0, 48.0, Some(13.0)),
    ("NASNet-A", 82.7, 89.0, Some(24.0)),
    ("GPipe", 84.3, 557.0, None),
];

/// One network scaled four ways at about the same cost: its baseline and the scaled models,
/// each as (what was scaled, GFLOPs, top-1 %). From the paper (arXiv v5): Table 7 for B0,
/// Table 3 for MobileNetV1/V2 and ResNet-50.
pub struct ScalingStudy {
    pub network: &'static str,
    pub baseline: (f64, f64),
    pub scaled: &'static [(&'static str, f64, f64)],
}

/// The paper's single-dimension against compound scaling experiments.
pub const SCALING_STUDIES: [ScalingStudy; 4] = [
    ScalingStudy {
        network: "EfficientNet-B0 (Table 7)",
        baseline: (0.4, 77.3),
        scaled: &[
            ("depth d=4", 1.8, 79.0),
            ("width w=2", 1.8, 78.9),
            ("resolution r=2", 1.9, 79.1),
            ("compound d=1.4, w=1.2, r=1.3", 1.8, 81.1),
        ],
    },
    ScalingStudy {
        network: "MobileNetV1 (Table 3)",
        baseline: (0.6, 70.6),
        scaled: &[
            ("width w=2", 2.2, 74.2),
            ("resolution r=2", 2.2, 72.7),
            ("compound d=1.4, w=1.2, r=1.3", 2.3, 75.6),
        ],
    },
    ScalingStudy {
        network: "MobileNetV2 (Table 3)",
        baseline: (0.3, 72.0),
        scaled: &[
            ("depth d=4", 1.2, 76.8),
            ("width w=2", 1.1, 76.4),
            ("resolution r=2", 1.2, 74.8),
            ("compound", 1.3, 77.4),
        ],
    },
    ScalingStudy {
        network: "ResNet-50 (Table 3)",
        baseline: (4.1, 76.0),
        scaled: &[
            ("depth d=4", 16.2, 78.1),
            ("width w=2", 14.7, 77.7),
            ("resolution r=2", 16.4, 77.5),
            ("compound", 16.7, 78.8),
        ],
    },
];
