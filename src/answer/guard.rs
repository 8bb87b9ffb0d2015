//! Declines by meaning what the pattern lists of `prompts/out_of_scope.toml` miss: a request to
//! break the law phrased in new words ("soạn giúp giấy xác nhận cư trú có dấu đỏ công an phường"),
//! a question that is not about law, a request to predict a court's decision.
//!
//! A multinomial logistic regression over the question's e5 embedding (the vector `ask` computes
//! for searching anyway, so the guard costs a few thousand multiplications), trained offline by
//! `eval/ranker/train_guard.py` on labelled must-decline and answerable questions with k-fold
//! cross-validation, and compiled in from `src/answer/guard_model.json`. The patterns stay: they
//! give each category its own reply and cost nothing.

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
    /// One row of `dimension` weights per class.
    weights: Vec<Vec<f32>>,
    bias: Vec<f32>,
    /// A question is declined when the probability of `legal` is below this.
    legal_below: f32,
}

/// The trained guard.
#[derive(Debug)]
pub struct Guard {
    classes: Vec<GuardClass>,
    weights: Vec<Vec<f32>>,
    bias: Vec<f32>,
    legal_below: f32,
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
        if file.format != 1 {
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
        if !classes.contains(&GuardClass::Legal)
            || file.weights.len() != classes.len()
            || file.bias.len() != classes.len()
            || file.weights.iter().any(|row| row.len() != dimension)
        {
            return Err(GuardError::Malformed(
                "classes, weights and bias do not agree",
            ));
        }
        Ok(Some(Guard {
            classes,
            weights: file.weights,
            bias: file.bias,
            legal_below: file.legal_below,
        }))
    }

    /// Class probabilities of an embedding (softmax of the linear scores), in `classes` order.
    fn probabilities(&self, embedding: &[f32]) -> Vec<f32> {
        let scores: Vec<f32> = self
            .weights
            .iter()
            .zip(&self.bias)
            .map(|(row, bias)| bias + row.iter().zip(embedding).map(|(w, x)| w * x).sum::<f32>())
            .collect();
        let top = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = scores.iter().map(|s| (s - top).exp()).collect();
        let total: f32 = exp.iter().sum();
        exp.iter().map(|e| e / total).collect()
    }

    /// `Some(class)` when the question should be declined: the probability that it is a legal
    /// question is below the trained threshold; the class is the likeliest other one.
    pub fn decline(&self, embedding: &[f32]) -> Option<(GuardClass, f32)> {
        let probabilities = self.probabilities(embedding);
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
        assert_eq!(guard.decline(&[1.0, 0.0]), None);
        assert_eq!(
            guard.decline(&[0.0, 1.0]).map(|d| d.0),
            Some(GuardClass::NotLaw)
        );
        assert_eq!(
            guard.decline(&[-1.0, 0.0]).map(|d| d.0),
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
}
