//! Weight files into a model the caller built: [`load_weights`] (any supported format and
//! layout). To build the model the weights were trained as, use
//! [`Pretrained`](super::Pretrained).

use std::path::Path;

use super::burnpack::load_burnpack;
use super::load::{LoadOptions, LoadReport, load_tensors};
use super::read::{FileFormat, read_tensors};
use crate::error::Result;
use crate::model::EfficientNet;

/// Loads a PyTorch or safetensors file (any supported layout) or a burnpack into `model`.
///
/// Strict: every parameter of the model must be in the file with the right shape, and every
/// tensor under the model's key prefix must be used (`num_batches_tracked` excepted). All
/// problems are listed in one [`Error::WeightMismatch`](crate::Error::WeightMismatch).
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
