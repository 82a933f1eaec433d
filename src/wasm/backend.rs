//! The backend chosen at runtime (`Store.open(name, { backend })`). Higher layers stay generic
//! over `B: Backend`; this enum is the one `B` the JS façade instantiates them with.
//! `Adapter` is storage given by the host as a JS object ([`super::js_backend`]).

use super::indexeddb::IdbBackend;
use super::js_backend::JsBackend;
use crate::error::{Error, Result};
use crate::storage::memory::MemoryBackend;
use crate::storage::{Backend, Op, Space};

/// Which backend a store uses; JS spells it `"indexeddb"` or `"memory"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    #[default]
    IndexedDb,
    Memory,
    /// A JS storage adapter (`Store.openAdapter`); never parsed from `options.backend`.
    Adapter,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::IndexedDb => "indexeddb",
            BackendKind::Memory => "memory",
            BackendKind::Adapter => "adapter",
        }
    }

    pub fn parse(s: &str) -> Result<BackendKind> {
        match s {
            "indexeddb" => Ok(BackendKind::IndexedDb),
            "memory" => Ok(BackendKind::Memory),
            "fs" => Err(Error::invalid(
                "options.backend \"fs\" exists in Node only (the package's Node entry; it needs options.path)",
            )),
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
    Adapter(JsBackend),
}

impl AnyBackend {
    /// Opens store `name` on the chosen backend. A memory store starts empty every time.
    pub async fn open(kind: BackendKind, name: &str) -> Result<AnyBackend> {
        Ok(match kind {
            BackendKind::Memory => AnyBackend::Memory(MemoryBackend::new()),
            BackendKind::IndexedDb => AnyBackend::IndexedDb(IdbBackend::open(name).await?),
            BackendKind::Adapter => {
                return Err(Error::invalid(format!("store {name:?}: an adapter backend needs its adapter object")))
            }
        })
    }

    pub fn kind(&self) -> BackendKind {
        match self {
            AnyBackend::Memory(_) => BackendKind::Memory,
            AnyBackend::IndexedDb(_) => BackendKind::IndexedDb,
            AnyBackend::Adapter(_) => BackendKind::Adapter,
        }
    }

    /// What `store.backend` reports: the kind, or the adapter's own name (e.g. `"fs"`).
    pub fn name(&self) -> &str {
        match self {
            AnyBackend::Adapter(b) => b.kind(),
            other => other.kind().as_str(),
        }
    }

    /// Releases the backend's resources (the IndexedDB connection).
    pub fn close(&self) {
        match self {
            AnyBackend::IndexedDb(b) => b.close(),
            AnyBackend::Adapter(b) => b.close(),
            AnyBackend::Memory(_) => {}
        }
    }
}

impl Backend for AnyBackend {
    async fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>> {
        match self {
            AnyBackend::Memory(b) => b.get(space, key).await,
            AnyBackend::IndexedDb(b) => b.get(space, key).await,
            AnyBackend::Adapter(b) => b.get(space, key).await,
        }
    }

    async fn scan(&self, space: Space, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        match self {
            AnyBackend::Memory(b) => b.scan(space, prefix).await,
            AnyBackend::IndexedDb(b) => b.scan(space, prefix).await,
            AnyBackend::Adapter(b) => b.scan(space, prefix).await,
        }
    }

    async fn keys(&self, space: Space, prefix: &str) -> Result<Vec<String>> {
        match self {
            AnyBackend::Memory(b) => b.keys(space, prefix).await,
            AnyBackend::IndexedDb(b) => b.keys(space, prefix).await,
            AnyBackend::Adapter(b) => b.keys(space, prefix).await,
        }
    }

    async fn commit(&self, ops: Vec<Op>) -> Result<()> {
        match self {
            AnyBackend::Memory(b) => b.commit(ops).await,
            AnyBackend::IndexedDb(b) => b.commit(ops).await,
            AnyBackend::Adapter(b) => b.commit(ops).await,
        }
    }

    async fn put_chunk(&self, put: Op) -> Result<()> {
        match self {
            AnyBackend::Memory(b) => b.put_chunk(put).await,
            AnyBackend::IndexedDb(b) => b.put_chunk(put).await,
            AnyBackend::Adapter(b) => b.put_chunk(put).await,
        }
    }

    async fn settle_chunks(&self, set: &str) -> Result<()> {
        match self {
            AnyBackend::Memory(b) => b.settle_chunks(set).await,
            AnyBackend::IndexedDb(b) => b.settle_chunks(set).await,
            AnyBackend::Adapter(b) => b.settle_chunks(set).await,
        }
    }

    fn takes_host_chunks(&self) -> bool {
        match self {
            AnyBackend::Memory(b) => b.takes_host_chunks(),
            AnyBackend::IndexedDb(b) => b.takes_host_chunks(),
            AnyBackend::Adapter(b) => b.takes_host_chunks(),
        }
    }

    async fn put_host_chunk(&self, key: String, value: crate::storage::HostValue) -> Result<()> {
        match self {
            AnyBackend::Memory(b) => b.put_host_chunk(key, value).await,
            AnyBackend::IndexedDb(b) => b.put_host_chunk(key, value).await,
            AnyBackend::Adapter(b) => b.put_host_chunk(key, value).await,
        }
    }
}
