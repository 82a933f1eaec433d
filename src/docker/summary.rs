//! The config summary: every image's config bytes packed into 256 shard records
//! ([`crate::schema::docker::summary_shard`], by the first two hex digits of the image ID), so
//! that opening a store is one range read instead of two IndexedDB reads and one SHA-256 per
//! image.
//!
//! The summary is derived data: the image records and the config blobs stay the source of
//! truth. A shard is written in the same commit as the image changes it summarises (only the
//! shards those changes touch), and is trusted on open only if its version and checksum match;
//! an image whose config is not in a valid shard is read from its blob (and verified against
//! its ID, as before), and the shards that did not match the loaded images are rewritten. So a
//! store written before summaries existed, or by a tab that did not update them, opens with the
//! same answers, just slower once. Configs are immutable under their ID, so a shard entry can
//! only be missing or superfluous, never wrong, unless the record is corrupt (the checksum).
//!
//! Shard layout (little-endian): `MAGIC`, `u32 VERSION`, `u32 crc32(rest)`, then the rest:
//! `u32 count` and per image `u8 id length, id text, u32 config length, config bytes`, in ID
//! order.

use super::images::ImageStore;
use crate::digest::Digest;
use crate::schema::docker as keys;
use crate::storage::Op;
use std::collections::{BTreeMap, BTreeSet};

const MAGIC: &[u8; 4] = b"isCS";
/// Bumped whenever the layout changes: a shard of another version is rebuilt.
pub const VERSION: u32 = 1;
const HEADER: usize = 12;

/// The shard an image ID belongs to: the first two hex digits of its ID.
pub fn shard_of(id: &Digest) -> String {
    id.hex().get(..2).unwrap_or("").to_string()
}

/// Encodes one shard from `(id, config bytes)` pairs in ID order.
pub fn encode<'a>(entries: impl IntoIterator<Item = (&'a Digest, &'a [u8])>) -> Vec<u8> {
    let mut body = vec![0u8; 4];
    let mut count: u32 = 0;
    for (id, raw) in entries {
        let id = id.as_str().as_bytes();
        body.push(id.len() as u8);
        body.extend_from_slice(id);
        body.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        body.extend_from_slice(raw);
        count += 1;
    }
    body[..4].copy_from_slice(&count.to_le_bytes());
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Decodes one shard; `Err` says why it cannot be trusted (another version, a bad checksum, a
/// truncated or malformed record).
pub fn decode(record: &[u8]) -> Result<Vec<(Digest, Vec<u8>)>, String> {
    let u32_at = |b: &[u8], at: usize| -> Option<u32> { Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?)) };
    if record.len() < HEADER + 4 || &record[..4] != MAGIC {
        return Err("not a config summary record".into());
    }
    let version = u32_at(record, 4).expect("length checked");
    if version != VERSION {
        return Err(format!("summary version {version}, this build writes {VERSION}"));
    }
    let body = &record[HEADER..];
    if crc32fast::hash(body) != u32_at(record, 8).expect("length checked") {
        return Err("checksum mismatch".into());
    }
    let malformed = || "malformed entry".to_string();
    let count = u32_at(body, 0).expect("length checked") as usize;
    let mut out = Vec::with_capacity(count.min(body.len() / 8));
    let mut at = 4;
    for _ in 0..count {
        let id_len = *body.get(at).ok_or_else(malformed)? as usize;
        let id = body.get(at + 1..at + 1 + id_len).ok_or_else(malformed)?;
        let id = Digest::parse(std::str::from_utf8(id).map_err(|_| malformed())?).map_err(|_| malformed())?;
        at += 1 + id_len;
        let len = u32_at(body, at).ok_or_else(malformed)? as usize;
        let raw = body.get(at + 4..at + 4 + len).ok_or_else(malformed)?;
        out.push((id, raw.to_vec()));
        at += 4 + len;
    }
    if at != body.len() {
        return Err("trailing bytes".into());
    }
    Ok(out)
}

/// What the summary records held when a store opened.
#[derive(Default)]
pub struct Loaded {
    /// Config bytes by image ID, from the shards that decoded.
    pub configs: BTreeMap<Digest, Vec<u8>>,
    /// The image IDs each valid shard listed.
    pub members: BTreeMap<String, BTreeSet<Digest>>,
    /// Shards whose record was there but could not be trusted.
    pub invalid: BTreeSet<String>,
}

impl Loaded {
    /// Reads the shards out of a scan of [`keys::SUMMARY`].
    pub fn from_records(records: Vec<(String, Vec<u8>)>) -> Loaded {
        let mut loaded = Loaded::default();
        for (key, value) in records {
            let shard = key[keys::SUMMARY.len()..].to_string();
            match decode(&value) {
                Ok(entries) => {
                    let members = loaded.members.entry(shard).or_default();
                    for (id, raw) in entries {
                        members.insert(id.clone());
                        loaded.configs.insert(id, raw);
                    }
                }
                Err(_) => {
                    loaded.invalid.insert(shard);
                }
            }
        }
        loaded
    }

    /// The shards that do not list exactly the images of `images` (missing, invalid, stale).
    pub fn shards_to_rewrite(&self, images: &ImageStore) -> BTreeSet<String> {
        let mut now: BTreeMap<String, BTreeSet<&Digest>> = BTreeMap::new();
        for img in images.map() {
            now.entry(shard_of(img.id())).or_default().insert(img.id());
        }
        let mut out: BTreeSet<String> = self.invalid.clone();
        for (shard, ids) in &now {
            let listed = self.members.get(shard);
            if listed.is_none_or(|l| l.len() != ids.len() || ids.iter().any(|id| !l.contains(*id))) {
                out.insert(shard.clone());
            }
        }
        // Shards of images that are gone.
        out.extend(self.members.keys().filter(|s| !now.contains_key(*s)).cloned());
        out
    }
}

/// The operations that write `shards` as `images` has them (a shard without images is
/// deleted).
pub fn shard_ops(images: &ImageStore, shards: &BTreeSet<String>) -> Vec<Op> {
    if shards.is_empty() {
        return Vec::new();
    }
    let mut by_shard: BTreeMap<&str, Vec<(&Digest, &[u8])>> = shards.iter().map(|s| (s.as_str(), Vec::new())).collect();
    for img in images.map() {
        let shard = shard_of(img.id());
        if let Some(list) = by_shard.get_mut(shard.as_str()) {
            list.push((img.id(), img.raw()));
        }
    }
    by_shard
        .into_iter()
        .map(|(shard, entries)| {
            let key = keys::summary_shard(shard);
            if entries.is_empty() {
                Op::delete_meta(key)
            } else {
                Op::put_meta(key, encode(entries))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_round_trips_and_rejects_damage() {
        let a = Digest::sha256_of(b"{}");
        let b = Digest::sha256_of(b"{\"a\":1}");
        let record = encode([(&a, &b"{}"[..]), (&b, &b"{\"a\":1}"[..])]);
        assert_eq!(decode(&record).unwrap(), vec![(a.clone(), b"{}".to_vec()), (b, b"{\"a\":1}".to_vec())]);

        let mut flipped = record.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&flipped).unwrap_err(), "checksum mismatch");
        let mut other_version = record.clone();
        other_version[4] = 99;
        assert!(decode(&other_version).unwrap_err().contains("version 99"));
        assert!(decode(&record[..record.len() - 3]).is_err());
        assert!(decode(b"garbage").is_err());
        assert_eq!(decode(&encode([])).unwrap(), vec![]);
        assert_eq!(shard_of(&a), a.hex()[..2]);
    }
}
