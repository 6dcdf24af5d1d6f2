//! Convolution (no bias) -> BatchNorm -> optional activation.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::{Device, Tensor};

use super::init;
use super::settings::BlockSettings;
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
            bn: Some(
                BatchNormConfig::new(self.out_channels)
                    .with_epsilon(self.bn_eps)
                    .with_momentum(self.bn_momentum)
                    .init(device),
            ),
            activation: self.activation,
        }
    }
}

/// `conv -> BN -> act`, the unit every EfficientNet layer is made of.
#[derive(Module, Debug)]
pub struct ConvBnAct {
    /// The convolution (no bias while BN follows; with the folded BN's bias after
    /// [`ConvBnAct::fuse`]).
    pub conv: Conv2d,
    /// Batch normalisation; `None` once folded into the convolution by [`ConvBnAct::fuse`].
    pub bn: Option<BatchNorm>,
    /// Activation, `None` for linear projections.
    #[module(skip)]
    pub activation: Option<Activation>,
}

impl ConvBnAct {
    /// # Shapes
    /// - input: `[N, C_in, H, W]`
    /// - output: `[N, C_out, ceil(H / s), ceil(W / s)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = crate::kernels::conv2d(&self.conv, x);
        match (&self.bn, self.activation) {
            (Some(bn), act) => crate::kernels::batch_norm_activation(bn, act, x),
            (None, Some(act)) => act.forward(x),
            (None, None) => x,
        }
    }

    /// Folds the BatchNorm's running statistics into the convolution, for inference:
    /// with `s = gamma / sqrt(var + eps)` per output channel, `w' = w * s` and
    /// `b' = beta + (b - mean) * s` (`b = 0` without a bias). The result computes the
    /// evaluation-mode output with one op less; training it would not update BN statistics.
    pub fn fuse(self) -> Self {
        let Some(bn) = self.bn else {
            return self;
        };
        let mut conv = self.conv;
        let scale = bn.gamma.val() / bn.running_var.value().add_scalar(bn.epsilon).sqrt(); // [C_out]
        let shift = match conv.bias.take() {
            Some(bias) => bias.val() - bn.running_mean.value(),
            None => bn.running_mean.value().neg(),
        };
        let bias = bn.beta.val() + shift * scale.clone(); // [C_out]
        conv.weight = conv
            .weight
            .map(|w| crate::kernels::scale_output_channels(w, scale)); // [C_out, C_in / g, k, k]
        conv.bias = Some(Param::from_tensor(bias));
        Self {
            conv,
            bn: None,
            activation: self.activation,
        }
    }
}
