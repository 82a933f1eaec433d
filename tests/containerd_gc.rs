#![cfg(not(target_arch = "wasm32"))]
//! containerd-style GC: images are roots, children survive through gc.ref labels, blobs go
//! when no namespace and no extra root (the Docker view) uses them.

use futures::executor::block_on;
use imagestore::containerd::{Containerd, Image, Labels, Namespace, Target};
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{blobs, Backend, Op, Space};
use imagestore::Digest;
use std::collections::HashSet;

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

async fn put(ns: &Namespace<MemoryBackend>, data: &[u8], labels: Labels) -> Digest {
    let mut w = ns.content().writer(&format!("w-{}", Digest::sha256_of(data)), None, 0).await.unwrap();
    w.write(data).await.unwrap();
    match w.commit(0, None, labels).await {
        Ok(info) => info.digest,
        // Shared layers are written once per namespace.
        Err(e) if e.code == imagestore::ErrorCode::AlreadyExists => Digest::sha256_of(data),
        Err(e) => panic!("{e}"),
    }
}

/// A config, two layers and a manifest whose labels reference them, as `ctr images import`
/// writes them; returns (manifest, config, layers).
async fn put_image(
    ns: &Namespace<MemoryBackend>,
    name: &str,
    config: &[u8],
    layers: &[&[u8]],
) -> (Digest, Digest, Vec<Digest>) {
    let c = put(ns, config, Labels::new()).await;
    let mut refs: Labels = [("containerd.io/gc.ref.content.config".to_string(), c.to_string())].into();
    let mut ls = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let d = put(ns, l, Labels::new()).await;
        refs.insert(format!("containerd.io/gc.ref.content.l.{i}"), d.to_string());
        ls.push(d);
    }
    let manifest = format!("{{\"config\":\"{c}\",\"name\":\"{name}\"}}");
    let m = put(ns, manifest.as_bytes(), refs).await;
    let img = Image {
        name: name.into(),
        target: Target {
            media_type: MANIFEST.into(),
            digest: m.to_string(),
            size: manifest.len() as i64,
            ..Default::default()
        },
        ..Default::default()
    };
    ns.images().create(&img).await.unwrap();
    (m, c, ls)
}

async fn has_blob(b: &MemoryBackend, d: &Digest) -> bool {
    blobs::stat(b, d).await.unwrap().is_some()
}

#[test]
fn labels_keep_children_and_removing_an_image_frees_only_its_own_blobs() {
    block_on(async {
        let b = MemoryBackend::new();
        let c = Containerd::new(b.clone());
        let ns = c.namespace("default").unwrap();
        let shared_layer: &[u8] = b"base layer";
        let (m1, c1, l1) = put_image(&ns, "one", b"config one", &[shared_layer, b"layer one"]).await;
        let (m2, c2, _) = put_image(&ns, "two", b"config two", &[shared_layer]).await;
        let stray = put(&ns, b"nobody refers to me", Labels::new()).await;

        let r = c.gc(&HashSet::new()).await.unwrap();
        assert_eq!(r.deleted_content.get("default"), Some(&vec![stray.clone()]));
        assert_eq!(r.deleted_blobs, vec![stray.clone()]);
        assert!(r.deleted_images.is_empty());
        for d in [&m1, &c1, &l1[0], &l1[1], &m2, &c2] {
            assert!(ns.content().info(d).await.is_ok(), "{d} kept through labels");
            assert!(has_blob(&b, d).await);
        }
        assert!(!has_blob(&b, &stray).await);

        ns.images().delete("one", None).await.unwrap();
        let r = c.gc(&HashSet::new()).await.unwrap();
        let mut gone = vec![m1.clone(), c1.clone(), l1[1].clone()];
        gone.sort();
        let mut deleted = r.deleted_content["default"].clone();
        deleted.sort();
        assert_eq!(deleted, gone);
        let mut blobs_gone = r.deleted_blobs.clone();
        blobs_gone.sort();
        assert_eq!(blobs_gone, gone);
        assert!(has_blob(&b, &l1[0]).await, "the layer image two shares stays");
        assert!(ns.content().info(&l1[0]).await.is_ok());
        assert!(has_blob(&b, &m2).await && has_blob(&b, &c2).await);
        // Nothing left to do.
        assert_eq!(c.gc(&HashSet::new()).await.unwrap(), Default::default());
    });
}

#[test]
fn without_labels_children_are_collected() {
    block_on(async {
        let b = MemoryBackend::new();
        let c = Containerd::new(b.clone());
        let ns = c.namespace("default").unwrap();
        let layer = put(&ns, b"layer", Labels::new()).await;
        let m = put(&ns, b"manifest that names the layer only in JSON", Labels::new()).await;
        let img = Image {
            name: "x".into(),
            target: Target { media_type: MANIFEST.into(), digest: m.to_string(), size: 1, ..Default::default() },
            ..Default::default()
        };
        ns.images().create(&img).await.unwrap();
        let r = c.gc(&HashSet::new()).await.unwrap();
        assert_eq!(r.deleted_blobs, vec![layer.clone()], "GC never parses blobs");
        assert!(has_blob(&b, &m).await);
    });
}

#[test]
fn roots_shared_blobs_and_extra_roots() {
    block_on(async {
        let b = MemoryBackend::new();
        let c = Containerd::new(b.clone());
        let default = c.namespace("default").unwrap();
        let team = c.namespace("team").unwrap();
        let root_label: Labels = [("containerd.io/gc.root".to_string(), "2026-01-01".to_string())].into();
        let rooted = put(&default, b"rooted", root_label).await;
        // Same bytes in two namespaces: collected from one, kept for the other.
        let shared = put(&default, b"shared", Labels::new()).await;
        let child_label: Labels = [("containerd.io/gc.ref.content".to_string(), shared.to_string())].into();
        let parent = put(&team, b"team parent", child_label).await;
        team.content()
            .update(
                &imagestore::containerd::Info {
                    labels: [
                        ("containerd.io/gc.root".to_string(), "x".to_string()),
                        ("containerd.io/gc.ref.content".to_string(), shared.to_string()),
                    ]
                    .into(),
                    ..team.content().info(&parent).await.unwrap()
                },
                &["labels"],
            )
            .await
            .unwrap();
        put(&team, b"shared", Labels::new()).await;
        // A blob only the Docker view knows about.
        let staged = blobs::stage_bytes(&b, b"docker config").await.unwrap();
        let docker_blob = staged.digest.clone();
        b.commit(staged.ops).await.unwrap();
        let orphan = blobs::stage_bytes(&b, b"orphan").await.unwrap();
        b.commit(orphan.ops).await.unwrap();

        let r = c.gc(&HashSet::from([docker_blob.clone()])).await.unwrap();
        assert!(default.content().info(&rooted).await.is_ok(), "gc.root keeps content");
        assert_eq!(r.deleted_content.get("default"), Some(&vec![shared.clone()]));
        assert_eq!(r.deleted_content.get("team"), None);
        assert!(team.content().info(&shared).await.is_ok());
        assert!(has_blob(&b, &shared).await, "team still uses the bytes");
        assert!(has_blob(&b, &docker_blob).await, "extra roots are never collected");
        assert_eq!(r.deleted_blobs, vec![orphan.digest.clone()]);
        assert!(b.get(Space::Meta, &blobs::record_key(&orphan.digest)).await.unwrap().is_none());
        assert_eq!(b.keys(Space::Chunks, "").await.unwrap().iter().filter(|k| k.starts_with(&orphan.set)).count(), 0);
    });
}

#[test]
fn back_references_and_image_expiry() {
    block_on(async {
        let b = MemoryBackend::new();
        let c = Containerd::new(b.clone());
        let ns = c.namespace("default").unwrap();
        let m = put(&ns, b"manifest", Labels::new()).await;
        // The child names its parent: kept while the parent is reachable.
        let bref: Labels = [("containerd.io/gc.bref.content.m".to_string(), m.to_string())].into();
        let child = put(&ns, b"child", bref).await;
        for (name, expire) in
            [("live", "2999-01-01T00:00:00Z"), ("expired", "2000-01-01T00:00:00Z"), ("bad-expiry", "tomorrow")]
        {
            let img = Image {
                name: name.into(),
                labels: [("containerd.io/gc.expire".to_string(), expire.to_string())].into(),
                target: Target { media_type: MANIFEST.into(), digest: m.to_string(), size: 8, ..Default::default() },
                ..Default::default()
            };
            ns.images().create(&img).await.unwrap();
        }
        let r = c.gc(&HashSet::new()).await.unwrap();
        assert_eq!(r.deleted_images.get("default"), Some(&vec!["expired".to_string()]));
        assert!(r.deleted_content.is_empty());
        assert!(ns.content().info(&child).await.is_ok());
        let names: Vec<String> = ns.images().list(|_| true).await.unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["bad-expiry", "live"]);
    });
}

#[test]
fn expired_ingests_go_open_ones_stay() {
    block_on(async {
        let b = MemoryBackend::new();
        let c = Containerd::new(b.clone());
        let cs = c.namespace("default").unwrap().content();
        let open = cs.writer("open", None, 0).await.unwrap();
        drop(cs.writer("stale", None, 0).await.unwrap());
        // Age both ingests past their expiry.
        for r in ["open", "stale"] {
            let key = imagestore::schema::containerd::ingest("default", r);
            let mut rec: serde_json::Value =
                serde_json::from_slice(&b.get(Space::Meta, &key).await.unwrap().unwrap()).unwrap();
            rec["expireAt"] = "2000-01-01T00:00:00Z".into();
            b.commit(vec![Op::put_meta(key, serde_json::to_vec(&rec).unwrap())]).await.unwrap();
        }
        let r = c.gc(&HashSet::new()).await.unwrap();
        assert_eq!(r.deleted_ingests.get("default"), Some(&vec!["stale".to_string()]));
        assert!(cs.status("open").await.is_ok());
        drop(open);
    });
}
