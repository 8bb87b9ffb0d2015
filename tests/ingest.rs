//! Incremental ingest on the real model and engine: unchanged text is never re-embedded, a
//! validity change rewrites payloads without embedding, removed articles leave the index, and an
//! index built for another model refuses to open.

mod common;

use std::sync::Arc;

use hoiluat::app::{self, IndexMode};
use hoiluat::corpus::load_corpus;
use hoiluat::embed::{E5Embedder, Embedder, ModelPaths, TokenCounter};
use hoiluat::ingest::{corpus_chunks, ingest, is_up_to_date, IngestOptions};
use hoiluat::lexical::{encode_document, encode_query};
use hoiluat::store::edge::{EdgeStore, SegmentLimits};
use hoiluat::store::{
    ChunkRecord, CollectionInfo, HybridQuery, SearchFilter, StoreError, VectorStore,
};
use hoiluat::vector_cache::{self, VectorCache};

const DOCUMENT: &str = "luat-35-2013-qh13.md"; // Luật Hòa giải ở cơ sở: 33 articles

/// A corpus of [`DOCUMENT`] under `dir`, the real model and tokenizer, and an empty index.
struct Indexing {
    corpus_dir: std::path::PathBuf,
    index_dir: std::path::PathBuf,
    counter: TokenCounter,
    embedder: E5Embedder,
    store: EdgeStore,
    options: IngestOptions,
}

fn indexing(dir: &std::path::Path) -> Indexing {
    let corpus_dir = common::corpus_with(dir, &[DOCUMENT]);
    let index_dir = dir.join("index");
    let paths = ModelPaths::under(&common::models_dir());
    let counter = TokenCounter::load(&paths.tokenizer_file()).unwrap();
    let embedder = E5Embedder::load(&paths, 2).unwrap();
    let info = CollectionInfo {
        model_id: embedder.model_id().into(),
        dimension: embedder.dimension(),
    };
    let store = EdgeStore::open(&index_dir, &info).unwrap();
    let options = IngestOptions {
        batch_size: 16,
        progress: false,
        cache: None,
        ..IngestOptions::default()
    };
    Indexing {
        corpus_dir,
        index_dir,
        counter,
        embedder,
        store,
        options,
    }
}

/// The chunks of the corpus in `corpus_dir` as it is on disk now.
fn chunks_in(corpus_dir: &std::path::Path, counter: &TokenCounter) -> Vec<hoiluat::chunk::Chunk> {
    let corpus = load_corpus(corpus_dir).unwrap();
    corpus_chunks(&corpus.documents, &|t| counter.passage_tokens(t))
}

/// The hybrid query for the five best chunks, with the service's default fusion.
fn top_five(embedder: &E5Embedder, question: &str, filter: SearchFilter) -> HybridQuery {
    HybridQuery {
        dense: embedder.embed_query(question).unwrap(),
        lexical: encode_query(question),
        filter,
        prefetch_limit: 20,
        limit: 5,
        rrf_k: 60,
        weights: [1.0, 1.0, 0.7],
    }
}

#[test]
fn reingest_is_incremental_and_validity_changes_do_not_reembed() {
    let dir = tempfile::tempdir().unwrap();
    let Indexing {
        corpus_dir,
        index_dir,
        counter,
        embedder,
        store,
        options,
    } = indexing(dir.path());
    let chunks_of = || {
        assert_eq!(load_corpus(&corpus_dir).unwrap().error_count(), 0);
        chunks_in(&corpus_dir, &counter)
    };

    let chunks = chunks_of();
    assert!(
        chunks
            .iter()
            .all(|c| counter.passage_tokens(&c.embed_text) <= 512),
        "a chunk exceeds the model's window"
    );
    let first = ingest(&chunks, &embedder, &store, &index_dir, &options).unwrap();
    assert_eq!(first.embedded, chunks.len());
    assert_eq!(store.count().unwrap(), chunks.len());
    assert!(is_up_to_date(&index_dir, &chunks, embedder.model_id()));

    let again = ingest(&chunks, &embedder, &store, &index_dir, &options).unwrap();
    assert_eq!(
        (again.embedded, again.refreshed, again.unchanged),
        (0, 0, chunks.len())
    );

    // The document loses its validity: every payload changes, no text does.
    let path = corpus_dir.join(DOCUMENT);
    let source = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        source.replace("tinh_trang: con_hieu_luc", "tinh_trang: het_hieu_luc"),
    )
    .unwrap();
    let changed = chunks_of();
    assert!(!is_up_to_date(&index_dir, &changed, embedder.model_id()));
    let refreshed = ingest(&changed, &embedder, &store, &index_dir, &options).unwrap();
    assert_eq!((refreshed.embedded, refreshed.refreshed), (0, chunks.len()));

    // Filters now see the new status.
    let question = "Hòa giải viên ở cơ sở được bầu như thế nào?";
    let query = |validity| {
        top_five(
            &embedder,
            question,
            SearchFilter {
                validity,
                ..SearchFilter::default()
            },
        )
    };
    assert!(store
        .query(&query(vec![hoiluat::corpus::Validity::InForce]))
        .unwrap()
        .is_empty());
    let hits = store
        .query(&query(vec![hoiluat::corpus::Validity::Expired]))
        .unwrap();
    assert!(!hits.is_empty());
    assert_eq!(hits[0].payload.validity, "het_hieu_luc");

    // An article removed from the corpus leaves the index.
    let source = std::fs::read_to_string(&path).unwrap();
    let cut = source
        .find("### Điều 33.")
        .or_else(|| source.find("Điều 33."))
        .expect("Điều 33 present");
    std::fs::write(&path, &source[..cut]).unwrap();
    let shorter = chunks_of();
    let removed = ingest(&shorter, &embedder, &store, &index_dir, &options).unwrap();
    assert_eq!(removed.embedded, 0);
    assert!(removed.deleted >= 1);
    assert_eq!(store.count().unwrap(), shorter.len());
}

/// Segments under an embedded index (the engine's layout: `shard/segments/<uuid>/`).
fn segment_count(index_dir: &std::path::Path) -> usize {
    std::fs::read_dir(index_dir.join("shard").join("segments"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().is_dir())
        .count()
}

#[test]
fn optimising_during_the_ingest_keeps_segments_apart_and_answers_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let Indexing {
        corpus_dir,
        index_dir,
        counter,
        embedder,
        store,
        mut options,
    } = indexing(dir.path());
    let cache = VectorCache::open(
        &dir.path().join("cache"),
        embedder.model_id(),
        embedder.dimension(),
    )
    .unwrap();
    options.cache = Some(Arc::new(cache));
    let chunks = chunks_in(&corpus_dir, &counter);
    assert!(chunks.len() > 30, "{} chunks", chunks.len());

    // Optimised once, at the end, as before.
    ingest(&chunks, &embedder, &store, &index_dir, &options).unwrap();
    store.optimize().unwrap();

    // Optimised every 4 chunks, from the same vectors, with a threshold small enough that each
    // step is indexed: several segments, none rebuilt whole again (up to 8 stay apart), the same
    // points and the same answers.
    let stepped_dir = dir.path().join("stepped");
    let stepped = EdgeStore::open_with(
        &stepped_dir,
        &CollectionInfo {
            model_id: embedder.model_id().into(),
            dimension: embedder.dimension(),
        },
        SegmentLimits {
            indexing_threshold_kb: 1,
            ..SegmentLimits::default()
        },
    )
    .unwrap();
    let stepped_options = IngestOptions {
        batch_size: 4,
        optimize_every: 4,
        ..options.clone()
    };
    let report = ingest(&chunks, &embedder, &stepped, &stepped_dir, &stepped_options).unwrap();
    assert_eq!(report.embedded, 0, "every vector came from the cache");
    stepped.optimize().unwrap();
    let segments = segment_count(&stepped_dir);
    assert!((5..=10).contains(&segments), "{segments} segments");
    assert_eq!(stepped.count().unwrap(), chunks.len());

    for question in [
        "Hòa giải viên ở cơ sở được bầu như thế nào?",
        "Tổ hòa giải có bao nhiêu người?",
        "Kinh phí cho công tác hòa giải ở cơ sở lấy từ đâu?",
    ] {
        let query = top_five(&embedder, question, SearchFilter::default());
        let ids = |hits: Vec<hoiluat::store::Hit>| -> Vec<uuid::Uuid> {
            hits.into_iter().map(|h| h.id).collect()
        };
        assert_eq!(
            ids(stepped.query(&query).unwrap()),
            ids(store.query(&query).unwrap()),
            "{question}"
        );
    }
}

#[test]
fn the_engines_write_ahead_log_is_trimmed_on_open_and_later_updates_still_apply() {
    let dir = tempfile::tempdir().unwrap();
    let Indexing {
        corpus_dir,
        index_dir,
        counter,
        embedder,
        store,
        ..
    } = indexing(dir.path());
    let info = CollectionInfo {
        model_id: embedder.model_id().into(),
        dimension: embedder.dimension(),
    };
    let chunks = chunks_in(&corpus_dir, &counter);
    let texts: Vec<String> = chunks.iter().map(|c| c.embed_text.clone()).collect();
    let vectors = embedder.embed_passages(&texts).unwrap();
    // 2,500 points of about 33 KB each: more than two of the log's 32 MiB files.
    let padding = "Hòa giải ở cơ sở. ".repeat(1_500);
    let records: Vec<ChunkRecord> = (0..2_500u128)
        .map(|i| {
            let k = i as usize % chunks.len();
            let mut payload = chunks[k].payload.clone();
            payload.text = format!("{}{padding}", payload.text);
            payload.fingerprint = format!("v1-{i}");
            ChunkRecord {
                id: uuid::Uuid::from_u128(i + 1),
                dense: vectors[k].clone(),
                lexical: encode_document(&chunks[k].embed_text),
                payload,
            }
        })
        .collect();
    for batch in records.chunks(100) {
        store.upsert(batch.to_vec()).unwrap();
    }
    store.flush().unwrap();
    drop(store);

    let log = index_dir.join("shard").join("wal");
    let closed_files = || {
        std::fs::read_dir(&log)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("closed-")
            })
            .count()
    };
    assert!(closed_files() >= 2, "{} closed log files", closed_files());
    let store = EdgeStore::open(&index_dir, &info).unwrap();
    assert_eq!(closed_files(), 1, "only the newest closed file stays");
    assert_eq!(store.count().unwrap(), records.len());

    // The log's numbering carried on: an update after the trim is newer than the stored point,
    // so the engine applies it (a restarted numbering would be ignored as an old operation).
    let mut changed = records[7].clone();
    changed.payload.fingerprint = "v2".into();
    store.upsert(vec![changed]).unwrap();
    store.delete(&[records[8].id]).unwrap();
    store.flush().unwrap();
    drop(store);
    let store = EdgeStore::open(&index_dir, &info).unwrap();
    let fingerprints = store.fingerprints().unwrap();
    assert_eq!(fingerprints[&records[7].id].as_deref(), Some("v2"));
    assert!(!fingerprints.contains_key(&records[8].id));
    assert_eq!(store.count().unwrap(), records.len() - 1);
}

#[test]
fn index_of_another_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let built_for = CollectionInfo {
        model_id: "multilingual-e5-small/0000000000000000".into(),
        dimension: 384,
    };
    drop(EdgeStore::open(dir.path(), &built_for).unwrap());
    let other = CollectionInfo {
        model_id: "another-model".into(),
        dimension: 768,
    };
    match EdgeStore::open(dir.path(), &other) {
        Err(StoreError::ModelMismatch {
            found_model,
            expected_dimension,
            ..
        }) => {
            assert_eq!(found_model, built_for.model_id);
            assert_eq!(expected_dimension, 768);
        }
        Err(other) => panic!("expected a model mismatch, got {other}"),
        Ok(_) => panic!("expected a model mismatch"),
    }
    // Through the app too: a configured model that differs from the index is a clear start-up error.
    let error = StoreError::ModelMismatch {
        path: "x".into(),
        found_model: "a".into(),
        found_dimension: 384,
        expected_model: "b".into(),
        expected_dimension: 768,
    };
    assert!(error.to_string().contains("hoiluat ingest --rebuild"));
}

#[test]
fn a_second_handle_on_the_same_index_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let info = CollectionInfo {
        model_id: "m".into(),
        dimension: 4,
    };
    let _first = EdgeStore::open(dir.path(), &info).unwrap();
    match EdgeStore::open(dir.path(), &info) {
        Err(StoreError::Locked { .. }) => {}
        Err(other) => panic!("expected Locked, got {other}"),
        Ok(_) => panic!("expected Locked"),
    }
}

#[test]
fn start_up_reuses_an_up_to_date_index() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = common::corpus_with(dir.path(), &[DOCUMENT]);
    let config = common::config_for(dir.path(), &corpus);
    let first = app::start(&config, IndexMode::IngestIfNeeded, false).unwrap();
    assert!(first.ingest_report.is_some());
    drop(first);
    let second = app::start(&config, IndexMode::IngestIfNeeded, false).unwrap();
    assert!(
        second.ingest_report.is_none(),
        "an unchanged corpus must not be ingested again"
    );
    let _ = Arc::clone(&second.assistant);
}

/// A question only an expired law answers is declined with a pointer to that law and to what
/// replaced it; configured to include expired texts, it is answered with a warning and flagged.
#[test]
fn expired_law_is_named_not_quoted() {
    use hoiluat::answer::{Outcome, NOT_IN_FORCE_ONLY};

    let question = "Hòa giải viên ở cơ sở được bầu như thế nào?";
    let dir = tempfile::tempdir().unwrap();
    let corpus = common::corpus_with(dir.path(), &[DOCUMENT]);
    let path = corpus.join(DOCUMENT);
    let source = std::fs::read_to_string(&path).unwrap();
    let expired = source.replace(
        "tinh_trang: con_hieu_luc",
        "tinh_trang: het_hieu_luc\nbi_thay_the_boi: [99/2026/QH15]",
    );
    std::fs::write(&path, expired).unwrap();
    let mut config = common::config_for(dir.path(), &corpus);

    let started = app::start(&config, IndexMode::IngestIfNeeded, false).unwrap();
    let answer = started.assistant.ask_blocking(question, None).unwrap();
    assert_eq!(
        answer.outcome,
        Outcome::Declined {
            category: Some(NOT_IN_FORCE_ONLY.into())
        },
        "{}",
        answer.text
    );
    assert!(answer.quotes.is_empty());
    assert!(answer.needs_review);
    assert!(
        answer
            .text
            .contains("Luật Hòa giải ở cơ sở số 35/2013/QH13"),
        "{}",
        answer.text
    );
    assert!(answer.text.contains("hết hiệu lực"), "{}", answer.text);
    assert!(answer.text.contains("99/2026/QH15"), "{}", answer.text);
    drop(started);

    config.retrieval.include_expired = true;
    let started = app::start(&config, IndexMode::IngestIfNeeded, false).unwrap();
    let answer = started.assistant.ask_blocking(question, None).unwrap();
    assert_eq!(answer.outcome, Outcome::Answered);
    assert!(
        answer.needs_review,
        "a quote of an expired law must be reviewed"
    );
    assert!(
        answer.notices.iter().any(|n| n.contains("hết hiệu lực")),
        "{:?}",
        answer.notices
    );
}

/// `serve` on a first start: the loose files (the curated core) are indexed before the service
/// answers, the compendium bundle after, in the background; answers meanwhile come from what is
/// indexed; when it is done the index is complete, and the next start neither chunks nor embeds.
#[test]
fn core_first_then_the_bundle_in_the_background() {
    use hoiluat::answer::Outcome;
    use hoiluat::corpus::load::BUNDLE_SEPARATOR;

    let dir = tempfile::tempdir().unwrap();
    let corpus = common::corpus_with(dir.path(), &[DOCUMENT]);
    let bundled = "---
so_hieu: 46/2019/QH14
ten: Luật Thư viện
loai_van_ban: Luật
co_quan_ban_hanh: Quốc hội
ngay_ban_hanh: 2019-11-21
ngay_hieu_luc: 2020-07-01
tinh_trang: theo_phap_dien
pham_vi: toan_quoc
linh_vuc: [van-hoa-the-thao-du-lich]
nguon: test
cap_nhat_den: 2025-11-14
---
### Điều 26. Quyền của người sử dụng thư viện
1. Người sử dụng thư viện được sử dụng tài nguyên thông tin và tiện ích thư viện miễn phí hoặc có trả phí theo nội quy thư viện.
2. Người khuyết tật được tiếp cận tài nguyên thông tin theo quy định.
";
    let bundle = format!("{BUNDLE_SEPARATOR}luat-46-2019-qh14.md\n{bundled}");
    std::fs::write(
        corpus.join("phap-dien.md.zst"),
        zstd::stream::encode_all(bundle.as_bytes(), 3).unwrap(),
    )
    .unwrap();
    let config = common::config_for(dir.path(), &corpus);
    let question = "Người sử dụng thư viện có phải trả phí không?";

    let first = app::start_with(
        &config,
        IndexMode::CoreFirst,
        false,
        Arc::new(hoiluat::ingest::IngestProgress::default()),
    )
    .unwrap();
    let background = first
        .background
        .expect("the bundle is left to the background");
    assert!(background.remaining() > 0);
    let progress = first.progress.snapshot();
    assert!(!progress.complete);
    assert!(progress.indexed_chunks < progress.total_chunks);
    assert!(
        first
            .assistant
            .library()
            .article("46-2019-qh14.dieu-26")
            .is_some(),
        "the library holds every document from the start"
    );
    let before = first.assistant.ask_blocking(question, None).unwrap();
    assert!(
        before
            .quotes
            .iter()
            .all(|q| q.citation.so_hieu != "46/2019/QH14"),
        "nothing is quoted from a document not yet indexed"
    );

    background.run(&first.assistant).unwrap();
    assert!(first.progress.snapshot().complete);
    let after = first.assistant.ask_blocking(question, None).unwrap();
    assert_eq!(after.outcome, Outcome::Answered, "{}", after.text);
    assert_eq!(after.quotes[0].citation.so_hieu, "46/2019/QH14");
    assert!(
        after.quotes[0]
            .citation
            .text
            .contains("theo Bộ Pháp điển, cập nhật đến 14/11/2025"),
        "{}",
        after.quotes[0].citation.text
    );
    // Close the index (one handle per process) before starting again.
    drop(first.assistant);
    drop(first.store);

    let second = app::start(&config, IndexMode::IngestIfNeeded, false).unwrap();
    assert!(
        second.ingest_report.is_none(),
        "the complete index is reused"
    );
    assert!(second.progress.snapshot().complete);
    assert!(second.background.is_none());
}

/// Watches a re-index from inside the embedder: whenever new chunks are embedded, the chunks they
/// replace must still be in the store, so the changed document stays searchable meanwhile.
struct Watching<'a> {
    inner: &'a E5Embedder,
    store: &'a EdgeStore,
    replaced: std::collections::HashSet<uuid::Uuid>,
    gone_while_embedding: std::sync::atomic::AtomicUsize,
}

impl Embedder for Watching<'_> {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    fn embed_passages(
        &self,
        texts: &[String],
    ) -> Result<Vec<Vec<f32>>, hoiluat::embed::EmbedError> {
        let stored = self.store.fingerprints().unwrap();
        let gone = self
            .replaced
            .iter()
            .filter(|id| !stored.contains_key(id))
            .count();
        self.gone_while_embedding
            .fetch_max(gone, std::sync::atomic::Ordering::SeqCst);
        self.inner.embed_passages(texts)
    }
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, hoiluat::embed::EmbedError> {
        self.inner.embed_query(text)
    }
}

/// A changed article is re-indexed without a gap: its new chunks are written first, and only
/// then are the old ones removed.
#[test]
fn a_changed_article_stays_searchable_while_it_is_reindexed() {
    let dir = tempfile::tempdir().unwrap();
    let Indexing {
        corpus_dir,
        index_dir,
        counter,
        embedder,
        store,
        options,
    } = indexing(dir.path());
    let chunks_of = || chunks_in(&corpus_dir, &counter);
    let before = chunks_of();
    ingest(&before, &embedder, &store, &index_dir, &options).unwrap();

    // Staff correct a word of one article: its chunks get new ids (ids come from the text).
    let path = corpus_dir.join(DOCUMENT);
    let source = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        source.replacen("hòa giải viên", "hoà giải viên ở cơ sở", 1),
    )
    .unwrap();
    let after = chunks_of();
    let new_ids: std::collections::HashSet<_> = after.iter().map(|c| c.id).collect();
    let replaced: std::collections::HashSet<_> = before
        .iter()
        .map(|c| c.id)
        .filter(|id| !new_ids.contains(id))
        .collect();
    assert!(!replaced.is_empty(), "the edit changed no chunk");

    let watching = Watching {
        inner: &embedder,
        store: &store,
        replaced: replaced.clone(),
        gone_while_embedding: Default::default(),
    };
    let report = ingest(&after, &watching, &store, &index_dir, &options).unwrap();
    assert!(report.embedded >= 1);
    assert_eq!(
        watching
            .gone_while_embedding
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "old chunks were deleted before their replacements were embedded"
    );
    // Once the new chunks are in, the old ones are gone.
    let stored = store.fingerprints().unwrap();
    assert!(replaced.iter().all(|id| !stored.contains_key(id)));
    assert_eq!(store.count().unwrap(), after.len());
}

/// The shipped core vectors (`corpus/core-vectors.hlvc`) are the real model's vectors of today's
/// core chunks: a first start seeded with them answers as if it had embedded the core itself.
#[test]
fn the_shipped_core_vectors_are_the_models_vectors_of_the_core() {
    let dir = tempfile::tempdir().unwrap();
    let corpus_dir = common::repo().join("corpus");
    let config = common::config_for(dir.path(), &corpus_dir);
    let chunks = app::core_chunks(&config).unwrap();
    let embedder = E5Embedder::load(&ModelPaths::under(&common::models_dir()), 2).unwrap();
    let cache = VectorCache::open(
        &dir.path().join("cache"),
        embedder.model_id(),
        embedder.dimension(),
    )
    .unwrap();
    cache
        .import(&corpus_dir.join(app::SHIPPED_VECTORS_FILE))
        .expect("the shipped vectors are made with the shipped model");

    let shipped: Vec<(&hoiluat::chunk::Chunk, Vec<f32>)> = chunks
        .iter()
        .filter_map(|chunk| Some((chunk, cache.get(&vector_cache::key(&chunk.embed_text))?)))
        .collect();
    assert!(
        shipped.len() * 100 >= chunks.len() * 98,
        "{} of {} core chunks have a shipped vector: regenerate it with \
         `hoiluat ingest && hoiluat cache export --core corpus/core-vectors.hlvc`",
        shipped.len(),
        chunks.len()
    );
    // Every 300th chunk, embedded now, gets its shipped vector. Passages are embedded one at a
    // time, so a vector depends on its text alone; the bound leaves room for another processor's
    // integer kernels to round otherwise. (When passages were embedded in batches, a vector
    // depended on its batch mates, and two batchings differed down to a cosine of 0.996.)
    let sample: Vec<&(&hoiluat::chunk::Chunk, Vec<f32>)> = shipped.iter().step_by(300).collect();
    let texts: Vec<String> = sample
        .iter()
        .map(|(chunk, _)| chunk.embed_text.clone())
        .collect();
    let computed = embedder.embed_passages(&texts).unwrap();
    for ((chunk, stored), now) in sample.iter().zip(&computed) {
        let cosine: f32 = stored.iter().zip(now).map(|(a, b)| a * b).sum::<f32>()
            / (stored.iter().map(|a| a * a).sum::<f32>().sqrt()
                * now.iter().map(|b| b * b).sum::<f32>().sqrt());
        assert!(
            cosine > 0.9999,
            "{}: cosine {cosine}: regenerate the shipped vectors with `hoiluat ingest && hoiluat \
             cache export --core corpus/core-vectors.hlvc`",
            chunk.payload.article_id
        );
    }
}
