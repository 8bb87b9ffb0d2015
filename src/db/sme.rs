//! Support requests of small and medium enterprises: opened from the chat (company name, tax
//! code, question, contact), worked in the console's SME queue with their own statuses, and
//! answered by phone or e-mail or through the enterprise's chat channel (the outbox). The first
//! response time is recorded for the response-time statistics.

use super::directory::audit_in;
use super::kinds::ChannelKind;
use super::outbox::queue_staff_message;
use super::platform_kinds::{OutboxKind, SmeStatus};
use super::sql::{params, Row};
use super::{now_text, Db, DbError};

#[derive(Debug, Clone, PartialEq)]
pub struct NewSmeRequest {
    pub channel: ChannelKind,
    pub conversation_id: String,
    pub chat_id: String,
    pub company: String,
    pub tax_code: String,
    pub question: String,
    pub contact: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SmeRequest {
    pub id: i64,
    pub request: NewSmeRequest,
    pub status: SmeStatus,
    pub assigned_to: Option<String>,
    pub note: Option<String>,
    pub created_at: String,
    pub first_response_at: Option<String>,
    pub closed_at: Option<String>,
}

const COLUMNS: &str =
    "r.id, r.channel, r.conversation_id, r.chat_id, r.company, r.tax_code, r.question, r.contact,
    r.status, s.display_name, r.note, r.created_at, r.first_response_at, r.closed_at";

fn request_row(row: &Row) -> Result<SmeRequest, DbError> {
    Ok(SmeRequest {
        id: row.get(0)?,
        request: NewSmeRequest {
            channel: row.get(1)?,
            conversation_id: row.get(2)?,
            chat_id: row.get(3)?,
            company: row.get(4)?,
            tax_code: row.get(5)?,
            question: row.get(6)?,
            contact: row.get(7)?,
        },
        status: row.get(8)?,
        assigned_to: row.get(9)?,
        note: row.get(10)?,
        created_at: row.get(11)?,
        first_response_at: row.get(12)?,
        closed_at: row.get(13)?,
    })
}

impl Db {
    pub async fn create_sme_request(&self, request: NewSmeRequest) -> Result<i64, DbError> {
        self.run(move |c| {
            c.query_one(
                "INSERT INTO sme_requests (channel, conversation_id, chat_id, company, tax_code, question, contact, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'new', ?8) RETURNING id",
                params![
                    request.channel,
                    &request.conversation_id,
                    &request.chat_id,
                    &request.company,
                    &request.tax_code,
                    &request.question,
                    &request.contact,
                    now_text()
                ],
            )?
            .get(0)
        })
        .await
    }

    /// Requests, newest first; `status` None for all.
    pub async fn sme_requests(
        &self,
        status: Option<SmeStatus>,
        limit: usize,
    ) -> Result<Vec<SmeRequest>, DbError> {
        self.run(move |c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM sme_requests r LEFT JOIN staff s ON s.id = r.assigned_to
                     WHERE ?1 = '' OR r.status = ?1 ORDER BY r.id DESC LIMIT ?2"
                ),
                params![status.map_or("", SmeStatus::as_str), limit],
            )?
            .iter()
            .map(request_row)
            .collect()
        })
        .await
    }

    pub async fn sme_request(&self, id: i64) -> Result<Option<SmeRequest>, DbError> {
        self.run(move |c| {
            c.query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM sme_requests r LEFT JOIN staff s ON s.id = r.assigned_to WHERE r.id = ?1"
                ),
                params![id],
            )?
            .as_ref()
            .map(request_row)
            .transpose()
        })
        .await
    }

    /// Moves a request to `status` with an optional note: `in_progress` assigns it to the staff
    /// member, `answered` records the first response time (if not yet), `closed` the closing
    /// time. Audited. False when there is no such request.
    pub async fn update_sme_request(
        &self,
        id: i64,
        staff_id: i64,
        status: SmeStatus,
        note: Option<String>,
    ) -> Result<bool, DbError> {
        self.transaction(move |c| {
            let now = now_text();
            let responded = matches!(status, SmeStatus::Answered | SmeStatus::Closed).then(|| now.clone());
            let closed = (status == SmeStatus::Closed).then(|| now.clone());
            let assigned = (status == SmeStatus::InProgress).then_some(staff_id);
            let changed = c.execute(
                "UPDATE sme_requests SET status = ?2, note = COALESCE(?3, note),
                   first_response_at = COALESCE(first_response_at, ?4), closed_at = COALESCE(?5, closed_at),
                   assigned_to = COALESCE(?6, assigned_to)
                 WHERE id = ?1",
                params![id, status, &note, responded, closed, assigned],
            )?;
            if changed == 1 {
                audit_in(c, staff_id, &format!("sme_{status}"), format!("sme:{id}"), None)?;
            }
            Ok(changed == 1)
        })
        .await
    }

    /// Queues a staff answer to the enterprise in its chat channel (the outbox delivers it), marks
    /// the request answered and records the first response time, in one transaction. `None` when
    /// there is no such request.
    pub async fn queue_sme_reply(
        &self,
        id: i64,
        staff_id: i64,
        text: String,
    ) -> Result<Option<i64>, DbError> {
        self.transaction(move |c| {
            let Some(row) = c.query_opt(
                "SELECT channel, chat_id, conversation_id FROM sme_requests WHERE id = ?1",
                params![id],
            )?
            else {
                return Ok(None);
            };
            let outbox_id =
                queue_staff_message(c, &row, OutboxKind::SmeReply, id, staff_id, text)?;
            c.execute(
                "UPDATE sme_requests SET status = CASE WHEN status = 'closed' THEN status ELSE 'answered' END,
                   first_response_at = COALESCE(first_response_at, ?2),
                   assigned_to = COALESCE(assigned_to, ?3)
                 WHERE id = ?1",
                params![id, now_text(), staff_id],
            )?;
            audit_in(c, staff_id, "sme_reply", format!("sme:{id}"), None)?;
            Ok(Some(outbox_id))
        })
        .await
    }
}
