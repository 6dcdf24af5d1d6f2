//! `cargo xtask profile`: the time per op class of the fast inference path (`efficientnet
//! bench --fuse --profile`, release build), repeated, and with `--python` ONNX Runtime's own
//! profiler on the same model and input summed into the same classes
//! (`scripts/profile_ort.py`), run in turn. Prints a table (ms per class, both runtimes) and
//! writes `docs/profile.json` for the speed figure of `cargo xtask docs`.

use std::process::Command;

use crate::bench::{cpu_flags, cpu_name, json_report};
use crate::builds;
use crate::process::root;

/// What is profiled: model, batch and input side of every run.
pub struct Setup<'a> {
    pub model: &'a str,
    pub batch: usize,
    pub resolution: usize,
    /// Timed iterations per run (after the CLI's warm-up).
    pub iters: usize,
    /// Separate processes, for the spread between runs.
    pub runs: usize,
    /// Python with onnxruntime: ONNX Runtime's profiler on the same input, run in turn with
    /// ours (`scripts/profile_ort.py`).
    pub python: Option<&'a str>,
}

/// Runs the profile `setup.runs` times and writes `docs/profile.json`.
pub fn profile(cargo: &str, setup: &Setup<'_>) -> Result<(), String> {
    let cli = builds::release_cli(cargo, &root())?;
    let (batch, resolution, iters) = (
        setup.batch.to_string(),
        setup.resolution.to_string(),
        setup.iters.to_string(),
    );
    // What both sides are given: the same model, batch, input side and iterations.
    let common = [
        "--model",
        setup.model,
        "--batch-size",
        &batch,
        "--resolution",
        &resolution,
        "--iters",
        &iters,
    ];
    let ours = ["--device", "flex", "bench"]
        .into_iter()
        .chain(common)
        .chain(["--fuse", "--profile", "--json"]);
    let args: Vec<&str> = ours.collect();
    let threads = threads().to_string();
    let ort_args: Vec<&str> = std::iter::once("scripts/profile_ort.py")
        .chain(common)
        .chain(["--threads", &threads])
        .collect();
    let (mut runs, mut ort_runs) = (Vec::new(), Vec::new());
    for run in 1..=setup.runs.max(1) {
        eprintln!("xtask: profile run {run} of {}", setup.runs.max(1));
        runs.push(profiled(Command::new(&cli).args(&args))?);
        if let Some(python) = setup.python {
            ort_runs.push(profiled(Command::new(python).args(&ort_args))?);
        }
    }
    print_table(&runs, &ort_runs);
    let json = serde_json::json!({
        "machine": format!("{}, {threads} threads", cpu_name()),
        "cpu_flags": cpu_flags(),
        "command": format!("efficientnet {}", args.join(" ")),
        "model": setup.model,
        "batch": setup.batch,
        "resolution": setup.resolution,
        "runs": runs,
        "onnxruntime_command": setup.python.map(|_| format!("python {}", ort_args.join(" "))),
        "onnxruntime_runs": ort_runs,
    });
    let path = root().join("docs").join("profile.json");
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

/// One run's images/s and profile, from its JSON report.
fn profiled(cmd: &mut Command) -> Result<serde_json::Value, String> {
    let report = json_report(cmd)?;
    if !report["profile"].is_array() {
        return Err(format!("{cmd:?} reported no `profile`"));
    }
    Ok(serde_json::json!({
        "images_per_second": report["images_per_second"],
        "profile": report["profile"],
    }))
}

/// The median ms of `op` over `runs`, if any run has it.
pub fn median_ms(runs: &[serde_json::Value], op: &str) -> Option<f64> {
    let ms: Vec<f64> = runs
        .iter()
        .filter_map(|run| {
            let ops = run["profile"].as_array()?;
            ops.iter().find(|o| o["op"] == op)?["ms"].as_f64()
        })
        .collect();
    (!ms.is_empty()).then(|| median(ms))
}

/// The median of `v` (the mean of the middle two for an even count; 0 when empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Median ms per op class, ours beside ONNX Runtime's, as a Markdown table.
fn print_table(ours: &[serde_json::Value], ort: &[serde_json::Value]) {
    let ops: Vec<String> = ours
        .first()
        .and_then(|run| run["profile"].as_array())
        .map(|ops| {
            ops.iter()
                .filter_map(|o| o["op"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    println!("\n| op class | ours, ms | ONNX Runtime, ms | ours / ORT |");
    println!("|---|---:|---:|---:|");
    let (mut total, mut total_ort) = (0.0, 0.0);
    for op in ops {
        let mine = median_ms(ours, &op).unwrap_or(0.0);
        let theirs = median_ms(ort, &op);
        if mine == 0.0 && theirs.is_none() {
            continue; // a class this model does not have (Fused-MBConv in B0)
        }
        total += mine;
        total_ort += theirs.unwrap_or(0.0);
        let (t, r) = theirs.map_or(("–".to_owned(), "–".to_owned()), |t| {
            (format!("{t:.2}"), format!("{:.2}", mine / t.max(1e-9)))
        });
        println!("| {op} | {mine:.2} | {t} | {r} |");
    }
    println!(
        "| total | {total:.2} | {total_ort:.2} | {:.2} |",
        total / total_ort.max(1e-9)
    );
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
