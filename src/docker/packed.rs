//! The Docker view's records, packed: the stores read and write one record per image, layer,
//! reference, distribution entry and layer tar ([`crate::schema::docker`]'s keys), but storage
//! holds them in 64 shards per kind ([`crate::schema::docker::packed_shard`], by the CRC-32 of
//! the key), so that opening a 10,000-image store reads a few hundred records instead of
//! ~30,000, and an import writes a few hundred instead of one per record.
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
use crate::storage::record_frame::RecordFrame;
use crate::storage::{Backend, Op, Space};
use std::collections::BTreeMap;

const PACK: EntryPack = EntryPack { frame: RecordFrame::with_u32_version(b"isPK", 1), what: "packed record shard" };
/// Shards per kind.
pub const SHARDS: u32 = 64;
/// Up to this many shards are read one by one; more are read with one scan of all of them.
const ONE_BY_ONE_MAX: usize = 16;

/// The packed kind of a record key: its index in [`keys::PACKED_KINDS`] and the key's rest.
fn kind_of(key: &str) -> Option<(usize, &str)> {
    keys::PACKED_KINDS.iter().enumerate().find_map(|(i, (prefix, _))| Some((i, key.strip_prefix(prefix)?)))
}

/// The shard key a record key is packed in, or `None` for a key that is not packed.
pub fn shard_key(key: &str) -> Option<String> {
    let (kind, rest) = kind_of(key)?;
    let shard = format!("{:02x}", crc32fast::hash(rest.as_bytes()) % SHARDS);
    Some(keys::packed_shard(keys::PACKED_KINDS[kind].1, &shard))
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
        let mut shards: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
        for (i, records) in merged.iter().enumerate() {
            let prefix = keys::PACKED_KINDS[i].0;
            for (key, value) in records {
                let shard = shard_key(key).expect("a packed kind");
                shards.entry(shard).or_default().insert(key[prefix.len()..].to_string(), value.clone());
            }
        }
        view.migration = shards.into_iter().map(|(k, entries)| Op::put_meta(k, encode(&entries))).collect();
        for (prefix, _) in keys::PACKED_KINDS {
            view.migration.push(Op::DeletePrefix { space: Space::Meta, prefix: prefix.to_string() });
        }
        packed = merged.map(|records| records.into_iter().collect());
    }
    view.records = packed;
    Ok(view)
}

/// A change to one entry of a shard: its key's rest and its new value (`None`: deleted).
type Edit = (String, Option<Vec<u8>>);

/// Turns a commit's puts and deletes of record keys into rewrites of the shards they fall in
/// (read from `b` now: call it on the data the commit is guarded on, see
/// [`crate::storage::generation`]); other operations pass unchanged. A deleted record key is
/// also deleted as a single record (a store not packed yet).
pub async fn pack_ops<B: Backend>(b: &B, ops: Vec<Op>) -> Result<Vec<Op>> {
    let mut out = Vec::with_capacity(ops.len());
    let mut changes: BTreeMap<String, Vec<Edit>> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Put { space: Space::Meta, key, value } if kind_of(&key).is_some() => {
                let (shard, rest) = split(&key);
                changes.entry(shard).or_default().push((rest, Some(value)));
            }
            Op::Delete { space: Space::Meta, key } if kind_of(&key).is_some() => {
                let (shard, rest) = split(&key);
                changes.entry(shard).or_default().push((rest, None));
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
    if changes.is_empty() {
        return Ok(out);
    }
    let mut current: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    if changes.len() <= ONE_BY_ONE_MAX {
        for shard in changes.keys() {
            if let Some(v) = b.get(Space::Meta, shard).await? {
                current.insert(shard.clone(), v);
            }
        }
    } else {
        current =
            b.scan(Space::Meta, keys::PACKED).await?.into_iter().filter(|(k, _)| changes.contains_key(k)).collect();
    }
    for (shard, edits) in changes {
        let existed = current.contains_key(&shard);
        let mut entries: BTreeMap<String, Vec<u8>> = match current.get(&shard) {
            Some(record) => decode(&shard, record)?.into_iter().map(|(k, v)| (k.to_string(), v.to_vec())).collect(),
            None => BTreeMap::new(),
        };
        for (rest, value) in edits {
            match value {
                Some(v) => drop(entries.insert(rest, v)),
                None => drop(entries.remove(&rest)),
            }
        }
        if !entries.is_empty() {
            out.push(Op::put_meta(shard, encode(&entries)));
        } else if existed {
            out.push(Op::delete_meta(shard));
        }
    }
    Ok(out)
}

/// A record key's shard key and its rest (the key after its kind's prefix).
fn split(key: &str) -> (String, String) {
    let (_, rest) = kind_of(key).expect("checked by the caller");
    (shard_key(key).expect("checked by the caller"), rest.to_string())
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
        let key = shard_key(&keys::reference("busybox:latest")).unwrap();
        let refs = keys::packed_shard("ref", "");
        assert!(key.starts_with(&refs) && key.len() == refs.len() + 2, "{key}");
        assert_eq!(shard_key(keys::GRAPH_DRIVER), None);
        assert_eq!(shard_key(&keys::summary_shard("ab")), None);
        let diff_id: crate::digest::Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        assert!(shard_key(&keys::layer_blob(&diff_id)).unwrap().starts_with(&keys::packed_shard("layer-blob", "")));
    }
}
