//! The named variants ([`Variant`]) and their table: one row of compound-scaling coefficients
//! per variant, from which [`Variant::config`] builds the variant's [`EfficientNetConfig`].
//!
//! Sources: V1 from TF `efficientnet_params` (Tan & Le 2019, Table 1 scaled by `phi`); Lite
//! from TF `efficientnet_lite_builder.py` (lite3/4 at TF's 280/300 px; timm evaluates its ports
//! at 300/380); V2 from automl `effnetv2_configs.py`, at the evaluation resolution.

use core::fmt;

use crate::config::EfficientNetConfig;
use crate::family::Family;

/// The named variants. Each documents its `(width, depth, resolution, dropout)` on its named
/// constructor ([`EfficientNetConfig::b0`], ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is documented by its row in `VARIANTS`
pub enum Variant {
    B0,
    B1,
    B2,
    B3,
    B4,
    B5,
    B6,
    B7,
    B8,
    L2,
    Lite0,
    Lite1,
    Lite2,
    Lite3,
    Lite4,
    V2S,
    V2M,
    V2L,
    V2B0,
    V2B1,
    V2B2,
    V2B3,
}

/// One row of the variant table.
#[derive(Clone, Copy, Debug, PartialEq)]
struct VariantSpec {
    /// The variant the row describes (rows are in [`Variant::ALL`] order).
    variant: Variant,
    /// Short alias: `b0`, `lite0`, `v2_s`, ...
    alias: &'static str,
    /// Stage table and scaling rules.
    family: Family,
    /// Width multiplier.
    width: f64,
    /// Depth multiplier.
    depth: f64,
    /// Native (evaluation) resolution in pixels.
    resolution: usize,
    /// Dropout before the classifier.
    dropout: f64,
}

/// Every variant, in [`Variant::ALL`] order.
#[rustfmt::skip]
const VARIANTS: [VariantSpec; 22] = [
    VariantSpec { variant: Variant::B0,     alias: "b0",    family: Family::V1,     width: 1.0, depth: 1.0, resolution: 224, dropout: 0.2 },
    VariantSpec { variant: Variant::B1,     alias: "b1",    family: Family::V1,     width: 1.0, depth: 1.1, resolution: 240, dropout: 0.2 },
    VariantSpec { variant: Variant::B2,     alias: "b2",    family: Family::V1,     width: 1.1, depth: 1.2, resolution: 260, dropout: 0.3 },
    VariantSpec { variant: Variant::B3,     alias: "b3",    family: Family::V1,     width: 1.2, depth: 1.4, resolution: 300, dropout: 0.3 },
    VariantSpec { variant: Variant::B4,     alias: "b4",    family: Family::V1,     width: 1.4, depth: 1.8, resolution: 380, dropout: 0.4 },
    VariantSpec { variant: Variant::B5,     alias: "b5",    family: Family::V1,     width: 1.6, depth: 2.2, resolution: 456, dropout: 0.4 },
    VariantSpec { variant: Variant::B6,     alias: "b6",    family: Family::V1,     width: 1.8, depth: 2.6, resolution: 528, dropout: 0.5 },
    VariantSpec { variant: Variant::B7,     alias: "b7",    family: Family::V1,     width: 2.0, depth: 3.1, resolution: 600, dropout: 0.5 },
    VariantSpec { variant: Variant::B8,     alias: "b8",    family: Family::V1,     width: 2.2, depth: 3.6, resolution: 672, dropout: 0.5 },
    VariantSpec { variant: Variant::L2,     alias: "l2",    family: Family::V1,     width: 4.3, depth: 5.3, resolution: 800, dropout: 0.5 },
    VariantSpec { variant: Variant::Lite0,  alias: "lite0", family: Family::Lite,   width: 1.0, depth: 1.0, resolution: 224, dropout: 0.2 },
    VariantSpec { variant: Variant::Lite1,  alias: "lite1", family: Family::Lite,   width: 1.0, depth: 1.1, resolution: 240, dropout: 0.2 },
    VariantSpec { variant: Variant::Lite2,  alias: "lite2", family: Family::Lite,   width: 1.1, depth: 1.2, resolution: 260, dropout: 0.3 },
    VariantSpec { variant: Variant::Lite3,  alias: "lite3", family: Family::Lite,   width: 1.2, depth: 1.4, resolution: 280, dropout: 0.3 },
    VariantSpec { variant: Variant::Lite4,  alias: "lite4", family: Family::Lite,   width: 1.4, depth: 1.8, resolution: 300, dropout: 0.3 },
    VariantSpec { variant: Variant::V2S,    alias: "v2_s",  family: Family::V2S,    width: 1.0, depth: 1.0, resolution: 384, dropout: 0.2 },
    VariantSpec { variant: Variant::V2M,    alias: "v2_m",  family: Family::V2M,    width: 1.0, depth: 1.0, resolution: 480, dropout: 0.3 },
    VariantSpec { variant: Variant::V2L,    alias: "v2_l",  family: Family::V2L,    width: 1.0, depth: 1.0, resolution: 480, dropout: 0.4 },
    VariantSpec { variant: Variant::V2B0,   alias: "v2_b0", family: Family::V2Base, width: 1.0, depth: 1.0, resolution: 224, dropout: 0.2 },
    VariantSpec { variant: Variant::V2B1,   alias: "v2_b1", family: Family::V2Base, width: 1.0, depth: 1.1, resolution: 240, dropout: 0.2 },
    VariantSpec { variant: Variant::V2B2,   alias: "v2_b2", family: Family::V2Base, width: 1.1, depth: 1.2, resolution: 260, dropout: 0.3 },
    VariantSpec { variant: Variant::V2B3,   alias: "v2_b3", family: Family::V2Base, width: 1.2, depth: 1.4, resolution: 300, dropout: 0.3 },
];

impl Variant {
    /// All variants, in table order.
    pub const ALL: [Variant; 22] = [
        Variant::B0,
        Variant::B1,
        Variant::B2,
        Variant::B3,
        Variant::B4,
        Variant::B5,
        Variant::B6,
        Variant::B7,
        Variant::B8,
        Variant::L2,
        Variant::Lite0,
        Variant::Lite1,
        Variant::Lite2,
        Variant::Lite3,
        Variant::Lite4,
        Variant::V2S,
        Variant::V2M,
        Variant::V2L,
        Variant::V2B0,
        Variant::V2B1,
        Variant::V2B2,
        Variant::V2B3,
    ];

    /// The variant's row of [`VARIANTS`] (the rows follow the enum's order).
    const fn spec(self) -> &'static VariantSpec {
        &VARIANTS[self as usize]
    }

    /// Short alias: `b0`, `lite0`, `v2_s`, `v2_b0`, ...
    pub fn alias(self) -> &'static str {
        self.spec().alias
    }

    /// timm name of the PyTorch-convention model: `efficientnet_b0`, `efficientnet_lite0`,
    /// `efficientnetv2_s`, `efficientnetv2_b0`, ...
    pub fn timm_name(self) -> String {
        match self.alias().strip_prefix("v2_") {
            Some(rest) => format!("efficientnetv2_{rest}"),
            None => format!("efficientnet_{}", self.alias()),
        }
    }

    /// The variant's config with PyTorch conventions (symmetric padding, BN eps 1e-5).
    pub fn config(self) -> EfficientNetConfig {
        let spec = self.spec();
        EfficientNetConfig::scaled(
            spec.family,
            spec.width,
            spec.depth,
            spec.resolution,
            spec.dropout,
        )
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alias())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Activation;

    #[test]
    fn the_table_has_one_row_per_variant_in_enum_order() {
        for (index, variant) in Variant::ALL.into_iter().enumerate() {
            assert_eq!(VARIANTS[index].variant, variant, "row {index}");
            assert_eq!(variant as usize, index, "{variant:?}");
        }
    }

    #[test]
    fn lite_uses_relu6_without_se() {
        let c = EfficientNetConfig::lite0();
        assert_eq!(c.activation, Activation::Relu6);
        assert!(!c.squeeze_excitation);
        assert!(c.plan().blocks().all(|b| b.se_channels.is_none()));
    }
}
