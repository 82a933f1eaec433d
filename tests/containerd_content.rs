#![cfg(not(target_arch = "wasm32"))]
//! The containerd content store: info/update/walk/delete/read and ingests, each rule with its
//! error code and containerd's message.

use futures::executor::block_on;
use imagestore::containerd::{Containerd, ContentStore, Labels};
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{blobs, Backend, Space};
use imagestore::{Digest, ErrorCode};

fn setup() -> (MemoryBackend, Containerd<MemoryBackend>, ContentStore<MemoryBackend>) {
    let b = MemoryBackend::new();
    let c = Containerd::new(b.clone());
    let cs = c.namespace("default").unwrap().content();
    (b, c, cs)
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn put(cs: &ContentStore<MemoryBackend>, reference: &str, data: &[u8], l: Labels) -> Digest {
    let mut w = cs.writer(reference, None, data.len() as u64).await.unwrap();
    w.write(data).await.unwrap();
    w.commit(data.len() as u64, Some(&Digest::sha256_of(data)), l).await.unwrap().digest
}

#[test]
fn write_commit_info_read_walk() {
    block_on(async {
        let (b, c, cs) = setup();
        let mut w = cs.writer("ref-1", None, 11).await.unwrap();
        w.write(b"hello ").await.unwrap();
        w.write(b"world").await.unwrap();
        let st = cs.status("ref-1").await.unwrap();
        assert_eq!((st.reference.as_str(), st.offset, st.total, st.expected.clone()), ("ref-1", 11, 11, None));
        let want = Digest::sha256_of(b"hello world");
        let info = w.commit(11, Some(&want), labels(&[("a", "1")])).await.unwrap();
        assert_eq!(info.digest, want);
        assert_eq!(info.size, 11);
        assert_eq!(info.created_at, info.updated_at);
        assert_eq!(cs.info(&want).await.unwrap(), info);
        assert_eq!(cs.read(&want, 6, 100).await.unwrap(), b"world");
        assert_eq!(cs.read_all(&want).await.unwrap(), b"hello world");
        // The ingest is gone once committed, and the namespace now exists.
        assert_eq!(cs.status("ref-1").await.unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(c.namespaces().await.unwrap(), vec!["default"]);
        // Walk is in digest order and takes a predicate (the filter).
        let other = put(&cs, "ref-2", b"other", Labels::new()).await;
        let all: Vec<Digest> = cs.walk(|_| true).await.unwrap().into_iter().map(|i| i.digest).collect();
        let mut sorted = vec![want.clone(), other.clone()];
        sorted.sort();
        assert_eq!(all, sorted);
        let labelled = cs.walk(|i| i.field(&["labels".into(), "a".into()]).as_deref() == Some("1")).await.unwrap();
        assert_eq!(labelled.len(), 1);
        assert_eq!(labelled[0].field(&["size".into()]), None, "size is never a filter field");
        assert_eq!(labelled[0].field(&["digest".into()]), Some(want.to_string()));
        assert!(blobs::stat(&b, &want).await.unwrap().is_some());
    });
}

#[test]
fn writer_rules() {
    block_on(async {
        let (_, c, cs) = setup();
        let e = cs.writer("", None, 0).await.err().unwrap();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InvalidArgument, "ref must not be empty: invalid argument")
        );

        let d = put(&cs, "r", b"abc", Labels::new()).await;
        let e = cs.writer("r2", Some(&d), 3).await.err().unwrap();
        assert_eq!(e.code, ErrorCode::AlreadyExists);
        assert_eq!(e.message, format!("content {d}: already exists"));

        let w = cs.writer("busy", None, 0).await.unwrap();
        let e = cs.writer("busy", None, 0).await.err().unwrap();
        assert_eq!(e.code, ErrorCode::Unavailable);
        assert!(e.message.starts_with("ref default/busy locked for "), "{}", e.message);
        assert!(e.message.ends_with(": unavailable"), "{}", e.message);
        // The same ref in another namespace is a different ingest.
        let team = c.namespace("team").unwrap().content();
        drop(team.writer("busy", None, 0).await.unwrap());
        drop(w);
        cs.writer("busy", None, 0).await.unwrap();
    });
}

#[test]
fn commit_mismatches_commit_nothing() {
    block_on(async {
        let (b, _, cs) = setup();
        let mut w = cs.writer("r", None, 0).await.unwrap();
        w.write(b"hello").await.unwrap();
        let e = w.commit(3, None, Labels::new()).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::FailedPrecondition);
        assert_eq!(e.message, "\"r\" failed size validation: 5 != 3: failed precondition");
        assert!(cs.walk(|_| true).await.unwrap().is_empty());
        // The ingest's status stays (as containerd leaves it) and the ref is free again.
        assert_eq!(cs.status("r").await.unwrap().offset, 5);

        let mut w = cs.writer("r", None, 0).await.unwrap();
        assert_eq!(cs.status("r").await.unwrap().offset, 0, "a new writer starts over");
        w.write(b"hello").await.unwrap();
        let wrong = Digest::sha256_of(b"bye");
        let e = w.commit(5, Some(&wrong), Labels::new()).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::FailedPrecondition);
        assert_eq!(
            e.message,
            format!("unexpected commit digest {}, expected {wrong}: failed precondition", Digest::sha256_of(b"hello"))
        );
        assert!(cs.walk(|_| true).await.unwrap().is_empty());
        assert!(blobs::stat(&b, &Digest::sha256_of(b"hello")).await.unwrap().is_none());
        assert_eq!(b.len(Space::Chunks), 0, "the written chunks were dropped");

        let mut w = cs.writer("r", None, 0).await.unwrap();
        w.write(b"x").await.unwrap();
        let big = labels(&[("k", &"v".repeat(4096))]);
        let e = w.commit(0, None, big).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert!(e.message.starts_with("info.Labels: label key and value length (4097 bytes)"), "{}", e.message);
        assert!(cs.walk(|_| true).await.unwrap().is_empty());
    });
}

#[test]
fn commit_of_content_already_in_namespace() {
    block_on(async {
        let (_, _, cs) = setup();
        let mut w1 = cs.writer("one", None, 0).await.unwrap();
        let mut w2 = cs.writer("two", None, 0).await.unwrap();
        w1.write(b"same").await.unwrap();
        w2.write(b"same").await.unwrap();
        let d = w1.commit(0, None, Labels::new()).await.unwrap().digest;
        let e = w2.commit(0, None, Labels::new()).await.unwrap_err();
        assert_eq!((e.code, e.message.clone()), (ErrorCode::AlreadyExists, format!("content {d}: already exists")));
        assert_eq!(cs.status("two").await.unwrap_err().code, ErrorCode::NotFound, "the ingest ended");
    });
}

#[test]
fn statuses_abort_and_writes_after_abort() {
    block_on(async {
        let (_, _, cs) = setup();
        let mut a = cs.writer("pull-a", None, 10).await.unwrap();
        let _b = cs.writer("pull-b", None, 20).await.unwrap();
        a.write(b"12345").await.unwrap();
        let all = cs.list_statuses(|_| true).await.unwrap();
        assert_eq!(
            all.iter().map(|s| (s.reference.as_str(), s.offset, s.total)).collect::<Vec<_>>(),
            vec![("pull-a", 5, 10), ("pull-b", 0, 20)]
        );
        let only_b = cs.list_statuses(|s| s.field(&["ref".into()]).as_deref() == Some("pull-b")).await.unwrap();
        assert_eq!(only_b.len(), 1);
        assert_eq!(a.status().offset, 5);

        cs.abort("pull-a").await.unwrap();
        let e = cs.abort("pull-a").await.unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::NotFound, "reference pull-a: not found"));
        let e = cs.status("nope").await.unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::NotFound, "reference nope: not found"));
        assert_eq!(a.write(b"more").await.unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(a.commit(0, None, Labels::new()).await.unwrap_err().code, ErrorCode::NotFound);
        assert!(cs.walk(|_| true).await.unwrap().is_empty());
    });
}

#[test]
fn update_delete_and_namespace_isolation() {
    block_on(async {
        let (b, c, cs) = setup();
        let d = put(&cs, "r", b"data", labels(&[("a", "1"), ("b", "2")])).await;
        let mut info = cs.info(&d).await.unwrap();
        let created = info.created_at;

        info.labels = labels(&[("a", "x"), ("c", "3")]);
        let up = cs.update(&info, &["labels.a"]).await.unwrap();
        assert_eq!(up.labels, labels(&[("a", "x"), ("b", "2")]));
        assert_eq!(up.created_at, created);
        assert!(up.updated_at >= created);
        // An empty value deletes the label.
        info.labels = labels(&[("b", "")]);
        assert_eq!(cs.update(&info, &["labels.b"]).await.unwrap().labels, labels(&[("a", "x")]));
        info.labels = labels(&[("z", "9")]);
        assert_eq!(cs.update(&info, &["labels"]).await.unwrap().labels, labels(&[("z", "9")]));
        info.labels = Labels::new();
        assert!(cs.update(&info, &[]).await.unwrap().labels.is_empty());
        let e = cs.update(&info, &["size"]).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert_eq!(e.message, format!("cannot update \"size\" field on content info \"{d}\": invalid argument"));
        info.labels = labels(&[("k", &"v".repeat(4096))]);
        assert!(cs.update(&info, &["labels"]).await.unwrap_err().message.starts_with("info.Labels: label key"));

        // Another namespace does not see it, even though the bytes are shared.
        let team = c.namespace("team").unwrap().content();
        let e = team.info(&d).await.unwrap_err();
        assert_eq!((e.code, e.message.clone()), (ErrorCode::NotFound, format!("content digest {d}: not found")));
        assert_eq!(team.read_all(&d).await.unwrap_err().code, ErrorCode::NotFound);
        let chunks = b.len(Space::Chunks);
        put(&team, "r", b"data", Labels::new()).await;
        assert_eq!(b.len(Space::Chunks), chunks, "the second copy's chunks were not kept");
        assert_eq!(team.read_all(&d).await.unwrap(), b"data");

        cs.delete(&d).await.unwrap();
        let e = cs.delete(&d).await.unwrap_err();
        assert_eq!((e.code, e.message.clone()), (ErrorCode::NotFound, format!("content digest {d}: not found")));
        assert_eq!(cs.info(&d).await.unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(cs.update(&info, &[]).await.unwrap_err().code, ErrorCode::NotFound);
        // Bytes stay for GC to decide.
        assert!(blobs::stat(&b, &d).await.unwrap().is_some());
        assert!(b.get(Space::Meta, &blobs::record_key(&d)).await.unwrap().is_some());
    });
}

#[test]
fn large_blobs_stream_in_chunks() {
    block_on(async {
        let (_, _, cs) = setup();
        let data: Vec<u8> = (0..(blobs::CHUNK_SIZE * 2 + 77)).map(|i| (i % 253) as u8).collect();
        let mut w = cs.writer("big", None, data.len() as u64).await.unwrap();
        for piece in data.chunks(300_001) {
            w.write(piece).await.unwrap();
        }
        let info = w.commit(data.len() as u64, None, Labels::new()).await.unwrap();
        assert_eq!(info.digest, Digest::sha256_of(&data));
        let at = blobs::CHUNK_SIZE as u64 - 3;
        assert_eq!(cs.read(&info.digest, at, 10).await.unwrap(), &data[at as usize..at as usize + 10]);
    });
}
