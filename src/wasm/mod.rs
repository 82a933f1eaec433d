//! TEMPORARY stand-in (infra branch) for the JavaScript bindings, just enough for the build,
//! package and e2e pipeline: `Store.open(name, { backend })`, `Store.destroy(name)`,
//! `store.close()`. The real module comes from the wasm branch; resolve merges in its favour.

use crate::storage::memory::MemoryBackend;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

enum Backing {
    Memory(#[allow(dead_code)] MemoryBackend),
    IndexedDb(JsValue),
    Closed,
}

#[wasm_bindgen]
pub struct Store {
    backing: Backing,
}

#[wasm_bindgen]
impl Store {
    /// Opens a store: IndexedDB database `name` by default, or `{ backend: "memory" }`.
    pub async fn open(name: String, options: Option<js_sys::Object>) -> Result<Store, JsError> {
        let backend = match options {
            Some(o) => Reflect::get(&o, &"backend".into()).ok().and_then(|v| v.as_string()),
            None => None,
        };
        match backend.as_deref() {
            Some("memory") => Ok(Store { backing: Backing::Memory(MemoryBackend::new()) }),
            None | Some("indexeddb") => {
                let db = await_request(call_factory("open", &name)?).await?;
                Ok(Store { backing: Backing::IndexedDb(db) })
            }
            Some(other) => Err(JsError::new(&format!("unknown backend {other:?}: use \"indexeddb\" or \"memory\""))),
        }
    }

    /// Deletes the IndexedDB database `name`.
    pub async fn destroy(name: String) -> Result<(), JsError> {
        await_request(call_factory("deleteDatabase", &name)?).await.map(|_| ())
    }

    pub fn close(&mut self) {
        if let Backing::IndexedDb(db) = &self.backing {
            if let Ok(close) = Reflect::get(db, &"close".into()) {
                let _ = close.unchecked_ref::<Function>().call0(db);
            }
        }
        self.backing = Backing::Closed;
    }
}

/// Calls `indexedDB.<method>(name)`, failing clearly when there is no IndexedDB (plain Node).
fn call_factory(method: &str, name: &str) -> Result<JsValue, JsError> {
    let factory = Reflect::get(&js_sys::global(), &"indexedDB".into()).unwrap_or(JsValue::UNDEFINED);
    if factory.is_undefined() || factory.is_null() {
        return Err(JsError::new(
            "IndexedDB is not available here (plain Node?): open the store with { backend: \"memory\" }, \
             or load fake-indexeddb first (import \"fake-indexeddb/auto\")",
        ));
    }
    let f: Function = Reflect::get(&factory, &method.into()).map_err(js_err)?.dyn_into().map_err(js_err)?;
    f.call1(&factory, &name.into()).map_err(js_err)
}

/// Resolves with `request.result` on success, rejects on error.
async fn await_request(request: JsValue) -> Result<JsValue, JsError> {
    let req = request.clone();
    let promise = Promise::new(&mut |resolve, reject| {
        let r = req.clone();
        let on_success = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &Reflect::get(&r, &"result".into()).unwrap_or_default());
        });
        let r = req.clone();
        let on_error = Closure::once_into_js(move || {
            let _ = reject.call1(&JsValue::NULL, &Reflect::get(&r, &"error".into()).unwrap_or_default());
        });
        let _ = Reflect::set(&req, &"onsuccess".into(), &on_success);
        let _ = Reflect::set(&req, &"onerror".into(), &on_error);
    });
    JsFuture::from(promise).await.map_err(js_err)
}

fn js_err(e: JsValue) -> JsError {
    JsError::new(&format!("IndexedDB: {}", e.as_string().unwrap_or_else(|| format!("{e:?}"))))
}
