//! The OpenAPI 3.1 description of the public API (`GET /openapi.json`) and a readable reference
//! page rendered from it (`GET /docs`): server-side HTML, no scripts, nothing from a CDN.
//!
//! What the document is made of:
//! - the operations, declared below with `#[utoipa::path]` on description-only functions (the
//!   handlers stay as they are; `tests/openapi.rs` checks that every documented route answers and
//!   every answering route is documented);
//! - the schemas of the `/v1/ask` and `/v1/articles` wire types, derived from `dto.rs` itself;
//! - the schemas of the web widget's endpoints (`channels/web.rs`), mirrored here as
//!   description-only types because the handlers keep theirs private; the test validates real
//!   requests and responses of those endpoints against them, so a drift fails;
//! - every error each operation can answer, added from [`ERRORS`]: per status, the exact `code`
//!   values (an `enum`) and, for the API's own codes, the real Vietnamese message as example.
//!
//! This is also the data-sharing interface (liên thông) other provincial portals build on.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use utoipa::{OpenApi, ToSchema};

use super::dto::{
    AmendmentDto, ArticleResponse, AskRequest, AskResponse, CitationDto, ClauseDto, DocumentDto,
    IndexStatus, QuoteDto, StatusResponse,
};
use super::error::{ApiError, ErrorCode};
use crate::answer::AskError;
use crate::channels::web_history::{Exchange, History, HistoryAnswer, HistoryCitation};
use crate::staff::html::Escape;

/// HTML-escaped text for the reference page.
fn esc(text: &str) -> String {
    Escape(text).to_string()
}

/// The routes serving the description and its reference page.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(reference_page))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hỏi Luật API",
        description = "Hỏi đáp pháp luật có trích dẫn nguyên văn điều luật (Sở Tư pháp). \
            Answers Vietnamese legal questions by quoting the exact article of a real legal text, with \
            its citation and validity. Every error has the shape `{\"error\": {\"code\", \"message\"}}`: \
            `code` is stable and machine-readable, `message` is Vietnamese and tells the user what to do. \
            Any unknown path answers 404 `not_found`, a known path with the wrong method 405 \
            `method_not_allowed`. Every response carries an `x-request-id` header."
    ),
    paths(ask, article, chat, chat_history, feedback, satisfaction, healthz, readyz, status),
    components(schemas(
        AskRequest, AskResponse, QuoteDto, CitationDto, ArticleResponse, ClauseDto, DocumentDto,
        AmendmentDto, IndexStatus, StatusResponse, Readiness,
        ChatRequest, ChatEvent, ChatDone, WebCitation, FeedbackRequest, SatisfactionRequest,
        Recorded, Status, History, Exchange, HistoryAnswer, HistoryCitation
    )),
    tags(
        (name = "hỏi đáp", description = "Questions and the articles answers cite."),
        (name = "web widget", description = "What the embeddable chat widget calls: streamed answers, feedback, satisfaction."),
        (name = "vận hành", description = "Liveness and readiness probes.")
    )
)]
struct ApiDoc;

/// The document as served: utoipa's output with the error responses of [`ERRORS`] added.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = serde_json::to_value(ApiDoc::openapi())
            .expect("the OpenAPI document serialises to JSON");
        add_errors(&mut document);
        document
    })
}

// ---------------------------------------------------------------------------------------------
// Operations. The functions only carry the description; the handlers live in `http/mod.rs` and
// `channels/web.rs`.

/// Ask a legal question
///
/// Answers with verbatim quotes of the best articles, their citations and validity, or a polite
/// decline (`status: "declined"` with `decline_reason`). Send the returned `conversation_id` back
/// with a follow-up ("Nộp ở đâu?") to keep its context. Nothing is stored.
#[utoipa::path(
    post,
    path = "/v1/ask",
    tag = "hỏi đáp",
    request_body(
        content = AskRequest,
        content_type = "application/json",
        example = json!({"question": "Nam nữ bao nhiêu tuổi thì được kết hôn?"})
    ),
    responses((status = 200, description = "The answer, or a decline.", body = AskResponse))
)]
#[allow(dead_code)]
fn ask() {}

/// One article, in full
///
/// The article as the corpus holds it, with its clauses and its document's metadata. Citations in
/// answers link here (`citation.url`).
#[utoipa::path(
    get,
    path = "/v1/articles/{id}",
    tag = "hỏi đáp",
    params((
        "id" = String,
        Path,
        description = "Document number as a slug plus `.dieu-<n>` (or `.muc-<roman>` for a plan's section).",
        example = "52-2014-qh13.dieu-8"
    )),
    responses((status = 200, description = "The article.", body = ArticleResponse))
)]
#[allow(dead_code)]
fn article() {}

/// Chat (web widget), streamed
///
/// Stores the message like every chat channel does, answers it, and streams the reply as
/// Server-Sent Events: `data: {json}` lines, each one [`ChatEvent`]: `delta` pieces of the text
/// (concatenated, they are the whole answer), then one `done` with the answer id, conversation id
/// and citations; or one `error`. Comment lines (`:`) keep the stream alive through proxies.
/// Errors found before the stream starts are JSON, like the rest of the API.
#[utoipa::path(
    post,
    path = "/v1/chat",
    tag = "web widget",
    request_body(
        content = ChatRequest,
        content_type = "application/json",
        example = json!({
            "message": "Thủ tục đăng ký kết hôn cần giấy tờ gì?",
            "client_message_id": "3f1c2a9e-8b4d-4c6e-9a7b-2d5e8f0a1b3c"
        })
    ),
    responses((
        status = 200,
        description = "An SSE stream; the `data` of every event is one `ChatEvent` as JSON.",
        content_type = "text/event-stream",
        body = ChatEvent
    ))
)]
#[allow(dead_code)]
fn chat() {}

/// A web conversation (web widget)
///
/// The questions of the conversation with their answers and staff reviews, oldest first: what the
/// widget shows after a page reload, and polls while the page is open. The random conversation id
/// is the key; an unknown or malformed one gets an empty list.
#[utoipa::path(
    get,
    path = "/v1/chat/history",
    tag = "web widget",
    params((
        "conversation_id" = String,
        Query,
        description = "The `conversation_id` of a `done` event.",
        example = "web-4f0d9a7c2b1e4d3a8c6b5a4f3e2d1c0b"
    )),
    responses((status = 200, description = "The conversation.", body = History))
)]
#[allow(dead_code)]
fn chat_history() {}

/// Rate an answer (web widget)
///
/// 👍 / 👎, a report of a mistake, or a request to talk to staff; the last three queue the answer
/// for review. A repeated tap is acknowledged as `already_recorded`.
#[utoipa::path(
    post,
    path = "/v1/feedback",
    tag = "web widget",
    request_body(
        content = FeedbackRequest,
        content_type = "application/json",
        example = json!({"answer_id": "0123456789abcdef0123456789abcdef", "rating": "down", "comment": "Điều luật này đã được sửa đổi."})
    ),
    responses((status = 200, description = "Recorded.", body = Recorded))
)]
#[allow(dead_code)]
fn feedback() {}

/// Rate a conversation (web widget)
///
/// Satisfaction from 1 to 5, once per conversation (the plan's 90% target is measured from it).
#[utoipa::path(
    post,
    path = "/v1/satisfaction",
    tag = "web widget",
    request_body(
        content = SatisfactionRequest,
        content_type = "application/json",
        example = json!({"conversation_id": "web-4f0d9a7c2b1e4d3a8c6b5a4f3e2d1c0b", "score": 5})
    ),
    responses((status = 200, description = "Recorded.", body = Recorded))
)]
#[allow(dead_code)]
fn satisfaction() {}

/// Liveness
///
/// 200 whenever the process is up, even while start-up (an ingest) runs.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "vận hành",
    responses((status = 200, description = "The process is up.", body = Status, example = json!({"status": "ok"})))
)]
#[allow(dead_code)]
fn healthz() {}

/// Readiness
///
/// 200 once the core of the corpus (the curated documents and the 2024 laws) is indexed; until
/// then 503 `not_ready` with `Retry-After: 30`, as every `/v1/` request answers. `index` tells how
/// far the whole corpus is: the compendium is indexed in the background while questions are
/// answered from what is indexed so far.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "vận hành",
    responses((status = 200, description = "Ready to answer.", body = Readiness, example = json!({"status": "ready", "index": {"state": "indexing", "indexed_chunks": 20500, "total_chunks": 67172, "percent": 30.5, "eta_seconds": 2400}})))
)]
#[allow(dead_code)]
fn readyz() {}

/// Corpus and index status
///
/// How many documents and articles the service holds, and how far their index is.
#[utoipa::path(
    get,
    path = "/v1/status",
    tag = "vận hành",
    responses((status = 200, description = "The corpus and its index.", body = StatusResponse, example = json!({"documents": 3597, "articles": 49443, "index": {"state": "complete", "indexed_chunks": 67172, "total_chunks": 67172, "percent": 100.0, "eta_seconds": null}})))
)]
#[allow(dead_code)]
fn status() {}

/// `/readyz` when ready.
#[derive(serde::Serialize, ToSchema)]
struct Readiness {
    status: String,
    index: IndexStatus,
}

// ---------------------------------------------------------------------------------------------
// Wire types of the web endpoints and probes (description only; see the module comment).

/// `{"status": "ok"}` or `{"status": "ready"}`.
#[derive(ToSchema)]
#[allow(dead_code)]
struct Status {
    status: String,
}

/// A message typed in the widget. No other fields are accepted.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ChatRequest {
    /// 1–1,000 characters; stray control, zero-width and odd space characters are removed.
    #[schema(min_length = 1, max_length = 1000)]
    message: String,
    /// The `conversation_id` of the previous `done` event; an unknown or malformed one starts a
    /// new conversation.
    conversation_id: Option<String>,
    /// A UUID the widget chooses per message, so a retried request is recognised as the same
    /// message (409 `duplicate_message`).
    client_message_id: Option<String>,
}

/// One Server-Sent Event of `/v1/chat`.
#[derive(serde::Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(dead_code)]
enum ChatEvent {
    /// The next piece of the answer text.
    Delta { text: String },
    /// The end of the answer: ids and citations.
    Done(ChatDone),
    /// The answer could not be given; the message is Vietnamese, for the visitor.
    Error { message: String },
}

#[derive(serde::Serialize, ToSchema)]
#[allow(dead_code)]
struct ChatDone {
    /// Public id for `/v1/feedback` (32 hex digits); `null` for a fixed notice.
    answer_id: Option<String>,
    conversation_id: String,
    /// `answered`, `declined`, or `notice` (a fixed message such as "slow down").
    status: String,
    /// When declined: an out-of-scope category id, `not_in_force_only` or `no_relevant_text`.
    decline_reason: Option<String>,
    citations: Vec<WebCitation>,
    /// Staff will look at this exchange.
    needs_review: bool,
}

#[derive(serde::Serialize, ToSchema)]
#[allow(dead_code)]
struct WebCitation {
    article_id: String,
    reference: String,
    unit: String,
    heading: String,
    document_title: String,
    validity: String,
    validity_label: String,
    /// `YYYY-MM-DD`, `null` when unknown.
    effective_date: Option<String>,
    /// The quoted passage.
    text: String,
    /// Relative URL of the whole article.
    url: String,
}

/// No other fields are accepted.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FeedbackRequest {
    /// The `answer_id` of a `done` event.
    answer_id: String,
    /// `up`, `down`, `report` (a mistake) or `human` (talk to staff).
    rating: String,
    /// Up to 500 characters.
    #[schema(max_length = 500)]
    comment: Option<String>,
}

/// No other fields are accepted.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SatisfactionRequest {
    conversation_id: String,
    #[schema(minimum = 1, maximum = 5)]
    score: u8,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct Recorded {
    /// `recorded`, or `already_recorded` for a repeated tap.
    status: String,
    /// A Vietnamese thank-you for the visitor.
    message: String,
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Where an error code comes from: the API's [`ErrorCode`] (status and message from
/// `http/error.rs`), or a code of the web endpoints with its status.
#[derive(Debug, Clone, Copy)]
pub enum Documented {
    Api(ErrorCode),
    Web(&'static str, u16),
}

impl Documented {
    pub fn code(self) -> &'static str {
        match self {
            Documented::Api(code) => code.as_str(),
            Documented::Web(code, _) => code,
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Documented::Api(code) => code.status().as_u16(),
            Documented::Web(_, status) => status,
        }
    }
}

use Documented::{Api, Web};

/// The web endpoints' request checks, shared by the three (`channels/web.rs`, `read_json`).
const WEB_BODY: [Documented; 3] = [
    Web("invalid_content_type", 415),
    Web("payload_too_large", 413),
    Web("invalid_json", 400),
];

/// Every error each operation answers, as `(method, path, errors)`.
pub const ERRORS: &[(&str, &str, &[Documented])] = &[
    (
        "post",
        "/v1/ask",
        &[
            Api(ErrorCode::InvalidContentType),
            Api(ErrorCode::PayloadTooLarge),
            Api(ErrorCode::InvalidUtf8),
            Api(ErrorCode::InvalidJson),
            Api(ErrorCode::EmptyQuestion),
            Api(ErrorCode::QuestionTooLong),
            Api(ErrorCode::InvalidCharacters),
            Api(ErrorCode::InvalidConversationId),
            Api(ErrorCode::NotReady),
            Api(ErrorCode::Busy),
            Api(ErrorCode::Timeout),
            Api(ErrorCode::Internal),
        ],
    ),
    (
        "get",
        "/v1/articles/{id}",
        &[Api(ErrorCode::ArticleNotFound), Api(ErrorCode::NotReady)],
    ),
    ("get", "/readyz", &[Api(ErrorCode::NotReady)]),
    ("get", "/v1/status", &[Api(ErrorCode::NotReady)]),
    (
        "post",
        "/v1/chat",
        &[
            WEB_BODY[0],
            WEB_BODY[1],
            WEB_BODY[2],
            Web("empty_message", 422),
            Web("message_too_long", 422),
            Web("invalid_characters", 422),
            Web("invalid_client_message_id", 422),
            Web("duplicate_message", 409),
            Web("rate_limited", 429),
            Web("busy", 503),
            Web("internal_error", 500),
        ],
    ),
    (
        "post",
        "/v1/feedback",
        &[
            WEB_BODY[0],
            WEB_BODY[1],
            WEB_BODY[2],
            Web("invalid_rating", 422),
            Web("comment_too_long", 422),
            Web("invalid_characters", 422),
            Web("answer_not_found", 404),
            Web("internal_error", 500),
        ],
    ),
    (
        "post",
        "/v1/satisfaction",
        &[
            WEB_BODY[0],
            WEB_BODY[1],
            WEB_BODY[2],
            Web("invalid_score", 422),
            Web("conversation_not_found", 404),
            Web("internal_error", 500),
        ],
    ),
];

/// The API's errors that no single operation owns: every route answers them.
const ROUTING_ERRORS: [ErrorCode; 2] = [ErrorCode::RouteNotFound, ErrorCode::MethodNotAllowed];

/// The real error an API code answers with, for the document's examples. Exhaustive, so a new
/// code must be given one here.
fn api_example(code: ErrorCode) -> ApiError {
    match code {
        ErrorCode::InvalidContentType => ApiError::invalid_content_type(),
        ErrorCode::PayloadTooLarge => ApiError::payload_too_large(16_384),
        ErrorCode::InvalidUtf8 => ApiError::invalid_utf8(),
        ErrorCode::InvalidJson => ApiError::invalid_json(),
        ErrorCode::EmptyQuestion => ApiError::from(AskError::EmptyQuestion),
        ErrorCode::QuestionTooLong => ApiError::from(AskError::QuestionTooLong { max: 1000 }),
        ErrorCode::InvalidCharacters => ApiError::from(AskError::UnusableCharacters),
        ErrorCode::InvalidConversationId => ApiError::from(AskError::InvalidConversationId),
        ErrorCode::ArticleNotFound => ApiError::article_not_found(),
        ErrorCode::RouteNotFound => ApiError::route_not_found(),
        ErrorCode::MethodNotAllowed => ApiError::method_not_allowed(),
        ErrorCode::NotReady => ApiError::not_ready(),
        ErrorCode::Busy => ApiError::busy(),
        ErrorCode::Timeout => ApiError::timeout(),
        ErrorCode::Internal => ApiError::internal(),
        ErrorCode::EmptyMessage => ApiError::new(code, crate::channels::notices::EMPTY),
        ErrorCode::MessageTooLong => ApiError::new(code, crate::channels::notices::TOO_LONG),
        ErrorCode::RateLimited => ApiError::new(code, crate::channels::notices::SLOW_DOWN),
        ErrorCode::InvalidClientMessageId => ApiError::invalid_client_message_id(),
        ErrorCode::DuplicateMessage => ApiError::duplicate_message(),
        ErrorCode::InvalidRating => ApiError::invalid_rating(),
        ErrorCode::CommentTooLong => ApiError::comment_too_long(),
        ErrorCode::AnswerNotFound => ApiError::answer_not_found(),
        ErrorCode::InvalidScore => ApiError::invalid_score(),
        ErrorCode::ConversationNotFound => ApiError::conversation_not_found(),
        // Webhooks are the platforms' business, not part of the public API.
        ErrorCode::InvalidSignature | ErrorCode::InvalidSecretToken | ErrorCode::InvalidEvent => {
            ApiError::new(code, "")
        }
    }
}

fn error_body(code: &str, message: &str) -> Value {
    json!({ "error": { "code": code, "message": message } })
}

/// Adds the `Error` schema, and to every operation one response per error status: the codes it
/// may carry (an `enum`), examples, and `Retry-After` where it is sent.
fn add_errors(document: &mut Value) {
    let mut all_codes: Vec<&str> = Vec::new();
    for (_, _, errors) in ERRORS {
        for error in *errors {
            if !all_codes.contains(&error.code()) {
                all_codes.push(error.code());
            }
        }
    }
    all_codes.extend(ROUTING_ERRORS.map(ErrorCode::as_str));
    document["components"]["schemas"]["Error"] = json!({
        "type": "object",
        "description": "Every error answer. `code` is stable; `message` is Vietnamese, for the user.",
        "required": ["error"],
        "additionalProperties": false,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": false,
                "properties": {
                    "code": { "type": "string", "enum": all_codes },
                    "message": { "type": "string" }
                }
            }
        },
        "example": error_body(ErrorCode::RouteNotFound.as_str(), &ApiError::route_not_found().message)
    });
    for (method, path, errors) in ERRORS {
        let mut by_status: BTreeMap<u16, Vec<Documented>> = BTreeMap::new();
        for error in *errors {
            by_status.entry(error.status()).or_default().push(*error);
        }
        let responses = &mut document["paths"][*path][*method]["responses"];
        for (status, errors) in by_status {
            responses[status.to_string()] = error_response(status, &errors);
        }
    }
    // While the core is being indexed, `/readyz` answers `not_ready` with how far the index is
    // (`/v1/status` is not served yet then): the error body plus `index`.
    let schema = &mut document["paths"]["/readyz"]["get"]["responses"]["503"]["content"]
        ["application/json"]["schema"];
    *schema = json!({
        "type": "object",
        "required": ["error"],
        "additionalProperties": false,
        "properties": {
            "error": {
                "allOf": [
                    { "$ref": "#/components/schemas/Error/properties/error" },
                    { "properties": { "code": { "enum": [ErrorCode::NotReady.as_str()] } } }
                ]
            },
            "index": { "$ref": "#/components/schemas/IndexStatus" }
        }
    });
}

fn error_response(status: u16, errors: &[Documented]) -> Value {
    let codes: Vec<&str> = errors.iter().map(|e| e.code()).collect();
    let mut examples = Map::new();
    for error in errors {
        if let Api(code) = error {
            let example = api_example(*code);
            examples.insert(
                code.as_str().to_owned(),
                json!({ "value": error_body(code.as_str(), &example.message) }),
            );
        }
    }
    let mut content = json!({
        "schema": {
            "allOf": [
                { "$ref": "#/components/schemas/Error" },
                { "properties": { "error": { "properties": { "code": { "enum": codes } } } } }
            ]
        }
    });
    if !examples.is_empty() {
        content["examples"] = Value::Object(examples);
    }
    let description = codes
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut response = json!({
        "description": description,
        "content": { "application/json": content }
    });
    if status == 503 || status == 429 {
        response["headers"] = json!({
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": { "type": "integer" }
            }
        });
    }
    response
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn openapi_json() -> Response {
    let mut response = axum::Json(document()).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn reference_page() -> Response {
    static PAGE: OnceLock<String> = OnceLock::new();
    let page = PAGE.get_or_init(|| render_reference(document()));
    crate::staff::html::html_response(
        StatusCode::OK,
        crate::staff::html::Html::from_template(page.clone()),
    )
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9;line-height:1.45}
header{background:#8b1a1a;color:#fff;padding:.8rem 1rem}header a{color:#fff}
main{padding:1rem;max-width:72rem;margin:auto}nav ul{columns:2;padding-left:1.2rem}
section.op{background:#fff;border:1px solid #d0d4da;border-radius:.4rem;padding:.2rem 1rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:3.5rem;text-align:center;border-radius:.3rem;padding:0 .4rem;color:#fff;background:#1a5fb4;font-family:monospace;text-transform:uppercase}
.method.post{background:#1a7f37}code,pre{font-family:ui-monospace,monospace;font-size:.92em}
pre{background:#f0f2f5;padding:.6rem;overflow:auto;white-space:pre-wrap}
table{border-collapse:collapse;width:100%;margin:.4rem 0}th,td{border:1px solid #d0d4da;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#eef0f3}.muted{color:#5c6570}:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}
";

/// The reference page: operations with their parameters, request body, example and responses
/// (with the error codes of each status), then every schema as a table. Built from the document,
/// so the page and `/openapi.json` cannot disagree.
fn render_reference(document: &Value) -> String {
    let mut toc = String::new();
    let mut body = String::new();
    let info = &document["info"];
    let empty = Map::new();
    let paths = document["paths"].as_object().unwrap_or(&empty);
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap_or(&empty) {
            let anchor = format!(
                "{method}-{}",
                path.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
            );
            let summary = operation["summary"].as_str().unwrap_or("");
            toc.push_str(&format!(
                "<li><a href=\"#{anchor}\"><span class=\"method {method}\">{method}</span> <code>{}</code></a> {}</li>",
                esc(path),
                esc(summary)
            ));
            body.push_str(&render_operation(&anchor, method, path, operation));
        }
    }
    let mut schemas = String::new();
    for (name, schema) in document["components"]["schemas"]
        .as_object()
        .unwrap_or(&empty)
    {
        schemas.push_str(&format!(
            "<section class=\"op\" id=\"schema-{0}\"><h3>{0}</h3>{1}</section>",
            esc(name),
            render_schema(schema)
        ));
    }
    format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} — tài liệu API</title><style>{STYLE}</style></head><body>\
         <header><strong>{title}</strong> {version} · OpenAPI {openapi} · <a href=\"/openapi.json\">/openapi.json</a></header>\
         <main><p>{description}</p><nav aria-label=\"Mục lục\"><h2>Các thao tác</h2><ul>{toc}</ul></nav>{body}\
         <h2>Kiểu dữ liệu</h2>{schemas}</main></body></html>",
        title = esc(info["title"].as_str().unwrap_or("API")),
        version = esc(info["version"].as_str().unwrap_or("")),
        openapi = esc(document["openapi"].as_str().unwrap_or("")),
        description = esc(info["description"].as_str().unwrap_or("")),
    )
}

fn render_operation(anchor: &str, method: &str, path: &str, operation: &Value) -> String {
    let mut html = format!(
        "<section class=\"op\" id=\"{anchor}\"><h2><span class=\"method {method}\">{method}</span> <code>{}</code></h2><p><strong>{}</strong></p><p>{}</p>",
        esc(path),
        esc(operation["summary"].as_str().unwrap_or("")),
        esc(operation["description"].as_str().unwrap_or("")),
    );
    if let Some(parameters) = operation["parameters"].as_array() {
        html.push_str("<h3>Tham số</h3><table><tr><th>tên</th><th>vị trí</th><th>mô tả</th><th>ví dụ</th></tr>");
        for parameter in parameters {
            html.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(parameter["name"].as_str().unwrap_or("")),
                esc(parameter["in"].as_str().unwrap_or("")),
                esc(parameter["description"].as_str().unwrap_or("")),
                esc(&plain(&parameter["example"])),
            ));
        }
        html.push_str("</table>");
    }
    if let Some(content) = operation["requestBody"]["content"].as_object() {
        for (media_type, media) in content {
            html.push_str(&format!(
                "<h3>Nội dung yêu cầu <code>{}</code></h3><p>{}</p>",
                esc(media_type),
                schema_link(&media["schema"])
            ));
            if !media["example"].is_null() {
                html.push_str(&format!("<pre>{}</pre>", esc(&pretty(&media["example"]))));
            }
        }
    }
    html.push_str("<h3>Phản hồi</h3><table><tr><th>mã</th><th>mô tả</th><th>nội dung</th></tr>");
    for (status, response) in operation["responses"].as_object().unwrap_or(&Map::new()) {
        let mut cell = String::new();
        for (media_type, media) in response["content"].as_object().unwrap_or(&Map::new()) {
            cell.push_str(&format!(
                "<code>{}</code> {}",
                esc(media_type),
                schema_link(&media["schema"])
            ));
            for (_, example) in media["examples"].as_object().unwrap_or(&Map::new()) {
                cell.push_str(&format!("<pre>{}</pre>", esc(&pretty(&example["value"]))));
            }
        }
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{cell}</td></tr>",
            esc(status),
            esc(response["description"].as_str().unwrap_or(""))
        ));
    }
    html.push_str("</table></section>");
    html
}

/// A link to the schema a `$ref` names (the first of an `allOf`), or its type.
fn schema_link(schema: &Value) -> String {
    let reference = schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str());
    match reference.and_then(|r| r.rsplit('/').next()) {
        Some(name) => format!("<a href=\"#schema-{0}\">{0}</a>", esc(name)),
        None => esc(&type_name(schema)),
    }
}

fn render_schema(schema: &Value) -> String {
    let mut html = format!(
        "<p>{}</p>",
        esc(schema["description"].as_str().unwrap_or(""))
    );
    if let Some(variants) = schema["oneOf"].as_array() {
        html.push_str("<p>Một trong các dạng sau:</p>");
        for variant in variants {
            html.push_str(&render_schema(variant));
        }
        return html;
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(properties) = schema["properties"].as_object() {
        html.push_str(
            "<table><tr><th>trường</th><th>kiểu</th><th>bắt buộc</th><th>mô tả</th></tr>",
        );
        for (name, property) in properties {
            let mut description = esc(property["description"].as_str().unwrap_or(""));
            if let Some(values) = property["enum"].as_array() {
                description.push_str(&format!(
                    " <span class=\"muted\">({})</span>",
                    esc(&values.iter().map(plain).collect::<Vec<_>>().join(", "))
                ));
            }
            html.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{description}</td></tr>",
                esc(name),
                schema_link(property),
                if required.contains(&name.as_str()) {
                    "có"
                } else {
                    ""
                },
            ));
        }
        html.push_str("</table>");
    }
    if !schema["example"].is_null() {
        html.push_str(&format!("<pre>{}</pre>", esc(&pretty(&schema["example"]))));
    }
    html
}

fn type_name(schema: &Value) -> String {
    match &schema["type"] {
        Value::String(name) if name == "array" => {
            format!("array of {}", type_name(&schema["items"]))
        }
        Value::String(name) => name.clone(),
        Value::Array(names) => names.iter().map(plain).collect::<Vec<_>>().join(" | "),
        _ => match schema["$ref"].as_str() {
            Some(reference) => reference.rsplit('/').next().unwrap_or("").to_owned(),
            None => schema["oneOf"]
                .as_array()
                .map(|v| v.iter().map(type_name).collect::<Vec<_>>().join(" | "))
                .unwrap_or_else(|| "any".into()),
        },
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_error_code_is_documented() {
        let document = document();
        let codes = &document["components"]["schemas"]["Error"]["properties"]["error"]
            ["properties"]["code"]["enum"];
        let codes: Vec<&str> = codes
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for code in [
            ErrorCode::InvalidContentType,
            ErrorCode::PayloadTooLarge,
            ErrorCode::InvalidUtf8,
            ErrorCode::InvalidJson,
            ErrorCode::EmptyQuestion,
            ErrorCode::QuestionTooLong,
            ErrorCode::InvalidCharacters,
            ErrorCode::InvalidConversationId,
            ErrorCode::ArticleNotFound,
            ErrorCode::RouteNotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::NotReady,
            ErrorCode::Busy,
            ErrorCode::Timeout,
            ErrorCode::Internal,
        ] {
            assert!(codes.contains(&code.as_str()), "{}", code.as_str());
            // The example carries the real message.
            assert!(!api_example(code).message.is_empty());
        }
        assert_eq!(document["openapi"], "3.1.0");
    }

    #[test]
    fn the_reference_page_has_every_operation_and_no_script() {
        let page = render_reference(document());
        for path in [
            "/v1/ask",
            "/v1/articles/{id}",
            "/v1/chat",
            "/v1/feedback",
            "/v1/satisfaction",
            "/healthz",
            "/readyz",
        ] {
            assert!(
                page.contains(&format!("<code>{}</code>", esc(path))),
                "{path}"
            );
        }
        assert!(page.contains("question_too_long") && page.contains("duplicate_message"));
        assert!(!page.to_ascii_lowercase().contains("<script"));
    }
}
