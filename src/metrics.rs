//! Prometheus metrics: what an operator alerts on (see `docs/operations.md`).
//!
//! The code records through the `metrics` facade with the small functions below, one call where
//! something happens (an answer, a delivery, a rejected webhook, an ingest batch). Until
//! [`attach`] installs the Prometheus recorder (only when `metrics.bind` or `metrics.token` is
//! configured), the facade has no recorder and every call is a cheap no-op, so tests and the CLI
//! pay nothing.
//!
//! `/metrics` is served either on its own address (`metrics.bind`, e.g. a private interface the
//! Prometheus server reaches) or on the service's address behind `metrics.token`
//! (`Authorization: Bearer …`, compared in constant time); with both, on its own address behind
//! the token. The exposition format is the exporter's, not ours.
//!
//! Label values are bounded sets: route templates (not raw paths), known methods, status codes,
//! channel names, decline categories from `prompts/`, fixed reasons.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::answer::{Answer, Outcome};
use crate::config::MetricsConfig;
use crate::library::Library;

/// Latency buckets in seconds: from a cached answer (~1 ms) to the answer timeout (30 s).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls return the same handle).
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .and_then(PrometheusBuilder::install_recorder)
            // Only fails when another recorder is installed, which nothing in this program does.
            .expect("the Prometheus recorder is the only one installed");
        describe();
        handle
    })
}

/// Serves `/metrics` as configured and records every request of `app`. Returns `app` unchanged
/// when metrics are off (`metrics.bind` and `metrics.token` both empty).
pub async fn attach(app: Router, config: &MetricsConfig) -> anyhow::Result<Router> {
    if !config.enabled() {
        return Ok(app);
    }
    let handle = install();
    // Histograms are kept as bucket counts; upkeep drains their recent samples now and then,
    // so memory stays flat between scrapes.
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    });
    let token: Option<Arc<str>> =
        (!config.token.is_empty()).then(|| Arc::from(config.token.as_str()));
    let app = app.layer(axum::middleware::from_fn(track_request));
    if config.bind.is_empty() {
        return Ok(app.merge(routes(token)));
    }
    let listener = tokio::net::TcpListener::bind(&config.bind).await?;
    tracing::info!(address = %listener.local_addr()?, "metrics at /metrics");
    let metrics_app: Router = routes(token);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, metrics_app).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(app)
}

/// `GET /metrics`, behind `token` when one is given.
pub fn routes<S: Clone + Send + Sync + 'static>(token: Option<Arc<str>>) -> Router<S> {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(token)
}

async fn scrape(State(token): State<Option<Arc<str>>>, headers: HeaderMap) -> Response {
    if let Some(token) = token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !crate::channels::constant_time_eq(presented.as_bytes(), token.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics need the configured bearer token\n",
            )
                .into_response();
        }
    }
    let handle = install();
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}

/// Counts every request by route template, method and status, with its latency (to the response
/// head: a streamed `/v1/chat` answer is timed until its stream starts).
async fn track_request(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    histogram!("hoiluat_http_request_duration_seconds", "route" => route.clone(), "method" => method)
        .record(started.elapsed().as_secs_f64());
    counter!("hoiluat_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

/// Any other method a client invents is one label, not one each.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"];
    KNOWN
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or("other")
}

// ---------------------------------------------------------------------------------------------
// The calls the rest of the code makes.

/// An answer given by [`crate::answer::Assistant::ask`]: answered or declined (by reason), and
/// whether it was flagged for staff.
pub fn ask_outcome(answer: &Answer) {
    let (outcome, reason) = match &answer.outcome {
        Outcome::Answered => ("answered", String::new()),
        Outcome::Declined { category } => (
            "declined",
            category
                .clone()
                .unwrap_or_else(|| "no_relevant_text".into()),
        ),
    };
    let flagged = if answer.needs_review { "true" } else { "false" };
    counter!("hoiluat_asks_total", "outcome" => outcome, "reason" => reason, "flagged" => flagged)
        .increment(1);
}

/// A standalone question looked up in the answer cache.
pub fn answer_cache(hit: bool) {
    counter!("hoiluat_answer_cache_lookups_total", "result" => if hit { "hit" } else { "miss" })
        .increment(1);
}

/// Questions waiting for the model (`answer/gate.rs`), after one arrived or left.
pub fn model_queue_depth(waiting: u64) {
    gauge!("hoiluat_model_queue_depth").set(waiting as f64);
}

/// A question was admitted to the model after waiting `waited`.
pub fn model_admitted(waited: Duration) {
    histogram!("hoiluat_model_queue_wait_seconds").record(waited.as_secs_f64());
}

/// One delivery attempt's outcome on a channel: `sent`, `retried` (a retryable error, tried
/// again), `failed` or `outside_window`.
pub fn delivery(channel: &'static str, outcome: &'static str) {
    counter!("hoiluat_channel_deliveries_total", "channel" => channel, "outcome" => outcome)
        .increment(1);
}

/// A webhook request refused before it was stored (bad signature or secret, unreadable event).
pub fn webhook_rejected(channel: &'static str, reason: &'static str) {
    counter!("hoiluat_webhook_rejections_total", "channel" => channel, "reason" => reason)
        .increment(1);
}

/// The searchable index after a start-up or re-index.
pub fn index_size(chunks: usize, library: &Library) {
    gauge!("hoiluat_index_chunks").set(chunks as f64);
    gauge!("hoiluat_index_documents").set(library.documents().len() as f64);
    gauge!("hoiluat_index_articles").set(library.article_count() as f64);
}

/// Embedding progress of the running ingest: `done` of `total` chunks to embed.
pub fn ingest_progress(done: usize, total: usize) {
    gauge!("hoiluat_ingest_chunks_done").set(done as f64);
    gauge!("hoiluat_ingest_chunks_total").set(total as f64);
}

/// The PostgreSQL pool after a connection was lent or given back.
pub fn db_pool(open: usize, idle: usize, size: usize) {
    gauge!("hoiluat_db_pool_connections", "state" => "in_use")
        .set(open.saturating_sub(idle) as f64);
    gauge!("hoiluat_db_pool_connections", "state" => "idle").set(idle as f64);
    gauge!("hoiluat_db_pool_size").set(size as f64);
}

/// Held while a database call runs (both backends), waiting for the connection included.
pub struct DbCall {
    started: Instant,
}

impl DbCall {
    pub fn start() -> DbCall {
        gauge!("hoiluat_db_calls_in_flight").increment(1.0);
        DbCall {
            started: Instant::now(),
        }
    }
}

impl Drop for DbCall {
    fn drop(&mut self) {
        gauge!("hoiluat_db_calls_in_flight").decrement(1.0);
        histogram!("hoiluat_db_call_duration_seconds").record(self.started.elapsed().as_secs_f64());
    }
}

/// Names and help texts of every series, for the exposition's `# HELP` lines.
const COUNTERS: [(&str, &str); 5] = [
    ("hoiluat_http_requests_total", "HTTP requests by route template, method and status."),
    ("hoiluat_asks_total", "Questions answered or declined (reason: out-of-scope category, not_in_force_only, no_relevant_text), and whether flagged for staff."),
    ("hoiluat_answer_cache_lookups_total", "Answer-cache lookups of standalone questions, by hit or miss."),
    ("hoiluat_channel_deliveries_total", "Reply parts sent, retried, failed or refused as outside the platform's window, by channel."),
    ("hoiluat_webhook_rejections_total", "Webhook requests refused before storing, by channel and reason."),
];
const GAUGES: [(&str, &str); 9] = [
    (
        "hoiluat_model_queue_depth",
        "Questions waiting for an embedding session.",
    ),
    ("hoiluat_index_chunks", "Chunks in the searchable index."),
    (
        "hoiluat_index_documents",
        "Documents in the library answers quote from.",
    ),
    (
        "hoiluat_index_articles",
        "Articles and sections in the library.",
    ),
    (
        "hoiluat_ingest_chunks_done",
        "Chunks embedded or taken from the vector cache by the running (or last) ingest.",
    ),
    (
        "hoiluat_ingest_chunks_total",
        "Chunks the running (or last) ingest has to embed.",
    ),
    (
        "hoiluat_db_pool_connections",
        "PostgreSQL connections in use and idle.",
    ),
    (
        "hoiluat_db_pool_size",
        "Most PostgreSQL connections the pool opens (database.pool_size).",
    ),
    (
        "hoiluat_db_calls_in_flight",
        "Database calls running or waiting for a connection.",
    ),
];
const HISTOGRAMS: [(&str, &str); 3] = [
    (
        "hoiluat_http_request_duration_seconds",
        "Time to the response head, by route template and method.",
    ),
    (
        "hoiluat_model_queue_wait_seconds",
        "How long a question waited for an embedding session.",
    ),
    (
        "hoiluat_db_call_duration_seconds",
        "Database calls, waiting for the connection included.",
    ),
];

fn describe() {
    for (name, help) in COUNTERS {
        describe_counter!(name, help);
    }
    for (name, help) in GAUGES {
        describe_gauge!(name, help);
    }
    for (name, help) in HISTOGRAMS {
        describe_histogram!(name, metrics::Unit::Seconds, help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
