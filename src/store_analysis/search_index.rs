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
//! endian), then the body: the unchanged entry count, the whiteout count and the change count,
//! then per change the length of the path prefix it shares with the previous change's path,
//! the rest of the path, the change (`a`, `m` or `r`), the type (its index in
//! [`EntryKind::NAMES`](crate::formats::tar_split::EntryKind::NAMES)), size, size delta, mode,
//! uid and gid (zigzag varints), and the link target (0, or its length + 1 then its bytes).
//! Lengths and counts are LEB128 varints. Version 1 was JSON, which took most of a search's
//! time to decode after a reload; version 2 change sets compared whole tar modes, so a file
//! whose tar writer set the type bits in one layer and not in the other was "modified" when only
//! its time had changed. Both are refused, so worked out again and rewritten.

use super::{LayerSource, Subjects};
use crate::analysis::changes::{Change, ChangeKind, LayerChangeSet};
use crate::digest::{Digest, DigestHashSet};
use crate::error::{Error, Result};
use crate::formats::tar_split::EntryKind;
use crate::schema::analysis as schema;
use crate::storage::record_frame::{FrameError, RecordFrame};
use crate::storage::varint::{put_ivarint, put_uvarint, VarintReader};
use crate::storage::{Backend, Op, Space};
use crate::store::Store;
use serde::Serialize;
use std::collections::HashSet;
use std::rc::Rc;

const VERSION: u8 = 3;
const FRAME: RecordFrame = RecordFrame::with_u8_version(b"ISCX", VERSION);

/// The record bytes of a change set.
pub fn encode(set: &LayerChangeSet) -> Vec<u8> {
    let mut record = FRAME.begin(24 * set.changes.len() + 16);
    encode_body(set, &mut record);
    FRAME.seal(&mut record);
    record
}

/// The body of a change set's record (what follows the frame's header), appended to `out`;
/// the search snapshot keeps every layer's body in this form too.
pub(super) fn encode_body(set: &LayerChangeSet, out: &mut Vec<u8>) {
    for n in [set.unchanged_entries, set.whiteouts, set.changes.len()] {
        put_uvarint(out, n as u64);
    }
    let mut previous: &[u8] = &[];
    for c in &set.changes {
        let path = c.path.as_bytes();
        let shared = previous.iter().zip(path).take_while(|(a, b)| a == b).count();
        // A prefix that ends inside a UTF-8 sequence would split it: share whole characters.
        let shared = (0..=shared).rev().find(|&n| c.path.is_char_boundary(n)).unwrap_or(0);
        put_uvarint(out, shared as u64);
        put_uvarint(out, (path.len() - shared) as u64);
        out.extend_from_slice(&path[shared..]);
        out.push(match c.change {
            ChangeKind::Added => b'a',
            ChangeKind::Modified => b'm',
            ChangeKind::Removed => b'r',
        });
        let kind = EntryKind::NAMES.iter().position(|k| *k == c.kind).expect("a type name");
        out.push(kind as u8);
        for v in [c.size, c.size_delta, c.mode, c.uid, c.gid] {
            put_ivarint(out, v);
        }
        match &c.linkname {
            None => put_uvarint(out, 0),
            Some(link) => {
                put_uvarint(out, link.len() as u64 + 1);
                out.extend_from_slice(link.as_bytes());
            }
        }
        previous = path;
    }
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::corrupt(format!("search index record: {what}"))
}

/// `n` bytes of the record as a path or link target.
fn text<'a>(r: &mut VarintReader<'a>, n: usize) -> Result<&'a str> {
    std::str::from_utf8(r.take(n)?).map_err(|_| bad("a path or link target is not UTF-8"))
}

/// The change set a record holds; `data_corrupt` for anything but a whole record of this version.
pub fn decode(bytes: &[u8]) -> Result<LayerChangeSet> {
    let body = FRAME.open(bytes).map_err(|why| match why {
        FrameError::Checksum => bad("checksum mismatch"),
        _ => bad(format_args!("not a version {VERSION} record")),
    })?;
    decode_body(body)
}

/// The change set of a record's body ([`encode_body`]).
pub(super) fn decode_body(body: &[u8]) -> Result<LayerChangeSet> {
    let mut r = SetReader::new(body)?;
    // Each change takes at least 10 bytes: a bad count cannot make a huge allocation.
    let mut changes: Vec<Change> = Vec::with_capacity(r.left.min(body.len() / 10));
    while let Some(change) = r.next()? {
        changes.push(r.change(change)?);
    }
    let (unchanged_entries, whiteouts) = (r.unchanged_entries, r.whiteouts);
    r.finish()?;
    Ok(LayerChangeSet { changes, unchanged_entries, whiteouts })
}

/// Reads a change set's body one change at a time: each change's path and kind of change
/// first ([`SetReader::next`], [`SetReader::path`]), then either the whole change
/// ([`SetReader::change`]) or nothing more of it ([`SetReader::skip`]), so that a search makes
/// only the changes that match.
pub(super) struct SetReader<'a> {
    r: VarintReader<'a>,
    /// The current change's path (each path is stored as a prefix of the previous one and the rest).
    path: String,
    /// Changes not read yet.
    left: usize,
    pub(super) unchanged_entries: usize,
    pub(super) whiteouts: usize,
}

impl<'a> SetReader<'a> {
    pub(super) fn new(body: &'a [u8]) -> Result<SetReader<'a>> {
        let mut r = VarintReader::new(body, "search index record");
        let (unchanged_entries, whiteouts, left) = (r.length()?, r.length()?, r.length()?);
        Ok(SetReader { r, path: String::new(), left, unchanged_entries, whiteouts })
    }

    /// Moves to the next change: its kind of change (its path is [`Self::path`]), or `None`
    /// after the last. Read the rest of the change ([`Self::change`] or [`Self::skip`]) before
    /// the next call.
    pub(super) fn next(&mut self) -> Result<Option<ChangeKind>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let shared = self.r.length()?;
        if shared > self.path.len() || !self.path.is_char_boundary(shared) {
            return Err(bad("bad path prefix"));
        }
        self.path.truncate(shared);
        let rest = self.r.length()?;
        self.path.push_str(text(&mut self.r, rest)?);
        Ok(Some(match self.r.byte()? {
            b'a' => ChangeKind::Added,
            b'm' => ChangeKind::Modified,
            b'r' => ChangeKind::Removed,
            other => return Err(bad(format!("change {other}"))),
        }))
    }

    /// The current change's path.
    pub(super) fn path(&self) -> &str {
        &self.path
    }

    /// The rest of the current change, made whole.
    pub(super) fn change(&mut self, change: ChangeKind) -> Result<Change> {
        let kind = self.r.byte()?;
        let kind = *EntryKind::NAMES.get(usize::from(kind)).ok_or_else(|| bad(format!("type {kind}")))?;
        let r = &mut self.r;
        let (size, size_delta, mode, uid, gid) = (r.ivarint()?, r.ivarint()?, r.ivarint()?, r.ivarint()?, r.ivarint()?);
        let linkname = match r.length()? {
            0 => None,
            n => Some(text(r, n - 1)?.to_string()),
        };
        Ok(Change { path: self.path.clone(), change, kind, size, size_delta, mode, uid, gid, linkname })
    }

    /// Reads past the rest of the current change, checking it as [`Self::change`] would.
    pub(super) fn skip(&mut self) -> Result<()> {
        let kind = self.r.byte()?;
        if usize::from(kind) >= EntryKind::NAMES.len() {
            return Err(bad(format!("type {kind}")));
        }
        for _ in 0..5 {
            self.r.ivarint()?;
        }
        match self.r.length()? {
            0 => Ok(()),
            n => text(&mut self.r, n - 1).map(|_| ()),
        }
    }

    /// After the last change: fails if anything follows it.
    pub(super) fn finish(self) -> Result<()> {
        if self.left != 0 || !self.r.at_end() {
            return Err(bad("bytes after the last change"));
        }
        Ok(())
    }
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
    /// (with the layers above it) and named; it is tried again after the next import. When
    /// none was skipped, the search snapshot is made too (and persisted) if it is not current.
    pub async fn update_search_index(&self) -> Result<IndexUpdate> {
        let subjects = self.all_subjects().await?;
        let update = self.update_index_for(&subjects, false, true).await?;
        if update.skipped.is_empty() {
            // The search snapshot too, so that the next search (here, or in another tab or
            // worker at the same generation) reads one record. Derived: a failure only means
            // the next search makes it.
            let _ = self.search_snapshot(false).await;
        }
        Ok(update)
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
        subjects: &Subjects,
        read_sets: bool,
        work_out: bool,
    ) -> Result<IndexUpdate> {
        let cache = self.analysis_cache();
        let key = subjects.key();
        let loaded = if read_sets { cache.index_loaded.get() } else { cache.index_keys_loaded.get() };
        if work_out && loaded && cache.index_complete_for.borrow().as_ref() == Some(&key) {
            return Ok(IndexUpdate::default());
        }
        let mut ops = Vec::new();
        if read_sets && !cache.index_loaded.get() {
            let mut stored: DigestHashSet<Digest> = DigestHashSet::default();
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
            let mut stored: DigestHashSet<Digest> = DigestHashSet::default();
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
        if work_out {
            // The tar-splits of layers not worked out yet, read ahead by pack.
            let todo: Vec<&Digest> = {
                let (sets, unreadable) = (cache.changes.borrow(), cache.unreadable.borrow());
                let mut seen = HashSet::new();
                subjects
                    .iter()
                    .flat_map(|s| s.chains.iter().zip(&s.sources))
                    .filter(|(chain, _)| !sets.contains_key(*chain) && !unreadable.contains_key(*chain))
                    .filter_map(|(_, source)| match source {
                        LayerSource::TarSplit(d) if seen.insert(d) => Some(d),
                        _ => None,
                    })
                    .collect()
            };
            if todo.len() > 1 {
                self.prefetch_tar_split_entries(todo, &mut ops).await?;
            }
        }
        let mut update = IndexUpdate::default();
        let mut skipped_chains: DigestHashSet<Digest> = DigestHashSet::default();
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
        let held: DigestHashSet<&Digest> = subjects.iter().flat_map(|s| &s.chains).collect();
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
        if !gone.is_empty() {
            let sources: HashSet<&Digest> =
                subjects.iter().flat_map(|s| s.sources.iter().filter_map(|l| l.digest())).collect();
            for key in self.backend().keys(Space::Meta, schema::ENTRIES).await? {
                if schema::entries_source(&key).is_none_or(|d| !sources.contains(&d)) {
                    ops.push(Op::delete_meta(key));
                }
            }
        }
        if !ops.is_empty() {
            self.backend().commit(ops).await?;
            let mut indexed = cache.indexed.borrow_mut();
            indexed.extend(held.into_iter().filter(|c| cache.changes.borrow().contains_key(*c)).cloned());
            for chain in gone {
                indexed.remove(&chain);
            }
        }
        // Complete for these subjects when every layer was read (or was in the index).
        let complete = work_out && update.skipped.is_empty();
        *cache.index_complete_for.borrow_mut() = complete.then_some(key);
        Ok(update)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, change: ChangeKind, kind: &'static str, size: i64, linkname: Option<&str>) -> Change {
        let (mode, uid, gid) = (0o4755, 1000, -1);
        Change {
            path: path.into(),
            change,
            kind,
            size,
            size_delta: -size,
            mode,
            uid,
            gid,
            linkname: linkname.map(Into::into),
        }
    }

    #[test]
    fn records_hold_every_field_and_refuse_damage() {
        let set = LayerChangeSet {
            changes: vec![
                change("/etc", ChangeKind::Modified, "dir", 0, None),
                change("/etc/caf\u{e9}", ChangeKind::Added, "file", 1 << 40, None),
                change("/etc/caf\u{e8}/x", ChangeKind::Added, "symlink", 0, Some("../caf\u{e9}")),
                change("/etc/empty-link", ChangeKind::Removed, "hardlink", 7, Some("")),
                change("/\u{1f600}", ChangeKind::Added, "fifo", 0, None),
            ],
            unchanged_entries: 12,
            whiteouts: 3,
        };
        let record = encode(&set);
        let back = decode(&record).unwrap();
        assert_eq!((back.changes, back.unchanged_entries, back.whiteouts), (set.changes, 12, 3));
        for cut in [0, 8, 9, record.len() - 1] {
            assert!(decode(&record[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = record.clone();
        flipped[12] ^= 1;
        assert!(decode(&flipped).unwrap_err().message.contains("checksum"));
        // Records of earlier versions are refused, so worked out again and rewritten.
        let mut v1 = RecordFrame::with_u8_version(b"ISCX", 1).begin(16);
        v1.extend_from_slice(b"[0,0,[]]");
        RecordFrame::with_u8_version(b"ISCX", 1).seal(&mut v1);
        assert!(decode(&v1).unwrap_err().message.contains("version 3"));
        let v2 = RecordFrame::with_u8_version(b"ISCX", 2).encode(&record[FRAME.header_len()..]);
        assert!(decode(&v2).unwrap_err().message.contains("version 3"));
    }
}
