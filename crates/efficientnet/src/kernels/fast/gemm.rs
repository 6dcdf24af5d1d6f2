//! 1x1 convolutions on channels-last activations as matrix products, in row tiles: each tile
//! `[t, K] x [K, C_out]` is multiplied by this crate's register-blocked kernel
//! ([`microkernel`](super::super::microkernel)) straight into the output, then goes through the
//! caller's epilogue (bias, activation, residual, pooling) while it is still in cache. Tiles
//! are rayon tasks, at least a few per core, so both cores work at batch 1 too.
//!
//! The weight is a contiguous `[K, C_out]` matrix (tap-major, as a model fused on flex stores
//! it), read in place: nothing is packed or allocated per tile. (Through flex's `matmul`, the
//! `gemm` crate repacked the `[C_out, K]` weight for every tile, 13% of a B0 forward pass in
//! `perf`, and each tile's product was a fresh allocation, another 8% in page faults.)

use std::ops::Range;

use rayon::prelude::*;

use super::super::microkernel::{ROWS as BLOCK, matmul};

/// Rows per tile at most: a `[256, C_out]` result stays in L2 for the epilogue.
const MAX_TILE_ROWS: usize = 256;

/// Values of the left operand per tile at most (512 KiB), so that a tile stays in L2 while
/// the kernel passes over it once per column panel.
const MAX_TILE_VALUES: usize = 1 << 17;

/// Tiles wanted per thread, so that the threads' shares even out.
const TILES_PER_THREAD: usize = 4;

/// Rows per tile for `rows` rows of `k` values: a multiple of the kernel's row block, small
/// enough for L2 and for every thread to get a few tiles, as even as possible.
fn tile_rows(rows: usize, k: usize) -> usize {
    let most = (MAX_TILE_VALUES / k.max(1)).clamp(BLOCK, MAX_TILE_ROWS) / BLOCK * BLOCK;
    let tiles = rows
        .div_ceil(most)
        .max(TILES_PER_THREAD * rayon::current_num_threads())
        .max(1);
    rows.div_ceil(tiles)
        .next_multiple_of(BLOCK)
        .min(rows)
        .max(1)
}

/// `dst_rows = lhs(rows) · w`, then `epilogue(rows, dst_rows)`, for every row tile: the tiles
/// of `rows` rows cover `[R, K]`, `w` is `[K, C_out]` (row-major), `dst` at least
/// `[R, C_out]`. `lhs` returns the tile's `[t, K]` rows (a slice of the input for a 1x1
/// convolution, gathered patches for a dense one).
pub(super) fn product_into<L: AsRef<[f32]>>(
    rows: usize,
    lhs: impl Fn(Range<usize>) -> L + Sync,
    w: &[f32],
    k: usize,
    dst: &mut [f32],
    epilogue: impl Fn(Range<usize>, &mut [f32]) + Sync,
) {
    let cols = w.len() / k.max(1);
    let tile = tile_rows(rows, k);
    dst[..rows * cols]
        .par_chunks_mut(tile * cols)
        .enumerate()
        .for_each(|(i, dst)| {
            let range = i * tile..i * tile + dst.len() / cols;
            matmul(lhs(range.clone()).as_ref(), w, k, dst);
            epilogue(range, dst);
        });
}

/// `lhs(rows) · w` for every row tile, mapped by `f(rows, product)`: as [`product_into`]
/// without a destination (the head, whose output is only pooled); each tile's product goes
/// into a scratch buffer of its task. Results in row order.
pub(super) fn product_map<L: AsRef<[f32]>, R: Send>(
    rows: usize,
    lhs: impl Fn(Range<usize>) -> L + Sync,
    w: &[f32],
    k: usize,
    f: impl Fn(Range<usize>, &[f32]) -> R + Sync,
) -> Vec<R> {
    let cols = w.len() / k.max(1);
    let tile = tile_rows(rows, k);
    (0..rows.div_ceil(tile))
        .into_par_iter()
        .map(|i| {
            let range = i * tile..((i + 1) * tile).min(rows);
            let mut product = vec![0.0f32; range.len() * cols];
            matmul(lhs(range.clone()).as_ref(), w, k, &mut product);
            f(range, &product)
        })
        .collect()
}

/// Rows `range` of the row-major matrix `x` with `k` columns.
pub(super) fn rows_of(x: &[f32], k: usize, range: Range<usize>) -> &[f32] {
    &x[range.start * k..range.end * k]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_whole_blocks_bounded_and_shared() {
        let threads = rayon::current_num_threads();
        for (rows, k) in [
            (1, 16),
            (49, 192),
            (196, 672),
            (12_544, 16),
            (12_544, 1152),
            (0, 8),
        ] {
            let tile = tile_rows(rows, k);
            assert!(tile >= 1 && tile <= rows.max(1), "{rows}x{k}: {tile}");
            assert!(
                tile.is_multiple_of(BLOCK) || tile == rows.max(1),
                "{rows}x{k}: {tile}"
            );
            assert!(tile <= MAX_TILE_ROWS && (tile <= BLOCK || tile * k <= MAX_TILE_VALUES));
            // (Rounding tiles up to whole blocks leaves fewer tiles for few rows.)
            if rows >= 36 * TILES_PER_THREAD * threads {
                assert!(
                    rows.div_ceil(tile) >= TILES_PER_THREAD * threads,
                    "{rows}x{k}"
                );
            }
        }
    }
}
