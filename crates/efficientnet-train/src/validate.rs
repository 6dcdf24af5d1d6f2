//! Validation of a model on a labelled split (timm's `validate.py`): top-1, top-5, mean
//! cross-entropy and images/s, overall and per class, with images decoded on worker threads
//! while the model runs the previous batch.

use std::sync::mpsc;
use std::time::Instant;

use burn::tensor::Device;
use efficientnet::EfficientNet;
use efficientnet::preprocess::{EvalTransform, load_image};
use image::DynamicImage;
use serde::Serialize;

use crate::dataset::{ImageSource, Sample};
use crate::synthetic;

/// The scores of one class of the split.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClassScore {
    /// The class name.
    pub class: String,
    /// Its images that were read.
    pub images: usize,
    /// Those whose label was the model's first guess.
    pub top1_correct: usize,
    /// Those whose label was among the model's first five.
    pub top5_correct: usize,
}

/// What [`validate`] measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Validation {
    /// Images scored (readable ones).
    pub images: usize,
    /// Top-1 accuracy in percent.
    pub top1: f64,
    /// Top-5 accuracy in percent (top-k with k = the number of outputs when fewer than 5).
    pub top5: f64,
    /// Mean cross-entropy (natural log) of the labels.
    pub loss: f64,
    /// Wall time of the whole pass, decoding included.
    pub seconds: f64,
    /// Images scored per second of wall time.
    pub images_per_second: f64,
    /// One message per unreadable image, naming the file.
    pub unreadable: Vec<String>,
    /// Scores per class of the split, in class order; classes without a readable image (a
    /// Kaggle mapping lists all 1000, a small split holds a few) are left out.
    pub per_class: Vec<ClassScore>,
}

/// How [`validate`] runs.
#[derive(Clone, Debug)]
pub struct ValidateOptions {
    /// Images per forward pass.
    pub batch_size: usize,
    /// Decoding threads.
    pub workers: usize,
}

/// Scores `model` on `samples` preprocessed by `transform` on `device`. A sample's label is
/// a class of the split (`classes`); `outputs[label]` is the model output that stands for it.
/// Unreadable images are listed, not scored. `progress` is told the images done so far.
///
/// # Panics
/// If a label has no entry in `classes` or `outputs`.
pub fn validate(
    (model, transform, device): (&EfficientNet, &EvalTransform, &Device),
    samples: &[Sample],
    (classes, outputs): (&[String], &[usize]),
    options: &ValidateOptions,
    progress: &mut dyn FnMut(usize),
) -> Validation {
    let started = Instant::now();
    let mut tally = Tally::new(classes);
    let batch_size = options.batch_size.max(1);
    std::thread::scope(|scope| {
        let (send, batches) = mpsc::sync_channel::<Decoded>(2);
        scope.spawn(move || {
            for chunk in samples.chunks(batch_size) {
                if send.send(decode_all(chunk, options.workers)).is_err() {
                    return;
                }
            }
        });
        let mut done = 0;
        for decoded in batches {
            done += decoded.len();
            tally
                .unreadable
                .extend(decoded.iter().filter_map(|d| d.as_ref().err().cloned()));
            let (images, labels): (Vec<DynamicImage>, Vec<usize>) =
                decoded.into_iter().filter_map(Result::ok).unzip();
            if !images.is_empty() {
                let logits = model.forward(transform.batch(&images, device)); // [n, outputs]
                let values: Vec<f32> = logits.into_data().convert::<f32>().iter::<f32>().collect();
                let width = values.len() / images.len();
                for (row, &label) in values.chunks(width).zip(&labels) {
                    tally.add(row, label, outputs[label]);
                }
            }
            progress(done);
        }
    });
    tally.finish(started.elapsed().as_secs_f64())
}

/// A batch's images with their labels, or the message of each one that failed.
type Decoded = Vec<Result<(DynamicImage, usize), String>>;

/// Decodes `chunk` on up to `workers` threads, in order.
fn decode_all(chunk: &[Sample], workers: usize) -> Decoded {
    let per_thread = chunk.len().div_ceil(workers.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunk
            .chunks(per_thread)
            .map(|part| scope.spawn(move || part.iter().map(decode).collect::<Decoded>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![Err("a decoding thread panicked".into())])
            })
            .collect()
    })
}

/// One sample's image and label.
fn decode(sample: &Sample) -> Result<(DynamicImage, usize), String> {
    let image = match &sample.source {
        ImageSource::File(path) => load_image(path).map_err(|e| e.to_string())?,
        ImageSource::Synthetic { seed, index, size } => {
            DynamicImage::ImageRgb8(synthetic::render(*seed, *index, *size).0)
        }
    };
    Ok((image, sample.label))
}

/// Running sums of a validation pass.
struct Tally {
    per_class: Vec<ClassScore>,
    loss_sum: f64,
    unreadable: Vec<String>,
}

impl Tally {
    fn new(classes: &[String]) -> Self {
        Self {
            per_class: classes
                .iter()
                .map(|class| ClassScore {
                    class: class.clone(),
                    ..ClassScore::default()
                })
                .collect(),
            loss_sum: 0.0,
            unreadable: Vec::new(),
        }
    }

    /// Scores one image's logits `row` against the model output `target` of class `label`.
    fn add(&mut self, row: &[f32], label: usize, target: usize) {
        let (rank, loss) = rank_and_loss(row, target);
        let score = &mut self.per_class[label];
        score.images += 1;
        score.top1_correct += usize::from(rank == 0);
        score.top5_correct += usize::from(rank < 5);
        self.loss_sum += loss;
    }

    fn finish(self, seconds: f64) -> Validation {
        let images: usize = self.per_class.iter().map(|c| c.images).sum();
        let percent = |n: usize| 100.0 * n as f64 / images.max(1) as f64;
        Validation {
            images,
            top1: percent(self.per_class.iter().map(|c| c.top1_correct).sum()),
            top5: percent(self.per_class.iter().map(|c| c.top5_correct).sum()),
            loss: self.loss_sum / images.max(1) as f64,
            seconds,
            images_per_second: images as f64 / seconds.max(1e-9),
            unreadable: self.unreadable,
            per_class: self
                .per_class
                .into_iter()
                .filter(|c| c.images > 0)
                .collect(),
        }
    }
}

/// The rank of output `target` in `row` (0 = the best; ties go to the lower index, as
/// [`efficientnet::imagenet::top_k`] orders them) and its cross-entropy `-log softmax`.
fn rank_and_loss(row: &[f32], target: usize) -> (usize, f64) {
    let t = row[target];
    let rank = row
        .iter()
        .enumerate()
        .filter(|&(j, &v)| v > t || (v == t && j < target))
        .count();
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = row.iter().map(|&v| f64::from(v - max).exp()).sum();
    let loss = sum.ln() - f64::from(t - max);
    (rank, loss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_and_loss_of_a_row() {
        let (rank, loss) = rank_and_loss(&[1.0, 3.0, 2.0, 3.0], 3);
        assert_eq!(rank, 1); // the tie at index 1 ranks first
        let sum: f64 = [1.0f64, 3.0, 2.0, 3.0].iter().map(|v| v.exp()).sum();
        assert!((loss - (sum.ln() - 3.0)).abs() < 1e-9);
        assert_eq!(rank_and_loss(&[5.0, 0.0], 0).0, 0);
    }

    #[test]
    fn tally_counts_top1_and_top5() {
        let classes = vec!["a".to_owned(), "b".to_owned()];
        let mut tally = Tally::new(&classes);
        let row: Vec<f32> = (0..10).map(|i| i as f32).collect(); // best: 9, 8, 7, ...
        tally.add(&row, 0, 9); // top-1
        tally.add(&row, 1, 5); // rank 4: top-5 only
        tally.add(&row, 1, 0); // rank 9: neither
        let v = tally.finish(1.0);
        assert_eq!(v.images, 3);
        assert!((v.top1 - 100.0 / 3.0).abs() < 1e-9);
        assert!((v.top5 - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!((v.per_class[1].images, v.per_class[1].top5_correct), (2, 1));
    }
}
