//! The one error type of the console's pages. Handlers return `Result<Response, PageError>` and
//! use `?`: a missing session, a refused form and a database failure each become their page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::html::{html, html_response, page};
use crate::db::DbError;

/// Why a request gets no page of its own.
#[derive(Debug)]
pub enum PageError {
    /// A page was asked for without a live session: the sign-in page instead.
    SignIn,
    /// An error page with its status and a Vietnamese message.
    Page { status: StatusCode, message: String },
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> PageError {
        PageError::Page {
            status,
            message: message.into(),
        }
    }

    /// A failure of the service itself: logged with its cause, shown without it.
    pub fn internal(error: impl std::fmt::Display) -> PageError {
        tracing::error!(%error, "staff console failed");
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Hệ thống gặp lỗi. Vui lòng thử lại sau.",
        )
    }

    /// Dates of a filter or a period that do not parse.
    pub fn bad_date() -> PageError {
        PageError::new(
            StatusCode::BAD_REQUEST,
            "Ngày phải có dạng NNNN-TT-NN (ví dụ 2026-12-01).",
        )
    }
}

impl From<DbError> for PageError {
    fn from(error: DbError) -> PageError {
        PageError::internal(error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/staff/login").into_response(),
            PageError::Page { status, message } => html_response(
                status,
                page(
                    "Lỗi",
                    None,
                    html!(
                        "<p class=\"error\" role=\"alert\">{}</p><p><a href=\"/staff\">Về trang chính</a></p>",
                        message
                    ),
                ),
            ),
        }
    }
}
