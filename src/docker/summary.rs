//! The config summary: what the image list and the layer walks need of every image's config
//! (created, labels, whether it has a `config` object, the DiffIDs and the ChainID of the top
//! layer), packed into shard records ([`crate::schema::docker::summary_shard`], by the first
//! hex digit of the image ID, or the first two once a shard would pass 256 KiB: the widths of
//! [`crate::storage::pack_family`]), so that opening a store reads and parses no config: one
//! range read instead of two IndexedDB reads, one SHA-256 and one JSON parse per image. The
//! configs themselves are read from their blobs when something needs them (inspect, history,
//! export; see [`LazyConfig`]), so they take no memory until then.
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
//! Shard layout (little-endian): the record frame ([`RecordFrame`]: `isCS`, `u32` [`VERSION`],
//! `u32` crc32 of the rest), then the rest: the shard's layer digests once each (`u32 m`, m ×
//! digest: the DiffIDs and top-layer ChainIDs of its images, which recur from image to image),
//! then `u32 count` and per image, in ID order: the ID (digest), `u32` top layer (0: no layers,
//! else 1 + its index in the table), `i64 created seconds, u32 nanoseconds`, `u8 flags` (1: has
//! a `config` object, 2: has labels), with labels `u32 start, u32 len` of their JSON object in
//! the labels' text, then `u32 n` and n × `u32` DiffID index in the table; last the labels' text
//! (`u32 len` and UTF-8): each labelled image's labels as the image list writes them (a compact
//! object, keys in order, the API's escapes), so the list copies them as they are. A digest is
//! `u8 0` and its 32 bytes for `sha256:`, else `u8 len` and its text. Version 1 held only the
//! config bytes, version 2 the bytes beside these facts, version 3 every digest as text (twice
//! the bytes to read on open), version 4 each label as a length and its text (the list checked
//! and escaped every one again); their shards are rebuilt.

use super::images::ImageStore;
use super::lazy_config::{ConfigFacts, LazyConfig, LazyLabels};
use crate::digest::{Digest, DigestMap};
use crate::error::{Error, Result};
use crate::formats::go_json;
use crate::schema::docker as keys;
use crate::storage::pack_family::{Width, NARROW_MAX_BYTES};
use crate::storage::record_frame::{FrameError, RecordFrame};
use crate::storage::Op;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Bumped whenever the layout changes: a shard of another version is rebuilt.
pub const VERSION: u32 = 5;
const FRAME: RecordFrame = RecordFrame::with_u32_version(b"isCS", VERSION);
const HAS_CONFIG: u8 = 1;
const HAS_LABELS: u8 = 2;

/// The shard an image ID belongs to at `width`: the first one or two hex digits of its ID.
pub fn shard_of(id: &Digest, width: Width) -> String {
    shard_name(id, width).to_string()
}

fn shard_name(id: &Digest, width: Width) -> &str {
    width.name_of(id.hex().get(..2).unwrap_or(""))
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn put_digest(out: &mut Vec<u8>, d: &Digest) {
    match d.sha256_bytes() {
        Some(bytes) => {
            out.push(0);
            out.extend_from_slice(&bytes);
        }
        None => {
            out.push(d.as_str().len() as u8);
            out.extend_from_slice(d.as_str().as_bytes());
        }
    }
}

/// Encodes one shard from `(id, config)` pairs in ID order.
pub fn encode<'a>(entries: impl IntoIterator<Item = (&'a Digest, &'a LazyConfig)>) -> Vec<u8> {
    let mut table: Vec<&Digest> = Vec::new();
    let mut index: DigestMap<&Digest, u32> = DigestMap::default();
    let mut index_of = |d: &'a Digest| -> u32 {
        *index.entry(d).or_insert_with(|| {
            table.push(d);
            (table.len() - 1) as u32
        })
    };
    let (mut images, mut count, mut labels) = (Vec::new(), 0u32, String::new());
    for (id, config) in entries {
        count += 1;
        let facts = config.facts();
        put_digest(&mut images, id);
        let top = facts.top_layer.as_ref().map_or(0, |t| index_of(t) + 1);
        images.extend_from_slice(&top.to_le_bytes());
        images.extend_from_slice(&facts.created.0.to_le_bytes());
        images.extend_from_slice(&facts.created.1.to_le_bytes());
        let flags = if facts.has_container_config { HAS_CONFIG } else { 0 }
            | if facts.labels.get().is_some() { HAS_LABELS } else { 0 };
        images.push(flags);
        if facts.labels.get().is_some() {
            let start = labels.len();
            facts.labels.write_json(&mut labels);
            images.extend_from_slice(&(start as u32).to_le_bytes());
            images.extend_from_slice(&((labels.len() - start) as u32).to_le_bytes());
        }
        images.extend_from_slice(&(facts.diff_ids.len() as u32).to_le_bytes());
        for d in &facts.diff_ids {
            images.extend_from_slice(&index_of(d).to_le_bytes());
        }
    }
    let mut record = FRAME.begin(12 + table.len() * 33 + images.len() + labels.len());
    record.extend_from_slice(&(table.len() as u32).to_le_bytes());
    for d in &table {
        put_digest(&mut record, d);
    }
    record.extend_from_slice(&count.to_le_bytes());
    record.extend_from_slice(&images);
    put_text(&mut record, &labels);
    FRAME.seal(&mut record);
    record
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
    /// A digest as [`put_digest`] writes it; a layer digest seen before (`known`) is shared.
    fn digest(&mut self, known: Option<&mut KnownDigests>) -> Result<Digest> {
        let len = self.u8()? as usize;
        if len != 0 {
            return Digest::parse(self.text(len)?).map_err(|_| malformed());
        }
        let bytes: &[u8; 32] = self.bytes(32)?.try_into().expect("32 bytes");
        let Some(known) = known else {
            return Ok(Digest::from_sha256_bytes(bytes));
        };
        // Found by its bytes: a digest seen before is neither spelled out nor hashed as text.
        Ok(known.entry(*bytes).or_insert_with(|| Digest::from_sha256_bytes(bytes)).clone())
    }
}

fn malformed() -> Error {
    Error::corrupt("config summary: malformed entry")
}

/// Decodes one shard; `Err` (`data_corrupt`) says why it cannot be trusted (another version, a
/// bad checksum, a truncated or malformed record).
pub fn decode(record: &[u8]) -> Result<Vec<(Digest, LazyConfig)>> {
    decode_sharing(record, &mut KnownDigests::default())
}

/// The sha256 layer digests decoded so far, by their 32 bytes (shared between shards).
type KnownDigests = DigestMap<[u8; 32], Digest>;

/// [`decode`], taking each DiffID from `known` when it is there (one copy for all images). The
/// labels' text is kept (one copy per shard, shared by its images) to list and parse them from.
fn decode_sharing(record: &[u8], known: &mut KnownDigests) -> Result<Vec<(Digest, LazyConfig)>> {
    let body = FRAME.open(record).map_err(|why| match why {
        FrameError::Foreign => Error::corrupt("not a config summary record"),
        FrameError::Version(v) => Error::corrupt(format!("config summary version {v}, this build writes {VERSION}")),
        FrameError::Checksum => Error::corrupt("config summary: checksum mismatch"),
    })?;
    let mut r = Reader { body, at: 0 };
    let table_len = r.u32()? as usize;
    let mut table = Vec::with_capacity(table_len.min(body.len() / 33));
    for _ in 0..table_len {
        table.push(r.digest(Some(known))?);
    }
    let from_table = |i: u32| table.get(i as usize).cloned().ok_or_else(malformed);
    let count = r.u32()? as usize;
    let mut images = Vec::with_capacity(count.min(body.len() / 16));
    for _ in 0..count {
        let id = r.digest(None)?;
        let top_layer = match r.u32()? {
            0 => None,
            i => Some(from_table(i - 1)?),
        };
        let created = (r.i64()?, r.u32()?);
        let flags = r.u8()?;
        let labels_at = if flags & HAS_LABELS != 0 {
            let start = r.u32()? as usize;
            // Checked: on wasm32 two u32s can overflow a usize.
            Some(start..start.checked_add(r.u32()? as usize).ok_or_else(malformed)?)
        } else {
            None
        };
        let n = r.u32()? as usize;
        let mut diff_ids = Vec::with_capacity(n.min(body.len() / 4));
        for _ in 0..n {
            diff_ids.push(from_table(r.u32()?)?);
        }
        images.push((id, top_layer, created, flags, labels_at, diff_ids));
    }
    // The labels' text: checked now (UTF-8 once for the shard, then each image's object),
    // parsed when a filter or an inspect first asks for them.
    let len = r.u32()? as usize;
    let labels_text: Rc<str> = Rc::from(r.text(len)?);
    if r.at != body.len() {
        return Err(Error::corrupt("config summary: trailing bytes"));
    }
    let mut out = Vec::with_capacity(images.len());
    for (id, top_layer, created, flags, labels_at, diff_ids) in images {
        let labels = match labels_at {
            Some(range) => match labels_text.get(range.clone()) {
                Some(json) if go_json::is_api_string_map(json) => LazyLabels::encoded(labels_text.clone(), range),
                _ => return Err(malformed()),
            },
            None => LazyLabels::decoded(None),
        };
        let facts = ConfigFacts { created, has_container_config: flags & HAS_CONFIG != 0, labels, top_layer, diff_ids };
        out.push((id, LazyConfig::summarized(facts)));
    }
    Ok(out)
}

/// What the summary records held when a store opened.
#[derive(Default)]
pub struct Loaded {
    /// Configs (bytes and list facts) by image ID, from the shards that decoded.
    pub configs: DigestMap<Digest, LazyConfig>,
    /// The image IDs each valid shard listed, sorted.
    pub members: BTreeMap<String, Vec<Digest>>,
    /// Shards whose record was there but could not be trusted.
    pub invalid: BTreeSet<String>,
}

impl Loaded {
    /// Reads the shards out of a scan of [`keys::SUMMARY`].
    pub fn from_records(records: Vec<(String, Vec<u8>)>) -> Loaded {
        let mut loaded = Loaded::default();
        // The same DiffIDs recur in many images' configs: each is kept once.
        let mut known = KnownDigests::default();
        for (key, value) in records {
            let shard = key[keys::SUMMARY.len()..].to_string();
            match decode_sharing(&value, &mut known) {
                Ok(entries) => {
                    let mut members = Vec::with_capacity(entries.len());
                    for (id, raw) in entries {
                        members.push(id.clone());
                        loaded.configs.insert(id, raw);
                    }
                    members.sort_unstable();
                    loaded.members.insert(shard, members);
                }
                Err(_) => {
                    loaded.invalid.insert(shard);
                }
            }
        }
        loaded
    }

    /// The width the shards were written at (wide if any shard is).
    pub fn width(&self) -> Width {
        Width::of_names(self.members.keys().chain(&self.invalid).map(String::as_str))
    }

    /// The shards at `width` that do not list exactly the images of `images` (missing,
    /// invalid, stale), and every shard of the other width.
    pub fn shards_to_rewrite(&self, images: &ImageStore, width: Width) -> BTreeSet<String> {
        // The image map is sorted by ID, so each shard's IDs come out sorted, as `members` are.
        let mut now: BTreeMap<&str, Vec<&Digest>> = BTreeMap::new();
        for img in images.map() {
            now.entry(shard_name(img.id(), width)).or_default().push(img.id());
        }
        let mut out: BTreeSet<String> = self.invalid.clone();
        for (shard, ids) in &now {
            let listed = self.members.get(*shard);
            if listed.is_none_or(|l| l.len() != ids.len() || l.iter().zip(ids).any(|(a, b)| a != *b)) {
                out.insert(shard.to_string());
            }
        }
        // Shards of images that are gone.
        out.extend(self.members.keys().filter(|s| !now.contains_key(s.as_str())).cloned());
        out
    }
}

/// The operations that write `shards` (at `width`) as `images` has them (a shard without
/// images is deleted), and the width they leave the summary at: when a narrow shard would pass
/// [`NARROW_MAX_BYTES`], every shard is written wide instead and the narrow ones deleted.
pub fn shard_ops(images: &ImageStore, shards: &BTreeSet<String>, width: Width) -> (Vec<Op>, Width) {
    if shards.is_empty() {
        return (Vec::new(), width);
    }
    let ops = write_shards(images, shards, width);
    let too_big = |op: &Op| matches!(op, Op::Put { value, .. } if value.len() > NARROW_MAX_BYTES);
    if width == Width::Wide || !ops.iter().any(too_big) {
        return (ops, width);
    }
    let all_wide: BTreeSet<String> = images.map().map(|img| shard_of(img.id(), Width::Wide)).collect();
    let mut ops: Vec<Op> = (0..16).map(|d| Op::delete_meta(keys::summary_shard(&format!("{d:x}")))).collect();
    ops.extend(write_shards(images, &all_wide, Width::Wide));
    (ops, Width::Wide)
}

fn write_shards(images: &ImageStore, shards: &BTreeSet<String>, width: Width) -> Vec<Op> {
    let mut by_shard: BTreeMap<&str, Vec<(&Digest, &LazyConfig)>> =
        shards.iter().map(|s| (s.as_str(), Vec::new())).collect();
    for img in images.map() {
        if let Some(list) = by_shard.get_mut(shard_name(img.id(), width)) {
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
    use std::rc::Rc;

    fn parsed(json: &str) -> (Digest, LazyConfig) {
        let config = ImageConfig::parse(json.as_bytes().to_vec()).unwrap();
        (config.id(), LazyConfig::parsed(Rc::new(config)))
    }

    #[test]
    fn the_summary_goes_wide_when_a_narrow_shard_would_pass_the_limit() {
        use crate::docker::model::ImageRecord;
        let image = |i: usize, label_bytes: usize| {
            let json = format!(
                r#"{{"config":{{"Labels":{{"n":"{i}","pad":"{}"}}}},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#,
                "x".repeat(label_bytes)
            );
            let (id, config) = parsed(&json);
            (ImageRecord { id, parent: None, last_updated: None, built_locally: false }, config)
        };
        let mut images = ImageStore::default();
        let mut ids = Vec::new();
        for i in 0..64 {
            let (record, config) = image(i, 100);
            ids.push(record.id.clone());
            images.insert_config(record, config);
        }
        let narrow: BTreeSet<String> = ids.iter().map(|id| shard_of(id, Width::Narrow)).collect();
        let (ops, width) = shard_ops(&images, &narrow, Width::Narrow);
        assert_eq!(width, Width::Narrow);
        assert!(ops.iter().all(|op| matches!(op, Op::Put { key, .. } if key.len() == keys::SUMMARY.len() + 1)));
        // Images whose labels make one narrow shard pass the limit: every shard is written wide,
        // every narrow one deleted, and the wide shards hold every image.
        let mut big = 0;
        for i in 64.. {
            let (record, config) = image(i, 16 * 1024);
            if shard_of(&record.id, Width::Narrow) != "0" {
                continue;
            }
            ids.push(record.id.clone());
            images.insert_config(record, config);
            big += 1;
            if big * 16 * 1024 > NARROW_MAX_BYTES {
                break;
            }
        }
        let (ops, width) = shard_ops(&images, &["0".to_string()].into(), Width::Narrow);
        assert_eq!(width, Width::Wide);
        let mut held = Vec::new();
        for op in &ops {
            match op {
                Op::Delete { key, .. } => assert_eq!(key.len(), keys::SUMMARY.len() + 1, "{key}"),
                Op::Put { key, value, .. } => {
                    assert_eq!(key.len(), keys::SUMMARY.len() + 2, "{key}");
                    for (id, _) in decode(value).unwrap() {
                        assert_eq!(shard_of(&id, Width::Wide), key[keys::SUMMARY.len()..]);
                        held.push(id);
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(ops.iter().filter(|op| matches!(op, Op::Delete { .. })).count(), 16);
        held.sort();
        ids.sort();
        assert_eq!(held, ids);
        // Wide stays wide.
        assert_eq!(shard_ops(&images, &[shard_of(&ids[0], Width::Wide)].into(), Width::Wide).1, Width::Wide);
    }

    #[test]
    fn shard_round_trips_and_rejects_damage() {
        let (a, ca) = parsed(r#"{"rootfs":{"type":"layers","diff_ids":[]}}"#);
        let (b, cb) = parsed(
            r#"{"created":"2026-11-23T13:52:39.5Z","config":{"Labels":{"k":"v","é":""}},"rootfs":{"type":"layers","diff_ids":["sha256:e100af7cf35b6cd513e8fe4dc94432aab1abdfeddecdc7f033a2a51db55e4d3b"]}}"#,
        );
        let record = encode([(&a, &ca), (&b, &cb)]);
        let decoded = decode(&record).unwrap();
        assert_eq!(decoded.len(), 2);
        for ((id, config), (want_id, want)) in decoded.iter().zip([(&a, &ca), (&b, &cb)]) {
            assert_eq!(id, want_id);
            assert_eq!(config.facts(), want.facts());
            assert!(!config.is_loaded(), "decoding reads no config");
        }
        assert_eq!(decoded[1].1.facts().created, (1_795_441_959, 500_000_000));
        assert!(decoded[1].1.facts().top_layer.is_some() && decoded[0].1.facts().top_layer.is_none());
        assert_eq!(decoded[1].1.diff_ids(), cb.diff_ids());
        assert!(decoded[1].1.get().is_err(), "a config not read yet is not made up");
        decoded[1].1.fill(Rc::new(ImageConfig::parse(cb.get().unwrap().raw().to_vec()).unwrap()));
        assert_eq!(decoded[1].1.get().unwrap().history().len(), 0);

        let mut flipped = record.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&flipped).unwrap_err().message, "config summary: checksum mismatch");
        let mut other_version = record.clone();
        other_version[4] = 2;
        assert!(decode(&other_version).unwrap_err().message.contains("version 2"));
        assert!(decode(&record[..record.len() - 3]).is_err());
        assert!(decode(b"garbage").is_err());
        assert!(decode(&encode([])).unwrap().is_empty());
        assert_eq!(shard_of(&a, Width::Wide), a.hex()[..2]);
        assert_eq!(shard_of(&a, Width::Narrow), a.hex()[..1]);
    }

    #[test]
    fn labels_are_checked_when_read_and_decoded_when_first_asked_for() {
        let (a, ca) = parsed(
            r#"{"config":{"Labels":{"maintainer":"é","org.opencontainers.image.title":"x","empty":""}},"rootfs":{"type":"layers","diff_ids":[]}}"#,
        );
        let (b, cb) = parsed(r#"{"config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#);
        let (c, cc) = parsed(r#"{"config":{"Labels":{}},"rootfs":{"type":"layers","diff_ids":[]}}"#);
        let record = encode([(&a, &ca), (&b, &cb), (&c, &cc)]);
        let decoded = decode(&record).unwrap();
        // Written from the record, before anything parses them: what the list writes of the
        // parsed config (keys in order, the API's escapes), and no labels told from empty ones.
        let written = |labels: &LazyLabels| {
            let mut out = String::new();
            labels.write_json(&mut out);
            out
        };
        for (i, original) in [&ca, &cb, &cc].into_iter().enumerate() {
            assert_eq!(written(&decoded[i].1.facts().labels), written(&original.facts().labels), "image {i}");
        }
        assert_eq!(
            written(&decoded[0].1.facts().labels),
            r#"{"empty":"","maintainer":"é","org.opencontainers.image.title":"x"}"#
        );
        assert_eq!(written(&decoded[1].1.facts().labels), "null");
        assert_eq!(written(&decoded[2].1.facts().labels), "{}");
        let labels = decoded[0].1.facts().labels.get().unwrap();
        assert_eq!(Some(labels), ca.facts().labels.get());
        assert_eq!(labels.get("maintainer").map(String::as_str), Some("é"));
        assert_eq!(decoded[1].1.facts().labels.get(), None, "no labels stays no labels");
        // A well-framed record whose label is not UTF-8 is refused when read, not when listed.
        let body = FRAME.open(&record).unwrap();
        let at = body.windows(2).position(|w| w == "é".as_bytes()).unwrap();
        let mut damaged = FRAME.begin(body.len());
        damaged.extend_from_slice(body);
        let start = damaged.len() - body.len();
        damaged[start + at + 1] = 0x28;
        FRAME.seal(&mut damaged);
        assert_eq!(decode(&damaged).unwrap_err().message, "config summary: malformed entry");
        // So is one whose labels' text is UTF-8 but not an object of strings.
        let at = body.windows(4).position(|w| w == b"\"x\"}").unwrap();
        let mut damaged = FRAME.begin(body.len());
        damaged.extend_from_slice(body);
        let start = damaged.len() - body.len();
        damaged[start + at] = b'1';
        FRAME.seal(&mut damaged);
        assert_eq!(decode(&damaged).unwrap_err().message, "config summary: malformed entry");
    }

    #[test]
    fn layer_digests_are_written_once_per_shard_and_other_algorithms_as_text() {
        let diff = "sha256:e100af7cf35b6cd513e8fe4dc94432aab1abdfeddecdc7f033a2a51db55e4d3b";
        let other = format!("sha512:{}", "ab".repeat(64));
        let images: Vec<(Digest, LazyConfig)> = (0..3)
            .map(|i| {
                parsed(&format!(
                    r#"{{"created":"2026-11-23T13:52:3{i}Z","rootfs":{{"type":"layers","diff_ids":["{diff}","{other}"]}}}}"#
                ))
            })
            .collect();
        let record = encode(images.iter().map(|(id, c)| (id, c)));
        let decoded = decode(&record).unwrap();
        for ((id, config), (want_id, want)) in decoded.iter().zip(&images) {
            assert_eq!(id, want_id);
            assert_eq!(config.facts(), want.facts());
            assert_eq!(config.diff_ids()[1].as_str(), other);
        }
        // The two DiffIDs and the one top ChainID once each (33 + 136 + 33 bytes), then per
        // image a 33-byte ID, the top index, created, flags and two indexes: 62 bytes; then the
        // labels' text, empty.
        assert_eq!(record.len(), 12 + 4 + 33 + 136 + 33 + 4 + 3 * 62 + 4);
        // An index past the table is malformed, not a panic.
        let mut bad = record.clone();
        let last_index = bad.len() - 8;
        bad[last_index..last_index + 4].copy_from_slice(&9u32.to_le_bytes());
        FRAME.seal(&mut bad);
        assert_eq!(decode(&bad).unwrap_err().message, "config summary: malformed entry");
    }
}
