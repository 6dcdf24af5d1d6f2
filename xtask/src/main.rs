//! `cargo xtask`: project chores that need more than one cargo invocation.
//!
//! * `cargo xtask ci` — what CI runs (`.ci/run`): fmt check, clippy, rustdoc, the test suite.
//! * `cargo xtask train [--backend B] [ARGS...]` — `efficientnet train` built with backend B's
//!   feature; without `--data` it trains a tiny EfficientNet on the built-in synthetic shapes.
//! * `cargo xtask docs` — the SVG figures of `docs/` from the configs and `docs/bench.json`.
//! * `cargo xtask bench [--vs-torch]` — `efficientnet bench` on the standard configurations
//!   (release build), side by side with PyTorch (`scripts/bench_torch.py`).
//! * `cargo xtask fuzz [--seconds S] [weights|image]` — libFuzzer on the weight readers and the
//!   image decoder (nightly + cargo-fuzz).
//! * `cargo xtask gpu-check` — on a GPU machine with Vulkan: the backend suite on wgpu, then B0
//!   inference and training (f32, bf16, f16) timings, in one JSON report.
//! * `cargo xtask test-slow` — the `#[ignore]`d tests (full-size variants such as B8), which CI skips.
//! * `cargo xtask parity` — regenerates the PyTorch fixtures, runs the parity tests, exports every
//!   case from Rust and loads it back in PyTorch with `strict=True` (needs Python with
//!   `scripts/requirements.txt`; `--python` picks the interpreter).

mod docs;
mod gpu_check;
mod svg;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "xtask", about = "efficientnet-burn project tasks")]
struct Args {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Run exactly what CI runs (`.ci/run`).
    Ci,
    /// Train: `efficientnet train` with the backend's Cargo feature; other arguments pass through.
    Train {
        /// flex, ndarray, wgpu, vulkan, metal or cuda.
        #[arg(long, default_value = "flex")]
        backend: String,
        /// Arguments of `efficientnet train` (see `efficientnet train --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
    /// Regenerate the PyTorch fixtures, run the parity tests, check Rust exports in PyTorch.
    Parity {
        /// Python interpreter with scripts/requirements.txt installed.
        #[arg(long, default_value = "python3")]
        python: String,
        /// Keep the committed fixtures instead of regenerating them.
        #[arg(long)]
        no_regenerate: bool,
        /// The full-size set (B0, V2-S, Lite0 at 224–384 px, 1000 classes) written to
        /// target/fixtures-full instead of the committed reduced-size fixtures.
        #[arg(long)]
        full: bool,
    },
    /// The figures of `docs/` (SVG), from the model configs and `docs/bench.json`.
    Docs,
    /// Benchmarks: `efficientnet bench` (release build) on the standard configurations, and
    /// with `--vs-torch` the same configurations in PyTorch (`scripts/bench_torch.py`), run
    /// back to back and interleaved, then one table of ratios (ours / PyTorch).
    Bench {
        /// Also run PyTorch and print ratios.
        #[arg(long)]
        vs_torch: bool,
        /// Python interpreter with torch and torchvision.
        #[arg(long, default_value = "python3")]
        python: String,
        /// Timed iterations per measurement (after 3 untimed).
        #[arg(long, default_value_t = 10)]
        iters: usize,
        /// Measurements of each configuration per side (interleaved); the best is reported.
        #[arg(long, default_value_t = 2)]
        repeats: usize,
    },
    /// Fuzz the weight-file readers and the image decoder with `cargo fuzz` (libFuzzer; needs
    /// a nightly toolchain and `cargo install cargo-fuzz`). Crashes land in `fuzz/artifacts/`.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// Targets to run (default: all).
        #[arg(value_parser = ["weights", "image"])]
        targets: Vec<String>,
    },
    /// On a GPU machine with a Vulkan driver: one build, the backend suite on wgpu/Vulkan, then
    /// B0 inference (batch 64, 256) and training steps (batch 64; f32, bf16, f16) timed with
    /// `efficientnet bench`; everything in one JSON report.
    GpuCheck {
        /// Where the report goes.
        #[arg(long, default_value = "target/gpu-check.json")]
        out: PathBuf,
        /// The device the timings run on, as `efficientnet --device` spells it.
        #[arg(long, default_value = "wgpu")]
        device: String,
    },
    /// Run the slow `#[ignore]`d tests (full-size B8 and friends).
    TestSlow {
        /// Extra arguments for the test binaries (e.g. a test name filter).
        #[arg(trailing_var_arg = true)]
        rest: Vec<String>,
    },
}

/// The workspace root (the parent of this crate's directory).
fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

/// Backends `efficientnet-cli` has a Cargo feature for.
const BACKENDS: [&str; 6] = ["flex", "ndarray", "wgpu", "vulkan", "metal", "cuda"];

/// The built-in main job: a width-0.25, depth-0.34 B0 (about 200k parameters) on 64-px
/// synthetic shapes, 6 epochs; used for every option the caller does not give when there is
/// no `--data`.
const SYNTHETIC_DEFAULTS: [(&str, &str); 12] = [
    ("--model", "efficientnet_b0"),
    ("--width", "0.25"),
    ("--depth", "0.34"),
    ("--image-size", "64"),
    ("--epochs", "6"),
    ("--batch-size", "32"),
    ("--lr", "0.004"),
    ("--warmup-epochs", "0.5"),
    ("--min-crop-scale", "0.5"),
    ("--synthetic-train", "1920"),
    ("--synthetic-valid", "384"),
    ("--out", "runs/synthetic"),
];

/// The values of `flag` in `args` (`--flag v`, `--flag=v`; comma-separated lists split).
fn flag_values(args: &[String], flag: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let value = if arg == flag {
            iter.next().cloned()
        } else {
            arg.strip_prefix(&format!("{flag}=")).map(str::to_owned)
        };
        if let Some(value) = value {
            values.extend(value.split(',').map(|v| v.trim().to_owned()));
        }
    }
    values
}

/// Refuses a backend with devices, options or an OS it cannot serve, with what to do instead.
fn check_combination(backend: &str, rest: &[String]) -> Result<(), String> {
    if !BACKENDS.contains(&backend) {
        return Err(format!(
            "unknown backend `{backend}`; choose one of {}",
            BACKENDS.join(", ")
        ));
    }
    if backend == "metal" && !cfg!(target_os = "macos") {
        return Err("--backend metal needs macOS; use wgpu or vulkan here".into());
    }
    if backend == "cuda" && cfg!(target_os = "macos") {
        return Err("--backend cuda: macOS has no CUDA; use metal".into());
    }
    // The backends a binary built with `backend`'s feature holds (vulkan and metal imply wgpu).
    let compiled: &[&str] = match backend {
        "vulkan" => &["vulkan", "wgpu"],
        "metal" => &["metal", "wgpu"],
        other => &[other],
    };
    for device in flag_values(rest, "--device")
        .into_iter()
        .chain(flag_values(rest, "--devices"))
    {
        let kind = device
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let kind = if kind == "cpu" {
            "flex".to_owned()
        } else {
            kind
        };
        if !compiled.contains(&kind.as_str()) {
            return Err(format!(
                "device `{device}` needs `--backend {kind}`, but this build is `--backend {backend}`"
            ));
        }
    }
    if rest.iter().any(|a| a == "--ddp") && backend != "cuda" {
        return Err(format!(
            "--ddp (DistributedDataParallel) needs --backend cuda: Burn all-reduces with NCCL \
             only; on {backend}, --devices alone trains data parallel"
        ));
    }
    Ok(())
}

fn train(cargo: &str, backend: &str, rest: Vec<String>) -> Result<(), String> {
    check_combination(backend, &rest)?;
    if backend == "cuda" {
        eprintln!(
            "xtask: note: Burn's CUDA backend downloads an LLVM bundle from GitHub while it builds"
        );
    }
    let given = |flag: &str| {
        rest.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    let mut args: Vec<String> = Vec::new();
    if given("--resume") {
        // The run's options come from its config.json; only the folder is filled in.
        if !given("--out") {
            args.extend(["--out".to_owned(), "runs/synthetic".to_owned()]);
        }
    } else if given("--data") {
        if !given("--out") {
            args.extend(["--out".to_owned(), "runs/train".to_owned()]);
        }
    } else {
        for (flag, value) in SYNTHETIC_DEFAULTS {
            if !given(flag) {
                args.extend([flag.to_owned(), value.to_owned()]);
            }
        }
    }
    let mut cmd = Command::new(cargo);
    cmd.args(["run", "-p", "efficientnet-cli"]);
    if backend != "flex" {
        cmd.args(["--no-default-features", "--features", backend]);
    }
    cmd.arg("--");
    if flag_values(&rest, "--device").is_empty() {
        cmd.args(["--device", backend]);
    }
    cmd.arg("train").args(args).args(rest);
    run(&mut cmd)
}

const CASES: [&str; 6] = [
    "tv_b0",
    "tf_b0",
    "lukemelas_b0",
    "tf_v2_b0",
    "tv_v2",
    "tf_lite0",
];

fn parity(cargo: &str, python: &str, no_regenerate: bool, full: bool) -> Result<(), String> {
    let target = root().join("target");
    let (fixtures, export) = if full {
        (
            Some(target.join("fixtures-full")),
            target.join("export-full"),
        )
    } else {
        (None, target.join("export"))
    };
    // The test harness reads the fixture folder from this variable (unset: tests/fixtures).
    let with_fixtures = |cmd: &mut Command| {
        if let Some(dir) = &fixtures {
            cmd.env("EFFICIENTNET_FIXTURES", dir);
        }
    };
    if !no_regenerate {
        let mut cmd = Command::new(python);
        cmd.arg("scripts/make_fixtures.py");
        if let Some(dir) = &fixtures {
            cmd.arg("--full").arg("--out").arg(dir);
        }
        run(&mut cmd)?;
    }
    let mut tests = Command::new(cargo);
    tests.args(["test", "-p", "efficientnet", "--test", "model", "parity"]);
    with_fixtures(&mut tests);
    run(&mut tests)?;

    let mut export_cmd = Command::new(cargo);
    export_cmd
        .args(["test", "-p", "efficientnet", "--test", "model"])
        .args(["export_every_case_for_pytorch", "--", "--ignored"])
        .env("EFFICIENTNET_EXPORT_DIR", &export);
    with_fixtures(&mut export_cmd);
    run(&mut export_cmd)?;
    for case in CASES {
        let mut check = Command::new(python);
        check
            .arg("scripts/check_export.py")
            .args(["--case", case, "--weights"])
            .arg(export.join(format!("{case}.safetensors")));
        if let Some(dir) = &fixtures {
            check.arg("--full").arg("--fixtures").arg(dir);
        }
        run(&mut check)?;
    }
    Ok(())
}

/// The benchmark configurations: (label, model, batch, resolution, mode, fused).
const BENCH_CONFIGS: [(&str, &str, usize, usize, &str, bool); 6] = [
    (
        "B0 inference, batch 1, 224 px",
        "efficientnet_b0",
        1,
        224,
        "infer",
        false,
    ),
    (
        "B0 inference fused, batch 1, 224 px",
        "efficientnet_b0",
        1,
        224,
        "infer",
        true,
    ),
    (
        "B0 inference, batch 16, 224 px",
        "efficientnet_b0",
        16,
        224,
        "infer",
        false,
    ),
    (
        "B0 inference fused, batch 16, 224 px",
        "efficientnet_b0",
        16,
        224,
        "infer",
        true,
    ),
    (
        "B0 training step, batch 32, 128 px",
        "efficientnet_b0",
        32,
        128,
        "train",
        false,
    ),
    (
        "V2-S inference, batch 1, 384 px",
        "efficientnet_v2_s",
        1,
        384,
        "infer",
        false,
    ),
];

/// One measurement's images/s and peak RSS (MiB), from a bench command's JSON output.
fn measure(cmd: &mut Command) -> Result<(f64, f64), String> {
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
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("{cmd:?} printed no JSON report: {e}"))?;
    let number = |key: &str| {
        report[key]
            .as_f64()
            .ok_or_else(|| format!("{cmd:?}: report lacks `{key}`"))
    };
    Ok((number("images_per_second")?, number("peak_rss_mib")?))
}

fn bench(cargo: &str, python: Option<&str>, iters: usize, repeats: usize) -> Result<(), String> {
    run(Command::new(cargo).args(["build", "--release", "-p", "efficientnet-cli"]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let ours = target.join("release").join("efficientnet");
    let iters = iters.to_string();
    let mut rows = Vec::new();
    for (label, model, batch, resolution, mode, fused) in BENCH_CONFIGS {
        let (batch, resolution) = (batch.to_string(), resolution.to_string());
        let common = [
            "--model",
            model,
            "--batch-size",
            &batch,
            "--resolution",
            &resolution,
            "--mode",
            mode,
            "--iters",
            &iters,
            "--json",
        ];
        // Best of the repeats on each side, interleaved so both see the same machine state.
        let (mut best_ours, mut best_torch) = ((0.0_f64, f64::MAX), None::<(f64, f64)>);
        for _ in 0..repeats.max(1) {
            let mut cmd = Command::new(&ours);
            cmd.args(["--device", "flex", "bench"]).args(common);
            if fused {
                cmd.arg("--fuse");
            }
            let (rate, rss) = measure(&mut cmd)?;
            best_ours = (best_ours.0.max(rate), best_ours.1.min(rss));
            if let Some(python) = python {
                let (rate, rss) = measure(
                    Command::new(python)
                        .arg("scripts/bench_torch.py")
                        .args(common),
                )?;
                let (r, m) = best_torch.unwrap_or((0.0, f64::MAX));
                best_torch = Some((r.max(rate), m.min(rss)));
            }
        }
        rows.push((label, best_ours, best_torch));
    }
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if python.is_some() {
        // The measured table, for the throughput figure of `cargo xtask docs`.
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let json = serde_json::json!({
            "machine": format!("{cpu}, {threads} threads; Burn flex vs PyTorch eager CPU; cargo xtask bench --vs-torch"),
            "rows": rows.iter().map(|(label, (rate, rss), torch)| serde_json::json!({
                "config": label,
                "ours": rate,
                "ours_rss_mib": rss,
                "torch": torch.map(|t| t.0),
                "torch_rss_mib": torch.map(|t| t.1),
            })).collect::<Vec<_>>(),
        });
        let path = root().join("docs").join("bench.json");
        let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
        std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("xtask: wrote {}", path.display());
    }
    println!(
        "\n{threads} threads; images/s (best of {repeats}, each the median of {iters} timed iterations), peak RSS in MiB\n"
    );
    if python.is_some() {
        println!(
            "| configuration | ours img/s | PyTorch img/s | speed ratio | ours MiB | PyTorch MiB | memory ratio |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
    } else {
        println!("| configuration | img/s | peak MiB |");
        println!("|---|---:|---:|");
    }
    for (label, (rate, rss), torch) in rows {
        match torch {
            Some((t_rate, t_rss)) => println!(
                "| {label} | {rate:.1} | {t_rate:.1} | {:.2}x | {rss:.0} | {t_rss:.0} | {:.2}x |",
                rate / t_rate,
                rss / t_rss
            ),
            None => println!("| {label} | {rate:.1} | {rss:.0} |"),
        }
    }
    Ok(())
}

/// Seed inputs of each fuzz target, besides its own growing corpus in `fuzz/corpus/<target>`
/// (not committed).
fn fuzz_seeds(target: &str) -> &'static [&'static str] {
    match target {
        "weights" => &["fuzz/seeds/weights", "tests/fixtures/hostile"],
        _ => &["tests/fixtures/images/odd", "tests/fixtures/hostile"],
    }
}

fn fuzz(seconds: u64, targets: Vec<String>) -> Result<(), String> {
    let targets = if targets.is_empty() {
        vec!["weights".to_owned(), "image".to_owned()]
    } else {
        targets
    };
    for target in &targets {
        let corpus = format!("fuzz/corpus/{target}");
        std::fs::create_dir_all(root().join(&corpus)).map_err(|e| format!("{corpus}: {e}"))?;
        // Release build with debug assertions (overflow checks) and AddressSanitizer; 2 GiB
        // of RSS or a 512 MiB allocation counts as a crash, and so does an input taking 10 s.
        // The rustup proxy (not `$CARGO`, a toolchain's own cargo) understands `+nightly`.
        run(Command::new("cargo")
            .args([
                "+nightly",
                "fuzz",
                "run",
                "--debug-assertions",
                target,
                &corpus,
            ])
            .args(fuzz_seeds(target))
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-rss_limit_mb=2048",
                "-malloc_limit_mb=600",
                "-timeout=10",
                "-max_len=65536",
            ]))?;
    }
    eprintln!(
        "xtask: fuzzed {} for {seconds} s each: no crash",
        targets.join(", ")
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let result = match args.task {
        Task::Ci => run(Command::new("bash").arg(".ci/run")),
        Task::Train { backend, rest } => train(&cargo, &backend, rest),
        Task::Parity {
            python,
            no_regenerate,
            full,
        } => parity(&cargo, &python, no_regenerate, full),
        Task::Docs => docs::generate(&root()),
        Task::GpuCheck { out, device } => {
            gpu_check::run(&cargo, &root(), &root().join(out), &device)
        }
        Task::Fuzz { seconds, targets } => fuzz(seconds, targets),
        Task::Bench {
            vs_torch,
            python,
            iters,
            repeats,
        } => bench(&cargo, vs_torch.then_some(python.as_str()), iters, repeats),
        Task::TestSlow { rest } => run(Command::new(cargo)
            .args(["test", "--workspace", "--", "--ignored"])
            .args(rest)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn unknown_or_mismatched_combinations_are_refused() {
        assert!(check_combination("flex", &[]).is_ok());
        assert!(
            check_combination("tpu", &[])
                .expect_err("refused")
                .contains("unknown backend")
        );
        let err =
            check_combination("flex", &args(&["--devices", "cuda:0,cuda:1"])).expect_err("refused");
        assert!(err.contains("needs `--backend cuda`"), "{err}");
        assert!(check_combination("vulkan", &args(&["--devices=wgpu:0,vulkan:1"])).is_ok());
        assert!(check_combination("flex", &args(&["--devices", "flex,cpu"])).is_ok());
        let err = check_combination("wgpu", &args(&["--devices", "wgpu:0,wgpu:1", "--ddp"]));
        assert!(err.expect_err("refused").contains("NCCL"));
        if !cfg!(target_os = "macos") {
            assert!(
                check_combination("metal", &[])
                    .expect_err("refused")
                    .contains("macOS")
            );
        }
    }
}
