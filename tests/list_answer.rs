#![cfg(not(target_arch = "wasm32"))]
//! The saved image list answer (src/docker/list_answer.rs): what a page shows after a reload
//! before its store has opened. It must be the answer `listImages` gives for the store as it
//! is, or nothing: a missing, stale (another tab changed the store), damaged or other-version
//! record is not used, and saving again rewrites it. Two `Store` façades over clones of one
//! memory backend stand for two tabs on one IndexedDB database.

use futures::executor::block_on;
use futures::stream;
use imagestore::docker::list_answer;
use imagestore::import::ImportOptions;
use imagestore::schema;
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::record_frame::RecordFrame;
use imagestore::storage::{generation, Backend, Op, Space};
use imagestore::store::Store;
use serde_json::Value;

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)).unwrap()
}

const DEMO: &str = "sha256:e6b5b37baed847a14b9ba55abe078d6dacff8a334097cb1e31cc2d83fe8ad783";

/// A store over `backend` with the basic fixture imported.
async fn basic_store(backend: &MemoryBackend) -> Store<MemoryBackend> {
    let mut store = Store::open(backend.clone()).await.unwrap();
    store
        .import(stream::iter(vec![Ok(fixture("docker20/basic/image-store.tar"))]), ImportOptions::default())
        .await
        .unwrap();
    store
}

/// [`basic_store`] with both list answers saved for its state.
async fn basic_store_with_answers(backend: &MemoryBackend) -> Store<MemoryBackend> {
    let mut store = basic_store(backend).await;
    assert!(store.save_list_answer(true).await.unwrap());
    assert!(store.save_list_answer(false).await.unwrap());
    store
}

/// What `listImages({ all })` answers, from a walk over the images: the parse of the JSON
/// text (the text is never taken from a saved answer).
fn listed(store: &Store<MemoryBackend>, all: bool) -> Value {
    serde_json::from_str(&store.list_images_json(all, &Default::default()).unwrap()).unwrap()
}

/// The saved answer for `all` that lists the store as it is now, as rows.
async fn saved(backend: &MemoryBackend, all: bool) -> Option<Value> {
    list_answer::read(backend, all).await.unwrap().map(|c| c.to_value())
}

#[test]
fn the_saved_answer_is_the_current_list_or_nothing_and_is_rebuilt_when_stale_or_damaged() {
    block_on(async {
        let backend = MemoryBackend::new();
        let mut a = Store::open(backend.clone()).await.unwrap();
        // A store never written has no generation: nothing is saved or read.
        assert!(!a.save_list_answer(true).await.unwrap());
        assert_eq!(saved(&backend, true).await, None);

        a.import(stream::iter(vec![Ok(fixture("docker20/basic/image-store.tar"))]), ImportOptions::default())
            .await
            .unwrap();
        assert_eq!(saved(&backend, true).await, None, "missing");
        assert!(a.save_list_answer(true).await.unwrap());
        assert!(!a.save_list_answer(true).await.unwrap(), "already saved for this state");
        assert_eq!(saved(&backend, true).await, Some(listed(&a, true)));
        assert_eq!(saved(&backend, false).await, None, "the top-level list is another answer");
        assert!(a.save_list_answer(false).await.unwrap());
        assert_eq!(saved(&backend, false).await, Some(listed(&a, false)));
        assert_ne!(listed(&a, false), listed(&a, true), "the fixture has intermediate images");

        // Saving changed no generation: another tab has nothing to re-read.
        let at = generation::read(&backend).await.unwrap();
        let mut b = Store::open(backend.clone()).await.unwrap();
        assert_eq!(generation::read(&backend).await.unwrap(), at);
        assert_eq!(saved(&backend, true).await, Some(listed(&b, true)), "a fresh open lists the same");

        // Another tab changes the store: the saved answers list a state that is gone.
        b.tag_image(DEMO, "local/saved", "v1").await.unwrap();
        assert_eq!(saved(&backend, true).await, None, "stale");
        assert_eq!(saved(&backend, false).await, None, "stale");
        // Tab A saves again: it catches up with B's change first.
        assert!(a.save_list_answer(true).await.unwrap());
        let now = saved(&backend, true).await.unwrap();
        assert!(now.to_string().contains("local/saved:v1"));
        assert_eq!(now, listed(&b, true));

        // A damaged record is not used, and saving rewrites it.
        let key = schema::list_answer(true);
        let mut record = backend.get(Space::Meta, &key).await.unwrap().unwrap();
        let last = record.len() - 1;
        record[last] ^= 0x20;
        backend.commit(vec![Op::put(Space::Meta, key.clone(), record.clone())]).await.unwrap();
        assert_eq!(saved(&backend, true).await, None, "corrupt");
        assert!(a.save_list_answer(true).await.unwrap(), "rebuilt");
        assert_eq!(saved(&backend, true).await, Some(listed(&a, true)));

        // Cut short, or written by another version of the layout: not used, rebuilt.
        let whole = backend.get(Space::Meta, &key).await.unwrap().unwrap();
        backend.commit(vec![Op::put(Space::Meta, key.clone(), whole[..whole.len() / 2].to_vec())]).await.unwrap();
        assert_eq!(saved(&backend, true).await, None, "truncated");
        let other = RecordFrame::with_u32_version(b"isLI", list_answer::VERSION + 1).encode(&whole[12..]);
        backend.commit(vec![Op::put(Space::Meta, key.clone(), other)]).await.unwrap();
        assert_eq!(saved(&backend, true).await, None, "another version");
        assert!(a.save_list_answer(true).await.unwrap(), "rebuilt");
        assert_eq!(saved(&backend, true).await, Some(listed(&a, true)));
    });
}

#[test]
fn analyses_and_the_search_index_keep_the_generation_and_the_saved_answer_current() {
    block_on(async {
        let backend = MemoryBackend::new();
        let mut a = basic_store(&backend).await;
        assert!(a.save_list_answer(true).await.unwrap());
        let at = generation::read(&backend).await.unwrap();
        let analysis_records = || async { backend.keys(Space::Meta, schema::analysis::PREFIX).await.unwrap().len() };
        let before = analysis_records().await;

        // What a page's worker does: efficiency and layer changes of an image, then a search
        // (which brings the persisted index up to date).
        let eff = a.efficiency(DEMO, &imagestore::analysis::dive::CiRules::default()).await.unwrap();
        assert!(eff.size_bytes > 0);
        assert!(!a.layer_changes(DEMO).await.unwrap().is_empty());
        assert!(!a.find_files("**/passwd", None).await.unwrap().files.is_empty());
        assert!(analysis_records().await > before, "the analyses wrote their records");

        assert_eq!(generation::read(&backend).await.unwrap(), at, "derived records are no change to the store");
        assert_eq!(saved(&backend, true).await, Some(listed(&a, true)), "still current");
        // And a real change still moves it.
        a.tag_image(DEMO, "local/after", "v1").await.unwrap();
        assert_ne!(generation::read(&backend).await.unwrap(), at);
        assert_eq!(saved(&backend, true).await, None);
    });
}

/// `listImages({ all })`'s answer (the columns, as rows) of a store that may take the saved
/// answer.
async fn first_list(store: &Store<MemoryBackend>, all: bool) -> Value {
    store.list_images_columns_or_saved(all, &Default::default()).await.unwrap().to_value()
}

#[test]
fn a_reopened_store_lists_from_the_saved_answer_only_when_it_lists_that_state() {
    block_on(async {
        let backend = MemoryBackend::new();
        let mut a = basic_store_with_answers(&backend).await;
        for all in [true, false] {
            let b = Store::open(backend.clone()).await.unwrap();
            assert_eq!(first_list(&b, all).await, listed(&b, all), "all: {all}");
        }

        // A planted answer for this very state (a size changed, checksum and all) is what a
        // reopened store lists: the saved answer is taken, not the images walked again.
        let at = generation::read(&backend).await.unwrap().unwrap();
        let mut planted = list_answer::read(&backend, true).await.unwrap().unwrap();
        planted.numbers[1] += 1.0;
        let key = schema::list_answer(true);
        backend
            .commit(vec![Op::put(Space::Meta, key.clone(), list_answer::encode(&at, true, &planted))])
            .await
            .unwrap();
        let b = Store::open(backend.clone()).await.unwrap();
        assert_eq!(first_list(&b, true).await, planted.to_value());
        assert_ne!(first_list(&b, true).await, listed(&b, true));
        assert_eq!(first_list(&b, false).await, listed(&b, false), "the top-level answer is its own");
        // The same record damaged, or saved for the other kind: the images are walked.
        let mut damaged = list_answer::encode(&at, true, &planted);
        damaged[20] ^= 1;
        for record in [damaged, list_answer::encode(&at, false, &planted)] {
            backend.commit(vec![Op::put(Space::Meta, key.clone(), record)]).await.unwrap();
            let b = Store::open(backend.clone()).await.unwrap();
            assert_eq!(first_list(&b, true).await, listed(&b, true));
        }

        // Saved again, then the store changed by another tab: a reopen lists the new state.
        backend
            .commit(vec![Op::put(Space::Meta, key.clone(), list_answer::encode(&at, true, &planted))])
            .await
            .unwrap();
        a.tag_image(DEMO, "local/reopened", "v1").await.unwrap();
        let mut b = Store::open(backend.clone()).await.unwrap();
        assert!(first_list(&b, true).await.to_string().contains("local/reopened:v1"));
        assert_eq!(first_list(&b, true).await, listed(&b, true));
        assert_eq!(first_list(&b, false).await, listed(&b, false));

        // Saved for this state, then changed by the store that lists: the new state is walked.
        assert!(b.save_list_answer(true).await.unwrap());
        b.tag_image(DEMO, "local/after", "v2").await.unwrap();
        assert!(first_list(&b, true).await.to_string().contains("local/after:v2"));
        assert_eq!(first_list(&b, true).await, listed(&b, true));

        // A store that catches up with another tab's change tries the saved answer again: a
        // planted one for the new state is what it lists.
        a.tag_image(DEMO, "local/from-a", "v3").await.unwrap();
        let at = generation::read(&backend).await.unwrap().unwrap();
        assert!(a.save_list_answer(true).await.unwrap());
        let mut planted = list_answer::read(&backend, true).await.unwrap().unwrap();
        planted.numbers[1] += 2.0;
        backend
            .commit(vec![Op::put(Space::Meta, key.clone(), list_answer::encode(&at, true, &planted))])
            .await
            .unwrap();
        assert!(b.sync().await.unwrap(), "b reloaded");
        assert_eq!(first_list(&b, true).await, planted.to_value());
        assert!(planted.to_value().to_string().contains("local/from-a:v3"));
    });
}

#[test]
fn an_answer_read_while_opening_is_not_listed_once_another_tab_changed_the_store() {
    block_on(async {
        let backend = MemoryBackend::new();
        let mut a = basic_store_with_answers(&backend).await;
        // b reads both answers while it opens, for its first lists; then another tab changes
        // the store before b lists anything.
        let mut b = Store::open(backend.clone()).await.unwrap();
        a.tag_image(DEMO, "local/meanwhile", "v1").await.unwrap();
        assert!(b.sync().await.unwrap(), "b reloaded");
        for all in [true, false] {
            let first = first_list(&b, all).await;
            assert!(first.to_string().contains("local/meanwhile:v1"), "all: {all}");
            assert_eq!(first, listed(&b, all), "all: {all}");
        }
    });
}
