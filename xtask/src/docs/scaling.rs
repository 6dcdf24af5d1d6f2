//! The compound scaling figure: the rule's curves `alpha^phi`, `beta^phi`, `gamma^phi` and the
//! multipliers B0–B7 were released with, each variant at the `phi` its MACs imply.

use efficientnet::{EfficientNetConfig, Variant};

use crate::chart::{Chart, Line, Marker, Series};

/// The paper's constants: depth, width and resolution per unit of `phi`.
const ALPHA: f64 = 1.2;
const BETA: f64 = 1.1;
const GAMMA: f64 = 1.15;

/// B0–B7 (the first eight of `Variant::ALL`) with their configs.
fn b0_to_b7() -> Vec<(usize, EfficientNetConfig)> {
    Variant::ALL[..8]
        .iter()
        .enumerate()
        .map(|(i, v)| (i, v.config()))
        .collect()
}

/// The `phi` at which the rule's `2^phi` MAC growth gives `config`'s MACs.
pub fn implied_phi(config: &EfficientNetConfig, b0_macs: f64) -> f64 {
    (config.macs() as f64 / b0_macs).log2()
}

/// Blocks of `config` (after each stage's rounding up) over B0's.
fn block_ratio(config: &EfficientNetConfig, b0_blocks: usize) -> f64 {
    config.plan().blocks().count() as f64 / b0_blocks as f64
}

/// `base^phi` from 0 to `end`, as a dashed curve.
fn rule(label: &str, colour: &'static str, base: f64, end: f64) -> Series {
    let steps = (end * 10.0).ceil() as usize;
    Series {
        label: label.to_owned(),
        colour,
        points: (0..=steps)
            .map(|i| {
                let phi = end * i as f64 / steps as f64;
                (phi, base.powf(phi), String::new())
            })
            .collect(),
        line: Line::Dashed,
        marker: Marker::None,
    }
}

/// Released multipliers (or block ratios) of B0–B7 at their implied `phi`.
fn released(
    label: &str,
    colour: &'static str,
    marker: Marker,
    phis: &[f64],
    value: impl Fn(&EfficientNetConfig) -> f64,
) -> Series {
    Series {
        label: label.to_owned(),
        colour,
        points: b0_to_b7()
            .iter()
            .map(|(i, c)| (phis[*i], value(c), String::new()))
            .collect(),
        line: Line::None,
        marker,
    }
}

/// The figure.
pub fn compound_scaling_chart() -> String {
    let configs = b0_to_b7();
    let b0 = &configs[0].1;
    let (b0_macs, b0_blocks) = (b0.macs() as f64, b0.plan().blocks().count());
    let phis: Vec<f64> = configs
        .iter()
        .map(|(_, c)| implied_phi(c, b0_macs))
        .collect();
    let end = phis.last().copied().unwrap_or(7.0);
    let (blue, navy, orange, green) = ("#1f77b4", "#0b3d6b", "#ff7f0e", "#2ca02c");
    Chart {
        title: "Compound scaling: the rule and the released B0–B7".to_owned(),
        x_label: "phi implied by the MACs: log2(MACs / MACs of B0); a tick per variant".to_owned(),
        y_label: "multiplier over B0".to_owned(),
        log_x: false,
        series: vec![
            rule("depth rule 1.2^phi", blue, ALPHA, end),
            released("depth d (released)", blue, Marker::Circle, &phis, |c| c.depth),
            released("blocks / 16 (after ceil)", navy, Marker::Square, &phis, |c| {
                block_ratio(c, b0_blocks)
            }),
            rule("resolution rule 1.15^phi", green, GAMMA, end),
            released("resolution r = px / 224", green, Marker::Circle, &phis, |c| {
                c.resolution as f64 / 224.0
            }),
            rule("width rule 1.1^phi", orange, BETA, end),
            released("width w (released)", orange, Marker::Circle, &phis, |c| c.width),
        ],
        x_ticks: Some(
            phis.iter()
                .enumerate()
                .map(|(i, phi)| (*phi, format!("B{i}")))
                .collect(),
        ),
        notes: vec![
            "The paper fixes alpha = 1.2, beta = 1.1, gamma = 1.15 (alpha * beta^2 * gamma^2 ≈ 2, so MACs grow about 2^phi);".to_owned(),
            "B1–B7 were released with rounded multipliers. Blocks: each stage's count is rounded up, so B1 (d = 1.1) has 23 blocks, not 17.6.".to_owned(),
        ],
        legend_width: 210.0,
    }
    .render(860.0, 460.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b7_sits_near_phi_six_and_a_half() {
        let b0 = EfficientNetConfig::b0().macs() as f64;
        let phi = implied_phi(&EfficientNetConfig::b7(), b0);
        assert!((6.5..6.7).contains(&phi), "{phi}");
    }

    #[test]
    fn block_rounding_makes_b1_deeper_than_its_multiplier() {
        let ratio = block_ratio(&EfficientNetConfig::b1(), 16);
        assert_eq!(ratio, 23.0 / 16.0);
    }
}
