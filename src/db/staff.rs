//! Typed operations of the staff side: accounts, sessions, the review queue, reviews, curated
//! answers and the audit log.

use super::channel_log::{rfc3339, stored_message, Rating, MESSAGE_COLUMNS};
use super::kinds::{ChannelKind, Decision, ReviewDelivery, Role, StoredCitation};
use super::sql::{params, Conn, Row};
use super::{now_text, Db, DbError};
use crate::answer::curated::{CuratedEntry, CuratedSource, SourceError};
use crate::answer::review::{AnswerStatus, FlagReason};

#[derive(Debug, Clone, PartialEq)]
pub struct StaffAccount {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub failed_logins: u32,
    /// RFC 3339; set while the account is locked after repeated failures.
    pub locked_until: Option<String>,
    pub disabled: bool,
}

impl StaffAccount {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

const STAFF_COLUMNS: &str =
    "s.id, s.username, s.display_name, s.password_hash, s.role, s.failed_logins, s.locked_until, s.disabled";

fn staff_row(row: &Row) -> Result<StaffAccount, DbError> {
    Ok(StaffAccount {
        id: row.get(0)?,
        username: row.get(1)?,
        display_name: row.get(2)?,
        password_hash: row.get(3)?,
        role: row.get(4)?,
        failed_logins: row.get(5)?,
        locked_until: row.get(6)?,
        disabled: row.get(7)?,
    })
}

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub staff: StaffAccount,
    pub csrf_token: String,
    pub expires_at: String,
}

/// Filters of the review queue. Empty strings mean "any".
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub reason: String,
    pub channel: String,
    pub topic: String,
    /// `YYYY-MM-DD`, inclusive.
    pub from: String,
    pub to: String,
    /// `pending` (default), `reviewed` or `all`.
    pub state: String,
    pub limit: usize,
}

/// One flagged answer in the queue.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub answer_id: i64,
    pub created_at: String,
    pub channel: ChannelKind,
    pub question: String,
    pub status: AnswerStatus,
    pub confidence: f64,
    pub topic: Option<String>,
    /// Its flags' reasons, as stored (unordered, one per flag).
    pub reasons: Vec<FlagReason>,
    pub decision: Option<Decision>,
}

/// Everything the review page shows about one answer.
#[derive(Debug, Clone)]
pub struct AnswerDetail {
    pub answer_id: i64,
    pub message_id: i64,
    pub channel: ChannelKind,
    pub chat_id: String,
    pub conversation_id: String,
    pub question: String,
    /// For a follow-up, the question it followed.
    pub follows: Option<String>,
    pub received_at: String,
    pub status: AnswerStatus,
    pub decline_reason: Option<String>,
    pub text: String,
    pub citations: Vec<StoredCitation>,
    pub confidence: f64,
    pub topic: Option<String>,
    pub created_at: String,
    /// (reason, detail, created_at)
    pub flags: Vec<(FlagReason, Option<String>, String)>,
    /// Earlier turns of the conversation, oldest first: (question, answer text).
    pub history: Vec<(String, String)>,
    pub review: Option<ReviewRecord>,
    /// (rating, at)
    pub feedback: Vec<(Rating, String)>,
}

#[derive(Debug, Clone)]
pub struct ReviewRecord {
    pub id: i64,
    pub staff_name: String,
    pub decision: Decision,
    pub text: Option<String>,
    /// The citations staff chose.
    pub citations: Vec<StoredCitation>,
    pub note: Option<String>,
    pub delivery_status: Option<ReviewDelivery>,
    pub delivery_error: Option<String>,
    pub created_at: String,
}

/// A staff decision on an answer.
#[derive(Debug, Clone)]
pub struct NewReview {
    pub answer_id: i64,
    pub staff_id: i64,
    pub decision: Decision,
    pub text: Option<String>,
    pub citations: Vec<StoredCitation>,
    pub note: Option<String>,
    /// The question, for the curated answer an approval or edit creates.
    pub question: String,
    /// For a follow-up, the question it followed: the curated answer's context.
    pub context: Option<String>,
    /// How the reviewed answer's delivery starts: `Pending` (a channel worker sends it), or
    /// already ended (the channel cannot reach the citizen), with why.
    pub delivery: Option<(ReviewDelivery, Option<String>)>,
}

/// A reviewed answer a worker has claimed to send: the review's text and citations, and the
/// message it answers (its chat and channel).
#[derive(Debug, Clone)]
pub struct ReviewToDeliver {
    pub review_id: i64,
    pub answer_id: i64,
    pub text: String,
    pub citations: Vec<StoredCitation>,
    pub message: super::StoredMessage,
    pub received_at: String,
}

/// What a retention sweep erased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub messages: usize,
    /// Citizens' comments on answers.
    pub comments: usize,
    /// Flag details quoting those comments.
    pub flag_details: usize,
    /// Curated answers retired with their question.
    pub curated: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CuratedAnswer {
    pub id: i64,
    pub question: String,
    pub answer_text: String,
    pub citations: Vec<StoredCitation>,
    pub active: bool,
    pub updated_at: String,
    /// For an answer to a follow-up, the question that one followed.
    pub context: Option<String>,
    /// The review it came from (approved or edited); `None` for one staff wrote in the console.
    pub decision: Option<Decision>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// Stored; the review's id and the curated answer it created, if any.
    Stored {
        review_id: i64,
        curated_id: Option<i64>,
    },
    /// Someone reviewed this answer first.
    AlreadyReviewed,
}

impl Db {
    pub async fn create_staff(
        &self,
        username: String,
        display_name: String,
        password_hash: String,
        role: Role,
    ) -> Result<i64, DbError> {
        self.run(move |c| {
            c.query_one(
                "INSERT INTO staff (username, display_name, password_hash, role, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                params![username, display_name, password_hash, role, now_text()],
            )?
            .get(0)
        })
        .await
    }

    pub async fn staff_by_username(
        &self,
        username: String,
    ) -> Result<Option<StaffAccount>, DbError> {
        self.run(move |c| {
            c.query_opt(
                &format!("SELECT {STAFF_COLUMNS} FROM staff s WHERE s.username = ?1"),
                params![username],
            )?
            .as_ref()
            .map(staff_row)
            .transpose()
        })
        .await
    }

    /// Counts a sign-in attempt before its password is checked, in one statement: the count of
    /// failures in a row goes up by one (restarting at 1 once a lock-out has run out), and the
    /// attempt that reaches `max_failures` locks the account until `lock_until` (a right password
    /// then unlocks it through [`Db::reset_login_failures`]). Returns the count, or `None` when
    /// the account is locked at `now`. Concurrent attempts are serialised by the row's lock, so no
    /// more than `max_failures` are ever let through.
    pub async fn count_login_attempt(
        &self,
        staff_id: i64,
        max_failures: u32,
        now: String,
        lock_until: String,
    ) -> Result<Option<u32>, DbError> {
        self.run(move |c| {
            let row = c.query_opt(
                "UPDATE staff SET
                   failed_logins = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END,
                   locked_until = CASE
                     WHEN (CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END) >= ?3 THEN ?4
                     ELSE NULL END
                 WHERE id = ?1 AND (locked_until IS NULL OR locked_until <= ?2)
                 RETURNING failed_logins",
                params![staff_id, now, max_failures, lock_until],
            )?;
            row.map(|row| row.get(0)).transpose()
        })
        .await
    }

    pub async fn reset_login_failures(&self, staff_id: i64) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE id = ?1",
                params![staff_id],
            )
            .map(|_| ())
        })
        .await
    }

    pub async fn create_session(
        &self,
        token_hash: String,
        staff_id: i64,
        csrf_token: String,
        expires_at: String,
    ) -> Result<(), DbError> {
        self.run(move |c| {
            // Expired sessions are swept whenever someone signs in.
            c.execute(
                "DELETE FROM staff_sessions WHERE expires_at < ?1",
                params![now_text()],
            )?;
            c.execute(
                "INSERT INTO staff_sessions (token_hash, staff_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token_hash, staff_id, csrf_token, now_text(), expires_at],
            )
            .map(|_| ())
        })
        .await
    }

    /// The live session with this token hash (not expired, account enabled).
    pub async fn session(&self, token_hash: String) -> Result<Option<StaffSession>, DbError> {
        self.run(move |c| {
            let Some(row) = c.query_opt(
                &format!(
                    "SELECT {STAFF_COLUMNS}, x.csrf_token, x.expires_at FROM staff_sessions x
                     JOIN staff s ON s.id = x.staff_id
                     WHERE x.token_hash = ?1 AND x.expires_at > ?2 AND s.disabled = 0"
                ),
                params![token_hash, now_text()],
            )?
            else {
                return Ok(None);
            };
            Ok(Some(StaffSession {
                staff: staff_row(&row)?,
                csrf_token: row.get(8)?,
                expires_at: row.get(9)?,
            }))
        })
        .await
    }

    pub async fn delete_session(&self, token_hash: String) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "DELETE FROM staff_sessions WHERE token_hash = ?1",
                params![token_hash],
            )
            .map(|_| ())
        })
        .await
    }

    pub async fn audit(
        &self,
        staff_id: Option<i64>,
        action: &'static str,
        target: Option<String>,
        detail: Option<String>,
    ) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO audit_log (staff_id, action, target, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![staff_id, action, target, detail, now_text()],
            )
            .map(|_| ())
        })
        .await
    }

    /// Flagged answers, newest first.
    pub async fn review_queue(&self, filter: QueueFilter) -> Result<Vec<QueueItem>, DbError> {
        self.run(move |c| {
            let state_clause = match filter.state.as_str() {
                "reviewed" => "AND r.id IS NOT NULL",
                "all" => "",
                _ => "AND r.id IS NULL",
            };
            // One row per flagged answer; its reasons are aggregated in a subquery (no GROUP BY,
            // which PostgreSQL would refuse over the joined columns).
            let sql = format!(
                "SELECT a.id, a.created_at, m.channel, m.text, a.status, a.confidence, a.topic,
                        (SELECT group_concat(f.reason, ',') FROM flags f WHERE f.answer_id = a.id),
                        r.decision
                 FROM answers a
                 JOIN messages m ON m.id = a.message_id
                 LEFT JOIN reviews r ON r.answer_id = a.id
                 WHERE a.id IN (SELECT answer_id FROM flags WHERE ?1 = '' OR reason = ?1)
                   AND (?2 = '' OR m.channel = ?2)
                   AND (?3 = '' OR a.topic = ?3)
                   AND (?4 = '' OR a.created_at >= ?4)
                   AND (?5 = '' OR substr(a.created_at, 1, 10) <= ?5)
                   {state_clause}
                 ORDER BY a.id DESC
                 LIMIT ?6"
            );
            let rows = c.query(
                &sql,
                params![
                    filter.reason,
                    filter.channel,
                    filter.topic,
                    filter.from,
                    filter.to,
                    filter.limit.clamp(1, 1000)
                ],
            )?;
            rows.iter()
                .map(|row| {
                    Ok(QueueItem {
                        answer_id: row.get(0)?,
                        created_at: row.get(1)?,
                        channel: row.get(2)?,
                        question: row.get(3)?,
                        status: row.get(4)?,
                        confidence: row.get(5)?,
                        topic: row.get(6)?,
                        reasons: row
                            .get::<Option<String>>(7)?
                            .unwrap_or_default()
                            .split(',')
                            .filter_map(FlagReason::parse)
                            .collect(),
                        decision: row.get(8)?,
                    })
                })
                .collect()
        })
        .await
    }

    /// Distinct topics of flagged answers, for the queue's filter.
    pub async fn flagged_topics(&self) -> Result<Vec<String>, DbError> {
        self.run(|c| {
            c.query(
                "SELECT DISTINCT a.topic FROM answers a JOIN flags f ON f.answer_id = a.id
                 WHERE a.topic IS NOT NULL ORDER BY a.topic",
                params![],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect()
        })
        .await
    }

    pub async fn answer_detail(&self, answer_id: i64) -> Result<Option<AnswerDetail>, DbError> {
        self.run(move |c| {
            let Some(row) = c.query_opt(
                "SELECT a.id, m.id, m.channel, m.chat_id, m.conversation_id, m.text, m.received_at,
                        a.status, a.decline_reason, a.text, a.citations, a.confidence, a.topic, a.created_at,
                        a.follows
                 FROM answers a JOIN messages m ON m.id = a.message_id WHERE a.id = ?1",
                params![answer_id],
            )?
            else {
                return Ok(None);
            };
            let mut detail = AnswerDetail {
                answer_id: row.get(0)?,
                message_id: row.get(1)?,
                channel: row.get(2)?,
                chat_id: row.get(3)?,
                conversation_id: row.get(4)?,
                question: row.get(5)?,
                received_at: row.get(6)?,
                status: row.get(7)?,
                decline_reason: row.get(8)?,
                text: row.get(9)?,
                citations: row.get(10)?,
                confidence: row.get(11)?,
                topic: row.get(12)?,
                created_at: row.get(13)?,
                follows: row.get(14)?,
                flags: Vec::new(),
                history: Vec::new(),
                review: None,
                feedback: Vec::new(),
            };
            detail.flags = c
                .query(
                    "SELECT reason, detail, created_at FROM flags WHERE answer_id = ?1 ORDER BY id",
                    params![answer_id],
                )?
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .collect::<Result<_, DbError>>()?;
            let mut history: Vec<(String, String)> = c
                .query(
                    "SELECT m.text, COALESCE(a.text, '') FROM messages m
                     LEFT JOIN answers a ON a.message_id = m.id
                     WHERE m.conversation_id = ?1 AND m.id < ?2 AND m.kind = 'text'
                     ORDER BY m.id DESC LIMIT 10",
                    params![&detail.conversation_id, detail.message_id],
                )?
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?)))
                .collect::<Result<_, DbError>>()?;
            history.reverse();
            detail.history = history;
            detail.feedback = c
                .query(
                    "SELECT rating, at FROM feedback WHERE answer_id = ?1 ORDER BY id",
                    params![answer_id],
                )?
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?)))
                .collect::<Result<_, DbError>>()?;
            detail.review = c
                .query_opt(
                    "SELECT r.id, s.display_name, r.decision, r.text, r.note, r.delivery_status, r.delivery_error, r.created_at, r.citations
                     FROM reviews r JOIN staff s ON s.id = r.staff_id WHERE r.answer_id = ?1",
                    params![answer_id],
                )?
                .map(|r| {
                    Ok::<_, DbError>(ReviewRecord {
                        id: r.get(0)?,
                        staff_name: r.get(1)?,
                        decision: r.get(2)?,
                        text: r.get(3)?,
                        note: r.get(4)?,
                        delivery_status: r.get(5)?,
                        delivery_error: r.get(6)?,
                        created_at: r.get(7)?,
                        citations: r.get(8)?,
                    })
                })
                .transpose()?;
            Ok(Some(detail))
        })
        .await
    }

    /// Stores a review, its audit entry and (for approvals and edits) the curated answer, in one
    /// transaction. A second review of the same answer is refused, not merged.
    pub async fn insert_review(&self, review: NewReview) -> Result<ReviewOutcome, DbError> {
        self.transaction(move |c| {
            let now = now_text();
            let (delivery_status, delivery_error) = review.delivery.clone().unzip();
            let inserted = c.query_opt(
                "INSERT INTO reviews (answer_id, staff_id, decision, text, citations, note, created_at, delivery_status, delivery_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (answer_id) DO NOTHING RETURNING id",
                params![
                    review.answer_id,
                    review.staff_id,
                    review.decision,
                    &review.text,
                    &review.citations,
                    &review.note,
                    &now,
                    delivery_status,
                    delivery_error.flatten()
                ],
            )?;
            let Some(inserted) = inserted else {
                return Ok(ReviewOutcome::AlreadyReviewed);
            };
            let review_id: i64 = inserted.get(0)?;
            let mut curated_id = None;
            if let (Some(text), true) = (&review.text, review.decision != Decision::Rejected) {
                let row = c.query_one(
                    "INSERT INTO curated_answers (question, answer_text, citations, review_id, created_by, created_at, updated_at, context)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) RETURNING id",
                    params![&review.question, text, &review.citations, review_id, review.staff_id, &now, &review.context],
                )?;
                curated_id = Some(row.get(0)?);
            }
            c.execute(
                "INSERT INTO audit_log (staff_id, action, target, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    review.staff_id,
                    format!("review_{}", review.decision),
                    format!("answer:{}", review.answer_id),
                    &review.note,
                    &now
                ],
            )?;
            Ok(ReviewOutcome::Stored { review_id, curated_id })
        })
        .await
    }

    /// Claims the delivery of a reviewed answer for `lease`, like [`Db::claim_message`]: `None`
    /// when it is not pending any more or another worker (on any replica) holds a live claim.
    pub async fn claim_review_delivery(
        &self,
        review_id: i64,
        lease: std::time::Duration,
    ) -> Result<Option<ReviewToDeliver>, DbError> {
        let now = chrono::Utc::now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
        let (now, until) = (rfc3339(now), rfc3339(until));
        self.run(move |c| {
            let claimed = c.execute(
                "UPDATE reviews SET claimed_until = ?2
                 WHERE id = ?1 AND delivery_status = 'pending' AND (claimed_until IS NULL OR claimed_until < ?3)",
                params![review_id, until, now],
            )?;
            if claimed != 1 {
                return Ok(None);
            }
            let review = c.query_one(
                "SELECT a.id, COALESCE(r.text, ''), r.citations, a.message_id
                 FROM reviews r JOIN answers a ON a.id = r.answer_id WHERE r.id = ?1",
                params![review_id],
            )?;
            let message_id: i64 = review.get(3)?;
            let message = c.query_one(
                &format!("SELECT {MESSAGE_COLUMNS}, received_at FROM messages WHERE id = ?1"),
                params![message_id],
            )?;
            Ok(Some(ReviewToDeliver {
                review_id,
                answer_id: review.get(0)?,
                text: review.get(1)?,
                citations: review.get(2)?,
                message: stored_message(&message)?,
                received_at: message.get(9)?,
            }))
        })
        .await
    }

    /// Reviewed answers owed a delivery that nobody is sending: unclaimed (older than
    /// `unclaimed_older_than`, so as not to race the request that queued them), or claimed by a
    /// worker whose lease ran out. `(review id, conversation id)`, oldest first.
    pub async fn orphaned_review_deliveries(
        &self,
        unclaimed_older_than: std::time::Duration,
    ) -> Result<Vec<(i64, String)>, DbError> {
        let now = chrono::Utc::now();
        let before = now - chrono::Duration::from_std(unclaimed_older_than).unwrap_or_default();
        let (now, before) = (rfc3339(now), rfc3339(before));
        self.run(move |c| {
            c.query(
                "SELECT r.id, a.conversation_id FROM reviews r JOIN answers a ON a.id = r.answer_id
                 WHERE r.delivery_status = 'pending'
                   AND ((r.claimed_until IS NULL AND r.created_at <= ?2) OR r.claimed_until < ?1)
                 ORDER BY r.id",
                params![now, before],
            )?
            .iter()
            .map(|row| Ok((row.get(0)?, row.get(1)?)))
            .collect()
        })
        .await
    }

    pub async fn set_review_delivery(
        &self,
        review_id: i64,
        status: ReviewDelivery,
        error: Option<String>,
    ) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "UPDATE reviews SET delivery_status = ?2, delivery_error = ?3 WHERE id = ?1",
                params![review_id, status, error],
            )
            .map(|_| ())
        })
        .await
    }

    pub async fn curated_answers(
        &self,
        include_retired: bool,
    ) -> Result<Vec<CuratedAnswer>, DbError> {
        self.run(move |c| curated_answers(c, include_retired)).await
    }

    /// How many curated answers exist and when the last one changed: cheap to read on every
    /// question, so the matcher reloads (and re-embeds) only after staff changed something.
    pub async fn curated_version(&self) -> Result<(i64, String), DbError> {
        self.run(curated_version).await
    }

    /// Edits or retires a curated answer, with its audit entry. Returns false if it does not exist.
    pub async fn update_curated(
        &self,
        id: i64,
        staff_id: i64,
        question: Option<String>,
        answer_text: Option<String>,
        active: bool,
    ) -> Result<bool, DbError> {
        self.transaction(move |c| {
            let now = now_text();
            let changed = c.execute(
                "UPDATE curated_answers SET question = COALESCE(?2, question),
                   answer_text = COALESCE(?3, answer_text), active = ?4, updated_at = ?5 WHERE id = ?1",
                params![id, question, answer_text, active, &now],
            )?;
            if changed == 1 {
                let action = if active { "curated_edit" } else { "curated_retire" };
                c.execute(
                    "INSERT INTO audit_log (staff_id, action, target, at) VALUES (?1, ?2, ?3, ?4)",
                    params![staff_id, action, format!("curated:{id}"), &now],
                )?;
            }
            Ok(changed == 1)
        })
        .await
    }

    /// Erases what citizens wrote before `cutoff` (RFC 3339), keeping the rows (and so the
    /// statistics), in one transaction: message texts, comments on answers and the flag details
    /// that quote them, and the question of a curated answer (a citizen's words) last saved
    /// before the cutoff, which retires that curated answer (it can no longer be matched).
    pub async fn erase_texts_before(&self, cutoff: String) -> Result<Erased, DbError> {
        self.transaction(move |c| {
            let messages = c.execute(
                "UPDATE messages SET text = '' WHERE received_at < ?1 AND text != ''",
                params![&cutoff],
            )?;
            let comments = c.execute(
                "UPDATE feedback SET comment = NULL WHERE at < ?1 AND comment IS NOT NULL",
                params![&cutoff],
            )?;
            // The reasons citizens' feedback raises, whose detail is their comment.
            let flag_details = c.execute(
                "UPDATE flags SET detail = NULL WHERE created_at < ?1 AND detail IS NOT NULL
                   AND reason IN (?2, ?3, ?4)",
                params![
                    &cutoff,
                    FlagReason::ThumbsDown,
                    FlagReason::Reported,
                    FlagReason::HumanRequested
                ],
            )?;
            let curated = c.execute(
                // `updated_at` moves, so the curated set's version changes and the assistant
                // drops the retired answer at its next question.
                "UPDATE curated_answers SET question = '', context = NULL, active = 0, updated_at = ?2
                 WHERE updated_at < ?1 AND question != ''",
                params![&cutoff, now_text()],
            )?;
            Ok(Erased {
                messages,
                comments,
                flag_details,
                curated,
            })
        })
        .await
    }

    pub async fn list_staff(&self) -> Result<Vec<StaffAccount>, DbError> {
        self.run(|c| {
            c.query(
                &format!("SELECT {STAFF_COLUMNS} FROM staff s ORDER BY s.id"),
                params![],
            )?
            .iter()
            .map(staff_row)
            .collect()
        })
        .await
    }
}

fn curated_answers(c: &mut Conn<'_>, include_retired: bool) -> Result<Vec<CuratedAnswer>, DbError> {
    c.query(
        "SELECT c.id, c.question, c.answer_text, c.citations, c.active, c.updated_at, c.context, r.decision
         FROM curated_answers c LEFT JOIN reviews r ON r.id = c.review_id
         WHERE c.active = 1 OR ?1 = 1 ORDER BY c.id DESC",
        params![include_retired],
    )?
    .iter()
    .map(|r| {
        Ok(CuratedAnswer {
            id: r.get(0)?,
            question: r.get(1)?,
            answer_text: r.get(2)?,
            citations: r.get(3)?,
            active: r.get(4)?,
            updated_at: r.get(5)?,
            context: r.get(6)?,
            decision: r.get(7)?,
        })
    })
    .collect()
}

fn curated_version(c: &mut Conn<'_>) -> Result<(i64, String), DbError> {
    let row = c.query_one(
        "SELECT count(*), COALESCE(max(updated_at), '') FROM curated_answers",
        params![],
    )?;
    Ok((row.get(0)?, row.get(1)?))
}

/// [`curated_version`] and how many are active: an answer retired in the same millisecond as the
/// last change (times are stored to the millisecond) still changes the version.
fn curated_source_version(c: &mut Conn<'_>) -> Result<String, DbError> {
    let (count, updated) = curated_version(c)?;
    let active: i64 = c
        .query_one(
            "SELECT count(CASE WHEN active = 1 THEN 1 END) FROM curated_answers",
            params![],
        )?
        .get(0)?;
    Ok(format!("{count}/{active}@{updated}"))
}

/// The assistant's curated answers, read on its blocking thread (never from an async worker).
impl CuratedSource for Db {
    fn version(&self) -> Result<String, SourceError> {
        Ok(self.run_blocking(curated_source_version)?)
    }

    fn active(&self) -> Result<Vec<CuratedEntry>, SourceError> {
        let answers = self.run_blocking(|c| curated_answers(c, false))?;
        Ok(answers
            .into_iter()
            .map(|answer| CuratedEntry {
                id: answer.id,
                question: answer.question,
                context: answer.context,
                text: answer.answer_text,
                article_ids: answer.citations.into_iter().map(|c| c.article_id).collect(),
            })
            .collect())
    }
}
