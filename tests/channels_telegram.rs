//! The Telegram adapter end to end: updates posted to our webhook route (or fetched by long
//! polling) are answered by the real assistant over a real SQLite file, and the replies reach a
//! local fake Bot API server (axum on 127.0.0.1:0) that speaks Telegram's exact
//! `{"ok":true,"result":…}` protocol and records every request teloxide makes.

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hoiluat::channels::dispatch::Dispatcher;
use hoiluat::channels::notices;
use hoiluat::channels::telegram::{self, escape_html, TelegramSender, UNKNOWN_ANSWER};
use hoiluat::channels::{conversation_id, ChannelKind, ChannelSender};
use hoiluat::config::{ChannelsConfig, TelegramConfig};
use hoiluat::db::{now_text, Db, NewAnswer, NewMessage};
use serde_json::{json, Value};
use tower::ServiceExt;

const TOKEN: &str = "7012345678:AAHk-test_token";
const SECRET: &str = "s3cret_Token-of-the-webhook";
const CHAT: i64 = 987654321;
const DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// The fake Bot API
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Recorded {
    /// The method name, lowercased.
    method: String,
    body: Value,
    at: Instant,
}

#[derive(Default)]
struct FakeBotApi {
    requests: Mutex<Vec<Recorded>>,
    /// sendMessage answers 429 this many more times before it succeeds.
    too_many_requests: Mutex<u32>,
    /// What getUpdates serves: updates with `update_id >= offset`, as Telegram does.
    updates: Mutex<Vec<Value>>,
}

impl FakeBotApi {
    fn calls(&self, method: &str) -> Vec<Recorded> {
        let requests = self.requests.lock().unwrap();
        requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method))
            .cloned()
            .collect()
    }
}

/// Starts the fake server; returns it and its base URL (for `api_url`).
async fn start_fake() -> (Arc<FakeBotApi>, String) {
    let fake = Arc::new(FakeBotApi::default());
    let app = axum::Router::new()
        .route("/{bot}/{method}", axum::routing::post(bot_api))
        .with_state(Arc::clone(&fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, url)
}

fn ok(result: Value) -> Response {
    Json(json!({ "ok": true, "result": result })).into_response()
}

fn api_error(code: u16, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({ "ok": false, "error_code": code, "description": description });
    if let Some(parameters) = parameters {
        body["parameters"] = parameters;
    }
    (StatusCode::from_u16(code).unwrap(), Json(body)).into_response()
}

async fn bot_api(
    State(fake): State<Arc<FakeBotApi>>,
    Path((bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if bot != format!("bot{TOKEN}") {
        return api_error(401, "Unauthorized", None);
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // Bot API method names are case-insensitive (teloxide sends `SendMessage`).
    let method = method.to_ascii_lowercase();
    fake.requests.lock().unwrap().push(Recorded {
        method: method.clone(),
        body: body.clone(),
        at: Instant::now(),
    });
    match method.as_str() {
        "sendmessage" => {
            {
                let mut remaining = fake.too_many_requests.lock().unwrap();
                if *remaining > 0 {
                    *remaining -= 1;
                    return api_error(
                        429,
                        "Too Many Requests: retry after 1",
                        Some(json!({ "retry_after": 1 })),
                    );
                }
            }
            let count = fake.calls("sendMessage").len();
            ok(sent_message(count as i64, &body))
        }
        "sendchataction" | "answercallbackquery" | "deletewebhook" => ok(json!(true)),
        "getupdates" => {
            let offset = body["offset"].as_i64().unwrap_or(0);
            let pending: Vec<Value> = fake
                .updates
                .lock()
                .unwrap()
                .iter()
                .filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset)
                .cloned()
                .collect();
            if pending.is_empty() {
                // Long polling: hold the request a little instead of answering at once.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            ok(Value::Array(pending))
        }
        _ => api_error(404, "Not Found", None),
    }
}

/// The `Message` Telegram returns for a sent message.
fn sent_message(message_id: i64, request: &Value) -> Value {
    json!({
        "message_id": message_id,
        "from": { "id": 7012345678i64, "is_bot": true, "first_name": "Hỏi Luật", "username": "HoiLuatBot" },
        "chat": { "id": request["chat_id"], "first_name": "An", "type": "private" },
        "date": 1718000000,
        "text": "…"
    })
}

// ---------------------------------------------------------------------------------------------
// Updates as Telegram sends them
// ---------------------------------------------------------------------------------------------

fn user() -> Value {
    json!({ "id": CHAT, "is_bot": false, "first_name": "An", "language_code": "vi" })
}

fn message_update(update_id: i64, content: Value) -> Value {
    let mut message = json!({
        "message_id": update_id % 1000,
        "from": user(),
        "chat": { "id": CHAT, "first_name": "An", "type": "private" },
        "date": 1718000000,
    });
    for (key, value) in content.as_object().unwrap() {
        message[key] = value.clone();
    }
    json!({ "update_id": update_id, "message": message })
}

fn text_update(update_id: i64, text: &str) -> Value {
    let mut content = json!({ "text": text });
    if text.starts_with('/') {
        let length = text.split(' ').next().unwrap().encode_utf16().count();
        content["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
    }
    message_update(update_id, content)
}

fn photo_update(update_id: i64) -> Value {
    message_update(
        update_id,
        json!({ "photo": [{ "file_id": "AgACAgUAAxkBAAIB", "file_unique_id": "AQADqL0xG", "width": 90, "height": 67, "file_size": 1289 }] }),
    )
}

fn callback_update(update_id: i64, data: &str) -> Value {
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("4382bfdwdsb323b2d9-{update_id}"),
            "from": user(),
            "message": sent_message(1, &json!({ "chat_id": CHAT })),
            "chat_instance": "-5293849027365842",
            "data": data
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Set-up and helpers
// ---------------------------------------------------------------------------------------------

struct Setup {
    fake: Arc<FakeBotApi>,
    dispatcher: Dispatcher,
    db: Db,
    sender: Arc<TelegramSender>,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let fixture = common::fixture();
    let (fake, url) = start_fake().await;
    let config = ChannelsConfig {
        retry_base_ms: 20,
        telegram: TelegramConfig {
            enabled: true,
            token: TOKEN.into(),
            mode: hoiluat::config::TelegramMode::Webhook,
            secret_token: SECRET.into(),
            api_url: url,
        },
        ..ChannelsConfig::default()
    };
    let sender = Arc::new(TelegramSender::new(&config.telegram));
    let cell = hoiluat::ready::Ready::with(fixture.started.assistant.clone());
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let senders: Vec<Arc<dyn ChannelSender>> = vec![sender.clone()];
    let dispatcher = Dispatcher::start(db.clone(), cell, senders, &config);
    let router = telegram::routes(dispatcher.clone(), Arc::clone(&sender), &config.telegram);
    Setup {
        fake,
        dispatcher,
        db,
        sender,
        router,
        _dir: dir,
    }
}

impl Setup {
    async fn post(&self, secret: Option<&str>, body: impl Into<Body>) -> StatusCode {
        let mut request =
            Request::post("/webhooks/telegram").header("content-type", "application/json");
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(body.into()).unwrap())
            .await
            .unwrap();
        response.status()
    }

    async fn post_update(&self, update: &Value) -> StatusCode {
        self.post(Some(SECRET), update.to_string()).await
    }

    /// The stored status of the message with this update id.
    async fn status(&self, update_id: i64) -> Option<String> {
        self.query_opt(
            "SELECT status FROM messages WHERE channel = 'telegram' AND external_id = ?1",
            update_id.to_string(),
        )
        .await
    }

    async fn query_opt(&self, sql: &'static str, param: String) -> Option<String> {
        use rusqlite::OptionalExtension;
        self.db
            .call(move |c| c.query_row(sql, [param], |row| row.get(0)).optional())
            .await
            .unwrap()
    }

    async fn count(&self, sql: &'static str) -> i64 {
        common::count(&self.db, sql).await
    }

    async fn wait_answered(&self, update_id: i64) {
        let start = Instant::now();
        loop {
            let status = self.status(update_id).await;
            if status.as_deref() == Some("answered") {
                return;
            }
            if start.elapsed() > DEADLINE {
                let error = self
                    .query_opt(
                        "SELECT error FROM messages WHERE external_id = ?1",
                        update_id.to_string(),
                    )
                    .await;
                let methods: Vec<String> = (self.fake.requests.lock().unwrap().iter())
                    .map(|r| r.method.clone())
                    .collect();
                panic!("update {update_id} not answered: status {status:?}, error {error:?}, bot api saw {methods:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stores a question and an answer as the dispatcher would; returns the answer's public id.
    async fn stored_answer(&self) -> String {
        let db = &self.db;
        let conversation = conversation_id(ChannelKind::Telegram, &CHAT.to_string());
        let message = db
            .insert_message(NewMessage {
                channel: ChannelKind::Telegram,
                external_id: "500".into(),
                conversation_id: conversation.clone(),
                user_id: CHAT.to_string(),
                chat_id: CHAT.to_string(),
                kind: hoiluat::db::MessageKind::Text,
                text: "Nam nữ bao nhiêu tuổi thì được kết hôn?".into(),
                received_at: now_text(),
            })
            .await
            .unwrap()
            .unwrap();
        let (_, public_id) = db
            .insert_answer(NewAnswer {
                message_id: message,
                conversation_id: conversation,
                status: hoiluat::db::AnswerStatus::Answered,
                decline_reason: None,
                text: "Theo Điều 8…".into(),
                citations: Vec::new(),
                confidence: 0.9,
                needs_review: false,
                follows: None,
            })
            .await
            .unwrap();
        public_id
    }
}

/// Polls `condition` until it holds; fails the test after [`DEADLINE`].
async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !condition().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text Telegram would show for `html`; panics on markup it would reject (a stray `<`, `>`
/// or `&`, an unknown, unclosed or mismatched tag).
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut open: Vec<&str> = Vec::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').expect("unterminated tag");
                let tag = &rest[1..end];
                match tag.strip_prefix('/') {
                    Some(name) => assert_eq!(open.pop(), Some(name), "mismatched </{name}>"),
                    None => {
                        assert!(
                            ["b", "i", "blockquote"].contains(&tag),
                            "unknown tag <{tag}>"
                        );
                        open.push(tag);
                    }
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let (entity, decoded) = [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>')]
                    .into_iter()
                    .find(|(entity, _)| rest.starts_with(entity))
                    .unwrap_or_else(|| panic!("stray & in {html}"));
                out.push(decoded);
                rest = &rest[entity.len()..];
            }
            '>' => panic!("stray > in {html}"),
            _ => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    assert!(open.is_empty(), "unclosed tags {open:?}");
    out
}

fn callback_data(body: &Value) -> Vec<String> {
    body["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .filter_map(|button| button["callback_data"].as_str().map(str::to_owned))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// A question through the webhook: 200, "typing…", then one HTML message quoting Điều 8 with
/// valid markup and the feedback keyboard of the stored answer.
#[tokio::test]
async fn webhook_question_is_answered_in_html_with_feedback_buttons() {
    let setup = setup().await;
    let update = text_update(1001, "Nam nữ bao nhiêu tuổi thì được kết hôn?");
    assert_eq!(setup.post_update(&update).await, StatusCode::OK);
    setup.wait_answered(1001).await;

    let typing = setup.fake.calls("sendChatAction");
    assert_eq!(typing.len(), 1);
    assert_eq!(typing[0].body["action"], "typing");
    assert_eq!(typing[0].body["chat_id"], CHAT);

    let sent = setup.fake.calls("sendMessage");
    assert!(!sent.is_empty());
    let mut shown = String::new();
    for request in &sent {
        assert_eq!(request.body["chat_id"], CHAT);
        assert_eq!(request.body["parse_mode"], "HTML");
        let html = request.body["text"].as_str().unwrap();
        let visible = visible_text(html);
        assert!(visible.encode_utf16().count() <= 4096);
        shown.push_str(&visible);
    }
    let first = sent[0].body["text"].as_str().unwrap();
    assert!(first.starts_with("<b>"), "{first}");
    assert!(first.contains("<blockquote>"), "{first}");
    assert!(shown.contains("Điều 8"), "{shown}");
    assert!(shown.contains("52/2014/QH13"), "{shown}");

    // Only the last part has buttons; their data names the stored answer.
    for request in &sent[..sent.len() - 1] {
        assert!(request.body.get("reply_markup").is_none());
    }
    let data = callback_data(&sent.last().unwrap().body);
    assert_eq!(data.len(), 3, "{data:?}");
    let public_id = data[0].strip_prefix("fb:up:").expect("👍 first").to_owned();
    assert_eq!(data[1], format!("fb:down:{public_id}"));
    assert_eq!(data[2], format!("fb:human:{public_id}"));
    assert!(data.iter().all(|d| d.len() <= 64));
    let stored = setup
        .db
        .answer_by_public_id(public_id)
        .await
        .unwrap()
        .expect("the answer is stored");
    assert_eq!(stored.channel, ChannelKind::Telegram);
    let delivered = setup
        .count("SELECT count(*) FROM deliveries WHERE status = 'sent'")
        .await;
    assert_eq!(delivered, sent.len() as i64);
}

/// A wrong or missing secret is refused before anything is read; garbage with the right secret
/// is a 400; nothing is stored either way.
#[tokio::test]
async fn webhook_refuses_bad_secrets_and_garbage() {
    let setup = setup().await;
    let update = text_update(2001, "Thủ tục đăng ký kết hôn?").to_string();
    assert_eq!(
        setup.post(Some("wrong-secret"), update.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        setup
            .post(Some(&SECRET[..SECRET.len() - 1]), update.clone())
            .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(setup.post(None, update).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        setup.post(Some(SECRET), "{not json").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        setup.post(Some(SECRET), r#"{"message":{}}"#).await,
        StatusCode::BAD_REQUEST
    );
    let huge = format!(
        "{{\"update_id\":2003,\"x\":\"{}\"}}",
        "a".repeat(1024 * 1024)
    );
    assert_eq!(
        setup.post(Some(SECRET), huge).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(setup.count("SELECT count(*) FROM messages").await, 0);
    // Update kinds we do not handle are acknowledged and ignored.
    let poll_answer = json!({ "update_id": 2002, "poll_answer": { "poll_id": "1", "user": user(), "option_ids": [0] } });
    assert_eq!(setup.post_update(&poll_answer).await, StatusCode::OK);
    assert_eq!(setup.count("SELECT count(*) FROM messages").await, 0);
}

/// Telegram retries deliveries: the same update_id twice is stored and answered once.
#[tokio::test]
async fn repeated_update_is_answered_once() {
    let setup = setup().await;
    let update = text_update(3001, "/help");
    assert_eq!(setup.post_update(&update).await, StatusCode::OK);
    assert_eq!(setup.post_update(&update).await, StatusCode::OK);
    setup.wait_answered(3001).await;
    assert_eq!(setup.post_update(&update).await, StatusCode::OK);
    assert_eq!(setup.count("SELECT count(*) FROM messages").await, 1);
    assert_eq!(setup.count("SELECT count(*) FROM answers").await, 1);
    let sent = setup.fake.calls("sendMessage");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["text"], escape_html(notices::HELP));
}

/// `/start` greets; a photo gets "text only"; neither has feedback buttons.
#[tokio::test]
async fn start_greets_and_photo_gets_text_only() {
    let setup = setup().await;
    assert_eq!(
        setup.post_update(&text_update(4001, "/start")).await,
        StatusCode::OK
    );
    setup.wait_answered(4001).await;
    assert_eq!(setup.post_update(&photo_update(4002)).await, StatusCode::OK);
    setup.wait_answered(4002).await;
    let sent = setup.fake.calls("sendMessage");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body["text"], escape_html(notices::GREETING));
    assert_eq!(sent[1].body["text"], escape_html(notices::TEXT_ONLY));
    assert!(sent.iter().all(|r| r.body.get("reply_markup").is_none()));
    let kinds = setup
        .query_opt(
            "SELECT kind FROM messages WHERE external_id = ?1",
            "4002".into(),
        )
        .await;
    assert_eq!(kinds.as_deref(), Some("unsupported"));
}

/// A 429 with `retry_after: 1` is honoured: the message goes out on the second attempt, at least
/// a second later, and the delivery records two attempts.
#[tokio::test]
async fn rate_limited_send_waits_and_is_delivered() {
    let setup = setup().await;
    *setup.fake.too_many_requests.lock().unwrap() = 1;
    assert_eq!(
        setup.post_update(&text_update(5001, "/start")).await,
        StatusCode::OK
    );
    setup.wait_answered(5001).await;
    let sent = setup.fake.calls("sendMessage");
    assert_eq!(sent.len(), 2, "one refused, one delivered");
    let waited = sent[1].at.duration_since(sent[0].at);
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    assert_eq!(
        setup
            .count("SELECT attempts FROM deliveries WHERE status = 'sent'")
            .await,
        2
    );
}

/// Feedback buttons: 👍 is recorded and acknowledged with thanks, "Gặp cán bộ" with the hand-over
/// notice, an unknown answer politely; a double tap is no second row.
#[tokio::test]
async fn feedback_buttons_are_recorded_and_acknowledged() {
    let setup = setup().await;
    let public_id = setup.stored_answer().await;
    let presses = [
        (6001, format!("fb:up:{public_id}"), notices::FEEDBACK_THANKS),
        (6002, format!("fb:up:{public_id}"), notices::FEEDBACK_THANKS),
        (
            6003,
            format!("fb:human:{public_id}"),
            notices::HUMAN_REQUESTED,
        ),
        (
            6004,
            "fb:up:0123456789abcdef0123456789abcdef".to_owned(),
            UNKNOWN_ANSWER,
        ),
        (6005, "something else".to_owned(), UNKNOWN_ANSWER),
    ];
    for (update_id, data, _) in &presses {
        let update = callback_update(*update_id, data);
        assert_eq!(setup.post_update(&update).await, StatusCode::OK);
    }
    wait_until("every press acknowledged", || async {
        setup.fake.calls("answerCallbackQuery").len() == presses.len()
    })
    .await;
    let answers: HashMap<String, String> = setup
        .fake
        .calls("answerCallbackQuery")
        .into_iter()
        .map(|r| {
            (
                r.body["callback_query_id"].as_str().unwrap().to_owned(),
                r.body["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (update_id, _, expected) in &presses {
        let id = format!("4382bfdwdsb323b2d9-{update_id}");
        assert_eq!(answers[&id], *expected, "press {update_id}");
    }
    let ratings = setup
        .count("SELECT count(*) FROM feedback WHERE channel = 'telegram'")
        .await;
    assert_eq!(
        ratings, 2,
        "one 👍 (the double tap is not counted twice) and one human"
    );
    let up = setup
        .query_opt("SELECT rating FROM feedback WHERE rating = ?1", "up".into())
        .await;
    assert_eq!(up.as_deref(), Some("up"));
    // Button presses are not questions.
    assert_eq!(setup.count("SELECT count(*) FROM messages").await, 1);
    assert!(setup.fake.calls("sendMessage").is_empty());
}

/// Long polling: deleteWebhook first, then getUpdates; the one update is answered and confirmed
/// (the next getUpdates asks from `update_id + 1`, so it is not served again).
#[tokio::test]
async fn polling_answers_updates_and_confirms_them() {
    let setup = setup().await;
    setup
        .fake
        .updates
        .lock()
        .unwrap()
        .push(text_update(7001, "Nam nữ bao nhiêu tuổi thì được kết hôn?"));
    let polling = telegram::spawn_polling(setup.dispatcher.clone(), Arc::clone(&setup.sender));
    setup.wait_answered(7001).await;
    wait_until("a poll confirming the update", || async {
        setup
            .fake
            .calls("getUpdates")
            .iter()
            .any(|r| r.body["offset"] == 7002)
    })
    .await;
    polling.abort();

    let methods: Vec<String> = setup
        .fake
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(methods[0], "deletewebhook");
    assert_eq!(methods[1], "getupdates");
    let sent = setup.fake.calls("sendMessage");
    assert!(!sent.is_empty());
    let shown: String = sent
        .iter()
        .map(|r| visible_text(r.body["text"].as_str().unwrap()))
        .collect();
    assert!(shown.contains("Điều 8"), "{shown}");
    assert_eq!(setup.count("SELECT count(*) FROM messages").await, 1);
}
