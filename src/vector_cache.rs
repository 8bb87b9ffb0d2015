//! A cache of passage embeddings keyed by model id + SHA-256 of the embedded text, so that an index
//! (a new data directory, an evaluation corpus, a server collection) is rebuilt from vectors
//! already computed instead of from the model: the full compendium costs ~1.5 CPU-hours to embed
//! and minutes to load from the cache.
//!
//! One append-only file per model under the cache directory:
//!
//! ```text
//! b"HLVCACHE" | u32 LE format version | u32 LE header length | header JSON {model_id, dimension}
//! then records: 32-byte SHA-256 of the passage text | dimension × f32 LE
//! ```
//!
//! Appending never rewrites what is there, so a crash can at worst leave a torn last record, which
//! the next open ignores (and truncates). `export` writes a compacted copy (temporary file, then
//! rename); `import` appends the records of another file made with the same model.
//!
//! Only the position of each vector is kept in memory (a key and an offset, 40 bytes a vector);
//! the vector itself is read from the file when asked for: the compendium's 67,000 vectors would
//! otherwise hold about 110 MB for the whole life of the service.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"HLVCACHE";
const FORMAT_VERSION: u32 = 1;

pub type Key = [u8; 32];

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("vector cache {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a Hỏi Luật vector cache (or its format version is unknown)")]
    NotACache { path: String },
    #[error("vector cache {path} holds vectors of model `{found}` ({found_dimension} dimensions), not `{expected}` ({expected_dimension})")]
    WrongModel {
        path: String,
        found: String,
        found_dimension: usize,
        expected: String,
        expected_dimension: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    model_id: String,
    dimension: usize,
}

/// Vectors in memory plus the file they are appended to.
pub struct VectorCache {
    path: PathBuf,
    header: Header,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for VectorCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorCache")
            .field("path", &self.path)
            .field("model_id", &self.header.model_id)
            .finish_non_exhaustive()
    }
}

struct Inner {
    /// Where each vector's data starts in the file.
    offsets: HashMap<Key, u64>,
    /// Appends; flushed before `insert_many` returns, so every offset is readable.
    file: BufWriter<File>,
    /// The file's length, i.e. where the next record starts.
    len: u64,
    /// Reads vectors at their offsets.
    reader: File,
}

/// The key of a passage: SHA-256 of the exact text given to the model (without its prefix).
pub fn key(text: &str) -> Key {
    Sha256::digest(text.as_bytes()).into()
}

impl VectorCache {
    /// Opens (or creates) the cache file of `model_id` in `dir`.
    pub fn open(dir: &Path, model_id: &str, dimension: usize) -> Result<VectorCache, CacheError> {
        let file_name: String = model_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{file_name}.vcache"));
        let io = |source| CacheError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let header = Header {
            model_id: model_id.to_owned(),
            dimension,
        };
        let (offsets, len) = if path.exists() {
            let (found, records, valid_len) = read_file(&path)?;
            check_header(&path, &found, &header)?;
            // Drop a torn last record so appends stay aligned.
            let file = OpenOptions::new().write(true).open(&path).map_err(io)?;
            if file.metadata().map_err(io)?.len() > valid_len {
                tracing::warn!(path = %path.display(), "vector cache had a torn last record; truncated");
                file.set_len(valid_len).map_err(io)?;
            }
            (records.into_iter().collect(), valid_len)
        } else {
            let temporary = path.with_extension("vcache.tmp");
            let mut file = BufWriter::new(File::create(&temporary).map_err(io)?);
            let len = write_header(&mut file, &header).map_err(io)?;
            file.into_inner()
                .map_err(|e| io(e.into_error()))?
                .sync_all()
                .map_err(io)?;
            std::fs::rename(&temporary, &path).map_err(io)?;
            (HashMap::new(), len)
        };
        let file = OpenOptions::new().append(true).open(&path).map_err(io)?;
        let reader = File::open(&path).map_err(io)?;
        Ok(VectorCache {
            path,
            header,
            inner: Mutex::new(Inner {
                offsets,
                file: BufWriter::new(file),
                len,
                reader,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.lock().offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The vector of `key`, read from the file. A read error is logged and counts as a miss: the
    /// vector is then computed again.
    pub fn get(&self, key: &Key) -> Option<Vec<f32>> {
        let inner = self.lock();
        let offset = *inner.offsets.get(key)?;
        match read_vector(&inner.reader, offset, self.header.dimension) {
            Ok(vector) => Some(vector),
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "vector cache read failed");
                None
            }
        }
    }

    /// Adds vectors not yet cached and appends them to the file (written through before return).
    pub fn insert_many(&self, items: Vec<(Key, Vec<f32>)>) -> Result<usize, CacheError> {
        let mut inner = self.lock();
        let mut added = 0;
        for (key, vector) in items {
            if vector.len() != self.header.dimension || inner.offsets.contains_key(&key) {
                continue;
            }
            let written = write_record(&mut inner.file, &key, &vector).map_err(|e| self.io(e))?;
            let offset = inner.len + KEY_LEN;
            inner.offsets.insert(key, offset);
            inner.len += written;
            added += 1;
        }
        inner.file.flush().map_err(|e| self.io(e))?;
        Ok(added)
    }

    /// Writes every cached vector to `to` as one compacted cache file. Returns the vector count.
    pub fn export(&self, to: &Path) -> Result<usize, CacheError> {
        self.export_where(to, |_| true)
    }

    /// [`VectorCache::export`] of only the vectors whose key is in `keys` (those the cache has).
    pub fn export_only(
        &self,
        to: &Path,
        keys: &std::collections::HashSet<Key>,
    ) -> Result<usize, CacheError> {
        self.export_where(to, |key| keys.contains(key))
    }

    fn export_where(&self, to: &Path, wanted: impl Fn(&Key) -> bool) -> Result<usize, CacheError> {
        let inner = self.lock();
        let io = |source| CacheError::Io {
            path: to.display().to_string(),
            source,
        };
        let temporary = to.with_extension("tmp");
        let mut file = BufWriter::new(File::create(&temporary).map_err(io)?);
        write_header(&mut file, &self.header).map_err(io)?;
        // Sorted by key so that the same cache always exports to the same bytes.
        let mut keys: Vec<(&Key, &u64)> = inner
            .offsets
            .iter()
            .filter(|(key, _)| wanted(key))
            .collect();
        keys.sort();
        for (key, offset) in &keys {
            let vector = read_vector(&inner.reader, **offset, self.header.dimension)
                .map_err(|e| self.io(e))?;
            write_record(&mut file, key, &vector).map_err(io)?;
        }
        file.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)?;
        std::fs::rename(&temporary, to).map_err(io)?;
        Ok(keys.len())
    }

    /// Adds the vectors of the cache file `from` (same model and dimension). Returns how many
    /// were new.
    pub fn import(&self, from: &Path) -> Result<usize, CacheError> {
        let (found, records, _) = read_file(from)?;
        check_header(from, &found, &self.header)?;
        let source = File::open(from).map_err(|source| CacheError::Io {
            path: from.display().to_string(),
            source,
        })?;
        let mut added = 0;
        // A thousand vectors at a time: an imported cache need not fit in memory.
        for batch in records.chunks(1_000) {
            let mut vectors = Vec::with_capacity(batch.len());
            for (key, offset) in batch {
                let vector =
                    read_vector(&source, *offset, self.header.dimension).map_err(|source| {
                        CacheError::Io {
                            path: from.display().to_string(),
                            source,
                        }
                    })?;
                vectors.push((*key, vector));
            }
            added += self.insert_many(vectors)?;
        }
        Ok(added)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn io(&self, source: std::io::Error) -> CacheError {
        CacheError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }
}

fn check_header(path: &Path, found: &Header, expected: &Header) -> Result<(), CacheError> {
    if found == expected {
        Ok(())
    } else {
        Err(CacheError::WrongModel {
            path: path.display().to_string(),
            found: found.model_id.clone(),
            found_dimension: found.dimension,
            expected: expected.model_id.clone(),
            expected_dimension: expected.dimension,
        })
    }
}

/// Bytes of a record's key, before its vector.
const KEY_LEN: u64 = 32;

/// Writes the header; returns its length in bytes.
fn write_header(out: &mut impl Write, header: &Header) -> std::io::Result<u64> {
    let json = serde_json::to_vec(header)?;
    out.write_all(MAGIC)?;
    out.write_all(&FORMAT_VERSION.to_le_bytes())?;
    out.write_all(&(json.len() as u32).to_le_bytes())?;
    out.write_all(&json)?;
    Ok(16 + json.len() as u64)
}

/// Writes one record; returns its length in bytes.
fn write_record(out: &mut impl Write, key: &Key, vector: &[f32]) -> std::io::Result<u64> {
    out.write_all(key)?;
    for value in vector {
        out.write_all(&value.to_le_bytes())?;
    }
    Ok(KEY_LEN + 4 * vector.len() as u64)
}

fn read_vector(file: &File, offset: u64, dimension: usize) -> std::io::Result<Vec<f32>> {
    let mut bytes = vec![0u8; 4 * dimension];
    file.read_exact_at(&mut bytes, offset)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// A cache file as read: its header, the key and vector offset of every complete record in file
/// order, and the length in bytes of the valid part (a torn last record is not counted).
type FileContents = (Header, Vec<(Key, u64)>, u64);

fn read_file(path: &Path) -> Result<FileContents, CacheError> {
    let io = |source| CacheError::Io {
        path: path.display().to_string(),
        source,
    };
    let not_a_cache = || CacheError::NotACache {
        path: path.display().to_string(),
    };
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?);
    let mut fixed = [0u8; 16];
    reader.read_exact(&mut fixed).map_err(|_| not_a_cache())?;
    if &fixed[..8] != MAGIC || fixed[8..12] != FORMAT_VERSION.to_le_bytes() {
        return Err(not_a_cache());
    }
    let header_len = u32::from_le_bytes([fixed[12], fixed[13], fixed[14], fixed[15]]) as usize;
    if header_len > 4096 {
        return Err(not_a_cache());
    }
    let mut json = vec![0u8; header_len];
    reader.read_exact(&mut json).map_err(|_| not_a_cache())?;
    let header: Header = serde_json::from_slice(&json).map_err(|_| not_a_cache())?;
    if header.dimension == 0 || header.dimension > 65_536 {
        return Err(not_a_cache());
    }
    let record_len = 32 + 4 * header.dimension;
    let mut record = vec![0u8; record_len];
    let mut records = Vec::new();
    let mut valid_len = 16 + header_len as u64;
    loop {
        match read_full(&mut reader, &mut record).map_err(io)? {
            n if n == record_len => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&record[..32]);
                records.push((key, valid_len + KEY_LEN));
                valid_len += record_len as u64;
            }
            // End of file, or a torn last record.
            _ => break,
        }
    }
    Ok((header, records, valid_len))
}

/// Reads until `buffer` is full or the file ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(seed: f32) -> Vec<f32> {
        (0..4).map(|i| seed + i as f32).collect()
    }

    #[test]
    fn vectors_survive_reopen_export_and_import() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VectorCache::open(dir.path(), "e5/small", 4).unwrap();
        assert_eq!(
            cache
                .insert_many(vec![(key("a"), vector(1.0)), (key("b"), vector(2.0))])
                .unwrap(),
            2
        );
        // Same key again, wrong dimension: both ignored.
        assert_eq!(
            cache
                .insert_many(vec![(key("a"), vector(9.0)), (key("c"), vec![1.0])])
                .unwrap(),
            0
        );
        drop(cache);
        let cache = VectorCache::open(dir.path(), "e5/small", 4).unwrap();
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&key("a")), Some(vector(1.0)));

        let exported = dir.path().join("export.vcache");
        assert_eq!(cache.export(&exported).unwrap(), 2);
        let other_dir = tempfile::tempdir().unwrap();
        let other = VectorCache::open(other_dir.path(), "e5/small", 4).unwrap();
        other.insert_many(vec![(key("z"), vector(5.0))]).unwrap();
        assert_eq!(other.import(&exported).unwrap(), 2);
        assert_eq!(other.len(), 3);
        assert_eq!(other.get(&key("b")), Some(vector(2.0)));
    }

    #[test]
    fn a_torn_last_record_is_dropped_and_appends_stay_aligned() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VectorCache::open(dir.path(), "m", 4).unwrap();
        cache.insert_many(vec![(key("a"), vector(1.0))]).unwrap();
        let path = cache.path().to_owned();
        drop(cache);
        // A crash in the middle of the next record.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[7u8; 40]).unwrap();
        drop(file);
        let cache = VectorCache::open(dir.path(), "m", 4).unwrap();
        assert_eq!(cache.len(), 1);
        cache.insert_many(vec![(key("b"), vector(2.0))]).unwrap();
        drop(cache);
        let cache = VectorCache::open(dir.path(), "m", 4).unwrap();
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&key("b")), Some(vector(2.0)));
    }

    #[test]
    fn another_model_or_another_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VectorCache::open(dir.path(), "m1", 4).unwrap();
        cache.insert_many(vec![(key("a"), vector(1.0))]).unwrap();
        let exported = dir.path().join("m1.export");
        cache.export(&exported).unwrap();
        let other_dir = tempfile::tempdir().unwrap();
        let other = VectorCache::open(other_dir.path(), "m2", 4).unwrap();
        assert!(matches!(
            other.import(&exported),
            Err(CacheError::WrongModel { .. })
        ));
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"not a cache at all").unwrap();
        assert!(matches!(
            other.import(&junk),
            Err(CacheError::NotACache { .. })
        ));
    }
}
