//! `cargo xtask profile`: the time per op class of the fast inference path (`efficientnet
//! bench --fuse --profile`, release build), repeated, as `docs/profile.json` for the speed
//! figure of `cargo xtask docs` (share of MACs against share of measured time).

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
}

/// Runs the profile `setup.runs` times and writes `docs/profile.json`.
pub fn profile(cargo: &str, setup: &Setup<'_>) -> Result<(), String> {
    let cli = builds::release_cli(cargo, &root())?;
    let (batch, resolution, iters) = (
        setup.batch.to_string(),
        setup.resolution.to_string(),
        setup.iters.to_string(),
    );
    let args = [
        "--device",
        "flex",
        "bench",
        "--model",
        setup.model,
        "--batch-size",
        &batch,
        "--resolution",
        &resolution,
        "--iters",
        &iters,
        "--fuse",
        "--profile",
        "--json",
    ];
    let mut runs = Vec::new();
    for run in 1..=setup.runs.max(1) {
        eprintln!("xtask: profile run {run} of {}", setup.runs.max(1));
        let report = json_report(Command::new(&cli).args(args))?;
        if !report["profile"].is_array() {
            return Err("efficientnet bench reported no `profile`".into());
        }
        runs.push(serde_json::json!({
            "images_per_second": report["images_per_second"],
            "profile": report["profile"],
        }));
    }
    let json = serde_json::json!({
        "machine": format!("{}, {} threads", cpu_name(), threads()),
        "cpu_flags": cpu_flags(),
        "command": format!("efficientnet {}", args.join(" ")),
        "model": setup.model,
        "batch": setup.batch,
        "resolution": setup.resolution,
        "runs": runs,
    });
    let path = root().join("docs").join("profile.json");
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
