//! Surveys in the chat: how a question is asked (with its buttons), how an answer is read, and the
//! end-of-conversation offer on the service's initiative (`spawn_offers`): conversations whose
//! last question is `platform.survey_offer_after_idle_mins` old get the newest open survey, once,
//! through the outbox (so within each platform's window).

use std::sync::Arc;
use std::time::Duration;

use super::wording::{fill, is_command, PlatformWording};
use super::Platform;
use crate::channels::{ChannelSender, Choice, Reply};
use crate::db::{QuestionKind, Survey, SurveyQuestion};
use crate::text::{fold_case, strip_diacritics};

/// Longest free-text answer, in characters.
pub const MAX_TEXT_ANSWER_CHARS: usize = 300;
/// Most questions a survey has ("short surveys").
pub const MAX_QUESTIONS: usize = 10;
/// Most choices of a single-choice question.
pub const MAX_OPTIONS: usize = 8;

/// How often the end-of-conversation offers are looked for.
const OFFER_SWEEP: Duration = Duration::from_secs(60);
/// Conversations idle longer than this are not offered anything (the moment has passed).
const OFFER_WITHIN: Duration = Duration::from_secs(2 * 3600);
/// Offers queued per sweep at most.
const OFFERS_PER_SWEEP: usize = 50;

/// A citizen's answer to one question, as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum SurveyAnswer {
    /// 1-based.
    Choice(i64),
    Scale(i64),
    Text(String),
    Skipped,
}

/// Why an answer was not taken: the sentence to send back.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable(pub String);

/// The invitation: "Sở Tư pháp đang khảo sát …".
pub fn offer_text(wording: &PlatformWording, survey: &Survey) -> String {
    fill(
        &wording.wording.survey_offer,
        &[
            ("title", &survey.title),
            ("count", &survey.questions.len().to_string()),
        ],
    )
}

/// Question `index` of `survey` as a prompt (its number, the choices, what to type), with the
/// survey's introduction before the first.
pub fn question_prompt(wording: &PlatformWording, survey: &Survey, index: usize) -> Option<Reply> {
    let question = survey.questions.get(index)?;
    let number = (index + 1).to_string();
    let count = survey.questions.len().to_string();
    let prompt = &question.question.prompt;
    let (mut text, choices) = match question.question.kind {
        QuestionKind::SingleChoice => {
            let options: Vec<String> = question
                .question
                .options
                .iter()
                .enumerate()
                .map(|(i, option)| format!("{}. {option}", i + 1))
                .collect();
            let choices = question
                .question
                .options
                .iter()
                .enumerate()
                .map(|(i, option)| Choice::new(format!("{}. {option}", i + 1), (i + 1).to_string()))
                .collect();
            let text = fill(
                &wording.wording.survey_choice,
                &[
                    ("number", &number),
                    ("count", &count),
                    ("prompt", prompt),
                    ("options", &options.join("\n")),
                ],
            );
            (text, choices)
        }
        QuestionKind::Scale => {
            let text = fill(
                &wording.wording.survey_scale,
                &[("number", &number), ("count", &count), ("prompt", prompt)],
            );
            let choices = (1..=5)
                .map(|score| Choice::new(score.to_string(), score.to_string()))
                .collect();
            (text, choices)
        }
        QuestionKind::Text => {
            let text = fill(
                &wording.wording.survey_text,
                &[
                    ("number", &number),
                    ("count", &count),
                    ("prompt", prompt),
                    ("max", &MAX_TEXT_ANSWER_CHARS.to_string()),
                ],
            );
            (text, vec![Choice::new(&wording.buttons.skip, "bỏ qua")])
        }
    };
    if index == 0 && !survey.intro.trim().is_empty() {
        text = format!("{}\n\n{text}", survey.intro.trim());
    }
    Some(Reply::Prompt { text, choices })
}

/// Reads a citizen's answer to `question`.
pub fn read_answer(
    wording: &PlatformWording,
    question: &SurveyQuestion,
    text: &str,
) -> Result<SurveyAnswer, Unreadable> {
    if is_command(text, &wording.commands.skip) {
        return Ok(SurveyAnswer::Skipped);
    }
    let trimmed = text.trim();
    let invalid_number = |max: usize| {
        Unreadable(fill(
            &wording.wording.survey_invalid_number,
            &[("max", &max.to_string())],
        ))
    };
    match question.question.kind {
        QuestionKind::SingleChoice => {
            let options = &question.question.options;
            if let Some(number) =
                leading_number(trimmed).filter(|n| (1..=options.len()).contains(n))
            {
                return Ok(SurveyAnswer::Choice(number as i64));
            }
            let said = strip_diacritics(&fold_case(trimmed));
            options
                .iter()
                .position(|option| strip_diacritics(&fold_case(option.trim())) == said)
                .map(|i| SurveyAnswer::Choice(i as i64 + 1))
                .ok_or_else(|| invalid_number(options.len()))
        }
        QuestionKind::Scale => leading_number(trimmed)
            .filter(|n| (1..=5).contains(n))
            .map(|n| SurveyAnswer::Scale(n as i64))
            .ok_or_else(|| invalid_number(5)),
        QuestionKind::Text => {
            let length = trimmed.chars().count();
            if length == 0
                || length > MAX_TEXT_ANSWER_CHARS
                || trimmed.chars().any(|c| c.is_control() && c != '\n')
            {
                return Err(Unreadable(fill(
                    &wording.wording.survey_invalid_text,
                    &[("max", &MAX_TEXT_ANSWER_CHARS.to_string())],
                )));
            }
            Ok(SurveyAnswer::Text(trimmed.to_owned()))
        }
    }
}

/// "3", "3.", "3 ạ", "3. Rất hài lòng": the number a message starts with, if that is all that
/// precedes its first word.
fn leading_number(text: &str) -> Option<usize> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 2 {
        return None;
    }
    let rest = &text[digits.len()..];
    let boundary = rest
        .chars()
        .next()
        .is_none_or(|c| c.is_whitespace() || matches!(c, '.' | ')' | ','));
    boundary.then(|| digits.parse().ok()).flatten()
}

/// Every minute: offers the newest open survey to conversations that went quiet
/// `survey_offer_idle` ago on the channels the outbox can reach.
pub fn spawn_offers(platform: Arc<Platform>, senders: Vec<Arc<dyn ChannelSender>>) {
    let channels: Vec<_> = senders
        .iter()
        .map(|sender| sender.kind())
        .filter(|kind| !kind.answers_in_request())
        .collect();
    if channels.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let mut every = tokio::time::interval(OFFER_SWEEP);
        loop {
            every.tick().await;
            if let Err(error) = offer_once(&platform, &channels).await {
                tracing::error!(%error, "survey offers failed");
            }
        }
    });
}

/// One sweep of [`spawn_offers`]; how many offers were queued.
pub async fn offer_once(
    platform: &Platform,
    channels: &[crate::channels::ChannelKind],
) -> Result<usize, crate::db::DbError> {
    let db = &platform.db;
    let open = db
        .surveys()
        .await?
        .into_iter()
        .find(|summary| summary.status == crate::db::SurveyStatus::Open);
    let Some(survey) = match open {
        Some(summary) => db.survey(summary.id).await?,
        None => None,
    }
    .filter(|survey| !survey.questions.is_empty()) else {
        return Ok(0);
    };
    let idle = db
        .conversations_for_survey_offer(
            survey.id,
            channels.to_vec(),
            platform.survey_offer_idle,
            OFFER_WITHIN,
            OFFERS_PER_SWEEP,
        )
        .await?;
    let mut queued = 0;
    for conversation in idle {
        if platform
            .offer_survey_later(
                &survey,
                conversation.channel,
                conversation.conversation_id,
                conversation.chat_id,
            )
            .await?
        {
            queued += 1;
        }
    }
    if queued > 0 {
        tracing::info!(
            queued,
            survey = survey.id,
            "survey offered at the end of conversations"
        );
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{NewQuestion, SurveyStatus};
    use crate::platform::wording::repo_wording;

    fn question(kind: QuestionKind, options: &[&str]) -> SurveyQuestion {
        SurveyQuestion {
            id: 1,
            position: 1,
            question: NewQuestion {
                kind,
                prompt: "Bạn cần tìm hiểu lĩnh vực nào?".into(),
                options: options.iter().map(|o| o.to_string()).collect(),
            },
        }
    }

    #[test]
    fn answers_are_read_by_number_or_by_text() {
        let wording = repo_wording();
        let choice = question(
            QuestionKind::SingleChoice,
            &["Đất đai", "Hôn nhân và gia đình"],
        );
        assert_eq!(
            read_answer(&wording, &choice, "2"),
            Ok(SurveyAnswer::Choice(2))
        );
        assert_eq!(
            read_answer(&wording, &choice, " 1. Đất đai "),
            Ok(SurveyAnswer::Choice(1))
        );
        assert_eq!(
            read_answer(&wording, &choice, "hon nhan va gia dinh"),
            Ok(SurveyAnswer::Choice(2))
        );
        assert!(read_answer(&wording, &choice, "3").is_err());
        assert!(read_answer(&wording, &choice, "12 tháng").is_err());
        let scale = question(QuestionKind::Scale, &[]);
        assert_eq!(
            read_answer(&wording, &scale, "5 ạ"),
            Ok(SurveyAnswer::Scale(5))
        );
        let error = read_answer(&wording, &scale, "rất tốt").unwrap_err();
        assert!(error.0.contains("1 đến 5"), "{error:?}");
        let text = question(QuestionKind::Text, &[]);
        assert_eq!(
            read_answer(&wording, &text, "  Cần thêm hướng dẫn về đất đai "),
            Ok(SurveyAnswer::Text("Cần thêm hướng dẫn về đất đai".into()))
        );
        assert_eq!(
            read_answer(&wording, &text, "bỏ qua"),
            Ok(SurveyAnswer::Skipped)
        );
        assert!(read_answer(&wording, &text, &"a".repeat(301)).is_err());
        assert!(read_answer(&wording, &text, "a\u{7}b").is_err());
    }

    #[test]
    fn questions_are_asked_with_their_choices() {
        let wording = repo_wording();
        let survey = Survey {
            id: 3,
            title: "Nhu cầu tìm hiểu pháp luật".into(),
            intro: "Khảo sát ẩn danh.".into(),
            status: SurveyStatus::Open,
            created_at: String::new(),
            questions: vec![
                question(QuestionKind::SingleChoice, &["Đất đai", "Lao động"]),
                question(QuestionKind::Scale, &[]),
            ],
        };
        let Some(Reply::Prompt { text, choices }) = question_prompt(&wording, &survey, 0) else {
            panic!("a prompt");
        };
        assert!(text.starts_with("Khảo sát ẩn danh.\n\nCâu 1/2:"), "{text}");
        assert!(text.contains("1. Đất đai\n2. Lao động"), "{text}");
        assert_eq!(choices[1], Choice::new("2. Lao động", "2"));
        let Some(Reply::Prompt { text, choices }) = question_prompt(&wording, &survey, 1) else {
            panic!("a prompt");
        };
        assert!(text.starts_with("Câu 2/2:"), "{text}");
        assert_eq!(choices.len(), 5);
        assert!(question_prompt(&wording, &survey, 2).is_none());
        assert!(offer_text(&wording, &survey).contains("\"Nhu cầu tìm hiểu pháp luật\" (2 câu hỏi"));
    }
}
