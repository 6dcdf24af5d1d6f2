//! `efficientnet worker`: this machine's device as a remote device for `train --devices
//! ws://...` on another machine (Burn's remote server over WebSocket).

use std::net::{SocketAddr, TcpListener};

use burn::tensor::Device;
use clap::Args;

use crate::error::{CliError, Result};

/// Arguments of `worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Address to listen on. Loopback by default; to train from another machine, give this
    /// machine's address on a trusted network (`0.0.0.0:3000` for every interface): the
    /// WebSocket transport is unencrypted and unauthenticated.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
}

/// Runs `worker` until Ctrl-C or SIGTERM, serving `device` (the global `--device`).
pub fn run(args: WorkerArgs, device: &Device, device_name: &str) -> Result<()> {
    let listener = TcpListener::bind(args.listen)
        .map_err(|e| CliError::Remote(format!("cannot listen on {}: {e}", args.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::Remote(format!("cannot read the listening address: {e}")))?;
    if !local.ip().is_loopback() {
        eprintln!(
            "warning: listening on {local}, reachable from other machines; the WebSocket \
             transport is unencrypted and takes any client"
        );
    }
    eprintln!(
        "worker: serving {device_name} at ws://{local} (on the coordinator: train --devices \
         DEVICE,ws://{local}; Ctrl-C stops)"
    );
    serve(listener, device)
}

#[cfg(feature = "remote")]
fn serve(listener: TcpListener, device: &Device) -> Result<()> {
    use burn::server::{RemoteServer, WebSocketTransport};
    install_log();
    RemoteServer::new([device.clone()])
        .serve(WebSocketTransport::from_listener(listener))
        .map_err(|e| CliError::Remote(format!("worker stopped: {e}")))
}

/// The worker's log on stderr: warnings and errors (a client that went away, a session that
/// failed), or what `RUST_LOG` asks for (`RUST_LOG=info` shows every transfer). Installed
/// before Burn's server would install its own, which logs every tensor at info level.
#[cfg(feature = "remote")]
fn install_log() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

#[cfg(not(feature = "remote"))]
fn serve(_listener: TcpListener, _device: &Device) -> Result<()> {
    Err(crate::remote::not_compiled_in())
}
