//! The web widget's view of one conversation: its questions, the answers given, and the answers
//! staff reviewed since (`GET /v1/chat/history`).

use super::sql::{params, Row};
use super::{Db, DbError};

/// One question of a web conversation, with what it got.
#[derive(Debug, Clone, PartialEq)]
pub struct WebExchange {
    /// The widget's `client_message_id`.
    pub client_message_id: String,
    pub question: String,
    pub asked_at: String,
    pub answer: Option<WebAnswer>,
    /// A staff review that approved or edited the answer.
    pub reviewed: Option<WebAnswer>,
}

/// An answer as the widget shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebAnswer {
    pub answer_id: String,
    /// `answered`, `declined` or `notice`; `approved` or `edited` for a review.
    pub status: String,
    pub text: String,
    /// JSON array of `{article_id, reference, validity}` (the stored form).
    pub citations: String,
    pub at: String,
}

impl Db {
    /// The latest `max` questions of the web conversation `conversation_id`, oldest first; empty
    /// for an unknown conversation. Rejected reviews are not shown (the citizen keeps the answer).
    pub async fn web_conversation(
        &self,
        conversation_id: String,
        max: usize,
    ) -> Result<Vec<WebExchange>, DbError> {
        self.run(move |c| {
            let rows = c.query(
                "SELECT m.external_id, m.text, m.received_at,
                        a.public_id, a.status, a.text, a.citations, a.created_at,
                        r.decision, COALESCE(r.text, a.text), r.citations, r.created_at
                 FROM messages m
                 LEFT JOIN answers a ON a.message_id = m.id
                 LEFT JOIN reviews r ON r.answer_id = a.id AND r.decision <> 'rejected'
                 WHERE m.channel = 'web' AND m.conversation_id = ?1 AND m.kind = 'text'
                 ORDER BY m.id DESC, a.id DESC LIMIT ?2",
                params![conversation_id, max],
            )?;
            let mut exchanges = rows.iter().map(exchange).collect::<Result<Vec<_>, _>>()?;
            exchanges.reverse();
            Ok(exchanges)
        })
        .await
    }
}

fn exchange(row: &Row) -> Result<WebExchange, DbError> {
    let answer_id: Option<String> = row.get(3)?;
    let answer = match &answer_id {
        Some(id) => Some(WebAnswer {
            answer_id: id.clone(),
            status: row.get(4)?,
            text: row.get(5)?,
            citations: row.get(6)?,
            at: row.get(7)?,
        }),
        None => None,
    };
    let decision: Option<String> = row.get(8)?;
    let reviewed = match (decision, answer_id) {
        (Some(decision), Some(id)) => Some(WebAnswer {
            answer_id: id,
            status: decision,
            text: row.get(9)?,
            citations: row.get(10)?,
            at: row.get(11)?,
        }),
        _ => None,
    };
    Ok(WebExchange {
        client_message_id: row.get(0)?,
        question: row.get(1)?,
        asked_at: row.get(2)?,
        answer,
        reviewed,
    })
}
