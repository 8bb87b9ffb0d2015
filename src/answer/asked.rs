//! Questions asked the way citizens ask, each with the article that answers it
//! (`corpus/asked.jsonl`), as a signal of the ranking stage.
//!
//! Citizens ask in everyday words ("hàng xóm xây lấn đất nhà em"), the law answers in its own
//! ("lấn, chiếm đất"): the words and even the embedding of a question often sit closer to an
//! unrelated article than to the one that answers it. A question written the way people ask, with
//! its answering article, bridges the two: a new question close to it points at that article. For
//! each candidate article the ranker sees the cosine of the nearest asked question that it answers,
//! and that article's place among all answered articles ([`AskedMatch`]); an article that the
//! asked questions rank high but that fused below the pool joins the pool
//! ([`super::features::ASKED_RESERVE`]).
//!
//! The questions are written from the corpus alone (never from an evaluation set) and are also
//! training questions of the ranker; a training question never meets itself (see
//! [`AskedQuestions::matches`]). Each is embedded exactly as `ask` embeds a question (vocabulary
//! rewrite, diacritics restored): a question typed without diacritics must meet its twin typed
//! with them. Their vectors live in the vector cache under the digest of the text given to the
//! model (`query: ` + that text), and ship with the core's vectors.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::chunk::document_slug;
use crate::embed::{EmbedError, Embedder, QUERY_PREFIX};
use crate::library::Library;
use crate::vector_cache::{self, CacheError, VectorCache};

/// The file in the corpus directory.
pub const ASKED_FILE: &str = "asked.jsonl";

/// Lines at most read from [`ASKED_FILE`]: bounds the work of every question (one dot product
/// per asked question).
const MAX_QUESTIONS: usize = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum AskedError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// One line of [`ASKED_FILE`] (the format of the evaluation question sets; other fields ignored).
#[derive(Deserialize)]
struct Line {
    question: String,
    gold: Vec<GoldLine>,
}

#[derive(Deserialize)]
struct GoldLine {
    so_hieu: String,
    dieu: String,
}

/// An asked question and the article that answers it.
#[derive(Debug)]
struct Entry {
    question: String,
    article_id: String,
    so_hieu: String,
    /// The vector cache key of what was embedded.
    key: vector_cache::Key,
}

/// How close an article is to the asked questions it answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AskedMatch {
    /// Cosine of the question with the nearest asked question this article answers.
    pub cosine: f32,
    /// The article's place (1 = first) when articles are ordered by that cosine.
    pub rank: usize,
}

/// The asked questions and their query vectors, in memory.
#[derive(Debug)]
pub struct AskedQuestions {
    entries: Vec<Entry>,
    /// `entries.len() × dimension`, row by row; e5 vectors are unit length, so a dot product is
    /// the cosine.
    vectors: Vec<f32>,
    dimension: usize,
}

/// The vector cache key of an embedded query text: the text exactly as given to the model, so
/// that it never meets the key of a passage with the same words.
pub fn cache_key(embedded: &str) -> vector_cache::Key {
    vector_cache::key(&format!("{QUERY_PREFIX}{embedded}"))
}

/// The well-formed lines of `path`, with their line numbers; a malformed line is logged and left
/// out. A missing file holds no lines.
fn read_lines(path: &Path) -> Result<Vec<(usize, Line)>, AskedError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(AskedError::Io {
                path: path.display().to_string(),
                source,
            })
        }
    };
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        if lines.len() == MAX_QUESTIONS {
            tracing::warn!(file = %path.display(), max = MAX_QUESTIONS, "asked questions past the limit left out");
            break;
        }
        match serde_json::from_str::<Line>(raw) {
            Ok(line) if !line.question.trim().is_empty() => lines.push((index + 1, line)),
            Ok(_) => tracing::warn!(file = %path.display(), line = index + 1, "asked question without text left out"),
            Err(error) => tracing::warn!(file = %path.display(), line = index + 1, %error, "malformed asked question left out"),
        }
    }
    Ok(lines)
}

impl AskedQuestions {
    /// Reads `path` and the query vector of each question, of the text `embedded_text` gives for
    /// it (what `ask` embeds; `None`: not a usable question): from `cache` when it has it, else
    /// embedded (and added to `cache`). A question whose article is not in `library` is logged and
    /// left out. `None` when the file is missing or holds no usable question.
    pub fn load(
        path: &Path,
        library: &Library,
        embedder: &dyn Embedder,
        cache: Option<&VectorCache>,
        embedded_text: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<AskedQuestions>, AskedError> {
        let dimension = embedder.dimension();
        let mut entries = Vec::new();
        let mut vectors = Vec::new();
        let mut embedded = Vec::new();
        for (number, line) in read_lines(path)? {
            let Some(text) = embedded_text(&line.question) else {
                tracing::warn!(file = %path.display(), line = number, "asked question not usable as a question; left out");
                continue;
            };
            let key = cache_key(&text);
            let mut vector = None;
            for gold in &line.gold {
                let article_id = format!(
                    "{}.dieu-{}",
                    document_slug(&gold.so_hieu),
                    gold.dieu.trim().to_lowercase()
                );
                let Some(article) = library.article(&article_id) else {
                    tracing::warn!(file = %path.display(), line = number, article_id, "asked question's article not in the corpus; left out");
                    continue;
                };
                let vector = match &vector {
                    Some(vector) => vector,
                    None => vector.insert(match cache.and_then(|c| c.get(&key)) {
                        Some(found) if found.len() == dimension => found,
                        _ => {
                            let fresh = embedder.embed_query(&text)?;
                            embedded.push((key, fresh.clone()));
                            fresh
                        }
                    }),
                };
                vectors.extend_from_slice(vector);
                entries.push(Entry {
                    question: line.question.clone(),
                    article_id,
                    so_hieu: article.document.so_hieu.clone(),
                    key,
                });
            }
        }
        if let Some(cache) = cache.filter(|_| !embedded.is_empty()) {
            cache.insert_many(embedded)?;
        }
        if entries.is_empty() {
            return Ok(None);
        }
        tracing::info!(questions = entries.len(), "asked questions loaded");
        Ok(Some(AskedQuestions {
            entries,
            vectors,
            dimension,
        }))
    }

    /// For each article answered by an asked question: the cosine of `query_vector` with the
    /// nearest such question, and the article's place by that cosine. Questions answered from a
    /// document of `excluded_documents` (số hiệu) are not counted, as those documents are not
    /// searched; nor is a question whose text is `leave_out`: a training question must not
    /// meet itself.
    pub fn matches(
        &self,
        query_vector: &[f32],
        excluded_documents: &[String],
        leave_out: Option<&str>,
    ) -> HashMap<String, AskedMatch> {
        if query_vector.len() != self.dimension {
            return HashMap::new();
        }
        let mut best: HashMap<&str, f32> = HashMap::new();
        for (entry, vector) in self
            .entries
            .iter()
            .zip(self.vectors.chunks_exact(self.dimension))
        {
            if leave_out == Some(entry.question.as_str())
                || excluded_documents.contains(&entry.so_hieu)
            {
                continue;
            }
            let cosine: f32 = vector.iter().zip(query_vector).map(|(a, b)| a * b).sum();
            let slot = best.entry(entry.article_id.as_str()).or_insert(f32::MIN);
            *slot = slot.max(cosine);
        }
        let mut ordered: Vec<(&str, f32)> = best.into_iter().collect();
        // Ties by article id: the same question always gets the same ranks.
        ordered.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        ordered
            .into_iter()
            .enumerate()
            .map(|(index, (article_id, cosine))| {
                (
                    article_id.to_owned(),
                    AskedMatch {
                        cosine,
                        rank: index + 1,
                    },
                )
            })
            .collect()
    }

    /// The vector cache keys of the questions (for `hoiluat cache export --core`).
    pub fn cache_keys(&self) -> impl Iterator<Item = vector_cache::Key> + '_ {
        self.entries.iter().map(|entry| entry.key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(values: &[f32]) -> Vec<f32> {
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        values.iter().map(|v| v / norm).collect()
    }

    fn asked(entries: &[(&str, &str, &str, [f32; 3])]) -> AskedQuestions {
        AskedQuestions {
            entries: entries
                .iter()
                .map(|(question, article_id, so_hieu, _)| Entry {
                    question: (*question).into(),
                    article_id: (*article_id).into(),
                    so_hieu: (*so_hieu).into(),
                    key: cache_key(question),
                })
                .collect(),
            vectors: entries.iter().flat_map(|e| unit(&e.3)).collect(),
            dimension: 3,
        }
    }

    #[test]
    fn articles_are_ranked_by_their_nearest_asked_question() {
        let asked = asked(&[
            ("hàng xóm lấn đất", "31-2024-qh15.dieu-11", "31/2024/QH15", [1.0, 0.0, 0.0]),
            ("lấn chiếm đất bị phạt", "31-2024-qh15.dieu-11", "31/2024/QH15", [0.6, 0.8, 0.0]),
            ("uống rượu lái xe", "168-2024-nd-cp.dieu-7", "168/2024/NĐ-CP", [0.0, 0.0, 1.0]),
            ("sổ đỏ cấp lại", "31-2024-qh15.dieu-137", "31/2024/QH15", [0.0, 1.0, 0.0]),
        ]);
        let query = unit(&[0.9, 0.1, 0.3]);
        let matches = asked.matches(&query, &[], None);
        assert_eq!(matches.len(), 3);
        let land = matches["31-2024-qh15.dieu-11"];
        assert_eq!(land.rank, 1);
        // The nearer of its two questions counts.
        assert!((land.cosine - query[0]).abs() < 1e-6, "{land:?}");
        assert_eq!(matches["168-2024-nd-cp.dieu-7"].rank, 2);
        assert_eq!(matches["31-2024-qh15.dieu-137"].rank, 3);
    }

    #[test]
    fn a_question_never_meets_itself_nor_an_excluded_document() {
        let asked = asked(&[
            ("hàng xóm lấn đất", "31-2024-qh15.dieu-11", "31/2024/QH15", [1.0, 0.0, 0.0]),
            ("uống rượu lái xe", "168-2024-nd-cp.dieu-7", "168/2024/NĐ-CP", [0.0, 0.0, 1.0]),
            ("phạt nồng độ cồn", "168-2024-nd-cp.dieu-6", "168/2024/NĐ-CP", [0.0, 0.6, 0.8]),
        ]);
        let query = unit(&[1.0, 0.0, 0.0]);
        let matches = asked.matches(&query, &[], Some("hàng xóm lấn đất"));
        assert!(!matches.contains_key("31-2024-qh15.dieu-11"));
        assert_eq!(matches.len(), 2);
        let matches = asked.matches(&query, &["168/2024/NĐ-CP".to_owned()], None);
        assert_eq!(matches.keys().collect::<Vec<_>>(), ["31-2024-qh15.dieu-11"]);
        // A vector of another model's size matches nothing rather than panicking.
        assert!(asked.matches(&[1.0, 0.0], &[], None).is_empty());
    }

    #[test]
    fn malformed_lines_are_left_out_and_a_missing_file_holds_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ASKED_FILE);
        assert!(read_lines(&path).unwrap().is_empty());
        std::fs::write(
            &path,
            concat!(
                "{\"question\": \"Lấn đất bị phạt không?\", \"gold\": [{\"so_hieu\": \"31/2024/QH15\", \"dieu\": \"11\"}]}\n",
                "\n",
                "{\"question\": \"thiếu gold\"}\n",
                "{\"question\": \"   \", \"gold\": []}\n",
                "không phải JSON \u{1F600}\n",
                "{\"question\": \"Nồng độ cồn?\", \"gold\": [{\"so_hieu\": \"168/2024/NĐ-CP\", \"dieu\": \"7\"}], \"kind\": \"x\"}\n",
            ),
        )
        .unwrap();
        let lines = read_lines(&path).unwrap();
        let numbers: Vec<usize> = lines.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, [1, 6]);
        assert_ne!(
            cache_key("Lấn đất bị phạt không?"),
            vector_cache::key("Lấn đất bị phạt không?"),
            "a question's key is not the key of a passage with the same text"
        );
    }
}
