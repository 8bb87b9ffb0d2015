//! Curated answers in the answer path: before asking the assistant, a question is compared with
//! the questions of active curated answers (staff-approved, see the staff console); the closest
//! one at or above the similarity threshold is answered with the curated text.
//!
//! The curated set is read from the database whenever it changed (checked by a cheap aggregate
//! per question), so an approval on any replica takes effect on all of them. Question vectors of
//! curated entries are kept between reloads.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::answer::curated::cosine;
use crate::answer::Assistant;
use crate::db::{Db, DbError};

/// The curated answer chosen for a question.
#[derive(Debug, Clone)]
pub struct CuratedMatch {
    pub id: i64,
    pub text: String,
    pub article_ids: Vec<String>,
    pub similarity: f32,
}

struct Entry {
    id: i64,
    question: String,
    text: String,
    article_ids: Vec<String>,
    vector: Vec<f32>,
}

#[derive(Default)]
struct Loaded {
    /// (row count, latest update) of the table when loaded.
    version: Option<(i64, String)>,
    entries: Vec<Entry>,
}

pub struct CuratedIndex {
    threshold: f32,
    loaded: Mutex<Loaded>,
}

impl CuratedIndex {
    pub fn new(threshold: f32) -> CuratedIndex {
        CuratedIndex {
            threshold,
            loaded: Mutex::new(Loaded::default()),
        }
    }

    /// The best curated answer for `question`, if one is similar enough. Errors are logged and
    /// read as "no curated answer": the assistant still answers.
    pub async fn best(
        &self,
        db: &Db,
        assistant: &Arc<Assistant>,
        question: &str,
    ) -> Option<CuratedMatch> {
        match self.find(db, assistant, question).await {
            Ok(found) => found,
            Err(error) => {
                tracing::error!(%error, "curated answers unavailable");
                None
            }
        }
    }

    async fn find(
        &self,
        db: &Db,
        assistant: &Arc<Assistant>,
        question: &str,
    ) -> Result<Option<CuratedMatch>, String> {
        let mut loaded = self.loaded.lock().await;
        let version = db
            .curated_version()
            .await
            .map_err(|e: DbError| e.to_string())?;
        if loaded.version.as_ref() != Some(&version) {
            let entries = reload(db, assistant, std::mem::take(&mut loaded.entries)).await?;
            tracing::debug!(curated = entries.len(), "curated answers loaded");
            *loaded = Loaded {
                version: Some(version),
                entries,
            };
        }
        if loaded.entries.is_empty() {
            return Ok(None);
        }
        let vector = embed(assistant, question.to_owned()).await?;
        let best = loaded
            .entries
            .iter()
            .map(|entry| (entry, cosine(&entry.vector, &vector)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        Ok(best
            .filter(|(_, similarity)| *similarity >= self.threshold)
            .map(|(entry, similarity)| CuratedMatch {
                id: entry.id,
                text: entry.text.clone(),
                article_ids: entry.article_ids.clone(),
                similarity,
            }))
    }
}

async fn embed(assistant: &Arc<Assistant>, question: String) -> Result<Vec<f32>, String> {
    let assistant = Arc::clone(assistant);
    tokio::task::spawn_blocking(move || assistant.matching_vector(&question))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Reads the active curated answers, reusing the vectors of questions embedded before.
async fn reload(
    db: &Db,
    assistant: &Arc<Assistant>,
    old: Vec<Entry>,
) -> Result<Vec<Entry>, String> {
    let mut known: HashMap<(i64, String), Vec<f32>> = old
        .into_iter()
        .map(|e| ((e.id, e.question), e.vector))
        .collect();
    let rows = db.curated_answers(false).await.map_err(|e| e.to_string())?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let vector = match known.remove(&(row.id, row.question.clone())) {
            Some(vector) => vector,
            None => match embed(assistant, row.question.clone()).await {
                Ok(vector) => vector,
                Err(error) => {
                    // A curated question that cannot be embedded (say, emptied by an edit) is
                    // skipped, not fatal to the others.
                    tracing::warn!(curated = row.id, %error, "curated question left out");
                    continue;
                }
            },
        };
        let citations: Vec<serde_json::Value> =
            serde_json::from_str(&row.citations).unwrap_or_default();
        entries.push(Entry {
            id: row.id,
            question: row.question,
            text: row.answer_text,
            article_ids: citations
                .iter()
                .filter_map(|c| c["article_id"].as_str().map(str::to_owned))
                .collect(),
            vector,
        });
    }
    Ok(entries)
}
