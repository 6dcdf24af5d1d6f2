//! A backward pass reaches every parameter.

use efficientnet::EfficientNetConfig;

use super::{device, images, named_grads};

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
    let (mut missing, mut zero, mut checked) = (Vec::new(), Vec::new(), 0);
    for (name, grad) in named_grads(&model, &grads) {
        if name.ends_with("running_mean") || name.ends_with("running_var") {
            continue;
        }
        checked += 1;
        match grad {
            None => missing.push(name),
            Some(g) if g.iter().all(|&v| v == 0.0) => zero.push(name),
            Some(_) => {}
        }
    }
    assert!(checked > 200, "only {checked} parameters visited");
    assert!(missing.is_empty(), "no gradient: {missing:?}");
    assert!(zero.is_empty(), "zero gradient: {zero:?}");
}

#[test]
fn backward_reaches_every_parameter_of_b0() {
    check(EfficientNetConfig::b0());
}

#[test]
fn backward_reaches_every_parameter_of_v2_b0() {
    check(EfficientNetConfig::v2_b0().tf());
}
