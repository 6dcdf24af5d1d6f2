//! The HTTP routes, their JSON answers and errors, and the middleware that counts them.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::AppState;
use super::batcher::Job;
use super::upload;
use crate::predict::{Prediction, top_predictions};

/// The web page: one self-contained HTML file.
const PAGE: &str = include_str!("page.html");

/// The routes, with the metrics middleware (the body limit is `upload::image_bytes`'s).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/classify", post(classify))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

/// An error answer: `{"error": "...", "status": N}`, with `Retry-After` where asking again
/// later can help.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the client.
    pub message: String,
    /// Seconds after which to retry.
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// An error with `status`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `400 Bad Request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// `503 Service Unavailable`, to retry after a second.
    pub fn busy(message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(1),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }
}

/// The JSON body of an error.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    status: u16,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: &self.message,
            status: self.status.as_u16(),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// `?top_k=N`.
#[derive(Debug, Deserialize)]
pub struct ClassifyQuery {
    top_k: Option<usize>,
}

/// The answer of `POST /v1/classify`.
#[derive(Serialize)]
struct Classified {
    predictions: Vec<Prediction>,
    model: String,
    elapsed_ms: f64,
}

/// `POST /v1/classify`: the image's top-k classes.
async fn classify(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ClassifyQuery>, QueryRejection>,
    request: Request,
) -> Result<Json<Classified>, ApiError> {
    let start = Instant::now();
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let k = query.top_k.unwrap_or(5);
    if k == 0 || k > state.num_classes {
        return Err(ApiError::bad_request(format!(
            "top_k must be between 1 and {}, got {k}",
            state.num_classes
        )));
    }
    let _permit = state.in_flight.clone().try_acquire_owned().map_err(|_| {
        ApiError::busy(format!(
            "the server is answering {} requests already; try again shortly",
            state.max_in_flight
        ))
    })?;
    let probs = answer(&state, request).await?;
    Ok(Json(Classified {
        predictions: top_predictions(&probs, k, state.num_classes),
        model: state.model.clone(),
        elapsed_ms: start.elapsed().as_secs_f64() * 1e3,
    }))
}

/// Reads, decodes and queues `request`'s image; its probabilities. Reading the body and
/// answering from it each get `--timeout-ms`: `408` when the body is slower, `503` after.
async fn answer(state: &AppState, request: Request) -> Result<Vec<f32>, ApiError> {
    let read = upload::image_bytes(request, state.max_body);
    let bytes = tokio::time::timeout(state.timeout, read)
        .await
        .map_err(|_| ApiError::new(StatusCode::REQUEST_TIMEOUT, "the body arrived too slowly"))??;
    tokio::time::timeout(state.timeout, classify_bytes(state, bytes))
        .await
        .map_err(|_| {
            ApiError::busy(format!(
                "no answer within {} ms; the server is overloaded",
                state.timeout.as_millis()
            ))
        })?
}

/// Decodes and queues one image's bytes; its probabilities.
async fn classify_bytes(state: &AppState, bytes: Bytes) -> Result<Vec<f32>, ApiError> {
    let input = upload::preprocess(bytes, state.transform.clone()).await?;
    let (reply, answer) = oneshot::channel();
    state
        .queue
        .submit(Job { input, reply })
        .map_err(|_| ApiError::busy("the inference queue is full; try again shortly"))?;
    answer
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "inference stopped"))?
        .map_err(|reason| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, reason))
}

/// `GET /`.
async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// What `GET /healthz` answers.
#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    model: &'a str,
    num_classes: usize,
    input: [u32; 3],
    max_batch: usize,
}

/// `GET /healthz`: the server is up; which model it serves.
async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let crop = state.transform.crop;
    Json(Health {
        status: "ok",
        model: &state.model,
        num_classes: state.num_classes,
        input: [3, crop, crop],
        max_batch: state.max_batch,
    })
    .into_response()
}

/// `GET /metrics`.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(CONTENT_TYPE, content_type)], state.metrics.render()).into_response()
}

/// Any other path.
async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such route; the API is POST /v1/classify, GET /healthz, GET /metrics, GET /",
    )
}

/// A known path with the wrong method.
async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed; images go to POST /v1/classify",
    )
}

/// The route label of `path` (a fixed set, so that the metrics cannot grow with odd paths).
fn route_label(path: &str) -> &'static str {
    match path {
        "/" => "/",
        "/healthz" => "/healthz",
        "/metrics" => "/metrics",
        "/v1/classify" => "/v1/classify",
        _ => "other",
    }
}

/// Counts every request by route and status, and times it (a request whose client goes
/// away is dropped here mid-way, and counted as 499).
async fn record(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let in_flight = state.metrics.started(route_label(request.uri().path()));
    let response = next.run(request).await;
    in_flight.answered(response.status().as_u16());
    response
}
