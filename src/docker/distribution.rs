//! moby's distribution metadata (`distribution/`): which registry blob digest unpacks to which
//! DiffID, and for each DiffID the blobs and repositories it was pulled from or pushed to
//! (at most 50 entries, oldest dropped). dockerd consults it on push and pull to skip blobs a
//! registry already has; here it is kept, persisted and queryable for those uses.

use super::model::{DistributionRecords, V2Metadata};
use super::tx::Tx;
use crate::digest::Digest;
use crate::schema::docker as keys;
use crate::storage::Op;

/// `maxMetadata` in v2_metadata_service.go.
pub const MAX_V2_METADATA: usize = 50;

/// Shared between copies of the state (only imports and pulls change it; the change copies it).
#[derive(Debug, Clone, Default)]
pub struct DistributionStore {
    records: std::rc::Rc<DistributionRecords>,
}

impl DistributionStore {
    pub fn records(&self) -> &DistributionRecords {
        &self.records
    }

    /// `GetDiffID`: the DiffID a registry blob unpacks to.
    pub fn diff_id(&self, blob: &Digest) -> Option<&Digest> {
        self.records.diffid_by_digest.get(blob)
    }

    /// `GetMetadata`: where a layer came from or went to, oldest first.
    pub fn v2_metadata(&self, diff_id: &Digest) -> &[V2Metadata] {
        self.records.v2metadata_by_diffid.get(diff_id).map_or(&[], Vec::as_slice)
    }

    /// `Add`: records that `diff_id` is the blob `meta.digest` in `meta.source_repository`
    /// (a repeated entry moves to the end; the list keeps the newest 50).
    pub fn add(&mut self, tx: &mut Tx, diff_id: &Digest, meta: V2Metadata) {
        let list = std::rc::Rc::make_mut(&mut self.records).v2metadata_by_diffid.entry(diff_id.clone()).or_default();
        list.retain(|m| m != &meta);
        list.push(meta.clone());
        if list.len() > MAX_V2_METADATA {
            list.drain(..list.len() - MAX_V2_METADATA);
        }
        tx.push(Op::put_record(keys::v2metadata(diff_id), &list));
        self.set_diff_id(tx, &meta.digest, diff_id);
    }

    fn set_diff_id(&mut self, tx: &mut Tx, blob: &Digest, diff_id: &Digest) {
        std::rc::Rc::make_mut(&mut self.records).diffid_by_digest.insert(blob.clone(), diff_id.clone());
        tx.push(Op::put_meta(keys::diffid_by_digest(blob), diff_id.as_str()));
    }

    /// Adds records read back from storage or an import (merging lists, no limit applied to
    /// what dockerd itself wrote).
    pub(crate) fn insert_loaded(&mut self, loaded: DistributionRecords) {
        let records = std::rc::Rc::make_mut(&mut self.records);
        records.diffid_by_digest.extend(loaded.diffid_by_digest);
        for (diff, metas) in loaded.v2metadata_by_diffid {
            let list = records.v2metadata_by_diffid.entry(diff).or_default();
            for m in metas {
                if !list.contains(&m) {
                    list.push(m);
                }
            }
        }
    }
}
