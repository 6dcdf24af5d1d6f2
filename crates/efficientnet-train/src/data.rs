//! Datasets (class-per-folder, the Kaggle ImageNet layout, the built-in synthetic shapes) and the
//! batcher that decodes, augments and stacks images on the loader's worker threads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::{Device, Int, Tensor, TensorData};
use efficientnet::preprocess::{
    EvalTransform, IMAGENET_MEAN, IMAGENET_STD, downscale_for, load_image,
};
use image::imageops::FilterType;
use image::{DynamicImage, Rgb32FImage};
use rand::Rng;

use crate::error::{Result, TrainError};
use crate::loader::{BatchPosition, Stream};
use crate::rand_augment::RandAugment;
use crate::synthetic;

/// Where an image comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageSource {
    /// A file decoded on a worker thread.
    File(PathBuf),
    /// Image `index` of the synthetic-shapes dataset with `seed`, drawn at `size` pixels.
    Synthetic {
        /// Dataset seed.
        seed: u64,
        /// Image index.
        index: usize,
        /// Side in pixels.
        size: u32,
    },
}

/// One labelled image.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The image.
    pub source: ImageSource,
    /// Class index.
    pub label: usize,
}

/// A labelled split held as a list of samples (images are decoded lazily by the batcher).
#[derive(Clone, Debug)]
pub struct SampleDataset {
    samples: Vec<Sample>,
}

impl SampleDataset {
    /// Wraps a list of samples.
    pub fn new(samples: Vec<Sample>) -> Self {
        Self { samples }
    }

    /// The samples.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }
}

impl Dataset<Sample> for SampleDataset {
    fn get(&self, index: usize) -> Result<Sample, DatasetError> {
        self.samples.get(index).cloned().ok_or_else(|| {
            DatasetError::new(std::io::Error::other(format!(
                "sample {index} out of range (dataset of {})",
                self.samples.len()
            )))
        })
    }

    fn len(&self) -> usize {
        self.samples.len()
    }
}

/// Train and validation splits with their class names.
#[derive(Clone, Debug)]
pub struct Splits {
    /// Training samples.
    pub train: SampleDataset,
    /// Validation samples.
    pub valid: SampleDataset,
    /// Class names, index-ordered.
    pub classes: Vec<String>,
}

/// File extensions the decoder reads (case-insensitive).
const IMAGE_EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "webp"];

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| TrainError::io(dir, e))?;
    let mut paths = entries
        .map(|e| e.map(|e| e.path()).map_err(|err| TrainError::io(dir, err)))
        .collect::<Result<Vec<_>>>()?;
    paths.sort();
    Ok(paths)
}

/// The synthetic-shapes splits: `train` and `valid` images of `size` pixels.
pub fn synthetic(seed: u64, train: usize, valid: usize, size: u32) -> Splits {
    let split = |seed: u64, n: usize| {
        SampleDataset::new(
            (0..n)
                .map(|index| Sample {
                    source: ImageSource::Synthetic { seed, index, size },
                    label: index % synthetic::CLASSES.len(),
                })
                .collect(),
        )
    };
    Splits {
        train: split(seed, train),
        valid: split(seed.wrapping_add(1_000_003), valid),
        classes: synthetic::CLASSES.iter().map(|c| c.to_string()).collect(),
    }
}

/// Reads `root/<class>/*` for the classes `classes` (label = position), failing on a missing
/// folder or a class folder without images.
fn class_folders(root: &Path, classes: &[String]) -> Result<Vec<Sample>> {
    let mut samples = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let dir = root.join(class);
        let images: Vec<PathBuf> = read_dir_sorted(&dir)?
            .into_iter()
            .filter(|p| p.is_file() && is_image(p))
            .collect();
        if images.is_empty() {
            return Err(TrainError::Data(format!(
                "class folder {} holds no images ({})",
                dir.display(),
                IMAGE_EXTENSIONS.join(", ")
            )));
        }
        samples.extend(images.into_iter().map(|p| Sample {
            source: ImageSource::File(p),
            label,
        }));
    }
    Ok(samples)
}

/// A dataset folder: the Kaggle "ImageNet Object Localization Challenge" layout when `root`
/// holds `LOC_synset_mapping.txt`, otherwise `root/train/<class>/*` and `root/val/<class>/*`
/// (classes = sorted folder names of `train`).
pub fn folder(root: &Path) -> Result<Splits> {
    if !root.is_dir() {
        return Err(TrainError::Data(format!(
            "dataset folder {} does not exist",
            root.display()
        )));
    }
    if root.join("LOC_synset_mapping.txt").is_file() {
        return kaggle(root);
    }
    let (train_dir, val_dir) = (root.join("train"), root.join("val"));
    if !train_dir.is_dir() || !val_dir.is_dir() {
        return Err(TrainError::Data(format!(
            "{} must hold train/<class>/ and val/<class>/ folders (or the Kaggle ImageNet layout \
             with LOC_synset_mapping.txt)",
            root.display()
        )));
    }
    let classes: Vec<String> = read_dir_sorted(&train_dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .collect();
    if classes.is_empty() {
        return Err(TrainError::Data(format!(
            "{} has no class folders",
            train_dir.display()
        )));
    }
    Ok(Splits {
        train: SampleDataset::new(class_folders(&train_dir, &classes)?),
        valid: SampleDataset::new(class_folders(&val_dir, &classes)?),
        classes,
    })
}

/// The Kaggle layout (efficientnet.md §5): classes from `LOC_synset_mapping.txt` (line order),
/// train images in `ILSVRC/Data/CLS-LOC/train/<wnid>/`, flat validation images in
/// `ILSVRC/Data/CLS-LOC/val/` labelled by the first WordNet id of `LOC_val_solution.csv`.
pub fn kaggle(root: &Path) -> Result<Splits> {
    let mapping = root.join("LOC_synset_mapping.txt");
    let text = std::fs::read_to_string(&mapping).map_err(|e| TrainError::io(&mapping, e))?;
    let mut wnids = Vec::new();
    let mut classes = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (wnid, names) = line.trim().split_once(' ').ok_or_else(|| {
            TrainError::Data(format!(
                "{}:{}: expected `<wnid> <names>`",
                mapping.display(),
                n + 1
            ))
        })?;
        wnids.push(wnid.to_owned());
        classes.push(names.split(',').next().unwrap_or(names).trim().to_owned());
    }
    if wnids.is_empty() {
        return Err(TrainError::Data(format!(
            "{} lists no classes",
            mapping.display()
        )));
    }
    let index: HashMap<&str, usize> = wnids
        .iter()
        .enumerate()
        .map(|(i, w)| (w.as_str(), i))
        .collect();
    let data = root.join("ILSVRC/Data/CLS-LOC");
    let train = class_folders(&data.join("train"), &wnids)?;

    let solution = root.join("LOC_val_solution.csv");
    let text = std::fs::read_to_string(&solution).map_err(|e| TrainError::io(&solution, e))?;
    let mut valid = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad =
            |what: &str| TrainError::Data(format!("{}:{}: {what}", solution.display(), n + 1));
        let (image_id, prediction) = line
            .split_once(',')
            .ok_or_else(|| bad("expected `ImageId,PredictionString`"))?;
        let wnid = prediction
            .split_whitespace()
            .next()
            .ok_or_else(|| bad("empty PredictionString"))?;
        let label = *index.get(wnid).ok_or_else(|| {
            bad(&format!(
                "unknown class `{wnid}` (not in LOC_synset_mapping.txt)"
            ))
        })?;
        valid.push(Sample {
            source: ImageSource::File(data.join("val").join(format!("{}.JPEG", image_id.trim()))),
            label,
        });
    }
    if valid.is_empty() {
        return Err(TrainError::Data(format!(
            "{} lists no images",
            solution.display()
        )));
    }
    Ok(Splits {
        train: SampleDataset::new(train),
        valid: SampleDataset::new(valid),
        classes,
    })
}

/// Files that could not be decoded: counted, the first few named, never fatal.
#[derive(Debug, Default)]
pub struct BadFiles {
    count: AtomicUsize,
    examples: Mutex<Vec<String>>,
}

impl BadFiles {
    /// Records a failure.
    pub fn record(&self, message: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut examples) = self.examples.lock()
            && examples.len() < 10
        {
            examples.push(message);
        }
    }

    /// Failures so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// The first few failure messages.
    pub fn examples(&self) -> Vec<String> {
        self.examples.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

/// Training-time augmentation: RandomResizedCrop and horizontal flip (torchvision semantics).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainTransform {
    /// Output side in pixels.
    pub size: u32,
    /// Range of the crop's area as a fraction of the image (0.08–1 for ImageNet).
    pub scale: (f64, f64),
    /// Range of the crop's aspect ratio (3/4–4/3).
    pub ratio: (f64, f64),
    /// Probability of a horizontal flip.
    pub flip: f64,
    /// RandAugment after the crop and flip (timm order), if any.
    pub rand_augment: Option<RandAugment>,
    /// Probability of random erasing (timm `--reprob`, pixel mode), applied last.
    pub erase_prob: f64,
}

impl TrainTransform {
    /// ImageNet defaults at `size` pixels with the given minimum crop scale.
    pub fn new(size: u32, min_scale: f64) -> Self {
        Self {
            size,
            scale: (min_scale, 1.0),
            ratio: (3.0 / 4.0, 4.0 / 3.0),
            flip: 0.5,
            rand_augment: None,
            erase_prob: 0.0,
        }
    }

    /// Crop box `(x, y, w, h)` as torchvision `RandomResizedCrop.get_params`: ten tries at a
    /// random area and log-uniform aspect ratio, else a center crop clamped to the ratio range.
    pub fn crop_box(&self, width: u32, height: u32, rng: &mut impl Rng) -> (u32, u32, u32, u32) {
        let area = f64::from(width) * f64::from(height);
        let (lo, hi) = (self.ratio.0.ln(), self.ratio.1.ln());
        for _ in 0..10 {
            let target = area * rng.random_range(self.scale.0..=self.scale.1);
            let aspect = rng.random_range(lo..=hi).exp();
            let w = (target * aspect).sqrt().round() as u32;
            let h = (target / aspect).sqrt().round() as u32;
            if w > 0 && h > 0 && w <= width && h <= height {
                let x = rng.random_range(0..=width - w);
                let y = rng.random_range(0..=height - h);
                return (x, y, w, h);
            }
        }
        let in_ratio = f64::from(width) / f64::from(height);
        let (w, h) = if in_ratio < self.ratio.0 {
            (width, (f64::from(width) / self.ratio.0).round() as u32)
        } else if in_ratio > self.ratio.1 {
            ((f64::from(height) * self.ratio.1).round() as u32, height)
        } else {
            (width, height)
        };
        ((width - w) / 2, (height - h) / 2, w.max(1), h.max(1))
    }

    /// Augments one image to `[3, size, size]` CHW values, ImageNet-normalised.
    pub fn apply(&self, image: &DynamicImage, rng: &mut impl Rng) -> Vec<f32> {
        // Crop in the decoded pixel type, then convert only the crop to float.
        let (x, y, w, h) = self.crop_box(image.width(), image.height(), rng);
        let crop = image.crop_imm(x, y, w, h);
        let crop: Rgb32FImage = downscale_for(&crop, self.size).unwrap_or(crop).to_rgb32f();
        let mut out = image::imageops::resize(&crop, self.size, self.size, FilterType::Triangle);
        if rng.random_bool(self.flip) {
            image::imageops::flip_horizontal_in_place(&mut out);
        }
        if let Some(policy) = &self.rand_augment {
            // RandAugment works on 8-bit RGB, as PIL does in timm.
            let mut rgb8 = DynamicImage::ImageRgb32F(out).to_rgb8();
            policy.apply(&mut rgb8, rng);
            out = DynamicImage::ImageRgb8(rgb8).to_rgb32f();
        }
        let mut values = chw_normalised(&out);
        if self.erase_prob > 0.0 && rng.random_bool(self.erase_prob) {
            random_erase(&mut values, self.size as usize, rng);
        }
        values
    }
}

/// timm `RandomErasing` (mode `pixel`, one box): up to ten tries at a box of 2%–33% of the
/// area with a log-uniform aspect ratio in 0.3–3.3, filled with `N(0, 1)` noise in the
/// normalised image.
pub fn random_erase(values: &mut [f32], side: usize, rng: &mut impl Rng) {
    let area = (side * side) as f64;
    let (lo, hi) = (0.3f64.ln(), (1.0f64 / 0.3).ln());
    for _ in 0..10 {
        let target = area * rng.random_range(0.02..1.0 / 3.0);
        let ratio = rng.random_range(lo..hi).exp();
        let h = (target * ratio).sqrt().round() as usize;
        let w = (target / ratio).sqrt().round() as usize;
        if h == 0 || w == 0 || h >= side || w >= side {
            continue;
        }
        let (top, left) = (
            rng.random_range(0..=side - h),
            rng.random_range(0..=side - w),
        );
        for c in 0..3 {
            for y in top..top + h {
                for x in left..left + w {
                    let normal: f32 =
                        rand_distr::Distribution::sample(&rand_distr::StandardNormal, rng);
                    values[c * side * side + y * side + x] = normal;
                }
            }
        }
        return;
    }
}

fn chw_normalised(image: &Rgb32FImage) -> Vec<f32> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut values = vec![0.0; 3 * w * h];
    for (x, y, p) in image.enumerate_pixels() {
        for c in 0..3 {
            values[c * w * h + y as usize * w + x as usize] =
                (p.0[c] - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
        }
    }
    values
}

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

/// Mixup (Zhang et al., 2018) and CutMix (Yun et al., 2019) over a batch, as timm's `Mixup`
/// in batch mode: `lam ~ Beta(alpha, alpha)`, partners are the batch reversed; with both
/// enabled each batch uses CutMix or Mixup with probability 1/2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MixConfig {
    /// Mixup alpha (0 = off; timm recipes use 0.2–0.8).
    pub mixup_alpha: f64,
    /// CutMix alpha (0 = off; usually 1.0).
    pub cutmix_alpha: f64,
}

impl MixConfig {
    /// Mixes `values` (`[n, 3, side, side]`) in place and returns the label weight `lam`.
    pub fn apply(&self, values: &mut [f32], n: usize, side: usize, rng: &mut impl Rng) -> f32 {
        let cutmix = match (self.mixup_alpha > 0.0, self.cutmix_alpha > 0.0) {
            (true, true) => rng.random_bool(0.5),
            (false, true) => true,
            _ => false,
        };
        let alpha = if cutmix {
            self.cutmix_alpha
        } else {
            self.mixup_alpha
        };
        let lam = rand_distr::Beta::new(alpha, alpha)
            .map(|b| rand_distr::Distribution::sample(&b, rng))
            .unwrap_or(1.0);
        let plane = side * side;
        let original = values.to_vec();
        if cutmix {
            // timm `rand_bbox`: a box of (1 - lam) of the area, centred uniformly, clipped.
            let cut = ((1.0 - lam).sqrt() * side as f64) as i64;
            let (cy, cx) = (
                rng.random_range(0..side) as i64,
                rng.random_range(0..side) as i64,
            );
            let clip = |v: i64| v.clamp(0, side as i64) as usize;
            let (y0, y1) = (clip(cy - cut / 2), clip(cy + cut / 2));
            let (x0, x1) = (clip(cx - cut / 2), clip(cx + cut / 2));
            for i in 0..n {
                let j = n - 1 - i;
                for c in 0..3 {
                    for y in y0..y1 {
                        for x in x0..x1 {
                            let k = c * plane + y * side + x;
                            values[i * 3 * plane + k] = original[j * 3 * plane + k];
                        }
                    }
                }
            }
            // The label weight follows the area actually pasted.
            1.0 - ((y1 - y0) * (x1 - x0)) as f32 / plane as f32
        } else {
            let lam = lam as f32;
            for i in 0..n {
                let j = n - 1 - i;
                for k in 0..3 * plane {
                    values[i * 3 * plane + k] = lam * original[i * 3 * plane + k]
                        + (1.0 - lam) * original[j * 3 * plane + k];
                }
            }
            lam
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn random_erase_fills_one_box_of_two_to_33_percent() {
        let side = 32;
        for seed in 0..20 {
            let mut values = vec![0.0f32; 3 * side * side];
            random_erase(&mut values, side, &mut StdRng::seed_from_u64(seed));
            let changed = values.iter().filter(|v| **v != 0.0).count() / 3;
            let area = (side * side) as f64;
            assert!(
                (0.015 * area..=0.34 * area).contains(&(changed as f64)),
                "seed {seed}: {changed} pixels"
            );
        }
    }

    #[test]
    fn mixup_blends_with_the_reversed_batch_and_cutmix_pastes_a_box() {
        let (n, side) = (2, 8);
        let plane = 3 * side * side;
        let mut values: Vec<f32> = (0..n * plane).map(|k| (k / plane) as f32).collect();
        let mixup = MixConfig {
            mixup_alpha: 0.4,
            cutmix_alpha: 0.0,
        };
        let lam = mixup.apply(&mut values, n, side, &mut StdRng::seed_from_u64(3));
        assert!((0.0..=1.0).contains(&lam));
        assert!(
            values[..plane]
                .iter()
                .all(|v| (v - (1.0 - lam)).abs() < 1e-6)
        );
        assert!(values[plane..].iter().all(|v| (v - lam).abs() < 1e-6));

        let mut values: Vec<f32> = (0..n * plane).map(|k| (k / plane) as f32).collect();
        let cutmix = MixConfig {
            mixup_alpha: 0.0,
            cutmix_alpha: 1.0,
        };
        let lam = cutmix.apply(&mut values, n, side, &mut StdRng::seed_from_u64(5));
        let pasted = values[..plane].iter().filter(|v| **v == 1.0).count() as f32;
        assert!(
            (1.0 - pasted / plane as f32 - lam).abs() < 1e-6,
            "lam follows the box"
        );
    }

    #[test]
    fn crop_box_stays_inside_and_respects_the_scale() {
        let t = TrainTransform::new(64, 0.5);
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let (x, y, w, h) = t.crop_box(100, 80, &mut rng);
            assert!(x + w <= 100 && y + h <= 80 && w > 0 && h > 0);
            let frac = f64::from(w * h) / 8000.0;
            assert!((0.3..=1.0).contains(&frac), "area fraction {frac}");
        }
    }
}
