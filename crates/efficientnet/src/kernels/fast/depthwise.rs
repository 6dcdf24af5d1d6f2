//! Depthwise convolution on channels-last activations, with the bias, the activation and the
//! squeeze-excitation mean in the same pass. A tile of output pixels (16 KiB, so it stays in
//! L1) starts at the bias, takes one multiply-add pass per kernel tap (a loop along the
//! channels, vectorised), then is activated and summed into the SE mean while still in L1.

use rayon::prelude::*;

use crate::config::Activation;

use super::super::simd;
use super::super::window::Window;
use super::epilogue::{ActivationLoop, with_activation};

/// Output rows per rayon task at most.
const MAX_ROWS_PER_TASK: usize = 8;

/// `out[n, y, x, c] = act(bias[c] + sum_taps x[n, y', x', c] * taps[tap, c])`, returning the
/// per-sample channel sums of `out` (`[N, C]`, for squeeze-excitation's mean).
///
/// Shapes: `x` `[N, H, W, C]`, `taps` `[KH * KW, C]` (the weight `[C, 1, KH, KW]` transposed),
/// `bias` `[C]`, `out` `[N, OH, OW, C]`.
pub(super) fn depthwise(
    x: &[f32],
    taps: &[f32],
    bias: &[f32],
    window: Window,
    act: Option<Activation>,
    out: &mut [f32],
) -> Vec<f32> {
    let c = bias.len();
    let [h, w] = window.input;
    let [oh, ow] = window.output;
    let batch = x.len() / (h * w * c);
    let rows_per_task = oh
        .div_ceil(4 * rayon::current_num_threads())
        .clamp(1, MAX_ROWS_PER_TASK);
    let mut sums = vec![0.0f32; batch * c];
    if oh * ow * c == 0 {
        return sums;
    }
    // Every image at once (rayon nests the row tasks), not one image after another: at 7x7
    // an image is a few small tasks, and waiting for each image left the cores idle.
    out.par_chunks_mut(oh * ow * c)
        .zip(sums.par_chunks_mut(c))
        .enumerate()
        .for_each(|(n, (out, sums))| {
            let x = &x[n * h * w * c..][..h * w * c];
            let partial: Vec<Vec<f32>> = out
                .par_chunks_mut(rows_per_task * ow * c)
                .enumerate()
                .map(|(task, rows)| {
                    let mut partial = vec![0.0f32; c];
                    let kernel = Rows {
                        x,
                        taps,
                        bias,
                        window,
                        first_row: task * rows_per_task,
                        out: rows,
                        sums: &mut partial,
                    };
                    with_activation(act, kernel);
                    partial
                })
                .collect();
            for partial in partial {
                sums.iter_mut().zip(&partial).for_each(|(s, p)| *s += p);
            }
        });
    sums
}

/// Output rows `first_row..` of one sample: the loop of [`depthwise`], generic over the
/// activation.
struct Rows<'a> {
    x: &'a [f32],
    taps: &'a [f32],
    bias: &'a [f32],
    window: Window,
    first_row: usize,
    out: &'a mut [f32],
    sums: &'a mut [f32],
}

/// Output pixels computed together in the interior (each tap's weights loaded once for all).
const GROUP: usize = 4;

impl ActivationLoop<()> for Rows<'_> {
    #[inline(always)]
    fn run<F: Fn(f32) -> f32 + Copy>(self, f: F) {
        let Rows {
            x,
            taps,
            bias,
            window,
            first_row,
            out,
            sums,
        } = self;
        let c = bias.len();
        let ([_, width], [_, ow], [kh, kw]) = (window.input, window.output, window.kernel);
        // Where the whole kernel reads real input: its taps' offsets from the window's corner.
        let offsets: Vec<usize> = (0..kh * kw)
            .map(|t| ((t / kw) * width + t % kw) * c)
            .collect();
        let cols = window.interior(1);
        let groups = cols.len() / GROUP;
        simd::dispatch(
            #[inline(always)]
            || {
                // A function, not a closure: closures are not inlined for sure, and one
                // left out of line would run at the baseline SIMD width.
                let edge = Edge {
                    x,
                    taps,
                    window,
                    bias,
                };
                for (j, row) in out.chunks_exact_mut(ow * c).enumerate() {
                    let oy = first_row + j;
                    if window.taps(0, oy).len() < kh || groups == 0 {
                        edge.run(f, oy, 0..ow, row, sums);
                        continue;
                    }
                    edge.run(f, oy, 0..cols.start, row, sums);
                    for g in 0..groups {
                        let ox = cols.start + g * GROUP;
                        let corner = |p: usize| {
                            let iy = oy * window.stride[0] - window.padding[0];
                            let ix = (ox + p) * window.stride[1] - window.padding[1];
                            (iy * width + ix) * c
                        };
                        let mut corners = [0; GROUP];
                        for (p, corner_p) in corners.iter_mut().enumerate() {
                            *corner_p = corner(p);
                        }
                        let group = Group {
                            x,
                            taps,
                            offsets: &offsets,
                            corners,
                        };
                        let out = &mut row[ox * c..(ox + GROUP) * c];
                        group.run(f, bias, out, sums);
                    }
                    edge.run(f, oy, cols.start + groups * GROUP..ow, row, sums);
                }
            },
        )
    }
}

/// What [`Tile`]s of one layer share.
#[derive(Clone, Copy)]
struct Edge<'a> {
    x: &'a [f32],
    taps: &'a [f32],
    window: Window,
    bias: &'a [f32],
}

impl Edge<'_> {
    /// Output pixels `pixels` of row `oy` (`row` the whole row) through [`Tile::run`].
    #[inline(always)]
    fn run<F: Fn(f32) -> f32>(
        &self,
        f: F,
        oy: usize,
        pixels: std::ops::Range<usize>,
        row: &mut [f32],
        sums: &mut [f32],
    ) {
        let c = self.bias.len();
        let out = &mut row[pixels.start * c..pixels.end * c];
        let tile = Tile {
            x: self.x,
            taps: self.taps,
            window: self.window,
            oy,
            pixels,
        };
        tile.run(f, self.bias, out, sums);
    }
}

/// [`GROUP`] output pixels whose kernel window lies inside the input.
struct Group<'a> {
    x: &'a [f32],
    taps: &'a [f32],
    /// Each tap's input offset from the window's top-left corner.
    offsets: &'a [usize],
    /// Each pixel's window corner in `x`.
    corners: [usize; GROUP],
}

impl Group<'_> {
    /// All channels, in blocks of 16, 8, then 1 lanes held in registers across the taps.
    #[inline(always)]
    fn run<F: Fn(f32) -> f32 + Copy>(&self, f: F, bias: &[f32], out: &mut [f32], sums: &mut [f32]) {
        let c = bias.len();
        let mut c0 = 0;
        while c0 + 16 <= c {
            self.block::<16, F>(f, bias, c0, out, sums);
            c0 += 16;
        }
        while c0 + 8 <= c {
            self.block::<8, F>(f, bias, c0, out, sums);
            c0 += 8;
        }
        while c0 < c {
            self.block::<1, F>(f, bias, c0, out, sums);
            c0 += 1;
        }
    }

    /// Channels `c0..c0 + L` of the group's pixels.
    ///
    /// Plain loops only: `std::array::from_fn` here has been left out of line by the inliner
    /// (then a quarter of the depthwise time went to `core::array::try_from_fn` calls).
    #[inline(always)]
    fn block<const L: usize, F: Fn(f32) -> f32>(
        &self,
        f: F,
        bias: &[f32],
        c0: usize,
        out: &mut [f32],
        sums: &mut [f32],
    ) {
        let c = bias.len();
        let mut acc = [[0.0f32; L]; GROUP];
        for acc in &mut acc {
            acc.copy_from_slice(&bias[c0..][..L]);
        }
        for (t, &offset) in self.offsets.iter().enumerate() {
            let w = &self.taps[t * c + c0..][..L];
            for (acc, &corner) in acc.iter_mut().zip(&self.corners) {
                let xs = &self.x[corner + offset + c0..][..L];
                for i in 0..L {
                    acc[i] += xs[i] * w[i];
                }
            }
        }
        let sums = &mut sums[c0..][..L];
        for (p, acc) in acc.iter().enumerate() {
            let out = &mut out[p * c + c0..][..L];
            for i in 0..L {
                let v = f(acc[i]);
                out[i] = v;
                sums[i] += v;
            }
        }
    }
}

/// Output pixels `pixels` of row `oy` of one sample (near the edges: taps checked one by one).
#[derive(Clone)]
struct Tile<'a> {
    x: &'a [f32],
    taps: &'a [f32],
    window: Window,
    oy: usize,
    pixels: std::ops::Range<usize>,
}

impl Tile<'_> {
    /// The tile's output `[pixels, C]`: bias, every tap, then activation and SE sums.
    #[inline(always)]
    fn run<F: Fn(f32) -> f32>(&self, f: F, bias: &[f32], out: &mut [f32], sums: &mut [f32]) {
        let c = bias.len();
        // 4096 values (16 KiB) at a time stay in L1 across the kernel's taps.
        let tile = (4096 / c).max(1);
        for (t, part) in out.chunks_mut(tile * c).enumerate() {
            let first = self.pixels.start + t * tile;
            let part_tile = Tile {
                pixels: first..first + part.len() / c,
                ..self.clone()
            };
            for pixel in part.chunks_exact_mut(c) {
                pixel.copy_from_slice(bias);
            }
            part_tile.accumulate(part);
            for pixel in part.chunks_exact_mut(c) {
                for (v, s) in pixel.iter_mut().zip(sums.iter_mut()) {
                    *v = f(*v);
                    *s += *v;
                }
            }
        }
    }

    /// `out[p, c] += x[p's input, c] * taps[tap, c]` over every tap that reads a real input
    /// value: one pass over the tile per tap, each a vectorised loop along the channels.
    #[inline(always)]
    fn accumulate(&self, out: &mut [f32]) {
        let w = &self.window;
        let c = out.len() / self.pixels.len();
        let (width, kw) = (w.input[1], w.kernel[1]);
        for ky in w.taps(0, self.oy) {
            let iy = w.input_index(0, self.oy, ky);
            let row = &self.x[iy * width * c..][..width * c];
            for kx in 0..kw {
                let tap = &self.taps[(ky * kw + kx) * c..][..c];
                let valid = w.outputs(1, kx);
                let start = valid.start.max(self.pixels.start);
                let end = valid.end.min(self.pixels.end);
                for ox in start..end.max(start) {
                    let src = &row[w.input_index(1, ox, kx) * c..][..c];
                    let dst = &mut out[(ox - self.pixels.start) * c..][..c];
                    for ((d, &s), &t) in dst.iter_mut().zip(src).zip(tap) {
                        *d += s * t;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::depthwise::tests::values;
    use super::*;

    /// The definition, element by element, NHWC, no activation.
    fn reference(x: &[f32], taps: &[f32], bias: &[f32], g: Window, batch: usize) -> Vec<f32> {
        let c = bias.len();
        let ([h, w], [oh, ow], [kh, kw]) = (g.input, g.output, g.kernel);
        let mut out = vec![0.0; batch * oh * ow * c];
        for n in 0..batch {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ch in 0..c {
                        let mut acc = bias[ch];
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * g.stride[0] + ky) as isize - g.padding[0] as isize;
                                let ix = (ox * g.stride[1] + kx) as isize - g.padding[1] as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                    continue;
                                }
                                let xi = ((n * h + iy as usize) * w + ix as usize) * c + ch;
                                acc += x[xi] * taps[(ky * kw + kx) * c + ch];
                            }
                        }
                        out[((n * oh + oy) * ow + ox) * c + ch] = acc;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_with_sums() {
        // 3x3 s1 p1 with 27 channels (blocks of 16, 8 and 1), 5x5 s2 SAME-style (1, 2) on odd
        // sizes, 3x3 s2 (0, 1), a 5x5 kernel larger than its 2x3 input.
        let cases = [
            ([7, 9], [3, 3], [1, 1], [1, 1], [7, 9], 27),
            ([9, 11], [5, 5], [2, 2], [1, 1], [5, 6], 16),
            ([8, 8], [3, 3], [2, 2], [0, 0], [4, 4], 8),
            ([2, 3], [5, 5], [1, 1], [2, 2], [2, 3], 5),
            // Interiors wide enough for several groups of pixels.
            ([12, 21], [3, 3], [1, 1], [1, 1], [12, 21], 24),
            ([10, 30], [5, 5], [1, 1], [2, 2], [10, 30], 9),
            ([11, 40], [3, 3], [2, 2], [0, 1], [6, 20], 40),
        ];
        for (input, kernel, stride, padding, output, c) in cases {
            let g = Window {
                input,
                output,
                kernel,
                stride,
                padding,
            };
            let batch = 2;
            let x = values(batch * input[0] * input[1] * c, 1);
            let taps = values(kernel[0] * kernel[1] * c, 2);
            let bias = values(c, 3);
            let want = reference(&x, &taps, &bias, g, batch);
            let mut got = vec![f32::NAN; want.len()];
            let sums = depthwise(&x, &taps, &bias, g, None, &mut got);
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!((a - b).abs() < 1e-5, "{g:?} at {i}: {a} vs {b}");
            }
            for n in 0..batch {
                for ch in 0..c {
                    let want: f32 = want[n * output[0] * output[1] * c..]
                        [..output[0] * output[1] * c]
                        .iter()
                        .skip(ch)
                        .step_by(c)
                        .sum();
                    let got = sums[n * c + ch];
                    assert!(
                        (got - want).abs() < 1e-5 * want.abs().max(100.0),
                        "{g:?} sum {got} vs {want}"
                    );
                }
            }
        }
    }
}
