//! Accuracy figures: top-1 against parameters and against MACs with the paper's other
//! ConvNets, and the paper's single-dimension against compound scaling experiments.

use efficientnet::{EfficientNetConfig, Family, Variant};

use super::published::{self, BASELINES, PAPER, SCALING_STUDIES};
use crate::bars::{Bar, BarChart, Group};
use crate::chart::{Chart, Line, Marker, Series};

/// What an accuracy chart puts on its x axis: a variant's value and a baseline's.
pub struct Axis {
    pub per: &'static str,
    pub label: &'static str,
    pub variant: fn(&EfficientNetConfig) -> f64,
    pub baseline: fn(&published::Baseline) -> Option<f64>,
}

/// Top-1 against parameters (millions).
pub const PARAMS: Axis = Axis {
    per: "parameters",
    label: "parameters (millions, log scale)",
    variant: |c| c.num_params() as f64 / 1e6,
    baseline: |b| Some(b.2),
};

/// Top-1 against multiply-accumulates (billions).
pub const MACS: Axis = Axis {
    per: "MACs",
    label: "multiply-accumulates per image at the native resolution (billions, log scale)",
    variant: |c| c.macs() as f64 / 1e9,
    baseline: |b| b.3,
};

/// The series drawn (V1, Lite, every V2 family together): legend and colour.
const FAMILIES: [(&str, &str); 3] = [
    ("EfficientNet B0–B7", "#1f77b4"),
    ("EfficientNet-Lite0–4", "#2ca02c"),
    ("EfficientNetV2", "#d62728"),
];

/// The index of `v`'s series in [`FAMILIES`].
fn series_of(v: Variant) -> usize {
    match v.config().family {
        Family::V1 => 0,
        Family::Lite => 1,
        _ => 2,
    }
}

fn short(v: Variant) -> String {
    format!("{v:?}").replace("V2", "V2-")
}

/// One family's points, in the order of [`published::TOP1`] (B8 and L2 left out: they come
/// from other training methods, and L2 would stretch the axis).
fn family_series(index: usize, axis: &Axis) -> Series {
    let (label, colour) = FAMILIES[index];
    Series {
        label: label.to_owned(),
        colour,
        points: published::TOP1
            .iter()
            .filter(|(v, _)| series_of(*v) == index && !matches!(v, Variant::B8 | Variant::L2))
            .map(|(v, top1)| ((axis.variant)(&v.config()), *top1, short(*v)))
            .collect(),
        line: Line::Solid,
        marker: Marker::Circle,
    }
}

/// Top-1 against `axis`: one series per family and the other ConvNets in grey.
pub fn accuracy_chart(axis: &Axis) -> String {
    let mut series: Vec<Series> = (0..FAMILIES.len())
        .map(|i| family_series(i, axis))
        .collect();
    series.push(Series {
        label: "other ConvNets".to_owned(),
        colour: "#7f7f7f",
        points: BASELINES
            .iter()
            .filter_map(|b| Some(((axis.baseline)(b)?, b.1, b.0.to_owned())))
            .collect(),
        line: Line::None,
        marker: Marker::Square,
    });
    Chart {
        title: format!("ImageNet top-1 vs {}", axis.per),
        x_label: axis.label.to_owned(),
        y_label: "top-1 % (published)".to_owned(),
        log_x: true,
        series,
        x_ticks: None,
        notes: vec![
            format!("Top-1 as published: B0–B7 and the other ConvNets from {PAPER};"),
            "MobileNetV2: Sandler et al. 2018, Table 4; Lite0–4: TF Lite README (FP32); V2: automl README (ImageNet-1k).".to_owned(),
            format!("EfficientNet {} computed by this crate from the configs; the other ConvNets' as published.", axis.per),
        ],
        legend_width: 180.0,
    }
    .render(820.0, 470.0)
}

/// Colour of a scaling method in the single-dimension figure.
fn method_colour(method: &str) -> &'static str {
    match method.split_whitespace().next() {
        Some("depth") => "#1f77b4",
        Some("width") => "#ff7f0e",
        Some("resolution") => "#2ca02c",
        _ => "#d62728",
    }
}

/// Top-1 gained over the baseline by scaling one dimension or all three to about the same
/// FLOPs, per network, from the paper's tables.
pub fn single_dimension_chart() -> String {
    let groups = SCALING_STUDIES
        .iter()
        .map(|study| {
            let (base_flops, base_top1) = study.baseline;
            Group {
                label: format!("{} {base_top1:.1}% at {base_flops} B", study.network),
                bars: study
                    .scaled
                    .iter()
                    .map(|(method, flops, top1)| Bar {
                        value: top1 - base_top1,
                        colour: method_colour(method),
                        text: format!(
                            "+{:.1} ({method}: {top1:.1}% at {flops} B)",
                            top1 - base_top1
                        ),
                        spread: None,
                    })
                    .collect(),
            }
        })
        .collect();
    BarChart {
        title: "Scaling one dimension vs all three, same FLOPs budget".to_owned(),
        subtitle: vec![
            "top-1 points gained over the unscaled network (published, arXiv 1905.11946v5, Tables 3 and 7)".to_owned(),
            "each scaled model costs about 4x the baseline's FLOPs (multiply-adds, billions)".to_owned(),
        ],
        groups,
        legend: vec![
            ("#1f77b4", "depth only".to_owned()),
            ("#ff7f0e", "width only".to_owned()),
            ("#2ca02c", "resolution only".to_owned()),
            ("#d62728", "compound (all three)".to_owned()),
        ],
        label_width: 290.0,
        text_room: 300.0,
    }
    .render(980.0)
}
