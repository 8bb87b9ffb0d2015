//! [`VectorStore`] on a Qdrant server or cluster, over gRPC with `qdrant-client`.
//!
//! Why: the embedded engine locks its directory, so only one process can serve from it. With this
//! adapter any number of `hoiluat serve` replicas share one collection, replicated across nodes.
//!
//! Same data as [`super::edge::EdgeStore`]: the same point ids (UUIDs), payload JSON
//! ([`ChunkPayload`]), named vectors (one dense with Cosine distance, two sparse with the IDF
//! modifier), keyword payload indexes, filters, and the same weighted RRF fusion followed by the
//! same tie-break by id. Qdrant's server computes weighted RRF with the engine code the embedded
//! engine uses (`rrf_scoring`), so fusion happens on the server; weights need server 1.17 or
//! later, which [`QdrantStore::open`] checks (an older server would silently ignore them).
//!
//! Collections and aliases: the configured name (`store.collection`, default `hoiluat`) is an
//! alias. The first start creates the collection `hoiluat-1` and points the alias at it. A
//! re-index builds the next generation (`hoiluat-2`, [`QdrantStore::create_generation`]) while the
//! service keeps reading the old one, then switches the alias in one request
//! ([`QdrantStore::publish`]); the old generation stays for rollback until deleted by hand.
//!
//! Model check: the model id and dimension are stored as collection metadata (Qdrant ≥ 1.16), so
//! opening a collection built by another model fails with [`StoreError::ModelMismatch`].
//!
//! Blocking: the trait is synchronous (callers are on `spawn_blocking`). The store owns a small
//! tokio runtime; every call is spawned on it and waited for on a std channel. That never panics,
//! even when called from inside another runtime (where `Runtime::block_on` would), though from
//! async code it ties up that worker thread for the duration of the request.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use qdrant_client::qdrant::{
    point_id, vector_output, with_payload_selector, with_vectors_selector, Condition,
    CountPointsBuilder, CreateAliasBuilder, CreateCollectionBuilder,
    CreateFieldIndexCollectionBuilder, DeletePointsBuilder, Distance, FieldType, Filter,
    GetPointsBuilder, Modifier, PayloadIncludeSelector, PointId, PointStruct, PointsIdsList,
    PrefetchQueryBuilder, Query, QueryPointsBuilder, RetrievedPoint, RrfBuilder,
    ScrollPointsBuilder, SparseVectorParamsBuilder, SparseVectorsConfigBuilder,
    UpsertPointsBuilder, Value, Vector, VectorInput, VectorParamsBuilder, VectorsConfigBuilder,
    VectorsOutput, VectorsSelector,
};
use qdrant_client::{Payload, Qdrant, QdrantError};
use uuid::Uuid;

use super::payload::INDEXED_FIELDS;
use super::{
    ChannelSearch, ChannelVector, ChunkPayload, ChunkRecord, CollectionInfo, Hit, HybridQuery,
    SearchFilter, StoreError, VectorStore, DENSE_VECTOR, PLAIN_VECTOR, TONED_VECTOR,
};
use crate::config::StoreConfig;
use crate::lexical::{LexicalVectors, SparseVector};

/// Collection metadata keys recording the model the vectors come from.
const MODEL_KEY: &str = "hoiluat_model_id";
const DIMENSION_KEY: &str = "hoiluat_dimension";
/// Points per scroll page (fingerprints, export).
const SCROLL_PAGE: u32 = 1_000;
/// The oldest server with weighted RRF (`Rrf.weights`, Qdrant 1.17).
const MIN_SERVER: (u64, u64) = (1, 17);

/// gRPC status codes (fixed by the gRPC specification) that this adapter treats specially.
const GRPC_DEADLINE_EXCEEDED: i32 = 4;
const GRPC_NOT_FOUND: i32 = 5;
const GRPC_ALREADY_EXISTS: i32 = 6;
const GRPC_INTERNAL: i32 = 13;
const GRPC_UNAVAILABLE: i32 = 14;

pub struct QdrantStore {
    /// `Some` until drop; taken there to shut it down without blocking.
    runtime: Option<tokio::runtime::Runtime>,
    client: Qdrant,
    /// The server URL, for error messages.
    url: String,
    /// Where point operations go: the alias when serving, a new generation while it is built.
    target: String,
    /// The alias the service reads (`store.collection`).
    alias: String,
    info: CollectionInfo,
    config: StoreConfig,
}

impl QdrantStore {
    /// Our hits from the server's scored points, best first, ties broken by id exactly as the
    /// embedded store does.
    fn hits_of(
        &self,
        points: Vec<qdrant_client::qdrant::ScoredPoint>,
    ) -> Result<Vec<Hit>, StoreError> {
        let mut hits = Vec::with_capacity(points.len());
        for point in points {
            let Some(id) = point.id.as_ref().and_then(uuid_of) else {
                continue;
            };
            let payload = payload_of(id, point.payload)?;
            hits.push(Hit {
                id,
                score: point.score,
                payload,
                dense: point.vectors.as_ref().and_then(dense_of),
            });
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        Ok(hits)
    }

    /// Opens the configured collection (alias) for `expected`, creating its first generation when
    /// nothing of that name exists. A collection built with another model is an error.
    pub fn open(
        config: &StoreConfig,
        expected: &CollectionInfo,
    ) -> Result<QdrantStore, StoreError> {
        let mut store = QdrantStore::connect(config, expected)?;
        let alias = config.collection.clone();
        if store.describe(&alias)?.is_none() {
            let first = generation_name(&alias, 1);
            store.ensure_collection(&first)?;
            store.point_alias(&alias, &first)?;
            tracing::info!(collection = %first, alias = %alias, "qdrant collection created");
        }
        store.target = alias.clone();
        store.check_collection(&alias)?;
        Ok(store)
    }

    /// Creates the next generation of the configured collection (`<alias>-<n+1>`) and returns a
    /// store writing to it; the service keeps reading the current one until [`Self::publish`].
    pub fn create_generation(
        config: &StoreConfig,
        expected: &CollectionInfo,
    ) -> Result<QdrantStore, StoreError> {
        let mut store = QdrantStore::connect(config, expected)?;
        let names = store.call("list collections", |client| async move {
            client.list_collections().await
        })?;
        let newest = names
            .collections
            .iter()
            .filter_map(|c| generation_of(&config.collection, &c.name))
            .max()
            .unwrap_or(0);
        let next = generation_name(&config.collection, newest + 1);
        store.ensure_collection(&next)?;
        store.target = next;
        Ok(store)
    }

    /// Points the alias at this store's collection in one request (Qdrant replaces an existing
    /// alias atomically: queries see the old generation or the new one, never neither). Returns
    /// the collection the alias pointed at before, if any, to be deleted once no longer needed.
    pub fn publish(&self) -> Result<Option<String>, StoreError> {
        let previous = self.alias_target(&self.alias)?;
        if previous.as_deref() == Some(self.target.as_str()) || self.target == self.alias {
            return Ok(previous);
        }
        self.point_alias(&self.alias, &self.target)?;
        tracing::info!(alias = %self.alias, collection = %self.target, previous = ?previous, "qdrant alias switched");
        Ok(previous)
    }

    /// The collection or alias point operations go to.
    pub fn collection_name(&self) -> &str {
        &self.target
    }

    fn connect(config: &StoreConfig, expected: &CollectionInfo) -> Result<QdrantStore, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("qdrant-client")
            .enable_all()
            .build()
            .map_err(|e| engine(format!("cannot start the Qdrant client runtime: {e}")))?;
        let timeout = Duration::from_secs(config.timeout_secs.max(1));
        // The client's own version check prints to stdout; ours below returns an error instead.
        let client = {
            let _inside = runtime.enter();
            Qdrant::from_url(&config.url)
                .api_key(config.api_key.clone())
                .timeout(timeout)
                .connect_timeout(timeout)
                .skip_compatibility_check()
                .build()
                .map_err(|e| engine(format!("invalid store.url {:?}: {e}", config.url)))?
        };
        let store = QdrantStore {
            runtime: Some(runtime),
            client,
            url: config.url.clone(),
            target: config.collection.clone(),
            alias: config.collection.clone(),
            info: expected.clone(),
            config: config.clone(),
        };
        let health = store.call("health check", |client| async move {
            client.health_check().await
        })?;
        if !version_at_least(&health.version, MIN_SERVER) {
            return Err(engine(format!(
                "the Qdrant server at {} runs version {}; hoiluat needs {}.{} or later (weighted RRF fusion)",
                store.url, health.version, MIN_SERVER.0, MIN_SERVER.1
            )));
        }
        Ok(store)
    }

    /// Collection info of a collection or alias, `None` when neither exists.
    fn describe(
        &self,
        name: &str,
    ) -> Result<Option<qdrant_client::qdrant::CollectionInfo>, StoreError> {
        let name = name.to_owned();
        let response = self.call_raw(|client| async move { client.collection_info(name).await });
        match response {
            Ok(response) => Ok(response.result),
            Err(QdrantError::ResponseError { status })
                if status.code() as i32 == GRPC_NOT_FOUND =>
            {
                Ok(None)
            }
            Err(error) => Err(self.error("collection info", error)),
        }
    }

    /// Creates `name` (dense + two IDF sparse vectors, model metadata, sharding from the config)
    /// unless it exists, then checks its model and payload indexes.
    fn ensure_collection(&self, name: &str) -> Result<(), StoreError> {
        if self.describe(name)?.is_none() {
            let request = self.create_request(name);
            let created =
                self.call_raw(|client| async move { client.create_collection(request).await });
            match created {
                Ok(_) => {}
                // Another replica created it meanwhile: use theirs (checked below).
                Err(QdrantError::ResponseError { status })
                    if status.code() as i32 == GRPC_ALREADY_EXISTS => {}
                Err(error) => return Err(self.error("create collection", error)),
            }
        }
        self.check_collection(name)
    }

    fn create_request(&self, name: &str) -> CreateCollectionBuilder {
        let mut dense = VectorsConfigBuilder::default();
        dense.add_named_vector_params(
            DENSE_VECTOR,
            VectorParamsBuilder::new(self.info.dimension as u64, Distance::Cosine),
        );
        let mut sparse = SparseVectorsConfigBuilder::default();
        for name in [TONED_VECTOR, PLAIN_VECTOR] {
            // IDF is computed by the server at query time (per shard), as in the embedded engine.
            sparse.add_named_vector_params(
                name,
                SparseVectorParamsBuilder::default().modifier(Modifier::Idf),
            );
        }
        let metadata: HashMap<String, serde_json::Value> = HashMap::from([
            (MODEL_KEY.to_owned(), self.info.model_id.clone().into()),
            (DIMENSION_KEY.to_owned(), self.info.dimension.into()),
        ]);
        CreateCollectionBuilder::new(name)
            .vectors_config(dense)
            .sparse_vectors_config(sparse)
            .shard_number(self.config.shard_number)
            .replication_factor(self.config.replication_factor)
            .write_consistency_factor(self.config.write_consistency_factor)
            .metadata(metadata)
    }

    /// Refuses a collection built for another model; adds missing payload indexes.
    fn check_collection(&self, name: &str) -> Result<(), StoreError> {
        let description = format!("Qdrant collection `{name}` at {}", self.url);
        let Some(found) = self.describe(name)? else {
            return Err(engine(format!("{description} does not exist")));
        };
        let metadata = found.config.as_ref().map(|c| &c.metadata);
        let model = metadata
            .and_then(|m| m.get(MODEL_KEY))
            .map(|v| v.clone().into_json());
        let dimension = metadata
            .and_then(|m| m.get(DIMENSION_KEY))
            .map(|v| v.clone().into_json());
        let (Some(serde_json::Value::String(model)), Some(dimension)) = (model, dimension) else {
            return Err(StoreError::Metadata {
                path: description,
                message: format!("no `{MODEL_KEY}`/`{DIMENSION_KEY}` metadata: the collection was not created by hoiluat"),
            });
        };
        let dimension = dimension.as_u64().unwrap_or(0) as usize;
        if model != self.info.model_id || dimension != self.info.dimension {
            return Err(StoreError::ModelMismatch {
                path: description,
                found_model: model,
                found_dimension: dimension,
                expected_model: self.info.model_id.clone(),
                expected_dimension: self.info.dimension,
            });
        }
        for field in INDEXED_FIELDS {
            if found.payload_schema.contains_key(*field) {
                continue;
            }
            let request =
                CreateFieldIndexCollectionBuilder::new(name, *field, FieldType::Keyword).wait(true);
            self.call("create payload index", |client| async move {
                client.create_field_index(request).await
            })?;
        }
        Ok(())
    }

    fn alias_target(&self, alias: &str) -> Result<Option<String>, StoreError> {
        let aliases = self.call("list aliases", |client| async move {
            client.list_aliases().await
        })?;
        Ok(aliases
            .aliases
            .into_iter()
            .find(|a| a.alias_name == alias)
            .map(|a| a.collection_name))
    }

    fn point_alias(&self, alias: &str, collection: &str) -> Result<(), StoreError> {
        let request = CreateAliasBuilder::new(collection, alias);
        self.call("create alias", |client| async move {
            client.create_alias(request).await
        })?;
        Ok(())
    }

    /// Runs one client call on the store's runtime and waits for it.
    fn call<T, F>(
        &self,
        what: &'static str,
        request: impl FnOnce(Qdrant) -> F,
    ) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, QdrantError>> + Send + 'static,
        T: Send + 'static,
    {
        self.call_raw(request).map_err(|e| self.error(what, e))
    }

    fn call_raw<T, F>(&self, request: impl FnOnce(Qdrant) -> F) -> Result<T, QdrantError>
    where
        F: Future<Output = Result<T, QdrantError>> + Send + 'static,
        T: Send + 'static,
    {
        let future = request(self.client.clone());
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let Some(runtime) = self.runtime.as_ref() else {
            return Err(QdrantError::ConversionError(
                "the store is shut down".into(),
            ));
        };
        runtime.spawn(async move {
            let _ = sender.send(future.await);
        });
        receiver.recv().unwrap_or_else(|_| {
            Err(QdrantError::ConversionError(
                "the client task stopped".into(),
            ))
        })
    }

    fn error(&self, what: &str, error: QdrantError) -> StoreError {
        if let QdrantError::ResponseError { status } = &error {
            let code = status.code() as i32;
            // qdrant-client reports a failed connection as an internal error with this prefix.
            let not_connected =
                code == GRPC_INTERNAL && status.message().starts_with("Failed to connect");
            if code == GRPC_UNAVAILABLE || code == GRPC_DEADLINE_EXCEEDED || not_connected {
                return StoreError::Unreachable {
                    url: self.url.clone(),
                    message: format!("{what}: {}", status.message()),
                };
            }
        }
        engine(format!("qdrant {what}: {error}"))
    }

    fn scroll(
        &self,
        offset: Option<PointId>,
        limit: u32,
        with_payload: with_payload_selector::SelectorOptions,
        with_vectors: bool,
    ) -> Result<(Vec<RetrievedPoint>, Option<PointId>), StoreError> {
        let mut request = ScrollPointsBuilder::new(&self.target)
            .limit(limit)
            .with_payload(with_payload)
            .with_vectors(with_vectors);
        if let Some(offset) = offset {
            request = request.offset(offset);
        }
        let response = self.call(
            "scroll",
            |client| async move { client.scroll(request).await },
        )?;
        Ok((response.result, response.next_page_offset))
    }
}

impl Drop for QdrantStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside another runtime; this does not.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl VectorStore for QdrantStore {
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
            let payload = Payload::try_from(payload).map_err(|e| engine(e.to_string()))?;
            let vectors: HashMap<String, Vector> = HashMap::from([
                (DENSE_VECTOR.to_owned(), Vector::new_dense(record.dense)),
                (TONED_VECTOR.to_owned(), sparse(&record.lexical.toned)),
                (PLAIN_VECTOR.to_owned(), sparse(&record.lexical.plain)),
            ]);
            points.push(PointStruct::new(point_id(record.id), vectors, payload));
        }
        // `wait`: the call returns once the points are applied, so the next read sees them.
        let request = UpsertPointsBuilder::new(&self.target, points).wait(true);
        self.call("upsert", |client| async move {
            client.upsert_points(request).await
        })?;
        Ok(())
    }

    fn delete(&self, ids: &[Uuid]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = PointsIdsList {
            ids: ids.iter().map(|id| point_id(*id)).collect(),
        };
        let request = DeletePointsBuilder::new(&self.target)
            .points(ids)
            .wait(true);
        self.call("delete", |client| async move {
            client.delete_points(request).await
        })?;
        Ok(())
    }

    fn fingerprints(&self) -> Result<HashMap<Uuid, Option<String>>, StoreError> {
        let mut found = HashMap::new();
        let mut offset = None;
        loop {
            let only_fingerprint = PayloadIncludeSelector {
                fields: vec!["fingerprint".into()],
            };
            let (points, next) =
                self.scroll(offset, SCROLL_PAGE, only_fingerprint.into(), false)?;
            for point in points {
                let Some(id) = point.id.as_ref().and_then(uuid_of) else {
                    continue;
                };
                let fingerprint = point
                    .payload
                    .get("fingerprint")
                    .and_then(|v| v.as_str())
                    .map(|s| s.to_owned());
                found.insert(id, fingerprint);
            }
            match next {
                Some(next) => offset = Some(next),
                None => return Ok(found),
            }
        }
    }

    fn dense_vectors(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<f32>>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let point_ids: Vec<PointId> = ids.iter().map(|id| point_id(*id)).collect();
        let request = GetPointsBuilder::new(&self.target, point_ids)
            .with_payload(false)
            .with_vectors(dense_only());
        let response = self.call("get points", |client| async move {
            client.get_points(request).await
        })?;
        Ok(response
            .result
            .into_iter()
            .filter_map(|point| {
                Some((
                    uuid_of(point.id.as_ref()?)?,
                    dense_of(point.vectors.as_ref()?)?,
                ))
            })
            .collect())
    }

    fn query(&self, query: &HybridQuery) -> Result<Vec<Hit>, StoreError> {
        let filter = to_qdrant_filter(&query.filter);
        let prefetch = |name: &str, vector: VectorInput| {
            let mut prefetch = PrefetchQueryBuilder::default()
                .query(Query::new_nearest(vector))
                .using(name)
                .limit(query.prefetch_limit as u64);
            if let Some(filter) = &filter {
                prefetch = prefetch.filter(filter.clone());
            }
            prefetch
        };
        // The same channel selection as the embedded engine: weight 0 or an empty vector leaves
        // a channel out, so the weights line up with the prefetches.
        let mut request = QueryPointsBuilder::new(&self.target);
        let mut weights = Vec::new();
        if query.weights[0] > 0.0 && !query.dense.is_empty() {
            request = request.add_prefetch(prefetch(
                DENSE_VECTOR,
                VectorInput::new_dense(query.dense.clone()),
            ));
            weights.push(query.weights[0]);
        }
        for (name, vector, weight) in [
            (TONED_VECTOR, &query.lexical.toned, query.weights[1]),
            (PLAIN_VECTOR, &query.lexical.plain, query.weights[2]),
        ] {
            if weight > 0.0 && !vector.is_empty() {
                let input = VectorInput::new_sparse(vector.indices.clone(), vector.values.clone());
                request = request.add_prefetch(prefetch(name, input));
                weights.push(weight);
            }
        }
        if weights.is_empty() {
            return Ok(Vec::new());
        }
        let rrf = RrfBuilder::with_k(query.rrf_k as u32).weights(weights);
        request = request
            .query(Query::new_rrf(rrf))
            .limit(query.limit as u64)
            .with_payload(true)
            .with_vectors(dense_only());
        if let Some(filter) = filter {
            request = request.filter(filter);
        }
        let response = self.call("query", |client| async move { client.query(request).await })?;
        self.hits_of(response.result)
    }

    fn search(&self, search: &ChannelSearch) -> Result<Vec<Hit>, StoreError> {
        let (name, input) = match &search.vector {
            ChannelVector::Dense(dense) if !dense.is_empty() => {
                (DENSE_VECTOR, VectorInput::new_dense(dense.clone()))
            }
            ChannelVector::Toned(lexical) if !lexical.is_empty() => (
                TONED_VECTOR,
                VectorInput::new_sparse(lexical.indices.clone(), lexical.values.clone()),
            ),
            ChannelVector::Plain(lexical) if !lexical.is_empty() => (
                PLAIN_VECTOR,
                VectorInput::new_sparse(lexical.indices.clone(), lexical.values.clone()),
            ),
            _ => return Ok(Vec::new()),
        };
        let mut request = QueryPointsBuilder::new(&self.target)
            .query(Query::new_nearest(input))
            .using(name)
            .limit(search.limit as u64)
            .with_payload(true)
            .with_vectors(dense_only());
        if let Some(filter) = to_qdrant_filter(&search.filter) {
            request = request.filter(filter);
        }
        let response = self.call(
            "search",
            |client| async move { client.query(request).await },
        )?;
        self.hits_of(response.result)
    }

    /// Nothing to do: every write waited until applied and written to the server's WAL.
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Nothing to do: the server builds its indexes itself, in the background.
    fn optimize(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn count(&self) -> Result<usize, StoreError> {
        let request = CountPointsBuilder::new(&self.target).exact(true);
        let response = self.call("count", |client| async move { client.count(request).await })?;
        Ok(response.result.map_or(0, |r| r.count as usize))
    }

    fn export(
        &self,
        batch: usize,
        each: &mut dyn FnMut(Vec<ChunkRecord>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut offset = None;
        let limit = batch.clamp(1, u32::MAX as usize) as u32;
        loop {
            let (points, next) = self.scroll(offset, limit, true.into(), true)?;
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

/// Our filter in Qdrant's terms: every non-empty list is a "match any" on its keyword field.
fn to_qdrant_filter(filter: &SearchFilter) -> Option<Filter> {
    let mut must = Vec::new();
    let mut any_of = |key: &str, values: Vec<String>| {
        if !values.is_empty() {
            // A Vec<String> becomes a keyword "any" match (a lone String with a space would
            // become a full-text match instead).
            must.push(Condition::matches(key, values));
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
    let must_not: Vec<Condition> = if filter.excluded_documents.is_empty() {
        Vec::new()
    } else {
        vec![Condition::matches(
            "so_hieu",
            filter.excluded_documents.clone(),
        )]
    };
    if must.is_empty() && must_not.is_empty() {
        None
    } else {
        Some(Filter {
            must,
            must_not,
            ..Filter::default()
        })
    }
}

fn dense_only() -> with_vectors_selector::SelectorOptions {
    VectorsSelector {
        names: vec![DENSE_VECTOR.into()],
    }
    .into()
}

fn sparse(vector: &SparseVector) -> Vector {
    Vector::new_sparse(vector.indices.clone(), vector.values.clone())
}

fn point_id(id: Uuid) -> PointId {
    PointId::from(id.to_string())
}

fn uuid_of(id: &PointId) -> Option<Uuid> {
    match id.point_id_options.as_ref()? {
        point_id::PointIdOptions::Uuid(text) => Uuid::parse_str(text).ok(),
        point_id::PointIdOptions::Num(_) => None,
    }
}

fn dense_of(vectors: &VectorsOutput) -> Option<Vec<f32>> {
    match vectors.get_vector_by_name(DENSE_VECTOR)? {
        vector_output::Vector::Dense(dense) => Some(dense.data),
        _ => None,
    }
}

fn payload_of(id: Uuid, payload: HashMap<String, Value>) -> Result<ChunkPayload, StoreError> {
    let json: serde_json::Map<String, serde_json::Value> = payload
        .into_iter()
        .map(|(k, v)| (k, v.into_json()))
        .collect();
    serde_json::from_value(serde_json::Value::Object(json)).map_err(|e| StoreError::Payload {
        id,
        message: e.to_string(),
    })
}

/// A stored point as a [`ChunkRecord`], or `None` (logged) when part of it is missing.
fn exported(point: RetrievedPoint) -> Option<ChunkRecord> {
    let id = point.id.as_ref().and_then(uuid_of)?;
    let vectors = point.vectors.as_ref();
    let dense = vectors.and_then(dense_of);
    let payload = payload_of(id, point.payload).ok();
    let (Some(payload), Some(dense)) = (payload, dense) else {
        tracing::warn!(%id, "stored point without payload or dense vector left out of the export");
        return None;
    };
    let lexical = |name: &str| {
        match vectors.and_then(|v| v.get_vector_by_name(name)) {
            Some(vector_output::Vector::Sparse(sparse)) => SparseVector {
                indices: sparse.indices,
                values: sparse.values,
            },
            // A chunk whose text has no term stores an empty sparse vector.
            _ => SparseVector::default(),
        }
    };
    Some(ChunkRecord {
        id,
        dense,
        lexical: LexicalVectors {
            toned: lexical(TONED_VECTOR),
            plain: lexical(PLAIN_VECTOR),
        },
        payload,
    })
}

/// `hoiluat-3` for alias `hoiluat` and generation 3.
fn generation_name(alias: &str, generation: u64) -> String {
    format!("{alias}-{generation}")
}

fn generation_of(alias: &str, collection: &str) -> Option<u64> {
    collection
        .strip_prefix(alias)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

/// Whether a server version such as `1.17.0` or `1.17.0-dev` is at least `minimum`.
fn version_at_least(version: &str, minimum: (u64, u64)) -> bool {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .map(|part| part.parse::<u64>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= minimum
}

fn engine(message: impl Into<String>) -> StoreError {
    StoreError::Engine(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Validity;

    #[test]
    fn server_versions_are_compared_by_major_and_minor() {
        assert!(version_at_least("1.17.0", (1, 17)));
        assert!(version_at_least("1.20.3-dev", (1, 17)));
        assert!(version_at_least("2.0.0", (1, 17)));
        assert!(!version_at_least("1.16.9", (1, 17)));
        assert!(!version_at_least("", (1, 17)));
    }

    #[test]
    fn generations_are_numbered_after_the_alias() {
        assert_eq!(generation_name("hoiluat", 2), "hoiluat-2");
        assert_eq!(generation_of("hoiluat", "hoiluat-12"), Some(12));
        assert_eq!(generation_of("hoiluat", "hoiluat-tmp"), None);
        assert_eq!(generation_of("hoiluat", "hoiluatx-1"), None);
        assert_eq!(generation_of("hoiluat", "other-1"), None);
    }

    #[test]
    fn filters_are_keyword_any_matches_and_empty_means_none() {
        assert!(to_qdrant_filter(&SearchFilter::default()).is_none());
        let filter = to_qdrant_filter(&SearchFilter {
            validity: vec![Validity::InForce],
            scopes: vec!["toan_quoc".into(), "tinh:quang-ngai".into()],
            document_types: vec!["Nghị định".into()],
            documents: Vec::new(),
            excluded_documents: vec!["45/2013/QH13".into()],
        })
        .unwrap();
        assert_eq!(filter.must.len(), 3);
        assert_eq!(
            filter.must_not,
            [Condition::matches(
                "so_hieu",
                vec!["45/2013/QH13".to_owned()]
            )],
            "an excluded document is a must-not match"
        );
        // "Nghị định" contains a space: it must stay a keyword match, not become full text.
        let expected = Condition::matches("document_type", vec!["Nghị định".to_owned()]);
        assert_eq!(filter.must[2], expected);
    }

    #[test]
    fn unreachable_servers_are_a_clear_error() {
        let config = StoreConfig {
            kind: crate::config::StoreKind::Qdrant,
            // Port 9 (discard) on loopback: nothing listens there.
            url: "http://127.0.0.1:9".into(),
            timeout_secs: 2,
            ..StoreConfig::default()
        };
        let info = CollectionInfo {
            model_id: "m".into(),
            dimension: 3,
        };
        match QdrantStore::open(&config, &info) {
            Err(StoreError::Unreachable { url, .. }) => assert_eq!(url, "http://127.0.0.1:9"),
            Err(other) => panic!("expected Unreachable, got {other}"),
            Ok(_) => panic!("nothing listens on port 9"),
        }
    }
}
