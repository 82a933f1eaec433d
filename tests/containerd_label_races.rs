//! Two writers changing *different* labels of one containerd record at once (two tabs, two
//! calls, an import and an update) both keep theirs (issue 10): updates are decided on the
//! record at the generation they commit at and retried when someone committed first, and an
//! import's records are merged per key into the stored ones at its commit. Each race is made
//! deterministic with a backend that lets "another tab" commit just before this one's commit.
#![cfg(not(target_arch = "wasm32"))]

use futures::executor::block_on;
use futures::future::LocalBoxFuture;
use imagestore::containerd::content::{put_info_op, Info};
use imagestore::containerd::{Containerd, Image, Labels, Target};
use imagestore::formats::gotime::GoTime;
use imagestore::import::ImportOptions;
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{Backend, Op, Space};
use imagestore::store::{stream_import, Store};
use imagestore::{Digest, Result};
use std::cell::RefCell;
use std::rc::Rc;

/// A backend over `inner` whose next commit first runs `before` (another tab's write).
#[derive(Clone)]
struct Racing {
    inner: MemoryBackend,
    before: Rc<RefCell<Option<LocalBoxFuture<'static, ()>>>>,
    commits: Rc<RefCell<usize>>,
}

impl Racing {
    fn new(inner: MemoryBackend) -> Self {
        Racing { inner, before: Rc::default(), commits: Rc::default() }
    }
    fn before_next_commit(&self, f: LocalBoxFuture<'static, ()>) {
        *self.before.borrow_mut() = Some(f);
    }
}

impl Backend for Racing {
    async fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(space, key).await
    }
    async fn scan(&self, space: Space, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        self.inner.scan(space, prefix).await
    }
    async fn keys(&self, space: Space, prefix: &str) -> Result<Vec<String>> {
        self.inner.keys(space, prefix).await
    }
    async fn commit(&self, ops: Vec<Op>) -> Result<()> {
        let before = self.before.borrow_mut().take();
        if let Some(f) = before {
            f.await;
        }
        *self.commits.borrow_mut() += 1;
        self.inner.commit(ops).await
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn image(name: &str, l: Labels) -> Image {
    Image {
        name: name.into(),
        labels: l,
        target: Target {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            digest: Digest::sha256_of(b"m").to_string(),
            size: 1,
            annotations: Labels::new(),
        },
        created_at: GoTime::ZERO,
        updated_at: GoTime::ZERO,
    }
}

#[test]
fn two_tabs_updating_different_labels_of_one_image_both_keep_theirs() {
    block_on(async {
        let inner = MemoryBackend::new();
        let other_tab = Containerd::new(inner.clone()).namespace("default").unwrap().images();
        other_tab.create(&image("docker.io/x/y:1", labels(&[("keep", "me")]))).await.unwrap();
        let racing = Racing::new(inner.clone());
        let this_tab = Containerd::new(racing.clone()).namespace("default").unwrap().images();
        racing.before_next_commit(Box::pin(async move {
            other_tab.update(&image("docker.io/x/y:1", labels(&[("b", "2")])), &["labels.b"]).await.unwrap();
        }));
        this_tab.update(&image("docker.io/x/y:1", labels(&[("a", "1")])), &["labels.a"]).await.unwrap();
        let stored =
            Containerd::new(inner).namespace("default").unwrap().images().get("docker.io/x/y:1").await.unwrap();
        assert_eq!(stored.labels, labels(&[("a", "1"), ("b", "2"), ("keep", "me")]));
        assert_eq!(*racing.commits.borrow(), 2, "the first commit was stale and was decided again");
    });
}

#[test]
fn two_tabs_updating_different_labels_of_one_blob_both_keep_theirs() {
    block_on(async {
        let inner = MemoryBackend::new();
        let d = Digest::sha256_of(b"blob");
        let info = Info {
            digest: d.clone(),
            size: 4,
            created_at: GoTime::ZERO,
            updated_at: GoTime::ZERO,
            labels: labels(&[("keep", "me")]),
        };
        inner.commit(vec![put_info_op("default", &info)]).await.unwrap();
        let other_tab = Containerd::new(inner.clone()).namespace("default").unwrap().content();
        let racing = Racing::new(inner.clone());
        let this_tab = Containerd::new(racing.clone()).namespace("default").unwrap().content();
        let d2 = d.clone();
        racing.before_next_commit(Box::pin(async move {
            other_tab.update_labels(&d2, labels(&[("b", "2")]), &["labels.b"]).await.unwrap();
        }));
        this_tab.update_labels(&d, labels(&[("a", "1")]), &["labels.a"]).await.unwrap();
        let stored = Containerd::new(inner).namespace("default").unwrap().content().info(&d).await.unwrap();
        assert_eq!(stored.labels, labels(&[("a", "1"), ("b", "2"), ("keep", "me")]));
    });
}

/// An import that re-adds a GC label to a manifest blob while another tab labels the same blob:
/// both labels are there after the import commits.
#[test]
fn an_import_and_a_label_update_on_one_blob_both_keep_theirs() {
    let archive =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/docker20/basic/oci-archive.tar")).unwrap();
    block_on(async {
        let backend = MemoryBackend::new();
        let mut store = Store::open(backend.clone()).await.unwrap();
        let input = || futures::stream::iter(vec![Ok(archive.clone())]);
        store.import(input(), ImportOptions::default()).await.unwrap();
        let content = Containerd::new(backend.clone()).namespace("default").unwrap().content();
        // A blob with a GC reference label: drop that label, so the next import writes the blob's record again.
        let infos = content.walk(|_| true).await.unwrap();
        let blob = infos.iter().find(|i| !i.labels.is_empty()).expect("a blob with GC labels");
        let (gc_key, gc_value) = blob.labels.iter().next().map(|(k, v)| (k.clone(), v.clone())).unwrap();
        content.update_labels(&blob.digest, Labels::new(), &[&format!("labels.{gc_key}")]).await.unwrap();
        assert!(!content.info(&blob.digest).await.unwrap().labels.contains_key(&gc_key));
        // The import streams (deciding the record from what it reads now)…
        let finished = stream_import(&backend, input(), ImportOptions::default()).await.unwrap();
        // …another tab labels the blob…
        content.update_labels(&blob.digest, labels(&[("tier", "gold")]), &["labels.tier"]).await.unwrap();
        // …and the import commits.
        store.commit_import(finished).await.unwrap();
        let after = content.info(&blob.digest).await.unwrap().labels;
        assert_eq!(after.get("tier").map(String::as_str), Some("gold"), "the other tab's label: {after:?}");
        assert_eq!(after.get(&gc_key), Some(&gc_value), "the import's label: {after:?}");
    });
}
