//! Burn's native burnpack (`.bpk`): the model's own parameter names, read whole, and the
//! [`BurnpackMeta`] JSON file beside it that holds what a burnpack cannot (config, transform).

use std::path::{Path, PathBuf};

use burn::module::Module;

use super::load::LoadReport;
use super::read::FileFormat;
use super::sets::WeightSet;
use crate::config::EfficientNetConfig;
use crate::error::{Error, Result};
use crate::fs::write_file;
use crate::model::EfficientNet;
use crate::preprocess::EvalTransform;
use crate::tensors::float_tensors;

/// Loads a burnpack written by [`save_burnpack`] (this crate's own parameter names).
///
/// The file is read whole before this returns. (Burn's `Module::try_load_file` reads each
/// tensor from the path at its first use: a model loaded that way panics when the file is
/// removed before then, and takes another file's weights when the path is replaced.)
pub fn load_burnpack(model: EfficientNet, path: &Path) -> Result<(EfficientNet, LoadReport)> {
    let loaded = float_tensors(&model).len();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let not_a_burnpack = |e: burn::store::RecordError| Error::NotACheckpoint {
        path: path.to_path_buf(),
        reason: format!("not a burnpack of this model: {e}"),
    };
    let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(not_a_burnpack)?;
    let model = model.try_load_record(record).map_err(not_a_burnpack)?;
    Ok((
        model,
        LoadReport {
            layout: None,
            format: Some(FileFormat::Burnpack),
            prefix: String::new(),
            loaded,
            reinitialized: Vec::new(),
            ignored: 0,
        },
    ))
}

/// Saves `model` as a burnpack (`.bpk`), Burn's native format.
///
/// A burnpack holds the tensors only; [`BurnpackMeta`] keeps the config beside it.
///
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// use efficientnet::EfficientNetConfig;
/// use efficientnet::weights::{load_burnpack, save_burnpack};
///
/// let device = Device::default();
/// let config = EfficientNetConfig::lite0().with_width(0.25).with_num_classes(3);
/// let model = config.init(&device);
/// let path = std::env::temp_dir().join(format!("efficientnet-doc-{}.bpk", std::process::id()));
/// save_burnpack(&model, &path)?;
///
/// let (reloaded, report) = load_burnpack(config.init(&device), &path)?;
/// std::fs::remove_file(&path)?;
/// assert_eq!(report.layout, None); // this crate's own names
/// let images = Tensor::<4>::random([2, 3, 32, 32], Distribution::Default, &device);
/// reloaded
///     .forward(images.clone())
///     .into_data()
///     .assert_eq(&model.forward(images).into_data(), true);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_burnpack(model: &EfficientNet, path: &Path) -> Result<()> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| Error::Serialization {
            path: path.to_path_buf(),
            what: "burnpack weights",
            reason: e.to_string(),
        })?;
    write_file(path, &bytes)
}

/// What a burnpack cannot hold but running its weights needs: the model config (padding, BN
/// eps, classes, multipliers) and the eval transform. Written beside the file as `<file>.json`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct BurnpackMeta {
    /// The config the weights belong to.
    pub config: EfficientNetConfig,
    /// The evaluation preprocessing of the weights (for a trained or fine-tuned model, the
    /// one it was validated with; its normalisation is the one it was trained on).
    pub transform: EvalTransform,
    /// The weight set the weights were imported from or fine-tuned from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_set: Option<String>,
}

impl BurnpackMeta {
    /// The metadata of weights in the model of `config` that run with `weight_set`'s
    /// transform.
    pub fn new(config: EfficientNetConfig, weight_set: &WeightSet) -> Self {
        Self {
            config,
            transform: weight_set.transform.clone(),
            weight_set: Some(weight_set.name.clone()),
        }
    }

    /// The weight set this metadata describes for the burnpack at `path`: its config's
    /// padding and BN eps, its transform, named after the set it came from.
    pub fn weight_set(&self, path: &Path) -> WeightSet {
        let origin = match &self.weight_set {
            Some(name) => format!(" (from {name})"),
            None => String::new(),
        };
        WeightSet {
            name: format!("{}{origin}", Self::path_for(path).display()),
            layout: None,
            padding: self.config.padding,
            bn_eps: self.config.bn_eps,
            transform: self.transform.clone(),
            top1: None,
        }
    }

    /// `<burnpack>.json`.
    pub fn path_for(burnpack: &Path) -> PathBuf {
        let mut name = burnpack.as_os_str().to_owned();
        name.push(".json");
        PathBuf::from(name)
    }

    /// Writes the metadata beside `burnpack`.
    pub fn save(&self, burnpack: &Path) -> Result<()> {
        let path = Self::path_for(burnpack);
        let json = serde_json::to_string_pretty(self).map_err(|e| Error::Serialization {
            path: path.clone(),
            what: "burnpack metadata",
            reason: e.to_string(),
        })?;
        write_file(&path, json.as_bytes())
    }

    /// Reads the metadata beside `burnpack`, `None` when there is none.
    pub fn load(burnpack: &Path) -> Result<Option<Self>> {
        let path = Self::path_for(burnpack);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Error::NotACheckpoint {
                    path,
                    reason: format!("unreadable burnpack metadata: {e}"),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io { path, source }),
        }
    }
}
