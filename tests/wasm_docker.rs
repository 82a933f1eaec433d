//! The Docker view through the JS-facing `Store` (the exported methods, called from Rust, with
//! their JS values converted by `JSON.stringify`), over IndexedDB: fake-indexeddb in Node, the
//! real one in Chromium. Same binary in both (no `run_in_browser`). Every real store of
//! tests/fixtures is imported and its answers compared with dockerd 20.10's (`expected/api`):
//! docker20/{basic,debian,scale200} and the docker-explorer roots (whole `/var/lib/docker`).
#![cfg(target_arch = "wasm32")]

mod support;

use imagestore::wasm::{BackendKind, Store};
use include_dir::{include_dir, Dir};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use serde_json::{json, Value};
use support::dockerd::{check_answers, DockerdAnswers, EngineApi, Rejection};
use support::js::{call, json_text as js, sleep};
use support::list_compare::assert_same_list;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

/// One real store and dockerd's answers about it.
struct Fixture {
    name: &'static str,
    /// What a user imports: a tar of dockerd's `image/vfs/` (docker20) or a whole root (.tgz).
    tar: &'static [u8],
    /// `expected/api`: images*.json, images-filters.tsv, inspect/<hex>.json, history/<hex>.json.
    api: Dir<'static>,
    /// `GraphDriver.Name` as this store must answer it, where dockerd's answer ("vfs") cannot be
    /// compared: the docker20 tars hold the inside of `image/vfs/`, so no driver name is in them
    /// (""); the docker-explorer roots' dockerd ran with `vfs` over a copy of their
    /// `image/<driver>/`, whose name this store answers (tests/docker_store.rs drops it).
    driver: &'static str,
}

static BASIC: Fixture = Fixture {
    name: "docker20/basic",
    tar: include_bytes!("fixtures/docker20/basic/image-store.tar"),
    api: include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures/docker20/basic/expected/api"),
    driver: "",
};
static DEBIAN: Fixture = Fixture {
    name: "docker20/debian",
    tar: include_bytes!("fixtures/docker20/debian/image-store.tar"),
    api: include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures/docker20/debian/expected/api"),
    driver: "",
};
static SCALE200: Fixture = Fixture {
    name: "docker20/scale200",
    tar: include_bytes!("fixtures/docker20/scale200/image-store.tar"),
    api: include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures/docker20/scale200/expected/api"),
    driver: "",
};
static DOCKER_EXPLORER_ROOTS: [Fixture; 4] = [
    Fixture {
        name: "docker-explorer/aufs.v2",
        tar: include_bytes!("fixtures/wild/docker-explorer/test_data/aufs.v2.tgz"),
        api: include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures/wild/docker-explorer/expected/aufs.v2/api"),
        driver: "aufs",
    },
    Fixture {
        name: "docker-explorer/overlay.v2",
        tar: include_bytes!("fixtures/wild/docker-explorer/test_data/overlay.v2.tgz"),
        api: include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures/wild/docker-explorer/expected/overlay.v2/api"),
        driver: "overlay",
    },
    Fixture {
        name: "docker-explorer/overlay2.v2",
        tar: include_bytes!("fixtures/wild/docker-explorer/test_data/overlay2.v2.tgz"),
        api: include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures/wild/docker-explorer/expected/overlay2.v2/api"),
        // It holds an empty `image/overlay/` too: the images are in the daemon's own `overlay2/`.
        driver: "overlay2",
    },
    Fixture {
        name: "docker-explorer/vols.v2",
        tar: include_bytes!("fixtures/wild/docker-explorer/test_data/vols.v2.tgz"),
        api: include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures/wild/docker-explorer/expected/vols.v2/api"),
        driver: "overlay2",
    },
];

const BASIC_AFTER_RMI: &[u8] = include_bytes!("fixtures/docker20/basic/image-store-after-rmi.tar");

impl DockerdAnswers for Fixture {
    fn name(&self) -> &str {
        self.name
    }
    fn text(&self, path: &str) -> String {
        let file = self.api.get_file(path).unwrap_or_else(|| panic!("{}: no expected/api/{path}", self.name));
        let text = file.contents_utf8().unwrap_or_else(|| panic!("{}: expected/api/{path} is not UTF-8", self.name));
        text.to_string()
    }
    fn inspected_ids(&self) -> Vec<String> {
        let dir = self.api.get_dir("inspect").unwrap_or_else(|| panic!("{}: no expected/api/inspect", self.name));
        dir.files().map(|f| f.path().file_stem().and_then(|s| s.to_str()).unwrap().to_string()).collect()
    }
    fn driver(&self) -> &str {
        self.driver
    }
}

/// The JS-facing store asked as the Engine API is asked: each method's promise, its value as
/// JSON (see [`call`]).
impl EngineApi for Store {
    async fn list_images(&self, options: Option<&str>) -> Result<Value, Rejection> {
        rejection(call(Store::list_images(self, options.map_or(JsValue::UNDEFINED, js))).await)
    }
    async fn inspect_image(&self, name: &str) -> Result<Value, Rejection> {
        rejection(call(Store::inspect_image(self, name.into())).await)
    }
    async fn image_history(&self, name: &str) -> Result<Value, Rejection> {
        rejection(call(Store::image_history(self, name.into())).await)
    }
    async fn search(&self, partial: &str) -> Result<Value, Rejection> {
        rejection(call(Store::search(self, partial.into())).await)
    }
}

/// A rejection's `code` and `message`; also checks it is a real `Error`.
fn rejection(answer: Result<Value, JsValue>) -> Result<Value, Rejection> {
    answer.map_err(|e| {
        assert!(e.is_instance_of::<js_sys::Error>(), "rejection is not an Error: {e:?}");
        Rejection { code: code(&e), message: message(&e) }
    })
}

const EDGE: &str = "sha256:4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05";

// ---------------------------------------------------------------- helpers

fn db_name(test: &str) -> String {
    support::unique_name(&format!("imagestore-docker-{test}"))
}

async fn open(name: &str) -> Store {
    Store::open_kind(name.to_string(), BackendKind::IndexedDb).await.unwrap_or_else(|e| panic!("open {name}: {e}"))
}

/// Awaits a method's promise; the value as JSON (so `null`, `{}` and `[]` stay apart, and an
/// `undefined` anywhere would show as a difference).
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

/// Imports a fixture into a new IndexedDB store, checks every answer, then that a reopened
/// store lists the same. Returns how many answers were compared.
async fn import_and_check(fixture: &Fixture) -> usize {
    let name = db_name(fixture.name.rsplit('/').next().unwrap());
    let store = open(&name).await;
    let report = import(&store, bytes(fixture.tar), JsValue::UNDEFINED).await;
    assert_eq!(report["format"], "docker-image-store", "{}: {report}", fixture.name);
    assert_eq!(report["images"], json!(fixture.inspected_ids().len()), "{}: {report}", fixture.name);
    assert_eq!(
        (report["skipped"].clone(), report["bytes"].clone()),
        (json!([]), json!(fixture.tar.len())),
        "{}: {report}",
        fixture.name
    );
    let n = check_answers(&store, fixture).await;
    let all_before = list(&store, r#"{"all":true}"#).await;
    store.close();
    let again = open(&name).await;
    assert_eq!(list(&again, r#"{"all":true}"#).await, all_before, "{}: after reopen", fixture.name);
    again.close();
    Store::destroy(name.into()).await.unwrap();
    n
}

// ---------------------------------------------------------------- tests

#[wasm_bindgen_test]
async fn basic_answers_match_dockerd_and_survive_reopen() {
    let name = db_name("basic");
    let store = open(&name).await;
    let report = import(&store, bytes(BASIC.tar), JsValue::UNDEFINED).await;
    assert_eq!(report["format"], "docker-image-store");
    assert_eq!((report["images"].clone(), report["references"].clone()), (json!(22), json!(9)), "{report}");
    assert_eq!(report["bytes"], json!(BASIC.tar.len()));
    assert_eq!((report["skipped"].clone(), report["warnings"].clone()), (json!([]), json!([])));
    assert!(check_answers(&store, &BASIC).await >= 4 + 5 + 2 * 22 + 22 + 9);

    // Names and IDs resolve like the docker CLI.
    assert_eq!(ok("search", store.search("4afb12".into())).await, EDGE);
    assert_eq!(ok("search", store.search("sha256:4afb1".into())).await, EDGE);
    assert_eq!(rejected("search 4a", store.search("4a".into())).await.0, "ambiguous");
    assert_eq!(rejected("search ffff", store.search("ffff".into())).await.0, "not_found");
    for tag in ["local/edge", "local/edge:latest", "127.0.0.1:5000/team/edge:v2", "4afb125595bd"] {
        assert_eq!(ok(tag, store.inspect_image(tag.into())).await["Id"], EDGE, "{tag}");
    }
    let (c, m) = rejected("inspect", store.inspect_image("local/nothing".into())).await;
    assert_eq!(
        (c.as_str(), m.as_str()),
        ("not_found", "no such image: local/nothing: No such image: local/nothing:latest")
    );
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
    check_answers(&again, &BASIC).await;
    // Importing the same tarball again adds nothing.
    let report = import(&again, bytes(BASIC.tar), JsValue::UNDEFINED).await;
    assert_eq!(
        (report["images"].clone(), report["layers"].clone(), report["blobs"].clone()),
        (json!(0), json!(0), json!(0))
    );
    assert_eq!(list(&again, r#"{"all":true}"#).await, all_before);
    again.close();
    Store::destroy(name.into()).await.unwrap();
}

#[wasm_bindgen_test]
async fn debian_answers_match_dockerd() {
    let n = import_and_check(&DEBIAN).await;
    assert!(n >= 4 + 2 * 22 + 22, "only {n} answers compared");
}

#[wasm_bindgen_test]
async fn scale200_answers_match_dockerd() {
    let n = import_and_check(&SCALE200).await;
    assert!(n >= 4 + 2 * 601 + 601, "only {n} answers compared");
}

#[wasm_bindgen_test]
async fn docker_explorer_roots_match_dockerd() {
    // Whole `/var/lib/docker` roots: the importer picks the daemon's own `image/<driver>/`.
    for fixture in &DOCKER_EXPLORER_ROOTS {
        let n = import_and_check(fixture).await;
        // Lists, 2 filter rows, inspect and history, short ID and tag of their one image.
        assert!(n >= 4 + 2 + 2 + 2, "{}: only {n} answers compared", fixture.name);
    }
}

#[wasm_bindgen_test]
async fn delete_replay_matches_dockerd_and_the_store_it_left() {
    let name = db_name("rmi");
    let store = open(&name).await;
    import(&store, bytes(BASIC.tar), JsValue::UNDEFINED).await;
    let untag = ok("rmi edge", store.remove_image("local/edge:latest".into(), JsValue::UNDEFINED)).await;
    assert_eq!(untag, json!([{ "Untagged": "local/edge:latest" }]));
    // A dry run gives the answer, layers included, and leaves the image where it was.
    let dry = r#"{"dryRun":true}"#;
    let preview = ok("rmi v2 dry", store.remove_image("127.0.0.1:5000/team/edge:v2".into(), js(dry))).await;
    assert_eq!(preview, BASIC.json("delete-edge-v2.json"));
    ok("still there", store.inspect_image("127.0.0.1:5000/team/edge:v2".into())).await;
    let v2 = ok("rmi v2", store.remove_image("127.0.0.1:5000/team/edge:v2".into(), js("{}"))).await;
    assert_eq!(v2, BASIC.json("delete-edge-v2.json"));
    let dangle = ok("rmi dangle", store.remove_image("local/dangle:1".into(), JsValue::UNDEFINED)).await;
    assert_eq!(dangle[0], json!({ "Untagged": "local/dangle:1" }));
    assert_eq!(
        dangle[1],
        json!({ "Deleted": "sha256:a977b459ed3d9ce7404f02a522edf8b93bd437c6f1be03d036e0d84a8e116f37" })
    );
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

    // A tag's dry run: the tag as RepoTags will show it, or dockerd's error; nothing changes.
    let dry = js(r#"{"dryRun":true}"#);
    let would =
        ok("tag dry", reopened.tag_image("local/base:1".into(), "busybox".into(), JsValue::UNDEFINED, dry.clone()))
            .await;
    assert_eq!(would, json!("busybox:latest"));
    let (code, message) =
        rejected("tag dry upper", reopened.tag_image("local/base:1".into(), "Busybox".into(), JsValue::UNDEFINED, dry))
            .await;
    assert_eq!(code, "invalid_argument");
    assert!(message.ends_with("repository name must be lowercase"), "{message}");
    assert_eq!(rejected("not tagged yet", reopened.inspect_image("busybox:latest".into())).await.0, "not_found");
    assert_eq!(imagestore::wasm::human_size(1_982_293.0, None), "1.98MB");
    assert_eq!(imagestore::wasm::human_size(1_050_624.0, Some(4)), "1.051MB");

    // Tagging: the new tag shows, a bad one is invalid_argument.
    ok("tag", reopened.tag_image("local/base:1".into(), "busybox".into(), JsValue::UNDEFINED, JsValue::UNDEFINED))
        .await;
    assert_eq!(
        ok("inspect busybox", reopened.inspect_image("busybox:latest".into())).await["RepoTags"],
        json!(["busybox:latest", "local/base:1", "local/base:latest"])
    );
    assert_eq!(
        rejected(
            "bad tag",
            reopened.tag_image("local/base:1".into(), "ok".into(), "bad tag".into(), JsValue::UNDEFINED)
        )
        .await
        .0,
        "invalid_argument"
    );
    reopened.close();
    Store::destroy(name.into()).await.unwrap();
}

#[wasm_bindgen_test]
async fn import_from_a_stream_and_a_blob_with_progress() {
    let expected_all = BASIC.json("images-all.json");
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
    let report = import(&store, readable_stream(BASIC.tar, 4093), options.clone().into()).await;
    assert_eq!(report["images"], 22);
    assert_same_list("from a stream", &list(&store, r#"{"all":true}"#).await, &expected_all);
    {
        let p = phases.borrow();
        let last = p.last().expect("onProgress was called");
        assert_eq!(last["phase"], "done", "{p:?}");
        assert_eq!(last["bytesRead"], json!(BASIC.tar.len()));
        assert_eq!(p[0]["bytesTotal"], Value::Null, "a stream's size is unknown");
        assert!(p.iter().any(|x| x["phase"] == "reading"));
    }
    store.close();
    Store::destroy(name.into()).await.unwrap();

    // A Blob (read by slices), and a Blob's own stream.
    phases.borrow_mut().clear();
    for (what, input) in [
        ("blob", blob(BASIC.tar)),
        ("blob.stream()", js_fn("b", "return b.stream()").call1(&JsValue::NULL, &blob(BASIC.tar)).unwrap()),
    ] {
        let store = Store::open_kind(db_name("blob"), BackendKind::Memory).await.unwrap();
        let report = import(&store, input, options.clone().into()).await;
        assert_eq!(report["images"], 22, "{what}");
        assert_same_list(what, &list(&store, r#"{"all":true}"#).await, &expected_all);
    }
    assert_eq!(phases.borrow()[0]["bytesTotal"], json!(BASIC.tar.len()), "a Blob's size is known");
    // An ArrayBuffer too.
    let store = Store::open_kind(db_name("ab"), BackendKind::Memory).await.unwrap();
    let buffer = Uint8Array::from(BASIC.tar).buffer();
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
    let (c, m) = rejected("aborted import", store.import(bytes(BASIC.tar), options.clone().into())).await;
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
    let (c, m) = rejected("aborted midway", store.import(readable_stream(BASIC.tar, 1000), options.into())).await;
    assert_eq!(c, "aborted", "{m}");
    assert_eq!(list(&store, all).await, list_before);
    assert_eq!(record_counts(&store).await, counts_before, "staged chunks were discarded");

    // Not a tarball: unsupported_format, saying so.
    let (c, m) = rejected(
        "not a tar",
        store.import(bytes(&b"just some text, not a tar archive ".repeat(64)), JsValue::UNDEFINED),
    )
    .await;
    assert_eq!(c, "unsupported_format", "{m}");
    assert!(m.contains("not a tar"), "{m}");
    // Truncated tarball: an error naming where, nothing kept.
    let (c, m) =
        rejected("truncated", store.import(bytes(&BASIC.tar[..BASIC.tar.len() / 2]), JsValue::UNDEFINED)).await;
    assert!(!c.is_empty() && !m.is_empty(), "{c}: {m}");
    // Wrong argument types.
    for (what, input, options) in [
        ("a number", JsValue::from(42), JsValue::UNDEFINED),
        ("a string", JsValue::from_str("image-store.tar"), JsValue::UNDEFINED),
        ("bad onProgress", bytes(BASIC.tar), js(r#"{"onProgress": 1}"#)),
    ] {
        let (c, m) = rejected(what, store.import(input, options)).await;
        assert_eq!(c, "invalid_argument", "{what}: {m}");
    }
    assert_eq!(rejected("filters", store.list_images(js(r#"{"filters": 5}"#))).await.0, "invalid_argument");
    assert_eq!(rejected("all", store.list_images(js(r#"{"all": "yes"}"#))).await.0, "invalid_argument");
    assert_eq!(
        rejected("until", store.list_images(js(r#"{"filters": {"until": ["1h"]}}"#))).await.1,
        "Invalid filter 'until'"
    );

    assert_eq!(list(&store, all).await, list_before);
    assert_eq!(record_counts(&store).await, counts_before);
    store.close();
    let again = open(&name).await;
    assert_eq!(list(&again, all).await, list_before);
    again.close();
    Store::destroy(name.into()).await.unwrap();
}

#[wasm_bindgen_test]
async fn layer_files_and_concurrent_calls() {
    let store = Store::open_kind(db_name("files"), BackendKind::Memory).await.unwrap();
    // Calls made before the import finishes wait for nothing and see the store as it was;
    // calls queued together are all answered.
    let early = store.list_images(JsValue::UNDEFINED);
    let importing = store.import(bytes(BASIC.tar), JsValue::UNDEFINED);
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
    let whiteouts: Vec<&str> = rm
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["whiteout"] == "deleted")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(whiteouts, ["/app/.wh.built.txt", "/etc/.wh.hello.txt"]);
    let merged = ok("merged", files(r#"{"merged":true}"#)).await;
    let merged_paths: Vec<&str> = merged.as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(merged_paths.len(), 35);
    assert!(!merged_paths.contains(&"/etc/hello.txt") && !merged_paths.contains(&"/app/built.txt"));
    let link = merged.as_array().unwrap().iter().find(|f| f["path"] == "/data/link").unwrap();
    assert_eq!(
        (link["type"].clone(), link["linkname"].clone(), link["layer"].clone()),
        (json!("symlink"), json!("/app/data.txt"), json!(5))
    );
    assert_eq!(rejected("layer 9", files(r#"{"layer":9}"#)).await.0, "not_found");
    assert_eq!(rejected("layer -1", files(r#"{"layer":-1}"#)).await.0, "invalid_argument");
    assert_eq!(rejected("layer bad", files(r#"{"layer":"nope"}"#)).await.0, "invalid_argument");
}

/// The list's answers are remembered while the store is unchanged (tests/docker_list.rs has the
/// core's side): each `listImages` call still gets its own objects, `listImagesJson` is the
/// same list as dockerd's text, and a change — this `Store`'s or another one's on the same
/// database (another tab) — shows at the very next call.
#[wasm_bindgen_test]
async fn remembered_lists_are_private_copies_and_follow_every_change() {
    let name = db_name("list-memo");
    let store = open(&name).await;
    import(&store, bytes(BASIC.tar), JsValue::UNDEFINED).await;
    // A caller that sorts and changes what it got does not change what the next caller gets:
    // each call's rows, lists and `Labels` objects are new (built from the same columns; only
    // the strings, which cannot be changed, are shared), whether it comes at once or later.
    let scramble = js_fn(
        "rows",
        "rows.reverse(); rows[0].Id = 'mine'; rows[0].RepoTags?.push('x:y'); rows[1].Labels = { a: 'b' }; \
         rows.forEach((r) => { if (r.Labels) r.Labels.extra = '1'; if (r.RepoDigests) r.RepoDigests.length = 0; }); rows.pop();",
    );
    let first = wasm_bindgen_futures::JsFuture::from(store.list_images(js(r#"{"all":true}"#))).await.unwrap();
    let all: Value = serde_json::from_str(&String::from(js_sys::JSON::stringify(&first).unwrap())).unwrap();
    assert_same_list("listImages -a", &all, &serde_json::from_str(&BASIC.text("images-all.json")).unwrap());
    scramble.call1(&JsValue::NULL, &first).unwrap();
    let second = wasm_bindgen_futures::JsFuture::from(store.list_images(js(r#"{"all":true}"#))).await.unwrap();
    scramble.call1(&JsValue::NULL, &second).unwrap();
    assert_eq!(list(&store, r#"{"all":true}"#).await, all, "a call after the first two callers changed their rows");
    sleep(200).await;
    let mine = wasm_bindgen_futures::JsFuture::from(store.list_images(js(r#"{"all":true}"#))).await.unwrap();
    scramble.call1(&JsValue::NULL, &mine).unwrap();
    assert_eq!(list(&store, r#"{"all":true}"#).await, all, "a call after another caller changed its copy");

    // The text: the same rows, and a string each time.
    let text = wasm_bindgen_futures::JsFuture::from(store.list_images_json(js(r#"{"all":true}"#))).await.unwrap();
    let text = text.as_string().expect("listImagesJson resolves with a string");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), all);
    let rows = wasm_bindgen_futures::JsFuture::from(store.list_images(js(r#"{"all":true}"#))).await.unwrap();
    assert_eq!(same_as_parse(&rows, &text), "same", "listImages' rows, keys in order, against the parse of the text");
    let heads = ok("listImagesJson()", store.list_images_json(JsValue::UNDEFINED)).await;
    assert_same_list(
        "listImagesJson()",
        &serde_json::from_str(heads.as_str().unwrap()).unwrap(),
        &serde_json::from_str(&BASIC.text("images.json")).unwrap(),
    );
    assert_eq!(rejected("bad all", store.list_images_json(js(r#"{"all":"yes"}"#))).await.0, "invalid_argument");
    let (code, message) = rejected("bad filter", store.list_images_json(js(r#"{"filters":{"until":["1h"]}}"#))).await;
    assert_eq!((code.as_str(), message.as_str()), ("invalid_argument", "Invalid filter 'until'"));

    // This store's tag: at the next call.
    ok("tag", store.tag_image("local/edge".into(), "mine/tagged".into(), "v1".into(), JsValue::UNDEFINED)).await;
    let tagged = list(&store, r#"{"all":true}"#).await;
    assert!(tagged.to_string().contains("mine/tagged:v1") && !all.to_string().contains("mine/tagged"));
    let text = ok("listImagesJson", store.list_images_json(js(r#"{"all":true}"#))).await;
    assert!(text.as_str().unwrap().contains("\"mine/tagged:v1\""));

    // Another tab's rmi: at the next call of this one.
    let other = open(&name).await;
    ok("rmi", other.remove_image("mine/tagged:v1".into(), JsValue::UNDEFINED)).await;
    assert_eq!(list(&store, r#"{"all":true}"#).await, all, "the other tab's untag is seen");
    let text = ok("listImagesJson", store.list_images_json(js(r#"{"all":true}"#))).await;
    assert!(!text.as_str().unwrap().contains("mine/tagged"));
    other.close();
    store.close();
    Store::destroy(name.into()).await.unwrap();
}

/// Whether `rows` are what `JSON.parse(text)` gives, keys in the same order, with `Labels`
/// objects of the usual prototype: `"same"`, or what differs.
fn same_as_parse(rows: &JsValue, text: &str) -> String {
    let compare = js_fn(
        "rows, text",
        "const want = JSON.parse(text); \
         if (JSON.stringify(rows) !== JSON.stringify(want)) return 'rows: ' + JSON.stringify(rows).slice(0, 2000); \
         for (const [i, r] of rows.entries()) { \
           if (r.Labels === null) continue; \
           if (Object.getPrototypeOf(r.Labels) !== Object.prototype) return 'the Labels prototype of ' + r.Id; \
           if (JSON.stringify(Object.getOwnPropertyNames(r.Labels)) !== JSON.stringify(Object.getOwnPropertyNames(want[i].Labels))) \
             return 'the Labels keys of ' + r.Id; \
         } \
         return 'same';",
    );
    compare.call2(&JsValue::NULL, rows, &text.into()).unwrap().as_string().unwrap()
}

/// `listImages` builds its rows in JS (see src/wasm/list_answers.rs): label keys JS treats
/// apart (`__proto__`, integer-like keys, which objects order first), escapes and non-ASCII
/// text come out as `JSON.parse` of `listImagesJson` gives them. A hand-made docker save: no
/// real fixture has such labels.
#[wasm_bindgen_test]
async fn list_rows_equal_the_parse_of_the_text_for_odd_labels() {
    use imagestore::digest::Digest;
    let layer = support::tar::tar_of(&[("a.txt", b'0', "", b"a")]);
    let diff = Digest::sha256_of(&layer);
    let labels =
        r#"{"__proto__":"p","10":"ten","2":"two","b":"\u2028 <&> \"q\" \u00e9 \ud83d\ude00","a":"\u0001","c":""}"#;
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","created":"2026-01-02T03:04:05Z","config":{{"Labels":{labels}}},"rootfs":{{"type":"layers","diff_ids":["{diff}"]}}}}"#
    );
    let id = Digest::sha256_of(config.as_bytes());
    let manifest = format!(
        r#"[{{"Config":"{}.json","RepoTags":["odd/labels:1","odd/labels:2"],"Layers":["l/layer.tar"]}}]"#,
        id.hex()
    );
    let save = support::tar::tar_of(&[
        ("l/layer.tar", b'0', "", &layer),
        (&format!("{}.json", id.hex()), b'0', "", config.as_bytes()),
        ("manifest.json", b'0', "", manifest.as_bytes()),
    ]);
    let name = db_name("odd-labels");
    let store = open(&name).await;
    import(&store, bytes(&save), JsValue::UNDEFINED).await;
    for options in [r#"{"all":true}"#, "{}", r#"{"filters":{"label":["2=two"]}}"#] {
        let text = ok("listImagesJson", store.list_images_json(js(options))).await;
        let text = text.as_str().unwrap().to_string();
        assert!(text.contains("\"__proto__\":\"p\"") && text.contains("\\u2028"), "{options}: {text}");
        let rows = wasm_bindgen_futures::JsFuture::from(store.list_images(js(options))).await.unwrap();
        assert_eq!(same_as_parse(&rows, &text), "same", "listImages({options})");
    }
    store.close();
    Store::destroy(name.into()).await.unwrap();
}

/// The go-units bindings the CLI and the page format with: one value, or a whole column in
/// one call (an array or a Float64Array); anything but finite numbers is `invalid_argument`.
#[wasm_bindgen_test]
fn go_units_bindings_format_values_and_columns() {
    use imagestore::wasm::{human_duration_js, human_durations_js, human_sizes_js};
    let code = |e: JsValue| Reflect::get(&e, &"code".into()).unwrap().as_string().unwrap();
    let strings = |a: js_sys::Array| a.iter().map(|s| s.as_string().unwrap()).collect::<Vec<_>>();
    assert_eq!(human_duration_js(90.0.into()).unwrap(), "About a minute");
    assert_eq!(
        strings(human_sizes_js(js("[1982293, 0, 999999]"), JsValue::UNDEFINED).unwrap()),
        ["1.98MB", "0B", "1e+03kB"]
    );
    let typed = js_sys::Float64Array::from(&[1_050_624.0][..]);
    assert_eq!(strings(human_sizes_js(typed.into(), 4.into()).unwrap()), ["1.051MB"]);
    assert_eq!(
        strings(human_durations_js(js("[0.5, 61, 172800]")).unwrap()),
        ["Less than a second", "About a minute", "2 days"]
    );
    assert_eq!(strings(human_durations_js(js("[]")).unwrap()), Vec::<String>::new());
    let nan = js_sys::Float64Array::from(&[1.0, f64::NAN][..]);
    for bad in [js("[1, \"2\"]"), js("\"12\""), nan.into(), JsValue::UNDEFINED] {
        assert_eq!(code(human_durations_js(bad.clone()).unwrap_err()), "invalid_argument");
        assert_eq!(code(human_sizes_js(bad, JsValue::UNDEFINED).unwrap_err()), "invalid_argument");
    }
    assert_eq!(code(human_duration_js(js("\"60\"")).unwrap_err()), "invalid_argument");
}
