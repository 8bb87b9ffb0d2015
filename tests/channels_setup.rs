//! `hoiluat channels setup` and `hoiluat channels check`, run as the real binary against local
//! servers on 127.0.0.1 that play Telegram's Bot API, the Zalo Bot Platform and the Zalo OA API
//! with their documented shapes: `POST /bot<TOKEN>/<method>` answered `{"ok":true,"result":…}` or
//! `{"ok":false,"error_code":…,"description":…}`, and `GET /v2.0/oa/getoa` with an
//! `access_token` header answered `{"error":0,"data":{…}}` or a negative `error`.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

const TELEGRAM_TOKEN: &str = "7012345678:AAHk-test_token";
const TELEGRAM_SECRET: &str = "s3cret_Token-of-the-webhook";
const ZALO_BOT_TOKEN: &str = "2211:zalo-bot-token";
const ZALO_BOT_SECRET: &str = "zalo-bot-webhook-secret";
const OA_TOKEN: &str = "oa-access-token-valid";
const PUBLIC: &str = "https://hoiluat.example.vn";

/// One fake bot platform: the webhook it holds, and every call made to it.
#[derive(Default)]
struct FakeBot {
    token: &'static str,
    /// Telegram checks `secret_token` against its own alphabet; Zalo Bot against 8–256 chars.
    telegram_rules: bool,
    webhook: Mutex<Option<(String, String)>>,
    last_error: Mutex<Option<String>>,
    calls: Mutex<Vec<(String, Value)>>,
}

fn reply_error(status: StatusCode, description: &str) -> Response {
    (
        status,
        Json(json!({"ok": false, "error_code": status.as_u16(), "description": description})),
    )
        .into_response()
}

async fn bot_method(
    State(fake): State<Arc<FakeBot>>,
    Path((bot, method)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    fake.calls
        .lock()
        .unwrap()
        .push((method.to_ascii_lowercase(), body.clone()));
    if bot.strip_prefix("bot") != Some(fake.token) {
        return reply_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    match method.to_ascii_lowercase().as_str() {
        "getme" if fake.telegram_rules => Json(json!({"ok": true, "result": {
            "id": 7012345678u64, "is_bot": true, "first_name": "Hỏi Luật", "username": "hoiluat_bot"
        }})).into_response(),
        "getme" => Json(json!({"ok": true, "result": {
            "id": "2211", "account_name": "bot.hoiluat", "account_type": "BASIC", "can_join_groups": false
        }})).into_response(),
        "setwebhook" => {
            let url = body["url"].as_str().unwrap_or("");
            let secret = body["secret_token"].as_str().unwrap_or("");
            if !url.starts_with("https://") {
                return reply_error(StatusCode::BAD_REQUEST, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook");
            }
            let secret_ok = if fake.telegram_rules {
                (1..=256).contains(&secret.len())
                    && secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            } else {
                (8..=256).contains(&secret.len())
            };
            if !secret_ok {
                return reply_error(StatusCode::BAD_REQUEST, "Bad Request: secret token contains unallowed characters");
            }
            *fake.webhook.lock().unwrap() = Some((url.to_owned(), secret.to_owned()));
            Json(json!({"ok": true, "result": true, "description": "Webhook was set"})).into_response()
        }
        "getwebhookinfo" => {
            let url = fake.webhook.lock().unwrap().clone().map(|(u, _)| u).unwrap_or_default();
            let mut info = json!({"url": url, "has_custom_certificate": false, "pending_update_count": 0});
            if let Some(error) = fake.last_error.lock().unwrap().clone() {
                info["last_error_date"] = json!(1_764_900_000);
                info["last_error_message"] = json!(error);
            }
            Json(json!({"ok": true, "result": info})).into_response()
        }
        _ => reply_error(StatusCode::NOT_FOUND, "Not Found: method not found"),
    }
}

/// The Zalo OA API: only `getoa`, with the access token that is valid now.
#[derive(Default)]
struct FakeOa {
    valid_token: Mutex<String>,
}

async fn getoa(State(fake): State<Arc<FakeOa>>, headers: HeaderMap) -> Json<Value> {
    let presented = headers
        .get("access_token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if presented == *fake.valid_token.lock().unwrap() {
        Json(
            json!({"data": {"oa_id": "579745863508352884", "name": "Sở Tư pháp Quảng Ngãi"}, "error": 0, "message": "Success"}),
        )
    } else {
        Json(json!({"error": -216, "message": "Access token is invalid"}))
    }
}

struct Fakes {
    base: String,
    telegram: Arc<FakeBot>,
    zalo_bot: Arc<FakeBot>,
}

async fn start_fakes() -> Fakes {
    let telegram = Arc::new(FakeBot {
        token: TELEGRAM_TOKEN,
        telegram_rules: true,
        ..FakeBot::default()
    });
    let zalo_bot = Arc::new(FakeBot {
        token: ZALO_BOT_TOKEN,
        ..FakeBot::default()
    });
    let oa = Arc::new(FakeOa::default());
    *oa.valid_token.lock().unwrap() = OA_TOKEN.into();
    let app = Router::new()
        .nest(
            "/telegram",
            Router::new()
                .route("/{bot}/{method}", post(bot_method))
                .with_state(telegram.clone()),
        )
        .nest(
            "/zalo-bot",
            Router::new()
                .route("/{bot}/{method}", post(bot_method))
                .with_state(zalo_bot.clone()),
        )
        .route("/oa/v2.0/oa/getoa", get(getoa).with_state(oa));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Fakes {
        base,
        telegram,
        zalo_bot,
    }
}

/// Runs `hoiluat channels …` with the channels configured against the fakes.
async fn hoiluat(
    fakes: &Fakes,
    data: &std::path::Path,
    extra_env: &[(&str, String)],
    args: &[&str],
) -> (bool, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_hoiluat"));
    command
        .args(["channels"])
        .args(args)
        .env_remove("HOILUAT_CONFIG")
        .env("HOILUAT__PATHS__DATA_DIR", data)
        .env("HOILUAT__CHANNELS__TELEGRAM__TOKEN", TELEGRAM_TOKEN)
        .env("HOILUAT__CHANNELS__TELEGRAM__SECRET_TOKEN", TELEGRAM_SECRET)
        .env(
            "HOILUAT__CHANNELS__TELEGRAM__API_URL",
            format!("{}/telegram", fakes.base),
        )
        .env("HOILUAT__CHANNELS__ZALO_BOT__TOKEN", ZALO_BOT_TOKEN)
        .env("HOILUAT__CHANNELS__ZALO_BOT__SECRET_TOKEN", ZALO_BOT_SECRET)
        .env(
            "HOILUAT__CHANNELS__ZALO_BOT__API_BASE",
            format!("{}/zalo-bot", fakes.base),
        )
        .env(
            "HOILUAT__CHANNELS__ZALO_OA__API_BASE",
            format!("{}/oa", fakes.base),
        )
        .env("RUST_LOG", "warn");
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let output = command.output().await.unwrap();
    // What was printed, then what was logged (a configuration error goes there).
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_registers_each_webhook_with_its_secret_and_confirms_it() {
    let fakes = start_fakes().await;
    let data = tempfile::tempdir().unwrap();

    let (ok, out) = hoiluat(
        &fakes,
        data.path(),
        &[],
        &["setup", "telegram", "--url", &format!("{PUBLIC}/")],
    )
    .await;
    assert!(ok, "{out}");
    let expected = format!("{PUBLIC}/webhooks/telegram");
    assert_eq!(
        *fakes.telegram.webhook.lock().unwrap(),
        Some((expected.clone(), TELEGRAM_SECRET.to_owned()))
    );
    assert!(
        out.contains(&format!("✓ Telegram: đã đăng ký webhook {expected}")),
        "{out}"
    );
    assert!(out.contains("getWebhookInfo xác nhận"), "{out}");
    let calls = fakes.telegram.calls.lock().unwrap().clone();
    let set = calls.iter().find(|(m, _)| m == "setwebhook").unwrap();
    assert_eq!(
        set.1["allowed_updates"],
        json!(["message", "callback_query"])
    );
    assert!(calls.iter().any(|(m, _)| m == "getwebhookinfo"));
    assert!(
        !out.contains(TELEGRAM_TOKEN) && !out.contains(TELEGRAM_SECRET),
        "secrets are not printed"
    );

    let (ok, out) = hoiluat(
        &fakes,
        data.path(),
        &[],
        &["setup", "zalo-bot", "--url", PUBLIC],
    )
    .await;
    assert!(ok, "{out}");
    assert_eq!(
        *fakes.zalo_bot.webhook.lock().unwrap(),
        Some((
            format!("{PUBLIC}/webhooks/zalo-bot"),
            ZALO_BOT_SECRET.to_owned()
        ))
    );
    assert!(out.contains("✓ Zalo Bot: getWebhookInfo xác nhận"), "{out}");
}

/// `channels setup <platform>` with one setting changed, which must fail; returns what it said.
async fn refused(
    fakes: &Fakes,
    data: &std::path::Path,
    (key, value): (&str, &str),
    platform: &str,
) -> String {
    let env = [(key, value.to_owned())];
    let (ok, out) = hoiluat(fakes, data, &env, &["setup", platform, "--url", PUBLIC]).await;
    assert!(!ok, "{out}");
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_explains_what_is_wrong() {
    let fakes = start_fakes().await;
    let data = tempfile::tempdir().unwrap();

    // Plain HTTP is refused before anything is sent.
    let (ok, out) = hoiluat(
        &fakes,
        data.path(),
        &[],
        &["setup", "telegram", "--url", "http://hoiluat.example.vn"],
    )
    .await;
    assert!(!ok);
    assert!(
        out.contains("✗ Telegram: --url phải là địa chỉ HTTPS"),
        "{out}"
    );
    assert!(fakes.telegram.calls.lock().unwrap().is_empty());

    // A revoked token: the platform's 401, in plain words, naming the setting.
    let out = refused(
        &fakes,
        data.path(),
        ("HOILUAT__CHANNELS__TELEGRAM__TOKEN", "7012345678:revoked"),
        "telegram",
    )
    .await;
    assert!(out.contains("Telegram từ chối setWebhook (lỗi 401: Unauthorized) — mã bot (channels.telegram.token) sai"), "{out}");

    // A Zalo Bot secret that is too short is caught here, with the platform's rule.
    let out = refused(
        &fakes,
        data.path(),
        ("HOILUAT__CHANNELS__ZALO_BOT__SECRET_TOKEN", "short"),
        "zalo-bot",
    )
    .await;
    assert!(out.contains("secret_token phải dài 8–256 ký tự"), "{out}");
    assert!(fakes.zalo_bot.webhook.lock().unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_each_channel_in_plain_words() {
    let fakes = start_fakes().await;
    let data = tempfile::tempdir().unwrap();
    let enabled = |oa_token: &str| {
        vec![
            ("HOILUAT__CHANNELS__TELEGRAM__ENABLED", "true".to_owned()),
            ("HOILUAT__CHANNELS__ZALO_BOT__ENABLED", "true".to_owned()),
            ("HOILUAT__CHANNELS__ZALO_OA__ENABLED", "true".to_owned()),
            (
                "HOILUAT__CHANNELS__ZALO_OA__APP_ID",
                "1234567890".to_owned(),
            ),
            (
                "HOILUAT__CHANNELS__ZALO_OA__OA_SECRET_KEY",
                "TEST_OA_SECRET".to_owned(),
            ),
            (
                "HOILUAT__CHANNELS__ZALO_OA__APP_SECRET",
                "app-secret".to_owned(),
            ),
            (
                "HOILUAT__CHANNELS__ZALO_OA__ACCESS_TOKEN",
                oa_token.to_owned(),
            ),
            (
                "HOILUAT__CHANNELS__ZALO_OA__REFRESH_TOKEN",
                "refresh".to_owned(),
            ),
            (
                "HOILUAT__CHANNELS__WEB__ALLOWED_ORIGINS",
                "[\"https://sotuphap.quangngai.gov.vn\"]".to_owned(),
            ),
        ]
    };

    // Nothing registered yet, an expired OA token, and a delivery error the platform reported.
    *fakes.telegram.webhook.lock().unwrap() =
        Some(("https://old.example.vn/hook".into(), TELEGRAM_SECRET.into()));
    *fakes.telegram.last_error.lock().unwrap() = Some("Connection timed out".into());
    let (ok, out) = hoiluat(&fakes, data.path(), &enabled("expired"), &["check"]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("✓ Telegram: mã bot hợp lệ (bot hoiluat_bot)"),
        "{out}"
    );
    assert!(
        out.contains("✗ Telegram: webhook đang trỏ tới https://old.example.vn/hook"),
        "{out}"
    );
    assert!(
        out.contains("✗ Telegram: lần gửi gần nhất tới webhook bị lỗi: Connection timed out"),
        "{out}"
    );
    assert!(
        out.contains("✓ Zalo Bot: mã bot hợp lệ (bot bot.hoiluat)"),
        "{out}"
    );
    assert!(
        out.contains("✗ Zalo Bot: chưa đăng ký webhook nào: chạy `hoiluat channels setup zalo-bot"),
        "{out}"
    );
    assert!(
        out.contains("✗ Zalo OA: Zalo từ chối access token (lỗi -216"),
        "{out}"
    );
    assert!(
        out.contains("✓ Web: bật; 1 trang web được phép nhúng widget"),
        "{out}"
    );

    // Set up, fixed: every line is right and the exit status says so.
    *fakes.telegram.last_error.lock().unwrap() = None;
    for platform in ["telegram", "zalo-bot"] {
        let (ok, out) = hoiluat(
            &fakes,
            data.path(),
            &[],
            &["setup", platform, "--url", PUBLIC],
        )
        .await;
        assert!(ok, "{out}");
    }
    let (ok, out) = hoiluat(&fakes, data.path(), &enabled(OA_TOKEN), &["check"]).await;
    assert!(ok, "{out}");
    assert!(out.contains("✓ Zalo OA: access token hợp lệ (cặp token trong cấu hình) cho OA Sở Tư pháp Quảng Ngãi"), "{out}");
    assert!(!out.contains('✗'), "{out}");
}
