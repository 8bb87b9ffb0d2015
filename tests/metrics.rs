//! `/metrics` on the real service: behind its token on the service's address, or on an address
//! of its own; and the series an operator alerts on move when the things they count happen.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use hoiluat::config::MetricsConfig;
use hoiluat::db::Db;
use hoiluat::http::{router, AppState};
use http_body_util::BodyExt;
use tower::ServiceExt;

const TOKEN: &str = "metrics-token-0123456789abcdefghij";

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The value of the series whose name and labels contain every one of `parts`.
fn value(exposition: &str, name: &str, parts: &[&str]) -> Option<f64> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            let series = line.rsplit_once(' ').map_or("", |(s, _)| s);
            (series == name || series.starts_with(&format!("{name}{{")))
                && parts.iter().all(|p| series.contains(p))
        })
        .map(|line| line.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
        .next()
}

#[tokio::test]
async fn metrics_sit_behind_the_token_and_count_requests_answers_ingest_and_rejections() {
    // Installed before the fixture's start-up, as `serve` does, so its ingest is recorded.
    hoiluat::metrics::install();
    let fixture = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let state = AppState::ready(&fixture.config.server, fixture.started.assistant.clone());
    let mut channels_config = fixture.config.channels.clone();
    channels_config.zalo_bot.enabled = true;
    channels_config.zalo_bot.token = "123:bot-token".into();
    channels_config.zalo_bot.secret_token = "the-webhook-secret".into();
    let channels = hoiluat::channels::setup::start(&channels_config, db, state.ready_handle())
        .await
        .unwrap();
    let config = MetricsConfig {
        bind: String::new(),
        token: TOKEN.into(),
    };
    let app = hoiluat::metrics::attach(router(state).merge(channels.router), &config)
        .await
        .unwrap();

    let ask = |question: &str| {
        Request::post("/v1/ask")
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::json!({ "question": question }).to_string(),
            ))
            .unwrap()
    };
    assert_eq!(
        call(&app, ask("Nam nữ bao nhiêu tuổi thì được kết hôn?"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, ask("Nam nữ bao nhiêu tuổi thì được kết hôn?"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, ask("Ngày mai trời có mưa không?")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, ask("")).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let unknown = Request::get("/khong-co").body(Body::empty()).unwrap();
    assert_eq!(call(&app, unknown).await.0, StatusCode::NOT_FOUND);
    let forged = Request::post("/webhooks/zalo-bot")
        .header("x-bot-api-secret-token", "not-the-secret")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(call(&app, forged).await.0, StatusCode::UNAUTHORIZED);

    // No token, or a wrong one: refused.
    let (status, _) = call(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let wrong = Request::get("/metrics")
        .header(
            "authorization",
            format!("Bearer {}x", &TOKEN[..TOKEN.len() - 1]),
        )
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&app, wrong).await.0, StatusCode::UNAUTHORIZED);

    let scrape = Request::get("/metrics")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (status, text) = call(&app, scrape).await;
    assert_eq!(status, StatusCode::OK);
    let get = |name: &str, parts: &[&str]| {
        value(&text, name, parts).unwrap_or_else(|| panic!("no {name} {parts:?} in\n{text}"))
    };
    let asks = ["route=\"/v1/ask\"", "method=\"POST\""];
    assert_eq!(
        get(
            "hoiluat_http_requests_total",
            &[asks[0], asks[1], "status=\"200\""]
        ),
        3.0
    );
    assert_eq!(
        get("hoiluat_http_requests_total", &[asks[0], "status=\"422\""]),
        1.0
    );
    // (The other test of this process may add its own unmatched request.)
    assert!(
        get(
            "hoiluat_http_requests_total",
            &["route=\"unmatched\"", "status=\"404\""]
        ) >= 1.0
    );
    assert_eq!(
        get("hoiluat_http_request_duration_seconds_count", &asks),
        4.0
    );
    // Answered twice (the second from the answer cache); flagged or not as the calibrated
    // confidence says, counted under one label or the other.
    let answered: f64 = ["flagged=\"false\"", "flagged=\"true\""]
        .iter()
        .filter_map(|flagged| {
            value(
                &text,
                "hoiluat_asks_total",
                &["outcome=\"answered\"", flagged],
            )
        })
        .sum();
    assert_eq!(answered, 2.0, "{text}");
    assert_eq!(
        get(
            "hoiluat_asks_total",
            &["outcome=\"declined\"", "reason=\"thoi_tiet\""]
        ),
        1.0
    );
    assert_eq!(
        get("hoiluat_answer_cache_lookups_total", &["result=\"hit\""]),
        1.0
    );
    assert!(get("hoiluat_answer_cache_lookups_total", &["result=\"miss\""]) >= 1.0);
    assert!(get("hoiluat_model_queue_wait_seconds_count", &[]) >= 1.0);
    assert_eq!(get("hoiluat_model_queue_depth", &[]), 0.0);
    assert_eq!(
        get(
            "hoiluat_webhook_rejections_total",
            &["channel=\"zalo_bot\"", "reason=\"invalid_secret_token\""]
        ),
        1.0
    );
    let chunks = get("hoiluat_index_chunks", &[]);
    assert!(chunks > 100.0, "{chunks}");
    assert_eq!(get("hoiluat_index_documents", &[]), 3.0);
    assert_eq!(
        get("hoiluat_ingest_chunks_done", &[]),
        get("hoiluat_ingest_chunks_total", &[])
    );
    assert!(get("hoiluat_db_calls_in_flight", &[]) >= 0.0);
    assert!(text.contains("# HELP hoiluat_asks_total"));
}

#[tokio::test]
async fn metrics_can_have_an_address_of_their_own() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = MetricsConfig {
        bind: format!("127.0.0.1:{port}"),
        token: String::new(),
    };
    let app = hoiluat::metrics::attach(Router::new(), &config)
        .await
        .unwrap();
    // Not on the service's own address then.
    let (status, _) = call(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
}
