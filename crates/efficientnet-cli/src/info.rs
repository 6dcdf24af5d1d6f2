//! `efficientnet info`: the variant table, computed from the configs.

use efficientnet::{EfficientNetConfig, ModelName, Variant};
use serde::Serialize;

use crate::error::Result;

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

/// Runs `info`: the rows for `model` (or every variant) as a table, or as JSON.
pub fn run(model: Option<ModelName>, json: bool) -> Result<()> {
    let rows = rows(model);
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", table(&rows));
    }
    Ok(())
}

/// `1234567` -> `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The table as aligned text.
pub fn table(rows: &[VariantInfo]) -> String {
    let header = [
        "model", "alias", "res", "width", "depth", "dropout", "blocks", "features", "params",
        "GMACs",
    ];
    let body: Vec<[String; 10]> = rows
        .iter()
        .map(|r| {
            [
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
                if i < 2 {
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
    for row in &body {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(5288548), "5,288,548");
    }

    #[test]
    fn table_has_every_variant() {
        let text = table(&rows(None));
        assert_eq!(text.lines().count(), Variant::ALL.len() + 1);
        assert!(text.contains("efficientnet_b0"));
        assert!(text.contains("5,288,548"));
    }
}
