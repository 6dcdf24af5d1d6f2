//! Stops a run at the first non-finite loss, before the epoch's checkpoint is written.

use std::sync::{Arc, Mutex};

use burn::train::Interrupter;

use crate::loader::BatchPosition;

/// Watches the training loss; a NaN or infinite value stops the Learner (through its
/// [`Interrupter`]) at the end of that step, so the weights it produced are never checkpointed
/// and the last checkpoint stays the last good one.
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
