//! The batcher: decodes (or draws), transforms and stacks samples into a batch on the loader's
//! worker threads.

use std::sync::{Arc, Mutex};

use burn::tensor::{Device, Int, Tensor, TensorData};
use efficientnet::preprocess::{EvalTransform, load_image};
use image::DynamicImage;

use crate::augment::TrainTransform;
use crate::bad_files::BadFiles;
use crate::dataset::{ImageSource, Sample};
use crate::mix::MixConfig;
use crate::random::{BatchPosition, Stream};
use crate::synthetic;

/// A batch of images and labels.
#[derive(Clone, Debug)]
pub struct ImageBatch {
    /// `[N, 3, H, W]`, normalised.
    pub images: Tensor<4>,
    /// `[N]` class indices.
    pub targets: Tensor<1, Int>,
    /// Mixup/CutMix: each image `i` was blended with image `N - 1 - i`; the loss is
    /// `lam * CE(targets) + (1 - lam) * CE(partner_targets)`.
    pub mix: Option<Mix>,
    /// Where the batch sits in the run (its epoch, index and seeds).
    pub position: BatchPosition,
}

/// How a batch was mixed (see [`ImageBatch::mix`]).
#[derive(Clone, Debug)]
pub struct Mix {
    /// `[N]` labels of the blended-in partners (the batch reversed).
    pub partner_targets: Tensor<1, Int>,
    /// Weight of each image's own label.
    pub lam: f32,
}

/// A transformed image (`[3, side, side]` values) and its label.
type TransformedSample = (Vec<f32>, i64);

/// Train or eval preprocessing of a batcher.
#[derive(Clone, Debug)]
pub enum Mode {
    /// Random augmentation.
    Train(TrainTransform),
    /// Deterministic resize + center crop.
    Eval(EvalTransform),
}

/// Decodes (or draws), transforms and stacks samples. Undecodable files are skipped and
/// recorded in [`BadFiles`]; the batch holds the surviving samples. A batch whose every file
/// failed repeats the last good sample this batcher produced (a zero image before any), so a
/// step never sees an empty batch.
#[derive(Clone, Debug)]
pub struct ImageBatcher {
    /// Preprocessing.
    pub mode: Mode,
    /// Where decoding failures go.
    pub bad_files: Arc<BadFiles>,
    /// The last successfully transformed sample.
    last_good: Arc<Mutex<Option<TransformedSample>>>,
    /// Batch mixing (training only).
    pub mix: Option<MixConfig>,
}

impl ImageBatcher {
    /// A batcher with `mode` reporting failures to `bad_files`.
    pub fn new(mode: Mode, bad_files: Arc<BadFiles>) -> Self {
        Self {
            mode,
            bad_files,
            last_good: Arc::default(),
            mix: None,
        }
    }

    fn side(&self) -> usize {
        match &self.mode {
            Mode::Train(t) => t.size as usize,
            Mode::Eval(t) => t.crop as usize,
        }
    }
}

impl ImageBatcher {
    fn decode(&self, sample: &Sample) -> Option<DynamicImage> {
        match &sample.source {
            ImageSource::File(path) => match load_image(path) {
                Ok(image) => Some(image),
                Err(e) => {
                    self.bad_files.record(e.to_string());
                    None
                }
            },
            ImageSource::Synthetic { seed, index, size } => Some(DynamicImage::ImageRgb8(
                synthetic::render(*seed, *index, *size).0,
            )),
        }
    }
}

impl ImageBatcher {
    /// Decodes, transforms and stacks `items`; the training transform and mixing draw from
    /// `position`'s augmentation stream, so a batch depends only on its items and position.
    pub fn batch(&self, items: &[Sample], position: BatchPosition, device: &Device) -> ImageBatch {
        let mut rng = position.rng(Stream::Augment);
        let side = self.side();
        let mut values = Vec::new();
        let mut labels = Vec::new();
        for sample in items {
            let Some(image) = self.decode(sample) else {
                continue;
            };
            let v = match &self.mode {
                Mode::Train(t) => t.apply(&image, &mut rng),
                Mode::Eval(t) => t.apply(&image),
            };
            values.extend(v);
            labels.push(sample.label as i64);
        }
        if let Ok(mut last) = self.last_good.lock() {
            if labels.is_empty() {
                let (v, l) = last.clone().unwrap_or_else(|| {
                    (
                        vec![0.0; 3 * side * side],
                        items.first().map_or(0, |s| s.label as i64),
                    )
                });
                values = v;
                labels.push(l);
            } else {
                let n = labels.len();
                *last = Some((values[(n - 1) * 3 * side * side..].to_vec(), labels[n - 1]));
            }
        }
        let n = labels.len();
        let mix = match (&self.mix, &self.mode) {
            (Some(config), Mode::Train(_)) if n > 1 => {
                let lam = config.apply(&mut values, n, side, &mut rng);
                let partners: Vec<i64> = labels.iter().rev().copied().collect();
                Some(Mix {
                    partner_targets: Tensor::from_data(TensorData::new(partners, [n]), device),
                    lam,
                })
            }
            _ => None,
        };
        ImageBatch {
            images: Tensor::from_data(TensorData::new(values, [n, 3, side, side]), device),
            targets: Tensor::from_data(TensorData::new(labels, [n]), device),
            mix,
            position,
        }
    }
}
