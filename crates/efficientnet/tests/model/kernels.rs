//! This crate's flex kernels against the stock Burn ops they replace.

use burn::module::Param;
use burn::nn::conv::Conv2dConfig;
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation;
use burn::tensor::{Device, Distribution, Tensor, TensorData, Tolerance};
use efficientnet::Activation;
use efficientnet::kernels;

use crate::device;

/// `[2, 96, 40, 40]` (above the kernel's threshold for threads) from N(0, 4), with extremes.
fn values(device: &Device) -> Tensor<4> {
    let x = Tensor::<4>::random([2, 96, 40, 40], Distribution::Normal(0.0, 4.0), device);
    let edges = Tensor::<1>::from_floats(
        [-1e30, -100.0, -88.0, -20.0, 0.0, 20.0, 100.0, 1e30],
        device,
    );
    x.slice_assign([0..1, 0..1, 0..1, 0..8], edges.reshape([1, 1, 1, 8]))
}

fn assert_close<const D: usize>(got: Tensor<D>, want: Tensor<D>, tolerance: Tolerance<f32>) {
    got.into_data()
        .assert_approx_eq::<f32>(&want.into_data(), tolerance);
}

#[test]
fn silu_matches_burn_forward_on_contiguous_and_strided_inputs() {
    let device = device();
    let x = values(&device);
    let tolerance = Tolerance::relative(4e-7).set_absolute(1e-30);
    assert_close(
        kernels::silu(x.clone()),
        activation::silu(x.clone()),
        tolerance,
    );
    // A permuted view (not contiguous) and a slice (offset storage).
    let t = x.clone().permute([0, 2, 3, 1]);
    assert_close(kernels::silu(t.clone()), activation::silu(t), tolerance);
    let s = x.slice([1..2, 10..20]);
    assert_close(kernels::silu(s.clone()), activation::silu(s), tolerance);
    // A small tensor (one thread) and a non-finite value.
    let nan = Tensor::<1>::from_floats([f32::NAN, 1.0], &device);
    let out: Vec<f32> = kernels::silu(nan).into_data().try_to_vec().expect("f32");
    assert!(out[0].is_nan());
    assert!((out[1] - 0.731_058_6).abs() < 1e-7);
}

#[test]
fn silu_gradient_matches_burn_autodiff() {
    let device = device().autodiff();
    let x = values(&device).require_grad();
    let weights = Tensor::<4>::random(x.shape(), Distribution::Default, &device);
    let ours = (kernels::silu(x.clone()) * weights.clone())
        .sum()
        .backward();
    let ours = x.grad(&ours).expect("gradient");
    let x2 = x.clone().detach().require_grad();
    let stock = (activation::silu(x2.clone()) * weights).sum().backward();
    let stock = x2.grad(&stock).expect("gradient");
    // The gradient is at most 1.1 in size; f32 rounding of the composed stock backward.
    assert_close(ours, stock, Tolerance::absolute(1e-6));
}

#[test]
fn silu_keeps_its_input_when_the_caller_still_holds_it() {
    let device = device();
    let x = values(&device);
    let before = x.to_data();
    let _ = kernels::silu(x.clone());
    x.into_data().assert_eq(&before, true);
    // And a 0-d like tensor of f64 values converted through the fallback dtype path stays right.
    let one = Tensor::<1>::from_data(TensorData::from([2.0f32]), &device);
    let out: Vec<f32> = kernels::silu(one).into_data().try_to_vec().expect("f32");
    assert!((out[0] - 1.761_594_2).abs() < 1e-6);
}

#[test]
fn conv2d_gradients_match_burn_for_pointwise_depthwise_and_general_convolutions() {
    let device = device().autodiff();
    // (name, [c_in, c_out], kernel, stride, groups, padding, input side)
    let cases = [
        ("1x1 expand", [16, 96], 1, 1, 1, PaddingConfig2d::Valid, 12),
        ("1x1 project", [96, 24], 1, 1, 1, PaddingConfig2d::Valid, 7),
        (
            "depthwise 3x3 s1",
            [24, 24],
            3,
            1,
            24,
            PaddingConfig2d::Explicit(1, 1, 1, 1),
            10,
        ),
        (
            "depthwise 3x3 s2 same",
            [16, 16],
            3,
            2,
            16,
            PaddingConfig2d::Same,
            12,
        ),
        (
            "depthwise 5x5 s2",
            [8, 8],
            5,
            2,
            8,
            PaddingConfig2d::Explicit(2, 2, 2, 2),
            11,
        ),
        (
            "stem 3x3 s2",
            [3, 8],
            3,
            2,
            1,
            PaddingConfig2d::Explicit(1, 1, 1, 1),
            12,
        ),
        ("1x1 strided", [8, 8], 1, 2, 1, PaddingConfig2d::Valid, 9),
    ];
    for (name, channels, kernel, stride, groups, padding, side) in cases {
        let conv = Conv2dConfig::new(channels, [kernel, kernel])
            .with_stride([stride, stride])
            .with_groups(groups)
            .with_padding(padding)
            .with_bias(false)
            .init(&device);
        let x = Tensor::<4>::random([2, channels[0], side, side], Distribution::Default, &device)
            .require_grad();
        let ours = kernels::conv2d(&conv, x.clone());
        let stock = conv.forward(x.clone());
        let tolerance = Tolerance::absolute(1e-5);
        assert_close(ours.clone(), stock.clone(), tolerance);
        // The same upstream gradient through both.
        let upstream = Tensor::<4>::random(ours.dims(), Distribution::Default, &device);
        let ours = (ours * upstream.clone()).sum().backward();
        let stock = (stock * upstream).sum().backward();
        let weight = conv.weight.val();
        let grad = |g: &_| {
            (
                x.grad(g).expect("x grad"),
                weight.grad(g).expect("weight grad"),
            )
        };
        let ((ours_x, ours_w), (stock_x, stock_w)) = (grad(&ours), grad(&stock));
        println!("{name}");
        assert_close(ours_x, stock_x, tolerance);
        assert_close(ours_w, stock_w, Tolerance::absolute(1e-4));
    }
}

/// A batch norm over `channels` with random affine parameters and running statistics.
fn batch_norm(channels: usize, device: &Device) -> BatchNorm {
    let mut bn = BatchNormConfig::new(channels)
        .with_momentum(0.3)
        .init(device);
    let random =
        |low, high| Tensor::<1>::random([channels], Distribution::Uniform(low, high), device);
    bn.gamma = Param::from_tensor(random(0.5, 1.5));
    bn.beta = Param::from_tensor(random(-0.5, 0.5));
    bn.running_mean.update(random(-1.0, 1.0));
    bn.running_var.update(random(0.5, 2.0));
    bn
}

/// The stock composition the fused kernel replaces: Burn's `BatchNorm`, then the activation.
fn stock_batch_norm_activation(bn: &BatchNorm, act: Option<Activation>, x: Tensor<4>) -> Tensor<4> {
    let y = bn.forward(x);
    match act {
        None => y,
        Some(Activation::Silu) => activation::silu(y),
        Some(Activation::Relu6) => activation::relu6(y),
    }
}

#[test]
fn batch_norm_training_matches_burn_outputs_gradients_and_running_statistics() {
    let device = device().autodiff();
    for act in [None, Some(Activation::Silu), Some(Activation::Relu6)] {
        println!("{act:?}");
        // Batch 3 of 24 channels at 9x7 (odd plane, so the lane sums have tails), offset values.
        let x = Tensor::<4>::random([3, 24, 9, 7], Distribution::Normal(2.0, 3.0), &device)
            .require_grad();
        let upstream = Tensor::<4>::random(x.shape(), Distribution::Default, &device);
        let mut ours_bn = batch_norm(24, &device);
        // Gammas up to 4 put ~10% of the normalised values past ReLU6's 6.
        let gamma = Tensor::<1>::random([24], Distribution::Uniform(0.5, 4.0), &device);
        ours_bn.gamma = Param::from_tensor(gamma);
        let stock_bn = ours_bn.clone();
        let ours = kernels::batch_norm_activation(&ours_bn, act, x.clone());
        let stock = stock_batch_norm_activation(&stock_bn, act, x.clone());
        assert_close(ours.clone(), stock.clone(), Tolerance::absolute(2e-5));
        for (a, b) in [
            (ours_bn.running_mean.value(), stock_bn.running_mean.value()),
            (ours_bn.running_var.value(), stock_bn.running_var.value()),
        ] {
            assert_close(a, b, Tolerance::absolute(1e-5));
        }
        let ours = (ours * upstream.clone()).sum().backward();
        let stock = (stock * upstream).sum().backward();
        assert_close(
            x.grad(&ours).expect("x"),
            x.grad(&stock).expect("x"),
            Tolerance::absolute(5e-5),
        );
        for (a, b) in [
            (&ours_bn.gamma, &stock_bn.gamma),
            (&ours_bn.beta, &stock_bn.beta),
        ] {
            let (a, b) = (
                a.val().grad(&ours).expect("ours"),
                b.val().grad(&stock).expect("stock"),
            );
            assert_close(a, b, Tolerance::absolute(2e-4));
        }
    }
}

#[test]
fn channel_scale_matches_burn_forward_and_gradients() {
    let device = device().autodiff();
    // 9x7 planes (lane sums with tails), gates of both signs.
    let x =
        Tensor::<4>::random([3, 5, 9, 7], Distribution::Normal(0.5, 2.0), &device).require_grad();
    let gate =
        Tensor::<4>::random([3, 5, 1, 1], Distribution::Uniform(-1.0, 1.0), &device).require_grad();
    let upstream = Tensor::<4>::random(x.shape(), Distribution::Default, &device);
    let ours = kernels::channel_scale(x.clone(), gate.clone());
    let stock = x.clone() * gate.clone();
    assert_close(ours.clone(), stock.clone(), Tolerance::absolute(1e-6));
    let ours = (ours * upstream.clone()).sum().backward();
    let stock = (stock * upstream).sum().backward();
    for (a, b) in [
        (x.grad(&ours), x.grad(&stock)),
        (gate.grad(&ours), gate.grad(&stock)),
    ] {
        assert_close(
            a.expect("ours"),
            b.expect("stock"),
            Tolerance::absolute(1e-4),
        );
    }
}

#[test]
fn plane_mean_matches_burn_forward_and_gradients() {
    let device = device().autodiff();
    // 9x7 planes (lane sums with tails); the squeeze and a 1x1 convolution on it with bias (a
    // matrix product in `kernels::conv2d`), as squeeze-excitation chains them.
    let x =
        Tensor::<4>::random([3, 5, 9, 7], Distribution::Normal(0.5, 2.0), &device).require_grad();
    let conv = Conv2dConfig::new([5, 4], [1, 1]).init(&device);
    let ours = kernels::conv2d(&conv, kernels::plane_mean(x.clone()));
    let stock = conv.forward(x.clone().mean_dim(3).mean_dim(2));
    assert_eq!(ours.dims(), [3, 4, 1, 1]);
    assert_close(ours.clone(), stock.clone(), Tolerance::absolute(1e-5));
    let upstream = Tensor::<4>::random([3, 4, 1, 1], Distribution::Default, &device);
    let ours = (ours * upstream.clone()).sum().backward();
    let stock = (stock * upstream).sum().backward();
    let weight = conv.weight.val();
    let bias = conv.bias.as_ref().expect("bias").val();
    assert_close(
        x.grad(&ours).expect("ours"),
        x.grad(&stock).expect("stock"),
        Tolerance::absolute(1e-6),
    );
    assert_close(
        weight.grad(&ours).expect("ours"),
        weight.grad(&stock).expect("stock"),
        Tolerance::absolute(1e-5),
    );
    assert_close(
        bias.grad(&ours).expect("ours"),
        bias.grad(&stock).expect("stock"),
        Tolerance::absolute(1e-6),
    );
}

#[test]
fn batch_norm_inference_matches_burn() {
    let device = device();
    let bn = batch_norm(16, &device);
    let x = Tensor::<4>::random([2, 16, 5, 6], Distribution::Normal(1.0, 2.0), &device);
    assert_close(
        kernels::batch_norm(&bn, x.clone()),
        bn.forward(x),
        Tolerance::absolute(1e-5),
    );
}
