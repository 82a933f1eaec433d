#![cfg(not(target_arch = "wasm32"))]
//! The store-wide analyses on real fixtures: `system df` against dockerd's `GET /system/df`
//! (basic, debian, scale200), image against image, and file search across the store staying
//! right after deletes and imports.

mod support;

use futures::executor::block_on;
use imagestore::analysis::changes::ChangeKind;
use imagestore::digest::Digest;
use imagestore::import::ImportOptions;
use imagestore::storage::blobs;
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

#[test]
fn system_df_equals_dockerd_changes() {
    check_system_df("changes");
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
    let hits = block_on(store.find_files("built.txt", None)).unwrap().files;
    // Added by demo's RUN layer, removed by edge's rm layer: every image with those layers.
    let edge = store.search("4afb125595bd").unwrap();
    let by_edge: Vec<(usize, ChangeKind)> =
        hits.iter().filter(|h| h.image == edge).map(|h| (h.layer, h.change)).collect();
    assert_eq!(by_edge, [(3, ChangeKind::Added), (4, ChangeKind::Removed)]);
    assert!(hits.iter().any(|h| h.repo_tags.contains(&"local/demo:1.0".to_string())));
    let globbed = block_on(store.find_files("/data/**", Some(ChangeKind::Added))).unwrap().files;
    assert!(globbed.iter().all(|h| h.path.starts_with("/data") && h.change == ChangeKind::Added));
    assert!(globbed.iter().any(|h| h.path == "/data/blob.bin" && h.size == 1 << 20));
    let pem = block_on(store.find_files("**/*.nothing", None)).unwrap().files;
    assert!(pem.is_empty());

    // Delete edge (both tags): its hits go.
    block_on(store.remove_image("local/edge:latest", false, false)).unwrap();
    block_on(store.remove_image("127.0.0.1:5000/team/edge:v2", false, false)).unwrap();
    let after = block_on(store.find_files("built.txt", None)).unwrap().files;
    assert!(after.iter().all(|h| h.image != edge), "{after:?}");
    assert!(!after.iter().any(|h| h.change == ChangeKind::Removed));
    assert!(block_on(store.find_files("/data/blob.bin", None)).unwrap().files.is_empty());

    // Import dive's test image: its files are found.
    let bytes = read_fixture("tests/fixtures/wild/dive/.data/test-docker-image.tar");
    block_on(store.import(chunked(&bytes, 1 << 20), ImportOptions::default())).unwrap();
    let saved = block_on(store.find_files("/root/saved.txt", None)).unwrap().files;
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

/// The search index's records: chain ID → record bytes.
fn index_records(b: &MemoryBackend) -> std::collections::BTreeMap<String, Vec<u8>> {
    use imagestore::storage::{Backend, Space};
    block_on(b.scan(Space::Meta, imagestore::schema::analysis::CHANGES)).unwrap().into_iter().collect()
}

/// Every chain ID of the store's Docker images.
fn docker_chains(store: &Store<MemoryBackend>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for img in store.docker().images.map() {
        let ids = img.config.diff_ids();
        for n in 1..=ids.len() {
            out.insert(imagestore::digest::chain_id(&ids[..n]).unwrap().to_string());
        }
    }
    out
}

fn hits_json(hits: &[imagestore::store_analysis::FoundFile]) -> Value {
    serde_json::to_value(hits).unwrap()
}

#[test]
fn the_search_index_is_persisted_rebuilt_and_kept_to_the_images_held() {
    use imagestore::storage::{Backend, Op, Space};
    let backend = MemoryBackend::new();
    let mut store = block_on(async {
        let mut s = Store::open(backend.clone()).await.unwrap();
        let bytes = read_fixture("tests/fixtures/docker20/basic/image-store.tar");
        s.import(chunked(&bytes, 1 << 20), ImportOptions::default()).await.unwrap();
        s
    });
    // The import leaves the index to the first search, which writes it; the next finds it complete.
    assert!(index_records(&backend).is_empty(), "an import works out no change set");
    let first = block_on(store.find_files("**/*.txt", None)).unwrap().files;
    assert!(!first.is_empty());
    let records = index_records(&backend);
    assert_eq!(hits_json(&block_on(store.find_files("**/*.txt", None)).unwrap().files), hits_json(&first));
    assert_eq!(index_records(&backend), records, "the second search found the index complete");
    let keyed: BTreeSet<String> =
        records.keys().map(|k| k.strip_prefix(imagestore::schema::analysis::CHANGES).unwrap().to_string()).collect();
    assert_eq!(keyed, docker_chains(&store), "one record per layer held");

    // A reopened store answers from the records alone: with every tar-split gone, the same hits.
    // (The layers' persisted analysis entries go too: they are another copy of the tar-splits.)
    let splits: BTreeSet<Digest> = store.docker().layers.records().filter_map(|l| l.tar_split.clone()).collect();
    let saved_splits: Vec<(Digest, Vec<u8>)> =
        splits.iter().map(|d| (d.clone(), block_on(blobs::read_all(&backend, d)).unwrap())).collect();
    let entries = block_on(backend.keys(Space::Meta, imagestore::schema::analysis::ENTRIES)).unwrap();
    let saved: Vec<(String, Vec<u8>)> =
        entries.iter().map(|k| (k.clone(), block_on(backend.get(Space::Meta, k)).unwrap().unwrap())).collect();
    let mut gone: Vec<Op> = entries.iter().map(|k| Op::delete_meta(k.clone())).collect();
    gone.extend(splits.iter().map(|d| Op::delete_meta(imagestore::schema::blob(d))));
    block_on(blobs::commit_packed(&backend, gone)).unwrap();
    assert!(block_on(blobs::stored_digests(&backend)).unwrap().iter().all(|d| !splits.contains(d)));
    let reopened = block_on(Store::open(backend.clone())).unwrap();
    assert_eq!(hits_json(&block_on(reopened.find_files("**/*.txt", None)).unwrap().files), hits_json(&first));
    assert!(block_on(reopened.layer_changes("local/edge:latest")).is_err(), "the tar-splits really are gone");
    let mut back: Vec<Op> = saved.into_iter().map(|(k, v)| Op::put_meta(k, v)).collect();
    back.extend(saved_splits.into_iter().flat_map(|(d, bytes)| blobs::stage_in_commit(d, &bytes).ops));
    block_on(blobs::commit_packed(&backend, back)).unwrap();

    // Missing, corrupt and foreign records: rebuilt to the same bytes, and the answer unchanged.
    // (The search snapshot goes too: while it holds, a search reads no record of the index.)
    block_on(backend.commit(vec![Op::delete_meta(imagestore::schema::analysis::SEARCH_SNAPSHOT)])).unwrap();
    let mut keys = records.keys();
    let (dropped, flipped, cut) =
        (keys.next().unwrap().clone(), keys.next().unwrap().clone(), keys.next().unwrap().clone());
    let mut bad = records[&flipped].clone();
    let last = bad.len() - 2;
    bad[last] ^= 0x20;
    block_on(backend.commit(vec![
        Op::delete_meta(dropped.clone()),
        Op::put_meta(flipped.clone(), bad),
        Op::put_meta(cut.clone(), records[&cut][..7].to_vec()),
        Op::put_meta(format!("{}not-a-digest", imagestore::schema::analysis::CHANGES), b"x".to_vec()),
    ]))
    .unwrap();
    let mended = block_on(Store::open(backend.clone())).unwrap();
    assert_eq!(hits_json(&block_on(mended.find_files("**/*.txt", None)).unwrap().files), hits_json(&first));
    assert_eq!(index_records(&backend), records, "rebuilt record for record");

    // rmi drops the records of the layers that went (no search needed); import adds the new ones.
    // An untag changes no layer: the index stays as it is.
    block_on(store.remove_image("local/edge:latest", false, false)).unwrap();
    assert_eq!(index_records(&backend), records, "an untag leaves the index alone");
    block_on(store.remove_image("127.0.0.1:5000/team/edge:v2", false, false)).unwrap();
    let now: BTreeSet<String> = index_records(&backend)
        .keys()
        .map(|k| k.strip_prefix(imagestore::schema::analysis::CHANGES).unwrap().to_string())
        .collect();
    assert_eq!(now, docker_chains(&store));
    assert!(now.len() < keyed.len());
    // The entries records of the layers that went are gone too.
    let sources: BTreeSet<String> =
        store.docker().layers.records().filter_map(|l| l.tar_split.as_ref().map(|d| d.to_string())).collect();
    let entries: BTreeSet<String> = block_on(backend.keys(Space::Meta, imagestore::schema::analysis::ENTRIES))
        .unwrap()
        .iter()
        .map(|k| k.strip_prefix(imagestore::schema::analysis::ENTRIES).unwrap().to_string())
        .collect();
    assert!(entries.is_subset(&sources), "{entries:?} {sources:?}");
    let bytes = read_fixture("tests/fixtures/wild/dive/.data/test-docker-image.tar");
    block_on(store.import(chunked(&bytes, 1 << 20), ImportOptions::default())).unwrap();
    let indexed = |backend: &MemoryBackend| -> BTreeSet<String> {
        index_records(backend)
            .keys()
            .map(|k| k.strip_prefix(imagestore::schema::analysis::CHANGES).unwrap().to_string())
            .collect()
    };
    assert_eq!(indexed(&backend), now, "the import indexed nothing");
    let saved = block_on(store.find_files("/root/saved.txt", None)).unwrap().files;
    assert!(saved.iter().all(|h| h.repo_tags == ["dive-test:latest"]) && saved.len() > 1, "{saved:?}");
    assert_eq!(indexed(&backend), docker_chains(&store), "indexed by the search after the import");
}

/// The search snapshot's record.
fn snapshot_record(b: &MemoryBackend) -> Option<Vec<u8>> {
    use imagestore::storage::{Backend, Space};
    block_on(b.get(Space::Meta, imagestore::schema::analysis::SEARCH_SNAPSHOT)).unwrap()
}

#[test]
fn a_reopened_store_searches_from_the_snapshot_which_is_made_again_when_stale_or_damaged() {
    use imagestore::schema::analysis::{CHANGES, ENTRIES, SEARCH_SNAPSHOT};
    use imagestore::storage::record_frame::RecordFrame;
    use imagestore::storage::{Backend, Op, Space};
    let backend = MemoryBackend::new();
    let mut store = block_on(Store::open(backend.clone())).unwrap();
    let bytes = read_fixture("tests/fixtures/docker20/basic/image-store.tar");
    block_on(store.import(chunked(&bytes, 1 << 20), ImportOptions::default())).unwrap();
    let patterns = ["**/*.txt", "passwd", "/etc/**", "/bin"];
    let answers = |s: &Store<MemoryBackend>| -> Vec<Value> {
        let mut out: Vec<Value> =
            patterns.iter().map(|p| hits_json(&block_on(s.find_files(p, None)).unwrap().files)).collect();
        out.push(hits_json(&block_on(s.find_files("**", Some(ChangeKind::Removed))).unwrap().files));
        out
    };
    let first = answers(&store);
    assert!(first.iter().all(|a| !a.as_array().unwrap().is_empty()), "{first:?}");
    let snapshot = snapshot_record(&backend).expect("the first search writes the snapshot");
    let records = index_records(&backend);

    // A reopened store answers from the snapshot alone: with the index's and entries' records
    // gone, the same answers, and no record worked out again.
    let derived: Vec<String> =
        [CHANGES, ENTRIES].iter().flat_map(|prefix| block_on(backend.keys(Space::Meta, prefix)).unwrap()).collect();
    block_on(backend.commit(derived.iter().map(|k| Op::delete_meta(k.clone())).collect())).unwrap();
    let reopened = block_on(Store::open(backend.clone())).unwrap();
    assert_eq!(answers(&reopened), first);
    assert!(index_records(&backend).is_empty(), "answered from the snapshot");
    assert_eq!(snapshot_record(&backend).unwrap(), snapshot);

    // Missing, cut, flipped (checksum), another version, and a body that passes its checksum
    // but does not read (an image ID that is not a digest): made again to the same bytes, the
    // answers unchanged (and the index's records written again on the way).
    let header = RecordFrame::with_u8_version(b"ISSN", 1).header_len();
    let mut flipped = snapshot.clone();
    flipped[header + 40] ^= 0x10;
    let other_version = RecordFrame::with_u8_version(b"ISSN", 2).encode(&snapshot[header..]);
    let id = first[0][0]["image"].as_str().unwrap().to_string();
    let at = snapshot.windows(id.len()).position(|w| w == id.as_bytes()).expect("the ID is in the record");
    let mut body = snapshot[header..].to_vec();
    body[at - header + 7..at - header + id.len()].fill(b'Z');
    let unreadable = RecordFrame::with_u8_version(b"ISSN", 1).encode(&body);
    for (what, damaged) in [
        ("missing", None),
        ("cut", Some(snapshot[..snapshot.len() / 2].to_vec())),
        ("flipped", Some(flipped)),
        ("other version", Some(other_version)),
        ("unreadable", Some(unreadable)),
    ] {
        let op = match damaged {
            None => Op::delete_meta(SEARCH_SNAPSHOT),
            Some(bytes) => Op::put_meta(SEARCH_SNAPSHOT, bytes),
        };
        block_on(backend.commit(vec![op])).unwrap();
        let reopened = block_on(Store::open(backend.clone())).unwrap();
        assert_eq!(answers(&reopened), first, "{what}");
        assert_eq!(snapshot_record(&backend).unwrap(), snapshot, "{what}: made again");
    }
    assert_eq!(index_records(&backend), records);
    // Bringing the index up to date (as the page's worker does after an import) makes it too.
    block_on(backend.commit(vec![Op::delete_meta(SEARCH_SNAPSHOT)])).unwrap();
    let update = block_on(block_on(Store::open(backend.clone())).unwrap().update_search_index()).unwrap();
    assert_eq!(update, Default::default());
    assert_eq!(snapshot_record(&backend).unwrap(), snapshot, "made by update_search_index");

    // Stale: another store object tags an image (a new generation). A store opened after it
    // answers with the tag and writes a new snapshot; one opened before it answers from its own
    // state, as it always did, and writes none.
    let before = block_on(Store::open(backend.clone())).unwrap();
    let mut other = block_on(Store::open(backend.clone())).unwrap();
    block_on(other.tag_image("local/edge:latest", "snap/shot", "new")).unwrap();
    let after = block_on(Store::open(backend.clone())).unwrap();
    let tagged = hits_json(&block_on(after.find_files("**/*.txt", None)).unwrap().files);
    assert!(tagged.as_array().unwrap().iter().any(|h| h["repoTags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "snap/shot:new")));
    let remade = snapshot_record(&backend).unwrap();
    assert_ne!(remade, snapshot);
    assert_eq!(answers(&before), first);
    assert_eq!(snapshot_record(&backend).unwrap(), remade, "a stale store object writes no snapshot");
    // The store that tagged answers from the snapshot written after its own change.
    assert_eq!(hits_json(&block_on(other.find_files("**/*.txt", None)).unwrap().files), tagged);
    // An rmi through the tagging store: its next search leaves the image out.
    block_on(other.remove_image("snap/shot:new", false, false)).unwrap();
    block_on(other.remove_image("local/edge:latest", false, false)).unwrap();
    let gone = hits_json(&block_on(other.find_files("**/*.txt", None)).unwrap().files);
    assert!(gone.as_array().unwrap().iter().all(|h| h["repoTags"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t != "local/edge:latest")));
    assert_eq!(
        hits_json(
            &block_on(block_on(Store::open(backend.clone())).unwrap().find_files("**/*.txt", None)).unwrap().files
        ),
        gone
    );
}

/// A store whose one layer's tar-split is corrupt: store-wide answers skip that layer (and the
/// layers above it, whose changes depend on it) and name it, and search everything else.
#[test]
fn a_corrupt_tar_split_is_skipped_and_named_not_fatal() {
    use imagestore::storage::{Backend, Op, Space};
    let backend = MemoryBackend::new();
    let bytes = read_fixture("tests/fixtures/docker20/basic/image-store.tar");
    let mut store = block_on(Store::open(backend.clone())).unwrap();
    block_on(store.import(chunked(&bytes, 1 << 20), ImportOptions::default())).unwrap();
    let whole = block_on(store.find_files("**", None)).unwrap();
    assert!(whole.skipped.is_empty());
    // Corrupt the tar-split of edge's top layer (a gzip stream cut short) and forget the
    // derived records, as a store written before them or damaged on disk would be.
    let edge = store
        .docker()
        .images
        .map()
        .find(|i| store.docker().references.tags_and_digests(i.id()).0.contains(&"local/edge:latest".to_string()))
        .unwrap();
    let diff_ids = edge.config.diff_ids().to_vec();
    let top_chain = imagestore::digest::chain_id(&diff_ids).unwrap();
    let split = store.docker().layers.get(&top_chain).unwrap().tar_split.clone().unwrap();
    // Its bytes (small: kept in a blob pack) damaged in the middle: taken out, put back damaged.
    let mut bytes = block_on(blobs::read_all(&backend, &split)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 16].fill(0xff);
    block_on(blobs::commit_packed(&backend, vec![Op::delete_meta(imagestore::schema::blob(&split))])).unwrap();
    let mut ops = blobs::stage_in_commit(split.clone(), &bytes).ops;
    for prefix in [imagestore::schema::analysis::CHANGES, imagestore::schema::analysis::ENTRIES] {
        ops.extend(block_on(backend.keys(Space::Meta, prefix)).unwrap().into_iter().map(Op::delete_meta));
    }
    ops.push(Op::delete_meta(imagestore::schema::analysis::SEARCH_SNAPSHOT));
    block_on(blobs::commit_packed(&backend, ops)).unwrap();
    let reopened = block_on(Store::open(backend.clone())).unwrap();
    let found = block_on(reopened.find_files("**", None)).unwrap();
    assert_eq!(found.skipped.len(), 1, "{:?}", found.skipped);
    let skipped = &found.skipped[0];
    assert_eq!((&skipped.diff_id, &skipped.chain_id), (diff_ids.last().unwrap(), &top_chain));
    assert!(skipped.reason.contains("tar-split"), "{}", skipped.reason);
    // Everything else is still found: every hit of the whole store but the skipped layer's.
    let expected: Vec<_> = whole
        .files
        .iter()
        .filter(|h| h.diff_id != skipped.diff_id)
        .map(|h| (h.image.clone(), h.layer, h.path.clone()))
        .collect();
    let got: Vec<_> = found.files.iter().map(|h| (h.image.clone(), h.layer, h.path.clone())).collect();
    assert_eq!(got, expected);
    assert!(!got.is_empty());
    // Named again on the next search, and by the store's largest files.
    assert_eq!(block_on(reopened.find_files("x", None)).unwrap().skipped, found.skipped);
    assert_eq!(block_on(reopened.largest_files_in_store(5)).unwrap().skipped, found.skipped);
    // The analyses of that image say what is wrong; the other images' still work.
    let e = block_on(reopened.layer_changes("local/edge:latest")).unwrap_err();
    assert!(e.message.contains("tar-split"), "{}", e.message);
    assert!(block_on(reopened.efficiency("local/demo:1.0", &Default::default())).is_ok());
}

#[test]
fn search_and_largest_files_cover_containerd_images() {
    let store = block_on(async {
        let bytes = read_fixture("tests/fixtures/docker20/basic/containerd-root.tar");
        let mut s = Store::open(MemoryBackend::new()).await.unwrap();
        s.import(chunked(&bytes, 1 << 20), ImportOptions::default()).await.unwrap();
        s
    });
    let hits = block_on(store.find_files("/data/blob.bin", None)).unwrap().files;
    let owners: BTreeSet<(String, String)> =
        hits.iter().map(|h| (h.namespace.clone().unwrap(), h.repo_tags[0].clone())).collect();
    assert!(owners.contains(&("default".into(), "docker.io/local/edge:latest".into())), "{owners:?}");
    assert!(owners.iter().any(|(ns, _)| ns == "team"), "{owners:?}");
    assert!(hits.iter().all(|h| h.size == 1 << 20 && h.change == ChangeKind::Added));

    // The same answers as the Docker view of the same images.
    let docker = basic();
    let edge = imagestore::store_analysis::ImageRef::Containerd {
        namespace: "default".into(),
        name: "docker.io/local/edge:latest".into(),
    };
    let ours = serde_json::to_value(block_on(store.largest_files_of(edge, 5)).unwrap()).unwrap();
    let theirs = serde_json::to_value(block_on(docker.largest_files_of("local/edge:latest", 5)).unwrap()).unwrap();
    assert_eq!(ours, theirs);
    assert!(ours.as_array().unwrap().iter().any(|f| f["path"] == "/data/blob.bin"), "{ours}");
}

#[test]
fn largest_files_of_an_image_and_of_the_store() {
    let store = basic();
    let merged = block_on(store.merged_files("local/edge:latest")).unwrap();
    let top = block_on(store.largest_files_of("local/edge:latest", 10)).unwrap();
    // Checked against the merged tree: the 10 largest non-directories, largest first.
    let mut files: Vec<(i64, String)> =
        merged.values().filter(|f| f.kind != "dir").map(|f| (-f.size, f.path.clone())).collect();
    files.sort();
    let want: Vec<(i64, String)> = files.into_iter().take(10).collect();
    let got: Vec<(i64, String)> = top.iter().map(|f| (-f.size, f.path.clone())).collect();
    assert_eq!(got, want);
    let blob = top.iter().find(|f| f.path == "/data/blob.bin").expect("edge's 1 MiB blob");
    assert_eq!((blob.layer, blob.size), (6, 1 << 20));

    let stored = block_on(store.largest_files_in_store(20)).unwrap().files;
    assert!(stored.windows(2).all(|w| w[0].size >= w[1].size));
    let blob = stored.iter().find(|f| f.path == "/data/blob.bin").expect("edge's blob");
    // Listed once, with every image that has its layer (edge and its intermediate images).
    assert_eq!(stored.iter().filter(|f| f.path == "/data/blob.bin").count(), 1);
    assert!(blob.images.iter().all(|o| o.layer == 6), "{:?}", blob.images);
    assert!(blob.images.iter().any(|o| o.repo_tags.contains(&"local/edge:latest".to_string())));
    // Every listed file is one a layer of each listed image added or changed.
    for f in &stored {
        for owner in &f.images {
            let layers = block_on(store.layer_changes(owner.image.as_str())).unwrap();
            assert!(layers[owner.layer].changes.iter().any(|c| c.path == f.path && c.size == f.size), "{f:?}");
        }
    }
    // Larger than any file the store does not list.
    let smallest = stored.last().unwrap().size;
    for img in store.docker().images.map() {
        for l in block_on(store.layer_changes(img.id().as_str())).unwrap() {
            for c in l.changes.iter().filter(|c| c.change != ChangeKind::Removed && c.kind != "dir") {
                assert!(c.size <= smallest || stored.iter().any(|f| f.path == c.path && f.size == c.size), "{c:?}");
            }
        }
    }
}

/// What each layer of `changes/app:1` did (its Dockerfile step: tests/fixtures/docker20/changes/
/// make.sh), as (change, path, type, size delta). Each layer tar also lists the folders its
/// files are in, unchanged (expected/layers.txt lists the real tars).
#[test]
fn each_layer_of_a_real_image_reports_what_its_step_changed() {
    use ChangeKind::{Added as A, Modified as M, Removed as R};
    let want: [&[(ChangeKind, &str, &str, i64)]; 11] = [
        &[],                                // the base: everything added (checked below)
        &[(M, "/srv/same.txt", "file", 0)], // other bytes, same size: only the CRC-64 differs
        &[(M, "/srv/mode.txt", "file", 0)],
        &[(M, "/srv/owner.txt", "file", 0)],
        &[
            (M, "/srv/dir-to-file", "file", 11),
            (R, "/srv/dir-to-file/sub", "dir", 0),
            (R, "/srv/dir-to-file/sub/y", "file", -2),
            (R, "/srv/dir-to-file/x", "file", -2),
        ],
        &[(M, "/srv/file-to-dir", "dir", -5), (A, "/srv/file-to-dir/in.txt", "file", 3)],
        &[
            (R, "/etc/conf.d/a.conf", "file", -2),
            (R, "/etc/conf.d/b.conf", "file", -2),
            (A, "/etc/conf.d/c.conf", "file", 2),
        ],
        &[(M, "/srv/link", "symlink", 0)],
        &[(R, "/etc/motd", "file", -4), (A, "/opt/hard", "file", 5)],
        // The copy is new; the original was only touched (its time): not a change.
        &[(A, "/opt/big-copy.bin", "file", 65536)],
        &[(M, "/opt/big.bin", "file", 0)],
    ];
    for tar in ["image-store.tar", "docker-save.tar"] {
        let store = if tar == "image-store.tar" {
            block_on(store_from_fixture(&format!("tests/fixtures/docker20/changes/{tar}")))
        } else {
            let mut s = block_on(Store::open(MemoryBackend::new())).unwrap();
            let bytes = read_fixture(&format!("tests/fixtures/docker20/changes/{tar}"));
            block_on(s.import(futures::stream::iter(vec![Ok(bytes)]), Default::default())).unwrap();
            s
        };
        let layers = block_on(store.layer_changes("changes/app:1")).unwrap();
        assert_eq!(layers.len(), want.len(), "{tar}: layers (the empty step has none)");
        assert!(
            layers[0].changes.iter().all(|c| c.change == A) && layers[0].changes.len() > 20,
            "{tar}: the base adds"
        );
        for (i, (got, want)) in layers.iter().zip(want).enumerate().skip(1) {
            let got: Vec<(ChangeKind, &str, &str, i64)> =
                got.changes.iter().map(|c| (c.change, c.path.as_str(), c.kind, c.size_delta)).collect();
            assert_eq!(got, *want, "{tar}: layer {i} ({})", layers[i].command);
        }
    }
}

/// The memory backend, counting the reads of blob packs.
#[derive(Clone, Default)]
struct PackReadCounting {
    inner: MemoryBackend,
    pack_reads: std::rc::Rc<std::cell::Cell<usize>>,
}

impl imagestore::storage::Backend for PackReadCounting {
    async fn get(&self, space: imagestore::storage::Space, key: &str) -> imagestore::Result<Option<Vec<u8>>> {
        if key.starts_with(imagestore::schema::BLOB_PACKS) {
            self.pack_reads.set(self.pack_reads.get() + 1);
        }
        self.inner.get(space, key).await
    }
    async fn scan(
        &self,
        space: imagestore::storage::Space,
        prefix: &str,
    ) -> imagestore::Result<Vec<(String, Vec<u8>)>> {
        self.inner.scan(space, prefix).await
    }
    async fn keys(&self, space: imagestore::storage::Space, prefix: &str) -> imagestore::Result<Vec<String>> {
        self.inner.keys(space, prefix).await
    }
    async fn commit(&self, ops: Vec<imagestore::storage::Op>) -> imagestore::Result<()> {
        self.inner.commit(ops).await
    }
}

#[test]
fn store_wide_reads_of_small_blobs_read_each_blob_pack_once() {
    use imagestore::storage::{Backend, Op, Space};
    let backend = PackReadCounting::default();
    let bytes = read_fixture("tests/fixtures/docker20/scale200/image-store.tar");
    block_on(async {
        let mut store = Store::open(backend.clone()).await.unwrap();
        store.import(chunked(&bytes, 1 << 20), ImportOptions::default()).await.unwrap();
    });
    let splits: BTreeSet<Digest> = block_on(Store::open(backend.clone()))
        .unwrap()
        .docker()
        .layers
        .records()
        .filter_map(|l| l.tar_split.clone())
        .collect();
    // The packs they are in (at the width the store's packs have): fewer than the blobs (one
    // read per blob would be one per blob).
    let existing: BTreeSet<String> =
        block_on(backend.keys(Space::Meta, imagestore::schema::BLOB_PACKS)).unwrap().into_iter().collect();
    let packs_of = |ds: &mut dyn Iterator<Item = &Digest>| {
        use imagestore::storage::pack_family::Width;
        ds.map(|d| {
            [Width::Wide, Width::Narrow]
                .map(|w| imagestore::schema::blob_pack(d, w))
                .into_iter()
                .find(|k| existing.contains(k))
                .expect("every blob is in a pack")
        })
        .collect::<BTreeSet<_>>()
        .len()
    };
    let split_packs = packs_of(&mut splits.iter());
    assert!(split_packs < splits.len(), "{} tar-splits in {split_packs} packs", splits.len());
    // The search index worked out from scratch reads every layer's tar-split: each pack once.
    block_on(backend.commit(vec![Op::DeletePrefix { space: Space::Meta, prefix: "analysis/".into() }])).unwrap();
    let store = block_on(Store::open(backend.clone())).unwrap();
    backend.pack_reads.set(0);
    let update = block_on(store.update_search_index()).unwrap();
    assert!(update.skipped.is_empty() && update.added > 0);
    assert_eq!(backend.pack_reads.get(), split_packs);
    // So do the configs of every image (an export of them all, a rebuilt summary).
    let ids: Vec<Digest> = store.docker().images.map().map(|i| i.id().clone()).collect();
    let config_packs = packs_of(&mut ids.iter());
    assert!(config_packs < ids.len());
    backend.pack_reads.set(0);
    block_on(store.load_configs(ids.iter())).unwrap();
    assert_eq!(backend.pack_reads.get(), config_packs);
    assert!(ids.iter().all(|id| store.docker().images.get(id).unwrap().config.is_loaded()));
}
