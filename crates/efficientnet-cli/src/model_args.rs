//! Building a model from `--model`, `--weights` and the override flags, shared by the
//! subcommands that load weights.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use clap::Args;
use efficientnet::preprocess::{EvalTransform, Interpolation};
use efficientnet::weights::{self, FileFormat, Layout, LoadOptions, WeightSet};
use efficientnet::{EfficientNet, EfficientNetConfig, ModelName, PaddingMode};

use crate::error::Result;

/// `--layout auto|torchvision|timm|lukemelas`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutArg(pub Option<Layout>);

impl std::str::FromStr for LayoutArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(LayoutArg(None));
        }
        s.parse::<Layout>()
            .map(|l| LayoutArg(Some(l)))
            .map_err(|e| e.to_string())
    }
}

/// The model and the weights to put in it.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Model name (timm name or alias: `efficientnet_b0`, `tf_efficientnet_lite0`, `v2_s`, ...).
    #[arg(long)]
    pub model: ModelName,
    /// Weight file: PyTorch `.pth`/`.pt`, `.safetensors` or Burn `.bpk`.
    #[arg(long)]
    pub weights: PathBuf,
    /// Key layout of the weight file: auto, torchvision, timm, lukemelas.
    #[arg(long, default_value = "auto")]
    pub layout: LayoutArg,
    /// Number of classes (default: read from the file's classifier, else 1000).
    #[arg(long)]
    pub num_classes: Option<usize>,
    /// Override the weight set's padding: symmetric or same.
    #[arg(long, value_parser = parse_padding)]
    pub padding: Option<PaddingMode>,
    /// Override the weight set's BatchNorm epsilon.
    #[arg(long)]
    pub bn_eps: Option<f64>,
    /// Keep a freshly initialised classifier when the file's has another size.
    #[arg(long)]
    pub new_head: bool,
}

/// Overrides of the weight set's eval transform.
#[derive(Debug, Args)]
pub struct TransformArgs {
    /// Shorter side after resizing.
    #[arg(long)]
    pub resize: Option<u32>,
    /// Center crop size.
    #[arg(long)]
    pub crop: Option<u32>,
    /// Resize filter: bilinear or bicubic.
    #[arg(long, value_parser = parse_interpolation)]
    pub interpolation: Option<Interpolation>,
    /// Channel means, `r,g,b` on the 0–1 scale.
    #[arg(long, value_parser = parse_triple)]
    pub mean: Option<[f32; 3]>,
    /// Channel standard deviations, `r,g,b`.
    #[arg(long, value_parser = parse_triple)]
    pub std: Option<[f32; 3]>,
}

impl TransformArgs {
    /// `base` with the given overrides.
    pub fn apply(&self, base: EvalTransform) -> EvalTransform {
        EvalTransform {
            resize: self.resize.unwrap_or(base.resize),
            crop: self.crop.unwrap_or(base.crop),
            interpolation: self.interpolation.unwrap_or(base.interpolation),
            mean: self.mean.unwrap_or(base.mean),
            std: self.std.unwrap_or(base.std),
        }
    }
}

fn parse_padding(s: &str) -> Result<PaddingMode, String> {
    match s.to_ascii_lowercase().as_str() {
        "symmetric" => Ok(PaddingMode::Symmetric),
        "same" | "tf_same" | "tf-same" => Ok(PaddingMode::TfSame),
        _ => Err(format!("unknown padding `{s}`; expected symmetric or same")),
    }
}

fn parse_interpolation(s: &str) -> Result<Interpolation, String> {
    match s.to_ascii_lowercase().as_str() {
        "bilinear" => Ok(Interpolation::Bilinear),
        "bicubic" => Ok(Interpolation::Bicubic),
        _ => Err(format!(
            "unknown interpolation `{s}`; expected bilinear or bicubic"
        )),
    }
}

fn parse_triple(s: &str) -> Result<[f32; 3], String> {
    let parts: Vec<f32> = s
        .split(',')
        .map(|p| p.trim().parse::<f32>().map_err(|e| format!("`{p}`: {e}")))
        .collect::<Result<_, _>>()?;
    <[f32; 3]>::try_from(parts)
        .map_err(|p| format!("expected 3 comma-separated numbers, got {}", p.len()))
}

/// A loaded model with the weight set it was configured for.
pub struct Loaded {
    /// The model, weights in.
    pub model: EfficientNet,
    /// The weight set's preset (layout, padding, eps, eval transform).
    pub weight_set: WeightSet,
    /// The config the model was built from.
    pub config: EfficientNetConfig,
    /// What the loader did.
    pub report: weights::LoadReport,
}

/// The tensors of a foreign weight file (`None` for a burnpack), the layout to read them as,
/// and the file's number of classes if its classifier tells.
type Source = (Option<Tensors>, Layout, Option<usize>);

/// Every tensor of a weight file by name.
type Tensors = BTreeMap<String, weights::FileTensor>;

/// Builds the model for `args` and loads its weights on `device`.
pub fn load(args: &ModelArgs, device: &Device) -> Result<Loaded> {
    let path: &Path = &args.weights;
    let (tensors, layout, file_classes) = read_source(args)?;
    let mut weight_set = WeightSet::preset(args.model, layout);
    let mut config = weight_set.configure(args.model.config());
    let mut meta_classes = None;
    if tensors.is_none() {
        meta_classes = apply_burnpack_meta(args, &mut weight_set, &mut config)?;
    }
    config = overrides(args, config).with_num_classes(
        args.num_classes
            .or(file_classes)
            .or(meta_classes)
            .unwrap_or(1000),
    );
    let model = config.try_init(device)?;
    let options = LoadOptions::default()
        .with_layout(args.layout.0)
        .with_new_head(args.new_head);
    let (model, report) = match tensors {
        None => weights::load_burnpack(model, path),
        Some(tensors) => {
            weights::load_tensors(model, &tensors, &options).map_err(|e| e.with_path(path))
        }
    }?;
    Ok(Loaded {
        model,
        weight_set,
        config,
        report,
    })
}

/// Reads the weight file's tensors (a burnpack is read later, straight into the model) and
/// finds their layout.
fn read_source(args: &ModelArgs) -> Result<Source> {
    let path: &Path = &args.weights;
    if FileFormat::detect(path)? == FileFormat::Burnpack {
        return Ok((None, args.layout.0.unwrap_or(Layout::Timm), None));
    }
    let tensors = weights::read_tensors(path)?;
    let (layout, _, classes) = weights::inspect(&tensors, args.layout.0).ok_or_else(|| {
        efficientnet::Error::UnknownLayout(format!(
            "{}: no EfficientNet stem found among its {} tensors",
            path.display(),
            tensors.len()
        ))
    })?;
    Ok((Some(tensors), layout, classes))
}

/// A burnpack holds weights only; its config and transform are in `<file>.json`. Puts them
/// into `weight_set` and `config` and returns the number of classes, or warns that the file
/// is missing and keeps the model's defaults.
fn apply_burnpack_meta(
    args: &ModelArgs,
    weight_set: &mut WeightSet,
    config: &mut EfficientNetConfig,
) -> Result<Option<usize>> {
    let path: &Path = &args.weights;
    let Some(meta) = weights::BurnpackMeta::load(path)? else {
        eprintln!(
            "warning: no {} beside the burnpack; using the defaults of `{}` (padding {:?}, \
             BN eps {})",
            weights::BurnpackMeta::path_for(path).display(),
            args.model,
            config.padding,
            config.bn_eps
        );
        return Ok(None);
    };
    weight_set.padding = meta.config.padding;
    weight_set.bn_eps = meta.config.bn_eps;
    weight_set.transform = meta.transform;
    let classes = meta.config.num_classes;
    *config = meta.config;
    Ok(Some(classes))
}

/// `config` with `--padding` and `--bn-eps` applied.
fn overrides(args: &ModelArgs, mut config: EfficientNetConfig) -> EfficientNetConfig {
    if let Some(padding) = args.padding {
        config = config.with_padding(padding);
    }
    if let Some(eps) = args.bn_eps {
        config = config.with_bn_eps(eps);
    }
    config
}
