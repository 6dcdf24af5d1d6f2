//! Dense kxk convolutions (the stem, Fused-MBConv) on channels-last activations: each row
//! tile of output pixels gathers its input patches (`[t, KH * KW * C_in]`, tap-major so each
//! tap copies `C_in` contiguous values) and multiplies them by the weight (im2col in tiles,
//! so the patch matrix of the whole image never exists).

use std::ops::Range;

use super::super::window::Window;

/// The patches of output pixels `rows` (flat over `[N, OH, OW]`) as a `[t, KH * KW * C_in]`
/// matrix, zeros where the window reaches into the padding. `x` is `[N, H, W, C_in]`.
pub(super) fn patches(x: &[f32], c_in: usize, window: &Window, rows: Range<usize>) -> Vec<f32> {
    let ([h, w], [oh, ow], [kh, kw]) = (window.input, window.output, window.kernel);
    let k = kh * kw * c_in;
    let mut out = vec![0.0f32; rows.len() * k];
    for (row, patch) in rows.clone().zip(out.chunks_exact_mut(k)) {
        let (n, pixel) = (row / (oh * ow), row % (oh * ow));
        let (oy, ox) = (pixel / ow, pixel % ow);
        let cols = window.taps(1, ox);
        for ky in window.taps(0, oy) {
            let iy = window.input_index(0, oy, ky);
            let first = window.input_index(1, ox, cols.start);
            let src = &x[((n * h + iy) * w + first) * c_in..][..cols.len() * c_in];
            patch[(ky * kw + cols.start) * c_in..][..src.len()].copy_from_slice(src);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_are_tap_major_with_zero_padding() {
        // 2 channels, 3x3 input, 3x3 kernel, stride 2, padding 1: output 2x2.
        let x: Vec<f32> = (0..18).map(|v| v as f32 + 1.0).collect(); // [1, 3, 3, 2]
        let window = Window {
            input: [3, 3],
            output: [2, 2],
            kernel: [3, 3],
            stride: [2, 2],
            padding: [1, 1],
        };
        let values = patches(&x, 2, &window, 0..4);
        // Output (0, 0) reads input rows -1..2 and columns -1..2: taps (1, 1), (1, 2), (2, 1),
        // (2, 2) are pixels (0, 0), (0, 1), (1, 0), (1, 1).
        let first = &values[..18];
        let mut want = vec![0.0; 18];
        want[8..12].copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
        want[14..18].copy_from_slice(&[7.0, 8.0, 9.0, 10.0]);
        assert_eq!(first, want);
        // Output (1, 1) reads rows 1..4 and columns 1..4: taps (0, 0) .. (1, 1) are real.
        let last = &values[54..];
        let mut want = vec![0.0; 18];
        want[..4].copy_from_slice(&[9.0, 10.0, 11.0, 12.0]);
        want[6..10].copy_from_slice(&[15.0, 16.0, 17.0, 18.0]);
        assert_eq!(last, want);
    }
}
