//! The containerd view through the JS-facing `Store` over IndexedDB (fake-indexeddb in Node,
//! the real one in Chromium): imports of a containerd root and of an OCI archive, listings
//! with filters, `ctr images ls` rows equal to what real ctr printed, content reads and
//! writes, and GC. Expected answers: tests/fixtures/docker20/basic/expected/ctr-*.txt.
#![cfg(target_arch = "wasm32")]

mod support;

use imagestore::wasm::{BackendKind, Store};
use js_sys::{Promise, Uint8Array};
use serde_json::{json, Value};
use support::js::{call, json_value as js};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

const ROOT: &[u8] = include_bytes!("fixtures/docker20/basic/containerd-root.tar");
const OCI: &[u8] = include_bytes!("fixtures/docker20/basic/oci-archive.tar");
const CTR_DEFAULT: &str = include_str!("fixtures/docker20/basic/expected/ctr-images-default.txt");
const CTR_CONTENT_DEFAULT: &str = include_str!("fixtures/docker20/basic/expected/ctr-content-default.txt");
const CTR_TEAM: &str = include_str!("fixtures/docker20/basic/expected/ctr-images-team.txt");

async fn open(test: &str) -> Store {
    let name = support::unique_name(&format!("imagestore-ctrd-{test}"));
    Store::open_kind(name, BackendKind::IndexedDb).await.unwrap()
}

/// Calls `obj.name(...args)`, which returns a promise.
fn method(obj: &JsValue, name: &str, args: &[JsValue]) -> Promise {
    let f: js_sys::Function = wasm_bindgen::JsCast::unchecked_into(js_sys::Reflect::get(obj, &name.into()).unwrap());
    let list: js_sys::Array = args.iter().collect();
    wasm_bindgen::JsCast::unchecked_into(f.apply(obj, &list).unwrap())
}

async fn import(store: &Store, bytes: &[u8], options: Value) -> Value {
    call(store.import(Uint8Array::from(bytes).into(), js(&options))).await.unwrap()
}

/// ctr's table as row objects (cells split on runs of spaces; SIZE is two words).
fn ctr_rows(text: &str) -> Vec<Value> {
    text.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            json!({"ref": c[0], "type": c[1], "digest": c[2], "size": format!("{} {}", c[3], c[4]), "platforms": c[5], "labels": c[6]})
        })
        .collect()
}

/// Our rows without the extra fields ctr does not print.
fn printed(rows: Value) -> Vec<Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["sizeError"], Value::Null, "{r}");
            json!({"ref": r["ref"], "type": r["type"], "digest": r["digest"], "size": r["size"], "platforms": r["platforms"], "labels": r["labels"]})
        })
        .collect()
}

#[wasm_bindgen_test]
async fn containerd_root_lists_like_ctr() {
    let store = open("root").await;
    let report = import(&store, ROOT, json!({})).await;
    assert_eq!(report["format"], "containerd-root");
    assert_eq!(report["images"], 8);
    assert_eq!(call(store.namespaces()).await.unwrap(), json!(["default", "team"]));

    let default = store.containerd("default".into()).unwrap();
    assert_eq!(printed(call(default.images_table(JsValue::UNDEFINED)).await.unwrap()), ctr_rows(CTR_DEFAULT));
    let team = store.containerd("team".into()).unwrap();
    assert_eq!(printed(call(team.images_table(JsValue::UNDEFINED)).await.unwrap()), ctr_rows(CTR_TEAM));

    // The filter queries of expected/ctr-images-filters.txt.
    let names = |v: Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(names(call(default.list_images("name~=edge".into())).await.unwrap()), ["docker.io/local/edge:latest"]);
    assert_eq!(
        names(call(default.list_images(js(&json!(["labels.\"tier\"==gold,name~=base"])))).await.unwrap()),
        ["docker.io/local/base:1"]
    );
    let e = JsFuture::from(default.get_image("nope".into())).await.unwrap_err();
    assert_eq!(js_sys::Reflect::get(&e, &"code".into()).unwrap(), "not_found");

    // Content: a label-driven GC keeps everything images reach; an unreferenced blob goes.
    let content = default.content();
    let infos = call(content.list(JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(infos.as_array().unwrap().len(), 19);
    // `ctr content ls` rows: DIGEST and SIZE cells as ctr printed them (tab-separated).
    let table = call(content.table(JsValue::UNDEFINED)).await.unwrap();
    let cells: Vec<(String, String)> =
        table.as_array().unwrap().iter().map(|r| (r["digest"].to_string(), r["size"].to_string())).collect();
    let ctr: Vec<(String, String)> = CTR_CONTENT_DEFAULT
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').filter(|c| !c.is_empty()).collect();
            (json!(c[0]).to_string(), json!(c[1]).to_string())
        })
        .collect();
    assert_eq!(cells, ctr);
    // The writer is a JS object: drive it as JS would.
    let w = JsFuture::from(content.writer("scratch".into(), JsValue::UNDEFINED)).await.unwrap();
    call(method(&w, "write", &[Uint8Array::from(&b"hello"[..]).into()])).await.unwrap();
    let info = call(method(&w, "commit", &[JsValue::from(5.0)])).await.unwrap();
    let digest = info["digest"].as_str().unwrap().to_string();
    let read = JsFuture::from(content.read(digest.clone().into(), 1.0.into(), 3.0.into())).await.unwrap();
    assert_eq!(Uint8Array::new(&read).to_vec(), b"ell");
    let gc = call(store.gc()).await.unwrap();
    assert_eq!(gc["deletedBlobs"], json!([digest]));
    assert_eq!(call(content.list(JsValue::UNDEFINED)).await.unwrap().as_array().unwrap().len(), 19);
    store.close();
}

#[wasm_bindgen_test]
async fn oci_archive_into_a_namespace_like_ctr_import() {
    let store = open("oci").await;
    let report =
        import(&store, OCI, json!({"namespace": "team", "indexName": "docker.io/team/edge:oci", "baseName": null}))
            .await;
    assert_eq!(report["format"], "oci-layout");
    let team = store.containerd("team".into()).unwrap();
    let today = imagestore::import::default_prefix();
    assert_eq!(
        printed(call(team.images_table(JsValue::UNDEFINED)).await.unwrap()),
        ctr_rows(&CTR_TEAM.replace("import-2026-11-23", &today))
    );
    // A bad namespace name is containerd's error.
    let e = JsFuture::from(store.import(Uint8Array::from(OCI).into(), js(&json!({"namespace": "bad/ns"}))))
        .await
        .unwrap_err();
    assert_eq!(js_sys::Reflect::get(&e, &"code".into()).unwrap(), "invalid_argument");
    store.close();
}
