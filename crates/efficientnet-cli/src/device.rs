//! `--device`: which compiled-in backend runs the model.

use core::fmt;
use core::str::FromStr;

use burn::tensor::Device;

use crate::backends::{self, BACKENDS, Backend, Kind, either};

/// A backend named on the command line, optionally with a device index (`cuda:1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceArg {
    /// Burn's pure-Rust CPU backend (default feature).
    Flex,
    /// The ndarray CPU backend.
    Ndarray,
    /// wgpu on the platform's default graphics API.
    Wgpu(Option<usize>),
    /// wgpu on Vulkan.
    Vulkan(Option<usize>),
    /// wgpu on Metal.
    Metal(Option<usize>),
    /// CUDA.
    Cuda(usize),
}

impl FromStr for DeviceArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase();
        let (name, index) = match lower.split_once(':') {
            Some((name, index)) => {
                let index = index
                    .parse::<usize>()
                    .map_err(|_| format!("device index `{index}` is not a number"))?;
                (name, Some(index))
            }
            None => (lower.as_str(), None),
        };
        let backend = backends::for_device(name)
            .ok_or_else(|| format!("unknown device `{s}`; expected {}", either(&spellings())))?;
        if index.is_some() && !backend.takes_index {
            return Err(format!("`{name}` takes no device index"));
        }
        Ok(DeviceArg::new(backend.kind, index))
    }
}

impl fmt::Display for DeviceArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.backend().name;
        match self.index() {
            Some(i) => write!(f, "{name}:{i}"),
            None => f.write_str(name),
        }
    }
}

impl DeviceArg {
    /// `kind`'s device `index`, or its default device (CUDA: device 0).
    fn new(kind: Kind, index: Option<usize>) -> Self {
        match kind {
            Kind::Flex => DeviceArg::Flex,
            Kind::Ndarray => DeviceArg::Ndarray,
            Kind::Wgpu => DeviceArg::Wgpu(index),
            Kind::Vulkan => DeviceArg::Vulkan(index),
            Kind::Metal => DeviceArg::Metal(index),
            Kind::Cuda => DeviceArg::Cuda(index.unwrap_or(0)),
        }
    }

    /// Which backend, and the device index if one is set.
    fn parts(self) -> (Kind, Option<usize>) {
        match self {
            DeviceArg::Flex => (Kind::Flex, None),
            DeviceArg::Ndarray => (Kind::Ndarray, None),
            DeviceArg::Wgpu(i) => (Kind::Wgpu, i),
            DeviceArg::Vulkan(i) => (Kind::Vulkan, i),
            DeviceArg::Metal(i) => (Kind::Metal, i),
            DeviceArg::Cuda(i) => (Kind::Cuda, Some(i)),
        }
    }

    fn index(self) -> Option<usize> {
        self.parts().1
    }

    /// The backend's entry in the table of backends.
    pub fn backend(self) -> &'static Backend {
        backends::of(self.parts().0)
    }

    /// Whether Burn's DistributedDataParallel (`train --ddp`) runs on this device.
    pub fn supports_ddp(&self) -> bool {
        self.backend().ddp
    }

    /// The Burn device, or an error naming the Cargo feature that compiles this backend in.
    pub fn device(&self) -> Result<Device, NotCompiledIn> {
        let (kind, index) = self.parts();
        match constructor(kind) {
            Some(make) => Ok(make(index)),
            None => Err(NotCompiledIn {
                message: format!(
                    "device `{self}` is not compiled into this binary (compiled in: {}); \
                     rebuild with `cargo build -p efficientnet-cli --features {}`",
                    compiled_in_list(),
                    self.backend().feature
                ),
            }),
        }
    }
}

/// A `--device` whose backend this binary was built without. Its message (the error reads
/// as it, and derefs to it) names the Cargo feature that compiles the backend in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NotCompiledIn {
    message: String,
}

impl core::ops::Deref for NotCompiledIn {
    type Target = str;

    fn deref(&self) -> &str {
        &self.message
    }
}

/// Makes a device of a compiled-in backend from an optional index; `None` for a backend this
/// binary was built without. The only place that names the Cargo features in `cfg`.
fn constructor(kind: Kind) -> Option<fn(Option<usize>) -> Device> {
    match kind {
        #[cfg(feature = "flex")]
        Kind::Flex => Some(|_| Device::flex()),
        #[cfg(feature = "ndarray")]
        Kind::Ndarray => Some(|_| Device::ndarray()),
        #[cfg(feature = "wgpu")]
        Kind::Wgpu => Some(|i| Device::wgpu(gpu(i))),
        #[cfg(feature = "vulkan")]
        Kind::Vulkan => Some(|i| Device::vulkan(gpu(i))),
        #[cfg(feature = "metal")]
        Kind::Metal => Some(|i| Device::metal(gpu(i))),
        #[cfg(feature = "cuda")]
        Kind::Cuda => Some(|i| Device::cuda(i.unwrap_or(0))),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The wgpu adapter: discrete GPU `index`, or the default one.
#[cfg(any(feature = "wgpu", feature = "vulkan", feature = "metal"))]
fn gpu(index: Option<usize>) -> burn::tensor::DeviceKind {
    match index {
        Some(i) => burn::tensor::DeviceKind::DiscreteGpu(i),
        None => burn::tensor::DeviceKind::DefaultDevice,
    }
}

/// The backends this binary was built with, as `--device` spells them (`none` without any).
fn compiled_in_list() -> String {
    let names: Vec<&str> = BACKENDS
        .iter()
        .filter(|b| constructor(b.kind).is_some())
        .map(|b| b.name)
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// Every backend as `--device` spells it (`flex`, `cuda[:i]`).
fn spellings() -> Vec<String> {
    BACKENDS.iter().map(Backend::spelling).collect()
}

/// `--device`'s help: the spellings and the order of preference without it.
pub fn help() -> String {
    let order: Vec<&str> = backends::by_preference().iter().map(|b| b.name).collect();
    format!(
        "Backend and device: {} (default: the first compiled-in of {})",
        spellings().join(", "),
        order.join(", ")
    )
}

/// Every backend's Cargo feature, comma separated.
pub fn features() -> String {
    let features: Vec<&str> = BACKENDS.iter().map(|b| b.feature).collect();
    features.join(", ")
}

/// The device used when `--device` is not given: the compiled-in backend of the lowest
/// preference rank (CUDA, Metal, Vulkan, wgpu, flex, ndarray), on its default device.
pub fn default_device_arg() -> Option<DeviceArg> {
    backends::by_preference()
        .into_iter()
        .find(|b| constructor(b.kind).is_some())
        .map(|b| DeviceArg::new(b.kind, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_indices() {
        assert_eq!("flex".parse(), Ok(DeviceArg::Flex));
        assert_eq!("CUDA:1".parse(), Ok(DeviceArg::Cuda(1)));
        assert_eq!("cuda".parse(), Ok(DeviceArg::Cuda(0)));
        assert_eq!("vulkan".parse(), Ok(DeviceArg::Vulkan(None)));
        assert_eq!("wgpu:2".parse(), Ok(DeviceArg::Wgpu(Some(2))));
        assert!("tpu".parse::<DeviceArg>().is_err());
        assert!("cuda:x".parse::<DeviceArg>().is_err());
        assert!("flex:0".parse::<DeviceArg>().is_err());
    }

    #[cfg(all(feature = "flex", not(feature = "cuda")))]
    #[test]
    fn a_missing_backend_names_its_feature() {
        assert!(DeviceArg::Flex.device().is_ok());
        let err = DeviceArg::Cuda(0).device().expect_err("cuda is off");
        assert!(err.contains("--features cuda"), "{err}");
    }

    #[test]
    fn names_order_and_facts_come_from_the_table() {
        assert_eq!(
            help(),
            "Backend and device: flex, ndarray, wgpu[:i], vulkan[:i], metal[:i], cuda[:i] \
             (default: the first compiled-in of cuda, metal, vulkan, wgpu, flex, ndarray)"
        );
        assert_eq!(
            "tpu".parse::<DeviceArg>(),
            Err(
                "unknown device `tpu`; expected flex, ndarray, wgpu[:i], vulkan[:i], \
                 metal[:i] or cuda[:i]"
                    .to_owned()
            )
        );
        assert_eq!(features(), "flex, ndarray, wgpu, vulkan, metal, cuda");
        for spelled in [
            "flex", "ndarray", "wgpu", "wgpu:1", "vulkan:0", "metal", "cuda:3",
        ] {
            let arg: DeviceArg = spelled.parse().expect("a device");
            assert_eq!(arg.to_string(), spelled);
        }
        assert_eq!("cpu".parse(), Ok(DeviceArg::Flex));
        assert!(DeviceArg::Cuda(1).supports_ddp());
        assert!(!DeviceArg::Wgpu(None).supports_ddp() && !DeviceArg::Flex.supports_ddp());
    }
}
