//! `cargo xtask docs`: the figures of `docs/` and the generated tables, from the model
//! configs (channels, kernels, parameters, MACs), the published numbers of [`published`]
//! and two measurements: `docs/bench.json` (`cargo xtask bench --vs-torch`) and
//! `docs/profile.json` (`cargo xtask profile`).

mod accuracy;
mod blocks;
mod published;
mod scaling;
mod speed;
mod tables;

use std::path::Path;

use efficientnet::EfficientNetConfig;

/// Writes every figure into `docs/img/`, the B0 table into the explainer, the variant table
/// into the README and the weight-set table into `docs/weights.md`.
pub fn generate(root: &Path) -> Result<(), String> {
    let dir = root.join("docs").join("img");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    write_figure(
        &dir,
        "compound-scaling.svg",
        scaling::compound_scaling_chart(),
    )?;
    write_figure(
        &dir,
        "single-dimension-scaling.svg",
        accuracy::single_dimension_chart(),
    )?;
    write_figure(
        &dir,
        "top1-vs-params.svg",
        accuracy::accuracy_chart(&accuracy::PARAMS),
    )?;
    write_figure(
        &dir,
        "top1-vs-macs.svg",
        accuracy::accuracy_chart(&accuracy::MACS),
    )?;
    write_block_figures(&dir)?;
    update(
        root,
        "docs/how-efficientnet-works.md",
        tables::B0_STAGES,
        &tables::b0_stage_table(),
    )?;
    update(
        root,
        "README.md",
        tables::VARIANTS,
        &tables::variant_table(),
    )?;
    crate::weight_sets::update_readme(root)?;
    let measured = [
        (
            "bench.json",
            "throughput.svg",
            "cargo xtask bench --vs-torch",
            speed::throughput_chart as fn(&serde_json::Value) -> Option<String>,
        ),
        (
            "profile.json",
            "time-share.svg",
            "cargo xtask profile",
            speed::time_share_chart,
        ),
    ];
    for (data, figure, command, chart) in measured {
        write_measured(root, &dir, (data, figure, command), chart)?;
    }
    Ok(())
}

/// MBConv and squeeze-and-excitation on B0 stage 3, block 2; Fused-MBConv on V2-S stage 2,
/// block 2 (both residual).
fn write_block_figures(dir: &Path) -> Result<(), String> {
    let b0 = EfficientNetConfig::b0();
    let (block, side) = (&b0.plan().stages[2][1], input_side(&b0, 2, 1));
    let mbconv = blocks::block_diagram("MBConv (B0, stage 3, block 2)", block, side);
    write_figure(dir, "mbconv.svg", mbconv)?;
    write_figure(
        dir,
        "squeeze-excitation.svg",
        blocks::se_diagram(block, side),
    )?;
    let v2s = EfficientNetConfig::v2_s();
    let (block, side) = (&v2s.plan().stages[1][1], input_side(&v2s, 1, 1));
    let fused = blocks::block_diagram("Fused-MBConv (V2-S, stage 2, block 2)", block, side);
    write_figure(dir, "fused-mbconv.svg", fused)
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

/// Replaces the generated text between `markers` in `file` (relative to `root`), if the file
/// is there.
fn update(root: &Path, file: &str, markers: (&str, &str), text: &str) -> Result<(), String> {
    let path = root.join(file);
    if !path.is_file() {
        return Ok(());
    }
    crate::markers::update(&path, markers, text)
}

/// Writes `text` to `dir/name`.
fn write_figure(dir: &Path, name: &str, text: String) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

/// A figure drawn from a measurement file in `docs/`, or a note on the command that makes it.
fn write_measured(
    root: &Path,
    dir: &Path,
    (data, figure, command): (&str, &str, &str),
    chart: fn(&serde_json::Value) -> Option<String>,
) -> Result<(), String> {
    let path = root.join("docs").join(data);
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("xtask: no {}; run `{command}` for {figure}", path.display());
        return Ok(());
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let svg =
        chart(&value).ok_or_else(|| format!("{}: not what `{command}` writes", path.display()))?;
    write_figure(dir, figure, svg)
}
