//! The readable Markdown form of an evaluation [`Report`] (the JSON form is its serde encoding).

use std::fmt::Write as _;

use super::metrics::{Behaviour, RankMetrics};
use super::{Expect, QuestionResult, Report, SetReport};

/// Failed questions listed per set.
const MAX_FAILURES: usize = 40;

impl Report {
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Hỏi Luật evaluation\n");
        for (key, value) in &self.context {
            let _ = writeln!(out, "- {key}: {value}");
        }
        let _ = writeln!(out);
        for set in &self.sets {
            set_markdown(&mut out, set, self);
        }
        out
    }
}

fn set_markdown(out: &mut String, set: &SetReport, report: &Report) {
    let s = &set.summary;
    let _ = writeln!(
        out,
        "## {} (`{}`, {} questions)\n",
        set.name, set.path, s.questions
    );
    if !set.failed.is_empty() {
        let _ = writeln!(
            out,
            "{} questions could not be evaluated and are left out of every number below:\n",
            set.failed.len()
        );
        for failed in &set.failed {
            let _ = writeln!(out, "- `{}`: {}", failed.id, failed.error);
        }
        let _ = writeln!(out);
    }
    let ranked = s.ranking.values().next().map_or(0, |m| m.questions);
    let _ = writeln!(
        out,
        "Retrieval over the {ranked} questions whose gold article is in the index ({} more have gold articles outside it).\n",
        s.gold_missing.questions
    );
    let _ = writeln!(
        out,
        "| mode | Recall@1 | Recall@5 | Recall@10 | MRR@10 | nDCG@10 | retrieval p50 | p95 |\n|---|---|---|---|---|---|---|---|"
    );
    for mode in &report.modes {
        let name = mode.name();
        if let (Some(m), Some(l)) = (s.ranking.get(name), s.retrieve_latency.get(name)) {
            let _ = writeln!(
                out,
                "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} ms | {:.1} ms |",
                m.recall_at_1,
                m.recall_at_5,
                m.recall_at_10,
                m.mrr_at_10,
                m.ndcg_at_10,
                l.p50_ms,
                l.p95_ms
            );
        }
    }
    let _ = writeln!(out);

    if s.ranking_by_kind.len() > 1 {
        let _ = writeln!(out, "Per kind (Recall@10 / MRR@10):\n");
        let mut header = "| kind | n |".to_owned();
        let mut rule = "|---|---|".to_owned();
        for mode in &report.modes {
            header.push_str(&format!(" {} |", mode.name()));
            rule.push_str("---|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        for (kind, by_mode) in &s.ranking_by_kind {
            let n = by_mode
                .values()
                .next()
                .map_or(0, |m: &RankMetrics| m.questions);
            let mut row = format!("| {kind} | {n} |");
            for mode in &report.modes {
                match by_mode.get(mode.name()) {
                    Some(m) => {
                        row.push_str(&format!(" {:.2} / {:.2} |", m.recall_at_10, m.mrr_at_10))
                    }
                    None => row.push_str(" – |"),
                }
            }
            let _ = writeln!(out, "{row}");
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(out, "What `ask` did (the ranked pipeline):\n");
    let _ = writeln!(
        out,
        "| group | n | answered | answered, not flagged | declined | first quote gold | some quote gold |\n|---|---|---|---|---|---|---|"
    );
    // The first quote of answerable questions is the headline: it gets the interval that says
    // how far a set this small lets it be trusted.
    for (label, group, interval) in [
        ("answerable (gold in index)", &s.answerable, true),
        ("must decline", &s.must_decline, false),
        ("gold outside the index", &s.gold_missing, false),
        (
            "gold documents excluded (--exclude-gold)",
            &s.gold_excluded,
            false,
        ),
    ] {
        if group.questions > 0 {
            behaviour_row(out, label, group, interval);
        }
    }
    if s.behaviour_by_kind.len() > 1 {
        for (kind, group) in &s.behaviour_by_kind {
            behaviour_row(out, &format!("kind `{kind}`"), group, false);
        }
    }
    let _ = writeln!(out);

    let _ = writeln!(
        out,
        "Latency of `ask`, one question at a time: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} questions).\n",
        s.ask_latency.p50_ms, s.ask_latency.p95_ms, s.ask_latency.p99_ms, s.ask_latency.max_ms, s.ask_latency.count
    );

    if s.must_decline.questions + s.gold_missing.questions > 0 && s.answerable.questions > 0 {
        let _ = writeln!(out, "Confidence threshold sweep (share whose confidence reaches the threshold; declined questions count as 0):\n");
        let _ = writeln!(
            out,
            "| threshold | answerable | should not be answered |\n|---|---|---|"
        );
        for (threshold, answerable, should_not) in &s.threshold_sweep {
            let _ = writeln!(
                out,
                "| {threshold:.2} | {:.1}% | {:.1}% |",
                100.0 * answerable,
                100.0 * should_not
            );
        }
        let _ = writeln!(out);
    }

    let failures: Vec<&QuestionResult> = set.results.iter().filter(|r| failed(r)).collect();
    if !failures.is_empty() {
        let _ = writeln!(
            out,
            "Failures ({} in all; first {} shown): gold not in the hybrid top 10, answerable question declined, or must-decline question answered.\n",
            failures.len(),
            failures.len().min(MAX_FAILURES)
        );
        for result in failures.into_iter().take(MAX_FAILURES) {
            let returned = result
                .ranked
                .get("hybrid")
                .map(|ids| ids.iter().take(3).cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            let outcome = if result.declined {
                format!(
                    "declined ({})",
                    result
                        .decline_category
                        .as_deref()
                        .unwrap_or("no relevant text")
                )
            } else {
                format!("answered {:.2}", result.confidence)
            };
            let _ = writeln!(
                out,
                "- `{}` [{}] {} — gold: {} — top 3: {} — {}",
                truncate(&result.id, 12),
                result.kind,
                result.question.replace('\n', " "),
                if result.gold.is_empty() {
                    "(decline)".to_owned()
                } else {
                    result.gold.join(", ")
                },
                if returned.is_empty() {
                    "–".to_owned()
                } else {
                    returned
                },
                outcome
            );
        }
        let _ = writeln!(out);
    }
}

/// A question the service got wrong.
pub(super) fn failed(result: &QuestionResult) -> bool {
    match result.expect {
        Expect::Decline => !result.declined,
        Expect::Answer if result.gold_missing => false,
        Expect::Answer => {
            result.declined
                || result
                    .first_gold_rank
                    .get("hybrid")
                    .is_some_and(|rank| rank.is_none())
        }
    }
}

/// One row of what `ask` did; `interval` adds the 95% Wilson interval to the first quote (for
/// answerable questions, where that share is the headline).
fn behaviour_row(out: &mut String, label: &str, group: &Behaviour, interval: bool) {
    let pct = |part: usize| {
        if group.questions == 0 {
            "–".to_owned()
        } else {
            format!("{:.1}%", 100.0 * part as f64 / group.questions as f64)
        }
    };
    let _ = writeln!(
        out,
        "| {label} | {} | {} | {} | {} | {} | {} |",
        group.questions,
        pct(group.answered),
        pct(group.answered_unflagged),
        pct(group.declined),
        if interval {
            with_interval(
                pct(group.first_quote_gold),
                group.first_quote_gold,
                group.questions,
            )
        } else {
            pct(group.first_quote_gold)
        },
        pct(group.any_quote_gold)
    );
}

/// "50.0% [34–66]": the share and its 95% Wilson interval, in whole percent.
fn with_interval(share: String, part: usize, n: usize) -> String {
    match super::metrics::wilson_interval(part, n) {
        Some((lo, hi)) => format!("{share} [{:.0}–{:.0}]", 100.0 * lo, 100.0 * hi),
        None => share,
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((index, _)) => &text[..index],
        None => text,
    }
}
