//! MBConv, the inverted residual block of MobileNetV2 (Sandler et al., 2018,
//! <https://arxiv.org/abs/1801.04381>) with squeeze-and-excitation, as in EfficientNet.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::conv_bn_act::{ConvBnAct, ConvBnActConfig};
use super::drop_path::DropPath;
use super::settings::BlockSettings;
use super::squeeze_excitation::SqueezeExcitation;
use crate::arch::BlockPlan;

/// `[1x1 expand -> BN -> act] -> kxk depthwise -> BN -> act -> [SE] -> 1x1 project -> BN`,
/// plus the input (through stochastic depth) when stride is 1 and the width is unchanged.
/// Without expansion (ratio 1) this is the depthwise-separable block of V1's first stage.
#[derive(Module, Debug)]
pub struct MbConv {
    /// 1x1 expansion, absent for ratio 1.
    pub expand: Option<ConvBnAct>,
    /// kxk depthwise convolution (carries the stride).
    pub depthwise: ConvBnAct,
    /// Squeeze-and-excitation (absent in Lite).
    pub se: Option<SqueezeExcitation>,
    /// 1x1 linear projection (no activation).
    pub project: ConvBnAct,
    /// Stochastic depth on the residual branch.
    pub drop_path: DropPath,
    /// Whether the input is added back.
    pub residual: bool,
}

impl MbConv {
    /// Builds the block of `plan`.
    pub fn new(plan: &BlockPlan, settings: &BlockSettings, device: &Device) -> Self {
        let mid = plan.mid_channels;
        let layer = |channels, kernel, stride, groups, act| {
            ConvBnActConfig::from_settings(channels, kernel, stride, groups, settings, act)
                .init(device)
        };
        Self {
            expand: plan
                .has_expansion()
                .then(|| layer([plan.in_channels, mid], 1, 1, 1, true)),
            depthwise: layer([mid, mid], plan.kernel, plan.stride, mid, true),
            se: plan
                .se_channels
                .map(|s| SqueezeExcitation::new(mid, s, settings.activation, device)),
            project: layer([mid, plan.out_channels], 1, 1, 1, false),
            drop_path: DropPath::new(plan.drop_path),
            residual: plan.has_residual(),
        }
    }

    /// # Shapes
    /// - input: `[N, C_in, H, W]`
    /// - output: `[N, C_out, ceil(H / s), ceil(W / s)]`
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let mut x = input.clone();
        if let Some(expand) = &self.expand {
            x = expand.forward(x); // [N, mid, H, W]
        }
        x = self.depthwise.forward(x); // [N, mid, H/s, W/s]
        if let Some(se) = &self.se {
            x = se.forward(x);
        }
        x = self.project.forward(x); // [N, C_out, H/s, W/s]
        if self.residual {
            self.drop_path.forward(x) + input
        } else {
            x
        }
    }

    /// Folds every BatchNorm into its convolution ([`ConvBnAct::fuse`]).
    pub fn fuse(self) -> Self {
        Self {
            expand: self.expand.map(ConvBnAct::fuse),
            depthwise: self.depthwise.fuse(),
            se: self.se.map(SqueezeExcitation::fuse),
            project: self.project.fuse(),
            ..self
        }
    }
}
