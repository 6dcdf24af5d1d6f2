//! 1x1 convolutions on channels-last activations as matrix products, in row tiles: each tile
//! `[t, K] x [K, C_out]` runs through flex's matrix product (the `gemm` crate, at the CPU's
//! SIMD width) and its `[t, C_out]` result goes through the caller's epilogue (bias,
//! activation, residual, pooling) while it is still in cache. Tiles are rayon tasks, so both
//! cores work at batch 1; a tile large enough is split further by `gemm` itself.

use std::ops::Range;

use burn::backend::flex::FlexTensor;
use burn::backend::flex::ops::matmul::matmul;
use rayon::prelude::*;

use super::super::flex::values;

/// Rows per tile at most: a `[256, C_out]` result stays in L2 for the epilogue.
const MAX_TILE_ROWS: usize = 256;

/// Rows per tile for `rows` rows: as even as possible, at most [`MAX_TILE_ROWS`].
fn tile_rows(rows: usize) -> usize {
    rows.div_ceil(rows.div_ceil(MAX_TILE_ROWS).max(1)).max(1)
}

/// The matrix of a 1x1 convolution weight `[C_out, K]` (or `[C_out, K, 1, 1]`) as the right
/// operand `[K, C_out]`: a transposed view, no copy.
pub(super) fn right_operand(weight: &FlexTensor) -> FlexTensor {
    let shape = weight.layout().shape();
    let matrix = weight.reshape([shape[0], shape[1]].into()); // [C_out, K]
    matrix.transpose(0, 1)
}

/// `lhs(rows) · w` for every row tile, then `epilogue(rows, product, dst_rows)`: the tiles of
/// `rows` rows cover `[R, K]`, `w` is `[K, C_out]`, `dst` at least `[R, C_out]`; `product` is
/// the tile's `[t, C_out]` and `dst_rows` the tile's rows of `dst`. `lhs` returns the tile's
/// `[t, K]` rows (a view of the input for a 1x1 convolution, patches for a dense one).
pub(super) fn product_into(
    rows: usize,
    lhs: impl Fn(Range<usize>) -> FlexTensor + Sync,
    w: &FlexTensor,
    dst: &mut [f32],
    epilogue: impl Fn(Range<usize>, &[f32], &mut [f32]) + Sync,
) {
    let cols = w.layout().shape()[1];
    let tile = tile_rows(rows);
    dst[..rows * cols]
        .par_chunks_mut(tile * cols)
        .enumerate()
        .for_each(|(i, dst)| {
            let range = i * tile..i * tile + dst.len() / cols;
            let product = matmul(lhs(range.clone()), w.clone());
            epilogue(range, values(&product), dst);
        });
}

/// `lhs(rows) · w` for every row tile, mapped by `f(rows, product)`: as [`product_into`]
/// without a destination (the head, whose output is only pooled). Results in row order.
pub(super) fn product_map<R: Send>(
    rows: usize,
    lhs: impl Fn(Range<usize>) -> FlexTensor + Sync,
    w: &FlexTensor,
    f: impl Fn(Range<usize>, &[f32]) -> R + Sync,
) -> Vec<R> {
    let tile = tile_rows(rows);
    (0..rows.div_ceil(tile))
        .into_par_iter()
        .map(|i| {
            let range = i * tile..((i + 1) * tile).min(rows);
            let product = matmul(lhs(range.clone()), w.clone());
            f(range, values(&product))
        })
        .collect()
}

/// Rows `range` of the matrix `x` (`[R, K]`), as a view.
pub(super) fn rows_of(x: &FlexTensor, range: Range<usize>) -> FlexTensor {
    x.narrow(0, range.start, range.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_even_and_bounded() {
        assert_eq!(tile_rows(1), 1);
        assert_eq!(tile_rows(49), 49);
        assert_eq!(tile_rows(256), 256);
        assert_eq!(tile_rows(257), 129);
        assert_eq!(tile_rows(12_544), 256);
        assert_eq!(tile_rows(0), 1);
    }
}
