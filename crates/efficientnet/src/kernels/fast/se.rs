//! Squeeze-and-excitation on the fast path (Hu et al., 2018): the gate of each sample from
//! the channel means the depthwise pass accumulated, then either folded into the following
//! 1x1 projection's weight (`W'[o, c] = W[o, c] * gate[c]`, one matrix per sample, when that
//! is less work than gating the activations) or applied to the activations.

use crate::config::Activation;

use super::epilogue::relu6;

/// The squeeze-excitation weights of one block, as plain matrices.
pub(super) struct SeWeights<'a> {
    /// `[S, C]`: the reduce convolution `[S, C, 1, 1]`.
    pub reduce: &'a [f32],
    /// `[S]`.
    pub reduce_bias: &'a [f32],
    /// `[C, S]`: the expand convolution `[C, S, 1, 1]`.
    pub expand: &'a [f32],
    /// `[C]`.
    pub expand_bias: &'a [f32],
    /// The activation between the two.
    pub activation: Activation,
}

/// `sigmoid(expand · act(reduce · mean + b_r) + b_e)` per sample: `[N, C]` from the channel
/// sums `[N, C]` over `pixels` pixels per sample.
pub(super) fn gates(sums: &[f32], pixels: usize, se: &SeWeights<'_>) -> Vec<f32> {
    let (c, s) = (se.expand_bias.len(), se.reduce_bias.len());
    let act = |v: f32| match se.activation {
        Activation::Silu => v / (1.0 + (-v).exp()),
        Activation::Relu6 => relu6(v),
    };
    let mut gates = Vec::with_capacity(sums.len());
    for sample in sums.chunks_exact(c) {
        let mean: Vec<f32> = sample.iter().map(|v| v / pixels as f32).collect();
        let squeezed: Vec<f32> = (0..s)
            .map(|j| act(dot(&se.reduce[j * c..][..c], &mean) + se.reduce_bias[j]))
            .collect();
        gates.extend((0..c).map(|i| {
            let z = dot(&se.expand[i * s..][..s], &squeezed) + se.expand_bias[i];
            1.0 / (1.0 + (-z).exp())
        }));
    }
    gates
}

/// Whether folding the gate into the projection weight (`C_out * C` multiplies per sample) is
/// cheaper than gating the activations (`pixels * C`).
pub(super) fn fold_into_projection(c_out: usize, pixels: usize) -> bool {
    c_out <= pixels
}

/// `weight[o, c] * gate[c]`: the projection weight `[C_out, C]` with one sample's gate folded
/// in.
pub(super) fn folded(weight: &[f32], gate: &[f32]) -> Vec<f32> {
    weight
        .chunks_exact(gate.len())
        .flat_map(|row| row.iter().zip(gate).map(|(w, g)| w * g))
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_follow_the_definition() {
        // C = 2, S = 1: mean = sums / 4; squeezed = relu6(1 * m0 + 2 * m1 - 1).
        let se = SeWeights {
            reduce: &[1.0, 2.0],
            reduce_bias: &[-1.0],
            expand: &[1.0, -1.0],
            expand_bias: &[0.0, 0.5],
            activation: Activation::Relu6,
        };
        let g = gates(&[4.0, 8.0], 4, &se); // mean (1, 2): squeezed 4
        let sigmoid = |z: f32| 1.0 / (1.0 + (-z).exp());
        assert_eq!(g, [sigmoid(4.0), sigmoid(-3.5)]);
        assert_eq!(
            folded(&[1.0, 2.0, 3.0, 4.0], &[0.5, 2.0]),
            [0.5, 4.0, 1.5, 8.0]
        );
        assert!(fold_into_projection(16, 12_544) && !fold_into_projection(320, 49));
    }
}
