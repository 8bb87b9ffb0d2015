//! Listening to public opinion (`/staff/listening`): for any period, the topics people ask about
//! grouped by meaning, how each moves week to week, the questions the corpus could not answer or
//! staff corrected, and feedback and satisfaction per topic (`platform::listening` builds it).
//! Exported as CSV and as a printable page; questions are masked everywhere.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;

use super::download::csv_response;
use super::error::PageError;
use super::html::{html, html_response, page, Html};
use super::session::Staff;
use super::stats::{period_or_last, PeriodQuery};
use super::StaffState;
use crate::platform::listening::{self, ListeningReport};

/// The default period: the last eight weeks.
const DEFAULT_DAYS: i64 = 56;
/// The longest period, in days.
const MAX_DAYS: i64 = 366;

pub(super) fn routes() -> Router<StaffState> {
    Router::new()
        .route("/staff/listening", get(report_page))
        .route("/staff/listening/print", get(print_page))
        .route("/staff/listening.csv", get(export))
}

async fn build(state: &StaffState, query: &PeriodQuery) -> Result<ListeningReport, PageError> {
    let period = period_or_last(query, DEFAULT_DAYS)?;
    let (Ok(from), Ok(to)) = (
        NaiveDate::parse_from_str(&period.from, "%Y-%m-%d"),
        NaiveDate::parse_from_str(&period.to, "%Y-%m-%d"),
    ) else {
        return Err(PageError::bad_date());
    };
    if (to - from).num_days() >= MAX_DAYS {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "Kỳ báo cáo tối đa một năm.",
        ));
    }
    let Some(assistant) = state.ready.get() else {
        return Err(PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Hệ thống đang khởi động; vui lòng thử lại sau ít phút.",
        ));
    };
    listening::build(&state.db, assistant.embedder().clone(), from, to)
        .await
        .map_err(PageError::internal)
}

/// Bars of a topic's weekly counts, as a small inline SVG.
fn weekly_bars(weekly: &[i64]) -> Html {
    let max = weekly.iter().copied().max().unwrap_or(0).max(1) as f64;
    let width = weekly.len() * 10;
    let mut svg = html!(
        "<svg role=\"img\" aria-label=\"Số câu hỏi theo tuần: {}\" width=\"{}\" height=\"24\" viewBox=\"0 0 {} 24\" xmlns=\"http://www.w3.org/2000/svg\">",
        weekly.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
        width,
        width
    );
    for (i, count) in weekly.iter().enumerate() {
        let height = (*count as f64 / max * 22.0).max(if *count > 0 { 2.0 } else { 0.5 });
        svg.push(html!(
            "<rect x=\"{}\" y=\"{:.1}\" width=\"8\" height=\"{:.1}\" fill=\"#8b1a1a\"><title>{}</title></rect>",
            i * 10,
            24.0 - height,
            height,
            *count
        ));
    }
    svg.push(html!("</svg>"));
    svg
}

fn report_body(report: &ListeningReport, printable: bool) -> Html {
    let mut body = html!(
        "<h1>Lắng nghe dư luận</h1><p class=\"muted\">Từ {} đến {}: {} câu hỏi, {} câu hỏi khác nhau{}. \
         Câu hỏi được nhóm theo nghĩa (mô hình nhúng e5 của trợ lý, phân cụm k-means), không theo từng chữ; số điện thoại, số giấy tờ, email đã được che.</p>",
        report.from,
        report.to,
        report.questions,
        report.distinct,
        if report.left_out > 0 {
            html!(" ({} câu ít gặp nhất không được nhóm)", report.left_out)
        } else {
            Html::new()
        }
    );
    if !printable {
        body.push(html!(
            "<form method=\"get\" action=\"/staff/listening\" class=\"card\"><label>Từ ngày <input type=\"date\" name=\"from\" value=\"{0}\"></label> \
             <label>Đến ngày <input type=\"date\" name=\"to\" value=\"{1}\"></label> <button type=\"submit\">Xem</button> \
             · <a href=\"/staff/listening.csv?from={0}&amp;to={1}\">Tải CSV</a> · <a href=\"/staff/listening/print?from={0}&amp;to={1}\">Bản in</a></form>",
            report.from,
            report.to
        ));
    }
    body.push(html!("<h2>Chủ đề người dân quan tâm</h2>"));
    if report.topics.is_empty() {
        body.push(html!(
            "<p class=\"muted\">Chưa có câu hỏi trong kỳ này.</p>"
        ));
    } else {
        body.push(html!(
            "<table data-testid=\"topics\"><thead><tr><th>Chủ đề (câu hỏi tiêu biểu)</th><th>Lĩnh vực</th><th>Số câu hỏi</th><th>Theo tuần (từ {})</th><th>Tuần cuối so với tuần trước</th><th>Chưa có văn bản / cán bộ sửa</th><th>Thích / không thích</th><th>Hài lòng</th></tr></thead><tbody>",
            report.weeks.first().map(|w| w.format("%d/%m").to_string()).unwrap_or_default()
        ));
        for topic in &report.topics {
            let change = match topic.last_week_change() {
                Some(change) if change > 0.0 => format!("▲ {change:.0}%"),
                Some(change) if change < 0.0 => format!("▼ {:.0}%", -change),
                Some(_) => "=".to_owned(),
                None => "—".to_owned(),
            };
            let satisfaction = if topic.satisfaction.0 > 0 {
                format!(
                    "{:.0}% ({} lượt)",
                    topic.satisfaction.1 as f64 * 100.0 / topic.satisfaction.0 as f64,
                    topic.satisfaction.0
                )
            } else {
                "—".to_owned()
            };
            let examples: Html = topic
                .examples
                .iter()
                .map(|e| html!("<br><span class=\"muted\">• {}</span>", e))
                .collect();
            body.push(html!(
                "<tr><td><b>{}</b>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{} / {}</td><td>{}</td></tr>",
                topic.label,
                examples,
                topic.field.as_deref().unwrap_or("—"),
                topic.questions,
                weekly_bars(&topic.weekly),
                change,
                topic.unanswered,
                topic.corrected,
                topic.thumbs_up,
                topic.thumbs_down,
                satisfaction
            ));
        }
        body.push(html!("</tbody></table>"));
    }
    body.push(html!(
        "<h2>Câu hỏi chưa được giải đáp hoặc cán bộ phải sửa (nhiều nhất)</h2><p class=\"muted\">Gộp các cách hỏi gần giống nhau. Đây là gợi ý nội dung cần phổ biến hoặc bổ sung văn bản.</p>"
    ));
    if report.unresolved.is_empty() {
        body.push(html!("<p class=\"muted\">Không có.</p>"));
    } else {
        body.push(html!("<table data-testid=\"unresolved\"><thead><tr><th>Câu hỏi</th><th>Số lần hỏi</th><th>Chưa có văn bản</th><th>Cán bộ sửa</th><th>Không thích</th></tr></thead><tbody>"));
        for item in &report.unresolved {
            body.push(html!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                item.question,
                item.asked,
                item.unanswered,
                item.corrected,
                item.thumbs_down
            ));
        }
        body.push(html!("</tbody></table>"));
    }
    body
}

async fn report_page(
    State(state): State<StaffState>,
    staff: Staff,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, PageError> {
    let report = build(&state, &query).await?;
    Ok(html_response(
        StatusCode::OK,
        page(
            "Lắng nghe dư luận",
            staff.nav(),
            report_body(&report, false),
        ),
    ))
}

/// The report of a page that takes it out of the console (printed, downloaded): audited with
/// its period.
async fn build_audited(
    state: &StaffState,
    staff: &Staff,
    query: &PeriodQuery,
    action: &'static str,
) -> Result<ListeningReport, PageError> {
    let report = build(state, query).await?;
    let _ = state
        .db
        .audit(
            Some(staff.id()),
            action,
            Some(format!("{}..{}", report.from, report.to)),
            None,
        )
        .await;
    Ok(report)
}

async fn print_page(
    State(state): State<StaffState>,
    staff: Staff,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, PageError> {
    let report = build_audited(&state, &staff, &query, "print_listening").await?;
    Ok(html_response(
        StatusCode::OK,
        page(
            "Lắng nghe dư luận (bản in)",
            None,
            report_body(&report, true),
        ),
    ))
}

async fn export(
    State(state): State<StaffState>,
    staff: Staff,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, PageError> {
    let report = build_audited(&state, &staff, &query, "export_listening").await?;
    Ok(csv_response(
        &format!("lang-nghe-{}-{}.csv", report.from, report.to),
        &listening::to_csv(&report),
    ))
}
