//! Vietnamese names of the platform's stored values, as the console shows them.

use crate::db::{
    ChannelKind, DirectoryRole, HandoffReason, HandoffStatus, OutboxStatus, QuestionKind,
    ResponseStatus, SmeStatus, SurveyStatus,
};

pub fn channel(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::ZaloOa => "Zalo OA",
        ChannelKind::ZaloBot => "Zalo Bot",
        ChannelKind::Telegram => "Telegram",
        ChannelKind::Web => "Trang web",
        ChannelKind::Api => "API",
    }
}

pub fn role(role: DirectoryRole) -> &'static str {
    match role {
        DirectoryRole::Mediator => "Hòa giải viên ở cơ sở",
        DirectoryRole::CommuneJustice => "Công chức Tư pháp - Hộ tịch",
        DirectoryRole::LegalAid => "Trợ giúp pháp lý",
        DirectoryRole::JusticeDepartment => "Sở Tư pháp",
    }
}

pub fn handoff_reason(reason: HandoffReason) -> &'static str {
    match reason {
        HandoffReason::HumanRequested => "Đề nghị gặp cán bộ",
        HandoffReason::Dispute => "Tranh chấp hàng xóm, gia đình",
        HandoffReason::LegalAid => "Có thể thuộc diện trợ giúp pháp lý",
    }
}

pub fn handoff_status(status: HandoffStatus) -> &'static str {
    match status {
        HandoffStatus::Open => "Chờ cán bộ",
        HandoffStatus::Taken => "Cán bộ đang trò chuyện",
        HandoffStatus::Resolved => "Đã giải quyết",
        HandoffStatus::Returned => "Đã trả lại cho trợ lý",
    }
}

pub fn outbox_status(status: OutboxStatus) -> &'static str {
    match status {
        OutboxStatus::Queued => "đang chờ gửi",
        OutboxStatus::Sent => "đã gửi",
        OutboxStatus::Failed => "gửi thất bại",
        OutboxStatus::OutsideWindow => "không gửi được (ngoài khung nhắn tin của nền tảng)",
        OutboxStatus::WaitingWindow => "chờ người dân nhắn lại (khung 48 giờ của Zalo)",
        OutboxStatus::Expired => "hết hạn chờ",
        OutboxStatus::Cancelled => "đã hủy",
    }
}

pub fn survey_status(status: SurveyStatus) -> &'static str {
    match status {
        SurveyStatus::Draft => "Bản nháp",
        SurveyStatus::Open => "Đang mở",
        SurveyStatus::Closed => "Đã đóng",
    }
}

pub fn question_kind(kind: QuestionKind) -> &'static str {
    match kind {
        QuestionKind::SingleChoice => "Chọn một",
        QuestionKind::Scale => "Thang điểm 1–5",
        QuestionKind::Text => "Trả lời ngắn",
    }
}

pub fn response_status(status: ResponseStatus) -> &'static str {
    match status {
        ResponseStatus::Offered => "Đã mời",
        ResponseStatus::Declined => "Từ chối",
        ResponseStatus::Started => "Đang trả lời",
        ResponseStatus::Completed => "Hoàn thành",
        ResponseStatus::Abandoned => "Bỏ dở",
    }
}

pub fn sme_status(status: SmeStatus) -> &'static str {
    match status {
        SmeStatus::New => "Mới",
        SmeStatus::InProgress => "Đang xử lý",
        SmeStatus::Answered => "Đã trả lời",
        SmeStatus::Closed => "Đã đóng",
    }
}
