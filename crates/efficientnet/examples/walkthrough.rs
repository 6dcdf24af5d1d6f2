//! One image's journey through a pretrained EfficientNet, step by step, with the real values at
//! each step: decoding, the weight set's preprocessing, the stem, every stage, the head
//! (1x1 conv and global average pool) and the classifier.
//!
//! ```sh
//! cargo run -p efficientnet --example walkthrough -- MODEL WEIGHTS IMAGE
//! cargo run -p efficientnet --example walkthrough -- lite0 efficientnet-lite0-57934424.pth \
//!     tests/fixtures/images/chelsea.jpg
//! ```
//!
//! It prints the file's format, size and colour type; the transform (resize, crop,
//! interpolation, mean/std), the input tensor's shape and per-channel mean/min/max after
//! normalisation; the stem's output shape; per stage its blocks, output shape and stride so
//! far; the head's feature map and the pooled feature vector (dimension, L2 norm, first
//! values); the logits' shape and the top-5 labels, checked against `model.forward`.

use std::path::Path;
use std::process::ExitCode;

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use efficientnet::arch::BlockKind;
use efficientnet::imagenet::{self, top_k};
use efficientnet::preprocess::{Interpolation, load_image};
use efficientnet::weights::Pretrained;
use efficientnet::{Activation, ModelName};

type Error = Box<dyn std::error::Error>;

/// A tensor's values as `f32`, in row-major order.
fn values<const D: usize>(x: Tensor<D>) -> Result<Vec<f32>, Error> {
    Ok(x.into_data().convert::<f32>().try_into_vec::<f32>()?)
}

/// Mean, min and max of `values`.
fn stats(values: &[f32]) -> (f32, f32, f32) {
    let (mut sum, mut min, mut max) = (0.0f64, f32::INFINITY, f32::NEG_INFINITY);
    for &v in values {
        sum += f64::from(v);
        min = min.min(v);
        max = max.max(v);
    }
    ((sum / values.len().max(1) as f64) as f32, min, max)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let (Some(model), Some(weights), Some(path), None) =
        (args.next(), args.next(), args.next(), args.next())
    else {
        return Err("usage: walkthrough MODEL WEIGHTS IMAGE".into());
    };
    let name: ModelName = model.parse()?;
    let device = Device::flex();
    let pretrained = Pretrained::open(&weights, name)?;
    let (model, report) = pretrained.init(&device)?;
    let set = &pretrained.weight_set;
    let layout = report
        .layout
        .map_or("burnpack".to_string(), |l| l.to_string());
    println!(
        "model    {}: weight set {} ({layout} layout)",
        pretrained.name, set.name
    );
    println!(
        "         {} tensors loaded, padding {:?}, BatchNorm eps {}, activation {}",
        report.loaded,
        set.padding,
        set.bn_eps,
        match pretrained.config.activation {
            Activation::Silu => "SiLU",
            Activation::Relu6 => "ReLU6",
        }
    );

    // 1. Decode: any JPEG/PNG/WebP, EXIF orientation applied.
    let format = image::ImageReader::open(&path)
        .and_then(|reader| reader.with_guessed_format())
        .map_err(|err| format!("{path}: {err}"))?
        .format()
        .map_or("unknown".to_string(), |f| format!("{f:?}"));
    let image = load_image(Path::new(&path))?;
    println!("\n1. decode");
    println!("   file     {path}");
    println!(
        "   image    {format}, {} x {}, colour type {:?}",
        image.width(),
        image.height(),
        image.color()
    );

    // 2. Preprocess: shorter side to `resize`, center crop `crop`, normalise.
    let transform = pretrained.transform();
    let (w, h) = (image.width(), image.height());
    let (rw, rh) = if w <= h {
        let other = f64::from(transform.resize) * f64::from(h) / f64::from(w);
        (transform.resize, other as u32) // truncated, as torchvision and the transform do
    } else {
        let other = f64::from(transform.resize) * f64::from(w) / f64::from(h);
        (other as u32, transform.resize)
    };
    let interpolation = match transform.interpolation {
        Interpolation::Bilinear => "bilinear",
        Interpolation::Bicubic => "bicubic",
    };
    let batch = transform.batch(std::slice::from_ref(&image), &device); // [1, 3, crop, crop]
    let [_, channels, height, width] = batch.dims();
    println!("\n2. preprocess (the weight set's evaluation transform)");
    println!(
        "   resize   shorter side to {} ({interpolation}): {w} x {h} -> {rw} x {rh}",
        transform.resize
    );
    println!("   crop     center {0} x {0}", transform.crop);
    println!(
        "   normalise (x - mean) / std on RGB in [0, 1], mean {:?}, std {:?}",
        transform.mean, transform.std
    );
    println!("   tensor   {:?}", batch.dims());
    let input = values(batch.clone())?;
    for (c, plane) in input.chunks(height * width).take(channels).enumerate() {
        let (mean, min, max) = stats(plane);
        let channel = ["R", "G", "B"].get(c).copied().unwrap_or("?");
        println!("            {channel}  mean {mean:>7.4}  min {min:>7.4}  max {max:>7.4}");
    }

    // 3. Stem: 3x3 conv, stride 2, BN, activation.
    let plan = model.plan();
    let mut x = model.stem.forward(batch.clone()); // [1, stem, crop / 2, crop / 2]
    let mut stride = 2;
    println!(
        "\n3. stem     3x3 conv stride 2 + BN + act -> {:?}",
        x.dims()
    );

    // 4. Stages: the first block of each carries the stride, the rest keep the shape.
    println!("\n4. stages");
    println!("   stage  blocks  kind         kernel  expand  SE   output              stride");
    for (index, (stage, blocks)) in model.stages.iter().zip(&plan.stages).enumerate() {
        let Some(first) = blocks.first() else {
            continue;
        };
        for block in &stage.blocks {
            x = block.forward(x); // [1, C_in, H, W] -> [1, C_out, ceil(H / s), ceil(W / s)]
        }
        stride *= blocks.iter().map(|b| b.stride).product::<usize>();
        let kind = match first.kind {
            BlockKind::MbConv => "MBConv",
            BlockKind::FusedMbConv => "Fused-MBConv",
        };
        let expand = first.mid_channels / first.in_channels.max(1);
        let se = if first.se_channels.is_some() {
            "yes"
        } else {
            "no"
        };
        println!(
            "   {index:>5}  {:>6}  {kind:<12} {:>3}x{:<3} {expand:>6}  {se:<3}  {:<18}  {stride:>6}",
            stage.blocks.len(),
            first.kernel,
            first.kernel,
            format!("{:?}", x.dims()),
        );
    }

    // 5. Head: 1x1 conv to the feature width, then global average pool (forward_pre_logits).
    let features = model.head.forward(x); // [1, head, crop / 32, crop / 32]
    let [n, head_channels, _, _] = features.dims();
    println!("\n5. head     1x1 conv + BN + act -> {:?}", features.dims());
    let pooled = features.mean_dim(3).mean_dim(2).reshape([n, head_channels]); // [1, head]
    let vector = values(pooled.clone())?;
    let norm = vector
        .iter()
        .map(|v| f64::from(*v).powi(2))
        .sum::<f64>()
        .sqrt();
    let first: Vec<String> = vector.iter().take(6).map(|v| format!("{v:.4}")).collect();
    println!("   pool     global average -> {:?}", pooled.dims());
    println!("   features dimension {}, L2 norm {norm:.4}", vector.len());
    println!("            first values [{}, ...]", first.join(", "));

    // 6. Classifier: linear layer to the class logits, softmax.
    let logits = model.forward_classifier(pooled); // [1, num_classes]
    println!(
        "\n6. classifier  linear {head_channels} -> {} -> logits {:?}",
        model.num_classes(),
        logits.dims()
    );
    let probs = values(softmax(logits.clone(), 1))?;
    println!("   top-5 (softmax)");
    for class in top_k(&probs, 5) {
        let label = imagenet::class_name(class).unwrap_or("?");
        println!("     {:>5.1}%  {class:>4}  {label}", 100.0 * probs[class]);
    }

    // The step-by-step logits are model.forward's (which may take a fused fast path).
    let stepwise = values(logits)?;
    let direct = values(model.forward(batch))?;
    let diff = stepwise
        .iter()
        .zip(&direct)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!("\n   same as model.forward(): max |logit difference| = {diff:.2e}");
    Ok(())
}
