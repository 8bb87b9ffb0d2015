//! A burst of 200 signed Zalo OA webhooks over real TCP: every one acknowledged within Zalo's
//! 2 seconds (the webhook only commits a row), and every one answered afterwards through a local
//! fake OA message API. Real assistant, real SQLite file.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use hoiluat::channels::dispatch::Dispatcher;
use hoiluat::channels::zalo_oa::{self, ZaloOaSender};
use hoiluat::config::{ChannelsConfig, ZaloOaConfig};
use hoiluat::db::Db;
use serde_json::{json, Value};

const APP_ID: &str = "1234567890";
const OA_SECRET: &str = "TEST_OA_SECRET";
const MESSAGES: usize = 200;
const QUESTIONS: &[&str] = &[
    "Nam nữ bao nhiêu tuổi thì được kết hôn?",
    "Thủ tục đăng ký khai sinh cho con cần giấy tờ gì?",
    "Ly hôn thì chia tài sản chung như thế nào?",
    "dang ky ket hon o dau",
    "Con riêng có được hưởng thừa kế không?",
];

#[derive(Clone, Default)]
struct FakeOa {
    recipients: Arc<Mutex<Vec<String>>>,
}

async fn send_message(
    State(fake): State<FakeOa>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    assert_eq!(headers["access_token"], "ACCESS-1");
    let recipient = body["recipient"]["user_id"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    fake.recipients.lock().unwrap().push(recipient);
    Json(json!({"error": 0, "message": "Success", "data": {"message_id": "x"}}))
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_200_webhooks_is_acknowledged_fast_and_all_answered() {
    let fixture = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let fake = FakeOa::default();
    let api = serve(
        Router::new()
            .route("/v3.0/oa/message/cs", post(send_message))
            .with_state(fake.clone()),
    )
    .await;
    let config = ZaloOaConfig {
        enabled: true,
        app_id: APP_ID.into(),
        app_secret: "TEST_APP_SECRET".into(),
        oa_secret_key: OA_SECRET.into(),
        access_token: "ACCESS-1".into(),
        refresh_token: "REFRESH-1".into(),
        api_base: api.clone(),
        oauth_base: api,
        max_event_age_secs: 0,
    };
    let cell = hoiluat::ready::Ready::with(fixture.started.assistant.clone());
    let sender = Arc::new(ZaloOaSender::new(
        &config,
        db.clone(),
        reqwest::Client::new(),
    ));
    let dispatcher = Dispatcher::start(db.clone(), cell, vec![sender], &ChannelsConfig::default());
    let webhook = serve(zalo_oa::routes(dispatcher, &config)).await;

    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..MESSAGES {
        let client = client.clone();
        let url = format!("{webhook}/webhooks/zalo-oa");
        tasks.push(tokio::spawn(async move {
            let timestamp = (1_718_000_000_000u64 + n as u64).to_string();
            let body = json!({
                "app_id": APP_ID,
                "sender": {"id": format!("user-{n}")},
                "recipient": {"id": "579745863508352884"},
                "event_name": "user_send_text",
                "message": {"text": QUESTIONS[n % QUESTIONS.len()], "msg_id": format!("msg-{n}")},
                "timestamp": timestamp,
            })
            .to_string();
            let mac = zalo_oa::signature_hex(APP_ID, OA_SECRET, body.as_bytes(), &timestamp);
            let sent = Instant::now();
            let response = client
                .post(url)
                .header("content-type", "application/json")
                .header("X-ZEvent-Signature", format!("mac={mac}"))
                .body(body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), sent.elapsed())
        }));
    }
    let mut slowest = Duration::ZERO;
    for task in tasks {
        let (status, elapsed) = task.await.unwrap();
        assert_eq!(status, 200);
        slowest = slowest.max(elapsed);
    }
    assert!(
        slowest < Duration::from_secs(2),
        "slowest acknowledgement took {slowest:?}"
    );
    let acknowledged = started.elapsed();

    // Every message is answered, each user once.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let answered: i64 = db
            .call(|c| {
                c.query_row(
                    "SELECT count(*) FROM messages WHERE status = 'answered'",
                    [],
                    |r| r.get(0),
                )
            })
            .await
            .unwrap();
        if answered as usize == MESSAGES {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {answered} of {MESSAGES} answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recipients = fake.recipients.lock().unwrap().clone();
    let distinct: HashSet<&String> = recipients.iter().collect();
    assert_eq!(distinct.len(), MESSAGES);
    let failed: i64 = db
        .call(|c| {
            c.query_row(
                "SELECT count(*) FROM messages WHERE status != 'answered'",
                [],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    assert_eq!(failed, 0);
    eprintln!(
        "{MESSAGES} webhooks acknowledged in {acknowledged:?} (slowest {slowest:?}); all answered after {:?}",
        started.elapsed()
    );
}
