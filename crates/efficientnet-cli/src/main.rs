//! The `efficientnet` command line.

mod allocator;
mod backends;
mod bench;
mod convert;
mod device;
mod error;
mod eval;
mod info;
mod lost_worker;
mod model_args;
mod npy;
mod numbers;
mod onnx_export;
mod predict;
mod remote;
mod serve;
mod train_cmd;
mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use efficientnet::ModelName;

use crate::device::DeviceArg;
use crate::error::CliError;

/// EfficientNet (B0–B7, Lite0–4, V2) on the Burn deep learning framework.
#[derive(Debug, Parser)]
#[command(name = "efficientnet", version, about)]
struct Cli {
    // The help lists the backends and their order of preference from the table of backends.
    #[arg(long, global = true, help = device::help())]
    device: Option<DeviceArg>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Table of variants: resolution, width, depth, dropout, parameters, MACs; with `--model`,
    /// also the model's published weight sets and their preprocessing.
    Info {
        /// One model (timm name or alias, e.g. `efficientnet_b3`, `tf_efficientnet_lite0`, `v2_s`).
        #[arg(long)]
        model: Option<ModelName>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Top-k ImageNet labels for images with the weight set's own preprocessing, or raw logits
    /// for a preprocessed `.npy` batch (`--input X.npy --save-logits Y.npy`).
    Predict(predict::PredictArgs),
    /// Top-1, top-5, mean loss and images/s over a labelled image folder (class folders or
    /// the Kaggle ImageNet layout), with the weight set's own preprocessing.
    Eval(eval::EvalArgs),
    /// Foreign weights (PyTorch, safetensors; torchvision, timm, lukemelas) -> Burn burnpack.
    Import(convert::ImportArgs),
    /// Weights -> safetensors in a PyTorch layout (`load_state_dict(strict=True)` works), or
    /// the inference network -> an ONNX graph (`--format onnx`, or an `.onnx` output file).
    Export(convert::ExportArgs),
    // Boxed: with every option of the trainer's config it is the largest variant by far.
    /// Train on a class-folder / Kaggle ImageNet dataset, or on built-in synthetic data.
    Train(Box<train_cmd::TrainArgs>),
    /// Images/s of inference or a training step (median after warm-up) and peak memory.
    Bench(bench::BenchArgs),
    /// HTTP inference server: `POST /v1/classify`, a web page at `/`, `/healthz`, `/metrics`;
    /// dynamic batching, bounded queue and body size, graceful shutdown on Ctrl-C / SIGTERM.
    Serve(Box<serve::ServeArgs>),
    /// Serve this machine's `--device` to `train --devices ws://HOST:PORT` on another machine
    /// (Burn's remote backend over WebSocket) until Ctrl-C / SIGTERM.
    Worker(worker::WorkerArgs),
}

impl Command {
    /// Whether the command runs training steps (`train`, `bench --mode train`, a `worker`
    /// serving a trainer): those keep freed memory in the allocator between steps.
    fn trains(&self) -> bool {
        match self {
            Command::Train(_) | Command::Worker(_) => true,
            Command::Bench(args) => args.trains(),
            _ => false,
        }
    }
}

/// Runs the subcommand on the device `--device` names, or the preferred compiled-in one.
fn run(cli: Cli) -> Result<(), CliError> {
    // Every subcommand checks `--device` up front, so a backend that is not compiled in fails
    // with the feature to enable rather than later.
    let device_arg = cli
        .device
        .or_else(device::default_device_arg)
        .ok_or(CliError::NoBackend)?;
    let device = device_arg.device()?;
    match cli.command {
        Command::Info { model, json } => info::run(model, json),
        Command::Predict(args) => predict::run(args, &device),
        Command::Eval(args) => eval::run(args, &device),
        Command::Import(args) => convert::import(args, &device),
        Command::Export(args) => convert::export(args, &device),
        Command::Train(args) => train_cmd::run(*args, &device),
        Command::Bench(args) => bench::run(args, &device, &device_arg.to_string()),
        Command::Serve(args) => serve::run(*args, &device),
        Command::Worker(args) => worker::run(args, &device, &device_arg.to_string()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.trains() {
        allocator::keep_freed_pages();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
