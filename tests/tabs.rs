#![cfg(not(target_arch = "wasm32"))]
//! Several writers on one store (tabs, windows, workers, `Store` objects): two `Store` façades
//! over clones of one memory backend share its data exactly like two tabs share an IndexedDB
//! database, so these run natively what the Chromium tests (tests/e2e/tabs.test.mjs) run in
//! two pages. Every decision must be made on the current data, and nothing may be lost.

use futures::executor::block_on;
use futures::stream;
use imagestore::import::{ImportOptions, ImportReport};
use imagestore::storage::blobs::{self, BlobWriter};
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{generation, Backend, Op, Space};
use imagestore::store::{stream_import, Store};
use serde_json::Value;

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)).unwrap()
}

const DEMO: &str = "sha256:e6b5b37baed847a14b9ba55abe078d6dacff8a334097cb1e31cc2d83fe8ad783";

async fn import<B: Backend + Clone>(store: &mut Store<B>, rel: &str, namespace: Option<&str>) -> ImportReport {
    let options = ImportOptions { namespace: namespace.map(str::to_string), ..Default::default() };
    store.import(stream::iter(vec![Ok(fixture(rel))]), options).await.unwrap()
}

/// `REPOSITORY:TAG` of every tagged image, sorted.
fn tags<B: Backend + Clone>(store: &Store<B>) -> Vec<String> {
    let list = store.list_images(true, false, &Default::default()).unwrap();
    let mut out: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|img| img["RepoTags"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

/// Every image ID, sorted.
fn ids<B: Backend + Clone>(store: &Store<B>) -> Vec<String> {
    let list = store.list_images(true, false, &Default::default()).unwrap();
    let mut out: Vec<String> = list.as_array().unwrap().iter().map(|i| i["Id"].as_str().unwrap().to_string()).collect();
    out.sort();
    out
}

fn chunk_keys(b: &MemoryBackend) -> usize {
    b.len(Space::Chunks)
}

#[test]
fn removing_a_tag_of_an_image_another_tab_just_tagged_only_untags() {
    block_on(async {
        let backend = MemoryBackend::new();
        let mut a = Store::open(backend.clone()).await.unwrap();
        import(&mut a, "docker20/basic/image-store.tar", None).await;
        // Tab B opened the store before A's tag: its view has local/demo:1.0 as the only tag.
        let mut b = Store::open(backend.clone()).await.unwrap();
        a.tag_image("local/demo:1.0", "keep/me", "1").await.unwrap();

        let answer = b.remove_image("local/demo:1.0", false, false).await.unwrap();
        // One dockerd holding both tags answers with the untag only.
        assert_eq!(answer, serde_json::json!([{ "Untagged": "local/demo:1.0" }]), "{answer}");
        assert!(tags(&b).contains(&"keep/me:1".to_string()), "B's view now has A's tag");
        assert!(ids(&b).contains(&DEMO.to_string()), "the image is kept");

        // A's view and a fresh open agree with B.
        a.sync().await.unwrap();
        let reopened = Store::open(backend.clone()).await.unwrap();
        for (who, s) in [("A", &a), ("reopened", &reopened)] {
            assert!(tags(s).contains(&"keep/me:1".to_string()), "{who}");
            assert!(!tags(s).contains(&"local/demo:1.0".to_string()), "{who}");
        }
        assert_eq!(tags(&a), tags(&b));
        assert_eq!(ids(&a), ids(&b));
    });
}

#[test]
fn interleaved_tags_and_removals_from_two_stores_end_as_one_dockerd() {
    block_on(async {
        let backend = MemoryBackend::new();
        let mut a = Store::open(backend.clone()).await.unwrap();
        import(&mut a, "docker20/basic/image-store.tar", None).await;
        let mut b = Store::open(backend.clone()).await.unwrap();
        // The reference: one store that gets the same operations in the same order.
        let mut one = Store::open(MemoryBackend::new()).await.unwrap();
        import(&mut one, "docker20/basic/image-store.tar", None).await;

        type Step = (usize, &'static str, &'static str, &'static str);
        let steps: [Step; 10] = [
            (0, "tag", "local/demo:1.0", "a/one:1"),
            (1, "tag", "local/demo:1.0", "b/one:1"),
            (1, "rmi", "local/demo:1.0", ""),
            (0, "tag", "local/base:1", "a/two:1"),
            (1, "rmi", "local/base:latest", ""),
            (0, "rmi", "a/one:1", ""),
            (1, "tag", "a/two:1", "b/two:1"),
            (0, "rmi", "local/base:1", ""),
            (1, "rmi", "b/one:1", ""),
            (0, "rmi", "a/two:1", ""),
        ];
        for (who, op, name, arg) in steps {
            let stores: [&mut Store<MemoryBackend>; 2] = [&mut a, &mut b];
            let (tab, reference) = (stores.into_iter().nth(who).unwrap(), &mut one);
            match op {
                "tag" => {
                    let (repo, tag) = arg.split_once(':').unwrap();
                    let got = tab.tag_image(name, repo, tag).await.map_err(|e| e.code);
                    let want = reference.tag_image(name, repo, tag).await.map_err(|e| e.code);
                    assert_eq!(got, want, "tag {name} {arg}");
                }
                _ => {
                    let got = tab.remove_image(name, false, false).await.map_err(|e| e.code);
                    let want = reference.remove_image(name, false, false).await.map_err(|e| e.code);
                    assert_eq!(got, want, "rmi {name}");
                }
            }
        }
        a.sync().await.unwrap();
        b.sync().await.unwrap();
        assert_eq!(tags(&a), tags(&one));
        assert_eq!(ids(&a), ids(&one));
        assert_eq!(tags(&b), tags(&one));
        assert_eq!(ids(&b), ids(&one));
        assert!(tags(&one).contains(&"b/two:1".to_string()), "{:?}", tags(&one));
    });
}

#[test]
fn a_stale_import_merges_into_what_another_store_committed() {
    block_on(async {
        let backend = MemoryBackend::new();
        let mut a = Store::open(backend.clone()).await.unwrap();
        let mut b = Store::open(backend.clone()).await.unwrap();
        let first = import(&mut a, "docker20/basic/image-store.tar", None).await;
        assert!(first.images > 0);
        let chunks = chunk_keys(&backend);
        // B still sees an empty store; its import must find A's images and add nothing.
        let second = import(&mut b, "docker20/basic/image-store.tar", None).await;
        assert_eq!((second.images, second.layers, second.references, second.blobs), (0, 0, 0, 0));
        assert_eq!(chunk_keys(&backend), chunks, "B's copies of the blobs were discarded");
        assert_eq!(ids(&a), ids(&b));
    });
}

#[test]
fn four_imports_at_once_publish_each_blob_once() {
    block_on(async {
        // The reference: the four imports one after the other.
        let serial = MemoryBackend::new();
        let mut one = Store::open(serial.clone()).await.unwrap();
        let inputs: [(&str, Option<&str>); 4] = [
            ("docker20/basic/oci-archive.tar", Some("default")),
            ("docker20/basic/docker-save.tar", Some("default")),
            ("docker20/basic/docker-save.tar", None),
            ("docker20/basic/image-store.tar", None),
        ];
        for (rel, ns) in inputs {
            import(&mut one, rel, ns).await;
        }

        // The same four, all streamed before any commits (as four tabs or four concurrent
        // `import()` calls do), then committed by four stores.
        let backend = MemoryBackend::new();
        let mut staged = Vec::new();
        for (rel, ns) in inputs {
            let options = ImportOptions { namespace: ns.map(str::to_string), ..Default::default() };
            staged.push(stream_import(&backend, stream::iter(vec![Ok(fixture(rel))]), options).await.unwrap());
        }
        for finished in staged {
            let mut tab = Store::open(backend.clone()).await.unwrap();
            tab.commit_import(finished).await.unwrap();
        }
        assert_eq!(chunk_keys(&backend), chunk_keys(&serial), "no chunk set is left unreferenced");
        let referenced: std::collections::BTreeSet<String> = backend
            .scan(Space::Meta, "blob/")
            .await
            .unwrap()
            .into_iter()
            .map(|(k, v)| blobs::BlobRecord::decode(&k, &v).unwrap().chunks)
            .collect();
        for key in backend.keys(Space::Chunks, "").await.unwrap() {
            assert!(referenced.contains(key.rsplit_once('/').unwrap().0), "chunk {key} belongs to no blob");
        }
        let reopened = Store::open(backend.clone()).await.unwrap();
        assert_eq!(ids(&reopened), ids(&one));
        assert_eq!(tags(&reopened), tags(&one));
    });
}

#[test]
fn gc_sweeps_orphan_chunk_sets_of_this_session_at_once_and_keeps_staging_ones() {
    block_on(async {
        let backend = MemoryBackend::new();
        let mut store = Store::open(backend.clone()).await.unwrap();
        import(&mut store, "docker20/basic/image-store.tar", None).await;
        let chunks = chunk_keys(&backend);
        // What builds before this fix left behind: a blob record overwritten by a second copy,
        // whose first chunk set nobody references any more.
        let first = blobs::stage_bytes(&backend, b"published twice").await.unwrap();
        let second = blobs::stage_bytes(&backend, b"published twice").await.unwrap();
        backend.commit(first.ops.clone()).await.unwrap();
        backend.commit(second.ops.clone()).await.unwrap();
        // And one still being written by this session: it must survive.
        let mut writing = BlobWriter::new();
        writing.write(&backend, b"not finished").await.unwrap();
        let writing = writing.finish(&backend, None, None).await.unwrap();
        assert_eq!(chunk_keys(&backend), chunks + 3);

        let result = store.gc().await.unwrap();
        assert_eq!(result.swept_chunk_sets, 1, "{result:?}");
        assert!(backend.keys(Space::Chunks, &format!("{}/", first.set)).await.unwrap().is_empty());
        // GC also deleted the twice-published blob (no root keeps it): its live chunk set went
        // with its record.
        assert_eq!(result.deleted_blobs.len(), 1, "{result:?}");
        assert_eq!(chunk_keys(&backend), chunks + 1);
        backend.commit(writing.ops).await.unwrap();
        assert_eq!(blobs::read_all(&backend, &writing.digest).await.unwrap(), b"not finished");
        // The Docker view is intact.
        assert_eq!(ids(&store), ids(&Store::open(backend.clone()).await.unwrap()));
    });
}

#[test]
fn gc_decides_again_when_another_store_commits_meanwhile() {
    block_on(async {
        let backend = MemoryBackend::new();
        let mut store = Store::open(backend.clone()).await.unwrap();
        let at = generation::read(&backend).await.unwrap();
        // Another store adds a blob that GC, deciding at the old generation, would delete.
        let staged = blobs::stage_bytes(&backend, b"kept by a gc root").await.unwrap();
        backend.commit(staged.ops).await.unwrap();
        let containerd = imagestore::containerd::Containerd::new(backend.clone());
        let roots = std::collections::HashSet::from([staged.digest.clone()]);
        assert_eq!(containerd.gc_at(&Default::default(), &at).await.unwrap(), None, "stale: nothing deleted");
        assert!(blobs::stat(&backend, &staged.digest).await.unwrap().is_some());
        let now = generation::read(&backend).await.unwrap();
        let r = containerd.gc_at(&roots, &now).await.unwrap().unwrap();
        assert!(r.deleted_blobs.is_empty());
        let _ = store.sync().await.unwrap();
        backend.commit(vec![Op::put_meta("x", "y")]).await.unwrap();
        assert!(store.sync().await.unwrap(), "a commit by anyone makes the state reload");
    });
}

/// What a store holds, as a reopened store answers it: the whole image list (IDs, tags,
/// ParentId), every Docker record and the digests of the stored blobs.
async fn docker_answer(backend: &MemoryBackend) -> (Value, Vec<(String, Vec<u8>)>) {
    let store = Store::open(backend.clone()).await.unwrap();
    let list = store.list_images(true, false, &Default::default()).unwrap();
    let mut records = backend.scan(Space::Meta, "docker/").await.unwrap();
    // Stored blobs by digest (a tar-split no layer names would be left over here).
    let blobs = imagestore::storage::blobs::stored_digests(backend).await.unwrap();
    records.extend(blobs.into_iter().map(|d| (d.to_string(), Vec::new())));
    (list, records)
}

#[test]
fn the_same_imports_in_any_order_end_with_the_same_images_and_parent_links() {
    block_on(async {
        // A docker save keeps no parent links; the host's image store has them. Whichever
        // lands first, the merged store has the host's links (commits of concurrent imports
        // come in any order, so the order must not matter).
        let orders: [[&str; 2]; 2] = [
            ["docker20/basic/docker-save.tar", "docker20/basic/image-store.tar"],
            ["docker20/basic/image-store.tar", "docker20/basic/docker-save.tar"],
        ];
        let mut answers = Vec::new();
        for order in orders {
            let backend = MemoryBackend::new();
            let mut store = Store::open(backend.clone()).await.unwrap();
            for rel in order {
                import(&mut store, rel, None).await;
            }
            answers.push(docker_answer(&backend).await);
        }
        let parents = |list: &Value| -> Vec<String> {
            list.as_array().unwrap().iter().map(|i| i["ParentId"].as_str().unwrap().to_string()).collect()
        };
        assert!(parents(&answers[1].0).iter().any(|p| !p.is_empty()), "the host's store links some images to parents");
        assert_eq!(parents(&answers[0].0), parents(&answers[1].0));
        assert_eq!(answers[0].0, answers[1].0);
        let keys = |a: &(Value, Vec<(String, Vec<u8>)>)| a.1.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&answers[0]), keys(&answers[1]));
        for ((key, one), (_, other)) in answers[0].1.iter().zip(&answers[1].1) {
            assert!(
                one == other,
                "{key} differs:\n{}\n{}",
                String::from_utf8_lossy(one),
                String::from_utf8_lossy(other)
            );
        }
    });
}

/// A memory backend on which another writer commits once, just before this one's first commit
/// that is guarded on the store's generation: that commit then fails as stale (`refused`).
#[derive(Clone)]
struct Overtaken {
    inner: MemoryBackend,
    other_writer: std::rc::Rc<std::cell::RefCell<Option<futures::future::LocalBoxFuture<'static, ()>>>>,
    refused: std::rc::Rc<std::cell::Cell<bool>>,
}

impl Backend for Overtaken {
    async fn get(&self, space: Space, key: &str) -> imagestore::Result<Option<Vec<u8>>> {
        self.inner.get(space, key).await
    }
    async fn scan(&self, space: Space, prefix: &str) -> imagestore::Result<Vec<(String, Vec<u8>)>> {
        self.inner.scan(space, prefix).await
    }
    async fn keys(&self, space: Space, prefix: &str) -> imagestore::Result<Vec<String>> {
        self.inner.keys(space, prefix).await
    }
    async fn commit(&self, ops: Vec<Op>) -> imagestore::Result<()> {
        let guarded = ops.iter().any(|op| matches!(op, Op::RequireValue { key, .. } if key == generation::KEY));
        let other = if guarded { self.other_writer.borrow_mut().take() } else { None };
        let Some(other) = other else {
            return self.inner.commit(ops).await;
        };
        other.await;
        let result = self.inner.commit(ops).await;
        self.refused.set(result.is_err());
        result
    }
}

#[test]
fn an_import_overtaken_at_its_commit_plans_again_and_publishes_every_config() {
    block_on(async {
        // What the two imports give one after the other.
        let serial = MemoryBackend::new();
        let mut one = Store::open(serial.clone()).await.unwrap();
        import(&mut one, "docker20/changes/image-store.tar", None).await;
        let want = import(&mut one, "docker20/basic/image-store.tar", None).await;

        // A streams and plans basic's store; B commits the other store first.
        let inner = MemoryBackend::new();
        let mut b = Store::open(inner.clone()).await.unwrap();
        let other_writer = std::rc::Rc::new(std::cell::RefCell::new(None));
        let refused = std::rc::Rc::new(std::cell::Cell::new(false));
        let backend = Overtaken { inner: inner.clone(), other_writer: other_writer.clone(), refused: refused.clone() };
        let mut a = Store::open(backend.clone()).await.unwrap();
        let b_done = std::rc::Rc::new(std::cell::Cell::new(false));
        let done = b_done.clone();
        *other_writer.borrow_mut() = Some(Box::pin(async move {
            import(&mut b, "docker20/changes/image-store.tar", None).await;
            done.set(true);
        }) as futures::future::LocalBoxFuture<'static, ()>);
        let got = import(&mut a, "docker20/basic/image-store.tar", None).await;
        assert!(b_done.get() && refused.get(), "A's first commit came after B's and was refused");
        assert_eq!((got.images, got.layers, got.blobs), (want.images, want.layers, want.blobs));
        assert_eq!(ids(&a), ids(&one));
        assert_eq!(tags(&a), tags(&one));

        // Every config went into storage with the plan made again: a reopened store (which
        // keeps none in memory) reads each one from its blob, checked against the image ID.
        let reopened = Store::open(inner.clone()).await.unwrap();
        let all: Vec<imagestore::digest::Digest> = ids(&one).iter().map(|id| id.parse().unwrap()).collect();
        reopened.load_configs(all.iter()).await.unwrap();
        for id in ids(&one) {
            let mine = reopened.inspect_image(&id).unwrap();
            assert_eq!(mine, one.inspect_image(&id).unwrap(), "{id}");
        }
    });
}
