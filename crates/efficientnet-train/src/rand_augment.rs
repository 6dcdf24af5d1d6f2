//! RandAugment (Cubuk et al., 2020, <https://arxiv.org/abs/1909.13719>) as timm's
//! `rand_augment_transform` (`timm/data/auto_augment.py`), configured by the same strings, e.g.
//! `rand-m9-mstd0.5`: `n` (2) operations drawn with replacement from the 15 below, each applied
//! with probability 0.5 at a magnitude drawn from `N(m, mstd)` clipped to `[0, 10]`. Operations
//! follow PIL's semantics on 8-bit RGB; geometric ones fill with the ImageNet mean colour.

use image::{Rgb, RgbImage};
use rand::Rng;
use rand_distr::{Distribution, Normal};

use crate::error::{Result, TrainError};

/// The operations of timm's `_RAND_TRANSFORMS`, in its order.
pub const OPS: [&str; 15] = [
    "AutoContrast",
    "Equalize",
    "Invert",
    "Rotate",
    "Posterize",
    "Solarize",
    "SolarizeAdd",
    "Color",
    "Contrast",
    "Brightness",
    "Sharpness",
    "ShearX",
    "ShearY",
    "TranslateXRel",
    "TranslateYRel",
];

/// Fill colour of geometric operations: ImageNet mean x 255 (timm `img_mean`).
const FILL: [u8; 3] = [124, 116, 104];

/// A parsed RandAugment policy.
#[derive(Clone, Debug, PartialEq)]
pub struct RandAugment {
    /// Magnitude, 0–10.
    pub magnitude: f64,
    /// Standard deviation of the per-operation magnitude noise.
    pub magnitude_std: f64,
    /// Operations per image.
    pub num_ops: usize,
    /// Probability of applying each drawn operation.
    pub prob: f64,
}

impl RandAugment {
    /// Parses timm's config string: `rand` followed by `-m<magnitude>`, `-n<ops>`,
    /// `-mstd<std>`, `-p<prob>` in any order (defaults: m 10, n 2, mstd 0, p 0.5).
    pub fn parse(config: &str) -> Result<Self> {
        let bad = |why: String| TrainError::Config(format!("RandAugment `{config}`: {why}"));
        let mut parts = config.split('-');
        if parts.next() != Some("rand") {
            return Err(bad("must start with `rand`".into()));
        }
        let mut policy = Self {
            magnitude: 10.0,
            magnitude_std: 0.0,
            num_ops: 2,
            prob: 0.5,
        };
        for part in parts {
            let number = |prefix: &str| -> Result<f64> {
                part[prefix.len()..]
                    .parse::<f64>()
                    .map_err(|_| bad(format!("`{part}` is not `{prefix}<number>`")))
            };
            if part.starts_with("mstd") {
                policy.magnitude_std = number("mstd")?;
            } else if part.starts_with('m') {
                policy.magnitude = number("m")?;
            } else if part.starts_with('n') {
                policy.num_ops = number("n")? as usize;
            } else if part.starts_with('p') {
                policy.prob = number("p")?;
            } else {
                return Err(bad(format!("unknown part `{part}`")));
            }
        }
        if !(0.0..=10.0).contains(&policy.magnitude) || !(0.0..=1.0).contains(&policy.prob) {
            return Err(bad("magnitude must be in 0..=10 and p in 0..=1".into()));
        }
        Ok(policy)
    }

    /// Applies the policy to one image.
    pub fn apply(&self, image: &mut RgbImage, rng: &mut impl Rng) {
        for _ in 0..self.num_ops {
            let op = OPS[rng.random_range(0..OPS.len())];
            if !rng.random_bool(self.prob) {
                continue;
            }
            let mut level = self.magnitude;
            if self.magnitude_std > 0.0
                && let Ok(noise) = Normal::new(self.magnitude, self.magnitude_std)
            {
                level = noise.sample(rng);
            }
            let level = level.clamp(0.0, 10.0);
            apply_op(op, level, image, rng);
        }
    }
}

/// Applies operation `op` at `level` (0–10), with timm's level-to-argument rules.
pub fn apply_op(op: &str, level: f64, image: &mut RgbImage, rng: &mut impl Rng) {
    let frac = level / 10.0;
    let signed = |v: f64, rng: &mut dyn rand::RngCore| if rng.random_bool(0.5) { -v } else { v };
    let (w, h) = (image.width() as f64, image.height() as f64);
    match op {
        "AutoContrast" => auto_contrast(image),
        "Equalize" => equalize(image),
        "Invert" => map_values(image, |v| 255 - v),
        "Rotate" => rotate(image, signed(frac * 30.0, rng)),
        "Posterize" => posterize(image, (frac * 4.0) as u8),
        "Solarize" => {
            let threshold = (frac * 256.0) as u16;
            map_values(image, |v| {
                if u16::from(v) >= threshold {
                    255 - v
                } else {
                    v
                }
            })
        }
        "SolarizeAdd" => {
            let add = (frac * 110.0) as u16;
            map_values(image, |v| {
                if v < 128 {
                    (u16::from(v) + add).min(255) as u8
                } else {
                    v
                }
            })
        }
        "Color" | "Contrast" | "Brightness" | "Sharpness" => {
            enhance(op, image, frac * 1.8 + 0.1);
        }
        "ShearX" => affine(image, [1.0, signed(frac * 0.3, rng), 0.0, 0.0, 1.0, 0.0]),
        "ShearY" => affine(image, [1.0, 0.0, 0.0, signed(frac * 0.3, rng), 1.0, 0.0]),
        "TranslateXRel" => affine(
            image,
            [1.0, 0.0, signed(frac * 0.45, rng) * w, 0.0, 1.0, 0.0],
        ),
        "TranslateYRel" => affine(
            image,
            [1.0, 0.0, 0.0, 0.0, 1.0, signed(frac * 0.45, rng) * h],
        ),
        _ => {}
    }
}

fn map_values(image: &mut RgbImage, f: impl Fn(u8) -> u8) {
    for p in image.pixels_mut() {
        p.0 = p.0.map(&f);
    }
}

/// Keeps the `bits` most significant bits (PIL `posterize`; 8 or more is the identity).
fn posterize(image: &mut RgbImage, bits: u8) {
    if bits >= 8 {
        return;
    }
    let mask = !(0xFFu8.checked_shr(u32::from(bits)).unwrap_or(0));
    map_values(image, |v| v & mask);
}

/// Stretches each channel to 0–255 (PIL `autocontrast` without cutoff).
fn auto_contrast(image: &mut RgbImage) {
    for c in 0..3 {
        let (lo, hi) = image
            .pixels()
            .fold((255u8, 0u8), |(lo, hi), p| (lo.min(p.0[c]), hi.max(p.0[c])));
        if hi > lo {
            // PIL: lut = int(i * scale + offset), truncated.
            let scale = 255.0 / f64::from(hi - lo);
            let offset = -f64::from(lo) * scale;
            for p in image.pixels_mut() {
                p.0[c] = (f64::from(p.0[c]) * scale + offset).clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// Histogram equalisation per channel with PIL's lookup table.
fn equalize(image: &mut RgbImage) {
    for c in 0..3 {
        let mut hist = [0usize; 256];
        for p in image.pixels() {
            hist[usize::from(p.0[c])] += 1;
        }
        let last = hist.iter().rposition(|&n| n > 0).map_or(0, |i| hist[i]);
        let step = (hist.iter().sum::<usize>() - last) / 255;
        if step == 0 {
            continue;
        }
        let mut lut = [0u8; 256];
        let mut n = step / 2;
        for (i, count) in hist.iter().enumerate() {
            lut[i] = (n / step).min(255) as u8;
            n += count;
        }
        for p in image.pixels_mut() {
            p.0[c] = lut[usize::from(p.0[c])];
        }
    }
}

fn luma(p: [u8; 3]) -> f64 {
    // PIL's "L" conversion.
    (f64::from(p[0]) * 299.0 + f64::from(p[1]) * 587.0 + f64::from(p[2]) * 114.0) / 1000.0
}

/// PIL `ImageEnhance`: blend with a degenerate image by `factor` (1 = unchanged).
fn enhance(op: &str, image: &mut RgbImage, factor: f64) {
    let original = image.clone();
    let mean = original.pixels().map(|p| luma(p.0)).sum::<f64>()
        / f64::from((original.width() * original.height()).max(1));
    let (w, h) = original.dimensions();
    for (x, y, p) in image.enumerate_pixels_mut() {
        let src = original.get_pixel(x, y).0;
        let degenerate: [f64; 3] = match op {
            "Color" => [luma(src).round(); 3],
            "Contrast" => [mean.round(); 3],
            "Brightness" => [0.0; 3],
            _ => {
                // Sharpness: PIL's SMOOTH kernel (1 1 1 / 1 5 1 / 1 1 1) / 13; border unchanged.
                if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                    src.map(f64::from)
                } else {
                    let mut acc = [0.0; 3];
                    for dy in 0..3 {
                        for dx in 0..3 {
                            let q = original.get_pixel(x + dx - 1, y + dy - 1).0;
                            let k = if dx == 1 && dy == 1 { 5.0 } else { 1.0 };
                            for c in 0..3 {
                                acc[c] += k * f64::from(q[c]);
                            }
                        }
                    }
                    acc.map(|v| (v / 13.0).round())
                }
            }
        };
        for c in 0..3 {
            let v = degenerate[c] + factor * (f64::from(src[c]) - degenerate[c]);
            p.0[c] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// PIL `Image.transform(AFFINE, BILINEAR)`: output pixel `(x, y)` samples the input at
/// `(a x' + b y' + c, d x' + e y' + f)` with `x' = x + 0.5` (pixel centres); a sample outside
/// the image takes the fill colour, neighbours of one inside are clamped to the edge.
fn affine(image: &mut RgbImage, [a, b, c, d, e, f]: [f64; 6]) {
    let original = image.clone();
    let (w, h) = original.dimensions();
    let (wf, hf) = (f64::from(w), f64::from(h));
    let pixel = |x: f64, y: f64| {
        let x = x.clamp(0.0, wf - 1.0) as u32;
        let y = y.clamp(0.0, hf - 1.0) as u32;
        original.get_pixel(x, y).0
    };
    for (x, y, p) in image.enumerate_pixels_mut() {
        let (xc, yc) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
        let (xin, yin) = (a * xc + b * yc + c, d * xc + e * yc + f);
        if xin < 0.0 || yin < 0.0 || xin >= wf || yin >= hf {
            *p = Rgb(FILL);
            continue;
        }
        let (sx, sy) = (xin - 0.5, yin - 0.5);
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let mut v = [0.0; 3];
        for (dx, dy, wgt) in [
            (0.0, 0.0, (1.0 - fx) * (1.0 - fy)),
            (1.0, 0.0, fx * (1.0 - fy)),
            (0.0, 1.0, (1.0 - fx) * fy),
            (1.0, 1.0, fx * fy),
        ] {
            let q = pixel(x0 + dx, y0 + dy);
            for ch in 0..3 {
                v[ch] += wgt * f64::from(q[ch]);
            }
        }
        *p = Rgb(v.map(|v| v.round().clamp(0.0, 255.0) as u8));
    }
}

/// PIL `rotate(degrees)`: counter-clockwise about the centre `(w / 2, h / 2)`.
fn rotate(image: &mut RgbImage, degrees: f64) {
    let (cx, cy) = (
        f64::from(image.width()) / 2.0,
        f64::from(image.height()) / 2.0,
    );
    let t = -degrees.to_radians();
    let (a, b, d, e) = (t.cos(), t.sin(), -t.sin(), t.cos());
    // Maps output to input: translate by -centre, rotate, translate back.
    let c = a * -cx + b * -cy + cx;
    let f = d * -cx + e * -cy + cy;
    affine(image, [a, b, c, d, e, f]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn gradient() -> RgbImage {
        RgbImage::from_fn(8, 6, |x, y| {
            Rgb([(x * 20 + 40) as u8, (y * 30 + 10) as u8, 77])
        })
    }

    #[test]
    fn parses_timm_strings() {
        let p = RandAugment::parse("rand-m9-mstd0.5").expect("parse");
        assert_eq!(
            (p.magnitude, p.magnitude_std, p.num_ops, p.prob),
            (9.0, 0.5, 2, 0.5)
        );
        let p = RandAugment::parse("rand-n3-m5-p0.8").expect("parse");
        assert_eq!((p.magnitude, p.num_ops, p.prob), (5.0, 3, 0.8));
        assert!(RandAugment::parse("auto-m9").is_err());
        assert!(RandAugment::parse("rand-m11").is_err());
        assert!(RandAugment::parse("rand-q3").is_err());
    }

    #[test]
    fn pixel_operations_follow_pil() {
        let mut rng = StdRng::seed_from_u64(0);
        let mut img = RgbImage::from_pixel(2, 1, Rgb([200, 100, 7]));
        apply_op("Invert", 5.0, &mut img, &mut rng);
        assert_eq!(img.get_pixel(0, 0).0, [55, 155, 248]);
        let mut img = RgbImage::from_pixel(1, 1, Rgb([0b1011_0111, 255, 0]));
        apply_op("Posterize", 9.0, &mut img, &mut rng); // int(0.9 * 4) = 3 bits kept
        assert_eq!(img.get_pixel(0, 0).0, [0b1010_0000, 0b1110_0000, 0]);
        let mut img = RgbImage::from_pixel(1, 1, Rgb([200, 100, 7]));
        apply_op("Solarize", 5.0, &mut img, &mut rng); // threshold 128
        assert_eq!(img.get_pixel(0, 0).0, [55, 100, 7]);
        let mut img = RgbImage::from_pixel(1, 1, Rgb([200, 100, 7]));
        apply_op("SolarizeAdd", 10.0, &mut img, &mut rng); // +110 below 128
        assert_eq!(img.get_pixel(0, 0).0, [200, 210, 117]);
        let mut img = RgbImage::from_pixel(1, 1, Rgb([200, 100, 7]));
        apply_op("Brightness", 0.0, &mut img, &mut rng); // factor 0.1
        assert_eq!(img.get_pixel(0, 0).0, [20, 10, 1]);
    }

    fn distinct(img: &RgbImage, c: usize) -> Vec<u8> {
        let mut v: Vec<u8> = img.pixels().map(|p| p.0[c]).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Expected values computed with PIL 13 (`ImageOps.autocontrast` / `equalize`).
    #[test]
    fn auto_contrast_and_equalize_match_pil() {
        let mut img = gradient();
        auto_contrast(&mut img);
        assert_eq!(distinct(&img, 0), [0, 36, 72, 109, 145, 182, 218, 254]);
        assert_eq!(distinct(&img, 2), [77], "a flat channel is unchanged");
        // Six levels of 8 pixels: PIL's step is (48 - 8) / 255 = 0, so nothing changes.
        let mut img = gradient();
        equalize(&mut img);
        assert_eq!(img, gradient());
        let mut img = RgbImage::from_fn(20, 20, |x, y| Rgb([(x * 10) as u8, (y * 5) as u8, 7]));
        equalize(&mut img);
        let red = distinct(&img, 0);
        assert_eq!(&red[..6], [0, 20, 40, 60, 80, 100]);
        assert_eq!(red.last(), Some(&255));
    }

    #[test]
    fn geometry_at_zero_is_the_identity_and_translation_moves_pixels() {
        let mut rng = StdRng::seed_from_u64(1);
        for op in [
            "Rotate",
            "ShearX",
            "ShearY",
            "TranslateXRel",
            "TranslateYRel",
        ] {
            let mut img = gradient();
            apply_op(op, 0.0, &mut img, &mut rng);
            assert_eq!(img, gradient(), "{op} at level 0");
        }
        // Shift left by 2 pixels: output x samples input x + 2.
        let mut img = gradient();
        affine(&mut img, [1.0, 0.0, 2.0, 0.0, 1.0, 0.0]);
        assert_eq!(img.get_pixel(0, 3), gradient().get_pixel(2, 3));
        assert_eq!(img.get_pixel(7, 3).0, FILL);
        // A 90-degree rotation of a square maps the top-left corner to the bottom-left.
        let square = RgbImage::from_fn(4, 4, |x, y| Rgb([(x * 60) as u8, (y * 60) as u8, 0]));
        let mut img = square.clone();
        rotate(&mut img, 90.0);
        assert_eq!(img.get_pixel(0, 3), square.get_pixel(0, 0));
    }

    #[test]
    fn policy_changes_images_and_is_reproducible_with_a_seed() {
        let policy = RandAugment::parse("rand-m9-mstd0.5").expect("parse");
        let run = |seed| {
            let mut img = gradient();
            let mut rng = StdRng::seed_from_u64(seed);
            for _ in 0..5 {
                policy.apply(&mut img, &mut rng);
            }
            img
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), gradient());
    }
}
