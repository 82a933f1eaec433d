//! Argument checks for every binding entry point. wasm-bindgen's generated glue trusts the
//! declared Rust types (a number passed where a `String` is declared reads wasm memory at a
//! wild address), so entry points take `JsValue`s and check them here first: a wrong argument
//! is an `invalid_argument` rejection naming the parameter, never a trap or a `TypeError`.

use crate::error::{Error, Result};
use wasm_bindgen::{JsCast, JsValue};

#[cfg(debug_assertions)]
thread_local! {
    /// Debug builds: the next argument conversion panics (`Store.__panicInNextArgumentForTests`),
    /// so tests can check that every entry point converts its arguments inside its guard.
    pub(super) static PANIC_IN_NEXT_CONVERSION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Where a test can make an argument conversion panic (nothing in release builds).
#[inline]
pub(super) fn conversion_point(what: &str) {
    #[cfg(debug_assertions)]
    if PANIC_IN_NEXT_CONVERSION.with(|p| p.replace(false)) {
        panic!("{what}: a panic while converting the argument, as a test asked");
    }
    #[cfg(not(debug_assertions))]
    let _ = what;
}

/// How a wrong JS value is named in messages: `null`, `undefined`, or its `typeof`.
pub(super) fn js_type(v: &JsValue) -> String {
    if v.is_null() {
        return "null".into();
    }
    if v.is_array() {
        return "an array".into();
    }
    v.js_typeof().as_string().unwrap_or_else(|| "an unknown value".into())
}

/// A required string parameter.
pub(super) fn string(v: &JsValue, what: &str) -> Result<String> {
    conversion_point(what);
    match v.as_string() {
        Some(s) => Ok(s),
        None if v.is_string() => {
            Err(Error::invalid(format!("{what}: the string is not valid Unicode (lone surrogate)")))
        }
        None => Err(Error::invalid(format!("{what}: expected a string, got {}", js_type(v)))),
    }
}

/// An optional string parameter (`undefined` and `null` are absent).
pub(super) fn opt_string(v: &JsValue, what: &str) -> Result<Option<String>> {
    conversion_point(what);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    string(v, what).map(Some)
}

/// An optional byte count or offset: a non-negative integer no larger than 2^53.
pub(super) fn opt_count(v: &JsValue, what: &str) -> Result<Option<u64>> {
    conversion_point(what);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_992.0 => Ok(Some(n as u64)),
        _ => Err(Error::invalid(format!("{what}: expected a non-negative integer, got {}", describe(v)))),
    }
}

/// A required byte count or index: a non-negative integer no larger than 2^53.
pub(super) fn count(v: &JsValue, what: &str) -> Result<u64> {
    opt_count(v, what)?
        .ok_or_else(|| Error::invalid(format!("{what}: expected a non-negative integer, got {}", js_type(v))))
}

/// A `Uint8Array` (or Node `Buffer`) parameter, copied into wasm memory.
pub(super) fn bytes(v: &JsValue, what: &str) -> Result<Vec<u8>> {
    conversion_point(what);
    v.dyn_ref::<js_sys::Uint8Array>()
        .map(|a| a.to_vec())
        .ok_or_else(|| Error::invalid(format!("{what}: expected a Uint8Array, got {}", js_type(v))))
}

/// A required function parameter.
pub(super) fn function(v: &JsValue, what: &str) -> Result<js_sys::Function> {
    conversion_point(what);
    v.dyn_ref::<js_sys::Function>()
        .cloned()
        .ok_or_else(|| Error::invalid(format!("{what}: expected a function, got {}", js_type(v))))
}

fn describe(v: &JsValue) -> String {
    match v.as_f64() {
        Some(n) => n.to_string(),
        None => js_type(v),
    }
}
