//! Cuts articles into chunks that fit the embedding model: one chunk per article when it fits,
//! otherwise consecutive clauses packed together (and a clause split by points, then sentences,
//! only when it alone is too long). Every chunk carries its context (document, chapter, article
//! heading) so it can be understood and found on its own.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::corpus::{Article, Clause, Document, UnitKind};
use crate::embed::MAX_TOKENS;
use crate::lexical::LEXICAL_VERSION;
use crate::store::payload::PAYLOAD_VERSION;
use crate::store::ChunkPayload;
use crate::text::strip_diacritics;

/// Namespace of chunk ids (UUID v5 of the chunk's content hash).
const CHUNK_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6c1e_9a52_4a0f_4a0e_9d8b_2f3c_5e7a_1b01);
/// Tokens kept free below the model limit: joining pieces with newlines can add a token or two.
const SAFETY_TOKENS: usize = 16;

/// A chunk ready to embed.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Derived from the embedded text: unchanged text keeps its id, so re-ingesting re-embeds nothing.
    pub id: Uuid,
    /// Context header and body, as given to the model and the lexical encoder.
    pub embed_text: String,
    pub payload: ChunkPayload,
}

/// "52/2014/QH13" → "52-2014-qh13".
pub fn document_slug(so_hieu: &str) -> String {
    let ascii = strip_diacritics(so_hieu);
    let mut slug = String::new();
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_owned()
}

/// Stable public id of an article: "52-2014-qh13.dieu-8", "137-kh-ubnd.muc-ii".
pub fn article_id(so_hieu: &str, article: &Article) -> String {
    let unit = match article.kind {
        UnitKind::Article => "dieu",
        UnitKind::Section => "muc",
    };
    format!(
        "{}.{unit}-{}",
        document_slug(so_hieu),
        article.number.to_lowercase()
    )
}

/// A piece of article text that is never split across chunks unless it alone is too long.
struct Piece {
    text: String,
    clause: Option<String>,
    tokens: usize,
}

/// Chunks every article of a document. `passage_tokens` counts the tokens of a passage exactly as
/// the model sees it (prefix and special tokens included).
pub fn chunk_document(document: &Document, passage_tokens: &dyn Fn(&str) -> usize) -> Vec<Chunk> {
    let overhead = passage_tokens("");
    let mut chunks = Vec::new();
    for article in &document.articles {
        let header = context_header(document, article);
        let budget = MAX_TOKENS
            .saturating_sub(passage_tokens(&header) + SAFETY_TOKENS)
            .max(32);
        let whole = article.body_text();
        let texts_and_clauses =
            if passage_tokens(&format!("{header}\n{whole}")) + SAFETY_TOKENS <= MAX_TOKENS {
                vec![(whole, Vec::new())]
            } else {
                let pieces = article_pieces(article, budget, &|text| {
                    passage_tokens(text).saturating_sub(overhead)
                });
                pack(pieces, budget)
            };
        let parts = texts_and_clauses.len();
        for (part, (text, clauses)) in texts_and_clauses.into_iter().enumerate() {
            let embed_text = format!("{header}\n{text}");
            let mut payload = ChunkPayload {
                payload_version: PAYLOAD_VERSION,
                article_id: article_id(&document.meta.so_hieu, article),
                so_hieu: document.meta.so_hieu.clone(),
                document_title: document.meta.ten.clone(),
                document_type: document.meta.loai_van_ban.clone(),
                validity: document.meta.tinh_trang.slug().to_owned(),
                scope: document.meta.pham_vi.slug(),
                topics: document.meta.linh_vuc.clone(),
                heading: article.heading(),
                clauses,
                part,
                parts,
                text,
                fingerprint: String::new(),
            };
            payload.fingerprint = fingerprint(&payload);
            chunks.push(Chunk {
                id: chunk_id(&embed_text),
                embed_text,
                payload,
            });
        }
    }
    chunks
}

/// "Luật Hôn nhân và gia đình (52/2014/QH13)\nChương II. KẾT HÔN\nĐiều 8. Điều kiện kết hôn"
fn context_header(document: &Document, article: &Article) -> String {
    let mut lines = vec![format!("{} ({})", document.meta.ten, document.meta.so_hieu)];
    lines.extend(article.headings.chuong.clone());
    lines.extend(article.headings.muc.clone());
    lines.push(article.heading());
    lines.join("\n")
}

/// Intro paragraphs and clauses as pieces; a clause over budget is split by points, a point or
/// paragraph over budget by sentences.
fn article_pieces(article: &Article, budget: usize, tokens: &dyn Fn(&str) -> usize) -> Vec<Piece> {
    let mut pieces = Vec::new();
    for paragraph in &article.intro {
        push_bounded(&mut pieces, paragraph.clone(), None, budget, tokens);
    }
    for clause in &article.clauses {
        let text = clause.text();
        let clause_tokens = tokens(&text);
        if clause_tokens <= budget {
            pieces.push(Piece {
                text,
                clause: Some(clause.number.clone()),
                tokens: clause_tokens,
            });
            continue;
        }
        for part in clause_parts(clause) {
            push_bounded(
                &mut pieces,
                part,
                Some(clause.number.clone()),
                budget,
                tokens,
            );
        }
    }
    pieces
}

/// The lead of a clause (with its number) and each of its points.
fn clause_parts(clause: &Clause) -> Vec<String> {
    let mut parts = vec![format!("{}. {}", clause.number, clause.lead.join("\n"))];
    parts.extend(clause.points.iter().map(|p| p.text()));
    parts
}

/// Pushes `text` as one piece, or as several sentence groups when it is over budget.
fn push_bounded(
    pieces: &mut Vec<Piece>,
    text: String,
    clause: Option<String>,
    budget: usize,
    tokens: &dyn Fn(&str) -> usize,
) {
    let count = tokens(&text);
    if count <= budget {
        pieces.push(Piece {
            text,
            clause,
            tokens: count,
        });
        return;
    }
    let mut current = String::new();
    for sentence in split_sentences(&text) {
        let candidate = if current.is_empty() {
            sentence.clone()
        } else {
            format!("{current} {sentence}")
        };
        if tokens(&candidate) <= budget {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            let text = std::mem::take(&mut current);
            pieces.push(Piece {
                tokens: tokens(&text),
                text,
                clause: clause.clone(),
            });
        }
        if tokens(&sentence) <= budget {
            current = sentence;
        } else {
            for words in split_words(&sentence, budget, tokens) {
                pieces.push(Piece {
                    tokens: tokens(&words),
                    text: words,
                    clause: clause.clone(),
                });
            }
        }
    }
    if !current.is_empty() {
        pieces.push(Piece {
            tokens: tokens(&current),
            text: current,
            clause,
        });
    }
}

/// Splits after ". " and "; " (Vietnamese legal sentences end in either).
fn split_sentences(text: &str) -> Vec<String> {
    let mut sentences = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        if matches!(c, '.' | ';' | '\n') && chars.peek().is_some_and(|n| n.is_whitespace()) {
            sentences.push(current.trim().to_owned());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        sentences.push(current.trim().to_owned());
    }
    sentences
}

/// Last resort for a sentence longer than the budget (tables flattened into one line): cut on words.
fn split_words(sentence: &str, budget: usize, tokens: &dyn Fn(&str) -> usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for word in sentence.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if tokens(&candidate) > budget && !current.is_empty() {
            parts.push(std::mem::replace(&mut current, word.to_owned()));
        } else {
            current = candidate;
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// Greedily packs consecutive pieces into chunks within the budget.
fn pack(pieces: Vec<Piece>, budget: usize) -> Vec<(String, Vec<String>)> {
    let mut chunks = Vec::new();
    let mut text = String::new();
    let mut clauses: Vec<String> = Vec::new();
    let mut used = 0;
    for piece in pieces {
        // +1 for the joining newline.
        if !text.is_empty() && used + piece.tokens + 1 > budget {
            chunks.push((std::mem::take(&mut text), std::mem::take(&mut clauses)));
            used = 0;
        }
        if !text.is_empty() {
            text.push('\n');
            used += 1;
        }
        text.push_str(&piece.text);
        used += piece.tokens;
        if let Some(clause) = piece.clause {
            if clauses.last() != Some(&clause) {
                clauses.push(clause);
            }
        }
    }
    if !text.is_empty() {
        chunks.push((text, clauses));
    }
    chunks
}

fn chunk_id(embed_text: &str) -> Uuid {
    Uuid::new_v5(&CHUNK_ID_NAMESPACE, &Sha256::digest(embed_text.as_bytes()))
}

/// Hash of the payload (without its fingerprint) and the encoding versions.
fn fingerprint(payload: &ChunkPayload) -> String {
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(payload).unwrap_or_default());
    hasher.update(LEXICAL_VERSION.to_le_bytes());
    hasher.update(PAYLOAD_VERSION.to_le_bytes());
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::parse_document;

    /// Roughly one token per word plus the prefix and special tokens: enough to test packing
    /// without the real tokenizer (the end-to-end tests use the real one).
    fn words(text: &str) -> usize {
        text.split_whitespace().count() + 4
    }

    fn document(body: &str) -> Document {
        let source = format!(
            "---\nso_hieu: 52/2014/QH13\nten: Luật Hôn nhân và gia đình\nloai_van_ban: Luật\nco_quan_ban_hanh: Quốc hội\nngay_ban_hanh: 2014-06-19\ntinh_trang: con_hieu_luc\npham_vi: toan_quoc\nlinh_vuc: [hon-nhan-gia-dinh]\nnguon: test\n---\nChương II. KẾT HÔN\n{body}"
        );
        parse_document("t.md", &source).document.unwrap()
    }

    #[test]
    fn short_article_is_one_chunk_with_context() {
        let doc =
            document("Điều 8. Điều kiện kết hôn\n1. Nam từ đủ 20 tuổi.\n2. Nữ từ đủ 18 tuổi.\n");
        let chunks = chunk_document(&doc, &words);
        assert_eq!(chunks.len(), 1);
        let chunk = &chunks[0];
        assert_eq!(
            chunk.embed_text,
            "Luật Hôn nhân và gia đình (52/2014/QH13)\nChương II. KẾT HÔN\nĐiều 8. Điều kiện kết hôn\n1. Nam từ đủ 20 tuổi.\n2. Nữ từ đủ 18 tuổi."
        );
        assert_eq!(chunk.payload.article_id, "52-2014-qh13.dieu-8");
        assert!(chunk.payload.clauses.is_empty());
        assert_eq!((chunk.payload.part, chunk.payload.parts), (0, 1));
    }

    #[test]
    fn long_article_splits_by_clause_within_budget() {
        let clause = "quy định ".repeat(150);
        let body = format!("Điều 9. Dài\n1. {clause}\n2. {clause}\n3. {clause}\n4. ngắn\n");
        let chunks = chunk_document(&document(&body), &words);
        assert!(chunks.len() >= 3, "{}", chunks.len());
        for chunk in &chunks {
            assert!(
                words(&chunk.embed_text) <= MAX_TOKENS,
                "{}",
                words(&chunk.embed_text)
            );
            assert!(chunk
                .embed_text
                .starts_with("Luật Hôn nhân và gia đình (52/2014/QH13)"));
        }
        assert_eq!(chunks[0].payload.clauses, ["1"]);
        assert_eq!(chunks.last().unwrap().payload.clauses, ["3", "4"]);
        assert!(chunks.iter().all(|c| c.payload.parts == chunks.len()));
    }

    #[test]
    fn oversized_sentence_is_cut_on_words() {
        let body = format!("Điều 10. Bảng\n{}\n", "ô ".repeat(2000));
        let chunks = chunk_document(&document(&body), &words);
        assert!(chunks.len() >= 4);
        assert!(chunks.iter().all(|c| words(&c.embed_text) <= MAX_TOKENS));
        let total: usize = chunks
            .iter()
            .map(|c| c.payload.text.split_whitespace().count())
            .sum();
        assert_eq!(total, 2000, "no word may be lost");
    }

    #[test]
    fn ids_are_stable_and_content_derived() {
        let a = chunk_document(&document("Điều 8. A\nNội dung.\n"), &words);
        let b = chunk_document(&document("Điều 8. A\nNội dung.\n"), &words);
        let c = chunk_document(&document("Điều 8. A\nNội dung khác.\n"), &words);
        assert_eq!(a[0].id, b[0].id);
        assert_ne!(a[0].id, c[0].id);
        assert_eq!(a[0].payload.fingerprint, b[0].payload.fingerprint);
    }

    #[test]
    fn slugs() {
        assert_eq!(document_slug("52/2014/QH13"), "52-2014-qh13");
        assert_eq!(document_slug("137/KH-UBND"), "137-kh-ubnd");
        assert_eq!(document_slug("45/2019/NĐ-CP"), "45-2019-nd-cp");
    }
}
