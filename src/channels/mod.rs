//! Messaging channels: one conversation model, thin adapters per platform.
//!
//! An adapter turns a platform's webhook (or poll) into an [`Inbound`] and hands it to the
//! [`dispatch::Dispatcher`], which stores it (so it is never lost and duplicated deliveries are
//! no-ops), acknowledges, and answers it on a worker: `ask` → [`Reply`] → the adapter's
//! [`ChannelSender`] renders it into the parts the platform accepts and sends them, with retries.
//! The web widget answers in the request itself (SSE) but stores the same rows, through the
//! dispatcher's [`dispatch::Dispatcher::accept`].
//!
//! Curated answers and review flags are the core's ([`crate::answer::Assistant::ask`]): a channel
//! stores what the core decided, the same as `POST /v1/ask`.

pub mod dispatch;
pub mod hook;
pub mod notices;
pub mod outbox;
pub mod ratelimit;
pub mod setup;
pub mod setup_cli;
pub mod split;
pub mod telegram;
pub mod web;
pub mod web_history;
pub mod webhook;
pub mod zalo_bot;
pub mod zalo_oa;

use std::time::Duration;

use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

use crate::answer::Answer;

pub use crate::db::{ChannelKind, MessageKind};

/// What a citizen sent.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundKind {
    /// A text message: a question or a follow-up.
    Text(String),
    /// The user followed the OA / started the bot: greet and say what the bot can do.
    Follow,
    /// `/help` or the like.
    Help,
    /// An image, sticker, voice message… (`what` names it, for the log).
    Unsupported(String),
}

impl InboundKind {
    /// The kind as stored, without its text.
    pub fn kind(&self) -> MessageKind {
        match self {
            InboundKind::Text(_) => MessageKind::Text,
            InboundKind::Follow => MessageKind::Follow,
            InboundKind::Help => MessageKind::Help,
            InboundKind::Unsupported(_) => MessageKind::Unsupported,
        }
    }

    /// The stored name, for logs.
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    pub fn text(&self) -> &str {
        match self {
            InboundKind::Text(text) => text,
            InboundKind::Unsupported(what) => what,
            _ => "",
        }
    }

    /// Rebuilds the kind from its stored kind and text.
    pub fn from_stored(kind: MessageKind, text: &str) -> InboundKind {
        match kind {
            MessageKind::Text => InboundKind::Text(text.to_owned()),
            MessageKind::Follow => InboundKind::Follow,
            MessageKind::Help => InboundKind::Help,
            MessageKind::Unsupported => InboundKind::Unsupported(text.to_owned()),
        }
    }
}

/// One delivery from a platform.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub channel: ChannelKind,
    /// The platform's id of this delivery: repeated deliveries carry the same one.
    pub external_id: String,
    /// The platform's id of the user (pseudonymous).
    pub user_id: String,
    /// Where replies go (the user id on Zalo OA, the chat id on Telegram and Zalo Bot).
    pub chat_id: String,
    pub kind: InboundKind,
}

impl Inbound {
    /// The conversation this message belongs to: one per user and channel, named by a hash so the
    /// platform's user id does not travel into logs and caches.
    pub fn conversation_id(&self) -> String {
        conversation_id(self.channel, &self.user_id)
    }
}

pub fn conversation_id(channel: ChannelKind, user_id: &str) -> String {
    let digest = Sha256::digest(format!("{}\u{0}{user_id}", channel.as_str()).as_bytes());
    format!("{}-{}", channel.as_str(), &hex::encode(digest)[..32])
}

/// What the service says back, before a channel renders it.
// One lives per message being answered, so boxing the answer would save nothing worth the noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Reply {
    /// An answer (or a decline) to a question; `answer_id` is its public id for feedback buttons.
    Answer { answer: Answer, answer_id: String },
    /// A fixed message: greeting, help, "text only", "slow down", an error.
    Notice(String),
    /// A question of a flow (the platform's: handoff, survey, SME request, news) with the answers
    /// a citizen can tap where the platform has buttons (Telegram). The text itself says what to
    /// type, so channels without buttons lose nothing.
    Prompt { text: String, choices: Vec<Choice> },
    /// Nothing: staff hold the conversation (a live takeover) and answer it themselves.
    Held,
}

impl Reply {
    /// The reply as plain text (what Zalo shows).
    pub fn plain_text(&self) -> &str {
        match self {
            Reply::Answer { answer, .. } => &answer.text,
            Reply::Notice(text) | Reply::Prompt { text, .. } => text,
            Reply::Held => "",
        }
    }

    /// The buttons to show with the reply.
    pub fn choices(&self) -> &[Choice] {
        match self {
            Reply::Prompt { choices, .. } => choices,
            _ => &[],
        }
    }
}

/// A button: its label, and the text a tap sends as if the citizen had typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub label: String,
    pub text: String,
}

impl Choice {
    pub fn new(label: impl Into<String>, text: impl Into<String>) -> Choice {
        Choice {
            label: label.into(),
            text: text.into(),
        }
    }
}

/// One message as a platform will receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutPart {
    pub text: String,
    /// Attach feedback buttons for this answer (public id); set on the last part of an answer.
    pub feedback_for: Option<String>,
    /// Buttons of a prompt; set on the last part.
    pub choices: Vec<Choice>,
}

impl OutPart {
    /// A part with neither feedback buttons nor choices.
    pub fn plain(text: String) -> OutPart {
        OutPart {
            text,
            feedback_for: None,
            choices: Vec::new(),
        }
    }
}

/// Why a part could not be sent.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// Worth trying again (rate limit, server error, timeout); `retry_after` when the platform said.
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The platform no longer lets us message this user (Zalo's consultation window): recorded,
    /// not retried.
    OutsideWindow { reason: String },
    /// Anything else that retrying will not fix.
    Permanent { reason: String },
}

impl SendError {
    pub fn reason(&self) -> &str {
        match self {
            SendError::Retryable { reason, .. }
            | SendError::OutsideWindow { reason }
            | SendError::Permanent { reason } => reason,
        }
    }
}

/// The sending half of a platform adapter.
pub trait ChannelSender: Send + Sync {
    fn kind(&self) -> ChannelKind;

    /// Renders a reply into the parts this platform accepts (formatting, length limits).
    fn render(&self, reply: &Reply) -> Vec<OutPart>;

    /// Sends one part. Token refresh and similar platform rules are the adapter's business;
    /// retries with backoff are the dispatcher's.
    fn send<'a>(
        &'a self,
        chat_id: &'a str,
        part: &'a OutPart,
    ) -> BoxFuture<'a, Result<(), SendError>>;

    /// Shows "typing…" while the answer is prepared, where the platform has it. Best effort.
    fn typing<'a>(&'a self, _chat_id: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    // The length of a secret is not secret; contents are compared in constant time.
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_are_valid_and_per_channel() {
        let a = conversation_id(ChannelKind::ZaloOa, "2468458835296117922");
        let b = conversation_id(ChannelKind::Telegram, "2468458835296117922");
        assert_ne!(a, b);
        assert!(a.len() <= 64);
        assert!(a.starts_with("zalo_oa-"));
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert!(!a.contains("2468458835296117922"));
    }

    #[test]
    fn secrets_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
