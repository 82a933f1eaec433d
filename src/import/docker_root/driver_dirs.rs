//! The graph driver's layer folders in an upload of a whole `/var/lib/docker`: where a layer's
//! files are (`overlay2/<cache-id>/diff/`, `aufs/diff/<cache-id>/`, `vfs/dir/<cache-id>/`,
//! `overlay/<cache-id>/root|upper/`, `btrfs/subvolumes/<cache-id>/`, `zfs/graph/<cache-id>/`,
//! `devicemapper/mnt/<cache-id>/rootfs/`: [`layer_dirs`]),
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
//! may be in a container's `merged/` folder. Except: once the layer store's `cache-id` files
//! of a store have streamed past (a tar holds a folder's entries together, so `layerdb/` is
//! over when an entry outside it comes), a layer folder no layer names (a container's, a
//! leftover) is not spooled. Should an upload interleave them after all, a layer missed that
//! way is reported like any layer whose files are missing.

use super::paths::components;
use crate::error::Result;
use crate::import::stream::tar::{EntryKind, TarEntry};
use crate::storage::blobs::{self, BlobWriter, StagedBlob};
use crate::storage::Backend;
use std::collections::{HashMap, HashSet};

/// The graph drivers whose layer folders can give a layer's file bytes (moby's
/// `daemon/graphdriver/*`). overlay2 and aufs keep each layer's own files (a diff: deleted
/// files are whiteouts there); vfs, btrfs, zfs, devicemapper and overlay (v1) image layers keep
/// a full snapshot of the layer's filesystem. Either serves: the tar-split names every member
/// of the layer tar, and each member's bytes are the file of that name in the folder.
pub(crate) const DRIVERS: [&str; 7] = ["overlay2", "aufs", "vfs", "overlay", "btrfs", "zfs", "devicemapper"];

/// Where the layer with `cache_id` may keep its files below the Docker root, for `driver`,
/// the likelier first (empty: an unknown driver, or a `cache-id` that is no folder name).
/// overlay (v1): an image layer applied on a parent with a `root` is a full `root/` (hard links
/// to the parent's files plus the diff); a layer applied the naive way (the base layer, or a
/// parent without `root`) holds its diff in `upper/`. zfs mounts a layer's dataset at
/// `zfs/graph/<first 12 characters of the id>` (moby's `getMountpoint`), and devicemapper at
/// `devicemapper/mnt/<id>/rootfs`, only while the layer is mounted.
pub(crate) fn layer_dirs(driver: &str, cache_id: &str) -> Vec<String> {
    if cache_id.is_empty() || cache_id.contains('/') || cache_id == "." || cache_id == ".." {
        return Vec::new();
    }
    match driver {
        "overlay2" => vec![format!("overlay2/{cache_id}/diff")],
        "aufs" => vec![format!("aufs/diff/{cache_id}")],
        "vfs" => vec![format!("vfs/dir/{cache_id}")],
        "overlay" => vec![format!("overlay/{cache_id}/root"), format!("overlay/{cache_id}/upper")],
        "btrfs" => vec![format!("btrfs/subvolumes/{cache_id}")],
        "zfs" => vec![format!("zfs/graph/{}", zfs_mountpoint(cache_id))],
        "devicemapper" => vec![format!("devicemapper/mnt/{cache_id}/rootfs")],
        _ => Vec::new(),
    }
}

/// moby's zfs `getMountpoint` on Linux: the id cut to 12 characters, a `-suffix` kept.
fn zfs_mountpoint(id: &str) -> String {
    let (head, suffix) = id.split_once('-').map_or((id, None), |(h, s)| (h, Some(s)));
    let head: String = head.chars().take(12).collect();
    match suffix {
        Some(s) => format!("{head}-{s}"),
        None => head,
    }
}

/// Why a layer of `driver` has no folder in the upload.
pub(crate) fn missing_reason(driver: &str) -> &'static str {
    match driver {
        "devicemapper" => {
            "devicemapper keeps the layer as a thin device in its pool (devicemapper/devicemapper/data), which \
             cannot be read from an upload; only a layer mounted at devicemapper/mnt/<id>/rootfs when the tarball \
             was made can be, and this one was not"
        }
        "zfs" => "the layer's zfs dataset was not mounted at zfs/graph/<id> when the tarball was made",
        _ => "the layer folder is not in the upload",
    }
}

/// The layer folder an upload path lies in (its components up to the folder), if any.
fn layer_dir_len(parts: &[&str]) -> Option<usize> {
    let i = driver_index(parts)?;
    let at = |k: usize| parts.get(i + k).copied();
    let len = match (parts[i], at(1), at(2), at(3)) {
        ("overlay2", Some(_), Some("diff"), _)
        | ("aufs", Some("diff"), Some(_), _)
        | ("vfs", Some("dir"), Some(_), _)
        | ("overlay", Some(_), Some("root" | "upper"), _)
        | ("btrfs", Some("subvolumes"), Some(_), _)
        | ("zfs", Some("graph"), Some(_), _) => 3,
        ("devicemapper", Some("mnt"), Some(_), Some("rootfs")) => 4,
        _ => return None,
    };
    Some(i + len)
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
    /// Driver folders (`<root>/<driver>`) the upload has anything of.
    pub drivers: HashSet<String>,
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

/// Largest `cache-id` file read (it holds one folder name).
const CACHE_ID_LIMIT: u64 = 4096;

/// Fed every upload entry; spools the file bytes of driver folders.
#[derive(Default)]
pub(crate) struct DriverFiles {
    writer: Option<BlobWriter>,
    files: HashMap<String, Spooled>,
    dirs: HashSet<String>,
    drivers: HashSet<String>,
    /// The file being spooled: its path and where its bytes start.
    current: Option<(String, u64)>,
    /// A `cache-id` file being read: the driver folder it is for (`<root>/<driver>`), its bytes.
    cache_id: Option<(String, Vec<u8>)>,
    /// Layer folders named by the `cache-id` files read so far.
    named_dirs: HashSet<String>,
    /// The `layerdb/` folder whose `cache-id` files are being read, and its driver folder.
    open_layerdb: Option<(String, String)>,
    /// Driver folders (`<root>/<driver>`) whose layer store has streamed past.
    layerdb_done: HashSet<String>,
}

impl DriverFiles {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn entry(&mut self, e: &TarEntry) {
        self.current = None;
        self.cache_id = None;
        let Ok(parts) = components(&e.path) else { return };
        let path = parts.join("/");
        if let Some((layerdb, driver_dir)) = &self.open_layerdb {
            if !path.starts_with(layerdb.as_str()) {
                self.layerdb_done.insert(driver_dir.clone());
                self.open_layerdb = None;
            }
        }
        if let [root @ .., "image", driver, "layerdb", "sha256", _, "cache-id"] = parts.as_slice() {
            if DRIVERS.contains(driver) && e.kind == EntryKind::File && e.size <= CACHE_ID_LIMIT {
                let driver_dir: String = root.iter().chain([driver]).copied().collect::<Vec<_>>().join("/");
                let layerdb = path[..path.len() - parts[parts.len() - 2..].join("/").len()].to_string();
                self.open_layerdb = Some((layerdb, driver_dir.clone()));
                self.cache_id = Some((driver_dir, Vec::new()));
            }
            return;
        }
        let Some(i) = driver_index(&parts) else { return };
        if !self.drivers.contains(&parts[..=i].join("/")) {
            self.drivers.insert(parts[..=i].join("/"));
        }
        if let Some(n) = layer_dir_len(&parts) {
            let dir = parts[..n].join("/");
            let driver_dir = parts[..=i].join("/");
            if self.layerdb_done.contains(&driver_dir) && !self.named_dirs.contains(&dir) {
                return; // a folder no layer uses
            }
            if !self.dirs.contains(&dir) {
                self.dirs.insert(dir);
            }
        }
        match e.kind {
            EntryKind::File if e.size > 0 => {
                let at = self.writer.get_or_insert_with(BlobWriter::new).written();
                self.current = Some((path, at));
            }
            EntryKind::File => drop(self.files.insert(path, Spooled { offset: 0, len: 0 })),
            EntryKind::Hardlink => {
                let target = components(&e.link).map(|p| p.join("/"));
                if let Some(loc) = target.ok().and_then(|t| self.files.get(&t).copied()) {
                    self.files.insert(path, loc);
                }
            }
            _ => {}
        }
    }

    pub(crate) async fn data<B: Backend>(&mut self, b: &B, bytes: &[u8]) -> Result<()> {
        if let Some((_, buf)) = &mut self.cache_id {
            buf.extend_from_slice(bytes);
        }
        match (&self.current, &mut self.writer) {
            (Some(_), Some(w)) => w.write(b, bytes).await,
            _ => Ok(()),
        }
    }

    pub(crate) fn end(&mut self) {
        if let Some((driver_dir, bytes)) = self.cache_id.take() {
            let (root, driver) = driver_dir.rsplit_once('/').map_or(("", driver_dir.as_str()), |(r, d)| (r, d));
            let cache_id = String::from_utf8_lossy(&bytes).trim().to_string();
            for dir in layer_dirs(driver, &cache_id) {
                self.named_dirs.insert(if root.is_empty() { dir } else { format!("{root}/{dir}") });
            }
        }
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
        Ok(Spool {
            blob,
            files: std::mem::take(&mut self.files),
            dirs: std::mem::take(&mut self.dirs),
            drivers: std::mem::take(&mut self.drivers),
        })
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
        assert_eq!(dir("docker/overlay/abc/root/bin/sh").as_deref(), Some("docker/overlay/abc/root"));
        assert_eq!(dir("docker/overlay/abc/upper/x").as_deref(), Some("docker/overlay/abc/upper"));
        assert_eq!(dir("docker/overlay/abc/merged/x"), None);
        assert_eq!(dir("btrfs/subvolumes/abc/etc").as_deref(), Some("btrfs/subvolumes/abc"));
        assert_eq!(dir("zfs/graph/abcdefabcdef/etc").as_deref(), Some("zfs/graph/abcdefabcdef"));
        assert_eq!(dir("devicemapper/mnt/abc/rootfs/etc").as_deref(), Some("devicemapper/mnt/abc/rootfs"));
        assert_eq!(dir("devicemapper/mnt/abc/id"), None);
        assert_eq!(dir("devicemapper/devicemapper/data"), None);
        assert_eq!(dir("docker/image/overlay2/layerdb/sha256/x/diff"), None, "the store folder is not a driver folder");
        assert_eq!(layer_dirs("overlay2", "c1"), ["overlay2/c1/diff"]);
        assert_eq!(layer_dirs("aufs", "c1"), ["aufs/diff/c1"]);
        assert_eq!(layer_dirs("vfs", "c1"), ["vfs/dir/c1"]);
        assert_eq!(layer_dirs("overlay", "c1"), ["overlay/c1/root", "overlay/c1/upper"]);
        assert_eq!(layer_dirs("btrfs", "c1"), ["btrfs/subvolumes/c1"]);
        let id = "4febd3792a1fb2153108b4fa50161c6ee5e3d16aa483a63215f936a113a88e9a";
        assert_eq!(layer_dirs("zfs", id), ["zfs/graph/4febd3792a1f"]);
        assert_eq!(layer_dirs("zfs", &format!("{id}-init")), ["zfs/graph/4febd3792a1f-init"]);
        assert_eq!(layer_dirs("devicemapper", "c1"), ["devicemapper/mnt/c1/rootfs"]);
        assert!(layer_dirs("windowsfilter", "c1").is_empty());
        assert!(layer_dirs("vfs", "../x").is_empty());
    }

    fn feed(d: &mut DriverFiles, b: &crate::storage::memory::MemoryBackend, path: &str, data: &[u8]) {
        let e = TarEntry {
            path: path.into(),
            kind: EntryKind::File,
            size: data.len() as u64,
            offset: 0,
            data_offset: 512,
            link: String::new(),
        };
        d.entry(&e);
        futures::executor::block_on(d.data(b, data)).unwrap();
        d.end();
    }

    #[test]
    fn after_the_layer_store_only_named_layer_folders_are_spooled() {
        let b = crate::storage::memory::MemoryBackend::new();
        let mut d = DriverFiles::new();
        feed(&mut d, &b, "docker/overlay2/early/diff/a", b"before the layer store: kept");
        feed(&mut d, &b, "docker/image/overlay2/layerdb/sha256/aa/cache-id", b"c1");
        feed(&mut d, &b, "docker/image/overlay2/layerdb/sha256/aa/diff", b"sha256:..");
        feed(&mut d, &b, "docker/image/overlay2/repositories.json", b"{}");
        feed(&mut d, &b, "docker/overlay2/c1/diff/b", b"named by a cache-id: kept");
        feed(&mut d, &b, "docker/overlay2/c2/diff/c", b"named by no layer: dropped");
        feed(&mut d, &b, "docker/overlay2/c2/merged/d", b"not a layer folder: kept (hard link targets)");
        let spool = futures::executor::block_on(d.finish(&b)).unwrap();
        let mut kept: Vec<_> = spool.files.keys().cloned().collect();
        kept.sort();
        assert_eq!(kept, ["docker/overlay2/c1/diff/b", "docker/overlay2/c2/merged/d", "docker/overlay2/early/diff/a"]);
        assert!(spool.dirs.contains("docker/overlay2/c1/diff") && !spool.dirs.contains("docker/overlay2/c2/diff"));
        let c1 = spool.files["docker/overlay2/c1/diff/b"];
        let bytes =
            futures::executor::block_on(blobs::read_staged(&b, spool.blob.as_ref().unwrap(), c1.offset, c1.len));
        assert_eq!(bytes.unwrap(), b"named by a cache-id: kept");
    }
}
