//! Stochastic depth ("drop connect"): Huang et al., *Deep Networks with Stochastic Depth*, 2016,
//! <https://arxiv.org/abs/1603.09382>, as used on EfficientNet's residual branches.

use burn::module::{Flag, Module, Param};
use burn::tensor::{Distribution, Tensor};

/// Drops a residual branch for whole samples with probability `prob` during training and
/// scales the kept samples by `1 / (1 - prob)`; the identity in evaluation.
///
/// Active only when the input lives on an autodiff device *and* the `training` flag is set
/// (the same rule as Burn's `Dropout`), so `model.valid()` or a plain inference device turn it off.
#[derive(Module, Debug)]
pub struct DropPath {
    /// Probability of dropping a sample's branch.
    pub prob: f64,
    /// Training switch, cleared by `valid()` / `freeze()`.
    pub training: Param<Flag>,
}

impl DropPath {
    /// A drop-path layer with drop probability `prob` in `[0, 1)`.
    pub fn new(prob: f64) -> Self {
        assert!(
            (0.0..1.0).contains(&prob),
            "drop-path probability must be in [0, 1), got {prob}"
        );
        Self {
            prob,
            training: Param::from_bool(true),
        }
    }

    /// # Shapes
    /// - input: `[N, C, H, W]`
    /// - output: `[N, C, H, W]`, each sample either zero or scaled by `1 / (1 - prob)`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        if self.prob == 0.0 || !self.training.is_enabled() || !x.device().is_autodiff() {
            return x;
        }
        let keep = 1.0 - self.prob;
        let [n, _, _, _] = x.dims();
        let mask = Tensor::<4>::random([n, 1, 1, 1], Distribution::Bernoulli(keep), &x.device()); // [N, 1, 1, 1]
        let dtype = x.dtype(); // the mask in x's precision (bf16/f16 under mixed precision)
        x * mask.div_scalar(keep).cast(dtype)
    }
}
