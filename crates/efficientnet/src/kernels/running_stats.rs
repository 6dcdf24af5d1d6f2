//! BatchNorm's running-average update, for the flex training kernel that computes the batch
//! statistics itself instead of calling `BatchNorm::forward`.
//!
//! A copy of the update in Burn 0.22.1's `BatchNorm::forward_train`, which is private (Burn
//! exposes no function for it): the same ops in the same order, so the running statistics are
//! bit-identical to the stock layer's.

use burn::module::RunningState;
use burn::tensor::Tensor;

/// `running = (1 - momentum) * running + momentum * batch` (PyTorch's convention), the batch
/// statistic detached. Shapes: `running` and `batch` `[C]`.
pub(crate) fn update(running: &RunningState<Tensor<1>>, batch: Tensor<1>, momentum: f64) {
    let old = running.value_sync().to_device(&batch.device());
    let new = old
        .mul_scalar(1.0 - momentum)
        .add(batch.detach().mul_scalar(momentum));
    running.update(new.detach());
}
