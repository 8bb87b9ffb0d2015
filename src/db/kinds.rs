//! The values the database stores as text, typed: channels, message kinds and statuses, staff
//! roles, review decisions, delivery outcomes, and the citations stored as JSON. Each converts to
//! its stored name at the boundary ([`Value`]) and back ([`FromValue`]), so the rest of the code
//! compares enums, never strings.

use serde::{Deserialize, Serialize};

use super::channel_log::Rating;
use super::sql::{FromValue, Value};
use crate::answer::review::{AnswerStatus, FlagReason};
use crate::named::named_enum;

named_enum! {
    /// Where a message came from (and where its reply goes).
    pub enum ChannelKind {
        ZaloOa => "zalo_oa",
        ZaloBot => "zalo_bot",
        Telegram => "telegram",
        /// The web widget (`POST /v1/chat`).
        Web => "web",
        /// `POST /v1/ask`.
        Api => "api",
    }
}

impl ChannelKind {
    /// Whether `id` is a conversation id of this channel. Conversation ids are namespaced by
    /// channel: every channel's ids but the API's start with its name and a dash ("telegram-…",
    /// "web-…"), and the API, whose clients may choose their own ids, owns every id outside those
    /// namespaces. So an id chosen on one channel can never name a conversation of another: a
    /// Telegram user's id, which anyone knowing their user id can compute, is refused by the API
    /// and the widget.
    pub fn owns_conversation(self, id: &str) -> bool {
        let in_namespace = |kind: ChannelKind| {
            id.strip_prefix(kind.as_str())
                .is_some_and(|rest| rest.starts_with('-'))
        };
        match self {
            ChannelKind::Api => !ChannelKind::ALL
                .iter()
                .any(|&kind| kind != ChannelKind::Api && in_namespace(kind)),
            kind => in_namespace(kind),
        }
    }

    /// Channels that answer inside the request (the web widget, the API): nothing can be sent to
    /// the citizen after it ended.
    pub fn answers_in_request(self) -> bool {
        matches!(self, ChannelKind::Web | ChannelKind::Api)
    }
}

named_enum! {
    /// What a citizen sent, without its text.
    pub enum MessageKind {
        /// A question or a follow-up.
        Text => "text",
        /// Followed the OA, started the bot.
        Follow => "follow",
        Help => "help",
        /// An image, sticker, voice message…
        Unsupported => "unsupported",
    }
}

named_enum! {
    /// Where a stored message is in its life: every message ends in one of the others.
    pub enum MessageStatus {
        Received => "received",
        Answered => "answered",
        /// With why, in the message's `error`.
        Failed => "failed",
        RateLimited => "rate_limited",
        Ignored => "ignored",
        /// Staff hold the conversation (a live takeover): shown to them, not answered by the bot.
        WithStaff => "with_staff",
    }
}

named_enum! {
    /// A staff account's role.
    pub enum Role {
        Reviewer => "reviewer",
        /// May also see unmasked text and manage the corpus.
        Admin => "admin",
    }
}

named_enum! {
    /// A staff decision on a flagged answer.
    pub enum Decision {
        /// Approved as it was.
        Approved => "approved",
        /// Corrected by staff.
        Edited => "edited",
        Rejected => "rejected",
    }
}

named_enum! {
    /// How sending one part of a reply ended.
    pub enum DeliveryStatus {
        Sent => "sent",
        Failed => "failed",
        /// The platform no longer lets us message this user (Zalo's consultation window).
        OutsideWindow => "outside_window",
    }
}

named_enum! {
    /// How sending a reviewed answer to the citizen ended.
    pub enum ReviewDelivery {
        /// Committed with the review, waiting for a channel worker to send it.
        Pending => "pending",
        Sent => "sent",
        Failed => "failed",
        /// The channel cannot reach the citizen any more (the web, the API).
        NotApplicable => "not_applicable",
    }
}

/// A citation as stored with an answer, a review or a curated answer: one element of the JSON
/// array in their `citations` column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCitation {
    pub article_id: String,
    /// "Khoản 1 Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13".
    #[serde(default)]
    pub reference: String,
    /// The validity label when the citation was stored ("Còn hiệu lực").
    #[serde(default)]
    pub validity: String,
}

/// Stored names cross the boundary as text (also used by `platform_kinds.rs`).
macro_rules! stored_as_name {
    ($($name:ty),+) => {$(
        impl From<$name> for Value {
            fn from(value: $name) -> Value {
                Value::Text(value.as_str().to_owned())
            }
        }

        impl FromValue for $name {
            fn from_value(value: &Value) -> Option<$name> {
                match value {
                    Value::Text(text) => <$name>::parse(text),
                    _ => None,
                }
            }
        }
    )+};
}
pub(super) use stored_as_name;

stored_as_name!(
    ChannelKind,
    MessageKind,
    MessageStatus,
    Role,
    Decision,
    DeliveryStatus,
    ReviewDelivery,
    Rating,
    AnswerStatus,
    FlagReason
);

impl From<&[StoredCitation]> for Value {
    fn from(citations: &[StoredCitation]) -> Value {
        // Plain structs of strings: serialising cannot fail.
        Value::Text(serde_json::to_string(citations).unwrap_or_else(|_| "[]".to_owned()))
    }
}

impl From<&Vec<StoredCitation>> for Value {
    fn from(citations: &Vec<StoredCitation>) -> Value {
        Value::from(citations.as_slice())
    }
}

impl From<Vec<StoredCitation>> for Value {
    fn from(citations: Vec<StoredCitation>) -> Value {
        Value::from(citations.as_slice())
    }
}

/// Read leniently: a column that is not a JSON array of citations reads as none, so one odd row
/// cannot hide a whole page.
impl FromValue for Vec<StoredCitation> {
    fn from_value(value: &Value) -> Option<Vec<StoredCitation>> {
        match value {
            Value::Text(text) => Some(serde_json::from_str(text).unwrap_or_default()),
            Value::Null => Some(Vec::new()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cross_the_boundary_and_back() {
        let value = Value::from(MessageStatus::RateLimited);
        assert_eq!(value, Value::Text("rate_limited".into()));
        assert_eq!(
            MessageStatus::from_value(&value),
            Some(MessageStatus::RateLimited)
        );
        assert_eq!(Role::from_value(&Value::Text("root".into())), None);
        assert_eq!(ChannelKind::parse("zalo_oa"), Some(ChannelKind::ZaloOa));
    }

    #[test]
    fn conversation_ids_belong_to_one_channel() {
        let telegram = "telegram-0123456789abcdef0123456789abcdef";
        assert!(ChannelKind::Telegram.owns_conversation(telegram));
        for other in [ChannelKind::Api, ChannelKind::Web, ChannelKind::ZaloOa] {
            assert!(!other.owns_conversation(telegram), "{other}");
        }
        assert!(ChannelKind::Web.owns_conversation("web-abc"));
        assert!(!ChannelKind::Web.owns_conversation("webabc"));
        assert!(!ChannelKind::Api.owns_conversation("web-abc"));
        assert!(!ChannelKind::Api.owns_conversation("zalo_bot-1"));
        assert!(ChannelKind::Api.owns_conversation("phien-42"));
        assert!(ChannelKind::Api.owns_conversation("api-1"));
        assert!(ChannelKind::Api.owns_conversation("telegram_1"));
        assert!(ChannelKind::Api.owns_conversation("3f2b6c1e-9a7d-4c35-b3a8-2d5f0e4c1a9b"));
    }

    #[test]
    fn citations_are_stored_as_before_and_read_leniently() {
        let citations = vec![StoredCitation {
            article_id: "52-2014-qh13.dieu-8".into(),
            reference: "Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13".into(),
            validity: "Còn hiệu lực".into(),
        }];
        let Value::Text(json) = Value::from(&citations) else {
            panic!("text expected");
        };
        // The same JSON the citations were written as before they were typed.
        let before = serde_json::json!([{
            "article_id": "52-2014-qh13.dieu-8",
            "reference": "Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13",
            "validity": "Còn hiệu lực",
        }]);
        assert_eq!(json, before.to_string());
        let read = Vec::<StoredCitation>::from_value(&Value::Text(json)).unwrap();
        assert_eq!(read, citations);
        let partial =
            Vec::<StoredCitation>::from_value(&Value::Text(r#"[{"article_id":"a"}]"#.into()))
                .unwrap();
        assert_eq!(partial[0].article_id, "a");
        assert!(
            Vec::<StoredCitation>::from_value(&Value::Text("không phải JSON".into()))
                .unwrap()
                .is_empty()
        );
    }
}
