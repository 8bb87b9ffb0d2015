//! The plan's report numbers on the statistics page (Kế hoạch 137/KH-UBND: people reached per
//! channel and commune, satisfaction against the 90% target, surveys answered, handoffs and SME
//! requests handled with median response times, legal news), and their one export
//! (`/staff/stats/plan.csv`): the table of the 6-month or annual report.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::download::csv_response;
use super::error::PageError;
use super::html::{html, Html};
use super::session::Staff;
use super::stats::{period_or_last, Period, PeriodQuery};
use super::StaffState;
use crate::db::Db;
use crate::platform::plan_report::{self, Indicator};

pub(super) fn routes() -> Router<StaffState> {
    Router::new().route("/staff/stats/plan.csv", get(export))
}

/// The indicators of the period as a section of the statistics page.
pub async fn section(db: &Db, period: &Period) -> Result<Html, PageError> {
    let indicators = plan_report::indicators(db, &period.from, &period.to).await?;
    let mut body = html!(
        "<h2 id=\"ke-hoach\">Số liệu báo cáo Kế hoạch 137/KH-UBND</h2>\
         <p class=\"muted\">Các chỉ tiêu hệ thống đo được trong kỳ {} – {}, cho báo cáo định kỳ 6 tháng, 01 năm (mục IV.1 của Kế hoạch). \
         <a href=\"/staff/stats/plan.csv?from={}&amp;to={}\" data-testid=\"plan-export\">Tải bảng số liệu (CSV)</a></p>",
        period.from,
        period.to,
        period.from,
        period.to
    );
    body.push(table(&indicators));
    Ok(body)
}

fn table(indicators: &[Indicator]) -> Html {
    let mut body = html!(
        "<table data-testid=\"plan\"><thead><tr><th>Nhóm</th><th>Chỉ tiêu</th><th>Giá trị</th><th>Ghi chú</th></tr></thead><tbody>"
    );
    for indicator in indicators {
        body.push(html!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
            indicator.group,
            indicator.name,
            indicator.value,
            indicator.note
        ));
    }
    body.push(html!("</tbody></table>"));
    body
}

async fn export(
    State(state): State<StaffState>,
    staff: Staff,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, PageError> {
    // The half year by default: the plan reports every 6 months.
    let period = period_or_last(&query, 182)?;
    let indicators = plan_report::indicators(&state.db, &period.from, &period.to).await?;
    let _ = state
        .db
        .audit(
            Some(staff.id()),
            "export_plan_report",
            Some(format!("{}..{}", period.from, period.to)),
            None,
        )
        .await;
    Ok(csv_response(
        &format!("bao-cao-ke-hoach-137-{}-{}.csv", period.from, period.to),
        &plan_report::to_csv(&period.from, &period.to, &indicators),
    ))
}
