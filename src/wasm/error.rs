//! Rust errors as JS errors: every rejection is a real `Error` (`instanceof Error` holds) whose
//! `code` is [`ErrorCode::as_str`](crate::ErrorCode::as_str) and whose `message` says what and
//! where.

use wasm_bindgen::JsValue;

/// Converts a crate error into the JS `Error` that a promise rejects with.
pub fn to_js_error(e: crate::Error) -> JsValue {
    let js = js_sys::Error::new(&e.message);
    // Setting a plain data property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&js, &JsValue::from_str("code"), &JsValue::from_str(e.code.as_str()));
    js.into()
}
