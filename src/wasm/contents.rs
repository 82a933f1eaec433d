//! Layer contents on the JS `Store` class: `save` (an export), `readFile`, `readDirectory` and `readLayer`,
//! each a `ReadableStream<Uint8Array>`. Each method converts its arguments, asks the façade
//! for a reader, and wraps it in a pull stream (one chunk per `pull`, read from storage then).

use super::args;
use super::backend::AnyBackend;
use super::convert::{js_error_message, promise};
use super::options;
use super::panic::entry;
use super::store::Store;
use crate::contents::archive::ArchiveStream;
use crate::contents::files::FileReader;
use crate::contents::layer_reader::LayerReader;
use crate::contents::ExportFormat;
use crate::error::{Error, Result};
use futures::lock::Mutex;
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Archive formats of `Store.save`. */
export type ExportFormat = "docker" | "oci";

/** Options of `Store.save`. */
export interface SaveOptions {
  /**
   * `"docker"` (the default): the archive `docker save` of Docker 20.10 writes.
   * `"oci"`: an OCI image layout with `manifest.json`, as Docker 25's `docker save` writes it.
   */
  format?: ExportFormat;
}
"#;

fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// The future of one chunk (`None` at the end).
type NextChunk<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<Vec<u8>>>> + 'a>>;

/// Something that yields chunks from the backend until it is done.
trait ChunkSource: 'static {
    fn next_chunk<'a>(&'a mut self, b: &'a AnyBackend) -> NextChunk<'a>;
}

impl ChunkSource for ArchiveStream {
    fn next_chunk<'a>(&'a mut self, b: &'a AnyBackend) -> NextChunk<'a> {
        Box::pin(ArchiveStream::next_chunk(self, b))
    }
}
impl ChunkSource for LayerReader {
    fn next_chunk<'a>(&'a mut self, b: &'a AnyBackend) -> NextChunk<'a> {
        Box::pin(self.next(b))
    }
}
impl ChunkSource for FileReader {
    fn next_chunk<'a>(&'a mut self, b: &'a AnyBackend) -> NextChunk<'a> {
        Box::pin(self.next(b))
    }
}

/// A `ReadableStream<Uint8Array>` pulling chunks of `source` from `backend`.
fn readable(source: impl ChunkSource, backend: Rc<AnyBackend>) -> Result<web_sys::ReadableStream> {
    let state = Rc::new(Mutex::new(source));
    let pull = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |controller: JsValue| {
        let (state, backend) = (state.clone(), backend.clone());
        promise(async move {
            let mut source = state.lock().await;
            let call = |name: &str, arg: Option<&JsValue>| -> Result<()> {
                let f: Function = Reflect::get(&controller, &JsValue::from_str(name))
                    .and_then(JsCast::dyn_into)
                    .map_err(|_| Error::internal(format!("the stream controller has no {name}()")))?;
                match arg {
                    Some(a) => f.call1(&controller, a),
                    None => f.call0(&controller),
                }
                .map_err(|e| Error::invalid(format!("stream {name}: {}", js_error_message(&e))))?;
                Ok(())
            };
            match source.next_chunk(&backend).await? {
                Some(chunk) => call("enqueue", Some(&Uint8Array::from(&chunk[..]).into()))?,
                None => call("close", None)?,
            }
            Ok(JsValue::UNDEFINED)
        })
    });
    let source = Object::new();
    Reflect::set(&source, &JsValue::from_str("pull"), &pull.into_js_value())
        .map_err(|_| Error::invalid("cannot build the stream"))?;
    web_sys::ReadableStream::new_with_underlying_source(&source)
        .map_err(|e| Error::invalid(format!("cannot create a ReadableStream: {e:?}")))
}

#[wasm_bindgen]
impl Store {
    /// Exports the images `names` selects (tags, repositories, IDs, as `docker save` takes
    /// them) as a tar stream. Rejects (before any byte) when an image's layer contents are not
    /// in the store, naming the layers.
    #[wasm_bindgen(js_name = save, unchecked_return_type = "Promise<ReadableStream<Uint8Array>>")]
    pub fn save(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | string[]")] names: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "SaveOptions")] options: JsValue,
    ) -> Promise {
        entry(|| {
            type Prepared = (Vec<String>, ExportFormat, Rc<super::facade_lock::FacadeLock>, Rc<AnyBackend>);
            let prepared = (|| -> Result<Prepared> {
                Ok((
                    options::save_names(&names)?,
                    options::save_format(&options)?,
                    self.facade_for("save")?,
                    self.backend_for("save")?,
                ))
            })();
            promise(async move {
                let (names, format, facade, backend) = prepared?;
                let facade = facade.lock().await?;
                facade.load_configs_to_save(&names).await?;
                let archive = facade.save(&names, format, now_secs())?;
                readable(archive, backend).map(JsValue::from)
            })
        })
    }

    /// The file `path` of an image as a stream: from the topmost layer that has it, whiteouts
    /// honoured, symlinks and hard links resolved inside the image. Rejects with `not_found`
    /// (no such file), `invalid_argument` (a directory, a device, a link loop) or
    /// `failed_precondition` (its layer's contents are not in the store).
    #[wasm_bindgen(js_name = readFile, unchecked_return_type = "Promise<ReadableStream<Uint8Array>>")]
    pub fn read_file(
        &self,
        #[wasm_bindgen(js_name = nameOrId, unchecked_param_type = "string")] name_or_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] path: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared = (|| -> Result<_> {
                let name_or_id = args::string(&name_or_id, "readFile: nameOrId")?;
                let path = args::string(&path, "readFile: path")?;
                Ok((name_or_id, path, self.facade_for("readFile")?, self.backend_for("readFile")?))
            })();
            promise(async move {
                let (name_or_id, path, facade, backend) = prepared?;
                let reader = facade.lock().await?.read_file(&name_or_id, &path).await?;
                readable(reader, backend).map(JsValue::from)
            })
        })
    }

    /// Directory `path` of an image's merged filesystem as a tar stream, as `docker cp
    /// IMAGE:PATH -` gives it (names start with the directory's own name; headers as in the
    /// layers; hard links kept when their target is inside). Rejects with `not_found`,
    /// `invalid_argument` (not a directory) or `failed_precondition` (layer contents missing).
    #[wasm_bindgen(js_name = readDirectory, unchecked_return_type = "Promise<ReadableStream<Uint8Array>>")]
    pub fn read_directory(
        &self,
        #[wasm_bindgen(js_name = nameOrId, unchecked_param_type = "string")] name_or_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] path: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared = (|| -> Result<_> {
                let name_or_id = args::string(&name_or_id, "readDirectory: nameOrId")?;
                let path = args::string(&path, "readDirectory: path")?;
                Ok((name_or_id, path, self.facade_for("readDirectory")?, self.backend_for("readDirectory")?))
            })();
            promise(async move {
                let (name_or_id, path, facade, backend) = prepared?;
                let tar = facade.lock().await?.read_directory(&name_or_id, &path).await?;
                readable(tar, backend).map(JsValue::from)
            })
        })
    }

    /// Layer `index` (0 = bottom, as in `RootFS.Layers`) of an image as its uncompressed tar.
    #[wasm_bindgen(js_name = readLayer, unchecked_return_type = "Promise<ReadableStream<Uint8Array>>")]
    pub fn read_layer(
        &self,
        #[wasm_bindgen(js_name = nameOrId, unchecked_param_type = "string")] name_or_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] index: JsValue,
    ) -> Promise {
        entry(|| {
            let prepared = (|| -> Result<_> {
                let name_or_id = args::string(&name_or_id, "readLayer: nameOrId")?;
                let index = args::count(&index, "readLayer: index")?;
                Ok((name_or_id, index, self.facade_for("readLayer")?, self.backend_for("readLayer")?))
            })();
            promise(async move {
                let (name_or_id, index, facade, backend) = prepared?;
                let reader =
                    facade.lock().await?.read_layer(&name_or_id, usize::try_from(index).unwrap_or(usize::MAX))?;
                readable(reader, backend).map(JsValue::from)
            })
        })
    }
}
