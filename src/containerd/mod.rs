//! containerd's metadata stores, on top of [`crate::storage`]: content (blobs by digest, with
//! ingests and labels), images per namespace, namespaces, and garbage collection, plus the rows
//! that `ctr images ls` / `ctr content ls` print.
//!
//! Semantics follow containerd's bolt-backed metadata layer (core/metadata): the same
//! validation, the same error classes and the same error texts (Go's `fmt.Errorf(...: %w)`
//! strings, ending in the errdefs word, e.g. `image "x": not found`).
//!
//! Their records are laid out in [`crate::schema::containerd`].

pub mod content;
pub mod errdefs;
pub mod gc;
pub mod images;
pub(crate) mod label_merge;
pub mod labels;
pub mod ls_view;
pub mod meta_import;
pub mod namespaces;
pub mod platform_manifest;

use crate::error::Result;
use crate::formats::gotime::{duration_string_millis, GoTime};
use crate::schema::containerd as schema;
use crate::storage::{decode_record, Backend, Op, Space};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

pub use content::{ContentStore, ContentWriter, Info, Status};
pub use gc::GcResult;
pub use images::{Image, ImageStore, Target};
pub use labels::Labels;

/// The containerd view of one backend: namespaces, and a handle per namespace.
/// Clones share the backend and the table of open ingests.
#[derive(Clone)]
pub struct Containerd<B> {
    backend: B,
    locks: IngestLocks,
}

impl<B: Backend + Clone> Containerd<B> {
    pub fn new(backend: B) -> Self {
        Containerd { backend, locks: IngestLocks::default() }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// A handle on one namespace; the name is checked like containerd's `NamespaceRequired`.
    pub fn namespace(&self, name: &str) -> Result<Namespace<B>> {
        namespaces::require(name)?;
        Ok(Namespace { backend: self.backend.clone(), name: name.to_string(), locks: self.locks.clone() })
    }
}

/// The stores of one namespace.
#[derive(Clone)]
pub struct Namespace<B> {
    backend: B,
    name: String,
    locks: IngestLocks,
}

impl<B: Backend + Clone> Namespace<B> {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn content(&self) -> ContentStore<B> {
        ContentStore::new(self.backend.clone(), self.name.clone(), self.locks.clone())
    }
    pub fn images(&self) -> ImageStore<B> {
        ImageStore::new(self.backend.clone(), self.name.clone())
    }
}

/// Whether any namespace's content store lists blob `d`. The Docker view checks this before it
/// deletes a blob it no longer needs: blobs are shared by digest between the two views.
pub async fn any_namespace_has_content<B: Backend>(b: &B, d: &crate::digest::Digest) -> Result<bool> {
    for key in b.keys(Space::Meta, schema::NAMESPACES).await? {
        let Some(ns) = schema::namespace_name(&key) else { continue };
        if b.get(Space::Meta, &schema::content(ns, d)).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

// ---- shared record helpers -----------------------------------------------------------------

pub(crate) async fn read_record<B: Backend, T: serde::de::DeserializeOwned>(b: &B, key: &str) -> Result<Option<T>> {
    match b.get(Space::Meta, key).await? {
        None => Ok(None),
        Some(v) => decode_record(key, &v).map(Some),
    }
}

/// The operation that creates the namespace record if it is missing (first write into a
/// namespace creates it, as containerd's `createBucketIfNotExists` does).
pub(crate) async fn ensure_namespace_ops<B: Backend>(b: &B, ns: &str) -> Result<Vec<Op>> {
    let key = schema::namespace(ns);
    if b.get(Space::Meta, &key).await?.is_some() {
        return Ok(Vec::new());
    }
    Ok(vec![Op::put_record(key, &namespaces::NamespaceRecord::default())])
}

// ---- open ingests ----------------------------------------------------------------------------

/// Ingest refs held by an open writer, with when they were taken: containerd's local store
/// keeps these locks in memory too, so a page reload releases them.
#[derive(Clone, Default)]
pub(crate) struct IngestLocks(Rc<RefCell<HashMap<String, GoTime>>>);

impl IngestLocks {
    /// Takes the lock on `key`, or fails with containerd's `ref ... locked` error.
    pub(crate) fn try_lock(&self, key: &str) -> Result<IngestLock> {
        let mut held = self.0.borrow_mut();
        if let Some(since) = held.get(key) {
            let now = crate::storage::now();
            return Err(errdefs::unavailable(format!(
                "ref {key} locked for {} (since {})",
                duration_string_millis(now.millis_since(since)),
                since.to_rfc3339_nano()
            )));
        }
        held.insert(key.to_string(), crate::storage::now());
        Ok(IngestLock { locks: self.clone(), key: key.to_string() })
    }
    pub(crate) fn is_locked(&self, key: &str) -> bool {
        self.0.borrow().contains_key(key)
    }
}

/// A held ingest lock; dropping it releases the ref.
pub(crate) struct IngestLock {
    locks: IngestLocks,
    key: String,
}

impl Drop for IngestLock {
    fn drop(&mut self) {
        self.locks.0.borrow_mut().remove(&self.key);
    }
}
