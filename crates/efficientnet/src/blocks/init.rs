//! Weight initialisation of the TF reference and timm (`_init_weight_goog`).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::Device;

use crate::config::PaddingMode;

/// A `kernel` x `kernel` convolution initialised with `N(0, sqrt(2 / fan_out))`,
/// `fan_out = k * k * out / groups`, bias (if any) zero.
pub(crate) fn conv(
    [in_channels, out_channels]: [usize; 2],
    kernel: usize,
    stride: usize,
    groups: usize,
    padding: PaddingMode,
    bias: bool,
    device: &Device,
) -> Conv2d {
    let fan_out = kernel * kernel * out_channels / groups;
    let mut conv = Conv2dConfig::new([in_channels, out_channels], [kernel, kernel])
        .with_stride([stride, stride])
        .with_groups(groups)
        .with_padding(padding.to_burn(kernel))
        .with_bias(false)
        .with_initializer(Initializer::Normal {
            mean: 0.0,
            std: (2.0 / fan_out as f64).sqrt(),
        })
        .init(device);
    if bias {
        conv.bias = Some(Initializer::Zeros.init([out_channels], device));
    }
    conv
}

/// A classifier initialised with `U(-1/sqrt(out), 1/sqrt(out))`, bias zero.
pub(crate) fn linear(in_features: usize, out_features: usize, device: &Device) -> Linear {
    let range = 1.0 / (out_features as f64).sqrt();
    let mut linear = LinearConfig::new(in_features, out_features)
        .with_bias(false)
        .with_initializer(Initializer::Uniform {
            min: -range,
            max: range,
        })
        .init(device);
    linear.bias = Some(Initializer::Zeros.init([out_features], device));
    linear
}
