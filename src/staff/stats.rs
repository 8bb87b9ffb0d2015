//! Statistics for the plan's reports (Kế hoạch 137: ≥ 90% satisfaction, 6-month and annual
//! reports): questions per day, channel and topic, answered vs declined, flags and review times,
//! satisfaction, and the questions the corpus could not answer. The page (`/staff/stats`) draws
//! inline SVG charts; any period exports as CSV (`/staff/stats.csv`, masked, audited).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{Duration as ChronoDuration, NaiveDate, Utc};
use serde::Deserialize;

use super::error::PageError;
use super::html::{html, html_response, page, Html};
use super::privacy::mask_personal_data;
use super::session::Staff;
use super::StaffState;
use crate::db::{Db, DbError};

/// The satisfaction target of the plan.
pub const SATISFACTION_TARGET: f64 = 0.90;

/// A period of whole days, `YYYY-MM-DD`, both ends included.
#[derive(Debug, Clone)]
pub struct Period {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub per_day: Vec<(String, i64)>,
    pub per_channel: Vec<(String, i64)>,
    pub per_topic: Vec<(String, i64)>,
    pub questions: i64,
    pub answered: i64,
    pub declined: i64,
    pub flagged: i64,
    pub reviewed: i64,
    /// Median hours from answer to review, over reviewed answers of the period.
    pub median_review_hours: Option<f64>,
    pub satisfaction_votes: i64,
    pub satisfied_votes: i64,
    pub thumbs_up: i64,
    pub thumbs_down: i64,
    /// (question, times asked), masked.
    pub unanswered: Vec<(String, i64)>,
}

impl Stats {
    /// Share of satisfaction ratings of 4 or 5 (`None` without ratings).
    pub fn satisfaction_rate(&self) -> Option<f64> {
        (self.satisfaction_votes > 0)
            .then(|| self.satisfied_votes as f64 / self.satisfaction_votes as f64)
    }
}

/// The upper bound as a timestamp prefix that sorts after every time of that day.
fn end_of(day: &str) -> String {
    format!("{day}T99")
}

pub async fn compute(db: &Db, period: Period) -> Result<Stats, DbError> {
    let counts = db
        .period_counts(period.from.clone(), end_of(&period.to))
        .await?;
    let mut hours = counts.review_hours;
    hours.sort_by(f64::total_cmp);
    Ok(Stats {
        per_day: counts.per_day,
        per_channel: counts.per_channel,
        per_topic: counts
            .per_topic
            .into_iter()
            .map(|(topic, n)| (topic.unwrap_or_else(|| "(không rõ)".into()), n))
            .collect(),
        questions: counts.questions,
        answered: counts.answered,
        declined: counts.declined,
        flagged: counts.flagged,
        reviewed: counts.reviewed,
        median_review_hours: median(&hours),
        satisfaction_votes: counts.satisfaction_votes,
        satisfied_votes: counts.satisfied_votes,
        thumbs_up: counts.thumbs_up,
        thumbs_down: counts.thumbs_down,
        unanswered: counts
            .unanswered
            .into_iter()
            .map(|(question, n)| (mask_personal_data(&question), n))
            .collect(),
    })
}

fn median(sorted: &[f64]) -> Option<f64> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// One row per question of the period, personal data masked, for the periodic reports.
pub async fn csv(db: &Db, period: Period) -> Result<String, DbError> {
    let rows = db
        .period_questions(period.from.clone(), end_of(&period.to))
        .await?;
    let mut out = String::from(
        "received_at,channel,topic,status,decline_reason,confidence,flags,review,feedback,question\n",
    );
    for row in rows {
        let fields = [
            row.received_at,
            row.channel,
            row.topic,
            row.status,
            row.decline_reason,
            format!("{:.2}", row.confidence),
            row.flags,
            row.review,
            row.feedback,
            mask_personal_data(&row.text),
        ];
        let fields: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// Quotes a CSV field when needed (RFC 4180), and defuses spreadsheet formulas.
fn csv_field(value: &str) -> String {
    // A leading tab or carriage return also makes some spreadsheets read a formula.
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// A horizontal bar chart as inline SVG, labelled for screen readers.
pub fn bar_chart(title: &str, data: &[(String, i64)]) -> Html {
    if data.is_empty() {
        return html!("<p class=\"muted\">{}: chưa có dữ liệu.</p>", title);
    }
    let max = data.iter().map(|(_, v)| *v).max().unwrap_or(1).max(1) as f64;
    let row_height = 22;
    let height = data.len() * row_height + 10;
    let mut svg = html!(
        "<figure><figcaption>{0}</figcaption><svg role=\"img\" aria-label=\"{0}\" width=\"640\" height=\"{1}\" viewBox=\"0 0 640 {1}\" xmlns=\"http://www.w3.org/2000/svg\">",
        title,
        height
    );
    for (i, (label, value)) in data.iter().enumerate() {
        let y = i * row_height + 5;
        let width = (*value as f64 / max * 360.0).max(1.0);
        let short: String = label.chars().take(38).collect();
        svg.push(html!(
            "<text x=\"0\" y=\"{0}\" font-size=\"12\">{1}</text><rect x=\"250\" y=\"{2}\" width=\"{3:.0}\" height=\"16\" fill=\"#8b1a1a\"><title>{4}: {5}</title></rect><text x=\"{6:.0}\" y=\"{0}\" font-size=\"12\">{5}</text>",
            y + 13,
            short,
            y,
            width,
            label,
            *value,
            255.0 + width
        ));
    }
    svg.push(html!("</svg></figure>"));
    svg
}

pub(super) fn routes() -> Router<StaffState> {
    Router::new()
        .route("/staff/stats", get(stats_page))
        .route("/staff/stats.csv", get(stats_csv))
}

/// The period of a page's `?from=…&to=…`.
#[derive(Deserialize, Default)]
pub(super) struct PeriodQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// The period a page asks for: the last 30 days by default.
fn period(query: &PeriodQuery) -> Result<Period, PageError> {
    period_or_last(query, 30)
}

/// The period a page asks for, the last `days` days by default (today included).
pub(super) fn period_or_last(query: &PeriodQuery, days: i64) -> Result<Period, PageError> {
    let today = Utc::now().date_naive();
    let parse = |text: &str, default: NaiveDate| -> Result<NaiveDate, PageError> {
        if text.is_empty() {
            return Ok(default);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| PageError::bad_date())
    };
    let to = parse(&query.to, today)?;
    let from = parse(&query.from, to - ChronoDuration::days(days - 1))?;
    if from > to {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "Ngày bắt đầu phải trước ngày kết thúc.",
        ));
    }
    Ok(Period {
        from: from.to_string(),
        to: to.to_string(),
    })
}

async fn stats_page(
    State(state): State<StaffState>,
    staff: Staff,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, PageError> {
    let period = period(&query)?;
    let stats = compute(&state.db, period.clone()).await?;
    let percent = |part: i64, whole: i64| {
        if whole > 0 {
            format!("{:.0}%", part as f64 * 100.0 / whole as f64)
        } else {
            "—".into()
        }
    };
    let satisfaction = match stats.satisfaction_rate() {
        Some(rate) => {
            let reached = rate >= SATISFACTION_TARGET;
            html!(
                "{:.0}% <span class=\"{}\">({} mục tiêu {:.0}%)</span>",
                rate * 100.0,
                if reached { "ok" } else { "error" },
                if reached { "đạt" } else { "chưa đạt" },
                SATISFACTION_TARGET * 100.0
            )
        }
        None => html!("—"),
    };
    let median = stats
        .median_review_hours
        .map_or("—".to_owned(), |h| format!("{h:.1} giờ"));
    let mut body = html!(
        "<h1>Thống kê</h1><form method=\"get\" action=\"/staff/stats\" class=\"card\"><label>Từ ngày <input type=\"date\" name=\"from\" value=\"{0}\"></label> \
         <label>Đến ngày <input type=\"date\" name=\"to\" value=\"{1}\"></label> <button type=\"submit\">Xem</button> \
         <a href=\"/staff/stats.csv?from={0}&amp;to={1}\">Tải CSV của kỳ này</a></form>\
         <div data-testid=\"kpis\"><span class=\"kpi\" data-testid=\"kpi-questions\">Câu hỏi<b>{2}</b></span>\
         <span class=\"kpi\">Đã trả lời<b>{3} ({4})</b></span><span class=\"kpi\">Từ chối<b>{5}</b></span>\
         <span class=\"kpi\" data-testid=\"kpi-flagged\">Cần xem lại<b>{6}</b></span><span class=\"kpi\" data-testid=\"kpi-reviewed\">Đã duyệt<b>{7}</b></span><span class=\"kpi\" data-testid=\"kpi-pending\">Chờ duyệt<b>{8}</b></span>\
         <span class=\"kpi\">Thời gian duyệt (trung vị)<b>{9}</b></span>\
         <span class=\"kpi\" data-testid=\"kpi-satisfaction\">Hài lòng ({10} lượt)<b>{11}</b></span>\
         <span class=\"kpi\">👍 / 👎<b>{12} / {13}</b></span></div>",
        period.from,
        period.to,
        stats.questions,
        stats.answered,
        percent(stats.answered, stats.answered + stats.declined),
        stats.declined,
        stats.flagged,
        stats.reviewed,
        (stats.flagged - stats.reviewed).max(0),
        median,
        stats.satisfaction_votes,
        satisfaction,
        stats.thumbs_up,
        stats.thumbs_down,
    );
    body.push(bar_chart("Câu hỏi theo ngày", &stats.per_day));
    body.push(bar_chart("Câu hỏi theo kênh", &stats.per_channel));
    body.push(bar_chart("Câu hỏi theo lĩnh vực", &stats.per_topic));
    body.push(html!(
        "<h2>Câu hỏi chưa có văn bản để trả lời (nhiều nhất)</h2>"
    ));
    if stats.unanswered.is_empty() {
        body.push(html!("<p class=\"muted\">Chưa có.</p>"));
    } else {
        body.push(html!(
            "<table><thead><tr><th>Câu hỏi</th><th>Số lần</th></tr></thead><tbody>"
        ));
        for (question, count) in &stats.unanswered {
            body.push(html!("<tr><td>{}</td><td>{}</td></tr>", question, *count));
        }
        body.push(html!("</tbody></table>"));
    }
    body.push(super::plan::section(&state.db, &period).await?);
    Ok(html_response(
        StatusCode::OK,
        page("Thống kê", staff.nav(), body),
    ))
}

async fn stats_csv(
    State(state): State<StaffState>,
    staff: Staff,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, PageError> {
    let period = period(&query)?;
    let csv = csv(&state.db, period.clone()).await?;
    let _ = state
        .db
        .audit(
            Some(staff.id()),
            "export_csv",
            Some(format!("{}..{}", period.from, period.to)),
            None,
        )
        .await;
    Ok(super::download::csv_response(
        &format!("hoiluat-{}-{}.csv", period.from, period.to),
        &csv,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("plain"), "plain");
        // A leading tab or carriage return also starts a formula in some spreadsheets.
        assert_eq!(csv_field("\t=cmd()"), "'\t=cmd()");
        assert_eq!(csv_field("\r=cmd()"), "\"'\r=cmd()\"");
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, 5.0, 9.0]), Some(5.0));
        assert_eq!(median(&[1.0, 3.0]), Some(2.0));
    }

    #[test]
    fn charts_escape_labels() {
        let svg = bar_chart("Theo kênh", &[("<zalo>".into(), 3), ("web".into(), 1)]);
        assert!(svg.as_str().contains("&lt;zalo&gt;"));
        assert!(svg.as_str().contains("role=\"img\""));
    }
}
