//! The outbox: messages the service sends on its own initiative (staff replies in a taken-over
//! conversation, legal notices, survey invitations, answers to SME requests). A row is committed
//! before anything is sent, claimed with a lease by the worker that sends it (on any replica),
//! and ends `sent`, `failed`, `outside_window`, `expired` or `cancelled`; `waiting_window` rows
//! wait for the citizen to write again. A restart resumes where the last process stopped.

use std::collections::BTreeMap;
use std::time::Duration;

use super::flows::{stored_ago, stored_in};
use super::kinds::ChannelKind;
use super::platform_kinds::{OutboxKind, OutboxStatus};
use super::sql::{params, Conn, Row, Value};
use super::{now_text, Db, DbError};

/// How long a message may wait for the citizen to reopen the platform's window (Zalo: a reply
/// is possible within 7 days of the citizen's last message at best).
pub const WAIT_FOR_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct NewOutbound {
    pub channel: ChannelKind,
    pub chat_id: String,
    pub conversation_id: String,
    pub kind: OutboxKind,
    pub source_id: Option<i64>,
    /// Unique: a second row with the same key is not stored (`None`: always stored).
    pub dedupe_key: Option<String>,
    pub text: String,
    pub staff_id: Option<i64>,
}

/// A row claimed for sending.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    pub id: i64,
    pub channel: ChannelKind,
    pub chat_id: String,
    pub conversation_id: String,
    pub kind: OutboxKind,
    pub source_id: Option<i64>,
    pub text: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub created_at: String,
}

/// What the platform's window depends on: the citizen's last message, and how many messages
/// were sent to them since.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowFacts {
    pub last_inbound: Option<String>,
    pub sent_since: i64,
}

/// Queues staff's message to the chat a handoff or an SME request came from, inside the caller's
/// transaction: `chat` is that row's `channel, chat_id, conversation_id`. Without a dedupe key the
/// row is always stored; its id.
pub(crate) fn queue_staff_message(
    c: &mut Conn<'_>,
    chat: &Row,
    kind: OutboxKind,
    source_id: i64,
    staff_id: i64,
    text: String,
) -> Result<i64, DbError> {
    let outbound = NewOutbound {
        channel: chat.get(0)?,
        chat_id: chat.get(1)?,
        conversation_id: chat.get(2)?,
        kind,
        source_id: Some(source_id),
        dedupe_key: None,
        text,
        staff_id: Some(staff_id),
    };
    insert_outbound(c, &outbound)?.ok_or_else(|| {
        DbError::Decode("a staff message has no dedupe key and is always stored".into())
    })
}

/// Inserts a row inside the caller's transaction; `None` when its dedupe key was used before.
pub(crate) fn insert_outbound(c: &mut Conn<'_>, row: &NewOutbound) -> Result<Option<i64>, DbError> {
    let now = now_text();
    c.query_opt(
        "INSERT INTO outbox (channel, chat_id, conversation_id, kind, source_id, dedupe_key, text, status, not_before, staff_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?8, ?9, ?8)
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        params![
            row.channel,
            &row.chat_id,
            &row.conversation_id,
            row.kind,
            row.source_id,
            &row.dedupe_key,
            &row.text,
            &now,
            row.staff_id
        ],
    )?
    .map(|r| r.get(0))
    .transpose()
}

fn outbound_row(row: &Row) -> Result<Outbound, DbError> {
    Ok(Outbound {
        id: row.get(0)?,
        channel: row.get(1)?,
        chat_id: row.get(2)?,
        conversation_id: row.get(3)?,
        kind: row.get(4)?,
        source_id: row.get(5)?,
        text: row.get(6)?,
        attempts: row.get(7)?,
        created_at: row.get(8)?,
    })
}

impl Db {
    /// Queues one message; its id, or `None` when its dedupe key was queued before.
    pub async fn enqueue_outbound(&self, row: NewOutbound) -> Result<Option<i64>, DbError> {
        self.run(move |c| insert_outbound(c, &row)).await
    }

    /// Claims up to `limit` due rows of the given channels for `lease` (rows another worker holds
    /// are skipped; a dead worker's rows come back when its lease runs out), oldest first.
    pub async fn claim_outbound(
        &self,
        channels: Vec<ChannelKind>,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<Outbound>, DbError> {
        let until = stored_in(lease);
        self.run(move |c| {
            let now = now_text();
            if channels.is_empty() {
                return Ok(Vec::new());
            }
            // The channels this process can send on, as placeholders ?3, ?4, …
            let wanted: Vec<String> = (0..channels.len()).map(|i| format!("?{}", i + 3)).collect();
            let mut values = vec![Value::from(&now), Value::from(limit)];
            values.extend(channels.iter().map(|channel| Value::from(*channel)));
            let candidates: Vec<i64> = c
                .query(
                    &format!(
                        "SELECT id FROM outbox WHERE status = 'queued' AND not_before <= ?1
                           AND (claimed_until IS NULL OR claimed_until < ?1) AND channel IN ({})
                         ORDER BY not_before, id LIMIT ?2",
                        wanted.join(", ")
                    ),
                    &values,
                )?
                .iter()
                .map(|r| r.get(0))
                .collect::<Result<_, DbError>>()?;
            let mut claimed = Vec::new();
            for id in candidates {
                // One UPDATE decides between workers, as for messages.
                let row = c.query_opt(
                    "UPDATE outbox SET claimed_until = ?2
                     WHERE id = ?1 AND status = 'queued' AND (claimed_until IS NULL OR claimed_until < ?3)
                     RETURNING id, channel, chat_id, conversation_id, kind, source_id, text, attempts, created_at",
                    params![id, &until, &now],
                )?;
                if let Some(row) = row {
                    claimed.push(outbound_row(&row)?);
                }
            }
            Ok(claimed)
        })
        .await
    }

    /// Records how sending a claimed row ended.
    pub async fn finish_outbound(
        &self,
        id: i64,
        status: OutboxStatus,
        error: Option<String>,
    ) -> Result<(), DbError> {
        self.run(move |c| {
            let now = now_text();
            let sent_at = (status == OutboxStatus::Sent).then(|| now.clone());
            c.execute(
                "UPDATE outbox SET status = ?2, error = ?3, sent_at = ?4, attempts = attempts + 1, claimed_until = NULL
                 WHERE id = ?1",
                params![id, status, error, sent_at],
            )
            .map(|_| ())
        })
        .await
    }

    /// Puts a claimed row back for a later attempt (`counts`: whether this was an attempt, or
    /// only a wait for the platform's pace).
    pub async fn retry_outbound(
        &self,
        id: i64,
        after: Duration,
        error: Option<String>,
        counts: bool,
    ) -> Result<(), DbError> {
        let not_before = stored_in(after);
        self.run(move |c| {
            c.execute(
                "UPDATE outbox SET not_before = ?2, error = COALESCE(?3, error), attempts = attempts + ?4, claimed_until = NULL
                 WHERE id = ?1",
                params![id, not_before, error, i64::from(counts)],
            )
            .map(|_| ())
        })
        .await
    }

    /// The citizen wrote again: their rows waiting for the window go back in the queue, unless
    /// they waited longer than [`WAIT_FOR_WINDOW`] (then `expired`). How many were queued again.
    pub async fn release_waiting_outbound(
        &self,
        channel: ChannelKind,
        conversation_id: String,
    ) -> Result<usize, DbError> {
        let oldest = stored_ago(WAIT_FOR_WINDOW);
        self.transaction(move |c| {
            c.execute(
                "UPDATE outbox SET status = 'expired' WHERE channel = ?1 AND conversation_id = ?2
                   AND status = 'waiting_window' AND created_at < ?3",
                params![channel, &conversation_id, &oldest],
            )?;
            c.execute(
                "UPDATE outbox SET status = 'queued', not_before = ?3, claimed_until = NULL
                 WHERE channel = ?1 AND conversation_id = ?2 AND status = 'waiting_window'",
                params![channel, &conversation_id, now_text()],
            )
        })
        .await
    }

    /// The citizen's last message in this conversation, and the messages sent to them since
    /// (reply parts and outbox rows): what Zalo's consultation window depends on.
    pub async fn window_facts(
        &self,
        channel: ChannelKind,
        conversation_id: String,
    ) -> Result<WindowFacts, DbError> {
        self.run(move |c| {
            let last_inbound: Option<String> = c
                .query_one(
                    "SELECT max(received_at) FROM messages WHERE channel = ?1 AND conversation_id = ?2",
                    params![channel, &conversation_id],
                )?
                .get(0)?;
            let Some(last) = last_inbound else {
                return Ok(WindowFacts {
                    last_inbound: None,
                    sent_since: 0,
                });
            };
            let replies: i64 = c
                .query_one(
                    "SELECT count(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
                     WHERE m.channel = ?1 AND m.conversation_id = ?2 AND d.status = 'sent' AND d.at >= ?3",
                    params![channel, &conversation_id, &last],
                )?
                .get(0)?;
            let outbound: i64 = c
                .query_one(
                    "SELECT count(*) FROM outbox WHERE channel = ?1 AND conversation_id = ?2
                       AND status = 'sent' AND sent_at >= ?3",
                    params![channel, &conversation_id, &last],
                )?
                .get(0)?;
            Ok(WindowFacts {
                last_inbound: Some(last),
                sent_since: replies + outbound,
            })
        })
        .await
    }

    /// Rows of one source (a notice, a survey) by status.
    pub async fn outbox_counts(
        &self,
        kind: OutboxKind,
        source_id: i64,
    ) -> Result<BTreeMap<String, i64>, DbError> {
        self.run(move |c| {
            c.query(
                "SELECT status, count(*) FROM outbox WHERE kind = ?1 AND source_id = ?2 GROUP BY status",
                params![kind, source_id],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
        })
        .await
    }
}
