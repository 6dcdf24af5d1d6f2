//! Exponential moving average of the model weights (the paper's decay 0.9999), warm-up aware as
//! timm's `ModelEmaV3`: the decay used at update `n` is `min(decay, (1 + n) / (10 + n))`, so
//! the average follows the model closely early on. BatchNorm running statistics are averaged
//! too, as timm does with the whole state dict.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, Param, ParamId, RunningState};
use burn::tensor::{Device, Tensor};
use efficientnet::EfficientNet;
use efficientnet::tensors::{float_tensors, map_float_tensors};

/// The averaged copy of a network and its update counter (both checkpointed with the model).
#[derive(Module, Debug)]
pub struct ModelEma {
    /// The averaged network.
    pub net: EfficientNet,
    /// Updates applied so far (a one-element buffer, so checkpoints carry it).
    pub updates: RunningState<Tensor<1>>,
    /// Target decay.
    pub decay: f64,
}

impl ModelEma {
    /// Starts an average at the current weights of `net`.
    pub fn new(net: &EfficientNet, decay: f64, device: &Device) -> Self {
        Self {
            net: net.clone().map(&mut Detached),
            updates: RunningState::new(Tensor::zeros([1], device)),
            decay,
        }
    }

    /// The decay of update number `n` (0-based).
    pub fn decay_at(&self, n: f64) -> f64 {
        self.decay.min((1.0 + n) / (10.0 + n))
    }

    /// Moves the average towards `net`: `ema = d * ema + (1 - d) * net`.
    pub fn update(self, net: &EfficientNet) -> Self {
        let n = f64::from(self.updates.value_sync().into_scalar::<f32>());
        let d = self.decay_at(n);
        let mut current: HashMap<String, Tensor<1>> = float_tensors(net)
            .into_iter()
            .map(|t| (t.path, t.values.detach()))
            .collect();
        let averaged = map_float_tensors(self.net, |path, ema| {
            current
                .remove(path)
                .map(|cur| (ema.detach().mul_scalar(d) + cur.mul_scalar(1.0 - d)).detach())
        });
        self.updates
            .update(self.updates.value_sync().add_scalar(1.0));
        Self {
            net: averaged,
            updates: self.updates,
            decay: self.decay,
        }
    }
}

/// A deep copy with fresh parameter ids that takes no gradients (a plain `clone` shares the
/// ids, and the training net's parameters with them).
struct Detached;

impl ModuleMapper for Detached {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        Param::initialized(ParamId::new(), param.val().detach()).set_require_grad(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use efficientnet::EfficientNetConfig;

    fn tiny(device: &Device) -> EfficientNet {
        EfficientNetConfig::b0()
            .with_width(0.1)
            .with_depth(0.1)
            .with_num_classes(3)
            .init(device)
    }

    #[test]
    fn warmup_decay_then_target() {
        let ema = ModelEma::new(&tiny(&Device::flex()), 0.9999, &Device::flex());
        assert!((ema.decay_at(0.0) - 0.1).abs() < 1e-12);
        assert!((ema.decay_at(90.0) - 0.91).abs() < 1e-12);
        assert_eq!(ema.decay_at(1e9), 0.9999);
    }

    #[test]
    fn update_blends_weights_and_counts() {
        let device = Device::flex();
        let a = tiny(&device);
        let b = tiny(&device); // other random weights
        let ema = ModelEma::new(&a, 0.5, &device);
        // Update 0 uses d = min(0.5, 1/10) = 0.1: ema = 0.1 a + 0.9 b.
        let ema = ema.update(&b);
        let wa = a.stem.conv.weight.val();
        let wb = b.stem.conv.weight.val();
        let expected = wa.mul_scalar(0.1) + wb.mul_scalar(0.9);
        let diff = (ema.net.stem.conv.weight.val() - expected)
            .abs()
            .max()
            .into_scalar::<f32>();
        assert!(diff < 1e-6, "max diff {diff}");
        assert_eq!(ema.updates.value_sync().into_scalar::<f32>(), 1.0);
    }
}
