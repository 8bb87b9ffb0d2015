//! Where a conversation is in a flow (the handoff's commune question, a survey, an SME request),
//! what a citizen told the service about themselves (their commune), and the retention of the
//! platform's citizen texts. Every row is keyed by channel and conversation, so a conversation id
//! of one channel never reaches another channel's state.

use super::kinds::ChannelKind;
use super::platform_kinds::FlowKind;
use super::sql::params;
use super::{now_text, Db, DbError};

/// A conversation's pending flow step.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowState {
    pub kind: FlowKind,
    /// The flow's own JSON (which survey, which question, the request so far).
    pub data: String,
}

/// A stored time: RFC 3339 UTC with milliseconds, as every table holds it.
pub(crate) fn stored_time(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `now + duration`, stored.
pub(crate) fn stored_in(duration: std::time::Duration) -> String {
    stored_time(chrono::Utc::now() + chrono::Duration::from_std(duration).unwrap_or_default())
}

/// `now - duration`, stored.
pub(crate) fn stored_ago(duration: std::time::Duration) -> String {
    stored_time(chrono::Utc::now() - chrono::Duration::from_std(duration).unwrap_or_default())
}

impl Db {
    /// The conversation's flow step, unless it expired.
    pub async fn flow(
        &self,
        channel: ChannelKind,
        conversation_id: String,
    ) -> Result<Option<FlowState>, DbError> {
        self.run(move |c| {
            let Some(row) = c.query_opt(
                "SELECT flow, data FROM conversation_flows
                 WHERE channel = ?1 AND conversation_id = ?2 AND expires_at > ?3",
                params![channel, conversation_id, now_text()],
            )?
            else {
                return Ok(None);
            };
            Ok(Some(FlowState {
                kind: row.get(0)?,
                data: row.get(1)?,
            }))
        })
        .await
    }

    /// Sets (or replaces) the conversation's flow step, for `ttl` from now.
    pub async fn set_flow(
        &self,
        channel: ChannelKind,
        conversation_id: String,
        state: FlowState,
        ttl: std::time::Duration,
    ) -> Result<(), DbError> {
        let expires = stored_in(ttl);
        self.run(move |c| {
            c.execute(
                "INSERT INTO conversation_flows (channel, conversation_id, flow, data, expires_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (channel, conversation_id) DO UPDATE SET flow = excluded.flow,
                   data = excluded.data, expires_at = excluded.expires_at, updated_at = excluded.updated_at",
                params![channel, conversation_id, state.kind, state.data, expires, now_text()],
            )
            .map(|_| ())
        })
        .await
    }

    pub async fn clear_flow(
        &self,
        channel: ChannelKind,
        conversation_id: String,
    ) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "DELETE FROM conversation_flows WHERE channel = ?1 AND conversation_id = ?2",
                params![channel, conversation_id],
            )
            .map(|_| ())
        })
        .await
    }

    /// Remembers the commune a citizen named (`key`: the name folded for matching).
    pub async fn set_commune(
        &self,
        channel: ChannelKind,
        conversation_id: String,
        commune: String,
        key: String,
    ) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO citizen_profiles (channel, conversation_id, commune, commune_key, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (channel, conversation_id) DO UPDATE SET commune = excluded.commune,
                   commune_key = excluded.commune_key, updated_at = excluded.updated_at",
                params![channel, conversation_id, commune, key, now_text()],
            )
            .map(|_| ())
        })
        .await
    }

    /// The commune a citizen named before: (name, key).
    pub async fn commune_of(
        &self,
        channel: ChannelKind,
        conversation_id: String,
    ) -> Result<Option<(String, String)>, DbError> {
        self.run(move |c| {
            c.query_opt(
                "SELECT commune, commune_key FROM citizen_profiles WHERE channel = ?1 AND conversation_id = ?2",
                params![channel, conversation_id],
            )?
            .map(|row| Ok((row.get(0)?, row.get(1)?)))
            .transpose()
        })
        .await
    }

    /// The latest question of a conversation the assistant answered or declined, before message
    /// `before_message`: what a later "gặp cán bộ" or "hỗ trợ doanh nghiệp" is about.
    pub async fn latest_question(
        &self,
        channel: ChannelKind,
        conversation_id: String,
        before_message: i64,
    ) -> Result<Option<String>, DbError> {
        self.run(move |c| {
            c.query_opt(
                "SELECT m.text FROM messages m JOIN answers a ON a.message_id = m.id
                 WHERE m.channel = ?1 AND m.conversation_id = ?2 AND m.id < ?3
                   AND a.status IN ('answered', 'declined')
                 ORDER BY m.id DESC LIMIT 1",
                params![channel, conversation_id, before_message],
            )?
            .map(|row| row.get(0))
            .transpose()
        })
        .await
    }

    /// Erases what citizens wrote into the platform's tables before `cutoff` (RFC 3339), like
    /// message texts: survey free-text answers, the question and contact of closed SME requests,
    /// cached question vectors and expired flow steps. Returns how many rows changed.
    pub async fn erase_platform_texts_before(&self, cutoff: String) -> Result<usize, DbError> {
        self.transaction(move |c| {
            let mut changed = c.execute(
                "UPDATE survey_answers SET text = NULL WHERE at < ?1 AND text IS NOT NULL",
                params![&cutoff],
            )?;
            changed += c.execute(
                "UPDATE sme_requests SET question = '', contact = ''
                 WHERE created_at < ?1 AND status = 'closed' AND (question != '' OR contact != '')",
                params![&cutoff],
            )?;
            changed += c.execute(
                "DELETE FROM question_vectors WHERE created_at < ?1",
                params![&cutoff],
            )?;
            changed += c.execute(
                "DELETE FROM conversation_flows WHERE expires_at < ?1",
                params![now_text()],
            )?;
            Ok(changed)
        })
        .await
    }
}
