//! A learnt vocabulary between what a question says and what an article's heading names.
//!
//! The commonest wrong first quote is a neighbouring article of the right document: the same
//! words, another heading ("Thời hạn …" where the question asked "ở đâu", which a "Thẩm quyền …"
//! article answers). The hand-written cues of `prompts/vocabulary.toml` (`[[asks]]`) catch a few
//! such pairs; this model holds the ones learnt from the ranker's training questions: a logistic
//! regression over every (question term, heading term) pair of a candidate, with the other articles
//! of the pool as negatives (`eval/ranker/train.py`, which also writes `heading_pairs.json`). Its
//! score, the gap to the pool's best and the rank in the pool are three of the ranker's features.
//!
//! Terms are the question's and the heading's syllables and syllable pairs, lower-cased and without
//! diacritics (questions come with and without them), less a few words that say nothing of what is
//! asked. [`terms`] must stay the same as `terms` in `eval/ranker/train.py`: a test checks both
//! against the scores the trainer wrote.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

const MODEL_JSON: &str = include_str!("heading_pairs.json");

/// Words that say nothing of what is asked (folded): `STOP` in `train.py`.
const STOP_WORDS: [&str; 37] = [
    "va", "cua", "cac", "the", "nao", "co", "khong", "la", "duoc", "trong", "cho", "ve", "doi",
    "voi", "theo", "nhung", "mot", "nay", "do", "hoac", "tai", "thi", "neu", "khi", "toi", "minh",
    "em", "anh", "chi", "a", "oi", "nhe", "ha", "vay", "ai", "gi", "bi",
];

#[derive(Deserialize)]
struct ModelFile {
    format: u32,
    terms: Vec<String>,
    /// `[question term, heading term, weight]`, term indices into `terms`.
    pairs: Vec<(u32, u32, f64)>,
    /// `[heading term, weight]`: how often a heading word is right at all.
    headings: Vec<(u32, f64)>,
    bias: f64,
}

/// The learnt pairs, looked up by term index.
pub struct HeadingPairs {
    index: HashMap<String, u32>,
    pairs: HashMap<(u32, u32), f64>,
    headings: HashMap<u32, f64>,
    bias: f64,
}

/// A question's terms the model knows, worked out once per question.
pub struct QuestionPairTerms(Vec<u32>);

impl HeadingPairs {
    /// The model compiled into the service.
    pub fn shipped() -> &'static HeadingPairs {
        static MODEL: OnceLock<HeadingPairs> = OnceLock::new();
        MODEL.get_or_init(|| {
            HeadingPairs::parse(MODEL_JSON).expect("src/answer/heading_pairs.json is valid")
        })
    }

    fn parse(json: &str) -> anyhow::Result<HeadingPairs> {
        let file: ModelFile = serde_json::from_str(json)?;
        anyhow::ensure!(file.format == 1, "heading pairs format {}", file.format);
        let known = |i: u32| (i as usize) < file.terms.len();
        anyhow::ensure!(
            file.pairs.iter().all(|&(q, h, _)| known(q) && known(h))
                && file.headings.iter().all(|&(h, _)| known(h)),
            "a heading pair names a term the model does not list"
        );
        Ok(HeadingPairs {
            pairs: file.pairs.iter().map(|&(q, h, w)| ((q, h), w)).collect(),
            headings: file.headings.into_iter().collect(),
            index: file
                .terms
                .into_iter()
                .enumerate()
                .map(|(i, term)| (term, i as u32))
                .collect(),
            bias: file.bias,
        })
    }

    /// The question's terms that the model has weights for.
    pub fn question_terms(&self, question: &str) -> QuestionPairTerms {
        QuestionPairTerms(self.known(terms(question)))
    }

    /// The model's score of an article heading (its title, without "Điều N.") for a question.
    pub fn score(&self, question: &QuestionPairTerms, heading: &str) -> f32 {
        let heading = self.known(terms(heading));
        let mut sum = self.bias;
        for &h in &heading {
            sum += self.headings.get(&h).copied().unwrap_or(0.0);
            for &q in &question.0 {
                sum += self.pairs.get(&(q, h)).copied().unwrap_or(0.0);
            }
        }
        sum as f32
    }

    fn known(&self, terms: BTreeSet<String>) -> Vec<u32> {
        terms
            .iter()
            .filter_map(|term| self.index.get(term).copied())
            .collect()
    }
}

/// Syllables (folded, stop words out) and each pair of neighbouring ones.
pub fn terms(text: &str) -> BTreeSet<String> {
    let folded = crate::text::strip_diacritics(&text.to_lowercase());
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(w))
        .collect();
    let mut out: BTreeSet<String> = words.iter().map(|w| (*w).to_owned()).collect();
    out.extend(words.windows(2).map(|pair| format!("{}_{}", pair[0], pair[1])));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_fold_and_pair_syllables() {
        let got = terms("Đăng ký kết hôn ở đâu, và bao lâu?");
        for term in ["dang", "dang_ky", "ket_hon", "hon_o", "o_dau", "dau_bao", "bao_lau"] {
            assert!(got.contains(term), "{term} in {got:?}");
        }
        assert!(!got.contains("va"), "a stop word is dropped");
        assert!(terms("").is_empty());
        assert!(terms("  ?!  123 ").is_empty());
    }

    #[derive(Deserialize)]
    struct Check {
        question: String,
        heading: String,
        score: f64,
    }

    /// The scores the trainer computed with the written model, reproduced here.
    #[test]
    fn reproduces_the_trainers_scores() {
        let checks: Vec<Check> =
            serde_json::from_str(include_str!("heading_pairs_check.json")).expect("check rows");
        assert!(checks.len() >= 20);
        let model = HeadingPairs::shipped();
        for check in checks {
            let question = model.question_terms(&check.question);
            let got = f64::from(model.score(&question, &check.heading));
            assert!(
                (got - check.score).abs() < 1e-4,
                "{:?} / {:?}: {got} against {}",
                check.question,
                check.heading,
                check.score
            );
        }
    }

    #[test]
    fn refuses_a_pair_with_an_unknown_term() {
        let json = r#"{"format":1,"terms":["a"],"pairs":[[0,3,1.0]],"headings":[],"bias":0}"#;
        assert!(HeadingPairs::parse(json).is_err());
    }
}
