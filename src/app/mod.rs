//! Wiring: from a [`Config`] to a ready [`Assistant`] — prompts, corpus, model, index (ingesting
//! what is missing). Shared by `hoiluat serve`, `hoiluat ingest` and `hoiluat ask`.
//!
//! - [`start`] loads everything and brings the index up to date;
//! - [`reindex`] brings a running assistant up to date with the corpus directory, and
//!   [`ReindexJob`] runs it on its own thread after the staff console changed the corpus;
//! - [`Application`] is `hoiluat serve`: the database, the channels, the console and the HTTP
//!   router around one assistant.

mod application;
mod reindex_job;

pub use application::{Application, Served};
pub use reindex_job::{ReindexJob, ReindexOutcome, ReindexStatus};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::answer::prompts::{PromptError, Prompts};
use crate::answer::Assistant;
use crate::chunk::Chunk;
use crate::config::{Config, StoreKind};
use crate::corpus::{load_corpus, CorpusLoad, Severity};
use crate::embed::{E5Embedder, EmbedError, Embedder, ModelPaths, TokenCounter};
use crate::ingest::{
    corpus_chunks, ingest_owned, is_up_to_date, prepare, source_fingerprint, IngestError,
    IngestOptions, IngestProgress, IngestReport, PendingIngest,
};
use crate::library::Library;
use crate::store::edge::EdgeStore;
use crate::store::qdrant::QdrantStore;
use crate::store::{CollectionInfo, StoreError, VectorStore};
use crate::vector_cache::{CacheError, VectorCache};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Prompts(#[from] PromptError),
    #[error("cannot read the corpus directory {dir}: {source}")]
    Corpus {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("the corpus in {0} has no usable document")]
    EmptyCorpus(PathBuf),
    #[error(transparent)]
    Model(#[from] EmbedError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("cannot remove the old index {dir}: {source}")]
    Rebuild {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the indexing priorities {path}: {message}")]
    Priorities { path: PathBuf, message: String },
}

/// How start-up treats the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexMode {
    /// Ingest only when the corpus or model changed (the default for `serve`).
    IngestIfNeeded,
    /// Always compare the corpus with the index (`hoiluat ingest`).
    AlwaysIngest,
    /// Delete the index and ingest everything (`hoiluat ingest --rebuild`).
    Rebuild,
    /// Like `IngestIfNeeded`, but return once the core tier (the loose corpus files: the curated
    /// documents and the 2024 laws) is searchable, leaving the compendium bundle to
    /// [`Started::background`] (`hoiluat serve`).
    CoreFirst,
}

/// Tier of the loose corpus files, indexed before the service answers.
pub const CORE_TIER: u32 = 0;
/// The compendium's fields in the order they are indexed on a first start (most asked first).
pub const PRIORITY_FILE: &str = "priority.toml";

/// What start-up produced.
pub struct Started {
    pub assistant: Arc<Assistant>,
    /// The configured vector store (`store.kind`): embedded engine or Qdrant server.
    pub store: Arc<dyn VectorStore>,
    /// Set when this start ingested (for `CoreFirst`: the core only).
    pub ingest_report: Option<IngestReport>,
    /// For [`IndexMode::CoreFirst`]: the rest of the corpus, to index with
    /// [`BackgroundIngest::run`] while the service answers.
    pub background: Option<BackgroundIngest>,
    /// How far the index is (shared with `/readyz`).
    pub progress: Arc<IngestProgress>,
}

/// The part of an ingest left after the core: the compendium bundle, in priority order.
pub struct BackgroundIngest {
    pending: PendingIngest,
    embedder: Arc<dyn Embedder>,
    store: Arc<dyn VectorStore>,
    options: IngestOptions,
}

impl BackgroundIngest {
    /// Chunks left to embed.
    pub fn remaining(&self) -> usize {
        self.pending.remaining()
    }

    /// Indexes the rest (blocking: run it on its own thread), then optimises the index and lets
    /// `assistant` forget answers given while the index was incomplete.
    pub fn run(self, assistant: &Assistant) -> Result<IngestReport, StartError> {
        let report =
            self.pending
                .finish(self.embedder.as_ref(), self.store.as_ref(), &self.options)?;
        tracing::info!(
            embedded = report.embedded,
            from_cache = report.from_cache,
            seconds = report.elapsed.as_secs_f32(),
            "whole corpus indexed"
        );
        assistant.forget_cached_answers();
        if let Err(error) = self.store.optimize() {
            tracing::warn!(%error, "index optimisation failed; search stays exact but slower");
        }
        Ok(report)
    }
}

/// SHA-256 of a file (the tokenizer, whose vocabulary sizes the chunks).
fn file_digest(path: &Path) -> Result<String, StartError> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).map_err(|source| {
        StartError::Model(EmbedError::Model(format!(
            "cannot read {}: {source}",
            path.display()
        )))
    })?;
    Ok(hex::encode(&Sha256::digest(&bytes)[..16]))
}

/// `corpus/priority.toml`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Priorities {
    linh_vuc: Vec<String>,
}

/// The tier each document's chunks are indexed in: the loose files first ([`CORE_TIER`]), then
/// bundled documents by the rank of their best-placed field in `corpus/priority.toml`, then the rest.
pub fn document_tiers(
    corpus_dir: &Path,
    documents: &[crate::corpus::Document],
) -> Result<HashMap<String, u32>, StartError> {
    let path = corpus_dir.join(PRIORITY_FILE);
    let priorities: Priorities = match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|error| StartError::Priorities {
            path: path.clone(),
            message: error.to_string(),
        })?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Priorities::default(),
        Err(error) => {
            return Err(StartError::Priorities {
                path,
                message: error.to_string(),
            })
        }
    };
    let unlisted = priorities.linh_vuc.len() as u32 + 1;
    Ok(documents
        .iter()
        .map(|document| {
            let tier = if document.is_bundled() {
                document
                    .meta
                    .linh_vuc
                    .iter()
                    .filter_map(|field| priorities.linh_vuc.iter().position(|p| p == field))
                    .min()
                    .map_or(unlisted, |rank| rank as u32 + 1)
            } else {
                CORE_TIER
            };
            (document.meta.so_hieu.clone(), tier)
        })
        .collect())
}

/// Reads the corpus and logs its diagnostics (warnings at debug level: the shipped corpus has
/// known, reviewed ones; errors at warn level).
pub fn read_corpus(config: &Config) -> Result<CorpusLoad, StartError> {
    let dir = &config.paths.corpus_dir;
    let corpus = load_corpus(dir).map_err(|source| StartError::Corpus {
        dir: dir.clone(),
        source,
    })?;
    for diagnostic in &corpus.diagnostics {
        match diagnostic.severity {
            Severity::Error => tracing::warn!(%diagnostic, "corpus error: document left out"),
            Severity::Warning => tracing::debug!(%diagnostic, "corpus warning"),
        }
    }
    if corpus.documents.is_empty() {
        return Err(StartError::EmptyCorpus(dir.clone()));
    }
    Ok(corpus)
}

pub fn index_dir(config: &Config) -> PathBuf {
    config.paths.data_dir.join("index")
}

/// Whether the configured store is a Qdrant server (`store.kind = "qdrant"`) rather than the
/// embedded engine.
fn uses_qdrant_server(config: &Config) -> bool {
    config.store.kind == StoreKind::Qdrant
}

/// Where this process records its last complete ingest (`ingest-state.json`): inside the embedded
/// index, or beside the data for a Qdrant collection (one file per collection name).
pub fn state_dir(config: &Config) -> PathBuf {
    if uses_qdrant_server(config) {
        config
            .paths
            .data_dir
            .join(format!("qdrant-{}", config.store.collection))
    } else {
        index_dir(config)
    }
}

/// The opened store, and (for a rebuild on a Qdrant server) the new generation to publish once
/// the ingest into it is complete.
type OpenedStore = (Arc<dyn VectorStore>, Option<Arc<QdrantStore>>);

/// Opens the configured store. For [`IndexMode::Rebuild`] the embedded index is deleted first;
/// for a Qdrant server a new collection generation is created instead and returned as well, to be
/// published (alias switched) once the ingest into it is complete.
fn open_store(
    config: &Config,
    expected: &CollectionInfo,
    mode: IndexMode,
) -> Result<OpenedStore, StartError> {
    if uses_qdrant_server(config) {
        if mode == IndexMode::Rebuild {
            let generation = Arc::new(QdrantStore::create_generation(&config.store, expected)?);
            tracing::info!(collection = generation.collection_name(), "re-indexing into a new qdrant collection; the service keeps reading the current one");
            return Ok((generation.clone(), Some(generation)));
        }
        return Ok((Arc::new(QdrantStore::open(&config.store, expected)?), None));
    }
    let index_dir = index_dir(config);
    if mode == IndexMode::Rebuild && index_dir.exists() {
        std::fs::remove_dir_all(&index_dir).map_err(|source| StartError::Rebuild {
            dir: index_dir.clone(),
            source,
        })?;
    }
    Ok((Arc::new(EdgeStore::open(&index_dir, expected)?), None))
}

/// Whether `serve`/`ask` should ingest at start. A shared Qdrant collection is written only when
/// empty: during a rolling deploy, replicas with different corpora would otherwise undo each
/// other's changes. Updating it is `hoiluat ingest`'s job (run once, from one place); here a
/// difference is only reported.
fn needs_ingest_at_start(
    config: &Config,
    store: &dyn VectorStore,
    chunks: &[Chunk],
    model_id: &str,
) -> Result<bool, StartError> {
    let state_dir = state_dir(config);
    if is_up_to_date(&state_dir, chunks, model_id) {
        return Ok(false);
    }
    if !uses_qdrant_server(config) {
        return Ok(true);
    }
    if store.count()? == 0 {
        return Ok(true);
    }
    let stored = store.fingerprints()?;
    let changed = chunks
        .iter()
        .filter(|c| {
            stored.get(&c.id).and_then(|f| f.as_deref()) != Some(c.payload.fingerprint.as_str())
        })
        .count();
    let wanted: std::collections::HashSet<_> = chunks.iter().map(|c| c.id).collect();
    let extra = stored.keys().filter(|id| !wanted.contains(id)).count();
    if changed + extra > 0 {
        tracing::warn!(
            missing_or_changed = changed,
            not_in_corpus = extra,
            "the qdrant collection differs from this replica's corpus; run `hoiluat ingest` once to update it"
        );
    }
    Ok(false)
}

/// The vectors of the curated core's chunks, shipped beside the corpus (`hoiluat cache export
/// --core`): a fresh machine answers from the core without embedding it first.
pub const SHIPPED_VECTORS_FILE: &str = "core-vectors.hlvc";

/// Fills an empty vector cache from the shipped vectors. Vectors are keyed by the digest of their
/// text, so a chunk whose text changed since the file was written is simply embedded; a file made
/// with another model is refused by the cache's header check, and then everything is embedded.
fn seed_vector_cache(cache: &VectorCache, shipped: &Path) {
    if !cache.is_empty() || !shipped.exists() {
        return;
    }
    match cache.import(shipped) {
        Ok(added) => tracing::info!(
            vectors = added,
            file = %shipped.display(),
            "vector cache seeded with the shipped core vectors"
        ),
        Err(error) => tracing::warn!(
            %error,
            file = %shipped.display(),
            "shipped core vectors not used; the core is embedded instead"
        ),
    }
}

/// The chunks of the curated core ([`CORE_TIER`]: the loose corpus files), whose vectors ship in
/// [`SHIPPED_VECTORS_FILE`].
pub fn core_chunks(config: &Config) -> Result<Vec<Chunk>, StartError> {
    let corpus = read_corpus(config)?;
    let tiers = document_tiers(&config.paths.corpus_dir, &corpus.documents)?;
    let core: Vec<crate::corpus::Document> = corpus
        .documents
        .into_iter()
        .filter(|document| tiers.get(&document.meta.so_hieu) == Some(&CORE_TIER))
        .collect();
    let model_paths = ModelPaths::under(&config.paths.models_dir);
    let counter = TokenCounter::load(&model_paths.tokenizer_file())?;
    Ok(corpus_chunks(&core, &|text| counter.passage_tokens(text)))
}

/// How to ingest with `embedder`: the configured batch size, and the vector cache of its model
/// (vectors embedded before are reused, new ones added).
fn ingest_options(
    config: &Config,
    embedder: &dyn Embedder,
    progress: bool,
) -> Result<IngestOptions, StartError> {
    let cache = VectorCache::open(
        &config.paths.vector_cache_dir(),
        embedder.model_id(),
        embedder.dimension(),
    )?;
    seed_vector_cache(&cache, &config.paths.corpus_dir.join(SHIPPED_VECTORS_FILE));
    Ok(IngestOptions {
        batch_size: config.model.ingest_batch,
        flush_every: Duration::from_secs(config.model.ingest_flush_secs.max(1)),
        optimize_every: config.model.ingest_optimize_every,
        progress,
        cache: Some(Arc::new(cache)),
        ..IngestOptions::default()
    })
}

/// Loads everything and brings the index up to date. Blocking (minutes on a first start).
pub fn start(config: &Config, mode: IndexMode, progress: bool) -> Result<Started, StartError> {
    start_with(config, mode, progress, Arc::new(IngestProgress::default()))
}

/// [`start`] reporting its progress into `tracker` (which `/readyz` reads).
pub fn start_with(
    config: &Config,
    mode: IndexMode,
    progress: bool,
    tracker: Arc<IngestProgress>,
) -> Result<Started, StartError> {
    let started = Instant::now();
    let prompts = Arc::new(Prompts::load(&config.paths.prompts_dir)?);
    let corpus = read_corpus(config)?;
    let model_paths = ModelPaths::under(&config.paths.models_dir);
    let tiers = document_tiers(&config.paths.corpus_dir, &corpus.documents)?;
    let library = Arc::new(Library::from_documents(&corpus.documents));
    let tokenizer_digest = file_digest(&model_paths.tokenizer_file())?;
    let source_fingerprint = source_fingerprint(&corpus.source_digest, &tokenizer_digest);
    tracing::info!(
        documents = corpus.documents.len(),
        articles = library.article_count(),
        rejected_files = corpus.rejected_files.len(),
        overridden_by_loose_files = corpus.overridden.len(),
        "corpus loaded"
    );

    let embedder: Arc<dyn Embedder> =
        Arc::new(E5Embedder::load(&model_paths, config.model.sessions)?);
    let expected = CollectionInfo {
        model_id: embedder.model_id().to_owned(),
        dimension: embedder.dimension(),
    };
    let (mut store, new_generation) = open_store(config, &expected, mode)?;
    let state_dir = state_dir(config);

    // A complete index of exactly these sources: nothing to compare, so no need to chunk (which
    // tokenises the whole compendium).
    let complete = matches!(mode, IndexMode::IngestIfNeeded | IndexMode::CoreFirst)
        .then(|| {
            crate::ingest::complete_state(&state_dir, &source_fingerprint, embedder.model_id())
        })
        .flatten();
    let mut background = None;
    let ingest_report = if let Some(state) = complete {
        tracker.mark_complete(state.chunk_count);
        tracing::info!(chunks = state.chunk_count, "index reused");
        None
    } else {
        let counter = TokenCounter::load(&model_paths.tokenizer_file())?;
        let chunks: Vec<Chunk> =
            corpus_chunks(&corpus.documents, &|text| counter.passage_tokens(text));
        let chunk_count = chunks.len();
        tracing::info!(chunks = chunk_count, "corpus chunked");
        let needs_ingest = matches!(mode, IndexMode::AlwaysIngest | IndexMode::Rebuild)
            || needs_ingest_at_start(config, store.as_ref(), &chunks, embedder.model_id())?;
        if needs_ingest {
            let options = IngestOptions {
                tracker: tracker.clone(),
                source_fingerprint: Some(source_fingerprint.clone()),
                ..ingest_options(config, embedder.as_ref(), progress)?
            };
            let tier_of = |chunk: &Chunk| {
                tiers
                    .get(&chunk.payload.so_hieu)
                    .copied()
                    .unwrap_or(CORE_TIER)
            };
            let mut pending = prepare(chunks, &tier_of, store.as_ref(), &state_dir, &options)?;
            let report = if mode == IndexMode::CoreFirst && new_generation.is_none() {
                pending.embed_tiers_up_to(
                    CORE_TIER,
                    embedder.as_ref(),
                    store.as_ref(),
                    &options,
                )?;
                tracing::info!(
                    remaining = pending.remaining(),
                    seconds = started.elapsed().as_secs_f32(),
                    "core indexed; the rest of the corpus is indexed in the background"
                );
                let report = IngestReport {
                    chunks: chunk_count,
                    ..IngestReport::default()
                };
                background = Some(BackgroundIngest {
                    pending,
                    embedder: embedder.clone(),
                    store: store.clone(),
                    options,
                });
                report
            } else {
                let report = pending.finish(embedder.as_ref(), store.as_ref(), &options)?;
                if let Some(generation) = new_generation {
                    // The new generation is complete: switch the alias, then read through it.
                    if let Err(error) = generation.publish() {
                        let _ = std::fs::remove_file(state_dir.join(crate::ingest::STATE_FILE));
                        return Err(error.into());
                    }
                    store = Arc::new(QdrantStore::open(&config.store, &expected)?);
                }
                tracing::info!(
                    embedded = report.embedded,
                    from_cache = report.from_cache,
                    refreshed = report.refreshed,
                    deleted = report.deleted,
                    unchanged = report.unchanged,
                    seconds = report.elapsed.as_secs_f32(),
                    "index up to date"
                );
                report
            };
            Some(report)
        } else {
            tracker.mark_complete(chunk_count);
            tracing::info!(chunks = chunk_count, "index reused");
            None
        }
    };
    drop(corpus);

    let assistant = Arc::new(Assistant::new(
        embedder,
        store.clone(),
        library,
        prompts,
        config.retrieval.clone(),
        &config.conversation,
        config.server.max_question_chars,
    ));
    crate::metrics::index_size(tracker.snapshot().total_chunks, &assistant.library());
    tracing::info!(seconds = started.elapsed().as_secs_f32(), "ready");
    Ok(Started {
        assistant,
        store,
        ingest_report,
        background,
        progress: tracker,
    })
}

/// Brings a running assistant up to date with the corpus directory, without downtime: re-reads
/// the corpus, ingests what changed into the assistant's own index (new or edited documents are
/// embedded, payload changes such as a validity status are rewritten in place, removed chunks are
/// deleted, everything else is skipped), then switches the assistant to the new library at once.
/// Questions are answered from the current index and library throughout.
///
/// Blocking (seconds for one document). Not re-entrant: callers run one at a time (the staff
/// console's corpus page does). On error the assistant keeps its library; the index may hold part
/// of the change, which the next run completes (ingest is resumable).
pub fn reindex(config: &Config, assistant: &Assistant) -> Result<IngestReport, StartError> {
    let started = Instant::now();
    let corpus = read_corpus(config)?;
    let model_paths = ModelPaths::under(&config.paths.models_dir);
    let counter = TokenCounter::load(&model_paths.tokenizer_file())?;
    let chunks = corpus_chunks(&corpus.documents, &|text| counter.passage_tokens(text));
    let embedder = assistant.embedder();
    let index_dir = state_dir(config);
    let report = if is_up_to_date(&index_dir, &chunks, embedder.model_id()) {
        // Nothing searchable changed (e.g. only a checked date): the library may still differ.
        IngestReport {
            chunks: chunks.len(),
            unchanged: chunks.len(),
            ..IngestReport::default()
        }
    } else {
        let mut options = ingest_options(config, embedder.as_ref(), false)?;
        let tokenizer_digest = file_digest(&model_paths.tokenizer_file())?;
        options.source_fingerprint =
            Some(source_fingerprint(&corpus.source_digest, &tokenizer_digest));
        ingest_owned(
            chunks,
            embedder.as_ref(),
            assistant.store().as_ref(),
            &index_dir,
            &options,
        )?
    };
    // Only now that every new chunk is searchable do answers switch to the new texts.
    assistant.replace_library(Arc::new(Library::from_documents(&corpus.documents)));
    crate::metrics::index_size(report.chunks, &assistant.library());
    tracing::info!(
        documents = corpus.documents.len(),
        embedded = report.embedded,
        from_cache = report.from_cache,
        refreshed = report.refreshed,
        deleted = report.deleted,
        unchanged = report.unchanged,
        seconds = started.elapsed().as_secs_f32(),
        "re-indexed; answers use the new corpus"
    );
    if report.embedded + report.from_cache + report.deleted > 0 {
        // New points are searched exactly until indexed; queries keep working meanwhile.
        if let Err(error) = assistant.store().optimize() {
            tracing::warn!(%error, "index optimisation after re-index failed; search stays exact");
        }
    }
    Ok(report)
}

/// Builds the vector indexes in the background after an ingest; queries keep working meanwhile.
pub fn optimize_in_background(store: Arc<dyn VectorStore>) {
    std::thread::spawn(move || {
        let started = Instant::now();
        match store.optimize() {
            Ok(()) => tracing::info!(seconds = started.elapsed().as_secs_f32(), "index optimised"),
            Err(error) => {
                tracing::warn!(%error, "index optimisation failed; search stays exact but slower")
            }
        }
    });
}
