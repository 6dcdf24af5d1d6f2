//! `efficientnet train`: the trainer of the efficientnet-train crate on the chosen device.

use std::path::PathBuf;

use burn::tensor::Device;
use clap::{Args, ValueEnum};
use efficientnet_train::{OptimizerKind, ScheduleKind, TrainConfig};

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
    /// Output folder: checkpoints, logs, config.json, metrics.csv, summary.json, model.bpk.
    #[arg(long)]
    out: PathBuf,
    /// Continue the run in --out from its last complete checkpoint, with the options saved in
    /// its config.json (only --epochs and --workers may be given), exactly where it stopped.
    #[arg(long, conflicts_with_all = [
        "data", "model", "pretrained", "freeze_epochs", "width", "depth", "batch_size",
        "image_size", "lr", "warmup_epochs", "schedule", "optimizer", "weight_decay",
        "label_smoothing", "ema_decay", "min_crop_scale", "rand_augment", "reprob", "mixup",
        "cutmix", "seed", "synthetic_train", "synthetic_valid",
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
    }
}

/// Runs `train`.
pub fn run(args: TrainArgs, device: &Device) -> Result<(), String> {
    let config = args.config()?;
    let summary = efficientnet_train::train(&config, &args.out, device, args.resume)
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
    if summary.skipped_files > 0 {
        eprintln!(
            "warning: {} unreadable files were skipped",
            summary.skipped_files
        );
    }
    Ok(())
}
