//! The numbers behind the statistics page and the CSV export (`staff::stats` turns them into
//! rates, medians, charts and masked text). A period is two RFC 3339 bounds compared as text:
//! `from` inclusive (a day `YYYY-MM-DD` sorts before every time of that day) and `to` inclusive.

use super::sql::{params, Conn};
use super::{Db, DbError};

/// Counts of one period, as stored.
#[derive(Debug, Clone, Default)]
pub struct PeriodCounts {
    /// (`YYYY-MM-DD`, questions), by day.
    pub per_day: Vec<(String, i64)>,
    /// (channel, questions), most first.
    pub per_channel: Vec<(String, i64)>,
    /// (topic, answers), most first, at most 15; `None` for answers without a topic.
    pub per_topic: Vec<(Option<String>, i64)>,
    pub questions: i64,
    pub answered: i64,
    pub declined: i64,
    /// Answers with at least one flag.
    pub flagged: i64,
    pub reviewed: i64,
    /// Hours from answer to review, one per reviewed answer of the period.
    pub review_hours: Vec<f64>,
    pub satisfaction_votes: i64,
    /// Satisfaction ratings of 4 or 5.
    pub satisfied_votes: i64,
    pub thumbs_up: i64,
    pub thumbs_down: i64,
    /// (question, lower-cased and trimmed, as sent: not masked; times asked) of the questions the
    /// corpus had no text for, most frequent first, at most 10.
    pub unanswered: Vec<(String, i64)>,
}

/// One question of a period, for the CSV export.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionRow {
    pub received_at: String,
    pub channel: String,
    pub topic: String,
    /// The answer's status, or the message's when it has no answer.
    pub status: String,
    pub decline_reason: String,
    pub confidence: f64,
    /// Flag reasons, space-separated.
    pub flags: String,
    /// The review decision, or empty.
    pub review: String,
    /// Ratings, space-separated.
    pub feedback: String,
    /// As sent: not masked.
    pub text: String,
}

fn pairs(c: &mut Conn<'_>, sql: &str, from: &str, to: &str) -> Result<Vec<(String, i64)>, DbError> {
    c.query(sql, params![from, to])?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect()
}

fn count(c: &mut Conn<'_>, sql: &str, from: &str, to: &str) -> Result<i64, DbError> {
    c.query_one(sql, params![from, to])?.get(0)
}

/// Hours between two stored times; `None` if either does not parse.
pub(crate) fn hours_between(start: &str, end: &str) -> Option<f64> {
    let start = chrono::DateTime::parse_from_rfc3339(start).ok()?;
    let end = chrono::DateTime::parse_from_rfc3339(end).ok()?;
    Some((end - start).num_milliseconds() as f64 / 3_600_000.0)
}

impl Db {
    /// The statistics of the period `from ..= to`.
    pub async fn period_counts(&self, from: String, to: String) -> Result<PeriodCounts, DbError> {
        self.run(move |c| {
            let (from, to) = (from.as_str(), to.as_str());
            let mut counts = PeriodCounts {
                per_day: pairs(
                    c,
                    "SELECT substr(received_at, 1, 10), count(*) FROM messages
                     WHERE kind = 'text' AND received_at >= ?1 AND received_at <= ?2 GROUP BY 1 ORDER BY 1",
                    from,
                    to,
                )?,
                per_channel: pairs(
                    c,
                    "SELECT channel, count(*) FROM messages
                     WHERE kind = 'text' AND received_at >= ?1 AND received_at <= ?2 GROUP BY 1 ORDER BY 2 DESC, 1",
                    from,
                    to,
                )?,
                ..PeriodCounts::default()
            };
            counts.per_topic = c
                .query(
                    "SELECT a.topic, count(*) FROM answers a JOIN messages m ON m.id = a.message_id
                     WHERE m.kind = 'text' AND a.status != 'notice' AND m.received_at >= ?1 AND m.received_at <= ?2
                     GROUP BY 1 ORDER BY 2 DESC, a.topic IS NULL, 1 LIMIT 15",
                    params![from, to],
                )?
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?)))
                .collect::<Result<_, DbError>>()?;
            counts.questions = count(
                c,
                "SELECT count(*) FROM messages WHERE kind = 'text' AND received_at >= ?1 AND received_at <= ?2",
                from,
                to,
            )?;
            counts.answered = count(
                c,
                "SELECT count(*) FROM answers a JOIN messages m ON m.id = a.message_id
                 WHERE a.status = 'answered' AND m.received_at >= ?1 AND m.received_at <= ?2",
                from,
                to,
            )?;
            counts.declined = count(
                c,
                "SELECT count(*) FROM answers a JOIN messages m ON m.id = a.message_id
                 WHERE a.status = 'declined' AND m.received_at >= ?1 AND m.received_at <= ?2",
                from,
                to,
            )?;
            counts.flagged = count(
                c,
                "SELECT count(DISTINCT f.answer_id) FROM flags f JOIN answers a ON a.id = f.answer_id
                 WHERE a.created_at >= ?1 AND a.created_at <= ?2",
                from,
                to,
            )?;
            counts.reviewed = count(
                c,
                "SELECT count(*) FROM reviews r JOIN answers a ON a.id = r.answer_id
                 WHERE a.created_at >= ?1 AND a.created_at <= ?2",
                from,
                to,
            )?;
            // Time to review is computed here, not in SQL: the two databases have no common
            // date arithmetic on text times.
            counts.review_hours = c
                .query(
                    "SELECT a.created_at, r.created_at FROM reviews r JOIN answers a ON a.id = r.answer_id
                     WHERE a.created_at >= ?1 AND a.created_at <= ?2",
                    params![from, to],
                )?
                .iter()
                .map(|r| Ok(hours_between(&r.get::<String>(0)?, &r.get::<String>(1)?)))
                .filter_map(Result::transpose)
                .collect::<Result<_, DbError>>()?;
            counts.satisfaction_votes = count(
                c,
                "SELECT count(*) FROM satisfaction WHERE at >= ?1 AND at <= ?2",
                from,
                to,
            )?;
            counts.satisfied_votes = count(
                c,
                "SELECT count(*) FROM satisfaction WHERE score >= 4 AND at >= ?1 AND at <= ?2",
                from,
                to,
            )?;
            counts.thumbs_up = count(
                c,
                "SELECT count(*) FROM feedback WHERE rating = 'up' AND at >= ?1 AND at <= ?2",
                from,
                to,
            )?;
            counts.thumbs_down = count(
                c,
                "SELECT count(*) FROM feedback WHERE rating = 'down' AND at >= ?1 AND at <= ?2",
                from,
                to,
            )?;
            counts.unanswered = pairs(
                c,
                "SELECT lower(trim(m.text)), count(*) FROM answers a JOIN messages m ON m.id = a.message_id
                 WHERE a.status = 'declined' AND a.decline_reason IN ('no_relevant_text', 'chua_co_van_ban', 'not_in_force_only')
                   AND m.received_at >= ?1 AND m.received_at <= ?2
                 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
                from,
                to,
            )?;
            Ok(counts)
        })
        .await
    }

    /// Every question of the period `from ..= to`, oldest first, with its answer's outcome.
    pub async fn period_questions(
        &self,
        from: String,
        to: String,
    ) -> Result<Vec<QuestionRow>, DbError> {
        self.run(move |c| {
            c.query(
                "SELECT m.received_at, m.channel, COALESCE(a.topic, ''), COALESCE(a.status, m.status),
                        COALESCE(a.decline_reason, ''), COALESCE(a.confidence, 0),
                        COALESCE((SELECT group_concat(reason, ' ') FROM flags WHERE answer_id = a.id), ''),
                        COALESCE((SELECT decision FROM reviews WHERE answer_id = a.id), ''),
                        COALESCE((SELECT group_concat(rating, ' ') FROM feedback WHERE answer_id = a.id), ''),
                        m.text
                 FROM messages m LEFT JOIN answers a ON a.message_id = m.id
                 WHERE m.kind = 'text' AND m.received_at >= ?1 AND m.received_at <= ?2 ORDER BY m.id",
                params![from, to],
            )?
            .iter()
            .map(|r| {
                Ok(QuestionRow {
                    received_at: r.get(0)?,
                    channel: r.get(1)?,
                    topic: r.get(2)?,
                    status: r.get(3)?,
                    decline_reason: r.get(4)?,
                    confidence: r.get(5)?,
                    flags: r.get(6)?,
                    review: r.get(7)?,
                    feedback: r.get(8)?,
                    text: r.get(9)?,
                })
            })
            .collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_between_stored_times() {
        assert_eq!(
            hours_between("2025-03-01T08:00:00.000Z", "2025-03-01T09:30:00.000Z"),
            Some(1.5)
        );
        assert_eq!(hours_between("x", "2025-03-01T09:30:00.000Z"), None);
    }
}
