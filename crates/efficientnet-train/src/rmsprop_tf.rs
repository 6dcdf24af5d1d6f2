//! RMSProp as in the TF reference and timm's `RMSpropTF` (`timm/optim/rmsprop_tf.py`), used by
//! the EfficientNet paper: decay 0.9, momentum 0.9, epsilon 1e-3 *inside* the square root, the
//! square average initialised to one, and the learning rate applied inside the momentum buffer:
//!
//! ```text
//! v <- a * v + (1 - a) * g^2            (v_0 = 1)
//! b <- m * b + lr * g / sqrt(v + eps)   (b_0 = 0)
//! p <- p - b
//! ```
//!
//! Burn's `RmsProp` is PyTorch's (eps outside the root, `v_0 = 0`), which trains differently.

use burn::config::Config;
use burn::optim::LearningRate;
use burn::optim::{ModuleOptimizer, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};

/// Configuration of [`RmsPropTf`].
#[derive(Config, Debug)]
pub struct RmsPropTfConfig {
    /// Square-average decay (TF `decay`, PyTorch `alpha`).
    #[config(default = 0.9)]
    pub alpha: f32,
    /// Momentum.
    #[config(default = 0.9)]
    pub momentum: f32,
    /// Epsilon added inside the square root.
    #[config(default = 1e-3)]
    pub epsilon: f32,
    /// L2 penalty added to the gradient (`g + wd * p`); 0 disables it.
    #[config(default = 0.0)]
    pub weight_decay: f32,
}

impl RmsPropTfConfig {
    /// The bare optimizer (for parameter groups).
    pub fn build(&self) -> RmsPropTf {
        RmsPropTf {
            alpha: self.alpha,
            momentum: self.momentum,
            epsilon: self.epsilon,
            weight_decay: self.weight_decay,
        }
    }

    /// A module optimizer.
    pub fn init(&self) -> ModuleOptimizer {
        ModuleOptimizer::from(self.build())
    }
}

/// TF-style RMSProp; see the module docs.
#[derive(Clone, Debug)]
pub struct RmsPropTf {
    alpha: f32,
    momentum: f32,
    epsilon: f32,
    weight_decay: f32,
}

/// Per-parameter state of [`RmsPropTf`].
#[derive(Clone)]
pub struct RmsPropTfState<const D: usize> {
    /// Running average of squared gradients.
    pub square_avg: Tensor<D>,
    /// Momentum buffer (already scaled by the learning rate).
    pub momentum_buf: Tensor<D>,
}

// Written out: the `RecordState` derive only works inside burn-optim.
impl<const D: usize> RecordState for RmsPropTfState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_tensor(prefix, "square_avg", self.square_avg.clone().into_data());
        out.push_tensor(
            prefix,
            "momentum_buf",
            self.momentum_buf.clone().into_data(),
        );
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        Some(Self {
            square_avg: Tensor::from_data(src.take_tensor(prefix, "square_avg")?, device),
            momentum_buf: Tensor::from_data(src.take_tensor(prefix, "momentum_buf")?, device),
        })
    }
}

impl Optimizer for RmsPropTf {
    type State<const D: usize> = RmsPropTfState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        mut grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if self.weight_decay != 0.0 {
            grad = grad + tensor.clone().mul_scalar(self.weight_decay);
        }
        let (square_avg, momentum_buf) = match state {
            Some(s) => (s.square_avg, s.momentum_buf),
            None => (grad.ones_like(), grad.zeros_like()),
        };
        let square_avg = square_avg.mul_scalar(self.alpha)
            + grad.clone().powi_scalar(2).mul_scalar(1.0 - self.alpha);
        let step = grad
            .div(square_avg.clone().add_scalar(self.epsilon).sqrt())
            .mul_scalar(lr);
        let momentum_buf = momentum_buf.mul_scalar(self.momentum) + step;
        let tensor = tensor - momentum_buf.clone();
        (
            tensor,
            Some(RmsPropTfState {
                square_avg,
                momentum_buf,
            }),
        )
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        RmsPropTfState {
            square_avg: state.square_avg.to_device(device),
            momentum_buf: state.momentum_buf.to_device(device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// timm's update written out by hand for a scalar parameter.
    fn reference(steps: &[f64], lr: f64) -> Vec<f64> {
        let (a, m, eps) = (0.9, 0.9, 1e-3);
        let (mut p, mut v, mut b) = (1.0f64, 1.0f64, 0.0f64);
        let mut out = Vec::new();
        for g in steps {
            v = a * v + (1.0 - a) * g * g;
            b = m * b + lr * g / (v + eps).sqrt();
            p -= b;
            out.push(p);
        }
        out
    }

    #[test]
    fn matches_timm_rmsproptf_by_hand() {
        let device = Device::flex();
        let optim = RmsPropTfConfig::new().build();
        let grads = [0.5, -1.0, 2.0, 0.1, 0.0];
        let lr = 0.01;
        let mut p = Tensor::<1>::from_data(TensorData::from([1.0f32]), &device);
        let mut state = None;
        let expected = reference(&grads, lr);
        for (g, want) in grads.iter().zip(expected) {
            let grad = Tensor::<1>::from_data(TensorData::from([*g as f32]), &device);
            let (next, next_state) = optim.step(lr, p, grad, state);
            p = next;
            state = next_state;
            let got = p.clone().into_scalar::<f32>() as f64;
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }
}
