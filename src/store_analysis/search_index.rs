//! The persisted search index: each layer's change set, one record per chain ID
//! (`analysis/changes/<chain id>`). A chain ID names the same tar whichever image or view holds
//! it, so a record never goes stale; the index is only ever incomplete (layers imported since it
//! was written) or holding layers no image has any more. Both are mended when it is used: the
//! missing change sets are worked out from the layers' entries and written, the records of
//! layers that are gone are deleted, in one commit. A record that does not decode or fails its
//! checksum is treated as missing and rewritten. It is derived data: deleting every record only
//! costs the next search the time to rebuild it.
//!
//! A record is `ISCX` (magic), a version byte, the CRC-32 of the body (4 bytes, little
//! endian), then the body: JSON `[unchanged, whiteouts, [[path, change, type, size, sizeDelta,
//! mode, uid, gid, linkname|null], …]]`, `change` being `a`, `m` or `r`.

use super::Subject;
use crate::analysis::changes::{Change, ChangeKind, LayerChangeSet};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::schema::analysis as schema;
use crate::storage::record_frame::{FrameError, RecordFrame};
use crate::storage::{Backend, Op, Space};
use crate::store::Store;
use serde::Serialize;
use std::collections::HashSet;
use std::rc::Rc;

const FRAME: RecordFrame = RecordFrame::with_u8_version(b"ISCX", 1);

type Row = (String, String, String, i64, i64, i64, i64, i64, Option<String>);

/// The record bytes of a change set.
pub fn encode(set: &LayerChangeSet) -> Vec<u8> {
    let rows: Vec<Row> = set
        .changes
        .iter()
        .map(|c| {
            let change = match c.change {
                ChangeKind::Added => "a",
                ChangeKind::Modified => "m",
                ChangeKind::Removed => "r",
            };
            let (path, kind, link) = (c.path.clone(), c.kind.to_string(), c.linkname.clone());
            (path, change.into(), kind, c.size, c.size_delta, c.mode, c.uid, c.gid, link)
        })
        .collect();
    let mut record = FRAME.begin(64 * rows.len());
    serde_json::to_writer(&mut record, &(set.unchanged_entries, set.whiteouts, rows)).expect("plain data");
    FRAME.seal(&mut record);
    record
}

/// The change set a record holds; `data_corrupt` for anything but a whole record of this version.
pub fn decode(bytes: &[u8]) -> Result<LayerChangeSet> {
    let body = FRAME.open(bytes).map_err(|why| match why {
        FrameError::Checksum => Error::corrupt("search index record: checksum mismatch"),
        _ => Error::corrupt("search index record: not a version 1 record"),
    })?;
    let (unchanged_entries, whiteouts, rows): (usize, usize, Vec<Row>) =
        serde_json::from_slice(body).map_err(|e| Error::corrupt(format!("search index record: {e}")))?;
    let changes = rows
        .into_iter()
        .map(|(path, change, kind, size, size_delta, mode, uid, gid, linkname)| {
            let change = match change.as_str() {
                "a" => ChangeKind::Added,
                "m" => ChangeKind::Modified,
                "r" => ChangeKind::Removed,
                other => return Err(Error::corrupt(format!("search index record: change {other:?}"))),
            };
            let kind = crate::formats::tar_split::EntryKind::NAMES
                .iter()
                .find(|k| **k == kind)
                .ok_or_else(|| Error::corrupt(format!("search index record: type {kind:?}")))?;
            Ok(Change { path, change, kind, size, size_delta, mode, uid, gid, linkname })
        })
        .collect::<Result<_>>()?;
    Ok(LayerChangeSet { changes, unchanged_entries, whiteouts })
}

/// A layer a store-wide answer could not look into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedLayer {
    pub diff_id: Digest,
    pub chain_id: Digest,
    /// An image that has it (its first tag, else its ID) and the layer's index there.
    pub image: String,
    pub layer: usize,
    /// Why: the error reading it, or the unreadable layer below it (a layer's changes depend
    /// on everything below it).
    pub reason: String,
}

/// What [`Store::update_search_index`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexUpdate {
    /// Layers whose change sets were worked out and written.
    pub added: usize,
    /// Records of layers no image holds any more, deleted.
    pub removed: usize,
    pub skipped: Vec<SkippedLayer>,
}

impl<B: Backend + Clone> Store<B> {
    /// Brings the persisted search index up to date with every image of both views: the
    /// change sets of layers imported since are worked out and written, the records (index and
    /// entries) of layers no image has any more are deleted, in one commit. Every search runs
    /// it before reading the index, so the index follows the store. Only the index's keys are
    /// read, not its records, so it costs what changed. A layer that cannot be read is skipped
    /// (with the layers above it) and named; it is tried again after the next import.
    pub async fn update_search_index(&self) -> Result<IndexUpdate> {
        let subjects = self.all_subjects().await?;
        self.update_index_for(&subjects, false, true).await
    }

    /// Right after a commit that changed which images the store holds. An `rmi` or `gc` deletes
    /// the records of the layers that went (nothing is worked out). An import writes nothing
    /// here: its new layers are indexed by the next search (working their change sets out
    /// was most of a large import: 30 of 39 s for the 10,000-image store in Chromium); it only
    /// lets layers that could not be read be tried again. A failure here does not undo the
    /// change: the next search brings the index up to date.
    pub(crate) async fn search_index_after_change(&self, imported: bool) {
        if imported {
            self.analysis_cache().unreadable.borrow_mut().clear();
            return;
        }
        if let Ok(subjects) = self.all_subjects().await {
            let _ = self.update_index_for(&subjects, false, false).await;
        }
    }

    /// [`Self::update_search_index`] for these subjects (all the store's images); with
    /// `read_sets`, also reads every record into the cache (once a session), as a search needs
    /// them, and rewrites the ones that do not decode; without `work_out`, only deletes the
    /// records of layers gone (and writes change sets already worked out this session).
    pub(super) async fn update_index_for(
        &self,
        subjects: &[Subject],
        read_sets: bool,
        work_out: bool,
    ) -> Result<IndexUpdate> {
        let cache = self.analysis_cache();
        let mut ops = Vec::new();
        if read_sets && !cache.index_loaded.get() {
            let mut stored: HashSet<Digest> = HashSet::new();
            for (key, value) in self.backend().scan(Space::Meta, schema::CHANGES).await? {
                let Some(chain) = schema::changes_chain(&key) else {
                    ops.push(Op::delete_meta(key));
                    continue;
                };
                // A bad record is left out: it is worked out again and overwritten below.
                if let Ok(set) = decode(&value) {
                    cache.changes.borrow_mut().entry(chain.clone()).or_insert_with(|| Rc::new(set));
                    stored.insert(chain);
                }
            }
            *cache.indexed.borrow_mut() = stored;
            cache.index_loaded.set(true);
            cache.index_keys_loaded.set(true);
        } else if !cache.index_keys_loaded.get() {
            let mut stored: HashSet<Digest> = HashSet::new();
            for key in self.backend().keys(Space::Meta, schema::CHANGES).await? {
                match schema::changes_chain(&key) {
                    Some(chain) => {
                        stored.insert(chain);
                    }
                    None => ops.push(Op::delete_meta(key)),
                }
            }
            *cache.indexed.borrow_mut() = stored;
            cache.index_keys_loaded.set(true);
        }
        let mut update = IndexUpdate::default();
        let mut skipped_chains: HashSet<Digest> = HashSet::new();
        for s in subjects.iter().filter(|_| work_out) {
            let complete = {
                let (sets, indexed) = (cache.changes.borrow(), cache.indexed.borrow());
                s.chains.iter().all(|c| sets.contains_key(c) || (!read_sets && indexed.contains(c)))
            };
            if complete {
                continue;
            }
            // A layer's change set depends on the layers below it: work out the image's.
            if let Err((at, e)) = self.change_sets_upto(s, &mut ops).await {
                let unreadable = cache.unreadable.borrow_mut().entry(s.chains[at].clone()).or_insert(e.message).clone();
                for (i, chain) in s.chains.iter().enumerate().skip(at) {
                    if cache.changes.borrow().contains_key(chain) || !skipped_chains.insert(chain.clone()) {
                        continue;
                    }
                    let reason = if i == at {
                        unreadable.clone()
                    } else {
                        format!("layer {} below it ({}) cannot be read", at, s.config.diff_ids()[at])
                    };
                    update.skipped.push(SkippedLayer {
                        diff_id: s.config.diff_ids()[i].clone(),
                        chain_id: chain.clone(),
                        image: s.repo_tags.first().cloned().unwrap_or_else(|| s.id.to_string()),
                        layer: i,
                        reason,
                    });
                }
            }
        }
        let held: HashSet<&Digest> = subjects.iter().flat_map(|s| &s.chains).collect();
        let gone: Vec<Digest> = {
            let indexed = cache.indexed.borrow();
            let sets = cache.changes.borrow();
            for chain in held.iter().filter(|c| !indexed.contains(**c)) {
                if let Some(set) = sets.get(*chain) {
                    ops.push(Op::put_meta(schema::changes(chain), encode(set)));
                    update.added += 1;
                }
            }
            indexed.iter().filter(|c| !held.contains(c)).cloned().collect()
        };
        for chain in &gone {
            ops.push(Op::delete_meta(schema::changes(chain)));
            cache.changes.borrow_mut().remove(chain);
        }
        update.removed = gone.len();
        // The entries records of layers no image reads any more.
        let sources: HashSet<&Digest> =
            subjects.iter().flat_map(|s| s.sources.iter().filter_map(|l| l.digest())).collect();
        if !gone.is_empty() {
            for key in self.backend().keys(Space::Meta, schema::ENTRIES).await? {
                if schema::entries_source(&key).is_none_or(|d| !sources.contains(&d)) {
                    ops.push(Op::delete_meta(key));
                }
            }
        }
        if ops.is_empty() {
            return Ok(update);
        }
        self.backend().commit(ops).await?;
        let mut indexed = cache.indexed.borrow_mut();
        indexed.extend(held.into_iter().filter(|c| cache.changes.borrow().contains_key(*c)).cloned());
        for chain in gone {
            indexed.remove(&chain);
        }
        Ok(update)
    }
}
