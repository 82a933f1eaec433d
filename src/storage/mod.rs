//! Persistence behind one small async trait, with an in-memory implementation here; the
//! IndexedDB one is platform code (`src/wasm/indexeddb.rs`), as is a JS storage adapter.
//!
//! Two key spaces: [`Space::Meta`] holds small records (JSON or text) and [`Space::Chunks`]
//! holds the pieces of content blobs (see [`blobs`]). Keys are strings ordered by bytes, so a
//! prefix selects a "table". Every write goes through [`Backend::commit`], which applies a list
//! of operations atomically: all or nothing (one IndexedDB transaction).

pub mod blob_packs;
pub mod blobs;
pub mod entry_pack;
pub mod generation;
mod host_bytes;
pub mod memory;
pub mod pack_family;
pub mod record_frame;
pub mod sessions;
mod shared_bytes;
pub mod varint;

use crate::error::{Error, Result};
pub use host_bytes::HostBytes;
pub use shared_bytes::SharedBytes;

/// Which object store a key lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Space {
    /// Metadata records: small values, read whole.
    Meta,
    /// Pieces of content blobs, keyed `<ingest id>/<chunk index>`.
    Chunks,
}

impl Space {
    pub const ALL: [Space; 2] = [Space::Meta, Space::Chunks];
    /// The object store's name in IndexedDB.
    pub fn name(self) -> &'static str {
        match self {
            Space::Meta => "meta",
            Space::Chunks => "chunks",
        }
    }
}

/// One operation of an atomic [`Backend::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put {
        space: Space,
        key: String,
        /// Shared: a copy of the operation (an import keeps its operations to plan again if
        /// another tab commits first) does not copy the bytes.
        value: SharedBytes,
    },
    Delete {
        space: Space,
        key: String,
    },
    /// Deletes every key that starts with `prefix`.
    DeletePrefix {
        space: Space,
        prefix: String,
    },
    /// Fails the whole commit (code `already_exists`) if `key` is present when the commit runs:
    /// a create-if-absent guard that holds even against another tab writing concurrently.
    RequireAbsent {
        space: Space,
        key: String,
    },
    /// Fails the whole commit (code `failed_precondition`) unless `key` holds exactly `value`
    /// (`None`: is absent) when the commit runs: a compare-and-set guard, which is how a commit
    /// proves that what it decided on is still the current data (see [`generation`]).
    RequireValue {
        space: Space,
        key: String,
        value: Option<Vec<u8>>,
    },
}

impl Op {
    pub fn put(space: Space, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Op {
        Op::Put { space, key: key.into(), value: SharedBytes::from(value.into()) }
    }
    pub fn put_meta(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Op {
        Op::put(Space::Meta, key, value)
    }
    pub fn delete_meta(key: impl Into<String>) -> Op {
        Op::Delete { space: Space::Meta, key: key.into() }
    }
    /// Stores a metadata record as JSON (read back with [`decode_record`]).
    pub fn put_record(key: impl Into<String>, record: &impl serde::Serialize) -> Op {
        Op::put_meta(key, serde_json::to_vec(record).expect("records serialise"))
    }
}

/// Reads back a JSON metadata record; a bad one is `data_corrupt`, naming its key.
pub fn decode_record<T: serde::de::DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| corrupt_record(key, e))
}

/// The error for a stored record that does not read back.
pub fn corrupt_record(key: &str, e: impl std::fmt::Display) -> Error {
    Error::corrupt(format!("record {key:?} is unreadable: {e}"))
}

/// The persistence trait. Implementations are single-threaded (wasm has one thread), so the
/// futures need not be `Send`. Reads see only committed data.
///
/// The commit contract, which every backend keeps: `commit` applies its operations in order as
/// one atomic unit, guards included ([`Op::RequireAbsent`], [`Op::RequireValue`]), and a commit
/// that changes [`Space::Meta`] first passes its operations through [`generation::stamp`], so
/// that the store's generation record changes with every metadata change made by anyone (another
/// tab, another `Store` object) and a guarded commit made on stale data fails.
#[allow(async_fn_in_trait)]
pub trait Backend {
    async fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>>;
    /// All (key, value) pairs whose key starts with `prefix`, in key order.
    async fn scan(&self, space: Space, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;
    /// The keys that start with `prefix`, in key order (no values are read).
    async fn keys(&self, space: Space, prefix: &str) -> Result<Vec<String>>;
    /// Applies `ops` in order, atomically. On error nothing of it is visible.
    async fn commit(&self, ops: Vec<Op>) -> Result<()>;
    /// Writes one chunk of a blob that is still staging (`put` is an [`Op::Put`] in
    /// [`Space::Chunks`], from [`blobs::BlobWriter`]). A backend may return before the write is
    /// done and keep a few in flight, so that storing a chunk overlaps reading and hashing the
    /// next (IndexedDB does); [`Backend::settle_chunks`] waits for them. Nothing refers to a
    /// staging chunk until a later commit publishes its set, after that set was settled.
    async fn put_chunk(&self, put: Op) -> Result<()> {
        self.commit(vec![put]).await
    }
    /// Waits until no chunk write is in flight and reports a failed one of chunk set `set`.
    async fn settle_chunks(&self, _set: &str) -> Result<()> {
        Ok(())
    }
    /// Whether [`Backend::put_host_chunk`] stores host values here.
    fn takes_host_chunks(&self) -> bool {
        false
    }
    /// [`Backend::put_chunk`] of chunk `key` (in [`Space::Chunks`], never its set's first)
    /// whose bytes the host holds: `value` is what [`HostBytes::slice`] made.
    async fn put_host_chunk(&self, key: String, value: HostValue) -> Result<()> {
        let _ = value;
        Err(Error::unsupported(format!("this backend stores no host values (chunk {key})")))
    }
}

/// A value the host holds (a slice of the uploaded File) that a backend which
/// [`takes_host_chunks`](Backend::takes_host_chunks) stores as it is. Opaque here: the backend
/// that takes it knows its type.
pub type HostValue = std::rc::Rc<dyn std::any::Any>;

/// What every backend's `commit` calls first (the commit contract of [`Backend`]): refuses a
/// small blob written as a single record ([`blob_packs::check_commit`]), stamps a new
/// generation on metadata changes ([`generation::stamp`]) and returns what to tell
/// [`sessions`] once the commit succeeded ([`Prepared::committed`]).
pub fn prepare_commit(ops: &mut Vec<Op>) -> Result<Prepared> {
    blob_packs::check_commit(ops)?;
    generation::stamp(ops);
    let settled = blobs::sets_settled_by(ops);
    // After the stamp: a session marker changes no generation.
    let markers = sessions::marker_ops(ops, &settled);
    ops.extend(markers.iter().cloned());
    Ok(Prepared { settled, markers })
}

/// See [`prepare_commit`].
#[must_use]
pub struct Prepared {
    settled: Vec<String>,
    markers: Vec<Op>,
}

impl Prepared {
    /// Whether the commit needs nothing told to [`sessions`] (a chunk write that is not a
    /// set's first: see [`Backend::put_chunk`]).
    pub fn is_empty(&self) -> bool {
        self.settled.is_empty() && self.markers.is_empty()
    }

    /// Call after the commit succeeded: chunk sets it published or deleted are no longer staging.
    pub fn committed(self) {
        for set in &self.settled {
            sessions::settled(set);
        }
        sessions::marker_committed(&self.markers);
    }
}

/// A fresh identifier for staging data (blob chunk sets) and generation tokens:
/// `<millis>-<session>-<counter>`. The session (see [`sessions`]) says which running program
/// wrote it, so that orphan sweeping can tell a chunk set another live tab is still writing from
/// one a closed or killed tab left; the time lets it wait when liveness is unknown.
pub fn fresh_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let millis = now_millis();
    format!("{millis:013}-{}-{n}", sessions::this_session())
}

/// Random bits (not for cryptography: they only keep sessions apart).
pub(crate) fn noise() -> u32 {
    crate::host::get().random_u32()
}

/// Milliseconds since the Unix epoch, on every target.
pub fn now_millis() -> u64 {
    crate::host::get().now_millis()
}

/// The current time in UTC (millisecond precision: all a browser gives).
pub fn now() -> crate::formats::gotime::GoTime {
    crate::formats::gotime::GoTime::from_unix_millis(now_millis())
}
