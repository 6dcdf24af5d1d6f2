//! Stochastic depth: the per-block schedule and its train/eval behaviour.

use burn::module::{Module, Param};
use burn::tensor::Tensor;
use efficientnet::EfficientNetConfig;
use efficientnet::blocks::DropPath;

use super::{device, images};

#[test]
fn rate_is_p_times_global_index_over_block_count() {
    let device = device();
    for config in [EfficientNetConfig::b0(), EfficientNetConfig::v2_s()] {
        let p = config.drop_path_rate;
        let model = config.init(&device);
        let rates: Vec<f64> = model.blocks().map(|b| b.drop_path().prob).collect();
        let n = rates.len();
        assert_eq!(rates[0], 0.0, "block 0 is never dropped");
        for (i, rate) in rates.iter().enumerate() {
            let expected = p * i as f64 / n as f64;
            assert!(
                (rate - expected).abs() < 1e-12,
                "block {i}: {rate} vs {expected}"
            );
        }
        assert!(rates[n - 1] < p, "the last block gets p (N-1)/N, never p");
    }
    // B0: 16 blocks, p = 0.2 -> last block 0.1875.
    let b0 = EfficientNetConfig::b0().plan();
    let last = b0.blocks().last().expect("blocks");
    assert!((last.drop_path - 0.1875).abs() < 1e-12);
}

#[test]
fn drop_path_is_the_identity_in_eval() {
    let x = images([8, 4, 3, 3], &device());
    let layer = DropPath::new(0.5);
    // Plain (inference) device: identity.
    layer
        .forward(x.clone())
        .into_data()
        .assert_eq(&x.clone().into_data(), true);
    // Autodiff device but the training flag cleared (what `valid()`/`freeze()` do): identity.
    let ad = device().autodiff();
    let xa = x.clone().to_device(&ad);
    let eval = DropPath {
        prob: 0.5,
        training: Param::from_bool(false),
    };
    eval.forward(xa.clone())
        .into_data()
        .assert_eq(&xa.clone().into_data(), true);
    let frozen = DropPath::new(0.5).valid();
    frozen
        .forward(x.clone())
        .into_data()
        .assert_eq(&x.into_data(), true);
}

#[test]
fn drop_path_drops_whole_samples_in_training() {
    let ad = device().autodiff();
    let n = 256;
    let x = Tensor::<4>::ones([n, 3, 2, 2], &ad);
    let y = DropPath::new(0.5).forward(x);
    let values: Vec<f32> = y.into_data().try_to_vec::<f32>().expect("f32 data");
    let mut dropped = 0;
    for sample in values.chunks(12) {
        let first = sample[0];
        assert!(sample.iter().all(|v| *v == first), "mask is per sample");
        assert!(
            first == 0.0 || (first - 2.0).abs() < 1e-6,
            "kept samples scaled by 1/(1-p)"
        );
        dropped += usize::from(first == 0.0);
    }
    // Binomial(256, 0.5): mean 128, sd 8; 6 sd either side.
    assert!((80..=176).contains(&dropped), "dropped {dropped} of {n}");
}
