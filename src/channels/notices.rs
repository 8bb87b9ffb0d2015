//! Fixed messages of the chat channels, in Vietnamese.

pub const GREETING: &str = "Xin chào! Mình là Hỏi Luật, trợ lý tra cứu pháp luật của Sở Tư pháp.\n\n\
Bạn hãy gửi câu hỏi bằng tin nhắn chữ, ví dụ: \"Thủ tục đăng ký kết hôn cần giấy tờ gì?\" hoặc \
\"Công ty nợ lương thì người lao động làm gì?\". Mình trả lời bằng trích dẫn điều luật cụ thể, kèm hiệu lực của văn bản.\n\n\
Sau mỗi câu trả lời, bạn có thể gửi 👍 hoặc 👎 để góp ý, hoặc gửi \"gặp cán bộ\" để được giới thiệu người có thể giúp. \
Gửi \"đăng ký nhận tin\" để nhận tin pháp luật mới; doanh nghiệp gửi \"hỗ trợ doanh nghiệp\" để gửi yêu cầu hỗ trợ pháp lý.\n\n\
Câu trả lời chỉ để tham khảo; trường hợp phức tạp, cán bộ Sở Tư pháp sẽ xem lại và trả lời bạn.";

pub const HELP: &str = "Cách dùng Hỏi Luật:\n\
• Gửi câu hỏi về pháp luật bằng tin nhắn chữ (có dấu hoặc không dấu đều được).\n\
• Có thể hỏi tiếp, ví dụ \"còn trường hợp …thì sao?\".\n\
• Mỗi câu trả lời trích điều luật và cho biết văn bản còn hiệu lực hay không.\n\
• Góp ý cho câu trả lời vừa nhận: gửi 👍 hoặc 👎; gửi \"báo lỗi\" nếu câu trả lời sai; gửi \"gặp cán bộ\" để cán bộ Sở Tư pháp xem lại và trả lời bạn.\n\
• Gửi \"đăng ký nhận tin\" để nhận tin pháp luật mới, \"hủy nhận tin\" để ngừng.\n\
• Doanh nghiệp: gửi \"hỗ trợ doanh nghiệp\" để gửi yêu cầu hỗ trợ pháp lý tới Sở Tư pháp.\n\
• Gửi \"khảo sát\" để tham gia khảo sát đang mở.";

pub const TEXT_ONLY: &str =
    "Xin lỗi, mình chỉ đọc được tin nhắn chữ. Bạn vui lòng gõ câu hỏi bằng chữ nhé.";

pub const SLOW_DOWN: &str = "Bạn gửi tin nhắn hơi nhanh, mình chưa kịp trả lời. Bạn vui lòng chờ một chút rồi gửi tiếp nhé.";

pub const TOO_LONG: &str = "Câu hỏi dài quá, mình chưa đọc hết được. Bạn vui lòng hỏi ngắn gọn hơn (dưới 1.000 ký tự) nhé.";

pub const EMPTY: &str = "Mình chưa thấy câu hỏi. Bạn vui lòng gõ câu hỏi về pháp luật nhé.";

pub const INVALID_TEXT: &str =
    "Tin nhắn có ký tự lạ mình không đọc được. Bạn vui lòng gõ lại câu hỏi nhé.";

pub const FAILURE: &str = "Xin lỗi, hệ thống đang gặp sự cố nên chưa trả lời được. Câu hỏi của bạn đã được ghi lại, cán bộ sẽ xem và phản hồi.";

pub const FEEDBACK_THANKS: &str = "Cảm ơn bạn đã góp ý!";

pub const HUMAN_REQUESTED: &str =
    "Đã chuyển câu hỏi của bạn cho cán bộ Sở Tư pháp. Cán bộ sẽ xem và trả lời bạn qua kênh này.";

/// A staff-reviewed answer as the citizen receives it, on the channel they asked on.
/// `received_at` is the stored time of their question.
pub fn reviewed_answer(received_at: &str, text: &str, references: &[&str]) -> String {
    let mut reply = format!(
        "Cán bộ Sở Tư pháp đã xem lại câu hỏi bạn gửi lúc {}:\n\n{text}",
        local_time(received_at)
    );
    if !references.is_empty() {
        reply.push_str(&format!("\n\nCăn cứ: {}.", references.join("; ")));
    }
    reply
}

/// A stored RFC 3339 UTC time as Vietnam reads it: "01/12/2026 12:40" (UTC+7, no daylight
/// saving). Unparsable text is shown as stored.
pub fn local_time(stored: &str) -> String {
    let vietnam = chrono::FixedOffset::east_opt(7 * 3600).expect("a valid offset");
    chrono::DateTime::parse_from_rfc3339(stored)
        .map(|t| {
            t.with_timezone(&vietnam)
                .format("%d/%m/%Y %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| stored.to_owned())
}
