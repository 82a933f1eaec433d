//! Layer contents through the JS-facing `Store` over IndexedDB (fake-indexeddb in Node, the
//! real one in Chromium): `save` of an imported `docker save` is Docker 20.10's archive entry
//! for entry, `import(save(x))` gives back the same images, `readFile`, `readDirectory` and `readLayer` stream
//! the bytes Docker wrote.
#![cfg(target_arch = "wasm32")]

mod support;

use imagestore::wasm::{BackendKind, Store};
use js_sys::{Array, Promise, Reflect, Uint8Array};
use serde_json::Value;
use support::tar::raw_entries;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

static SAVE: &[u8] = include_bytes!("fixtures/docker20/basic/docker-save.tar");

async fn open(test: &str) -> Store {
    Store::open_kind(support::unique_name(&format!("contents-{test}")), BackendKind::IndexedDb).await.unwrap()
}

async fn value(p: Promise) -> JsValue {
    JsFuture::from(p).await.unwrap_or_else(|e| panic!("rejected: {e:?}"))
}

async fn json(p: Promise) -> Value {
    let v = value(p).await;
    serde_json::from_str(&String::from(js_sys::JSON::stringify(&v).unwrap())).unwrap()
}

/// Reads a `ReadableStream<Uint8Array>` to its end.
async fn read_stream(stream: JsValue) -> Vec<u8> {
    let reader: web_sys::ReadableStreamDefaultReader =
        stream.unchecked_into::<web_sys::ReadableStream>().get_reader().unchecked_into();
    let mut out = Vec::new();
    loop {
        let r = JsFuture::from(reader.read()).await.unwrap();
        if Reflect::get(&r, &"done".into()).unwrap().as_bool() == Some(true) {
            return out;
        }
        out.extend(Uint8Array::new(&Reflect::get(&r, &"value".into()).unwrap()).to_vec());
    }
}

fn names_in_manifest_order() -> Array {
    let manifest = raw_entries(SAVE).into_iter().find(|e| e.name == "manifest.json").unwrap().data;
    let manifest: Value = serde_json::from_slice(&manifest).unwrap();
    let names = Array::new();
    for item in manifest.as_array().unwrap() {
        for t in item["RepoTags"].as_array().unwrap() {
            names.push(&JsValue::from_str(t.as_str().unwrap()));
        }
    }
    names
}

#[wasm_bindgen_test]
async fn save_is_docker_20_10s_archive_and_loads_back() {
    let store = open("save").await;
    value(store.import(Uint8Array::from(SAVE).into(), JsValue::UNDEFINED)).await;
    let ours = read_stream(value(store.save(names_in_manifest_order().into(), JsValue::UNDEFINED)).await).await;
    let (got, want) = (raw_entries(&ours), raw_entries(SAVE));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((&g.name, g.header[156]), (&w.name, w.header[156]));
        assert!(g.data == w.data, "bytes of {}", w.name);
    }

    let back = open("back").await;
    value(back.import(Uint8Array::from(&ours[..]).into(), JsValue::UNDEFINED)).await;
    let list = |v: Value| -> Vec<(Value, Value)> {
        v.as_array().unwrap().iter().map(|i| (i["Id"].clone(), i["RepoTags"].clone())).collect()
    };
    let all = js_sys::JSON::parse(r#"{"all":true}"#).unwrap();
    assert_eq!(list(json(back.list_images(all.clone())).await), list(json(store.list_images(all)).await));
    for s in [store, back] {
        s.close();
    }
}

#[wasm_bindgen_test]
async fn read_file_and_layer_stream_the_bytes_docker_wrote() {
    let store = open("read").await;
    value(store.import(Uint8Array::from(SAVE).into(), JsValue::UNDEFINED)).await;
    let layer_of = |v1: &str| raw_entries(SAVE).into_iter().find(|e| e.name == format!("{v1}/layer.tar")).unwrap().data;
    let blob_layer = layer_of("f069f6672c86c2b5458c74fb658b5581d2a5df507d5842a1d5e82bba0ba2fef9");
    let file = read_stream(value(store.read_file("local/edge".into(), "/data/blob.bin".into())).await).await;
    let want = raw_entries(&blob_layer).into_iter().find(|e| e.name == "data/blob.bin").unwrap().data;
    assert!(file == want, "data/blob.bin");
    let layer = read_stream(value(store.read_layer("local/edge".into(), 6.into())).await).await;
    assert!(layer == blob_layer, "layer 6");
    let e = JsFuture::from(store.read_file("local/edge".into(), "/app/built.txt".into())).await.unwrap_err();
    assert_eq!(Reflect::get(&e, &"code".into()).unwrap().as_string().as_deref(), Some("not_found"));
    // A folder as a tar: its one file is the layer's bytes, under the folder's own name.
    let dir = read_stream(value(store.read_directory("local/edge".into(), "/data".into())).await).await;
    let blob =
        raw_entries(&dir).into_iter().find(|e| e.name == "data/blob.bin").expect("data/blob.bin in the folder's tar");
    assert!(blob.data == want, "data/blob.bin through readDirectory");
    let e = JsFuture::from(store.read_directory("local/edge".into(), "/data/blob.bin".into())).await.unwrap_err();
    assert_eq!(Reflect::get(&e, &"code".into()).unwrap().as_string().as_deref(), Some("invalid_argument"));
    store.close();
}

/// `new Blob([bytes])`, or a Blob of a subclass (`subclass`), which is not taken as the
/// platform's own.
fn blob(data: &[u8], subclass: bool) -> JsValue {
    let body = if subclass { "class Mine extends Blob {}; return new Mine([b])" } else { "return new Blob([b])" };
    js_sys::Function::new_with_args("b", body).call1(&JsValue::NULL, &Uint8Array::from(data)).unwrap()
}

#[wasm_bindgen_test]
async fn a_blob_upload_is_hashed_by_webcrypto_and_loads_as_its_bytes_do() {
    // In a browser the two layers over 1 MiB are hashed from the Blob by WebCrypto in a worker,
    // not in wasm; Node hashes streams natively (node:crypto) and keeps doing so.
    let browser = imagestore::digest::sha256_engine() == "sha2";
    let before = Store::host_hashed_ranges_for_tests();
    let from_blob = open("webcrypto").await;
    value(from_blob.import(blob(SAVE, false), JsValue::UNDEFINED)).await;
    let hashed = if browser { 2 } else { 0 };
    assert_eq!(Store::host_hashed_ranges_for_tests() - before, hashed, "two layers of 1 MiB or more");
    let from_bytes = open("sha2").await;
    value(from_bytes.import(Uint8Array::from(SAVE).into(), JsValue::UNDEFINED)).await;
    assert_eq!(Store::host_hashed_ranges_for_tests() - before, hashed, "bytes are hashed as they stream");

    // The same images, and the same archive saved back (entry for entry, the same bytes: every
    // blob is stored under the digest of what was stored; headers can differ in the mtime of
    // the folders, which a save takes from the time of its import).
    let all = js_sys::JSON::parse(r#"{"all":true}"#).unwrap();
    assert_eq!(json(from_blob.list_images(all.clone())).await, json(from_bytes.list_images(all)).await);
    let saved = |s: &Store| s.save(names_in_manifest_order().into(), JsValue::UNDEFINED);
    let a = raw_entries(&read_stream(value(saved(&from_blob)).await).await);
    let b = raw_entries(&read_stream(value(saved(&from_bytes)).await).await);
    assert_eq!(a.len(), raw_entries(SAVE).len());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((&x.name, x.header[156]), (&y.name, y.header[156]));
        assert!(x.data == y.data, "bytes of {}", x.name);
    }

    // A Blob subclass could answer slice() differently each time: it is read, never sliced
    // for WebCrypto.
    let subclassed = open("subclass").await;
    value(subclassed.import(blob(SAVE, true), JsValue::UNDEFINED)).await;
    assert_eq!(Store::host_hashed_ranges_for_tests() - before, hashed, "a subclass is hashed as it streams");
    for s in [from_blob, from_bytes, subclassed] {
        s.close();
    }
}
