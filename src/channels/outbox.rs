//! The outbox worker: delivers what the service sends on its own initiative — staff replies in a
//! conversation they took over, legal notices, survey invitations, answers to SME requests —
//! from the `outbox` table (`db::outbox`), within each platform's rules.
//!
//! - **Durable and resumable.** A row is committed before it is sent and claimed with a lease;
//!   a restart (or another replica, once the lease ran out) takes over what was not finished.
//!   Delivery is at least once: a process killed between the platform's "ok" and the row's
//!   update sends that row again.
//! - **Paced.** At most `platform.outbox_per_second` messages per second per platform, and at
//!   least a second between two messages to one chat (Telegram's limit per chat); a 429's
//!   `retry_after` pauses the whole platform for that long.
//! - **Within the window.** Zalo OA lets an OA message a citizen only for 48 hours after their
//!   last message, and 8 messages at most in that time (`zalo_oa::CONSULTATION_WINDOW`). A row
//!   outside it is not sent: it waits for the citizen's next message (`waiting_window`, 7 days at
//!   most) or, for a survey invitation, is dropped (`outside_window`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::zalo_oa::{CONSULTATION_WINDOW, MAX_MESSAGES_IN_WINDOW};
use super::{ChannelKind, ChannelSender, Reply, SendError};
use crate::db::{Db, Outbound, OutboxKind, OutboxStatus, WindowFacts};

/// Rows claimed at a time, at most.
const BATCH: usize = 20;
/// The least time between two messages to one chat.
const PER_CHAT_GAP: Duration = Duration::from_secs(1);
/// Longest wait before a retry, whatever the platform asks.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(300);

/// How a row becomes what a platform renders (its text, and the buttons that go with its kind).
pub type RenderOutbound = Arc<dyn Fn(&Outbound) -> Reply + Send + Sync>;

#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// Messages per second per platform.
    pub per_second: f64,
    /// A worker's claim on a row.
    pub lease: Duration,
    /// Attempts before a retryable failure is final.
    pub max_attempts: u32,
    pub retry_base: Duration,
    /// How often the queue is read when nothing wakes the worker.
    pub poll: Duration,
    /// Longest wait for one send.
    pub send_timeout: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            per_second: 10.0,
            lease: Duration::from_secs(60),
            max_attempts: 4,
            retry_base: Duration::from_millis(500),
            poll: Duration::from_secs(1),
            send_timeout: Duration::from_secs(10),
        }
    }
}

/// The handle of the running worker: wake it when rows were queued.
#[derive(Clone)]
pub struct Outbox {
    wake: Arc<Notify>,
}

impl Outbox {
    /// Starts the worker on the current Tokio runtime (one per process; several replicas share
    /// the table safely through the claims).
    pub fn start(
        db: Db,
        senders: Vec<Arc<dyn ChannelSender>>,
        render: RenderOutbound,
        config: OutboxConfig,
    ) -> Outbox {
        let wake = Arc::new(Notify::new());
        let worker = Worker {
            db,
            senders: senders.into_iter().map(|s| (s.kind(), s)).collect(),
            render,
            config,
            wake: Arc::clone(&wake),
            next_send: HashMap::new(),
            paused_until: HashMap::new(),
            last_to_chat: HashMap::new(),
        };
        tokio::spawn(worker.run());
        Outbox { wake }
    }

    /// Rows were queued: look now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

struct Worker {
    db: Db,
    senders: HashMap<ChannelKind, Arc<dyn ChannelSender>>,
    render: RenderOutbound,
    config: OutboxConfig,
    wake: Arc<Notify>,
    /// When each platform may get its next message (the pace).
    next_send: HashMap<ChannelKind, Instant>,
    /// A platform that said "too many requests", until when.
    paused_until: HashMap<ChannelKind, Instant>,
    /// When each chat got its last message (pruned as they age).
    last_to_chat: HashMap<(ChannelKind, String), Instant>,
}

/// What to do with a row after one attempt.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Done(OutboxStatus, Option<String>),
    /// Try again after the wait; `counts` when it was a real attempt.
    Later {
        wait: Duration,
        error: Option<String>,
        counts: bool,
    },
}

impl Worker {
    async fn run(mut self) {
        let channels: Vec<ChannelKind> = self.senders.keys().copied().collect();
        if channels.is_empty() {
            return;
        }
        // What the pace lets through in half a lease: claimed rows are sent well within it.
        let batch = ((self.config.per_second * self.config.lease.as_secs_f64() / 2.0) as usize)
            .clamp(1, BATCH);
        loop {
            let rows = match self
                .db
                .claim_outbound(channels.clone(), batch, self.config.lease)
                .await
            {
                Ok(rows) => rows,
                Err(error) => {
                    tracing::error!(%error, "cannot read the outbox");
                    tokio::time::sleep(self.config.poll).await;
                    continue;
                }
            };
            if rows.is_empty() {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(self.config.poll) => {}
                }
                continue;
            }
            let batch_started = Instant::now();
            for row in rows {
                // Rows whose claim may run out before they are sent are left to the next round
                // (or another worker): a row is never sent by two workers at once.
                if batch_started.elapsed() > self.config.lease / 2 {
                    break;
                }
                let id = row.id;
                let outcome = self.attempt(&row).await;
                let recorded = match outcome {
                    Outcome::Done(status, error) => {
                        tracing::debug!(
                            outbox = id,
                            status = status.as_str(),
                            "outbound message done"
                        );
                        self.db.finish_outbound(id, status, error).await
                    }
                    Outcome::Later {
                        wait,
                        error,
                        counts,
                    } => self.db.retry_outbound(id, wait, error, counts).await,
                };
                if let Err(error) = recorded {
                    // The claim runs out and the row is tried again: at least once.
                    tracing::error!(outbox = id, %error, "cannot record an outbound message");
                }
            }
            let now = Instant::now();
            self.last_to_chat
                .retain(|_, at| now.duration_since(*at) < PER_CHAT_GAP);
        }
    }

    /// One attempt at one row: the window, the pace, then the platform.
    async fn attempt(&mut self, row: &Outbound) -> Outcome {
        let Some(sender) = self.senders.get(&row.channel).cloned() else {
            return Outcome::Done(OutboxStatus::Failed, Some("channel not configured".into()));
        };
        if row.channel == ChannelKind::ZaloOa {
            match self
                .db
                .window_facts(row.channel, row.conversation_id.clone())
                .await
            {
                Ok(facts) if !window_open(&facts, chrono::Utc::now()) => {
                    return window_closed(row.kind, "the Zalo OA consultation window is closed");
                }
                Ok(_) => {}
                Err(error) => {
                    return Outcome::Later {
                        wait: self.config.retry_base,
                        error: Some(format!("database: {error}")),
                        counts: false,
                    }
                }
            }
        }
        let now = Instant::now();
        if let Some(until) = self.paused_until.get(&row.channel).filter(|u| **u > now) {
            return Outcome::Later {
                wait: *until - now,
                error: None,
                counts: false,
            };
        }
        let chat = (row.channel, row.chat_id.clone());
        if let Some(last) = self.last_to_chat.get(&chat) {
            let since = now.duration_since(*last);
            if since < PER_CHAT_GAP {
                return Outcome::Later {
                    wait: PER_CHAT_GAP - since,
                    error: None,
                    counts: false,
                };
            }
        }
        if let Some(next) = self.next_send.get(&row.channel) {
            if *next > now {
                tokio::time::sleep(*next - now).await;
            }
        }
        let interval = Duration::from_secs_f64(1.0 / self.config.per_second.max(0.01));
        self.next_send
            .insert(row.channel, Instant::now() + interval);
        self.last_to_chat.insert(chat, Instant::now());

        let reply = (self.render)(row);
        let result = self.send_parts(&sender, &row.chat_id, &reply).await;
        match result {
            Ok(()) => Outcome::Done(OutboxStatus::Sent, None),
            Err(SendError::OutsideWindow { reason }) => window_closed(row.kind, &reason),
            Err(SendError::Permanent { reason }) => {
                Outcome::Done(OutboxStatus::Failed, Some(reason))
            }
            Err(SendError::Retryable {
                reason,
                retry_after,
            }) => {
                if row.attempts + 1 >= self.config.max_attempts {
                    return Outcome::Done(OutboxStatus::Failed, Some(reason));
                }
                if let Some(wait) = retry_after {
                    self.paused_until
                        .insert(row.channel, Instant::now() + wait.min(MAX_RETRY_WAIT));
                }
                let backoff = self.config.retry_base * 2u32.saturating_pow(row.attempts);
                Outcome::Later {
                    wait: retry_after.unwrap_or(backoff).min(MAX_RETRY_WAIT),
                    error: Some(reason),
                    counts: true,
                }
            }
        }
    }

    async fn send_parts(
        &self,
        sender: &Arc<dyn ChannelSender>,
        chat_id: &str,
        reply: &Reply,
    ) -> Result<(), SendError> {
        for part in sender.render(reply) {
            match tokio::time::timeout(self.config.send_timeout, sender.send(chat_id, &part)).await
            {
                Ok(result) => result?,
                Err(_) => {
                    return Err(SendError::Retryable {
                        reason: format!(
                            "no response within {} s",
                            self.config.send_timeout.as_secs()
                        ),
                        retry_after: None,
                    })
                }
            }
        }
        Ok(())
    }
}

/// Whether Zalo still lets the OA message this citizen: within 48 hours of their last message
/// and fewer than 8 messages since.
pub fn window_open(facts: &WindowFacts, now: chrono::DateTime<chrono::Utc>) -> bool {
    let Some(last) = facts
        .last_inbound
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    else {
        return false;
    };
    let age = now.signed_duration_since(last.with_timezone(&chrono::Utc));
    age.to_std().map_or(true, |age| age < CONSULTATION_WINDOW)
        && facts.sent_since < MAX_MESSAGES_IN_WINDOW
}

/// A row the platform's window does not let through: it waits for the citizen's next message,
/// except a survey invitation, which is only worth sending at the end of a conversation.
fn window_closed(kind: OutboxKind, reason: &str) -> Outcome {
    let status = match kind {
        OutboxKind::SurveyOffer => OutboxStatus::OutsideWindow,
        OutboxKind::News | OutboxKind::StaffReply | OutboxKind::SmeReply => {
            OutboxStatus::WaitingWindow
        }
    };
    Outcome::Done(status, Some(reason.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(hours_ago: i64, sent_since: i64) -> WindowFacts {
        let at = chrono::Utc::now() - chrono::Duration::hours(hours_ago);
        WindowFacts {
            last_inbound: Some(at.to_rfc3339()),
            sent_since,
        }
    }

    #[test]
    fn the_zalo_window_is_48_hours_and_8_messages() {
        let now = chrono::Utc::now();
        assert!(window_open(&facts(1, 0), now));
        assert!(window_open(&facts(47, 7), now));
        assert!(!window_open(&facts(49, 0), now), "after 48 hours");
        assert!(!window_open(&facts(1, 8), now), "the ninth message");
        assert!(!window_open(
            &WindowFacts {
                last_inbound: None,
                sent_since: 0
            },
            now
        ));
        assert_eq!(
            window_closed(OutboxKind::News, "x"),
            Outcome::Done(OutboxStatus::WaitingWindow, Some("x".into()))
        );
        assert_eq!(
            window_closed(OutboxKind::SurveyOffer, "x"),
            Outcome::Done(OutboxStatus::OutsideWindow, Some("x".into()))
        );
    }
}
