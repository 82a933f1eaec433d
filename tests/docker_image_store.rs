//! moby's image.Store, layer store and reference store semantics on small hand-made stores.
#![cfg(not(target_arch = "wasm32"))]

use futures::executor::block_on;
use imagestore::digest::{chain_id, Digest};
use imagestore::docker::layers::MAX_LAYER_DEPTH;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;
use imagestore::ErrorCode;

fn diff(n: u32) -> Digest {
    Digest::sha256_of(format!("layer {n}").as_bytes())
}

fn config(diffs: &[Digest], history_layers: usize, created: &str) -> Vec<u8> {
    let history: Vec<String> =
        (0..history_layers).map(|i| format!(r#"{{"created":"{created}","created_by":"step {i}"}}"#)).collect();
    let ids: Vec<String> = diffs.iter().map(|d| format!("\"{d}\"")).collect();
    format!(
        r#"{{"created":"{created}","os":"linux","config":{{"Labels":null}},"history":[{}],"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
        history.join(","),
        ids.join(",")
    )
    .into_bytes()
}

/// A store with a chain of `n` registered layers, returning their ChainIDs. As after a pull
/// that has not created its image yet, the top layer is still held by its registration; the
/// lower ones only by their children.
fn store_with_layers(n: u32) -> (Store<MemoryBackend>, Vec<Digest>) {
    block_on(async {
        let mut store = Store::open(MemoryBackend::new()).await.unwrap();
        let mut chains: Vec<Digest> = Vec::new();
        for i in 0..n {
            let parent = chains.last().cloned();
            let c = store
                .commit_docker(|d, tx| {
                    d.layers.register(tx, parent.as_ref(), diff(i), 10 + i as i64, format!("cache{i}"), None)
                })
                .await
                .unwrap();
            if let Some(p) = parent {
                store.commit_docker(|d, tx| d.layers.release(tx, &p)).await.unwrap();
            }
            chains.push(c);
        }
        (store, chains)
    })
}

#[test]
fn create_hashes_exact_bytes_and_needs_its_layers() {
    let (mut store, chains) = store_with_layers(2);
    block_on(async {
        let diffs = [diff(0), diff(1)];
        assert_eq!(chains[1], chain_id(&diffs).unwrap());
        let raw = config(&diffs, 2, "2024-01-02T03:04:05.123456789Z");
        let id = store.create_image(&raw).await.unwrap();
        assert_eq!(id, Digest::sha256_of(&raw));
        // Same bytes again: same ID, nothing new.
        assert_eq!(store.create_image(&raw).await.unwrap(), id);
        assert_eq!(store.docker().images.len(), 1);
        // Whitespace changes the bytes, hence the ID.
        let mut spaced = raw.clone();
        spaced.push(b'\n');
        assert_ne!(store.create_image(&spaced).await.unwrap(), id);
        // The top layer must exist; too many non-empty history entries are refused.
        let e = store.create_image(&config(&[diff(7)], 1, "2024-01-02T03:04:05Z")).await.unwrap_err();
        assert_eq!(
            (e.code, e.message.clone()),
            (ErrorCode::InvalidArgument, format!("failed to get layer {}", diff(7)))
        );
        let e = store.create_image(&config(&diffs, 3, "2024-01-02T03:04:05Z")).await.unwrap_err();
        assert_eq!(e.message, "too many non-empty layers in History section");
        let e = store.create_image(br#"{"os":"linux"}"#).await.unwrap_err();
        assert_eq!(e.message, "invalid image JSON, no RootFS key");
        assert_eq!(store.create_image(b"").await.unwrap_err().message, "invalid empty data");
        // Survives a reopen, config bytes included.
        let again = Store::open(store.backend().clone()).await.unwrap();
        let config = &again.docker().images.get(&id).unwrap().config;
        assert!(!config.is_loaded(), "a reopen reads no config");
        again.load_configs([&id]).await.unwrap();
        assert_eq!(config.get().unwrap().raw(), &raw[..]);
        assert_eq!(again.docker().images.len(), 2);
    });
}

#[test]
fn layers_are_reference_counted_and_released_top_first() {
    let (mut store, chains) = store_with_layers(3);
    block_on(async {
        let diffs = [diff(0), diff(1), diff(2)];
        let a = store.create_image(&config(&diffs, 3, "2024-01-01T00:00:00Z")).await.unwrap();
        let b = store.create_image(&config(&diffs, 3, "2024-01-01T00:00:01Z")).await.unwrap();
        // Registration + two images hold the top layer; each layer holds its parent.
        assert_eq!(store.docker().layers.references(&chains[2]), 3);
        assert_eq!(store.docker().layers.references(&chains[0]), 1);
        assert_eq!(store.docker().layers.size(&chains[2]).unwrap(), 10 + 11 + 12);
        let top = chains[2].clone();
        store.commit_docker(|d, tx| d.layers.release(tx, &top)).await.unwrap();
        let removed = store.commit_docker(|d, tx| d.images.delete(tx, &mut d.layers, &a)).await.unwrap();
        assert!(removed.is_empty());
        let removed = store.commit_docker(|d, tx| d.images.delete(tx, &mut d.layers, &b)).await.unwrap();
        let got: Vec<(Digest, i64, i64)> = removed.iter().map(|m| (m.chain_id.clone(), m.size, m.diff_size)).collect();
        assert_eq!(got, vec![(chains[2].clone(), 33, 12), (chains[1].clone(), 21, 11), (chains[0].clone(), 10, 10)]);
        assert!(store.docker().layers.is_empty());
        let e = store.commit_docker(|d, tx| d.images.delete(tx, &mut d.layers, &a)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        // Reopen agrees: nothing left.
        let again = Store::open(store.backend().clone()).await.unwrap();
        assert!(again.docker().layers.is_empty() && again.docker().images.is_empty());
    });
}

#[test]
fn layer_chains_stop_at_125() {
    let (mut store, chains) = store_with_layers(MAX_LAYER_DEPTH as u32);
    let top = chains.last().cloned().unwrap();
    let e = block_on(store.commit_docker(|d, tx| d.layers.register(tx, Some(&top), diff(999), 1, "x".into(), None)))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(e.message.contains("max depth exceeded"), "{}", e.message);
    assert_eq!(store.docker().layers.len(), MAX_LAYER_DEPTH);
}

#[test]
fn parents_children_metadata_and_search() {
    let (mut store, _) = store_with_layers(1);
    block_on(async {
        let base = store.create_image(&config(&[diff(0)], 1, "2024-01-01T00:00:00Z")).await.unwrap();
        let child = store.create_image(&config(&[diff(0)], 1, "2024-01-01T00:00:05Z")).await.unwrap();
        let empty = store.create_image(&config(&[], 0, "2024-01-01T00:00:09Z")).await.unwrap();
        store.commit_docker(|d, tx| d.images.set_parent(tx, &child, &base)).await.unwrap();
        let e = store
            .commit_docker(|d, tx| d.images.set_parent(tx, &child, &Digest::sha256_of(b"nope")))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        store.commit_docker(|d, tx| d.images.set_built_locally(tx, &child)).await.unwrap();
        store
            .commit_docker(|d, tx| d.images.set_last_updated(tx, &child, "2024-02-03T04:05:06.7Z".into()))
            .await
            .unwrap();
        for s in [&store, &Store::open(store.backend().clone()).await.unwrap()] {
            let imgs = &s.docker().images;
            assert_eq!(imgs.get_parent(&child).unwrap(), base);
            assert_eq!(imgs.children(&base), vec![child.clone()]);
            assert!(imgs.is_built_locally(&child).unwrap() && !imgs.is_built_locally(&base).unwrap());
            assert_eq!(imgs.get_last_updated(&child).unwrap().as_deref(), Some("2024-02-03T04:05:06.7Z"));
            assert_eq!(imgs.get_last_updated(&base).unwrap(), None);
            let mut heads: Vec<Digest> = imgs.heads().map(|i| i.id().clone()).collect();
            heads.sort();
            let mut want = vec![child.clone(), empty.clone()];
            want.sort();
            assert_eq!(heads, want);
            assert_eq!(imgs.search(&child.hex()[..10]).unwrap(), child);
            assert_eq!(imgs.search(child.as_str()).unwrap(), child);
        }
        // With three images the empty term is ambiguous; uppercase never matches.
        assert_eq!(store.search("").unwrap_err().code, ErrorCode::Ambiguous);
        assert_eq!(store.search(&base.hex()[..8].to_uppercase()).unwrap_err().code, ErrorCode::NotFound);
        // Deleting the parent unlinks the child (and its stored parent).
        store.commit_docker(|d, tx| d.images.delete(tx, &mut d.layers, &base)).await.unwrap();
        assert_eq!(store.docker().images.get_parent(&child).unwrap_err().code, ErrorCode::NotFound);
        let again = Store::open(store.backend().clone()).await.unwrap();
        assert!(again.docker().images.get(&child).unwrap().record.parent.is_none());
        // The shared layer is still held by `child`.
        assert_eq!(again.docker().layers.len(), 1);
    });
}

#[test]
fn reference_rules_follow_repositories_json() {
    let (mut store, _) = store_with_layers(1);
    block_on(async {
        let a = store.create_image(&config(&[diff(0)], 1, "2024-01-01T00:00:00Z")).await.unwrap();
        let b = store.create_image(&config(&[], 0, "2024-01-01T00:00:01Z")).await.unwrap();
        store.tag_image(a.as_str(), "busybox", "").await.unwrap();
        let repos = serde_json::to_value(store.docker().references.repository_map()).unwrap();
        assert_eq!(repos, serde_json::json!({ "busybox": { "busybox:latest": a.as_str() } }));
        // Normalised names find it; the full form lists it under its familiar name.
        for name in ["busybox", "busybox:latest", "docker.io/library/busybox", "index.docker.io/library/busybox:latest"]
        {
            assert_eq!(store.inspect_image(name).unwrap()["Id"], a.as_str(), "{name}");
        }
        // A digest reference can't be overwritten, not even by a forced add.
        let digested = format!("example.com/x@{}", Digest::sha256_of(b"manifest"));
        let r = imagestore_reference(&digested);
        store.commit_docker(|d, tx| d.references.add_digest(tx, &r, &a, false)).await.unwrap();
        let e = store.commit_docker(|d, tx| d.references.add_digest(tx, &r, &b, true)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Conflict);
        assert!(e.message.starts_with("Cannot overwrite digest"), "{}", e.message);
        // A tag moves only with force.
        let t = imagestore_reference("busybox:latest");
        let e = store.commit_docker(|d, tx| d.references.add_tag(tx, &t, &b, false)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Conflict);
        let e = store.commit_docker(|d, tx| d.references.add_tag(tx, &r, &b, false)).await.unwrap_err();
        assert_eq!(e.message, "refusing to create a tag with a digest reference");
        store.commit_docker(|d, tx| d.references.add_tag(tx, &t, &b, true)).await.unwrap();
        let again = Store::open(store.backend().clone()).await.unwrap();
        assert_eq!(again.docker().references.get(&t), Some(b.clone()));
        assert_eq!(
            again.docker().references.tags_and_digests(&a),
            (vec![], vec![format!("example.com/x@{}", Digest::sha256_of(b"manifest"))])
        );
    });
}

/// Parses a reference the way the engine does (through `tag_image`'s public path is too
/// indirect for these checks, so go through the inspect-free resolver instead).
fn imagestore_reference(s: &str) -> imagestore::docker::references::Reference {
    imagestore::docker::references::parse_reference(s).unwrap()
}

#[test]
fn short_id_search_follows_creates_and_deletes_before_and_after_its_first_use() {
    // The short-ID set is made on the first search; images created or deleted before it and
    // after it are found or not found alike.
    let (mut store, _) = store_with_layers(1);
    block_on(async {
        let first = store.create_image(&config(&[diff(0)], 1, "2024-01-01T00:00:00Z")).await.unwrap();
        let mut reopened = Store::open(store.backend().clone()).await.unwrap();
        let second = reopened.create_image(&config(&[diff(0)], 1, "2024-01-01T00:00:01Z")).await.unwrap();
        // Not searched yet on `reopened`: both are found on the first search.
        for id in [&first, &second] {
            assert_eq!(reopened.docker().images.search(&id.hex()[..12]).unwrap(), *id);
        }
        // Made now: a create and a delete keep it up to date.
        let third = reopened.create_image(&config(&[diff(0)], 1, "2024-01-01T00:00:02Z")).await.unwrap();
        assert_eq!(reopened.docker().images.search(&third.hex()[..12]).unwrap(), third);
        reopened.commit_docker(|d, tx| d.images.delete(tx, &mut d.layers, &first)).await.unwrap();
        assert_eq!(reopened.docker().images.search(&first.hex()[..12]).unwrap_err().code, ErrorCode::NotFound);
        // On a store object never searched, a delete before the first search leaves it out too.
        let mut again = Store::open(store.backend().clone()).await.unwrap();
        again.commit_docker(|d, tx| d.images.delete(tx, &mut d.layers, &second)).await.unwrap();
        assert_eq!(again.docker().images.search(&second.hex()[..12]).unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(again.docker().images.search(&third.hex()[..12]).unwrap(), third);
    });
}
