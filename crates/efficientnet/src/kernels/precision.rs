//! The mixed-precision policy: what a layer computes in when its input's dtype differs from
//! its parameters' (f32 weights, a bf16 or f16 batch: `images.cast(FloatDType::BF16)`).
//!
//! * Convolutions and Linear layers compute in the *input's* dtype, on half-precision copies
//!   of their f32 weight and bias. The cast is part of the graph, so under autodiff the weight
//!   gradients come back in f32, the dtype of the parameters the optimiser updates.
//! * BatchNorm normalises in its *parameters'* dtype (f32): the input is cast up, normalised
//!   with f32 statistics (the running averages stay f32) and the result cast back down.
//!
//! The stock and flex paths of [`super`] only ever see matching dtypes.

use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear};
use burn::tensor::{DType, Tensor};

use super::padding::conv_options;

/// Whether a layer with parameters of dtype `param` computes an input of dtype `input` in
/// mixed precision (by this module's rules rather than the plain op).
pub(crate) fn is_mixed(param: DType, input: DType) -> bool {
    param != input
}

/// `conv.forward(x)` in the dtype of `x`, on copies of the weight and bias cast to it.
///
/// # Shapes
///
/// * `x`: `[N, C_in, H, W]`
/// * returns `[N, C_out, H_out, W_out]`
pub(crate) fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let dtype = x.dtype();
    let options = conv_options(conv, x.dims());
    let bias = conv.bias.as_ref().map(|b| b.val().cast(dtype));
    burn::tensor::module::conv2d(x, conv.weight.val().cast(dtype), bias, options)
}

/// `linear.forward(x)` in the dtype of `x`, on copies of the weight and bias cast to it.
///
/// # Shapes
///
/// * `x`: `[..., d_in]`
/// * returns `[..., d_out]`
pub(crate) fn linear<const D: usize>(linear: &Linear, x: Tensor<D>) -> Tensor<D> {
    let dtype = x.dtype();
    let bias = linear.bias.as_ref().map(|b| b.val().cast(dtype));
    burn::tensor::module::linear(x, linear.weight.val().cast(dtype), bias)
}

/// `normalise(x)` in the dtype of `bn`'s parameters: `x` cast to it first and the result cast
/// back to the dtype of `x` (nothing is cast when the two agree).
///
/// # Shapes
///
/// * `x`: `[N, C, H, W]`, returned unchanged.
pub(crate) fn in_batch_norm_dtype(
    bn: &BatchNorm,
    x: Tensor<4>,
    normalise: impl FnOnce(Tensor<4>) -> Tensor<4>,
) -> Tensor<4> {
    let (dtype, param_dtype) = (x.dtype(), bn.gamma.val().dtype());
    if is_mixed(param_dtype, dtype) {
        normalise(x.cast(param_dtype)).cast(dtype)
    } else {
        normalise(x)
    }
}
