//! `efficientnet predict`: top-k ImageNet labels for images, or raw logits for an `.npy` batch.

use std::path::PathBuf;

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use efficientnet::imagenet::{self, top_k};
use efficientnet::preprocess::load_image;
use serde::Serialize;

use crate::model_args::{self, ModelArgs, TransformArgs};
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

#[derive(Debug, Serialize)]
struct Prediction {
    class: usize,
    label: String,
    probability: f32,
}

#[derive(Debug, Serialize)]
struct ImageResult {
    image: String,
    predictions: Vec<Prediction>,
}

fn label(index: usize, num_classes: usize) -> String {
    match imagenet::class_name(index) {
        Some(name) if num_classes == imagenet::NUM_CLASSES => name.to_owned(),
        _ => format!("class {index}"),
    }
}

/// Runs `predict`.
pub fn run(args: PredictArgs, device: &Device) -> Result<(), String> {
    let loaded = model_args::load(&args.model, device)?;
    let model = loaded.model;
    let num_classes = model.num_classes();

    if let Some(input) = &args.input {
        let (shape, values) = npy::read_f32(input)?;
        let [n, c, h, w] = <[usize; 4]>::try_from(shape.clone()).map_err(|_| {
            format!(
                "{}: expected a 4-d NCHW array, got shape {shape:?}",
                input.display()
            )
        })?;
        if c != loaded.config.in_channels || h < 32 || w < 32 || n == 0 {
            return Err(format!(
                "{}: shape {shape:?} does not fit the model (N >= 1, C = {}, H and W >= 32)",
                input.display(),
                loaded.config.in_channels
            ));
        }
        let x = Tensor::<4>::from_data(TensorData::new(values, [n, c, h, w]), device);
        let logits = model.forward(x);
        let out = logits.into_data().convert::<f32>();
        let values: Vec<f32> = out.iter::<f32>().collect();
        if let Some(path) = &args.save_logits {
            npy::write_f32(path, &[n, num_classes], &values)?;
            eprintln!("wrote logits [{n}, {num_classes}] to {}", path.display());
        }
        return Ok(());
    }

    let transform = args.transform.apply(loaded.weight_set.transform.clone());
    let mut failures = 0;
    let mut names = Vec::new();
    let mut batch = Vec::new();
    for path in &args.images {
        match load_image(path) {
            Ok(image) => {
                names.push(path.display().to_string());
                batch.push(image);
            }
            Err(e) => {
                eprintln!("error: {e}");
                failures += 1;
            }
        }
    }

    let mut results = Vec::new();
    let mut all_logits = Vec::new();
    const CHUNK: usize = 16;
    for (chunk, images) in names.chunks(CHUNK).zip(batch.chunks(CHUNK)) {
        let logits = model.forward(transform.batch(images, device)); // [n, classes]
        all_logits.extend(logits.clone().into_data().convert::<f32>().iter::<f32>());
        let probs = softmax(logits, 1).into_data().convert::<f32>();
        let probs: Vec<f32> = probs.iter::<f32>().collect();
        for (name, row) in chunk.iter().zip(probs.chunks(num_classes)) {
            results.push(ImageResult {
                image: name.clone(),
                predictions: top_k(row, args.top_k)
                    .into_iter()
                    .map(|class| Prediction {
                        class,
                        label: label(class, num_classes),
                        probability: row[class],
                    })
                    .collect(),
            });
        }
    }
    if let Some(path) = &args.save_logits {
        npy::write_f32(path, &[names.len(), num_classes], &all_logits)?;
    }

    if args.json {
        let text = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        for result in &results {
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
    match failures {
        0 => Ok(()),
        n => Err(format!(
            "{n} of {} images could not be read",
            args.images.len()
        )),
    }
}
