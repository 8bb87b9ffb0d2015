//! Rewrites a chat question into what is searched, using `prompts/vocabulary.toml`: chat formulas
//! removed ("cho em hỏi", "ạ"), abbreviations spelled out ("ko" → không, "dc" → được), and
//! colloquial phrases followed by the law's own terms ("sổ đỏ" → giấy chứng nhận quyền sử dụng đất,
//! "bằng lái" → giấy phép lái xe). The law's terms are added, not substituted: the question's words
//! still count.
//!
//! Two texts come out: `question`, the cleaned question (measured for coverage and quoted clauses), and
//! `expanded`, the text plus the legal terms (embedded and matched lexically).

use std::collections::HashMap;

use serde::Deserialize;

use super::question::Question;
use crate::text::syllables;

/// `prompts/vocabulary.toml` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VocabularyFile {
    #[serde(default)]
    pub noise: Vec<String>,
    #[serde(default)]
    pub abbrev: HashMap<String, String>,
    #[serde(default)]
    pub term: Vec<TermEntry>,
    #[serde(default)]
    pub asks: Vec<AsksEntry>,
}

/// What a question asks for, and the words the heading of the answering article uses for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsksEntry {
    pub phrases: Vec<String>,
    pub heading: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermEntry {
    pub phrases: Vec<String>,
    pub legal: String,
}

/// The vocabulary as syllables, ready to match.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    /// Longest first.
    noise: Vec<Vec<String>>,
    /// Abbreviation (lowercase, as typed) → its words.
    abbrev: HashMap<String, Vec<String>>,
    terms: Vec<Term>,
    /// Question phrases → heading cues (`[[asks]]`), matched like terms.
    asks: Vec<Term>,
}

#[derive(Debug, Clone)]
struct Term {
    /// Longest first.
    phrases: Vec<Vec<String>>,
    legal: Vec<String>,
}

/// A question ready to search.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The cleaned question.
    pub question: Question,
    /// The cleaned question followed by the legal terms its phrases stand for.
    pub expanded: String,
    /// Words the heading of the answering article is likely to use for what the question asks
    /// ("ở đâu" → "thẩm quyền"); never searched, only compared with headings.
    pub heading_cues: String,
}

impl Query {
    /// The question as it is, for when rewriting is turned off.
    pub fn verbatim(question: &Question) -> Query {
        Query {
            question: question.clone(),
            expanded: question.text().to_owned(),
            heading_cues: String::new(),
        }
    }
}

impl Vocabulary {
    pub fn from_file(file: VocabularyFile) -> Vocabulary {
        let mut noise: Vec<Vec<String>> = file
            .noise
            .iter()
            .map(|p| syllables(p))
            .filter(|p| !p.is_empty())
            .collect();
        noise.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let abbrev = file
            .abbrev
            .into_iter()
            .map(|(key, value)| (key.to_lowercase(), syllables(&value)))
            .collect();
        let terms = file
            .term
            .iter()
            .map(|entry| Term::new(&entry.phrases, &entry.legal))
            .collect();
        let asks = file
            .asks
            .iter()
            .map(|entry| Term::new(&entry.phrases, &entry.heading))
            .collect();
        Vocabulary {
            noise,
            abbrev,
            terms,
            asks,
        }
    }

    /// Entries, for start-up logging and checks.
    pub fn len(&self) -> usize {
        self.noise.len() + self.abbrev.len() + self.terms.len() + self.asks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn rewrite(&self, question: &Question) -> Query {
        let plain = question.lacks_diacritics();
        // Compare in the question's own form: without diacritics when it has none.
        let forms =
            |words: &[String]| -> Vec<String> { words.iter().map(|w| question.form(w)).collect() };

        let mut words = question.syllables().to_vec();
        for phrase in &self.noise {
            // Without diacritics a one-syllable formula is ambiguous ("da": dạ or đã).
            if plain && phrase.len() == 1 {
                continue;
            }
            let phrase = forms(phrase);
            while let Some(start) = find(&forms(&words), &phrase) {
                words.drain(start..start + phrase.len());
            }
        }
        let mut spelled = Vec::with_capacity(words.len());
        for word in words {
            match self.abbrev.get(&word) {
                Some(expansion) => spelled.extend(forms(expansion)),
                None => spelled.push(word),
            }
        }
        if spelled.is_empty() {
            // Nothing but formulas ("cảm ơn ạ"): search what was written.
            return Query::verbatim(question);
        }
        let compared = forms(&spelled);
        let matched = |entries: &[Term]| -> Vec<String> {
            let mut words = Vec::new();
            for entry in entries {
                if entry
                    .phrases
                    .iter()
                    .any(|phrase| find(&compared, &forms(phrase)).is_some())
                {
                    words.extend(forms(&entry.legal));
                }
            }
            words
        };
        let additions = matched(&self.terms);
        let cleaned = Question::new(spelled.join(" "));
        let expanded = if additions.is_empty() {
            cleaned.text().to_owned()
        } else {
            format!("{} {}", cleaned.text(), additions.join(" "))
        };
        Query {
            question: cleaned,
            expanded,
            heading_cues: matched(&self.asks).join(" "),
        }
    }
}

impl Term {
    fn new(phrases: &[String], legal: &str) -> Term {
        let mut phrases: Vec<Vec<String>> = phrases
            .iter()
            .map(|p| syllables(p))
            .filter(|p| !p.is_empty())
            .collect();
        phrases.sort_by_key(|p| std::cmp::Reverse(p.len()));
        Term {
            phrases,
            legal: syllables(legal),
        }
    }
}

/// Start of the first occurrence of `phrase` as consecutive words of `words`.
fn find(words: &[String], phrase: &[String]) -> Option<usize> {
    if phrase.is_empty() || phrase.len() > words.len() {
        return None;
    }
    words.windows(phrase.len()).position(|w| w == phrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/vocabulary.toml"),
        )
        .unwrap();
        Vocabulary::from_file(toml::from_str(&text).unwrap())
    }

    impl Vocabulary {
        /// [`Vocabulary::rewrite`] of a question given as text.
        fn rewrite_text(&self, question: &str) -> Query {
            self.rewrite(&Question::new(question))
        }
    }

    impl Query {
        fn text(&self) -> &str {
            self.question.text()
        }
    }

    #[test]
    fn removes_chat_formulas_and_spells_out_abbreviations() {
        let v = vocabulary();
        let q = v.rewrite_text("Cho em hỏi ly hôn thì ko cần ra tòa dc ko ạ?");
        assert_eq!(q.text(), "ly hôn thì không cần ra tòa được không");
    }

    #[test]
    fn without_diacritics_matches_and_expands_without_them() {
        let v = vocabulary();
        let q = v.rewrite_text("cho minh hoi lam so do mat bao lau");
        assert_eq!(q.text(), "lam so do mat bao lau");
        assert_eq!(
            q.expanded,
            "lam so do mat bao lau giay chung nhan quyen su dung dat dang ky lan dau"
        );
        // "da" is kept: without diacritics it may be "đã".
        assert_eq!(v.rewrite_text("toi da ly hon").text(), "toi da ly hon");
    }

    #[test]
    fn colloquial_phrases_bring_the_legal_terms() {
        let v = vocabulary();
        let q = v.rewrite_text("Bằng lái xe máy hết hạn thì sao?");
        // "bằng lái" and, longer, "bằng lái xe máy" (a motorbike is class A1) both fire.
        assert!(
            q.expanded.ends_with("giấy phép lái xe hạng a1"),
            "{}",
            q.expanded
        );
        assert!(q.text().starts_with("bằng lái xe máy"));
        let q = v.rewrite_text("Chuyển hộ khẩu về quê vợ cần gì");
        assert!(q.expanded.contains("đăng ký thường trú"), "{}", q.expanded);
    }

    #[test]
    fn what_the_question_asks_for_gives_heading_cues_that_are_not_searched() {
        let v = vocabulary();
        let q = v.rewrite_text("Nhận con nuôi thì đăng ký ở đâu?");
        assert!(q.heading_cues.contains("thẩm quyền"), "{}", q.heading_cues);
        assert!(!q.expanded.contains("thẩm quyền"), "{}", q.expanded);
        let q = v.rewrite_text("khieu nai trong thoi han bao lau");
        assert!(q.heading_cues.contains("thoi hieu"), "{}", q.heading_cues);
        assert_eq!(v.rewrite_text("Ly hôn đơn phương").heading_cues, "");
    }

    #[test]
    fn a_question_of_only_formulas_is_kept_as_written() {
        let v = vocabulary();
        assert_eq!(v.rewrite_text("Cảm ơn ạ").text(), "Cảm ơn ạ");
    }

    #[test]
    fn abbreviations_are_whole_syllables_only() {
        let v = vocabulary();
        // "kh" inside "khai" and "k" inside "kết" stay as they are.
        assert_eq!(
            v.rewrite_text("khai sinh kết hôn").text(),
            "khai sinh kết hôn"
        );
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_support::config())]

        /// Any question is rewritten without a panic, and the expanded text begins with the
        /// cleaned one.
        #[test]
        fn any_question_is_rewritten(question in crate::proptest_support::outside_text(60)) {
            thread_local! {
                static VOCABULARY: Vocabulary = vocabulary();
            }
            let query = VOCABULARY.with(|v| v.rewrite_text(&question));
            proptest::prop_assert!(
                query.expanded.starts_with(query.text()),
                "{:?} does not start with {:?}", query.expanded, query.text()
            );
        }
    }
}
