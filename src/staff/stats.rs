//! Statistics for the plan's reports (Kế hoạch 137: ≥ 90% satisfaction, 6-month and annual
//! reports): questions per day, channel and topic, answered vs declined, flags and review times,
//! satisfaction, and the questions the corpus could not answer. Charts are inline SVG; any period
//! exports as CSV.

use super::html::esc;
use super::privacy::mask_personal_data;
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
    let value = if value.starts_with(['=', '+', '-', '@']) {
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
pub fn bar_chart(title: &str, data: &[(String, i64)]) -> String {
    if data.is_empty() {
        return format!("<p class=\"muted\">{}: chưa có dữ liệu.</p>", esc(title));
    }
    let max = data.iter().map(|(_, v)| *v).max().unwrap_or(1).max(1) as f64;
    let row_height = 22;
    let height = data.len() * row_height + 10;
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg role=\"img\" aria-label=\"{}\" width=\"640\" height=\"{height}\" viewBox=\"0 0 640 {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(title),
        esc(title)
    );
    for (i, (label, value)) in data.iter().enumerate() {
        let y = i * row_height + 5;
        let width = (*value as f64 / max * 360.0).max(1.0);
        let short: String = label.chars().take(38).collect();
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"250\" y=\"{y}\" width=\"{width:.0}\" height=\"16\" fill=\"#8b1a1a\"><title>{}: {value}</title></rect><text x=\"{:.0}\" y=\"{}\" font-size=\"12\">{value}</text>",
            y + 13,
            esc(&short),
            esc(label),
            255.0 + width,
            y + 13
        ));
    }
    svg.push_str("</svg></figure>");
    svg
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
        assert!(svg.contains("&lt;zalo&gt;"));
        assert!(svg.contains("role=\"img\""));
    }
}
