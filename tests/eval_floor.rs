//! Quality cannot silently regress: the hand-written question sets and the out-of-scope set are
//! evaluated on the curated core of the shipped corpus (every loose file of `corpus/`; real model,
//! real engine, freshly ingested, the shipped ranker and guard), and every number must meet the
//! floor recorded in `eval/floor.toml`. The floor sits a little under what this test measured when
//! it was set; raise it when a change raises it.
//!
//! The compendium bundle is left out: embedding it takes about an hour on two cores, which CI
//! cannot spend. Its numbers come from `hoiluat eval` on the whole corpus (`eval/README.md`).
//!
//! This is the slowest test (it embeds the core: a few minutes on two cores).

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

/// Bounds on the answers of the shipped pipeline (ranked mode).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetFloor {
    recall_at_10: Option<f64>,
    mrr_at_10: Option<f64>,
    /// Share of answerable questions whose first quote is a gold article.
    first_quote_gold: Option<f64>,
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
    let core: Vec<String> = std::fs::read_dir(repo.join("corpus"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md") && name != "README.md" && name != "FORMAT.md")
        .collect();
    let core: Vec<&str> = core.iter().map(String::as_str).collect();
    let corpus = common::corpus_with(dir.path(), &core);
    // The core's shipped vectors, as a first `make run` uses them: the index is the one users get,
    // and the test embeds nothing (tests/ingest.rs checks the vectors against the model).
    std::fs::copy(
        repo.join("corpus").join(app::SHIPPED_VECTORS_FILE),
        corpus.join(app::SHIPPED_VECTORS_FILE),
    )
    .unwrap();
    let mut config = common::config_for(dir.path(), &corpus);
    config.retrieval.answer_cache_capacity = 0;
    let started = app::start(&config, IndexMode::IngestIfNeeded, false).expect("start-up");
    let options = EvalOptions {
        sets: floor.set.keys().map(|set| repo.join(set)).collect(),
        modes: vec![RetrievalMode::Ranked],
        ..EvalOptions::default()
    };
    let report = eval::run(&started.assistant, &options).unwrap();

    let mut failures = Vec::new();
    for (set, (name, expected)) in report.sets.iter().zip(&floor.set) {
        let summary = &set.summary;
        let ranked = &summary.ranking["ranked"];
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
            "Recall@10",
            ranked.recall_at_10,
            expected.recall_at_10,
            true,
        );
        check("MRR@10", ranked.mrr_at_10, expected.mrr_at_10, true);
        check(
            "first quote gold",
            share(
                summary.answerable.first_quote_gold,
                summary.answerable.questions,
            ),
            expected.first_quote_gold,
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
