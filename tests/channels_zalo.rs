//! The two Zalo adapters end to end: signed webhooks into the real dispatcher, the real Assistant
//! over a small real corpus, a real SQLite file, and a local HTTP server that plays Zalo's OA API,
//! its OAuth server and the Bot API with the documented shapes, recording what it received.

mod common;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::post;
use axum::{Form, Json, Router};
use hoiluat::channels::dispatch::Dispatcher;
use hoiluat::channels::zalo_bot::{self, ZaloBotSender};
use hoiluat::channels::zalo_oa::{self, ZaloOaSender};
use hoiluat::channels::{notices, ChannelSender, OutPart};
use hoiluat::config::{ChannelsConfig, ZaloBotConfig, ZaloOaConfig};
use hoiluat::db::Db;
use serde_json::{json, Value};
use tower::ServiceExt;

const APP_ID: &str = "1234567890";
const APP_SECRET: &str = "TEST_APP_SECRET";
const OA_SECRET: &str = "TEST_OA_SECRET";
const BOT_TOKEN: &str = "12345:TEST_BOT_TOKEN";
const BOT_SECRET: &str = "bot-webhook-secret";
const QUESTION: &str = "Nam nữ bao nhiêu tuổi thì được kết hôn?";
/// Long enough for a first answer on a slow machine.
const DEADLINE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// The fake Zalo servers
// ---------------------------------------------------------------------------------------------

/// One request the fake received: its path, the header that authenticates it (`access_token` for
/// the OA API, `secret_key` for OAuth, none for the Bot API) and its body (JSON, or the form as an
/// object).
#[derive(Debug, Clone)]
struct Received {
    path: String,
    auth: Option<String>,
    body: Value,
}

#[derive(Default)]
struct FakeState {
    received: Mutex<Vec<Received>>,
    /// Replies the OA message API gives next, before its normal behaviour.
    oa_script: Mutex<VecDeque<Value>>,
    /// The access token the OA API accepts, and the refresh token OAuth accepts.
    valid_access: Mutex<String>,
    valid_refresh: Mutex<String>,
    refreshes: Mutex<u32>,
}

#[derive(Clone)]
struct FakeZalo {
    base: String,
    state: Arc<FakeState>,
}

impl FakeZalo {
    async fn start() -> FakeZalo {
        let state = Arc::new(FakeState::default());
        *state.valid_access.lock().unwrap() = "A1".into();
        *state.valid_refresh.lock().unwrap() = "R1".into();
        let app = Router::new()
            .route("/v3.0/oa/message/cs", post(oa_message))
            .route("/v4/oa/access_token", post(oauth_refresh))
            .route("/{bot}/{method}", post(bot_method))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeZalo { base, state }
    }

    fn received(&self, path: &str) -> Vec<Received> {
        let all = self.state.received.lock().unwrap();
        all.iter().filter(|r| r.path == path).cloned().collect()
    }

    /// OA messages sent to `user`.
    fn oa_messages_to(&self, user: &str) -> Vec<Received> {
        self.received("/v3.0/oa/message/cs")
            .into_iter()
            .filter(|r| r.body["recipient"]["user_id"] == user)
            .collect()
    }

    fn script_oa(&self, replies: &[Value]) {
        self.state
            .oa_script
            .lock()
            .unwrap()
            .extend(replies.iter().cloned());
    }

    /// Makes the configured access token "A1" expired: the OA API now wants another one.
    fn expire_access_token(&self) {
        *self.state.valid_access.lock().unwrap() = "expired-A1-is-no-longer-valid".into();
    }
}

impl FakeState {
    fn record(&self, received: Received) {
        self.received.lock().unwrap().push(received);
    }
}

async fn oa_message(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    let token = header(&headers, "access_token");
    state.record(Received {
        path: "/v3.0/oa/message/cs".into(),
        auth: token.clone(),
        body,
    });
    if let Some(scripted) = state.oa_script.lock().unwrap().pop_front() {
        return Json(scripted);
    }
    if token.as_deref() != Some(state.valid_access.lock().unwrap().as_str()) {
        return Json(json!({ "error": -216, "message": "Access token is invalid" }));
    }
    Json(json!({ "error": 0, "message": "Success", "data": { "message_id": "oa-msg-1" } }))
}

async fn oauth_refresh(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    let secret = header(&headers, "secret_key");
    state.record(Received {
        path: "/v4/oa/access_token".into(),
        auth: secret.clone(),
        body: json!(form),
    });
    let mut valid_refresh = state.valid_refresh.lock().unwrap();
    let accepted = secret.as_deref() == Some(APP_SECRET)
        && form.get("app_id").map(String::as_str) == Some(APP_ID)
        && form.get("grant_type").map(String::as_str) == Some("refresh_token")
        && form.get("refresh_token") == Some(&*valid_refresh);
    if !accepted {
        return Json(json!({ "error": -14014, "error_name": "Invalid refresh token" }));
    }
    // Single-use refresh tokens, as Zalo's: the old one stops working now.
    let mut refreshes = state.refreshes.lock().unwrap();
    *refreshes += 1;
    let (access, refresh) = (format!("A-new-{refreshes}"), format!("R-new-{refreshes}"));
    *valid_refresh = refresh.clone();
    *state.valid_access.lock().unwrap() = access.clone();
    Json(json!({ "access_token": access, "refresh_token": refresh, "expires_in": "90000" }))
}

async fn bot_method(
    State(state): State<Arc<FakeState>>,
    Path((bot, method)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    state.record(Received {
        path: format!("/{bot}/{method}"),
        auth: None,
        body,
    });
    if bot != format!("bot{BOT_TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "ok": false, "error_code": 401, "description": "Unauthorized" })),
        );
    }
    (
        StatusCode::OK,
        Json(json!({ "ok": true, "result": { "message_id": "bot-msg-1" } })),
    )
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// The service under test
// ---------------------------------------------------------------------------------------------

struct Harness {
    app: Router,
    db: Db,
    fake: FakeZalo,
    config: ChannelsConfig,
    _dir: tempfile::TempDir,
}

fn channels_config(fake: &FakeZalo) -> ChannelsConfig {
    ChannelsConfig {
        retry_base_ms: 20,
        send_timeout_secs: 10,
        zalo_oa: ZaloOaConfig {
            enabled: true,
            app_id: APP_ID.into(),
            app_secret: APP_SECRET.into(),
            oa_secret_key: OA_SECRET.into(),
            access_token: "A1".into(),
            refresh_token: "R1".into(),
            api_base: fake.base.clone(),
            oauth_base: fake.base.clone(),
            max_event_age_secs: 600,
        },
        zalo_bot: ZaloBotConfig {
            enabled: true,
            token: BOT_TOKEN.into(),
            secret_token: BOT_SECRET.into(),
            api_base: fake.base.clone(),
        },
        ..ChannelsConfig::default()
    }
}

async fn harness() -> Harness {
    let fixture = common::fixture();
    let fake = FakeZalo::start().await;
    let config = channels_config(&fake);
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let cell = hoiluat::ready::Ready::with(fixture.started.assistant.clone());
    let http = reqwest::Client::new();
    let senders: Vec<Arc<dyn ChannelSender>> = vec![
        Arc::new(ZaloOaSender::new(&config.zalo_oa, db.clone(), http.clone())),
        Arc::new(ZaloBotSender::new(&config.zalo_bot, http)),
    ];
    let dispatcher = Dispatcher::start(db.clone(), cell, senders, &config);
    let app = zalo_oa::routes(dispatcher.clone(), &config.zalo_oa)
        .merge(zalo_bot::routes(dispatcher, &config.zalo_bot));
    Harness {
        app,
        db,
        fake,
        config,
        _dir: dir,
    }
}

impl Harness {
    async fn post(
        &self,
        path: &str,
        headers: &[(&str, String)],
        body: String,
    ) -> (StatusCode, Value) {
        let mut request = Request::post(path).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = self
            .app
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Delivers an OA event signed with `secret`.
    async fn post_oa_signed_with(&self, body: &str, secret: &str) -> (StatusCode, Value) {
        let mac = zalo_oa::signature_hex(APP_ID, secret, body.as_bytes(), &timestamp_of(body));
        self.post(
            zalo_oa::WEBHOOK_PATH,
            &[("x-zevent-signature", format!("mac={mac}"))],
            body.to_owned(),
        )
        .await
    }

    async fn post_oa(&self, body: &str) -> (StatusCode, Value) {
        self.post_oa_signed_with(body, OA_SECRET).await
    }

    async fn post_bot(&self, secret: Option<&str>, body: String) -> (StatusCode, Value) {
        let headers: Vec<(&str, String)> = secret
            .map(|s| ("x-bot-api-secret-token", s.to_owned()))
            .into_iter()
            .collect();
        self.post(zalo_bot::WEBHOOK_PATH, &headers, body).await
    }

    /// Waits until the message with this external id is no longer `received`; its final status.
    async fn final_status(&self, external_id: &str) -> String {
        eventually(&format!("message {external_id} handled"), || async {
            self.message_row(external_id)
                .await
                .filter(|(status, _)| status != "received")
                .map(|(status, _)| status)
        })
        .await
    }

    /// `(status, error)` of the message with this external id.
    async fn message_row(&self, external_id: &str) -> Option<(String, Option<String>)> {
        let external_id = external_id.to_owned();
        self.db
            .call(move |c| {
                use rusqlite::OptionalExtension;
                c.query_row(
                    "SELECT status, error FROM messages WHERE external_id = ?1",
                    [external_id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
            })
            .await
            .unwrap()
    }

    async fn count(&self, sql: &'static str) -> i64 {
        common::count(&self.db, sql).await
    }

    /// `(status, attempts, error)` of each delivery of the message with this external id.
    async fn deliveries(&self, external_id: &str) -> Vec<(String, i64, Option<String>)> {
        let external_id = external_id.to_owned();
        self.db
            .call(move |c| {
                let mut statement = c.prepare(
                    "SELECT d.status, d.attempts, d.error FROM deliveries d JOIN messages m ON m.id = d.message_id
                     WHERE m.external_id = ?1 ORDER BY d.id",
                )?;
                let rows = statement.query_map([external_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
                rows.collect()
            })
            .await
            .unwrap()
    }
}

/// Polls `probe` until it gives a value, failing after [`DEADLINE`].
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn now_ms() -> String {
    chrono::Utc::now().timestamp_millis().to_string()
}

fn timestamp_of(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    value["timestamp"].as_str().unwrap_or_default().to_owned()
}

/// An OA event as Zalo sends it (field order as in the documentation's example).
fn oa_event(event_name: &str, user: &str, msg_id: &str, message: Value) -> String {
    let mut message = message;
    message["msg_id"] = json!(msg_id);
    json!({
        "app_id": APP_ID,
        "sender": { "id": user },
        "user_id_by_app": "552177279717587730",
        "recipient": { "id": "579745863508352884" },
        "event_name": event_name,
        "message": message,
        "timestamp": now_ms(),
    })
    .to_string()
}

fn oa_text(user: &str, msg_id: &str, text: &str) -> String {
    oa_event("user_send_text", user, msg_id, json!({ "text": text }))
}

fn oa_follow(user: &str) -> String {
    json!({
        "app_id": APP_ID,
        "oa_id": "579745863508352884",
        "follower": { "id": user },
        "event_name": "follow",
        "source": "oa_profile",
        "timestamp": now_ms(),
    })
    .to_string()
}

// ---------------------------------------------------------------------------------------------
// Zalo OA: signatures
// ---------------------------------------------------------------------------------------------

#[test]
fn the_documented_signature_test_vector_verifies() {
    let body = r#"{"app_id":"1234567890","sender":{"id":"2468458835296117922"},"user_id_by_app":"552177279717587730","recipient":{"id":"579745863508352884"},"event_name":"user_send_text","message":{"text":"Thủ tục đăng ký kết hôn?","msg_id":"96d3cdf3af150460909"},"timestamp":"1718000000000"}"#;
    let header = "mac=8b0b9a7efb5ddb97ca0712067164bcbd9ea94e3c286d67e15b005006f725b889";
    assert_eq!(
        zalo_oa::verify_signature(APP_ID, OA_SECRET, body.as_bytes(), Some(header)),
        Ok(())
    );
    assert_eq!(
        format!(
            "mac={}",
            zalo_oa::signature_hex(APP_ID, OA_SECRET, body.as_bytes(), "1718000000000")
        ),
        header
    );
}

#[tokio::test]
async fn unauthenticated_or_replayed_oa_webhooks_are_refused() {
    let h = harness().await;
    let body = oa_text("900001", "sig-1", QUESTION);
    let good_mac = format!(
        "mac={}",
        zalo_oa::signature_hex(APP_ID, OA_SECRET, body.as_bytes(), &timestamp_of(&body))
    );

    // Tampered body, signed header of the original.
    let tampered = body.replace("kết hôn", "ly hôn");
    let (status, reply) = h
        .post(
            zalo_oa::WEBHOOK_PATH,
            &[("x-zevent-signature", good_mac.clone())],
            tampered,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply["error"]["code"], "invalid_signature");
    // Wrong secret.
    assert_eq!(
        h.post_oa_signed_with(&body, "NOT_THE_OA_SECRET").await.0,
        StatusCode::UNAUTHORIZED
    );
    // Missing header.
    assert_eq!(
        h.post(zalo_oa::WEBHOOK_PATH, &[], body.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Correctly signed, but from an hour ago: a replay.
    let old = body.replace(
        &timestamp_of(&body),
        &(chrono::Utc::now().timestamp_millis() - 3_600_000).to_string(),
    );
    assert_eq!(h.post_oa(&old).await.0, StatusCode::UNAUTHORIZED);
    // Nothing was stored, hence nothing will be answered.
    assert_eq!(h.count("SELECT count(*) FROM messages").await, 0);

    // A correctly signed event we cannot read is a 400.
    let unreadable = json!({ "event_name": "user_send_text", "timestamp": now_ms() }).to_string();
    assert_eq!(h.post_oa(&unreadable).await.0, StatusCode::BAD_REQUEST);
    // An oversized body never reaches the handler.
    let huge = json!({ "event_name": "user_send_text", "pad": "x".repeat(100_000), "timestamp": now_ms() }).to_string();
    assert_eq!(h.post_oa(&huge).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}

// ---------------------------------------------------------------------------------------------
// Zalo OA: answering
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_question_is_answered_once_through_the_oa_api() {
    let h = harness().await;
    let user = "2468458835296117922";
    let body = oa_text(user, "q-dieu-8", QUESTION);

    let started = Instant::now();
    let (status, _) = h.post_oa(&body).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "acknowledged in {:?}",
        started.elapsed()
    );
    // Zalo delivers the same event again.
    assert_eq!(h.post_oa(&body).await.0, StatusCode::OK);

    assert_eq!(h.final_status("q-dieu-8").await, "answered");
    let sent = h.fake.oa_messages_to(user);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].auth.as_deref(), Some("A1"));
    assert_eq!(sent[0].body["recipient"], json!({ "user_id": user }));
    let text = sent[0].body["message"]["text"].as_str().unwrap();
    assert!(text.contains("Điều 8"), "{text}");
    assert!(text.chars().count() <= 2_000);
    assert_eq!(h.count("SELECT count(*) FROM messages").await, 1);
    assert_eq!(
        h.deliveries("q-dieu-8").await,
        vec![("sent".into(), 1, None)]
    );
}

#[tokio::test]
async fn follow_is_greeted_images_get_the_text_only_notice_and_echoes_are_ignored() {
    let h = harness().await;
    assert_eq!(h.post_oa(&oa_follow("900010")).await.0, StatusCode::OK);
    let image = oa_event(
        "user_send_image",
        "900011",
        "img-1",
        json!({ "attachments": [{ "type": "image", "payload": { "url": "https://example.com/a.jpg", "thumbnail": "https://example.com/t.jpg" } }] }),
    );
    assert_eq!(h.post_oa(&image).await.0, StatusCode::OK);
    let echo = oa_event(
        "oa_send_text",
        "579745863508352884",
        "echo-1",
        json!({ "text": "Xin chào" }),
    );
    assert_eq!(h.post_oa(&echo).await.0, StatusCode::OK);

    let greeting = eventually("greeting sent", || async {
        h.fake.oa_messages_to("900010").pop()
    })
    .await;
    assert_eq!(greeting.body["message"]["text"], notices::GREETING);
    let notice = eventually("text-only notice sent", || async {
        h.fake.oa_messages_to("900011").pop()
    })
    .await;
    assert_eq!(notice.body["message"]["text"], notices::TEXT_ONLY);
    assert_eq!(h.final_status("img-1").await, "answered");
    // The echo was not even stored: two messages, two replies.
    assert_eq!(h.count("SELECT count(*) FROM messages").await, 2);
    assert_eq!(h.fake.received("/v3.0/oa/message/cs").len(), 2);
}

#[tokio::test]
async fn a_rate_limit_error_is_retried_and_delivered() {
    let h = harness().await;
    h.fake
        .script_oa(&[json!({ "error": -32, "message": "Request exceeded limit" })]);
    assert_eq!(h.post_oa(&oa_follow("900020")).await.0, StatusCode::OK);
    // A follow has no message id: its external id is made of the event, the user and the time.
    let external_id: String =
        h.db.call(|c| c.query_row("SELECT external_id FROM messages", [], |r| r.get(0)))
            .await
            .unwrap();
    assert!(external_id.starts_with("follow:900020:"), "{external_id}");
    assert_eq!(h.final_status(&external_id).await, "answered");
    assert_eq!(h.fake.oa_messages_to("900020").len(), 2);
    assert_eq!(
        h.deliveries(&external_id).await,
        vec![("sent".into(), 2, None)]
    );
}

#[tokio::test]
async fn outside_the_consultation_window_is_recorded_and_not_retried() {
    let h = harness().await;
    h.fake.script_oa(&[
        json!({ "error": -230, "message": "User has not interacted with OA in 7 days" }),
    ]);
    let image = oa_event(
        "user_send_sticker",
        "900030",
        "window-1",
        json!({ "attachments": [] }),
    );
    assert_eq!(h.post_oa(&image).await.0, StatusCode::OK);
    assert_eq!(h.final_status("window-1").await, "failed");
    let deliveries = h.deliveries("window-1").await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        (deliveries[0].0.as_str(), deliveries[0].1),
        ("outside_window", 1)
    );
    assert!(
        deliveries[0]
            .2
            .as_deref()
            .unwrap_or_default()
            .contains("-230"),
        "{deliveries:?}"
    );
    assert_eq!(h.fake.oa_messages_to("900030").len(), 1);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_persisted_and_used() {
    let h = harness().await;
    h.fake.expire_access_token();
    assert_eq!(h.post_oa(&oa_follow("900040")).await.0, StatusCode::OK);
    let sent = eventually("greeting sent with the new token", || async {
        let sent = h.fake.oa_messages_to("900040");
        (sent.len() == 2).then_some(sent)
    })
    .await;
    assert_eq!(sent[0].auth.as_deref(), Some("A1"));
    assert_eq!(sent[1].auth.as_deref(), Some("A-new-1"));
    assert_eq!(sent[1].body["message"]["text"], notices::GREETING);

    let refreshes = h.fake.received("/v4/oa/access_token");
    assert_eq!(refreshes.len(), 1);
    assert_eq!(refreshes[0].auth.as_deref(), Some(APP_SECRET));
    assert_eq!(
        refreshes[0].body,
        json!({ "app_id": APP_ID, "grant_type": "refresh_token", "refresh_token": "R1" })
    );
    let pair =
        h.db.load_token(hoiluat::db::ChannelKind::ZaloOa)
            .await
            .unwrap()
            .expect("the new pair is stored");
    assert_eq!(
        (pair.access_token.as_str(), pair.refresh_token.as_str()),
        ("A-new-1", "R-new-1")
    );
    assert!(pair.expires_at > hoiluat::db::now_text());
}

#[tokio::test]
async fn concurrent_sends_refresh_the_token_once() {
    let h = harness().await;
    h.fake.expire_access_token();
    let sender = ZaloOaSender::new(&h.config.zalo_oa, h.db.clone(), reqwest::Client::new());
    let part = OutPart::plain("Xin chào".into());
    let sends = (0..4).map(|n| {
        let (sender, part) = (&sender, &part);
        async move {
            sender
                .send(if n % 2 == 0 { "900050" } else { "900051" }, part)
                .await
        }
    });
    let results = futures_util::future::join_all(sends).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(h.fake.received("/v4/oa/access_token").len(), 1);
    let with_new_token = h
        .fake
        .received("/v3.0/oa/message/cs")
        .into_iter()
        .filter(|r| r.auth.as_deref() == Some("A-new-1"))
        .count();
    assert_eq!(with_new_token, 4);
}

#[test]
fn long_answers_are_split_into_parts_of_at_most_2000_characters() {
    let config = ZaloOaConfig::default();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let sender = ZaloOaSender::new(&config, db, reqwest::Client::new());
    let paragraph = "Người lao động có quyền đơn phương chấm dứt hợp đồng lao động trong các trường hợp luật định. ".repeat(10);
    let text = vec![paragraph; 6].join("\n\n");
    assert!(text.chars().count() > 5_000);
    let parts = sender.render(&hoiluat::channels::Reply::Notice(text.clone()));
    assert!(parts.len() >= 3, "{}", parts.len());
    for part in &parts {
        assert!(part.text.chars().count() <= 2_000);
        assert!(
            part.text.ends_with("luật định."),
            "cut inside a sentence: {}",
            part.text
        );
    }
    let words: Vec<&str> = parts
        .iter()
        .flat_map(|p| p.text.split_whitespace())
        .collect();
    assert_eq!(words, text.split_whitespace().collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------------
// Zalo Bot Platform
// ---------------------------------------------------------------------------------------------

fn bot_event(event_name: &str, message_id: &str, chat: &str, text: &str) -> Value {
    json!({
        "event_name": event_name,
        "message": {
            "message_id": message_id,
            "from": { "id": format!("user-{chat}"), "display_name": "Người dùng", "is_bot": false },
            "chat": { "id": chat, "chat_type": "PRIVATE" },
            "date": 1_750_316_131_602_i64,
            "text": text,
        }
    })
}

#[tokio::test]
async fn bot_webhooks_need_the_secret_token() {
    let h = harness().await;
    let body = bot_event("message.text.received", "b-1", "chat-1", QUESTION).to_string();
    assert_eq!(
        h.post_bot(None, body.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.post_bot(Some("wrong-secret-token"), body.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.post_bot(Some(&BOT_SECRET[..BOT_SECRET.len() - 1]), body)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.count("SELECT count(*) FROM messages").await, 0);
    assert_eq!(
        h.post_bot(Some(BOT_SECRET), "{not json".into()).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn bot_questions_in_both_payload_shapes_are_answered() {
    let h = harness().await;
    let send_message = format!("/bot{BOT_TOKEN}/sendMessage");
    let chat_action = format!("/bot{BOT_TOKEN}/sendChatAction");

    let flat = bot_event("message.text.received", "b-flat", "chat-flat", QUESTION);
    let wrapped = json!({ "ok": true, "result": bot_event("message.text.received", "b-wrapped", "chat-wrapped", QUESTION) });
    let sticker = json!({ "ok": true, "result": bot_event("message.sticker.received", "b-sticker", "chat-sticker", "") });
    for event in [&flat, &wrapped, &sticker] {
        assert_eq!(
            h.post_bot(Some(BOT_SECRET), event.to_string()).await.0,
            StatusCode::OK
        );
    }
    // A repeated delivery is a no-op.
    assert_eq!(
        h.post_bot(Some(BOT_SECRET), flat.to_string()).await.0,
        StatusCode::OK
    );

    for external_id in [
        "message.text.received:chat-flat:b-flat",
        "message.text.received:chat-wrapped:b-wrapped",
        "message.sticker.received:chat-sticker:b-sticker",
    ] {
        assert_eq!(
            h.final_status(external_id).await,
            "answered",
            "{external_id}"
        );
    }
    let sent = h.fake.received(&send_message);
    for chat in ["chat-flat", "chat-wrapped"] {
        let to_chat: Vec<&Received> = sent.iter().filter(|r| r.body["chat_id"] == chat).collect();
        assert_eq!(to_chat.len(), 1, "{chat}: {sent:?}");
        let text = to_chat[0].body["text"].as_str().unwrap();
        assert!(text.contains("Điều 8"), "{text}");
        assert!((1..=2_000).contains(&text.chars().count()));
    }
    let sticker_reply: Vec<&Received> = sent
        .iter()
        .filter(|r| r.body["chat_id"] == "chat-sticker")
        .collect();
    assert_eq!(sticker_reply.len(), 1);
    assert_eq!(sticker_reply[0].body["text"], notices::TEXT_ONLY);

    // "Typing…" was shown for the questions (not for the sticker).
    let typing = h.fake.received(&chat_action);
    let mut typed: Vec<&str> = typing
        .iter()
        .map(|r| r.body["chat_id"].as_str().unwrap())
        .collect();
    typed.sort_unstable();
    assert_eq!(typed, vec!["chat-flat", "chat-wrapped"]);
    assert!(typing.iter().all(|r| r.body["action"] == "typing"));
}
