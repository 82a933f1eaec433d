//! The malformed-upload corpus (tests/corpus) through the JS-facing `Store` on the memory
//! backend (16 MiB), in Node and Chromium: every case rejects with an `Error` whose `code` is
//! the expected one, the store holds nothing afterwards, and it then imports the good fixture.
#![cfg(target_arch = "wasm32")]

mod corpus;
mod support;

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
    let store = Store::open_with(support::unique_name("corpus"), BackendKind::Memory, Some(16 << 20)).await.unwrap();
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

fn text(v: &JsValue, key: &str) -> String {
    Reflect::get(v, &key.into()).ok().and_then(|c| c.as_string()).unwrap_or_default()
}

fn array(v: JsValue) -> Vec<JsValue> {
    js_sys::Array::from(&v).iter().collect()
}

fn js(expr: &str) -> JsValue {
    js_sys::Function::new_no_args(&format!("return ({expr});")).call0(&JsValue::NULL).unwrap()
}

/// The walk cases (tests/corpus/walks.rs) through the JS API: refused with their code, or
/// imported and then every read answers (or refuses with the expected code) and removing the
/// images from the top ends. See `malformed_corpus.rs` for the native run.
#[wasm_bindgen_test]
async fn uploads_that_explode_when_walked_are_refused_or_answered() {
    use corpus::walks::{walk_cases, Expect};
    let mut wrong = Vec::new();
    for case in walk_cases() {
        let store = Store::open_with(support::unique_name("walks"), BackendKind::Memory, None).await.unwrap();
        let input: JsValue = Uint8Array::from(&case.input[..]).into();
        let result = JsFuture::from(store.import(input, JsValue::UNDEFINED)).await;
        let name = &case.name;
        match (&case.expect, result) {
            (Expect::Refused(code), Err(e)) => {
                if text(&e, "code") != *code || text(&e, "message").is_empty() {
                    wrong.push(format!("{name}: {} {:?}, want {code}", text(&e, "code"), text(&e, "message")));
                }
                if record_counts(&store).await != (0.0, 0.0) {
                    wrong.push(format!("{name}: the store is not empty afterwards"));
                }
            }
            (Expect::Refused(code), Ok(_)) => wrong.push(format!("{name}: imported, want {code}")),
            (Expect::Imported { .. }, Err(e)) => {
                wrong.push(format!("{name}: refused with {} {}", text(&e, "code"), text(&e, "message")))
            }
            (Expect::Imported { skipped, read_error }, Ok(report)) => {
                if let Some(want) = skipped {
                    let reasons: Vec<String> = array(Reflect::get(&report, &"skipped".into()).unwrap())
                        .iter()
                        .map(|s| text(s, "reason"))
                        .collect();
                    if !reasons.iter().any(|r| r.contains(want)) {
                        wrong.push(format!("{name}: no skipped entry says {want:?}: {reasons:?}"));
                    }
                }
                let mut read_errors = Vec::new();
                let mut note = |what: &str, r: Result<JsValue, JsValue>| {
                    if let Err(e) = r {
                        read_errors.push(format!("{what}: {} {}", text(&e, "code"), text(&e, "message")));
                    }
                };
                let list = array(JsFuture::from(store.list_images(js("{ all: true }"))).await.unwrap());
                let ids: Vec<String> = list.iter().map(|i| text(i, "Id")).collect();
                for id in &ids {
                    note("inspect", JsFuture::from(store.inspect_image(id.into())).await);
                    note("history", JsFuture::from(store.image_history(id.into())).await);
                    note("parent", JsFuture::from(store.image_parent(id.into())).await);
                    note("children", JsFuture::from(store.image_children(id.into())).await);
                }
                if let Some(id) = ids.first() {
                    note("layerFiles", JsFuture::from(store.layer_files(id.into(), js("{ merged: true }"))).await);
                }
                for ns in array(JsFuture::from(store.namespaces()).await.unwrap()) {
                    let ns = store.containerd(ns).unwrap();
                    for row in array(JsFuture::from(ns.images_table(JsValue::UNDEFINED)).await.unwrap()) {
                        let e = Reflect::get(&row, &"sizeError".into()).unwrap();
                        if let Some(e) = e.as_string() {
                            read_errors.push(format!("ctr images ls: {e}"));
                        }
                    }
                }
                match read_error {
                    None if !read_errors.is_empty() => wrong.push(format!("{name}: reads failed: {read_errors:?}")),
                    Some(code) if !read_errors.iter().any(|e| e.contains(code) || e.contains("too large to walk")) => {
                        wrong.push(format!("{name}: no read failed with {code}: {read_errors:?}"))
                    }
                    _ => {}
                }
                // Removing from the top ends (images in a parent cycle are refused as dockerd
                // refuses them: each has a child).
                loop {
                    let mut progress = false;
                    for head in array(JsFuture::from(store.image_heads()).await.unwrap()) {
                        match JsFuture::from(store.remove_image(head.clone(), js("{ force: true }"))).await {
                            Ok(_) => progress = true,
                            Err(e) if ["conflict", "not_found"].contains(&text(&e, "code").as_str()) => {}
                            Err(e) => wrong.push(format!(
                                "{name}: rmi {head:?}: {} {}",
                                text(&e, "code"),
                                text(&e, "message")
                            )),
                        }
                    }
                    if !progress {
                        break;
                    }
                }
            }
        }
        store.close();
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
