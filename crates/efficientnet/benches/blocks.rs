//! Micro-benchmarks of EfficientNet-B0's building blocks on the flex CPU backend, forward
//! (inference) and forward + backward (training), at the shapes they have in B0 at 224 px,
//! batch 1 — to find where a whole-model gap to PyTorch sits.
//!
//! ```sh
//! cargo bench -p efficientnet --bench blocks [-- FILTER]
//! ```

#![allow(missing_docs)] // criterion's macros generate undocumented functions

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use efficientnet::blocks::{Block, MbConv};
use efficientnet::{EfficientNet, EfficientNetConfig};

/// The first MBConv of stage `stage` (0-based) and its input side at 224 px.
fn mbconv(model: &EfficientNet, stage: usize, block: usize) -> MbConv {
    match &model.stages[stage].blocks[block] {
        Block::MbConv(b) => b.clone(),
        Block::FusedMbConv(_) => unreachable!("B0 has no fused blocks"),
    }
}

fn input(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::random(shape, Distribution::Default, device)
}

/// Registers `name`: forward on `device` (no autodiff) and forward + backward on its autodiff
/// twin, of `layer` built by `make` on each.
fn bench_layer<M>(
    c: &mut Criterion,
    name: &str,
    shape: [usize; 4],
    make: impl Fn(&Device) -> M,
    forward: impl Fn(&M, Tensor<4>) -> Tensor<4>,
) {
    let device = Device::flex();
    let layer = make(&device);
    let x = input(shape, &device);
    c.bench_function(&format!("{name}/forward"), |b| {
        b.iter(|| forward(&layer, x.clone()).into_data())
    });
    let train = device.autodiff();
    let layer = make(&train);
    let x = input(shape, &train).require_grad();
    c.bench_function(&format!("{name}/forward+backward"), |b| {
        b.iter(|| forward(&layer, x.clone()).sum().backward())
    });
}

/// Full-size EfficientNet-B0 on `device`.
fn b0(device: &Device) -> EfficientNet {
    EfficientNetConfig::b0().init(device)
}

/// B0's first stage-1 block (16 -> 24, 3x3 stride 2 at 112 px).
fn stage1(device: &Device) -> MbConv {
    mbconv(&b0(device), 1, 0)
}

/// The stem, then stage 1's expansion and its parts (convolution, BatchNorm, SiLU), each next
/// to the stock Burn op it replaces.
fn stem_and_expansion(c: &mut Criterion) {
    // Stem: 3 -> 32, 3x3 stride 2, at 224 px.
    bench_layer(
        c,
        "stem 3->32 3x3 s2 @224",
        [1, 3, 224, 224],
        |d| b0(d).stem,
        |m, x| m.forward(x),
    );
    // Stage 1 (16 -> 24): expand 16 -> 96 at 112, depthwise 3x3 s2, project 96 -> 24 at 56.
    bench_layer(
        c,
        "expand 1x1 16->96 @112",
        [1, 16, 112, 112],
        |d| stage1(d).expand.expect("expand"),
        |m, x| m.forward(x),
    );
    // The expansion's parts: the 1x1 convolution alone, then its BatchNorm and SiLU alone.
    bench_layer(
        c,
        "expand conv only 1x1 16->96 @112",
        [1, 16, 112, 112],
        |d| stage1(d).expand.expect("expand").conv,
        efficientnet::kernels::conv2d,
    );
    // The stock op the model's convolutions replace on flex (its backward differs).
    bench_layer(
        c,
        "expand conv only (burn Conv2d::forward) 1x1 16->96 @112",
        [1, 16, 112, 112],
        |d| stage1(d).expand.expect("expand").conv,
        |m, x| m.forward(x),
    );
    bench_layer(
        c,
        "batchnorm 96 @112",
        [1, 96, 112, 112],
        |d| stage1(d).expand.expect("expand").bn.expect("bn"),
        efficientnet::kernels::batch_norm,
    );
    bench_layer(
        c,
        "batchnorm (burn BatchNorm::forward) 96 @112",
        [1, 96, 112, 112],
        |d| stage1(d).expand.expect("expand").bn.expect("bn"),
        |m, x| m.forward(x),
    );
    bench_layer(
        c,
        "silu 96 @112",
        [1, 96, 112, 112],
        |_| efficientnet::Activation::Silu,
        |act, x| act.forward(x),
    );
    // The stock op this crate's flex kernel replaces (`efficientnet::kernels::silu`).
    bench_layer(
        c,
        "silu (burn activation::silu) 96 @112",
        [1, 96, 112, 112],
        |_| (),
        |_, x| burn::tensor::activation::silu(x),
    );
}

/// Stage 1's depthwise convolution (with and without its BatchNorm and SiLU), SE, projection and
/// the whole block.
fn stage1_block(c: &mut Criterion) {
    bench_layer(
        c,
        "depthwise 3x3 s2 96 @112",
        [1, 96, 112, 112],
        |d| stage1(d).depthwise,
        |m, x| m.forward(x),
    );
    bench_layer(
        c,
        "depthwise conv only (burn Conv2d::forward) 3x3 s2 96 @112",
        [1, 96, 112, 112],
        |d| stage1(d).depthwise.conv,
        |m, x| m.forward(x),
    );
    bench_layer(
        c,
        "depthwise conv only 3x3 s2 96 @112",
        [1, 96, 112, 112],
        |d| stage1(d).depthwise.conv,
        efficientnet::kernels::conv2d,
    );
    bench_layer(
        c,
        "squeeze-excitation 96 @56",
        [1, 96, 56, 56],
        |d| stage1(d).se.expect("se"),
        |m, x| m.forward(x),
    );
    bench_layer(
        c,
        "project 1x1 96->24 @56",
        [1, 96, 56, 56],
        |d| stage1(d).project,
        |m, x| m.forward(x),
    );
    bench_layer(
        c,
        "mbconv 16->24 k3 s2 @112",
        [1, 16, 112, 112],
        stage1,
        |m, x| m.forward(x),
    );
}

/// Depthwise convolutions of other kernel sizes, strides and widths.
fn later_depthwise(c: &mut Criterion) {
    // Stage 1 block 2: depthwise 3x3 stride 1, 144 channels at 56.
    bench_layer(
        c,
        "depthwise 3x3 s1 144 @56",
        [1, 144, 56, 56],
        |d| mbconv(&b0(d), 1, 1).depthwise,
        |m, x| m.forward(x),
    );
    // Stage 2 (24 -> 40): depthwise 5x5 stride 2 at 56; block 2: 5x5 stride 1 at 28.
    bench_layer(
        c,
        "depthwise 5x5 s2 144 @56",
        [1, 144, 56, 56],
        |d| mbconv(&b0(d), 2, 0).depthwise,
        |m, x| m.forward(x),
    );
    bench_layer(
        c,
        "depthwise 5x5 s1 240 @28",
        [1, 240, 28, 28],
        |d| mbconv(&b0(d), 2, 1).depthwise,
        |m, x| m.forward(x),
    );
}

/// The whole network.
fn whole_network(c: &mut Criterion) {
    bench_layer(c, "b0 @224", [1, 3, 224, 224], b0, |m, x| {
        let logits = m.forward(x); // [1, 1000]
        logits.reshape([1, 1000, 1, 1])
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3));
    targets = stem_and_expansion, stage1_block, later_depthwise, whole_network
}
criterion_main!(benches);
