//! The Zalo Bot Platform adapter: Telegram-like bots inside Zalo.
//!
//! Inbound: the platform POSTs events to `/webhooks/zalo-bot` with the `secret_token` given to
//! `setWebhook` in `X-Bot-Api-Secret-Token`; it is compared in constant time. Payloads come either
//! wrapped (`{ok, result: {event_name, message}}`) or flat (`{event_name, message}`); both are
//! accepted. Each event is handed to the dispatcher, which dedups on `event_name:chat_id:message_id`.
//!
//! Outbound: [`ZaloBotSender`] calls `sendMessage` with plain text in parts of at most 2,000
//! characters and `sendChatAction` for "typing…". The bot token is part of every URL, so URLs are
//! never logged and are stripped from network errors.
//!
//! Platform facts are in `docs/CHANNELS.md`; operator set-up in `bots/zalo/README.md`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use super::dispatch::Dispatcher;
// Zalo Bot takes the same plain text in 2,000-character parts as the OA API.
use super::webhook::{ok_response, submit_and_acknowledge};
use super::zalo_oa::render_plain;
use super::{
    constant_time_eq, ChannelKind, ChannelSender, Inbound, InboundKind, OutPart, Reply, SendError,
};
use crate::config::ZaloBotConfig;
use crate::http::error::{ApiError, ErrorCode};

/// Where the Bot Platform delivers events (given to `setWebhook`).
pub const WEBHOOK_PATH: &str = "/webhooks/zalo-bot";

/// The header carrying the webhook's `secret_token`.
pub const SECRET_HEADER: &str = "x-bot-api-secret-token";

/// Events are small JSON objects; anything bigger is not from Zalo.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// "Typing…" is cosmetic: never let it hold up the answer for long.
const TYPING_TIMEOUT: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------------------------------------
// Webhook
// ---------------------------------------------------------------------------------------------

struct WebhookState {
    dispatcher: Dispatcher,
    secret_token: String,
}

/// The `POST /webhooks/zalo-bot` route, to merge into the service's router.
pub fn routes(dispatcher: Dispatcher, config: &ZaloBotConfig) -> Router {
    let state = Arc::new(WebhookState {
        dispatcher,
        secret_token: config.secret_token.clone(),
    });
    Router::new()
        .route(WEBHOOK_PATH, post(webhook))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn webhook(
    State(state): State<Arc<WebhookState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let given = headers
        .get(SECRET_HEADER)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    // An empty configured secret must not accept a request without the header.
    if state.secret_token.is_empty() || !constant_time_eq(given, state.secret_token.as_bytes()) {
        tracing::warn!(
            channel = "zalo_bot",
            "webhook rejected: wrong or missing secret token"
        );
        crate::metrics::webhook_rejected("zalo_bot", "invalid_secret_token");
        return ApiError::new(
            ErrorCode::InvalidSecretToken,
            "wrong or missing X-Bot-Api-Secret-Token",
        )
        .into_response();
    }
    let inbound = match parse_event(&body) {
        Ok(Some(inbound)) => inbound,
        Ok(None) => return ok_response(),
        Err(reason) => {
            tracing::warn!(channel = "zalo_bot", reason, "webhook event not understood");
            crate::metrics::webhook_rejected("zalo_bot", "invalid_event");
            return ApiError::new(ErrorCode::InvalidEvent, reason).into_response();
        }
    };
    tracing::debug!(channel = "zalo_bot", user = %inbound.user_id, kind = inbound.kind.name(), "event received");
    submit_and_acknowledge(&state.dispatcher, inbound, "zalo_bot").await
}

/// Translates one event: `Ok(None)` for events we acknowledge and drop, `Err` (a 400) when the
/// payload cannot be read.
fn parse_event(body: &[u8]) -> Result<Option<Inbound>, &'static str> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "body is not JSON")?;
    // Wrapped `{ok, result: {…}}` or flat `{event_name, message}`.
    let event = match value.get("result") {
        Some(result) if result.is_object() => result,
        _ => &value,
    };
    let event_name = text_at(event, "/event_name").ok_or("missing event_name")?;
    let kind = match event_name.as_str() {
        "message.text.received" => {
            let text = text_at(event, "/message/text").ok_or("missing message.text")?;
            text_kind(text)
        }
        "message.image.received"
        | "message.sticker.received"
        | "message.voice.received"
        | "message.unsupported.received" => InboundKind::Unsupported(event_name.clone()),
        other => {
            tracing::debug!(
                channel = "zalo_bot",
                event_name = other,
                "event acknowledged and ignored"
            );
            return Ok(None);
        }
    };
    let message_id = text_at(event, "/message/message_id").ok_or("missing message.message_id")?;
    let chat_id = text_at(event, "/message/chat/id").ok_or("missing message.chat.id")?;
    let user_id = text_at(event, "/message/from/id").ok_or("missing message.from.id")?;
    Ok(Some(Inbound {
        channel: ChannelKind::ZaloBot,
        // The platform documents message ids per chat, not as globally unique, so the chat is
        // part of the key that makes a repeated delivery a no-op.
        external_id: format!("{event_name}:{chat_id}:{message_id}"),
        user_id,
        chat_id,
        kind,
    }))
}

/// Bot-style commands: `/start` greets like a follow, `/help` explains; anything else is a question.
fn text_kind(text: String) -> InboundKind {
    let command = text.trim().to_lowercase();
    match command.as_str() {
        "/start" => InboundKind::Follow,
        "/help" => InboundKind::Help,
        _ => InboundKind::Text(text),
    }
}

/// The string (or number, written out) at a JSON pointer.
fn text_at(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Sender
// ---------------------------------------------------------------------------------------------

/// Sends replies through the Bot API.
pub struct ZaloBotSender {
    http: reqwest::Client,
    /// `{api_base}/bot{token}`: secret, never logged.
    bot_url: String,
}

impl ZaloBotSender {
    pub fn new(config: &ZaloBotConfig, http: reqwest::Client) -> ZaloBotSender {
        ZaloBotSender {
            http,
            bot_url: format!(
                "{}/bot{}",
                config.api_base.trim_end_matches('/'),
                config.token
            ),
        }
    }

    /// Calls one Bot API method with a JSON body.
    async fn call(
        &self,
        method: &str,
        body: &Value,
        timeout: Option<Duration>,
    ) -> Result<(), SendError> {
        let mut request = self
            .http
            .post(format!("{}/{method}", self.bot_url))
            .json(body);
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let response = request.send().await.map_err(|error| SendError::Retryable {
            // `without_url`: the URL holds the bot token.
            reason: format!("{method}: network error: {}", error.without_url()),
            retry_after: None,
        })?;
        let status = response.status();
        let header_wait = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        classify(method, status, &reply, header_wait)
    }
}

/// Maps an HTTP status and a Bot API reply (`{ok, result}` or `{ok:false, error_code,
/// description, parameters:{retry_after}}`) onto the outcome of a send.
fn classify(
    method: &str,
    status: StatusCode,
    reply: &Value,
    header_wait: Option<u64>,
) -> Result<(), SendError> {
    let ok = reply.get("ok").and_then(Value::as_bool);
    if status.is_success() && ok != Some(false) {
        return Ok(());
    }
    let code = reply.get("error_code").and_then(Value::as_i64);
    let description = reply
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let reason = match code {
        Some(code) => format!("{method}: http {status}, error {code}: {description}"),
        None => format!("{method}: http {status}: {description}"),
    };
    let rate_limited = status == StatusCode::TOO_MANY_REQUESTS || code == Some(429);
    if rate_limited || status.is_server_error() {
        let retry_after = ["/parameters/retry_after", "/retry_after"]
            .iter()
            .find_map(|pointer| reply.pointer(pointer).and_then(Value::as_u64))
            .or(header_wait)
            .map(Duration::from_secs);
        return Err(SendError::Retryable {
            reason,
            retry_after,
        });
    }
    Err(SendError::Permanent { reason })
}

impl ChannelSender for ZaloBotSender {
    fn kind(&self) -> ChannelKind {
        ChannelKind::ZaloBot
    }

    fn render(&self, reply: &Reply) -> Vec<OutPart> {
        render_plain(reply)
    }

    fn send<'a>(
        &'a self,
        chat_id: &'a str,
        part: &'a OutPart,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let body = json!({ "chat_id": chat_id, "text": part.text });
            self.call("sendMessage", &body, None).await
        })
    }

    fn typing<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let body = json!({ "chat_id": chat_id, "action": "typing" });
            if let Err(error) = self
                .call("sendChatAction", &body, Some(TYPING_TIMEOUT))
                .await
            {
                tracing::debug!(
                    channel = "zalo_bot",
                    reason = error.reason(),
                    "typing indicator not shown"
                );
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = r#"{"event_name":"message.text.received","message":{"message_id":"m1","from":{"id":"u1","display_name":"An"},"chat":{"id":"c1","chat_type":"PRIVATE"},"date":1718000000000,"text":"Thủ tục ly hôn?"}}"#;

    #[test]
    fn both_payload_shapes_are_read() {
        let flat = parse_event(MESSAGE.as_bytes()).unwrap().unwrap();
        let wrapped = format!(r#"{{"ok":true,"result":{MESSAGE}}}"#);
        let wrapped = parse_event(wrapped.as_bytes()).unwrap().unwrap();
        assert_eq!(flat, wrapped);
        // Message ids are documented per chat, not as globally unique: the chat is in the key.
        assert_eq!(flat.external_id, "message.text.received:c1:m1");
        let other_chat = MESSAGE.replace(r#""id":"c1""#, r#""id":"c2""#);
        let other_chat = parse_event(other_chat.as_bytes()).unwrap().unwrap();
        assert_ne!(other_chat.external_id, flat.external_id);
        assert_eq!((flat.user_id.as_str(), flat.chat_id.as_str()), ("u1", "c1"));
        assert_eq!(flat.kind, InboundKind::Text("Thủ tục ly hôn?".into()));
    }

    #[test]
    fn other_events() {
        let sticker = MESSAGE.replace("message.text.received", "message.sticker.received");
        let sticker = parse_event(sticker.as_bytes()).unwrap().unwrap();
        assert_eq!(
            sticker.kind,
            InboundKind::Unsupported("message.sticker.received".into())
        );
        assert_eq!(sticker.external_id, "message.sticker.received:c1:m1");
        let start = MESSAGE.replace("Thủ tục ly hôn?", "/start");
        assert_eq!(
            parse_event(start.as_bytes()).unwrap().unwrap().kind,
            InboundKind::Follow
        );
        assert_eq!(
            parse_event(br#"{"event_name":"message.reaction.received"}"#),
            Ok(None)
        );
        assert!(
            parse_event(br#"{"event_name":"message.text.received","message":{"text":"x"}}"#)
                .is_err()
        );
        assert!(parse_event(b"{").is_err());
        assert!(parse_event(br#"{"ok":true}"#).is_err());
    }

    #[test]
    fn replies_map_to_send_errors() {
        assert_eq!(
            classify(
                "m",
                StatusCode::OK,
                &json!({"ok": true, "result": {}}),
                None
            ),
            Ok(())
        );
        let limited = classify(
            "m",
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"ok": false, "error_code": 429, "parameters": {"retry_after": 7}}),
            None,
        );
        assert!(
            matches!(limited, Err(SendError::Retryable { retry_after: Some(d), .. }) if d == Duration::from_secs(7))
        );
        let server = classify("m", StatusCode::BAD_GATEWAY, &Value::Null, Some(3));
        assert!(
            matches!(server, Err(SendError::Retryable { retry_after: Some(d), .. }) if d == Duration::from_secs(3))
        );
        let refused = classify(
            "m",
            StatusCode::OK,
            &json!({"ok": false, "error_code": 400, "description": "chat not found"}),
            None,
        );
        assert!(matches!(refused, Err(SendError::Permanent { .. })));
        let unauthorized = classify("m", StatusCode::UNAUTHORIZED, &json!({"ok": false}), None);
        assert!(matches!(unauthorized, Err(SendError::Permanent { .. })));
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_support::config())]

        /// Any body is read or refused, never a panic; a message's text and ids come through
        /// exactly as sent, whatever they hold.
        #[test]
        fn any_payload_is_read_or_refused(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            text in crate::proptest_support::outside_text(60),
            id in crate::proptest_support::outside_text(8),
        ) {
            let _ = parse_event(&bytes);
            let body = serde_json::json!({"event_name": "message.text.received", "message": {
                "message_id": id, "from": {"id": "u1"}, "chat": {"id": "c1"}, "text": text}});
            let inbound = parse_event(body.to_string().as_bytes()).unwrap().unwrap();
            proptest::prop_assert_eq!(inbound.external_id, format!("message.text.received:c1:{id}"));
            match inbound.kind {
                InboundKind::Text(read) => proptest::prop_assert_eq!(read, text),
                other => proptest::prop_assert!(
                    matches!(other, InboundKind::Follow | InboundKind::Help),
                    "{other:?}"
                ),
            }
        }
    }
}
