//! What `GET /metrics` shows, in the OpenMetrics text format Prometheus scrapes:
//!
//! * `efficientnet_requests_total{route, status}`: answered requests;
//! * `efficientnet_request_duration_seconds{route}`: latency histogram, arrival to answer;
//! * `efficientnet_batch_size`: images per forward pass (histogram);
//! * `efficientnet_queue_depth`: images waiting for the inference thread;
//! * `efficientnet_requests_in_flight`: requests accepted and not yet answered.

use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The status counted for a request whose client went away before the answer (nginx's 499).
const CLIENT_GONE: u16 = 499;

/// A request being answered: counted in flight until dropped, then by its status.
pub struct InFlight<'a> {
    metrics: &'a Metrics,
    route: &'static str,
    start: Instant,
    status: u16,
}

impl InFlight<'_> {
    /// The request was answered with `status`.
    pub fn answered(mut self, status: u16) {
        self.status = status;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let m = self.metrics;
        m.in_flight.dec();
        let labels = RequestLabels {
            route: self.route,
            status: self.status,
        };
        m.requests.get_or_create(&labels).inc();
        m.latency
            .get_or_create(&RouteLabel { route: self.route })
            .observe(self.start.elapsed().as_secs_f64());
    }
}

/// The labels of a request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// One of the server's routes, or `other`.
    route: &'static str,
    /// The HTTP status answered.
    status: u16,
}

/// The label of a latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

/// Latency buckets: 1 ms to ~16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The metrics the inference thread updates.
#[derive(Clone)]
pub struct BatcherMetrics {
    /// Images queued and not yet taken into a batch.
    pub queue_depth: Gauge,
    /// Images per forward pass.
    pub batch_size: Histogram,
}

/// Every metric of the server, registered once.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabel, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    batcher: BatcherMetrics,
}

impl Metrics {
    /// Fresh metrics, all zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("efficientnet");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        let in_flight = Gauge::default();
        let batcher = BatcherMetrics {
            queue_depth: Gauge::default(),
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
        };
        registry.register("requests", "Requests answered", requests.clone());
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its answer",
            latency.clone(),
        );
        registry.register(
            "requests_in_flight",
            "Requests accepted and not yet answered",
            in_flight.clone(),
        );
        registry.register(
            "queue_depth",
            "Images waiting for the inference thread",
            batcher.queue_depth.clone(),
        );
        registry.register(
            "batch_size",
            "Images per forward pass",
            batcher.batch_size.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            in_flight,
            batcher,
        }
    }

    /// The handles the inference thread needs.
    pub fn batcher(&self) -> BatcherMetrics {
        self.batcher.clone()
    }

    /// A request to `route` has arrived; the guard records its answer.
    pub fn started(&self, route: &'static str) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight {
            metrics: self,
            route,
            start: Instant::now(),
            status: CLIENT_GONE,
        }
    }

    /// Everything, in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}
