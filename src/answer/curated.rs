//! Curated answers: answers staff approved become the first reply to later questions that are
//! close enough to the question they answered. The match is by meaning (cosine of the e5 question
//! embeddings of both questions, after the same query normalisation), so "tuổi kết hôn là bao
//! nhiêu" finds the answer approved for "Nam nữ bao nhiêu tuổi thì được kết hôn?".

use super::compose;
use super::conversation::Turn;
use super::{Answer, AskError, Assistant, Outcome, Quote};

/// Longest article text quoted under a curated answer (the staff text is the answer; the quotes
/// show what it rests on).
const MAX_QUOTE_CHARS: usize = 600;

impl Assistant {
    /// The vector a question is compared with curated questions by. Blocking.
    pub fn matching_vector(&self, question: &str) -> Result<Vec<f32>, AskError> {
        let question = self.validate_question(question)?;
        // The same rewriting and diacritics restoration as searching, so chat spellings match.
        let query = self.query(&self.corpus(), &question).expanded;
        let mut vector = self.embedder.embed_query(&query)?;
        normalize(&mut vector);
        Ok(vector)
    }

    /// The answer staff approved, as an [`Answer`] with citations of the articles it rests on
    /// (ids the corpus no longer has are left out), and recorded as a turn of the conversation.
    pub fn curated_answer(
        &self,
        question: &str,
        conversation_id: Option<&str>,
        text: &str,
        article_ids: &[String],
        similarity: f32,
    ) -> Answer {
        let library = self.library();
        let quotes: Vec<Quote> = article_ids
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
        let mut full = format!(
            "{}\n\n(Câu trả lời đã được cán bộ Sở Tư pháp xem xét.)",
            text.trim()
        );
        if !quotes.is_empty() {
            let references: Vec<&str> = quotes.iter().map(|q| q.citation.text.as_str()).collect();
            full.push_str(&format!("\n\nCăn cứ: {}.", references.join("; ")));
        }
        full.push_str(&format!("\n\n{}", wording.disclaimer));
        let conversation_id = conversation_id
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        self.conversations.record(
            &conversation_id,
            Turn {
                question: question.to_owned(),
                search_text: question.to_owned(),
                article_ids: quotes
                    .iter()
                    .map(|q| q.citation.article_id.clone())
                    .collect(),
            },
        );
        Answer {
            conversation_id,
            outcome: Outcome::Answered,
            lead: text.trim().lines().next().unwrap_or("").to_owned(),
            quotes,
            notices: Vec::new(),
            disclaimer: wording.disclaimer.clone(),
            text: full,
            confidence: similarity.clamp(0.0, 1.0),
            needs_review: false,
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
