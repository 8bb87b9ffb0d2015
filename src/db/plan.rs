//! The counts behind the plan's indicators (Kế hoạch 137/KH-UBND: people reached, satisfaction,
//! surveys, handoffs and SME requests handled) for one period; `platform::plan_report` turns them
//! into the 6-month report's table. A period is two stored-time bounds compared as text, like
//! `reports.rs`.

use super::kinds::ChannelKind;
use super::reports::hours_between;
use super::sql::{params, Conn};
use super::{Db, DbError};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanCounts {
    /// (channel, distinct people who asked at least one question).
    pub people_per_channel: Vec<(ChannelKind, i64)>,
    /// (commune, distinct people) where the citizen named their commune.
    pub people_per_commune: Vec<(String, i64)>,
    pub questions: i64,
    pub answered: i64,
    pub satisfaction_votes: i64,
    pub satisfied_votes: i64,
    /// Survey scale answers of 4 or 5 out of all scale answers.
    pub survey_scale_answers: i64,
    pub survey_scale_satisfied: i64,
    /// (survey title, completed responses).
    pub surveys_completed: Vec<(String, i64)>,
    pub handoffs_requested: i64,
    /// Resolved or handed back.
    pub handoffs_closed: i64,
    /// Hours from request to staff's first reply, per handoff that has one.
    pub handoff_response_hours: Vec<f64>,
    pub sme_requests: i64,
    /// Answered or closed.
    pub sme_handled: i64,
    pub sme_response_hours: Vec<f64>,
    pub news_published: i64,
    pub news_sent: i64,
    pub news_subscribers: i64,
}

fn count(c: &mut Conn<'_>, sql: &str, from: &str, to: &str) -> Result<i64, DbError> {
    c.query_one(sql, params![from, to])?.get(0)
}

fn response_hours(c: &mut Conn<'_>, sql: &str, from: &str, to: &str) -> Result<Vec<f64>, DbError> {
    Ok(c.query(sql, params![from, to])?
        .iter()
        .map(|r| Ok(hours_between(&r.get::<String>(0)?, &r.get::<String>(1)?)))
        .collect::<Result<Vec<_>, DbError>>()?
        .into_iter()
        .flatten()
        .collect())
}

impl Db {
    pub async fn plan_counts(&self, from: String, to: String) -> Result<PlanCounts, DbError> {
        self.run(move |c| {
            let (from, to) = (from.as_str(), to.as_str());
            let mut counts = PlanCounts {
                people_per_channel: c
                    .query(
                        "SELECT channel, count(DISTINCT user_id) FROM messages
                         WHERE kind = 'text' AND received_at >= ?1 AND received_at <= ?2
                         GROUP BY channel ORDER BY 2 DESC, 1",
                        params![from, to],
                    )?
                    .iter()
                    .map(|r| Ok((r.get(0)?, r.get(1)?)))
                    .collect::<Result<_, DbError>>()?,
                people_per_commune: c
                    .query(
                        "SELECT min(p.commune), count(DISTINCT p.channel || ':' || p.conversation_id) FROM citizen_profiles p
                         WHERE EXISTS (SELECT 1 FROM messages m WHERE m.channel = p.channel AND m.conversation_id = p.conversation_id
                                         AND m.kind = 'text' AND m.received_at >= ?1 AND m.received_at <= ?2)
                         GROUP BY p.commune_key ORDER BY 2 DESC, 1",
                        params![from, to],
                    )?
                    .iter()
                    .map(|r| Ok((r.get(0)?, r.get(1)?)))
                    .collect::<Result<_, DbError>>()?,
                ..PlanCounts::default()
            };
            counts.questions = count(
                c,
                "SELECT count(*) FROM messages m JOIN answers a ON a.message_id = m.id
                 WHERE m.kind = 'text' AND a.status IN ('answered', 'declined') AND m.received_at >= ?1 AND m.received_at <= ?2",
                from,
                to,
            )?;
            counts.answered = count(
                c,
                "SELECT count(*) FROM messages m JOIN answers a ON a.message_id = m.id
                 WHERE m.kind = 'text' AND a.status = 'answered' AND m.received_at >= ?1 AND m.received_at <= ?2",
                from,
                to,
            )?;
            counts.satisfaction_votes = count(c, "SELECT count(*) FROM satisfaction WHERE at >= ?1 AND at <= ?2", from, to)?;
            counts.satisfied_votes = count(
                c,
                "SELECT count(*) FROM satisfaction WHERE score >= 4 AND at >= ?1 AND at <= ?2",
                from,
                to,
            )?;
            counts.survey_scale_answers = count(
                c,
                "SELECT count(*) FROM survey_answers WHERE scale IS NOT NULL AND at >= ?1 AND at <= ?2",
                from,
                to,
            )?;
            counts.survey_scale_satisfied = count(
                c,
                "SELECT count(*) FROM survey_answers WHERE scale >= 4 AND at >= ?1 AND at <= ?2",
                from,
                to,
            )?;
            counts.surveys_completed = c
                .query(
                    "SELECT s.title, count(*) FROM survey_responses r JOIN surveys s ON s.id = r.survey_id
                     WHERE r.status = 'completed' AND r.completed_at >= ?1 AND r.completed_at <= ?2
                     GROUP BY s.id, s.title ORDER BY s.id",
                    params![from, to],
                )?
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?)))
                .collect::<Result<_, DbError>>()?;
            counts.handoffs_requested = count(
                c,
                "SELECT count(*) FROM handoffs WHERE requested_at >= ?1 AND requested_at <= ?2",
                from,
                to,
            )?;
            counts.handoffs_closed = count(
                c,
                "SELECT count(*) FROM handoffs WHERE status IN ('resolved', 'returned') AND requested_at >= ?1 AND requested_at <= ?2",
                from,
                to,
            )?;
            counts.handoff_response_hours = response_hours(
                c,
                "SELECT requested_at, first_response_at FROM handoffs
                 WHERE first_response_at IS NOT NULL AND requested_at >= ?1 AND requested_at <= ?2",
                from,
                to,
            )?;
            counts.sme_requests = count(
                c,
                "SELECT count(*) FROM sme_requests WHERE created_at >= ?1 AND created_at <= ?2",
                from,
                to,
            )?;
            counts.sme_handled = count(
                c,
                "SELECT count(*) FROM sme_requests WHERE status IN ('answered', 'closed') AND created_at >= ?1 AND created_at <= ?2",
                from,
                to,
            )?;
            counts.sme_response_hours = response_hours(
                c,
                "SELECT created_at, first_response_at FROM sme_requests
                 WHERE first_response_at IS NOT NULL AND created_at >= ?1 AND created_at <= ?2",
                from,
                to,
            )?;
            counts.news_published = count(
                c,
                "SELECT count(*) FROM news_items WHERE status = 'published' AND published_at >= ?1 AND published_at <= ?2",
                from,
                to,
            )?;
            counts.news_sent = count(
                c,
                "SELECT count(*) FROM outbox WHERE kind = 'news' AND status = 'sent' AND sent_at >= ?1 AND sent_at <= ?2",
                from,
                to,
            )?;
            counts.news_subscribers = c
                .query_one("SELECT count(*) FROM news_subscriptions WHERE active = 1", params![])?
                .get(0)?;
            Ok(counts)
        })
        .await
    }
}
