//! Wiring: from a [`Config`] to a ready [`Assistant`] — prompts, corpus, model, index (ingesting
//! what is missing). Shared by `hoiluat serve`, `hoiluat ingest` and `hoiluat ask`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::answer::prompts::{PromptError, Prompts};
use crate::answer::Assistant;
use crate::config::Config;
use crate::corpus::{load_corpus, CorpusLoad, Severity};
use crate::embed::{E5Embedder, EmbedError, Embedder, ModelPaths, TokenCounter};
use crate::ingest::{
    corpus_chunks, ingest, is_up_to_date, IngestError, IngestOptions, IngestReport,
};
use crate::library::Library;
use crate::store::edge::EdgeStore;
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
    pub store: Arc<EdgeStore>,
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
    let index_dir = index_dir(config);
    if mode == IndexMode::Rebuild && index_dir.exists() {
        std::fs::remove_dir_all(&index_dir).map_err(|source| StartError::Rebuild {
            dir: index_dir.clone(),
            source,
        })?;
    }
    let expected = CollectionInfo {
        model_id: embedder.model_id().to_owned(),
        dimension: embedder.dimension(),
    };
    let store = Arc::new(EdgeStore::open(&index_dir, &expected)?);

    let needs_ingest = mode != IndexMode::IngestIfNeeded
        || !is_up_to_date(&index_dir, &chunks, embedder.model_id());
    let ingest_report = if needs_ingest {
        let cache = VectorCache::open(
            &config.paths.vector_cache_dir(),
            embedder.model_id(),
            embedder.dimension(),
        )?;
        let options = IngestOptions {
            batch_size: config.model.ingest_batch,
            progress,
            cache: Some(Arc::new(cache)),
        };
        let report = ingest(
            &chunks,
            embedder.as_ref(),
            store.as_ref(),
            &index_dir,
            &options,
        )?;
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

/// Builds the vector indexes in the background after an ingest; queries keep working meanwhile.
pub fn optimize_in_background(store: Arc<EdgeStore>) {
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
