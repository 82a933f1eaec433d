//! moby's `image.Store` (imagedb): images by ID = sha256 of their exact config bytes, with
//! parent links, children, last-updated and built-locally metadata, a digest set for short-ID
//! search, and one layer-store reference per image on its top layer.
//!
//! The config bytes are a blob stored under the image ID; they are kept in memory too (configs
//! are small) inside the parsed [`ImageConfig`].

use super::layers::{LayerMetadata, LayerStore};
use super::lazy_config::LazyConfig;
use super::model::ImageRecord;
use super::tx::Tx;
use crate::digest::{chain_id, lookup_sha256_keys, Digest, DigestSet, LookupError};
use crate::error::{Error, Result};
use crate::formats::image_config::ImageConfig;
use crate::schema::docker as keys;
use crate::storage::Op;
use imbl::OrdMap;
use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::rc::Rc;

/// One image as the store holds it.
#[derive(Debug, Clone)]
pub struct Image {
    pub record: ImageRecord,
    /// The config with its exact bytes (the image ID is their sha256), parsed on first use
    /// when the image came from the summary.
    pub config: LazyConfig,
    /// ChainID of the top layer; `None` for an image without layers.
    pub top_layer: Option<Digest>,
    children: BTreeSet<Digest>,
    /// The top layer's chain size, once asked (see [`ImageStore::size`]).
    size: OnceCell<i64>,
}

impl Image {
    fn new(record: ImageRecord, config: LazyConfig, top_layer: Option<Digest>) -> Image {
        Image { record, config, top_layer, children: BTreeSet::new(), size: OnceCell::new() }
    }
    pub fn id(&self) -> &Digest {
        &self.record.id
    }
}

/// Persistent maps (`imbl`): copying the store for a mutation shares everything, and a change
/// copies only the path to what it touches.
#[derive(Debug, Clone, Default)]
pub struct ImageStore {
    images: OrdMap<Digest, Image>,
    /// The IDs for short-ID search, made on the first search (opening a store does not pay for
    /// 10,000 inserts it may never use) and kept up to date once made.
    ids: OnceCell<DigestSet>,
}

fn unknown(id: &Digest) -> Error {
    Error::not_found(format!("unrecognized image ID {id}"))
}

fn put_record(tx: &mut Tx, record: &ImageRecord) {
    tx.push(Op::put_record(keys::image(&record.id), &record));
}

/// Checks a config the way `image.Store.Create` does before it registers the image, and
/// returns it with the ChainID of its top layer.
pub fn check_config(raw: &[u8]) -> Result<(ImageConfig, Option<Digest>)> {
    if raw.is_empty() {
        return Err(Error::invalid("invalid empty data"));
    }
    let config = ImageConfig::parse(raw.to_vec())?;
    config.check_history_layers()?;
    let top = chain_id(config.diff_ids());
    Ok((config, top))
}

impl ImageStore {
    pub fn len(&self) -> usize {
        self.images.len()
    }
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }
    pub fn contains(&self, id: &Digest) -> bool {
        self.images.contains_key(id)
    }
    /// Whether both stores hold the same map (one is an unchanged copy of the other). O(1).
    pub fn same_as(&self, other: &ImageStore) -> bool {
        self.images.ptr_eq(&other.images)
    }

    /// `Get`: the image with exactly this ID.
    pub fn get(&self, id: &Digest) -> Result<&Image> {
        self.images.get(id).ok_or_else(|| Error::not_found(format!("No such image: {id}")))
    }

    /// `Map`: every image, by ID.
    pub fn map(&self) -> impl Iterator<Item = &Image> {
        self.images.values()
    }

    /// `Heads`: images without children.
    pub fn heads(&self) -> impl Iterator<Item = &Image> {
        self.images.values().filter(|i| i.children.is_empty())
    }

    /// `Children`: images whose parent is `id` (sorted by ID; moby's order is a map's).
    pub fn children(&self, id: &Digest) -> Vec<Digest> {
        self.images.get(id).map(|i| i.children.iter().cloned().collect()).unwrap_or_default()
    }

    /// The image's size: its top layer's chain size (`Layer.Size()`), 0 without layers. Kept
    /// once known: an image's top layer, and that layer's chain, never change (the image ID
    /// names its config, the config its layers), and the image is dropped with its layer.
    pub fn size(&self, image: &Image, layers: &LayerStore) -> Result<i64> {
        if let Some(&known) = image.size.get() {
            return Ok(known);
        }
        let size = image.top_layer.as_ref().map_or(Ok(0), |t| layers.size(t))?;
        let _ = image.size.set(size);
        Ok(size)
    }

    /// Whether any image has `id` as its parent.
    pub fn has_children(&self, id: &Digest) -> bool {
        self.images.get(id).is_some_and(|i| !i.children.is_empty())
    }

    /// `Search`: resolves a partial ID with digestset semantics.
    pub fn search(&self, term: &str) -> Result<Digest> {
        // Keys sorted as text: when the first and the last are sha256, all are.
        let sha256 = |k: Option<&(Digest, Image)>| k.is_none_or(|(id, _)| id.algorithm() == "sha256");
        let found = if sha256(self.images.get_min()) && sha256(self.images.get_max()) {
            lookup_sha256_keys(term, |probe| self.images.range::<_, Digest>(probe..).map(|(id, _)| id))
        } else {
            let ids = self.ids.get_or_init(|| {
                let mut set = DigestSet::new();
                for id in self.images.keys() {
                    set.insert(id);
                }
                set
            });
            ids.lookup(term)
        };
        found.map_err(|e| match e {
            LookupError::NotFound => Error::not_found(format!("No such image: {term}")),
            LookupError::Ambiguous => Error::ambiguous(format!("ambiguous digest string: {term}")),
        })
    }

    /// `Create`: registers a config (already checked with [`check_config`] and staged as a
    /// blob whose publishing ops are `blob_ops`). An image that exists already is returned as
    /// is; otherwise its top layer must exist, and the image takes one reference on it.
    pub fn create(
        &mut self,
        tx: &mut Tx,
        layers: &mut LayerStore,
        config: Rc<ImageConfig>,
        top: Option<Digest>,
        blob_ops: Vec<Op>,
    ) -> Result<Digest> {
        let id = config.id();
        if self.contains(&id) {
            return Ok(id);
        }
        if let Some(t) = &top {
            layers.acquire(t).map_err(|_| Error::invalid(format!("failed to get layer {t}")))?;
        }
        tx.ops.extend(blob_ops);
        let record = ImageRecord { id: id.clone(), parent: None, last_updated: None, built_locally: false };
        put_record(tx, &record);
        tx.images_changed.push(id.clone());
        self.insert(Image::new(record, LazyConfig::parsed(config), top));
        Ok(id)
    }

    fn insert(&mut self, image: Image) {
        if let Some(ids) = self.ids.get_mut() {
            ids.insert(image.id());
        }
        self.images.insert(image.id().clone(), image);
    }

    /// Adds an image read back from storage or an import, without layer references or
    /// links (see [`ImageStore::relink`]).
    pub(crate) fn insert_loaded(&mut self, record: ImageRecord, config: Rc<ImageConfig>) {
        self.insert_config(record, LazyConfig::parsed(config));
    }

    /// [`ImageStore::insert_loaded`] with a config that may not be parsed yet: its top layer
    /// comes from its facts.
    pub(crate) fn insert_config(&mut self, record: ImageRecord, config: LazyConfig) {
        let top = config.facts().top_layer.clone();
        self.insert(Image::new(record, config, top));
    }

    /// Drops images whose top layer is not in `layers` (moby's restore skips them), and works
    /// out the size of every image kept: on a reopened 10,000-image store the first list's own
    /// lookups of the top layers were a fifth of it.
    pub(crate) fn drop_without_layers(&mut self, layers: &LayerStore) -> Vec<(Digest, String)> {
        let bad: Vec<(Digest, String)> = self
            .images
            .values()
            .filter_map(|i| {
                let t = i.top_layer.as_ref()?;
                if !layers.contains(t) {
                    return Some((i.id().clone(), format!("layer {t} does not exist, image not restored")));
                }
                // A chain that loops is kept and reported by whatever asks for its size, as before.
                let _ = self.size(i, layers);
                None
            })
            .collect();
        for (id, _) in &bad {
            self.images.remove(id);
            if let Some(ids) = self.ids.get_mut() {
                ids.remove(id);
            }
        }
        bad
    }

    /// Rebuilds the children sets from the parent links; a parent that is not loaded is
    /// ignored, as in moby's restore.
    pub(crate) fn relink(&mut self) {
        // Only sets that hold something are cleared (on open none do), and each parent is
        // looked up once: a lookup in the map costs more than the rest of this together.
        let filled: Vec<Digest> =
            self.images.values().filter(|i| !i.children.is_empty()).map(|i| i.id().clone()).collect();
        for id in &filled {
            if let Some(i) = self.images.get_mut(id) {
                i.children.clear();
            }
        }
        let mut links: Vec<(&Digest, &Digest)> =
            self.images.values().filter_map(|i| Some((i.record.parent.as_ref()?, i.id()))).collect();
        links.sort_unstable();
        let by_parent: Vec<(Digest, Vec<Digest>)> = links
            .chunk_by(|a, b| a.0 == b.0)
            .map(|group| (group[0].0.clone(), group.iter().map(|(_, child)| (*child).clone()).collect()))
            .collect();
        for (parent, children) in by_parent {
            if let Some(p) = self.images.get_mut(&parent) {
                p.children.extend(children);
            }
        }
    }

    /// ChainIDs of the top layers of all images (each holds one reference).
    pub(crate) fn top_layers(&self) -> impl Iterator<Item = &Digest> {
        self.images.values().filter_map(|i| i.top_layer.as_ref())
    }

    /// `Delete`: removes the image, unlinks its children and parent, deletes its config blob
    /// and releases its top layer. Returns the layers that were deleted, top first.
    pub fn delete(&mut self, tx: &mut Tx, layers: &mut LayerStore, id: &Digest) -> Result<Vec<LayerMetadata>> {
        let image = self.images.remove(id).ok_or_else(|| unknown(id))?;
        if let Some(ids) = self.ids.get_mut() {
            ids.remove(id);
        }
        for child in &image.children {
            if let Some(c) = self.images.get_mut(child) {
                c.record.parent = None;
                put_record(tx, &c.record);
            }
        }
        if let Some(p) = image.record.parent.as_ref().and_then(|p| self.images.get_mut(p)) {
            p.children.remove(id);
        }
        tx.push(Op::delete_meta(keys::image(id)));
        tx.dead_blobs.push(id.clone());
        tx.images_changed.push(id.clone());
        match &image.top_layer {
            Some(t) => layers.release(tx, t),
            None => Ok(Vec::new()),
        }
    }

    fn get_mut(&mut self, id: &Digest) -> Result<&mut Image> {
        self.images.get_mut(id).ok_or_else(|| unknown(id))
    }

    /// `SetParent`: the parent must be a known image.
    pub fn set_parent(&mut self, tx: &mut Tx, id: &Digest, parent: &Digest) -> Result<()> {
        if !self.contains(parent) {
            return Err(Error::not_found(format!("unknown parent image ID {parent}")));
        }
        let old = self.get_mut(id)?.record.parent.replace(parent.clone());
        if let Some(o) = old.and_then(|o| self.images.get_mut(&o)) {
            o.children.remove(id);
        }
        self.get_mut(parent)?.children.insert(id.clone());
        let record = self.get(id)?.record.clone();
        put_record(tx, &record);
        Ok(())
    }

    /// Fills what an existing image's record lacks from another record of the same image (a
    /// second import of it): a parent link, a last-updated time, the built-locally mark. What
    /// the record has is kept, so merging imports does not depend on their order unless they
    /// disagree. Returns the record to persist when something was filled; the children sets
    /// are rebuilt by [`ImageStore::relink`].
    pub(crate) fn fill_metadata(&mut self, from: &ImageRecord) -> Option<ImageRecord> {
        let image = self.images.get_mut(&from.id)?;
        let record = &mut image.record;
        let before = record.clone();
        if record.parent.is_none() {
            record.parent = from.parent.clone();
        }
        if record.last_updated.as_deref().unwrap_or("").is_empty() && from.last_updated.is_some() {
            record.last_updated = from.last_updated.clone();
        }
        record.built_locally |= from.built_locally;
        (*record != before).then(|| record.clone())
    }

    /// `GetParent`: not found when the image has no parent link.
    pub fn get_parent(&self, id: &Digest) -> Result<Digest> {
        self.get(id)?.record.parent.clone().ok_or_else(|| Error::not_found(format!("image {id} has no parent")))
    }

    /// `SetLastUpdated` with the time text to record (RFC 3339 with nanoseconds).
    pub fn set_last_updated(&mut self, tx: &mut Tx, id: &Digest, when: String) -> Result<()> {
        let image = self.get_mut(id)?;
        image.record.last_updated = Some(when);
        let record = image.record.clone();
        put_record(tx, &record);
        Ok(())
    }

    /// `GetLastUpdated`: the recorded text, `None` for never (Go's zero time).
    pub fn get_last_updated(&self, id: &Digest) -> Result<Option<String>> {
        Ok(self.get(id)?.record.last_updated.clone().filter(|s| !s.is_empty()))
    }

    pub fn set_built_locally(&mut self, tx: &mut Tx, id: &Digest) -> Result<()> {
        let image = self.get_mut(id)?;
        image.record.built_locally = true;
        let record = image.record.clone();
        put_record(tx, &record);
        Ok(())
    }

    pub fn is_built_locally(&self, id: &Digest) -> Result<bool> {
        Ok(self.get(id)?.record.built_locally)
    }
}
