//! Statistics for the plan's reports (Kế hoạch 137: ≥ 90% satisfaction, 6-month and annual
//! reports): questions per day, channel and topic, answered vs declined, flags and review times,
//! satisfaction, and the questions the corpus could not answer. Charts are inline SVG; any period
//! exports as CSV.

use rusqlite::params;

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
    db.call(move |c| {
        let from = period.from.clone();
        let to = end_of(&period.to);
        let pairs = |sql: &str| -> rusqlite::Result<Vec<(String, i64)>> {
            let mut statement = c.prepare(sql)?;
            let rows = statement.query_map(params![from, to], |r| {
                Ok((r.get::<_, Option<String>>(0)?.unwrap_or_else(|| "(không rõ)".into()), r.get(1)?))
            })?;
            rows.collect()
        };
        let mut stats = Stats {
            per_day: pairs(
                "SELECT substr(received_at, 1, 10), count(*) FROM messages
                 WHERE kind = 'text' AND received_at >= ?1 AND received_at <= ?2 GROUP BY 1 ORDER BY 1",
            )?,
            per_channel: pairs(
                "SELECT channel, count(*) FROM messages
                 WHERE kind = 'text' AND received_at >= ?1 AND received_at <= ?2 GROUP BY 1 ORDER BY 2 DESC",
            )?,
            per_topic: pairs(
                "SELECT a.topic, count(*) FROM answers a JOIN messages m ON m.id = a.message_id
                 WHERE m.kind = 'text' AND a.status != 'notice' AND m.received_at >= ?1 AND m.received_at <= ?2
                 GROUP BY 1 ORDER BY 2 DESC LIMIT 15",
            )?,
            ..Stats::default()
        };
        let count = |sql: &str| -> rusqlite::Result<i64> { c.query_row(sql, params![from, to], |r| r.get(0)) };
        stats.questions = count(
            "SELECT count(*) FROM messages WHERE kind = 'text' AND received_at >= ?1 AND received_at <= ?2",
        )?;
        stats.answered = count(
            "SELECT count(*) FROM answers a JOIN messages m ON m.id = a.message_id
             WHERE a.status = 'answered' AND m.received_at >= ?1 AND m.received_at <= ?2",
        )?;
        stats.declined = count(
            "SELECT count(*) FROM answers a JOIN messages m ON m.id = a.message_id
             WHERE a.status = 'declined' AND m.received_at >= ?1 AND m.received_at <= ?2",
        )?;
        stats.flagged = count(
            "SELECT count(DISTINCT f.answer_id) FROM flags f JOIN answers a ON a.id = f.answer_id
             WHERE a.created_at >= ?1 AND a.created_at <= ?2",
        )?;
        stats.reviewed = count(
            "SELECT count(*) FROM reviews r JOIN answers a ON a.id = r.answer_id
             WHERE a.created_at >= ?1 AND a.created_at <= ?2",
        )?;
        let mut statement = c.prepare(
            "SELECT (julianday(r.created_at) - julianday(a.created_at)) * 24.0 FROM reviews r
             JOIN answers a ON a.id = r.answer_id WHERE a.created_at >= ?1 AND a.created_at <= ?2",
        )?;
        let mut hours: Vec<f64> = statement
            .query_map(params![from, to], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        hours.sort_by(f64::total_cmp);
        stats.median_review_hours = median(&hours);
        stats.satisfaction_votes =
            count("SELECT count(*) FROM satisfaction WHERE at >= ?1 AND at <= ?2")?;
        stats.satisfied_votes =
            count("SELECT count(*) FROM satisfaction WHERE score >= 4 AND at >= ?1 AND at <= ?2")?;
        stats.thumbs_up = count("SELECT count(*) FROM feedback WHERE rating = 'up' AND at >= ?1 AND at <= ?2")?;
        stats.thumbs_down =
            count("SELECT count(*) FROM feedback WHERE rating = 'down' AND at >= ?1 AND at <= ?2")?;
        let mut statement = c.prepare(
            "SELECT lower(trim(m.text)), count(*) FROM answers a JOIN messages m ON m.id = a.message_id
             WHERE a.status = 'declined' AND a.decline_reason IN ('no_relevant_text', 'chua_co_van_ban', 'not_in_force_only')
               AND m.received_at >= ?1 AND m.received_at <= ?2
             GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        )?;
        stats.unanswered = statement
            .query_map(params![from, to], |r| Ok((mask_personal_data(&r.get::<_, String>(0)?), r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(stats)
    })
    .await
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
    db.call(move |c| {
        let mut statement = c.prepare(
            "SELECT m.received_at, m.channel, COALESCE(a.topic, ''), COALESCE(a.status, m.status),
                    COALESCE(a.decline_reason, ''), COALESCE(a.confidence, 0),
                    COALESCE((SELECT group_concat(reason, ' ') FROM flags WHERE answer_id = a.id), ''),
                    COALESCE((SELECT decision FROM reviews WHERE answer_id = a.id), ''),
                    COALESCE((SELECT group_concat(rating, ' ') FROM feedback WHERE answer_id = a.id), ''),
                    m.text
             FROM messages m LEFT JOIN answers a ON a.message_id = m.id
             WHERE m.kind = 'text' AND m.received_at >= ?1 AND m.received_at <= ?2 ORDER BY m.id",
        )?;
        let mut out = String::from(
            "received_at,channel,topic,status,decline_reason,confidence,flags,review,feedback,question\n",
        );
        let rows = statement.query_map(params![period.from, end_of(&period.to)], |r| {
            Ok([
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                format!("{:.2}", r.get::<_, f64>(5)?),
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
                mask_personal_data(&r.get::<_, String>(9)?),
            ])
        })?;
        for row in rows {
            let fields: Vec<String> = row?.iter().map(|f| csv_field(f)).collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        Ok(out)
    })
    .await
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
