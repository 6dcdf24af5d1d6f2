//! Which kind a convolution is, for the kernels that treat 1x1 and depthwise ones apart.

use burn::tensor::Shape;
use burn::tensor::ops::ConvOptions;

use super::stem;

/// Which kernels a convolution gets on flex: forward and backward of 1x1 and depthwise ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ConvKind {
    /// 1x1, stride 1, no padding, one group: forward and gradients are matrix products.
    Pointwise,
    /// One group per channel, `C_out == C_in`, no dilation: `depthwise::forward` and
    /// `depthwise_*_grad`.
    Depthwise,
    /// One group, at most [`stem::MAX_INPUTS`] input channels, no dilation, not 1x1: the
    /// stem on the image. `stem::forward` and `stem::weight_grad`; the input gradient (which
    /// an image does not need) is Burn's.
    Stem,
    /// Anything else: Burn's `conv2d_x_backward` / `conv2d_weight_backward`.
    General,
}

impl ConvKind {
    /// The kind of a convolution of `x` by `weight` (`[C_out, C_in / groups, KH, KW]`).
    pub(super) fn of(x: &Shape, weight: &Shape, options: &ConvOptions<2>) -> Self {
        let undilated = options.dilation == [1, 1];
        let pointwise = weight[2] == 1
            && weight[3] == 1
            && options.stride == [1, 1]
            && options.padding == [(0, 0), (0, 0)]
            && options.groups == 1;
        let depthwise =
            options.groups == x[1] && weight[0] == x[1] && weight[1] == 1 && options.groups > 1;
        let stem = options.groups == 1 && x[1] <= stem::MAX_INPUTS && weight[1] == x[1];
        match (undilated, pointwise, depthwise, stem) {
            (true, true, _, _) => ConvKind::Pointwise,
            (true, _, true, _) => ConvKind::Depthwise,
            (true, _, _, true) => ConvKind::Stem,
            _ => ConvKind::General,
        }
    }
}
