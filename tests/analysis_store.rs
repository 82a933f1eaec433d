#![cfg(not(target_arch = "wasm32"))]
//! The store-wide analyses on real fixtures: `system df` against dockerd's `GET /system/df`
//! (basic, debian, scale200), image against image, and file search across the store staying
//! right after deletes and imports.

mod support;

use futures::executor::block_on;
use imagestore::analysis::changes::ChangeKind;
use imagestore::import::ImportOptions;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;
use serde_json::Value;
use std::collections::BTreeSet;
use support::docker_fixture::{chunked, read_fixture, store_from_fixture};
use support::list_compare::assert_same_list;

fn expected(path: &str) -> Value {
    serde_json::from_slice(&read_fixture(path)).unwrap()
}

fn check_system_df(fixture: &str) {
    let store = block_on(store_from_fixture(&format!("tests/fixtures/docker20/{fixture}/image-store.tar")));
    let got = store.system_df().unwrap();
    let want = expected(&format!("tests/fixtures/docker20/{fixture}/expected/api/system-df.json"));
    assert_eq!(got["LayersSize"], want["LayersSize"], "{fixture}: LayersSize");
    for key in ["Containers", "Volumes", "BuildCache", "BuilderSize"] {
        assert_eq!(got[key], want[key], "{fixture}: {key}");
    }
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&got), keys(&want), "{fixture}: fields and their order");
    assert_same_list(&format!("{fixture}: system df Images"), &got["Images"], &want["Images"]);
}

#[test]
fn system_df_equals_dockerd_basic() {
    check_system_df("basic");
}

#[test]
fn system_df_equals_dockerd_debian() {
    check_system_df("debian");
}

#[test]
fn system_df_equals_dockerd_scale200() {
    check_system_df("scale200");
}

fn basic() -> Store<MemoryBackend> {
    block_on(store_from_fixture("tests/fixtures/docker20/basic/image-store.tar"))
}

fn paths(v: &[imagestore::analysis::diff::DiffFile]) -> BTreeSet<String> {
    v.iter().map(|f| f.path.clone()).collect()
}

#[test]
fn edge_against_demo_is_what_edges_own_layers_changed() {
    let store = basic();
    let d = block_on(store.diff_images("local/demo:1.0", "local/edge:latest")).unwrap();
    // edge is built on demo: they share demo's four layers.
    let demo = store.inspect_image("local/demo:1.0").unwrap();
    let demo_layers: Vec<&str> =
        demo["RootFS"]["Layers"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    let shared: Vec<String> = d.shared_layers.iter().map(|l| l.to_string()).collect();
    assert_eq!(shared, demo_layers);
    // What edge's own layers did, net of each other, is the diff.
    let changes = block_on(store.layer_changes("local/edge:latest")).unwrap();
    let mut added = BTreeSet::new();
    let mut removed = BTreeSet::new();
    for layer in &changes[demo_layers.len()..] {
        for c in &layer.changes {
            match c.change {
                ChangeKind::Added => {
                    if !removed.remove(&c.path) {
                        added.insert(c.path.clone());
                    }
                }
                ChangeKind::Removed => {
                    if !added.remove(&c.path) {
                        removed.insert(c.path.clone());
                    }
                }
                ChangeKind::Modified => {}
            }
        }
    }
    assert_eq!(paths(&d.files.added), added);
    assert_eq!(paths(&d.files.removed), removed);
    assert!(d.files.removed.iter().any(|f| f.path == "/etc/hello.txt"), "{:?}", d.files.removed);
    assert!(d.files.added.iter().any(|f| f.path == "/data/blob.bin" && f.size == 1 << 20));
    // Reversed, additions become removals.
    let back = block_on(store.diff_images("local/edge:latest", "local/demo:1.0")).unwrap();
    assert_eq!(paths(&back.files.removed), paths(&d.files.added));
    assert_eq!(paths(&back.files.added), paths(&d.files.removed));
    // An image against itself: nothing.
    let same = block_on(store.diff_images("local/edge:latest", "local/edge:latest")).unwrap();
    assert!(same.files.added.is_empty() && same.files.removed.is_empty() && same.files.modified.is_empty());
    assert_eq!(same.shared_layers.len(), changes.len());
}

#[test]
fn edge_layer_changes() {
    let store = basic();
    let layers = block_on(store.layer_changes("local/edge:latest")).unwrap();
    let rm = &layers[4];
    assert_eq!(rm.command, "rm /etc/hello.txt && rm -r /app/built.txt");
    let removed: Vec<(&str, i64)> = rm
        .changes
        .iter()
        .filter(|c| c.change == ChangeKind::Removed)
        .map(|c| (c.path.as_str(), c.size_delta))
        .collect();
    assert_eq!(removed, [("/app/built.txt", -6), ("/etc/hello.txt", -6)]);
    assert_eq!(rm.whiteouts, 2);
    // The sum of all deltas is the merged tree's size.
    let merged = block_on(store.merged_files("local/edge:latest")).unwrap();
    let total: i64 = layers.iter().flat_map(|l| &l.changes).map(|c| c.size_delta).sum();
    assert_eq!(total, merged.values().map(|f| f.size).sum::<i64>());
    assert_eq!(merged["/data/blob.bin"].layer, 6);
    assert!(!merged.contains_key("/etc/hello.txt"));
}

#[test]
fn find_files_across_the_store_follows_deletes_and_imports() {
    let mut store = basic();
    let hits = block_on(store.find_files("built.txt", None)).unwrap();
    // Added by demo's RUN layer, removed by edge's rm layer: every image with those layers.
    let edge = store.search("4afb125595bd").unwrap();
    let by_edge: Vec<(usize, ChangeKind)> =
        hits.iter().filter(|h| h.image == edge).map(|h| (h.layer, h.change)).collect();
    assert_eq!(by_edge, [(3, ChangeKind::Added), (4, ChangeKind::Removed)]);
    assert!(hits.iter().any(|h| h.repo_tags.contains(&"local/demo:1.0".to_string())));
    let globbed = block_on(store.find_files("/data/**", Some(ChangeKind::Added))).unwrap();
    assert!(globbed.iter().all(|h| h.path.starts_with("/data") && h.change == ChangeKind::Added));
    assert!(globbed.iter().any(|h| h.path == "/data/blob.bin" && h.size == 1 << 20));
    let pem = block_on(store.find_files("**/*.nothing", None)).unwrap();
    assert!(pem.is_empty());

    // Delete edge (both tags): its hits go.
    block_on(store.remove_image("local/edge:latest", false, false)).unwrap();
    block_on(store.remove_image("127.0.0.1:5000/team/edge:v2", false, false)).unwrap();
    let after = block_on(store.find_files("built.txt", None)).unwrap();
    assert!(after.iter().all(|h| h.image != edge), "{after:?}");
    assert!(!after.iter().any(|h| h.change == ChangeKind::Removed));
    assert!(block_on(store.find_files("/data/blob.bin", None)).unwrap().is_empty());

    // Import dive's test image: its files are found.
    let bytes = read_fixture("tests/fixtures/wild/dive/.data/test-docker-image.tar");
    block_on(store.import(chunked(&bytes, 1 << 20), ImportOptions::default())).unwrap();
    let saved = block_on(store.find_files("/root/saved.txt", None)).unwrap();
    let kinds: Vec<(usize, ChangeKind)> = saved.iter().map(|h| (h.layer, h.change)).collect();
    assert_eq!(kinds[0], (7, ChangeKind::Added));
    assert!(kinds.contains(&(13, ChangeKind::Modified)), "chmod +x is a modification: {kinds:?}");
    assert!(saved.iter().all(|h| h.repo_tags == ["dive-test:latest"]));
}

#[test]
fn bad_patterns_and_missing_images_are_clear_errors() {
    let store = basic();
    let e = block_on(store.find_files("", None)).unwrap_err();
    assert_eq!(e.code, imagestore::ErrorCode::InvalidArgument);
    let e = block_on(store.layer_changes("no/such:image")).unwrap_err();
    assert_eq!(e.code, imagestore::ErrorCode::NotFound);
    let e = block_on(store.diff_images("local/edge:latest", "nope")).unwrap_err();
    assert_eq!(e.code, imagestore::ErrorCode::NotFound);
    let rules = imagestore::analysis::dive::CiRules { lowest_efficiency: Some("2".into()), ..Default::default() };
    let e = block_on(store.efficiency("local/edge:latest", &rules)).unwrap_err();
    assert_eq!(e.code, imagestore::ErrorCode::InvalidArgument);
    assert!(e.message.contains("lowestEfficiency"), "{}", e.message);
}

#[test]
fn dive_ci_rules_with_defaults_and_limits() {
    let store = basic();
    let eff = block_on(store.efficiency("local/edge:latest", &Default::default())).unwrap();
    let rules: Vec<(&str, &str, Option<bool>)> = eff.rules.iter().map(|r| (r.name, r.limit.as_str(), r.pass)).collect();
    assert_eq!(
        rules,
        [
            ("lowestEfficiency", "0.9", Some(true)),
            ("highestWastedBytes", "disabled", None),
            ("highestUserWastedPercent", "0.1", Some(true))
        ]
    );
    let strict = imagestore::analysis::dive::CiRules {
        lowest_efficiency: Some("0.99999999".into()),
        highest_wasted_bytes: Some("10B".into()),
        highest_user_wasted_percent: Some("0.000001".into()),
    };
    let eff = block_on(store.efficiency("local/edge:latest", &strict)).unwrap();
    assert!(!eff.pass);
    assert!(eff.rules.iter().all(|r| r.pass == Some(false)), "{:?}", eff.rules);
    assert_eq!(eff.rules[1].message, "too many bytes wasted (wasted-bytes=12 > threshold=10)");
}
