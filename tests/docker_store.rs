//! The Docker stores and Engine API operations against real dockerd 20.10 answers
//! (tests/fixtures/docker20/*/expected/api, tests/fixtures/wild/docker-explorer/expected/*/api).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use futures::executor::block_on;
use futures::StreamExt;
use imagestore::docker::engine::Filters;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;
use imagestore::ErrorCode;
use serde_json::Value;
use std::collections::BTreeMap;
use support::docker_fixture::{chunked, read_fixture, stage_fixture, store_from_fixture, ExpectedApi, Facade};
use support::dockerd::{check_answers, DOCKER_EXPLORER_ROOTS};
use support::list_compare::assert_same_list;

const FIX: &str = "tests/fixtures";

fn read_json(path: &str) -> Value {
    let s = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Opens a memory store and imports a fixture's image store into it (real importer).
fn store_from(tar: &str) -> Store<MemoryBackend> {
    block_on(store_from_fixture(tar))
}

/// Every answer of one fixture's `expected/api` (the shared dockerd comparison).
fn check_api_answers(store: &Store<MemoryBackend>, expected: &ExpectedApi) -> usize {
    block_on(check_answers(&Facade(store), expected))
}

fn no_filters() -> Filters {
    BTreeMap::new()
}

fn reopen(store: &Store<MemoryBackend>) -> Store<MemoryBackend> {
    let s = block_on(Store::open(store.backend().clone())).unwrap();
    assert!(s.restore_skipped().is_empty(), "{:?}", s.restore_skipped());
    s
}

#[test]
fn basic_answers_match_dockerd_before_and_after_reopen() {
    let store = store_from(&format!("{FIX}/docker20/basic/image-store.tar"));
    let expected = ExpectedApi::new("docker20/basic/expected/api", "vfs");
    assert!(check_api_answers(&store, &expected) >= 4 + 5 + 2 * 22 + 22 + 9);
    assert_eq!(store.docker().images.len(), 22);
    let reopened = reopen(&store);
    check_api_answers(&reopened, &expected);
}

#[test]
fn debian_and_scale200_answers_match_dockerd() {
    for (name, at_least) in [("debian", 4 + 2 * 22 + 22), ("scale200", 4 + 2 * 601 + 601)] {
        let store = store_from(&format!("{FIX}/docker20/{name}/image-store.tar"));
        let n = check_api_answers(&store, &ExpectedApi::new(&format!("docker20/{name}/expected/api"), "vfs"));
        assert!(n >= at_least, "{name}: only {n} answers checked");
    }
}

#[test]
fn changes_answers_match_dockerd() {
    // Layers that each make one kind of change (tests/fixtures/docker20/changes/make.sh), one
    // of them empty: 12 images, 3 tagged.
    let store = store_from(&format!("{FIX}/docker20/changes/image-store.tar"));
    let n = check_api_answers(&store, &ExpectedApi::new("docker20/changes/expected/api", "vfs"));
    assert!(n >= 4 + 4 + 2 * 12 + 12, "only {n} answers checked");
    assert_eq!(store.docker().images.len(), 12);
}

#[test]
fn docker_explorer_roots_match_dockerd() {
    // The importer picks the daemon's own `image/<driver>/` folder of these whole roots.
    for (name, driver) in DOCKER_EXPLORER_ROOTS {
        let store = store_from(&format!("{FIX}/wild/docker-explorer/test_data/{name}.tgz"));
        let expected = ExpectedApi::new(&format!("wild/docker-explorer/expected/{name}/api"), driver);
        let n = check_api_answers(&store, &expected);
        // Lists, 2 filter rows, inspect and history, short ID and tag of their one image.
        assert!(n >= 4 + 2 + 2 + 2, "{name}: only {n} answers checked");
    }
}

#[test]
fn names_and_short_ids_resolve_like_the_docker_cli() {
    let store = store_from(&format!("{FIX}/docker20/basic/image-store.tar"));
    let edge = "sha256:4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05";
    let inspect_id = |name: &str| store.inspect_image(name).map(|v| v["Id"].as_str().unwrap().to_string());
    for name in [
        "local/edge",
        "local/edge:latest",
        "docker.io/local/edge:latest",
        "127.0.0.1:5000/team/edge:v2",
        "4afb12",
        "4afb125595bd",
        edge,
        &edge[7..],
        "sha256:4afb",
    ] {
        assert_eq!(inspect_id(name).unwrap(), edge, "{name}");
    }
    let digest_ref = "127.0.0.1:5000/team/edge@sha256:a12f393f6889cd5a6a78e8f3d30590b0e4c2c25f7d74075501fbad53d3bb5606";
    assert_eq!(inspect_id(digest_ref).unwrap(), edge);
    assert_eq!(store.search("4afb").unwrap().as_str(), edge);
    assert_eq!(store.search("sha256:4afb1").unwrap().as_str(), edge);
    // Several IDs start with "4a": the prefix is ambiguous for Search, and not an image for GetImage.
    assert_eq!(store.search("4a").unwrap_err().code, ErrorCode::Ambiguous);
    assert_eq!(store.search("ffff").unwrap_err().code, ErrorCode::NotFound);
    let e = store.inspect_image("local/nothing").unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert_eq!(e.message, "no such image: local/nothing: No such image: local/nothing:latest");
    assert_eq!(store.inspect_image("Local/Edge").unwrap_err().code, ErrorCode::InvalidArgument);
    // Parents, children and heads from imagedb metadata.
    assert_eq!(
        store.image_parent("local/edge").unwrap().unwrap().as_str(),
        "sha256:47d8305d549e99cb8b526d60c57b4e6556079e6a2910b018b7a26dbd57a79ee6"
    );
    assert_eq!(store.image_parent("local/base:1").unwrap(), None);
    let base_children: Vec<String> =
        store.image_children("local/base:1").unwrap().iter().map(|d| d.short_id().to_string()).collect();
    assert_eq!(base_children, ["4446cbb9ca36", "52011c22505c", "a977b459ed3d", "bd16b3447586"]);
    let heads = store.image_heads();
    assert_eq!(heads.len(), 5, "{heads:?}");
    assert!(heads.iter().any(|h| h.as_str() == edge));
}

#[test]
fn filter_errors_are_dockerds() {
    let store = store_from(&format!("{FIX}/docker20/basic/image-store.tar"));
    let f = |k: &str, v: &[&str]| -> Filters {
        BTreeMap::from([(k.to_string(), v.iter().map(|s| s.to_string()).collect())])
    };
    let e = store.list_images(false, false, &f("until", &["1h"])).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (ErrorCode::InvalidArgument, "Invalid filter 'until'"));
    let e = store.list_images(false, false, &f("dangling", &["maybe"])).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (ErrorCode::InvalidArgument, "Invalid filter 'dangling=[maybe]'"));
    let e = store.list_images(false, false, &f("before", &["local/nothing:1"])).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    // dangling=false hides untagged images; a label with a value must match it.
    let listed = store.list_images(true, false, &f("dangling", &["false"])).unwrap();
    assert!(listed.as_array().unwrap().iter().all(|r| r["RepoTags"][0] != "<none>:<none>"));
    let listed = store.list_images(false, false, &f("label", &["kind=metadata-only"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["RepoTags"][0], "local/empty:meta");
}

/// Image IDs with their parents, layer ChainIDs, and the repositories map.
type Snapshot = (Vec<(String, Option<String>)>, Vec<String>, Value);

/// What a store holds, for comparing two stores.
fn snapshot(store: &Store<MemoryBackend>) -> Snapshot {
    let d = store.docker();
    let images =
        d.images.map().map(|i| (i.id().to_string(), i.record.parent.as_ref().map(|p| p.to_string()))).collect();
    let layers = d.layers.records().map(|l| l.chain_id.to_string()).collect();
    (images, layers, serde_json::to_value(d.references.repository_map()).unwrap())
}

#[test]
fn deletes_replay_dockerd_and_leave_what_it_left() {
    let mut store = store_from(&format!("{FIX}/docker20/basic/image-store.tar"));
    block_on(async {
        let untag = store.remove_image("local/edge:latest", false, false).await.unwrap();
        assert_eq!(untag, serde_json::json!([{ "Untagged": "local/edge:latest" }]));
        let got = store.remove_image("127.0.0.1:5000/team/edge:v2", false, false).await.unwrap();
        assert_eq!(got, read_json(&format!("{FIX}/docker20/basic/expected/api/delete-edge-v2.json")));
        let dangle = store.remove_image("local/dangle:1", false, false).await.unwrap();
        assert_eq!(dangle[0], serde_json::json!({ "Untagged": "local/dangle:1" }));
        assert_eq!(
            dangle[1],
            serde_json::json!({ "Deleted": "sha256:a977b459ed3d9ce7404f02a522edf8b93bd437c6f1be03d036e0d84a8e116f37" })
        );
    });
    let after = store_from(&format!("{FIX}/docker20/basic/image-store-after-rmi.tar"));
    assert_eq!(snapshot(&store), snapshot(&after));
    assert_eq!(snapshot(&reopen(&store)), snapshot(&after));
    // The deleted layers' tar-split blobs and the deleted configs are gone from the backend too.
    let blobs_of =
        |s: &Store<MemoryBackend>| block_on(imagestore::storage::blobs::stored_digests(s.backend())).unwrap();
    assert!(blobs_of(&store).len() < blobs_of(&store_from(&format!("{FIX}/docker20/basic/image-store.tar"))).len());
    assert_eq!(blobs_of(&store), blobs_of(&after));
}

#[test]
fn rmi_dry_run_answers_as_rmi_and_changes_nothing() {
    let mut store = store_from(&format!("{FIX}/docker20/basic/image-store.tar"));
    let before = snapshot(&store);
    let keys = |s: &Store<MemoryBackend>| {
        block_on(imagestore::storage::Backend::keys(s.backend(), imagestore::storage::Space::Meta, "")).unwrap()
    };
    let records = keys(&store);
    block_on(async {
        // The same sequence as the dockerd replay: each dry run first, then the real rmi.
        for r in ["local/edge:latest", "127.0.0.1:5000/team/edge:v2", "local/dangle:1"] {
            let preview = store.remove_image_dry_run(r, false, false).unwrap();
            assert_eq!(store.remove_image_dry_run(r, false, false).unwrap(), preview, "{r}: a dry run changes nothing");
            assert_eq!(store.remove_image(r, false, false).await.unwrap(), preview, "{r}");
        }
    });
    let fresh = store_from(&format!("{FIX}/docker20/basic/image-store.tar"));
    // dockerd's answer, layers included, for the second one.
    let v2 = {
        let mut s = store_from(&format!("{FIX}/docker20/basic/image-store.tar"));
        block_on(s.remove_image("local/edge:latest", false, false)).unwrap();
        s.remove_image_dry_run("127.0.0.1:5000/team/edge:v2", false, false).unwrap()
    };
    assert_eq!(v2, read_json(&format!("{FIX}/docker20/basic/expected/api/delete-edge-v2.json")));
    // Conflicts come back as the same errors, and nothing changed.
    let e = fresh.remove_image_dry_run("3902a31b521c", false, false).unwrap_err();
    assert_eq!(
        e.message,
        "conflict: unable to delete 3902a31b521c (cannot be forced) - image has dependent child images"
    );
    let e = fresh.remove_image_dry_run("4afb125595bd", false, false).unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict);
    assert_eq!(fresh.remove_image_dry_run("nope:1", false, false).unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(snapshot(&fresh), before);
    assert_eq!(keys(&fresh), records);
}

#[test]
fn tag_dry_run_validates_like_tag_and_changes_nothing() {
    let store = store_from(&format!("{FIX}/docker20/basic/image-store.tar"));
    let before = snapshot(&store);
    assert_eq!(store.tag_image_dry_run("local/base:1", "docker.io/library/busybox", "").unwrap(), "busybox:latest");
    assert_eq!(store.tag_image_dry_run("local/base:1", "local/app", "v1").unwrap(), "local/app:v1");
    let e = store.tag_image_dry_run("local/base:1", "Local/App", "").unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(e.message.ends_with("invalid reference format: repository name must be lowercase"), "{}", e.message);
    let e = store.tag_image_dry_run("local/base:1", "ok", "bad tag").unwrap_err();
    assert_eq!(e.message, "invalid tag \"bad tag\": invalid tag format");
    assert_eq!(store.tag_image_dry_run("nope:1", "ok", "").unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(snapshot(&store), before);
    assert!(store.inspect_image("local/app:v1").is_err(), "a dry run adds no tag");
}

#[test]
fn rmi_conflicts_and_noprune() {
    let mut store = store_from(&format!("{FIX}/docker20/basic/image-store.tar"));
    block_on(async {
        // local/base has children: by ID it is a hard conflict.
        let e = store.remove_image("3902a31b521c", false, false).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Conflict);
        assert_eq!(
            e.message,
            "conflict: unable to delete 3902a31b521c (cannot be forced) - image has dependent child images"
        );
        // edge has tags in two repositories: by ID it must be forced.
        let e = store.remove_image("4afb125595bd", false, false).await.unwrap_err();
        assert_eq!(
            e.message,
            "conflict: unable to delete 4afb125595bd (must be forced) - image is referenced in multiple repositories"
        );
        // Nothing changed on failure.
        assert_eq!(store.docker().images.len(), 22);
        // Forced: every reference untagged, then deleted; noprune keeps the parents.
        let got = store.remove_image("4afb125595bd", true, true).await.unwrap();
        let kinds: Vec<&str> =
            got.as_array().unwrap().iter().map(|r| r.as_object().unwrap().keys().next().unwrap().as_str()).collect();
        assert_eq!(kinds, ["Untagged", "Untagged", "Untagged", "Deleted"]);
        assert_eq!(store.docker().images.len(), 21);
        assert!(store
            .docker()
            .images
            .contains(&"sha256:47d8305d549e99cb8b526d60c57b4e6556079e6a2910b018b7a26dbd57a79ee6".parse().unwrap()));
        // An untagged intermediate image with a child can't go either.
        let e = store.remove_image("e6b5b37baed8", false, false).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Conflict);
    });
}

#[test]
fn tag_sets_last_tag_time_and_follows_conflict_rules() {
    let mut store = store_from(&format!("{FIX}/docker20/basic/image-store.tar"));
    block_on(async {
        assert_eq!(store.tag_image("4446cbb9ca36", "busybox", "").await.unwrap(), "busybox");
        // Configs are read lazily, as the bindings do before every inspect.
        store.load_config_of("busybox").await.unwrap();
        let v = store.inspect_image("busybox").unwrap();
        assert_eq!(v["Id"], "sha256:4446cbb9ca366f7729ac864236cfc46b7a3e4a201704e6df8588e913a10770ca");
        assert_eq!(v["RepoTags"], serde_json::json!(["busybox:latest"]));
        assert_ne!(v["Metadata"]["LastTagTime"], "2026-11-23T13:52:44.012397079Z");
        // Tags move with force (dockerd's tag endpoint always forces).
        store.tag_image("local/base:1", "docker.io/library/busybox", "latest").await.unwrap();
        store.load_config_of("busybox").await.unwrap();
        assert_eq!(
            store.inspect_image("busybox").unwrap()["Id"],
            "sha256:3902a31b521cf39931794c62ae9e0efc5a561e6c7b9ed3b547f5221ac1373cbd"
        );
        let e = store.tag_image("local/base:1", "sha256", "x").await.unwrap_err();
        assert_eq!(e.message, "refusing to create an ambiguous tag using digest algorithm as name");
        assert_eq!(store.tag_image("local/base:1", "UPPER", "x").await.unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(
            store.tag_image("local/base:1", "ok", "bad tag").await.unwrap_err().code,
            ErrorCode::InvalidArgument
        );
    });
    let again = reopen(&store);
    block_on(again.load_config_of("busybox")).unwrap();
    assert_eq!(
        again.inspect_image("busybox").unwrap()["Id"],
        "sha256:3902a31b521cf39931794c62ae9e0efc5a561e6c7b9ed3b547f5221ac1373cbd"
    );
}

/// Every key of both spaces, with values: the whole backend.
fn backend_contents(b: &MemoryBackend) -> Vec<(String, Vec<u8>)> {
    use imagestore::storage::{Backend, Space};
    let mut all = block_on(b.scan(Space::Meta, "")).unwrap();
    all.extend(block_on(b.scan(Space::Chunks, "")).unwrap().into_iter().map(|(k, v)| (format!("chunks:{k}"), v)));
    all
}

#[test]
fn importing_twice_changes_nothing() {
    let tar = format!("{FIX}/docker20/basic/image-store.tar");
    let mut store = store_from(&tar);
    let before = backend_contents(store.backend());
    let bytes = read_fixture(&tar);
    let report = block_on(store.import(chunked(&bytes, 10_000), Default::default())).unwrap();
    assert_eq!((report.images, report.layers, report.references, report.blobs), (0, 0, 0, 0), "{report:?}");
    assert_eq!(report.bytes, bytes.len() as u64);
    // The second import's staged chunks were discarded: the backend is byte for byte the same.
    assert_eq!(backend_contents(store.backend()), before);
}

#[test]
fn import_through_the_facade_counts_what_it_committed_and_reopens() {
    let bytes = read_fixture(&format!("{FIX}/docker20/basic/image-store.tar"));
    let mut store = block_on(Store::open(MemoryBackend::new())).unwrap();
    let progress = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = progress.clone();
    let options = imagestore::import::ImportOptions {
        on_progress: Some(Box::new(move |p| {
            seen.borrow_mut().push(p.clone());
            Ok(())
        })),
        ..Default::default()
    };
    let report = block_on(store.import(chunked(&bytes, 4093), options)).unwrap();
    assert_eq!(report.format, "docker-image-store");
    assert_eq!((report.images, report.layers, report.references), (22, store.docker().layers.len(), 9));
    assert_eq!(report.blobs, 22 + store.docker().layers.records().filter(|l| l.tar_split.is_some()).count());
    assert!(report.skipped.is_empty() && report.warnings.is_empty(), "{report:?}");
    let phases: Vec<_> = progress.borrow().iter().map(|p| p.phase).collect();
    assert_eq!(phases.last(), Some(&imagestore::import::Phase::Done), "{phases:?}");
    // The driver is not in this tar (it holds image/vfs/ itself): inspect says "".
    assert_eq!(store.inspect_image("local/edge").unwrap()["GraphDriver"]["Name"], "");
    let list = store.list_images(true, false, &no_filters()).unwrap();
    assert_same_list("images-all", &list, &read_json(&format!("{FIX}/docker20/basic/expected/api/images-all.json")));
    assert_eq!(reopen(&store).list_images(true, false, &no_filters()).unwrap(), list);
}

#[test]
fn a_cancelled_or_failed_import_leaves_the_store_as_it_was() {
    let tar = format!("{FIX}/docker20/basic/image-store.tar");
    let bytes = read_fixture(&tar);
    let mut store = store_from(&format!("{FIX}/docker20/basic/image-store-after-rmi.tar"));
    let before = backend_contents(store.backend());
    let snap = snapshot(&store);

    // Cancelled midway (polled between chunks).
    let pushed = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let counter = pushed.clone();
    let input = chunked(&bytes, 8192).inspect(move |_| counter.set(counter.get() + 1));
    let polls = pushed.clone();
    let options = imagestore::import::ImportOptions {
        is_cancelled: Some(Box::new(move || polls.get() > 20)),
        ..Default::default()
    };
    let e = block_on(store.import(input, options)).unwrap_err();
    assert_eq!(e.code, ErrorCode::Aborted, "{e}");
    assert_eq!(backend_contents(store.backend()), before);
    assert_eq!(snapshot(&store), snap);

    // An error from the input stream.
    let broken = futures::stream::iter(vec![
        Ok(bytes[..30_000].to_vec()),
        Err(imagestore::Error::unavailable("network went away")),
    ]);
    let e = block_on(store.import(broken, Default::default())).unwrap_err();
    assert_eq!(e.message, "network went away");
    assert_eq!(backend_contents(store.backend()), before);

    // Not a tarball.
    let junk = b"PK\x03\x04 this is a zip file, not a tar".repeat(40);
    let e = block_on(store.import(chunked(&junk, 100), Default::default())).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFormat, "{e}");
    assert_eq!(backend_contents(store.backend()), before);

    // The final commit fails: the staged blobs go too, state and backend are unchanged.
    let finished = block_on(stage_fixture(store.backend(), &tar));
    store.backend().fail_next_commit_after(3);
    let e = block_on(store.commit_import(finished)).unwrap_err();
    assert_eq!(e.code, ErrorCode::Unavailable);
    assert_eq!(backend_contents(store.backend()), before);
    assert_eq!(snapshot(&store), snap);
    assert_eq!(snapshot(&reopen(&store)), snap);
}

#[test]
fn a_failed_commit_changes_neither_backend_nor_state() {
    let mut store = store_from(&format!("{FIX}/docker20/basic/image-store.tar"));
    let before = snapshot(&store);
    store.backend().fail_next_commit_after(1);
    let e = block_on(store.remove_image("127.0.0.1:5000/team/edge:v2", true, false)).unwrap_err();
    assert_eq!(e.code, ErrorCode::Unavailable);
    assert_eq!(snapshot(&store), before);
    assert_eq!(snapshot(&reopen(&store)), before);
}

#[test]
fn layer_files_from_tar_split_single_and_merged() {
    use imagestore::docker::layer_files::LayerSelector;
    let store = store_from(&format!("{FIX}/docker20/basic/image-store.tar"));
    let files = |layer: Option<LayerSelector>, merged: bool| {
        block_on(store.layer_files("local/edge", layer.as_ref(), merged)).unwrap()
    };
    let paths =
        |v: &[imagestore::docker::layer_files::LayerFileEntry]| v.iter().map(|f| f.path.clone()).collect::<Vec<_>>();
    // Default: the top layer alone (`COPY blob.bin /data/`).
    assert_eq!(paths(&files(None, false)), ["/data", "/data/blob.bin"]);
    // Layer 4 (`RUN rm ...`) by index and by DiffID: whiteout markers, flagged.
    let edge = store.inspect_image("local/edge").unwrap();
    let diff4 = edge["RootFS"]["Layers"][4].as_str().unwrap().parse().unwrap();
    let rm = files(Some(LayerSelector::DiffId(diff4)), false);
    assert_eq!(rm, files(Some(LayerSelector::Index(4)), false));
    let marked: Vec<(&str, Option<&str>)> = rm.iter().map(|f| (f.path.as_str(), f.whiteout)).collect();
    assert_eq!(
        marked,
        [
            ("/app", None),
            ("/app/.wh.built.txt", Some("deleted")),
            ("/etc", None),
            ("/etc/.wh.hello.txt", Some("deleted"))
        ]
    );
    // Layer 5: odd entries keep their types and link targets.
    let odd = files(Some(LayerSelector::Index(5)), false);
    let link = odd.iter().find(|f| f.path == "/data/link").unwrap();
    assert_eq!((link.kind, link.linkname.as_deref()), ("symlink", Some("/app/data.txt")));
    assert_eq!(odd.iter().find(|f| f.path == "/data/fifo").unwrap().kind, "fifo");
    assert!(odd.iter().any(|f| f.path == "/data/naïve-ファイル.txt"));
    assert!(odd.iter().any(|f| f.path.ends_with("/of-one-hundred-bytes/file.txt") && f.path.len() > 100));
    // Merged: the deleted files are gone, everything else is there once, sorted, from its top-most layer.
    let merged = files(None, true);
    let merged_paths = paths(&merged);
    assert!(!merged_paths.iter().any(|p| p == "/app/built.txt" || p == "/etc/hello.txt" || p.contains(".wh.")));
    assert!(merged_paths.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
    assert_eq!(merged.iter().find(|f| f.path == "/data").unwrap().layer, 6);
    assert_eq!(merged.iter().find(|f| f.path == "/etc/passwd").unwrap().layer, 0);
    assert_eq!(merged.len(), 35);
    // Merged at a lower layer: before the `rm`, both files are there.
    let before_rm = paths(&files(Some(LayerSelector::Index(3)), true));
    assert!(before_rm.contains(&"/app/built.txt".to_string()) && before_rm.contains(&"/etc/hello.txt".to_string()));
    // An image without layers has no files; a layer it does not have is not_found.
    assert!(block_on(store.layer_files("local/empty:meta", None, true)).unwrap().is_empty());
    let e = block_on(store.layer_files("local/edge", Some(&LayerSelector::Index(7)), false)).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "{e}");
}
