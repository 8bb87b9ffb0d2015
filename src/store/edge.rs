//! [`VectorStore`] on Qdrant's embedded engine (`qdrant-edge`), persisted in a data directory.
//!
//! Layout of the directory: `shard/` (Qdrant's own files) and `collection.json` (the model id and
//! dimension the vectors come from, written before the first point).

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use qdrant_edge::{
    CreateIndex, Distance, EdgeConfigBuilder, EdgeOptimizersConfig, EdgeShard,
    EdgeSparseVectorParams, EdgeVectorParams, FieldIndexOperations, Filter, Fusion, JsonPath,
    Modifier, NamedQuery, PayloadFieldSchema, PayloadSchemaType, PointId, PointInsertOperations,
    PointOperations, PointStruct, Prefetch, QueryEnum, QueryRequest, ScoredPoint, ScoringQuery,
    ScrollRequest, UpdateOperation, Vector, VectorInternal, VectorStructInternal, Vectors,
    WithPayloadInterface, WithVector,
};
use serde_json::json;
use uuid::Uuid;

use super::payload::INDEXED_FIELDS;
use super::{
    ChannelSearch, ChannelVector, ChunkPayload, ChunkRecord, CollectionInfo, Hit, HybridQuery,
    SearchFilter, StoreError, VectorStore, DENSE_VECTOR, PLAIN_VECTOR, TONED_VECTOR,
};
use crate::lexical::SparseVector;

const COLLECTION_FILE: &str = "collection.json";
const SHARD_DIR: &str = "shard";
/// The engine's write-ahead log, inside the shard directory.
const WAL_DIR: &str = "wal";
const SCROLL_PAGE: usize = 1_000;

pub struct EdgeStore {
    shard: EdgeShard,
    info: CollectionInfo,
    /// qdrant-edge's `flush` takes its locks with `try_lock().expect(..)`, so a flush racing an
    /// update or an optimisation panics. Every write goes through this mutex; reads do not.
    writes: Mutex<()>,
}

impl EdgeStore {
    /// Opens the store in `dir`, creating it for `expected` when it does not exist. An existing store
    /// built for another model or dimension is an error, not silently wrong results.
    pub fn open(dir: &Path, expected: &CollectionInfo) -> Result<EdgeStore, StoreError> {
        EdgeStore::open_with(dir, expected, SegmentLimits::default())
    }

    /// [`EdgeStore::open`] with other segment limits (tests use small ones, to see a small corpus
    /// split into segments the way the whole corpus is).
    pub fn open_with(
        dir: &Path,
        expected: &CollectionInfo,
        limits: SegmentLimits,
    ) -> Result<EdgeStore, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| engine(format!("create {}: {e}", dir.display())))?;
        let info_path = dir.join(COLLECTION_FILE);
        let shard_path = dir.join(SHARD_DIR);
        let info = match read_collection_info(&info_path)? {
            Some(found) => {
                if found != *expected {
                    return Err(StoreError::ModelMismatch {
                        path: dir.display().to_string(),
                        found_model: found.model_id,
                        found_dimension: found.dimension,
                        expected_model: expected.model_id.clone(),
                        expected_dimension: expected.dimension,
                    });
                }
                found
            }
            None => {
                // A shard without its collection file was never used for points (the file is
                // written first), so it is safe to start it over.
                if shard_path.exists() {
                    std::fs::remove_dir_all(&shard_path).map_err(|e| engine(e.to_string()))?;
                }
                write_collection_info(&info_path, expected)?;
                expected.clone()
            }
        };

        std::fs::create_dir_all(&shard_path).map_err(|e| engine(e.to_string()))?;
        let config = EdgeConfigBuilder::new()
            .vector(
                DENSE_VECTOR,
                EdgeVectorParams::builder(info.dimension, Distance::Cosine).build(),
            )
            .sparse_vector(TONED_VECTOR, idf_sparse_params())
            .sparse_vector(PLAIN_VECTOR, idf_sparse_params())
            .optimizers(limits.optimizers())
            .build();
        trim_write_ahead_log(&shard_path.join(WAL_DIR), dir)?;
        let shard = guard(|| EdgeShard::load(&shard_path, Some(config)))?.map_err(|e| {
            let message = e.to_string();
            if message.contains("WouldBlock") {
                StoreError::Locked {
                    path: dir.display().to_string(),
                }
            } else {
                engine(message)
            }
        })?;
        let store = EdgeStore {
            shard,
            info,
            writes: Mutex::new(()),
        };
        store.ensure_payload_indexes()?;
        Ok(store)
    }

    /// Opens an existing store for whatever model built it (e.g. to export it); an error when
    /// `dir` holds no index.
    pub fn open_existing(dir: &Path) -> Result<EdgeStore, StoreError> {
        let info_path = dir.join(COLLECTION_FILE);
        match read_collection_info(&info_path)? {
            Some(info) => EdgeStore::open(dir, &info),
            None => Err(StoreError::Metadata {
                path: info_path.display().to_string(),
                message: "no embedded index here (run `hoiluat ingest` first)".into(),
            }),
        }
    }

    fn ensure_payload_indexes(&self) -> Result<(), StoreError> {
        let existing = guard(|| self.shard.info())?.payload_schema;
        for field in INDEXED_FIELDS {
            if existing.keys().any(|key| key.to_string() == *field) {
                continue;
            }
            let operation = UpdateOperation::FieldIndexOperation(
                FieldIndexOperations::CreateIndex(CreateIndex {
                    field_name: json_path(field)?,
                    field_schema: Some(PayloadFieldSchema::FieldType(PayloadSchemaType::Keyword)),
                }),
            );
            self.update(operation)?;
        }
        Ok(())
    }

    fn update(&self, operation: UpdateOperation) -> Result<(), StoreError> {
        let _writing = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        guard(|| self.shard.update(operation))?.map_err(|e| engine(e.to_string()))
    }
}

/// How the engine cuts the index into segments.
///
/// A long ingest optimises every few thousand chunks (`model.ingest_optimize_every`), each time
/// turning the appendable segment into an indexed one once it holds more than
/// `indexing_threshold_kb` of vectors. Optimising once at the end rebuilt the whole corpus while
/// the old segment was still loaded (4.75 GiB peak RSS). Optimising in steps with the engine's
/// defaults (2 segments on 2 cores, merges up to 256 MB per core) merged everything indexed so far
/// again at every step. The defaults here keep up to 8 segments apart and never merge beyond 64 MB
/// of vectors (two 10,000-chunk steps already exceed it), so a step rebuilds only what it added.
/// Searching 8 segments instead of 1 costs about 0.6 ms a question
/// (eval/reports/2026-12-06-segments.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentLimits {
    /// Segments kept apart before the engine merges the smallest.
    pub segments: usize,
    /// Largest segment a merge builds, in KB of vectors.
    pub max_segment_kb: usize,
    /// An appendable segment with more vectors than this (KB) is indexed when optimised.
    pub indexing_threshold_kb: usize,
}

impl Default for SegmentLimits {
    fn default() -> Self {
        SegmentLimits {
            segments: 8,
            max_segment_kb: 64_000,
            indexing_threshold_kb: 10_000,
        }
    }
}

impl SegmentLimits {
    fn optimizers(self) -> EdgeOptimizersConfig {
        EdgeOptimizersConfig {
            default_segment_number: Some(self.segments),
            max_segment_size: Some(self.max_segment_kb),
            indexing_threshold: Some(self.indexing_threshold_kb),
            ..EdgeOptimizersConfig::default()
        }
    }
}

fn idf_sparse_params() -> EdgeSparseVectorParams {
    EdgeSparseVectorParams {
        modifier: Some(Modifier::Idf),
        ..Default::default()
    }
}

impl VectorStore for EdgeStore {
    fn collection_info(&self) -> &CollectionInfo {
        &self.info
    }

    fn upsert(&self, records: Vec<ChunkRecord>) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut points = Vec::with_capacity(records.len());
        for record in records {
            let payload =
                serde_json::to_value(&record.payload).map_err(|e| engine(e.to_string()))?;
            let vectors = Vectors::new_named([
                (DENSE_VECTOR, Vector::new_dense(record.dense)),
                (TONED_VECTOR, sparse(&record.lexical.toned)?),
                (PLAIN_VECTOR, sparse(&record.lexical.plain)?),
            ]);
            points.push(PointStruct::new(PointId::Uuid(record.id), vectors, payload).into());
        }
        let operation = UpdateOperation::PointOperation(PointOperations::UpsertPoints(
            PointInsertOperations::PointsList(points),
        ));
        self.update(operation)
    }

    fn delete(&self, ids: &[Uuid]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.iter().map(|id| PointId::Uuid(*id)).collect();
        self.update(UpdateOperation::PointOperation(
            PointOperations::DeletePoints { ids },
        ))
    }

    fn fingerprints(&self) -> Result<HashMap<Uuid, Option<String>>, StoreError> {
        let mut found = HashMap::new();
        let mut offset = None;
        loop {
            let request = ScrollRequest {
                offset,
                limit: Some(SCROLL_PAGE),
                filter: None,
                with_payload: Some(WithPayloadInterface::Fields(vec![json_path(
                    "fingerprint",
                )?])),
                with_vector: WithVector::Bool(false),
                order_by: None,
            };
            let (records, next) =
                guard(|| self.shard.scroll(request))?.map_err(|e| engine(e.to_string()))?;
            for record in records {
                let Some(id) = uuid_of(&record.id) else {
                    continue;
                };
                let fingerprint = record
                    .payload
                    .as_ref()
                    .and_then(|p| p.0.get("fingerprint"))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                found.insert(id, fingerprint);
            }
            match next {
                Some(next) => offset = Some(next),
                None => return Ok(found),
            }
        }
    }

    fn dense_vectors(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<f32>>, StoreError> {
        let point_ids: Vec<PointId> = ids.iter().map(|id| PointId::Uuid(*id)).collect();
        let with_vector = WithVector::Selector(vec![DENSE_VECTOR.into()]);
        let records = guard(|| {
            self.shard.retrieve(
                &point_ids,
                Some(WithPayloadInterface::Bool(false)),
                Some(with_vector),
            )
        })?
        .map_err(|e| engine(e.to_string()))?;
        Ok(records
            .into_iter()
            .filter_map(|record| Some((uuid_of(&record.id)?, dense_of(record.vector?)?)))
            .collect())
    }

    fn query(&self, query: &HybridQuery) -> Result<Vec<Hit>, StoreError> {
        let filter = to_qdrant_filter(&query.filter)?;
        let prefetch = |name: &str, vector: VectorInternal| Prefetch {
            prefetches: Vec::new(),
            query: Some(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
                query: vector,
                using: Some(name.into()),
            }))),
            limit: query.prefetch_limit,
            params: None,
            filter: filter.clone(),
            score_threshold: None,
        };
        // A channel of weight 0 is left out (single-channel baselines in evaluation).
        let mut prefetches = Vec::new();
        let mut weights = Vec::new();
        if query.weights[0] > 0.0 && !query.dense.is_empty() {
            prefetches.push(prefetch(
                DENSE_VECTOR,
                VectorInternal::Dense(query.dense.clone()),
            ));
            weights.push(query.weights[0]);
        }
        // An empty sparse query (e.g. only punctuation) would match nothing; leave it out.
        for (name, vector, weight) in [
            (TONED_VECTOR, &query.lexical.toned, query.weights[1]),
            (PLAIN_VECTOR, &query.lexical.plain, query.weights[2]),
        ] {
            if weight > 0.0 && !vector.is_empty() {
                prefetches.push(prefetch(name, sparse(vector)?.0));
                weights.push(weight);
            }
        }
        if prefetches.is_empty() {
            return Ok(Vec::new());
        }
        let request = QueryRequest {
            prefetches,
            query: Some(ScoringQuery::Fusion(Fusion::Rrf {
                k: query.rrf_k,
                weights: Some(weights.into_iter().map(Into::into).collect()),
            })),
            filter,
            score_threshold: None,
            limit: query.limit,
            offset: 0,
            params: None,
            with_vector: WithVector::Selector(vec![DENSE_VECTOR.into()]),
            with_payload: WithPayloadInterface::Bool(true),
        };
        let points = guard(|| self.shard.query(request))?.map_err(|e| engine(e.to_string()))?;
        hits_of(points)
    }

    fn search(&self, search: &ChannelSearch) -> Result<Vec<Hit>, StoreError> {
        let (name, vector) = match &search.vector {
            ChannelVector::Dense(dense) if !dense.is_empty() => {
                (DENSE_VECTOR, VectorInternal::Dense(dense.clone()))
            }
            ChannelVector::Toned(lexical) if !lexical.is_empty() => {
                (TONED_VECTOR, sparse(lexical)?.0)
            }
            ChannelVector::Plain(lexical) if !lexical.is_empty() => {
                (PLAIN_VECTOR, sparse(lexical)?.0)
            }
            // An empty vector matches nothing.
            _ => return Ok(Vec::new()),
        };
        let request = QueryRequest {
            prefetches: Vec::new(),
            query: Some(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
                query: vector,
                using: Some(name.into()),
            }))),
            filter: to_qdrant_filter(&search.filter)?,
            score_threshold: None,
            limit: search.limit,
            offset: 0,
            params: None,
            with_vector: WithVector::Selector(vec![DENSE_VECTOR.into()]),
            with_payload: WithPayloadInterface::Bool(true),
        };
        let points = guard(|| self.shard.query(request))?.map_err(|e| engine(e.to_string()))?;
        hits_of(points)
    }

    fn flush(&self) -> Result<(), StoreError> {
        let _writing = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        guard(|| self.shard.flush())
    }

    fn optimize(&self) -> Result<(), StoreError> {
        let _writing = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        guard(|| self.shard.optimize())?
            .map(|_| ())
            .map_err(|e| engine(e.to_string()))
    }

    fn count(&self) -> Result<usize, StoreError> {
        Ok(guard(|| self.shard.info())?.points_count)
    }

    fn export(
        &self,
        batch: usize,
        each: &mut dyn FnMut(Vec<ChunkRecord>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut offset = None;
        loop {
            let request = ScrollRequest {
                offset,
                limit: Some(batch.max(1)),
                filter: None,
                with_payload: Some(WithPayloadInterface::Bool(true)),
                with_vector: WithVector::Bool(true),
                order_by: None,
            };
            let (points, next) =
                guard(|| self.shard.scroll(request))?.map_err(|e| engine(e.to_string()))?;
            let records: Vec<ChunkRecord> = points.into_iter().filter_map(exported).collect();
            if !records.is_empty() {
                each(records)?;
            }
            match next {
                Some(next) => offset = Some(next),
                None => return Ok(()),
            }
        }
    }
}

/// A stored point as a [`ChunkRecord`], or `None` (logged) when part of it is missing.
fn exported(point: qdrant_edge::Record) -> Option<ChunkRecord> {
    let id = uuid_of(&point.id)?;
    let payload = point
        .payload
        .map(|p| serde_json::Value::Object(p.0))
        .and_then(|json| serde_json::from_value::<ChunkPayload>(json).ok());
    let Some(VectorStructInternal::Named(mut vectors)) = point.vector else {
        tracing::warn!(%id, "stored point without vectors left out of the export");
        return None;
    };
    let dense = match vectors.remove(DENSE_VECTOR) {
        Some(VectorInternal::Dense(dense)) => Some(dense),
        _ => None,
    };
    let (Some(payload), Some(dense)) = (payload, dense) else {
        tracing::warn!(%id, "stored point without payload or dense vector left out of the export");
        return None;
    };
    let mut lexical = |name: &str| match vectors.remove(name) {
        Some(VectorInternal::Sparse(sparse)) => SparseVector {
            indices: sparse.indices,
            values: sparse.values,
        },
        // A chunk whose text has no term stores an empty sparse vector.
        _ => SparseVector::default(),
    };
    let lexical = crate::lexical::LexicalVectors {
        toned: lexical(TONED_VECTOR),
        plain: lexical(PLAIN_VECTOR),
    };
    Some(ChunkRecord {
        id,
        dense,
        lexical,
        payload,
    })
}

fn to_qdrant_filter(filter: &SearchFilter) -> Result<Option<Filter>, StoreError> {
    let mut must = Vec::new();
    let mut any_of = |key: &str, values: Vec<String>| {
        if !values.is_empty() {
            must.push(json!({ "key": key, "match": { "any": values } }));
        }
    };
    any_of(
        "validity",
        filter
            .validity
            .iter()
            .map(|v| v.slug().to_owned())
            .collect(),
    );
    any_of("scope", filter.scopes.clone());
    any_of("document_type", filter.document_types.clone());
    any_of("so_hieu", filter.documents.clone());
    let must_not: Vec<serde_json::Value> = if filter.excluded_documents.is_empty() {
        Vec::new()
    } else {
        vec![json!({ "key": "so_hieu", "match": { "any": filter.excluded_documents } })]
    };
    if must.is_empty() && must_not.is_empty() {
        return Ok(None);
    }
    from_json(json!({ "must": must, "must_not": must_not })).map(Some)
}

/// Our hits from the engine's scored points, best first, ties broken by id so that answers are
/// reproducible (RRF ties come back in arbitrary order).
fn hits_of(points: Vec<ScoredPoint>) -> Result<Vec<Hit>, StoreError> {
    let mut hits = Vec::with_capacity(points.len());
    for point in points {
        let Some(id) = uuid_of(&point.id) else {
            continue;
        };
        let payload = point
            .payload
            .map(|p| serde_json::Value::Object(p.0))
            .unwrap_or_default();
        let payload: ChunkPayload =
            serde_json::from_value(payload).map_err(|e| StoreError::Payload {
                id,
                message: e.to_string(),
            })?;
        hits.push(Hit {
            id,
            score: point.score,
            payload,
            dense: point.vector.and_then(dense_of),
        });
    }
    // RRF ties come back in arbitrary order; break them by id so answers are reproducible.
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    Ok(hits)
}

fn json_path(field: &str) -> Result<JsonPath, StoreError> {
    JsonPath::try_from(field).map_err(|()| engine(format!("invalid payload field name {field:?}")))
}

fn sparse(vector: &SparseVector) -> Result<Vector, StoreError> {
    Vector::new_sparse(vector.indices.clone(), vector.values.clone())
        .map_err(|e| engine(e.to_string()))
}

fn dense_of(vector: VectorStructInternal) -> Option<Vec<f32>> {
    match vector {
        VectorStructInternal::Single(dense) => Some(dense),
        VectorStructInternal::Named(mut named) => match named.remove(DENSE_VECTOR)? {
            VectorInternal::Dense(dense) => Some(dense),
            _ => None,
        },
        VectorStructInternal::MultiDense(_) => None,
    }
}

fn uuid_of(id: &PointId) -> Option<Uuid> {
    match id {
        PointId::Uuid(uuid) => Some(*uuid),
        PointId::NumId(_) => None,
    }
}

/// Builds an engine type from its JSON (REST) form, which is stable across engine versions where
/// the Rust constructors are not.
fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, StoreError> {
    serde_json::from_value(value).map_err(|e| engine(format!("building an engine request: {e}")))
}

/// The engine asserts internally in places; a panic there must become an error, not take the
/// service down.
fn guard<T>(call: impl FnOnce() -> T) -> Result<T, StoreError> {
    catch_unwind(AssertUnwindSafe(call)).map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        engine(format!("engine panicked: {message}"))
    })
}

/// Removes the closed files of the engine's write-ahead log but the newest, before the shard opens.
///
/// qdrant-edge 0.7 writes every update to this log, but a shard opens from its flushed segments
/// alone: the log is never replayed, and never truncated either. After the whole corpus it held
/// 567 MB, which every start read back into memory (a quarter of the serving RSS). Removing the
/// oldest closed files is what the log's own `prefix_truncate` does once every entry is
/// acknowledged: the newest closed file and the open ones stay, so the log's numbering, which the
/// segments' versions follow, carries on. The log's own lock (`flock` on its directory) is held
/// meanwhile, so a shard open in another process is never touched.
fn trim_write_ahead_log(wal_dir: &Path, index_dir: &Path) -> Result<(), StoreError> {
    let Ok(lock) = std::fs::File::open(wal_dir) else {
        return Ok(()); // a new shard: no log yet
    };
    if let Err(error) = lock.try_lock() {
        return Err(match error {
            std::fs::TryLockError::WouldBlock => StoreError::Locked {
                path: index_dir.display().to_string(),
            },
            std::fs::TryLockError::Error(e) => engine(format!("lock the log: {e}")),
        });
    }
    // Listed only once the lock is held, so no other process is closing a file meanwhile.
    let entries = std::fs::read_dir(wal_dir).map_err(|e| engine(format!("list the log: {e}")))?;
    let mut closed: Vec<(u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let start = name
                .to_str()?
                .strip_prefix("closed-")?
                .parse::<u64>()
                .ok()?;
            Some((start, entry.path()))
        })
        .collect();
    closed.sort();
    closed.pop(); // the newest stays
    let mut freed = 0u64;
    for (_, path) in &closed {
        freed += std::fs::metadata(path).map_or(0, |m| m.len());
        std::fs::remove_file(path)
            .map_err(|e| engine(format!("remove {}: {e}", path.display())))?;
    }
    if !closed.is_empty() {
        tracing::info!(
            files = closed.len(),
            bytes = freed,
            "engine write-ahead log trimmed"
        );
    }
    Ok(())
}

fn engine(message: impl Into<String>) -> StoreError {
    StoreError::Engine(message.into())
}

fn read_collection_info(path: &PathBuf) -> Result<Option<CollectionInfo>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Metadata {
                path: path.display().to_string(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Metadata {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
    }
}

fn write_collection_info(path: &Path, info: &CollectionInfo) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec_pretty(info).map_err(|e| engine(e.to_string()))?;
    crate::fsutil::write_atomically(path, &bytes).map_err(|e| StoreError::Metadata {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}
