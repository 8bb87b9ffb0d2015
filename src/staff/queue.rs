//! The review queue (`/staff`): flagged answers, newest first, filtered by reason, channel, topic,
//! dates and state. Questions are shown masked.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use serde::Deserialize;

use super::error::PageError;
use super::html::{
    answer_status_label, decision_label, html, html_response, local_time, page, reason_label, Html,
};
use super::privacy::mask_personal_data;
use super::session::Staff;
use super::StaffState;
use crate::answer::review::FlagReason;
use crate::db::{ChannelKind, QueueFilter};

pub(super) fn routes() -> Router<StaffState> {
    Router::new().route("/staff", get(queue))
}

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

/// A `<select>` of a filter, "all" first; `options` are (value, label).
fn select(name: &str, label: &str, options: &[(String, String)], selected: &str) -> Html {
    let mut html = html!(
        "<label>{} <select name=\"{}\"><option value=\"\">Tất cả</option>",
        label,
        name
    );
    for (value, text) in options {
        let mark = if value == selected { " selected" } else { "" };
        html.push(html!(
            "<option value=\"{}\"{}>{}</option>",
            value,
            Html::literal(mark),
            text
        ));
    }
    html.push(html!("</select></label> "));
    html
}

async fn queue(
    State(state): State<StaffState>,
    staff: Staff,
    Query(query): Query<QueueQuery>,
) -> Result<Response, PageError> {
    if !valid_day(&query.from) || !valid_day(&query.to) {
        return Err(PageError::bad_date());
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
        tokio::try_join!(state.db.review_queue(filter), state.db.flagged_topics())?;
    let reasons: Vec<(String, String)> = FlagReason::ALL
        .iter()
        .map(|r| (r.as_str().to_owned(), reason_label(*r).to_owned()))
        .collect();
    let channels: Vec<(String, String)> = ChannelKind::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), c.as_str().to_owned()))
        .collect();
    let topics: Vec<(String, String)> = topics.into_iter().map(|t| (t.clone(), t)).collect();
    let states = [
        ("pending", "Chưa duyệt"),
        ("reviewed", "Đã duyệt"),
        ("all", "Tất cả"),
    ];
    let mut body = html!("<h1>Câu trả lời cần cán bộ xem lại</h1><form method=\"get\" action=\"/staff\" class=\"card\" aria-label=\"Lọc\">");
    body.push(select("reason", "Lý do", &reasons, &query.reason));
    body.push(select("channel", "Kênh", &channels, &query.channel));
    body.push(select("topic", "Lĩnh vực", &topics, &query.topic));
    body.push(html!(
        "<label>Từ ngày <input type=\"date\" name=\"from\" value=\"{}\"></label> <label>Đến ngày <input type=\"date\" name=\"to\" value=\"{}\"></label> ",
        query.from,
        query.to
    ));
    body.push(html!("<label>Trạng thái <select name=\"state\">"));
    for (value, text) in states {
        let selected = value == query.state || (query.state.is_empty() && value == "pending");
        let mark = if selected { " selected" } else { "" };
        body.push(html!(
            "<option value=\"{}\"{}>{}</option>",
            value,
            Html::literal(mark),
            text
        ));
    }
    body.push(html!(
        "</select></label> <button type=\"submit\">Lọc</button></form>"
    ));
    if items.is_empty() {
        body.push(html!(
            "<p class=\"muted\">Không có câu trả lời nào cần xem lại với bộ lọc này.</p>"
        ));
    } else {
        body.push(html!("<p>{} câu trả lời.</p><table data-testid=\"queue\"><thead><tr><th>Thời gian</th><th>Kênh</th><th>Câu hỏi</th><th>Trạng thái</th><th>Lý do</th><th>Lĩnh vực</th><th></th></tr></thead><tbody>", items.len()));
        for item in &items {
            let mut reasons = item.reasons.clone();
            reasons.sort_by_key(|reason| reason.as_str());
            reasons.dedup();
            let reasons: Html = reasons
                .into_iter()
                .map(|r| html!("<span class=\"flag\">{}</span>", reason_label(r)))
                .collect();
            let question: String = mask_personal_data(&item.question)
                .chars()
                .take(160)
                .collect();
            let status = match item.decision {
                Some(decision) => html!("Đã duyệt: {}", decision_label(decision)),
                None => html!(
                    "{} ({:.2})",
                    answer_status_label(item.status),
                    item.confidence
                ),
            };
            body.push(html!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/staff/answers/{}\">Xem lại</a></td></tr>",
                local_time(&item.created_at),
                item.channel.as_str(),
                question,
                status,
                reasons,
                item.topic.as_deref().unwrap_or(""),
                item.answer_id
            ));
        }
        body.push(html!("</tbody></table>"));
    }
    Ok(html_response(
        StatusCode::OK,
        page("Hàng chờ duyệt", staff.nav(), body),
    ))
}
