//! The stored values of the platform around the chatbot (migration 4), typed like `kinds.rs`:
//! directory roles, flows, handoffs, the outbox, surveys, SME requests and notices.

use super::kinds::stored_as_name;
use super::sql::{FromValue, Value};
use crate::named::named_enum;

named_enum! {
    /// What an officer of the directory does for citizens.
    pub enum DirectoryRole {
        /// Hòa giải viên ở cơ sở (Luật Hòa giải ở cơ sở): neighbours' and family disputes.
        Mediator => "hoa_giai_vien",
        /// Công chức Tư pháp - Hộ tịch of the commune.
        CommuneJustice => "tu_phap_xa",
        /// Trung tâm Trợ giúp pháp lý nhà nước (Luật Trợ giúp pháp lý, Điều 7).
        LegalAid => "tro_giup_phap_ly",
        /// A desk of the Sở Tư pháp.
        JusticeDepartment => "so_tu_phap",
    }
}

named_enum! {
    /// The flow a conversation is in: its next message answers the flow's question.
    pub enum FlowKind {
        /// The handoff asked which commune the citizen lives in.
        HandoffCommune => "handoff_commune",
        /// A survey was offered: "có" starts it, "không" declines it.
        SurveyOffer => "survey_offer",
        /// A survey is being answered.
        Survey => "survey",
        /// An SME support request is being filled in.
        Sme => "sme",
    }
}

named_enum! {
    /// Why a citizen was offered a person.
    pub enum HandoffReason {
        /// "Gặp cán bộ", typed or tapped.
        HumanRequested => "human_requested",
        /// A dispute between neighbours or in a family: grassroots mediation.
        Dispute => "dispute",
        /// The citizen may be eligible for State legal aid.
        LegalAid => "legal_aid",
    }
}

named_enum! {
    /// Where a handoff is.
    pub enum HandoffStatus {
        /// Waiting for staff.
        Open => "open",
        /// Staff hold the conversation: the bot is silent.
        Taken => "taken",
        Resolved => "resolved",
        /// Handed back to the bot without a resolution.
        Returned => "returned",
    }
}

impl HandoffStatus {
    /// Still needs staff.
    pub fn is_active(self) -> bool {
        matches!(self, HandoffStatus::Open | HandoffStatus::Taken)
    }
}

named_enum! {
    /// What an outbound message is.
    pub enum OutboxKind {
        /// A staff member's reply in a conversation they took over.
        StaffReply => "staff_reply",
        /// A legal notice to a subscriber.
        News => "news",
        /// The offer of a survey at the end of a conversation.
        SurveyOffer => "survey_offer",
        /// A staff member's answer to an SME support request.
        SmeReply => "sme_reply",
    }
}

named_enum! {
    /// Where an outbound message is.
    pub enum OutboxStatus {
        Queued => "queued",
        Sent => "sent",
        /// Refused by the platform, or out of attempts (with why).
        Failed => "failed",
        /// The platform's window is closed and the message is not worth holding (a survey
        /// invitation belongs to the end of a conversation): dropped.
        OutsideWindow => "outside_window",
        /// The window is closed: sent when the citizen writes again, within 7 days.
        WaitingWindow => "waiting_window",
        /// Waited for the window longer than 7 days.
        Expired => "expired",
        /// Withdrawn (the citizen unsubscribed).
        Cancelled => "cancelled",
    }
}

named_enum! {
    pub enum SurveyStatus {
        Draft => "draft",
        /// Offered to citizens.
        Open => "open",
        Closed => "closed",
    }
}

named_enum! {
    /// The kind of a survey question.
    pub enum QuestionKind {
        SingleChoice => "single_choice",
        /// 1 (lowest) to 5 (highest).
        Scale => "scale",
        /// Short free text.
        Text => "text",
    }
}

named_enum! {
    /// Where one citizen is with one survey.
    pub enum ResponseStatus {
        Offered => "offered",
        Declined => "declined",
        Started => "started",
        Completed => "completed",
        /// Stopped part-way ("hủy").
        Abandoned => "abandoned",
    }
}

named_enum! {
    /// Where an SME support request is.
    pub enum SmeStatus {
        New => "new",
        InProgress => "in_progress",
        /// Staff answered the enterprise.
        Answered => "answered",
        Closed => "closed",
    }
}

named_enum! {
    pub enum NewsStatus {
        Draft => "draft",
        Published => "published",
    }
}

stored_as_name!(
    DirectoryRole,
    FlowKind,
    HandoffReason,
    HandoffStatus,
    OutboxKind,
    OutboxStatus,
    SurveyStatus,
    QuestionKind,
    ResponseStatus,
    SmeStatus,
    NewsStatus
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_names_cross_the_boundary() {
        let value = Value::from(OutboxStatus::WaitingWindow);
        assert_eq!(value, Value::Text("waiting_window".into()));
        assert_eq!(
            OutboxStatus::from_value(&value),
            Some(OutboxStatus::WaitingWindow)
        );
        assert_eq!(
            DirectoryRole::parse("hoa_giai_vien"),
            Some(DirectoryRole::Mediator)
        );
        assert!(HandoffStatus::Taken.is_active());
        assert!(!HandoffStatus::Returned.is_active());
    }
}
