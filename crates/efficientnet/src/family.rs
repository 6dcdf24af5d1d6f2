//! [`Family`]: which stage table a network is built from and how that table is scaled.

use burn::config::Config;

use crate::arch::{self, ScalingRule, StageSpec};

/// Network family: selects the stage table, the stem/head widths and the scaling rules.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Family {
    /// EfficientNet B0–B7, B8, L2 (paper Table 1, compound-scaled, 10% channel rule).
    V1,
    /// EfficientNet-Lite: V1 table, stem 32 and head 1280 fixed, first/last stage depth fixed,
    /// no SE, ReLU6.
    Lite,
    /// EfficientNetV2-S (its own table, unscaled).
    V2S,
    /// EfficientNetV2-M (its own table, unscaled).
    V2M,
    /// EfficientNetV2-L (its own table, unscaled).
    V2L,
    /// EfficientNetV2-B0–B3: the V2 base table scaled with V1 multipliers, no 10% rule.
    V2Base,
}

impl Family {
    /// The family's stage table.
    pub fn table(self) -> &'static [StageSpec] {
        match self {
            Family::V1 | Family::Lite => &arch::V1_BASE,
            Family::V2S => &arch::V2_S,
            Family::V2M => &arch::V2_M,
            Family::V2L => &arch::V2_L,
            Family::V2Base => &arch::V2_BASE,
        }
    }

    /// Base stem channels (before width scaling).
    pub fn stem_channels(self) -> usize {
        match self {
            Family::V2S | Family::V2M => 24,
            _ => 32,
        }
    }

    /// Base head channels (before width scaling).
    pub fn head_channels(self) -> usize {
        1280
    }

    /// Channel and depth rounding rules.
    pub fn scaling_rule(self) -> ScalingRule {
        let lite = self == Family::Lite;
        ScalingRule {
            ten_percent_rule: matches!(self, Family::V1 | Family::Lite),
            fix_stem: lite,
            fix_head: lite,
            fix_first_last_depth: lite,
        }
    }
}
