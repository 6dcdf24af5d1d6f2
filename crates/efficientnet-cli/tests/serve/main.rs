//! `efficientnet serve` over loopback with a real HTTP client (ureq): answers as `predict`
//! gives them, batching under concurrent load, hostile uploads, a full queue, graceful
//! shutdown, and the web page in headless Chromium.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod browser;
mod hostile;
mod load;

use std::io::{BufRead, BufReader};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{bin, random_lite0};

/// The model every test serves.
const MODEL: &str = "tf_efficientnet_lite0";

/// A full-size random Lite0 (timm layout), written once per test process.
fn weights() -> &'static str {
    static WEIGHTS: OnceLock<String> = OnceLock::new();
    WEIGHTS.get_or_init(|| random_lite0("serve-lite0.safetensors"))
}

/// A running `efficientnet serve` on a free loopback port.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts the server on the random Lite0 with `extra` flags; returns once it listens.
    pub fn start(extra: &[&str]) -> Server {
        Self::start_with(MODEL, weights(), extra)
    }

    /// Starts the server on `model` with `weights` and `extra` flags.
    pub fn start_with(model: &str, weights: &str, extra: &[&str]) -> Server {
        let mut child = bin()
            .args(["serve", "--model", model, "--weights", weights])
            .args(["--addr", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // "serving MODEL at http://127.0.0.1:PORT/ (...)"
                if let Some(rest) = line.split(" at http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap_or_default().to_owned());
                }
                let mut log = sink.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("the server did not start: {}", log.lock().expect("log"))
            });
        let base = format!("http://{addr}");
        Server { child, base, log }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (at most `limit`) for the process to exit; its status and everything it logged.
    pub fn wait(mut self, limit: Duration) -> (ExitStatus, String) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.log.lock().expect("log").clone());
            }
            assert!(start.elapsed() < limit, "the server did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The value of the sample `name` (with its labels, as written) in `/metrics`, or 0.
    pub fn metric(&self, name: &str) -> f64 {
        let text = get(&self.url("/metrics")).1;
        text.lines()
            .filter_map(|line| line.strip_prefix(name))
            .filter_map(|rest| rest.strip_prefix(' '))
            .filter_map(|value| value.trim().parse::<f64>().ok())
            .sum()
    }

    /// Polls `/metrics` until the sample `name` reaches `at_least` (at most 60 s).
    pub fn wait_for_metric(&self, name: &str, at_least: f64) {
        let start = Instant::now();
        while self.metric(name) < at_least {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{name} never reached {at_least}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that returns error statuses as answers, with a generous overall timeout.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// A response's status, headers and body text.
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `Retry-After` header.
    pub retry_after: Option<String>,
    /// The body.
    pub body: String,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `error` of a JSON error body, checked to match the status.
    pub fn error(&self) -> String {
        let json = self.json();
        assert_eq!(json["status"].as_u64(), Some(u64::from(self.status)));
        json["error"].as_str().expect("error message").to_owned()
    }
}

/// Reads a ureq response.
fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = response.expect("request completes");
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Answer {
        status: response.status().as_u16(),
        retry_after,
        body: response.body_mut().read_to_string().expect("body"),
    }
}

/// `GET url`: status and body.
pub fn get(url: &str) -> (u16, String) {
    let a = answer(agent().get(url).call());
    (a.status, a.body)
}

/// `POST url` with `body` as the raw request body.
pub fn post(url: &str, body: &[u8]) -> Answer {
    answer(
        agent()
            .post(url)
            .header("Content-Type", "application/octet-stream")
            .send(body),
    )
}

/// `POST url` with a multipart form.
pub fn post_form(url: &str, form: ureq::unversioned::multipart::Form<'_>) -> Answer {
    answer(agent().post(url).send(form))
}

/// The bytes of the fixture `name`.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(common::fixture(name)).expect("fixture")
}

/// `(class, probability)` of each prediction of a classify (or `predict --json`) answer.
pub fn predictions(json: &serde_json::Value) -> Vec<(u64, f64)> {
    json["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .map(|p| {
            (
                p["class"].as_u64().expect("class"),
                p["probability"].as_f64().expect("probability"),
            )
        })
        .collect()
}

/// Asserts that two prediction lists name the same classes with probabilities within `tol`.
pub fn assert_same_predictions(got: &[(u64, f64)], want: &[(u64, f64)], tol: f64) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.0, w.0, "classes differ: {got:?} vs {want:?}");
        assert!(
            (g.1 - w.1).abs() <= tol,
            "probabilities differ: {got:?} vs {want:?}"
        );
    }
}
