//! Vietnamese-aware lexical (BM25-style) sparse vectors for Qdrant.
//!
//! Two channels, stored as two sparse vectors with Qdrant's IDF modifier (Qdrant computes IDF at
//! query time, so we store only the term-frequency part):
//! - `toned`: NFC lowercase syllables and adjacent-syllable bigrams ("hợp_đồng"), exact;
//! - `plain`: the same with diacritics stripped, so "thu tuc ly hon" finds "thủ tục ly hôn".
//!   Kept apart because stripping merges distinct words ("đồng"/"động") that the toned channel
//!   must keep distinct.

use std::collections::BTreeMap;

use crate::text::{strip_diacritics, syllables};

/// Bumped whenever tokenisation or weighting changes: stored with the index, and a change makes
/// ingest re-encode every chunk.
pub const LEXICAL_VERSION: u32 = 1;

/// BM25 saturation and length normalisation (the usual defaults).
const K1: f32 = 1.2;
const B: f32 = 0.75;
/// Average chunk length in syllables, measured on the shipped corpus (`hoiluat ingest` logs the
/// real value). A constant rather than a live average so that adding a document does not change
/// the vectors of every other chunk.
pub const AVG_CHUNK_SYLLABLES: f32 = 260.0;

/// A sparse vector: sorted unique indices with their weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVector {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl SparseVector {
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// Both lexical channels of one text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LexicalVectors {
    pub toned: SparseVector,
    pub plain: SparseVector,
}

/// Document-side encoding with BM25 term-frequency weights.
pub fn encode_document(text: &str) -> LexicalVectors {
    let toned_syllables = syllables(text);
    let plain_syllables: Vec<String> = toned_syllables
        .iter()
        .map(|s| strip_diacritics(s))
        .collect();
    let length = toned_syllables.len() as f32;
    let weigh =
        |tf: f32| tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length / AVG_CHUNK_SYLLABLES));
    LexicalVectors {
        toned: weighted(&toned_syllables, weigh),
        plain: weighted(&plain_syllables, weigh),
    }
}

/// Query-side encoding: every distinct term weighs 1.0 (IDF does the rest).
pub fn encode_query(text: &str) -> LexicalVectors {
    let toned_syllables = syllables(text);
    let plain_syllables: Vec<String> = toned_syllables
        .iter()
        .map(|s| strip_diacritics(s))
        .collect();
    LexicalVectors {
        toned: weighted(&toned_syllables, |_| 1.0),
        plain: weighted(&plain_syllables, |_| 1.0),
    }
}

/// Unigrams and bigrams, hashed, counted, then weighted.
fn weighted(syllables: &[String], weigh: impl Fn(f32) -> f32) -> SparseVector {
    let mut counts: BTreeMap<u32, f32> = BTreeMap::new();
    for syllable in syllables {
        *counts.entry(term_id(syllable)).or_default() += 1.0;
    }
    for pair in syllables.windows(2) {
        *counts
            .entry(term_id(&format!("{}_{}", pair[0], pair[1])))
            .or_default() += 1.0;
    }
    let (indices, values) = counts.into_iter().map(|(id, tf)| (id, weigh(tf))).unzip();
    SparseVector { indices, values }
}

/// Term ids are murmur3 hashes of the token, Qdrant's own convention for BM25 vectors.
pub fn term_id(token: &str) -> u32 {
    murmur3_32(token.as_bytes(), 0)
}

/// MurmurHash3 x86 32-bit.
fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut hash = seed;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        hash ^= k;
        hash = hash
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, byte) in tail.iter().enumerate() {
            k |= u32::from(*byte) << (8 * i);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        hash ^= k;
    }
    hash ^= data.len() as u32;
    hash ^= hash >> 16;
    hash = hash.wrapping_mul(0x85eb_ca6b);
    hash ^= hash >> 13;
    hash = hash.wrapping_mul(0xc2b2_ae35);
    hash ^ (hash >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_reference_values() {
        // Reference values of MurmurHash3_x86_32 from the original test vectors.
        assert_eq!(murmur3_32(b"", 0), 0);
        assert_eq!(murmur3_32(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_32(b"hello", 0), 0x248b_fa47);
        assert_eq!(murmur3_32(b"Hello, world!", 1234), 0xfaf6_cdb3);
    }

    #[test]
    fn unaccented_query_meets_accented_text_only_on_plain_channel() {
        let document = encode_document("Thủ tục đăng ký kết hôn");
        let query = encode_query("thu tuc dang ky ket hon");
        let shared = |a: &SparseVector, b: &SparseVector| {
            a.indices.iter().filter(|i| b.indices.contains(i)).count()
        };
        assert_eq!(shared(&document.toned, &query.toned), 0);
        // 6 syllables + 5 bigrams.
        assert_eq!(shared(&document.plain, &query.plain), 11);
    }

    #[test]
    fn toned_channel_keeps_dong_and_dong_apart() {
        let a = encode_query("đồng");
        let b = encode_query("động");
        assert_ne!(a.toned, b.toned);
        assert_eq!(a.plain, b.plain);
    }

    #[test]
    fn indices_sorted_unique_and_weights_saturate() {
        let vectors = encode_document("hôn nhân hôn nhân hôn nhân gia đình");
        assert!(vectors.toned.indices.windows(2).all(|w| w[0] < w[1]));
        let hon = vectors
            .toned
            .indices
            .iter()
            .position(|&i| i == term_id("hôn"))
            .unwrap();
        let gia = vectors
            .toned
            .indices
            .iter()
            .position(|&i| i == term_id("gia"))
            .unwrap();
        assert!(vectors.toned.values[hon] > vectors.toned.values[gia]);
        assert!(vectors.toned.values[hon] < 3.0 * vectors.toned.values[gia]);
    }

    #[test]
    fn empty_text_gives_empty_vectors() {
        assert!(encode_query("?!").toned.is_empty());
    }
}
