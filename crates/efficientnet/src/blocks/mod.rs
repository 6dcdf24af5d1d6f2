//! The building blocks of EfficientNet, each a `Module` built from an
//! [`arch::BlockPlan`](crate::arch::BlockPlan) or explicit sizes.

mod activation;
mod conv_bn_act;
mod drop_path;
mod fused_mbconv;
pub(crate) mod init;
mod mbconv;
mod settings;
mod squeeze_excitation;

pub use conv_bn_act::{ConvBnAct, ConvBnActConfig};
pub use drop_path::DropPath;
pub use fused_mbconv::FusedMbConv;
pub use mbconv::MbConv;
pub use settings::BlockSettings;
pub use squeeze_excitation::SqueezeExcitation;

use burn::module::Module;
use burn::tensor::Tensor;

use crate::arch::{BlockKind, BlockPlan};

/// One block of a stage: MBConv or Fused-MBConv.
// The variants differ in size only by a few layer handles; a network holds at most ~90 blocks.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Block {
    /// Inverted residual with depthwise convolution (and SE).
    MbConv(MbConv),
    /// Fused-MBConv (EfficientNetV2).
    FusedMbConv(FusedMbConv),
}

impl Block {
    /// Builds the block described by `plan`.
    pub fn new(plan: &BlockPlan, settings: &BlockSettings, device: &burn::tensor::Device) -> Self {
        match plan.kind {
            BlockKind::MbConv => Block::MbConv(MbConv::new(plan, settings, device)),
            BlockKind::FusedMbConv => Block::FusedMbConv(FusedMbConv::new(plan, settings, device)),
        }
    }

    /// # Shapes
    /// - input: `[N, C_in, H, W]`
    /// - output: `[N, C_out, ceil(H / s), ceil(W / s)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Block::MbConv(b) => b.forward(x),
            Block::FusedMbConv(b) => b.forward(x),
        }
    }

    /// Folds every BatchNorm of the block into its convolution, for inference.
    pub fn fuse(self) -> Self {
        match self {
            Block::MbConv(b) => Block::MbConv(b.fuse()),
            Block::FusedMbConv(b) => Block::FusedMbConv(b.fuse()),
        }
    }

    /// The stochastic-depth layer of the block's residual branch.
    pub fn drop_path(&self) -> &DropPath {
        match self {
            Block::MbConv(b) => &b.drop_path,
            Block::FusedMbConv(b) => &b.drop_path,
        }
    }
}
