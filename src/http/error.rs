//! The one error type of the HTTP boundary: a stable machine code, a Vietnamese message for the
//! user, and the status. Internal details are logged (in English) where they happen, never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::answer::AskError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidContentType,
    PayloadTooLarge,
    InvalidUtf8,
    InvalidJson,
    EmptyQuestion,
    QuestionTooLong,
    InvalidCharacters,
    InvalidConversationId,
    ArticleNotFound,
    RouteNotFound,
    MethodNotAllowed,
    NotReady,
    Busy,
    Timeout,
    Internal,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidContentType => "invalid_content_type",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::InvalidUtf8 => "invalid_utf8",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::EmptyQuestion => "empty_question",
            ErrorCode::QuestionTooLong => "question_too_long",
            ErrorCode::InvalidCharacters => "invalid_characters",
            ErrorCode::InvalidConversationId => "invalid_conversation_id",
            ErrorCode::ArticleNotFound => "article_not_found",
            ErrorCode::RouteNotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::NotReady => "not_ready",
            ErrorCode::Busy => "busy",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Internal => "internal_error",
        }
    }

    /// Exhaustive: adding a code forces choosing its status here.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidUtf8 | ErrorCode::InvalidJson => StatusCode::BAD_REQUEST,
            ErrorCode::EmptyQuestion
            | ErrorCode::QuestionTooLong
            | ErrorCode::InvalidCharacters
            | ErrorCode::InvalidConversationId => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ArticleNotFound | ErrorCode::RouteNotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::NotReady | ErrorCode::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn invalid_content_type() -> ApiError {
        ApiError::new(
            ErrorCode::InvalidContentType,
            "Yêu cầu phải gửi dữ liệu JSON (Content-Type: application/json).",
        )
    }

    pub fn payload_too_large(max_bytes: usize) -> ApiError {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("Nội dung gửi lên quá lớn (tối đa {max_bytes} byte)."),
        )
    }

    pub fn invalid_utf8() -> ApiError {
        ApiError::new(
            ErrorCode::InvalidUtf8,
            "Nội dung gửi lên không phải văn bản UTF-8 hợp lệ.",
        )
    }

    pub fn invalid_json() -> ApiError {
        ApiError::new(
            ErrorCode::InvalidJson,
            "Nội dung gửi lên không đúng định dạng. Hãy gửi JSON dạng {\"question\": \"câu hỏi của bạn\"}.",
        )
    }

    pub fn article_not_found() -> ApiError {
        ApiError::new(ErrorCode::ArticleNotFound, "Không tìm thấy điều luật này.")
    }

    pub fn route_not_found() -> ApiError {
        ApiError::new(ErrorCode::RouteNotFound, "Không tìm thấy địa chỉ này.")
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            ErrorCode::MethodNotAllowed,
            "Phương thức không được hỗ trợ cho địa chỉ này.",
        )
    }

    pub fn not_ready() -> ApiError {
        ApiError::new(
            ErrorCode::NotReady,
            "Hệ thống đang khởi động, vui lòng thử lại sau ít phút.",
        )
    }

    pub fn busy() -> ApiError {
        ApiError::new(
            ErrorCode::Busy,
            "Hệ thống đang bận, vui lòng thử lại sau ít giây.",
        )
    }

    pub fn timeout() -> ApiError {
        ApiError::new(
            ErrorCode::Timeout,
            "Hệ thống xử lý quá lâu, vui lòng thử lại sau.",
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            ErrorCode::Internal,
            "Đã có lỗi xảy ra, vui lòng thử lại sau.",
        )
    }
}

impl From<AskError> for ApiError {
    fn from(error: AskError) -> ApiError {
        match error {
            AskError::EmptyQuestion => ApiError::new(ErrorCode::EmptyQuestion, "Vui lòng nhập câu hỏi."),
            AskError::QuestionTooLong { max } => ApiError::new(
                ErrorCode::QuestionTooLong,
                format!("Câu hỏi quá dài (tối đa {max} ký tự). Vui lòng rút gọn câu hỏi."),
            ),
            AskError::ControlCharacters => ApiError::new(
                ErrorCode::InvalidCharacters,
                "Câu hỏi chứa ký tự không hợp lệ. Vui lòng nhập lại câu hỏi.",
            ),
            AskError::InvalidConversationId => ApiError::new(
                ErrorCode::InvalidConversationId,
                "Mã cuộc trò chuyện không hợp lệ (chỉ gồm chữ cái không dấu, chữ số, '-' hoặc '_', tối đa 64 ký tự).",
            ),
            AskError::Embed(_) | AskError::Store(_) | AskError::Task(_) => {
                tracing::error!(%error, "ask failed");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str(),
                message: &self.message,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            let seconds = if self.code == ErrorCode::NotReady {
                "30"
            } else {
                "2"
            };
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        response
    }
}
