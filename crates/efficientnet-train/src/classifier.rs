//! The model as Burn's Learner sees it: EfficientNet + label-smoothed cross-entropy, in f32 or
//! mixed precision, on one device or as one of several data-parallel workers.

use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{DType, Int, Tensor};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use efficientnet::EfficientNet;

use crate::batcher::{ImageBatch, Mix};
use crate::ema::ModelEma;
use crate::precision::{LossScaler, Precision};
use crate::random::Stream;
use crate::step_output::StepOutput;

/// An [`EfficientNet`] trained with cross-entropy and label smoothing.
#[derive(Module, Debug)]
pub struct Classifier {
    /// The network.
    pub net: EfficientNet,
    /// Exponential moving average of `net`, updated after every optimizer step.
    pub ema: Option<ModelEma>,
    /// Label smoothing factor (0.1 in the paper).
    pub label_smoothing: f32,
    /// Training epochs (from 1) up to this one train only the classifier: the rest of the
    /// network runs as in evaluation (BatchNorm on its running statistics, no stochastic
    /// depth) and gets no gradients. 0 = train everything from the start.
    pub freeze_epochs: usize,
    /// The dtype of the forward and backward passes (weights stay f32).
    #[module(skip)]
    pub precision: Precision,
    /// Dynamic loss scaling (f16).
    #[module(skip)]
    pub scaler: Option<LossScaler>,
    /// Data-parallel workers whose gradients Burn sums for one optimizer step: each divides
    /// its loss by this, so the sum is the gradient of the mean loss over the global batch.
    pub num_devices: usize,
}

impl Classifier {
    /// Forward pass and label-smoothed cross-entropy (mixed with the partners' labels for
    /// Mixup/CutMix batches).
    ///
    /// # Shapes
    /// - input: `batch.images` `[N, 3, H, W]`, `batch.targets` `[N]`
    /// - output: `loss` `[1]`, `output` (the logits) `[N, num_classes]`, `targets` `[N]`
    pub fn forward_classification(&self, batch: ImageBatch) -> ClassificationOutput {
        let images = batch.images.cast(self.precision.dtype());
        let logits = self.net.forward(images).cast(DType::F32); // [N, classes]
        self.loss(logits, batch.targets, batch.mix)
    }

    /// Training forward pass with everything but the classifier frozen.
    fn forward_frozen(&self, batch: ImageBatch) -> ClassificationOutput {
        let frozen = self.net.valid(); // no-autodiff snapshot, training flags off
        let images = batch.images.inner().cast(self.precision.dtype());
        let features = frozen.forward_backbone(images); // [N, C, h, w]
        let pooled = frozen.forward_pre_logits(features); // [N, head]
        let logits = self
            .net
            .forward_classifier(Tensor::from_inner(pooled))
            .cast(DType::F32); // [N, classes]
        self.loss(logits, batch.targets, batch.mix)
    }

    /// Label-smoothed cross-entropy of `logits` (`[N, classes]`) against `targets` (`[N]`),
    /// mixed with the partners' labels for Mixup/CutMix batches.
    fn loss(
        &self,
        logits: Tensor<2>,
        targets: Tensor<1, Int>,
        mix: Option<Mix>,
    ) -> ClassificationOutput {
        let [_, classes] = logits.dims();
        let smoothing = (self.label_smoothing > 0.0 && classes > 1).then_some(self.label_smoothing);
        let ce = CrossEntropyLossConfig::new()
            .with_smoothing(smoothing)
            .init(&logits.device());
        let loss = ce.forward(logits.clone(), targets.clone());
        // Mixed batches: cross-entropy is linear in the target, so the mixed (smoothed) target's
        // loss is the lam-weighted sum of the two labels' losses.
        let loss = match mix {
            Some(mix) => {
                let partner = ce.forward(logits.clone(), mix.partner_targets);
                loss.mul_scalar(mix.lam) + partner.mul_scalar(1.0 - mix.lam)
            }
            None => loss,
        };
        ClassificationOutput::new(loss, logits, targets)
    }
}

impl TrainStep for Classifier {
    type Input = ImageBatch;
    type Output = StepOutput;

    fn step(&self, batch: ImageBatch) -> TrainOutput<StepOutput> {
        // Dropout and stochastic depth draw from the batch's own stream: a resumed run
        // repeats an uninterrupted one exactly.
        let position = batch.position;
        batch.images.device().seed(position.seed_for(Stream::Model));
        let output = if position.epoch <= self.freeze_epochs {
            self.forward_frozen(batch)
        } else {
            self.forward_classification(batch)
        };
        // The loss guard checks the loss on the metric thread (a `LossCheck` metric).
        let scale = self.scaler.as_ref().map_or(1.0, LossScaler::scale);
        let factor = scale / self.num_devices.max(1) as f32;
        let loss = if factor == 1.0 {
            output.loss.clone()
        } else {
            output.loss.clone().mul_scalar(factor)
        };
        let output = StepOutput {
            classification: output,
            position,
        };
        TrainOutput::new(self, loss.backward(), output)
    }

    fn optimize(
        self,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
        let grads = match &self.scaler {
            Some(scaler) => match scaler.unscale(&self, grads) {
                Some(grads) => grads,
                // An inf or NaN gradient: no update (the scale was halved).
                None => return self,
            },
            None => grads,
        };
        let mut model = optim.step(lr, self, grads);
        if let Some(ema) = model.ema.take() {
            model.ema = Some(ema.update(&model.net));
        }
        model
    }
}

impl InferenceStep for Classifier {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> ClassificationOutput {
        self.forward_classification(batch)
    }
}
