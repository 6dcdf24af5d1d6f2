//! Weight sets as data: for each source, the layout, padding, BN eps and eval transform its
//! weights were trained and evaluated with (timm's `pretrained_cfg`s and torchvision's weight
//! enums' `transforms`).

use super::layout::Layout;
use crate::config::{EfficientNetConfig, PaddingMode};
use crate::family::Family;
use crate::names::ModelName;
use crate::preprocess::{EvalTransform, INCEPTION_MEAN_STD, Interpolation};
use crate::variants::Variant;

/// Where a set of weights comes from and how it must be run.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightSet {
    /// Human-readable origin (e.g. `torchvision IMAGENET1K_V1`).
    pub source: String,
    /// Key layout of the files.
    pub layout: Layout,
    /// Padding the weights were trained with.
    pub padding: PaddingMode,
    /// BatchNorm epsilon the weights were trained with.
    pub bn_eps: f64,
    /// Evaluation preprocessing.
    pub transform: EvalTransform,
}

impl WeightSet {
    /// The preset for weights of `model` stored in `layout`.
    ///
    /// * torchvision: symmetric padding; eps 1e-5 for B0–B4, 1e-3 for B5–B7 and V2; its
    ///   published transforms (B0 256 -> 224 bicubic, ..., V2-S 384 bilinear, V2-L 0.5/0.5).
    /// * timm: the name decides (`tf_` = SAME + eps 1e-3); `tf_` V1 crop `res / (res + 32)`,
    ///   PyTorch-trained crop 0.875; TF Lite and TF V2-S/M/L ports normalise with 0.5/0.5.
    /// * lukemelas: TF SAME, eps 1e-3, resize = crop = resolution, bicubic, ImageNet statistics.
    pub fn preset(model: ModelName, layout: Layout) -> Self {
        let config = model.config();
        let (source, padding, bn_eps, transform) = match layout {
            Layout::Torchvision => torchvision(model.variant, &config),
            Layout::Timm => (
                "timm",
                config.padding,
                config.bn_eps,
                timm_transform(model, &config),
            ),
            Layout::Lukemelas => lukemelas(&config),
        };
        Self {
            source: source.to_owned(),
            layout,
            padding,
            bn_eps,
            transform,
        }
    }

    /// `config` with this weight set's padding and BN eps.
    pub fn configure(&self, config: EfficientNetConfig) -> EfficientNetConfig {
        config.with_padding(self.padding).with_bn_eps(self.bn_eps)
    }
}

/// A preset's `(source, padding, BN eps, eval transform)`.
type Preset = (&'static str, PaddingMode, f64, EvalTransform);

/// The native resolution of `config`, as the transforms take it.
fn resolution(config: &EfficientNetConfig) -> u32 {
    config.resolution as u32
}

/// torchvision's `IMAGENET1K_V1` weights: PyTorch padding, eps 1e-3 for B5–B7 and V2.
fn torchvision(variant: Variant, config: &EfficientNetConfig) -> Preset {
    let late_v1 = matches!(variant, Variant::B5 | Variant::B6 | Variant::B7);
    let v2 = matches!(config.family, Family::V2S | Family::V2M | Family::V2L);
    let eps = if late_v1 || v2 { 1e-3 } else { 1e-5 };
    (
        "torchvision IMAGENET1K_V1",
        PaddingMode::Symmetric,
        eps,
        torchvision_transform(variant, resolution(config), late_v1),
    )
}

/// The `transforms` of torchvision's weight enums.
fn torchvision_transform(variant: Variant, res: u32, late_v1: bool) -> EvalTransform {
    match variant {
        Variant::B0 => EvalTransform::imagenet(256, 224),
        Variant::B1 => EvalTransform::imagenet(256, 240),
        Variant::B2 => EvalTransform::imagenet(288, 288),
        Variant::B3 => EvalTransform::imagenet(320, 300),
        Variant::B4 => EvalTransform::imagenet(384, 380),
        Variant::V2S | Variant::V2M => EvalTransform {
            interpolation: Interpolation::Bilinear,
            ..EvalTransform::imagenet(res, res)
        },
        Variant::V2L => EvalTransform {
            mean: INCEPTION_MEAN_STD,
            std: INCEPTION_MEAN_STD,
            ..EvalTransform::imagenet(res, res)
        },
        _ if late_v1 => EvalTransform::imagenet(res, res),
        _ => EvalTransform::crop_pct(res, 0.875),
    }
}

/// timm's `pretrained_cfg` transforms: by the TF flag and the family.
fn timm_transform(model: ModelName, config: &EfficientNetConfig) -> EvalTransform {
    let res = resolution(config);
    match (model.tf, config.family) {
        (true, Family::Lite) => timm_tf_lite_transform(model.variant),
        (true, Family::V2S | Family::V2M | Family::V2L) => EvalTransform {
            mean: INCEPTION_MEAN_STD,
            std: INCEPTION_MEAN_STD,
            ..EvalTransform::imagenet(res, res)
        },
        (true, _) => EvalTransform::crop_pct(res, f64::from(res) / f64::from(res + 32)),
        (false, _) => EvalTransform::crop_pct(res, 0.875),
    }
}

/// timm's `tf_efficientnet_lite*`: its own crop sizes and percentages, 0.5/0.5 statistics.
fn timm_tf_lite_transform(variant: Variant) -> EvalTransform {
    let (size, pct, interpolation) = match variant {
        Variant::Lite0 => (224, 0.875, Interpolation::Bicubic),
        Variant::Lite1 => (240, 0.882, Interpolation::Bicubic),
        Variant::Lite2 => (260, 0.890, Interpolation::Bicubic),
        Variant::Lite3 => (300, 0.904, Interpolation::Bilinear),
        _ => (380, 0.920, Interpolation::Bilinear),
    };
    EvalTransform {
        interpolation,
        mean: INCEPTION_MEAN_STD,
        std: INCEPTION_MEAN_STD,
        ..EvalTransform::crop_pct(size, pct)
    }
}

/// lukemelas' ports of the TF checkpoints: SAME padding, eps 1e-3, no crop.
fn lukemelas(config: &EfficientNetConfig) -> Preset {
    let res = resolution(config);
    let transform = EvalTransform {
        // TF Lite evaluates with bilinear resizing (efficientnet-lite-pytorch too).
        interpolation: if config.family == Family::Lite {
            Interpolation::Bilinear
        } else {
            Interpolation::Bicubic
        },
        ..EvalTransform::imagenet(res, res)
    };
    (
        "lukemelas/EfficientNet-PyTorch (TF checkpoints)",
        PaddingMode::TfSame,
        1e-3,
        transform,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset(name: &str, layout: Layout) -> WeightSet {
        WeightSet::preset(name.parse().expect("model"), layout)
    }

    #[test]
    fn torchvision_presets() {
        let b0 = preset("b0", Layout::Torchvision);
        assert_eq!((b0.transform.resize, b0.transform.crop), (256, 224));
        assert_eq!((b0.padding, b0.bn_eps), (PaddingMode::Symmetric, 1e-5));
        let b7 = preset("b7", Layout::Torchvision);
        assert_eq!(
            (b7.transform.resize, b7.transform.crop, b7.bn_eps),
            (600, 600, 1e-3)
        );
        let l = preset("v2_l", Layout::Torchvision);
        assert_eq!(l.transform.mean, INCEPTION_MEAN_STD);
        let s = preset("v2_s", Layout::Torchvision);
        assert_eq!(s.transform.interpolation, Interpolation::Bilinear);
    }

    #[test]
    fn timm_presets_follow_the_name() {
        let tf = preset("tf_efficientnet_b3", Layout::Timm);
        assert_eq!((tf.padding, tf.bn_eps), (PaddingMode::TfSame, 1e-3));
        assert_eq!((tf.transform.resize, tf.transform.crop), (332, 300));
        let pt = preset("efficientnet_b0", Layout::Timm);
        assert_eq!((pt.padding, pt.bn_eps), (PaddingMode::Symmetric, 1e-5));
        let lite = preset("tf_efficientnet_lite4", Layout::Timm);
        assert_eq!((lite.transform.crop, lite.transform.resize), (380, 413));
        assert_eq!(lite.transform.mean, INCEPTION_MEAN_STD);
    }

    #[test]
    fn lukemelas_is_tf_same() {
        let w = preset("b0", Layout::Lukemelas);
        assert_eq!((w.padding, w.bn_eps), (PaddingMode::TfSame, 1e-3));
        assert_eq!((w.transform.resize, w.transform.crop), (224, 224));
    }
}
