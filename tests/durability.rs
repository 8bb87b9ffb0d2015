//! Durability of the channels as a process: webhooks acknowledged by `hoiluat serve` are answered
//! even when the process is killed (SIGKILL) right after acknowledging them — the next start
//! answers what the dead one owed. The Zalo Bot API is a local fake that, in the first life,
//! never answers (so deliveries are in flight when the process dies).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

const SECRET: &str = "durability-secret";
const MESSAGES: usize = 10;

#[derive(Clone, Default)]
struct FakeBot {
    /// While false the fake holds every request open: the service's deliveries hang.
    answering: Arc<AtomicBool>,
    delivered: Arc<Mutex<Vec<String>>>,
}

async fn send_message(State(fake): State<FakeBot>, Json(body): Json<Value>) -> Json<Value> {
    while !fake.answering.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fake.delivered
        .lock()
        .unwrap()
        .push(body["chat_id"].as_str().unwrap_or("").to_owned());
    Json(json!({"ok": true, "result": {"message_id": "m"}}))
}

async fn chat_action() -> Json<Value> {
    Json(json!({"ok": true, "result": true}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeBot::default();
    let app = Router::new()
        .route("/{bot}/sendMessage", post(send_message))
        .route("/{bot}/sendChatAction", post(chat_action))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let corpus = common::corpus_with(dir.path(), common::SMALL_CORPUS);
    let config = dir.path().join("hoiluat.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nbind = \"127.0.0.1:{port}\"\n\n[paths]\ncorpus_dir = {:?}\ndata_dir = {:?}\nmodels_dir = {:?}\nprompts_dir = {:?}\n\n[model]\nsessions = 2\n\n\
             [channels]\nretry_base_ms = 50\nsend_timeout_secs = 60\nclaim_lease_secs = 4\n\n[channels.zalo_bot]\nenabled = true\ntoken = \"1234:durability\"\nsecret_token = \"{SECRET}\"\napi_base = \"{api}\"\n",
            corpus,
            dir.path().join("data"),
            common::models_dir(),
            common::repo().join("prompts"),
        ),
    )
    .unwrap();

    let mut first = common::serve_until_ready(&config, port);
    let client = reqwest::Client::new();
    for n in 0..MESSAGES {
        let body = json!({
            "event_name": "message.text.received",
            "message": {
                "message_id": format!("msg-{n}"),
                "from": {"id": format!("user-{n}")},
                "chat": {"id": format!("chat-{n}"), "chat_type": "PRIVATE"},
                "date": 1718000000000i64,
                "text": "Nam nữ bao nhiêu tuổi thì được kết hôn?",
            }
        });
        let response = client
            .post(format!("http://127.0.0.1:{port}/webhooks/zalo-bot"))
            .header("X-Bot-Api-Secret-Token", SECRET)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // Acknowledged; the deliveries hang at the fake. Kill hard.
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(fake.delivered.lock().unwrap().is_empty());

    fake.answering.store(true, Ordering::SeqCst);
    let mut second = common::serve_until_ready(&config, port);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let delivered: HashSet<String> = fake.delivered.lock().unwrap().iter().cloned().collect();
        if delivered.len() == MESSAGES {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {MESSAGES} answered after the restart",
            delivered.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();

    // Every message is on record as answered, once.
    let db = hoiluat::db::Db::open(&dir.path().join("data/hoiluat.sqlite3")).unwrap();
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
    assert_eq!(answered as usize, MESSAGES);
}
