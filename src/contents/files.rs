//! Reading one file of an image: the merged filesystem is rebuilt from the layers'
//! tar-splits with each file's data offset in its layer tar (so a plain stored layer is read
//! by range, no scan), whiteouts applied as overlay2 shows them, then the path is resolved
//! like the kernel would inside the image's root: symlinks followed (absolute ones from the
//! image root, `..` never above it, at most 40 hops), hard links to the entry they name.

use super::layer_reader::LayerReader;
use crate::digest::{chain_id, Digest};
use crate::docker::layer_blobs::{Compression, LayerBlobRecord};
use crate::docker::layer_files::read_tar_split_entries;
use crate::error::{Error, Result};
use crate::formats::tar_split::{EntryKind, TarEntry, Whiteout};
use crate::storage::blobs::{self, BlobRecord, CHUNK_SIZE};
use crate::storage::Backend;
use crate::store::Store;
use std::cell::RefCell;
use std::collections::{btree_map, BTreeMap, VecDeque};
use std::ops::Bound;
use std::rc::Rc;

/// Linux's limit on symlinks followed in one lookup (`ELOOP`).
const MAX_HOPS: usize = 40;

/// One path of the merged filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Index of the layer the entry comes from.
    pub layer: usize,
    pub kind: EntryKind,
    /// For files (and hard links, resolved to their target): where the bytes are.
    pub offset: u64,
    pub size: u64,
    /// Symlink target (as stored) or an unresolved hard link's target path.
    pub link: String,
    /// The layer tar's header of this path (`None` for a folder the tar only implies).
    pub entry: Option<Rc<TarEntry>>,
}

/// `./etc/`, `etc`, `/etc/` → `/etc`; `./` → `/`.
fn clean(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    for part in name.split('/').filter(|p| !p.is_empty() && *p != ".") {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Removes every path below `dir` (not `dir` itself). `prefix` is a scratch buffer, so that
/// the common case, nothing below, allocates nothing.
fn remove_below(view: &mut BTreeMap<String, Node>, dir: &str, prefix: &mut String) {
    prefix.clear();
    prefix.push_str(dir);
    if dir != "/" {
        prefix.push('/');
    }
    let below = |view: &BTreeMap<String, Node>| {
        view.range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix.as_str()))
            .map(|(k, _)| k.clone())
            .collect::<Vec<String>>()
    };
    for k in below(view) {
        view.remove(&k);
    }
}

/// The merged filesystem of an image's layers (bottom first).
#[derive(Debug, Default)]
pub struct MergedTree {
    nodes: BTreeMap<String, Node>,
}

impl MergedTree {
    /// Builds the tree from each layer's entries (bottom first; each with its data offset).
    /// With `keep_headers` each node keeps a copy of its layer tar entry ([`Node::entry`]);
    /// reading a file needs none of it.
    pub fn build(layers: &[&[TarEntry]], keep_headers: bool) -> MergedTree {
        let mut view: BTreeMap<String, Node> = BTreeMap::new();
        let mut prefix = String::new();
        for (i, entries) in layers.iter().enumerate() {
            // A layer's whiteouts apply to the layers below it, before its own entries.
            let whiteouts: Vec<Option<Whiteout>> = entries.iter().map(TarEntry::whiteout).collect();
            for (e, whiteout) in entries.iter().zip(&whiteouts) {
                match whiteout {
                    Some(Whiteout::Deleted(target)) => {
                        let target = clean(target);
                        remove_below(&mut view, &target, &mut prefix);
                        view.remove(&target);
                    }
                    Some(Whiteout::Opaque) => {
                        let marker = clean(&e.name());
                        let dir = marker.rsplit_once('/').map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
                        remove_below(&mut view, dir, &mut prefix);
                    }
                    _ => {}
                }
            }
            // This layer's own files by path, for its hard links (kept only if it has any).
            let has_hardlinks = entries.iter().any(|e| e.kind == EntryKind::Hardlink);
            let mut own: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            for (e, _) in entries.iter().zip(&whiteouts).filter(|(_, w)| w.is_none()) {
                let offset = &e.data_offset;
                let path = clean(&e.name());
                let size = e.size.max(0) as u64;
                let mut node = Node {
                    layer: i,
                    kind: e.kind,
                    offset: *offset,
                    size,
                    link: String::new(),
                    entry: keep_headers.then(|| Rc::new(e.clone())),
                };
                match e.kind {
                    EntryKind::File if has_hardlinks => {
                        own.insert(path.clone(), (*offset, size));
                    }
                    EntryKind::Symlink => node.link = e.linkname().into_owned(),
                    EntryKind::Hardlink => {
                        let target = clean(&e.linkname());
                        match own.get(&target) {
                            Some(&(offset, size)) => {
                                node = Node { kind: EntryKind::File, offset, size, ..node };
                                own.insert(path.clone(), (offset, size));
                            }
                            None => node.link = target,
                        }
                    }
                    _ => {}
                }
                // Tars need not list a file's folders: they exist implicitly. A folder that is
                // there has all of its own folders already.
                let mut dir = path.as_str();
                while let Some((parent, _)) = dir.rsplit_once('/').filter(|(p, _)| !p.is_empty()) {
                    if view.contains_key(parent) {
                        break;
                    }
                    view.insert(
                        parent.to_string(),
                        Node { layer: i, kind: EntryKind::Dir, offset: 0, size: 0, link: String::new(), entry: None },
                    );
                    dir = parent;
                }
                // A path replaced by anything but a folder loses what was below it (only a path
                // that was already there can have anything below it).
                let replaces_with_non_dir = node.kind != EntryKind::Dir;
                match view.entry(path) {
                    btree_map::Entry::Vacant(slot) => {
                        slot.insert(node);
                    }
                    btree_map::Entry::Occupied(mut slot) => {
                        slot.insert(node);
                        if replaces_with_non_dir {
                            let path = slot.key().clone();
                            remove_below(&mut view, &path, &mut prefix);
                        }
                    }
                }
            }
        }
        MergedTree { nodes: view }
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// `dir` (cleaned) and every path below it, in path order.
    pub fn below<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = (&'a String, &'a Node)> + 'a {
        let prefix = if dir == "/" { "/".to_string() } else { format!("{dir}/") };
        let own = self.nodes.get_key_value(dir).filter(|_| dir != "/");
        let below = self.nodes.range(prefix.clone()..).take_while(move |(k, _)| k.starts_with(&prefix));
        own.into_iter().chain(below.filter(|(k, _)| k.as_str() != "/"))
    }

    /// Resolves `path` to the cleaned path of what it names inside the image, following
    /// symlinks in every component (and in the last one when `follow_last`).
    pub fn resolve(&self, path: &str, follow_last: bool) -> Result<String> {
        let mut todo: VecDeque<String> = path.split('/').map(String::from).collect();
        let mut cur: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = todo.pop_front() {
            match c.as_str() {
                "" | "." => continue,
                ".." => {
                    cur.pop();
                    continue;
                }
                _ => cur.push(c),
            }
            let here = format!("/{}", cur.join("/"));
            let node =
                self.nodes.get(&here).ok_or_else(|| Error::not_found(format!("{path}: no such file ({here})")))?;
            let more = todo.iter().any(|c| !c.is_empty() && c != ".");
            match node.kind {
                EntryKind::Symlink if more || follow_last => {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return Err(Error::invalid(format!("{path}: too many levels of symbolic links")));
                    }
                    cur.pop();
                    if node.link.starts_with('/') {
                        cur.clear();
                    }
                    for c in node.link.split('/').rev() {
                        todo.push_front(c.to_string());
                    }
                }
                EntryKind::Dir => {}
                _ if more => return Err(Error::invalid(format!("{path}: {here} is not a directory"))),
                _ => {}
            }
        }
        Ok(format!("/{}", cur.join("/")))
    }

    /// The regular file `path` names: (layer, offset, size).
    pub fn file(&self, path: &str) -> Result<&Node> {
        let mut at = self.resolve(path, true)?;
        for _ in 0..MAX_HOPS {
            let node = self.nodes.get(&at).ok_or_else(|| Error::not_found(format!("{path}: no such file")))?;
            match node.kind {
                EntryKind::File => return Ok(node),
                // A hard link whose target is in a lower layer: the target's path, no symlinks.
                EntryKind::Hardlink => at = self.resolve(&node.link, false)?,
                EntryKind::Dir => return Err(Error::invalid(format!("{path}: is a directory"))),
                other => return Err(Error::invalid(format!("{path}: not a regular file ({other:?})"))),
            }
        }
        Err(Error::invalid(format!("{path}: too many levels of links")))
    }
}

/// The bytes of one file, pulled in chunks.
pub struct FileReader {
    record: LayerBlobRecord,
    offset: u64,
    size: u64,
    done: u64,
    /// For gzip layers: the inflating reader, positioned by skipping.
    gzip: Option<(LayerReader, u64)>,
    /// For plain layers: the blob's record, read once.
    blob: Option<BlobRecord>,
}

impl FileReader {
    /// The `size` bytes at `offset` of the layer tar `record` keeps.
    pub fn new(record: LayerBlobRecord, offset: u64, size: u64) -> FileReader {
        let gzip = (record.compression == Compression::Gzip).then(|| (LayerReader::new(record.clone(), None), 0));
        FileReader { record, offset, size, done: 0, gzip, blob: None }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub async fn next<B: Backend>(&mut self, b: &B) -> Result<Option<Vec<u8>>> {
        if self.done >= self.size {
            return Ok(None);
        }
        let want = (self.size - self.done).min(CHUNK_SIZE as u64);
        let piece = match &mut self.gzip {
            None => {
                let digest = &self.record.blob;
                if self.blob.is_none() {
                    let rec = blobs::stat(b, digest).await?;
                    self.blob = Some(rec.ok_or_else(|| Error::not_found(format!("content {digest}: not found")))?);
                }
                let rec = self.blob.as_ref().expect("read above");
                blobs::read_range_of(b, digest, rec, self.offset + self.done, want).await?
            }
            Some((reader, pos)) => loop {
                let Some(chunk) = reader.next(b).await? else {
                    return Err(Error::corrupt(format!("layer {}: ends inside a file", self.record.diff_id)));
                };
                let start = *pos;
                *pos += chunk.len() as u64;
                let (from, to) = (self.offset + self.done, self.offset + self.size);
                if *pos <= from {
                    continue;
                }
                let lo = (from - start) as usize;
                let hi = (to.min(*pos) - start) as usize;
                break chunk[lo..hi].to_vec();
            },
        };
        if piece.is_empty() {
            return Err(Error::corrupt(format!("layer {}: ends inside a file", self.record.diff_id)));
        }
        self.done += piece.len() as u64;
        Ok(Some(piece))
    }

    pub async fn read_all<B: Backend>(mut self, b: &B) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.size as usize);
        while let Some(p) = self.next(b).await? {
            out.extend_from_slice(&p);
        }
        Ok(out)
    }
}

/// How many merged trees [`TreeCache`] keeps (the images last read from).
const TREES_KEPT: usize = 4;

/// The merged trees of the images read from last, so reading several files of one image
/// parses its tar-splits once. A tree is keyed by its layers' tar-split digests (bottom
/// first): blobs by digest never change, so an entry can never be stale; an import or `rmi`
/// that gives a chain another tar-split (or none) just makes a new key. Which image a name
/// means, and where its layer tars are, is looked up afresh on every call.
/// A tree is also keyed by whether its entries have their whole headers (see
/// [`Store::merged_tree_with_headers`]).
#[derive(Default)]
pub struct TreeCache {
    trees: RefCell<VecDeque<(TreeKey, Rc<MergedTree>)>>,
}

type TreeKey = (bool, Vec<Digest>);

impl TreeCache {
    fn get(&self, key: &TreeKey) -> Option<Rc<MergedTree>> {
        let mut trees = self.trees.borrow_mut();
        let at = trees.iter().position(|(k, _)| k == key)?;
        let hit = trees.remove(at).expect("found above");
        let tree = hit.1.clone();
        trees.push_front(hit);
        Some(tree)
    }

    fn put(&self, key: TreeKey, tree: Rc<MergedTree>) {
        let mut trees = self.trees.borrow_mut();
        trees.retain(|(k, _)| *k != key);
        trees.push_front((key, tree));
        trees.truncate(TREES_KEPT);
    }
}

impl<B: Backend> Store<B> {
    /// The tar-split digest of each layer of an image, bottom first.
    fn tar_split_digests(&self, diff_ids: &[Digest]) -> Result<Vec<Digest>> {
        let d = self.docker();
        (1..=diff_ids.len())
            .map(|n| {
                let chain = chain_id(&diff_ids[..n]).expect("n ≥ 1");
                let record =
                    d.layers.get(&chain).ok_or_else(|| Error::not_found(format!("layer does not exist: {chain}")))?;
                record.tar_split.clone().ok_or_else(|| {
                    Error::not_found(format!("layer {chain} has no tar-split.json.gz: its file list is unknown"))
                })
            })
            .collect()
    }

    /// The merged filesystem of an image (cached: [`TreeCache`]), from the layers' entries
    /// records: each path's kind, size, owner ids, mode, link and data offset, which is what
    /// reading a file needs; times, owner names, device numbers and xattrs are left empty.
    pub async fn merged_tree(&self, name_or_id: &str) -> Result<(Vec<Digest>, Rc<MergedTree>)> {
        self.merged_tree_from(name_or_id, false).await
    }

    /// [`Store::merged_tree`] with each entry's whole layer tar header, read from the
    /// tar-splits (a folder's tar keeps its members' headers).
    pub async fn merged_tree_with_headers(&self, name_or_id: &str) -> Result<(Vec<Digest>, Rc<MergedTree>)> {
        self.merged_tree_from(name_or_id, true).await
    }

    async fn merged_tree_from(&self, name_or_id: &str, headers: bool) -> Result<(Vec<Digest>, Rc<MergedTree>)> {
        let img = crate::docker::engine::get_image(self.docker(), name_or_id)?;
        let diff_ids = img.config.diff_ids().to_vec();
        let key = (headers, self.tar_split_digests(&diff_ids)?);
        if let Some(tree) = self.tree_cache().get(&key) {
            return Ok((diff_ids, tree));
        }
        let layers = if headers {
            let reader = crate::storage::blobs::BulkReader::new();
            let mut layers = Vec::with_capacity(key.1.len());
            for digest in &key.1 {
                layers.push(Rc::new(read_tar_split_entries(&reader, self.backend(), digest).await?));
            }
            layers
        } else {
            self.tar_split_entries(&key.1).await?
        };
        let tree = Rc::new(MergedTree::build(&layers.iter().map(|l| &l[..]).collect::<Vec<_>>(), headers));
        self.tree_cache().put(key, tree.clone());
        Ok((diff_ids, tree))
    }

    /// Opens the file `path` of an image (the topmost layer that has it, whiteouts honoured,
    /// links resolved inside the image).
    pub async fn read_file(&self, name_or_id: &str, path: &str) -> Result<FileReader> {
        let (diff_ids, tree) = self.merged_tree(name_or_id).await?;
        let node = tree.file(path)?;
        let diff = &diff_ids[node.layer];
        let record = self.docker().contents.get(diff).cloned().ok_or_else(|| {
            Error::precondition(format!(
                "{path} is in layer {} ({diff}), whose contents are not in the store",
                node.layer
            ))
        })?;
        Ok(FileReader::new(record, node.offset, node.size))
    }

    /// Opens layer `index` (0 = bottom) of an image as its tar.
    pub fn read_layer(&self, name_or_id: &str, index: usize) -> Result<LayerReader> {
        let img = crate::docker::engine::get_image(self.docker(), name_or_id)?;
        let diff_ids = img.config.diff_ids();
        let diff = diff_ids.get(index).ok_or_else(|| {
            Error::not_found(format!("image {} has no layer {index} (it has {} layers)", img.id(), diff_ids.len()))
        })?;
        let record = self.docker().contents.get(diff).cloned().ok_or_else(|| {
            Error::precondition(format!(
                "layer {index} ({diff}) of image {}: its contents are not in the store",
                img.id()
            ))
        })?;
        let size = record.size;
        Ok(LayerReader::new(record, Some(size)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &str, kind: EntryKind, link: &str, size: i64, data_offset: u64) -> TarEntry {
        TarEntry { linkname_bytes: link.as_bytes().to_vec(), data_offset, ..TarEntry::for_test(name, kind, size) }
    }

    #[test]
    fn links_resolve_inside_the_image_only() {
        use EntryKind::*;
        let lower = vec![
            e("etc/", Dir, "", 0, 512),
            e("etc/passwd", File, "", 10, 1024),
            e("etc/hard", Hardlink, "etc/passwd", 0, 2048),
            e("up", Symlink, "../../../../etc", 0, 2560),
            e("loop", Symlink, "loop2", 0, 3072),
            e("loop2", Symlink, "/loop", 0, 3584),
            e("abs", Symlink, "/etc/passwd", 0, 4096),
        ];
        let upper = vec![e("etc/.wh.passwd", File, "", 0, 512), e("etc/passwd", File, "", 3, 7168)];
        let t = MergedTree::build(&[&lower], true);
        assert_eq!(t.file("/up/passwd").unwrap().offset, 1024, "a symlink climbing out stays at the root");
        assert_eq!(t.file("/abs").unwrap().offset, 1024);
        assert_eq!(t.file("etc/hard").unwrap().offset, 1024, "hard link to its target's bytes");
        assert!(t.file("/loop").unwrap_err().message.contains("too many levels"));
        assert_eq!(t.resolve("/abs", false).unwrap(), "/abs");
        let t = MergedTree::build(&[&lower, &upper], true);
        let top = t.file("/abs").unwrap();
        assert_eq!((top.layer, top.offset, top.size), (1, 7168, 3), "the topmost layer's file");
        assert_eq!(t.file("/etc/passwd/x").unwrap_err().code, crate::ErrorCode::InvalidArgument);
        // Folders a tar does not list exist implicitly.
        let t = MergedTree::build(&[&[e("data/f.bin", File, "", 5, 512)]], true);
        assert_eq!(t.file("/data/f.bin").unwrap().offset, 512);
    }

    #[test]
    fn upper_layers_replace_remove_and_imply_paths() {
        use EntryKind::*;
        let base = vec![
            e("a/", Dir, "", 0, 0),
            e("a/b", File, "", 1, 512),
            e("a/c/d", File, "", 2, 1024),
            e("keep/", Dir, "", 0, 1536),
            e("keep/old", File, "", 3, 2048),
            e("gone/x/y", File, "", 4, 2560),
        ];
        let middle = vec![
            // A file where a folder was: everything below it goes.
            e("a", File, "", 5, 512),
            // An opaque folder hides what lower layers had in it, not what this layer adds.
            e("keep/.wh..wh..opq", File, "", 0, 1024),
            e("keep/new", File, "", 6, 1536),
            // A whited-out folder goes with all below it.
            e("gone/.wh.x", File, "", 0, 2048),
            // A file in a folder the tar does not list, under a folder a lower layer listed.
            e("keep/deep/er/f", File, "", 7, 2560),
        ];
        let top = vec![e("a/", Dir, "", 0, 512), e("a/z", File, "", 8, 1024)];
        let with = MergedTree::build(&[&base, &middle, &top], true);
        let without = MergedTree::build(&[&base, &middle, &top], false);
        let paths =
            |t: &MergedTree| t.nodes.iter().map(|(p, n)| (p.clone(), n.layer, n.kind, n.offset)).collect::<Vec<_>>();
        assert_eq!(
            paths(&with),
            [
                ("/a".to_string(), 2, Dir, 512),
                ("/a/z".into(), 2, File, 1024),
                ("/gone".into(), 0, Dir, 0),
                ("/keep".into(), 0, Dir, 1536),
                ("/keep/deep".into(), 1, Dir, 0),
                ("/keep/deep/er".into(), 1, Dir, 0),
                ("/keep/deep/er/f".into(), 1, File, 2560),
                ("/keep/new".into(), 1, File, 1536),
            ]
        );
        assert_eq!(paths(&with), paths(&without), "the same tree with or without headers");
        assert!(with.nodes["/keep"].entry.is_some(), "a listed folder keeps its header under new files");
        assert!(with.nodes["/keep/deep"].entry.is_none() && without.nodes.values().all(|n| n.entry.is_none()));
    }
}
