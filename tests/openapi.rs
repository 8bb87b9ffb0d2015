//! The OpenAPI description against the real service (`http::router` plus the web channel, as
//! `hoiluat serve` builds it; the real model, index and a SQLite file): every documented
//! operation answers, each documented path refuses the methods it does not list, the documented
//! examples validate against their schemas and succeed on the service, and real answers (errors
//! included) validate against the documented response of their status.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use hoiluat::channels;
use hoiluat::db::Db;
use hoiluat::http::{openapi, router, AppState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Service {
    app: Router,
    _dir: tempfile::TempDir,
}

async fn service() -> Service {
    let fixture = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let state = AppState::ready(&fixture.config.server, fixture.started.assistant.clone());
    let channels = channels::setup::start(&fixture.config.channels, db, state.ready_handle())
        .await
        .unwrap();
    Service {
        app: router(state).merge(channels.router),
        _dir: dir,
    }
}

async fn send(
    app: &Router,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(path);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

/// The `data` of every event of an SSE body.
fn sse_events(body: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|data| serde_json::from_str(data.trim()).unwrap())
        .collect()
}

/// A validator for the schema at `pointer` of the document: the schema with the document's
/// `components` beside it, so its `#/components/schemas/…` references resolve.
struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
    pointer: String,
}

impl Validator {
    fn at(document: &Value, pointer: &str) -> Validator {
        let mut schema = document
            .pointer(pointer)
            .unwrap_or_else(|| panic!("no schema at {pointer}"))
            .clone();
        schema["components"] = document["components"].clone();
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        let location = "file:///schema.json";
        compiler.add_resource(location, schema).unwrap();
        let mut schemas = boon::Schemas::new();
        let index = compiler.compile(location, &mut schemas).unwrap();
        Validator {
            schemas,
            index,
            pointer: pointer.to_owned(),
        }
    }

    fn check(&self, instance: &Value) {
        if let Err(error) = self.schemas.validate(instance, self.index) {
            panic!("{instance} does not match {}:\n{error}", self.pointer);
        }
    }

    fn rejects(&self, instance: &Value) -> bool {
        self.schemas.validate(instance, self.index).is_err()
    }
}

/// `/paths/~1v1~1ask/post`: a JSON pointer to one operation.
fn operation_pointer(path: &str, method: &str) -> String {
    format!(
        "/paths/{}/{method}",
        path.replace('~', "~0").replace('/', "~1")
    )
}

fn response_validator(document: &Value, path: &str, method: &str, status: StatusCode) -> Validator {
    let operation = operation_pointer(path, method);
    let responses = &document.pointer(&operation).unwrap()["responses"];
    let status = status.as_u16().to_string();
    assert!(
        responses.get(&status).is_some(),
        "{method} {path} answered {status}, which the document does not list"
    );
    let media = responses[&status]["content"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .replace('~', "~0")
        .replace('/', "~1");
    Validator::at(
        document,
        &format!("{operation}/responses/{status}/content/{media}/schema"),
    )
}

/// Checks a real answer against the documented response of its status.
fn conforms(document: &Value, path: &str, method: &str, status: StatusCode, body: &[u8]) {
    let validator = response_validator(document, path, method, status);
    if path == "/v1/chat" && status == StatusCode::OK {
        let events = sse_events(body);
        assert!(
            events.last().is_some_and(|e| e["type"] == "done"),
            "{events:?}"
        );
        for event in events {
            validator.check(&event);
        }
    } else {
        validator.check(&serde_json::from_slice(body).unwrap());
    }
}

#[tokio::test]
async fn the_document_is_served_and_lists_exactly_the_methods_each_path_answers() {
    let service = service().await;
    let (status, body) = send(&service.app, Method::GET, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let document: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(&document, openapi::document());
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    let documented: Vec<&str> = paths.keys().map(String::as_str).collect();
    for path in [
        "/v1/ask",
        "/v1/articles/{id}",
        "/v1/chat",
        "/v1/chat/history",
        "/v1/feedback",
        "/v1/satisfaction",
        "/healthz",
        "/readyz",
    ] {
        assert!(documented.contains(&path), "{path} is not documented");
    }
    for (path, item) in paths {
        let concrete = path.replace("{id}", "52-2014-qh13.dieu-8");
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
        ] {
            let listed = item.get(method.as_str().to_ascii_lowercase()).is_some();
            let body = (method != Method::GET).then(|| json!({}));
            let (status, _) = send(&service.app, method.clone(), &concrete, body).await;
            assert_ne!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {path}: the route does not exist"
            );
            if listed {
                assert_ne!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is documented but refused"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} answers but is not documented"
                );
            }
        }
    }
}

#[tokio::test]
async fn documented_examples_validate_and_succeed_on_the_service() {
    let service = service().await;
    let document = openapi::document();
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let pointer = operation_pointer(path, method);
            let mut example = None;
            if let Some(media) = operation["requestBody"]["content"].get("application/json") {
                let example_body = media["example"].clone();
                assert!(
                    !example_body.is_null(),
                    "{method} {path} has no example request"
                );
                let validator = Validator::at(
                    document,
                    &format!("{pointer}/requestBody/content/application~1json/schema"),
                );
                validator.check(&example_body);
                // The schema is not a rubber stamp: an unknown field and a missing one fail.
                let mut extra = example_body.clone();
                extra["unexpected"] = json!(1);
                assert!(
                    validator.rejects(&extra),
                    "{method} {path} accepts unknown fields"
                );
                assert!(
                    validator.rejects(&json!({})),
                    "{method} {path} accepts an empty body"
                );
                example = Some(example_body);
            }
            let concrete = match operation["parameters"].as_array() {
                Some(parameters) => parameters.iter().fold(path.clone(), |path, p| {
                    let (name, value) =
                        (p["name"].as_str().unwrap(), p["example"].as_str().unwrap());
                    match p["in"].as_str() {
                        Some("query") => format!("{path}?{name}={value}"),
                        _ => path.replace(&format!("{{{name}}}"), value),
                    }
                }),
                None => path.clone(),
            };
            let method_ = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let (status, body) = send(&service.app, method_, &concrete, example).await;
            // The feedback and satisfaction examples name answers and conversations this fresh
            // database does not have: their documented 404 is the right answer.
            let expected = match path.as_str() {
                "/v1/feedback" | "/v1/satisfaction" => StatusCode::NOT_FOUND,
                _ => StatusCode::OK,
            };
            assert_eq!(
                status,
                expected,
                "{method} {path}: {}",
                String::from_utf8_lossy(&body)
            );
            conforms(document, path, method, status, &body);
        }
    }
    assert_eq!(operations, 9);
}

#[tokio::test]
async fn real_answers_and_errors_match_the_documented_responses() {
    let service = service().await;
    let document = openapi::document();
    let app = &service.app;

    // A web conversation: the stream, then feedback and satisfaction on its ids.
    let (status, body) = send(
        app,
        Method::POST,
        "/v1/chat",
        Some(json!({"message": "Nam nữ bao nhiêu tuổi thì được kết hôn?"})),
    )
    .await;
    conforms(document, "/v1/chat", "post", status, &body);
    let done = sse_events(&body).pop().unwrap();
    let (answer_id, conversation_id) = (done["answer_id"].clone(), done["conversation_id"].clone());
    let (status, body) = send(
        app,
        Method::POST,
        "/v1/feedback",
        Some(json!({"answer_id": answer_id, "rating": "up"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    conforms(document, "/v1/feedback", "post", status, &body);
    let (status, body) = send(
        app,
        Method::POST,
        "/v1/satisfaction",
        Some(json!({"conversation_id": conversation_id, "score": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    conforms(document, "/v1/satisfaction", "post", status, &body);

    let history_path = format!(
        "/v1/chat/history?conversation_id={}",
        conversation_id.as_str().unwrap()
    );
    let (status, body) = send(app, Method::GET, &history_path, None).await;
    assert_eq!(status, StatusCode::OK);
    conforms(document, "/v1/chat/history", "get", status, &body);
    let history: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        history["exchanges"][0]["answer"]["answer_id"], answer_id,
        "{history}"
    );

    // Errors: each must be listed for its operation and status, with its exact code.
    let long = "a".repeat(1001);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/v1/ask", json!({"question": ""}), "empty_question"),
        ("/v1/ask", json!({"question": long}), "question_too_long"),
        (
            "/v1/ask",
            json!({"question": "a\u{ffff}b"}),
            "invalid_characters",
        ),
        (
            "/v1/ask",
            json!({"question": "Kết hôn?", "conversation_id": "có dấu"}),
            "invalid_conversation_id",
        ),
        ("/v1/ask", json!({"q": 1}), "invalid_json"),
        ("/v1/chat", json!({"message": " "}), "empty_message"),
        ("/v1/chat", json!({"message": long}), "message_too_long"),
        (
            "/v1/chat",
            json!({"message": "Kết hôn?", "client_message_id": "x"}),
            "invalid_client_message_id",
        ),
        ("/v1/chat", json!({"text": "Kết hôn?"}), "invalid_json"),
        (
            "/v1/feedback",
            json!({"answer_id": answer_id, "rating": "meh"}),
            "invalid_rating",
        ),
        (
            "/v1/feedback",
            json!({"answer_id": "ff", "rating": "up"}),
            "answer_not_found",
        ),
        (
            "/v1/satisfaction",
            json!({"conversation_id": conversation_id, "score": 9}),
            "invalid_score",
        ),
        (
            "/v1/satisfaction",
            json!({"conversation_id": "web-none", "score": 3}),
            "conversation_not_found",
        ),
    ];
    for (path, body, code) in cases {
        let (status, answer) = send(app, Method::POST, path, Some(body)).await;
        let answer_json: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer_json["error"]["code"], code, "{path}: {answer_json}");
        conforms(document, path, "post", status, &answer);
    }
    // A retried chat message (same client id) is a documented conflict.
    let retried = json!({"message": "Kết hôn cần giấy tờ gì?", "client_message_id": "3f1c2a9e-8b4d-4c6e-9a7b-2d5e8f0a1b3c"});
    let (first, _) = send(app, Method::POST, "/v1/chat", Some(retried.clone())).await;
    assert_eq!(first, StatusCode::OK);
    let (status, body) = send(app, Method::POST, "/v1/chat", Some(retried)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    conforms(document, "/v1/chat", "post", status, &body);

    let (status, body) = send(app, Method::GET, "/v1/articles/khong-co.dieu-1", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    conforms(document, "/v1/articles/{id}", "get", status, &body);
    // Wrong content type: no JSON header at all.
    let request = Request::post("/v1/ask").body(Body::from("{}")).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    conforms(document, "/v1/ask", "post", status, &body);

    // An error documented for another status would not validate: the code enum is per status.
    let validator = response_validator(
        document,
        "/v1/ask",
        "post",
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(validator.rejects(&json!({"error": {"code": "busy", "message": "x"}})));
}

#[tokio::test]
async fn not_ready_is_documented_where_it_is_answered() {
    let fixture = common::fixture();
    let app = router(AppState::new(&fixture.config.server));
    let document = openapi::document();
    for (method, path, concrete) in [
        ("post", "/v1/ask", "/v1/ask"),
        (
            "get",
            "/v1/articles/{id}",
            "/v1/articles/52-2014-qh13.dieu-8",
        ),
        ("get", "/readyz", "/readyz"),
    ] {
        let body = (method == "post").then(|| json!({"question": "Kết hôn?"}));
        let method_ = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let (status, answer) = send(&app, method_, concrete, body).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        conforms(document, path, method, status, &answer);
    }
}

#[tokio::test]
async fn the_reference_page_is_served_without_scripts() {
    let service = service().await;
    let response = service
        .app
        .clone()
        .oneshot(Request::get("/docs").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let page = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(page.contains("Hỏi Luật API") && page.contains("/v1/articles/{id}"));
    assert!(page.contains("question_too_long") && page.contains("text/event-stream"));
    assert!(!page.to_ascii_lowercase().contains("<script"));
}
