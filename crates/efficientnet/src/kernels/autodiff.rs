//! [`FlexKernels`] on Burn's autodiff backend: the forward of the inner backend, and a
//! hand-written backward (Burn's backend extension derives no gradients).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend};

use super::FlexKernels;

impl<B: Backend + FlexKernels, C: CheckpointStrategy> FlexKernels for Autodiff<B, C> {
    fn silu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        /// Backward of SiLU; its state is the forward's input.
        #[derive(Debug)]
        struct Silu;

        impl<B: Backend + FlexKernels> Backward<B, 1> for Silu {
            type State = FloatTensor<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let x = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::silu_backward(x, grad)
                });
            }
        }

        let node = x.node();
        let x = x.into_primitive();
        match Silu.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(x.clone(), B::silu(x)),
            OpsKind::UnTracked(prep) => prep.finish(B::silu(x)),
        }
    }
}
