//! Fine-tune a pretrained EfficientNet on a class-per-folder dataset (`DATA/train/<class>/*`,
//! `DATA/val/<class>/*`): the ImageNet classifier is replaced by one for the dataset's classes,
//! which trains alone for the first epoch (backbone frozen), then the whole network trains.
//!
//! ```sh
//! cargo run -p efficientnet-train --example finetune -- MODEL WEIGHTS DATA OUT [EPOCHS]
//! # A small dataset to try it on, written as PNG files (six shapes, 80 + 20 per class):
//! cargo run -p efficientnet-train --example finetune -- --write-demo-data shapes
//! cargo run -p efficientnet-train --example finetune -- lite0 efficientnet-lite0-57934424.pth \
//!     shapes runs/finetune
//! ```

use std::path::Path;

use burn::tensor::Device;
use efficientnet_train::synthetic::{CLASSES, render};
use efficientnet_train::{OptimizerKind, TrainConfig, train};

/// Writes `DIR/{train,val}/<shape>/<i>.png` from the built-in synthetic shapes.
fn write_demo_data(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    for (split, count, seed) in [("train", 480, 7), ("val", 120, 8)] {
        for index in 0..count {
            let (image, label) = render(seed, index, 144);
            let folder = dir.join(split).join(CLASSES[label]);
            std::fs::create_dir_all(&folder)?;
            image.save(folder.join(format!("{index}.png")))?;
        }
    }
    println!("wrote {}/{{train,val}}/<shape>/*.png", dir.display());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, dir] = args.as_slice()
        && flag == "--write-demo-data"
    {
        return write_demo_data(Path::new(dir));
    }
    let (model, weights, data, out, epochs) = match args.as_slice() {
        [m, w, d, o] => (m, w, d, o, 2),
        [m, w, d, o, e] => (m, w, d, o, e.parse()?),
        _ => {
            return Err(
                "usage: finetune MODEL WEIGHTS DATA OUT [EPOCHS] | --write-demo-data DIR".into(),
            );
        }
    };
    let config = TrainConfig::new(model.clone())
        .with_pretrained(Some(weights.clone()))
        .with_data(Some(data.clone()))
        .with_epochs(epochs)
        .with_freeze_epochs(1)
        .with_image_size(96)
        .with_batch_size(16)
        // A pretrained network wants small steps: AdamW at 1e-3, a short warmup.
        .with_optimizer(OptimizerKind::AdamW)
        .with_lr(Some(1e-3))
        .with_warmup_epochs(0.3)
        .with_weight_decay(0.05)
        .with_min_crop_scale(0.35);
    let summary = train(&config, Path::new(out), &Device::flex(), false)?;
    println!(
        "fine-tuned {} for {} epochs: validation top-1 {:.1}% (best {:.1}% at epoch {}), {:.0} s; model in {}",
        summary.model,
        summary.epochs,
        summary.final_top1,
        summary.best_top1,
        summary.best_epoch,
        summary.wall_seconds,
        summary.model_file
    );
    Ok(())
}
