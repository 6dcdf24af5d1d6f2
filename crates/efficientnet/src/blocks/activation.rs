//! [`Activation::forward`]: the activation functions applied after a convolution and BN.

use burn::tensor::Tensor;

use crate::config::Activation;

impl Activation {
    /// Applies the activation element-wise (SiLU through this crate's flex kernel where it
    /// applies, Burn's `relu6` for ReLU6).
    ///
    /// # Shapes
    ///
    /// * `x`: any, returned unchanged.
    pub fn forward<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Silu => crate::kernels::silu(x),
            Activation::Relu6 => burn::tensor::activation::relu6(x),
        }
    }
}
