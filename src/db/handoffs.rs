//! Handoffs to a person: opened when a citizen asks for one, taken over by staff (the bot is then
//! silent in that conversation), answered through the outbox, and resolved or handed back to the
//! bot. Each staff action is audited in the same transaction.

use super::directory::audit_in;
use super::kinds::ChannelKind;
use super::outbox::queue_staff_message;
use super::platform_kinds::{HandoffReason, HandoffStatus, OutboxKind, OutboxStatus};
use super::sql::{params, Row};
use super::{now_text, Db, DbError};

#[derive(Debug, Clone)]
pub struct NewHandoff {
    pub channel: ChannelKind,
    pub conversation_id: String,
    pub chat_id: String,
    pub reason: HandoffReason,
    /// The message that asked for a person.
    pub message_id: Option<i64>,
    pub commune: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Handoff {
    pub id: i64,
    pub channel: ChannelKind,
    pub conversation_id: String,
    pub chat_id: String,
    pub reason: HandoffReason,
    pub commune: Option<String>,
    pub status: HandoffStatus,
    pub requested_at: String,
    pub taken_by: Option<String>,
    pub taken_at: Option<String>,
    pub first_response_at: Option<String>,
    pub closed_at: Option<String>,
}

/// Which handoffs a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffFilter {
    /// Open or taken.
    Active,
    Closed,
    All,
}

/// Who wrote one line of a conversation's transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum Speaker {
    Citizen,
    Bot,
    /// A staff member (their display name), with how the delivery went.
    Staff {
        name: String,
        status: OutboxStatus,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptLine {
    pub at: String,
    pub speaker: Speaker,
    /// As stored: not masked.
    pub text: String,
}

const COLUMNS: &str =
    "h.id, h.channel, h.conversation_id, h.chat_id, h.reason, h.commune, h.status, h.requested_at,
    s.display_name, h.taken_at, h.first_response_at, h.closed_at";

fn handoff_row(row: &Row) -> Result<Handoff, DbError> {
    Ok(Handoff {
        id: row.get(0)?,
        channel: row.get(1)?,
        conversation_id: row.get(2)?,
        chat_id: row.get(3)?,
        reason: row.get(4)?,
        commune: row.get(5)?,
        status: row.get(6)?,
        requested_at: row.get(7)?,
        taken_by: row.get(8)?,
        taken_at: row.get(9)?,
        first_response_at: row.get(10)?,
        closed_at: row.get(11)?,
    })
}

/// Longest staff reply, in characters: one message on every platform (Zalo's limit is 2,000).
pub const MAX_STAFF_REPLY_CHARS: usize = 1_800;

impl Db {
    /// Opens a handoff, or returns the conversation's active one (a second "gặp cán bộ" does not
    /// queue the citizen twice): (id, whether it is new).
    pub async fn open_handoff(&self, handoff: NewHandoff) -> Result<(i64, bool), DbError> {
        self.transaction(move |c| {
            if let Some(row) = c.query_opt(
                "SELECT id FROM handoffs WHERE channel = ?1 AND conversation_id = ?2 AND status IN ('open', 'taken')
                 ORDER BY id DESC LIMIT 1",
                params![handoff.channel, &handoff.conversation_id],
            )? {
                let id: i64 = row.get(0)?;
                if let Some(commune) = &handoff.commune {
                    c.execute("UPDATE handoffs SET commune = ?2 WHERE id = ?1", params![id, commune])?;
                }
                return Ok((id, false));
            }
            let id = c
                .query_one(
                    "INSERT INTO handoffs (channel, conversation_id, chat_id, reason, message_id, commune, status, requested_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7) RETURNING id",
                    params![
                        handoff.channel,
                        &handoff.conversation_id,
                        &handoff.chat_id,
                        handoff.reason,
                        handoff.message_id,
                        &handoff.commune,
                        now_text()
                    ],
                )?
                .get(0)?;
            Ok((id, true))
        })
        .await
    }

    /// Sets the commune of a conversation's active handoff (the citizen named it after asking).
    pub async fn set_handoff_commune(
        &self,
        channel: ChannelKind,
        conversation_id: String,
        commune: String,
    ) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "UPDATE handoffs SET commune = ?3 WHERE channel = ?1 AND conversation_id = ?2 AND status IN ('open', 'taken')",
                params![channel, conversation_id, commune],
            )
            .map(|_| ())
        })
        .await
    }

    /// Whether staff hold this conversation (a taken handoff): the bot must stay silent.
    pub async fn held_by_staff(
        &self,
        channel: ChannelKind,
        conversation_id: String,
    ) -> Result<bool, DbError> {
        self.run(move |c| {
            Ok(c
                .query_opt(
                    "SELECT 1 FROM handoffs WHERE channel = ?1 AND conversation_id = ?2 AND status = 'taken' LIMIT 1",
                    params![channel, conversation_id],
                )?
                .is_some())
        })
        .await
    }

    pub async fn handoffs(
        &self,
        filter: HandoffFilter,
        limit: usize,
    ) -> Result<Vec<Handoff>, DbError> {
        let condition = match filter {
            HandoffFilter::Active => "h.status IN ('open', 'taken')",
            HandoffFilter::Closed => "h.status IN ('resolved', 'returned')",
            HandoffFilter::All => "1 = 1",
        };
        self.run(move |c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM handoffs h LEFT JOIN staff s ON s.id = h.taken_by
                     WHERE {condition} ORDER BY h.id DESC LIMIT ?1"
                ),
                params![limit],
            )?
            .iter()
            .map(handoff_row)
            .collect()
        })
        .await
    }

    pub async fn handoff(&self, id: i64) -> Result<Option<Handoff>, DbError> {
        self.run(move |c| {
            c.query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM handoffs h LEFT JOIN staff s ON s.id = h.taken_by WHERE h.id = ?1"
                ),
                params![id],
            )?
            .as_ref()
            .map(handoff_row)
            .transpose()
        })
        .await
    }

    /// Staff take over the conversation: the bot stops answering it. False when the handoff is
    /// not open (someone else took it, or it is closed).
    pub async fn take_handoff(&self, id: i64, staff_id: i64) -> Result<bool, DbError> {
        self.transaction(move |c| {
            let changed = c.execute(
                "UPDATE handoffs SET status = 'taken', taken_by = ?2, taken_at = ?3 WHERE id = ?1 AND status = 'open'",
                params![id, staff_id, now_text()],
            )?;
            if changed == 1 {
                audit_in(c, staff_id, "handoff_take", format!("handoff:{id}"), None)?;
            }
            Ok(changed == 1)
        })
        .await
    }

    /// Ends a handoff (`Resolved` or `Returned` to the bot). False when it was not active.
    pub async fn close_handoff(
        &self,
        id: i64,
        staff_id: i64,
        status: HandoffStatus,
    ) -> Result<bool, DbError> {
        debug_assert!(!status.is_active());
        self.transaction(move |c| {
            let changed = c.execute(
                "UPDATE handoffs SET status = ?2, closed_by = ?3, closed_at = ?4 WHERE id = ?1 AND status IN ('open', 'taken')",
                params![id, status, staff_id, now_text()],
            )?;
            if changed == 1 {
                audit_in(c, staff_id, &format!("handoff_{status}"), format!("handoff:{id}"), None)?;
            }
            Ok(changed == 1)
        })
        .await
    }

    /// Queues a staff reply in a taken conversation (the outbox delivers it) and records the
    /// first response time, in one transaction. `None` when the handoff is not taken.
    pub async fn queue_staff_reply(
        &self,
        id: i64,
        staff_id: i64,
        text: String,
    ) -> Result<Option<i64>, DbError> {
        self.transaction(move |c| {
            let Some(row) = c.query_opt(
                "SELECT channel, chat_id, conversation_id FROM handoffs WHERE id = ?1 AND status = 'taken'",
                params![id],
            )?
            else {
                return Ok(None);
            };
            let outbox_id =
                queue_staff_message(c, &row, OutboxKind::StaffReply, id, staff_id, text)?;
            c.execute(
                "UPDATE handoffs SET first_response_at = COALESCE(first_response_at, ?2) WHERE id = ?1",
                params![id, now_text()],
            )?;
            audit_in(c, staff_id, "handoff_reply", format!("handoff:{id}"), None)?;
            Ok(Some(outbox_id))
        })
        .await
    }

    /// The latest `limit` lines of a conversation, oldest first: the citizen's messages (those
    /// held for staff included), the bot's replies and staff's replies with their delivery.
    pub async fn transcript(
        &self,
        channel: ChannelKind,
        conversation_id: String,
        limit: usize,
    ) -> Result<Vec<TranscriptLine>, DbError> {
        self.run(move |c| {
            let mut lines = Vec::new();
            for row in c.query(
                "SELECT m.received_at, m.text FROM messages m
                 WHERE m.channel = ?1 AND m.conversation_id = ?2 AND m.kind = 'text' ORDER BY m.id DESC LIMIT ?3",
                params![channel, &conversation_id, limit],
            )? {
                lines.push(TranscriptLine {
                    at: row.get(0)?,
                    speaker: Speaker::Citizen,
                    text: row.get(1)?,
                });
            }
            for row in c.query(
                "SELECT a.created_at, a.text FROM answers a JOIN messages m ON m.id = a.message_id
                 WHERE m.channel = ?1 AND m.conversation_id = ?2 ORDER BY a.id DESC LIMIT ?3",
                params![channel, &conversation_id, limit],
            )? {
                lines.push(TranscriptLine {
                    at: row.get(0)?,
                    speaker: Speaker::Bot,
                    text: row.get(1)?,
                });
            }
            for row in c.query(
                "SELECT o.created_at, o.text, COALESCE(s.display_name, ''), o.status, o.kind FROM outbox o
                 LEFT JOIN staff s ON s.id = o.staff_id
                 WHERE o.channel = ?1 AND o.conversation_id = ?2 ORDER BY o.id DESC LIMIT ?3",
                params![channel, &conversation_id, limit],
            )? {
                let kind: OutboxKind = row.get(4)?;
                let speaker = match kind {
                    OutboxKind::StaffReply | OutboxKind::SmeReply => Speaker::Staff {
                        name: row.get(2)?,
                        status: row.get(3)?,
                    },
                    OutboxKind::News | OutboxKind::SurveyOffer => Speaker::Bot,
                };
                lines.push(TranscriptLine {
                    at: row.get(0)?,
                    speaker,
                    text: row.get(1)?,
                });
            }
            // Times are stored in one format, so text order is time order.
            lines.sort_by(|a, b| a.at.cmp(&b.at));
            let skip = lines.len().saturating_sub(limit);
            Ok(lines.into_iter().skip(skip).collect())
        })
        .await
    }
}
