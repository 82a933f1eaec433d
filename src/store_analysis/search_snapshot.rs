//! The search snapshot: everything a store-wide file search reads, in one record
//! (`analysis/search-snapshot`) written at the store generation it describes. A page reloaded
//! on an unchanged store answers its first search from it: one read, no subjects made from
//! the Docker state (10,000 images' chain IDs, sources and tags), no check of the index's
//! keys, and only the changes that match decoded. It is derived data, like the per-layer
//! index ([`super::search_index`]) it is made from: used only when its frame (magic, version,
//! checksum), its body and its generation all hold for the store as it is now; a missing,
//! stale, damaged or other-version snapshot is made again from the subjects and the index, and
//! rewritten. Writing it changes no generation (`analysis/` keys keep it).
//!
//! Record: `ISSN` (magic), a version byte, the CRC-32 of the body (4 bytes, little endian),
//! then the body: the generation (its length, then its text), the layers (their count, then
//! per layer its DiffID, and 0 if its change set is unknown or else the length of
//! its change set's body, as [`super::search_index`] records it, + 1, then that body), then the
//! images in the search's order (their count, then per image its ID, its namespace (0, or its
//! length + 1 then its text), its tags (count, then each), and its layers bottom first as
//! indexes into the layers). Texts are a LEB128 length then UTF-8; counts are LEB128.

use super::search_index::{encode_body, SetReader};
use super::{GroupedFileSearch, HitImage, LayerHits, Subject};
use crate::analysis::changes::{Change, ChangeKind, LayerChangeSet};
use crate::analysis::search::Pattern;
use crate::digest::Digest;
use crate::digest::DigestMap;
use crate::error::{Error, Result};
use crate::storage::record_frame::{FrameError, RecordFrame};
use crate::storage::varint::{put_uvarint, VarintReader};
use std::ops::Range;
use std::rc::Rc;

const VERSION: u8 = 1;
const FRAME: RecordFrame = RecordFrame::with_u8_version(b"ISSN", VERSION);

/// A decoded snapshot: where each image and layer is in the record's body, read further only
/// as a search needs it (a layer's change set when it is matched, an image's ID and tags when
/// it has hits). A body that passed the checksum yet does not read is an error of the search
/// that meets it ([`SearchSnapshot::find`]), which then makes the snapshot again.
#[derive(Debug)]
pub(crate) struct SearchSnapshot {
    generation: String,
    body: Vec<u8>,
    layers: Vec<SnapLayer>,
    /// Per image, where its ID, namespace and tags are in `body`, and its range in `image_layers`.
    images: Vec<(Range<usize>, Range<usize>)>,
    /// Every image's layers (indexes into `layers`), one image after the other.
    image_layers: Vec<u32>,
}

#[derive(Debug)]
struct SnapLayer {
    /// Where its DiffID is in `body`.
    diff_id: Range<usize>,
    /// Where its change set's body is in `body`; `None` when it is unknown (unreadable).
    set: Option<Range<usize>>,
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::corrupt(format!("search snapshot: {what}"))
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_uvarint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// The record of the search over `subjects` (in their order) at `generation`, each layer with
/// its change set from `sets` (by chain ID) if there is one.
pub(super) fn encode<'s>(
    generation: &str,
    subjects: impl Iterator<Item = &'s Subject> + Clone,
    sets: &DigestMap<Digest, Rc<LayerChangeSet>>,
) -> Vec<u8> {
    let mut record = FRAME.begin(1 << 16);
    put_text(&mut record, generation);
    // Layers numbered as the images first name them.
    let mut number: DigestMap<&Digest, u32> = DigestMap::default();
    let mut layers: Vec<(&Digest, &Digest)> = Vec::new();
    for s in subjects.clone() {
        for (chain, diff_id) in s.chains.iter().zip(s.config.diff_ids()) {
            number.entry(chain).or_insert_with(|| {
                layers.push((chain, diff_id));
                (layers.len() - 1) as u32
            });
        }
    }
    put_uvarint(&mut record, layers.len() as u64);
    let mut set_body = Vec::new();
    for (chain, diff_id) in &layers {
        put_text(&mut record, diff_id.as_str());
        match sets.get(*chain) {
            None => put_uvarint(&mut record, 0),
            Some(set) => {
                set_body.clear();
                encode_body(set, &mut set_body);
                put_uvarint(&mut record, set_body.len() as u64 + 1);
                record.extend_from_slice(&set_body);
            }
        }
    }
    put_uvarint(&mut record, subjects.clone().count() as u64);
    for s in subjects {
        put_text(&mut record, s.id.as_str());
        match &s.namespace {
            None => put_uvarint(&mut record, 0),
            Some(ns) => {
                put_uvarint(&mut record, ns.len() as u64 + 1);
                record.extend_from_slice(ns.as_bytes());
            }
        }
        put_uvarint(&mut record, s.repo_tags.len() as u64);
        for tag in &s.repo_tags {
            put_text(&mut record, tag);
        }
        put_uvarint(&mut record, s.chains.len() as u64);
        for chain in &s.chains {
            put_uvarint(&mut record, u64::from(number[chain]));
        }
    }
    FRAME.seal(&mut record);
    record
}

fn text<'a>(r: &mut VarintReader<'a>) -> Result<&'a str> {
    let n = r.length()?;
    std::str::from_utf8(r.take(n)?).map_err(|_| bad("a text is not UTF-8"))
}

fn digest(r: &mut VarintReader<'_>) -> Result<Digest> {
    Digest::parse(text(r)?).map_err(|e| bad(e.message))
}

/// Moves `r` past a text (a length, then that many bytes) and says where it was.
fn skip_text(r: &mut VarintReader<'_>) -> Result<Range<usize>> {
    let n = r.length()?;
    let start = r.position();
    r.take(n)?;
    Ok(start..r.position())
}

/// The snapshot a record holds; `data_corrupt` for anything but a whole record of this
/// version. Only the layout is read here: the texts and change sets are checked when a search
/// reads them.
pub(crate) fn decode(mut record: Vec<u8>) -> Result<SearchSnapshot> {
    let body = FRAME.open(&record).map_err(|why| match why {
        FrameError::Checksum => bad("checksum mismatch"),
        _ => bad(format_args!("not a version {VERSION} record")),
    })?;
    let start = record.len() - body.len();
    let mut r = VarintReader::new(body, "search snapshot");
    let generation = text(&mut r)?.to_string();
    let count = r.length()?;
    // Each layer takes at least 2 bytes, each image 4: bad counts cannot make huge allocations.
    let mut layers = Vec::with_capacity(count.min(body.len() / 2));
    for _ in 0..count {
        let diff_id = skip_text(&mut r)?;
        let set = match r.length()? {
            0 => None,
            n => {
                let at = r.position();
                r.take(n - 1)?;
                Some(at..r.position())
            }
        };
        layers.push(SnapLayer { diff_id, set });
    }
    let count = r.length()?;
    let mut images = Vec::with_capacity(count.min(body.len() / 4));
    let mut image_layers = Vec::new();
    for _ in 0..count {
        let at = r.position();
        skip_text(&mut r)?;
        if let n @ 1.. = r.length()? {
            r.take(n - 1)?;
        }
        for _ in 0..r.length()? {
            skip_text(&mut r)?;
        }
        let header = at..r.position();
        let first = image_layers.len();
        for _ in 0..r.length()? {
            let layer = r.length()?;
            if layer >= layers.len() {
                return Err(bad(format!("layer {layer} of {}", layers.len())));
            }
            image_layers.push(layer as u32);
        }
        images.push((header, first..image_layers.len()));
    }
    if !r.at_end() {
        return Err(bad("bytes after the last image"));
    }
    // Keep the body alone: the ranges are offsets into it.
    record.drain(..start);
    Ok(SearchSnapshot { generation, body: record, layers, images, image_layers })
}

impl SearchSnapshot {
    /// The store generation it was made at.
    pub(crate) fn generation(&self) -> &str {
        &self.generation
    }

    /// The hits of `pattern` (only changes of kind `only`, if given) in every image's layers, in
    /// image order then layer order, each layer's once (no skipped layers: the caller knows them).
    pub(crate) fn find(&self, pattern: &Pattern, only: Option<ChangeKind>) -> Result<GroupedFileSearch> {
        // Each layer is matched once: its slot in `out.layers`, or None without hits.
        let mut slot_of: Vec<Option<Option<u32>>> = vec![None; self.layers.len()];
        let mut out =
            GroupedFileSearch { images: Vec::new(), layers: Vec::new(), rows: Vec::new(), skipped: Vec::new() };
        for (header, range) in &self.images {
            let mut image: Option<u32> = None;
            for (i, &layer) in self.image_layers[range.clone()].iter().enumerate() {
                let slot = match slot_of[layer as usize] {
                    Some(known) => known,
                    None => {
                        let l = &self.layers[layer as usize];
                        let hits = match &l.set {
                            Some(set) => matching(&self.body[set.clone()], pattern, only)?,
                            None => Vec::new(),
                        };
                        let slot = if hits.is_empty() {
                            None
                        } else {
                            let diff_id = std::str::from_utf8(&self.body[l.diff_id.clone()])
                                .map_err(|_| bad("a text is not UTF-8"))
                                .and_then(|t| Digest::parse(t).map_err(|e| bad(e.message)))?;
                            out.layers.push(LayerHits { diff_id, changes: hits });
                            Some((out.layers.len() - 1) as u32)
                        };
                        slot_of[layer as usize] = Some(slot);
                        slot
                    }
                };
                let Some(slot) = slot else { continue };
                let at = match image {
                    Some(at) => at,
                    None => {
                        out.images.push(self.image(header.clone())?);
                        *image.insert((out.images.len() - 1) as u32)
                    }
                };
                out.rows.push((at, i as u32, slot));
            }
        }
        Ok(out)
    }

    /// The ID, tags and namespace of the image whose header is at `header` in the body.
    fn image(&self, header: Range<usize>) -> Result<HitImage> {
        let mut r = VarintReader::new(&self.body[header], "search snapshot");
        let image = digest(&mut r)?;
        let namespace = match r.length()? {
            0 => None,
            n => Some(std::str::from_utf8(r.take(n - 1)?).map_err(|_| bad("a text is not UTF-8"))?.to_string()),
        };
        let tags = r.length()?;
        let mut repo_tags = Vec::with_capacity(tags.min(16));
        for _ in 0..tags {
            repo_tags.push(text(&mut r)?.to_string());
        }
        Ok(HitImage { image, repo_tags, namespace })
    }
}

/// The changes of a change set's body that match, made whole.
fn matching(body: &[u8], pattern: &Pattern, only: Option<ChangeKind>) -> Result<Vec<Change>> {
    let mut r = SetReader::new(body)?;
    let mut hits = Vec::new();
    while let Some(change) = r.next()? {
        if only.is_none_or(|k| change == k) && pattern.matches(r.path()) {
            hits.push(r.change(change)?);
        } else {
            r.skip()?;
        }
    }
    r.finish()?;
    Ok(hits)
}
