//! What a training step hands to Burn's metrics: the classification output and where its
//! batch sits in the run, so that the [`LossGuard`](crate::LossGuard) reads the loss on the
//! metric thread, like Burn's own metrics, instead of stalling the training loop on a readback.

use burn::tensor::{ExecutionError, Tensor};
use burn::train::ClassificationOutput;
use burn::train::metric::{AccuracyInput, Adaptor, ItemLazy, LossInput, TopKAccuracyInput};

use crate::random::BatchPosition;

/// A training step's output.
pub struct StepOutput {
    /// Loss `[1]`, logits `[N, classes]` and targets `[N]`.
    pub classification: ClassificationOutput,
    /// The batch's epoch and index.
    pub position: BatchPosition,
}

/// The input of the loss guard's metric: a step's loss and its position.
pub struct LossCheck {
    /// The loss `[1]`.
    pub loss: Tensor<1>,
    /// Where the batch sits.
    pub position: BatchPosition,
}

impl ItemLazy for StepOutput {
    fn sync(self) -> Result<Self, ExecutionError> {
        Ok(Self {
            classification: self.classification.sync()?,
            position: self.position,
        })
    }
}

impl Adaptor<AccuracyInput> for StepOutput {
    fn adapt(&self) -> AccuracyInput {
        self.classification.adapt()
    }
}

impl Adaptor<TopKAccuracyInput> for StepOutput {
    fn adapt(&self) -> TopKAccuracyInput {
        self.classification.adapt()
    }
}

impl Adaptor<LossInput> for StepOutput {
    fn adapt(&self) -> LossInput {
        self.classification.adapt()
    }
}

impl Adaptor<LossCheck> for StepOutput {
    fn adapt(&self) -> LossCheck {
        LossCheck {
            loss: self.classification.loss.clone(),
            position: self.position,
        }
    }
}
