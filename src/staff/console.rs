//! The staff console's routes (`/staff/...`): sign-in, the review queue, the review page, curated
//! answers and statistics. Every route but the sign-in page needs a live session; every POST
//! needs the session's CSRF token; every review action is audited.

// Handlers return a ready `Response` as their error: it is large, but built once per request.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration as ChronoDuration, NaiveDate, Utc};
use serde::Deserialize;

use super::auth::{dummy_hash, random_token, token_hash, verify_password};
use super::corpus_admin::CorpusAdmin;
use super::html::{esc, html_response, local_time, page, secure_headers, status_label, url_encode};
use super::privacy::mask_personal_data;
use super::stats::{self, bar_chart, Period, SATISFACTION_TARGET};
use crate::answer::Assistant;
use crate::channels::dispatch::Dispatcher;
use crate::channels::{constant_time_eq, ChannelKind, Reply};
use crate::config::StaffConfig;
use crate::db::{
    AnswerDetail, Db, NewReview, QueueFilter, ReviewOutcome, StaffSession, FLAG_REASONS,
};

const SESSION_COOKIE: &str = "hl_staff";
const LOGIN_COOKIE: &str = "hl_login";
/// Longest accepted edited answer, in characters.
const MAX_ANSWER_CHARS: usize = 6_000;
const MAX_NOTE_CHARS: usize = 2_000;

#[derive(Clone)]
pub struct StaffState {
    pub db: Db,
    pub dispatcher: Dispatcher,
    pub assistant: Arc<OnceLock<Arc<Assistant>>>,
    pub config: StaffConfig,
    /// Corpus administration (`/staff/corpus`): where the corpus lives, the re-index job.
    pub corpus: CorpusAdmin,
}

pub fn routes(state: StaffState) -> Router {
    Router::new()
        .route("/staff/login", get(login_page).post(login))
        .route("/staff/logout", post(logout))
        .route("/staff", get(queue))
        .route("/staff/answers/{id}", get(review_page))
        .route("/staff/answers/{id}/review", post(review))
        .route("/staff/curated", get(curated_page))
        .route("/staff/curated/{id}", post(curated_update))
        .route("/staff/stats", get(stats_page))
        .route("/staff/stats.csv", get(stats_csv))
        .merge(super::corpus_admin::routes())
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Sessions

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn set_cookie(config: &StaffConfig, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/staff; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie values are hex")
}

/// The signed-in staff member, or the response to give instead (sign-in page for GET, 401 for
/// POST).
pub(super) async fn session(
    state: &StaffState,
    headers: &HeaderMap,
    is_get: bool,
) -> Result<StaffSession, Response> {
    let token = cookie(headers, SESSION_COOKIE).filter(|t| t.len() == 64);
    let found = match token {
        Some(token) => state
            .db
            .session(token_hash(token))
            .await
            .map_err(internal)?,
        None => None,
    };
    found.ok_or_else(|| {
        if is_get {
            Redirect::to("/staff/login").into_response()
        } else {
            error_page(
                StatusCode::UNAUTHORIZED,
                "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại.",
            )
        }
    })
}

pub(super) fn check_csrf(session: &StaffSession, submitted: &str) -> Result<(), Response> {
    if constant_time_eq(session.csrf_token.as_bytes(), submitted.as_bytes()) {
        Ok(())
    } else {
        tracing::warn!(staff = session.staff.id, "CSRF token mismatch");
        Err(error_page(
            StatusCode::FORBIDDEN,
            "Yêu cầu không hợp lệ (mã bảo vệ biểu mẫu sai). Vui lòng tải lại trang và thử lại.",
        ))
    }
}

/// The signed-in staff member of a form post, whose CSRF token must match the session's.
async fn form_session(
    state: &StaffState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<StaffSession, Response> {
    let session = session(state, headers, false).await?;
    check_csrf(&session, csrf)?;
    Ok(session)
}

pub(super) fn nav(session: &StaffSession) -> Option<(&str, &str, bool)> {
    Some((
        session.staff.display_name.as_str(),
        session.csrf_token.as_str(),
        session.staff.is_admin(),
    ))
}

pub(super) fn error_page(status: StatusCode, message: &str) -> Response {
    html_response(
        status,
        page("Lỗi", None, &format!("<p class=\"error\" role=\"alert\">{}</p><p><a href=\"/staff\">Về trang chính</a></p>", esc(message))),
    )
}

pub(super) fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "staff console failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Hệ thống gặp lỗi. Vui lòng thử lại sau.",
    )
}

// ---------------------------------------------------------------------------------------------
// Sign-in

async fn login_page(State(state): State<StaffState>) -> Response {
    login_form(&state, StatusCode::OK, None)
}

/// The sign-in form with a fresh pre-session CSRF token (double-submit: cookie + hidden field).
fn login_form(state: &StaffState, status: StatusCode, error: Option<&str>) -> Response {
    let token = random_token();
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Đăng nhập</h1>{error}<form method=\"post\" action=\"/staff/login\" class=\"card\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
         <p><label for=\"username\">Tên đăng nhập</label><br><input id=\"username\" name=\"username\" autocomplete=\"username\" required maxlength=\"64\"></p>\
         <p><label for=\"password\">Mật khẩu</label><br><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"256\"></p>\
         <p><button type=\"submit\">Đăng nhập</button></p></form>"
    );
    let mut response = html_response(status, page("Đăng nhập", None, &body));
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state.config, LOGIN_COOKIE, &token, 1800),
    );
    response
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

const LOGIN_FAILED: &str = "Tên đăng nhập hoặc mật khẩu không đúng.";

async fn login(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return login_form(
            &state,
            StatusCode::FORBIDDEN,
            Some("Trang đăng nhập đã hết hạn. Vui lòng thử lại."),
        );
    }
    if form.username.len() > 64 || form.password.len() > 256 {
        return login_form(&state, StatusCode::UNAUTHORIZED, Some(LOGIN_FAILED));
    }
    let account = match state.db.staff_by_username(form.username.clone()).await {
        Ok(account) => account,
        Err(error) => return internal(error),
    };
    let now = Utc::now();
    let Some(account) = account.filter(|a| !a.disabled) else {
        // Same work as a real check, so timing does not tell which accounts exist.
        let password = form.password.clone();
        let _ = tokio::task::spawn_blocking(move || verify_password(&password, dummy_hash())).await;
        let _ = state
            .db
            .audit(
                None,
                "login_failed",
                Some(format!("user:{}", form.username)),
                Some("unknown or disabled".into()),
            )
            .await;
        return login_form(&state, StatusCode::UNAUTHORIZED, Some(LOGIN_FAILED));
    };
    let locked = account
        .locked_until
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .filter(|until| *until > now);
    if let Some(until) = locked {
        let minutes = (until.with_timezone(&Utc) - now).num_minutes() + 1;
        let _ = state
            .db
            .audit(Some(account.id), "login_refused_locked", None, None)
            .await;
        return login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            Some(&format!("Tài khoản tạm khóa do đăng nhập sai nhiều lần. Vui lòng thử lại sau {minutes} phút.")),
        );
    }
    let password = form.password.clone();
    let hash = account.password_hash.clone();
    let valid = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    if !valid {
        let failures = account.failed_logins + 1;
        let lock_until = (failures >= state.config.max_failed_logins).then(|| {
            (now + ChronoDuration::minutes(state.config.lockout_minutes as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        });
        let locked_now = lock_until.is_some();
        if let Err(error) = state.db.record_login_failure(account.id, lock_until).await {
            return internal(error);
        }
        let _ = state
            .db
            .audit(
                Some(account.id),
                if locked_now {
                    "account_locked"
                } else {
                    "login_failed"
                },
                None,
                None,
            )
            .await;
        tracing::warn!(
            staff = account.id,
            failures,
            locked = locked_now,
            "staff sign-in failed"
        );
        return login_form(&state, StatusCode::UNAUTHORIZED, Some(LOGIN_FAILED));
    }
    let token = random_token();
    let expires = now + ChronoDuration::hours(state.config.session_hours as i64);
    let stored = async {
        state.db.reset_login_failures(account.id).await?;
        state
            .db
            .create_session(
                token_hash(&token),
                account.id,
                random_token(),
                expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            )
            .await?;
        state.db.audit(Some(account.id), "login", None, None).await
    };
    if let Err(error) = stored.await {
        return internal(error);
    }
    tracing::info!(staff = account.id, "staff signed in");
    let mut response = Redirect::to("/staff").into_response();
    let max_age = state.config.session_hours as i64 * 3600;
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state.config, SESSION_COOKIE, &token, max_age),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state.config, LOGIN_COOKIE, "", 0),
    );
    secure_headers(headers);
    response
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let session = match form_session(&state, &headers, &form.csrf).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        if let Err(error) = state.db.delete_session(token_hash(token)).await {
            return internal(error);
        }
    }
    let _ = state
        .db
        .audit(Some(session.staff.id), "logout", None, None)
        .await;
    let mut response = Redirect::to("/staff/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state.config, SESSION_COOKIE, "", 0),
    );
    response
}

// ---------------------------------------------------------------------------------------------
// Queue

#[derive(Deserialize, Default)]
struct QueueQuery {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    state: String,
}

fn valid_day(text: &str) -> bool {
    text.is_empty() || NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

fn reason_label(reason: &str) -> &'static str {
    match reason {
        "low_confidence" => "Độ tin cậy thấp",
        "declined" => "Đã từ chối trả lời",
        "thumbs_down" => "Người dân không hài lòng (👎)",
        "reported" => "Người dân báo lỗi",
        "human_requested" => "Đề nghị gặp cán bộ",
        "sensitive_topic" => "Chủ đề nhạy cảm",
        "delivery_failed" => "Gửi trả lời thất bại",
        _ => "Khác",
    }
}

fn select(name: &str, label: &str, options: &[(String, String)], selected: &str) -> String {
    let mut html = format!(
        "<label>{} <select name=\"{name}\"><option value=\"\">Tất cả</option>",
        esc(label)
    );
    for (value, text) in options {
        let mark = if value == selected { " selected" } else { "" };
        html.push_str(&format!(
            "<option value=\"{}\"{mark}>{}</option>",
            esc(value),
            esc(text)
        ));
    }
    html.push_str("</select></label> ");
    html
}

async fn queue(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Query(query): Query<QueueQuery>,
) -> Response {
    let session = match session(&state, &headers, true).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if !valid_day(&query.from) || !valid_day(&query.to) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Ngày phải có dạng NNNN-TT-NN (ví dụ 2026-12-01).",
        );
    }
    let filter = QueueFilter {
        reason: query.reason.clone(),
        channel: query.channel.clone(),
        topic: query.topic.clone(),
        from: query.from.clone(),
        to: query.to.clone(),
        state: query.state.clone(),
        limit: 200,
    };
    let (items, topics) =
        match tokio::try_join!(state.db.review_queue(filter), state.db.flagged_topics()) {
            Ok(found) => found,
            Err(error) => return internal(error),
        };
    let reasons: Vec<(String, String)> = FLAG_REASONS
        .iter()
        .map(|r| (r.to_string(), reason_label(r).to_owned()))
        .collect();
    let channels: Vec<(String, String)> = ChannelKind::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), c.as_str().to_owned()))
        .collect();
    let topics: Vec<(String, String)> = topics.into_iter().map(|t| (t.clone(), t)).collect();
    let states = [
        ("pending".to_owned(), "Chưa duyệt".to_owned()),
        ("reviewed".into(), "Đã duyệt".into()),
        ("all".into(), "Tất cả".into()),
    ];
    let mut body = String::from("<h1>Câu trả lời cần cán bộ xem lại</h1><form method=\"get\" action=\"/staff\" class=\"card\" aria-label=\"Lọc\">");
    body.push_str(&select("reason", "Lý do", &reasons, &query.reason));
    body.push_str(&select("channel", "Kênh", &channels, &query.channel));
    body.push_str(&select("topic", "Lĩnh vực", &topics, &query.topic));
    body.push_str(&format!(
        "<label>Từ ngày <input type=\"date\" name=\"from\" value=\"{}\"></label> <label>Đến ngày <input type=\"date\" name=\"to\" value=\"{}\"></label> ",
        esc(&query.from),
        esc(&query.to)
    ));
    let mut state_select = String::from("<label>Trạng thái <select name=\"state\">");
    for (value, text) in &states {
        let mark = if *value == query.state || (query.state.is_empty() && value == "pending") {
            " selected"
        } else {
            ""
        };
        state_select.push_str(&format!("<option value=\"{value}\"{mark}>{text}</option>"));
    }
    body.push_str(&state_select);
    body.push_str("</select></label> <button type=\"submit\">Lọc</button></form>");
    if items.is_empty() {
        body.push_str(
            "<p class=\"muted\">Không có câu trả lời nào cần xem lại với bộ lọc này.</p>",
        );
    } else {
        body.push_str(&format!("<p>{} câu trả lời.</p><table data-testid=\"queue\"><thead><tr><th>Thời gian</th><th>Kênh</th><th>Câu hỏi</th><th>Trạng thái</th><th>Lý do</th><th>Lĩnh vực</th><th></th></tr></thead><tbody>", items.len()));
        for item in &items {
            let reasons: String = item
                .reasons
                .split(',')
                .filter(|r| !r.is_empty())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|r| format!("<span class=\"flag\">{}</span>", esc(reason_label(r))))
                .collect();
            let question: String = mask_personal_data(&item.question)
                .chars()
                .take(160)
                .collect();
            let status = match item.decision.as_deref() {
                Some(decision) => format!("Đã duyệt: {}", esc(status_label(decision))),
                None => format!(
                    "{} ({:.2})",
                    esc(status_label(&item.status)),
                    item.confidence
                ),
            };
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{status}</td><td>{reasons}</td><td>{}</td><td><a href=\"/staff/answers/{}\">Xem lại</a></td></tr>",
                esc(&local_time(&item.created_at)),
                esc(&item.channel),
                esc(&question),
                esc(item.topic.as_deref().unwrap_or("")),
                item.answer_id
            ));
        }
        body.push_str("</tbody></table>");
    }
    html_response(StatusCode::OK, page("Hàng chờ duyệt", nav(&session), &body))
}

// ---------------------------------------------------------------------------------------------
// Review

#[derive(Deserialize, Default)]
struct ReviewQuery {
    #[serde(default)]
    raw: Option<String>,
}

async fn review_page(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(query): Query<ReviewQuery>,
) -> Response {
    let session = match session(&state, &headers, true).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let detail = match state.db.answer_detail(id).await {
        Ok(Some(detail)) => detail,
        Ok(None) => return error_page(StatusCode::NOT_FOUND, "Không tìm thấy câu trả lời này."),
        Err(error) => return internal(error),
    };
    let raw = query.raw.is_some();
    if raw && !session.staff.is_admin() {
        return error_page(
            StatusCode::FORBIDDEN,
            "Chỉ quản trị viên được xem nội dung gốc chưa che thông tin cá nhân.",
        );
    }
    if raw {
        let _ = state
            .db
            .audit(
                Some(session.staff.id),
                "view_raw",
                Some(format!("answer:{id}")),
                None,
            )
            .await;
    }
    html_response(
        StatusCode::OK,
        page(
            "Xem lại câu trả lời",
            nav(&session),
            &review_body(&state, &session, &detail, raw, None),
        ),
    )
}

/// The quoted articles of a citations JSON: (article id, reference, validity).
fn citations_of(json: &str) -> Vec<(String, String, String)> {
    let values: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    values
        .iter()
        .map(|v| {
            let field = |name: &str| v[name].as_str().unwrap_or("").to_owned();
            (field("article_id"), field("reference"), field("validity"))
        })
        .collect()
}

fn review_body(
    state: &StaffState,
    session: &StaffSession,
    detail: &AnswerDetail,
    raw: bool,
    error: Option<&str>,
) -> String {
    let show = |text: &str| {
        if raw {
            text.to_owned()
        } else {
            mask_personal_data(text)
        }
    };
    let mut body = format!("<h1>Xem lại câu trả lời #{}</h1>", detail.answer_id);
    if let Some(error) = error {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            esc(error)
        ));
    }
    body.push_str(&format!(
        "<p class=\"muted\">Kênh {} · nhận lúc {} · độ tin cậy {:.2} · lĩnh vực {}{}</p>",
        esc(&detail.channel),
        esc(&local_time(&detail.received_at)),
        detail.confidence,
        esc(detail.topic.as_deref().unwrap_or("(chưa rõ)")),
        if session.staff.is_admin() && !raw {
            format!(
                " · <a href=\"/staff/answers/{}?raw=1\">Xem nội dung gốc</a>",
                detail.answer_id
            )
        } else {
            String::new()
        }
    ));
    body.push_str("<div class=\"card\"><h2>Lý do cần xem lại</h2>");
    for (reason, note, _) in &detail.flags {
        body.push_str(&format!(
            "<span class=\"flag\">{}{}</span> ",
            esc(reason_label(reason)),
            note.as_deref()
                .map(|n| format!(": {}", esc(n)))
                .unwrap_or_default()
        ));
    }
    if !detail.feedback.is_empty() {
        let ratings: Vec<&str> = detail.feedback.iter().map(|(r, _)| r.as_str()).collect();
        body.push_str(&format!(
            "<p>Phản hồi của người dân: {}</p>",
            esc(&ratings.join(", "))
        ));
    }
    body.push_str("</div><div class=\"card\"><h2>Cuộc trò chuyện</h2>");
    for (question, answer) in &detail.history {
        body.push_str(&format!(
            "<p><b>Người dân:</b> {}</p><details><summary>Trả lời trước đó</summary><div class=\"pre\">{}</div></details>",
            esc(&show(question)),
            esc(answer)
        ));
    }
    body.push_str(&format!(
        "<p data-testid=\"question\"><b>Người dân:</b> {}</p><h3>Câu trả lời của Hỏi Luật ({})</h3><div class=\"pre\" data-testid=\"answer\">{}</div></div>",
        esc(&show(&detail.question)),
        esc(status_label(&detail.status)),
        esc(&detail.text)
    ));
    let citations = citations_of(&detail.citations);
    body.push_str("<div class=\"card\"><h2>Điều luật được trích dẫn</h2>");
    if citations.is_empty() {
        body.push_str("<p class=\"muted\">Không có.</p>");
    }
    let library = state.assistant.get().map(|a| a.library());
    for (article_id, reference, validity) in &citations {
        let text = library
            .as_ref()
            .and_then(|l| l.article(article_id))
            .map(|entry| format!("{}\n{}", entry.article.heading(), entry.article.body_text()))
            .unwrap_or_else(|| "(không còn trong kho văn bản)".into());
        body.push_str(&format!(
            "<details><summary>{} — {}</summary><div class=\"pre\">{}</div></details>",
            esc(reference),
            esc(validity),
            esc(&text)
        ));
    }
    body.push_str("</div>");
    match &detail.review {
        Some(review) => {
            body.push_str(&format!(
                "<div class=\"card\" data-testid=\"review\"><h2>Đã duyệt</h2><p>{} · {} · {}</p>",
                esc(&review.staff_name),
                esc(status_label(&review.decision)),
                esc(&local_time(&review.created_at))
            ));
            if let Some(text) = &review.text {
                body.push_str(&format!("<div class=\"pre\">{}</div>", esc(text)));
            }
            let chosen = citations_of(&review.citations);
            if !chosen.is_empty() {
                let references: Vec<String> = chosen.iter().map(|(_, r, _)| esc(r)).collect();
                body.push_str(&format!("<p>Căn cứ đã chọn: {}</p>", references.join("; ")));
            }
            if let Some(note) = &review.note {
                body.push_str(&format!("<p>Ghi chú: {}</p>", esc(note)));
            }
            let delivery = match review.delivery_status.as_deref() {
                Some("sent") => "<p class=\"ok\" data-testid=\"delivery\">Đã gửi câu trả lời đã duyệt cho người dân.</p>".to_owned(),
                Some("not_applicable") | None => format!(
                    "<p class=\"muted\" data-testid=\"delivery\">Không gửi lại cho người dân{}.</p>",
                    review.delivery_error.as_deref().map(|e| format!(": {}", esc(e))).unwrap_or_default()
                ),
                Some(_) => format!(
                    "<p class=\"error\" data-testid=\"delivery\">Gửi cho người dân thất bại: {}</p>",
                    esc(review.delivery_error.as_deref().unwrap_or(""))
                ),
            };
            body.push_str(&delivery);
            body.push_str("</div>");
        }
        None => {
            let ids: Vec<&str> = citations.iter().map(|(id, _, _)| id.as_str()).collect();
            body.push_str(&format!(
                "<form method=\"post\" action=\"/staff/answers/{}/review\" class=\"card\"><h2>Quyết định</h2>\
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <p><label for=\"text\">Câu trả lời (sửa nếu cần)</label><textarea id=\"text\" name=\"text\" maxlength=\"{MAX_ANSWER_CHARS}\">{}</textarea></p>\
                 <p><label for=\"citations\">Điều luật căn cứ (mã điều, cách nhau bởi dấu phẩy, ví dụ 52-2014-qh13.dieu-8)</label><br><input id=\"citations\" name=\"citations\" size=\"80\" value=\"{}\"></p>\
                 <p><label for=\"note\">Ghi chú nội bộ</label><br><input id=\"note\" name=\"note\" size=\"80\" maxlength=\"{MAX_NOTE_CHARS}\"></p>\
                 <p><button type=\"submit\" name=\"decision\" value=\"approved\">Duyệt nguyên văn</button> \
                 <button type=\"submit\" name=\"decision\" value=\"edited\">Lưu bản đã sửa và gửi</button> \
                 <button type=\"submit\" name=\"decision\" value=\"rejected\">Từ chối</button></p></form>",
                detail.answer_id,
                esc(&session.csrf_token),
                esc(&detail.text),
                esc(&ids.join(", "))
            ));
        }
    }
    body
}

#[derive(Deserialize)]
struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    citations: String,
    #[serde(default)]
    note: String,
}

async fn review(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ReviewForm>,
) -> Response {
    let session = match form_session(&state, &headers, &form.csrf).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let detail = match state.db.answer_detail(id).await {
        Ok(Some(detail)) => detail,
        Ok(None) => return error_page(StatusCode::NOT_FOUND, "Không tìm thấy câu trả lời này."),
        Err(error) => return internal(error),
    };
    let reject = |message: &str| {
        html_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            page(
                "Xem lại câu trả lời",
                nav(&session),
                &review_body(&state, &session, &detail, false, Some(message)),
            ),
        )
    };
    let decision: &'static str = match form.decision.as_str() {
        "approved" => "approved",
        "edited" => "edited",
        "rejected" => "rejected",
        _ => return reject("Hãy chọn Duyệt, Lưu bản đã sửa hoặc Từ chối."),
    };
    if form.note.chars().count() > MAX_NOTE_CHARS {
        return reject("Ghi chú quá dài.");
    }
    let note = Some(form.note.trim().to_owned()).filter(|n| !n.is_empty());
    let (text, citations) = match decision {
        "approved" => (Some(detail.text.clone()), detail.citations.clone()),
        "edited" => {
            let text = form.text.trim().replace("\r\n", "\n");
            if text.is_empty() || text.chars().count() > MAX_ANSWER_CHARS {
                return reject(&format!(
                    "Câu trả lời phải có từ 1 đến {MAX_ANSWER_CHARS} ký tự."
                ));
            }
            match citations_json(&state, &form.citations) {
                Ok(json) => (Some(text), json),
                Err(message) => return reject(&message),
            }
        }
        _ => (None, "[]".to_owned()),
    };
    let outcome = state
        .db
        .insert_review(NewReview {
            answer_id: id,
            staff_id: session.staff.id,
            decision,
            text: text.clone(),
            citations: citations.clone(),
            note,
            question: detail.question.clone(),
        })
        .await;
    let review_id = match outcome {
        Ok(ReviewOutcome::Stored { review_id, .. }) => review_id,
        Ok(ReviewOutcome::AlreadyReviewed) => {
            return error_page(
                StatusCode::CONFLICT,
                "Câu trả lời này đã được cán bộ khác duyệt.",
            )
        }
        Err(error) => return internal(error),
    };
    tracing::info!(
        staff = session.staff.id,
        answer = id,
        decision,
        "answer reviewed"
    );
    if let Some(text) = text {
        let (status, error) = deliver_reviewed(&state, &detail, &text, &citations).await;
        if let Err(db_error) = state.db.set_review_delivery(review_id, status, error).await {
            return internal(db_error);
        }
    }
    Redirect::to(&format!("/staff/answers/{id}")).into_response()
}

/// Validates the article ids staff typed and builds the citations JSON.
fn citations_json(state: &StaffState, input: &str) -> Result<String, String> {
    let Some(assistant) = state.assistant.get() else {
        return Err("Kho văn bản đang được nạp; vui lòng thử lại sau ít phút.".into());
    };
    let mut citations = Vec::new();
    for id in input
        .split([',', ' ', '\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let library = assistant.library();
        let Some(entry) = library.article(id) else {
            return Err(format!("Không có điều luật mã \"{id}\" trong kho văn bản."));
        };
        let meta = &entry.document;
        citations.push(serde_json::json!({
            "article_id": entry.id,
            "reference": format!("{} {} số {}", entry.article.heading().split_once(". ").map_or(entry.article.heading(), |(label, _)| label.to_owned()), meta.ten, meta.so_hieu),
            "validity": meta.tinh_trang.label(),
        }));
        if citations.len() > 10 {
            return Err("Tối đa 10 điều luật căn cứ.".into());
        }
    }
    Ok(serde_json::Value::Array(citations).to_string())
}

/// Sends a reviewed answer to the citizen through the channel they used, when its rules allow.
async fn deliver_reviewed(
    state: &StaffState,
    detail: &AnswerDetail,
    text: &str,
    citations: &str,
) -> (&'static str, Option<String>) {
    let Some(kind) = ChannelKind::parse(&detail.channel) else {
        return (
            "failed",
            Some(format!("unknown channel {}", detail.channel)),
        );
    };
    if kind == ChannelKind::Web {
        return (
            "not_applicable",
            Some("kênh web không nhận tin nhắn sau khi người dân rời trang".into()),
        );
    }
    let Some(sender) = state.dispatcher.sender(kind).cloned() else {
        return (
            "failed",
            Some(format!("kênh {} chưa được cấu hình", kind.as_str())),
        );
    };
    let message = match state.db.message(detail.message_id).await {
        Ok(Some(message)) => message,
        Ok(None) => return ("failed", Some("message not found".into())),
        Err(error) => return ("failed", Some(error.to_string())),
    };
    let references: Vec<String> = citations_of(citations)
        .into_iter()
        .map(|(_, reference, _)| reference)
        .collect();
    let mut reply = format!(
        "Cán bộ Sở Tư pháp đã xem lại câu hỏi bạn gửi lúc {}:\n\n{text}",
        local_time(&detail.received_at)
    );
    if !references.is_empty() {
        reply.push_str(&format!("\n\nCăn cứ: {}.", references.join("; ")));
    }
    match state
        .dispatcher
        .deliver(&sender, &message, detail.answer_id, &Reply::Notice(reply))
        .await
    {
        Ok(()) => ("sent", None),
        Err(error) => ("failed", Some(error)),
    }
}

// ---------------------------------------------------------------------------------------------
// Curated answers

async fn curated_page(State(state): State<StaffState>, headers: HeaderMap) -> Response {
    let session = match session(&state, &headers, true).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let answers = match state.db.curated_answers(true).await {
        Ok(answers) => answers,
        Err(error) => return internal(error),
    };
    let mut body = String::from("<h1>Câu trả lời mẫu</h1><p class=\"muted\">Câu trả lời đã được cán bộ duyệt. Câu hỏi sau đủ giống câu hỏi mẫu sẽ nhận câu trả lời mẫu trước.</p>");
    if answers.is_empty() {
        body.push_str("<p class=\"muted\">Chưa có câu trả lời mẫu.</p>");
    }
    for answer in &answers {
        let status = if answer.active {
            "Đang dùng"
        } else {
            "Đã ngừng dùng"
        };
        body.push_str(&format!(
            "<form method=\"post\" action=\"/staff/curated/{id}\" class=\"card\" data-testid=\"curated-{id}\"><p class=\"muted\">#{id} · {status} · cập nhật {}</p>\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <p><label>Câu hỏi mẫu<br><input name=\"question\" size=\"80\" value=\"{}\"></label></p>\
             <p><label>Câu trả lời<textarea name=\"answer_text\">{}</textarea></label></p>\
             <p><button type=\"submit\" name=\"action\" value=\"save\">Lưu</button> <button type=\"submit\" name=\"action\" value=\"retire\">Ngừng dùng</button></p></form>",
            esc(&local_time(&answer.updated_at)),
            esc(&session.csrf_token),
            esc(&mask_personal_data(&answer.question)),
            esc(&answer.answer_text),
            id = answer.id,
        ));
    }
    html_response(
        StatusCode::OK,
        page("Câu trả lời mẫu", nav(&session), &body),
    )
}

#[derive(Deserialize)]
struct CuratedForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    answer_text: String,
}

async fn curated_update(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CuratedForm>,
) -> Response {
    let session = match form_session(&state, &headers, &form.csrf).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let (question, text, active) = match form.action.as_str() {
        "retire" => (None, None, false),
        "save" => {
            let question = form.question.trim().to_owned();
            let text = form.answer_text.trim().replace("\r\n", "\n");
            if question.is_empty()
                || text.is_empty()
                || text.chars().count() > MAX_ANSWER_CHARS
                || question.chars().count() > 1_000
            {
                return error_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Câu hỏi và câu trả lời mẫu không được để trống hoặc quá dài.",
                );
            }
            (Some(question), Some(text), true)
        }
        _ => return error_page(StatusCode::UNPROCESSABLE_ENTITY, "Thao tác không hợp lệ."),
    };
    match state
        .db
        .update_curated(id, session.staff.id, question, text, active)
        .await
    {
        Ok(true) => Redirect::to("/staff/curated").into_response(),
        Ok(false) => error_page(StatusCode::NOT_FOUND, "Không tìm thấy câu trả lời mẫu này."),
        Err(error) => internal(error),
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics

#[derive(Deserialize, Default)]
struct PeriodQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn period(query: &PeriodQuery) -> Result<Period, Response> {
    let today = Utc::now().date_naive();
    let parse = |text: &str, default: NaiveDate| -> Result<NaiveDate, Response> {
        if text.is_empty() {
            return Ok(default);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            error_page(
                StatusCode::BAD_REQUEST,
                "Ngày phải có dạng NNNN-TT-NN (ví dụ 2026-12-01).",
            )
        })
    };
    let to = parse(&query.to, today)?;
    let from = parse(&query.from, to - ChronoDuration::days(29))?;
    if from > to {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "Ngày bắt đầu phải trước ngày kết thúc.",
        ));
    }
    Ok(Period {
        from: from.to_string(),
        to: to.to_string(),
    })
}

async fn stats_page(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Query(query): Query<PeriodQuery>,
) -> Response {
    let session = match session(&state, &headers, true).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let period = match period(&query) {
        Ok(period) => period,
        Err(response) => return response,
    };
    let stats = match stats::compute(&state.db, period.clone()).await {
        Ok(stats) => stats,
        Err(error) => return internal(error),
    };
    let percent = |part: i64, whole: i64| {
        if whole > 0 {
            format!("{:.0}%", part as f64 * 100.0 / whole as f64)
        } else {
            "—".into()
        }
    };
    let satisfaction = match stats.satisfaction_rate() {
        Some(rate) => format!(
            "{:.0}% <span class=\"{}\">({} mục tiêu {:.0}%)</span>",
            rate * 100.0,
            if rate >= SATISFACTION_TARGET {
                "ok"
            } else {
                "error"
            },
            if rate >= SATISFACTION_TARGET {
                "đạt"
            } else {
                "chưa đạt"
            },
            SATISFACTION_TARGET * 100.0
        ),
        None => "—".into(),
    };
    let median = stats
        .median_review_hours
        .map_or("—".to_owned(), |h| format!("{h:.1} giờ"));
    let mut body = format!(
        "<h1>Thống kê</h1><form method=\"get\" action=\"/staff/stats\" class=\"card\"><label>Từ ngày <input type=\"date\" name=\"from\" value=\"{from}\"></label> \
         <label>Đến ngày <input type=\"date\" name=\"to\" value=\"{to}\"></label> <button type=\"submit\">Xem</button> \
         <a href=\"/staff/stats.csv?from={from}&amp;to={to}\">Tải CSV của kỳ này</a></form>\
         <div data-testid=\"kpis\"><span class=\"kpi\" data-testid=\"kpi-questions\">Câu hỏi<b>{}</b></span>\
         <span class=\"kpi\">Đã trả lời<b>{} ({})</b></span><span class=\"kpi\">Từ chối<b>{}</b></span>\
         <span class=\"kpi\" data-testid=\"kpi-flagged\">Cần xem lại<b>{}</b></span><span class=\"kpi\" data-testid=\"kpi-reviewed\">Đã duyệt<b>{}</b></span><span class=\"kpi\" data-testid=\"kpi-pending\">Chờ duyệt<b>{}</b></span>\
         <span class=\"kpi\">Thời gian duyệt (trung vị)<b>{median}</b></span>\
         <span class=\"kpi\" data-testid=\"kpi-satisfaction\">Hài lòng ({} lượt)<b>{satisfaction}</b></span>\
         <span class=\"kpi\">👍 / 👎<b>{} / {}</b></span></div>",
        stats.questions,
        stats.answered,
        percent(stats.answered, stats.answered + stats.declined),
        stats.declined,
        stats.flagged,
        stats.reviewed,
        (stats.flagged - stats.reviewed).max(0),
        stats.satisfaction_votes,
        stats.thumbs_up,
        stats.thumbs_down,
        from = esc(&period.from),
        to = esc(&period.to),
    );
    body.push_str(&bar_chart("Câu hỏi theo ngày", &stats.per_day));
    body.push_str(&bar_chart("Câu hỏi theo kênh", &stats.per_channel));
    body.push_str(&bar_chart("Câu hỏi theo lĩnh vực", &stats.per_topic));
    body.push_str("<h2>Câu hỏi chưa có văn bản để trả lời (nhiều nhất)</h2>");
    if stats.unanswered.is_empty() {
        body.push_str("<p class=\"muted\">Chưa có.</p>");
    } else {
        body.push_str("<table><thead><tr><th>Câu hỏi</th><th>Số lần</th></tr></thead><tbody>");
        for (question, count) in &stats.unanswered {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{count}</td></tr>",
                esc(question)
            ));
        }
        body.push_str("</tbody></table>");
    }
    let _ = url_encode;
    html_response(StatusCode::OK, page("Thống kê", nav(&session), &body))
}

async fn stats_csv(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Query(query): Query<PeriodQuery>,
) -> Response {
    let session = match session(&state, &headers, true).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let period = match period(&query) {
        Ok(period) => period,
        Err(response) => return response,
    };
    let csv = match stats::csv(&state.db, period.clone()).await {
        Ok(csv) => csv,
        Err(error) => return internal(error),
    };
    let _ = state
        .db
        .audit(
            Some(session.staff.id),
            "export_csv",
            Some(format!("{}..{}", period.from, period.to)),
            None,
        )
        .await;
    let mut response = (StatusCode::OK, format!("\u{feff}{csv}")).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"hoiluat-{}-{}.csv\"",
        period.from, period.to
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
