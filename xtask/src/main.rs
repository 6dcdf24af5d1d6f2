//! `cargo xtask`: project chores that need more than one cargo invocation.
//!
//! * `cargo xtask ci` — what CI runs (`.ci/run`): fmt check, clippy, rustdoc, the test suite.
//! * `cargo xtask train [--backend B] [ARGS...]` — `efficientnet train` built with backend B's
//!   feature; without `--data` it trains a tiny EfficientNet on the built-in synthetic shapes.
//! * `cargo xtask docs` — the SVG figures of `docs/` and the generated tables, from the configs,
//!   published numbers, `docs/bench.json` and `docs/profile.json`.
//! * `cargo xtask bench [--vs-torch]` — `efficientnet bench` on the standard configurations
//!   (release build), side by side with PyTorch (`scripts/bench_torch.py`).
//! * `cargo xtask profile [--runs N] [--python PY]` — time per op class of the fast inference
//!   path (B0, batch 1, release build), N separate runs, beside ONNX Runtime's profiler with
//!   `--python`; `docs/profile.json` for `cargo xtask docs`.
//! * `cargo xtask fuzz [--seconds S] [weights|image]` — libFuzzer on the weight readers and the
//!   image decoder (nightly + cargo-fuzz).
//! * `cargo xtask gpu-bundle [--check]` — the GPU check packed in one folder that runs with
//!   nothing but a Vulkan driver (`run.sh`: the backend suite on wgpu, B0 inference and training
//!   timings, one JSON report); `--check` runs its short mode here (lavapipe).
//! * `cargo xtask gpu-check` — the bundle built and its full check run on this machine.
//! * `cargo xtask loadtest [--model M] [--requests N]` — `efficientnet serve` (release build) on
//!   loopback at 1, 8 and 32 concurrent clients, batching on and off: requests/s, p50, p99.
//! * `cargo xtask test-slow` — the `#[ignore]`d tests (full-size variants such as B8), which CI skips.
//! * `cargo xtask parity` — regenerates the PyTorch fixtures, runs the parity tests, exports every
//!   case from Rust and loads it back in PyTorch with `strict=True` (needs Python with
//!   `scripts/requirements.txt`; `--python` picks the interpreter).

#[path = "../../crates/efficientnet-cli/src/backends.rs"]
mod backends;
mod bars;
mod bench;
mod builds;
mod chart;
mod docs;
mod fuzz;
mod gpu_bundle;
mod labels;
mod loadtest;
mod markers;
#[path = "../../crates/efficientnet-cli/src/numbers.rs"]
mod numbers;
mod parity;
mod process;
mod profile;
mod svg;
mod train;
mod weight_sets;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

use crate::process::{root, run};

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
        // The help names every backend of the table of backends.
        #[arg(long, default_value = "flex", help = backend_help())]
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
    /// Time per op class of the fast inference path of a fused model on flex (`efficientnet
    /// bench --fuse --profile`, release build), in separate runs, written to `docs/profile.json`
    /// for the speed figure of `cargo xtask docs`.
    Profile {
        /// Model profiled.
        #[arg(long, default_value = "efficientnet_b0")]
        model: String,
        /// Images per iteration.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Input side in pixels.
        #[arg(long, default_value_t = 224)]
        resolution: usize,
        /// Timed iterations per run.
        #[arg(long, default_value_t = 30)]
        iters: usize,
        /// Separate runs (processes), for the spread.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Python with onnxruntime (and torch + torchvision for the one-time export): ONNX
        /// Runtime's profiler on the same model and input, in turn with ours.
        #[arg(long)]
        python: Option<String>,
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
    /// Build the GPU check into one folder that runs with nothing but a Vulkan driver: the
    /// release CLI (flex, wgpu, vulkan), the backend-suite test binary, its fixtures and
    /// `run.sh` (see the bundle's README.md). Copy the folder to the GPU machine and run
    /// `./run.sh` there; it writes `gpu-check.json`.
    GpuBundle {
        /// The bundle's folder (replaced if it holds an earlier bundle).
        #[arg(long, default_value = "target/gpu-bundle")]
        out: PathBuf,
        /// Then run `run.sh --short --device D` here, writing `target/gpu-check-short.json`:
        /// the backend suite on wgpu (Mesa's lavapipe where there is no GPU), the benches on D.
        #[arg(long, value_name = "D", num_args = 0..=1, default_missing_value = "flex",
              value_parser = ["flex", "vulkan", "wgpu"])]
        check: Option<String>,
    },
    /// On a machine with a GPU and its Vulkan driver that can also build: the bundle of
    /// `gpu-bundle`, then its full check run here.
    GpuCheck {
        /// Where the report goes.
        #[arg(long, default_value = "target/gpu-check.json")]
        out: PathBuf,
        /// The device the timings run on: `vulkan` or `wgpu` (wgpu's default graphics API).
        #[arg(long, default_value = "vulkan", value_parser = ["vulkan", "wgpu"])]
        device: String,
    },
    /// Load test of `efficientnet serve` (release build, loopback only): requests/s and p50/p99
    /// latency at 1, 8 and 32 concurrent clients, with batching on and off.
    Loadtest {
        /// Model served (random weights).
        #[arg(long, default_value = "efficientnet_b0")]
        model: String,
        /// Requests per measurement.
        #[arg(long, default_value_t = 192, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        requests: u32,
    },
    /// Run the slow `#[ignore]`d tests (full-size B8 and friends).
    TestSlow {
        /// Extra arguments for the test binaries (e.g. a test name filter).
        #[arg(trailing_var_arg = true)]
        rest: Vec<String>,
    },
}

/// `--backend`'s help: every backend, `a, b or c`.
fn backend_help() -> String {
    let names: Vec<String> = backends::BACKENDS
        .iter()
        .map(|b| b.name.to_owned())
        .collect();
    backends::either(&names)
}

/// `cargo xtask gpu-bundle`: the bundle, then with `check` its short run here, the benches on
/// that device.
fn gpu_bundle(cargo: &str, out: &Path, check: Option<&str>) -> Result<(), String> {
    let out = root().join(out);
    gpu_bundle::bundle(cargo, &root(), &out)?;
    if let Some(device) = check {
        let report = root().join("target/gpu-check-short.json");
        let report = report.to_string_lossy();
        let args = ["--short", "--out", &report, "--device", device];
        gpu_bundle::run_bundle(&root(), &out, &args)?;
    }
    Ok(())
}

/// `cargo xtask gpu-check`: the bundle, then its full run here on `device`.
fn gpu_check(cargo: &str, out: &Path, device: &str) -> Result<(), String> {
    let bundle = root().join("target/gpu-bundle");
    gpu_bundle::bundle(cargo, &root(), &bundle)?;
    let report = root().join(out);
    let report = report.to_string_lossy();
    gpu_bundle::run_bundle(&root(), &bundle, &["--out", &report, "--device", device])
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let result = match args.task {
        Task::Ci => run(Command::new("bash").arg(".ci/run")),
        Task::Train { backend, rest } => train::train(&cargo, &backend, rest),
        Task::Parity {
            python,
            no_regenerate,
            full,
        } => parity::parity(&cargo, &python, no_regenerate, full),
        Task::Docs => docs::generate(&root()),
        Task::GpuBundle { out, check } => gpu_bundle(&cargo, &out, check.as_deref()),
        Task::GpuCheck { out, device } => gpu_check(&cargo, &out, &device),
        Task::Profile {
            model,
            batch,
            resolution,
            iters,
            runs,
            python,
        } => profile::profile(
            &cargo,
            &profile::Setup {
                model: &model,
                batch,
                resolution,
                iters,
                runs,
                python: python.as_deref(),
            },
        ),
        Task::Fuzz { seconds, targets } => fuzz::fuzz(seconds, targets),
        Task::Bench {
            vs_torch,
            python,
            iters,
            repeats,
        } => bench::bench(&cargo, vs_torch.then_some(python.as_str()), iters, repeats),
        Task::Loadtest { model, requests } => loadtest::loadtest(&cargo, &model, requests as usize),
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
