//! [`BlockSettings`]: the per-network layer settings every block is built with.

use crate::config::{Activation, PaddingMode};

/// The per-network settings every block shares (they follow the origin of the weights).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockSettings {
    /// Padding convention.
    pub padding: PaddingMode,
    /// BatchNorm epsilon.
    pub bn_eps: f64,
    /// BatchNorm momentum (PyTorch convention).
    pub bn_momentum: f64,
    /// Activation after each conv + BN.
    pub activation: Activation,
}
