//! `meta.db` files built by the test bbolt writer (tests/support/bbolt_writer.rs), hostile in
//! how their records reference each other and how deep their buckets nest (issue 10): every
//! walk over them visits each record once, and nesting past the reader's limit is a clear
//! `data_corrupt` naming the bucket, never a runaway recursion.
#![cfg(not(target_arch = "wasm32"))]

#[allow(dead_code)] // the corpus cases are the other test binaries' business
mod corpus;
mod support;

use corpus::walks::{containerd_root, cross_referencing_meta_db};
use imagestore::formats::bbolt::Db;
use imagestore::formats::containerd_meta::read_meta_db;
use imagestore::import::ImportOptions;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;
use support::bbolt_writer::{self, bucket, tree, value, Node, Tree};

/// Records referencing every record of the next level (30^20 paths over 600 records): GC marks
/// each once, keeps all of them while one image holds the top, and frees all of them after.
#[test]
fn gc_over_records_that_reference_each_other_visits_each_once() {
    let (db, blobs) = cross_referencing_meta_db(30, 20);
    let meta = read_meta_db(&db).unwrap();
    let ns = &meta.namespaces["default"];
    assert_eq!((ns.images.len(), ns.content.len()), (30, 600));
    assert_eq!(ns.content.values().map(|b| b.labels.len()).sum::<usize>(), 30 * 30 * 19);
    futures::executor::block_on(async {
        let mut store = Store::open(MemoryBackend::new()).await.unwrap();
        let input = futures::stream::iter(vec![Ok(containerd_root(&db, &blobs))]);
        let report = store.import(input, ImportOptions::default()).await.unwrap();
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        let content = store.containerd().namespace("default").unwrap().content();
        assert_eq!(content.walk(|_| true).await.unwrap().len(), 600);
        let gc = store.gc().await.unwrap();
        assert!(gc.deleted_content.values().all(Vec::is_empty), "{:?}", gc.deleted_content);
        let images = store.containerd().namespace("default").unwrap().images();
        for i in 1..30 {
            images.delete(&format!("docker.io/walk/img{i}:1"), None).await.unwrap();
        }
        // img0's blob references all 30 of level 1, which reference all of level 2, …
        let gc = store.gc().await.unwrap();
        let deleted = gc.deleted_content.get("default").map_or(0, Vec::len);
        assert_eq!(deleted, 29, "only the other images' own top blobs go");
        images.delete("docker.io/walk/img0:1", None).await.unwrap();
        let gc = store.gc().await.unwrap();
        assert_eq!(gc.deleted_content.get("default").map_or(0, Vec::len), 600 - 29);
    });
}

/// Buckets nested 200 deep (each its own page), and a bucket that contains itself: following
/// them stops at the reader's depth limit with an error that says so.
#[test]
fn deep_bucket_nesting_stops_at_the_depth_limit() {
    let mut deep = tree([(b"leaf".to_vec(), value("x"))]);
    for _ in 0..200 {
        deep = tree([(b"a".to_vec(), Node::Bucket(deep))]);
    }
    let selfish = tree([(b"a".to_vec(), Node::ItselfAsBucket), (b"b".to_vec(), value("y"))]);
    for (what, root) in [("200 levels", deep), ("a bucket in itself", tree([(b"a".to_vec(), Node::Bucket(selfish))]))] {
        let file = bbolt_writer::write(&root);
        let db = Db::open(&file).unwrap();
        let mut b = db.root();
        let mut levels = 0;
        let err = loop {
            match b.bucket(b"a") {
                Ok(Some(next)) => b = next,
                Ok(None) => panic!("{what}: ended after {levels} levels"),
                Err(e) => break e,
            }
            levels += 1;
            assert!(levels <= 100, "{what}: followed {levels} levels");
        };
        assert_eq!(err.code.as_str(), "data_corrupt", "{what}");
        assert!(err.message.contains("nested more than 64 levels"), "{what}: {}", err.message);
    }
    // In a containerd layout the reader never descends into what it does not know: a meta.db with
    // 200 levels below an image's labels imports (the nested bucket is an empty label value).
    let mut deep: Tree = Tree::new();
    for _ in 0..200 {
        deep = tree([(b"a".to_vec(), Node::Bucket(deep))]);
    }
    let images = tree([(
        b"docker.io/walk/deep:1".to_vec(),
        bucket([
            (
                b"target".to_vec(),
                bucket([(b"digest".to_vec(), value("sha256:00")), (b"mediatype".to_vec(), value("x"))]),
            ),
            (b"labels".to_vec(), Node::Bucket(deep)),
        ]),
    )]);
    let meta = read_meta_db(&bbolt_writer::containerd_meta_db(vec![("default".into(), images, Tree::new())])).unwrap();
    assert_eq!(meta.namespaces["default"].images["docker.io/walk/deep:1"].labels["a"], "");
}

/// The writer's files read back as written (so the hostile cases above test the reader, not
/// the writer): keys, values, sub-buckets, and a bucket bigger than a page (overflow pages).
#[test]
fn the_test_bbolt_writer_writes_what_the_reader_reads() {
    let big: Tree = (0..500).map(|i| (format!("key{i:04}").into_bytes(), value(format!("value {i}")))).collect();
    let file = bbolt_writer::write(&tree([(b"big".to_vec(), Node::Bucket(big)), (b"k".to_vec(), value("v"))]));
    let db = Db::open(&file).unwrap();
    assert_eq!(db.root().get_data(b"k").unwrap(), Some(&b"v"[..]));
    let big = db.root().bucket(b"big").unwrap().unwrap();
    let entries = big.entries().unwrap();
    assert_eq!(entries.len(), 500);
    assert_eq!(big.get_data(b"key0321").unwrap(), Some(&b"value 321"[..]));
}
