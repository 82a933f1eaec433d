//! The import report handed back to the caller (and to JavaScript as a plain object).

use crate::docker::model::{ContentProblem, DockerImport, LoadedImage, Skipped};
use serde::Serialize;

/// `{ format, images, layers, references, blobs, bytes, skipped: [{subject, reason}], warnings }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// The detected input format, e.g. `"docker-image-store"`.
    pub format: String,
    pub images: usize,
    pub layers: usize,
    /// Reference strings (tags and digests) from `repositories.json`.
    pub references: usize,
    /// Content blobs written (image configs and tar-splits).
    pub blobs: usize,
    /// Bytes of the input read (compressed bytes for a gzip input).
    pub bytes: u64,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<String>,
    /// A `docker load`: every `manifest.json` item in archive order, `{ id, tags }` (what
    /// dockerd's "Loaded image" lines name). Empty for other formats.
    pub loaded: Vec<LoadedImage>,
    /// Layers whose tar is in the store after this import (rebuilt from a whole
    /// `/var/lib/docker` upload's driver folders, or carried by a `docker save` archive).
    pub layer_tars: usize,
    /// Layers of a whole `/var/lib/docker` upload whose tar could not be rebuilt, and why.
    pub content_problems: Vec<ContentProblem>,
}

impl ImportReport {
    /// The report for any import result.
    pub fn for_imported(imported: &super::Imported, bytes: u64) -> ImportReport {
        use super::Imported;
        match imported {
            Imported::DockerImageStore(d) => ImportReport::for_docker(d, bytes),
            Imported::DockerLoad(d) => {
                ImportReport { format: imported.format().to_string(), ..ImportReport::for_docker(d, bytes) }
            }
            Imported::Containerd { format, import } => ImportReport {
                format: format.to_string(),
                images: import.images.len(),
                layers: 0,
                references: import.images.len(),
                blobs: import.blobs,
                bytes,
                skipped: import.skipped.clone(),
                warnings: import.warnings.clone(),
                loaded: Vec::new(),
                layer_tars: 0,
                content_problems: Vec::new(),
            },
        }
    }

    /// The report for a Docker image store import, from what the importer produced. The
    /// façade may overwrite the counts with what its commit actually added.
    pub fn for_docker(import: &DockerImport, bytes: u64) -> ImportReport {
        ImportReport {
            format: super::FORMAT_DOCKER_IMAGE_STORE.to_string(),
            images: import.images.len(),
            layers: import.layers.len(),
            references: import.repositories.values().map(|refs| refs.len()).sum(),
            blobs: import.images.len() + import.tar_splits.len(),
            bytes,
            skipped: import.skipped.clone(),
            warnings: import.warnings.clone(),
            loaded: import.loaded.clone(),
            layer_tars: import.layer_blobs.len(),
            content_problems: import.content_problems.clone(),
        }
    }
}
