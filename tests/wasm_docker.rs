//! The Docker view through the JS-facing `Store` (the exported methods, called from Rust, with
//! their JS values converted by `JSON.stringify`), over IndexedDB: fake-indexeddb in Node, the
//! real one in Chromium. Same binary in both (no `run_in_browser`). Answers are compared with
//! dockerd 20.10's (tests/fixtures/docker20/basic/expected/api).
#![cfg(target_arch = "wasm32")]

use imagestore::storage::fresh_id;
use imagestore::wasm::{BackendKind, Store};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use serde_json::{json, Value};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

const BASIC: &[u8] = include_bytes!("fixtures/docker20/basic/image-store.tar");
const BASIC_AFTER_RMI: &[u8] = include_bytes!("fixtures/docker20/basic/image-store-after-rmi.tar");
const IMAGES: &str = include_str!("fixtures/docker20/basic/expected/api/images.json");
const IMAGES_ALL: &str = include_str!("fixtures/docker20/basic/expected/api/images-all.json");
const IMAGES_DIGESTS: &str = include_str!("fixtures/docker20/basic/expected/api/images-digests.json");
const FILTERS_TSV: &str = include_str!("fixtures/docker20/basic/expected/api/images-filters.tsv");
const DELETE_EDGE_V2: &str = include_str!("fixtures/docker20/basic/expected/api/delete-edge-v2.json");

/// (image ID hex, dockerd's inspect answer, dockerd's history answer) for every image of basic.
macro_rules! inspect_and_history {
    ($hex:literal) => {
        (
            $hex,
            include_str!(concat!("fixtures/docker20/basic/expected/api/inspect/", $hex, ".json")),
            include_str!(concat!("fixtures/docker20/basic/expected/api/history/", $hex, ".json")),
        )
    };
}
const EXPECTED_IMAGES: [(&str, &str, &str); 22] = [
    inspect_and_history!("0756d636ad3cc0ca27dd9d77b8993a792670ded270c89541288afc635a72a438"),
    inspect_and_history!("080a4a6642e3d1c397a2b45b746ee14d40707d75f8366dc718346758617cb450"),
    inspect_and_history!("08814ee4500d539ee10b69d26a7c2958032a0664a09dbfcfdc2e4ecdd8a93517"),
    inspect_and_history!("2ba3ef399a67f9cd7cb76c79c157437c034e4a9802061813df5d282e220c206a"),
    inspect_and_history!("3902a31b521cf39931794c62ae9e0efc5a561e6c7b9ed3b547f5221ac1373cbd"),
    inspect_and_history!("4446cbb9ca366f7729ac864236cfc46b7a3e4a201704e6df8588e913a10770ca"),
    inspect_and_history!("45f66b0ceb400a1f74a41d0b976743a37cdeff8d858f617bd89db46226303e1c"),
    inspect_and_history!("47d8305d549e99cb8b526d60c57b4e6556079e6a2910b018b7a26dbd57a79ee6"),
    inspect_and_history!("4a83ccda15950e8f72620fb409c3ded7366e35b4d0e525499a968efef9ee2a6a"),
    inspect_and_history!("4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05"),
    inspect_and_history!("52011c22505c01cb39498e18acb57897cacc7762bcec02f6135ac9c2465b47a7"),
    inspect_and_history!("66dabb1c7c046ee81cec3b89d5f6566cb568bfc5cf5de0f141bfc5f60e815eac"),
    inspect_and_history!("6acd7388f8a2c9a9b6d4eafd306ccf7bfd7562f3bcb9b39969d242c336fd247a"),
    inspect_and_history!("9870fce38285b683d06a81a589778295ec27f81be1aab74b57e138cee222026f"),
    inspect_and_history!("9cd499e687eca8b2e64baf6205195c6f6cdcfda9e6feeb8524229d5f053093a0"),
    inspect_and_history!("a977b459ed3d9ce7404f02a522edf8b93bd437c6f1be03d036e0d84a8e116f37"),
    inspect_and_history!("bd16b344758658120b82d447d61a96c56f6da38e37f306c9fbef55178d53108d"),
    inspect_and_history!("d5f5ae5aba91c3d32bc9c5cea0d5d4aa4ec7474ecbc6175bb3d15e3154830456"),
    inspect_and_history!("e184464f7c87834d83f02e2700a6b6a980b242e75a70a14ad636dc1998db2140"),
    inspect_and_history!("e6b5b37baed847a14b9ba55abe078d6dacff8a334097cb1e31cc2d83fe8ad783"),
    inspect_and_history!("f8778c76ba06d1c5e2af67891e392c7a74cba694558b50d4e8d7f197e2bb1cda"),
    inspect_and_history!("fce7b708a26cb8adb7e13ebdfc8618a697a311ed44a5a540f89ba9935a740fb0"),
];

const EDGE: &str = "sha256:4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05";

// ---------------------------------------------------------------- helpers

fn db_name(test: &str) -> String {
    format!("imagestore-docker-{test}-{}", fresh_id())
}

async fn open(name: &str) -> Store {
    Store::open_kind(name.to_string(), BackendKind::IndexedDb).await.unwrap_or_else(|e| panic!("open {name}: {e}"))
}

/// Awaits a method's promise; the value as JSON (so `null`, `{}` and `[]` stay apart, and an
/// `undefined` anywhere would show as a difference).
async fn call(p: Promise) -> Result<Value, JsValue> {
    let v = JsFuture::from(p).await?;
    if v.is_undefined() {
        return Ok(Value::Null);
    }
    let text = js_sys::JSON::stringify(&v).expect("JSON-compatible result");
    Ok(serde_json::from_str(&String::from(text)).unwrap())
}

async fn ok(what: &str, p: Promise) -> Value {
    call(p).await.unwrap_or_else(|e| panic!("{what}: rejected with {} {}", code(&e), message(&e)))
}

/// The `code` and `message` of a rejection; also checks it is a real `Error`.
async fn rejected(what: &str, p: Promise) -> (String, String) {
    match call(p).await {
        Ok(v) => panic!("{what}: resolved with {v}, expected a rejection"),
        Err(e) => {
            assert!(e.is_instance_of::<js_sys::Error>(), "{what}: rejection is not an Error: {e:?}");
            (code(&e), message(&e))
        }
    }
}

fn code(e: &JsValue) -> String {
    Reflect::get(e, &"code".into()).ok().and_then(|c| c.as_string()).unwrap_or_default()
}

fn message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_default()
}

/// A JS value from JSON text (options objects).
fn js(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

/// A JS function from source, for the few things Rust cannot build directly.
fn js_fn(args: &str, body: &str) -> Function {
    Function::new_with_args(args, body)
}

/// A ReadableStream delivering `data` in `size`-byte Uint8Array chunks.
fn readable_stream(data: &[u8], size: u32) -> JsValue {
    let make = js_fn(
        "bytes, size",
        "return new ReadableStream({ start(c) { for (let i = 0; i < bytes.length; i += size) \
         c.enqueue(bytes.slice(i, i + size)); c.close(); } })",
    );
    make.call2(&JsValue::NULL, &bytes(data), &JsValue::from(size)).unwrap()
}

fn blob(data: &[u8]) -> JsValue {
    js_fn("bytes", "return new Blob([bytes])").call1(&JsValue::NULL, &bytes(data)).unwrap()
}

async fn import(store: &Store, input: JsValue, options: JsValue) -> Value {
    ok("import", store.import(input, options)).await
}

async fn list(store: &Store, options: &str) -> Value {
    ok(&format!("listImages({options})"), store.list_images(js(options))).await
}

/// Compares image lists as the native tests do: dockerd's sort by `Created` (seconds) is
/// unstable over a Go map, so runs of equal `Created` are compared as sets.
fn assert_same_list(what: &str, got: &Value, want: &Value) {
    let runs = |v: &Value| -> Vec<(i64, Vec<Value>)> {
        let mut out: Vec<(i64, Vec<Value>)> = Vec::new();
        for row in v.as_array().unwrap_or_else(|| panic!("{what}: not a list: {v}")) {
            let created = row["Created"].as_i64().unwrap();
            match out.last_mut() {
                Some((c, rows)) if *c == created => rows.push(row.clone()),
                _ => out.push((created, vec![row.clone()])),
            }
        }
        for (_, rows) in out.iter_mut() {
            rows.sort_by(|a, b| a["Id"].as_str().cmp(&b["Id"].as_str()));
        }
        out
    };
    assert_eq!(runs(got), runs(want), "{what}\n got: {got}\nwant: {want}");
}

/// dockerd's inspect with what this store cannot know: the driver's paths (`Data`), and its
/// name, which the docker20 tars (of `image/vfs/` itself) do not contain.
fn expected_inspect(text: &str) -> Value {
    let mut v: Value = serde_json::from_str(text).unwrap();
    v["GraphDriver"] = json!({ "Data": null, "Name": "" });
    v
}

/// Everything the fixture's expected answers cover: lists, every filter row, inspect and
/// history of every image. Returns how many answers were compared.
async fn check_basic_answers(store: &Store) -> usize {
    let want = |s: &str| serde_json::from_str::<Value>(s).unwrap();
    assert_same_list("images", &list(store, "{}").await, &want(IMAGES));
    assert_same_list("images (no options)", &ok("listImages()", store.list_images(JsValue::UNDEFINED)).await, &want(IMAGES));
    assert_same_list("images-all", &list(store, r#"{"all":true}"#).await, &want(IMAGES_ALL));
    assert_same_list("images-digests", &list(store, r#"{"digests":true}"#).await, &want(IMAGES_DIGESTS));
    let mut n = 4;
    for line in FILTERS_TSV.lines().filter(|l| !l.is_empty()) {
        let (filters, answer) = line.split_once('\t').unwrap();
        let options = format!(r#"{{"all":true,"filters":{filters}}}"#);
        if answer.is_empty() {
            let (c, m) = rejected(filters, store.list_images(js(&options))).await;
            assert_eq!(c, "not_found", "{filters}: {m}");
            assert!(m.starts_with("No such image: "), "{filters}: {m}");
        } else {
            assert_same_list(filters, &list(store, &options).await, &want(answer));
        }
        n += 1;
    }
    for (hex, inspect, history) in EXPECTED_IMAGES {
        let got = ok(hex, store.inspect_image(hex.to_string())).await;
        assert_eq!(got, expected_inspect(inspect), "inspect {hex}");
        assert_eq!(ok(hex, store.image_history(hex.to_string())).await, want(history), "history {hex}");
        n += 2;
    }
    n
}

// ---------------------------------------------------------------- tests

#[wasm_bindgen_test]
async fn basic_answers_match_dockerd_and_survive_reopen() {
    let name = db_name("basic");
    let store = open(&name).await;
    let report = import(&store, bytes(BASIC), JsValue::UNDEFINED).await;
    assert_eq!(report["format"], "docker-image-store");
    assert_eq!((report["images"].clone(), report["references"].clone()), (json!(22), json!(9)), "{report}");
    assert_eq!(report["bytes"], json!(BASIC.len()));
    assert_eq!((report["skipped"].clone(), report["warnings"].clone()), (json!([]), json!([])));
    assert!(check_basic_answers(&store).await >= 4 + 2 * 22);

    // Names and IDs resolve like the docker CLI.
    assert_eq!(ok("search", store.search("4afb12".into())).await, EDGE);
    assert_eq!(ok("search", store.search("sha256:4afb1".into())).await, EDGE);
    assert_eq!(rejected("search 4a", store.search("4a".into())).await.0, "ambiguous");
    assert_eq!(rejected("search ffff", store.search("ffff".into())).await.0, "not_found");
    for tag in ["local/edge", "local/edge:latest", "127.0.0.1:5000/team/edge:v2", "4afb125595bd"] {
        assert_eq!(ok(tag, store.inspect_image(tag.into())).await["Id"], EDGE, "{tag}");
    }
    let (c, m) = rejected("inspect", store.inspect_image("local/nothing".into())).await;
    assert_eq!((c.as_str(), m.as_str()), ("not_found", "no such image: local/nothing: No such image: local/nothing:latest"));
    // The image store itself.
    let parent = ok("imageParent", store.image_parent("local/edge".into())).await;
    assert_eq!(parent, "sha256:47d8305d549e99cb8b526d60c57b4e6556079e6a2910b018b7a26dbd57a79ee6");
    assert_eq!(ok("imageParent", store.image_parent("local/base:1".into())).await, Value::Null);
    let children = ok("imageChildren", store.image_children("local/base:1".into())).await;
    assert_eq!(children.as_array().unwrap().len(), 4);
    let heads = ok("imageHeads", store.image_heads()).await;
    assert_eq!(heads.as_array().unwrap().len(), 5);
    assert!(heads.as_array().unwrap().contains(&json!(EDGE)));

    // Close, reopen: everything is rebuilt from IndexedDB.
    let all_before = list(&store, r#"{"all":true}"#).await;
    store.close();
    assert_eq!(rejected("after close", store.list_images(JsValue::UNDEFINED)).await.0, "failed_precondition");
    let again = open(&name).await;
    assert_eq!(list(&again, r#"{"all":true}"#).await, all_before);
    check_basic_answers(&again).await;
    // Importing the same tarball again adds nothing.
    let report = import(&again, bytes(BASIC), JsValue::UNDEFINED).await;
    assert_eq!((report["images"].clone(), report["layers"].clone(), report["blobs"].clone()), (json!(0), json!(0), json!(0)));
    assert_eq!(list(&again, r#"{"all":true}"#).await, all_before);
    again.close();
    Store::destroy(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn delete_replay_matches_dockerd_and_the_store_it_left() {
    let name = db_name("rmi");
    let store = open(&name).await;
    import(&store, bytes(BASIC), JsValue::UNDEFINED).await;
    let untag = ok("rmi edge", store.remove_image("local/edge:latest".into(), JsValue::UNDEFINED)).await;
    assert_eq!(untag, json!([{ "Untagged": "local/edge:latest" }]));
    let v2 = ok("rmi v2", store.remove_image("127.0.0.1:5000/team/edge:v2".into(), js("{}"))).await;
    assert_eq!(v2, serde_json::from_str::<Value>(DELETE_EDGE_V2).unwrap());
    let dangle = ok("rmi dangle", store.remove_image("local/dangle:1".into(), JsValue::UNDEFINED)).await;
    assert_eq!(dangle[0], json!({ "Untagged": "local/dangle:1" }));
    assert_eq!(dangle[1], json!({ "Deleted": "sha256:a977b459ed3d9ce7404f02a522edf8b93bd437c6f1be03d036e0d84a8e116f37" }));
    // Conflicts are coded.
    let (c, m) = rejected("rmi base", store.remove_image("3902a31b521c".into(), js(r#"{"force":true}"#))).await;
    assert_eq!(c, "conflict", "{m}");

    // The same answers as a store made from dockerd's own store after these deletes.
    let after = Store::open_kind(db_name("after"), BackendKind::Memory).await.unwrap();
    import(&after, bytes(BASIC_AFTER_RMI), JsValue::UNDEFINED).await;
    let all = r#"{"all":true}"#;
    assert_same_list("after rmi", &list(&store, all).await, &list(&after, all).await);
    store.close();
    let reopened = open(&name).await;
    assert_same_list("after rmi, reopened", &list(&reopened, all).await, &list(&after, all).await);

    // Tagging: the new tag shows, a bad one is invalid_argument.
    ok("tag", reopened.tag_image("local/base:1".into(), "busybox".into(), None)).await;
    assert_eq!(ok("inspect busybox", reopened.inspect_image("busybox:latest".into())).await["RepoTags"], json!(["busybox:latest", "local/base:1", "local/base:latest"]));
    assert_eq!(rejected("bad tag", reopened.tag_image("local/base:1".into(), "ok".into(), Some("bad tag".into()))).await.0, "invalid_argument");
    reopened.close();
    Store::destroy(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn import_from_a_stream_and_a_blob_with_progress() {
    let expected_all: Value = serde_json::from_str(IMAGES_ALL).unwrap();
    let phases = std::rc::Rc::new(std::cell::RefCell::new(Vec::<Value>::new()));
    let seen = phases.clone();
    let on_progress = Closure::<dyn FnMut(JsValue)>::new(move |p: JsValue| {
        seen.borrow_mut().push(serde_json::from_str(&String::from(js_sys::JSON::stringify(&p).unwrap())).unwrap());
    });
    let options = js_sys::Object::new();
    Reflect::set(&options, &"onProgress".into(), on_progress.as_ref()).unwrap();

    // A ReadableStream in odd-sized chunks.
    let name = db_name("stream");
    let store = open(&name).await;
    let report = import(&store, readable_stream(BASIC, 4093), options.clone().into()).await;
    assert_eq!(report["images"], 22);
    assert_same_list("from a stream", &list(&store, r#"{"all":true}"#).await, &expected_all);
    {
        let p = phases.borrow();
        let last = p.last().expect("onProgress was called");
        assert_eq!(last["phase"], "done", "{p:?}");
        assert_eq!(last["bytesRead"], json!(BASIC.len()));
        assert_eq!(p[0]["bytesTotal"], Value::Null, "a stream's size is unknown");
        assert!(p.iter().any(|x| x["phase"] == "reading"));
    }
    store.close();
    Store::destroy(name).await.unwrap();

    // A Blob (read by slices), and a Blob's own stream.
    phases.borrow_mut().clear();
    for (what, input) in [("blob", blob(BASIC)), ("blob.stream()", js_fn("b", "return b.stream()").call1(&JsValue::NULL, &blob(BASIC)).unwrap())] {
        let store = Store::open_kind(db_name("blob"), BackendKind::Memory).await.unwrap();
        let report = import(&store, input, options.clone().into()).await;
        assert_eq!(report["images"], 22, "{what}");
        assert_same_list(what, &list(&store, r#"{"all":true}"#).await, &expected_all);
    }
    assert_eq!(phases.borrow()[0]["bytesTotal"], json!(BASIC.len()), "a Blob's size is known");
    // An ArrayBuffer too.
    let store = Store::open_kind(db_name("ab"), BackendKind::Memory).await.unwrap();
    let buffer = Uint8Array::from(BASIC).buffer();
    assert_eq!(import(&store, buffer.into(), JsValue::UNDEFINED).await["images"], 22);
}

/// `metaRecords` and `chunkRecords` of `storeInfo`: everything the backend holds.
async fn record_counts(store: &Store) -> (Value, Value) {
    let info = ok("storeInfo", store.store_info()).await;
    (info["metaRecords"].clone(), info["chunkRecords"].clone())
}

#[wasm_bindgen_test]
async fn abort_and_bad_input_leave_the_store_unchanged() {
    let name = db_name("abort");
    let store = open(&name).await;
    import(&store, bytes(BASIC_AFTER_RMI), JsValue::UNDEFINED).await;
    let all = r#"{"all":true}"#;
    let (list_before, counts_before) = (list(&store, all).await, record_counts(&store).await);

    // Aborted before it starts.
    let controller = js_fn("", "return new AbortController()").call0(&JsValue::NULL).unwrap();
    let signal = Reflect::get(&controller, &"signal".into()).unwrap();
    let abort = || js_fn("c", "c.abort()").call1(&JsValue::NULL, &controller).unwrap();
    let options = js_sys::Object::new();
    Reflect::set(&options, &"signal".into(), &signal).unwrap();
    abort();
    let (c, m) = rejected("aborted import", store.import(bytes(BASIC), options.clone().into())).await;
    assert_eq!(c, "aborted", "{m}");

    // Aborted midway, from the first progress report, while a stream is being read.
    let controller = js_fn("", "return new AbortController()").call0(&JsValue::NULL).unwrap();
    let options = js_sys::Object::new();
    Reflect::set(&options, &"signal".into(), &Reflect::get(&controller, &"signal".into()).unwrap()).unwrap();
    let c2 = controller.clone();
    let on_progress = Closure::<dyn FnMut(JsValue)>::new(move |_p: JsValue| {
        js_fn("c", "c.abort()").call1(&JsValue::NULL, &c2).unwrap();
    });
    Reflect::set(&options, &"onProgress".into(), on_progress.as_ref()).unwrap();
    let (c, m) = rejected("aborted midway", store.import(readable_stream(BASIC, 1000), options.into())).await;
    assert_eq!(c, "aborted", "{m}");
    assert_eq!(list(&store, all).await, list_before);
    assert_eq!(record_counts(&store).await, counts_before, "staged chunks were discarded");

    // Not a tarball: unsupported_format, saying so.
    let (c, m) = rejected("not a tar", store.import(bytes(&b"just some text, not a tar archive ".repeat(64)), JsValue::UNDEFINED)).await;
    assert_eq!(c, "unsupported_format", "{m}");
    assert!(m.contains("not a tar"), "{m}");
    // Truncated tarball: an error naming where, nothing kept.
    let (c, m) = rejected("truncated", store.import(bytes(&BASIC[..BASIC.len() / 2]), JsValue::UNDEFINED)).await;
    assert!(!c.is_empty() && !m.is_empty(), "{c}: {m}");
    // Wrong argument types.
    for (what, input, options) in [
        ("a number", JsValue::from(42), JsValue::UNDEFINED),
        ("a string", JsValue::from_str("image-store.tar"), JsValue::UNDEFINED),
        ("bad onProgress", bytes(BASIC), js(r#"{"onProgress": 1}"#)),
    ] {
        let (c, m) = rejected(what, store.import(input, options)).await;
        assert_eq!(c, "invalid_argument", "{what}: {m}");
    }
    assert_eq!(rejected("filters", store.list_images(js(r#"{"filters": 5}"#))).await.0, "invalid_argument");
    assert_eq!(rejected("all", store.list_images(js(r#"{"all": "yes"}"#))).await.0, "invalid_argument");
    assert_eq!(rejected("until", store.list_images(js(r#"{"filters": {"until": ["1h"]}}"#))).await.1, "Invalid filter 'until'");

    assert_eq!(list(&store, all).await, list_before);
    assert_eq!(record_counts(&store).await, counts_before);
    store.close();
    let again = open(&name).await;
    assert_eq!(list(&again, all).await, list_before);
    again.close();
    Store::destroy(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn layer_files_and_concurrent_calls() {
    let store = Store::open_kind(db_name("files"), BackendKind::Memory).await.unwrap();
    // Calls made before the import finishes wait for nothing and see the store as it was;
    // calls queued together are all answered.
    let early = store.list_images(JsValue::UNDEFINED);
    let importing = store.import(bytes(BASIC), JsValue::UNDEFINED);
    assert_eq!(ok("early list", early).await, json!([]));
    ok("import", importing).await;
    let calls: Vec<Promise> = (0..5).map(|_| store.inspect_image("local/edge".into())).collect();
    for p in calls {
        assert_eq!(ok("concurrent inspect", p).await["Id"], EDGE);
    }

    let files = |options: &str| store.layer_files("local/edge".into(), js(options));
    let top = ok("layerFiles", store.layer_files("local/edge".into(), JsValue::UNDEFINED)).await;
    let paths: Vec<&str> = top.as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/data", "/data/blob.bin"]);
    assert_eq!(top[1]["type"], "file");
    assert_eq!(top[1]["linkname"], Value::Null);
    assert_eq!(top[1]["whiteout"], Value::Null);
    let inspect = ok("inspect", store.inspect_image("local/edge".into())).await;
    let diff4 = inspect["RootFS"]["Layers"][4].as_str().unwrap();
    let rm = ok("layer 4", files(&format!(r#"{{"layer":"{diff4}"}}"#))).await;
    assert_eq!(rm, ok("layer 4", files(r#"{"layer":4}"#)).await);
    let whiteouts: Vec<&str> = rm.as_array().unwrap().iter().filter(|f| f["whiteout"] == "deleted").map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(whiteouts, ["/app/.wh.built.txt", "/etc/.wh.hello.txt"]);
    let merged = ok("merged", files(r#"{"merged":true}"#)).await;
    let merged_paths: Vec<&str> = merged.as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(merged_paths.len(), 35);
    assert!(!merged_paths.contains(&"/etc/hello.txt") && !merged_paths.contains(&"/app/built.txt"));
    let link = merged.as_array().unwrap().iter().find(|f| f["path"] == "/data/link").unwrap();
    assert_eq!((link["type"].clone(), link["linkname"].clone(), link["layer"].clone()), (json!("symlink"), json!("/app/data.txt"), json!(5)));
    assert_eq!(rejected("layer 9", files(r#"{"layer":9}"#)).await.0, "not_found");
    assert_eq!(rejected("layer -1", files(r#"{"layer":-1}"#)).await.0, "invalid_argument");
    assert_eq!(rejected("layer bad", files(r#"{"layer":"nope"}"#)).await.0, "invalid_argument");
}
