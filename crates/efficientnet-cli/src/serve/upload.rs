//! A request's image: the raw body or the `multipart/form-data` field `image`, within the body
//! limit, then decoded and preprocessed on the blocking pool.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use bytes::BytesMut;
use efficientnet::preprocess::{EvalTransform, decode_image};
use http_body_util::BodyExt;

use super::routes::ApiError;

/// The multipart field that holds the image.
pub const FIELD: &str = "image";

/// The image bytes of `request`, whose body may hold at most `limit` bytes.
///
/// The body is read here, not by an extractor, so that an oversized one can be drained
/// (up to [`DRAIN_FACTOR`] times the limit) before the `413` goes out: closing a connection
/// with unread data makes the kernel reset it, and the client could lose the answer.
pub async fn image_bytes(request: Request, limit: usize) -> Result<Bytes, ApiError> {
    let (parts, body) = request.into_parts();
    let multipart = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    let body = read_limited(body, limit).await?;
    let bytes = if multipart {
        from_form(Request::from_parts(parts, Body::from(body))).await?
    } else {
        body
    };
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "no image: the body (or the form's `image` field) is empty",
        ));
    }
    Ok(bytes)
}

/// How much of an oversized body is read and dropped before answering `413`, in multiples
/// of the limit; a client sending more loses its connection without an answer.
pub const DRAIN_FACTOR: usize = 4;

/// The whole of `body` if it holds at most `limit` bytes; else `413`, once the rest has been
/// drained (at most `DRAIN_FACTOR * limit` bytes in all).
async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut data = BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        let Ok(chunk) = frame.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(chunk.len());
        if seen > DRAIN_FACTOR.saturating_mul(limit) {
            break;
        }
        if seen <= limit {
            data.extend_from_slice(&chunk);
        } else {
            data = BytesMut::new();
        }
    }
    if seen > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over the limit of {} MiB", limit >> 20),
        ));
    }
    Ok(data.freeze())
}

/// The `image` field of a multipart form; the other fields are skipped.
async fn from_form(request: Request) -> Result<Bytes, ApiError> {
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    let form_error = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(e.status(), format!("bad multipart form: {}", e.body_text()))
    };
    let mut others = Vec::new();
    while let Some(field) = form.next_field().await.map_err(form_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == FIELD {
            return field.bytes().await.map_err(form_error);
        }
        if others.len() < 8 {
            others.push(format!("`{}`", name.chars().take(64).collect::<String>()));
        }
    }
    let found = if others.is_empty() {
        "none".to_owned()
    } else {
        others.join(", ")
    };
    Err(ApiError::bad_request(format!(
        "the form has no field `{FIELD}` (fields: {found})"
    )))
}

/// `bytes` decoded and preprocessed by `transform` on the blocking pool: `[3, crop, crop]`.
pub async fn preprocess(bytes: Bytes, transform: EvalTransform) -> Result<Vec<f32>, ApiError> {
    let work =
        move || decode_image(Vec::from(bytes), "upload").map(|image| transform.apply(&image));
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(input)) => Ok(input),
        Ok(Err(efficientnet::Error::Image { reason, .. })) => Err(ApiError::bad_request(format!(
            "cannot read the image: {reason}"
        ))),
        Ok(Err(other)) => Err(ApiError::bad_request(other.to_string())),
        Err(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "decoding the image failed (panicked)",
        )),
    }
}
