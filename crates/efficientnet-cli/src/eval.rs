//! `efficientnet eval`: top-1, top-5, mean loss and images/s of a model over a labelled split
//! (class folders or the Kaggle ImageNet layout), with the weight set's own preprocessing.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use clap::Args;
use efficientnet::imagenet;
use efficientnet_train::data::{EvalSplit, eval_split};
use efficientnet_train::{ValidateOptions, Validation, validate};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::error::{CliError, Result};
use crate::model_args::{self, ModelArgs, TransformArgs};

/// Arguments of `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    transform: TransformArgs,
    /// Labelled images: `DIR/val/<class>/*`, `DIR/<class>/*`, or the Kaggle ImageNet layout
    /// (`LOC_synset_mapping.txt`, `LOC_val_solution.csv`, `ILSVRC/Data/CLS-LOC/val/`).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Images per forward pass.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Decoding threads [default: the number of cores].
    #[arg(long)]
    workers: Option<usize>,
    /// Write each class's images, top-1 and top-5 as CSV to this file.
    #[arg(long, value_name = "FILE")]
    per_class: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// What `eval --json` prints.
#[derive(Debug, Serialize)]
struct Report<'a> {
    model: String,
    weights: String,
    weight_set: &'a str,
    published_top1: Option<f64>,
    data: String,
    #[serde(flatten)]
    validation: &'a Validation,
}

/// Runs `eval`.
pub fn run(args: EvalArgs, device: &Device) -> Result<()> {
    if args.batch_size == 0 {
        return Err(CliError::Usage("--batch-size must be at least 1".into()));
    }
    let split = eval_split(&args.data)?;
    let loaded = model_args::load_for_inference(&args.model, device)?;
    let transform = args.transform.apply(loaded.weight_set.transform.clone());
    let outputs = model_outputs(&split, loaded.model.num_classes(), &args.data)?;
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let options = ValidateOptions {
        batch_size: args.batch_size,
        workers,
    };
    let bar = progress_bar(split.samples.len() as u64, args.json);
    let validation = validate(
        (&loaded.model, &transform, device),
        &split.samples,
        (&split.classes, &outputs),
        &options,
        &mut |done| bar.set_position(done as u64),
    );
    bar.finish_and_clear();
    if let Some(path) = &args.per_class {
        write_per_class(path, &validation)?;
    }
    let report = Report {
        model: args.model.model.to_string(),
        weights: args.model.weights.display().to_string(),
        weight_set: &loaded.weight_set.name,
        published_top1: loaded.weight_set.top1,
        data: args.data.display().to_string(),
        validation: &validation,
    };
    print_report(&report, args.json)?;
    for message in &validation.unreadable {
        eprintln!("unreadable: {message}");
    }
    match validation.unreadable.len() {
        0 => Ok(()),
        failed => Err(CliError::UnreadableImages {
            failed,
            total: split.samples.len(),
        }),
    }
}

/// For each class of `split`, the model output that stands for it: the ImageNet index of a
/// WordNet-id folder (or Kaggle mapping line) for a 1000-class model, else the class's own
/// position, which needs as many outputs as classes.
fn model_outputs(split: &EvalSplit, num_outputs: usize, data: &Path) -> Result<Vec<usize>> {
    if num_outputs == imagenet::NUM_CLASSES
        && let Some(wnids) = &split.wnids
    {
        let outputs: Option<Vec<usize>> =
            wnids.iter().map(|w| imagenet::class_of_wnid(w)).collect();
        if let Some(outputs) = outputs {
            return Ok(outputs);
        }
    }
    if split.classes.len() != num_outputs {
        return Err(CliError::Usage(format!(
            "{} has {} classes but the model has {num_outputs} outputs (class folders named by \
             ImageNet WordNet ids, e.g. n01440764, are scored against a 1000-class model's \
             ImageNet order)",
            data.display(),
            split.classes.len()
        )));
    }
    Ok((0..num_outputs).collect())
}

/// A progress bar on a terminal's stderr (hidden for `--json` and when not a terminal).
fn progress_bar(total: u64, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} images  {per_sec}  eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// The per-class CSV: `class,images,top1,top5` (percent).
fn write_per_class(path: &Path, validation: &Validation) -> Result<()> {
    let mut csv = String::from("class,images,top1,top5\n");
    for c in &validation.per_class {
        let percent = |n: usize| 100.0 * n as f64 / c.images.max(1) as f64;
        let name = c.class.replace('"', "\"\"");
        csv.push_str(&format!(
            "\"{name}\",{},{:.3},{:.3}\n",
            c.images,
            percent(c.top1_correct),
            percent(c.top5_correct)
        ));
    }
    std::fs::write(path, csv).map_err(|e| CliError::io(path, e))
}

/// The report as JSON or as a few lines of text.
fn print_report(report: &Report<'_>, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let v = report.validation;
    println!("model      {} ({})", report.model, report.weight_set);
    println!("data       {} ({} images)", report.data, v.images);
    println!("top-1      {:.3}%", v.top1);
    println!("top-5      {:.3}%", v.top5);
    println!("loss       {:.4}", v.loss);
    println!(
        "speed      {:.1} images/s ({:.1} s)",
        v.images_per_second, v.seconds
    );
    if let Some(top1) = report.published_top1 {
        println!("published  {top1:.3}% top-1 on ImageNet-1k val");
    }
    if !v.unreadable.is_empty() {
        println!(
            "unreadable {} images (listed on stderr)",
            v.unreadable.len()
        );
    }
    Ok(())
}
