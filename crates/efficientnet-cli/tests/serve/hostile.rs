//! Hostile uploads: each gets its status and a JSON error naming why, and the server keeps
//! serving after every one.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ureq::unversioned::multipart::Form;

use crate::common::fixture;
use crate::{Answer, Server, agent, fixture_bytes, post, post_form};

/// A body of `len` bytes streamed with chunked transfer encoding (no Content-Length).
fn post_chunked(url: &str, len: usize) -> Answer {
    let body = std::io::Cursor::new(vec![0u8; len]);
    let response = agent()
        .post(url)
        .header("Content-Type", "image/jpeg")
        .send(ureq::SendBody::from_owned_reader(body));
    crate::answer(response)
}

#[test]
fn hostile_uploads_get_their_status_and_the_server_keeps_serving() {
    let mut server = Server::start(&["--max-body-mib", "1", "--max-batch", "4"]);
    let url = server.url("/v1/classify");
    let photo = fixture_bytes("images/chelsea.jpg");
    let over_cap = vec![0u8; 3 << 19]; // 1.5 MiB
    let cases: Vec<(&str, Answer, u16, &str)> = vec![
        (
            "not an image",
            post(&url, b"GET / HTTP/1.1 -- plainly not a picture"),
            400,
            "not a recognised image format",
        ),
        (
            "truncated JPEG",
            post(&url, &fixture_bytes("hostile/truncated.jpg")),
            400,
            "truncated",
        ),
        (
            "truncated PNG",
            post(&url, &fixture_bytes("hostile/truncated.png")),
            400,
            "cannot read the image",
        ),
        (
            "decompression bomb",
            post(&url, &fixture_bytes("hostile/bomb.png")),
            400,
            "over the limit",
        ),
        (
            "WebP allocating past the limit",
            post(&url, &fixture_bytes("hostile/webp_huge_alloc.webp")),
            400,
            "over the limit",
        ),
        (
            "body over the cap",
            post(&url, &over_cap),
            413,
            "over the limit of 1 MiB",
        ),
        (
            "chunked body over the cap",
            post_chunked(&url, 3 << 19),
            413,
            "over the limit of 1 MiB",
        ),
        ("empty body", post(&url, b""), 400, "empty"),
        (
            "wrong multipart field",
            post_form(
                &url,
                Form::new()
                    .file("photo", fixture("images/chelsea.jpg"))
                    .expect("form"),
            ),
            400,
            "no field `image` (fields: `photo`)",
        ),
        (
            "empty multipart field",
            post_form(&url, Form::new().text("image", "")),
            400,
            "empty",
        ),
    ];
    for (what, answer, status, needle) in cases {
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        let error = answer.error();
        assert!(error.contains(needle), "{what}: `{error}` lacks `{needle}`");
        assert!(server.alive(), "{what} took the server down");
        let good = post(&url, &photo);
        assert_eq!(good.status, 200, "after {what}: {}", good.body);
    }
    assert_eq!(raw_request(&server, MALFORMED_MULTIPART).0, 400);
    // hyper answers 400 or just closes; either way the server goes on.
    let _ = raw_request(&server, GARBAGE);
    let good = post(&url, &photo);
    assert_eq!(good.status, 200, "after raw requests: {}", good.body);
    assert!(server.alive());
}

/// A multipart request whose content type has no boundary.
const MALFORMED_MULTIPART: &str = "POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n\
    Content-Type: multipart/form-data\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

/// Not HTTP at all.
const GARBAGE: &str = "\x16\x03\x01\x02\x00 not http\r\n\r\n";

/// Sends `request` as is on a fresh connection; the status of the answer (0 if the server
/// closed the connection without one) and the answer.
fn raw_request(server: &Server, request: &str) -> (u16, String) {
    let addr = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, reply)
}

#[test]
fn a_body_slower_than_the_timeout_gets_408() {
    let server = Server::start(&["--timeout-ms", "500"]);
    let addr = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = "POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n";
    stream.write_all(head.as_bytes()).expect("write");
    stream.write_all(&[0xFF, 0xD8, 0xFF]).expect("write"); // and then nothing
    let mut reply = vec![0u8; 4096];
    let n = stream
        .read(&mut reply)
        .expect("an answer before the read timeout");
    let reply = String::from_utf8_lossy(&reply[..n]);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("too slowly"), "{reply}");
    let good = post(
        &server.url("/v1/classify"),
        &fixture_bytes("images/coffee.jpg"),
    );
    assert_eq!(good.status, 200, "{}", good.body);
}
