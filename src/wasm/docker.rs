//! The Docker view on the JS `Store` class: import and the Engine API's image endpoints, each
//! a thin conversion around the façade (`crate::store::Store`). Results are plain JS values in
//! the exact Engine API JSON shapes.

use super::args;
use super::backend::AnyBackend;
use super::convert::{digests, js_object, json_to_js, large_to_js, promise, to_js_value};
use super::facade_lock::FacadeLock;
use super::input::{self, ImportInput};
use super::options::{self, JsImportOptions};
use super::panic::entry;
use super::store::{Facade, Store};
use crate::error::Result;
use js_sys::Promise;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The façade, locked and brought up to date with what other writers (tabs, `Store` objects)
/// committed, for a read.
async fn read<T>(facade: Result<Rc<FacadeLock>>, f: impl FnOnce(&Facade) -> Result<T>) -> Result<T> {
    let facade = facade?;
    let mut facade = facade.lock().await?;
    facade.sync().await?;
    f(&facade)
}

/// [`read`] for a call that needs the whole config of the image `name_or_id` names.
async fn read_config<T>(
    facade: Result<Rc<FacadeLock>>,
    name_or_id: &str,
    f: impl FnOnce(&Facade) -> Result<T>,
) -> Result<T> {
    let facade = facade?;
    let mut facade = facade.lock().await?;
    facade.sync().await?;
    facade.load_config_of(name_or_id).await?;
    f(&facade)
}

/// The image list's columns for `all` and `filters` (the saved answer when it lists the state
/// loaded), read as [`read`] reads: what `listImages` and `listImageRows` build on.
async fn list_columns(
    facade: Rc<FacadeLock>,
    all: bool,
    filters: &crate::docker::list::Filters,
) -> Result<Rc<crate::docker::list_columns::ListColumns>> {
    let mut facade = facade.lock().await?;
    facade.sync().await?;
    facade.list_images_columns_or_saved(all, filters).await
}

/// What an import needs, checked before its promise starts.
type PreparedImport = (ImportInput, JsImportOptions, Rc<AnyBackend>, Rc<FacadeLock>);

impl Store {
    fn prepare_import(&self, input: &JsValue, options: &JsValue) -> Result<PreparedImport> {
        let (backend, facade) = (self.backend_for("import")?, self.facade_for("import")?);
        let options = options::import_options(options)?;
        // Last: taking a ReadableStream's reader locks the stream.
        let input = ImportInput::from_js(input)?;
        Ok((input, options, backend, facade))
    }
}

#[wasm_bindgen]
impl Store {
    /// Imports a tarball (see `ImportInput`); resolves with what was committed. All or
    /// nothing: on an error or abort the store is exactly as before.
    #[wasm_bindgen(js_name = import, unchecked_return_type = "Promise<ImportReport>")]
    pub fn import(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ImportInput")] input: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ImportOptions")] options: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared = self.prepare_import(&input, &options);
            promise(async move {
                let (input, options, backend, facade) = prepared?;
                let reader = input.reader();
                let signal = options.signal.clone();
                let mut options = options.into_core(input.size());
                options.host_upload = input.host_upload();
                // Streaming writes only staged blobs: other calls go on meanwhile.
                let staged = crate::store::stream_import(&*backend, input.into_chunks(signal), options).await;
                let finished = match staged {
                    Ok(f) => f,
                    Err(e) => {
                        if let Some(r) = reader {
                            input::cancel_reader(&r);
                        }
                        return Err(e);
                    }
                };
                let report = facade.lock().await?.commit_import(finished).await?;
                to_js_value(&report)
            })
        })
    }

    /// `GET /images/json`.
    #[wasm_bindgen(js_name = listImages, unchecked_return_type = "Promise<ImageSummary[]>")]
    pub fn list_images(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ListImagesOptions")] options: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared = options::list_images_options(&options).and_then(|o| Ok((o, self.facade_for("listImages")?)));
            let answers = self.list_answers.clone();
            promise(async move {
                let ((all, _digests, filters), facade) = prepared?;
                answers.rows(&list_columns(facade, all, &filters).await?)
            })
        })
    }

    /// `listImages`' answer (`images`) and `docker images`' rows of it (`rows`: what
    /// `imageRows(images, { digests, noTrunc })` gives), the rows worked out from the list the
    /// store keeps rather than from the objects written out and read back (at 10,000 images
    /// that round trip was most of `imageRows`' time).
    #[wasm_bindgen(
        js_name = listImageRows,
        unchecked_return_type = "Promise<{ images: ImageSummary[]; rows: { image: Uint32Array; repository: string[]; tag: string[]; digest: string[]; id: string[] } }>"
    )]
    pub fn list_image_rows(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ListImagesOptions & { noTrunc?: boolean }")] options: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared =
                options::list_image_rows_options(&options).and_then(|o| Ok((o, self.facade_for("listImageRows")?)));
            let answers = self.list_answers.clone();
            promise(async move {
                let ((all, filters, row_options), facade) = prepared?;
                let columns = list_columns(facade, all, &filters).await?;
                let rows = super::rows::row_columns_js(columns.image_rows(row_options)?);
                Ok(js_object(&[("images", answers.rows(&columns)?), ("rows", rows.into())]).into())
            })
        })
    }

    /// Saves the unfiltered list's answer for `{ all }` in the store, for
    /// `Store.savedListImages` to read after a reload, unless the store holds it already.
    /// Resolves with whether it wrote. Call it after listing; a change of the store makes the
    /// saved answer unused until it is saved again.
    #[wasm_bindgen(js_name = saveListAnswer, unchecked_return_type = "Promise<boolean>")]
    pub fn save_list_answer(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "{ all?: boolean }")] options: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared = options::list_answer_options("saveListAnswer", &options)
                .and_then(|all| Ok((all, self.facade_for("saveListAnswer")?)));
            promise(async move {
                let (all, facade) = prepared?;
                let wrote = facade.lock().await?.save_list_answer(all).await?;
                Ok(JsValue::from_bool(wrote))
            })
        })
    }

    /// `GET /images/json` as the JSON text dockerd sends (byte for byte, but for the order
    /// of images created in the same second), for a server to pass on unparsed.
    #[wasm_bindgen(js_name = listImagesJson, unchecked_return_type = "Promise<string>")]
    pub fn list_images_json(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ListImagesOptions")] options: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared = options::list_images_options_for(&options, "listImagesJson")
                .and_then(|o| Ok((o, self.facade_for("listImagesJson")?)));
            let answers = self.list_answers.clone();
            promise(async move {
                let ((all, _digests, filters), facade) = prepared?;
                let text = read(Ok(facade), |f| f.list_images_json(all, &filters)).await?;
                Ok(answers.text(&text))
            })
        })
    }

    /// `GET /images/{name}/json`.
    #[wasm_bindgen(js_name = inspectImage, unchecked_return_type = "Promise<ImageInspect>")]
    pub fn inspect_image(
        &self,
        #[wasm_bindgen(js_name = nameOrId, unchecked_param_type = "string")] name_or_id: JsValue,
    ) -> Promise {
        entry(|| {
            let name_or_id = args::string(&name_or_id, "inspectImage: nameOrId");
            let facade = self.facade_for("inspectImage");
            promise(async move {
                let name_or_id = name_or_id?;
                json_to_js(&read_config(facade, &name_or_id, |f| f.inspect_image(&name_or_id)).await?)
            })
        })
    }

    /// `GET /images/{name}/history`.
    #[wasm_bindgen(js_name = imageHistory, unchecked_return_type = "Promise<HistoryResponseItem[]>")]
    pub fn image_history(
        &self,
        #[wasm_bindgen(js_name = nameOrId, unchecked_param_type = "string")] name_or_id: JsValue,
    ) -> Promise {
        entry(|| {
            let name_or_id = args::string(&name_or_id, "imageHistory: nameOrId");
            let facade = self.facade_for("imageHistory");
            promise(async move {
                let name_or_id = name_or_id?;
                json_to_js(&read_config(facade, &name_or_id, |f| f.image_history(&name_or_id)).await?)
            })
        })
    }

    /// `DELETE /images/{name}?force=&noprune=`.
    #[wasm_bindgen(js_name = removeImage, unchecked_return_type = "Promise<DeleteResponseItem[]>")]
    pub fn remove_image(
        &self,
        #[wasm_bindgen(js_name = nameOrId, unchecked_param_type = "string")] name_or_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RemoveImageOptions")] options: JsValue,
    ) -> Promise {
        entry(|| {
            let name_or_id = args::string(&name_or_id, "removeImage: nameOrId");
            let prepared =
                options::remove_image_options(&options).and_then(|o| Ok((o, self.facade_for("removeImage")?)));
            promise(async move {
                let ((force, noprune, dry_run), facade) = prepared?;
                let name_or_id = name_or_id?;
                let mut facade = facade.lock().await?;
                let answer = if dry_run {
                    facade.sync().await?;
                    facade.remove_image_dry_run(&name_or_id, force, noprune)?
                } else {
                    facade.remove_image(&name_or_id, force, noprune).await?
                };
                to_js_value(&answer)
            })
        })
    }

    /// `POST /images/{name}/tag?repo=&tag=` (an empty tag means `latest`). With `dryRun`,
    /// resolves to the new tag's familiar form, or rejects as the tag would, changing nothing.
    #[wasm_bindgen(js_name = tagImage, unchecked_return_type = "Promise<void | string>")]
    pub fn tag_image(
        &self,
        #[wasm_bindgen(js_name = nameOrId, unchecked_param_type = "string")] name_or_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] repo: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] tag: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "TagImageOptions")] options: JsValue,
    ) -> Promise {
        entry(|| {
            let name_or_id = args::string(&name_or_id, "tagImage: nameOrId");
            let (repo, tag) = (args::string(&repo, "tagImage: repo"), args::opt_string(&tag, "tagImage: tag"));
            let prepared = options::tag_image_options(&options).and_then(|o| Ok((o, self.facade_for("tagImage")?)));
            promise(async move {
                let (name_or_id, repo, tag) = (name_or_id?, repo?, tag?);
                let (dry_run, facade) = prepared?;
                let mut facade = facade.lock().await?;
                let tag = tag.as_deref().unwrap_or("");
                if dry_run {
                    facade.sync().await?;
                    return Ok(JsValue::from_str(&facade.tag_image_dry_run(&name_or_id, &repo, tag)?));
                }
                facade.tag_image(&name_or_id, &repo, tag).await?;
                Ok(JsValue::UNDEFINED)
            })
        })
    }

    /// The full image ID a partial one stands for (rejects `not_found` / `ambiguous`).
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn search(
        &self,
        #[wasm_bindgen(js_name = partialId, unchecked_param_type = "string")] partial_id: JsValue,
    ) -> Promise {
        entry(|| {
            let partial_id = args::string(&partial_id, "search: partialId");
            let facade = self.facade_for("search");
            promise(async move {
                let partial_id = partial_id?;
                Ok(JsValue::from_str(read(facade, |f| f.search(&partial_id)).await?.as_str()))
            })
        })
    }

    /// The parent image's ID (from the image store's metadata), or null.
    #[wasm_bindgen(js_name = imageParent, unchecked_return_type = "Promise<string | null>")]
    pub fn image_parent(
        &self,
        #[wasm_bindgen(js_name = nameOrId, unchecked_param_type = "string")] name_or_id: JsValue,
    ) -> Promise {
        entry(|| {
            let name_or_id = args::string(&name_or_id, "imageParent: nameOrId");
            let facade = self.facade_for("imageParent");
            promise(async move {
                let name_or_id = name_or_id?;
                let parent = read(facade, |f| f.image_parent(&name_or_id)).await?;
                Ok(parent.map_or(JsValue::NULL, |p| JsValue::from_str(p.as_str())))
            })
        })
    }

    /// The IDs of the images whose parent this image is.
    #[wasm_bindgen(js_name = imageChildren, unchecked_return_type = "Promise<string[]>")]
    pub fn image_children(
        &self,
        #[wasm_bindgen(js_name = nameOrId, unchecked_param_type = "string")] name_or_id: JsValue,
    ) -> Promise {
        entry(|| {
            let name_or_id = args::string(&name_or_id, "imageChildren: nameOrId");
            let facade = self.facade_for("imageChildren");
            promise(async move {
                let name_or_id = name_or_id?;
                digests(&read(facade, |f| f.image_children(&name_or_id)).await?)
            })
        })
    }

    /// The IDs of the images without children.
    #[wasm_bindgen(js_name = imageHeads, unchecked_return_type = "Promise<string[]>")]
    pub fn image_heads(&self) -> Promise {
        entry(|| {
            let facade = self.facade_for("imageHeads");
            promise(async move { digests(&read(facade, |f| Ok(f.image_heads())).await?) })
        })
    }

    /// The files of one layer, or the merged view at that layer, from the layers' tar-split
    /// (a containerd image's: from the same layers' tar-split, else from its layer blobs).
    #[wasm_bindgen(js_name = layerFiles, unchecked_return_type = "Promise<LayerFileEntry[]>")]
    pub fn layer_files(
        &self,
        #[wasm_bindgen(js_name = nameOrId, unchecked_param_type = "ImageRef")] name_or_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "LayerFilesOptions")] options: JsValue,
    ) -> Promise {
        entry(|| {
            let image = options::image_ref(&name_or_id, "layerFiles: nameOrId");
            let prepared = options::layer_files_options(&options).and_then(|o| Ok((o, self.facade_for("layerFiles")?)));
            promise(async move {
                let ((layer, merged), facade) = prepared?;
                let image = image?;
                let mut facade = facade.lock().await?;
                facade.sync().await?;
                let files = facade.image_layer_files(image, layer.as_ref(), merged).await?;
                large_to_js(&files)
            })
        })
    }
}
