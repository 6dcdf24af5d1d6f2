//! [`EfficientNetConfig`]: every knob of the network, and the knobs' own types ([`Activation`],
//! [`PaddingMode`]). The named variants are in `variants`, their names in `names`.

use burn::config::Config;
use burn::nn::PaddingConfig2d;

use crate::arch::{ArchPlan, FeatureInfo, PlanInput};
use crate::error::{Error, Result};
use crate::family::Family;

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

#[cfg(test)]
mod tests {
    use super::*;

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
