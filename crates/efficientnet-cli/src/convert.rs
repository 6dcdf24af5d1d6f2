//! `efficientnet import` (foreign weights -> burnpack) and `export` (-> PyTorch safetensors).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use clap::Args;
use efficientnet::ModelName;
use efficientnet::weights::{self, Layout, Precision};

use crate::error::{CliError, Result};
use crate::model_args::{self, LayoutArg, ModelArgs};

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
    /// Key layout to write: torchvision, timm or lukemelas (V1 only).
    #[arg(long)]
    layout: Layout,
    /// Number of classes (default: from the input file, else 1000).
    #[arg(long)]
    num_classes: Option<usize>,
    /// Output safetensors file.
    #[arg(long)]
    out: PathBuf,
    /// Store weights as float16 (BatchNorm stays float32).
    #[arg(long)]
    half: bool,
    /// Overwrite an existing output file.
    #[arg(long)]
    force: bool,
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
    refuse_overwrite(&args.out, args.force)?;
    let model_args = ModelArgs {
        model: args.model,
        weights: args.weights.clone(),
        layout: LayoutArg(None),
        num_classes: args.num_classes,
        padding: None,
        bn_eps: None,
        new_head: false,
        weight_set: None,
    };
    let loaded = model_args::load(&model_args, device)?;
    let precision = if args.half {
        Precision::F16
    } else {
        Precision::F32
    };
    weights::export_safetensors(&loaded.model, args.layout, &args.out, precision)?;
    eprintln!(
        "exported {} ({} layout, {:?}) to {}",
        args.weights.display(),
        args.layout,
        precision,
        args.out.display()
    );
    Ok(())
}
