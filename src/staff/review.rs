//! Reviewing one flagged answer (`/staff/answers/{id}`): the conversation, the answer, the quoted
//! articles and the flags; approve, edit (with citations checked against the corpus) or reject.
//! An approved or edited answer becomes a curated answer and is sent to the citizen through the
//! channel they used, when that channel can still reach them. Admins alone may see the unmasked
//! text, and that view is audited.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::error::PageError;
use super::html::{
    answer_status_label, decision_label, html, html_response, local_time, page, reason_label, Html,
};
use super::privacy::mask_personal_data;
use super::session::Staff;
use super::StaffState;
use crate::db::{
    AnswerDetail, ChannelKind, Decision, NewReview, ReviewDelivery, ReviewOutcome, StoredCitation,
};

/// Longest accepted edited answer, in characters.
pub(super) const MAX_ANSWER_CHARS: usize = 6_000;
const MAX_NOTE_CHARS: usize = 2_000;
/// Most articles a reviewed answer may cite.
const MAX_CITATIONS: usize = 10;

pub(super) fn routes() -> Router<StaffState> {
    Router::new()
        .route("/staff/answers/{id}", get(review_page))
        .route("/staff/answers/{id}/review", post(review))
}

#[derive(Deserialize, Default)]
struct ReviewQuery {
    #[serde(default)]
    raw: Option<String>,
}

async fn answer_detail(state: &StaffState, id: i64) -> Result<AnswerDetail, PageError> {
    state
        .db
        .answer_detail(id)
        .await?
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "Không tìm thấy câu trả lời này."))
}

async fn review_page(
    State(state): State<StaffState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(query): Query<ReviewQuery>,
) -> Result<Response, PageError> {
    let detail = answer_detail(&state, id).await?;
    let raw = query.raw.is_some();
    if raw && !staff.is_admin() {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Chỉ quản trị viên được xem nội dung gốc chưa che thông tin cá nhân.",
        ));
    }
    if raw {
        let _ = state
            .db
            .audit(
                Some(staff.id()),
                "view_raw",
                Some(format!("answer:{id}")),
                None,
            )
            .await;
    }
    let mut response = html_response(
        StatusCode::OK,
        page(
            "Xem lại câu trả lời",
            staff.nav(),
            review_body(&state, &staff, &detail, raw, None),
        ),
    );
    // A reviewed answer still being sent: the page reloads itself (the console runs no scripts)
    // until it shows how the delivery ended.
    let pending = detail
        .review
        .as_ref()
        .is_some_and(|r| r.delivery_status == Some(ReviewDelivery::Pending));
    if pending {
        response
            .headers_mut()
            .insert("refresh", axum::http::HeaderValue::from_static("3"));
    }
    Ok(response)
}

fn review_body(
    state: &StaffState,
    staff: &Staff,
    detail: &AnswerDetail,
    raw: bool,
    error: Option<&str>,
) -> Html {
    let show = |text: &str| {
        if raw {
            text.to_owned()
        } else {
            mask_personal_data(text)
        }
    };
    let mut body = html!("<h1>Xem lại câu trả lời #{}</h1>", detail.answer_id);
    if let Some(error) = error {
        body.push(html!("<p class=\"error\" role=\"alert\">{}</p>", error));
    }
    body.push(html!(
        "<p class=\"muted\">Kênh {} · nhận lúc {} · độ tin cậy {:.2} · lĩnh vực {}{}</p>",
        detail.channel.as_str(),
        local_time(&detail.received_at),
        detail.confidence,
        detail.topic.as_deref().unwrap_or("(chưa rõ)"),
        if staff.is_admin() && !raw {
            html!(
                " · <a href=\"/staff/answers/{}?raw=1\">Xem nội dung gốc</a>",
                detail.answer_id
            )
        } else {
            Html::new()
        }
    ));
    body.push(html!("<div class=\"card\"><h2>Lý do cần xem lại</h2>"));
    for (reason, note, _) in &detail.flags {
        // A flag's detail may be a citizen's comment: masked like the question.
        body.push(html!(
            "<span class=\"flag\">{}{}</span> ",
            reason_label(*reason),
            note.as_deref()
                .map(|n| html!(": {}", show(n)))
                .unwrap_or_default()
        ));
    }
    if !detail.feedback.is_empty() {
        let ratings: Vec<&str> = detail.feedback.iter().map(|(r, _)| r.as_str()).collect();
        body.push(html!(
            "<p>Phản hồi của người dân: {}</p>",
            ratings.join(", ")
        ));
    }
    body.push(html!("</div><div class=\"card\"><h2>Cuộc trò chuyện</h2>"));
    for (question, answer) in &detail.history {
        body.push(html!(
            "<p><b>Người dân:</b> {}</p><details><summary>Trả lời trước đó</summary><div class=\"pre\">{}</div></details>",
            show(question),
            answer
        ));
    }
    body.push(html!(
        "<p data-testid=\"question\"><b>Người dân:</b> {}</p><h3>Câu trả lời của Hỏi Luật ({})</h3><div class=\"pre\" data-testid=\"answer\">{}</div></div>",
        show(&detail.question),
        answer_status_label(detail.status),
        detail.text
    ));
    body.push(html!(
        "<div class=\"card\"><h2>Điều luật được trích dẫn</h2>"
    ));
    if detail.citations.is_empty() {
        body.push(html!("<p class=\"muted\">Không có.</p>"));
    }
    let library = state.ready.get().map(|assistant| assistant.library());
    for citation in &detail.citations {
        let text = library
            .as_ref()
            .and_then(|l| l.article(&citation.article_id))
            .map(|entry| format!("{}\n{}", entry.article.heading(), entry.article.body_text()))
            .unwrap_or_else(|| "(không còn trong kho văn bản)".into());
        body.push(html!(
            "<details><summary>{} — {}</summary><div class=\"pre\">{}</div></details>",
            citation.reference,
            citation.validity,
            text
        ));
    }
    body.push(html!("</div>"));
    match &detail.review {
        Some(review) => {
            body.push(html!(
                "<div class=\"card\" data-testid=\"review\"><h2>Đã duyệt</h2><p>{} · {} · {}</p>",
                review.staff_name,
                decision_label(review.decision),
                local_time(&review.created_at)
            ));
            if let Some(text) = &review.text {
                body.push(html!("<div class=\"pre\">{}</div>", text));
            }
            if !review.citations.is_empty() {
                let references: Vec<&str> = review
                    .citations
                    .iter()
                    .map(|c| c.reference.as_str())
                    .collect();
                body.push(html!("<p>Căn cứ đã chọn: {}</p>", references.join("; ")));
            }
            if let Some(note) = &review.note {
                body.push(html!("<p>Ghi chú: {}</p>", note));
            }
            body.push(match review.delivery_status {
                Some(ReviewDelivery::Pending) => html!("<p class=\"muted\" data-testid=\"delivery\">Đang gửi câu trả lời đã duyệt cho người dân.</p>"),
                Some(ReviewDelivery::Sent) => html!("<p class=\"ok\" data-testid=\"delivery\">Đã gửi câu trả lời đã duyệt cho người dân.</p>"),
                Some(ReviewDelivery::NotApplicable) | None => html!(
                    "<p class=\"muted\" data-testid=\"delivery\">Không gửi lại cho người dân{}.</p>",
                    review.delivery_error.as_deref().map(|e| html!(": {}", e)).unwrap_or_default()
                ),
                Some(ReviewDelivery::Failed) => html!(
                    "<p class=\"error\" data-testid=\"delivery\">Gửi cho người dân thất bại: {}</p>",
                    review.delivery_error.as_deref().unwrap_or("")
                ),
            });
            body.push(html!("</div>"));
        }
        None => {
            let ids: Vec<&str> = detail
                .citations
                .iter()
                .map(|c| c.article_id.as_str())
                .collect();
            body.push(html!(
                "<form method=\"post\" action=\"/staff/answers/{}/review\" class=\"card\"><h2>Quyết định</h2>\
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <p><label for=\"text\">Câu trả lời (sửa nếu cần)</label><textarea id=\"text\" name=\"text\" maxlength=\"{}\">{}</textarea></p>\
                 <p><label for=\"citations\">Điều luật căn cứ (mã điều, cách nhau bởi dấu phẩy, ví dụ 52-2014-qh13.dieu-8)</label><br><input id=\"citations\" name=\"citations\" size=\"80\" value=\"{}\"></p>\
                 <p><label for=\"note\">Ghi chú nội bộ</label><br><input id=\"note\" name=\"note\" size=\"80\" maxlength=\"{}\"></p>\
                 <p><button type=\"submit\" name=\"decision\" value=\"approved\">Duyệt nguyên văn</button> \
                 <button type=\"submit\" name=\"decision\" value=\"edited\">Lưu bản đã sửa và gửi</button> \
                 <button type=\"submit\" name=\"decision\" value=\"rejected\">Từ chối</button></p></form>",
                detail.answer_id,
                staff.csrf(),
                MAX_ANSWER_CHARS,
                detail.text,
                ids.join(", "),
                MAX_NOTE_CHARS
            ));
        }
    }
    body
}

#[derive(Deserialize)]
struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    citations: String,
    #[serde(default)]
    note: String,
}

async fn review(
    State(state): State<StaffState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ReviewForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let detail = answer_detail(&state, id).await?;
    // The review page again, with why the decision was refused.
    let refuse = |message: &str| {
        Ok(html_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            page(
                "Xem lại câu trả lời",
                staff.nav(),
                review_body(&state, &staff, &detail, false, Some(message)),
            ),
        ))
    };
    let Some(decision) = Decision::parse(&form.decision) else {
        return refuse("Hãy chọn Duyệt, Lưu bản đã sửa hoặc Từ chối.");
    };
    if form.note.chars().count() > MAX_NOTE_CHARS {
        return refuse("Ghi chú quá dài.");
    }
    let note = Some(form.note.trim().to_owned()).filter(|n| !n.is_empty());
    let (text, citations) = match decision {
        Decision::Approved => (Some(detail.text.clone()), detail.citations.clone()),
        Decision::Edited => {
            let text = form.text.trim().replace("\r\n", "\n");
            if text.is_empty() || text.chars().count() > MAX_ANSWER_CHARS {
                return refuse(&format!(
                    "Câu trả lời phải có từ 1 đến {MAX_ANSWER_CHARS} ký tự."
                ));
            }
            match chosen_citations(&state, &form.citations) {
                Ok(citations) => (Some(text), citations),
                Err(message) => return refuse(&message),
            }
        }
        Decision::Rejected => (None, Vec::new()),
    };
    // Committed with the review, so that nothing between here and the citizen can lose it: the
    // channel's workers send it (with retries) whatever becomes of this request.
    let delivery = text
        .as_ref()
        .map(|_| first_delivery(&state, detail.channel));
    let pending = matches!(delivery, Some((ReviewDelivery::Pending, _)));
    let outcome = state
        .db
        .insert_review(NewReview {
            answer_id: id,
            staff_id: staff.id(),
            decision,
            text,
            citations,
            note,
            question: detail.question.clone(),
            // A follow-up's curated answer is given only in its context.
            context: detail.follows.clone(),
            delivery,
        })
        .await?;
    let review_id = match outcome {
        ReviewOutcome::Stored { review_id, .. } => review_id,
        ReviewOutcome::AlreadyReviewed => {
            return Err(PageError::new(
                StatusCode::CONFLICT,
                "Câu trả lời này đã được cán bộ khác duyệt.",
            ))
        }
    };
    tracing::info!(
        staff = staff.id(),
        answer = id,
        decision = decision.as_str(),
        "answer reviewed"
    );
    if pending {
        state
            .dispatcher
            .deliver_review(review_id, &detail.conversation_id);
    }
    Ok(Redirect::to(&format!("/staff/answers/{id}")).into_response())
}

/// Checks the article ids staff typed against the corpus and cites them.
fn chosen_citations(state: &StaffState, input: &str) -> Result<Vec<StoredCitation>, String> {
    let Some(assistant) = state.ready.get() else {
        return Err("Kho văn bản đang được nạp; vui lòng thử lại sau ít phút.".into());
    };
    let library = assistant.library();
    let mut citations = Vec::new();
    for id in input
        .split([',', ' ', '\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let Some(entry) = library.article(id) else {
            return Err(format!("Không có điều luật mã \"{id}\" trong kho văn bản."));
        };
        let meta = &entry.document;
        let heading = entry.article.heading();
        let label = heading
            .split_once(". ")
            .map_or(heading.clone(), |(label, _)| label.to_owned());
        citations.push(StoredCitation {
            article_id: entry.id.clone(),
            reference: format!("{label} {} số {}", meta.ten, meta.so_hieu),
            validity: meta.tinh_trang.label().to_owned(),
        });
        if citations.len() > MAX_CITATIONS {
            return Err("Tối đa 10 điều luật căn cứ.".into());
        }
    }
    Ok(citations)
}

/// How a reviewed answer's delivery starts: pending for a channel worker to send it through the
/// channel the citizen used, or already ended when that channel cannot reach them.
fn first_delivery(state: &StaffState, channel: ChannelKind) -> (ReviewDelivery, Option<String>) {
    match channel {
        ChannelKind::Web => (
            ReviewDelivery::NotApplicable,
            Some("kênh web không nhận tin nhắn sau khi người dân rời trang".into()),
        ),
        ChannelKind::Api => (
            ReviewDelivery::NotApplicable,
            Some("kênh API không nhận tin nhắn sau khi đã trả lời".into()),
        ),
        ChannelKind::ZaloOa | ChannelKind::ZaloBot | ChannelKind::Telegram => {
            match state.dispatcher.sender(channel) {
                Some(_) => (ReviewDelivery::Pending, None),
                None => (
                    ReviewDelivery::Failed,
                    Some(format!("kênh {} chưa được cấu hình", channel.as_str())),
                ),
            }
        }
    }
}
