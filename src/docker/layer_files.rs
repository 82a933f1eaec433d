//! File listings of an image's layers, rebuilt from the entries their `tar-split.json.gz` lists
//! (no layer data is needed; the store reads them through its entries records): one layer as
//! its tar lists it, or the merged view a container would see at that layer (lower layers
//! overlaid, whiteouts applied as overlay2 does).

use super::state::DockerState;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::formats::tar_split::{parse_tar_split, EntryKind, TarEntry, Whiteout};
use crate::storage::{blobs, Backend};
use serde::Serialize;
use std::borrow::Borrow;
use std::collections::BTreeMap;

/// Which layer of an image: its index in `rootfs.diff_ids` (0 = bottom) or its DiffID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerSelector {
    Index(usize),
    DiffId(Digest),
}

/// One file of a listing (JavaScript sees the camelCase names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerFileEntry {
    /// Absolute, cleaned path: `/etc/passwd`, `/` for the root.
    pub path: String,
    /// `file`, `dir`, `symlink`, `hardlink`, `char`, `block`, `fifo` or `other`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub size: i64,
    /// Permission and mode bits as stored (`0o4755` for a setuid file).
    pub mode: i64,
    pub uid: i64,
    pub gid: i64,
    pub uname: String,
    pub gname: String,
    /// Modification time, RFC 3339 with nanoseconds.
    pub mtime: String,
    /// Target of a symlink or hardlink, `None` for other types.
    pub linkname: Option<String>,
    pub devmajor: i64,
    pub devminor: i64,
    /// Index of the layer the entry comes from.
    pub layer: usize,
    /// For whiteout markers in a single-layer listing: `deleted`, `opaque` or `meta`.
    pub whiteout: Option<&'static str>,
}

/// `./etc/`, `etc`, `/etc/` → `/etc`; `./` → `/`.
fn clean_path(name: &str) -> String {
    let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    format!("/{}", parts.join("/"))
}

fn entry(layer: usize, e: &TarEntry) -> LayerFileEntry {
    let linked = matches!(e.kind, EntryKind::Symlink | EntryKind::Hardlink);
    LayerFileEntry {
        path: clean_path(&e.name()),
        kind: e.kind.name(),
        size: e.size,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        uname: e.uname.to_string(),
        gname: e.gname.to_string(),
        mtime: e.mtime.to_rfc3339_nano(),
        linkname: linked.then(|| e.linkname().into_owned()),
        devmajor: e.devmajor,
        devminor: e.devminor,
        layer,
        whiteout: e.whiteout().map(|w| match w {
            Whiteout::Deleted(_) => "deleted",
            Whiteout::Opaque => "opaque",
            Whiteout::Meta => "meta",
        }),
    }
}

/// One layer's entries in tar order, whiteout markers included (and flagged).
pub fn single_layer(layer: usize, entries: &[TarEntry]) -> Vec<LayerFileEntry> {
    entries.iter().map(|e| entry(layer, e)).collect()
}

/// `/etc/a` → `/etc`; `/a` → `/`.
fn parent_dir(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((dir, _)) => dir,
    }
}

/// Removes `dir`'s descendants (not `dir` itself) from the view.
fn remove_below(view: &mut BTreeMap<String, LayerFileEntry>, dir: &str) {
    let prefix = if dir == "/" { "/".to_string() } else { format!("{dir}/") };
    let doomed: Vec<String> =
        view.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(k, _)| k.clone()).collect();
    for k in doomed {
        view.remove(&k);
    }
}

/// The union of `layers` (bottom first) as overlay2 shows it, sorted by path: in each layer,
/// `.wh.<name>` deletes `<name>` and its contents from the layers below, `.wh..wh..opq` hides
/// everything below in its directory, and a non-directory replaces a lower directory's contents.
pub fn merged<L: Borrow<Vec<TarEntry>>>(layers: &[L]) -> Vec<LayerFileEntry> {
    let mut view: BTreeMap<String, LayerFileEntry> = BTreeMap::new();
    for (i, entries) in layers.iter().map(Borrow::borrow).enumerate() {
        // Whiteouts act on the lower layers only, so they go before this layer's own entries.
        for e in entries {
            let marker = clean_path(&e.name());
            match e.whiteout() {
                Some(Whiteout::Deleted(target)) => {
                    let target = clean_path(&target);
                    remove_below(&mut view, &target);
                    view.remove(&target);
                }
                Some(Whiteout::Opaque) => remove_below(&mut view, parent_dir(&marker)),
                Some(Whiteout::Meta) | None => {}
            }
        }
        for e in entries.iter().filter(|e| e.whiteout().is_none()) {
            let f = entry(i, e);
            if f.kind != "dir" {
                remove_below(&mut view, &f.path);
            }
            view.insert(f.path.clone(), f);
        }
    }
    view.into_values().collect()
}

/// The index of the selected layer among the `diff_ids` of image `image` (named in the error;
/// default: the top layer; `None` for an image without layers).
pub fn layer_index(image: &str, diff_ids: &[Digest], selector: Option<&LayerSelector>) -> Result<Option<usize>> {
    let (found, wanted) = match selector {
        None => return Ok(diff_ids.len().checked_sub(1)),
        Some(LayerSelector::Index(i)) => ((*i < diff_ids.len()).then_some(*i), i.to_string()),
        Some(LayerSelector::DiffId(d)) => (diff_ids.iter().position(|x| x == d), d.to_string()),
    };
    let missing =
        || Error::not_found(format!("image {image} has no layer {wanted} (it has {} layers)", diff_ids.len()));
    found.map(Some).ok_or_else(missing)
}

/// The entries a layer's `tar-split.json.gz` (the blob `digest`) lists: the one place a
/// tar-split blob is read and parsed; an error names the tar-split.
/// Reading many, pass one `reader` and ask in [`crate::storage::blob_packs::pack_order`].
pub async fn read_tar_split_entries<B: Backend>(
    reader: &blobs::BulkReader,
    backend: &B,
    digest: &Digest,
) -> Result<Vec<TarEntry>> {
    let gz = reader.read_all(backend, digest).await?;
    Ok(parse_tar_split(&gz[..]).map_err(|e| e.context(format!("tar-split {digest}")))?.entries)
}

/// What a listing of an image's files reads: the index of the selected layer and the
/// tar-splits of the layers to read (that layer's, or every layer's up to it for the merged
/// view, bottom first); `None` for an image without layers. `layer` defaults to the top layer.
pub fn listing_tar_splits(
    d: &DockerState,
    name_or_id: &str,
    layer: Option<&LayerSelector>,
    merged_view: bool,
) -> Result<Option<(usize, Vec<Digest>)>> {
    let img = super::engine::get_image(d, name_or_id)?;
    let Some(top) = layer_index(&img.id().to_string(), img.config.diff_ids(), layer)? else { return Ok(None) };
    let first = if merged_view { 0 } else { top };
    let chains = crate::digest::chain_ids(&img.config.diff_ids()[..=top]);
    let mut tar_splits = Vec::with_capacity(top + 1 - first);
    for chain in &chains[first..] {
        let record = d.layers.get(chain).ok_or_else(|| Error::not_found(format!("layer does not exist: {chain}")))?;
        let digest = record.tar_split.as_ref().ok_or_else(|| {
            Error::not_found(format!("layer {chain} has no tar-split.json.gz: its file list is unknown"))
        })?;
        tar_splits.push(digest.clone());
    }
    Ok(Some((top, tar_splits)))
}

/// The files of layer `top` (`merged_view = false`: `layers` is that layer's entries, whiteout
/// markers included), or the merged filesystem at it (`layers`: every layer's up to it).
pub fn listing<L: Borrow<Vec<TarEntry>>>(top: usize, layers: &[L], merged_view: bool) -> Vec<LayerFileEntry> {
    match (merged_view, layers.first()) {
        (true, _) => merged(layers),
        (false, Some(entries)) => single_layer(top, entries.borrow()),
        (false, None) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &str, kind: EntryKind) -> TarEntry {
        TarEntry::for_test(name, kind, 1)
    }

    fn paths(v: &[LayerFileEntry]) -> Vec<(&str, usize)> {
        v.iter().map(|f| (f.path.as_str(), f.layer)).collect()
    }

    #[test]
    fn whiteouts_opaque_dirs_and_replacements() {
        use EntryKind::*;
        let lower = vec![
            e("./", Dir),
            e("etc/", Dir),
            e("etc/a", File),
            e("etc/b", File),
            e("opt/", Dir),
            e("opt/x/", Dir),
            e("opt/x/y", File),
            e("var/", Dir),
            e("var/k", File),
            e("lib", Dir),
            e("lib/z", File),
        ];
        let upper = vec![
            e("etc/", Dir),
            e("etc/.wh.a", File),
            e("etc/c", File),
            e("opt/.wh..wh..opq", File),
            e("opt/n", File),
            e(".wh.var", File),
            e("lib", Symlink),
            e(".wh..wh.plnk", Dir),
        ];
        let v = merged(&[lower, upper.clone()]);
        assert_eq!(
            paths(&v),
            [("/", 0), ("/etc", 1), ("/etc/b", 0), ("/etc/c", 1), ("/lib", 1), ("/opt", 0), ("/opt/n", 1)]
        );
        let one = single_layer(1, &upper);
        assert_eq!(one[1].path, "/etc/.wh.a");
        assert_eq!(one[1].whiteout, Some("deleted"));
        assert_eq!(one[3].whiteout, Some("opaque"));
        assert_eq!(one[7].whiteout, Some("meta"));
        assert_eq!(one[6].linkname.as_deref(), Some(""));
        assert_eq!(one[0].linkname, None);
    }
}
