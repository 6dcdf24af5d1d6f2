//! A training run: data, model, optimizer and schedule on Burn's `SupervisedTraining`, then the
//! run's summary, metric CSV and final weights.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use burn::config::Config;
use burn::data::dataloader::DataLoader;
use burn::module::ParamGroup;
use burn::optim::{
    AdamWConfig, ModuleOptimizer, SgdConfig, decay::WeightDecayConfig, momentum::MomentumConfig,
};
use burn::tensor::Device;
use burn::tensor::distributed::{DistributedConfig, ReduceOperation};
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric, TopKAccuracyMetric};
use burn::train::{
    ExecutionStrategy, Interrupter, Learner, LearnerSummary, MultiDeviceOptim, SupervisedTraining,
    TrainingStrategy,
};
use efficientnet::preprocess::EvalTransform;
use efficientnet::weights::{self, LoadOptions, WeightSet};
use efficientnet::{EfficientNet, ModelName};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, AtomicCheckpointer};
use crate::classifier::Classifier;
use crate::data::{
    self, BadFiles, ImageBatch, ImageBatcher, MixConfig, Mode, Splits, TrainTransform,
};
use crate::ema::ModelEma;
use crate::error::{Result, TrainError};
use crate::guard::LossGuard;
use crate::loader::EpochLoader;
use crate::plot::{self, Panel, Series};
use crate::precision::{LossScaler, Precision};
use crate::rand_augment::RandAugment;
use crate::renderer::LineRenderer;
use crate::rmsprop_tf::RmsPropTfConfig;
use crate::schedule::{Decay, WarmupSchedule};

/// Optimizer choice.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    /// TF-style RMSProp (decay 0.9, momentum 0.9, eps 1e-3 inside the root), the paper's.
    RmsPropTf,
    /// SGD with Nesterov momentum 0.9.
    Sgd,
    /// AdamW.
    AdamW,
}

/// Decay after the warmup.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
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
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Model name (timm name or alias).
    pub model: String,
    /// Dataset folder (class folders or Kaggle layout); `None` = the built-in synthetic shapes.
    #[config(default = "None")]
    pub data: Option<String>,
    /// Pretrained weights to start from (any file `efficientnet import` reads); the classifier
    /// is re-initialised when its size differs from the dataset's classes.
    #[config(default = "None")]
    pub pretrained: Option<String>,
    /// Width multiplier override (e.g. 0.25 for a tiny model).
    #[config(default = "None")]
    pub width: Option<f64>,
    /// Depth multiplier override.
    #[config(default = "None")]
    pub depth: Option<f64>,
    /// Epochs.
    #[config(default = 10)]
    pub epochs: usize,
    /// Batch size.
    #[config(default = 32)]
    pub batch_size: usize,
    /// Training (and evaluation crop) resolution.
    #[config(default = 224)]
    pub image_size: usize,
    /// Peak learning rate.
    #[config(default = 0.016)]
    pub lr: f64,
    /// Warmup length in epochs.
    #[config(default = 1.0)]
    pub warmup_epochs: f64,
    /// Learning rate at the start of the warmup.
    #[config(default = 1e-6)]
    pub warmup_lr: f64,
    /// Decay after the warmup.
    #[config(default = "ScheduleKind::Cosine")]
    pub schedule: ScheduleKind,
    /// Optimizer.
    #[config(default = "OptimizerKind::RmsPropTf")]
    pub optimizer: OptimizerKind,
    /// Weight decay (not applied to BatchNorm and bias parameters).
    #[config(default = 1e-5)]
    pub weight_decay: f64,
    /// Label smoothing.
    #[config(default = 0.1)]
    pub label_smoothing: f64,
    /// With `pretrained`: train only the new classifier for this many first epochs (the rest
    /// of the network frozen, BatchNorm included), then everything.
    #[config(default = 0)]
    pub freeze_epochs: usize,
    /// Keep an exponential moving average of the weights with this decay (paper: 0.9999);
    /// the better of the raw and averaged model on the validation set is exported.
    #[config(default = "None")]
    pub ema_decay: Option<f64>,
    /// Smallest RandomResizedCrop area fraction.
    #[config(default = 0.08)]
    pub min_crop_scale: f64,
    /// RandAugment policy in timm's notation (e.g. `rand-m9-mstd0.5`); `None` = off.
    #[config(default = "None")]
    pub rand_augment: Option<String>,
    /// Probability of random erasing (timm `--reprob`, 0.2 in its EfficientNet recipe).
    #[config(default = 0.0)]
    pub random_erase: f64,
    /// Mixup alpha (0 = off).
    #[config(default = 0.0)]
    pub mixup: f64,
    /// CutMix alpha (0 = off).
    #[config(default = 0.0)]
    pub cutmix: f64,
    /// Seed of the weight initialisation, the data order, the augmentation and the model's
    /// dropout/stochastic depth draws (and of the synthetic dataset).
    #[config(default = 42)]
    pub seed: u64,
    /// Data-loading worker threads.
    #[config(default = 2)]
    pub num_workers: usize,
    /// Synthetic dataset: training images.
    #[config(default = 3000)]
    pub synthetic_train: usize,
    /// Synthetic dataset: validation images.
    #[config(default = 600)]
    pub synthetic_valid: usize,
    /// Dropout before the classifier (timm `--drop`); `None` = the variant's own.
    #[config(default = "None")]
    pub dropout: Option<f64>,
    /// Stochastic depth rate of the last block (timm `--drop-path`); `None` = the variant's own.
    #[config(default = "None")]
    pub drop_path: Option<f64>,
    /// Compute precision of the forward and backward passes; the weights, the optimizer
    /// state, BatchNorm and the loss stay f32 ([`crate::precision`]).
    #[config(default = "Precision::F32")]
    pub precision: Precision,
    /// With f16: dynamic loss scaling (PyTorch's `GradScaler` defaults). Off only to show
    /// what f16 does without it.
    #[config(default = true)]
    pub loss_scaling: bool,
    /// How several devices share the training.
    #[config(default = "DataParallel::MultiDevice")]
    pub data_parallel: DataParallel,
}

/// What a run reports in `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Model name.
    pub model: String,
    /// Epochs completed.
    pub epochs: usize,
    /// Validation top-1 (%) after the last epoch.
    pub final_top1: f64,
    /// Validation top-5 (%) after the last epoch.
    pub final_top5: f64,
    /// Best validation top-1 (%) and its epoch.
    pub best_top1: f64,
    /// Epoch of the best top-1.
    pub best_epoch: usize,
    /// Best validation top-5 (%).
    pub best_top5: f64,
    /// Training images per second (whole run, including validation and checkpoints).
    pub images_per_second: f64,
    /// Wall time of this invocation in seconds.
    pub wall_seconds: f64,
    /// Files that could not be decoded and were skipped.
    pub skipped_files: usize,
    /// Validation top-1 (%) of the weight average, when `ema_decay` is set.
    pub ema_top1: Option<f64>,
    /// Where the final model is.
    pub model_file: String,
    /// Devices the training ran on (data parallel when more than one).
    pub devices: usize,
    /// Compute precision.
    pub precision: Precision,
    /// Optimizer steps skipped by f16 loss scaling because a gradient overflowed.
    pub skipped_steps: usize,
}

/// One row of `metrics.csv`.
#[derive(Debug, Clone, Default)]
struct EpochRow {
    epoch: usize,
    train_loss: f64,
    train_top1: f64,
    valid_loss: f64,
    valid_top1: f64,
    valid_top5: f64,
    lr: f64,
}

fn splits(config: &TrainConfig) -> Result<Splits> {
    match &config.data {
        Some(path) => data::folder(Path::new(path)),
        None => Ok(data::synthetic(
            config.seed,
            config.synthetic_train,
            config.synthetic_valid,
            // Drawn a little larger than the crop, as photos are.
            (config.image_size as u32 * 8).div_ceil(7),
        )),
    }
}

fn optimizer(config: &TrainConfig) -> Result<ModuleOptimizer> {
    let wd = config.weight_decay as f32;
    // BatchNorm gamma/beta and every bias are exempt from weight decay.
    let no_decay = ParamGroup::from_regex(r"\.(gamma|beta|bias)$")
        .map_err(|e| TrainError::Config(format!("parameter group: {e:?}")))?;
    Ok(match config.optimizer {
        OptimizerKind::RmsPropTf => RmsPropTfConfig::new()
            .with_weight_decay(wd)
            .init()
            .with_group(no_decay, RmsPropTfConfig::new().build(), None),
        OptimizerKind::Sgd => {
            let momentum = MomentumConfig {
                momentum: 0.9,
                dampening: 0.0,
                nesterov: true,
            };
            SgdConfig::new()
                .with_momentum(Some(momentum.clone()))
                .with_weight_decay(Some(WeightDecayConfig::new(wd)))
                .init()
                .with_group(
                    no_decay,
                    SgdConfig::new().with_momentum(Some(momentum)).build(),
                    None,
                )
        }
        OptimizerKind::AdamW => AdamWConfig::new().with_weight_decay(wd).init().with_group(
            no_decay,
            AdamWConfig::new().with_weight_decay(0.0).build(),
            None,
        ),
    })
}

/// The last epoch with all three checkpoint files in `out/checkpoint`, if any.
pub fn last_checkpoint(out: &Path) -> Option<usize> {
    checkpoint::complete_epochs(&out.join("checkpoint"))
        .first()
        .copied()
}

/// The newest of `epochs` (complete checkpoints in `out/checkpoint`, newest first) whose
/// records all load; unreadable newer ones are reported and passed over.
fn resumable_checkpoint(out: &Path, epochs: &[usize]) -> Result<usize> {
    let dir = out.join("checkpoint");
    checkpoint::remove_partial_files(&dir);
    for &epoch in epochs {
        match checkpoint::check_epoch(&dir, epoch) {
            Ok(()) => return Ok(epoch),
            Err(reason) => eprintln!(
                "warning: checkpoint of epoch {epoch} is unreadable ({reason}); trying an older one"
            ),
        }
    }
    Err(no_checkpoint(out))
}

fn no_checkpoint(out: &Path) -> TrainError {
    TrainError::Config(format!(
        "--resume: no complete checkpoint in {}",
        out.join("checkpoint").display()
    ))
}

/// Writes `text` to `path` atomically (see [`efficientnet::fs::write_atomically`]).
fn write_file(path: &Path, text: &str) -> Result<()> {
    efficientnet::fs::write_atomically(path, text.as_bytes()).map_err(|e| TrainError::io(path, e))
}

/// Options a resumed run may change: the length of the run and the loader threads.
const RESUMABLE_CHANGES: [&str; 2] = ["epochs", "num_workers"];

/// Refuses to resume `out` with a config that differs from its `config.json` in anything but
/// [`RESUMABLE_CHANGES`] (the run would not continue the same training).
fn check_resumable(config: &TrainConfig, out: &Path) -> Result<()> {
    let path = out.join("config.json");
    let saved = TrainConfig::load(&path)
        .map_err(|e| TrainError::Config(format!("--resume: {}: {e}", path.display())))?;
    let as_map = |c: &TrainConfig| match serde_json::to_value(c) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (saved, given) = (as_map(&saved), as_map(config));
    let differing: Vec<String> = saved
        .iter()
        .filter(|(key, value)| {
            !RESUMABLE_CHANGES.contains(&key.as_str()) && given.get(*key) != Some(value)
        })
        .map(|(key, value)| {
            let now = given.get(key).map_or("-".to_owned(), ToString::to_string);
            format!("{key} (run: {value}, now: {now})")
        })
        .collect();
    if differing.is_empty() {
        Ok(())
    } else {
        Err(TrainError::Config(format!(
            "--resume continues the run configured in {}; only {} may change, but these differ: {}",
            path.display(),
            RESUMABLE_CHANGES.join(" and "),
            differing.join(", ")
        )))
    }
}

/// Removes the metric logs of epochs after `epoch` (an epoch cut short by the stop) so the
/// resumed run's logs and `metrics.csv` hold each epoch once.
fn remove_logs_after(out: &Path, epoch: usize) -> Result<()> {
    for split in ["train", "valid"] {
        let dir = out.join(split);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let later = name
                .to_str()
                .and_then(|n| n.strip_prefix("epoch-"))
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|e| e > epoch);
            if later {
                std::fs::remove_dir_all(entry.path())
                    .map_err(|e| TrainError::io(&entry.path(), e))?;
            }
        }
    }
    Ok(())
}

/// Runs (or with `resume`, continues) a training run writing into `out`.
///
/// The run is reproducible from `config.seed` (and a resumed run continues exactly) as long as
/// no other training draws from the same backend's random generator in this process at the
/// same time (flex seeds one generator per process).
///
/// The crate-level quick start trains a tiny model on synthetic images. Fine-tuning pretrained
/// weights on a class-per-folder dataset (`shapes/train/<class>/*.png`, `shapes/val/...`):
///
/// ```no_run
/// use std::path::Path;
///
/// use burn::tensor::Device;
/// use efficientnet_train::{OptimizerKind, TrainConfig, train};
///
/// let config = TrainConfig::new("lite0".into())
///     .with_data(Some("shapes".into()))
///     .with_pretrained(Some("efficientnet-lite0-57934424.pth".into()))
///     .with_freeze_epochs(1) // the new classifier alone first, then everything
///     .with_epochs(2)
///     .with_image_size(96)
///     .with_optimizer(OptimizerKind::AdamW)
///     .with_lr(1e-3);
/// let summary = train(&config, Path::new("runs/finetune"), &Device::default(), false)?;
/// println!("top-1 {:.1}% after {} epochs", summary.final_top1, summary.epochs);
/// # Ok::<(), efficientnet_train::TrainError>(())
/// ```
pub fn train(config: &TrainConfig, out: &Path, device: &Device, resume: bool) -> Result<Summary> {
    train_on(config, out, std::slice::from_ref(device), resume)
}

/// [`train`] on one or more devices. With several, training is data parallel (Burn's
/// `ExecutionStrategy::MultiDevice`, one worker thread per device, any backend):
///
/// * **Global batch**: `config.batch_size` is the global batch; each device takes
///   `batch_size / devices` images of every step (the batch size must divide evenly), from
///   its own contiguous share of the epoch's shuffled order.
/// * **Gradients and learning rate**: each device divides its loss by the number of devices and
///   Burn sums the devices' gradients on the first device, so a step follows the gradient of the
///   mean loss over the global batch, as on one device: the learning rate is the one for
///   `batch_size`, no scaling rule is applied on top (scale `lr` linearly with `batch_size` as
///   usual, e.g. the paper's 0.016 per 256).
/// * **BatchNorm**: each device normalises with the statistics of its own share of the batch
///   (as PyTorch's DDP without SyncBatchNorm); the running averages are the mean of the
///   devices' updates.
/// * **Metrics**: every device's batches feed the training metrics (loss, accuracy averaged over
///   all images of the step); validation runs on the first device.
/// * The optimizer state, the EMA and the checkpoints live on the first device.
///
/// With [`DataParallel::Ddp`] (CUDA + NCCL) Burn all-reduces the mean gradient instead, and every
/// device steps its own copy of the optimizer.
///
/// Multi-node training is not available: Burn 0.22.1 has no multi-node engine.
pub fn train_on(
    config: &TrainConfig,
    out: &Path,
    devices: &[Device],
    resume: bool,
) -> Result<Summary> {
    let started = Instant::now();
    let Some(device) = devices.first() else {
        return Err(TrainError::Config("no device to train on".into()));
    };
    let num_devices = devices.len();
    if !config.batch_size.is_multiple_of(num_devices) {
        return Err(TrainError::Config(format!(
            "the batch size {} does not split evenly over {num_devices} devices",
            config.batch_size
        )));
    }
    let device_batch = config.batch_size / num_devices;
    let ddp = num_devices > 1 && config.data_parallel == DataParallel::Ddp;
    if ddp && config.precision == Precision::F16 && config.loss_scaling {
        return Err(TrainError::Config(
            "f16 loss scaling is not available with DDP (each device steps its own optimizer); \
             use bf16, or the multi-device strategy"
                .into(),
        ));
    }
    let name: ModelName = config.model.parse()?;
    if config.batch_size == 0 || config.epochs == 0 || config.image_size < 32 {
        return Err(TrainError::Config(
            "batch size and epochs must be at least 1 and the image size at least 32".into(),
        ));
    }
    if !(config.lr > 0.0 && config.lr <= 1.0) {
        return Err(TrainError::Config(format!(
            "learning rate {} is not in (0, 1]",
            config.lr
        )));
    }
    if config.freeze_epochs > 0 && config.pretrained.is_none() {
        return Err(TrainError::Config(
            "--freeze-epochs needs --pretrained weights (a random backbone is not worth freezing)"
                .into(),
        ));
    }
    let splits = splits(config)?;
    let num_classes = splits.classes.len();

    let checkpoints = out.join("checkpoint");
    let complete = checkpoint::complete_epochs(&checkpoints);
    let checkpoint = if resume {
        if complete.is_empty() {
            return Err(no_checkpoint(out));
        }
        check_resumable(config, out)?;
        let epoch = resumable_checkpoint(out, &complete)?;
        remove_logs_after(out, epoch)?;
        Some(epoch)
    } else {
        if !complete.is_empty() {
            return Err(TrainError::Config(format!(
                "{} already holds a run; pass --resume to continue it or choose another --out",
                out.display()
            )));
        }
        None
    };
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    let config_json =
        serde_json::to_string_pretty(config).map_err(|e| TrainError::Config(e.to_string()))?;
    write_file(&out.join("config.json"), &config_json)?;
    write_file(
        &out.join("classes.txt"),
        &(splits.classes.join("\n") + "\n"),
    )?;

    let mut model_config = name.config().with_num_classes(num_classes);
    if let Some(w) = config.width {
        model_config = model_config.with_width(w);
    }
    if let Some(d) = config.depth {
        model_config = model_config.with_depth(d);
    }
    if let Some(p) = config.dropout {
        model_config = model_config.with_dropout(p);
    }
    if let Some(p) = config.drop_path {
        model_config = model_config.with_drop_path_rate(p);
    }
    // Pretrained weights bring their own padding and BN eps (the weight set's preset).
    let pretrained = match &config.pretrained {
        Some(path) => {
            let path = Path::new(path);
            let tensors = weights::read_tensors(path)?;
            let (layout, _, _) = weights::inspect(&tensors, None).ok_or_else(|| {
                TrainError::Config(format!(
                    "--pretrained {}: no EfficientNet state dict found",
                    path.display()
                ))
            })?;
            model_config = WeightSet::preset(name, layout).configure(model_config);
            Some((path, tensors))
        }
        None => None,
    };
    // Seeded weight initialisation (the data order is seeded by the loader).
    device.seed(config.seed);
    let mut net = model_config.try_init(&device.clone().autodiff())?;
    if let Some((path, tensors)) = pretrained {
        let options = LoadOptions::default().with_new_head(true);
        let (loaded, report) =
            weights::load_tensors(net, &tensors, &options).map_err(|e| e.with_path(path))?;
        net = if report.reinitialized.is_empty() {
            loaded
        } else {
            // A new classifier starts at zero (as BiT, Kolesnikov et al. 2020, does): the first
            // loss is ln(classes) and the pretrained features are not met by large random logits.
            efficientnet::tensors::map_float_tensors(loaded, |path, values| {
                path.starts_with("classifier.").then(|| values.zeros_like())
            })
        };
        println!(
            "fine-tuning from {} ({} layout): {} tensors loaded{}",
            path.display(),
            report
                .layout
                .map_or_else(|| "burnpack".to_owned(), |l| l.to_string()),
            report.loaded,
            if report.reinitialized.is_empty() {
                String::new()
            } else {
                format!(", new {num_classes}-class head")
            }
        );
    }
    let ema = config
        .ema_decay
        .map(|decay| ModelEma::new(&net, decay, &device.clone().autodiff()));
    let interrupter = Interrupter::new();
    // Burn splits the epoch into one contiguous share per device (the last takes the
    // remainder); a step takes one batch of every device that has one left.
    let train_len = splits.train.samples().len();
    let last_share = train_len - (num_devices - 1) * (train_len / num_devices);
    let steps_per_epoch = last_share.div_ceil(device_batch).max(1);
    let guard = LossGuard::new(interrupter.clone(), steps_per_epoch);
    let scaler =
        (config.precision == Precision::F16 && config.loss_scaling).then(LossScaler::default);
    let model = Classifier {
        net,
        ema,
        label_smoothing: config.label_smoothing as f32,
        freeze_epochs: config.freeze_epochs,
        guard: guard.clone(),
        precision: config.precision,
        scaler: scaler.clone(),
        // DDP averages the gradients itself; the multi-device strategy sums them.
        num_devices: if ddp { 1 } else { num_devices },
    };

    let bad_files = Arc::new(BadFiles::default());
    let size = config.image_size as u32;
    let mut train_transform = TrainTransform::new(size, config.min_crop_scale);
    train_transform.rand_augment = config
        .rand_augment
        .as_deref()
        .map(RandAugment::parse)
        .transpose()?;
    if !(0.0..=1.0).contains(&config.random_erase) {
        return Err(TrainError::Config(format!(
            "random erasing probability {} is not in [0, 1]",
            config.random_erase
        )));
    }
    train_transform.erase_prob = config.random_erase;
    let mut train_batcher = ImageBatcher::new(Mode::Train(train_transform), bad_files.clone());
    if config.mixup < 0.0 || config.cutmix < 0.0 {
        return Err(TrainError::Config(
            "mixup and cutmix alphas must be >= 0".into(),
        ));
    }
    if config.mixup > 0.0 || config.cutmix > 0.0 {
        train_batcher.mix = Some(MixConfig {
            mixup_alpha: config.mixup,
            cutmix_alpha: config.cutmix,
        });
    }
    let valid_batcher = ImageBatcher::new(
        Mode::Eval(EvalTransform::crop_pct(size, 0.875)),
        bad_files.clone(),
    );
    // Epoch e's order and augmentation depend on (seed, e) only: resuming after epoch k
    // starts the loader at k + 1 and the run continues exactly as if never stopped.
    let first_epoch = checkpoint.map_or(1, |epoch| epoch + 1);
    let train_loader: Arc<dyn DataLoader<ImageBatch>> = Arc::new(
        EpochLoader::new(splits.train.samples().to_vec(), train_batcher, device_batch)
            .with_shuffle(true)
            .with_seed(config.seed)
            .with_workers(config.num_workers)
            .with_device(device.clone())
            .starting_epoch(first_epoch),
    );
    let valid_loader: Arc<dyn DataLoader<ImageBatch>> = Arc::new(
        EpochLoader::new(
            splits.valid.samples().to_vec(),
            valid_batcher,
            config.batch_size,
        )
        .with_workers(config.num_workers)
        .with_device(device.clone()),
    );
    let final_valid_loader = valid_loader.clone();

    let schedule = WarmupSchedule {
        base_lr: config.lr,
        warmup_lr: config.warmup_lr.min(config.lr),
        warmup_steps: (config.warmup_epochs * steps_per_epoch as f64).round() as usize,
        total_steps: config.epochs * steps_per_epoch,
        decay: match config.schedule {
            ScheduleKind::Cosine => Decay::Cosine {
                min_lr: config.lr * 0.01,
            },
            ScheduleKind::Step => Decay::Staircase {
                rate: 0.97,
                every: ((2.4 * steps_per_epoch as f64).round() as usize).max(1),
            },
        },
        step: 0,
    };

    // Top-5, or top-k with k = the number of classes for smaller label sets.
    let top_k = 5.min(num_classes);
    let learner = Learner::new(model, optimizer(config)?, schedule);
    std::fs::create_dir_all(&checkpoints).map_err(|e| TrainError::io(&checkpoints, e))?;
    let mut training = SupervisedTraining::new(out, train_loader, valid_loader)
        .metrics((
            AccuracyMetric::new(),
            TopKAccuracyMetric::new(top_k),
            LossMetric::new(),
        ))
        .metric_train_numeric(LearningRateMetric::new())
        .with_custom_checkpointers(
            AtomicCheckpointer::new(&checkpoints, checkpoint::KINDS[0]),
            AtomicCheckpointer::new(&checkpoints, checkpoint::KINDS[1]),
            AtomicCheckpointer::new(&checkpoints, checkpoint::KINDS[2]),
        )
        .with_interrupter(interrupter)
        .num_epochs(config.epochs);
    if num_devices > 1 {
        let strategy = if ddp {
            let config = DistributedConfig {
                all_reduce_op: ReduceOperation::Mean,
            };
            ExecutionStrategy::ddp(devices.to_vec(), config)
        } else {
            ExecutionStrategy::multi(devices.to_vec(), MultiDeviceOptim::OptimMainDevice)
        };
        training = training.with_training_strategy(TrainingStrategy::Default(strategy));
    }
    // Burn's TUI dashboard on a terminal when built with the `tui` feature; plain lines otherwise.
    if !(cfg!(feature = "tui") && std::io::IsTerminal::is_terminal(&std::io::stdout())) {
        training = training.renderer(Box::new(LineRenderer::default()));
    }
    if let Some(epoch) = checkpoint {
        training = training.checkpoint(epoch);
    }
    let result = training.launch(learner);
    if let Some(error) = result.error {
        return Err(TrainError::Training(error.to_string()));
    }
    if let Some(reason) = guard.tripped() {
        let kept = match last_checkpoint(out) {
            Some(epoch) => format!("the checkpoint of epoch {epoch} is intact"),
            None => "no epoch was completed".to_owned(),
        };
        return Err(TrainError::Stopped(format!(
            "{reason}; this epoch was not saved and {kept} in {}",
            checkpoints.display()
        )));
    }

    // With an EMA, evaluate both and export the better one.
    let model = result.model;
    let (exported, ema_top1) = match &model.ema {
        Some(ema) => {
            let raw = top1(&model.net, &final_valid_loader)?;
            let averaged = top1(&ema.net, &final_valid_loader)?;
            println!("validation top-1: raw model {raw:.2}%, EMA {averaged:.2}%");
            let net = if averaged > raw { &ema.net } else { &model.net };
            (net, Some(averaged))
        }
        None => (&model.net, None),
    };
    let model_file = out.join("model.bpk");
    weights::save_burnpack(exported, &model_file)?;
    weights::BurnpackMeta {
        config: model_config.clone(),
        transform: EvalTransform::crop_pct(size, 0.875),
    }
    .save(&model_file)?;
    let rows = epoch_rows(out, top_k)?;
    write_csv(&out.join("metrics.csv"), &rows)?;
    plot::write_png(&out.join("curves.png"), &panels(&rows))?;

    let last = rows.last().cloned().unwrap_or_default();
    let best = rows
        .iter()
        .max_by(|a, b| a.valid_top1.total_cmp(&b.valid_top1))
        .cloned()
        .unwrap_or_default();
    let epochs_run = config.epochs + 1 - first_epoch;
    let wall = started.elapsed().as_secs_f64();
    let summary = Summary {
        model: name.to_string(),
        epochs: rows.len(),
        final_top1: last.valid_top1,
        final_top5: last.valid_top5,
        best_top1: best.valid_top1,
        best_epoch: best.epoch,
        best_top5: rows.iter().map(|r| r.valid_top5).fold(0.0, f64::max),
        images_per_second: (epochs_run * train_len) as f64 / wall,
        wall_seconds: wall,
        skipped_files: bad_files.count(),
        ema_top1,
        model_file: model_file.display().to_string(),
        devices: num_devices,
        precision: config.precision,
        skipped_steps: scaler.as_ref().map_or(0, LossScaler::skipped_steps),
    };
    let json =
        serde_json::to_string_pretty(&summary).map_err(|e| TrainError::Config(e.to_string()))?;
    write_file(&out.join("summary.json"), &(json + "\n"))?;
    for example in bad_files.examples() {
        eprintln!("skipped: {example}");
    }
    Ok(summary)
}

/// Top-1 accuracy (%) of `net` over a loader.
fn top1(net: &EfficientNet, loader: &Arc<dyn DataLoader<ImageBatch>>) -> Result<f64> {
    let (mut correct, mut total) = (0i64, 0usize);
    for batch in loader.iter() {
        let batch = batch.map_err(|e| TrainError::Data(e.to_string()))?;
        let n = batch.targets.dims()[0];
        let predicted = net.forward(batch.images).argmax(1).reshape([n]);
        correct += predicted
            .equal(batch.targets)
            .int()
            .sum()
            .into_scalar::<i64>();
        total += n;
    }
    Ok(100.0 * correct as f64 / total.max(1) as f64)
}

/// Per-epoch means of the Learner's metric logs.
fn epoch_rows(out: &Path, top_k: usize) -> Result<Vec<EpochRow>> {
    let top_k_name = format!("Top-K Accuracy @ TopK({top_k})");
    let names = ["Loss", "Accuracy", top_k_name.as_str(), "Learning Rate"];
    let summary = LearnerSummary::new(out, &names).map_err(TrainError::Training)?;
    let mut rows: Vec<EpochRow> = (1..=summary.epochs)
        .map(|epoch| EpochRow {
            epoch,
            ..EpochRow::default()
        })
        .collect();
    let mut fill = |metrics: &[burn::train::MetricSummary], valid: bool| {
        for m in metrics {
            for entry in &m.entries {
                let Some(row) = rows.get_mut(entry.step.wrapping_sub(1)) else {
                    continue;
                };
                let v = entry.value;
                let name = if m.name == top_k_name {
                    "top-k"
                } else {
                    m.name.as_str()
                };
                match (name, valid) {
                    ("Loss", false) => row.train_loss = v,
                    ("Accuracy", false) => row.train_top1 = v,
                    ("Learning Rate", false) => row.lr = v,
                    ("Loss", true) => row.valid_loss = v,
                    ("Accuracy", true) => row.valid_top1 = v,
                    ("top-k", true) => row.valid_top5 = v,
                    _ => {}
                }
            }
        }
    };
    fill(&summary.metrics.train, false);
    fill(&summary.metrics.valid, true);
    Ok(rows)
}

/// Loss, top-1 and learning-rate panels of `curves.png`.
fn panels(rows: &[EpochRow]) -> Vec<Panel> {
    let series = |label: &str, colour, f: fn(&EpochRow) -> f64| Series {
        label: label.into(),
        colour,
        values: rows.iter().map(f).collect(),
    };
    let (train, valid) = ([31, 119, 180], [255, 127, 14]);
    vec![
        Panel {
            title: "loss".into(),
            series: vec![
                series("train", train, |r| r.train_loss),
                series("valid", valid, |r| r.valid_loss),
            ],
        },
        Panel {
            title: "top-1 %".into(),
            series: vec![
                series("train", train, |r| r.train_top1),
                series("valid", valid, |r| r.valid_top1),
            ],
        },
        Panel {
            title: "learning rate".into(),
            series: vec![series("mean", train, |r| r.lr)],
        },
    ]
}

fn write_csv(path: &Path, rows: &[EpochRow]) -> Result<()> {
    let mut text =
        String::from("epoch,train_loss,train_top1,valid_loss,valid_top1,valid_top5,lr\n");
    for r in rows {
        text.push_str(&format!(
            "{},{:.6},{:.4},{:.6},{:.4},{:.4},{:.6e}\n",
            r.epoch, r.train_loss, r.train_top1, r.valid_loss, r.valid_top1, r.valid_top5, r.lr
        ));
    }
    write_file(path, &text)
}
