//! Mixed precision training, which Burn 0.22.1 does not have (no autocast, no gradient scaler):
//! f32 master weights and optimizer state, forward and backward in bf16 or f16, BatchNorm
//! statistics and the loss in f32 (Micikevicius et al. 2018, "Mixed Precision Training").
//!
//! How the pieces fit:
//! * The network computes in the dtype of its input ([`efficientnet::EfficientNet::forward`]):
//!   the trainer casts each batch to [`Precision::dtype`], the layers multiply half-precision
//!   copies of their f32 weights, BatchNorm normalises in f32, and the logits are cast back to
//!   f32 for the cross-entropy. The casts' backward hands the weight gradients back in f32, so
//!   the optimizer only ever sees f32.
//! * f16 has 5 exponent bits: gradients below 2^-24 flush to zero and activations above 65504
//!   overflow. [`LossScaler`] multiplies the loss by a large scale before the backward (so
//!   small gradients survive), divides the f32 gradients by it before the optimizer step, and
//!   skips a step whose gradients hold an inf or NaN, halving the scale; after
//!   `growth_interval` clean steps it doubles the scale. The defaults are PyTorch's
//!   `torch.amp.GradScaler`'s (2^16, x2, x0.5, 2000 steps).
//! * bf16 has f32's exponent range and needs no scaling.

use std::sync::{Arc, Mutex};

use burn::config::Config;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{DType, Tensor};

/// The dtype the forward and backward passes compute in.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Precision {
    /// Everything in f32.
    F32,
    /// Mixed: bfloat16 compute, f32 weights, BatchNorm and loss.
    Bf16,
    /// Mixed: float16 compute, f32 weights, BatchNorm and loss, dynamic loss scaling.
    F16,
}

impl Precision {
    /// The dtype of activations (and of the weight copies the layers multiply).
    pub fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::Bf16 => DType::BF16,
            Precision::F16 => DType::F16,
        }
    }

    /// The name `--precision` uses: `f32`, `bf16`, `f16`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::F16 => "f16",
        }
    }
}

/// Dynamic loss scaling (PyTorch's `GradScaler`): shared by every clone of the model, so the
/// training workers of a multi-device run all scale by the value the last optimizer step left.
#[derive(Clone, Debug)]
pub struct LossScaler {
    state: Arc<Mutex<ScalerState>>,
    growth_interval: usize,
}

#[derive(Debug)]
struct ScalerState {
    scale: f32,
    clean_steps: usize,
    skipped: usize,
}

impl Default for LossScaler {
    /// PyTorch's defaults: scale 2^16, doubled after 2000 clean steps, halved on overflow.
    fn default() -> Self {
        Self::new(65536.0, 2000)
    }
}

impl LossScaler {
    /// A scaler starting at `scale`, doubling it after `growth_interval` steps without overflow.
    pub fn new(scale: f32, growth_interval: usize) -> Self {
        Self {
            state: Arc::new(Mutex::new(ScalerState {
                scale,
                clean_steps: 0,
                skipped: 0,
            })),
            growth_interval: growth_interval.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ScalerState> {
        // A worker that panicked holding the lock left a consistent state (plain numbers).
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The factor the loss is multiplied by before the backward pass.
    pub fn scale(&self) -> f32 {
        self.lock().scale
    }

    /// Optimizer steps skipped so far because their gradients overflowed.
    pub fn skipped_steps(&self) -> usize {
        self.lock().skipped
    }

    /// The gradients of `loss` for `module`'s parameters through a scaled backward pass: the
    /// backward of `loss * scale`, then [`unscale`](Self::unscale). `None` when they overflowed
    /// (skip the step). (The Learner's step splits this in two: `Classifier` scales in
    /// `TrainStep::step` and unscales in `TrainStep::optimize`.)
    pub fn backward<M: Module>(&self, loss: Tensor<1>, module: &M) -> Option<GradientsParams> {
        let scaled = loss.mul_scalar(self.scale());
        self.unscale(
            module,
            GradientsParams::from_grads(scaled.backward(), module),
        )
    }

    /// Divides `module`'s gradients in `grads` by the scale. Returns them when all are finite
    /// (and counts a clean step, doubling the scale after `growth_interval` of them); returns
    /// `None` when one holds an inf or NaN: the step must be skipped, and the scale is halved.
    pub fn unscale<M: Module>(
        &self,
        module: &M,
        grads: GradientsParams,
    ) -> Option<GradientsParams> {
        let scale = self.scale();
        let mut visitor = Unscale {
            grads,
            factor: 1.0 / scale,
            sum: None,
        };
        module.visit(&mut visitor);
        // One reduction over every gradient: inf and NaN survive the sum (a finite sum of
        // finite f32 gradients stays finite short of 1e38).
        let finite = visitor
            .sum
            .is_none_or(|sum| sum.into_scalar::<f32>().is_finite());
        let mut state = self.lock();
        if finite {
            state.clean_steps += 1;
            if state.clean_steps >= self.growth_interval {
                state.scale = (state.scale * 2.0).min(f32::MAX / 2.0);
                state.clean_steps = 0;
            }
            Some(visitor.grads)
        } else {
            state.scale = (state.scale * 0.5).max(1.0);
            state.clean_steps = 0;
            state.skipped += 1;
            None
        }
    }
}

/// Multiplies every gradient by `factor` and sums all of them into one scalar.
struct Unscale {
    grads: GradientsParams,
    factor: f32,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for Unscale {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(grad) = self.grads.remove::<D>(param.id) else {
            return;
        };
        let grad = grad.mul_scalar(self.factor);
        let total = grad.clone().sum();
        self.sum = Some(match self.sum.take() {
            Some(sum) => {
                let device = sum.device();
                sum + total.to_device(&device)
            }
            None => total,
        });
        self.grads.register(param.id, grad);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, TensorData};

    fn grads_of(model: &Linear, value: f32) -> GradientsParams {
        let x = Tensor::<2>::from_data(
            TensorData::new(vec![value; 4], [2, 2]),
            &model.weight.device(),
        );
        let loss = model.forward(x).sum();
        GradientsParams::from_grads(loss.backward(), model)
    }

    #[test]
    fn divides_by_the_scale_skips_overflow_and_adapts() {
        let device = Device::flex().autodiff();
        let model = LinearConfig::new(2, 1).init(&device);
        let scaler = LossScaler::new(8.0, 2);

        // d(sum(x W + b))/dW = column sums of x = 2 * value; divided by 8.
        let grads = scaler
            .unscale(&model, grads_of(&model, 4.0))
            .expect("finite");
        let weight = grads.get::<2>(model.weight.id).expect("weight grad");
        let values: Vec<f32> = weight.into_data().try_to_vec::<f32>().expect("f32");
        assert_eq!(values, vec![1.0, 1.0]);
        assert_eq!(scaler.scale(), 8.0);

        // The second clean step doubles the scale.
        assert!(scaler.unscale(&model, grads_of(&model, 1.0)).is_some());
        assert_eq!(scaler.scale(), 16.0);

        // Overflow: skipped, halved, counted, and the clean-step count starts over.
        assert!(
            scaler
                .unscale(&model, grads_of(&model, f32::INFINITY))
                .is_none()
        );
        assert!(scaler.unscale(&model, grads_of(&model, f32::NAN)).is_none());
        assert_eq!((scaler.scale(), scaler.skipped_steps()), (4.0, 2));
        assert!(scaler.unscale(&model, grads_of(&model, 1.0)).is_some());
        assert_eq!(scaler.scale(), 4.0);
    }
}
