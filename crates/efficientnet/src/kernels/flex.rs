//! The flex implementations of [`FlexKernels`].

use burn::backend::flex::FlexTensor;
use burn::backend::flex::ops::binary::binary_op;
use burn::backend::flex::ops::unary::unary_op;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Device, Shape, TensorData};
use rayon::prelude::*;

use super::depthwise::{self, Geometry};
use super::math;

/// Values per rayon task: below two of these a tensor is done on one thread.
const CHUNK: usize = 1 << 15;

/// Ops this crate implements itself for flex, dispatched by Burn's backend extension. Autodiff
/// routes to the hand-written backward in `kernels::autodiff`.
#[backend_extension(Flex, Autodiff)]
pub trait FlexKernels: Backend {
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
}

/// Whether `device` is flex, with or without autodiff: where [`FlexKernels`] applies.
pub(crate) fn runs_on_flex(device: &Device) -> bool {
    device.clone().without_autodiff() == Device::flex()
}

/// `x` as a contiguous tensor starting at offset 0 (a copy only if it is not one already).
fn contiguous(x: FlexTensor) -> FlexTensor {
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
        input: [x[2], x[3]],
        output: [grad[2], grad[3]],
        kernel: [weight[2], weight[3]],
        stride: options.stride,
        padding: options.padding_begin(),
    }
}

/// Whether all tensors are `f32` (the dtype of the hand-written loops).
fn all_f32(tensors: &[&FlexTensor]) -> bool {
    tensors.iter().all(|t| t.dtype() == DType::F32)
}

/// The first `n` values of a contiguous `f32` tensor.
fn values(x: &FlexTensor) -> &[f32] {
    &x.storage::<f32>()[..x.layout().num_elements()]
}

impl FlexKernels for Flex {
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
        let out = depthwise::x_grad(values(&grad), values(&weight), g);
        FlexTensor::from_data(TensorData::new(out, x.shape()))
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
        FlexTensor::from_data(TensorData::new(out, weight.shape()))
    }

    fn silu(x: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 {
            return unary_op(x, |v| math::silu_f64(v as f64) as f32, math::silu_f64);
        }
        let mut x = contiguous(x);
        let n = x.layout().num_elements();
        if let Some(values) = x.try_storage_mut::<f32>() {
            map_in_place(&mut values[..n], |chunk| {
                chunk.iter_mut().for_each(|v| *v = math::silu(*v))
            });
            return x;
        }
        // Shared storage (the caller keeps `x`, e.g. autodiff): write a new buffer.
        let shape = x.layout().shape().clone();
        let mut out = x.storage::<f32>()[..n].to_vec();
        map_in_place(&mut out, |chunk| {
            chunk.iter_mut().for_each(|v| *v = math::silu(*v))
        });
        FlexTensor::from_data(TensorData::new(out, shape))
    }

    fn silu_backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        let same_shape = x.layout().shape() == grad.layout().shape();
        if x.dtype() != DType::F32 || grad.dtype() != DType::F32 || !same_shape {
            let f32_op = |v: f32, g: f32| math::silu_grad_f64(v as f64, g as f64) as f32;
            return binary_op(x, grad, f32_op, math::silu_grad_f64, None);
        }
        let x = contiguous(x);
        let n = x.layout().num_elements();
        let xs = &x.storage::<f32>()[..n];
        let mut grad = contiguous(grad);
        let update = |g: &mut [f32], xs: &[f32]| {
            g.iter_mut()
                .zip(xs)
                .for_each(|(g, &v)| *g = math::silu_grad(v, *g))
        };
        if let Some(gs) = grad.try_storage_mut::<f32>() {
            zip_in_place(&mut gs[..n], xs, update);
            return grad;
        }
        let shape = grad.layout().shape().clone();
        let mut out = grad.storage::<f32>()[..n].to_vec();
        zip_in_place(&mut out, xs, update);
        FlexTensor::from_data(TensorData::new(out, shape))
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
