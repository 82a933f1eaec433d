//! Two JS `Store` objects on one IndexedDB database (two connections, as two tabs have; in
//! Node over fake-indexeddb, in Chromium over the real one): decisions made on current data,
//! `onChange` told through the BroadcastChannel, and four imports at once publishing each blob
//! once. The two-page version in Chromium is tests/e2e/tabs.test.mjs.
#![cfg(target_arch = "wasm32")]

mod support;

use imagestore::wasm::{BackendKind, Store};
use js_sys::{Promise, Uint8Array};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;
use support::js::{call, json_value as js, sleep};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

const STORE_TAR: &[u8] = include_bytes!("fixtures/docker20/basic/image-store.tar");
const SAVE: &[u8] = include_bytes!("fixtures/docker20/basic/docker-save.tar");
const OCI: &[u8] = include_bytes!("fixtures/docker20/basic/oci-archive.tar");
const DEMO: &str = "sha256:e6b5b37baed847a14b9ba55abe078d6dacff8a334097cb1e31cc2d83fe8ad783";

fn import(store: &Store, bytes: &[u8], options: Value) -> Promise {
    store.import(Uint8Array::from(bytes).into(), js(&options))
}

async fn tags(store: &Store) -> Vec<String> {
    let list = call(store.list_images(js(&json!({ "all": true })))).await.unwrap();
    let mut out: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["RepoTags"].as_array().cloned().unwrap_or_default())
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// `ID ParentId` of every image, sorted.
async fn parents(store: &Store) -> Vec<String> {
    let list = call(store.list_images(js(&json!({ "all": true })))).await.unwrap();
    let mut out: Vec<String> =
        list.as_array().unwrap().iter().map(|i| format!("{} {}", i["Id"], i["ParentId"])).collect();
    out.sort();
    out
}

/// The metadata keys of IndexedDB store `name`, without the analysis caches.
async fn source_keys(name: &str) -> Vec<String> {
    use imagestore::storage::{Backend, Space};
    let backend = imagestore::wasm::indexeddb::IdbBackend::open(name).await.unwrap();
    let keys = backend.keys(Space::Meta, "").await.unwrap();
    // Blobs by digest: whether one is in a pack or in a record of its own depends on which copy
    // came first (a Docker root's import packs a small tar-split, a docker load writes a chunk).
    let blobs = imagestore::storage::blobs::stored_digests(&backend).await.unwrap();
    backend.close();
    let blob_keys =
        |k: &String| k.starts_with(imagestore::schema::BLOBS) || k.starts_with(imagestore::schema::BLOB_PACKS);
    let mut keys: Vec<String> = keys.into_iter().filter(|k| !k.starts_with("analysis/") && !blob_keys(k)).collect();
    keys.extend(blobs.iter().map(|d| d.to_string()));
    keys
}

/// Subscribes to `store`'s change events: the reasons heard, the unsubscribe function, and
/// the callback (kept alive by the caller while it listens).
type Heard = Rc<RefCell<Vec<String>>>;
type ChangeCallback = Closure<dyn FnMut(JsValue)>;

fn listen(store: &Store) -> (Heard, js_sys::Function, ChangeCallback) {
    let heard: Heard = Rc::default();
    let log = heard.clone();
    let callback = ChangeCallback::new(move |e: JsValue| {
        let reason = js_sys::Reflect::get(&e, &JsValue::from_str("reason")).unwrap().as_string().unwrap();
        log.borrow_mut().push(reason);
    });
    let unsubscribe = store.on_change(callback.as_ref().clone()).unwrap();
    (heard, unsubscribe, callback)
}

#[wasm_bindgen_test]
async fn rmi_in_one_store_sees_the_tag_another_store_just_added_and_is_told() {
    let name = support::unique_name("imagestore-tabs");
    let a = Store::open_kind(name.clone(), BackendKind::IndexedDb).await.unwrap();
    call(import(&a, STORE_TAR, json!({}))).await.unwrap();
    let b = Store::open_kind(name.clone(), BackendKind::IndexedDb).await.unwrap();
    let (heard, unsubscribe, _callback) = listen(&b);

    call(a.tag_image("local/demo:1.0".into(), "keep/me".into(), "1".into(), JsValue::UNDEFINED)).await.unwrap();
    let answer = call(b.remove_image("local/demo:1.0".into(), JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(answer, json!([{ "Untagged": "local/demo:1.0" }]), "only untagged, as one dockerd would");
    assert!(tags(&a).await.contains(&"keep/me:1".to_string()));
    assert_eq!(tags(&a).await, tags(&b).await);
    let inspect = call(a.inspect_image("keep/me:1".into())).await.unwrap();
    assert_eq!(inspect["Id"], DEMO);

    // B heard about A's tag (the BroadcastChannel delivers asynchronously).
    for _ in 0..50 {
        if !heard.borrow().is_empty() {
            break;
        }
        sleep(20).await;
    }
    assert!(heard.borrow().iter().any(|r| r == "changed"), "{:?}", heard.borrow());
    unsubscribe.call0(&JsValue::UNDEFINED).unwrap();
    heard.borrow_mut().clear();
    call(a.tag_image("keep/me:1".into(), "keep/me".into(), "2".into(), JsValue::UNDEFINED)).await.unwrap();
    sleep(100).await;
    assert!(heard.borrow().is_empty(), "unsubscribed: {:?}", heard.borrow());
    a.close();
    b.close();
    Store::destroy(name.into()).await.unwrap();
}

/// `Store.savedListImages(name, { all })`.
async fn saved(name: &str, all: bool) -> Value {
    call(Store::saved_list_images_js(name.into(), js(&json!({ "all": all })))).await.unwrap()
}

#[wasm_bindgen_test]
async fn the_saved_list_is_what_list_images_answers_until_another_store_changes_it() {
    let name = support::unique_name("imagestore-saved-list");
    let a = Store::open_kind(name.clone(), BackendKind::IndexedDb).await.unwrap();
    call(import(&a, STORE_TAR, json!({}))).await.unwrap();
    let b = Store::open_kind(name.clone(), BackendKind::IndexedDb).await.unwrap();
    let (heard, unsubscribe, _callback) = listen(&b);

    assert_eq!(saved(&name, true).await, Value::Null, "nothing saved yet");
    assert_eq!(call(a.save_list_answer(js(&json!({ "all": true })))).await.unwrap(), json!(true));
    assert_eq!(call(a.save_list_answer(js(&json!({ "all": true })))).await.unwrap(), json!(false), "saved already");
    let all = call(a.list_images(js(&json!({ "all": true })))).await.unwrap();
    assert_eq!(saved(&name, true).await, all);
    assert_eq!(saved(&name, false).await, Value::Null, "the top-level list was not saved");
    // A store opened now reads the saved answer while it opens and lists from it: the rows
    // dockerd's JSON text gives (the text is always worked out from the images).
    let c = Store::open_kind(name.clone(), BackendKind::IndexedDb).await.unwrap();
    let reopened = call(c.list_images(js(&json!({ "all": true })))).await.unwrap();
    let text = JsFuture::from(c.list_images_json(js(&json!({ "all": true })))).await.unwrap();
    assert_eq!(reopened, serde_json::from_str::<Value>(&text.as_string().unwrap()).unwrap());
    assert_eq!(reopened, all);
    c.close();
    // Saving is no change of the store: the other store is not told to re-read. Nor are the
    // analyses' derived records (what a worker writes while the page shows the saved list).
    JsFuture::from(a.efficiency(DEMO.into(), JsValue::UNDEFINED)).await.unwrap();
    JsFuture::from(a.find_files("**/passwd".into(), JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(saved(&name, true).await, all, "still the current list");
    sleep(100).await;
    assert!(heard.borrow().is_empty(), "{:?}", heard.borrow());

    call(b.tag_image(DEMO.into(), "local/saved".into(), "v1".into(), JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(saved(&name, true).await, Value::Null, "another store changed it");
    assert_eq!(call(a.save_list_answer(js(&json!({ "all": true })))).await.unwrap(), json!(true));
    let now = saved(&name, true).await;
    assert_eq!(now, call(b.list_images(js(&json!({ "all": true })))).await.unwrap());
    assert!(now.to_string().contains("local/saved:v1"));
    let bad = call(Store::saved_list_images_js("".into(), JsValue::UNDEFINED)).await.unwrap_err();
    assert_eq!(js_sys::Reflect::get(&bad, &"code".into()).unwrap(), "invalid_argument");
    unsubscribe.call0(&JsValue::UNDEFINED).unwrap();
    a.close();
    b.close();
    Store::destroy(name.into()).await.unwrap();
}

// Concurrent imports commit in any order; the store they leave must not depend on it.
#[wasm_bindgen_test]
async fn four_imports_at_once_leave_no_unreferenced_chunks_and_gc_has_nothing_to_sweep() {
    let imports = [
        (OCI, json!({ "namespace": "default" })),
        (SAVE, json!({ "namespace": "default" })),
        (SAVE, json!({})),
        (STORE_TAR, json!({})),
    ];
    // One after the other: the reference.
    let serial =
        Store::open_kind(support::unique_name("imagestore-tabs-serial"), BackendKind::IndexedDb).await.unwrap();
    for (bytes, options) in &imports {
        call(import(&serial, bytes, options.clone())).await.unwrap();
    }
    let serial_name = call(serial.store_info()).await.unwrap()["name"].as_str().unwrap().to_string();

    // All four at once, from two stores on one database.
    let name = support::unique_name("imagestore-tabs-four");
    let a = Store::open_kind(name.clone(), BackendKind::IndexedDb).await.unwrap();
    let b = Store::open_kind(name.clone(), BackendKind::IndexedDb).await.unwrap();
    let running: Vec<Promise> = imports
        .iter()
        .enumerate()
        .map(|(i, (bytes, o))| import(if i % 2 == 0 { &a } else { &b }, bytes, o.clone()))
        .collect();
    for p in running {
        call(p).await.unwrap();
    }
    // The same records, key for key, but for the analysis caches (`analysis/`: derived from
    // whichever copy of a layer's tar-split was stored first, each equally valid), and the same
    // blobs by digest. How many records hold the bytes also depends on which copy came first
    // (a Docker root's import packs a small tar-split, a docker load writes a chunk), so the
    // chunks are checked by gc below: every one of them belongs to a blob.
    assert_eq!(source_keys(&name).await, source_keys(&serial_name).await);
    // The search answers agree (the index is derived and rebuilt as needed).
    let found = |s: &Store| call(s.find_files(JsValue::from_str("/etc/**"), JsValue::UNDEFINED));
    assert_eq!(found(&a).await.unwrap(), found(&serial).await.unwrap());
    let gc = call(a.gc()).await.unwrap();
    assert_eq!(gc["sweptChunkSets"], 0, "{gc}");
    assert_eq!(tags(&a).await, tags(&serial).await);
    assert_eq!(tags(&b).await, tags(&serial).await);
    assert_eq!(parents(&a).await, parents(&serial).await, "the recorded parents do not depend on the order");
    for s in [a, b, serial] {
        s.close();
    }
}
