//! JS values in wasm tests: promises awaited into JSON, JSON into JS values.

use js_sys::Promise;
use serde_json::Value;
use wasm_bindgen::JsCast;
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

/// Resolves after `ms` milliseconds (a `setTimeout`: other tasks, such as idle callbacks and
/// other tabs' events, run meanwhile).
pub async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        let set_timeout: js_sys::Function =
            js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("setTimeout")).unwrap().unchecked_into();
        set_timeout.call2(&JsValue::UNDEFINED, &resolve, &JsValue::from(ms)).unwrap();
    });
    JsFuture::from(p).await.unwrap();
}
