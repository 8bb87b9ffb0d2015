//! Ingest: corpus → chunks → vectors → store, incrementally and resumably.
//!
//! Chunk ids come from content, so the store itself says what is already done: a restart after a
//! crash embeds only what is missing, and re-ingesting an unchanged corpus embeds nothing. The
//! ingest state file (`ingest-state.json`) is written only after a complete, flushed ingest; its
//! corpus fingerprint lets a later start skip the whole comparison.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::chunk::{chunk_document, Chunk};
use crate::corpus::Document;
use crate::embed::{EmbedError, Embedder};
use crate::lexical::{encode_document, LEXICAL_VERSION};
use crate::store::payload::PAYLOAD_VERSION;
use crate::store::{ChunkRecord, StoreError, VectorStore};
use crate::vector_cache::{self, VectorCache};

pub const STATE_FILE: &str = "ingest-state.json";

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cache(#[from] crate::vector_cache::CacheError),
    #[error("cannot write the ingest state {path}: {source}")]
    State {
        path: String,
        source: std::io::Error,
    },
}

/// Written after a complete ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestState {
    pub corpus_fingerprint: String,
    pub model_id: String,
    pub chunk_count: usize,
    pub lexical_version: u32,
    pub payload_version: u32,
    pub completed_at: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestReport {
    pub chunks: usize,
    /// Chunks embedded now by the model.
    pub embedded: usize,
    /// Chunks whose vector came from the vector cache.
    pub from_cache: usize,
    /// Chunks whose payload or lexical vectors were rewritten without re-embedding.
    pub refreshed: usize,
    /// Stored chunks that are no longer in the corpus.
    pub deleted: usize,
    /// Chunks already stored unchanged.
    pub unchanged: usize,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub batch_size: usize,
    /// Draw a progress bar on the terminal (hidden automatically when stderr is not one).
    pub progress: bool,
    /// Vectors computed before (by any index) are taken from here, and new ones added to it.
    pub cache: Option<Arc<VectorCache>>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            batch_size: 32,
            progress: true,
            cache: None,
        }
    }
}

/// Chunks every document, dropping duplicate ids (identical text under identical headings).
pub fn corpus_chunks(documents: &[Document], passage_tokens: &dyn Fn(&str) -> usize) -> Vec<Chunk> {
    let mut seen = HashSet::new();
    let mut chunks = Vec::new();
    for document in documents {
        for chunk in chunk_document(document, passage_tokens) {
            if seen.insert(chunk.id) {
                chunks.push(chunk);
            } else {
                tracing::warn!(article_id = %chunk.payload.article_id, "duplicate chunk skipped");
            }
        }
    }
    chunks
}

/// Identifies the exact set of chunks (ids and payloads) and the encodings.
pub fn corpus_fingerprint(chunks: &[Chunk]) -> String {
    let mut entries: Vec<(Uuid, &str)> = chunks
        .iter()
        .map(|c| (c.id, c.payload.fingerprint.as_str()))
        .collect();
    entries.sort();
    let mut hasher = Sha256::new();
    for (id, fingerprint) in entries {
        hasher.update(id.as_bytes());
        hasher.update(fingerprint.as_bytes());
    }
    hasher.update(LEXICAL_VERSION.to_le_bytes());
    hasher.update(PAYLOAD_VERSION.to_le_bytes());
    hex::encode(&hasher.finalize()[..16])
}

pub fn read_state(data_dir: &Path) -> Option<IngestState> {
    let bytes = std::fs::read(data_dir.join(STATE_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether the store already holds exactly these chunks from this model.
pub fn is_up_to_date(data_dir: &Path, chunks: &[Chunk], model_id: &str) -> bool {
    read_state(data_dir).is_some_and(|state| {
        state.model_id == model_id && state.corpus_fingerprint == corpus_fingerprint(chunks)
    })
}

/// Brings the store in line with `chunks`. Safe to interrupt at any point and run again.
pub fn ingest(
    chunks: &[Chunk],
    embedder: &dyn Embedder,
    store: &dyn VectorStore,
    data_dir: &Path,
    options: &IngestOptions,
) -> Result<IngestReport, IngestError> {
    let started = Instant::now();
    let state_path = data_dir.join(STATE_FILE);
    // The state describes a complete ingest; remove it first so an interrupted run is never
    // mistaken for a complete one.
    if state_path.exists() {
        std::fs::remove_file(&state_path).map_err(|source| IngestError::State {
            path: state_path.display().to_string(),
            source,
        })?;
    }

    let stored = store.fingerprints()?;
    let wanted: HashMap<Uuid, &Chunk> = chunks.iter().map(|c| (c.id, c)).collect();

    let stale: Vec<Uuid> = stored
        .keys()
        .filter(|id| !wanted.contains_key(id))
        .copied()
        .collect();
    store.delete(&stale)?;

    let mut to_embed: Vec<&Chunk> = Vec::new();
    let mut to_refresh: Vec<&Chunk> = Vec::new();
    let mut unchanged = 0;
    for chunk in chunks {
        match stored.get(&chunk.id) {
            // Stored with the same payload and encodings: nothing to do.
            Some(Some(fingerprint)) if *fingerprint == chunk.payload.fingerprint => unchanged += 1,
            // Stored with an older payload (e.g. a validity change) or an unreadable one.
            Some(_) => to_refresh.push(chunk),
            None => to_embed.push(chunk),
        }
    }
    tracing::info!(
        chunks = chunks.len(),
        to_embed = to_embed.len(),
        to_refresh = to_refresh.len(),
        stale = stale.len(),
        unchanged,
        "ingest plan"
    );

    if let Some(cache) = &options.cache {
        backfill_cache(chunks, &stored, store, cache, options.batch_size)?;
    }
    let (refreshed, vectorless) = refresh(&to_refresh, store, options.batch_size)?;
    // A stored point without its dense vector (a crash mid-write) cannot be refreshed: embed it.
    to_embed.extend(vectorless);
    let (embedded, from_cache) = embed_missing(&mut to_embed, embedder, store, options)?;

    store.flush()?;
    let state = IngestState {
        corpus_fingerprint: corpus_fingerprint(chunks),
        model_id: embedder.model_id().to_owned(),
        chunk_count: chunks.len(),
        lexical_version: LEXICAL_VERSION,
        payload_version: PAYLOAD_VERSION,
        completed_at: chrono::Utc::now().to_rfc3339(),
    };
    let bytes = serde_json::to_vec_pretty(&state).unwrap_or_default();
    crate::fsutil::write_atomically(&state_path, &bytes).map_err(|source| IngestError::State {
        path: state_path.display().to_string(),
        source,
    })?;

    Ok(IngestReport {
        chunks: chunks.len(),
        embedded,
        from_cache,
        refreshed,
        deleted: stale.len(),
        unchanged,
        elapsed: started.elapsed(),
    })
}

/// Copies into the cache the stored vectors it lacks (an index built before the cache existed, or
/// with another cache directory), so that `hoiluat cache export` carries every vector of the index.
fn backfill_cache(
    chunks: &[Chunk],
    stored: &HashMap<Uuid, Option<String>>,
    store: &dyn VectorStore,
    cache: &VectorCache,
    batch_size: usize,
) -> Result<(), IngestError> {
    let missing: Vec<&Chunk> = chunks
        .iter()
        .filter(|c| stored.contains_key(&c.id))
        .filter(|c| cache.get(&vector_cache::key(&c.embed_text)).is_none())
        .collect();
    let mut added = 0;
    for batch in missing.chunks(batch_size.max(1) * 8) {
        let ids: Vec<Uuid> = batch.iter().map(|c| c.id).collect();
        let mut dense = store.dense_vectors(&ids)?;
        added += cache.insert_many(
            batch
                .iter()
                .filter_map(|c| Some((vector_cache::key(&c.embed_text), dense.remove(&c.id)?)))
                .collect(),
        )?;
    }
    if added > 0 {
        tracing::info!(added, "stored vectors copied into the vector cache");
    }
    Ok(())
}

/// Rewrites payload and lexical vectors of stored chunks, reusing their stored dense vectors.
/// Returns how many were refreshed, and the chunks whose dense vector was missing.
fn refresh<'a>(
    chunks: &[&'a Chunk],
    store: &dyn VectorStore,
    batch_size: usize,
) -> Result<(usize, Vec<&'a Chunk>), IngestError> {
    let mut refreshed = 0;
    let mut vectorless = Vec::new();
    for batch in chunks.chunks(batch_size.max(1)) {
        let ids: Vec<Uuid> = batch.iter().map(|c| c.id).collect();
        let mut dense = store.dense_vectors(&ids)?;
        let mut records = Vec::with_capacity(batch.len());
        for chunk in batch {
            match dense.remove(&chunk.id) {
                Some(vector) => records.push(record(chunk, vector)),
                None => vectorless.push(*chunk),
            }
        }
        refreshed += records.len();
        store.upsert(records)?;
    }
    store.flush()?;
    Ok((refreshed, vectorless))
}

/// Embeds (or takes from the cache) and stores chunks in batches, flushing after each so that a
/// crash loses at most one batch. Returns (embedded by the model, taken from the cache).
fn embed_missing(
    chunks: &mut [&Chunk],
    embedder: &dyn Embedder,
    store: &dyn VectorStore,
    options: &IngestOptions,
) -> Result<(usize, usize), IngestError> {
    if chunks.is_empty() {
        return Ok((0, 0));
    }
    // Similar lengths in a batch waste less time on padding.
    chunks.sort_by_key(|c| c.embed_text.len());
    let progress = progress_bar(chunks.len() as u64, options.progress);
    let started = Instant::now();
    let (mut embedded, mut from_cache) = (0, 0);
    let mut last_logged = Instant::now();
    for batch in chunks.chunks(options.batch_size.max(1)) {
        let mut vectors: Vec<Option<Vec<f32>>> = batch
            .iter()
            .map(|c| {
                let cache = options.cache.as_ref()?;
                cache.get(&vector_cache::key(&c.embed_text))
            })
            .collect();
        let missing: Vec<usize> = (0..batch.len()).filter(|&i| vectors[i].is_none()).collect();
        if !missing.is_empty() {
            let texts: Vec<String> = missing
                .iter()
                .map(|&i| batch[i].embed_text.clone())
                .collect();
            let computed = embedder.embed_passages(&texts)?;
            if let Some(cache) = &options.cache {
                cache.insert_many(
                    missing
                        .iter()
                        .zip(&computed)
                        .map(|(&i, v)| (vector_cache::key(&batch[i].embed_text), v.clone()))
                        .collect(),
                )?;
            }
            for (&i, vector) in missing.iter().zip(computed) {
                vectors[i] = Some(vector);
            }
        }
        embedded += missing.len();
        from_cache += batch.len() - missing.len();
        let records = batch
            .iter()
            .zip(vectors)
            .filter_map(|(chunk, vector)| Some(record(chunk, vector?)))
            .collect();
        store.upsert(records)?;
        store.flush()?;
        progress.inc(batch.len() as u64);
        crate::metrics::ingest_progress(embedded + from_cache, chunks.len());
        if last_logged.elapsed() > Duration::from_secs(15) {
            let rate = embedded as f64 / started.elapsed().as_secs_f64();
            tracing::info!(
                embedded,
                from_cache,
                total = chunks.len(),
                per_second = format!("{rate:.1}"),
                "embedding"
            );
            last_logged = Instant::now();
        }
    }
    progress.finish_and_clear();
    Ok((embedded, from_cache))
}

fn record(chunk: &Chunk, dense: Vec<f32>) -> ChunkRecord {
    ChunkRecord {
        id: chunk.id,
        dense,
        lexical: encode_document(&chunk.embed_text),
        payload: chunk.payload.clone(),
    }
}

fn progress_bar(total: u64, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "Đang lập chỉ mục {bar:40} {pos}/{len} đoạn ({per_sec}, còn {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
