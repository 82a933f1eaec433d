//! The generated store in memory: image configs with their metadata, layer records, tags.
//! It only records; `plan.rs` decides what to put in it and `output.rs` writes it out.

use super::config::ImageConfig;
use super::layer::Layer;
use imagestore::digest::Digest;
use imagestore::formats::gotime::GoTime;
use std::collections::BTreeMap;

pub struct ImageRecord {
    pub id: Digest,
    /// The exact config bytes; `id` is their SHA-256.
    pub config: Vec<u8>,
    /// `imagedb/metadata/sha256/<id>/parent` (set by the legacy builder and `docker commit`).
    pub parent: Option<Digest>,
    /// `imagedb/metadata/sha256/<id>/lastUpdated`, written when the image was last tagged.
    pub last_updated: Option<String>,
}

pub struct LayerRecord {
    pub diff_id: Digest,
    pub parent: Option<Digest>,
    pub size: u64,
    pub cache_id: String,
    pub tar_split_gz: Vec<u8>,
}

#[derive(Default)]
pub struct SampleStore {
    pub images: Vec<ImageRecord>,
    index: BTreeMap<Digest, usize>,
    /// By chain ID.
    pub layers: BTreeMap<Digest, LayerRecord>,
    /// repositories.json: familiar name → familiar reference → image ID.
    pub repositories: BTreeMap<String, BTreeMap<String, Digest>>,
    /// `distribution/diffid-by-digest/sha256/<hex>` → DiffID, for pulled layers.
    pub diffid_by_digest: BTreeMap<String, Digest>,
}

impl SampleStore {
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Stores a config (once per distinct byte string) and returns its ID.
    pub fn add_image(&mut self, config: &ImageConfig, parent: Option<&Digest>) -> Digest {
        let bytes = config.to_bytes();
        let id = Digest::sha256_of(&bytes);
        if !self.index.contains_key(&id) {
            self.index.insert(id.clone(), self.images.len());
            self.images.push(ImageRecord {
                id: id.clone(),
                config: bytes,
                parent: parent.cloned(),
                last_updated: None,
            });
        }
        id
    }

    /// Registers a layer on top of the chain `parent` and returns its chain ID.
    pub fn add_layer(&mut self, parent: Option<&Digest>, layer: Layer, cache_id: String) -> Digest {
        let chain_id = match parent {
            None => layer.diff_id.clone(),
            Some(p) => imagestore::digest::chain_id(&[p.clone(), layer.diff_id.clone()]).expect("two digests"),
        };
        self.layers.entry(chain_id.clone()).or_insert(LayerRecord {
            diff_id: layer.diff_id,
            parent: parent.cloned(),
            size: layer.size,
            cache_id,
            tar_split_gz: layer.tar_split_gz,
        });
        chain_id
    }

    /// Points `name:tag` at `id` (moving it off any previous image) and stamps `lastUpdated`.
    pub fn tag(&mut self, name: &str, tag: &str, id: &Digest, when: GoTime) {
        self.repositories.entry(name.to_string()).or_default().insert(format!("{name}:{tag}"), id.clone());
        let i = self.index[id];
        self.images[i].last_updated = Some(when.to_rfc3339_nano());
    }

    /// Records `name@digest` (what a pull leaves behind).
    pub fn add_digest_ref(&mut self, name: &str, manifest: &Digest, id: &Digest) {
        self.repositories.entry(name.to_string()).or_default().insert(format!("{name}@{manifest}"), id.clone());
    }

    pub fn is_tagged(&self, id: &Digest) -> bool {
        self.repositories.values().any(|refs| refs.values().any(|v| v == id))
    }
}
