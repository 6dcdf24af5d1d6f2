//! Training EfficientNet on Burn's `Learner` (`SupervisedTraining`): class-folder and Kaggle
//! ImageNet datasets and a built-in synthetic one, RandomResizedCrop/flip augmentation, a
//! warmup followed by cosine or staircase decay, TF-style RMSProp, label smoothing,
//! checkpoints and resume, and a run summary (`summary.json`, `metrics.csv`).
//!
//! Runs are reproducible and resumable bit for bit ([`loader::EpochLoader`]), crash-safe
//! ([`checkpoint::AtomicCheckpointer`]) and stop at a non-finite loss ([`guard::LossGuard`]).

#![deny(missing_docs)]

pub mod checkpoint;
pub mod classifier;
pub mod data;
pub mod ema;
mod error;
pub mod guard;
pub mod loader;
pub mod plot;
pub mod rand_augment;
pub mod renderer;
pub mod rmsprop_tf;
pub mod schedule;
pub mod synthetic;
pub mod train;

pub use error::{Result, TrainError};
pub use train::{OptimizerKind, ScheduleKind, Summary, TrainConfig, train};
