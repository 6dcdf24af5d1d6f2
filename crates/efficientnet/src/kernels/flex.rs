//! The [`FlexKernels`] extension trait (Burn's `#[backend_extension]`) and its flex implementation.

use burn::backend::flex::FlexTensor;
use burn::backend::flex::ops::binary::binary_op;
use burn::backend::flex::ops::unary::unary_op;
use burn::backend::ops::{FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Device, Shape, TensorData};
use rayon::prelude::*;

use super::batch_norm::{self, BatchNormAct, Planes};
use super::conv_kind::ConvKind;
use super::depthwise::{self, Geometry};
use super::stem::{self, Dense};
use super::window::Window;
use super::{composed, gate, math, pointwise, simd};

/// Values per rayon task: below two of these a tensor is done on one thread.
const CHUNK: usize = 1 << 15;

/// Ops this crate implements itself for flex, dispatched by Burn's backend extension. Autodiff
/// routes to the hand-written backward in `kernels::autodiff`.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait FlexKernels: Backend {
    /// SiLU, `x * sigmoid(x)`. Shapes: `x` any, returned unchanged.
    fn silu(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `grad * silu'(x)`, the backward of [`silu`](FlexKernels::silu). Shapes: `x` and `grad`
    /// the same, returned unchanged.
    ///
    /// The default composes Burn ops; flex overrides it with one fused pass.
    fn silu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let sigmoid = Self::sigmoid(x.clone());
        let one_minus = Self::float_neg(Self::float_sub_scalar(sigmoid.clone(), 1.0.into()));
        let slope = Self::float_add_scalar(Self::float_mul(x, one_minus), 1.0.into());
        Self::float_mul(grad, Self::float_mul(sigmoid, slope))
    }

    /// Convolution without bias; on autodiff, its backward is `kernels::autodiff`'s (1x1 as
    /// matrix products, depthwise through the two ops below). Shapes: `x` `[N, C_in, H, W]`,
    /// `weight` `[C_out, C_in / groups, KH, KW]`, returns `[N, C_out, OH, OW]`.
    fn conv2d_no_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, None, options)
    }

    /// `dL/dx` of a depthwise convolution. Shapes: `x` `[N, C, H, W]` (only its shape is used),
    /// `weight` `[C, 1, KH, KW]`, `grad` `[N, C, OH, OW]`; returns `[N, C, H, W]`.
    fn depthwise_x_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, grad, options)
    }

    /// `dL/dweight` of a depthwise convolution. Shapes as in
    /// [`depthwise_x_grad`](FlexKernels::depthwise_x_grad); returns `[C, 1, KH, KW]`.
    fn depthwise_weight_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, grad, options)
    }

    /// `dL/dweight` of a dense convolution of few input channels (`ConvKind::Stem`). Shapes:
    /// `x` `[N, C_in, H, W]`, `weight` `[C_out, C_in, KH, KW]`, `grad` `[N, C_out, OH, OW]`;
    /// returns the weight's shape.
    fn stem_weight_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, grad, options)
    }

    /// Batch norm in training mode followed by its activation: `(act(y), batch mean, biased
    /// batch variance)`. Shapes: `x` `[N, C, H, W]`, `gamma`, `beta` `[C]`; returns
    /// `[N, C, H, W]`, `[C]`, `[C]`.
    fn batch_norm_act_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        options: BatchNormAct,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        composed::batch_norm_act::<Self>(x, gamma, beta, options)
    }

    /// Gradients of [`batch_norm_act_train`](FlexKernels::batch_norm_act_train):
    /// `(dx, dgamma, dbeta)`. Shapes: `x`, `grad` `[N, C, H, W]`; `gamma`, `beta`, `mean`,
    /// `variance` `[C]`.
    fn batch_norm_act_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        options: BatchNormAct,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let parameters = [gamma, beta, mean, variance];
        composed::batch_norm_act_backward::<Self>(x, parameters, grad, options)
    }

    /// `x * scale[c] + shift[c]` per channel: inference batch norm with its statistics folded
    /// in. No backward (used without autodiff only). Shapes: `x` `[N, C, H, W]`, `scale`,
    /// `shift` `[C]`; returns `[N, C, H, W]`.
    fn channel_affine(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        composed::channel_affine::<Self>(x, scale, shift)
    }

    /// `x * gate[n, c]` over every plane: a squeeze-excitation gate applied. Shapes: `x`
    /// `[N, C, H, W]`, `gate` `[N, C, 1, 1]`; returns `[N, C, H, W]`.
    fn channel_scale(x: FloatTensor<Self>, gate: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_mul(x, gate)
    }

    /// Gradients of [`channel_scale`](FlexKernels::channel_scale): `(grad * gate, sum over
    /// each plane of grad * x)`. Shapes: `x`, `grad` `[N, C, H, W]`, `gate` `[N, C, 1, 1]`;
    /// returns `[N, C, H, W]`, `[N, C, 1, 1]`.
    fn channel_scale_backward(
        x: FloatTensor<Self>,
        gate: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed::channel_scale_backward::<Self>(x, gate, grad)
    }

    /// The mean of every plane: squeeze-excitation's squeeze (a global average pool). Shapes:
    /// `x` `[N, C, H, W]`; returns `[N, C, 1, 1]`.
    fn plane_mean(x: FloatTensor<Self>) -> FloatTensor<Self> {
        composed::plane_mean::<Self>(x)
    }

    /// The backward of [`plane_mean`](FlexKernels::plane_mean): `grad[n, c] / (H * W)` over
    /// every plane. Shapes: `grad` `[N, C, 1, 1]`, `shape` `[N, C, H, W]`; returns `shape`.
    fn plane_mean_backward(grad: FloatTensor<Self>, shape: Shape) -> FloatTensor<Self> {
        composed::plane_mean_backward::<Self>(grad, shape)
    }

    /// `dL/dx` of a 1x1 convolution (stride 1, no padding, one group): `weight^T · grad` per
    /// image. Shapes: `weight` `[C_out, C_in, 1, 1]`, `grad` `[N, C_out, H, W]`; returns
    /// `[N, C_in, H, W]`.
    fn pointwise_x_grad(weight: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        composed::pointwise_x_grad::<Self>(weight, grad)
    }

    /// `dL/dweight` of a 1x1 convolution (stride 1, no padding, one group): `sum_n grad_n ·
    /// x_n^T`. Shapes: `x` `[N, C_in, H, W]`, `grad` `[N, C_out, H, W]`; returns
    /// `[C_out, C_in, 1, 1]`.
    fn pointwise_weight_grad(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        composed::pointwise_weight_grad::<Self>(x, grad)
    }

    /// The same convolution weight stored tap-major: `[KH, KW, C_in / groups, C_out]` in
    /// memory, a permuted view with the logical shape unchanged (what the fast inference path
    /// reads in place). The default returns `weight` as it is. Shapes: `weight` `[C_out,
    /// C_in / groups, KH, KW]`, returned unchanged.
    fn tap_major(weight: FloatTensor<Self>) -> FloatTensor<Self> {
        weight
    }
}

/// Whether `device` is flex, with or without autodiff: where [`FlexKernels`] applies.
pub(crate) fn runs_on_flex<const D: usize>(x: &burn::tensor::Tensor<D>) -> bool {
    x.dtype() == burn::tensor::DType::F32 && x.device().without_autodiff() == Device::flex()
}

/// `x` as a contiguous tensor starting at offset 0 (a copy only if it is not one already).
pub(super) fn contiguous(x: FlexTensor) -> FlexTensor {
    let plain = x
        .layout()
        .contiguous_offsets()
        .is_some_and(|(start, _)| start == 0);
    if plain { x } else { x.to_contiguous() }
}

/// Applies `f` to every value of `values`, on rayon's pool for large tensors.
fn map_in_place(values: &mut [f32], f: impl Fn(&mut [f32]) + Sync) {
    if values.len() < 2 * CHUNK {
        f(values);
    } else {
        values.par_chunks_mut(CHUNK).for_each(&f);
    }
}

/// The geometry of a depthwise convolution of `x` (`[N, C, H, W]`) by `weight` giving `grad`.
fn geometry(x: &Shape, weight: &Shape, grad: &Shape, options: &ConvOptions<2>) -> Geometry {
    Geometry {
        batch: x[0],
        channels: x[1],
        window: Window {
            input: [x[2], x[3]],
            output: [grad[2], grad[3]],
            kernel: [weight[2], weight[3]],
            stride: options.stride,
            padding: options.padding_begin(),
        },
    }
}

/// The [`Dense`] geometry of a convolution of `x` by `weight` with output (or its gradient)
/// `grad`.
fn dense(x: &Shape, weight: &Shape, grad: &Shape, options: &ConvOptions<2>) -> Dense {
    Dense {
        batch: x[0],
        inputs: x[1],
        outputs: weight[0],
        window: geometry(x, weight, grad, options).window,
    }
}

/// The output shape of an undilated convolution of `x` by `weight`; `None` where the kernel is
/// larger than the padded input (left to Burn's checks).
fn conv_output(x: &Shape, weight: &Shape, options: &ConvOptions<2>) -> Option<Shape> {
    let side = |axis: usize| {
        let (begin, end) = options.padding[axis];
        let room = (x[2 + axis] + begin + end).checked_sub(weight[2 + axis])?;
        Some(room / options.stride[axis] + 1)
    };
    Some(Shape::new([x[0], weight[0], side(0)?, side(1)?]))
}

/// Whether all tensors are `f32` (the dtype of the hand-written loops).
fn all_f32(tensors: &[&FlexTensor]) -> bool {
    tensors.iter().all(|t| t.dtype() == DType::F32)
}

/// The first `n` values of a contiguous `f32` tensor.
pub(super) fn values(x: &FlexTensor) -> &[f32] {
    &x.storage::<f32>()[..x.layout().num_elements()]
}

/// `f` on the values of a contiguous `f32` tensor `x`: in its own buffer if `x` holds it alone,
/// else on a copy (never on a zeroed buffer: fresh zeroed pages cost as much as the op).
fn in_place(mut x: FlexTensor, f: impl FnOnce(&mut [f32])) -> FlexTensor {
    let n = x.layout().num_elements();
    if let Some(buf) = x.try_storage_mut::<f32>() {
        f(&mut buf[..n]);
        return x;
    }
    let mut out = values(&x).to_vec();
    f(&mut out);
    tensor(out, x.shape())
}

/// Whether `gate` is `[N, C, 1, 1]` for an `[N, C, H, W]` `x`: one value per plane.
fn gates_planes(x: &Shape, gate: &Shape) -> bool {
    x.num_dims() == 4 && gate.num_dims() == 4 && gate.dims::<4>() == [x[0], x[1], 1, 1]
}

/// The planes of an `[N, C, H, W]` shape.
fn planes(x: &Shape) -> Planes {
    Planes {
        batch: x[0],
        channels: x[1],
        plane: x[2] * x[3],
    }
}

/// A flex tensor of `values` with `shape`.
fn tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}

impl FlexKernels for Flex {
    fn conv2d_no_bias(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        let kind = ConvKind::of(&x.shape(), &weight.shape(), &options);
        if !all_f32(&[&x, &weight]) {
            return Self::conv2d(x, weight, None, options);
        }
        match kind {
            ConvKind::Pointwise => {
                let [n, c_in, h, w] = x.shape().dims();
                let c_out = weight.shape()[0];
                let (x, weight) = (contiguous(x), contiguous(weight));
                let dims = [n, c_out, c_in, h * w];
                let y = pointwise::per_image(values(&weight), values(&x), dims);
                tensor(y, [n, c_out, h, w])
            }
            ConvKind::Depthwise => {
                let Some(out_shape) = conv_output(&x.shape(), &weight.shape(), &options) else {
                    return Self::conv2d(x, weight, None, options);
                };
                let g = geometry(&x.shape(), &weight.shape(), &out_shape, &options);
                let (x, weight) = (contiguous(x), contiguous(weight));
                tensor(
                    depthwise::forward(values(&x), values(&weight), g),
                    out_shape,
                )
            }
            ConvKind::Stem => {
                let Some(out_shape) = conv_output(&x.shape(), &weight.shape(), &options) else {
                    return Self::conv2d(x, weight, None, options);
                };
                let g = dense(&x.shape(), &weight.shape(), &out_shape, &options);
                let (x, weight) = (contiguous(x), contiguous(weight));
                tensor(stem::forward(values(&x), values(&weight), g), out_shape)
            }
            ConvKind::General => Self::conv2d(x, weight, None, options),
        }
    }

    fn pointwise_x_grad(weight: FlexTensor, grad: FlexTensor) -> FlexTensor {
        if !all_f32(&[&weight, &grad]) {
            return composed::pointwise_x_grad::<Self>(weight, grad);
        }
        let [n, c_out, h, w] = grad.shape().dims();
        let c_in = weight.shape()[1];
        // [C_out, C_in, 1, 1] -> [1, 1, C_in, C_out]: the transpose, contiguous.
        let weight_t = contiguous(weight.permute(&[2, 3, 1, 0]));
        let grad = contiguous(grad);
        let dx = pointwise::per_image(values(&weight_t), values(&grad), [n, c_in, c_out, h * w]);
        tensor(dx, [n, c_in, h, w])
    }

    fn channel_scale(x: FlexTensor, gate: FlexTensor) -> FlexTensor {
        if !all_f32(&[&x, &gate]) || !gates_planes(&x.shape(), &gate.shape()) {
            return Self::float_mul(x, gate);
        }
        let (shape, p) = (x.shape(), planes(&x.shape()));
        let (x, gate) = (contiguous(x), contiguous(gate));
        let out = gate::forward(values(&x), values(&gate), p);
        tensor(out, shape)
    }

    fn channel_scale_backward(
        x: FlexTensor,
        gate: FlexTensor,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor) {
        let same = x.shape() == grad.shape();
        if !all_f32(&[&x, &gate, &grad]) || !same || !gates_planes(&x.shape(), &gate.shape()) {
            return composed::channel_scale_backward::<Self>(x, gate, grad);
        }
        let (gate_shape, p) = (gate.shape(), planes(&x.shape()));
        let [x, gate, grad] = [x, gate, grad].map(contiguous);
        let mut sums = Vec::new();
        let dx = in_place(grad, |g| {
            sums = gate::backward(values(&x), values(&gate), g, p);
        });
        (dx, tensor(sums, gate_shape))
    }

    fn plane_mean(x: FlexTensor) -> FlexTensor {
        if !all_f32(&[&x]) || x.shape().num_dims() != 4 {
            return composed::plane_mean::<Self>(x);
        }
        let p = planes(&x.shape());
        let x = contiguous(x);
        tensor(
            gate::plane_means(values(&x), p),
            [p.batch, p.channels, 1, 1],
        )
    }

    fn plane_mean_backward(grad: FlexTensor, shape: Shape) -> FlexTensor {
        let p = planes(&shape);
        if !all_f32(&[&grad]) || !gates_planes(&shape, &grad.shape()) {
            return composed::plane_mean_backward::<Self>(grad, shape);
        }
        let grad = contiguous(grad);
        tensor(gate::spread(values(&grad), p), shape)
    }

    fn pointwise_weight_grad(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        if !all_f32(&[&x, &grad]) {
            return composed::pointwise_weight_grad::<Self>(x, grad);
        }
        let [n, c_in, h, w] = x.shape().dims();
        let c_out = grad.shape()[1];
        let channels_last = |t: FlexTensor| contiguous(t.permute(&[0, 2, 3, 1]));
        // The narrower side is the one transposed (`[N, C, H, W]` -> `[N, H * W, C]`).
        if c_in <= c_out {
            let (grad, x_t) = (contiguous(grad), channels_last(x));
            let dims = [n, c_out, h * w, c_in];
            let dw = pointwise::sum_over_images(values(&grad), values(&x_t), dims);
            tensor(dw, [c_out, c_in, 1, 1])
        } else {
            let (x, grad_t) = (contiguous(x), channels_last(grad));
            let dims = [n, c_in, h * w, c_out];
            let dw_t = pointwise::sum_over_images(values(&x), values(&grad_t), dims);
            contiguous(tensor(dw_t, [c_in, c_out, 1, 1]).permute(&[1, 0, 2, 3]))
        }
    }

    fn tap_major(weight: FlexTensor) -> FlexTensor {
        if weight.shape().num_dims() != 4 {
            return weight;
        }
        let stored = weight.permute(&[2, 3, 1, 0]).to_contiguous();
        stored.permute(&[3, 2, 0, 1])
    }

    fn channel_affine(x: FlexTensor, scale: FlexTensor, shift: FlexTensor) -> FlexTensor {
        if !all_f32(&[&x, &scale, &shift]) || x.shape().num_dims() != 4 {
            return composed::channel_affine::<Self>(x, scale, shift);
        }
        let p = planes(&x.shape());
        let [x, scale, shift] = [x, scale, shift].map(contiguous);
        in_place(x, |out| {
            batch_norm::affine(out, values(&scale), values(&shift), p)
        })
    }

    fn batch_norm_act_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        options: BatchNormAct,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        if !all_f32(&[&x, &gamma, &beta]) || x.shape().num_dims() != 4 {
            return composed::batch_norm_act::<Self>(x, gamma, beta, options);
        }
        let (shape, p) = (x.shape(), planes(&x.shape()));
        let [x, gamma, beta] = [x, gamma, beta].map(contiguous);
        let (gamma, beta) = (values(&gamma), values(&beta));
        let (y, mean, variance) = batch_norm::forward_train(values(&x), gamma, beta, options, p);
        let c = [p.channels];
        (tensor(y, shape), tensor(mean, c), tensor(variance, c))
    }

    fn batch_norm_act_train_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        grad: FlexTensor,
        options: BatchNormAct,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let all = [&x, &gamma, &beta, &mean, &variance, &grad];
        if !all_f32(&all) || x.shape().num_dims() != 4 {
            let parameters = [gamma, beta, mean, variance];
            return composed::batch_norm_act_backward::<Self>(x, parameters, grad, options);
        }
        let p = planes(&x.shape());
        let [x, gamma, beta, mean, variance, grad] =
            [x, gamma, beta, mean, variance, grad].map(contiguous);
        let parameters = [&gamma, &beta, &mean, &variance].map(values);
        let mut sums = None;
        let dx = in_place(grad, |g| {
            let x = values(&x);
            sums = Some(batch_norm::backward_train(x, parameters, options, g, p));
        });
        let (dgamma, dbeta) = sums.expect("backward_train ran");
        let c = [p.channels];
        (dx, tensor(dgamma, c), tensor(dbeta, c))
    }

    fn depthwise_x_grad(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        if !all_f32(&[&x, &weight, &grad]) {
            return Self::conv2d_x_backward(x, weight, grad, options);
        }
        let g = geometry(&x.shape(), &weight.shape(), &grad.shape(), &options);
        let (weight, grad) = (contiguous(weight), contiguous(grad));
        if grad.shape() == x.shape() {
            // Stride 1: the gradient's buffer takes the result.
            return in_place(grad, |grad| {
                depthwise::x_grad_in_place(grad, values(&weight), g);
            });
        }
        let out = depthwise::x_grad(values(&grad), values(&weight), g);
        tensor(out, x.shape())
    }

    fn depthwise_weight_grad(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        if !all_f32(&[&x, &weight, &grad]) {
            return Self::conv2d_weight_backward(x, weight, grad, options);
        }
        let g = geometry(&x.shape(), &weight.shape(), &grad.shape(), &options);
        let (x, grad) = (contiguous(x), contiguous(grad));
        let out = depthwise::weight_grad(values(&x), values(&grad), g);
        tensor(out, weight.shape())
    }

    fn stem_weight_grad(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        if !all_f32(&[&x, &weight, &grad]) {
            return Self::conv2d_weight_backward(x, weight, grad, options);
        }
        let g = dense(&x.shape(), &weight.shape(), &grad.shape(), &options);
        let (x, grad) = (contiguous(x), contiguous(grad));
        tensor(
            stem::weight_grad(values(&x), values(&grad), g),
            weight.shape(),
        )
    }

    fn silu(x: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 {
            return unary_op(x, |v| math::silu_f64(v as f64) as f32, math::silu_f64);
        }
        // In place unless the caller keeps `x` (autodiff does): then on a copy.
        in_place(contiguous(x), |values| {
            map_in_place(values, |chunk| {
                simd::dispatch(
                    #[inline(always)]
                    || chunk.iter_mut().for_each(|v| *v = math::silu(*v)),
                )
            })
        })
    }

    fn silu_backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        let same_shape = x.layout().shape() == grad.layout().shape();
        if x.dtype() != DType::F32 || grad.dtype() != DType::F32 || !same_shape {
            let f32_op = |v: f32, g: f32| math::silu_grad_f64(v as f64, g as f64) as f32;
            return binary_op(x, grad, f32_op, math::silu_grad_f64, None);
        }
        let x = contiguous(x);
        let xs = values(&x);
        in_place(contiguous(grad), |gs| {
            zip_in_place(gs, xs, |g: &mut [f32], xs: &[f32]| {
                simd::dispatch(
                    #[inline(always)]
                    || {
                        g.iter_mut()
                            .zip(xs)
                            .for_each(|(g, &v)| *g = math::silu_grad(v, *g))
                    },
                )
            })
        })
    }
}

/// `f(out_chunk, other_chunk)` over matching chunks, on rayon's pool for large tensors.
fn zip_in_place(out: &mut [f32], other: &[f32], f: impl Fn(&mut [f32], &[f32]) + Sync) {
    if out.len() < 2 * CHUNK {
        f(out, other);
    } else {
        out.par_chunks_mut(CHUNK)
            .zip(other.par_chunks(CHUNK))
            .for_each(|(o, x)| f(o, x));
    }
}
