//! The defaults of [`FlexKernels`](super::flex::FlexKernels), composed of Burn ops: what a
//! backend without this crate's kernels runs, and flex's fallback for other dtypes and ranks.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata, get_or_init_device_settings};
use burn::tensor::Shape;

use super::batch_norm::BatchNormAct;
use super::flex::FlexKernels;
use crate::config::Activation;

/// [`FlexKernels::pointwise_x_grad`] composed of Burn ops (a batched matrix product).
pub(super) fn pointwise_x_grad<B: Backend>(
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let [n, c_out, h, w] = grad.shape().dims();
    let c_in = weight.shape()[1];
    let weight_t = B::float_swap_dims(B::float_reshape(weight, Shape::new([1, c_out, c_in])), 1, 2);
    let grad = B::float_reshape(grad, Shape::new([n, c_out, h * w]));
    let x_grad = B::float_matmul(weight_t, grad); // [N, C_in, H * W]
    B::float_reshape(x_grad, Shape::new([n, c_in, h, w]))
}

/// [`FlexKernels::channel_affine`] composed of Burn ops (broadcast multiply and add).
pub(super) fn channel_affine<B: Backend>(
    x: FloatTensor<B>,
    scale: FloatTensor<B>,
    shift: FloatTensor<B>,
) -> FloatTensor<B> {
    let per_channel = Shape::new([1, scale.shape()[0], 1, 1]);
    let scale = B::float_reshape(scale, per_channel.clone());
    let shift = B::float_reshape(shift, per_channel);
    B::float_add(B::float_mul(x, scale), shift)
}

/// `act(x)`; `x` itself for `None`. Shapes: `x` any, returned unchanged.
pub(super) fn activation<B: Backend>(x: FloatTensor<B>, act: Option<Activation>) -> FloatTensor<B> {
    match act {
        None => x,
        Some(Activation::Silu) => B::float_mul(x.clone(), B::sigmoid(x)),
        Some(Activation::Relu6) => B::float_clamp(x, 0.0.into(), 6.0.into()),
    }
}

/// `grad * act'(y)`: SiLU's as [`FlexKernels::silu_backward`], ReLU6's passing where
/// `0 < y < 6` (PyTorch's `hardtanh` backward). Shapes: `y`, `grad` the same, returned unchanged.
fn activation_backward<B: Backend + FlexKernels>(
    y: FloatTensor<B>,
    act: Activation,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    match act {
        Activation::Silu => B::silu_backward(y, grad),
        Activation::Relu6 => {
            let bool_dtype = get_or_init_device_settings::<B>(&y.device()).bool_dtype;
            let low = B::float_lower_equal_elem(y.clone(), 0.0.into(), bool_dtype);
            let high = B::float_greater_equal_elem(y, 6.0.into(), bool_dtype);
            B::float_mask_fill(grad, B::bool_or(low, high), 0.0.into())
        }
    }
}

/// [`FlexKernels::batch_norm_act_train`]: Burn's training batch norm, then the activation.
/// Shapes as there.
pub(super) fn batch_norm_act<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: FloatTensor<B>,
    BatchNormAct { epsilon, act }: BatchNormAct,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let out = B::batch_norm_train(x, gamma, beta, epsilon);
    (activation::<B>(out.output, act), out.mean, out.variance)
}

/// [`FlexKernels::batch_norm_act_train_backward`]: the activation's gradient at `y` (the
/// normalised `x`, recomputed), then Burn's batch norm backward. `parameters` are
/// `[gamma, beta, mean, variance]`; shapes as there.
pub(super) fn batch_norm_act_backward<B: Backend + FlexKernels>(
    x: FloatTensor<B>,
    [gamma, beta, mean, variance]: [FloatTensor<B>; 4],
    grad: FloatTensor<B>,
    BatchNormAct { epsilon, act }: BatchNormAct,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let grad = match act {
        None => grad,
        Some(act) => {
            // scale = gamma / sqrt(variance + eps), shift = beta - mean * scale
            let std = B::float_sqrt(B::float_add_scalar(variance.clone(), epsilon.into()));
            let scale = B::float_div(gamma.clone(), std);
            let shift = B::float_sub(beta, B::float_mul(mean.clone(), scale.clone()));
            let y = channel_affine::<B>(x.clone(), scale, shift);
            activation_backward::<B>(y, act, grad)
        }
    };
    let out = B::batch_norm_train_backward(x, gamma, mean, variance, epsilon, grad);
    (out.x_grad, out.gamma_grad, out.beta_grad)
}

/// [`FlexKernels::pointwise_weight_grad`] composed of Burn ops (a batched matrix product summed
/// over images). Shapes: `x` `[N, C_in, H, W]`,
/// `grad` `[N, C_out, H, W]`; returns `[C_out, C_in, 1, 1]`.
pub(super) fn pointwise_weight_grad<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let [n, c_in, h, w] = x.shape().dims();
    let c_out = grad.shape()[1];
    let x_t = B::float_swap_dims(B::float_reshape(x, Shape::new([n, c_in, h * w])), 1, 2);
    let grad = B::float_reshape(grad, Shape::new([n, c_out, h * w]));
    let per_image = B::float_matmul(grad, x_t); // [N, C_out, C_in]
    let summed = B::float_sum_dim(per_image, 0); // [1, C_out, C_in]
    B::float_reshape(summed, Shape::new([c_out, c_in, 1, 1]))
}

/// [`FlexKernels::channel_scale_backward`] composed of Burn ops. Shapes as there.
pub(super) fn channel_scale_backward<B: Backend>(
    x: FloatTensor<B>,
    gate: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let dx = B::float_mul(grad.clone(), gate);
    let per_plane = B::float_sum_dim(B::float_sum_dim(B::float_mul(grad, x), 3), 2);
    (dx, per_plane)
}

/// [`FlexKernels::plane_mean`] composed of Burn ops (a mean over the width, then the height).
/// Shapes as there.
pub(super) fn plane_mean<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    B::float_mean_dim(B::float_mean_dim(x, 3), 2)
}

/// [`FlexKernels::plane_mean_backward`] composed of Burn ops. Shapes as there.
pub(super) fn plane_mean_backward<B: Backend>(
    grad: FloatTensor<B>,
    shape: Shape,
) -> FloatTensor<B> {
    let count = (shape[2] * shape[3]).max(1) as f64;
    B::float_mul_scalar(B::float_expand(grad, shape), (1.0 / count).into())
}
