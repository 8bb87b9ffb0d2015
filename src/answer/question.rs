//! A question as the answer pipeline reads it, worked out once: its composed text, its syllables,
//! and whether it was typed without diacritics.
//!
//! The scope guard, follow-up detection, query rewriting, channel weighting, coverage and the
//! ranker's question features all compare on these facts. Each used to derive them again from a
//! `&str`; building one `Question` and passing it down keeps them from drifting apart (the same
//! "compare in the question's own form" rule was written out in three places).

use crate::text::{lacks_diacritics, nfc, strip_diacritics, syllables};

/// A question, or a text searched in its place (the rewritten question, a follow-up in context).
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Composed (NFC), as given otherwise: not lowercased, so quotes can be matched against it.
    text: String,
    /// Case-folded syllables of `text`, with their diacritics.
    syllables: Vec<String>,
    /// Typed without any diacritics ("thu tuc ly hon"): compared without them too.
    plain: bool,
    /// `syllables` in the form the question is compared in (see [`Question::form`]).
    words: Vec<String>,
}

impl Question {
    /// Works out the facts of `text`. Callers pass a cleaned question
    /// (`Assistant::validate_question`) or text derived from one.
    pub fn new(text: impl AsRef<str>) -> Question {
        let text = nfc(text.as_ref());
        let syllables = syllables(&text);
        let plain = lacks_diacritics(&text);
        let words = if plain {
            syllables.iter().map(|w| strip_diacritics(w)).collect()
        } else {
            syllables.clone()
        };
        Question {
            text,
            syllables,
            plain,
            words,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Case-folded syllables, with their diacritics.
    pub fn syllables(&self) -> &[String] {
        &self.syllables
    }

    /// Whether the question carries no Vietnamese diacritics at all (see
    /// [`crate::text::lacks_diacritics`]).
    pub fn lacks_diacritics(&self) -> bool {
        self.plain
    }

    /// The question's syllables in its own form: without diacritics when it was typed without
    /// them, so that "ly hon" meets a pattern written "ly hôn", while "Con tôi" is not "Còn".
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// A word of something compared with the question (a pattern, a phrase of the vocabulary),
    /// in the question's form.
    pub fn form(&self, word: &str) -> String {
        if self.plain {
            strip_diacritics(word)
        } else {
            word.to_owned()
        }
    }

    /// The syllables of `text`, in the question's form.
    pub fn fold(&self, text: &str) -> Vec<String> {
        syllables(text).iter().map(|w| self.form(w)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_typed_without_diacritics_is_compared_without_them() {
        let typed = Question::new("Thu tuc ly hon");
        assert!(typed.lacks_diacritics());
        assert_eq!(typed.words(), ["thu", "tuc", "ly", "hon"]);
        assert_eq!(typed.fold("Ly hôn"), ["ly", "hon"]);

        let toned = Question::new("Con tôi 17 tuổi");
        assert!(!toned.lacks_diacritics());
        assert_eq!(toned.words(), ["con", "tôi", "17", "tuổi"]);
        assert_eq!(toned.fold("Còn"), ["còn"]);
    }

    #[test]
    fn decomposed_input_reads_as_composed() {
        let decomposed: String = "thủ tục".chars().collect::<String>();
        let decomposed: String =
            unicode_normalization::UnicodeNormalization::nfd(decomposed.as_str()).collect();
        let question = Question::new(&decomposed);
        assert_eq!(question.text(), "thủ tục");
        assert!(!question.lacks_diacritics());
        assert_eq!(question.syllables(), ["thủ", "tục"]);
    }
}
