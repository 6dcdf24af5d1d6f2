//! Training-time augmentation of one image: RandomResizedCrop, flip, RandAugment and random
//! erasing, to normalised CHW values.

use efficientnet::preprocess::{IMAGENET_MEAN, IMAGENET_STD, downscale_for};
use image::imageops::FilterType;
use image::{DynamicImage, Rgb32FImage};
use rand::Rng;

use crate::rand_augment::RandAugment;

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
    /// Per-channel mean subtracted from the `[0, 1]` values (the eval transform's).
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by.
    pub std: [f32; 3],
}

impl TrainTransform {
    /// ImageNet defaults (statistics included) at `size` pixels with the given minimum crop
    /// scale.
    pub fn new(size: u32, min_scale: f64) -> Self {
        Self {
            size,
            scale: (min_scale, 1.0),
            ratio: (3.0 / 4.0, 4.0 / 3.0),
            flip: 0.5,
            rand_augment: None,
            erase_prob: 0.0,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
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

    /// Augments one image to `[3, size, size]` CHW values, normalised with `mean` and `std`.
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
        let mut values = chw_normalised(&out, self.mean, self.std);
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

/// `image` as CHW values, `(x - mean) / std` per channel.
fn chw_normalised(image: &Rgb32FImage, mean: [f32; 3], std: [f32; 3]) -> Vec<f32> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut values = vec![0.0; 3 * w * h];
    for (x, y, p) in image.enumerate_pixels() {
        for c in 0..3 {
            values[c * w * h + y as usize * w + x as usize] = (p.0[c] - mean[c]) / std[c];
        }
    }
    values
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
