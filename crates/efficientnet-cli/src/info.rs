//! `efficientnet info`: the variant table, computed from the configs.

use efficientnet::weights::WeightSet;
use efficientnet::{EfficientNetConfig, ModelName, Variant};
use serde::Serialize;

use crate::error::Result;
use crate::numbers::thousands;

/// One row of the table.
#[derive(Debug, Serialize)]
pub struct VariantInfo {
    /// timm model name.
    pub model: String,
    /// Short alias.
    pub alias: String,
    /// Native resolution (pixels).
    pub resolution: usize,
    /// Width multiplier.
    pub width: f64,
    /// Depth multiplier.
    pub depth: f64,
    /// Dropout before the classifier.
    pub dropout: f64,
    /// Stochastic-depth rate.
    pub drop_path_rate: f64,
    /// Padding convention.
    pub padding: String,
    /// BN epsilon.
    pub bn_eps: f64,
    /// Blocks in the network.
    pub blocks: usize,
    /// Pooled feature width.
    pub features: usize,
    /// Trainable parameters.
    pub params: usize,
    /// Multiply-accumulates at the native resolution.
    pub macs: u64,
}

impl VariantInfo {
    /// Computes a row from a model name.
    pub fn new(name: ModelName) -> Self {
        let config: EfficientNetConfig = name.config();
        let plan = config.plan();
        Self {
            model: name.to_string(),
            alias: name.variant.alias().to_owned(),
            resolution: config.resolution,
            width: config.width,
            depth: config.depth,
            dropout: config.dropout,
            drop_path_rate: config.drop_path_rate,
            padding: format!("{:?}", config.padding),
            bn_eps: config.bn_eps,
            blocks: plan.blocks().count(),
            features: plan.head_channels,
            params: plan.num_params(),
            macs: plan.macs(config.resolution, config.resolution),
        }
    }
}

/// Rows for `model`, or for every variant.
pub fn rows(model: Option<ModelName>) -> Vec<VariantInfo> {
    match model {
        Some(name) => vec![VariantInfo::new(name)],
        None => Variant::ALL
            .into_iter()
            .map(|variant| VariantInfo::new(ModelName { variant, tf: false }))
            .collect(),
    }
}

/// One published weight set of a model, as `info --model` lists it.
#[derive(Debug, Serialize)]
pub struct WeightSetInfo {
    /// The set's name where it is published.
    pub name: String,
    /// Key layout of its files.
    pub layout: String,
    /// Padding it was trained with.
    pub padding: String,
    /// BatchNorm epsilon.
    pub bn_eps: f64,
    /// Shorter side after resizing.
    pub resize: u32,
    /// Center crop (input size).
    pub crop: u32,
    /// Resize filter.
    pub interpolation: String,
    /// Channel means.
    pub mean: [f32; 3],
    /// Channel standard deviations.
    pub std: [f32; 3],
    /// Published ImageNet-1k top-1 (%).
    pub top1: Option<f64>,
}

impl WeightSetInfo {
    fn new(set: WeightSet) -> Self {
        let t = set.transform;
        Self {
            name: set.name,
            layout: set
                .layout
                .map_or_else(|| "burnpack".into(), |l| l.to_string()),
            padding: format!("{:?}", set.padding),
            bn_eps: set.bn_eps,
            resize: t.resize,
            crop: t.crop,
            interpolation: format!("{:?}", t.interpolation).to_lowercase(),
            mean: t.mean,
            std: t.std,
            top1: set.top1,
        }
    }
}

/// What `info --model M --json` prints: the model's row and its weight sets.
#[derive(Debug, Serialize)]
struct ModelInfo {
    #[serde(flatten)]
    variant: VariantInfo,
    weight_sets: Vec<WeightSetInfo>,
}

/// Runs `info`: the rows for `model` (or every variant) as a table, or as JSON; for one
/// model, its weight sets too.
pub fn run(model: Option<ModelName>, json: bool) -> Result<()> {
    let rows = rows(model);
    let sets: Vec<WeightSetInfo> = model
        .map(|name| {
            WeightSet::all_for(name)
                .into_iter()
                .map(WeightSetInfo::new)
                .collect()
        })
        .unwrap_or_default();
    match (json, model) {
        (true, None) => println!("{}", serde_json::to_string_pretty(&rows)?),
        (true, Some(_)) => {
            let info = rows.into_iter().next().map(|variant| ModelInfo {
                variant,
                weight_sets: sets,
            });
            println!("{}", serde_json::to_string_pretty(&info)?);
        }
        (false, _) => {
            print!("{}", table(&rows));
            if model.is_some() {
                println!();
                print!("{}", sets_table(&sets));
            }
        }
    }
    Ok(())
}

/// The weight sets as aligned text (or a line saying there are none).
pub fn sets_table(sets: &[WeightSetInfo]) -> String {
    if sets.is_empty() {
        return "no published weight sets for this model (its defaults apply)\n".into();
    }
    let header = [
        "weight set",
        "layout",
        "eval transform",
        "mean/std",
        "top-1",
    ];
    let body: Vec<Vec<String>> = sets
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.layout.clone(),
                format!("{} -> {} {}", s.resize, s.crop, s.interpolation),
                if s.mean == [0.5; 3] {
                    "0.5/0.5"
                } else {
                    "imagenet"
                }
                .to_owned(),
                s.top1.map_or_else(|| "-".into(), |t| format!("{t:.3}")),
            ]
        })
        .collect();
    aligned(&header, &body, 1)
}

/// The table as aligned text.
pub fn table(rows: &[VariantInfo]) -> String {
    let header = [
        "model", "alias", "res", "width", "depth", "dropout", "blocks", "features", "params",
        "GMACs",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.model.clone(),
                r.alias.clone(),
                r.resolution.to_string(),
                format!("{:.1}", r.width),
                format!("{:.1}", r.depth),
                format!("{:.1}", r.dropout),
                r.blocks.to_string(),
                r.features.to_string(),
                thousands(r.params),
                format!("{:.3}", r.macs as f64 / 1e9),
            ]
        })
        .collect();
    aligned(&header, &body, 2)
}

/// `header` and `body` as columns two spaces apart: the first `left` columns left-aligned,
/// the others right-aligned; one line each, trailing spaces trimmed.
fn aligned(header: &[&str], body: &[Vec<String>], left: usize) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            body.iter()
                .map(|row| row[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i < left {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in body {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_variant() {
        let text = table(&rows(None));
        assert_eq!(text.lines().count(), Variant::ALL.len() + 1);
        assert!(text.contains("efficientnet_b0"));
        assert!(text.contains("5,288,548"));
    }

    #[test]
    fn weight_sets_of_a_model() {
        let lite0: ModelName = "tf_efficientnet_lite0".parse().expect("model");
        let sets: Vec<_> = WeightSet::all_for(lite0)
            .into_iter()
            .map(WeightSetInfo::new)
            .collect();
        let text = sets_table(&sets);
        assert!(text.contains("tf_efficientnet_lite0.in1k"), "{text}");
        assert!(text.contains("256 -> 224 bicubic"), "{text}");
        assert!(
            text.contains("0.5/0.5") && text.contains("74.846"),
            "{text}"
        );
        assert_eq!(text.lines().count(), sets.len() + 1);
    }
}
