//! What follows a convolution's matrix product, applied to each `[rows, C]` tile while it is in
//! cache: bias and activation (expansion, stem, Fused-MBConv, head), bias and residual
//! (projection), per-channel sums (the head's global average pool). Each loop runs in
//! [`simd::dispatch`](super::super::simd::dispatch), vectorised along the channels.

use crate::config::Activation;

use super::super::{math, simd};

/// Calls `run` with the activation as a closure, so that each activation gets its own
/// vectorised copy of the loop (a branch inside the loop would stop LLVM vectorising it).
/// Closures marked `#[inline(always)]`, not function items: a function item is called through
/// an `Fn::call` shim that the inliner has left out of line.
#[inline(always)]
#[allow(clippy::redundant_closure)] // the closures are the point (see above)
pub(super) fn with_activation<R>(act: Option<Activation>, run: impl ActivationLoop<R>) -> R {
    match act {
        None => run.run(
            #[inline(always)]
            |v| v,
        ),
        Some(Activation::Silu) => run.run(
            #[inline(always)]
            |v| math::silu_fast(v),
        ),
        Some(Activation::Relu6) => run.run(
            #[inline(always)]
            |v| relu6(v),
        ),
    }
}

/// A loop generic over its activation (see [`with_activation`]).
pub(super) trait ActivationLoop<R> {
    /// Runs the loop with activation `f`.
    fn run<F: Fn(f32) -> f32 + Copy>(self, f: F) -> R;
}

/// `min(max(x, 0), 6)`.
#[inline(always)]
pub(super) fn relu6(x: f32) -> f32 {
    x.clamp(0.0, 6.0)
}

/// `x[r, c] = act(x[r, c] + bias[c])`. Shapes: `x` `[rows, C]`, `bias` `[C]`.
pub(super) fn bias_act(x: &mut [f32], bias: &[f32], act: Option<Activation>) {
    struct Loop<'a>(&'a mut [f32], &'a [f32]);
    impl ActivationLoop<()> for Loop<'_> {
        #[inline(always)]
        fn run<F: Fn(f32) -> f32 + Copy>(self, f: F) {
            let Loop(x, bias) = self;
            simd::dispatch(
                #[inline(always)]
                || {
                    for row in x.chunks_exact_mut(bias.len()) {
                        for (v, &b) in row.iter_mut().zip(bias) {
                            *v = f(*v + b);
                        }
                    }
                },
            )
        }
    }
    with_activation(act, Loop(x, bias));
}

/// `x[r, c] += bias[c] + residual[r, c]` (`residual` `None`: without it). Shapes: `x`,
/// `residual` `[rows, C]`, `bias` `[C]`.
pub(super) fn bias_residual(x: &mut [f32], bias: &[f32], residual: Option<&[f32]>) {
    let c = bias.len();
    simd::dispatch(
        #[inline(always)]
        || match residual {
            Some(residual) => {
                for (row, r) in x.chunks_exact_mut(c).zip(residual.chunks_exact(c)) {
                    for ((v, &b), &r) in row.iter_mut().zip(bias).zip(r) {
                        *v += b + r;
                    }
                }
            }
            None => {
                for row in x.chunks_exact_mut(c) {
                    for (v, &b) in row.iter_mut().zip(bias) {
                        *v += b;
                    }
                }
            }
        },
    )
}

/// `sums[c] += act(product[r, c] + bias[c])` over the rows of `product` (`[rows, C]`).
pub(super) fn bias_act_sums(
    product: &[f32],
    bias: &[f32],
    act: Option<Activation>,
    sums: &mut [f32],
) {
    struct Loop<'a>(&'a [f32], &'a [f32], &'a mut [f32]);
    impl ActivationLoop<()> for Loop<'_> {
        #[inline(always)]
        fn run<F: Fn(f32) -> f32 + Copy>(self, f: F) {
            let Loop(product, bias, sums) = self;
            simd::dispatch(
                #[inline(always)]
                || {
                    for p in product.chunks_exact(bias.len()) {
                        for ((s, &p), &b) in sums.iter_mut().zip(p).zip(bias) {
                            *s += f(p + b);
                        }
                    }
                },
            )
        }
    }
    with_activation(act, Loop(product, bias, sums));
}

/// `x[r, c] *= scale[c]` over the rows of `x` (`[rows, C]`).
pub(super) fn scale_channels(x: &mut [f32], scale: &[f32]) {
    simd::dispatch(
        #[inline(always)]
        || {
            for row in x.chunks_exact_mut(scale.len()) {
                for (v, &s) in row.iter_mut().zip(scale) {
                    *v *= s;
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epilogues_match_their_definitions() {
        let product = [1.0, -2.0, 3.0, 8.0, -0.5, 0.25];
        let bias = [0.5, 1.0, -1.0];
        let mut dst = product;
        bias_act(&mut dst, &bias, Some(Activation::Relu6));
        assert_eq!(dst, [1.5, 0.0, 2.0, 6.0, 0.5, 0.0]);
        let mut dst = product;
        bias_act(&mut dst, &bias, Some(Activation::Silu));
        assert!((dst[0] - math::silu(1.5)).abs() < 1e-7);
        let mut dst = product;
        bias_residual(&mut dst, &bias, Some(&[1.0; 6]));
        assert_eq!(dst, [2.5, 0.0, 3.0, 9.5, 1.5, 0.25]);
        let mut sums = [1.0; 3];
        bias_act_sums(&product, &bias, None, &mut sums);
        assert_eq!(sums, [11.0, 0.5, 2.25]);
        scale_channels(&mut dst, &[2.0, 1.0, 0.0]);
        assert_eq!(dst, [5.0, 0.0, 0.0, 19.0, 1.5, 0.0]);
    }
}
