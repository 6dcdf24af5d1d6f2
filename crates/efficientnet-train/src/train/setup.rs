//! Building a run from its [`TrainConfig`]: the dataset, the network (from scratch or from
//! pretrained weights), the loaders, the optimizer and the learning-rate schedule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::data::dataloader::DataLoader;
use burn::module::{Module, ParamGroup};
use burn::optim::{
    AdamWConfig, ModuleOptimizer, SgdConfig, decay::WeightDecayConfig, momentum::MomentumConfig,
};
use burn::tensor::Device;
use efficientnet::preprocess::EvalTransform;
use efficientnet::tensors::{ParamRole, float_paths, map_float_tensors};
use efficientnet::weights::{self, FileTensor, LoadOptions, WeightSet};
use efficientnet::{EfficientNet, EfficientNetConfig, ModelName};

use crate::augment::TrainTransform;
use crate::bad_files::BadFiles;
use crate::batcher::{ImageBatch, ImageBatcher, Mode};
use crate::dataset::{self, Splits};
use crate::error::{Result, TrainError};
use crate::loader::EpochLoader;
use crate::mix::MixConfig;
use crate::rmsprop_tf::RmsPropTfConfig;
use crate::schedule::{Decay, WarmupSchedule};
use crate::train::config::{Checked, OptimizerKind, ScheduleKind, TrainConfig};

/// The evaluation crop fraction of a run's validation and exported model (timm's 0.875).
const EVAL_CROP_PCT: f64 = 0.875;

/// The evaluation transform of a run trained at `config.image_size`.
pub(crate) fn eval_transform(config: &TrainConfig) -> EvalTransform {
    EvalTransform::crop_pct(config.image_size as u32, EVAL_CROP_PCT)
}

/// The run's dataset: `config.data`, or the built-in synthetic shapes.
pub(crate) fn splits(config: &TrainConfig) -> Result<Splits> {
    match &config.data {
        Some(path) => dataset::folder(Path::new(path)),
        None => Ok(dataset::synthetic(
            config.seed,
            config.synthetic_train,
            config.synthetic_valid,
            // Drawn a little larger than the crop, as photos are.
            (config.image_size as u32 * 8).div_ceil(7),
        )),
    }
}

/// The model's config: the variant's, with `num_classes` and the run's overrides.
fn model_config(config: &TrainConfig, name: ModelName, num_classes: usize) -> EfficientNetConfig {
    let mut model = name.config().with_num_classes(num_classes);
    if let Some(w) = config.width {
        model = model.with_width(w);
    }
    if let Some(d) = config.depth {
        model = model.with_depth(d);
    }
    if let Some(p) = config.dropout {
        model = model.with_dropout(p);
    }
    if let Some(p) = config.drop_path {
        model = model.with_drop_path_rate(p);
    }
    model
}

/// The model's config and the network on the autodiff `device`: from scratch, or from
/// `config.pretrained` with that weight set's padding and BN eps.
pub(crate) fn network(
    config: &TrainConfig,
    name: ModelName,
    num_classes: usize,
    device: &Device,
) -> Result<(EfficientNetConfig, EfficientNet)> {
    let model = model_config(config, name, num_classes);
    let (model, pretrained) = read_pretrained(config, name, model)?;
    let net = init_network(config, &model, pretrained, device)?;
    Ok((model, net))
}

/// Pretrained weights read from a file.
struct Pretrained {
    path: PathBuf,
    tensors: BTreeMap<String, FileTensor>,
}

/// Reads `config.pretrained`, if set, and gives `model` the padding and BN eps of its weight
/// set (the preset of its layout).
fn read_pretrained(
    config: &TrainConfig,
    name: ModelName,
    model: EfficientNetConfig,
) -> Result<(EfficientNetConfig, Option<Pretrained>)> {
    let Some(path) = &config.pretrained else {
        return Ok((model, None));
    };
    let path = PathBuf::from(path);
    let tensors = weights::read_tensors(&path)?;
    let (layout, _, _) = weights::inspect(&tensors, None).ok_or_else(|| {
        TrainError::Config(format!(
            "--pretrained {}: no EfficientNet state dict found",
            path.display()
        ))
    })?;
    let model = WeightSet::preset(name, layout).configure(model);
    Ok((model, Some(Pretrained { path, tensors })))
}

/// The network on the autodiff `device`, seeded by `config.seed`, with the pretrained
/// weights loaded when given.
fn init_network(
    config: &TrainConfig,
    model: &EfficientNetConfig,
    pretrained: Option<Pretrained>,
    device: &Device,
) -> Result<EfficientNet> {
    // Seeded weight initialisation (the data order is seeded by the loader).
    device.seed(config.seed);
    let net = model.try_init(&device.clone().autodiff())?;
    match pretrained {
        Some(pretrained) => load_pretrained(net, pretrained, model.num_classes),
        None => Ok(net),
    }
}

/// Loads `pretrained` into `net`; a classifier of another size is replaced by a zero one.
fn load_pretrained(
    net: EfficientNet,
    pretrained: Pretrained,
    num_classes: usize,
) -> Result<EfficientNet> {
    let path = pretrained.path.as_path();
    let options = LoadOptions::default().with_new_head(true);
    let (loaded, report) =
        weights::load_tensors(net, &pretrained.tensors, &options).map_err(|e| e.with_path(path))?;
    let net = if report.reinitialized.is_empty() {
        loaded
    } else {
        // A new classifier starts at zero (as BiT, Kolesnikov et al. 2020, does): the first
        // loss is ln(classes) and the pretrained features are not met by large random logits.
        map_float_tensors(loaded, |path, values| {
            ParamRole::of(path).classifier.then(|| values.zeros_like())
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
    Ok(net)
}

/// The parameters of `model` exempt from weight decay: BatchNorm's scale and shift and every
/// bias (timm's and the paper's rule).
fn no_decay_group<M: Module>(model: &M) -> ParamGroup {
    let paths: Vec<String> = float_paths(model)
        .into_iter()
        .filter(|path| {
            let role = ParamRole::of(path);
            role.trainable() && !role.decays()
        })
        .collect();
    ParamGroup::from_paths(paths)
}

/// The optimizer of `config` for `model`, weight decay on the weights only.
pub(crate) fn optimizer<M: Module>(config: &TrainConfig, model: &M) -> ModuleOptimizer {
    let wd = config.weight_decay as f32;
    let no_decay = no_decay_group(model);
    match config.optimizer {
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
    }
}

/// Steps of an epoch: Burn splits the epoch into one contiguous share per device (the last
/// takes the remainder); a step takes one batch of every device that has one left.
pub(crate) fn steps_per_epoch(train_len: usize, num_devices: usize, device_batch: usize) -> usize {
    let last_share = train_len - (num_devices - 1) * (train_len / num_devices);
    last_share.div_ceil(device_batch).max(1)
}

/// A loader as the Learner takes it.
pub(crate) type Loader = Arc<dyn DataLoader<ImageBatch>>;

/// The training and validation loaders, the training one starting at `first_epoch`.
pub(crate) fn loaders(
    config: &TrainConfig,
    checked: &Checked,
    splits: &Splits,
    device: &Device,
    first_epoch: usize,
    bad_files: &Arc<BadFiles>,
) -> (Loader, Loader) {
    let mut train_transform = TrainTransform::new(config.image_size as u32, config.min_crop_scale);
    train_transform.rand_augment = checked.rand_augment.clone();
    train_transform.erase_prob = config.random_erase;
    let mut train_batcher = ImageBatcher::new(Mode::Train(train_transform), bad_files.clone());
    if config.mixup > 0.0 || config.cutmix > 0.0 {
        train_batcher.mix = Some(MixConfig {
            mixup_alpha: config.mixup,
            cutmix_alpha: config.cutmix,
        });
    }
    let valid_batcher = ImageBatcher::new(Mode::Eval(eval_transform(config)), bad_files.clone());
    // Epoch e's order and augmentation depend on (seed, e) only: resuming after epoch k
    // starts the loader at k + 1 and the run continues exactly as if never stopped.
    let train: Loader = Arc::new(
        EpochLoader::new(
            splits.train.samples().to_vec(),
            train_batcher,
            checked.device_batch,
        )
        .with_shuffle(true)
        .with_seed(config.seed)
        .with_workers(config.num_workers)
        .with_device(device.clone())
        .starting_epoch(first_epoch),
    );
    let valid: Loader = Arc::new(
        EpochLoader::new(
            splits.valid.samples().to_vec(),
            valid_batcher,
            config.batch_size,
        )
        .with_workers(config.num_workers)
        .with_device(device.clone()),
    );
    (train, valid)
}

/// The warmup and decay of `config` over a run of `steps_per_epoch`-step epochs.
pub(crate) fn schedule(config: &TrainConfig, steps_per_epoch: usize) -> WarmupSchedule {
    WarmupSchedule {
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
    }
}

#[cfg(test)]
mod tests {
    use burn::module::ParamId;
    use efficientnet::EfficientNetConfig;

    use super::*;

    /// The weight-decay exemption by role is exactly the one the suffix rule `.gamma`,
    /// `.beta`, `.bias` gives, over every trainable tensor of a small B0.
    #[test]
    fn no_decay_group_holds_batch_norm_and_biases() {
        let device = Device::default();
        let net = EfficientNetConfig::b0().with_width(0.25).init(&device);
        let group = no_decay_group(&net);
        let mut exempt = 0;
        for path in float_paths(&net) {
            let leaf = path.rsplit('.').next().unwrap_or_default();
            let by_suffix = matches!(leaf, "gamma" | "beta" | "bias");
            let matched = group.matches(&ParamId::new(), Some(&path));
            if leaf.starts_with("running_") {
                assert!(!matched, "{path}");
            } else {
                assert_eq!(matched, by_suffix, "{path}");
            }
            exempt += usize::from(matched);
        }
        assert!(exempt > 50, "{exempt} exempt tensors");
        assert!(group.matches(&ParamId::new(), Some("classifier.bias")));
        assert!(!group.matches(&ParamId::new(), Some("classifier.weight")));
    }
}
