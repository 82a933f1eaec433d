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
//! `u32 count` and per image, in ID order: `u8 id length, id text`, `u8 top layer length, top
//! layer ChainID text` (0: no layers), `i64 created seconds, u32 nanoseconds`, `u8 flags` (1:
//! has a `config` object, 2: has labels), with labels `u32 n` and n × (`u32 len, key, u32 len,
//! value`), then `u32 config length, config bytes`. The facts before the bytes are what the
//! image list needs, so a reopened store parses no config until one is inspected
//! ([`LazyConfig`]). Version 1 held only the bytes; its shards are rebuilt.

use super::images::ImageStore;
use super::lazy_config::{ConfigFacts, LazyConfig, SharedBytes};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::schema::docker as keys;
use crate::storage::Op;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

const MAGIC: &[u8; 4] = b"isCS";
/// Bumped whenever the layout changes: a shard of another version is rebuilt.
pub const VERSION: u32 = 2;
const HEADER: usize = 12;
const HAS_CONFIG: u8 = 1;
const HAS_LABELS: u8 = 2;

/// The shard an image ID belongs to: the first two hex digits of its ID.
pub fn shard_of(id: &Digest) -> String {
    id.hex().get(..2).unwrap_or("").to_string()
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// Encodes one shard from `(id, config)` pairs in ID order.
pub fn encode<'a>(entries: impl IntoIterator<Item = (&'a Digest, &'a LazyConfig)>) -> Vec<u8> {
    let mut body = vec![0u8; 4];
    let mut count: u32 = 0;
    for (id, config) in entries {
        let facts = config.facts();
        let id = id.as_str().as_bytes();
        body.push(id.len() as u8);
        body.extend_from_slice(id);
        let top = facts.top_layer.as_ref().map_or("", |t| t.as_str());
        body.push(top.len() as u8);
        body.extend_from_slice(top.as_bytes());
        body.extend_from_slice(&facts.created.0.to_le_bytes());
        body.extend_from_slice(&facts.created.1.to_le_bytes());
        let flags = if facts.has_container_config { HAS_CONFIG } else { 0 }
            | if facts.labels.is_some() { HAS_LABELS } else { 0 };
        body.push(flags);
        if let Some(labels) = &facts.labels {
            body.extend_from_slice(&(labels.len() as u32).to_le_bytes());
            for (k, v) in labels {
                put_text(&mut body, k);
                put_text(&mut body, v);
            }
        }
        let raw = config.raw();
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

/// Reads a shard's body, every read bounds-checked.
struct Reader<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let out = self.body.get(self.at..self.at + n).ok_or_else(malformed)?;
        self.at += n;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.bytes(4)?.try_into().expect("4 bytes")))
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.bytes(8)?.try_into().expect("8 bytes")))
    }
    fn text(&mut self, len: usize) -> Result<&'a str> {
        std::str::from_utf8(self.bytes(len)?).map_err(|_| malformed())
    }
    fn digest(&mut self, len: usize) -> Result<Digest> {
        Digest::parse(self.text(len)?).map_err(|_| malformed())
    }
}

fn malformed() -> Error {
    Error::corrupt("config summary: malformed entry")
}

/// Decodes one shard; `Err` (`data_corrupt`) says why it cannot be trusted (another version, a
/// bad checksum, a truncated or malformed record). The configs keep pointing into `record` (no
/// copies).
pub fn decode(record: Rc<Vec<u8>>) -> Result<Vec<(Digest, LazyConfig)>> {
    let u32_at = |b: &[u8], at: usize| -> Option<u32> { Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?)) };
    if record.len() < HEADER + 4 || &record[..4] != MAGIC {
        return Err(Error::corrupt("not a config summary record"));
    }
    let version = u32_at(&record, 4).expect("length checked");
    if version != VERSION {
        return Err(Error::corrupt(format!("config summary version {version}, this build writes {VERSION}")));
    }
    let body = &record[HEADER..];
    if crc32fast::hash(body) != u32_at(&record, 8).expect("length checked") {
        return Err(Error::corrupt("config summary: checksum mismatch"));
    }
    let mut r = Reader { body, at: 0 };
    let count = r.u32()? as usize;
    let mut out = Vec::with_capacity(count.min(body.len() / 16));
    for _ in 0..count {
        let len = r.u8()? as usize;
        let id = r.digest(len)?;
        let len = r.u8()? as usize;
        let top_layer = if len == 0 { None } else { Some(r.digest(len)?) };
        let created = (r.i64()?, r.u32()?);
        let flags = r.u8()?;
        let labels = if flags & HAS_LABELS != 0 {
            let mut labels = BTreeMap::new();
            for _ in 0..r.u32()? {
                let len = r.u32()? as usize;
                let k = r.text(len)?.to_string();
                let len = r.u32()? as usize;
                labels.insert(k, r.text(len)?.to_string());
            }
            Some(labels)
        } else {
            None
        };
        let facts = ConfigFacts { created, has_container_config: flags & HAS_CONFIG != 0, labels, top_layer };
        let len = r.u32()? as usize;
        let start = HEADER + r.at;
        r.bytes(len)?;
        out.push((id, LazyConfig::summarized(SharedBytes::new(record.clone(), start..start + len), facts)));
    }
    if r.at != body.len() {
        return Err(Error::corrupt("config summary: trailing bytes"));
    }
    Ok(out)
}

/// What the summary records held when a store opened.
#[derive(Default)]
pub struct Loaded {
    /// Configs (bytes and list facts) by image ID, from the shards that decoded.
    pub configs: BTreeMap<Digest, LazyConfig>,
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
            match decode(Rc::new(value)) {
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
    let mut by_shard: BTreeMap<&str, Vec<(&Digest, &LazyConfig)>> =
        shards.iter().map(|s| (s.as_str(), Vec::new())).collect();
    for img in images.map() {
        let shard = shard_of(img.id());
        if let Some(list) = by_shard.get_mut(shard.as_str()) {
            list.push((img.id(), &img.config));
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
    use crate::formats::image_config::ImageConfig;

    fn parsed(json: &str) -> (Digest, LazyConfig) {
        let config = ImageConfig::parse(json.as_bytes().to_vec()).unwrap();
        (config.id(), LazyConfig::parsed(Rc::new(config)))
    }

    #[test]
    fn shard_round_trips_and_rejects_damage() {
        let (a, ca) = parsed(r#"{"rootfs":{"type":"layers","diff_ids":[]}}"#);
        let (b, cb) = parsed(
            r#"{"created":"2026-11-23T13:52:39.5Z","config":{"Labels":{"k":"v","é":""}},"rootfs":{"type":"layers","diff_ids":["sha256:e100af7cf35b6cd513e8fe4dc94432aab1abdfeddecdc7f033a2a51db55e4d3b"]}}"#,
        );
        let record = encode([(&a, &ca), (&b, &cb)]);
        let decoded = decode(Rc::new(record.clone())).unwrap();
        assert_eq!(decoded.len(), 2);
        for ((id, config), (want_id, want)) in decoded.iter().zip([(&a, &ca), (&b, &cb)]) {
            assert_eq!((id, config.raw()), (want_id, want.raw()));
            assert_eq!(config.facts(), want.facts());
            assert!(!config.is_parsed(), "decoding parses nothing");
        }
        assert_eq!(decoded[1].1.facts().created, (1_795_441_959, 500_000_000));
        assert!(decoded[1].1.facts().top_layer.is_some() && decoded[0].1.facts().top_layer.is_none());
        assert_eq!(decoded[1].1.history().len(), 0);
        assert!(decoded[1].1.is_parsed());

        let mut flipped = record.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(Rc::new(flipped)).unwrap_err().message, "config summary: checksum mismatch");
        let mut other_version = record.clone();
        other_version[4] = 1;
        assert!(decode(Rc::new(other_version)).unwrap_err().message.contains("version 1"));
        assert!(decode(Rc::new(record[..record.len() - 3].to_vec())).is_err());
        assert!(decode(Rc::new(b"garbage".to_vec())).is_err());
        assert!(decode(Rc::new(encode([]))).unwrap().is_empty());
        assert_eq!(shard_of(&a), a.hex()[..2]);
    }
}
