//! `hoiluat store migrate`: copies the embedded index into a new generation of a Qdrant server
//! collection without re-embedding — every point with its payload, dense and lexical vectors, in
//! batches — checks the count, then points the collection's alias at the new generation.

use std::path::Path;

use super::edge::EdgeStore;
use super::qdrant::QdrantStore;
use super::{StoreError, VectorStore};
use crate::config::{StoreConfig, StoreKind};

/// Points copied per upsert.
const BATCH: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the server collection `{collection}` holds {stored} points after copying {copied}; the alias was not switched")]
    CountMismatch {
        collection: String,
        stored: usize,
        copied: usize,
    },
}

/// A migration ready to copy: both stores open, the new generation created.
pub struct Migration {
    embedded: EdgeStore,
    server: QdrantStore,
    /// The alias the service reads.
    alias: String,
    total: usize,
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub copied: usize,
    pub total: usize,
    /// The alias, now pointing at `collection`.
    pub alias: String,
    pub collection: String,
    /// The generation the alias pointed at before, kept for rolling back.
    pub previous: Option<String>,
}

impl Migration {
    /// Opens the embedded index in `index_dir` and creates a new generation of `target`'s
    /// collection on the server at `url`.
    pub fn prepare(
        index_dir: &Path,
        target: &StoreConfig,
        url: &str,
    ) -> Result<Migration, MigrateError> {
        let embedded = EdgeStore::open_existing(index_dir)?;
        let mut target = target.clone();
        target.kind = StoreKind::Qdrant;
        target.url = url.to_owned();
        let server = QdrantStore::create_generation(&target, embedded.collection_info())?;
        let total = embedded.count()?;
        Ok(Migration {
            embedded,
            server,
            alias: target.collection,
            total,
        })
    }

    /// Points in the embedded index.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The new generation's name.
    pub fn collection(&self) -> &str {
        self.server.collection_name()
    }

    /// Copies every point, checks the count, and switches the alias.
    pub fn run(self) -> Result<Migrated, MigrateError> {
        let Migration {
            embedded,
            server,
            alias,
            total,
        } = self;
        let mut copied = 0;
        embedded.export(BATCH, &mut |records| {
            copied += records.len();
            server.upsert(records)?;
            tracing::info!(copied, total, "migrating");
            Ok(())
        })?;
        let stored = server.count()?;
        if stored != copied {
            return Err(MigrateError::CountMismatch {
                collection: server.collection_name().to_owned(),
                stored,
                copied,
            });
        }
        let previous = server.publish()?;
        Ok(Migrated {
            copied,
            total,
            alias,
            collection: server.collection_name().to_owned(),
            previous,
        })
    }
}
