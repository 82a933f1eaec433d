//! The packed record layout (`imagestore::docker::packed`): the Docker view's records live in
//! shards, not one record each; a store written by the previous version (single records) opens
//! with the same answers and is packed; a mutation rewrites only the shards it touches; a
//! damaged shard is `data_corrupt`, naming it.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use futures::executor::block_on;
use imagestore::docker::packed;
use imagestore::schema::{self, docker as keys};
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::pack_family::Width;
use imagestore::storage::{Op, Space};
use imagestore::store::Store;
use serde_json::Value;
use std::collections::BTreeMap;
use support::docker_fixture::{commit, engine_answers as answers, meta_records, reopen, store_from_fixture};

const BASIC: &str = "tests/fixtures/docker20/basic/image-store.tar";
const SCALE200: &str = "tests/fixtures/docker20/scale200/image-store.tar";

fn meta(backend: &MemoryBackend) -> BTreeMap<String, Vec<u8>> {
    meta_records(backend, "")
}

/// The single records (the previous version's layout) in storage.
fn single_records(backend: &MemoryBackend) -> Vec<String> {
    meta(backend).into_keys().filter(|k| keys::PACKED_KINDS.iter().any(|(p, _)| k.starts_with(p))).collect()
}

/// Rewrites the store as the previous version wrote it: one record per key, no shards.
fn unpack(backend: &MemoryBackend) {
    let mut ops = vec![Op::DeletePrefix { space: Space::Meta, prefix: keys::PACKED.into() }];
    for (key, value) in meta(backend) {
        let Some((kind, _)) = keys::packed_shard_parts(&key) else { continue };
        let prefix = keys::PACKED_KINDS.iter().find(|(_, name)| *name == kind).unwrap().0;
        for (rest, v) in packed::decode(&key, &value).unwrap() {
            ops.push(Op::put_meta(format!("{prefix}{rest}"), v.to_vec()));
        }
    }
    commit(backend, ops);
}

#[test]
fn an_import_writes_shards_only_and_a_reopen_answers_the_same() {
    let store = block_on(store_from_fixture(SCALE200));
    assert_eq!(single_records(store.backend()), Vec::<String>::new());
    let shards = meta(store.backend()).into_keys().filter(|k| k.starts_with(keys::PACKED)).count();
    // 601 images, 201 layers and their references: small kinds, so narrow (at most 4 shards
    // each; 6 × 64 wide).
    assert!((3..=6 * 4).contains(&shards), "{shards} shards");
    for (key, value) in meta(store.backend()).into_iter().filter(|(k, _)| k.starts_with(keys::PACKED)) {
        let (kind, name) = keys::packed_shard_parts(&key).unwrap();
        assert_eq!(Width::of_name(name), Some(Width::Narrow), "{key}");
        for (rest, _) in packed::decode(&key, &value).unwrap() {
            let prefix = keys::PACKED_KINDS.iter().find(|(_, n)| *n == kind).unwrap().0;
            let want = packed::shard_key(&format!("{prefix}{rest}"), Width::Narrow);
            assert_eq!(want.as_deref(), Some(key.as_str()), "in its shard");
        }
    }
    assert_eq!(answers(&reopen(store.backend())), answers(&store));
}

#[test]
fn a_store_of_single_records_opens_the_same_and_is_packed() {
    for fixture in [BASIC, SCALE200] {
        let store = block_on(store_from_fixture(fixture));
        let before = answers(&store);
        let packed_layout = meta(store.backend());
        unpack(store.backend());
        assert!(!single_records(store.backend()).is_empty());
        let reopened = reopen(store.backend());
        assert_eq!(answers(&reopened), before, "{fixture}");
        // Packed by the open, into the shards an import writes; nothing else changed.
        assert_eq!(single_records(store.backend()), Vec::<String>::new());
        let mut now = meta(store.backend());
        let mut was = packed_layout;
        now.remove(schema::GENERATION);
        was.remove(schema::GENERATION);
        assert_eq!(now, was, "{fixture}");
        assert_eq!(answers(&reopen(store.backend())), before);
    }
}

#[test]
fn changes_before_the_store_is_packed_read_and_write_both_layouts() {
    // The packing commit of an open may fail (or lose a race): the store then works on single
    // records until the next open packs them, and every change in between must hold.
    let store = block_on(store_from_fixture(BASIC));
    // The same changes on a store of its own, packed all along.
    let mut expected = block_on(store_from_fixture(BASIC));
    let want_untag = block_on(expected.remove_image("local/base:1", false, false)).unwrap();
    unpack(store.backend());
    store.backend().fail_next_commit_after(0);
    let mut old = reopen(store.backend());
    assert!(!single_records(store.backend()).is_empty(), "the packing commit failed");
    let id = old.docker().images.map().next().unwrap().id().to_string();
    block_on(old.tag_image(&id, "packed/test", "one")).unwrap();
    block_on(expected.tag_image(&id, "packed/test", "one")).unwrap();
    assert_eq!(block_on(old.remove_image("local/base:1", false, false)).unwrap(), want_untag);
    // Both layouts in storage now; the next open reads them together, then packs them.
    assert!(!single_records(store.backend()).is_empty());
    let reopened = reopen(store.backend());
    assert_eq!(single_records(store.backend()), Vec::<String>::new());
    let mut want = answers(&expected);
    let mut got = answers(&reopened);
    // Tag times differ between the two stores; everything else must not.
    for v in [&mut want, &mut got] {
        for (_, pair) in v["images"].as_object_mut().unwrap() {
            pair[0]["Metadata"] = Value::Null;
        }
    }
    assert_eq!(got, want);
    assert!(reopened.inspect_image("local/base:1").is_err(), "a deleted single record stays deleted");
    assert!(reopened.inspect_image("packed/test:one").is_ok());
}

#[test]
fn a_tag_rewrites_one_reference_shard() {
    let mut store = block_on(store_from_fixture(SCALE200));
    let before = meta(store.backend());
    let id = store.docker().images.map().next().unwrap().id().to_string();
    block_on(store.tag_image(&id, "packed/test", "one")).unwrap();
    let after = meta(store.backend());
    let changed: Vec<&String> = after
        .keys()
        .chain(before.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // The new reference, and the image's record (its LastTagTime), in their (narrow) shards.
    let mut want = [
        packed::shard_key(&keys::reference("packed/test:one"), Width::Narrow).unwrap(),
        packed::shard_key(&keys::image(&id.parse().unwrap()), Width::Narrow).unwrap(),
        schema::GENERATION.to_string(),
    ];
    want.sort();
    assert_eq!(changed, want.iter().collect::<Vec<_>>());
}

/// Rewrites every packed kind as the previous version wrote it: 64 wide shards per kind.
fn widen(backend: &MemoryBackend) {
    let mut ops = vec![Op::DeletePrefix { space: Space::Meta, prefix: keys::PACKED.into() }];
    let mut wide: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for (key, value) in meta(backend) {
        let Some((kind, _)) = keys::packed_shard_parts(&key) else { continue };
        let prefix = keys::PACKED_KINDS.iter().find(|(_, name)| *name == kind).unwrap().0;
        for (rest, v) in packed::decode(&key, &value).unwrap() {
            let shard = packed::shard_key(&format!("{prefix}{rest}"), Width::Wide).unwrap();
            wide.entry(shard).or_default().insert(rest.to_string(), v.to_vec());
        }
    }
    ops.extend(wide.iter().map(|(key, entries)| Op::put_meta(key.clone(), packed::encode(entries))));
    commit(backend, ops);
}

#[test]
fn a_store_with_the_previous_versions_wide_shards_opens_the_same_and_stays_wide() {
    let mut store = block_on(store_from_fixture(SCALE200));
    let before = answers(&store);
    widen(store.backend());
    let wide_layout = meta(store.backend());
    assert!(wide_layout.keys().filter(|k| k.starts_with(keys::PACKED)).count() > 64);
    let mut reopened = reopen(store.backend());
    assert_eq!(answers(&reopened), before);
    let mut now = meta(store.backend());
    now.remove(schema::GENERATION);
    let mut was = wide_layout;
    was.remove(schema::GENERATION);
    assert_eq!(now, was, "the open rewrote nothing");
    // A tag rewrites the wide shards of its records; no narrow shard appears.
    let id = reopened.docker().images.map().next().unwrap().id().to_string();
    block_on(reopened.tag_image(&id, "packed/test", "wide")).unwrap();
    let shards: Vec<String> = meta(store.backend()).into_keys().filter(|k| k.starts_with(keys::PACKED)).collect();
    assert!(shards.iter().all(|k| Width::of_name(keys::packed_shard_parts(k).unwrap().1) == Some(Width::Wide)));
    assert!(shards.contains(&packed::shard_key(&keys::reference("packed/test:wide"), Width::Wide).unwrap()));
    store = reopen(store.backend());
    block_on(store.load_config_of("packed/test:wide")).unwrap();
    assert_eq!(store.inspect_image("packed/test:wide").unwrap()["Id"], Value::String(id));
}

#[test]
fn a_damaged_shard_fails_the_open_and_names_itself() {
    let store = block_on(store_from_fixture(BASIC));
    let (key, mut value) =
        meta(store.backend()).into_iter().find(|(k, _)| k.starts_with(&format!("{}layer/", keys::PACKED))).unwrap();
    *value.last_mut().unwrap() ^= 0x40;
    commit(store.backend(), vec![Op::put_meta(key.clone(), value)]);
    let e = block_on(Store::open(store.backend().clone())).err().expect("a damaged shard is not trusted");
    assert_eq!(e.code, imagestore::ErrorCode::DataCorrupt);
    assert!(e.message.contains(&key), "{e}");
}

#[test]
fn a_record_found_in_two_shards_keeps_the_later_shards_value_and_opens_in_key_order() {
    // A damaged store: one image record also sits in another image shard, with another value
    // (built locally). The open reads the shards in key order and the later shard's value wins,
    // as a map filled in scan order gives; every other image opens as before.
    let store = block_on(store_from_fixture(SCALE200));
    let before = answers(&store);
    let records = meta(store.backend());
    let image_shards: Vec<(&String, &Vec<u8>)> =
        records.iter().filter(|(k, _)| k.starts_with(&format!("{}image/", keys::PACKED))).collect();
    let (first_key, first_value) = image_shards[0];
    let (last_key, last_value) = image_shards[image_shards.len() - 1];
    let (rest, value) = packed::decode(first_key, first_value).unwrap()[0];
    let mut record: Value = serde_json::from_slice(value).unwrap();
    assert_eq!(record["built_locally"], Value::Bool(false), "{record}");
    record["built_locally"] = Value::Bool(true);
    let mut entries: BTreeMap<String, Vec<u8>> =
        packed::decode(last_key, last_value).unwrap().into_iter().map(|(k, v)| (k.to_string(), v.to_vec())).collect();
    entries.insert(rest.to_string(), serde_json::to_vec(&record).unwrap());
    commit(store.backend(), vec![Op::put_meta(last_key.clone(), packed::encode(&entries))]);

    let reopened = reopen(store.backend());
    let id = imagestore::digest::Digest::parse(record["id"].as_str().unwrap()).unwrap();
    assert!(reopened.docker().images.is_built_locally(&id).unwrap(), "the later shard's value");
    assert_eq!(reopened.docker().images.len(), store.docker().images.len(), "loaded once");
    assert_eq!(answers(&reopened), before);
}
