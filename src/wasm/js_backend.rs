//! A [`Backend`] whose storage is a JS object (a "storage adapter"), so that a host can keep a
//! store somewhere this crate cannot reach itself — in Node, files and an embedded database
//! (`node/fs_adapter.js` in the package). Only conversions happen here: every call is handed to
//! the adapter as it is, and its answer (a value or a promise of one) is converted back.
//!
//! The adapter's contract (spaces are `"meta"` and `"chunks"`, keys are strings, values are
//! `Uint8Array`s):
//! - `get(space, key)` → value or `undefined`;
//! - `scan(space, prefix)` → `[key, value, key, value, …]` in key order, or the same packed
//!   as `{ keys, keyEnds, values, valueEnds }`: the UTF-8 keys and the values each
//!   concatenated in one `Uint8Array`, with a `Uint32Array` of where each one ends (four
//!   crossings into wasm for a whole scan instead of two per record);
//! - `keys(space, prefix)` → `[key, …]` in key order;
//! - `commit(ops)` applies `[{ op: "put", space, key, value } | { op: "delete", space, key } |
//!   { op: "deletePrefix", space, prefix } | { op: "requireAbsent", space, key } |
//!   { op: "requireValue", space, key, value }]` all or nothing; it throws an `Error` with
//!   `code: "already_exists"` when a `requireAbsent` key exists, and with `code:
//!   "failed_precondition"` when a `requireValue` key does not hold `value` (`null`: is absent);
//! - `close()`; the string property `kind` names it (what `store.backend` reports).
//!
//! Any method may answer synchronously or with a promise; an error thrown or rejected with a
//! `code` keeps that code (else it becomes `unavailable`).

use super::convert::js_object;
use crate::error::{Error, ErrorCode, Result};
use crate::storage::{Backend, Op, Space};
use js_sys::{Array, Promise, Reflect, Uint32Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// The storage adapter object given to `Store.openAdapter`.
    #[wasm_bindgen(typescript_type = "StorageAdapter")]
    #[derive(Clone)]
    pub type JsStorageAdapter;

    #[wasm_bindgen(method, catch, js_name = get)]
    fn js_get(this: &JsStorageAdapter, space: &str, key: &str) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = scan)]
    fn js_scan(this: &JsStorageAdapter, space: &str, prefix: &str) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = keys)]
    fn js_keys(this: &JsStorageAdapter, space: &str, prefix: &str) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = commit)]
    fn js_commit(this: &JsStorageAdapter, ops: Array) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = close)]
    fn js_close(this: &JsStorageAdapter) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, getter, js_name = kind)]
    fn js_kind(this: &JsStorageAdapter) -> JsValue;
}

#[derive(Clone)]
pub struct JsBackend {
    adapter: JsStorageAdapter,
    kind: String,
}

impl JsBackend {
    pub fn new(adapter: JsStorageAdapter) -> Result<JsBackend> {
        for method in ["get", "scan", "keys", "commit", "close"] {
            let f = Reflect::get(&adapter, &JsValue::from_str(method)).unwrap_or(JsValue::UNDEFINED);
            if !f.is_function() {
                return Err(Error::invalid(format!("storage adapter: method {method}() is missing")));
            }
        }
        let kind = adapter.js_kind().as_string().unwrap_or_else(|| "adapter".to_string());
        Ok(JsBackend { adapter, kind })
    }

    /// What the adapter calls itself (`store.backend`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn close(&self) {
        let _ = self.adapter.js_close();
    }
}

/// The adapter's answer, awaited if it is a promise.
async fn settle(call: &str, answer: std::result::Result<JsValue, JsValue>) -> Result<JsValue> {
    let value = answer.map_err(|e| from_js_error(call, e))?;
    match value.dyn_into::<Promise>() {
        Ok(promise) => JsFuture::from(promise).await.map_err(|e| from_js_error(call, e)),
        Err(value) => Ok(value),
    }
}

/// A JS exception as a crate error, keeping its `code` when it is one of ours.
fn from_js_error(call: &str, e: JsValue) -> Error {
    let message = Reflect::get(&e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    let code = Reflect::get(&e, &JsValue::from_str("code")).ok().and_then(|c| c.as_string());
    let code = code.and_then(|c| ErrorCode::parse(&c)).unwrap_or(ErrorCode::Unavailable);
    Error::new(code, format!("storage {call}: {message}"))
}

fn to_bytes(v: &JsValue, call: &str) -> Result<Vec<u8>> {
    v.dyn_ref::<Uint8Array>()
        .map(|a| a.to_vec())
        .ok_or_else(|| Error::unavailable(format!("storage {call}: expected a Uint8Array, got {v:?}")))
}

fn to_array(v: JsValue, call: &str) -> Result<Array> {
    v.dyn_into::<Array>().map_err(|v| Error::unavailable(format!("storage {call}: expected an array, got {v:?}")))
}

fn to_key(v: JsValue, call: &str) -> Result<String> {
    v.as_string().ok_or_else(|| Error::unavailable(format!("storage {call}: expected a string key, got {v:?}")))
}

/// A packed scan answer `{ keys, keyEnds, values, valueEnds }` as records.
fn unpack_scan(packed: &JsValue) -> Result<Vec<(String, Vec<u8>)>> {
    let field = |name: &str| Reflect::get(packed, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    let ends = |name: &str| -> Result<Vec<u32>> {
        field(name)
            .dyn_ref::<Uint32Array>()
            .map(|a| a.to_vec())
            .ok_or_else(|| Error::unavailable(format!("storage scan: packed answer's {name} is not a Uint32Array")))
    };
    let (keys, values) = (to_bytes(&field("keys"), "scan")?, to_bytes(&field("values"), "scan")?);
    let (key_ends, value_ends) = (ends("keyEnds")?, ends("valueEnds")?);
    if key_ends.len() != value_ends.len() {
        return Err(Error::unavailable("storage scan: packed answer has more keys than values or fewer"));
    }
    let slices = |bytes: &[u8], ends: &[u32], what: &str| -> Result<Vec<std::ops::Range<usize>>> {
        let mut start = 0;
        let mut out = Vec::with_capacity(ends.len());
        for &end in ends {
            let end = end as usize;
            if end < start || end > bytes.len() {
                return Err(Error::unavailable(format!("storage scan: packed {what} end {end} out of order or range")));
            }
            out.push(start..end);
            start = end;
        }
        Ok(out)
    };
    let key_ranges = slices(&keys, &key_ends, "key")?;
    let value_ranges = slices(&values, &value_ends, "value")?;
    key_ranges
        .into_iter()
        .zip(value_ranges)
        .map(|(k, v)| {
            let key = std::str::from_utf8(&keys[k])
                .map_err(|_| Error::unavailable("storage scan: a packed key is not UTF-8"))?
                .to_string();
            Ok((key, values[v].to_vec()))
        })
        .collect()
}

fn op_to_js(op: &Op) -> JsValue {
    let s = |v: &str| JsValue::from_str(v);
    let object = match op {
        Op::Put { space, key, value } => js_object(&[
            ("op", s("put")),
            ("space", s(space.name())),
            ("key", s(key)),
            ("value", Uint8Array::from(&value[..]).into()),
        ]),
        Op::Delete { space, key } => js_object(&[("op", s("delete")), ("space", s(space.name())), ("key", s(key))]),
        Op::DeletePrefix { space, prefix } => {
            js_object(&[("op", s("deletePrefix")), ("space", s(space.name())), ("prefix", s(prefix))])
        }
        Op::RequireAbsent { space, key } => {
            js_object(&[("op", s("requireAbsent")), ("space", s(space.name())), ("key", s(key))])
        }
        Op::RequireValue { space, key, value } => js_object(&[
            ("op", s("requireValue")),
            ("space", s(space.name())),
            ("key", s(key)),
            ("value", value.as_ref().map_or(JsValue::NULL, |v| Uint8Array::from(v.as_slice()).into())),
        ]),
    };
    object.into()
}

impl Backend for JsBackend {
    async fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>> {
        let v = settle("get", self.adapter.js_get(space.name(), key)).await?;
        if v.is_undefined() || v.is_null() {
            return Ok(None);
        }
        to_bytes(&v, "get").map(Some)
    }

    async fn scan(&self, space: Space, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let answer = settle("scan", self.adapter.js_scan(space.name(), prefix)).await?;
        if !Array::is_array(&answer) && answer.is_object() {
            return unpack_scan(&answer);
        }
        let flat = to_array(answer, "scan")?;
        let mut out = Vec::with_capacity(flat.length() as usize / 2);
        for i in (0..flat.length()).step_by(2) {
            out.push((to_key(flat.get(i), "scan")?, to_bytes(&flat.get(i + 1), "scan")?));
        }
        Ok(out)
    }

    async fn keys(&self, space: Space, prefix: &str) -> Result<Vec<String>> {
        let keys = to_array(settle("keys", self.adapter.js_keys(space.name(), prefix)).await?, "keys")?;
        keys.iter().map(|k| to_key(k, "keys")).collect()
    }

    async fn commit(&self, mut ops: Vec<Op>) -> Result<()> {
        let prepared = crate::storage::prepare_commit(&mut ops)?;
        let js_ops: Array = ops.iter().map(op_to_js).collect();
        settle("commit", self.adapter.js_commit(js_ops)).await?;
        prepared.committed();
        Ok(())
    }
}
