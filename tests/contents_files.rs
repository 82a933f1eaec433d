#![cfg(not(target_arch = "wasm32"))]
//! Reading files and layers of an imported `docker save`: the bytes equal those of the layer
//! tars Docker wrote, the topmost layer wins, whiteouts hide files, symlinks resolve inside the
//! image (relative, absolute, `..` past the root), and gzip-stored layers read the same.

mod support;

use futures::executor::block_on;
use imagestore::docker::layer_files::{LayerFileEntry, LayerSelector};
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{Backend, Op, Space};
use imagestore::store::Store;
use imagestore::ErrorCode;
use support::import::*;

fn loaded_store(tar: &[u8]) -> Store<MemoryBackend> {
    let (f, backend) = import_chunked(tar, 64 << 10);
    block_on(async {
        let mut store = Store::open(backend).await.unwrap();
        store.commit_import(f.unwrap()).await.unwrap();
        store
    })
}

/// The bytes of `path` in the real archive's layer tar `<v1 id>/layer.tar`.
fn in_layer(save: &[u8], v1: &str, path: &str) -> Vec<u8> {
    let layer = tar_items(save).into_iter().find(|i| i.path == format!("{v1}/layer.tar")).unwrap().data;
    tar_items(&layer).into_iter().find(|i| plain_path(&i.path) == path).unwrap_or_else(|| panic!("{path}")).data
}

fn read(store: &Store<MemoryBackend>, image: &str, path: &str) -> imagestore::Result<Vec<u8>> {
    block_on(async { store.read_file(image, path).await?.read_all(store.backend()).await })
}

const BUSYBOX: &str = "41165e7dfd1c1852261b5920b864510bcd0a3be645ce3040d826fc74ad125a74";
const APP_DATA: &str = "7aac28ca4f348dcc207f522beebc154207c23da040de62b88f37673643ab80a5";
const BUILT: &str = "090d67032581fc68c5b35525d8071e4f93974ffb67f04aa7c55224b3d83d932b";
const BLOB: &str = "f069f6672c86c2b5458c74fb658b5581d2a5df507d5842a1d5e82bba0ba2fef9";

fn check_reads(store: &Store<MemoryBackend>, real: &[u8]) {
    let busybox = in_layer(real, BUSYBOX, "bin/busybox");
    let data = in_layer(real, APP_DATA, "app/data.txt");
    assert_eq!(read(store, "local/edge", "/bin/busybox").unwrap(), busybox);
    assert_eq!(read(store, "local/edge", "/bin/sh").unwrap(), busybox, "relative symlink");
    assert_eq!(read(store, "local/edge", "/data/link").unwrap(), data, "absolute symlink");
    assert_eq!(read(store, "local/edge", "data/../../../../app/data.txt").unwrap(), data, ".. stops at the root");
    assert_eq!(read(store, "local/edge", "/data/blob.bin").unwrap(), in_layer(real, BLOB, "data/blob.bin"));
    assert_eq!(read(store, "local/demo:1.0", "/app/built.txt").unwrap(), in_layer(real, BUILT, "app/built.txt"));
    for gone in ["/app/built.txt", "/etc/hello.txt", "/nope"] {
        assert_eq!(read(store, "local/edge", gone).unwrap_err().code, ErrorCode::NotFound, "{gone} is whited out");
    }
    assert_eq!(read(store, "local/edge", "/bin").unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(read(store, "local/edge", "/data/fifo").unwrap_err().code, ErrorCode::InvalidArgument);
}

#[test]
fn files_read_like_the_layer_tars_docker_wrote() {
    let real = fixture("docker20/basic/docker-save.tar");
    let store = loaded_store(&real);
    check_reads(&store, &real);
    // A layer as its tar.
    let layer = block_on(async {
        let mut r = store.read_layer("local/edge:latest", 6).unwrap();
        let mut all = Vec::new();
        while let Some(c) = r.next(store.backend()).await.unwrap() {
            all.extend_from_slice(&c);
        }
        all
    });
    let want = tar_items(&real).into_iter().find(|i| i.path == format!("{BLOB}/layer.tar")).unwrap().data;
    assert!(layer == want, "layer 6 of edge");
    assert_eq!(store.read_layer("local/edge", 7).err().unwrap().code, ErrorCode::NotFound);
}

/// Reading a file builds the image's merged tree from each layer's persisted entries record
/// (written by the import for every layer whose tar it stores), which keeps the data
/// offsets: a reopened store reads files without inflating a single tar-split, and a damaged
/// record is read again from the tar-split and rewritten.
#[test]
fn a_reopened_store_reads_files_from_the_entries_records_without_the_tar_splits() {
    let real = fixture("docker20/basic/docker-save.tar");
    let store = loaded_store(&real);
    let backend = store.backend().clone();
    let records = block_on(backend.scan(Space::Meta, "analysis/entries/")).unwrap();
    let stored_layers =
        store.docker().layers.records().filter(|l| store.docker().contents.contains(&l.diff_id)).count();
    assert_eq!(records.len(), stored_layers, "the import wrote an entries record per layer whose tar it stored");
    check_reads(&store, &real);
    assert_eq!(block_on(backend.scan(Space::Meta, "analysis/entries/")).unwrap(), records, "reads add none");

    // Damaged records are refused, read again from the tar-splits and rewritten as they were.
    let damaged: Vec<Op> = records
        .iter()
        .map(|(key, value)| {
            let mut bad = value.clone();
            *bad.last_mut().unwrap() ^= 0xff;
            Op::put_meta(key.clone(), bad)
        })
        .collect();
    block_on(backend.commit(damaged)).unwrap();
    let reopened = block_on(Store::open(backend.clone())).unwrap();
    check_reads(&reopened, &real);
    // (Layers no read above needs are read by the analyses of every image.)
    let list = reopened.list_images(true, false, &Default::default()).unwrap();
    for image in list.as_array().unwrap() {
        block_on(reopened.layer_changes(image["Id"].as_str().unwrap())).unwrap();
    }
    let rewritten: std::collections::BTreeMap<String, Vec<u8>> =
        block_on(backend.scan(Space::Meta, "analysis/entries/")).unwrap().into_iter().collect();
    for (key, value) in &records {
        assert!(rewritten.get(key) == Some(value), "{key} was not rewritten as it was");
    }

    // layerFiles lists from the records too: every layer of edge, alone and merged, as listed
    // from the tar-splits (records deleted first), owners' names, times and devices included.
    let layers = store.inspect_image("local/edge").unwrap()["RootFS"]["Layers"].as_array().unwrap().len();
    let listings = |s: &Store<MemoryBackend>| -> Vec<Vec<LayerFileEntry>> {
        (0..layers)
            .flat_map(|i| [false, true].map(|merged| (i, merged)))
            .map(|(i, merged)| block_on(s.layer_files("local/edge", Some(&LayerSelector::Index(i)), merged)).unwrap())
            .collect()
    };
    block_on(backend.commit(vec![Op::DeletePrefix { space: Space::Meta, prefix: "analysis/entries/".into() }]))
        .unwrap();
    let from_tar_splits = listings(&block_on(Store::open(backend.clone())).unwrap());
    let all: Vec<&LayerFileEntry> = from_tar_splits.iter().flatten().collect();
    assert!(all.iter().any(|f| f.mtime != "0001-01-01T00:00:00Z") && all.iter().any(|f| f.whiteout.is_some()));
    block_on(backend.commit(records.iter().map(|(k, v)| Op::put_meta(k.clone(), v.clone())).collect())).unwrap();

    // With the records in place the tar-splits are not needed: drop their bytes and read again.
    let tar_splits: Vec<_> = store.docker().layers.records().filter_map(|l| l.tar_split.clone()).collect();
    assert!(!tar_splits.is_empty());
    let mut drop = Vec::new();
    for digest in &tar_splits {
        let record = block_on(backend.get(Space::Meta, &format!("blob/{digest}"))).unwrap().unwrap();
        let set = serde_json::from_slice::<serde_json::Value>(&record).unwrap()["chunks"].as_str().unwrap().to_string();
        drop.push(Op::DeletePrefix { space: Space::Chunks, prefix: format!("{set}/") });
    }
    block_on(backend.commit(drop)).unwrap();
    let reopened = block_on(Store::open(backend.clone())).unwrap();
    check_reads(&reopened, &real);
    assert!(listings(&reopened) == from_tar_splits, "layerFiles from the entries records");
}

#[test]
fn gzip_stored_layers_read_the_same() {
    let real = fixture("docker20/basic/docker-save.tar");
    let mut items = tar_items(&real);
    for it in items.iter_mut().filter(|i| i.path.ends_with("/layer.tar") && !i.data.is_empty()) {
        it.data = gzip(&it.data);
    }
    check_reads(&loaded_store(&build_tar(&items)), &real);
}

#[test]
fn an_image_store_without_layer_data_says_which_layer_is_missing() {
    let store = loaded_store(&fixture("docker20/basic/image-store.tar"));
    let e = read(&store, "local/edge:latest", "/bin/busybox").unwrap_err();
    assert_eq!(e.code, ErrorCode::FailedPrecondition);
    assert!(e.message.contains("sha256:"), "{e}");
}

#[test]
fn reads_follow_tags_and_removals_though_merged_trees_are_cached() {
    let real = fixture("docker20/basic/docker-save.tar");
    let mut store = loaded_store(&real);
    let built = in_layer(&real, BUILT, "app/built.txt");
    let demo = store.inspect_image("local/demo:1.0").unwrap()["Id"].as_str().unwrap().to_string();
    // Both trees cached: edge whites the file out, demo has it.
    assert_eq!(read(&store, "local/edge", "/app/built.txt").unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(read(&store, "local/demo:1.0", "/app/built.txt").unwrap(), built);
    // The name now means demo's image: the read follows it, not the tree cached for the old one.
    block_on(store.tag_image("local/demo:1.0", "local/edge", "latest")).unwrap();
    assert_eq!(read(&store, "local/edge", "/app/built.txt").unwrap(), built);
    // Removed: the name and the ID are gone, whatever the cache held.
    block_on(store.remove_image(&demo, true, false)).unwrap();
    assert_eq!(read(&store, &demo, "/app/built.txt").unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(read(&store, "local/edge", "/app/built.txt").unwrap_err().code, ErrorCode::NotFound);
    // Loaded again: read again, from the layer tars stored anew.
    let input = futures::stream::iter(real.chunks(64 << 10).map(|c| Ok::<_, imagestore::Error>(c.to_vec())));
    block_on(store.import(input, Default::default())).unwrap();
    assert_eq!(read(&store, "local/demo:1.0", "/app/built.txt").unwrap(), built);
    check_reads(&store, &real);
}

/// One tar entry: (type, mode, uid, gid, mtime, link target, bytes).
type Fields = (u8, u32, u64, u64, u64, String, Vec<u8>);

/// Every entry of a tar by name, PAX applied.
fn tar_map(tar: &[u8]) -> std::collections::BTreeMap<String, Fields> {
    use std::io::Read;
    let mut archive = tar::Archive::new(tar);
    let mut out = std::collections::BTreeMap::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        let link = e.link_name_bytes().map(|l| String::from_utf8(l.into_owned()).unwrap()).unwrap_or_default();
        let h = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let t = h.entry_type().as_byte();
        out.insert(
            name,
            (t, h.mode().unwrap() & 0o7777, h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap(), link, data),
        );
    }
    out
}

#[test]
fn a_directory_reads_as_the_tar_of_its_entries_with_their_layer_headers() {
    let real = fixture("docker20/basic/docker-save.tar");
    let store = loaded_store(&real);
    let tar = |image: &str, path: &str| -> imagestore::Result<Vec<u8>> {
        block_on(async { store.read_directory(image, path).await?.read_all(store.backend()).await })
    };
    // /data of local/edge: its entries as the layer tars that wrote them have them (the topmost
    // layer's header wins), names starting with "data/".
    let layers: Vec<Vec<u8>> = {
        let manifest: serde_json::Value =
            serde_json::from_slice(&tar_items(&real).into_iter().find(|i| i.path == "manifest.json").unwrap().data)
                .unwrap();
        let item = manifest.as_array().unwrap().iter().find(|m| m["RepoTags"][0] == "local/edge:latest").unwrap();
        item["Layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| tar_items(&real).into_iter().find(|i| i.path == l.as_str().unwrap()).unwrap().data)
            .collect()
    };
    let mut want = std::collections::BTreeMap::new();
    for layer in &layers {
        for (name, e) in tar_map(layer) {
            if name == "data/" || name.starts_with("data/") {
                want.insert(name, e);
            }
        }
    }
    assert!(want.len() > 5, "{:?}", want.keys());
    let bytes = tar("local/edge", "/data").unwrap();
    let got = tar_map(&bytes);
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "the same names");
    for (name, w) in &want {
        assert_eq!(&got[name], w, "{name}: type, mode, owner, time, link, bytes");
    }
    assert_eq!(block_on(store.read_directory("local/edge", "/data")).unwrap().len(), bytes.len() as u64);
    // Through a symlink, and a trailing slash: the same tar.
    assert_eq!(tar("local/edge", "/data/").unwrap(), bytes);
    // A store opened afresh (no entries in memory; a file read there builds its tree from the
    // compact entries records, which keep no times or owner names) gives the same tar.
    let reopened = block_on(Store::open(store.backend().clone())).unwrap();
    read(&reopened, "local/edge", "/data/blob.bin").unwrap();
    let again =
        block_on(async { reopened.read_directory("local/edge", "/data").await?.read_all(reopened.backend()).await });
    assert!(again.unwrap() == bytes, "the same tar from a reopened store");
    // Every name is relative and has no "..": extracting writes only below the target folder.
    let all = tar_map(&tar("local/edge", "/").unwrap());
    assert!(all.keys().all(|n| !n.starts_with('/') && !n.split('/').any(|c| c == "..")), "{:?}", all.keys());
    assert!(all.contains_key("bin/busybox") && all.contains_key("data/blob.bin"));
    assert!(!all.contains_key("app/built.txt"), "whited out");
    // Errors: a file, a missing path, an image without layer contents.
    assert_eq!(tar("local/edge", "/bin/busybox").unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(tar("local/edge", "/nope").unwrap_err().code, ErrorCode::NotFound);
    let meta_only = loaded_store(&fixture("docker20/basic/image-store.tar"));
    let e = block_on(meta_only.read_directory("local/edge", "/data")).err().unwrap();
    assert_eq!(e.code, ErrorCode::FailedPrecondition);
    assert!(e.message.contains("sha256:"), "{e}");
}
