//! The inference path of a fused model on flex ([`EfficientNet::fuse`], then `forward` on a
//! flex `f32` tensor without autodiff): the network run end to end on channels-last
//! activations by kernels made for it, instead of op by op through Burn's generic ones.
//!
//! * Activations are `[N * H * W, C]` matrices between layers, so every 1x1 convolution
//!   (expansion, projection, head) is one matrix product
//!   ([`microkernel`](super::microkernel), on the weight as `fuse()` stored it, tap-major),
//!   computed in row tiles ([`gemm`]) with the bias, activation, residual or pooling applied
//!   to each tile while it is in cache.
//! * Depthwise convolutions vectorise along the channels, with bias, activation and the
//!   squeeze-excitation mean in the same pass ([`depthwise`]).
//! * The squeeze-excitation gate is folded into the projection's weight where that is less
//!   work than gating the activations ([`se`]).
//! * Dense kxk convolutions (stem, Fused-MBConv) multiply tiles of gathered patches
//!   ([`dense`]).
//! * Activation buffers are reused across layers and passes ([`buffers`]); row tiles and
//!   depthwise rows are rayon tasks, so all cores work at batch 1.
//!
//! Every family takes it (MBConv with or without SE, ReLU6, Fused-MBConv, symmetric or TF
//! SAME padding, any input size the model accepts). The logits stay within 1e-5 of the
//! logit range of the op-by-op path (tests/model/fast_path.rs).

mod buffers;
mod dense;
mod depthwise;
mod epilogue;
mod gemm;
pub mod profile;
mod se;

use burn::backend::flex::FlexTensor;
use burn::backend::{BackendTensor, DispatchTensorKind};
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;

use crate::blocks::{Block, ConvBnAct, FusedMbConv, MbConv};
use crate::model::EfficientNet;

use super::flex::{contiguous, runs_on_flex, values};
use super::window::Window;
use gemm::{product_into, product_map, rows_of};
use profile::{OpClass, timed};

/// The logits of `model` for `x` on the fast path, or `None` where it does not apply (not
/// flex, not `f32`, autodiff, a model not fused, weights not on flex): the caller then runs
/// the op-by-op path. Shapes: `x` `[N, C, H, W]`, returns `[N, num_classes]`.
pub(crate) fn forward(model: &EfficientNet, x: &Tensor<4>) -> Option<Tensor<2>> {
    if !applies(model, x) {
        return None;
    }
    let [n, c, h, w] = x.dims();
    let input = flex(x.clone())?;
    let mut act = timed(OpClass::Layout, || channels_last(&input, [n, c, h, w]));
    act = timed(OpClass::Stem, || dense_layer(&model.stem, &act))?;
    for block in model.blocks() {
        act = match block {
            Block::MbConv(b) => mbconv(b, act)?,
            Block::FusedMbConv(b) => fused_mbconv(b, act)?,
        };
    }
    let pooled = timed(OpClass::HeadAndPool, || head_and_pool(&model.head, act))?;
    let logits = timed(OpClass::Classifier, || {
        classifier(&model.classifier, pooled)
    })?;
    Some(Tensor::from_data(logits, &x.device()))
}

/// Whether `model.forward(x)` takes the fast path: `x` an `f32` tensor on flex without
/// autodiff, `model` fused. (A model whose weights are not on flex falls back too.)
pub fn applies(model: &EfficientNet, x: &Tensor<4>) -> bool {
    runs_on_flex(x) && !x.device().is_autodiff() && is_fused(model)
}

/// Whether every convolution of `model` has its BatchNorm folded in.
fn is_fused(model: &EfficientNet) -> bool {
    let layers = model.blocks().flat_map(|block| match block {
        Block::MbConv(b) => vec![b.expand.as_ref(), Some(&b.depthwise), Some(&b.project)],
        Block::FusedMbConv(b) => vec![Some(&b.conv), b.project.as_ref()],
    });
    [&model.stem, &model.head]
        .into_iter()
        .chain(layers.flatten())
        .all(|layer| layer.bn.is_none())
}

/// The flex storage of an `f32` tensor, contiguous; `None` on another backend or dtype.
fn flex<const D: usize>(t: Tensor<D>) -> Option<FlexTensor> {
    flex_view(t).map(contiguous)
}

/// The flex tensor of an `f32` tensor as it is stored (possibly a strided view).
fn flex_view<const D: usize>(t: Tensor<D>) -> Option<FlexTensor> {
    match t.into_dispatch().kind {
        DispatchTensorKind::Flex(BackendTensor::Float(t)) if t.dtype() == DType::F32 => Some(t),
        _ => None,
    }
}

/// A convolution's weight as the tap-major matrix `[KH * KW * C_in / groups, C_out]` (row
/// `(ky * KW + kx) * C_in + c`), and its bias (zeros without one), on flex. The matrix is the
/// weight's own storage when that is tap-major (a model fused on flex, see
/// [`tap_major`](crate::kernels::tap_major)), else a copy.
fn weight_and_bias(conv: &Conv2d) -> Option<(FlexTensor, Vec<f32>)> {
    let weight = flex_view(conv.weight.val())?;
    let &[c_out, c_in, kh, kw] = &weight.layout().shape()[..] else {
        return None;
    };
    let matrix = contiguous(weight.permute(&[2, 3, 1, 0])).reshape([kh * kw * c_in, c_out].into());
    let bias = match &conv.bias {
        Some(bias) => values(&flex(bias.val())?).to_vec(),
        None => vec![0.0; c_out],
    };
    Some((matrix, bias))
}

/// Channels-last activations: `data` `[N * H * W, C]`.
struct Activations {
    data: FlexTensor,
    batch: usize,
    size: [usize; 2],
}

impl Activations {
    fn channels(&self) -> usize {
        self.data.layout().shape()[1]
    }

    fn rows(&self) -> usize {
        self.data.layout().shape()[0]
    }

    fn values(&self) -> &[f32] {
        values(&self.data)
    }

    /// A buffer for `[N * size, channels]` outputs (its values unspecified).
    fn output(batch: usize, size: [usize; 2], channels: usize) -> Self {
        Self {
            data: buffers::take(batch * size[0] * size[1], channels),
            batch,
            size,
        }
    }

    fn values_mut(&mut self) -> &mut [f32] {
        let len = self.data.layout().num_elements();
        &mut self.data.storage_mut::<f32>()[..len]
    }

    /// Hands the buffer back for reuse.
    fn release(self) {
        buffers::give(self.data);
    }
}

/// `[N, C, H, W]` to channels-last `[N * H * W, C]`.
fn channels_last(x: &FlexTensor, [n, c, h, w]: [usize; 4]) -> Activations {
    let nhwc = x.permute(&[0, 2, 3, 1]).to_contiguous();
    Activations {
        data: nhwc.reshape([n * h * w, c].into()),
        batch: n,
        size: [h, w],
    }
}

/// A dense kxk convolution + bias + activation (the stem, Fused-MBConv's first layer).
fn dense_layer(layer: &ConvBnAct, x: &Activations) -> Option<Activations> {
    let window = Window::of(&layer.conv, x.size)?;
    let (weight, bias) = weight_and_bias(&layer.conv)?;
    if layer.conv.groups != 1 {
        return None;
    }
    let mut out = Activations::output(x.batch, window.output, bias.len());
    let rows = out.rows();
    let (input, c_in) = (x.values(), x.channels());
    product_into(
        rows,
        |r| dense::patches(input, c_in, &window, r),
        values(&weight),
        weight.layout().shape()[0],
        out.values_mut(),
        |_, dst| epilogue::bias_act(dst, &bias, layer.activation),
    );
    Some(out)
}

/// A 1x1 convolution + bias + activation (MBConv's expansion).
fn pointwise_act(layer: &ConvBnAct, x: &Activations) -> Option<Activations> {
    let (weight, bias) = weight_and_bias(&layer.conv)?;
    let mut out = Activations::output(x.batch, x.size, bias.len());
    let k = x.channels();
    product_into(
        x.rows(),
        |r| rows_of(x.values(), k, r),
        values(&weight),
        k,
        out.values_mut(),
        |_, dst| epilogue::bias_act(dst, &bias, layer.activation),
    );
    Some(out)
}

/// The 1x1 projection + bias (+ the block input), with per-sample SE gates folded into its
/// weight when given (`[N, C]`).
fn project(
    layer: &ConvBnAct,
    x: &Activations,
    gates: Option<&[f32]>,
    residual: Option<&Activations>,
) -> Option<Activations> {
    let (weight, bias) = weight_and_bias(&layer.conv)?;
    let mut out = Activations::output(x.batch, x.size, bias.len());
    let (c_out, c_mid) = (bias.len(), x.channels());
    let weight = values(&weight); // [C_mid, C_out]
    // Rows `first..first + rows` times `w`, then bias (+ residual), into `dst`.
    let rows_times = |first: usize, rows: usize, w: &[f32], dst: &mut [f32]| {
        product_into(
            rows,
            |r| rows_of(x.values(), c_mid, first + r.start..first + r.end),
            w,
            c_mid,
            dst,
            |r, dst| {
                let residual =
                    residual.map(|res| &res.values()[(first + r.start) * c_out..][..dst.len()]);
                epilogue::bias_residual(dst, &bias, residual)
            },
        );
    };
    let rows = x.rows();
    let dst = &mut out.values_mut()[..rows * c_out];
    match gates {
        None => rows_times(0, rows, weight, dst),
        // One sample at a time, each with its gate folded into the weight; every sample at
        // once (rayon nests the row tiles), since at 14x14 a sample is only a few tiles.
        Some(gates) => {
            let pixels = x.size[0] * x.size[1];
            dst.par_chunks_mut(pixels * c_out)
                .zip(gates.par_chunks_exact(c_mid))
                .enumerate()
                .for_each(|(n, (dst, gate))| {
                    let w = se::folded(weight, gate);
                    rows_times(n * pixels, pixels, &w, dst);
                });
        }
    }
    Some(out)
}

/// MBConv: `[expand] -> depthwise -> [SE] -> project (+ input)`.
fn mbconv(block: &MbConv, x: Activations) -> Option<Activations> {
    let expanded = match &block.expand {
        Some(expand) => Some(timed(OpClass::Expand, || pointwise_act(expand, &x))?),
        None => None,
    };
    let (mid, sums) = timed(OpClass::Depthwise, || {
        depthwise_layer(&block.depthwise, expanded.as_ref().unwrap_or(&x))
    })?;
    if let Some(expanded) = expanded {
        expanded.release();
    }
    let mut mid = mid;
    let c_out = block.project.conv.weight.dims()[0];
    let gates = match &block.se {
        Some(se) => timed(OpClass::SqueezeExcitation, || {
            squeeze_excitation(se, &mut mid, &sums, c_out)
        })?,
        None => None,
    };
    let residual = block.residual.then_some(&x);
    let out = timed(OpClass::Project, || {
        project(&block.project, &mid, gates.as_deref(), residual)
    })?;
    mid.release();
    x.release();
    Some(out)
}

/// The depthwise convolution + bias + activation, and the per-sample channel sums.
fn depthwise_layer(layer: &ConvBnAct, x: &Activations) -> Option<(Activations, Vec<f32>)> {
    let window = Window::of(&layer.conv, x.size)?;
    let (taps, bias) = weight_and_bias(&layer.conv)?; // [KH * KW, C]
    let c = bias.len();
    if layer.conv.groups != c || x.channels() != c {
        return None;
    }
    let mut out = Activations::output(x.batch, window.output, c);
    let sums = depthwise::depthwise(
        x.values(),
        values(&taps),
        &bias,
        window,
        layer.activation,
        out.values_mut(),
    );
    Some((out, sums))
}

/// The SE gates of `x` (`[N, C]`) when they are to be folded into the projection of `c_out`
/// channels; otherwise `x` gated in place and `None`.
fn squeeze_excitation(
    se: &crate::blocks::SqueezeExcitation,
    x: &mut Activations,
    sums: &[f32],
    c_out: usize,
) -> Option<Option<Vec<f32>>> {
    let (reduce, reduce_bias) = weight_and_bias(&se.conv_reduce)?;
    let (expand, expand_bias) = weight_and_bias(&se.conv_expand)?;
    let weights = se::SeWeights {
        reduce: values(&reduce),
        reduce_bias: &reduce_bias,
        expand: values(&expand),
        expand_bias: &expand_bias,
        activation: se.activation,
    };
    let pixels = x.size[0] * x.size[1];
    let gates = se::gates(sums, pixels, &weights);
    if se::fold_into_projection(c_out, pixels) {
        return Some(Some(gates));
    }
    let c = x.channels();
    let values = x.values_mut();
    for (sample, gate) in values
        .chunks_exact_mut(pixels * c)
        .zip(gates.chunks_exact(c))
    {
        epilogue::scale_channels(sample, gate);
    }
    Some(None)
}

/// Fused-MBConv: `kxk conv -> [project] (+ input)`.
fn fused_mbconv(block: &FusedMbConv, x: Activations) -> Option<Activations> {
    let conv = timed(OpClass::FusedConv, || dense_layer(&block.conv, &x))?;
    let residual = block.residual.then_some(&x);
    let out = match &block.project {
        Some(project_layer) => {
            let out = timed(OpClass::Project, || {
                project(project_layer, &conv, None, residual)
            })?;
            conv.release();
            out
        }
        None if residual.is_some() => {
            let mut conv = conv;
            let add = x.values();
            conv.values_mut()
                .iter_mut()
                .zip(add)
                .for_each(|(v, r)| *v += r);
            conv
        }
        None => conv,
    };
    x.release();
    Some(out)
}

/// The head 1x1 convolution + bias + activation, averaged over each sample's pixels: `[N, C]`
/// (the head's output itself is never stored).
fn head_and_pool(layer: &ConvBnAct, x: Activations) -> Option<Vec<f32>> {
    let (weight, bias) = weight_and_bias(&layer.conv)?;
    let (c, pixels) = (bias.len(), x.size[0] * x.size[1]);
    let k = x.channels();
    let parts = product_map(
        x.rows(),
        |r| rows_of(x.values(), k, r),
        values(&weight),
        k,
        |rows, product| {
            // The tile's rows, split where a sample ends.
            let mut sums = Vec::new();
            let mut row = rows.start;
            while row < rows.end {
                let sample = row / pixels;
                let end = ((sample + 1) * pixels).min(rows.end);
                let mut s = vec![0.0f32; c];
                let part = &product[(row - rows.start) * c..(end - rows.start) * c];
                epilogue::bias_act_sums(part, &bias, layer.activation, &mut s);
                sums.push((sample, s));
                row = end;
            }
            sums
        },
    );
    let mut pooled = vec![0.0f32; x.batch * c];
    for (sample, s) in parts.into_iter().flatten() {
        let dst = &mut pooled[sample * c..][..c];
        dst.iter_mut()
            .zip(&s)
            .for_each(|(d, s)| *d += s / pixels as f32);
    }
    x.release();
    Some(pooled)
}

/// `pooled · W + b`: `[N, C]` to logits `[N, classes]` (dropout is the identity here).
fn classifier(linear: &Linear, pooled: Vec<f32>) -> Option<TensorData> {
    let weight = flex(linear.weight.val())?; // [C, classes]
    let [c, classes] = [weight.layout().shape()[0], weight.layout().shape()[1]];
    let n = pooled.len() / c;
    let x = FlexTensor::from_data(TensorData::new(pooled, [n, c]));
    let logits = burn::backend::flex::ops::matmul::matmul(x, weight);
    let mut logits = values(&logits).to_vec();
    if let Some(bias) = &linear.bias {
        let bias = flex(bias.val())?;
        let bias = values(&bias);
        for row in logits.chunks_exact_mut(classes) {
            row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
        }
    }
    Some(TensorData::new(logits, [n, classes]))
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::EfficientNetConfig;

    /// Every convolution of `model`, SE included.
    fn convs(model: &EfficientNet) -> Vec<&Conv2d> {
        let mut convs = vec![&model.stem.conv, &model.head.conv];
        for block in model.blocks() {
            match block {
                Block::MbConv(b) => {
                    convs.extend(b.expand.iter().map(|l| &l.conv));
                    convs.extend([&b.depthwise.conv, &b.project.conv]);
                    convs.extend(
                        b.se.iter()
                            .flat_map(|se| [&se.conv_reduce, &se.conv_expand]),
                    );
                }
                Block::FusedMbConv(b) => {
                    convs.push(&b.conv.conv);
                    convs.extend(b.project.iter().map(|l| &l.conv));
                }
            }
        }
        convs
    }

    #[test]
    fn a_model_fused_on_flex_stores_every_weight_tap_major() {
        let device = Device::flex();
        for config in [EfficientNetConfig::b0(), EfficientNetConfig::v2_b0()] {
            let model = config.with_width(0.25).init(&device).fuse();
            for conv in convs(&model) {
                let weight = flex_view(conv.weight.val()).expect("an f32 flex tensor");
                let stored = weight.permute(&[2, 3, 1, 0]);
                assert!(stored.layout().is_contiguous(), "{:?}", weight.layout());
            }
        }
    }
}
