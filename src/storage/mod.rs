//! Persistence behind one small async trait, with an in-memory implementation (native and
//! wasm) and an IndexedDB one (wasm only).
//!
//! Two key spaces: [`Space::Meta`] holds small records (JSON or text) and [`Space::Chunks`]
//! holds the pieces of content blobs (see [`blobs`]). Keys are strings ordered by bytes, so a
//! prefix selects a "table". Every write goes through [`Backend::commit`], which applies a list
//! of operations atomically: all or nothing (one IndexedDB transaction).

pub mod blobs;
#[cfg(target_arch = "wasm32")]
pub mod indexeddb;
pub mod memory;

use crate::error::{Error, Result};

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
        value: Vec<u8>,
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
}

impl Op {
    pub fn put(space: Space, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Op {
        Op::Put { space, key: key.into(), value: value.into() }
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
#[allow(async_fn_in_trait)]
pub trait Backend {
    async fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>>;
    /// All (key, value) pairs whose key starts with `prefix`, in key order.
    async fn scan(&self, space: Space, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;
    /// The keys that start with `prefix`, in key order (no values are read).
    async fn keys(&self, space: Space, prefix: &str) -> Result<Vec<String>>;
    /// Applies `ops` in order, atomically. On error nothing of it is visible.
    async fn commit(&self, ops: Vec<Op>) -> Result<()>;
}

/// A fresh identifier for staging data (blob chunk sets). Starts with the time in
/// milliseconds so that orphan sweeping can leave recent ones alone (another tab may be
/// writing them).
pub fn fresh_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let (millis, noise) = now_and_noise();
    format!("{millis:013}-{noise:08x}-{n}")
}

#[cfg(target_arch = "wasm32")]
fn now_and_noise() -> (u64, u32) {
    (js_sys::Date::now() as u64, (js_sys::Math::random() * u32::MAX as f64) as u32)
}

#[cfg(not(target_arch = "wasm32"))]
fn now_and_noise() -> (u64, u32) {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (t.as_millis() as u64, t.subsec_nanos() ^ std::process::id())
}

/// Milliseconds since the Unix epoch, on every target.
pub fn now_millis() -> u64 {
    now_and_noise().0
}

/// The current time in UTC (millisecond precision: all a browser gives).
pub fn now() -> crate::formats::gotime::GoTime {
    crate::formats::gotime::GoTime::from_unix_millis(now_millis())
}
