//! The config summary (`imagestore::docker::summary`): a reopen takes what the list needs of
//! every config from it and reads no config blob (a config is read when an image is inspected),
//! and when it is missing (a store written before it existed), stale (another version, e.g. the
//! previous release's, which held the config bytes) or corrupt, the store opens with the same
//! answers from the blobs and the summary is rewritten; mutations keep it in step in the same
//! commit.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use futures::executor::block_on;
use imagestore::digest::Digest;
use imagestore::docker::lazy_config::{ConfigFacts, LazyConfig, LazyLabels};
use imagestore::docker::summary;
use imagestore::formats::image_config::ImageConfig;
use imagestore::schema::{self, docker as keys};
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::pack_family::Width;
use imagestore::storage::{Op, Space};
use imagestore::store::Store;
use serde_json::Value;
use std::collections::BTreeMap;
use support::docker_fixture::{commit, engine_answers as answers, meta_records, reopen, store_from_fixture};

const BASIC: &str = "tests/fixtures/docker20/basic/image-store.tar";

fn imported() -> Store<MemoryBackend> {
    block_on(store_from_fixture(BASIC))
}

fn shards(backend: &MemoryBackend) -> BTreeMap<String, Vec<u8>> {
    meta_records(backend, keys::SUMMARY)
}

/// Makes every config blob unreadable (drops its record): an open that still lists read
/// nothing but the summary.
fn drop_config_blobs(store: &Store<MemoryBackend>) {
    let ops = store.docker().images.map().map(|i| Op::delete_meta(schema::blob(i.id()))).collect();
    commit(store.backend(), ops);
}

/// The summary lists exactly the store's images, each with the list facts of its config.
fn assert_summary_matches(store: &Store<MemoryBackend>) {
    let mut listed = BTreeMap::new();
    for (key, value) in shards(store.backend()) {
        for (id, config) in summary::decode(&value).unwrap_or_else(|why| panic!("{key}: {why}")) {
            let width = store.docker().summary_width;
            assert_eq!(summary::shard_of(&id, width), key[keys::SUMMARY.len()..], "{id} in the wrong shard");
            listed.insert(id, config.facts().clone());
        }
    }
    let want: BTreeMap<Digest, ConfigFacts> = store
        .docker()
        .images
        .map()
        .map(|i| {
            let raw = block_on(imagestore::storage::blobs::read_all(store.backend(), i.id())).unwrap();
            (i.id().clone(), ConfigFacts::of(&ImageConfig::parse(raw).unwrap()))
        })
        .collect();
    assert_eq!(listed, want);
}

/// Reopens the store: nothing skipped, the answers of `before`, and a summary that matches.
fn assert_reopens_with(backend: &MemoryBackend, before: &Value) -> Store<MemoryBackend> {
    let reopened = reopen(backend);
    assert!(reopened.restore_skipped().is_empty(), "{:?}", reopened.restore_skipped());
    assert_eq!(&answers(&reopened), before);
    assert_summary_matches(&reopened);
    reopened
}

/// The image list (what a reopen must answer without reading any config).
fn list(store: &Store<MemoryBackend>) -> Value {
    store.list_images(true, true, &BTreeMap::new()).unwrap()
}

fn loaded(store: &Store<MemoryBackend>) -> usize {
    store.docker().images.map().filter(|i| i.config.is_loaded()).count()
}

#[test]
fn an_import_writes_the_summary_and_a_reopen_reads_no_config_blob() {
    let store = imported();
    assert_summary_matches(&store);
    let before = list(&store);
    drop_config_blobs(&store);
    let reopened = reopen(store.backend());
    assert!(reopened.restore_skipped().is_empty(), "{:?}", reopened.restore_skipped());
    assert_eq!(list(&reopened), before);
    assert_eq!(loaded(&reopened), 0);
}

#[test]
fn a_store_without_summary_opens_from_the_blobs_and_gets_one() {
    // What a store written before the summary existed looks like.
    let store = imported();
    let before = answers(&store);
    commit(store.backend(), vec![Op::DeletePrefix { space: Space::Meta, prefix: keys::SUMMARY.into() }]);
    assert!(shards(store.backend()).is_empty());
    let reopened = reopen(store.backend());
    assert_eq!(answers(&reopened), before);
    assert_summary_matches(&reopened);
    // The rebuilt summary is what the next open uses.
    let list_before = list(&reopened);
    drop_config_blobs(&reopened);
    let again = reopen(store.backend());
    assert_eq!((list(&again), loaded(&again)), (list_before, 0));
}

/// Replaces every shard by `damage(shard key, record)`, reopens, and checks that the answers
/// are the ones from before and the summary was rewritten correctly.
fn check_rebuilt_after(damage: impl Fn(&str, Vec<u8>) -> Vec<u8>) {
    let store = imported();
    let before = answers(&store);
    let ops = shards(store.backend())
        .into_iter()
        .map(|(key, value)| {
            let damaged = damage(&key, value);
            Op::put_meta(key, damaged)
        })
        .collect();
    commit(store.backend(), ops);
    assert_reopens_with(store.backend(), &before);
}

#[test]
fn a_shard_of_another_version_is_not_trusted_and_is_rebuilt() {
    // Well-formed and checksummed, but another version, and with every image's facts changed:
    // if it were used, the list would change.
    check_rebuilt_after(|_, record| {
        let entries: Vec<(Digest, LazyConfig)> = summary::decode(&record)
            .unwrap()
            .into_iter()
            .map(|(id, c)| {
                let mut facts = c.facts().clone();
                facts.created.0 += 3600;
                facts.labels =
                    LazyLabels::decoded(Some([("poisoned".to_string(), "yes".to_string())].into_iter().collect()));
                (id, LazyConfig::summarized(facts))
            })
            .collect();
        let mut poisoned = summary::encode(entries.iter().map(|(id, c)| (id, c)));
        poisoned[4..8].copy_from_slice(&(summary::VERSION + 1).to_le_bytes());
        poisoned
    });
}

#[test]
fn a_corrupt_shard_is_not_trusted_and_is_rebuilt() {
    check_rebuilt_after(|_, mut record| {
        let last = record.len() - 2;
        record[last] ^= 0x20;
        record
    });
    check_rebuilt_after(|_, record| record[..record.len() / 2].to_vec());
    check_rebuilt_after(|_, _| b"not a summary".to_vec());
}

#[test]
fn a_shard_listing_a_removed_image_does_not_bring_it_back() {
    // A writer that does not know the summary (an older version in another tab) removes an
    // image: its shard still lists it, but the image records decide.
    let mut store = imported();
    let stale = shards(store.backend());
    let victim = store.docker().images.heads().next().unwrap().id().clone();
    block_on(store.remove_image(victim.as_str(), true, false)).unwrap();
    let after = answers(&store);
    commit(store.backend(), stale.into_iter().map(|(k, v)| Op::put_meta(k, v)).collect());
    let reopened = reopen(store.backend());
    assert!(!reopened.docker().images.contains(&victim));
    assert_eq!(answers(&reopened), after);
    assert_summary_matches(&reopened);
}

#[test]
fn removals_rewrite_only_their_shards_in_the_same_commit() {
    let mut store = imported();
    let before = shards(store.backend());
    let victim = store.docker().images.heads().next().unwrap().id().clone();
    let removed = block_on(store.remove_image(victim.as_str(), true, false)).unwrap();
    let after = shards(store.backend());
    let gone: Vec<Digest> = removed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| Digest::parse(item.get("Deleted")?.as_str()?).ok())
        .collect();
    assert!(gone.contains(&victim));
    let touched: std::collections::BTreeSet<String> =
        gone.iter().map(|d| keys::summary_shard(&summary::shard_of(d, store.docker().summary_width))).collect();
    for (key, value) in &before {
        if !touched.contains(key) {
            assert_eq!(after.get(key), Some(value), "{key} changed though no image of it did");
        }
    }
    assert_summary_matches(&store);
    let some_image = store.docker().images.map().next().unwrap().id().clone();
    block_on(store.tag_image(some_image.as_str(), "x/y", "z")).unwrap();
    assert_eq!(shards(store.backend()), after, "a tag touches no config");
    assert_eq!(answers(&reopen(store.backend())), answers(&store));
}

#[test]
fn a_reopen_reads_no_config_until_one_is_inspected() {
    let store = imported();
    let before = answers(&store);
    let reopened = reopen(store.backend());
    assert_eq!(loaded(&reopened), 0, "the open read configs");
    reopened.list_images(true, false, &BTreeMap::new()).unwrap();
    let mut filters = BTreeMap::new();
    filters.insert("label".to_string(), vec!["nope".to_string()]);
    reopened.list_images(true, false, &filters).unwrap();
    assert_eq!(loaded(&reopened), 0, "listing (with a label filter) read configs");
    let some = reopened.docker().images.map().next().unwrap().id().to_string();
    // Inspect needs the whole config: without reading it first it is a clear error, no guess.
    assert_eq!(reopened.inspect_image(&some).unwrap_err().code, imagestore::ErrorCode::Internal);
    block_on(reopened.load_config_of(&some)).unwrap();
    reopened.inspect_image(&some).unwrap();
    assert_eq!(loaded(&reopened), 1, "inspect reads exactly the image it shows");
    // A copy of the state (what a mutation works on) shares what was read.
    assert_eq!(reopened.preview_docker(|d, _| Ok(d.images.map().filter(|i| i.config.is_loaded()).count())).unwrap(), 1);
    assert_eq!(answers(&reopened), before);
}

/// A shard as version 1 wrote it: the config bytes only.
fn encode_v1(entries: &[(Digest, Vec<u8>)]) -> Vec<u8> {
    let mut body = (entries.len() as u32).to_le_bytes().to_vec();
    for (id, raw) in entries {
        body.push(id.as_str().len() as u8);
        body.extend_from_slice(id.as_str().as_bytes());
        body.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        body.extend_from_slice(raw);
    }
    shard_record(1, body)
}

/// A shard as version 2 wrote it: the list facts, then the config bytes.
fn encode_v2(entries: &[(Digest, Vec<u8>)]) -> Vec<u8> {
    let mut body = (entries.len() as u32).to_le_bytes().to_vec();
    for (id, raw) in entries {
        let facts = ConfigFacts::of(&ImageConfig::parse(raw.clone()).unwrap());
        body.push(id.as_str().len() as u8);
        body.extend_from_slice(id.as_str().as_bytes());
        let top = facts.top_layer.as_ref().map_or("", |t| t.as_str());
        body.push(top.len() as u8);
        body.extend_from_slice(top.as_bytes());
        body.extend_from_slice(&facts.created.0.to_le_bytes());
        body.extend_from_slice(&facts.created.1.to_le_bytes());
        body.push(u8::from(facts.has_container_config) | if facts.labels.get().is_some() { 2 } else { 0 });
        if let Some(labels) = facts.labels.get() {
            body.extend_from_slice(&(labels.len() as u32).to_le_bytes());
            for (k, v) in labels {
                for text in [k, v] {
                    body.extend_from_slice(&(text.len() as u32).to_le_bytes());
                    body.extend_from_slice(text.as_bytes());
                }
            }
        }
        body.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        body.extend_from_slice(raw);
    }
    shard_record(2, body)
}

/// A shard as version 4 (the release before labels were kept as JSON) wrote it: a table of the
/// layer digests, then per image its ID, facts and labels (each a length and its text), and the
/// indexes of its DiffIDs.
fn encode_v4(entries: &[(Digest, Vec<u8>)]) -> Vec<u8> {
    fn put_digest(out: &mut Vec<u8>, d: &Digest) {
        out.push(0);
        out.extend((0..32).map(|i| u8::from_str_radix(&d.hex()[2 * i..2 * i + 2], 16).unwrap()));
    }
    let mut table: Vec<Digest> = Vec::new();
    let mut index_of = |d: &Digest| match table.iter().position(|t| t == d) {
        Some(i) => i as u32,
        None => {
            table.push(d.clone());
            (table.len() - 1) as u32
        }
    };
    let mut images = (entries.len() as u32).to_le_bytes().to_vec();
    for (id, raw) in entries {
        let facts = ConfigFacts::of(&ImageConfig::parse(raw.clone()).unwrap());
        put_digest(&mut images, id);
        let top = facts.top_layer.as_ref().map_or(0, |t| index_of(t) + 1);
        images.extend_from_slice(&top.to_le_bytes());
        images.extend_from_slice(&facts.created.0.to_le_bytes());
        images.extend_from_slice(&facts.created.1.to_le_bytes());
        images.push(u8::from(facts.has_container_config) | if facts.labels.get().is_some() { 2 } else { 0 });
        if let Some(labels) = facts.labels.get() {
            images.extend_from_slice(&(labels.len() as u32).to_le_bytes());
            for text in labels.iter().flat_map(|(k, v)| [k, v]) {
                images.extend_from_slice(&(text.len() as u32).to_le_bytes());
                images.extend_from_slice(text.as_bytes());
            }
        }
        images.extend_from_slice(&(facts.diff_ids.len() as u32).to_le_bytes());
        for d in &facts.diff_ids {
            images.extend_from_slice(&index_of(d).to_le_bytes());
        }
    }
    let mut body = (table.len() as u32).to_le_bytes().to_vec();
    for d in &table {
        put_digest(&mut body, d);
    }
    body.extend_from_slice(&images);
    shard_record(4, body)
}

fn shard_record(version: u32, body: Vec<u8>) -> Vec<u8> {
    let mut out = b"isCS".to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

#[test]
fn a_store_written_by_a_previous_version_opens_and_gets_the_new_summary() {
    for encode in [encode_v1, encode_v2, encode_v4] {
        let store = imported();
        let before = answers(&store);
        let mut old: BTreeMap<String, Vec<(Digest, Vec<u8>)>> = BTreeMap::new();
        for img in store.docker().images.map() {
            // Previous versions wrote 256 shards (the wide width).
            old.entry(keys::summary_shard(&summary::shard_of(img.id(), Width::Wide)))
                .or_default()
                .push((img.id().clone(), img.config.get().unwrap().raw().to_vec()));
        }
        let mut ops = vec![Op::DeletePrefix { space: Space::Meta, prefix: keys::SUMMARY.into() }];
        ops.extend(old.iter().map(|(key, entries)| Op::put_meta(key.clone(), encode(entries))));
        commit(store.backend(), ops);
        let reopened = assert_reopens_with(store.backend(), &before);
        let list_before = list(&reopened);
        drop_config_blobs(&reopened);
        let again = reopen(store.backend());
        assert_eq!((list(&again), loaded(&again)), (list_before, 0));
    }
}
