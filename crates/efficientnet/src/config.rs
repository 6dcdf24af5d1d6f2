//! [`EfficientNetConfig`]: every knob of the network, the named variants and their timm names.

use core::fmt;
use core::str::FromStr;

use burn::config::Config;
use burn::nn::PaddingConfig2d;

use crate::arch::{self, ArchPlan, FeatureInfo, PlanInput, ScalingRule, StageSpec};
use crate::error::{Error, Result};

/// Network family: selects the stage table, the stem/head widths and the scaling rules.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Family {
    /// EfficientNet B0–B7, B8, L2 (paper Table 1, compound-scaled, 10% channel rule).
    V1,
    /// EfficientNet-Lite: V1 table, stem 32 and head 1280 fixed, first/last stage depth fixed,
    /// no SE, ReLU6.
    Lite,
    /// EfficientNetV2-S (its own table, unscaled).
    V2S,
    /// EfficientNetV2-M (its own table, unscaled).
    V2M,
    /// EfficientNetV2-L (its own table, unscaled).
    V2L,
    /// EfficientNetV2-B0–B3: the V2 base table scaled with V1 multipliers, no 10% rule.
    V2Base,
}

impl Family {
    /// The family's stage table.
    pub fn table(self) -> &'static [StageSpec] {
        match self {
            Family::V1 | Family::Lite => &arch::V1_BASE,
            Family::V2S => &arch::V2_S,
            Family::V2M => &arch::V2_M,
            Family::V2L => &arch::V2_L,
            Family::V2Base => &arch::V2_BASE,
        }
    }

    /// Base stem channels (before width scaling).
    pub fn stem_channels(self) -> usize {
        match self {
            Family::V2S | Family::V2M => 24,
            _ => 32,
        }
    }

    /// Base head channels (before width scaling).
    pub fn head_channels(self) -> usize {
        1280
    }

    /// Channel and depth rounding rules.
    pub fn scaling_rule(self) -> ScalingRule {
        let lite = self == Family::Lite;
        ScalingRule {
            ten_percent_rule: matches!(self, Family::V1 | Family::Lite),
            fix_stem: lite,
            fix_head: lite,
            fix_first_last_depth: lite,
        }
    }
}

/// Activation used after every convolution + BN (and inside SE).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Activation {
    /// SiLU / swish, `x * sigmoid(x)` (EfficientNet, EfficientNetV2).
    Silu,
    /// `min(max(x, 0), 6)` (EfficientNet-Lite, quantisation friendly).
    Relu6,
}

/// Convolution padding convention; chosen by where the weights come from.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum PaddingMode {
    /// PyTorch style: `k / 2` on every side (torchvision, timm `efficientnet_*`).
    Symmetric,
    /// TensorFlow "SAME": `out = ceil(in / s)`, total pad `max((out - 1) * s + k - in, 0)`, the
    /// odd pixel at the bottom/right. Depends on the input size; needed by TF-ported weights
    /// (timm `tf_*`, lukemelas).
    TfSame,
}

impl PaddingMode {
    /// Burn padding for a `kernel` x `kernel` convolution.
    pub fn to_burn(self, kernel: usize) -> PaddingConfig2d {
        match self {
            PaddingMode::Symmetric => {
                let p = kernel / 2;
                PaddingConfig2d::Explicit(p, p, p, p)
            }
            // Burn's `Same` computes exactly TF's asymmetric SAME per forward, stride 2 included.
            PaddingMode::TfSame => PaddingConfig2d::Same,
        }
    }
}

/// Configuration of an [`EfficientNet`](crate::EfficientNet).
///
/// Start from a named variant ([`EfficientNetConfig::b0`], [`EfficientNetConfig::from_name`], ...)
/// and adjust with the `with_*` setters (`new()` is B0). The architecture (channels, repeats) follows from
/// `family`, `width` and `depth` by the paper's rules; the rest are per-weights knobs.
#[derive(Config, Debug, PartialEq)]
pub struct EfficientNetConfig {
    /// Stage table and scaling rules.
    #[config(default = "Family::V1")]
    pub family: Family,
    /// Width multiplier (channels).
    #[config(default = 1.0)]
    pub width: f64,
    /// Depth multiplier (blocks per stage, rounded up).
    #[config(default = 1.0)]
    pub depth: f64,
    /// Native (evaluation) resolution in pixels.
    #[config(default = 224)]
    pub resolution: usize,
    /// Dropout before the classifier.
    #[config(default = 0.2)]
    pub dropout: f64,
    /// Maximum stochastic-depth rate; block `i` of `N` drops its residual branch with
    /// probability `drop_path_rate * i / N`.
    #[config(default = 0.2)]
    pub drop_path_rate: f64,
    /// Classifier outputs.
    #[config(default = 1000)]
    pub num_classes: usize,
    /// Input image channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Padding convention.
    #[config(default = "PaddingMode::Symmetric")]
    pub padding: PaddingMode,
    /// BatchNorm epsilon (1e-5 PyTorch-trained weights, 1e-3 TF-trained).
    #[config(default = 1e-5)]
    pub bn_eps: f64,
    /// BatchNorm momentum, PyTorch convention (`running = (1 - m) * running + m * batch`;
    /// TF's 0.99 is 0.01 here).
    #[config(default = 0.1)]
    pub bn_momentum: f64,
    /// Activation function.
    #[config(default = "Activation::Silu")]
    pub activation: Activation,
    /// Squeeze-and-excitation in MBConv blocks.
    #[config(default = true)]
    pub squeeze_excitation: bool,
}

impl EfficientNetConfig {
    /// A config of `family` with free multipliers and the family's default activation and SE.
    pub fn scaled(family: Family, width: f64, depth: f64, resolution: usize, dropout: f64) -> Self {
        let lite = family == Family::Lite;
        Self::new()
            .with_family(family)
            .with_width(width)
            .with_depth(depth)
            .with_resolution(resolution)
            .with_dropout(dropout)
            .with_activation(if lite {
                Activation::Relu6
            } else {
                Activation::Silu
            })
            .with_squeeze_excitation(!lite)
    }

    /// Switches to the TF-port conventions of timm's `tf_*` models: "SAME" padding and BN eps 1e-3.
    pub fn tf(self) -> Self {
        self.with_padding(PaddingMode::TfSame).with_bn_eps(1e-3)
    }

    /// Parses a model name (timm names and short aliases, see [`ModelName`]).
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(name.parse::<ModelName>()?.config())
    }

    /// Checks that every knob is in range.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, value: String| {
            Err(Error::InvalidConfig(format!("{what} must be {value}")))
        };
        if !(self.width.is_finite() && self.width > 0.0) {
            return bad("width", format!("a positive number, got {}", self.width));
        }
        if !(self.depth.is_finite() && self.depth > 0.0) {
            return bad("depth", format!("a positive number, got {}", self.depth));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("in [0, 1), got {}", self.dropout));
        }
        if !(0.0..1.0).contains(&self.drop_path_rate) {
            return bad(
                "drop_path_rate",
                format!("in [0, 1), got {}", self.drop_path_rate),
            );
        }
        if self.num_classes == 0 {
            return bad("num_classes", "at least 1".into());
        }
        if self.in_channels == 0 {
            return bad("in_channels", "at least 1".into());
        }
        if !(self.bn_eps.is_finite() && self.bn_eps > 0.0) {
            return bad("bn_eps", format!("a positive number, got {}", self.bn_eps));
        }
        if !(0.0..=1.0).contains(&self.bn_momentum) {
            return bad(
                "bn_momentum",
                format!("in [0, 1], got {}", self.bn_momentum),
            );
        }
        if self.resolution < 32 {
            return bad(
                "resolution",
                format!("at least 32, got {}", self.resolution),
            );
        }
        Ok(())
    }

    /// The concrete block plan of this config (channels, repeats, SE widths, drop-path rates).
    pub fn plan(&self) -> ArchPlan {
        PlanInput {
            table: self.family.table(),
            stem: self.family.stem_channels(),
            head: self.family.head_channels(),
            rule: self.family.scaling_rule(),
            width: self.width,
            depth: self.depth,
            squeeze_excitation: self.squeeze_excitation,
            drop_path_rate: self.drop_path_rate,
            in_channels: self.in_channels,
            num_classes: self.num_classes,
        }
        .plan()
    }

    /// Endpoints of [`EfficientNet::forward_features`](crate::EfficientNet::forward_features):
    /// strides 2, 4, 8, 16, 32 and their channel counts.
    pub fn feature_info(&self) -> Vec<FeatureInfo> {
        self.plan().feature_info()
    }

    /// Trainable parameters (without BN running statistics).
    pub fn num_params(&self) -> usize {
        self.plan().num_params()
    }

    /// Multiply-accumulates of one image at the native resolution.
    pub fn macs(&self) -> u64 {
        self.plan().macs(self.resolution, self.resolution)
    }
}

/// The named variants. Each documents its `(width, depth, resolution, dropout)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is documented by its row in `Variant::spec`
pub enum Variant {
    B0,
    B1,
    B2,
    B3,
    B4,
    B5,
    B6,
    B7,
    B8,
    L2,
    Lite0,
    Lite1,
    Lite2,
    Lite3,
    Lite4,
    V2S,
    V2M,
    V2L,
    V2B0,
    V2B1,
    V2B2,
    V2B3,
}

impl Variant {
    /// All variants, in table order.
    pub const ALL: [Variant; 22] = [
        Variant::B0,
        Variant::B1,
        Variant::B2,
        Variant::B3,
        Variant::B4,
        Variant::B5,
        Variant::B6,
        Variant::B7,
        Variant::B8,
        Variant::L2,
        Variant::Lite0,
        Variant::Lite1,
        Variant::Lite2,
        Variant::Lite3,
        Variant::Lite4,
        Variant::V2S,
        Variant::V2M,
        Variant::V2L,
        Variant::V2B0,
        Variant::V2B1,
        Variant::V2B2,
        Variant::V2B3,
    ];

    /// `(family, width, depth, resolution, dropout, short alias)`.
    ///
    /// V1: TF `efficientnet_params` (paper). Lite: TF `efficientnet_lite_builder.py` (lite3/4 at
    /// TF's 280/300 px; timm evaluates its ports at 300/380). V2: automl `effnetv2_configs.py`,
    /// eval resolution.
    const fn spec(self) -> (Family, f64, f64, usize, f64, &'static str) {
        use Family::*;
        match self {
            Variant::B0 => (V1, 1.0, 1.0, 224, 0.2, "b0"),
            Variant::B1 => (V1, 1.0, 1.1, 240, 0.2, "b1"),
            Variant::B2 => (V1, 1.1, 1.2, 260, 0.3, "b2"),
            Variant::B3 => (V1, 1.2, 1.4, 300, 0.3, "b3"),
            Variant::B4 => (V1, 1.4, 1.8, 380, 0.4, "b4"),
            Variant::B5 => (V1, 1.6, 2.2, 456, 0.4, "b5"),
            Variant::B6 => (V1, 1.8, 2.6, 528, 0.5, "b6"),
            Variant::B7 => (V1, 2.0, 3.1, 600, 0.5, "b7"),
            Variant::B8 => (V1, 2.2, 3.6, 672, 0.5, "b8"),
            Variant::L2 => (V1, 4.3, 5.3, 800, 0.5, "l2"),
            Variant::Lite0 => (Lite, 1.0, 1.0, 224, 0.2, "lite0"),
            Variant::Lite1 => (Lite, 1.0, 1.1, 240, 0.2, "lite1"),
            Variant::Lite2 => (Lite, 1.1, 1.2, 260, 0.3, "lite2"),
            Variant::Lite3 => (Lite, 1.2, 1.4, 280, 0.3, "lite3"),
            Variant::Lite4 => (Lite, 1.4, 1.8, 300, 0.3, "lite4"),
            Variant::V2S => (V2S, 1.0, 1.0, 384, 0.2, "v2_s"),
            Variant::V2M => (V2M, 1.0, 1.0, 480, 0.3, "v2_m"),
            Variant::V2L => (V2L, 1.0, 1.0, 480, 0.4, "v2_l"),
            Variant::V2B0 => (V2Base, 1.0, 1.0, 224, 0.2, "v2_b0"),
            Variant::V2B1 => (V2Base, 1.0, 1.1, 240, 0.2, "v2_b1"),
            Variant::V2B2 => (V2Base, 1.1, 1.2, 260, 0.3, "v2_b2"),
            Variant::V2B3 => (V2Base, 1.2, 1.4, 300, 0.3, "v2_b3"),
        }
    }

    /// Short alias: `b0`, `lite0`, `v2_s`, `v2_b0`, ...
    pub fn alias(self) -> &'static str {
        self.spec().5
    }

    /// timm name of the PyTorch-convention model: `efficientnet_b0`, `efficientnet_lite0`,
    /// `efficientnetv2_s`, `efficientnetv2_b0`, ...
    pub fn timm_name(self) -> String {
        match self.alias().strip_prefix("v2_") {
            Some(rest) => format!("efficientnetv2_{rest}"),
            None => format!("efficientnet_{}", self.alias()),
        }
    }

    /// The variant's config with PyTorch conventions (symmetric padding, BN eps 1e-5).
    pub fn config(self) -> EfficientNetConfig {
        let (family, width, depth, resolution, dropout, _) = self.spec();
        EfficientNetConfig::scaled(family, width, depth, resolution, dropout)
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alias())
    }
}

/// A parsed model name: a [`Variant`] plus the `tf_` flag.
///
/// Accepted (case-insensitive, `-` or `_`): timm names `efficientnet_b0`..`efficientnet_b8`,
/// `efficientnet_l2`, `efficientnet_lite0`..`4`, `efficientnetv2_s|m|l|b0..b3`, torchvision
/// names `efficientnet_v2_s|m|l`, the same with a `tf_` prefix (TF "SAME" padding, BN eps 1e-3),
/// and the short aliases `b0`, `lite0`, `v2_s`, `v2_b0`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelName {
    /// The architecture.
    pub variant: Variant,
    /// TF conventions (`tf_` prefix).
    pub tf: bool,
}

impl ModelName {
    /// The config this name denotes.
    pub fn config(self) -> EfficientNetConfig {
        let config = self.variant.config();
        if self.tf { config.tf() } else { config }
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = if self.tf { "tf_" } else { "" };
        write!(f, "{prefix}{}", self.variant.timm_name())
    }
}

impl FromStr for ModelName {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        let normalized = name.trim().to_ascii_lowercase().replace('-', "_");
        let (tf, rest) = match normalized.strip_prefix("tf_") {
            Some(rest) => (true, rest),
            None => (false, normalized.as_str()),
        };
        let alias = rest
            .strip_prefix("efficientnetv2_")
            .or_else(|| rest.strip_prefix("efficientnet_v2_"))
            .map(|r| format!("v2_{r}"))
            .or_else(|| rest.strip_prefix("efficientnet_").map(str::to_owned))
            .unwrap_or_else(|| rest.to_owned());
        Variant::ALL
            .into_iter()
            .find(|v| v.alias() == alias)
            .map(|variant| ModelName { variant, tf })
            .ok_or_else(|| Error::UnknownModel {
                name: name.to_owned(),
                known: Variant::ALL.map(|v| v.timm_name()).join(", "),
            })
    }
}

impl FromStr for Variant {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        name.parse::<ModelName>().map(|m| m.variant)
    }
}

macro_rules! named_constructors {
    ($($fn_name:ident => $variant:ident: $doc:literal;)*) => {
        impl EfficientNetConfig {
            $(
                #[doc = $doc]
                pub fn $fn_name() -> Self {
                    Variant::$variant.config()
                }
            )*
        }
    };
}

named_constructors! {
    b0 => B0: "EfficientNet-B0: width 1.0, depth 1.0, 224 px, dropout 0.2 (5,288,548 parameters).";
    b1 => B1: "EfficientNet-B1: width 1.0, depth 1.1, 240 px, dropout 0.2 (7,794,184 parameters).";
    b2 => B2: "EfficientNet-B2: width 1.1, depth 1.2, 260 px, dropout 0.3 (9,109,994 parameters).";
    b3 => B3: "EfficientNet-B3: width 1.2, depth 1.4, 300 px, dropout 0.3 (12,233,232 parameters).";
    b4 => B4: "EfficientNet-B4: width 1.4, depth 1.8, 380 px, dropout 0.4 (19,341,616 parameters).";
    b5 => B5: "EfficientNet-B5: width 1.6, depth 2.2, 456 px, dropout 0.4 (30,389,784 parameters).";
    b6 => B6: "EfficientNet-B6: width 1.8, depth 2.6, 528 px, dropout 0.5 (43,040,704 parameters).";
    b7 => B7: "EfficientNet-B7: width 2.0, depth 3.1, 600 px, dropout 0.5 (66,347,960 parameters).";
    b8 => B8: "EfficientNet-B8: width 2.2, depth 3.6, 672 px, dropout 0.5 (87,413,142 parameters).";
    l2 => L2: "EfficientNet-L2: width 4.3, depth 5.3, 800 px, dropout 0.5 (480,309,308 parameters).";
    lite0 => Lite0: "EfficientNet-Lite0: width 1.0, depth 1.0, 224 px, dropout 0.2, ReLU6, no SE (4,652,008 parameters).";
    lite1 => Lite1: "EfficientNet-Lite1: width 1.0, depth 1.1, 240 px, dropout 0.2, ReLU6, no SE (5,416,680 parameters).";
    lite2 => Lite2: "EfficientNet-Lite2: width 1.1, depth 1.2, 260 px, dropout 0.3, ReLU6, no SE (6,092,072 parameters).";
    lite3 => Lite3: "EfficientNet-Lite3: width 1.2, depth 1.4, 280 px, dropout 0.3, ReLU6, no SE (8,197,096 parameters).";
    lite4 => Lite4: "EfficientNet-Lite4: width 1.4, depth 1.8, 300 px, dropout 0.3, ReLU6, no SE (13,006,568 parameters).";
    v2_s => V2S: "EfficientNetV2-S: 384 px eval, dropout 0.2 (21,458,488 parameters).";
    v2_m => V2M: "EfficientNetV2-M: 480 px eval, dropout 0.3 (54,139,356 parameters).";
    v2_l => V2L: "EfficientNetV2-L: 480 px eval, dropout 0.4 (118,515,272 parameters).";
    v2_b0 => V2B0: "EfficientNetV2-B0: width 1.0, depth 1.0, 224 px eval, dropout 0.2 (7,139,704 parameters).";
    v2_b1 => V2B1: "EfficientNetV2-B1: width 1.0, depth 1.1, 240 px eval, dropout 0.2 (8,141,052 parameters).";
    v2_b2 => V2B2: "EfficientNetV2-B2: width 1.1, depth 1.2, 260 px eval, dropout 0.3 (10,096,086 parameters).";
    v2_b3 => V2B3: "EfficientNetV2-B3: width 1.2, depth 1.4, 300 px eval, dropout 0.3 (14,358,406 parameters).";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_parse() {
        let cases = [
            ("b0", Variant::B0, false),
            ("efficientnet_b3", Variant::B3, false),
            ("tf_efficientnet_b7", Variant::B7, true),
            ("EfficientNet-Lite2", Variant::Lite2, false),
            ("tf_efficientnet_lite4", Variant::Lite4, true),
            ("efficientnetv2_s", Variant::V2S, false),
            ("efficientnet_v2_m", Variant::V2M, false),
            ("tf_efficientnetv2_b3", Variant::V2B3, true),
            ("v2_l", Variant::V2L, false),
        ];
        for (name, variant, tf) in cases {
            let parsed: ModelName = name.parse().expect(name);
            assert_eq!(parsed, ModelName { variant, tf }, "{name}");
        }
        for v in Variant::ALL {
            assert_eq!(v.timm_name().parse::<Variant>().expect("timm name"), v);
            assert_eq!(v.alias().parse::<Variant>().expect("alias"), v);
        }
    }

    #[test]
    fn unknown_names_are_rejected_with_the_list() {
        let err = "efficientnet_b9"
            .parse::<ModelName>()
            .expect_err("b9 does not exist");
        let msg = err.to_string();
        assert!(msg.contains("efficientnet_b9"), "{msg}");
        assert!(msg.contains("efficientnetv2_s"), "{msg}");
        assert!("".parse::<ModelName>().is_err());
        assert!("tf_".parse::<ModelName>().is_err());
    }

    #[test]
    fn tf_prefix_sets_same_padding_and_eps() {
        let c = EfficientNetConfig::from_name("tf_efficientnet_b0").expect("name");
        assert_eq!(c.padding, PaddingMode::TfSame);
        assert_eq!(c.bn_eps, 1e-3);
        let c = EfficientNetConfig::from_name("efficientnet_b0").expect("name");
        assert_eq!(c.padding, PaddingMode::Symmetric);
        assert_eq!(c.bn_eps, 1e-5);
    }

    #[test]
    fn lite_uses_relu6_without_se() {
        let c = EfficientNetConfig::lite0();
        assert_eq!(c.activation, Activation::Relu6);
        assert!(!c.squeeze_excitation);
        assert!(c.plan().blocks().all(|b| b.se_channels.is_none()));
    }

    #[test]
    fn validate_rejects_out_of_range_knobs() {
        assert!(EfficientNetConfig::b0().validate().is_ok());
        assert!(
            EfficientNetConfig::b0()
                .with_dropout(1.0)
                .validate()
                .is_err()
        );
        assert!(
            EfficientNetConfig::b0()
                .with_num_classes(0)
                .validate()
                .is_err()
        );
        assert!(
            EfficientNetConfig::b0()
                .with_drop_path_rate(-0.1)
                .validate()
                .is_err()
        );
        assert!(
            EfficientNetConfig::scaled(Family::V1, 0.0, 1.0, 224, 0.2)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = EfficientNetConfig::from_name("tf_efficientnet_lite3")
            .expect("name")
            .with_num_classes(10);
        let json = burn::config::config_to_json(&c);
        let back = EfficientNetConfig::load_binary(json.as_bytes()).expect("parse");
        assert_eq!(back, c);
    }
}
