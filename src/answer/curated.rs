//! Curated answers: answers staff approved become the first reply to later questions that are
//! close enough to the question they answered, on every channel and over the API. The match is by
//! meaning (cosine of the e5 question embeddings of both questions, after the same query
//! normalisation), so "tuổi kết hôn là bao nhiêu" finds the answer approved for "Nam nữ bao nhiêu
//! tuổi thì được kết hôn?".
//!
//! The curated set comes from a [`CuratedSource`] (the database, when `serve` attached one): its
//! version is read on every question (a cheap aggregate) and the set reloaded when it changed, so
//! an approval on any replica takes effect on all of them. Question vectors of curated entries are
//! kept between reloads.
//!
//! A curated answer approved for a follow-up ("Nộp hồ sơ ở đâu?") keeps the question it followed
//! (its context): it is given only to a follow-up close to its question whose own previous
//! question is close to that context, and an answer approved for a question that stood alone only
//! to questions that stand alone. The two parts are compared separately, because one cosine of the
//! joined texts hardly tells "Thủ tục ly hôn …? Nộp hồ sơ ở đâu?" from "Thủ tục đăng ký kết hôn
//! …? Nộp hồ sơ ở đâu?".

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::compose;
use super::conversation::Turn;
use super::prompts::render;
use super::{Answer, AskError, Assistant, Outcome, Quote};

/// Longest article text quoted under a curated answer (the staff text is the answer; the quotes
/// show what it rests on).
const MAX_QUOTE_CHARS: usize = 600;

/// What a source's failure reads as: logged, then "no curated answer" (the corpus still answers).
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// One active curated answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CuratedEntry {
    pub id: i64,
    /// The question staff approved the answer for.
    pub question: String,
    /// For an answer to a follow-up, the question that one followed.
    pub context: Option<String>,
    /// The approved answer.
    pub text: String,
    /// The articles it rests on.
    pub article_ids: Vec<String>,
}

/// Where curated answers are read from. Blocking: called from the answer's blocking thread.
pub trait CuratedSource: Send + Sync {
    /// Changes whenever the curated answers change. Read on every question, so it must be cheap.
    fn version(&self) -> Result<String, SourceError>;
    /// The active curated answers.
    fn active(&self) -> Result<Vec<CuratedEntry>, SourceError>;
}

/// The curated answers of an assistant, with their question vectors.
pub(super) struct CuratedIndex {
    source: Arc<dyn CuratedSource>,
    /// Cosine at or above which a curated answer is given (`channels.curated_similarity`).
    threshold: f32,
    loaded: Mutex<Loaded>,
}

#[derive(Default)]
struct Loaded {
    version: Option<String>,
    entries: Arc<Vec<Entry>>,
}

struct Entry {
    curated: CuratedEntry,
    vector: Vec<f32>,
    /// The vector of the context, for an answer to a follow-up.
    context_vector: Option<Vec<f32>>,
}

impl CuratedIndex {
    pub(super) fn new(source: Arc<dyn CuratedSource>, threshold: f32) -> CuratedIndex {
        CuratedIndex {
            source,
            threshold,
            loaded: Mutex::new(Loaded::default()),
        }
    }

    /// The curated answer closest to `question` (asked after `follows`, for a follow-up), when it
    /// is close enough, with its cosine: the lower of the question's and the context's. Entries
    /// with a context match only follow-ups, the others only questions that stand alone.
    /// `question` has been validated. Failures are logged and read as "none".
    fn best(
        &self,
        assistant: &Assistant,
        question: &str,
        follows: Option<&str>,
    ) -> Option<(CuratedEntry, f32)> {
        let entries = match self.current(assistant) {
            Ok(entries) => entries,
            Err(error) => {
                tracing::error!(%error, "curated answers unavailable");
                return None;
            }
        };
        if entries.is_empty() {
            return None;
        }
        let vectors = assistant.matching_vector(question).and_then(|vector| {
            let context = follows.map(|f| assistant.matching_vector(f)).transpose()?;
            Ok((vector, context))
        });
        let (vector, context) = match vectors {
            Ok(vectors) => vectors,
            Err(error) => {
                tracing::error!(%error, "curated answers unavailable");
                return None;
            }
        };
        entries
            .iter()
            .filter_map(|entry| {
                let similarity = cosine(&entry.vector, &vector);
                match (&entry.context_vector, &context) {
                    (None, None) => Some((entry, similarity)),
                    (Some(theirs), Some(ours)) => {
                        Some((entry, similarity.min(cosine(theirs, ours))))
                    }
                    _ => None,
                }
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .filter(|(_, similarity)| *similarity >= self.threshold)
            .map(|(entry, similarity)| (entry.curated.clone(), similarity))
    }

    /// The active entries, reloaded when the source's version changed.
    fn current(&self, assistant: &Assistant) -> Result<Arc<Vec<Entry>>, SourceError> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let version = self.source.version()?;
        if loaded.version.as_ref() != Some(&version) {
            let entries = self.reload(assistant, &loaded.entries)?;
            tracing::debug!(curated = entries.len(), "curated answers loaded");
            *loaded = Loaded {
                version: Some(version),
                entries: Arc::new(entries),
            };
        }
        Ok(Arc::clone(&loaded.entries))
    }

    /// Reads the active curated answers, reusing the vectors of questions embedded before.
    fn reload(&self, assistant: &Assistant, old: &[Entry]) -> Result<Vec<Entry>, SourceError> {
        let known: HashMap<(i64, &str, Option<&str>), &Entry> = old
            .iter()
            .map(|e| {
                let c = &e.curated;
                ((c.id, c.question.as_str(), c.context.as_deref()), e)
            })
            .collect();
        let mut entries = Vec::new();
        for curated in self.source.active()? {
            let key = (
                curated.id,
                curated.question.as_str(),
                curated.context.as_deref(),
            );
            let vectors = match known.get(&key) {
                Some(entry) => Ok((entry.vector.clone(), entry.context_vector.clone())),
                None => assistant
                    .matching_vector(&curated.question)
                    .and_then(|vector| {
                        let context = curated.context.as_deref();
                        let context = context.map(|c| assistant.matching_vector(c)).transpose()?;
                        Ok((vector, context))
                    }),
            };
            match vectors {
                Ok((vector, context_vector)) => entries.push(Entry {
                    curated,
                    vector,
                    context_vector,
                }),
                // A curated question that cannot be embedded (say, emptied by an edit) is
                // skipped, not fatal to the others.
                Err(error) => {
                    tracing::warn!(curated = curated.id, %error, "curated question left out");
                }
            }
        }
        Ok(entries)
    }
}

impl Assistant {
    /// Lets `ask` give the curated answers of `source` first, to questions whose cosine with a
    /// curated question is at least `threshold` (once; later calls are ignored).
    pub fn set_curated_source(&self, source: Arc<dyn CuratedSource>, threshold: f32) {
        if self
            .curated
            .set(CuratedIndex::new(source, threshold))
            .is_err()
        {
            tracing::warn!("a curated answer source was attached twice; the first one stays");
        }
    }

    /// The staff-approved answer to `question` (validated), asked after `follows` for a
    /// follow-up, when one is close enough in that context. Blocking.
    pub(super) fn curated_answer(
        &self,
        question: &str,
        follows: Option<&str>,
        conversation_id: &str,
    ) -> Option<Answer> {
        let (curated, similarity) = self.curated.get()?.best(self, question, follows)?;
        tracing::debug!(curated = curated.id, similarity, "curated answer");
        let in_context = super::conversation::in_context(question, follows);
        Some(self.curated_reply(question, &in_context, conversation_id, &curated, similarity))
    }

    /// The vector a question is compared with curated questions by. Blocking.
    fn matching_vector(&self, question: &str) -> Result<Vec<f32>, AskError> {
        let question = self.validate_question(question)?;
        // The same rewriting and diacritics restoration as searching, so chat spellings match.
        let query = self.query(&self.corpus(), &question).expanded;
        let mut vector = self.embedder.embed_query(&query)?;
        normalize(&mut vector);
        Ok(vector)
    }

    /// The answer staff approved, as an [`Answer`] with citations of the articles it rests on
    /// (ids the corpus no longer has are left out), and recorded as a turn of the conversation.
    fn curated_reply(
        &self,
        question: &str,
        in_context: &str,
        conversation_id: &str,
        curated: &CuratedEntry,
        similarity: f32,
    ) -> Answer {
        let library = self.library();
        let quotes: Vec<Quote> = curated
            .article_ids
            .iter()
            .filter_map(|id| library.article(id))
            .map(|entry| {
                let body: String = entry
                    .article
                    .body_text()
                    .chars()
                    .take(MAX_QUOTE_CHARS)
                    .collect();
                Quote {
                    text: body,
                    citation: compose::citation(entry, None, &[], &self.prompts),
                }
            })
            .collect();
        let wording = &self.prompts.wording;
        let text = curated.text.trim();
        let mut full = format!("{text}\n\n{}", wording.curated_notice);
        if !quotes.is_empty() {
            let references: Vec<&str> = quotes.iter().map(|q| q.citation.text.as_str()).collect();
            let basis = render(
                &wording.curated_basis,
                &BTreeMap::from([("references", references.join("; "))]),
            );
            full.push_str(&format!("\n\n{basis}"));
        }
        full.push_str(&format!("\n\n{}", wording.disclaimer));
        self.conversations.record(
            conversation_id,
            Turn {
                question: question.to_owned(),
                search_text: in_context.to_owned(),
                article_ids: quotes
                    .iter()
                    .map(|q| q.citation.article_id.clone())
                    .collect(),
            },
        );
        Answer {
            conversation_id: conversation_id.to_owned(),
            outcome: Outcome::Answered,
            // All of it: a channel that shows the lead, the quotes and the disclaimer (Telegram)
            // must show the whole staff answer, and the notice that staff approved it.
            lead: text.to_owned(),
            quotes,
            notices: vec![wording.curated_notice.clone()],
            disclaimer: wording.disclaimer.clone(),
            text: full,
            confidence: similarity.clamp(0.0, 1.0),
            needs_review: false,
            flags: Vec::new(),
            follows: None,
        }
    }
}

pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine of two normalised vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
