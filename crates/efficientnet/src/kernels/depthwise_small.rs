//! The depthwise convolution and its gradients for small planes (B0's 16x16 and smaller
//! stages: 240 to 1152 channels of 4x4 to 16x16 values), on a channels-last copy of each image.
//!
//! Per plane ([`super::depthwise`]'s way), a 4x4 plane under a 5x5 kernel is 16 outputs: two
//! partial vectors per tap and a fixed cost per plane that is most of the time. Channels-last,
//! every tap of every pixel is a run of whole vectors along the channels (padded to a multiple
//! of 16, so every vector is full at every width), and an image is one task. Each image is
//! copied into a zero-padded `[rows, cols, C']` grid (no edge cases in the loops), the
//! result copied back into `[C, H, W]`; both copies stay in L1/L2 at these sizes.
//!
//! * forward: `y[o, c] = sum_t w[t, c] * x[o * s + t, c]` (padded coordinates).
//! * input gradient, gathered: padded position `q = s * a + r` (per axis) takes `w[s * m + r]
//!   * grad[a - m]` for every tap `s * m + r` of its phase `r`, `grad` held with zero margins so
//!   that `a - m` needs no bounds check.
//! * weight gradient: `dw[t, c] = sum_n sum_o grad[n, o, c] * x[n, o * s + t, c]`, one partial
//!   sum per rayon task, a row of taps per pass over the image.

use pulp::{Simd, WithSimd};
use rayon::prelude::*;

use super::buffer::zeroed;
use super::depthwise::Geometry;
use super::runs::zero;
use super::simd;

/// Planes of at most this many values take this module.
pub(super) const MAX_PLANE: usize = 256;

/// Channels are padded to a multiple of this (the widest vector, AVX-512's 16 lanes; a
/// multiple of every narrower one).
const CHANNEL_MULTIPLE: usize = 16;

/// Vectors of channels per register block.
const BLOCK: usize = 4;

/// [`super::depthwise::forward`] for planes of at most [`MAX_PLANE`] values.
pub(super) fn forward(x: &[f32], weight: &[f32], g: Geometry) -> Vec<f32> {
    let [oh, ow] = g.window.output;
    let plane = g.window.input[0] * g.window.input[1];
    let mut out = zeroed(g.batch * g.channels * oh * ow);
    if out.is_empty() {
        return out;
    }
    let taps = taps_last(weight, g);
    out.par_chunks_mut(g.channels * oh * ow)
        .enumerate()
        .for_each_init(Scratch::default, |scratch, (n, y)| {
            simd::dispatch_simd(Image {
                g,
                scratch,
                job: Job::Forward {
                    taps: &taps,
                    x: &x[n * g.channels * plane..][..g.channels * plane],
                    y,
                },
            });
        });
    out
}

/// `super::depthwise::x_grad_into` for planes of at most [`MAX_PLANE`] values: into `out`,
/// from `grad`, or from `out` itself where `None` (each image read before it is overwritten).
pub(super) fn x_grad_into(grad: Option<&[f32]>, weight: &[f32], g: Geometry, out: &mut [f32]) {
    let [h, w] = g.window.input;
    let [oh, ow] = g.window.output;
    if out.is_empty() || oh * ow == 0 {
        return;
    }
    let taps = taps_last(weight, g);
    let image = g.channels * oh * ow;
    out.par_chunks_mut(g.channels * h * w)
        .enumerate()
        .for_each_init(Scratch::default, |scratch, (n, gx)| {
            simd::dispatch_simd(Image {
                g,
                scratch,
                job: Job::XGrad {
                    taps: &taps,
                    grad: grad.map(|grad| &grad[n * image..][..image]),
                    gx,
                },
            });
        });
}

/// [`super::depthwise::weight_grad`] for planes of at most [`MAX_PLANE`] values.
pub(super) fn weight_grad(x: &[f32], grad: &[f32], g: Geometry) -> Vec<f32> {
    let [h, w] = g.window.input;
    let [oh, ow] = g.window.output;
    let [kh, kw] = g.window.kernel;
    let cp = g.channels.next_multiple_of(CHANNEL_MULTIPLE);
    let mut out = vec![0.0f32; g.channels * kh * kw];
    if out.is_empty() || oh * ow == 0 || h * w == 0 {
        return out;
    }
    let (input, output) = (g.channels * h * w, g.channels * oh * ow);
    let sums = (0..g.batch)
        .into_par_iter()
        .fold(
            || (Scratch::default(), vec![0.0f32; kh * kw * cp]),
            |(mut scratch, mut sums), n| {
                simd::dispatch_simd(Image {
                    g,
                    scratch: &mut scratch,
                    job: Job::WeightGrad {
                        x: &x[n * input..][..input],
                        grad: &grad[n * output..][..output],
                        sums: &mut sums,
                    },
                });
                (scratch, sums)
            },
        )
        .map(|(_, sums)| sums)
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            a
        });
    if let Some(sums) = sums {
        for (c, dw) in out.chunks_exact_mut(kh * kw).enumerate() {
            for (t, dw) in dw.iter_mut().enumerate() {
                *dw = sums[t * cp + c];
            }
        }
    }
    out
}

/// `weight` (`[C, 1, KH, KW]`) as `[KH * KW, C']`, channels padded with zeros.
fn taps_last(weight: &[f32], g: Geometry) -> Vec<f32> {
    let taps = g.window.kernel[0] * g.window.kernel[1];
    let cp = g.channels.next_multiple_of(CHANNEL_MULTIPLE);
    let mut out = vec![0.0f32; taps * cp];
    for (c, w) in weight.chunks_exact(taps).enumerate() {
        for (t, &v) in w.iter().enumerate() {
            out[t * cp + c] = v;
        }
    }
    out
}

/// Per-task buffers: two channels-last grids.
#[derive(Default)]
struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
}

/// A channels-last grid `[rows, cols, C']`.
#[derive(Clone, Copy, Debug)]
struct Grid {
    rows: usize,
    cols: usize,
    /// `C'`: channels padded to [`CHANNEL_MULTIPLE`].
    cp: usize,
}

impl Grid {
    /// Where pixel `(r, c)` starts.
    #[inline(always)]
    fn at(&self, r: usize, c: usize) -> usize {
        (r * self.cols + c) * self.cp
    }

    fn len(&self) -> usize {
        self.rows * self.cols * self.cp
    }
}

/// One image's share of a kernel, run at the width of `S`.
struct Image<'a> {
    g: Geometry,
    scratch: &'a mut Scratch,
    job: Job<'a>,
}

/// What an [`Image`] computes, on its `[C, H, W]` input `x`, `[C, OH, OW]` output or `grad`,
/// with the weight's `taps` channels-last (`[KH * KW, C']`, [`taps_last`]).
enum Job<'a> {
    Forward {
        x: &'a [f32],
        taps: &'a [f32],
        y: &'a mut [f32],
    },
    /// `grad` `None`: read from `gx` before it is overwritten.
    XGrad {
        grad: Option<&'a [f32]>,
        taps: &'a [f32],
        gx: &'a mut [f32],
    },
    /// Adds this image's share into `sums` (`[KH * KW, C']`).
    WeightGrad {
        x: &'a [f32],
        grad: &'a [f32],
        sums: &'a mut [f32],
    },
}

impl WithSimd for Image<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let Image { g, scratch, job } = self;
        let win = g.window;
        let ([h, w], [oh, ow], [kh, kw]) = (win.input, win.output, win.kernel);
        let [sy, sx] = [win.stride[0].max(1), win.stride[1].max(1)];
        let cp = g.channels.next_multiple_of(CHANNEL_MULTIPLE);
        // The padded input every output reads, and the output grid.
        let padded = Grid {
            rows: (oh - 1) * sy + kh,
            cols: (ow - 1) * sx + kw,
            cp,
        };
        let outputs = Grid {
            rows: oh,
            cols: ow,
            cp,
        };
        match job {
            Job::Forward { x, taps, y } => {
                to_grid(
                    s,
                    x,
                    g.channels,
                    [h, w],
                    win.padding,
                    padded,
                    &mut scratch.a,
                );
                scratch.b.resize(outputs.len(), 0.0);
                // Each tap's weights and input, from the window's corner.
                let pairs: Vec<(usize, usize)> = (0..kh * kw)
                    .map(|t| (t * cp, padded.at(t / kw, t % kw)))
                    .collect();
                for oy in 0..oh {
                    for ox in 0..ow {
                        let out = &mut scratch.b[outputs.at(oy, ox)..][..cp];
                        let corner = padded.at(oy * sy, ox * sx);
                        tap_sum(s, out, taps, &scratch.a, corner, &pairs);
                    }
                }
                from_grid(&scratch.b, outputs, g.channels, y);
            }
            Job::XGrad { grad, taps, gx } => {
                let [py, px] = win.padding;
                let margin = [(kh - 1) / sy, (kw - 1) / sx];
                let reach = [(py + h - 1) / sy + 1, (px + w - 1) / sx + 1];
                let grads = Grid {
                    rows: oh.max(reach[0]) + margin[0],
                    cols: ow.max(reach[1]) + margin[1],
                    cp,
                };
                let grad = grad.unwrap_or(gx);
                to_grid(s, grad, g.channels, [oh, ow], margin, grads, &mut scratch.a);
                let inputs = Grid {
                    rows: h,
                    cols: w,
                    cp,
                };
                scratch.b.resize(inputs.len(), 0.0);
                let phases = phase_pairs(g, grads);
                for y in 0..h {
                    let (ay, ry) = ((y + py) / sy, (y + py) % sy);
                    for x in 0..w {
                        let (ax, rx) = ((x + px) / sx, (x + px) % sx);
                        let out = &mut scratch.b[inputs.at(y, x)..][..cp];
                        let (reach, pairs) = &phases[ry * sx + rx];
                        let corner = grads.at(ay + margin[0] - reach[0], ax + margin[1] - reach[1]);
                        tap_sum(s, out, taps, &scratch.a, corner, pairs);
                    }
                }
                from_grid(&scratch.b, inputs, g.channels, gx);
            }
            Job::WeightGrad { x, grad, sums } => {
                to_grid(
                    s,
                    x,
                    g.channels,
                    [h, w],
                    win.padding,
                    padded,
                    &mut scratch.a,
                );
                to_grid(
                    s,
                    grad,
                    g.channels,
                    [oh, ow],
                    [0, 0],
                    outputs,
                    &mut scratch.b,
                );
                let (xs, gs) = (&scratch.a, &scratch.b);
                let rows = RowDots {
                    padded,
                    outputs,
                    stride: [sy, sx],
                };
                for ky in 0..kh {
                    let sums = &mut sums[ky * kw * cp..][..kw * cp];
                    match kw {
                        3 => rows.run::<S, 3>(s, xs, gs, ky, 0, sums),
                        5 => rows.run::<S, 5>(s, xs, gs, ky, 0, sums),
                        _ => {
                            for kx in 0..kw {
                                let sums = &mut sums[kx * cp..][..cp];
                                rows.run::<S, 1>(s, xs, gs, ky, kx, sums);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// How far back a phase's taps reach (rows, columns of the gradient grid), and its taps as
/// `(weights, grad)` offsets.
type PhaseTaps = ([usize; 2], Vec<(usize, usize)>);

/// For each phase `(ry, rx)` of the input gradient: its taps `(ky, kx) = (sy * my + ry, sx *
/// mx + rx)` as `(weights, grad)` offsets, the latter from the gradient grid's pixel `(my, mx)
/// = reach` before the one at `[a + margin]` (so all are non-negative), and that `reach`.
fn phase_pairs(g: Geometry, grads: Grid) -> Vec<PhaseTaps> {
    let [kh, kw] = g.window.kernel;
    let [sy, sx] = [g.window.stride[0].max(1), g.window.stride[1].max(1)];
    let mut phases = Vec::with_capacity(sy * sx);
    for ry in 0..sy {
        for rx in 0..sx {
            let reach = [
                kh.saturating_sub(ry + 1) / sy,
                kw.saturating_sub(rx + 1) / sx,
            ];
            let pairs = (g.window.phase_taps([ry, rx]))
                .map(|(t, [my, mx])| (t * grads.cp, grads.at(reach[0] - my, reach[1] - mx)))
                .collect();
            phases.push((reach, pairs));
        }
    }
    phases
}

/// `out[c] = sum_i taps[w_i + c] * src[base + x_i + c]` over `pairs` `(w_i, x_i)`, [`BLOCK`]
/// vectors of channels held in registers over all taps at a time.
#[inline(always)]
fn tap_sum<S: Simd>(
    s: S,
    out: &mut [f32],
    taps: &[f32],
    src: &[f32],
    base: usize,
    pairs: &[(usize, usize)],
) {
    let lanes = S::F32_LANES;
    let cp = out.len();
    let mut c = 0;
    while c + BLOCK * lanes <= cp {
        block::<S, BLOCK>(s, &mut out[c..], taps, &src[base + c..], pairs, c);
        c += BLOCK * lanes;
    }
    while c < cp {
        block::<S, 1>(s, &mut out[c..], taps, &src[base + c..], pairs, c);
        c += lanes;
    }
}

/// Channels `c..c + B * lanes` of [`tap_sum`] (`src` from `base + c`).
#[inline(always)]
fn block<S: Simd, const B: usize>(
    s: S,
    out: &mut [f32],
    taps: &[f32],
    src: &[f32],
    pairs: &[(usize, usize)],
    c: usize,
) {
    let lanes = S::F32_LANES;
    let mut acc = [s.splat_f32s(0.0); B];
    for &(w, x) in pairs {
        let (wv, _) = S::as_simd_f32s(&taps[w + c..][..B * lanes]);
        let (xv, _) = S::as_simd_f32s(&src[x..][..B * lanes]);
        for b in 0..B {
            acc[b] = s.mul_add_f32s(wv[b], xv[b], acc[b]);
        }
    }
    let (dst, _) = S::as_mut_simd_f32s(&mut out[..B * lanes]);
    dst[..B].copy_from_slice(&acc);
}

/// The weight gradient's passes: one row of taps over one image.
struct RowDots {
    padded: Grid,
    outputs: Grid,
    stride: [usize; 2],
}

impl RowDots {
    /// `sums[k, c] += sum_o grads[o, c] * xs[o * s + (ky, kx0 + k), c]` for `k < KW`.
    #[inline(always)]
    fn run<S: Simd, const KW: usize>(
        &self,
        s: S,
        xs: &[f32],
        grads: &[f32],
        ky: usize,
        kx0: usize,
        sums: &mut [f32],
    ) {
        let lanes = S::F32_LANES;
        let cp = self.padded.cp;
        let [sy, sx] = self.stride;
        for c in (0..cp).step_by(lanes) {
            let mut acc = [s.splat_f32s(0.0); KW];
            for oy in 0..self.outputs.rows {
                for ox in 0..self.outputs.cols {
                    let (gv, _) = S::as_simd_f32s(&grads[self.outputs.at(oy, ox) + c..][..lanes]);
                    let corner = self.padded.at(oy * sy + ky, ox * sx + kx0) + c;
                    for (k, acc) in acc.iter_mut().enumerate() {
                        let (xv, _) = S::as_simd_f32s(&xs[corner + k * cp..][..lanes]);
                        *acc = s.mul_add_f32s(gv[0], xv[0], *acc);
                    }
                }
            }
            for (k, acc) in acc.iter().enumerate() {
                let (dst, _) = S::as_mut_simd_f32s(&mut sums[k * cp + c..][..lanes]);
                dst[0] = s.add_f32s(dst[0], *acc);
            }
        }
    }
}

/// `src` (`[C, H, W]`) into `grid` at rows `offset[0]..`, columns `offset[1]..`, channels
/// `0..C`; zero everywhere else (`dst` resized to the grid).
#[inline(always)]
fn to_grid<S: Simd>(
    s: S,
    src: &[f32],
    channels: usize,
    [h, w]: [usize; 2],
    offset: [usize; 2],
    grid: Grid,
    dst: &mut Vec<f32>,
) {
    dst.resize(grid.len(), 0.0);
    zero(s, dst);
    let rows = h.min(grid.rows.saturating_sub(offset[0]));
    let cols = w.min(grid.cols.saturating_sub(offset[1]));
    for (c, plane) in src.chunks_exact(h * w).take(channels).enumerate() {
        for y in 0..rows {
            let base = grid.at(y + offset[0], offset[1]) + c;
            for (x, &v) in plane[y * w..][..cols].iter().enumerate() {
                dst[base + x * grid.cp] = v;
            }
        }
    }
}

/// `grid` (all of it, channels `0..C`) into `dst` (`[C, rows, cols]`).
#[inline(always)]
fn from_grid(grid_values: &[f32], grid: Grid, channels: usize, dst: &mut [f32]) {
    let pixels = grid.rows * grid.cols;
    for (c, plane) in dst.chunks_exact_mut(pixels).take(channels).enumerate() {
        for (p, v) in plane.iter_mut().enumerate() {
            *v = grid_values[p * grid.cp + c];
        }
    }
}
