//! Building a model from `--model`, `--weights` and the override flags, shared by the
//! subcommands that load weights.

use std::path::PathBuf;

use burn::tensor::Device;
use clap::Args;
use efficientnet::preprocess::{EvalTransform, Interpolation};
use efficientnet::weights::{self, Layout, Pretrained, WeightSet};
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
    /// Another of the model's weight sets in the file's layout than the default (its name or
    /// tag, e.g. `IMAGENET1K_V2`; `efficientnet info --model M` lists them).
    #[arg(long, value_name = "NAME")]
    pub weight_set: Option<String>,
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
    /// The weight set (layout, padding, eps, eval transform), as the file was opened.
    pub weight_set: WeightSet,
    /// The config the model was built from (the weight set's with the overrides).
    pub config: EfficientNetConfig,
    /// What the loader did.
    pub report: weights::LoadReport,
}

/// Opens `args.weights` as `args.model` (the one pretrained opener, with `--layout` and
/// `--weight-set`), warning on stderr where the library says to.
pub fn open(args: &ModelArgs) -> Result<Pretrained> {
    let mut pretrained = Pretrained::open_as(&args.weights, args.model, args.layout.0)?;
    if let Some(set) = &args.weight_set {
        pretrained = pretrained.with_weight_set(set)?;
    }
    if let Some(warning) = &pretrained.warning {
        eprintln!("warning: {warning}");
    }
    Ok(pretrained)
}

/// Builds the model for `args` and loads its weights on `device`.
pub fn load(args: &ModelArgs, device: &Device) -> Result<Loaded> {
    let pretrained = open(args)?;
    let config = overrides(args, pretrained.config.clone());
    let (model, report) = pretrained.init_with(&config, device, args.new_head)?;
    Ok(Loaded {
        model,
        weight_set: pretrained.weight_set,
        config,
        report,
    })
}

/// [`load`], then every BatchNorm folded into its convolution ([`EfficientNet::fuse`]): for
/// the commands that only run inference (`predict`, `eval`, `serve`), which then take the fast
/// inference path on flex and one op less per layer elsewhere (same outputs to float
/// rounding).
pub fn load_for_inference(args: &ModelArgs, device: &Device) -> Result<Loaded> {
    let mut loaded = load(args, device)?;
    loaded.model = loaded.model.fuse();
    Ok(loaded)
}

/// `config` with `--padding`, `--bn-eps` and `--num-classes` applied.
fn overrides(args: &ModelArgs, mut config: EfficientNetConfig) -> EfficientNetConfig {
    if let Some(padding) = args.padding {
        config = config.with_padding(padding);
    }
    if let Some(eps) = args.bn_eps {
        config = config.with_bn_eps(eps);
    }
    if let Some(classes) = args.num_classes {
        config = config.with_num_classes(classes);
    }
    config
}
