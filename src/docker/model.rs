//! Plain records of moby's on-disk image store, as the importer hands them to the stores and
//! as the stores persist them. No logic here: these types are the contract between
//! `crate::import` (which reads a Docker root and applies dockerd's restore rules) and the
//! stores in this module (which persist, index and answer queries).

use super::lazy_config::LazyConfig;
use crate::digest::Digest;
use crate::storage::blobs::StagedBlob;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One image of `imagedb/`: its ID is the sha256 of its config bytes (stored as a blob under
/// that digest); the rest comes from `imagedb/metadata/sha256/<hex>/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub id: Digest,
    /// From `metadata/.../parent` only (never from the config JSON).
    pub parent: Option<Digest>,
    /// `metadata/.../lastUpdated`, RFC3339Nano text as written by dockerd.
    pub last_updated: Option<String>,
    /// `metadata/.../builtLocally` (one byte 0x01).
    pub built_locally: bool,
}

/// One layer of `layerdb/sha256/<chain id>/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    pub chain_id: Digest,
    /// `diff`: the DiffID (sha256 of the uncompressed layer tar).
    pub diff_id: Digest,
    /// `size`: the driver's unpacked size of this layer alone (DiffSize).
    pub size: i64,
    /// `cache-id`: the graphdriver directory name.
    pub cache_id: String,
    /// `parent`: the parent layer's chain ID.
    pub parent: Option<Digest>,
    /// Digest of the `tar-split.json.gz` blob, stored by digest, if the layer had one.
    pub tar_split: Option<Digest>,
    /// `descriptor.json`, kept verbatim (foreign layers; rare on Linux).
    pub descriptor: Option<serde_json::Value>,
}

/// `repositories.json`'s map: familiar repository name → (familiar reference string → image ID).
pub type RepositoryMap = BTreeMap<String, BTreeMap<String, Digest>>;

/// One entry of `distribution/v2metadata-by-diffid/sha256/<diffID hex>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V2Metadata {
    #[serde(rename = "Digest")]
    pub digest: Digest,
    #[serde(rename = "SourceRepository")]
    pub source_repository: String,
    #[serde(rename = "HMAC", default)]
    pub hmac: String,
}

/// `distribution/`: registry blob digest ↔ DiffID mappings recorded at pull/push time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributionRecords {
    pub diffid_by_digest: BTreeMap<Digest, Digest>,
    pub v2metadata_by_diffid: BTreeMap<Digest, Vec<V2Metadata>>,
}

/// Something an import left out, with the reason (shown in the import report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// What was skipped: an image ID, a layer chain ID, or a tar entry name.
    pub subject: String,
    pub reason: String,
}

/// A layer whose tar could not be rebuilt from the graph driver's folder of a whole
/// `/var/lib/docker` upload (its images are imported without the layer's contents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentProblem {
    pub diff_id: String,
    /// The member of the layer tar at fault (as the tar names it), the layer folder, or "".
    pub path: String,
    pub reason: String,
}

/// One image an import produced: its record, its config as the importer parsed it (so the
/// merge never reads back what it just wrote) and the staged config blob.
#[derive(Debug, Clone)]
pub struct ImportedImage {
    pub record: ImageRecord,
    /// What the importer kept of the config: all of it, or the list facts only (the config is
    /// then read from its blob when an image call needs it).
    pub config: LazyConfig,
    /// The config bytes, staged (its digest equals the image ID).
    pub blob: StagedBlob,
}

/// Everything an import of a Docker image store produced, after dockerd's restore rules were
/// applied. Blobs (configs, tar-splits) are already written but not yet visible: their
/// `StagedBlob::ops` must be committed with the stores' records.
#[derive(Debug, Clone, Default)]
pub struct DockerImport {
    pub images: Vec<ImportedImage>,
    pub layers: Vec<LayerRecord>,
    /// Staged `tar-split.json.gz` blobs referenced by `LayerRecord::tar_split`.
    pub tar_splits: Vec<StagedBlob>,
    /// Staged layer tars (plain or gzip) with the record saying which DiffID each holds.
    pub layer_blobs: Vec<(crate::docker::layer_blobs::LayerBlobRecord, StagedBlob)>,
    pub repositories: RepositoryMap,
    pub distribution: DistributionRecords,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<String>,
    /// Layers whose tar could not be rebuilt from the upload's graph driver folders.
    pub content_problems: Vec<ContentProblem>,
    /// Which folder of the tarball the store was read from, e.g. `var/lib/docker/image/overlay2/`.
    pub source_dir: String,
    /// A `docker load`: each `manifest.json` item in archive order (dockerd prints its
    /// "Loaded image" lines in this order). Empty for an image store import.
    pub loaded: Vec<LoadedImage>,
}

/// One `manifest.json` item of a `docker load`: the image ID and its `RepoTags` in their
/// familiar form, as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadedImage {
    pub id: Digest,
    pub tags: Vec<String>,
    /// Its layers, bottom first: what dockerd's "Loading layer" progress is about.
    pub layers: Vec<LoadedLayer>,
}

/// One layer of a `docker load` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadedLayer {
    pub diff_id: Digest,
    pub chain_id: Digest,
    /// The layer file's length in the archive (dockerd's progress total).
    pub size: u64,
    /// Whether this load put the layer in the store: dockerd loads (and shows progress for)
    /// only layers its layer store does not have yet, the first time the archive names them.
    pub loaded: bool,
}
