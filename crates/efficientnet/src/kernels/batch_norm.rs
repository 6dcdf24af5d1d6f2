//! Batch normalisation (Ioffe & Szegedy 2015) of NCHW `f32` tensors as direct loops: statistics
//! per channel (one rayon task per channel), then one pass per plane (one task per plane).
//!
//! Burn's defaults compose ~8 tensor ops forward and ~16 backward, two of which copy the whole
//! activation into a channel-major layout (`swap_dims(0, 1)` then `reshape`) to reduce over it.
//! Here forward reads `x` twice for the statistics, then copies it and normalises the copy in
//! place; backward reads `x` and `grad` twice and writes `dx` over `grad`. Sums run in
//! [`LANES`] `f32` lanes per row and in `f64` across rows. Every loop over a plane runs in
//! [`simd::dispatch`], at the widest vector width of the CPU.

use rayon::prelude::*;

use super::simd;

/// Accumulators per sum: one AVX-512 register, two AVX2 ones, so that LLVM vectorises the sums
/// without reordering float additions itself.
const LANES: usize = 16;

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

    /// `f(channel)` for every channel, on rayon's pool.
    fn per_channel<T: Send>(&self, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
        (0..self.channels).into_par_iter().map(f).collect()
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

/// Batch statistics and the normalised output: `(y, mean, variance)`, with `y = (x - mean) /
/// sqrt(variance + eps) * gamma + beta` and the biased variance, as PyTorch's training mode.
/// Shapes: `x` `[N, C, H, W]` (flat), `gamma`, `beta` `[C]`; returns `[N, C, H, W]`, `[C]`, `[C]`.
pub(crate) fn forward_train(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
    p: Planes,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let stats = p.per_channel(|c| {
        let sum: f64 = (0..p.batch).map(|n| sum(p.of(x, n, c)) as f64).sum();
        let mean = sum / p.count();
        let m = mean as f32;
        let squares: f64 = (0..p.batch)
            .map(|n| sum_sq_dev(p.of(x, n, c), m) as f64)
            .sum();
        (mean, squares / p.count())
    });
    let (scale, shift): (Vec<f32>, Vec<f32>) = stats
        .iter()
        .zip(gamma.iter().zip(beta))
        .map(|(&(mean, var), (&g, &b))| {
            let scale = g as f64 / (var + epsilon).sqrt();
            (scale as f32, (b as f64 - mean * scale) as f32)
        })
        .unzip();
    // `x` is kept for the backward, so `y` is a copy, normalised in place.
    let mut y = x.to_vec();
    affine(&mut y, &scale, &shift, p);
    let mean = stats.iter().map(|&(m, _)| m as f32).collect();
    let variance = stats.iter().map(|&(_, v)| v as f32).collect();
    (y, mean, variance)
}

/// Gradients of [`forward_train`]: `dx` written over `grad`, and `(dgamma, dbeta)` returned.
/// With `xh = (x - mean) * inv_std`, `dbeta = sum(g)`, `dgamma = sum(g * xh)` and
/// `dx = gamma * inv_std * (g - dbeta / M - xh * dgamma / M)` over the `M = N * H * W` values of
/// a channel. Shapes as in [`forward_train`], `grad` like `x`.
pub(crate) fn backward_train(
    x: &[f32],
    gamma: &[f32],
    mean: &[f32],
    variance: &[f32],
    epsilon: f64,
    grad: &mut [f32],
    p: Planes,
) -> (Vec<f32>, Vec<f32>) {
    let sums = {
        let grad = &*grad;
        p.per_channel(|c| {
            let (mut g_sum, mut gx_sum) = (0.0f64, 0.0f64);
            for n in 0..p.batch {
                let (s, sx) = sum_and_dot(p.of(grad, n, c), p.of(x, n, c));
                g_sum += s as f64;
                gx_sum += sx as f64;
            }
            let inv_std = 1.0 / (variance[c] as f64 + epsilon).sqrt();
            // sum(g * xh) = inv_std * (sum(g * x) - mean * sum(g))
            let gamma_grad = inv_std * (gx_sum - mean[c] as f64 * g_sum);
            (g_sum, gamma_grad, inv_std)
        })
    };
    let count = p.count();
    let coefficients: Vec<[f32; 3]> = sums
        .iter()
        .enumerate()
        .map(|(c, &(g_sum, gamma_grad, inv_std))| {
            // dx = k * g - k * xh * dgamma / M - k * dbeta / M, with k = gamma * inv_std and
            // xh = (x - mean) * inv_std: dx = k * g + b * x + d.
            let k = gamma[c] as f64 * inv_std;
            let b = -k * inv_std * gamma_grad / count;
            let d = -k * g_sum / count - b * mean[c] as f64;
            [k as f32, b as f32, d as f32]
        })
        .collect();
    p.update_planes(grad, |c, index, g| {
        let [k, b, d] = coefficients[c];
        let xs = &x[index * p.plane..][..p.plane];
        simd::dispatch(
            #[inline(always)]
            || {
                g.iter_mut()
                    .zip(xs)
                    .for_each(|(g, &v)| *g = k * *g + b * v + d)
            },
        );
    });
    let gamma_grad = sums.iter().map(|&(_, gg, _)| gg as f32).collect();
    let beta_grad = sums.iter().map(|&(g, _, _)| g as f32).collect();
    (gamma_grad, beta_grad)
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
