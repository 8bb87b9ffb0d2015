//! The payload stored with every point. This is a persisted format: fields may be added with
//! `#[serde(default)]`; renaming or removing one needs `PAYLOAD_VERSION` bumped and a re-ingest.

use serde::{Deserialize, Serialize};

/// Version of [`ChunkPayload`]; part of every fingerprint, so bumping it refreshes all payloads.
pub const PAYLOAD_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkPayload {
    pub payload_version: u32,
    /// Stable id of the article ("52-2014-qh13.dieu-8"), served by `GET /v1/articles/{id}`.
    pub article_id: String,
    /// Số hiệu of the document.
    pub so_hieu: String,
    pub document_title: String,
    pub document_type: String,
    /// Validity slug (`con_hieu_luc`, …), filterable.
    pub validity: String,
    /// Scope slug (`toan_quoc`, `tinh:quang-ngai`), filterable.
    pub scope: String,
    pub topics: Vec<String>,
    /// "Điều 8. Điều kiện kết hôn"
    pub heading: String,
    /// Clause numbers this chunk covers; empty when it covers the whole article.
    pub clauses: Vec<String>,
    /// Position of this chunk within its article, and how many chunks the article has.
    pub part: usize,
    pub parts: usize,
    /// The article text of this chunk, verbatim (without the context header).
    pub text: String,
    /// Hash of everything above plus the lexical encoding version: when it changes, ingest
    /// rewrites the payload and sparse vectors (without re-embedding).
    pub fingerprint: String,
}

/// Payload fields with a keyword index, used by filters.
pub const INDEXED_FIELDS: &[&str] = &[
    "validity",
    "scope",
    "document_type",
    "so_hieu",
    "article_id",
    "topics",
];
