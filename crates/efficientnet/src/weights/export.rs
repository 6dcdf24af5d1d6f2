//! Export to safetensors in a PyTorch layout, loadable with `load_state_dict(strict=True)`.

use std::path::Path;

use safetensors::Dtype;

use super::layout::Layout;
use super::transpose::transpose;
use crate::error::{Error, Result};
use crate::fs::write_file;
use crate::model::EfficientNet;
use crate::tensors::{ParamRole, float_tensors};

/// Storage precision of exported weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats.
    #[default]
    F32,
    /// 16-bit floats for weights; BatchNorm parameters and statistics stay 32-bit.
    F16,
}

/// Writes `model` as a safetensors file in `layout` (torchvision or timm; lukemelas for V1).
///
/// Adds the `num_batches_tracked` counters PyTorch's BatchNorm keeps in its state dict (zero),
/// so the file loads with `strict=True`. Written to a temporary file and renamed into place.
///
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// use efficientnet::EfficientNetConfig;
/// use efficientnet::weights::{
///     Layout, LoadOptions, Precision, export_safetensors, load_weights, read_tensors,
/// };
///
/// let device = Device::default();
/// let config = EfficientNetConfig::b0().with_width(0.25);
/// let model = config.init(&device);
/// let name = format!("efficientnet-doc-{}.safetensors", std::process::id());
/// let path = std::env::temp_dir().join(name);
/// export_safetensors(&model, Layout::Torchvision, &path, Precision::F32)?;
///
/// // torchvision's names and shapes: the classifier weight is PyTorch's `[out, in]`.
/// let tensors = read_tensors(&path)?;
/// assert_eq!(tensors["features.0.0.weight"].shape, [8, 3, 3, 3]);
/// assert_eq!(tensors["classifier.1.weight"].shape, [1000, 320]);
/// assert_eq!(tensors["features.0.1.num_batches_tracked"].dtype, "I64");
///
/// // Loaded into a freshly initialised model, the file computes what `model` computes.
/// let (reloaded, report) = load_weights(config.init(&device), &path, &LoadOptions::default())?;
/// std::fs::remove_file(&path)?;
/// assert_eq!(report.layout, Some(Layout::Torchvision));
/// let images = Tensor::<4>::random([1, 3, 32, 32], Distribution::Default, &device);
/// reloaded
///     .forward(images.clone())
///     .into_data()
///     .assert_eq(&model.forward(images).into_data(), true);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn export_safetensors(
    model: &EfficientNet,
    layout: Layout,
    path: &Path,
    precision: Precision,
) -> Result<()> {
    let mut out: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut unnamed = Vec::new();
    for tensor in float_tensors(model) {
        let path = tensor.path;
        let Some(key) = layout.key(model.plan(), &path) else {
            unnamed.push(path);
            continue;
        };
        let mut shape = tensor.shape;
        let data = tensor.values.into_data().convert::<f32>();
        let mut values: Vec<f32> = data.iter::<f32>().collect();
        let role = ParamRole::of(&path);
        if role.linear_weight() {
            values = transpose(&values, shape[0], shape[1]);
            shape.reverse();
        }
        let (dtype, bytes) = match precision {
            Precision::F16 if !role.batch_norm() => (
                Dtype::F16,
                values
                    .iter()
                    .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                    .collect(),
            ),
            _ => (
                Dtype::F32,
                values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
        };
        if let Some(bn_prefix) = key.strip_suffix(".running_var") {
            out.push((
                format!("{bn_prefix}.num_batches_tracked"),
                Dtype::I64,
                Vec::new(),
                0i64.to_le_bytes().to_vec(),
            ));
        }
        out.push((key, dtype, shape, bytes));
    }
    if let Some(first) = unnamed.first() {
        return Err(Error::UnknownLayout(format!(
            "the {layout} layout has no names for {} parameters of this model (first: {first})",
            unnamed.len()
        )));
    }
    let views = out
        .iter()
        .map(|(key, dtype, shape, bytes)| {
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes)
                .map(|view| (key.clone(), view))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| serialization(path, "a safetensors tensor view", e))?;
    let bytes = safetensors::serialize(views, None)
        .map_err(|e| serialization(path, "safetensors tensors", e))?;
    write_file(path, &bytes)
}

/// [`Error::Serialization`] of `what` for the file at `path`.
fn serialization(path: &Path, what: &'static str, error: impl ToString) -> Error {
    Error::Serialization {
        path: path.to_path_buf(),
        what,
        reason: error.to_string(),
    }
}
