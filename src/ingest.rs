//! Ingest: corpus → chunks → vectors → store, incrementally and resumably.
//!
//! Chunk ids come from content, so the store itself says what is already done: a restart after a
//! crash embeds only what is missing, and re-ingesting an unchanged corpus embeds nothing. The
//! ingest state file (`ingest-state.json`) is written only after a complete, flushed ingest; its
//! corpus fingerprint lets a later start skip the whole comparison.
//!
//! An ingest runs in three steps so that `serve` can answer before the whole compendium is embedded
//! (about an hour on two cores): [`prepare`] compares the corpus with the store and refreshes
//! changed payloads (cheap); [`PendingIngest::embed_tiers_up_to`] embeds the chunks of the first
//! tiers (the curated core and the 2024 laws), after which answers can be given;
//! [`PendingIngest::finish`] embeds the rest in priority order (the most-asked fields first), then
//! deletes what left the corpus, and writes the state. Deleting last keeps a re-index free of
//! downtime: a changed article's old chunks stay searchable until its new ones are stored. [`IngestProgress`] tells `/readyz`, the log and the terminal how far it is.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
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
    /// The corpus sources, chunker and tokenizer the chunks came from (see [`source_fingerprint`]);
    /// empty in states written before it existed.
    #[serde(default)]
    pub source_fingerprint: String,
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
    /// How often the index is flushed while indexing: what a crash can lose.
    pub flush_every: Duration,
    /// Chunks stored between two optimisations of the index during a long ingest (0: only at the
    /// end). Optimising as it goes keeps each segment the engine rebuilds small: one rebuild of the
    /// whole corpus at the end held the old and the new segment at once (4.75 GiB peak RSS).
    pub optimize_every: usize,
    /// Draw a progress bar on the terminal (hidden automatically when stderr is not one).
    pub progress: bool,
    /// Vectors computed before (by any index) are taken from here, and new ones added to it.
    pub cache: Option<Arc<VectorCache>>,
    /// Shared counters for `/readyz` and the log.
    pub tracker: Arc<IngestProgress>,
    /// Recorded in the state file, so that the next start can tell the index is complete without
    /// chunking the corpus again (see [`source_fingerprint`]).
    pub source_fingerprint: Option<String>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            batch_size: 32,
            flush_every: Duration::from_secs(10),
            optimize_every: 0,
            progress: true,
            cache: None,
            tracker: Arc::new(IngestProgress::default()),
            source_fingerprint: None,
        }
    }
}

/// How far the index is: chunks of the corpus, and how many are searchable. Updated by the ingest,
/// read by `/readyz` and `/v1/status`.
#[derive(Debug, Default)]
pub struct IngestProgress {
    total: AtomicUsize,
    indexed: AtomicUsize,
    /// Chunks embedded (or taken from the vector cache) by this run so far, for the rate.
    embedded_now: AtomicUsize,
    complete: AtomicBool,
    /// Seconds since the Unix epoch when this run started embedding (0 = not yet).
    embedding_since: AtomicU64,
}

/// A consistent-enough reading of [`IngestProgress`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressSnapshot {
    pub total_chunks: usize,
    pub indexed_chunks: usize,
    /// The whole corpus is searchable.
    pub complete: bool,
    /// Chunks per second embedded by this run, when it has embedded any.
    pub per_second: Option<f64>,
}

impl ProgressSnapshot {
    /// Seconds left at the current rate, when there is one.
    pub fn eta_secs(&self) -> Option<u64> {
        let rate = self.per_second.filter(|rate| *rate > 0.0)?;
        Some((self.total_chunks.saturating_sub(self.indexed_chunks) as f64 / rate).ceil() as u64)
    }

    pub fn percent(&self) -> f64 {
        if self.total_chunks == 0 {
            return 100.0;
        }
        (self.indexed_chunks as f64 * 1000.0 / self.total_chunks as f64).floor() / 10.0
    }
}

impl IngestProgress {
    pub fn snapshot(&self) -> ProgressSnapshot {
        let since = self.embedding_since.load(Ordering::Relaxed);
        let embedded = self.embedded_now.load(Ordering::Relaxed);
        let elapsed = unix_now().saturating_sub(since);
        ProgressSnapshot {
            total_chunks: self.total.load(Ordering::Relaxed),
            indexed_chunks: self.indexed.load(Ordering::Relaxed),
            complete: self.complete.load(Ordering::Relaxed),
            per_second: (since > 0 && embedded > 0 && elapsed > 0)
                .then(|| embedded as f64 / elapsed as f64),
        }
    }

    /// The index already holds the whole corpus.
    pub fn mark_complete(&self, total: usize) {
        self.total.store(total, Ordering::Relaxed);
        self.indexed.store(total, Ordering::Relaxed);
        self.complete.store(true, Ordering::Relaxed);
    }

    fn start(&self, total: usize, indexed: usize) {
        self.total.store(total, Ordering::Relaxed);
        self.indexed.store(indexed, Ordering::Relaxed);
        self.complete.store(false, Ordering::Relaxed);
    }

    fn add_embedded(&self, count: usize) {
        if self.embedding_since.load(Ordering::Relaxed) == 0 {
            self.embedding_since.store(unix_now(), Ordering::Relaxed);
        }
        self.embedded_now.fetch_add(count, Ordering::Relaxed);
        self.indexed.fetch_add(count, Ordering::Relaxed);
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |duration| duration.as_secs())
}

/// One ingest at a time in this process: the background ingest of `serve` and a re-index from the
/// staff console must not interleave their deletions and upserts. A flag and a condition variable
/// rather than a `MutexGuard`, because the guard travels with a pending ingest to the background
/// thread.
static INGESTING: Mutex<bool> = Mutex::new(false);
static INGEST_DONE: Condvar = Condvar::new();

/// Held while an ingest runs; dropping it lets the next one start.
struct IngestLock;

impl IngestLock {
    fn acquire() -> IngestLock {
        let mut busy = INGESTING.lock().unwrap_or_else(|p| p.into_inner());
        if *busy {
            tracing::info!("waiting for the running ingest to finish");
        }
        while *busy {
            busy = INGEST_DONE.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy = true;
        IngestLock
    }
}

impl Drop for IngestLock {
    fn drop(&mut self) {
        *INGESTING.lock().unwrap_or_else(|p| p.into_inner()) = false;
        INGEST_DONE.notify_one();
    }
}

/// Chunks every document, dropping duplicate ids (identical text under identical headings). The
/// documents are split over the available cores (tokenising the compendium takes a minute on one);
/// the order of the result does not depend on the split.
pub fn corpus_chunks(
    documents: &[Document],
    passage_tokens: &(dyn Fn(&str) -> usize + Sync),
) -> Vec<Chunk> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = documents.len().div_ceil(threads.max(1)).max(1);
    let parts: Vec<Vec<Chunk>> = std::thread::scope(|scope| {
        let handles: Vec<_> = documents
            .chunks(per_thread)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .flat_map(|document| chunk_document(document, passage_tokens))
                        .collect::<Vec<Chunk>>()
                })
            })
            .collect();
        handles
            .into_iter()
            // A panic while chunking is a bug: fail start-up rather than index part of the corpus.
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut seen = HashSet::new();
    let mut chunks = Vec::new();
    let mut duplicates = 0usize;
    for chunk in parts.into_iter().flatten() {
        if seen.insert(chunk.id) {
            chunks.push(chunk);
        } else {
            duplicates += 1;
            tracing::debug!(article_id = %chunk.payload.article_id, "duplicate chunk skipped");
        }
    }
    if duplicates > 0 {
        tracing::info!(
            duplicates,
            "identical chunks (same text under the same headings) indexed once"
        );
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

/// Bumped when chunking changes in a way the corpus sources do not show (the chunk sizes, the
/// context header): a complete index of the same sources is then no longer complete.
pub const CHUNKER_VERSION: u32 = 1;

/// Identifies what the chunks are made from: the corpus sources (`CorpusLoad::source_digest`), the
/// tokenizer that sized them, the chunker and the stored encodings.
pub fn source_fingerprint(source_digest: &str, tokenizer_digest: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(source_digest.as_bytes());
    hasher.update(tokenizer_digest.as_bytes());
    hasher.update(CHUNKER_VERSION.to_le_bytes());
    hasher.update(LEXICAL_VERSION.to_le_bytes());
    hasher.update(PAYLOAD_VERSION.to_le_bytes());
    hex::encode(&hasher.finalize()[..16])
}

/// The state of a complete ingest of exactly these sources by this model, if the index holds one.
pub fn complete_state(
    data_dir: &Path,
    source_fingerprint: &str,
    model_id: &str,
) -> Option<IngestState> {
    read_state(data_dir).filter(|state| {
        state.model_id == model_id && state.source_fingerprint == source_fingerprint
    })
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
    ingest_owned(chunks.to_vec(), embedder, store, data_dir, options)
}

/// [`ingest`] taking the chunks, which are dropped as they are stored.
pub fn ingest_owned(
    chunks: Vec<Chunk>,
    embedder: &dyn Embedder,
    store: &dyn VectorStore,
    data_dir: &Path,
    options: &IngestOptions,
) -> Result<IngestReport, IngestError> {
    let pending = prepare(chunks, &|_| 0, store, data_dir, options)?;
    pending.finish(embedder, store, options)
}

/// An ingest whose comparison, deletions and refreshes are done, with chunks left to embed in
/// priority order (lowest tier first, short chunks first within a tier). Only those chunks are
/// kept, and each tier's are dropped once stored: the background ingest of the compendium holds
/// less and less of it.
pub struct PendingIngest {
    /// What is left to embed, with its tier, in the order to embed it.
    to_embed: std::collections::VecDeque<(u32, Chunk)>,
    /// Stored points no longer in the corpus, deleted once everything new is stored.
    stale: Vec<Uuid>,
    corpus_fingerprint: String,
    chunk_count: usize,
    state_path: PathBuf,
    report: IngestReport,
    started: Instant,
    /// Chunks stored since the index was last optimised, across tiers.
    unoptimized: usize,
    // Held from `prepare` to `finish`, so two ingests never interleave; released on drop.
    _lock: IngestLock,
}

/// Compares `chunks` with the store: rewrites changed payloads with their stored vectors, and
/// keeps what is left to embed, ordered by `tier_of` (0 first), and what left the corpus (deleted
/// by [`PendingIngest::finish`], after the new chunks are stored). The state file is removed
/// first, so an interrupted run is never taken for a complete one.
pub fn prepare(
    chunks: Vec<Chunk>,
    tier_of: &dyn Fn(&Chunk) -> u32,
    store: &dyn VectorStore,
    data_dir: &Path,
    options: &IngestOptions,
) -> Result<PendingIngest, IngestError> {
    let lock = IngestLock::acquire();
    let started = Instant::now();
    let state_path = data_dir.join(STATE_FILE);
    if state_path.exists() {
        std::fs::remove_file(&state_path).map_err(|source| IngestError::State {
            path: state_path.display().to_string(),
            source,
        })?;
    }

    let stored = store.fingerprints()?;
    let wanted: HashSet<Uuid> = chunks.iter().map(|c| c.id).collect();
    let stale: Vec<Uuid> = stored
        .keys()
        .filter(|id| !wanted.contains(id))
        .copied()
        .collect();
    drop(wanted);

    let mut embed_ids: HashSet<Uuid> = HashSet::new();
    let mut to_refresh: Vec<&Chunk> = Vec::new();
    let mut unchanged = 0;
    for chunk in &chunks {
        match stored.get(&chunk.id) {
            // Stored with the same payload and encodings: nothing to do.
            Some(Some(fingerprint)) if *fingerprint == chunk.payload.fingerprint => unchanged += 1,
            // Stored with an older payload (e.g. a validity change) or an unreadable one.
            Some(_) => to_refresh.push(chunk),
            None => {
                embed_ids.insert(chunk.id);
            }
        }
    }
    tracing::info!(
        chunks = chunks.len(),
        to_embed = embed_ids.len(),
        to_refresh = to_refresh.len(),
        stale = stale.len(),
        unchanged,
        "ingest plan"
    );

    if let Some(cache) = &options.cache {
        backfill_cache(&chunks, &stored, store, cache, options.batch_size)?;
    }
    let (refreshed, vectorless) = refresh(&to_refresh, store, options.batch_size)?;
    // A stored point without its dense vector (a crash mid-write) cannot be refreshed: embed it.
    embed_ids.extend(vectorless.iter().map(|chunk| chunk.id));
    drop(to_refresh);
    drop(vectorless);
    let chunk_count = chunks.len();
    let fingerprint = corpus_fingerprint(&chunks);
    let mut ordered: Vec<(u32, Chunk)> = chunks
        .into_iter()
        .filter(|chunk| embed_ids.contains(&chunk.id))
        .map(|chunk| (tier_of(&chunk), chunk))
        .collect();
    // Tiers in order; within a tier, similar lengths in a batch waste less time on padding.
    ordered.sort_by(|a, b| {
        (a.0, a.1.embed_text.len(), a.1.id).cmp(&(b.0, b.1.embed_text.len(), b.1.id))
    });
    options
        .tracker
        .start(chunk_count, chunk_count - ordered.len());
    Ok(PendingIngest {
        report: IngestReport {
            chunks: chunk_count,
            refreshed,
            deleted: stale.len(),
            unchanged,
            ..IngestReport::default()
        },
        to_embed: ordered.into(),
        stale,
        corpus_fingerprint: fingerprint,
        chunk_count,
        state_path,
        started,
        unoptimized: 0,
        _lock: lock,
    })
}

impl PendingIngest {
    /// Chunks left to embed.
    pub fn remaining(&self) -> usize {
        self.to_embed.len()
    }

    /// Embeds and stores the pending chunks of tiers `0..=last_tier`, so that they are searchable,
    /// one tier at a time.
    pub fn embed_tiers_up_to(
        &mut self,
        last_tier: u32,
        embedder: &dyn Embedder,
        store: &dyn VectorStore,
        options: &IngestOptions,
    ) -> Result<(), IngestError> {
        while let Some(&(tier, _)) = self.to_embed.front() {
            if tier > last_tier {
                break;
            }
            let count = self.to_embed.iter().take_while(|(t, _)| *t == tier).count();
            let now: Vec<Chunk> = self.to_embed.drain(..count).map(|(_, c)| c).collect();
            let batch: Vec<&Chunk> = now.iter().collect();
            let (embedded, from_cache) =
                embed_missing(&batch, embedder, store, options, &mut self.unoptimized)?;
            self.report.embedded += embedded;
            self.report.from_cache += from_cache;
        }
        store.flush()?;
        Ok(())
    }

    /// Embeds everything left, then deletes the points that left the corpus (so a changed
    /// article is searchable throughout: its old chunks go only once its new ones are stored),
    /// flushes, and records the complete ingest in the state file.
    pub fn finish(
        mut self,
        embedder: &dyn Embedder,
        store: &dyn VectorStore,
        options: &IngestOptions,
    ) -> Result<IngestReport, IngestError> {
        self.embed_tiers_up_to(u32::MAX, embedder, store, options)?;
        store.delete(&self.stale)?;
        store.flush()?;
        let state = IngestState {
            corpus_fingerprint: self.corpus_fingerprint.clone(),
            source_fingerprint: options.source_fingerprint.clone().unwrap_or_default(),
            model_id: embedder.model_id().to_owned(),
            chunk_count: self.chunk_count,
            lexical_version: LEXICAL_VERSION,
            payload_version: PAYLOAD_VERSION,
            completed_at: chrono::Utc::now().to_rfc3339(),
        };
        let bytes = serde_json::to_vec_pretty(&state).unwrap_or_default();
        crate::fsutil::write_atomically(&self.state_path, &bytes).map_err(|source| {
            IngestError::State {
                path: self.state_path.display().to_string(),
                source,
            }
        })?;
        options.tracker.mark_complete(self.chunk_count);
        self.report.elapsed = self.started.elapsed();
        Ok(self.report)
    }
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

/// Embeds (or takes from the cache) and stores chunks in batches, in the given order. Returns
/// (embedded by the model, taken from the cache).
///
/// Storing runs on its own thread while the next batch is embedded: the model is the slow part and
/// must not wait for the index. The store is flushed every few seconds rather than after every
/// batch; a vector is in the vector cache before its point is written, so a crash loses no
/// embedding work, only the last seconds of writes, which the next ingest redoes from the cache.
/// Every `options.optimize_every` chunks (counted in `unoptimized`, across calls) the writer
/// flushes and optimises the index, so that the engine never rebuilds more than that at once.
fn embed_missing(
    chunks: &[&Chunk],
    embedder: &dyn Embedder,
    store: &dyn VectorStore,
    options: &IngestOptions,
    unoptimized: &mut usize,
) -> Result<(usize, usize), IngestError> {
    if chunks.is_empty() {
        return Ok((0, 0));
    }
    let progress = progress_bar(chunks.len() as u64, options.progress);
    let started = Instant::now();
    let outcome = std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<(Vec<ChunkRecord>, usize)>(2);
        let progress = &progress;
        let writer = scope.spawn(move || -> Result<(), IngestError> {
            let mut last_flush = Instant::now();
            let mut last_logged = Instant::now();
            let (mut stored, mut embedded) = (0usize, 0usize);
            for (records, embedded_now) in receiver {
                let count = records.len();
                store.upsert(records)?;
                stored += count;
                *unoptimized += count;
                let optimize = options.optimize_every > 0 && *unoptimized >= options.optimize_every;
                if optimize || last_flush.elapsed() > options.flush_every {
                    store.flush()?;
                    last_flush = Instant::now();
                    // What survives a crash from here on: the restart test waits for this line.
                    tracing::debug!(stored, this_step = chunks.len(), "index flushed");
                }
                if optimize {
                    let began = Instant::now();
                    store.optimize()?;
                    *unoptimized = 0;
                    tracing::debug!(
                        stored,
                        seconds = began.elapsed().as_secs_f32(),
                        "index optimised during ingest"
                    );
                }
                embedded += embedded_now;
                progress.inc(count as u64);
                options.tracker.add_embedded(count);
                let overall = options.tracker.snapshot();
                crate::metrics::ingest_progress(overall.indexed_chunks, overall.total_chunks);
                if last_logged.elapsed() > Duration::from_secs(15) {
                    let rate = stored as f64 / started.elapsed().as_secs_f64();
                    tracing::info!(
                        stored,
                        embedded,
                        this_step = chunks.len(),
                        indexed = overall.indexed_chunks,
                        total = overall.total_chunks,
                        percent = overall.percent(),
                        per_second = format!("{rate:.1}"),
                        "indexing"
                    );
                    last_logged = Instant::now();
                }
            }
            store.flush()?;
            Ok(())
        });
        let embedding = (|| -> Result<(usize, usize), IngestError> {
            let (mut embedded, mut from_cache) = (0, 0);
            for batch in batches(
                chunks,
                options.batch_size.max(1),
                MAX_BATCH_BYTES,
                |chunk| chunk.embed_text.len(),
            ) {
                let (vectors, computed) = batch_vectors(batch, embedder, options)?;
                embedded += computed;
                from_cache += batch.len() - computed;
                let records = batch
                    .iter()
                    .zip(vectors)
                    .map(|(chunk, vector)| record(chunk, vector))
                    .collect();
                if sender.send((records, computed)).is_err() {
                    // The writer stopped on an error, which its join reports.
                    break;
                }
            }
            Ok((embedded, from_cache))
        })();
        drop(sender);
        let written = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let counts = embedding?;
        written?;
        Ok(counts)
    });
    progress.finish_and_clear();
    outcome
}

/// The vectors of a batch, from the vector cache or the model (new ones are added to the cache
/// first), and how many the model computed.
fn batch_vectors(
    batch: &[&Chunk],
    embedder: &dyn Embedder,
    options: &IngestOptions,
) -> Result<(Vec<Vec<f32>>, usize), IngestError> {
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
        if computed.len() != missing.len() {
            return Err(IngestError::Embed(crate::embed::EmbedError::Inference(
                format!("{} vectors for {} passages", computed.len(), missing.len()),
            )));
        }
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
    Ok((vectors.into_iter().flatten().collect(), missing.len()))
}

/// Text per embedding batch. The model's memory grows with the batch times the square of its
/// longest passage, and ONNX Runtime keeps its peak: 32 passages of 512 tokens cost hundreds of
/// MB more than the same passages in smaller batches, for no speed (similar lengths are batched
/// together, so there is little padding either way).
const MAX_BATCH_BYTES: usize = 24 * 1024;

/// Consecutive slices of `items` of at most `max_items` items and about `max_bytes` of text as
/// `len_of` measures it (a single longer item is a batch of its own).
fn batches<'a, T>(
    items: &'a [T],
    max_items: usize,
    max_bytes: usize,
    len_of: impl Fn(&T) -> usize + 'a,
) -> impl Iterator<Item = &'a [T]> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= items.len() {
            return None;
        }
        let mut end = start;
        let mut bytes = 0;
        while end < items.len() && end - start < max_items {
            let len = len_of(&items[end]);
            if end > start && bytes + len > max_bytes {
                break;
            }
            bytes += len;
            end += 1;
        }
        let batch = &items[start..end];
        start = end;
        Some(batch)
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_count_and_size() {
        let lengths = [10, 10, 10, 10, 50, 5, 5];
        let cut: Vec<&[usize]> = batches(&lengths, 3, 30, |len| *len).collect();
        assert_eq!(cut, [&[10, 10, 10][..], &[10][..], &[50][..], &[5, 5][..]]);
        assert_eq!(
            batches(&[] as &[usize], 3, 30, |len| *len).count(),
            0,
            "nothing to embed, no batch"
        );
    }

    #[test]
    fn progress_reports_share_rate_and_completion() {
        let progress = IngestProgress::default();
        progress.start(200, 50);
        let before = progress.snapshot();
        assert_eq!((before.indexed_chunks, before.total_chunks), (50, 200));
        assert_eq!(before.percent(), 25.0);
        assert!(!before.complete);
        assert_eq!(
            before.per_second, None,
            "no rate before anything is embedded"
        );
        progress.add_embedded(50);
        assert_eq!(progress.snapshot().indexed_chunks, 100);
        progress.mark_complete(200);
        let after = progress.snapshot();
        assert!(after.complete);
        assert_eq!(after.percent(), 100.0);
    }

    #[test]
    fn the_source_fingerprint_follows_sources_and_tokenizer() {
        let base = source_fingerprint("a", "t");
        assert_eq!(base, source_fingerprint("a", "t"));
        assert_ne!(base, source_fingerprint("b", "t"));
        assert_ne!(base, source_fingerprint("a", "u"));
    }
}
