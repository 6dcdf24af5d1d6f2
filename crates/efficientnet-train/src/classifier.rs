//! The model as Burn's Learner sees it: EfficientNet + label-smoothed cross-entropy.

use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use efficientnet::EfficientNet;

use crate::data::ImageBatch;
use crate::ema::ModelEma;

/// An [`EfficientNet`] trained with cross-entropy and label smoothing.
#[derive(Module, Debug)]
pub struct Classifier {
    /// The network.
    pub net: EfficientNet,
    /// Exponential moving average of `net`, updated after every optimizer step.
    pub ema: Option<ModelEma>,
    /// Label smoothing factor (0.1 in the paper).
    pub label_smoothing: f32,
}

impl Classifier {
    /// Forward pass and loss.
    pub fn forward_classification(&self, batch: ImageBatch) -> ClassificationOutput {
        let logits = self.net.forward(batch.images); // [N, classes]
        let [_, classes] = logits.dims();
        let smoothing = (self.label_smoothing > 0.0 && classes > 1).then_some(self.label_smoothing);
        let ce = CrossEntropyLossConfig::new()
            .with_smoothing(smoothing)
            .init(&logits.device());
        let loss = ce.forward(logits.clone(), batch.targets.clone());
        // Mixed batches: cross-entropy is linear in the target, so the mixed (smoothed) target's
        // loss is the lam-weighted sum of the two labels' losses.
        let loss = match batch.mix {
            Some(mix) => {
                let partner = ce.forward(logits.clone(), mix.partner_targets);
                loss.mul_scalar(mix.lam) + partner.mul_scalar(1.0 - mix.lam)
            }
            None => loss,
        };
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl TrainStep for Classifier {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> TrainOutput<ClassificationOutput> {
        let output = self.forward_classification(batch);
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
