//! 1x1 convolutions on NCHW tensors (the general path: training, unfused inference) and their
//! weight gradient as one matrix product per image through this crate's [`microkernel`](super::microkernel), written
//! into a plain `Vec` (flex's own convolution output is a zeroed buffer that flex copies once
//! more to align it: twice the fresh pages).

use rayon::prelude::*;

use super::buffer::zeroed;
use super::microkernel::{ROWS, matmul, matmul_add};

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
    let mut out = zeroed(n * m * p);
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

/// `sum_i a[i] · b[i]` over the images `i` (a 1x1 convolution's weight gradient,
/// `sum_i grad_i · x_i^T`, with one side transposed by the caller), written into a new `[M, Q]`
/// buffer with no per-image product stored. Row tiles and groups of images are spread over
/// rayon's pool (each group sums into its own buffer, added up at the end), so that narrow
/// layers keep both cores busy too.
///
/// # Shapes
///
/// * `a`: `[N, M, P]`
/// * `b`: `[N, P, Q]`
/// * returns `[M, Q]`
pub(super) fn sum_over_images(a: &[f32], b: &[f32], [n, m, p, q]: [usize; 4]) -> Vec<f32> {
    let tiles = m.div_ceil(TILE_ROWS).max(1);
    let groups = (2 * rayon::current_num_threads())
        .div_ceil(tiles)
        .clamp(1, n.max(1));
    let per_group = n.div_ceil(groups).max(1);
    let mut sums = vec![0.0f32; groups * m * q];
    if m * q == 0 {
        return sums;
    }
    sums.par_chunks_mut(m * q)
        .enumerate()
        .for_each(|(group, sum)| {
            let images = group * per_group..((group + 1) * per_group).min(n);
            sum.par_chunks_mut(TILE_ROWS * q)
                .enumerate()
                .for_each(|(t, dst)| {
                    let rows = dst.len() / q;
                    for i in images.clone() {
                        let a = &a[(i * m + t * TILE_ROWS) * p..][..rows * p];
                        matmul_add(a, &b[i * p * q..][..p * q], p, dst);
                    }
                });
        });
    let (total, rest) = sums.split_at_mut(m * q);
    for other in rest.chunks_exact(m * q) {
        total.iter_mut().zip(other).for_each(|(t, o)| *t += o);
    }
    sums.truncate(m * q);
    sums
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

    #[test]
    fn sums_over_images_match_the_definition() {
        // Few rows (one tile: images split into groups) and many (several tiles), odd sizes.
        for [n, m, p, q] in [[3, 2, 5, 3], [5, 100, 7, 9], [1, 4, 0, 3], [2, 0, 3, 4]] {
            let value = |i: usize, seed: usize| ((i * 7919 + seed) % 23) as f32 / 11.0 - 1.0;
            let a: Vec<f32> = (0..n * m * p).map(|i| value(i, 1)).collect();
            let b: Vec<f32> = (0..n * p * q).map(|i| value(i, 5)).collect();
            let got = sum_over_images(&a, &b, [n, m, p, q]);
            assert_eq!(got.len(), m * q);
            for r in 0..m {
                for c in 0..q {
                    let want: f64 = (0..n)
                        .flat_map(|i| (0..p).map(move |k| (i, k)))
                        .map(|(i, k)| a[(i * m + r) * p + k] as f64 * b[(i * p + k) * q + c] as f64)
                        .sum();
                    let got = got[r * q + c];
                    assert!((got as f64 - want).abs() < 1e-4, "{r},{c}: {got} vs {want}");
                }
            }
        }
    }
}
