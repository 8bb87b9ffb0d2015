//! Stateless replicas: two `hoiluat serve` processes on different ports share one PostgreSQL
//! database (each with its own copy of the embedded index), as behind a load balancer.
//!
//! - A conversation continues across them: the question is sent to replica A, the follow-up
//!   "Nộp hồ sơ ở đâu?" to replica B, which has never seen the conversation and reads it back from
//!   the database — the follow-up is read as about marriage registration.
//! - A duplicated webhook delivered to both replicas at once is answered once.
//!
//! Needs `HOILUAT_TEST_POSTGRES_URL` (set by `scripts/test-postgres.sh`, which `.ci/run` uses);
//! without it the case is reported as ignored. The Zalo Bot API is a local fake server.

mod common;

use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use hoiluat::db::{Db, Value};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{json, Value as JsonValue};

const SECRET: &str = "replicas-secret";

/// The fake Zalo Bot API: records every message sent, (chat id, text), in order.
#[derive(Clone, Default)]
struct FakeBot {
    sent: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeBot {
    fn sent(&self) -> Vec<(String, String)> {
        self.sent.lock().expect("not poisoned").clone()
    }
}

async fn send_message(State(fake): State<FakeBot>, Json(body): Json<JsonValue>) -> Json<JsonValue> {
    let chat = body["chat_id"].as_str().unwrap_or("").to_owned();
    let text = body["text"].as_str().unwrap_or("").to_owned();
    fake.sent.lock().expect("not poisoned").push((chat, text));
    Json(json!({"ok": true, "result": {"message_id": "m"}}))
}

async fn chat_action() -> Json<JsonValue> {
    Json(json!({"ok": true, "result": true}))
}

/// A `hoiluat serve` process, killed when dropped.
struct Replica {
    child: Child,
    port: u16,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Writes the replica's configuration (its own port and data directory, the shared database and
/// fake API) and starts it; returns once its `/readyz` says the index is loaded.
fn start_replica(dir: &Path, corpus: &Path, database_url: &str, api: &str) -> Replica {
    let port = free_port();
    std::fs::create_dir_all(dir).expect("the replica's directory");
    let config = dir.join("hoiluat.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nbind = \"127.0.0.1:{port}\"\n\n\
             [paths]\ncorpus_dir = {:?}\ndata_dir = {:?}\nmodels_dir = {:?}\nprompts_dir = {:?}\n\n\
             [model]\nsessions = 1\n\n\
             [database]\nkind = \"postgres\"\nurl = {database_url:?}\npool_size = 4\n\n\
             [channels]\nretry_base_ms = 50\n\n\
             [channels.zalo_bot]\nenabled = true\ntoken = \"1234:replicas\"\nsecret_token = \"{SECRET}\"\napi_base = \"{api}\"\n",
            corpus,
            dir.join("data"),
            common::models_dir(),
            common::repo().join("prompts"),
        ),
    )
    .expect("write the configuration");
    let child = common::serve_until_ready(&config, port);
    Replica { child, port }
}

fn webhook(message_id: &str, user: &str, text: &str) -> JsonValue {
    json!({
        "event_name": "message.text.received",
        "message": {
            "message_id": message_id,
            "from": {"id": user},
            "chat": {"id": format!("chat-{user}"), "chat_type": "PRIVATE"},
            "date": 1718000000000i64,
            "text": text,
        }
    })
}

async fn deliver(
    client: &reqwest::Client,
    replica: &Replica,
    body: &JsonValue,
) -> Result<(), Failed> {
    let response = client
        .post(format!(
            "http://127.0.0.1:{}/webhooks/zalo-bot",
            replica.port
        ))
        .header("X-Bot-Api-Secret-Token", SECRET)
        .json(body)
        .send()
        .await?;
    if response.status() != 200 {
        return Err(format!("webhook answered {}", response.status()).into());
    }
    Ok(())
}

/// Waits until the message with this Zalo id is answered (by either replica).
async fn answered(db: &Db, message_id: &str) -> Result<(), Failed> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = db
            .scalar_i64(
                "SELECT count(*) FROM messages WHERE external_id LIKE ?1 AND status = 'answered'",
                vec![Value::from(format!("message.text.received:%:{message_id}"))],
            )
            .await?;
        if done == 1 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{message_id} was not answered within 60 s").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn replicas_share_conversations_and_deduplication(url: &str) -> Result<(), Failed> {
    // A fresh schema of the test database, dropped at the end.
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = postgres::Client::connect(url, postgres::NoTls)?;
    admin.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
    let separator = if url.contains('?') { '&' } else { '?' };
    let database_url = format!("{url}{separator}options=-csearch_path%3D{schema}");
    let outcome = run_replicas(&database_url);
    admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))?;
    outcome
}

fn run_replicas(database_url: &str) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let corpus = common::corpus_with(dir.path(), common::SMALL_CORPUS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let fake = FakeBot::default();
    let app = Router::new()
        .route("/{bot}/sendMessage", post(send_message))
        .route("/{bot}/sendChatAction", post(chat_action))
        .with_state(fake.clone());
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let api = format!("http://{}", listener.local_addr()?);
    runtime.spawn(async move { axum::serve(listener, app).await });

    // Both replicas start (and migrate the empty database) at the same time.
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| start_replica(&a_dir, &corpus, database_url, &api));
        let b = scope.spawn(|| start_replica(&b_dir, &corpus, database_url, &api));
        (a.join(), b.join())
    });
    let (a, b) = (
        a.map_err(|_| "replica A failed")?,
        b.map_err(|_| "replica B failed")?,
    );
    let db = Db::open_postgres(database_url, 2)?;

    runtime.block_on(async {
        let client = reqwest::Client::new();

        // The question on A, the follow-up on B.
        let first = webhook("q-1", "citizen", "Thủ tục đăng ký kết hôn như thế nào?");
        deliver(&client, &a, &first).await?;
        answered(&db, "q-1").await?;
        let before = fake.sent().len();
        let follow_up = webhook("q-2", "citizen", "Nộp hồ sơ ở đâu?");
        deliver(&client, &b, &follow_up).await?;
        answered(&db, "q-2").await?;
        let reply: String = fake.sent()[before..]
            .iter()
            .map(|(_, text)| text.as_str())
            .collect();
        if !reply.contains("kết hôn") {
            return Err(format!("the follow-up on B lost the conversation: {reply}").into());
        }

        // One delivery, sent to both replicas at once: stored once, answered once.
        let duplicate = webhook("dup-1", "other", "Nam nữ bao nhiêu tuổi thì được kết hôn?");
        let (on_a, on_b) = tokio::join!(
            deliver(&client, &a, &duplicate),
            deliver(&client, &b, &duplicate)
        );
        on_a?;
        on_b?;
        answered(&db, "dup-1").await?;
        // Give a second answer (if one were coming) time to arrive.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let external = Value::from("message.text.received:chat-other:dup-1");
        let answers = db
            .scalar_i64(
                "SELECT count(*) FROM answers a JOIN messages m ON m.id = a.message_id WHERE m.external_id = ?1",
                vec![external.clone()],
            )
            .await?;
        let repeated_parts = db
            .scalar_i64(
                "SELECT count(*) - count(DISTINCT d.part) FROM deliveries d JOIN messages m ON m.id = d.message_id
                 WHERE m.external_id = ?1",
                vec![external.clone()],
            )
            .await?;
        let parts_sent = db
            .scalar_i64(
                "SELECT count(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
                 WHERE m.external_id = ?1 AND d.status = 'sent'",
                vec![external],
            )
            .await?;
        let received = fake
            .sent()
            .iter()
            .filter(|(chat, _)| chat == "chat-other")
            .count() as i64;
        if (answers, repeated_parts) != (1, 0) || received != parts_sent || received == 0 {
            return Err(format!(
                "duplicate answered more than once: {answers} answers, {repeated_parts} repeated parts, \
                 {received} messages received for {parts_sent} parts sent"
            )
            .into());
        }
        Ok::<_, Failed>(())
    })?;
    drop((a, b));
    Ok(())
}

fn main() {
    let arguments = Arguments::from_args();
    let url = std::env::var("HOILUAT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let absent = url.is_none();
    let trial = Trial::test(
        "postgres::replicas_share_conversations_and_deduplication",
        move || replicas_share_conversations_and_deduplication(&url.unwrap_or_default()),
    )
    .with_ignored_flag(absent);
    libtest_mimic::run(&arguments, vec![trial]).exit();
}
