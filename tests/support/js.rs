//! JS values in wasm tests: promises awaited into JSON, JSON into JS values.

use js_sys::Promise;
use serde_json::Value;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// Awaits a promise; its result as JSON (`null` for `undefined`), or the rejection.
pub async fn call(p: Promise) -> Result<Value, JsValue> {
    let v = JsFuture::from(p).await?;
    if v.is_undefined() {
        return Ok(Value::Null);
    }
    let text = js_sys::JSON::stringify(&v).expect("JSON-compatible result");
    Ok(serde_json::from_str(&String::from(text)).unwrap())
}

/// A JS value from JSON.
pub fn json_value(v: &Value) -> JsValue {
    json_text(&v.to_string())
}

/// A JS value from JSON text.
pub fn json_text(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}
