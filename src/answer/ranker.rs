//! The learned ranking stage and the calibrated answer probability.
//!
//! Both are trained offline by `eval/ranker/train.py` (LightGBM lambdarank for the order, logistic
//! regression on out-of-fold scores for the probability) from the features of
//! [`super::features`], and written to `src/answer/ranker_model.json`, which is compiled in. This
//! module only evaluates them: the gradient-boosted trees as LightGBM dumps them (a sum of trees,
//! each a binary tree of `feature <= threshold` splits), and a logistic regression over a few
//! statistics of the ranked pool. A test checks that the evaluation reproduces the library's own
//! predictions on rows it saved (`src/answer/ranker_check.json`).

use serde::Deserialize;

use super::features::{feature_index, ArticleCandidate, FEATURE_NAMES};

/// The trained model, compiled in.
const MODEL_JSON: &str = include_str!("ranker_model.json");

/// Statistics of a ranked pool the probability is computed from, in the order of the trained
/// calibration's weights.
pub const CALIBRATION_INPUTS: [&str; 14] = [
    "top_score",
    "score_gap",
    "top_dense_cosine",
    "top_trusted_coverage",
    "top_heading_match",
    "top_confidence",
    "top_title_coverage",
    "question_syllables",
    "question_has_diacritics",
    "top_plain_score",
    "top_toned_score",
    "top_heading_coverage",
    "top_document_in_pool",
    "third_gap",
];

#[derive(Debug, Deserialize)]
struct ModelFile {
    format: u32,
    features: Vec<String>,
    trees: Vec<Tree>,
    calibration: Option<Calibration>,
}

/// One regression tree, flattened: node `i` splits on `feature[i] <= threshold[i]`; a child index
/// `c >= 0` is another node, `c < 0` is leaf `!c`. A NaN goes the way of `default_left`.
#[derive(Debug, Deserialize)]
struct Tree {
    feature: Vec<usize>,
    threshold: Vec<f64>,
    default_left: Vec<bool>,
    left: Vec<i32>,
    right: Vec<i32>,
    leaf: Vec<f64>,
}

impl Tree {
    fn is_well_formed(&self) -> bool {
        let nodes = self.feature.len();
        let in_range = |child: i32| {
            if child >= 0 {
                (child as usize) < nodes
            } else {
                (!child as usize) < self.leaf.len()
            }
        };
        [
            self.threshold.len(),
            self.default_left.len(),
            self.left.len(),
            self.right.len(),
        ]
        .iter()
        .all(|&len| len == nodes)
            && self.feature.iter().all(|&f| f < FEATURE_NAMES.len())
            && self.left.iter().chain(&self.right).all(|&c| in_range(c))
            && (nodes > 0 || !self.leaf.is_empty())
    }
}

/// Logistic regression on standardised inputs.
#[derive(Debug, Deserialize)]
struct Calibration {
    inputs: Vec<String>,
    mean: Vec<f64>,
    scale: Vec<f64>,
    weights: Vec<f64>,
    bias: f64,
}

/// One split of a [`PackedTree`]: what [`Tree`] keeps in five arrays, side by side, so that a
/// step down the tree reads one place rather than five. With [`LANES`] candidates walking at once
/// this halves the time of [`Ranker::scores`] (the lanes over the five arrays: 417-470 µs a pool
/// of 31; packed: about 200 µs; `examples/ranker_speed.rs`).
#[derive(Debug, Clone, Copy)]
struct Node {
    threshold: f64,
    feature: u32,
    left: i32,
    right: i32,
    default_left: bool,
}

/// Candidates that go down a tree together in [`Ranker::scores`].
const LANES: usize = 8;

/// A [`Tree`] as evaluated: nodes packed, leaves apart.
#[derive(Debug)]
struct PackedTree {
    nodes: Vec<Node>,
    leaves: Vec<f64>,
}

impl PackedTree {
    fn new(tree: &Tree) -> PackedTree {
        PackedTree {
            nodes: (0..tree.feature.len())
                .map(|i| Node {
                    threshold: tree.threshold[i],
                    feature: tree.feature[i] as u32,
                    left: tree.left[i],
                    right: tree.right[i],
                    default_left: tree.default_left[i],
                })
                .collect(),
            leaves: tree.leaf.clone(),
        }
    }

    /// This tree's prediction for one candidate.
    fn predict(&self, features: &[f32]) -> f64 {
        let mut score = [0.0];
        self.predict_lanes(&[features], &mut score);
        score[0]
    }

    /// Adds this tree's prediction for each of `features` (at most [`LANES`]) to `scores`,
    /// stepping all of them one level at a time. A well-formed tree brings each to a leaf in at
    /// most as many steps as it has nodes; child indices were checked when the model was loaded
    /// (`Tree::is_well_formed`).
    fn predict_lanes(&self, features: &[&[f32]], scores: &mut [f64]) {
        if self.nodes.is_empty() {
            let leaf = self.leaves.first().copied().unwrap_or(0.0);
            scores.iter_mut().for_each(|score| *score += leaf);
            return;
        }
        let lanes = features.len().min(LANES);
        let mut at = [0_i32; LANES];
        for _ in 0..=self.nodes.len() {
            let mut moving = false;
            for lane in 0..lanes {
                let node = at[lane];
                if node < 0 {
                    continue;
                }
                moving = true;
                let split = &self.nodes[node as usize];
                let value = f64::from(
                    features[lane]
                        .get(split.feature as usize)
                        .copied()
                        .unwrap_or(f32::NAN),
                );
                let left = if value.is_nan() {
                    split.default_left
                } else {
                    value <= split.threshold
                };
                at[lane] = if left { split.left } else { split.right };
            }
            if !moving {
                break;
            }
        }
        for lane in 0..lanes {
            // A lane still inside the tree after as many steps as it has nodes met a cycle, which
            // `predict` scores 0.
            if at[lane] < 0 {
                scores[lane] += self.leaves.get(!at[lane] as usize).copied().unwrap_or(0.0);
            }
        }
    }
}

/// The trained ranker and calibration.
#[derive(Debug)]
pub struct Ranker {
    trees: Vec<PackedTree>,
    calibration: Option<Calibration>,
}

#[derive(Debug, thiserror::Error)]
pub enum RankerError {
    #[error("the ranking model is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the ranking model was trained on other features ({0}); retrain it with eval/ranker/train.py")]
    Features(String),
    #[error("the ranking model is malformed: {0}")]
    Malformed(&'static str),
}

impl Ranker {
    /// The compiled-in model; `None` when it holds no trees (before the first training), in
    /// which case candidates keep the order of the hand-mixed confidence.
    pub fn compiled_in() -> Result<Option<Ranker>, RankerError> {
        Ranker::from_json(MODEL_JSON)
    }

    pub fn from_json(json: &str) -> Result<Option<Ranker>, RankerError> {
        let file: ModelFile = serde_json::from_str(json)?;
        if file.format != 1 {
            return Err(RankerError::Malformed("unknown format"));
        }
        if file.features != FEATURE_NAMES {
            return Err(RankerError::Features(file.features.join(", ")));
        }
        if !file.trees.iter().all(Tree::is_well_formed) {
            return Err(RankerError::Malformed("a tree's arrays do not agree"));
        }
        if let Some(calibration) = &file.calibration {
            let inputs_match = calibration.inputs == CALIBRATION_INPUTS
                && [
                    calibration.mean.len(),
                    calibration.scale.len(),
                    calibration.weights.len(),
                ]
                .iter()
                .all(|&len| len == CALIBRATION_INPUTS.len());
            if !inputs_match {
                return Err(RankerError::Malformed("calibration inputs"));
            }
        }
        if file.trees.is_empty() {
            return Ok(None);
        }
        Ok(Some(Ranker {
            trees: file.trees.iter().map(PackedTree::new).collect(),
            calibration: file.calibration,
        }))
    }

    /// The raw ranking score of one candidate (higher is better).
    pub fn score(&self, features: &[f32]) -> f64 {
        self.trees.iter().map(|tree| tree.predict(features)).sum()
    }

    /// [`Ranker::score`] of each candidate of a pool, the same sums to the bit, faster: tree by
    /// tree, so that each tree is read from memory once per pool rather than once per candidate,
    /// and [`LANES`] candidates down a tree at once, so that the processor overlaps their
    /// independent, hard-to-predict steps (`examples/ranker_speed.rs`; `eval/README.md`, round 8).
    pub fn scores<'a>(&self, pool: impl Iterator<Item = &'a [f32]>) -> Vec<f64> {
        let pool: Vec<&[f32]> = pool.collect();
        let mut scores = vec![0.0; pool.len()];
        for tree in &self.trees {
            for (lane_scores, lane_features) in scores.chunks_mut(LANES).zip(pool.chunks(LANES)) {
                tree.predict_lanes(lane_features, lane_scores);
            }
        }
        scores
    }

    /// The probability that the best of `ranked` (scored, best first) answers the question.
    /// `None` without a trained calibration or without candidates.
    pub fn probability(&self, ranked: &[(f64, &ArticleCandidate)]) -> Option<f32> {
        let calibration = self.calibration.as_ref()?;
        let inputs = calibration_inputs(ranked)?;
        let z = calibration.bias
            + inputs
                .iter()
                .zip(&calibration.mean)
                .zip(&calibration.scale)
                .zip(&calibration.weights)
                .map(|(((x, mean), scale), weight)| {
                    weight * (x - mean) / if *scale > 0.0 { *scale } else { 1.0 }
                })
                .sum::<f64>();
        Some((1.0 / (1.0 + (-z).exp())) as f32)
    }
}

/// [`CALIBRATION_INPUTS`] of a ranked pool (scored, best first).
pub fn calibration_inputs(
    ranked: &[(f64, &ArticleCandidate)],
) -> Option<[f64; CALIBRATION_INPUTS.len()]> {
    let (top_score, top) = ranked.first()?;
    let second = ranked.get(1).map_or(top_score - 1.0, |(score, _)| *score);
    let third = ranked.get(2).map_or(second - 1.0, |(score, _)| *score);
    let feature = |index: usize| f64::from(top.features[index]);
    Some([
        *top_score,
        top_score - second,
        feature(const { feature_index("dense_cosine") }),
        feature(const { feature_index("trusted_coverage") }),
        feature(const { feature_index("heading_match") }),
        feature(const { feature_index("confidence") }),
        feature(const { feature_index("title_coverage") }),
        feature(const { feature_index("question_syllables") }),
        feature(const { feature_index("question_has_diacritics") }),
        feature(const { feature_index("plain_score") }),
        feature(const { feature_index("toned_score") }),
        feature(const { feature_index("heading_coverage") }),
        feature(const { feature_index("document_articles_in_pool") }),
        top_score - third,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(trees: &str, calibration: &str) -> String {
        let names: Vec<String> = FEATURE_NAMES.iter().map(|n| format!("\"{n}\"")).collect();
        format!(
            "{{\"format\": 1, \"features\": [{}], \"trees\": [{trees}], \"calibration\": {calibration}}}",
            names.join(", ")
        )
    }

    #[test]
    fn trees_are_walked_with_nan_going_the_default_way() {
        // feature 10 (dense_cosine) <= 0.85 ? (feature 23 (coverage) <= 0.5 ? 1 : 2) : 3
        let json = model(
            "{\"feature\": [10, 23], \"threshold\": [0.85, 0.5], \"default_left\": [false, true], \"left\": [1, -1], \"right\": [-3, -2], \"leaf\": [1.0, 2.0, 3.0]}",
            "null",
        );
        let ranker = Ranker::from_json(&json).unwrap().unwrap();
        let mut features = vec![0.0_f32; FEATURE_NAMES.len()];
        features[10] = 0.8;
        features[23] = 0.2;
        assert_eq!(ranker.score(&features), 1.0);
        features[23] = 0.9;
        assert_eq!(ranker.score(&features), 2.0);
        features[10] = 0.9;
        assert_eq!(ranker.score(&features), 3.0);
        features[10] = f32::NAN;
        assert_eq!(ranker.score(&features), 3.0, "NaN goes right at node 0");

        // A pool scored at once (more candidates than lanes, and a short last group) gives each
        // candidate its own score; a feature vector too short reads as NaN.
        let pool: Vec<Vec<f32>> = (0..19)
            .map(|i| {
                let mut features = vec![0.0_f32; FEATURE_NAMES.len()];
                features[10] = [0.8, 0.9, f32::NAN][i % 3];
                features[23] = [0.2, 0.9][i % 2];
                features
            })
            .chain([vec![0.8_f32; 11]])
            .collect();
        let one_by_one: Vec<f64> = pool.iter().map(|f| ranker.score(f)).collect();
        assert_eq!(ranker.scores(pool.iter().map(Vec::as_slice)), one_by_one);
        assert_eq!(one_by_one[..4], [1.0, 3.0, 3.0, 2.0]);
        assert_eq!(
            one_by_one[19], 1.0,
            "missing coverage is NaN, which goes left at node 1"
        );
        assert!(ranker.scores(std::iter::empty()).is_empty());
    }

    #[test]
    fn a_model_of_other_features_or_broken_trees_is_refused() {
        assert!(matches!(
            Ranker::from_json(
                "{\"format\": 1, \"features\": [\"x\"], \"trees\": [], \"calibration\": null}"
            ),
            Err(RankerError::Features(_))
        ));
        let broken = model(
            "{\"feature\": [10], \"threshold\": [0.5], \"default_left\": [true], \"left\": [5], \"right\": [-1], \"leaf\": [1.0]}",
            "null",
        );
        assert!(matches!(
            Ranker::from_json(&broken),
            Err(RankerError::Malformed(_))
        ));
        assert!(Ranker::from_json(&model("", "null")).unwrap().is_none());
    }

    #[test]
    fn the_compiled_in_model_loads() {
        Ranker::compiled_in().expect("the shipped model is valid");
    }

    /// The rows `eval/ranker/train.py` saved with LightGBM's and scikit-learn's own predictions:
    /// the Rust evaluation of the shipped model must give the same scores and probabilities.
    #[test]
    fn the_shipped_model_reproduces_the_training_librarys_predictions() {
        #[derive(Deserialize)]
        struct Row {
            features: Vec<Vec<f32>>,
            scores: Vec<f64>,
            probability: f64,
        }
        let rows: Vec<Row> =
            serde_json::from_str(include_str!("ranker_check.json")).expect("check rows parse");
        let ranker = Ranker::compiled_in()
            .expect("valid")
            .expect("a trained model is shipped");
        assert!(rows.len() >= 20, "too few check rows");
        for row in &rows {
            let candidates: Vec<ArticleCandidate> = row
                .features
                .iter()
                .map(|features| ArticleCandidate {
                    article_id: String::new(),
                    clauses: Vec::new(),
                    confidence: 0.0,
                    fused_rank: 0,
                    features: features.clone(),
                })
                .collect();
            let mut scored: Vec<(f64, &ArticleCandidate)> = Vec::new();
            for (candidate, expected) in candidates.iter().zip(&row.scores) {
                let score = ranker.score(&candidate.features);
                assert!(
                    (score - expected).abs() < 1e-6,
                    "score {score} != LightGBM's {expected}"
                );
                scored.push((score, candidate));
            }
            let pooled = ranker.scores(row.features.iter().map(Vec::as_slice));
            let one_by_one: Vec<f64> = scored.iter().map(|(score, _)| *score).collect();
            assert_eq!(
                pooled, one_by_one,
                "a pool scores as its candidates one by one"
            );
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            let probability = f64::from(ranker.probability(&scored).expect("calibrated"));
            assert!(
                (probability - row.probability).abs() < 1e-4,
                "probability {probability} != scikit-learn's {}",
                row.probability
            );
        }
    }
}
