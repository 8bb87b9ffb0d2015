//! What `ask` tells every channel about an answer besides its text: the status it reports and
//! stores, the field it belongs to, and why staff should look at it. Computed here, once, so the
//! HTTP API and the chat channels flag the same answers for the same reasons.

use super::{Answer, Outcome, NO_RELEVANT_TEXT};
use crate::named::named_enum;

named_enum! {
    /// What the service said back: an answer, a decline, or a fixed notice of a channel
    /// (greeting, help, "text only", an apology). Stored with every reply and sent on the wire.
    pub enum AnswerStatus {
        Answered => "answered",
        Declined => "declined",
        Notice => "notice",
    }
}

named_enum! {
    /// Why an answer is in the staff queue. `ask` raises `low_confidence`, `declined` and
    /// `sensitive_topic`; a citizen's feedback raises `thumbs_down`, `reported` and
    /// `human_requested`.
    pub enum FlagReason {
        /// Answered, but below `retrieval.review_below` (or quoting a text not in force).
        LowConfidence => "low_confidence",
        Declined => "declined",
        ThumbsDown => "thumbs_down",
        Reported => "reported",
        HumanRequested => "human_requested",
        /// A question on a topic of `prompts/sensitive.toml`, whatever the answer.
        SensitiveTopic => "sensitive_topic",
        /// A reply (or a reviewed answer) that could not be delivered: retries used up, or the
        /// platform's window closed.
        DeliveryFailed => "delivery_failed",
        /// Handling the message failed with a panic (a bug): nothing more was sent than an apology.
        HandlingFailed => "handling_failed",
    }
}

/// One reason for staff to look at an answer, with its detail (the decline category, the
/// confidence, the sensitive topic's label, a citizen's comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub reason: FlagReason,
    pub detail: Option<String>,
}

impl Flag {
    pub fn new(reason: FlagReason, detail: Option<String>) -> Flag {
        Flag { reason, detail }
    }
}

impl Outcome {
    /// `answered` or `declined`: what every adapter reports and stores.
    pub fn status(&self) -> AnswerStatus {
        match self {
            Outcome::Answered => AnswerStatus::Answered,
            Outcome::Declined { .. } => AnswerStatus::Declined,
        }
    }

    /// Why a question was declined: the out-of-scope category, `not_in_force_only`, or
    /// `no_relevant_text`; `None` when it was answered.
    pub fn decline_reason(&self) -> Option<String> {
        match self {
            Outcome::Answered => None,
            Outcome::Declined { category } => Some(
                category
                    .clone()
                    .unwrap_or_else(|| NO_RELEVANT_TEXT.to_owned()),
            ),
        }
    }
}

impl Answer {
    /// The field (lĩnh vực) of an answer, for statistics: the first cited document, or why it was
    /// declined.
    pub fn topic(&self) -> Option<String> {
        match (&self.outcome, self.quotes.first()) {
            (Outcome::Answered, Some(quote)) => Some(quote.citation.document_title.clone()),
            (Outcome::Declined { .. }, _) => self.outcome.decline_reason(),
            (Outcome::Answered, None) => None,
        }
    }
}

/// Why staff should look at `answer`: declined, low confidence, or a question on a sensitive topic
/// (`sensitive_topic` is that topic's label).
pub(super) fn flags(answer: &Answer, sensitive_topic: Option<String>) -> Vec<Flag> {
    let mut flags = Vec::new();
    match &answer.outcome {
        Outcome::Declined { category } => {
            flags.push(Flag::new(FlagReason::Declined, category.clone()))
        }
        Outcome::Answered if answer.needs_review => flags.push(Flag::new(
            FlagReason::LowConfidence,
            Some(format!("{:.2}", answer.confidence)),
        )),
        Outcome::Answered => {}
    }
    if let Some(label) = sensitive_topic {
        flags.push(Flag::new(FlagReason::SensitiveTopic, Some(label)));
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(outcome: Outcome, needs_review: bool) -> Answer {
        Answer {
            conversation_id: "c".into(),
            outcome,
            lead: String::new(),
            quotes: Vec::new(),
            notices: Vec::new(),
            disclaimer: String::new(),
            text: String::new(),
            confidence: 0.523,
            needs_review,
            flags: Vec::new(),
            follows: None,
        }
    }

    #[test]
    fn declines_low_confidence_and_sensitive_topics_are_flagged() {
        let declined = answer(Outcome::Declined { category: None }, true);
        assert_eq!(
            flags(&declined, None),
            [Flag::new(FlagReason::Declined, None)]
        );
        assert_eq!(declined.outcome.status(), AnswerStatus::Declined);
        assert_eq!(
            declined.outcome.decline_reason().as_deref(),
            Some("no_relevant_text")
        );
        assert_eq!(declined.topic().as_deref(), Some("no_relevant_text"));
        let unsure = answer(Outcome::Answered, true);
        assert_eq!(
            flags(&unsure, Some("Trẻ em".into())),
            [
                Flag::new(FlagReason::LowConfidence, Some("0.52".into())),
                Flag::new(FlagReason::SensitiveTopic, Some("Trẻ em".into())),
            ]
        );
        let sure = answer(Outcome::Answered, false);
        assert!(flags(&sure, None).is_empty());
        assert_eq!(sure.outcome.decline_reason(), None);
        assert_eq!(AnswerStatus::parse("notice"), Some(AnswerStatus::Notice));
    }
}
