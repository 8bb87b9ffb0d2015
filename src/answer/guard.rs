//! Declines by meaning what the pattern lists of `prompts/out_of_scope.toml` miss: a request to
//! break the law phrased in new words ("soạn giúp giấy xác nhận cư trú có dấu đỏ công an phường"),
//! a question that is not about law, a request to predict a court's decision.
//!
//! A small classifier over two views of the question, trained offline by
//! `eval/ranker/train_guard.py` on labelled must-decline and answerable questions with k-fold
//! cross-validation, and compiled in from `src/answer/guard_model.json`: a multinomial logistic
//! regression (model formats 1 and 2; what ships), or a network with one hidden layer of rectified
//! units over the same inputs (format 3; tried in round 17 and not shipped, `eval/README.md`),
//! which can weigh how a question asks against what it asks about ("làm sao để" beside "nhận trợ
//! cấp" or beside "khỏi bị phát hiện"). Both read:
//! - its e5 embedding (the vector `ask` computes for searching anyway): what it is about;
//! - the TF-IDF of its words and word pairs without diacritics: how it asks ("mà không bị phát
//!   hiện", "làm giả", "lách"). The embedding alone cannot tell "làm sao đòi nợ" from "làm sao
//!   trốn nợ": both are about debts. The words alone over-learn "làm sao", which unlawful requests
//!   use and lawful questions use as often, so the training data holds lawful questions asked
//!   that way (`eval/questions/phrasing-dev.jsonl`), and pairs written to differ only in what is
//!   asked: an unlawful request beside a lawful question in the same words, a message that is
//!   not law beside a legal question on the same subject (`eval/questions/guard-written.jsonl`,
//!   `guard-written-2.jsonl`).
//!
//! The patterns stay: they give each category its own reply and cost nothing.

use std::collections::HashMap;

use serde::Deserialize;

const MODEL_JSON: &str = include_str!("guard_model.json");

/// What the guard thinks a question is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardClass {
    /// A legal question: searched and answered (or declined for lack of text).
    Legal,
    /// Not about law at all.
    NotLaw,
    /// Asks for help breaking the law.
    Unlawful,
    /// Asks how a court or authority will decide a particular case.
    Prediction,
}

impl GuardClass {
    fn from_name(name: &str) -> Option<GuardClass> {
        match name {
            "legal" => Some(GuardClass::Legal),
            "not_law" => Some(GuardClass::NotLaw),
            "unlawful" => Some(GuardClass::Unlawful),
            "prediction" => Some(GuardClass::Prediction),
            _ => None,
        }
    }

    /// The category id of a decline for this class (`prompts/out_of_scope.toml`).
    pub fn category(self) -> &'static str {
        match self {
            GuardClass::Legal => "",
            GuardClass::NotLaw => "ngoai_pham_vi",
            GuardClass::Unlawful => "yeu_cau_trai_phap_luat",
            GuardClass::Prediction => "du_doan_ket_qua",
        }
    }
}

#[derive(Debug, Deserialize)]
struct ModelFile {
    format: u32,
    dimension: usize,
    classes: Vec<String>,
    /// The first layer: one row of `dimension` weights per output, over the embedding. Its
    /// outputs are the classes (formats 1 and 2) or the hidden units (format 3).
    weights: Vec<Vec<f32>>,
    bias: Vec<f32>,
    /// Formats 2 and 3: each term of the vocabulary (a folded word or "word word") with its
    /// inverse document frequency, then one weight per output of the first layer.
    #[serde(default)]
    terms: HashMap<String, Vec<f32>>,
    /// Format 3: the terms as `terms` holds them, with their weights as signed bytes in hex,
    /// each times the scale of its hidden unit (`term_scale`): under a third of the file.
    #[serde(default)]
    quantized_terms: HashMap<String, QuantizedTerm>,
    #[serde(default)]
    term_scale: Vec<f32>,
    /// Format 3: one row of weights over the hidden units per class, and their biases.
    #[serde(default)]
    output_weights: Vec<Vec<f32>>,
    #[serde(default)]
    output_bias: Vec<f32>,
    /// A question is declined when the probability of `legal` is below this.
    legal_below: f32,
}

#[derive(Debug, Deserialize)]
struct QuantizedTerm {
    idf: f32,
    /// One signed byte per hidden unit, as two hex digits each.
    weights: String,
}

/// The weights of a quantized term: each hex byte as a signed number times its unit's scale.
fn dequantize(hex: &str, scale: &[f32]) -> Option<Vec<f32>> {
    // Hex digits only: `from_str_radix` alone would also take a sign ("+f").
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) || hex.len() != 2 * scale.len() {
        return None;
    }
    (0..scale.len())
        .map(|i| {
            let byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
            Some(f32::from(byte as i8) * scale[i])
        })
        .collect()
}

/// A term of the vocabulary.
#[derive(Debug)]
struct Term {
    idf: f32,
    /// One weight per output of the first layer.
    weights: Vec<f32>,
}

/// The layer after the hidden units (format 3).
#[derive(Debug)]
struct OutputLayer {
    /// One row per class, over the hidden units.
    weights: Vec<Vec<f32>>,
    bias: Vec<f32>,
}

/// The trained guard.
#[derive(Debug)]
pub struct Guard {
    classes: Vec<GuardClass>,
    /// The first layer over the embedding, and its biases.
    weights: Vec<Vec<f32>>,
    bias: Vec<f32>,
    /// The first layer over the words.
    terms: HashMap<String, Term>,
    /// `None`: the first layer's outputs are the class scores (a linear model).
    output: Option<OutputLayer>,
    legal_below: f32,
}

/// The terms of a question: its words (runs of a-z and 0-9 once lowercased without diacritics,
/// as `train_guard.py` folds: NFD, marks dropped, "đ" to "d") and word pairs.
fn terms_of(text: &str) -> Vec<String> {
    let folded = crate::text::strip_diacritics(text);
    let words: Vec<&str> = folded
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|w| !w.is_empty())
        .collect();
    let pairs = words
        .windows(2)
        .map(|pair| format!("{} {}", pair[0], pair[1]));
    words.iter().map(|w| (*w).to_owned()).chain(pairs).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("the guard model is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the guard model is malformed: {0}")]
    Malformed(&'static str),
}

impl Guard {
    /// The compiled-in model; `None` before one is trained.
    pub fn compiled_in(dimension: usize) -> Result<Option<Guard>, GuardError> {
        Guard::from_json(MODEL_JSON, dimension)
    }

    pub fn from_json(json: &str, dimension: usize) -> Result<Option<Guard>, GuardError> {
        let file: ModelFile = serde_json::from_str(json)?;
        if !matches!(file.format, 1..=3) {
            return Err(GuardError::Malformed("unknown format"));
        }
        if file.classes.is_empty() {
            return Ok(None);
        }
        if file.dimension != dimension {
            return Err(GuardError::Malformed(
                "trained for another embedding dimension",
            ));
        }
        let classes: Option<Vec<GuardClass>> = file
            .classes
            .iter()
            .map(|c| GuardClass::from_name(c))
            .collect();
        let classes = classes.ok_or(GuardError::Malformed("unknown class"))?;
        let output = (file.format == 3).then_some(OutputLayer {
            weights: file.output_weights,
            bias: file.output_bias,
        });
        // The first layer's width: the classes of a linear model, the hidden units of a network.
        let width = match &output {
            None => classes.len(),
            Some(layer) => {
                let hidden = file.bias.len();
                if hidden == 0
                    || layer.weights.len() != classes.len()
                    || layer.bias.len() != classes.len()
                    || layer.weights.iter().any(|row| row.len() != hidden)
                {
                    return Err(GuardError::Malformed(
                        "the output layer does not match the classes and hidden units",
                    ));
                }
                hidden
            }
        };
        if !classes.contains(&GuardClass::Legal)
            || file.weights.len() != width
            || file.bias.len() != width
            || file.weights.iter().any(|row| row.len() != dimension)
        {
            return Err(GuardError::Malformed(
                "classes, weights and bias do not agree",
            ));
        }
        let mut terms = HashMap::with_capacity(file.terms.len() + file.quantized_terms.len());
        if !file.quantized_terms.is_empty() && file.term_scale.len() != width {
            return Err(GuardError::Malformed(
                "the term scales do not match the first layer",
            ));
        }
        for (term, quantized) in file.quantized_terms {
            let weights = dequantize(&quantized.weights, &file.term_scale).ok_or(
                GuardError::Malformed("a quantized term's weights are not one hex byte per unit"),
            )?;
            let idf = quantized.idf;
            terms.insert(term, Term { idf, weights });
        }
        for (term, row) in file.terms {
            let Some((idf, weights)) = row.split_first() else {
                return Err(GuardError::Malformed("a term without weights"));
            };
            if weights.len() != width {
                return Err(GuardError::Malformed(
                    "a term's weights do not match the first layer",
                ));
            }
            let weights = weights.to_vec();
            terms.insert(term, Term { idf: *idf, weights });
        }
        Ok(Some(Guard {
            classes,
            weights: file.weights,
            bias: file.bias,
            terms,
            output,
            legal_below: file.legal_below,
        }))
    }

    /// Class probabilities of a question, in `classes` order: the softmax of the first layer's
    /// outputs (a linear model), or of the output layer over its rectified outputs (a network),
    /// as scikit-learn's `LogisticRegression` and `MLPClassifier` compute them.
    fn probabilities(&self, question: &str, embedding: &[f32]) -> Vec<f32> {
        let mut scores: Vec<f32> = self
            .weights
            .iter()
            .zip(&self.bias)
            .map(|(row, bias)| bias + row.iter().zip(embedding).map(|(w, x)| w * x).sum::<f32>())
            .collect();
        // TF-IDF as scikit-learn computes it: sublinear tf (1 + ln tf) times idf, over the terms
        // of the vocabulary, then scaled to unit length.
        let mut counts: HashMap<&str, (&Term, u32)> = HashMap::new();
        for word in terms_of(question) {
            if let Some((key, term)) = self.terms.get_key_value(word.as_str()) {
                counts.entry(key.as_str()).or_insert((term, 0)).1 += 1;
            }
        }
        let values: Vec<(&Term, f32)> = counts
            .into_values()
            .map(|(term, count)| (term, (1.0 + (count as f32).ln()) * term.idf))
            .collect();
        let norm = values.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (term, value) in &values {
                for (score, weight) in scores.iter_mut().zip(&term.weights) {
                    *score += weight * value / norm;
                }
            }
        }
        if let Some(layer) = &self.output {
            let hidden: Vec<f32> = scores.iter().map(|h| h.max(0.0)).collect();
            scores = layer
                .weights
                .iter()
                .zip(&layer.bias)
                .map(|(row, bias)| bias + row.iter().zip(&hidden).map(|(w, h)| w * h).sum::<f32>())
                .collect();
        }
        let top = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = scores.iter().map(|s| (s - top).exp()).collect();
        let total: f32 = exp.iter().sum();
        exp.iter().map(|e| e / total).collect()
    }

    /// `Some(class)` when the question should be declined: the probability that it is a legal
    /// question is below the trained threshold; the class is the likeliest other one.
    /// `question` is the text as typed, `embedding` its e5 vector as `ask` searches with it.
    pub fn decline(&self, question: &str, embedding: &[f32]) -> Option<(GuardClass, f32)> {
        let probabilities = self.probabilities(question, embedding);
        let legal = self
            .classes
            .iter()
            .position(|c| *c == GuardClass::Legal)
            .map_or(1.0, |i| probabilities[i]);
        if legal >= self.legal_below {
            return None;
        }
        self.classes
            .iter()
            .zip(&probabilities)
            .filter(|(class, _)| **class != GuardClass::Legal)
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(class, p)| (*class, *p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_likeliest_other_class_is_declined_below_the_threshold() {
        let json = r#"{"format": 1, "dimension": 2, "classes": ["legal", "not_law", "unlawful"],
            "weights": [[4.0, 0.0], [0.0, 4.0], [-4.0, 0.0]], "bias": [0.0, 0.0, 0.0], "legal_below": 0.5}"#;
        let guard = Guard::from_json(json, 2).unwrap().unwrap();
        assert_eq!(guard.decline("", &[1.0, 0.0]), None);
        assert_eq!(
            guard.decline("", &[0.0, 1.0]).map(|d| d.0),
            Some(GuardClass::NotLaw)
        );
        assert_eq!(
            guard.decline("", &[-1.0, 0.0]).map(|d| d.0),
            Some(GuardClass::Unlawful)
        );
        assert!(
            Guard::from_json(json, 3).is_err(),
            "another dimension is refused"
        );
    }

    #[test]
    fn the_compiled_in_model_loads() {
        Guard::compiled_in(384).expect("the shipped guard is valid");
    }

    #[test]
    fn words_are_folded_without_diacritics_and_paired() {
        assert_eq!(
            terms_of("Làm GIẢ sổ đỏ, được không?"),
            [
                "lam",
                "gia",
                "so",
                "do",
                "duoc",
                "khong",
                "lam gia",
                "gia so",
                "so do",
                "do duoc",
                "duoc khong"
            ]
        );
        // Decomposed input, other scripts, emoji and punctuation only: no panic, no stray terms.
        assert_eq!(terms_of("la\u{300}m"), ["lam"]);
        assert!(terms_of("🙏 ??? 中文").is_empty());
        assert_eq!(terms_of("Điều 7"), ["dieu", "7", "dieu 7"]);
    }

    #[test]
    fn a_question_s_words_move_its_class() {
        let json = r#"{"format": 2, "dimension": 1, "classes": ["legal", "unlawful"],
            "weights": [[0.0], [0.0]], "bias": [0.0, 0.0],
            "terms": {"gia": [1.0, -4.0, 4.0], "lam gia": [2.0, -4.0, 4.0]}, "legal_below": 0.5}"#;
        let guard = Guard::from_json(json, 1).unwrap().unwrap();
        assert_eq!(
            guard.decline("hỏi về đất đai", &[0.0]),
            None,
            "no known word: a tie, kept"
        );
        assert_eq!(
            guard.decline("làm giả giấy tờ", &[0.0]).map(|d| d.0),
            Some(GuardClass::Unlawful)
        );
        let malformed = json.replace("[2.0, -4.0, 4.0]", "[2.0, -4.0]");
        assert!(Guard::from_json(&malformed, 1).is_err());
    }

    #[test]
    fn a_hidden_layer_weighs_the_words_against_each_other() {
        // Two hidden units: "lam sao" alone turns on the first, which scores `legal`; "gia"
        // turns on the second, which outweighs it towards `unlawful`.
        let json = r#"{"format": 3, "dimension": 1, "classes": ["legal", "unlawful"],
            "weights": [[0.0], [0.0]], "bias": [0.0, -1.0],
            "terms": {"lam sao": [1.0, 1.0, 1.0]},
            "term_scale": [0.5, 0.25], "quantized_terms": {"gia": {"idf": 1.0, "weights": "0008"}},
            "output_weights": [[2.0, -8.0], [0.0, 8.0]], "output_bias": [0.0, 0.0],
            "legal_below": 0.5}"#;
        let guard = Guard::from_json(json, 1).unwrap().unwrap();
        assert_eq!(guard.decline("làm sao nhận trợ cấp", &[0.0]), None);
        assert_eq!(
            guard.decline("làm sao làm giả", &[0.0]).map(|d| d.0),
            Some(GuardClass::Unlawful)
        );
        let p = guard.probabilities("làm sao", &[0.0]);
        // hidden = relu([1, 1] / 1 + [0, -1]) = [1, 0]; scores = [2, 0]
        assert!((p[0] - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6, "{p:?}");
        let malformed = json.replace(r#""output_bias": [0.0, 0.0]"#, r#""output_bias": [0.0]"#);
        assert!(Guard::from_json(&malformed, 1).is_err());
        // "0008": the bytes 0 and 8, times the scales 0.5 and 0.25: the weights 0 and 2.
        assert_eq!(guard.terms["gia"].weights, [0.0, 2.0]);
        let negative = json.replace(r#""0008""#, r#""fff8""#);
        let negative = Guard::from_json(&negative, 1).unwrap().unwrap();
        assert_eq!(negative.terms["gia"].weights, [-0.5, -2.0]);
        for bad in [r#""00""#, r#""00zz""#, r#""00é8""#, r#""00+f""#] {
            let malformed = json.replace(r#""0008""#, bad);
            assert!(Guard::from_json(&malformed, 1).is_err(), "{bad}");
        }
        let narrow = json.replace("[0.5, 0.25]", "[0.5]");
        assert!(Guard::from_json(&narrow, 1).is_err());
    }

    /// The compiled-in model gives scikit-learn's own probabilities on the rows the training
    /// script saved: the folding, the terms, TF-IDF and the weights agree with Python's.
    #[test]
    fn the_compiled_in_model_reproduces_scikit_learns_probabilities() {
        #[derive(Deserialize)]
        struct Row {
            question: String,
            embedding: Vec<f32>,
            probabilities: Vec<f32>,
        }
        let rows: Vec<Row> =
            serde_json::from_str(include_str!("guard_check.json")).expect("check rows parse");
        let guard = Guard::compiled_in(384)
            .unwrap()
            .expect("a guard is shipped");
        assert!(!guard.terms.is_empty(), "the shipped guard reads the words");
        assert!(rows.len() >= 10);
        for row in rows {
            let ours = guard.probabilities(&row.question, &row.embedding);
            for (a, b) in ours.iter().zip(&row.probabilities) {
                assert!(
                    (a - b).abs() < 1e-3,
                    "{}: {ours:?} vs {:?}",
                    row.question,
                    row.probabilities
                );
            }
        }
    }
}
