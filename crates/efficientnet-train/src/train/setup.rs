//! Building a run from its [`TrainConfig`]: the dataset, the network (from scratch or from
//! pretrained weights), the loaders, the optimizer and the learning-rate schedule.

use std::path::Path;
use std::sync::Arc;

use burn::data::dataloader::DataLoader;
use burn::module::{Module, ParamGroup};
use burn::optim::{
    AdamWConfig, ModuleOptimizer, SgdConfig, decay::WeightDecayConfig, momentum::MomentumConfig,
};
use burn::tensor::Device;
use efficientnet::preprocess::EvalTransform;
use efficientnet::tensors::{ParamRole, float_paths, map_float_tensors};
use efficientnet::weights::{LoadReport, Pretrained, WeightSet};
use efficientnet::{EfficientNet, EfficientNetConfig, ModelName};

use crate::augment::TrainTransform;
use crate::bad_files::BadFiles;
use crate::batcher::{ImageBatch, ImageBatcher, Mode};
use crate::dataset::{self, Splits};
use crate::error::Result;
use crate::loader::EpochLoader;
use crate::mix::MixConfig;
use crate::rmsprop_tf::RmsPropTfConfig;
use crate::schedule::{Decay, WarmupSchedule};
use crate::train::config::{Checked, OptimizerKind, ScheduleKind, TrainConfig};

/// The evaluation crop fraction of a run from scratch (timm's 0.875).
const EVAL_CROP_PCT: f64 = 0.875;

/// The evaluation transform of a run trained at `config.image_size`: the pretrained weight
/// set's (its resize filter, crop fraction and normalisation, the crop scaled to the run's
/// image size) when fine-tuning, else a 0.875 bicubic crop with ImageNet statistics.
pub(crate) fn eval_transform(
    config: &TrainConfig,
    weight_set: Option<&WeightSet>,
) -> EvalTransform {
    let size = config.image_size as u32;
    let Some(set) = weight_set else {
        return EvalTransform::crop_pct(size, EVAL_CROP_PCT);
    };
    let t = &set.transform;
    if t.crop == size {
        return t.clone();
    }
    let resize = f64::from(size) * f64::from(t.resize) / f64::from(t.crop);
    EvalTransform {
        resize: resize.floor() as u32, // timm's floor(size / crop_pct)
        crop: size,
        ..t.clone()
    }
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

/// The network of a run and where its weights came from.
pub(crate) struct Network {
    /// Its config.
    pub config: EfficientNetConfig,
    /// The network on the autodiff device.
    pub net: EfficientNet,
    /// The weight set of the pretrained weights it starts from, if any.
    pub weight_set: Option<WeightSet>,
}

/// The network on the autodiff `device`: from scratch, or from `config.pretrained` opened as
/// `name` (with that weight set's padding and BN eps, and a new zero classifier when the
/// dataset has another number of classes).
pub(crate) fn network(
    config: &TrainConfig,
    name: ModelName,
    num_classes: usize,
    device: &Device,
) -> Result<Network> {
    let model = model_config(config, name, num_classes);
    // Seeded weight initialisation (the data order is seeded by the loader).
    device.seed(config.seed);
    let device = device.clone().autodiff();
    let Some(path) = &config.pretrained else {
        let net = model.try_init(&device)?;
        return Ok(Network {
            config: model,
            net,
            weight_set: None,
        });
    };
    let pretrained = Pretrained::open(path, name)?;
    if let Some(warning) = &pretrained.warning {
        eprintln!("warning: {warning}");
    }
    let model = pretrained.weight_set.configure(model);
    let (net, report) = pretrained.init_with(&model, &device, true)?;
    let net = if report.reinitialized.is_empty() {
        net
    } else {
        // A new classifier starts at zero (as BiT, Kolesnikov et al. 2020, does): the first
        // loss is ln(classes) and the pretrained features are not met by large random logits.
        map_float_tensors(net, |path, values| {
            ParamRole::of(path).classifier.then(|| values.zeros_like())
        })
    };
    print_fine_tuning(&pretrained, &report, num_classes);
    Ok(Network {
        config: model,
        net,
        weight_set: Some(pretrained.weight_set),
    })
}

/// What fine-tuning starts from: the file, its weight set and the preprocessing it keeps.
fn print_fine_tuning(pretrained: &Pretrained, report: &LoadReport, num_classes: usize) {
    let t = pretrained.transform();
    println!(
        "fine-tuning from {} ({}): {} tensors loaded{}; its preprocessing: mean {:?}, std {:?}, \
         {:?} resize {} -> crop {}",
        pretrained.path.display(),
        pretrained.weight_set.name,
        report.loaded,
        if report.reinitialized.is_empty() {
            String::new()
        } else {
            format!(", new {num_classes}-class head")
        },
        t.mean,
        t.std,
        t.interpolation,
        t.resize,
        t.crop
    );
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
/// The training images are normalised as `eval` normalises.
pub(crate) fn loaders(
    config: &TrainConfig,
    checked: &Checked,
    splits: &Splits,
    (eval, device): (&EvalTransform, &Device),
    first_epoch: usize,
    bad_files: &Arc<BadFiles>,
) -> (Loader, Loader) {
    let mut train_transform = TrainTransform::new(config.image_size as u32, config.min_crop_scale);
    (train_transform.mean, train_transform.std) = (eval.mean, eval.std);
    train_transform.rand_augment = checked.rand_augment.clone();
    train_transform.erase_prob = config.random_erase;
    let mut train_batcher = ImageBatcher::new(Mode::Train(train_transform), bad_files.clone());
    if config.mixup > 0.0 || config.cutmix > 0.0 {
        train_batcher.mix = Some(MixConfig {
            mixup_alpha: config.mixup,
            cutmix_alpha: config.cutmix,
        });
    }
    let valid_batcher = ImageBatcher::new(Mode::Eval(eval.clone()), bad_files.clone());
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
    let lr = config.peak_lr();
    WarmupSchedule {
        base_lr: lr,
        warmup_lr: config.warmup_lr.min(lr),
        warmup_steps: (config.warmup_epochs * steps_per_epoch as f64).round() as usize,
        total_steps: config.epochs * steps_per_epoch,
        decay: match config.schedule {
            ScheduleKind::Cosine => Decay::Cosine { min_lr: lr * 0.01 },
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

    /// The smallest and largest value of `loader`'s first batch.
    fn first_batch_range(loader: &Loader) -> (f32, f32) {
        let batch = loader.iter().next().expect("a batch").expect("readable");
        let values: Vec<f32> = batch
            .images
            .into_data()
            .convert::<f32>()
            .iter::<f32>()
            .collect();
        values
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    }

    /// Fine-tuning from timm-layout TF Lite weights (trained on inputs in [-1, 1]) feeds
    /// training and validation with inputs in [-1, 1] and validates with the weight set's
    /// crop fraction and resize filter; from scratch, ImageNet statistics (white = 2.25).
    #[test]
    fn fine_tuning_keeps_the_weight_sets_preprocessing() {
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/tf_lite0.weights.safetensors"
        );
        let config = TrainConfig::new("tf_efficientnet_lite0".into())
            .with_width(Some(0.25))
            .with_image_size(32)
            .with_batch_size(8)
            .with_synthetic_train(16)
            .with_synthetic_valid(8)
            .with_num_workers(1);
        let device = Device::default();
        let bad_files = Arc::new(BadFiles::default());
        let ranges = |config: &TrainConfig| {
            let checked = config.check(1).expect("valid config");
            let splits = splits(config).expect("synthetic");
            let network = network(config, checked.name, 6, &device).expect("network");
            let eval = eval_transform(config, network.weight_set.as_ref());
            let (train, valid) =
                loaders(config, &checked, &splits, (&eval, &device), 1, &bad_files);
            (eval, first_batch_range(&train), first_batch_range(&valid))
        };

        let tuned = config.clone().with_pretrained(Some(fixture.into()));
        let (eval, train, valid) = ranges(&tuned);
        assert_eq!((eval.mean, eval.std), ([0.5; 3], [0.5; 3]));
        // Lite0's 224 / 256 crop fraction and bicubic filter, scaled to the 32-px run.
        assert_eq!((eval.resize, eval.crop), (36, 32));
        assert_eq!(
            eval.interpolation,
            efficientnet::preprocess::Interpolation::Bicubic
        );
        for (lo, hi) in [train, valid] {
            assert!(lo >= -1.0 - 1e-5 && hi <= 1.0 + 1e-5, "[{lo}, {hi}]");
            assert!(hi > 0.9, "the synthetic images have white: {hi}");
        }

        let (eval, train, valid) = ranges(&config);
        assert_eq!((eval.resize, eval.crop), (36, 32));
        for (_, hi) in [train, valid] {
            assert!(hi > 2.0, "ImageNet statistics from scratch: {hi}");
        }
    }

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
