//! The façade's analysis calls: they load the tar-split entries of an image's layers and hand
//! them to [`crate::analysis`], which does all the work. Parsed entries and change sets are
//! cached by what identifies them immutably (tar-split digest, chain ID), so the cache can
//! never be stale: imports and deletes only change which images are looked at.

use crate::analysis::changes::{apply_layer, Change, ChangeKind, LayerChangeSet, Merged};
use crate::analysis::diff::{diff_trees, shared_prefix, FileDiff};
use crate::analysis::dive::{self, CiRules, DiveFileInfo, DiveTree, RuleResult, WastedFile};
use crate::analysis::search::Pattern;
use crate::digest::{chain_id, Digest};
use crate::docker::images::Image;
use crate::error::{Error, Result};
use crate::formats::tar_split::{parse_tar_split, TarEntry};
use crate::storage::{blobs, Backend};
use crate::store::Store;
use serde::Serialize;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Parsed tar-splits by their blob digest and change sets by chain ID.
#[derive(Default)]
pub struct AnalysisCache {
    entries: RefCell<HashMap<Digest, Rc<Vec<TarEntry>>>>,
    changes: RefCell<HashMap<Digest, Rc<LayerChangeSet>>>,
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
    pub image: Digest,
    pub repo_tags: Vec<String>,
    pub layer: usize,
    pub diff_id: Digest,
    pub path: String,
    pub change: ChangeKind,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub size: i64,
    pub mode: i64,
}

impl<B: Backend> Store<B> {
    /// The chain IDs of an image's layers, bottom first.
    fn chains(img: &Image) -> Vec<Digest> {
        let ids = img.config.diff_ids();
        (1..=ids.len()).map(|n| chain_id(&ids[..n]).expect("non-empty")).collect()
    }

    /// The parsed tar-split of the layer `chain`.
    async fn entries_of(&self, chain: &Digest) -> Result<Rc<Vec<TarEntry>>> {
        let record = self
            .docker()
            .layers
            .get(chain)
            .ok_or_else(|| Error::not_found(format!("layer does not exist: {chain}")))?;
        let digest = record.tar_split.as_ref().ok_or_else(|| {
            Error::not_found(format!("layer {chain} has no tar-split.json.gz: its file list is unknown"))
        })?;
        if let Some(hit) = self.analysis_cache().entries.borrow().get(digest) {
            return Ok(hit.clone());
        }
        let gz = blobs::read_all(self.backend(), digest).await?;
        let split = parse_tar_split(&gz[..]).map_err(|e| e.context(format!("tar-split of layer {chain}")))?;
        let entries = Rc::new(split.entries);
        self.analysis_cache().entries.borrow_mut().insert(digest.clone(), entries.clone());
        Ok(entries)
    }

    async fn image_entries(&self, img: &Image) -> Result<Vec<Rc<Vec<TarEntry>>>> {
        let mut out = Vec::new();
        for chain in Self::chains(img) {
            out.push(self.entries_of(&chain).await?);
        }
        Ok(out)
    }

    fn image(&self, name_or_id: &str) -> Result<&Image> {
        crate::docker::engine::get_image(self.docker(), name_or_id)
    }

    /// Each layer's change set (cached by chain ID), bottom first, and the merged tree.
    async fn change_sets(&self, img: &Image) -> Result<(Vec<Rc<LayerChangeSet>>, Merged)> {
        let entries = self.image_entries(img).await?;
        let mut view = Merged::new();
        let mut sets = Vec::new();
        for (i, (chain, layer)) in Self::chains(img).iter().zip(&entries).enumerate() {
            let set = Rc::new(apply_layer(&mut view, i, layer));
            self.analysis_cache().changes.borrow_mut().entry(chain.clone()).or_insert_with(|| set.clone());
            sets.push(set);
        }
        Ok((sets, view))
    }

    /// What each layer of an image adds, modifies and removes.
    pub async fn layer_changes(&self, name_or_id: &str) -> Result<Vec<LayerChanges>> {
        let img = self.image(name_or_id)?;
        let entries = self.image_entries(img).await?;
        let (sets, _) = self.change_sets(img).await?;
        let diff_ids = img.config.diff_ids();
        let commands = dive::layer_commands(img.config.history(), diff_ids, diff_ids.len());
        Ok(Self::chains(img)
            .into_iter()
            .enumerate()
            .map(|(i, chain)| LayerChanges {
                index: i,
                diff_id: diff_ids[i].clone(),
                chain_id: chain,
                command: commands[i].0.clone(),
                size_bytes: DiveTree::from_layer(&entries[i]).file_size,
                changes: sets[i].changes.clone(),
                unchanged_entries: sets[i].unchanged_entries,
                whiteouts: sets[i].whiteouts,
            })
            .collect())
    }

    /// The merged filesystem of an image, each file with the layer that last changed it.
    pub async fn merged_files(&self, name_or_id: &str) -> Result<Merged> {
        let img = self.image(name_or_id)?;
        Ok(self.change_sets(img).await?.1)
    }

    /// dive's layer trees of an image.
    async fn dive_trees(&self, img: &Image) -> Result<Vec<DiveTree>> {
        let entries = self.image_entries(img).await?;
        Ok(entries.iter().map(|e| DiveTree::from_layer(e)).collect())
    }

    /// dive's `fileList` of each layer (what `dive --json` lists), bottom first.
    pub async fn dive_file_lists(&self, name_or_id: &str) -> Result<Vec<Vec<DiveFileInfo>>> {
        let img = self.image(name_or_id)?;
        Ok(self.dive_trees(img).await?.iter().map(DiveTree::file_list).collect())
    }

    /// Wasted space, efficiency and dive's CI rules, as dive 0.13.1 reports them.
    pub async fn efficiency(&self, name_or_id: &str, rules: &CiRules) -> Result<Efficiency> {
        let img = self.image(name_or_id)?;
        let trees = self.dive_trees(img).await?;
        let a = dive::analyze(&trees);
        let rules = dive::evaluate_rules(&a, rules)?;
        let commands = dive::layer_commands(img.config.history(), img.config.diff_ids(), trees.len());
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
    pub async fn diff_images(&self, a: &str, b: &str) -> Result<ImageDiff> {
        let (ia, ib) = (self.image(a)?, self.image(b)?);
        let (ca, cb) = (Self::chains(ia), Self::chains(ib));
        let shared = shared_prefix(&ca, &cb);
        let (_, ta) = self.change_sets(ia).await?;
        let (_, tb) = self.change_sets(ib).await?;
        Ok(ImageDiff { shared_layers: ia.config.diff_ids()[..shared].to_vec(), files: diff_trees(&ta, &tb) })
    }

    /// Every image and layer that adds, changes or deletes a file matching `pattern` (see
    /// [`Pattern`]), optionally only one kind of change. Images in ID order, then layer order.
    pub async fn find_files(&self, pattern: &str, only: Option<ChangeKind>) -> Result<Vec<FoundFile>> {
        let pattern = Pattern::parse(pattern)?;
        let images: Vec<&Image> = self.docker().images.map().collect();
        // Change sets of the layers not seen yet (a layer's change set depends on those below).
        for img in &images {
            let chains = Self::chains(img);
            let cached = {
                let cache = self.analysis_cache().changes.borrow();
                chains.iter().all(|c| cache.contains_key(c))
            };
            if !cached {
                self.change_sets(img).await?;
            }
        }
        let cache = self.analysis_cache().changes.borrow();
        let mut hits_by_chain: HashMap<Digest, Vec<&Change>> = HashMap::new();
        let mut out = Vec::new();
        for img in images {
            let (tags, _) = self.docker().references.tags_and_digests(img.id());
            for (i, chain) in Self::chains(img).iter().enumerate() {
                let Some(set) = cache.get(chain) else { continue };
                let hits = hits_by_chain.entry(chain.clone()).or_insert_with(|| {
                    set.changes
                        .iter()
                        .filter(|c| only.is_none_or(|k| c.change == k) && pattern.matches(&c.path))
                        .collect()
                });
                for c in hits.iter() {
                    out.push(FoundFile {
                        image: img.id().clone(),
                        repo_tags: tags.clone(),
                        layer: i,
                        diff_id: img.config.diff_ids()[i].clone(),
                        path: c.path.clone(),
                        change: c.change,
                        kind: c.kind,
                        size: c.size,
                        mode: c.mode,
                    });
                }
            }
        }
        Ok(out)
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
        let all: Vec<&Image> = d.images.map().collect();
        let chains: Vec<Vec<Digest>> = all.iter().map(|i| Self::chains(i)).collect();
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
