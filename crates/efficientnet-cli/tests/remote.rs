//! Training over `efficientnet worker` processes on loopback (Burn's remote backend over
//! WebSocket): the run matches the same run on two local devices, and a worker that dies ends
//! the run with a clear error, its last checkpoint intact for `--resume`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{TINY_TRAIN, bin, scratch, text};
use efficientnet_train::last_checkpoint;

/// A worker process serving flex on a loopback port the OS picked; killed when dropped.
struct Worker {
    child: Child,
    url: String,
}

impl Worker {
    fn start() -> Worker {
        let mut child = bin()
            .args(["worker", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the worker starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        // Reads stderr to its end, so the pipe never fills; the first line names the address.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the worker prints its address");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("ws://"))
            .unwrap_or_else(|| panic!("no address in `{line}`"))
            .to_owned();
        Worker { child, url }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tiny run of `epochs` epochs of 4 steps of 24 images (8 per device of three), without
/// dropout or stochastic depth (so that no random draw happens on a device), on `devices`.
fn tiny_run(out: &Path, epochs: &str, devices: &str) -> Command {
    let batch = TINY_TRAIN
        .iter()
        .position(|a| *a == "--batch-size")
        .expect("a batch")
        + 1;
    let mut flags = TINY_TRAIN;
    flags[batch] = "24";
    let mut cmd = bin();
    cmd.args(flags)
        .args(["--synthetic-train", "96", "--synthetic-valid", "24"])
        .args(["--workers", "1", "--drop", "0", "--drop-path", "0"])
        .args(["--epochs", epochs, "--devices", devices, "--out"])
        .arg(out);
    cmd
}

fn metrics(out: &Path) -> Vec<Vec<f64>> {
    let csv = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv");
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(|f| f.parse().expect("a number")).collect())
        .collect()
}

fn succeeded(out: &Output) {
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn two_loopback_workers_train_like_local_devices() {
    let (a, b) = (Worker::start(), Worker::start());
    let local = scratch("local");
    succeeded(
        &tiny_run(&local, "3", "flex,flex,flex")
            .output()
            .expect("runs"),
    );
    let remote = scratch("remote");
    let devices = format!("flex,{},{}", a.url, b.url);
    succeeded(&tiny_run(&remote, "3", &devices).output().expect("runs"));

    let (want, got) = (metrics(&local), metrics(&remote));
    eprintln!("three local devices: {want:?}\none local and two remote: {got:?}");
    assert_eq!(got.len(), 3);
    // Same data, same shares, same summed gradients: the same first epoch up to float
    // rounding. Later epochs drift apart a little even between two local runs (the shares'
    // gradients are summed in the order the workers finish, and rounding compounds: 3.082
    // and 3.071 were two local runs' third-epoch losses), so they are held to 2%.
    for (x, y) in want[0].iter().zip(&got[0]) {
        assert!(
            (x - y).abs() <= 1e-3 * x.abs().max(1.0),
            "{want:?} vs {got:?}"
        );
    }
    for (w, g) in want.iter().zip(&got) {
        assert!((w[1] - g[1]).abs() <= 0.02 * w[1], "{want:?} vs {got:?}");
    }
    // And it learns: the training loss falls.
    assert!(got[2][1] < got[0][1], "train loss {got:?}");
    let summary = std::fs::read_to_string(remote.join("summary.json")).expect("summary");
    assert!(summary.contains("\"devices\": 3"), "{summary}");
}

#[test]
fn a_worker_that_dies_ends_the_run_cleanly_and_resume_continues() {
    let (a, mut b) = (Worker::start(), Worker::start());
    let out = scratch("killed-worker");
    let devices = format!("flex,{},{}", a.url, b.url);
    let mut run = tiny_run(&out, "6", &devices)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let start = Instant::now();
    while last_checkpoint(&out).is_none() {
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint");
        assert!(run.try_wait().expect("polls").is_none(), "ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    b.child.kill().expect("kills the worker");
    let ended = Instant::now();
    let output = run.wait_with_output().expect("the run ends");
    let stderr = text(&output.stderr);
    eprintln!(
        "the run ended {:.1} s after the kill: {stderr}",
        ended.elapsed().as_secs_f64()
    );
    assert!(!output.status.success(), "{stderr}");
    let last = stderr.trim().lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{stderr}");
    assert!(last.contains("worker was lost"), "{stderr}");
    assert!(last.contains("--resume --devices flex,ws://"), "{stderr}");
    assert!(!last.contains("panicked at"), "{stderr}");
    let kept = last_checkpoint(&out).expect("the checkpoint is intact");

    // A new worker takes the dead one's place; the run continues from the checkpoint.
    let c = Worker::start();
    let resumed = bin()
        .args(["train", "--resume", "--devices"])
        .arg(format!("flex,{},{}", a.url, c.url))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("resumes");
    succeeded(&resumed);
    assert!(
        text(&resumed.stdout).contains(&format!("starting at epoch {})", kept + 1)),
        "{}",
        text(&resumed.stdout)
    );
    assert_eq!(metrics(&out).len(), 6);
}

#[test]
fn unreachable_and_malformed_workers_are_clear_errors() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port();
    let out = scratch("unreachable");
    let output = tiny_run(&out, "1", &format!("flex,ws://127.0.0.1:{port}"))
        .output()
        .expect("runs");
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!(
            "cannot connect the worker at ws://127.0.0.1:{port}"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let output = tiny_run(&out, "1", "ws://127.0.0.1")
        .output()
        .expect("runs");
    assert!(
        text(&output.stderr).contains("expected ws://host:port"),
        "{}",
        text(&output.stderr)
    );
    // A worker first: refused before anything connects, with the reason and the fix.
    let output = tiny_run(&out, "1", "ws://127.0.0.1:9,flex")
        .output()
        .expect("runs");
    assert!(
        text(&output.stderr).contains("the first device must be one of this machine's"),
        "{}",
        text(&output.stderr)
    );
    let taken = Worker::start();
    let addr = taken.url.trim_start_matches("ws://").to_owned();
    let output = bin()
        .args(["worker", "--listen", &addr])
        .output()
        .expect("runs");
    assert!(
        text(&output.stderr).contains(&format!("error: cannot listen on {addr}")),
        "{}",
        text(&output.stderr)
    );
}
