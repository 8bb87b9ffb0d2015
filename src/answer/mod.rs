//! `ask`: the one core API every channel calls. Question in, grounded extractive answer out: a
//! Vietnamese lead sentence, verbatim quotes with precise citations, a disclaimer, a confidence
//! value and a `needs_review` flag; or a polite decline with a useful pointer.

pub mod compose;
pub mod conversation;
pub mod curated;
pub mod diacritics;
pub mod features;
pub mod gate;
pub mod guard;
pub mod prompts;
pub mod query;
pub mod question;
pub mod ranker;
pub mod relevance;
pub mod review;
pub mod scope;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use chrono::NaiveDate;
use moka::sync::Cache;

use crate::config::{ConversationConfig, RetrievalConfig};
use crate::corpus::Validity;
use crate::embed::{EmbedError, Embedder};
use crate::lexical::encode_query;
use crate::library::{Library, LibraryArticle};
use crate::store::{
    ChannelSearch, ChannelVector, HybridQuery, SearchFilter, StoreError, VectorStore,
};
use conversation::{Conversations, Turn};
use prompts::{render, Prompts};
use query::Query;
pub use question::Question;

/// Decline reason when the question is answered by documents no longer (or not yet) in force.
pub const NOT_IN_FORCE_ONLY: &str = "not_in_force_only";
/// Decline reason when nothing in the corpus answers the question well enough.
pub const NO_RELEVANT_TEXT: &str = "no_relevant_text";

/// An article that may answer the question.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub article_id: String,
    /// Clauses of the best chunk (empty when it covers the whole article).
    pub clauses: Vec<String>,
    /// How sure we are that it answers the question (decides declining and review).
    pub confidence: f32,
    /// What candidates are ordered by: the confidence plus how well the heading fits what the
    /// question asks for.
    pub rank_score: f32,
}

/// How much better a text no longer in force must answer than the best text in force for the
/// question to be treated as governed by the replaced law.
const SUPERSEDED_MARGIN: f32 = 0.1;

/// Where `heading_match` sits among the features (the order without a trained model).
const FEATURE_INDEX_HEADING_MATCH: usize = features::feature_index("heading_match");

/// Candidate articles ranked per question; answers quote at most a few of them.
const CANDIDATES: usize = 10;
/// Chunks fetched after fusion to fill [`CANDIDATES`] articles (long articles have several chunks).
const CANDIDATE_CHUNKS: usize = 30;

/// Which retrieval channels rank the candidates. `ask` always uses [`RetrievalMode::Hybrid`]; the
/// single-channel modes are the baselines evaluation compares it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetrievalMode {
    /// Each channel searched on its own, fused, and the best articles ordered by the learned
    /// ranker (`ranker.rs`): what `ask` uses.
    Ranked,
    /// Dense + both lexical channels fused by RRF, re-ranked by the hand-mixed confidence (the
    /// order `ask` used before the learned ranker).
    Hybrid,
    /// The dense (e5) channel alone, in its own order.
    Dense,
    /// The two sparse lexical channels fused by RRF, in fused order.
    Lexical,
}

impl RetrievalMode {
    pub const ALL: [RetrievalMode; 4] = [
        RetrievalMode::Lexical,
        RetrievalMode::Dense,
        RetrievalMode::Hybrid,
        RetrievalMode::Ranked,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RetrievalMode::Ranked => "ranked",
            RetrievalMode::Hybrid => "hybrid",
            RetrievalMode::Dense => "dense",
            RetrievalMode::Lexical => "lexical",
        }
    }
}

impl std::str::FromStr for RetrievalMode {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "ranked" => Ok(RetrievalMode::Ranked),
            "hybrid" => Ok(RetrievalMode::Hybrid),
            "dense" => Ok(RetrievalMode::Dense),
            "lexical" => Ok(RetrievalMode::Lexical),
            other => Err(format!(
                "unknown retrieval mode `{other}` (ranked, hybrid, dense or lexical)"
            )),
        }
    }
}
/// Longest accepted conversation id.
const MAX_CONVERSATION_ID_CHARS: usize = 64;

/// The answer to one question.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub conversation_id: String,
    pub outcome: Outcome,
    /// The first sentence: what the answer rests on, or why it is declined.
    pub lead: String,
    pub quotes: Vec<Quote>,
    /// Validity warnings and the review notice.
    pub notices: Vec<String>,
    pub disclaimer: String,
    /// Everything above as one text, as chat channels send it.
    pub text: String,
    /// 0..1: how sure the service is that the quotes answer the question.
    pub confidence: f32,
    /// Staff should look at this exchange (low confidence, declined for lack of text, expired law).
    pub needs_review: bool,
    /// Why staff should look at it, as every channel records it (see [`review`]).
    pub flags: Vec<review::Flag>,
    /// For a follow-up ("Nộp hồ sơ ở đâu?"), the question it followed ("Thủ tục đăng ký kết hôn
    /// cần giấy tờ gì?"); `None` for a question that stands alone. Stored, so that a curated
    /// answer approved for it is given only in that context.
    pub follows: Option<String>,
}

/// How a question was dealt with; [`Outcome::status`] and [`Outcome::decline_reason`] are what
/// every adapter reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Answered,
    /// Declined: `category` is the out-of-scope category id, [`NOT_IN_FORCE_ONLY`], or `None`
    /// when nothing in the corpus answers the question well enough.
    Declined {
        category: Option<String>,
    },
}

/// A verbatim passage with its citation.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub text: String,
    pub citation: Citation,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    /// Id for `GET /v1/articles/{id}`.
    pub article_id: String,
    /// "Khoản 1 Điều 8" or "Điều 8".
    pub unit: String,
    /// "Điều 8. Điều kiện kết hôn"
    pub heading: String,
    pub document_title: String,
    pub so_hieu: String,
    pub document_type: String,
    pub effective_date: Option<NaiveDate>,
    pub validity: Validity,
    /// "Khoản 1 Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13"
    pub reference: String,
    /// The reference with its validity: "… (hiệu lực từ 01/01/2015, còn hiệu lực)".
    pub text: String,
    /// The source's own citation of the article, when the corpus records one.
    pub source_attribute: Option<String>,
    /// The validity as shown: "Còn hiệu lực", or for an unreviewed compendium document "Theo Bộ
    /// Pháp điển, cập nhật đến 14/11/2025".
    pub validity_label: String,
    /// Later changes to the quoted article: the quote is the wording as first issued.
    pub amendments: Vec<crate::corpus::Amendment>,
    /// Documents that amended the quoted document without a record of which articles they changed.
    pub amended_by_unrecorded: Vec<String>,
}

impl Citation {
    /// "Điều 8" even when the quote is one clause of it.
    pub fn article_label(&self) -> String {
        self.heading
            .split_once(". ")
            .map_or(self.heading.clone(), |(label, _)| label.to_owned())
    }

    /// "Điều kiện kết hôn"
    pub fn heading_title(&self) -> String {
        self.heading
            .split_once(". ")
            .map_or(String::new(), |(_, title)| title.to_owned())
    }
}

/// Why a question could not be asked. User-facing wording lives with the HTTP layer's error codes.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("the question is empty")]
    EmptyQuestion,
    #[error("the question is longer than {max} characters")]
    QuestionTooLong { max: usize },
    /// Characters no text holds (Unicode noncharacters): garbage, not a question. Stray control,
    /// zero-width and odd space characters are removed before this is checked.
    #[error("the question contains characters no text can hold")]
    UnusableCharacters,
    #[error("the conversation id must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'")]
    InvalidConversationId,
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the answer task failed: {0}")]
    Task(String),
}

/// Everything `ask` needs. Cheap to share: hold it in an `Arc`.
pub struct Assistant {
    embedder: Arc<dyn Embedder>,
    store: Arc<dyn VectorStore>,
    /// What depends on the corpus, swapped as one by [`Assistant::replace_library`] after a
    /// re-index while questions keep being answered. Each answer works on one snapshot.
    corpus: RwLock<Arc<CorpusView>>,
    prompts: Arc<Prompts>,
    conversations: Conversations,
    retrieval: RetrievalConfig,
    max_question_chars: usize,
    /// Admits fresh answers (embedding, search, composing) in arrival order, as many at once as
    /// the model has sessions; answer-cache hits skip it.
    gate: gate::FairGate,
    /// The learned ranking stage and calibration (`ranker.rs`); `None` before one is trained.
    ranker: Option<ranker::Ranker>,
    /// Declines by meaning what the out-of-scope patterns miss (`guard.rs`).
    guard: Option<guard::Guard>,
    /// Staff-approved answers, given first when `serve` attached their source.
    curated: OnceLock<curated::CuratedIndex>,
}

/// The corpus as answers see it: the library and what is derived from it.
struct CorpusView {
    library: Arc<Library>,
    /// Restores diacritics of questions typed without them, from the corpus's own wording.
    restorer: diacritics::Restorer,
    /// Answers of standalone questions by searched text (`None` when disabled). In memory and
    /// per corpus: a new library starts with an empty cache, so no answer of the old corpus is
    /// served after a swap (an answer finished during the swap lands in the old, dropped cache).
    answers: Option<Cache<String, Arc<Answer>>>,
}

impl CorpusView {
    fn new(library: Arc<Library>, retrieval: &RetrievalConfig) -> CorpusView {
        let restorer =
            diacritics::Restorer::from_texts(library.articles().map(|entry| {
                format!("{}\n{}", entry.article.heading(), entry.article.body_text())
            }));
        CorpusView {
            library,
            restorer,
            answers: (retrieval.answer_cache_capacity > 0).then(|| {
                Cache::builder()
                    .max_capacity(retrieval.answer_cache_capacity)
                    .time_to_live(Duration::from_secs(retrieval.answer_cache_ttl_secs))
                    .build()
            }),
        }
    }
}

impl Assistant {
    pub fn new(
        embedder: Arc<dyn Embedder>,
        store: Arc<dyn VectorStore>,
        library: Arc<Library>,
        prompts: Arc<Prompts>,
        retrieval: RetrievalConfig,
        conversation: &ConversationConfig,
        max_question_chars: usize,
    ) -> Assistant {
        let embedder_dimension = embedder.dimension();
        Assistant {
            gate: gate::FairGate::new(embedder.parallelism()),
            embedder,
            store,
            corpus: RwLock::new(Arc::new(CorpusView::new(library, &retrieval))),
            prompts,
            conversations: Conversations::new(
                conversation.max_conversations,
                Duration::from_secs(conversation.idle_ttl_secs),
                conversation.max_turns,
            ),
            retrieval,
            max_question_chars,
            ranker: ranker::Ranker::compiled_in().unwrap_or_else(|error| {
                tracing::error!(%error, "the compiled-in ranking model is unusable; ranking by confidence");
                None
            }),
            guard: guard::Guard::compiled_in(embedder_dimension).unwrap_or_else(|error| {
                tracing::error!(%error, "the compiled-in guard is unusable; declining by pattern only");
                None
            }),
            curated: OnceLock::new(),
        }
    }

    /// The library answers are quoted from now. A later [`Assistant::replace_library`] does not
    /// change the one returned here.
    pub fn library(&self) -> Arc<Library> {
        self.corpus().library.clone()
    }

    /// Switches answers to `library` at once (after its chunks were ingested into the store);
    /// answers in progress finish on the old one. The answer cache starts empty. Blocking: the
    /// diacritics restorer is rebuilt from the new texts before the switch.
    pub fn replace_library(&self, library: Arc<Library>) {
        let view = Arc::new(CorpusView::new(library, &self.retrieval));
        *self.corpus.write().unwrap_or_else(|e| e.into_inner()) = view;
    }

    /// Forgets cached answers: they were given from an index that has since grown (the background
    /// ingest of the compendium finished).
    pub fn forget_cached_answers(&self) {
        if let Some(answers) = &self.corpus().answers {
            answers.invalidate_all();
        }
    }

    /// The embedding model, for ingesting into [`Assistant::store`].
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// The index answers search.
    pub fn store(&self) -> &Arc<dyn VectorStore> {
        &self.store
    }

    fn corpus(&self) -> Arc<CorpusView> {
        self.corpus
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Lets conversations this process has not seen (after a restart, or on another replica) be
    /// rebuilt from stored messages.
    pub fn set_history_source(&self, source: Arc<dyn conversation::HistorySource>) {
        self.conversations.set_source(source);
    }

    /// The sensitive topic (`prompts/sensitive.toml`) a question touches, if any: such exchanges
    /// are flagged for staff whatever the answer's confidence. Returns `(id, label)`.
    pub fn sensitive_topic(&self, question: &str) -> Option<(String, String)> {
        self.sensitive_label(&Question::new(question))
    }

    fn sensitive_label(&self, question: &Question) -> Option<(String, String)> {
        scope::sensitive_topic(question, &self.prompts.sensitive)
            .map(|topic| (topic.id.clone(), topic.label.clone()))
    }

    /// Answers on a blocking thread (embedding and search are CPU work), keeping the caller's span.
    pub async fn ask(
        self: &Arc<Self>,
        question: String,
        conversation_id: Option<String>,
    ) -> Result<Answer, AskError> {
        let assistant = Arc::clone(self);
        let span = tracing::Span::current();
        let answer = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            assistant.ask_blocking(&question, conversation_id.as_deref())
        })
        .await
        .map_err(|e| AskError::Task(e.to_string()))??;
        crate::metrics::ask_outcome(&answer);
        Ok(answer)
    }

    /// The answer pipeline. Blocking. A staff-approved curated answer close enough to the question
    /// comes first; otherwise the corpus answers. Every answer carries the reasons staff should
    /// review it ([`Answer::flags`]).
    pub fn ask_blocking(
        &self,
        question: &str,
        conversation_id: Option<&str>,
    ) -> Result<Answer, AskError> {
        let valid = self.validate_question(question)?;
        let conversation_id = match conversation_id {
            Some(id) => validate_conversation_id(id)?,
            None => uuid::Uuid::new_v4().to_string(),
        };
        // A follow-up means what it means after the question it follows: a curated answer is
        // matched in that context ("Nộp hồ sơ ở đâu?" about marriage registration is not "Nộp
        // hồ sơ ở đâu?" about a divorce).
        let history = self.conversations.history(&conversation_id);
        let follows = conversation::followed(&valid, &history).map(str::to_owned);
        let curated = self.curated_answer(valid.text(), follows.as_deref(), &conversation_id);
        let mut answer = match curated {
            Some(answer) => answer,
            None => self.answer_from_corpus(&valid, conversation_id, &[])?,
        };
        let sensitive = self.sensitive_label(&valid).map(|(_, label)| label);
        answer.flags = review::flags(&answer, sensitive);
        answer.follows = follows;
        Ok(answer)
    }

    /// [`Assistant::ask_blocking`] from the corpus alone (no curated answer), as if the documents
    /// `excluded` (số hiệu) were not in the index: how evaluation asks a question whose answer is
    /// not there. Never served from, nor stored in, the answer cache when something is excluded.
    pub fn ask_excluding(
        &self,
        question: &str,
        conversation_id: Option<&str>,
        excluded: &[String],
    ) -> Result<Answer, AskError> {
        let question = self.validate_question(question)?;
        let conversation_id = match conversation_id {
            Some(id) => validate_conversation_id(id)?,
            None => uuid::Uuid::new_v4().to_string(),
        };
        let mut answer = self.answer_from_corpus(&question, conversation_id, excluded)?;
        let sensitive = self.sensitive_label(&question).map(|(_, label)| label);
        answer.flags = review::flags(&answer, sensitive);
        Ok(answer)
    }

    /// The answer the corpus gives: out-of-scope guard, conversation context, query rewriting,
    /// answer cache, retrieval and composition; `excluded` documents are left out of the search.
    fn answer_from_corpus(
        &self,
        question: &Question,
        conversation_id: String,
        excluded: &[String],
    ) -> Result<Answer, AskError> {
        // Checked on the question as typed and with chat abbreviations spelled out ("ko" → không).
        // The rewrite is reused for searching when the question stands alone.
        let rewritten = self.prompts.vocabulary.rewrite(question);
        let category = scope::out_of_scope(question, &self.prompts.out_of_scope)
            .or_else(|| scope::out_of_scope(&rewritten.question, &self.prompts.out_of_scope));
        if let Some(category) = category {
            tracing::info!(category = %category.id, "question out of scope");
            return Ok(self.declined(
                conversation_id,
                Some(category.id.clone()),
                category.reply.clone(),
                1.0,
                category.review,
            ));
        }

        let corpus = self.corpus();
        let history = self.conversations.history(&conversation_id);
        let search_text = conversation::search_text(question, &history);
        let stands_alone = search_text.text() == question.text();
        let query = if stands_alone && self.retrieval.rewrite_queries {
            self.restore(&corpus, rewritten)
        } else {
            self.query(&corpus, &search_text)
        };
        // Only a question that stands alone has an answer independent of its conversation.
        let cache = corpus
            .answers
            .as_ref()
            .filter(|_| stands_alone && excluded.is_empty());
        if let Some(cached) = cache.and_then(|c| c.get(&query.expanded)) {
            crate::metrics::answer_cache(true);
            let mut answer = (*cached).clone();
            answer.conversation_id = conversation_id;
            if answer.outcome == Outcome::Answered {
                let mut article_ids: Vec<String> = Vec::new();
                for quote in &answer.quotes {
                    if !article_ids.contains(&quote.citation.article_id) {
                        article_ids.push(quote.citation.article_id.clone());
                    }
                }
                self.conversations.record(
                    &answer.conversation_id,
                    Turn {
                        question: question.text().to_owned(),
                        search_text: search_text.text().to_owned(),
                        article_ids,
                    },
                );
            }
            tracing::info!(
                confidence = answer.confidence,
                "answered from the answer cache"
            );
            return Ok(answer);
        }
        let key = query.expanded.clone();
        let answer = self.answer_fresh(
            &corpus,
            conversation_id,
            question,
            &search_text,
            query,
            excluded,
        )?;
        if let Some(cache) = cache {
            crate::metrics::answer_cache(false);
            cache.insert(key, Arc::new(answer.clone()));
        }
        Ok(answer)
    }

    /// Retrieval and composition for a question not answered from the cache.
    fn answer_fresh(
        &self,
        corpus: &CorpusView,
        conversation_id: String,
        question: &Question,
        search_text: &Question,
        query: Query,
        excluded: &[String],
    ) -> Result<Answer, AskError> {
        let _admission = self.gate.enter();
        let query_vector = self.embedder.embed_query(&query.expanded)?;
        // The meaning of a follow-up lies partly in the earlier question: only a question that
        // stands alone is judged by the guard.
        if search_text.text() == question.text() {
            if let Some(declined) = self.guarded(&conversation_id, question, &query_vector) {
                return Ok(declined);
            }
        }
        let (candidates, best_not_in_force) =
            self.split_by_validity(corpus, &query, &query_vector, excluded)?;
        let top_confidence = candidates.first().map_or(0.0, |c| c.confidence);
        // A text no longer in force ranked above everything in force, and likely to answer,
        // means the question is governed by a replaced law: say so rather than quote a weak
        // match in force.
        let supersedes = |candidate: &Candidate| {
            let ranks_first = candidates
                .first()
                .is_none_or(|top| candidate.rank_score > top.rank_score);
            let bar = if top_confidence < self.retrieval.decline_below {
                self.retrieval.decline_below
            } else {
                top_confidence + SUPERSEDED_MARGIN
            };
            ranks_first && candidate.confidence >= bar
        };
        if let Some(candidate) = best_not_in_force.filter(supersedes) {
            if let Some(answer) = self.superseded(
                &corpus.library,
                &conversation_id,
                &candidate,
                top_confidence,
            ) {
                return Ok(answer);
            }
        }
        if top_confidence < self.retrieval.decline_below {
            tracing::info!(confidence = top_confidence, "declined: no relevant text");
            return Ok(self.no_relevant_text(conversation_id, top_confidence));
        }

        // The best candidate first, then the next ones only when nearly as likely to answer.
        let mut entries: Vec<(&LibraryArticle, &[String])> = Vec::new();
        for candidate in candidates
            .iter()
            .take(self.retrieval.max_articles)
            .take_while(|c| c.confidence >= top_confidence - 0.05)
        {
            match corpus.library.article(&candidate.article_id) {
                Some(entry) => entries.push((entry, &candidate.clauses)),
                None => tracing::warn!(
                    article_id = %candidate.article_id,
                    "indexed article missing from the corpus in memory"
                ),
            }
        }
        let mut quotes = Vec::new();
        let mut article_ids = Vec::new();
        for (entry, clauses) in entries {
            quotes.extend(compose::quotes_for_article(
                entry,
                query.question.text(),
                clauses,
                self.retrieval.max_clauses_per_article,
                &self.prompts,
            ));
            article_ids.push(entry.id.clone());
        }
        if quotes.is_empty() {
            return Ok(self.no_relevant_text(conversation_id, top_confidence));
        }

        let mut notices = compose::validity_notices(&quotes, &self.prompts);
        let expired = quotes.iter().any(|q| !q.citation.validity.is_applicable());
        let needs_review = top_confidence < self.retrieval.review_below || expired;
        if needs_review {
            notices.push(self.prompts.wording.review_notice.clone());
        }
        let lead = compose::lead(&quotes, &self.prompts);
        let text = compose::render_answer(&lead, &quotes, &notices, &self.prompts);
        self.conversations.record(
            &conversation_id,
            Turn {
                question: question.text().to_owned(),
                search_text: search_text.text().to_owned(),
                article_ids: article_ids.clone(),
            },
        );
        tracing::info!(confidence = top_confidence, needs_review, articles = ?article_ids, "answered");
        Ok(Answer {
            conversation_id,
            outcome: Outcome::Answered,
            lead,
            quotes,
            notices,
            disclaimer: self.prompts.wording.disclaimer.clone(),
            text,
            confidence: top_confidence,
            needs_review,
            flags: Vec::new(),
            follows: None,
        })
    }

    /// The question as answered: what pasting adds that cannot matter (stray control, zero-width
    /// and odd space characters) removed first, then checked for what is truly unusable.
    fn validate_question(&self, question: &str) -> Result<Question, AskError> {
        let question = crate::text::nfc(crate::text::clean_input(question).trim());
        if question.is_empty() {
            return Err(AskError::EmptyQuestion);
        }
        if question.chars().count() > self.max_question_chars {
            return Err(AskError::QuestionTooLong {
                max: self.max_question_chars,
            });
        }
        if crate::text::has_unusable_characters(&question) {
            return Err(AskError::UnusableCharacters);
        }
        Ok(Question::new(question))
    }

    /// National documents, the configured province's, and only those in force unless configured;
    /// never the documents `excluded`.
    fn filter(&self, excluded: &[String]) -> SearchFilter {
        let validity = if self.retrieval.include_expired {
            Vec::new()
        } else {
            Validity::ALL
                .into_iter()
                .filter(|v| v.is_applicable())
                .collect()
        };
        SearchFilter {
            validity,
            scopes: vec![
                "toan_quoc".into(),
                format!("tinh:{}", self.retrieval.province),
            ],
            excluded_documents: excluded.to_vec(),
            ..SearchFilter::default()
        }
    }

    /// The candidate articles for `question` in the context of a conversation (as `ask` would
    /// search it, without recording a turn), ranked by `mode`. Blocking.
    pub fn retrieve(
        &self,
        question: &str,
        conversation_id: Option<&str>,
        mode: RetrievalMode,
    ) -> Result<Vec<Candidate>, AskError> {
        let (corpus, query) = self.searched_query(question, conversation_id)?;
        let query_vector = match mode {
            RetrievalMode::Lexical => Vec::new(),
            RetrievalMode::Ranked | RetrievalMode::Hybrid | RetrievalMode::Dense => {
                self.embedder.embed_query(&query.expanded)?
            }
        };
        match mode {
            RetrievalMode::Ranked => {
                Ok(self.ranked(self.pool(&corpus, &query, &query_vector, self.filter(&[]))?))
            }
            RetrievalMode::Hybrid => self.hybrid_candidates(&query, &query_vector),
            RetrievalMode::Dense | RetrievalMode::Lexical => {
                self.candidates(&query, &query_vector, self.filter(&[]), mode, CANDIDATES)
            }
        }
    }

    /// The candidate pool `ask` ranks for a question, with its features, in fused order, searched
    /// over every validity and without the documents `excluded`, and the question's embedding: the
    /// training data of the ranker and the guard (`hoiluat eval --dump-features`). Blocking.
    pub fn candidate_pool(
        &self,
        question: &str,
        conversation_id: Option<&str>,
        excluded: &[String],
    ) -> Result<(Vec<f32>, Vec<features::ArticleCandidate>), AskError> {
        let (corpus, query) = self.searched_query(question, conversation_id)?;
        let query_vector = self.embedder.embed_query(&query.expanded)?;
        let filter = SearchFilter {
            validity: Vec::new(),
            ..self.filter(excluded)
        };
        let pool = self.pool(&corpus, &query, &query_vector, filter)?;
        Ok((query_vector, pool))
    }

    /// The text `ask` embeds for a question asked outside a conversation: the question with the
    /// vocabulary's legal terms added and, when it was typed without diacritics, with them restored.
    /// Training a query encoder must see exactly this text (`examples/encoder_data.rs`).
    pub fn embedded_text(&self, question: &str) -> Result<String, AskError> {
        let (_, query) = self.searched_query(question, None)?;
        Ok(query.expanded)
    }

    /// The corpus snapshot and what is searched for a question in its conversation.
    fn searched_query(
        &self,
        question: &str,
        conversation_id: Option<&str>,
    ) -> Result<(Arc<CorpusView>, Query), AskError> {
        let question = self.validate_question(question)?;
        let history = conversation_id
            .map(|id| self.conversations.history(id))
            .unwrap_or_default();
        let search_text = conversation::search_text(&question, &history);
        let corpus = self.corpus();
        let query = self.query(&corpus, &search_text);
        Ok((corpus, query))
    }

    /// What `ask` chooses from: the ranked applicable articles, and the best-ranked article of a
    /// text no longer (or not yet) in force, from one search over every validity (unless
    /// `include_expired`, when everything found is a candidate).
    fn split_by_validity(
        &self,
        corpus: &CorpusView,
        query: &Query,
        query_vector: &[f32],
        excluded: &[String],
    ) -> Result<(Vec<Candidate>, Option<Candidate>), AskError> {
        if self.retrieval.include_expired {
            let pool = self.pool(corpus, query, query_vector, self.filter(excluded))?;
            return Ok((self.ranked(pool), None));
        }
        let every_validity = SearchFilter {
            validity: Vec::new(),
            ..self.filter(excluded)
        };
        let ranked = self.ranked(self.pool(corpus, query, query_vector, every_validity)?);
        let mut in_force = Vec::new();
        let mut not_in_force = None;
        for candidate in ranked {
            let applicable = corpus
                .library
                .article(&candidate.article_id)
                .is_some_and(|entry| entry.document.tinh_trang.is_applicable());
            if applicable {
                in_force.push(candidate);
            } else if not_in_force.is_none() {
                not_in_force = Some(candidate);
            }
        }
        Ok((in_force, not_in_force))
    }

    /// Each channel searched on its own under `filter`, fused, grouped into the best
    /// [`features::POOL`] articles (and up to [`features::CORE_RESERVE`] core ones) with their
    /// features.
    fn pool(
        &self,
        corpus: &CorpusView,
        query: &Query,
        query_vector: &[f32],
        filter: SearchFilter,
    ) -> Result<Vec<features::ArticleCandidate>, AskError> {
        let lexical = encode_query(&query.expanded);
        let mut weights = self.retrieval.weights;
        let search = |vector: ChannelVector| {
            self.store.search(&ChannelSearch {
                vector,
                filter: filter.clone(),
                limit: self.retrieval.prefetch_limit,
            })
        };
        let plain_only = query.question.lacks_diacritics();
        if plain_only {
            // Typed without diacritics, the toned channel only meets unrelated words ("thu" is a
            // word too); the diacritics-free channel carries the lexical signal alone.
            weights[2] = weights[1].max(weights[2]);
            weights[1] = 0.0;
        }
        // The dense search runs beside the lexical ones: a question waits for the slowest
        // channel rather than for the sum of the three (eval/README.md, "parallel channels").
        let (dense, toned, plain) = std::thread::scope(|scope| {
            let dense = scope.spawn(|| search(ChannelVector::Dense(query_vector.to_vec())));
            let toned = if plain_only {
                Ok(Vec::new())
            } else {
                search(ChannelVector::Toned(lexical.toned))
            };
            let plain = search(ChannelVector::Plain(lexical.plain));
            let dense = dense
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (dense, toned, plain)
        });
        let (dense, toned, plain) = (dense?, toned?, plain?);
        Ok(features::candidate_pool(
            &features::ChannelHits {
                dense,
                toned,
                plain,
            },
            features::Fusion {
                weights,
                rrf_k: self.retrieval.rrf_k as f32,
            },
            &corpus.library,
            query,
            query_vector,
        ))
    }

    /// The pool in the learned ranker's order, each candidate's confidence the calibrated
    /// probability that it answers the question (as if ranked first among what follows it).
    /// Without a trained model, the order and confidence of earlier versions.
    fn ranked(&self, pool: Vec<features::ArticleCandidate>) -> Vec<Candidate> {
        let Some(ranker) = &self.ranker else {
            let heading = FEATURE_INDEX_HEADING_MATCH;
            let mut candidates: Vec<Candidate> = pool
                .into_iter()
                .map(|c| Candidate {
                    rank_score: c.confidence + self.retrieval.heading_weight * c.features[heading],
                    confidence: c.confidence,
                    article_id: c.article_id,
                    clauses: c.clauses,
                })
                .collect();
            candidates.sort_by(|a, b| b.rank_score.total_cmp(&a.rank_score));
            return candidates;
        };
        let scores = ranker.scores(pool.iter().map(|candidate| candidate.features.as_slice()));
        let mut scored: Vec<(f64, &features::ArticleCandidate)> =
            scores.into_iter().zip(&pool).collect();
        // Stable: an equal score keeps the fused order.
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        (0..scored.len())
            .map(|i| {
                let (score, candidate) = scored[i];
                Candidate {
                    article_id: candidate.article_id.clone(),
                    clauses: candidate.clauses.clone(),
                    confidence: ranker
                        .probability(&scored[i..])
                        .unwrap_or(candidate.confidence),
                    rank_score: score as f32,
                }
            })
            .collect()
    }

    /// The fused-query candidates re-ranked by the hand-mixed confidence: the `hybrid` baseline
    /// of evaluation (how `ask` ranked before the learned ranker), over the applicable texts.
    fn hybrid_candidates(
        &self,
        query: &Query,
        query_vector: &[f32],
    ) -> Result<Vec<Candidate>, AskError> {
        self.candidates(
            query,
            query_vector,
            self.filter(&[]),
            RetrievalMode::Hybrid,
            CANDIDATES,
        )
    }

    /// What is searched for a question (see [`query`]).
    fn query(&self, corpus: &CorpusView, search_text: &Question) -> Query {
        let query = if self.retrieval.rewrite_queries {
            self.prompts.vocabulary.rewrite(search_text)
        } else {
            Query::verbatim(search_text)
        };
        self.restore(corpus, query)
    }

    /// Restores the diacritics of what is embedded when the question was typed without them.
    fn restore(&self, corpus: &CorpusView, mut query: Query) -> Query {
        if self.retrieval.restore_diacritics && query.question.lacks_diacritics() {
            // Only what is embedded changes: the lexical channel already matches without them.
            query.expanded = corpus.restorer.restore(&query.expanded);
        }
        query
    }

    /// Candidate articles for a question under `filter`, each scored by its best chunk, most
    /// confident first. In hybrid mode confidence re-ranks the fused list: it weighs how much of
    /// the question each candidate covers, which the fused rank does not.
    fn candidates(
        &self,
        query: &Query,
        query_vector: &[f32],
        filter: SearchFilter,
        mode: RetrievalMode,
        max_articles: usize,
    ) -> Result<Vec<Candidate>, AskError> {
        let mut lexical = encode_query(&query.expanded);
        let mut weights = match mode {
            RetrievalMode::Hybrid | RetrievalMode::Ranked => self.retrieval.weights,
            RetrievalMode::Dense => [1.0, 0.0, 0.0],
            RetrievalMode::Lexical => [0.0, 1.0, 1.0],
        };
        if query.question.lacks_diacritics() && weights[1] > 0.0 {
            // Typed without diacritics, the toned channel only meets unrelated words ("thu" is a
            // word too); the diacritics-free channel carries the lexical signal alone.
            lexical.toned = Default::default();
            weights[2] = weights[1].max(weights[2]);
        }
        let hits = self.store.query(&HybridQuery {
            dense: query_vector.to_vec(),
            lexical,
            filter,
            prefetch_limit: self.retrieval.prefetch_limit,
            limit: CANDIDATE_CHUNKS,
            rrf_k: self.retrieval.rrf_k,
            weights,
        })?;
        let mut candidates: Vec<Candidate> = Vec::new();
        // The question's side of coverage, once for all hits.
        let terms = relevance::QuestionTerms::of(&query.question);
        let headings = relevance::HeadingTerms::new(&query.expanded, &query.heading_cues);
        for hit in &hits {
            let seen = candidates
                .iter()
                .position(|c| c.article_id == hit.payload.article_id);
            if seen.is_none() && candidates.len() == max_articles {
                continue;
            }
            if mode != RetrievalMode::Hybrid {
                // Baselines keep their channel's own order: the best chunk places the article.
                if seen.is_none() {
                    candidates.push(Candidate {
                        article_id: hit.payload.article_id.clone(),
                        clauses: hit.payload.clauses.clone(),
                        confidence: hit.score,
                        rank_score: hit.score,
                    });
                }
                continue;
            }
            let passage = format!(
                "{} {} {}",
                hit.payload.document_title, hit.payload.heading, hit.payload.text
            );
            let semantic = hit
                .dense
                .as_deref()
                .map_or(0.0, |d| relevance::cosine(query_vector, d));
            let lexical = terms.trusted_coverage(&passage);
            let confidence = relevance::confidence(semantic, lexical);
            // The heading only orders candidates. Matched with the cues of what the question asks
            // for ("ở đâu" → thẩm quyền), a heading such as "Giải thích từ ngữ" fits a "… là gì?"
            // question without saying anything about its topic, so it is no evidence for declining
            // or review (measured: adding it to confidence raised the answered share alike for
            // questions the corpus answers and for those it does not; eval/README.md).
            let heading = headings.heading_match(&hit.payload.heading);
            let rank_score = confidence + self.retrieval.heading_weight * heading;
            tracing::debug!(article_id = %hit.payload.article_id, fused = hit.score, semantic, lexical, heading, confidence, "candidate");
            let candidate = Candidate {
                article_id: hit.payload.article_id.clone(),
                clauses: hit.payload.clauses.clone(),
                confidence,
                rank_score,
            };
            // An article is as good as its best chunk.
            match seen {
                Some(index) if candidates[index].rank_score < rank_score => {
                    candidates[index] = candidate;
                }
                Some(_) => {}
                None => candidates.push(candidate),
            }
        }
        if mode != RetrievalMode::Hybrid {
            return Ok(candidates);
        }
        // Stable sort: an equal score keeps the fused order.
        candidates.sort_by(|a, b| b.rank_score.total_cmp(&a.rank_score));
        Ok(candidates)
    }

    /// The decline for a question that `candidate`, an article of a document no longer (or not yet)
    /// in force, answers best: it names that document and what replaced it, and quotes nothing.
    fn superseded(
        &self,
        library: &Library,
        conversation_id: &str,
        candidate: &Candidate,
        in_force_confidence: f32,
    ) -> Option<Answer> {
        let entry = library.article(&candidate.article_id)?;
        let wording = &self.prompts.wording;
        let meta = &entry.document;
        let replacement = if meta.bi_thay_the_boi.is_empty() {
            String::new()
        } else {
            render(
                &wording.replaced_by,
                &BTreeMap::from([("replaced_by", meta.bi_thay_the_boi.join(", "))]),
            )
        };
        let message = render(
            &wording.declined_not_in_force,
            &BTreeMap::from([
                (
                    "citation",
                    format!("{} {}", entry.article.label(), meta.citation_title()),
                ),
                ("validity", meta.tinh_trang.label().to_lowercase()),
                ("replacement", replacement),
            ]),
        );
        tracing::info!(article_id = %entry.id, in_force_confidence, "declined: a text not in force answers best");
        Some(self.declined(
            conversation_id.to_owned(),
            Some(NOT_IN_FORCE_ONLY.into()),
            message,
            in_force_confidence,
            true,
        ))
    }

    /// The guard's decline of a question it judges not legal, unlawful or a prediction, with the
    /// reply of that category; flagged, so staff see what the guard declines.
    fn guarded(
        &self,
        conversation_id: &str,
        question: &Question,
        query_vector: &[f32],
    ) -> Option<Answer> {
        let (class, probability) = self
            .guard
            .as_ref()?
            .decline(question.text(), query_vector)?;
        let category = self
            .prompts
            .out_of_scope
            .iter()
            .find(|category| category.id == class.category())?;
        tracing::info!(category = %category.id, probability, "question declined by the guard");
        Some(self.declined(
            conversation_id.to_owned(),
            Some(category.id.clone()),
            category.reply.clone(),
            1.0,
            true,
        ))
    }

    /// Nothing in the corpus answers well enough: staff should see the question (and maybe add a
    /// text for it).
    fn no_relevant_text(&self, conversation_id: String, confidence: f32) -> Answer {
        self.declined(
            conversation_id,
            None,
            self.prompts.wording.declined_no_answer.clone(),
            confidence,
            true,
        )
    }

    fn declined(
        &self,
        conversation_id: String,
        category: Option<String>,
        message: String,
        confidence: f32,
        needs_review: bool,
    ) -> Answer {
        Answer {
            conversation_id,
            outcome: Outcome::Declined { category },
            text: message.clone(),
            lead: message,
            quotes: Vec::new(),
            notices: Vec::new(),
            disclaimer: String::new(),
            confidence,
            needs_review,
            flags: Vec::new(),
            follows: None,
        }
    }
}

fn validate_conversation_id(id: &str) -> Result<String, AskError> {
    let valid = !id.is_empty()
        && id.chars().count() <= MAX_CONVERSATION_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(id.to_owned())
    } else {
        Err(AskError::InvalidConversationId)
    }
}
