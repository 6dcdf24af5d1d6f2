//! Model tests on the flex backend (and, in `backends`, on ndarray and wgpu). One test binary (modules below) keeps link time down.

mod backends;
mod backward;
mod drop_path;
mod forward;
mod hostile;
mod images;
mod kernels;
mod padding;
mod params;
mod parity;
mod weights;

use burn::tensor::{Device, Distribution, Tensor};

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
