//! State-dict key layouts of the PyTorch implementations, and the one place where this crate's
//! parameter paths are translated to theirs (efficientnet.md §3).
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

use crate::blocks::Block;
use crate::error::{Error, Result};
use crate::model::EfficientNet;

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
    /// `stages.1.blocks.0.MbConv.expand.bn.gamma`), or `None` when this layout cannot hold it.
    pub fn key(self, model: &EfficientNet, path: &str) -> Option<String> {
        let segs: Vec<&str> = path.split('.').collect();
        match segs.as_slice() {
            ["stem", layer, param] => {
                let [conv, bn] = match self {
                    Layout::Torchvision => ["features.0.0", "features.0.1"],
                    Layout::Timm => ["conv_stem", "bn1"],
                    Layout::Lukemelas => ["_conv_stem", "_bn0"],
                };
                conv_bn(conv, bn, layer, param)
            }
            ["head", layer, param] => {
                let last = model.stages.len() + 1;
                let [conv, bn] = match self {
                    Layout::Torchvision => {
                        return conv_bn(
                            &format!("features.{last}.0"),
                            &format!("features.{last}.1"),
                            layer,
                            param,
                        );
                    }
                    Layout::Timm => ["conv_head", "bn2"],
                    Layout::Lukemelas => ["_conv_head", "_bn1"],
                };
                conv_bn(conv, bn, layer, param)
            }
            ["classifier", param @ ("weight" | "bias")] => Some(self.classifier_key(param)),
            ["stages", s, "blocks", j, _variant, rest @ ..] => {
                let (s, j): (usize, usize) = (s.parse().ok()?, j.parse().ok()?);
                let block = model.stages.get(s)?.blocks.get(j)?;
                self.block_key(model, s, j, block, rest)
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

    fn block_key(
        self,
        model: &EfficientNet,
        s: usize,
        j: usize,
        block: &Block,
        rest: &[&str],
    ) -> Option<String> {
        // The block's sub-layers in forward order, with their names in this layout.
        let (layers, base): (Vec<(&str, [String; 2])>, String) = match self {
            Layout::Torchvision => {
                let names: Vec<&str> = match block {
                    Block::MbConv(b) => [
                        b.expand.as_ref().map(|_| "expand"),
                        Some("depthwise"),
                        b.se.as_ref().map(|_| "se"),
                        Some("project"),
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                    Block::FusedMbConv(b) => [Some("conv"), b.project.as_ref().map(|_| "project")]
                        .into_iter()
                        .flatten()
                        .collect(),
                };
                let layers = names
                    .into_iter()
                    .enumerate()
                    .map(|(i, name)| {
                        let pair = if name == "se" {
                            [format!("{i}.fc1"), format!("{i}.fc2")]
                        } else {
                            [format!("{i}.0"), format!("{i}.1")]
                        };
                        (name, pair)
                    })
                    .collect();
                (layers, format!("features.{}.{j}.block", s + 1))
            }
            Layout::Timm => {
                let pair = |a: &str, b: &str| [a.to_owned(), b.to_owned()];
                let layers = match block {
                    Block::MbConv(b) if b.expand.is_some() => vec![
                        ("expand", pair("conv_pw", "bn1")),
                        ("depthwise", pair("conv_dw", "bn2")),
                        ("se", pair("se.conv_reduce", "se.conv_expand")),
                        ("project", pair("conv_pwl", "bn3")),
                    ],
                    Block::MbConv(_) => vec![
                        ("depthwise", pair("conv_dw", "bn1")),
                        ("se", pair("se.conv_reduce", "se.conv_expand")),
                        ("project", pair("conv_pw", "bn2")),
                    ],
                    Block::FusedMbConv(b) if b.project.is_some() => vec![
                        ("conv", pair("conv_exp", "bn1")),
                        ("project", pair("conv_pwl", "bn2")),
                    ],
                    Block::FusedMbConv(_) => vec![("conv", pair("conv", "bn1"))],
                };
                (layers, format!("blocks.{s}.{j}"))
            }
            Layout::Lukemelas => {
                let Block::MbConv(_) = block else {
                    return None; // lukemelas has no EfficientNetV2
                };
                let pair = |a: &str, b: &str| [a.to_owned(), b.to_owned()];
                let layers = vec![
                    ("expand", pair("_expand_conv", "_bn0")),
                    ("depthwise", pair("_depthwise_conv", "_bn1")),
                    ("se", pair("_se_reduce", "_se_expand")),
                    ("project", pair("_project_conv", "_bn2")),
                ];
                let global: usize = model.stages[..s].iter().map(|st| st.blocks.len()).sum();
                (layers, format!("_blocks.{}", global + j))
            }
        };
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
