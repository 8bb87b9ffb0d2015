//! Quality cannot silently regress: the hand-written citizen set and the out-of-scope set are
//! evaluated on the whole shipped corpus (real model, real engine, freshly ingested), and every
//! number must meet the floor recorded in `eval/floor.toml`. The floor sits a little under the
//! committed baseline report; raise it when a change raises the baseline.
//!
//! This is the slowest test (it embeds the shipped corpus: about two minutes on two cores).

mod common;

use std::collections::BTreeMap;

use hoiluat::answer::RetrievalMode;
use hoiluat::app::{self, IndexMode};
use hoiluat::eval::{self, EvalOptions};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Floor {
    /// Set file (relative to the repository) → minimum values.
    set: BTreeMap<String, SetFloor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetFloor {
    hybrid_recall_at_10: Option<f64>,
    hybrid_mrr_at_10: Option<f64>,
    /// Share of must-decline questions declined.
    must_decline_declined: Option<f64>,
    /// Largest share of answerable questions declined.
    answerable_declined_at_most: Option<f64>,
}

#[test]
fn shipped_corpus_meets_the_recorded_quality_floor() {
    let repo = common::repo();
    let floor: Floor =
        toml::from_str(&std::fs::read_to_string(repo.join("eval/floor.toml")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config_for(dir.path(), &repo.join("corpus"));
    config.retrieval.answer_cache_capacity = 0;
    let started = app::start(&config, IndexMode::IngestIfNeeded, false).expect("start-up");
    let options = EvalOptions {
        sets: floor.set.keys().map(|set| repo.join(set)).collect(),
        modes: vec![RetrievalMode::Hybrid],
        ..EvalOptions::default()
    };
    let report = eval::run(&started.assistant, &options).unwrap();

    let mut failures = Vec::new();
    for (set, (name, expected)) in report.sets.iter().zip(&floor.set) {
        let summary = &set.summary;
        let hybrid = &summary.ranking["hybrid"];
        let share = |part: usize, whole: usize| {
            if whole == 0 {
                0.0
            } else {
                part as f64 / whole as f64
            }
        };
        let mut check = |what: &str, value: f64, bound: Option<f64>, at_least: bool| {
            if let Some(bound) = bound {
                let ok = if at_least {
                    value >= bound
                } else {
                    value <= bound
                };
                println!("{name}: {what} = {value:.3} (floor {bound:.3})");
                if !ok {
                    failures.push(format!("{name}: {what} = {value:.3}, floor {bound:.3}"));
                }
            }
        };
        check(
            "hybrid Recall@10",
            hybrid.recall_at_10,
            expected.hybrid_recall_at_10,
            true,
        );
        check(
            "hybrid MRR@10",
            hybrid.mrr_at_10,
            expected.hybrid_mrr_at_10,
            true,
        );
        check(
            "must-decline declined",
            share(
                summary.must_decline.declined,
                summary.must_decline.questions,
            ),
            expected.must_decline_declined,
            true,
        );
        check(
            "answerable declined",
            share(summary.answerable.declined, summary.answerable.questions),
            expected.answerable_declined_at_most,
            false,
        );
    }
    assert!(
        failures.is_empty(),
        "quality fell below the floor:\n{}",
        failures.join("\n")
    );
}
