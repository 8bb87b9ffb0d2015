//! The plan's platform around the chatbot (Kế hoạch 137/KH-UBND, mục III.3): what the province's
//! digital platform does besides answering questions, in the chat flows and for the console.
//!
//! - a person when the bot is not enough: "gặp cán bộ", and an offer of one after a question on a
//!   dispute between neighbours or in a family (grassroots mediation) or on legal-aid
//!   eligibility; the directory of officers by commune (`directory.rs`); staff taking over a
//!   conversation live (`db::handoffs`, replies through the outbox);
//! - online surveys offered at the end of a conversation, opt-in, once per citizen and survey;
//! - the listening report: questions grouped by meaning (`listening.rs`);
//! - support requests of small and medium enterprises (`sme.rs`);
//! - legal news for subscribers, sent by the outbox (`channels::outbox`);
//! - the plan's report numbers (`plan_report.rs`).
//!
//! The chat side is one [`ConversationHook`] (`conversation.rs`) the dispatcher calls around the
//! assistant: the assistant's answers are never changed, only followed by an offer. Everything
//! the platform says is in `prompts/platform.toml`.

pub mod classify;
pub mod conversation;
pub mod directory;
pub mod listening;
pub mod plan_report;
pub mod sme;
pub mod surveys;
pub mod wording;

use std::sync::Arc;
use std::time::Duration;

use crate::channels::dispatch::Dispatcher;
use crate::channels::outbox::{Outbox, OutboxConfig};
use crate::channels::{ChannelKind, Choice, Reply};
use crate::config::Config;
use crate::db::{Db, FlowKind, FlowState, NewOutbound, Outbound, OutboxKind};
use crate::ready::Ready;
use wording::{fill, PlatformWording};

/// The seed of the directory, loaded into an empty directory at start-up: the provincial desks
/// only (see `seed/README.md`); staff import the commune list.
pub const DIRECTORY_SEED: &str = include_str!("../../seed/directory.csv");

/// How long a flow waits for the citizen's next message.
pub const FLOW_TTL: Duration = Duration::from_secs(30 * 60);
/// How long a survey offered on the service's initiative waits for "có" or "không".
pub const OFFER_TTL: Duration = Duration::from_secs(24 * 3600);

/// The legal bases the platform's offers cite, each an article of the corpus. A citation is
/// built from the library (the article's label, the document, its validity) and left out when
/// the document is not in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Luật Hòa giải ở cơ sở, Điều 3 (phạm vi hòa giải ở cơ sở).
    Mediation,
    /// Luật Trợ giúp pháp lý, Điều 7 (người được trợ giúp pháp lý).
    LegalAid,
    /// Luật Hỗ trợ doanh nghiệp nhỏ và vừa, Điều 14 (hỗ trợ thông tin, tư vấn và pháp lý), and
    /// Nghị định 80/2021/NĐ-CP, Điều 13 (hỗ trợ tư vấn).
    SmeSupport,
}

impl Basis {
    pub fn article_ids(self) -> &'static [&'static str] {
        match self {
            Basis::Mediation => &["35-2013-qh13.dieu-3"],
            Basis::LegalAid => &["11-2017-qh14.dieu-7"],
            Basis::SmeSupport => &["04-2017-qh14.dieu-14", "80-2021-nd-cp.dieu-13"],
        }
    }

    /// The law's name, when the corpus in use lacks the article (a smaller corpus).
    fn fallback(self) -> &'static str {
        match self {
            Basis::Mediation => "Luật Hòa giải ở cơ sở",
            Basis::LegalAid => "Luật Trợ giúp pháp lý",
            Basis::SmeSupport => "Luật Hỗ trợ doanh nghiệp nhỏ và vừa",
        }
    }
}

/// The running platform: what the chat flows and the console share.
pub struct Platform {
    pub db: Db,
    pub wording: Arc<PlatformWording>,
    ready: Ready,
    outbox: Option<Outbox>,
    /// How long after a conversation's last question a survey is offered (0: only when the
    /// citizen says thanks).
    survey_offer_idle: Duration,
}

impl Platform {
    /// Loads the wording, seeds an empty directory, starts the outbox on the dispatcher's senders
    /// and the end-of-conversation survey offers, and attaches the platform to the dispatcher.
    pub async fn start(
        config: &Config,
        db: Db,
        ready: Ready,
        dispatcher: &Dispatcher,
    ) -> anyhow::Result<Arc<Platform>> {
        let wording = Arc::new(PlatformWording::load(&config.paths.prompts_dir)?);
        seed_directory(&db).await?;
        let render_wording = Arc::clone(&wording);
        let senders = dispatcher.senders();
        let outbox = (!senders.is_empty()).then(|| {
            Outbox::start(
                db.clone(),
                senders,
                Arc::new(move |row: &Outbound| render_outbound(&render_wording, row)),
                OutboxConfig {
                    per_second: config.platform.outbox_per_second,
                    lease: Duration::from_secs(config.platform.outbox_lease_secs.max(1)),
                    max_attempts: config.channels.send_attempts.max(1),
                    retry_base: Duration::from_millis(config.channels.retry_base_ms),
                    send_timeout: Duration::from_secs(config.channels.send_timeout_secs.max(1)),
                    ..OutboxConfig::default()
                },
            )
        });
        let platform = Arc::new(Platform {
            db: db.clone(),
            wording,
            ready,
            outbox,
            survey_offer_idle: Duration::from_secs(
                config.platform.survey_offer_after_idle_mins * 60,
            ),
        });
        dispatcher.set_hook(platform.clone());
        if !platform.survey_offer_idle.is_zero() {
            surveys::spawn_offers(Arc::clone(&platform), dispatcher.senders());
        }
        spawn_retention(db, config.staff.retention_days);
        Ok(platform)
    }

    /// A platform for the console alone (no chat hook, no outbox worker): tests of pages.
    pub fn for_console(db: Db, ready: Ready, wording: PlatformWording) -> Arc<Platform> {
        Arc::new(Platform {
            db,
            wording: Arc::new(wording),
            ready,
            outbox: None,
            survey_offer_idle: Duration::ZERO,
        })
    }

    /// Rows were queued: the outbox looks now rather than at its next poll.
    pub fn wake_outbox(&self) {
        if let Some(outbox) = &self.outbox {
            outbox.wake();
        }
    }

    /// "Điều 7 Luật Trợ giúp pháp lý số 11/2017/QH14, còn hiệu lực": the articles of `basis`
    /// in force, from the library; the law's name alone when the library lacks them.
    pub fn citation(&self, basis: Basis) -> String {
        let cited: Vec<String> = self
            .ready
            .get()
            .map(|assistant| {
                let library = assistant.library();
                basis
                    .article_ids()
                    .iter()
                    .filter_map(|id| library.article(id))
                    .filter(|entry| entry.document.tinh_trang.is_applicable())
                    .map(|entry| {
                        format!(
                            "{} {}, {}",
                            entry.article.label(),
                            entry.document.citation_title(),
                            lowercase_first(&entry.document.validity_label())
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        if cited.is_empty() {
            basis.fallback().to_owned()
        } else {
            cited.join("; ")
        }
    }

    /// A notice as subscribers receive it.
    pub fn notice_text(&self, title: &str, body: &str) -> String {
        fill(
            &self.wording.wording.news_notice,
            &[("title", title), ("body", body)],
        )
    }

    /// A staff reply in a taken-over conversation, as the citizen receives it.
    pub fn staff_reply_text(&self, text: &str) -> String {
        fill(&self.wording.wording.staff_reply, &[("text", text)])
    }

    /// A staff answer to an SME request, as the enterprise receives it.
    pub fn sme_reply_text(&self, id: i64, text: &str) -> String {
        fill(
            &self.wording.wording.sme_reply,
            &[("id", &id.to_string()), ("text", text)],
        )
    }

    /// Offers `survey` on the service's initiative (the end of a conversation): the response row
    /// (once per citizen and survey), the flow waiting for "có", and the invitation in the
    /// outbox. False when it was offered to this conversation before.
    pub async fn offer_survey_later(
        &self,
        survey: &crate::db::Survey,
        channel: ChannelKind,
        conversation_id: String,
        chat_id: String,
    ) -> Result<bool, crate::db::DbError> {
        let Some(response) = self
            .db
            .offer_survey(survey.id, channel, conversation_id.clone())
            .await?
        else {
            return Ok(false);
        };
        let data = serde_json::json!({ "response": response, "survey": survey.id }).to_string();
        self.db
            .set_flow(
                channel,
                conversation_id.clone(),
                FlowState {
                    kind: FlowKind::SurveyOffer,
                    data,
                },
                OFFER_TTL,
            )
            .await?;
        let text = surveys::offer_text(&self.wording, survey);
        self.db
            .enqueue_outbound(NewOutbound {
                dedupe_key: Some(format!("survey:{}:{channel}:{conversation_id}", survey.id)),
                channel,
                chat_id,
                conversation_id,
                kind: OutboxKind::SurveyOffer,
                source_id: Some(survey.id),
                text,
                staff_id: None,
            })
            .await?;
        self.wake_outbox();
        Ok(true)
    }
}

/// An outbox row as its platform renders it: its text, with the buttons its kind needs.
fn render_outbound(wording: &PlatformWording, row: &Outbound) -> Reply {
    let buttons = &wording.buttons;
    match row.kind {
        OutboxKind::News => Reply::Prompt {
            text: row.text.clone(),
            choices: vec![Choice::new(&buttons.unsubscribe, "hủy nhận tin")],
        },
        OutboxKind::SurveyOffer => Reply::Prompt {
            text: row.text.clone(),
            choices: vec![
                Choice::new(&buttons.yes, "có"),
                Choice::new(&buttons.no, "không"),
            ],
        },
        OutboxKind::StaffReply | OutboxKind::SmeReply => Reply::Notice(row.text.clone()),
    }
}

/// "Còn hiệu lực" → "còn hiệu lực", inside a sentence.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Loads the shipped seed into an empty directory (the first start); a directory staff loaded
/// is never touched.
async fn seed_directory(db: &Db) -> anyhow::Result<()> {
    if !db.directory().await?.is_empty() {
        return Ok(());
    }
    let entries = directory::parse_csv(DIRECTORY_SEED)
        .map_err(|errors| anyhow::anyhow!("seed/directory.csv: {}", errors.0.join(" ")))?;
    let stored = db.replace_directory(entries, None).await?;
    tracing::info!(
        entries = stored,
        "directory seeded with the provincial desks; staff must import the communes"
    );
    Ok(())
}

/// Erases the citizens' texts of the platform's tables after `retention_days` (0 keeps them),
/// at start and then daily, like the staff console's sweep of message texts.
fn spawn_retention(db: Db, retention_days: u64) {
    if retention_days == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut every_day = tokio::time::interval(Duration::from_secs(24 * 3600));
        loop {
            every_day.tick().await;
            let cutoff = crate::db::stored_ago(Duration::from_secs(retention_days * 24 * 3600));
            match db.erase_platform_texts_before(cutoff).await {
                Ok(0) => {}
                Ok(erased) => tracing::info!(erased, retention_days, "old platform texts erased"),
                Err(error) => tracing::error!(%error, "platform retention sweep failed"),
            }
        }
    });
}
