//! `efficientnet train`: the trainer of the efficientnet-train crate on the chosen device.

use std::path::PathBuf;

use burn::tensor::Device;
use clap::{Args, ValueEnum};
use efficientnet_train::{DataParallel, OptimizerKind, Precision, ScheduleKind, TrainConfig};

use crate::device::DeviceArg;

/// `--optimizer`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OptimizerArg {
    /// TF-style RMSProp (the paper's; timm `rmsproptf`).
    Rmsproptf,
    /// SGD with Nesterov momentum.
    Sgd,
    /// AdamW.
    Adamw,
}

/// `--schedule`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScheduleArg {
    /// Warmup, then cosine decay.
    Cosine,
    /// Warmup, then x0.97 every 2.4 epochs.
    Step,
}

/// `--precision`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PrecisionArg {
    /// Everything in f32.
    F32,
    /// Mixed precision: bfloat16 compute; f32 weights, optimizer, BatchNorm and loss.
    Bf16,
    /// Mixed precision: float16 compute with dynamic loss scaling; f32 weights, optimizer,
    /// BatchNorm and loss.
    F16,
}

impl From<PrecisionArg> for Precision {
    fn from(arg: PrecisionArg) -> Self {
        match arg {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::Bf16 => Precision::Bf16,
            PrecisionArg::F16 => Precision::F16,
        }
    }
}

/// Arguments of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Dataset folder: train/<class>/ + val/<class>/, or the Kaggle ImageNet layout.
    /// Without it: the built-in synthetic-shapes dataset (no download).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Model name (timm name or alias).
    #[arg(long, default_value = "efficientnet_b0")]
    model: String,
    /// Start from pretrained weights (PyTorch/safetensors, any layout); a classifier of another
    /// size is replaced by a new one for the dataset's classes.
    #[arg(long)]
    pretrained: Option<PathBuf>,
    /// With --pretrained: train only the classifier for this many first epochs (the rest of the
    /// network frozen, BatchNorm statistics included), then everything.
    #[arg(long, default_value_t = 0)]
    freeze_epochs: usize,
    /// Width multiplier override (e.g. 0.25 for a tiny model).
    #[arg(long)]
    width: Option<f64>,
    /// Depth multiplier override.
    #[arg(long)]
    depth: Option<f64>,
    /// Epochs [default: 10; with --resume: the run's, or more to extend it].
    #[arg(long)]
    epochs: Option<usize>,
    /// Batch size.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Training resolution (and evaluation crop).
    #[arg(long, default_value_t = 224)]
    image_size: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 0.016)]
    lr: f64,
    /// Warmup epochs (fractions allowed).
    #[arg(long, default_value_t = 1.0)]
    warmup_epochs: f64,
    /// Decay after the warmup.
    #[arg(long, value_enum, default_value_t = ScheduleArg::Cosine)]
    schedule: ScheduleArg,
    /// Optimizer.
    #[arg(long, value_enum, default_value_t = OptimizerArg::Rmsproptf)]
    optimizer: OptimizerArg,
    /// Weight decay (BatchNorm and bias parameters exempt).
    #[arg(long, default_value_t = 1e-5)]
    weight_decay: f64,
    /// Label smoothing.
    #[arg(long, default_value_t = 0.1)]
    label_smoothing: f64,
    /// Keep an exponential moving average of the weights (paper: 0.9999); the better of the
    /// raw and averaged model on the validation set is exported.
    #[arg(long)]
    ema_decay: Option<f64>,
    /// Smallest RandomResizedCrop area fraction.
    #[arg(long, default_value_t = 0.08)]
    min_crop_scale: f64,
    /// RandAugment policy in timm's notation, e.g. `rand-m9-mstd0.5` (default: off).
    #[arg(long)]
    rand_augment: Option<String>,
    /// Random erasing probability (timm `--reprob`; its EfficientNet recipe uses 0.2).
    #[arg(long, default_value_t = 0.0)]
    reprob: f64,
    /// Mixup alpha (0 = off).
    #[arg(long, default_value_t = 0.0)]
    mixup: f64,
    /// CutMix alpha (0 = off); with both on, each batch uses one of them.
    #[arg(long, default_value_t = 0.0)]
    cutmix: f64,
    /// Seed of the data order and the synthetic dataset.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Data-loading threads [default: 2; with --resume: the run's].
    #[arg(long)]
    workers: Option<usize>,
    /// Synthetic dataset: number of training images.
    #[arg(long, default_value_t = 3000)]
    synthetic_train: usize,
    /// Synthetic dataset: number of validation images.
    #[arg(long, default_value_t = 600)]
    synthetic_valid: usize,
    /// Dropout before the classifier (timm `--drop`) [default: the variant's].
    #[arg(long)]
    drop: Option<f64>,
    /// Stochastic depth rate (timm `--drop-path`) [default: the variant's].
    #[arg(long)]
    drop_path: Option<f64>,
    /// Compute precision of the forward and backward passes (mixed precision: the weights,
    /// the optimizer state, BatchNorm and the loss stay f32).
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    precision: PrecisionArg,
    /// With --precision f16: train without loss scaling (to see what it prevents).
    #[arg(long)]
    no_loss_scaling: bool,
    /// Data parallel over these devices, e.g. `cuda:0,cuda:1` or `wgpu:0,wgpu:1`; the first
    /// holds the optimizer and runs validation. --batch-size is the global batch (split
    /// evenly); the learning rate is the one for that global batch.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    devices: Vec<DeviceArg>,
    /// With --devices: Burn's DistributedDataParallel (gradients all-reduced by NCCL; CUDA
    /// only) instead of the multi-device strategy (gradients summed on the first device).
    #[arg(long)]
    ddp: bool,
    /// Output folder: checkpoints, logs, config.json, metrics.csv, summary.json, model.bpk.
    #[arg(long)]
    out: PathBuf,
    /// Continue the run in --out from its last complete checkpoint, with the options saved in
    /// its config.json (only --epochs and --workers may be given), exactly where it stopped.
    #[arg(long, conflicts_with_all = [
        "data", "model", "pretrained", "freeze_epochs", "width", "depth", "batch_size",
        "image_size", "lr", "warmup_epochs", "schedule", "optimizer", "weight_decay",
        "label_smoothing", "ema_decay", "min_crop_scale", "rand_augment", "reprob", "mixup",
        "cutmix", "seed", "synthetic_train", "synthetic_valid", "drop", "drop_path",
        "precision", "no_loss_scaling", "ddp",
    ])]
    resume: bool,
}

impl TrainArgs {
    /// The run's config: from the flags, or with `--resume` from `OUT/config.json`.
    fn config(&self) -> Result<TrainConfig, String> {
        let mut config = if self.resume {
            let path = self.out.join("config.json");
            if !path.is_file() {
                return Err(format!(
                    "--resume: {} holds no training run (no config.json)",
                    self.out.display()
                ));
            }
            <TrainConfig as burn::config::Config>::load(&path)
                .map_err(|e| format!("--resume: cannot read {}: {e}", path.display()))?
        } else {
            self.new_config()
        };
        if let Some(epochs) = self.epochs {
            config.epochs = epochs;
        }
        if let Some(workers) = self.workers {
            config.num_workers = workers;
        }
        Ok(config)
    }

    fn new_config(&self) -> TrainConfig {
        TrainConfig::new(self.model.clone())
            .with_data(self.data.as_ref().map(|p| p.display().to_string()))
            .with_pretrained(self.pretrained.as_ref().map(|p| p.display().to_string()))
            .with_freeze_epochs(self.freeze_epochs)
            .with_width(self.width)
            .with_depth(self.depth)
            .with_batch_size(self.batch_size)
            .with_image_size(self.image_size)
            .with_lr(self.lr)
            .with_warmup_epochs(self.warmup_epochs)
            .with_schedule(match self.schedule {
                ScheduleArg::Cosine => ScheduleKind::Cosine,
                ScheduleArg::Step => ScheduleKind::Step,
            })
            .with_optimizer(match self.optimizer {
                OptimizerArg::Rmsproptf => OptimizerKind::RmsPropTf,
                OptimizerArg::Sgd => OptimizerKind::Sgd,
                OptimizerArg::Adamw => OptimizerKind::AdamW,
            })
            .with_weight_decay(self.weight_decay)
            .with_label_smoothing(self.label_smoothing)
            .with_ema_decay(self.ema_decay)
            .with_min_crop_scale(self.min_crop_scale)
            .with_rand_augment(self.rand_augment.clone())
            .with_random_erase(self.reprob)
            .with_mixup(self.mixup)
            .with_cutmix(self.cutmix)
            .with_seed(self.seed)
            .with_synthetic_train(self.synthetic_train)
            .with_synthetic_valid(self.synthetic_valid)
            .with_dropout(self.drop)
            .with_drop_path(self.drop_path)
            .with_precision(self.precision.into())
            .with_loss_scaling(!self.no_loss_scaling)
            .with_data_parallel(if self.ddp {
                DataParallel::Ddp
            } else {
                DataParallel::MultiDevice
            })
    }

    /// The devices to train on: `--devices`, or the one `--device` picked.
    fn devices(&self, device: &Device) -> Result<Vec<Device>, String> {
        if self.devices.is_empty() {
            if self.ddp {
                return Err("--ddp needs --devices (two or more CUDA devices)".into());
            }
            return Ok(vec![device.clone()]);
        }
        if self.ddp && !self.devices.iter().all(|d| matches!(d, DeviceArg::Cuda(_))) {
            return Err(format!(
                "--ddp needs CUDA devices (Burn all-reduces with NCCL only), got --devices {}; \
                 drop --ddp to use the multi-device strategy, which runs on any backend",
                self.devices
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
        self.devices.iter().map(|d| d.device()).collect()
    }
}

/// Runs `train`.
pub fn run(args: TrainArgs, device: &Device) -> Result<(), String> {
    let config = args.config()?;
    let devices = args.devices(device)?;
    let summary = efficientnet_train::train_on(&config, &args.out, &devices, args.resume)
        .map_err(|e| e.to_string())?;
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
