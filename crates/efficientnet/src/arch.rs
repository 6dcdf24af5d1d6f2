//! Stage tables, one per family, and the compound-scaling rules that turn a table and a
//! `(width, depth)` pair into a concrete block plan.
//!
//! Every variant is derived from these tables; no scaled variant is written by hand.
//!
//! * EfficientNet (V1) and EfficientNet-Lite: Table 1 of Tan & Le, *EfficientNet: Rethinking Model
//!   Scaling for Convolutional Neural Networks*, ICML 2019, <https://arxiv.org/abs/1905.11946>.
//! * EfficientNetV2: Table 4 of Tan & Le, *EfficientNetV2: Smaller Models and Faster Training*,
//!   ICML 2021, <https://arxiv.org/abs/2104.00298>, with M/L/base from google/automl
//!   `effnetv2_configs.py` (identical in torchvision and timm).

use serde::{Deserialize, Serialize};

/// The kind of block a stage is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockKind {
    /// Inverted residual: 1x1 expand (skipped when the ratio is 1), depthwise kxk, optional SE,
    /// 1x1 project. With ratio 1 this is the "depthwise separable" block of V1's first stage.
    MbConv,
    /// Fused-MBConv (EfficientNetV2): one kxk convolution expands, a 1x1 projects (no SE).
    /// With ratio 1 it is a single kxk convolution + BN + activation.
    FusedMbConv,
}

/// One row of a stage table: `repeats` blocks of `kind`, the first one with `stride`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StageSpec {
    /// Block type.
    pub kind: BlockKind,
    /// Expansion ratio of the hidden width (1, 4 or 6).
    pub expand_ratio: usize,
    /// Kernel size of the spatial convolution.
    pub kernel: usize,
    /// Stride of the stage's first block.
    pub stride: usize,
    /// Output channels before width scaling.
    pub out_channels: usize,
    /// Number of blocks before depth scaling.
    pub repeats: usize,
    /// Squeeze-and-excitation ratio relative to the block *input* channels (0 = no SE).
    pub se_ratio: f64,
}

const fn mb(e: usize, k: usize, s: usize, c: usize, r: usize) -> StageSpec {
    StageSpec {
        kind: BlockKind::MbConv,
        expand_ratio: e,
        kernel: k,
        stride: s,
        out_channels: c,
        repeats: r,
        se_ratio: 0.25,
    }
}

const fn fused(e: usize, k: usize, s: usize, c: usize, r: usize) -> StageSpec {
    StageSpec {
        kind: BlockKind::FusedMbConv,
        expand_ratio: e,
        kernel: k,
        stride: s,
        out_channels: c,
        repeats: r,
        se_ratio: 0.0,
    }
}

/// EfficientNet-B0 (paper Table 1): `(expand, kernel, stride, out, repeats)`, SE 0.25; stem 32,
/// head 1280. B1–B7, B8, L2 and Lite0–4 are scaled from it.
pub const V1_BASE: [StageSpec; 7] = [
    mb(1, 3, 1, 16, 1),
    mb(6, 3, 2, 24, 2),
    mb(6, 5, 2, 40, 2),
    mb(6, 3, 2, 80, 3),
    mb(6, 5, 1, 112, 3),
    mb(6, 5, 2, 192, 4),
    mb(6, 3, 1, 320, 1),
];

/// EfficientNetV2-S (paper Table 4); stem 24, head 1280.
pub const V2_S: [StageSpec; 6] = [
    fused(1, 3, 1, 24, 2),
    fused(4, 3, 2, 48, 4),
    fused(4, 3, 2, 64, 4),
    mb(4, 3, 2, 128, 6),
    mb(6, 3, 1, 160, 9),
    mb(6, 3, 2, 256, 15),
];

/// EfficientNetV2-M (automl `efficientnetv2-m`); stem 24, head 1280.
pub const V2_M: [StageSpec; 7] = [
    fused(1, 3, 1, 24, 3),
    fused(4, 3, 2, 48, 5),
    fused(4, 3, 2, 80, 5),
    mb(4, 3, 2, 160, 7),
    mb(6, 3, 1, 176, 14),
    mb(6, 3, 2, 304, 18),
    mb(6, 3, 1, 512, 5),
];

/// EfficientNetV2-L (automl `efficientnetv2-l`); stem 32, head 1280.
pub const V2_L: [StageSpec; 7] = [
    fused(1, 3, 1, 32, 4),
    fused(4, 3, 2, 64, 7),
    fused(4, 3, 2, 96, 7),
    mb(4, 3, 2, 192, 10),
    mb(6, 3, 1, 224, 19),
    mb(6, 3, 2, 384, 25),
    mb(6, 3, 1, 640, 7),
];

/// EfficientNetV2 base (automl `efficientnetv2-b0`); stem 32, head 1280; B1–B3 scale it with
/// the V1 multipliers and channel rounding *without* the 10% rule.
pub const V2_BASE: [StageSpec; 6] = [
    fused(1, 3, 1, 16, 1),
    fused(4, 3, 2, 32, 2),
    fused(4, 3, 2, 48, 2),
    mb(4, 3, 2, 96, 3),
    mb(6, 3, 1, 112, 5),
    mb(6, 3, 2, 192, 8),
];

/// Rounds `channels * width` to a multiple of 8 (at least 8), as TF `round_filters`, timm
/// `make_divisible` and torchvision `_make_divisible`. With `ten_percent_rule` (V1, Lite) a
/// result more than 10% below the exact product is bumped up by 8; V2 has no such rule.
pub fn round_filters(channels: usize, width: f64, ten_percent_rule: bool) -> usize {
    const DIVISOR: usize = 8;
    let scaled = channels as f64 * width;
    let mut rounded = (((scaled + DIVISOR as f64 / 2.0) as usize) / DIVISOR * DIVISOR).max(DIVISOR);
    if ten_percent_rule && (rounded as f64) < 0.9 * scaled {
        rounded += DIVISOR;
    }
    rounded
}

/// Scales a stage's block count by `depth`, rounding up (`ceil`, as every reference does).
pub fn round_repeats(repeats: usize, depth: f64) -> usize {
    (repeats as f64 * depth).ceil() as usize
}

/// Spatial output size of a convolution with `stride` (`ceil(in / stride)`), for both symmetric
/// `k/2` padding with odd `k` and TF "SAME" padding.
pub fn conv_out_size(size: usize, stride: usize) -> usize {
    size.div_ceil(stride)
}

/// One concrete block of a network, after scaling.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockPlan {
    /// Block type.
    pub kind: BlockKind,
    /// Input channels.
    pub in_channels: usize,
    /// Hidden (expanded) channels; equals `in_channels` when the ratio is 1.
    pub mid_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel size of the spatial convolution.
    pub kernel: usize,
    /// Stride of the spatial convolution.
    pub stride: usize,
    /// Squeeze width of the SE module (from the *input* channels), `None` without SE.
    pub se_channels: Option<usize>,
    /// Stochastic-depth rate of the residual branch: `p * i / N` for global block `i` of `N`.
    pub drop_path: f64,
}

impl BlockPlan {
    /// Whether the block adds its input back (stride 1 and unchanged width).
    pub fn has_residual(&self) -> bool {
        self.stride == 1 && self.in_channels == self.out_channels
    }

    /// Whether the block has a separate expansion convolution.
    pub fn has_expansion(&self) -> bool {
        self.mid_channels != self.in_channels
    }
}

/// A full network plan: stem, stages of blocks, head.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchPlan {
    /// Input image channels.
    pub in_channels: usize,
    /// Stem convolution output channels (3x3, stride 2).
    pub stem_channels: usize,
    /// The stages, each a list of blocks.
    pub stages: Vec<Vec<BlockPlan>>,
    /// Channels of the 1x1 head convolution (the pooled feature width).
    pub head_channels: usize,
    /// Classifier outputs.
    pub num_classes: usize,
}

/// Where a multi-scale endpoint is taken: after `stage`, at `stride`, with `channels`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureInfo {
    /// Index of the stage whose output is the endpoint.
    pub stage: usize,
    /// Reduction of the endpoint relative to the input.
    pub stride: usize,
    /// Channels of the endpoint.
    pub channels: usize,
}

impl ArchPlan {
    /// All blocks in network order.
    pub fn blocks(&self) -> impl Iterator<Item = &BlockPlan> {
        self.stages.iter().flatten()
    }

    /// The endpoints at strides 2, 4, 8, 16, 32: the output of the last stage at each reduction
    /// (as timm `features_only`).
    pub fn feature_info(&self) -> Vec<FeatureInfo> {
        let mut stride = 2; // the stem
        let mut info: Vec<FeatureInfo> = Vec::with_capacity(5);
        for (stage, blocks) in self.stages.iter().enumerate() {
            stride *= blocks.first().map_or(1, |b| b.stride);
            let channels = blocks.last().map_or(0, |b| b.out_channels);
            match info.last_mut() {
                Some(last) if last.stride == stride => {
                    last.stage = stage;
                    last.channels = channels;
                }
                _ => info.push(FeatureInfo {
                    stage,
                    stride,
                    channels,
                }),
            }
        }
        info
    }

    /// Trainable parameters (BatchNorm running statistics excluded), counted from the plan.
    pub fn num_params(&self) -> usize {
        let conv = |cin: usize, cout: usize, k: usize, groups: usize| cout * cin / groups * k * k;
        let bn = |c: usize| 2 * c;
        let mut total = conv(self.in_channels, self.stem_channels, 3, 1) + bn(self.stem_channels);
        for b in self.blocks() {
            total += match b.kind {
                BlockKind::MbConv => {
                    let expand = if b.has_expansion() {
                        conv(b.in_channels, b.mid_channels, 1, 1) + bn(b.mid_channels)
                    } else {
                        0
                    };
                    let dw = conv(b.mid_channels, b.mid_channels, b.kernel, b.mid_channels)
                        + bn(b.mid_channels);
                    let se = b.se_channels.map_or(0, |s| {
                        conv(b.mid_channels, s, 1, 1)
                            + s
                            + conv(s, b.mid_channels, 1, 1)
                            + b.mid_channels
                    });
                    let project = conv(b.mid_channels, b.out_channels, 1, 1) + bn(b.out_channels);
                    expand + dw + se + project
                }
                BlockKind::FusedMbConv if b.has_expansion() => {
                    conv(b.in_channels, b.mid_channels, b.kernel, 1)
                        + bn(b.mid_channels)
                        + conv(b.mid_channels, b.out_channels, 1, 1)
                        + bn(b.out_channels)
                }
                BlockKind::FusedMbConv => {
                    conv(b.in_channels, b.out_channels, b.kernel, 1) + bn(b.out_channels)
                }
            };
        }
        let last = self.last_channels();
        total += conv(last, self.head_channels, 1, 1) + bn(self.head_channels);
        total + self.head_channels * self.num_classes + self.num_classes
    }

    /// Multiply-accumulates of one forward pass on a `height` x `width` image, counting
    /// convolutions and the classifier (the convention of torchvision's "GFLOPS" column).
    pub fn macs(&self, height: usize, width: usize) -> u64 {
        self.macs_by_op(height, width).total()
    }

    /// [`macs`](Self::macs) split by kind of layer.
    pub fn macs_by_op(&self, height: usize, width: usize) -> MacsByOp {
        let (mut h, mut w) = (conv_out_size(height, 2), conv_out_size(width, 2));
        let conv = |cin: usize, cout: usize, k: usize, groups: usize, hw: usize| {
            (cout * cin / groups * k * k * hw) as u64
        };
        let mut m = MacsByOp {
            stem: conv(self.in_channels, self.stem_channels, 3, 1, h * w),
            ..MacsByOp::default()
        };
        for b in self.blocks() {
            let (ho, wo) = (conv_out_size(h, b.stride), conv_out_size(w, b.stride));
            let project = conv(b.mid_channels, b.out_channels, 1, 1, ho * wo);
            match b.kind {
                BlockKind::MbConv => {
                    if b.has_expansion() {
                        m.expand += conv(b.in_channels, b.mid_channels, 1, 1, h * w);
                    }
                    let mid = b.mid_channels;
                    m.depthwise += conv(mid, mid, b.kernel, mid, ho * wo);
                    m.squeeze_excitation += b.se_channels.map_or(0, |s| 2 * (mid * s) as u64);
                    m.project += project;
                }
                BlockKind::FusedMbConv if b.has_expansion() => {
                    m.fused += conv(b.in_channels, b.mid_channels, b.kernel, 1, ho * wo);
                    m.project += project;
                }
                BlockKind::FusedMbConv => {
                    m.fused += conv(b.in_channels, b.out_channels, b.kernel, 1, ho * wo);
                }
            }
            (h, w) = (ho, wo);
        }
        m.head = conv(self.last_channels(), self.head_channels, 1, 1, h * w);
        m.classifier = (self.head_channels * self.num_classes) as u64;
        m
    }

    /// Output channels of the last block (the head's input).
    pub fn last_channels(&self) -> usize {
        self.blocks()
            .last()
            .map_or(self.stem_channels, |b| b.out_channels)
    }
}

/// Multiply-accumulates of one forward pass by kind of layer ([`ArchPlan::macs_by_op`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MacsByOp {
    /// The 3x3 stride-2 stem convolution.
    pub stem: u64,
    /// MBConv's 1x1 expansions.
    pub expand: u64,
    /// MBConv's depthwise convolutions.
    pub depthwise: u64,
    /// Squeeze-and-excitation's two 1x1 convolutions on the pooled vector.
    pub squeeze_excitation: u64,
    /// Fused-MBConv's dense kxk convolutions.
    pub fused: u64,
    /// The 1x1 projections (MBConv, and Fused-MBConv where it expands).
    pub project: u64,
    /// The 1x1 head convolution.
    pub head: u64,
    /// The linear classifier.
    pub classifier: u64,
}

impl MacsByOp {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.stem
            + self.expand
            + self.depthwise
            + self.squeeze_excitation
            + self.fused
            + self.project
            + self.head
            + self.classifier
    }
}

/// How a family turns its stage table into a plan.
#[derive(Clone, Copy, Debug)]
pub struct ScalingRule {
    /// Round channels with the 10% rule (V1, Lite) or without (V2).
    pub ten_percent_rule: bool,
    /// Keep the stem at its base width (Lite).
    pub fix_stem: bool,
    /// Keep the head at its base width (Lite).
    pub fix_head: bool,
    /// Do not scale the depth of the first and last stages (Lite).
    pub fix_first_last_depth: bool,
}

/// Everything needed to build a plan from a stage table.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    /// The family's stage table.
    pub table: &'a [StageSpec],
    /// Base stem channels.
    pub stem: usize,
    /// Base head channels.
    pub head: usize,
    /// Family scaling rules.
    pub rule: ScalingRule,
    /// Width multiplier.
    pub width: f64,
    /// Depth multiplier.
    pub depth: f64,
    /// Whether MBConv stages carry squeeze-and-excitation.
    pub squeeze_excitation: bool,
    /// Maximum stochastic-depth rate `p`.
    pub drop_path_rate: f64,
    /// Input image channels.
    pub in_channels: usize,
    /// Classifier outputs.
    pub num_classes: usize,
}

impl PlanInput<'_> {
    /// Applies the scaling rules: channel rounding, depth rounding, SE width, drop-path schedule.
    pub fn plan(&self) -> ArchPlan {
        let rule = self.rule;
        let filters = |c: usize| round_filters(c, self.width, rule.ten_percent_rule);
        let stem_channels = if rule.fix_stem {
            self.stem
        } else {
            filters(self.stem)
        };
        let head_channels = if rule.fix_head {
            self.head
        } else {
            filters(self.head)
        };
        let last = self.table.len().saturating_sub(1);
        let repeats: Vec<usize> = self
            .table
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if rule.fix_first_last_depth && (i == 0 || i == last) {
                    s.repeats
                } else {
                    round_repeats(s.repeats, self.depth)
                }
            })
            .collect();
        let total_blocks: usize = repeats.iter().sum();

        let mut in_channels = stem_channels;
        let mut index = 0;
        let mut stages = Vec::with_capacity(self.table.len());
        for (spec, &n) in self.table.iter().zip(&repeats) {
            let out_channels = filters(spec.out_channels);
            let se = self.squeeze_excitation && spec.se_ratio > 0.0;
            let mut blocks = Vec::with_capacity(n);
            for j in 0..n {
                blocks.push(BlockPlan {
                    kind: spec.kind,
                    in_channels,
                    mid_channels: in_channels * spec.expand_ratio,
                    out_channels,
                    kernel: spec.kernel,
                    stride: if j == 0 { spec.stride } else { 1 },
                    se_channels: se.then(|| ((in_channels as f64 * spec.se_ratio) as usize).max(1)),
                    drop_path: self.drop_path_rate * index as f64 / total_blocks as f64,
                });
                in_channels = out_channels;
                index += 1;
            }
            stages.push(blocks);
        }

        ArchPlan {
            in_channels: self.in_channels,
            stem_channels,
            stages,
            head_channels,
            num_classes: self.num_classes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_filters_follows_the_reference_rule() {
        // B0 is unscaled.
        assert_eq!(round_filters(32, 1.0, true), 32);
        // B2 (w=1.1): 40 -> 48 (44 rounds up), 80 -> 88, 320 -> 352, 1280 -> 1408.
        assert_eq!(round_filters(40, 1.1, true), 48);
        assert_eq!(round_filters(80, 1.1, true), 88);
        assert_eq!(round_filters(320, 1.1, true), 352);
        assert_eq!(round_filters(1280, 1.1, true), 1408);
        // B3 (w=1.2): 16 -> 24 only through the 10% rule (19.2 rounds to 16 < 17.28).
        assert_eq!(round_filters(16, 1.2, true), 24);
        // V2-B3 has no 10% rule: 16 stays 16.
        assert_eq!(round_filters(16, 1.2, false), 16);
        // Never below the divisor.
        assert_eq!(round_filters(4, 0.5, true), 8);
    }

    #[test]
    fn round_repeats_is_ceil() {
        assert_eq!(round_repeats(1, 1.1), 2);
        assert_eq!(round_repeats(3, 1.4), 5);
        assert_eq!(round_repeats(4, 3.1), 13);
        assert_eq!(round_repeats(2, 1.0), 2);
    }

    #[test]
    fn conv_out_size_is_ceil_division() {
        assert_eq!(conv_out_size(224, 2), 112);
        assert_eq!(conv_out_size(225, 2), 113);
        assert_eq!(conv_out_size(7, 1), 7);
    }
}
