//! moby's layer store (layerdb): read-only layers by ChainID with their DiffID, size, cache-id,
//! parent and tar-split, and reference counting as `layer_store.go` does it: a child layer
//! holds one reference on its parent, an image holds one on its top layer, and releasing the
//! last reference deletes the layer and then releases its parent, top first.

use super::model::LayerRecord;
use super::tx::Tx;
use crate::digest::{chain_id, Digest};
use crate::error::{Error, Result};
use crate::schema::docker as keys;
use crate::storage::Op;
use imbl::OrdMap;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::collections::HashMap;

/// `maxLayerDepth` in layer_store.go: a chain may not be longer than this.
pub const MAX_LAYER_DEPTH: usize = 125;

/// `layer.Metadata`: what `Release` reports for each deleted layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerMetadata {
    pub chain_id: Digest,
    pub diff_id: Digest,
    /// Size of the whole chain (this layer and its parents).
    pub size: i64,
    /// Size of this layer alone.
    pub diff_size: i64,
}

/// The graph driver folder name a loaded layer gets (`docker load`, OCI and ctr imports into the
/// Docker view). dockerd picks a random one; this is derived from the ChainID so that loading
/// the same archive twice names it the same, and so that a record made this way is told apart
/// from a real host's record of the same layer (see [`is_loaded_record`]).
pub fn loaded_cache_id(chain: &Digest) -> String {
    Digest::sha256_of(format!("imagestore cache-id {chain}").as_bytes()).hex().to_string()
}

/// Whether `record` was made by a load rather than read from a host's layerdb.
pub fn is_loaded_record(record: &LayerRecord) -> bool {
    record.cache_id == loaded_cache_id(&record.chain_id)
}

#[derive(Debug, Clone)]
struct Layer {
    record: LayerRecord,
    /// References held by child layers and by images (the top layer of each).
    references: usize,
    /// `Layer.Size()` (this layer's size plus its parents'), worked out on first use. A layer's
    /// parent chain never changes (its ChainID names it), so the value never goes stale, and
    /// copies of the store that share the layer share the work.
    chain_size: OnceCell<i64>,
}

impl Layer {
    fn new(record: LayerRecord, references: usize) -> Layer {
        Layer { record, references, chain_size: OnceCell::new() }
    }
}

/// A persistent map (`imbl`): copies share it, a change copies only what it touches.
#[derive(Debug, Clone, Default)]
pub struct LayerStore {
    layers: OrdMap<Digest, Layer>,
}

impl LayerStore {
    pub fn len(&self) -> usize {
        self.layers.len()
    }
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
    pub fn contains(&self, chain: &Digest) -> bool {
        self.layers.contains_key(chain)
    }
    /// Whether both stores hold the same map (one is an unchanged copy of the other). O(1).
    pub fn same_as(&self, other: &LayerStore) -> bool {
        self.layers.ptr_eq(&other.layers)
    }
    pub fn get(&self, chain: &Digest) -> Option<&LayerRecord> {
        self.layers.get(chain).map(|l| &l.record)
    }
    pub fn records(&self) -> impl Iterator<Item = &LayerRecord> {
        self.layers.values().map(|l| &l.record)
    }
    /// How many holders (child layers, images) the layer has.
    pub fn references(&self, chain: &Digest) -> usize {
        self.layers.get(chain).map_or(0, |l| l.references)
    }

    fn must(&self, chain: &Digest) -> Result<&Layer> {
        self.layers.get(chain).ok_or_else(|| Error::not_found(format!("layer does not exist: {chain}")))
    }

    /// The parents of `chain`, itself first (the layer's "chain").
    pub fn chain(&self, chain: &Digest) -> Result<Vec<&LayerRecord>> {
        let mut out = Vec::new();
        let mut at = Some(chain);
        while let Some(c) = at {
            let l = &self.must(c)?.record;
            out.push(l);
            if out.len() > self.layers.len() {
                return Err(Error::corrupt(format!("layer {chain}: parent chain loops")));
            }
            at = l.parent.as_ref();
        }
        Ok(out)
    }

    /// `Layer.Size()`: this layer's size plus its parents'. Each layer's chain size is worked
    /// out once (walking up to the first parent that knows its own) and kept, so listing
    /// thousands of images costs one step per layer, not one walk per image.
    pub fn size(&self, chain: &Digest) -> Result<i64> {
        let mut unknown: Vec<&Layer> = Vec::new();
        let mut below = 0;
        let mut at = Some(chain);
        while let Some(c) = at {
            let layer = self.must(c)?;
            if let Some(&known) = layer.chain_size.get() {
                below = known;
                break;
            }
            unknown.push(layer);
            if unknown.len() > self.layers.len() {
                return Err(Error::corrupt(format!("layer {chain}: parent chain loops")));
            }
            at = layer.record.parent.as_ref();
        }
        for layer in unknown.iter().rev() {
            below += layer.record.size;
            // Set at most once: nothing between the walk and here can have set it.
            let _ = layer.chain_size.set(below);
        }
        Ok(below)
    }
    /// `Layer.DiffSize()`: this layer's own size.
    pub fn diff_size(&self, chain: &Digest) -> Result<i64> {
        Ok(self.must(chain)?.record.size)
    }

    /// `Get(chainID)` for an image: takes one reference.
    pub fn acquire(&mut self, chain: &Digest) -> Result<()> {
        match self.layers.get_mut(chain) {
            Some(l) => {
                l.references += 1;
                Ok(())
            }
            None => Err(Error::not_found(format!("layer does not exist: {chain}"))),
        }
    }

    /// `Register`: adds a layer on top of `parent` (which must exist) and returns its ChainID,
    /// holding one reference for the caller. An already known ChainID is reused (and
    /// referenced again) rather than written twice.
    pub fn register(
        &mut self,
        tx: &mut Tx,
        parent: Option<&Digest>,
        diff_id: Digest,
        size: i64,
        cache_id: String,
        tar_split: Option<Digest>,
    ) -> Result<Digest> {
        let chain = match parent {
            None => diff_id.clone(),
            Some(p) => {
                let depth = self.chain(p)?.len();
                if depth >= MAX_LAYER_DEPTH {
                    return Err(Error::invalid(format!("max depth exceeded: {p} already has {depth} layers")));
                }
                chain_id(&[p.clone(), diff_id.clone()]).expect("two digests")
            }
        };
        if self.contains(&chain) {
            self.acquire(&chain)?;
            return Ok(chain);
        }
        if let Some(p) = parent {
            self.acquire(p)?;
        }
        let record = LayerRecord {
            chain_id: chain.clone(),
            diff_id,
            size,
            cache_id,
            parent: parent.cloned(),
            tar_split,
            descriptor: None,
        };
        tx.push(Op::put_record(keys::layer(&chain), &record));
        self.layers.insert(chain.clone(), Layer::new(record, 1));
        Ok(chain)
    }

    /// `Release`: drops one reference to `chain`; every layer whose count reaches zero is
    /// deleted and releases its parent in turn. Returns the deleted layers, top first.
    pub fn release(&mut self, tx: &mut Tx, chain: &Digest) -> Result<Vec<LayerMetadata>> {
        let mut removed = Vec::new();
        let mut at = Some(chain.clone());
        // Worked out once per release, not once per removed layer: a chain can be thousands
        // deep (an upload decides), and both would make its removal quadratic.
        let mut size = None;
        let mut tar_split_users: Option<HashMap<Digest, usize>> = None;
        while let Some(c) = at.take() {
            let Some(layer) = self.layers.get_mut(&c) else { break };
            if layer.references == 0 {
                return Err(Error::precondition(format!("layer not retained: {c}")));
            }
            layer.references -= 1;
            if layer.references > 0 {
                break;
            }
            let chain_size = match size {
                Some(s) => s,
                None => self.size(&c)?,
            };
            let users = tar_split_users.get_or_insert_with(|| {
                let mut m = HashMap::new();
                for l in self.layers.values() {
                    if let Some(ts) = &l.record.tar_split {
                        *m.entry(ts.clone()).or_insert(0) += 1;
                    }
                }
                m
            });
            let layer = self.layers.remove(&c).expect("present");
            tx.push(Op::delete_meta(keys::layer(&c)));
            if let Some(ts) = &layer.record.tar_split {
                let n = users.get_mut(ts).expect("counted");
                *n -= 1;
                if *n == 0 {
                    tx.dead_blobs.push(ts.clone());
                }
            }
            size = Some(chain_size - layer.record.size);
            removed.push(LayerMetadata {
                chain_id: c,
                diff_id: layer.record.diff_id.clone(),
                size: chain_size,
                diff_size: layer.record.size,
            });
            at = layer.record.parent;
        }
        Ok(removed)
    }

    /// Adds a loaded layer without touching reference counts (see [`LayerStore::recount`]).
    pub(crate) fn insert_loaded(&mut self, record: LayerRecord) {
        self.layers.insert(record.chain_id.clone(), Layer::new(record, 0));
    }

    /// Drops layers whose parent chain is broken, as moby's `loadLayer` does (a missing parent
    /// makes the child fail too). Returns the dropped ChainIDs with the reason.
    pub(crate) fn drop_unloadable(&mut self) -> Vec<(Digest, String)> {
        let mut dropped = Vec::new();
        loop {
            let bad: Vec<(Digest, String)> = self
                .layers
                .values()
                .filter_map(|l| {
                    let p = l.record.parent.as_ref()?;
                    (!self.layers.contains_key(p))
                        .then(|| (l.record.chain_id.clone(), format!("parent layer {p} is missing")))
                })
                .collect();
            if bad.is_empty() {
                return dropped;
            }
            for (c, _) in &bad {
                self.layers.remove(c);
            }
            dropped.extend(bad);
        }
    }

    /// Recomputes every reference count from the holders: child layers and `image_tops`.
    /// Counts are derived state; this is how they are rebuilt on open and after an import.
    pub(crate) fn recount<'a>(&mut self, image_tops: impl Iterator<Item = &'a Digest>) {
        let mut counts: BTreeMap<Digest, usize> = BTreeMap::new();
        for l in self.layers.values() {
            if let Some(p) = &l.record.parent {
                *counts.entry(p.clone()).or_default() += 1;
            }
        }
        for t in image_tops {
            *counts.entry(t.clone()).or_default() += 1;
        }
        let chains: Vec<Digest> = self.layers.keys().cloned().collect();
        for c in chains {
            let count = counts.get(&c).copied().unwrap_or(0);
            if let Some(l) = self.layers.get_mut(&c).filter(|l| l.references != count) {
                l.references = count;
            }
        }
    }
}
