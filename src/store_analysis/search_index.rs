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
use crate::storage::{Backend, Op, Space};
use crate::store::Store;
use std::collections::HashSet;
use std::rc::Rc;

const MAGIC: &[u8; 4] = b"ISCX";
const VERSION: u8 = 1;
const HEADER: usize = 9;

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
    let body = serde_json::to_vec(&(set.unchanged_entries, set.whiteouts, rows)).expect("plain data");
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The change set a record holds; `data_corrupt` for anything but a whole record of this version.
pub fn decode(bytes: &[u8]) -> Result<LayerChangeSet> {
    if bytes.len() < HEADER || &bytes[..4] != MAGIC || bytes[4] != VERSION {
        return Err(Error::corrupt("search index record: not a version 1 record"));
    }
    let body = &bytes[HEADER..];
    if crc32fast::hash(body).to_le_bytes() != bytes[5..9] {
        return Err(Error::corrupt("search index record: checksum mismatch"));
    }
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

impl<B: Backend + Clone> Store<B> {
    /// Makes the change set of every layer of `subjects` available in the analysis cache: read
    /// from the persisted index once a session, the missing ones worked out; then writes what
    /// the index lacked and deletes what it holds for layers no image has.
    pub(super) async fn load_search_index(&self, subjects: &[Subject]) -> Result<()> {
        let cache = self.analysis_cache();
        let mut stored: HashSet<Digest> = HashSet::new();
        let mut ops = Vec::new();
        if !cache.index_loaded.get() {
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
            cache.indexed.borrow_mut().extend(stored.iter().cloned());
            cache.index_loaded.set(true);
        }
        for s in subjects {
            let missing = {
                let sets = cache.changes.borrow();
                s.chains.iter().any(|c| !sets.contains_key(c))
            };
            if missing {
                // A layer's change set depends on the layers below it: work out the image's.
                self.change_sets(s).await?;
            }
        }
        let held: HashSet<&Digest> = subjects.iter().flat_map(|s| &s.chains).collect();
        let gone: Vec<Digest> = {
            let indexed = cache.indexed.borrow();
            let sets = cache.changes.borrow();
            for chain in held.iter().filter(|c| !indexed.contains(**c)) {
                if let Some(set) = sets.get(*chain) {
                    ops.push(Op::put_meta(schema::changes(chain), encode(set)));
                }
            }
            indexed.iter().filter(|c| !held.contains(c)).cloned().collect()
        };
        for chain in &gone {
            ops.push(Op::delete_meta(schema::changes(chain)));
        }
        if ops.is_empty() {
            return Ok(());
        }
        self.backend().commit(ops).await?;
        let mut indexed = cache.indexed.borrow_mut();
        indexed.extend(held.into_iter().cloned());
        for chain in gone {
            indexed.remove(&chain);
        }
        Ok(())
    }
}
