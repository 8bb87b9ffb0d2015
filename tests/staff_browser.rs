//! The staff console in a real headless Chromium (issue 5): a reviewer signs in by typing into
//! the form, finds a flagged answer in the queue, edits it, sets the article it rests on, sends
//! it, sees that it was delivered, sees the dashboard count it, and signs out.
//!
//! Everything is real but the chat platform: the real router served on 127.0.0.1 (the API and
//! the console, merged as `hoiluat serve` does), the real Assistant over a small real corpus, a
//! real SQLite file, a real Dispatcher with the real Zalo Bot sender, argon2id sign-in with the
//! default configuration (`Secure` cookies, which Chromium accepts from http://127.0.0.1). The
//! Zalo Bot Platform is played by a local HTTP server that records every `sendMessage`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test-deps.sh`); without them the
//! test fails and says so.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::webdriver::{require_chromium, save_screenshot, Browser};
use common::zalo_bot::{serve, FakeZaloBot, BOT_TOKEN};
use hoiluat::app::ReindexJob;
use hoiluat::channels::dispatch::{Dispatcher, Submitted};
use hoiluat::channels::zalo_bot::ZaloBotSender;
use hoiluat::channels::{ChannelKind, ChannelSender, Inbound, InboundKind};
use hoiluat::config::{ChannelsConfig, StaffConfig, ZaloBotConfig};
use hoiluat::corpus::edit::CorpusFiles;
use hoiluat::db::Db;
use hoiluat::db::Role;
use hoiluat::http::{router, AppState};
use hoiluat::ready::Ready;
use hoiluat::staff::auth::hash_password;
use hoiluat::staff::{routes, StaffState};
use serde_json::{json, Value};

const USERNAME: &str = "lan";
const DISPLAY_NAME: &str = "Nguyễn Thị Lan";
const PASSWORD: &str = "mật-khẩu-đủ-dài-2026";
const CHAT_ID: &str = "chat-browser-1";
/// Touches a sensitive topic (domestic violence): flagged for staff whatever the confidence.
const QUESTION: &str = "Chồng tôi đánh đập tôi, tôi muốn ly hôn thì làm thế nào?";
/// What the reviewer types instead of the assistant's answer (two lines: the text area's line
/// breaks must reach the citizen as they were typed).
const CORRECTED: &str = "Bạn có quyền yêu cầu Tòa án giải quyết việc ly hôn.\nNếu bị bạo lực gia đình, hãy báo ngay cho công an xã hoặc gọi 113.";
const CITATION: &str = "52-2014-qh13.dieu-51";

// ---------------------------------------------------------------------------------------------
// The service under test

struct Service {
    /// `http://127.0.0.1:<port>`
    site: String,
    db: Db,
    dispatcher: Dispatcher,
    fake: FakeZaloBot,
    _dir: tempfile::TempDir,
}

/// The app as `hoiluat serve` wires it (API router merged with the console), served on a free
/// port, with a Zalo Bot sender pointed at the fake platform and one reviewer account.
async fn service() -> Service {
    let fixture = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();

    let (fake, platform) = FakeZaloBot::start().await;
    let bot_config = ZaloBotConfig {
        enabled: true,
        token: BOT_TOKEN.into(),
        secret_token: "secret-token-1".into(),
        api_base: platform,
    };
    let sender: Arc<dyn ChannelSender> =
        Arc::new(ZaloBotSender::new(&bot_config, reqwest::Client::new()));
    let cell = Ready::with(fixture.started.assistant.clone());
    let channels = ChannelsConfig {
        retry_base_ms: 10,
        ..ChannelsConfig::default()
    };
    let dispatcher = Dispatcher::start(db.clone(), cell.clone(), vec![sender], &channels);

    let config = StaffConfig::default();
    assert!(config.secure_cookies, "the default configuration is tested");
    let api = router(AppState::ready(
        &fixture.config.server,
        fixture.started.assistant.clone(),
    ));
    let app = api.merge(routes(StaffState {
        db: db.clone(),
        dispatcher: dispatcher.clone(),
        ready: cell,
        config,
        corpus: Arc::new(CorpusFiles::new(fixture.config.paths.corpus_dir.clone())),
        reindex: ReindexJob::new(fixture.config.clone()),
        passwords: hoiluat::staff::auth::PasswordChecker::new(),
    }));
    let address = serve(app).await;

    db.create_staff(
        USERNAME.into(),
        DISPLAY_NAME.into(),
        hash_password(PASSWORD).unwrap(),
        Role::Reviewer,
    )
    .await
    .unwrap();
    Service {
        site: format!("http://{address}"),
        db,
        dispatcher,
        fake,
        _dir: dir,
    }
}

/// A citizen's question over Zalo Bot, answered by the real assistant and flagged; returns the
/// answer's row id (the console's `/staff/answers/{id}`).
async fn flagged_question(service: &Service) -> i64 {
    let inbound = Inbound {
        channel: ChannelKind::ZaloBot,
        external_id: "browser-1".into(),
        user_id: "user-browser-1".into(),
        chat_id: CHAT_ID.into(),
        kind: InboundKind::Text(QUESTION.into()),
    };
    let Submitted::Accepted(message) = service.dispatcher.submit(inbound).await.unwrap() else {
        panic!("a first delivery is not a duplicate");
    };
    wait_answered(&service.db, message).await;
    let (answer, reasons): (i64, String) = service
        .db
        .call(move |c| {
            c.query_row(
                "SELECT a.id, coalesce(group_concat(f.reason), '') FROM answers a
                 LEFT JOIN flags f ON f.answer_id = a.id WHERE a.message_id = ?1 GROUP BY a.id",
                [message],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .await
        .unwrap();
    assert!(reasons.contains("sensitive_topic"), "flags: {reasons:?}");
    answer
}

async fn wait_answered(db: &Db, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
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
        assert!(
            Instant::now() < deadline,
            "the question was not answered in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the console's pages

/// The figure of a dashboard tile (`<span data-testid=…>Label<b>figure</b></span>`).
async fn kpi(browser: &Browser, testid: &str) -> i64 {
    let figure = browser.text_of(&format!("[data-testid={testid}] b")).await;
    figure
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{testid} shows {figure:?}, not a number"))
}

/// Opens the dashboard through the navigation bar; returns (Cần xem lại, Đã duyệt).
async fn dashboard(browser: &Browser) -> (i64, i64) {
    browser
        .click(&browser.find("nav a[href='/staff/stats']").await)
        .await;
    browser.wait_for_path("/staff/stats").await;
    assert!(browser
        .text_of("[data-testid=kpi-flagged]")
        .await
        .contains("Cần xem lại"));
    assert!(browser
        .text_of("[data-testid=kpi-reviewed]")
        .await
        .contains("Đã duyệt"));
    (
        kpi(browser, "kpi-flagged").await,
        kpi(browser, "kpi-reviewed").await,
    )
}

/// The session cookie as the browser holds it, if any.
async fn session_cookie(browser: &Browser) -> Option<Value> {
    browser
        .cookies()
        .await
        .into_iter()
        .find(|c| c["name"] == "hl_staff" && c["value"] != "")
}

/// Fails on any console error the pages logged since the last check (script errors, CSP
/// violations, failed loads). The browser's own request for `/favicon.ico` is left out: the
/// pages declare no icon, and its 404 is no fault of theirs.
async fn assert_no_console_errors(browser: &Browser, step: &str) {
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| !e.contains("/favicon.ico "))
        .collect();
    assert!(errors.is_empty(), "console errors {step}: {errors:#?}");
}

// ---------------------------------------------------------------------------------------------
// The test

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_corrects_a_flagged_answer_in_headless_chromium() {
    // Before the slow set-up: a missing browser fails at once, with the fix.
    require_chromium();
    let service = service().await;
    let answer = flagged_question(&service).await;
    let site = &service.site;
    let browser = Browser::start().await;

    // Not signed in: the console sends the browser to the sign-in page.
    browser.goto(&format!("{site}/staff")).await;
    browser.wait_for_path("/staff/login").await;
    assert!(session_cookie(&browser).await.is_none());

    // Sign in by typing, as a person would.
    browser
        .type_text(&browser.find("#username").await, USERNAME)
        .await;
    browser
        .type_text(&browser.find("#password").await, PASSWORD)
        .await;
    browser
        .click(
            &browser
                .find("form[action='/staff/login'] button[type=submit]")
                .await,
        )
        .await;
    browser.wait_for_path("/staff").await;
    // The session cookie is HttpOnly, SameSite=Strict and Secure — and Chromium kept it over
    // http://127.0.0.1, which it counts as a secure context.
    let cookie = session_cookie(&browser)
        .await
        .expect("Chromium stored the Secure session cookie from http://127.0.0.1");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["secure"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Strict", "{cookie}");
    assert_eq!(cookie["path"], "/staff", "{cookie}");
    let header = browser.text_of("header").await;
    assert!(header.contains(DISPLAY_NAME), "{header}");

    // The queue lists the question with its reason.
    let row = browser
        .element_by_script(
            "the flagged answer's row in the queue",
            &format!(
                "const a = document.querySelector('[data-testid=queue] a[href=\"/staff/answers/{answer}\"]');
                 return a ? a.closest('tr') : null"
            ),
        )
        .await;
    let row_text = browser
        .execute("return arguments[0].innerText", json!([row.json()]))
        .await;
    let row_text = row_text.as_str().unwrap();
    assert!(row_text.contains(QUESTION), "{row_text}");
    assert!(row_text.contains("Chủ đề nhạy cảm"), "{row_text}");
    assert!(row_text.contains("zalo_bot"), "{row_text}");
    assert_no_console_errors(&browser, "on the sign-in page and the queue").await;

    // The dashboard before the review.
    let (flagged_before, reviewed_before) = dashboard(&browser).await;
    assert!(flagged_before >= 1, "Cần xem lại shows {flagged_before}");

    // Back to the queue, and open the flagged answer.
    browser
        .click(&browser.find("nav a[href='/staff']").await)
        .await;
    browser.wait_for_path("/staff").await;
    browser
        .click(
            &browser
                .find(&format!(
                    "[data-testid=queue] a[href='/staff/answers/{answer}']"
                ))
                .await,
        )
        .await;
    browser
        .wait_for_path(&format!("/staff/answers/{answer}"))
        .await;
    assert!(browser
        .text_of("[data-testid=question]")
        .await
        .contains(QUESTION));
    let original = browser.text_of("[data-testid=answer]").await;
    assert!(
        !original.trim().is_empty(),
        "the assistant's answer is shown"
    );

    // Edit: the corrected text, the article it rests on, a note for colleagues.
    let text = browser.find("textarea#text").await;
    let prefilled = browser
        .execute("return arguments[0].value", json!([text.json()]))
        .await;
    assert_eq!(
        prefilled.as_str().unwrap().trim(),
        original.trim(),
        "the text area starts from the assistant's answer"
    );
    browser.clear(&text).await;
    browser.type_text(&text, CORRECTED).await;
    let typed = browser
        .execute("return arguments[0].value", json!([text.json()]))
        .await;
    assert_eq!(typed, CORRECTED, "typing Vietnamese and a line break");
    let citations = browser.find("input#citations").await;
    browser.clear(&citations).await;
    browser.type_text(&citations, CITATION).await;
    browser
        .type_text(
            &browser.find("input#note").await,
            "bổ sung hướng dẫn khi bị bạo lực",
        )
        .await;
    let sent_before = service.fake.sent().len();
    browser
        .click(&browser.find("button[name=decision][value=edited]").await)
        .await;

    // The review card: decided, with the corrected text, and delivered to the citizen (the
    // channel's workers send it; the page reloads itself while it is pending).
    let delivery = browser
        .wait_for(
            "the delivery line of the review card",
            Duration::from_secs(60),
            "const d = document.querySelector('[data-testid=review] [data-testid=delivery]');
             return d && !d.innerText.includes('Đang gửi') ? d.innerText : null",
        )
        .await;
    assert!(
        delivery
            .as_str()
            .unwrap()
            .contains("Đã gửi câu trả lời đã duyệt"),
        "{delivery}"
    );
    browser
        .wait_for_path(&format!("/staff/answers/{answer}"))
        .await;
    let card = browser.text_of("[data-testid=review]").await;
    for expected in [
        DISPLAY_NAME,
        "đã sửa",
        "Căn cứ đã chọn: Điều 51",
        "Nếu bị bạo lực gia đình",
        "Ghi chú: bổ sung hướng dẫn khi bị bạo lực",
    ] {
        assert!(card.contains(expected), "{expected:?} not in {card}");
    }
    assert!(
        browser
            .execute(
                "return document.querySelector('form[action$=\"/review\"]')",
                json!([])
            )
            .await
            .is_null(),
        "a reviewed answer offers no second decision"
    );
    // The review card is below the conversation: bring it into the picture.
    browser
        .execute(
            "document.querySelector('[data-testid=review]').scrollIntoView({block: 'center'})",
            json!([]),
        )
        .await;
    let path = save_screenshot(&browser, "staff-review.png").await;
    eprintln!("review page screenshot in {}", path.display());
    assert_no_console_errors(&browser, "on the review pages").await;

    // The fake Zalo Bot Platform received the corrected answer, for the citizen's chat, with the
    // line break typed and the article chosen.
    let sent = service.fake.sent();
    assert!(
        sent.len() > sent_before,
        "nothing was sent after the review"
    );
    let delivered: Vec<&Value> = sent[sent_before..]
        .iter()
        .filter(|m| {
            m["text"]
                .as_str()
                .unwrap_or("")
                .contains("Cán bộ Sở Tư pháp đã xem lại")
        })
        .collect();
    assert_eq!(delivered.len(), 1, "{sent:#?}");
    let message = delivered[0];
    assert_eq!(message["chat_id"], CHAT_ID);
    let text = message["text"].as_str().unwrap();
    assert!(text.contains(CORRECTED), "{text}");
    assert!(
        text.contains("Căn cứ: Điều 51 Luật Hôn nhân và gia đình số 52/2014/QH13"),
        "{text}"
    );

    // The dashboard moved: one more reviewed; the flag stays counted.
    let (flagged_after, reviewed_after) = dashboard(&browser).await;
    assert_eq!(reviewed_after, reviewed_before + 1);
    assert_eq!(flagged_after, flagged_before);
    // The default queue (not yet reviewed) no longer lists it.
    browser
        .click(&browser.find("nav a[href='/staff']").await)
        .await;
    browser.wait_for_path("/staff").await;
    let still_listed = browser
        .execute(
            &format!("return !!document.querySelector('a[href=\"/staff/answers/{answer}\"]')"),
            json!([]),
        )
        .await;
    assert_eq!(still_listed, false, "a reviewed answer left the queue");

    // Sign out; the console is closed again.
    browser
        .click(
            &browser
                .find("form[action='/staff/logout'] button[type=submit]")
                .await,
        )
        .await;
    browser.wait_for_path("/staff/login").await;
    assert!(
        session_cookie(&browser).await.is_none(),
        "the cookie is gone"
    );
    browser.goto(&format!("{site}/staff")).await;
    browser.wait_for_path("/staff/login").await;
    browser.goto(&format!("{site}/staff/stats")).await;
    browser.wait_for_path("/staff/login").await;
    assert_no_console_errors(&browser, "on the dashboard and after signing out").await;

    browser.quit().await;
}
