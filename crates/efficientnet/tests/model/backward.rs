//! A backward pass reaches every parameter.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Gradients, Tensor};
use efficientnet::EfficientNetConfig;

use super::{device, images};

/// Records, for every trainable parameter, whether it got a gradient and whether it is non-zero.
struct GradCheck<'a> {
    grads: &'a Gradients,
    path: Vec<String>,
    missing: Vec<String>,
    zero: Vec<String>,
    checked: usize,
}

impl ModuleVisitor for GradCheck<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_owned());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let name = self.path.join(".");
        if name.ends_with("running_mean") || name.ends_with("running_var") {
            return;
        }
        self.checked += 1;
        match param.val().grad(self.grads) {
            None => self.missing.push(name),
            Some(g) => {
                if g.abs().sum().into_scalar::<f32>() == 0.0 {
                    self.zero.push(name);
                }
            }
        }
    }
}

fn check(config: EfficientNetConfig) {
    let device = device().autodiff();
    // No stochastic depth or dropout, so every parameter must get a non-zero gradient.
    let model = config
        .with_drop_path_rate(0.0)
        .with_dropout(0.0)
        .with_num_classes(10)
        .init(&device);
    let logits = model.forward(images([2, 3, 64, 64], &device));
    let loss = (logits.clone() * logits).mean();
    let grads = loss.backward();
    let mut visitor = GradCheck {
        grads: &grads,
        path: Vec::new(),
        missing: Vec::new(),
        zero: Vec::new(),
        checked: 0,
    };
    model.visit(&mut visitor);
    assert!(
        visitor.checked > 200,
        "only {} parameters visited",
        visitor.checked
    );
    assert!(
        visitor.missing.is_empty(),
        "no gradient: {:?}",
        visitor.missing
    );
    assert!(visitor.zero.is_empty(), "zero gradient: {:?}", visitor.zero);
}

#[test]
fn backward_reaches_every_parameter_of_b0() {
    check(EfficientNetConfig::b0());
}

#[test]
fn backward_reaches_every_parameter_of_v2_b0() {
    check(EfficientNetConfig::v2_b0().tf());
}
