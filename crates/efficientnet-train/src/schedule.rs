//! Learning-rate schedules stepped once per optimizer step: a linear warmup followed by cosine
//! decay (timm/torchvision recipes) or the paper's staircase exponential decay (x0.97 every 2.4
//! epochs; Tan & Le 2019, §5.2).

use burn::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use burn::optim::LearningRate;
use serde::{Deserialize, Serialize};

/// What follows the warmup.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Decay {
    /// Half-cosine from the base LR to `min_lr` at the last step, then held at `min_lr`.
    Cosine {
        /// Final learning rate.
        min_lr: f64,
    },
    /// `base * rate ^ floor(step / every)`, counted from step 0 as in TF and timm.
    Staircase {
        /// Multiplier per decay period (0.97 in the paper).
        rate: f64,
        /// Steps per decay period (2.4 epochs in the paper).
        every: usize,
    },
    /// The base LR throughout.
    Constant,
}

/// Linear warmup from `warmup_lr` to `base_lr` over `warmup_steps`, then [`Decay`].
///
/// The step counter is the scheduler's whole state, so a checkpointed record restores the
/// sequence exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct WarmupSchedule {
    /// Learning rate after the warmup.
    pub base_lr: f64,
    /// Learning rate at step 0.
    pub warmup_lr: f64,
    /// Length of the warmup in steps.
    pub warmup_steps: usize,
    /// Total optimizer steps of the run.
    pub total_steps: usize,
    /// The decay after the warmup.
    pub decay: Decay,
    /// Steps taken so far.
    pub step: usize,
}

impl WarmupSchedule {
    /// The learning rate at optimizer step `t` (0-based).
    ///
    /// ```
    /// use efficientnet_train::{Decay, WarmupSchedule};
    ///
    /// let schedule = WarmupSchedule {
    ///     base_lr: 0.1,
    ///     warmup_lr: 0.0,
    ///     warmup_steps: 2,
    ///     total_steps: 6,
    ///     decay: Decay::Cosine { min_lr: 0.0 },
    ///     step: 0,
    /// };
    /// let lrs: Vec<f64> = (0..7).map(|t| schedule.lr_at(t)).collect();
    /// let expected = [0.0, 0.05, 0.1, 0.085355, 0.05, 0.014645, 0.0];
    /// for (lr, want) in lrs.iter().zip(expected) {
    ///     assert!((lr - want).abs() < 1e-6, "{lrs:?}");
    /// }
    /// ```
    pub fn lr_at(&self, t: usize) -> f64 {
        if t < self.warmup_steps {
            let frac = t as f64 / self.warmup_steps as f64;
            return self.warmup_lr + (self.base_lr - self.warmup_lr) * frac;
        }
        match self.decay {
            Decay::Cosine { min_lr } => {
                let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
                let progress = ((t - self.warmup_steps) as f64 / span as f64).min(1.0);
                min_lr
                    + 0.5
                        * (self.base_lr - min_lr)
                        * (1.0 + (std::f64::consts::PI * progress).cos())
            }
            Decay::Staircase { rate, every } => self.base_lr * rate.powi((t / every.max(1)) as i32),
            Decay::Constant => self.base_lr,
        }
    }
}

impl LrScheduler for WarmupSchedule {
    fn step(&mut self) -> LearningRate {
        let lr = self.lr_at(self.step);
        self.step += 1;
        lr
    }

    fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::new().with_scalar("step", self.step as u64)
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        if let Some(step) = record.scalar::<u64>("step") {
            self.step = step as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(decay: Decay) -> WarmupSchedule {
        WarmupSchedule {
            base_lr: 0.1,
            warmup_lr: 0.0,
            warmup_steps: 4,
            total_steps: 14,
            decay,
            step: 0,
        }
    }

    fn take(s: &mut WarmupSchedule, n: usize) -> Vec<f64> {
        (0..n).map(|_| s.step()).collect()
    }

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() < 1e-12, "step {i}: {x} vs {y}");
        }
    }

    #[test]
    fn warmup_then_cosine() {
        let mut s = schedule(Decay::Cosine { min_lr: 0.0 });
        let lrs = take(&mut s, 16);
        // Warmup 0, .025, .05, .075; cosine over 10 steps from 0.1; held at min after the end.
        let cos = |k: f64| 0.05 * (1.0 + (std::f64::consts::PI * k / 10.0).cos());
        let mut expected = vec![0.0, 0.025, 0.05, 0.075];
        expected.extend((0..10).map(|k| cos(k as f64)));
        expected.extend([0.0, 0.0]);
        close(&lrs, &expected);
    }

    #[test]
    fn warmup_then_staircase() {
        let mut s = schedule(Decay::Staircase {
            rate: 0.5,
            every: 3,
        });
        let lrs = take(&mut s, 10);
        // Decay counts from step 0: steps 4,5 are in period 1, 6..8 in period 2, 9 in period 3.
        close(
            &lrs,
            &[
                0.0, 0.025, 0.05, 0.075, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125,
            ],
        );
    }

    #[test]
    fn record_restores_the_sequence() {
        let mut a = schedule(Decay::Cosine { min_lr: 1e-4 });
        take(&mut a, 7);
        let record = a.to_record();
        let mut b = schedule(Decay::Cosine { min_lr: 1e-4 });
        b.load_record(record);
        close(&take(&mut a, 5), &take(&mut b, 5));
    }
}
