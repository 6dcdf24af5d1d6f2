//! Kernels of this crate, through Burn's backend extension (`#[backend_extension]`): used where
//! a stock Burn op is the bottleneck on a backend, and only there.
//!
//! * [`silu`]: on flex, one vectorised pass (forward) and one fused pass (backward) instead of
//!   Burn's `x * sigmoid(x)`, whose sigmoid is a scalar `libm` `exp` per value (~5.5 ns) and
//!   whose backward runs the multiply's and the sigmoid's backward separately. Every other
//!   backend gets `burn::tensor::activation::silu`.
//! * [`conv2d`]: a bias-free convolution whose backward, on flex with autodiff, computes 1x1
//!   gradients as matrix products and depthwise gradients with direct loops, where Burn's
//!   defaults run one convolution per channel (depthwise weight gradient) or a convolution with
//!   the whole feature map as its kernel (1x1 weight gradient). The forward is Burn's.
//! * [`batch_norm`]: in training mode on flex, statistics and normalisation as direct loops
//!   with a fused backward, where Burn's composition copies the activation into channel-major
//!   order twice per pass and runs ~8 ops forward and ~16 backward.

#[cfg(feature = "flex")]
mod autodiff;
#[cfg(feature = "flex")]
mod batch_norm;
#[cfg(feature = "flex")]
mod depthwise;
#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "flex")]
mod math;

use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::tensor::Tensor;
use burn::tensor::ops::ConvOptions;

/// SiLU (swish), `x * sigmoid(x)`, element-wise (Elfwing et al. 2017; Ramachandran et al. 2017).
///
/// On flex (with or without autodiff) this runs [`FlexKernels::silu`]; values agree with
/// `burn::tensor::activation::silu` to 4e-7 relative, gradients to 5e-7 absolute.
///
/// # Shapes
///
/// * `x`: any, returned unchanged.
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if flex::runs_on_flex(&x) {
        use burn::backend::Dispatch;
        return Tensor::from_dispatch(<Dispatch as FlexKernels>::silu(x.into_dispatch()));
    }
    burn::tensor::activation::silu(x)
}

/// `conv.forward(x)`: a 2-d convolution with `conv`'s weight, bias, stride, padding and groups.
///
/// On flex, a convolution without bias runs [`FlexKernels::conv2d_no_bias`], whose gradients
/// agree with Burn's to float rounding (tests/model/kernels.rs).
///
/// # Shapes
///
/// * `x`: `[N, C_in, H, W]`
/// * returns `[N, C_out, H_out, W_out]`
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let weight = conv.weight.val();
    if weight.dtype() != x.dtype() {
        // Mixed precision: the layer computes in the input's dtype (bf16/f16) on a copy of its
        // f32 weights; the cast's backward returns the weight gradient in f32.
        let dtype = x.dtype();
        let options = conv_options(conv, x.dims());
        let bias = conv.bias.as_ref().map(|b| b.val().cast(dtype));
        return burn::tensor::module::conv2d(x, weight.cast(dtype), bias, options);
    }
    #[cfg(feature = "flex")]
    if conv.bias.is_none() && flex::runs_on_flex(&x) {
        use burn::backend::Dispatch;
        let options = conv_options(conv, x.dims());
        let weight = weight.into_dispatch();
        let y = <Dispatch as FlexKernels>::conv2d_no_bias(x.into_dispatch(), weight, options);
        return Tensor::from_dispatch(y);
    }
    conv.forward(x)
}

/// `bn.forward(x)`: batch normalisation of `x` with `bn`'s parameters, on batch statistics
/// (updating `bn`'s running averages) in training mode, on the running averages otherwise.
///
/// On flex with autodiff and `bn` in training mode this runs
/// [`FlexKernels::batch_norm_train_fused`] and updates the running averages as Burn's
/// `BatchNorm` does (`running = (1 - momentum) * running + momentum * batch`, with the biased
/// batch variance, as Burn). Without autodiff on flex, the running statistics are folded into one
/// multiply-add per value ([`FlexKernels::channel_affine`]).
///
/// # Shapes
///
/// * `x`: `[N, C, H, W]`, returned unchanged.
pub fn batch_norm(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let (dtype, param_dtype) = (x.dtype(), bn.gamma.val().dtype());
    if param_dtype != dtype {
        // Mixed precision: statistics and normalisation in the parameters' dtype (f32), the
        // result back in the input's (bf16/f16).
        return batch_norm(bn, x.cast(param_dtype)).cast(dtype);
    }
    #[cfg(feature = "flex")]
    if x.device().is_autodiff() && bn.training.is_enabled() && flex::runs_on_flex(&x) {
        use burn::backend::Dispatch;
        let (gamma, beta) = (
            bn.gamma.val().into_dispatch(),
            bn.beta.val().into_dispatch(),
        );
        let (y, mean, variance) = <Dispatch as FlexKernels>::batch_norm_train_fused(
            x.into_dispatch(),
            gamma,
            beta,
            bn.epsilon,
        );
        let (mean, variance) = (
            Tensor::<1>::from_dispatch(mean),
            Tensor::<1>::from_dispatch(variance),
        );
        let update = |running: &burn::module::RunningState<Tensor<1>>, batch: Tensor<1>| {
            let old = running.value_sync().to_device(&batch.device());
            let new = old
                .mul_scalar(1.0 - bn.momentum)
                .add(batch.detach().mul_scalar(bn.momentum));
            running.update(new.detach());
        };
        update(&bn.running_mean, mean);
        update(&bn.running_var, variance);
        return Tensor::from_dispatch(y);
    }
    #[cfg(feature = "flex")]
    if !x.device().is_autodiff() && flex::runs_on_flex(&x) {
        use burn::backend::Dispatch;
        let device = x.device();
        let mean = bn.running_mean.value().to_device(&device);
        let variance = bn.running_var.value().to_device(&device);
        let scale = bn.gamma.val() / variance.add_scalar(bn.epsilon).sqrt(); // [C]
        let shift = bn.beta.val() - mean * scale.clone(); // [C]
        let (scale, shift) = (scale.into_dispatch(), shift.into_dispatch());
        let y = <Dispatch as FlexKernels>::channel_affine(x.into_dispatch(), scale, shift);
        return Tensor::from_dispatch(y);
    }
    bn.forward(x)
}

/// `linear.forward(x)` in the dtype of `x`: a bf16/f16 input multiplies a bf16/f16 copy of
/// the (f32) weight and bias (mixed precision; gradients return in the weights' dtype).
///
/// # Shapes
///
/// * `x`: `[..., d_in]`
/// * returns `[..., d_out]`
pub fn linear<const D: usize>(linear: &Linear, x: Tensor<D>) -> Tensor<D> {
    let weight = linear.weight.val();
    if weight.dtype() == x.dtype() {
        return linear.forward(x);
    }
    let dtype = x.dtype();
    let bias = linear.bias.as_ref().map(|b| b.val().cast(dtype));
    burn::tensor::module::linear(x, weight.cast(dtype), bias)
}

/// The [`ConvOptions`] that `Conv2d::forward` builds for an input of shape `dims`. Burn's
/// padding arithmetic (`PaddingConfig2d::calculate_padding_2d_pairs`) is crate-private, so
/// "same" padding is computed here the same way: `(size_out - 1) * stride + kernel - size_in`
/// in total, the smaller half first.
fn conv_options(conv: &Conv2d, [_, _, height, width]: [usize; 4]) -> ConvOptions<2> {
    let same = |size: usize, kernel: usize, stride: usize| {
        let total = ((size.div_ceil(stride).max(1) - 1) * stride + kernel).saturating_sub(size);
        (total / 2, total - total / 2)
    };
    let [kh, kw] = conv.kernel_size;
    let [sh, sw] = conv.stride;
    let padding = match conv.padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Same => [same(height, kh, sh), same(width, kw, sw)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
    };
    ConvOptions::new_with_padding(conv.stride, padding, conv.dilation, conv.groups)
}

#[cfg(feature = "flex")]
pub use flex::FlexKernels;
