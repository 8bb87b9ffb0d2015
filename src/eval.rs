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
pub mod reviewed;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use crate::answer::{Assistant, Outcome, RetrievalMode};
use crate::chunk::document_slug;
use crate::text::strip_diacritics;
pub use format::{load_set, Expect, GoldRef, Question};
pub use metrics::{RankMetrics, Summary};

/// Ranks looked at: Recall@1/5/10, MRR@10, nDCG@10.
pub const DEPTH: usize = 10;

/// What to evaluate.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    pub sets: Vec<PathBuf>,
    pub modes: Vec<RetrievalMode>,
    /// Evaluate only the first N questions of each set.
    pub limit: Option<usize>,
    /// Also ask every answerable question as if its gold documents were not in the index: the
    /// service should then decline or flag it for review.
    pub exclude_gold: bool,
    /// Write the ranker's training data here (JSON lines: each question's candidate pool with
    /// features and labels, and with `exclude_gold` the same without its gold documents).
    pub dump_features: Option<PathBuf>,
}

/// What `ask` did with a question asked without its gold documents in the index.
#[derive(Debug, Clone, Serialize)]
pub struct ExcludedOutcome {
    pub declined: bool,
    pub needs_review: bool,
    pub confidence: f32,
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
    /// With `--exclude-gold`: the same question without its gold documents in the index.
    pub excluded: Option<ExcludedOutcome>,
}

/// The evaluation of one question set.
#[derive(Debug, Clone, Serialize)]
pub struct SetReport {
    pub name: String,
    pub path: String,
    pub summary: Summary,
    pub results: Vec<QuestionResult>,
    /// Questions that could not be evaluated (`ask` refused them, or the model or index failed):
    /// recorded, and left out of the metrics, while the run goes on.
    pub failed: Vec<FailedQuestion>,
}

/// A question the run could not evaluate, and why.
#[derive(Debug, Clone, Serialize)]
pub struct FailedQuestion {
    pub id: String,
    pub error: String,
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
    let resolver = GoldResolver::new(&assistant.library());
    let mut dump = match &options.dump_features {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => None,
    };
    let mut sets = Vec::new();
    for path in &options.sets {
        let questions = load_set(path)?;
        let limit = options.limit.unwrap_or(usize::MAX);
        let mut results = Vec::new();
        let mut failed = Vec::new();
        for (index, question) in questions.into_iter().take(limit).enumerate() {
            let result = match evaluate_one(
                assistant,
                &resolver,
                options,
                &question,
                &format!("{}-{index}", set_name(path)),
            ) {
                Ok(result) => result,
                Err(error) => {
                    tracing::warn!(question = %question.id, error = %format!("{error:#}"), "question not evaluated");
                    failed.push(FailedQuestion {
                        id: question.id.clone(),
                        error: format!("{error:#}"),
                    });
                    continue;
                }
            };
            if let Some(writer) = dump.as_mut() {
                dump_pools(
                    assistant,
                    writer,
                    &set_name(path),
                    &question,
                    &result,
                    options.exclude_gold,
                )?;
            }
            results.push(result);
        }
        let summary = Summary::of(&results, &options.modes);
        sets.push(SetReport {
            name: set_name(path),
            path: path.display().to_string(),
            summary,
            results,
            failed,
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
    options: &EvalOptions,
    question: &Question,
    conversation_key: &str,
) -> anyhow::Result<QuestionResult> {
    let modes = &options.modes;
    let gold = resolver.resolve(&question.gold);
    let gold_missing = !question.gold.is_empty() && gold.is_empty();
    let conversation_id = conversation_of(assistant, question, conversation_key)?;

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
    let excluded = if options.exclude_gold && question.expect == Expect::Answer && !gold.is_empty()
    {
        let conversation_id =
            conversation_of(assistant, question, &format!("{conversation_key}-excluded"))?;
        let answer = assistant.ask_excluding(
            &question.question,
            conversation_id.as_deref(),
            &gold_documents(assistant, &gold),
        )?;
        Some(ExcludedOutcome {
            declined: answer.outcome != Outcome::Answered,
            needs_review: answer.needs_review,
            confidence: answer.confidence,
        })
    } else {
        None
    };
    Ok(QuestionResult {
        excluded,
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

/// Follow-ups are asked inside a conversation that first asks the earlier questions; `key` names
/// it (one per question and variant).
fn conversation_of(
    assistant: &Assistant,
    question: &Question,
    key: &str,
) -> anyhow::Result<Option<String>> {
    if question.history.is_empty() {
        return Ok(None);
    }
    let id: String = format!("eval-{key}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    for earlier in &question.history {
        assistant.ask_blocking(earlier, Some(&id))?;
    }
    Ok(Some(id))
}

/// The số hiệu of the documents holding the gold articles.
fn gold_documents(assistant: &Assistant, gold: &[String]) -> Vec<String> {
    let library = assistant.library();
    let mut documents: Vec<String> = Vec::new();
    for id in gold {
        if let Some(entry) = library.article(id) {
            if !documents.contains(&entry.document.so_hieu) {
                documents.push(entry.document.so_hieu.clone());
            }
        }
    }
    documents
}

/// One line of the ranker's training data.
#[derive(Serialize)]
struct PoolRow<'a> {
    set: &'a str,
    id: &'a str,
    kind: &'a str,
    question: &'a str,
    expect: Expect,
    /// Asked without its gold documents in the index.
    excluded: bool,
    gold: &'a [String],
    /// The question's e5 embedding as `ask` computes it (the guard's input).
    query_vector: Vec<f32>,
    candidates: Vec<PoolCandidate>,
}

#[derive(Serialize)]
struct PoolCandidate {
    article_id: String,
    label: u8,
    features: Vec<f32>,
}

/// Writes the candidate pool of a question (and, with `exclude_gold`, of the question without its
/// gold documents) with each candidate's features and whether it is gold.
fn dump_pools(
    assistant: &Assistant,
    writer: &mut impl std::io::Write,
    set: &str,
    question: &Question,
    result: &QuestionResult,
    exclude_gold: bool,
) -> anyhow::Result<()> {
    if result.gold_missing {
        return Ok(());
    }
    let mut variants = vec![(false, Vec::new())];
    if exclude_gold && question.expect == Expect::Answer && !result.gold.is_empty() {
        variants.push((true, gold_documents(assistant, &result.gold)));
    }
    for (excluded, documents) in variants {
        let key = format!("{set}-{}-pool-{excluded}", question.id);
        let conversation_id = conversation_of(assistant, question, &key)?;
        let (query_vector, pool) =
            assistant.candidate_pool(&question.question, conversation_id.as_deref(), &documents)?;
        let row = PoolRow {
            set,
            id: &question.id,
            kind: &question.kind,
            question: &question.question,
            expect: question.expect,
            excluded,
            gold: &result.gold,
            query_vector,
            candidates: pool
                .into_iter()
                .map(|candidate| PoolCandidate {
                    label: u8::from(result.gold.contains(&candidate.article_id)),
                    article_id: candidate.article_id,
                    features: candidate.features,
                })
                .collect(),
        };
        serde_json::to_writer(&mut *writer, &row)?;
        writer.write_all(b"\n")?;
    }
    Ok(())
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
    fn new(library: &crate::library::Library) -> GoldResolver {
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
