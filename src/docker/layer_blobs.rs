//! Which layers have their bytes in the store, and where: a layer tar is a blob stored by
//! digest, either plain (its digest is the DiffID) or as the gzip file a `docker load`
//! archive carried. One record per DiffID ([`crate::schema::docker::layer_blob`]); layers of different
//! chains with the same DiffID share it. A record lives as long as some layer of the Docker
//! view has its DiffID (the façade's `commit_docker` drops the others with their blobs).

use super::layers::LayerStore;
use super::tx::Tx;
use crate::digest::Digest;
use crate::schema::docker::layer_blob as key;
use crate::storage::Op;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How the stored blob holds the tar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// The blob is the tar itself (blob digest = DiffID).
    None,
    Gzip,
}

/// Where the tar of the layer with DiffID `diff_id` is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerBlobRecord {
    pub diff_id: Digest,
    pub blob: Digest,
    pub compression: Compression,
    /// Length of the tar (the uncompressed bytes for a gzip blob).
    pub size: u64,
}

/// The records by DiffID.
#[derive(Debug, Clone, Default)]
pub struct LayerBlobs {
    by_diff_id: imbl::OrdMap<Digest, LayerBlobRecord>,
}

impl LayerBlobs {
    pub fn get(&self, diff_id: &Digest) -> Option<&LayerBlobRecord> {
        self.by_diff_id.get(diff_id)
    }
    pub fn contains(&self, diff_id: &Digest) -> bool {
        self.by_diff_id.contains_key(diff_id)
    }
    pub fn records(&self) -> impl Iterator<Item = &LayerBlobRecord> {
        self.by_diff_id.values()
    }
    pub fn len(&self) -> usize {
        self.by_diff_id.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_diff_id.is_empty()
    }

    /// Adds a record as read from storage or committed by an import.
    pub(crate) fn insert_loaded(&mut self, record: LayerBlobRecord) {
        self.by_diff_id.insert(record.diff_id.clone(), record);
    }

    /// Drops the records no layer of `layers` uses any more: their record deletions go into
    /// `tx` and their blobs become dead blobs (the façade keeps a blob a containerd namespace
    /// still lists).
    pub(crate) fn drop_unused(&mut self, tx: &mut Tx, layers: &LayerStore) {
        // Only a change that deleted layers can leave a record unused.
        let layer_deleted = tx
            .ops
            .iter()
            .any(|op| matches!(op, Op::Delete { key, .. } if key.starts_with(crate::schema::docker::LAYERS)));
        if self.by_diff_id.is_empty() || !layer_deleted {
            return;
        }
        let used: BTreeSet<&Digest> = layers.records().map(|l| &l.diff_id).collect();
        let unused: Vec<Digest> = self.by_diff_id.keys().filter(|d| !used.contains(d)).cloned().collect();
        for d in unused {
            let record = self.by_diff_id.remove(&d).expect("listed");
            tx.push(Op::delete_meta(key(&d)));
            if !self.by_diff_id.values().any(|r| r.blob == record.blob) {
                tx.dead_blobs.push(record.blob);
            }
        }
    }
}
