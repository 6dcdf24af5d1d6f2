//! Model names: [`ModelName`] (a [`Variant`] plus timm's `tf_` flag), parsed from timm and
//! torchvision names and short aliases, and [`EfficientNetConfig::from_name`].

use core::fmt;
use core::str::FromStr;

use crate::config::EfficientNetConfig;
use crate::error::{Error, Result};
use crate::variants::Variant;

/// A parsed model name: a [`Variant`] plus the `tf_` flag.
///
/// Accepted (case-insensitive, `-` or `_`): timm names `efficientnet_b0`..`efficientnet_b8`,
/// `efficientnet_l2`, `efficientnet_lite0`..`4`, `efficientnetv2_s|m|l|b0..b3`, torchvision
/// names `efficientnet_v2_s|m|l`, the same with a `tf_` prefix (TF "SAME" padding, BN eps 1e-3),
/// and the short aliases `b0`, `lite0`, `v2_s`, `v2_b0`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelName {
    /// The architecture.
    pub variant: Variant,
    /// TF conventions (`tf_` prefix).
    pub tf: bool,
}

impl ModelName {
    /// The config this name denotes.
    pub fn config(self) -> EfficientNetConfig {
        let config = self.variant.config();
        if self.tf { config.tf() } else { config }
    }
}

impl EfficientNetConfig {
    /// Parses a model name (timm names and short aliases, see [`ModelName`]).
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(name.parse::<ModelName>()?.config())
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = if self.tf { "tf_" } else { "" };
        write!(f, "{prefix}{}", self.variant.timm_name())
    }
}

/// The short alias a (lower-case, `_`-separated, `tf_`-less) name stands for:
/// `efficientnetv2_s` and `efficientnet_v2_s` -> `v2_s`, `efficientnet_b0` -> `b0`.
fn alias_of(name: &str) -> String {
    name.strip_prefix("efficientnetv2_")
        .or_else(|| name.strip_prefix("efficientnet_v2_"))
        .map(|r| format!("v2_{r}"))
        .or_else(|| name.strip_prefix("efficientnet_").map(str::to_owned))
        .unwrap_or_else(|| name.to_owned())
}

impl FromStr for ModelName {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        let normalized = name.trim().to_ascii_lowercase().replace('-', "_");
        let (tf, rest) = match normalized.strip_prefix("tf_") {
            Some(rest) => (true, rest),
            None => (false, normalized.as_str()),
        };
        let alias = alias_of(rest);
        Variant::ALL
            .into_iter()
            .find(|v| v.alias() == alias)
            .map(|variant| ModelName { variant, tf })
            .ok_or_else(|| Error::UnknownModel {
                name: name.to_owned(),
                known: Variant::ALL.map(|v| v.timm_name()).join(", "),
            })
    }
}

impl FromStr for Variant {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        name.parse::<ModelName>().map(|m| m.variant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PaddingMode;

    #[test]
    fn names_and_aliases_parse() {
        let cases = [
            ("b0", Variant::B0, false),
            ("efficientnet_b3", Variant::B3, false),
            ("tf_efficientnet_b7", Variant::B7, true),
            ("EfficientNet-Lite2", Variant::Lite2, false),
            ("tf_efficientnet_lite4", Variant::Lite4, true),
            ("efficientnetv2_s", Variant::V2S, false),
            ("efficientnet_v2_m", Variant::V2M, false),
            ("tf_efficientnetv2_b3", Variant::V2B3, true),
            ("v2_l", Variant::V2L, false),
        ];
        for (name, variant, tf) in cases {
            let parsed: ModelName = name.parse().expect(name);
            assert_eq!(parsed, ModelName { variant, tf }, "{name}");
        }
        for v in Variant::ALL {
            assert_eq!(v.timm_name().parse::<Variant>().expect("timm name"), v);
            assert_eq!(v.alias().parse::<Variant>().expect("alias"), v);
        }
    }

    #[test]
    fn unknown_names_are_rejected_with_the_list() {
        let err = "efficientnet_b9"
            .parse::<ModelName>()
            .expect_err("b9 does not exist");
        let msg = err.to_string();
        assert!(msg.contains("efficientnet_b9"), "{msg}");
        assert!(msg.contains("efficientnetv2_s"), "{msg}");
        assert!("".parse::<ModelName>().is_err());
        assert!("tf_".parse::<ModelName>().is_err());
    }

    #[test]
    fn tf_prefix_sets_same_padding_and_eps() {
        let c = EfficientNetConfig::from_name("tf_efficientnet_b0").expect("name");
        assert_eq!(c.padding, PaddingMode::TfSame);
        assert_eq!(c.bn_eps, 1e-3);
        let c = EfficientNetConfig::from_name("efficientnet_b0").expect("name");
        assert_eq!(c.padding, PaddingMode::Symmetric);
        assert_eq!(c.bn_eps, 1e-5);
    }
}
