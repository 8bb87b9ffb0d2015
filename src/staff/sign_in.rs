//! Signing in and out (`/staff/login`, `/staff/logout`): argon2id passwords, a double-submit CSRF
//! cookie on the sign-in form, lock-out after `staff.max_failed_logins` failures in a row, and the
//! same work and answer for an unknown account as for a wrong password.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration as ChronoDuration, Utc};
use serde::Deserialize;

use super::auth::{dummy_hash, random_token, token_hash};
use super::error::PageError;
use super::html::{html, html_response, page, secure_headers};
use super::session::{cookie, set_cookie, Staff, LOGIN_COOKIE, SESSION_COOKIE};
use super::StaffState;
use crate::channels::constant_time_eq;

const LOGIN_FAILED: &str = "Tên đăng nhập hoặc mật khẩu không đúng.";
const SIGN_IN_BUSY: &str =
    "Hệ thống đang bận xử lý nhiều lượt đăng nhập. Vui lòng thử lại sau ít phút.";

pub(super) fn routes() -> Router<StaffState> {
    Router::new()
        .route("/staff/login", get(login_page).post(login))
        .route("/staff/logout", post(logout))
}

async fn login_page(State(state): State<StaffState>) -> Response {
    login_form(&state, StatusCode::OK, None)
}

/// The sign-in form with a fresh pre-session CSRF token (double-submit: cookie + hidden field).
fn login_form(state: &StaffState, status: StatusCode, error: Option<&str>) -> Response {
    let token = random_token();
    let error = error
        .map(|e| html!("<p class=\"error\" role=\"alert\">{}</p>", e))
        .unwrap_or_default();
    let body = html!(
        "<h1>Đăng nhập</h1>{}<form method=\"post\" action=\"/staff/login\" class=\"card\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <p><label for=\"username\">Tên đăng nhập</label><br><input id=\"username\" name=\"username\" autocomplete=\"username\" required maxlength=\"64\"></p>\
         <p><label for=\"password\">Mật khẩu</label><br><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"256\"></p>\
         <p><button type=\"submit\">Đăng nhập</button></p></form>",
        error,
        token
    );
    let mut response = html_response(status, page("Đăng nhập", None, body));
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

async fn login(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return Ok(login_form(
            &state,
            StatusCode::FORBIDDEN,
            Some("Trang đăng nhập đã hết hạn. Vui lòng thử lại."),
        ));
    }
    if form.username.len() > 64 || form.password.len() > 256 {
        return Ok(login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            Some(LOGIN_FAILED),
        ));
    }
    let account = state
        .db
        .staff_by_username(form.username.clone())
        .await?
        .filter(|a| !a.disabled);
    let now = Utc::now();
    let locked = account
        .as_ref()
        .and_then(|a| a.locked_until.as_deref())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .filter(|until| *until > now);
    if let (Some(account), Some(until)) = (&account, locked) {
        let minutes = (until.with_timezone(&Utc) - now).num_minutes() + 1;
        return Ok(refused_locked(&state, account.id, minutes).await);
    }
    // Bounded work whoever posts: a sign-in beyond those admitted is told to come back.
    let Ok(admitted) = state.passwords.admit() else {
        tracing::warn!("staff sign-in refused: too many in progress");
        let mut response = login_form(&state, StatusCode::SERVICE_UNAVAILABLE, Some(SIGN_IN_BUSY));
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
        return Ok(response);
    };
    let Some(account) = account else {
        // Same work as a real check, so timing does not tell which accounts exist.
        state
            .passwords
            .check(&admitted, form.password.clone(), dummy_hash().to_owned())
            .await;
        let _ = state
            .db
            .audit(
                None,
                "login_failed",
                Some(format!("user:{}", form.username)),
                Some("unknown or disabled".into()),
            )
            .await;
        return Ok(login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            Some(LOGIN_FAILED),
        ));
    };
    // The attempt is counted before its password is checked, in one statement, so concurrent
    // attempts cannot all read the same count: at most `max_failed_logins` passwords are tried
    // before the lock-out, however many arrive at once. A right password resets the count.
    let lockout = ChronoDuration::minutes(state.config.lockout_minutes as i64);
    let attempt = state
        .db
        .count_login_attempt(
            account.id,
            state.config.max_failed_logins,
            stored_time(now),
            stored_time(now + lockout),
        )
        .await?;
    let Some(failures) = attempt else {
        return Ok(refused_locked(&state, account.id, lockout.num_minutes()).await);
    };
    let valid = state
        .passwords
        .check(
            &admitted,
            form.password.clone(),
            account.password_hash.clone(),
        )
        .await;
    if !valid {
        let locked_now = failures >= state.config.max_failed_logins;
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
        return Ok(login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            Some(LOGIN_FAILED),
        ));
    }
    drop(admitted);
    let token = random_token();
    let expires = now + ChronoDuration::hours(state.config.session_hours as i64);
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
    state
        .db
        .audit(Some(account.id), "login", None, None)
        .await?;
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
    Ok(response)
}

/// The sign-in form saying the account is locked for `minutes` more (audited).
async fn refused_locked(state: &StaffState, staff_id: i64, minutes: i64) -> Response {
    let _ = state
        .db
        .audit(Some(staff_id), "login_refused_locked", None, None)
        .await;
    login_form(
        state,
        StatusCode::UNAUTHORIZED,
        Some(&format!(
            "Tài khoản tạm khóa do đăng nhập sai nhiều lần. Vui lòng thử lại sau {minutes} phút."
        )),
    )
}

/// A time as the database stores it.
fn stored_time(time: chrono::DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A form whose only field is the CSRF token.
#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

async fn logout(
    State(state): State<StaffState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.db.delete_session(token_hash(token)).await?;
    }
    let _ = state.db.audit(Some(staff.id()), "logout", None, None).await;
    let mut response = Redirect::to("/staff/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state.config, SESSION_COOKIE, "", 0),
    );
    Ok(response)
}
