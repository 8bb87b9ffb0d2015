//! A person when the bot is not enough (`/staff/handoffs`): the citizens who asked for a person
//! (or accepted the offer of one after a dispute or legal-aid question), and the live takeover of
//! a conversation. Staff take a conversation (the bot then stays silent in it), reply in the
//! citizen's channel (through the outbox: durable, paced, within the platform's window), and mark
//! it resolved or hand it back to the bot. Citizens' words are masked; every action is audited.

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
use crate::db::{Handoff, HandoffFilter, HandoffStatus, Speaker, MAX_STAFF_REPLY_CHARS};
use crate::platform::directory::commune_key;

/// Lines of a conversation shown.
const TRANSCRIPT_LINES: usize = 60;

pub(super) fn routes() -> Router<PlatformState> {
    Router::new()
        .route("/staff/handoffs", get(list))
        .route("/staff/handoffs/{id}", get(detail))
        .route("/staff/handoffs/{id}/take", post(take))
        .route("/staff/handoffs/{id}/reply", post(reply))
        .route("/staff/handoffs/{id}/close", post(close))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    state: String,
}

async fn list(
    State(state): State<PlatformState>,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let filter = match query.state.as_str() {
        "closed" => HandoffFilter::Closed,
        "all" => HandoffFilter::All,
        _ => HandoffFilter::Active,
    };
    let handoffs = state.staff.db.handoffs(filter, 200).await?;
    let mut body = html!(
        "<h1>Người dân cần gặp cán bộ</h1>\
         <p class=\"muted\">Người dân gửi \"gặp cán bộ\", hoặc đồng ý gặp người sau câu hỏi về tranh chấp hàng xóm, gia đình hay trợ giúp pháp lý. \
         Mở một yêu cầu để xem cuộc trò chuyện, tiếp nhận (trợ lý tạm dừng) và nhắn trực tiếp cho người dân.</p>\
         <p><a href=\"/staff/handoffs\">Đang chờ</a> · <a href=\"/staff/handoffs?state=closed\">Đã xong</a> · <a href=\"/staff/handoffs?state=all\">Tất cả</a></p>"
    );
    if handoffs.is_empty() {
        body.push(html!("<p class=\"muted\">Không có yêu cầu nào.</p>"));
    } else {
        body.push(html!("<table data-testid=\"handoffs\"><thead><tr><th>Thời gian</th><th>Kênh</th><th>Lý do</th><th>Xã, phường</th><th>Trạng thái</th><th></th></tr></thead><tbody>"));
        for handoff in &handoffs {
            body.push(html!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/staff/handoffs/{}\">Mở</a></td></tr>",
                local_time(&handoff.requested_at),
                labels::channel(handoff.channel),
                labels::handoff_reason(handoff.reason),
                handoff.commune.as_deref().unwrap_or("(chưa rõ)"),
                status_line(handoff),
                handoff.id
            ));
        }
        body.push(html!("</tbody></table>"));
    }
    Ok(html_response(
        StatusCode::OK,
        page("Gặp cán bộ", staff.nav(), body),
    ))
}

fn status_line(handoff: &Handoff) -> String {
    match (&handoff.status, &handoff.taken_by) {
        (HandoffStatus::Taken, Some(name)) => {
            format!("{} ({name})", labels::handoff_status(handoff.status))
        }
        _ => labels::handoff_status(handoff.status).to_owned(),
    }
}

async fn load(state: &PlatformState, id: i64) -> Result<Handoff, PageError> {
    state
        .staff
        .db
        .handoff(id)
        .await?
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "Không tìm thấy yêu cầu này."))
}

#[derive(Deserialize, Default)]
struct DetailQuery {
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

async fn detail(
    State(state): State<PlatformState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(query): Query<DetailQuery>,
) -> Result<Response, PageError> {
    let handoff = load(&state, id).await?;
    let db = &state.staff.db;
    let raw = query.raw.is_some();
    if raw && !staff.is_admin() {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Chỉ quản trị viên được xem nội dung gốc chưa che thông tin cá nhân.",
        ));
    }
    if raw {
        let _ = db
            .audit(
                Some(staff.id()),
                "view_raw",
                Some(format!("handoff:{id}")),
                None,
            )
            .await;
    }
    let transcript = db
        .transcript(
            handoff.channel,
            handoff.conversation_id.clone(),
            TRANSCRIPT_LINES,
        )
        .await?;
    let contacts = db
        .directory_for(
            handoff
                .commune
                .as_deref()
                .map(commune_key)
                .unwrap_or_default(),
        )
        .await?;

    let mut body = html!(
        "<h1>Yêu cầu gặp cán bộ #{}</h1><p class=\"muted\" data-testid=\"handoff-meta\">{} · {} · xã, phường: {} · {} · nhận lúc {}{}</p>",
        handoff.id,
        labels::channel(handoff.channel),
        labels::handoff_reason(handoff.reason),
        handoff.commune.as_deref().unwrap_or("(chưa rõ)"),
        status_line(&handoff),
        local_time(&handoff.requested_at),
        if staff.is_admin() && !raw {
            html!(" · <a href=\"/staff/handoffs/{}?raw=1\">Xem nội dung gốc</a>", handoff.id)
        } else {
            Html::new()
        }
    );
    if let Some(error) = query.error.as_deref().and_then(refusal) {
        body.push(html!("<p class=\"error\" role=\"alert\">{}</p>", error));
    }
    body.push(html!("<div class=\"card\"><h2>Cuộc trò chuyện</h2><p><a href=\"/staff/handoffs/{}\">Tải lại</a></p><div data-testid=\"transcript\">", handoff.id));
    for line in &transcript {
        let (who, class, text) = match &line.speaker {
            Speaker::Citizen => (
                "Người dân".to_owned(),
                "",
                if raw {
                    line.text.clone()
                } else {
                    mask_personal_data(&line.text)
                },
            ),
            Speaker::Bot => ("Hỏi Luật".to_owned(), " muted", line.text.clone()),
            Speaker::Staff { name, status } => (
                format!("Cán bộ {name} ({})", labels::outbox_status(*status)),
                "",
                line.text.clone(),
            ),
        };
        body.push(html!(
            "<div class=\"line{}\"><p><b>{}</b> <span class=\"muted\">{}</span></p><div class=\"pre\">{}</div></div>",
            Html::literal(class),
            who,
            local_time(&line.at),
            text
        ));
    }
    body.push(html!("</div></div>"));

    let csrf = staff.csrf();
    let can_message = !handoff.channel.answers_in_request();
    match handoff.status {
        HandoffStatus::Open if can_message => body.push(html!(
            "<form method=\"post\" action=\"/staff/handoffs/{}/take\" class=\"card\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <p>Tiếp nhận để trò chuyện trực tiếp: trợ lý Hỏi Luật tạm dừng trả lời người dân này cho đến khi cán bộ đánh dấu đã giải quyết hoặc trả lại cho trợ lý.</p>\
             <button type=\"submit\">Tiếp nhận trò chuyện</button></form>",
            handoff.id,
            csrf
        )),
        HandoffStatus::Open => body.push(html!(
            "<p class=\"card muted\">Kênh {} không nhận được tin nhắn sau khi người dân rời trang: hãy liên hệ theo thông tin người dân để lại, rồi đánh dấu đã giải quyết.</p>",
            labels::channel(handoff.channel)
        )),
        HandoffStatus::Taken => body.push(html!(
            "<form method=\"post\" action=\"/staff/handoffs/{}/reply\" class=\"card\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <p><label for=\"reply\">Nhắn cho người dân (gửi qua {}, tối đa {} ký tự)</label><textarea id=\"reply\" name=\"text\" maxlength=\"{}\" required></textarea></p>\
             <p><button type=\"submit\">Gửi</button></p></form>",
            handoff.id,
            csrf,
            labels::channel(handoff.channel),
            MAX_STAFF_REPLY_CHARS,
            MAX_STAFF_REPLY_CHARS
        )),
        HandoffStatus::Resolved | HandoffStatus::Returned => {}
    }
    if handoff.status.is_active() {
        body.push(html!(
            "<form method=\"post\" action=\"/staff/handoffs/{}/close\" class=\"card\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\" name=\"status\" value=\"resolved\">Đánh dấu đã giải quyết</button> \
             <button type=\"submit\" name=\"status\" value=\"returned\">Trả lại cho trợ lý</button></form>",
            handoff.id,
            csrf
        ));
    }
    body.push(html!(
        "<div class=\"card\"><h2>Người liên hệ gợi ý</h2><ul data-testid=\"contacts\">"
    ));
    for contact in &contacts {
        let entry = &contact.entry;
        body.push(html!(
            "<li>{} — {} ({}){}{}</li>",
            labels::role(entry.role),
            entry.name,
            entry.commune,
            if entry.phone.is_empty() {
                html!(" · <span class=\"muted\">chưa có số điện thoại</span>")
            } else {
                html!(" · {}", entry.phone)
            },
            if entry.verified {
                Html::new()
            } else {
                html!(" <span class=\"muted\">(chưa xác minh)</span>")
            }
        ));
    }
    body.push(html!("</ul></div>"));
    Ok(html_response(
        StatusCode::OK,
        page("Gặp cán bộ", staff.nav(), body),
    ))
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    status: String,
}

/// Why an action was refused, by the code the redirect carries (a link cannot put words of its
/// own on the page).
fn refusal(code: &str) -> Option<String> {
    Some(match code {
        "channel" => "Không thể tiếp nhận trò chuyện trên kênh này.".to_owned(),
        "taken" => "Yêu cầu này đã được cán bộ khác tiếp nhận hoặc đã đóng.".to_owned(),
        "length" => format!("Tin nhắn phải có từ 1 đến {MAX_STAFF_REPLY_CHARS} ký tự."),
        "characters" => "Tin nhắn có ký tự không hợp lệ.".to_owned(),
        "not_taken" => "Hãy tiếp nhận trò chuyện trước khi nhắn cho người dân.".to_owned(),
        "closed" => "Yêu cầu này đã đóng.".to_owned(),
        _ => return None,
    })
}

fn back(id: i64, error: Option<&str>) -> Response {
    let location = match error {
        Some(code) => format!("/staff/handoffs/{id}?error={code}"),
        None => format!("/staff/handoffs/{id}"),
    };
    Redirect::to(&location).into_response()
}

async fn take(
    State(state): State<PlatformState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let handoff = load(&state, id).await?;
    if handoff.channel.answers_in_request() {
        return Ok(back(id, Some("channel")));
    }
    if !state.staff.db.take_handoff(id, staff.id()).await? {
        return Ok(back(id, Some("taken")));
    }
    tracing::info!(staff = staff.id(), handoff = id, "conversation taken over");
    Ok(back(id, None))
}

async fn reply(
    State(state): State<PlatformState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let text = form.text.trim().replace("\r\n", "\n");
    if text.is_empty() || text.chars().count() > MAX_STAFF_REPLY_CHARS {
        return Ok(back(id, Some("length")));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Ok(back(id, Some("characters")));
    }
    let message = state.platform.staff_reply_text(&text);
    match state
        .staff
        .db
        .queue_staff_reply(id, staff.id(), message)
        .await?
    {
        Some(_) => {
            state.platform.wake_outbox();
            Ok(back(id, None))
        }
        None => Ok(back(id, Some("not_taken"))),
    }
}

async fn close(
    State(state): State<PlatformState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let status = match form.status.as_str() {
        "resolved" => HandoffStatus::Resolved,
        "returned" => HandoffStatus::Returned,
        _ => {
            return Err(PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Thao tác không hợp lệ.",
            ))
        }
    };
    if !state.staff.db.close_handoff(id, staff.id(), status).await? {
        return Ok(back(id, Some("closed")));
    }
    Ok(back(id, None))
}
