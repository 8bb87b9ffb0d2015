//! What the Zalo webhooks answer the platform: `{"ok":true}` once an event is stored, or a stable
//! error code with an English message (the platform reads it, not a citizen).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::dispatch::Dispatcher;
use super::Inbound;

pub fn ok_response() -> Response {
    (StatusCode::OK, Json(json!({ "ok": true }))).into_response()
}

pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// Stores the event and acknowledges it. A database failure answers 500, which makes the
/// platform deliver the event again later: nothing acknowledged is lost.
pub async fn submit_and_acknowledge(
    dispatcher: &Dispatcher,
    inbound: Inbound,
    channel: &'static str,
) -> Response {
    match dispatcher.submit(inbound).await {
        Ok(_) => ok_response(),
        Err(error) => {
            tracing::error!(channel, %error, "cannot store a webhook event");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "cannot store the event",
            )
        }
    }
}
