//! `docker save` archives into the Docker view, as `docker load` does with the graphdriver
//! store (moby tarexport load.go): per `manifest.json` item the config is created (image ID =
//! sha256 of its exact bytes), each layer is registered under its chain ID with its DiffID
//! verified (sha256 of the uncompressed tar), its size as the graph driver reports it
//! (regular file bytes) and a `tar-split.json.gz` generated from the tar; RepoTags are force-tagged; `Parent` links are kept only when the
//! parent is in the archive and its history is the child's minus one entry.
//!
//! The layer files are kept as they came (plain tar or gzip), one per DiffID, so that images
//! can be saved again and their files read ([`crate::contents`]).
//!
//! The layer facts were computed while the archive streamed ([`super::layer_scan`]): no
//! layer is read back here, only the (small) configs.

use super::files::{self as archive, ArchiveFiles, JSON_LIMIT};
use super::layer_scan::LayerFacts;
use crate::digest::{chain_ids, Digest};
use crate::docker::layer_blobs::{Compression, LayerBlobRecord};
use crate::docker::lazy_config::LazyConfig;
use crate::docker::model::{DockerImport, ImageRecord, ImportedImage, LayerRecord, LoadedImage, LoadedLayer};
use crate::error::{Error, Result};
use crate::formats::docker_save::ManifestItem;
use crate::formats::image_config::ImageConfig;
use crate::formats::reference::Reference;
use crate::storage::blobs::StagedBlob;
use crate::storage::Backend;
use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;

/// What is already in the result: sets, so that an archive listing a layer thousands of times
/// stays linear.
#[derive(Default)]
struct Seen {
    tar_splits: HashSet<Digest>,
    layers: HashSet<Digest>,
}

/// Loads the `manifest.json` items. The result's blobs (configs from the archive, generated
/// tar-splits) are staged; the caller commits them or discards them with the rest of `files`.
pub(crate) async fn load<B: Backend>(b: &B, files: &ArchiveFiles, items: &[ManifestItem]) -> Result<DockerImport> {
    let mut out = DockerImport::default();
    let mut configs: BTreeMap<Digest, Rc<ImageConfig>> = BTreeMap::new();
    let mut parent_links: Vec<(Digest, String)> = Vec::new();
    load_items(b, files, items, &mut out, &mut configs, &mut parent_links).await?;
    for (child, parent) in parent_links {
        let Ok(parent) = Digest::parse(&parent) else { continue };
        let valid = match (configs.get(&child), configs.get(&parent)) {
            (Some(c), Some(p)) => is_valid_parent(c, p),
            _ => false,
        };
        if valid {
            if let Some(image) = out.images.iter_mut().find(|i| i.record.id == child) {
                image.record.parent = Some(parent);
            }
        }
    }
    Ok(out)
}

async fn load_items<B: Backend>(
    b: &B,
    files: &ArchiveFiles,
    items: &[ManifestItem],
    out: &mut DockerImport,
    configs: &mut BTreeMap<Digest, Rc<ImageConfig>>,
    parent_links: &mut Vec<(Digest, String)>,
) -> Result<()> {
    let mut seen = Seen::default();
    for item in items {
        let at = |e: Error| e.context(format!("manifest.json item with config {:?}", item.config));
        let config_blob = files
            .resolve(&item.config)
            .ok_or_else(|| at(Error::not_found(format!("config file {:?} is not in the archive", item.config))))?;
        let raw = archive::read_small(b, config_blob, JSON_LIMIT, "image config").await.map_err(at)?;
        // `docker load` registers the image with `Create`, which checks the history too.
        let config = ImageConfig::parse(raw).map_err(at)?;
        config.check_history_layers().map_err(at)?;
        // moby 20.10 load.go checkCompatibleOS: a Linux daemon refuses Windows images (the
        // whole load fails, as there).
        if config.os_raw() == "windows" {
            return Err(at(Error::invalid("cannot load windows image on linux")));
        }
        let diff_ids = config.diff_ids().to_vec();
        if item.layers().len() != diff_ids.len() {
            return Err(at(Error::invalid(format!(
                "invalid manifest, layers length mismatch: expected {}, got {}",
                diff_ids.len(),
                item.layers().len()
            ))));
        }
        let mut parent: Option<Digest> = None;
        let chains = chain_ids(&diff_ids);
        let mut loaded_layers = Vec::with_capacity(diff_ids.len());
        for (i, path) in item.layers().iter().enumerate() {
            let blob = files
                .resolve(path)
                .ok_or_else(|| at(Error::not_found(format!("layer file {path:?} is not in the archive"))))?;
            let layer = scanned_layer(files, blob).map_err(|e| e.context(format!("layer {path:?}")))?;
            // A layer file staged twice (same bytes under two names) has two equal tar-splits: one is kept.
            if seen.tar_splits.insert(layer.tar_split.digest.clone()) {
                out.tar_splits.push(layer.tar_split.clone());
            }
            if layer.diff_id != diff_ids[i] {
                return Err(at(Error::corrupt(format!(
                    "invalid diffID for layer {i} ({path:?}): expected {}, got {}",
                    diff_ids[i], layer.diff_id
                ))));
            }
            if !out.layer_blobs.iter().any(|(r, _)| r.diff_id == layer.diff_id) {
                let record = LayerBlobRecord {
                    diff_id: layer.diff_id.clone(),
                    blob: blob.digest.clone(),
                    compression: if layer.gzip { Compression::Gzip } else { Compression::None },
                    size: layer.tar_size,
                };
                out.layer_blobs.push((record, blob.clone()));
            }
            let chain = chains[i].clone();
            // Whether it is new to the store is known at the commit.
            loaded_layers.push(LoadedLayer {
                diff_id: layer.diff_id.clone(),
                chain_id: chain.clone(),
                size: blob.size,
                loaded: false,
            });
            if seen.layers.insert(chain.clone()) {
                out.layers.push(LayerRecord {
                    chain_id: chain.clone(),
                    diff_id: layer.diff_id.clone(),
                    size: layer.size,
                    cache_id: crate::docker::layers::loaded_cache_id(&chain),
                    parent: parent.clone(),
                    tar_split: Some(layer.tar_split.digest.clone()),
                    descriptor: None,
                });
            }
            parent = Some(chain);
        }
        let id = config.id();
        let mut tags = Vec::new();
        for tag in item.repo_tags() {
            let r = Reference::parse_normalized_named(tag).map_err(at)?;
            if r.tag().is_none() || r.digest().is_some() {
                return Err(at(Error::invalid(format!("invalid tag {tag:?}"))));
            }
            out.repositories.entry(r.familiar_name()).or_default().insert(r.familiar_string(), id.clone());
            tags.push(r.familiar_string());
        }
        out.loaded.push(LoadedImage { id: id.clone(), tags, layers: loaded_layers });
        if let std::collections::btree_map::Entry::Vacant(slot) = configs.entry(id.clone()) {
            let record = ImageRecord { id: id.clone(), parent: None, last_updated: None, built_locally: false };
            let config = slot.insert(Rc::new(config)).clone();
            out.images.push(ImportedImage { record, config: LazyConfig::parsed(config), blob: config_blob.clone() });
            if let Some(p) = item.parent.as_ref().filter(|p| !p.is_empty()) {
                parent_links.push((id, p.clone()));
            }
        }
    }
    Ok(())
}

/// moby's `checkValidParent`: no history on both, or the child's history is the parent's
/// plus one entry.
fn is_valid_parent(child: &ImageConfig, parent: &ImageConfig) -> bool {
    let (c, p) = (child.history(), parent.history());
    if c.is_empty() && p.is_empty() {
        return true;
    }
    c.len() == p.len() + 1 && c.iter().zip(p).all(|(a, b)| a == b)
}

/// The facts the collector found while the layer file streamed.
fn scanned_layer<'a>(files: &'a ArchiveFiles, blob: &StagedBlob) -> Result<&'a LayerFacts> {
    match files.facts(blob).and_then(|f| f.layer.as_ref()) {
        Some(Ok(facts)) => Ok(facts),
        Some(Err(e)) => Err(e.clone()),
        None => Err(Error::precondition(format!("layer file {} was not scanned while it streamed", blob.digest))),
    }
}
