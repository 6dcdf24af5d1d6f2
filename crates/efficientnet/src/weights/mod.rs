//! Weights in and out: PyTorch `.pth`/`.pt` (zip and legacy), safetensors and Burn's burnpack,
//! in the torchvision, timm and lukemelas key layouts.
//!
//! ```no_run
//! # use burn::tensor::Device;
//! use efficientnet::EfficientNetConfig;
//! use efficientnet::weights::{LoadOptions, load_weights};
//!
//! let device = Device::default();
//! let model = EfficientNetConfig::from_name("efficientnet_b0")?.init(&device);
//! let (model, report) = load_weights(model, "efficientnet_b0.pth", &LoadOptions::default())?;
//! println!("loaded {} tensors ({:?} layout)", report.loaded, report.layout);
//! # Ok::<(), efficientnet::Error>(())
//! ```
//!
//! * `read`: tensors of PyTorch and safetensors files, by name.
//! * `layout`: our parameter paths in each PyTorch implementation's names.
//! * `load`: the strict copy of a state dict into a model; `from_file`: the same from a file.
//! * `burnpack`: Burn's native format; `export`: safetensors in a PyTorch layout.
//! * `sets`: the table of published weight sets (padding, BN eps, eval transform, top-1);
//!   `pretrained`: the one way to open pretrained weights ([`Pretrained::open`]).

mod burnpack;
mod export;
mod from_file;
mod layout;
mod load;
mod pretrained;
mod read;
mod sets;
mod transpose;

pub use burnpack::{BurnpackMeta, load_burnpack, save_burnpack};
pub use export::{Precision, export_safetensors};
pub use from_file::load_weights;
pub use layout::Layout;
pub use load::{LoadOptions, LoadReport, inspect, load_tensors};
pub use pretrained::Pretrained;
pub use read::{FileFormat, FileTensor, read_tensors};
pub use sets::{Row, WEIGHT_SETS, WeightSet};
