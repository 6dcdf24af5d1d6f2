//! `efficientnet train`: the trainer of the efficientnet-train crate on the chosen device. Its
//! options are the trainer's own [`TrainConfig`] (flattened); this file adds only what a
//! command line needs besides: the output folder, resuming, the devices.

use std::path::PathBuf;

use burn::config::Config;
use burn::tensor::Device;
use clap::Args;
use efficientnet_train::{DataParallel, TrainConfig};

use crate::error::CliError;
use crate::lost_worker::catch_lost_worker;
use crate::remote::{self, TrainDevice};

/// Arguments of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The run's options (a group named `TrainConfig`, which `--resume` conflicts with).
    #[command(flatten)]
    config: TrainConfig,
    /// Epochs (help text: [`epochs_help`]).
    #[arg(long, help = epochs_help())]
    epochs: Option<usize>,
    /// Data-loading threads (help text: [`workers_help`]).
    #[arg(long, help = workers_help())]
    workers: Option<usize>,
    /// Data parallel over these devices, e.g. `cuda:0,cuda:1`, `wgpu:0,wgpu:1`, and at most one
    /// worker on another machine, `cuda:0,ws://10.0.0.2:3000` (an `efficientnet worker`); the
    /// first, one of this machine's, holds the optimizer and runs validation. --batch-size is
    /// the global batch (split evenly); the learning rate is the one for that global batch.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    devices: Vec<TrainDevice>,
    /// Output folder: checkpoints, logs, config.json, metrics.csv, summary.json, model.bpk.
    #[arg(long)]
    out: PathBuf,
    /// Continue the run in --out from its last complete checkpoint, with the options saved in
    /// its config.json (only --epochs and --workers may be given), exactly where it stopped.
    #[arg(long, conflicts_with = "TrainConfig")]
    resume: bool,
}

/// `--epochs`'s help, with the trainer's default.
fn epochs_help() -> String {
    let default = TrainConfig::new(String::new()).epochs;
    format!("Epochs [default: {default}; with --resume: the run's, or more to extend it]")
}

/// `--workers`'s help, with the trainer's default.
fn workers_help() -> String {
    let default = TrainConfig::new(String::new()).num_workers;
    format!("Data-loading threads [default: {default}; with --resume: the run's]")
}

impl TrainArgs {
    /// The run's config: from the flags, or with `--resume` from `OUT/config.json`.
    fn config(&self) -> Result<TrainConfig, CliError> {
        let mut config = if self.resume {
            let path = self.out.join("config.json");
            if !path.is_file() {
                return Err(CliError::Usage(format!(
                    "--resume: {} holds no training run (no config.json)",
                    self.out.display()
                )));
            }
            TrainConfig::load(&path).map_err(|e| {
                CliError::Usage(format!("--resume: cannot read {}: {e}", path.display()))
            })?
        } else {
            self.config.clone()
        };
        if let Some(epochs) = self.epochs {
            config.epochs = epochs;
        }
        if let Some(workers) = self.workers {
            config.num_workers = workers;
        }
        Ok(config)
    }

    /// The devices to train on: `--devices`, or the one `--device` picked.
    fn devices(&self, device: &Device) -> Result<Vec<Device>, CliError> {
        let ddp = self.config.data_parallel == DataParallel::Ddp;
        if self.devices.is_empty() {
            if ddp {
                return Err(CliError::Usage(
                    "--ddp needs --devices (two or more CUDA devices)".into(),
                ));
            }
            return Ok(vec![device.clone()]);
        }
        remote::check_placement(&self.devices)?;
        if ddp && !self.devices.iter().all(TrainDevice::supports_ddp) {
            return Err(CliError::Usage(format!(
                "--ddp needs CUDA devices (Burn all-reduces with NCCL only), got --devices {}; \
                 drop --ddp to use the multi-device strategy, which runs on any backend",
                self.device_list()
            )));
        }
        self.devices.iter().map(TrainDevice::device).collect()
    }

    /// `--devices` as given: `flex,ws://10.0.0.2:3000`.
    fn device_list(&self) -> String {
        let devices: Vec<_> = self.devices.iter().map(ToString::to_string).collect();
        devices.join(",")
    }

    /// Whether a device of `--devices` is a remote worker.
    fn has_workers(&self) -> bool {
        self.devices.iter().any(TrainDevice::is_remote)
    }

    /// The flags `--resume` needs besides `--out`: this run's `--devices`.
    fn resume_flags(&self) -> String {
        format!("--devices {}", self.device_list())
    }
}

/// Runs `train`.
pub fn run(args: TrainArgs, device: &Device) -> Result<(), CliError> {
    let config = args.config()?;
    let devices = args.devices(device)?;
    let train = || {
        Ok(efficientnet_train::train_on(
            &config,
            &args.out,
            &devices,
            args.resume,
        )?)
    };
    let summary = if args.has_workers() {
        catch_lost_worker(&args.out, &args.resume_flags(), train)?
    } else {
        train()?
    };
    println!(
        "done: {} epochs, validation top-1 {:.1}% (best {:.1}% at epoch {}), top-5 {:.1}%, \
         {:.1} images/s, {:.0} s; model in {}, summary in {}",
        summary.epochs,
        summary.final_top1,
        summary.best_top1,
        summary.best_epoch,
        summary.final_top5,
        summary.images_per_second,
        summary.wall_seconds,
        summary.model_file,
        args.out.join("summary.json").display()
    );
    if summary.skipped_steps > 0 {
        println!(
            "f16 loss scaling skipped {} optimizer steps with overflowing gradients",
            summary.skipped_steps
        );
    }
    if summary.skipped_files > 0 {
        eprintln!(
            "warning: {} unreadable files were skipped",
            summary.skipped_files
        );
    }
    Ok(())
}
