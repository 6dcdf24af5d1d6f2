//! Fused-MBConv of EfficientNetV2 (Tan & Le, 2021, <https://arxiv.org/abs/2104.00298>, Fig. 2):
//! the expansion and depthwise convolutions of MBConv fused into one regular kxk convolution.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::conv_bn_act::{ConvBnAct, ConvBnActConfig};
use super::drop_path::DropPath;
use super::settings::BlockSettings;
use crate::arch::BlockPlan;

/// `kxk conv -> BN -> act -> [1x1 project -> BN]`, plus the input (through stochastic depth)
/// when stride is 1 and the width is unchanged. With ratio 1 the kxk convolution maps straight
/// to the output width and there is no projection.
#[derive(Module, Debug)]
pub struct FusedMbConv {
    /// kxk convolution (carries the stride): `in -> mid`, or `in -> out` without expansion.
    pub conv: ConvBnAct,
    /// 1x1 linear projection `mid -> out`, absent for ratio 1.
    pub project: Option<ConvBnAct>,
    /// Stochastic depth on the residual branch.
    pub drop_path: DropPath,
    /// Whether the input is added back.
    pub residual: bool,
}

impl FusedMbConv {
    /// Builds the block of `plan`.
    pub fn new(plan: &BlockPlan, settings: &BlockSettings, device: &Device) -> Self {
        let expand = plan.has_expansion();
        let conv_out = if expand {
            plan.mid_channels
        } else {
            plan.out_channels
        };
        let layer = |channels, kernel, stride, act| {
            ConvBnActConfig::from_settings(channels, kernel, stride, 1, settings, act).init(device)
        };
        Self {
            conv: layer([plan.in_channels, conv_out], plan.kernel, plan.stride, true),
            project: expand.then(|| layer([plan.mid_channels, plan.out_channels], 1, 1, false)),
            drop_path: DropPath::new(plan.drop_path),
            residual: plan.has_residual(),
        }
    }

    /// # Shapes
    /// - input: `[N, C_in, H, W]`
    /// - output: `[N, C_out, ceil(H / s), ceil(W / s)]`
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let mut x = self.conv.forward(input.clone());
        if let Some(project) = &self.project {
            x = project.forward(x);
        }
        if self.residual {
            self.drop_path.forward(x) + input
        } else {
            x
        }
    }

    /// Folds every BatchNorm into its convolution ([`ConvBnAct::fuse`]).
    pub fn fuse(self) -> Self {
        Self {
            conv: self.conv.fuse(),
            project: self.project.map(ConvBnAct::fuse),
            ..self
        }
    }
}
