//! The Docker view's records, packed: the stores read and write one record per image, layer,
//! reference, distribution entry and layer tar ([`crate::schema::docker`]'s keys), but storage
//! holds them in shards per kind ([`crate::schema::docker::packed_shard`], by the CRC-32 of
//! the key): 4 while the kind is small, 64 once a shard would pass 256 KiB
//! ([`crate::storage::pack_family`]), so that opening a 10,000-image store reads a few hundred
//! records instead of ~30,000, a small store a dozen, and an import writes as few.
//!
//! [`pack_ops`] is the one place that turns record operations into shard operations: a commit's
//! puts and deletes of record keys become rewrites of the shards they fall in (read, changed,
//! written back in the same commit), so a mutation costs the shards it touches, not the store.
//! The shards are the source of truth, not a cache: a shard that does not decode is
//! `data_corrupt`, as a record that does not decode was.
//!
//! A store written by the previous version holds single records; [`read_view`] reads both
//! layouts (a packed entry wins over a single record of the same key) and returns the
//! operations that pack the single records ([`View::migration`]), committed when the store
//! opens. Until that commit lands, a deleted record key is also deleted as a single record.
//!
//! Shard layout: an [`EntryPack`] framed `isPK`, `u32` version 1; an entry's key is the record
//! key's part after its kind's prefix, its value the record's bytes as a single record held them.

use crate::error::{Error, Result};
use crate::schema::docker as keys;
use crate::storage::entry_pack::EntryPack;
use crate::storage::pack_family::{self, Family, FamilyEdit, Width};
use crate::storage::record_frame::RecordFrame;
use crate::storage::{Backend, Op, SharedBytes, Space};
use std::collections::{BTreeMap, BTreeSet};

const PACK: EntryPack = EntryPack { frame: RecordFrame::with_u32_version(b"isPK", 1), what: "packed record shard" };
/// Shards per kind when its shards are wide (4 when narrow).
pub const SHARDS: u32 = 64;

/// The packed kind of a record key: its index in [`keys::PACKED_KINDS`] and the key's rest.
fn kind_of(key: &str) -> Option<(usize, &str)> {
    keys::PACKED_KINDS.iter().enumerate().find_map(|(i, (prefix, _))| Some((i, key.strip_prefix(prefix)?)))
}

/// The shard key a record key is packed in when its kind's shards are `width` wide, or `None`
/// for a key that is not packed.
pub fn shard_key(key: &str, width: Width) -> Option<String> {
    let (kind, rest) = kind_of(key)?;
    Some(keys::packed_shard(keys::PACKED_KINDS[kind].1, width.name_of(&wide_shard(rest))))
}

/// The shards of one kind (under `prefix`) as a family of entry packs.
fn family(prefix: &str) -> Family<'_> {
    Family { prefix, pack: PACK, wide_name: &wide_shard }
}

/// Encodes one shard from its entries (key rests → values).
pub fn encode(entries: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    PACK.encode(entries)
}

/// Decodes shard `key`'s record into its entries (key rests → values); a record that is not a
/// shard of this version, fails its checksum or is truncated is `data_corrupt`, naming `key`.
pub fn decode<'r>(key: &str, record: &'r [u8]) -> Result<Vec<(&'r str, &'r [u8])>> {
    PACK.decode(key, record)
}

/// The Docker view's records as storage holds them (all of [`keys::ALL`] but the config
/// summary, which [`super::state::DockerState::load`] reads beside them).
#[derive(Default)]
pub struct View {
    /// Per kind of [`keys::PACKED_KINDS`]: record key → value, in key order.
    pub records: [Vec<(String, Vec<u8>)>; 6],
    /// [`keys::GRAPH_DRIVER`]'s value.
    pub graph_driver: Option<Vec<u8>>,
    /// The operations that pack the single records found (empty when there were none).
    pub migration: Vec<Op>,
}

/// Reads the Docker view's records (see [`View`]).
pub async fn read_view<B: Backend>(b: &B) -> Result<View> {
    let mut view = View::default();
    let mut packed: [Vec<(String, Vec<u8>)>; 6] = Default::default();
    let mut single: Vec<(usize, String, Vec<u8>)> = Vec::new();
    // Per kind, the names of the shards found (a migration deletes those it does not rewrite).
    let mut shard_names: [BTreeSet<String>; keys::PACKED_KINDS.len()] = Default::default();
    // One scan per part: the shards, the driver name and each kind's single records (a store
    // not packed yet), all asked at once; the summary is left out.
    let prefixes = [keys::PACKED, keys::GRAPH_DRIVER].into_iter().chain(keys::PACKED_KINDS.iter().map(|(p, _)| *p));
    let parts = futures::future::try_join_all(prefixes.map(|p| b.scan(Space::Meta, p))).await?;
    for (key, value) in parts.into_iter().flatten() {
        if key == keys::GRAPH_DRIVER {
            view.graph_driver = Some(value);
        } else if let Some((kind, _)) = keys::packed_shard_parts(&key) {
            let Some(i) = keys::PACKED_KINDS.iter().position(|(_, name)| *name == kind) else {
                return Err(Error::corrupt(format!("record {key:?}: unknown packed record kind")));
            };
            let prefix = keys::PACKED_KINDS[i].0;
            shard_names[i].insert(key[keys::packed_shard(kind, "").len()..].to_string());
            for (rest, v) in decode(&key, &value)? {
                packed[i].push((format!("{prefix}{rest}"), v.to_vec()));
            }
        } else if let Some((i, _)) = kind_of(&key) {
            single.push((i, key, value));
        }
    }
    for records in &mut packed {
        // In key order; a key found in two shards (a damaged store) keeps the later shard's
        // value, as a map filled in scan order would.
        records.sort_by(|a, b| a.0.cmp(&b.0));
        records.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
    }
    if !single.is_empty() {
        // A store written before packing: a packed entry wins over a single record of the same
        // key; every shard is rewritten from what was read, and the single records deleted.
        let mut merged: [BTreeMap<String, Vec<u8>>; 6] = packed.map(|records| records.into_iter().collect());
        for (i, key, value) in single {
            merged[i].entry(key).or_insert(value);
        }
        // Each kind laid out as an import would (narrow while small), or wide if it already
        // has wide shards; its shards that are not rewritten go.
        for (i, records) in merged.iter().enumerate() {
            let prefix = keys::packed_shard(keys::PACKED_KINDS[i].1, "");
            let existing: BTreeSet<String> =
                shard_names[i].iter().filter(|n| Width::of_name(n).is_some()).cloned().collect();
            let width = Width::of_names(existing.iter().map(String::as_str));
            let rest_of = keys::PACKED_KINDS[i].0.len();
            let entries =
                records.iter().map(|(key, value)| (key[rest_of..].to_string(), SharedBytes::from(value.clone())));
            view.migration.extend(pack_family::write_whole(&family(&prefix), entries, width, &existing));
        }
        for (prefix, _) in keys::PACKED_KINDS {
            view.migration.push(Op::DeletePrefix { space: Space::Meta, prefix: prefix.to_string() });
        }
        packed = merged.map(|records| records.into_iter().collect());
    }
    view.records = packed;
    Ok(view)
}

/// A change to one entry of a shard: its key's rest and its new value (`None`: deleted).
type Edit = (String, Option<SharedBytes>);

/// The wide shard (two hex digits) a key rest falls in; its narrow shard is the first digit
/// (see [`crate::storage::pack_family`]: a kind's shards are narrow until one would pass
/// 256 KiB).
fn wide_shard(rest: &str) -> String {
    format!("{:02x}", crc32fast::hash(rest.as_bytes()) % SHARDS)
}

/// Turns a commit's puts and deletes of record keys into rewrites of the shards they fall in
/// (read from `b` now: call it on the data the commit is guarded on, see
/// [`crate::storage::generation`]); other operations pass unchanged. A deleted record key is
/// also deleted as a single record (a store not packed yet).
pub async fn pack_ops<B: Backend>(b: &B, ops: Vec<Op>) -> Result<Vec<Op>> {
    let mut out = Vec::with_capacity(ops.len());
    let mut changes: [Vec<Edit>; keys::PACKED_KINDS.len()] = Default::default();
    for op in ops {
        match op {
            Op::Put { space: Space::Meta, key, value } if kind_of(&key).is_some() => {
                let (kind, rest) = kind_of(&key).expect("checked");
                changes[kind].push((rest.to_string(), Some(value)));
            }
            Op::Delete { space: Space::Meta, key } if kind_of(&key).is_some() => {
                let (kind, rest) = kind_of(&key).expect("checked");
                changes[kind].push((rest.to_string(), None));
                out.push(Op::Delete { space: Space::Meta, key });
            }
            Op::DeletePrefix { space: Space::Meta, ref prefix }
                if keys::PACKED_KINDS.iter().any(|(p, _)| p.starts_with(prefix.as_str()) || prefix.starts_with(p)) =>
            {
                return Err(Error::internal(format!("deleting records by prefix {prefix:?} is not supported")));
            }
            other => out.push(other),
        }
    }
    if changes.iter().all(Vec::is_empty) {
        return Ok(out);
    }
    let existing = b.keys(Space::Meta, keys::PACKED).await?;
    for (kind, edits) in changes.into_iter().enumerate() {
        if edits.is_empty() {
            continue;
        }
        let prefix = keys::packed_shard(keys::PACKED_KINDS[kind].1, "");
        let family = family(&prefix);
        let asked = edits.iter().map(|(rest, _)| rest.as_str());
        let mut shards = FamilyEdit::open(b, &family, existing.iter().map(String::as_str), asked).await?;
        for (rest, value) in edits {
            match value {
                Some(v) => shards.insert(rest, v),
                None => drop(shards.remove(&rest)),
            }
        }
        out.extend(shards.finish(b).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_round_trip_and_reject_damage() {
        let entries: BTreeMap<String, Vec<u8>> =
            [("sha256:aa".to_string(), b"{\"x\":1}".to_vec()), ("b".to_string(), Vec::new())].into_iter().collect();
        let record = encode(&entries);
        let back = decode("k", &record).unwrap();
        assert_eq!(back, vec![("b", &b""[..]), ("sha256:aa", &b"{\"x\":1}"[..])]);
        let mut flipped = record.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(decode("k", &flipped).unwrap_err().message.contains("checksum"));
        assert!(decode("k", &record[..record.len() - 1]).is_err());
        assert!(decode("k", b"junk").is_err());
        assert!(decode("k", &encode(&BTreeMap::new())).unwrap().is_empty());
        let key = shard_key(&keys::reference("busybox:latest"), Width::Wide).unwrap();
        let refs = keys::packed_shard("ref", "");
        assert!(key.starts_with(&refs) && key.len() == refs.len() + 2, "{key}");
        let narrow = shard_key(&keys::reference("busybox:latest"), Width::Narrow).unwrap();
        assert_eq!(narrow, key[..key.len() - 1], "a narrow shard is its wide shards' first digit");
        assert_eq!(shard_key(keys::GRAPH_DRIVER, Width::Wide), None);
        assert_eq!(shard_key(&keys::summary_shard("ab"), Width::Wide), None);
        let diff_id: crate::digest::Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        assert!(shard_key(&keys::layer_blob(&diff_id), Width::Wide)
            .unwrap()
            .starts_with(&keys::packed_shard("layer-blob", "")));
    }

    #[test]
    fn a_kind_goes_wide_when_a_narrow_shard_would_pass_the_limit_and_stays_wide() {
        use crate::storage::memory::MemoryBackend;
        use crate::storage::pack_family::NARROW_MAX_BYTES;
        futures::executor::block_on(async {
            let b = MemoryBackend::new();
            let refs = keys::packed_shard("ref", "");
            let widths = |all: Vec<String>| -> BTreeSet<usize> { all.iter().map(|k| k.len() - refs.len()).collect() };
            let put = |range: std::ops::Range<usize>| -> Vec<Op> {
                range.map(|i| Op::put_meta(keys::reference(&format!("r/{i}:t")), vec![b'v'; 1024])).collect()
            };
            b.commit(pack_ops(&b, put(0..100)).await.unwrap()).await.unwrap();
            assert_eq!(widths(b.keys(Space::Meta, &refs).await.unwrap()), BTreeSet::from([1]), "small: narrow");
            assert!(b.keys(Space::Meta, keys::PACKED).await.unwrap().len() <= 4);
            // A change to a narrow kind rewrites only its shard.
            let one = pack_ops(&b, put(100..101)).await.unwrap();
            assert_eq!(one.len(), 1);
            // Enough for a narrow shard to pass the limit: the kind is rewritten wide.
            let many = 100 + 4 * NARROW_MAX_BYTES / 1024;
            b.commit(pack_ops(&b, put(100..many)).await.unwrap()).await.unwrap();
            assert_eq!(widths(b.keys(Space::Meta, &refs).await.unwrap()), BTreeSet::from([2]), "no narrow one left");
            let view = read_view(&b).await.unwrap();
            assert_eq!(view.records[2].len(), many);
            assert!(view.records[2].iter().all(|(_, v)| v.len() == 1024));
            // Deleting most records leaves it wide; each change rewrites its own wide shard.
            let deletes: Vec<Op> = (10..many).map(|i| Op::delete_meta(keys::reference(&format!("r/{i}:t")))).collect();
            b.commit(pack_ops(&b, deletes).await.unwrap()).await.unwrap();
            assert_eq!(widths(b.keys(Space::Meta, &refs).await.unwrap()), BTreeSet::from([2]));
            assert_eq!(read_view(&b).await.unwrap().records[2].len(), 10);
            let ops = pack_ops(&b, put(0..1)).await.unwrap();
            assert!(
                matches!(&ops[..], [Op::Put { key, .. }] if *key == shard_key(&keys::reference("r/0:t"), Width::Wide).unwrap())
            );
        });
    }
}
