//! The analyses on the JS `Store` class (`layerChanges`, `efficiency`, `diffImages`,
//! `findFiles`, `largestFiles`, `storeLargestFiles`, `systemDf`): arguments checked (in
//! [`super::options`]), plain JSON-shaped values out; the work is in `crate::analysis` behind
//! the façade (`crate::store_analysis`).

use super::args;
use super::convert::{large_to_js, promise, to_js_value};
use super::options;
use super::panic::entry;
use super::store::Store;
use crate::error::Result;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_ANALYSIS_TYPES: &'static str = r#"
/** An image to analyse: a Docker image (name, tag, ID or short ID, as `docker` takes them) or a
 *  containerd image by namespace and name (as `ctr -n NS images ls` lists it). */
export type ImageRef = string | { namespace: string; name: string };

/** `Store.largestFiles` / `Store.storeLargestFiles` options. */
export interface LargestFilesOptions {
  /** How many files (default 100). */
  limit?: number;
}

/** `Store.largestFiles` element: a file of the image's merged filesystem. */
export interface LargeFile {
  path: string;
  type: LayerChange["type"];
  size: number;
  mode: number;
  /** The layer that last changed it. */
  layer: number;
}

/** `Store.storeLargestFiles` element: a file a layer adds or rewrites, once per layer. */
export interface StoredFile {
  path: string;
  type: LayerChange["type"];
  size: number;
  mode: number;
  diffId: string;
  chainId: string;
  /** Every image with that layer, and the layer's index there. */
  images: { image: string; repoTags: string[]; namespace?: string; layer: number }[];
}
/** One path a layer added, modified or removed (whiteouts and opaque directories applied). */
export interface LayerChange {
  /** Absolute path, e.g. `/etc/passwd`. */
  path: string;
  change: "added" | "modified" | "removed";
  /** The type after the change (before it, for a removal). */
  type: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "other";
  /** Size after the change (before it, for a removal). */
  size: number;
  /** Growth of the merged filesystem: size if added, new − old if modified, −size if removed. */
  sizeDelta: number;
  mode: number;
  uid: number;
  gid: number;
  /** Target of a symlink or hardlink. */
  linkname?: string;
}

/** `Store.layerChanges` element: one layer, bottom first. */
export interface LayerChanges {
  index: number;
  diffId: string;
  chainId: string;
  /** The layer's history command, `/bin/sh -c ` trimmed (`(missing)` without history), as dive shows it. */
  command: string;
  /** The sum of the layer tar's header sizes (dive's layer size). */
  sizeBytes: number;
  /** Sorted by path. */
  changes: LayerChange[];
  /** Entries of the layer that changed nothing (parent directories listed again). */
  unchangedEntries: number;
  /** Whiteout markers (deletions and opaque directories) in the layer. */
  whiteouts: number;
}

/** dive's CI limits; numbers or strings as in dive's `.dive-ci`, `"disabled"` turns a rule off. */
export interface EfficiencyRules {
  /** Default 0.9. */
  lowestEfficiency?: number | string;
  /** Default "disabled"; a byte size such as `20MB` or `1048576`. */
  highestWastedBytes?: number | string;
  /** Default 0.1. */
  highestUserWastedPercent?: number | string;
}

/** `Store.efficiency`: dive 0.13.1's numbers for the image. */
export interface Efficiency {
  /** The sum of the layers' sizes. */
  sizeBytes: number;
  /** The layers' sizes except the first one's. */
  userSizeBytes: number;
  /** Bytes of paths seen in more than one layer (all copies counted, as dive does). */
  inefficientBytes: number;
  efficiencyScore: number;
  /** inefficientBytes / userSizeBytes (null when there are no user bytes and nothing is wasted). */
  wastedUserPercent: number | null;
  /** Largest first, as dive lists them. */
  wasted: { path: string; count: number; sizeBytes: number }[];
  rules: { name: "lowestEfficiency" | "highestWastedBytes" | "highestUserWastedPercent"; limit: string;
           value: number | null; pass: boolean | null; message: string }[];
  /** Every enabled rule passed (dive --ci's exit status). */
  pass: boolean;
  layers: { index: number; digestId: string; command: string; sizeBytes: number }[];
}

/** A file in an image diff: as it is in the second image (in the first, for removals). */
export interface DiffFile {
  path: string;
  type: LayerChange["type"];
  size: number;
  /** Size in the second image minus size in the first. */
  sizeDelta: number;
  mode: number;
  /** The layer that last changed it. */
  layer: number;
}

/** `Store.diffImages(a, b)`: b's files against a's. */
export interface ImageDiff {
  /** DiffIDs of the bottom layers both images share. */
  sharedLayers: string[];
  added: DiffFile[];
  removed: DiffFile[];
  modified: DiffFile[];
}

/** `Store.findFiles` options. */
export interface FindFilesOptions {
  change?: "added" | "modified" | "removed";
}

/** `Store.findFiles` element: one layer of one image that changed a matching path. */
export interface FoundFile {
  /** The image ID (config digest). */
  image: string;
  /** Docker: the image's tags; containerd: the image's name. */
  repoTags: string[];
  /** For a containerd image: its namespace. */
  namespace?: string;
  layer: number;
  diffId: string;
  path: string;
  change: "added" | "modified" | "removed";
  type: LayerChange["type"];
  size: number;
  mode: number;
}

/** A layer a store-wide search could not look into (its tar-split or blob is unreadable or
 *  missing, or a layer below it is), named so the answer is known to be partial. */
export interface SkippedLayer {
  diffId: string;
  chainId: string;
  /** An image with that layer (its first tag, else its ID) and the layer's index there. */
  image: string;
  layer: number;
  reason: string;
}

/** `Store.updateSearchIndex`: what bringing the persisted search index up to date did. */
export interface IndexUpdate {
  /** Layers whose change sets were worked out and written. */
  added: number;
  /** Records of layers no image holds any more, deleted. */
  removed: number;
  skipped: SkippedLayer[];
}

/** `Store.systemDf`: the Engine API's `GET /system/df` (v1.41). */
export interface SystemDf {
  LayersSize: number;
  Images: (ImageSummary & { SharedSize: number; Containers: number })[];
  Containers: never[];
  Volumes: never[];
  BuildCache: null;
  BuilderSize: number;
}
"#;

#[wasm_bindgen(inline_js = r#"
export function imagestore_expand_hits(g) {
  const out = [];
  const rows = g.rows;
  for (let r = 0; r < rows.length; r += 3) {
    const [image, repoTags, namespace] = g.images[rows[r]];
    const layer = rows[r + 1];
    const [diffId, changes] = g.layers[rows[r + 2]];
    for (const [path, change, type, size, mode] of changes) {
      const hit = namespace === null
        ? { image, repoTags: repoTags.slice(), layer, diffId, path, change, type, size, mode }
        : { image, repoTags: repoTags.slice(), namespace, layer, diffId, path, change, type, size, mode };
      out.push(hit);
    }
  }
  return out;
}
"#)]
extern "C" {
    /// `findFiles`' hits one object each (`FoundFile`) from their grouped form
    /// ([`grouped_hits_json`]): a base layer's hits in 10,000 images are 10,000 copies of the
    /// same few values, which as JSON text cost seconds to encode and parse (367,039 hits: ~90 MB).
    fn imagestore_expand_hits(grouped: &JsValue) -> JsValue;
}

/// The JSON text `imagestore_expand_hits` takes: `{ images: [[id, repoTags, namespace|null]],
/// layers: [[diffId, [[path, change, type, size, mode]]]], rows: [image, layer, slot, …] }`.
fn grouped_hits_json(g: &crate::store_analysis::GroupedFileSearch) -> Result<String> {
    let images: Vec<_> = g.images.iter().map(|i| (&i.image, &i.repo_tags, &i.namespace)).collect();
    let layers: Vec<_> = g
        .layers
        .iter()
        .map(|l| {
            (&l.diff_id, l.changes.iter().map(|c| (&c.path, c.change, c.kind, c.size, c.mode)).collect::<Vec<_>>())
        })
        .collect();
    let rows: Vec<u32> = g.rows.iter().flat_map(|&(a, b, c)| [a, b, c]).collect();
    serde_json::to_string(&serde_json::json!({ "images": images, "layers": layers, "rows": rows }))
        .map_err(|e| crate::error::Error::invalid(format!("cannot encode the result: {e}")))
}

/// `list` (a JS array) with a `skipped` property holding `skipped`.
fn with_skipped(list: JsValue, skipped: &[crate::store_analysis::SkippedLayer]) -> Result<JsValue> {
    js_sys::Reflect::set(&list, &JsValue::from_str("skipped"), &to_js_value(&skipped)?)
        .map_err(|_| crate::error::Error::invalid("cannot convert the result to a JS value"))?;
    Ok(list)
}

#[wasm_bindgen]
impl Store {
    /// What each layer of an image adds, modifies and removes, bottom first.
    #[wasm_bindgen(js_name = layerChanges, unchecked_return_type = "Promise<LayerChanges[]>")]
    pub fn layer_changes(&self, #[wasm_bindgen(unchecked_param_type = "ImageRef")] image: JsValue) -> Promise {
        entry(|| {
            let prepared = options::image_ref(&image, "layerChanges: image")
                .and_then(|i| Ok((i, self.facade_for("layerChanges")?)));
            promise(async move {
                let (image, facade) = prepared?;
                let changes = facade.lock().await?.layer_changes(image).await?;
                large_to_js(&changes)
            })
        })
    }

    /// Wasted space, efficiency score and dive's CI rules, as dive 0.13.1 computes them.
    #[wasm_bindgen(unchecked_return_type = "Promise<Efficiency>")]
    pub fn efficiency(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ImageRef")] image: JsValue,
        #[wasm_bindgen(js_name = rules, unchecked_optional_param_type = "EfficiencyRules")] rules_given: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared = options::image_ref(&image, "efficiency: image")
                .and_then(|i| Ok((i, options::dive_rules(&rules_given)?, self.facade_for("efficiency")?)));
            promise(async move {
                let (image, rules, facade) = prepared?;
                let answer = facade.lock().await?.efficiency(image, &rules).await?;
                to_js_value(&answer)
            })
        })
    }

    /// The files of image `b` against image `a`, and the layers they share.
    #[wasm_bindgen(js_name = diffImages, unchecked_return_type = "Promise<ImageDiff>")]
    pub fn diff_images(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ImageRef")] a: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ImageRef")] b: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared = (|| -> Result<_> {
                Ok((
                    options::image_ref(&a, "diffImages: a")?,
                    options::image_ref(&b, "diffImages: b")?,
                    self.facade_for("diffImages")?,
                ))
            })();
            promise(async move {
                let (a, b, facade) = prepared?;
                let diff = facade.lock().await?.diff_images(a, b).await?;
                large_to_js(&diff)
            })
        })
    }

    /// Every image and layer (of both views) that adds, changes or deletes a path matching
    /// `pattern` (an absolute path, a basename, or a glob such as `**\/*.pem`), from the
    /// persisted search index. The array's `skipped` property lists the layers that could not
    /// be searched.
    #[wasm_bindgen(js_name = findFiles, unchecked_return_type = "Promise<FoundFile[] & { skipped: SkippedLayer[] }>")]
    pub fn find_files(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] pattern: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "FindFilesOptions")] options: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared = args::string(&pattern, "findFiles: pattern")
                .and_then(|p| Ok((p, options::change_filter(&options)?, self.facade_for("findFiles")?)));
            promise(async move {
                let (pattern, only, facade) = prepared?;
                let answer = facade.lock().await?.find_files_grouped(&pattern, only).await?;
                let grouped = js_sys::JSON::parse(&grouped_hits_json(&answer)?)
                    .map_err(|_| crate::error::Error::invalid("cannot convert the result to a JS value"))?;
                with_skipped(imagestore_expand_hits(&grouped), &answer.skipped)
            })
        })
    }

    /// The largest files of an image's merged filesystem, largest first.
    #[wasm_bindgen(js_name = largestFiles, unchecked_return_type = "Promise<LargeFile[]>")]
    pub fn largest_files(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ImageRef")] image: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "LargestFilesOptions")] options: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared = options::image_ref(&image, "largestFiles: image").and_then(|i| {
                Ok((i, options::file_limit("largestFiles", &options)?, self.facade_for("largestFiles")?))
            });
            promise(async move {
                let (image, limit, facade) = prepared?;
                let answer = facade.lock().await?.largest_files_of(image, limit).await?;
                to_js_value(&answer)
            })
        })
    }

    /// The largest files stored in any layer of any image (once per layer), largest first; the
    /// array's `skipped` property lists the layers that could not be looked into.
    #[wasm_bindgen(js_name = storeLargestFiles, unchecked_return_type = "Promise<StoredFile[] & { skipped: SkippedLayer[] }>")]
    pub fn store_largest_files(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "LargestFilesOptions")] options: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared = options::file_limit("storeLargestFiles", &options)
                .and_then(|l| Ok((l, self.facade_for("storeLargestFiles")?)));
            promise(async move {
                let (limit, facade) = prepared?;
                let answer = facade.lock().await?.largest_files_in_store(limit).await?;
                with_skipped(to_js_value(&answer.files)?, &answer.skipped)
            })
        })
    }

    /// Brings the persisted search index up to date with every image of both views: the
    /// change sets of layers imported since the last search are worked out and written, the
    /// records of layers no image holds are deleted. `findFiles` does this first; calling it
    /// ahead (after an import, in a worker) makes the next search answer from the index alone.
    #[wasm_bindgen(js_name = updateSearchIndex, unchecked_return_type = "Promise<IndexUpdate>")]
    pub fn update_search_index(&self) -> Promise {
        entry(|| {
            let facade = self.facade_for("updateSearchIndex");
            promise(async move { to_js_value(&facade?.lock().await?.update_search_index().await?) })
        })
    }

    /// `GET /system/df`.
    #[wasm_bindgen(js_name = systemDf, unchecked_return_type = "Promise<SystemDf>")]
    pub fn system_df(&self) -> Promise {
        entry(|| {
            let facade = self.facade_for("systemDf");
            promise(async move { to_js_value(&facade?.lock().await?.system_df()?) })
        })
    }
}
