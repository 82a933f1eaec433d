//! The analyses through the JS-facing `Store` (Node with fake-indexeddb, and Chromium with
//! real IndexedDB; same binary): dive's own test image against dive 0.13.1's `--json`
//! answer, `systemDf` against dockerd's `GET /system/df`, and layer changes, image diff and
//! file search on the basic fixture, with their errors' codes.
#![cfg(target_arch = "wasm32")]

mod support;

use imagestore::wasm::{BackendKind, Store};
use js_sys::{Promise, Reflect, Uint8Array};
use serde_json::Value;
use support::list_compare::assert_same_list;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

static DIVE_TEST_IMAGE: &[u8] = include_bytes!("fixtures/wild/dive/.data/test-docker-image.tar");
static DIVE_TEST_ANSWER: &str =
    include_str!("fixtures/wild/dive/expected/dive/test-docker-image/dive-test_latest.json");
static BASIC: &[u8] = include_bytes!("fixtures/docker20/basic/image-store.tar");
static BASIC_CONTAINERD_ROOT: &[u8] = include_bytes!("fixtures/docker20/basic/containerd-root.tar");
static EDGE_DIVE: &str = include_str!("fixtures/docker20/basic/expected/dive/local_edge_latest.json");
static BASIC_DF: &str = include_str!("fixtures/docker20/basic/expected/api/system-df.json");

async fn open(test: &str) -> Store {
    let name = support::unique_name(&format!("imagestore-analysis-{test}"));
    Store::open_kind(name, BackendKind::IndexedDb).await.unwrap()
}

async fn value(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

fn json(v: &JsValue) -> Value {
    serde_json::from_str(&String::from(js_sys::JSON::stringify(v).unwrap())).unwrap()
}

async fn ok(what: &str, p: Promise) -> JsValue {
    value(p).await.unwrap_or_else(|e| panic!("{what}: rejected with {e:?}"))
}

async fn rejected_code(what: &str, p: Promise) -> String {
    let e = value(p).await.err().unwrap_or_else(|| panic!("{what}: resolved, expected a rejection"));
    assert!(e.is_instance_of::<js_sys::Error>(), "{what}: not an Error");
    Reflect::get(&e, &"code".into()).unwrap().as_string().unwrap_or_default()
}

fn js(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

async fn import(store: &Store, tar: &[u8]) {
    ok("import", store.import(Uint8Array::from(tar).into(), JsValue::UNDEFINED)).await;
}

/// dive's score as written, parsed by Rust's correctly rounded parser.
fn dive_score(text: &str) -> f64 {
    let at = text.find("\"efficiencyScore\":").unwrap() + "\"efficiencyScore\":".len();
    let rest = text[at..].trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c))).unwrap();
    rest[..end].parse().unwrap()
}

#[wasm_bindgen_test]
async fn dive_test_image_equals_dives_answer() {
    let store = open("dive").await;
    import(&store, DIVE_TEST_IMAGE).await;
    let want: Value = serde_json::from_str(DIVE_TEST_ANSWER).unwrap();
    let got = ok("efficiency", store.efficiency("dive-test:latest".into(), JsValue::UNDEFINED)).await;
    let score = Reflect::get(&got, &"efficiencyScore".into()).unwrap().as_f64().unwrap();
    assert_eq!(score, dive_score(DIVE_TEST_ANSWER), "efficiencyScore");
    let got = json(&got);
    assert_eq!(got["sizeBytes"], want["image"]["sizeBytes"]);
    assert_eq!(got["inefficientBytes"], want["image"]["inefficientBytes"]);
    let wasted: Vec<Value> = got["wasted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| serde_json::json!({"count": w["count"], "sizeBytes": w["sizeBytes"], "file": w["path"]}))
        .collect();
    assert_eq!(Value::Array(wasted), want["image"]["fileReference"]);
    let layers = want["layer"].as_array().unwrap();
    assert_eq!(got["layers"].as_array().unwrap().len(), layers.len());
    for (ours, theirs) in got["layers"].as_array().unwrap().iter().zip(layers) {
        assert_eq!(ours["digestId"], theirs["digestId"]);
        assert_eq!(ours["command"], theirs["command"]);
        assert_eq!(ours["sizeBytes"], theirs["sizeBytes"]);
    }
    // dive's default CI rules pass on its own test image... except the user-wasted ratio.
    let rules: Vec<(String, Value)> = got["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r["pass"].clone()))
        .collect();
    assert_eq!(rules[0], ("lowestEfficiency".to_string(), Value::Bool(true)));
    assert_eq!(rules[1], ("highestWastedBytes".to_string(), Value::Null));
    assert_eq!(rules[2], ("highestUserWastedPercent".to_string(), Value::Bool(false)));
    assert_eq!(got["pass"], Value::Bool(false));
    // Limits as numbers or strings.
    let relaxed =
        js(r#"{"lowestEfficiency": 0.5, "highestWastedBytes": "1MB", "highestUserWastedPercent": "disabled"}"#);
    let got = json(&ok("efficiency rules", store.efficiency("dive-test:latest".into(), relaxed)).await);
    assert_eq!(got["pass"], Value::Bool(true), "{}", got["rules"]);
    assert_eq!(
        rejected_code("bad rule", store.efficiency("dive-test:latest".into(), js(r#"{"lowestEfficiency": true}"#)))
            .await,
        "invalid_argument"
    );

    // Its layer changes: `RUN chmod +x /root/saved.txt` modifies one file.
    let changes = json(&ok("layerChanges", store.layer_changes("dive-test:latest".into())).await);
    let last = &changes[13]["changes"];
    assert_eq!(last.as_array().unwrap().len(), 1, "{last}");
    assert_eq!(last[0]["path"], "/root/saved.txt");
    assert_eq!(last[0]["change"], "modified");
    assert_eq!(last[0]["sizeDelta"], 0);
    store.close();
}

#[wasm_bindgen_test]
async fn basic_system_df_diff_and_search() {
    let store = open("basic").await;
    import(&store, BASIC).await;
    let want: Value = serde_json::from_str(BASIC_DF).unwrap();
    let got = json(&ok("systemDf", store.system_df()).await);
    assert_eq!(got["LayersSize"], want["LayersSize"]);
    assert_same_list("systemDf Images", &got["Images"], &want["Images"]);

    let diff = json(&ok("diffImages", store.diff_images("local/demo:1.0".into(), "local/edge:latest".into())).await);
    assert_eq!(diff["sharedLayers"].as_array().unwrap().len(), 4);
    assert!(diff["removed"].as_array().unwrap().iter().any(|f| f["path"] == "/etc/hello.txt"), "{diff}");
    assert!(diff["added"].as_array().unwrap().iter().any(|f| f["path"] == "/data/blob.bin"), "{diff}");

    // The index brought up to date ahead of the search: every layer of the import worked out
    // once (basic's images share some), nothing left for a second call or for the search.
    let update = json(&ok("updateSearchIndex", store.update_search_index()).await);
    assert!(update["added"].as_u64().unwrap() > 0, "{update}");
    assert_eq!(update["skipped"], Value::Array(vec![]), "{update}");
    let again = json(&ok("updateSearchIndex again", store.update_search_index()).await);
    assert_eq!((again["added"].as_u64(), again["removed"].as_u64()), (Some(0), Some(0)), "{again}");

    let found = json(&ok("findFiles", store.find_files("**/*.bin".into(), js(r#"{"change": "added"}"#))).await);
    let found = found.as_array().unwrap();
    assert!(!found.is_empty());
    assert!(found.iter().all(|f| f["path"] == "/data/blob.bin" && f["change"] == "added" && f["layer"] == 6));
    assert!(found.iter().any(|f| f["repoTags"].as_array().unwrap().contains(&Value::from("local/edge:latest"))));
    assert_eq!(
        rejected_code("bad change", store.find_files("x".into(), js(r#"{"change": "gone"}"#))).await,
        "invalid_argument"
    );
    assert_eq!(rejected_code("missing image", store.layer_changes("no/such".into())).await, "not_found");
    store.close();
}

#[wasm_bindgen_test]
async fn containerd_images_largest_files_and_a_search_index_that_survives_reopening() {
    let name = support::unique_name("imagestore-analysis-ctrd");
    let store = Store::open_kind(name.clone(), BackendKind::IndexedDb).await.unwrap();
    import(&store, BASIC_CONTAINERD_ROOT).await;
    // A containerd-only image, by namespace and name: dive's numbers for edge.
    let edge = js(r#"{"namespace": "default", "name": "docker.io/local/edge:latest"}"#);
    let want: Value = serde_json::from_str(EDGE_DIVE).unwrap();
    let got = ok("efficiency (containerd)", store.efficiency(edge.clone(), JsValue::UNDEFINED)).await;
    let score = Reflect::get(&got, &"efficiencyScore".into()).unwrap().as_f64().unwrap();
    assert_eq!(score, dive_score(EDGE_DIVE));
    let got = json(&got);
    assert_eq!(got["sizeBytes"], want["image"]["sizeBytes"]);
    assert_eq!(got["inefficientBytes"], want["image"]["inefficientBytes"]);

    let largest = json(&ok("largestFiles", store.largest_files(edge.clone(), js(r#"{"limit": 3}"#))).await);
    let largest = largest.as_array().unwrap();
    assert_eq!(largest.len(), 3);
    assert!(largest.windows(2).all(|w| w[0]["size"].as_i64() >= w[1]["size"].as_i64()));
    let stored = json(&ok("storeLargestFiles", store.store_largest_files(JsValue::UNDEFINED)).await);
    let blob = stored.as_array().unwrap().iter().find(|f| f["path"] == "/data/blob.bin").expect("edge's blob");
    assert!(blob["images"].as_array().unwrap().iter().any(|o| o["namespace"] == "team"), "{blob}");

    let found = json(&ok("findFiles", store.find_files("/data/blob.bin".into(), JsValue::UNDEFINED)).await);
    assert!(found.as_array().unwrap().iter().any(|f| f["namespace"] == "default"), "{found}");
    store.close();
    // Reopened: the same answer, from the persisted index.
    let again = Store::open_kind(name, BackendKind::IndexedDb).await.unwrap();
    let found_again = json(&ok("findFiles again", again.find_files("/data/blob.bin".into(), JsValue::UNDEFINED)).await);
    assert_eq!(found_again, found);

    // Wrong arguments are invalid_argument rejections, never traps.
    assert_eq!(rejected_code("number image", again.layer_changes(JsValue::from(42))).await, "invalid_argument");
    assert_eq!(
        rejected_code("half a ref", again.efficiency(js(r#"{"namespace": "default"}"#), JsValue::UNDEFINED)).await,
        "invalid_argument"
    );
    assert_eq!(
        rejected_code("number pattern", again.find_files(JsValue::from(1), JsValue::UNDEFINED)).await,
        "invalid_argument"
    );
    assert_eq!(rejected_code("bad limit", again.largest_files(edge, js(r#"{"limit": -1}"#))).await, "invalid_argument");
    assert_eq!(rejected_code("null diff", again.diff_images(JsValue::NULL, "x".into())).await, "invalid_argument");
    again.close();
}

/// The search index follows imports and deletes and survives reopening (a page reload): import,
/// search, rmi, reopen, search — the removed image's files are gone from the answer, the
/// others' are all there, and nothing was skipped.
#[wasm_bindgen_test]
async fn the_search_index_follows_import_and_rmi_across_a_reopen() {
    let name = support::unique_name("imagestore-analysis-fresh");
    let store = Store::open_kind(name.clone(), BackendKind::IndexedDb).await.unwrap();
    import(&store, BASIC).await;
    let before = ok("findFiles", store.find_files("**".into(), JsValue::UNDEFINED)).await;
    let skipped = Reflect::get(&before, &"skipped".into()).unwrap();
    assert_eq!(json(&skipped), serde_json::json!([]), "every layer searched");
    let before = json(&before);
    // Each hit is a whole `FoundFile` (the binding expands the core's grouped hits in JS).
    for hit in before.as_array().unwrap() {
        let keys: Vec<&str> = hit.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["image", "repoTags", "layer", "diffId", "path", "change", "type", "size", "mode"], "{hit}");
    }
    let edge_id = json(&ok("inspect", store.inspect_image("local/edge:latest".into())).await)["Id"].clone();
    assert!(before.as_array().unwrap().iter().any(|h| h["image"] == edge_id), "edge's files are found");
    ok("rmi", store.remove_image("local/edge:latest".into(), JsValue::UNDEFINED)).await;
    ok("rmi", store.remove_image("127.0.0.1:5000/team/edge:v2".into(), JsValue::UNDEFINED)).await;
    store.close();
    let again = Store::open_kind(name, BackendKind::IndexedDb).await.unwrap();
    let after = json(&ok("findFiles after reopen", again.find_files("**".into(), JsValue::UNDEFINED)).await);
    // What is left: the images rmi kept (edge and the parents it pruned are gone).
    let held = json(&ok("listImages", again.list_images(js(r#"{"all": true}"#))).await);
    let held: Vec<&Value> = held.as_array().unwrap().iter().map(|i| &i["Id"]).collect();
    assert!(!held.contains(&&edge_id));
    let expected: Vec<&Value> = before.as_array().unwrap().iter().filter(|h| held.contains(&&h["image"])).collect();
    let got: Vec<&Value> = after.as_array().unwrap().iter().collect();
    assert!(!expected.is_empty() && expected.len() < before.as_array().unwrap().len());
    if got != expected {
        panic!("after rmi and reopen: {} hits, expected {}", got.len(), expected.len());
    }
    again.close();
}
