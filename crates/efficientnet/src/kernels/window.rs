//! [`Window`]: where a convolution's kernel reads its input, per axis (height, width).

use std::ops::Range;

use burn::nn::conv::Conv2d;

use super::padding::conv_options;

/// The sliding window of a 2-d convolution over one `[H, W]` input: kernel, stride, leading
/// padding (the trailing side follows from the output size, so TF's asymmetric SAME padding
/// works too), input and output sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Input height and width.
    pub input: [usize; 2],
    /// Output height and width.
    pub output: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Leading (top, left) padding.
    pub padding: [usize; 2],
}

impl Window {
    /// The window of `conv` on an `[H, W]` input, padded as `Conv2d::forward` pads it; `None`
    /// for a dilated convolution (none in EfficientNet).
    pub fn of(conv: &Conv2d, [height, width]: [usize; 2]) -> Option<Self> {
        if conv.dilation != [1, 1] {
            return None;
        }
        let options = conv_options(conv, [1, 1, height, width]);
        let input = [height, width];
        let mut output = [0; 2];
        for axis in 0..2 {
            let (before, after) = options.padding[axis];
            let padded = input[axis] + before + after;
            output[axis] = padded.checked_sub(conv.kernel_size[axis])? / conv.stride[axis] + 1;
        }
        Some(Self {
            input,
            output,
            kernel: conv.kernel_size,
            stride: conv.stride,
            padding: options.padding_begin(),
        })
    }

    /// The kernel taps along `axis` that read a real (not padded) input value at output
    /// position `o`: `0 <= o * stride + k - padding < input`.
    #[inline(always)]
    pub fn taps(&self, axis: usize, o: usize) -> Range<usize> {
        let origin = o * self.stride[axis];
        let start = self.padding[axis].saturating_sub(origin);
        let end = (self.input[axis] + self.padding[axis])
            .saturating_sub(origin)
            .min(self.kernel[axis]);
        start..end.max(start)
    }

    /// The output positions along `axis` for which tap `k` reads a real input value (the
    /// inverse of [`taps`](Self::taps)).
    #[inline(always)]
    pub fn outputs(&self, axis: usize, k: usize) -> Range<usize> {
        let (stride, pad) = (self.stride[axis], self.padding[axis]);
        let start = pad.saturating_sub(k).div_ceil(stride);
        let end = if self.input[axis] + pad > k {
            ((self.input[axis] + pad - k - 1) / stride + 1).min(self.output[axis])
        } else {
            0
        };
        start..end.max(start)
    }

    /// The output positions along `axis` whose whole kernel reads real input (no padding).
    pub fn interior(&self, axis: usize) -> Range<usize> {
        let (stride, pad, kernel) = (self.stride[axis], self.padding[axis], self.kernel[axis]);
        let start = pad.div_ceil(stride);
        // o * stride - pad + kernel <= input
        let end = match (self.input[axis] + pad).checked_sub(kernel) {
            Some(room) => (room / stride + 1).min(self.output[axis]),
            None => 0,
        };
        start..end.max(start)
    }

    /// The taps of stride phase `[ry, rx]` (`ky % sy == ry`, `kx % sx == rx`), row-major: each
    /// tap's index `ky * KW + kx` and its whole strides `[ky / sy, kx / sx]`. An output reads
    /// the input of one phase through all of that phase's taps, at a shift of those strides.
    pub fn phase_taps(&self, [ry, rx]: [usize; 2]) -> impl Iterator<Item = (usize, [usize; 2])> {
        let [sy, sx] = self.stride.map(|s| s.max(1));
        let [kh, kw] = self.kernel;
        (ry..kh).step_by(sy).flat_map(move |ky| {
            (rx..kw)
                .step_by(sx)
                .map(move |kx| (ky * kw + kx, [ky / sy, kx / sx]))
        })
    }

    /// The input position read by output position `o` through tap `k` (a tap of
    /// [`taps`](Self::taps)).
    #[inline(always)]
    pub fn input_index(&self, axis: usize, o: usize, k: usize) -> usize {
        o * self.stride[axis] + k - self.padding[axis]
    }
}
