//! The façade's analysis calls: they load the tar entries of an image's layers and hand them
//! to [`crate::analysis`], which does all the work. Any image the store holds can be analysed:
//! a Docker image's layers are read from their tar-splits (no layer content needed); a
//! containerd image's layers from the Docker view's tar-split of the same chain when there is
//! one, else from the layer blob itself ([`blob_entries`]), so the same image gives the same
//! answer whichever way it arrived. Parsed entries and change sets are cached by what
//! identifies them immutably (tar-split or blob digest, chain ID), so the cache can never be
//! stale: imports and deletes only change which images are looked at. Store-wide search runs
//! on a persisted index of change sets ([`search_index`]).

mod blob_entries;
pub mod entries_record;
pub mod search_index;
mod search_snapshot;

pub use search_index::{IndexUpdate, SkippedLayer};

use crate::analysis::changes::{apply_layer, Change, ChangeKind, LayerChangeSet, Merged};
use crate::analysis::diff::{diff_trees, shared_prefix, FileDiff};
use crate::analysis::dive::{self, CiRules, DiveFileInfo, DiveTree, RuleResult, WastedFile};
use crate::analysis::dive_layers::{self, LayerNodes};
use crate::analysis::path_table::PathTable;
use crate::analysis::search::Pattern;
use crate::containerd::platform_manifest::default_manifest;
use crate::digest::{chain_ids, Digest, DigestHashSet, DigestMap};
use crate::docker::layer_files::{self, LayerFileEntry, LayerSelector};
use crate::error::{Error, Result};
use crate::formats::image_config::ImageConfig;
use crate::formats::tar_split::TarEntry;
use crate::schema;
use crate::storage::{blob_packs, blobs, Backend, Op, Space};
use crate::store::Store;
use serde::Serialize;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Each chain's [`LayerSource`] once worked out, as every image built on a layer asks for it
/// again (the chain IDs themselves are remembered by [`chain_ids`]: images of one store share
/// their lower layers).
#[derive(Default)]
struct SourceMemo(DigestMap<Digest, LayerSource>);

/// Parsed tar-splits by their blob digest and change sets by chain ID.
#[derive(Default)]
pub struct AnalysisCache {
    entries: RefCell<HashMap<Digest, Rc<Vec<TarEntry>>>>,
    changes: RefCell<DigestMap<Digest, Rc<LayerChangeSet>>>,
    /// dive's view of each layer by the same key as `entries`, its paths interned in `paths`.
    dive_layers: RefCell<HashMap<Digest, Rc<LayerNodes>>>,
    paths: RefCell<PathTable>,
    /// Whether the persisted search index has been read into `changes` this session.
    index_loaded: std::cell::Cell<bool>,
    /// Whether `indexed` has been read (the index's keys) this session.
    index_keys_loaded: std::cell::Cell<bool>,
    /// The chains the persisted search index holds a record of.
    indexed: RefCell<DigestHashSet<Digest>>,
    /// Layers (by chain ID) that could not be read this session, with the reason: not read
    /// again until an import may have brought them back.
    unreadable: RefCell<HashMap<Digest, String>>,
    /// The Docker images as subjects, made again only when the Docker state they came from
    /// changed (a search over 10,000 images spent most of its time making them).
    docker_subjects: RefCell<Option<DockerSubjects>>,
    /// The subjects the search index was last found complete for (nothing to add, remove or
    /// skip): a search over the same ones does not check every layer again.
    index_complete_for: RefCell<Option<SubjectsKey>>,
    /// The search snapshot of the store generation it names, as last read or made.
    search_snapshot: RefCell<Option<Rc<search_snapshot::SearchSnapshot>>>,
}

/// [`AnalysisCache::docker_subjects`]: the subjects and the parts of the Docker state they
/// were made from (persistent maps: kept copies cost nothing and compare by identity).
struct DockerSubjects {
    images: crate::docker::images::ImageStore,
    layers: crate::docker::layers::LayerStore,
    references: crate::docker::references::ReferenceStore,
    subjects: Rc<Vec<Rc<Subject>>>,
}

/// What identifies a list of subjects: the Docker ones by identity (the key holds them, so
/// their address cannot be reused by another list while it is kept), the containerd ones by
/// image ID and chains (few, and read afresh each time).
struct SubjectsKey {
    docker: Rc<Vec<Rc<Subject>>>,
    containerd: Vec<(Digest, Vec<Digest>, Option<String>)>,
}

impl PartialEq for SubjectsKey {
    fn eq(&self, other: &SubjectsKey) -> bool {
        Rc::ptr_eq(&self.docker, &other.docker) && self.containerd == other.containerd
    }
}

/// Every image the store holds as subjects ([`Store::all_subjects`]).
pub(crate) struct Subjects {
    docker: Rc<Vec<Rc<Subject>>>,
    containerd: Vec<Rc<Subject>>,
}

impl Subjects {
    fn iter(&self) -> impl Iterator<Item = &Subject> + Clone {
        self.docker.iter().chain(&self.containerd).map(|s| &**s)
    }

    fn key(&self) -> SubjectsKey {
        SubjectsKey {
            docker: self.docker.clone(),
            containerd: self.containerd.iter().map(|s| (s.id.clone(), s.chains.clone(), s.namespace.clone())).collect(),
        }
    }
}

/// Which image to analyse: a Docker image (a name or ID as `docker` takes it) or a containerd
/// image (by namespace and name, as `ctr -n NS images` lists it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    Docker(String),
    Containerd { namespace: String, name: String },
}

impl From<&str> for ImageRef {
    fn from(s: &str) -> ImageRef {
        ImageRef::Docker(s.to_string())
    }
}

impl From<&String> for ImageRef {
    fn from(s: &String) -> ImageRef {
        ImageRef::Docker(s.clone())
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageRef::Docker(n) => write!(f, "{n}"),
            ImageRef::Containerd { namespace, name } => write!(f, "{name} (containerd namespace {namespace})"),
        }
    }
}

/// Where a layer's entries come from.
#[derive(Debug, Clone)]
pub(crate) enum LayerSource {
    /// A `tar-split.json.gz` blob of the Docker view.
    TarSplit(Digest),
    /// A layer blob (gzip or plain tar) with its media type.
    Blob { digest: Digest, media_type: String },
    /// Nothing to read the entries from (the reason).
    Unavailable(String),
}

impl LayerSource {
    /// The blob the entries are read from: what caches are keyed by.
    fn digest(&self) -> Option<&Digest> {
        match self {
            LayerSource::TarSplit(d) | LayerSource::Blob { digest: d, .. } => Some(d),
            LayerSource::Unavailable(_) => None,
        }
    }
}

/// An image resolved for analysis, whichever view holds it.
struct Subject {
    /// The config digest (Docker's image ID).
    id: Digest,
    config: crate::docker::lazy_config::LazyConfig,
    /// Per layer, bottom first.
    chains: Vec<Digest>,
    sources: Vec<LayerSource>,
    /// Docker: the image's tags; containerd: its name.
    repo_tags: Vec<String>,
    /// The containerd namespace, for a containerd image.
    namespace: Option<String>,
}

/// One layer of an image with what it changed (`Store::layer_changes`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerChanges {
    pub index: usize,
    pub diff_id: Digest,
    pub chain_id: Digest,
    /// From the image's history, as dive shows it (`/bin/sh -c ` trimmed).
    pub command: String,
    /// The sum of the layer tar's header sizes (dive's layer size).
    pub size_bytes: i64,
    pub changes: Vec<Change>,
    pub unchanged_entries: usize,
    pub whiteouts: usize,
}

/// dive's view of a layer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiveLayer {
    pub index: usize,
    /// dive's `digestId` (the DiffID paired with the layer's history entry).
    pub digest_id: String,
    pub command: String,
    pub size_bytes: i64,
}

/// `Store::efficiency`: dive's numbers and CI verdicts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Efficiency {
    pub size_bytes: i64,
    pub user_size_bytes: i64,
    pub inefficient_bytes: i64,
    pub efficiency_score: f64,
    pub wasted_user_percent: f64,
    pub wasted: Vec<WastedFile>,
    pub rules: Vec<RuleResult>,
    /// Every enabled rule passed.
    pub pass: bool,
    pub layers: Vec<DiveLayer>,
}

/// `Store::diff_images`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDiff {
    /// The bottom layers both images share (same chain IDs), as DiffIDs.
    pub shared_layers: Vec<Digest>,
    #[serde(flatten)]
    pub files: FileDiff,
}

/// One hit of `Store::find_files`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundFile {
    /// The image ID (config digest).
    pub image: Digest,
    /// Docker: the image's tags; containerd: the image's name.
    pub repo_tags: Vec<String>,
    /// Set for a containerd image: its namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub layer: usize,
    pub diff_id: Digest,
    pub path: String,
    pub change: ChangeKind,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub size: i64,
    pub mode: i64,
}

/// `Store::find_files`: the hits, and the layers that could not be searched.
#[derive(Debug, Clone, Serialize)]
pub struct FileSearch {
    pub files: Vec<FoundFile>,
    pub skipped: Vec<SkippedLayer>,
}

/// An image with hits in a [`GroupedFileSearch`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HitImage {
    pub image: Digest,
    pub repo_tags: Vec<String>,
    pub namespace: Option<String>,
}

/// A layer with hits in a [`GroupedFileSearch`]: its DiffID and the matching changes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerHits {
    pub diff_id: Digest,
    pub changes: Vec<Change>,
}

/// `Store::find_files_grouped`: the same hits as [`FileSearch`], each layer's once.
#[derive(Debug, Clone, Serialize)]
pub struct GroupedFileSearch {
    pub images: Vec<HitImage>,
    pub layers: Vec<LayerHits>,
    /// In [`FileSearch::files`]' order: (index in `images`, layer index in that image, index
    /// in `layers`); each stands for all the changes of that entry of `layers`.
    pub rows: Vec<(u32, u32, u32)>,
    pub skipped: Vec<SkippedLayer>,
}

impl GroupedFileSearch {
    /// The hits one by one, as [`Store::find_files`] answers.
    pub fn found_files(&self) -> Vec<FoundFile> {
        let mut out = Vec::new();
        for &(image, layer, slot) in &self.rows {
            let (img, hits) = (&self.images[image as usize], &self.layers[slot as usize]);
            out.extend(hits.changes.iter().map(|c| FoundFile {
                image: img.image.clone(),
                repo_tags: img.repo_tags.clone(),
                namespace: img.namespace.clone(),
                layer: layer as usize,
                diff_id: hits.diff_id.clone(),
                path: c.path.clone(),
                change: c.change,
                kind: c.kind,
                size: c.size,
                mode: c.mode,
            }));
        }
        out
    }
}

/// `Store::largest_files_in_store`: the files, and the layers that could not be looked into.
#[derive(Debug, Clone, Serialize)]
pub struct StoreLargestFiles {
    pub files: Vec<StoredFile>,
    pub skipped: Vec<SkippedLayer>,
}

/// One of an image's largest files (`Store::largest_files` of one image).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LargeFile {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub size: i64,
    pub mode: i64,
    /// The layer that last changed it.
    pub layer: usize,
}

/// Where a stored file is: one layer of one image.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileOwner {
    pub image: Digest,
    pub repo_tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub layer: usize,
}

/// One of the store's largest files (`Store::largest_files` of the whole store): a file a
/// layer adds or rewrites, counted once however many images share the layer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredFile {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub size: i64,
    pub mode: i64,
    pub diff_id: Digest,
    pub chain_id: Digest,
    /// Every image with that layer, and its index there: tagged images first.
    pub images: Vec<FileOwner>,
}

/// Layer entries through the analysis cache and records, for any backend (reading files too).
impl<B: Backend> Store<B> {
    /// The entries read from `source` (a tar-split or layer blob digest): cached, else from
    /// its persisted record, else from `read` (then the record to write is pushed on `ops`).
    async fn cached_entries(
        &self,
        source: &Digest,
        read: impl std::future::Future<Output = Result<Vec<TarEntry>>>,
        ops: &mut Vec<Op>,
    ) -> Result<Rc<Vec<TarEntry>>> {
        let cache = self.analysis_cache();
        if let Some(hit) = cache.entries.borrow().get(source) {
            return Ok(hit.clone());
        }
        let record = self.backend().get(Space::Meta, &schema::analysis::entries(source)).await?;
        let entries = match record.as_deref().map(entries_record::decode) {
            Some(Ok(entries)) => entries,
            // Missing or bad: read the layer and (re)write the record.
            _ => {
                let entries = read.await?;
                ops.push(Op::put_meta(schema::analysis::entries(source), entries_record::encode(&entries)));
                entries
            }
        };
        let entries = Rc::new(entries);
        cache.entries.borrow_mut().insert(source.clone(), entries.clone());
        Ok(entries)
    }

    /// Reads the entries records of these sources that are not in memory into the cache, all
    /// at once: one round trip to IndexedDB instead of one per layer (each get is its own read
    /// transaction, and they overlap). One that is missing or does not decode is left out (its
    /// reader reads the layer and rewrites it).
    async fn prefetch_entries_records(&self, sources: impl Iterator<Item = &Digest>) -> Result<()> {
        let cache = self.analysis_cache();
        let absent: Vec<&Digest> = sources.filter(|d| !cache.entries.borrow().contains_key(*d)).collect();
        let keys: Vec<String> = absent.iter().map(|d| schema::analysis::entries(d)).collect();
        let records = futures::future::join_all(keys.iter().map(|k| self.backend().get(Space::Meta, k))).await;
        for (digest, record) in absent.into_iter().zip(records) {
            if let Some(Ok(entries)) = record?.as_deref().map(entries_record::decode) {
                cache.entries.borrow_mut().insert(digest.clone(), Rc::new(entries));
            }
        }
        Ok(())
    }

    /// Reads the entries of many layers into the cache ahead of a store-wide pass (the search
    /// index), their tar-splits in pack order so that each pack of small blobs is read once,
    /// not once per layer. One that cannot be read is left for its reader to report.
    pub(crate) async fn prefetch_tar_split_entries(&self, tar_splits: Vec<&Digest>, ops: &mut Vec<Op>) -> Result<()> {
        let absent: Vec<&Digest> = {
            let cache = self.analysis_cache();
            let entries = cache.entries.borrow();
            tar_splits.into_iter().filter(|d| !entries.contains_key(*d)).collect()
        };
        self.prefetch_entries_records(absent.iter().copied()).await?;
        let reader = blobs::BulkReader::new();
        for i in blob_packs::pack_order(&absent) {
            let read = layer_files::read_tar_split_entries(&reader, self.backend(), absent[i]);
            let _ = self.cached_entries(absent[i], read, ops).await;
        }
        Ok(())
    }

    /// The entries of the layers whose tar-splits are `tar_splits`, with their data offsets
    /// (reading a file builds its merged tree from them): from the analysis cache or records,
    /// so that a file read after an import (whose search-index update wrote the records) does
    /// not inflate and decode tar-splits. Records read from tar-splits are written in one commit.
    pub(crate) async fn tar_split_entries(&self, tar_splits: &[Digest]) -> Result<Vec<Rc<Vec<TarEntry>>>> {
        self.prefetch_entries_records(tar_splits.iter()).await?;
        let mut ops = Vec::new();
        let mut out = vec![None; tar_splits.len()];
        // Read by pack: each pack of small blobs once.
        let reader = blobs::BulkReader::new();
        for i in blob_packs::pack_order(&tar_splits.iter().collect::<Vec<_>>()) {
            let read = layer_files::read_tar_split_entries(&reader, self.backend(), &tar_splits[i]);
            out[i] = Some(self.cached_entries(&tar_splits[i], read, &mut ops).await?);
        }
        let out = out.into_iter().map(|e| e.expect("every position was read")).collect();
        if !ops.is_empty() {
            // Derived records: a failed write only means they are read again next time.
            let _ = self.backend().commit(ops).await;
        }
        Ok(out)
    }
}

impl<B: Backend + Clone> Store<B> {
    /// The chain IDs of layers with these DiffIDs, bottom first.
    fn chains_of(diff_ids: &[Digest]) -> Vec<Digest> {
        chain_ids(diff_ids)
    }

    /// A Docker image as an analysis subject. A layer whose file list is unknown (no record,
    /// no tar-split) is a source that fails when read, so store-wide answers skip just it.
    fn docker_subject(&self, img: &crate::docker::images::Image, memo: &mut SourceMemo) -> Subject {
        let chains = chain_ids(img.config.diff_ids());
        let source_of = |chain: &Digest| match self.docker().layers.get(chain) {
            None => LayerSource::Unavailable(format!("layer does not exist: {chain}")),
            Some(record) => match &record.tar_split {
                Some(digest) => LayerSource::TarSplit(digest.clone()),
                None => LayerSource::Unavailable(format!(
                    "layer {chain} has no tar-split.json.gz: its file list is unknown"
                )),
            },
        };
        let sources = chains
            .iter()
            .map(|chain| match memo.0.get(chain) {
                Some(known) => known.clone(),
                None => memo.0.entry(chain.clone()).or_insert_with(|| source_of(chain)).clone(),
            })
            .collect();
        Subject {
            id: img.id().clone(),
            config: img.config.clone(),
            chains,
            sources,
            repo_tags: self.docker().references.tags_and_digests(img.id()).0,
            namespace: None,
        }
    }

    /// A containerd image as an analysis subject: its linux/amd64 manifest's config and layers.
    async fn containerd_subject(&self, namespace: &str, name: &str) -> Result<Subject> {
        let ns = self.containerd().namespace(namespace)?;
        let cs = ns.content();
        let img = ns.images().get(name).await?;
        let manifest = default_manifest(&cs, &img).await?;
        let raw = cs.read_all(&manifest.config.digest).await?;
        let config = ImageConfig::parse(raw).map_err(|e| e.context(format!("config {}", manifest.config.digest)))?;
        let diff_ids = config.diff_ids();
        if diff_ids.len() != manifest.layers.len() {
            return Err(Error::corrupt(format!(
                "image {name:?}: its manifest lists {} layers but its config {} DiffIDs",
                manifest.layers.len(),
                diff_ids.len()
            )));
        }
        let chains = Self::chains_of(diff_ids);
        let sources = chains
            .iter()
            .zip(&manifest.layers)
            .map(|(chain, layer)| match self.docker().layers.get(chain).and_then(|l| l.tar_split.clone()) {
                // The same tar (same chain) as a Docker layer: its tar-split lists the same entries.
                Some(split) => LayerSource::TarSplit(split),
                None => LayerSource::Blob { digest: layer.digest.clone(), media_type: layer.media_type.clone() },
            })
            .collect();
        Ok(Subject {
            id: manifest.config.digest.clone(),
            config: crate::docker::lazy_config::LazyConfig::parsed(Rc::new(config)),
            chains,
            sources,
            repo_tags: vec![name.to_string()],
            namespace: Some(namespace.to_string()),
        })
    }

    async fn subject(&self, image: &ImageRef) -> Result<Subject> {
        match image {
            ImageRef::Docker(name_or_id) => {
                let img = crate::docker::engine::get_image(self.docker(), name_or_id)?;
                // dive's layer commands come from the config's history.
                self.load_configs([img.id()]).await?;
                Ok(self.docker_subject(img, &mut SourceMemo::default()))
            }
            ImageRef::Containerd { namespace, name } => self.containerd_subject(namespace, name).await,
        }
    }

    /// The entries of layer `i` of `s`: cached, else from its persisted record, else read
    /// from its tar-split or blob (then the record to write is pushed on `ops`).
    async fn analysis_entries(&self, s: &Subject, i: usize, ops: &mut Vec<Op>) -> Result<Rc<Vec<TarEntry>>> {
        let key = match &s.sources[i] {
            LayerSource::Unavailable(reason) => return Err(Error::not_found(reason.clone())),
            source => source.digest().expect("a blob to read"),
        };
        self.cached_entries(key, self.read_entries(s, i), ops).await
    }

    /// The entries of layer `i` of `s`, read from its tar-split or blob.
    async fn read_entries(&self, s: &Subject, i: usize) -> Result<Vec<TarEntry>> {
        match &s.sources[i] {
            LayerSource::TarSplit(digest) => {
                layer_files::read_tar_split_entries(&blobs::BulkReader::new(), self.backend(), digest).await
            }
            LayerSource::Blob { digest, media_type } => {
                blob_entries::layer_blob_entries(self.backend(), digest, media_type, &s.config.diff_ids()[i]).await
            }
            LayerSource::Unavailable(reason) => Err(Error::not_found(reason.clone())),
        }
    }

    /// Every layer's entries of `s`; the records read from layers are written in one commit.
    async fn image_entries(&self, s: &Subject) -> Result<Vec<Rc<Vec<TarEntry>>>> {
        self.prefetch_entries_records(s.sources.iter().filter_map(LayerSource::digest)).await?;
        let mut ops = Vec::new();
        let mut out = Vec::with_capacity(s.sources.len());
        for i in 0..s.sources.len() {
            out.push(self.analysis_entries(s, i, &mut ops).await?);
        }
        if !ops.is_empty() {
            self.backend().commit(ops).await?;
        }
        Ok(out)
    }

    /// Works out `s`'s change sets into the cache, layer by layer from the bottom (the records
    /// of entries read are pushed on `ops`); on a layer that cannot be read (or was not this
    /// session), stops there and says which.
    async fn change_sets_upto(&self, s: &Subject, ops: &mut Vec<Op>) -> std::result::Result<(), (usize, Error)> {
        let cache = self.analysis_cache();
        let mut view = Merged::new();
        for (i, chain) in s.chains.iter().enumerate() {
            if let Some(reason) = cache.unreadable.borrow().get(chain) {
                return Err((i, Error::corrupt(reason.clone())));
            }
            let entries = self.analysis_entries(s, i, ops).await.map_err(|e| (i, e))?;
            let set = apply_layer(&mut view, i, &entries);
            cache.changes.borrow_mut().entry(chain.clone()).or_insert_with(|| Rc::new(set));
        }
        Ok(())
    }

    /// Each layer's change set (cached by chain ID), bottom first, and the merged tree.
    async fn change_sets(&self, s: &Subject) -> Result<(Vec<Rc<LayerChangeSet>>, Merged)> {
        let entries = self.image_entries(s).await?;
        let mut view = Merged::new();
        let mut sets = Vec::new();
        for (i, (chain, layer)) in s.chains.iter().zip(&entries).enumerate() {
            let set = Rc::new(apply_layer(&mut view, i, layer));
            self.analysis_cache().changes.borrow_mut().entry(chain.clone()).or_insert_with(|| set.clone());
            sets.push(set);
        }
        Ok((sets, view))
    }

    /// What each layer of an image adds, modifies and removes.
    pub async fn layer_changes(&self, image: impl Into<ImageRef>) -> Result<Vec<LayerChanges>> {
        let s = self.subject(&image.into()).await?;
        let dive = self.dive_layers(&s).await?;
        let (sets, _) = self.change_sets(&s).await?;
        let diff_ids = s.config.diff_ids();
        let commands = dive::layer_commands(s.config.get()?.history(), diff_ids, diff_ids.len());
        Ok(s.chains
            .iter()
            .enumerate()
            .map(|(i, chain)| LayerChanges {
                index: i,
                diff_id: diff_ids[i].clone(),
                chain_id: chain.clone(),
                command: commands[i].0.clone(),
                size_bytes: dive[i].file_size,
                changes: sets[i].changes.clone(),
                unchanged_entries: sets[i].unchanged_entries,
                whiteouts: sets[i].whiteouts,
            })
            .collect())
    }

    /// The files of one layer of any image, or the merged filesystem at that layer (see
    /// [`Store::layer_files`]): a Docker image's from its tar-splits, a containerd image's from
    /// the same layers' tar-splits in the Docker view or else from its layer blobs (so its
    /// entries are exactly the tars', owners and times included); each through the analysis
    /// cache and entries records.
    pub async fn image_layer_files(
        &self,
        image: impl Into<ImageRef>,
        layer: Option<&LayerSelector>,
        merged_view: bool,
    ) -> Result<Vec<LayerFileEntry>> {
        let s = match image.into() {
            ImageRef::Docker(name_or_id) => return self.layer_files(&name_or_id, layer, merged_view).await,
            image @ ImageRef::Containerd { .. } => self.subject(&image).await?,
        };
        let Some(top) = layer_files::layer_index(&s.repo_tags.join(", "), s.config.diff_ids(), layer)? else {
            return Ok(Vec::new());
        };
        let first = if merged_view { 0 } else { top };
        self.prefetch_entries_records(s.sources[first..=top].iter().filter_map(LayerSource::digest)).await?;
        let mut ops = Vec::new();
        let mut layers = Vec::with_capacity(top + 1 - first);
        for i in first..=top {
            layers.push(self.analysis_entries(&s, i, &mut ops).await?);
        }
        if !ops.is_empty() {
            // Derived records: a failed write only means they are read again next time.
            let _ = self.backend().commit(ops).await;
        }
        Ok(layer_files::listing(top, &layers, merged_view))
    }

    /// The merged filesystem of an image, each file with the layer that last changed it.
    pub async fn merged_files(&self, image: impl Into<ImageRef>) -> Result<Merged> {
        let s = self.subject(&image.into()).await?;
        Ok(self.change_sets(&s).await?.1)
    }

    /// dive's view of each layer of an image (cached per layer).
    async fn dive_layers(&self, s: &Subject) -> Result<Vec<Rc<LayerNodes>>> {
        let cache = self.analysis_cache();
        let cached = |source: &LayerSource| source.digest().is_some_and(|d| cache.dive_layers.borrow().contains_key(d));
        if !s.sources.iter().all(cached) {
            let entries = self.image_entries(s).await?;
            let mut paths = cache.paths.borrow_mut();
            let mut built = cache.dive_layers.borrow_mut();
            for (source, entries) in s.sources.iter().zip(&entries) {
                let key = source.digest().expect("its entries were read").clone();
                built.entry(key).or_insert_with(|| Rc::new(LayerNodes::build(entries, &mut paths)));
            }
        }
        let built = cache.dive_layers.borrow();
        Ok(s.sources.iter().map(|source| built[source.digest().expect("built above")].clone()).collect())
    }

    /// dive's layer trees of an image.
    async fn dive_trees(&self, s: &Subject) -> Result<Vec<DiveTree>> {
        let entries = self.image_entries(s).await?;
        Ok(entries.iter().map(|e| DiveTree::from_layer(e)).collect())
    }

    /// dive's `fileList` of each layer (what `dive --json` lists), bottom first.
    pub async fn dive_file_lists(&self, image: impl Into<ImageRef>) -> Result<Vec<Vec<DiveFileInfo>>> {
        let s = self.subject(&image.into()).await?;
        Ok(self.dive_trees(&s).await?.iter().map(DiveTree::file_list).collect())
    }

    /// Wasted space, efficiency and dive's CI rules, as dive 0.13.1 reports them.
    pub async fn efficiency(&self, image: impl Into<ImageRef>, rules: &CiRules) -> Result<Efficiency> {
        let s = self.subject(&image.into()).await?;
        let layers = self.dive_layers(&s).await?;
        let a = {
            let layers: Vec<&LayerNodes> = layers.iter().map(|l| &**l).collect();
            dive_layers::analyze(&self.analysis_cache().paths.borrow(), &layers)
        };
        let rules = dive::evaluate_rules(&a, rules)?;
        let commands = dive::layer_commands(s.config.get()?.history(), s.config.diff_ids(), layers.len());
        let layers = commands
            .into_iter()
            .zip(&a.layer_sizes)
            .enumerate()
            .map(|(index, ((command, digest_id), &size_bytes))| DiveLayer { index, digest_id, command, size_bytes })
            .collect();
        Ok(Efficiency {
            size_bytes: a.size_bytes,
            user_size_bytes: a.user_size_bytes,
            inefficient_bytes: a.inefficient_bytes,
            efficiency_score: a.efficiency_score,
            wasted_user_percent: a.wasted_user_percent,
            wasted: a.wasted,
            pass: rules.iter().all(|r| r.pass != Some(false)),
            rules,
            layers,
        })
    }

    /// The files of `b` against those of `a`, and the layers they share.
    pub async fn diff_images(&self, a: impl Into<ImageRef>, b: impl Into<ImageRef>) -> Result<ImageDiff> {
        let (sa, sb) = (self.subject(&a.into()).await?, self.subject(&b.into()).await?);
        let shared = shared_prefix(&sa.chains, &sb.chains);
        let (_, ta) = self.change_sets(&sa).await?;
        let (_, tb) = self.change_sets(&sb).await?;
        Ok(ImageDiff { shared_layers: sa.config.diff_ids()[..shared].to_vec(), files: diff_trees(&ta, &tb) })
    }

    /// Every image the store holds: the Docker images in ID order, then the containerd images
    /// by namespace and name. A containerd image that cannot be analysed (no linux/amd64
    /// manifest, missing blobs) is left out of store-wide answers.
    async fn all_subjects(&self) -> Result<Subjects> {
        let mut containerd = Vec::new();
        for ns in self.containerd().namespaces().await? {
            for img in self.containerd().namespace(&ns)?.images().list(|_| true).await? {
                if let Ok(s) = self.containerd_subject(&ns, &img.name).await {
                    containerd.push(Rc::new(s));
                }
            }
        }
        Ok(Subjects { docker: self.docker_subjects(), containerd })
    }

    /// The Docker images as subjects in ID order: the ones made for the same Docker state
    /// when there are, else made now (and kept).
    fn docker_subjects(&self) -> Rc<Vec<Rc<Subject>>> {
        let d = self.docker();
        let mut kept = self.analysis_cache().docker_subjects.borrow_mut();
        if let Some(k) = kept.as_ref() {
            if k.images.same_as(&d.images) && k.layers.same_as(&d.layers) && k.references.same_as(&d.references) {
                return k.subjects.clone();
            }
        }
        let mut memo = SourceMemo::default();
        let subjects: Rc<Vec<Rc<Subject>>> =
            Rc::new(d.images.map().map(|img| Rc::new(self.docker_subject(img, &mut memo))).collect());
        *kept = Some(DockerSubjects {
            images: d.images.clone(),
            layers: d.layers.clone(),
            references: d.references.clone(),
            subjects: subjects.clone(),
        });
        subjects
    }

    /// Every image and layer that adds, changes or deletes a file matching `pattern` (see
    /// [`Pattern`]), optionally only one kind of change, in [`Self::all_subjects`]'s order,
    /// then layer order. Change sets come from the persisted search index; layers it lacks
    /// are worked out and added to it.
    pub async fn find_files(&self, pattern: &str, only: Option<ChangeKind>) -> Result<FileSearch> {
        let hits = self.find_files_grouped(pattern, only).await?;
        Ok(FileSearch { files: hits.found_files(), skipped: hits.skipped })
    }

    /// [`Self::find_files`] with each layer's hits once however many images have the layer
    /// (a base layer's files are hits in every image built on it: 367,039 hits of 10,000
    /// images for `/usr/lib/**/*.so*`, from a few hundred layers).
    pub async fn find_files_grouped(&self, pattern: &str, only: Option<ChangeKind>) -> Result<GroupedFileSearch> {
        let pattern = Pattern::parse(pattern)?;
        let (mut snapshot, mut skipped, made) = self.search_snapshot(false).await?;
        let mut found = snapshot.find(&pattern, only);
        if found.is_err() && !made {
            // A snapshot read back that does not read through (its checksum held): made again.
            (snapshot, skipped, _) = self.search_snapshot(true).await?;
            found = snapshot.find(&pattern, only);
        }
        Ok(GroupedFileSearch { skipped, ..found? })
    }

    /// The search snapshot of the store as it is now ([`search_snapshot`]), with the layers that
    /// could not be searched and whether it was made now: unless `remake`, the one in memory or
    /// the persisted one when the store is still at the generation it names and the Docker state
    /// in memory is that generation's; else made from the subjects and the search index (brought
    /// up to date first), and persisted when every layer was read and no one committed meanwhile.
    async fn search_snapshot(
        &self,
        remake: bool,
    ) -> Result<(Rc<search_snapshot::SearchSnapshot>, Vec<SkippedLayer>, bool)> {
        let cache = self.analysis_cache();
        let now = crate::storage::generation::read(self.backend()).await?;
        let current = now.as_ref().filter(|g| Some(*g) == self.generation().as_ref());
        if let Some(now) = current.filter(|_| !remake) {
            let kept = cache.search_snapshot.borrow().clone();
            if let Some(kept) = kept.filter(|s| s.generation() == now) {
                return Ok((kept, Vec::new(), false));
            }
            let record = self.backend().get(Space::Meta, schema::analysis::SEARCH_SNAPSHOT).await?;
            // A damaged or other-version record is made again below, and overwritten.
            if let Some(found) = record.and_then(|r| search_snapshot::decode(r).ok()).filter(|s| s.generation() == now)
            {
                let found = Rc::new(found);
                *cache.search_snapshot.borrow_mut() = Some(found.clone());
                return Ok((found, Vec::new(), false));
            }
        }
        let subjects = self.all_subjects().await?;
        let skipped = self.update_index_for(&subjects, true, true).await?.skipped;
        let record =
            search_snapshot::encode(now.as_deref().unwrap_or_default(), subjects.iter(), &cache.changes.borrow());
        let made = Rc::new(search_snapshot::decode(record.clone())?);
        if current.is_some() && skipped.is_empty() && crate::storage::generation::read(self.backend()).await? == now {
            // Derived: a failed write only means it is made again next time.
            let _ = self.backend().commit(vec![Op::put_meta(schema::analysis::SEARCH_SNAPSHOT, record)]).await;
            *cache.search_snapshot.borrow_mut() = Some(made.clone());
        }
        Ok((made, skipped, true))
    }

    /// The `limit` largest files of an image's merged filesystem, largest first (ties by path).
    pub async fn largest_files_of(&self, image: impl Into<ImageRef>, limit: usize) -> Result<Vec<LargeFile>> {
        let s = self.subject(&image.into()).await?;
        let (_, merged) = self.change_sets(&s).await?;
        let mut files: Vec<&crate::analysis::FileState> = merged.values().filter(|f| f.kind != "dir").collect();
        files.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
        Ok(files
            .into_iter()
            .take(limit)
            .map(|f| LargeFile { path: f.path.clone(), kind: f.kind, size: f.size, mode: f.mode, layer: f.layer })
            .collect())
    }

    /// The `limit` largest files stored in any layer of any image (a file each layer adds or
    /// rewrites, once per layer however many images share it), largest first, each with the
    /// images that have the layer. Runs on the search index.
    pub async fn largest_files_in_store(&self, limit: usize) -> Result<StoreLargestFiles> {
        let subjects = self.all_subjects().await?;
        let skipped = self.update_index_for(&subjects, true, true).await?.skipped;
        let cache = self.analysis_cache().changes.borrow();
        let mut owners: HashMap<&Digest, Vec<(&Subject, usize)>> = HashMap::new();
        // Tagged images first (the ones people know by name), then intermediate ones.
        let mut ordered: Vec<&Subject> = subjects.iter().collect();
        ordered.sort_by_key(|s| s.repo_tags.is_empty());
        for s in ordered {
            for (i, chain) in s.chains.iter().enumerate() {
                owners.entry(chain).or_default().push((s, i));
            }
        }
        let mut found: Vec<(&Digest, &Change)> = Vec::new();
        for (chain, _) in owners.iter() {
            let Some(set) = cache.get(*chain) else { continue };
            found.extend(
                set.changes.iter().filter(|c| c.change != ChangeKind::Removed && c.kind != "dir").map(|c| (*chain, c)),
            );
        }
        found
            .sort_by(|(ca, a), (cb, b)| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)).then_with(|| ca.cmp(cb)));
        let files = found
            .into_iter()
            .take(limit)
            .map(|(chain, c)| {
                let holders = &owners[chain];
                let (first, at) = holders[0];
                StoredFile {
                    path: c.path.clone(),
                    kind: c.kind,
                    size: c.size,
                    mode: c.mode,
                    diff_id: first.config.diff_ids()[at].clone(),
                    chain_id: chain.clone(),
                    images: holders
                        .iter()
                        .map(|(s, layer)| FileOwner {
                            image: s.id.clone(),
                            repo_tags: s.repo_tags.clone(),
                            namespace: s.namespace.clone(),
                            layer: *layer,
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(StoreLargestFiles { files, skipped })
    }

    /// dockerd's `GET /system/df` (API v1.41): the images as `GET /images/json` lists them
    /// with SharedSize and Containers filled in, and LayersSize. There are no containers,
    /// volumes or build cache here.
    pub fn system_df(&self) -> Result<Value> {
        let d = self.docker();
        let Value::Array(mut listed) = crate::docker::engine::list_images(d, false, false, &Default::default())? else {
            return Err(Error::corrupt("image list is not a list"));
        };
        let listed_ids: Vec<Digest> =
            listed.iter().map(|v| Digest::parse(v["Id"].as_str().unwrap_or_default())).collect::<Result<_>>()?;
        let all: Vec<&crate::docker::images::Image> = d.images.map().collect();
        let chains: Vec<Vec<Digest>> = all.iter().map(|i| Self::chains_of(i.config.diff_ids())).collect();
        let inputs: Vec<crate::analysis::df::DfImage<Digest>> = all
            .iter()
            .zip(&chains)
            .map(|(img, c)| crate::analysis::df::DfImage { chains: c, listed: listed_ids.contains(img.id()) })
            .collect();
        let diff_size = |c: &Digest| d.layers.get(c).map_or(0, |l| l.size);
        let (shared, layers_size) = crate::analysis::df::disk_usage(&inputs, diff_size);
        for v in listed.iter_mut() {
            let id = Digest::parse(v["Id"].as_str().unwrap_or_default())?;
            let at = all.iter().position(|i| *i.id() == id).expect("listed images exist");
            v["Containers"] = json!(0);
            v["SharedSize"] = json!(shared[at]);
        }
        Ok(json!({
            "LayersSize": layers_size,
            "Images": listed,
            "Containers": [],
            "Volumes": [],
            "BuildCache": null,
            "BuilderSize": 0,
        }))
    }
}
