//! Convolution (no bias) -> BatchNorm -> optional activation.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::{Device, Tensor};

use super::{BlockSettings, init};
use crate::config::{Activation, PaddingMode};

/// Configuration of a [`ConvBnAct`].
#[derive(Config, Debug)]
pub struct ConvBnActConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel size.
    pub kernel: usize,
    /// Stride.
    #[config(default = 1)]
    pub stride: usize,
    /// Convolution groups (`= channels` for depthwise).
    #[config(default = 1)]
    pub groups: usize,
    /// Padding convention.
    #[config(default = "PaddingMode::Symmetric")]
    pub padding: PaddingMode,
    /// BatchNorm epsilon.
    #[config(default = 1e-5)]
    pub bn_eps: f64,
    /// BatchNorm momentum (PyTorch convention).
    #[config(default = 0.1)]
    pub bn_momentum: f64,
    /// Activation after BN; `None` for linear projections.
    pub activation: Option<Activation>,
}

impl ConvBnActConfig {
    /// A config taking padding, BN and activation from `settings` (`act = false`: no activation).
    pub fn from_settings(
        [in_channels, out_channels]: [usize; 2],
        kernel: usize,
        stride: usize,
        groups: usize,
        settings: &BlockSettings,
        act: bool,
    ) -> Self {
        Self::new(in_channels, out_channels, kernel)
            .with_stride(stride)
            .with_groups(groups)
            .with_padding(settings.padding)
            .with_bn_eps(settings.bn_eps)
            .with_bn_momentum(settings.bn_momentum)
            .with_activation(act.then_some(settings.activation))
    }

    /// Builds the layer (TF initialisation, BN `gamma = 1`, `beta = 0`).
    pub fn init(&self, device: &Device) -> ConvBnAct {
        ConvBnAct {
            conv: init::conv(
                [self.in_channels, self.out_channels],
                self.kernel,
                self.stride,
                self.groups,
                self.padding,
                false,
                device,
            ),
            bn: BatchNormConfig::new(self.out_channels)
                .with_epsilon(self.bn_eps)
                .with_momentum(self.bn_momentum)
                .init(device),
            activation: self.activation,
        }
    }
}

/// `conv -> BN -> act`, the unit every EfficientNet layer is made of.
#[derive(Module, Debug)]
pub struct ConvBnAct {
    /// The convolution (no bias: BN follows).
    pub conv: Conv2d,
    /// Batch normalisation.
    pub bn: BatchNorm,
    /// Activation, `None` for linear projections.
    #[module(skip)]
    pub activation: Option<Activation>,
}

impl ConvBnAct {
    /// # Shapes
    /// - input: `[N, C_in, H, W]`
    /// - output: `[N, C_out, ceil(H / s), ceil(W / s)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.bn.forward(self.conv.forward(x));
        match self.activation {
            Some(act) => act.forward(x),
            None => x,
        }
    }
}
