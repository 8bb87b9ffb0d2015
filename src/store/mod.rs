//! The vector store seam: our own domain types (chunk record, hybrid query, filter, hit) and a
//! [`VectorStore`] trait, with two adapters behind it: the embedded Qdrant engine
//! ([`edge::EdgeStore`], one process) and a Qdrant server or cluster ([`qdrant::QdrantStore`],
//! shared by any number of service replicas). Both store the same point ids, payloads and sparse
//! encodings and fuse with the same weighted RRF, so they return the same results.
//!
//! Nothing outside this module knows Qdrant's types.

pub mod edge;
pub mod migrate;
pub mod payload;
pub mod qdrant;

use std::collections::HashMap;

use uuid::Uuid;

use crate::corpus::Validity;
use crate::lexical::LexicalVectors;
pub use payload::ChunkPayload;

/// Names of the vectors of every point.
pub const DENSE_VECTOR: &str = "dense";
pub const TONED_VECTOR: &str = "lex_toned";
pub const PLAIN_VECTOR: &str = "lex_plain";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("vector store: {0}")]
    Engine(String),
    #[error("the index at {path} was built with model `{found_model}` ({found_dimension} dimensions) but the service is configured with `{expected_model}` ({expected_dimension} dimensions); run `hoiluat ingest --rebuild` or use another data directory")]
    ModelMismatch {
        path: String,
        found_model: String,
        found_dimension: usize,
        expected_model: String,
        expected_dimension: usize,
    },
    #[error("the index at {path} is in use by another process (only one process may open an embedded index)")]
    Locked { path: String },
    #[error("the index metadata at {path} is unreadable: {message}")]
    Metadata { path: String, message: String },
    #[error("stored point {id} has an unreadable payload: {message}")]
    Payload { id: Uuid, message: String },
    #[error("the Qdrant server at {url} is unreachable ({message}); check store.url, the network and that the server runs")]
    Unreachable { url: String, message: String },
    #[error("this vector store cannot {0}")]
    Unsupported(&'static str),
}

/// One chunk ready to be stored.
#[derive(Debug, Clone)]
pub struct ChunkRecord {
    pub id: Uuid,
    pub dense: Vec<f32>,
    pub lexical: LexicalVectors,
    pub payload: ChunkPayload,
}

/// Which chunks a query may return. Empty lists mean "no restriction".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilter {
    /// Allowed validity statuses.
    pub validity: Vec<Validity>,
    /// Allowed scope slugs (`toan_quoc`, `tinh:quang-ngai`).
    pub scopes: Vec<String>,
    /// Allowed document types (`Luật`, `Nghị định`, …).
    pub document_types: Vec<String>,
    /// Allowed documents by số hiệu.
    pub documents: Vec<String>,
    /// Documents left out by số hiệu (evaluation: a question whose answer is not in the index).
    pub excluded_documents: Vec<String>,
}

/// A hybrid query: dense and both lexical channels, fused by reciprocal rank.
#[derive(Debug, Clone)]
pub struct HybridQuery {
    pub dense: Vec<f32>,
    pub lexical: LexicalVectors,
    pub filter: SearchFilter,
    /// Candidates taken from each channel before fusion.
    pub prefetch_limit: usize,
    pub limit: usize,
    /// RRF constant k.
    pub rrf_k: usize,
    /// Weights of the dense, toned and plain channels in the fusion.
    pub weights: [f32; 3],
}

/// One retrieval channel, searched on its own with its raw scores (cosine, BM25) kept.
#[derive(Debug, Clone)]
pub enum ChannelVector {
    Dense(Vec<f32>),
    Toned(crate::lexical::SparseVector),
    Plain(crate::lexical::SparseVector),
}

/// A search of one channel: the learned ranking stage needs each channel's own score and rank,
/// which a fused query does not return.
#[derive(Debug, Clone)]
pub struct ChannelSearch {
    pub vector: ChannelVector,
    pub filter: SearchFilter,
    pub limit: usize,
}

/// One result of a query.
#[derive(Debug, Clone)]
pub struct Hit {
    pub id: Uuid,
    pub score: f32,
    pub payload: ChunkPayload,
    /// The stored dense vector, for confidence scoring.
    pub dense: Option<Vec<f32>>,
}

/// What the store records about itself so a later start can detect a model change.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CollectionInfo {
    pub model_id: String,
    pub dimension: usize,
}

/// Storage of chunks with dense and sparse vectors. All methods block: call from `spawn_blocking`.
pub trait VectorStore: Send + Sync {
    /// The model the stored vectors come from.
    fn collection_info(&self) -> &CollectionInfo;
    /// Inserts or replaces points.
    fn upsert(&self, records: Vec<ChunkRecord>) -> Result<(), StoreError>;
    fn delete(&self, ids: &[Uuid]) -> Result<(), StoreError>;
    /// Every stored point id with its payload fingerprint (`None` when the payload is missing,
    /// e.g. after a crash mid-write).
    fn fingerprints(&self) -> Result<HashMap<Uuid, Option<String>>, StoreError>;
    /// Stored dense vectors of the given points (missing ones are absent from the map).
    fn dense_vectors(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<f32>>, StoreError>;
    /// Hybrid search, best first, ties broken by id so results are stable across restarts.
    fn query(&self, query: &HybridQuery) -> Result<Vec<Hit>, StoreError>;
    /// One channel's nearest points with its raw score (cosine or BM25), best first, ties broken
    /// by id; every hit carries its stored dense vector.
    fn search(&self, search: &ChannelSearch) -> Result<Vec<Hit>, StoreError>;
    /// Makes every write so far durable.
    fn flush(&self) -> Result<(), StoreError>;
    /// Builds the vector indexes (HNSW, sparse). Queries keep working meanwhile.
    fn optimize(&self) -> Result<(), StoreError>;
    fn count(&self) -> Result<usize, StoreError>;
    /// Calls `each` with every stored point (payload, dense and both lexical vectors), at most
    /// `batch` at a time, so an index can be copied into another store without re-embedding.
    /// Points without a readable payload or dense vector (a crash mid-write) are left out; ingest
    /// repairs them in the copy.
    fn export(
        &self,
        batch: usize,
        each: &mut dyn FnMut(Vec<ChunkRecord>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let _ = (batch, each);
        Err(StoreError::Unsupported("export its points"))
    }
}
