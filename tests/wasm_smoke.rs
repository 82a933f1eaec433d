//! Smoke tests of the wasm test pipeline itself: they run under wasm-bindgen-test-runner in
//! Node (with fake-indexeddb preloaded) and in headless Chromium (real IndexedDB).
#![cfg(target_arch = "wasm32")]

use imagestore::Digest;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn sha256_matches_the_known_answer() {
    assert_eq!(
        Digest::sha256_of(b"hello\n").as_str(),
        "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    );
}

/// Opens an IndexedDB database with the raw JS API and checks its name: proves the runner's
/// environment has a working `indexedDB` global.
#[wasm_bindgen_test]
async fn indexeddb_is_available_and_opens() {
    let factory = Reflect::get(&js_sys::global(), &"indexedDB".into()).unwrap();
    assert!(!factory.is_undefined(), "no indexedDB global: is fake-indexeddb preloaded?");
    let open: Function = Reflect::get(&factory, &"open".into()).unwrap().dyn_into().unwrap();
    let request = open.call1(&factory, &"wasm-smoke".into()).unwrap();

    let req = request.clone();
    let opened = Promise::new(&mut |resolve, reject| {
        let _ = Reflect::set(&req, &"onsuccess".into(), &resolve);
        let _ = Reflect::set(&req, &"onerror".into(), &reject);
    });
    JsFuture::from(opened).await.expect("indexedDB.open failed");

    let db = Reflect::get(&request, &"result".into()).unwrap();
    let name = Reflect::get(&db, &"name".into()).unwrap();
    assert_eq!(name.as_string().as_deref(), Some("wasm-smoke"));
    let close: Function = Reflect::get(&db, &"close".into()).unwrap().dyn_into().unwrap();
    close.call0(&db).unwrap();
}
