//! Legal news (đăng ký nhận tin): who subscribed, the notices staff write, and publishing one,
//! which queues one outbox row per active subscriber in the same transaction (a dedupe key per
//! notice and chat, so publishing twice sends nothing twice).

use super::directory::audit_in;
use super::kinds::ChannelKind;
use super::outbox::{insert_outbound, NewOutbound};
use super::platform_kinds::{NewsStatus, OutboxKind};
use super::sql::{params, Row};
use super::{now_text, Db, DbError};

#[derive(Debug, Clone, PartialEq)]
pub struct NewsItem {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub status: NewsStatus,
    pub created_at: String,
    pub published_at: Option<String>,
    pub recipients: i64,
}

fn news_row(row: &Row) -> Result<NewsItem, DbError> {
    Ok(NewsItem {
        id: row.get(0)?,
        title: row.get(1)?,
        body: row.get(2)?,
        status: row.get(3)?,
        created_at: row.get(4)?,
        published_at: row.get(5)?,
        recipients: row.get(6)?,
    })
}

const COLUMNS: &str = "id, title, body, status, created_at, published_at, recipients";

impl Db {
    /// Subscribes a chat; false when it was subscribed already.
    pub async fn subscribe_news(
        &self,
        channel: ChannelKind,
        chat_id: String,
        conversation_id: String,
    ) -> Result<bool, DbError> {
        self.run(move |c| {
            let was_active = c
                .query_opt(
                    "SELECT 1 FROM news_subscriptions WHERE channel = ?1 AND chat_id = ?2 AND active = 1",
                    params![channel, &chat_id],
                )?
                .is_some();
            c.execute(
                "INSERT INTO news_subscriptions (channel, chat_id, conversation_id, active, subscribed_at)
                 VALUES (?1, ?2, ?3, 1, ?4)
                 ON CONFLICT (channel, chat_id) DO UPDATE SET active = 1, conversation_id = excluded.conversation_id,
                   subscribed_at = CASE WHEN news_subscriptions.active = 1 THEN news_subscriptions.subscribed_at ELSE excluded.subscribed_at END,
                   unsubscribed_at = NULL",
                params![channel, &chat_id, conversation_id, now_text()],
            )?;
            Ok(!was_active)
        })
        .await
    }

    /// Unsubscribes a chat and withdraws the notices still queued for it; false when it was not
    /// subscribed.
    pub async fn unsubscribe_news(
        &self,
        channel: ChannelKind,
        chat_id: String,
    ) -> Result<bool, DbError> {
        self.transaction(move |c| {
            let now = now_text();
            let changed = c.execute(
                "UPDATE news_subscriptions SET active = 0, unsubscribed_at = ?3
                 WHERE channel = ?1 AND chat_id = ?2 AND active = 1",
                params![channel, &chat_id, &now],
            )?;
            c.execute(
                "UPDATE outbox SET status = 'cancelled', claimed_until = NULL
                 WHERE channel = ?1 AND chat_id = ?2 AND kind = 'news' AND status IN ('queued', 'waiting_window')",
                params![channel, &chat_id],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    /// Active subscribers per channel.
    pub async fn subscriber_counts(&self) -> Result<Vec<(ChannelKind, i64)>, DbError> {
        self.run(|c| {
            c.query(
                "SELECT channel, count(*) FROM news_subscriptions WHERE active = 1 GROUP BY channel ORDER BY channel",
                params![],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
        })
        .await
    }

    /// Stores a notice as a draft; its id.
    pub async fn create_news(
        &self,
        title: String,
        body: String,
        staff_id: i64,
    ) -> Result<i64, DbError> {
        self.transaction(move |c| {
            let id: i64 = c
                .query_one(
                    "INSERT INTO news_items (title, body, status, created_by, created_at) VALUES (?1, ?2, 'draft', ?3, ?4) RETURNING id",
                    params![title, body, staff_id, now_text()],
                )?
                .get(0)?;
            audit_in(c, staff_id, "news_create", format!("news:{id}"), None)?;
            Ok(id)
        })
        .await
    }

    pub async fn news_items(&self, limit: usize) -> Result<Vec<NewsItem>, DbError> {
        self.run(move |c| {
            c.query(
                &format!("SELECT {COLUMNS} FROM news_items ORDER BY id DESC LIMIT ?1"),
                params![limit],
            )?
            .iter()
            .map(news_row)
            .collect()
        })
        .await
    }

    pub async fn news_item(&self, id: i64) -> Result<Option<NewsItem>, DbError> {
        self.run(move |c| {
            c.query_opt(
                &format!("SELECT {COLUMNS} FROM news_items WHERE id = ?1"),
                params![id],
            )?
            .as_ref()
            .map(news_row)
            .transpose()
        })
        .await
    }

    /// Publishes a draft: one outbox row with `text` per active subscriber, in one transaction.
    /// The number of recipients, or `None` when the notice is not a draft (published before).
    pub async fn publish_news(
        &self,
        id: i64,
        text: String,
        staff_id: i64,
    ) -> Result<Option<usize>, DbError> {
        self.transaction(move |c| {
            let now = now_text();
            let changed = c.execute(
                "UPDATE news_items SET status = 'published', published_at = ?2 WHERE id = ?1 AND status = 'draft'",
                params![id, &now],
            )?;
            if changed == 0 {
                return Ok(None);
            }
            let subscribers: Vec<(ChannelKind, String, String)> = c
                .query(
                    "SELECT channel, chat_id, conversation_id FROM news_subscriptions WHERE active = 1 ORDER BY subscribed_at",
                    params![],
                )?
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .collect::<Result<_, DbError>>()?;
            let mut recipients = 0;
            for (channel, chat_id, conversation_id) in subscribers {
                let row = NewOutbound {
                    dedupe_key: Some(format!("news:{id}:{channel}:{chat_id}")),
                    channel,
                    chat_id,
                    conversation_id,
                    kind: OutboxKind::News,
                    source_id: Some(id),
                    text: text.clone(),
                    staff_id: Some(staff_id),
                };
                if insert_outbound(c, &row)?.is_some() {
                    recipients += 1;
                }
            }
            c.execute(
                "UPDATE news_items SET recipients = ?2 WHERE id = ?1",
                params![id, recipients],
            )?;
            audit_in(
                c,
                staff_id,
                "news_publish",
                format!("news:{id}"),
                Some(format!("{recipients} recipients")),
            )?;
            Ok(Some(recipients))
        })
        .await
    }
}
