//! The web channel: the embeddable chat widget (`GET /widget.js`, a demo page at `GET /demo`) and
//! the endpoints it calls.
//!
//! Unlike Zalo and Telegram, the web answers in the request itself: `POST /v1/chat` hands the
//! message to the dispatcher like every channel does (so the same rows, feedback and review work
//! for the web), has it answered at once ([`Dispatcher::accept`], [`StoredQuestion::answer`]), and
//! streams the answer back as Server-Sent Events — the text in small `delta` pieces so the widget
//! can show it appearing, then one `done` event with the answer id, the conversation id and the
//! citations. The protocol is documented in `bots/web/README.md`; its JSON shapes are in
//! [`crate::http::dto`].
//!
//! Errors in the request itself (not JSON, empty, too long, too fast…) are answered before any
//! streaming starts, as the API's [`ApiError`]: `{"error": {"code": "...", "message":
//! "<Vietnamese>"}}`. Once the stream has started, a failure is one `{"type":"error","message":…}`
//! event and the stream ends.
//!
//! CORS: pages served by this service are same-origin; another site may embed the widget only when
//! its origin is listed in `channels.web.allowed_origins`. Because every POST here requires
//! `Content-Type: application/json`, a browser on an unlisted origin cannot even send one (its
//! preflight gets no CORS headers).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRef, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::{mpsc, Semaphore};

use super::dispatch::{DirectQuestion, Dispatcher, StoredQuestion};
use super::notices;
use super::ratelimit::{Decision, RateLimiter};
use super::{ChannelKind, Reply};
use crate::config::WebConfig;
use crate::db::{FeedbackOutcome, Rating, SatisfactionOutcome};
use crate::http::dto::{
    ChatDone, ChatEvent, ChatRequest, FeedbackRequest, Recorded, SatisfactionRequest,
};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::json::{BodyLimit, JsonBody};

/// The widget script and the demo page, compiled in: the service serves them with no files beside it.
const WIDGET_JS: &str = include_str!("../../bots/web/widget.js");
const DEMO_HTML: &str = include_str!("../../bots/web/demo.html");

/// Longest accepted message, in characters (the assistant's own default limit).
pub const MAX_MESSAGE_CHARS: usize = 1_000;
/// Longest feedback comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 500;
/// Largest accepted request body: a 1,000-character Vietnamese message is at most ~4 KB of UTF-8,
/// JSON-escaped perhaps twice that.
const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest conversation id a client may send back (the assistant's own rule).
const MAX_CONVERSATION_ID_CHARS: usize = 64;
/// Messages one conversation may send per minute (the other channels' default).
const MESSAGES_PER_MINUTE: u32 = 12;
/// Web questions answered at the same time; more are told to retry (they cost CPU for embedding).
const MAX_CONCURRENT_CHATS: usize = 8;
/// Longest wait for an answer before the stream reports an error.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(90);
/// Target size of one streamed piece of the answer, in characters.
const DELTA_CHARS: usize = 40;
/// Pause between two streamed pieces, so the answer visibly appears rather than arriving in one
/// block; the whole answer is ready by then, so this only paces the display.
const DELTA_PAUSE: Duration = Duration::from_millis(15);
/// How often an idle stream sends an SSE comment, so proxies do not close it while the answer is
/// prepared.
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(10);

/// The routes of the web channel. Merge them into the API router:
/// `web::with_cors(http::router(state).merge(web::routes(dispatcher, &config)), &config)` — the
/// outer `with_cors` gives embedding sites access to `GET /v1/articles/{id}` too, which the widget
/// reads to show a cited article.
pub fn routes(dispatcher: Dispatcher, config: &WebConfig) -> Router {
    let state = WebState {
        dispatcher,
        limiter: Arc::new(RateLimiter::new(MESSAGES_PER_MINUTE)),
        chats_in_flight: Arc::new(Semaphore::new(MAX_CONCURRENT_CHATS)),
    };
    let router = Router::new()
        .route("/widget.js", get(widget_js))
        .route("/demo", get(demo_page))
        .route("/v1/chat", post(chat))
        .route("/v1/feedback", post(feedback))
        .route("/v1/satisfaction", post(satisfaction))
        // A little above our limit, so the handler sees, and reports, an oversized body itself.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES + 1))
        .with_state(state);
    with_cors(router, config)
}

/// Adds the widget's CORS rules to every route of `app`: listed origins get
/// `Access-Control-Allow-Origin` (and preflights are answered), others get no CORS header.
pub fn with_cors(app: Router, config: &WebConfig) -> Router {
    let allowed = Arc::new(AllowedOrigins::new(&config.allowed_origins));
    app.layer(axum::middleware::from_fn_with_state(allowed, cors))
}

#[derive(Clone)]
struct WebState {
    dispatcher: Dispatcher,
    limiter: Arc<RateLimiter>,
    chats_in_flight: Arc<Semaphore>,
}

impl FromRef<WebState> for BodyLimit {
    fn from_ref(_: &WebState) -> BodyLimit {
        BodyLimit(MAX_BODY_BYTES)
    }
}

/// The widget shows the same sentences the chat channels send for these.
fn notice_error(code: ErrorCode, notice: &str) -> ApiError {
    ApiError::new(code, notice)
}

// ---------------------------------------------------------------------------------------------
// Static files

async fn widget_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // Short: a new version of the widget reaches embedding sites within minutes.
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        WIDGET_JS,
    )
        .into_response()
}

async fn demo_page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        DEMO_HTML,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// POST /v1/chat

async fn chat(
    State(state): State<WebState>,
    JsonBody(request): JsonBody<ChatRequest>,
) -> Result<Response, ApiError> {
    // Stray control, zero-width and odd space characters are removed, as `ask` removes them.
    let cleaned = crate::text::clean_input(&request.message);
    let message = cleaned.trim();
    if message.is_empty() {
        return Err(notice_error(ErrorCode::EmptyMessage, notices::EMPTY));
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(notice_error(ErrorCode::MessageTooLong, notices::TOO_LONG));
    }
    if crate::text::has_unusable_characters(message) {
        return Err(notice_error(
            ErrorCode::InvalidCharacters,
            notices::INVALID_TEXT,
        ));
    }
    let external_id = match request.client_message_id.as_deref() {
        Some(id) => uuid::Uuid::parse_str(id)
            .map_err(|_| ApiError::invalid_client_message_id())?
            .hyphenated()
            .to_string(),
        None => uuid::Uuid::new_v4().hyphenated().to_string(),
    };
    // An unknown or malformed id starts a new conversation rather than failing: the widget keeps
    // its id in sessionStorage, which a site's scripts could have garbled.
    // An id of another channel's conversation too: the web's ids are its own ("web-…").
    let conversation_id = request
        .conversation_id
        .filter(|id| is_valid_conversation_id(id))
        .unwrap_or_else(new_conversation_id);
    if state.limiter.check(&conversation_id) != Decision::Allow {
        tracing::debug!(conversation = %conversation_id, "web message rate limited");
        return Err(notice_error(ErrorCode::RateLimited, notices::SLOW_DOWN));
    }
    // Held by the answering task until it ends: the limit bounds work, not only waiting.
    let permit = state
        .chats_in_flight
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            tracing::warn!("web chat rejected: too many questions in flight");
            ApiError::busy()
        })?;
    let accepted = state
        .dispatcher
        .accept(DirectQuestion {
            channel: ChannelKind::Web,
            external_id,
            conversation_id,
            text: message.to_owned(),
        })
        .await
        .map_err(|error| {
            tracing::error!(%error, "cannot store a web message");
            ApiError::internal()
        })?
        .ok_or_else(ApiError::duplicate_message)?;

    // The answer is prepared on its own task: a visitor who closes the page does not cancel it, so
    // the message still ends answered and recorded.
    let (events, receiver) = mpsc::channel::<ChatEvent>(32);
    tokio::spawn(async move {
        answer_and_stream(accepted, &events).await;
        drop(permit);
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        Some((Ok::<Event, Infallible>(sse_event(&event)), receiver))
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE_EVERY))
        .into_response();
    // nginx buffers responses by default, which would hold the whole stream back.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// Answers an accepted message (the dispatcher records how it ended) and streams the reply. The
/// stream ends when this returns (the sender is dropped).
async fn answer_and_stream(accepted: StoredQuestion, events: &mpsc::Sender<ChatEvent>) {
    let conversation_id = accepted.conversation_id().to_owned();
    let Some(reply) = accepted.answer(ANSWER_TIMEOUT).await else {
        let _ = events.send(error_event()).await;
        return;
    };
    // A visitor who left stops receiving, but the answer is stored: keep going to the end.
    for piece in pieces(reply.plain_text(), DELTA_CHARS) {
        let _ = events.send(ChatEvent::Delta { text: piece }).await;
        tokio::time::sleep(DELTA_PAUSE).await;
    }
    let done = done_event(&reply, &conversation_id);
    let _ = events.send(ChatEvent::Done(Box::new(done))).await;
}

fn done_event(reply: &Reply, conversation_id: &str) -> ChatDone {
    match reply {
        Reply::Answer { answer, answer_id } => ChatDone::answer(answer, answer_id, conversation_id),
        Reply::Notice(_) | Reply::Prompt { .. } | Reply::Held => ChatDone::notice(conversation_id),
    }
}

fn error_event() -> ChatEvent {
    ChatEvent::Error {
        message: notices::FAILURE.into(),
    }
}

fn sse_event(event: &ChatEvent) -> Event {
    // Serialising these plain structs cannot fail; the fallback keeps the stream well-formed anyway.
    let json = serde_json::to_string(event).unwrap_or_else(|_| {
        r#"{"type":"error","message":"Đã có lỗi xảy ra, vui lòng thử lại sau."}"#.to_owned()
    });
    Event::default().data(json)
}

/// Cuts `text` into pieces of about `target` characters, after a space or line break where one is
/// near, so the widget shows whole words appearing. The pieces concatenated are exactly `text`.
fn pieces(text: &str, target: usize) -> Vec<String> {
    let target = target.max(1);
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut chars = 0;
    for c in text.chars() {
        current.push(c);
        chars += 1;
        // A word longer than the target (a URL) is cut at twice the target.
        if (chars >= target && c.is_whitespace()) || chars >= target * 2 {
            pieces.push(std::mem::take(&mut current));
            chars = 0;
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

// ---------------------------------------------------------------------------------------------
// POST /v1/feedback and /v1/satisfaction

async fn feedback(
    State(state): State<WebState>,
    JsonBody(request): JsonBody<FeedbackRequest>,
) -> Result<Json<Recorded>, ApiError> {
    let rating = Rating::parse(&request.rating).ok_or_else(ApiError::invalid_rating)?;
    // Public ids are 32 lowercase hex digits; anything else cannot name an answer.
    let well_formed = request.answer_id.len() == 32
        && request
            .answer_id
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    if !well_formed {
        return Err(ApiError::answer_not_found());
    }
    let comment = request.comment.as_deref().map(crate::text::clean_input);
    let comment = match comment.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(comment) if comment.chars().count() > MAX_COMMENT_CHARS => {
            return Err(ApiError::comment_too_long())
        }
        Some(comment) if crate::text::has_unusable_characters(comment) => {
            return Err(notice_error(
                ErrorCode::InvalidCharacters,
                notices::INVALID_TEXT,
            ))
        }
        Some(comment) => Some(comment.to_owned()),
    };
    let outcome = state
        .dispatcher
        .feedback(ChannelKind::Web, request.answer_id, rating, comment)
        .await
        .map_err(|error| {
            tracing::error!(%error, "cannot store feedback");
            ApiError::internal()
        })?;
    let status = match outcome {
        FeedbackOutcome::Recorded => "recorded",
        FeedbackOutcome::AlreadyRecorded => "already_recorded",
        FeedbackOutcome::UnknownAnswer => return Err(ApiError::answer_not_found()),
    };
    tracing::info!(rating = rating.as_str(), status, "web feedback");
    Ok(Json(Recorded {
        status,
        message: notices::FEEDBACK_THANKS,
    }))
}

async fn satisfaction(
    State(state): State<WebState>,
    JsonBody(request): JsonBody<SatisfactionRequest>,
) -> Result<Json<Recorded>, ApiError> {
    let score = request
        .score
        .as_u64()
        .filter(|score| (1..=5).contains(score))
        .ok_or_else(ApiError::invalid_score)? as u8;
    if !is_valid_conversation_id(&request.conversation_id) {
        return Err(ApiError::conversation_not_found());
    }
    let outcome = state
        .dispatcher
        .satisfaction(request.conversation_id, ChannelKind::Web, score)
        .await
        .map_err(|error| {
            tracing::error!(%error, "cannot store satisfaction");
            ApiError::internal()
        })?;
    let status = match outcome {
        SatisfactionOutcome::Recorded => {
            tracing::info!(score, "web satisfaction");
            "recorded"
        }
        SatisfactionOutcome::AlreadyRecorded => "already_recorded",
        SatisfactionOutcome::UnknownConversation => return Err(ApiError::conversation_not_found()),
    };
    Ok(Json(Recorded {
        status,
        message: notices::FEEDBACK_THANKS,
    }))
}

// ---------------------------------------------------------------------------------------------
// Request checks shared by the endpoints

/// 1–64 ASCII letters, digits, `-` or `_` (the assistant's rule for conversation ids), in the
/// web's own namespace (`web-…`).
fn is_valid_conversation_id(id: &str) -> bool {
    ChannelKind::Web.owns_conversation(id)
        && id.len() <= MAX_CONVERSATION_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn new_conversation_id() -> String {
    format!("web-{}", uuid::Uuid::new_v4().simple())
}

// ---------------------------------------------------------------------------------------------
// CORS

/// The origins allowed to embed the widget, normalised (lowercase, no trailing slash).
struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    fn new(origins: &[String]) -> AllowedOrigins {
        AllowedOrigins(
            origins
                .iter()
                .map(|origin| origin.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|origin| !origin.is_empty())
                .collect(),
        )
    }

    fn allows(&self, origin: &str) -> bool {
        // "null" (sandboxed frames, file:) is never allowed, even if listed by mistake.
        origin != "null"
            && self
                .0
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(origin))
    }
}

async fn cors(
    State(allowed): State<Arc<AllowedOrigins>>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|origin| allowed.allows(origin))
        .and_then(|origin| HeaderValue::from_str(origin).ok());
    let is_preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if is_preflight {
        // Answered here for every path: an unlisted origin gets no CORS headers, so the browser
        // refuses the real request.
        let mut response = StatusCode::NO_CONTENT.into_response();
        if origin.is_some() {
            let headers = response.headers_mut();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, OPTIONS"),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type"),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        response
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    if let Some(origin) = origin {
        // `insert`, not `append`: the layer may wrap a router that already has it.
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    // The answer depends on the Origin header: caches must keep one copy per origin.
    let varies = headers.get_all(header::VARY).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("origin"))
    });
    if !varies {
        headers.append(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_rebuild_the_text_and_cut_after_spaces() {
        let text = "Căn cứ Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13:\n\n\
                    1. Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên; https://example.vn/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let parts = pieces(text, 40);
        assert!(parts.len() >= 3, "{parts:?}");
        assert_eq!(parts.concat(), text);
        for part in &parts[..parts.len() - 1] {
            let chars = part.chars().count();
            assert!(chars <= 80, "{part:?}");
            assert!(
                chars == 80 || part.ends_with(char::is_whitespace),
                "{part:?}"
            );
        }
        assert!(pieces("", 40).is_empty());
        assert_eq!(pieces("ngắn", 40), vec!["ngắn".to_owned()]);
    }

    #[test]
    fn conversation_ids_follow_the_assistants_rule() {
        assert!(is_valid_conversation_id("web-0123abc_DEF"));
        assert!(is_valid_conversation_id(&format!("web-{}", "a".repeat(60))));
        assert!(!is_valid_conversation_id(&format!(
            "web-{}",
            "a".repeat(61)
        )));
        assert!(!is_valid_conversation_id(""));
        // Ids of other channels' conversations, and ids outside the web's namespace.
        assert!(!is_valid_conversation_id("telegram-0123456789abcdef"));
        assert!(!is_valid_conversation_id(&"a".repeat(64)));
        assert!(!is_valid_conversation_id("web 1"));
        assert!(!is_valid_conversation_id("hôn-nhân"));
        let fresh = new_conversation_id();
        assert!(fresh.starts_with("web-") && is_valid_conversation_id(&fresh));
    }

    #[test]
    fn origins_match_exactly_after_normalising_the_config() {
        let allowed = AllowedOrigins::new(&[
            "https://SoTuPhap.QuangNgai.gov.vn/".to_owned(),
            " ".to_owned(),
            "null".to_owned(),
        ]);
        assert!(allowed.allows("https://sotuphap.quangngai.gov.vn"));
        assert!(!allowed.allows("http://sotuphap.quangngai.gov.vn"));
        assert!(!allowed.allows("https://sotuphap.quangngai.gov.vn.evil.example"));
        assert!(!allowed.allows("null"));
        assert!(!allowed.allows(""));
    }

    #[test]
    fn events_serialise_with_their_type() {
        let delta = serde_json::to_value(ChatEvent::Delta {
            text: "Điều 8".into(),
        })
        .unwrap();
        assert_eq!(
            delta,
            serde_json::json!({"type": "delta", "text": "Điều 8"})
        );
        let error = serde_json::to_value(error_event()).unwrap();
        assert_eq!(error["type"], "error");
        let done = done_event(&Reply::Notice("x".into()), "web-1");
        let done = serde_json::to_value(ChatEvent::Done(Box::new(done))).unwrap();
        assert_eq!(done["type"], "done");
        assert_eq!(done["status"], "notice");
        assert_eq!(done["conversation_id"], "web-1");
        assert!(done["answer_id"].is_null());
    }
}
