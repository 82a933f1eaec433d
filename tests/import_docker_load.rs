#![cfg(not(target_arch = "wasm32"))]
//! `docker save` archives into the Docker view, as `docker load` does: the tags of the basic
//! fixture's save resolve to the same image IDs, with the same Size and RootFS, as dockerd
//! answered about the store they were saved from; the generated tar-splits list the layers'
//! files.

mod import_support;

use futures::executor::block_on;
use imagestore::docker::engine::Filters;
use imagestore::docker::model::DockerImport;
use imagestore::formats::tar_split::parse_tar_split;
use imagestore::import::{Finished, Imported};
use imagestore::storage::blobs;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;
use imagestore::ErrorCode;
use import_support::*;
use serde_json::Value;
use std::collections::BTreeMap;

fn loaded(f: &Finished) -> &DockerImport {
    match &f.imported {
        Imported::DockerLoad(d) => d,
        other => panic!("not a docker load: {}", other.format()),
    }
}

fn load_into_store(tar: &[u8], chunk: usize) -> (Finished, Store<MemoryBackend>) {
    let (f, backend) = import_chunked(tar, chunk);
    let f = f.unwrap();
    let import = match f.imported {
        Imported::DockerLoad(ref d) => DockerImport {
            images: d.images.clone(),
            layers: d.layers.clone(),
            tar_splits: d.tar_splits.clone(),
            repositories: d.repositories.clone(),
            ..Default::default()
        },
        _ => panic!("not a docker load"),
    };
    let store = block_on(async {
        let mut store = Store::open(backend).await.unwrap();
        let outcome = store.apply_docker_import(import).await.unwrap();
        assert!(outcome.skipped.is_empty(), "{:?}", outcome.skipped);
        store
    });
    (f, store)
}

#[test]
fn basic_save_loads_with_dockerds_ids_sizes_and_rootfs() {
    let tar = fixture("docker20/basic/docker-save.tar");
    let (f, store) = load_into_store(&tar, 10_000);
    assert_eq!(f.report.format, "docker-save");
    let d = loaded(&f);
    assert!(d.layers.iter().all(|l| l.tar_split.is_some() && l.cache_id.len() == 64));

    let want: Vec<Value> = serde_json::from_slice(&fixture("docker20/basic/expected/api/images.json")).unwrap();
    let got = store.list_images(false, false, &Filters::default()).unwrap();
    let by_tag = |list: &[Value]| -> BTreeMap<String, (String, i64)> {
        let mut m = BTreeMap::new();
        for img in list {
            for tag in img["RepoTags"].as_array().into_iter().flatten() {
                m.insert(tag.as_str().unwrap().to_string(), (img["Id"].as_str().unwrap().to_string(), img["Size"].as_i64().unwrap()));
            }
        }
        m
    };
    let mut want_tags = by_tag(&want);
    // The fixture script saved every tag but the registry one and the layerless image
    // (and a dangling image has none).
    want_tags.retain(|t, _| !t.starts_with("127.0.0.1") && !t.starts_with("local/empty") && t != "<none>:<none>");
    assert_eq!(by_tag(got.as_array().unwrap()), want_tags);

    for (tag, (id, _)) in &want_tags {
        let ours = store.inspect_image(tag).unwrap();
        let theirs: Value = serde_json::from_slice(&fixture(&format!(
            "docker20/basic/expected/api/inspect/{}.json",
            id.trim_start_matches("sha256:")
        )))
        .unwrap();
        assert_eq!(ours["RootFS"], theirs["RootFS"], "{tag}");
        assert_eq!(ours["Size"], theirs["Size"], "{tag}");
    }

    // The generated tar-splits describe each layer tar exactly (length and listing).
    let backend = store.backend();
    for layer in &d.layers {
        let gz = block_on(blobs::read_all(backend, layer.tar_split.as_ref().unwrap())).unwrap();
        let ts = parse_tar_split(&gz[..]).unwrap();
        assert_eq!(ts.regular_file_bytes(), layer.size, "{}", layer.chain_id);
        assert!(ts.tar_size > 0 && ts.tar_size % 512 == 0);
    }
}

#[test]
fn wild_saves_load() {
    for (rel, images) in [
        ("wild/dive/.data/test-docker-image.tar", 1),
        ("wild/dive/.data/test-kaniko-image.tar", 1),
        ("wild/go-containerregistry/pkg/v1/tarball/testdata/hello-world-v25.tar", 1),
        ("wild/go-containerregistry/pkg/v1/tarball/testdata/test_link.tar", 2),
        ("wild/containers-image/docker/archive/fixtures/almostempty.tar", 1),
        ("wild/osv-scalibr/artifact/image/unpack/testdata/symlinks.tar", 1),
    ] {
        let (f, store) = load_into_store(&fixture(rel), 7000);
        assert_eq!(f.report.format, "docker-save", "{rel}");
        assert_eq!(loaded(&f).images.len(), images, "{rel}");
        let all = store.list_images(true, false, &Filters::default()).unwrap();
        assert_eq!(all.as_array().unwrap().len(), images, "{rel}");
    }
}

#[test]
fn a_layer_count_that_differs_from_the_configs_diff_ids_is_refused() {
    let tar = fixture("docker20/basic/docker-save.tar");
    let manifest = entry(&tar, "manifest.json");
    let mut items: Vec<Value> = serde_json::from_slice(&manifest).unwrap();
    items[0]["Layers"].as_array_mut().unwrap().pop();
    let bad = replace(&tar, "manifest.json", &serde_json::to_vec(&items).unwrap());
    let (r, backend) = import_chunked(&bad, 4096);
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(e.message.contains("invalid manifest, layers length mismatch"), "{e}");
    assert!(backend.is_empty(), "nothing staged is left");
}

#[test]
fn a_layer_whose_diff_id_differs_is_refused() {
    let tar = fixture("docker20/basic/docker-save.tar");
    let manifest: Vec<Value> = serde_json::from_slice(&entry(&tar, "manifest.json")).unwrap();
    let layer = manifest[0]["Layers"][0].as_str().unwrap().to_string();
    let mut data = entry(&tar, &layer);
    let last = data.len() - 2000;
    data[last] ^= 1;
    let (r, backend) = import_chunked(&replace(&tar, &layer, &data), 4096);
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt);
    assert!(e.message.contains("invalid diffID for layer 0"), "{e}");
    assert!(backend.is_empty());
}

fn entry(tar: &[u8], name: &str) -> Vec<u8> {
    use std::io::Read;
    for e in tar::Archive::new(tar).entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == name {
            let mut v = Vec::new();
            e.read_to_end(&mut v).unwrap();
            return v;
        }
    }
    panic!("{name} not in the tar")
}

fn replace(tar: &[u8], name: &str, with: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = tar::Builder::new(Vec::new());
    for e in tar::Archive::new(tar).entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let mut h = e.header().clone();
        let data = if path == name { with.to_vec() } else { data };
        h.set_size(data.len() as u64);
        out.append_data(&mut h, &path, &data[..]).unwrap();
    }
    out.into_inner().unwrap()
}
