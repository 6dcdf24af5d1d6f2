//! `cargo xtask bench [--vs-torch]`: `efficientnet bench` (release build) on the standard
//! configurations, and with `--vs-torch` the same in PyTorch eager (NCHW and channels-last, the
//! better counts) and, for inference, in ONNX Runtime on PyTorch's ONNX export
//! (`scripts/bench_torch.py --runtime onnxruntime`), all with the same thread count, run back to
//! back and interleaved; then one table with both ratios, and `docs/bench.json` for
//! `cargo xtask docs`.

use std::path::Path;
use std::process::Command;

use crate::builds;
use crate::process::root;

/// One benchmark configuration.
struct Config {
    /// What the table calls it.
    label: &'static str,
    /// Model name.
    model: &'static str,
    /// Images per iteration.
    batch: usize,
    /// Input side in pixels.
    resolution: usize,
    /// `infer` or `train`.
    mode: &'static str,
    /// BatchNorm folded into the convolutions (ours only).
    fused: bool,
}

/// The benchmark configurations.
const CONFIGS: [Config; 7] = [
    Config {
        label: "B0 inference, batch 1, 224 px",
        model: "efficientnet_b0",
        batch: 1,
        resolution: 224,
        mode: "infer",
        fused: false,
    },
    Config {
        label: "B0 inference fused, batch 1, 224 px",
        model: "efficientnet_b0",
        batch: 1,
        resolution: 224,
        mode: "infer",
        fused: true,
    },
    Config {
        label: "B0 inference, batch 16, 224 px",
        model: "efficientnet_b0",
        batch: 16,
        resolution: 224,
        mode: "infer",
        fused: false,
    },
    Config {
        label: "B0 inference fused, batch 16, 224 px",
        model: "efficientnet_b0",
        batch: 16,
        resolution: 224,
        mode: "infer",
        fused: true,
    },
    Config {
        label: "B0 training step, batch 32, 128 px",
        model: "efficientnet_b0",
        batch: 32,
        resolution: 128,
        mode: "train",
        fused: false,
    },
    Config {
        label: "V2-S inference, batch 1, 384 px",
        model: "efficientnet_v2_s",
        batch: 1,
        resolution: 384,
        mode: "infer",
        fused: false,
    },
    Config {
        label: "V2-S inference fused, batch 1, 384 px",
        model: "efficientnet_v2_s",
        batch: 1,
        resolution: 384,
        mode: "infer",
        fused: true,
    },
];

/// Images/s and peak RSS (MiB) of one measurement.
type Measurement = (f64, f64);

/// One configuration's best measurement on each side.
struct Row {
    /// The configuration's label.
    label: &'static str,
    /// Ours.
    ours: Measurement,
    /// PyTorch's best memory format, with `--vs-torch`.
    torch: Option<Measurement>,
    /// ONNX Runtime's on PyTorch's export, with `--vs-torch` (inference only).
    ort: Option<Measurement>,
}

/// The reference runs of `scripts/bench_torch.py` for a configuration in `mode`: PyTorch in
/// both memory formats (one side, the better counts), and ONNX Runtime for inference.
fn references(mode: &str) -> Vec<(Side, &'static [&'static str])> {
    let mut runs = vec![
        (Side::Torch, &["--memory-format", "nchw"][..]),
        (Side::Torch, &["--memory-format", "channels_last"][..]),
    ];
    if mode == "infer" {
        runs.push((Side::Ort, &["--runtime", "onnxruntime"][..]));
    }
    runs
}

/// Which reference column a run of `bench_torch.py` fills.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Torch,
    Ort,
}

/// Runs a bench command (in the workspace root) and parses the JSON report it prints.
pub fn json_report(cmd: &mut Command) -> Result<serde_json::Value, String> {
    eprintln!("xtask: running {cmd:?}");
    let output = cmd
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("{cmd:?} printed no JSON report: {e}"))
}

/// One measurement's images/s and peak RSS (MiB), from a bench command's JSON output.
fn measure(cmd: &mut Command) -> Result<Measurement, String> {
    let report = json_report(cmd)?;
    let number = |key: &str| {
        report[key]
            .as_f64()
            .ok_or_else(|| format!("{cmd:?}: report lacks `{key}`"))
    };
    Ok((number("images_per_second")?, number("peak_rss_mib")?))
}

/// The higher rate and the lower memory of two measurements.
fn best(a: Measurement, b: Measurement) -> Measurement {
    (a.0.max(b.0), a.1.min(b.1))
}

/// Runs the benchmarks; `python` runs PyTorch too.
pub fn bench(
    cargo: &str,
    python: Option<&str>,
    iters: usize,
    repeats: usize,
) -> Result<(), String> {
    let ours = builds::release_cli(cargo, &root())?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let rows = CONFIGS
        .iter()
        .map(|config| measure_config(&ours, python, config, iters, repeats, threads))
        .collect::<Result<Vec<_>, _>>()?;
    if python.is_some() {
        write_bench_json(&rows, threads)?;
    }
    print_table(&rows, threads, iters, repeats, python.is_some());
    Ok(())
}

/// Best of the repeats on each side, interleaved so both see the same machine state; the
/// references run with `threads` threads, as ours has.
fn measure_config(
    ours: &Path,
    python: Option<&str>,
    config: &Config,
    iters: usize,
    repeats: usize,
    threads: usize,
) -> Result<Row, String> {
    let (batch, resolution) = (config.batch.to_string(), config.resolution.to_string());
    let iters = iters.to_string();
    let common = [
        "--model",
        config.model,
        "--batch-size",
        &batch,
        "--resolution",
        &resolution,
        "--mode",
        config.mode,
        "--iters",
        &iters,
        "--json",
    ];
    let threads = threads.to_string();
    let mut best_ours = (0.0_f64, f64::MAX);
    let (mut torch, mut ort) = (None::<Measurement>, None::<Measurement>);
    for _ in 0..repeats.max(1) {
        let mut cmd = Command::new(ours);
        cmd.args(["--device", "flex", "bench"]).args(common);
        if config.fused {
            cmd.arg("--fuse");
        }
        best_ours = best(best_ours, measure(&mut cmd)?);
        let Some(python) = python else { continue };
        for (side, args) in references(config.mode) {
            let mut cmd = Command::new(python);
            cmd.arg("scripts/bench_torch.py")
                .args(common)
                .args(["--threads", &threads])
                .args(args);
            let measured = measure(&mut cmd)?;
            let slot = if side == Side::Torch {
                &mut torch
            } else {
                &mut ort
            };
            *slot = Some(best(slot.unwrap_or((0.0, f64::MAX)), measured));
        }
    }
    Ok(Row {
        label: config.label,
        ours: best_ours,
        torch,
        ort,
    })
}

/// The CPU's SIMD extensions that matter to these kernels (Linux), e.g. `avx2 fma avx512f`.
pub fn cpu_flags() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags: Vec<&str> = info
        .lines()
        .find(|l| l.starts_with("flags") || l.starts_with("Features"))
        .and_then(|l| l.split(':').nth(1))
        .map(|f| f.split_whitespace().collect())
        .unwrap_or_default();
    let wanted = [
        "sse4_2",
        "avx",
        "avx2",
        "fma",
        "avx512f",
        "avx512bw",
        "avx512vl",
        "avx512_bf16",
        "asimd",
    ];
    let found: Vec<&str> = wanted.into_iter().filter(|w| flags.contains(w)).collect();
    if found.is_empty() {
        "unknown".to_owned()
    } else {
        found.join(" ")
    }
}

/// The CPU's model name (Linux), or `unknown CPU`.
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// The measured table as `docs/bench.json`, for the throughput figure of `cargo xtask docs`.
fn write_bench_json(rows: &[Row], threads: usize) -> Result<(), String> {
    let json = serde_json::json!({
        "machine": format!("{}, {threads} threads; Burn flex vs PyTorch eager CPU (best of NCHW and channels-last) and ONNX Runtime; cargo xtask bench --vs-torch", cpu_name()),
        "cpu_flags": cpu_flags(),
        "rows": rows.iter().map(|row| serde_json::json!({
            "config": row.label,
            "ours": row.ours.0,
            "ours_rss_mib": row.ours.1,
            "torch": row.torch.map(|t| t.0),
            "torch_rss_mib": row.torch.map(|t| t.1),
            "onnxruntime": row.ort.map(|t| t.0),
            "onnxruntime_rss_mib": row.ort.map(|t| t.1),
        })).collect::<Vec<_>>(),
    });
    let path = root().join("docs").join("bench.json");
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

/// The results as a Markdown table, with ratios when PyTorch and ONNX Runtime ran.
fn print_table(rows: &[Row], threads: usize, iters: usize, repeats: usize, vs_torch: bool) {
    println!(
        "\n{}, {threads} threads, CPU flags: {}; images/s (best of {repeats}, each the median of {iters} timed iterations), peak RSS in MiB\n",
        cpu_name(),
        cpu_flags()
    );
    if !vs_torch {
        println!("| configuration | img/s | peak MiB |");
        println!("|---|---:|---:|");
        for row in rows {
            println!("| {} | {:.1} | {:.0} |", row.label, row.ours.0, row.ours.1);
        }
        return;
    }
    println!(
        "| configuration | ours img/s | PyTorch img/s | ORT img/s | vs PyTorch | vs ORT | ours MiB | PyTorch MiB | ORT MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let rate = |m: Option<Measurement>| m.map_or("–".to_owned(), |(r, _)| format!("{r:.1}"));
    let rss = |m: Option<Measurement>| m.map_or("–".to_owned(), |(_, r)| format!("{r:.0}"));
    let ratio = |m: Option<Measurement>, ours: f64| {
        m.map_or("–".to_owned(), |(r, _)| format!("{:.2}x", ours / r))
    };
    for row in rows {
        let (ours, ours_rss) = row.ours;
        println!(
            "| {} | {ours:.1} | {} | {} | {} | {} | {ours_rss:.0} | {} | {} |",
            row.label,
            rate(row.torch),
            rate(row.ort),
            ratio(row.torch, ours),
            ratio(row.ort, ours),
            rss(row.torch),
            rss(row.ort),
        );
    }
}
