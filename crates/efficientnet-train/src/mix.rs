//! Mixup and CutMix over a batch.

use rand::Rng;

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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

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
}
