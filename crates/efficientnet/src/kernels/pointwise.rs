//! 1x1 convolutions on NCHW tensors (the general path: training, unfused inference) as one
//! matrix product per image through this crate's [`microkernel`](super::microkernel), written
//! into a plain `Vec` (flex's own convolution output is a zeroed buffer that flex copies once
//! more to align it: twice the fresh pages).

use rayon::prelude::*;

use super::microkernel::{ROWS, matmul};

/// Output rows per rayon task at most (a multiple of the kernel's row block).
const TILE_ROWS: usize = 8 * ROWS;

/// `out[i] = a · b[i]` for every image `i`, images and row tiles spread over rayon's pool.
///
/// # Shapes
///
/// * `a`: `[M, K]`, row-major (the weight `[C_out, C_in]`, or its transpose for the input
///   gradient)
/// * `b`: `[N, K, P]` (`P = H * W`)
/// * returns `[N, M, P]`
pub(super) fn per_image(a: &[f32], b: &[f32], [n, m, k, p]: [usize; 4]) -> Vec<f32> {
    let mut out = vec![0.0f32; n * m * p];
    if p == 0 || m == 0 || k == 0 {
        return out;
    }
    out.par_chunks_mut(m * p)
        .zip(b.par_chunks(k * p))
        .for_each(|(out, b)| {
            out.par_chunks_mut(TILE_ROWS * p)
                .enumerate()
                .for_each(|(t, dst)| {
                    let rows = dst.len() / p;
                    matmul(&a[t * TILE_ROWS * k..][..rows * k], b, k, dst);
                });
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_image_gets_its_product() {
        // a [2, 3], b [2 images, 3, 2]
        let a = [1.0, 0.0, 2.0, 0.0, 1.0, -1.0];
        let b = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -1.0, 0.0, 0.0, 1.0, 2.0, 2.0];
        let out = per_image(&a, &b, [2, 2, 3, 2]);
        // image 0: (1 + 2 * 5, 2 + 2 * 6), (3 - 5, 4 - 6); image 1: (-1 + 4, 0 + 4), (0 - 2, 1 - 2)
        assert_eq!(out, [11.0, 14.0, -2.0, -2.0, 3.0, 4.0, -2.0, -1.0]);
    }
}
