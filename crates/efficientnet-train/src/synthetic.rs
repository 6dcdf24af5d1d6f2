//! A built-in, procedurally generated image-classification dataset ("synthetic shapes"): each
//! image is one of six shapes in a random colour, size and position on a noisy background of
//! another colour. Nothing to download; the same seed gives the same images on every machine.

use image::{Rgb, RgbImage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The classes, in label order.
pub const CLASSES: [&str; 6] = ["circle", "square", "triangle", "ring", "cross", "stripes"];

/// Draws image `index` of the dataset with `seed`: its label is `index % 6`.
///
/// # Shapes
/// - output: `size` x `size` RGB
pub fn render(seed: u64, index: usize, size: u32) -> (RgbImage, usize) {
    let label = index % CLASSES.len();
    let mut rng = StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let s = size as f32;
    let background = random_colour(&mut rng);
    let mut foreground = random_colour(&mut rng);
    while luma_distance(background, foreground) < 0.35 {
        foreground = random_colour(&mut rng);
    }
    let r = s * rng.random_range(0.18..0.38);
    let cx = rng.random_range(r..s - r);
    let cy = rng.random_range(r..s - r);
    let period = rng.random_range(3.0..6.0f32);
    let noise = 0.08;
    let image = RgbImage::from_fn(size, size, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let dist = (dx * dx + dy * dy).sqrt();
        let inside = match label {
            0 => dist < r,
            1 => dx.abs() < r * 0.85 && dy.abs() < r * 0.85,
            2 => dy > -r && dy < r && dx.abs() < (dy + r) * 0.5,
            3 => dist < r && dist > r * 0.55,
            4 => (dx.abs() < r * 0.3 && dy.abs() < r) || (dy.abs() < r * 0.3 && dx.abs() < r),
            _ => {
                dx.abs() < r
                    && dy.abs() < r
                    && ((x as f32 + y as f32) / period).floor() as i64 % 2 == 0
            }
        };
        let base = if inside { foreground } else { background };
        let jitter: f32 = rng.random_range(-noise..noise);
        Rgb(base.map(|c| ((c + jitter).clamp(0.0, 1.0) * 255.0).round() as u8))
    });
    (image, label)
}

fn random_colour(rng: &mut StdRng) -> [f32; 3] {
    [rng.random(), rng.random(), rng.random()]
}

fn luma_distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    let luma = |c: [f32; 3]| 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
    (luma(a) - luma(b)).abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_balanced() {
        let (a, la) = render(7, 13, 32);
        let (b, lb) = render(7, 13, 32);
        assert_eq!(a, b);
        assert_eq!(la, lb);
        assert_eq!(la, 13 % 6);
        let (c, _) = render(8, 13, 32);
        assert_ne!(a, c, "another seed gives another image");
        let labels: Vec<usize> = (0..12).map(|i| render(1, i, 16).1).collect();
        for class in 0..6 {
            assert_eq!(labels.iter().filter(|&&l| l == class).count(), 2);
        }
    }
}
