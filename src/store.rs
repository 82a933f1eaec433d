//! The store façade: one backend, the Docker view's in-memory state over it, and the
//! containerd view on the same backend; the only module that knows both views. Imports are
//! committed into either view here, and the rule that blobs are shared by the two views
//! ([`crate::schema::blob`]) lives here once (see [`Store::gc`] and [`Store::commit_docker`]).
//!
//! Every mutation of the Docker view is one `Backend::commit`; the in-memory state changes only
//! after that commit succeeded (mutations run on a copy that replaces the current state on
//! success). The record layout is [`crate::schema`].
//!
//! # Other writers (tabs, windows, workers, other `Store` objects on the same database)
//!
//! The in-memory state is a cache of the records at one [`generation`]. Every mutation is
//! decided on that state and committed with a guard on that generation; if anyone committed in
//! between, the commit fails as a whole, the state is reloaded from storage and the mutation is
//! decided again (so `rmi` of one tag of an image another tab just tagged only untags, as one
//! dockerd would). The same holds for imports (Docker and containerd) and GC. Reads call
//! [`Store::sync`] first to see other writers' changes.

use crate::containerd::{Containerd, GcResult};
use crate::digest::Digest;
use crate::docker::engine::{self, DeleteItem};
use crate::docker::images::check_config;
use crate::docker::layer_files::{self, LayerFileEntry, LayerSelector};
use crate::docker::list::Filters;
use crate::docker::list::ListMemo;
use crate::docker::list_answer;
use crate::docker::list_columns::ListColumns;
use crate::docker::model::{DockerImport, Skipped};
use crate::docker::tx::Tx;
use crate::error::{Error, Result};
use crate::import::{CancelCheck, Finished, ImportOptions, ImportReport, Imported, Importer};
use crate::storage::generation::{self, Committed, Generation};
use crate::storage::{blob_packs, blobs, Backend, Op};
use futures::{Stream, StreamExt};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

pub use crate::docker::state::{DockerImportOutcome, DockerState};

pub struct Store<B: Backend> {
    backend: B,
    docker: DockerState,
    /// The containerd view: it keeps no state but its open-ingest locks, and reads its records
    /// from the backend on every call.
    containerd: Containerd<B>,
    /// The generation `docker` was loaded at or last committed.
    generation: Generation,
    /// What [`Store::open`] (or the last reload) could not restore, with the reason.
    restore_skipped: Vec<Skipped>,
    /// Parsed tar-splits and change sets for the analyses (`crate::store_analysis`).
    analysis: crate::store_analysis::AnalysisCache,
    /// Merged trees of the images files were last read from (`crate::contents::files`).
    trees: crate::contents::files::TreeCache,
    /// The last few `GET /images/json` answers, valid while `docker` is the state they came from.
    list_memo: ListMemo,
    /// The saved list answer for all images (`[0]`) and for the top-level ones (`[1]`), each
    /// tried once per load (see [`Store::list_images_columns_or_saved`]).
    saved_lists: RefCell<[SavedList; 2]>,
}

/// Where a store stands with one kind of saved list answer since its state was loaded.
enum SavedList {
    /// Not read yet: the first unfiltered list of its kind reads it.
    Unread,
    /// Read while the store opened (the record, not checked yet), for that first list.
    Read(Vec<u8>),
    /// Tried, missing, or of no use (the store changed since).
    Done,
}

impl SavedList {
    fn from_record(record: Option<Vec<u8>>) -> Self {
        record.map_or(SavedList::Done, SavedList::Read)
    }
}

/// Reads the Docker view between two reads of the generation: if another writer committed in
/// between, the reads may mix two states, so they are done again. Config summary shards that
/// did not match are rewritten and single records of a store not packed yet are packed
/// (guarded like any commit; a failure to write them does not fail the load: the next open
/// tries again).
async fn load_consistent<B: Backend>(b: &B) -> Result<(DockerState, Vec<Skipped>, Generation)> {
    for _ in 0..generation::MAX_ATTEMPTS {
        let before = generation::read(b).await?;
        let loaded = DockerState::load(b).await?;
        if generation::read(b).await? != before {
            continue;
        }
        let mut at = before;
        if !loaded.repairs.is_empty() {
            if let Ok(Committed::At(g)) = generation::commit_at(b, &at, loaded.repairs).await {
                at = Some(g);
            }
        }
        return Ok((loaded.state, loaded.skipped, at));
    }
    Err(generation::too_busy("loading the Docker image store"))
}

impl<B: Backend + Clone> Store<B> {
    /// Opens a store over `backend`, rebuilding the Docker view's state from its records. Config
    /// summary shards that did not match (missing, stale or corrupt) are rewritten; that write
    /// is only a cache refresh, so its failure does not fail the open.
    ///
    /// The saved list answers are read meanwhile, for the first lists: a page lists as soon as
    /// the store is open, and at 10,000 images that read, made by the first list, was a third of
    /// it in Chromium; made while the open waits for its own records, it costs the open little.
    pub async fn open(backend: B) -> Result<Self> {
        let (loaded, [all, top]) =
            futures::future::join(load_consistent(&backend), list_answer::read_records(&backend)).await;
        let (docker, restore_skipped, generation) = loaded?;
        let containerd = Containerd::new(backend.clone());
        Ok(Store {
            backend,
            docker,
            containerd,
            generation,
            restore_skipped,
            analysis: Default::default(),
            trees: Default::default(),
            list_memo: Default::default(),
            saved_lists: RefCell::new([SavedList::from_record(all), SavedList::from_record(top)]),
        })
    }

    /// A store over `backend` whose state is not loaded yet: [`Store::recover`] must run before
    /// anything else. The JS bindings put one in place of a façade that an abandoned call (a
    /// panic caught at the JS boundary) left locked; `containerd` keeps the ingest locks shared.
    pub fn unloaded(backend: B, containerd: Containerd<B>) -> Self {
        Store {
            backend,
            docker: DockerState::default(),
            containerd,
            generation: None,
            restore_skipped: Vec::new(),
            analysis: Default::default(),
            trees: Default::default(),
            list_memo: Default::default(),
            saved_lists: RefCell::new([SavedList::Done, SavedList::Done]),
        }
    }
}

impl<B: Backend> Store<B> {
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The Docker stores (read-only; change them through [`Store::commit_docker`]).
    pub fn docker(&self) -> &DockerState {
        &self.docker
    }

    /// The containerd view (clones share its open-ingest locks).
    pub fn containerd(&self) -> &Containerd<B> {
        &self.containerd
    }

    pub(crate) fn tree_cache(&self) -> &crate::contents::files::TreeCache {
        &self.trees
    }

    pub(crate) fn analysis_cache(&self) -> &crate::store_analysis::AnalysisCache {
        &self.analysis
    }

    /// Records that [`Store::open`] found but could not restore, with the reason.
    pub fn restore_skipped(&self) -> &[Skipped] {
        &self.restore_skipped
    }

    /// Reloads the state if anyone committed since it was loaded (another tab, another `Store`
    /// object, this store's containerd view). Returns whether it reloaded.
    pub async fn sync(&mut self) -> Result<bool> {
        if generation::read(&self.backend).await? == self.generation {
            return Ok(false);
        }
        self.reload().await?;
        Ok(true)
    }

    /// Loads the state from the backend again, whatever the generation says, and drops the
    /// analysis caches: after a call was abandoned midway, nothing in memory is trusted.
    pub async fn recover(&mut self) -> Result<()> {
        self.analysis = Default::default();
        self.reload().await
    }

    /// This store's own commit moved the store to generation `g`. The saved list answers then
    /// list a state that is gone: not worth a read.
    fn committed_at(&mut self, g: String) {
        self.generation = Some(g);
        self.saved_lists = RefCell::new([SavedList::Done, SavedList::Done]);
    }

    async fn reload(&mut self) -> Result<()> {
        let (docker, skipped, generation) = load_consistent(&self.backend).await?;
        (self.docker, self.restore_skipped, self.generation) = (docker, skipped, generation);
        // Another tab may have saved the list it made of this state.
        self.saved_lists = RefCell::new([SavedList::Unread, SavedList::Unread]);
        Ok(())
    }

    /// The generation the in-memory state reflects.
    pub fn generation(&self) -> &Generation {
        &self.generation
    }

    /// Runs one mutation of the Docker stores: `change` works on a copy of the state and
    /// fills a [`Tx`]; the Tx is committed atomically, and only then does the copy become the
    /// current state. If `change` or the commit fails, nothing changed. If another writer
    /// committed since the state was loaded, the state is reloaded and `change` runs again on
    /// the current data.
    pub async fn commit_docker<R>(
        &mut self,
        mut change: impl FnMut(&mut DockerState, &mut Tx) -> Result<R>,
    ) -> Result<R> {
        self.sync().await?;
        for _ in 0..generation::MAX_ATTEMPTS {
            let mut next = self.docker.clone();
            let mut tx = Tx::new();
            let out = change(&mut next, &mut tx)?;
            // Layer tars no remaining layer uses go with the last layer of their DiffID.
            next.contents.drop_unused(&mut tx, &next.layers);
            let summary = next.summary_ops(&tx.images_changed);
            tx.ops.extend(summary);
            match self.commit_tx(tx).await? {
                Committed::At(g) => {
                    self.committed_at(g);
                    self.docker = next;
                    return Ok(out);
                }
                Committed::Stale => self.reload().await?,
            }
        }
        Err(generation::too_busy("changing the Docker image store"))
    }

    /// Runs `change` as [`Store::commit_docker`] would, on a copy of the state, and returns its
    /// answer without committing anything: what an operation would do (`removeImage`'s
    /// `dryRun`). The copy-on-write state makes the copy cheap.
    pub fn preview_docker<R>(&self, change: impl FnOnce(&mut DockerState, &mut Tx) -> Result<R>) -> Result<R> {
        change(&mut self.docker.clone(), &mut Tx::new())
    }

    /// Commits `tx` if the store is still at the state's generation. Blobs stored meanwhile
    /// (another tab, a containerd namespace) are kept and this copy discarded.
    async fn commit_tx(&self, tx: Tx) -> Result<Committed> {
        let mut ops = crate::docker::packed::pack_ops(&self.backend, tx.ops).await?;
        ops.extend(self.unused_blob_deletes(&tx.dead_blobs).await?);
        let duplicates = blob_packs::pack_commit(&self.backend, &mut ops).await?;
        if ops.is_empty() {
            return Ok(Committed::At(self.generation.clone().unwrap_or_default()));
        }
        let committed = generation::commit_at(&self.backend, &self.generation, ops).await?;
        if matches!(committed, Committed::At(_)) {
            blobs::discard_all(&self.backend, &duplicates).await;
        }
        Ok(committed)
    }

    // ---- blobs shared by the two views -------------------------------------------------------

    /// The operations that delete blobs the Docker view no longer uses, except those that are
    /// still content in a containerd namespace.
    async fn unused_blob_deletes(&self, dropped: &[Digest]) -> Result<Vec<Op>> {
        let mut ops = Vec::new();
        for d in dropped {
            if self.containerd_uses(d).await? {
                continue;
            }
            if let Some(rec) = blobs::stat(&self.backend, d).await? {
                ops.extend(blobs::delete_ops(d, &rec));
            }
        }
        Ok(ops)
    }

    /// Whether a blob the Docker view drops is still content in a containerd namespace (then
    /// Docker's `rmi` keeps it).
    async fn containerd_uses(&self, d: &Digest) -> Result<bool> {
        crate::containerd::any_namespace_has_content(&self.backend, d).await
    }

    /// The blobs the Docker view uses (image configs under their ID, layers' tar-splits and
    /// stored layer tars):
    /// containerd's GC keeps them as roots.
    fn docker_blobs(&self) -> HashSet<Digest> {
        let docker = &self.docker;
        let mut roots: HashSet<Digest> = docker.images.map().map(|img| img.id().clone()).collect();
        roots.extend(docker.layers.records().filter_map(|l| l.tar_split.clone()));
        roots.extend(docker.contents.records().map(|r| r.blob.clone()));
        roots
    }

    /// moby's `image.Store.Create`: stores `config` (exact bytes) and registers the image.
    /// Its layers must already be in the layer store.
    pub async fn create_image(&mut self, config: &[u8]) -> Result<Digest> {
        let (parsed, top) = check_config(config)?;
        let id = parsed.id();
        if self.docker.images.contains(&id) {
            return Ok(id);
        }
        let staged = blobs::stage_bytes(&self.backend, config).await?;
        let parsed = Rc::new(parsed);
        let set = staged.set.clone();
        // If the config is stored by now (another tab, a containerd namespace), the commit keeps
        // the stored blob and discards this copy (see `commit_tx`).
        let result = self
            .commit_docker(|d, tx| d.images.create(tx, &mut d.layers, parsed.clone(), top.clone(), staged.ops.clone()))
            .await;
        if result.is_err() {
            blobs::discard(&self.backend, &set).await?;
        }
        result
    }

    /// Persists a Docker import in one commit (records + its staged blobs) and merges it into
    /// the state. Things already present are kept as they are, so importing the same data twice
    /// changes nothing. Staged blobs that turn out not to be needed are discarded; on any error
    /// all of them are, and the store is exactly as before.
    pub async fn apply_docker_import(&mut self, import: DockerImport) -> Result<DockerImportOutcome> {
        let staged_sets: Vec<String> = import
            .images
            .iter()
            .map(|i| &i.blob.set)
            .chain(import.tar_splits.iter().map(|b| &b.set))
            .chain(import.layer_blobs.iter().map(|(_, b)| &b.set))
            .cloned()
            .collect();
        let result = self.merge_docker_import(&import).await;
        if result.is_err() {
            // The original error is what matters; chunk sets a failed discard leaves behind
            // are orphans that `blobs::sweep_orphans` collects later.
            let _ = blobs::discard_many(&self.backend, &staged_sets).await;
        }
        result
    }

    /// Merges an import into the current data: planned on the state at its generation and
    /// committed with a guard on it, planned again if another writer got in between.
    async fn merge_docker_import(&mut self, import: &DockerImport) -> Result<DockerImportOutcome> {
        self.sync().await?;
        for _ in 0..generation::MAX_ATTEMPTS {
            check_load_depth(&self.docker, import)?;
            let mut plan = crate::docker::state::merge_import(&self.backend, &self.docker, import.clone()).await?;
            let mut ops = crate::docker::packed::pack_ops(&self.backend, std::mem::take(&mut plan.ops)).await?;
            ops.extend(self.unused_blob_deletes(&plan.replaced_blobs).await?);
            // Configs may be stored already as containerd content: kept, this copy discarded.
            let duplicates = blob_packs::pack_commit(&self.backend, &mut ops).await?;
            plan.outcome.blobs -= duplicates.len();
            if ops.is_empty() {
                // Nothing to write, if the data planned on is still current.
                if generation::read(&self.backend).await? != self.generation {
                    self.reload().await?;
                    continue;
                }
            } else {
                match generation::commit_at(&self.backend, &self.generation, ops).await? {
                    Committed::At(g) => self.committed_at(g),
                    Committed::Stale => {
                        self.reload().await?;
                        continue;
                    }
                }
            }
            // Committed: from here on nothing may fail. A failed discard of an unused chunk set
            // leaves an orphan for `blobs::sweep_orphans`.
            blobs::discard_all(&self.backend, &plan.unused_sets).await;
            blobs::discard_all(&self.backend, &duplicates).await;
            self.docker = plan.next;
            return Ok(plan.outcome);
        }
        Err(generation::too_busy("importing"))
    }
}

/// Configs a reopened store has not read yet (it keeps only their list facts, see
/// [`crate::docker::lazy_config`]): the calls that need a whole config (inspect, history,
/// export, dive's commands) read them first with these.
impl<B: Backend> Store<B> {
    /// Reads the configs of `ids` that are not in memory from their blobs (verified against
    /// the ID); every copy of the state keeps them. Unknown IDs are skipped.
    pub async fn load_configs<'a>(&self, ids: impl IntoIterator<Item = &'a Digest>) -> Result<()> {
        let wanted: Vec<_> = ids
            .into_iter()
            .filter_map(|id| self.docker.images.get(id).ok())
            .filter(|img| !img.config.is_loaded())
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let reader = blobs::BulkReader::new();
        let ids: Vec<&Digest> = wanted.iter().map(|img| img.id()).collect();
        for img in crate::storage::blob_packs::pack_order(&ids).into_iter().map(|i| wanted[i]) {
            if img.config.is_loaded() {
                continue; // named twice
            }
            img.config.fill(crate::docker::state::load_config_from(&reader, &self.backend, img.id()).await?);
        }
        Ok(())
    }

    /// [`Store::load_configs`] of the image `name_or_id` names (one that names none is left for
    /// the call that follows to report).
    pub async fn load_config_of(&self, name_or_id: &str) -> Result<()> {
        match engine::get_image(&self.docker, name_or_id) {
            Ok(img) => {
                let id = img.id().clone();
                self.load_configs([&id]).await
            }
            Err(_) => Ok(()),
        }
    }

    /// [`Store::load_configs`] of the images a `save` of `names` exports.
    pub async fn load_configs_to_save(&self, names: &[String]) -> Result<()> {
        match crate::contents::docker_save::resolve_names(&self.docker, names) {
            Ok(items) => self.load_configs(items.iter().map(|i| &i.id)).await,
            Err(_) => Ok(()),
        }
    }
}

/// The Engine API's image operations (dockerd 20.10's rules, in [`crate::docker::engine`]);
/// writes are one commit each.
impl<B: Backend + Clone> Store<B> {
    /// `GET /images/json`.
    pub fn list_images(&self, all: bool, digests: bool, filters: &Filters) -> Result<Value> {
        let _ = digests; // the API's answer is the same either way (the CLI uses it for its columns)
        let text = self.list_images_json(all, filters)?;
        Ok(serde_json::from_str(&text).expect("the list's own JSON text parses"))
    }
    /// `GET /images/json` as the JSON text dockerd sends, remembered while the store does not
    /// change: asked again on the same state, it is the same text (the same `Rc`).
    pub fn list_images_json(&self, all: bool, filters: &Filters) -> Result<Rc<String>> {
        self.list_memo.list_images_json(&self.docker, all, filters)
    }
    /// The same answer as columns (see [`crate::docker::list_columns`]), remembered likewise.
    pub fn list_images_columns(&self, all: bool, filters: &Filters) -> Result<Rc<ListColumns>> {
        self.list_memo.list_images_columns(&self.docker, all, filters)
    }
    /// [`Store::list_images_columns`] for a caller that can wait for one read: the first
    /// unfiltered list of each kind after a load takes the saved answer ([`list_answer`]) if it
    /// lists the state loaded, so that the list a page shows after a reload walks no image (at
    /// 10,000 images the walk was half of that call in Chromium). Tried once per load, and not
    /// after a change of this store's (the answer then lists a state that is gone): a read
    /// whose answer cannot be used costs 1.3 MB at 10,000 images. [`Store::open`] reads both
    /// answers alongside its own reads; after a reload they are read when asked. A record is
    /// checked here, not while opening: an earlier build that read and checked them as part of
    /// the open made it 50 ms slower in Chromium; this way the open did not measurably change.
    pub async fn list_images_columns_or_saved(&self, all: bool, filters: &Filters) -> Result<Rc<ListColumns>> {
        if filters.is_empty() {
            let saved = std::mem::replace(&mut self.saved_lists.borrow_mut()[usize::from(!all)], SavedList::Done);
            let record = match saved {
                SavedList::Unread => list_answer::read_record(&self.backend, all).await,
                SavedList::Read(record) => Some(record),
                SavedList::Done => None,
            };
            if let (Some(record), Some(at)) = (record, &self.generation) {
                if let Ok(columns) = list_answer::decode(&record, at, all) {
                    self.list_memo.remember_columns(&self.docker, all, columns);
                }
            }
        }
        self.list_images_columns(all, filters)
    }
    /// Saves the unfiltered list's answer for `all` (see [`crate::docker::list_answer`]) as of
    /// the store's current state, unless the store already holds it; returns whether it wrote.
    /// A store never written saves none.
    pub async fn save_list_answer(&mut self, all: bool) -> Result<bool> {
        self.sync().await?;
        let Some(at) = self.generation.clone() else {
            return Ok(false);
        };
        if list_answer::is_saved(&self.backend, &at, all).await? {
            return Ok(false);
        }
        let columns = self.list_images_columns(all, &Filters::new())?;
        self.backend.commit(list_answer::save_ops(&at, all, &columns)).await?;
        Ok(true)
    }
    /// `GET /images/{name}/json`.
    pub fn inspect_image(&self, name_or_id: &str) -> Result<Value> {
        engine::inspect_image(&self.docker, name_or_id)
    }
    /// `GET /images/{name}/history`.
    pub fn image_history(&self, name_or_id: &str) -> Result<Value> {
        engine::image_history(&self.docker, name_or_id)
    }
    /// The full image ID a partial one stands for.
    pub fn search(&self, partial: &str) -> Result<Digest> {
        engine::search(&self.docker, partial)
    }
    pub fn image_parent(&self, name_or_id: &str) -> Result<Option<Digest>> {
        engine::image_parent(&self.docker, name_or_id)
    }
    pub fn image_children(&self, name_or_id: &str) -> Result<Vec<Digest>> {
        engine::image_children(&self.docker, name_or_id)
    }
    pub fn image_heads(&self) -> Vec<Digest> {
        engine::image_heads(&self.docker)
    }
    /// `DELETE /images/{name}`: the answer as `[{Untagged}|{Deleted}]`.
    pub async fn remove_image(&mut self, name_or_id: &str, force: bool, noprune: bool) -> Result<Value> {
        let layers_before = self.docker.layers.clone();
        let items = self.commit_docker(|d, tx| engine::remove_image(d, tx, name_or_id, force, noprune)).await?;
        // The search index is kept by ChainID: when no layer changed (an untag; an image
        // deleted releases its top layer, which changes the map) it has nothing to follow, and
        // bringing it up to date walks every image (~0.4 s at 10,000 images natively).
        if !self.docker.layers.same_as(&layers_before) {
            self.search_index_after_change(false).await;
        }
        Ok(Value::Array(items.iter().map(DeleteItem::to_json).collect()))
    }
    /// What `remove_image` would answer, worked out on a copy of the state: nothing is committed.
    pub fn remove_image_dry_run(&self, name_or_id: &str, force: bool, noprune: bool) -> Result<Value> {
        let items = self.preview_docker(|d, tx| engine::remove_image(d, tx, name_or_id, force, noprune))?;
        Ok(Value::Array(items.iter().map(DeleteItem::to_json).collect()))
    }
    /// What `tag_image` would do, on a copy of the state: the new tag as `RepoTags` will show
    /// it (`busybox:latest`), or the error dockerd gives for the image, the repository name or
    /// the tag. Nothing is committed.
    pub fn tag_image_dry_run(&self, name_or_id: &str, repo: &str, tag: &str) -> Result<String> {
        let now = crate::storage::now().to_rfc3339_nano();
        let familiar = self.preview_docker(|d, tx| engine::tag_image(d, tx, name_or_id, repo, tag, now))?;
        Ok(crate::formats::reference::Reference::parse_normalized_named(&familiar)?
            .with_default_tag()
            .familiar_string())
    }
    /// `POST /images/{name}/tag?repo=&tag=`; returns the new tag's familiar form.
    pub async fn tag_image(&mut self, name_or_id: &str, repo: &str, tag: &str) -> Result<String> {
        let now = crate::storage::now().to_rfc3339_nano();
        self.commit_docker(|d, tx| engine::tag_image(d, tx, name_or_id, repo, tag, now.clone())).await
    }
    /// The files of one layer of an image (whiteout markers included), or the merged
    /// filesystem at that layer (see [`layer_files::merged`]); `layer` defaults to the top one.
    /// The layers' entries come from the analysis cache or their entries records, so a listing
    /// after an analysis (or a reload) does not inflate and decode tar-splits again.
    pub async fn layer_files(
        &self,
        name_or_id: &str,
        layer: Option<&LayerSelector>,
        merged_view: bool,
    ) -> Result<Vec<LayerFileEntry>> {
        let Some((top, tar_splits)) = layer_files::listing_tar_splits(&self.docker, name_or_id, layer, merged_view)?
        else {
            return Ok(Vec::new());
        };
        let layers = self.tar_split_entries(&tar_splits).await?;
        Ok(layer_files::listing(top, &layers, merged_view))
    }
}

impl<B: Backend + Clone> Store<B> {
    /// containerd's garbage collection over every namespace, with the blobs the Docker view
    /// uses as extra roots: decided on the current data of both views, again if another writer
    /// committed meanwhile (else a blob another tab just imported could be swept).
    pub async fn gc(&mut self) -> Result<GcResult> {
        for _ in 0..generation::MAX_ATTEMPTS {
            self.sync().await?;
            if let Some(result) = self.containerd.gc_at(&self.docker_blobs(), &self.generation).await? {
                self.search_index_after_change(false).await;
                return Ok(result);
            }
        }
        Err(generation::too_busy("garbage collection"))
    }
}

/// `docker load` registers each layer its store lacks on top of the one below, and moby 20.10's
/// layer store refuses a layer whose parent is already `MAX_LAYER_DEPTH` (125) deep: "max depth
/// exceeded", and the whole load fails. Layers the store holds already are not registered again,
/// and a restored image store registers nothing, so deeper chains from there stay allowed.
fn check_load_depth(current: &DockerState, import: &DockerImport) -> Result<()> {
    use crate::docker::layers::MAX_LAYER_DEPTH;
    for image in &import.loaded {
        let mut layers = image.layers.iter().enumerate().skip(MAX_LAYER_DEPTH);
        if layers.any(|(_, l)| current.layers.get(&l.chain_id).is_none()) {
            return Err(Error::invalid(format!(
                "max depth exceeded: image {} has {} layers, and docker load registers no new layer deeper \
                 than {MAX_LAYER_DEPTH}",
                image.id,
                image.layers.len()
            )));
        }
    }
    Ok(())
}

/// Imports through the façade: the streaming importer stages blobs, then one commit makes the
/// result visible.
impl<B: Backend + Clone> Store<B> {
    /// Imports a tarball given as a stream of chunks (see [`stream_import`]) and commits the
    /// result in one commit ([`Store::commit_import`]). On any error, or when `options` says
    /// the import was cancelled, the store is exactly as before.
    pub async fn import<S>(&mut self, input: S, options: ImportOptions) -> Result<ImportReport>
    where
        S: Stream<Item = Result<Vec<u8>>> + Unpin,
    {
        let finished = stream_import(&self.backend, input, options).await?;
        self.commit_import(finished).await
    }

    /// Commits what an import produced, in one commit. The report's counts become what the
    /// commit actually added (0 for a tarball imported before), and what the merge left out
    /// joins its `skipped`.
    pub async fn commit_import(&mut self, finished: Finished) -> Result<ImportReport> {
        let Finished { imported, mut report } = finished;
        // dockerd loads (with a "Loading layer" bar) the layers its store lacks, once each.
        let mut seen = std::collections::BTreeSet::new();
        for layer in report.loaded.iter_mut().flat_map(|item| item.layers.iter_mut()) {
            layer.loaded = self.docker.layers.get(&layer.chain_id).is_none() && seen.insert(layer.chain_id.clone());
        }
        let (outcome, layers_with_tars) = match imported {
            Imported::DockerImageStore(import) | Imported::DockerLoad(import) => {
                // The import's layers (chain IDs) whose tars it stores.
                let stored: std::collections::HashSet<&Digest> =
                    import.layer_blobs.iter().map(|(r, _)| &r.diff_id).collect();
                let layers: Vec<Digest> =
                    import.layers.iter().filter(|l| stored.contains(&l.diff_id)).map(|l| l.chain_id.clone()).collect();
                (self.apply_docker_import(import).await?, layers)
            }
            Imported::Containerd { import, .. } => {
                // containerd's records are read from storage on every call: one commit is all.
                if let Err(e) = self.commit_containerd_import(&import).await {
                    blobs::discard_all(&self.backend, &import.kept_sets).await;
                    return Err(e);
                }
                self.search_index_after_change(true).await;
                return Ok(report);
            }
        };
        report.images = outcome.images;
        report.layers = outcome.layers;
        report.references = outcome.references;
        report.blobs = outcome.blobs;
        report.skipped.extend(outcome.skipped);
        self.search_index_after_change(true).await;
        self.index_files_of_layers(&layers_with_tars).await;
        Ok(report)
    }

    /// Writes the entries records (each member with its data offset) of the imported layers
    /// (`chains`) whose tars are stored, so that the first file read of their images, even
    /// after a reload, decodes compact records instead of inflating tar-splits. It looks up only
    /// the import's own layers, in the state the import committed (whose record, and so whose
    /// tar-split, a layer has is the merge's choice). Derived data: a failure only leaves the
    /// work to that first read.
    async fn index_files_of_layers(&self, chains: &[Digest]) {
        let tar_splits: Vec<Digest> = chains
            .iter()
            .filter_map(|chain| self.docker.layers.get(chain))
            .filter(|l| self.docker.contents.contains(&l.diff_id))
            .filter_map(|l| l.tar_split.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !tar_splits.is_empty() {
            let _ = self.tar_split_entries(&tar_splits).await;
        }
    }
}

impl<B: Backend> Store<B> {
    /// Commits a containerd import. Its blobs are published only if nobody stored them since
    /// the import looked (four imports of the same archive at once publish each blob once; the
    /// other copies are discarded), decided at the generation the commit is guarded on.
    async fn commit_containerd_import(&mut self, import: &crate::import::ContainerdImport) -> Result<()> {
        for _ in 0..generation::MAX_ATTEMPTS {
            let at = generation::read(&self.backend).await?;
            let mut ops = import.ops.clone();
            // Labels another tab or import gave the same records since this import read them.
            crate::containerd::label_merge::merge_into_current(&self.backend, &mut ops).await?;
            let duplicates = blob_packs::pack_commit(&self.backend, &mut ops).await?;
            match generation::commit_at(&self.backend, &at, ops).await? {
                Committed::At(g) => {
                    // The Docker state is still current if it was before: this commit wrote
                    // only containerd records and blobs.
                    if at == self.generation {
                        self.committed_at(g);
                    }
                    blobs::discard_all(&self.backend, &duplicates).await;
                    return Ok(());
                }
                Committed::Stale => continue,
            }
        }
        Err(generation::too_busy("importing into containerd"))
    }
}

/// Runs the importer over a stream of chunks. It writes only staged (invisible) blobs and does
/// not touch a store's state, so it may run while other operations use the store; commit its
/// result with [`Store::commit_import`]. On an error from the stream, the importer or a
/// cancellation (polled between chunks and once more at the end), everything staged is
/// discarded.
pub async fn stream_import<B, S>(backend: &B, mut input: S, mut options: ImportOptions) -> Result<Finished>
where
    B: Backend,
    S: Stream<Item = Result<Vec<u8>>> + Unpin,
{
    let cancelled: Option<Rc<dyn Fn() -> bool>> = options.is_cancelled.take().map(Rc::from);
    if let Some(c) = &cancelled {
        let c = c.clone();
        options.is_cancelled = Some(Box::new(move || c()) as CancelCheck);
    }
    let mut importer = Importer::new(options);
    while let Some(chunk) = input.next().await {
        match chunk {
            Ok(bytes) => importer.push(backend, &bytes).await?,
            Err(e) => {
                let _ = importer.abort(backend).await;
                return Err(e);
            }
        }
    }
    let finished = importer.finish(backend).await?;
    if cancelled.is_some_and(|c| c()) {
        let _ = finished.imported.discard(backend).await;
        return Err(Error::aborted("import cancelled before its commit"));
    }
    Ok(finished)
}
