//! Typed operations on the channel tables: messages, answers, deliveries, feedback, satisfaction
//! and channel tokens. Each is one statement or one transaction.

use super::kinds::{ChannelKind, DeliveryStatus, MessageKind, MessageStatus, StoredCitation};
use super::sql::{params, Conn, Row};
use super::{now_text, Db, DbError};
use crate::answer::review::{AnswerStatus, Flag, FlagReason};
use crate::named::named_enum;

/// A message as received, before it is stored.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub channel: ChannelKind,
    /// The platform's id of this delivery (Zalo `msg_id`, Telegram `update_id`, …): the key that
    /// makes duplicated deliveries no-ops.
    pub external_id: String,
    pub conversation_id: String,
    pub user_id: String,
    pub chat_id: String,
    pub kind: MessageKind,
    pub text: String,
    pub received_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub id: i64,
    pub channel: ChannelKind,
    pub external_id: String,
    pub conversation_id: String,
    pub user_id: String,
    pub chat_id: String,
    pub kind: MessageKind,
    pub text: String,
    pub status: MessageStatus,
}

#[derive(Debug, Clone)]
pub struct NewAnswer {
    pub message_id: i64,
    pub conversation_id: String,
    pub status: AnswerStatus,
    pub decline_reason: Option<String>,
    pub text: String,
    pub citations: Vec<StoredCitation>,
    pub confidence: f32,
    pub needs_review: bool,
    /// A follow-up's question with the question it followed ([`crate::answer::Answer::follows`]).
    pub follows: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnswer {
    pub id: i64,
    pub public_id: String,
    pub message_id: i64,
    pub conversation_id: String,
    pub channel: ChannelKind,
}

#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub message_id: i64,
    pub answer_id: Option<i64>,
    pub part: usize,
    pub parts: usize,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub error: Option<String>,
}

named_enum! {
    /// A citizen's rating of an answer.
    pub enum Rating {
        Up => "up",
        Down => "down",
        /// "Báo lỗi": the answer is wrong or harmful.
        Report => "report",
        /// "Gặp cán bộ": the citizen asks for a person.
        Human => "human",
    }
}

impl Rating {
    /// The review reason a rating raises, if any.
    pub fn flag_reason(self) -> Option<FlagReason> {
        match self {
            Rating::Up => None,
            Rating::Down => Some(FlagReason::ThumbsDown),
            Rating::Report => Some(FlagReason::Reported),
            Rating::Human => Some(FlagReason::HumanRequested),
        }
    }
}

fn insert_flag(conn: &mut Conn<'_>, answer_id: i64, flag: &Flag, now: &str) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO flags (answer_id, reason, detail, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (answer_id, reason) DO NOTHING",
        params![answer_id, flag.reason, &flag.detail, now],
    )
    .map(|_| ())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedbackOutcome {
    Recorded,
    /// The same rating of the same answer was recorded before (a double tap).
    AlreadyRecorded,
    UnknownAnswer,
}

#[derive(Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// The tokens never reach logs.
impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What became of an end-of-conversation rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SatisfactionOutcome {
    Recorded,
    /// The conversation was rated before (another tab, a double tap): not counted twice.
    AlreadyRecorded,
    /// No conversation of that channel has this id.
    UnknownConversation,
}

/// Inserts a message with its status; `None` when the same delivery was stored before.
fn insert_message_row(
    c: &mut Conn<'_>,
    message: &NewMessage,
    status: MessageStatus,
) -> Result<Option<i64>, DbError> {
    let inserted = c.query_opt(
        "INSERT INTO messages (channel, external_id, conversation_id, user_id, chat_id, kind, text, received_at, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
        params![
            message.channel,
            &message.external_id,
            &message.conversation_id,
            &message.user_id,
            &message.chat_id,
            message.kind,
            &message.text,
            &message.received_at,
            status
        ],
    )?;
    inserted.map(|row| row.get(0)).transpose()
}

/// Inserts an answer with its topic and flags; its row id and new public id.
fn insert_flagged_answer(
    c: &mut Conn<'_>,
    answer: &NewAnswer,
    topic: Option<String>,
    flags: Vec<Flag>,
) -> Result<(i64, String), DbError> {
    let public_id = uuid::Uuid::new_v4().simple().to_string();
    let now = now_text();
    let id = c.query_one(
        "INSERT INTO answers (public_id, message_id, conversation_id, status, decline_reason, text, citations, confidence, needs_review, created_at, topic, follows)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
        params![
            &public_id,
            answer.message_id,
            &answer.conversation_id,
            answer.status,
            &answer.decline_reason,
            &answer.text,
            &answer.citations,
            answer.confidence,
            answer.needs_review,
            &now,
            topic,
            &answer.follows
        ],
    )?
    .get(0)?;
    for flag in flags {
        insert_flag(c, id, &flag, &now)?;
    }
    Ok((id, public_id))
}

/// A time as stored: RFC 3339 UTC with milliseconds.
pub(super) fn rfc3339(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A message read from [`MESSAGE_COLUMNS`], first in the row.
pub(super) fn stored_message(row: &Row) -> Result<StoredMessage, DbError> {
    Ok(StoredMessage {
        id: row.get(0)?,
        channel: row.get(1)?,
        external_id: row.get(2)?,
        conversation_id: row.get(3)?,
        user_id: row.get(4)?,
        chat_id: row.get(5)?,
        kind: row.get(6)?,
        text: row.get(7)?,
        status: row.get(8)?,
    })
}

pub(super) const MESSAGE_COLUMNS: &str =
    "id, channel, external_id, conversation_id, user_id, chat_id, kind, text, status";

impl Db {
    /// Stores a received message; `None` when the same delivery was stored before.
    pub async fn insert_message(&self, message: NewMessage) -> Result<Option<i64>, DbError> {
        self.run(move |c| insert_message_row(c, &message, MessageStatus::Received))
            .await
    }

    pub async fn set_message_status(
        &self,
        id: i64,
        status: MessageStatus,
        error: Option<String>,
    ) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "UPDATE messages SET status = ?2, error = ?3 WHERE id = ?1",
                params![id, status, error],
            )
            .map(|_| ())
        })
        .await
    }

    pub async fn message(&self, id: i64) -> Result<Option<StoredMessage>, DbError> {
        self.run(move |c| {
            c.query_opt(
                &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"),
                params![id],
            )?
            .as_ref()
            .map(stored_message)
            .transpose()
        })
        .await
    }

    /// Messages received but not yet handled (after a crash or restart), oldest first.
    pub async fn pending_messages(&self) -> Result<Vec<StoredMessage>, DbError> {
        self.run(|c| {
            c.query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE status = 'received' ORDER BY id"
                ),
                params![],
            )?
            .iter()
            .map(stored_message)
            .collect()
        })
        .await
    }

    /// Claims a stored message for answering until `lease` from now. False when it is answered
    /// already or another worker (on any replica) holds a live claim.
    pub async fn claim_message(
        &self,
        id: i64,
        lease: std::time::Duration,
    ) -> Result<bool, DbError> {
        let now = chrono::Utc::now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
        let (now, until) = (rfc3339(now), rfc3339(until));
        self.run(move |c| {
            // One UPDATE decides: concurrent claims of the same row (from any replica) are
            // serialised by the row lock, and only one finds the row still unclaimed.
            c.execute(
                "UPDATE messages SET claimed_until = ?2
                 WHERE id = ?1 AND status = 'received' AND (claimed_until IS NULL OR claimed_until < ?3)",
                params![id, until, now],
            )
            .map(|changed| changed == 1)
        })
        .await
    }

    /// Messages owed an answer that nobody is working on: unclaimed, or claimed by a worker whose
    /// lease ran out (its process died). `unclaimed_older_than` skips fresh unclaimed rows, which
    /// are normally waiting in some replica's queue.
    pub async fn orphaned_messages(
        &self,
        unclaimed_older_than: std::time::Duration,
    ) -> Result<Vec<StoredMessage>, DbError> {
        let now = chrono::Utc::now();
        let before = now - chrono::Duration::from_std(unclaimed_older_than).unwrap_or_default();
        let (now, before) = (rfc3339(now), rfc3339(before));
        self.run(move |c| {
            c.query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE status = 'received'
                       AND ((claimed_until IS NULL AND received_at <= ?2) OR claimed_until < ?1)
                     ORDER BY id"
                ),
                params![now, before],
            )?
            .iter()
            .map(stored_message)
            .collect()
        })
        .await
    }

    /// Text messages of a conversation received in the `window` before message `id` (itself
    /// included): the per-user rate limit, the same on every replica.
    pub async fn recent_message_count(
        &self,
        id: i64,
        window: std::time::Duration,
    ) -> Result<i64, DbError> {
        self.run(move |c| {
            let row = c.query_one(
                "SELECT conversation_id, received_at FROM messages WHERE id = ?1",
                params![id],
            )?;
            let (conversation, received): (String, String) = (row.get(0)?, row.get(1)?);
            let since = chrono::DateTime::parse_from_rfc3339(&received)
                .map(|t| {
                    rfc3339(
                        t.with_timezone(&chrono::Utc)
                            - chrono::Duration::from_std(window).unwrap_or_default(),
                    )
                })
                .unwrap_or_default();
            c.query_one(
                "SELECT count(*) FROM messages WHERE conversation_id = ?1 AND kind = 'text'
                   AND received_at >= ?2 AND id <= ?3",
                params![conversation, since, id],
            )?
            .get(0)
        })
        .await
    }

    /// Takes the right to refresh `channel`'s token pair for `lease`; false while another replica
    /// holds it. `save_token` gives it back.
    pub async fn lease_token_refresh(
        &self,
        channel: ChannelKind,
        lease: std::time::Duration,
    ) -> Result<bool, DbError> {
        let now = chrono::Utc::now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(1));
        let (now, until) = (rfc3339(now), rfc3339(until));
        self.run(move |c| {
            // No row yet (the pair still comes from the configuration): the first refresh creates it.
            c.execute(
                "INSERT INTO channel_tokens (channel, access_token, refresh_token, expires_at, updated_at)
                 VALUES (?1, '', '', '', ?2) ON CONFLICT (channel) DO NOTHING",
                params![channel, &now],
            )?;
            c.execute(
                "UPDATE channel_tokens SET refreshing_until = ?2
                 WHERE channel = ?1 AND (refreshing_until IS NULL OR refreshing_until < ?3)",
                params![channel, until, now],
            )
            .map(|changed| changed == 1)
        })
        .await
    }

    pub async fn release_token_refresh(&self, channel: ChannelKind) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "UPDATE channel_tokens SET refreshing_until = NULL WHERE channel = ?1",
                params![channel],
            )
            .map(|_| ())
        })
        .await
    }

    /// Stores an answer; returns its row id and public id.
    pub async fn insert_answer(&self, answer: NewAnswer) -> Result<(i64, String), DbError> {
        self.insert_answer_flagged(answer, None, Vec::new()).await
    }

    /// Stores an answer with its topic and the reasons staff should review it, in one transaction.
    pub async fn insert_answer_flagged(
        &self,
        answer: NewAnswer,
        topic: Option<String>,
        flags: Vec<Flag>,
    ) -> Result<(i64, String), DbError> {
        self.transaction(move |c| insert_flagged_answer(c, &answer, topic, flags))
            .await
    }

    /// Stores a question a channel answered in the request itself (the API) with its answer, topic
    /// and flags, in one transaction: the message is `answered` from the start, so no worker
    /// takes it up. Returns the answer's row id and public id.
    pub async fn record_exchange(
        &self,
        message: NewMessage,
        answer: NewAnswer,
        topic: Option<String>,
        flags: Vec<Flag>,
    ) -> Result<(i64, String), DbError> {
        self.transaction(move |c| {
            let message_id = insert_message_row(c, &message, MessageStatus::Answered)?
                .ok_or_else(|| DbError::Decode("the exchange was recorded before".into()))?;
            let answer = NewAnswer {
                message_id,
                ..answer
            };
            insert_flagged_answer(c, &answer, topic, flags)
        })
        .await
    }

    /// Adds a review reason to a stored answer (no-op when it already has that reason).
    pub async fn flag_answer(&self, answer_id: i64, flag: Flag) -> Result<(), DbError> {
        self.run(move |c| insert_flag(c, answer_id, &flag, &now_text()))
            .await
    }

    /// The row id of the latest reply stored for a message, if any.
    pub async fn answer_of_message(&self, message_id: i64) -> Result<Option<i64>, DbError> {
        self.run(move |c| {
            c.query_opt(
                "SELECT id FROM answers WHERE message_id = ?1 ORDER BY id DESC LIMIT 1",
                params![message_id],
            )?
            .map(|row| row.get(0))
            .transpose()
        })
        .await
    }

    pub async fn answer_by_public_id(
        &self,
        public_id: String,
    ) -> Result<Option<StoredAnswer>, DbError> {
        self.run(move |c| {
            let Some(row) = c.query_opt(
                "SELECT a.id, a.public_id, a.message_id, a.conversation_id, m.channel
                 FROM answers a JOIN messages m ON m.id = a.message_id WHERE a.public_id = ?1",
                params![public_id],
            )?
            else {
                return Ok(None);
            };
            Ok(Some(StoredAnswer {
                id: row.get(0)?,
                public_id: row.get(1)?,
                message_id: row.get(2)?,
                conversation_id: row.get(3)?,
                channel: row.get(4)?,
            }))
        })
        .await
    }

    /// The public id of the latest answer (answered or declined, not a notice) given in a
    /// conversation before message `before_message`: what typed feedback ("👍") refers to.
    pub async fn latest_answer_id(
        &self,
        conversation_id: String,
        before_message: i64,
    ) -> Result<Option<String>, DbError> {
        self.run(move |c| {
            let row = c.query_opt(
                "SELECT a.public_id FROM answers a
                 WHERE a.conversation_id = ?1 AND a.message_id < ?2 AND a.status IN ('answered', 'declined')
                 ORDER BY a.id DESC LIMIT 1",
                params![conversation_id, before_message],
            )?;
            row.map(|row| row.get(0)).transpose()
        })
        .await
    }

    pub async fn insert_delivery(&self, delivery: NewDelivery) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO deliveries (message_id, answer_id, part, parts, status, attempts, error, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    delivery.message_id,
                    delivery.answer_id,
                    delivery.part,
                    delivery.parts,
                    delivery.status,
                    delivery.attempts,
                    delivery.error,
                    now_text()
                ],
            )
            .map(|_| ())
        })
        .await
    }

    /// Records a rating of the answer with this public id.
    pub async fn insert_feedback(
        &self,
        answer_public_id: String,
        rating: Rating,
        comment: Option<String>,
    ) -> Result<FeedbackOutcome, DbError> {
        let Some(answer) = self.answer_by_public_id(answer_public_id).await? else {
            return Ok(FeedbackOutcome::UnknownAnswer);
        };
        self.transaction(move |c| {
            let now = now_text();
            let inserted = c.execute(
                "INSERT INTO feedback (answer_id, channel, rating, comment, at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (answer_id, rating) DO NOTHING",
                params![answer.id, answer.channel, rating, &comment, &now],
            )?;
            // 👎, "báo lỗi" and "gặp cán bộ" put the answer in the staff queue.
            if let Some(reason) = rating.flag_reason() {
                insert_flag(c, answer.id, &Flag::new(reason, comment), &now)?;
            }
            Ok(if inserted == 1 {
                FeedbackOutcome::Recorded
            } else {
                FeedbackOutcome::AlreadyRecorded
            })
        })
        .await
    }

    /// Records an end-of-conversation rating (1..=5; the caller validates the range).
    pub async fn insert_satisfaction(
        &self,
        conversation_id: String,
        channel: ChannelKind,
        score: u8,
    ) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO satisfaction (conversation_id, channel, score, at) VALUES (?1, ?2, ?3, ?4)",
                params![conversation_id, channel, score, now_text()],
            )
            .map(|_| ())
        })
        .await
    }

    /// Whether a conversation of `channel` exists (it has a message), and whether it was rated
    /// already (the web widget's satisfaction endpoint).
    pub async fn conversation_state(
        &self,
        conversation_id: String,
        channel: ChannelKind,
    ) -> Result<(bool, bool), DbError> {
        self.run(move |c| {
            let exists = c
                .query_opt(
                    "SELECT 1 FROM messages WHERE conversation_id = ?1 AND channel = ?2 LIMIT 1",
                    params![&conversation_id, channel],
                )?
                .is_some();
            let rated = c
                .query_opt(
                    "SELECT 1 FROM satisfaction WHERE conversation_id = ?1 LIMIT 1",
                    params![&conversation_id],
                )?
                .is_some();
            Ok((exists, rated))
        })
        .await
    }

    pub async fn load_token(&self, channel: ChannelKind) -> Result<Option<TokenPair>, DbError> {
        self.run(move |c| {
            // A row without tokens is only a refresh lease taken before the first refresh.
            let Some(row) = c.query_opt(
                "SELECT access_token, refresh_token, expires_at FROM channel_tokens
                 WHERE channel = ?1 AND refresh_token != ''",
                params![channel],
            )?
            else {
                return Ok(None);
            };
            Ok(Some(TokenPair {
                access_token: row.get(0)?,
                refresh_token: row.get(1)?,
                expires_at: row.get(2)?,
            }))
        })
        .await
    }

    /// Replaces the token pair of `channel` in one transaction (committed, hence durable, when
    /// this returns).
    pub async fn save_token(&self, channel: ChannelKind, pair: TokenPair) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO channel_tokens (channel, access_token, refresh_token, expires_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (channel) DO UPDATE SET access_token = excluded.access_token,
                   refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,
                   updated_at = excluded.updated_at, refreshing_until = NULL",
                params![channel, pair.access_token, pair.refresh_token, pair.expires_at, now_text()],
            )
            .map(|_| ())
        })
        .await
    }
}

/// Conversations rebuilt from stored messages and answers (after a restart, or on another
/// replica). The searched text of a restored turn is its question: the context a follow-up adds
/// is not stored. Called from the assistant's blocking thread, never from an async worker.
impl crate::answer::conversation::HistorySource for Db {
    fn recent_turns(
        &self,
        conversation_id: &str,
        max: usize,
        within: std::time::Duration,
    ) -> Vec<crate::answer::conversation::Turn> {
        let since = chrono::Utc::now()
            - chrono::Duration::from_std(within).unwrap_or(chrono::Duration::minutes(30));
        let since = since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let rows = self.run_blocking(|c| {
            c.query(
                "SELECT m.text, a.citations FROM messages m JOIN answers a ON a.message_id = m.id
                 WHERE m.conversation_id = ?1 AND m.kind = 'text' AND m.received_at >= ?2
                   AND a.status IN ('answered', 'declined')
                 ORDER BY m.id DESC LIMIT ?3",
                params![conversation_id, since, max],
            )?
            .iter()
            .map(|r| Ok((r.get::<String>(0)?, r.get::<Vec<StoredCitation>>(1)?)))
            .collect::<Result<Vec<_>, DbError>>()
        });
        let rows = match rows {
            Ok(rows) => rows,
            Err(error) => {
                tracing::error!(%error, "cannot read a conversation's history");
                return Vec::new();
            }
        };
        rows.into_iter()
            .rev()
            .map(|(question, citations)| crate::answer::conversation::Turn {
                search_text: question.clone(),
                question,
                article_ids: citations.into_iter().map(|c| c.article_id).collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(external_id: &str) -> NewMessage {
        NewMessage {
            channel: ChannelKind::ZaloOa,
            external_id: external_id.into(),
            conversation_id: "zalo_oa-abc".into(),
            user_id: "u1".into(),
            chat_id: "u1".into(),
            kind: MessageKind::Text,
            text: "Thủ tục đăng ký kết hôn?".into(),
            received_at: now_text(),
        }
    }

    #[tokio::test]
    async fn duplicates_are_stored_once_and_pending_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite3");
        let db = Db::open(&path).unwrap();
        let id = db.insert_message(message("m1")).await.unwrap().unwrap();
        assert_eq!(db.insert_message(message("m1")).await.unwrap(), None);
        db.insert_message(message("m2")).await.unwrap().unwrap();
        db.set_message_status(id, MessageStatus::Answered, None)
            .await
            .unwrap();
        drop(db);
        let db = Db::open(&path).unwrap();
        let pending = db.pending_messages().await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].external_id, "m2");
        assert_eq!(pending[0].text, "Thủ tục đăng ký kết hôn?");
    }

    #[tokio::test]
    async fn feedback_is_recorded_once_per_rating() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
        let message_id = db.insert_message(message("m1")).await.unwrap().unwrap();
        let (_, public_id) = db
            .insert_answer(NewAnswer {
                message_id,
                conversation_id: "zalo_oa-abc".into(),
                status: AnswerStatus::Answered,
                decline_reason: None,
                text: "…".into(),
                citations: Vec::new(),
                confidence: 0.8,
                needs_review: false,
                follows: None,
            })
            .await
            .unwrap();
        let up = |id: &str| db.insert_feedback(id.to_owned(), Rating::Up, None);
        assert_eq!(up(&public_id).await.unwrap(), FeedbackOutcome::Recorded);
        assert_eq!(
            up(&public_id).await.unwrap(),
            FeedbackOutcome::AlreadyRecorded
        );
        assert_eq!(up("nope").await.unwrap(), FeedbackOutcome::UnknownAnswer);
    }

    #[tokio::test]
    async fn token_pair_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
        assert_eq!(db.load_token(ChannelKind::ZaloOa).await.unwrap(), None);
        for n in 1..=2 {
            db.save_token(
                ChannelKind::ZaloOa,
                TokenPair {
                    access_token: format!("a{n}"),
                    refresh_token: format!("r{n}"),
                    expires_at: now_text(),
                },
            )
            .await
            .unwrap();
        }
        let pair = db.load_token(ChannelKind::ZaloOa).await.unwrap().unwrap();
        assert_eq!(
            (pair.access_token.as_str(), pair.refresh_token.as_str()),
            ("a2", "r2")
        );
    }
}
