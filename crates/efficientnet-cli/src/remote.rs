//! Training past one machine on Burn's remote backend (`burn::remote`, `burn::server`).
//!
//! `efficientnet worker --listen ADDR` serves this machine's device over WebSocket; a
//! `ws://host:port` entry of `train --devices` connects such a worker's device, which the
//! coordinator then uses as one more device of Burn's multi-device strategy: the model is
//! copied to the worker every step, the worker runs the forward and backward pass of its share
//! of the batch, and its gradients come back to the first device, which holds the optimizer.
//!
//! WebSocket is unencrypted and this crate sets no credential: run workers on a trusted
//! network (or a tunnel), as Burn's own documentation says of this transport.

use core::fmt;
use core::str::FromStr;

use burn::tensor::Device;

use crate::device::DeviceArg;
use crate::error::{CliError, Result};

/// A worker's address as `--devices` takes it: `ws://host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteArg {
    /// `host:port`, without the scheme.
    authority: String,
}

impl FromStr for RemoteArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let authority = s
            .trim()
            .strip_prefix("ws://")
            .ok_or_else(|| format!("`{s}` is not a worker address (expected ws://host:port)"))?
            .trim_end_matches('/');
        let port = authority
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()));
        match port {
            Some((host, Ok(port))) if !host.is_empty() && port != 0 && !host.contains('/') => {
                Ok(RemoteArg {
                    authority: authority.to_owned(),
                })
            }
            _ => Err(format!(
                "`{s}` is not a worker address: expected ws://host:port, such as \
                 ws://10.0.0.2:3000 (the address `efficientnet worker --listen` prints)"
            )),
        }
    }
}

impl fmt::Display for RemoteArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ws://{}", self.authority)
    }
}

impl RemoteArg {
    /// Connects the worker's device (its device 0), waiting for the server's answer.
    #[cfg(feature = "remote")]
    pub fn connect(&self) -> Result<Device> {
        let host = burn::remote::RemoteHost::websocket(&self.to_string());
        Device::remote_options(&host).init().map_err(|e| {
            CliError::Remote(format!(
                "cannot connect the worker at {self}: {e} (is `efficientnet worker --listen \
                 {}` running there, and is the port open?)",
                self.authority
            ))
        })
    }

    /// Without the `remote` feature: the error naming it.
    #[cfg(not(feature = "remote"))]
    pub fn connect(&self) -> Result<Device> {
        Err(not_compiled_in())
    }
}

/// The error of a binary built without the `remote` feature.
#[cfg(not(feature = "remote"))]
pub fn not_compiled_in() -> CliError {
    CliError::Remote(
        "remote workers are not compiled into this binary; rebuild with \
         `cargo build -p efficientnet-cli --features remote`"
            .into(),
    )
}

/// One entry of `train --devices`: a device of this machine, or a worker's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrainDevice {
    /// A backend of this binary (`flex`, `cuda:1`).
    Local(DeviceArg),
    /// The device an `efficientnet worker` serves.
    Remote(RemoteArg),
}

impl FromStr for TrainDevice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().contains("://") {
            s.parse().map(TrainDevice::Remote)
        } else {
            s.parse().map(TrainDevice::Local)
        }
    }
}

impl fmt::Display for TrainDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainDevice::Local(device) => device.fmt(f),
            TrainDevice::Remote(remote) => remote.fmt(f),
        }
    }
}

impl TrainDevice {
    /// Whether it is a worker's.
    pub fn is_remote(&self) -> bool {
        matches!(self, TrainDevice::Remote(_))
    }

    /// Whether Burn's DistributedDataParallel runs on it (local CUDA devices only).
    pub fn supports_ddp(&self) -> bool {
        matches!(self, TrainDevice::Local(device) if device.supports_ddp())
    }

    /// The Burn device: a local one, or a connected worker's.
    pub fn device(&self) -> Result<Device> {
        match self {
            TrainDevice::Local(device) => Ok(device.device()?),
            TrainDevice::Remote(remote) => remote.connect(),
        }
    }
}

/// Refuses the placements of workers in `--devices` that Burn 0.22.1's multi-device step cannot
/// run: a worker as the first device (it would hold the optimizer and receive every gradient)
/// and a second worker (two workers exchange tensors directly and fail at random).
pub fn check_placement(devices: &[TrainDevice]) -> Result<()> {
    if let Some(TrainDevice::Remote(first)) = devices.first() {
        return Err(CliError::Usage(format!(
            "--devices: the first device must be one of this machine's (flex, cuda:0, \
             wgpu:0), not the worker {first}: it holds the optimizer and receives every \
             worker's gradients, and with a worker in that place Burn 0.22.1's \
             multi-device step stops at its first step (the worker's session panics \
             \"Should have handle for tensor\"); for example --devices flex,{first}"
        )));
    }
    let workers: Vec<_> = devices.iter().filter(|d| d.is_remote()).collect();
    if let [_, second, ..] = workers[..] {
        return Err(CliError::Usage(format!(
            "--devices: one worker per run ({second} is a second): with two, Burn 0.22.1's \
             workers exchange tensors directly and their sessions fail at random (\
             \"Failed to download tensor for transfer\", then \"Should have handle for \
             tensor\"), which stops the run or leaves it waiting; train on this machine's \
             devices and one worker"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_worker_addresses_and_local_devices() {
        let remote: TrainDevice = "ws://10.0.0.2:3000".parse().expect("a worker");
        assert_eq!(remote.to_string(), "ws://10.0.0.2:3000");
        assert_eq!(
            "ws://gpu-box:3000/".parse::<TrainDevice>(),
            Ok(TrainDevice::Remote(RemoteArg {
                authority: "gpu-box:3000".into()
            }))
        );
        assert!("ws://[::1]:3000".parse::<TrainDevice>().is_ok());
        assert_eq!("cuda:1".parse(), Ok(TrainDevice::Local(DeviceArg::Cuda(1))));
        for bad in [
            "ws://",
            "ws://host",
            "ws://host:0",
            "ws://host:port",
            "ws://:3000",
            "ws://a/b:3000",
            "http://host:3000",
            "wss://host:3000",
        ] {
            let err = bad.parse::<TrainDevice>().expect_err(bad);
            assert!(err.contains("worker address"), "{bad}: {err}");
        }
        assert!(!remote.supports_ddp());
        assert!(TrainDevice::Local(DeviceArg::Cuda(0)).supports_ddp());
    }
}
