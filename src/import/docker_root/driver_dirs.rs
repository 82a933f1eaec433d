//! The graph driver's layer folders in an upload of a whole `/var/lib/docker`: where a layer's
//! files are (`overlay2/<cache-id>/diff/`, `aufs/diff/<cache-id>/`, `vfs/dir/<cache-id>/`),
//! and a collector that keeps their file bytes while the upload streams.
//!
//! The upload's order is the host's directory order, not the layer tar's, and the driver
//! folders may come before or after `image/<driver>/` (which says which folder is which
//! layer). So file bytes are spooled, in arrival order, into one staged blob (storage, not
//! memory), with an index path → (offset, length); the layer tars are put together from it
//! at the end ([`super::layer_rebuild`]). Memory: the index (one entry per regular file under
//! a driver folder: its path and two numbers) plus one chunk of the spool writer.
//!
//! Every regular file under a driver folder is spooled, not only those under `diff/`: a tar
//! of a host stores a second name of a file as a hard link to the first name it met, which
//! may be in a container's `merged/` folder.

use super::paths::components;
use crate::error::Result;
use crate::import::stream::tar::{EntryKind, TarEntry};
use crate::storage::blobs::{self, BlobWriter, StagedBlob};
use crate::storage::Backend;
use std::collections::{HashMap, HashSet};

/// The graph drivers whose layer folders hold a layer's files as plain files.
pub(crate) const DRIVERS: [&str; 3] = ["overlay2", "aufs", "vfs"];

/// Where the layer with `cache_id` keeps its files, below the Docker root, for `driver`
/// (`None`: a driver whose folders we cannot read, e.g. btrfs or overlay).
pub(crate) fn layer_dir(driver: &str, cache_id: &str) -> Option<String> {
    if cache_id.is_empty() || cache_id.contains('/') || cache_id == "." || cache_id == ".." {
        return None;
    }
    match driver {
        "overlay2" => Some(format!("overlay2/{cache_id}/diff")),
        "aufs" => Some(format!("aufs/diff/{cache_id}")),
        "vfs" => Some(format!("vfs/dir/{cache_id}")),
        _ => None,
    }
}

/// The layer folder an upload path lies in (its components up to the folder), if any.
fn layer_dir_len(parts: &[&str]) -> Option<usize> {
    let i = driver_index(parts)?;
    let ok = matches!(
        (parts[i], parts.get(i + 1), parts.get(i + 2)),
        ("overlay2", Some(_), Some(&"diff")) | ("aufs", Some(&"diff"), Some(_)) | ("vfs", Some(&"dir"), Some(_))
    );
    ok.then_some(i + 3)
}

/// Index of the first driver folder component (not the `image/<driver>/` store folder).
fn driver_index(parts: &[&str]) -> Option<usize> {
    parts.iter().enumerate().position(|(i, c)| DRIVERS.contains(c) && (i == 0 || parts[i - 1] != "image"))
}

/// Where a spooled file's bytes are in the spool blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spooled {
    pub offset: u64,
    pub len: u64,
}

/// What the collector kept, once the upload ended.
#[derive(Debug, Default)]
pub(crate) struct Spool {
    /// The spooled bytes (staged, never published: discard it when done).
    pub blob: Option<StagedBlob>,
    /// By normalised upload path (components joined with `/`).
    pub files: HashMap<String, Spooled>,
    /// Layer folders that had at least one entry, by normalised upload path.
    pub dirs: HashSet<String>,
}

impl Spool {
    /// Deletes the spooled bytes.
    pub(crate) async fn discard<B: Backend>(&mut self, b: &B) -> Result<()> {
        match self.blob.take() {
            Some(blob) => blobs::discard(b, &blob.set).await,
            None => Ok(()),
        }
    }
}

/// Fed every upload entry; spools the file bytes of driver folders.
#[derive(Default)]
pub(crate) struct DriverFiles {
    writer: Option<BlobWriter>,
    files: HashMap<String, Spooled>,
    dirs: HashSet<String>,
    /// The file being spooled: its path and where its bytes start.
    current: Option<(String, u64)>,
}

impl DriverFiles {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn entry(&mut self, e: &TarEntry) {
        self.current = None;
        let Ok(parts) = components(&e.path) else { return };
        if driver_index(&parts).is_none() {
            return;
        }
        if let Some(n) = layer_dir_len(&parts) {
            if !self.dirs.contains(&parts[..n].join("/")) {
                self.dirs.insert(parts[..n].join("/"));
            }
        }
        let path = parts.join("/");
        match e.kind {
            EntryKind::File if e.size > 0 => {
                let at = self.writer.get_or_insert_with(BlobWriter::new).written();
                self.current = Some((path, at));
            }
            EntryKind::File => drop(self.files.insert(path, Spooled { offset: 0, len: 0 })),
            EntryKind::HardLink => {
                let target = components(&e.link).map(|p| p.join("/"));
                if let Some(loc) = target.ok().and_then(|t| self.files.get(&t).copied()) {
                    self.files.insert(path, loc);
                }
            }
            _ => {}
        }
    }

    pub(crate) async fn data<B: Backend>(&mut self, b: &B, bytes: &[u8]) -> Result<()> {
        match (&self.current, &mut self.writer) {
            (Some(_), Some(w)) => w.write(b, bytes).await,
            _ => Ok(()),
        }
    }

    pub(crate) fn end(&mut self) {
        if let (Some((path, start)), Some(w)) = (self.current.take(), &self.writer) {
            self.files.insert(path, Spooled { offset: start, len: w.written() - start });
        }
    }

    /// Ends the upload: the spool, staged.
    pub(crate) async fn finish<B: Backend>(&mut self, b: &B) -> Result<Spool> {
        let blob = match self.writer.take() {
            Some(w) => Some(w.finish(b, None, None).await?),
            None => None,
        };
        Ok(Spool { blob, files: std::mem::take(&mut self.files), dirs: std::mem::take(&mut self.dirs) })
    }

    /// Gives up: deletes what was spooled.
    pub(crate) async fn discard<B: Backend>(&mut self, b: &B) -> Result<()> {
        self.files.clear();
        match self.writer.take() {
            Some(w) => w.abort(b).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_folders_of_each_driver() {
        let dir = |p: &str| {
            let parts = components(p).unwrap();
            layer_dir_len(&parts).map(|n| parts[..n].join("/"))
        };
        assert_eq!(dir("docker/overlay2/abc/diff/etc/passwd").as_deref(), Some("docker/overlay2/abc/diff"));
        assert_eq!(dir("./aufs/diff/abc/bin/sh").as_deref(), Some("aufs/diff/abc"));
        assert_eq!(dir("/var/lib/docker/vfs/dir/abc").as_deref(), Some("var/lib/docker/vfs/dir/abc"));
        assert_eq!(dir("docker/overlay2/abc/merged/etc/passwd"), None);
        assert_eq!(dir("docker/image/overlay2/layerdb/sha256/x/diff"), None, "the store folder is not a driver folder");
        assert_eq!(layer_dir("overlay2", "c1").as_deref(), Some("overlay2/c1/diff"));
        assert_eq!(layer_dir("aufs", "c1").as_deref(), Some("aufs/diff/c1"));
        assert_eq!(layer_dir("vfs", "c1").as_deref(), Some("vfs/dir/c1"));
        assert_eq!(layer_dir("btrfs", "c1"), None);
        assert_eq!(layer_dir("vfs", "../x"), None);
    }
}
