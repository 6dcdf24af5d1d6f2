//! `cargo xtask docs`: the figures of `docs/how-efficientnet-works.md`, generated from the
//! model configs (channels, kernels, parameters, MACs), the published accuracies below and the
//! measured benchmark table `docs/bench.json` (written by `cargo xtask bench --vs-torch`).

use std::path::Path;

use efficientnet::arch::{BlockKind, BlockPlan};
use efficientnet::{EfficientNetConfig, Family, Variant};

use crate::svg::{Anchor, Chart, Series, Svg};

/// Published ImageNet top-1 (%): the EfficientNet paper (Tan & Le, 2019, v1 table 2) for
/// B0–B7, the TF EfficientNet-Lite README (FP32) for Lite0–4, and the automl EfficientNetV2
/// README for V2-B0–B3 and S/M/L (ImageNet-1k training).
const PUBLISHED_TOP1: [(Variant, f64); 20] = [
    (Variant::B0, 76.3),
    (Variant::B1, 78.8),
    (Variant::B2, 79.8),
    (Variant::B3, 81.1),
    (Variant::B4, 82.6),
    (Variant::B5, 83.3),
    (Variant::B6, 84.0),
    (Variant::B7, 84.4),
    (Variant::Lite0, 75.1),
    (Variant::Lite1, 76.7),
    (Variant::Lite2, 77.6),
    (Variant::Lite3, 79.8),
    (Variant::Lite4, 81.5),
    (Variant::V2B0, 78.7),
    (Variant::V2B1, 79.8),
    (Variant::V2B2, 80.5),
    (Variant::V2B3, 82.1),
    (Variant::V2S, 83.9),
    (Variant::V2M, 85.2),
    (Variant::V2L, 85.7),
];

/// Chart series of a variant: 0 = V1, 1 = Lite, 2 = V2.
fn family(v: Variant) -> usize {
    match v.config().family {
        Family::V1 => 0,
        Family::Lite => 1,
        _ => 2,
    }
}

fn short(v: Variant) -> String {
    format!("{v:?}").replace("V2", "V2-")
}

/// Top-1 against parameters (millions) or MACs (billions), one series per family.
fn accuracy_chart(per: &str, x_label: &str, x: impl Fn(&EfficientNetConfig) -> f64) -> String {
    let names = [
        "EfficientNet B0–B7",
        "EfficientNet-Lite0–4",
        "EfficientNetV2",
    ];
    let colours = ["#1f77b4", "#2ca02c", "#d62728"];
    let series = (0..3)
        .map(|f| Series {
            label: names[f].to_owned(),
            colour: colours[f],
            points: PUBLISHED_TOP1
                .iter()
                .filter(|(v, _)| family(*v) == f)
                .map(|(v, top1)| (x(&v.config()), *top1, short(*v)))
                .collect(),
            line: true,
        })
        .collect();
    Chart {
        title: format!("ImageNet top-1 vs {per}"),
        x_label: x_label.to_owned(),
        y_label: "top-1 % (published)".to_owned(),
        log_x: true,
        series,
    }
    .render(760.0, 440.0)
}

/// Width, depth and resolution multipliers of B0–B7 (the first eight of `Variant::ALL`).
fn compound_scaling_chart() -> String {
    let v1 = &Variant::ALL[..8];
    let configs: Vec<(usize, EfficientNetConfig)> = v1
        .iter()
        .enumerate()
        .map(|(i, v)| (i, v.config()))
        .collect();
    let measured = |label: &str, colour, f: fn(&EfficientNetConfig) -> f64| Series {
        label: label.to_owned(),
        colour,
        points: configs
            .iter()
            .map(|(i, c)| (*i as f64, f(c), format!("{:.2}", f(c))))
            .collect(),
        line: true,
    };
    Chart {
        title: "Compound scaling of B0–B7 (x = variant index)".to_owned(),
        x_label: "variant: 0 = B0 ... 7 = B7".to_owned(),
        y_label: "multiplier over B0".to_owned(),
        log_x: false,
        series: vec![
            measured("depth d", "#1f77b4", |c| c.depth),
            measured("width w", "#ff7f0e", |c| c.width),
            measured("resolution r/224", "#2ca02c", |c| {
                c.resolution as f64 / 224.0
            }),
        ],
    }
    .render(760.0, 440.0)
}

/// One box of a block diagram: label, detail, fill colour.
type Step = (&'static str, String, &'static str);

/// A block's input, expanded and output channels, kernel size and stride.
fn shape(block: &BlockPlan) -> (usize, usize, usize, usize, usize) {
    (
        block.in_channels,
        block.mid_channels,
        block.out_channels,
        block.kernel,
        block.stride,
    )
}

/// The boxes of an MBConv block: expansion (if any), depthwise conv, SE (if any), projection.
fn mbconv_steps(block: &BlockPlan) -> Vec<Step> {
    let (cin, mid, cout, k, s) = shape(block);
    let mut steps = Vec::new();
    if block.has_expansion() {
        steps.push((
            "1x1 conv, BN, SiLU",
            format!("expand {cin} -> {mid} channels"),
            "#dbe9f6",
        ));
    }
    steps.push((
        "depthwise conv, BN, SiLU",
        format!("{k}x{k}, stride {s}, one filter per channel ({mid})"),
        "#fde2c8",
    ));
    if let Some(se) = block.se_channels {
        steps.push((
            "squeeze-excitation",
            format!("{mid} -> {se} -> {mid}, channel gates"),
            "#e3f1dc",
        ));
    }
    steps.push((
        "1x1 conv, BN (no activation)",
        format!("project {mid} -> {cout} channels"),
        "#dbe9f6",
    ));
    steps
}

/// The boxes of a Fused-MBConv block: the full conv, and a projection if it changes width.
fn fused_mbconv_steps(block: &BlockPlan) -> Vec<Step> {
    let (cin, mid, cout, k, s) = shape(block);
    let mut steps = vec![(
        "full conv, BN, SiLU",
        format!("{k}x{k}, stride {s}, {cin} -> {mid} channels"),
        "#fde2c8",
    )];
    if mid != cout {
        steps.push((
            "1x1 conv, BN (no activation)",
            format!("project {mid} -> {cout} channels"),
            "#dbe9f6",
        ));
    }
    steps
}

/// The boxes of `block`, stochastic depth last on a residual block.
fn block_steps(block: &BlockPlan) -> Vec<Step> {
    let mut steps = match block.kind {
        BlockKind::MbConv => mbconv_steps(block),
        BlockKind::FusedMbConv => fused_mbconv_steps(block),
    };
    if block.has_residual() {
        steps.push((
            "stochastic depth",
            format!(
                "drop the branch per sample (p = {:.3} here)",
                block.drop_path
            ),
            "#eeeeee",
        ));
    }
    steps
}

/// Width of a block diagram, height of a step's box and the gap between boxes.
const FLOW_WIDTH: f64 = 520.0;
const STEP_H: f64 = 46.0;
const GAP: f64 = 26.0;

/// A block as a vertical flow chart, with the channel counts of `block`.
fn block_diagram(title: &str, block: &BlockPlan, side: usize) -> String {
    let steps = block_steps(block);
    let height = 110.0 + (steps.len() as f64 + 1.0) * (STEP_H + GAP) + 30.0;
    let mut svg = Svg::new(FLOW_WIDTH, height);
    let cx = FLOW_WIDTH / 2.0 - 20.0;
    svg.text(FLOW_WIDTH / 2.0, 24.0, 16.0, Anchor::Middle, title);
    let input_y = 60.0;
    let cin = block.in_channels;
    svg.node(
        (cx, input_y),
        (300.0, 34.0),
        "#ffffff",
        &format!("input [N, {cin}, {side}, {side}]"),
        "",
    );
    let (last, half) = draw_steps(&mut svg, cx, input_y, &steps);
    let y = if block.has_residual() {
        draw_residual_join(&mut svg, cx, input_y, last, half)
    } else {
        let y = last + (STEP_H + GAP);
        svg.arrow(cx, last + half, cx, y - 17.0);
        y
    };
    let (cout, out_side) = (block.out_channels, side.div_ceil(block.stride));
    svg.node(
        (cx, y),
        (300.0, 34.0),
        "#ffffff",
        &format!("output [N, {cout}, {out_side}, {out_side}]"),
        "",
    );
    svg.finish()
}

/// Draws `steps` one below the other under the input box centred at `y`, each with an arrow
/// from the box above; returns the last box's centre and half its height.
fn draw_steps(svg: &mut Svg, cx: f64, mut y: f64, steps: &[Step]) -> (f64, f64) {
    let mut half = 17.0; // half the height of the box above
    for (label, detail, fill) in steps {
        svg.arrow(cx, y + half, cx, y + STEP_H + GAP - STEP_H / 2.0);
        y += STEP_H + GAP;
        half = STEP_H / 2.0;
        svg.node((cx, y), (360.0, STEP_H), fill, label, detail);
    }
    (y, half)
}

/// The `+` of a residual block below the last box (centre `last`, half height `half`), the
/// identity path into it from the input box at `input_y`, and the arrow on; returns the
/// centre of the output box.
fn draw_residual_join(svg: &mut Svg, cx: f64, input_y: f64, last: f64, half: f64) -> f64 {
    let y = last + (STEP_H + GAP);
    svg.arrow(cx, last + half, cx, y - 13.0);
    svg.ring(cx, y, 13.0);
    svg.text(cx, y + 6.0, 18.0, Anchor::Middle, "+");
    let skip_x = cx + 215.0;
    svg.line(cx + 150.0, input_y, skip_x, input_y, "#444", 1.5);
    svg.line(skip_x, input_y, skip_x, y, "#444", 1.5);
    svg.arrow(skip_x, y, cx + 13.0, y);
    svg.text(
        skip_x + 6.0,
        (input_y + y) / 2.0,
        12.0,
        Anchor::Start,
        "identity",
    );
    svg.arrow(cx, y + 13.0, cx, y + 13.0 + GAP);
    y + (13.0 + GAP + 17.0)
}

/// Squeeze-and-excitation on `block`'s channels.
fn se_diagram(block: &BlockPlan, side: usize) -> String {
    let (mid, se) = (block.mid_channels, block.se_channels.unwrap_or(1));
    let side = side.div_ceil(block.stride);
    let mut svg = Svg::new(860.0, 250.0);
    svg.text(
        430.0,
        24.0,
        16.0,
        Anchor::Middle,
        "Squeeze-and-excitation (Hu et al., 2018) as in EfficientNet",
    );
    let y = 80.0;
    let xs = [85.0, 255.0, 425.0, 595.0, 765.0];
    svg.node(
        (xs[0], y),
        (150.0, 46.0),
        "#ffffff",
        "x",
        &format!("[N, {mid}, {side}, {side}]"),
    );
    svg.node(
        (xs[1], y),
        (150.0, 46.0),
        "#e3f1dc",
        "global mean",
        &format!("[N, {mid}, 1, 1]"),
    );
    svg.node(
        (xs[2], y),
        (150.0, 46.0),
        "#dbe9f6",
        "1x1 conv, SiLU",
        &format!("{mid} -> {se}"),
    );
    svg.node(
        (xs[3], y),
        (150.0, 46.0),
        "#dbe9f6",
        "1x1 conv, sigmoid",
        &format!("{se} -> {mid}"),
    );
    svg.node(
        (xs[4], y + 110.0),
        (150.0, 46.0),
        "#fde2c8",
        "x * gate",
        &format!("[N, {mid}, {side}, {side}]"),
    );
    for i in 0..3 {
        svg.arrow(xs[i] + 75.0, y, xs[i + 1] - 75.0, y);
    }
    svg.arrow(xs[3], y + 23.0, xs[4] - 30.0, y + 110.0 - 23.0);
    svg.line(xs[0], y + 23.0, xs[0], y + 110.0, "#444", 1.5);
    svg.arrow(xs[0], y + 110.0, xs[4] - 75.0, y + 110.0);
    svg.text(
        430.0,
        y + 150.0,
        12.0,
        Anchor::Middle,
        &format!(
            "squeeze width = 1/4 of the block's input channels ({se}), not of the expanded {mid}"
        ),
    );
    svg.finish()
}

/// The runtimes of the throughput chart: `docs/bench.json` key, colour, legend.
const RUNTIMES: [(&str, &str, &str); 3] = [
    ("ours", "#1f77b4", "Burn (flex)"),
    ("torch", "#ff7f0e", "PyTorch"),
    ("onnxruntime", "#2ca02c", "ONNX Runtime"),
];

/// Measured images/s (ours, PyTorch, ONNX Runtime where measured) from `docs/bench.json`, as
/// horizontal bars.
fn throughput_chart(bench: &serde_json::Value) -> Option<String> {
    let rows = bench["rows"].as_array()?;
    let machine = bench["machine"].as_str().unwrap_or("");
    let (width, bar, gap, left) = (860.0, 16.0, 18.0, 300.0);
    let bars = |r: &serde_json::Value| RUNTIMES.iter().filter(|(k, ..)| r[*k].is_f64()).count();
    let height = 90.0 + rows.iter().map(|r| bars(r) as f64 * bar + gap).sum::<f64>() + 30.0;
    let max = rows
        .iter()
        .flat_map(|r| RUNTIMES.map(|(key, ..)| r[key].as_f64()))
        .flatten()
        .fold(0.0, f64::max)
        .max(1e-9);
    let mut svg = Svg::new(width, height);
    svg.text(
        width / 2.0,
        24.0,
        16.0,
        Anchor::Middle,
        "Measured throughput, images/s (higher is better)",
    );
    svg.text(width / 2.0, 44.0, 11.0, Anchor::Middle, machine);
    let scale = (width - left - 140.0) / max; // room for "152.9 (ONNX Runtime)"
    let mut y = 70.0;
    for row in rows {
        let label = row["config"].as_str().unwrap_or("?");
        let middle = y + bars(row) as f64 * bar / 2.0 + 4.0;
        svg.text(left - 10.0, middle, 12.0, Anchor::End, label);
        for (key, colour, name) in RUNTIMES {
            let Some(v) = row[key].as_f64() else { continue };
            svg.rect(left, y, v * scale, bar, colour, "none");
            svg.text(
                left + v * scale + 6.0,
                y + bar - 3.0,
                11.0,
                Anchor::Start,
                &format!("{v:.1} ({name})"),
            );
            y += bar;
        }
        y += gap;
    }
    Some(svg.finish())
}

/// The input side (pixels) of block `block` of stage `stage` at the config's resolution.
fn input_side(config: &EfficientNetConfig, stage: usize, block: usize) -> usize {
    let plan = config.plan();
    let mut side = config.resolution.div_ceil(2); // the stem's stride 2
    for (s, blocks) in plan.stages.iter().enumerate() {
        for (b, plan) in blocks.iter().enumerate() {
            if (s, b) == (stage, block) {
                return side;
            }
            side = side.div_ceil(plan.stride);
        }
    }
    side
}

/// Markers around the generated B0 stage table in `docs/how-efficientnet-works.md`.
const TABLE_START: &str = "<!-- b0-stage-table: generated by `cargo xtask docs` -->";
const TABLE_END: &str = "<!-- /b0-stage-table -->";

/// B0's stages as a Markdown table: blocks, kernel, stride, channels, resolution.
fn b0_stage_table() -> String {
    let config = EfficientNetConfig::b0();
    let plan = config.plan();
    let mut side = config.resolution.div_ceil(2);
    let mut rows = vec![
        "| stage | block | repeats | kernel | stride | expand | channels in -> out | SE squeeze | input px |".to_owned(),
        "|---|---|---:|---:|---:|---:|---|---:|---:|".to_owned(),
        format!("| stem | conv 3x3 | 1 | 3 | 2 | - | 3 -> {} | - | {} |", plan.stem_channels, config.resolution),
    ];
    for (i, stage) in plan.stages.iter().enumerate() {
        let first = &stage[0];
        let kind = match (first.kind, first.has_expansion()) {
            (BlockKind::MbConv, true) => "MBConv",
            (BlockKind::MbConv, false) => "MBConv (no expansion)",
            (BlockKind::FusedMbConv, _) => "Fused-MBConv",
        };
        rows.push(format!(
            "| {} | {kind} | {} | {} | {} | {} | {} -> {} | {} | {side} |",
            i + 1,
            stage.len(),
            first.kernel,
            first.stride,
            first.mid_channels / first.in_channels,
            first.in_channels,
            first.out_channels,
            first.se_channels.map_or("-".to_owned(), |c| c.to_string()),
        ));
        side = stage.iter().fold(side, |s, b| s.div_ceil(b.stride));
    }
    rows.push(format!(
        "| head | conv 1x1, pool, dropout, linear | 1 | 1 | 1 | - | {} -> {} -> {} classes | - | {side} |",
        plan.last_channels(),
        plan.head_channels,
        plan.num_classes
    ));
    rows.join("\n")
}

/// Replaces the generated table in the explainer, if the file is there.
fn update_table(root: &Path) -> Result<(), String> {
    let path = root.join("docs").join("how-efficientnet-works.md");
    if !path.is_file() {
        return Ok(());
    }
    crate::markers::update(&path, (TABLE_START, TABLE_END), &b0_stage_table())
}

/// Writes `text` to `dir/name`.
fn write_figure(dir: &Path, name: &str, text: String) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

/// The accuracy figures: file, what top-1 is plotted against, the x axis, and its values.
type AccuracyFigure = (
    &'static str,
    &'static str,
    &'static str,
    fn(&EfficientNetConfig) -> f64,
);

/// Writes every figure into `docs/img/`, the B0 table into the explainer and the weight-set
/// table into the README.
pub fn generate(root: &Path) -> Result<(), String> {
    let dir = root.join("docs").join("img");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    write_figure(&dir, "compound-scaling.svg", compound_scaling_chart())?;
    let accuracy: [AccuracyFigure; 2] = [
        (
            "top1-vs-params.svg",
            "parameters",
            "parameters (millions, log scale)",
            |c| c.num_params() as f64 / 1e6,
        ),
        (
            "top1-vs-macs.svg",
            "MACs",
            "multiply-accumulates at the native resolution (billions, log scale)",
            |c| c.macs() as f64 / 1e9,
        ),
    ];
    for (name, per, x_label, x) in accuracy {
        write_figure(&dir, name, accuracy_chart(per, x_label, x))?;
    }
    // A residual MBConv with SE: B0 stage 3 (index 2), block 2.
    let b0 = EfficientNetConfig::b0();
    let (block, side) = (&b0.plan().stages[2][1], input_side(&b0, 2, 1));
    let mbconv = block_diagram("MBConv (B0, stage 3, block 2)", block, side);
    write_figure(&dir, "mbconv.svg", mbconv)?;
    write_figure(&dir, "squeeze-excitation.svg", se_diagram(block, side))?;
    // A residual Fused-MBConv: V2-S stage 2 (index 1), block 2.
    let v2s = EfficientNetConfig::v2_s();
    let (block, side) = (&v2s.plan().stages[1][1], input_side(&v2s, 1, 1));
    let fused = block_diagram("Fused-MBConv (V2-S, stage 2, block 2)", block, side);
    write_figure(&dir, "fused-mbconv.svg", fused)?;
    update_table(root)?;
    crate::weight_sets::update_readme(root)?;
    write_throughput(root, &dir)
}

/// The throughput figure from `docs/bench.json`, or a note on how to measure it.
fn write_throughput(root: &Path, dir: &Path) -> Result<(), String> {
    let bench_path = root.join("docs").join("bench.json");
    let Ok(bytes) = std::fs::read(&bench_path) else {
        eprintln!(
            "xtask: no {}; run `cargo xtask bench --vs-torch` for the throughput figure",
            bench_path.display()
        );
        return Ok(());
    };
    let bench: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", bench_path.display()))?;
    let chart =
        throughput_chart(&bench).ok_or_else(|| format!("{}: no `rows`", bench_path.display()))?;
    write_figure(dir, "throughput.svg", chart)
}
