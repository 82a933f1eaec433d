//! dockerd's startup load, applied to the staged store folder: the layer store's
//! `loadLayer` for every `layerdb/sha256/<chain>/` folder, then the image store's `restore()`
//! for every config (moby layer/layer_store.go and image/store.go). What dockerd would skip is skipped here and
//! reported with the reason; nothing here is fatal.

use super::collect::{Candidate, LayerFiles, StagedConfig};
use super::paths::{ImageMetaKey, LayerFileKind};
use super::records;
use crate::digest::{chain_id, Digest};
use crate::docker::model::{DockerImport, ImageRecord, ImportedImage, LayerRecord, Skipped};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The restored store, and the staged blobs that nothing kept refers to (to be discarded).
pub(crate) struct Restored {
    pub import: DockerImport,
    pub discard: Vec<String>,
}

pub(crate) fn restore(root: String, c: Candidate) -> Restored {
    let mut out = DockerImport { source_dir: root, ..Default::default() };
    let mut discard = Vec::new();

    let loaded = load_layers(&c.layers, &mut out.skipped);
    let mut tar_split_seen = BTreeSet::new();
    for (hex, files) in c.layers {
        let Some(tar_split) = files.tar_split else { continue };
        // Layers that failed to load drop their tar-split; identical tar-splits are kept once.
        if loaded.contains_key(&hex) && tar_split_seen.insert(tar_split.digest.clone()) {
            out.tar_splits.push(tar_split);
        } else {
            discard.push(tar_split.set);
        }
    }

    let mut kept: BTreeMap<Digest, ImageRecord> = BTreeMap::new();
    let mut config_blobs = Vec::new();
    for (hex, config) in c.configs {
        let id = Digest::from_sha256_hex(&hex).expect("file names were checked to be sha256 hex");
        match config {
            StagedConfig::Rejected { reason } => out.skipped.push(skip(&id, format!("invalid image: {reason}"))),
            StagedConfig::Ready { blob, config, os } => match image_layer_problem(config.diff_ids(), &os, &loaded) {
                Some(why) => {
                    out.skipped.push(skip(&id, format!("not restoring image: {why}")));
                    discard.push(blob.set);
                }
                None => {
                    let meta = |key| c.image_meta.get(&(hex.clone(), key));
                    let last_updated = last_updated(&id, meta(ImageMetaKey::LastUpdated), &mut out.skipped);
                    let built_locally = meta(ImageMetaKey::BuiltLocally).is_some_and(|b| b.first() == Some(&1));
                    kept.insert(id.clone(), ImageRecord { id: id.clone(), parent: None, last_updated, built_locally });
                    config_blobs.push((id, blob, config));
                }
            },
        }
    }
    // Second pass, as in restore(): the children links count only parents that were restored
    // (`relink` does that), but the recorded parent is kept: dockerd's GetParent reads the
    // metadata file, so inspect and the list report it even when that image is gone.
    let ids: HashSet<Digest> = kept.keys().cloned().collect();
    for (id, rec) in kept.iter_mut() {
        let Some(raw) = c.image_meta.get(&(id.hex().to_string(), ImageMetaKey::Parent)) else { continue };
        match std::str::from_utf8(raw).ok().and_then(|s| Digest::parse(s).ok()) {
            Some(p) if ids.contains(&p) => rec.parent = Some(p),
            Some(p) => {
                out.warnings.push(format!("image {id}: parent {p} is not a restored image (reported, not linked)"));
                rec.parent = Some(p);
            }
            None => out.warnings.push(format!(
                "image {id}: parent {:?} is not a restored image, link dropped",
                String::from_utf8_lossy(&raw[..raw.len().min(80)])
            )),
        }
    }
    out.images = config_blobs
        .into_iter()
        .map(|(id, blob, config)| ImportedImage { record: kept.remove(&id).expect("kept above"), config, blob })
        .collect();
    out.layers = loaded.into_values().collect();

    if let Some(bytes) = &c.repositories {
        out.repositories = records::parse_repositories(bytes, &mut out.warnings);
    }
    out.distribution = records::parse_distribution(&c.diffid_by_digest, &c.v2metadata_by_diffid, &mut out.warnings);
    Restored { import: out, discard }
}

/// The image's `lastUpdated` text if it reads as an RFC 3339 time. A bad one is ignored and
/// reported: kept, it would make every later answer that reads it fail.
fn last_updated(id: &Digest, raw: Option<&Vec<u8>>, skipped: &mut Vec<Skipped>) -> Option<String> {
    let raw = raw.filter(|b| !b.is_empty())?;
    let text = String::from_utf8_lossy(raw).into_owned();
    match crate::formats::gotime::GoTime::parse_rfc3339(&text) {
        Ok(_) => Some(text),
        Err(e) => {
            skipped.push(Skipped {
                subject: format!("imagedb/metadata/sha256/{}/lastUpdated", id.hex()),
                reason: format!("ignored (image {id} is restored without it): {}", e.message),
            });
            None
        }
    }
}

fn skip(subject: &Digest, reason: String) -> Skipped {
    Skipped { subject: subject.to_string(), reason }
}

/// Why an image with these diff IDs and OS would not be restored, if it wouldn't: dockerd
/// (on Linux) needs a Linux (or unspecified) OS and its top layer, ChainID(diff_ids), loaded.
fn image_layer_problem(diff_ids: &[Digest], os: &str, loaded: &BTreeMap<String, LayerRecord>) -> Option<String> {
    let chain = chain_id(diff_ids)?;
    if !os.is_empty() && !os.eq_ignore_ascii_case("linux") {
        return Some(format!("operating system is not supported: {os:?}"));
    }
    let found = chain.algorithm() == "sha256" && loaded.contains_key(chain.hex());
    (!found).then(|| format!("layer {chain} does not exist"))
}

/// A layer's own files, read as `loadLayer` reads them (trimmed text, strict parsing).
fn read_layer(hex: &str, files: &LayerFiles) -> Result<LayerRecord> {
    let text = |kind: LayerFileKind| -> Result<Option<String>> {
        match files.small.get(&kind) {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b)
                .map(|s| Some(s.trim().to_string()))
                .map_err(|_| Error::corrupt(format!("{} is not text", kind.file_name()))),
        }
    };
    let required = |kind: LayerFileKind| {
        text(kind)?.ok_or_else(|| Error::corrupt(format!("{} file is missing", kind.file_name())))
    };
    let diff_id = Digest::parse(&required(LayerFileKind::Diff)?).map_err(|e| e.context("invalid diff"))?;
    let size_text = required(LayerFileKind::Size)?;
    let size: i64 = size_text.parse().map_err(|_| Error::corrupt(format!("invalid size {size_text:?}")))?;
    let cache_id = required(LayerFileKind::CacheId)?;
    if cache_id.is_empty() {
        return Err(Error::corrupt("invalid cache id value"));
    }
    let parent = match text(LayerFileKind::Parent)? {
        None => None,
        Some(p) => Some(Digest::parse(&p).map_err(|e| e.context("invalid parent"))?),
    };
    let descriptor = match files.small.get(&LayerFileKind::Descriptor) {
        None => None,
        Some(b) => {
            Some(serde_json::from_slice(b).map_err(|e| Error::corrupt(format!("invalid descriptor.json: {e}")))?)
        }
    };
    Ok(LayerRecord {
        chain_id: Digest::from_sha256_hex(hex).expect("folder names were checked to be sha256 hex"),
        diff_id,
        size,
        cache_id,
        parent,
        tar_split: files.tar_split.as_ref().map(|b| b.digest.clone()),
        descriptor,
    })
}

/// Loads every layer folder; a layer whose own files are bad, or whose parent is missing or
/// itself not loaded, is skipped (so failures cascade to descendants). Parent chains are
/// walked iteratively: an upload can make them arbitrarily long, or circular.
fn load_layers(layers: &BTreeMap<String, LayerFiles>, skipped: &mut Vec<Skipped>) -> BTreeMap<String, LayerRecord> {
    let mut own: BTreeMap<&str, Result<LayerRecord>> =
        layers.iter().map(|(hex, files)| (hex.as_str(), read_layer(hex, files))).collect();
    let mut done: BTreeMap<String, Result<(), ()>> = BTreeMap::new();
    let mut failures: BTreeMap<String, Error> = BTreeMap::new();

    for start in layers.keys() {
        // Walk up from `start` until a layer whose outcome is known or decidable on its own.
        let mut chain: Vec<&str> = Vec::new();
        let mut on_chain: HashSet<&str> = HashSet::new();
        let mut cur: &str = start;
        let mut base: Result<()> = loop {
            if let Some(r) = done.get(cur) {
                break r.map_err(|_| Error::corrupt(format!("parent layer sha256:{cur} could not be loaded")));
            }
            if !on_chain.insert(cur) {
                break Err(Error::corrupt("its parent chain loops back on itself"));
            }
            chain.push(cur);
            match &own[cur] {
                Err(why) => break Err(why.clone()),
                Ok(rec) => match &rec.parent {
                    None => break Ok(()),
                    Some(p) if p.algorithm() == "sha256" && own.contains_key(p.hex()) => {
                        cur = own.get_key_value(p.hex()).expect("checked").0;
                    }
                    Some(p) => break Err(Error::corrupt(format!("parent layer {p} does not exist"))),
                },
            }
        };
        // Settle the chain from the top: each layer inherits its parent's outcome.
        while let Some(hex) = chain.pop() {
            match &base {
                Ok(()) => drop(done.insert(hex.to_string(), Ok(()))),
                Err(why) => {
                    done.insert(hex.to_string(), Err(()));
                    let own_failure = own[hex].as_ref().err().cloned();
                    failures.insert(hex.to_string(), own_failure.unwrap_or_else(|| why.clone()));
                }
            }
            if base.is_err() {
                base = Err(Error::corrupt(format!("parent layer sha256:{hex} could not be loaded")));
            }
        }
    }
    for (hex, why) in failures {
        skipped.push(Skipped { subject: format!("sha256:{hex}"), reason: format!("failed to load layer: {why}") });
    }
    done.into_iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(hex, _)| {
            let rec = own.remove(hex.as_str()).expect("every layer was read").expect("loaded layers read fine");
            (hex, rec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(diff: &str, parent: Option<&str>) -> LayerFiles {
        let mut f = LayerFiles::default();
        f.small.insert(LayerFileKind::Diff, format!("sha256:{diff}").into_bytes());
        f.small.insert(LayerFileKind::Size, b"10".to_vec());
        f.small.insert(LayerFileKind::CacheId, b"abc".to_vec());
        if let Some(p) = parent {
            f.small.insert(LayerFileKind::Parent, format!("sha256:{p}\n").into_bytes());
        }
        f
    }

    fn h(c: char) -> String {
        c.to_string().repeat(64)
    }

    #[test]
    fn broken_layers_cascade_to_their_descendants() {
        let mut layers = BTreeMap::new();
        layers.insert(h('a'), layer(&h('1'), None));
        layers.insert(h('b'), layer(&h('2'), Some(&h('a'))));
        let mut bad = layer(&h('3'), Some(&h('b')));
        bad.small.insert(LayerFileKind::Size, b"ten".to_vec());
        layers.insert(h('c'), bad);
        layers.insert(h('d'), layer(&h('4'), Some(&h('c'))));
        layers.insert(h('e'), layer(&h('5'), Some(&h('f')))); // missing parent
        layers.insert(h('7'), layer(&h('6'), Some(&h('8')))); // a loop: 7 -> 8 -> 7
        layers.insert(h('8'), layer(&h('6'), Some(&h('7'))));
        let mut skipped = Vec::new();
        let loaded = load_layers(&layers, &mut skipped);
        assert_eq!(loaded.keys().cloned().collect::<Vec<_>>(), vec![h('a'), h('b')]);
        assert_eq!(loaded[&h('b')].parent.as_ref().unwrap().hex(), h('a'));
        let reasons: BTreeMap<_, _> = skipped.iter().map(|s| (s.subject[7..].to_string(), s.reason.clone())).collect();
        assert!(reasons[&h('c')].contains("invalid size \"ten\""), "{reasons:?}");
        assert!(reasons[&h('d')].contains(&format!("parent layer sha256:{} could not be loaded", h('c'))));
        assert!(reasons[&h('e')].contains("does not exist"));
        assert!(reasons[&h('7')].contains("loops") || reasons[&h('7')].contains("could not be loaded"));
        assert_eq!(skipped.len(), 5);
    }

    #[test]
    fn long_parent_chains_do_not_recurse() {
        let n = 20_000;
        let hex = |i: usize| format!("{i:064x}");
        let layers: BTreeMap<_, _> =
            (0..n).map(|i| (hex(i), layer(&hex(i), (i > 0).then(|| hex(i - 1)).as_deref()))).collect();
        let mut skipped = Vec::new();
        assert_eq!(load_layers(&layers, &mut skipped).len(), n);
        assert!(skipped.is_empty());
    }

    #[test]
    fn images_need_a_linux_os_and_their_top_layer() {
        let mut loaded = BTreeMap::new();
        let d = Digest::from_sha256_hex(&h('1')).unwrap();
        let rec = read_layer(&h('1'), &layer(&h('1'), None)).unwrap();
        loaded.insert(h('1'), rec);
        assert_eq!(image_layer_problem(std::slice::from_ref(&d), "", &loaded), None);
        assert_eq!(image_layer_problem(std::slice::from_ref(&d), "Linux", &loaded), None);
        assert!(image_layer_problem(std::slice::from_ref(&d), "windows", &loaded).unwrap().contains("not supported"));
        assert!(image_layer_problem(&[d.clone(), d.clone()], "linux", &loaded).unwrap().contains("does not exist"));
        assert_eq!(image_layer_problem(&[], "windows", &loaded), None, "no layers: no OS check");
        // A diff ID that is not a digest names no layer; such a config is refused when staged.
        let junk = crate::formats::image_config::ImageConfig::parse(br#"{"rootfs":{"diff_ids":["junk"]}}"#.to_vec());
        assert!(junk.unwrap_err().message.contains("rootfs.diff_ids"));
    }
}
