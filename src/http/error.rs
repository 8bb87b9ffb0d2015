//! The one error type of the JSON HTTP boundary — `POST /v1/ask`, the web widget's endpoints and
//! the platforms' webhooks: a stable machine code, a message (Vietnamese for people, English for
//! the platforms that read webhook answers), and the status the code decides. Internal details are
//! logged (in English) where they happen, never sent.

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
    // The web widget's (`/v1/chat`, `/v1/feedback`, `/v1/satisfaction`).
    EmptyMessage,
    MessageTooLong,
    InvalidClientMessageId,
    DuplicateMessage,
    InvalidRating,
    CommentTooLong,
    AnswerNotFound,
    InvalidScore,
    ConversationNotFound,
    RateLimited,
    // The platforms' webhooks.
    InvalidSignature,
    InvalidSecretToken,
    InvalidEvent,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// How far the index is: `/readyz`'s `not_ready` says it beside the error.
    pub index: Option<super::dto::IndexStatus>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<&'a super::dto::IndexStatus>,
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
            ErrorCode::EmptyMessage => "empty_message",
            ErrorCode::MessageTooLong => "message_too_long",
            ErrorCode::InvalidClientMessageId => "invalid_client_message_id",
            ErrorCode::DuplicateMessage => "duplicate_message",
            ErrorCode::InvalidRating => "invalid_rating",
            ErrorCode::CommentTooLong => "comment_too_long",
            ErrorCode::AnswerNotFound => "answer_not_found",
            ErrorCode::InvalidScore => "invalid_score",
            ErrorCode::ConversationNotFound => "conversation_not_found",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::InvalidSignature => "invalid_signature",
            ErrorCode::InvalidSecretToken => "invalid_secret_token",
            ErrorCode::InvalidEvent => "invalid_event",
        }
    }

    /// Exhaustive: adding a code forces choosing its status here.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidUtf8 | ErrorCode::InvalidJson | ErrorCode::InvalidEvent => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::EmptyQuestion
            | ErrorCode::QuestionTooLong
            | ErrorCode::InvalidCharacters
            | ErrorCode::InvalidConversationId
            | ErrorCode::EmptyMessage
            | ErrorCode::MessageTooLong
            | ErrorCode::InvalidClientMessageId
            | ErrorCode::InvalidRating
            | ErrorCode::CommentTooLong
            | ErrorCode::InvalidScore => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidSignature | ErrorCode::InvalidSecretToken => StatusCode::UNAUTHORIZED,
            ErrorCode::ArticleNotFound
            | ErrorCode::RouteNotFound
            | ErrorCode::AnswerNotFound
            | ErrorCode::ConversationNotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::DuplicateMessage => StatusCode::CONFLICT,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::NotReady | ErrorCode::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds a client should wait before trying again, for the codes that say "later".
    fn retry_after(self) -> Option<&'static str> {
        match self {
            ErrorCode::NotReady => Some("30"),
            ErrorCode::Busy => Some("2"),
            ErrorCode::RateLimited => Some("10"),
            _ => None,
        }
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            index: None,
        }
    }

    /// The error with the index's progress beside it.
    pub fn with_index(self, index: super::dto::IndexStatus) -> ApiError {
        ApiError {
            index: Some(index),
            ..self
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

    /// A body that is not the JSON its endpoint expects.
    pub fn invalid_json() -> ApiError {
        ApiError::new(
            ErrorCode::InvalidJson,
            "Nội dung gửi lên không đúng định dạng JSON của hệ thống.",
        )
    }

    /// A body that is not the JSON of `POST /v1/ask`, with the shape it should have.
    pub fn invalid_ask_json() -> ApiError {
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

    pub fn invalid_client_message_id() -> ApiError {
        ApiError::new(
            ErrorCode::InvalidClientMessageId,
            "Mã tin nhắn không hợp lệ. Bạn vui lòng tải lại trang rồi gửi lại.",
        )
    }

    pub fn duplicate_message() -> ApiError {
        ApiError::new(
            ErrorCode::DuplicateMessage,
            "Tin nhắn này đã được gửi trước đó.",
        )
    }

    pub fn invalid_rating() -> ApiError {
        ApiError::new(
            ErrorCode::InvalidRating,
            "Đánh giá không hợp lệ (chỉ nhận up, down, report hoặc human).",
        )
    }

    pub fn comment_too_long() -> ApiError {
        ApiError::new(
            ErrorCode::CommentTooLong,
            "Góp ý dài quá. Bạn vui lòng viết ngắn gọn hơn (dưới 500 ký tự) nhé.",
        )
    }

    pub fn answer_not_found() -> ApiError {
        ApiError::new(ErrorCode::AnswerNotFound, "Không tìm thấy câu trả lời này.")
    }

    pub fn invalid_score() -> ApiError {
        ApiError::new(
            ErrorCode::InvalidScore,
            "Mức độ hài lòng phải là số nguyên từ 1 đến 5.",
        )
    }

    pub fn conversation_not_found() -> ApiError {
        ApiError::new(
            ErrorCode::ConversationNotFound,
            "Không tìm thấy cuộc trò chuyện này.",
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
            AskError::UnusableCharacters => ApiError::new(
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
            index: self.index.as_ref(),
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = self.code.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_keep_their_names_statuses_and_retry_hints() {
        let cases = [
            (
                ErrorCode::DuplicateMessage,
                "duplicate_message",
                StatusCode::CONFLICT,
            ),
            (
                ErrorCode::RateLimited,
                "rate_limited",
                StatusCode::TOO_MANY_REQUESTS,
            ),
            (
                ErrorCode::InvalidSignature,
                "invalid_signature",
                StatusCode::UNAUTHORIZED,
            ),
            (
                ErrorCode::InvalidEvent,
                "invalid_event",
                StatusCode::BAD_REQUEST,
            ),
            (ErrorCode::Busy, "busy", StatusCode::SERVICE_UNAVAILABLE),
        ];
        for (code, name, status) in cases {
            assert_eq!((code.as_str(), code.status()), (name, status));
        }
        let limited = ApiError::new(ErrorCode::RateLimited, "chậm lại").into_response();
        assert_eq!(limited.headers()[header::RETRY_AFTER], "10");
        let starting = ApiError::not_ready().into_response();
        assert_eq!(starting.headers()[header::RETRY_AFTER], "30");
        assert!(ApiError::answer_not_found()
            .into_response()
            .headers()
            .get(header::RETRY_AFTER)
            .is_none());
    }
}
