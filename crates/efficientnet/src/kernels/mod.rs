//! Kernels of this crate, through Burn's backend extension (`#[backend_extension]`): used where
//! a stock Burn op is the bottleneck on a backend, and only there. Not a public API (hidden from
//! the docs; public for this crate's tests and benchmarks).
//!
//! Each function here is a dispatcher: mixed precision first (`precision`), then this crate's
//! flex kernel where it applies (`on_flex`), else the stock Burn op. The flex kernels' loops run
//! at the CPU's widest SIMD width, picked at run time (`simd`, [`simd_level`]).
//!
//! * [`silu`]: on flex, one vectorised pass (forward) and one fused pass (backward) instead of
//!   Burn's `x * sigmoid(x)`, whose sigmoid is a scalar `libm` `exp` per value (~5.5 ns) and
//!   whose backward runs the multiply's and the sigmoid's backward separately. Every other
//!   backend gets `burn::tensor::activation::silu`.
//! * [`conv2d`]: a bias-free convolution whose backward, on flex with autodiff, computes 1x1
//!   gradients as matrix products and depthwise gradients with direct loops, where Burn's
//!   defaults run one convolution per channel (depthwise weight gradient) or a convolution with
//!   the whole feature map as its kernel (1x1 weight gradient). A 1x1 convolution's forward
//!   and gradients run this crate's matrix-product kernel per image (`pointwise`), a depthwise
//!   one's forward and gradients this crate's plane kernels (`depthwise`, channels-last per
//!   image for small planes: `depthwise_small`), a dense one of at most four input channels
//!   (the stem) its forward and weight gradient in `stem`; other convolutions are Burn's. On
//!   any backend, a 1x1 convolution on 1x1 planes (squeeze-excitation's) is a matrix product.
//! * [`plane_mean`]: squeeze-excitation's squeeze; on flex one pass per plane, and a backward
//!   that fills each plane once where Burn's `mean_dim` builds a full-size tensor of ones.
//! * [`channel_scale`]: squeeze-excitation's gate, forward and both gradients in one pass each.
//! * [`batch_norm_activation`] (and [`batch_norm`](fn@batch_norm) without an activation): in
//!   training mode on flex, statistics, normalisation and the activation after it as direct
//!   loops, one task per channel, with a fused backward, where Burn's composition copies the
//!   tensor into channel-major order twice per pass, runs ~8 ops forward and ~16 backward, and
//!   keeps the normalised tensor for the activation's backward.
//! * [`linear`]: Burn's, in the input's dtype (mixed precision).
//!
//! Besides these ops, `fast` is a whole inference path: a fused model's `forward` on flex runs
//! end to end on channels-last activations there (see its module doc), timed per op class by
//! [`profile`].

#[cfg(feature = "flex")]
mod autodiff;
#[cfg(feature = "flex")]
mod batch_norm;
#[cfg(feature = "flex")]
mod buffer;
#[cfg(feature = "flex")]
mod composed;
#[cfg(feature = "flex")]
mod conv_kind;
#[cfg(feature = "flex")]
mod depthwise;
#[cfg(feature = "flex")]
mod depthwise_small;
#[cfg(feature = "flex")]
mod fast;
#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "flex")]
mod gate;
#[cfg(feature = "flex")]
mod math;
#[cfg(feature = "flex")]
mod microkernel;
#[cfg(feature = "flex")]
mod on_flex;
pub(crate) mod padding;
#[cfg(feature = "flex")]
mod pitched;
#[cfg(feature = "flex")]
mod pointwise;
mod precision;
#[cfg(feature = "flex")]
mod running_stats;
#[cfg(feature = "flex")]
mod runs;
#[cfg(feature = "flex")]
mod simd;
#[cfg(feature = "flex")]
mod stem;
#[cfg(feature = "flex")]
mod window;

/// The vector instruction set this crate's flex kernels run with on this CPU, chosen at run
/// time: `avx512`, `avx2+fma`, `neon` or `baseline` (also with `EFFICIENTNET_SIMD=baseline`).
#[cfg(feature = "flex")]
pub use simd::level as simd_level;

/// Time per op class of the fast inference path (`start`, then `take`).
#[cfg(feature = "flex")]
pub use fast::profile;

#[cfg(feature = "flex")]
pub(crate) use fast::forward as fast_forward;

/// Whether `model.forward(x)` runs the fast inference path (a fused model, an `f32` input on
/// flex without autodiff).
#[cfg(feature = "flex")]
pub use fast::applies as fast_path_applies;

use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear};
use burn::tensor::Tensor;

use crate::config::Activation;
#[cfg(feature = "flex")]
use flex::runs_on_flex;

/// SiLU (swish), `x * sigmoid(x)`, element-wise (Elfwing et al. 2017; Ramachandran et al. 2017).
///
/// On flex (with or without autodiff) this runs the crate's flex kernel; values agree with
/// `burn::tensor::activation::silu` to 4e-7 relative, gradients to 5e-7 absolute.
///
/// # Shapes
///
/// * `x`: any, returned unchanged.
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if runs_on_flex(&x) {
        return on_flex::silu(x);
    }
    burn::tensor::activation::silu(x)
}

/// `conv.forward(x)`: a 2-d convolution with `conv`'s weight, bias, stride, padding and groups.
///
/// On flex, a convolution without bias runs the crate's flex kernel, whose gradients agree
/// with Burn's to float rounding (tests/model/kernels.rs).
///
/// # Shapes
///
/// * `x`: `[N, C_in, H, W]`
/// * returns `[N, C_out, H_out, W_out]`
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    if precision::is_mixed(conv.weight.val().dtype(), x.dtype()) {
        return precision::conv2d(conv, x);
    }
    if is_matrix_product(conv, x.dims()) {
        return matrix_product(conv, x);
    }
    #[cfg(feature = "flex")]
    if conv.bias.is_none() && runs_on_flex(&x) {
        return on_flex::conv2d_no_bias(conv, x);
    }
    conv.forward(x)
}

/// Whether `conv` on an input of `dims` is a plain matrix product: a 1x1 kernel, stride 1, no
/// padding or dilation, one group, on 1x1 planes (squeeze-excitation's convolutions, on pooled
/// values), where a convolution's machinery (and its backward) costs far more than the product.
fn is_matrix_product(conv: &Conv2d, dims: [usize; 4]) -> bool {
    let options = padding::conv_options(conv, dims);
    conv.kernel_size == [1, 1]
        && options.stride == [1, 1]
        && options.dilation == [1, 1]
        && options.groups == 1
        && options.padding == [(0, 0); 2]
        && dims[2..] == [1, 1]
}

/// `conv.forward(x)` as `x · W^T + b` on `[N, C_in]` (see [`is_matrix_product`]).
fn matrix_product(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [n, c_in, _, _] = x.dims();
    let weight = conv.weight.val();
    let c_out = weight.dims()[0];
    let y = x
        .reshape([n, c_in])
        .matmul(weight.reshape([c_out, c_in]).transpose());
    let y = match &conv.bias {
        Some(bias) => y + bias.val().reshape([1, c_out]),
        None => y,
    };
    y.reshape([n, c_out, 1, 1])
}

/// `x * gate`, a squeeze-excitation gate (one value per plane) applied.
///
/// On flex (with or without autodiff) this runs the crate's flex kernel, whose backward reads
/// `grad` and `x` once for both gradients, where Burn's broadcast multiply runs two full-size
/// products and a reduction.
///
/// # Shapes
///
/// * `x`: `[N, C, H, W]`
/// * `gate`: `[N, C, 1, 1]`
/// * returns `[N, C, H, W]`
pub fn channel_scale(x: Tensor<4>, gate: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if runs_on_flex(&x) && runs_on_flex(&gate) {
        return on_flex::channel_scale(x, gate);
    }
    x * gate
}

/// The mean of every plane of `x`: squeeze-excitation's squeeze (a global average pool), as
/// `x.mean_dim(3).mean_dim(2)`.
///
/// On flex, in `f32`, one pass per plane forward and one fill per plane backward, where Burn's
/// `mean_dim` backward builds a full-size tensor of ones and multiplies it, per mean.
///
/// # Shapes
///
/// * `x`: `[N, C, H, W]`
/// * returns `[N, C, 1, 1]`
pub fn plane_mean(x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if runs_on_flex(&x) {
        return on_flex::plane_mean(x);
    }
    x.mean_dim(3).mean_dim(2)
}

/// `bn.forward(x)`: batch normalisation of `x` with `bn`'s parameters, on batch statistics
/// (updating `bn`'s running averages) in training mode, on the running averages otherwise.
/// [`batch_norm_activation`] without an activation.
///
/// # Shapes
///
/// * `x`: `[N, C, H, W]`, returned unchanged.
pub fn batch_norm(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    batch_norm_activation(bn, None, x)
}

/// `act(bn.forward(x))`: batch normalisation as [`batch_norm`](fn@batch_norm), then the
/// activation (none for `None`).
///
/// On flex with autodiff and `bn` in training mode this runs the crate's fused flex kernel
/// (normalisation and activation in one pass per channel, the normalised values recomputed in
/// backward rather than kept) and updates the running averages as Burn's `BatchNorm` does
/// (`running = (1 - momentum) * running + momentum * batch`, with the biased batch variance,
/// as Burn). Without autodiff on flex, the running statistics are folded into one
/// multiply-add per value. Elsewhere, and under mixed precision (where the activation runs in
/// the compute dtype, after the cast back): Burn's `BatchNorm`, then the activation.
///
/// # Shapes
///
/// * `x`: `[N, C, H, W]`, returned unchanged.
pub fn batch_norm_activation(bn: &BatchNorm, act: Option<Activation>, x: Tensor<4>) -> Tensor<4> {
    // Under mixed precision the activation runs in the compute dtype, after the cast back.
    if let Some(act) = act
        && precision::is_mixed(bn.gamma.val().dtype(), x.dtype())
    {
        return act.forward(batch_norm_activation(bn, None, x));
    }
    let mut pending = act;
    let y = precision::in_batch_norm_dtype(bn, x, |x| {
        #[cfg(feature = "flex")]
        if runs_on_flex(&x) {
            let autodiff = x.device().is_autodiff();
            if autodiff && bn.training.is_enabled() {
                pending = None;
                return on_flex::batch_norm_act_train(bn, act, x);
            }
            if !autodiff {
                return on_flex::batch_norm_inference(bn, x);
            }
        }
        bn.forward(x)
    });
    match pending {
        Some(act) => act.forward(y),
        None => y,
    }
}

/// `weight * scale[o]` for each output channel `o` of a convolution weight (BatchNorm
/// folding), stored as [`tap_major`] does.
///
/// # Shapes
///
/// * `weight`: `[C_out, C_in / groups, KH, KW]`, returned unchanged.
/// * `scale`: `[C_out]`
pub fn scale_output_channels(weight: Tensor<4>, scale: Tensor<1>) -> Tensor<4> {
    let [c_out, ..] = weight.dims();
    tap_major(weight * scale.reshape([c_out, 1, 1, 1]))
}

/// A convolution weight with the same values, stored for inference: on flex (without
/// autodiff) tap-major, `[KH, KW, C_in / groups, C_out]` in memory behind the same logical
/// shape (a permuted view), the layout the fast inference path multiplies by in place, with no
/// copy per forward pass. Other backends get `weight` unchanged.
///
/// # Shapes
///
/// * `weight`: `[C_out, C_in / groups, KH, KW]`, returned unchanged.
pub fn tap_major(weight: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if runs_on_flex(&weight) {
        return on_flex::tap_major(weight);
    }
    weight
}

/// `linear.forward(x)` in the dtype of `x`: a bf16/f16 input multiplies a bf16/f16 copy of
/// the (f32) weight and bias (mixed precision; gradients return in the weights' dtype).
///
/// # Shapes
///
/// * `x`: `[..., d_in]`
/// * returns `[..., d_out]`
pub fn linear<const D: usize>(linear: &Linear, x: Tensor<D>) -> Tensor<D> {
    if precision::is_mixed(linear.weight.val().dtype(), x.dtype()) {
        return precision::linear(linear, x);
    }
    linear.forward(x)
}
