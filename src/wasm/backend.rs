//! The backend chosen at runtime (`Store.open(name, { backend })`). Higher layers stay generic
//! over `B: Backend`; this enum is the one `B` the JS façade instantiates them with.

use crate::error::{Error, Result};
use crate::storage::indexeddb::IdbBackend;
use crate::storage::memory::MemoryBackend;
use crate::storage::{Backend, Op, Space};

/// Which backend a store uses; JS spells it `"indexeddb"` or `"memory"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    #[default]
    IndexedDb,
    Memory,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::IndexedDb => "indexeddb",
            BackendKind::Memory => "memory",
        }
    }

    pub fn parse(s: &str) -> Result<BackendKind> {
        match s {
            "indexeddb" => Ok(BackendKind::IndexedDb),
            "memory" => Ok(BackendKind::Memory),
            other => {
                Err(Error::invalid(format!("options.backend: expected \"indexeddb\" or \"memory\", got {other:?}")))
            }
        }
    }
}

#[derive(Clone)]
pub enum AnyBackend {
    Memory(MemoryBackend),
    IndexedDb(IdbBackend),
}

impl AnyBackend {
    /// Opens store `name` on the chosen backend. A memory store starts empty every time.
    pub async fn open(kind: BackendKind, name: &str) -> Result<AnyBackend> {
        Ok(match kind {
            BackendKind::Memory => AnyBackend::Memory(MemoryBackend::new()),
            BackendKind::IndexedDb => AnyBackend::IndexedDb(IdbBackend::open(name).await?),
        })
    }

    pub fn kind(&self) -> BackendKind {
        match self {
            AnyBackend::Memory(_) => BackendKind::Memory,
            AnyBackend::IndexedDb(_) => BackendKind::IndexedDb,
        }
    }

    /// Releases the backend's resources (the IndexedDB connection).
    pub fn close(&self) {
        if let AnyBackend::IndexedDb(b) = self {
            b.close();
        }
    }
}

impl Backend for AnyBackend {
    async fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>> {
        match self {
            AnyBackend::Memory(b) => b.get(space, key).await,
            AnyBackend::IndexedDb(b) => b.get(space, key).await,
        }
    }

    async fn scan(&self, space: Space, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        match self {
            AnyBackend::Memory(b) => b.scan(space, prefix).await,
            AnyBackend::IndexedDb(b) => b.scan(space, prefix).await,
        }
    }

    async fn keys(&self, space: Space, prefix: &str) -> Result<Vec<String>> {
        match self {
            AnyBackend::Memory(b) => b.keys(space, prefix).await,
            AnyBackend::IndexedDb(b) => b.keys(space, prefix).await,
        }
    }

    async fn commit(&self, ops: Vec<Op>) -> Result<()> {
        match self {
            AnyBackend::Memory(b) => b.commit(ops).await,
            AnyBackend::IndexedDb(b) => b.commit(ops).await,
        }
    }
}
