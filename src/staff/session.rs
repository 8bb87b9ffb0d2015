//! Sessions of the console: the cookies, the [`Staff`] and [`Admin`] extractors every route but
//! the sign-in page takes, and the CSRF check of every form.
//!
//! A session is a 256-bit random token in an `HttpOnly; Secure; SameSite=Strict` cookie scoped to
//! `/staff`; the database keeps only its SHA-256, with the session's CSRF token and its expiry.
//! Every form carries that CSRF token in a hidden field, compared in constant time.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};

use super::auth::token_hash;
use super::error::PageError;
use super::html::Nav;
use super::StaffState;
use crate::channels::constant_time_eq;
use crate::config::StaffConfig;
use crate::db::StaffSession;

/// The session cookie.
pub const SESSION_COOKIE: &str = "hl_staff";
/// The sign-in page's own CSRF cookie (double submit: cookie and hidden field).
pub const LOGIN_COOKIE: &str = "hl_login";

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value for the console; `max_age_secs` 0 deletes the cookie.
pub fn set_cookie(config: &StaffConfig, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
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

/// A signed-in staff member. Without a live session a page (GET) is answered with the sign-in
/// page, and anything else (a form post) with 401.
#[derive(Debug, Clone)]
pub struct Staff(pub StaffSession);

/// Any router state the console's [`StaffState`] can be had from (the platform's pages add the
/// platform to it).
impl<S> FromRequestParts<S> for Staff
where
    StaffState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Staff, PageError> {
        let state = StaffState::from_ref(state);
        let token = cookie(&parts.headers, SESSION_COOKIE).filter(|t| t.len() == 64);
        let found = match token {
            Some(token) => state.db.session(token_hash(token)).await?,
            None => None,
        };
        found.map(Staff).ok_or_else(|| {
            if parts.method == Method::GET || parts.method == Method::HEAD {
                PageError::SignIn
            } else {
                PageError::new(
                    StatusCode::UNAUTHORIZED,
                    "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại.",
                )
            }
        })
    }
}

impl Staff {
    /// The session's CSRF token must be the one the form was given.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), PageError> {
        if constant_time_eq(self.0.csrf_token.as_bytes(), submitted.as_bytes()) {
            Ok(())
        } else {
            tracing::warn!(staff = self.id(), "CSRF token mismatch");
            Err(PageError::new(
                StatusCode::FORBIDDEN,
                "Yêu cầu không hợp lệ (mã bảo vệ biểu mẫu sai). Vui lòng tải lại trang và thử lại.",
            ))
        }
    }

    pub fn id(&self) -> i64 {
        self.0.staff.id
    }

    pub fn is_admin(&self) -> bool {
        self.0.staff.is_admin()
    }

    /// The session's CSRF token, for the forms of a page.
    pub fn csrf(&self) -> &str {
        &self.0.csrf_token
    }

    /// The page header of this member.
    pub fn nav(&self) -> Option<Nav<'_>> {
        Some(Nav {
            name: &self.0.staff.display_name,
            csrf: &self.0.csrf_token,
            admin: self.is_admin(),
        })
    }
}

/// A signed-in admin (the corpus pages). A reviewer gets 403.
#[derive(Debug, Clone)]
pub struct Admin(pub Staff);

impl<S> FromRequestParts<S> for Admin
where
    StaffState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Admin, PageError> {
        let staff = Staff::from_request_parts(parts, state).await?;
        if !staff.is_admin() {
            let message = if parts.uri.path().starts_with("/staff/corpus") {
                "Chỉ quản trị viên được quản lý kho văn bản."
            } else {
                "Chỉ quản trị viên được thực hiện thao tác này."
            };
            return Err(PageError::new(StatusCode::FORBIDDEN, message));
        }
        Ok(Admin(staff))
    }
}

impl std::ops::Deref for Admin {
    type Target = Staff;

    fn deref(&self) -> &Staff {
        &self.0
    }
}
