//! The candidate articles of a question and what the ranking stage knows about each.
//!
//! Each retrieval channel is searched on its own (dense e5, toned and plain BM25), so that its
//! score and rank are kept; the chunks are fused by weighted reciprocal rank and grouped into
//! articles, and the best [`POOL`] articles (and up to [`CORE_RESERVE`] more from the curated
//! core) get a fixed vector of features ([`FEATURE_NAMES`]):
//! channel scores and ranks, coverage of the question's words, how well the heading fits what is
//! asked, the document's type, level and validity, the article's place in its document, how much
//! of the pool its document holds, and the question's length and form.
//!
//! The same code computes the features for the trained model at answer time and for the training
//! data (`hoiluat eval --dump-features`), so what the model learned is what it sees.

use std::collections::HashMap;

use uuid::Uuid;

use super::query::Query;
use super::relevance::{self, HeadingTerms, QuestionTerms};
use crate::corpus::Validity;
use crate::library::{Library, LibraryArticle};
use crate::store::Hit;

/// Articles that get features and a ranking score, in fused order.
pub const POOL: usize = 30;

/// Articles of the curated core that fused below the pool and join it at its end. The core holds
/// the laws people ask about most (land, housing, traffic, family, labour, civil); the
/// compendium's 46,000 articles can otherwise crowd the answering one out of the pool.
pub const CORE_RESERVE: usize = 10;

/// The features, in the order of [`ArticleCandidate::features`] and of the trained model.
pub const FEATURE_NAMES: [&str; 40] = [
    "question_syllables",
    "question_has_diacritics",
    "question_heading_cues",
    "asks_amount",
    "asks_definition",
    "asks_procedure",
    "asks_permission",
    "asks_penalty",
    "asks_authority",
    "asks_duration",
    "dense_cosine",
    "dense_cosine_gap",
    "dense_rank",
    "toned_score",
    "toned_score_share",
    "toned_rank",
    "plain_score",
    "plain_score_share",
    "plain_rank",
    "fused_score",
    "fused_rank",
    "chunks_in_pool",
    "channels_hit",
    "coverage",
    "trusted_coverage",
    "heading_match",
    "heading_coverage",
    "title_coverage",
    "confidence",
    "document_type",
    "core_document",
    "validity",
    "article_number",
    "article_position",
    "general_article",
    "closing_article",
    "document_articles_in_pool",
    "document_best_fused",
    "document_fused_sum",
    "article_length",
];

/// The position of `name` in [`FEATURE_NAMES`], worked out at compile time when used in a
/// `const` (a misspelt name then fails the build).
pub const fn feature_index(name: &str) -> usize {
    let mut i = 0;
    while i < FEATURE_NAMES.len() {
        if same_bytes(FEATURE_NAMES[i].as_bytes(), name.as_bytes()) {
            return i;
        }
        i += 1;
    }
    panic!("not a feature name");
}

const fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Ranks a chunk is given in a channel that did not return it.
const ABSENT_RANK: f32 = 100.0;

/// The three channels' hits for one question, each best first.
#[derive(Debug, Default)]
pub struct ChannelHits {
    pub dense: Vec<Hit>,
    pub toned: Vec<Hit>,
    pub plain: Vec<Hit>,
}

/// How the channels are fused (the configured weights, adjusted for a question without
/// diacritics, whose toned channel was not searched).
#[derive(Debug, Clone, Copy)]
pub struct Fusion {
    pub weights: [f32; 3],
    pub rrf_k: f32,
}

/// One candidate article with its features.
#[derive(Debug, Clone)]
pub struct ArticleCandidate {
    pub article_id: String,
    /// Clauses of the best chunk (empty when it covers the whole article).
    pub clauses: Vec<String>,
    /// The hand-mixed confidence of earlier versions (rescaled cosine and coverage), kept as a
    /// feature and as the order of the `hybrid` baseline.
    pub confidence: f32,
    /// Rank after fusion, 0-based.
    pub fused_rank: usize,
    pub features: Vec<f32>,
}

/// What one chunk scored in each channel.
#[derive(Debug, Default, Clone)]
struct ChunkScores {
    dense: Option<(usize, f32)>,
    toned: Option<(usize, f32)>,
    plain: Option<(usize, f32)>,
    cosine: f32,
    fused: f32,
}

/// An article and its chunks in the pool.
struct Gathered<'a> {
    entry: &'a LibraryArticle,
    best_hit: &'a Hit,
    best_fused: f32,
    fused_sum: f32,
    chunks: usize,
    dense: Option<(usize, f32)>,
    toned: Option<(usize, f32)>,
    plain: Option<(usize, f32)>,
    cosine: f32,
}

/// Fuses the channels, groups chunks into articles and computes the features of the best
/// [`POOL`] articles, in fused order, then of up to [`CORE_RESERVE`] core articles fused below
/// them. Articles missing from `library` are left out.
pub fn candidate_pool(
    hits: &ChannelHits,
    fusion: Fusion,
    library: &Library,
    query: &Query,
    query_vector: &[f32],
) -> Vec<ArticleCandidate> {
    let mut scores: HashMap<Uuid, ChunkScores> = HashMap::new();
    let mut first_hit: HashMap<Uuid, &Hit> = HashMap::new();
    for (channel, list) in [&hits.dense, &hits.toned, &hits.plain]
        .into_iter()
        .enumerate()
    {
        for (rank, hit) in list.iter().enumerate() {
            first_hit.entry(hit.id).or_insert(hit);
            let entry = scores.entry(hit.id).or_default();
            let slot = match channel {
                0 => &mut entry.dense,
                1 => &mut entry.toned,
                _ => &mut entry.plain,
            };
            *slot = Some((rank, hit.score));
            entry.fused += fusion.weights[channel] / (fusion.rrf_k + rank as f32 + 1.0);
        }
    }
    for (id, entry) in scores.iter_mut() {
        entry.cosine = match entry.dense {
            Some((_, score)) => score,
            None => first_hit[id]
                .dense
                .as_deref()
                .map_or(0.0, |dense| relevance::cosine(query_vector, dense)),
        };
    }

    // Articles by their best chunk, in fused order (ties by chunk id: reproducible).
    let mut chunk_order: Vec<(&Uuid, &ChunkScores)> = scores.iter().collect();
    chunk_order.sort_by(|a, b| b.1.fused.total_cmp(&a.1.fused).then_with(|| a.0.cmp(b.0)));
    let mut articles: Vec<Gathered> = Vec::new();
    let mut position_of: HashMap<&str, usize> = HashMap::new();
    for (id, chunk) in chunk_order {
        let hit = first_hit[id];
        let article_id = hit.payload.article_id.as_str();
        match position_of.get(article_id) {
            Some(&index) => {
                let article = &mut articles[index];
                article.fused_sum += chunk.fused;
                article.chunks += 1;
                article.dense = best_of(article.dense, chunk.dense);
                article.toned = best_of(article.toned, chunk.toned);
                article.plain = best_of(article.plain, chunk.plain);
                article.cosine = article.cosine.max(chunk.cosine);
            }
            None => {
                let Some(entry) = library.article(article_id) else {
                    tracing::warn!(
                        article_id,
                        "indexed article missing from the corpus in memory"
                    );
                    continue;
                };
                position_of.insert(article_id, articles.len());
                articles.push(Gathered {
                    entry,
                    best_hit: hit,
                    best_fused: chunk.fused,
                    fused_sum: chunk.fused,
                    chunks: 1,
                    dense: chunk.dense,
                    toned: chunk.toned,
                    plain: chunk.plain,
                    cosine: chunk.cosine,
                });
            }
        }
    }
    let below = articles.split_off(POOL.min(articles.len()));
    articles.extend(
        below
            .into_iter()
            .filter(|article| article.entry.core)
            .take(CORE_RESERVE),
    );

    let question = QuestionFeatures::new(query);
    let terms = QuestionTerms::of(&query.question);
    let headings = HeadingTerms::new(&query.expanded, &query.heading_cues);
    let top_cosine = articles.iter().map(|a| a.cosine).fold(0.0, f32::max);
    let top_toned = articles
        .iter()
        .filter_map(|a| a.toned.map(|(_, s)| s))
        .fold(0.0, f32::max);
    let top_plain = articles
        .iter()
        .filter_map(|a| a.plain.map(|(_, s)| s))
        .fold(0.0, f32::max);
    let mut per_document: HashMap<&str, (usize, f32, f32)> = HashMap::new();
    for article in &articles {
        let slot = per_document
            .entry(article.entry.document.so_hieu.as_str())
            .or_insert((0, 0.0, 0.0));
        slot.0 += 1;
        slot.1 = slot.1.max(article.best_fused);
        slot.2 += article.fused_sum;
    }

    articles
        .iter()
        .enumerate()
        .map(|(fused_rank, article)| {
            let entry = article.entry;
            let payload = &article.best_hit.payload;
            let heading = entry.article.heading();
            let passage = format!(
                "{} {} {}",
                payload.document_title, payload.heading, payload.text
            );
            let coverage = terms.coverage(&passage);
            let trusted = terms.trusted(coverage);
            let confidence = relevance::confidence(article.cosine, trusted);
            let (in_pool, document_best, document_sum) =
                per_document[entry.document.so_hieu.as_str()];
            let heading_lower = heading.to_lowercase();
            let mut features = question.values.to_vec();
            features.extend([
                article.cosine,
                top_cosine - article.cosine,
                rank_of(article.dense),
                score_of(article.toned),
                share(score_of(article.toned), top_toned),
                rank_of(article.toned),
                score_of(article.plain),
                share(score_of(article.plain), top_plain),
                rank_of(article.plain),
                article.best_fused * 100.0,
                fused_rank as f32,
                article.chunks as f32,
                [article.dense, article.toned, article.plain]
                    .iter()
                    .filter(|c| c.is_some())
                    .count() as f32,
                coverage,
                trusted,
                headings.heading_match(&heading),
                terms.coverage(&heading),
                terms.coverage(&entry.document.ten),
                confidence,
                document_type(&entry.document.loai_van_ban),
                f32::from(u8::from(entry.core)),
                validity_class(entry.document.tinh_trang),
                article_number(&entry.article.number),
                entry.position as f32 / entry.document_len.max(1) as f32,
                f32::from(u8::from(is_general(&heading_lower))),
                f32::from(u8::from(is_closing(&heading_lower))),
                in_pool as f32,
                document_best * 100.0,
                document_sum * 100.0,
                (entry.body_len as f32 + 1.0).ln(),
            ]);
            debug_assert_eq!(features.len(), FEATURE_NAMES.len());
            ArticleCandidate {
                article_id: entry.id.clone(),
                clauses: payload.clauses.clone(),
                confidence,
                fused_rank,
                features,
            }
        })
        .collect()
}

/// The question's own features, the same for every candidate.
struct QuestionFeatures {
    values: [f32; 10],
}

impl QuestionFeatures {
    fn new(query: &Query) -> QuestionFeatures {
        let folded = format!(
            " {} ",
            crate::text::strip_diacritics(&query.question.text().to_lowercase())
        );
        let asks = |phrases: &[&str]| {
            f32::from(u8::from(
                phrases.iter().any(|p| folded.contains(&format!(" {p} "))),
            ))
        };
        QuestionFeatures {
            values: [
                query.question.syllables().len() as f32,
                f32::from(u8::from(!query.question.lacks_diacritics())),
                crate::text::syllables(&query.heading_cues).len() as f32,
                asks(&["bao nhieu", "muc phat", "bao nhieu tien", "may", "muc"]),
                asks(&["la gi", "hieu the nao", "nghia la", "khai niem"]),
                asks(&[
                    "thu tuc",
                    "ho so",
                    "giay to",
                    "trinh tu",
                    "lam the nao",
                    "can gi",
                ]),
                asks(&["co duoc", "duoc khong", "co phai", "co bi", "co can"]),
                asks(&["phat", "xu phat", "xu ly", "bi phat", "tru diem"]),
                asks(&[
                    "o dau",
                    "co quan nao",
                    "ai co tham quyen",
                    "noi nao",
                    "tham quyen",
                ]),
                asks(&[
                    "bao lau",
                    "thoi han",
                    "bao gio",
                    "khi nao",
                    "may ngay",
                    "thoi hieu",
                ]),
            ],
        }
    }
}

fn best_of(a: Option<(usize, f32)>, b: Option<(usize, f32)>) -> Option<(usize, f32)> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.0 < x.0 { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

fn rank_of(channel: Option<(usize, f32)>) -> f32 {
    channel.map_or(ABSENT_RANK, |(rank, _)| rank as f32)
}

fn score_of(channel: Option<(usize, f32)>) -> f32 {
    channel.map_or(0.0, |(_, score)| score)
}

fn share(score: f32, top: f32) -> f32 {
    if top > 0.0 {
        score / top
    } else {
        0.0
    }
}

/// The level of a document type: the law before the decree before the circular.
fn document_type(kind: &str) -> f32 {
    match kind {
        "Hiến pháp" | "Bộ luật" | "Luật" => 0.0,
        "Pháp lệnh" | "Nghị quyết" | "Nghị quyết liên tịch" => 1.0,
        "Nghị định" => 2.0,
        "Thông tư" | "Thông tư liên tịch" => 3.0,
        "Quyết định" | "Chỉ thị" => 4.0,
        _ => 5.0,
    }
}

fn validity_class(validity: Validity) -> f32 {
    match validity {
        Validity::InForce => 0.0,
        Validity::PartlyExpired => 1.0,
        Validity::PerCompendium => 2.0,
        Validity::Expired | Validity::NotYetInForce => 3.0,
    }
}

fn article_number(number: &str) -> f32 {
    number
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0.0)
}

/// Scope, subjects and definitions: general articles that share words with many questions.
fn is_general(heading: &str) -> bool {
    [
        "phạm vi điều chỉnh",
        "đối tượng áp dụng",
        "giải thích từ ngữ",
        "nguyên tắc",
    ]
    .iter()
    .any(|words| heading.contains(words))
}

/// Entry into force, transition and implementation: rarely what a citizen asks.
fn is_closing(heading: &str) -> bool {
    [
        "hiệu lực thi hành",
        "chuyển tiếp",
        "trách nhiệm thi hành",
        "điều khoản thi hành",
        "tổ chức thực hiện",
    ]
    .iter()
    .any(|words| heading.contains(words))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_order_and_classify() {
        assert_eq!(best_of(Some((3, 0.5)), Some((1, 0.4))), Some((1, 0.4)));
        assert_eq!(best_of(None, Some((2, 1.0))), Some((2, 1.0)));
        assert_eq!(rank_of(None), ABSENT_RANK);
        assert_eq!(article_number("10a"), 10.0);
        assert_eq!(document_type("Thông tư liên tịch"), 3.0);
        assert!(is_general("điều 3. giải thích từ ngữ"));
        assert!(is_closing("điều 53. hiệu lực thi hành"));
        assert_eq!(share(2.0, 4.0), 0.5);
        assert_eq!(share(2.0, 0.0), 0.0);
    }

    #[test]
    fn question_features_read_what_is_asked() {
        let query = Query::verbatim(&crate::answer::Question::new(
            "Vượt đèn đỏ bị phạt bao nhiêu tiền?",
        ));
        let features = QuestionFeatures::new(&query).values;
        assert_eq!(features[1], 1.0, "has diacritics");
        assert_eq!(features[3], 1.0, "asks an amount");
        assert_eq!(features[7], 1.0, "asks a penalty");
        assert_eq!(features[4], 0.0);
    }
}
