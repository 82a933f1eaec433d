//! moby's graphdriver image store in memory: the four stores and the driver name, loaded from
//! the records of [`crate::schema::docker`] (applying moby's restore rules; configs come from
//! the [`super::summary`] when it is valid), and the plan that merges an import into them, one
//! step per record kind.

use super::distribution::DistributionStore;
use super::images::ImageStore;
use super::layer_blobs::{LayerBlobRecord, LayerBlobs};
use super::layers::{is_loaded_record, LayerStore};
use super::model::{DistributionRecords, DockerImport, ImageRecord, ImportedImage, LayerRecord, Skipped, V2Metadata};
use super::references::{ReferenceRecord, ReferenceStore};
use super::summary;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::formats::image_config::ImageConfig;
use crate::schema::docker as keys;
use crate::storage::{blobs, corrupt_record, decode_record, Backend, Op, Space};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::task::Poll;

/// moby's graphdriver image store in memory: the four stores and the driver name.
#[derive(Debug, Clone, Default)]
pub struct DockerState {
    pub images: ImageStore,
    pub layers: LayerStore,
    pub references: ReferenceStore,
    pub distribution: DistributionStore,
    /// Which layers have their tar in the store (by DiffID).
    pub contents: LayerBlobs,
    /// `GraphDriver.Name` in inspect (from the imported `image/<driver>/` folder).
    pub graph_driver: String,
    /// How wide the config summary's shards are written (see [`summary`]).
    pub summary_width: crate::storage::pack_family::Width,
}

/// What [`merge_import`] added (things already present are not counted).
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

/// Reads an image config blob, checks that it hashes to the image ID (moby re-verifies on
/// every read) and parses it.
pub async fn load_config<B: Backend>(b: &B, id: &Digest) -> Result<Rc<ImageConfig>> {
    load_config_from(&blobs::BulkReader::new(), b, id).await
}

/// [`load_config`] for one of many configs read together (each blob pack read once).
pub async fn load_config_from<B: Backend>(reader: &blobs::BulkReader, b: &B, id: &Digest) -> Result<Rc<ImageConfig>> {
    let raw = reader.read_all(b, id).await.map_err(|e| e.context("config blob"))?;
    if Digest::sha256_of(&raw) != *id {
        return Err(Error::corrupt(format!("failed to verify: {id}")));
    }
    ImageConfig::parse(raw).map(Rc::new)
}

/// A loaded Docker view: the state, what could not be restored, and the writes that bring
/// storage up to date: the config summary shards that did not match what was loaded (missing,
/// stale, corrupt), and the packing of single records a previous version wrote (see
/// [`super::packed`]).
pub struct Loaded {
    pub state: DockerState,
    pub skipped: Vec<Skipped>,
    pub repairs: Vec<Op>,
}

impl DockerState {
    /// Reads every record of the Docker view (one range read: the packed shards, the config
    /// summary, single records of a store not packed yet) and applies moby's restore rules;
    /// what cannot be restored is left out and returned with the reason. Configs come from the
    /// summary's valid shards; the others are read from their blobs and verified.
    pub async fn load<B: Backend>(backend: &B) -> Result<Loaded> {
        let mut docker = DockerState::default();
        let mut skipped = Vec::new();
        // The records are asked for first and the summary right after, both now: IndexedDB
        // reads the summary while the records are decoded (a third of opening a 10,000-image
        // store in Chromium was waiting for reads).
        let mut records_read = Box::pin(super::packed::read_view(backend));
        let records_asked = futures::poll!(&mut records_read);
        let mut summary_read = Box::pin(backend.scan(Space::Meta, keys::SUMMARY));
        let summary_asked = futures::poll!(&mut summary_read);
        let view = match records_asked {
            Poll::Ready(view) => view?,
            Poll::Pending => records_read.await?,
        };
        let [images, layers, references, diffid_by_digest, v2metadata, layer_blobs] = view.records;
        if let Some(d) = view.graph_driver {
            docker.graph_driver = String::from_utf8_lossy(&d).into_owned();
        }
        for (key, value) in layers {
            docker.layers.insert_loaded(decode_record::<LayerRecord>(&key, &value)?);
        }
        let images = images
            .into_iter()
            .map(|(key, value)| decode_record::<ImageRecord>(&key, &value))
            .collect::<Result<Vec<_>>>()?;
        let summary_records = match summary_asked {
            Poll::Ready(records) => records?,
            Poll::Pending => summary_read.await?,
        };
        let mut from_summary = summary::Loaded::from_records(summary_records);
        // In key order, so by pack: each pack is read once.
        let reader = blobs::BulkReader::new();
        for record in images {
            if let Some(config) = from_summary.configs.remove(&record.id) {
                // Checksummed when read; the ID was verified and the bytes parsed when the
                // entry was written. Parsed again only when something needs more than the list.
                docker.images.insert_config(record, config);
                continue;
            }
            match load_config_from(&reader, backend, &record.id).await {
                Ok(config) => docker.images.insert_loaded(record, config),
                Err(why) => skipped.push(Skipped { subject: record.id.to_string(), reason: why.message }),
            }
        }
        for (key, value) in references {
            let record: ReferenceRecord = decode_record(&key, &value)?;
            docker.references.insert_loaded(&record.repository, &key[keys::REFERENCES.len()..], record.image);
        }
        let mut dist = DistributionRecords::default();
        for (key, value) in diffid_by_digest {
            let blob = Digest::parse(&key[keys::DIFFID_BY_DIGEST.len()..]).map_err(|e| corrupt_record(&key, e))?;
            let diff = Digest::parse(&String::from_utf8_lossy(&value)).map_err(|e| corrupt_record(&key, e))?;
            dist.diffid_by_digest.insert(blob, diff);
        }
        for (key, value) in v2metadata {
            let diff = Digest::parse(&key[keys::V2METADATA.len()..]).map_err(|e| corrupt_record(&key, e))?;
            dist.v2metadata_by_diffid.insert(diff, decode_record::<Vec<V2Metadata>>(&key, &value)?);
        }
        docker.distribution.insert_loaded(dist);
        for (key, value) in layer_blobs {
            docker.contents.insert_loaded(decode_record::<LayerBlobRecord>(&key, &value)?);
        }
        skipped.extend(docker.finish_loading());
        let mut repairs = view.migration;
        let stale = from_summary.shards_to_rewrite(&docker.images, from_summary.width());
        let (summary_repairs, width) = summary::shard_ops(&docker.images, &stale, from_summary.width());
        repairs.extend(summary_repairs);
        docker.summary_width = width;
        Ok(Loaded { state: docker, skipped, repairs })
    }

    /// The operations that rewrite the config summary shards of `changed` images as this state
    /// has them (to commit with the change).
    pub fn summary_ops(&mut self, changed: &[Digest]) -> Vec<Op> {
        let width = self.summary_width;
        let shards = changed.iter().map(|id| summary::shard_of(id, width)).collect();
        let (ops, width) = summary::shard_ops(&self.images, &shards, width);
        self.summary_width = width;
        ops
    }

    /// Applies moby's restore rules to freshly loaded records and derives the links: layers
    /// with a missing parent and images with a missing top layer are left out.
    pub fn finish_loading(&mut self) -> Vec<Skipped> {
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

/// An import merged into a copy of the state, ready to commit: `ops` persist it (with the
/// config summary shards it touches); once they are committed `next` is the state and
/// `unused_sets` are discarded.
pub struct MergePlan {
    pub next: DockerState,
    pub ops: Vec<Op>,
    /// Staged chunk sets that turned out not to be needed (already stored, or duplicates).
    pub unused_sets: Vec<String>,
    /// Tar-splits of layer records the import replaced: no layer of `next` uses them, so they
    /// are deleted with the commit unless another view still holds them.
    pub replaced_blobs: Vec<Digest>,
    pub outcome: DockerImportOutcome,
}

/// The driver name in an imported folder path such as `var/lib/docker/image/overlay2/`.
fn driver_of(source_dir: &str) -> Option<String> {
    let parts: Vec<&str> = source_dir.split('/').filter(|p| !p.is_empty()).collect();
    let i = parts.iter().rposition(|p| *p == "image")?;
    parts.get(i + 1).map(|d| d.to_string())
}

/// Merges `import` into a copy of `current`: things already present are kept as they are, so
/// importing the same data twice changes nothing; what they lack is filled in (an image's
/// parent link), and a host's layer record replaces one a load made up, so that the same
/// imports end in the same store whatever their order. Nothing is written; see [`MergePlan`].
pub async fn merge_import<B: Backend>(backend: &B, current: &DockerState, import: DockerImport) -> Result<MergePlan> {
    let mut plan = MergePlan {
        next: current.clone(),
        ops: Vec::new(),
        unused_sets: Vec::new(),
        replaced_blobs: Vec::new(),
        outcome: DockerImportOutcome::default(),
    };
    plan.merge_driver(&import.source_dir);
    plan.merge_layers(import.layers);
    plan.merge_tar_splits(backend, import.tar_splits).await?;
    plan.merge_layer_blobs(backend, import.layer_blobs).await?;
    let new_images = plan.merge_images(import.images)?;
    plan.merge_references(import.repositories);
    plan.merge_distribution(import.distribution);
    plan.outcome.skipped.extend(plan.next.finish_loading());
    let summary = plan.next.summary_ops(&new_images);
    plan.ops.extend(summary);
    Ok(plan)
}

impl MergePlan {
    fn merge_driver(&mut self, source_dir: &str) {
        if let Some(driver) = driver_of(source_dir) {
            if self.next.graph_driver != driver {
                self.ops.push(Op::put_meta(keys::GRAPH_DRIVER, driver.as_str()));
                self.next.graph_driver = driver;
            }
        }
    }

    /// New layers are added. A layer already present keeps its record, except that a host's
    /// record (from an image-store import: the real cache-id and tar-split) replaces one that a
    /// load made up for the same layer, when both give it the same size (they describe the same
    /// tar: same DiffID, so the same bytes).
    fn merge_layers(&mut self, layers: Vec<LayerRecord>) {
        for layer in layers {
            match self.next.layers.get(&layer.chain_id) {
                None => self.outcome.layers += 1,
                Some(old) if is_loaded_record(old) && !is_loaded_record(&layer) && old.size == layer.size => {
                    if old.tar_split != layer.tar_split {
                        self.replaced_blobs.extend(old.tar_split.clone());
                    }
                }
                Some(_) => continue,
            }
            self.ops.push(Op::put_record(keys::layer(&layer.chain_id), &layer));
            self.next.layers.insert_loaded(layer);
        }
        let still_used: BTreeSet<&Digest> = self.next.layers.records().filter_map(|l| l.tar_split.as_ref()).collect();
        self.replaced_blobs.retain(|d| !still_used.contains(d));
    }

    /// Publishes the staged tar-splits that a layer record of the merged state names (a host's
    /// tar-split of a layer that kept another record is not needed).
    async fn merge_tar_splits<B: Backend>(&mut self, backend: &B, tar_splits: Vec<blobs::StagedBlob>) -> Result<()> {
        let named: BTreeSet<Digest> = self.next.layers.records().filter_map(|l| l.tar_split.clone()).collect();
        let mut seen = BTreeSet::new();
        let stored = blobs::Stored::prepare(backend, tar_splits.len()).await?;
        for staged in tar_splits {
            if !named.contains(&staged.digest) {
                self.unused_sets.push(staged.set);
                continue;
            }
            self.publish_unless_stored(backend, &stored, &mut seen, staged).await?;
        }
        Ok(())
    }

    /// Publishes a staged blob's records, or discards its chunks when the blob is already stored
    /// or was staged earlier in this import.
    async fn publish_unless_stored<B: Backend>(
        &mut self,
        backend: &B,
        stored: &blobs::Stored,
        seen: &mut BTreeSet<Digest>,
        staged: blobs::StagedBlob,
    ) -> Result<()> {
        let known = stored.has(backend, &staged.digest).await?;
        if known || !seen.insert(staged.digest.clone()) {
            self.unused_sets.push(staged.set);
        } else {
            self.ops.extend(staged.ops);
            self.outcome.blobs += 1;
        }
        Ok(())
    }

    /// Layer tars: one record per DiffID; a blob already stored (or staged twice) is not
    /// published again.
    async fn merge_layer_blobs<B: Backend>(
        &mut self,
        backend: &B,
        layer_blobs: Vec<(LayerBlobRecord, blobs::StagedBlob)>,
    ) -> Result<()> {
        let mut seen = BTreeSet::new();
        let stored = blobs::Stored::prepare(backend, layer_blobs.len()).await?;
        for (record, staged) in layer_blobs {
            if self.next.contents.contains(&record.diff_id) {
                self.unused_sets.push(staged.set);
                continue;
            }
            self.publish_unless_stored(backend, &stored, &mut seen, staged).await?;
            self.ops.push(Op::put_record(keys::layer_blob(&record.diff_id), &record));
            self.next.contents.insert_loaded(record);
        }
        Ok(())
    }

    /// Adds the images not yet present, with the configs the importer parsed (nothing is read
    /// back), and fills the metadata that images already present lack; returns the added IDs.
    fn merge_images(&mut self, images: Vec<ImportedImage>) -> Result<Vec<Digest>> {
        let mut added = Vec::new();
        for ImportedImage { record, config, blob } in images {
            if self.next.images.contains(&record.id) {
                self.unused_sets.push(blob.set);
                if let Some(filled) = self.next.images.fill_metadata(&record) {
                    self.ops.push(Op::put_record(keys::image(&filled.id), &filled));
                }
                continue;
            }
            // The importer hashed the bytes as it staged them (the config is parsed from them).
            if blob.digest != record.id {
                return Err(Error::corrupt(format!("image {}: config blob is {}", record.id, blob.digest)));
            }
            self.ops.extend(blob.ops);
            self.outcome.blobs += 1;
            self.outcome.images += 1;
            self.ops.push(Op::put_record(keys::image(&record.id), &record));
            added.push(record.id.clone());
            self.next.images.insert_config(record, config);
        }
        Ok(added)
    }

    fn merge_references(&mut self, repositories: super::model::RepositoryMap) {
        let references = &mut self.next.references;
        for (repository, refs) in repositories {
            for (familiar, id) in refs {
                let existing = references.repositories().get(&repository).and_then(|r| r.get(&familiar)).cloned();
                match existing {
                    Some(old) if old == id => continue,
                    Some(old) if familiar.contains('@') => {
                        self.outcome.skipped.push(Skipped {
                            subject: familiar.clone(),
                            reason: format!("digest reference already points to {old}; cannot overwrite digest"),
                        });
                        continue;
                    }
                    _ => {}
                }
                let record = ReferenceRecord { repository: repository.clone(), image: id.clone() };
                self.ops.push(Op::put_record(keys::reference(&familiar), &record));
                if let Some(old) = existing {
                    references.remove_loaded(&old, &familiar);
                }
                references.insert_loaded(&repository, &familiar, id);
                self.outcome.references += 1;
            }
        }
    }

    fn merge_distribution(&mut self, imported: DistributionRecords) {
        let current = &self.next.distribution;
        let mut merged = current.clone();
        merged.insert_loaded(imported.clone());
        for (blob, diff) in &imported.diffid_by_digest {
            if current.diff_id(blob) != Some(diff) {
                self.ops.push(Op::put_meta(keys::diffid_by_digest(blob), diff.as_str()));
            }
        }
        for diff in imported.v2metadata_by_diffid.keys() {
            let list = merged.v2_metadata(diff);
            if current.v2_metadata(diff) != list {
                self.ops.push(Op::put_record(keys::v2metadata(diff), &list));
            }
        }
        self.next.distribution = merged;
    }
}

#[cfg(test)]
mod tests {
    use super::driver_of;

    #[test]
    fn driver_is_the_folder_below_image() {
        assert_eq!(driver_of("var/lib/docker/image/overlay2/").as_deref(), Some("overlay2"));
        assert_eq!(driver_of("image/vfs").as_deref(), Some("vfs"));
        assert_eq!(driver_of("imagedb/"), None);
    }
}
