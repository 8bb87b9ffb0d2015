//! What the Zalo webhooks answer the platform: `{"ok":true}` once an event is stored, or an
//! [`ApiError`] with a stable code and an English message (the platform reads it, not a citizen).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::dispatch::Dispatcher;
use super::Inbound;
use crate::http::error::{ApiError, ErrorCode};

pub fn ok_response() -> Response {
    (StatusCode::OK, Json(json!({ "ok": true }))).into_response()
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
            ApiError::new(ErrorCode::Internal, "cannot store the event").into_response()
        }
    }
}
