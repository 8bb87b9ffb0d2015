//! The dispatcher: the life of every message. It stores each incoming message, answers it (on a
//! worker, or at once for a channel that answers in the request), delivers the reply with
//! retries, and records every outcome; it also records feedback and satisfaction ratings.
//!
//! What the answer says, whether it is a staff-approved curated answer, and why staff should
//! review it are the core's ([`Assistant::ask`]); the dispatcher stores them.
//!
//! Invariants:
//! - A message is committed to the database before its webhook is acknowledged, and its unique
//!   `(channel, external_id)` key makes repeated deliveries no-ops: each message is answered once.
//! - Messages of one conversation go to the same worker (by hash), so follow-ups are answered in
//!   the order they were sent.
//! - Every message ends in a recorded state: `answered`, `failed` (with why), `rate_limited` or
//!   `ignored`. Messages still `received` at start-up (the process died) are queued again.
//! - A worker claims a message (in the database, for `channels.claim_lease_secs`) before answering
//!   it, so with several replicas on one database each message is answered by one of them; a
//!   sweeper takes over messages whose claim ran out (their worker died).
//! - The per-user rate limit counts stored messages, so it holds across replicas.
//! - A reviewed answer is committed with its delivery `pending` and sent by the same workers,
//!   claimed and retried like a reply, so neither a restart nor a cancelled request loses it.
//! - A reply that cannot be delivered is flagged for staff (`delivery_failed`), and a panic while
//!   handling one message marks it failed and flags it (`handling_failed`): the worker goes on.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::sync::mpsc;

use super::hook::ConversationHook;
use super::notices;
use super::ratelimit::Decision;
use super::{ChannelKind, ChannelSender, Inbound, InboundKind, OutPart, Reply, SendError};
use crate::answer::review::{AnswerStatus, Flag, FlagReason};
use crate::answer::{Answer, AskError, Assistant};
use crate::config::ChannelsConfig;
use crate::db::{
    now_text, Db, DbError, DeliveryStatus, FeedbackOutcome, MessageKind, MessageStatus, NewAnswer,
    NewDelivery, NewMessage, Rating, ReviewDelivery, SatisfactionOutcome, StoredCitation,
    StoredMessage,
};
use crate::http::AnswerLog;
use crate::ready::Ready;

/// Longest wait between two delivery attempts, whatever the platform asks.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// What a worker does: answer a stored message, or send a reviewed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Message(i64),
    Review(i64),
}

/// What `submit` did with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Stored and queued; the message's row id.
    Accepted(i64),
    /// The same delivery was stored before: nothing to do.
    Duplicate,
}

/// The reply to a stored message, and how it went.
#[derive(Debug, Clone)]
struct Handled {
    reply: Reply,
    /// Row id of the stored reply.
    answer_row: i64,
    /// Set when the service failed to answer (the reply is then an apology).
    failure: Option<String>,
}

/// A question of a channel that answers in the request itself, before it is stored.
#[derive(Debug, Clone)]
pub struct DirectQuestion {
    pub channel: ChannelKind,
    /// The client's id of this message: a retried request carries the same one.
    pub external_id: String,
    /// The client's conversation.
    pub conversation_id: String,
    pub text: String,
}

/// A stored question its channel answers in the request (see [`Dispatcher::accept`]).
pub struct StoredQuestion {
    dispatcher: Dispatcher,
    message: StoredMessage,
}

impl StoredQuestion {
    pub fn conversation_id(&self) -> &str {
        &self.message.conversation_id
    }

    /// Answers the question and stores the reply, within `timeout`, then records how the message
    /// ended: `answered`, or `failed` with why. `None` when there is no reply to show (the reply
    /// could not be stored, or took too long); a reply that is an apology is still shown.
    pub async fn answer(self, timeout: Duration) -> Option<Reply> {
        let StoredQuestion {
            dispatcher,
            message,
        } = self;
        let handled = caught(dispatcher.handle(&message));
        let (reply, status, error) = match tokio::time::timeout(timeout, handled).await {
            Ok(Err(panic)) => {
                dispatcher.flag_panic(message.id, &panic).await;
                (None, MessageStatus::Failed, Some(panic))
            }
            Ok(Ok(Ok(handled))) => match handled.failure {
                None => (Some(handled.reply), MessageStatus::Answered, None),
                Some(failure) => (Some(handled.reply), MessageStatus::Failed, Some(failure)),
            },
            Ok(Ok(Err(error))) => {
                tracing::error!(message = message.id, %error, "cannot store a direct reply");
                (
                    None,
                    MessageStatus::Failed,
                    Some(format!("database: {error}")),
                )
            }
            Err(_) => (
                None,
                MessageStatus::Failed,
                Some(format!("no answer within {} s", timeout.as_secs())),
            ),
        };
        dispatcher.finish(message.id, status, error).await;
        reply
    }
}

#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    ready: Ready,
    senders: HashMap<ChannelKind, Arc<dyn ChannelSender>>,
    messages_per_minute: u32,
    claim_lease: Duration,
    queues: Vec<mpsc::UnboundedSender<Job>>,
    send_attempts: u32,
    retry_base: Duration,
    send_timeout: Duration,
    /// The platform around the chatbot, when `serve` attached it.
    hook: std::sync::OnceLock<Arc<dyn ConversationHook>>,
}

impl Dispatcher {
    /// Starts the workers (call inside a Tokio runtime). `ready` is set when start-up has loaded
    /// the index; until then workers wait, and messages stay queued.
    pub fn start(
        db: Db,
        ready: Ready,
        senders: Vec<Arc<dyn ChannelSender>>,
        config: &ChannelsConfig,
    ) -> Dispatcher {
        let mut queues = Vec::new();
        let mut receivers = Vec::new();
        for _ in 0..config.workers.max(1) {
            // Unbounded: the queue holds only row ids of messages already stored, and the
            // database, not this queue, is the record of what is owed an answer.
            let (tx, rx) = mpsc::unbounded_channel();
            queues.push(tx);
            receivers.push(rx);
        }
        let dispatcher = Dispatcher {
            inner: Arc::new(Inner {
                db,
                ready,
                senders: senders.into_iter().map(|s| (s.kind(), s)).collect(),
                messages_per_minute: config.user_messages_per_minute,
                claim_lease: Duration::from_secs(config.claim_lease_secs.max(1)),
                queues,
                send_attempts: config.send_attempts.max(1),
                retry_base: Duration::from_millis(config.retry_base_ms),
                send_timeout: Duration::from_secs(config.send_timeout_secs.max(1)),
                hook: std::sync::OnceLock::new(),
            }),
        };
        dispatcher.spawn_sweeper();
        for mut rx in receivers {
            let worker = dispatcher.clone();
            tokio::spawn(async move {
                while let Some(job) = rx.recv().await {
                    worker.run(job).await;
                }
            });
        }
        dispatcher
    }

    pub fn sender(&self, kind: ChannelKind) -> Option<&Arc<dyn ChannelSender>> {
        self.inner.senders.get(&kind)
    }

    /// The platform's senders, for its outbox.
    pub fn senders(&self) -> Vec<Arc<dyn ChannelSender>> {
        self.inner.senders.values().cloned().collect()
    }

    /// Lets the platform around the chatbot take part in conversations (once; later calls are
    /// ignored).
    pub fn set_hook(&self, hook: Arc<dyn ConversationHook>) {
        let _ = self.inner.hook.set(hook);
    }

    /// Whether the platform takes part in conversations.
    pub fn has_hook(&self) -> bool {
        self.inner.hook.get().is_some()
    }

    /// Stores a delivery and queues it for an answer. Returns once the row is committed, so the
    /// caller may acknowledge the webhook.
    pub async fn submit(&self, inbound: Inbound) -> Result<Submitted, DbError> {
        let conversation_id = inbound.conversation_id();
        let row = self.inner.db.insert_message(new_message(&inbound)).await?;
        let Some(id) = row else {
            tracing::debug!(
                channel = inbound.channel.as_str(),
                "duplicate delivery ignored"
            );
            return Ok(Submitted::Duplicate);
        };
        self.enqueue(Job::Message(id), &conversation_id);
        Ok(Submitted::Accepted(id))
    }

    /// Stores a question of a channel that answers in the request itself (the web widget), to be
    /// answered at once by [`StoredQuestion::answer`]. `None` for a repeated delivery.
    pub async fn accept(
        &self,
        question: DirectQuestion,
    ) -> Result<Option<StoredQuestion>, DbError> {
        let DirectQuestion {
            channel,
            external_id,
            conversation_id,
            text,
        } = question;
        let row = NewMessage {
            channel,
            external_id: external_id.clone(),
            conversation_id: conversation_id.clone(),
            // No user id on these channels: the conversation stands for the visitor
            // (pseudonymous), and replies go back in the request.
            user_id: conversation_id.clone(),
            chat_id: conversation_id.clone(),
            kind: MessageKind::Text,
            text: text.clone(),
            received_at: now_text(),
        };
        let Some(id) = self.inner.db.insert_message(row).await? else {
            return Ok(None);
        };
        tracing::debug!(
            message = id,
            channel = channel.as_str(),
            chars = text.chars().count(),
            "direct message"
        );
        Ok(Some(StoredQuestion {
            dispatcher: self.clone(),
            message: StoredMessage {
                id,
                channel,
                external_id,
                conversation_id: conversation_id.clone(),
                user_id: conversation_id.clone(),
                chat_id: conversation_id,
                kind: MessageKind::Text,
                text,
                status: MessageStatus::Received,
            },
        }))
    }

    /// Records a citizen's rating of the answer with this public id, given on `channel`; 👎,
    /// "báo lỗi" and "gặp cán bộ" put the answer in the staff queue. An answer of another channel
    /// is unknown here: it is rated only where it was given.
    pub async fn feedback(
        &self,
        channel: ChannelKind,
        answer_public_id: String,
        rating: Rating,
        comment: Option<String>,
    ) -> Result<FeedbackOutcome, DbError> {
        let db = &self.inner.db;
        match db.answer_by_public_id(answer_public_id.clone()).await? {
            Some(answer) if answer.channel == channel => {
                db.insert_feedback(answer_public_id, rating, comment).await
            }
            _ => Ok(FeedbackOutcome::UnknownAnswer),
        }
    }

    /// Records an end-of-conversation rating (1..=5, checked by the caller): one per
    /// conversation, which must be one of `channel`'s.
    pub async fn satisfaction(
        &self,
        conversation_id: String,
        channel: ChannelKind,
        score: u8,
    ) -> Result<SatisfactionOutcome, DbError> {
        let db = &self.inner.db;
        let (exists, already_rated) = db
            .conversation_state(conversation_id.clone(), channel)
            .await?;
        if !exists {
            return Ok(SatisfactionOutcome::UnknownConversation);
        }
        // A second rating (another tab, a double tap) is acknowledged but not counted twice.
        if already_rated {
            return Ok(SatisfactionOutcome::AlreadyRecorded);
        }
        db.insert_satisfaction(conversation_id, channel, score)
            .await?;
        Ok(SatisfactionOutcome::Recorded)
    }

    /// The latest exchanges of a web widget conversation (`GET /v1/chat/history`), oldest first.
    pub async fn web_conversation(
        &self,
        conversation_id: String,
        max_exchanges: usize,
    ) -> Result<Vec<crate::db::WebExchange>, DbError> {
        self.inner
            .db
            .web_conversation(conversation_id, max_exchanges)
            .await
    }

    /// Queues again the messages a previous process stored but did not finish (unclaimed, or
    /// claimed by a worker whose lease ran out).
    pub async fn requeue_pending(&self) -> Result<usize, DbError> {
        self.requeue_orphans(Duration::ZERO).await
    }

    async fn requeue_orphans(&self, unclaimed_older_than: Duration) -> Result<usize, DbError> {
        let db = &self.inner.db;
        let orphans = db.orphaned_messages(unclaimed_older_than).await?;
        for message in &orphans {
            self.enqueue(Job::Message(message.id), &message.conversation_id);
        }
        let reviews = db.orphaned_review_deliveries(unclaimed_older_than).await?;
        for (review, conversation_id) in &reviews {
            self.enqueue(Job::Review(*review), conversation_id);
        }
        if !orphans.is_empty() || !reviews.is_empty() {
            tracing::info!(
                messages = orphans.len(),
                reviews = reviews.len(),
                "unanswered messages and undelivered reviews queued again"
            );
        }
        Ok(orphans.len() + reviews.len())
    }

    /// Sends a reviewed answer, committed with its delivery pending, through the channel the
    /// citizen used: on the conversation's worker, after what it already owes them.
    pub fn deliver_review(&self, review_id: i64, conversation_id: &str) {
        self.enqueue(Job::Review(review_id), conversation_id);
    }

    /// Every half lease, takes over messages whose worker died (on any replica), and messages
    /// stored but never queued.
    fn spawn_sweeper(&self) {
        let dispatcher = self.clone();
        let lease = self.inner.claim_lease;
        tokio::spawn(async move {
            let mut every = tokio::time::interval((lease / 2).max(Duration::from_secs(1)));
            every.tick().await;
            loop {
                every.tick().await;
                if let Err(error) = dispatcher.requeue_orphans(lease).await {
                    tracing::error!(%error, "cannot look for unanswered messages");
                }
            }
        });
    }

    fn enqueue(&self, job: Job, conversation_id: &str) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        conversation_id.hash(&mut hasher);
        let worker = (hasher.finish() % self.inner.queues.len() as u64) as usize;
        // Send fails only when the worker is gone (shutdown); the row stays `received` and is
        // queued again at the next start.
        if self.inner.queues[worker].send(job).is_err() {
            tracing::warn!(?job, "dispatcher stopped; left for the next start");
        }
    }

    /// Does one job. A panic in it (a bug with one message) is caught: the message is marked
    /// failed and flagged for staff, and the worker goes on with the next job.
    async fn run(&self, job: Job) {
        let done = match job {
            Job::Message(id) => caught(self.process(id)).await,
            Job::Review(id) => caught(self.process_review(id)).await,
        };
        let Err(panic) = done else {
            return;
        };
        tracing::error!(?job, panic = %panic, "handling failed with a panic");
        match job {
            Job::Message(id) => {
                // Flagged before it is marked failed: whoever sees it failed (staff, a test)
                // finds the flag too, and a crash in between leaves the message unfinished, to
                // be handled again at the next start, rather than failed and never flagged.
                let flagged = self.flag_panic(id, &panic).await;
                self.finish(id, MessageStatus::Failed, Some(panic.clone()))
                    .await;
                // The citizen is told that a person will look at it (itself guarded: the panic
                // may have come from this channel's sending).
                let Some((message, answer)) = flagged else {
                    return;
                };
                if let Some(sender) = self.inner.senders.get(&message.channel).cloned() {
                    let apology = Reply::Notice(notices::FAILURE.into());
                    let _ = caught(self.deliver(&sender, &message, answer, &apology)).await;
                }
            }
            Job::Review(id) => {
                let error = Some(panic);
                if let Err(error) = self
                    .inner
                    .db
                    .set_review_delivery(id, ReviewDelivery::Failed, error)
                    .await
                {
                    tracing::error!(review = id, %error, "cannot record a review's delivery");
                }
            }
        }
    }

    /// Puts a message whose handling panicked in the staff queue: its reply (an apology stored
    /// for it when there is none) flagged `handling_failed`. Returns the message and that reply's
    /// row.
    async fn flag_panic(&self, message_id: i64, panic: &str) -> Option<(StoredMessage, i64)> {
        let db = &self.inner.db;
        let flagged = async {
            let message = db
                .message(message_id)
                .await?
                .ok_or_else(|| DbError::Decode(format!("message {message_id} is gone")))?;
            let answer = match db.answer_of_message(message_id).await? {
                Some(answer) => answer,
                None => {
                    let apology = notice_row(
                        message_id,
                        message.conversation_id.clone(),
                        notices::FAILURE,
                    );
                    db.insert_answer(apology).await?.0
                }
            };
            let flag = Flag::new(FlagReason::HandlingFailed, Some(panic.to_owned()));
            db.flag_answer(answer, flag).await?;
            Ok::<_, DbError>((message, answer))
        };
        match flagged.await {
            Ok(flagged) => Some(flagged),
            Err(error) => {
                tracing::error!(message = message_id, %error, "cannot flag a failed message");
                None
            }
        }
    }

    /// Sends a reviewed answer (claimed first, so one worker on one replica sends it) and records
    /// how that ended.
    async fn process_review(&self, id: i64) {
        let db = &self.inner.db;
        let review = match db.claim_review_delivery(id, self.inner.claim_lease).await {
            Ok(Some(review)) => review,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(review = id, %error, "cannot claim a review's delivery");
                return;
            }
        };
        let (status, error) = match self.inner.senders.get(&review.message.channel).cloned() {
            None => (
                ReviewDelivery::Failed,
                Some(format!(
                    "kênh {} chưa được cấu hình",
                    review.message.channel
                )),
            ),
            Some(sender) => {
                let references: Vec<&str> = review
                    .citations
                    .iter()
                    .map(|c| c.reference.as_str())
                    .collect();
                let text = notices::reviewed_answer(&review.received_at, &review.text, &references);
                let reply = Reply::Notice(text);
                match self
                    .deliver(&sender, &review.message, review.answer_id, &reply)
                    .await
                {
                    Ok(()) => (ReviewDelivery::Sent, None),
                    Err(error) => (ReviewDelivery::Failed, Some(error)),
                }
            }
        };
        tracing::info!(
            review = id,
            status = status.as_str(),
            "reviewed answer delivery"
        );
        if let Err(error) = db.set_review_delivery(id, status, error).await {
            tracing::error!(review = id, %error, "cannot record a review's delivery");
        }
    }

    /// Answers, delivers and records one stored message.
    async fn process(&self, id: i64) {
        // The claim makes this worker the only one (on any replica) answering the message.
        match self
            .inner
            .db
            .claim_message(id, self.inner.claim_lease)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::error!(message = id, %error, "cannot claim a queued message");
                return;
            }
        }
        let message = match self.inner.db.message(id).await {
            Ok(Some(message)) if message.status == MessageStatus::Received => message,
            Ok(_) => return,
            Err(error) => {
                tracing::error!(message = id, %error, "cannot load a queued message");
                return;
            }
        };
        if message.channel.answers_in_request() {
            // Web questions are answered inside their request; one found here lost its request.
            self.finish(
                id,
                MessageStatus::Failed,
                Some(format!(
                    "the {} request ended before the answer",
                    message.channel
                )),
            )
            .await;
            return;
        }
        let Some(sender) = self.inner.senders.get(&message.channel).cloned() else {
            self.finish(
                id,
                MessageStatus::Failed,
                Some("channel not configured".into()),
            )
            .await;
            return;
        };
        if message.kind == MessageKind::Text {
            match self.rate_limit(id).await {
                Decision::Allow => {}
                Decision::LimitedSilent => {
                    self.finish(id, MessageStatus::RateLimited, None).await;
                    return;
                }
                Decision::LimitedNotify => {
                    let reply = Reply::Notice(notices::SLOW_DOWN.into());
                    let delivered = self.store_and_deliver(&sender, &message, reply).await;
                    self.finish(id, MessageStatus::RateLimited, delivered.err())
                        .await;
                    return;
                }
            }
            sender.typing(&message.chat_id).await;
        }
        let handled = match self.handle(&message).await {
            Ok(handled) => handled,
            Err(error) => {
                tracing::error!(message = id, %error, "cannot store the reply");
                self.finish(
                    id,
                    MessageStatus::Failed,
                    Some(format!("database: {error}")),
                )
                .await;
                return;
            }
        };
        if matches!(handled.reply, Reply::Held) {
            // Staff hold the conversation: the message waits for them in the console.
            self.finish(id, MessageStatus::WithStaff, None).await;
            return;
        }
        let delivered = self
            .deliver(&sender, &message, handled.answer_row, &handled.reply)
            .await;
        let error = match (handled.failure, delivered) {
            (None, Ok(())) => None,
            (Some(failure), Ok(())) => Some(failure),
            (None, Err(delivery)) => Some(delivery),
            (Some(failure), Err(delivery)) => Some(format!("{failure}; {delivery}")),
        };
        let status = if error.is_none() {
            MessageStatus::Answered
        } else {
            MessageStatus::Failed
        };
        self.finish(id, status, error).await;
    }

    /// The per-user rate limit, counted in the database so it holds across replicas: up to the
    /// limit in the last minute pass, the first message over it gets a notice, later ones nothing.
    async fn rate_limit(&self, id: i64) -> Decision {
        let limit = i64::from(self.inner.messages_per_minute);
        match self
            .inner
            .db
            .recent_message_count(id, Duration::from_secs(60))
            .await
        {
            Ok(count) if count <= limit => Decision::Allow,
            Ok(count) if count == limit + 1 => Decision::LimitedNotify,
            Ok(_) => Decision::LimitedSilent,
            Err(error) => {
                // Answering too much beats dropping a citizen's question.
                tracing::error!(message = id, %error, "rate limit unavailable; allowing");
                Decision::Allow
            }
        }
    }

    async fn store_and_deliver(
        &self,
        sender: &Arc<dyn ChannelSender>,
        message: &StoredMessage,
        reply: Reply,
    ) -> Result<(), String> {
        let answer_row = self
            .store_reply(message, &reply)
            .await
            .map_err(|e| format!("database: {e}"))?
            .0;
        self.deliver(sender, message, answer_row, &reply).await
    }

    /// Records how a message ended (`answered`, `failed`, `rate_limited`, `ignored`).
    async fn finish(&self, id: i64, status: MessageStatus, error: Option<String>) {
        let status_name = status.as_str();
        if let Some(error) = &error {
            tracing::warn!(message = id, status = status_name, error = %error, "message not answered as intended");
        } else {
            tracing::info!(message = id, status = status_name, "message handled");
        }
        if let Err(db_error) = self.inner.db.set_message_status(id, status, error).await {
            tracing::error!(message = id, error = %db_error, "cannot record a message's outcome");
        }
    }

    /// Builds and stores the reply to a stored message: asks the assistant for text, a fixed notice
    /// otherwise.
    async fn handle(&self, message: &StoredMessage) -> Result<Handled, DbError> {
        let kind = InboundKind::from_stored(message.kind, &message.text);
        if matches!(kind, InboundKind::Text(_)) {
            // Start-up attaches the platform's hook before the assistant is ready: a message
            // queued again at start is not answered without it.
            self.inner.ready.wait().await;
        }
        let hook = self.inner.hook.get();
        let (reply, failure) = match kind {
            InboundKind::Text(text) => match self.before_assistant(message, &text).await {
                Some(reply) => (reply, None),
                None => {
                    let (reply, failure) = self
                        .ask(text.clone(), message.conversation_id.clone())
                        .await;
                    match hook {
                        Some(hook) => (hook.after(message, &text, reply).await, failure),
                        None => (reply, failure),
                    }
                }
            },
            InboundKind::Follow => (
                hook.and_then(|hook| hook.greeting(message.channel))
                    .unwrap_or_else(|| Reply::Notice(notices::GREETING.into())),
                None,
            ),
            InboundKind::Help => (Reply::Notice(notices::HELP.into()), None),
            InboundKind::Unsupported(_) => (Reply::Notice(notices::TEXT_ONLY.into()), None),
        };
        if matches!(reply, Reply::Held) {
            return Ok(Handled {
                reply,
                answer_row: 0,
                failure,
            });
        }
        let (answer_row, public_id) = self.store_reply(message, &reply).await?;
        let reply = match reply {
            Reply::Answer { answer, .. } => Reply::Answer {
                answer,
                answer_id: public_id,
            },
            notice => notice,
        };
        Ok(Handled {
            reply,
            answer_row,
            failure,
        })
    }

    /// What answers a text before the assistant: the platform's hook (a command, a flow step, a
    /// conversation staff hold), then typed feedback.
    async fn before_assistant(&self, message: &StoredMessage, text: &str) -> Option<Reply> {
        if let Some(hook) = self.inner.hook.get() {
            if let Some(reply) = hook.before(message, text).await {
                return Some(reply);
            }
        }
        self.typed_feedback(message, text).await
    }

    /// Feedback typed as a message ("👍", "không hài lòng", "gặp cán bộ"), for channels without
    /// buttons (Zalo): recorded against the conversation's latest answer, which a 👎 or a request
    /// for a person puts in the staff queue. `None` when the text is not feedback, or there is no
    /// answer yet to rate (then it is asked as a question).
    async fn typed_feedback(&self, message: &StoredMessage, text: &str) -> Option<Reply> {
        let rating = typed_rating(text)?;
        let answer = match self
            .inner
            .db
            .latest_answer_id(message.conversation_id.clone(), message.id)
            .await
        {
            Ok(Some(answer)) => answer,
            Ok(None) => return None,
            Err(error) => {
                tracing::error!(message = message.id, %error, "cannot find the answer feedback is about");
                return None;
            }
        };
        if let Err(error) = self.inner.db.insert_feedback(answer, rating, None).await {
            tracing::error!(message = message.id, %error, "cannot record typed feedback");
            return None;
        }
        let thanks = match rating {
            Rating::Human => notices::HUMAN_REQUESTED,
            _ => notices::FEEDBACK_THANKS,
        };
        Some(Reply::Notice(thanks.into()))
    }

    async fn ask(&self, text: String, conversation_id: String) -> (Reply, Option<String>) {
        let assistant: Arc<Assistant> = self.inner.ready.wait().await;
        match assistant.ask(text, Some(conversation_id)).await {
            Ok(answer) => (
                Reply::Answer {
                    answer,
                    answer_id: String::new(),
                },
                None,
            ),
            Err(AskError::EmptyQuestion) => (Reply::Notice(notices::EMPTY.into()), None),
            Err(AskError::QuestionTooLong { .. }) => {
                (Reply::Notice(notices::TOO_LONG.into()), None)
            }
            Err(AskError::UnusableCharacters) => {
                (Reply::Notice(notices::INVALID_TEXT.into()), None)
            }
            Err(error) => {
                tracing::error!(%error, "ask failed");
                (
                    Reply::Notice(notices::FAILURE.into()),
                    Some(format!("ask: {error}")),
                )
            }
        }
    }

    async fn store_reply(
        &self,
        message: &StoredMessage,
        reply: &Reply,
    ) -> Result<(i64, String), DbError> {
        let (row, topic, flags) = match reply {
            Reply::Answer { answer, .. } => (
                answer_row(message.id, &message.conversation_id, answer),
                answer.topic(),
                answer.flags.clone(),
            ),
            // A fixed notice or a flow's prompt (a held conversation stores nothing: see `handle`).
            other => (
                notice_row(
                    message.id,
                    message.conversation_id.clone(),
                    other.plain_text(),
                ),
                None,
                Vec::new(),
            ),
        };
        self.inner.db.insert_answer_flagged(row, topic, flags).await
    }

    /// Sends every part of a reply, each with retries; records each part's outcome. Stops at the
    /// first part that cannot be sent (later parts would read wrongly without it), and flags it.
    async fn deliver(
        &self,
        sender: &Arc<dyn ChannelSender>,
        message: &StoredMessage,
        answer_row: i64,
        reply: &Reply,
    ) -> Result<(), String> {
        let parts = sender.render(reply);
        let total = parts.len();
        for (index, part) in parts.iter().enumerate() {
            let (result, attempts) = self.send_with_retries(sender, &message.chat_id, part).await;
            let (status, error) = match &result {
                Ok(()) => (DeliveryStatus::Sent, None),
                Err(SendError::OutsideWindow { reason }) => {
                    (DeliveryStatus::OutsideWindow, Some(reason.clone()))
                }
                Err(other) => (DeliveryStatus::Failed, Some(other.reason().to_owned())),
            };
            crate::metrics::delivery(sender.kind().as_str(), status.as_str());
            let record = NewDelivery {
                message_id: message.id,
                answer_id: Some(answer_row),
                part: index + 1,
                parts: total,
                status,
                attempts,
                error: error.clone(),
            };
            if let Err(db_error) = self.inner.db.insert_delivery(record).await {
                tracing::error!(message = message.id, error = %db_error, "cannot record a delivery");
            }
            if let Some(error) = error {
                let error = format!("delivery of part {}/{total} {status}: {error}", index + 1);
                // Staff see what did not reach the citizen, and can reach them another way.
                let flag = Flag::new(FlagReason::DeliveryFailed, Some(error.clone()));
                if let Err(db_error) = self.inner.db.flag_answer(answer_row, flag).await {
                    tracing::error!(message = message.id, error = %db_error, "cannot flag a failed delivery");
                }
                return Err(error);
            }
        }
        Ok(())
    }

    async fn send_with_retries(
        &self,
        sender: &Arc<dyn ChannelSender>,
        chat_id: &str,
        part: &OutPart,
    ) -> (Result<(), SendError>, u32) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result =
                match tokio::time::timeout(self.inner.send_timeout, sender.send(chat_id, part))
                    .await
                {
                    Ok(result) => result,
                    Err(_) => Err(SendError::Retryable {
                        reason: format!(
                            "no response within {} s",
                            self.inner.send_timeout.as_secs()
                        ),
                        retry_after: None,
                    }),
                };
            match result {
                Err(SendError::Retryable {
                    reason,
                    retry_after,
                }) if attempt < self.inner.send_attempts => {
                    let backoff = self.inner.retry_base * 2u32.saturating_pow(attempt - 1);
                    let wait = retry_after.unwrap_or(backoff).min(MAX_RETRY_WAIT);
                    tracing::debug!(attempt, ?wait, reason = %reason, "retrying a delivery");
                    crate::metrics::delivery(sender.kind().as_str(), "retried");
                    tokio::time::sleep(wait).await;
                }
                other => return (other, attempt),
            }
        }
    }
}

/// `POST /v1/ask` records its exchanges as the channels do: the question as a message of the
/// `api` channel (its conversation standing for the client, like the web's), the answer with its
/// topic and flags, in one transaction.
impl AnswerLog for Dispatcher {
    fn record<'a>(&'a self, question: &'a str, answer: &'a Answer) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let conversation_id = answer.conversation_id.clone();
            let message = NewMessage {
                channel: ChannelKind::Api,
                external_id: uuid::Uuid::new_v4().hyphenated().to_string(),
                conversation_id: conversation_id.clone(),
                user_id: conversation_id.clone(),
                chat_id: conversation_id.clone(),
                kind: MessageKind::Text,
                text: question.to_owned(),
                received_at: now_text(),
            };
            let row = answer_row(0, &conversation_id, answer);
            let recorded = self
                .inner
                .db
                .record_exchange(message, row, answer.topic(), answer.flags.clone())
                .await;
            if let Err(error) = recorded {
                tracing::error!(%error, "cannot record an API answer");
            }
        })
    }
}

/// The rating a message is, when it is nothing but feedback: a thumbs emoji (any skin tone), or one
/// of a few set phrases, with or without diacritics and trailing "ạ" or punctuation.
pub fn typed_rating(text: &str) -> Option<Rating> {
    let trimmed = text.trim();
    let is_only = |thumb: char| {
        trimmed.contains(thumb)
            && trimmed.chars().all(|c| {
                c == thumb
                    || c == '\u{fe0f}'
                    || ('\u{1f3fb}'..='\u{1f3ff}').contains(&c)
                    || c.is_whitespace()
            })
    };
    if is_only('👍') {
        return Some(Rating::Up);
    }
    if is_only('👎') {
        return Some(Rating::Down);
    }
    let folded = crate::text::strip_diacritics(&crate::text::fold_case(trimmed));
    let phrase = folded
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .trim_end_matches(" a")
        .trim();
    match phrase {
        "hai long" | "huu ich" | "cam on, hai long" => Some(Rating::Up),
        "khong hai long" | "chua hai long" | "khong huu ich" | "sai roi" => Some(Rating::Down),
        "bao loi" | "tra loi sai" => Some(Rating::Report),
        "gap can bo" | "can gap can bo" | "muon gap can bo" | "cho gap can bo" => {
            Some(Rating::Human)
        }
        _ => None,
    }
}

/// The stored form of an answer: its text, and its citations.
fn answer_row(message_id: i64, conversation_id: &str, answer: &Answer) -> NewAnswer {
    NewAnswer {
        message_id,
        conversation_id: conversation_id.to_owned(),
        status: answer.outcome.status(),
        decline_reason: answer.outcome.decline_reason(),
        text: answer.text.clone(),
        citations: answer
            .quotes
            .iter()
            .map(|quote| StoredCitation {
                article_id: quote.citation.article_id.clone(),
                reference: quote.citation.reference.clone(),
                validity: quote.citation.validity_label.clone(),
            })
            .collect(),
        confidence: answer.confidence,
        needs_review: answer.needs_review,
        follows: answer.follows.clone(),
    }
}

/// The stored form of a fixed notice replying to a message.
fn notice_row(message_id: i64, conversation_id: String, text: &str) -> NewAnswer {
    NewAnswer {
        message_id,
        conversation_id,
        status: AnswerStatus::Notice,
        decline_reason: None,
        text: text.to_owned(),
        citations: Vec::new(),
        confidence: 0.0,
        needs_review: false,
        follows: None,
    }
}

/// Runs `work`, turning a panic in it into `Err` with the panic's message.
async fn caught<T>(work: impl std::future::Future<Output = T>) -> Result<T, String> {
    std::panic::AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .map_err(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_owned());
            format!("panic: {message}")
        })
}

/// The row of a delivery, before it is stored.
fn new_message(inbound: &Inbound) -> NewMessage {
    NewMessage {
        channel: inbound.channel,
        external_id: inbound.external_id.clone(),
        conversation_id: inbound.conversation_id(),
        user_id: inbound.user_id.clone(),
        chat_id: inbound.chat_id.clone(),
        kind: inbound.kind.kind(),
        text: inbound.kind.text().to_owned(),
        received_at: now_text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_feedback_is_recognised_and_questions_are_not() {
        assert_eq!(typed_rating("👍"), Some(Rating::Up));
        assert_eq!(typed_rating(" 👍🏻👍 "), Some(Rating::Up));
        assert_eq!(typed_rating("👎"), Some(Rating::Down));
        assert_eq!(typed_rating("Không hài lòng ạ"), Some(Rating::Down));
        assert_eq!(typed_rating("hai long!"), Some(Rating::Up));
        assert_eq!(typed_rating("Gặp cán bộ"), Some(Rating::Human));
        assert_eq!(typed_rating("gap can bo a"), Some(Rating::Human));
        assert_eq!(typed_rating("Báo lỗi."), Some(Rating::Report));
        assert_eq!(typed_rating("👍 cảm ơn, vậy nộp hồ sơ ở đâu?"), None);
        assert_eq!(
            typed_rating("Tôi muốn gặp cán bộ tư pháp xã để hỏi thủ tục"),
            None
        );
        assert_eq!(typed_rating("Thủ tục ly hôn?"), None);
    }
}
