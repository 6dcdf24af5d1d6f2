//! Register-blocked loops over contiguous runs of `f32`, written with `pulp`'s portable SIMD
//! types (see [`super::simd`]): the weighted sum of shifted runs that a depthwise convolution
//! and its input gradient are, the dot products of one run with several shifted runs that its
//! weight gradient is, and plain copies. Each keeps its accumulators in registers for all taps
//! and writes its output once (a tap-by-tap loop reads and writes the output once per tap), and
//! none calls `memcpy` or `memset` (whose call overhead dominates on rows of 4 to 64 values).

use pulp::Simd;

/// Vectors per register block of [`tap_sum`].
const BLOCK: usize = 4;

/// `dst[i] = sum_t taps[t] * src[offsets[t] + i]` for every `i` in `dst`.
///
/// # Shapes
///
/// * `offsets`, `taps`: `[T]`, same length
/// * `src`: at least `max(offsets) + dst.len()` values
#[inline(always)]
pub(super) fn tap_sum<S: Simd>(
    s: S,
    dst: &mut [f32],
    src: &[f32],
    offsets: &[usize],
    taps: &[f32],
) {
    let lanes = S::F32_LANES;
    let n = dst.len();
    let mut i = 0;
    while i + BLOCK * lanes <= n {
        let mut acc = [s.splat_f32s(0.0); BLOCK];
        for (&offset, &tap) in offsets.iter().zip(taps) {
            let tap = s.splat_f32s(tap);
            let (run, _) = S::as_simd_f32s(&src[offset + i..][..BLOCK * lanes]);
            for b in 0..BLOCK {
                acc[b] = s.mul_add_f32s(tap, run[b], acc[b]);
            }
        }
        let (out, _) = S::as_mut_simd_f32s(&mut dst[i..][..BLOCK * lanes]);
        out[..BLOCK].copy_from_slice(&acc);
        i += BLOCK * lanes;
    }
    while i < n {
        let width = (n - i).min(lanes);
        let mut acc = s.splat_f32s(0.0);
        for (&offset, &tap) in offsets.iter().zip(taps) {
            let run = s.partial_load_f32s(&src[offset + i..][..width]);
            acc = s.mul_add_f32s(s.splat_f32s(tap), run, acc);
        }
        s.partial_store_f32s(&mut dst[i..][..width], acc);
        i += width;
    }
}

/// `out[t] += sum_i a[i] * src[offsets[t] + i]` over every `i` in `a`, `G` taps per pass over
/// `a` (`G` accumulators of two vectors each); the taps left over after the last full group
/// take one pass each.
///
/// # Shapes
///
/// * `offsets`, `out`: `[T]`, same length
/// * `src`: at least `max(offsets) + a.len()` values
#[inline(always)]
fn tap_dots<S: Simd, const G: usize>(
    s: S,
    a: &[f32],
    src: &[f32],
    offsets: &[usize],
    out: &mut [f32],
) {
    let mut groups = offsets.chunks_exact(G).zip(out.chunks_exact_mut(G));
    for (offsets, out) in &mut groups {
        group_dots::<S, G>(s, a, src, offsets, out);
    }
    let rest = offsets.len() % G;
    let first = offsets.len() - rest;
    for t in first..offsets.len() {
        group_dots::<S, 1>(s, a, src, &offsets[t..][..1], &mut out[t..][..1]);
    }
}

/// [`tap_dots`] one row of a kernel `kw` wide per pass (`offsets` row-major over the kernel):
/// 3 and 5 unrolled, any other width one tap per pass.
#[inline(always)]
pub(super) fn kernel_row_dots<S: Simd>(
    s: S,
    kw: usize,
    a: &[f32],
    src: &[f32],
    offsets: &[usize],
    out: &mut [f32],
) {
    match kw {
        3 => tap_dots::<S, 3>(s, a, src, offsets, out),
        5 => tap_dots::<S, 5>(s, a, src, offsets, out),
        _ => tap_dots::<S, 1>(s, a, src, offsets, out),
    }
}

/// [`tap_dots`] for exactly `G` taps in one pass.
#[inline(always)]
fn group_dots<S: Simd, const G: usize>(
    s: S,
    a: &[f32],
    src: &[f32],
    offsets: &[usize],
    out: &mut [f32],
) {
    let lanes = S::F32_LANES;
    let n = a.len();
    let mut acc = [[s.splat_f32s(0.0); 2]; G];
    let mut i = 0;
    while i + 2 * lanes <= n {
        let (av, _) = S::as_simd_f32s(&a[i..][..2 * lanes]);
        for g in 0..G {
            let (run, _) = S::as_simd_f32s(&src[offsets[g] + i..][..2 * lanes]);
            acc[g][0] = s.mul_add_f32s(av[0], run[0], acc[g][0]);
            acc[g][1] = s.mul_add_f32s(av[1], run[1], acc[g][1]);
        }
        i += 2 * lanes;
    }
    while i < n {
        let width = (n - i).min(lanes);
        let av = s.partial_load_f32s(&a[i..][..width]);
        for g in 0..G {
            let run = s.partial_load_f32s(&src[offsets[g] + i..][..width]);
            acc[g][0] = s.mul_add_f32s(av, run, acc[g][0]);
        }
        i += width;
    }
    for g in 0..G {
        out[g] += s.reduce_sum_f32s(s.add_f32s(acc[g][0], acc[g][1]));
    }
}

/// `dst = src` (same length): whole vectors, then one partial one (pulp's partial loads and
/// stores are calls, not instructions).
#[inline(always)]
pub(super) fn copy<S: Simd>(s: S, dst: &mut [f32], src: &[f32]) {
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    let (whole, tail) = S::as_mut_simd_f32s(dst);
    let (from, from_tail) = S::as_simd_f32s(src);
    whole.copy_from_slice(from);
    if !tail.is_empty() {
        let v = s.partial_load_f32s(from_tail);
        s.partial_store_f32s(tail, v);
    }
}

/// `dst = 0`: whole vectors, then the rest one by one.
#[inline(always)]
pub(super) fn zero<S: Simd>(s: S, dst: &mut [f32]) {
    let (whole, tail) = S::as_mut_simd_f32s(dst);
    let zeros = s.splat_f32s(0.0);
    for v in whole {
        *v = zeros;
    }
    for v in tail {
        *v = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use pulp::WithSimd;

    use super::*;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// Checks every helper against its definition at the width of `S`.
    struct Check;

    impl WithSimd for Check {
        type Output = ();

        fn with_simd<S: Simd>(self, s: S) {
            // Lengths below, at and past one block, with a partial tail.
            for n in [0, 1, 5, 16, 17, 63, 64, 65, 200] {
                let src = values(n + 40, 1);
                let offsets = [0, 3, 7, 11, 40];
                let taps = [0.5, -1.0, 2.0, 0.25, 1.5];
                let mut dst = vec![f32::NAN; n];
                tap_sum(s, &mut dst, &src, &offsets, &taps);
                for (i, &d) in dst.iter().enumerate() {
                    let want: f32 = offsets
                        .iter()
                        .zip(&taps)
                        .map(|(&o, &t)| t * src[o + i])
                        .sum();
                    assert!(
                        (d - want).abs() < 1e-4,
                        "tap_sum n {n} i {i}: {d} vs {want}"
                    );
                }
                let a = values(n, 2);
                let mut out = [1.0; 5];
                tap_dots::<S, 3>(s, &a, &src, &offsets, &mut out);
                for (t, &o) in out.iter().enumerate() {
                    let want: f32 = 1.0
                        + a.iter()
                            .enumerate()
                            .map(|(i, &v)| v * src[offsets[t] + i])
                            .sum::<f32>();
                    assert!(
                        (o - want).abs() < 1e-3,
                        "tap_dots n {n} t {t}: {o} vs {want}"
                    );
                }
                let mut copied = vec![f32::NAN; n];
                copy(s, &mut copied, &a);
                assert_eq!(copied, a);
                zero(s, &mut copied);
                assert!(copied.iter().all(|&v| v == 0.0));
            }
        }
    }

    #[test]
    fn runs_match_their_definitions_at_every_width() {
        Check.with_simd(pulp::Scalar);
        pulp::Arch::new().dispatch(Check);
    }
}
