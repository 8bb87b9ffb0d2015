//! `hoiluat channels setup telegram|zalo-bot` and `hoiluat channels check`: register the webhook
//! with the platform and verify it, and verify every configured channel's credentials, reporting
//! what is wrong in plain (Vietnamese) words for the person setting the service up.
//!
//! Telegram's Bot API and the Zalo Bot Platform speak the same protocol:
//! `POST {base}/bot{token}/{method}` with a JSON body, answered `{"ok":true,"result":…}` or
//! `{"ok":false,"error_code":…,"description":…}`. The Zalo OA's token is checked with
//! `GET {api_base}/v2.0/oa/getoa` (header `access_token`), answered `{"error":0,"data":{…}}` or a
//! negative `error`. Nothing here refreshes the OA token: its refresh token is single-use and the
//! running service owns it.

use std::fmt;
use std::time::Duration;

use serde_json::{json, Value};

use super::{telegram, zalo_bot};
use crate::config::{ChannelsConfig, TelegramConfig, ZaloBotConfig, ZaloOaConfig};
use crate::db::Db;

/// Telegram's own Bot API, when `channels.telegram.api_url` is empty.
const TELEGRAM_API: &str = "https://api.telegram.org";
/// Longest wait for one platform request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The `channel_tokens` row of the OA token pair (the OA sender's).
const OA_TOKEN_CHANNEL: crate::db::ChannelKind = crate::db::ChannelKind::ZaloOa;

/// One line of a report: what was checked, and whether it is right.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub channel: &'static str,
    pub ok: bool,
    pub text: String,
}

impl Finding {
    fn ok(channel: &'static str, text: impl Into<String>) -> Finding {
        Finding {
            channel,
            ok: true,
            text: text.into(),
        }
    }

    fn wrong(channel: &'static str, text: impl Into<String>) -> Finding {
        Finding {
            channel,
            ok: false,
            text: text.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.ok { "✓" } else { "✗" };
        write!(f, "{mark} {}: {}", self.channel, self.text)
    }
}

/// The platform of a Bot-API-style channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotPlatform {
    Telegram,
    ZaloBot,
}

impl BotPlatform {
    fn name(self) -> &'static str {
        match self {
            BotPlatform::Telegram => "Telegram",
            BotPlatform::ZaloBot => "Zalo Bot",
        }
    }

    fn config_key(self) -> &'static str {
        match self {
            BotPlatform::Telegram => "channels.telegram",
            BotPlatform::ZaloBot => "channels.zalo_bot",
        }
    }

    fn webhook_path(self) -> &'static str {
        match self {
            BotPlatform::Telegram => telegram::WEBHOOK_PATH,
            BotPlatform::ZaloBot => zalo_bot::WEBHOOK_PATH,
        }
    }
}

/// The Bot API of one bot: base URL and token (secret: never printed).
struct BotApi {
    platform: BotPlatform,
    base: String,
    token: String,
    http: reqwest::Client,
}

impl BotApi {
    fn telegram(config: &TelegramConfig, http: reqwest::Client) -> BotApi {
        let base = if config.api_url.trim().is_empty() {
            TELEGRAM_API
        } else {
            config.api_url.trim()
        };
        BotApi {
            platform: BotPlatform::Telegram,
            base: base.trim_end_matches('/').to_owned(),
            token: config.token.clone(),
            http,
        }
    }

    fn zalo_bot(config: &ZaloBotConfig, http: reqwest::Client) -> BotApi {
        BotApi {
            platform: BotPlatform::ZaloBot,
            base: config.api_base.trim_end_matches('/').to_owned(),
            token: config.token.clone(),
            http,
        }
    }

    /// Calls `method`; `Ok(result)` when the platform says `ok`, else the problem in plain words.
    async fn call(&self, method: &str, body: Value) -> Result<Value, String> {
        let name = self.platform.name();
        let response = self
            .http
            .post(format!("{}/bot{}/{method}", self.base, self.token))
            .json(&body)
            .send()
            .await
            .map_err(|error| {
                // `without_url`: the URL holds the token.
                format!(
                    "không kết nối được tới {name} ({}): {}",
                    self.base,
                    error.without_url()
                )
            })?;
        let status = response.status();
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() && reply["ok"].as_bool() == Some(true) {
            return Ok(reply["result"].clone());
        }
        let description = reply["description"].as_str().unwrap_or("");
        let code = reply["error_code"]
            .as_i64()
            .unwrap_or(i64::from(status.as_u16()));
        let hint = match code {
            401 | 404 => format!(
                " — mã bot ({}.token) sai hoặc đã bị thu hồi",
                self.platform.config_key()
            ),
            429 => " — gửi quá nhiều yêu cầu, thử lại sau ít phút".to_owned(),
            _ => String::new(),
        };
        Err(format!(
            "{name} từ chối {method} (lỗi {code}{}){hint}",
            if description.is_empty() {
                String::new()
            } else {
                format!(": {description}")
            }
        ))
    }
}

/// The webhook address for `public_url` (the service's public HTTPS base, e.g.
/// `https://hoiluat.example.vn`), or why it cannot be used.
fn webhook_url(public_url: &str, platform: BotPlatform) -> Result<String, String> {
    let base = public_url.trim().trim_end_matches('/');
    if !is_origin(base, false) {
        return Err(format!(
            "--url phải là địa chỉ HTTPS công khai của dịch vụ, không có đường dẫn (ví dụ https://hoiluat.sotuphap.gov.vn); {} chỉ gọi webhook qua HTTPS",
            platform.name()
        ));
    }
    Ok(format!("{base}{}", platform.webhook_path()))
}

/// Whether `url` is `https://host[:port]` (or `http://…` when `http` is allowed), with no path.
fn is_origin(url: &str, http: bool) -> bool {
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://").filter(|_| http))
        .unwrap_or("");
    !host.is_empty() && !host.contains(['/', '?', '#', ' '])
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap_or_default()
}

/// `hoiluat channels setup telegram|zalo-bot --url …`: `setWebhook` with the configured secret
/// token, then `getWebhookInfo` to confirm the platform holds that address.
pub async fn setup(
    channels: &ChannelsConfig,
    platform: BotPlatform,
    public_url: &str,
) -> Vec<Finding> {
    let channel = platform.name();
    let url = match webhook_url(public_url, platform) {
        Ok(url) => url,
        Err(problem) => return vec![Finding::wrong(channel, problem)],
    };
    let http = http_client();
    let (api, secret, secret_rule) = match platform {
        BotPlatform::Telegram => (
            BotApi::telegram(&channels.telegram, http),
            channels.telegram.secret_token.as_str(),
            telegram_secret_problem(&channels.telegram.secret_token),
        ),
        BotPlatform::ZaloBot => (
            BotApi::zalo_bot(&channels.zalo_bot, http),
            channels.zalo_bot.secret_token.as_str(),
            zalo_bot_secret_problem(&channels.zalo_bot.secret_token),
        ),
    };
    if api.token.is_empty() {
        return vec![Finding::wrong(
            channel,
            format!("chưa có mã bot: đặt {}.token", platform.config_key()),
        )];
    }
    if let Some(problem) = secret_rule {
        return vec![Finding::wrong(channel, problem)];
    }
    let mut findings = Vec::new();
    let mut body = json!({ "url": url, "secret_token": secret });
    if platform == BotPlatform::Telegram {
        // Exactly the updates the adapter handles: messages and the feedback buttons.
        body["allowed_updates"] = json!(["message", "callback_query"]);
        if channels.telegram.mode != crate::config::TelegramMode::Webhook {
            findings.push(Finding::wrong(
                channel,
                "channels.telegram.mode đang là \"polling\": khi khởi động, dịch vụ sẽ xoá webhook này để nhận tin bằng getUpdates; đặt mode = \"webhook\"",
            ));
        }
    }
    match api.call("setWebhook", body).await {
        Ok(_) => findings.push(Finding::ok(
            channel,
            format!("đã đăng ký webhook {url} kèm mã bí mật"),
        )),
        Err(problem) => {
            findings.push(Finding::wrong(channel, problem));
            return findings;
        }
    }
    findings.extend(webhook_state(&api, Some(url.as_str())).await);
    findings
}

/// `getWebhookInfo`, compared with what the service expects: `expected` is the address for
/// webhook mode, `None` for polling (no webhook may be set then).
async fn webhook_state(api: &BotApi, expected: Option<&str>) -> Vec<Finding> {
    let channel = api.platform.name();
    let info = match api.call("getWebhookInfo", json!({})).await {
        Ok(info) => info,
        Err(problem) => return vec![Finding::wrong(channel, problem)],
    };
    let registered = info["url"].as_str().unwrap_or("");
    let mut findings = Vec::new();
    match expected {
        Some(expected) if registered == expected => findings.push(Finding::ok(
            channel,
            format!("getWebhookInfo xác nhận webhook {registered}"),
        )),
        Some(_) if registered.is_empty() => findings.push(Finding::wrong(
            channel,
            format!(
                "chưa đăng ký webhook nào: chạy `hoiluat channels setup {} --url https://…`",
                cli_name(api.platform)
            ),
        )),
        Some(expected) if !registered.ends_with(api.platform.webhook_path()) => {
            findings.push(Finding::wrong(
                channel,
                format!("webhook đang trỏ tới {registered}, không phải {expected}: tin nhắn sẽ không tới dịch vụ này"),
            ))
        }
        Some(_) => findings.push(Finding::ok(
            channel,
            format!("webhook đã đăng ký: {registered}"),
        )),
        None if registered.is_empty() => findings.push(Finding::ok(
            channel,
            "không có webhook: nhận tin bằng getUpdates (polling)",
        )),
        None => findings.push(Finding::wrong(
            channel,
            format!("đang có webhook {registered} trong khi mode = \"polling\": getUpdates bị từ chối cho tới khi dịch vụ khởi động và xoá webhook"),
        )),
    }
    if let Some(pending) = info["pending_update_count"].as_u64().filter(|&n| n > 0) {
        findings.push(Finding::ok(
            channel,
            format!("{pending} cập nhật đang chờ được gửi tới webhook"),
        ));
    }
    if let Some(error) = info["last_error_message"]
        .as_str()
        .filter(|e| !e.is_empty())
    {
        findings.push(Finding::wrong(
            channel,
            format!("lần gửi gần nhất tới webhook bị lỗi: {error} — kiểm tra dịch vụ có chạy và truy cập được qua HTTPS không"),
        ));
    }
    findings
}

fn cli_name(platform: BotPlatform) -> &'static str {
    match platform {
        BotPlatform::Telegram => "telegram",
        BotPlatform::ZaloBot => "zalo-bot",
    }
}

fn telegram_secret_problem(secret: &str) -> Option<String> {
    let valid = (1..=256).contains(&secret.len())
        && secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    (!valid).then(|| "channels.telegram.secret_token phải có 1–256 ký tự A–Z a–z 0–9 _ - (Telegram gửi lại nó trong mỗi webhook để dịch vụ nhận ra)".to_owned())
}

fn zalo_bot_secret_problem(secret: &str) -> Option<String> {
    (!(8..=256).contains(&secret.chars().count())).then(|| {
        "channels.zalo_bot.secret_token phải dài 8–256 ký tự (Zalo gửi lại nó trong mỗi webhook để dịch vụ nhận ra)".to_owned()
    })
}

/// `hoiluat channels check`: every enabled channel's credentials and webhook, in plain words.
/// `db` gives the OA's current token pair (after refreshes it lives there, not in the config).
pub async fn check(channels: &ChannelsConfig, db: Option<&Db>) -> Vec<Finding> {
    let http = http_client();
    let mut findings = Vec::new();
    if channels.telegram.enabled {
        let api = BotApi::telegram(&channels.telegram, http.clone());
        findings.extend(
            check_bot(
                &api,
                channels.telegram.mode == crate::config::TelegramMode::Webhook,
            )
            .await,
        );
    } else {
        findings.push(Finding::ok(
            "Telegram",
            "tắt (channels.telegram.enabled = false)",
        ));
    }
    if channels.zalo_bot.enabled {
        let api = BotApi::zalo_bot(&channels.zalo_bot, http.clone());
        findings.extend(check_bot(&api, true).await);
    } else {
        findings.push(Finding::ok(
            "Zalo Bot",
            "tắt (channels.zalo_bot.enabled = false)",
        ));
    }
    if channels.zalo_oa.enabled {
        findings.extend(check_zalo_oa(&channels.zalo_oa, db, &http).await);
    } else {
        findings.push(Finding::ok(
            "Zalo OA",
            "tắt (channels.zalo_oa.enabled = false)",
        ));
    }
    findings.extend(check_web(channels));
    findings
}

async fn check_bot(api: &BotApi, webhook_mode: bool) -> Vec<Finding> {
    let channel = api.platform.name();
    if api.token.is_empty() {
        return vec![Finding::wrong(
            channel,
            format!(
                "bật nhưng chưa có mã bot: đặt {}.token",
                api.platform.config_key()
            ),
        )];
    }
    let me = match api.call("getMe", json!({})).await {
        Ok(me) => me,
        Err(problem) => return vec![Finding::wrong(channel, problem)],
    };
    let name = me["username"]
        .as_str()
        .or_else(|| me["account_name"].as_str())
        .or_else(|| me["display_name"].as_str())
        .unwrap_or("?");
    let mut findings = vec![Finding::ok(channel, format!("mã bot hợp lệ (bot {name})"))];
    let expected = webhook_mode.then(|| format!("…{}", api.platform.webhook_path()));
    findings.extend(webhook_state(api, expected.as_deref()).await);
    findings
}

async fn check_zalo_oa(
    config: &ZaloOaConfig,
    db: Option<&Db>,
    http: &reqwest::Client,
) -> Vec<Finding> {
    const CHANNEL: &str = "Zalo OA";
    let mut findings = Vec::new();
    for (value, key, why) in [
        (&config.app_id, "app_id", "để kiểm tra chữ ký webhook"),
        (
            &config.oa_secret_key,
            "oa_secret_key",
            "để kiểm tra chữ ký webhook",
        ),
        (&config.app_secret, "app_secret", "để làm mới access token"),
    ] {
        if value.is_empty() {
            findings.push(Finding::wrong(
                CHANNEL,
                format!("thiếu channels.zalo_oa.{key} ({why})"),
            ));
        }
    }
    let stored = match db {
        Some(db) => db
            .load_token(OA_TOKEN_CHANNEL)
            .await
            .unwrap_or_else(|error| {
                findings.push(Finding::wrong(
                    CHANNEL,
                    format!("không đọc được cặp token đã lưu trong cơ sở dữ liệu: {error}"),
                ));
                None
            }),
        None => None,
    };
    let (access_token, refresh_token, source) = match &stored {
        Some(pair) => (
            pair.access_token.as_str(),
            pair.refresh_token.as_str(),
            "cặp token dịch vụ đã làm mới (trong cơ sở dữ liệu)",
        ),
        None => (
            config.access_token.as_str(),
            config.refresh_token.as_str(),
            "cặp token trong cấu hình",
        ),
    };
    if refresh_token.is_empty() {
        findings.push(Finding::wrong(
            CHANNEL,
            format!("{source} không có refresh token: khi access token hết hạn (khoảng 25 giờ), dịch vụ không tự làm mới được"),
        ));
    }
    if access_token.is_empty() {
        findings.push(Finding::wrong(
            CHANNEL,
            format!("{source} không có access token: cấp quyền cho ứng dụng trong Zalo for Developers rồi đặt channels.zalo_oa.access_token và refresh_token"),
        ));
        return findings;
    }
    let response = http
        .get(format!(
            "{}/v2.0/oa/getoa",
            config.api_base.trim_end_matches('/')
        ))
        .header("access_token", access_token)
        .send()
        .await;
    let reply: Value = match response {
        Ok(response) => response.json().await.unwrap_or(Value::Null),
        Err(error) => {
            findings.push(Finding::wrong(
                CHANNEL,
                format!(
                    "không kết nối được tới Zalo OA API ({}): {error}",
                    config.api_base
                ),
            ));
            return findings;
        }
    };
    match reply["error"].as_i64() {
        Some(0) => findings.push(Finding::ok(
            CHANNEL,
            format!(
                "access token hợp lệ ({source}) cho OA {}",
                reply["data"]["name"].as_str().unwrap_or("?")
            ),
        )),
        Some(code @ (-216 | -220)) => findings.push(Finding::wrong(
            CHANNEL,
            format!(
                "Zalo từ chối access token (lỗi {code}: token sai hoặc hết hạn). {}",
                if refresh_token.is_empty() {
                    "Không có refresh token: cấp lại quyền để lấy cặp token mới."
                } else {
                    "Dịch vụ sẽ tự làm mới bằng refresh token ở lần gửi tới; nếu vẫn lỗi, cấp lại quyền để lấy cặp token mới."
                }
            ),
        )),
        Some(code) => findings.push(Finding::wrong(
            CHANNEL,
            format!(
                "Zalo trả lỗi {code}: {}",
                reply["message"].as_str().unwrap_or("")
            ),
        )),
        None => findings.push(Finding::wrong(
            CHANNEL,
            "Zalo OA API trả về nội dung không đọc được",
        )),
    }
    findings
}

fn check_web(channels: &ChannelsConfig) -> Vec<Finding> {
    const CHANNEL: &str = "Web";
    if !channels.web.enabled {
        return vec![Finding::ok(CHANNEL, "tắt (channels.web.enabled = false)")];
    }
    let mut findings = Vec::new();
    for origin in &channels.web.allowed_origins {
        if !is_origin(origin.trim().trim_end_matches('/'), true) {
            findings.push(Finding::wrong(
                CHANNEL,
                format!("allowed_origins có {origin:?}: mỗi mục phải là một origin như https://sotuphap.quangngai.gov.vn (không có đường dẫn)"),
            ));
        }
    }
    if findings.is_empty() {
        findings.push(Finding::ok(
            CHANNEL,
            match channels.web.allowed_origins.len() {
                0 => "bật; chỉ các trang của chính dịch vụ nhúng được widget".to_owned(),
                n => format!("bật; {n} trang web được phép nhúng widget"),
            },
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_need_a_public_https_base() {
        assert_eq!(
            webhook_url("https://hoiluat.example.vn/", BotPlatform::Telegram).unwrap(),
            "https://hoiluat.example.vn/webhooks/telegram"
        );
        assert_eq!(
            webhook_url("https://hoiluat.example.vn", BotPlatform::ZaloBot).unwrap(),
            "https://hoiluat.example.vn/webhooks/zalo-bot"
        );
        for bad in [
            "http://hoiluat.example.vn",
            "https://",
            "https://a.vn/x",
            "hoiluat.vn",
        ] {
            assert!(webhook_url(bad, BotPlatform::Telegram).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_follow_each_platforms_rule() {
        assert!(telegram_secret_problem("abc_DEF-123").is_none());
        assert!(telegram_secret_problem("có dấu").is_some());
        assert!(telegram_secret_problem("").is_some());
        assert!(zalo_bot_secret_problem("12345678").is_none());
        assert!(zalo_bot_secret_problem("1234567").is_some());
    }
}
