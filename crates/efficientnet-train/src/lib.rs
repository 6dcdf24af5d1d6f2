//! Training EfficientNet on Burn's `Learner` (`SupervisedTraining`): class-folder and Kaggle
//! ImageNet datasets and a built-in synthetic one, RandomResizedCrop/flip augmentation, a
//! warmup followed by cosine or staircase decay, TF-style RMSProp, label smoothing,
//! checkpoints and resume, and a run summary (`summary.json`, `metrics.csv`); on one device or
//! data-parallel on several ([`train_on`]), in f32 or mixed precision ([`precision`]).
//!
//! Runs are reproducible and resumable bit for bit ([`loader::EpochLoader`]), crash-safe
//! ([`checkpoint::AtomicCheckpointer`]) and stop at a non-finite loss ([`guard::LossGuard`]).
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

pub mod checkpoint;
pub mod classifier;
pub mod data;
pub mod ema;
mod error;
pub mod guard;
pub mod loader;
pub mod plot;
pub mod precision;
pub mod rand_augment;
pub mod renderer;
pub mod rmsprop_tf;
pub mod schedule;
pub mod synthetic;
pub mod train;

pub use error::{Result, TrainError};
pub use precision::Precision;
pub use train::{DataParallel, OptimizerKind, ScheduleKind, Summary, TrainConfig, train, train_on};
