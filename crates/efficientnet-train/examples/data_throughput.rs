//! Throughput of the data pipeline alone (decode or draw + augment + stack), on one thread.
//!
//! ```sh
//! cargo run -p efficientnet-train --example data_throughput -- [JPEG]
//! ```
//! Without a JPEG it uses `tests/fixtures/images/chelsea.jpg` (451x300).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::Device;
use efficientnet::preprocess::EvalTransform;
use efficientnet_train::data::BatchPosition;
use efficientnet_train::data::{BadFiles, ImageBatcher, ImageSource, Mode, Sample, TrainTransform};

fn measure(name: &str, batcher: &ImageBatcher, samples: &[Sample], device: &Device) {
    let at = |index| BatchPosition {
        seed: 1,
        epoch: 1,
        index,
    };
    batcher.batch(&samples[..8], at(0), device); // warm-up
    let started = Instant::now();
    for (index, chunk) in samples.chunks(32).enumerate() {
        batcher.batch(chunk, at(index), device);
    }
    let rate = samples.len() as f64 / started.elapsed().as_secs_f64();
    println!("{name:<44} {rate:>8.1} images/s per thread");
}

fn main() {
    let device = Device::flex();
    let jpeg = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/images/chelsea.jpg")
        });
    let bad = Arc::new(BadFiles::default());
    let files: Vec<Sample> = (0..256)
        .map(|_| Sample {
            source: ImageSource::File(jpeg.clone()),
            label: 0,
        })
        .collect();
    let synthetic: Vec<Sample> = (0..1024)
        .map(|index| Sample {
            source: ImageSource::Synthetic {
                seed: 1,
                index,
                size: 74,
            },
            label: 0,
        })
        .collect();
    let train =
        |size, scale| ImageBatcher::new(Mode::Train(TrainTransform::new(size, scale)), bad.clone());
    measure(
        "JPEG decode + RandomResizedCrop 224 + flip",
        &train(224, 0.08),
        &files,
        &device,
    );
    measure(
        "JPEG decode + resize 256 + center crop 224",
        &ImageBatcher::new(Mode::Eval(EvalTransform::crop_pct(224, 0.875)), bad.clone()),
        &files,
        &device,
    );
    measure(
        "synthetic 74 px + RandomResizedCrop 64 + flip",
        &train(64, 0.5),
        &synthetic,
        &device,
    );
}
