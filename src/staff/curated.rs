//! Curated answers (`/staff/curated`): the answers staff approved, which later questions close
//! enough to theirs are given first. Staff may edit or retire them (audited).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::error::PageError;
use super::html::{html, html_response, local_time, page};
use super::privacy::mask_personal_data;
use super::review::MAX_ANSWER_CHARS;
use super::session::Staff;
use super::StaffState;

/// Longest curated question, in characters.
const MAX_QUESTION_CHARS: usize = 1_000;

pub(super) fn routes() -> Router<StaffState> {
    Router::new()
        .route("/staff/curated", get(curated_page))
        .route("/staff/curated/{id}", post(curated_update))
}

async fn curated_page(
    State(state): State<StaffState>,
    staff: Staff,
) -> Result<Response, PageError> {
    let answers = state.db.curated_answers(true).await?;
    let mut body = html!("<h1>Câu trả lời mẫu</h1><p class=\"muted\">Câu trả lời đã được cán bộ duyệt. Câu hỏi sau đủ giống câu hỏi mẫu sẽ nhận câu trả lời mẫu trước.</p>");
    if answers.is_empty() {
        body.push(html!("<p class=\"muted\">Chưa có câu trả lời mẫu.</p>"));
    }
    for answer in &answers {
        let status = if answer.active {
            "Đang dùng"
        } else {
            "Đã ngừng dùng"
        };
        body.push(html!(
            "<form method=\"post\" action=\"/staff/curated/{0}\" class=\"card\" data-testid=\"curated-{0}\"><p class=\"muted\">#{0} · {1} · cập nhật {2}</p>\
             <input type=\"hidden\" name=\"csrf\" value=\"{3}\">\
             <p><label>Câu hỏi mẫu<br><input name=\"question\" size=\"80\" value=\"{4}\"></label></p>{6}\
             <p><label>Câu trả lời<textarea name=\"answer_text\">{5}</textarea></label></p>\
             <p><button type=\"submit\" name=\"action\" value=\"save\">Lưu</button> <button type=\"submit\" name=\"action\" value=\"retire\">Ngừng dùng</button></p></form>",
            answer.id,
            status,
            local_time(&answer.updated_at),
            staff.csrf(),
            mask_personal_data(&answer.question),
            answer.answer_text,
            // An answer to a follow-up is given only after a question like the one it followed.
            answer.context.as_deref().map(|context| html!(
                "<p class=\"muted\" data-testid=\"curated-context\">Chỉ dùng cho câu hỏi tiếp theo sau câu: “{}”</p>",
                mask_personal_data(context)
            )).unwrap_or_default(),
        ));
    }
    Ok(html_response(
        StatusCode::OK,
        page("Câu trả lời mẫu", staff.nav(), body),
    ))
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
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<CuratedForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let (question, text, active) = match form.action.as_str() {
        "retire" => (None, None, false),
        "save" => {
            let question = form.question.trim().to_owned();
            let text = form.answer_text.trim().replace("\r\n", "\n");
            if question.is_empty()
                || text.is_empty()
                || text.chars().count() > MAX_ANSWER_CHARS
                || question.chars().count() > MAX_QUESTION_CHARS
            {
                return Err(PageError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Câu hỏi và câu trả lời mẫu không được để trống hoặc quá dài.",
                ));
            }
            (Some(question), Some(text), true)
        }
        _ => {
            return Err(PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Thao tác không hợp lệ.",
            ))
        }
    };
    if state
        .db
        .update_curated(id, staff.id(), question, text, active)
        .await?
    {
        Ok(Redirect::to("/staff/curated").into_response())
    } else {
        Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Không tìm thấy câu trả lời mẫu này.",
        ))
    }
}
