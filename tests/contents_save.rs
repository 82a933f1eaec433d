#![cfg(not(target_arch = "wasm32"))]
//! `docker save` export compared with what Docker 20.10 wrote: the basic fixture's
//! docker-save.tar is imported, the same images are saved in the order of its manifest.json
//! (dockerd's order is Go map order), and the two archives are compared entry by entry —
//! names, types, link targets, modes, times and bytes.

mod support;

use futures::executor::block_on;
use imagestore::contents::ExportFormat;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;
use imagestore::ErrorCode;
use serde_json::Value;
use support::import::*;

fn loaded_store(tar: &[u8]) -> Store<MemoryBackend> {
    let (f, backend) = import_chunked(tar, 64 << 10);
    block_on(async {
        let mut store = Store::open(backend).await.unwrap();
        let report = store.commit_import(f.unwrap()).await.unwrap();
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        store
    })
}

/// The names that select the manifest's images in its order: every RepoTag, or the ID.
fn names_in_manifest_order(manifest: &Value) -> Vec<String> {
    let mut names = Vec::new();
    for item in manifest.as_array().unwrap() {
        match item["RepoTags"].as_array() {
            Some(tags) if !tags.is_empty() => names.extend(tags.iter().map(|t| t.as_str().unwrap().to_string())),
            _ => names.push(item["Config"].as_str().unwrap().trim_end_matches(".json").to_string()),
        }
    }
    names
}

fn save(store: &Store<MemoryBackend>, names: &[String], now: i64) -> Vec<u8> {
    let stream = store.save(names, ExportFormat::Docker, now).unwrap();
    let len = stream.len();
    let out = block_on(stream.read_all(store.backend())).unwrap();
    assert_eq!(out.len() as u64, len, "announced length");
    out
}

#[test]
fn docker_save_matches_docker_20_10_entry_by_entry() {
    let real = fixture("docker20/basic/docker-save.tar");
    let store = loaded_store(&real);
    let real_items = tar_items(&real);
    let manifest: Value =
        serde_json::from_slice(&real_items.iter().find(|i| i.path == "manifest.json").unwrap().data).unwrap();
    let names = names_in_manifest_order(&manifest);
    // Folders whose layer.tar is a symlink carry the time of the save: use the real one's.
    let now = symlink_dir_time(&real);
    let ours = save(&store, &names, now);

    let (want, got) = (raw_entries(&real), raw_entries(&ours));
    let names_of = |v: &Vec<RawEntry>| v.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
    assert_eq!(names_of(&got), names_of(&want), "entry names and order");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.header, w.header, "header of {}", w.name);
        assert!(g.data == w.data, "bytes of {} ({} vs {} bytes)", w.name, g.data.len(), w.data.len());
    }
    assert_eq!(ours.len(), real.len(), "archive length");
    assert!(ours == real, "the whole archive is byte-identical");
}

#[test]
fn gzip_layers_loaded_are_saved_as_the_plain_tars_docker_writes() {
    // The same archive with every layer.tar gzip-compressed: docker load takes it, and the
    // export writes the uncompressed tars again, byte for byte.
    let real = fixture("docker20/basic/docker-save.tar");
    let mut items = tar_items(&real);
    for it in items.iter_mut().filter(|i| i.path.ends_with("/layer.tar") && !i.data.is_empty()) {
        it.data = gzip(&it.data);
    }
    let store = loaded_store(&build_tar(&items));
    let manifest: Value =
        serde_json::from_slice(&items.iter().find(|i| i.path == "manifest.json").unwrap().data).unwrap();
    let ours = save(&store, &names_in_manifest_order(&manifest), symlink_dir_time(&real));
    assert!(ours == real, "byte-identical to the real save");
}

#[test]
fn save_by_repository_name_and_id() {
    let real = fixture("docker20/basic/docker-save.tar");
    let store = loaded_store(&real);
    // A bare repository name selects all of its tags; an ID selects the image untagged.
    let out = save(&store, &["local/base".to_string(), "4afb125595bd".to_string()], 0);
    let items = tar_items(&out);
    let manifest: Value =
        serde_json::from_slice(&items.iter().find(|i| i.path == "manifest.json").unwrap().data).unwrap();
    let m = manifest.as_array().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["RepoTags"], serde_json::json!(["local/base:1", "local/base:latest"]));
    assert_eq!(m[1]["RepoTags"], Value::Null);
    assert!(m[1]["Config"].as_str().unwrap().starts_with("4afb125595bd"));
    let repos: Value = serde_json::from_slice(&items.iter().find(|i| i.path == "repositories").unwrap().data).unwrap();
    assert_eq!(repos.as_object().unwrap().keys().collect::<Vec<_>>(), ["local/base"]);

    let e = store.save(&["local/nope:1".to_string()], ExportFormat::Docker, 0).err().unwrap();
    assert_eq!(e.code, ErrorCode::NotFound, "{e}");
}

#[test]
fn image_store_without_layer_contents_names_the_missing_layers() {
    let store = loaded_store(&fixture("docker20/basic/image-store.tar"));
    let e = store.save(&["local/edge:latest".to_string()], ExportFormat::Docker, 0).err().unwrap();
    assert_eq!(e.code, ErrorCode::FailedPrecondition);
    let inspect = fixture_json(
        "docker20/basic/expected/inspect/4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05.json",
    );
    for layer in inspect[0]["RootFS"]["Layers"].as_array().unwrap() {
        assert!(e.message.contains(layer.as_str().unwrap()), "{e} names {layer}");
    }
}

#[test]
fn oci_layout_round_trips_into_both_views_with_the_name_annotations() {
    let real = fixture("docker20/basic/docker-save.tar");
    let store = loaded_store(&real);
    let names = ["local/edge:latest".to_string(), "local/base".to_string()];
    let stream = store.save(&names, ExportFormat::Oci, 0).unwrap();
    let layout = block_on(stream.read_all(store.backend())).unwrap();
    let items = tar_items(&layout);
    let file = |p: &str| items.iter().find(|i| i.path == p).unwrap_or_else(|| panic!("{p} missing")).data.clone();
    assert_eq!(file("oci-layout"), br#"{"imageLayoutVersion": "1.0.0"}"#);
    let index: Value = serde_json::from_slice(&file("index.json")).unwrap();
    let refs: Vec<(String, String)> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let a = &m["annotations"];
            (
                a["io.containerd.image.name"].as_str().unwrap().into(),
                a["org.opencontainers.image.ref.name"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        refs,
        [
            ("docker.io/local/edge:latest".to_string(), "latest".to_string()),
            ("docker.io/local/base:1".into(), "1".into()),
            ("docker.io/local/base:latest".into(), "latest".into())
        ]
    );
    // Every blob is named by its digest.
    for it in items.iter().filter(|i| i.path.starts_with("blobs/sha256/") && !i.data.is_empty()) {
        assert_eq!(imagestore::Digest::sha256_of(&it.data).hex(), &it.path["blobs/sha256/".len()..], "{}", it.path);
    }

    // Loaded back (Docker view, like docker load): same IDs, tags and layers.
    let back = loaded_store(&layout);
    for name in ["local/edge:latest", "local/base:1", "local/base:latest"] {
        let (a, b) = (store.inspect_image(name).unwrap(), back.inspect_image(name).unwrap());
        for key in ["Id", "RepoTags", "RootFS", "Size", "Created", "Config"] {
            assert_eq!(a[key], b[key], "{name}: {key}");
        }
    }
    // And as `ctr images import` (containerd view): the annotated names.
    let (f, backend) = import_with(
        &layout,
        64 << 10,
        imagestore::import::ImportOptions { namespace: Some("team".into()), ..Default::default() },
    );
    block_on(async {
        let mut s = Store::open(backend).await.unwrap();
        s.commit_import(f.unwrap()).await.unwrap();
        let c = imagestore::containerd::Containerd::new(s.backend().clone());
        let names: Vec<String> =
            c.namespace("team").unwrap().images().list(|_| true).await.unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["docker.io/local/base:1", "docker.io/local/base:latest", "docker.io/local/edge:latest"]);
    });
}

#[test]
fn rmi_drops_layer_tars_no_other_layer_uses() {
    let real = fixture("docker20/basic/docker-save.tar");
    let mut store = loaded_store(&real);
    let stored = |s: &Store<MemoryBackend>, d: &str| {
        block_on(imagestore::storage::blobs::stat(s.backend(), &imagestore::Digest::parse(d).unwrap()))
            .unwrap()
            .is_some()
    };
    let inspect = store.inspect_image("local/edge:latest").unwrap();
    let layers: Vec<String> =
        inspect["RootFS"]["Layers"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().into()).collect();
    assert!(layers.iter().all(|l| stored(&store, l)));
    block_on(store.remove_image("local/edge:latest", false, false)).unwrap();
    // The busybox base layer is shared with other images; edge's own top layer is not.
    assert!(stored(&store, &layers[0]), "shared base layer kept");
    assert!(!stored(&store, &layers[6]), "edge's own layer tar deleted");
    assert_eq!(
        store.docker().contents.len(),
        store.docker().layers.records().map(|l| &l.diff_id).collect::<std::collections::BTreeSet<_>>().len()
    );
}

#[test]
fn oci_layout_matches_what_docker_25_wrote() {
    // A real Docker 25.0 `docker save` of hello-world by ID (go-containerregistry's testdata).
    // Loaded and saved again by ID, every file is the same bytes: the OCI manifest blob (so its
    // digest), the config, the layer, the legacy v1 JSON, manifest.json and oci-layout. The one
    // difference is index.json: 25.0.0 wrote `"manifests":null` for an image saved by ID, which
    // moby fixed in 25.0.3 (moby#47210, #47294) by listing the untagged manifest with its
    // platform, as we do.
    let real = fixture("wild/go-containerregistry/pkg/v1/tarball/testdata/hello-world-v25.tar");
    let store = loaded_store(&real);
    let id = "sha256:ee301c921b8aadc002973b2e0c3da17d701dcd994b606769a7e6eaa100b81d44".to_string();
    let now = 1706548216; // the time of the real save (index.json, blobs/sha256/)
    let ours = block_on(store.save(&[id], ExportFormat::Oci, now).unwrap().read_all(store.backend())).unwrap();
    let files = |tar: &[u8]| -> Vec<(String, Vec<u8>)> {
        raw_entries(tar).into_iter().filter(|e| e.header[156] == b'0').map(|e| (e.name, e.data)).collect()
    };
    let (got, want) = (files(&ours), files(&real));
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want), "the same files in the same order");
    for ((name, g), (_, w)) in got.iter().zip(&want) {
        if name == "index.json" {
            assert_eq!(
                w,
                br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":null}"#
            );
            let index: Value = serde_json::from_slice(g).unwrap();
            let m = &index["manifests"][0];
            assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
            assert_eq!(m["digest"], "sha256:411caf340c828657e915a83ed561a79d2b8150dabad4dc079d881cbfe6f86afe");
            assert_eq!(m["size"], 447);
            assert_eq!(m["platform"], serde_json::json!({"architecture": "arm64", "os": "linux"}));
            assert!(m.get("annotations").is_none());
        } else {
            assert!(g == w, "bytes of {name}: {:?} vs {:?}", String::from_utf8_lossy(g), String::from_utf8_lossy(w));
        }
    }
    // Headers too (mode, owner, times), but index.json's size and checksum.
    for (g, w) in raw_entries(&ours).iter().zip(&raw_entries(&real)) {
        let fields =
            |h: &[u8]| if w.name == "index.json" { [&h[..124], &h[136..148], &h[156..]].concat() } else { h.to_vec() };
        assert_eq!(fields(&g.header), fields(&w.header), "header of {}", w.name);
    }
}
