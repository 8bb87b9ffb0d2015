//! Legal news (`/staff/news`): staff write a short notice ("NĐ 168/2024 có hiệu lực từ …"), see it
//! exactly as subscribers will, and publish it. Publishing queues one message per subscriber in
//! the outbox, which sends them paced and within each platform's rules (Zalo's 48-hour window:
//! a subscriber outside it gets the notice when they next write, within 7 days); the page shows
//! how far the sending is.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::error::PageError;
use super::html::{html, html_response, local_time, page, Html};
use super::labels;
use super::session::Staff;
use super::PlatformState;
use crate::db::{NewsStatus, OutboxKind, OutboxStatus};

/// Longest title, in characters.
const MAX_TITLE_CHARS: usize = 150;
/// Longest body: with the title and the footer, one message on every platform (Zalo: 2,000).
const MAX_BODY_CHARS: usize = 1_500;

pub(super) fn routes() -> Router<PlatformState> {
    Router::new()
        .route("/staff/news", get(list).post(create))
        .route("/staff/news/{id}", get(detail))
        .route("/staff/news/{id}/publish", post(publish))
}

async fn list(State(state): State<PlatformState>, staff: Staff) -> Result<Response, PageError> {
    Ok(html_response(
        StatusCode::OK,
        page(
            "Tin pháp luật",
            staff.nav(),
            list_body(&state, &staff, None).await?,
        ),
    ))
}

async fn list_body(
    state: &PlatformState,
    staff: &Staff,
    error: Option<&str>,
) -> Result<Html, PageError> {
    let db = &state.staff.db;
    let subscribers = db.subscriber_counts().await?;
    let items = db.news_items(100).await?;
    let total: i64 = subscribers.iter().map(|(_, n)| n).sum();
    let mut body = html!(
        "<h1>Tin pháp luật</h1>\
         <p class=\"muted\">Người dân đăng ký bằng tin nhắn \"đăng ký nhận tin\" (hoặc nút trên Telegram) và ngừng bằng \"hủy nhận tin\". \
         Tin được gửi lần lượt, giới hạn tốc độ theo quy định của từng nền tảng; trên Zalo OA chỉ gửi được trong 48 giờ sau tin nhắn gần nhất của người dân, \
         người ngoài khung này nhận tin khi nhắn lại (trong 7 ngày). Trang web không nhận tin chủ động.</p>\
         <div data-testid=\"subscribers\"><span class=\"kpi\">Người đăng ký<b>{}</b></span>",
        total
    );
    for (channel, count) in &subscribers {
        body.push(html!(
            "<span class=\"kpi\">{}<b>{}</b></span>",
            labels::channel(*channel),
            *count
        ));
    }
    body.push(html!("</div>"));
    if let Some(error) = error {
        body.push(html!("<p class=\"error\" role=\"alert\">{}</p>", error));
    }
    body.push(html!(
        "<form method=\"post\" action=\"/staff/news\" class=\"card\"><h2>Soạn tin</h2><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <p><label>Tiêu đề <input name=\"title\" size=\"70\" maxlength=\"{}\" required></label></p>\
         <p><label for=\"body\">Nội dung (tối đa {} ký tự; nêu số hiệu văn bản và ngày hiệu lực)</label><textarea id=\"body\" name=\"body\" maxlength=\"{}\" required></textarea></p>\
         <p><button type=\"submit\">Lưu và xem trước</button></p></form>",
        staff.csrf(),
        MAX_TITLE_CHARS,
        MAX_BODY_CHARS,
        MAX_BODY_CHARS
    ));
    if !items.is_empty() {
        body.push(html!("<table data-testid=\"news\"><thead><tr><th>Tin</th><th>Trạng thái</th><th>Người nhận</th><th>Tạo lúc</th></tr></thead><tbody>"));
        for item in &items {
            body.push(html!(
                "<tr><td><a href=\"/staff/news/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                item.id,
                item.title,
                match item.status {
                    NewsStatus::Draft => "Bản nháp".to_owned(),
                    NewsStatus::Published => format!(
                        "Đã đăng {}",
                        item.published_at.as_deref().map(local_time).unwrap_or_default()
                    ),
                },
                item.recipients,
                local_time(&item.created_at)
            ));
        }
        body.push(html!("</tbody></table>"));
    }
    Ok(body)
}

#[derive(Deserialize)]
struct NewsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

async fn create(
    State(state): State<PlatformState>,
    staff: Staff,
    Form(form): Form<NewsForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let title = form.title.trim().to_owned();
    let body = form.body.trim().replace("\r\n", "\n");
    let bad = |text: &str, max: usize| {
        text.is_empty()
            || text.chars().count() > max
            || text.chars().any(|c| c.is_control() && c != '\n')
    };
    if bad(&title, MAX_TITLE_CHARS) || bad(&body, MAX_BODY_CHARS) {
        let message = format!(
            "Tiêu đề (tối đa {MAX_TITLE_CHARS} ký tự) và nội dung (tối đa {MAX_BODY_CHARS} ký tự) không được để trống."
        );
        return Ok(html_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            page(
                "Tin pháp luật",
                staff.nav(),
                list_body(&state, &staff, Some(&message)).await?,
            ),
        ));
    }
    let id = state.staff.db.create_news(title, body, staff.id()).await?;
    Ok(Redirect::to(&format!("/staff/news/{id}")).into_response())
}

async fn detail(
    State(state): State<PlatformState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let db = &state.staff.db;
    let item = db
        .news_item(id)
        .await?
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "Không tìm thấy tin này."))?;
    let text = state.platform.notice_text(&item.title, &item.body);
    let mut body = html!(
        "<h1>{}</h1><div class=\"card\"><h2>Người đăng ký sẽ nhận</h2><div class=\"pre\" data-testid=\"preview\">{}</div></div>",
        item.title,
        text
    );
    match item.status {
        NewsStatus::Draft => {
            let subscribers: i64 = db.subscriber_counts().await?.iter().map(|(_, n)| n).sum();
            body.push(html!(
                "<form method=\"post\" action=\"/staff/news/{}/publish\" class=\"card\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <p>Đăng tin: gửi cho {} người đang đăng ký. Không thể thu hồi tin đã gửi.</p><button type=\"submit\">Đăng và gửi</button></form>",
                item.id,
                staff.csrf(),
                subscribers
            ));
        }
        NewsStatus::Published => {
            let counts = db.outbox_counts(OutboxKind::News, item.id).await?;
            body.push(html!(
                "<div class=\"card\" data-testid=\"delivery\"><h2>Gửi tin</h2><p>Đăng lúc {} cho {} người. <a href=\"/staff/news/{}\">Tải lại</a></p><ul>",
                item.published_at.as_deref().map(local_time).unwrap_or_default(),
                item.recipients,
                item.id
            ));
            for (status, count) in counts {
                let label = OutboxStatus::parse(&status)
                    .map_or_else(|| status.clone(), |s| labels::outbox_status(s).to_owned());
                body.push(html!("<li>{}: {}</li>", label, count));
            }
            body.push(html!("</ul></div>"));
        }
    }
    Ok(html_response(
        StatusCode::OK,
        page("Tin pháp luật", staff.nav(), body),
    ))
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn publish(
    State(state): State<PlatformState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let db = &state.staff.db;
    let item = db
        .news_item(id)
        .await?
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "Không tìm thấy tin này."))?;
    let text = state.platform.notice_text(&item.title, &item.body);
    match db.publish_news(id, text, staff.id()).await? {
        Some(recipients) => {
            tracing::info!(
                staff = staff.id(),
                news = id,
                recipients,
                "notice published"
            );
            state.platform.wake_outbox();
        }
        None => tracing::debug!(news = id, "notice published before"),
    }
    Ok(Redirect::to(&format!("/staff/news/{id}")).into_response())
}
