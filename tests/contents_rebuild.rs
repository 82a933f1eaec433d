#![cfg(not(target_arch = "wasm32"))]
//! Layer tars rebuilt from a whole `/var/lib/docker` upload (tar-split + the graph driver's
//! layer folders), on real roots: docker-explorer's overlay2 and aufs hosts (Docker 17/18) and
//! vfs and overlay2 roots written here by Docker 20.10 (`tests/fixtures/docker20/driver-roots`,
//! overlay2 whiteouts as 0:0 character devices, an opaque folder as an xattr). Every layer
//! must hash to its DiffID (the importer only keeps it then); we also check it against the
//! layer tars dockerd itself wrote for `docker save` of the same images, file by file; a tampered or
//! missing file is reported by DiffID and path and the image stays inspectable without
//! contents; the driver folders may come before or after `image/<driver>/`.

mod support;

use futures::executor::block_on;
use imagestore::contents::ExportFormat;
use imagestore::digest::Digest;
use imagestore::import::ImportReport;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;
use imagestore::ErrorCode;
use std::io::Read;
use support::import::*;

fn gunzip(tgz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(tgz).read_to_end(&mut out).unwrap();
    out
}

// An upload's entries (hard links in host tars have long names: `link` keeps them whole).
use support::import::{build_tar as build, tar_items as items, TarItem as Item};

fn import(upload: &[u8]) -> (Store<MemoryBackend>, ImportReport) {
    let (f, backend) = import_chunked(upload, 64 << 10);
    block_on(async {
        let mut store = Store::open(backend).await.unwrap();
        let report = store.commit_import(f.unwrap()).await.unwrap();
        (store, report)
    })
}

fn explorer(name: &str) -> Vec<u8> {
    gunzip(&fixture(&format!("wild/docker-explorer/test_data/{name}.tgz")))
}

/// Every image's DiffIDs, from the store's inspect answers.
fn diff_ids(store: &Store<MemoryBackend>) -> Vec<(String, Vec<Digest>)> {
    let list = store.list_images(true, false, &Default::default()).unwrap();
    let mut out = Vec::new();
    for img in serde_json::to_value(list).unwrap().as_array().unwrap() {
        let id = img["Id"].as_str().unwrap().to_string();
        let inspect = store.inspect_image(&id).unwrap();
        let layers = inspect["RootFS"]["Layers"].as_array().unwrap();
        out.push((id, layers.iter().map(|l| Digest::parse(l.as_str().unwrap()).unwrap()).collect()));
    }
    out
}

fn read_layer(store: &Store<MemoryBackend>, image: &str, index: usize) -> imagestore::Result<Vec<u8>> {
    block_on(async {
        let mut r = store.read_layer(image, index)?;
        let mut all = Vec::new();
        while let Some(c) = r.next(store.backend()).await? {
            all.extend_from_slice(&c);
        }
        Ok(all)
    })
}

/// Every layer of every image reads back as a tar hashing to its DiffID.
fn assert_all_layers_stored(store: &Store<MemoryBackend>) -> usize {
    let mut n = 0;
    for (id, layers) in diff_ids(store) {
        for (i, diff) in layers.iter().enumerate() {
            let tar = read_layer(store, &id, i).unwrap_or_else(|e| panic!("{id} layer {i}: {e}"));
            assert_eq!(&Digest::sha256_of(&tar), diff, "{id} layer {i}");
            n += 1;
        }
    }
    n
}

/// Chunk sets no blob record points to (what an import must not leave behind).
fn unpublished_chunk_sets(b: &MemoryBackend) -> Vec<String> {
    use imagestore::storage::{blobs::BlobRecord, Backend, Space};
    block_on(async {
        let records = b.scan(Space::Meta, imagestore::schema::BLOBS).await.unwrap();
        let published: std::collections::BTreeSet<String> =
            records.iter().map(|(k, v)| BlobRecord::decode(k, v).unwrap().chunks).collect();
        let mut sets: Vec<String> = b
            .keys(Space::Chunks, "")
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.rsplit_once('/').unwrap().0.to_string())
            .filter(|set| !published.contains(set))
            .collect();
        sets.dedup();
        sets
    })
}

#[test]
fn overlay2_and_aufs_roots_give_every_layer_tar() {
    for name in ["overlay2.v2", "aufs.v2", "vols.v2"] {
        let (store, report) = import(&explorer(name));
        assert!(report.content_problems.is_empty(), "{name}: {:?}", report.content_problems);
        assert!(report.layer_tars > 0, "{name}: {report:?}");
        let n = assert_all_layers_stored(&store);
        assert!(n > 0, "{name}: no layers checked");
        // The spool of the driver folders' files is gone: no chunk set is left unpublished.
        assert_eq!(unpublished_chunk_sets(store.backend()), Vec::<String>::new(), "{name}");
        // The rebuilt layers export: a docker save of every image loads back with the same IDs.
        let ids: Vec<String> = diff_ids(&store).into_iter().map(|(id, _)| id).collect();
        let saved = block_on(store.save(&ids, ExportFormat::Docker, 0).unwrap().read_all(store.backend())).unwrap();
        let (again, _) = import(&saved);
        let again_ids: Vec<String> = diff_ids(&again).into_iter().map(|(id, _)| id).collect();
        assert_eq!(again_ids, ids, "{name}: docker save of the rebuilt store loads back");
    }
}

#[test]
fn overlay_v1_root_folders_give_the_layer_tars() {
    // docker-explorer's overlay (v1) host (Docker 17): the busybox layer is `overlay/<id>/root`.
    let (store, report) = import(&explorer("overlay.v2"));
    assert!(report.content_problems.is_empty(), "{:?}", report.content_problems);
    assert!(report.layer_tars > 0, "{report:?}");
    assert!(assert_all_layers_stored(&store) > 0);
}

/// The vfs root of Docker 20.10 with its layer folders laid out as `driver` lays them out
/// (`to_dir` maps a cache-id to the folder below the Docker root); `image/vfs/` becomes
/// `image/<driver>/`. Hard link targets move along.
fn relayout(items: &[Item], driver: &str, to_dir: impl Fn(&str) -> String) -> Vec<Item> {
    let map = |p: &str| -> String {
        if let Some(rest) = p.strip_prefix("vfs/dir/") {
            let (id, below) = rest.split_once('/').map_or((rest, ""), |(i, b)| (i, b));
            let dir = to_dir(id);
            if below.is_empty() {
                format!("{dir}/")
            } else {
                format!("{dir}/{below}")
            }
        } else if let Some(rest) = p.strip_prefix("image/vfs") {
            format!("image/{driver}{rest}")
        } else if p.starts_with("vfs/") {
            p.replacen("vfs/", &format!("{driver}/"), 1)
        } else {
            p.to_string()
        }
    };
    items
        .iter()
        .map(|i| Item {
            path: map(&i.path),
            link: if i.header.entry_type().is_hard_link() { i.link.as_deref().map(map) } else { i.link.clone() },
            ..i.clone()
        })
        .collect()
}

/// The same upload with the driver's folder placed first, as a host tar may order it.
fn saved_as_dockerd_saved(upload: &[u8], real: &[u8], what: &str) {
    let (store, report) = import(upload);
    assert!(report.content_problems.is_empty(), "{what}: {:?}", report.content_problems);
    assert_eq!(report.layer_tars, 3, "{what}: {report:?}");
    let saved = store.save(&manifest_names(real), ExportFormat::Docker, symlink_dir_time(real)).unwrap();
    let ours = block_on(saved.read_all(store.backend())).unwrap();
    assert!(ours == real, "{what}: the docker save is byte-identical to dockerd's");
}

/// A driver's layer folder for a cache-id.
type FolderOf = Box<dyn Fn(&str) -> String>;

#[test]
fn btrfs_zfs_devicemapper_and_overlay_snapshots_give_the_layer_tars() {
    // zfs and device-mapper cannot run here (no zfs module, no /dev/mapper), so dockerd cannot
    // use those drivers: their layouts are made from the vfs root of Docker 20.10, whose folders
    // are full snapshots of each layer just as theirs are (btrfs and overlay also have real
    // roots, in the test above).
    let root = items(&gunzip(&fixture("docker20/driver-roots/vfs/docker-root.tgz")));
    let real = gunzip(&fixture("docker20/driver-roots/vfs/docker-save.tar.gz"));
    let layouts: [(&str, FolderOf); 4] = [
        ("btrfs", Box::new(|id| format!("btrfs/subvolumes/{id}"))),
        ("zfs", Box::new(|id| format!("zfs/graph/{}", &id[..12.min(id.len())]))),
        ("devicemapper", Box::new(|id| format!("devicemapper/mnt/{id}/rootfs"))),
        ("overlay", Box::new(|id| format!("overlay/{id}/root"))),
    ];
    for (driver, to_dir) in &layouts {
        let upload = relayout(&root, driver, to_dir);
        saved_as_dockerd_saved(&build(&upload), &real, driver);
        saved_as_dockerd_saved(&build(&reorder_top(&upload, &format!("{driver}/"))), &real, driver);
    }
}

#[test]
fn overlay_v1_upper_folders_give_the_layer_tars() {
    // A layer applied the naive way keeps its diff in `upper/`, whiteouts as overlay2's are:
    // Docker 20.10's overlay2 root with `overlay2/<id>/diff` renamed `overlay/<id>/upper`.
    let root = items(&gunzip(&fixture("docker20/driver-roots/overlay2/docker-root.tgz")));
    let real = gunzip(&fixture("docker20/driver-roots/overlay2/docker-save.tar.gz"));
    let map = |p: &str| -> String {
        let p = p.replacen("image/overlay2", "image/overlay", 1);
        match p.strip_prefix("overlay2/") {
            Some(rest) => {
                let rest = match rest.split_once('/') {
                    Some((id, below)) if below == "diff" || below.starts_with("diff/") => {
                        format!("{id}/upper{}", &below[4..])
                    }
                    _ => rest.to_string(),
                };
                format!("overlay/{rest}")
            }
            None => p,
        }
    };
    let upload: Vec<Item> = root
        .iter()
        .map(|i| Item {
            path: map(&i.path),
            link: if i.header.entry_type().is_hard_link() { i.link.as_deref().map(map) } else { i.link.clone() },
            ..i.clone()
        })
        .collect();
    saved_as_dockerd_saved(&build(&upload), &real, "overlay upper");
}

#[test]
fn devicemapper_thin_devices_are_reported_per_layer_and_images_stay() {
    // Unmounted layers: devicemapper's folder holds only the pool's files, which cannot be read.
    let root = items(&gunzip(&fixture("docker20/driver-roots/vfs/docker-root.tgz")));
    let mut upload: Vec<Item> = relayout(&root, "devicemapper", |id| format!("devicemapper/mnt/{id}/rootfs"))
        .into_iter()
        .filter(|i| !i.path.contains("/rootfs"))
        .collect();
    let mut pool = upload.iter().find(|i| i.path.starts_with("image/")).unwrap().clone();
    pool.path = "devicemapper/devicemapper/data".into();
    pool.link = None;
    pool.header.set_entry_type(tar::EntryType::Regular);
    pool.data = vec![0; 4096];
    upload.push(pool);
    let (store, report) = import(&build(&upload));
    assert_eq!(report.layer_tars, 0);
    assert_eq!(report.content_problems.len(), 3, "one per layer: {:?}", report.content_problems);
    for p in &report.content_problems {
        assert!(p.reason.contains("thin device"), "{p:?}");
        assert!(p.path.starts_with("devicemapper/mnt/") && p.path.ends_with("/rootfs"), "{p:?}");
    }
    let images = diff_ids(&store);
    let (with_contents, _) = import(&build(&root));
    assert_eq!(images, diff_ids(&with_contents), "every image is there, as from the vfs root");
    let err = read_layer(&store, &images[0].0, 0).unwrap_err();
    assert_eq!(err.code, ErrorCode::FailedPrecondition);
}

/// Moves the driver folders (`docker/<driver>/…`) after everything else, or before.
fn reorder(items: &[Item], driver: &str, first: bool) -> Vec<Item> {
    let prefix = format!("docker/{driver}/");
    let (mut drv, rest): (Vec<Item>, Vec<Item>) = items.iter().cloned().partition(|i| i.path.starts_with(&prefix));
    if first {
        drv.extend(rest);
        drv
    } else {
        let mut rest = rest;
        rest.extend(drv);
        rest
    }
}

#[test]
fn driver_folders_before_or_after_the_image_store_give_the_same_layers() {
    let items_of = items(&explorer("overlay2.v2"));
    let mut answers = Vec::new();
    for first in [true, false] {
        let (store, report) = import(&build(&reorder(&items_of, "overlay2", first)));
        assert!(report.content_problems.is_empty(), "{:?}", report.content_problems);
        answers.push((report.layer_tars, assert_all_layers_stored(&store)));
    }
    assert_eq!(answers[0], answers[1]);
    assert!(answers[0].0 > 0);
}

/// The layer (diff ID, cache-id folder) whose folder holds `file` in the aufs root.
fn tamper(items: &mut [Item], pick: impl Fn(&Item) -> bool, change: impl Fn(&mut Item)) -> String {
    let it = items.iter_mut().find(|i| pick(i)).expect("an entry to change");
    change(it);
    it.path.clone()
}

#[test]
fn a_changed_or_missing_file_is_reported_by_diff_id_and_path() {
    let original = items(&explorer("aufs.v2"));
    let (good, _) = import(&build(&original));
    let images = diff_ids(&good);
    let is_layer_file = |i: &Item| i.path.starts_with("docker/aufs/diff/") && i.data.len() > 100;

    // One byte changed: the CRC-64 in the tar-split tells which file.
    let mut changed = original.clone();
    let path = tamper(&mut changed, is_layer_file, |i| i.data[50] ^= 1);
    let (store, report) = import(&build(&changed));
    assert_eq!(report.content_problems.len(), 1, "{:?}", report.content_problems);
    let p = &report.content_problems[0];
    assert!(path.ends_with(&format!("/{}", p.path)), "{path} vs {}", p.path);
    assert!(p.reason.contains("differ"), "{}", p.reason);
    // The image is still there and answers as before; its layer has no contents.
    assert_eq!(diff_ids(&store), images);
    let (id, layers) = images.iter().find(|(_, l)| l.iter().any(|d| d.as_str() == p.diff_id)).unwrap();
    let at = layers.iter().position(|d| d.as_str() == p.diff_id).unwrap();
    assert_eq!(read_layer(&store, id, at).unwrap_err().code, ErrorCode::FailedPrecondition);
    let err = store.save(std::slice::from_ref(id), ExportFormat::Docker, 0).err().unwrap();
    assert!(err.message.contains(&p.diff_id), "{}", err.message);

    // A file removed from the folder.
    let mut missing = original.clone();
    let gone = missing.iter().position(is_layer_file).unwrap();
    let gone_path = missing.remove(gone).path;
    let (_, report) = import(&build(&missing));
    assert_eq!(report.content_problems.len(), 1, "{:?}", report.content_problems);
    assert!(gone_path.ends_with(&report.content_problems[0].path));
    assert!(report.content_problems[0].reason.contains("missing"), "{:?}", report.content_problems);

    // A file of the same length with other bytes and no tar-split CRC would still be caught
    // by the DiffID; a longer file is caught by its size.
    let mut longer = original.clone();
    tamper(&mut longer, is_layer_file, |i| i.data.push(b'x'));
    let (_, report) = import(&build(&longer));
    assert!(report.content_problems[0].reason.contains("bytes in the layer folder"), "{:?}", report.content_problems);
}

fn manifest_names(save: &[u8]) -> Vec<String> {
    let manifest = raw_entries(save).into_iter().find(|e| e.name == "manifest.json").unwrap().data;
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let mut names = Vec::new();
    for item in manifest.as_array().unwrap() {
        names.extend(item["RepoTags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()));
    }
    names
}

#[test]
fn vfs_overlay2_overlay_and_btrfs_roots_of_docker_20_10_save_exactly_as_dockerd_saved_them() {
    // Made by tests/fixtures/docker20/driver-roots/make.sh: a whiteout, an opaque folder, links,
    // a long path, a non-ASCII name, setuid, a fifo, an empty folder.
    for driver in ["vfs", "overlay2", "overlay", "btrfs"] {
        let root = gunzip(&fixture(&format!("docker20/driver-roots/{driver}/docker-root.tgz")));
        let real = gunzip(&fixture(&format!("docker20/driver-roots/{driver}/docker-save.tar.gz")));
        for driver_first in [false, true] {
            let upload =
                if driver_first { build(&reorder_top(&items(&root), &format!("{driver}/"))) } else { root.clone() };
            let (store, report) = import(&upload);
            assert!(report.content_problems.is_empty(), "{driver}: {:?}", report.content_problems);
            assert_eq!(report.layer_tars, 3, "{driver}: {report:?}");
            // Folders whose layer.tar is a symlink carry the time of the save.
            let now = symlink_dir_time(&real);
            let saved = store.save(&manifest_names(&real), ExportFormat::Docker, now).unwrap();
            let ours = block_on(saved.read_all(store.backend())).unwrap();
            let (want, got) = (raw_entries(&real), raw_entries(&ours));
            let names = |v: &Vec<RawEntry>| v.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
            assert_eq!(names(&got), names(&want), "{driver}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.header, w.header, "{driver}: header of {}", w.name);
                assert!(g.data == w.data, "{driver}: bytes of {}", w.name);
            }
            assert!(
                ours == real,
                "{driver}: the whole archive is byte-identical (driver folder first: {driver_first})"
            );
        }
    }
}

/// Moves the entries under `prefix` to the front.
fn reorder_top(items: &[Item], prefix: &str) -> Vec<Item> {
    let (mut first, rest): (Vec<Item>, Vec<Item>) = items.iter().cloned().partition(|i| i.path.starts_with(prefix));
    first.extend(rest);
    first
}
