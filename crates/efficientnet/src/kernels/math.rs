//! Branch-free `f32` SiLU and its derivative, written so that LLVM vectorises a loop over them
//! (no calls, no branches, no float-to-int casts): the scalar `libm` `exp` behind
//! `activation::sigmoid` costs ~5.5 ns a value on flex, these ~0.5 ns.

/// `1.5 * 2^23`: added to a float of magnitude below `2^22`, it rounds it to an integer `n`
/// that then sits in the low mantissa bits of the sum (see [`round`] and [`pow2`]).
const ROUND: f32 = 12_582_912.0;

/// `v + ROUND` and `n = round(v)`, for `|v| < 2^22`.
#[inline(always)]
fn round(v: f32) -> (f32, f32) {
    let shifted = v + ROUND;
    (shifted, shifted - ROUND)
}

/// `2^n` for the `n` that [`round`] left in `shifted`, built in the exponent bits (`n + 127`
/// into the exponent field), for `n` in `[-126, 127]`.
#[inline(always)]
fn pow2(shifted: f32) -> f32 {
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    f32::from_bits(n_bits.wrapping_add(127) << 23)
}

/// `exp(x)` to within 2 ulp for `x` in `[-87, 88]`; 0 below -87 and `exp(88)` above 88 (never
/// `inf`). NaN stays NaN.
///
/// Cephes' `expf`: `x = n ln2 + r` with `|r| <= ln2 / 2` (Cody–Waite split of ln2), then a
/// degree-5 polynomial for `e^r` and `2^n` built in the exponent bits.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let underflow = x < -87.0;
    let x = x.clamp(-87.0, 88.0);
    let (shifted, n) = round(x * std::f32::consts::LOG2_E);
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let er = p * r * r + r + 1.0;
    if underflow { 0.0 } else { er * pow2(shifted) }
}

/// `sigmoid(x) = 1 / (1 + e^-x)`, and `e^-x`. Below -88 the clamped `e^-x` would leave
/// `sigmoid` at ~6e-39 instead of ~0, and `x * sigmoid(x)` at -2 for `x = f32::MIN`, so it is 0
/// there (a select, which vectorises).
#[inline(always)]
fn sigmoid_and_exp_neg(x: f32) -> (f32, f32) {
    let e = exp(-x);
    let s = 1.0 / (1.0 + e);
    (if x < -88.0 { 0.0 } else { s }, e)
}

/// SiLU (swish), `x * sigmoid(x)`.
#[inline(always)]
pub(crate) fn silu(x: f32) -> f32 {
    x * sigmoid_and_exp_neg(x).0
}

/// SiLU for inference, `x / (1 + 2^t)` with `t = -x log2(e)`: about 40% fewer vector
/// operations than [`silu`] (one rounding of `t` instead of a Cody–Waite split, no
/// underflow selects), within 2e-6 relative for `|x| <= 20`, 1e-5 beyond (the rounding of `t`
/// grows with `|x|`) and 1e-34 absolute below `x = -87`.
///
/// `x` is raised to -88 and `t` clamped to `[-126, 126]`, so `2^t` stays a normal float: for
/// very negative `x` the result is then ~0 (not the exact, subnormal, value), for large `x` it
/// is `x`. `2^t` is `2^n` in the exponent bits times Cephes' `exp2f` polynomial for `2^f`,
/// `|f| <= 1/2`.
#[inline(always)]
pub(crate) fn silu_fast(x: f32) -> f32 {
    // A select, not `f32::max`, so that NaN stays NaN.
    let x = if x < -88.0 { -88.0 } else { x };
    let t = (-x * std::f32::consts::LOG2_E).clamp(-126.0, 126.0);
    let (shifted, n) = round(t);
    let f = t - n;
    let mut p = 1.535_336_2e-4_f32;
    p = p * f + 1.339_887_4e-3;
    p = p * f + 9.618_437e-3;
    p = p * f + 5.550_332_5e-2;
    p = p * f + 2.402_264_8e-1;
    p = p * f + 6.931_472e-1;
    let two_f = p * f + 1.0;
    x / (1.0 + two_f * pow2(shifted))
}

/// `grad * d silu(x) / dx`, with `d silu / dx = s (1 + x (1 - s))`, `s = sigmoid(x)`, and
/// `1 - s = e^-x s` (at most 1, so nothing overflows for very negative `x`).
#[inline(always)]
pub(crate) fn silu_grad(x: f32, grad: f32) -> f32 {
    let (s, e) = sigmoid_and_exp_neg(x);
    grad * s * (1.0 + x * (e * s))
}

/// f64 reference SiLU, for the dtypes the fast path leaves to `libm`.
#[inline]
pub(crate) fn silu_f64(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

/// f64 reference of [`silu_grad`].
#[inline]
pub(crate) fn silu_grad_f64(x: f64, grad: f64) -> f64 {
    let s = 1.0 / (1.0 + (-x).exp());
    grad * s * (1.0 + x * (1.0 - s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 1/64th from -100 to 100, and the edges.
    fn samples() -> impl Iterator<Item = f32> {
        (-6400..=6400).map(|i| i as f32 / 64.0).chain([
            -1e30,
            -88.5,
            -87.0,
            88.0,
            88.5,
            1e30,
            f32::MIN,
            f32::MAX,
        ])
    }

    #[test]
    fn exp_is_within_two_ulp_of_f64_exp() {
        for x in (-87_000..=88_000).map(|i| i as f32 / 1000.0) {
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            let ulp = (want as f32).next_up() as f64 - want as f32 as f64;
            assert!(
                (got - want).abs() <= 2.0 * ulp,
                "exp({x}) = {got}, want {want}"
            );
        }
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-87.5), 0.0);
        assert!(exp(f32::INFINITY).is_finite());
    }

    #[test]
    fn fast_silu_is_within_its_bounds() {
        for x in samples().filter(|x| x.is_finite()) {
            let want = silu_f64(x as f64);
            let got = silu_fast(x) as f64;
            // Past |x| = 20 the rounding of t = -x log2(e) costs more; below x = -87, where
            // 2^t is clamped, the result is ~0 but not the exact (subnormal) value.
            let tol = if x.abs() <= 20.0 {
                2e-6 * want.abs()
            } else {
                1e-5 * want.abs() + 1e-34
            };
            assert!(
                (got - want).abs() <= tol,
                "silu_fast({x}) = {got}, want {want}"
            );
        }
        assert!(silu_fast(f32::NAN).is_nan());
        assert_eq!(silu_fast(f32::INFINITY), f32::INFINITY);
    }

    #[test]
    fn silu_and_its_gradient_match_f64_references() {
        for x in samples() {
            let want = silu_f64(x as f64);
            let got = silu(x) as f64;
            // Relative, down to where SiLU's value is below f32's normal range.
            let tol = 4e-7 * want.abs().max(1e-29);
            assert!((got - want).abs() <= tol, "silu({x}) = {got}, want {want}");
            // Absolute: the derivative (at most 1.1) crosses 0 at x = -1.28.
            let want = silu_grad_f64(x as f64, 1.0);
            let got = silu_grad(x, 1.0) as f64;
            assert!(
                (got - want).abs() <= 5e-7,
                "silu'({x}) = {got}, want {want}"
            );
        }
        assert!(silu(f32::NAN).is_nan());
        assert!(silu_grad(f32::NAN, 1.0).is_nan());
        assert_eq!(silu(f32::INFINITY), f32::INFINITY);
    }
}
