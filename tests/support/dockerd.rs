//! The comparison with dockerd 20.10, written once: what real dockerd answered about a real
//! store (a fixture's `expected/api`) against what this store answers. The native tests call
//! it on the façade, the wasm tests on the JS-facing `Store` (in Node and in Chromium); each
//! side only says how to ask ([`EngineApi`]) and where dockerd's answers are
//! ([`DockerdAnswers`]).
#![allow(async_fn_in_trait)]

use super::list_compare::assert_same_list;
use serde_json::{json, Value};

/// A rejected call: the error's `code` (as JavaScript sees it) and message.
#[derive(Debug)]
pub struct Rejection {
    pub code: String,
    pub message: String,
}

/// The store under test, asked as the Engine API is asked.
pub trait EngineApi {
    /// `listImages(options)` with the options as JSON (`{"all":true,"filters":{…}}`); `None`
    /// calls it without options.
    async fn list_images(&self, options: Option<&str>) -> Result<Value, Rejection>;
    async fn inspect_image(&self, name: &str) -> Result<Value, Rejection>;
    async fn image_history(&self, name: &str) -> Result<Value, Rejection>;
    /// The full ID a partial one stands for, as a JSON string.
    async fn search(&self, partial: &str) -> Result<Value, Rejection>;
}

/// dockerd's answers about one store: `images*.json`, `images-filters.tsv`,
/// `inspect/<hex>.json` and `history/<hex>.json` of an `expected/api` folder.
pub trait DockerdAnswers {
    /// What the fixture is called in failure messages.
    fn name(&self) -> &str;
    /// A file of `expected/api`, as text.
    fn text(&self, path: &str) -> String;
    /// The hex IDs of the images dockerd was asked to inspect (all of them).
    fn inspected_ids(&self) -> Vec<String>;
    /// `GraphDriver.Name` as this store must answer it, where dockerd's cannot be compared:
    /// the docker20 fixtures' dockerd ran with `vfs`; the docker-explorer roots' dockerd ran
    /// with `vfs` over a copy of their `image/<driver>/`, whose name this store answers.
    fn driver(&self) -> &str;

    fn json(&self, path: &str) -> Value {
        serde_json::from_str(&self.text(path)).unwrap_or_else(|e| panic!("{}: expected/api/{path}: {e}", self.name()))
    }
}

/// The `GraphDriver.Name` a docker-explorer root's store answers (see [`DockerdAnswers::driver`]).
pub const DOCKER_EXPLORER_ROOTS: [(&str, &str); 4] =
    [("aufs.v2", "aufs"), ("overlay.v2", "overlay"), ("overlay2.v2", "overlay2"), ("vols.v2", "overlay2")];

/// Every object key with its path, in document order (`Value` equality ignores key order;
/// dockerd's order matters to people reading raw JSON).
pub fn key_paths(v: &Value) -> Vec<String> {
    fn walk(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let path = format!("{at}/{k}");
                    out.push(path.clone());
                    walk(child, &path, out);
                }
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, item)| walk(item, &format!("{at}/{i}"), out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}

fn ok(what: &str, answer: Result<Value, Rejection>) -> Value {
    answer.unwrap_or_else(|e| panic!("{what}: rejected with {} {}", e.code, e.message))
}

/// Compares an inspect answer with dockerd's, fields and their order, less what this store
/// cannot know: the driver's paths (`Data`, answered as null) and the driver name.
pub fn assert_same_inspect(what: &str, got: Value, mut want: Value, driver: &str) {
    want["GraphDriver"]["Data"] = Value::Null;
    want["GraphDriver"]["Name"] = json!(driver);
    assert_eq!(key_paths(&got), key_paths(&want), "{what}: field order");
    assert_eq!(got, want, "{what}");
}

/// Everything a fixture's answers cover: the lists (with and without options, summaries in
/// dockerd's field order), every filter row, inspect and history of every image, and each
/// image found by its short ID and by each of its names. Returns how many answers were
/// compared.
pub async fn check_answers(store: &impl EngineApi, dockerd: &impl DockerdAnswers) -> usize {
    let name = dockerd.name();
    let at = |what: &str| format!("{name}: {what}");
    let list = |options: &'static str| async move { ok(&at(options), store.list_images(Some(options)).await) };
    let images_all = dockerd.json("images-all.json");
    assert_same_list(&at("images"), &list("{}").await, &dockerd.json("images.json"));
    let no_options = ok(&at("listImages()"), store.list_images(None).await);
    assert_same_list(&at("images (no options)"), &no_options, &dockerd.json("images.json"));
    let got_all = list(r#"{"all":true}"#).await;
    assert_same_list(&at("images-all"), &got_all, &images_all);
    for want in images_all.as_array().unwrap() {
        let got = got_all.as_array().unwrap().iter().find(|r| r["Id"] == want["Id"]).unwrap();
        assert_eq!(key_paths(got), key_paths(want), "{}", at(&format!("summary {} field order", want["Id"])));
    }
    assert_same_list(&at("images-digests"), &list(r#"{"digests":true}"#).await, &dockerd.json("images-digests.json"));
    let mut n = 4;
    // Asked with `all=1`; an empty answer is a row dockerd answered with an error
    // (scale200's `before` a tag it does not have: "No such image: acme/demo:1.0").
    for line in dockerd.text("images-filters.tsv").lines().filter(|l| !l.is_empty()) {
        let (filters, answer) = line.split_once('\t').unwrap();
        let options = format!(r#"{{"all":true,"filters":{filters}}}"#);
        let got = store.list_images(Some(&options)).await;
        if answer.is_empty() {
            let e = got.expect_err(&at(filters));
            assert_eq!(e.code, "not_found", "{}: {}", at(filters), e.message);
            assert!(e.message.starts_with("No such image: "), "{}: {}", at(filters), e.message);
        } else {
            let want = serde_json::from_str(answer).unwrap();
            assert_same_list(&at(filters), &ok(&at(filters), got), &want);
        }
        n += 1;
    }
    let ids = dockerd.inspected_ids();
    assert_eq!(ids.len(), images_all.as_array().unwrap().len(), "{name}: an inspect answer per image");
    for hex in &ids {
        let got = ok(&at(hex), store.inspect_image(hex).await);
        let want = dockerd.json(&format!("inspect/{hex}.json"));
        assert_same_inspect(&at(&format!("inspect {hex}")), got, want, dockerd.driver());
        let got = ok(&at(hex), store.image_history(hex).await);
        assert_eq!(got, dockerd.json(&format!("history/{hex}.json")), "{}", at(&format!("history {hex}")));
        n += 2;
    }
    // Names as the docker CLI resolves them: the short ID (docker's 12 hex digits), every tag
    // and every digest reference dockerd listed for the image.
    for row in images_all.as_array().unwrap() {
        let id = row["Id"].as_str().unwrap();
        assert_eq!(ok(&at(id), store.search(&id[7..19]).await), id, "{}", at("search by short ID"));
        let names = row["RepoTags"].as_array().into_iter().chain(row["RepoDigests"].as_array()).flatten();
        for image_name in names.map(|v| v.as_str().unwrap()).filter(|n| !n.starts_with("<none>")) {
            assert_eq!(ok(&at(image_name), store.inspect_image(image_name).await)["Id"], id, "{}", at(image_name));
            n += 1;
        }
        n += 1;
    }
    n
}
