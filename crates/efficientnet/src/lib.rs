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
//! Build a model from a name, preprocess an image, classify it, take the backbone's endpoints:
//!
//! ```
//! use burn::tensor::Device;
//! use burn::tensor::activation::softmax;
//! use efficientnet::preprocess::EvalTransform;
//! use efficientnet::{EfficientNetConfig, imagenet};
//!
//! // The first backend compiled into your binary (a `burn` feature such as "flex").
//! let device = Device::default();
//!
//! // EfficientNet-B0 by name (or `EfficientNetConfig::b0()`), here at a quarter of its width and
//! // on 32x32 images so that the example runs in a blink; drop `with_width` for the real model.
//! let model = EfficientNetConfig::from_name("efficientnet_b0")?
//!     .with_width(0.25)
//!     .init(&device);
//!
//! // Resize the shorter side, center crop, normalise. Pretrained weights come with the
//! // transform they expect (`weights::Pretrained::open` finds it).
//! let image = image::DynamicImage::new_rgb8(64, 48);
//! let batch = EvalTransform::imagenet(36, 32).batch(&[image], &device);
//! assert_eq!(batch.dims(), [1, 3, 32, 32]);
//!
//! let logits = model.forward(batch.clone());
//! assert_eq!(logits.dims(), [1, imagenet::NUM_CLASSES]);
//! let probs = softmax(logits, 1).into_data().convert::<f32>().into_vec::<f32>()?;
//! let top5 = imagenet::top_k(&probs, 5);
//! assert!(probs[top5[0]] >= probs[top5[4]]);
//! let best = imagenet::class_name(top5[0]).expect("an ImageNet class");
//! println!("an untrained model's best guess: {best}");
//!
//! // Backbone use: the endpoints at strides 2, 4, 8, 16, 32.
//! let features = model.forward_features(batch);
//! let shapes: Vec<[usize; 4]> = features.iter().map(|f| f.dims()).collect();
//! assert_eq!(
//!     shapes,
//!     [[1, 8, 16, 16], [1, 8, 8, 8], [1, 16, 4, 4], [1, 32, 2, 2], [1, 80, 1, 1]]
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Where to go next: [`EfficientNetConfig`] (variants and knobs), [`EfficientNet`] (the
//! forwards, [`fuse`](EfficientNet::fuse), head swap), [`weights`] (PyTorch and Burn files in and
//! out), [`preprocess`] (decoding and the evaluation transform), [`imagenet`] (labels).

#![deny(missing_docs)]

pub mod arch;
pub mod blocks;
mod config;
mod constructors;
mod error;
mod family;
pub mod fs;
pub mod imagenet;
mod integrity;
#[doc(hidden)] // this crate's own kernels: for its tests and benchmarks, not an API
pub mod kernels;
mod model;
mod names;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod preprocess;
pub mod tensors;
mod variants;
pub mod weights;

pub use arch::FeatureInfo;
pub use config::{Activation, EfficientNetConfig, PaddingMode};
pub use error::{Error, Result, WeightMismatch};
pub use family::Family;
pub use model::{EfficientNet, Stage};
pub use names::ModelName;
pub use variants::Variant;

/// The README's Rust examples, compiled and run by `cargo test`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
