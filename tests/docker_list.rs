//! `GET /images/json` as text: byte for byte what dockerd 20.10 sent for the fixtures (each
//! row's bytes; only the order of images created in the same second is dockerd's map order),
//! and the remembered answer: the same text while the store is unchanged, a new one the moment
//! it changes (a tag, an rmi, an import, another writer's commit), never a stale one.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use futures::executor::block_on;
use imagestore::docker::list::Filters;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;
use std::rc::Rc;
use support::docker_fixture::{read_fixture, store_from_fixture};
use support::dockerd::DOCKER_EXPLORER_ROOTS;

const FIX: &str = "tests/fixtures";

/// The top-level objects of a JSON list's text, as text.
fn row_texts(list: &str) -> Vec<&str> {
    let bytes = list.as_bytes();
    assert_eq!((bytes.first(), bytes.last()), (Some(&b'['), Some(&b']')), "a JSON list: {list}");
    let (mut rows, mut depth, mut in_string, mut escaped, mut start) = (Vec::new(), 0, false, false, 0);
    for (i, &b) in bytes.iter().enumerate().take(bytes.len() - 1).skip(1) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    rows.push(&list[start..=i]);
                }
            }
            _ => {}
        }
    }
    rows
}

/// Rows grouped by `Created` (in list order), each group sorted: dockerd's order among images
/// created in the same second is a Go map's.
fn runs(list: &str) -> Vec<(i64, Vec<String>)> {
    let mut out: Vec<(i64, Vec<String>)> = Vec::new();
    for row in row_texts(list) {
        let created = serde_json::from_str::<serde_json::Value>(row).unwrap()["Created"].as_i64().unwrap();
        match out.last_mut() {
            Some((c, rows)) if *c == created => rows.push(row.to_string()),
            _ => out.push((created, vec![row.to_string()])),
        }
    }
    for (_, rows) in &mut out {
        rows.sort();
    }
    out
}

/// The columns answer (what `listImages` builds its objects from) holds the same rows, in
/// the same order, as the text answer.
fn assert_same_columns(what: &str, store: &Store<MemoryBackend>, all: bool, filters: &Filters) {
    let text = store.list_images_json(all, filters).unwrap();
    let columns = store.list_images_columns(all, filters).unwrap();
    let want: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(columns.to_value(), want, "{what}: the columns' rows differ from the text's");
}

fn assert_same_text(what: &str, got: &str, want: &str) {
    let want = want.strip_suffix('\n').unwrap_or(want);
    if want == "[]" || want == "null" {
        assert_eq!(got, "[]", "{what}");
        return;
    }
    assert_eq!(runs(got), runs(want), "{what}: the rows' bytes differ from dockerd's");
}

fn filters(json: &str) -> Filters {
    serde_json::from_str(json).unwrap()
}

/// Every list answer dockerd gave for one fixture: `images`, `images -a`, `--digests`, and each
/// filter row (asked with `all=1`).
fn check_texts(store: &Store<MemoryBackend>, api: &str) -> usize {
    let text = |name: &str| String::from_utf8(read_fixture(&format!("{FIX}/{api}/{name}"))).unwrap();
    let none = Filters::new();
    assert_same_text(&format!("{api} images"), &store.list_images_json(false, &none).unwrap(), &text("images.json"));
    assert_same_text(
        &format!("{api} images -a"),
        &store.list_images_json(true, &none).unwrap(),
        &text("images-all.json"),
    );
    // `digests` changes nothing in the API's answer.
    assert_same_text(
        &format!("{api} digests"),
        &store.list_images_json(false, &none).unwrap(),
        &text("images-digests.json"),
    );
    assert_same_columns(&format!("{api} images"), store, false, &none);
    assert_same_columns(&format!("{api} images -a"), store, true, &none);
    let mut n = 3;
    for line in text("images-filters.tsv").lines().filter(|l| !l.is_empty()) {
        let (f, answer) = line.split_once('\t').unwrap();
        let got = store.list_images_json(true, &filters(f));
        if answer.is_empty() {
            assert!(got.is_err(), "{api} {f}: dockerd refused it");
            assert!(store.list_images_columns(true, &filters(f)).is_err(), "{api} {f}: refused as columns too");
        } else {
            assert_same_text(&format!("{api} {f}"), &got.unwrap(), answer);
            assert_same_columns(&format!("{api} {f}"), store, true, &filters(f));
        }
        n += 1;
    }
    n
}

#[test]
fn list_text_is_dockerds_bytes() {
    let mut n = 0;
    for name in ["basic", "debian", "scale200"] {
        let store = block_on(store_from_fixture(&format!("{FIX}/docker20/{name}/image-store.tar")));
        n += check_texts(&store, &format!("docker20/{name}/expected/api"));
    }
    for (name, _) in DOCKER_EXPLORER_ROOTS {
        let store = block_on(store_from_fixture(&format!("{FIX}/wild/docker-explorer/test_data/{name}.tgz")));
        n += check_texts(&store, &format!("wild/docker-explorer/expected/{name}/api"));
    }
    assert!(n > 7 * 3 + 20, "only {n} answers compared");
}

fn reopened(store: &Store<MemoryBackend>) -> Store<MemoryBackend> {
    block_on(Store::open(store.backend().clone())).unwrap()
}

/// The list as a fresh store over the same records answers it (nothing remembered, nothing
/// worked out before).
fn fresh_list(store: &Store<MemoryBackend>, all: bool) -> String {
    reopened(store).list_images_json(all, &Filters::new()).unwrap().to_string()
}

#[test]
fn the_remembered_list_is_the_same_answer_until_the_store_changes() {
    let mut store = block_on(store_from_fixture(&format!("{FIX}/docker20/basic/image-store.tar")));
    let none = Filters::new();
    let first = store.list_images_json(true, &none).unwrap();
    assert!(Rc::ptr_eq(&first, &store.list_images_json(true, &none).unwrap()), "asked again: remembered");
    let heads = store.list_images_json(false, &none).unwrap();
    let local = filters(r#"{"reference":["local/*"]}"#);
    let filtered = store.list_images_json(true, &local).unwrap();
    assert!(Rc::ptr_eq(&first, &store.list_images_json(true, &none).unwrap()), "several answers are remembered");
    assert!(Rc::ptr_eq(&heads, &store.list_images_json(false, &none).unwrap()));
    assert!(Rc::ptr_eq(&filtered, &store.list_images_json(true, &local).unwrap()));
    // Typing a filter asks one new query per keystroke: the plain lists stay remembered.
    for typed in ["l", "lo", "loc", "loca", "local", "local/"] {
        store.list_images_json(true, &filters(&format!(r#"{{"reference":["{typed}*"]}}"#))).unwrap();
    }
    assert!(Rc::ptr_eq(&first, &store.list_images_json(true, &none).unwrap()));
    assert!(Rc::ptr_eq(&heads, &store.list_images_json(false, &none).unwrap()));

    // A tag: the very next answer has it (and equals a fresh store's).
    block_on(store.tag_image("local/edge", "local/renamed", "v9")).unwrap();
    let tagged = store.list_images_json(true, &none).unwrap();
    assert!(tagged.contains("\"local/renamed:v9\"") && !first.contains("local/renamed"));
    assert_eq!(*tagged, fresh_list(&store, true));
    assert!(store.list_images_json(true, &local).unwrap().contains("local/renamed:v9"), "filtered answers too");

    // An rmi that deletes images and layers: sizes and rows as a fresh store has them.
    let removed = block_on(store.remove_image("local/dangle:1", false, false)).unwrap();
    assert!(removed.as_array().unwrap().iter().any(|i| i.get("Deleted").is_some()), "{removed}");
    let after = store.list_images_json(true, &none).unwrap();
    assert_ne!(*after, *tagged);
    assert_eq!(*after, fresh_list(&store, true));
    assert_eq!(*store.list_images_json(false, &none).unwrap(), fresh_list(&store, false));

    // A dry run changes nothing: still the remembered answer.
    store.remove_image_dry_run("local/edge", true, false).unwrap();
    assert!(Rc::ptr_eq(&after, &store.list_images_json(true, &none).unwrap()));
}

#[test]
fn another_writers_commit_changes_the_list_at_the_next_read() {
    block_on(async {
        let backend = MemoryBackend::new();
        let mut a = Store::open(backend.clone()).await.unwrap();
        let tar = read_fixture(&format!("{FIX}/docker20/basic/image-store.tar"));
        a.import(futures::stream::iter(vec![Ok(tar)]), Default::default()).await.unwrap();
        let mut b = Store::open(backend.clone()).await.unwrap();
        let none = Filters::new();
        let before = b.list_images_json(true, &none).unwrap();
        // Another tab (A) tags and imports; B's next read syncs first, as every binding read does.
        a.tag_image("local/edge", "other/tab", "1").await.unwrap();
        b.sync().await.unwrap();
        let after = b.list_images_json(true, &none).unwrap();
        assert!(!before.contains("other/tab:1") && after.contains("\"other/tab:1\""));
        assert_eq!(*after, *a.list_images_json(true, &none).unwrap());
        // Nothing committed since: B's answer stays remembered through its syncs.
        b.sync().await.unwrap();
        assert!(Rc::ptr_eq(&after, &b.list_images_json(true, &none).unwrap()));
    });
}

#[test]
fn chain_sizes_stay_right_through_removals_and_imports() {
    // scale200: deep chains of images on shared layers; remove heads one after the other and
    // import the store again, comparing with a fresh store each time.
    let mut store = block_on(store_from_fixture(&format!("{FIX}/docker20/scale200/image-store.tar")));
    let none = Filters::new();
    let listed: serde_json::Value = serde_json::from_str(&store.list_images_json(false, &none).unwrap()).unwrap();
    let tags: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["RepoTags"].as_array()?.first()?.as_str().map(str::to_string))
        .filter(|t| !t.starts_with("<none>"))
        .take(6)
        .collect();
    assert!(tags.len() >= 3, "{tags:?}");
    for tag in &tags {
        store.list_images_json(true, &none).unwrap(); // sizes worked out and remembered
        block_on(store.remove_image(tag, true, false)).unwrap();
        assert_eq!(*store.list_images_json(true, &none).unwrap(), fresh_list(&store, true), "after rmi {tag}");
    }
    let tar = read_fixture(&format!("{FIX}/docker20/scale200/image-store.tar"));
    block_on(store.import(futures::stream::iter(vec![Ok(tar)]), Default::default())).unwrap();
    assert_eq!(*store.list_images_json(true, &none).unwrap(), fresh_list(&store, true), "after the import");
}
