//! The console of the platform around the chatbot in a real headless Chromium: an admin loads the
//! directory of officers from CSV (a bad file is refused whole), builds a survey and opens it;
//! citizens write over Zalo Bot (a dispute and a handoff, a survey, an SME request, a
//! subscription); the officer takes a conversation over and replies, works the SME request,
//! publishes a notice, reads the survey's results, the listening report and the plan's report
//! numbers, and downloads the exports.
//!
//! Everything is real but Zalo's server, played by a local HTTP server that records every
//! `sendMessage`. Screenshots go to `target/test-output/`; with `HOILUAT_DOC_SCREENSHOTS=1` they
//! are also written to `docs/images/` for the staff documentation.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::webdriver::{require_chromium, save_screenshot, Browser};
use common::zalo_bot::{serve, FakeZaloBot, BOT_TOKEN};
use hoiluat::app::ReindexJob;
use hoiluat::channels::dispatch::{Dispatcher, Submitted};
use hoiluat::channels::zalo_bot::ZaloBotSender;
use hoiluat::channels::{ChannelKind, ChannelSender, Inbound, InboundKind};
use hoiluat::config::{StaffConfig, ZaloBotConfig};
use hoiluat::corpus::edit::CorpusFiles;
use hoiluat::db::{Db, Role};
use hoiluat::http::{router, AppState};
use hoiluat::platform::Platform;
use hoiluat::ready::Ready;
use hoiluat::staff::auth::hash_password;
use hoiluat::staff::{platform_routes, routes, PlatformState, StaffState};
use serde_json::json;

const USERNAME: &str = "minh";
const DISPLAY_NAME: &str = "Trần Văn Minh";
const PASSWORD: &str = "mật-khẩu-đủ-dài-2026";

/// A directory in the import format: one ward's mediator and justice officer (made up for the
/// test, as the docs say: the real list is loaded by staff), and a row that is wrong.
const BAD_CSV: &str = "ma_xa,xa_phuong,vai_tro,ho_ten,dien_thoai\n\
                       21025,Phường Cẩm Thành,thu_ky,Người thử,12\n";
const GOOD_CSV: &str = "ma_xa,xa_phuong,vai_tro,ho_ten,dien_thoai,gio_lam_viec,da_xac_minh\n\
                        21025,Phường Cẩm Thành,hoa_giai_vien,Tổ hòa giải tổ dân phố 3 (dữ liệu thử),0255 3 000 001,Thứ Hai – Thứ Sáu,có\n\
                        21025,Phường Cẩm Thành,tu_phap_xa,Công chức Tư pháp - Hộ tịch phường (dữ liệu thử),0255 3 000 002,Giờ hành chính,\n\
                        ,Cấp tỉnh,so_tu_phap,Sở Tư pháp tỉnh Quảng Ngãi,,,\n\
                        ,Cấp tỉnh,tro_giup_phap_ly,Trung tâm Trợ giúp pháp lý nhà nước tỉnh Quảng Ngãi,,,\n";

// ---------------------------------------------------------------------------------------------
// The service

struct Service {
    site: String,
    db: Db,
    dispatcher: Dispatcher,
    fake: FakeZaloBot,
    _dir: tempfile::TempDir,
}

async fn service() -> Service {
    let fixture = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let (fake, platform_address) = FakeZaloBot::start().await;
    let mut config = fixture.config.clone();
    config.database.path = Some(dir.path().join("h.sqlite3"));
    config.channels.retry_base_ms = 10;
    config.channels.user_messages_per_minute = 100;
    config.channels.zalo_bot = ZaloBotConfig {
        enabled: true,
        token: BOT_TOKEN.into(),
        secret_token: "secret-token-1".into(),
        api_base: platform_address,
    };
    config.platform.survey_offer_after_idle_mins = 0;
    let db = Db::connect(&config.database, &config.paths).await.unwrap();
    let sender: Arc<dyn ChannelSender> = Arc::new(ZaloBotSender::new(
        &config.channels.zalo_bot,
        reqwest::Client::new(),
    ));
    let ready = Ready::with(fixture.started.assistant.clone());
    let dispatcher = Dispatcher::start(db.clone(), ready.clone(), vec![sender], &config.channels);
    let platform = Platform::start(&config, db.clone(), ready.clone(), &dispatcher)
        .await
        .unwrap();
    let staff_state = StaffState {
        db: db.clone(),
        dispatcher: dispatcher.clone(),
        ready,
        config: StaffConfig::default(),
        corpus: Arc::new(CorpusFiles::new(fixture.config.paths.corpus_dir.clone())),
        reindex: ReindexJob::new(fixture.config.clone()),
        passwords: hoiluat::staff::auth::PasswordChecker::new(),
    };
    let api = router(AppState::ready(
        &fixture.config.server,
        fixture.started.assistant.clone(),
    ));
    let app = api
        .merge(routes(staff_state.clone()))
        .merge(platform_routes(PlatformState {
            staff: staff_state,
            platform,
        }));
    let address = serve(app).await;
    db.create_staff(
        USERNAME.into(),
        DISPLAY_NAME.into(),
        hash_password(PASSWORD).unwrap(),
        Role::Admin,
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

/// A citizen on Zalo Bot.
struct Citizen<'a> {
    service: &'a Service,
    chat: &'static str,
    sent: std::cell::Cell<u32>,
}

impl Citizen<'_> {
    /// Sends a text and waits until it is handled; the bot's replies to it.
    async fn says(&self, text: &str) -> String {
        let before = self.service.fake.texts_to(self.chat).len();
        let n = self.sent.get();
        self.sent.set(n + 1);
        let inbound = Inbound {
            channel: ChannelKind::ZaloBot,
            external_id: format!("{}-{n}", self.chat),
            user_id: format!("user-{}", self.chat),
            chat_id: self.chat.into(),
            kind: InboundKind::Text(text.into()),
        };
        let Submitted::Accepted(id) = self.service.dispatcher.submit(inbound).await.unwrap() else {
            panic!("a new message");
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let received = self
                .service
                .db
                .scalar_i64(
                    "SELECT count(*) FROM messages WHERE id = ?1 AND status = 'received'",
                    vec![id.into()],
                )
                .await
                .unwrap();
            if received == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{text:?} was not handled");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.service.fake.texts_to(self.chat)[before..].join("\n")
    }
}

/// Questions of the past four weeks, as the channels stored them (answered or declined, with
/// their topic): what the listening report groups by meaning and follows week by week.
async fn past_questions(db: &Db) {
    let questions: [(&str, u32, &str, Option<&str>); 14] = [
        (
            "Thủ tục đăng ký kết hôn cần những giấy tờ gì?",
            3,
            "answered",
            Some("Luật Hôn nhân và gia đình"),
        ),
        (
            "Đăng ký kết hôn ở đâu, mang theo giấy tờ gì?",
            2,
            "answered",
            Some("Luật Hôn nhân và gia đình"),
        ),
        (
            "Kết hôn với người nước ngoài làm thủ tục thế nào?",
            1,
            "declined",
            None,
        ),
        (
            "Đăng ký kết hôn mất bao lâu?",
            0,
            "answered",
            Some("Luật Hôn nhân và gia đình"),
        ),
        (
            "Con tôi chưa làm giấy khai sinh thì đăng ký thế nào?",
            3,
            "answered",
            Some("Luật Hộ tịch"),
        ),
        (
            "Đăng ký khai sinh quá hạn có bị phạt không?",
            1,
            "answered",
            Some("Luật Hộ tịch"),
        ),
        (
            "Làm lại giấy khai sinh bị mất ở đâu?",
            0,
            "answered",
            Some("Luật Hộ tịch"),
        ),
        (
            "Thủ tục khai sinh cho con cần giấy tờ gì?",
            0,
            "answered",
            Some("Luật Hộ tịch"),
        ),
        (
            "Giá đất bồi thường khi thu hồi đất ở xã tôi là bao nhiêu?",
            2,
            "declined",
            None,
        ),
        (
            "Giá đất bồi thường ở Lý Sơn tính thế nào?",
            1,
            "declined",
            None,
        ),
        (
            "Giá đền bù đất nông nghiệp năm nay bao nhiêu?",
            0,
            "declined",
            None,
        ),
        (
            "Chuyển đổi số trong phổ biến pháp luật của tỉnh gồm những nhiệm vụ gì?",
            2,
            "answered",
            Some("Kế hoạch 137/KH-UBND"),
        ),
        (
            "Kế hoạch chuyển đổi số phổ biến pháp luật đặt mục tiêu gì?",
            1,
            "answered",
            Some("Kế hoạch 137/KH-UBND"),
        ),
        (
            "Mục tiêu hài lòng của người dân trong kế hoạch là bao nhiêu?",
            0,
            "answered",
            Some("Kế hoạch 137/KH-UBND"),
        ),
    ];
    for (i, (text, weeks_ago, status, topic)) in questions.iter().enumerate() {
        let at = (chrono::Utc::now() - chrono::Duration::days(i64::from(*weeks_ago) * 7 + 1))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let conversation = format!("zalo_bot-past{i}");
        let message = db
            .insert_message(hoiluat::db::NewMessage {
                channel: ChannelKind::ZaloBot,
                external_id: format!("past-{i}"),
                conversation_id: conversation.clone(),
                user_id: format!("past-user-{i}"),
                chat_id: format!("past-chat-{i}"),
                kind: hoiluat::db::MessageKind::Text,
                text: (*text).into(),
                received_at: at,
            })
            .await
            .unwrap()
            .unwrap();
        db.set_message_status(message, hoiluat::db::MessageStatus::Answered, None)
            .await
            .unwrap();
        let status = hoiluat::db::AnswerStatus::parse(status).unwrap();
        db.insert_answer_flagged(
            hoiluat::db::NewAnswer {
                message_id: message,
                conversation_id: conversation,
                status,
                decline_reason: (status == hoiluat::db::AnswerStatus::Declined)
                    .then(|| "no_relevant_text".to_owned()),
                text: "…".into(),
                citations: Vec::new(),
                confidence: 0.7,
                needs_review: false,
                follows: None,
            },
            topic.map(str::to_owned),
            Vec::new(),
        )
        .await
        .unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// The browser

/// A screenshot for a person to look at, and for the staff documentation when asked.
async fn shot(browser: &Browser, name: &str) {
    let path = save_screenshot(browser, name).await;
    if std::env::var_os("HOILUAT_DOC_SCREENSHOTS").is_some() {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/images");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&path, docs.join(name)).unwrap();
    }
}

async fn open(browser: &Browser, site: &str, path: &str) {
    browser.goto(&format!("{site}{path}")).await;
    browser.wait_for_path(path.split('?').next().unwrap()).await;
}

async fn submit(browser: &Browser, selector: &str) {
    browser.click(&browser.find(selector).await).await;
}

/// Sets a form field's value (a select, or a long text) and fires `input`.
async fn set_value(browser: &Browser, selector: &str, value: &str) {
    let element = browser.find(selector).await;
    browser
        .execute(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))",
            json!([element.json(), value]),
        )
        .await;
}

async fn body_text(browser: &Browser) -> String {
    browser.text_of("main").await
}

/// A download of the console with the browser's session cookie (the pages allow no script to
/// fetch: `connect-src 'none'`).
async fn download(browser: &Browser, site: &str, path: &str) -> String {
    let cookie = browser
        .cookies()
        .await
        .into_iter()
        .find(|c| c["name"] == "hl_staff")
        .expect("signed in");
    let response = reqwest::Client::new()
        .get(format!("{site}{path}"))
        .header(
            "cookie",
            format!("hl_staff={}", cookie["value"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = response.text().await.unwrap();
    text.strip_prefix('\u{feff}')
        .expect("a BOM for spreadsheets")
        .to_owned()
}

async fn assert_no_console_errors(browser: &Browser, step: &str) {
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| !e.contains("/favicon.ico "))
        .collect();
    assert!(errors.is_empty(), "console errors {step}: {errors:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_runs_the_platform_from_the_console_in_headless_chromium() {
    require_chromium();
    let service = service().await;
    let site = service.site.clone();
    let browser = Browser::start().await;

    // Sign in.
    open(&browser, &site, "/staff/login").await;
    browser
        .type_text(&browser.find("#username").await, USERNAME)
        .await;
    browser
        .type_text(&browser.find("#password").await, PASSWORD)
        .await;
    submit(&browser, "form[action='/staff/login'] button[type=submit]").await;
    browser.wait_for_path("/staff").await;

    // The directory: the seed's two provincial desks; a bad file changes nothing.
    browser
        .click(&browser.find("nav a[href='/staff/directory']").await)
        .await;
    browser.wait_for_path("/staff/directory").await;
    assert!(body_text(&browser)
        .await
        .contains("Danh bạ hiện có 2 mục của 0 xã"));
    set_value(&browser, "textarea#csv", BAD_CSV).await;
    submit(&browser, "form[action='/staff/directory/import'] button").await;
    let errors = browser.text_of("[data-testid=import-errors]").await;
    assert!(
        errors.contains("Dòng 2") && errors.contains("vai trò"),
        "{errors}"
    );
    assert!(body_text(&browser).await.contains("Danh bạ hiện có 2 mục"));
    // The refusal is a 422 page, which Chromium logs; nothing else may be.
    let logged = browser.console_errors().await;
    assert!(
        logged.iter().all(
            |e| (e.contains("/staff/directory/import") && e.contains("422"))
                || e.contains("/favicon.ico ")
        ),
        "{logged:#?}"
    );
    set_value(&browser, "textarea#csv", GOOD_CSV).await;
    submit(&browser, "form[action='/staff/directory/import'] button").await;
    browser.wait_for_path("/staff/directory").await;
    let page = body_text(&browser).await;
    assert!(page.contains("Đã nhập 4 mục"), "{page}");
    assert!(
        page.contains("Tổ hòa giải tổ dân phố 3 (dữ liệu thử)"),
        "{page}"
    );
    shot(&browser, "danh-ba.png").await;
    let exported = download(&browser, &site, "/staff/directory.csv").await;
    assert!(
        exported.starts_with("ma_xa,xa_phuong,vai_tro,ho_ten"),
        "{exported}"
    );
    assert_eq!(
        hoiluat::platform::directory::parse_csv(&exported)
            .unwrap()
            .len(),
        4,
        "the export imports again"
    );

    // A survey: built in the form, opened.
    browser
        .click(&browser.find("nav a[href='/staff/surveys']").await)
        .await;
    browser.wait_for_path("/staff/surveys").await;
    browser
        .type_text(
            &browser.find("input[name=title]").await,
            "Nhu cầu tìm hiểu pháp luật 2027",
        )
        .await;
    browser
        .type_text(
            &browser.find("input[name=q1_prompt]").await,
            "Bạn muốn tìm hiểu lĩnh vực nào nhất?",
        )
        .await;
    set_value(&browser, "select[name=q1_kind]", "single_choice").await;
    set_value(
        &browser,
        "textarea[name=q1_options]",
        "Đất đai\nHôn nhân và gia đình\nDoanh nghiệp",
    )
    .await;
    browser
        .type_text(
            &browser.find("input[name=q2_prompt]").await,
            "Bạn hài lòng với Hỏi Luật ở mức nào?",
        )
        .await;
    set_value(&browser, "select[name=q2_kind]", "scale").await;
    browser
        .type_text(
            &browser.find("input[name=q3_prompt]").await,
            "Bạn cần Sở Tư pháp phổ biến thêm gì?",
        )
        .await;
    set_value(&browser, "select[name=q3_kind]", "text").await;
    submit(&browser, "[data-testid=survey-form] button[type=submit]").await;
    browser
        .wait_for(
            "the survey's page",
            Duration::from_secs(20),
            "return /^\\/staff\\/surveys\\/\\d+$/.test(location.pathname)",
        )
        .await;
    submit(&browser, "form[action$='/status'] button[value=open]").await;
    browser
        .wait_until(
            "the survey open",
            "return document.body.innerText.includes('Đóng khảo sát')",
        )
        .await;

    // Citizens write.
    let an = Citizen {
        service: &service,
        chat: "chat-an",
        sent: std::cell::Cell::new(0),
    };
    let answer = an
        .says("Hàng xóm xây nhà lấn sang đất nhà tôi, hai nhà mâu thuẫn, tôi phải làm gì?")
        .await;
    assert!(answer.contains("hòa giải viên ở cơ sở"), "{answer}");
    assert!(an
        .says("gặp cán bộ")
        .await
        .contains("xã, phường hay đặc khu"));
    let contacts = an.says("Cẩm Thành").await;
    assert!(
        contacts.contains("Tổ hòa giải tổ dân phố 3 (dữ liệu thử) — 0255 3 000 001"),
        "{contacts}"
    );
    let binh = Citizen {
        service: &service,
        chat: "chat-binh",
        sent: std::cell::Cell::new(0),
    };
    binh.says("Nam nữ bao nhiêu tuổi thì được kết hôn?").await;
    assert!(binh
        .says("cảm ơn")
        .await
        .contains("Nhu cầu tìm hiểu pháp luật 2027"));
    binh.says("có").await;
    binh.says("2").await;
    binh.says("4").await;
    binh.says("Thủ tục ly hôn, gọi tôi 0905 123 456").await;
    assert!(binh
        .says("đăng ký nhận tin")
        .await
        .contains("đăng ký nhận tin pháp luật"));
    let cuong = Citizen {
        service: &service,
        chat: "chat-cuong",
        sent: std::cell::Cell::new(0),
    };
    for step in [
        "hỗ trợ doanh nghiệp",
        "Hộ kinh doanh Cường Phát",
        "chưa có",
        "Thủ tục chuyển hộ kinh doanh thành doanh nghiệp?",
        "0912 345 678",
    ] {
        cuong.says(step).await;
    }
    assert!(cuong.says("xác nhận").await.contains("Đã gửi yêu cầu số"));

    // The handoff: taken over, answered in the chat, resolved.
    browser
        .click(&browser.find("nav a[href='/staff/handoffs']").await)
        .await;
    browser.wait_for_path("/staff/handoffs").await;
    let row = browser.text_of("[data-testid=handoffs] tbody tr").await;
    assert!(
        row.contains("Tranh chấp hàng xóm, gia đình") && row.contains("Phường Cẩm Thành"),
        "{row}"
    );
    submit(&browser, "[data-testid=handoffs] a").await;
    browser
        .wait_until(
            "the handoff page",
            "return !!document.querySelector('[data-testid=transcript]')",
        )
        .await;
    assert!(browser
        .text_of("[data-testid=contacts]")
        .await
        .contains("Tổ hòa giải tổ dân phố 3"));
    submit(&browser, "form[action$='/take'] button").await;
    let reply = browser.find("textarea#reply").await;
    browser
        .type_text(
            &reply,
            "Chào bạn, tổ hòa giải phường sẽ gọi cho bạn trong chiều nay.",
        )
        .await;
    submit(&browser, "form[action$='/reply'] button").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !an
        .service
        .fake
        .texts_to("chat-an")
        .iter()
        .any(|t| t.contains("tổ hòa giải phường sẽ gọi"))
    {
        assert!(
            Instant::now() < deadline,
            "the staff reply never reached the citizen"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.goto(&browser.current_url().await).await;
    browser
        .wait_for("the transcript with the sent reply", Duration::from_secs(20),
            "const t = document.querySelector('[data-testid=transcript]'); return t && t.innerText.includes('(đã gửi)') ? t.innerText : null")
        .await;
    // While staff hold the conversation, the citizen's message waits for them, unanswered.
    let quiet = an.says("Vâng, tôi chờ").await;
    assert!(quiet.is_empty(), "the bot stays silent: {quiet}");
    browser.goto(&browser.current_url().await).await;
    browser.wait_until("the citizen's message shown", "return document.querySelector('[data-testid=transcript]').innerText.includes('Vâng, tôi chờ')").await;
    browser
        .execute(
            "document.querySelector('textarea#reply').scrollIntoView({block: 'center'})",
            json!([]),
        )
        .await;
    shot(&browser, "gap-can-bo.png").await;
    submit(&browser, "form[action$='/close'] button[value=resolved]").await;
    browser
        .wait_until(
            "resolved",
            "return document.body.innerText.includes('Đã giải quyết')",
        )
        .await;

    // The SME request: in progress with a note, answered in the chat.
    browser
        .click(&browser.find("nav a[href='/staff/sme']").await)
        .await;
    browser.wait_for_path("/staff/sme").await;
    submit(&browser, "[data-testid=sme] a").await;
    browser
        .wait_until(
            "the request",
            "return !!document.querySelector('[data-testid=sme-request]')",
        )
        .await;
    let request = browser.text_of("[data-testid=sme-request]").await;
    assert!(
        request.contains("Hộ kinh doanh Cường Phát") && request.contains("(chưa có)"),
        "{request}"
    );
    set_value(&browser, "select[name=status]", "in_progress").await;
    browser
        .type_text(
            &browser.find("input#note").await,
            "Đã gọi điện hẹn làm việc",
        )
        .await;
    submit(&browser, "form[action$='/status'] button").await;
    browser.wait_until("in progress", "return document.querySelector('[data-testid=sme-request]').innerText.includes('trạng thái: Đang xử lý')").await;
    let answer_box = browser.find("form[action$='/reply'] textarea").await;
    browser.type_text(&answer_box, "Hộ kinh doanh chuyển đổi thành doanh nghiệp được hỗ trợ theo Điều 16 Luật Hỗ trợ doanh nghiệp nhỏ và vừa.").await;
    submit(&browser, "form[action$='/reply'] button").await;
    browser.wait_until("answered", "return document.querySelector('[data-testid=sme-request]').innerText.includes('trạng thái: Đã trả lời')").await;
    browser
        .click(&browser.find("nav a[href='/staff/sme']").await)
        .await;
    browser.wait_for_path("/staff/sme").await;
    let kpis = browser.text_of("[data-testid=sme-kpis]").await;
    assert!(
        !browser
            .text_of("[data-testid=sme-median]")
            .await
            .contains('—'),
        "{kpis}"
    );
    shot(&browser, "doanh-nghiep.png").await;

    // A notice: written, previewed, published, sent to the subscriber.
    browser
        .click(&browser.find("nav a[href='/staff/news']").await)
        .await;
    browser.wait_for_path("/staff/news").await;
    browser
        .type_text(
            &browser.find("input[name=title]").await,
            "Luật Hôn nhân và gia đình: điều kiện kết hôn",
        )
        .await;
    browser.type_text(&browser.find("textarea#body").await, "Nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi (Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13).").await;
    submit(&browser, "form[action='/staff/news'] button").await;
    browser
        .wait_until(
            "the preview",
            "return !!document.querySelector('[data-testid=preview]')",
        )
        .await;
    assert!(browser
        .text_of("[data-testid=preview]")
        .await
        .starts_with("📰 Luật Hôn nhân và gia đình"));
    submit(&browser, "form[action$='/publish'] button").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !service
        .fake
        .texts_to("chat-binh")
        .iter()
        .any(|t| t.starts_with("📰 Luật Hôn nhân"))
    {
        assert!(
            Instant::now() < deadline,
            "the notice never reached the subscriber"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.goto(&browser.current_url().await).await;
    browser.wait_until("delivery counts", "return (document.querySelector('[data-testid=delivery]') || {innerText: ''}).innerText.includes('đã gửi: 1')").await;
    shot(&browser, "tin-phap-luat.png").await;

    // The survey's results: counts, charts, the free text masked; the CSV.
    browser
        .click(&browser.find("nav a[href='/staff/surveys']").await)
        .await;
    browser.wait_for_path("/staff/surveys").await;
    submit(&browser, "[data-testid=surveys] a").await;
    browser
        .wait_until(
            "the results",
            "return !!document.querySelector('[data-testid=question-1] svg')",
        )
        .await;
    let results = body_text(&browser).await;
    assert!(
        results.contains("Hoàn thành\n1") || results.contains("Hoàn thành 1"),
        "{results}"
    );
    assert!(results.contains("Điểm trung bình: 4.00/5"), "{results}");
    assert!(
        results.contains("Thủ tục ly hôn, gọi tôi [số"),
        "masked: {results}"
    );
    assert!(!results.contains("0905 123 456"));
    shot(&browser, "khao-sat.png").await;
    let survey_path = browser.current_url().await.replace(&site, "");
    let csv = download(&browser, &site, &format!("{survey_path}/csv")).await;
    assert!(csv.contains(",single_choice,Hôn nhân và gia đình"), "{csv}");
    assert!(!csv.contains("0905"), "{csv}");

    // The listening report: topics by meaning, the unresolved questions, print and CSV.
    past_questions(&service.db).await;
    browser
        .click(&browser.find("nav a[href='/staff/listening']").await)
        .await;
    browser.wait_for_path("/staff/listening").await;
    let topics = browser.text_of("[data-testid=topics]").await;
    assert!(
        topics.contains("kết hôn") && topics.contains("khai sinh"),
        "{topics}"
    );
    // Grouped by meaning, not by text: the three land-price questions (worded differently) are
    // one topic, apart from the civil-status ones.
    let rows = browser
        .execute(
            "return Array.from(document.querySelectorAll('[data-testid=topics] tbody tr')).map(r => r.cells[0].innerText)",
            json!([]),
        )
        .await;
    let rows: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let land = rows
        .iter()
        .find(|r| r.contains("Giá đất bồi thường ở Lý Sơn"))
        .expect("a land topic");
    assert!(
        land.contains("Giá đất bồi thường khi thu hồi") && land.contains("Giá đền bù đất"),
        "{rows:#?}"
    );
    assert!(
        !land.contains("khai sinh") && !land.contains("kết hôn"),
        "{rows:#?}"
    );
    let unresolved = browser.text_of("[data-testid=unresolved]").await;
    assert!(unresolved.contains("Giá đất bồi thường"), "{unresolved}");
    shot(&browser, "lang-nghe.png").await;
    let listening = download(&browser, &site, "/staff/listening.csv").await;
    assert!(
        listening.starts_with("loai,chu_de_hoac_cau_hoi,linh_vuc,so_cau_hoi"),
        "{listening}"
    );
    browser
        .click(&browser.find("a[href^='/staff/listening/print']").await)
        .await;
    browser.wait_for_path("/staff/listening/print").await;
    assert!(
        browser
            .execute("return document.querySelector('nav')", json!([]))
            .await
            .is_null(),
        "no navigation on the printable page"
    );

    // The plan's report numbers on the statistics page, and their one export.
    open(&browser, &site, "/staff/stats").await;
    browser
        .execute(
            "document.querySelector('#ke-hoach').scrollIntoView()",
            json!([]),
        )
        .await;
    let plan = browser.text_of("[data-testid=plan]").await;
    assert!(
        plan.contains("Số người hỏi đáp pháp luật (tất cả kênh)\t17"),
        "3 today, 14 before: {plan}"
    );
    assert!(
        plan.contains("Yêu cầu gặp cán bộ: đã nhận / đã xử lý xong\t1 / 1"),
        "{plan}"
    );
    assert!(
        plan.contains("Yêu cầu hỗ trợ pháp lý doanh nghiệp: đã nhận / đã trả lời\t1 / 1"),
        "{plan}"
    );
    assert!(plan.contains("Số phiếu khảo sát hoàn thành\t1"), "{plan}");
    assert!(plan.contains("— Phường Cẩm Thành\t1"), "{plan}");
    assert!(plan.contains("— qua kênh Zalo Bot\t17"), "{plan}");
    shot(&browser, "bao-cao-ke-hoach.png").await;
    let report = download(&browser, &site, "/staff/stats/plan.csv").await;
    assert!(
        report.starts_with("ky_bao_cao,nhom,chi_tieu,gia_tri,ghi_chu"),
        "{report}"
    );
    assert!(report.contains("Tỷ lệ hài lòng"), "{report}");
    assert_no_console_errors(&browser, "on the platform's pages").await;
    let audited = service
        .db
        .scalar_i64(
            "SELECT count(*) FROM audit_log WHERE action IN ('directory_import', 'handoff_take', 'handoff_reply', 'handoff_resolved', 'sme_in_progress', 'sme_reply', 'news_publish', 'survey_create', 'export_plan_report')",
            vec![],
        )
        .await
        .unwrap();
    assert!(audited >= 9, "every action audited ({audited})");
    browser.quit().await;
}
