//! This crate's flex kernels against the stock Burn ops they replace.

use burn::tensor::activation;
use burn::tensor::{Device, Distribution, Tensor, TensorData, Tolerance};
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
