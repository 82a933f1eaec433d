//! The conversions every binding uses: a core future as a JS promise, Rust values as JS values,
//! and Rust errors as JS errors — every rejection is a real `Error` (`instanceof Error` holds)
//! whose `code` is [`ErrorCode::as_str`](crate::ErrorCode::as_str) and whose `message` says
//! what and where.

use crate::error::{Error, Result};
use js_sys::Promise;
use serde::Serialize;
use std::future::Future;
use wasm_bindgen::{JsCast, JsValue};

/// Runs `fut` as a promise that resolves with its value or rejects with a coded JS `Error`.
pub(super) fn promise(fut: impl Future<Output = Result<JsValue>> + 'static) -> Promise {
    boxed_promise(Box::pin(fut))
}

/// [`promise`] for any method's future behind one pointer type: the promise, task and guard
/// machinery is compiled once, not once per method (~50 copies cost ~80 KB of wasm).
fn boxed_promise(fut: super::panic::CallFuture) -> Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        // After a panic outside any call's guard the crate's state may be half-updated: every
        // later call rejects. A panic inside a call rejects that call only (see `panic`).
        super::panic::check_healthy().map_err(to_js_error)?;
        super::panic::guarded(fut).await.map_err(to_js_error)
    })
}

/// Converts a crate error into the JS `Error` that a promise rejects with.
pub fn to_js_error(e: Error) -> JsValue {
    let js = js_sys::Error::new(&e.message);
    // Setting a plain data property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&js, &JsValue::from_str("code"), &JsValue::from_str(e.code.as_str()));
    js.into()
}

/// What a thrown JS value says: an `Error`'s message, a thrown string, or its debug form.
pub(super) fn js_error_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

/// A JS value with JSON's shapes: maps as plain objects, `null` kept (not `undefined`).
pub(super) fn to_js_value<T: Serialize>(value: &T) -> Result<JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::invalid(format!("cannot convert the result to a JS value: {e}")))
}

/// A JSON answer as a JS value in one crossing: serialised to text in wasm and parsed by the
/// engine's `JSON.parse`, which is many times faster than building a large list object by
/// object across the boundary (10,000 image summaries). Same shapes as [`to_js_value`].
pub(super) fn json_to_js(value: &serde_json::Value) -> Result<JsValue> {
    let text = serde_json::to_string(value).map_err(|e| Error::invalid(format!("cannot encode the result: {e}")))?;
    js_sys::JSON::parse(&text).map_err(|_| Error::invalid("cannot convert the result to a JS value"))
}

/// A large serialisable answer (tens of thousands of objects) as a JS value in one crossing,
/// like [`json_to_js`]. Only for values without non-finite floats (JSON has none).
pub(super) fn large_to_js<T: Serialize>(value: &T) -> Result<JsValue> {
    let text = serde_json::to_string(value).map_err(|e| Error::invalid(format!("cannot encode the result: {e}")))?;
    js_sys::JSON::parse(&text).map_err(|_| Error::invalid("cannot convert the result to a JS value"))
}

/// A plain JS object with `fields`, in their order.
pub(super) fn js_object(fields: &[(&str, JsValue)]) -> js_sys::Object {
    let out = js_sys::Object::new();
    for (key, value) in fields {
        // Setting a data property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&out, &JsValue::from_str(key), value);
    }
    out
}

/// A digest list as JS strings.
pub(super) fn digests(list: &[crate::Digest]) -> Result<JsValue> {
    to_js_value(&list.iter().map(|d| d.as_str()).collect::<Vec<_>>())
}
