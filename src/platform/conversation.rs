//! The platform's part in a conversation ([`ConversationHook`]): before the assistant, a
//! conversation staff hold gets nothing from the bot, a command ("đăng ký nhận tin", "gặp cán
//! bộ", "khảo sát", "hỗ trợ doanh nghiệp"…) or the next step of a flow is answered here; after
//! the assistant, an answer on a dispute, on legal-aid eligibility or on a business gets the
//! offer of a person or of SME support.
//!
//! Flows live in the database (`conversation_flows`), so a flow survives a restart and goes on
//! on another replica. A database failure here never stops an answer: the text goes to the
//! assistant as if the platform were not there.

use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use super::classify::Situation;
use super::directory::{find_commune, looks_like_a_question, CommuneMatch};
use super::sme::{self, Draft, Step};
use super::surveys::{question_prompt, read_answer, SurveyAnswer};
use super::wording::{fill, is_command};
use super::{Basis, Platform, FLOW_TTL};
use crate::channels::dispatch::typed_rating;
use crate::channels::hook::ConversationHook;
use crate::channels::{notices, ChannelKind, Choice, Reply};
use crate::db::{
    DbError, DirectoryEntry, DirectoryRole, FlowKind, FlowState, HandoffReason, NewHandoff,
    NewSmeRequest, Rating, ResponseStatus, StoredMessage,
};

/// Most contacts one handoff reply lists.
const MAX_CONTACTS: usize = 6;

impl ConversationHook for Platform {
    fn before<'a>(
        &'a self,
        message: &'a StoredMessage,
        text: &'a str,
    ) -> BoxFuture<'a, Option<Reply>> {
        Box::pin(async move {
            match self.turn(message, text).await {
                Ok(reply) => reply,
                Err(error) => {
                    tracing::error!(message = message.id, %error, "platform step failed; the assistant answers");
                    None
                }
            }
        })
    }

    fn after<'a>(
        &'a self,
        _message: &'a StoredMessage,
        question: &'a str,
        reply: Reply,
    ) -> BoxFuture<'a, Reply> {
        Box::pin(async move { self.with_offers(question, reply) })
    }

    fn greeting(&self, _channel: ChannelKind) -> Option<Reply> {
        Some(Reply::Prompt {
            text: notices::GREETING.to_owned(),
            choices: vec![Choice::new(
                &self.wording.buttons.subscribe,
                "đăng ký nhận tin",
            )],
        })
    }
}

/// The flow steps that carry a survey: which response, which survey, which question.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SurveyStep {
    response: i64,
    survey: i64,
    index: usize,
}

impl SurveyStep {
    fn read(data: &str) -> Option<SurveyStep> {
        let value: Value = serde_json::from_str(data).ok()?;
        Some(SurveyStep {
            response: value.get("response")?.as_i64()?,
            survey: value.get("survey")?.as_i64()?,
            index: value.get("index").and_then(Value::as_u64).unwrap_or(0) as usize,
        })
    }

    fn data(self) -> String {
        json!({ "response": self.response, "survey": self.survey, "index": self.index }).to_string()
    }
}

impl Platform {
    /// One text before the assistant; `Ok(None)` lets the assistant answer it.
    async fn turn(&self, message: &StoredMessage, text: &str) -> Result<Option<Reply>, DbError> {
        let (channel, conversation) = (message.channel, message.conversation_id.clone());
        if !channel.answers_in_request() {
            if self.db.held_by_staff(channel, conversation.clone()).await? {
                return Ok(Some(Reply::Held));
            }
            // The citizen wrote: what waited for the platform's window may go now.
            if self
                .db
                .release_waiting_outbound(channel, conversation.clone())
                .await?
                > 0
            {
                self.wake_outbox();
            }
        }
        let commands = &self.wording.commands;
        if is_command(text, &commands.subscribe) {
            return self.subscribe(message).await.map(Some);
        }
        if is_command(text, &commands.unsubscribe) {
            return self.unsubscribe(message).await.map(Some);
        }
        if typed_rating(text) == Some(Rating::Human) {
            return self.hand_off(message).await.map(Some);
        }
        if is_command(text, &commands.survey) {
            return self.start_survey(message).await.map(Some);
        }
        if is_command(text, &commands.sme) {
            return self.start_sme(message).await.map(Some);
        }
        if let Some(flow) = self.db.flow(channel, conversation.clone()).await? {
            if is_command(text, &commands.cancel) {
                return self.cancel(message, &flow).await.map(Some);
            }
            return self.continue_flow(message, text, flow).await;
        }
        if is_command(text, &commands.closing) {
            return self.closing(message).await.map(Some);
        }
        Ok(None)
    }

    async fn set_flow(
        &self,
        message: &StoredMessage,
        kind: FlowKind,
        data: String,
    ) -> Result<(), DbError> {
        self.db
            .set_flow(
                message.channel,
                message.conversation_id.clone(),
                FlowState { kind, data },
                FLOW_TTL,
            )
            .await
    }

    async fn clear_flow(&self, message: &StoredMessage) -> Result<(), DbError> {
        self.db
            .clear_flow(message.channel, message.conversation_id.clone())
            .await
    }

    async fn cancel(&self, message: &StoredMessage, flow: &FlowState) -> Result<Reply, DbError> {
        self.clear_flow(message).await?;
        if flow.kind == FlowKind::Survey {
            if let Some(step) = SurveyStep::read(&flow.data) {
                self.db
                    .set_response_status(step.response, ResponseStatus::Abandoned)
                    .await?;
                return Ok(Reply::Notice(self.wording.wording.survey_abandoned.clone()));
            }
        }
        Ok(Reply::Notice(self.wording.wording.cancelled.clone()))
    }

    async fn continue_flow(
        &self,
        message: &StoredMessage,
        text: &str,
        flow: FlowState,
    ) -> Result<Option<Reply>, DbError> {
        match flow.kind {
            FlowKind::HandoffCommune => self.commune_step(message, text, &flow.data).await,
            FlowKind::SurveyOffer => self.survey_offer_step(message, text, &flow.data).await,
            FlowKind::Survey => self.survey_step(message, text, &flow.data).await,
            FlowKind::Sme => self.sme_step(message, text, &flow.data).await.map(Some),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Legal news

    async fn subscribe(&self, message: &StoredMessage) -> Result<Reply, DbError> {
        let words = &self.wording.wording;
        if message.channel.answers_in_request() {
            return Ok(Reply::Notice(words.news_web.clone()));
        }
        let new = self
            .db
            .subscribe_news(
                message.channel,
                message.chat_id.clone(),
                message.conversation_id.clone(),
            )
            .await?;
        let mut text = if new {
            words.news_subscribed.clone()
        } else {
            words.news_already.clone()
        };
        if message.channel == ChannelKind::ZaloOa {
            text = format!("{text}\n\n{}", words.news_zalo_window);
        }
        Ok(Reply::Prompt {
            text,
            choices: vec![Choice::new(
                &self.wording.buttons.unsubscribe,
                "hủy nhận tin",
            )],
        })
    }

    async fn unsubscribe(&self, message: &StoredMessage) -> Result<Reply, DbError> {
        let words = &self.wording.wording;
        let was = !message.channel.answers_in_request()
            && self
                .db
                .unsubscribe_news(message.channel, message.chat_id.clone())
                .await?;
        if !was {
            return Ok(Reply::Notice(words.news_not_subscribed.clone()));
        }
        Ok(Reply::Prompt {
            text: words.news_unsubscribed.clone(),
            choices: vec![Choice::new(
                &self.wording.buttons.subscribe,
                "đăng ký nhận tin",
            )],
        })
    }

    // -----------------------------------------------------------------------------------------
    // A person: handoff

    /// "Gặp cán bộ": rates the latest answer (it joins the review queue, as before), opens a
    /// handoff for staff, and offers the contacts of the citizen's commune (asking for it first).
    async fn hand_off(&self, message: &StoredMessage) -> Result<Reply, DbError> {
        let (channel, conversation) = (message.channel, message.conversation_id.clone());
        if let Some(answer) = self
            .db
            .latest_answer_id(conversation.clone(), message.id)
            .await?
        {
            self.db.insert_feedback(answer, Rating::Human, None).await?;
        }
        let question = self
            .db
            .latest_question(channel, conversation.clone(), message.id)
            .await?;
        let situation = question
            .as_deref()
            .map(|q| Situation::of(q, &self.wording.situations))
            .unwrap_or_default();
        let reason = if situation.dispute {
            HandoffReason::Dispute
        } else if situation.legal_aid {
            HandoffReason::LegalAid
        } else {
            HandoffReason::HumanRequested
        };
        let commune = self.db.commune_of(channel, conversation.clone()).await?;
        self.db
            .open_handoff(NewHandoff {
                channel,
                conversation_id: conversation,
                chat_id: message.chat_id.clone(),
                reason,
                message_id: Some(message.id),
                commune: commune.as_ref().map(|(name, _)| name.clone()),
            })
            .await?;
        match commune {
            Some(commune) => self.contacts(message, reason, Some(commune)).await,
            None => {
                self.set_flow(
                    message,
                    FlowKind::HandoffCommune,
                    json!({ "reason": reason.as_str() }).to_string(),
                )
                .await?;
                Ok(Reply::Prompt {
                    text: self.wording.wording.handoff_ask_commune.clone(),
                    choices: vec![Choice::new(&self.wording.buttons.skip, "bỏ qua")],
                })
            }
        }
    }

    /// The citizen's answer to "which commune?".
    async fn commune_step(
        &self,
        message: &StoredMessage,
        text: &str,
        data: &str,
    ) -> Result<Option<Reply>, DbError> {
        let data: Value = serde_json::from_str(data).unwrap_or_default();
        let reason = data
            .get("reason")
            .and_then(Value::as_str)
            .and_then(HandoffReason::parse)
            .unwrap_or(HandoffReason::HumanRequested);
        if is_command(text, &self.wording.commands.skip) {
            self.clear_flow(message).await?;
            return self.contacts(message, reason, None).await.map(Some);
        }
        // A number picks one of the places offered before.
        let offered: Vec<(String, String)> = data
            .get("candidates")
            .and_then(|c| serde_json::from_value(c.clone()).ok())
            .unwrap_or_default();
        let picked = text
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| offered.get(i).cloned());
        let found = match picked {
            Some((name, key)) => CommuneMatch::One { name, key },
            None => find_commune(text, &self.db.communes().await?),
        };
        match found {
            CommuneMatch::One { name, key } => {
                self.clear_flow(message).await?;
                self.db
                    .set_commune(
                        message.channel,
                        message.conversation_id.clone(),
                        name.clone(),
                        key.clone(),
                    )
                    .await?;
                self.db
                    .set_handoff_commune(
                        message.channel,
                        message.conversation_id.clone(),
                        name.clone(),
                    )
                    .await?;
                self.contacts(message, reason, Some((name, key)))
                    .await
                    .map(Some)
            }
            CommuneMatch::Several(candidates) => {
                let list: Vec<String> = candidates
                    .iter()
                    .enumerate()
                    .map(|(i, (name, _))| format!("{}. {name}", i + 1))
                    .collect();
                let choices = candidates
                    .iter()
                    .enumerate()
                    .map(|(i, (name, _))| Choice::new(name, (i + 1).to_string()))
                    .collect();
                self.set_flow(
                    message,
                    FlowKind::HandoffCommune,
                    json!({ "reason": reason.as_str(), "candidates": candidates }).to_string(),
                )
                .await?;
                Ok(Some(Reply::Prompt {
                    text: fill(
                        &self.wording.wording.handoff_commune_choose,
                        &[("list", &list.join("\n"))],
                    ),
                    choices,
                }))
            }
            CommuneMatch::None if looks_like_a_question(text) => {
                // A new question, not a place: the assistant answers it.
                self.clear_flow(message).await?;
                Ok(None)
            }
            CommuneMatch::None => {
                let typed: String = text.trim().chars().take(60).collect();
                Ok(Some(Reply::Prompt {
                    text: fill(
                        &self.wording.wording.handoff_commune_unknown,
                        &[("commune", &typed)],
                    ),
                    choices: vec![Choice::new(&self.wording.buttons.skip, "bỏ qua")],
                }))
            }
        }
    }

    /// Who can help: the commune's officers (when known) and the provincial desks, in the order
    /// that fits the reason, with why (the law) and what happens next.
    async fn contacts(
        &self,
        message: &StoredMessage,
        reason: HandoffReason,
        commune: Option<(String, String)>,
    ) -> Result<Reply, DbError> {
        let words = &self.wording.wording;
        let key = commune
            .as_ref()
            .map(|(_, key)| key.clone())
            .unwrap_or_default();
        let mut entries = self.db.directory_for(key.clone()).await?;
        let order: [DirectoryRole; 4] = match reason {
            HandoffReason::Dispute => [
                DirectoryRole::Mediator,
                DirectoryRole::CommuneJustice,
                DirectoryRole::LegalAid,
                DirectoryRole::JusticeDepartment,
            ],
            HandoffReason::LegalAid => [
                DirectoryRole::LegalAid,
                DirectoryRole::CommuneJustice,
                DirectoryRole::Mediator,
                DirectoryRole::JusticeDepartment,
            ],
            HandoffReason::HumanRequested => [
                DirectoryRole::CommuneJustice,
                DirectoryRole::Mediator,
                DirectoryRole::JusticeDepartment,
                DirectoryRole::LegalAid,
            ],
        };
        entries.sort_by_key(|entry| {
            (
                entry.is_provincial(),
                order.iter().position(|role| *role == entry.entry.role),
            )
        });
        let mut parts = Vec::new();
        match reason {
            HandoffReason::Dispute => parts.push(fill(
                &words.handoff_why_dispute,
                &[("citation", &self.citation(Basis::Mediation))],
            )),
            HandoffReason::LegalAid => parts.push(fill(
                &words.handoff_why_legal_aid,
                &[("citation", &self.citation(Basis::LegalAid))],
            )),
            HandoffReason::HumanRequested => {}
        }
        if let Some((name, _)) = &commune {
            if !entries.iter().any(|entry| !entry.is_provincial()) {
                parts.push(fill(&words.handoff_no_contacts, &[("commune", name)]));
            }
        }
        let lines: Vec<String> = entries
            .iter()
            .take(MAX_CONTACTS)
            .map(|entry| self.contact_line(entry))
            .collect();
        let place = commune
            .as_ref()
            .map(|(name, _)| format!(" ở {name}"))
            .unwrap_or_default();
        parts.push(fill(
            &words.handoff_contacts,
            &[("place", &place), ("contacts", &lines.join("\n"))],
        ));
        parts.push(if message.channel.answers_in_request() {
            words.handoff_staff_web.clone()
        } else {
            words.handoff_staff_push.clone()
        });
        Ok(Reply::Notice(parts.join("\n\n")))
    }

    fn contact_line(&self, entry: &DirectoryEntry) -> String {
        let roles = &self.wording.roles;
        let entry = &entry.entry;
        let role = match entry.role {
            DirectoryRole::Mediator => &roles.hoa_giai_vien,
            DirectoryRole::CommuneJustice => &roles.tu_phap_xa,
            DirectoryRole::LegalAid => &roles.tro_giup_phap_ly,
            DirectoryRole::JusticeDepartment => &roles.so_tu_phap,
        };
        let phone = if entry.phone.is_empty() {
            self.wording.wording.contact_no_phone.clone()
        } else {
            entry.phone.clone()
        };
        let mut line = format!("• {role}: {} — {phone}", entry.name);
        for extra in [&entry.hours, &entry.address] {
            if !extra.is_empty() {
                line.push_str("; ");
                line.push_str(extra);
            }
        }
        line
    }

    // -----------------------------------------------------------------------------------------
    // Surveys

    /// "Cảm ơn": thanks, and the newest open survey this citizen was never offered.
    async fn closing(&self, message: &StoredMessage) -> Result<Reply, DbError> {
        let thanks = self.wording.wording.thanks.clone();
        let Some(survey) = self
            .db
            .survey_to_offer(message.channel, message.conversation_id.clone())
            .await?
        else {
            return Ok(Reply::Notice(thanks));
        };
        let Some(response) = self
            .db
            .offer_survey(survey.id, message.channel, message.conversation_id.clone())
            .await?
        else {
            return Ok(Reply::Notice(thanks));
        };
        let step = SurveyStep {
            response,
            survey: survey.id,
            index: 0,
        };
        self.set_flow(message, FlowKind::SurveyOffer, step.data())
            .await?;
        Ok(Reply::Prompt {
            text: format!(
                "{thanks}\n\n{}",
                super::surveys::offer_text(&self.wording, &survey)
            ),
            choices: self.yes_no(),
        })
    }

    fn yes_no(&self) -> Vec<Choice> {
        vec![
            Choice::new(&self.wording.buttons.yes, "có"),
            Choice::new(&self.wording.buttons.no, "không"),
        ]
    }

    /// "Khảo sát": the newest open survey this citizen has not answered, at once.
    async fn start_survey(&self, message: &StoredMessage) -> Result<Reply, DbError> {
        let none = || Reply::Notice(self.wording.wording.survey_none.clone());
        let Some(survey) = self
            .db
            .survey_to_offer(message.channel, message.conversation_id.clone())
            .await?
        else {
            return Ok(none());
        };
        let Some(response) = self
            .db
            .offer_survey(survey.id, message.channel, message.conversation_id.clone())
            .await?
        else {
            return Ok(none());
        };
        self.begin_survey(message, response, survey.id).await
    }

    async fn begin_survey(
        &self,
        message: &StoredMessage,
        response: i64,
        survey_id: i64,
    ) -> Result<Reply, DbError> {
        self.db
            .set_response_status(response, ResponseStatus::Started)
            .await?;
        let survey = self.db.survey(survey_id).await?;
        let prompt = survey
            .as_ref()
            .and_then(|survey| question_prompt(&self.wording, survey, 0));
        let Some(prompt) = prompt else {
            self.clear_flow(message).await?;
            return Ok(Reply::Notice(self.wording.wording.survey_none.clone()));
        };
        let step = SurveyStep {
            response,
            survey: survey_id,
            index: 0,
        };
        self.set_flow(message, FlowKind::Survey, step.data())
            .await?;
        Ok(prompt)
    }

    /// The answer to "do you want to take the survey?".
    async fn survey_offer_step(
        &self,
        message: &StoredMessage,
        text: &str,
        data: &str,
    ) -> Result<Option<Reply>, DbError> {
        let commands = &self.wording.commands;
        let Some(step) = SurveyStep::read(data) else {
            self.clear_flow(message).await?;
            return Ok(None);
        };
        if is_command(text, &commands.yes) {
            return self
                .begin_survey(message, step.response, step.survey)
                .await
                .map(Some);
        }
        if is_command(text, &commands.no) {
            self.clear_flow(message).await?;
            self.db
                .set_response_status(step.response, ResponseStatus::Declined)
                .await?;
            return Ok(Some(Reply::Notice(
                self.wording.wording.survey_declined.clone(),
            )));
        }
        // Something else (a new question): the offer lapses, unanswered.
        self.clear_flow(message).await?;
        Ok(None)
    }

    /// The answer to one survey question.
    async fn survey_step(
        &self,
        message: &StoredMessage,
        text: &str,
        data: &str,
    ) -> Result<Option<Reply>, DbError> {
        let step = SurveyStep::read(data);
        let survey = match step {
            Some(step) => self.db.survey(step.survey).await?,
            None => None,
        };
        let (Some(step), Some(survey)) = (step, survey) else {
            self.clear_flow(message).await?;
            return Ok(None);
        };
        let Some(question) = survey.questions.get(step.index) else {
            self.clear_flow(message).await?;
            return Ok(None);
        };
        let answer = match read_answer(&self.wording, question, text) {
            Ok(answer) => answer,
            Err(unreadable) => {
                // Say why, and ask the same question again (its buttons too).
                let again = question_prompt(&self.wording, &survey, step.index);
                let (text, choices) = match again {
                    Some(Reply::Prompt { text, choices }) => {
                        (format!("{}\n\n{text}", unreadable.0), choices)
                    }
                    _ => (unreadable.0, Vec::new()),
                };
                return Ok(Some(Reply::Prompt { text, choices }));
            }
        };
        let (choice, scale, free) = match answer {
            SurveyAnswer::Choice(n) => (Some(n), None, None),
            SurveyAnswer::Scale(n) => (None, Some(n), None),
            SurveyAnswer::Text(text) => (None, None, Some(text)),
            SurveyAnswer::Skipped => (None, None, None),
        };
        if choice.is_some() || scale.is_some() || free.is_some() {
            self.db
                .record_survey_answer(step.response, question.id, choice, scale, free)
                .await?;
        }
        let next = SurveyStep {
            index: step.index + 1,
            ..step
        };
        match question_prompt(&self.wording, &survey, next.index) {
            Some(prompt) => {
                self.set_flow(message, FlowKind::Survey, next.data())
                    .await?;
                Ok(Some(prompt))
            }
            None => {
                self.clear_flow(message).await?;
                self.db
                    .set_response_status(step.response, ResponseStatus::Completed)
                    .await?;
                Ok(Some(Reply::Notice(
                    self.wording.wording.survey_done.clone(),
                )))
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // SME support requests

    async fn start_sme(&self, message: &StoredMessage) -> Result<Reply, DbError> {
        let previous = self
            .db
            .latest_question(message.channel, message.conversation_id.clone(), message.id)
            .await?;
        let draft = Draft {
            previous,
            ..Draft::default()
        };
        self.save_draft(message, &draft).await?;
        Ok(Reply::Prompt {
            text: fill(
                &self.wording.wording.sme_start,
                &[("citation", &self.citation(Basis::SmeSupport))],
            ),
            choices: vec![Choice::new(&self.wording.buttons.cancel, "hủy")],
        })
    }

    async fn save_draft(&self, message: &StoredMessage, draft: &Draft) -> Result<(), DbError> {
        let data = serde_json::to_string(draft).unwrap_or_else(|_| "{}".into());
        self.set_flow(message, FlowKind::Sme, data).await
    }

    async fn sme_step(
        &self,
        message: &StoredMessage,
        text: &str,
        data: &str,
    ) -> Result<Reply, DbError> {
        let words = &self.wording.wording;
        let commands = &self.wording.commands;
        let cancel = vec![Choice::new(&self.wording.buttons.cancel, "hủy")];
        let prompt = |text: String, choices: Vec<Choice>| Reply::Prompt { text, choices };
        let too_long = |max: usize| fill(&words.sme_too_long, &[("max", &max.to_string())]);
        let mut draft: Draft = serde_json::from_str(data).unwrap_or_default();
        let answer = text.trim();
        let unreadable = answer.is_empty() || answer.chars().any(|c| c.is_control() && c != '\n');
        match draft.step {
            Step::Company => {
                if unreadable || answer.chars().count() > sme::MAX_COMPANY_CHARS {
                    return Ok(prompt(too_long(sme::MAX_COMPANY_CHARS), cancel));
                }
                draft.company = answer.to_owned();
                draft.step = Step::TaxCode;
                self.save_draft(message, &draft).await?;
                Ok(prompt(words.sme_ask_tax_code.clone(), cancel))
            }
            Step::TaxCode => {
                let code = if is_command(answer, &commands.no_tax_code) {
                    String::new()
                } else if let Some(code) = sme::tax_code(answer) {
                    code
                } else {
                    return Ok(prompt(words.sme_bad_tax_code.clone(), cancel));
                };
                draft.tax_code = code;
                draft.step = Step::Question;
                self.save_draft(message, &draft).await?;
                let ask = match &draft.previous {
                    Some(previous) => {
                        let short: String = previous.chars().take(200).collect();
                        fill(&words.sme_ask_question_previous, &[("question", &short)])
                    }
                    None => words.sme_ask_question.clone(),
                };
                Ok(prompt(ask, cancel))
            }
            Step::Question => {
                let question = match &draft.previous {
                    Some(previous) if is_command(answer, &commands.same_question) => {
                        previous.clone()
                    }
                    _ if unreadable || answer.chars().count() > sme::MAX_QUESTION_CHARS => {
                        return Ok(prompt(too_long(sme::MAX_QUESTION_CHARS), cancel));
                    }
                    _ => answer.to_owned(),
                };
                draft.question = question;
                draft.step = Step::Contact;
                self.save_draft(message, &draft).await?;
                Ok(prompt(words.sme_ask_contact.clone(), cancel))
            }
            Step::Contact => {
                if !sme::valid_contact(answer) {
                    return Ok(prompt(words.sme_bad_contact.clone(), cancel));
                }
                draft.contact = answer.to_owned();
                draft.step = Step::Confirm;
                self.save_draft(message, &draft).await?;
                Ok(self.sme_confirmation(&draft))
            }
            Step::Confirm => {
                if !is_command(answer, &commands.confirm) {
                    return Ok(self.sme_confirmation(&draft));
                }
                let id = self
                    .db
                    .create_sme_request(NewSmeRequest {
                        channel: message.channel,
                        conversation_id: message.conversation_id.clone(),
                        chat_id: message.chat_id.clone(),
                        company: draft.company.clone(),
                        tax_code: draft.tax_code.clone(),
                        question: draft.question.clone(),
                        contact: draft.contact.clone(),
                    })
                    .await?;
                self.clear_flow(message).await?;
                tracing::info!(
                    request = id,
                    channel = message.channel.as_str(),
                    "SME support request received"
                );
                Ok(Reply::Notice(fill(
                    &words.sme_sent,
                    &[("id", &id.to_string()), ("contact", &draft.contact)],
                )))
            }
        }
    }

    fn sme_confirmation(&self, draft: &Draft) -> Reply {
        let words = &self.wording.wording;
        let tax_code = if draft.tax_code.is_empty() {
            words.sme_no_tax_code.as_str()
        } else {
            draft.tax_code.as_str()
        };
        Reply::Prompt {
            text: fill(
                &words.sme_confirm,
                &[
                    ("company", &draft.company),
                    ("tax_code", tax_code),
                    ("question", &draft.question),
                    ("contact", &draft.contact),
                ],
            ),
            choices: vec![
                Choice::new(&self.wording.buttons.confirm, "xác nhận"),
                Choice::new(&self.wording.buttons.cancel, "hủy"),
            ],
        }
    }

    // -----------------------------------------------------------------------------------------
    // Offers after an answer

    /// The assistant's answer (or decline), followed by the offer of a person (a dispute, legal
    /// aid) or of SME support (a business question). The quotes are not touched.
    fn with_offers(&self, question: &str, reply: Reply) -> Reply {
        let Reply::Answer {
            mut answer,
            answer_id,
        } = reply
        else {
            return reply;
        };
        let words = &self.wording.wording;
        let situation = Situation::of(question, &self.wording.situations);
        let mut offers = Vec::new();
        if situation.dispute {
            offers.push(fill(
                &words.offer_dispute,
                &[("citation", &self.citation(Basis::Mediation))],
            ));
        } else if situation.legal_aid {
            offers.push(fill(
                &words.offer_legal_aid,
                &[("citation", &self.citation(Basis::LegalAid))],
            ));
        }
        if situation.business {
            offers.push(fill(
                &words.offer_sme,
                &[("citation", &self.citation(Basis::SmeSupport))],
            ));
        }
        for offer in offers {
            answer.text = format!("{}\n\n{offer}", answer.text.trim_end());
            answer.notices.push(offer);
        }
        Reply::Answer { answer, answer_id }
    }
}
