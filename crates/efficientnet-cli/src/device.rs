//! `--device`: which compiled-in backend runs the model.

use core::fmt;
use core::str::FromStr;

use burn::tensor::Device;

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

/// The backends this binary was built with, as `--device` spells them.
pub const COMPILED_IN: &[&str] = &[
    #[cfg(feature = "flex")]
    "flex",
    #[cfg(feature = "ndarray")]
    "ndarray",
    #[cfg(feature = "wgpu")]
    "wgpu",
    #[cfg(feature = "vulkan")]
    "vulkan",
    #[cfg(feature = "metal")]
    "metal",
    #[cfg(feature = "cuda")]
    "cuda",
];

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
        let no_index = |d: DeviceArg| match index {
            None => Ok(d),
            Some(_) => Err(format!("`{name}` takes no device index")),
        };
        match name {
            "flex" | "cpu" => no_index(DeviceArg::Flex),
            "ndarray" => no_index(DeviceArg::Ndarray),
            "wgpu" => Ok(DeviceArg::Wgpu(index)),
            "vulkan" => Ok(DeviceArg::Vulkan(index)),
            "metal" => Ok(DeviceArg::Metal(index)),
            "cuda" => Ok(DeviceArg::Cuda(index.unwrap_or(0))),
            _ => Err(format!(
                "unknown device `{s}`; expected flex, ndarray, wgpu[:i], vulkan[:i], metal[:i] or cuda[:i]"
            )),
        }
    }
}

impl fmt::Display for DeviceArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_index = |f: &mut fmt::Formatter<'_>, name, index: &Option<usize>| match index {
            Some(i) => write!(f, "{name}:{i}"),
            None => f.write_str(name),
        };
        match self {
            DeviceArg::Flex => f.write_str("flex"),
            DeviceArg::Ndarray => f.write_str("ndarray"),
            DeviceArg::Wgpu(i) => with_index(f, "wgpu", i),
            DeviceArg::Vulkan(i) => with_index(f, "vulkan", i),
            DeviceArg::Metal(i) => with_index(f, "metal", i),
            DeviceArg::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl DeviceArg {
    /// The Burn device, or an error naming the Cargo feature that compiles this backend in.
    pub fn device(self) -> Result<Device, String> {
        #[cfg(any(feature = "wgpu", feature = "vulkan", feature = "metal"))]
        let kind = |index: Option<usize>| match index {
            Some(i) => burn::tensor::DeviceKind::DiscreteGpu(i),
            None => burn::tensor::DeviceKind::DefaultDevice,
        };
        match self {
            #[cfg(feature = "flex")]
            DeviceArg::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            DeviceArg::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            DeviceArg::Wgpu(i) => Ok(Device::wgpu(kind(i))),
            #[cfg(feature = "vulkan")]
            DeviceArg::Vulkan(i) => Ok(Device::vulkan(kind(i))),
            #[cfg(feature = "metal")]
            DeviceArg::Metal(i) => Ok(Device::metal(kind(i))),
            #[cfg(feature = "cuda")]
            DeviceArg::Cuda(i) => Ok(Device::cuda(i)),
            #[allow(unreachable_patterns)]
            other => {
                let feature = match other {
                    DeviceArg::Flex => "flex",
                    DeviceArg::Ndarray => "ndarray",
                    DeviceArg::Wgpu(_) => "wgpu",
                    DeviceArg::Vulkan(_) => "vulkan",
                    DeviceArg::Metal(_) => "metal",
                    DeviceArg::Cuda(_) => "cuda",
                };
                Err(format!(
                    "device `{other}` is not compiled into this binary (compiled in: {}); \
                     rebuild with `cargo build -p efficientnet-cli --features {feature}`",
                    if COMPILED_IN.is_empty() {
                        "none".to_owned()
                    } else {
                        COMPILED_IN.join(", ")
                    }
                ))
            }
        }
    }
}

/// The device used when `--device` is not given: the first compiled-in backend
/// in the order CUDA, Metal, Vulkan, wgpu, flex, ndarray.
pub fn default_device_arg() -> Option<DeviceArg> {
    [
        (cfg!(feature = "cuda"), DeviceArg::Cuda(0)),
        (cfg!(feature = "metal"), DeviceArg::Metal(None)),
        (cfg!(feature = "vulkan"), DeviceArg::Vulkan(None)),
        (cfg!(feature = "wgpu"), DeviceArg::Wgpu(None)),
        (cfg!(feature = "flex"), DeviceArg::Flex),
        (cfg!(feature = "ndarray"), DeviceArg::Ndarray),
    ]
    .into_iter()
    .find_map(|(on, d)| on.then_some(d))
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
}
