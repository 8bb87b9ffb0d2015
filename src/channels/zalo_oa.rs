//! The Zalo Official Account (OA API v3) adapter: the channel most Vietnamese citizens use.
//!
//! Inbound: Zalo POSTs events to `/webhooks/zalo-oa`. Each is authenticated by its
//! `X-ZEvent-Signature` (a plain SHA-256 over app id, raw body, the body's `timestamp` and the OA
//! secret key), checked for age (replays), translated into an [`Inbound`] and handed to the
//! dispatcher, which commits it before we answer 200. Zalo retries failed deliveries, so a
//! database failure answers 500 and a duplicate is a no-op (the dispatcher dedups on `msg_id`).
//!
//! Outbound: [`ZaloOaSender`] sends plain text in parts of at most 2,000 characters through the
//! "consultation" (customer service) message API, maps Zalo's error codes onto [`SendError`], and
//! refreshes the OA access token when Zalo says it expired. The refresh token is single-use, so
//! the new pair is written to the database before it is used, and one refresh runs at a time.
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
use sha2::{Digest, Sha256};

use super::dispatch::Dispatcher;
use super::split::{split_message, Measure};
use super::webhook::{ok_response, submit_and_acknowledge};
use super::{
    constant_time_eq, ChannelKind, ChannelSender, Inbound, InboundKind, OutPart, Reply, SendError,
};
use crate::config::ZaloOaConfig;
use crate::db::{Db, TokenPair};
use crate::http::error::{ApiError, ErrorCode};

/// Where Zalo delivers OA events.
pub const WEBHOOK_PATH: &str = "/webhooks/zalo-oa";

/// The signature header, `mac=<lowercase hex>`.
pub const SIGNATURE_HEADER: &str = "x-zevent-signature";

/// Zalo events are small JSON objects; anything bigger is not from Zalo.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Longest text of one OA message, in characters.
const MAX_TEXT_CHARS: usize = 2_000;

/// Longest wait for the OAuth server during a token refresh.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(20);

/// The row of `channel_tokens` holding the OA token pair.
const TOKEN_CHANNEL: ChannelKind = ChannelKind::ZaloOa;

/// Zalo errors meaning the consultation window is closed for this user: recorded, never retried.
const OUTSIDE_WINDOW_ERRORS: [i64; 7] = [-213, -217, -227, -230, -232, -234, -244];
/// Rate limit (-32) and a transient server error (-100): retried with backoff.
const RETRYABLE_ERRORS: [i64; 2] = [-32, -100];
/// The access token is invalid (-216) or expired (-220): refresh once, then retry once.
const TOKEN_ERRORS: [i64; 2] = [-216, -220];

/// How long after a citizen's last message the OA may message them (consultation messages).
/// Sending later fails (the outbox does not try: `channels::outbox`).
pub const CONSULTATION_WINDOW: Duration = Duration::from_secs(48 * 3600);
/// Messages the OA may send a citizen within that window (the stricter reading of Zalo's rule).
pub const MAX_MESSAGES_IN_WINDOW: i64 = 8;

// ---------------------------------------------------------------------------------------------
// Signature
// ---------------------------------------------------------------------------------------------

/// Why a webhook request was not accepted as coming from Zalo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-ZEvent-Signature header is missing")]
    Missing,
    #[error("the X-ZEvent-Signature header is not `mac=<hex>`")]
    Malformed,
    #[error("the body is not a JSON object with a `timestamp`")]
    NoTimestamp,
    #[error("the signature does not match")]
    Mismatch,
    #[error("the event timestamp is outside the accepted window (replay?)")]
    Stale,
}

impl SignatureError {
    /// The `reason` label of `hoiluat_webhook_rejections_total`.
    pub fn metric_reason(&self) -> &'static str {
        match self {
            SignatureError::Missing | SignatureError::Malformed => "missing_signature",
            SignatureError::NoTimestamp => "invalid_event",
            SignatureError::Mismatch => "invalid_signature",
            SignatureError::Stale => "stale_event",
        }
    }
}

/// Checks `X-ZEvent-Signature: mac=<hex>` where
/// `hex = sha256(app_id + body + timestamp + oa_secret_key)` and `timestamp` is the body's own
/// `timestamp` field. Does not check the event's age: see [`check_event_age`].
pub fn verify_signature(
    app_id: &str,
    oa_secret_key: &str,
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let given = header
        .trim()
        .strip_prefix("mac=")
        .ok_or(SignatureError::Malformed)?
        .trim()
        .to_ascii_lowercase();
    let timestamp = body_timestamp(body).ok_or(SignatureError::NoTimestamp)?;
    let expected = signature_hex(app_id, oa_secret_key, body, &timestamp);
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The lowercase hex SHA-256 Zalo puts after `mac=` (public so tests and operators' tools can sign).
pub fn signature_hex(app_id: &str, oa_secret_key: &str, body: &[u8], timestamp: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(app_id.as_bytes());
    hasher.update(body);
    hasher.update(timestamp.as_bytes());
    hasher.update(oa_secret_key.as_bytes());
    hex::encode(hasher.finalize())
}

/// Rejects events whose `timestamp` (milliseconds) is more than `max_age_secs` away from
/// `now_ms`, in either direction (a clock far ahead is as suspicious as an old event).
/// `max_age_secs == 0` turns the check off.
pub fn check_event_age(body: &[u8], now_ms: i64, max_age_secs: u64) -> Result<(), SignatureError> {
    if max_age_secs == 0 {
        return Ok(());
    }
    let timestamp = body_timestamp(body).ok_or(SignatureError::NoTimestamp)?;
    let event_ms: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Stale)?;
    let max_age_ms = i64::try_from(max_age_secs.saturating_mul(1_000)).unwrap_or(i64::MAX);
    if now_ms.saturating_sub(event_ms).saturating_abs() > max_age_ms {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// The body's top-level `timestamp` as the text that was signed. Zalo sends a string; a number is
/// accepted too and used as written.
fn body_timestamp(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    match value.get("timestamp")? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook
// ---------------------------------------------------------------------------------------------

struct WebhookState {
    dispatcher: Dispatcher,
    app_id: String,
    oa_secret_key: String,
    max_event_age_secs: u64,
}

/// The `POST /webhooks/zalo-oa` route, to merge into the service's router.
pub fn routes(dispatcher: Dispatcher, config: &ZaloOaConfig) -> Router {
    let state = Arc::new(WebhookState {
        dispatcher,
        app_id: config.app_id.clone(),
        oa_secret_key: config.oa_secret_key.clone(),
        max_event_age_secs: config.max_event_age_secs,
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
    let header = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    let authenticated = verify_signature(&state.app_id, &state.oa_secret_key, &body, header)
        .and_then(|()| {
            check_event_age(
                &body,
                chrono::Utc::now().timestamp_millis(),
                state.max_event_age_secs,
            )
        });
    if let Err(error) = authenticated {
        // The body is not logged: it may be anyone's, and it carries citizens' messages.
        tracing::warn!(channel = "zalo_oa", reason = %error, "webhook rejected");
        crate::metrics::webhook_rejected("zalo_oa", error.metric_reason());
        return ApiError::new(ErrorCode::InvalidSignature, error.to_string()).into_response();
    }
    let event = match parse_event(&body) {
        Ok(event) => event,
        Err(reason) => {
            tracing::warn!(
                channel = "zalo_oa",
                reason,
                "signed webhook event not understood"
            );
            crate::metrics::webhook_rejected("zalo_oa", "invalid_event");
            return ApiError::new(ErrorCode::InvalidEvent, reason).into_response();
        }
    };
    let inbound = match event {
        Event::Message(inbound) => inbound,
        Event::Ignored(event_name) => {
            tracing::debug!(
                channel = "zalo_oa",
                event_name,
                "event acknowledged and ignored"
            );
            return ok_response();
        }
    };
    tracing::debug!(channel = "zalo_oa", user = %inbound.user_id, kind = inbound.kind.name(), "event received");
    submit_and_acknowledge(&state.dispatcher, inbound, "zalo_oa").await
}

/// What a verified event means for us.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    /// Something a citizen did that gets a reply.
    Message(Inbound),
    /// Acknowledged and dropped (our own echoes, receipts, unfollow, events we do not use).
    Ignored(String),
}

/// Translates one Zalo event. `Err` names what is missing (a 400: Zalo sent something we cannot
/// read, and retrying will not change it).
fn parse_event(body: &[u8]) -> Result<Event, &'static str> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "body is not JSON")?;
    let event_name = text_at(&value, "/event_name").ok_or("missing event_name")?;
    let timestamp = text_at(&value, "/timestamp").unwrap_or_default();
    let inbound = |external_id: String, user: String, kind: InboundKind| Inbound {
        channel: ChannelKind::ZaloOa,
        external_id,
        chat_id: user.clone(),
        user_id: user,
        kind,
    };
    match event_name.as_str() {
        "user_send_text" => {
            let user = text_at(&value, "/sender/id").ok_or("missing sender.id")?;
            let msg_id = text_at(&value, "/message/msg_id").ok_or("missing message.msg_id")?;
            let text = text_at(&value, "/message/text").ok_or("missing message.text")?;
            Ok(Event::Message(inbound(
                msg_id,
                user,
                InboundKind::Text(text),
            )))
        }
        "follow" => {
            let user = text_at(&value, "/follower/id").ok_or("missing follower.id")?;
            // A follow has no message id; this triple is the same on every retry of one event.
            let external_id = format!("follow:{user}:{timestamp}");
            Ok(Event::Message(inbound(
                external_id,
                user,
                InboundKind::Follow,
            )))
        }
        name if name == "anonymous_send_text" || name.starts_with("user_send_") => {
            let user = text_at(&value, "/sender/id").ok_or("missing sender.id")?;
            let external_id = text_at(&value, "/message/msg_id")
                .unwrap_or_else(|| format!("{name}:{user}:{timestamp}"));
            let kind = InboundKind::Unsupported(name.to_owned());
            Ok(Event::Message(inbound(external_id, user, kind)))
        }
        // `oa_send_*` echoes, receipts, unfollow and every event we have no use for: a 200, so
        // Zalo does not retry them.
        _ => Ok(Event::Ignored(event_name)),
    }
}

/// The string (or number, written out) at a JSON pointer; ids are strings in Zalo's documentation
/// but are accepted as numbers too.
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

/// Sends replies as OA consultation messages.
pub struct ZaloOaSender {
    http: reqwest::Client,
    api_base: String,
    tokens: Arc<Tokens>,
}

/// The OA token pair: where it is read from and how it is renewed. Shared with the refresh task.
struct Tokens {
    http: reqwest::Client,
    db: Db,
    oauth_base: String,
    app_id: String,
    app_secret: String,
    /// The first pair, from the configuration; the database's pair wins once there is one.
    configured: TokenPair,
    /// Held while refreshing, so concurrent sends that all saw an expired token refresh once.
    refresh_lock: tokio::sync::Mutex<()>,
}

/// What one attempt to post a message gave.
enum Posted {
    Sent,
    /// Zalo refused the access token (-216 / -220).
    TokenRejected(String),
    Failed(SendError),
}

impl ZaloOaSender {
    pub fn new(config: &ZaloOaConfig, db: Db, http: reqwest::Client) -> ZaloOaSender {
        let tokens = Tokens {
            http: http.clone(),
            db,
            oauth_base: config.oauth_base.trim_end_matches('/').to_owned(),
            app_id: config.app_id.clone(),
            app_secret: config.app_secret.clone(),
            configured: TokenPair {
                access_token: config.access_token.clone(),
                refresh_token: config.refresh_token.clone(),
                expires_at: String::new(),
            },
            refresh_lock: tokio::sync::Mutex::new(()),
        };
        ZaloOaSender {
            http,
            api_base: config.api_base.trim_end_matches('/').to_owned(),
            tokens: Arc::new(tokens),
        }
    }

    /// Sends one text; on a rejected token, refreshes once and tries once more.
    async fn send_text(&self, user_id: &str, text: &str) -> Result<(), SendError> {
        let token = self.tokens.current().await?;
        let rejected = if token.access_token.is_empty() {
            "no access token yet".to_owned()
        } else {
            match self.post_message(&token.access_token, user_id, text).await {
                Posted::Sent => return Ok(()),
                Posted::Failed(error) => return Err(error),
                Posted::TokenRejected(reason) => reason,
            }
        };
        tracing::info!(channel = "zalo_oa", reason = %rejected, "access token rejected; refreshing");
        let fresh = self.refresh_after(token.access_token).await?;
        match self.post_message(&fresh.access_token, user_id, text).await {
            Posted::Sent => Ok(()),
            Posted::Failed(error) => Err(error),
            Posted::TokenRejected(reason) => Err(SendError::Permanent {
                reason: format!("access token rejected again after a refresh: {reason}"),
            }),
        }
    }

    /// Runs the refresh on its own task: the dispatcher's send timeout may drop this future, and
    /// a refresh cut short after Zalo answered would lose the new pair while the old refresh
    /// token is already spent.
    async fn refresh_after(&self, stale_access: String) -> Result<TokenPair, SendError> {
        let tokens = Arc::clone(&self.tokens);
        tokio::spawn(async move { tokens.refresh_after(&stale_access).await })
            .await
            .unwrap_or_else(|error| {
                Err(SendError::Retryable {
                    reason: format!("token refresh task failed: {error}"),
                    retry_after: None,
                })
            })
    }

    /// `POST /v3.0/oa/message/cs` with one text.
    async fn post_message(&self, access_token: &str, user_id: &str, text: &str) -> Posted {
        let body = json!({
            "recipient": { "user_id": user_id },
            "message": { "text": text },
        });
        let response = self
            .http
            .post(format!("{}/v3.0/oa/message/cs", self.api_base))
            .header("access_token", access_token)
            .json(&body)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => return Posted::Failed(network_error(error)),
        };
        let status = response.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Posted::Failed(SendError::Retryable {
                reason: format!("zalo answered http {status}"),
                retry_after: None,
            });
        }
        let reply: Value = match response.json().await {
            Ok(reply) => reply,
            Err(_) => {
                return Posted::Failed(SendError::Permanent {
                    reason: format!("zalo answered http {status} without a JSON body"),
                })
            }
        };
        classify_reply(&reply)
    }
}

/// How long one replica may hold the right to refresh the token pair.
const REFRESH_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

impl Tokens {
    /// The pair to use now: the database's (written by the last refresh), else the configured one.
    async fn current(&self) -> Result<TokenPair, SendError> {
        match self.db.load_token(TOKEN_CHANNEL).await {
            Ok(Some(pair)) => Ok(pair),
            Ok(None) => Ok(self.configured.clone()),
            Err(error) => Err(SendError::Retryable {
                reason: format!("cannot read the token pair: {error}"),
                retry_after: None,
            }),
        }
    }

    /// Refreshes the pair unless another task already did since `stale_access` was read; returns
    /// the pair to use. The new pair is committed to the database before it is returned.
    async fn refresh_after(&self, stale_access: &str) -> Result<TokenPair, SendError> {
        let _refreshing = self.refresh_lock.lock().await;
        let current = self.current().await?;
        if current.access_token != stale_access && !current.access_token.is_empty() {
            return Ok(current);
        }
        // Across replicas: one refreshes (the refresh token is single-use), the others wait for
        // the pair it saves.
        let leased = self
            .db
            .lease_token_refresh(TOKEN_CHANNEL, REFRESH_LEASE)
            .await
            .map_err(|error| SendError::Retryable {
                reason: format!("cannot take the token refresh lease: {error}"),
                retry_after: None,
            })?;
        if !leased {
            return self.wait_for_other_refresh(stale_access).await;
        }
        // Re-read under the lease: another replica may have refreshed just before.
        let current = match self.current().await {
            Ok(current) => current,
            Err(error) => {
                let _ = self.db.release_token_refresh(TOKEN_CHANNEL).await;
                return Err(error);
            }
        };
        if current.access_token != stale_access && !current.access_token.is_empty() {
            let _ = self.db.release_token_refresh(TOKEN_CHANNEL).await;
            return Ok(current);
        }
        if current.refresh_token.is_empty() {
            let _ = self.db.release_token_refresh(TOKEN_CHANNEL).await;
            return Err(SendError::Permanent {
                reason: "the access token was rejected and no refresh token is configured".into(),
            });
        }
        let fresh = match self.request_new_pair(&current.refresh_token).await {
            Ok(fresh) => fresh,
            Err(error) => {
                let _ = self.db.release_token_refresh(TOKEN_CHANNEL).await;
                return Err(error);
            }
        };
        // The old refresh token is spent now: the new pair must be durable before anything else.
        if let Err(error) = self.db.save_token(TOKEN_CHANNEL, fresh.clone()).await {
            tracing::error!(channel = "zalo_oa", %error, "new token pair could not be saved; the OA may need new tokens");
            return Err(SendError::Permanent {
                reason: format!("cannot save the refreshed token pair: {error}"),
            });
        }
        tracing::info!(channel = "zalo_oa", expires_at = %fresh.expires_at, "access token refreshed");
        Ok(fresh)
    }

    /// Another replica holds the refresh lease: wait for the pair it saves (it clears the lease).
    async fn wait_for_other_refresh(&self, stale_access: &str) -> Result<TokenPair, SendError> {
        let deadline = tokio::time::Instant::now() + REFRESH_LEASE;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            let current = self.current().await?;
            if current.access_token != stale_access && !current.access_token.is_empty() {
                return Ok(current);
            }
        }
        Err(SendError::Retryable {
            reason: "another replica is refreshing the access token".into(),
            retry_after: None,
        })
    }

    /// `POST {oauth_base}/v4/oa/access_token` (form-encoded, `secret_key` header).
    async fn request_new_pair(&self, refresh_token: &str) -> Result<TokenPair, SendError> {
        let form = [
            ("app_id", self.app_id.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        let response = self
            .http
            .post(format!("{}/v4/oa/access_token", self.oauth_base))
            .header("secret_key", &self.app_secret)
            .form(&form)
            // The refresh lock is held meanwhile: a hung request must not stall every send.
            .timeout(REFRESH_TIMEOUT)
            .send()
            .await
            .map_err(network_error)?;
        let status = response.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(SendError::Retryable {
                reason: format!("token refresh: zalo answered http {status}"),
                retry_after: None,
            });
        }
        let reply: Value = response.json().await.map_err(|_| SendError::Permanent {
            reason: format!("token refresh: http {status} without a JSON body"),
        })?;
        parse_token_reply(&reply, chrono::Utc::now())
    }
}

/// Maps Zalo's `{error, message}` onto the outcome of a send.
fn classify_reply(reply: &Value) -> Posted {
    let code = reply.get("error").and_then(Value::as_i64);
    let message = reply.get("message").and_then(Value::as_str).unwrap_or("");
    let Some(code) = code else {
        return Posted::Failed(SendError::Permanent {
            reason: "zalo answered without an error code".into(),
        });
    };
    let reason = format!("zalo error {code}: {message}");
    if code == 0 {
        Posted::Sent
    } else if OUTSIDE_WINDOW_ERRORS.contains(&code) {
        Posted::Failed(SendError::OutsideWindow { reason })
    } else if RETRYABLE_ERRORS.contains(&code) {
        Posted::Failed(SendError::Retryable {
            reason,
            retry_after: None,
        })
    } else if TOKEN_ERRORS.contains(&code) {
        Posted::TokenRejected(reason)
    } else {
        Posted::Failed(SendError::Permanent { reason })
    }
}

/// Reads `{access_token, refresh_token, expires_in}` (seconds, a string or a number); Zalo's
/// error replies carry `error`/`error_name`/`error_description` instead. Tokens never go into
/// the reason.
fn parse_token_reply(
    reply: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<TokenPair, SendError> {
    let access = reply
        .get("access_token")
        .and_then(Value::as_str)
        .unwrap_or("");
    let refresh = reply
        .get("refresh_token")
        .and_then(Value::as_str)
        .unwrap_or("");
    if access.is_empty() || refresh.is_empty() {
        let code = text_at(reply, "/error").unwrap_or_else(|| "?".into());
        let detail = ["/error_description", "/error_name", "/message"]
            .iter()
            .find_map(|pointer| text_at(reply, pointer))
            .unwrap_or_default();
        return Err(SendError::Permanent {
            reason: format!("token refresh refused (error {code}): {detail}"),
        });
    }
    let expires_in = text_at(reply, "/expires_in")
        .and_then(|text| text.parse::<i64>().ok())
        .unwrap_or(25 * 3_600);
    let expires_at = now + chrono::Duration::seconds(expires_in.clamp(0, 365 * 86_400));
    Ok(TokenPair {
        access_token: access.to_owned(),
        refresh_token: refresh.to_owned(),
        expires_at: expires_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

/// A request that got no answer: worth retrying. The URL is left out of the reason.
fn network_error(error: reqwest::Error) -> SendError {
    SendError::Retryable {
        reason: format!("network error: {}", error.without_url()),
        retry_after: None,
    }
}

/// Plain text in parts of at most 2,000 characters, cut on paragraph or sentence boundaries.
pub fn render_plain(reply: &Reply) -> Vec<OutPart> {
    split_message(reply.plain_text(), MAX_TEXT_CHARS, Measure::Chars)
        .into_iter()
        .map(OutPart::plain)
        .collect()
}

impl ChannelSender for ZaloOaSender {
    fn kind(&self) -> ChannelKind {
        ChannelKind::ZaloOa
    }

    fn render(&self, reply: &Reply) -> Vec<OutPart> {
        render_plain(reply)
    }

    fn send<'a>(
        &'a self,
        chat_id: &'a str,
        part: &'a OutPart,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(self.send_text(chat_id, &part.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_BODY: &str = r#"{"app_id":"1234567890","sender":{"id":"2468458835296117922"},"user_id_by_app":"552177279717587730","recipient":{"id":"579745863508352884"},"event_name":"user_send_text","message":{"text":"Thủ tục đăng ký kết hôn?","msg_id":"96d3cdf3af150460909"},"timestamp":"1718000000000"}"#;
    const VECTOR_MAC: &str = "mac=8b0b9a7efb5ddb97ca0712067164bcbd9ea94e3c286d67e15b005006f725b889";

    #[test]
    fn documented_test_vector_verifies() {
        let body = VECTOR_BODY.as_bytes();
        assert_eq!(
            verify_signature("1234567890", "TEST_OA_SECRET", body, Some(VECTOR_MAC)),
            Ok(())
        );
        let upper = VECTOR_MAC.to_uppercase().replace("MAC=", "mac=");
        assert_eq!(
            verify_signature("1234567890", "TEST_OA_SECRET", body, Some(&upper)),
            Ok(())
        );
    }

    #[test]
    fn bad_signatures_are_told_apart() {
        let body = VECTOR_BODY.as_bytes();
        let check = |secret: &str, body: &[u8], header: Option<&str>| {
            verify_signature("1234567890", secret, body, header)
        };
        assert_eq!(
            check("TEST_OA_SECRET", body, None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            check("TEST_OA_SECRET", body, Some("8b0b")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check("WRONG", body, Some(VECTOR_MAC)),
            Err(SignatureError::Mismatch)
        );
        let tampered = VECTOR_BODY.replace("kết hôn", "ly hôn");
        assert_eq!(
            check("TEST_OA_SECRET", tampered.as_bytes(), Some(VECTOR_MAC)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check("TEST_OA_SECRET", b"not json", Some(VECTOR_MAC)),
            Err(SignatureError::NoTimestamp)
        );
    }

    #[test]
    fn event_age_window() {
        let body = VECTOR_BODY.as_bytes();
        let sent = 1_718_000_000_000_i64;
        assert_eq!(check_event_age(body, sent + 60_000, 600), Ok(()));
        assert_eq!(
            check_event_age(body, sent + 601_000, 600),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check_event_age(body, sent - 601_000, 600),
            Err(SignatureError::Stale)
        );
        assert_eq!(check_event_age(body, sent + 10_000_000_000, 0), Ok(()));
        let odd = br#"{"timestamp":"yesterday"}"#;
        assert_eq!(check_event_age(odd, sent, 600), Err(SignatureError::Stale));
    }

    #[test]
    fn events_become_inbounds() {
        let Ok(Event::Message(text)) = parse_event(VECTOR_BODY.as_bytes()) else {
            panic!("user_send_text not understood");
        };
        assert_eq!(text.external_id, "96d3cdf3af150460909");
        assert_eq!(text.user_id, "2468458835296117922");
        assert_eq!(text.chat_id, "2468458835296117922");
        assert_eq!(
            text.kind,
            InboundKind::Text("Thủ tục đăng ký kết hôn?".into())
        );

        let follow =
            br#"{"event_name":"follow","follower":{"id":"42"},"timestamp":"1718000000001"}"#;
        let Ok(Event::Message(follow)) = parse_event(follow) else {
            panic!()
        };
        assert_eq!(
            (follow.kind, follow.external_id.as_str()),
            (InboundKind::Follow, "follow:42:1718000000001")
        );

        let image = br#"{"event_name":"user_send_image","sender":{"id":"42"},"message":{"msg_id":"m9","attachments":[{"type":"image","payload":{"url":"https://x/y.jpg"}}]},"timestamp":"1"}"#;
        let Ok(Event::Message(image)) = parse_event(image) else {
            panic!()
        };
        assert_eq!(
            image.kind,
            InboundKind::Unsupported("user_send_image".into())
        );
        assert_eq!(image.external_id, "m9");

        for ignored in [
            "oa_send_text",
            "user_received_message",
            "user_seen_message",
            "unfollow",
            "shop_has_order",
        ] {
            let body =
                format!(r#"{{"event_name":"{ignored}","sender":{{"id":"1"}},"timestamp":"1"}}"#);
            assert_eq!(
                parse_event(body.as_bytes()),
                Ok(Event::Ignored(ignored.into()))
            );
        }
        assert!(parse_event(br#"{"event_name":"user_send_text","timestamp":"1"}"#).is_err());
        assert!(parse_event(br#"{"timestamp":"1"}"#).is_err());
        assert!(parse_event(b"[1,2").is_err());
    }

    #[test]
    fn error_codes_map_to_send_errors() {
        let outcome = |code: i64| classify_reply(&json!({ "error": code, "message": "m" }));
        assert!(matches!(outcome(0), Posted::Sent));
        for code in OUTSIDE_WINDOW_ERRORS {
            assert!(
                matches!(
                    outcome(code),
                    Posted::Failed(SendError::OutsideWindow { .. })
                ),
                "{code}"
            );
        }
        assert!(matches!(
            outcome(-32),
            Posted::Failed(SendError::Retryable { .. })
        ));
        assert!(matches!(
            outcome(-100),
            Posted::Failed(SendError::Retryable { .. })
        ));
        assert!(matches!(outcome(-216), Posted::TokenRejected(_)));
        assert!(matches!(outcome(-220), Posted::TokenRejected(_)));
        assert!(matches!(
            outcome(-201),
            Posted::Failed(SendError::Permanent { .. })
        ));
        assert!(matches!(
            classify_reply(&json!({})),
            Posted::Failed(SendError::Permanent { .. })
        ));
    }

    #[test]
    fn token_replies_are_read_without_leaking_tokens() {
        let now = chrono::Utc::now();
        let pair = parse_token_reply(
            &json!({"access_token":"A2","refresh_token":"R2","expires_in":"90000"}),
            now,
        )
        .unwrap();
        assert_eq!(
            (pair.access_token.as_str(), pair.refresh_token.as_str()),
            ("A2", "R2")
        );
        assert!(pair.expires_at > now.to_rfc3339());
        let error = parse_token_reply(
            &json!({"error":-14014,"error_name":"Invalid refresh token"}),
            now,
        )
        .unwrap_err();
        assert!(matches!(error, SendError::Permanent { .. }));
        assert!(error.reason().contains("-14014"), "{}", error.reason());
    }

    #[test]
    fn long_replies_are_split_into_parts_of_at_most_2000_characters() {
        let sentence = "Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên mới được kết hôn. ";
        let text: String = sentence.repeat(5_000 / sentence.chars().count() + 1);
        let parts = render_plain(&Reply::Notice(text.clone()));
        assert!(parts.len() >= 3);
        assert!(parts
            .iter()
            .all(|p| p.text.chars().count() <= MAX_TEXT_CHARS));
        assert!(parts.iter().all(|p| p.text.ends_with("kết hôn.")));
        let joined: Vec<&str> = parts
            .iter()
            .flat_map(|p| p.text.split_whitespace())
            .collect();
        assert_eq!(joined, text.split_whitespace().collect::<Vec<_>>());
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_support::config())]

        /// Any body is read or refused, and any signature header checked, never a panic; a
        /// message's text comes through exactly as sent.
        #[test]
        fn any_payload_is_read_or_refused(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            header in crate::proptest_support::outside_text(12),
            text in crate::proptest_support::outside_text(60),
        ) {
            let _ = parse_event(&bytes);
            let _ = verify_signature("1234567890", "TEST_OA_SECRET", &bytes, Some(&header));
            let body = serde_json::json!({"event_name": "user_send_text", "timestamp": "1",
                "sender": {"id": "u1"}, "message": {"msg_id": "m1", "text": text}});
            match parse_event(body.to_string().as_bytes()) {
                Ok(Event::Message(inbound)) => {
                    proptest::prop_assert_eq!(inbound.kind, InboundKind::Text(text));
                }
                other => proptest::prop_assert!(false, "{other:?}"),
            }
        }
    }
}
