//! Training EfficientNet on Burn's `Learner` (`SupervisedTraining`): class-folder and Kaggle
//! ImageNet datasets and a built-in synthetic one, RandomResizedCrop/flip augmentation, a
//! warmup followed by cosine or staircase decay, TF-style RMSProp, label smoothing,
//! checkpoints and resume, and a run summary (`summary.json`, `metrics.csv`); on one device or
//! data-parallel on several ([`train_on`]), in f32 or mixed precision ([`Precision`]).
//!
//! Runs are reproducible and resumable bit for bit ([`EpochLoader`]), crash-safe
//! ([`AtomicCheckpointer`]) and stop at a non-finite loss ([`LossGuard`]).
//!
//! # Quick start
//!
//! [`train()`] runs a whole training from a [`TrainConfig`] and writes the run into a folder:
//!
//! ```
//! use burn::tensor::Device;
//! use efficientnet_train::{TrainConfig, train};
//!
//! // A quarter-width B0 for one epoch on 64 built-in synthetic 32-px images (six shape
//! // classes), so that the example runs in seconds. `TrainConfig::new("b0".into())` alone is a
//! // full-size B0 at 224 px; `with_data` points it at a class-per-folder dataset.
//! let config = TrainConfig::new("b0".into())
//!     .with_width(Some(0.25))
//!     .with_depth(Some(0.34))
//!     .with_epochs(1)
//!     .with_batch_size(16)
//!     .with_image_size(32)
//!     .with_synthetic_train(64)
//!     .with_synthetic_valid(32)
//!     .with_num_workers(1);
//! let out = std::env::temp_dir().join(format!("efficientnet-train-doc-{}", std::process::id()));
//! let _ = std::fs::remove_dir_all(&out);
//!
//! // Autodiff is switched on for the device inside; pass the plain device.
//! let summary = train(&config, &out, &Device::default(), false)?;
//! assert_eq!(summary.epochs, 1);
//! assert!((0.0..=100.0).contains(&summary.final_top1));
//! for file in ["config.json", "metrics.csv", "summary.json", "model.bpk"] {
//!     assert!(out.join(file).is_file(), "{file}");
//! }
//! std::fs::remove_dir_all(&out)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod augment;
mod bad_files;
mod batcher;
mod checkpoint;
mod classifier;
mod dataset;
mod ema;
mod error;
mod guard;
mod loader;
mod mix;
mod plot;
mod precision;
mod rand_augment;
mod random;
mod renderer;
mod rmsprop_tf;
mod schedule;
mod step_output;
pub mod synthetic;
mod train;
mod validate;

pub use checkpoint::AtomicCheckpointer;
pub use classifier::Classifier;
pub use ema::ModelEma;
pub use error::{Result, TrainError};
pub use guard::LossGuard;
pub use loader::EpochLoader;
#[doc(hidden)]
pub use plot::draw_text;
pub use precision::{LossScaler, Precision};
pub use rand_augment::RandAugment;
pub use rmsprop_tf::{RmsPropTf, RmsPropTfConfig};
pub use schedule::{Decay, WarmupSchedule};
pub use step_output::{LossCheck, StepOutput};
pub use train::config::{DataParallel, OptimizerKind, ScheduleKind, TrainConfig};
pub use train::report::Summary;
pub use train::resume::last_checkpoint;
pub use train::{train, train_on};
pub use validate::{ClassScore, ValidateOptions, Validation, validate};

/// Datasets, augmentation and batching, for a training loop of your own: the samples of a
/// dataset ([`folder`](data::folder), [`kaggle`](data::kaggle), [`synthetic`](data::synthetic),
/// and [`eval_split`](data::eval_split) for [`validate`]),
/// the [`ImageBatcher`](data::ImageBatcher) that decodes, augments and stacks them, and the
/// [`BatchPosition`](data::BatchPosition) every random draw of a batch derives from.
pub mod data {
    pub use crate::augment::{TrainTransform, random_erase};
    pub use crate::bad_files::BadFiles;
    pub use crate::batcher::{ImageBatch, ImageBatcher, Mix, Mode};
    pub use crate::dataset::{
        EvalSplit, ImageSource, Sample, SampleDataset, Splits, eval_split, folder, kaggle,
        synthetic,
    };
    pub use crate::loader::EpochLoader;
    pub use crate::mix::MixConfig;
    pub use crate::random::{BatchPosition, Stream};
}
