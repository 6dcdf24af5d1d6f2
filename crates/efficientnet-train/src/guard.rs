//! Stops a run at the first non-finite loss, before the epoch's checkpoint is written.

use std::sync::{Arc, Mutex};

use burn::tensor::TensorReadError;
use burn::train::Interrupter;
use burn::train::metric::{Metric, MetricMetadata, MetricName, SerializedEntry};

use crate::random::BatchPosition;
use crate::step_output::LossCheck;

/// Watches the training loss; a NaN or infinite value stops the Learner (through its
/// [`Interrupter`]) so that the weights it produced are never checkpointed and the last
/// checkpoint stays the last good one. The guard is one of the Learner's training metrics: the
/// loss is read back on Burn's metric thread, not in the training loop, so the stop comes a
/// step or a few after the bad one, and always before that epoch's checkpoint (Burn flushes
/// the metrics before it checkpoints).
#[derive(Clone, Default)]
pub struct LossGuard {
    interrupter: Option<Interrupter>,
    steps_per_epoch: usize,
    tripped: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for LossGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LossGuard")
            .field("tripped", &self.tripped())
            .finish()
    }
}

impl LossGuard {
    /// A guard stopping `interrupter`'s run; `steps_per_epoch` numbers the steps in messages.
    pub fn new(interrupter: Interrupter, steps_per_epoch: usize) -> Self {
        Self {
            interrupter: Some(interrupter),
            steps_per_epoch,
            tripped: Arc::default(),
        }
    }

    /// Checks the loss of the batch at `position`; returns `false` (and stops the run) when
    /// it is not finite.
    pub fn check(&self, loss: f32, position: BatchPosition) -> bool {
        if loss.is_finite() {
            return true;
        }
        let step = position.epoch.saturating_sub(1) * self.steps_per_epoch + position.index + 1;
        let reason = format!(
            "the training loss became {loss} at epoch {}, batch {} (step {step})",
            position.epoch,
            position.index + 1
        );
        if let Ok(mut slot) = self.tripped.lock() {
            slot.get_or_insert(reason.clone());
        }
        if let Some(interrupter) = &self.interrupter {
            interrupter.stop(Some(&reason));
        }
        false
    }

    /// What stopped the run, if the guard did.
    pub fn tripped(&self) -> Option<String> {
        self.tripped.lock().ok().and_then(|slot| slot.clone())
    }
}

/// The guard as a training metric: Burn runs it on its metric thread with every step's output
/// (the loss read back there, as its own loss metric does) and flushes the metrics before each
/// epoch's checkpoint, so a tripped guard stops the run before the bad epoch is saved.
impl Metric for LossGuard {
    type Input = LossCheck;

    fn name(&self) -> MetricName {
        Arc::new(Self::NAME.to_owned())
    }

    fn update(
        &mut self,
        item: &LossCheck,
        _: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let loss = item.loss.clone().try_into_scalar::<f32>()?;
        let finite = self.check(loss, item.position);
        let text = if finite { "ok" } else { "tripped" };
        Ok(SerializedEntry::new(text.to_owned(), text.to_owned()))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        let text = if self.tripped().is_some() {
            "tripped"
        } else {
            "ok"
        };
        Ok(SerializedEntry::new(text.to_owned(), text.to_owned()))
    }

    fn clear(&mut self) {}
}

impl LossGuard {
    /// The name of the guard's metric (left out of the progress lines).
    pub const NAME: &'static str = "Loss guard";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_non_finite_loss_stops_the_run_and_names_its_step() {
        let interrupter = Interrupter::new();
        let guard = LossGuard::new(interrupter.clone(), 10);
        let at = |epoch, index| BatchPosition {
            seed: 0,
            epoch,
            index,
        };
        assert!(guard.check(2.5, at(1, 0)));
        assert!(guard.check(0.0, at(2, 3)));
        assert!(!interrupter.should_stop());
        assert!(!guard.check(f32::NAN, at(2, 4)));
        assert!(!guard.check(f32::INFINITY, at(2, 5)));
        assert!(interrupter.should_stop());
        assert_eq!(
            guard.tripped().as_deref(),
            Some("the training loss became NaN at epoch 2, batch 5 (step 15)")
        );
    }
}
