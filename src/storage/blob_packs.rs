//! Small blobs kept many to a record: a blob that a commit publishes inside its record (an
//! import's configs and tar-splits, see [`super::blobs::INLINE_MAX`]) is stored as an entry of
//! the pack its digest falls in ([`crate::schema::blob_pack`]: by the digest's first hex
//! digit while the packs are small, its first two once one would pass 256 KiB, see
//! [`super::pack_family`]). IndexedDB's cost is mostly per record: an import of 10,000 images
//! publishes about 13,000 such blobs, which are then about 256 records, not 13,000; a store of
//! a few hundred images keeps them in 16.
//!
//! [`pack_commit`] is the one place where blob records become pack entries: every commit that
//! publishes or deletes blob records passes through it (imports, Docker mutations, containerd
//! imports, gc), which also drops the publication of blobs already stored. The backends' commit
//! contract checks that no inline single record is written any more ([`check_commit`]).
//! A pack is rewritten whole (read, changed, written back in the same commit), on the data the
//! commit is guarded on (see [`super::generation`]). A reader finds a blob's pack at either
//! width: a pack's name says its width.
//!
//! Earlier versions kept such a blob as a single record (`blob/<digest>`, [`INLINE_TAG`] and
//! the bytes); those stay readable where they are, and are deleted as single records. A blob
//! may then be both: the bytes are the same (stored by digest), so either copy answers.
//!
//! A pack is an [`EntryPack`] framed `isBP`, `u32` version 1: entry keys are digests, values
//! the blob's bytes.

use super::blobs::{BlobRecord, Stored, INLINE_TAG};
use super::entry_pack::EntryPack;
use super::pack_family::{Family, FamilyEdit, Width};
use super::record_frame::RecordFrame;
use super::{Backend, Op, Space};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::schema;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

const PACK: EntryPack = EntryPack { frame: RecordFrame::with_u32_version(b"isBP", 1), what: "blob pack" };

/// The blob packs as a family of entry packs (entry keys are digests as text).
const FAMILY: Family<'static> = Family { prefix: schema::BLOB_PACKS, pack: PACK, wide_name: &schema::blob_pack_name };

/// The keys of the packs that may hold blob `d` among the packs that exist: its wide pack, then
/// its narrow one. Both exist only in a store damaged outside a commit, which reads as the union.
fn existing_packs_of<'e>(
    existing: &'e std::collections::HashSet<String>,
    d: &Digest,
) -> impl Iterator<Item = String> + 'e {
    [schema::blob_pack(d, Width::Wide), schema::blob_pack(d, Width::Narrow)]
        .into_iter()
        .filter(|k| existing.contains(k))
}

/// The keys of the blob packs that exist.
async fn list_packs<B: Backend>(b: &B) -> Result<std::collections::HashSet<String>> {
    Ok(b.keys(Space::Meta, schema::BLOB_PACKS).await?.into_iter().collect())
}

/// Blob `d`'s bytes if a pack holds it: its packs at both widths are asked at once, without a
/// listing (a single blob's stat).
pub async fn find_packed<B: Backend>(b: &B, d: &Digest) -> Result<Option<Vec<u8>>> {
    let (wide, narrow) = (schema::blob_pack(d, Width::Wide), schema::blob_pack(d, Width::Narrow));
    let (w, n) = futures::future::try_join(b.get(Space::Meta, &wide), b.get(Space::Meta, &narrow)).await?;
    for (key, record) in [(wide, w), (narrow, n)] {
        if let Some(bytes) = record.map(|r| find(&key, &r, d)).transpose()?.flatten() {
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

/// The bytes of blob `d` in pack record `record` (stored under `key`), if the pack holds it.
pub fn find(key: &str, record: &[u8], d: &Digest) -> Result<Option<Vec<u8>>> {
    let entries = PACK.decode(key, record)?;
    Ok(entries.into_iter().find(|(k, _)| *k == d.as_str()).map(|(_, v)| v.to_vec()))
}

/// The digests a pack record holds, with their sizes (gc's inventory).
pub fn digests(key: &str, record: &[u8]) -> Result<Vec<(Digest, u64)>> {
    PACK.decode(key, record)?
        .into_iter()
        .map(|(k, v)| {
            let d = Digest::parse(k).map_err(|e| Error::corrupt(format!("record {key:?}: entry {k:?}: {e}")))?;
            Ok((d, v.len() as u64))
        })
        .collect()
}

/// Which blobs the packs hold, for many questions (an import's configs and tar-splits against
/// a store that may hold them): the packs that exist are listed once, and each one asked about
/// is read once, keeping only its digests.
pub struct PackIndex {
    existing: std::collections::HashSet<String>,
    digests: RefCell<HashMap<String, Rc<std::collections::HashSet<String>>>>,
}

impl PackIndex {
    /// Lists the packs (keys only).
    pub async fn list<B: Backend>(b: &B) -> Result<PackIndex> {
        Ok(PackIndex { existing: list_packs(b).await?, digests: RefCell::default() })
    }

    /// An index that knows of no pack (answers "not in a pack" without reading).
    pub fn none() -> PackIndex {
        PackIndex { existing: Default::default(), digests: RefCell::default() }
    }

    /// Whether a pack holds blob `d`.
    pub async fn contains<B: Backend>(&self, b: &B, d: &Digest) -> Result<bool> {
        for key in existing_packs_of(&self.existing, d) {
            let known = self.digests.borrow().get(&key).cloned();
            let digests = match known {
                Some(digests) => digests,
                None => {
                    let record = b.get(Space::Meta, &key).await?.unwrap_or_default();
                    let digests: std::collections::HashSet<String> =
                        PACK.decode(&key, &record)?.into_iter().map(|(k, _)| k.to_string()).collect();
                    let digests = Rc::new(digests);
                    self.digests.borrow_mut().insert(key, digests.clone());
                    digests
                }
            };
            if digests.contains(d.as_str()) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Reads the bytes of many packed blobs (a store-wide read of configs or tar-splits) keeping
/// one pack in memory: the last one read. Asked in pack order ([`pack_order`]), every pack is
/// read once and memory stays bounded by one pack.
#[derive(Default)]
pub struct PackReader {
    /// The packs that exist, listed on the first read.
    existing: RefCell<Option<Rc<std::collections::HashSet<String>>>>,
    last: RefCell<Option<(String, Option<Rc<OpenPack>>)>>,
}

/// A pack record read, with where each entry's bytes are in it (decoded and checked once).
struct OpenPack {
    record: Vec<u8>,
    at: HashMap<String, std::ops::Range<usize>>,
}

impl OpenPack {
    fn open(key: &str, record: Vec<u8>) -> Result<OpenPack> {
        let base = record.as_ptr() as usize;
        let at = PACK
            .decode(key, &record)?
            .into_iter()
            .map(|(k, v)| {
                let from = v.as_ptr() as usize - base;
                (k.to_string(), from..from + v.len())
            })
            .collect();
        Ok(OpenPack { record, at })
    }
}

impl PackReader {
    /// Blob `d`'s bytes if its pack holds it.
    pub async fn get<B: Backend>(&self, b: &B, d: &Digest) -> Result<Option<Vec<u8>>> {
        let listed = self.existing.borrow().clone();
        let existing = match listed {
            Some(existing) => existing,
            None => {
                let existing = Rc::new(list_packs(b).await?);
                *self.existing.borrow_mut() = Some(existing.clone());
                existing
            }
        };
        for key in existing_packs_of(&existing, d) {
            let memo = self.last.borrow().as_ref().filter(|(k, _)| *k == key).map(|(_, p)| p.clone());
            let pack = match memo {
                Some(pack) => pack,
                None => {
                    let pack = match b.get(Space::Meta, &key).await? {
                        Some(record) => Some(Rc::new(OpenPack::open(&key, record)?)),
                        None => None,
                    };
                    *self.last.borrow_mut() = Some((key, pack.clone()));
                    pack
                }
            };
            if let Some(bytes) = pack.and_then(|p| p.at.get(d.as_str()).map(|r| p.record[r.clone()].to_vec())) {
                return Ok(Some(bytes));
            }
        }
        Ok(None)
    }
}

/// The order to read many blobs in with one [`PackReader`]: the positions of `digests`, those
/// of the same pack together.
pub fn pack_order(digests: &[&Digest]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..digests.len()).collect();
    // By wide pack, which also keeps each narrow pack's blobs together.
    order.sort_by_cached_key(|&i| schema::blob_pack(digests[i], Width::Wide));
    order
}

/// Prepares a commit's blob records (call it on the data the commit is guarded on, with every
/// other operation of the commit already in `ops`):
/// - drops the publication of every blob that is already stored, as a single record or in a
///   pack (overwriting a record would orphan its chunks), with the chunks staged for it in the
///   same commit, and returns the chunk sets of the dropped copies (`""` for one without
///   chunks), for [`super::blobs::discard_all`] once the commit is through;
/// - turns the publication of a blob kept in its record into an entry of its pack, and the
///   deletion of a blob record into the removal of its pack entry too (the single record's
///   deletion stays, for a blob an earlier version stored);
/// - appends the rewrites of the packs that changed.
pub async fn pack_commit<B: Backend>(b: &B, ops: &mut Vec<Op>) -> Result<Vec<String>> {
    let mut touched: BTreeSet<String> = BTreeSet::new();
    let mut publishing = 0;
    for op in ops.iter() {
        match op {
            Op::Put { space: Space::Meta, key, .. } | Op::Delete { space: Space::Meta, key } => {
                if let Some(d) = key.strip_prefix(schema::BLOBS) {
                    touched.insert(d.to_string());
                    publishing += matches!(op, Op::Put { .. }) as usize;
                }
            }
            Op::DeletePrefix { space: Space::Meta, prefix }
                if prefix.starts_with(schema::BLOB_PACKS) || schema::BLOB_PACKS.starts_with(prefix.as_str()) =>
            {
                return Err(Error::internal(format!("deleting records by prefix {prefix:?} is not supported")));
            }
            _ => {}
        }
    }
    if touched.is_empty() {
        return Ok(Vec::new());
    }
    let singles = Stored::prepare_single_records(b, publishing).await?;
    let existing = b.keys(Space::Meta, schema::BLOB_PACKS).await?;
    let mut packs =
        FamilyEdit::open(b, &FAMILY, existing.iter().map(String::as_str), touched.iter().map(String::as_str)).await?;
    let mut duplicates = Vec::new();
    let mut kept = Vec::with_capacity(ops.len());
    for op in std::mem::take(ops) {
        // The blob's digest as text (record keys are made from digests: no parse needed).
        let digest = match &op {
            Op::Put { space: Space::Meta, key, .. } | Op::Delete { space: Space::Meta, key } => {
                key.strip_prefix(schema::BLOBS).map(str::to_string)
            }
            _ => None,
        };
        let Some(d) = digest else {
            kept.push(op);
            continue;
        };
        match op {
            Op::Put { key, value, .. } => {
                if packs.contains(&d) || singles.has_key(b, &key).await? {
                    duplicates.extend(BlobRecord::chunk_set_of(&value));
                } else if value.first() == Some(&INLINE_TAG) {
                    packs.insert(d, value.tail(1));
                } else {
                    kept.push(Op::Put { space: Space::Meta, key, value });
                }
            }
            delete => {
                packs.remove(&d);
                kept.push(delete);
            }
        }
    }
    // Chunks staged in the same commit go with their dropped record.
    kept.retain(|op| match op {
        Op::Put { space: Space::Chunks, key, .. } => {
            !key.rsplit_once('/').is_some_and(|(set, _)| duplicates.iter().any(|d| d == set))
        }
        _ => true,
    });
    kept.extend(packs.finish(b).await?);
    *ops = kept;
    Ok(duplicates)
}

/// The backends' commit contract: a blob kept in its record is never written as a single
/// record any more, so a commit that does was not prepared by [`pack_commit`] (a bug).
pub fn check_commit(ops: &[Op]) -> Result<()> {
    for op in ops {
        if let Op::Put { space: Space::Meta, key, value } = op {
            if key.starts_with(schema::BLOBS) && value.first() == Some(&INLINE_TAG) {
                return Err(Error::internal(format!("{key}: a small blob is committed without pack_commit")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::blobs::record_key;
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_pack_finds_its_entries_and_names_itself_when_damaged() {
        let d1 = Digest::sha256_of(b"one");
        let d2 = Digest::sha256_of(b"two");
        let entries: BTreeMap<String, Vec<u8>> =
            [(d1.to_string(), b"one".to_vec()), (d2.to_string(), b"two".to_vec())].into_iter().collect();
        let record = PACK.encode(&entries);
        assert_eq!(find("p", &record, &d1).unwrap(), Some(b"one".to_vec()));
        assert_eq!(find("p", &record, &d2).unwrap(), Some(b"two".to_vec()));
        assert_eq!(find("p", &record, &Digest::sha256_of(b"three")).unwrap(), None);
        let mut sorted = vec![(d1.clone(), 3), (d2.clone(), 3)];
        sorted.sort();
        let mut listed = digests("p", &record).unwrap();
        listed.sort();
        assert_eq!(listed, sorted);
        let mut flipped = record.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let e = find("blob-pack/ab", &flipped, &d1).unwrap_err();
        assert!(e.message.contains("blob-pack/ab") && e.message.contains("checksum"), "{}", e.message);
        let foreign = crate::docker::packed::encode(&BTreeMap::new());
        assert!(find("p", &foreign, &d1).unwrap_err().message.contains("not a blob pack"));
    }

    #[test]
    fn a_small_blob_an_earlier_version_kept_in_its_own_record_still_reads_and_goes() {
        use super::super::blobs::{self, commit_packed};
        use crate::storage::memory::MemoryBackend;
        futures::executor::block_on(async {
            let b = MemoryBackend::new();
            let (old, new) = (b"kept by an earlier version".to_vec(), b"packed".to_vec());
            let (d_old, d_new) = (Digest::sha256_of(&old), Digest::sha256_of(&new));
            let mut single = vec![INLINE_TAG];
            single.extend_from_slice(&old);
            b.insert_unchecked(Space::Meta, &record_key(&d_old), single);
            commit_packed(&b, blobs::stage_in_commit(d_new.clone(), &new).ops).await.unwrap();
            assert_eq!(blobs::read_all(&b, &d_old).await.unwrap(), old);
            assert_eq!(blobs::read_all(&b, &d_new).await.unwrap(), new);
            let reader = blobs::BulkReader::new();
            assert_eq!(reader.read_all(&b, &d_old).await.unwrap(), old);
            let mut both = vec![d_old.clone(), d_new.clone()];
            both.sort();
            assert_eq!(blobs::stored_digests(&b).await.unwrap(), both);
            for count in [1, 100] {
                let stored = Stored::prepare(&b, count).await.unwrap();
                assert!(stored.has(&b, &d_old).await.unwrap() && stored.has(&b, &d_new).await.unwrap());
                assert!(!stored.has(&b, &Digest::sha256_of(b"absent")).await.unwrap());
            }
            // Published again: the stored copy stays, no pack entry is added.
            let mut again = blobs::stage_in_commit(d_old.clone(), &old).ops;
            assert_eq!(pack_commit(&b, &mut again).await.unwrap(), vec![String::new()]);
            assert!(again.is_empty(), "{again:?}");
            // Deleted: the single record goes (and the pack stays as it is).
            let pack_before = b.scan(Space::Meta, schema::BLOB_PACKS).await.unwrap();
            let rec = blobs::stat(&b, &d_old).await.unwrap().unwrap();
            commit_packed(&b, blobs::delete_ops(&d_old, &rec)).await.unwrap();
            assert!(blobs::stat(&b, &d_old).await.unwrap().is_none());
            assert_eq!(b.scan(Space::Meta, schema::BLOB_PACKS).await.unwrap(), pack_before);
            assert_eq!(blobs::stored_digests(&b).await.unwrap(), vec![d_new]);
        });
    }

    #[test]
    fn packs_hold_many_blobs_and_each_is_rewritten_only_when_it_changes() {
        use super::super::blobs::{self, commit_packed};
        use crate::storage::memory::MemoryBackend;
        futures::executor::block_on(async {
            let b = MemoryBackend::new();
            let blobs_in: Vec<Vec<u8>> = (0..600u32).map(|i| format!("config {i}").into_bytes()).collect();
            let ops: Vec<Op> =
                blobs_in.iter().flat_map(|bytes| blobs::stage_in_commit(Digest::sha256_of(bytes), bytes).ops).collect();
            commit_packed(&b, ops).await.unwrap();
            let packs = b.keys(Space::Meta, schema::BLOB_PACKS).await.unwrap();
            // Small: narrow packs, by the first hex digit.
            assert_eq!(packs.len(), 16, "{packs:?}");
            assert!(packs.iter().all(|k| k.len() == schema::BLOB_PACKS.len() + 1), "{packs:?}");
            assert!(b.keys(Space::Meta, schema::BLOBS).await.unwrap().is_empty(), "no single record");
            for bytes in &blobs_in {
                assert_eq!(&blobs::read_all(&b, &Digest::sha256_of(bytes)).await.unwrap(), bytes);
            }
            // One more blob rewrites its pack only.
            let extra = b"one more".to_vec();
            let d = Digest::sha256_of(&extra);
            let mut ops = blobs::stage_in_commit(d.clone(), &extra).ops;
            pack_commit(&b, &mut ops).await.unwrap();
            assert_eq!(ops.len(), 1);
            assert!(matches!(&ops[0], Op::Put { key, .. } if *key == schema::blob_pack(&d, Width::Narrow)));
            // The same blobs again: every copy dropped, nothing written.
            let mut ops: Vec<Op> =
                blobs_in.iter().flat_map(|bytes| blobs::stage_in_commit(Digest::sha256_of(bytes), bytes).ops).collect();
            assert_eq!(pack_commit(&b, &mut ops).await.unwrap().len(), 600);
            assert!(ops.is_empty());
            // A pack that does not decode is named.
            let key = packs[0].clone();
            b.insert_unchecked(Space::Meta, &key, b"junk".to_vec());
            let in_it = blobs_in
                .iter()
                .map(|x| Digest::sha256_of(x))
                .find(|d| schema::blob_pack(d, Width::Narrow) == key)
                .unwrap();
            let e = blobs::read_all(&b, &in_it).await.unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::DataCorrupt);
            assert!(e.message.contains(&key), "{}", e.message);
        });
    }

    #[test]
    fn packs_go_wide_when_one_would_pass_the_narrow_limit_and_every_blob_still_reads() {
        use super::super::blobs::{self, commit_packed};
        use super::super::pack_family::NARROW_MAX_BYTES;
        use crate::storage::memory::MemoryBackend;
        futures::executor::block_on(async {
            let widths = |keys: &[String]| -> BTreeSet<usize> {
                keys.iter().map(|k| k.len() - schema::BLOB_PACKS.len()).collect()
            };
            let b = MemoryBackend::new();
            let blob = |i: usize, size: usize| -> Vec<u8> {
                let mut v = format!("blob {i} ").into_bytes();
                v.resize(size, b'x');
                v
            };
            // 64 blobs of 16 KiB: about 64 KiB per narrow pack.
            let first: Vec<Vec<u8>> = (0..64).map(|i| blob(i, 16 * 1024)).collect();
            let stage = |set: &[Vec<u8>]| -> Vec<Op> {
                set.iter().flat_map(|x| blobs::stage_in_commit(Digest::sha256_of(x), x).ops).collect()
            };
            commit_packed(&b, stage(&first)).await.unwrap();
            let packs = b.keys(Space::Meta, schema::BLOB_PACKS).await.unwrap();
            assert_eq!(widths(&packs), BTreeSet::from([1]), "{packs:?}");
            // Enough more for one narrow pack to pass the limit: the whole family goes wide.
            let more: Vec<Vec<u8>> = (64..64 + NARROW_MAX_BYTES / 1024).map(|i| blob(i, 16 * 1024)).collect();
            commit_packed(&b, stage(&more)).await.unwrap();
            let packs = b.keys(Space::Meta, schema::BLOB_PACKS).await.unwrap();
            assert_eq!(widths(&packs), BTreeSet::from([2]), "no narrow pack is left");
            for x in first.iter().chain(&more) {
                assert_eq!(&blobs::read_all(&b, &Digest::sha256_of(x)).await.unwrap(), x);
                assert_eq!(&blobs::BulkReader::new().read_all(&b, &Digest::sha256_of(x)).await.unwrap(), x);
            }
            assert_eq!(blobs::stored_digests(&b).await.unwrap().len(), first.len() + more.len());
            // A wide family stays wide when it shrinks.
            let gone = Digest::sha256_of(&first[0]);
            let rec = blobs::stat(&b, &gone).await.unwrap().unwrap();
            commit_packed(&b, blobs::delete_ops(&gone, &rec)).await.unwrap();
            assert!(blobs::stat(&b, &gone).await.unwrap().is_none());
            assert_eq!(widths(&b.keys(Space::Meta, schema::BLOB_PACKS).await.unwrap()), BTreeSet::from([2]));
            // A narrow pack beside wide ones (damage outside a commit), among them the wide pack
            // of its own blob, still reads (the union of both), and the next commit folds it
            // into the wide packs.
            let wide_packs = b.keys(Space::Meta, schema::BLOB_PACKS).await.unwrap();
            let stray = (0..)
                .map(|i| format!("kept in a stray narrow pack {i}").into_bytes())
                .find(|x| wide_packs.contains(&schema::blob_pack(&Digest::sha256_of(x), Width::Wide)))
                .unwrap();
            let ds = Digest::sha256_of(&stray);
            let narrow = schema::blob_pack(&ds, Width::Narrow);
            let entries: BTreeMap<String, Vec<u8>> = [(ds.to_string(), stray.clone())].into();
            b.insert_unchecked(Space::Meta, &narrow, PACK.encode(&entries));
            assert_eq!(blobs::read_all(&b, &ds).await.unwrap(), stray);
            assert_eq!(blobs::BulkReader::new().read_all(&b, &ds).await.unwrap(), stray);
            assert!(PackIndex::list(&b).await.unwrap().contains(&b, &ds).await.unwrap());
            commit_packed(&b, stage(&[b"one more".to_vec()])).await.unwrap();
            assert!(b.get(Space::Meta, &narrow).await.unwrap().is_none());
            assert_eq!(blobs::read_all(&b, &ds).await.unwrap(), stray);
            assert_eq!(blobs::stored_digests(&b).await.unwrap().len(), first.len() + more.len() + 1);
        });
    }

    #[test]
    fn an_inline_single_record_is_refused_by_the_commit_check() {
        let d = Digest::sha256_of(b"x");
        let inline = Op::put_meta(record_key(&d), vec![INLINE_TAG, b'x']);
        assert!(check_commit(std::slice::from_ref(&inline)).is_err());
        let json = Op::put_meta(record_key(&d), br#"{"size":1}"#.to_vec());
        assert!(check_commit(&[json]).is_ok());
    }
}
