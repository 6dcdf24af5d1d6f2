//! A depthwise convolution (`groups == C_in == C_out`, weight `[C, 1, KH, KW]`) and its
//! gradients in `f32`. Planes of more than [`MAX_PLANE`] values run here, as direct loops over
//! NCHW planes on rayon's pool (one task per plane or channel), each task at the CPU's widest
//! vector width ([`simd::dispatch_simd`]): each tap's work on a plane is one contiguous run of
//! the plane laid out at a common row pitch ([`Pitched`]), so that strided taps need no
//! gathers, and the taps' sums are register-blocked ([`super::runs`]). Smaller planes (B0's
//! 16x16 to 4x4 stages), where a fixed cost per plane would dominate, run channels-last in
//! [`super::depthwise_small`].
//!
//! Burn's defaults route these through general convolutions: the weight gradient as one
//! convolution *per channel* plus a `slice_assign` of the whole weight gradient per channel
//! (O(C^2) copies), the input gradient through `conv_transpose2d`. At B0's 96-channel 3x3 stride-2
//! layer at 112 px they take ~14 ms against ~1.4 ms for the forward.

use pulp::{Simd, WithSimd};
use rayon::prelude::*;

use super::buffer::zeroed;
use super::depthwise_small::{self as small, MAX_PLANE};
use super::pitched::Pitched;
use super::runs::{copy, kernel_row_dots, tap_sum};
use super::simd;
use super::window::Window;

/// The geometry of one depthwise convolution: batch, channels and the kernel's [`Window`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    /// Batch size.
    pub batch: usize,
    /// Channels (= groups).
    pub channels: usize,
    /// Input and output sizes, kernel, stride, leading padding.
    pub window: Window,
}

/// The convolution itself, `[N, C, OH, OW]`, of `x` (`[N, C, H, W]`) by `weight`
/// (`[C, 1, KH, KW]`), without bias.
///
/// Per plane, the padded input is split into [`Pitched`] phases once; the pitched output is
/// then the sum over taps of `tap * run` ([`tap_sum`], one register block of outputs over all
/// taps at a time), and its rows are copied out.
pub(crate) fn forward(x: &[f32], weight: &[f32], g: Geometry) -> Vec<f32> {
    if g.window.input[0] * g.window.input[1] <= MAX_PLANE {
        small::forward(x, weight, g)
    } else {
        forward_planes(x, weight, g)
    }
}

/// [`forward`] plane by plane.
fn forward_planes(x: &[f32], weight: &[f32], g: Geometry) -> Vec<f32> {
    let [h, w] = g.window.input;
    let [oh, ow] = g.window.output;
    let [kh, kw] = g.window.kernel;
    let pitched = Pitched::new(g.window);
    let mut out = zeroed(g.batch * g.channels * oh * ow);
    if oh * ow == 0 {
        return out;
    }
    let offsets: Vec<usize> = (0..kh * kw).map(|t| pitched.tap(t / kw, t % kw)).collect();
    out.par_chunks_mut(oh * ow).enumerate().for_each_init(
        Scratch::default,
        |scratch, (plane, y)| {
            let channel = plane % g.channels;
            simd::dispatch_simd(Plane {
                pitched,
                scratch,
                job: Job::Forward {
                    x: &x[plane * h * w..][..h * w],
                    taps: &weight[channel * kh * kw..][..kh * kw],
                    offsets: &offsets,
                    y,
                },
            });
        },
    );
    out
}

/// `dL/dx`, `[N, C, H, W]`, from `grad` (`[N, C, OH, OW]`) and `weight` (`[C, 1, KH, KW]`).
///
/// Per plane, each [`Pitched`] phase of the padded input's gradient is gathered from the
/// pitched `grad` (zero-extended on both sides) by the taps that read that phase
/// ([`tap_sum`]), then the phases are read back into `dx`.
pub(crate) fn x_grad(grad: &[f32], weight: &[f32], g: Geometry) -> Vec<f32> {
    let [h, w] = g.window.input;
    let mut out = zeroed(g.batch * g.channels * h * w);
    x_grad_into(Some(grad), weight, g, &mut out);
    out
}

/// [`x_grad`] written over `grad` itself, for a convolution whose output is as large as its
/// input (stride 1): each plane (or image) is read before it is overwritten, and no output
/// buffer is allocated.
pub(crate) fn x_grad_in_place(grad: &mut [f32], weight: &[f32], g: Geometry) {
    debug_assert_eq!(g.window.input, g.window.output);
    x_grad_into(None, weight, g, grad);
}

/// [`x_grad`] into `out`, from `grad`, or from `out` itself where `None`.
fn x_grad_into(grad: Option<&[f32]>, weight: &[f32], g: Geometry, out: &mut [f32]) {
    if g.window.input[0] * g.window.input[1] <= MAX_PLANE {
        small::x_grad_into(grad, weight, g, out);
    } else {
        x_grad_planes(grad, weight, g, out);
    }
}

/// [`x_grad_into`] plane by plane.
fn x_grad_planes(grad: Option<&[f32]>, weight: &[f32], g: Geometry, out: &mut [f32]) {
    let [h, w] = g.window.input;
    let [oh, ow] = g.window.output;
    let [kh, kw] = g.window.kernel;
    let pitched = Pitched::new(g.window);
    if h * w == 0 {
        return;
    }
    out.par_chunks_mut(h * w).enumerate().for_each_init(
        Scratch::default,
        |scratch, (plane, gx)| {
            let channel = plane % g.channels;
            simd::dispatch_simd(Plane {
                pitched,
                scratch,
                job: Job::XGrad {
                    grad: grad.map(|grad| &grad[plane * oh * ow..][..oh * ow]),
                    taps: &weight[channel * kh * kw..][..kh * kw],
                    gx,
                },
            });
        },
    );
}

/// `dL/dweight`, `[C, 1, KH, KW]`, from `x` (`[N, C, H, W]`) and `grad` (`[N, C, OH, OW]`).
///
/// Per plane, the padded input is split into [`Pitched`] phases once; each tap's gradient is
/// then the dot product of the pitched `grad` with the phase run that tap read, a row of taps
/// per pass ([`kernel_row_dots`]).
pub(crate) fn weight_grad(x: &[f32], grad: &[f32], g: Geometry) -> Vec<f32> {
    if g.window.input[0] * g.window.input[1] <= MAX_PLANE {
        small::weight_grad(x, grad, g)
    } else {
        weight_grad_planes(x, grad, g)
    }
}

/// [`weight_grad`] plane by plane.
fn weight_grad_planes(x: &[f32], grad: &[f32], g: Geometry) -> Vec<f32> {
    let [h, w] = g.window.input;
    let [oh, ow] = g.window.output;
    let [kh, kw] = g.window.kernel;
    let pitched = Pitched::new(g.window);
    let mut out = vec![0.0f32; g.channels * kh * kw];
    if out.is_empty() || oh * ow == 0 {
        return out;
    }
    let offsets: Vec<usize> = (0..kh * kw).map(|t| pitched.tap(t / kw, t % kw)).collect();
    out.par_chunks_mut(kh * kw).enumerate().for_each_init(
        Scratch::default,
        |scratch, (channel, gw)| {
            for n in 0..g.batch {
                let plane = n * g.channels + channel;
                simd::dispatch_simd(Plane {
                    pitched,
                    scratch: &mut *scratch,
                    job: Job::WeightGrad {
                        x: &x[plane * h * w..][..h * w],
                        grad: &grad[plane * oh * ow..][..oh * ow],
                        offsets: &offsets,
                        gw: &mut *gw,
                    },
                });
            }
        },
    );
    out
}

/// Per-task buffers: the pitched gradient or output rows, the phases, and one phase's taps.
#[derive(Default)]
struct Scratch {
    rows: Vec<f32>,
    phases: Vec<f32>,
    offsets: Vec<usize>,
    taps: Vec<f32>,
}

/// One plane's share of a kernel, run at the width of `S`.
struct Plane<'a> {
    pitched: Pitched,
    scratch: &'a mut Scratch,
    job: Job<'a>,
}

/// What a [`Plane`] computes (per plane: `x` `[H, W]`, `grad` and `y` `[OH, OW]`, `taps`
/// `[KH * KW]`, `offsets` each tap's run in the phases).
enum Job<'a> {
    Forward {
        x: &'a [f32],
        taps: &'a [f32],
        offsets: &'a [usize],
        y: &'a mut [f32],
    },
    /// `grad` `None`: read from `gx` before it is overwritten.
    XGrad {
        grad: Option<&'a [f32]>,
        taps: &'a [f32],
        gx: &'a mut [f32],
    },
    /// Adds this plane's share into `gw`.
    WeightGrad {
        x: &'a [f32],
        grad: &'a [f32],
        offsets: &'a [usize],
        gw: &'a mut [f32],
    },
}

impl WithSimd for Plane<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let Plane {
            pitched: p,
            scratch,
            job,
        } = self;
        let [oh, ow] = p.window.output;
        match job {
            Job::Forward {
                x,
                taps,
                offsets,
                y,
            } => {
                p.split(s, x, &mut scratch.phases);
                let acc = &mut scratch.rows;
                acc.resize((oh - 1) * p.pitch + ow, 0.0);
                tap_sum(s, acc, &scratch.phases, offsets, taps);
                for (row, src) in y.chunks_exact_mut(ow).zip(acc.chunks(p.pitch)) {
                    copy(s, row, &src[..ow]);
                }
            }
            Job::XGrad { grad, taps, gx } => {
                let [sy, sx] = p.window.stride;
                let [kh, kw] = p.window.kernel;
                let lead = kh.saturating_sub(1) / sy * p.pitch + kw.saturating_sub(1) / sx;
                let phase_len = p.rows * p.pitch;
                let grad = grad.unwrap_or(gx);
                p.rows_at(s, grad, lead, lead + phase_len, &mut scratch.rows);
                scratch.phases.resize(p.len(), 0.0);
                for phase in 0..sy * sx {
                    p.phase_taps(phase, lead, taps, &mut scratch.offsets, &mut scratch.taps);
                    let dst = &mut scratch.phases[phase * phase_len..][..phase_len];
                    tap_sum(s, dst, &scratch.rows, &scratch.offsets, &scratch.taps);
                }
                p.read_into(s, &scratch.phases, gx);
            }
            Job::WeightGrad {
                x,
                grad,
                offsets,
                gw,
            } => {
                let len = (oh - 1) * p.pitch + ow;
                p.rows_at(s, grad, 0, len, &mut scratch.rows);
                p.split(s, x, &mut scratch.phases);
                let (gy, phases) = (&scratch.rows[..len], &scratch.phases);
                kernel_row_dots(s, p.window.kernel[1], gy, phases, offsets, gw)
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Direct definition of the depthwise convolution's gradients, element by element.
    /// `(dx, dweight, y)` by the definition.
    fn reference(
        x: &[f32],
        weight: &[f32],
        grad: &[f32],
        g: Geometry,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let [h, w] = g.window.input;
        let [oh, ow] = g.window.output;
        let [kh, kw] = g.window.kernel;
        let mut gx = vec![0.0; x.len()];
        let mut gw = vec![0.0; weight.len()];
        let mut y = vec![0.0; grad.len()];
        for n in 0..g.batch {
            for c in 0..g.channels {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let out = ((n * g.channels + c) * oh + oy) * ow + ox;
                        let gy = grad[out];
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let Some([iy, ix]) = read_at(&g.window, [oy, ox], [ky, kx]) else {
                                    continue;
                                };
                                let xi = ((n * g.channels + c) * h + iy) * w + ix;
                                gx[xi] += gy * weight[(c * kh + ky) * kw + kx];
                                gw[(c * kh + ky) * kw + kx] += gy * x[xi];
                                y[out] += x[xi] * weight[(c * kh + ky) * kw + kx];
                            }
                        }
                    }
                }
            }
        }
        (gx, gw, y)
    }

    /// The input position `[iy, ix]` that output `[oy, ox]` reads through tap `[ky, kx]`, by
    /// the definition; `None` where that is padding.
    pub(in crate::kernels) fn read_at(
        window: &Window,
        [oy, ox]: [usize; 2],
        [ky, kx]: [usize; 2],
    ) -> Option<[usize; 2]> {
        let iy = (oy * window.stride[0] + ky).checked_sub(window.padding[0])?;
        let ix = (ox * window.stride[1] + kx).checked_sub(window.padding[1])?;
        (iy < window.input[0] && ix < window.input[1]).then_some([iy, ix])
    }

    /// Whether `a` is `b` to 1e-4, relative to `|b|` where that is above 1.
    pub(in crate::kernels) fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(a, b)| (a - b).abs() < 1e-4 * b.abs().max(1.0))
    }

    /// `len` deterministic values in `[-1, 1)`, varied by `seed`.
    pub(in crate::kernels) fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    #[test]
    fn forward_and_gradients_match_the_definition() {
        // 3x3 s1 p1, 3x3 s2 with SAME-style (0, 1) padding, 5x5 s2 p2 on odd sizes, 5x5 s1 p2 on
        // a plane smaller than the kernel's reach.
        let cases = [
            ([7, 9], [3, 3], [1, 1], [1, 1], [7, 9]),
            ([8, 8], [3, 3], [2, 2], [0, 0], [4, 4]),
            ([9, 11], [5, 5], [2, 2], [2, 2], [5, 6]),
            ([2, 3], [5, 5], [1, 1], [2, 2], [2, 3]),
            // Planes of 1 and 2 values a side (B0's last stages at 32 px), TF SAME's zero
            // leading padding.
            ([1, 1], [3, 3], [1, 1], [1, 1], [1, 1]),
            ([2, 2], [5, 5], [2, 2], [2, 2], [1, 1]),
            ([1, 1], [5, 5], [2, 2], [2, 2], [1, 1]),
            ([2, 2], [3, 3], [2, 2], [1, 1], [1, 1]),
            ([2, 2], [3, 3], [2, 2], [0, 0], [1, 1]),
            ([3, 3], [5, 5], [2, 2], [1, 1], [2, 2]),
            ([4, 4], [3, 3], [2, 2], [0, 0], [2, 2]),
            // Past `MAX_PLANE` values, odd sizes, SAME's asymmetric padding.
            ([17, 19], [5, 5], [2, 2], [1, 1], [9, 10]),
            ([18, 17], [3, 3], [1, 1], [1, 1], [18, 17]),
            ([16, 16], [3, 1], [2, 1], [1, 0], [8, 16]),
        ];
        for (input, kernel, stride, padding, output) in cases {
            let window = Window {
                input,
                output,
                kernel,
                stride,
                padding,
            };
            // 3 channels, and 19: a full vector and a partial one at every width.
            for channels in [3, 19] {
                let g = Geometry {
                    batch: 2,
                    channels,
                    window,
                };
                let x = values(2 * channels * input[0] * input[1], 1);
                let weight = values(channels * kernel[0] * kernel[1], 2);
                let grad = values(2 * channels * output[0] * output[1], 3);
                let (want_x, want_w, want_y) = reference(&x, &weight, &grad, g);
                // Both ways, whatever the plane's size.
                assert!(
                    close(&forward_planes(&x, &weight, g), &want_y),
                    "forward {g:?}"
                );
                // Into a fresh buffer, and (stride 1) over the gradient itself.
                type XGrad = fn(Option<&[f32]>, &[f32], Geometry, &mut [f32]);
                let ways: [(&str, XGrad); 2] =
                    [("planes", x_grad_planes), ("small", small::x_grad_into)];
                for (way, x_grad) in ways {
                    let mut gx = vec![f32::NAN; x.len()];
                    x_grad(Some(&grad), &weight, g, &mut gx);
                    assert!(close(&gx, &want_x), "{way} x grad {g:?}");
                    if input == output {
                        let mut gx = grad.clone();
                        x_grad(None, &weight, g, &mut gx);
                        assert!(close(&gx, &want_x), "{way} x grad in place {g:?}");
                    }
                }
                assert!(
                    close(&weight_grad_planes(&x, &grad, g), &want_w),
                    "weight grad {g:?}"
                );
                assert!(
                    close(&small::forward(&x, &weight, g), &want_y),
                    "small forward {g:?}"
                );
                assert!(close(&x_grad(&grad, &weight, g), &want_x), "x grad {g:?}");
                let small_w = small::weight_grad(&x, &grad, g);
                assert!(close(&small_w, &want_w), "small weight grad {g:?}");
                assert!(close(&forward(&x, &weight, g), &want_y), "forward {g:?}");
            }
        }
    }
}
