//! Layer change sets with overlay semantics (OCI image-spec "layer changesets"): in each
//! layer, `.wh.<name>` removes `<name>` and everything below it, `.wh..wh..opq` removes
//! everything below its directory that came from lower layers, and a non-directory over a
//! directory removes the directory's contents. An entry is *modified* when its type, size,
//! mode, owner, link target or content CRC-64 differs from the file below it, so same-size
//! content changes are caught and a directory listed again unchanged is no change at all.

use super::paths::{clean_path, is_within, parent_dir};
use crate::formats::tar_split::{EntryKind, TarEntry, Whiteout};
use serde::Serialize;
use std::collections::BTreeMap;

/// A file as the merged filesystem has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileState {
    pub path: String,
    /// `file`, `dir`, `symlink`, `hardlink`, `char`, `block`, `fifo` or `other`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub size: i64,
    pub mode: i64,
    pub uid: i64,
    pub gid: i64,
    /// Link target of symlinks and hardlinks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkname: Option<String>,
    /// CRC-64 of the content, when the file has any (not part of the JSON).
    #[serde(skip)]
    pub crc64: Option<u64>,
    /// The index of the layer that last added or changed it.
    pub layer: usize,
}

impl FileState {
    fn from_entry(path: String, e: &TarEntry, layer: usize) -> FileState {
        let linked = matches!(e.kind, EntryKind::Symlink | EntryKind::Hardlink);
        FileState {
            path,
            kind: e.kind.name(),
            size: e.size,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            linkname: linked.then(|| e.linkname().into_owned()),
            crc64: e.crc64,
            layer,
        }
    }

    /// Same type, size, mode, owner, link target and content.
    pub fn same_as(&self, other: &FileState) -> bool {
        self.kind == other.kind
            && self.size == other.size
            // Permission and special bits only: some tar writers (Go's archive/tar, so every
            // layer dockerd writes) put the file type bits in the mode field and others (GNU tar,
            // so `docker import`) do not; the type is compared above.
            && self.mode & 0o7777 == other.mode & 0o7777
            && self.uid == other.uid
            && self.gid == other.gid
            && self.linkname == other.linkname
            && self.crc64 == other.crc64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Modified,
    Removed,
}

/// One path a layer changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub path: String,
    pub change: ChangeKind,
    /// The type after the change (before it, for a removal).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The size after the change (before it, for a removal).
    pub size: i64,
    /// How much the merged filesystem grew: `size` when added, new − old when modified,
    /// −old size when removed.
    pub size_delta: i64,
    pub mode: i64,
    pub uid: i64,
    pub gid: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkname: Option<String>,
}

impl Change {
    fn new(change: ChangeKind, now: &FileState, size_delta: i64) -> Change {
        Change {
            path: now.path.clone(),
            change,
            kind: now.kind,
            size: now.size,
            size_delta,
            mode: now.mode,
            uid: now.uid,
            gid: now.gid,
            linkname: now.linkname.clone(),
        }
    }
}

/// What one layer did, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerChangeSet {
    pub changes: Vec<Change>,
    /// Entries of the layer that changed nothing (typically parent directories listed again).
    pub unchanged_entries: usize,
    /// Whiteout markers in the layer (deletions and opaque directories).
    pub whiteouts: usize,
}

/// The merged filesystem, by path (`/` itself is not kept).
pub type Merged = BTreeMap<String, FileState>;

/// Takes `dir`'s descendants (not `dir`) out of `view`.
fn take_below(view: &mut Merged, dir: &str) -> Vec<FileState> {
    let prefix = if dir == "/" { "/".to_string() } else { format!("{dir}/") };
    let doomed: Vec<String> =
        view.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(k, _)| k.clone()).collect();
    doomed.into_iter().filter_map(|k| view.remove(&k)).collect()
}

/// Applies one layer to `view` and says what it changed.
pub fn apply_layer(view: &mut Merged, layer: usize, entries: &[TarEntry]) -> LayerChangeSet {
    // What this layer took away, by path: a path it lists again is then a modification (or
    // nothing), not a removal plus an addition.
    let mut removed: BTreeMap<String, FileState> = BTreeMap::new();
    let mut whiteouts = 0;
    // Whiteouts act on the lower layers only, so they go first.
    for e in entries {
        match e.whiteout() {
            Some(Whiteout::Deleted(target)) => {
                whiteouts += 1;
                let target = clean_path(&target);
                for f in take_below(view, &target).into_iter().chain(view.remove(&target)) {
                    removed.insert(f.path.clone(), f);
                }
            }
            Some(Whiteout::Opaque) => {
                whiteouts += 1;
                for f in take_below(view, parent_dir(&clean_path(&e.name()))) {
                    removed.insert(f.path.clone(), f);
                }
            }
            Some(Whiteout::Meta) | None => {}
        }
    }
    let mut changes = Vec::new();
    let mut unchanged_entries = 0;
    for e in entries.iter().filter(|e| e.whiteout().is_none()) {
        let path = clean_path(&e.name());
        if path == "/" {
            continue;
        }
        let mut now = FileState::from_entry(path.clone(), e, layer);
        if now.kind != "dir" {
            for f in take_below(view, &path) {
                removed.insert(f.path.clone(), f);
            }
        }
        match view.get(&path).cloned().or_else(|| removed.remove(&path)) {
            None => changes.push(Change::new(ChangeKind::Added, &now, now.size)),
            Some(old) if old.same_as(&now) => {
                unchanged_entries += 1;
                now.layer = old.layer;
            }
            Some(old) => changes.push(Change::new(ChangeKind::Modified, &now, now.size - old.size)),
        }
        view.insert(path, now);
    }
    for (_, old) in removed {
        if !view.contains_key(&old.path) {
            changes.push(Change::new(ChangeKind::Removed, &old, -old.size));
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    LayerChangeSet { changes, unchanged_entries, whiteouts }
}

/// Every layer's change set, bottom first.
pub fn layer_changes(layers: &[&[TarEntry]]) -> Vec<LayerChangeSet> {
    let mut view = Merged::new();
    layers.iter().enumerate().map(|(i, entries)| apply_layer(&mut view, i, entries)).collect()
}

/// The merged filesystem of all `layers`, each file with the layer that last changed it.
pub fn merged_tree(layers: &[&[TarEntry]]) -> Merged {
    let mut view = Merged::new();
    for (i, entries) in layers.iter().enumerate() {
        apply_layer(&mut view, i, entries);
    }
    view
}

/// The files of `view` at or below `dir`.
pub fn below<'a>(view: &'a Merged, dir: &'a str) -> impl Iterator<Item = &'a FileState> + 'a {
    view.values().filter(move |f| is_within(&f.path, dir))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn entry(name: &str, kind: EntryKind, size: i64, crc: Option<u64>) -> TarEntry {
        TarEntry { crc64: crc, ..TarEntry::for_test(name, kind, size) }
    }

    fn summary(set: &LayerChangeSet) -> Vec<(&str, ChangeKind, i64)> {
        set.changes.iter().map(|c| (c.path.as_str(), c.change, c.size_delta)).collect()
    }

    #[test]
    fn whiteouts_opaque_dirs_replacements_and_same_size_edits() {
        use ChangeKind::*;
        use EntryKind::*;
        let lower = vec![
            entry("./", Dir, 0, None),
            entry("etc/", Dir, 0, None),
            entry("etc/a", File, 3, Some(1)),
            entry("etc/b", File, 4, Some(2)),
            entry("opt/", Dir, 0, None),
            entry("opt/x/", Dir, 0, None),
            entry("opt/x/y", File, 5, Some(3)),
            entry("var/", Dir, 0, None),
            entry("var/k", File, 6, Some(4)),
            entry("lib/", Dir, 0, None),
            entry("lib/z", File, 7, Some(5)),
        ];
        let mut chmod = entry("etc/b", File, 4, Some(2));
        chmod.mode = 0o600;
        let upper = vec![
            entry("etc/", Dir, 0, None),
            entry("etc/.wh.a", File, 0, None),
            chmod,
            entry("etc/c", File, 1, Some(9)),
            entry("opt/", Dir, 0, None),
            entry("opt/.wh..wh..opq", File, 0, None),
            entry("opt/x/", Dir, 0, None),
            entry(".wh.var", File, 0, None),
            entry("lib", Symlink, 0, None),
        ];
        let same_size_edit = vec![entry("etc/c", File, 1, Some(10)), entry("etc/", Dir, 0, None)];
        let sets = layer_changes(&[&lower, &upper, &same_size_edit]);
        assert_eq!(sets[0].changes.len(), 10);
        assert_eq!(
            summary(&sets[1]),
            [
                ("/etc/a", Removed, -3),
                ("/etc/b", Modified, 0),
                ("/etc/c", Added, 1),
                ("/lib", Modified, 0),
                ("/lib/z", Removed, -7),
                ("/opt/x/y", Removed, -5),
                ("/var", Removed, 0),
                ("/var/k", Removed, -6),
            ]
        );
        // etc/ and opt/ listed again unchanged; opt/x hidden by the opaque marker and listed again.
        assert_eq!((sets[1].unchanged_entries, sets[1].whiteouts), (3, 3));
        assert_eq!(summary(&sets[2]), [("/etc/c", Modified, 0)]);
        let merged = merged_tree(&[&lower, &upper, &same_size_edit]);
        let files: Vec<(&str, usize)> = merged.values().map(|f| (f.path.as_str(), f.layer)).collect();
        assert_eq!(files, [("/etc", 0), ("/etc/b", 1), ("/etc/c", 2), ("/lib", 1), ("/opt", 0), ("/opt/x", 0)]);
        // The deltas add up to the merged size.
        let total: i64 = sets.iter().flat_map(|s| &s.changes).map(|c| c.size_delta).sum();
        assert_eq!(total, merged.values().map(|f| f.size).sum::<i64>());
    }
}
