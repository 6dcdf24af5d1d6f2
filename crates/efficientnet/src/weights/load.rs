//! The strict copy of a state dict into a model ([`load_tensors`]), its options and report, and
//! [`inspect`] (what a state dict holds).

use std::collections::{BTreeMap, HashMap, HashSet};

use burn::tensor::{Tensor, TensorData};

use super::layout::Layout;
use super::read::{FileFormat, FileTensor};
use super::transpose::transpose;
use crate::arch::ArchPlan;
use crate::error::{Error, Result, WeightMismatch};
use crate::model::EfficientNet;
use crate::tensors::{ParamRole, float_tensors, map_float_tensors};

/// How [`load_weights`](super::load_weights) treats the file.
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

/// What [`load_weights`](super::load_weights) did.
#[derive(Clone, Debug)]
pub struct LoadReport {
    /// The layout used (`None` for a burnpack, which holds this crate's own names).
    pub layout: Option<Layout>,
    /// The container format of the file; `None` from [`load_tensors`], which is given the
    /// tensors, not the file.
    pub format: Option<FileFormat>,
    /// Prefix stripped from the file's keys (`""`, `"module."`, `"state_dict."`, ...).
    pub prefix: String,
    /// Tensors copied into the model.
    pub loaded: usize,
    /// Our parameters left freshly initialised (the classifier with `new_head`).
    pub reinitialized: Vec<String>,
    /// File tensors outside the model's prefix (e.g. optimizer state in a training checkpoint).
    pub ignored: usize,
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

/// Copies `tensors` (a PyTorch state dict by name) into `model`.
///
/// Strict: every parameter of the model must be in `tensors` with the right shape, and every
/// tensor under the model's key prefix must be used (`num_batches_tracked` excepted). All
/// problems are listed in one [`Error::WeightMismatch`]. The report's `format` is `None`.
pub fn load_tensors(
    model: EfficientNet,
    tensors: &BTreeMap<String, FileTensor>,
    options: &LoadOptions,
) -> Result<(EfficientNet, LoadReport)> {
    let (layout, prefix) = choose_layout(tensors, options.layout)?;
    let lookup = Lookup {
        tensors,
        layout,
        prefix: &prefix,
        plan: model.plan(),
        new_head: options.new_head,
    };
    let mut matched = lookup.match_all(parameter_shapes(&model));
    let ignored = list_unexpected(tensors, &prefix, &matched.used, &mut matched.mismatch);
    if !matched.mismatch.is_empty() {
        matched.mismatch.layout = layout.name().to_owned();
        return Err(Error::WeightMismatch {
            path: None,
            mismatch: Box::new(matched.mismatch),
        });
    }
    let loaded = matched.values.len();
    let report = LoadReport {
        layout: Some(layout),
        format: None,
        prefix,
        loaded,
        reinitialized: matched.reinitialized,
        ignored,
    };
    Ok((copy_in(model, matched.values), report))
}

/// The layout to read `tensors` with, and their key prefix: the forced layout (with the
/// detected prefix when detection agrees, else none) or the detected one.
fn choose_layout(
    tensors: &BTreeMap<String, FileTensor>,
    forced: Option<Layout>,
) -> Result<(Layout, String)> {
    let keys = || tensors.keys().map(String::as_str);
    match (forced, Layout::detect(keys())) {
        (Some(forced), Some((detected, prefix))) if forced == detected => Ok((forced, prefix)),
        (Some(forced), _) => Ok((forced, String::new())),
        (None, Some(found)) => Ok(found),
        (None, None) => Err(Error::UnknownLayout(format!(
            "no stem convolution found among the file's {} tensors (first: {}); \
             expected torchvision `features.0.0.weight`, timm `conv_stem.weight` or \
             lukemelas `_conv_stem.weight`",
            tensors.len(),
            keys().take(5).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Our parameters: `(path, shape)` in module order, BN running statistics included.
fn parameter_shapes(model: &EfficientNet) -> Vec<(String, Vec<usize>)> {
    float_tensors(model)
        .into_iter()
        .map(|t| (t.path, t.shape))
        .collect()
}

/// The model's parameters looked up in one state dict (`'f`: the file's tensors).
struct Lookup<'f, 'a> {
    /// The state dict.
    tensors: &'f BTreeMap<String, FileTensor>,
    /// Its layout.
    layout: Layout,
    /// Its key prefix.
    prefix: &'a str,
    /// The model's structure.
    plan: &'a ArchPlan,
    /// Whether the classifier may stay freshly initialised.
    new_head: bool,
}

/// What became of one parameter of the model.
enum Fate {
    /// Its values, in the model's layout, flattened.
    Loaded(TensorData),
    /// Left freshly initialised (the classifier with `new_head`).
    Reinitialized,
    /// The layout has no name for it.
    Unrepresentable,
    /// Its key is not in the file.
    Missing(String),
    /// `(key, expected shape, shape in the file)`.
    MisShaped(String, Vec<usize>, Vec<usize>),
}

/// Every parameter's fate, gathered.
#[derive(Default)]
struct Matched<'f> {
    /// Values to copy in, by parameter path.
    values: HashMap<String, TensorData>,
    /// The file's keys some parameter used.
    used: HashSet<&'f str>,
    /// Parameters left freshly initialised.
    reinitialized: Vec<String>,
    /// Everything that does not fit (its `unexpected` list comes later).
    mismatch: WeightMismatch,
}

impl<'f> Lookup<'f, '_> {
    /// The fates of `params`, in their order.
    fn match_all(&self, params: Vec<(String, Vec<usize>)>) -> Matched<'f> {
        let mut matched = Matched::default();
        for (path, shape) in params {
            match self.fate(&path, &shape, &mut matched.used) {
                Fate::Loaded(data) => {
                    matched.values.insert(path, data);
                }
                Fate::Reinitialized => matched.reinitialized.push(path),
                Fate::Unrepresentable => matched.mismatch.unrepresentable.push(path),
                Fate::Missing(key) => matched.mismatch.missing.push(key),
                Fate::MisShaped(key, expected, found) => {
                    matched.mismatch.mis_shaped.push((key, expected, found))
                }
            }
        }
        matched
    }

    /// The fate of the parameter at `path` of `shape`; its file key, when found, goes to `used`.
    fn fate(&self, path: &str, shape: &[usize], used: &mut HashSet<&'f str>) -> Fate {
        let Some(key) = self.layout.key(self.plan, path) else {
            return Fate::Unrepresentable;
        };
        let full = format!("{}{key}", self.prefix);
        let role = ParamRole::of(path);
        // PyTorch's shape: the classifier's weight is transposed there.
        let expected: Vec<usize> = if role.linear_weight() {
            shape.iter().rev().copied().collect()
        } else {
            shape.to_vec()
        };
        let may_reinitialize = role.classifier && self.new_head;
        let Some((file_key, t)) = self.tensors.get_key_value(&full) else {
            return if may_reinitialize {
                Fate::Reinitialized
            } else {
                Fate::Missing(full)
            };
        };
        used.insert(file_key.as_str());
        match &t.values {
            Some(values) if t.shape == expected => {
                Fate::Loaded(in_model_layout(values, &expected, role))
            }
            _ if t.shape != expected && may_reinitialize => Fate::Reinitialized,
            _ => Fate::MisShaped(full, expected, t.shape.clone()),
        }
    }
}

/// A file tensor's `values` of PyTorch shape `shape` in our layout, flattened: the classifier's
/// weight transposed back to Burn's `[in, out]`, everything else as is.
fn in_model_layout(values: &[f32], shape: &[usize], role: ParamRole) -> TensorData {
    let values = if role.linear_weight() {
        transpose(values, shape[0], shape[1])
    } else {
        values.to_vec()
    };
    let n = values.len();
    TensorData::new(values, [n])
}

/// Lists the file's keys under `prefix` that no parameter `used` as unexpected (PyTorch's
/// `num_batches_tracked` counters excepted); returns how many keys lie outside `prefix`.
fn list_unexpected(
    tensors: &BTreeMap<String, FileTensor>,
    prefix: &str,
    used: &HashSet<&str>,
    mismatch: &mut WeightMismatch,
) -> usize {
    let mut ignored = 0;
    for key in tensors.keys() {
        if !key.starts_with(prefix) {
            ignored += 1;
        } else if !key.ends_with("num_batches_tracked") && !used.contains(key.as_str()) {
            mismatch.unexpected.push(key.clone());
        }
    }
    ignored
}

/// `model` with the parameters named in `values` replaced, each on its own device.
fn copy_in(model: EfficientNet, mut values: HashMap<String, TensorData>) -> EfficientNet {
    map_float_tensors(model, |path, current| {
        values
            .remove(path)
            .map(|data| Tensor::from_data(data, &current.device()))
    })
}
