//! `efficientnet import` (foreign weights -> burnpack) and `export` (-> PyTorch safetensors, or
//! an ONNX graph through `onnx_export`).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use clap::Args;
use efficientnet::ModelName;
use efficientnet::weights::{self, Layout, Precision};

use crate::error::{CliError, Result};
use crate::model_args::{self, LayoutArg, ModelArgs};
use crate::onnx_export::{self, OnnxArgs};

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Output burnpack file (`.bpk`).
    #[arg(long)]
    out: PathBuf,
    /// Overwrite an existing output file.
    #[arg(long)]
    force: bool,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Model name.
    #[arg(long)]
    model: ModelName,
    /// Weights to export: a burnpack, or any file `import` reads.
    #[arg(long)]
    weights: PathBuf,
    /// Output format: safetensors (weights in a PyTorch layout) or onnx (the inference
    /// graph); default: onnx for an `.onnx` output file, else safetensors.
    #[arg(long, value_enum)]
    format: Option<ExportFormat>,
    /// Key layout to write (safetensors): torchvision, timm or lukemelas (V1 only).
    #[arg(long)]
    layout: Option<Layout>,
    /// Number of classes (default: from the input file, else 1000).
    #[arg(long)]
    num_classes: Option<usize>,
    /// Another of the model's weight sets than the file's default (the preprocessing an ONNX
    /// export records; `efficientnet info --model M` lists them).
    #[arg(long, value_name = "NAME")]
    weight_set: Option<String>,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Store weights as float16 (safetensors; BatchNorm stays float32).
    #[arg(long)]
    half: bool,
    #[command(flatten)]
    onnx: OnnxArgs,
    /// Overwrite an existing output file.
    #[arg(long)]
    force: bool,
}

/// What `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Weights in a PyTorch key layout (`--layout`).
    Safetensors,
    /// An ONNX graph of the inference network.
    Onnx,
}

impl ExportArgs {
    /// `--format`, or the one `--out`'s extension implies.
    fn format(&self) -> ExportFormat {
        self.format.unwrap_or_else(|| {
            let onnx = self
                .out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
            if onnx {
                ExportFormat::Onnx
            } else {
                ExportFormat::Safetensors
            }
        })
    }

    /// Refuses the flags of the other format.
    fn check_flags(&self, format: ExportFormat) -> Result<()> {
        let misplaced = match format {
            ExportFormat::Onnx => [(self.layout.is_some(), "--layout"), (self.half, "--half")]
                .into_iter()
                .find(|(set, _)| *set),
            ExportFormat::Safetensors => self.onnx.first_set_flag().map(|flag| (true, flag)),
        };
        match misplaced {
            Some((_, flag)) => Err(CliError::Usage(format!(
                "{flag} does not apply to --format {}",
                format_name(format)
            ))),
            None => Ok(()),
        }
    }
}

fn format_name(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Safetensors => "safetensors",
        ExportFormat::Onnx => "onnx",
    }
}

/// Refuses to replace `out` unless `--force` is given.
fn refuse_overwrite(out: &Path, force: bool) -> Result<()> {
    if out.exists() && !force {
        return Err(CliError::Exists(out.to_path_buf()));
    }
    Ok(())
}

/// Runs `import`.
pub fn import(args: ImportArgs, device: &Device) -> Result<()> {
    refuse_overwrite(&args.out, args.force)?;
    let loaded = model_args::load(&args.model, device)?;
    weights::save_burnpack(&loaded.model, &args.out)?;
    weights::BurnpackMeta::new(loaded.config.clone(), &loaded.weight_set).save(&args.out)?;
    eprintln!(
        "imported {} tensors ({} layout) from {} into {} (config and eval transform in {})",
        loaded.report.loaded,
        loaded
            .report
            .layout
            .map_or_else(|| "burnpack".to_owned(), |l| l.to_string()),
        args.model.weights.display(),
        args.out.display(),
        weights::BurnpackMeta::path_for(&args.out).display()
    );
    Ok(())
}

/// Runs `export`.
pub fn export(args: ExportArgs, device: &Device) -> Result<()> {
    let format = args.format();
    args.check_flags(format)?;
    let layout = match (format, args.layout) {
        (ExportFormat::Safetensors, None) => {
            return Err(CliError::Usage(
                "--format safetensors needs --layout torchvision|timm|lukemelas".into(),
            ));
        }
        (_, layout) => layout,
    };
    refuse_overwrite(&args.out, args.force)?;
    let model_args = ModelArgs {
        model: args.model,
        weights: args.weights.clone(),
        layout: LayoutArg(None),
        num_classes: args.num_classes,
        padding: None,
        bn_eps: None,
        new_head: false,
        weight_set: args.weight_set.clone(),
    };
    let loaded = model_args::load(&model_args, device)?;
    let Some(layout) = layout else {
        return onnx_export::write(&args.onnx, &loaded, args.model, &args.out);
    };
    let precision = if args.half {
        Precision::F16
    } else {
        Precision::F32
    };
    weights::export_safetensors(&loaded.model, layout, &args.out, precision)?;
    eprintln!(
        "exported {} ({} layout, {:?}) to {}",
        args.weights.display(),
        layout,
        precision,
        args.out.display()
    );
    Ok(())
}
