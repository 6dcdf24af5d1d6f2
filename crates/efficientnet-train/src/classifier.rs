//! The model as Burn's Learner sees it: EfficientNet + label-smoothed cross-entropy.

use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Int, Tensor};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use efficientnet::EfficientNet;

use crate::data::{ImageBatch, Mix};
use crate::ema::ModelEma;
use crate::guard::LossGuard;
use crate::loader::Stream;

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
    /// Stops the run at a non-finite loss.
    #[module(skip)]
    pub guard: LossGuard,
}

impl Classifier {
    /// Forward pass and label-smoothed cross-entropy (mixed with the partners' labels for
    /// Mixup/CutMix batches).
    ///
    /// # Shapes
    /// - input: `batch.images` `[N, 3, H, W]`, `batch.targets` `[N]`
    /// - output: `loss` `[1]`, `output` (the logits) `[N, num_classes]`, `targets` `[N]`
    pub fn forward_classification(&self, batch: ImageBatch) -> ClassificationOutput {
        let logits = self.net.forward(batch.images); // [N, classes]
        self.loss(logits, batch.targets, batch.mix)
    }

    /// Training forward pass with everything but the classifier frozen.
    fn forward_frozen(&self, batch: ImageBatch) -> ClassificationOutput {
        let frozen = self.net.valid(); // no-autodiff snapshot, training flags off
        let features = frozen.forward_backbone(batch.images.inner()); // [N, C, h, w]
        let pooled = frozen.forward_pre_logits(features); // [N, head]
        let logits = self.net.forward_classifier(Tensor::from_inner(pooled)); // [N, classes]
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
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> TrainOutput<ClassificationOutput> {
        // Dropout and stochastic depth draw from the batch's own stream: a resumed run
        // repeats an uninterrupted one exactly.
        let position = batch.position;
        batch.images.device().seed(position.seed_for(Stream::Model));
        let output = if position.epoch <= self.freeze_epochs {
            self.forward_frozen(batch)
        } else {
            self.forward_classification(batch)
        };
        self.guard
            .check(output.loss.clone().into_scalar::<f32>(), position);
        TrainOutput::new(self, output.loss.backward(), output)
    }

    fn optimize(
        self,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
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
