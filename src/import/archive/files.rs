//! Stages what a tarball holds of image archives while it streams: `docker save` archives
//! (legacy and Docker 25+), kaniko tarballs, OCI image layouts, and containerd roots.
//!
//! Which format the tarball is becomes known only at its end (tar order is arbitrary), so
//! every file that may be needed is staged as a blob while it streams (digest computed, or
//! checked against its name for `blobs/sha256/<hex>` and containerd content), and the few
//! small JSON files are buffered. The importers ([`super::ctr_import`], [`super::docker_load`],
//! [`crate::import::containerd_root`]) then read back only what the format needs; the rest is discarded.
//!
//! Staged, as `ctr images import` ingests them: every regular file at the top level and
//! every `<dir>/layer.tar`; `blobs/<alg>/<hex>`; containerd content blobs at any depth.
//! Of the first two kinds the compression is sniffed and, when a `docker load` may follow,
//! each is also scanned as a layer in the same pass ([`super::layer_scan`]): the importers
//! never read a layer back.
//! Buffered: `oci-layout`, `index.json`, `manifest.json` (capped at 20 MiB, as containerd's
//! importer caps JSON) and containerd's `meta.db` (capped at [`META_DB_LIMIT`]).

use super::layer_scan::{Head, LayerScan, LayerScanner};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::formats::docker_save::Compression;
use crate::import::docker_root::paths::{components, is_sha256_hex};
use crate::import::stream::tar::{EntryKind, TarEntry};
use crate::storage::blobs::{self, BlobWriter, StagedBlob};
use crate::storage::Backend;
use crate::storage::HostBytes;
use std::collections::BTreeMap;

/// Largest JSON file read whole (containerd's importer uses the same 20 MiB).
pub const JSON_LIMIT: u64 = 20 << 20;
/// Largest containerd `meta.db` read whole.
pub const META_DB_LIMIT: u64 = 256 << 20;

const METADATA_DIR: &str = "io.containerd.metadata.v1.bolt";
const CONTENT_DIR: &str = "io.containerd.content.v1.content";

/// A containerd root found in the archive (`<root>` holds both plugin folders).
#[derive(Default)]
pub(crate) struct ContainerdRoot {
    pub meta_db: Option<Vec<u8>>,
    /// Content blobs, verified against their names.
    pub blobs: BTreeMap<Digest, StagedBlob>,
}

/// What was learnt about a staged file while it streamed.
pub(crate) struct FileFacts {
    /// From its first bytes.
    pub compression: Compression,
    /// Its scan as a layer (`None` when the collector was not asked to scan).
    pub layer: Option<LayerScan>,
}

impl FileFacts {
    /// The chunk set of the generated tar-split, if any.
    fn tar_split_set(&self) -> Option<&str> {
        match &self.layer {
            Some(Ok(facts)) => Some(&facts.tar_split.set),
            _ => None,
        }
    }
}

/// Everything staged or buffered from an archive.
#[derive(Default)]
pub(crate) struct ArchiveFiles {
    pub oci_layout: Option<Vec<u8>>,
    pub index_json: Option<Vec<u8>>,
    pub manifest_json: Option<Vec<u8>>,
    /// Staged files by cleaned path (`blobs/sha256/<hex>`, `<hex>.json`, `<v1id>/layer.tar`, ...).
    pub files: BTreeMap<String, StagedBlob>,
    /// What streaming found about each of `files`, by chunk set.
    pub facts: BTreeMap<String, FileFacts>,
    /// Symlinks at the top two levels: path → cleaned target path (relative to the archive).
    pub symlinks: BTreeMap<String, String>,
    /// containerd roots by folder (`""` = the archive's top level, else ending in `/`).
    pub roots: BTreeMap<String, ContainerdRoot>,
    /// Entries over a size limit, for the error message if their format is chosen.
    pub too_big: Vec<String>,
}

impl ArchiveFiles {
    /// Every chunk set staged (generated tar-splits included).
    pub(crate) fn staged_sets(&self) -> Vec<String> {
        let roots = self.roots.values().flat_map(|r| r.blobs.values());
        let mut sets: Vec<String> = self.files.values().chain(roots).map(|s| s.set.clone()).collect();
        sets.extend(self.facts.values().filter_map(FileFacts::tar_split_set).map(str::to_string));
        sets
    }

    /// What streaming found about a staged file of `files`.
    pub(crate) fn facts(&self, blob: &StagedBlob) -> Option<&FileFacts> {
        self.facts.get(&blob.set)
    }

    /// Resolves a path named by `manifest.json`: cleaned, then through symlinks (a repeated
    /// layer in `docker save` is a relative symlink to its first copy).
    pub(crate) fn resolve(&self, path: &str) -> Option<&StagedBlob> {
        let mut p = clean(path)?;
        for _ in 0..16 {
            if let Some(b) = self.files.get(&p) {
                return Some(b);
            }
            p = self.symlinks.get(&p)?.clone();
        }
        None
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.oci_layout.is_none() && self.manifest_json.is_none() && self.roots.values().all(|r| r.meta_db.is_none())
    }
}

/// `path.Clean` for archive-relative names: `.` and empty parts dropped, `..` resolved
/// (`None` if it climbs out).
pub(crate) fn clean(path: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            p => out.push(p),
        }
    }
    Some(out.join("/"))
}

enum Place {
    Json(JsonFile),
    Blob { expected: Option<Digest> },
    File,
    MetaDb { root: String },
    Content { root: String, digest: Digest },
}

#[derive(Clone, Copy)]
enum JsonFile {
    OciLayout,
    Index,
    Manifest,
}

fn classify(parts: &[&str]) -> Option<Place> {
    let n = parts.len();
    let root_of = |k: usize| if k == 0 { String::new() } else { format!("{}/", parts[..k].join("/")) };
    if n >= 2 && parts[n - 2] == METADATA_DIR && parts[n - 1] == "meta.db" {
        return Some(Place::MetaDb { root: root_of(n - 2) });
    }
    if n >= 4 && parts[n - 4] == CONTENT_DIR && parts[n - 3] == "blobs" && parts[n - 2] == "sha256" {
        let digest = is_sha256_hex(parts[n - 1]).then(|| Digest::from_sha256_hex(parts[n - 1]).ok()).flatten()?;
        return Some(Place::Content { root: root_of(n - 4), digest });
    }
    match parts {
        ["oci-layout"] => Some(Place::Json(JsonFile::OciLayout)),
        ["index.json"] => Some(Place::Json(JsonFile::Index)),
        ["manifest.json"] => Some(Place::Json(JsonFile::Manifest)),
        // dockerd's own files in a tar of `image/<driver>/`: never part of an archive.
        ["repositories.json"] => None,
        ["blobs", alg, hex] => {
            let expected =
                (*alg == "sha256" && is_sha256_hex(hex)).then(|| Digest::from_sha256_hex(hex).ok()).flatten();
            Some(Place::Blob { expected })
        }
        [_] | [_, "layer.tar"] => Some(Place::File),
        _ => None,
    }
}

enum Sink {
    Json {
        file: JsonFile,
        buf: Vec<u8>,
    },
    MetaDb {
        root: String,
        buf: Vec<u8>,
    },
    Blob {
        path: String,
        expected: Option<Digest>,
        size: u64,
        writer: BlobWriter,
        head: Head,
        scan: Option<LayerScanner>,
    },
    Content {
        root: String,
        path: String,
        digest: Digest,
        size: u64,
        writer: BlobWriter,
    },
}

/// The streaming side: fed the tar entries, fills [`ArchiveFiles`].
#[derive(Default)]
pub(crate) struct ArchiveCollector {
    /// Whether staged files are scanned as layers (only a `docker load` uses the scans).
    scan_layers: bool,
    files: ArchiveFiles,
    sink: Option<Sink>,
    /// Chunk sets replaced by a later entry of the same path.
    replaced: Vec<String>,
    /// Blobs staged so far (for progress).
    pub staged: u64,
}

impl ArchiveCollector {
    /// `scan_layers`: see [`super::layer_scan`]; pass false when no `docker load` can follow.
    pub(crate) fn new(scan_layers: bool) -> Self {
        ArchiveCollector { scan_layers, ..Self::default() }
    }

    /// Starts a tar entry: decides where its data goes. `upload`, when given, hashes a staged
    /// file from the upload's own bytes (the entry's data is a range of the upload).
    pub(crate) fn entry(&mut self, e: &TarEntry, upload: Option<&std::rc::Rc<dyn HostBytes>>) {
        self.sink = None;
        let Ok(parts) = components(&e.path) else { return };
        if e.kind == EntryKind::Symlink && parts.len() <= 2 {
            let dir = &parts[..parts.len() - 1];
            let target = if e.link.starts_with('/') { e.link.clone() } else { format!("{}/{}", dir.join("/"), e.link) };
            if let Some(t) = clean(&target) {
                self.files.symlinks.insert(parts.join("/"), t);
            }
            return;
        }
        if e.kind != EntryKind::File {
            return;
        }
        let Some(place) = classify(&parts) else { return };
        let path = parts.join("/");
        let limit = match &place {
            Place::Json(_) => JSON_LIMIT,
            Place::MetaDb { .. } => META_DB_LIMIT,
            _ => u64::MAX,
        };
        if e.size > limit {
            self.files
                .too_big
                .push(format!("entry {path:?} is {} bytes, over the import limit of {limit} bytes", e.size));
            return;
        }
        let buf = || Vec::with_capacity(e.size as usize);
        let writer = || match upload {
            Some(u) => BlobWriter::for_upload_range(u, e.data_offset, e.size),
            None => BlobWriter::new(),
        };
        let blob = |expected| {
            let scan = self.scan_layers.then(LayerScanner::new);
            Sink::Blob { path: path.clone(), expected, size: e.size, writer: writer(), head: Head::default(), scan }
        };
        self.sink = Some(match place {
            Place::Json(file) => Sink::Json { file, buf: buf() },
            Place::MetaDb { root } => Sink::MetaDb { root, buf: buf() },
            Place::Blob { expected } => blob(expected),
            Place::File => blob(None),
            Place::Content { root, digest } => Sink::Content { root, path, digest, size: e.size, writer: writer() },
        });
    }

    /// Takes a piece of the current entry's data.
    pub(crate) async fn data<B: Backend>(&mut self, b: &B, bytes: &[u8]) -> Result<()> {
        match &mut self.sink {
            None => Ok(()),
            Some(Sink::Json { buf, .. } | Sink::MetaDb { buf, .. }) => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
            Some(Sink::Blob { writer, head, scan, .. }) => {
                writer.write(b, bytes).await?;
                head.feed(bytes);
                match scan {
                    Some(scan) => scan.feed(b, bytes).await,
                    None => Ok(()),
                }
            }
            Some(Sink::Content { writer, .. }) => writer.write(b, bytes).await,
        }
    }

    /// Ends the current entry: verifies and files it.
    pub(crate) async fn end<B: Backend>(&mut self, b: &B) -> Result<()> {
        match self.sink.take() {
            None => {}
            Some(Sink::Json { file, buf }) => {
                let slot = match file {
                    JsonFile::OciLayout => &mut self.files.oci_layout,
                    JsonFile::Index => &mut self.files.index_json,
                    JsonFile::Manifest => &mut self.files.manifest_json,
                };
                *slot = Some(buf);
            }
            Some(Sink::MetaDb { root, buf }) => self.files.roots.entry(root).or_default().meta_db = Some(buf),
            Some(Sink::Blob { path, expected, size, writer, head, scan }) => {
                let staged = match writer.finish(b, expected.as_ref(), Some(size)).await {
                    Ok(staged) => staged,
                    Err(e) => {
                        if let Some(scan) = scan {
                            scan.abandon(b).await?;
                        }
                        return Err(e.context(format!("entry {path:?}")));
                    }
                };
                let layer = match scan {
                    Some(scan) => Some(scan.finish(b, &staged).await?),
                    None => None,
                };
                self.staged += 1;
                self.files.facts.insert(staged.set.clone(), FileFacts { compression: head.compression(), layer });
                if let Some(old) = self.files.files.insert(path, staged) {
                    let facts = self.files.facts.remove(&old.set);
                    self.replaced.extend(facts.as_ref().and_then(FileFacts::tar_split_set).map(str::to_string));
                    self.replaced.push(old.set);
                }
            }
            Some(Sink::Content { root, path, digest, size, writer }) => {
                let staged = writer
                    .finish(b, Some(&digest), Some(size))
                    .await
                    .map_err(|e| e.context(format!("entry {path:?}")))?;
                self.staged += 1;
                if let Some(old) = self.files.roots.entry(root).or_default().blobs.insert(digest, staged) {
                    self.replaced.push(old.set);
                }
            }
        }
        for set in std::mem::take(&mut self.replaced) {
            blobs::discard(b, &set).await?;
        }
        Ok(())
    }

    /// Whether anything of an archive format was seen (else the tarball is left to the
    /// Docker image store importer).
    pub(crate) fn found_archive(&self) -> bool {
        !self.files.is_empty()
    }

    /// Archive documents (manifest.json, index.json, meta.db) that were over their size limit.
    pub(crate) fn too_big(&self) -> &[String] {
        &self.files.too_big
    }

    /// The top-level `manifest.json`, if one streamed past.
    pub(crate) fn manifest_json(&self) -> Option<&[u8]> {
        self.files.manifest_json.as_deref()
    }

    /// Hands over what was collected (the collector is left empty).
    pub(crate) fn take(&mut self) -> ArchiveFiles {
        std::mem::take(&mut self.files)
    }

    /// Deletes every staged chunk set, including a half-written one.
    pub(crate) async fn discard_all<B: Backend>(&mut self, b: &B) -> Result<()> {
        let mut sets = self.files.staged_sets();
        sets.append(&mut self.replaced);
        match self.sink.take() {
            Some(Sink::Blob { writer, scan, .. }) => {
                // A writer whose host digest failed has discarded its own set: the rest of
                // what is staged must still go.
                if let Ok(staged) = writer.finish(b, None, None).await {
                    sets.push(staged.set);
                }
                if let Some(scan) = scan {
                    scan.abandon(b).await?;
                }
            }
            Some(Sink::Content { writer, .. }) => {
                if let Ok(staged) = writer.finish(b, None, None).await {
                    sets.push(staged.set);
                }
            }
            _ => {}
        }
        self.files = ArchiveFiles::default();
        for set in sets {
            blobs::discard(b, &set).await?;
        }
        Ok(())
    }
}

/// Reads a whole staged blob, refusing one over `limit` bytes (what it is, for the message).
pub(crate) async fn read_small<B: Backend>(b: &B, blob: &StagedBlob, limit: u64, what: &str) -> Result<Vec<u8>> {
    if blob.size > limit {
        return Err(Error::unsupported(format!(
            "{what} ({}) is {} bytes, over the {limit}-byte limit",
            blob.digest, blob.size
        )));
    }
    blobs::read_staged(b, blob, 0, blob.size).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_like_go_path_clean() {
        assert_eq!(clean("./a/../b/layer.tar").as_deref(), Some("b/layer.tar"));
        assert_eq!(clean("a/./b/").as_deref(), Some("a/b"));
        assert_eq!(clean("../x"), None);
    }

    #[test]
    fn classifies_archive_entries() {
        let hex = "a".repeat(64);
        assert!(matches!(classify(&["oci-layout"]), Some(Place::Json(JsonFile::OciLayout))));
        assert!(matches!(classify(&["blobs", "sha256", &hex]), Some(Place::Blob { expected: Some(_) })));
        assert!(matches!(classify(&["x", "layer.tar"]), Some(Place::File)));
        assert!(classify(&["x", "json"]).is_none());
        assert!(matches!(
            classify(&["var", "lib", "containerd", METADATA_DIR, "meta.db"]),
            Some(Place::MetaDb { root }) if root == "var/lib/containerd/"
        ));
        assert!(matches!(
            classify(&[CONTENT_DIR, "blobs", "sha256", &hex]),
            Some(Place::Content { root, .. }) if root.is_empty()
        ));
        assert!(classify(&["imagedb", "content", "sha256", &hex]).is_none());
    }
}
