//! Runtime SIMD dispatch for this crate's flex kernels.
//!
//! Rust compiles for the target's baseline (SSE2 on x86-64) unless told otherwise, and building
//! for the build machine's CPU (`-C target-cpu=native`) would make binaries that crash on older
//! ones. So each hot loop runs inside [`dispatch`], which `pulp` compiles once per instruction
//! set and picks from at run time: AVX-512 (x86-64-v4), AVX2 + FMA (x86-64-v3), NEON on aarch64,
//! else the baseline. The loops stay plain Rust (no intrinsics, no `unsafe`); LLVM vectorises
//! them at the width of the copy that runs.
//!
//! `EFFICIENTNET_SIMD=baseline` in the environment forces the baseline copy (read once per
//! process), so a benchmark can show what the wide path gains.

use std::sync::OnceLock;

/// Runs `f` compiled for the widest instruction set this CPU has (see the module doc).
///
/// Everything `f` calls must be inlined into it to be compiled at that width: helpers used
/// inside are `#[inline(always)]`.
#[inline(always)]
pub(crate) fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    if *forced_baseline() {
        f()
    } else {
        pulp::Arch::new().dispatch(f)
    }
}

/// Runs `op` with the widest SIMD type this CPU has, as [`dispatch`] does, for kernels written
/// with `pulp`'s explicit vector types (`pulp::Scalar`, one lane, when the baseline is forced).
#[inline(always)]
pub(crate) fn dispatch_simd<Op: pulp::WithSimd>(op: Op) -> Op::Output {
    if *forced_baseline() {
        op.with_simd(pulp::Scalar)
    } else {
        pulp::Arch::new().dispatch(op)
    }
}

/// Whether `EFFICIENTNET_SIMD=baseline` is set.
fn forced_baseline() -> &'static bool {
    static FORCED: OnceLock<bool> = OnceLock::new();
    FORCED.get_or_init(|| std::env::var_os("EFFICIENTNET_SIMD").is_some_and(|v| v == "baseline"))
}

/// The instruction set the kernels run with on this CPU: `avx512`, `avx2+fma`, `neon` or
/// `baseline`.
pub fn level() -> &'static str {
    if *forced_baseline() {
        "baseline"
    } else {
        detected()
    }
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn detected() -> &'static str {
    match pulp::Arch::new() {
        pulp::Arch::V4(_) => "avx512",
        pulp::Arch::V3(_) => "avx2+fma",
        _ => "baseline",
    }
}

#[cfg(target_arch = "aarch64")]
fn detected() -> &'static str {
    match pulp::Arch::new() {
        pulp::Arch::Neon(_) => "neon",
        _ => "baseline",
    }
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
fn detected() -> &'static str {
    "baseline"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_runs_the_closure_once_and_returns_its_value() {
        let mut calls = 0;
        let sum = dispatch(|| {
            calls += 1;
            (0..1000).map(|i| i as f32).sum::<f32>()
        });
        assert_eq!((sum, calls), (499_500.0, 1));
        assert!(["avx512", "avx2+fma", "neon", "baseline"].contains(&level()));
    }
}
