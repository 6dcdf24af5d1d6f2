//! Squeeze-and-excitation on the fast path (Hu et al., 2018): the gate of each sample from
//! the channel means the depthwise pass accumulated, then either folded into the following
//! 1x1 projection's weight (`W'[c, o] = W[c, o] * gate[c]`, one matrix per sample, when that
//! is less work than gating the activations) or applied to the activations.

use crate::config::Activation;

use super::epilogue::relu6;

/// The squeeze-excitation weights of one block, as plain matrices.
pub(super) struct SeWeights<'a> {
    /// `[C, S]`: the reduce convolution `[S, C, 1, 1]`, tap-major.
    pub reduce: &'a [f32],
    /// `[S]`.
    pub reduce_bias: &'a [f32],
    /// `[S, C]`: the expand convolution `[C, S, 1, 1]`, tap-major.
    pub expand: &'a [f32],
    /// `[C]`.
    pub expand_bias: &'a [f32],
    /// The activation between the two.
    pub activation: Activation,
}

/// `sigmoid(expand · act(reduce · mean + b_r) + b_e)` per sample: `[N, C]` from the channel
/// sums `[N, C]` over `pixels` pixels per sample.
pub(super) fn gates(sums: &[f32], pixels: usize, se: &SeWeights<'_>) -> Vec<f32> {
    let c = se.expand_bias.len();
    let act = |v: f32| match se.activation {
        Activation::Silu => v / (1.0 + (-v).exp()),
        Activation::Relu6 => relu6(v),
    };
    let mut gates = Vec::with_capacity(sums.len());
    for sample in sums.chunks_exact(c) {
        let mean: Vec<f32> = sample.iter().map(|v| v / pixels as f32).collect();
        let mut squeezed = vector_matrix(&mean, se.reduce, se.reduce_bias);
        squeezed.iter_mut().for_each(|v| *v = act(*v));
        let z = vector_matrix(&squeezed, se.expand, se.expand_bias);
        gates.extend(z.iter().map(|z| 1.0 / (1.0 + (-z).exp())));
    }
    gates
}

/// Whether folding the gate into the projection weight (`C_out * C` multiplies per sample) is
/// cheaper than gating the activations (`pixels * C`).
pub(super) fn fold_into_projection(c_out: usize, pixels: usize) -> bool {
    c_out <= pixels
}

/// `weight[c, o] * gate[c]`: the projection weight as the matrix `[C, C_out]` with one
/// sample's gate folded in.
pub(super) fn folded(weight: &[f32], gate: &[f32]) -> Vec<f32> {
    let c_out = weight.len() / gate.len();
    let mut folded = Vec::with_capacity(weight.len());
    for (row, &g) in weight.chunks_exact(c_out).zip(gate) {
        folded.extend(row.iter().map(|w| w * g));
    }
    folded
}

/// `bias + v · m`: `v` `[I]`, `m` `[I, O]` row-major, `bias` `[O]`; returns `[O]`.
fn vector_matrix(v: &[f32], m: &[f32], bias: &[f32]) -> Vec<f32> {
    let mut out = bias.to_vec();
    for (&v, row) in v.iter().zip(m.chunks_exact(bias.len())) {
        out.iter_mut().zip(row).for_each(|(o, w)| *o += v * w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_follow_the_definition() {
        // C = 2, S = 1: mean = sums / 4; squeezed = relu6(1 * m0 + 2 * m1 - 1).
        let se = SeWeights {
            reduce: &[1.0, 2.0], // [C, S]
            reduce_bias: &[-1.0],
            expand: &[1.0, -1.0], // [S, C]
            expand_bias: &[0.0, 0.5],
            activation: Activation::Relu6,
        };
        let g = gates(&[4.0, 8.0], 4, &se); // mean (1, 2): squeezed 4
        let sigmoid = |z: f32| 1.0 / (1.0 + (-z).exp());
        assert_eq!(g, [sigmoid(4.0), sigmoid(-3.5)]);
        // C = 2, S = 2, mean (1, 2): squeezed (1 * 1 + 2 * 0, 1 * 3 + 2 * 1) = (1, 5), then
        // z = (1 * 1 + 5 * 0, 1 * 0 + 5 * -1).
        let se = SeWeights {
            reduce: &[1.0, 3.0, 0.0, 1.0],
            reduce_bias: &[0.0, 0.0],
            expand: &[1.0, 0.0, 0.0, -1.0],
            expand_bias: &[0.0, 0.0],
            activation: Activation::Relu6,
        };
        assert_eq!(gates(&[4.0, 8.0], 4, &se), [sigmoid(1.0), sigmoid(-5.0)]);
        assert_eq!(
            folded(&[1.0, 2.0, 3.0, 4.0], &[0.5, 2.0]),
            [0.5, 1.0, 6.0, 8.0]
        );
        assert!(fold_into_projection(16, 12_544) && !fold_into_projection(320, 49));
    }
}
