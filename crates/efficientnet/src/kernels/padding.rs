//! The [`ConvOptions`] that Burn's `Conv2d::forward` builds, for the paths that call a
//! convolution op directly (mixed precision, the flex kernel).
//!
//! A copy of Burn's arithmetic, because Burn 0.22.1 keeps it crate-private
//! (`burn_nn::PaddingConfig2d::calculate_padding_2d_pairs` and the `calculate_same_padding`
//! behind it); its public `calculate_conv_padding` is symmetric and cannot express TF "SAME".
//! Keep the two in step: these paths must pad exactly as `Conv2d::forward` does.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::ops::ConvOptions;

/// The [`ConvOptions`] `conv.forward(x)` uses for an input of shape `dims` (`[N, C, H, W]`).
pub(crate) fn conv_options(conv: &Conv2d, [_, _, height, width]: [usize; 4]) -> ConvOptions<2> {
    let [kh, kw] = conv.kernel_size;
    let [sh, sw] = conv.stride;
    let padding = match conv.padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Same => [same_padding(height, kh, sh), same_padding(width, kw, sw)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
    };
    ConvOptions::new_with_padding(conv.stride, padding, conv.dilation, conv.groups)
}

/// "Same" padding of one axis as `(before, after)`: `(ceil(size / stride) - 1) * stride +
/// kernel - size` in total (at least 0), the smaller half first (TF's SAME: the odd pixel goes
/// to the bottom/right).
fn same_padding(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let total = ((size.div_ceil(stride).max(1) - 1) * stride + kernel).saturating_sub(size);
    (total / 2, total - total / 2)
}

#[cfg(test)]
mod tests {
    use super::same_padding;

    #[test]
    fn same_padding_puts_the_odd_pixel_last() {
        // 224 px, 3x3 stride 2: out 112, total (111 * 2 + 3) - 224 = 1.
        assert_eq!(same_padding(224, 3, 2), (0, 1));
        // 225 px: out 113, total 112 * 2 + 3 - 225 = 2.
        assert_eq!(same_padding(225, 3, 2), (1, 1));
        // 5x5 stride 1 keeps the size: 4 in total.
        assert_eq!(same_padding(7, 5, 1), (2, 2));
    }
}
