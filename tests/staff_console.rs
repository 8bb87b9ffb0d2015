//! The staff console over HTTP (the router, no port): sign-in with argon2id, lock-out, sessions
//! and their expiry, CSRF on every form, the review flow delivering a corrected answer to the
//! citizen through a local fake Zalo Bot server, curated answers, statistics, CSV export, masking
//! of personal data, and the audit log. Real assistant, real SQLite file.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, Request, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use common::count;
use hoiluat::app::ReindexJob;
use hoiluat::channels::dispatch::{Dispatcher, Submitted};
use hoiluat::channels::zalo_bot::ZaloBotSender;
use hoiluat::channels::{ChannelKind, ChannelSender, Inbound, InboundKind};
use hoiluat::config::{ChannelsConfig, StaffConfig, ZaloBotConfig};
use hoiluat::corpus::edit::CorpusFiles;
use hoiluat::db::Db;
use hoiluat::db::Role;
use hoiluat::platform::wording::PlatformWording;
use hoiluat::platform::Platform;
use hoiluat::ready::Ready;
use hoiluat::staff::auth::hash_password;
use hoiluat::staff::{platform_routes, routes, PlatformState, StaffState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const PASSWORD: &str = "mật-khẩu-đủ-dài-2026";
const BOT_TOKEN: &str = "1234:zalo-bot-token";

/// Plays the Zalo Bot Platform's sendMessage.
#[derive(Clone, Default)]
struct FakeZaloBot {
    sent: Arc<Mutex<Vec<Value>>>,
    /// This many next sendMessage calls answer 503 after 300 ms (a slow, failing platform).
    slow_failures: Arc<std::sync::atomic::AtomicUsize>,
}

async fn fake_send(
    State(fake): State<FakeZaloBot>,
    Path(method): Path<String>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    use std::sync::atomic::Ordering;
    if method.ends_with("/sendMessage") {
        let failing = fake
            .slow_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"ok": false, "error_code": 503, "description": "busy"})),
            );
        }
        fake.sent.lock().unwrap().push(body);
    }
    (
        StatusCode::OK,
        Json(json!({"ok": true, "result": {"message_id": "m1", "date": 1718000000000i64}})),
    )
}

/// Waits for the fake to have received a message whose text contains `needle`.
async fn sent_containing(fake: &FakeZaloBot, needle: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = fake
            .sent
            .lock()
            .unwrap()
            .iter()
            .find(|m| m["text"].as_str().unwrap_or("").contains(needle))
            .cloned();
        if let Some(found) = found {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "nothing sent containing {needle:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Console {
    app: Router,
    db: Db,
    dispatcher: Dispatcher,
    fake: FakeZaloBot,
    _dir: tempfile::TempDir,
}

async fn console() -> Console {
    console_with(common::fixture().started.assistant.clone()).await
}

/// The console over `assistant` (the fixture's, or a test's own).
async fn console_with(assistant: Arc<hoiluat::answer::Assistant>) -> Console {
    let fixture = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let fake = FakeZaloBot::default();
    let fake_app = Router::new()
        .route("/{*method}", post(fake_send))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, fake_app).await.unwrap() });
    let bot_config = ZaloBotConfig {
        enabled: true,
        token: BOT_TOKEN.into(),
        secret_token: "secret-token-1".into(),
        api_base: format!("http://{address}"),
    };
    let sender: Arc<dyn ChannelSender> =
        Arc::new(ZaloBotSender::new(&bot_config, reqwest::Client::new()));
    let cell = Ready::with(assistant);
    let channels = ChannelsConfig {
        retry_base_ms: 10,
        ..ChannelsConfig::default()
    };
    let dispatcher = Dispatcher::start(db.clone(), cell.clone(), vec![sender], &channels);
    let config = StaffConfig {
        max_failed_logins: 3,
        ..StaffConfig::default()
    };
    let staff_state = StaffState {
        db: db.clone(),
        dispatcher: dispatcher.clone(),
        ready: cell.clone(),
        config,
        corpus: Arc::new(CorpusFiles::new(fixture.config.paths.corpus_dir.clone())),
        reindex: ReindexJob::new(fixture.config.clone()),
        passwords: hoiluat::staff::auth::PasswordChecker::new(),
    };
    // The platform's pages as `hoiluat serve` mounts them with `platform.enabled = false`.
    let platform = Platform::for_console(
        db.clone(),
        cell,
        PlatformWording::load(&fixture.config.paths.prompts_dir).unwrap(),
    );
    let app = routes(staff_state.clone()).merge(platform_routes(PlatformState {
        staff: staff_state,
        platform,
    }));
    for (username, role) in [("lan", Role::Reviewer), ("quantri", Role::Admin)] {
        db.create_staff(
            username.into(),
            format!("Cán bộ {username}"),
            hash_password(PASSWORD).unwrap(),
            role,
        )
        .await
        .unwrap();
    }
    Console {
        app,
        db,
        dispatcher,
        fake,
        _dir: dir,
    }
}

struct Reply {
    status: StatusCode,
    location: Option<String>,
    cookies: Vec<String>,
    body: String,
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        location,
        cookies,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn get(path: &str, session: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(token) = session {
        request = request.header(header::COOKIE, format!("hl_staff={token}"));
    }
    request.body(Body::empty()).unwrap()
}

fn form(path: &str, cookie: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", hoiluat::staff::html::url_encode(v)))
        .collect();
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(body.join("&")))
        .unwrap()
}

fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|c| {
        let (pair, _) = c.split_once(';')?;
        let (key, value) = pair.split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_owned())
    })
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[start..start + 64].to_owned()
}

async fn try_login(app: &Router, username: &str, password: &str) -> Reply {
    let page = send(app, get("/staff/login", None)).await;
    let login_token = cookie_value(&page.cookies, "hl_login").unwrap();
    assert_eq!(csrf_of(&page.body), login_token);
    send(
        app,
        form(
            "/staff/login",
            &format!("hl_login={login_token}"),
            &[
                ("csrf", &login_token),
                ("username", username),
                ("password", password),
            ],
        ),
    )
    .await
}

async fn login(app: &Router, username: &str) -> String {
    let reply = try_login(app, username, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let cookie = reply
        .cookies
        .iter()
        .find(|c| c.starts_with("hl_staff="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/staff"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    cookie_value(&reply.cookies, "hl_staff").unwrap()
}

async fn wait_answered(db: &Db, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status: String = db
            .call(move |c| {
                c.query_row("SELECT status FROM messages WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
            })
            .await
            .unwrap();
        if status != "received" {
            assert_eq!(status, "answered");
            return;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A citizen's question over Zalo Bot, answered and flagged; returns the answer's row id.
async fn flagged_question(console: &Console, external: &str, text: &str) -> i64 {
    let inbound = Inbound {
        channel: ChannelKind::ZaloBot,
        external_id: external.into(),
        user_id: format!("user-{external}"),
        chat_id: format!("chat-{external}"),
        kind: InboundKind::Text(text.into()),
    };
    let Submitted::Accepted(id) = console.dispatcher.submit(inbound).await.unwrap() else {
        panic!("duplicate");
    };
    wait_answered(&console.db, id).await;
    console
        .db
        .call(move |c| {
            c.query_row("SELECT id FROM answers WHERE message_id = ?1", [id], |r| {
                r.get(0)
            })
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_staff_route_needs_a_session() {
    let console = console().await;
    for path in [
        "/staff",
        "/staff/answers/1",
        "/staff/curated",
        "/staff/stats",
        "/staff/stats.csv",
    ] {
        let reply = send(&console.app, get(path, None)).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.location.as_deref(), Some("/staff/login"), "{path}");
        let forged = send(&console.app, get(path, Some(&"0".repeat(64)))).await;
        assert_eq!(
            forged.status,
            StatusCode::SEE_OTHER,
            "{path} with a made-up session"
        );
    }
    for path in [
        "/staff/logout",
        "/staff/answers/1/review",
        "/staff/curated/1",
    ] {
        let reply = send(&console.app, form(path, "", &[("csrf", "x")])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

/// The pages of the platform around the chatbot: a session for every page and export, the form's
/// CSRF token for every change, and an admin for the directory's changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_pages_need_a_session_csrf_and_an_admin_for_the_directory() {
    let console = console().await;
    let pages = [
        "/staff/handoffs",
        "/staff/handoffs/1",
        "/staff/directory",
        "/staff/directory.csv",
        "/staff/surveys",
        "/staff/surveys/1/csv",
        "/staff/sme",
        "/staff/news",
        "/staff/listening",
        "/staff/listening/print",
        "/staff/listening.csv",
        "/staff/stats/plan.csv",
    ];
    for path in pages {
        let reply = send(&console.app, get(path, None)).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.location.as_deref(), Some("/staff/login"), "{path}");
    }
    let forms = [
        "/staff/handoffs/1/take",
        "/staff/handoffs/1/reply",
        "/staff/directory/import",
        "/staff/directory/save",
        "/staff/surveys",
        "/staff/sme/1/status",
        "/staff/news",
        "/staff/news/1/publish",
    ];
    for path in forms {
        let reply = send(&console.app, form(path, "", &[("csrf", "x")])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
    }

    // A reviewer reads the directory and its export, and may not change it.
    let lan = login(&console.app, "lan").await;
    let cookie = format!("hl_staff={lan}");
    let page = send(&console.app, get("/staff/directory", Some(&lan))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Chỉ quản trị viên được sửa danh bạ."));
    let csrf = csrf_of(&page.body);
    let csv = "xa_phuong,vai_tro,ho_ten\nXã Bình Sơn,hoa_giai_vien,Tổ hòa giải thôn 1\n";
    let refused = send(
        &console.app,
        form(
            "/staff/directory/import",
            &cookie,
            &[("csrf", &csrf), ("csv", csv)],
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    // Every form needs the session's token, even an admin's.
    let admin = login(&console.app, "quantri").await;
    let admin_cookie = format!("hl_staff={admin}");
    let forged = send(
        &console.app,
        form(
            "/staff/directory/import",
            &admin_cookie,
            &[("csrf", &"0".repeat(64)), ("csv", csv)],
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let admin_page = send(&console.app, get("/staff/directory", Some(&admin))).await;
    let imported = send(
        &console.app,
        form(
            "/staff/directory/import",
            &admin_cookie,
            &[("csrf", &csrf_of(&admin_page.body)), ("csv", csv)],
        ),
    )
    .await;
    assert_eq!(imported.status, StatusCode::SEE_OTHER, "{}", imported.body);
    let names: Vec<String> = console
        .db
        .directory()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.name)
        .collect();
    assert_eq!(names, ["Tổ hòa giải thôn 1"]);
    assert_eq!(
        count(
            &console.db,
            "SELECT count(*) FROM audit_log WHERE action = 'directory_import'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_csrf_protected_locks_out_and_sessions_expire() {
    let console = console().await;
    // A login post without the login page's cookie is refused.
    let forged = send(
        &console.app,
        form(
            "/staff/login",
            "",
            &[("csrf", "abc"), ("username", "lan"), ("password", PASSWORD)],
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Unknown user and wrong password read the same.
    let unknown = try_login(&console.app, "nobody", PASSWORD).await;
    let wrong = try_login(&console.app, "lan", "sai-mật-khẩu-rồi").await;
    assert_eq!(
        (unknown.status, wrong.status),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert!(unknown
        .body
        .contains("Tên đăng nhập hoặc mật khẩu không đúng"));
    assert!(wrong
        .body
        .contains("Tên đăng nhập hoặc mật khẩu không đúng"));
    // Third failure in a row locks the account; then even the right password is refused.
    try_login(&console.app, "lan", "sai-lần-hai-rồi-nhé").await;
    try_login(&console.app, "lan", "sai-lần-ba-rồi-nhé").await;
    let locked = try_login(&console.app, "lan", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
    assert!(locked.body.contains("tạm khóa"), "{}", locked.body);
    assert_eq!(
        count(
            &console.db,
            "SELECT count(*) FROM audit_log WHERE action = 'account_locked'"
        )
        .await,
        1
    );

    // Another account signs in; its session works, then expires.
    let token = login(&console.app, "quantri").await;
    assert_eq!(
        send(&console.app, get("/staff", Some(&token))).await.status,
        StatusCode::OK
    );
    console
        .db
        .call(|c| {
            c.execute(
                "UPDATE staff_sessions SET expires_at = '2000-01-01T00:00:00.000Z'",
                [],
            )
        })
        .await
        .unwrap();
    let expired = send(&console.app, get("/staff", Some(&token))).await;
    assert_eq!(expired.location.as_deref(), Some("/staff/login"));
    // Only the hash of the token is stored.
    let stored: String = console
        .db
        .call(|c| c.query_row("SELECT token_hash FROM staff_sessions", [], |r| r.get(0)))
        .await
        .unwrap();
    assert_ne!(stored, token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flagged_answer_is_edited_approved_and_delivered_to_the_citizen() {
    let console = console().await;
    let answer = flagged_question(
        &console,
        "z1",
        "Chồng tôi hay đánh đập tôi, sđt tôi 0905 123 456, tôi muốn ly hôn thì làm thế nào?",
    )
    .await;
    // The citizen reports the answer with a comment holding their phone number.
    let public_id: String = console
        .db
        .call(move |c| {
            c.query_row(
                "SELECT public_id FROM answers WHERE id = ?1",
                [answer],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    console
        .dispatcher
        .feedback(
            ChannelKind::ZaloBot,
            public_id,
            hoiluat::db::Rating::Report,
            Some("Sai rồi, gọi lại cho tôi: 0914.222.333".into()),
        )
        .await
        .unwrap();
    let reviewer = login(&console.app, "lan").await;
    let queue = send(
        &console.app,
        get("/staff?reason=sensitive_topic", Some(&reviewer)),
    )
    .await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(
        queue.body.contains(&format!("/staff/answers/{answer}")),
        "{}",
        queue.body
    );
    assert!(queue.body.contains("Chủ đề nhạy cảm"));
    assert!(
        !queue.body.contains("0905 123 456"),
        "phone numbers are masked in the console"
    );

    let page = send(
        &console.app,
        get(&format!("/staff/answers/{answer}"), Some(&reviewer)),
    )
    .await;
    assert!(page.body.contains("[số điện thoại]"));
    // Comments of flags are citizens' words too: masked like the question.
    assert!(
        page.body.contains("Sai rồi, gọi lại cho tôi"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("0914.222.333"), "{}", page.body);
    let csrf = csrf_of(&page.body);
    let cookie = format!("hl_staff={reviewer}");
    let review_path = format!("/staff/answers/{answer}/review");
    // Wrong CSRF token: refused, nothing stored.
    let forged = send(
        &console.app,
        form(
            &review_path,
            &cookie,
            &[("csrf", &"f".repeat(64)), ("decision", "rejected")],
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A citation that is not in the corpus: refused with the reason.
    let bad = send(
        &console.app,
        form(
            &review_path,
            &cookie,
            &[
                ("csrf", &csrf),
                ("decision", "edited"),
                ("text", "Sửa"),
                ("citations", "khong-co.dieu-1"),
            ],
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("khong-co.dieu-1"));
    assert_eq!(count(&console.db, "SELECT count(*) FROM reviews").await, 0);

    let corrected = "Bạn có quyền yêu cầu Tòa án giải quyết việc ly hôn. Nếu bị bạo lực gia đình, hãy báo ngay cho công an xã hoặc gọi 113.";
    let done = send(
        &console.app,
        form(
            &review_path,
            &cookie,
            &[
                ("csrf", &csrf),
                ("decision", "edited"),
                ("text", corrected),
                ("citations", "52-2014-qh13.dieu-51"),
                ("note", "bổ sung hướng dẫn"),
            ],
        ),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    // Delivered to the citizen's chat through the Zalo Bot API (by the dispatcher's workers).
    let delivered = sent_containing(&console.fake, "Cán bộ Sở Tư pháp đã xem lại").await;
    assert_eq!(delivered["chat_id"], "chat-z1");
    assert!(delivered["text"].as_str().unwrap().contains("gọi 113"));
    assert!(delivered["text"].as_str().unwrap().contains("Điều 51"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = send(
            &console.app,
            get(&format!("/staff/answers/{answer}"), Some(&reviewer)),
        )
        .await;
        if page.body.contains("Đã gửi câu trả lời đã duyệt") {
            break;
        }
        assert!(Instant::now() < deadline, "{}", page.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Audited, curated, and a second review is refused.
    assert_eq!(
        count(
            &console.db,
            "SELECT count(*) FROM audit_log WHERE action = 'review_edited'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &console.db,
            "SELECT count(*) FROM curated_answers WHERE active = 1"
        )
        .await,
        1
    );
    let again = send(
        &console.app,
        form(
            &review_path,
            &cookie,
            &[("csrf", &csrf), ("decision", "approved")],
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // The dashboard counts it; the CSV is masked and its export audited.
    let stats = send(&console.app, get("/staff/stats", Some(&reviewer))).await;
    assert!(
        stats
            .body
            .contains("data-testid=\"kpi-reviewed\">Đã duyệt<b>1</b>"),
        "{}",
        stats.body
    );
    assert!(stats.body.contains("<svg role=\"img\""));
    let csv = send(&console.app, get("/staff/stats.csv", Some(&reviewer))).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains("zalo_bot"));
    assert!(csv.body.contains("sensitive_topic"));
    assert!(!csv.body.contains("0905"), "{}", csv.body);
    assert_eq!(
        count(
            &console.db,
            "SELECT count(*) FROM audit_log WHERE action = 'export_csv'"
        )
        .await,
        1
    );

    // Raw text is for admins only, and their look is audited.
    let raw = format!("/staff/answers/{answer}?raw=1");
    assert_eq!(
        send(&console.app, get(&raw, Some(&reviewer))).await.status,
        StatusCode::FORBIDDEN
    );
    let admin = login(&console.app, "quantri").await;
    let raw_page = send(&console.app, get(&raw, Some(&admin))).await;
    assert!(raw_page.body.contains("0905 123 456"));
    assert_eq!(
        count(
            &console.db,
            "SELECT count(*) FROM audit_log WHERE action = 'view_raw'"
        )
        .await,
        1
    );

    // Curated answers can be edited and retired (audited).
    let curated = send(&console.app, get("/staff/curated", Some(&admin))).await;
    let csrf = csrf_of(&curated.body);
    let retire = send(
        &console.app,
        form(
            "/staff/curated/1",
            &format!("hl_staff={admin}"),
            &[("csrf", &csrf), ("action", "retire")],
        ),
    )
    .await;
    assert_eq!(retire.status, StatusCode::SEE_OTHER);
    assert_eq!(
        count(
            &console.db,
            "SELECT count(*) FROM curated_answers WHERE active = 1"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &console.db,
            "SELECT count(*) FROM audit_log WHERE action = 'curated_retire'"
        )
        .await,
        1
    );

    // Logging out ends the session.
    let logout = send(
        &console.app,
        form(
            "/staff/logout",
            &format!("hl_staff={admin}"),
            &[("csrf", &csrf)],
        ),
    )
    .await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    assert_eq!(
        send(&console.app, get("/staff", Some(&admin))).await.status,
        StatusCode::SEE_OTHER
    );
}

/// Concurrent wrong passwords cannot outrun the lock-out: each attempt is counted before its
/// password is checked, so no more than `max_failed_logins` passwords are ever tried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_passwords_are_locked_out_after_the_limit() {
    let console = console().await;
    // Each attempt gets its sign-in form first; then all 40 are posted at once.
    let page = send(&console.app, get("/staff/login", None)).await;
    let token = cookie_value(&page.cookies, "hl_login").unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(40));
    let attempts = (0..40).map(|n| {
        let app = console.app.clone();
        let token = token.clone();
        let start = Arc::clone(&start);
        tokio::spawn(async move {
            let request = form(
                "/staff/login",
                &format!("hl_login={token}"),
                &[
                    ("csrf", &token),
                    ("username", "lan"),
                    ("password", &format!("đoán-sai-lần-{n}-nhé")),
                ],
            );
            start.wait().await;
            send(&app, request).await
        })
    });
    let attempts: Vec<_> = attempts.collect();
    let mut wrong = 0;
    for attempt in attempts {
        let reply = attempt.await.unwrap();
        match reply.status {
            // Locked, or told to come back (sign-ins admitted at once are bounded too).
            _ if reply.body.contains("tạm khóa") || reply.body.contains("thử lại sau") => {}
            StatusCode::UNAUTHORIZED if reply.body.contains("không đúng") => wrong += 1,
            other => panic!("{other}: {}", reply.body),
        }
    }
    // The console's limit is 3: no more passwords than that were tried.
    assert_eq!(wrong, 3);
    let after = try_login(&console.app, "lan", PASSWORD).await;
    assert!(after.body.contains("tạm khóa"), "{}", after.body);
}

/// Password checks (argon2id, 19 MiB each) run a few at a time on their own threads, and a
/// flood of sign-ins beyond what waits for them is told to come back, instead of each taking
/// memory and blocking threads the database and the answers need.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_sign_ins_is_bounded() {
    let console = console().await;
    let page = send(&console.app, get("/staff/login", None)).await;
    let token = cookie_value(&page.cookies, "hl_login").unwrap();
    let attempts = (0..120).map(|n| {
        let app = console.app.clone();
        let token = token.clone();
        tokio::spawn(async move {
            send(
                &app,
                form(
                    "/staff/login",
                    &format!("hl_login={token}"),
                    &[
                        ("csrf", &token),
                        ("username", &format!("khong-co-{n}")),
                        ("password", "mật-khẩu-đoán-bừa"),
                    ],
                ),
            )
            .await
        })
    });
    // Spawned all at once (the iterator is lazy).
    let attempts: Vec<_> = attempts.collect();
    let mut busy = 0;
    for attempt in attempts {
        let reply = attempt.await.unwrap();
        match reply.status {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(reply.body.contains("thử lại"), "{}", reply.body);
                busy += 1;
            }
            other => panic!("{other}: {}", reply.body),
        }
    }
    assert!(
        busy > 0,
        "every one of 120 concurrent sign-ins was checked at once"
    );
    // Once the flood is over, signing in works again.
    login(&console.app, "lan").await;
}

/// A reviewed answer is delivered by the same durable queue as every reply: a proxy that gives
/// up on the review request (here, after 100 ms, while the platform is slow and failing) does
/// not cancel the delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewed_answer_is_delivered_when_the_request_is_cancelled() {
    let console = console().await;
    let answer = flagged_question(
        &console,
        "z9",
        "Chồng tôi đánh tôi, tôi muốn ly hôn thì làm thế nào?",
    )
    .await;
    let reviewer = login(&console.app, "lan").await;
    let page = send(
        &console.app,
        get(&format!("/staff/answers/{answer}"), Some(&reviewer)),
    )
    .await;
    let csrf = csrf_of(&page.body);
    console
        .fake
        .slow_failures
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let request = form(
        &format!("/staff/answers/{answer}/review"),
        &format!("hl_staff={reviewer}"),
        &[
            ("csrf", &csrf),
            ("decision", "edited"),
            (
                "text",
                "Bạn nộp đơn ly hôn tại Tòa án nhân dân cấp huyện nơi cư trú.",
            ),
            ("citations", "52-2014-qh13.dieu-51"),
        ],
    );
    let cancelled =
        tokio::time::timeout(Duration::from_millis(100), send(&console.app, request)).await;
    // Either the request was cut off, or it ended before the delivery did (after the fix).
    drop(cancelled);
    let delivered = sent_containing(&console.fake, "Tòa án nhân dân cấp huyện").await;
    assert_eq!(delivered["chat_id"], "chat-z9");
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(
        &console.db,
        "SELECT count(*) FROM reviews WHERE delivery_status = 'sent'",
    )
    .await
        != 1
    {
        assert!(Instant::now() < deadline, "the delivery was not recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Everything the fake sent to `chat`, one message a line.
async fn sent_to(fake: &FakeZaloBot, chat: &str) -> String {
    fake.sent
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m["chat_id"] == chat)
        .map(|m| m["text"].as_str().unwrap_or("").to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A curated answer approved for a follow-up ("Nộp hồ sơ ở đâu?" after a question about marriage
/// registration) is given only to that question in that context, never to the bare follow-up
/// nor to the same words after another question.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_curated_answer_to_a_follow_up_keeps_its_context() {
    let assistant = common::own_assistant();
    let console = console_with(assistant.clone()).await;
    assistant.set_history_source(Arc::new(console.db.clone()));
    assistant.set_curated_source(
        Arc::new(console.db.clone()),
        ChannelsConfig::default().curated_similarity,
    );
    let first = "Thủ tục đăng ký kết hôn cần giấy tờ gì?";
    let follow_up = "Nộp hồ sơ ở đâu?";
    let curated =
        "Hồ sơ đăng ký kết hôn nộp tại Ủy ban nhân dân cấp xã nơi cư trú của một trong hai bên.";
    let ask = |external: &'static str, chat: &'static str, text: &'static str| {
        let console = &console;
        async move {
            let inbound = Inbound {
                channel: ChannelKind::ZaloBot,
                external_id: external.into(),
                user_id: format!("user-{chat}"),
                chat_id: chat.into(),
                kind: InboundKind::Text(text.into()),
            };
            let Submitted::Accepted(id) = console.dispatcher.submit(inbound).await.unwrap() else {
                panic!("duplicate");
            };
            wait_answered(&console.db, id).await;
            id
        }
    };
    ask("k1", "chat-k", first).await;
    let message = ask("k2", "chat-k", follow_up).await;
    let answer: i64 = console
        .db
        .call(move |c| {
            c.query_row(
                "SELECT id FROM answers WHERE message_id = ?1",
                [message],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    let reviewer = login(&console.app, "lan").await;
    let page = send(
        &console.app,
        get(&format!("/staff/answers/{answer}"), Some(&reviewer)),
    )
    .await;
    let done = send(
        &console.app,
        form(
            &format!("/staff/answers/{answer}/review"),
            &format!("hl_staff={reviewer}"),
            &[
                ("csrf", &csrf_of(&page.body)),
                ("decision", "edited"),
                ("text", curated),
                ("citations", "60-2014-qh13.dieu-17"),
            ],
        ),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let stored: (String, Option<String>) = console
        .db
        .call(|c| {
            c.query_row("SELECT question, context FROM curated_answers", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .await
        .unwrap();
    assert_eq!(stored, (follow_up.to_owned(), Some(first.to_owned())));
    let page = send(&console.app, get("/staff/curated", Some(&reviewer))).await;
    assert!(page.body.contains("curated-context"), "{}", page.body);

    // The bare follow-up, and the follow-up of another question: answered from the corpus.
    ask("b1", "chat-b", follow_up).await;
    ask("c1", "chat-c", "Thủ tục ly hôn như thế nào?").await;
    ask("c2", "chat-c", follow_up).await;
    // The same exchange in another conversation: the curated answer.
    ask("d1", "chat-d", first).await;
    ask("d2", "chat-d", follow_up).await;
    assert!(!sent_to(&console.fake, "chat-b").await.contains(curated));
    assert!(!sent_to(&console.fake, "chat-c").await.contains(curated));
    assert!(sent_to(&console.fake, "chat-d").await.contains(curated));
}
