//! State-dict key layouts of the PyTorch implementations, and the one place where this crate's
//! parameter paths are translated to theirs (read from each implementation's `state_dict()`).
//!
//! | ours | torchvision | timm | lukemelas |
//! |---|---|---|---|
//! | `stem.{conv,bn}` | `features.0.{0,1}` | `conv_stem`, `bn1` | `_conv_stem`, `_bn0` |
//! | `stages.s.blocks.j` | `features.{s+1}.j.block.{i}` (i counts sub-layers) | `blocks.s.j` | `_blocks.{global index}` |
//! | MBConv `expand` | `block.i.{0,1}` | `conv_pw`, `bn1` | `_expand_conv`, `_bn0` |
//! | MBConv `depthwise` | `block.i.{0,1}` | `conv_dw`, `bn2` (`bn1` without expand) | `_depthwise_conv`, `_bn1` |
//! | MBConv `se` | `block.i.{fc1,fc2}` | `se.{conv_reduce,conv_expand}` | `_se_reduce`, `_se_expand` |
//! | MBConv `project` | `block.i.{0,1}` | `conv_pwl`, `bn3` (`conv_pw`, `bn2` without expand) | `_project_conv`, `_bn2` |
//! | Fused `conv` | `block.0.{0,1}` | `conv_exp`, `bn1` (`conv`, `bn1` without expand) | — |
//! | Fused `project` | `block.1.{0,1}` | `conv_pwl`, `bn2` | — |
//! | `head.{conv,bn}` | `features.{S+1}.{0,1}` | `conv_head`, `bn2` | `_conv_head`, `_bn1` |
//! | `classifier` | `classifier.1` | `classifier` | `_fc` |
//!
//! BatchNorm `gamma`/`beta` are PyTorch's `weight`/`bias`; Burn's `Linear` weight is the
//! transpose of PyTorch's.

use core::fmt;
use core::str::FromStr;

use crate::arch::{ArchPlan, BlockKind, BlockPlan};
use crate::error::{Error, Result};

/// A state-dict naming scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `torchvision.models.efficientnet_*` / `efficientnet_v2_*`.
    Torchvision,
    /// timm `efficientnet_*`, `tf_efficientnet_*`, `efficientnetv2_*`, ...
    Timm,
    /// lukemelas `efficientnet_pytorch` (V1 only).
    Lukemelas,
}

impl Layout {
    /// All layouts.
    pub const ALL: [Layout; 3] = [Layout::Torchvision, Layout::Timm, Layout::Lukemelas];

    /// The layout's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Torchvision => "torchvision",
            Layout::Timm => "timm",
            Layout::Lukemelas => "lukemelas",
        }
    }

    /// The key of the stem convolution weight, which identifies the layout.
    fn anchor(self) -> &'static str {
        match self {
            Layout::Torchvision => "features.0.0.weight",
            Layout::Timm => "conv_stem.weight",
            Layout::Lukemelas => "_conv_stem.weight",
        }
    }

    /// Finds the layout and the key prefix (`""`, `"module."`, `"state_dict."`, ...) from the
    /// tensor names of a file.
    pub fn detect<'a>(keys: impl IntoIterator<Item = &'a str> + Clone) -> Option<(Layout, String)> {
        // lukemelas first: `_conv_stem.weight` also ends with timm's anchor.
        for layout in [Layout::Lukemelas, Layout::Torchvision, Layout::Timm] {
            for key in keys.clone() {
                if let Some(prefix) = key.strip_suffix(layout.anchor())
                    && (prefix.is_empty() || prefix.ends_with('.'))
                {
                    return Some((layout, prefix.to_owned()));
                }
            }
        }
        None
    }

    /// The key in this layout of the parameter at `path` (a path of our module tree, e.g.
    /// `stages.1.blocks.0.MbConv.expand.bn.gamma`) in a network of `plan` (see
    /// [`EfficientNet::plan`](crate::EfficientNet::plan)), or `None` when this layout cannot
    /// hold it.
    pub fn key(self, plan: &ArchPlan, path: &str) -> Option<String> {
        let segs: Vec<&str> = path.split('.').collect();
        match segs.as_slice() {
            ["stem", layer, param] => {
                let [conv, bn] = self.stem_names();
                conv_bn(conv, bn, layer, param)
            }
            ["head", layer, param] => {
                let [conv, bn] = self.head_names(plan.stages.len());
                conv_bn(&conv, &bn, layer, param)
            }
            ["classifier", param @ ("weight" | "bias")] => Some(self.classifier_key(param)),
            ["stages", s, "blocks", j, _variant, rest @ ..] => {
                let (s, j): (usize, usize) = (s.parse().ok()?, j.parse().ok()?);
                self.block_key(plan, s, j, rest)
            }
            _ => None,
        }
    }

    /// The key of the classifier's `weight` or `bias`.
    pub fn classifier_key(self, param: &str) -> String {
        match self {
            Layout::Torchvision => format!("classifier.1.{param}"),
            Layout::Timm => format!("classifier.{param}"),
            Layout::Lukemelas => format!("_fc.{param}"),
        }
    }

    /// The stem's convolution and BatchNorm.
    fn stem_names(self) -> [&'static str; 2] {
        match self {
            Layout::Torchvision => ["features.0.0", "features.0.1"],
            Layout::Timm => ["conv_stem", "bn1"],
            Layout::Lukemelas => ["_conv_stem", "_bn0"],
        }
    }

    /// The head's convolution and BatchNorm, after `stages` stages.
    fn head_names(self, stages: usize) -> [String; 2] {
        let last = stages + 1;
        match self {
            Layout::Torchvision => [format!("features.{last}.0"), format!("features.{last}.1")],
            Layout::Timm => ["conv_head".into(), "bn2".into()],
            Layout::Lukemelas => ["_conv_head".into(), "_bn1".into()],
        }
    }

    /// The key of `rest` (e.g. `["expand", "bn", "gamma"]`) in block `j` of stage `s`.
    fn block_key(self, plan: &ArchPlan, s: usize, j: usize, rest: &[&str]) -> Option<String> {
        let block = plan.stages.get(s)?.get(j)?;
        let (layers, base) = match self {
            Layout::Torchvision => (
                torchvision_layers(block),
                format!("features.{}.{j}.block", s + 1),
            ),
            Layout::Timm => (timm_layers(block), format!("blocks.{s}.{j}")),
            Layout::Lukemelas => {
                let layers = lukemelas_layers(block)?;
                let global: usize = plan.stages[..s].iter().map(Vec::len).sum();
                (layers, format!("_blocks.{}", global + j))
            }
        };
        sub_layer_key(&layers, &base, rest)
    }
}

/// A block's sub-layers in forward order (our names: `expand`, `depthwise`, `se`, `project`,
/// `conv`), each with its two names in a layout: convolution and BatchNorm, or for `se` the
/// reduce and expand convolutions.
type SubLayers = Vec<(&'static str, [String; 2])>;

fn pair(first: &str, second: &str) -> [String; 2] {
    [first.to_owned(), second.to_owned()]
}

/// torchvision numbers a block's sub-layers `block.{i}` in forward order, `{i}.0` the
/// convolution and `{i}.1` the BatchNorm (`{i}.fc1`, `{i}.fc2` for SE).
fn torchvision_layers(block: &BlockPlan) -> SubLayers {
    let names: Vec<&'static str> = match block.kind {
        BlockKind::MbConv => [
            block.has_expansion().then_some("expand"),
            Some("depthwise"),
            block.se_channels.map(|_| "se"),
            Some("project"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        BlockKind::FusedMbConv => [Some("conv"), block.has_expansion().then_some("project")]
            .into_iter()
            .flatten()
            .collect(),
    };
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let names = if name == "se" {
                [format!("{i}.fc1"), format!("{i}.fc2")]
            } else {
                [format!("{i}.0"), format!("{i}.1")]
            };
            (name, names)
        })
        .collect()
}

/// timm names a block's layers by role; the numbering of its BatchNorms depends on whether the
/// block expands.
fn timm_layers(block: &BlockPlan) -> SubLayers {
    match (block.kind, block.has_expansion()) {
        (BlockKind::MbConv, true) => vec![
            ("expand", pair("conv_pw", "bn1")),
            ("depthwise", pair("conv_dw", "bn2")),
            ("se", pair("se.conv_reduce", "se.conv_expand")),
            ("project", pair("conv_pwl", "bn3")),
        ],
        (BlockKind::MbConv, false) => vec![
            ("depthwise", pair("conv_dw", "bn1")),
            ("se", pair("se.conv_reduce", "se.conv_expand")),
            ("project", pair("conv_pw", "bn2")),
        ],
        (BlockKind::FusedMbConv, true) => vec![
            ("conv", pair("conv_exp", "bn1")),
            ("project", pair("conv_pwl", "bn2")),
        ],
        (BlockKind::FusedMbConv, false) => vec![("conv", pair("conv", "bn1"))],
    }
}

/// lukemelas names MBConv layers by role, and has no Fused-MBConv (no EfficientNetV2): `None`.
fn lukemelas_layers(block: &BlockPlan) -> Option<SubLayers> {
    (block.kind == BlockKind::MbConv).then(|| {
        vec![
            ("expand", pair("_expand_conv", "_bn0")),
            ("depthwise", pair("_depthwise_conv", "_bn1")),
            ("se", pair("_se_reduce", "_se_expand")),
            ("project", pair("_project_conv", "_bn2")),
        ]
    })
}

/// The key of `rest` = `[layer, sub, param]` under `base`, with `layer` named by `layers`.
fn sub_layer_key(layers: &[(&str, [String; 2])], base: &str, rest: &[&str]) -> Option<String> {
    let (layer, inner) = rest.split_first()?;
    let [first, second] = &layers.iter().find(|(name, _)| name == layer)?.1;
    match (*layer, inner) {
        ("se", ["conv_reduce", param @ ("weight" | "bias")]) => {
            Some(format!("{base}.{first}.{param}"))
        }
        ("se", ["conv_expand", param @ ("weight" | "bias")]) => {
            Some(format!("{base}.{second}.{param}"))
        }
        (_, [sub, param]) => conv_bn(
            &format!("{base}.{first}"),
            &format!("{base}.{second}"),
            sub,
            param,
        ),
        _ => None,
    }
}

/// `conv.weight` -> `{conv}.weight`; `bn.gamma|beta|running_*` -> `{bn}.weight|bias|running_*`.
fn conv_bn(conv: &str, bn: &str, layer: &str, param: &str) -> Option<String> {
    match (layer, param) {
        ("conv", "weight") => Some(format!("{conv}.weight")),
        ("bn", "gamma") => Some(format!("{bn}.weight")),
        ("bn", "beta") => Some(format!("{bn}.bias")),
        ("bn", p @ ("running_mean" | "running_var")) => Some(format!("{bn}.{p}")),
        _ => None,
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Layout {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        Layout::ALL
            .into_iter()
            .find(|l| l.name() == lower)
            .ok_or_else(|| Error::UnknownLayout(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_detected_with_their_prefix() {
        let detect = |keys: &[&str]| Layout::detect(keys.iter().copied());
        assert_eq!(
            detect(&["features.0.0.weight", "classifier.1.bias"]),
            Some((Layout::Torchvision, String::new()))
        );
        assert_eq!(
            detect(&["module.conv_stem.weight"]),
            Some((Layout::Timm, "module.".into()))
        );
        assert_eq!(
            detect(&["state_dict._conv_stem.weight", "epoch"]),
            Some((Layout::Lukemelas, "state_dict.".into()))
        );
        assert_eq!(detect(&["foo.weight"]), None);
        assert_eq!(detect(&["xconv_stem.weight"]), None);
    }
}
