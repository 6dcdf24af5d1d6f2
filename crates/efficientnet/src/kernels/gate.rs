//! Squeeze-excitation's per-plane ops on NCHW `f32` planes, one rayon task per plane: the
//! gate applied, `y = x * gate[n, c]`, and its gradients in one pass; the squeeze (each
//! plane's mean) and its backward.
//!
//! As Burn ops the gate is a broadcast multiply whose backward runs two full-size products
//! (`grad * gate`, `grad * x`) and a reduction of the second; here the backward reads `grad`
//! and `x` once, writing `dx` over `grad` and summing `grad * x` per plane as it goes.

use rayon::prelude::*;

use super::batch_norm::Planes;
use super::buffer::zeroed;
use super::simd;

/// `x * gate[plane]` for every plane. Shapes: `x` `[N, C, H, W]`, `gate` `[N, C]`; returns
/// `[N, C, H, W]`.
pub(crate) fn forward(x: &[f32], gate: &[f32], p: Planes) -> Vec<f32> {
    let mut out = zeroed(x.len());
    let plane = p.plane.max(1);
    out.par_chunks_mut(plane)
        .zip(x.par_chunks(plane))
        .zip(gate)
        .for_each(|((out, x), &s)| {
            simd::dispatch(
                #[inline(always)]
                || out.iter_mut().zip(x).for_each(|(o, &v)| *o = v * s),
            )
        });
    out
}

/// Gradients of [`forward`]: `grad * gate[plane]` written over `grad`, and `sum(grad * x)` per
/// plane returned. Shapes: `x`, `grad` `[N, C, H, W]`, `gate` `[N, C]`; returns `[N, C]`.
pub(crate) fn backward(x: &[f32], gate: &[f32], grad: &mut [f32], p: Planes) -> Vec<f32> {
    let plane = p.plane.max(1);
    let mut sums = vec![0.0f32; gate.len()];
    if p.plane == 0 {
        return sums;
    }
    grad.par_chunks_mut(plane)
        .zip(x.par_chunks(plane))
        .zip(gate)
        .zip(&mut sums)
        .for_each(|(((g, x), &s), sum)| {
            *sum = simd::dispatch(
                #[inline(always)]
                || {
                    let mut lanes = [0.0f32; LANES];
                    let split = g.len() - g.len() % LANES;
                    let (g16, g_tail) = g.split_at_mut(split);
                    let (x16, x_tail) = x.split_at(split);
                    let mut tail = 0.0f32;
                    for (g, &v) in g_tail.iter_mut().zip(x_tail) {
                        tail += *g * v;
                        *g *= s;
                    }
                    for (g, x) in g16.chunks_exact_mut(LANES).zip(x16.chunks_exact(LANES)) {
                        for i in 0..LANES {
                            lanes[i] += g[i] * x[i];
                            g[i] *= s;
                        }
                    }
                    lanes.iter().sum::<f32>() + tail
                },
            );
        });
    sums
}

/// The mean of every plane (squeeze-excitation's squeeze). Shapes: `x` `[N, C, H, W]`;
/// returns `[N, C]`.
pub(crate) fn plane_means(x: &[f32], p: Planes) -> Vec<f32> {
    let plane = p.plane.max(1);
    let scale = 1.0 / plane as f32;
    x.par_chunks(plane)
        .map(|x| {
            simd::dispatch(
                #[inline(always)]
                || lane_sum(x) * scale,
            )
        })
        .collect()
}

/// The backward of [`plane_means`]: every plane filled with its `grad / (H * W)`. Shapes:
/// `grad` `[N, C]`; returns `[N, C, H, W]`.
pub(crate) fn spread(grad: &[f32], p: Planes) -> Vec<f32> {
    let mut out = zeroed(grad.len() * p.plane);
    if p.plane == 0 {
        return out;
    }
    let scale = 1.0 / p.plane as f32;
    out.par_chunks_mut(p.plane).zip(grad).for_each(|(out, &g)| {
        simd::dispatch(
            #[inline(always)]
            || out.fill(g * scale),
        )
    });
    out
}

/// `sum(x)` in [`LANES`] accumulators.
#[inline(always)]
fn lane_sum(x: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for i in 0..LANES {
            lanes[i] += c[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Accumulators of the per-plane sum (one AVX-512 register).
const LANES: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_and_gradients_match_the_definition() {
        let p = Planes {
            batch: 2,
            channels: 3,
            plane: 21,
        };
        let n = 2 * 3 * 21;
        let x: Vec<f32> = (0..n).map(|i| (i % 17) as f32 / 8.0 - 1.0).collect();
        let grad: Vec<f32> = (0..n).map(|i| (i % 13) as f32 / 6.0 - 1.0).collect();
        let gate = [0.5, -1.0, 2.0, 0.0, 1.5, 0.25];
        let y = forward(&x, &gate, p);
        let mut dx = grad.clone();
        let sums = backward(&x, &gate, &mut dx, p);
        for i in 0..n {
            let s = gate[i / 21];
            assert_eq!(y[i], x[i] * s);
            assert_eq!(dx[i], grad[i] * s);
        }
        for (plane, &sum) in sums.iter().enumerate() {
            let want: f64 = (0..21)
                .map(|j| grad[plane * 21 + j] as f64 * x[plane * 21 + j] as f64)
                .sum();
            assert!((sum as f64 - want).abs() < 1e-4, "{plane}: {sum} vs {want}");
        }
    }
}
