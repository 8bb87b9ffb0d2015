//! Online surveys (`/staff/surveys`): staff build short surveys (single choice, a 1–5 scale, short
//! free text), open and close them, and read the results — counts, inline SVG charts, free-text
//! answers masked like messages — with a CSV export. The bot offers an open survey at the end of a
//! conversation, opt-in, at most once per citizen (`platform::surveys`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::download::csv_response;
use super::error::PageError;
use super::html::{html, html_response, local_time, page, Html};
use super::labels;
use super::privacy::mask_personal_data;
use super::session::Staff;
use super::stats::bar_chart;
use super::StaffState;
use crate::db::{NewQuestion, NewSurvey, QuestionKind, SurveyStatus};
use crate::platform::listening::defuse;
use crate::platform::surveys::{MAX_OPTIONS, MAX_QUESTIONS};

/// Question slots of the creation form (no scripts: a fixed number of rows).
const FORM_SLOTS: usize = 6;
const MAX_TITLE_CHARS: usize = 150;
const MAX_INTRO_CHARS: usize = 500;
const MAX_PROMPT_CHARS: usize = 300;
const MAX_OPTION_CHARS: usize = 80;

pub(super) fn routes() -> Router<StaffState> {
    Router::new()
        .route("/staff/surveys", get(list).post(create))
        .route("/staff/surveys/{id}", get(results))
        .route("/staff/surveys/{id}/status", post(set_status))
        .route("/staff/surveys/{id}/csv", get(export))
}

async fn list(State(state): State<StaffState>, staff: Staff) -> Result<Response, PageError> {
    let surveys = state.db.surveys().await?;
    Ok(html_response(
        StatusCode::OK,
        page("Khảo sát", staff.nav(), list_body(&staff, &surveys, None)),
    ))
}

fn list_body(staff: &Staff, surveys: &[crate::db::SurveySummary], error: Option<&str>) -> Html {
    let mut body = html!(
        "<h1>Khảo sát trực tuyến</h1>\
         <p class=\"muted\">Trợ lý mời người dân tham gia khảo sát đang mở khi kết thúc cuộc trò chuyện (khi người dân cảm ơn, hoặc sau một thời gian không nhắn, trong khung nhắn tin của Zalo, Telegram). \
         Người dân tự chọn tham gia; mỗi người được mời mỗi khảo sát một lần. Câu trả lời tự do được che thông tin cá nhân và xóa sau thời hạn lưu trữ như tin nhắn.</p>"
    );
    if let Some(error) = error {
        body.push(html!("<p class=\"error\" role=\"alert\">{}</p>", error));
    }
    if surveys.is_empty() {
        body.push(html!("<p class=\"muted\">Chưa có khảo sát nào.</p>"));
    } else {
        body.push(html!("<table data-testid=\"surveys\"><thead><tr><th>Khảo sát</th><th>Trạng thái</th><th>Đã mời</th><th>Hoàn thành</th><th>Tạo lúc</th></tr></thead><tbody>"));
        for survey in surveys {
            body.push(html!(
                "<tr><td><a href=\"/staff/surveys/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                survey.id,
                survey.title,
                labels::survey_status(survey.status),
                survey.offered,
                survey.completed,
                local_time(&survey.created_at)
            ));
        }
        body.push(html!("</tbody></table>"));
    }
    body.push(html!(
        "<form method=\"post\" action=\"/staff/surveys\" class=\"card\" data-testid=\"survey-form\"><h2>Tạo khảo sát</h2>\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <p><label>Tên khảo sát <input name=\"title\" size=\"60\" maxlength=\"{}\" required></label></p>\
         <p><label>Lời giới thiệu (gửi trước câu hỏi đầu) <input name=\"intro\" size=\"80\" maxlength=\"{}\"></label></p>\
         <p class=\"muted\">Để trống câu hỏi không dùng. Với câu \"chọn một\", ghi mỗi lựa chọn trên một dòng (tối đa {}).</p>",
        staff.csrf(),
        MAX_TITLE_CHARS,
        MAX_INTRO_CHARS,
        MAX_OPTIONS
    ));
    for slot in 1..=FORM_SLOTS {
        let mut kinds = Html::new();
        for kind in QuestionKind::ALL {
            kinds.push(html!(
                "<option value=\"{}\">{}</option>",
                kind.as_str(),
                labels::question_kind(*kind)
            ));
        }
        body.push(html!(
            "<fieldset><legend>Câu {0}</legend><p><label>Câu hỏi <input name=\"q{0}_prompt\" size=\"70\" maxlength=\"{1}\"></label> \
             <label>Loại <select name=\"q{0}_kind\">{2}</select></label></p>\
             <p><label>Lựa chọn (mỗi dòng một lựa chọn)<textarea name=\"q{0}_options\" rows=\"3\" style=\"min-height:4rem\"></textarea></label></p></fieldset>",
            slot,
            MAX_PROMPT_CHARS,
            kinds
        ));
    }
    body.push(html!(
        "<p><button type=\"submit\">Lưu bản nháp</button></p></form>"
    ));
    body
}

/// The survey a creation form describes, or why it cannot be saved.
fn read_form(fields: &[(String, String)]) -> Result<NewSurvey, String> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().replace("\r\n", "\n"))
            .unwrap_or_default()
    };
    let clean = |text: &str| !text.chars().any(|c| c.is_control() && c != '\n');
    let title = field("title");
    let intro = field("intro");
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS || !clean(&title) {
        return Err(format!(
            "Tên khảo sát phải có từ 1 đến {MAX_TITLE_CHARS} ký tự."
        ));
    }
    if intro.chars().count() > MAX_INTRO_CHARS || !clean(&intro) {
        return Err(format!("Lời giới thiệu tối đa {MAX_INTRO_CHARS} ký tự."));
    }
    let mut questions = Vec::new();
    for slot in 1..=FORM_SLOTS.min(MAX_QUESTIONS) {
        let prompt = field(&format!("q{slot}_prompt"));
        if prompt.is_empty() {
            continue;
        }
        if prompt.chars().count() > MAX_PROMPT_CHARS || !clean(&prompt) {
            return Err(format!(
                "Câu {slot}: câu hỏi tối đa {MAX_PROMPT_CHARS} ký tự."
            ));
        }
        let kind = QuestionKind::parse(&field(&format!("q{slot}_kind")))
            .ok_or_else(|| format!("Câu {slot}: loại câu hỏi không hợp lệ."))?;
        let options: Vec<String> = match kind {
            QuestionKind::SingleChoice => field(&format!("q{slot}_options"))
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect(),
            QuestionKind::Scale | QuestionKind::Text => Vec::new(),
        };
        if kind == QuestionKind::SingleChoice
            && (options.len() < 2
                || options.len() > MAX_OPTIONS
                || options.iter().any(|o| o.chars().count() > MAX_OPTION_CHARS))
        {
            return Err(format!(
                "Câu {slot}: câu \"chọn một\" cần từ 2 đến {MAX_OPTIONS} lựa chọn, mỗi lựa chọn tối đa {MAX_OPTION_CHARS} ký tự."
            ));
        }
        questions.push(NewQuestion {
            kind,
            prompt,
            options,
        });
    }
    if questions.is_empty() {
        return Err("Khảo sát cần ít nhất một câu hỏi.".into());
    }
    Ok(NewSurvey {
        title,
        intro,
        questions,
    })
}

async fn create(
    State(state): State<StaffState>,
    staff: Staff,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let csrf = fields
        .iter()
        .find(|(key, _)| key == "csrf")
        .map(|(_, value)| value.as_str())
        .unwrap_or("");
    staff.check_csrf(csrf)?;
    match read_form(&fields) {
        Ok(survey) => {
            let id = state.db.create_survey(survey, staff.id()).await?;
            Ok(Redirect::to(&format!("/staff/surveys/{id}")).into_response())
        }
        Err(error) => {
            let surveys = state.db.surveys().await?;
            Ok(html_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                page(
                    "Khảo sát",
                    staff.nav(),
                    list_body(&staff, &surveys, Some(&error)),
                ),
            ))
        }
    }
}

#[derive(serde::Deserialize)]
struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

async fn set_status(
    State(state): State<StaffState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    let status = SurveyStatus::parse(&form.status)
        .filter(|status| *status != SurveyStatus::Draft)
        .ok_or_else(|| {
            PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "Thao tác không hợp lệ.")
        })?;
    if !state.db.set_survey_status(id, status, staff.id()).await? {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Không tìm thấy khảo sát này.",
        ));
    }
    Ok(Redirect::to(&format!("/staff/surveys/{id}")).into_response())
}

async fn results(
    State(state): State<StaffState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let results = state
        .db
        .survey_results(id)
        .await?
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "Không tìm thấy khảo sát này."))?;
    let survey = &results.survey;
    let mut body = html!(
        "<h1>{}</h1><p class=\"muted\">{} · tạo lúc {}</p>",
        survey.title,
        labels::survey_status(survey.status),
        local_time(&survey.created_at)
    );
    let (action, label) = match survey.status {
        SurveyStatus::Open => ("closed", "Đóng khảo sát"),
        SurveyStatus::Draft | SurveyStatus::Closed => {
            ("open", "Mở khảo sát (trợ lý bắt đầu mời người dân)")
        }
    };
    body.push(html!(
        "<form method=\"post\" action=\"/staff/surveys/{}/status\" class=\"card\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\" name=\"status\" value=\"{}\">{}</button> · <a href=\"/staff/surveys/{}/csv\">Tải CSV kết quả</a></form>",
        survey.id,
        staff.csrf(),
        action,
        label,
        survey.id
    ));
    body.push(html!("<div data-testid=\"responses\">"));
    for (status, count) in &results.responses {
        body.push(html!(
            "<span class=\"kpi\">{}<b>{}</b></span>",
            labels::response_status(*status),
            *count
        ));
    }
    body.push(html!("</div>"));
    for (question, answers) in survey.questions.iter().zip(&results.questions) {
        body.push(html!(
            "<div class=\"card\" data-testid=\"question-{}\"><h2>Câu {}: {}</h2><p class=\"muted\">{} · {} câu trả lời</p>",
            question.position,
            question.position,
            question.question.prompt,
            labels::question_kind(question.question.kind),
            answers.answered
        ));
        match question.question.kind {
            QuestionKind::SingleChoice => {
                let data: Vec<(String, i64)> = question
                    .question
                    .options
                    .iter()
                    .cloned()
                    .zip(answers.counts.iter().copied())
                    .collect();
                body.push(bar_chart("Số người chọn", &data));
            }
            QuestionKind::Scale => {
                let data: Vec<(String, i64)> = answers
                    .counts
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (format!("{} điểm", i + 1), *n))
                    .collect();
                let total: i64 = answers.counts.iter().sum();
                let sum: i64 = answers
                    .counts
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (i as i64 + 1) * n)
                    .sum();
                if total > 0 {
                    body.push(html!(
                        "<p>Điểm trung bình: <b>{:.2}</b>/5 · 4–5 điểm: {:.0}%</p>",
                        sum as f64 / total as f64,
                        (answers.counts[3] + answers.counts[4]) as f64 * 100.0 / total as f64
                    ));
                }
                body.push(bar_chart("Số người chấm", &data));
            }
            QuestionKind::Text => {
                if answers.texts.is_empty() {
                    body.push(html!("<p class=\"muted\">Chưa có câu trả lời.</p>"));
                }
                body.push(html!("<ul>"));
                for text in &answers.texts {
                    body.push(html!("<li>{}</li>", mask_personal_data(text)));
                }
                body.push(html!("</ul>"));
            }
        }
        body.push(html!("</div>"));
    }
    Ok(html_response(
        StatusCode::OK,
        page("Kết quả khảo sát", staff.nav(), body),
    ))
}

async fn export(
    State(state): State<StaffState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let survey = state
        .db
        .survey(id)
        .await?
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "Không tìm thấy khảo sát này."))?;
    let rows = state.db.survey_answer_rows(id).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record([
        "phieu",
        "kenh",
        "trang_thai",
        "hoan_thanh_luc",
        "cau",
        "loai",
        "tra_loi",
    ]);
    for row in rows {
        let options = survey
            .questions
            .iter()
            .find(|q| q.position == row.position)
            .map(|q| q.question.options.clone())
            .unwrap_or_default();
        let answer = match (row.choice, row.scale, &row.text) {
            (Some(choice), _, _) => usize::try_from(choice - 1)
                .ok()
                .and_then(|i| options.get(i).cloned())
                .unwrap_or_else(|| choice.to_string()),
            (_, Some(scale), _) => scale.to_string(),
            (_, _, Some(text)) => mask_personal_data(text),
            _ => String::new(),
        };
        let _ = writer.write_record([
            row.response_id.to_string(),
            row.channel.as_str().to_owned(),
            row.status.as_str().to_owned(),
            row.completed_at.unwrap_or_default(),
            row.position.to_string(),
            row.kind.as_str().to_owned(),
            defuse(&answer),
        ]);
    }
    let csv = String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default();
    let _ = state
        .db
        .audit(
            Some(staff.id()),
            "export_survey",
            Some(format!("survey:{id}")),
            None,
        )
        .await;
    Ok(csv_response(&format!("khao-sat-{id}.csv"), &csv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_creation_form_is_read_and_checked() {
        let survey = read_form(&form(&[
            ("title", " Nhu cầu tìm hiểu pháp luật "),
            ("q1_prompt", "Bạn quan tâm lĩnh vực nào?"),
            ("q1_kind", "single_choice"),
            ("q1_options", "Đất đai\r\n\r\nHôn nhân và gia đình\n"),
            ("q2_prompt", ""),
            ("q2_kind", "scale"),
            ("q3_prompt", "Mức độ hài lòng với Hỏi Luật?"),
            ("q3_kind", "scale"),
        ]))
        .unwrap();
        assert_eq!(survey.title, "Nhu cầu tìm hiểu pháp luật");
        assert_eq!(survey.questions.len(), 2);
        assert_eq!(
            survey.questions[0].options,
            vec!["Đất đai", "Hôn nhân và gia đình"]
        );
        assert_eq!(survey.questions[1].kind, QuestionKind::Scale);
        let one_option = read_form(&form(&[
            ("title", "X"),
            ("q1_prompt", "Chọn?"),
            ("q1_kind", "single_choice"),
            ("q1_options", "Chỉ một"),
        ]));
        assert!(one_option.unwrap_err().contains("từ 2 đến"));
        assert!(read_form(&form(&[("title", "X")])).is_err(), "no question");
        assert!(read_form(&form(&[
            ("title", ""),
            ("q1_prompt", "?"),
            ("q1_kind", "text")
        ]))
        .is_err());
    }
}
