//! Kernels of this crate, through Burn's backend extension (`#[backend_extension]`): used where
//! a stock Burn op is the bottleneck on a backend, and only there.
//!
//! * [`silu`]: on flex, one vectorised pass (forward) and one fused pass (backward) instead of
//!   Burn's `x * sigmoid(x)`, whose sigmoid is a scalar `libm` `exp` per value (~5.5 ns) and
//!   whose backward runs the multiply's and the sigmoid's backward separately. Every other
//!   backend gets `burn::tensor::activation::silu`.

#[cfg(feature = "flex")]
mod autodiff;
#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "flex")]
mod math;

use burn::tensor::Tensor;

/// SiLU (swish), `x * sigmoid(x)`, element-wise (Elfwing et al. 2017; Ramachandran et al. 2017).
///
/// On flex (with or without autodiff) this runs [`FlexKernels::silu`]; values agree with
/// `burn::tensor::activation::silu` to 4e-7 relative, gradients to 5e-7 absolute.
///
/// # Shapes
///
/// * `x`: any, returned unchanged.
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if flex::runs_on_flex(&x.device()) {
        use burn::backend::Dispatch;
        return Tensor::from_dispatch(<Dispatch as FlexKernels>::silu(x.into_dispatch()));
    }
    burn::tensor::activation::silu(x)
}

#[cfg(feature = "flex")]
pub use flex::FlexKernels;
