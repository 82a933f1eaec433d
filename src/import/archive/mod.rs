//! Picks the importer for an archive from what it holds (never from names) and leaves only the
//! blobs of the result staged:
//!
//! | found | into |
//! |---|---|
//! | `io.containerd.metadata.v1.bolt/meta.db` (any depth) | containerd, every namespace ([`super::containerd_root`]) |
//! | `oci-layout` + `index.json`, no `namespace` option, with `manifest.json` (Docker 25+ save) | Docker view, like `docker load` |
//! | `oci-layout` + `index.json` otherwise | containerd, like `ctr images import` (namespace option, default `default`) |
//! | `manifest.json` (docker save ≤ 24, kaniko), no `namespace` option | Docker view, like `docker load` ([`docker_load`]) |
//! | `manifest.json` with a `namespace` option | containerd, like `ctr images import` ([`ctr_docker_index`]) |

pub(crate) mod ctr_docker_index;
pub(crate) mod ctr_import;
pub(crate) mod docker_load;
pub(crate) mod files;
pub(crate) mod layer_scan;

use super::{containerd_root, Imported};
use crate::containerd::namespaces;
use crate::error::{Error, Result};
use crate::formats::docker_save;
use crate::formats::oci::{self, Descriptor};
use crate::storage::{blobs, Backend};
use ctr_import::{ContainerdImport, CtrOptions, Pool};
use files::{ArchiveFiles, JSON_LIMIT};
use std::collections::BTreeSet;

pub const FORMAT_DOCKER_SAVE: &str = "docker-save";
pub const FORMAT_OCI_LAYOUT: &str = "oci-layout";
pub const FORMAT_CONTAINERD_ROOT: &str = "containerd-root";

/// Imports `files`; on success every staged blob not in the result is discarded, on error all.
pub(crate) async fn finish<B: Backend>(
    b: &B,
    files: ArchiveFiles,
    namespace: Option<&str>,
    ctr: &CtrOptions,
) -> Result<Imported> {
    let mut pool = Pool::from_files(&files);
    let result = dispatch(b, &files, &mut pool, namespace, ctr).await;
    let keep: BTreeSet<String> = match &result {
        Ok(imported) => imported.staged_sets().into_iter().collect(),
        Err(_) => BTreeSet::new(),
    };
    let mut all = files.staged_sets();
    all.extend(pool.generated.iter().cloned());
    for set in all.iter().filter(|s| !keep.contains(*s)) {
        if let Err(e) = blobs::discard(b, set).await {
            if let Ok(imported) = &result {
                let _ = imported.discard(b).await;
            }
            return Err(e);
        }
    }
    result
}

async fn dispatch<B: Backend>(
    b: &B,
    files: &ArchiveFiles,
    pool: &mut Pool,
    namespace: Option<&str>,
    ctr: &CtrOptions,
) -> Result<Imported> {
    if !files.too_big.is_empty() {
        return Err(Error::unsupported(files.too_big.join("; ")));
    }
    let roots: Vec<&String> = files.roots.iter().filter(|(_, r)| r.meta_db.is_some()).map(|(k, _)| k).collect();
    if let Some(folder) = roots.iter().min_by_key(|r| (r.matches('/').count(), r.to_string())) {
        let mut import = containerd_root::import_root(b, folder, &files.roots[*folder]).await?;
        for other in roots.iter().filter(|r| *r != folder) {
            import
                .warnings
                .push(format!("several containerd roots in the archive: imported {folder:?}, not {other:?}"));
        }
        return Ok(Imported::Containerd { format: FORMAT_CONTAINERD_ROOT, import });
    }
    let items = match &files.manifest_json {
        Some(bytes) => Some(docker_save::parse_manifest_json(bytes)?),
        None => None,
    };
    if items.as_ref().is_some_and(Vec::is_empty) && files.oci_layout.is_none() {
        return Err(Error::unsupported(
            "a `docker save` archive whose manifest.json lists no image: nothing to import",
        ));
    }
    if let (Some(items), None) = (&items, namespace) {
        let import = docker_load::load(b, files, items).await?;
        return Ok(Imported::DockerLoad(import));
    }
    let ns = namespace.unwrap_or(namespaces::DEFAULT);
    if let Some(layout) = &files.oci_layout {
        let root = oci_layout_root(b, files, pool, layout).await?;
        let import = ctr_import::import_index(b, pool, ns, root, ctr).await?;
        return Ok(containerd(FORMAT_OCI_LAYOUT, import));
    }
    let Some(items) = items else {
        return Err(Error::unsupported(
            "unrecognized image format: no oci-layout, manifest.json or containerd meta.db",
        ));
    };
    let root = ctr_docker_index::build(b, files, &items, pool).await?;
    let import = ctr_import::import_index(b, pool, ns, root, ctr).await?;
    Ok(containerd(FORMAT_DOCKER_SAVE, import))
}

fn containerd(format: &'static str, import: ContainerdImport) -> Imported {
    Imported::Containerd { format, import }
}

/// containerd's importer on an OCI layout: `imageLayoutVersion` must be 1.0.0 and `index.json`
/// (stored as a blob) is the root.
async fn oci_layout_root<B: Backend>(
    b: &B,
    files: &ArchiveFiles,
    pool: &mut Pool,
    layout: &[u8],
) -> Result<Descriptor> {
    #[derive(serde::Deserialize)]
    struct Layout {
        #[serde(rename = "imageLayoutVersion", default)]
        version: String,
    }
    let layout: Layout =
        serde_json::from_slice(layout).map_err(|e| Error::corrupt(format!("untar oci layout \"oci-layout\": {e}")))?;
    if layout.version != "1.0.0" {
        return Err(Error::unsupported(format!("unsupported OCI version {}", layout.version)));
    }
    let index = files.index_json.as_ref().ok_or_else(|| Error::not_found("missing index.json in OCI layout 1.0.0"))?;
    if index.len() as u64 > JSON_LIMIT {
        return Err(Error::unsupported("index.json is over the 20 MiB limit"));
    }
    let staged = blobs::stage_bytes(b, index).await?;
    let desc = ctr_docker_index::plain_descriptor(oci::OCI_INDEX, &staged);
    if pool.staged.contains_key(&staged.digest) {
        blobs::discard(b, &staged.set).await?;
    } else {
        pool.generated.push(staged.set.clone());
        pool.staged.insert(staged.digest.clone(), staged);
    }
    Ok(desc)
}
