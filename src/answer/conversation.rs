//! Short-lived conversation memory, so that a follow-up such as "Nộp ở đâu?" is understood in the
//! light of the previous question. Recent turns live in memory (moka, bounded, idle expiry); when
//! a [`HistorySource`] is attached (the channels' database), a conversation this process has not
//! seen — after a restart, or on another replica — is rebuilt from the stored messages.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use moka::sync::Cache;

use super::question::Question;

/// One answered question of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub question: String,
    /// The text actually searched (the question, or the question with its context).
    pub search_text: String,
    /// Articles the answer quoted.
    pub article_ids: Vec<String>,
}

/// Where earlier turns of a conversation can be read back from.
pub trait HistorySource: Send + Sync {
    /// Up to `max` most recent turns (oldest first) of the conversation, not older than `within`.
    /// Blocking. Errors are the source's to log; they read as "no history".
    fn recent_turns(&self, conversation_id: &str, max: usize, within: Duration) -> Vec<Turn>;
}

#[derive(Clone)]
pub struct Conversations {
    turns: Cache<String, Arc<Vec<Turn>>>,
    max_turns: usize,
    idle_ttl: Duration,
    source: Arc<OnceLock<Arc<dyn HistorySource>>>,
}

impl Conversations {
    pub fn new(max_conversations: u64, idle_ttl: Duration, max_turns: usize) -> Conversations {
        Conversations {
            turns: Cache::builder()
                .max_capacity(max_conversations)
                .time_to_idle(idle_ttl)
                .build(),
            max_turns: max_turns.max(1),
            idle_ttl,
            source: Arc::new(OnceLock::new()),
        }
    }

    /// Attaches the store conversations are rebuilt from (once; later calls are ignored).
    pub fn set_source(&self, source: Arc<dyn HistorySource>) {
        let _ = self.source.set(source);
    }

    pub fn history(&self, conversation_id: &str) -> Arc<Vec<Turn>> {
        let cached = self.turns.get(conversation_id);
        let Some(source) = self.source.get() else {
            return cached.unwrap_or_default();
        };
        // The database is the record: another replica may have answered the last turn. The
        // cached turns are kept when they end with the same question (they also hold the context
        // each follow-up was searched with, which the database does not).
        let stored = source.recent_turns(conversation_id, self.max_turns, self.idle_ttl);
        match cached {
            Some(cached)
                if stored.is_empty()
                    || cached.last().map(|t| &t.question) == stored.last().map(|t| &t.question) =>
            {
                cached
            }
            _ if stored.is_empty() => Arc::default(),
            _ => {
                let turns = Arc::new(stored);
                self.turns
                    .insert(conversation_id.to_owned(), Arc::clone(&turns));
                turns
            }
        }
    }

    pub fn record(&self, conversation_id: &str, turn: Turn) {
        let mut turns: Vec<Turn> = self.history(conversation_id).as_ref().clone();
        turns.push(turn);
        let excess = turns.len().saturating_sub(self.max_turns);
        turns.drain(..excess);
        self.turns
            .insert(conversation_id.to_owned(), Arc::new(turns));
    }
}

/// Words that open a follow-up ("Còn …", "Vậy …", "Thế …"). Compared with their diacritics when
/// the question has them, so "Con tôi 17 tuổi…" (my child) is not read as "Còn…" (and what about).
const FOLLOW_UP_OPENERS: &[&str] = &[
    "còn",
    "vậy",
    "thế",
    "nếu vậy",
    "trường hợp này",
    "trường hợp đó",
];
/// Words that point back at something said before ("ở đó", "việc này", "thủ tục đó").
const BACK_REFERENCES: &[&str] = &["đó", "này", "kia", "trên"];
/// A question this short rarely stands alone ("Nộp ở đâu?", "Mất bao lâu?").
const SHORT_QUESTION_SYLLABLES: usize = 6;

/// Whether `question` depends on the previous turn for its meaning.
pub fn is_follow_up(question: &Question) -> bool {
    let words = question.words();
    if words.is_empty() {
        return false;
    }
    if words.len() <= SHORT_QUESTION_SYLLABLES {
        return true;
    }
    let starts_with = |phrase: &str| words.starts_with(&question.fold(phrase));
    let back_references: Vec<String> = BACK_REFERENCES
        .iter()
        .flat_map(|w| question.fold(w))
        .collect();
    FOLLOW_UP_OPENERS.iter().any(|opener| starts_with(opener))
        || words.len() <= 10 && words.iter().any(|w| back_references.contains(w))
}

/// The question `question` follows up, when it is a follow-up and the conversation has one.
pub fn followed<'a>(question: &Question, history: &'a [Turn]) -> Option<&'a str> {
    history
        .last()
        .filter(|_| is_follow_up(question))
        .map(|previous| previous.question.as_str())
}

/// The text to search for `question` given the conversation so far: the question itself when it
/// stands alone.
pub fn search_text(question: &Question, history: &[Turn]) -> Question {
    match followed(question, history) {
        Some(previous) => Question::new(in_context(question.text(), Some(previous))),
        None => question.clone(),
    }
}

/// `question` as it is understood after the question it `follows`, if any.
pub fn in_context(question: &str, follows: Option<&str>) -> String {
    match follows {
        Some(previous) => format!("{previous} {question}"),
        None => question.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(question: &str) -> Turn {
        Turn {
            question: question.into(),
            search_text: question.into(),
            article_ids: vec![],
        }
    }

    #[test]
    fn detects_follow_ups() {
        let follow_up = |q: &str| is_follow_up(&Question::new(q));
        assert!(follow_up("Nộp ở đâu?"));
        assert!(follow_up(
            "Còn nếu người nước ngoài thì cần giấy tờ gì khác không?"
        ));
        assert!(follow_up("vay thi mat bao lau"));
        assert!(!follow_up(
            "Nam nữ bao nhiêu tuổi thì được kết hôn theo quy định hiện hành?"
        ));
        assert!(!follow_up(""));
        assert!(!follow_up(
            "Con tôi 17 tuổi có được ký hợp đồng lao động không?"
        ));
    }

    #[test]
    fn follow_up_is_searched_with_the_previous_question() {
        let history = vec![turn("Thủ tục đăng ký kết hôn cần giấy tờ gì?")];
        let searched =
            |q: &str, history: &[Turn]| search_text(&Question::new(q), history).text().to_owned();
        assert_eq!(
            searched("Nộp ở đâu?", &history),
            "Thủ tục đăng ký kết hôn cần giấy tờ gì? Nộp ở đâu?"
        );
        assert_eq!(searched("Nộp ở đâu?", &[]), "Nộp ở đâu?");
        let standalone = "Người lao động được nghỉ phép năm bao nhiêu ngày mỗi năm?";
        assert_eq!(searched(standalone, &history), standalone);
    }

    #[test]
    fn keeps_a_bounded_history() {
        let conversations = Conversations::new(10, Duration::from_secs(60), 2);
        for q in ["một", "hai", "ba"] {
            conversations.record("c1", turn(q));
        }
        let history = conversations.history("c1");
        let questions: Vec<&str> = history.iter().map(|t| t.question.as_str()).collect();
        assert_eq!(questions, ["hai", "ba"]);
        assert!(conversations.history("other").is_empty());
    }
}
