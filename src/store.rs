//! The store façade: one backend and the Docker view's in-memory state over it, plus imports
//! committed into either view. The containerd view ([`crate::containerd::Containerd`]) needs
//! no state here: it reads its records from the same backend on every call, and the blobs
//! (`blob/<digest>`) are shared by both views (Docker's `rmi` keeps those a namespace lists).
//!
//! # Record layout in `Space::Meta` (every key the Docker stores write)
//!
//! ```text
//! blob/<digest>                                  blob record (crate::storage::blobs): image configs
//!                                                under their image ID, tar-split.json.gz by digest
//! docker/graphdriver                             graph driver name, text (e.g. "overlay2")
//! docker/image/<image id>                        ImageRecord JSON {id, parent, last_updated, built_locally}
//!                                                (imagedb/metadata; the config is blob/<image id>)
//! docker/layer/<chain id>                        LayerRecord JSON {chain_id, diff_id, size, cache_id,
//!                                                parent, tar_split, descriptor} (layerdb/sha256/<chain>)
//! docker/ref/<familiar reference>                ReferenceRecord JSON {repository, image}
//!                                                (one entry of repositories.json)
//! docker/dist/diffid-by-digest/<blob digest>     DiffID text (distribution/diffid-by-digest)
//! docker/dist/v2metadata-by-diffid/<diff id>     JSON array of V2Metadata (distribution/v2metadata-by-diffid)
//! ```
//!
//! Everything else (children, digest set, reference counts, by-ID reference index) is derived
//! and rebuilt by [`Store::open`]. Every mutation is one `Backend::commit`; the in-memory state
//! changes only after that commit succeeded (mutations run on a copy that replaces the current
//! state on success).

use crate::digest::Digest;
use crate::docker::distribution::DistributionStore;
use crate::docker::images::{check_config, ImageStore};
use crate::docker::layers::LayerStore;
use crate::docker::model::{DockerImport, ImageRecord, LayerRecord, Skipped, V2Metadata};
use crate::docker::references::{ReferenceRecord, ReferenceStore};
use crate::docker::tx::Tx;
use crate::error::{Error, Result};
use crate::formats::image_config::ImageConfig;
use crate::import::{CancelCheck, Finished, ImportOptions, ImportReport, Imported, Importer};
use crate::storage::{blobs, corrupt_record, decode_record, Backend, Op, Space};
use futures::{Stream, StreamExt};
use std::rc::Rc;

/// The keys of the record layout above.
pub mod keys {
    use crate::digest::Digest;

    pub const GRAPH_DRIVER: &str = "docker/graphdriver";
    pub const IMAGES: &str = "docker/image/";
    pub const LAYERS: &str = "docker/layer/";
    pub const REFERENCES: &str = "docker/ref/";
    pub const DIFFID_BY_DIGEST: &str = "docker/dist/diffid-by-digest/";
    pub const V2METADATA: &str = "docker/dist/v2metadata-by-diffid/";

    pub fn image(id: &Digest) -> String {
        format!("{IMAGES}{id}")
    }
    pub fn layer(chain: &Digest) -> String {
        format!("{LAYERS}{chain}")
    }
    pub fn reference(familiar: &str) -> String {
        format!("{REFERENCES}{familiar}")
    }
    pub fn diffid_by_digest(blob: &Digest) -> String {
        format!("{DIFFID_BY_DIGEST}{blob}")
    }
    pub fn v2metadata(diff_id: &Digest) -> String {
        format!("{V2METADATA}{diff_id}")
    }
}

/// moby's graphdriver image store in memory: the four stores and the driver name.
#[derive(Debug, Clone, Default)]
pub struct DockerState {
    pub images: ImageStore,
    pub layers: LayerStore,
    pub references: ReferenceStore,
    pub distribution: DistributionStore,
    /// `GraphDriver.Name` in inspect (from the imported `image/<driver>/` folder).
    pub graph_driver: String,
}

impl DockerState {
    /// Applies moby's restore rules to freshly loaded records and derives the links: layers
    /// with a missing parent and images with a missing top layer are left out.
    fn finish_loading(&mut self) -> Vec<Skipped> {
        let mut skipped: Vec<Skipped> = Vec::new();
        for (c, why) in self.layers.drop_unloadable() {
            skipped.push(Skipped { subject: c.to_string(), reason: why });
        }
        for (id, why) in self.images.drop_without_layers(&self.layers) {
            skipped.push(Skipped { subject: id.to_string(), reason: why });
        }
        self.images.relink();
        let tops: Vec<Digest> = self.images.top_layers().cloned().collect();
        self.layers.recount(tops.iter());
        skipped
    }
}

/// What [`Store::apply_docker_import`] added (things already present are not counted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerImportOutcome {
    pub images: usize,
    pub layers: usize,
    pub references: usize,
    /// Blobs (configs, tar-splits) newly published.
    pub blobs: usize,
    /// Things left out while merging (e.g. a digest reference that would overwrite another).
    pub skipped: Vec<Skipped>,
}

pub struct Store<B: Backend> {
    backend: B,
    docker: DockerState,
    /// What [`Store::open`] could not restore, with the reason.
    restore_skipped: Vec<Skipped>,
}

/// The driver name in an imported folder path such as `var/lib/docker/image/overlay2/`.
fn driver_of(source_dir: &str) -> Option<String> {
    let parts: Vec<&str> = source_dir.split('/').filter(|p| !p.is_empty()).collect();
    let i = parts.iter().rposition(|p| *p == "image")?;
    parts.get(i + 1).map(|d| d.to_string())
}

/// Reads an image config blob, checks that it hashes to the image ID (moby re-verifies on
/// every read) and parses it.
async fn load_config<B: Backend>(b: &B, id: &Digest) -> std::result::Result<Rc<ImageConfig>, String> {
    let raw = blobs::read_all(b, id).await.map_err(|e| format!("config blob: {e}"))?;
    if Digest::sha256_of(&raw) != *id {
        return Err(format!("failed to verify: {id}"));
    }
    ImageConfig::parse(raw).map(Rc::new).map_err(|e| e.message)
}

impl<B: Backend> Store<B> {
    /// Opens a store over `backend`, rebuilding the whole in-memory state from its records.
    pub async fn open(backend: B) -> Result<Self> {
        let mut docker = DockerState::default();
        let mut skipped = Vec::new();
        if let Some(d) = backend.get(Space::Meta, keys::GRAPH_DRIVER).await? {
            docker.graph_driver = String::from_utf8_lossy(&d).into_owned();
        }
        for (key, value) in backend.scan(Space::Meta, keys::LAYERS).await? {
            docker.layers.insert_loaded(decode_record::<LayerRecord>(&key, &value)?);
        }
        for (key, value) in backend.scan(Space::Meta, keys::IMAGES).await? {
            let record: ImageRecord = decode_record(&key, &value)?;
            match load_config(&backend, &record.id).await {
                Ok(config) => docker.images.insert_loaded(record, config),
                Err(why) => skipped.push(Skipped { subject: record.id.to_string(), reason: why }),
            }
        }
        for (key, value) in backend.scan(Space::Meta, keys::REFERENCES).await? {
            let record: ReferenceRecord = decode_record(&key, &value)?;
            docker.references.insert_loaded(&record.repository, &key[keys::REFERENCES.len()..], record.image);
        }
        let mut dist = crate::docker::model::DistributionRecords::default();
        for (key, value) in backend.scan(Space::Meta, keys::DIFFID_BY_DIGEST).await? {
            let blob = Digest::parse(&key[keys::DIFFID_BY_DIGEST.len()..]).map_err(|e| corrupt_record(&key, e))?;
            let diff = Digest::parse(&String::from_utf8_lossy(&value)).map_err(|e| corrupt_record(&key, e))?;
            dist.diffid_by_digest.insert(blob, diff);
        }
        for (key, value) in backend.scan(Space::Meta, keys::V2METADATA).await? {
            let diff = Digest::parse(&key[keys::V2METADATA.len()..]).map_err(|e| corrupt_record(&key, e))?;
            dist.v2metadata_by_diffid.insert(diff, decode_record::<Vec<V2Metadata>>(&key, &value)?);
        }
        docker.distribution.insert_loaded(dist);
        skipped.extend(docker.finish_loading());
        Ok(Store { backend, docker, restore_skipped: skipped })
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The Docker stores (read-only; change them through [`Store::commit_docker`]).
    pub fn docker(&self) -> &DockerState {
        &self.docker
    }

    /// Records that [`Store::open`] found but could not restore, with the reason.
    pub fn restore_skipped(&self) -> &[Skipped] {
        &self.restore_skipped
    }

    /// Runs one mutation of the Docker stores: `change` works on a copy of the state and
    /// fills a [`Tx`]; the Tx is committed atomically, and only then does the copy become the
    /// current state. If `change` or the commit fails, nothing changed.
    pub async fn commit_docker<R>(&mut self, change: impl FnOnce(&mut DockerState, &mut Tx) -> Result<R>) -> Result<R> {
        let mut next = self.docker.clone();
        let mut tx = Tx::new();
        let out = change(&mut next, &mut tx)?;
        self.commit_tx(tx).await?;
        self.docker = next;
        Ok(out)
    }

    /// Runs `change` as [`Store::commit_docker`] would, on a copy of the state, and returns its
    /// answer without committing anything: what an operation would do (`removeImage`'s
    /// `dryRun`). The copy-on-write state makes the copy cheap.
    pub fn preview_docker<R>(&self, change: impl FnOnce(&mut DockerState, &mut Tx) -> Result<R>) -> Result<R> {
        change(&mut self.docker.clone(), &mut Tx::new())
    }

    async fn commit_tx(&self, tx: Tx) -> Result<()> {
        let mut ops = tx.ops;
        for d in &tx.dead_blobs {
            // A blob the Docker view drops may still be content in a containerd namespace.
            if crate::containerd::any_namespace_has_content(&self.backend, d).await? {
                continue;
            }
            if let Some(rec) = blobs::stat(&self.backend, d).await? {
                ops.extend(blobs::delete_ops(d, &rec));
            }
        }
        if ops.is_empty() {
            return Ok(());
        }
        self.backend.commit(ops).await
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
        let result = self.commit_docker(|d, tx| d.images.create(tx, &mut d.layers, parsed, top, staged.ops)).await;
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
            .map(|(_, b)| &b.set)
            .chain(import.tar_splits.iter().map(|b| &b.set))
            .cloned()
            .collect();
        let result = self.merge_docker_import(import).await;
        if result.is_err() {
            // The original error is what matters; chunk sets a failed discard leaves behind
            // are orphans that `blobs::sweep_orphans` collects later.
            for set in &staged_sets {
                let _ = blobs::discard(&self.backend, set).await;
            }
        }
        result
    }

    async fn merge_docker_import(&mut self, import: DockerImport) -> Result<DockerImportOutcome> {
        let mut outcome = DockerImportOutcome::default();
        let mut ops: Vec<Op> = Vec::new();
        let mut unused_sets: Vec<String> = Vec::new();
        let mut next = self.docker.clone();

        if let Some(driver) = driver_of(&import.source_dir) {
            if next.graph_driver != driver {
                ops.push(Op::put_meta(keys::GRAPH_DRIVER, driver.as_str()));
                next.graph_driver = driver;
            }
        }
        for layer in import.layers {
            if next.layers.contains(&layer.chain_id) {
                continue;
            }
            ops.push(Op::put_record(keys::layer(&layer.chain_id), &layer));
            next.layers.insert_loaded(layer);
            outcome.layers += 1;
        }
        let mut tar_splits_seen = std::collections::BTreeSet::new();
        for staged in import.tar_splits {
            let known = blobs::stat(&self.backend, &staged.digest).await?.is_some();
            if known || !tar_splits_seen.insert(staged.digest.clone()) {
                unused_sets.push(staged.set);
            } else {
                ops.extend(staged.ops);
                outcome.blobs += 1;
            }
        }
        let mut new_images = Vec::new();
        for (record, staged) in import.images {
            if next.images.contains(&record.id) || new_images.iter().any(|r: &ImageRecord| r.id == record.id) {
                unused_sets.push(staged.set);
                continue;
            }
            if staged.digest != record.id {
                return Err(Error::corrupt(format!("image {}: config blob is {}", record.id, staged.digest)));
            }
            ops.extend(staged.ops);
            outcome.blobs += 1;
            ops.push(Op::put_record(keys::image(&record.id), &record));
            new_images.push(record);
        }
        for (repository, refs) in import.repositories {
            for (familiar, id) in refs {
                let existing = next.references.repositories().get(&repository).and_then(|r| r.get(&familiar)).cloned();
                match existing {
                    Some(old) if old == id => continue,
                    Some(old) if familiar.contains('@') => {
                        outcome.skipped.push(Skipped {
                            subject: familiar.clone(),
                            reason: format!("digest reference already points to {old}; cannot overwrite digest"),
                        });
                        continue;
                    }
                    _ => {}
                }
                let record = ReferenceRecord { repository: repository.clone(), image: id.clone() };
                ops.push(Op::put_record(keys::reference(&familiar), &record));
                if let Some(old) = existing {
                    next.references.remove_loaded(&old, &familiar);
                }
                next.references.insert_loaded(&repository, &familiar, id);
                outcome.references += 1;
            }
        }
        let mut dist_changed = next.distribution.clone();
        dist_changed.insert_loaded(import.distribution.clone());
        for (blob, diff) in &import.distribution.diffid_by_digest {
            if next.distribution.diff_id(blob) != Some(diff) {
                ops.push(Op::put_meta(keys::diffid_by_digest(blob), diff.as_str()));
            }
        }
        for diff in import.distribution.v2metadata_by_diffid.keys() {
            let merged = dist_changed.v2_metadata(diff);
            if next.distribution.v2_metadata(diff) != merged {
                ops.push(Op::put_record(keys::v2metadata(diff), &merged));
            }
        }
        next.distribution = dist_changed;

        if !ops.is_empty() {
            self.backend.commit(ops).await?;
        }
        // Committed: from here on nothing may fail. A failed discard of an unused chunk set
        // leaves an orphan for `blobs::sweep_orphans`.
        for set in &unused_sets {
            let _ = blobs::discard(&self.backend, set).await;
        }
        // The configs are committed now; read them back into the state.
        for record in new_images {
            match load_config(&self.backend, &record.id).await {
                Ok(config) => {
                    next.images.insert_loaded(record, config);
                    outcome.images += 1;
                }
                Err(why) => outcome.skipped.push(Skipped { subject: record.id.to_string(), reason: why }),
            }
        }
        outcome.skipped.extend(next.finish_loading());
        self.docker = next;
        Ok(outcome)
    }
}

/// Imports through the façade: the streaming importer stages blobs, then one commit makes the
/// result visible.
impl<B: Backend> Store<B> {
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
        let outcome = match imported {
            Imported::DockerImageStore(import) | Imported::DockerLoad(import) => {
                self.apply_docker_import(import).await?
            }
            Imported::Containerd { import, .. } => {
                // containerd's records are read from storage on every call: one commit is all.
                if let Err(e) = self.backend.commit(import.ops).await {
                    for set in &import.kept_sets {
                        let _ = blobs::discard(&self.backend, set).await;
                    }
                    return Err(e);
                }
                return Ok(report);
            }
        };
        report.images = outcome.images;
        report.layers = outcome.layers;
        report.references = outcome.references;
        report.blobs = outcome.blobs;
        report.skipped.extend(outcome.skipped);
        Ok(report)
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
