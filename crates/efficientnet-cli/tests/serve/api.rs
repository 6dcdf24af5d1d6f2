//! The API's answers: the numbers `predict` prints, raw body or multipart, and the small
//! routes.

use ureq::unversioned::multipart::Form;

use crate::common::{bin, fixture, text};
use crate::{
    MODEL, Server, assert_same_predictions, fixture_bytes, get, post, post_form, predictions,
    weights,
};

/// `predict --json --top-k K` on `image`: its predictions.
fn predict(image: &str, k: usize) -> Vec<(u64, f64)> {
    let path = fixture(image);
    let out = bin()
        .args([
            "predict",
            "--model",
            MODEL,
            "--weights",
            weights(),
            "--json",
        ])
        .args(["--top-k", &k.to_string()])
        .arg(&path)
        .output()
        .expect("predict runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    predictions(&json[0])
}

#[test]
fn a_photo_is_classified_as_predict_classifies_it() {
    let server = Server::start(&[]);
    let url = server.url("/v1/classify");
    let photo = fixture_bytes("images/chelsea.jpg");

    let raw = post(&url, &photo);
    assert_eq!(raw.status, 200, "{}", raw.body);
    let json = raw.json();
    assert_eq!(json["model"], MODEL);
    assert!(json["elapsed_ms"].as_f64().expect("elapsed_ms") > 0.0);
    let expected = predict("images/chelsea.jpg", 5);
    assert_same_predictions(&predictions(&json), &expected, 1e-6);
    let first = &json["predictions"][0];
    assert_eq!(
        first["label"].as_str().expect("label"),
        efficientnet::imagenet::class_name(first["class"].as_u64().expect("class") as usize)
            .expect("an ImageNet class")
    );

    // The same file as the form field `image`, with top_k.
    let form = Form::new()
        .text("note", "ignored")
        .file("image", fixture("images/chelsea.jpg"))
        .expect("form");
    let multipart = post_form(&server.url("/v1/classify?top_k=8"), form);
    assert_eq!(multipart.status, 200, "{}", multipart.body);
    assert_same_predictions(
        &predictions(&multipart.json()),
        &predict("images/chelsea.jpg", 8),
        1e-6,
    );
}

#[test]
fn small_routes_and_bad_requests_answer_json() {
    let server = Server::start(&["--max-batch", "1"]);
    let (status, body) = get(&server.url("/healthz"));
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["model"], MODEL);
    assert_eq!(health["input"], serde_json::json!([3, 224, 224]));

    let (status, page) = get(&server.url("/"));
    assert_eq!(status, 200);
    assert!(page.contains("<input id=\"file\" type=\"file\" name=\"image\""));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no CDN"
    );

    let photo = fixture_bytes("images/coffee.jpg");
    for query in ["top_k=0", "top_k=1001", "top_k=many"] {
        let answer = post(&server.url(&format!("/v1/classify?{query}")), &photo);
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
        assert!(answer.error().contains("top_k"), "{query}: {}", answer.body);
    }
    let (status, body) = get(&server.url("/v1/classify"));
    assert_eq!(status, 405, "{body}");
    let (status, body) = get(&server.url("/v2/classify"));
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("POST /v1/classify"));

    let (status, metrics) = get(&server.url("/metrics"));
    assert_eq!(status, 200);
    for sample in [
        "efficientnet_requests_total{route=\"/healthz\",status=\"200\"} 1",
        "efficientnet_requests_total{route=\"/v1/classify\",status=\"400\"} 3",
        "efficientnet_requests_total{route=\"other\",status=\"404\"} 1",
        "efficientnet_queue_depth 0",
        "efficientnet_request_duration_seconds_bucket{",
    ] {
        assert!(metrics.contains(sample), "no `{sample}` in\n{metrics}");
    }
}
