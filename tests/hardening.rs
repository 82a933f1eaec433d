//! Hostile and odd uploads found by the hardening run (issue 10): each test here failed before
//! its fix. Bounded memory and time by design, dockerd 20.10's skip rules, and clear errors
//! with a code, the store unchanged.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use imagestore::digest::Digest;
use imagestore::storage::memory::MemoryBackend;
use imagestore::ErrorCode;
use serde_json::Value;
use support::import::*;

fn sha256_hex(data: &[u8]) -> String {
    Digest::sha256_of(data).hex().to_string()
}

/// The items of `docker20/basic/image-store.tar` plus a copy of its first image config
/// (with layers) changed by `edit`, under its new ID. Returns the tar and the new ID.
fn image_store_with_edited_copy(edit: impl Fn(&mut Value)) -> (Vec<u8>, Digest) {
    let mut items = tar_items(&fixture("docker20/basic/image-store.tar"));
    let config = items
        .iter()
        .find(|it| {
            plain_path(&it.path).starts_with("imagedb/content/sha256/")
                && serde_json::from_slice::<Value>(&it.data)
                    .is_ok_and(|v| v["rootfs"]["diff_ids"].as_array().is_some_and(|d| !d.is_empty()))
        })
        .expect("a config with layers")
        .clone();
    let mut json: Value = serde_json::from_slice(&config.data).unwrap();
    edit(&mut json);
    let data = serde_json::to_vec(&json).unwrap();
    let hex = sha256_hex(&data);
    items.push(file_item(&format!("./imagedb/content/sha256/{hex}"), &data));
    (build_tar(&items), Digest::from_sha256_hex(&hex).unwrap())
}

#[test]
fn a_windows_image_is_skipped_like_dockerd_on_linux_skips_it() {
    let (tar, id) = image_store_with_edited_copy(|c| c["os"] = "windows".into());
    let (f, _) = import_chunked(&tar, 65536);
    let f = f.unwrap();
    let d = docker(&f);
    assert!(!d.images.iter().any(|i| i.record.id == id), "the windows image was restored");
    let skipped = f.report.skipped.iter().find(|s| s.subject == id.to_string()).expect("reported in skipped");
    assert!(skipped.reason.contains("operating system"), "{}", skipped.reason);
}

#[test]
fn a_windows_image_in_a_docker_save_is_refused_like_docker_load() {
    let mut items = tar_items(&fixture("docker20/basic/docker-save.tar"));
    let manifest_at = items.iter().position(|it| plain_path(&it.path) == "manifest.json").unwrap();
    let mut manifest: Value = serde_json::from_slice(&items[manifest_at].data).unwrap();
    let config_name = manifest[0]["Config"].as_str().unwrap().to_string();
    let config = items.iter().find(|it| plain_path(&it.path) == config_name).unwrap();
    let mut json: Value = serde_json::from_slice(&config.data).unwrap();
    json["os"] = "windows".into();
    let data = serde_json::to_vec(&json).unwrap();
    let name = format!("{}.json", sha256_hex(&data));
    items.push(file_item(&name, &data));
    manifest[0]["Config"] = name.into();
    items[manifest_at].data = serde_json::to_vec(&manifest).unwrap();
    let (r, backend) = import_chunked(&build_tar(&items), 65536);
    let e = r.expect_err("the load fails");
    assert_eq!(e.code, ErrorCode::InvalidArgument, "{e}");
    assert!(e.message.contains("cannot load windows image on linux"), "{e}");
    assert!(backend.is_empty(), "nothing staged is left");
}

/// A store (memory backend) with `tar` imported through the façade.
fn store_with(tar: Vec<u8>) -> (imagestore::store::Store<MemoryBackend>, imagestore::import::ImportReport) {
    futures::executor::block_on(async {
        let mut store = imagestore::store::Store::open(MemoryBackend::new()).await.unwrap();
        let input = futures::stream::iter(vec![Ok(tar)]);
        let report = store.import(input, imagestore::import::ImportOptions::default()).await.unwrap();
        (store, report)
    })
}

/// `docker20/basic/image-store.tar` with the metadata file `imagedb/metadata/sha256/<hex>/<name>`
/// of the image `hex` set to `data` (added if missing). Returns the tar.
fn basic_with_metadata(hex: &str, name: &str, data: &[u8]) -> Vec<u8> {
    let mut items = tar_items(&fixture("docker20/basic/image-store.tar"));
    let path = format!("imagedb/metadata/sha256/{hex}/{name}");
    items.retain(|it| plain_path(&it.path) != path);
    items.push(file_item(&format!("./{path}"), data));
    build_tar(&items)
}

const EDGE: &str = "4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05";

#[test]
fn a_bad_last_updated_is_ignored_with_a_reason_and_never_fails_the_list() {
    let (store, report) = store_with(basic_with_metadata(EDGE, "lastUpdated", b"yesterday"));
    let subject = format!("imagedb/metadata/sha256/{EDGE}/lastUpdated");
    let skipped = report.skipped.iter().find(|s| s.subject == subject).expect("reported in skipped");
    assert!(skipped.reason.contains("yesterday") || skipped.reason.contains("RFC"), "{}", skipped.reason);
    let list = store.list_images(true, false, &Default::default()).unwrap();
    let want = fixture_json("docker20/basic/expected/api/images-all.json");
    assert_eq!(list.as_array().unwrap().len(), want.as_array().unwrap().len(), "every image is listed");
    let inspect = store.inspect_image(EDGE).unwrap();
    assert_eq!(inspect["Metadata"]["LastTagTime"], "0001-01-01T00:00:00Z");
}

#[test]
fn a_recorded_parent_that_was_not_restored_is_still_reported() {
    let missing = "sha256:".to_string() + &"ab".repeat(32);
    let (store, _) = store_with(basic_with_metadata(EDGE, "parent", missing.as_bytes()));
    let inspect = store.inspect_image(EDGE).unwrap();
    assert_eq!(inspect["Parent"], missing.as_str());
    let list = store.list_images(true, false, &Default::default()).unwrap();
    let row = list.as_array().unwrap().iter().find(|r| r["Id"] == format!("sha256:{EDGE}")).unwrap();
    assert_eq!(row["ParentId"], missing.as_str());
    assert_eq!(store.image_parent(EDGE).unwrap().map(|d| d.to_string()), Some(missing.clone()));
    // The history stops at the image (its parent is not there to label older rows).
    let history = store.image_history(EDGE).unwrap();
    assert_eq!(history[0]["Id"], format!("sha256:{EDGE}"));
    assert!(history.as_array().unwrap()[1..].iter().all(|h| h["Id"] == "<missing>"));
}

#[test]
fn a_tar_that_ends_between_entries_without_its_end_blocks_is_truncated() {
    let items = tar_items(&fixture("docker20/basic/image-store.tar"));
    let tar = build_tar(&items);
    assert!(tar[tar.len() - 1024..].iter().all(|&b| b == 0));
    // Cut at the end of the last entry, and at the end of an entry halfway through.
    let half = build_tar(&items[..items.len() / 2]);
    for cut in [&tar[..tar.len() - 1024], &half[..half.len() - 1024]] {
        let (r, backend) = import_chunked(cut, 65536);
        let e = r.expect_err("refused");
        assert_eq!(e.code, ErrorCode::DataCorrupt, "{e}");
        assert!(e.message.contains("truncated tar") && e.message.contains("end-of-archive"), "{e}");
        assert!(backend.is_empty(), "nothing staged is left");
    }
    // One zero block is an end (Go's archive/tar and GNU tar take it).
    let (r, _) = import_chunked(&tar[..tar.len() - 512], 65536);
    assert!(r.is_ok());
}

/// The basic fixture's containerd root with its namespace `default` renamed (same length, so
/// the bbolt pages stay valid) to `name`.
fn containerd_root_with_namespace(name: &str) -> Vec<u8> {
    assert_eq!(name.len(), "default".len());
    let mut items = tar_items(&fixture("docker20/basic/containerd-root.tar"));
    let db = items.iter_mut().find(|it| it.path.ends_with("meta.db")).unwrap();
    let mut patched = 0;
    for at in 0..db.data.len() - 7 {
        if &db.data[at..at + 7] == b"default" {
            db.data[at..at + 7].copy_from_slice(name.as_bytes());
            patched += 1;
        }
    }
    assert!(patched > 0);
    build_tar(&items)
}

#[test]
fn namespaces_that_are_not_containerd_identifiers_are_skipped_and_reach_no_other_namespace() {
    for bad in ["d/image", "../evil", "UP lowr", "a..b.cd"] {
        let tar = containerd_root_with_namespace(bad);
        let (f, backend) = import_chunked(&tar, 65536);
        let f = f.unwrap_or_else(|e| panic!("{bad}: {e}"));
        let skipped = f.report.skipped.iter().find(|s| s.subject.contains(bad)).expect("reported in skipped");
        assert!(skipped.reason.contains("identifier"), "{}", skipped.reason);
        let namespaces = futures::executor::block_on(async {
            let mut store = imagestore::store::Store::open(backend.clone()).await.unwrap();
            store.commit_import(f).await.unwrap();
            imagestore::containerd::Containerd::new(backend).namespaces().await.unwrap()
        });
        assert_eq!(namespaces, vec!["team".to_string()], "{bad}: only the valid namespace");
    }
}

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A namespace holding one image whose target is an OCI index DAG: `depth` levels of indexes,
/// each listing the next level `width` times (no platforms), over one real manifest.
async fn index_dag(width: usize, depth: usize) -> imagestore::containerd::Namespace<MemoryBackend> {
    use imagestore::containerd::{Containerd, Image, Labels, Target};
    let ns = Containerd::new(MemoryBackend::new()).namespace("default").unwrap();
    let put = |bytes: Vec<u8>| {
        let ns = ns.clone();
        async move {
            let d = Digest::sha256_of(&bytes);
            let mut w = ns.content().writer(&format!("w-{d}"), Some(&d), bytes.len() as u64).await.unwrap();
            w.write(&bytes).await.unwrap();
            w.commit(bytes.len() as u64, Some(&d), Labels::new()).await.unwrap();
            (d, bytes.len())
        }
    };
    let (config, config_len) =
        put(br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec()).await;
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_len},
        "layers": []});
    let (mut d, mut len) = put(serde_json::to_vec(&manifest).unwrap()).await;
    let mut media = OCI_MANIFEST;
    for _ in 0..depth {
        let entry = serde_json::json!({"mediaType": media, "digest": d, "size": len});
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": vec![entry; width]});
        (d, len) = put(serde_json::to_vec(&index).unwrap()).await;
        media = OCI_INDEX;
    }
    let target =
        Target { media_type: media.to_string(), digest: d.to_string(), size: len as i64, ..Default::default() };
    ns.images().create(&Image { name: "dag".into(), target, ..Default::default() }).await.unwrap();
    ns
}

#[test]
fn an_index_dag_is_walked_once_per_descriptor() {
    futures::executor::block_on(async {
        // 30 wide and 6 deep is 30^6 paths (ctr walks each); 2 wide and 20 deep, 2^20.
        for (width, depth) in [(30, 6), (2, 20)] {
            let ns = index_dag(width, depth).await;
            let images = ns.images().list(|_| true).await.unwrap();
            let rows = imagestore::containerd::ls_view::image_rows(&ns.content(), &images).await;
            assert_eq!(rows[0].platforms, "linux/amd64", "{width}x{depth}");
            assert!(rows[0].size_error.is_none(), "{width}x{depth}: {:?}", rows[0].size_error);
        }
        // Deeper than any real image: a clear error, not a walk without end.
        let ns = index_dag(1, 40).await;
        let images = ns.images().list(|_| true).await.unwrap();
        let rows = imagestore::containerd::ls_view::image_rows(&ns.content(), &images).await;
        let e = rows[0].size_error.as_ref().expect("too deep");
        assert_eq!(e.code, ErrorCode::ResourceExhausted, "{e}");
        assert!(e.message.contains("too large to walk"), "{e}");
    });
}

/// `docker20/basic/docker-save.tar` with its manifest.json (or, when `config` is set, its first
/// image's config) padded with JSON blank space to `size` bytes.
fn basic_save_with_padded_json(size: usize, config: bool) -> Vec<u8> {
    let mut items = tar_items(&fixture("docker20/basic/docker-save.tar"));
    let manifest_at = items.iter().position(|it| plain_path(&it.path) == "manifest.json").unwrap();
    let mut manifest: Value = serde_json::from_slice(&items[manifest_at].data).unwrap();
    let pad = |data: &[u8]| {
        let mut out = data.to_vec();
        out.resize(size, b' ');
        out
    };
    if config {
        let name = manifest[0]["Config"].as_str().unwrap().to_string();
        let data = pad(&items.iter().find(|it| plain_path(&it.path) == name).unwrap().data);
        let padded_name = format!("{}.json", sha256_hex(&data));
        items.push(file_item(&padded_name, &data));
        manifest[0]["Config"] = padded_name.into();
        items[manifest_at].data = serde_json::to_vec(&manifest).unwrap();
    } else {
        items[manifest_at].data = pad(&items[manifest_at].data);
    }
    build_tar(&items)
}

/// Small documents are capped (issue 10: nothing read whole into memory unless it is small):
/// a manifest.json or an image config past the 20 MiB limit refuses the load with an error
/// naming the entry, before anything is read into memory, and leaves nothing behind; just
/// under the limit both load.
#[test]
fn a_docker_save_manifest_or_config_past_its_size_limit_is_refused_naming_it() {
    use imagestore::import::JSON_LIMIT;
    use imagestore::storage::{Backend, Space};
    let over = JSON_LIMIT as usize + 1;
    for (what, config, named) in
        [("manifest.json", false, "\"manifest.json\""), ("config", true, "image config (sha256:")]
    {
        let (r, backend) = import_chunked(&basic_save_with_padded_json(over, config), 1 << 20);
        let e = r.expect_err(what);
        assert_eq!(e.code, ErrorCode::UnsupportedFormat, "{what}: {e}");
        assert!(e.message.contains(named) && e.message.contains(&JSON_LIMIT.to_string()), "{what}: {e}");
        // Nothing staged is left (a session's staging marker may stay: it is not data).
        assert_eq!(backend.len(Space::Chunks), 0, "{what}: no chunk is left");
        let meta = futures::executor::block_on(backend.keys(Space::Meta, "")).unwrap();
        assert!(meta.iter().all(|k| k.starts_with(imagestore::schema::STAGING_MARKERS)), "{what}: {meta:?}");
        let (r, _) = import_chunked(&basic_save_with_padded_json(JSON_LIMIT as usize - 64, config), 1 << 20);
        r.unwrap_or_else(|e| panic!("{what} just under the limit: {e}"));
    }
}

/// In an image-store upload a config past its 16 MiB limit is skipped with the reason, and the
/// other images are restored (one bad record never takes the store's other images down).
#[test]
fn an_image_store_config_past_its_size_limit_is_skipped_with_the_reason() {
    use imagestore::import::CONFIG_LIMIT;
    let mut items = tar_items(&fixture("docker20/basic/image-store.tar"));
    let path = format!("imagedb/content/sha256/{EDGE}");
    let at = items.iter().position(|it| plain_path(&it.path) == path).unwrap();
    items[at].data.resize(CONFIG_LIMIT as usize + 1, b' ');
    let (store, report) = store_with(build_tar(&items));
    let skipped = report.skipped.iter().find(|s| s.subject.contains(EDGE)).expect("edge is skipped");
    assert!(skipped.reason.contains("over the import limit"), "{skipped:?}");
    assert!(store.inspect_image(EDGE).is_err(), "edge is not restored");
    let list = store.list_images(true, false, &Default::default()).unwrap();
    let want = fixture_json("docker20/basic/expected/api/images-all.json");
    assert_eq!(list.as_array().unwrap().len(), want.as_array().unwrap().len() - 1, "the other images are");
}
