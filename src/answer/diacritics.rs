//! Puts the diacritics back into a question typed without them ("thu tuc ly hon" → "thủ tục ly
//! hôn"), using the corpus itself as the language model: syllable and syllable-bigram counts of
//! every article, and a Viterbi search over the toned forms each plain syllable has in the corpus.
//!
//! Why: the e5 model barely understands Vietnamese without diacritics (dense Recall@10 on such
//! questions was 0.08 against 0.83 with them, see eval/README.md), while legal wording is
//! repetitive enough that corpus bigrams pick the right tones almost always. The lexical
//! diacritics-free channel does not depend on this; only what is embedded is restored.

use std::collections::HashMap;

use crate::text::{strip_diacritics, syllables};

/// Toned forms kept per plain syllable (the most frequent ones).
const MAX_FORMS: usize = 8;
/// Dirichlet smoothing of bigram probabilities towards unigram ones.
const SMOOTHING: f64 = 4.0;

/// Syllable and bigram counts of a corpus.
#[derive(Debug, Default)]
pub struct Restorer {
    ids: HashMap<String, u32>,
    words: Vec<String>,
    unigrams: Vec<u32>,
    bigrams: HashMap<(u32, u32), u32>,
    /// Plain syllable → ids of its toned forms, most frequent first.
    forms: HashMap<String, Vec<u32>>,
    total: u64,
}

impl Restorer {
    /// Counts the syllables and bigrams of `texts`, taken one at a time (the compendium's articles
    /// need not be in memory twice).
    pub fn from_texts(texts: impl IntoIterator<Item = impl AsRef<str>>) -> Restorer {
        let mut restorer = Restorer::default();
        for text in texts {
            let mut previous: Option<u32> = None;
            for word in syllables(text.as_ref()) {
                let id = restorer.intern(word);
                restorer.unigrams[id as usize] += 1;
                restorer.total += 1;
                if let Some(previous) = previous {
                    *restorer.bigrams.entry((previous, id)).or_default() += 1;
                }
                previous = Some(id);
            }
        }
        let mut forms: HashMap<String, Vec<u32>> = HashMap::new();
        for (id, word) in restorer.words.iter().enumerate() {
            forms
                .entry(strip_diacritics(word))
                .or_default()
                .push(id as u32);
        }
        for ids in forms.values_mut() {
            ids.sort_by_key(|id| std::cmp::Reverse(restorer.unigrams[*id as usize]));
            ids.truncate(MAX_FORMS);
        }
        restorer.forms = forms;
        restorer
    }

    fn intern(&mut self, word: String) -> u32 {
        if let Some(id) = self.ids.get(&word) {
            return *id;
        }
        let id = self.words.len() as u32;
        self.ids.insert(word.clone(), id);
        self.words.push(word);
        self.unigrams.push(0);
        id
    }

    fn unigram_probability(&self, id: u32) -> f64 {
        (f64::from(self.unigrams[id as usize]) + 0.5)
            / (self.total as f64 + 0.5 * self.words.len() as f64)
    }

    /// The question's syllables with the most likely diacritics, lowercase, space-separated.
    /// Syllables the corpus never saw stay as typed.
    pub fn restore(&self, text: &str) -> String {
        let words = syllables(text);
        if words.is_empty() || self.total == 0 {
            return text.to_owned();
        }
        // Per position: candidate ids (None = keep the typed syllable).
        let candidates: Vec<Vec<Option<u32>>> = words
            .iter()
            .map(|w| match self.forms.get(&strip_diacritics(w)) {
                Some(ids) if !ids.is_empty() => ids.iter().copied().map(Some).collect(),
                _ => vec![None],
            })
            .collect();
        let unseen = (0.5 / (self.total as f64 + 0.5 * self.words.len() as f64)).ln();
        let unigram = |c: Option<u32>| c.map_or(unseen, |id| self.unigram_probability(id).ln());
        let transition = |previous: Option<u32>, current: Option<u32>| -> f64 {
            match (previous, current) {
                (Some(p), Some(c)) => {
                    let pair = self.bigrams.get(&(p, c)).copied().unwrap_or(0);
                    ((f64::from(pair) + SMOOTHING * self.unigram_probability(c))
                        / (f64::from(self.unigrams[p as usize]) + SMOOTHING))
                        .ln()
                }
                _ => unigram(current),
            }
        };
        // Viterbi: best score ending in each candidate, and where it came from.
        let mut scores: Vec<Vec<f64>> = vec![candidates[0].iter().map(|c| unigram(*c)).collect()];
        let mut back: Vec<Vec<usize>> = vec![vec![0; candidates[0].len()]];
        for i in 1..candidates.len() {
            let mut row = Vec::with_capacity(candidates[i].len());
            let mut from = Vec::with_capacity(candidates[i].len());
            for current in &candidates[i] {
                let (best, score) = candidates[i - 1]
                    .iter()
                    .enumerate()
                    .map(|(j, previous)| (j, scores[i - 1][j] + transition(*previous, *current)))
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .unwrap_or((0, f64::NEG_INFINITY));
                row.push(score);
                from.push(best);
            }
            scores.push(row);
            back.push(from);
        }
        let last = scores.len() - 1;
        let mut choice = scores[last]
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(j, _)| j);
        let mut restored = vec![String::new(); words.len()];
        for i in (0..words.len()).rev() {
            restored[i] = match candidates[i][choice] {
                Some(id) => self.words[id as usize].clone(),
                None => words[i].clone(),
            };
            choice = back[i][choice];
        }
        restored.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restorer() -> Restorer {
        Restorer::from_texts([
            "Điều 8. Điều kiện kết hôn. Nam, nữ kết hôn với nhau phải tuân theo các điều kiện sau đây: nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên",
            "Thủ tục đăng ký kết hôn. Hai bên nam, nữ nộp tờ khai đăng ký kết hôn cho cơ quan đăng ký hộ tịch",
            "Thu nhập của vợ chồng. Thủ tục ly hôn tại Tòa án",
        ])
    }

    #[test]
    fn restores_legal_phrases() {
        let r = restorer();
        assert_eq!(
            r.restore("thu tuc dang ky ket hon"),
            "thủ tục đăng ký kết hôn"
        );
        // Syllables the corpus never saw ("bao", "nhieu") stay as typed.
        assert_eq!(
            r.restore("nam nu bao nhieu tuoi ket hon"),
            "nam nữ bao nhieu tuổi kết hôn"
        );
    }

    #[test]
    fn context_picks_between_forms_of_one_syllable() {
        // "thu" is "thủ" before "tục" and "thu" before "nhập".
        let r = restorer();
        assert_eq!(r.restore("thu nhap"), "thu nhập");
        assert_eq!(r.restore("thu tuc ly hon"), "thủ tục ly hôn");
    }

    #[test]
    fn empty_and_unknown_input_is_kept() {
        let r = restorer();
        assert_eq!(r.restore(""), "");
        assert_eq!(r.restore("???"), "???");
        assert_eq!(Restorer::default().restore("ket hon"), "ket hon");
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_support::config())]

        /// Restoring changes tone marks only: any text gives the same syllables, each the same
        /// once diacritics are stripped.
        #[test]
        fn restoring_changes_only_diacritics(text in crate::proptest_support::outside_text(40)) {
            thread_local! {
                static RESTORER: Restorer = restorer();
            }
            let restored = RESTORER.with(|r| r.restore(&text));
            let typed = syllables(&text);
            if !typed.is_empty() {
                let plain = |words: Vec<String>| {
                    words.iter().map(|w| strip_diacritics(w)).collect::<Vec<_>>()
                };
                proptest::prop_assert_eq!(plain(syllables(&restored)), plain(typed));
            }
        }
    }
}
