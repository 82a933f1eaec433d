//! The containerd view on the JS `Store` class: `store.namespaces()`, `store.containerd(ns)`
//! (images and content of one namespace, with containerd's semantics and error texts), and
//! `store.gc()`. Thin conversions around [`crate::containerd`]; filters are containerd filter
//! strings, given as one string or an array of them (several = any of them matches).

use super::args;
use super::backend::AnyBackend;
use super::convert::{promise, to_js_error, to_js_value};
use super::options::{self, digest, strings as filters};
use super::panic::{entry, entry_sync};
use super::store::Store;
use crate::containerd::ls_view::{content_rows, format_size, image_rows};
use crate::containerd::{self, ContentStore, ImageStore};
use crate::error::Error;
use futures::lock::Mutex;
use js_sys::Promise;
use serde::Serialize;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_CONTAINERD_TYPES: &'static str = r#"
/** containerd filter strings: one, or several (an image matches if any of them matches). */
export type ContainerdFilters = string | string[];

export interface ContainerdImage {
  name: string;
  labels: Record<string, string>;
  target: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> };
  createdAt?: string;
  updatedAt?: string;
}

/** Where `Store.import` sends archives (see the Rust docs of `ImportOptions`). */
export interface ArchiveImportOptions {
  /** containerd namespace for `docker save` archives and OCI layouts (`docker save` without it: Docker view). */
  namespace?: string;
  /** ctr's --base-name, --index-name, --digests, --all-platforms. */
  baseName?: string; indexName?: string; digests?: boolean; allPlatforms?: boolean;
}

/** One row of `ctr images ls`: the cells as ctr prints them, plus the size in bytes. */
export interface CtrImageRow {
  ref: string; type: string; digest: string; size: string; sizeBytes: number; platforms: string; labels: string;
  /** Why the SIZE walk stopped early (ctr logs it and prints the row anyway). */
  sizeError: string | null;
}

/** One row of `ctr content ls`: SIZE as ctr prints it (go-units HumanSize), labels `k=v,…` or `-`. */
export interface CtrContentRow { digest: string; size: string; sizeBytes: number; createdAt: string; labels: string }

export interface ContentInfo { digest: string; size: number; createdAt: string; updatedAt: string; labels: Record<string, string> }
export interface IngestStatus { ref: string; offset: number; total: number; expected: string | null; startedAt: string; updatedAt: string }
export interface GcResult { deletedBlobs: string[]; deletedContent: Record<string, string[]>; deletedImages: Record<string, string[]>; deletedIngests: Record<string, string[]>; sweptChunkSets: number }
"#;

#[wasm_bindgen]
impl Store {
    /// Every containerd namespace, in byte order.
    #[wasm_bindgen(unchecked_return_type = "Promise<string[]>")]
    pub fn namespaces(&self) -> Promise {
        entry(|| {
            let c = self.containerd_for("namespaces");
            promise(async move { to_js_value(&c?.namespaces().await?) })
        })
    }

    /// The images and content of one containerd namespace.
    pub fn containerd(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] namespace: JsValue,
    ) -> Result<Namespace, JsValue> {
        entry_sync(|| {
            let ns = args::string(&namespace, "containerd: namespace")
                .and_then(|name| self.containerd_for("containerd")?.namespace(&name))
                .map_err(to_js_error)?;
            Ok(Namespace { images: ns.images(), content: ns.content() })
        })
    }

    /// containerd's garbage collection over every namespace; the Docker view's blobs (image
    /// configs, tar-splits and layer tars) are kept.
    #[wasm_bindgen(unchecked_return_type = "Promise<GcResult>")]
    pub fn gc(&self) -> Promise {
        entry(|| {
            let facade = self.facade_for("gc");
            promise(async move {
                // Holding the façade keeps Docker imports and deletes out while GC runs.
                to_js_value(&facade?.lock().await?.gc().await?)
            })
        })
    }
}

/// One containerd namespace (`store.containerd(ns)`).
#[wasm_bindgen]
pub struct Namespace {
    images: ImageStore<AnyBackend>,
    content: ContentStore<AnyBackend>,
}

#[wasm_bindgen]
impl Namespace {
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.images.namespace().to_string()
    }

    /// The namespace's content store.
    #[wasm_bindgen(getter)]
    pub fn content(&self) -> Content {
        Content { store: self.content.clone() }
    }

    /// Images matching any of the filters (none: all), in name order.
    #[wasm_bindgen(js_name = listImages, unchecked_return_type = "Promise<ContainerdImage[]>")]
    pub fn list_images(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ContainerdFilters")] filters_: JsValue,
    ) -> Promise {
        entry(|| {
            let (images, f) = (self.images.clone(), filters(&filters_));
            promise(async move { to_js_value(&images.list_filtered(&f?).await?) })
        })
    }

    #[wasm_bindgen(js_name = getImage, unchecked_return_type = "Promise<ContainerdImage>")]
    pub fn get_image(&self, #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue) -> Promise {
        entry(|| {
            let (images, name) = (self.images.clone(), args::string(&name, "getImage: name"));
            promise(async move { to_js_value(&images.get(&name?).await?) })
        })
    }

    #[wasm_bindgen(js_name = createImage, unchecked_return_type = "Promise<ContainerdImage>")]
    pub fn create_image(&self, #[wasm_bindgen(unchecked_param_type = "ContainerdImage")] image: JsValue) -> Promise {
        entry(|| {
            let (images, img) = (self.images.clone(), options::from_js::<containerd::Image>("createImage", image));
            promise(async move { to_js_value(&images.create(&img?).await?) })
        })
    }

    /// Updates the given field paths (`labels`, `labels.<k>`, `target`, `annotations`,
    /// `annotations.<k>`; none: everything).
    #[wasm_bindgen(js_name = updateImage, unchecked_return_type = "Promise<ContainerdImage>")]
    pub fn update_image(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ContainerdImage")] image: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | string[]")] fieldpaths: JsValue,
    ) -> Promise {
        entry(|| {
            let (images, img, paths) = (
                self.images.clone(),
                options::from_js::<containerd::Image>("updateImage", image),
                filters(&fieldpaths),
            );
            promise(async move {
                let paths = paths?;
                let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
                to_js_value(&images.update(&img?, &refs).await?)
            })
        })
    }

    #[wasm_bindgen(js_name = deleteImage, unchecked_return_type = "Promise<void>")]
    pub fn delete_image(&self, #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue) -> Promise {
        entry(|| {
            let (images, name) = (self.images.clone(), args::string(&name, "deleteImage: name"));
            promise(async move {
                images.delete(&name?, None).await?;
                Ok(JsValue::UNDEFINED)
            })
        })
    }

    /// The rows `ctr images ls` prints for the images matching the filters.
    #[wasm_bindgen(js_name = imagesTable, unchecked_return_type = "Promise<CtrImageRow[]>")]
    pub fn images_table(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ContainerdFilters")] filters_: JsValue,
    ) -> Promise {
        entry(|| {
            let (images, content, f) = (self.images.clone(), self.content.clone(), filters(&filters_));
            promise(async move {
                #[derive(Serialize)]
                #[serde(rename_all = "camelCase")]
                struct Row {
                    #[serde(rename = "ref")]
                    reference: String,
                    #[serde(rename = "type")]
                    media_type: String,
                    digest: String,
                    size: String,
                    size_bytes: i64,
                    platforms: String,
                    labels: String,
                    size_error: Option<String>,
                }
                let list = images.list_filtered(&f?).await?;
                let rows: Vec<Row> = image_rows(&content, &list)
                    .await
                    .into_iter()
                    .map(|r| Row {
                        size: format_size(r.size),
                        size_bytes: r.size,
                        reference: r.name,
                        media_type: r.media_type,
                        digest: r.digest,
                        platforms: r.platforms,
                        labels: r.labels,
                        size_error: r.size_error.map(|e| e.message),
                    })
                    .collect();
                to_js_value(&rows)
            })
        })
    }
}

/// A namespace's content store (`ns.content`).
#[wasm_bindgen]
pub struct Content {
    store: ContentStore<AnyBackend>,
}

#[wasm_bindgen]
impl Content {
    #[wasm_bindgen(unchecked_return_type = "Promise<ContentInfo>")]
    pub fn info(&self, #[wasm_bindgen(unchecked_param_type = "string")] digest_: JsValue) -> Promise {
        entry(|| {
            let (store, digest_) = (self.store.clone(), args::string(&digest_, "info: digest"));
            promise(async move { to_js_value(&store.info(&digest(&digest_?)?).await?) })
        })
    }

    /// Infos matching any of the filters, in digest order.
    #[wasm_bindgen(unchecked_return_type = "Promise<ContentInfo[]>")]
    pub fn list(&self, #[wasm_bindgen(unchecked_param_type = "ContainerdFilters")] filters_: JsValue) -> Promise {
        entry(|| {
            let (store, f) = (self.store.clone(), filters(&filters_));
            promise(async move { to_js_value(&store.walk_filtered(&f?).await?) })
        })
    }

    /// The rows `ctr content ls` prints for the infos matching the filters, in digest order.
    #[wasm_bindgen(unchecked_return_type = "Promise<CtrContentRow[]>")]
    pub fn table(&self, #[wasm_bindgen(unchecked_param_type = "ContainerdFilters")] filters_: JsValue) -> Promise {
        entry(|| {
            let (store, f) = (self.store.clone(), filters(&filters_));
            promise(async move {
                #[derive(Serialize)]
                #[serde(rename_all = "camelCase")]
                struct Row {
                    digest: String,
                    size: String,
                    size_bytes: i64,
                    created_at: crate::formats::gotime::GoTime,
                    labels: String,
                }
                let infos = store.walk_filtered(&f?).await?;
                let rows: Vec<Row> = content_rows(&infos)
                    .into_iter()
                    .zip(&infos)
                    .map(|(r, info)| Row {
                        digest: r.digest,
                        size: r.size,
                        size_bytes: info.size,
                        created_at: r.created_at,
                        labels: r.labels,
                    })
                    .collect();
                to_js_value(&rows)
            })
        })
    }

    /// Calls `fn(info)` for each info matching the filters (containerd's Walk).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn walk(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(info: ContentInfo) => void")] f: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ContainerdFilters")] filters_: JsValue,
    ) -> Promise {
        entry(|| {
            let (store, fl) = (self.store.clone(), filters(&filters_));
            let f = args::function(&f, "walk: fn");
            promise(async move {
                let f = f?;
                for info in store.walk_filtered(&fl?).await? {
                    f.call1(&JsValue::NULL, &to_js_value(&info)?)
                        .map_err(|e| Error::aborted(format!("walk callback threw: {e:?}")))?;
                }
                Ok(JsValue::UNDEFINED)
            })
        })
    }

    /// Up to `length` bytes from `offset` (clamped to the blob's end).
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn read(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] digest_: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] offset: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] length: JsValue,
    ) -> Promise {
        entry(|| {
            let store = self.store.clone();
            let digest_ = args::string(&digest_, "read: digest");
            let (offset, length) = (args::opt_count(&offset, "read: offset"), args::opt_count(&length, "read: length"));
            promise(async move {
                let (digest_, offset, length) = (digest_?, offset?, length?);
                let bytes = store.read(&digest(&digest_)?, offset.unwrap_or(0), length.unwrap_or(u64::MAX)).await?;
                Ok(js_sys::Uint8Array::from(&bytes[..]).into())
            })
        })
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn delete(&self, #[wasm_bindgen(unchecked_param_type = "string")] digest_: JsValue) -> Promise {
        entry(|| {
            let (store, digest_) = (self.store.clone(), args::string(&digest_, "delete: digest"));
            promise(async move {
                store.delete(&digest(&digest_?)?).await?;
                Ok(JsValue::UNDEFINED)
            })
        })
    }

    /// Updates labels (`labels` or `labels.<k>`; none: replace all).
    #[wasm_bindgen(unchecked_return_type = "Promise<ContentInfo>")]
    pub fn update(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ digest: string; labels?: Record<string, string> }")] info: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | string[]")] fieldpaths: JsValue,
    ) -> Promise {
        entry(|| {
            let (store, arg, paths) = (self.store.clone(), options::content_update(info), filters(&fieldpaths));
            promise(async move {
                let ((d, labels), paths) = (arg?, paths?);
                let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
                to_js_value(&store.update_labels(&d, labels, &refs).await?)
            })
        })
    }

    /// Opens an ingest: `{ expected: { digest, size } }` are optional.
    #[wasm_bindgen(unchecked_return_type = "Promise<ContentWriter>")]
    pub fn writer(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] reference: JsValue,
        #[wasm_bindgen(unchecked_param_type = "{ expected?: { digest?: string; size?: number } }")] options: JsValue,
    ) -> Promise {
        entry(|| {
            let (store, reference) = (self.store.clone(), args::string(&reference, "writer: ref"));
            let expected = options::writer_expected(&options);
            promise(async move {
                let reference = reference?;
                let (want, size) = expected?;
                let w = store.writer(&reference, want.as_ref(), size).await?;
                Ok(ContentWriter { inner: Rc::new(Mutex::new(Some(w))) }.into())
            })
        })
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<IngestStatus>")]
    pub fn status(&self, #[wasm_bindgen(unchecked_param_type = "string")] reference: JsValue) -> Promise {
        entry(|| {
            let (store, reference) = (self.store.clone(), args::string(&reference, "status: ref"));
            promise(async move { to_js_value(&store.status(&reference?).await?) })
        })
    }

    #[wasm_bindgen(js_name = listStatuses, unchecked_return_type = "Promise<IngestStatus[]>")]
    pub fn list_statuses(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ContainerdFilters")] filters_: JsValue,
    ) -> Promise {
        entry(|| {
            let (store, f) = (self.store.clone(), filters(&filters_));
            promise(async move { to_js_value(&store.list_statuses_filtered(&f?).await?) })
        })
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn abort(&self, #[wasm_bindgen(unchecked_param_type = "string")] reference: JsValue) -> Promise {
        entry(|| {
            let (store, reference) = (self.store.clone(), args::string(&reference, "abort: ref"));
            promise(async move {
                store.abort(&reference?).await?;
                Ok(JsValue::UNDEFINED)
            })
        })
    }
}

/// An open ingest (`content.writer(...)`): `write` bytes, then `commit(size, digest)`.
#[wasm_bindgen]
pub struct ContentWriter {
    inner: Rc<Mutex<Option<containerd::ContentWriter<AnyBackend>>>>,
}

fn closed() -> Error {
    crate::containerd::errdefs::failed_precondition("cannot write to a closed writer")
}

#[wasm_bindgen]
impl ContentWriter {
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn write(&self, #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue) -> Promise {
        entry(|| {
            let (inner, bytes) = (self.inner.clone(), args::bytes(&bytes, "write: bytes"));
            promise(async move {
                let bytes = bytes?;
                inner.lock().await.as_mut().ok_or_else(closed)?.write(&bytes).await?;
                Ok(JsValue::UNDEFINED)
            })
        })
    }

    /// Commits under the digest (checked against `digest` and `size` when given; size 0 =
    /// unchecked) with optional labels.
    #[wasm_bindgen(unchecked_return_type = "Promise<ContentInfo>")]
    pub fn commit(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] size: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] digest_: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, string>")] labels: JsValue,
    ) -> Promise {
        entry(|| {
            let inner = self.inner.clone();
            let (size, digest_) =
                (args::opt_count(&size, "commit: size"), args::opt_string(&digest_, "commit: digest"));
            let labels = options::commit_labels(labels);
            promise(async move {
                let (size, digest_, labels) = (size?, digest_?, labels?);
                let want = digest_.map(|d| digest(&d)).transpose()?;
                let w = inner.lock().await.take().ok_or_else(closed)?;
                to_js_value(&w.commit(size.unwrap_or(0), want.as_ref(), labels).await?)
            })
        })
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<IngestStatus>")]
    pub fn status(&self) -> Promise {
        entry(|| {
            let inner = self.inner.clone();
            promise(async move { to_js_value(&inner.lock().await.as_ref().ok_or_else(closed)?.status()) })
        })
    }

    /// Closes without committing (the ingest stays, as containerd leaves it).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        entry(|| {
            let inner = self.inner.clone();
            promise(async move {
                if let Some(w) = inner.lock().await.take() {
                    w.close().await?;
                }
                Ok(JsValue::UNDEFINED)
            })
        })
    }
}
