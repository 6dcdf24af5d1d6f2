//! Under load: concurrent requests batched and all answered right, a full server refusing
//! with 503, and SIGTERM losing no accepted request.

use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{Answer, Server, assert_same_predictions, fixture_bytes, post, predictions};

/// `n` requests posting `photos[i % len]` to `url` at once, each on its own thread.
fn concurrent(url: &str, photos: &[Arc<Vec<u8>>], n: usize) -> Vec<JoinHandle<Answer>> {
    let start = Arc::new(Barrier::new(n));
    (0..n)
        .map(|i| {
            let (url, photo, start) = (
                url.to_owned(),
                Arc::clone(&photos[i % photos.len()]),
                Arc::clone(&start),
            );
            std::thread::spawn(move || {
                start.wait();
                post(&url, &photo)
            })
        })
        .collect()
}

#[test]
fn two_hundred_concurrent_requests_are_batched_and_all_answered() {
    let server = Server::start(&["--max-batch", "16", "--max-wait-ms", "20"]);
    let url = server.url("/v1/classify");
    let photos = [
        "images/chelsea.jpg",
        "images/coffee.jpg",
        "images/odd/gray.png",
    ]
    .map(|name| Arc::new(fixture_bytes(name)));
    // Each photo alone first: the answers every batched one must match.
    let expected: Vec<_> = photos
        .iter()
        .map(|photo| predictions(&post(&url, photo).json()))
        .collect();
    let answers = concurrent(&url, &photos, 200);
    for (i, handle) in answers.into_iter().enumerate() {
        let answer = handle.join().expect("client thread");
        assert_eq!(answer.status, 200, "request {i}: {}", answer.body);
        // Batched convolutions may round differently from a batch of one.
        assert_same_predictions(&predictions(&answer.json()), &expected[i % 3], 1e-5);
    }
    let ok = server.metric("efficientnet_requests_total{route=\"/v1/classify\",status=\"200\"}");
    assert_eq!(ok, 203.0);
    let (batches, images) = (
        server.metric("efficientnet_batch_size_count"),
        server.metric("efficientnet_batch_size_sum"),
    );
    assert_eq!(images, 203.0);
    assert!(
        batches < images / 2.0,
        "{images} images in {batches} batches"
    );
    assert_eq!(server.metric("efficientnet_queue_depth"), 0.0);
}

#[test]
fn a_full_server_answers_503_with_retry_after() {
    // Two requests fill it; a 64-image batch that never fills keeps them waiting 10 s (long,
    // so that a loaded machine still queues both before the batch goes).
    let server = Server::start(&[
        "--max-in-flight",
        "2",
        "--max-batch",
        "64",
        "--max-wait-ms",
        "10000",
    ]);
    let url = server.url("/v1/classify");
    let photo = [Arc::new(fixture_bytes("images/coffee.jpg"))];
    let waiting = concurrent(&url, &photo, 2);
    server.wait_for_metric("efficientnet_queue_depth", 2.0);
    let refused = post(&url, &photo[0]);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.retry_after.as_deref(), Some("1"));
    assert!(
        refused.error().contains("2 requests already"),
        "{}",
        refused.body
    );
    for handle in waiting {
        let answer = handle.join().expect("client thread");
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
}

#[test]
fn sigterm_finishes_every_accepted_request_and_exits_0() {
    // All 8 wait in the queue (10 s for a 64-image batch) when SIGTERM comes.
    let server = Server::start(&["--max-batch", "64", "--max-wait-ms", "10000"]);
    let url = server.url("/v1/classify");
    let photo = [Arc::new(fixture_bytes("images/chelsea.jpg"))];
    let accepted = concurrent(&url, &photo, 8);
    server.wait_for_metric("efficientnet_queue_depth", 8.0);
    server.terminate();
    for handle in accepted {
        let answer = handle.join().expect("client thread");
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let (status, log) = server.wait(Duration::from_secs(60));
    assert!(status.success(), "exit {status}: {log}");
    assert!(log.contains("every accepted request was answered"), "{log}");
}
