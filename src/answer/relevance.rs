//! How well a passage answers a question: the signals behind the confidence value and behind the
//! choice of which clauses to quote.
//!
//! e5 cosine scores crowd into 0.80–0.93 for any Vietnamese pair, so the cosine is rescaled over
//! that band, and combined with lexical coverage (how many of the question's content words the
//! passage contains, diacritics ignored), which separates "about the same thing" from "also
//! Vietnamese legal text".

use std::collections::HashSet;

use super::question::Question;
use crate::text::{strip_diacritics, syllables};

/// Function words of questions, ignored when measuring coverage (without diacritics).
const STOPWORDS: &[&str] = &[
    "a", "ai", "anh", "bao", "bi", "cac", "can", "chi", "cho", "co", "cua", "da", "de", "den",
    "di", "do", "duoc", "em", "gi", "hay", "hoi", "khi", "khong", "la", "lam", "mot", "minh",
    "muon", "nao", "nay", "neu", "nhieu", "nhu", "nhung", "o", "phai", "ra", "roi", "sao", "se",
    "the", "thi", "toi", "tu", "va", "vay", "ve", "voi", "xin", "dau", "luc", "ban", "trong",
    "tren", "theo", "quy", "dinh", "phap", "luat",
];

/// Cosine values below this are no evidence of relevance, above the top they are full evidence.
const COSINE_FLOOR: f32 = 0.80;
const COSINE_TOP: f32 = 0.90;

/// Content words of a text, without diacritics.
pub fn content_words(text: &str) -> Vec<String> {
    syllables(text)
        .iter()
        .map(|w| strip_diacritics(w))
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// What coverage compares a passage with, computed once per question: its distinct content words,
/// and the bigrams of adjacent syllables that are both content words, all without diacritics.
#[derive(Debug, Clone)]
pub struct QuestionTerms {
    unigrams: HashSet<String>,
    /// "ket hon": bigrams of the question itself, not the artificial "tuoi ket" that removing
    /// function words would create.
    bigrams: HashSet<String>,
}

impl QuestionTerms {
    pub fn new(question: &str) -> QuestionTerms {
        Self::from_syllables(&syllables(question))
    }

    /// The terms of a question already read (see [`Question`]).
    pub fn of(question: &Question) -> QuestionTerms {
        Self::from_syllables(question.syllables())
    }

    fn from_syllables(syllables: &[String]) -> QuestionTerms {
        let words: Vec<String> = syllables.iter().map(|w| strip_diacritics(w)).collect();
        let content = |w: &str| !STOPWORDS.contains(&w);
        QuestionTerms {
            unigrams: words.iter().filter(|w| content(w)).cloned().collect(),
            bigrams: words
                .windows(2)
                .filter(|w| content(&w[0]) && content(&w[1]))
                .map(|w| format!("{} {}", w[0], w[1]))
                .collect(),
        }
    }

    /// Share of the question's terms found in the passage (see [`coverage`]). Scans the passage
    /// once, looking each word and adjacent pair up in the question's small sets.
    pub fn coverage(&self, passage: &str) -> f32 {
        if self.unigrams.is_empty() {
            return 0.0;
        }
        let folded = strip_diacritics(passage);
        let words = folded_words(&folded);
        let mut found_unigrams: HashSet<&str> = HashSet::new();
        for word in &words {
            if let Some(term) = self.unigrams.get(*word) {
                found_unigrams.insert(term);
            }
        }
        let unigram_share = found_unigrams.len() as f32 / self.unigrams.len() as f32;
        if self.bigrams.is_empty() {
            return unigram_share;
        }
        let mut found_bigrams: HashSet<&str> = HashSet::new();
        let mut pair = String::new();
        for window in words.windows(2) {
            pair.clear();
            pair.push_str(window[0]);
            pair.push(' ');
            pair.push_str(window[1]);
            if let Some(term) = self.bigrams.get(pair.as_str()) {
                found_bigrams.insert(term);
            }
        }
        let bigram_share = found_bigrams.len() as f32 / self.bigrams.len() as f32;
        0.6 * unigram_share + 0.4 * bigram_share
    }

    /// [`QuestionTerms::coverage`] scaled down for questions with very few content words:
    /// covering the one content word of "Nộp ở đâu?" says little, covering five says a lot.
    pub fn trusted_coverage(&self, passage: &str) -> f32 {
        self.trusted(self.coverage(passage))
    }

    /// [`QuestionTerms::trusted_coverage`] from a coverage already computed, so that a passage is
    /// scanned once for both.
    pub fn trusted(&self, coverage: f32) -> f32 {
        let trust = (self.unigrams.len() as f32 / TRUSTED_CONTENT_WORDS as f32).min(1.0);
        coverage * trust
    }
}

/// Share of the question's distinct content words (and bigrams, which carry Vietnamese meaning:
/// "kết hôn", "hộ tịch") found in the passage.
pub fn coverage(question: &str, passage: &str) -> f32 {
    QuestionTerms::new(question).coverage(passage)
}

/// How much of an article's heading a question names. Legal articles are titled by what they
/// settle ("Thẩm quyền đăng ký nuôi con nuôi", "Thời hiệu khiếu nại", "Di chúc miệng"), so a heading
/// whose words the question uses is evidence that this article, rather than a neighbour sharing the
/// body's vocabulary, is the one asked about. Built once per question from the searched text plus
/// the heading cues of what the question asks for ("ở đâu" → thẩm quyền, see `query.rs`).
#[derive(Debug, Clone)]
pub struct HeadingTerms {
    words: HashSet<String>,
    bigrams: HashSet<String>,
}

impl HeadingTerms {
    pub fn new(question: &str, cues: &str) -> HeadingTerms {
        let mut words = HashSet::new();
        let mut bigrams = HashSet::new();
        for text in [question, cues] {
            let folded: Vec<String> = syllables(text)
                .iter()
                .map(|w| strip_diacritics(w))
                .collect();
            for pair in folded.windows(2) {
                bigrams.insert(format!("{} {}", pair[0], pair[1]));
            }
            words.extend(folded);
        }
        HeadingTerms { words, bigrams }
    }

    /// Share (0..1) of the heading's content words, and of its adjacent content-word pairs, that
    /// the question holds. The "Điều 12." label, numbers and function words do not count, so
    /// "Quy định chung" names nothing.
    pub fn heading_match(&self, heading: &str) -> f32 {
        let folded = strip_diacritics(heading);
        let mut words = folded_words(&folded);
        // Drop the label: "dieu 12" at the start (the article's own "Điều kiện" stays).
        if let [first, second, ..] = words.as_slice() {
            if *first == "dieu" && second.chars().any(|c| c.is_ascii_digit()) {
                words.drain(..2);
            }
        }
        let content = |w: &str| !STOPWORDS.contains(&w) && !w.chars().any(|c| c.is_ascii_digit());
        let unigrams: HashSet<&str> = words.iter().copied().filter(|w| content(w)).collect();
        if unigrams.is_empty() {
            return 0.0;
        }
        let found = unigrams.iter().filter(|w| self.words.contains(**w)).count();
        let unigram_share = found as f32 / unigrams.len() as f32;
        let pairs: HashSet<String> = words
            .windows(2)
            .filter(|w| content(w[0]) && content(w[1]))
            .map(|w| format!("{} {}", w[0], w[1]))
            .collect();
        if pairs.is_empty() {
            return unigram_share;
        }
        let found = pairs.iter().filter(|p| self.bigrams.contains(*p)).count();
        0.6 * unigram_share + 0.4 * found as f32 / pairs.len() as f32
    }
}

/// The words of an already folded text (see [`strip_diacritics`]), borrowed: the same words as
/// folding each syllable of `syllables(text)`, without an allocation per word.
fn folded_words(folded: &str) -> Vec<&str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Full trust in coverage from this many distinct content words.
const TRUSTED_CONTENT_WORDS: usize = 3;

/// [`coverage`] scaled down for questions with very few content words.
pub fn trusted_coverage(question: &str, passage: &str) -> f32 {
    QuestionTerms::new(question).trusted_coverage(passage)
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 {
        0.0
    } else {
        dot / denominator
    }
}

/// Confidence in 0..1 that the passage answers the question.
pub fn confidence(cosine: f32, coverage: f32) -> f32 {
    let semantic = ((cosine - COSINE_FLOOR) / (COSINE_TOP - COSINE_FLOOR)).clamp(0.0, 1.0);
    (0.5 * semantic + 0.5 * coverage).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_ignores_diacritics_and_function_words() {
        let passage =
            "Điều 8. Điều kiện kết hôn. Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên";
        assert!(coverage("Nam nữ bao nhiêu tuổi thì được kết hôn?", passage) >= 0.8);
        assert!(coverage("nam nu bao nhieu tuoi thi duoc ket hon", passage) >= 0.8);
        assert!(coverage("Mai trời có mưa không?", passage) < 0.1);
        assert_eq!(coverage("có không?", passage), 0.0);
        assert!(trusted_coverage("Nộp ở đâu?", "nộp hồ sơ tại Ủy ban nhân dân") < 0.4);
    }

    #[test]
    fn folding_the_whole_passage_gives_the_same_words_as_folding_each_syllable() {
        let passage =
            "Điều 8. ĐIỀU KIỆN kết hôn — Nam từ đủ 20 tuổi; nữ (18 tuổi) “trở lên”, Ủy ban";
        let per_syllable: Vec<String> = syllables(passage)
            .iter()
            .map(|w| strip_diacritics(w))
            .collect();
        let whole = strip_diacritics(passage);
        assert_eq!(per_syllable, folded_words(&whole));
    }

    #[test]
    fn heading_match_counts_the_headings_words_the_question_uses() {
        let terms = HeadingTerms::new("nhận con nuôi thì đăng ký ở đâu", "thẩm quyền");
        // Every word of the heading, and three of its six word pairs ("đăng ký nuôi" is not said).
        let authority = terms.heading_match("Điều 9. Thẩm quyền đăng ký nuôi con nuôi");
        assert!((authority - 0.8).abs() < 1e-6, "{authority}");
        let conditions = terms.heading_match("Điều 14. Điều kiện đối với người nhận con nuôi");
        assert!(conditions < 0.5, "{conditions}");
        // The label, numbers and function words name nothing.
        assert_eq!(terms.heading_match("Điều 1. Quy định chung"), 0.0);
        assert_eq!(terms.heading_match(""), 0.0);
        // Without diacritics on either side.
        let plain = HeadingTerms::new("di chuc mieng co gia tri khong", "");
        assert!(plain.heading_match("Điều 629. Di chúc miệng") > 0.9);
    }

    #[test]
    fn confidence_is_bounded_and_monotonic() {
        assert_eq!(confidence(0.5, 0.0), 0.0);
        assert_eq!(confidence(0.99, 1.0), 1.0);
        assert!(confidence(0.88, 0.5) > confidence(0.84, 0.5));
        assert!(confidence(0.88, 0.8) > confidence(0.88, 0.2));
    }

    #[test]
    fn cosine_of_zero_vector_is_zero() {
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert!((cosine(&[1.0, 1.0], &[1.0, 1.0]) - 1.0).abs() < 1e-6);
    }
}
