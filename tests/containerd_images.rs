#![cfg(not(target_arch = "wasm32"))]
//! The containerd image store: validation, create/get/list/update/delete, with containerd's
//! error codes and messages.

use futures::executor::block_on;
use imagestore::containerd::{Containerd, Image, ImageStore, Labels, Target};
use imagestore::formats::gotime::GoTime;
use imagestore::storage::memory::MemoryBackend;
use imagestore::{Digest, ErrorCode};

const MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

fn store() -> (Containerd<MemoryBackend>, ImageStore<MemoryBackend>) {
    let c = Containerd::new(MemoryBackend::new());
    let s = c.namespace("default").unwrap().images();
    (c, s)
}

fn image(name: &str, content: &[u8]) -> Image {
    Image {
        name: name.into(),
        target: Target {
            media_type: MANIFEST.into(),
            digest: Digest::sha256_of(content).to_string(),
            size: 422,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn create_get_list() {
    block_on(async {
        let (c, s) = store();
        let mut img = image("docker.io/local/base:1", b"m");
        img.created_at = GoTime::from_unix(1, 0);
        img.labels = labels(&[("team", "platform")]);
        let created = s.create(&img).await.unwrap();
        assert_ne!(created.created_at, GoTime::from_unix(1, 0), "the caller's createdAt is discarded");
        assert_eq!(created.created_at, created.updated_at);
        assert_eq!(s.get(&img.name).await.unwrap(), created);
        assert_eq!(c.namespaces().await.unwrap(), vec!["default"]);

        let e = s.create(&img).await.unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::AlreadyExists, "image \"docker.io/local/base:1\": already exists")
        );
        let e = s.get("nope").await.unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::NotFound, "image \"nope\": not found"));

        // Names are not checked against the reference grammar.
        s.create(&image("import-2026-11-23:edge", b"x")).await.unwrap();
        s.create(&image("Not A Reference!", b"y")).await.unwrap();
        let names: Vec<String> = s.list(|_| true).await.unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["Not A Reference!", "docker.io/local/base:1", "import-2026-11-23:edge"]);
        let team = s.list(|i| i.field(&["labels".into(), "team".into()]).as_deref() == Some("platform")).await.unwrap();
        assert_eq!(team.len(), 1);
        assert_eq!(team[0].field(&["target".into(), "mediatype".into()]).as_deref(), Some(MANIFEST));
        assert_eq!(team[0].field(&["target".into()]), None);
        // Other namespaces are separate.
        assert!(c.namespace("team").unwrap().images().list(|_| true).await.unwrap().is_empty());
    });
}

#[test]
fn validation_errors() {
    block_on(async {
        let (_, s) = store();
        let check = |img: Image, msg: String| {
            let s = s.clone();
            async move {
                let e = s.create(&img).await.unwrap_err();
                assert_eq!(e.code, ErrorCode::InvalidArgument, "{msg}");
                assert_eq!(e.message, msg);
            }
        };
        check(image("", b"m"), "image name must not be empty: invalid argument".into()).await;
        let mut i = image("a", b"m");
        i.labels = labels(&[("k", &"v".repeat(4096))]);
        check(i, "image.Labels: label key and value length (4097 bytes) greater than maximum size (4096 bytes), key: k: invalid argument".into()).await;
        let mut i = image("a", b"m");
        i.target.digest = "sha256:abc".into();
        check(i, "target.Digest \"sha256:abc\" invalid: invalid checksum digest length: invalid argument".into()).await;
        let mut i = image("a", b"m");
        i.target.digest = "nonsense".into();
        check(i, "target.Digest \"nonsense\" invalid: invalid checksum digest format: invalid argument".into()).await;
        let mut i = image("a", b"m");
        i.target.digest = "md5:d41d8cd98f00b204e9800998ecf8427e".into();
        check(i, "target.Digest \"md5:d41d8cd98f00b204e9800998ecf8427e\" invalid: unsupported digest algorithm: invalid argument".into()).await;
        let mut i = image("a", b"m");
        i.target.digest = i.target.digest.to_uppercase().replace("SHA256", "sha256");
        let msg =
            format!("target.Digest \"{}\" invalid: invalid checksum digest format: invalid argument", i.target.digest);
        check(i, msg).await;
        let mut i = image("a", b"m");
        i.target.size = 0;
        check(i, "target.Size must be greater than zero: invalid argument".into()).await;
        let mut i = image("a", b"m");
        i.target.media_type.clear();
        check(i, "target.MediaType must be set: invalid argument".into()).await;
        assert!(s.list(|_| true).await.unwrap().is_empty());
    });
}

#[test]
fn update_by_fieldpaths() {
    block_on(async {
        let (_, s) = store();
        let mut img = image("app:1", b"m1");
        img.labels = labels(&[("a", "1"), ("b", "2")]);
        img.target.annotations = labels(&[("org.opencontainers.image.ref.name", "1")]);
        let created = s.create(&img).await.unwrap();

        let mut change = image("app:1", b"m2");
        change.labels = labels(&[("a", "x"), ("c", "3")]);
        change.target.annotations = labels(&[("note", "n")]);
        let up = s.update(&change, &["labels.a", "annotations.note"]).await.unwrap();
        assert_eq!(up.labels, labels(&[("a", "x"), ("b", "2")]));
        assert_eq!(up.target.annotations, labels(&[("note", "n"), ("org.opencontainers.image.ref.name", "1")]));
        assert_eq!(up.target.digest, created.target.digest, "target untouched");
        assert_eq!(up.created_at, created.created_at);
        assert!(up.updated_at >= created.updated_at);

        let up = s.update(&change, &["target"]).await.unwrap();
        assert_eq!(up.target, change.target);
        change.labels = labels(&[("a", "")]);
        assert_eq!(
            s.update(&change, &["labels.a"]).await.unwrap().labels,
            labels(&[("b", "2")]),
            "empty value deletes"
        );
        assert_eq!(s.update(&change, &["labels"]).await.unwrap().labels, Labels::new());
        change.target.annotations = Labels::new();
        assert!(s.update(&change, &["annotations"]).await.unwrap().target.annotations.is_empty());

        // No fieldpaths: everything but createdAt is replaced.
        let mut all = image("app:1", b"m3");
        all.labels = labels(&[("only", "me")]);
        all.created_at = GoTime::from_unix(5, 0);
        let up = s.update(&all, &[]).await.unwrap();
        assert_eq!(
            (up.labels.clone(), up.target.clone(), up.created_at),
            (all.labels.clone(), all.target.clone(), created.created_at)
        );
        assert_eq!(s.get("app:1").await.unwrap(), up);

        let e = s.update(&all, &["name"]).await.unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InvalidArgument, "cannot update \"name\" field on image \"app:1\": invalid argument")
        );
        let e = s.update(&image("", b"m"), &[]).await.unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InvalidArgument, "image name is required for update: invalid argument")
        );
        let e = s.update(&image("ghost", b"m"), &[]).await.unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::NotFound, "image \"ghost\": not found"));
        let mut bad = all.clone();
        bad.target.size = -1;
        assert_eq!(
            s.update(&bad, &["target"]).await.unwrap_err().message,
            "target.Size must be greater than zero: invalid argument"
        );
        assert_eq!(s.get("app:1").await.unwrap(), up, "a failed update changes nothing");
    });
}

#[test]
fn delete_with_and_without_target() {
    block_on(async {
        let (_, s) = store();
        let img = s.create(&image("app:1", b"m")).await.unwrap();
        let other = Digest::sha256_of(b"other");
        let e = s.delete("app:1", Some(&other)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        assert_eq!(e.message, format!("image \"app:1\" has target {}, not {other}: not found", img.target.digest));
        s.delete("app:1", Some(&img.target_digest().unwrap())).await.unwrap();
        let e = s.delete("app:1", None).await.unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::NotFound, "image \"app:1\": not found"));
    });
}

#[test]
fn namespace_delete_needs_an_empty_namespace() {
    block_on(async {
        let c = Containerd::new(MemoryBackend::new());
        let ns = c.namespace("team").unwrap();
        ns.images().create(&image("a", b"m")).await.unwrap();
        let mut w = ns.content().writer("r", None, 0).await.unwrap();
        w.write(b"m").await.unwrap();
        w.commit(0, None, Labels::new()).await.unwrap();
        let e = c.delete_namespace("team").await.unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                ErrorCode::FailedPrecondition,
                "namespace \"team\" must be empty, but it still has images, blobs: failed precondition"
            )
        );
        ns.images().delete("a", None).await.unwrap();
        let e = c.delete_namespace("team").await.unwrap_err();
        assert_eq!(e.message, "namespace \"team\" must be empty, but it still has blobs: failed precondition");
        ns.content().delete(&Digest::sha256_of(b"m")).await.unwrap();
        c.delete_namespace("team").await.unwrap();
        assert!(c.namespaces().await.unwrap().is_empty());
        // A namespace handle checks the name as containerd's NamespaceRequired does.
        let e = c.namespace("").err().unwrap();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::FailedPrecondition, "namespace is required: failed precondition")
        );
        assert_eq!(c.namespace("a b").err().unwrap().code, ErrorCode::InvalidArgument);
    });
}
