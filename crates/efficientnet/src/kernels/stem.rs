//! A dense convolution of few input channels (EfficientNet's stem: 3x3, stride 2, on the RGB
//! image) and its weight gradient in `f32`, per image on rayon's pool, at the CPU's widest
//! vector width. Each input channel's padded plane is split into [`Pitched`] phases once per
//! image; then every output plane is one register-blocked sum of `C_in * KH * KW` shifted runs
//! ([`tap_sum`]) and every weight's gradient one dot product of the pitched output gradient
//! with such a run ([`kernel_row_dots`]).
//!
//! Burn's general convolution unfolds the image (im2col) for a matrix product whose inner
//! dimension is only 27, and computes the weight gradient on the calling thread.

use pulp::{Simd, WithSimd};
use rayon::prelude::*;

use super::buffer::zeroed;
use super::pitched::Pitched;
use super::runs::{copy, kernel_row_dots, tap_sum};
use super::simd;
use super::window::Window;

/// Input channels up to which a dense convolution takes this module.
pub(super) const MAX_INPUTS: usize = 4;

/// The geometry of a dense convolution: batch, input and output channels, and the window.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dense {
    /// Batch size.
    pub batch: usize,
    /// Input channels.
    pub inputs: usize,
    /// Output channels.
    pub outputs: usize,
    /// Input and output sizes, kernel, stride, leading padding.
    pub window: Window,
}

impl Dense {
    /// Values of one input image, `[C_in, H, W]`.
    fn image(&self) -> usize {
        self.inputs * self.window.input[0] * self.window.input[1]
    }

    /// Values of one output image, `[C_out, OH, OW]`.
    fn output(&self) -> usize {
        self.outputs * self.window.output[0] * self.window.output[1]
    }

    /// Each weight's run in the phases of all input channels (channel-major, as the weight
    /// `[C_out, C_in, KH, KW]` orders its taps).
    fn offsets(&self, pitched: &Pitched) -> Vec<usize> {
        let [kh, kw] = self.window.kernel;
        let mut offsets = Vec::with_capacity(self.inputs * kh * kw);
        for c in 0..self.inputs {
            for t in 0..kh * kw {
                offsets.push(c * pitched.len() + pitched.tap(t / kw, t % kw));
            }
        }
        offsets
    }
}

/// The convolution, `[N, C_out, OH, OW]`, of `x` (`[N, C_in, H, W]`) by `weight`
/// (`[C_out, C_in, KH, KW]`), without bias.
pub(crate) fn forward(x: &[f32], weight: &[f32], g: Dense) -> Vec<f32> {
    let mut out = zeroed(g.batch * g.output());
    if out.is_empty() || g.image() == 0 {
        return out;
    }
    let pitched = Pitched::new(g.window);
    let offsets = g.offsets(&pitched);
    out.par_chunks_mut(g.output())
        .zip(x.par_chunks(g.image()))
        .for_each_init(Scratch::default, |scratch, (y, x)| {
            simd::dispatch_simd(Image {
                g,
                pitched,
                offsets: &offsets,
                scratch,
                job: Job::Forward { x, weight, y },
            });
        });
    out
}

/// `dL/dweight`, `[C_out, C_in, KH, KW]`, from `x` (`[N, C_in, H, W]`) and `grad`
/// (`[N, C_out, OH, OW]`).
pub(crate) fn weight_grad(x: &[f32], grad: &[f32], g: Dense) -> Vec<f32> {
    let [kh, kw] = g.window.kernel;
    let len = g.outputs * g.inputs * kh * kw;
    if g.batch == 0 || g.output() == 0 || g.image() == 0 {
        return vec![0.0f32; len];
    }
    let pitched = Pitched::new(g.window);
    let offsets = g.offsets(&pitched);
    x.par_chunks(g.image())
        .zip(grad.par_chunks(g.output()))
        .fold(
            || (Scratch::default(), vec![0.0f32; len]),
            |(mut scratch, mut gw), (x, grad)| {
                simd::dispatch_simd(Image {
                    g,
                    pitched,
                    offsets: &offsets,
                    scratch: &mut scratch,
                    job: Job::WeightGrad {
                        x,
                        grad,
                        gw: &mut gw,
                    },
                });
                (scratch, gw)
            },
        )
        .map(|(_, gw)| gw)
        .reduce(
            || vec![0.0f32; len],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                a
            },
        )
}

/// Per-task buffers: every input channel's phases, and pitched output rows.
#[derive(Default)]
struct Scratch {
    phases: Vec<f32>,
    rows: Vec<f32>,
}

/// One image's share of a kernel, run at the width of `S`.
struct Image<'a> {
    g: Dense,
    pitched: Pitched,
    /// [`Dense::offsets`].
    offsets: &'a [usize],
    scratch: &'a mut Scratch,
    job: Job<'a>,
}

/// What an [`Image`] computes (per image: `x` `[C_in, H, W]`, `y` and `grad`
/// `[C_out, OH, OW]`).
enum Job<'a> {
    Forward {
        x: &'a [f32],
        weight: &'a [f32],
        y: &'a mut [f32],
    },
    /// Adds this image's share into `gw`.
    WeightGrad {
        x: &'a [f32],
        grad: &'a [f32],
        gw: &'a mut [f32],
    },
}

impl WithSimd for Image<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let Image {
            g,
            pitched: p,
            offsets,
            scratch,
            job,
        } = self;
        let [h, w] = g.window.input;
        let [oh, ow] = g.window.output;
        let taps = offsets.len();
        let rows_len = (oh - 1) * p.pitch + ow;
        let (x, split) = match &job {
            Job::Forward { x, .. } | Job::WeightGrad { x, .. } => (*x, &mut scratch.phases),
        };
        split.resize(g.inputs * p.len(), 0.0);
        for (c, phases) in split.chunks_exact_mut(p.len()).enumerate() {
            p.split_into(s, &x[c * h * w..][..h * w], phases);
        }
        match job {
            Job::Forward { weight, y, .. } => {
                let acc = &mut scratch.rows;
                acc.resize(rows_len, 0.0);
                for (o, y) in y.chunks_exact_mut(oh * ow).enumerate() {
                    tap_sum(
                        s,
                        acc,
                        &scratch.phases,
                        offsets,
                        &weight[o * taps..][..taps],
                    );
                    for (row, src) in y.chunks_exact_mut(ow).zip(acc.chunks(p.pitch)) {
                        copy(s, row, &src[..ow]);
                    }
                }
            }
            Job::WeightGrad { grad, gw, .. } => {
                for (o, gw) in gw.chunks_exact_mut(taps).enumerate() {
                    let gy = &grad[o * oh * ow..][..oh * ow];
                    p.rows_at(s, gy, 0, rows_len, &mut scratch.rows);
                    let (gy, phases) = (&scratch.rows[..rows_len], &scratch.phases);
                    kernel_row_dots(s, g.window.kernel[1], gy, phases, offsets, gw)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::depthwise::tests::{close, read_at, values};
    use super::*;

    /// `(y, dweight)` by the definition.
    fn reference(x: &[f32], weight: &[f32], grad: &[f32], g: Dense) -> (Vec<f32>, Vec<f32>) {
        let [h, w] = g.window.input;
        let [oh, ow] = g.window.output;
        let [kh, kw] = g.window.kernel;
        let mut y = vec![0.0; grad.len()];
        let mut gw = vec![0.0; weight.len()];
        for n in 0..g.batch {
            for o in 0..g.outputs {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let out = ((n * g.outputs + o) * oh + oy) * ow + ox;
                        for c in 0..g.inputs {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let Some([iy, ix]) = read_at(&g.window, [oy, ox], [ky, kx])
                                    else {
                                        continue;
                                    };
                                    let xi = ((n * g.inputs + c) * h + iy) * w + ix;
                                    let wi = ((o * g.inputs + c) * kh + ky) * kw + kx;
                                    y[out] += x[xi] * weight[wi];
                                    gw[wi] += grad[out] * x[xi];
                                }
                            }
                        }
                    }
                }
            }
        }
        (y, gw)
    }

    #[test]
    fn forward_and_weight_gradient_match_the_definition() {
        // B0's stem (3x3 s2, SAME's (0, 1) padding and PyTorch's (1, 1)), a 5x5 s1 and a 1x3.
        let cases = [
            ([16, 16], [3, 3], [2, 2], [0, 0], [8, 8], 3),
            ([17, 15], [3, 3], [2, 2], [1, 1], [9, 8], 3),
            ([9, 11], [5, 5], [1, 1], [2, 2], [9, 11], 2),
            ([6, 7], [1, 3], [1, 1], [0, 1], [6, 7], 1),
        ];
        for (input, kernel, stride, padding, output, inputs) in cases {
            let window = Window {
                input,
                output,
                kernel,
                stride,
                padding,
            };
            let g = Dense {
                batch: 2,
                inputs,
                outputs: 5,
                window,
            };
            let x = values(2 * g.image(), 1);
            let weight = values(5 * inputs * kernel[0] * kernel[1], 2);
            let grad = values(2 * g.output(), 3);
            let (want_y, want_w) = reference(&x, &weight, &grad, g);
            assert!(close(&forward(&x, &weight, g), &want_y), "forward {g:?}");
            assert!(
                close(&weight_grad(&x, &grad, g), &want_w),
                "weight grad {g:?}"
            );
        }
    }
}
