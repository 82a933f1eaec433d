//! A pending change to the Docker stores: the backend operations that persist it, plus the
//! blobs that become garbage once it is committed. The stores fill a `Tx` while they update a
//! scratch copy of their index; the store façade commits it in one
//! `Backend::commit` and only then makes the scratch copy current.

use crate::digest::Digest;
use crate::storage::Op;

#[derive(Debug, Default)]
pub struct Tx {
    pub ops: Vec<Op>,
    /// Blobs (configs, tar-splits) that nothing refers to after this change. Deleting a blob
    /// needs its chunk set, which only the backend knows, so the façade turns these into
    /// operations just before committing.
    pub dead_blobs: Vec<Digest>,
    /// Images added or removed: the config summary shards they fall in are rewritten in the
    /// same commit (see `crate::docker::summary`).
    pub images_changed: Vec<Digest>,
}

impl Tx {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, op: Op) {
        self.ops.push(op);
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.dead_blobs.is_empty() && self.images_changed.is_empty()
    }
}
