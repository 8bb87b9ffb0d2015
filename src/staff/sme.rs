//! Legal support for small and medium enterprises (`/staff/sme`): the requests enterprises send
//! from the chat (company, tax code, question, contact), with their own statuses (new, in
//! progress, answered, closed) and response-time statistics. Staff answer by phone or e-mail and
//! record it, or answer in the enterprise's chat channel through the outbox. The contact is what
//! the enterprise gave to be contacted: shown to staff, each view of a request audited.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::error::PageError;
use super::html::{html, html_response, local_time, page, Html};
use super::labels;
use super::privacy::mask_personal_data;
use super::session::Staff;
use super::PlatformState;
use crate::db::{SmeRequest, SmeStatus, MAX_STAFF_REPLY_CHARS};
use crate::platform::plan_report::median;
use crate::platform::sme::MAX_QUESTION_CHARS;

pub(super) fn routes() -> Router<PlatformState> {
    Router::new()
        .route("/staff/sme", get(list))
        .route("/staff/sme/{id}", get(detail))
        .route("/staff/sme/{id}/status", post(set_status))
        .route("/staff/sme/{id}/reply", post(reply))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    status: String,
}

/// Hours from a request to its first response.
fn response_hours(request: &SmeRequest) -> Option<f64> {
    crate::db::hours_between(&request.created_at, request.first_response_at.as_deref()?)
}

async fn list(
    State(state): State<PlatformState>,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let db = &state.staff.db;
    let status = SmeStatus::parse(&query.status);
    let all = db.sme_requests(None, 2_000).await?;
    let shown: Vec<&SmeRequest> = all
        .iter()
        .filter(|r| status.is_none_or(|s| r.status == s))
        .take(200)
        .collect();
    let mut body = html!(
        "<h1>Hỗ trợ pháp lý doanh nghiệp nhỏ và vừa</h1>\
         <p class=\"muted\">Yêu cầu doanh nghiệp gửi qua trợ lý Hỏi Luật (theo Điều 14 Luật Hỗ trợ doanh nghiệp nhỏ và vừa số 04/2017/QH14 và Nghị định 80/2021/NĐ-CP). \
         Thời gian phản hồi tính từ lúc gửi yêu cầu đến khi cán bộ trả lời hoặc đánh dấu đã trả lời.</p><div data-testid=\"sme-kpis\">"
    );
    for status in SmeStatus::ALL {
        let count = all.iter().filter(|r| r.status == *status).count();
        body.push(html!(
            "<a class=\"kpi\" href=\"/staff/sme?status={}\">{}<b>{}</b></a>",
            status.as_str(),
            labels::sme_status(*status),
            count
        ));
    }
    let hours: Vec<f64> = all.iter().filter_map(response_hours).collect();
    body.push(html!(
        "<span class=\"kpi\" data-testid=\"sme-median\">Phản hồi (trung vị)<b>{}</b></span></div>",
        median(hours).map_or("—".to_owned(), |h| format!("{h:.1} giờ"))
    ));
    if shown.is_empty() {
        body.push(html!("<p class=\"muted\">Không có yêu cầu nào.</p>"));
    } else {
        body.push(html!("<table data-testid=\"sme\"><thead><tr><th>#</th><th>Gửi lúc</th><th>Doanh nghiệp</th><th>Mã số thuế</th><th>Nội dung</th><th>Kênh</th><th>Trạng thái</th></tr></thead><tbody>"));
        for request in shown {
            let question: String = mask_personal_data(&request.request.question)
                .chars()
                .take(120)
                .collect();
            body.push(html!(
                "<tr><td><a href=\"/staff/sme/{}\">#{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                request.id,
                request.id,
                local_time(&request.created_at),
                request.request.company,
                request.request.tax_code,
                question,
                labels::channel(request.request.channel),
                labels::sme_status(request.status)
            ));
        }
        body.push(html!("</tbody></table>"));
    }
    Ok(html_response(
        StatusCode::OK,
        page("Doanh nghiệp", staff.nav(), body),
    ))
}

async fn detail(
    State(state): State<PlatformState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let db = &state.staff.db;
    let request = db
        .sme_request(id)
        .await?
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "Không tìm thấy yêu cầu này."))?;
    let _ = db
        .audit(
            Some(staff.id()),
            "view_sme",
            Some(format!("sme:{id}")),
            None,
        )
        .await;
    let r = &request.request;
    let mut body = html!(
        "<h1>Yêu cầu hỗ trợ doanh nghiệp #{}</h1>\
         <div class=\"card\" data-testid=\"sme-request\"><p><b>Doanh nghiệp:</b> {}</p><p><b>Mã số thuế:</b> {}</p>\
         <p><b>Nội dung:</b></p><div class=\"pre\">{}</div><p><b>Liên hệ:</b> {}</p>\
         <p class=\"muted\">Gửi qua {} lúc {} · trạng thái: {}{} · phản hồi đầu tiên: {}</p>{}</div>",
        request.id,
        r.company,
        if r.tax_code.is_empty() { "(chưa có)" } else { r.tax_code.as_str() },
        mask_personal_data(&r.question),
        r.contact,
        labels::channel(r.channel),
        local_time(&request.created_at),
        labels::sme_status(request.status),
        request
            .assigned_to
            .as_deref()
            .map(|name| html!(" ({})", name))
            .unwrap_or_default(),
        request
            .first_response_at
            .as_deref()
            .map(local_time)
            .unwrap_or_else(|| "chưa".into()),
        request
            .note
            .as_deref()
            .map(|note| html!("<p><b>Ghi chú:</b> {}</p>", note))
            .unwrap_or_default()
    );
    let mut options = Html::new();
    for status in SmeStatus::ALL {
        options.push(html!(
            "<option value=\"{}\"{}>{}</option>",
            status.as_str(),
            Html::literal(if *status == request.status {
                " selected"
            } else {
                ""
            }),
            labels::sme_status(*status)
        ));
    }
    body.push(html!(
        "<form method=\"post\" action=\"/staff/sme/{}/status\" class=\"card\"><h2>Cập nhật</h2><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <p><label>Trạng thái <select name=\"status\">{}</select></label></p>\
         <p><label for=\"note\">Ghi chú (ví dụ: đã gọi điện hướng dẫn)</label><br><input id=\"note\" name=\"note\" size=\"80\" maxlength=\"500\"></p>\
         <p><button type=\"submit\">Lưu</button></p></form>",
        request.id,
        staff.csrf(),
        options
    ));
    if r.channel.answers_in_request() {
        body.push(html!("<p class=\"card muted\">Yêu cầu gửi từ trang web: hãy trả lời qua số điện thoại hoặc email doanh nghiệp để lại.</p>"));
    } else {
        body.push(html!(
            "<form method=\"post\" action=\"/staff/sme/{}/reply\" class=\"card\"><h2>Trả lời qua {}</h2><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <p><textarea name=\"text\" maxlength=\"{}\" required aria-label=\"Nội dung trả lời\"></textarea></p><p><button type=\"submit\">Gửi trả lời</button></p></form>",
            request.id,
            labels::channel(r.channel),
            staff.csrf(),
            MAX_STAFF_REPLY_CHARS
        ));
    }
    let transcript = db
        .transcript(r.channel, r.conversation_id.clone(), 20)
        .await?;
    let sent: Vec<_> = transcript
        .iter()
        .filter(|line| matches!(line.speaker, crate::db::Speaker::Staff { .. }))
        .collect();
    if !sent.is_empty() {
        body.push(html!(
            "<div class=\"card\"><h2>Đã nhắn cho doanh nghiệp</h2>"
        ));
        for line in sent {
            if let crate::db::Speaker::Staff { name, status } = &line.speaker {
                body.push(html!(
                    "<p class=\"muted\">{} · {} · {}</p><div class=\"pre\">{}</div>",
                    local_time(&line.at),
                    name,
                    labels::outbox_status(*status),
                    line.text
                ));
            }
        }
        body.push(html!("</div>"));
    }
    Ok(html_response(
        StatusCode::OK,
        page("Doanh nghiệp", staff.nav(), body),
    ))
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    text: String,
}

async fn set_status(
    State(state): State<PlatformState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let status = SmeStatus::parse(&form.status).ok_or_else(|| {
        PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "Trạng thái không hợp lệ.")
    })?;
    let note = form.note.trim();
    if note.chars().count() > 500 || note.chars().any(char::is_control) {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Ghi chú tối đa 500 ký tự.",
        ));
    }
    let note = (!note.is_empty()).then(|| note.to_owned());
    if !state
        .staff
        .db
        .update_sme_request(id, staff.id(), status, note)
        .await?
    {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Không tìm thấy yêu cầu này.",
        ));
    }
    Ok(Redirect::to(&format!("/staff/sme/{id}")).into_response())
}

async fn reply(
    State(state): State<PlatformState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let text = form.text.trim().replace("\r\n", "\n");
    let limit = MAX_STAFF_REPLY_CHARS.min(MAX_QUESTION_CHARS * 2);
    if text.is_empty()
        || text.chars().count() > limit
        || text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Nội dung trả lời phải có từ 1 đến {limit} ký tự."),
        ));
    }
    let request = state
        .staff
        .db
        .sme_request(id)
        .await?
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "Không tìm thấy yêu cầu này."))?;
    if request.request.channel.answers_in_request() {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Không thể nhắn qua kênh web; hãy liên hệ theo thông tin doanh nghiệp để lại.",
        ));
    }
    let message = state.platform.sme_reply_text(id, &text);
    state
        .staff
        .db
        .queue_sme_reply(id, staff.id(), message)
        .await?;
    state.platform.wake_outbox();
    Ok(Redirect::to(&format!("/staff/sme/{id}")).into_response())
}
