//! `cargo xtask loadtest`: `efficientnet serve` (release build) on loopback, loaded by closed-loop
//! clients at concurrency 1, 8 and 32, with batching on (`--max-batch 16 --max-wait-ms 5`) and
//! off (`--max-batch 1`): requests/s and p50/p99 latency in one table. The weights are random
//! (speed does not depend on them); every request posts `tests/fixtures/images/chelsea.jpg`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use efficientnet::EfficientNetConfig;
use efficientnet::weights::{Layout, Precision, export_safetensors};

use crate::process::{root, run};

/// Client concurrencies measured.
const CONCURRENCY: [usize; 3] = [1, 8, 32];

/// The server settings compared: a name and the flags.
const MODES: [(&str, &[&str]); 2] = [
    (
        "batching on (max batch 16, wait 5 ms)",
        &["--max-batch", "16", "--max-wait-ms", "5"],
    ),
    ("batching off (max batch 1)", &["--max-batch", "1"]),
];

/// One measured row.
struct Row {
    mode: &'static str,
    concurrency: usize,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs the load test of `model` with `requests` requests per row.
pub fn loadtest(cargo: &str, model: &str, requests: usize) -> Result<(), String> {
    run(Command::new(cargo).args(["build", "--release", "-p", "efficientnet-cli"]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let weights = random_weights(model, &target.join("loadtest"))?;
    let photo = std::fs::read(root().join("tests/fixtures/images/chelsea.jpg"))
        .map_err(|e| format!("reading the photo: {e}"))?;
    let binary = target.join("release").join("efficientnet");
    let mut rows = Vec::new();
    for (mode, flags) in MODES {
        let server = Server::start(&binary, model, &weights, flags)?;
        let url = format!("http://{}/v1/classify", server.addr);
        measure(&url, &photo, 8, 4)?; // warm-up
        for concurrency in CONCURRENCY {
            let (rps, mut latencies) = measure(&url, &photo, requests, concurrency)?;
            latencies.sort_by(f64::total_cmp);
            rows.push(Row {
                mode,
                concurrency,
                requests_per_second: rps,
                p50_ms: percentile(&latencies, 0.50),
                p99_ms: percentile(&latencies, 0.99),
            });
        }
        server.stop()?;
    }
    print_table(model, requests, &rows);
    Ok(())
}

/// A randomly initialised `model` as safetensors in `dir`; its path.
fn random_weights(model: &str, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("{model}-random.safetensors"));
    let config = EfficientNetConfig::from_name(model).map_err(|e| e.to_string())?;
    let model = config.init(&burn::tensor::Device::flex());
    export_safetensors(&model, Layout::Timm, &path, Precision::F32).map_err(|e| e.to_string())?;
    Ok(path)
}

/// `efficientnet serve` on a free loopback port.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Starts the server and waits (at most 120 s) until it listens.
    fn start(binary: &Path, model: &str, weights: &Path, flags: &[&str]) -> Result<Self, String> {
        let mut child = Command::new(binary)
            .args(["--device", "flex", "serve", "--model", model, "--weights"])
            .arg(weights)
            .args(["--addr", "127.0.0.1:0"])
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("server: {line}");
                if let Some(rest) = line.split(" at http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap_or_default().to_owned());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(addr) => Ok(Server { child, addr }),
            Err(_) => {
                let _ = child.kill();
                Err("the server did not start".into())
            }
        }
    }

    /// SIGTERM, then waits for a clean exit.
    fn stop(mut self) -> Result<(), String> {
        run(Command::new("kill").args(["-TERM", &self.child.id().to_string()]))?;
        let status = self.child.wait().map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the server exited with {status}"))
        }
    }
}

/// `n` requests from `concurrency` closed-loop clients: requests/s and each latency in ms.
fn measure(
    url: &str,
    photo: &[u8],
    n: usize,
    concurrency: usize,
) -> Result<(f64, Vec<f64>), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let start = Instant::now();
    let clients: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, latencies) = (Arc::clone(&next), Arc::clone(&latencies));
            let (url, photo) = (url.to_owned(), photo.to_vec());
            std::thread::spawn(move || client(&url, &photo, n, &next, &latencies))
        })
        .collect();
    for client in clients {
        client.join().map_err(|_| "a client panicked")??;
    }
    let seconds = start.elapsed().as_secs_f64();
    let latencies = latencies.lock().map_err(|_| "poisoned")?.clone();
    Ok((n as f64 / seconds, latencies))
}

/// One client: posts until `n` requests have been taken; every answer must be 200.
fn client(
    url: &str,
    photo: &[u8],
    n: usize,
    next: &AtomicUsize,
    latencies: &Mutex<Vec<f64>>,
) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    while next.fetch_add(1, Ordering::Relaxed) < n {
        let start = Instant::now();
        let mut response = agent
            .post(url)
            .header("Content-Type", "image/jpeg")
            .send(photo)
            .map_err(|e| format!("request: {e}"))?;
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        if response.status() != 200 {
            return Err(format!("answer {}: {body}", response.status()));
        }
        let ms = start.elapsed().as_secs_f64() * 1e3;
        latencies.lock().map_err(|_| "poisoned")?.push(ms);
    }
    Ok(())
}

/// The `q` quantile of sorted `values` (nearest rank).
fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// The Markdown table the README quotes.
fn print_table(model: &str, requests: usize, rows: &[Row]) {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "\n{model}, 224 px, flex, {threads} cores; {requests} requests per row from closed-loop \
         clients on loopback (chelsea.jpg, 451x300 JPEG; decode and preprocessing included)\n"
    );
    println!("| server | clients | requests/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {:.1} | {:.0} | {:.0} |",
            r.mode, r.concurrency, r.requests_per_second, r.p50_ms, r.p99_ms
        );
    }
}
