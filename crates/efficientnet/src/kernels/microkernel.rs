//! The matrix product of this crate's flex kernels (the fast path's 1x1 and dense
//! convolutions, the general path's 1x1 convolutions), `dst = a · w` on row-major matrices, written with `pulp`'s portable SIMD types so that it runs at the CPU's
//! vector width (16 lanes with AVX-512, 8 with AVX2, 4 with NEON, 1 without), picked at run
//! time.
//!
//! The classic register-blocked scheme (Goto and van de Geijn, "Anatomy of high-performance
//! matrix multiplication", 2008): a block of [`ROWS`] rows by two vectors of columns is held
//! in registers (12 accumulators) while `k` runs through the whole inner dimension; each step
//! loads two vectors of `w`'s row `k` and broadcasts one value of each row of `a`. `w` is read
//! in place: a convolution weight stored tap-major (`[K, C_out]`, as a model fused on flex
//! keeps it) already has its columns contiguous, so nothing is packed, and the product goes
//! straight into the caller's buffer (no allocation per call).

use pulp::{Simd, WithSimd};

use super::simd;

/// Rows of `a` per register block.
pub(super) const ROWS: usize = 6;

/// `dst[r, j] = sum_k a[r, k] * w[k, j]`.
///
/// # Shapes
///
/// * `a`: `[R, K]`, row-major
/// * `w`: `[K, N]`, row-major
/// * `dst`: `[R, N]`, row-major; every value is overwritten
pub(super) fn matmul(a: &[f32], w: &[f32], k: usize, dst: &mut [f32]) {
    product(a, w, k, dst, false);
}

/// `dst[r, j] += sum_k a[r, k] * w[k, j]`: [`matmul`] added to what `dst` holds.
///
/// # Shapes
///
/// As [`matmul`].
pub(super) fn matmul_add(a: &[f32], w: &[f32], k: usize, dst: &mut [f32]) {
    product(a, w, k, dst, true);
}

/// [`matmul`], or with `add` [`matmul_add`].
fn product(a: &[f32], w: &[f32], k: usize, dst: &mut [f32], add: bool) {
    let n = w.len() / k.max(1);
    if k == 0 || n == 0 {
        // An empty product: zeros, or nothing to add.
        if !add {
            dst.fill(0.0);
        }
        return;
    }
    debug_assert_eq!(a.len() / k, dst.len() / n);
    simd::dispatch_simd(Matmul {
        a,
        w,
        k,
        n,
        dst,
        add,
    });
}

struct Matmul<'a> {
    a: &'a [f32],
    w: &'a [f32],
    k: usize,
    n: usize,
    dst: &'a mut [f32],
    /// Whether the product is added to `dst` (else it overwrites it).
    add: bool,
}

impl WithSimd for Matmul<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let Matmul {
            a,
            w,
            k,
            n,
            dst,
            add,
        } = self;
        let lanes = S::F32_LANES;
        let rows = a.len() / k;
        let mut j = 0;
        // Column panels of two vectors, each across all rows; the last panel holds what is
        // left (one vector and a partial one, one vector, or a partial one), so that narrow
        // outputs (24 or 40 channels) still take one pass over `a`.
        while j + 2 * lanes <= n {
            panel::<S, 2, true>(s, a, w, k, n, j, 2 * lanes, dst, rows, add);
            j += 2 * lanes;
        }
        let rest = n - j;
        if rest > lanes {
            panel::<S, 2, false>(s, a, w, k, n, j, rest, dst, rows, add);
        } else if rest == lanes {
            panel::<S, 1, true>(s, a, w, k, n, j, rest, dst, rows, add);
        } else if rest > 0 {
            panel::<S, 1, false>(s, a, w, k, n, j, rest, dst, rows, add);
        }
    }
}

/// Columns `j..j + width` (`V` full vectors, or with `FULL` false `width < V * lanes` values,
/// the last vector partial) of every row, [`ROWS`] rows at a time, then the remaining rows.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn panel<S: Simd, const V: usize, const FULL: bool>(
    s: S,
    a: &[f32],
    w: &[f32],
    k: usize,
    n: usize,
    j: usize,
    width: usize,
    dst: &mut [f32],
    rows: usize,
    add: bool,
) {
    let cols = Cols {
        j,
        width,
        n,
        k,
        add,
    };
    let mut r = 0;
    while r + ROWS <= rows {
        block::<S, V, ROWS, FULL>(s, a, w, cols, r, dst);
        r += ROWS;
    }
    match rows - r {
        0 => {}
        1 => block::<S, V, 1, FULL>(s, a, w, cols, r, dst),
        2 => block::<S, V, 2, FULL>(s, a, w, cols, r, dst),
        3 => block::<S, V, 3, FULL>(s, a, w, cols, r, dst),
        4 => block::<S, V, 4, FULL>(s, a, w, cols, r, dst),
        _ => block::<S, V, 5, FULL>(s, a, w, cols, r, dst),
    }
}

/// Where a panel's columns are: `j..j + width` of `n`, over an inner dimension `k`; whether
/// the products are added to `dst`.
#[derive(Clone, Copy)]
struct Cols {
    j: usize,
    width: usize,
    n: usize,
    k: usize,
    add: bool,
}

/// Rows `r..r + M`, columns `cols`: `M x V` vector accumulators in registers over all of `k`.
///
/// Plain loops with constant bounds only (no `std::array::from_fn`, no closures), so that
/// LLVM unrolls them and keeps the accumulators in registers.
#[inline(always)]
fn block<S: Simd, const V: usize, const M: usize, const FULL: bool>(
    s: S,
    a: &[f32],
    w: &[f32],
    cols: Cols,
    r: usize,
    dst: &mut [f32],
) {
    let Cols {
        j,
        width,
        n,
        k,
        add,
    } = cols;
    let lanes = S::F32_LANES;
    let mut acc = [[s.splat_f32s(0.0); V]; M];
    if add {
        for (m, acc) in acc.iter_mut().enumerate() {
            let out = &dst[(r + m) * n + j..][..width];
            if FULL {
                let (vectors, _) = S::as_simd_f32s(out);
                acc.copy_from_slice(&vectors[..V]);
            } else {
                for (v, acc) in acc.iter_mut().enumerate() {
                    *acc = s.partial_load_f32s(&out[(v * lanes).min(width)..]);
                }
            }
        }
    }
    let mut a_rows = [&a[..0]; M];
    for (m, row) in a_rows.iter_mut().enumerate() {
        *row = &a[(r + m) * k..][..k];
    }
    for kk in 0..k {
        let w_row = &w[kk * n + j..][..width];
        let mut wv = [s.splat_f32s(0.0); V];
        if FULL {
            let (vectors, _) = S::as_simd_f32s(w_row);
            wv.copy_from_slice(&vectors[..V]);
        } else {
            for (v, wv) in wv.iter_mut().enumerate() {
                *wv = s.partial_load_f32s(&w_row[(v * lanes).min(width)..]);
            }
        }
        for m in 0..M {
            let x = s.splat_f32s(a_rows[m][kk]);
            for v in 0..V {
                acc[m][v] = s.mul_add_f32s(x, wv[v], acc[m][v]);
            }
        }
    }
    for (m, acc) in acc.iter().enumerate() {
        let out = &mut dst[(r + m) * n + j..][..width];
        if FULL {
            let (vectors, _) = S::as_mut_simd_f32s(out);
            vectors[..V].copy_from_slice(acc);
        } else {
            for (v, &value) in acc.iter().enumerate() {
                s.partial_store_f32s(&mut out[(v * lanes).min(width)..], value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, in f64.
    fn reference(a: &[f32], w: &[f32], k: usize) -> Vec<f32> {
        let n = w.len() / k;
        a.chunks_exact(k)
            .flat_map(|row| {
                (0..n).map(move |j| {
                    let dot: f64 = (0..k).map(|i| row[i] as f64 * w[i * n + j] as f64).sum();
                    dot as f32
                })
            })
            .collect()
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 1000.0 - 1.0)
            .collect()
    }

    #[test]
    fn products_match_the_definition_at_every_edge() {
        // Rows below, at and past a register block; columns below a vector, between one and
        // two, exact multiples and odd remainders for 1, 4, 8 and 16 lanes.
        for (rows, k, n) in [
            (1, 1, 1),
            (5, 3, 7),
            (6, 16, 32),
            (7, 24, 40),
            (13, 96, 24),
            (49, 192, 1152),
            (50, 17, 33),
            (12, 320, 1280),
        ] {
            let (a, w) = (values(rows * k, 7), values(k * n, 11));
            let want = reference(&a, &w, k);
            // The dispatched kernel, then each instruction set this CPU has (16, 8, 1 lanes).
            let mut runs: Vec<(&str, Vec<f32>)> = Vec::new();
            let mut run = |name, f: &dyn Fn(Matmul<'_>)| {
                let mut dst = vec![f32::NAN; rows * n];
                f(Matmul {
                    a: &a,
                    w: &w,
                    k,
                    n,
                    dst: &mut dst,
                    add: false,
                });
                runs.push((name, dst));
            };
            run("dispatched", &|m| matmul(m.a, m.w, m.k, m.dst));
            run("scalar", &|m| m.with_simd(pulp::Scalar));
            #[cfg(target_arch = "x86_64")]
            {
                if let Some(v3) = pulp::x86::V3::try_new() {
                    run("avx2", &|m| m.with_simd(v3));
                }
                if let Some(v4) = pulp::x86::V4::try_new() {
                    run("avx512", &|m| m.with_simd(v4));
                }
            }
            for (name, dst) in runs {
                for (i, (got, want)) in dst.iter().zip(&want).enumerate() {
                    let tol = 1e-5 * (k as f32).sqrt();
                    assert!(
                        (got - want).abs() <= tol,
                        "{name}: [{rows}x{k}]·[{k}x{n}] at {i}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_empty_inner_dimension_gives_zeros() {
        let mut dst = vec![1.0; 6];
        matmul(&[], &[], 0, &mut dst);
        assert_eq!(dst, [0.0; 6]);
        // Added, an empty product leaves `dst` as it was.
        let mut dst = vec![1.0; 6];
        matmul_add(&[], &[], 0, &mut dst);
        assert_eq!(dst, [1.0; 6]);
    }

    #[test]
    fn matmul_add_adds_the_product_to_what_dst_holds() {
        for (rows, k, n) in [(1, 1, 1), (7, 24, 40), (13, 16, 1152), (50, 17, 33)] {
            let (a, w) = (values(rows * k, 3), values(k * n, 5));
            let before = values(rows * n, 9);
            let mut dst = before.clone();
            matmul_add(&a, &w, k, &mut dst);
            let product = reference(&a, &w, k);
            for (i, ((got, b), p)) in dst.iter().zip(&before).zip(&product).enumerate() {
                let tol = 1e-5 * (k as f32).sqrt();
                assert!(
                    (got - (b + p)).abs() <= tol,
                    "[{rows}x{k}x{n}] at {i}: {got}"
                );
            }
        }
    }
}
