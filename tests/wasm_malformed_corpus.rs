//! The malformed-upload corpus (tests/corpus) through the JS-facing `Store` on the memory
//! backend (16 MiB), in Node and Chromium: every case rejects with an `Error` whose `code` is
//! the expected one, the store holds nothing afterwards, and it then imports the good fixture.
#![cfg(target_arch = "wasm32")]

mod corpus;

use imagestore::storage::fresh_id;
use imagestore::wasm::{BackendKind, Store};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

async fn record_counts(store: &Store) -> (f64, f64) {
    let info = JsFuture::from(store.store_info()).await.unwrap();
    let get = |k: &str| Reflect::get(&info, &k.into()).unwrap().as_f64().unwrap();
    (get("metaRecords"), get("chunkRecords"))
}

#[wasm_bindgen_test]
async fn every_malformed_upload_is_refused_with_its_code_and_changes_nothing() {
    let store = Store::open_with(format!("corpus-{}", fresh_id()), BackendKind::Memory, Some(16 << 20)).await.unwrap();
    let cases = corpus::cases();
    assert!(cases.len() >= 150, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for case in &cases {
        let input: JsValue = Uint8Array::from(&case.input[..]).into();
        match JsFuture::from(store.import(input, JsValue::UNDEFINED)).await {
            Ok(_) => wrong.push(format!("{}: imported", case.name)),
            Err(e) => {
                let code = Reflect::get(&e, &"code".into()).ok().and_then(|c| c.as_string()).unwrap_or_default();
                let message = Reflect::get(&e, &"message".into()).ok().and_then(|c| c.as_string()).unwrap_or_default();
                if code != case.code || message.is_empty() {
                    wrong.push(format!("{}: {code} {message:?}, want {}", case.name, case.code));
                }
            }
        }
        if record_counts(&store).await != (0.0, 0.0) {
            wrong.push(format!("{}: the store is not empty afterwards", case.name));
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
    let good: JsValue = Uint8Array::from(corpus::IMAGE_STORE).into();
    JsFuture::from(store.import(good, JsValue::UNDEFINED)).await.expect("the store is usable afterwards");
    assert!(record_counts(&store).await.0 > 0.0);
}
