//! Layered configuration: compiled-in defaults, then an optional TOML file, then environment
//! variables `HOILUAT__SECTION__KEY` (e.g. `HOILUAT__SERVER__BIND=0.0.0.0:8080`). Later layers win.
//! Unknown keys are errors, so a typo never silently falls back to a default.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub paths: PathsConfig,
    pub model: ModelConfig,
    pub retrieval: RetrievalConfig,
    pub conversation: ConversationConfig,
    pub log: LogConfig,
    pub database: DatabaseConfig,
    pub channels: ChannelsConfig,
    pub staff: StaffConfig,
    pub store: StoreConfig,
    pub metrics: MetricsConfig,
    pub platform: PlatformConfig,
}

/// Prometheus metrics (`src/metrics.rs`, `docs/operations.md`). Off unless one of the two is set.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics` on this address of its own, e.g. `127.0.0.1:9464`.
    pub bind: String,
    /// Require `Authorization: Bearer <token>` (at least 32 characters). Without `bind`,
    /// `/metrics` is then served on the service's own address.
    #[serde(deserialize_with = "text")]
    pub token: String,
}

impl MetricsConfig {
    pub fn enabled(&self) -> bool {
        !self.bind.is_empty() || !self.token.is_empty()
    }

    fn validate(&self) -> Result<(), String> {
        if !self.token.is_empty() && self.token.chars().count() < 32 {
            return Err("metrics.token must be at least 32 characters".into());
        }
        Ok(())
    }
}

/// The token never reaches logs.
impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("bind", &self.bind)
            .field("token", &(!self.token.is_empty()).then_some("<redacted>"))
            .finish()
    }
}

/// Which vector store holds the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// In-process, in `<paths.data_dir>/index`: one process.
    Embedded,
    /// A Qdrant server or cluster shared by any number of replicas.
    Qdrant,
}

/// Where the vector index lives: the embedded engine in `<paths.data_dir>/index` (one process),
/// or a Qdrant server or cluster shared by any number of replicas.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub kind: StoreKind,
    /// gRPC URL of the Qdrant server (port 6334), e.g. `http://127.0.0.1:6334`; needed for `qdrant`.
    pub url: String,
    /// Qdrant's API key, when the server requires one.
    #[serde(deserialize_with = "optional_text")]
    pub api_key: Option<String>,
    /// The name the service reads and writes: an alias of the current collection generation
    /// (created as `<collection>-1` on first use), so a re-index can switch it atomically.
    #[serde(deserialize_with = "text")]
    pub collection: String,
    /// Shards of a new collection (fixed once created; choose at least the number of nodes).
    pub shard_number: u32,
    /// Copies of every shard on different nodes (2 or more in a cluster of 3 or more).
    pub replication_factor: u32,
    /// Replicas that must acknowledge a write before it succeeds.
    pub write_consistency_factor: u32,
    /// Longest wait for one request to the server.
    pub timeout_secs: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            kind: StoreKind::Embedded,
            url: String::new(),
            api_key: None,
            collection: "hoiluat".into(),
            shard_number: 1,
            replication_factor: 1,
            write_consistency_factor: 1,
            timeout_secs: 10,
        }
    }
}

/// The API key never reaches logs.
impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("collection", &self.collection)
            .field("shard_number", &self.shard_number)
            .field("replication_factor", &self.replication_factor)
            .field("write_consistency_factor", &self.write_consistency_factor)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl StoreConfig {
    fn validate(&self) -> Result<(), String> {
        match self.kind {
            StoreKind::Embedded => Ok(()),
            StoreKind::Qdrant => {
                if self.url.is_empty() {
                    return Err(
                        "store.kind = \"qdrant\" needs store.url (e.g. http://127.0.0.1:6334)"
                            .into(),
                    );
                }
                if self.collection.is_empty()
                    || self.shard_number == 0
                    || self.replication_factor == 0
                    || self.write_consistency_factor == 0
                    || self.timeout_secs == 0
                {
                    return Err("store.collection must be set and store.shard_number, store.replication_factor, store.write_consistency_factor and store.timeout_secs must be positive".into());
                }
                if self.write_consistency_factor > self.replication_factor {
                    return Err(
                        "store.write_consistency_factor cannot exceed store.replication_factor"
                            .into(),
                    );
                }
                Ok(())
            }
        }
    }
}

/// The staff console (`/staff`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaffConfig {
    pub enabled: bool,
    /// A session ends this many hours after sign-in.
    pub session_hours: u64,
    /// Failed sign-ins in a row before the account is locked.
    pub max_failed_logins: u32,
    pub lockout_minutes: u64,
    /// Mark session cookies `Secure` (sent over HTTPS only; browsers also accept them from
    /// http://localhost). Turn off only behind a TLS-terminating proxy that rewrites cookies.
    pub secure_cookies: bool,
    /// Citizens' message texts older than this many days are erased (0 keeps them).
    pub retention_days: u64,
}

impl Default for StaffConfig {
    fn default() -> Self {
        StaffConfig {
            enabled: true,
            session_hours: 8,
            max_failed_logins: 5,
            lockout_minutes: 15,
            secure_cookies: true,
            retention_days: 730,
        }
    }
}

/// Which database holds conversations, feedback, reviews, staff and curated answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    /// One embedded file: one machine.
    Sqlite,
    /// A server shared by any number of replicas.
    Postgres,
}

/// Where conversations, feedback, reviews, staff, audit and curated answers live: an embedded
/// SQLite file (one machine), or a PostgreSQL server shared by any number of replicas.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub kind: DatabaseKind,
    /// The SQLite file (created with its directory on first start); default
    /// `<paths.data_dir>/hoiluat.sqlite3`.
    pub path: Option<PathBuf>,
    /// PostgreSQL connection URL, needed for `postgres`, e.g.
    /// `postgres://hoiluat:PASSWORD@10.0.0.5:5432/hoiluat` (no TLS: keep the server on a private
    /// network). Best given as `HOILUAT__DATABASE__URL`, not in a file.
    pub url: String,
    /// Most PostgreSQL connections one process opens.
    pub pool_size: usize,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            kind: DatabaseKind::Sqlite,
            path: None,
            url: String::new(),
            pool_size: 8,
        }
    }
}

/// The URL's password never reaches logs.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = match (self.url.find("://"), self.url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}<redacted>{}", &self.url[..scheme + 3], &self.url[at..])
            }
            _ => self.url.clone(),
        };
        f.debug_struct("DatabaseConfig")
            .field("kind", &self.kind)
            .field("path", &self.path)
            .field("url", &url)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl DatabaseConfig {
    pub fn path(&self, paths: &PathsConfig) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| paths.data_dir.join("hoiluat.sqlite3"))
    }

    fn validate(&self) -> Result<(), String> {
        match self.kind {
            DatabaseKind::Sqlite => Ok(()),
            DatabaseKind::Postgres if self.url.is_empty() => Err(
                "database.kind = \"postgres\" needs database.url (e.g. postgres://hoiluat:…@127.0.0.1:5432/hoiluat)".into(),
            ),
            DatabaseKind::Postgres if self.pool_size == 0 => {
                Err("database.pool_size must be positive".into())
            }
            DatabaseKind::Postgres => Ok(()),
        }
    }
}

/// The messaging channels. Each platform adapter is off until its secrets are configured; the web
/// widget is on by default (it needs no secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelsConfig {
    /// Tasks answering queued messages; messages of one conversation always go to the same one,
    /// so follow-ups are answered in order.
    pub workers: usize,
    /// Messages one user may send per minute before being asked to slow down.
    pub user_messages_per_minute: u32,
    /// Attempts to deliver one part of a reply on retryable errors, with exponential backoff.
    pub send_attempts: u32,
    pub retry_base_ms: u64,
    /// Longest wait for one outbound platform request.
    pub send_timeout_secs: u64,
    /// A worker's claim on a message lasts this long; a message whose worker died (on any replica)
    /// is taken over after it. Longer than the slowest delivery with all its retries.
    pub claim_lease_secs: u64,
    /// A question at least this similar (cosine of the question embeddings) to the question of
    /// a staff-approved curated answer gets that answer first. Measured with e5-small: paraphrases
    /// of a question score 0.94-0.95, a different question with the same words ("Nữ bao nhiêu
    /// tuổi thì được nghỉ hưu?" against the marriage age) 0.91, another procedure 0.87-0.89.
    pub curated_similarity: f32,
    pub zalo_oa: ZaloOaConfig,
    pub zalo_bot: ZaloBotConfig,
    pub telegram: TelegramConfig,
    pub web: WebConfig,
}

impl Default for ChannelsConfig {
    fn default() -> Self {
        ChannelsConfig {
            workers: 4,
            user_messages_per_minute: 12,
            send_attempts: 4,
            retry_base_ms: 500,
            send_timeout_secs: 10,
            claim_lease_secs: 300,
            curated_similarity: 0.935,
            zalo_oa: ZaloOaConfig::default(),
            zalo_bot: ZaloBotConfig::default(),
            telegram: TelegramConfig::default(),
            web: WebConfig::default(),
        }
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZaloOaConfig {
    pub enabled: bool,
    #[serde(deserialize_with = "text")]
    pub app_id: String,
    /// The app secret (`secret_key` header of token refresh).
    #[serde(deserialize_with = "text")]
    pub app_secret: String,
    /// The OA secret key that signs webhooks (`X-ZEvent-Signature`).
    #[serde(deserialize_with = "text")]
    pub oa_secret_key: String,
    /// First token pair; after the first refresh the pair lives in the database.
    #[serde(deserialize_with = "text")]
    pub access_token: String,
    #[serde(deserialize_with = "text")]
    pub refresh_token: String,
    pub api_base: String,
    pub oauth_base: String,
    /// Webhook events whose `timestamp` is further than this from now are rejected as replays
    /// (0 turns the check off). Zalo's own retries of older events are then refused too.
    pub max_event_age_secs: u64,
}

impl Default for ZaloOaConfig {
    fn default() -> Self {
        ZaloOaConfig {
            enabled: false,
            app_id: String::new(),
            app_secret: String::new(),
            oa_secret_key: String::new(),
            access_token: String::new(),
            refresh_token: String::new(),
            api_base: "https://openapi.zalo.me".into(),
            oauth_base: "https://oauth.zaloapp.com".into(),
            max_event_age_secs: 600,
        }
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZaloBotConfig {
    pub enabled: bool,
    #[serde(deserialize_with = "text")]
    pub token: String,
    /// The `secret_token` given to `setWebhook` (8-256 characters).
    #[serde(deserialize_with = "text")]
    pub secret_token: String,
    pub api_base: String,
}

impl Default for ZaloBotConfig {
    fn default() -> Self {
        ZaloBotConfig {
            enabled: false,
            token: String::new(),
            secret_token: String::new(),
            api_base: "https://bot-api.zaloplatforms.com".into(),
        }
    }
}

/// How Telegram delivers updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TelegramMode {
    /// Telegram POSTs to our webhook (needs public HTTPS).
    Webhook,
    /// We call `getUpdates` (no public address needed).
    Polling,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    pub enabled: bool,
    #[serde(deserialize_with = "text")]
    pub token: String,
    pub mode: TelegramMode,
    /// The `secret_token` given to `setWebhook` (1-256 of A-Z a-z 0-9 _ -).
    #[serde(deserialize_with = "text")]
    pub secret_token: String,
    /// Bot API base URL; empty for Telegram's own.
    pub api_url: String,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            enabled: false,
            token: String::new(),
            mode: TelegramMode::Webhook,
            secret_token: String::new(),
            api_url: String::new(),
        }
    }
}

/// What a secret looks like in logs: whether it is set, never its value.
fn redacted(secret: &str) -> &'static str {
    if secret.is_empty() {
        ""
    } else {
        "<redacted>"
    }
}

/// The secrets and tokens never reach logs.
impl std::fmt::Debug for ZaloOaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZaloOaConfig")
            .field("enabled", &self.enabled)
            .field("app_id", &self.app_id)
            .field("app_secret", &redacted(&self.app_secret))
            .field("oa_secret_key", &redacted(&self.oa_secret_key))
            .field("access_token", &redacted(&self.access_token))
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("api_base", &self.api_base)
            .field("oauth_base", &self.oauth_base)
            .field("max_event_age_secs", &self.max_event_age_secs)
            .finish()
    }
}

/// The token (part of every Bot API URL) and the webhook secret never reach logs.
impl std::fmt::Debug for ZaloBotConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZaloBotConfig")
            .field("enabled", &self.enabled)
            .field("token", &redacted(&self.token))
            .field("secret_token", &redacted(&self.secret_token))
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// The bot token and the webhook secret never reach logs.
impl std::fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("enabled", &self.enabled)
            .field("token", &redacted(&self.token))
            .field("mode", &self.mode)
            .field("secret_token", &redacted(&self.secret_token))
            .field("api_url", &self.api_url)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    pub enabled: bool,
    /// Origins of sites allowed to embed the widget (CORS), e.g. `https://sotuphap.quangngai.gov.vn`.
    /// Empty: only pages served by this service.
    pub allowed_origins: Vec<String>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            enabled: true,
            allowed_origins: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Loopback by default: put a reverse proxy with TLS in front.
    pub bind: String,
    /// Longest accepted question, in characters.
    pub max_question_chars: usize,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Questions answered at the same time; more get "busy, retry after".
    pub max_concurrent_asks: usize,
    /// How long a question waits for a free slot before it is answered 503 busy.
    pub queue_wait_ms: u64,
    pub request_timeout_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathsConfig {
    pub corpus_dir: PathBuf,
    /// Where the index and ingest state live.
    pub data_dir: PathBuf,
    pub models_dir: PathBuf,
    pub prompts_dir: PathBuf,
    /// The vector cache (see `vector_cache`); default `<data_dir>/vector-cache`.
    pub vector_cache_dir: Option<PathBuf>,
}

impl PathsConfig {
    pub fn vector_cache_dir(&self) -> PathBuf {
        self.vector_cache_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("vector-cache"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// ONNX Runtime sessions of one thread each, run side by side: an ingest batch is split
    /// across them, and concurrent questions each take a free one. Defaults to the core count.
    pub sessions: usize,
    /// Passages taken per step during ingest: looked up in the vector cache, split across the
    /// sessions (each embeds its share one passage at a time, `embed::E5Embedder`) and stored.
    pub ingest_batch: usize,
    /// Seconds between flushes of the index during ingest: what a crash can lose (the next ingest
    /// redoes it from the vector cache). Flushing costs a little time each.
    pub ingest_flush_secs: u64,
    /// Chunks stored between two optimisations of the index during a long ingest (0: only at the
    /// end). Small steps bound the memory the engine's segment rebuild takes.
    pub ingest_optimize_every: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrievalConfig {
    /// Province slug whose documents are searched besides national ones (`quang-ngai`).
    pub province: String,
    /// Also search documents no longer in force (answers then carry a warning).
    pub include_expired: bool,
    pub prefetch_limit: usize,
    pub rrf_k: usize,
    /// Fusion weights of the dense, toned-lexical and plain-lexical channels.
    pub weights: [f32; 3],
    /// Rewrite chat questions with `prompts/vocabulary.toml` before searching.
    pub rewrite_queries: bool,
    /// Restore the diacritics of questions typed without them before embedding.
    pub restore_diacritics: bool,
    /// Answers of standalone questions kept in memory (0 turns the answer cache off).
    pub answer_cache_capacity: u64,
    pub answer_cache_ttl_secs: u64,
    /// Weight of the heading match (how much of an article's heading the question, with the cues
    /// of what it asks for, names) in the order of candidates; 0 turns it off. Not part of the
    /// confidence.
    pub heading_weight: f32,
    /// Below this probability that the first article answers the question (the calibrated
    /// ranker's confidence), the question is declined and flagged for staff. With round 16's
    /// calibration, fitted on narrative chat questions as well as Zalo's, the default 0.05
    /// declines out of fold 3.7% of Zalo dev, 1.9% of citizen-dev, 4.8% of fields-dev and 7-17%
    /// of the written fresh sets (eval/reports/2026-12-07-ranker-round16-G.md); round 11's
    /// declined 30-46% of those held out (eval/README.md, rounds 15 and 16).
    pub decline_below: f32,
    /// Below this probability an answer is given but flagged for staff review. The default 0.70
    /// was chosen on two spent held-out sets (eval/README.md, round 16): the smallest bar at which
    /// no more questions asked without their gold documents pass unflagged than under round 11,
    /// and every answerable answer left unflagged was right. Out of fold 1.9% of gold-excluded
    /// questions reach it, and 85% of answerable ones are flagged.
    pub review_below: f32,
    /// Articles quoted at most in one answer.
    pub max_articles: usize,
    /// Clauses quoted at most per article.
    pub max_clauses_per_article: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConversationConfig {
    /// A conversation is forgotten after this many seconds without a message.
    pub idle_ttl_secs: u64,
    pub max_conversations: u64,
    /// Previous turns kept per conversation.
    pub max_turns: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `pretty` for people, `json` for log collectors.
    pub format: String,
    /// A `tracing` filter, e.g. `info,hoiluat=debug`.
    pub filter: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            max_question_chars: 1_000,
            max_body_bytes: 16 * 1024,
            max_concurrent_asks: 8,
            queue_wait_ms: 2_000,
            request_timeout_secs: 30,
        }
    }
}

impl Default for PathsConfig {
    fn default() -> Self {
        PathsConfig {
            corpus_dir: "corpus".into(),
            data_dir: "data".into(),
            models_dir: "models".into(),
            prompts_dir: "prompts".into(),
            vector_cache_dir: None,
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ModelConfig {
            sessions: cores,
            ingest_batch: 32,
            ingest_flush_secs: 10,
            ingest_optimize_every: 10_000,
        }
    }
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        RetrievalConfig {
            province: "quang-ngai".into(),
            include_expired: false,
            prefetch_limit: 40,
            rrf_k: 60,
            weights: [1.0, 1.0, 0.7],
            rewrite_queries: true,
            restore_diacritics: true,
            answer_cache_capacity: 10_000,
            answer_cache_ttl_secs: 3_600,
            heading_weight: 0.1,
            decline_below: 0.05,
            review_below: 0.70,
            max_articles: 2,
            max_clauses_per_article: 2,
        }
    }
}

impl Default for ConversationConfig {
    fn default() -> Self {
        ConversationConfig {
            idle_ttl_secs: 30 * 60,
            max_conversations: 100_000,
            max_turns: 6,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "pretty".into(),
            filter: "info".into(),
        }
    }
}

/// Ids and secrets are text, even when a TOML file writes them as numbers (`app_id = 1234567890`):
/// Zalo's app and OA ids are all digits. (From the environment they are read verbatim, see
/// [`VERBATIM_KEYS`].)
fn text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Unsigned(u64),
        Signed(i64),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::Text(text) => text,
        Raw::Unsigned(number) => number.to_string(),
        Raw::Signed(number) => number.to_string(),
    })
}

/// `Option` of [`text`].
fn optional_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Text(#[serde(deserialize_with = "text")] String);
    Ok(Option::<Text>::deserialize(deserializer)?.map(|Text(text)| text))
}

/// Settings that are identifiers, tokens or secrets. figment reads an environment value like a
/// TOML value, so `0012345678` would lose its zeros, `1e5` become a float and `true` a boolean;
/// these keys are taken from the environment exactly as written instead.
const VERBATIM_KEYS: &[&str] = &[
    "channels.zalo_oa.app_id",
    "channels.zalo_oa.app_secret",
    "channels.zalo_oa.oa_secret_key",
    "channels.zalo_oa.access_token",
    "channels.zalo_oa.refresh_token",
    "channels.zalo_bot.token",
    "channels.zalo_bot.secret_token",
    "channels.telegram.token",
    "channels.telegram.secret_token",
    "metrics.token",
    "store.api_key",
    "store.collection",
];

/// The `HOILUAT__…` environment variables, keys split on `__`.
fn environment() -> Env {
    Env::prefixed("HOILUAT__").split("__")
}

fn is_verbatim(key: &figment::value::UncasedStr) -> bool {
    VERBATIM_KEYS.iter().any(|verbatim| key == *verbatim)
}

impl Config {
    /// Loads defaults → `file` (when given; it must exist) → `HOILUAT__…` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(format!("config file {} does not exist", file.display()));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(environment().filter(|key| !is_verbatim(key)));
        for (key, value) in environment().filter(is_verbatim).iter() {
            figment = figment.merge(Serialized::default(key.as_str(), value));
        }
        let config: Config = figment
            .extract()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let r = &self.retrieval;
        if !(0.0..=1.0).contains(&r.decline_below) || !(0.0..=1.0).contains(&r.review_below) {
            return Err(
                "retrieval.decline_below and retrieval.review_below must be within 0..1".into(),
            );
        }
        if r.prefetch_limit == 0 || r.max_articles == 0 || self.server.max_concurrent_asks == 0 {
            return Err("retrieval.prefetch_limit, retrieval.max_articles and server.max_concurrent_asks must be positive".into());
        }
        self.store.validate()?;
        self.database.validate()?;
        self.metrics.validate()?;
        self.platform.validate()?;
        self.validate_channels()
    }

    fn validate_channels(&self) -> Result<(), String> {
        let c = &self.channels;
        if c.workers == 0 || c.send_attempts == 0 || c.user_messages_per_minute == 0 {
            return Err("channels.workers, channels.send_attempts and channels.user_messages_per_minute must be positive".into());
        }
        let oa = &c.zalo_oa;
        if oa.enabled && (oa.app_id.is_empty() || oa.oa_secret_key.is_empty()) {
            return Err("channels.zalo_oa.enabled needs app_id and oa_secret_key".into());
        }
        let bot = &c.zalo_bot;
        if bot.enabled && (bot.token.is_empty() || !(8..=256).contains(&bot.secret_token.len())) {
            return Err(
                "channels.zalo_bot.enabled needs token and a secret_token of 8-256 characters"
                    .into(),
            );
        }
        let tg = &c.telegram;
        if tg.enabled {
            if tg.token.is_empty() {
                return Err("channels.telegram.enabled needs token".into());
            }
            let valid_secret = (1..=256).contains(&tg.secret_token.len())
                && tg
                    .secret_token
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
            if tg.mode == TelegramMode::Webhook && !valid_secret {
                return Err("channels.telegram.mode = \"webhook\" needs a secret_token of 1-256 characters A-Z a-z 0-9 _ -".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
// figment::Jail returns its large error type by design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "h.toml",
                "[server]\nbind = \"127.0.0.1:9000\"\nmax_question_chars = 500\n",
            )?;
            jail.set_env("HOILUAT__SERVER__BIND", "127.0.0.1:9100");
            jail.set_env("HOILUAT__RETRIEVAL__PROVINCE", "da-nang");
            let config = Config::load(Some(Path::new("h.toml"))).unwrap();
            assert_eq!(config.server.bind, "127.0.0.1:9100");
            assert_eq!(config.server.max_question_chars, 500);
            assert_eq!(config.retrieval.province, "da-nang");
            assert_eq!(config.paths.corpus_dir, PathBuf::from("corpus"));
            Ok(())
        });
    }

    #[test]
    fn the_store_section_is_validated() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(Config::load(None).unwrap().store.kind, StoreKind::Embedded);
            jail.create_file("no-url.toml", "[store]\nkind = \"qdrant\"\n")?;
            let error = Config::load(Some(Path::new("no-url.toml"))).unwrap_err();
            assert!(error.contains("store.url"), "{error}");
            jail.create_file("bad-kind.toml", "[store]\nkind = \"milvus\"\n")?;
            assert!(Config::load(Some(Path::new("bad-kind.toml"))).is_err());
            jail.create_file(
                "cluster.toml",
                "[store]\nkind = \"qdrant\"\nurl = \"http://q:6334\"\nshard_number = 6\nreplication_factor = 2\n",
            )?;
            jail.set_env("HOILUAT__STORE__API_KEY", "s3cret");
            let store = Config::load(Some(Path::new("cluster.toml"))).unwrap().store;
            assert_eq!((store.shard_number, store.replication_factor), (6, 2));
            assert_eq!(store.api_key.as_deref(), Some("s3cret"));
            assert!(
                !format!("{store:?}").contains("s3cret"),
                "the API key is redacted"
            );
            Ok(())
        });
    }

    #[test]
    fn ids_and_secrets_of_digits_stay_text() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HOILUAT__CHANNELS__ZALO_OA__APP_ID", "1234567890");
            jail.set_env("HOILUAT__CHANNELS__ZALO_OA__OA_SECRET_KEY", "20261205");
            jail.set_env("HOILUAT__CHANNELS__ZALO_BOT__SECRET_TOKEN", "12345678");
            let config = Config::load(None).unwrap();
            assert_eq!(config.channels.zalo_oa.app_id, "1234567890");
            assert_eq!(config.channels.zalo_oa.oa_secret_key, "20261205");
            assert_eq!(config.channels.zalo_bot.secret_token, "12345678");
            jail.create_file("h.toml", "[channels.telegram]\ntoken = \"123:abc\"\n")?;
            let config = Config::load(Some(Path::new("h.toml"))).unwrap();
            assert_eq!(config.channels.telegram.token, "123:abc");
            Ok(())
        });
    }

    /// Every id-like setting keeps exactly what was written, whatever it looks like to a TOML
    /// reader: leading zeros, exponents, huge numbers, booleans.
    #[test]
    fn id_like_settings_keep_what_was_written() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HOILUAT__CHANNELS__ZALO_OA__APP_ID", "0012345678");
            jail.set_env("HOILUAT__CHANNELS__ZALO_OA__OA_SECRET_KEY", "1e5");
            jail.set_env(
                "HOILUAT__CHANNELS__ZALO_OA__APP_SECRET",
                "123456789012345678901234567890",
            );
            jail.set_env("HOILUAT__CHANNELS__ZALO_OA__ACCESS_TOKEN", "true");
            jail.set_env("HOILUAT__CHANNELS__ZALO_OA__REFRESH_TOKEN", "12.50");
            jail.set_env("HOILUAT__CHANNELS__ZALO_BOT__SECRET_TOKEN", "00012345");
            jail.set_env("HOILUAT__CHANNELS__TELEGRAM__SECRET_TOKEN", "0x1F");
            jail.set_env("HOILUAT__METRICS__TOKEN", "0".repeat(40));
            jail.set_env("HOILUAT__STORE__API_KEY", "-0012");
            jail.set_env("HOILUAT__STORE__COLLECTION", "2026");
            let config = Config::load(None).unwrap();
            let oa = &config.channels.zalo_oa;
            assert_eq!(oa.app_id, "0012345678");
            assert_eq!(oa.oa_secret_key, "1e5");
            assert_eq!(oa.app_secret, "123456789012345678901234567890");
            assert_eq!(oa.access_token, "true");
            assert_eq!(oa.refresh_token, "12.50");
            assert_eq!(config.channels.zalo_bot.secret_token, "00012345");
            assert_eq!(config.channels.telegram.secret_token, "0x1F");
            assert_eq!(config.metrics.token, "0".repeat(40));
            assert_eq!(config.store.api_key.as_deref(), Some("-0012"));
            assert_eq!(config.store.collection, "2026");
            Ok(())
        });
    }

    #[test]
    fn kinds_and_modes_are_named_values() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "kinds.toml",
                "[database]\nkind = \"postgres\"\nurl = \"postgres://h/db\"\n[channels.telegram]\nenabled = true\ntoken = \"1:x\"\nmode = \"polling\"\n",
            )?;
            let config = Config::load(Some(Path::new("kinds.toml"))).unwrap();
            assert_eq!(config.database.kind, DatabaseKind::Postgres);
            assert_eq!(config.channels.telegram.mode, TelegramMode::Polling);
            jail.create_file("mysql.toml", "[database]\nkind = \"mysql\"\n")?;
            let error = Config::load(Some(Path::new("mysql.toml"))).unwrap_err();
            assert!(error.contains("mysql"), "{error}");
            jail.create_file("mode.toml", "[channels.telegram]\nmode = \"push\"\n")?;
            assert!(Config::load(Some(Path::new("mode.toml"))).is_err());
            Ok(())
        });
    }

    #[test]
    fn channel_secrets_are_redacted() {
        let mut channels = ChannelsConfig::default();
        channels.zalo_oa.app_secret = "oa-app-s3cret".into();
        channels.zalo_oa.oa_secret_key = "oa-key-s3cret".into();
        channels.zalo_oa.access_token = "oa-access-s3cret".into();
        channels.zalo_oa.refresh_token = "oa-refresh-s3cret".into();
        channels.zalo_bot.token = "1234:bot-s3cret".into();
        channels.zalo_bot.secret_token = "bot-hook-s3cret".into();
        channels.telegram.token = "5678:tg-s3cret".into();
        channels.telegram.secret_token = "tg-hook-s3cret".into();
        let shown = format!("{channels:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[server]\nbnd = \"x\"\n")?;
            let error = Config::load(Some(Path::new("bad.toml"))).unwrap_err();
            assert!(error.contains("bnd"), "{error}");
            assert!(Config::load(Some(Path::new("missing.toml"))).is_err());
            Ok(())
        });
    }
}

/// The platform around the chatbot (`src/platform/`: handoffs, surveys, SME requests, legal news;
/// `docs/nen-tang.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformConfig {
    /// Take part in the chat flows and run the outbox (the console pages are there either way).
    pub enabled: bool,
    /// Messages per second the outbox sends to one platform at most (legal news, staff replies).
    pub outbox_per_second: f64,
    /// A worker's claim on an outbox row; after it, another replica (or a restart) sends the row.
    pub outbox_lease_secs: u64,
    /// Offer the open survey this many minutes after a conversation's last question, through the
    /// outbox (Zalo and Telegram); 0 offers it only when the citizen says thanks.
    pub survey_offer_after_idle_mins: u64,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        PlatformConfig {
            enabled: true,
            outbox_per_second: 10.0,
            outbox_lease_secs: 60,
            survey_offer_after_idle_mins: 10,
        }
    }
}

impl PlatformConfig {
    fn validate(&self) -> Result<(), String> {
        if !(self.outbox_per_second > 0.0 && self.outbox_per_second <= 30.0) {
            return Err(
                "platform.outbox_per_second must be above 0 and at most 30 (Telegram's limit)"
                    .into(),
            );
        }
        Ok(())
    }
}
