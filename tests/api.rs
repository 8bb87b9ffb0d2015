//! End to end through the HTTP router (no port): the real model, the real embedded Qdrant engine,
//! a small real corpus. Covers the acceptance questions and every error path of the API.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hoiluat::config::ServerConfig;
use hoiluat::http::{router, AppState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

fn app() -> axum::Router {
    let fixture = common::fixture();
    router(AppState::ready(
        &fixture.config.server,
        fixture.started.assistant.clone(),
    ))
}

async fn send(app: axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("non-JSON body: {bytes:?}"));
    (status, body)
}

fn post_json(body: impl Into<Body>) -> Request<Body> {
    Request::post("/v1/ask")
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

async fn ask(question: &str, conversation_id: Option<&str>) -> Value {
    let mut body = json!({ "question": question });
    if let Some(id) = conversation_id {
        body["conversation_id"] = json!(id);
    }
    let (status, body) = send(app(), post_json(body.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn cited_articles(answer: &Value) -> Vec<String> {
    answer["quotes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["citation"]["article_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn marriage_age_is_answered_by_quoting_article_8() {
    let answer = ask("Nam nữ bao nhiêu tuổi thì được kết hôn?", None).await;
    assert_eq!(answer["status"], "answered");
    assert_eq!(cited_articles(&answer)[0], "52-2014-qh13.dieu-8");
    let citation = &answer["quotes"][0]["citation"];
    assert_eq!(
        citation["reference"],
        "Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13"
    );
    assert_eq!(citation["effective_date"], "2015-01-01");
    assert_eq!(citation["validity"], "con_hieu_luc");
    assert_eq!(citation["url"], "/v1/articles/52-2014-qh13.dieu-8");
    let text = answer["answer"].as_str().unwrap();
    assert!(
        text.contains("Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên"),
        "{text}"
    );
    assert!(text.contains("không phải là tư vấn pháp lý"), "{text}");
    // The confidence is the calibrated probability that the first article answers; below
    // `retrieval.review_below` the answer is flagged for staff, above it not.
    let confidence = answer["confidence"].as_f64().unwrap();
    let review_below = f64::from(hoiluat::config::Config::default().retrieval.review_below);
    assert_eq!(
        answer["needs_review"],
        confidence < review_below,
        "{answer}"
    );
}

#[tokio::test]
async fn question_without_diacritics_cites_marriage_registration() {
    let answer = ask("thu tuc dang ky ket hon can giay to gi", None).await;
    assert_eq!(answer["status"], "answered");
    let cited = cited_articles(&answer);
    assert_eq!(cited[0], "60-2014-qh13.dieu-18", "{cited:?}");
}

/// What `ask` embeds for a question typed without diacritics has them restored (the lexical
/// channel matches without them); a query encoder is trained on exactly this text
/// (`examples/encoder_data.rs`), and a question `ask` refuses is refused here too.
#[test]
fn the_embedded_text_of_a_question_without_diacritics_has_them_restored() {
    let assistant = &common::fixture().started.assistant;
    let embedded = assistant
        .embedded_text("thu tuc dang ky ket hon can giay to gi")
        .unwrap();
    assert!(embedded.contains("đăng ký kết hôn"), "{embedded}");
    assert!(assistant.embedded_text("   ").is_err());
    assert!(assistant.embedded_text(&"luật ".repeat(2000)).is_err());
}

#[tokio::test]
async fn weather_is_declined_politely() {
    let answer = ask("Mai trời có mưa không?", None).await;
    assert_eq!(answer["status"], "declined");
    assert_eq!(answer["decline_reason"], "thoi_tiet");
    assert!(answer["quotes"].as_array().unwrap().is_empty());
    assert!(answer["answer"]
        .as_str()
        .unwrap()
        .contains("chỉ trả lời các câu hỏi về pháp luật"));
}

#[tokio::test]
async fn a_question_that_is_not_law_is_declined_by_meaning_and_flagged_for_staff() {
    // No pattern of prompts/out_of_scope.toml names it: the guard (src/answer/guard.rs) judges
    // the question's embedding not to be about law.
    let answer = ask("Ai là tổng thống Mỹ hiện nay?", None).await;
    assert_eq!(answer["status"], "declined", "{answer}");
    assert_eq!(answer["decline_reason"], "ngoai_pham_vi");
    assert_eq!(answer["needs_review"], true);
    assert!(answer["quotes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn follow_up_uses_the_previous_turn() {
    let first = ask(
        "Thủ tục đăng ký kết hôn như thế nào?",
        Some("test-follow-up"),
    )
    .await;
    assert_eq!(first["conversation_id"], "test-follow-up");
    assert_eq!(first["status"], "answered");
    let follow_up = ask("Nộp hồ sơ ở đâu?", Some("test-follow-up")).await;
    assert_eq!(follow_up["status"], "answered", "{follow_up}");
    // With the conversation, "where do I file" is about marriage registration.
    let headings: Vec<&str> = follow_up["quotes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["citation"]["heading"].as_str().unwrap())
        .collect();
    assert!(
        headings.iter().any(|h| h.contains("kết hôn")),
        "{headings:?}"
    );
    // Alone, the same words are about civil-status filing in general.
    let alone = ask("Nộp hồ sơ ở đâu?", None).await;
    assert_ne!(cited_articles(&alone), cited_articles(&follow_up));
}

#[tokio::test]
async fn provincial_plan_is_answerable() {
    let answer = ask("Kế hoạch chuyển đổi số phổ biến giáo dục pháp luật của tỉnh Quảng Ngãi có những chỉ tiêu nào?", None).await;
    assert_eq!(answer["status"], "answered");
    assert_eq!(
        answer["quotes"][0]["citation"]["so_hieu"], "137/KH-UBND",
        "{answer}"
    );
}

#[tokio::test]
async fn article_endpoint_serves_full_text_and_metadata() {
    let (status, body) = send(
        app(),
        Request::get("/v1/articles/52-2014-qh13.dieu-8")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["heading"], "Điều 8. Điều kiện kết hôn");
    assert_eq!(body["document"]["so_hieu"], "52/2014/QH13");
    assert_eq!(body["document"]["validity_label"], "Còn hiệu lực");
    assert_eq!(body["clauses"].as_array().unwrap().len(), 2);
    assert_eq!(
        body["source_citation"],
        "Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13"
    );

    for id in [
        "52-2014-qh13.dieu-9999",
        "..%2F..%2Fetc",
        "ĐIỀU-8",
        &"a".repeat(500),
    ] {
        let (status, body) = send(
            app(),
            Request::get(format!("/v1/articles/{id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(body["error"]["code"], "article_not_found");
    }
}

/// Every way a request can be wrong gets a 4xx with a stable code and a Vietnamese message.
#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let long_question = "hỏi ".repeat(400);
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            Request::post("/v1/ask")
                .header("content-type", "text/plain")
                .body(Body::from(r#"{"question":"a"}"#))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_content_type",
        ),
        (
            Request::post("/v1/ask")
                .body(Body::from(r#"{"question":"a"}"#))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_content_type",
        ),
        (
            post_json("{not json"),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            post_json(r#"{"q":"thiếu trường question"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            post_json(r#"{"question":"a","extra":1}"#),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            post_json(r#"{"question":42}"#),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            post_json(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}']),
            StatusCode::BAD_REQUEST,
            "invalid_utf8",
        ),
        (
            post_json(r#"{"question":""}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_question",
        ),
        (
            post_json(r#"{"question":"   \n\t "}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_question",
        ),
        (
            post_json(json!({ "question": long_question }).to_string()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "question_too_long",
        ),
        (
            // A Unicode noncharacter: no text holds one (stray control characters are removed).
            post_json(r#"{"question":"kết hôn\uffff"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_characters",
        ),
        (
            post_json(r#"{"question":"kết hôn","conversation_id":"../../etc/passwd"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_conversation_id",
        ),
        (
            post_json(format!(r#"{{"question":"{}"}}"#, "a".repeat(20_000))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            Request::get("/v1/ask").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Request::get("/khong-co").body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (request, expected_status, expected_code) in cases {
        let description = format!("{} {}", request.method(), request.uri());
        let (status, body) = send(app(), request).await;
        assert_eq!(status, expected_status, "{description}: {body}");
        assert_eq!(
            body["error"]["code"], expected_code,
            "{description}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.is_ascii(),
            "Vietnamese message expected: {message}"
        );
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let (status, body) = send(app(), Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, _) = send(app(), Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn before_start_up_finishes_the_api_says_not_ready() {
    let starting = router(AppState::new(&ServerConfig::default()));
    let response = starting
        .clone()
        .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    // The probe says how far the index is, beside the API's usual error.
    let (_, body) = send(
        starting.clone(),
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(body["error"]["code"], "not_ready");
    assert!(body["index"]["total_chunks"].is_number(), "{body}");
    let (status, body) = send(starting.clone(), post_json(r#"{"question":"kết hôn"}"#)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "not_ready");
    assert!(body.get("index").is_none(), "{body}");
    let (status, _) = send(
        starting,
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// A question that outlives the time limit gets 504, and keeps its slot until its work ends, so
/// the next question meets a full house (503 busy, Retry-After) instead of piling up CPU work.
#[tokio::test]
async fn timeout_and_busy() {
    let fixture = common::fixture();
    let server = ServerConfig {
        max_concurrent_asks: 1,
        queue_wait_ms: 0,
        request_timeout_secs: 0,
        ..ServerConfig::default()
    };
    let app = router(AppState::ready(&server, fixture.started.assistant.clone()));
    let question = json!({ "question": "Người lao động được nghỉ hằng năm bao nhiêu ngày theo Bộ luật Lao động?" }).to_string();
    let (status, body) = send(app.clone(), post_json(question.clone())).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(body["error"]["code"], "timeout");
    let response = app.oneshot(post_json(question)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "2");
}

/// Odd but valid input is answered or declined, never an error.
#[tokio::test]
async fn odd_questions_never_fail() {
    for question in [
        "???",
        "🙂🙂🙂 kết hôn 🙂",
        "ket hon\u{200b}\u{200b} bao nhieu tuoi",
        "\u{202e}nôh tếk",
        // Pasted from documents and other apps: stray control characters, zero-width and odd
        // spaces are removed or replaced, not refused (two real ALQAC questions start with U+0008).
        "\u{8}Nam nữ bao nhiêu tuổi thì được kết hôn?",
        "kết hôn\u{0}\u{7}",
        "Thủ\u{a0}tục\u{3000}đăng ký\u{85}kết hôn\u{feff}?\u{1b}[31m",
        "Điều 8",
        "kết hôn ".repeat(120).as_str(),
        "Wie alt muss man sein, um zu heiraten?",
        "結婚できる年齢は何歳ですか",
    ] {
        let answer = ask(question, None).await;
        let status = answer["status"].as_str().unwrap();
        assert!(
            status == "answered" || status == "declined",
            "{question:?}: {answer}"
        );
    }
}

/// `POST /v1/ask` is a channel like the others: a staff-approved curated answer comes first, and
/// every answer is recorded with its flags, so a declined API question reaches the staff queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curated_answers_come_first_and_answers_are_recorded_with_their_flags() {
    use hoiluat::channels::dispatch::Dispatcher;
    use hoiluat::config::ChannelsConfig;
    use hoiluat::db::Db;
    use std::sync::Arc;

    let fixture = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    common::add_curated_marriage_age(&db).await;
    let curated_text = common::CURATED_MARRIAGE_AGE;
    let channels = ChannelsConfig::default();
    let assistant = common::own_assistant();
    assistant.set_curated_source(Arc::new(db.clone()), channels.curated_similarity);
    let dispatcher = Dispatcher::start(
        db.clone(),
        hoiluat::ready::Ready::new(),
        Vec::new(),
        &channels,
    );
    let app = router(
        AppState::ready(&fixture.config.server, assistant).with_answer_log(Arc::new(dispatcher)),
    );

    let ask = |question: &str| post_json(json!({ "question": question }).to_string());
    let (status, curated) = send(app.clone(), ask("tuoi ket hon cua nam va nu la bao nhieu")).await;
    assert_eq!(status, StatusCode::OK, "{curated}");
    assert!(
        curated["answer"]
            .as_str()
            .unwrap()
            .starts_with(curated_text),
        "{curated}"
    );
    assert_eq!(cited_articles(&curated), ["52-2014-qh13.dieu-8"]);
    let (_, declined) = send(app, ask("Mai trời có mưa không?")).await;
    assert_eq!(declined["status"], "declined");

    let count = |sql: &'static str| db.scalar_i64(sql, Vec::new());
    assert_eq!(
        count("SELECT count(*) FROM messages WHERE channel = 'api' AND status = 'answered'")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM flags f JOIN answers a ON a.id = f.answer_id
             JOIN messages m ON m.id = a.message_id
             WHERE m.channel = 'api' AND f.reason = 'declined'"
        )
        .await
        .unwrap(),
        1,
        "the declined API question is in the staff queue"
    );
    assert_eq!(
        count("SELECT count(*) FROM answers WHERE text LIKE '%cán bộ đã kiểm tra%' AND citations LIKE '%dieu-8%'")
            .await
            .unwrap(),
        1
    );
}

/// An evaluation asks every question of a set: a stray control character is removed as `ask`
/// removes it, and a question `ask` refuses is recorded as failed while the run goes on.
#[test]
fn an_evaluation_records_a_failed_question_and_goes_on() {
    let fixture = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set.jsonl");
    let line = |id: &str, question: &str| {
        json!({"id": id, "kind": "k", "question": question, "expect": "answer",
               "gold": [{"so_hieu": "52/2014/QH13", "dieu": "8"}]})
        .to_string()
    };
    std::fs::write(
        &set,
        [
            line("backspace", "\u{8}Nam nữ bao nhiêu tuổi thì được kết hôn?"),
            line("unusable", "kết hôn\u{ffff}"),
            line("plain", "Thủ tục đăng ký kết hôn cần giấy tờ gì?"),
        ]
        .join("\n"),
    )
    .unwrap();
    let options = hoiluat::eval::EvalOptions {
        sets: vec![set],
        modes: vec![hoiluat::answer::RetrievalMode::Hybrid],
        ..Default::default()
    };
    let report = hoiluat::eval::run(&fixture.started.assistant, &options).expect("the run goes on");
    let set = &report.sets[0];
    let evaluated: Vec<&str> = set.results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(evaluated, ["backspace", "plain"]);
    assert_eq!(set.failed.len(), 1, "{:?}", set.failed);
    assert_eq!(set.failed[0].id, "unusable");
    assert!(
        set.failed[0].error.contains("characters"),
        "{:?}",
        set.failed
    );
}
