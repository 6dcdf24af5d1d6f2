//! `efficientnet serve`: an HTTP inference server with a web page.
//!
//! * `POST /v1/classify[?top_k=N]`: the image as the raw body or as the `multipart/form-data`
//!   field `image`; answers the top-k classes as JSON, the numbers `predict` prints.
//! * `GET /`: the web page (one self-contained HTML file); `GET /healthz`; `GET /metrics`
//!   (Prometheus / OpenMetrics text).
//!
//! A request is decoded on the blocking pool ([`upload`]), queued, and run through the model
//! by one inference thread in batches of up to `--max-batch`, which waits at most
//! `--max-wait-ms` for a batch to fill ([`batcher`]). Memory is bounded: at most
//! `--max-in-flight` requests are accepted at once (more get `503` with `Retry-After`), each
//! body at most `--max-body-mib`, each decoded image within the decoder's limits.

mod batcher;
mod metrics;
mod routes;
mod upload;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use burn::tensor::Device;
use clap::Args;
use efficientnet::preprocess::EvalTransform;
use tokio::sync::Semaphore;

use crate::error::{CliError, Result};
use crate::model_args::{self, ModelArgs, TransformArgs};

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    transform: TransformArgs,
    /// Address to listen on. Loopback by default; another address (`0.0.0.0:8080` for every
    /// interface) exposes the server to the network.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Most images per forward pass (1 turns batching off).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    max_batch: u32,
    /// Longest wait for a batch to fill, in milliseconds, once its first image is queued.
    #[arg(long, default_value_t = 5)]
    max_wait_ms: u64,
    /// Requests accepted at once (reading, decoding, queued or running); more get 503.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: u32,
    /// Largest request body, in MiB (413 beyond it).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=512))]
    max_body_mib: u64,
    /// Longest time, in milliseconds, for reading a request's body (else 408) and again for
    /// answering from it (else 503).
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// Decoding threads [default: the number of cores].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    workers: Option<u32>,
}

/// What every request handler shares.
pub(crate) struct AppState {
    /// The model's name, as the answers give it.
    model: String,
    /// Number of classes of the model.
    num_classes: usize,
    /// The eval transform the model's weight set wants.
    transform: EvalTransform,
    /// The inference queue.
    queue: batcher::Queue,
    /// Permits of the requests accepted at once.
    in_flight: Arc<Semaphore>,
    /// The counters `/metrics` shows.
    metrics: metrics::Metrics,
    /// `--max-in-flight`, for the answer when none is left.
    max_in_flight: usize,
    /// `--max-body-mib` in bytes.
    max_body: usize,
    /// `--max-batch`, for `/healthz`.
    max_batch: usize,
    /// `--timeout-ms`.
    timeout: Duration,
}

/// Runs `serve` until Ctrl-C or SIGTERM, then finishes the requests in flight and returns.
pub fn run(args: ServeArgs, device: &Device) -> Result<()> {
    let loaded = model_args::load_for_inference(&args.model, device)?;
    let transform = args.transform.apply(loaded.weight_set.transform.clone());
    let metrics = metrics::Metrics::new();
    let max_batch = args.max_batch as usize;
    let crop = transform.crop as usize;
    let num_classes = loaded.model.num_classes();
    let (queue, inference) = batcher::spawn(batcher::Settings {
        model: loaded.model,
        device: device.clone(),
        input: [3, crop, crop],
        max_batch,
        max_wait: Duration::from_millis(args.max_wait_ms),
        capacity: args.max_in_flight as usize,
        metrics: metrics.batcher(),
    })
    .map_err(|e| CliError::Serve(format!("cannot start the inference thread: {e}")))?;
    let workers = args.workers.map_or_else(cores, |w| w as usize);
    let state = Arc::new(AppState {
        model: args.model.model.to_string(),
        num_classes,
        transform,
        queue,
        in_flight: Arc::new(Semaphore::new(args.max_in_flight as usize)),
        metrics,
        max_in_flight: args.max_in_flight as usize,
        max_body: (args.max_body_mib << 20) as usize,
        max_batch,
        timeout: Duration::from_millis(args.timeout_ms),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| CliError::Serve(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(listen(args.addr, state))?;
    // The router (and with it the queue's sender) is gone: the inference thread ends.
    drop(runtime);
    inference
        .join()
        .map_err(|_| CliError::Serve("the inference thread panicked".into()))?;
    eprintln!("stopped; every accepted request was answered");
    Ok(())
}

/// The number of cores, or 1 where it cannot be told.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Binds `addr` and serves until a shutdown signal; requests in flight are finished.
async fn listen(addr: SocketAddr, state: Arc<AppState>) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Serve(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::Serve(format!("cannot read the bound address: {e}")))?;
    if !local.ip().is_loopback() {
        eprintln!("warning: serving on {local}, reachable from other machines");
    }
    eprintln!(
        "serving {} at http://{local}/ (max batch {}, {} requests in flight at most)",
        state.model, state.max_batch, state.max_in_flight
    );
    axum::serve(listener, routes::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| CliError::Serve(format!("server: {e}")))
}

/// Resolves on Ctrl-C or (Unix) SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    eprintln!("shutting down: no new connections, finishing the requests in flight");
}
