//! A training run: data, model, optimizer and schedule on Burn's `SupervisedTraining`, then the
//! run's summary, metric CSV and final weights.
//!
//! [`config`] holds the options and checks them all before anything is read or written;
//! [`setup`] builds the dataset, network, loaders, optimizer and schedule; [`resume`] finds
//! where a stopped run continues; [`report`] writes what a finished run leaves behind.

pub(crate) mod config;
pub(crate) mod report;
pub(crate) mod resume;
pub(crate) mod setup;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::Device;
use burn::tensor::distributed::{DistributedConfig, ReduceOperation};
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric, TopKAccuracyMetric};
use burn::train::{
    ExecutionStrategy, Interrupter, Learner, MultiDeviceOptim, SupervisedTraining, TrainingStrategy,
};
use efficientnet::EfficientNet;
use efficientnet::weights::BurnpackMeta;

use crate::bad_files::BadFiles;
use crate::checkpoint::{self, AtomicCheckpointer};
use crate::classifier::Classifier;
use crate::ema::ModelEma;
use crate::error::{Result, TrainError};
use crate::guard::LossGuard;
use crate::precision::{LossScaler, Precision};
use crate::renderer::LineRenderer;
use config::{Checked, TrainConfig};
use report::Summary;
use setup::Loader;

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
///     .with_lr(Some(1e-3));
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
/// With [`DataParallel::Ddp`](config::DataParallel::Ddp) (CUDA + NCCL) Burn all-reduces the mean gradient instead, and every
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
    let checked = config.check(devices.len())?;
    let splits = setup::splits(config)?;
    let checkpoint = resume::starting_checkpoint(config, out, resume)?;
    write_run_files(config, out, &splits.classes)?;

    let num_classes = splits.classes.len();
    println!("{}", config.describe_lr());
    let network = setup::network(config, checked.name, num_classes, device)?;
    let transform = setup::eval_transform(config, network.weight_set.as_ref());
    let train_len = splits.train.samples().len();
    let steps_per_epoch = setup::steps_per_epoch(train_len, devices.len(), checked.device_batch);
    let interrupter = Interrupter::new();
    let guard = LossGuard::new(interrupter.clone(), steps_per_epoch);
    let model = classifier(config, &checked, network.net, devices.len(), device);
    let scaler = model.scaler.clone();

    let bad_files = Arc::new(BadFiles::default());
    let first_epoch = checkpoint.map_or(1, |epoch| epoch + 1);
    let (train_loader, valid_loader) = setup::loaders(
        config,
        &checked,
        &splits,
        (&transform, device),
        first_epoch,
        &bad_files,
    );
    let schedule = setup::schedule(config, steps_per_epoch);
    // Top-5, or top-k with k = the number of classes for smaller label sets.
    let top_k = 5.min(num_classes);
    let optimizer = setup::optimizer(config, &model);
    let learner = Learner::new(model, optimizer, schedule);
    let training = supervised(
        config,
        out,
        (train_loader, valid_loader.clone()),
        (interrupter, guard.clone()),
        top_k,
        devices,
        &checked,
    )?;
    let trained = launch(training, learner, checkpoint, &guard, out)?;

    let model_file = out.join("model.bpk");
    let meta = BurnpackMeta {
        config: network.config,
        transform,
        weight_set: network.weight_set.map(|set| set.name),
    };
    let ema_top1 = report::export_model(&trained, &valid_loader, &meta, &model_file)?;
    let rows = report::write_metrics(out, top_k)?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let epochs_run = config.epochs + 1 - first_epoch;
    let summary = Summary {
        model: checked.name.to_string(),
        images_per_second: (epochs_run * train_len) as f64 / wall_seconds,
        wall_seconds,
        skipped_files: bad_files.count(),
        ema_top1,
        model_file: model_file.display().to_string(),
        devices: devices.len(),
        precision: config.precision,
        skipped_steps: scaler.as_ref().map_or(0, LossScaler::skipped_steps),
        ..Summary::of_epochs(&rows)
    };
    report::write_json(&out.join("summary.json"), &summary, true)?;
    for example in bad_files.examples() {
        eprintln!("skipped: {example}");
    }
    Ok(summary)
}

/// Creates `out` and writes the run's `config.json` and `classes.txt`.
fn write_run_files(config: &TrainConfig, out: &Path, classes: &[String]) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    report::write_json(&out.join("config.json"), config, false)?;
    report::write_file(&out.join("classes.txt"), &(classes.join("\n") + "\n"))
}

/// The Learner's model: `net` with its loss, EMA and precision.
fn classifier(
    config: &TrainConfig,
    checked: &Checked,
    net: EfficientNet,
    num_devices: usize,
    device: &Device,
) -> Classifier {
    let ema = config
        .ema_decay
        .map(|decay| ModelEma::new(&net, decay, &device.clone().autodiff()));
    Classifier {
        net,
        ema,
        label_smoothing: config.label_smoothing as f32,
        freeze_epochs: config.freeze_epochs,
        precision: config.precision,
        scaler: (config.precision == Precision::F16 && config.loss_scaling)
            .then(LossScaler::default),
        // DDP averages the gradients itself; the multi-device strategy sums them.
        num_devices: if checked.ddp { 1 } else { num_devices },
    }
}

/// Burn's supervised training over the loaders: metrics (the loss guard among them),
/// crash-safe checkpoints in `out/checkpoint`, the stop signal, the multi-device strategy and the renderer.
fn supervised(
    config: &TrainConfig,
    out: &Path,
    (train, valid): (Loader, Loader),
    (interrupter, guard): (Interrupter, LossGuard),
    top_k: usize,
    devices: &[Device],
    checked: &Checked,
) -> Result<SupervisedTraining<Classifier>> {
    let checkpoints = out.join("checkpoint");
    std::fs::create_dir_all(&checkpoints).map_err(|e| TrainError::io(&checkpoints, e))?;
    let mut training = SupervisedTraining::new(out, train, valid)
        .metrics((
            AccuracyMetric::new(),
            TopKAccuracyMetric::new(top_k),
            LossMetric::new(),
        ))
        .metric_train_numeric(LearningRateMetric::new())
        .metric_train(guard)
        .with_custom_checkpointers(
            AtomicCheckpointer::new(&checkpoints, checkpoint::KINDS[0]),
            AtomicCheckpointer::new(&checkpoints, checkpoint::KINDS[1]),
            AtomicCheckpointer::new(&checkpoints, checkpoint::KINDS[2]),
        )
        .with_interrupter(interrupter)
        .num_epochs(config.epochs);
    if devices.len() > 1 {
        let strategy = if checked.ddp {
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
    Ok(training)
}

/// Runs `training` (from the checkpoint of epoch `checkpoint`, if any) to the trained model;
/// a Learner error or a stop by the loss guard is an error.
fn launch(
    training: SupervisedTraining<Classifier>,
    learner: Learner<Classifier>,
    checkpoint: Option<usize>,
    guard: &LossGuard,
    out: &Path,
) -> Result<Classifier> {
    let training = match checkpoint {
        Some(epoch) => training.checkpoint(epoch),
        None => training,
    };
    let result = training.launch(learner);
    if let Some(error) = result.error {
        return Err(TrainError::Training(error.to_string()));
    }
    check_not_stopped(guard, out)?;
    Ok(result.model)
}

/// The error of a run the loss guard stopped (a non-finite loss), naming what is kept.
fn check_not_stopped(guard: &LossGuard, out: &Path) -> Result<()> {
    let Some(reason) = guard.tripped() else {
        return Ok(());
    };
    let kept = match resume::last_checkpoint(out) {
        Some(epoch) => format!("the checkpoint of epoch {epoch} is intact"),
        None => "no epoch was completed".to_owned(),
    };
    Err(TrainError::Stopped(format!(
        "{reason}; this epoch was not saved and {kept} in {}",
        out.join("checkpoint").display()
    )))
}
