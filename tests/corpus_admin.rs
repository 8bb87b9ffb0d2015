//! Corpus administration in the staff console (`/staff/corpus`) over HTTP with signed-in
//! sessions: an admin uploads a document (checked by the corpus parser; one with errors is shown
//! back by line and changes nothing), marks the marriage law as replaced, and the re-index that
//! follows each change updates the live index while questions keep being answered. Reviewers are
//! refused, CSRF is enforced, every change is audited, and the changes survive a restart.
//!
//! Real model, real embedded engine, real SQLite, real corpus files in a temporary directory. One
//! scenario in one test: the corpus and index are its own (it changes them and restarts on them),
//! and a start with the real model is the expensive part.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::count;
use hoiluat::answer::{Answer, Assistant, Outcome, NOT_IN_FORCE_ONLY};
use hoiluat::app::ReindexJob;
use hoiluat::app::{self, IndexMode};
use hoiluat::channels::dispatch::Dispatcher;
use hoiluat::config::{ChannelsConfig, StaffConfig};
use hoiluat::corpus::edit::CorpusFiles;
use hoiluat::corpus::Validity;
use hoiluat::db::Db;
use hoiluat::db::Role;
use hoiluat::ingest::IngestReport;
use hoiluat::ready::Ready;
use hoiluat::staff::auth::hash_password;
use hoiluat::staff::html::url_encode;
use hoiluat::staff::{routes, StaffState};
use http_body_util::BodyExt;
use tower::ServiceExt;

const PASSWORD: &str = "mật-khẩu-đủ-dài-2026";
const MARRIAGE_AGE: &str = "Nam nữ bao nhiêu tuổi thì được kết hôn?";
const MARRIAGE_ARTICLE: &str = "52-2014-qh13.dieu-8";
const RABIES: &str = "Nuôi chó có phải tiêm phòng bệnh dại không?";
const RABIES_ARTICLE: &str = "99-2026-qd-ubnd.dieu-2";
/// A replacing law that is not in the corpus: answers can only name it.
const REPLACEMENT: &str = "71/2026/QH15";

/// A made-up provincial decision (for this test only) on a topic the small corpus lacks.
const NEW_DOCUMENT: &str = "---
so_hieu: 99/2026/QĐ-UBND
ten: Quy định về quản lý chó, mèo nuôi trong khu dân cư trên địa bàn tỉnh Quảng Ngãi
loai_van_ban: Quyết định
co_quan_ban_hanh: UBND tỉnh Quảng Ngãi
ngay_ban_hanh: 2026-01-05
ngay_hieu_luc: 2026-01-15
tinh_trang: con_hieu_luc
pham_vi: tinh:quang-ngai
linh_vuc: [xu-ly-vi-pham-hanh-chinh]
nguon: Văn bản giả định, chỉ dùng cho kiểm thử tự động
---

### Điều 1. Phạm vi điều chỉnh

Quy định này quy định việc nuôi chó, mèo trong khu dân cư trên địa bàn tỉnh.

### Điều 2. Tiêm phòng bệnh dại cho chó, mèo

1. Chủ nuôi chó, mèo phải tiêm phòng bệnh dại cho chó, mèo mỗi năm một lần.
2. Chó, mèo chưa được tiêm phòng bệnh dại không được thả ra nơi công cộng.

### Điều 3. Đưa chó ra nơi công cộng

Khi đưa chó ra nơi công cộng, chủ nuôi phải đeo rọ mõm cho chó và dắt chó bằng dây xích.
";

/// Line 4: a malformed date; line 5: an unknown key; required keys missing.
const INVALID_DOCUMENT: &str = "---
so_hieu: 98/2026/QĐ-UBND
ten: Văn bản có lỗi
ngay_ban_hanh: 2026-13-45
hieu_luc: con
---

### Điều 1. Phạm vi

Nội dung.
";

struct Console {
    app: Router,
    db: Db,
    reindex: ReindexJob,
}

/// The console's router over `assistant`, with a reviewer `lan` and an admin `quantri`.
async fn console(
    dir: &Path,
    config: &hoiluat::config::Config,
    assistant: Arc<Assistant>,
) -> Console {
    let db = Db::open(&dir.join("h.sqlite3")).unwrap();
    let cell = Ready::with(assistant);
    // No channel here: the dispatcher gets a handle of its own, so it holds no assistant (and no
    // index handle) when the test restarts on the same index.
    let dispatcher = Dispatcher::start(
        db.clone(),
        Ready::new(),
        Vec::new(),
        &ChannelsConfig::default(),
    );
    let reindex = ReindexJob::new(config.clone());
    let app = routes(StaffState {
        db: db.clone(),
        dispatcher,
        ready: cell,
        config: StaffConfig::default(),
        corpus: Arc::new(CorpusFiles::new(config.paths.corpus_dir.clone())),
        reindex: reindex.clone(),
        passwords: hoiluat::staff::auth::PasswordChecker::new(),
    });
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
    Console { app, db, reindex }
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
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
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

/// Signs in; returns the session token.
async fn login(app: &Router, username: &str) -> String {
    let page = send(app, get("/staff/login", None)).await;
    let login_token = cookie_value(&page.cookies, "hl_login").unwrap();
    let reply = send(
        app,
        form(
            "/staff/login",
            &format!("hl_login={login_token}"),
            &[
                ("csrf", &login_token),
                ("username", username),
                ("password", PASSWORD),
            ],
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    cookie_value(&reply.cookies, "hl_staff").unwrap()
}

/// A signed-in member's POST with the CSRF token of their own page.
async fn post_as(app: &Router, session: &str, path: &str, fields: &[(&str, &str)]) -> Reply {
    let csrf = csrf_of(&send(app, get("/staff", Some(session))).await.body);
    let mut fields = fields.to_vec();
    fields.push(("csrf", &csrf));
    send(app, form(path, &format!("hl_staff={session}"), &fields)).await
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn cites(answer: &Answer, article_id: &str) -> bool {
    answer.outcome == Outcome::Answered
        && answer
            .quotes
            .iter()
            .any(|q| q.citation.article_id == article_id)
}

async fn ask(assistant: &Arc<Assistant>, question: &str) -> Answer {
    assistant.ask(question.into(), None).await.unwrap()
}

/// Asks the marriage-age question until the re-index job has finished `runs` runs, checking
/// that every answer is the usual one. Returns the report of the last run and how many answers
/// were asked for while the job was running.
async fn answer_while_reindexing(
    reindex: &ReindexJob,
    assistant: &Arc<Assistant>,
    runs: u64,
) -> (IngestReport, usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut during = 0;
    loop {
        let status = reindex.status();
        if !status.running && !status.pending && status.finished_runs >= runs {
            let outcome = status.last.expect("a finished run");
            let report = outcome.result.expect("the re-index succeeds");
            return (report, during);
        }
        assert!(Instant::now() < deadline, "the re-index did not finish");
        if status.running {
            during += 1;
        }
        let answer = ask(assistant, MARRIAGE_AGE).await;
        assert!(
            cites(&answer, MARRIAGE_ARTICLE),
            "answered during the re-index: {answer:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admins_change_the_corpus_and_answers_follow_without_downtime() {
    let dir = tempfile::tempdir().unwrap();
    let corpus_dir = common::corpus_with(dir.path(), common::SMALL_CORPUS);
    let config = common::config_for(dir.path(), &corpus_dir);
    let start_config = config.clone();
    let started = tokio::task::spawn_blocking(move || {
        app::start(&start_config, IndexMode::IngestIfNeeded, false)
    })
    .await
    .unwrap()
    .expect("start-up with the real model");
    let assistant = started.assistant.clone();
    let console = console(dir.path(), &config, assistant.clone()).await;
    let app = &console.app;
    let reviewer = login(app, "lan").await;
    let admin = login(app, "quantri").await;
    let original_files = files(&corpus_dir);

    // Before any change: the marriage law answers, in force.
    let before = ask(&assistant, MARRIAGE_AGE).await;
    assert!(cites(&before, MARRIAGE_ARTICLE), "{before:?}");

    // Reviewers may not see or change the corpus.
    let page = send(app, get("/staff/corpus", Some(&reviewer))).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Chỉ quản trị viên"), "{}", page.body);
    for (path, fields) in [
        ("/staff/corpus/upload", vec![("markdown", NEW_DOCUMENT)]),
        (
            "/staff/corpus/validity",
            vec![
                ("file", "luat-52-2014-qh13.md"),
                ("tinh_trang", "het_hieu_luc"),
            ],
        ),
        ("/staff/corpus/reindex", vec![]),
    ] {
        let reply = post_as(app, &reviewer, path, &fields).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
    }

    // The admin sees every document with its validity; the navigation links to the page.
    let page = send(app, get("/staff/corpus", Some(&admin))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/staff/corpus\""));
    assert!(page.body.contains("luat-52-2014-qh13.md"));
    assert!(page
        .body
        .contains("Luật Hôn nhân và gia đình số 52/2014/QH13"));
    assert!(page.body.contains("Còn hiệu lực"));
    assert!(page.body.contains("data-state=\"idle\""));

    // CSRF: a POST without the session's token changes nothing.
    let forged = send(
        app,
        form(
            "/staff/corpus/upload",
            &format!("hl_staff={admin}"),
            &[("csrf", &"0".repeat(64)), ("markdown", NEW_DOCUMENT)],
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let forged = send(
        app,
        form(
            "/staff/corpus/validity",
            &format!("hl_staff={admin}"),
            &[
                ("file", "luat-52-2014-qh13.md"),
                ("tinh_trang", "het_hieu_luc"),
            ],
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(files(&corpus_dir), original_files);

    // An upload with errors is shown back with its diagnostics by line, and nothing is written.
    let rejected = post_as(
        app,
        &admin,
        "/staff/corpus/upload",
        &[("markdown", INVALID_DOCUMENT)],
    )
    .await;
    assert_eq!(
        rejected.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        rejected.body
    );
    for expected in ["Dòng 4", "Dòng 5", "Lỗi", "hieu_luc", "chưa được lưu"] {
        assert!(
            rejected.body.contains(expected),
            "{expected}: {}",
            rejected.body
        );
    }
    assert!(
        rejected.body.contains("98/2026/QĐ-UBND"),
        "the text is given back to fix"
    );
    assert_eq!(files(&corpus_dir), original_files);
    assert_eq!(console.reindex.status().finished_runs, 0);
    assert!(!console.reindex.status().running);

    // A valid upload is saved and ingested; answers go on meanwhile.
    let saved = post_as(
        app,
        &admin,
        "/staff/corpus/upload",
        &[("markdown", &NEW_DOCUMENT.replace('\n', "\r\n"))],
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(
        saved.body.contains("quyet-dinh-99-2026-qd-ubnd.md"),
        "{}",
        saved.body
    );
    let stored = std::fs::read_to_string(corpus_dir.join("quyet-dinh-99-2026-qd-ubnd.md")).unwrap();
    assert_eq!(stored, NEW_DOCUMENT, "saved as sent, with LF line ends");
    let (report, during) = answer_while_reindexing(&console.reindex, &assistant, 1).await;
    assert!(during > 0, "no answer was asked for during the re-index");
    assert!(report.embedded + report.from_cache > 0, "{report:?}");
    assert!(
        report.embedded + report.from_cache <= 4,
        "only the new document: {report:?}"
    );
    assert_eq!(report.deleted, 0, "{report:?}");
    assert!(report.unchanged > 100, "{report:?}");
    let rabies = ask(&assistant, RABIES).await;
    assert!(cites(&rabies, RABIES_ARTICLE), "{rabies:?}");
    let page = send(app, get("/staff/corpus", Some(&admin))).await;
    assert!(page.body.contains("data-state=\"done\""), "{}", page.body);
    assert!(page.body.contains("99/2026/QĐ-UBND"));

    // Marking the marriage law as replaced: its front matter is rewritten, its chunks' payloads
    // are refreshed (nothing is re-embedded), and answers stop presenting it as in force.
    let marked = post_as(
        app,
        &admin,
        "/staff/corpus/validity",
        &[
            ("file", "luat-52-2014-qh13.md"),
            ("tinh_trang", "bi_thay_the"),
            ("thay_the_boi", REPLACEMENT),
        ],
    )
    .await;
    assert_eq!(marked.status, StatusCode::SEE_OTHER, "{}", marked.body);
    assert_eq!(
        marked.location.as_deref(),
        Some("/staff/corpus?done=validity")
    );
    let law = std::fs::read_to_string(corpus_dir.join("luat-52-2014-qh13.md")).unwrap();
    assert!(
        law.contains("\ntinh_trang: het_hieu_luc\n"),
        "{}",
        &law[..600]
    );
    assert!(law.contains(&format!("\nbi_thay_the_boi: [{REPLACEMENT}]\n")));
    assert!(
        law.contains("### Điều 8. Điều kiện kết hôn"),
        "the body is kept"
    );
    let report = wait_for_runs(&console.reindex, 2).await;
    assert_eq!(report.embedded + report.from_cache, 0, "{report:?}");
    assert!(report.refreshed > 100, "{report:?}");
    let library = assistant.library();
    let meta = library
        .documents()
        .iter()
        .find(|d| d.so_hieu == "52/2014/QH13")
        .unwrap();
    assert_eq!(meta.tinh_trang, Validity::Expired);
    assert_eq!(meta.bi_thay_the_boi, vec![REPLACEMENT.to_owned()]);
    let after = ask(&assistant, MARRIAGE_AGE).await;
    assert_replaced(&after);
    let page = send(app, get("/staff/corpus", Some(&admin))).await;
    assert!(page
        .body
        .contains(&format!("bị thay thế bởi {REPLACEMENT}")));
    assert!(page.body.contains("Đã cập nhật"));

    // Bad validity requests are refused without touching the file.
    for fields in [
        vec![
            ("file", "../luat-52-2014-qh13.md"),
            ("tinh_trang", "het_hieu_luc"),
        ],
        vec![
            ("file", "luat-52-2014-qh13.md"),
            ("tinh_trang", "bi_thay_the"),
        ],
        vec![("file", "luat-52-2014-qh13.md"), ("tinh_trang", "xoa")],
        vec![
            ("file", "luat-52-2014-qh13.md"),
            ("tinh_trang", "bi_thay_the"),
            ("thay_the_boi", "x]\ny: z"),
        ],
    ] {
        let reply = post_as(app, &admin, "/staff/corpus/validity", &fields).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{fields:?}");
    }
    assert_eq!(
        std::fs::read_to_string(corpus_dir.join("luat-52-2014-qh13.md")).unwrap(),
        law
    );

    // A manual re-index with nothing changed re-embeds nothing.
    let manual = post_as(app, &admin, "/staff/corpus/reindex", &[]).await;
    assert_eq!(manual.status, StatusCode::SEE_OTHER);
    let report = wait_for_runs(&console.reindex, 3).await;
    assert_eq!(
        report.embedded + report.from_cache + report.refreshed + report.deleted,
        0
    );

    // Every change is audited, refused attempts are not.
    for (sql, expected) in [
        ("SELECT count(*) FROM audit_log WHERE action = 'corpus_upload' AND target = 'file:quyet-dinh-99-2026-qd-ubnd.md'", 1),
        ("SELECT count(*) FROM audit_log WHERE action = 'corpus_validity' AND target = 'file:luat-52-2014-qh13.md' AND detail LIKE '%con_hieu_luc -> het_hieu_luc%71/2026/QH15%'", 1),
        ("SELECT count(*) FROM audit_log WHERE action = 'corpus_reindex'", 1),
        ("SELECT count(*) FROM audit_log WHERE action LIKE 'corpus_%'", 3),
    ] {
        assert_eq!(count(&console.db, sql).await, expected, "{sql}");
    }

    // After a restart on the same directories the changes are still there, and the index is
    // already up to date.
    drop((console, assistant, library, started));
    let restart_config = config.clone();
    let restarted = tokio::task::spawn_blocking(move || {
        app::start(&restart_config, IndexMode::IngestIfNeeded, false)
    })
    .await
    .unwrap()
    .expect("restart on the same index");
    assert!(restarted.ingest_report.is_none(), "nothing to ingest again");
    let rabies = ask(&restarted.assistant, RABIES).await;
    assert!(cites(&rabies, RABIES_ARTICLE), "{rabies:?}");
    assert_replaced(&ask(&restarted.assistant, MARRIAGE_AGE).await);
}

/// Waits until the re-index job has finished `runs` runs and is idle; the last run's report.
async fn wait_for_runs(reindex: &ReindexJob, runs: u64) -> IngestReport {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let status = reindex.status();
        if !status.running && !status.pending && status.finished_runs >= runs {
            let report = status.last.unwrap().result.expect("the re-index succeeds");
            return report;
        }
        assert!(Instant::now() < deadline, "the re-index did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The documented behaviour for a question that only a replaced law answers: a decline
/// ([`NOT_IN_FORCE_ONLY`]) that names the law, says it is no longer in force and names what
/// replaced it, quoting nothing, flagged for staff.
fn assert_replaced(answer: &Answer) {
    assert_eq!(
        answer.outcome,
        Outcome::Declined {
            category: Some(NOT_IN_FORCE_ONLY.into())
        },
        "{answer:?}"
    );
    assert!(answer.quotes.is_empty());
    assert!(answer.needs_review);
    for expected in ["52/2014/QH13", "hết hiệu lực", REPLACEMENT] {
        assert!(
            answer.text.contains(expected),
            "{expected}: {}",
            answer.text
        );
    }
}
