//! Stages what a tarball holds of Docker image stores while it streams.
//!
//! The tar order is arbitrary and an archive of `/var/lib/docker` may hold several drivers'
//! stores (or a docker-in-docker store inside a layer), so everything is kept per candidate
//! store folder until the end: configs and tar-splits go to staged blobs (invisible until
//! committed), small text files to small in-memory maps. Everything else (layer contents,
//! containers, volumes) streams past and is dropped.

use super::paths::{self as store_paths, Area, ImageMetaKey, LayerFileKind, StoreFile, Unusable};
use crate::digest::Digest;
use crate::docker::lazy_config::{ConfigFacts, LazyConfig};
use crate::error::{Error, Result};
use crate::formats::image_config::ImageConfig;
use crate::formats::image_config_scan;
use crate::import::stream::tar::{EntryKind, TarEntry};
use crate::storage::blobs::{self, BlobWriter, StagedBlob};
use crate::storage::Backend;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Largest small store file read into memory (metadata, layer files, distribution records).
pub const SMALL_FILE_LIMIT: u64 = 1 << 20;
/// Largest `repositories.json` read into memory.
pub const REPOSITORIES_LIMIT: u64 = 64 << 20;
/// Largest image config read (it is parsed whole, so it is held in memory while it streams).
pub const CONFIG_LIMIT: u64 = 16 << 20;
/// Warnings kept in full; more are only counted.
const WARNING_LIMIT: usize = 100;

/// An image config as staged: verified against its name and checked, with what the store
/// needs of it (so that the merge never reads back the blob) and its `os`, or why not.
pub(crate) enum StagedConfig {
    Ready { blob: StagedBlob, config: LazyConfig, os: String },
    Rejected { reason: String },
}

/// The files of one `layerdb/sha256/<chain>/` folder.
#[derive(Default)]
pub(crate) struct LayerFiles {
    pub small: BTreeMap<LayerFileKind, Vec<u8>>,
    pub tar_split: Option<StagedBlob>,
}

/// What one candidate store folder holds.
#[derive(Default)]
pub(crate) struct Candidate {
    pub has_imagedb: bool,
    pub has_layerdb: bool,
    /// By config file name (hex of the image ID).
    pub configs: BTreeMap<String, StagedConfig>,
    pub image_meta: BTreeMap<(String, ImageMetaKey), Vec<u8>>,
    /// By layer folder name (hex of the chain ID).
    pub layers: BTreeMap<String, LayerFiles>,
    pub repositories: Option<Vec<u8>>,
    pub diffid_by_digest: BTreeMap<String, Vec<u8>>,
    pub v2metadata_by_diffid: BTreeMap<String, Vec<u8>>,
}

impl Candidate {
    fn is_store(&self) -> bool {
        self.has_imagedb && self.has_layerdb
    }

    /// The chunk sets of every blob staged for this folder.
    pub(crate) fn staged_sets(&self) -> Vec<String> {
        let configs = self.configs.values().filter_map(|c| match c {
            StagedConfig::Ready { blob, .. } => Some(blob.set.clone()),
            StagedConfig::Rejected { .. } => None,
        });
        let splits = self.layers.values().filter_map(|l| l.tar_split.as_ref().map(|b| b.set.clone()));
        configs.chain(splits).collect()
    }
}

/// Where the bytes of the current entry go.
enum Sink {
    Drop,
    Small { root: String, file: SmallFile, buf: Vec<u8> },
    Config { root: String, hex: String, buf: blobs::RecordBuffer },
    TarSplit { root: String, hex: String, writer: BlobWriter },
}

enum SmallFile {
    ImageMeta(String, ImageMetaKey),
    Layer(String, LayerFileKind),
    Repositories,
    DiffIdByDigest(String),
    V2MetadataByDiffId(String),
}

/// Running totals for progress reports (over all candidate folders).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub images: u64,
    pub layers: u64,
    pub blobs: u64,
}

pub(crate) struct Collector {
    candidates: BTreeMap<String, Candidate>,
    sink: Sink,
    warnings: Vec<String>,
    warnings_dropped: usize,
    /// What the archive looks like when it is not an image store, for the error message.
    hints: BTreeSet<String>,
    counts: Counts,
    /// Chunk sets of blobs superseded by a later entry of the same path, not yet deleted.
    replaced: Vec<String>,
}

/// The store folder picked for import (the others stay in the collector, to be discarded).
pub(crate) struct Chosen {
    pub root: String,
    pub candidate: Candidate,
    pub warnings: Vec<String>,
}

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

impl Collector {
    pub(crate) fn new() -> Self {
        Collector {
            candidates: BTreeMap::new(),
            sink: Sink::Drop,
            warnings: Vec::new(),
            warnings_dropped: 0,
            hints: BTreeSet::new(),
            counts: Counts::default(),
            replaced: Vec::new(),
        }
    }

    pub(crate) fn counts(&self) -> Counts {
        self.counts
    }

    fn warn(&mut self, w: String) {
        if self.warnings.len() < WARNING_LIMIT {
            self.warnings.push(w);
        } else {
            self.warnings_dropped += 1;
        }
    }

    /// Starts a tar entry: decides where its data goes.
    pub(crate) fn entry(&mut self, e: &TarEntry) {
        self.sink = Sink::Drop;
        let place = match store_paths::classify(&e.path) {
            Ok(p) => p,
            Err(Unusable::DotDot) => {
                self.warn(format!("entry {:?} at offset {}: path has a \"..\" component, ignored", e.path, e.offset));
                return;
            }
            Err(Unusable::Outside) => {
                if let Some(h) = store_paths::format_hint(&e.path) {
                    self.hints.insert(h);
                }
                return;
            }
        };
        let (root, file) = (place.root, place.file);
        let cand = self.candidates.entry(root.clone()).or_default();
        match place.area {
            Area::ImageDb => cand.has_imagedb = true,
            Area::LayerDb => cand.has_layerdb = true,
            Area::Elsewhere => {}
        }
        if let StoreFile::LayerDir { hex } | StoreFile::LayerFile { hex, .. } = &file {
            if !cand.layers.contains_key(hex) {
                cand.layers.insert(hex.clone(), LayerFiles::default());
                self.counts.layers += 1;
            }
        }
        if matches!(file, StoreFile::Other | StoreFile::LayerDir { .. }) {
            return;
        }
        if e.kind != EntryKind::File {
            if matches!(e.kind, EntryKind::Symlink | EntryKind::Hardlink) {
                self.warn(format!("entry {:?}: links inside the image store are not followed, ignored", e.path));
            }
            return;
        }
        let limit = match file {
            StoreFile::ImageConfig { .. } => CONFIG_LIMIT,
            StoreFile::LayerFile { file: LayerFileKind::TarSplit, .. } => u64::MAX,
            StoreFile::Repositories => REPOSITORIES_LIMIT,
            _ => SMALL_FILE_LIMIT,
        };
        if e.size > limit {
            let why = format!("{} bytes, over the import limit of {limit} bytes for this file", e.size);
            if let StoreFile::ImageConfig { hex } = &file {
                let rejected = StagedConfig::Rejected { reason: format!("config is {why}") };
                let old = self.candidates.entry(root.clone()).or_default().configs.insert(hex.clone(), rejected);
                self.counts.images += u64::from(old.is_none());
                self.forget(old);
            }
            self.warn(format!("entry {:?}: {why}, ignored", e.path));
            return;
        }
        let buf = || Vec::with_capacity(e.size as usize);
        self.sink = match file {
            StoreFile::ImageConfig { hex } => {
                Sink::Config { root, hex, buf: blobs::RecordBuffer::with_capacity(e.size as usize) }
            }
            StoreFile::LayerFile { hex, file: LayerFileKind::TarSplit } => {
                Sink::TarSplit { root, hex, writer: BlobWriter::new() }
            }
            StoreFile::LayerFile { hex, file } => Sink::Small { root, file: SmallFile::Layer(hex, file), buf: buf() },
            StoreFile::ImageMeta { hex, key } => Sink::Small { root, file: SmallFile::ImageMeta(hex, key), buf: buf() },
            StoreFile::Repositories => Sink::Small { root, file: SmallFile::Repositories, buf: buf() },
            StoreFile::DiffIdByDigest { hex } => Sink::Small { root, file: SmallFile::DiffIdByDigest(hex), buf: buf() },
            StoreFile::V2MetadataByDiffId { hex } => {
                Sink::Small { root, file: SmallFile::V2MetadataByDiffId(hex), buf: buf() }
            }
            StoreFile::Other | StoreFile::LayerDir { .. } => Sink::Drop,
        };
    }

    /// Takes a piece of the current entry's data.
    pub(crate) async fn data<B: Backend>(&mut self, b: &B, bytes: &[u8]) -> Result<()> {
        match &mut self.sink {
            Sink::Drop => Ok(()),
            Sink::Small { buf, .. } => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
            Sink::Config { buf, .. } => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
            Sink::TarSplit { writer, .. } => writer.write(b, bytes).await,
        }
    }

    /// Ends the current entry: files its bytes with their candidate folder.
    pub(crate) async fn end<B: Backend>(&mut self, b: &B) -> Result<()> {
        match std::mem::replace(&mut self.sink, Sink::Drop) {
            Sink::Drop => {}
            Sink::Small { root, file, buf } => {
                let cand = self.candidates.entry(root).or_default();
                match file {
                    SmallFile::ImageMeta(hex, key) => drop(cand.image_meta.insert((hex, key), buf)),
                    SmallFile::Layer(hex, kind) => drop(cand.layers.entry(hex).or_default().small.insert(kind, buf)),
                    SmallFile::Repositories => cand.repositories = Some(buf),
                    SmallFile::DiffIdByDigest(hex) => drop(cand.diffid_by_digest.insert(hex, buf)),
                    SmallFile::V2MetadataByDiffId(hex) => drop(cand.v2metadata_by_diffid.insert(hex, buf)),
                }
            }
            Sink::Config { root, hex, buf } => {
                let staged = stage_config(b, &hex, buf).await?;
                if matches!(staged, StagedConfig::Ready { .. }) {
                    self.counts.blobs += 1;
                }
                let old = self.candidates.entry(root).or_default().configs.insert(hex, staged);
                self.counts.images += u64::from(old.is_none());
                self.forget(old);
            }
            Sink::TarSplit { root, hex, writer } => {
                // Hashed as it streamed in; published with the import's one commit.
                let blob = writer.finish_in_commit(b).await?;
                self.counts.blobs += 1;
                let layer = self.candidates.entry(root).or_default().layers.entry(hex).or_default();
                if let Some(old) = layer.tar_split.replace(blob) {
                    self.replaced.push(old.set);
                }
            }
        }
        self.discard_replaced(b).await
    }

    /// Remembers the blob of a config replaced by a later copy of the same path (the later
    /// one wins, as when extracting), to be discarded.
    fn forget(&mut self, old: Option<StagedConfig>) {
        if let Some(StagedConfig::Ready { blob, .. }) = old {
            self.replaced.push(blob.set);
        }
    }

    async fn discard_replaced<B: Backend>(&mut self, b: &B) -> Result<()> {
        for set in std::mem::take(&mut self.replaced) {
            blobs::discard(b, &set).await?;
        }
        Ok(())
    }

    /// Deletes every staged chunk set (on error or cancellation), including a half-written one.
    pub(crate) async fn discard_all<B: Backend>(&mut self, b: &B) -> Result<()> {
        let mut sets: Vec<String> = self.candidates.values().flat_map(Candidate::staged_sets).collect();
        sets.append(&mut self.replaced);
        if let Sink::TarSplit { writer, .. } = std::mem::replace(&mut self.sink, Sink::Drop) {
            // Finishing without expectations cannot fail on content; it yields the set id.
            sets.push(writer.finish(b, None, None).await?.set);
        }
        self.candidates.clear();
        blobs::discard_many(b, &sets).await
    }

    /// Picks the store folder to import, among those holding both `imagedb/` and `layerdb/`:
    /// one with images before an empty one, then the shallowest (the daemon's own store
    /// rather than a docker-in-docker store inside a layer), then the one with the most
    /// images, then by name. The chosen folder leaves the collector;
    /// [`Collector::discard_all`] then drops the others' blobs.
    pub(crate) fn choose(&mut self) -> Result<Chosen> {
        let mut warnings = std::mem::take(&mut self.warnings);
        if self.warnings_dropped > 0 {
            warnings.push(format!("{} more warnings like the above were left out", self.warnings_dropped));
        }
        let rank = |root: &String, c: &Candidate| {
            let depth = root.matches('/').count();
            (c.configs.is_empty(), depth, std::cmp::Reverse(c.configs.len()), root.clone())
        };
        let best = self
            .candidates
            .iter()
            .filter(|(_, c)| c.is_store())
            .min_by_key(|(root, c)| rank(root, c))
            .map(|(root, _)| root.clone());
        let Some(root) = best else {
            return Err(self.not_a_store_error());
        };
        let candidate = self.candidates.remove(&root).expect("chosen from the map");
        for (other, c) in &self.candidates {
            if c.is_store() {
                warnings.push(format!(
                    "several image stores in the archive: imported {} ({} images), not {} ({} images)",
                    display_root(&root),
                    candidate.configs.len(),
                    display_root(other),
                    c.configs.len()
                ));
            }
        }
        Ok(Chosen { root, candidate, warnings })
    }

    fn not_a_store_error(&self) -> Error {
        let mut found: Vec<String> = self.hints.iter().cloned().collect();
        for (root, c) in &self.candidates {
            match (c.has_imagedb, c.has_layerdb) {
                (true, false) => found.push(format!("imagedb/ without layerdb/ in {}", display_root(root))),
                (false, true) => found.push(format!("layerdb/ without imagedb/ in {}", display_root(root))),
                _ => {}
            }
        }
        let what = if found.is_empty() { "nothing recognisable".to_string() } else { found.join("; ") };
        Error::unsupported(format!(
            "no Docker image store in the archive (a folder holding both imagedb/ and layerdb/, as in \
             /var/lib/docker/image/<driver>/); found: {what}"
        ))
    }
}

/// A folder for messages: the top level has no name.
pub(crate) fn display_root(root: &str) -> String {
    if root.is_empty() {
        "the archive's top level".to_string()
    } else {
        root.to_string()
    }
}

/// Verifies a config against its file name (as moby's `fs.Get` does) and checks it as
/// `NewFromJSON` does; only a config that passes both is written as a blob. A plain config is
/// scanned for what the store keeps of it (its list facts); the whole parse waits until the
/// image is inspected. Any other is parsed whole (which also words why it is refused).
async fn stage_config<B: Backend>(b: &B, hex: &str, buf: blobs::RecordBuffer) -> Result<StagedConfig> {
    let named = Digest::from_sha256_hex(hex)?;
    let bytes = buf.bytes();
    if Digest::sha256_of(bytes) != named {
        return Ok(StagedConfig::Rejected { reason: format!("failed to verify: {named}") });
    }
    // dockerd's restore() reads configs with NewFromJSON (no history check: that is Create's).
    // A plain config is scanned; any other is parsed whole now (a copy: the rare case).
    enum Checked {
        Scanned(image_config_scan::ScannedConfig),
        Parsed(Box<ImageConfig>),
    }
    let checked = match image_config_scan::scan(bytes) {
        Some(scanned) => Checked::Scanned(scanned),
        None => match ImageConfig::parse(bytes.to_vec()) {
            Ok(c) => Checked::Parsed(Box::new(c)),
            Err(e) => return Ok(StagedConfig::Rejected { reason: e.message }),
        },
    };
    // Verified above: the config is published with the import's commit, not written now.
    let (blob, bytes) = if bytes.len() <= blobs::CHUNK_SIZE {
        blobs::stage_buffer_in_commit(named, buf)
    } else {
        let bytes = buf.into_shared();
        (blobs::stage_bytes(b, &bytes).await?, bytes)
    };
    let (config, os) = match checked {
        // It keeps the bytes read (shared with the staged record, not a copy) to parse on
        // first use.
        Checked::Scanned(mut scanned) => {
            let os = std::mem::take(&mut scanned.os);
            (LazyConfig::scanned(ConfigFacts::scanned(scanned), bytes), os)
        }
        Checked::Parsed(parsed) => {
            let os = parsed.os_raw().to_string();
            (LazyConfig::parsed(Rc::new(*parsed)), os)
        }
    };
    Ok(StagedConfig::Ready { blob, config, os })
}
