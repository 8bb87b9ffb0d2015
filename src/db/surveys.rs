//! Online surveys (khảo sát trực tuyến): surveys staff build, the offer of one to a citizen (at
//! most once per citizen and survey: the unique key of `survey_responses`), their answers, and
//! the results. Free-text answers are citizens' words: masked wherever staff read them and erased
//! after the retention period (`erase_platform_texts_before`).

use std::time::Duration;

use super::directory::audit_in;
use super::flows::stored_ago;
use super::kinds::ChannelKind;
use super::platform_kinds::{QuestionKind, ResponseStatus, SurveyStatus};
use super::sql::{params, Conn};
use super::{now_text, Db, DbError};

#[derive(Debug, Clone, PartialEq)]
pub struct NewQuestion {
    pub kind: QuestionKind,
    pub prompt: String,
    /// The choices of a single-choice question (empty otherwise).
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSurvey {
    pub title: String,
    pub intro: String,
    pub questions: Vec<NewQuestion>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SurveyQuestion {
    pub id: i64,
    pub position: u32,
    pub question: NewQuestion,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    pub id: i64,
    pub title: String,
    pub intro: String,
    pub status: SurveyStatus,
    pub created_at: String,
    pub questions: Vec<SurveyQuestion>,
}

/// A survey in the console's list, with how far citizens got.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveySummary {
    pub id: i64,
    pub title: String,
    pub status: SurveyStatus,
    pub created_at: String,
    pub offered: i64,
    pub completed: i64,
}

/// What citizens answered to one question.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuestionResults {
    /// Single choice: count per option, in option order. Scale: count per score 1..=5.
    pub counts: Vec<i64>,
    /// Free text: the latest answers (not masked), newest first.
    pub texts: Vec<String>,
    pub answered: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SurveyResults {
    pub survey: Survey,
    /// Responses by status (offered, declined, started, completed, abandoned).
    pub responses: Vec<(ResponseStatus, i64)>,
    pub questions: Vec<QuestionResults>,
}

/// One answer, for the CSV export.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyAnswerRow {
    pub response_id: i64,
    pub channel: ChannelKind,
    pub status: ResponseStatus,
    pub completed_at: Option<String>,
    pub position: u32,
    pub kind: QuestionKind,
    pub choice: Option<i64>,
    pub scale: Option<i64>,
    /// Not masked.
    pub text: Option<String>,
}

/// A conversation the end-of-conversation offer is for.
#[derive(Debug, Clone, PartialEq)]
pub struct IdleConversation {
    pub channel: ChannelKind,
    pub conversation_id: String,
    pub chat_id: String,
}

/// Most free-text answers a results page shows.
const LATEST_TEXTS: usize = 50;

fn survey_questions(c: &mut Conn<'_>, survey_id: i64) -> Result<Vec<SurveyQuestion>, DbError> {
    c.query(
        "SELECT id, position, kind, prompt, options FROM survey_questions WHERE survey_id = ?1 ORDER BY position",
        params![survey_id],
    )?
    .iter()
    .map(|r| {
        let options: String = r.get(4)?;
        Ok(SurveyQuestion {
            id: r.get(0)?,
            position: r.get(1)?,
            question: NewQuestion {
                kind: r.get(2)?,
                prompt: r.get(3)?,
                options: serde_json::from_str(&options).unwrap_or_default(),
            },
        })
    })
    .collect()
}

fn load_survey(c: &mut Conn<'_>, id: i64) -> Result<Option<Survey>, DbError> {
    let Some(row) = c.query_opt(
        "SELECT id, title, intro, status, created_at FROM surveys WHERE id = ?1",
        params![id],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(Survey {
        id: row.get(0)?,
        title: row.get(1)?,
        intro: row.get(2)?,
        status: row.get(3)?,
        created_at: row.get(4)?,
        questions: survey_questions(c, id)?,
    }))
}

impl Db {
    /// Stores a new survey (a draft) with its questions; its id.
    pub async fn create_survey(&self, survey: NewSurvey, staff_id: i64) -> Result<i64, DbError> {
        self.transaction(move |c| {
            let now = now_text();
            let id: i64 = c
                .query_one(
                    "INSERT INTO surveys (title, intro, status, created_by, created_at, updated_at)
                     VALUES (?1, ?2, 'draft', ?3, ?4, ?4) RETURNING id",
                    params![&survey.title, &survey.intro, staff_id, &now],
                )?
                .get(0)?;
            for (index, question) in survey.questions.iter().enumerate() {
                let options = serde_json::to_string(&question.options).unwrap_or_else(|_| "[]".into());
                c.execute(
                    "INSERT INTO survey_questions (survey_id, position, kind, prompt, options) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, index + 1, question.kind, &question.prompt, options],
                )?;
            }
            audit_in(c, staff_id, "survey_create", format!("survey:{id}"), None)?;
            Ok(id)
        })
        .await
    }

    /// Opens, closes (or reopens) a survey. False when there is no such survey.
    pub async fn set_survey_status(
        &self,
        id: i64,
        status: SurveyStatus,
        staff_id: i64,
    ) -> Result<bool, DbError> {
        self.transaction(move |c| {
            let changed = c.execute(
                "UPDATE surveys SET status = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, status, now_text()],
            )?;
            if changed == 1 {
                audit_in(
                    c,
                    staff_id,
                    &format!("survey_{status}"),
                    format!("survey:{id}"),
                    None,
                )?;
            }
            Ok(changed == 1)
        })
        .await
    }

    pub async fn surveys(&self) -> Result<Vec<SurveySummary>, DbError> {
        self.run(|c| {
            c.query(
                "SELECT s.id, s.title, s.status, s.created_at,
                        (SELECT count(*) FROM survey_responses r WHERE r.survey_id = s.id),
                        (SELECT count(*) FROM survey_responses r WHERE r.survey_id = s.id AND r.status = 'completed')
                 FROM surveys s ORDER BY s.id DESC",
                params![],
            )?
            .iter()
            .map(|r| {
                Ok(SurveySummary {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    status: r.get(2)?,
                    created_at: r.get(3)?,
                    offered: r.get(4)?,
                    completed: r.get(5)?,
                })
            })
            .collect()
        })
        .await
    }

    pub async fn survey(&self, id: i64) -> Result<Option<Survey>, DbError> {
        self.run(move |c| load_survey(c, id)).await
    }

    /// The newest open survey this conversation was never offered.
    pub async fn survey_to_offer(
        &self,
        channel: ChannelKind,
        conversation_id: String,
    ) -> Result<Option<Survey>, DbError> {
        self.run(move |c| {
            let Some(row) = c.query_opt(
                "SELECT s.id FROM surveys s WHERE s.status = 'open'
                   AND EXISTS (SELECT 1 FROM survey_questions q WHERE q.survey_id = s.id)
                   AND NOT EXISTS (SELECT 1 FROM survey_responses r
                                   WHERE r.survey_id = s.id AND r.channel = ?1 AND r.conversation_id = ?2)
                 ORDER BY s.id DESC LIMIT 1",
                params![channel, conversation_id],
            )?
            else {
                return Ok(None);
            };
            load_survey(c, row.get(0)?)
        })
        .await
    }

    /// Records that a survey was offered to a conversation; the response's id, or `None` when it
    /// was offered to this conversation before (at most once per citizen and survey).
    pub async fn offer_survey(
        &self,
        survey_id: i64,
        channel: ChannelKind,
        conversation_id: String,
    ) -> Result<Option<i64>, DbError> {
        self.run(move |c| {
            c.query_opt(
                "INSERT INTO survey_responses (survey_id, channel, conversation_id, status, offered_at)
                 VALUES (?1, ?2, ?3, 'offered', ?4)
                 ON CONFLICT (survey_id, channel, conversation_id) DO NOTHING RETURNING id",
                params![survey_id, channel, conversation_id, now_text()],
            )?
            .map(|r| r.get(0))
            .transpose()
        })
        .await
    }

    pub async fn set_response_status(
        &self,
        response_id: i64,
        status: ResponseStatus,
    ) -> Result<(), DbError> {
        self.run(move |c| {
            let now = now_text();
            let started = (status == ResponseStatus::Started).then(|| now.clone());
            let completed = (status == ResponseStatus::Completed).then(|| now.clone());
            c.execute(
                "UPDATE survey_responses SET status = ?2, started_at = COALESCE(?3, started_at),
                   completed_at = COALESCE(?4, completed_at) WHERE id = ?1",
                params![response_id, status, started, completed],
            )
            .map(|_| ())
        })
        .await
    }

    /// Stores (or replaces) the answer to one question.
    pub async fn record_survey_answer(
        &self,
        response_id: i64,
        question_id: i64,
        choice: Option<i64>,
        scale: Option<i64>,
        text: Option<String>,
    ) -> Result<(), DbError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO survey_answers (response_id, question_id, choice, scale, text, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (response_id, question_id) DO UPDATE SET choice = excluded.choice,
                   scale = excluded.scale, text = excluded.text, at = excluded.at",
                params![response_id, question_id, choice, scale, text, now_text()],
            )
            .map(|_| ())
        })
        .await
    }

    pub async fn survey_results(&self, id: i64) -> Result<Option<SurveyResults>, DbError> {
        self.run(move |c| {
            let Some(survey) = load_survey(c, id)? else {
                return Ok(None);
            };
            let responses = c
                .query(
                    "SELECT status, count(*) FROM survey_responses WHERE survey_id = ?1 GROUP BY status",
                    params![id],
                )?
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?)))
                .collect::<Result<Vec<(ResponseStatus, i64)>, DbError>>()?;
            let mut questions = Vec::new();
            for question in &survey.questions {
                let mut results = QuestionResults::default();
                match question.question.kind {
                    QuestionKind::SingleChoice | QuestionKind::Scale => {
                        let (column, slots) = match question.question.kind {
                            QuestionKind::Scale => ("scale", 5),
                            _ => ("choice", question.question.options.len()),
                        };
                        results.counts = vec![0; slots];
                        for row in c.query(
                            &format!(
                                "SELECT {column}, count(*) FROM survey_answers WHERE question_id = ?1
                                   AND {column} IS NOT NULL GROUP BY {column}"
                            ),
                            params![question.id],
                        )? {
                            let (value, count): (i64, i64) = (row.get(0)?, row.get(1)?);
                            // Stored values are 1-based and checked when answered.
                            if let Some(slot) = usize::try_from(value - 1).ok().and_then(|i| results.counts.get_mut(i)) {
                                *slot += count;
                            }
                            results.answered += count;
                        }
                    }
                    QuestionKind::Text => {
                        results.answered = c
                            .query_one(
                                "SELECT count(*) FROM survey_answers WHERE question_id = ?1 AND text IS NOT NULL",
                                params![question.id],
                            )?
                            .get(0)?;
                        results.texts = c
                            .query(
                                "SELECT text FROM survey_answers WHERE question_id = ?1 AND text IS NOT NULL
                                 ORDER BY id DESC LIMIT ?2",
                                params![question.id, LATEST_TEXTS],
                            )?
                            .iter()
                            .map(|r| r.get(0))
                            .collect::<Result<_, DbError>>()?;
                    }
                }
                questions.push(results);
            }
            Ok(Some(SurveyResults {
                survey,
                responses,
                questions,
            }))
        })
        .await
    }

    /// Every answer of a survey, by response and question, for the CSV export.
    pub async fn survey_answer_rows(&self, id: i64) -> Result<Vec<SurveyAnswerRow>, DbError> {
        self.run(move |c| {
            c.query(
                "SELECT r.id, r.channel, r.status, r.completed_at, q.position, q.kind, a.choice, a.scale, a.text
                 FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id
                 JOIN survey_questions q ON q.id = a.question_id
                 WHERE r.survey_id = ?1 ORDER BY r.id, q.position",
                params![id],
            )?
            .iter()
            .map(|r| {
                Ok(SurveyAnswerRow {
                    response_id: r.get(0)?,
                    channel: r.get(1)?,
                    status: r.get(2)?,
                    completed_at: r.get(3)?,
                    position: r.get(4)?,
                    kind: r.get(5)?,
                    choice: r.get(6)?,
                    scale: r.get(7)?,
                    text: r.get(8)?,
                })
            })
            .collect()
        })
        .await
    }

    /// Conversations of `channels` whose last question was answered between `idle` and `within`
    /// ago, that were never offered the newest open survey, and that are in no flow or handoff:
    /// where the end-of-conversation offer goes. At most `limit`.
    pub async fn conversations_for_survey_offer(
        &self,
        survey_id: i64,
        channels: Vec<ChannelKind>,
        idle: Duration,
        within: Duration,
        limit: usize,
    ) -> Result<Vec<IdleConversation>, DbError> {
        let (latest, earliest) = (stored_ago(idle), stored_ago(within));
        self.run(move |c| {
            let rows = c.query(
                "SELECT m.channel, m.conversation_id, max(m.chat_id) FROM messages m
                 WHERE m.kind = 'text' AND m.received_at >= ?2
                 GROUP BY m.channel, m.conversation_id
                 HAVING max(m.received_at) <= ?1
                 ORDER BY max(m.received_at) LIMIT ?3",
                params![&latest, &earliest, limit.saturating_mul(4)],
            )?;
            let mut found = Vec::new();
            for row in rows {
                let conversation = IdleConversation {
                    channel: row.get(0)?,
                    conversation_id: row.get(1)?,
                    chat_id: row.get(2)?,
                };
                if !channels.contains(&conversation.channel) {
                    continue;
                }
                let busy = c
                    .query_opt(
                        "SELECT 1 WHERE EXISTS (SELECT 1 FROM survey_responses WHERE survey_id = ?1 AND channel = ?2 AND conversation_id = ?3)
                            OR EXISTS (SELECT 1 FROM conversation_flows WHERE channel = ?2 AND conversation_id = ?3 AND expires_at > ?4)
                            OR EXISTS (SELECT 1 FROM handoffs WHERE channel = ?2 AND conversation_id = ?3 AND status IN ('open', 'taken'))",
                        params![survey_id, conversation.channel, &conversation.conversation_id, now_text()],
                    )?
                    .is_some();
                if !busy {
                    found.push(conversation);
                }
                if found.len() >= limit {
                    break;
                }
            }
            Ok(found)
        })
        .await
    }
}
