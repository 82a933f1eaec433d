//! The exported `Store` class: opening, closing, info. The Docker view's methods are in
//! [`super::docker`]. Each method converts its arguments, runs the operation, and converts the
//! result or error.

use super::backend::{AnyBackend, BackendKind};
use super::convert::{promise, to_js_error, to_js_value};
use super::indexeddb::{Change, IdbBackend};
use super::js_backend::{JsBackend, JsStorageAdapter};
use super::panic::{entry, entry_sync};
use super::types::StoreOptions;
use crate::error::{Error, Result};
use crate::storage::{generation, Backend, Space};
use js_sys::Promise;
use serde::Serialize;
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

pub(super) use super::facade_lock::Facade;
use super::facade_lock::FacadeLock;

/// An image store over IndexedDB or memory.
// JS may call several async methods at once: they take turns on the façade through an async
// mutex (no `RefCell` borrow is ever held across an await). An import streams its input with
// its own handle on the backend (staged blobs are invisible) and takes the lock only to commit.
#[wasm_bindgen]
pub struct Store {
    name: String,
    backend: Rc<AnyBackend>,
    facade: Rc<FacadeLock>,
    /// The containerd view (its open-ingest locks are shared by every namespace handle).
    containerd: crate::containerd::Containerd<AnyBackend>,
    closed: Cell<bool>,
    /// The image list's answers converted to JS, kept while the core's answer is the same.
    pub(super) list_answers: Rc<super::list_answers::ListAnswers>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoreInfo {
    name: String,
    backend: String,
    meta_records: usize,
    /// Of `meta_records`, the derived records (the analysis entries and search index, the
    /// saved list answers): a cache whose make-up depends on what was analysed or listed when,
    /// rebuilt when missing.
    derived_records: usize,
    chunk_records: usize,
}

#[wasm_bindgen]
impl Store {
    /// Opens the store `name` (an IndexedDB database of that name, created if missing), or an
    /// empty memory store with `{ backend: "memory" }`.
    #[wasm_bindgen(js_name = open, unchecked_return_type = "Promise<Store>")]
    pub fn open_js(
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        options: Option<StoreOptions>,
    ) -> Promise {
        super::panic::install_hook();
        // Converted inside the guard: a panic here rejects this call, the module stays usable.
        entry(|| {
            let prepared = open_args(&name, options.as_ref());
            promise(async move {
                let (name, kind, limit) = prepared?;
                Self::open_with(name, kind, limit).await.map(JsValue::from)
            })
        })
    }

    /// Opens store `name` on storage the host provides: a JS storage adapter object (see
    /// `src/wasm/js_backend.rs`; in Node, `Store.open(name, { backend: "fs", path })` makes one).
    #[wasm_bindgen(js_name = openAdapter, unchecked_return_type = "Promise<Store>")]
    pub fn open_adapter_js(
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        adapter: JsStorageAdapter,
    ) -> Promise {
        super::panic::install_hook();
        entry(|| {
            let prepared = open_adapter_args(&name, adapter);
            promise(async move {
                let (name, backend) = prepared?;
                Self::open_backend(name, AnyBackend::Adapter(backend)).await.map(JsValue::from)
            })
        })
    }

    /// Grows the wasm memory by `bytes` at once and hands it to the allocator, for a caller
    /// about to open a large store (Node's fs backend: about 8 KiB per stored blob). Opening
    /// otherwise grows the memory a 64 KiB page at a time, and under V8 every grow replaces
    /// the memory's ArrayBuffer and counts as external memory for the GC: at 10,000 images
    /// that made opening 2–3× slower. Returns whether the memory could be had (it is a hint:
    /// `false` changes nothing else). From 1 MiB (less is no grow worth asking for) to 1 GiB.
    #[wasm_bindgen(js_name = reserveMemory)]
    pub fn reserve_memory(#[wasm_bindgen(unchecked_param_type = "number")] bytes: JsValue) -> Result<bool, JsValue> {
        entry_sync(|| {
            let bytes = super::args::count(&bytes, "Store.reserveMemory: bytes").map_err(to_js_error)?;
            if !(1 << 20..=1 << 30).contains(&bytes) {
                return Err(to_js_error(Error::invalid(format!(
                    "Store.reserveMemory: bytes: from 1 MiB to 1 GiB, got {bytes}"
                ))));
            }
            // Allocated and freed untouched: the allocator keeps the freed block as its free top.
            Ok(Vec::<u8>::new().try_reserve_exact(bytes as usize).is_ok())
        })
    }

    /// The rows of the unfiltered `listImages({ all })` answer that IndexedDB store `name`
    /// saved (`saveListAnswer`), if they list the store as it is now; else `null` (none saved,
    /// or the store changed since, or the record is damaged). Reads two records without
    /// opening the store: for a page to show its list while `Store.open` rebuilds the state.
    #[wasm_bindgen(js_name = savedListImages, unchecked_return_type = "Promise<ImageSummary[] | null>")]
    pub fn saved_list_images_js(
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ all?: boolean }")] options: JsValue,
    ) -> Promise {
        super::panic::install_hook();
        entry(|| {
            let prepared = name_arg(&name, "Store.savedListImages: name").and_then(|name| {
                let all = super::options::list_answer_options("Store.savedListImages", &options)?;
                Ok((name, all))
            });
            promise(async move {
                let (name, all) = prepared?;
                super::panic::check_healthy()?;
                let backend = IdbBackend::open(&name).await?;
                let columns = crate::docker::list_answer::read(&backend, all).await;
                backend.close();
                match columns? {
                    Some(columns) => super::list_answers::rows_once(&columns),
                    None => Ok(JsValue::NULL),
                }
            })
        })
    }

    /// Deletes the IndexedDB database `name` and everything in it.
    #[wasm_bindgen(js_name = destroy, unchecked_return_type = "Promise<void>")]
    pub fn destroy_js(#[wasm_bindgen(unchecked_param_type = "string")] name: JsValue) -> Promise {
        super::panic::install_hook();
        entry(|| {
            let name = destroy_args(&name);
            promise(async move {
                IdbBackend::destroy(&name?).await?;
                Ok(JsValue::UNDEFINED)
            })
        })
    }

    /// Closes the store. Later calls reject with code `failed_precondition`; calls already
    /// running finish or fail with that code.
    pub fn close(&self) {
        self.closed.set(true);
        self.backend.close();
    }

    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    #[wasm_bindgen(getter, unchecked_return_type = "BackendKind")]
    pub fn backend(&self) -> String {
        self.backend.name().to_string()
    }

    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.closed.get()
    }

    /// Calls `callback` whenever another tab, window, worker or `Store` object changed this
    /// store (`{ reason: "changed" }`: re-read what you show; this store's own reads already
    /// see the change), or closed this store's connection by deleting or upgrading the database
    /// (`{ reason: "closed" }`: open it again). A memory store has no other writers and never
    /// calls it. Returns a function that unsubscribes.
    #[wasm_bindgen(js_name = onChange, unchecked_return_type = "() => void")]
    pub fn on_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: { reason: \"changed\" | \"closed\" }) => void")]
        callback: JsValue,
    ) -> Result<js_sys::Function, JsValue> {
        entry_sync(|| {
            let callback = super::args::function(&callback, "onChange: callback").map_err(to_js_error)?;
            let backend = self.backend_for("onChange").map_err(to_js_error)?;
            let AnyBackend::IndexedDb(idb) = &*backend else {
                return Ok(Closure::<dyn FnMut()>::new(|| {}).into_js_value().unchecked_into());
            };
            let id = idb.on_change(move |change| {
                let reason = match change {
                    Change::Changed => "changed",
                    Change::Closed => "closed",
                };
                let event = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&event, &JsValue::from_str("reason"), &JsValue::from_str(reason));
                // A throwing callback must not stop the others; the browser reports it.
                if let Err(e) = callback.call1(&JsValue::UNDEFINED, &event) {
                    web_sys::console::error_2(&JsValue::from_str("imagestore onChange callback threw:"), &e);
                }
            });
            let idb = idb.clone();
            Ok(Closure::<dyn FnMut()>::new(move || idb.off_change(id)).into_js_value().unchecked_into())
        })
    }

    /// Name, backend and record counts.
    #[wasm_bindgen(js_name = storeInfo, unchecked_return_type = "Promise<StoreInfo>")]
    pub fn store_info(&self) -> Promise {
        entry(|| {
            let name = self.name.clone();
            self.run("storeInfo", move |backend| async move {
                // The generation record is bookkeeping, not a record of the store's.
                let keys: Vec<String> = backend
                    .keys(Space::Meta, "")
                    .await?
                    .into_iter()
                    .filter(|k| k != generation::KEY && !k.starts_with(crate::schema::STAGING_MARKERS))
                    .collect();
                let info = StoreInfo {
                    name,
                    backend: backend.name().to_string(),
                    meta_records: keys.len(),
                    derived_records: keys
                        .iter()
                        .filter(|k| {
                            k.starts_with(crate::schema::analysis::PREFIX) || k.starts_with(crate::schema::LIST_ANSWERS)
                        })
                        .count(),
                    chunk_records: backend.keys(Space::Chunks, "").await?.len(),
                };
                to_js_value(&info)
            })
        })
    }
}

impl Store {
    /// `Store.open` for Rust callers (tests): the same checks, the store itself as the answer.
    pub async fn open(name: JsValue, options: Option<StoreOptions>) -> Result<Store, JsValue> {
        let (name, kind, limit) = open_args(&name, options.as_ref()).map_err(to_js_error)?;
        Self::open_with(name, kind, limit).await.map_err(to_js_error)
    }

    /// `Store.openAdapter` for Rust callers.
    pub async fn open_adapter(name: JsValue, adapter: JsStorageAdapter) -> Result<Store, JsValue> {
        let (name, backend) = open_adapter_args(&name, adapter).map_err(to_js_error)?;
        Self::open_backend(name, AnyBackend::Adapter(backend)).await.map_err(to_js_error)
    }

    /// `Store.destroy` for Rust callers.
    pub async fn destroy(name: JsValue) -> Result<(), JsValue> {
        let name = destroy_args(&name).map_err(to_js_error)?;
        IdbBackend::destroy(&name).await.map_err(to_js_error)
    }

    /// [`Store::open`] with the backend already chosen (Rust callers and tests).
    pub async fn open_kind(name: String, kind: BackendKind) -> Result<Store> {
        Self::open_with(name, kind, None).await
    }

    /// [`Store::open_kind`] with the memory backend's capacity in bytes (default
    /// [`crate::storage::memory::DEFAULT_CAPACITY`]; ignored by IndexedDB).
    pub async fn open_with(name: String, kind: BackendKind, memory_limit: Option<u64>) -> Result<Store> {
        super::panic::install_hook();
        super::host::install_host();
        super::panic::check_healthy()?;
        check_name(&name)?;
        // Other tabs must see this session alive before it stages anything.
        crate::storage::sessions::announce().await;
        let backend = match (kind, memory_limit) {
            (BackendKind::Memory, Some(limit)) => {
                AnyBackend::Memory(crate::storage::memory::MemoryBackend::with_capacity(limit))
            }
            _ => AnyBackend::open(kind, &name).await?,
        };
        Self::open_backend(name, backend).await
    }

    async fn open_backend(name: String, backend: AnyBackend) -> Result<Store> {
        super::panic::install_hook();
        super::host::install_host();
        super::panic::check_healthy()?;
        check_name(&name)?;
        let facade = match crate::store::Store::open(backend.clone()).await {
            Ok(f) => f,
            Err(e) => {
                backend.close();
                return Err(e.context(format!("opening store {name:?}")));
            }
        };
        // What closed or killed tabs left half-written goes now, if their markers say they
        // left anything (else this reads only the markers' keys). Best effort: the store opens
        // even if this fails (the next gc() tries again).
        let _ = crate::storage::blobs::sweep_if_marked(&backend).await;
        let containerd = facade.containerd().clone();
        Ok(Store {
            name,
            backend: Rc::new(backend),
            facade: FacadeLock::new(facade),
            containerd,
            closed: Cell::new(false),
            list_answers: Default::default(),
        })
    }

    /// The façade for operation `op`, or `failed_precondition` once the store is closed.
    pub(super) fn facade_for(&self, op: &str) -> Result<Rc<FacadeLock>> {
        self.backend_for(op)?;
        Ok(self.facade.clone())
    }

    /// The containerd view for operation `op`, or `failed_precondition` once closed.
    pub(super) fn containerd_for(&self, op: &str) -> Result<crate::containerd::Containerd<AnyBackend>> {
        self.backend_for(op)?;
        Ok(self.containerd.clone())
    }

    /// The backend for operation `op`, or `failed_precondition` once the store is closed.
    pub fn backend_for(&self, op: &str) -> Result<Rc<AnyBackend>> {
        super::panic::check_healthy()?;
        if self.closed.get() {
            return Err(Error::precondition(format!("store {:?}: {op} after close()", self.name)));
        }
        Ok(self.backend.clone())
    }

    /// Runs `op` as a JS promise that resolves with its value or rejects with a coded `Error`.
    pub(super) fn run<F, Fut>(&self, op: &str, f: F) -> Promise
    where
        F: FnOnce(Rc<AnyBackend>) -> Fut,
        Fut: Future<Output = Result<JsValue>> + 'static,
    {
        let started = self.backend_for(op).map(f);
        promise(async move { started?.await })
    }
}

/// `Store.open`'s arguments: the name, the backend, the memory backend's capacity.
fn open_args(name: &JsValue, options: Option<&StoreOptions>) -> Result<(String, BackendKind, Option<u64>)> {
    let name = super::args::string(name, "Store.open: name")?;
    Ok((name, StoreOptions::backend_kind(options)?, StoreOptions::memory_limit(options)?))
}

fn open_adapter_args(name: &JsValue, adapter: JsStorageAdapter) -> Result<(String, JsBackend)> {
    let name = super::args::string(name, "Store.openAdapter: name")?;
    Ok((name, JsBackend::new(adapter)?))
}

fn destroy_args(name: &JsValue) -> Result<String> {
    name_arg(name, "Store.destroy: name")
}

/// A store name argument of `what` (`Store.destroy: name`).
fn name_arg(name: &JsValue, what: &str) -> Result<String> {
    let name = super::args::string(name, what)?;
    check_name(&name)?;
    Ok(name)
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("store name must not be empty"));
    }
    Ok(())
}
