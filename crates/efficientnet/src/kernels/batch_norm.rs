//! Batch normalisation (Ioffe & Szegedy 2015) of NCHW `f32` tensors as direct loops, with the
//! activation that follows it (SiLU, ReLU6 or none) fused in: in training mode, one rayon task
//! per channel; in inference (statistics folded), one pass per plane.
//!
//! Burn's defaults compose ~8 tensor ops forward and ~16 backward, two of which copy the whole
//! activation into a channel-major layout (`swap_dims(0, 1)` then `reshape`) to reduce over it,
//! and the activation is one more op each way, with the normalised tensor kept for its
//! backward. Here a channel's planes are read twice for the statistics and once more for the
//! output, right after, while they are still in cache: memory sees one read of `x` and one
//! write of `act(y)`. Backward writes `dy = grad * act'(y)` (`y` recomputed from `x`) over
//! `grad` while summing, then `dx` over it, again per channel. Sums run in [`LANES`] `f32`
//! lanes per row and in `f64` across rows. Every loop over a plane runs in
//! [`simd::dispatch`], at the widest vector width of the CPU.

use rayon::prelude::*;

use super::buffer::zeroed;
use super::{math, simd};
use crate::config::Activation;

/// Accumulators per sum: one AVX-512 register, two AVX2 ones, so that LLVM vectorises the sums
/// without reordering float additions itself.
const LANES: usize = 16;

/// What a training-mode batch norm is asked for besides its tensors: the `epsilon` added to
/// the variance and the activation after it (none for `None`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BatchNormAct {
    /// Added to the variance before its square root.
    pub epsilon: f64,
    /// Applied to the normalised values.
    pub act: Option<Activation>,
}

/// An NCHW tensor's layout: `batch` images of `channels` planes of `plane` values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Planes {
    /// N.
    pub batch: usize,
    /// C.
    pub channels: usize,
    /// H * W.
    pub plane: usize,
}

impl Planes {
    /// The values per channel, `N * H * W`.
    fn count(&self) -> f64 {
        (self.batch * self.plane) as f64
    }

    /// The `channel`'s plane of image `n` in `values`.
    fn of<'a>(&self, values: &'a [f32], n: usize, channel: usize) -> &'a [f32] {
        &values[(n * self.channels + channel) * self.plane..][..self.plane]
    }

    /// The planes of `values` grouped by channel: `[C][N]`, each `H * W` values.
    fn planes_by_channel<'a>(&self, values: &'a mut [f32]) -> Vec<Vec<&'a mut [f32]>> {
        let mut groups: Vec<Vec<&mut [f32]>> = (0..self.channels)
            .map(|_| Vec::with_capacity(self.batch))
            .collect();
        for (index, plane) in values.chunks_mut(self.plane.max(1)).enumerate() {
            groups[index % self.channels].push(plane);
        }
        groups
    }

    /// The mean and biased variance of `channel` over all images of `x`: its planes read twice
    /// (the second time from cache), in `f64` across planes.
    fn statistics(&self, x: &[f32], channel: usize) -> (f64, f64) {
        let sum: f64 = (0..self.batch)
            .map(|n| sum(self.of(x, n, channel)) as f64)
            .sum();
        let mean = sum / self.count();
        let m = mean as f32;
        let squares: f64 = (0..self.batch)
            .map(|n| sum_sq_dev(self.of(x, n, channel), m) as f64)
            .sum();
        (mean, squares / self.count())
    }

    /// `f(channel, plane index, plane)` on every plane of `values` in place, on rayon's pool.
    fn update_planes(
        &self,
        values: &mut [f32],
        f: impl Fn(usize, usize, &mut [f32]) + Sync + Send,
    ) {
        values
            .par_chunks_mut(self.plane.max(1))
            .enumerate()
            .for_each(|(index, plane)| f(index % self.channels, index, plane));
    }
}

/// Batch statistics and the activated, normalised output: `(act(y), mean, variance)`, with
/// `y = (x - mean) / sqrt(variance + eps) * gamma + beta` and the biased variance, as PyTorch's
/// training mode. One rayon task per channel reads the channel's planes for the statistics and
/// writes its output right after, while they are still in cache; `y` itself is never stored.
/// Shapes: `x` `[N, C, H, W]` (flat), `gamma`, `beta` `[C]`; returns `[N, C, H, W]`, `[C]`, `[C]`.
pub(crate) fn forward_train(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    BatchNormAct { epsilon, act }: BatchNormAct,
    p: Planes,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut out = zeroed(x.len());
    let stats: Vec<(f64, f64)> = p
        .planes_by_channel(&mut out)
        .into_par_iter()
        .enumerate()
        .map(|(c, outs)| {
            let (mean, variance) = p.statistics(x, c);
            let scale = gamma[c] as f64 / (variance + epsilon).sqrt();
            let shift = beta[c] as f64 - mean * scale;
            let (scale, shift) = (scale as f32, shift as f32);
            for (n, out) in outs.into_iter().enumerate() {
                with_activation(act, ForwardPlane(p.of(x, n, c), out, scale, shift));
            }
            (mean, variance)
        })
        .collect();
    let mean = stats.iter().map(|&(m, _)| m as f32).collect();
    let variance = stats.iter().map(|&(_, v)| v as f32).collect();
    (out, mean, variance)
}

/// Gradients of [`forward_train`]: `dx` written over `grad`, and `(dgamma, dbeta)` returned.
/// The activation's gradient comes first (`dy = grad * act'(y)`, `y` recomputed from `x`);
/// then, with `xh = (x - mean) * inv_std`, `dbeta = sum(dy)`, `dgamma = sum(dy * xh)` and
/// `dx = gamma * inv_std * (dy - dbeta / M - xh * dgamma / M)` over the `M = N * H * W` values
/// of a channel. One rayon task per channel runs both passes over its planes back to back.
/// Shapes as in [`forward_train`], `grad` like `x`; `mean`, `variance` as it returned them.
pub(crate) fn backward_train(
    x: &[f32],
    [gamma, beta, mean, variance]: [&[f32]; 4],
    BatchNormAct { epsilon, act }: BatchNormAct,
    grad: &mut [f32],
    p: Planes,
) -> (Vec<f32>, Vec<f32>) {
    let count = p.count();
    p.planes_by_channel(grad)
        .into_par_iter()
        .enumerate()
        .map(|(c, mut grads)| {
            let inv_std = 1.0 / (variance[c] as f64 + epsilon).sqrt();
            let scale = gamma[c] as f64 * inv_std;
            let shift = beta[c] as f64 - mean[c] as f64 * scale;
            let (mut g_sum, mut gx_sum) = (0.0f64, 0.0f64);
            for (n, g) in grads.iter_mut().enumerate() {
                let xs = p.of(x, n, c);
                let (s, sx) = match act {
                    None => sum_and_dot(g, xs),
                    Some(_) => {
                        with_activation(act, GradientPlane(g, xs, scale as f32, shift as f32))
                    }
                };
                g_sum += s as f64;
                gx_sum += sx as f64;
            }
            // sum(dy * xh) = inv_std * (sum(dy * x) - mean * sum(dy))
            let gamma_grad = inv_std * (gx_sum - mean[c] as f64 * g_sum);
            // dx = k * dy - k * xh * dgamma / M - k * dbeta / M, with k = gamma * inv_std:
            // dx = k * dy + b * x + d.
            let k = scale;
            let b = -k * inv_std * gamma_grad / count;
            let d = -k * g_sum / count - b * mean[c] as f64;
            let (k, b, d) = (k as f32, b as f32, d as f32);
            for (n, g) in grads.into_iter().enumerate() {
                let xs = p.of(x, n, c);
                simd::dispatch(
                    #[inline(always)]
                    || {
                        g.iter_mut()
                            .zip(xs)
                            .for_each(|(g, &v)| *g = k * *g + b * v + d)
                    },
                );
            }
            (gamma_grad as f32, g_sum as f32)
        })
        .unzip()
}

/// `out = act(x * scale + shift)` over one plane (see [`with_activation`]).
struct ForwardPlane<'a>(&'a [f32], &'a mut [f32], f32, f32);

impl ActivationLoop<()> for ForwardPlane<'_> {
    #[inline(always)]
    fn run<A: Act>(self, act: A) {
        let ForwardPlane(x, out, scale, shift) = self;
        simd::dispatch(
            #[inline(always)]
            || {
                out.iter_mut()
                    .zip(x)
                    .for_each(|(o, &v)| *o = act.apply(v * scale + shift))
            },
        )
    }
}

/// `g = g * act'(x * scale + shift)` over one plane, returning `(sum(g), sum(g * x))` of the new
/// `g`, in [`LANES`] lanes each.
struct GradientPlane<'a>(&'a mut [f32], &'a [f32], f32, f32);

impl ActivationLoop<(f32, f32)> for GradientPlane<'_> {
    #[inline(always)]
    fn run<A: Act>(self, act: A) -> (f32, f32) {
        let GradientPlane(g, x, scale, shift) = self;
        simd::dispatch(
            #[inline(always)]
            || {
                let step = |g: &mut f32, v: f32| {
                    *g = act.grad(v * scale + shift, *g);
                    *g
                };
                let split = g.len() - g.len() % LANES;
                let (g16, g_tail) = g.split_at_mut(split);
                let (x16, x_tail) = x.split_at(split);
                let (mut s, mut d) = ([0.0f32; LANES], [0.0f32; LANES]);
                let (mut ts, mut td) = (0.0f32, 0.0f32);
                for (a, &b) in g_tail.iter_mut().zip(x_tail) {
                    let a = step(a, b);
                    ts += a;
                    td += a * b;
                }
                for (a, b) in g16.chunks_exact_mut(LANES).zip(x16.chunks_exact(LANES)) {
                    for i in 0..LANES {
                        let v = step(&mut a[i], b[i]);
                        s[i] += v;
                        d[i] += v * b[i];
                    }
                }
                (s.iter().sum::<f32>() + ts, d.iter().sum::<f32>() + td)
            },
        )
    }
}

/// An activation applied after batch norm, as its value and its gradient.
trait Act: Copy + Send + Sync {
    /// `act(y)`.
    fn apply(self, y: f32) -> f32;
    /// `grad * act'(y)`.
    fn grad(self, y: f32, grad: f32) -> f32;
}

/// No activation.
#[derive(Clone, Copy)]
struct Identity;

impl Act for Identity {
    #[inline(always)]
    fn apply(self, y: f32) -> f32 {
        y
    }
    #[inline(always)]
    fn grad(self, _: f32, grad: f32) -> f32 {
        grad
    }
}

/// SiLU, [`math::silu`].
#[derive(Clone, Copy)]
struct Silu;

impl Act for Silu {
    #[inline(always)]
    fn apply(self, y: f32) -> f32 {
        math::silu(y)
    }
    #[inline(always)]
    fn grad(self, y: f32, grad: f32) -> f32 {
        math::silu_grad(y, grad)
    }
}

/// `min(max(y, 0), 6)`; its gradient passes where `0 < y < 6`, as PyTorch's `hardtanh`.
#[derive(Clone, Copy)]
struct Relu6;

impl Act for Relu6 {
    #[inline(always)]
    fn apply(self, y: f32) -> f32 {
        y.clamp(0.0, 6.0)
    }
    #[inline(always)]
    fn grad(self, y: f32, grad: f32) -> f32 {
        if y > 0.0 && y < 6.0 { grad } else { 0.0 }
    }
}

/// A loop generic over its activation (see [`with_activation`]).
trait ActivationLoop<R> {
    /// Runs the loop with `act`.
    fn run<A: Act>(self, act: A) -> R;
}

/// `run` monomorphised for `act`, so that the activation inlines into the vectorised loop.
#[inline(always)]
fn with_activation<R>(act: Option<Activation>, run: impl ActivationLoop<R>) -> R {
    match act {
        None => run.run(Identity),
        Some(Activation::Silu) => run.run(Silu),
        Some(Activation::Relu6) => run.run(Relu6),
    }
}

/// `x = x * scale[c] + shift[c]` in place (inference batch norm, folded). Shapes: `x`
/// `[N, C, H, W]`, `scale`, `shift` `[C]`.
pub(crate) fn affine(x: &mut [f32], scale: &[f32], shift: &[f32], p: Planes) {
    p.update_planes(x, |c, _, plane| {
        let (s, t) = (scale[c], shift[c]);
        simd::dispatch(
            #[inline(always)]
            || plane.iter_mut().for_each(|v| *v = *v * s + t),
        );
    });
}

/// `sum(values)` in [`LANES`] lanes.
fn sum(values: &[f32]) -> f32 {
    simd::dispatch(
        #[inline(always)]
        || {
            let mut lanes = [0.0f32; LANES];
            let chunks = values.chunks_exact(LANES);
            let tail: f32 = chunks.remainder().iter().sum();
            for chunk in chunks {
                for i in 0..LANES {
                    lanes[i] += chunk[i];
                }
            }
            lanes.iter().sum::<f32>() + tail
        },
    )
}

/// `sum((values - mean)^2)` in [`LANES`] lanes.
fn sum_sq_dev(values: &[f32], mean: f32) -> f32 {
    simd::dispatch(
        #[inline(always)]
        || {
            let mut lanes = [0.0f32; LANES];
            let chunks = values.chunks_exact(LANES);
            let tail: f32 = chunks
                .remainder()
                .iter()
                .map(|v| (v - mean) * (v - mean))
                .sum();
            for chunk in chunks {
                for i in 0..LANES {
                    let d = chunk[i] - mean;
                    lanes[i] += d * d;
                }
            }
            lanes.iter().sum::<f32>() + tail
        },
    )
}

/// `(sum(g), sum(g * x))` in [`LANES`] lanes each.
fn sum_and_dot(g: &[f32], x: &[f32]) -> (f32, f32) {
    simd::dispatch(
        #[inline(always)]
        || {
            let (mut s, mut d) = ([0.0f32; LANES], [0.0f32; LANES]);
            let (g16, x16) = (g.chunks_exact(LANES), x.chunks_exact(LANES));
            let (mut ts, mut td) = (0.0f32, 0.0f32);
            for (&a, &b) in g16.remainder().iter().zip(x16.remainder()) {
                ts += a;
                td += a * b;
            }
            for (a, b) in g16.zip(x16) {
                for i in 0..LANES {
                    s[i] += a[i];
                    d[i] += a[i] * b[i];
                }
            }
            (s.iter().sum::<f32>() + ts, d.iter().sum::<f32>() + td)
        },
    )
}
