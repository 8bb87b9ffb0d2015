//! The web channel end to end: the real router (the real Assistant over a small real corpus, a
//! real SQLite file), first through plain HTTP (SSE framing of `/v1/chat`, input errors, feedback
//! and satisfaction validation, CORS), then through a real headless Chromium driven over the W3C
//! WebDriver protocol: the demo page, the widget in its shadow root, a streamed answer, the cited
//! article, 👍, the satisfaction question, keyboard closing and the phone layout.
//!
//! The browser test needs Debian's `chromium` and `chromium-driver` (`scripts/test-deps.sh`
//! installs them; `make test` runs it). Without them it fails and says so: it never passes silently.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use common::webdriver::{base64_decode, require_chromium, save_screenshot, Browser, Element};
use hoiluat::channels::dispatch::Dispatcher;
use hoiluat::channels::{web, web_history};
use hoiluat::config::WebConfig;
use hoiluat::db::{Db, NewReview, ReviewOutcome};
use hoiluat::http::{router, AppState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const QUESTION: &str = "Nam nữ bao nhiêu tuổi thì được kết hôn?";
const MARRIAGE_AGE: &str = "Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên";
const EMBEDDING_SITE: &str = "https://sotuphap.quangngai.gov.vn";

// ---------------------------------------------------------------------------------------------
// The service under test

struct Service {
    app: Router,
    db: Db,
    _dir: tempfile::TempDir,
}

/// The app as `hoiluat serve` wires it: the API router merged with the web routes, with the
/// widget's CORS rules over both; a dispatcher with no senders (the web answers in the request).
fn service() -> Service {
    let fixture = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let cell = hoiluat::ready::Ready::with(fixture.started.assistant.clone());
    let dispatcher = Dispatcher::start(db.clone(), cell, Vec::new(), &fixture.config.channels);
    let history = web_history::routes(dispatcher.clone());
    let web_config = WebConfig {
        allowed_origins: vec![EMBEDDING_SITE.to_owned()],
        ..WebConfig::default()
    };
    let api = router(AppState::ready(
        &fixture.config.server,
        fixture.started.assistant.clone(),
    ));
    let app = web::with_cors(
        api.merge(web::routes(dispatcher, &web_config))
            .merge(history),
        &web_config,
    );
    Service { app, db, _dir: dir }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("non-JSON body: {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The JSON of every `data:` event, in order; comments (keep-alives) are skipped.
    fn events(&self) -> Vec<Value> {
        let text = std::str::from_utf8(&self.body).unwrap();
        text.split("\n\n")
            .filter_map(|block| {
                let data: Vec<&str> = block
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:"))
                    .map(|data| data.strip_prefix(' ').unwrap_or(data))
                    .collect();
                (!data.is_empty()).then(|| {
                    serde_json::from_str(&data.join("\n"))
                        .unwrap_or_else(|e| panic!("bad event {block:?}: {e}"))
                })
            })
            .collect()
    }
}

async fn call(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

fn post(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

fn post_json(path: &str, body: &Value) -> Request<Body> {
    post(path, "application/json", body.to_string())
}

async fn chat(app: &Router, body: Value) -> Reply {
    call(app, post_json("/v1/chat", &body)).await
}

/// Asks, checks the stream ended with `done`, and returns that event.
async fn ask_done(app: &Router, body: Value) -> Value {
    let reply = chat(app, body).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let events = reply.events();
    let done = events.last().cloned().unwrap();
    assert_eq!(done["type"], "done", "{events:?}");
    done
}

fn error_code(reply: &Reply) -> String {
    let body = reply.json();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "an error needs a message: {body}");
    body["error"]["code"].as_str().unwrap().to_owned()
}

async fn query_strings(db: &Db, sql: &'static str) -> Vec<Vec<String>> {
    db.call(move |c| {
        let mut statement = c.prepare(sql)?;
        let columns = statement.column_count();
        let rows = statement.query_map([], |row| {
            (0..columns)
                .map(|i| {
                    let value: rusqlite::types::Value = row.get(i)?;
                    Ok(match value {
                        rusqlite::types::Value::Integer(n) => n.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        rusqlite::types::Value::Real(r) => r.to_string(),
                        rusqlite::types::Value::Null => "NULL".into(),
                        other => format!("{other:?}"),
                    })
                })
                .collect::<Result<Vec<String>, _>>()
        })?;
        rows.collect()
    })
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP

#[tokio::test]
async fn chat_streams_the_answer_in_pieces_then_done_with_citations() {
    let service = service();
    let client_id = "0b6f1c3e-2d4a-4c5b-9e8f-7a6b5c4d3e2f";
    let reply = chat(
        &service.app,
        json!({ "message": QUESTION, "client_message_id": client_id }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    let events = reply.events();
    let (done, deltas) = events.split_last().unwrap();
    assert!(deltas.len() >= 3, "the answer comes in pieces: {events:?}");
    assert!(deltas.iter().all(|e| e["type"] == "delta"));
    let text: String = deltas.iter().map(|e| e["text"].as_str().unwrap()).collect();
    assert!(text.contains(MARRIAGE_AGE), "{text}");

    assert_eq!(done["type"], "done");
    assert_eq!(done["status"], "answered");
    // Flagged for staff exactly when the core flagged it (the calibrated confidence is under
    // `retrieval.review_below`), as stored with the answer.
    let stored = query_strings(
        &service.db,
        "SELECT a.confidence, count(f.id) FROM answers a LEFT JOIN flags f ON f.answer_id = a.id GROUP BY a.id",
    )
    .await;
    let confidence: f32 = stored[0][0].parse().unwrap();
    let flagged = confidence < hoiluat::config::Config::default().retrieval.review_below;
    assert_eq!(done["needs_review"], flagged, "{done} {stored:?}");
    assert_eq!(stored[0][1] != "0", flagged, "{stored:?}");
    let conversation = done["conversation_id"].as_str().unwrap();
    assert!(conversation.starts_with("web-"), "{conversation}");
    let citation = &done["citations"][0];
    assert_eq!(citation["article_id"], "52-2014-qh13.dieu-8");
    assert_eq!(
        citation["reference"],
        "Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13"
    );
    assert_eq!(citation["url"], "/v1/articles/52-2014-qh13.dieu-8");
    assert_eq!(citation["validity"], "con_hieu_luc");
    assert_eq!(citation["validity_label"], "Còn hiệu lực");
    assert_eq!(citation["effective_date"], "2015-01-01");
    assert!(citation["heading"].as_str().unwrap().starts_with("Điều 8"));
    assert!(citation["text"].as_str().unwrap().contains(MARRIAGE_AGE));
    for field in ["unit", "document_title"] {
        assert!(!citation[field].as_str().unwrap().is_empty(), "{field}");
    }

    // The same rows as every channel: the message (answered), and the answer the stream showed.
    let answer_id = done["answer_id"].as_str().unwrap().to_owned();
    let messages = query_strings(
        &service.db,
        "SELECT channel, external_id, conversation_id, status FROM messages",
    )
    .await;
    assert_eq!(
        messages,
        vec![vec![
            "web".to_owned(),
            client_id.to_owned(),
            conversation.to_owned(),
            "answered".to_owned()
        ]]
    );
    let answers = query_strings(&service.db, "SELECT public_id, text, status FROM answers").await;
    assert_eq!(answers, vec![vec![answer_id, text, "answered".to_owned()]]);

    // A retried request (same client message id) is not answered twice.
    let again = chat(
        &service.app,
        json!({ "message": QUESTION, "client_message_id": client_id }),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(error_code(&again), "duplicate_message");

    // The conversation continues under the id the widget sends back; a garbled one starts anew.
    let follow_up = ask_done(
        &service.app,
        json!({ "message": "Còn điều kiện nào khác không?", "conversation_id": conversation }),
    )
    .await;
    assert_eq!(follow_up["conversation_id"], conversation);
    let garbled = ask_done(
        &service.app,
        json!({ "message": QUESTION, "conversation_id": "không hợp lệ!" }),
    )
    .await;
    let fresh = garbled["conversation_id"].as_str().unwrap();
    assert!(
        fresh.starts_with("web-") && fresh != conversation,
        "{fresh}"
    );
}

#[tokio::test]
async fn chat_input_errors_are_json_with_a_code_and_a_vietnamese_message() {
    let service = service();
    let long = "a".repeat(1_001);
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "text/plain",
            json!({"message": QUESTION}).to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_content_type",
        ),
        (
            "application/json",
            "{\"message\": ".into(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "application/json",
            json!({"question": QUESTION}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "application/json",
            json!({"message": 42}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "application/json",
            json!({"message": "   \n "}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_message",
        ),
        (
            "application/json",
            json!({"message": long}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "message_too_long",
        ),
        (
            "application/json",
            json!({"message": "a\u{fffe}"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_characters",
        ),
        (
            "application/json",
            json!({"message": QUESTION, "client_message_id": "abc"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_client_message_id",
        ),
        (
            "application/json",
            format!("{{\"message\": \"{}\"}}", "x".repeat(20_000)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (content_type, body, status, code) in cases {
        let reply = call(&service.app, post("/v1/chat", content_type, body.clone())).await;
        assert_eq!(
            reply.status,
            status,
            "{code}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(error_code(&reply), code);
    }
    // Vietnamese, with its diacritics.
    let empty = chat(&service.app, json!({"message": ""})).await;
    assert!(empty.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("câu hỏi"));
    // Nothing was stored for a refused request.
    let stored = query_strings(&service.db, "SELECT count(*) FROM messages").await;
    assert_eq!(stored, vec![vec!["0".to_owned()]]);
}

#[tokio::test]
async fn a_conversation_that_sends_too_fast_is_told_to_slow_down() {
    let service = service();
    let conversation = "web-rate-limit-test";
    for _ in 0..12 {
        ask_done(
            &service.app,
            json!({ "message": "Mai trời có mưa không?", "conversation_id": conversation }),
        )
        .await;
    }
    let limited = chat(
        &service.app,
        json!({ "message": "Mai trời có mưa không?", "conversation_id": conversation }),
    )
    .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&limited), "rate_limited");
    assert!(limited.header("retry-after").is_some());
    // Another conversation is not affected.
    ask_done(&service.app, json!({ "message": "Mai trời có mưa không?" })).await;
}

/// A Telegram or Zalo user's conversation cannot be borrowed from the web or the API: their ids
/// (a hash of channel and user id, which anyone knowing the user id can compute) are refused by
/// `/v1/ask`, start a fresh conversation on `/v1/chat`, and their answers cannot be rated here.
#[tokio::test]
async fn conversations_of_other_channels_cannot_be_borrowed() {
    use hoiluat::channels::{conversation_id, ChannelKind};
    use hoiluat::db::{now_text, AnswerStatus, MessageKind, NewAnswer, NewMessage};
    let service = service();
    let telegram = conversation_id(ChannelKind::Telegram, "123456789");
    let message = service
        .db
        .insert_message(NewMessage {
            channel: ChannelKind::Telegram,
            external_id: "u-1".into(),
            conversation_id: telegram.clone(),
            user_id: "123456789".into(),
            chat_id: "123456789".into(),
            kind: MessageKind::Text,
            text: "Thủ tục ly hôn đơn phương?".into(),
            received_at: now_text(),
        })
        .await
        .unwrap()
        .unwrap();
    let (_, public_id) = service
        .db
        .insert_answer(NewAnswer {
            message_id: message,
            conversation_id: telegram.clone(),
            status: AnswerStatus::Answered,
            decline_reason: None,
            text: "…".into(),
            citations: Vec::new(),
            confidence: 0.8,
            needs_review: false,
            follows: None,
        })
        .await
        .unwrap();

    for borrowed in [
        telegram.clone(),
        conversation_id(ChannelKind::ZaloOa, "2468458835296117922"),
        "web-0123456789abcdef0123456789abcdef".to_owned(),
    ] {
        let reply = call(
            &service.app,
            post_json(
                "/v1/ask",
                &json!({"question": "Nộp ở đâu?", "conversation_id": borrowed}),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{borrowed}");
        assert_eq!(error_code(&reply), "invalid_conversation_id");
    }
    // The API's own ids still work: its fresh ones, and ids its clients chose.
    for own in [None, Some("phien-42")] {
        let mut body = json!({"question": QUESTION});
        if let Some(own) = own {
            body["conversation_id"] = json!(own);
        }
        let reply = call(&service.app, post_json("/v1/ask", &body)).await;
        assert_eq!(reply.status, StatusCode::OK, "{own:?}");
        if let Some(own) = own {
            assert_eq!(reply.json()["conversation_id"], own);
        }
    }

    // On the widget, a typed 👎 in the Telegram conversation would rate its latest answer.
    let done = ask_done(
        &service.app,
        json!({"message": "👎", "conversation_id": telegram}),
    )
    .await;
    let given = done["conversation_id"].as_str().unwrap();
    assert_ne!(given, telegram);
    assert!(given.starts_with("web-"), "{given}");
    let rated = call(
        &service.app,
        post_json(
            "/v1/feedback",
            &json!({"answer_id": public_id, "rating": "down"}),
        ),
    )
    .await;
    assert_eq!(rated.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&rated), "answer_not_found");
    let ratings = query_strings(&service.db, "SELECT count(*) FROM feedback").await;
    assert_eq!(ratings, vec![vec!["0".to_owned()]]);
}

#[tokio::test]
async fn feedback_and_satisfaction_are_validated_and_recorded() {
    let service = service();
    let done = ask_done(&service.app, json!({ "message": QUESTION })).await;
    let answer_id = done["answer_id"].as_str().unwrap();
    let conversation = done["conversation_id"].as_str().unwrap();

    let feedback = |body: Value| post_json("/v1/feedback", &body);
    let cases = [
        (
            json!({"answer_id": answer_id, "rating": "love"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_rating",
        ),
        (
            json!({"answer_id": "0123", "rating": "up"}),
            StatusCode::NOT_FOUND,
            "answer_not_found",
        ),
        (
            json!({"answer_id": "0".repeat(32), "rating": "up"}),
            StatusCode::NOT_FOUND,
            "answer_not_found",
        ),
        (
            json!({"answer_id": answer_id, "rating": "report", "comment": "x".repeat(501)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "comment_too_long",
        ),
        (
            json!({"answer_id": answer_id}),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
    ];
    for (body, status, code) in cases {
        let reply = call(&service.app, feedback(body.clone())).await;
        assert_eq!(reply.status, status, "{body}");
        assert_eq!(error_code(&reply), code, "{body}");
    }
    let up = call(
        &service.app,
        feedback(json!({"answer_id": answer_id, "rating": "up"})),
    )
    .await;
    assert_eq!(up.status, StatusCode::OK);
    assert_eq!(up.json()["status"], "recorded");
    assert_eq!(up.json()["message"], "Cảm ơn bạn đã góp ý!");
    let twice = call(
        &service.app,
        feedback(json!({"answer_id": answer_id, "rating": "up"})),
    )
    .await;
    assert_eq!(twice.json()["status"], "already_recorded");
    let report = json!({"answer_id": answer_id, "rating": "report", "comment": "  Thiếu điều kiện về năng lực hành vi  "});
    assert_eq!(
        call(&service.app, feedback(report)).await.status,
        StatusCode::OK
    );
    let rows = query_strings(
        &service.db,
        "SELECT rating, channel, coalesce(comment, 'NULL') FROM feedback ORDER BY id",
    )
    .await;
    assert_eq!(
        rows,
        vec![
            vec!["up".to_owned(), "web".to_owned(), "NULL".to_owned()],
            vec![
                "report".to_owned(),
                "web".to_owned(),
                "Thiếu điều kiện về năng lực hành vi".to_owned()
            ],
        ]
    );

    let satisfaction = |body: Value| post_json("/v1/satisfaction", &body);
    for score in [
        json!(0),
        json!(6),
        json!("5"),
        json!(4.5),
        json!(-1),
        json!(null),
    ] {
        let reply = call(
            &service.app,
            satisfaction(json!({"conversation_id": conversation, "score": score})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{score}");
        assert_eq!(error_code(&reply), "invalid_score");
    }
    for unknown in ["web-does-not-exist", "bad id!"] {
        let reply = call(
            &service.app,
            satisfaction(json!({"conversation_id": unknown, "score": 4})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{unknown}");
        assert_eq!(error_code(&reply), "conversation_not_found");
    }
    let rated = call(
        &service.app,
        satisfaction(json!({"conversation_id": conversation, "score": 4})),
    )
    .await;
    assert_eq!(rated.status, StatusCode::OK);
    assert_eq!(rated.json()["status"], "recorded");
    let again = call(
        &service.app,
        satisfaction(json!({"conversation_id": conversation, "score": 1})),
    )
    .await;
    assert_eq!(again.json()["status"], "already_recorded");
    let rows = query_strings(
        &service.db,
        "SELECT conversation_id, channel, score FROM satisfaction",
    )
    .await;
    assert_eq!(
        rows,
        vec![vec![
            conversation.to_owned(),
            "web".to_owned(),
            "4".to_owned()
        ]]
    );
}

#[tokio::test]
async fn cors_headers_go_to_listed_origins_only() {
    let service = service();
    let preflight = |origin: &str| {
        Request::options("/v1/chat")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = call(&service.app, preflight(EMBEDDING_SITE)).await;
    assert_eq!(allowed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some(EMBEDDING_SITE)
    );
    assert!(allowed
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    assert!(allowed
        .header("access-control-allow-headers")
        .unwrap()
        .contains("content-type"));
    assert!(allowed.header("vary").unwrap().contains("origin"));

    let other = call(&service.app, preflight("https://evil.example")).await;
    assert_eq!(other.header("access-control-allow-origin"), None);
    assert_eq!(other.header("access-control-allow-methods"), None);

    // Error replies carry the header too, so the widget can read their message.
    let refused = call(
        &service.app,
        Request::post("/v1/feedback")
            .header("origin", EMBEDDING_SITE)
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"answer_id": "x", "rating": "meh"}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.header("access-control-allow-origin"),
        Some(EMBEDDING_SITE)
    );

    // The widget reads cited articles from the API's own route.
    let article = |origin: &str| {
        Request::get("/v1/articles/52-2014-qh13.dieu-8")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    let shared = call(&service.app, article(EMBEDDING_SITE)).await;
    assert_eq!(shared.status, StatusCode::OK);
    assert_eq!(
        shared.header("access-control-allow-origin"),
        Some(EMBEDDING_SITE)
    );
    let not_shared = call(&service.app, article("https://evil.example")).await;
    assert_eq!(not_shared.status, StatusCode::OK);
    assert_eq!(not_shared.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn the_widget_script_and_the_demo_page_are_served() {
    let service = service();
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    let script = call(&service.app, get("/widget.js")).await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.header("cache-control").unwrap().contains("max-age"));
    assert!(String::from_utf8_lossy(&script.body).contains("attachShadow"));

    let demo = call(&service.app, get("/demo")).await;
    assert_eq!(demo.status, StatusCode::OK);
    assert!(demo
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let html = String::from_utf8(demo.body).unwrap();
    assert!(html.contains(r#"<script src="/widget.js" data-title="Hỏi Luật" async></script>"#));
    assert!(html.contains("Sở Tư pháp"));
}

// ---------------------------------------------------------------------------------------------
// The real browser

/// Serves `service` on a port of 127.0.0.1. Returns its base URL, its database, and the directory
/// that must live as long as it does.
async fn serve_on_a_port(service: Service) -> (String, Db, tempfile::TempDir) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    let Service { app, db, _dir } = service;
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (site, db, _dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_answers_in_headless_chromium() {
    // Before the slow set-up: a missing browser fails at once, with the fix.
    require_chromium();
    let (site, db, _dir) = serve_on_a_port(service()).await;

    let browser = Browser::start().await.with_prelude(PRELUDE);
    browser.goto(&format!("{site}/demo")).await;
    let launcher = browser.widget_element("[data-testid=launcher]").await;
    // The host page styles every button lime with a dashed border: the shadow root keeps it out.
    let background = browser
        .execute(
            "return getComputedStyle(arguments[0]).backgroundColor",
            json!([launcher.json()]),
        )
        .await;
    assert_eq!(background, "rgb(155, 28, 28)");

    // Open: the panel shows and the question box has the focus.
    browser.click(&launcher).await;
    browser
        .wait_until(
            "panel open",
            "return !widget().querySelector('[data-testid=panel]').hidden",
        )
        .await;
    assert_eq!(browser.focused_testid().await, "input");

    // Record every length the streaming draft shows, to see the answer appear piece by piece.
    browser
        .execute(
            "window.__draftLengths = new Set();
             const root = widget();
             new MutationObserver(() => {
               const draft = root.querySelector('[data-testid=draft]');
               if (draft && !draft.hidden) window.__draftLengths.add(draft.textContent.length);
             }).observe(root, { subtree: true, childList: true, characterData: true });",
            json!([]),
        )
        .await;
    let input = browser.widget_element("[data-testid=input]").await;
    browser.type_text(&input, QUESTION).await;
    let typed = browser
        .execute("return arguments[0].value", json!([input.json()]))
        .await;
    assert_eq!(typed, QUESTION, "typing Vietnamese through WebDriver");
    browser
        .click(&browser.widget_element("[data-testid=send]").await)
        .await;

    let answer_text = browser
        .wait_for(
            "the streamed answer",
            Duration::from_secs(180),
            "const a = [...widget().querySelectorAll('[data-testid=answer]')].pop();
             return a ? a.querySelector('[data-testid=answer-text]').textContent : null",
        )
        .await;
    let answer_text = answer_text.as_str().unwrap();
    assert!(answer_text.contains(MARRIAGE_AGE), "{answer_text}");
    // Nor does the page's `div { letter-spacing }` or `html { font-size: 10px }` reach inside.
    let text_style = browser
        .execute(
            "const t = [...widget().querySelectorAll('[data-testid=answer-text]')].pop();
             const s = getComputedStyle(t); return [s.letterSpacing, s.fontSize]",
            json!([]),
        )
        .await;
    assert_eq!(text_style, json!(["normal", "16px"]));
    save_screenshot(&browser, "widget-desktop.png").await;
    let lengths = browser
        .execute("return window.__draftLengths.size", json!([]))
        .await;
    assert!(
        lengths.as_u64().unwrap() >= 3,
        "the draft showed {lengths} different lengths: the answer did not stream visibly"
    );

    // The citation names Điều 8; opening it shows the article with its validity.
    let citations = browser
        .execute(
            "return [...widget().querySelectorAll('[data-testid=citation]')].map(b => b.textContent)",
            json!([]),
        )
        .await;
    let position = citations
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c.as_str().unwrap().contains("Điều 8"))
        .unwrap_or_else(|| panic!("no citation of Điều 8 in {citations}"));
    let citation = browser
        .execute(
            "return widget().querySelectorAll('[data-testid=citation]')[arguments[0]]",
            json!([position]),
        )
        .await;
    browser.click(&Element::from_json(&citation)).await;
    let article_text = browser
        .wait_for(
            "the article text",
            Duration::from_secs(30),
            "const t = widget().querySelector('[data-testid=article-text]');
             return t && !t.hasAttribute('aria-busy') ? t.textContent : null",
        )
        .await;
    assert!(
        article_text.as_str().unwrap().contains(MARRIAGE_AGE),
        "{article_text}"
    );
    let validity = browser
        .execute(
            "return widget().querySelector('[data-testid=article-validity]').textContent",
            json!([]),
        )
        .await;
    assert!(
        validity.as_str().unwrap().contains("Còn hiệu lực"),
        "{validity}"
    );
    assert_eq!(browser.focused_testid().await, "article-close");
    save_screenshot(&browser, "widget-article.png").await;
    // Esc closes the article, not the panel, and gives the focus back to the citation.
    browser.press_escape_on_focused().await;
    browser
        .wait_until(
            "article closed",
            "return !widget().querySelector('[data-testid=article-view]')",
        )
        .await;
    assert_eq!(browser.focused_testid().await, "citation");

    // 👍 is confirmed on screen and recorded.
    browser
        .click(&browser.widget_element("[data-testid=feedback-up]").await)
        .await;
    let confirmation = browser
        .wait_for(
            "feedback confirmation",
            Duration::from_secs(20),
            "const s = widget().querySelector('[data-testid=feedback-status]'); return s ? s.textContent : null",
        )
        .await;
    assert_eq!(confirmation, "Cảm ơn bạn đã góp ý!");
    let feedback = query_strings(&db, "SELECT rating, channel FROM feedback").await;
    assert_eq!(feedback, vec![vec!["up".to_owned(), "web".to_owned()]]);

    // Closing after an answer asks how satisfied the visitor is first.
    browser
        .click(&browser.widget_element("[data-testid=close]").await)
        .await;
    let satisfied = browser.widget_element("[data-testid=satisfaction-5]").await;
    assert_eq!(browser.focused_testid().await, "satisfaction-1");
    browser.click(&satisfied).await;
    browser
        .wait_for(
            "satisfaction thanks",
            Duration::from_secs(20),
            "const s = widget().querySelector('[data-testid=satisfaction-status]'); return s ? s.textContent : null",
        )
        .await;
    let conversation = browser
        .execute(
            "return sessionStorage.getItem('hoiluat.conversation_id')",
            json!([]),
        )
        .await;
    let rows = query_strings(
        &db,
        "SELECT conversation_id, channel, score FROM satisfaction",
    )
    .await;
    assert_eq!(
        rows,
        vec![vec![
            conversation.as_str().unwrap().to_owned(),
            "web".to_owned(),
            "5".to_owned()
        ]]
    );
    let messages = query_strings(&db, "SELECT channel, status FROM messages").await;
    assert_eq!(
        messages,
        vec![vec!["web".to_owned(), "answered".to_owned()]]
    );

    // Esc closes the panel and the focus goes back to the launcher.
    browser.press_escape_on_focused().await;
    browser
        .wait_until(
            "panel closed",
            "return widget().querySelector('[data-testid=panel]').hidden",
        )
        .await;
    assert_eq!(browser.focused_testid().await, "launcher");

    // A phone: the panel fills the screen.
    browser.set_window(390, 844).await;
    let width = browser.execute("return window.innerWidth", json!([])).await;
    assert!(
        width.as_u64().unwrap() <= 480,
        "viewport {width} is not phone-sized"
    );
    browser
        .click(&browser.widget_element("[data-testid=launcher]").await)
        .await;
    let fills = browser
        .wait_for(
            "full-screen panel",
            Duration::from_secs(10),
            "const r = widget().querySelector('[data-testid=panel]').getBoundingClientRect();
             const fills = Math.abs(r.left) < 1 && Math.abs(r.width - window.innerWidth) < 1
               && Math.abs(r.height - window.innerHeight) < 1;
             return fills ? [r.width, r.height] : null",
        )
        .await;
    let path = save_screenshot(&browser, "widget-phone.png").await;
    eprintln!("phone panel {fills}, screenshot in {}", path.display());

    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_keeps_its_transcript_shows_reviewed_answers_and_retries_after_network_loss() {
    require_chromium();
    let (site, db, _dir) = serve_on_a_port(service()).await;
    let browser = Browser::start().await.with_prelude(PRELUDE);
    browser.goto(&format!("{site}/demo")).await;
    browser
        .click(&browser.widget_element("[data-testid=launcher]").await)
        .await;
    // Every text the draft shows, to see the visible "đang trả lời…" state.
    browser
        .execute(
            "window.__draftTexts = [];
             const root = widget();
             new MutationObserver(() => {
               const draft = root.querySelector('[data-testid=draft]');
               if (draft && !draft.hidden) window.__draftTexts.push(draft.textContent);
             }).observe(root, { subtree: true, childList: true, characterData: true });",
            json!([]),
        )
        .await;
    let input = browser.widget_element("[data-testid=input]").await;
    browser.type_text(&input, QUESTION).await;
    browser
        .click(&browser.widget_element("[data-testid=send]").await)
        .await;
    let last_answer = "const a = [...widget().querySelectorAll('[data-testid=answer]')];
         return a.length >= arguments[0] ? a[a.length - 1].querySelector('[data-testid=answer-text]').textContent : null";
    let answer = browser
        .wait_for(
            "the answer",
            Duration::from_secs(180),
            &last_answer.replace("arguments[0]", "1"),
        )
        .await;
    assert!(answer.as_str().unwrap().contains(MARRIAGE_AGE), "{answer}");
    let drafts = browser
        .execute("return window.__draftTexts", json!([]))
        .await;
    assert!(
        drafts
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().contains("đang trả lời")),
        "the draft never said it was answering: {drafts}"
    );

    // A reload in the same tab shows the same conversation again, citations and feedback included.
    browser.goto(&format!("{site}/demo")).await;
    browser
        .click(&browser.widget_element("[data-testid=launcher]").await)
        .await;
    let restored = browser
        .wait_for(
            "the restored answer",
            Duration::from_secs(30),
            &last_answer.replace("arguments[0]", "1"),
        )
        .await;
    assert_eq!(restored, answer, "the restored answer is the one given");
    let transcript = browser
        .execute(
            "return [widget().querySelectorAll('[data-testid=user-message]').length,
                     widget().querySelectorAll('[data-testid=citation]').length > 0,
                     widget().querySelectorAll('[data-testid=feedback-up]').length]",
            json!([]),
        )
        .await;
    assert_eq!(transcript, json!([1, true, 1]));
    save_screenshot(&browser, "widget-restored.png").await;

    // Staff edit the answer while the page is open: the widget shows the reviewed answer.
    let answer_row = db
        .scalar_i64(
            "SELECT id FROM answers ORDER BY id DESC LIMIT 1",
            Vec::new(),
        )
        .await
        .unwrap();
    let staff = db
        .create_staff(
            "lan".into(),
            "Nguyễn Thị Lan".into(),
            "x".into(),
            hoiluat::db::Role::Reviewer,
        )
        .await
        .unwrap();
    let reviewed_text =
        "Theo Điều 8 Luật Hôn nhân và gia đình, nữ từ đủ 18 tuổi được kết hôn (cán bộ bổ sung).";
    let outcome = db
        .insert_review(NewReview {
            answer_id: answer_row,
            staff_id: staff,
            decision: hoiluat::db::Decision::Edited,
            text: Some(reviewed_text.into()),
            citations: vec![hoiluat::db::StoredCitation {
                article_id: "52-2014-qh13.dieu-8".into(),
                reference: "Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13".into(),
                validity: "Còn hiệu lực".into(),
            }],
            note: None,
            question: QUESTION.into(),
            context: None,
            // As the console stores a web review: the widget shows it, nothing is sent.
            delivery: Some((hoiluat::db::ReviewDelivery::NotApplicable, None)),
        })
        .await
        .unwrap();
    assert!(matches!(outcome, ReviewOutcome::Stored { .. }));
    // The widget polls every few seconds and whenever the page becomes visible again.
    browser
        .execute(
            "document.dispatchEvent(new Event('visibilitychange'))",
            json!([]),
        )
        .await;
    let shown = browser
        .wait_for(
            "the reviewed answer",
            Duration::from_secs(30),
            "const r = widget().querySelector('[data-testid=reviewed-text]'); return r ? r.textContent : null",
        )
        .await;
    assert_eq!(shown, reviewed_text);
    save_screenshot(&browser, "widget-reviewed.png").await;

    // The network drops: the question gets a retry button, which answers once it is back.
    let offline = |offline: bool| json!({"network_conditions": {"offline": offline, "latency": 0, "download_throughput": 100_000_000, "upload_throughput": 100_000_000}});
    browser
        .command(
            reqwest::Method::POST,
            "/chromium/network_conditions",
            offline(true),
        )
        .await;
    let input = browser.widget_element("[data-testid=input]").await;
    browser.type_text(&input, "Đăng ký kết hôn ở đâu?").await;
    browser
        .click(&browser.widget_element("[data-testid=send]").await)
        .await;
    let retry = browser.widget_element("[data-testid=retry]").await;
    let error = browser
        .execute(
            "return widget().querySelector('[data-testid=error] .bubble').textContent",
            json!([]),
        )
        .await;
    assert!(
        error.as_str().unwrap().contains("Không kết nối được"),
        "{error}"
    );
    save_screenshot(&browser, "widget-offline.png").await;
    browser
        .command(
            reqwest::Method::POST,
            "/chromium/network_conditions",
            offline(false),
        )
        .await;
    browser.click(&retry).await;
    let second = browser
        .wait_for(
            "the retried answer",
            Duration::from_secs(180),
            &last_answer.replace("arguments[0]", "2"),
        )
        .await;
    assert!(second.as_str().unwrap().contains("kết hôn"), "{second}");
    let left = browser
        .execute(
            "return widget().querySelectorAll('[data-testid=error]').length",
            json!([]),
        )
        .await;
    assert_eq!(left, 0, "the error is gone once retried");
    let messages = query_strings(&db, "SELECT count(*) FROM messages").await;
    assert_eq!(
        messages,
        vec![vec!["2".to_owned()]],
        "the retry sent the question once"
    );
    browser.quit().await;
}

// ---------------------------------------------------------------------------------------------
// The widget in the page (the WebDriver client itself is `common::webdriver`)

/// Defines `widget()` (the widget's shadow root) for the scripts run in the page.
const PRELUDE: &str =
    "const widget = () => document.getElementById('hoiluat-widget').shadowRoot;\n";

/// What the test reads of the widget, which lives in a shadow root `find` does not see into.
trait WidgetPage {
    /// The element in the widget's shadow root matching `selector` (the last one), once it
    /// exists.
    async fn widget_element(&self, selector: &str) -> Element;
    /// The `data-testid` of the focused element inside the widget.
    async fn focused_testid(&self) -> String;
}

impl WidgetPage for Browser {
    async fn widget_element(&self, selector: &str) -> Element {
        let script = format!(
            "const root = document.getElementById('hoiluat-widget');
             if (!root || !root.shadowRoot) return null;
             const all = root.shadowRoot.querySelectorAll({});
             return all.length ? all[all.length - 1] : null",
            serde_json::to_string(selector).unwrap()
        );
        self.element_by_script(selector, &script).await
    }

    async fn focused_testid(&self) -> String {
        let value = self
            .execute(
                "const a = widget().activeElement; return a ? (a.dataset.testid || a.tagName) : 'none'",
                json!([]),
            )
            .await;
        value.as_str().unwrap().to_owned()
    }
}

#[test]
fn base64_decodes() {
    assert_eq!(base64_decode("aMOgaQ=="), "hài".as_bytes());
    assert_eq!(base64_decode("TWFu"), b"Man");
    assert_eq!(base64_decode("TWE="), b"Ma");
}
