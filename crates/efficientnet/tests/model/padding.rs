//! TF "SAME" padding against hand-computed pad amounts.

use burn::nn::PaddingConfig2d;
use efficientnet::PaddingMode;
use efficientnet::blocks::ConvBnActConfig;

use super::{device, images};

/// `(before, after)` padding of one spatial axis.
type Pad = (usize, usize);

/// `(kernel, stride, input h, input w, (top, bottom), (left, right))`, computed by hand from
/// TF: `out = ceil(in / s)`, `pad = max((out - 1) * s + k - in, 0)`, `before = pad / 2`.
const CASES: [(usize, usize, usize, usize, Pad, Pad); 7] = [
    (3, 1, 14, 14, (1, 1), (1, 1)),   // stride 1: symmetric k/2
    (5, 1, 14, 9, (2, 2), (2, 2)),    // stride 1, k 5
    (3, 2, 224, 224, (0, 1), (0, 1)), // out 112: pad 1 -> (0, 1)
    (5, 2, 224, 224, (1, 2), (1, 2)), // out 112: pad 3 -> (1, 2)
    (3, 2, 225, 225, (1, 1), (1, 1)), // odd input, out 113: pad 2 -> (1, 1)
    (5, 2, 15, 16, (2, 2), (1, 2)),   // h: out 8, pad 4; w: out 8, pad 3
    (3, 2, 7, 10, (1, 1), (0, 1)),    // h: out 4, pad 2; w: out 5, pad 1
];

#[test]
fn tf_same_matches_explicit_hand_computed_padding() {
    let device = device();
    for (k, s, h, w, (top, bottom), (left, right)) in CASES {
        let layer = ConvBnActConfig::new(4, 6, k)
            .with_stride(s)
            .with_padding(PaddingMode::TfSame)
            .init(&device);
        let mut explicit = layer.conv.clone();
        explicit.padding = PaddingConfig2d::Explicit(top, left, bottom, right);

        let x = images([1, 4, h, w], &device);
        let same = layer.conv.forward(x.clone());
        let by_hand = explicit.forward(x);
        assert_eq!(
            same.dims(),
            [1, 6, h.div_ceil(s), w.div_ceil(s)],
            "k{k} s{s} {h}x{w}"
        );
        same.into_data().assert_eq(&by_hand.into_data(), true);
    }
}

#[test]
fn symmetric_padding_is_k_over_2_and_differs_from_same_at_stride_2() {
    let device = device();
    let layer = ConvBnActConfig::new(3, 8, 3).with_stride(2).init(&device);
    assert_eq!(layer.conv.padding, PaddingConfig2d::Explicit(1, 1, 1, 1));
    let mut same = layer.conv.clone();
    same.padding = PaddingMode::TfSame.to_burn(3);
    let x = images([1, 3, 16, 16], &device);
    let a = layer.conv.forward(x.clone());
    let b = same.forward(x);
    assert_eq!(a.dims(), b.dims());
    let diff = (a - b).abs().max().into_scalar::<f32>();
    assert!(diff > 1e-3, "stride-2 SAME is shifted by one pixel");
}
