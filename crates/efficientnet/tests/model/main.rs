//! Model tests on the flex backend (and, in `backends`, on ndarray and wgpu). One test binary (modules below) keeps link time down.

mod backends;
mod backward;
mod drop_path;
mod fast_path;
mod forward;
mod hostile;
mod images;
mod kernels;
// ONNX export, with the `onnx` feature (on in `cargo test --workspace`: the CLI enables it).
#[cfg(feature = "onnx")]
mod onnx;
mod padding;
mod params;
mod parity;
mod weights;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Distribution, Gradients, Tensor};

/// The CPU device the tests run on.
pub fn device() -> Device {
    Device::flex()
}

/// A random `[n, c, h, w]` batch from a standard normal.
pub fn images(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// Every value finite.
pub fn all_finite<const D: usize>(x: &Tensor<D>) -> bool {
    x.to_data().iter::<f32>().all(|v: f32| v.is_finite())
}

/// Every float tensor of `module` by path (as `efficientnet::tensors::float_tensors` names it:
/// `stem.conv.weight`, ...) with its gradient in `grads`, flattened, or `None` without one
/// (BatchNorm running statistics, untracked tensors).
pub fn named_grads<M: Module>(module: &M, grads: &Gradients) -> Vec<(String, Option<Vec<f32>>)> {
    struct Collect<'a>(&'a Gradients, Vec<Option<Vec<f32>>>);
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let grad = param.val().grad(self.0).map(|g| {
                let data = g.into_data().convert::<f32>();
                data.try_to_vec::<f32>().expect("f32 gradient")
            });
            self.1.push(grad);
        }
    }
    let mut collect = Collect(grads, Vec::new());
    module.visit(&mut collect);
    // Both walk the module in the same order.
    let paths = efficientnet::tensors::float_tensors(module)
        .into_iter()
        .map(|t| t.path);
    assert_eq!(paths.len(), collect.1.len());
    paths.zip(collect.1).collect()
}
