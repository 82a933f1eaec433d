//! `docker save` archives into the Docker view, as `docker load` does with the graphdriver
//! store (moby tarexport load.go): per `manifest.json` item the config is created (image ID =
//! sha256 of its exact bytes), each layer is registered under its chain ID with its DiffID
//! verified (sha256 of the uncompressed tar; gzip layers are inflated while hashing), its
//! size as the graph driver reports it (regular file bytes) and a `tar-split.json.gz`
//! generated from the tar; RepoTags are force-tagged; `Parent` links are kept only when the
//! parent is in the archive and its history is the child's minus one entry.
//!
//! The layer tars themselves are not kept: like dockerd, the Docker view keeps configs and
//! tar-splits (file contents would live in the graph driver).

use super::archive::{self, ArchiveFiles, JSON_LIMIT};
use super::gzip::Decompressor;
use super::tar_split_writer::TarSplitWriter;
use crate::digest::{chain_id, Digest, Sha256Hasher};
use crate::docker::model::{DockerImport, ImageRecord, LayerRecord};
use crate::error::{Error, Result};
use crate::formats::docker_save::{self, Compression, ManifestItem};
use crate::formats::image_config::ImageConfig;
use crate::formats::reference::Reference;
use crate::storage::blobs::{self, BlobWriter, StagedBlob, CHUNK_SIZE};
use crate::storage::Backend;
use std::collections::BTreeMap;

/// What scanning one layer file gave.
#[derive(Clone)]
struct ScannedLayer {
    diff_id: Digest,
    size: i64,
    tar_split: Digest,
}

/// Loads the `manifest.json` items. The result's blobs (configs from the archive, generated
/// tar-splits) are staged; the caller commits or discards them.
pub(crate) async fn load<B: Backend>(b: &B, files: &ArchiveFiles, items: &[ManifestItem]) -> Result<DockerImport> {
    let mut out = DockerImport::default();
    let mut scanned: BTreeMap<Digest, ScannedLayer> = BTreeMap::new();
    let mut configs: BTreeMap<Digest, ImageConfig> = BTreeMap::new();
    let mut parent_links: Vec<(Digest, String)> = Vec::new();
    let result = load_items(b, files, items, &mut out, &mut scanned, &mut configs, &mut parent_links).await;
    if let Err(e) = result {
        for blob in &out.tar_splits {
            let _ = blobs::discard(b, &blob.set).await;
        }
        return Err(e);
    }
    for (child, parent) in parent_links {
        let Ok(parent) = Digest::parse(&parent) else { continue };
        let valid = match (configs.get(&child), configs.get(&parent)) {
            (Some(c), Some(p)) => is_valid_parent(c, p),
            _ => false,
        };
        if valid {
            if let Some((rec, _)) = out.images.iter_mut().find(|(r, _)| r.id == child) {
                rec.parent = Some(parent);
            }
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn load_items<B: Backend>(
    b: &B,
    files: &ArchiveFiles,
    items: &[ManifestItem],
    out: &mut DockerImport,
    scanned: &mut BTreeMap<Digest, ScannedLayer>,
    configs: &mut BTreeMap<Digest, ImageConfig>,
    parent_links: &mut Vec<(Digest, String)>,
) -> Result<()> {
    for item in items {
        let at = |e: Error| e.context(format!("manifest.json item with config {:?}", item.config));
        let config_blob = files
            .resolve(&item.config)
            .ok_or_else(|| at(Error::not_found(format!("config file {:?} is not in the archive", item.config))))?;
        let raw = archive::read_small(b, config_blob, JSON_LIMIT, "image config").await.map_err(at)?;
        // `docker load` registers the image with `Create`, which checks the history too.
        let config = ImageConfig::parse(raw).map_err(at)?;
        config.check_history_layers().map_err(at)?;
        let diff_ids = config.diff_ids().to_vec();
        if item.layers().len() != diff_ids.len() {
            return Err(at(Error::invalid(format!(
                "invalid manifest, layers length mismatch: expected {}, got {}",
                diff_ids.len(),
                item.layers().len()
            ))));
        }
        let mut parent: Option<Digest> = None;
        for (i, path) in item.layers().iter().enumerate() {
            let blob = files
                .resolve(path)
                .ok_or_else(|| at(Error::not_found(format!("layer file {path:?} is not in the archive"))))?;
            let layer = match scanned.get(&blob.digest) {
                Some(l) => l.clone(),
                None => {
                    let (l, split) = scan_layer(b, blob).await.map_err(|e| e.context(format!("layer {path:?}")))?;
                    out.tar_splits.push(split);
                    scanned.insert(blob.digest.clone(), l.clone());
                    l
                }
            };
            if layer.diff_id != diff_ids[i] {
                return Err(at(Error::corrupt(format!(
                    "invalid diffID for layer {i} ({path:?}): expected {}, got {}",
                    diff_ids[i], layer.diff_id
                ))));
            }
            let chain = chain_id(&diff_ids[..=i]).expect("at least one diff ID");
            if !out.layers.iter().any(|l| l.chain_id == chain) {
                out.layers.push(LayerRecord {
                    chain_id: chain.clone(),
                    diff_id: layer.diff_id.clone(),
                    size: layer.size,
                    cache_id: cache_id(&chain),
                    parent: parent.clone(),
                    tar_split: Some(layer.tar_split.clone()),
                    descriptor: None,
                });
            }
            parent = Some(chain);
        }
        let id = config.id();
        for tag in item.repo_tags() {
            let r = Reference::parse_normalized_named(tag).map_err(at)?;
            if r.tag().is_none() || r.digest().is_some() {
                return Err(at(Error::invalid(format!("invalid tag {tag:?}"))));
            }
            out.repositories.entry(r.familiar_name()).or_default().insert(r.familiar_string(), id.clone());
        }
        if !out.images.iter().any(|(r, _)| r.id == id) {
            let record = ImageRecord { id: id.clone(), parent: None, last_updated: None, built_locally: false };
            out.images.push((record, config_blob.clone()));
            if let Some(p) = item.parent.as_ref().filter(|p| !p.is_empty()) {
                parent_links.push((id.clone(), p.clone()));
            }
            configs.insert(id, config);
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

/// A graph driver folder name for the layer. dockerd picks a random one; this is derived
/// from the chain ID so that loading the same archive twice names it the same.
fn cache_id(chain: &Digest) -> String {
    Digest::sha256_of(format!("imagestore cache-id {chain}").as_bytes()).hex().to_string()
}

/// Reads a staged layer file back, inflating gzip, and returns its DiffID, unpacked size and
/// the staged tar-split.
async fn scan_layer<B: Backend>(b: &B, blob: &StagedBlob) -> Result<(ScannedLayer, StagedBlob)> {
    let head = blobs::read_staged(b, blob, 0, 10).await?;
    match docker_save::detect_compression(&head) {
        Compression::Uncompressed | Compression::Gzip => {}
        other => {
            return Err(Error::unsupported(format!(
                "{} compression is not supported for docker save layers here (gzip and plain tar are)",
                other.name()
            )))
        }
    }
    let mut inflate = Decompressor::new();
    let mut diff = Sha256Hasher::new();
    let mut split = TarSplitWriter::new();
    let mut writer = BlobWriter::new();
    let result = async {
        let mut offset = 0u64;
        while offset < blob.size {
            let chunk = blobs::read_staged(b, blob, offset, CHUNK_SIZE as u64).await?;
            offset += chunk.len() as u64;
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                let (used, tar) = inflate.feed(rest)?;
                rest = &rest[used..];
                diff.update(tar);
                split.write(tar)?;
            }
            writer.write(b, &split.take_output()).await?;
        }
        let tail = inflate.finish()?;
        diff.update(tail);
        split.write(tail)?;
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = result {
        let _ = blobs::discard(b, &writer.finish(b, None, None).await?.set).await;
        return Err(e);
    }
    let size = split.regular_bytes();
    let gz = match split.finish() {
        Ok(gz) => gz,
        Err(e) => {
            let _ = blobs::discard(b, &writer.finish(b, None, None).await?.set).await;
            return Err(e);
        }
    };
    writer.write(b, &gz).await?;
    let staged = writer.finish(b, None, None).await?;
    let layer = ScannedLayer { diff_id: diff.finish(), size, tar_split: staged.digest.clone() };
    Ok((layer, staged))
}
