//! containerd's importer on a `docker save` archive (ImportIndex without `oci-layout`): one
//! Docker schema2 manifest per `manifest.json` item (config typed as a Docker config, layers
//! typed by sniffing their first bytes: anything compressed is `tar.gzip`, else `tar`), and
//! an OCI index with one entry per RepoTag (normalised, with `io.containerd.image.name` and
//! `org.opencontainers.image.ref.name`) or one unnamed entry for an untagged image. The JSON
//! is written byte for byte as Go marshals it, so the digests equal what ctr shows.

use super::ctr_import::Pool;
use super::files::ArchiveFiles;
use crate::containerd::ls_view::normalize;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::formats::docker_save::{self, Compression, ManifestItem};
use crate::formats::go_json;
use crate::formats::oci::{self, Descriptor, Platform};
use crate::storage::blobs::{self, StagedBlob};
use crate::storage::Backend;

/// Writes the manifests and the index of `items` into `pool` (staged) and returns the index
/// descriptor.
pub(crate) async fn build<B: Backend>(
    b: &B,
    files: &ArchiveFiles,
    items: &[ManifestItem],
    pool: &mut Pool,
) -> Result<Descriptor> {
    let mut entries: Vec<String> = Vec::new();
    for item in items {
        let config = files
            .resolve(&item.config)
            .ok_or_else(|| Error::not_found(format!("image config {:?} not found", item.config)))?;
        let mut layers = Vec::new();
        for path in item.layers() {
            let blob = files
                .resolve(path)
                .ok_or_else(|| Error::not_found(format!("failed to resolve layers: layer {path:?} not found")))?;
            // Sniffed from its first bytes while it streamed: nothing is read back.
            let compression = files.facts(blob).map(|f| f.compression).unwrap_or(Compression::Uncompressed);
            let media_type = match compression {
                Compression::Uncompressed => oci::DOCKER_LAYER,
                _ => oci::DOCKER_LAYER_GZIP,
            };
            layers.push(descriptor_json(media_type, &blob.digest, blob.size, None, None));
        }
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":{},"config":{},"layers":[{}]}}"#,
            go_json::string(oci::DOCKER_MANIFEST),
            descriptor_json(oci::DOCKER_CONFIG, &config.digest, config.size, None, None),
            layers.join(",")
        );
        let manifest = stage(b, pool, manifest.into_bytes()).await?;
        let platform = config_platform(&pool.read_json(b, &config.digest, "image config").await?)
            .map_err(|e| e.context(format!("image config {:?}", item.config)))?;
        let platform = go_json::html_escape(serde_json::to_string(&platform).expect("platform serialises"));
        if item.repo_tags().is_empty() {
            entries.push(descriptor_json(oci::DOCKER_MANIFEST, &manifest.digest, manifest.size, None, Some(&platform)));
        }
        for tag in item.repo_tags() {
            let normalized = docker_save::parse_docker_ref(tag)
                .map_err(|e| Error::invalid(format!("normalize image ref {tag:?}: {}", e.message)))?
                .to_string();
            let annotations = format!(
                "{{{}:{},{}:{}}}",
                go_json::string(oci::ANNOTATION_CONTAINERD_IMAGE_NAME),
                go_json::string(&normalized),
                go_json::string(oci::ANNOTATION_REF_NAME),
                go_json::string(&docker_save::oci_reference_name(&normalized))
            );
            entries.push(descriptor_json(
                oci::DOCKER_MANIFEST,
                &manifest.digest,
                manifest.size,
                Some(&annotations),
                Some(&platform),
            ));
        }
    }
    // Go marshals a nil slice as null: an archive without items has no manifests.
    let manifests = if entries.is_empty() { "null".to_string() } else { format!("[{}]", entries.join(",")) };
    let index = stage(b, pool, format!(r#"{{"schemaVersion":2,"manifests":{manifests}}}"#).into_bytes()).await?;
    Ok(plain_descriptor(oci::OCI_INDEX, &index))
}

/// `images.Platforms` of a manifest: its config's platform, normalised.
fn config_platform(config: &[u8]) -> Result<Platform> {
    let p: Platform =
        serde_json::from_slice(config).map_err(|e| Error::corrupt(format!("not a valid image config: {e}")))?;
    Ok(normalize(&p))
}

/// An ocispec.Descriptor as Go marshals it: mediaType, digest, size, annotations, platform.
fn descriptor_json(
    media_type: &str,
    digest: &Digest,
    size: u64,
    annotations: Option<&str>,
    platform: Option<&str>,
) -> String {
    let mut s = format!(r#"{{"mediaType":{},"digest":"{digest}","size":{size}"#, go_json::string(media_type));
    if let Some(a) = annotations {
        s.push_str(&format!(r#","annotations":{a}"#));
    }
    if let Some(p) = platform {
        s.push_str(&format!(r#","platform":{p}"#));
    }
    s.push('}');
    s
}

async fn stage<B: Backend>(b: &B, pool: &mut Pool, bytes: Vec<u8>) -> Result<StagedBlob> {
    let staged = blobs::stage_bytes(b, &bytes).await?;
    // Identical bytes generated twice (two items with the same manifest) are one blob.
    if let Some(old) = pool.staged.get(&staged.digest) {
        blobs::discard(b, &staged.set).await?;
        return Ok(old.clone());
    }
    pool.generated.push(staged.set.clone());
    pool.staged.insert(staged.digest.clone(), staged.clone());
    Ok(staged)
}

pub(crate) fn plain_descriptor(media_type: &str, blob: &StagedBlob) -> Descriptor {
    Descriptor {
        media_type: media_type.to_string(),
        digest: blob.digest.clone(),
        size: blob.size as i64,
        urls: Vec::new(),
        annotations: None,
        data: None,
        artifact_type: None,
        platform: None,
    }
}
