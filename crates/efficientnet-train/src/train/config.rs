//! The options of a run ([`TrainConfig`], saved as `config.json`) and their checks.

use burn::config::Config;
#[cfg(feature = "clap")]
use clap::builder::TypedValueParser;
use efficientnet::ModelName;

use crate::error::{Result, TrainError};
use crate::precision::Precision;
use crate::rand_augment::RandAugment;

/// Optimizer choice.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    /// TF-style RMSProp (decay 0.9, momentum 0.9, eps 1e-3 inside the root), the paper's
    /// (timm `rmsproptf`).
    RmsPropTf,
    /// SGD with Nesterov momentum 0.9.
    Sgd,
    /// AdamW.
    AdamW,
}

/// `--optimizer rmsproptf|sgd|adamw`, timm's names. Written out because Burn's `Config` derive
/// copies variant attributes (clap's `#[value(name)]`) onto a serde twin that rejects them.
#[cfg(feature = "clap")]
impl clap::ValueEnum for OptimizerKind {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::RmsPropTf, Self::Sgd, Self::AdamW]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use clap::builder::PossibleValue;
        Some(match self {
            Self::RmsPropTf => {
                PossibleValue::new("rmsproptf").help("TF-style RMSProp, the paper's")
            }
            Self::Sgd => PossibleValue::new("sgd").help("SGD with Nesterov momentum 0.9"),
            Self::AdamW => PossibleValue::new("adamw").help("AdamW"),
        })
    }
}

/// Decay after the warmup.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ScheduleKind {
    /// Cosine to 1% of the base LR.
    Cosine,
    /// x0.97 every 2.4 epochs (the paper).
    Step,
}

/// How several devices share the training (only used with more than one device).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum DataParallel {
    /// Burn's `ExecutionStrategy::MultiDevice`: one worker thread per device, gradients summed
    /// on the first device, which steps the optimizer. Any backend.
    MultiDevice,
    /// Burn's `DistributedDataParallel`: gradients all-reduced (mean) during the backward, an
    /// optimizer per device. CUDA with NCCL only (Burn implements the all-reduce nowhere else).
    Ddp,
}

/// Everything that defines a run; saved as `config.json` in the output folder.
///
/// With the `clap` feature it is also the command line of a run (`efficientnet train`): every
/// field is a flag whose default is the one declared here.
#[derive(Config, Debug)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct TrainConfig {
    /// Model name (timm name or alias).
    #[cfg_attr(feature = "clap", arg(long, default_value = "efficientnet_b0"))]
    pub model: String,
    /// Dataset folder: `train/<class>/` + `val/<class>/`, or the Kaggle ImageNet layout. Without
    /// it: the built-in synthetic-shapes dataset (no download).
    #[config(default = "None")]
    #[cfg_attr(feature = "clap", arg(long, value_name = "DIR"))]
    pub data: Option<String>,
    /// Start from pretrained weights (any file `efficientnet import` reads); a classifier of
    /// another size is replaced by a new one for the dataset's classes.
    #[config(default = "None")]
    #[cfg_attr(feature = "clap", arg(long, value_name = "FILE"))]
    pub pretrained: Option<String>,
    /// Width multiplier override (e.g. 0.25 for a tiny model).
    #[config(default = "None")]
    #[cfg_attr(feature = "clap", arg(long))]
    pub width: Option<f64>,
    /// Depth multiplier override.
    #[config(default = "None")]
    #[cfg_attr(feature = "clap", arg(long))]
    pub depth: Option<f64>,
    /// Epochs.
    #[config(default = 10)]
    #[cfg_attr(feature = "clap", arg(skip = defaults().epochs))]
    pub epochs: usize,
    /// Batch size (the global batch over all devices).
    #[config(default = 32)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().batch_size))]
    pub batch_size: usize,
    /// Training resolution (and evaluation crop).
    #[config(default = 224)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().image_size))]
    pub image_size: usize,
    /// Peak learning rate [default: `lr_base * batch_size / 256`, timm's rule].
    #[config(default = "None")]
    #[cfg_attr(feature = "clap", arg(long))]
    pub lr: Option<f64>,
    /// Peak learning rate for a global batch of 256 images, scaled linearly with the batch size
    /// when `lr` is not given (the paper's 0.016 for RMSProp at 256).
    #[config(default = 0.016)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().lr_base))]
    pub lr_base: f64,
    /// Warmup length in epochs (fractions allowed).
    #[config(default = 1.0)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().warmup_epochs))]
    pub warmup_epochs: f64,
    /// Learning rate at the start of the warmup.
    #[config(default = 1e-6)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().warmup_lr))]
    pub warmup_lr: f64,
    /// Decay after the warmup.
    #[config(default = "ScheduleKind::Cosine")]
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().schedule))]
    pub schedule: ScheduleKind,
    /// Optimizer.
    #[config(default = "OptimizerKind::RmsPropTf")]
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().optimizer))]
    pub optimizer: OptimizerKind,
    /// Weight decay (BatchNorm and bias parameters exempt).
    #[config(default = 1e-5)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().weight_decay))]
    pub weight_decay: f64,
    /// Label smoothing.
    #[config(default = 0.1)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().label_smoothing))]
    pub label_smoothing: f64,
    /// With pretrained weights: train only the new classifier for this many first epochs (the
    /// rest of the network frozen, BatchNorm statistics included), then everything.
    #[config(default = 0)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().freeze_epochs))]
    pub freeze_epochs: usize,
    /// Keep an exponential moving average of the weights with this decay (paper: 0.9999);
    /// the better of the raw and averaged model on the validation set is exported.
    #[config(default = "None")]
    #[cfg_attr(feature = "clap", arg(long))]
    pub ema_decay: Option<f64>,
    /// Smallest RandomResizedCrop area fraction.
    #[config(default = 0.08)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().min_crop_scale))]
    pub min_crop_scale: f64,
    /// RandAugment policy in timm's notation, e.g. `rand-m9-mstd0.5` (default: off).
    #[config(default = "None")]
    #[cfg_attr(feature = "clap", arg(long))]
    pub rand_augment: Option<String>,
    /// Random erasing probability (timm `--reprob`; its EfficientNet recipe uses 0.2).
    #[config(default = 0.0)]
    #[cfg_attr(feature = "clap", arg(long = "reprob", default_value_t = defaults().random_erase))]
    pub random_erase: f64,
    /// Mixup alpha (0 = off).
    #[config(default = 0.0)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().mixup))]
    pub mixup: f64,
    /// CutMix alpha (0 = off); with both on, each batch uses one of them.
    #[config(default = 0.0)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().cutmix))]
    pub cutmix: f64,
    /// Seed of the weight initialisation, the data order, the augmentation and the model's
    /// dropout/stochastic depth draws (and of the synthetic dataset).
    #[config(default = 42)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().seed))]
    pub seed: u64,
    /// Data-loading worker threads.
    #[config(default = 2)]
    #[cfg_attr(feature = "clap", arg(skip = defaults().num_workers))]
    pub num_workers: usize,
    /// Synthetic dataset: number of training images.
    #[config(default = 3000)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().synthetic_train))]
    pub synthetic_train: usize,
    /// Synthetic dataset: number of validation images.
    #[config(default = 600)]
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().synthetic_valid))]
    pub synthetic_valid: usize,
    /// Dropout before the classifier (timm `--drop`) [default: the variant's].
    #[config(default = "None")]
    #[cfg_attr(feature = "clap", arg(long = "drop"))]
    pub dropout: Option<f64>,
    /// Stochastic depth rate of the last block (timm `--drop-path`) [default: the variant's].
    #[config(default = "None")]
    #[cfg_attr(feature = "clap", arg(long))]
    pub drop_path: Option<f64>,
    /// Compute precision of the forward and backward passes (mixed precision: the weights,
    /// the optimizer state, BatchNorm and the loss stay f32).
    #[config(default = "Precision::F32")]
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().precision))]
    pub precision: Precision,
    /// Dynamic loss scaling of f16 training (PyTorch's `GradScaler` defaults); the flag
    /// `--no-loss-scaling` turns it off, only to show what f16 does without it.
    #[config(default = true)]
    #[cfg_attr(
        feature = "clap",
        arg(long = "no-loss-scaling", action = clap::ArgAction::SetFalse)
    )]
    pub loss_scaling: bool,
    /// How several devices share the training; the flag `--ddp` picks Burn's
    /// DistributedDataParallel (gradients all-reduced by NCCL; CUDA only) instead of the
    /// multi-device strategy (gradients summed on the first device).
    #[config(default = "DataParallel::MultiDevice")]
    #[cfg_attr(
        feature = "clap",
        arg(
            long = "ddp",
            action = clap::ArgAction::SetTrue,
            value_parser = clap::builder::BoolValueParser::new().map(DataParallel::from_ddp_flag)
        )
    )]
    pub data_parallel: DataParallel,
}

/// The batch size `lr_base` is given for.
const LR_BASE_BATCH: f64 = 256.0;

/// The defaults the command line shows: those of [`TrainConfig::new`].
#[cfg(feature = "clap")]
fn defaults() -> TrainConfig {
    TrainConfig::new(String::new())
}

impl DataParallel {
    /// `--ddp` given or not.
    pub fn from_ddp_flag(ddp: bool) -> Self {
        if ddp {
            DataParallel::Ddp
        } else {
            DataParallel::MultiDevice
        }
    }
}

/// What [`TrainConfig::check`] found valid, parsed for the run.
#[derive(Debug)]
pub(crate) struct Checked {
    /// The model.
    pub name: ModelName,
    /// The RandAugment policy, if any.
    pub rand_augment: Option<RandAugment>,
    /// Images of a step on each device (`batch_size / devices`).
    pub device_batch: usize,
    /// Whether the devices train with Burn's DistributedDataParallel.
    pub ddp: bool,
}

impl TrainConfig {
    /// Checks every option on `num_devices` (at least one) devices before anything is read,
    /// written or built, and parses the model name and the RandAugment policy.
    pub(crate) fn check(&self, num_devices: usize) -> Result<Checked> {
        let (device_batch, ddp) = self.check_devices(num_devices)?;
        let name: ModelName = self.model.parse()?;
        self.check_ranges()?;
        let rand_augment = self
            .rand_augment
            .as_deref()
            .map(RandAugment::parse)
            .transpose()?;
        self.check_augmentation()?;
        Ok(Checked {
            name,
            rand_augment,
            device_batch,
            ddp,
        })
    }

    /// The per-device batch and whether DDP is used.
    fn check_devices(&self, num_devices: usize) -> Result<(usize, bool)> {
        if !self.batch_size.is_multiple_of(num_devices) {
            return Err(TrainError::Config(format!(
                "the batch size {} does not split evenly over {num_devices} devices",
                self.batch_size
            )));
        }
        let ddp = num_devices > 1 && self.data_parallel == DataParallel::Ddp;
        if ddp && self.precision == Precision::F16 && self.loss_scaling {
            return Err(TrainError::Config(
                "f16 loss scaling is not available with DDP (each device steps its own optimizer); \
                 use bf16, or the multi-device strategy"
                    .into(),
            ));
        }
        Ok((self.batch_size / num_devices, ddp))
    }

    /// Sizes, the learning rate and freezing.
    fn check_ranges(&self) -> Result<()> {
        if self.batch_size == 0 || self.epochs == 0 || self.image_size < 32 {
            return Err(TrainError::Config(
                "batch size and epochs must be at least 1 and the image size at least 32".into(),
            ));
        }
        let lr = self.peak_lr();
        if !(lr > 0.0 && lr <= 1.0) {
            return Err(TrainError::Config(format!(
                "learning rate {lr} is not in (0, 1]"
            )));
        }
        if self.freeze_epochs > 0 && self.pretrained.is_none() {
            return Err(TrainError::Config(
                "--freeze-epochs needs --pretrained weights (a random backbone is not worth freezing)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The peak learning rate: `lr`, else `lr_base * batch_size / 256` (timm's
    /// `lr = lr_base * global_batch / 256`).
    pub fn peak_lr(&self) -> f64 {
        self.lr
            .unwrap_or(self.lr_base * self.batch_size as f64 / LR_BASE_BATCH)
    }

    /// How the peak learning rate came about, for the start of a run.
    pub fn describe_lr(&self) -> String {
        match self.lr {
            Some(lr) => format!("learning rate {lr} (--lr)"),
            None => format!(
                "learning rate {:.6} = {} x {} / {LR_BASE_BATCH} (--lr-base x batch / 256; \
                 --lr sets it directly)",
                self.peak_lr(),
                self.lr_base,
                self.batch_size
            ),
        }
    }

    /// Random erasing, Mixup and CutMix.
    fn check_augmentation(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.random_erase) {
            return Err(TrainError::Config(format!(
                "random erasing probability {} is not in [0, 1]",
                self.random_erase
            )));
        }
        if self.mixup < 0.0 || self.cutmix < 0.0 {
            return Err(TrainError::Config(
                "mixup and cutmix alphas must be >= 0".into(),
            ));
        }
        Ok(())
    }
}
