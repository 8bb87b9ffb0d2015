//! Offline evaluation of `ask` on labelled questions: retrieval hits, answer/decline behaviour and
//! latency, written as a Markdown report (committed under `eval/reports/` as baselines).
//!
//! Two inputs:
//! - real citizen questions with gold articles (`zalo-phapdien/dev.jsonl` of the shared data): a
//!   gold article counts when its document and article number are in our corpus;
//! - questions the service must not answer from the corpus (`eval/out_of_scope.jsonl`): not about
//!   law, or about law the corpus does not hold.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::answer::{Assistant, Outcome};
use crate::chunk::document_slug;

#[derive(Debug, Deserialize)]
struct GoldQuestion {
    id: String,
    question: String,
    gold: Vec<GoldArticle>,
}

#[derive(Debug, Deserialize)]
struct GoldArticle {
    so_hieu: String,
    dieu: String,
}

#[derive(Debug, Deserialize)]
struct UnanswerableQuestion {
    question: String,
    /// Why it must not be answered: `not_law`, `not_in_corpus`, `unlawful`.
    kind: String,
}

/// Counts for one group of questions.
#[derive(Debug, Default, Clone)]
pub struct GroupStats {
    pub questions: usize,
    pub answered: usize,
    pub answered_without_review: usize,
    pub declined: usize,
    /// Answers whose first quote is a gold article.
    pub first_quote_correct: usize,
    /// Answers quoting a gold article anywhere.
    pub any_quote_correct: usize,
    /// Gold article among the top 1 / 5 / 10 ranked candidates.
    pub hit_at_1: usize,
    pub hit_at_5: usize,
    pub hit_at_10: usize,
    pub reciprocal_rank_sum: f64,
    /// Confidence of every answer or decline, for the threshold sweep.
    pub confidences: Vec<f32>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub in_corpus: GroupStats,
    pub not_in_corpus: GroupStats,
    pub unanswerable: GroupStats,
    pub latencies: Vec<Duration>,
    /// In-corpus questions whose first quote missed, for reading (id, question, first cited).
    pub misses: Vec<(String, String, String)>,
}

/// Runs the evaluation. `limit` caps the labelled questions (for quick runs).
pub fn run(
    assistant: &Assistant,
    gold_path: &Path,
    unanswerable_path: &Path,
    limit: Option<usize>,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let gold: Vec<GoldQuestion> = read_jsonl(gold_path)?;
    for item in gold.into_iter().take(limit.unwrap_or(usize::MAX)) {
        let gold_ids: HashSet<String> = item
            .gold
            .iter()
            .map(|g| {
                format!(
                    "{}.dieu-{}",
                    document_slug(&g.so_hieu),
                    g.dieu.trim().to_lowercase()
                )
            })
            .filter(|id| assistant.library().article(id).is_some())
            .collect();
        let in_corpus = !gold_ids.is_empty();

        let started = Instant::now();
        let answer = assistant.ask_blocking(&item.question, None)?;
        report.latencies.push(started.elapsed());
        let group = if in_corpus {
            &mut report.in_corpus
        } else {
            &mut report.not_in_corpus
        };
        count_outcome(group, &answer.outcome, answer.needs_review);
        group.confidences.push(answer.confidence);
        if !in_corpus {
            continue;
        }
        let cited: Vec<&str> = answer
            .quotes
            .iter()
            .map(|q| q.citation.article_id.as_str())
            .collect();
        if cited.first().is_some_and(|id| gold_ids.contains(*id)) {
            group.first_quote_correct += 1;
        } else {
            let first = cited
                .first()
                .map_or("(declined)".to_owned(), |s| s.to_string());
            report
                .misses
                .push((item.id.clone(), item.question.clone(), first));
        }
        let group = &mut report.in_corpus;
        if cited.iter().any(|id| gold_ids.contains(*id)) {
            group.any_quote_correct += 1;
        }
        let ranked = assistant.rank(&item.question)?;
        if let Some(rank) = ranked.iter().position(|c| gold_ids.contains(&c.article_id)) {
            group.hit_at_1 += usize::from(rank < 1);
            group.hit_at_5 += usize::from(rank < 5);
            group.hit_at_10 += usize::from(rank < 10);
            group.reciprocal_rank_sum += 1.0 / (rank as f64 + 1.0);
        }
    }

    let unanswerable: Vec<UnanswerableQuestion> = read_jsonl(unanswerable_path)?;
    for item in unanswerable {
        let started = Instant::now();
        let answer = assistant.ask_blocking(&item.question, None)?;
        report.latencies.push(started.elapsed());
        count_outcome(
            &mut report.unanswerable,
            &answer.outcome,
            answer.needs_review,
        );
        // Out-of-scope declines report confidence in the decline; count them as never answered.
        let answerable_confidence = if matches!(answer.outcome, Outcome::Answered) {
            answer.confidence
        } else {
            0.0
        };
        report.unanswerable.confidences.push(answerable_confidence);
        if answer.outcome == Outcome::Answered && !answer.needs_review {
            tracing::info!(kind = %item.kind, question = %item.question, "unanswerable question answered without review");
        }
    }
    Ok(report)
}

fn count_outcome(group: &mut GroupStats, outcome: &Outcome, needs_review: bool) {
    group.questions += 1;
    match outcome {
        Outcome::Answered => {
            group.answered += 1;
            if !needs_review {
                group.answered_without_review += 1;
            }
        }
        Outcome::Declined { .. } => group.declined += 1,
    }
}

fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Vec<T>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!(
            "{:.1}% ({part}/{whole})",
            100.0 * part as f64 / whole as f64
        )
    }
}

impl Report {
    /// The Markdown report. `context` says how it was produced (command, machine, corpus).
    pub fn to_markdown(&self, context: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Hỏi Luật evaluation\n\n{context}\n");
        let g = &self.in_corpus;
        let _ = writeln!(
            out,
            "## Citizen questions whose gold article is in the corpus ({})\n",
            g.questions
        );
        let _ = writeln!(out, "| metric | value |\n|---|---|");
        let _ = writeln!(
            out,
            "| retrieval hit@1 | {} |",
            percent(g.hit_at_1, g.questions)
        );
        let _ = writeln!(
            out,
            "| retrieval hit@5 | {} |",
            percent(g.hit_at_5, g.questions)
        );
        let _ = writeln!(
            out,
            "| retrieval hit@10 | {} |",
            percent(g.hit_at_10, g.questions)
        );
        let mrr = if g.questions == 0 {
            0.0
        } else {
            g.reciprocal_rank_sum / g.questions as f64
        };
        let _ = writeln!(out, "| retrieval MRR@10 | {mrr:.3} |");
        let _ = writeln!(out, "| answered | {} |", percent(g.answered, g.questions));
        let _ = writeln!(
            out,
            "| answered without review flag | {} |",
            percent(g.answered_without_review, g.questions)
        );
        let _ = writeln!(
            out,
            "| first quote is a gold article | {} |",
            percent(g.first_quote_correct, g.questions)
        );
        let _ = writeln!(
            out,
            "| some quote is a gold article | {} |",
            percent(g.any_quote_correct, g.questions)
        );
        let _ = writeln!(out, "| declined | {} |\n", percent(g.declined, g.questions));

        for (title, group) in [
            (
                "Citizen questions whose gold article is NOT in the corpus",
                &self.not_in_corpus,
            ),
            (
                "Questions that must not be answered from the corpus (eval/out_of_scope.jsonl)",
                &self.unanswerable,
            ),
        ] {
            let _ = writeln!(out, "## {title} ({})\n", group.questions);
            let _ = writeln!(out, "| metric | value |\n|---|---|");
            let _ = writeln!(
                out,
                "| declined | {} |",
                percent(group.declined, group.questions)
            );
            let _ = writeln!(
                out,
                "| answered but flagged for review | {} |",
                percent(
                    group.answered - group.answered_without_review,
                    group.questions
                )
            );
            let _ = writeln!(
                out,
                "| answered without review flag (should be low) | {} |\n",
                percent(group.answered_without_review, group.questions)
            );
        }

        let _ = writeln!(out, "## Threshold sweep\n");
        let _ = writeln!(out, "Share of each group whose confidence reaches the threshold, i.e. that would be answered with `decline_below` (or left unflagged with `review_below`) at that value. Out-of-scope declines count as 0.\n");
        let _ = writeln!(
            out,
            "| threshold | in corpus | not in corpus | must not answer |\n|---|---|---|---|"
        );
        for step in 0..8 {
            let threshold = 0.40 + 0.05 * step as f32;
            let share = |group: &GroupStats| {
                percent(
                    group
                        .confidences
                        .iter()
                        .filter(|c| **c >= threshold)
                        .count(),
                    group.confidences.len(),
                )
            };
            let _ = writeln!(
                out,
                "| {threshold:.2} | {} | {} | {} |",
                share(&self.in_corpus),
                share(&self.not_in_corpus),
                share(&self.unanswerable)
            );
        }
        let _ = writeln!(out);

        let mut latencies = self.latencies.clone();
        latencies.sort();
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        let _ = writeln!(
            out,
            "## Latency of `ask` ({} questions, one at a time)\n",
            latencies.len()
        );
        let _ = writeln!(out, "| p50 | p95 | max |\n|---|---|---|");
        let _ = writeln!(
            out,
            "| {:.1} ms | {:.1} ms | {:.1} ms |\n",
            ms(at(0.5)),
            ms(at(0.95)),
            ms(latencies.last().copied().unwrap_or_default())
        );

        let _ = writeln!(
            out,
            "## First misses (in-corpus questions whose first quote is not gold)\n"
        );
        for (id, question, cited) in self.misses.iter().take(25) {
            let _ = writeln!(out, "- `{}` {question} → {cited}", &id[..id.len().min(8)]);
        }
        out
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
