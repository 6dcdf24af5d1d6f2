//! Squeeze-and-excitation: Hu et al., *Squeeze-and-Excitation Networks*, CVPR 2018,
//! <https://arxiv.org/abs/1709.01507>, in EfficientNet's form.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use super::init;
use crate::config::{Activation, PaddingMode};

/// Global average pool -> 1x1 conv (reduce) -> activation -> 1x1 conv (expand) -> sigmoid ->
/// channel-wise gate. The squeeze width comes from the *block input* channels
/// (`max(1, in / 4)`), not from the expanded width it gates.
#[derive(Module, Debug)]
pub struct SqueezeExcitation {
    /// `channels -> squeeze`, with bias.
    pub conv_reduce: Conv2d,
    /// `squeeze -> channels`, with bias.
    pub conv_expand: Conv2d,
    /// Activation between the two convolutions (the block's activation).
    #[module(skip)]
    pub activation: Activation,
}

impl SqueezeExcitation {
    /// An SE module gating `channels` through a bottleneck of `squeeze` channels.
    pub fn new(channels: usize, squeeze: usize, activation: Activation, device: &Device) -> Self {
        let conv =
            |cin, cout| init::conv([cin, cout], 1, 1, 1, PaddingMode::Symmetric, true, device);
        Self {
            conv_reduce: conv(channels, squeeze),
            conv_expand: conv(squeeze, channels),
            activation,
        }
    }

    /// # Shapes
    /// - input: `[N, C, H, W]`
    /// - output: `[N, C, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let s = crate::kernels::plane_mean(x.clone()); // [N, C, 1, 1]
        let s = self
            .activation
            .forward(crate::kernels::conv2d(&self.conv_reduce, s)); // [N, squeeze, 1, 1]
        let gate = sigmoid(crate::kernels::conv2d(&self.conv_expand, s)); // [N, C, 1, 1]
        crate::kernels::channel_scale(x, gate)
    }

    /// The same module with its weights stored for inference ([`crate::kernels::tap_major`]),
    /// as [`EfficientNet::fuse`](crate::EfficientNet::fuse) leaves them.
    pub fn fuse(self) -> Self {
        let fuse = |mut conv: Conv2d| {
            conv.weight = conv.weight.map(crate::kernels::tap_major);
            conv
        };
        Self {
            conv_reduce: fuse(self.conv_reduce),
            conv_expand: fuse(self.conv_expand),
            ..self
        }
    }
}
