//! Speed figures from measurements: images/s against PyTorch and ONNX Runtime
//! (`docs/bench.json`, `cargo xtask bench --vs-torch`) and, per op class of B0, the share of
//! the MACs against the share of the measured time (`docs/profile.json`, `cargo xtask
//! profile`).

use efficientnet::EfficientNetConfig;

use crate::bars::{Bar, BarChart, Group};
use crate::profile::{median, median_ms};

/// The runtimes of the throughput chart: `docs/bench.json` key, colour, legend.
const RUNTIMES: [(&str, &str, &str); 3] = [
    ("ours", "#1f77b4", "Burn (flex), this crate"),
    ("torch", "#ff7f0e", "PyTorch eager"),
    ("onnxruntime", "#2ca02c", "ONNX Runtime"),
];

/// Measured images/s (ours, PyTorch, ONNX Runtime where measured) from `docs/bench.json`.
pub fn throughput_chart(bench: &serde_json::Value) -> Option<String> {
    let rows = bench["rows"].as_array()?;
    let groups = rows
        .iter()
        .map(|row| Group {
            label: row["config"].as_str().unwrap_or("?").to_owned(),
            bars: RUNTIMES
                .iter()
                .filter_map(|(key, colour, _)| {
                    let v = row[*key].as_f64()?;
                    Some(Bar {
                        value: v,
                        colour,
                        text: format!("{v:.1}"),
                        spread: None,
                    })
                })
                .collect(),
        })
        .collect();
    let chart = BarChart {
        title: "Measured throughput, images/s (higher is better)".to_owned(),
        subtitle: vec![bench["machine"].as_str().unwrap_or("").to_owned()],
        groups,
        legend: RUNTIMES
            .iter()
            .map(|(_, colour, name)| (*colour, (*name).to_owned()))
            .collect(),
        label_width: 290.0,
        text_room: 60.0,
    };
    Some(chart.render(860.0))
}

/// MACs of one image at `side` px per op class of the fast path (the names of
/// `efficientnet bench --profile`), in network order.
pub fn macs_by_class(config: &EfficientNetConfig, side: usize) -> Vec<(&'static str, u64)> {
    let m = config.plan().macs_by_op(side, side);
    vec![
        ("stem", m.stem),
        ("expand_1x1", m.expand),
        ("depthwise", m.depthwise),
        ("squeeze_excitation", m.squeeze_excitation),
        ("fused_kxk", m.fused),
        ("project_1x1", m.project),
        ("head_and_pool", m.head),
        ("classifier", m.classifier),
    ]
}

/// A profiled op class's share of each run's total time (%).
fn time_shares(runs: &[serde_json::Value], op: &str) -> Vec<f64> {
    runs.iter()
        .filter_map(|run| {
            let ops = run["profile"].as_array()?;
            let total: f64 = ops.iter().filter_map(|o| o["ms"].as_f64()).sum();
            let ms = ops.iter().find(|o| o["op"] == op)?["ms"].as_f64()?;
            Some(100.0 * ms / total.max(1e-12))
        })
        .collect()
}

/// A time bar of `op`: its median share of each run's time, the lowest and highest share as
/// the whisker, and its median ms; `None` when no run has it.
fn time_bar(
    runs: &[serde_json::Value],
    op: &str,
    colour: &'static str,
    whose: &str,
) -> Option<Bar> {
    let shares = time_shares(runs, op);
    if shares.is_empty() {
        return None;
    }
    let (lo, hi) = shares
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), s| (a.min(*s), b.max(*s)));
    let ms = median_ms(runs, op).unwrap_or(0.0);
    let share = median(shares);
    Some(Bar {
        value: share,
        colour,
        text: format!("{share:.1}% of {whose} time ({ms:.2} ms)"),
        spread: Some((lo, hi)),
    })
}

/// `lowest–highest` images/s of `runs`.
fn rate_range(runs: &[serde_json::Value]) -> String {
    let rates: Vec<f64> = runs
        .iter()
        .filter_map(|r| r["images_per_second"].as_f64())
        .collect();
    let lo = rates.iter().copied().fold(f64::MAX, f64::min);
    let hi = rates.iter().copied().fold(0.0, f64::max);
    format!("{lo:.1}–{hi:.1} images/s")
}

const MAC_COLOUR: &str = "#9e9e9e";
const OURS_COLOUR: &str = "#1f77b4";
const ORT_COLOUR: &str = "#2ca02c";

/// Per op class: share of the MACs against share of the measured time (ours, and ONNX
/// Runtime's where profiled), from `docs/profile.json`, with the lowest and highest run as a
/// whisker.
pub fn time_share_chart(profile: &serde_json::Value) -> Option<String> {
    let runs = profile["runs"].as_array()?;
    let ort: &[serde_json::Value] = profile["onnxruntime_runs"].as_array().map_or(&[], |v| v);
    let model = profile["model"].as_str()?;
    let side = profile["resolution"].as_u64()? as usize;
    let config = EfficientNetConfig::from_name(model).ok()?;
    let macs = macs_by_class(&config, side);
    let total_macs: u64 = macs.iter().map(|(_, m)| m).sum();
    let names = std::iter::once("layout").chain(macs.iter().map(|(n, _)| *n));
    let groups = names
        .filter_map(|op| {
            let mac_share = macs
                .iter()
                .find(|(n, _)| *n == op)
                .map_or(0.0, |(_, m)| 100.0 * *m as f64 / total_macs as f64);
            if mac_share == 0.0 && median_ms(runs, op).unwrap_or(0.0) == 0.0 {
                return None; // a class this model does not have (Fused-MBConv in B0)
            }
            let ours = time_bar(runs, op, OURS_COLOUR, "our");
            let mac_bar = Bar {
                value: mac_share,
                colour: MAC_COLOUR,
                text: format!("{mac_share:.1}% of MACs"),
                spread: None,
            };
            let theirs = time_bar(ort, op, ORT_COLOUR, "ONNX Runtime's");
            Some(Group {
                label: op.replace('_', " "),
                bars: std::iter::once(mac_bar).chain(ours).chain(theirs).collect(),
            })
        })
        .collect();
    let mut legend = vec![
        (MAC_COLOUR, "share of the MACs".to_owned()),
        (OURS_COLOUR, "share of this crate's time".to_owned()),
    ];
    let mut subtitle = vec![
        format!(
            "{}; median of {} runs, whiskers: lowest and highest run",
            profile["machine"].as_str().unwrap_or(""),
            runs.len()
        ),
        format!(
            "this crate: {}, `{}`",
            rate_range(runs),
            profile["command"].as_str().unwrap_or("")
        ),
    ];
    if !ort.is_empty() {
        legend.push((ORT_COLOUR, "share of ONNX Runtime's time".to_owned()));
        subtitle.push(format!(
            "ONNX Runtime (its profiler, torchvision's model exported to ONNX): {}",
            rate_range(ort)
        ));
    }
    let chart = BarChart {
        title: format!(
            "Where the time goes: {model}, batch {}, {side} px, inference on the CPU",
            profile["batch"]
        ),
        subtitle,
        groups,
        legend,
        label_width: 150.0,
        text_room: 270.0,
    };
    Some(chart.render(900.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_class_macs_add_up_to_the_model_macs() {
        for config in [
            EfficientNetConfig::b0(),
            EfficientNetConfig::v2_s(),
            EfficientNetConfig::lite0(),
        ] {
            let sum: u64 = macs_by_class(&config, config.resolution)
                .iter()
                .map(|(_, m)| m)
                .sum();
            assert_eq!(sum, config.macs());
        }
    }
}
