//! The Zalo Bot Platform played on 127.0.0.1 for the browser tests: records every `sendMessage`
//! of the bot with [`BOT_TOKEN`] and answers as the platform does.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

pub const BOT_TOKEN: &str = "1234:zalo-bot-token";

#[derive(Clone, Default)]
pub struct FakeZaloBot {
    sent: Arc<Mutex<Vec<Value>>>,
}

impl FakeZaloBot {
    /// Starts the platform on a free port; its base URL (`api_base`).
    pub async fn start() -> (FakeZaloBot, String) {
        let fake = FakeZaloBot::default();
        let address = serve(
            Router::new()
                .route("/{*method}", post(send))
                .with_state(fake.clone()),
        )
        .await;
        (fake, format!("http://{address}"))
    }

    /// Every `sendMessage` body, in order.
    pub fn sent(&self) -> Vec<Value> {
        self.sent.lock().unwrap().clone()
    }

    /// The texts sent to one chat, in order.
    pub fn texts_to(&self, chat: &str) -> Vec<String> {
        self.sent()
            .iter()
            .filter(|m| m["chat_id"] == chat)
            .map(|m| m["text"].as_str().unwrap_or("").to_owned())
            .collect()
    }
}

async fn send(
    State(fake): State<FakeZaloBot>,
    Path(method): Path<String>,
    Json(body): Json<Value>,
) -> Json<Value> {
    // The path is `/bot<token>/<method>`.
    if method == format!("bot{BOT_TOKEN}/sendMessage") {
        fake.sent.lock().unwrap().push(body);
    }
    Json(json!({"ok": true, "result": {"message_id": "m1", "date": 1718000000000i64}}))
}

/// Serves `app` on a free port of 127.0.0.1 (with the peer's address, as `hoiluat serve` does).
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    address
}
