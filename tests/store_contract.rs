//! One contract for every [`VectorStore`]: the same cases run against the embedded engine always,
//! and against a Qdrant server when `QDRANT_URL` is set (e.g. `QDRANT_URL=http://127.0.0.1:6334`,
//! optional `QDRANT_API_KEY`); there they also check that the server returns the same results as
//! the embedded engine on the same data.
//!
//! A custom harness (libtest-mimic) so that, without `QDRANT_URL`, the server cases are reported as
//! "ignored", never as passed. Data are real: chunks of the shipped corpus embedded by the real
//! model, encoded by the real lexical encoder.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use hoiluat::config::StoreConfig;
use hoiluat::corpus::{load_corpus, Validity};
use hoiluat::embed::{E5Embedder, Embedder, ModelPaths, TokenCounter};
use hoiluat::ingest::corpus_chunks;
use hoiluat::lexical::{encode_document, encode_query, LexicalVectors, SparseVector};
use hoiluat::store::edge::EdgeStore;
use hoiluat::store::qdrant::QdrantStore;
use hoiluat::store::{
    ChunkRecord, CollectionInfo, HybridQuery, SearchFilter, StoreError, VectorStore,
};
use libtest_mimic::{Arguments, Failed, Trial};
use uuid::Uuid;

/// Marriage and family law (national) and the Quảng Ngãi plan (provincial).
const FILES: &[&str] = &[
    "luat-52-2014-qh13.md",
    "ke-hoach-137-kh-ubnd-2025-quang-ngai.md",
];
const PROVINCE_SCOPE: &str = "tinh:quang-ngai";
/// Questions whose results are compared across backends; the first one's answer is known.
const QUESTIONS: &[&str] = &[
    "Nam nữ bao nhiêu tuổi thì được kết hôn?",
    "Những trường hợp nào bị cấm kết hôn?",
    "Tài sản chung của vợ chồng gồm những gì?",
    "Ai có quyền yêu cầu ly hôn?",
    "Nghĩa vụ cấp dưỡng cho con sau ly hôn",
    "thu tuc ly hon",
    "Quảng Ngãi triển khai kế hoạch như thế nào?",
    "Cha mẹ có quyền và nghĩa vụ gì với con chưa thành niên?",
];

/// A way to get a fresh, empty store of one backend.
#[derive(Clone)]
enum Backend {
    Embedded,
    Server { url: String },
}

/// A store plus what must live as long as it (the embedded store's directory).
struct Opened {
    store: Box<dyn VectorStore>,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Embedded => "embedded",
            Backend::Server { .. } => "qdrant",
        }
    }

    /// A new, empty store for `info`, under a unique name.
    fn fresh(&self, info: &CollectionInfo) -> Opened {
        let place = Place::new();
        let store = self.open_at(&place, info).expect("open a fresh store");
        Opened {
            store,
            _dir: place.dir,
        }
    }

    /// Opens (or reopens) the store at `place` for `info`.
    fn open_at(
        &self,
        place: &Place,
        info: &CollectionInfo,
    ) -> Result<Box<dyn VectorStore>, StoreError> {
        match self {
            Backend::Embedded => Ok(Box::new(EdgeStore::open(&place.path(), info)?)),
            Backend::Server { url } => Ok(Box::new(QdrantStore::open(
                &server_config(url, &place.collection),
                info,
            )?)),
        }
    }
}

/// Where one store lives: a temporary directory (embedded) or a unique collection name (server).
struct Place {
    dir: Option<tempfile::TempDir>,
    collection: String,
}

impl Place {
    fn new() -> Place {
        Place {
            dir: Some(tempfile::tempdir().unwrap()),
            collection: format!("hoiluat-contract-{}", Uuid::new_v4().simple()),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.as_ref().unwrap().path().join("index")
    }
}

fn server_config(url: &str, collection: &str) -> StoreConfig {
    StoreConfig {
        kind: hoiluat::config::StoreKind::Qdrant,
        url: url.into(),
        api_key: std::env::var("QDRANT_API_KEY").ok(),
        collection: collection.into(),
        ..StoreConfig::default()
    }
}

/// Real chunks with real vectors, and real query vectors, computed once per process.
struct Data {
    info: CollectionInfo,
    records: Vec<ChunkRecord>,
    queries: Vec<(String, Vec<f32>)>,
}

fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let corpus_dir = common::corpus_with(dir.path(), FILES);
        let paths = ModelPaths::under(&common::models_dir());
        let counter = TokenCounter::load(&paths.tokenizer_file()).unwrap();
        let embedder = E5Embedder::load(&paths, 2).unwrap();
        let corpus = load_corpus(&corpus_dir).unwrap();
        let chunks = corpus_chunks(&corpus.documents, &|t| counter.passage_tokens(t));
        let texts: Vec<String> = chunks.iter().map(|c| c.embed_text.clone()).collect();
        let vectors = embedder.embed_passages(&texts).unwrap();
        let records = chunks
            .into_iter()
            .zip(vectors)
            .map(|(chunk, dense)| ChunkRecord {
                id: chunk.id,
                dense,
                // Exactly as ingest encodes a chunk.
                lexical: encode_document(&chunk.embed_text),
                payload: chunk.payload,
            })
            .collect();
        let queries = QUESTIONS
            .iter()
            .map(|q| (q.to_string(), embedder.embed_query(q).unwrap()))
            .collect();
        Data {
            info: CollectionInfo {
                model_id: embedder.model_id().into(),
                dimension: embedder.dimension(),
            },
            records,
            queries,
        }
    })
}

fn query_for(question: &str, dense: &[f32], filter: SearchFilter) -> HybridQuery {
    HybridQuery {
        dense: dense.to_vec(),
        lexical: encode_query(question),
        filter,
        prefetch_limit: 40,
        limit: 10,
        rrf_k: 60,
        weights: [1.0, 1.0, 0.7],
    }
}

/// A store holding every real record.
fn loaded(backend: &Backend) -> Opened {
    let data = data();
    let opened = backend.fresh(&data.info);
    for batch in data.records.chunks(64) {
        opened.store.upsert(batch.to_vec()).unwrap();
    }
    opened.store.flush().unwrap();
    opened
}

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

// ---- The contract ------------------------------------------------------------------------------

fn writes_are_read_back(backend: &Backend) -> Result<(), Failed> {
    let data = data();
    let opened = loaded(backend);
    let store = opened.store.as_ref();
    check(store.count()? == data.records.len(), || {
        "count after upsert".into()
    })?;

    let fingerprints = store.fingerprints()?;
    check(fingerprints.len() == data.records.len(), || {
        "one fingerprint per point".into()
    })?;
    for record in &data.records {
        let found = fingerprints.get(&record.id).cloned().flatten();
        check(
            found.as_deref() == Some(record.payload.fingerprint.as_str()),
            || format!("fingerprint of {}", record.id),
        )?;
    }

    let some: Vec<Uuid> = data.records.iter().take(5).map(|r| r.id).collect();
    let missing = Uuid::new_v4();
    let mut asked = some.clone();
    asked.push(missing);
    let dense = store.dense_vectors(&asked)?;
    check(dense.len() == 5 && !dense.contains_key(&missing), || {
        "dense vectors of the stored ids only".into()
    })?;
    for record in data.records.iter().take(5) {
        let stored = &dense[&record.id];
        // Cosine storage normalises; e5 vectors are already unit length.
        let close = stored
            .iter()
            .zip(&record.dense)
            .all(|(a, b)| (a - b).abs() < 1e-4);
        check(close, || format!("dense vector of {} changed", record.id))?;
    }

    store.delete(&some)?;
    check(store.count()? == data.records.len() - 5, || {
        "count after delete".into()
    })?;
    let left = store.fingerprints()?;
    check(some.iter().all(|id| !left.contains_key(id)), || {
        "deleted ids are gone".into()
    })?;
    store.delete(&[])?;
    store.upsert(Vec::new())?;
    Ok(())
}

fn hybrid_query_finds_the_article_best_first(backend: &Backend) -> Result<(), Failed> {
    let data = data();
    let opened = loaded(backend);
    let (question, dense) = &data.queries[0];
    let hits = opened
        .store
        .query(&query_for(question, dense, SearchFilter::default()))?;
    check(!hits.is_empty() && hits.len() <= 10, || {
        format!("{} hits", hits.len())
    })?;
    check(hits[0].payload.article_id == "52-2014-qh13.dieu-8", || {
        format!("top hit {} for {question}", hits[0].payload.article_id)
    })?;
    check(
        hits[0]
            .dense
            .as_ref()
            .is_some_and(|d| d.len() == data.info.dimension),
        || "hits carry their dense vector".into(),
    )?;
    let ordered = hits
        .windows(2)
        .all(|w| w[0].score > w[1].score || (w[0].score == w[1].score && w[0].id < w[1].id));
    check(ordered, || "hits are ordered by score, then id".into())
}

/// Two points that exchange ranks between two equally weighted channels get the same RRF score;
/// the one with the smaller id must come first on every backend.
fn rrf_ties_are_broken_by_id(backend: &Backend) -> Result<(), Failed> {
    let data = data();
    let opened = backend.fresh(&data.info);
    let template = &data.records[0];
    let query_dense = data.queries[0].1.clone();
    // A is the query vector itself (dense rank 1); B is close to it (dense rank 2).
    let mut near = query_dense.clone();
    near[0] += 0.05;
    normalise(&mut near);
    // A rare term only A and B hold; B weighs it more (lexical rank 1), A less (rank 2).
    let term = 4_000_000_007u32;
    let lexical = |weight: f32| LexicalVectors {
        toned: SparseVector {
            indices: vec![term],
            values: vec![weight],
        },
        plain: SparseVector::default(),
    };
    // Ids chosen so that the smaller id is B, the lexical winner, inserted last.
    let a = Uuid::from_u128(0xffff_0000_0000_0000_0000_0000_0000_0001);
    let b = Uuid::from_u128(0x0000_0000_0000_0000_0000_0000_0000_0002);
    let mut far = query_dense.iter().map(|x| -x).collect::<Vec<f32>>();
    normalise(&mut far);
    let point = |id: Uuid, dense: Vec<f32>, lexical: LexicalVectors| ChunkRecord {
        id,
        dense,
        lexical,
        payload: template.payload.clone(),
    };
    opened.store.upsert(vec![
        point(a, query_dense.clone(), lexical(0.5)),
        point(Uuid::new_v4(), far, LexicalVectors::default()),
    ])?;
    opened.store.upsert(vec![point(b, near, lexical(1.5))])?;
    let query = HybridQuery {
        dense: query_dense,
        lexical: lexical(1.0),
        filter: SearchFilter::default(),
        prefetch_limit: 10,
        limit: 3,
        rrf_k: 60,
        weights: [1.0, 1.0, 0.0],
    };
    let hits = opened.store.query(&query)?;
    check(hits.len() >= 2, || format!("{} hits", hits.len()))?;
    check(hits[0].score == hits[1].score, || {
        format!(
            "expected a tie, got {} and {}",
            hits[0].score, hits[1].score
        )
    })?;
    check(hits[0].id == b && hits[1].id == a, || {
        "the tie goes to the smaller id".into()
    })
}

fn filters_restrict_scope_validity_and_type(backend: &Backend) -> Result<(), Failed> {
    let data = data();
    let opened = loaded(backend);
    let (question, dense) = &data.queries[6];
    let provincial = SearchFilter {
        scopes: vec![PROVINCE_SCOPE.into()],
        ..SearchFilter::default()
    };
    let hits = opened
        .store
        .query(&query_for(question, dense, provincial))?;
    check(!hits.is_empty(), || "the provincial plan is found".into())?;
    check(
        hits.iter().all(|h| h.payload.scope == PROVINCE_SCOPE),
        || "only provincial hits".into(),
    )?;

    let (question, dense) = &data.queries[0];
    let national_law = SearchFilter {
        scopes: vec!["toan_quoc".into()],
        document_types: vec!["Luật".into()],
        validity: vec![Validity::InForce, Validity::PartlyExpired],
        ..SearchFilter::default()
    };
    let hits = opened
        .store
        .query(&query_for(question, dense, national_law))?;
    check(!hits.is_empty(), || "the law is found".into())?;
    check(
        hits.iter()
            .all(|h| h.payload.scope == "toan_quoc" && h.payload.document_type == "Luật"),
        || "only national laws".into(),
    )?;

    let expired_only = SearchFilter {
        validity: vec![Validity::Expired],
        ..SearchFilter::default()
    };
    let hits = opened
        .store
        .query(&query_for(question, dense, expired_only))?;
    check(hits.is_empty(), || "nothing in the data is expired".into())
}

/// Rewriting a payload (a validity change) without re-embedding: the new fingerprint is read back,
/// filters see the new validity, the dense vector is unchanged.
fn payload_refresh_is_visible(backend: &Backend) -> Result<(), Failed> {
    let data = data();
    let opened = loaded(backend);
    let (question, dense) = &data.queries[0];
    let top = opened
        .store
        .query(&query_for(question, dense, SearchFilter::default()))?[0]
        .clone();
    let mut record = data
        .records
        .iter()
        .find(|r| r.id == top.id)
        .unwrap()
        .clone();
    record.payload.validity = Validity::Expired.slug().into();
    record.payload.fingerprint = format!("{}-expired", record.payload.fingerprint);
    opened.store.upsert(vec![record.clone()])?;

    let fingerprints = opened.store.fingerprints()?;
    check(
        fingerprints[&record.id].as_deref() == Some(record.payload.fingerprint.as_str()),
        || "the new fingerprint is read back".into(),
    )?;
    let in_force = SearchFilter {
        validity: vec![Validity::InForce],
        ..SearchFilter::default()
    };
    let hits = opened.store.query(&query_for(question, dense, in_force))?;
    check(hits.iter().all(|h| h.id != record.id), || {
        "an expired chunk is filtered out".into()
    })?;
    let expired = SearchFilter {
        validity: vec![Validity::Expired],
        ..SearchFilter::default()
    };
    let hits = opened.store.query(&query_for(question, dense, expired))?;
    check(hits.len() == 1 && hits[0].id == record.id, || {
        "only the expired chunk".into()
    })?;
    check(opened.store.count()? == data.records.len(), || {
        "a refresh adds no point".into()
    })
}

fn another_model_is_refused(backend: &Backend) -> Result<(), Failed> {
    let data = data();
    let place = Place::new();
    {
        let store = backend.open_at(&place, &data.info)?;
        store.upsert(data.records[..3].to_vec())?;
        store.flush()?;
    }
    let other = CollectionInfo {
        model_id: "another-model".into(),
        dimension: 768,
    };
    match backend.open_at(&place, &other) {
        Err(StoreError::ModelMismatch {
            found_model,
            found_dimension,
            ..
        }) => check(
            found_model == data.info.model_id && found_dimension == data.info.dimension,
            || "the mismatch names the stored model".into(),
        ),
        Err(other) => Err(format!("expected ModelMismatch, got {other}").into()),
        Ok(_) => Err("a store built for another model opened".into()),
    }?;
    // The same model reopens and sees its points.
    let again = backend.open_at(&place, &data.info)?;
    check(again.count()? == 3, || "points survive reopening".into())
}

fn export_returns_every_point_whole(backend: &Backend) -> Result<(), Failed> {
    let data = data();
    let opened = loaded(backend);
    let mut exported = Vec::new();
    opened.store.export(50, &mut |batch| {
        assert!(batch.len() <= 50);
        exported.extend(batch);
        Ok(())
    })?;
    check(exported.len() == data.records.len(), || {
        format!("{} exported", exported.len())
    })?;
    for record in &exported {
        let original = data.records.iter().find(|r| r.id == record.id).unwrap();
        check(record.payload == original.payload, || {
            format!("payload of {}", record.id)
        })?;
        check(record.lexical == original.lexical, || {
            format!("sparse vectors of {}", record.id)
        })?;
        let close = record
            .dense
            .iter()
            .zip(&original.dense)
            .all(|(a, b)| (a - b).abs() < 1e-4);
        check(close, || format!("dense vector of {}", record.id))?;
    }
    Ok(())
}

/// The server returns what the embedded engine returns, on the same data and queries.
fn same_results_as_embedded(server: &Backend) -> Result<(), Failed> {
    let data = data();
    let embedded = loaded(&Backend::Embedded);
    let remote = loaded(server);
    let filters = [
        SearchFilter::default(),
        SearchFilter {
            scopes: vec!["toan_quoc".into()],
            ..SearchFilter::default()
        },
    ];
    for (question, dense) in &data.queries {
        for filter in &filters {
            let query = query_for(question, dense, filter.clone());
            let expected = embedded.store.query(&query)?;
            let found = remote.store.query(&query)?;
            let ids = |hits: &[hoiluat::store::Hit]| hits.iter().map(|h| h.id).collect::<Vec<_>>();
            check(ids(&expected) == ids(&found), || {
                format!(
                    "{question:?}: embedded {:?} vs server {:?}",
                    ids(&expected),
                    ids(&found)
                )
            })?;
            let same_scores = expected
                .iter()
                .zip(&found)
                .all(|(a, b)| (a.score - b.score).abs() < 1e-6);
            check(same_scores, || format!("{question:?}: scores differ"))?;
        }
    }
    Ok(())
}

fn normalise(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    vector.iter_mut().for_each(|x| *x /= norm);
}

// ---- Harness -----------------------------------------------------------------------------------

type Case = fn(&Backend) -> Result<(), Failed>;

const CONTRACT: &[(&str, Case)] = &[
    ("writes_are_read_back", writes_are_read_back),
    (
        "hybrid_query_finds_the_article_best_first",
        hybrid_query_finds_the_article_best_first,
    ),
    ("rrf_ties_are_broken_by_id", rrf_ties_are_broken_by_id),
    (
        "filters_restrict_scope_validity_and_type",
        filters_restrict_scope_validity_and_type,
    ),
    ("payload_refresh_is_visible", payload_refresh_is_visible),
    ("another_model_is_refused", another_model_is_refused),
    (
        "export_returns_every_point_whole",
        export_returns_every_point_whole,
    ),
];

fn main() {
    let arguments = Arguments::from_args();
    let server_url = std::env::var("QDRANT_URL").ok().filter(|u| !u.is_empty());
    let server = Backend::Server {
        url: server_url.clone().unwrap_or_default(),
    };
    let mut trials = Vec::new();
    for backend in [Backend::Embedded, server.clone()] {
        let absent = matches!(backend, Backend::Server { .. }) && server_url.is_none();
        for (name, case) in CONTRACT {
            let backend = backend.clone();
            let trial = Trial::test(format!("{}::{name}", backend.name()), move || {
                case(&backend)
            });
            trials.push(trial.with_ignored_flag(absent));
        }
    }
    let cross = Trial::test("qdrant::same_results_as_embedded", move || {
        same_results_as_embedded(&server)
    });
    trials.push(cross.with_ignored_flag(server_url.is_none()));
    // Unique names, so a filter on the command line selects exactly what it names.
    let names: HashSet<String> = trials.iter().map(|t| t.name().to_owned()).collect();
    assert_eq!(names.len(), trials.len());
    libtest_mimic::run(&arguments, trials).exit();
}
