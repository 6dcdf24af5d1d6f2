//! [`Pitched`]: a convolution's padded input plane split into its stride phases at a common
//! row pitch, so that every kernel tap reads one contiguous run (see the type's doc).

use pulp::Simd;

use super::runs::{copy, zero};
use super::window::Window;

/// The padded input of a strided convolution split into `sy * sx` phases, phase `(ry, rx)`
/// holding padded positions `(sy * a + ry, sx * b + rx)` at `[a, b]`, with a row pitch `P =
/// OW + (KW - 1) / sx` shared with the output rows. Tap `(ky, kx) = (sy * qy + ry, sx * qx +
/// rx)` reads padded input `(sy * (oy + qy) + ry, sx * (ox + qx) + rx)` for output `(oy, ox)`,
/// i.e. phase `(ry, rx)` at `[oy + qy, ox + qx]`: with the output rows laid out at the same
/// pitch, the whole plane a tap touches is one contiguous run at offset `qy * P + qx`, and no
/// run wraps into the next row (`ox + qx < P`). Phases have `A = OH + (KH - 1) / sy` rows;
/// padded positions beyond them are read by no output.
///
/// The input gradient turns this around: phase position `i` receives `tap * grad[i - qy * P -
/// qx]` from each tap of its phase, a gather from the pitched `grad` with zeros before and
/// after it (the zeros between pitched rows keep rows from leaking into each other).
#[derive(Clone, Copy, Debug)]
pub(super) struct Pitched {
    pub window: Window,
    /// `A`.
    pub rows: usize,
    /// `P`.
    pub pitch: usize,
}

impl Pitched {
    pub(super) fn new(window: Window) -> Self {
        let [sy, sx] = window.stride.map(|s| s.max(1));
        let [kh, kw] = window.kernel;
        let [oh, ow] = window.output;
        Self {
            window: Window {
                stride: [sy, sx],
                ..window
            },
            rows: oh + kh.saturating_sub(1) / sy,
            pitch: ow + kw.saturating_sub(1) / sx,
        }
    }

    /// Values in all phases.
    pub(super) fn len(&self) -> usize {
        self.window.stride[0] * self.window.stride[1] * self.rows * self.pitch
    }

    /// Where tap `(ky, kx)`'s run starts in the phases.
    #[inline(always)]
    pub(super) fn tap(&self, ky: usize, kx: usize) -> usize {
        let [sy, sx] = self.window.stride;
        let phase = (ky % sy) * sx + kx % sx;
        (phase * self.rows + ky / sy) * self.pitch + kx / sx
    }

    /// The taps of phase `phase` and, for each, where its `grad` run starts in a pitched
    /// `grad` preceded by `lead` zeros: `lead - (qy * P + qx)`.
    #[inline(always)]
    pub(super) fn phase_taps(
        &self,
        phase: usize,
        lead: usize,
        weights: &[f32],
        offsets: &mut Vec<usize>,
        taps: &mut Vec<f32>,
    ) {
        let sx = self.window.stride[1];
        offsets.clear();
        taps.clear();
        for (t, [qy, qx]) in self.window.phase_taps([phase / sx, phase % sx]) {
            offsets.push(lead - (qy * self.pitch + qx));
            taps.push(weights[t]);
        }
    }

    /// `buffer` = `lead` zeros, the output-sized `values` (`[OH, OW]`) at the pitch (zeros
    /// between rows), zeros up to `len` values in all.
    #[inline(always)]
    pub(super) fn rows_at<S: Simd>(
        &self,
        s: S,
        values: &[f32],
        lead: usize,
        len: usize,
        buffer: &mut Vec<f32>,
    ) {
        let ow = self.window.output[1];
        buffer.resize(len, 0.0);
        zero(s, buffer);
        if ow == 0 {
            return;
        }
        for (row, dst) in values
            .chunks_exact(ow)
            .zip(buffer[lead..].chunks_mut(self.pitch))
        {
            copy(s, &mut dst[..ow], row);
        }
    }

    /// Where padded row `r` and padded column `c` are in the phases, if inside them.
    #[inline(always)]
    fn at(&self, r: usize, c: usize) -> Option<usize> {
        let [sy, sx] = self.window.stride;
        let (a, b) = (r / sy, c / sx);
        if a < self.rows && b < self.pitch {
            Some((((r % sy) * sx + c % sx) * self.rows + a) * self.pitch + b)
        } else {
            None
        }
    }

    /// `plane` (`[H, W]`) split into `phases` (resized to [`len`](Self::len)), zero where
    /// padding.
    #[inline(always)]
    pub(super) fn split<S: Simd>(&self, s: S, plane: &[f32], phases: &mut Vec<f32>) {
        phases.resize(self.len(), 0.0);
        self.split_into(s, plane, phases);
    }

    /// [`split`](Self::split) into `phases` of [`len`](Self::len) values.
    #[inline(always)]
    pub(super) fn split_into<S: Simd>(&self, s: S, plane: &[f32], phases: &mut [f32]) {
        zero(s, phases);
        self.each_run(
            #[inline(always)]
            |y, first, start, count| {
                let row = &plane[y * self.window.input[1]..][first..];
                let dst = &mut phases[start..][..count];
                match self.window.stride[1] {
                    1 => copy(s, dst, &row[..count]),
                    // A constant stride, so that LLVM vectorises the gather with shuffles.
                    2 if count > 0 => {
                        let row = &row[..2 * count - 1];
                        for (i, d) in dst.iter_mut().enumerate() {
                            *d = row[2 * i];
                        }
                    }
                    sx => {
                        for (d, &v) in dst.iter_mut().zip(row.iter().step_by(sx)) {
                            *d = v;
                        }
                    }
                }
            },
        );
    }

    /// `plane` (`[H, W]`) read back from `phases`.
    #[inline(always)]
    pub(super) fn read_into<S: Simd>(&self, s: S, phases: &[f32], plane: &mut [f32]) {
        zero(s, plane);
        self.each_run(
            #[inline(always)]
            |y, first, start, count| {
                let row = &mut plane[y * self.window.input[1]..][first..];
                let src = &phases[start..][..count];
                match self.window.stride[1] {
                    1 => copy(s, &mut row[..count], src),
                    2 if count > 0 => {
                        let row = &mut row[..2 * count - 1];
                        for (i, &v) in src.iter().enumerate() {
                            row[2 * i] = v;
                        }
                    }
                    sx => {
                        for (d, &v) in row.iter_mut().step_by(sx).zip(src) {
                            *d = v;
                        }
                    }
                }
            },
        );
    }

    /// `f(y, first, start, count)` for every run of input row `y` the phases hold: columns
    /// `first, first + sx, ...` (`count` of them) are phase values `start..start + count`.
    #[inline(always)]
    fn each_run(&self, mut f: impl FnMut(usize, usize, usize, usize)) {
        let [h, w] = self.window.input;
        let [py, px] = self.window.padding;
        let sx = self.window.stride[1];
        for y in 0..h {
            for rx in 0..sx {
                // Columns x with (x + px) % sx == rx: x = first, first + sx, ...
                let first = (rx + sx - px % sx) % sx;
                let Some(start) = self.at(y + py, first + px) else {
                    continue;
                };
                let count = w.saturating_sub(first).div_ceil(sx);
                let count = count.min(self.pitch - (first + px) / sx);
                f(y, first, start, count);
            }
        }
    }
}
