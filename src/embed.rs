//! Dense embeddings: multilingual-e5-small as an ONNX graph run by ONNX Runtime through fastembed.
//!
//! The model files and the ONNX Runtime library are provisioned by `scripts/provision.sh` into
//! `models/` (nothing is downloaded at run time). Calls are blocking and CPU-heavy: async callers
//! must use `spawn_blocking`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};
use sha2::{Digest, Sha256};

/// e5 was trained with these prefixes; without them retrieval quality drops noticeably.
const QUERY_PREFIX: &str = "query: ";
const PASSAGE_PREFIX: &str = "passage: ";
/// The model's context length in tokens.
pub const MAX_TOKENS: usize = 512;
/// Oldest ONNX Runtime whose C API (level 24) the pinned `ort` needs; older ones are refused by ort.
const MIN_ORT_VERSION: (u32, u32) = (1, 24);

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("model file {path} is missing: run `scripts/provision.sh` (or `make models`) first")]
    MissingFile { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no ONNX Runtime library (libonnxruntime.so.<version>) in {dir}: run `scripts/provision.sh`")]
    MissingRuntime { dir: PathBuf },
    #[error("ONNX Runtime {found} is too old: version {}.{} or newer is required", MIN_ORT_VERSION.0, MIN_ORT_VERSION.1)]
    RuntimeTooOld { found: String },
    #[error("cannot load ONNX Runtime from {path}: {message}")]
    RuntimeLoad { path: PathBuf, message: String },
    #[error("cannot create the embedding model: {0}")]
    Model(String),
    #[error("embedding failed: {0}")]
    Inference(String),
}

/// Turns texts into dense vectors. One seam so that the pipeline does not know about ONNX.
pub trait Embedder: Send + Sync {
    /// Identifies the model and its exact weights; stored with the index so that vectors of two
    /// different models are never compared.
    fn model_id(&self) -> &str;
    fn dimension(&self) -> usize;
    /// Embeds passages (the `passage: ` prefix is added here). Blocking.
    fn embed_passages(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Embeds a question (the `query: ` prefix is added here). Blocking.
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError>;
    /// How many embeddings can run side by side at full speed (the model's sessions).
    fn parallelism(&self) -> usize {
        1
    }
}

/// Where the provisioned model lives.
#[derive(Debug, Clone)]
pub struct ModelPaths {
    /// Directory with `model.onnx`, `tokenizer.json`, `config.json`, `special_tokens_map.json`,
    /// `tokenizer_config.json`.
    pub model_dir: PathBuf,
    /// Directory holding `libonnxruntime.so.<version>`.
    pub runtime_dir: PathBuf,
    /// The graph file in `model_dir`: `model.onnx` (int8, served) or `model-fp32.onnx`.
    pub model_file: String,
}

impl ModelPaths {
    pub fn under(models_dir: &Path) -> ModelPaths {
        ModelPaths {
            model_dir: models_dir.join("e5-small"),
            runtime_dir: models_dir.join("onnxruntime"),
            model_file: "model.onnx".into(),
        }
    }

    pub fn tokenizer_file(&self) -> PathBuf {
        self.model_dir.join("tokenizer.json")
    }
}

/// multilingual-e5-small on ONNX Runtime, with a small pool of sessions: fastembed sessions need
/// `&mut`, and one intra-op thread per session is as fast as two, so parallelism comes from
/// running several sessions side by side.
pub struct E5Embedder {
    sessions: Vec<Mutex<TextEmbedding>>,
    model_id: String,
}

impl E5Embedder {
    pub const DIMENSION: usize = 384;

    /// Loads the model with `session_count` sessions of one thread each.
    pub fn load(paths: &ModelPaths, session_count: usize) -> Result<E5Embedder, EmbedError> {
        let environment = init_runtime(&paths.runtime_dir)?;
        let onnx = read(&paths.model_dir.join(&paths.model_file))?;
        let tokenizer_files = TokenizerFiles {
            tokenizer_file: read(&paths.model_dir.join("tokenizer.json"))?,
            config_file: read(&paths.model_dir.join("config.json"))?,
            special_tokens_map_file: read(&paths.model_dir.join("special_tokens_map.json"))?,
            tokenizer_config_file: read(&paths.model_dir.join("tokenizer_config.json"))?,
        };
        let weights_digest = hex::encode(Sha256::digest(&onnx));
        // The suffix names how passages are run (one at a time, see `embed_locked`): vectors of
        // the batched runs before it differ a little, so caches and indexes of those are not mixed
        // with these.
        let model_id = format!("multilingual-e5-small/{}/unbatched", &weights_digest[..16]);

        let mut sessions = Vec::new();
        for _ in 0..session_count.max(1) {
            let model = UserDefinedEmbeddingModel::new(onnx.clone(), tokenizer_files.clone())
                .with_pooling(Pooling::Mean);
            let options = InitOptionsUserDefined::new()
                .with_environment(environment.clone())
                .with_max_length(MAX_TOKENS)
                .with_intra_threads(1);
            let session = TextEmbedding::try_new_from_user_defined(model, options)
                .map_err(|e| EmbedError::Model(e.to_string()))?;
            sessions.push(Mutex::new(session));
        }
        Ok(E5Embedder { sessions, model_id })
    }

    /// Embeds already-prefixed texts on one session, choosing a free one when possible.
    fn embed_on_any_session(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        let session = self
            .sessions
            .iter()
            .find_map(|s| s.try_lock().ok())
            .unwrap_or_else(|| lock(&self.sessions[0]));
        embed_locked(session, texts)
    }
}

fn lock(session: &Mutex<TextEmbedding>) -> std::sync::MutexGuard<'_, TextEmbedding> {
    // A panic inside ONNX Runtime cannot leave the session half-updated in a way we could observe;
    // keep serving rather than poisoning every later request.
    session
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs texts through the model one at a time. The served int8 graph quantises each layer's
/// activations by the range of the whole input tensor, so a passage run in a batch got a vector
/// that depended on its batch mates (cosine about 0.998 between two batchings): the same text
/// embedded at a first start and on a rebuild tipped near ties differently. Alone, a text always
/// gets the same vector, a little closer to the float32 model's (mean cosine 0.99714 against
/// 0.99666), and on this 2-core machine 28% more passages a second on one thread, with no padding
/// to compute (`cargo run --release --example embedding_batches`,
/// `eval/reports/2026-12-06-unbatched-embedding.md`).
fn embed_locked(
    mut session: std::sync::MutexGuard<'_, TextEmbedding>,
    texts: Vec<String>,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    session
        .embed(texts, Some(1))
        .map_err(|e| EmbedError::Inference(e.to_string()))
}

impl Embedder for E5Embedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        Self::DIMENSION
    }

    fn embed_passages(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let prefixed: Vec<String> = texts
            .iter()
            .map(|t| format!("{PASSAGE_PREFIX}{t}"))
            .collect();
        if self.sessions.len() == 1 || prefixed.len() < 2 {
            return self.embed_on_any_session(prefixed);
        }
        // Split the batch across sessions, one thread each, and keep the input order.
        let part_size = prefixed.len().div_ceil(self.sessions.len());
        let parts: Vec<Vec<String>> = prefixed.chunks(part_size).map(<[String]>::to_vec).collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .into_iter()
                .zip(&self.sessions)
                .map(|(part, session)| scope.spawn(move || embed_locked(lock(session), part)))
                .collect();
            let mut vectors = Vec::with_capacity(texts.len());
            for handle in handles {
                let part = handle
                    .join()
                    .map_err(|_| EmbedError::Inference("an embedding thread panicked".into()))??;
                vectors.extend(part);
            }
            Ok(vectors)
        })
    }

    fn parallelism(&self) -> usize {
        self.sessions.len()
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut vectors = self.embed_on_any_session(vec![format!("{QUERY_PREFIX}{text}")])?;
        vectors
            .pop()
            .ok_or_else(|| EmbedError::Inference("no vector returned".into()))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
    if !path.exists() {
        return Err(EmbedError::MissingFile {
            path: path.to_owned(),
        });
    }
    std::fs::read(path).map_err(|source| EmbedError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Loads ONNX Runtime once per process. `ort` panics on a missing or too old library, so the file
/// and its version are checked here first and reported as errors.
fn init_runtime(runtime_dir: &Path) -> Result<ort::environment::Environment, EmbedError> {
    static RUNTIME: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    let library = find_runtime_library(runtime_dir)?;
    let outcome = RUNTIME.get_or_init(|| {
        let builder = ort::init_from(&library).map_err(|e| e.to_string())?;
        builder
            .with_name("hoiluat")
            .build()
            .map_err(|e| e.to_string())
    });
    match outcome {
        Ok(environment) => Ok(environment.clone()),
        Err(message) => Err(EmbedError::RuntimeLoad {
            path: library,
            message: message.clone(),
        }),
    }
}

/// Finds `libonnxruntime.so.<major>.<minor>.<patch>` in `dir` and checks its version.
pub fn find_runtime_library(dir: &Path) -> Result<PathBuf, EmbedError> {
    let missing = || EmbedError::MissingRuntime {
        dir: dir.to_owned(),
    };
    let entries = std::fs::read_dir(dir).map_err(|_| missing())?;
    let mut best: Option<((u32, u32), PathBuf)> = None;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = name.strip_prefix("libonnxruntime.so.") else {
            continue;
        };
        let mut numbers = version.split('.').map(|n| n.parse::<u32>().ok());
        let (Some(Some(major)), Some(Some(minor))) = (numbers.next(), numbers.next()) else {
            continue;
        };
        if best.as_ref().is_none_or(|(v, _)| (major, minor) > *v) {
            best = Some(((major, minor), entry.path()));
        }
    }
    let (version, path) = best.ok_or_else(missing)?;
    if version < MIN_ORT_VERSION {
        return Err(EmbedError::RuntimeTooOld {
            found: format!("{}.{}", version.0, version.1),
        });
    }
    Ok(path)
}

/// Counts model tokens exactly as the model will see them (without truncation), for chunking.
pub struct TokenCounter {
    tokenizer: tokenizers::Tokenizer,
}

impl TokenCounter {
    pub fn load(tokenizer_file: &Path) -> Result<TokenCounter, EmbedError> {
        if !tokenizer_file.exists() {
            return Err(EmbedError::MissingFile {
                path: tokenizer_file.to_owned(),
            });
        }
        let mut tokenizer = tokenizers::Tokenizer::from_file(tokenizer_file)
            .map_err(|e| EmbedError::Model(format!("tokenizer: {e}")))?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| EmbedError::Model(e.to_string()))?;
        tokenizer.with_padding(None);
        Ok(TokenCounter { tokenizer })
    }

    /// Tokens of a passage as embedded: prefix and special tokens included.
    pub fn passage_tokens(&self, text: &str) -> usize {
        let prefixed = format!("{PASSAGE_PREFIX}{text}");
        // `encode_fast` skips the character offsets, which counting does not need: chunking the
        // whole compendium at start-up tokenises ~100 MB.
        self.tokenizer
            .encode_fast(prefixed, true)
            .map(|encoding| encoding.len())
            // An encoding failure is treated as "too long" so the caller splits the text further.
            .unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_library_version_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            find_runtime_library(dir.path()),
            Err(EmbedError::MissingRuntime { .. })
        ));
        std::fs::write(dir.path().join("libonnxruntime.so.1.23.2"), b"").unwrap();
        assert!(matches!(
            find_runtime_library(dir.path()),
            Err(EmbedError::RuntimeTooOld { .. })
        ));
        std::fs::write(dir.path().join("libonnxruntime.so.1.31.1"), b"").unwrap();
        let found = find_runtime_library(dir.path()).unwrap();
        assert!(found.ends_with("libonnxruntime.so.1.31.1"));
    }
}
