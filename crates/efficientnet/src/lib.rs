//! EfficientNet for the [Burn](https://burn.dev) deep learning framework: B0–B7 (+B8, L2),
//! EfficientNet-Lite0–4 and EfficientNetV2-S/M/L/B0–B3, exact to the PyTorch architectures of
//! torchvision and timm.
//!
//! * Tan & Le, *EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks*,
//!   ICML 2019, <https://arxiv.org/abs/1905.11946>.
//! * Tan & Le, *EfficientNetV2: Smaller Models and Faster Training*, ICML 2021,
//!   <https://arxiv.org/abs/2104.00298>.
//!
//! The crate has no backend: modules and tensors are backend-free in Burn 0.22 and the
//! [`Device`](burn::tensor::Device) you pass picks CPU (flex, ndarray), wgpu or CUDA at run time.
//!
//! # Quick start
//!
//! ```no_run
//! use burn::tensor::{Device, Distribution, Tensor};
//! use efficientnet::EfficientNetConfig;
//!
//! let device = Device::default(); // needs a backend feature of `burn` in your binary
//! let model = EfficientNetConfig::from_name("efficientnet_b0")?.init(&device);
//! let images = Tensor::<4>::random([1, 3, 224, 224], Distribution::Default, &device);
//! let logits = model.forward(images); // [1, 1000]
//! # Ok::<(), efficientnet::Error>(())
//! ```

#![deny(missing_docs)]

pub mod arch;
pub mod blocks;
mod config;
mod error;
pub mod fs;
pub mod imagenet;
pub mod kernels;
mod model;
pub mod preprocess;
pub mod tensors;
pub mod weights;

pub use arch::FeatureInfo;
pub use config::{Activation, EfficientNetConfig, Family, ModelName, PaddingMode, Variant};
pub use error::{Error, Result, WeightMismatch};
pub use model::{EfficientNet, Stage};

/// The README's Rust examples, compiled and run by `cargo test`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
