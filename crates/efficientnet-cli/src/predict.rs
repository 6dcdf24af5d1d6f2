//! `efficientnet predict`: top-k ImageNet labels for images, or raw logits for an `.npy` batch.

use std::path::{Path, PathBuf};

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use efficientnet::EfficientNet;
use efficientnet::imagenet::{self, top_k};
use efficientnet::preprocess::load_image;
use serde::Serialize;

use crate::error::{CliError, Result};
use crate::model_args::{self, Loaded, ModelArgs, TransformArgs};
use crate::npy;

/// Arguments of `predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    transform: TransformArgs,
    /// Images to classify (JPEG, PNG, WebP; any size and colour type).
    #[arg(required_unless_present = "input", conflicts_with = "input")]
    images: Vec<PathBuf>,
    /// Preprocessed float32 NCHW batch (`.npy`) instead of images.
    #[arg(long, requires = "save_logits")]
    input: Option<PathBuf>,
    /// Write the logits `[N, num_classes]` as float32 `.npy`.
    #[arg(long)]
    save_logits: Option<PathBuf>,
    /// How many classes to list per image.
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One class of an image's top k (as `predict --json` and `serve` write it).
#[derive(Debug, Serialize)]
pub struct Prediction {
    /// Class index.
    pub class: usize,
    /// ImageNet label, or `class {index}` for another number of classes.
    pub label: String,
    /// Softmax probability.
    pub probability: f32,
}

/// An image's top-k classes.
#[derive(Debug, Serialize)]
struct ImageResult {
    image: String,
    predictions: Vec<Prediction>,
}

/// The ImageNet label of class `index`, or `class {index}` for another number of classes.
fn label(index: usize, num_classes: usize) -> String {
    match imagenet::class_name(index) {
        Some(name) if num_classes == imagenet::NUM_CLASSES => name.to_owned(),
        _ => format!("class {index}"),
    }
}

/// Runs `predict`: raw logits for `--input`, else the top-k classes of every image.
pub fn run(args: PredictArgs, device: &Device) -> Result<()> {
    let loaded = model_args::load_for_inference(&args.model, device)?;
    match &args.input {
        Some(input) => save_logits(&loaded, input, args.save_logits.as_deref(), device),
        None => classify(&args, &loaded, device),
    }
}

/// The raw path: a preprocessed NCHW batch from `input` through the model, the logits to
/// `out`.
fn save_logits(loaded: &Loaded, input: &Path, out: Option<&Path>, device: &Device) -> Result<()> {
    let (shape, values) = npy::read_f32(input)?;
    let [n, c, h, w] = nchw(input, &shape, loaded.config.in_channels)?;
    let x = Tensor::<4>::from_data(TensorData::new(values, [n, c, h, w]), device);
    let logits = loaded.model.forward(x);
    let out_data = logits.into_data().convert::<f32>();
    let values: Vec<f32> = out_data.iter::<f32>().collect();
    if let Some(path) = out {
        let num_classes = loaded.model.num_classes();
        npy::write_f32(path, &[n, num_classes], &values)?;
        eprintln!("wrote logits [{n}, {num_classes}] to {}", path.display());
    }
    Ok(())
}

/// `shape` as `[N, C, H, W]` if it fits a model of `channels` input channels.
fn nchw(input: &Path, shape: &[usize], channels: usize) -> Result<[usize; 4]> {
    let [n, c, h, w] = <[usize; 4]>::try_from(shape).map_err(|_| {
        CliError::npy(
            input,
            format!("expected a 4-d NCHW array, got shape {shape:?}"),
        )
    })?;
    if c != channels || h < 32 || w < 32 || n == 0 {
        return Err(CliError::npy(
            input,
            format!(
                "shape {shape:?} does not fit the model (N >= 1, C = {channels}, H and W >= 32)"
            ),
        ));
    }
    Ok([n, c, h, w])
}

/// The image path: top-k labels of every readable image, printed; an error at the end if
/// some images could not be read.
fn classify(args: &PredictArgs, loaded: &Loaded, device: &Device) -> Result<()> {
    let transform = args.transform.apply(loaded.weight_set.transform.clone());
    let (names, images) = read_images(&args.images, load_image);
    let batch = |chunk: &[_]| transform.batch(chunk, device);
    let (results, logits) = predict_images(&loaded.model, &names, &images, batch, args.top_k);
    if let Some(path) = &args.save_logits {
        npy::write_f32(path, &[names.len(), loaded.model.num_classes()], &logits)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print_table(&results);
    }
    match args.images.len() - names.len() {
        0 => Ok(()),
        failed => Err(CliError::UnreadableImages {
            failed,
            total: args.images.len(),
        }),
    }
}

/// The images `load` decodes, with their names; each one it cannot is reported on stderr.
fn read_images<I>(
    paths: &[PathBuf],
    load: impl Fn(&Path) -> efficientnet::Result<I>,
) -> (Vec<String>, Vec<I>) {
    let mut names = Vec::new();
    let mut images = Vec::new();
    for path in paths {
        match load(path) {
            Ok(image) => {
                names.push(path.display().to_string());
                images.push(image);
            }
            Err(e) => eprintln!("error: {e}"),
        }
    }
    (names, images)
}

/// The model on `images` in batches of 16 (preprocessed by `batch`): the top `k` classes of
/// each image, and every image's logits, row after row.
fn predict_images<I>(
    model: &EfficientNet,
    names: &[String],
    images: &[I],
    batch: impl Fn(&[I]) -> Tensor<4>,
    k: usize,
) -> (Vec<ImageResult>, Vec<f32>) {
    const CHUNK: usize = 16;
    let num_classes = model.num_classes();
    let mut results = Vec::new();
    let mut all_logits = Vec::new();
    for (chunk, images) in names.chunks(CHUNK).zip(images.chunks(CHUNK)) {
        let logits = model.forward(batch(images)); // [n, classes]
        all_logits.extend(logits.clone().into_data().convert::<f32>().iter::<f32>());
        let probs = softmax(logits, 1).into_data().convert::<f32>();
        let probs: Vec<f32> = probs.iter::<f32>().collect();
        for (name, row) in chunk.iter().zip(probs.chunks(num_classes)) {
            results.push(ImageResult {
                image: name.clone(),
                predictions: top_predictions(row, k, num_classes),
            });
        }
    }
    (results, all_logits)
}

/// The `k` most probable classes of one image's probabilities.
pub fn top_predictions(row: &[f32], k: usize, num_classes: usize) -> Vec<Prediction> {
    top_k(row, k)
        .into_iter()
        .map(|class| Prediction {
            class,
            label: label(class, num_classes),
            probability: row[class],
        })
        .collect()
}

/// Each image's name, then its ranked classes with probabilities.
fn print_table(results: &[ImageResult]) {
    for result in results {
        println!("{}", result.image);
        for (rank, p) in result.predictions.iter().enumerate() {
            println!(
                "  {:>2}. {:>5.1}%  {:<4} {}",
                rank + 1,
                100.0 * p.probability,
                p.class,
                p.label
            );
        }
    }
}
