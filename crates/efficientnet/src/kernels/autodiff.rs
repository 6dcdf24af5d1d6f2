//! [`FlexKernels`] on Burn's autodiff backend: the forward of the inner backend, and a
//! hand-written backward (Burn's backend extension derives no gradients).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, binary, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, TensorMetadata};
use burn::tensor::Shape;
use burn::tensor::ops::ConvOptions;

use super::batch_norm::BatchNormAct;
use super::conv_kind::ConvKind;
use super::flex::FlexKernels;

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

    fn conv2d_no_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        /// Backward of a convolution without bias; its state is the forward's inputs.
        #[derive(Debug)]
        struct Conv2dNoBias;

        impl<B: Backend + FlexKernels> Backward<B, 2> for Conv2dNoBias {
            type State = (FloatTensor<B>, FloatTensor<B>, ConvOptions<2>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let (x, weight, options) = ops.state;
                let kind = ConvKind::of(&x.shape(), &weight.shape(), &options);
                let (x2, weight2, options2) = (x.clone(), weight.clone(), options.clone());
                binary::<B, _, _>(
                    ops.parents,
                    ops.node,
                    grads,
                    |grad| match kind {
                        ConvKind::Pointwise => B::pointwise_x_grad(weight, grad),
                        ConvKind::Depthwise => B::depthwise_x_grad(x, weight, grad, options),
                        ConvKind::Stem | ConvKind::General => {
                            B::conv2d_x_backward(x, weight, grad, options)
                        }
                    },
                    |grad| match kind {
                        ConvKind::Pointwise => B::pointwise_weight_grad(x2, grad),
                        ConvKind::Depthwise => {
                            B::depthwise_weight_grad(x2, weight2, grad, options2)
                        }
                        ConvKind::Stem => B::stem_weight_grad(x2, weight2, grad, options2),
                        ConvKind::General => B::conv2d_weight_backward(x2, weight2, grad, options2),
                    },
                );
            }
        }

        let nodes = [x.node(), weight.node()];
        let (x, weight) = (x.into_primitive(), weight.into_primitive());
        match Conv2dNoBias.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let state = (x.clone(), weight.clone(), options.clone());
                prep.finish(state, B::conv2d_no_bias(x, weight, options))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv2d_no_bias(x, weight, options)),
        }
    }

    fn channel_scale(x: FloatTensor<Self>, gate: FloatTensor<Self>) -> FloatTensor<Self> {
        /// Backward of the gate; its state is the forward's inputs.
        #[derive(Debug)]
        struct ChannelScale;

        impl<B: Backend + FlexKernels> Backward<B, 2> for ChannelScale {
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                all_at_once::<B, _, 2>(ops, grads, |(x, gate), grad| {
                    let (dx, dgate) = B::channel_scale_backward(x, gate, grad);
                    [dx, dgate]
                });
            }
        }

        let nodes = [x.node(), gate.node()];
        let (x, gate) = (x.into_primitive(), gate.into_primitive());
        match ChannelScale.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = B::channel_scale(x.clone(), gate.clone());
                prep.finish((x, gate), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::channel_scale(x, gate)),
        }
    }

    fn plane_mean(x: FloatTensor<Self>) -> FloatTensor<Self> {
        /// Backward of the plane mean; its state is the input's shape.
        #[derive(Debug)]
        struct PlaneMean;

        impl<B: Backend + FlexKernels> Backward<B, 1> for PlaneMean {
            type State = Shape;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let shape = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::plane_mean_backward(grad, shape)
                });
            }
        }

        let node = x.node();
        let x = x.into_primitive();
        match PlaneMean.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(x.shape(), B::plane_mean(x)),
            OpsKind::UnTracked(prep) => prep.finish(B::plane_mean(x)),
        }
    }

    fn batch_norm_act_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        options: BatchNormAct,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        /// Backward of batch norm and its activation; its state is the input, gamma, beta and
        /// the batch statistics (the normalised values are recomputed, not kept).
        #[derive(Debug)]
        struct BatchNormActTrain;

        impl<B: Backend + FlexKernels> Backward<B, 3> for BatchNormActTrain {
            type State = ([FloatTensor<B>; 5], BatchNormAct);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                all_at_once::<B, _, 3>(ops, grads, |(state, options), grad| {
                    let [x, gamma, beta, mean, variance] = state;
                    let (dx, dgamma, dbeta) = B::batch_norm_act_train_backward(
                        x, gamma, beta, mean, variance, grad, options,
                    );
                    [dx, dgamma, dbeta]
                });
            }
        }

        let nodes = [x.node(), gamma.node(), beta.node()];
        let (x, gamma, beta) = (
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
        );
        let prepared = BatchNormActTrain
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful();
        let (y, mean, variance) =
            B::batch_norm_act_train(x.clone(), gamma.clone(), beta.clone(), options);
        let y = match prepared {
            OpsKind::Tracked(prep) => {
                let state = [x, gamma, beta, mean.clone(), variance.clone()];
                prep.finish((state, options), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(y),
        };
        // The statistics are outputs without a gradient (running averages only read them).
        (y, Self::from_inner(mean), Self::from_inner(variance))
    }
}

/// A backward that computes the gradients of all `N` inputs in one call: `gradients(state,
/// grad)` with the node's gradient, each result registered for its parent (where the parent
/// tracks one). Burn's `unary` / `binary` helpers take one closure per input instead.
fn all_at_once<B: Backend, S, const N: usize>(
    ops: Ops<S, N>,
    grads: &mut Gradients,
    gradients: impl FnOnce(S, FloatTensor<B>) -> [FloatTensor<B>; N],
) {
    let grad = grads.consume::<B>(&ops.node);
    let values = gradients(ops.state, grad);
    for (node, value) in ops.parents.into_iter().zip(values) {
        if let Some(node) = node {
            grads.register::<B>(node.id, value);
        }
    }
}
