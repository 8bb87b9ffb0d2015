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

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::answer::prompts::{PromptError, Prompts};
use crate::answer::Assistant;
use crate::chunk::Chunk;
use crate::config::{Config, StoreKind};
use crate::corpus::{load_corpus, CorpusLoad, Severity};
use crate::embed::{E5Embedder, EmbedError, Embedder, ModelPaths, TokenCounter};
use crate::ingest::{
    corpus_chunks, ingest, is_up_to_date, IngestError, IngestOptions, IngestReport,
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
}

/// What start-up produced.
pub struct Started {
    pub assistant: Arc<Assistant>,
    /// The configured vector store (`store.kind`): embedded engine or Qdrant server.
    pub store: Arc<dyn VectorStore>,
    /// Set when this start ingested.
    pub ingest_report: Option<IngestReport>,
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
    Ok(IngestOptions {
        batch_size: config.model.ingest_batch,
        progress,
        cache: Some(Arc::new(cache)),
    })
}

/// Loads everything and brings the index up to date. Blocking (minutes on a first start).
pub fn start(config: &Config, mode: IndexMode, progress: bool) -> Result<Started, StartError> {
    let started = Instant::now();
    let prompts = Arc::new(Prompts::load(&config.paths.prompts_dir)?);
    let corpus = read_corpus(config)?;
    let model_paths = ModelPaths::under(&config.paths.models_dir);
    let counter = TokenCounter::load(&model_paths.tokenizer_file())?;
    let chunks = corpus_chunks(&corpus.documents, &|text| counter.passage_tokens(text));
    let library = Arc::new(Library::from_documents(&corpus.documents));
    tracing::info!(
        documents = corpus.documents.len(),
        articles = library.article_count(),
        chunks = chunks.len(),
        rejected_files = corpus.rejected_files.len(),
        "corpus loaded"
    );

    let embedder = Arc::new(E5Embedder::load(&model_paths, config.model.sessions)?);
    let expected = CollectionInfo {
        model_id: embedder.model_id().to_owned(),
        dimension: embedder.dimension(),
    };
    let (mut store, new_generation) = open_store(config, &expected, mode)?;
    let state_dir = state_dir(config);

    let needs_ingest = mode != IndexMode::IngestIfNeeded
        || needs_ingest_at_start(config, store.as_ref(), &chunks, embedder.model_id())?;
    let ingest_report = if needs_ingest {
        let options = ingest_options(config, embedder.as_ref(), progress)?;
        let report = ingest(
            &chunks,
            embedder.as_ref(),
            store.as_ref(),
            &state_dir,
            &options,
        )?;
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
        Some(report)
    } else {
        tracing::info!(chunks = chunks.len(), "index reused");
        None
    };

    let assistant = Arc::new(Assistant::new(
        embedder,
        store.clone(),
        library,
        prompts,
        config.retrieval.clone(),
        &config.conversation,
        config.server.max_question_chars,
    ));
    tracing::info!(seconds = started.elapsed().as_secs_f32(), "ready");
    Ok(Started {
        assistant,
        store,
        ingest_report,
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
        let options = ingest_options(config, embedder.as_ref(), false)?;
        ingest(
            &chunks,
            embedder.as_ref(),
            assistant.store().as_ref(),
            &index_dir,
            &options,
        )?
    };
    // Only now that every new chunk is searchable do answers switch to the new texts.
    assistant.replace_library(Arc::new(Library::from_documents(&corpus.documents)));
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
