//! The tensor-level calls of [`FlexKernels`]: each unwraps its tensors into Burn's `Dispatch`
//! backend, runs the op (flex, or autodiff on flex) and wraps the result. Callers check
//! [`runs_on_flex`](super::flex::runs_on_flex) first.

use burn::backend::Dispatch;
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;

use super::batch_norm::BatchNormAct;
use super::flex::FlexKernels;
use super::padding::conv_options;
use super::running_stats;
use crate::config::Activation;

/// [`FlexKernels::silu`]. Shapes: `x` any, returned unchanged.
pub(crate) fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as FlexKernels>::silu(x.into_dispatch()))
}

/// [`FlexKernels::conv2d_no_bias`] with `conv`'s weight, stride, padding and groups (its bias,
/// if any, is not applied). Shapes: `x` `[N, C_in, H, W]`, returns `[N, C_out, H_out, W_out]`.
pub(crate) fn conv2d_no_bias(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let options = conv_options(conv, x.dims());
    let weight = conv.weight.val().into_dispatch();
    let y = <Dispatch as FlexKernels>::conv2d_no_bias(x.into_dispatch(), weight, options);
    Tensor::from_dispatch(y)
}

/// [`FlexKernels::channel_scale`]. Shapes: `x` `[N, C, H, W]`, `gate` `[N, C, 1, 1]`; returns
/// `[N, C, H, W]`.
pub(crate) fn channel_scale(x: Tensor<4>, gate: Tensor<4>) -> Tensor<4> {
    let y = <Dispatch as FlexKernels>::channel_scale(x.into_dispatch(), gate.into_dispatch());
    Tensor::from_dispatch(y)
}

/// [`FlexKernels::plane_mean`]. Shapes: `x` `[N, C, H, W]`; returns `[N, C, 1, 1]`.
pub(crate) fn plane_mean(x: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as FlexKernels>::plane_mean(x.into_dispatch()))
}

/// [`FlexKernels::tap_major`]: `weight` (`[C_out, C_in / groups, KH, KW]`) stored tap-major.
pub(crate) fn tap_major(weight: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as FlexKernels>::tap_major(weight.into_dispatch()))
}

/// Training-mode batch norm and `act` through [`FlexKernels::batch_norm_act_train`], updating
/// `bn`'s running averages with the batch statistics as Burn's `BatchNorm` does. Shapes: `x`
/// `[N, C, H, W]`, returned unchanged.
pub(crate) fn batch_norm_act_train(
    bn: &BatchNorm,
    act: Option<Activation>,
    x: Tensor<4>,
) -> Tensor<4> {
    let (gamma, beta) = (
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
    );
    let (y, mean, variance) = <Dispatch as FlexKernels>::batch_norm_act_train(
        x.into_dispatch(),
        gamma,
        beta,
        BatchNormAct {
            epsilon: bn.epsilon,
            act,
        },
    );
    let (mean, variance) = (
        Tensor::<1>::from_dispatch(mean),
        Tensor::<1>::from_dispatch(variance),
    );
    running_stats::update(&bn.running_mean, mean, bn.momentum);
    running_stats::update(&bn.running_var, variance, bn.momentum);
    Tensor::from_dispatch(y)
}

/// Inference batch norm as one multiply-add per value ([`FlexKernels::channel_affine`]): with
/// `scale = gamma / sqrt(running_var + eps)` and `shift = beta - running_mean * scale`.
/// Shapes: `x` `[N, C, H, W]`, returned unchanged.
pub(crate) fn batch_norm_inference(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    let mean = bn.running_mean.value().to_device(&device);
    let variance = bn.running_var.value().to_device(&device);
    let scale = bn.gamma.val() / variance.add_scalar(bn.epsilon).sqrt(); // [C]
    let shift = bn.beta.val() - mean * scale.clone(); // [C]
    let (scale, shift) = (scale.into_dispatch(), shift.into_dispatch());
    let y = <Dispatch as FlexKernels>::channel_affine(x.into_dispatch(), scale, shift);
    Tensor::from_dispatch(y)
}
