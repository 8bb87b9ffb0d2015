//! The platform around the chatbot end to end, in the chat: citizens write to the real webhooks
//! (signed Zalo OA events, Telegram updates with the secret token), the real assistant answers
//! over a small real corpus (grassroots mediation, legal aid, SME support), the real dispatcher,
//! platform hook and outbox work on a real SQLite file, and Zalo's and Telegram's servers are
//! played by one local HTTP server on 127.0.0.1 that records every message it is asked to send.
//!
//! - a dispute question gets the mediation offer; "Gặp cán bộ" tapped, the commune, the
//!   contacts; staff take the conversation over (the bot is silent), reply through the outbox,
//!   and hand it back;
//! - an SME request filled in on Zalo, a survey offered once and answered, legal news within
//!   Zalo's 48-hour window (a subscriber outside it gets the notice when they write again);
//! - a survey offered when a conversation went quiet: on Telegram with its buttons, not on Zalo OA
//!   past Zalo's 8 messages, never twice;
//! - the outbox's pace (per platform and per chat, a 429's `retry_after`) and its resumption
//!   after the process that was sending died.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use hoiluat::app::{self, IndexMode, Started};
use hoiluat::channels::{self, conversation_id, zalo_oa, ChannelKind};
use hoiluat::config::{Config, TelegramConfig, TelegramMode, ZaloOaConfig};
use hoiluat::db::{
    Db, DirectoryRole, HandoffFilter, HandoffReason, HandoffStatus, NewDirectoryEntry, NewQuestion,
    NewSurvey, QuestionKind, Role, SurveyStatus, Value,
};
use hoiluat::platform::directory::commune_key;
use hoiluat::platform::Platform;
use hoiluat::ready::Ready;
use serde_json::{json, Value as JsonValue};
use tower::ServiceExt;

const BOT_TOKEN: &str = "7012345678:AAHk-platform_token";
const TELEGRAM_SECRET: &str = "platform-secret_token";
const ZALO_APP: &str = "1234567890";
const ZALO_SECRET: &str = "TEST_OA_SECRET";
const DEADLINE: Duration = Duration::from_secs(90);

/// Mediation, legal aid, SME support: the laws the platform's offers cite.
const CORPUS: &[&str] = &[
    "luat-35-2013-qh13.md",
    "luat-11-2017-qh14.md",
    "luat-04-2017-qh14.md",
    "nghi-dinh-80-2021-nd-cp.md",
];

struct Fixture {
    config: Config,
    started: Started,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let corpus = common::corpus_with(dir.path(), CORPUS);
        let config = common::config_for(dir.path(), &corpus);
        let started = app::start(&config, IndexMode::IngestIfNeeded, false)
            .expect("start-up with the real model");
        Fixture {
            config,
            started,
            _dir: dir,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The platforms: Zalo OA's message API and Telegram's Bot API on one local server

#[derive(Debug, Clone)]
struct Sent {
    channel: ChannelKind,
    chat: String,
    /// As sent (Telegram's HTML).
    text: String,
    /// Telegram's inline keyboard, as (label, callback data).
    buttons: Vec<(String, String)>,
    at: Instant,
}

#[derive(Default)]
struct Platforms {
    sent: Mutex<Vec<Sent>>,
    /// Telegram's sendMessage answers 429 (retry after 1 s) this many more times.
    too_many: Mutex<u32>,
    /// Refused sends (429s), with when.
    refused: Mutex<Vec<Instant>>,
}

impl Platforms {
    fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    fn to(&self, chat: &str) -> Vec<Sent> {
        self.sent().into_iter().filter(|s| s.chat == chat).collect()
    }
}

async fn zalo_send(State(fake): State<Arc<Platforms>>, Json(body): Json<JsonValue>) -> Response {
    let chat = body["recipient"]["user_id"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let text = body["message"]["text"].as_str().unwrap_or("").to_owned();
    fake.sent.lock().unwrap().push(Sent {
        channel: ChannelKind::ZaloOa,
        chat,
        text,
        buttons: Vec::new(),
        at: Instant::now(),
    });
    Json(json!({"error": 0, "message": "Success", "data": {"message_id": "m"}})).into_response()
}

async fn bot_api(
    State(fake): State<Arc<Platforms>>,
    Path((bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body: JsonValue = serde_json::from_slice(&body).unwrap_or(JsonValue::Null);
    let ok = |result: JsonValue| Json(json!({"ok": true, "result": result})).into_response();
    if bot != format!("bot{BOT_TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
        )
            .into_response();
    }
    match method.to_ascii_lowercase().as_str() {
        "sendmessage" => {
            {
                let mut left = fake.too_many.lock().unwrap();
                if *left > 0 {
                    *left -= 1;
                    fake.refused.lock().unwrap().push(Instant::now());
                    return (
                        StatusCode::TOO_MANY_REQUESTS,
                        Json(json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}})),
                    )
                        .into_response();
                }
            }
            let buttons = body["reply_markup"]["inline_keyboard"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                .map(|b| {
                    (
                        b["text"].as_str().unwrap_or("").to_owned(),
                        b["callback_data"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect();
            let chat = body["chat_id"].to_string().trim_matches('"').to_owned();
            fake.sent.lock().unwrap().push(Sent {
                channel: ChannelKind::Telegram,
                chat: chat.clone(),
                text: body["text"].as_str().unwrap_or("").to_owned(),
                buttons,
                at: Instant::now(),
            });
            ok(json!({
                "message_id": 1,
                "from": {"id": 7012345678i64, "is_bot": true, "first_name": "Hỏi Luật"},
                "chat": {"id": body["chat_id"], "first_name": "An", "type": "private"},
                "date": 1718000000,
                "text": "…"
            }))
        }
        _ => ok(json!(true)),
    }
}

async fn start_platforms() -> (Arc<Platforms>, String) {
    let fake = Arc::new(Platforms::default());
    let app = Router::new()
        .route("/v3.0/oa/message/cs", post(zalo_send))
        .route("/{bot}/{method}", post(bot_api))
        .with_state(Arc::clone(&fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{address}"))
}

// ---------------------------------------------------------------------------------------------
// The service

struct Service {
    db: Db,
    router: Router,
    platform: Arc<Platform>,
    fake: Arc<Platforms>,
    _dir: tempfile::TempDir,
}

fn service_config(dir: &std::path::Path, platforms: &str) -> Config {
    let mut config = fixture().config.clone();
    config.database.path = Some(dir.join("h.sqlite3"));
    config.channels.retry_base_ms = 20;
    // A survey or an SME request is a dozen messages in a minute.
    config.channels.user_messages_per_minute = 100;
    config.channels.zalo_oa = ZaloOaConfig {
        enabled: true,
        app_id: ZALO_APP.into(),
        oa_secret_key: ZALO_SECRET.into(),
        access_token: "access".into(),
        refresh_token: "refresh".into(),
        api_base: platforms.into(),
        oauth_base: platforms.into(),
        ..ZaloOaConfig::default()
    };
    config.channels.telegram = TelegramConfig {
        enabled: true,
        token: BOT_TOKEN.into(),
        mode: TelegramMode::Webhook,
        secret_token: TELEGRAM_SECRET.into(),
        api_url: format!("{platforms}/"),
    };
    config.platform.outbox_per_second = 20.0;
    config.platform.outbox_lease_secs = 2;
    // No minute's sweep: a test calls `surveys::offer_once` itself (no idle time then), or the
    // citizen's thanks offers the survey.
    config.platform.survey_offer_after_idle_mins = 0;
    config
}

/// The channels and the platform as `hoiluat serve` wires them, on a database of their own.
async fn service_with(configure: impl FnOnce(&mut Config)) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let (fake, platforms) = start_platforms().await;
    let mut config = service_config(dir.path(), &platforms);
    configure(&mut config);
    let db = Db::connect(&config.database, &config.paths).await.unwrap();
    let ready = Ready::with(fixture().started.assistant.clone());
    let channels = channels::setup::start(&config.channels, db.clone(), ready.clone())
        .await
        .unwrap();
    let platform = Platform::start(&config, db.clone(), ready, &channels.dispatcher)
        .await
        .unwrap();
    Service {
        db,
        router: channels.router.clone(),
        platform,
        fake,
        _dir: dir,
    }
}

/// Telegram's HTML as the citizen reads it.
fn visible(html: &str) -> String {
    let mut text = html.to_owned();
    for tag in [
        "<b>",
        "</b>",
        "<i>",
        "</i>",
        "<blockquote>",
        "</blockquote>",
    ] {
        text = text.replace(tag, "");
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Service {
    async fn post(&self, request: Request<Body>) -> StatusCode {
        self.router.clone().oneshot(request).await.unwrap().status()
    }

    /// The message's status once it is no longer `received`.
    async fn status_of(&self, channel: ChannelKind, external_id: &str) -> Option<String> {
        let (channel, external_id) = (channel.as_str().to_owned(), external_id.to_owned());
        let status: Option<String> = self
            .db
            .call(move |c| {
                use rusqlite::OptionalExtension;
                c.query_row(
                    "SELECT status FROM messages WHERE channel = ?1 AND external_id = ?2",
                    [channel, external_id],
                    |r| r.get(0),
                )
                .optional()
            })
            .await
            .unwrap();
        status.filter(|status| status != "received")
    }

    /// Waits until the message is handled; its final status.
    async fn handled(&self, channel: ChannelKind, external_id: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(status) = self.status_of(channel, external_id).await {
                return status;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "message {external_id} never handled"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A Telegram user in a private chat.
struct TelegramUser<'a> {
    service: &'a Service,
    id: i64,
    next_update: std::cell::Cell<i64>,
}

impl TelegramUser<'_> {
    fn chat(&self) -> String {
        self.id.to_string()
    }

    fn conversation(&self) -> String {
        conversation_id(ChannelKind::Telegram, &self.id.to_string())
    }

    async fn deliver(&self, update: JsonValue) -> String {
        let update_id = update["update_id"].as_i64().unwrap();
        let request = Request::post("/webhooks/telegram")
            .header("content-type", "application/json")
            .header("X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET)
            .body(Body::from(update.to_string()))
            .unwrap();
        assert_eq!(self.service.post(request).await, StatusCode::OK);
        update_id.to_string()
    }

    fn update_id(&self) -> i64 {
        let id = self.next_update.get();
        self.next_update.set(id + 1);
        id
    }

    fn user_json(&self) -> JsonValue {
        json!({"id": self.id, "is_bot": false, "first_name": "An", "language_code": "vi"})
    }

    /// Sends a text; returns what the bot sent back (waits for the message to be handled and
    /// for `replies` messages to arrive).
    async fn says(&self, text: &str, replies: usize) -> Vec<Sent> {
        let before = self.service.fake.to(&self.chat()).len();
        let update_id = self.update_id();
        let update = json!({
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "from": self.user_json(),
                "chat": {"id": self.id, "first_name": "An", "type": "private"},
                "date": 1718000000,
                "text": text
            }
        });
        let external = self.deliver(update).await;
        self.service.handled(ChannelKind::Telegram, &external).await;
        self.replies_after(before, replies).await
    }

    /// Taps a button (callback data); returns what the bot sent back.
    async fn taps(&self, data: &str, replies: usize) -> Vec<Sent> {
        let before = self.service.fake.to(&self.chat()).len();
        let update_id = self.update_id();
        let update = json!({
            "update_id": update_id,
            "callback_query": {
                "id": format!("cb-{}-{update_id}", self.id),
                "from": self.user_json(),
                "message": {"message_id": 1, "from": {"id": 7012345678i64, "is_bot": true, "first_name": "Hỏi Luật"},
                            "chat": {"id": self.id, "first_name": "An", "type": "private"}, "date": 1718000000, "text": "…"},
                "chat_instance": "-1",
                "data": data
            }
        });
        self.deliver(update).await;
        self.replies_after(before, replies).await
    }

    async fn replies_after(&self, before: usize, replies: usize) -> Vec<Sent> {
        let chat = self.chat();
        wait_until("the bot's reply", || async {
            self.service.fake.to(&chat).len() >= before + replies
        })
        .await;
        self.service.fake.to(&chat)[before..].to_vec()
    }
}

fn text_of(sent: &[Sent]) -> String {
    sent.iter()
        .map(|s| visible(&s.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A Zalo OA follower.
struct ZaloUser<'a> {
    service: &'a Service,
    id: String,
    counter: std::cell::Cell<u32>,
}

impl ZaloUser<'_> {
    fn conversation(&self) -> String {
        conversation_id(ChannelKind::ZaloOa, &self.id)
    }

    async fn says(&self, text: &str, replies: usize) -> Vec<Sent> {
        let before = self.service.fake.to(&self.id).len();
        let n = self.counter.get();
        self.counter.set(n + 1);
        let msg_id = format!("{}-{n}", self.id);
        let timestamp = chrono::Utc::now().timestamp_millis().to_string();
        let body = json!({
            "app_id": ZALO_APP,
            "sender": {"id": self.id},
            "recipient": {"id": "579745863508352884"},
            "event_name": "user_send_text",
            "message": {"text": text, "msg_id": msg_id},
            "timestamp": timestamp
        })
        .to_string();
        let signature = zalo_oa::signature_hex(ZALO_APP, ZALO_SECRET, body.as_bytes(), &timestamp);
        let request = Request::post(zalo_oa::WEBHOOK_PATH)
            .header("content-type", "application/json")
            .header("X-ZEvent-Signature", format!("mac={signature}"))
            .body(Body::from(body))
            .unwrap();
        assert_eq!(self.service.post(request).await, StatusCode::OK);
        self.service.handled(ChannelKind::ZaloOa, &msg_id).await;
        let id = self.id.clone();
        wait_until("the bot's reply on Zalo", || async {
            self.service.fake.to(&id).len() >= before + replies
        })
        .await;
        self.service.fake.to(&id)[before..].to_vec()
    }
}

async fn staff(db: &Db) -> i64 {
    db.create_staff(
        "lan".into(),
        "Nguyễn Thị Lan".into(),
        "x".into(),
        Role::Reviewer,
    )
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------------

/// Telegram: a dispute question gets the mediation offer; "Gặp cán bộ" tapped under the answer
/// opens a handoff and asks for the commune; the contacts come in the order a dispute needs;
/// staff take the conversation over, the bot is silent, staff's reply is delivered by the
/// outbox, and the bot answers again once the conversation is handed back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_is_offered_a_mediator_and_staff_take_the_conversation_over() {
    let service = service_with(|_| {}).await;
    let db = &service.db;
    let lan = staff(db).await;
    // The seed holds the provincial desks; an admin added the ward's mediator.
    assert_eq!(db.directory().await.unwrap().len(), 2, "the shipped seed");
    let ward = "Phường Cẩm Thành";
    db.save_directory_entry(
        None,
        NewDirectoryEntry {
            commune_code: "21025".into(),
            commune: ward.into(),
            commune_key: commune_key(ward),
            role: DirectoryRole::Mediator,
            name: "Tổ hòa giải tổ dân phố 3".into(),
            phone: "0255 3 000 000".into(),
            hours: "Thứ Hai – Thứ Sáu".into(),
            address: String::new(),
            note: String::new(),
            verified: true,
        },
        lan,
    )
    .await
    .unwrap();

    let an = TelegramUser {
        service: &service,
        id: 987_654_321,
        next_update: std::cell::Cell::new(1000),
    };
    let answer = an
        .says(
            "Hàng xóm xây tường lấn sang đất nhà tôi, mâu thuẫn kéo dài thì giải quyết thế nào?",
            1,
        )
        .await;
    let text = text_of(&answer);
    assert!(text.contains("hòa giải viên ở cơ sở"), "{text}");
    assert!(
        text.contains("Điều 3 Luật Hòa giải ở cơ sở số 35/2013/QH13, còn hiệu lực"),
        "the offer cites the article with its validity: {text}"
    );
    let human = answer
        .last()
        .unwrap()
        .buttons
        .iter()
        .find(|(label, _)| label == "Gặp cán bộ")
        .map(|(_, data)| data.clone())
        .expect("the answer carries the Gặp cán bộ button");

    // The tap: recorded as feedback, and the person offered in the chat.
    let asked = an.taps(&human, 1).await;
    let prompt = text_of(&asked);
    assert!(prompt.contains("xã, phường hay đặc khu nào"), "{prompt}");
    assert_eq!(
        asked[0].buttons,
        vec![("Bỏ qua".to_owned(), "tx:bỏ qua".to_owned())]
    );
    let handoffs = db.handoffs(HandoffFilter::Active, 10).await.unwrap();
    assert_eq!(handoffs.len(), 1);
    assert_eq!(
        handoffs[0].reason,
        HandoffReason::Dispute,
        "the question was a dispute"
    );
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) FROM feedback WHERE rating = 'human'",
            vec![]
        )
        .await
        .unwrap(),
        1
    );

    let contacts = text_of(&an.says("cam thanh", 1).await);
    let mediator = contacts
        .find("Tổ hòa giải tổ dân phố 3 — 0255 3 000 000")
        .expect(&contacts);
    let legal_aid = contacts
        .find("Trung tâm Trợ giúp pháp lý nhà nước")
        .expect(&contacts);
    let department = contacts
        .find("Sở Tư pháp tỉnh Quảng Ngãi")
        .expect(&contacts);
    assert!(
        mediator < legal_aid && legal_aid < department,
        "a dispute lists the mediator first: {contacts}"
    );
    assert!(contacts.contains("ở Phường Cẩm Thành"), "{contacts}");
    assert!(
        contacts.contains("chưa có số điện thoại trong danh bạ"),
        "the seed has no phone: {contacts}"
    );
    assert!(contacts.contains("sẽ nhắn lại tại đây"), "{contacts}");
    let handoff = db.handoff(handoffs[0].id).await.unwrap().unwrap();
    assert_eq!(handoff.commune.as_deref(), Some(ward));

    // Staff take over: the bot is silent, the message waits for them.
    assert!(db.take_handoff(handoff.id, lan).await.unwrap());
    let before = service.fake.to(&an.chat()).len();
    let update = an.update_id();
    let external = an
        .deliver(json!({
            "update_id": update,
            "message": {"message_id": update, "from": an.user_json(),
                        "chat": {"id": an.id, "first_name": "An", "type": "private"},
                        "date": 1718000000, "text": "Tôi cần người đến hòa giải gấp"}
        }))
        .await;
    assert_eq!(
        service.handled(ChannelKind::Telegram, &external).await,
        "with_staff"
    );
    let transcript = db
        .transcript(ChannelKind::Telegram, an.conversation(), 50)
        .await
        .unwrap();
    assert!(transcript
        .iter()
        .any(|l| l.text == "Tôi cần người đến hòa giải gấp"));

    // Staff's reply goes through the outbox, to the citizen's chat.
    let reply = service
        .platform
        .staff_reply_text("Chiều nay tổ hòa giải sẽ liên hệ với bạn.");
    db.queue_staff_reply(handoff.id, lan, reply)
        .await
        .unwrap()
        .unwrap();
    service.platform.wake_outbox();
    let delivered = an.replies_after(before, 1).await;
    assert_eq!(
        visible(&delivered[0].text),
        "Cán bộ Sở Tư pháp: Chiều nay tổ hòa giải sẽ liên hệ với bạn."
    );
    wait_until("the reply recorded as sent", || async {
        db.scalar_i64(
            "SELECT count(*) FROM outbox WHERE kind = 'staff_reply' AND status = 'sent'",
            vec![],
        )
        .await
        .unwrap()
            == 1
    })
    .await;
    assert!(db
        .handoff(handoff.id)
        .await
        .unwrap()
        .unwrap()
        .first_response_at
        .is_some());

    // Handed back: the assistant answers again.
    assert!(db
        .close_handoff(handoff.id, lan, HandoffStatus::Returned)
        .await
        .unwrap());
    let again = text_of(
        &an.says("Hòa giải viên phải đáp ứng tiêu chuẩn gì?", 1)
            .await,
    );
    assert!(again.contains("Điều 7"), "{again}");
}

fn survey() -> NewSurvey {
    NewSurvey {
        title: "Nhu cầu tìm hiểu pháp luật".into(),
        intro: "Khảo sát ẩn danh của Sở Tư pháp.".into(),
        questions: vec![
            NewQuestion {
                kind: QuestionKind::SingleChoice,
                prompt: "Bạn muốn tìm hiểu lĩnh vực nào nhất?".into(),
                options: vec![
                    "Đất đai".into(),
                    "Doanh nghiệp".into(),
                    "Hôn nhân và gia đình".into(),
                ],
            },
            NewQuestion {
                kind: QuestionKind::Scale,
                prompt: "Bạn hài lòng với câu trả lời của Hỏi Luật ở mức nào?".into(),
                options: Vec::new(),
            },
            NewQuestion {
                kind: QuestionKind::Text,
                prompt: "Bạn muốn Sở Tư pháp phổ biến thêm điều gì?".into(),
                options: Vec::new(),
            },
        ],
    }
}

/// Zalo OA: a business question gets the SME offer citing the SME law and decree; the request is
/// filled in by messages; thanks bring the survey (once); legal news reaches a subscriber inside
/// Zalo's window at once, and one outside it when they write again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sme_requests_surveys_and_news_on_zalo_within_its_window() {
    let service = service_with(|_| {}).await;
    let db = &service.db;
    let lan = staff(db).await;
    let survey_id = db.create_survey(survey(), lan).await.unwrap();
    db.set_survey_status(survey_id, SurveyStatus::Open, lan)
        .await
        .unwrap();
    let binh = ZaloUser {
        service: &service,
        id: "2468458835296117922".into(),
        counter: std::cell::Cell::new(0),
    };

    // The SME offer after a business question, with its legal basis.
    let answer = binh
        .says(
            "Doanh nghiệp nhỏ và vừa được hỗ trợ tư vấn pháp lý như thế nào?",
            1,
        )
        .await;
    let text = text_of(&answer);
    assert!(text.contains("Gửi \"hỗ trợ doanh nghiệp\""), "{text}");
    assert!(
        text.contains("Điều 14 Luật Hỗ trợ doanh nghiệp nhỏ và vừa số 04/2017/QH14, còn hiệu lực"),
        "{text}"
    );
    assert!(
        text.contains("Điều 13 Nghị định"),
        "NĐ 80/2021 is cited too: {text}"
    );

    // The request, step by step; a bad tax code is asked again.
    assert!(text_of(&binh.says("hỗ trợ doanh nghiệp", 1).await).contains("Bước 1/4"));
    assert!(text_of(&binh.says("Công ty TNHH Nông sản Ví Dụ", 1).await).contains("Bước 2/4"));
    assert!(text_of(&binh.says("12345", 1).await).contains("Mã số thuế gồm 10 chữ số"));
    let step3 = text_of(&binh.says("4300123456", 1).await);
    assert!(
        step3.contains("như trên"),
        "the previous question is offered: {step3}"
    );
    assert!(text_of(&binh.says("như trên", 1).await).contains("Bước 4/4"));
    let confirm = text_of(&binh.says("ketoan@vidu.vn", 1).await);
    assert!(confirm.contains("• Mã số thuế: 4300123456"), "{confirm}");
    let sent = text_of(&binh.says("xác nhận", 1).await);
    assert!(sent.contains("Đã gửi yêu cầu số"), "{sent}");
    let requests = db.sme_requests(None, 10).await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].request.question,
        "Doanh nghiệp nhỏ và vừa được hỗ trợ tư vấn pháp lý như thế nào?"
    );
    assert_eq!(requests[0].request.contact, "ketoan@vidu.vn");

    // Thanks: the survey offer, answered to the end; a second thanks offers nothing.
    let offer = text_of(&binh.says("Cảm ơn ạ", 1).await);
    assert!(
        offer.contains("\"Nhu cầu tìm hiểu pháp luật\" (3 câu hỏi"),
        "{offer}"
    );
    let first = text_of(&binh.says("có", 1).await);
    assert!(
        first.starts_with("Khảo sát ẩn danh của Sở Tư pháp.\n\nCâu 1/3"),
        "{first}"
    );
    assert!(
        text_of(&binh.says("7", 1).await).contains("1 đến 3"),
        "out of range"
    );
    assert!(text_of(&binh.says("Doanh nghiệp", 1).await).contains("Câu 2/3"));
    assert!(text_of(&binh.says("5", 1).await).contains("Câu 3/3"));
    assert!(
        text_of(&binh.says("Các quy định về hợp đồng lao động", 1).await)
            .contains("hoàn thành khảo sát")
    );
    let thanks = text_of(&binh.says("cảm ơn", 1).await);
    assert!(!thanks.contains("khảo sát"), "offered once: {thanks}");
    let results = db.survey_results(survey_id).await.unwrap().unwrap();
    assert_eq!(results.questions[0].counts, vec![0, 1, 0]);
    assert_eq!(results.questions[1].counts, vec![0, 0, 0, 0, 1]);
    assert_eq!(
        results.questions[2].texts,
        vec!["Các quy định về hợp đồng lao động"]
    );

    // News: Bình subscribes; Cúc subscribed days ago and is outside Zalo's 48-hour window.
    let subscribed = text_of(&binh.says("đăng ký nhận tin", 1).await);
    assert!(
        subscribed.contains("48 giờ"),
        "Zalo's rule is said: {subscribed}"
    );
    let cuc = ZaloUser {
        service: &service,
        id: "555".into(),
        counter: std::cell::Cell::new(0),
    };
    cuc.says("dang ky nhan tin", 1).await;
    db.execute_sql(
        "UPDATE messages SET received_at = ?1 WHERE conversation_id = ?2",
        vec![
            Value::from((chrono::Utc::now() - chrono::Duration::hours(72)).to_rfc3339()),
            Value::from(cuc.conversation()),
        ],
    )
    .await
    .unwrap();
    let before = (
        service.fake.to(&binh.id).len(),
        service.fake.to(&cuc.id).len(),
    );
    let news = db
        .create_news(
            "Nghị định 168/2024/NĐ-CP".into(),
            "Quy định xử phạt vi phạm hành chính về trật tự, an toàn giao thông đường bộ có hiệu lực từ 01/01/2025.".into(),
            lan,
        )
        .await
        .unwrap();
    let text = service
        .platform
        .notice_text("Nghị định 168/2024/NĐ-CP", "Có hiệu lực từ 01/01/2025.");
    assert_eq!(db.publish_news(news, text, lan).await.unwrap(), Some(2));
    service.platform.wake_outbox();
    wait_until("the notice to Bình", || async {
        service.fake.to(&binh.id).len() > before.0
    })
    .await;
    assert!(service
        .fake
        .to(&binh.id)
        .iter()
        .all(|s| s.channel == ChannelKind::ZaloOa));
    assert!(service
        .fake
        .to(&binh.id)
        .last()
        .unwrap()
        .text
        .contains("📰 Nghị định 168/2024/NĐ-CP"));
    wait_until("Cúc's notice held for the window", || async {
        db.outbox_counts(hoiluat::db::OutboxKind::News, news)
            .await
            .unwrap()
            .get("waiting_window")
            == Some(&1)
    })
    .await;
    assert_eq!(
        service.fake.to(&cuc.id).len(),
        before.1,
        "nothing sent outside the window"
    );
    // Cúc writes: the window is open again, the notice follows the answer.
    let after = cuc.says("xin chào", 2).await;
    assert!(
        after
            .iter()
            .any(|s| s.text.contains("📰 Nghị định 168/2024/NĐ-CP")),
        "{after:?}"
    );
    assert!(text_of(&binh.says("hủy nhận tin", 1).await).contains("ngừng nhận tin"));
    assert_eq!(
        db.subscriber_counts().await.unwrap(),
        vec![(ChannelKind::ZaloOa, 1)]
    );
}

/// The end-of-conversation offer, as the minute's sweep makes it (`surveys::offer_once`, here with
/// no idle time): a quiet Telegram chat gets the invitation with its buttons and takes it; a Zalo
/// OA citizen who already had Zalo's 8 messages since they last wrote gets nothing (the
/// invitation is dropped, not held); neither is invited to the same survey again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_conversation_is_offered_the_survey_once_within_each_platforms_window() {
    let service = service_with(|_| {}).await;
    let db = &service.db;
    let lan = staff(db).await;
    let survey_id = db.create_survey(survey(), lan).await.unwrap();
    db.set_survey_status(survey_id, SurveyStatus::Open, lan)
        .await
        .unwrap();
    let an = TelegramUser {
        service: &service,
        id: 424242,
        next_update: std::cell::Cell::new(5000),
    };
    let cuc = ZaloUser {
        service: &service,
        id: "8817".into(),
        counter: std::cell::Cell::new(0),
    };
    an.says("Hòa giải viên phải đáp ứng tiêu chuẩn gì?", 1)
        .await;
    cuc.says(
        "Doanh nghiệp nhỏ và vừa được hỗ trợ tư vấn pháp lý như thế nào?",
        1,
    )
    .await;
    // Cúc then received seven notices: with the answer, Zalo's 8 messages since she wrote.
    for i in 0..7 {
        db.enqueue_outbound(hoiluat::db::NewOutbound {
            channel: ChannelKind::ZaloOa,
            chat_id: cuc.id.clone(),
            conversation_id: cuc.conversation(),
            kind: hoiluat::db::OutboxKind::News,
            source_id: None,
            dedupe_key: None,
            text: format!("📰 Tin {i}"),
            staff_id: None,
        })
        .await
        .unwrap();
    }
    service.platform.wake_outbox();
    wait_until("Cúc's seven notices", || async {
        service.fake.to(&cuc.id).len() >= 8
    })
    .await;
    let before = (
        service.fake.to(&an.chat()).len(),
        service.fake.to(&cuc.id).len(),
    );

    let channels = [ChannelKind::Telegram, ChannelKind::ZaloOa];
    let queued = hoiluat::platform::surveys::offer_once(&service.platform, &channels)
        .await
        .unwrap();
    assert_eq!(queued, 2);
    let offer = an.replies_after(before.0, 1).await;
    assert!(
        visible(&offer[0].text).contains("\"Nhu cầu tìm hiểu pháp luật\" (3 câu hỏi"),
        "{offer:?}"
    );
    assert_eq!(
        offer[0].buttons,
        vec![
            ("Có".to_owned(), "tx:có".to_owned()),
            ("Không".to_owned(), "tx:không".to_owned())
        ]
    );
    wait_until("Cúc's invitation dropped", || async {
        db.outbox_counts(hoiluat::db::OutboxKind::SurveyOffer, survey_id)
            .await
            .unwrap()
            .get("outside_window")
            == Some(&1)
    })
    .await;
    assert_eq!(
        service.fake.to(&cuc.id).len(),
        before.1,
        "nothing sent past Zalo's 8 messages"
    );
    // An taps "Có": the first question.
    let first = text_of(&an.taps("tx:có", 1).await);
    assert!(first.contains("Câu 1/3"), "{first}");
    assert!(text_of(&an.says("hủy", 1).await).contains("Đã dừng"));
    // Once per citizen and survey, taken, cancelled or dropped.
    assert_eq!(
        hoiluat::platform::surveys::offer_once(&service.platform, &channels)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        db.outbox_counts(hoiluat::db::OutboxKind::SurveyOffer, survey_id)
            .await
            .unwrap()
            .get("sent"),
        Some(&1)
    );
}

/// The outbox keeps Telegram's pace (per platform, per chat, a 429's `retry_after`), and a
/// process that died while sending a notice leaves nothing unsent: the next one takes over the
/// rows once their claims ran out, and every subscriber gets the notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_is_paced_and_resumes_after_the_sending_process_died() {
    let _ = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (fake, platforms) = start_platforms().await;
    let mut config = service_config(dir.path(), &platforms);
    config.platform.outbox_per_second = 5.0;
    let db = Db::connect(&config.database, &config.paths).await.unwrap();
    let lan = staff(&db).await;
    let chats: Vec<String> = (0..12).map(|i| (700_000 + i).to_string()).collect();
    for chat in &chats {
        db.subscribe_news(
            ChannelKind::Telegram,
            chat.clone(),
            conversation_id(ChannelKind::Telegram, chat),
        )
        .await
        .unwrap();
    }
    let news = db
        .create_news("Tin".into(), "Nội dung".into(), lan)
        .await
        .unwrap();
    assert_eq!(
        db.publish_news(news, "📰 Tin thử".into(), lan)
            .await
            .unwrap(),
        Some(12)
    );
    *fake.too_many.lock().unwrap() = 1;

    // The first process: sends for a while, then dies (its runtime dropped mid-send).
    let first = {
        let (config, db) = (config.clone(), db.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let ready = Ready::with(fixture().started.assistant.clone());
                let channels = channels::setup::start(&config.channels, db.clone(), ready.clone())
                    .await
                    .unwrap();
                let _platform = Platform::start(&config, db, ready, &channels.dispatcher)
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(2_500)).await;
            });
            runtime.shutdown_timeout(Duration::from_millis(100));
        })
    };
    first.join().unwrap();
    let sent_by_first = fake.sent().len();
    assert!(
        (1..12).contains(&sent_by_first),
        "the first process sent part of the notice ({sent_by_first})"
    );

    // The next process takes over.
    let ready = Ready::with(fixture().started.assistant.clone());
    let channels = channels::setup::start(&config.channels, db.clone(), ready.clone())
        .await
        .unwrap();
    let _platform = Platform::start(&config, db.clone(), ready, &channels.dispatcher)
        .await
        .unwrap();
    wait_until("every subscriber's notice", || async {
        let sent = fake.sent();
        chats
            .iter()
            .all(|chat| sent.iter().any(|s| &s.chat == chat))
    })
    .await;
    wait_until("every row recorded", || async {
        db.outbox_counts(hoiluat::db::OutboxKind::News, news)
            .await
            .unwrap()
            .get("sent")
            == Some(&12)
    })
    .await;
    let sent = fake.sent();
    let mut per_chat: HashMap<&str, usize> = HashMap::new();
    for message in &sent {
        *per_chat.entry(message.chat.as_str()).or_default() += 1;
    }
    let duplicates: usize = per_chat.values().map(|n| n - 1).sum();
    assert!(
        duplicates <= 1,
        "at most the message in flight when the process died: {per_chat:?}"
    );
    // The pace: 5 per second, so consecutive sends of one process are at least ~200 ms apart.
    let gaps: Vec<Duration> = sent
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .collect();
    let quick = gaps
        .iter()
        .filter(|gap| **gap < Duration::from_millis(150))
        .count();
    assert!(quick <= 1, "sends closer than the pace allows: {gaps:?}");
    // The 429 paused the platform for its retry_after.
    let refused = fake.refused.lock().unwrap().clone();
    assert_eq!(refused.len(), 1);
    let next = sent
        .iter()
        .find(|s| s.at > refused[0])
        .expect("sends after the 429");
    assert!(
        next.at.duration_since(refused[0]) >= Duration::from_millis(950),
        "the platform waited its retry_after"
    );
    // Nothing is claimed or queued any more; the buttons of a notice let the citizen leave.
    assert!(sent
        .iter()
        .all(|s| s.buttons == vec![("Hủy nhận tin".to_owned(), "tx:hủy nhận tin".to_owned())]));
}
