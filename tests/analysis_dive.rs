#![cfg(not(target_arch = "wasm32"))]
//! Wasted space, efficiency and layer contents against dive 0.13.1's own `--json` answers
//! (`expected/dive/`), field by field, for every image dive analysed: the basic fixture's
//! images loaded from their `docker save` archive and from dockerd's image-store tarball (same
//! images, same answers), and dive's own test images (a Docker 18.09 save and a kaniko
//! tarball). Each layer's change set is checked against dive's file list of the same layer.

mod support;

use futures::executor::block_on;
use imagestore::analysis::changes::ChangeKind;
use imagestore::analysis::dive::CiRules;
use imagestore::import::ImportOptions;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;
use imagestore::store_analysis::ImageRef;
use serde_json::Value;
use std::collections::BTreeSet;
use support::docker_fixture::{chunked, read_fixture, store_from_fixture};

const BASIC: &str = "tests/fixtures/docker20/basic";
const WILD: &str = "tests/fixtures/wild/dive";

fn expected(path: &str) -> Value {
    serde_json::from_slice(&read_fixture(path)).unwrap()
}

/// A memory store with the archive imported through `Store::import` (format from the bytes).
fn store_from_archive(path: &str) -> Store<MemoryBackend> {
    block_on(async {
        let bytes = read_fixture(path);
        let mut store = Store::open(MemoryBackend::new()).await.unwrap();
        let report = store.import(chunked(&bytes, 1 << 20), ImportOptions::default()).await.unwrap();
        assert!(report.images > 0, "{path}: {report:?}");
        store
    })
}

/// dive's score as written, parsed by Rust's correctly rounded parser (serde_json's default
/// float parsing can be one unit in the last place off, and the scores must be equal).
fn efficiency_score_text(path: &str) -> f64 {
    let text = String::from_utf8(read_fixture(path)).unwrap();
    let at = text.find("\"efficiencyScore\":").expect("efficiencyScore") + "\"efficiencyScore\":".len();
    let rest = text[at..].trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c))).unwrap();
    rest[..end].parse().unwrap()
}

/// A memory store with the archive imported into containerd namespace `namespace` (as
/// `ctr -n NS images import` would), or as it comes for `None` (a containerd root keeps its own).
fn containerd_store_from_archive(path: &str, namespace: Option<&str>) -> Store<MemoryBackend> {
    block_on(async {
        let bytes = read_fixture(path);
        let mut store = Store::open(MemoryBackend::new()).await.unwrap();
        let options = ImportOptions { namespace: namespace.map(str::to_string), ..ImportOptions::default() };
        let report = store.import(chunked(&bytes, 1 << 20), options).await.unwrap();
        assert!(report.images > 0, "{path}: {report:?}");
        assert_eq!(store.docker().images.map().count(), 0, "{path}: only the containerd view holds images");
        store
    })
}

/// The names of the images in containerd namespace `ns`.
fn containerd_names(store: &Store<MemoryBackend>, ns: &str) -> Vec<String> {
    let images = block_on(store.containerd().namespace(ns).unwrap().images().list(|_| true)).unwrap();
    images.into_iter().map(|i| i.name).collect()
}

fn ctr(ns: &str, name: &str) -> ImageRef {
    ImageRef::Containerd { namespace: ns.to_string(), name: name.to_string() }
}

/// Compares everything dive says about `image` with what the store computes.
fn check_against_dive(store: &Store<MemoryBackend>, image: impl Into<ImageRef>, dive_json: &str) {
    let image: ImageRef = image.into();
    let want = expected(dive_json);
    let at = format!("{image} ({dive_json})");
    let eff = block_on(store.efficiency(image.clone(), &CiRules::default())).unwrap_or_else(|e| panic!("{at}: {e}"));
    let img = &want["image"];
    assert_eq!(eff.size_bytes, img["sizeBytes"].as_i64().unwrap(), "{at}: sizeBytes");
    assert_eq!(eff.inefficient_bytes, img["inefficientBytes"].as_i64().unwrap(), "{at}: inefficientBytes");
    assert_eq!(eff.efficiency_score, efficiency_score_text(dive_json), "{at}: efficiencyScore");
    let wasted: Vec<(String, u64, i64)> =
        eff.wasted.iter().map(|w| (w.path.clone(), w.count as u64, w.size_bytes)).collect();
    let dive_wasted: Vec<(String, u64, i64)> = img["fileReference"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (r["file"].as_str().unwrap().to_string(), r["count"].as_u64().unwrap(), r["sizeBytes"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(wasted, dive_wasted, "{at}: wasted files (fileReference), in dive's order");

    let layers = want["layer"].as_array().unwrap();
    assert_eq!(eff.layers.len(), layers.len(), "{at}: layer count");
    let lists = block_on(store.dive_file_lists(image.clone())).unwrap();
    let changes = block_on(store.layer_changes(image.clone())).unwrap();
    for (i, dl) in layers.iter().enumerate() {
        let ours = &eff.layers[i];
        let lat = format!("{at} layer {i}");
        assert_eq!(ours.index as u64, dl["index"].as_u64().unwrap(), "{lat}: index");
        assert_eq!(ours.digest_id, dl["digestId"].as_str().unwrap(), "{lat}: digestId");
        assert_eq!(ours.command, dl["command"].as_str().unwrap(), "{lat}: command");
        assert_eq!(ours.size_bytes, dl["sizeBytes"].as_i64().unwrap(), "{lat}: sizeBytes");
        assert_eq!(serde_json::to_value(&lists[i]).unwrap(), dl["fileList"], "{lat}: fileList");

        // The change set accounts for every entry dive lists: a whiteout is a removal of its
        // target, anything else an addition, a modification or an entry that changed nothing.
        let set = &changes[i];
        assert_eq!(set.size_bytes, ours.size_bytes, "{lat}: layerChanges sizeBytes");
        assert_eq!(set.command, ours.command, "{lat}: layerChanges command");
        let entries: Vec<&Value> = dl["fileList"].as_array().unwrap().iter().filter(|f| f["path"] != "").collect();
        let (mut whiteouts, mut others) = (BTreeSet::new(), BTreeSet::new());
        for f in &entries {
            let p = format!("/{}", f["path"].as_str().unwrap());
            let (dir, base) = p.rsplit_once('/').unwrap();
            match base.strip_prefix(".wh.") {
                Some(t) if !t.starts_with(".wh.") => whiteouts.insert(format!("{dir}/{t}")),
                Some(_) => false,
                None => others.insert(p),
            };
        }
        let added_or_modified: BTreeSet<String> =
            set.changes.iter().filter(|c| c.change != ChangeKind::Removed).map(|c| c.path.clone()).collect();
        let removed: BTreeSet<String> =
            set.changes.iter().filter(|c| c.change == ChangeKind::Removed).map(|c| c.path.clone()).collect();
        assert!(added_or_modified.is_subset(&others), "{lat}: {added_or_modified:?} not all in {others:?}");
        assert_eq!(added_or_modified.len() + set.unchanged_entries, others.len(), "{lat}: entries accounted for");
        assert!(whiteouts.is_subset(&removed), "{lat}: whiteouts {whiteouts:?} not all removed ({removed:?})");
        if i == 0 {
            assert_eq!(set.unchanged_entries, 0, "{lat}: the first layer only adds");
        }
    }
}

const BASIC_IMAGES: [(&str, &str); 5] = [
    ("local/base:1", "local_base_1"),
    ("local/committed:1", "local_committed_1"),
    ("local/dangle:1", "local_dangle_1"),
    ("local/demo:1.0", "local_demo_1.0"),
    ("local/edge:latest", "local_edge_latest"),
];

#[test]
fn basic_from_its_docker_save_equals_dive() {
    let store = store_from_archive(&format!("{BASIC}/docker-save.tar"));
    for (image, file) in BASIC_IMAGES {
        check_against_dive(&store, image, &format!("{BASIC}/expected/dive/{file}.json"));
    }
}

#[test]
fn basic_from_its_image_store_tarball_equals_dive() {
    let store = block_on(store_from_fixture(&format!("{BASIC}/image-store.tar")));
    for (image, file) in BASIC_IMAGES {
        check_against_dive(&store, image, &format!("{BASIC}/expected/dive/{file}.json"));
    }
}

#[test]
fn basic_from_a_ctr_import_of_its_docker_save_equals_dive() {
    // `ctr images import` of the same archive: containerd view only, layers read from their blobs.
    let store = containerd_store_from_archive(&format!("{BASIC}/docker-save.tar"), Some("ci"));
    let names = containerd_names(&store, "ci");
    for (image, file) in BASIC_IMAGES {
        let name = format!("docker.io/{image}");
        assert!(names.contains(&name), "{name} in {names:?}");
        check_against_dive(&store, ctr("ci", &name), &format!("{BASIC}/expected/dive/{file}.json"));
    }
}

#[test]
fn basic_from_its_containerd_root_equals_dive() {
    // A containerd root after `ctr images import` of the docker save (namespace default) and of
    // skopeo's OCI layout of edge (namespace team: gzip layers skopeo made, another manifest).
    let store = containerd_store_from_archive(&format!("{BASIC}/containerd-root.tar"), None);
    for (image, file) in BASIC_IMAGES {
        check_against_dive(
            &store,
            ctr("default", &format!("docker.io/{image}")),
            &format!("{BASIC}/expected/dive/{file}.json"),
        );
    }
    let team = containerd_names(&store, "team");
    assert!(!team.is_empty());
    for name in team {
        check_against_dive(&store, ctr("team", &name), &format!("{BASIC}/expected/dive/local_edge_latest.json"));
    }
}

const CHANGES: &str = "tests/fixtures/docker20/changes";
const CHANGES_IMAGES: [(&str, &str); 3] =
    [("changes/base:1", "changes_base_1"), ("changes/mid:1", "changes_mid_1"), ("changes/app:1", "changes_app_1")];

#[test]
fn changes_from_its_docker_save_and_its_image_store_tarball_equal_dive() {
    // Overwritten, chmod'ed, chown'ed and deleted files, a directory replaced by a file and a
    // file by a directory, an opaque directory, a retargeted symlink, a hard link, an empty
    // layer and a file copied three times (tests/fixtures/docker20/changes/make.sh).
    let save = store_from_archive(&format!("{CHANGES}/docker-save.tar"));
    let tarball = block_on(store_from_fixture(&format!("{CHANGES}/image-store.tar")));
    for store in [&save, &tarball] {
        for (image, file) in CHANGES_IMAGES {
            check_against_dive(store, image, &format!("{CHANGES}/expected/dive/{file}.json"));
        }
    }
}

#[test]
fn edge_from_its_oci_layout_equals_dive() {
    let store = containerd_store_from_archive(&format!("{BASIC}/oci-archive.tar"), None);
    let names = containerd_names(&store, "default");
    assert!(!names.is_empty());
    for name in names {
        check_against_dive(&store, ctr("default", &name), &format!("{BASIC}/expected/dive/local_edge_latest.json"));
    }
}

#[test]
fn the_same_image_three_ways_gives_the_same_answers() {
    // docker save (Docker view), image-store tarball (Docker view, no layer contents), OCI
    // layout (containerd view): every analysis equal, not only dive's numbers.
    let save = store_from_archive(&format!("{BASIC}/docker-save.tar"));
    let tarball = block_on(store_from_fixture(&format!("{BASIC}/image-store.tar")));
    let layout = containerd_store_from_archive(&format!("{BASIC}/oci-archive.tar"), None);
    let name = containerd_names(&layout, "default").remove(0);
    let views: [(&Store<MemoryBackend>, ImageRef); 3] =
        [(&save, "local/edge:latest".into()), (&tarball, "local/edge:latest".into()), (&layout, ctr("default", &name))];
    let answers: Vec<(Value, Value, Value)> = views
        .iter()
        .map(|(store, image)| {
            let changes = block_on(store.layer_changes(image.clone())).unwrap();
            let eff = block_on(store.efficiency(image.clone(), &CiRules::default())).unwrap();
            let merged = block_on(store.merged_files(image.clone())).unwrap();
            (
                serde_json::to_value(changes).unwrap(),
                serde_json::to_value(eff).unwrap(),
                serde_json::to_value(merged.values().collect::<Vec<_>>()).unwrap(),
            )
        })
        .collect();
    assert!(answers[0].0.as_array().unwrap().len() > 1);
    for (i, a) in answers.iter().enumerate().skip(1) {
        assert_eq!(a.0, answers[0].0, "layerChanges: way {i} against docker save");
        assert_eq!(a.1, answers[0].1, "efficiency: way {i} against docker save");
        assert_eq!(a.2, answers[0].2, "merged files: way {i} against docker save");
    }
    // The file listings (what the page's layer explorer shows): each layer alone and the merged
    // view at each layer, a containerd image's read from its layer blobs, all fields equal.
    let layers = answers[0].0.as_array().unwrap().len();
    for at in 0..layers {
        for merged in [false, true] {
            let selector = imagestore::docker::layer_files::LayerSelector::Index(at);
            let lists: Vec<Value> = views
                .iter()
                .map(|(store, image)| {
                    let files = block_on(store.image_layer_files(image.clone(), Some(&selector), merged)).unwrap();
                    serde_json::to_value(files).unwrap()
                })
                .collect();
            assert!(!lists[0].as_array().unwrap().is_empty(), "layer {at}");
            for (i, list) in lists.iter().enumerate().skip(1) {
                assert_eq!(list, &lists[0], "layerFiles of layer {at} (merged: {merged}): way {i} against docker save");
            }
        }
    }
    let past = imagestore::docker::layer_files::LayerSelector::Index(layers);
    let e = block_on(views[2].0.image_layer_files(views[2].1.clone(), Some(&past), true)).unwrap_err();
    assert_eq!(e.code, imagestore::ErrorCode::NotFound, "{e}");
    assert!(e.message.contains(&format!("has no layer {layers} (it has {layers} layers)")), "{e}");
}

#[test]
fn unknown_containerd_images_and_bad_namespaces_are_clear_errors() {
    let store = containerd_store_from_archive(&format!("{BASIC}/oci-archive.tar"), None);
    let name = containerd_names(&store, "default").remove(0);
    let e = block_on(store.layer_changes(ctr("default", "no/such:image"))).unwrap_err();
    assert_eq!(e.code, imagestore::ErrorCode::NotFound, "{e}");
    let e = block_on(store.efficiency(ctr("Bad Namespace", &name), &CiRules::default())).unwrap_err();
    assert_eq!(e.code, imagestore::ErrorCode::InvalidArgument, "{e}");
}

#[test]
fn dives_own_test_image_from_a_docker_18_save() {
    let store = store_from_archive(&format!("{WILD}/.data/test-docker-image.tar"));
    check_against_dive(
        &store,
        "dive-test:latest",
        &format!("{WILD}/expected/dive/test-docker-image/dive-test_latest.json"),
    );
}

#[test]
fn dives_own_test_image_from_kaniko() {
    let store = store_from_archive(&format!("{WILD}/.data/test-kaniko-image.tar"));
    let ids: Vec<String> = store.docker().images.map().map(|i| i.id().to_string()).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    check_against_dive(
        &store,
        &ids[0],
        &format!("{WILD}/expected/dive/test-kaniko-image/dive-test_kaniko-latest.json"),
    );
}
