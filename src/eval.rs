//! Offline evaluation of retrieval and of `ask` on labelled question sets, written as a Markdown
//! report and a JSON file (baselines are committed under `eval/reports/`).
//!
//! Every question goes through the same pipeline the channels use: `ask` for the answer/decline
//! behaviour, and [`Assistant::retrieve`] for the ranked candidates in each [`RetrievalMode`], so
//! that lexical-only, dense-only and hybrid are compared on one index in one run.
//!
//! Accepted question formats (detected per set):
//! - our JSONL (`eval/questions/*.jsonl`): `id, kind, question, history[], expect, gold[{so_hieu, dieu}]`;
//! - zalo-phapdien JSONL: `id, question, gold[{so_hieu, dieu, phapdien_ids}]` (a retrieved article is
//!   correct when its `phapdien_id` is listed, or its document and article number match);
//! - out-of-scope JSONL: `kind, question` (must be declined);
//! - ALQAC JSON arrays: `question_id, text, question_type, relevant_articles[{law_id, article_id}]`,
//!   where `law_id` is matched against document titles.
//!
//! A question whose gold articles are all absent from the index is not counted in retrieval
//! metrics; it is reported in its own group (declined or flagged is the right outcome there).

mod format;
pub mod metrics;
mod report;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::answer::{Assistant, Outcome, RetrievalMode};
use crate::chunk::document_slug;
use crate::text::strip_diacritics;
pub use format::{load_set, Expect, GoldRef, Question};
pub use metrics::{RankMetrics, Summary};

/// Ranks looked at: Recall@1/5/10, MRR@10, nDCG@10.
pub const DEPTH: usize = 10;

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub sets: Vec<PathBuf>,
    pub modes: Vec<RetrievalMode>,
    /// Evaluate only the first N questions of each set.
    pub limit: Option<usize>,
}

/// The outcome of one question.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionResult {
    pub id: String,
    pub kind: String,
    pub question: String,
    pub expect: Expect,
    /// Gold articles present in the index (corpus article ids).
    pub gold: Vec<String>,
    /// Whether the question has gold articles but none is in the index.
    pub gold_missing: bool,
    /// Top ranked article ids per mode.
    pub ranked: BTreeMap<String, Vec<String>>,
    /// 1-based rank of the first gold article within [`DEPTH`], per mode.
    pub first_gold_rank: BTreeMap<String, Option<usize>>,
    /// Time of the retrieval step alone, per mode.
    pub retrieve_ms: BTreeMap<String, f64>,
    pub declined: bool,
    pub decline_category: Option<String>,
    pub needs_review: bool,
    pub confidence: f32,
    /// Articles quoted by the answer.
    pub quoted: Vec<String>,
    pub ask_ms: f64,
}

/// The evaluation of one question set.
#[derive(Debug, Clone, Serialize)]
pub struct SetReport {
    pub name: String,
    pub path: String,
    pub summary: Summary,
    pub results: Vec<QuestionResult>,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub context: BTreeMap<String, String>,
    pub modes: Vec<RetrievalMode>,
    pub sets: Vec<SetReport>,
}

/// Runs every set through `ask` and the ranking of every mode.
/// The Markdown and JSON files of a report written to `--out NAME`: `NAME.md` and `NAME.json`. A
/// trailing `.md` or `.json` is dropped first; any other dot is part of the name, so
/// `--out reports/weight-0.1` keeps its "0.1".
pub fn report_paths(out: &Path) -> (PathBuf, PathBuf) {
    let base = match out.extension().and_then(|e| e.to_str()) {
        Some("md" | "json") => out.with_extension(""),
        _ => out.to_path_buf(),
    };
    let with = |extension: &str| {
        let mut name = base.clone().into_os_string();
        name.push(".");
        name.push(extension);
        PathBuf::from(name)
    };
    (with("md"), with("json"))
}

pub fn run(assistant: &Assistant, options: &EvalOptions) -> anyhow::Result<Report> {
    let resolver = GoldResolver::new(assistant);
    let mut sets = Vec::new();
    for path in &options.sets {
        let questions = load_set(path)?;
        let limit = options.limit.unwrap_or(usize::MAX);
        let mut results = Vec::new();
        for (index, question) in questions.into_iter().take(limit).enumerate() {
            results.push(evaluate_one(
                assistant,
                &resolver,
                &options.modes,
                &question,
                index,
            )?);
        }
        let summary = Summary::of(&results, &options.modes);
        sets.push(SetReport {
            name: set_name(path),
            path: path.display().to_string(),
            summary,
            results,
        });
    }
    Ok(Report {
        context: BTreeMap::new(),
        modes: options.modes.clone(),
        sets,
    })
}

fn set_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    match path.parent().and_then(|p| p.file_name()) {
        Some(parent) => format!("{}/{stem}", parent.to_string_lossy()),
        None => stem,
    }
}

fn evaluate_one(
    assistant: &Assistant,
    resolver: &GoldResolver,
    modes: &[RetrievalMode],
    question: &Question,
    index: usize,
) -> anyhow::Result<QuestionResult> {
    let gold = resolver.resolve(&question.gold);
    let gold_missing = !question.gold.is_empty() && gold.is_empty();
    // Follow-ups are asked inside a conversation that first asks the earlier questions.
    let conversation_id = if question.history.is_empty() {
        None
    } else {
        let id = format!("eval-{index}");
        for earlier in &question.history {
            assistant.ask_blocking(earlier, Some(&id))?;
        }
        Some(id)
    };

    let gold_set: HashSet<&str> = gold.iter().map(String::as_str).collect();
    let mut ranked = BTreeMap::new();
    let mut first_gold_rank = BTreeMap::new();
    let mut retrieve_ms = BTreeMap::new();
    for &mode in modes {
        let started = Instant::now();
        let candidates =
            assistant.retrieve(&question.question, conversation_id.as_deref(), mode)?;
        retrieve_ms.insert(mode.name().to_owned(), ms(started.elapsed()));
        let ids: Vec<String> = candidates
            .into_iter()
            .take(DEPTH)
            .map(|c| c.article_id)
            .collect();
        let rank = ids
            .iter()
            .position(|id| gold_set.contains(id.as_str()))
            .map(|p| p + 1);
        first_gold_rank.insert(mode.name().to_owned(), rank);
        ranked.insert(mode.name().to_owned(), ids);
    }

    let started = Instant::now();
    let answer = assistant.ask_blocking(&question.question, conversation_id.as_deref())?;
    let ask_ms = ms(started.elapsed());
    let (declined, decline_category) = match &answer.outcome {
        Outcome::Answered => (false, None),
        Outcome::Declined { category } => (true, category.clone()),
    };
    let mut quoted: Vec<String> = Vec::new();
    for quote in &answer.quotes {
        if !quoted.contains(&quote.citation.article_id) {
            quoted.push(quote.citation.article_id.clone());
        }
    }
    Ok(QuestionResult {
        id: question.id.clone(),
        kind: question.kind.clone(),
        question: question.question.clone(),
        expect: question.expect,
        gold,
        gold_missing,
        ranked,
        first_gold_rank,
        retrieve_ms,
        declined,
        decline_category,
        needs_review: answer.needs_review,
        confidence: answer.confidence,
        quoted,
        ask_ms,
    })
}

/// Maps gold references of every format to corpus article ids present in the index.
struct GoldResolver {
    /// Every article id of the library.
    articles: HashSet<String>,
    /// `phapdien_id` attribute → article id.
    by_phapdien: HashMap<String, String>,
    /// Folded document title → document slug (for ALQAC law names).
    by_title: HashMap<String, String>,
}

impl GoldResolver {
    fn new(assistant: &Assistant) -> GoldResolver {
        let library = assistant.library();
        let mut articles = HashSet::new();
        let mut by_phapdien = HashMap::new();
        for entry in library.articles() {
            articles.insert(entry.id.clone());
            if let Some(phapdien_id) = entry.article.attributes.get("phapdien_id") {
                by_phapdien.insert(phapdien_id.clone(), entry.id.clone());
            }
        }
        let by_title = library
            .documents()
            .iter()
            .map(|meta| (fold_title(&meta.ten), document_slug(&meta.so_hieu)))
            .collect();
        GoldResolver {
            articles,
            by_phapdien,
            by_title,
        }
    }

    fn resolve(&self, gold: &[GoldRef]) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for reference in gold {
            let mut found: Vec<String> = reference
                .phapdien_ids
                .iter()
                .filter_map(|p| self.by_phapdien.get(p).cloned())
                .collect();
            let slug = match (&reference.so_hieu, &reference.law) {
                (Some(so_hieu), _) => Some(document_slug(so_hieu)),
                (None, Some(law)) => self.by_title.get(&fold_title(law)).cloned(),
                (None, None) => None,
            };
            if let Some(slug) = slug {
                // Plans and similar documents are divided into Roman-numbered sections (Mục).
                let number = reference.dieu.trim().to_lowercase();
                if let Some(id) = [
                    format!("{slug}.dieu-{number}"),
                    format!("{slug}.muc-{number}"),
                ]
                .into_iter()
                .find(|id| self.articles.contains(id))
                {
                    found.push(id);
                }
            }
            for id in found {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids
    }
}

/// Lowercase, no diacritics, single spaces: "Bộ luật dân sự" and "Bộ luật Dân sự" meet.
fn fold_title(title: &str) -> String {
    strip_diacritics(&title.to_lowercase())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn report_paths_keep_dots_that_are_not_the_reports_extension() {
        use super::report_paths;
        use std::path::{Path, PathBuf};
        let pair = |md: &str, json: &str| (PathBuf::from(md), PathBuf::from(json));
        assert_eq!(
            report_paths(Path::new("r/weight-0.1")),
            pair("r/weight-0.1.md", "r/weight-0.1.json")
        );
        assert_eq!(
            report_paths(Path::new("r/x.md")),
            pair("r/x.md", "r/x.json")
        );
        assert_eq!(
            report_paths(Path::new("r/x.json")),
            pair("r/x.md", "r/x.json")
        );
        assert_eq!(report_paths(Path::new("x")), pair("x.md", "x.json"));
    }

    use super::*;

    #[test]
    fn titles_fold_case_and_diacritics() {
        assert_eq!(fold_title("Bộ luật dân sự"), fold_title("Bộ  luật Dân sự"));
        assert_ne!(fold_title("Luật Cư trú"), fold_title("Luật Du lịch"));
    }
}
