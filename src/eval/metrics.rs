//! Ranking metrics (Recall@k, MRR@10, nDCG@10 with binary relevance) and answer-behaviour counts
//! over the results of one question set.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::{Expect, QuestionResult, DEPTH};
use crate::answer::RetrievalMode;

/// Ranking quality of one mode over the questions whose gold is in the index. Recall@k is the share
/// of a question's gold articles found in the top k, averaged over questions.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RankMetrics {
    pub questions: usize,
    pub recall_at_1: f64,
    pub recall_at_5: f64,
    pub recall_at_10: f64,
    pub mrr_at_10: f64,
    pub ndcg_at_10: f64,
}

impl RankMetrics {
    fn of<'a>(results: impl Iterator<Item = &'a QuestionResult>, mode: &str) -> RankMetrics {
        let mut metrics = RankMetrics::default();
        for result in results {
            let Some(ranked) = result.ranked.get(mode) else {
                continue;
            };
            let gold: HashSet<&str> = result.gold.iter().map(String::as_str).collect();
            metrics.questions += 1;
            let found_within = |k: usize| {
                ranked
                    .iter()
                    .take(k)
                    .filter(|id| gold.contains(id.as_str()))
                    .count() as f64
                    / gold.len() as f64
            };
            metrics.recall_at_1 += found_within(1);
            metrics.recall_at_5 += found_within(5);
            metrics.recall_at_10 += found_within(DEPTH);
            if let Some(position) = ranked
                .iter()
                .take(DEPTH)
                .position(|id| gold.contains(id.as_str()))
            {
                metrics.mrr_at_10 += 1.0 / (position as f64 + 1.0);
            }
            let dcg: f64 = ranked
                .iter()
                .take(DEPTH)
                .enumerate()
                .filter(|(_, id)| gold.contains(id.as_str()))
                .map(|(i, _)| 1.0 / (i as f64 + 2.0).log2())
                .sum();
            let ideal: f64 = (0..gold.len().min(DEPTH))
                .map(|i| 1.0 / (i as f64 + 2.0).log2())
                .sum();
            metrics.ndcg_at_10 += dcg / ideal;
        }
        if metrics.questions > 0 {
            let n = metrics.questions as f64;
            metrics.recall_at_1 /= n;
            metrics.recall_at_5 /= n;
            metrics.recall_at_10 /= n;
            metrics.mrr_at_10 /= n;
            metrics.ndcg_at_10 /= n;
        }
        metrics
    }
}

/// What `ask` did with a group of questions.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Behaviour {
    pub questions: usize,
    pub answered: usize,
    /// Answered and not flagged for staff review.
    pub answered_unflagged: usize,
    pub declined: usize,
    /// The first quoted article is a gold article (answerable questions only).
    pub first_quote_gold: usize,
    /// Some quoted article is a gold article (answerable questions only).
    pub any_quote_gold: usize,
}

impl Behaviour {
    fn add(&mut self, result: &QuestionResult) {
        self.questions += 1;
        if result.declined {
            self.declined += 1;
        } else {
            self.answered += 1;
            if !result.needs_review {
                self.answered_unflagged += 1;
            }
        }
        if result
            .quoted
            .first()
            .is_some_and(|id| result.gold.contains(id))
        {
            self.first_quote_gold += 1;
        }
        if result.quoted.iter().any(|id| result.gold.contains(id)) {
            self.any_quote_gold += 1;
        }
    }
}

/// The 95% Wilson score interval of a share of `part` in `n`, as fractions: how far the share
/// measured on a small set may be from the share on every question of its kind. Reported beside
/// the first quote so that a difference of a question or two on a set of 36 or 108 is not read as
/// a gain (eval/README.md, rounds 7-9). `None` for an empty set.
pub fn wilson_interval(part: usize, n: usize) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n = n as f64;
    let p = (part as f64 / n).clamp(0.0, 1.0);
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Percentiles of a list of milliseconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Latency {
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(mut values: Vec<f64>) -> Latency {
        values.sort_by(f64::total_cmp);
        let at = |q: f64| -> f64 {
            if values.is_empty() {
                return 0.0;
            }
            // Nearest rank: the smallest value with at least q of the values at or below it.
            let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
            values[rank - 1]
        };
        Latency {
            count: values.len(),
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            max_ms: values.last().copied().unwrap_or(0.0),
        }
    }
}

/// Everything reported about one set.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    pub questions: usize,
    /// Ranking metrics per mode over the questions whose gold is in the index.
    pub ranking: BTreeMap<String, RankMetrics>,
    /// The same per question kind, then per mode.
    pub ranking_by_kind: BTreeMap<String, BTreeMap<String, RankMetrics>>,
    /// Questions expected to be answered whose gold is in the index.
    pub answerable: Behaviour,
    /// Questions expected to be declined.
    pub must_decline: Behaviour,
    /// Questions with gold articles none of which is in the index: declining or flagging is right.
    pub gold_missing: Behaviour,
    /// Answerable questions asked again without their gold documents in the index
    /// (`--exclude-gold`): declining or flagging is right.
    pub gold_excluded: Behaviour,
    /// Per kind, every question.
    pub behaviour_by_kind: BTreeMap<String, Behaviour>,
    /// Latency of `ask` (whole pipeline, one question at a time).
    pub ask_latency: Latency,
    /// Latency of the retrieval step per mode.
    pub retrieve_latency: BTreeMap<String, Latency>,
    /// For thresholds 0.05..0.95: share of answerable questions whose confidence reaches it, and
    /// of questions that should not be answered (must decline, gold missing, gold excluded).
    pub threshold_sweep: Vec<(f32, f64, f64)>,
}

impl Summary {
    pub fn of(results: &[QuestionResult], modes: &[RetrievalMode]) -> Summary {
        let ranked = |r: &&QuestionResult| r.expect == Expect::Answer && !r.gold.is_empty();
        let mut summary = Summary {
            questions: results.len(),
            ..Summary::default()
        };
        let kinds: Vec<&str> = {
            let mut kinds: Vec<&str> = results.iter().map(|r| r.kind.as_str()).collect();
            kinds.sort_unstable();
            kinds.dedup();
            kinds
        };
        for mode in modes.iter().map(|m| m.name()) {
            summary.ranking.insert(
                mode.to_owned(),
                RankMetrics::of(results.iter().filter(ranked), mode),
            );
            for kind in &kinds {
                let metrics = RankMetrics::of(
                    results.iter().filter(ranked).filter(|r| r.kind == *kind),
                    mode,
                );
                if metrics.questions > 0 {
                    summary
                        .ranking_by_kind
                        .entry((*kind).to_owned())
                        .or_default()
                        .insert(mode.to_owned(), metrics);
                }
            }
            summary.retrieve_latency.insert(
                mode.to_owned(),
                Latency::of(
                    results
                        .iter()
                        .filter_map(|r| r.retrieve_ms.get(mode).copied())
                        .collect(),
                ),
            );
        }
        let mut should_answer = Vec::new();
        let mut should_not = Vec::new();
        for result in results {
            let group = if result.expect == Expect::Decline {
                should_not.push(if result.declined {
                    0.0
                } else {
                    result.confidence
                });
                &mut summary.must_decline
            } else if result.gold_missing {
                should_not.push(if result.declined {
                    0.0
                } else {
                    result.confidence
                });
                &mut summary.gold_missing
            } else {
                should_answer.push(result.confidence);
                &mut summary.answerable
            };
            group.add(result);
            if let Some(excluded) = &result.excluded {
                let behaviour = &mut summary.gold_excluded;
                behaviour.questions += 1;
                if excluded.declined {
                    behaviour.declined += 1;
                } else {
                    behaviour.answered += 1;
                    if !excluded.needs_review {
                        behaviour.answered_unflagged += 1;
                    }
                }
                should_not.push(if excluded.declined {
                    0.0
                } else {
                    excluded.confidence
                });
            }
            summary
                .behaviour_by_kind
                .entry(result.kind.clone())
                .or_default()
                .add(result);
        }
        summary.ask_latency = Latency::of(results.iter().map(|r| r.ask_ms).collect());
        for step in 0..19 {
            let threshold = 0.05 + 0.05 * step as f32;
            let share = |values: &[f32]| {
                if values.is_empty() {
                    0.0
                } else {
                    values.iter().filter(|c| **c >= threshold).count() as f64 / values.len() as f64
                }
            };
            summary
                .threshold_sweep
                .push((threshold, share(&should_answer), share(&should_not)));
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_intervals_match_the_textbook_values() {
        // Wilson (1927) / Newcombe (1998), 95%: 18 of 36 → 0.3445-0.6555; 0 of 10 → 0-0.2775.
        let (lo, hi) = wilson_interval(18, 36).unwrap();
        assert!(
            (lo - 0.3445).abs() < 5e-4 && (hi - 0.6555).abs() < 5e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson_interval(0, 10).unwrap();
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 5e-4, "{hi}");
        let (lo, hi) = wilson_interval(10, 10).unwrap();
        assert!(
            (lo - 0.7225).abs() < 5e-4 && (hi - 1.0).abs() < 1e-12,
            "{lo} {hi}"
        );
        assert_eq!(wilson_interval(0, 0), None);
        // More questions, a narrower interval around the same share.
        let narrow = wilson_interval(180, 360).unwrap();
        assert!(narrow.1 - narrow.0 < 0.11);
    }

    fn result(gold: &[&str], ranked: &[&str]) -> QuestionResult {
        QuestionResult {
            id: "q".into(),
            kind: "k".into(),
            question: "?".into(),
            expect: Expect::Answer,
            gold: gold.iter().map(|s| s.to_string()).collect(),
            gold_missing: false,
            ranked: BTreeMap::from([(
                "hybrid".to_owned(),
                ranked.iter().map(|s| s.to_string()).collect(),
            )]),
            first_gold_rank: BTreeMap::new(),
            retrieve_ms: BTreeMap::new(),
            declined: false,
            decline_category: None,
            needs_review: false,
            confidence: 0.7,
            quoted: vec![],
            ask_ms: 1.0,
            excluded: None,
        }
    }

    #[test]
    fn rank_metrics_by_hand() {
        // Gold at rank 2 of one question, both golds at ranks 1 and 3 of another, none in a third.
        let results = [
            result(&["a"], &["x", "a"]),
            result(&["a", "b"], &["a", "x", "b"]),
            result(&["a"], &["x", "y"]),
        ];
        let m = RankMetrics::of(results.iter(), "hybrid");
        assert_eq!(m.questions, 3);
        assert!((m.recall_at_1 - (0.0 + 0.5 + 0.0) / 3.0).abs() < 1e-9);
        assert!((m.recall_at_5 - (1.0 + 1.0 + 0.0) / 3.0).abs() < 1e-9);
        assert!((m.mrr_at_10 - (0.5 + 1.0 + 0.0) / 3.0).abs() < 1e-9);
        let ndcg_first = (1.0 / 3f64.log2()) / 1.0;
        let ndcg_second = (1.0 + 1.0 / 4f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!((m.ndcg_at_10 - (ndcg_first + ndcg_second) / 3.0).abs() < 1e-9);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let latency = Latency::of((1..=100).map(f64::from).collect());
        assert_eq!(latency.p50_ms, 50.0);
        assert_eq!(latency.p95_ms, 95.0);
        assert_eq!(latency.p99_ms, 99.0);
        assert_eq!(latency.max_ms, 100.0);
        assert_eq!(Latency::of(vec![]).count, 0);
    }
}
