//! The exported `Store` class: opening, closing, info. The Docker view's methods are in
//! [`super::docker`]. Each method converts its arguments, runs the operation, and converts the
//! result or error.

use super::backend::{AnyBackend, BackendKind};
use super::convert::{promise, to_js_error, to_js_value};
use super::js_backend::{JsBackend, JsStorageAdapter};
use super::types::StoreOptions;
use crate::error::{Error, Result};
use crate::storage::indexeddb::IdbBackend;
use crate::storage::{Backend, Space};
use futures::lock::Mutex;
use js_sys::Promise;
use serde::Serialize;
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The store façade the JS class wraps.
pub(super) type Facade = crate::store::Store<AnyBackend>;

/// An image store over IndexedDB or memory.
// JS may call several async methods at once: they take turns on the façade through an async
// mutex (no `RefCell` borrow is ever held across an await). An import streams its input with
// its own handle on the backend (staged blobs are invisible) and takes the lock only to commit.
#[wasm_bindgen]
pub struct Store {
    name: String,
    backend: Rc<AnyBackend>,
    facade: Rc<Mutex<Facade>>,
    /// The containerd view (its open-ingest locks are shared by every namespace handle).
    containerd: crate::containerd::Containerd<AnyBackend>,
    closed: Cell<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoreInfo {
    name: String,
    backend: String,
    meta_records: usize,
    chunk_records: usize,
}

#[wasm_bindgen]
impl Store {
    /// Opens the store `name` (an IndexedDB database of that name, created if missing), or an
    /// empty memory store with `{ backend: "memory" }`.
    #[wasm_bindgen(js_name = open)]
    pub async fn open(name: String, options: Option<StoreOptions>) -> Result<Store, JsValue> {
        Self::open_kind(name, StoreOptions::backend_kind(options.as_ref()).map_err(to_js_error)?)
            .await
            .map_err(to_js_error)
    }

    /// Opens store `name` on storage the host provides: a JS storage adapter object (see
    /// `src/wasm/js_backend.rs`; in Node, `Store.open(name, { backend: "fs", path })` makes one).
    #[wasm_bindgen(js_name = openAdapter)]
    pub async fn open_adapter(name: String, adapter: JsStorageAdapter) -> Result<Store, JsValue> {
        let backend = JsBackend::new(adapter).map_err(to_js_error)?;
        Self::open_backend(name, AnyBackend::Adapter(backend)).await.map_err(to_js_error)
    }

    /// Deletes the IndexedDB database `name` and everything in it.
    #[wasm_bindgen(js_name = destroy)]
    pub async fn destroy(name: String) -> Result<(), JsValue> {
        check_name(&name).map_err(to_js_error)?;
        IdbBackend::destroy(&name).await.map_err(to_js_error)
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

    /// Name, backend and record counts.
    #[wasm_bindgen(js_name = storeInfo, unchecked_return_type = "Promise<StoreInfo>")]
    pub fn store_info(&self) -> Promise {
        let name = self.name.clone();
        self.run("storeInfo", move |backend| async move {
            let info = StoreInfo {
                name,
                backend: backend.name().to_string(),
                meta_records: backend.keys(Space::Meta, "").await?.len(),
                chunk_records: backend.keys(Space::Chunks, "").await?.len(),
            };
            to_js_value(&info)
        })
    }
}

impl Store {
    /// [`Store::open`] with the backend already chosen (Rust callers and tests).
    pub async fn open_kind(name: String, kind: BackendKind) -> Result<Store> {
        check_name(&name)?;
        let backend = AnyBackend::open(kind, &name).await?;
        Self::open_backend(name, backend).await
    }

    async fn open_backend(name: String, backend: AnyBackend) -> Result<Store> {
        check_name(&name)?;
        let facade = match crate::store::Store::open(backend.clone()).await {
            Ok(f) => f,
            Err(e) => {
                backend.close();
                return Err(e.context(format!("opening store {name:?}")));
            }
        };
        let containerd = facade.containerd().clone();
        Ok(Store {
            name,
            backend: Rc::new(backend),
            facade: Rc::new(Mutex::new(facade)),
            containerd,
            closed: Cell::new(false),
        })
    }

    /// The façade for operation `op`, or `failed_precondition` once the store is closed.
    pub(super) fn facade_for(&self, op: &str) -> Result<Rc<Mutex<Facade>>> {
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

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("store name must not be empty"));
    }
    Ok(())
}
