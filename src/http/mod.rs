//! The HTTP API (axum). Handlers only translate between the wire and [`Assistant`]; the router is
//! a function of its state so tests drive it without a port.

pub mod dto;
pub mod error;
pub mod json;
pub mod openapi;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRef, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::future::BoxFuture;
use tokio::sync::Semaphore;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::answer::{Answer, Assistant};
use crate::config::ServerConfig;
use crate::ingest::IngestProgress;
use crate::ready::Ready;
use dto::{ArticleResponse, AskRequest, AskResponse, IndexStatus, StatusResponse};
use error::ApiError;
use json::{BodyLimit, JsonBody};

/// Longest accepted article id in a URL.
const MAX_ARTICLE_ID_CHARS: usize = 100;

/// Where `POST /v1/ask` records what it answered — the question, the answer and its flags — so
/// that its flagged answers reach the staff queue like the channels' (in `serve`, the channels'
/// dispatcher, over the database).
pub trait AnswerLog: Send + Sync {
    /// Records one exchange. Failures are the log's to report; the answer is given regardless.
    fn record<'a>(&'a self, question: &'a str, answer: &'a Answer) -> BoxFuture<'a, ()>;
}

/// Shared state of the handlers. The assistant is set once start-up (which may ingest for minutes)
/// has finished; until then the API answers "not ready" and `/readyz` says so.
#[derive(Clone)]
pub struct AppState {
    ready: Ready,
    /// How far the index is; reported by `/readyz` and `/v1/status`.
    index_progress: Arc<IngestProgress>,
    asks_in_flight: Arc<Semaphore>,
    max_body_bytes: usize,
    ask_timeout: Duration,
    queue_wait: Duration,
    log: Option<Arc<dyn AnswerLog>>,
}

impl AppState {
    pub fn new(server: &ServerConfig) -> AppState {
        AppState {
            ready: Ready::new(),
            index_progress: Arc::new(IngestProgress::default()),
            asks_in_flight: Arc::new(Semaphore::new(server.max_concurrent_asks)),
            max_body_bytes: server.max_body_bytes,
            ask_timeout: Duration::from_secs(server.request_timeout_secs),
            queue_wait: Duration::from_millis(server.queue_wait_ms),
            log: None,
        }
    }

    /// State that is ready at once (tests, `hoiluat ask`).
    pub fn ready(server: &ServerConfig, assistant: Arc<Assistant>) -> AppState {
        let state = AppState::new(server);
        state.index_progress.mark_complete(0);
        state.set_ready(assistant);
        state
    }

    /// Records every answer of `POST /v1/ask` in `log`.
    pub fn with_answer_log(mut self, log: Arc<dyn AnswerLog>) -> AppState {
        self.log = Some(log);
        self
    }

    pub fn set_ready(&self, assistant: Arc<Assistant>) {
        self.ready.set(assistant);
    }

    /// The progress start-up and the background ingest report into.
    pub fn index_progress(&self) -> Arc<IngestProgress> {
        Arc::clone(&self.index_progress)
    }

    /// The handle the assistant is set in once ready; channels and the console share it.
    pub fn ready_handle(&self) -> Ready {
        self.ready.clone()
    }
}

impl FromRef<AppState> for BodyLimit {
    fn from_ref(state: &AppState) -> BodyLimit {
        BodyLimit(state.max_body_bytes)
    }
}

/// The assistant, or `not_ready` while start-up is loading it. Taken before the body, so a
/// starting service says so whatever it is sent.
struct ReadyAssistant(Arc<Assistant>);

impl FromRequestParts<AppState> for ReadyAssistant {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state
            .ready
            .get()
            .map(ReadyAssistant)
            .ok_or_else(ApiError::not_ready)
    }
}

pub fn router(state: AppState) -> Router {
    // Bodies are read by `JsonBody`, so that every rejection becomes our JSON error; the limit is
    // set a little above ours so the extractor sees, and reports, the oversize itself.
    let body_limit = state.max_body_bytes + 1;
    Router::new()
        .route("/v1/ask", post(ask))
        .route("/v1/articles/{id}", get(article))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/status", get(status))
        .merge(openapi::routes())
        .fallback(|| async { ApiError::route_not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(PropagateRequestIdLayer::x_request_id())
        // Expected 5xx replies (not ready, busy) are not failures of the service: log them at debug;
        // real internal errors are logged where they happen, with their cause.
        .layer(TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)).make_span_with(|request: &axum::http::Request<_>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned();
            // Method and path only: bodies and query strings may hold personal data.
            tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn ask(
    State(state): State<AppState>,
    ReadyAssistant(assistant): ReadyAssistant,
    JsonBody(request): JsonBody<AskRequest>,
) -> Result<Json<AskResponse>, ApiError> {
    // A short burst waits its turn (in arrival order: the semaphore is fair); a longer overload is
    // told to come back rather than queued without bound.
    let permit = match state.asks_in_flight.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => match tokio::time::timeout(
            state.queue_wait,
            state.asks_in_flight.clone().acquire_owned(),
        )
        .await
        {
            Ok(Ok(permit)) => permit,
            _ => {
                tracing::warn!("ask rejected: too many questions in flight");
                return Err(ApiError::busy());
            }
        },
    };
    // The API's clients choose their conversation ids, but never one of another channel's
    // (a Telegram user's id is a hash anyone knowing their user id can compute).
    if let Some(id) = &request.conversation_id {
        if !crate::db::ChannelKind::Api.owns_conversation(id) {
            return Err(ApiError::from(
                crate::answer::AskError::InvalidConversationId,
            ));
        }
    }
    tracing::debug!(question_chars = request.question.chars().count(), "ask");
    // The permit lives with the work, not with this request: a timed-out question still occupies
    // its slot until the blocking work ends, so the limit bounds CPU work, not only waiting.
    let question = request.question.clone();
    let work = tokio::spawn(async move {
        let answer = assistant
            .ask(request.question, request.conversation_id)
            .await;
        drop(permit);
        answer
    });
    let answer = match tokio::time::timeout(state.ask_timeout, work).await {
        Err(_) => {
            tracing::warn!(seconds = state.ask_timeout.as_secs(), "ask timed out");
            return Err(ApiError::timeout());
        }
        Ok(Err(join_error)) => {
            tracing::error!(error = %join_error, "ask task failed");
            return Err(ApiError::internal());
        }
        Ok(Ok(answer)) => answer?,
    };
    if let Some(log) = &state.log {
        log.record(&question, &answer).await;
    }
    Ok(Json(AskResponse::from(answer)))
}

async fn article(
    ReadyAssistant(assistant): ReadyAssistant,
    Path(id): Path<String>,
) -> Result<Json<ArticleResponse>, ApiError> {
    let well_formed = id.len() <= MAX_ARTICLE_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !well_formed {
        return Err(ApiError::article_not_found());
    }
    let library = assistant.library();
    let entry = library
        .article(&id)
        .ok_or_else(ApiError::article_not_found)?;
    Ok(Json(ArticleResponse::from(entry)))
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready once the core of the corpus is indexed; `index` says how far the rest is (the compendium
/// is indexed in the background while questions are answered).
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let index = IndexStatus::from(state.index_progress.snapshot());
    match state.ready.get() {
        Some(_) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready", "index": index })),
        )
            .into_response(),
        None => ApiError::not_ready().with_index(index).into_response(),
    }
}

/// What the service holds and how far its index is.
async fn status(
    ReadyAssistant(assistant): ReadyAssistant,
    State(state): State<AppState>,
) -> Result<Json<StatusResponse>, ApiError> {
    let library = assistant.library();
    Ok(Json(StatusResponse {
        documents: library.documents().len(),
        articles: library.article_count(),
        index: IndexStatus::from(state.index_progress.snapshot()),
    }))
}
