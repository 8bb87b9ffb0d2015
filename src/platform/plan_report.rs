//! The plan's indicators the service can measure (Kế hoạch 137/KH-UBND: people reached through
//! digital applications, satisfaction against the 90% target of the 2028–2030 phase, and the
//! platform's own work: surveys, handoffs, SME requests, legal news), for any period, as the
//! rows of the 6-month or annual report. One table, shown on the statistics page and exported as
//! one CSV.

use crate::db::{Db, DbError, PlanCounts};
use crate::staff::labels;

/// The plan's satisfaction target (mục II.2.b: "đạt 90%").
pub const SATISFACTION_TARGET: f64 = 0.90;

/// One row of the report's table.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    /// The section it belongs to ("1. Tiếp cận thông tin pháp luật").
    pub group: &'static str,
    pub name: String,
    pub value: String,
    /// How it is counted, and its limits.
    pub note: String,
}

/// The median of `values`; `None` when there are none.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[n / 2]),
        n => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn percent(part: i64, whole: i64) -> String {
    if whole > 0 {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    } else {
        "—".into()
    }
}

fn hours(value: Option<f64>) -> String {
    value.map_or_else(|| "—".into(), |h| format!("{h:.1} giờ"))
}

/// The indicators of `from ..= to` (`YYYY-MM-DD`).
pub async fn indicators(db: &Db, from: &str, to: &str) -> Result<Vec<Indicator>, DbError> {
    let counts = db.plan_counts(from.to_owned(), format!("{to}T99")).await?;
    Ok(rows(&counts))
}

/// The table of `counts`.
pub fn rows(counts: &PlanCounts) -> Vec<Indicator> {
    const REACH: &str = "1. Tiếp cận thông tin pháp luật qua ứng dụng số";
    const SATISFACTION: &str = "2. Mức độ hài lòng";
    const SURVEYS: &str = "3. Khảo sát trực tuyến";
    const SUPPORT: &str = "4. Hỗ trợ người dân, doanh nghiệp";
    const NEWS: &str = "5. Tin pháp luật";
    let row = |group, name: &str, value: String, note: &str| Indicator {
        group,
        name: name.to_owned(),
        value,
        note: note.to_owned(),
    };
    let people: i64 = counts.people_per_channel.iter().map(|(_, n)| n).sum();
    let mut out = vec![row(
        REACH,
        "Số người hỏi đáp pháp luật (tất cả kênh)",
        people.to_string(),
        "Tài khoản Zalo/Telegram khác nhau; trên web và API mỗi phiên trò chuyện tính là một người (có thể tính trùng).",
    )];
    for (channel, n) in &counts.people_per_channel {
        out.push(row(
            REACH,
            &format!("— qua kênh {}", labels::channel(*channel)),
            n.to_string(),
            "",
        ));
    }
    let known: i64 = counts.people_per_commune.iter().map(|(_, n)| n).sum();
    out.push(row(
        REACH,
        "Số người đã cho biết xã, phường",
        known.to_string(),
        "Chỉ những người tự cho biết khi đề nghị gặp cán bộ; không suy đoán nơi ở.",
    ));
    for (commune, n) in &counts.people_per_commune {
        out.push(row(REACH, &format!("— {commune}"), n.to_string(), ""));
    }
    out.push(row(
        REACH,
        "Số câu hỏi được trả lời / tổng số câu hỏi",
        format!(
            "{} / {} ({})",
            counts.answered,
            counts.questions,
            percent(counts.answered, counts.questions)
        ),
        "Câu hỏi pháp luật; không tính lệnh (đăng ký nhận tin, khảo sát…).",
    ));
    let rate = (counts.satisfaction_votes > 0)
        .then(|| counts.satisfied_votes as f64 / counts.satisfaction_votes as f64);
    out.push(row(
        SATISFACTION,
        "Tỷ lệ hài lòng (đánh giá 4–5/5) so với mục tiêu 90%",
        match rate {
            Some(rate) => format!(
                "{:.1}% — {} ({} lượt đánh giá)",
                rate * 100.0,
                if rate >= SATISFACTION_TARGET {
                    "đạt"
                } else {
                    "chưa đạt"
                },
                counts.satisfaction_votes
            ),
            None => "— (chưa có đánh giá)".into(),
        },
        "Đánh giá cuối cuộc trò chuyện trên web; mục tiêu 90% của Kế hoạch 137/KH-UBND (giai đoạn 2028–2030).",
    ));
    out.push(row(
        SATISFACTION,
        "Câu hỏi thang điểm trong khảo sát: tỷ lệ 4–5/5",
        format!(
            "{} ({} câu trả lời)",
            percent(counts.survey_scale_satisfied, counts.survey_scale_answers),
            counts.survey_scale_answers
        ),
        "Mọi câu hỏi thang điểm 1–5 của các khảo sát trong kỳ.",
    ));
    let completed: i64 = counts.surveys_completed.iter().map(|(_, n)| n).sum();
    out.push(row(
        SURVEYS,
        "Số phiếu khảo sát hoàn thành",
        completed.to_string(),
        "Mỗi người trả lời mỗi khảo sát tối đa một lần.",
    ));
    for (title, n) in &counts.surveys_completed {
        out.push(row(SURVEYS, &format!("— {title}"), n.to_string(), ""));
    }
    out.push(row(
        SUPPORT,
        "Yêu cầu gặp cán bộ: đã nhận / đã xử lý xong",
        format!("{} / {}", counts.handoffs_requested, counts.handoffs_closed),
        "Gồm \"gặp cán bộ\" và đề nghị sau câu hỏi về tranh chấp, trợ giúp pháp lý.",
    ));
    out.push(row(
        SUPPORT,
        "Thời gian phản hồi yêu cầu gặp cán bộ (trung vị)",
        hours(median(counts.handoff_response_hours.clone())),
        "Từ lúc người dân đề nghị đến tin nhắn đầu tiên của cán bộ.",
    ));
    out.push(row(
        SUPPORT,
        "Yêu cầu hỗ trợ pháp lý doanh nghiệp: đã nhận / đã trả lời",
        format!("{} / {}", counts.sme_requests, counts.sme_handled),
        "Theo Luật Hỗ trợ doanh nghiệp nhỏ và vừa số 04/2017/QH14.",
    ));
    out.push(row(
        SUPPORT,
        "Thời gian phản hồi yêu cầu của doanh nghiệp (trung vị)",
        hours(median(counts.sme_response_hours.clone())),
        "Từ lúc gửi yêu cầu đến khi cán bộ trả lời hoặc đánh dấu đã trả lời.",
    ));
    out.push(row(
        NEWS,
        "Tin pháp luật đã đăng / lượt gửi thành công",
        format!("{} / {}", counts.news_published, counts.news_sent),
        "",
    ));
    out.push(row(
        NEWS,
        "Người đang đăng ký nhận tin",
        counts.news_subscribers.to_string(),
        "Tại thời điểm xuất báo cáo.",
    ));
    out
}

/// The table as one CSV file for the report.
pub fn to_csv(from: &str, to: &str, indicators: &[Indicator]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(["ky_bao_cao", "nhom", "chi_tieu", "gia_tri", "ghi_chu"]);
    let period = format!("{from} – {to}");
    for indicator in indicators {
        let _ = writer.write_record([
            period.as_str(),
            indicator.group,
            &super::listening::defuse(&indicator.name),
            &super::listening::defuse(&indicator.value),
            indicator.note.as_str(),
        ]);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::ChannelKind;

    #[test]
    fn the_table_states_the_target_and_the_medians() {
        let counts = PlanCounts {
            people_per_channel: vec![(ChannelKind::ZaloOa, 12), (ChannelKind::Web, 3)],
            people_per_commune: vec![("Phường Cẩm Thành".into(), 2)],
            questions: 20,
            answered: 15,
            satisfaction_votes: 10,
            satisfied_votes: 9,
            handoffs_requested: 3,
            handoffs_closed: 2,
            handoff_response_hours: vec![1.0, 3.0, 2.0],
            ..PlanCounts::default()
        };
        let table = rows(&counts);
        let value = |name: &str| {
            table
                .iter()
                .find(|i| i.name.starts_with(name))
                .map(|i| i.value.clone())
                .unwrap_or_else(|| panic!("no row {name}"))
        };
        assert_eq!(value("Số người hỏi đáp"), "15");
        assert_eq!(value("Tỷ lệ hài lòng"), "90.0% — đạt (10 lượt đánh giá)");
        assert_eq!(value("Thời gian phản hồi yêu cầu gặp cán bộ"), "2.0 giờ");
        assert_eq!(value("Thời gian phản hồi yêu cầu của doanh nghiệp"), "—");
        assert_eq!(value("Số câu hỏi được trả lời"), "15 / 20 (75.0%)");
        let csv = to_csv("2026-01-01", "2026-06-30", &table);
        assert!(csv.starts_with("ky_bao_cao,nhom,chi_tieu,gia_tri,ghi_chu\n"));
        assert!(
            csv.contains("2026-01-01 – 2026-06-30,2. Mức độ hài lòng"),
            "{csv}"
        );
        assert!(csv.contains(",— qua kênh Zalo OA,12,"), "{csv}");
    }
}
