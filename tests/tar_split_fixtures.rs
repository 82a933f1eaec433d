//! tar-split files written by real dockerd 20.10 (tests/fixtures/docker20/*,
//! tests/fixtures/wild/docker-explorer/*), imported through the real importer, against the
//! layers they describe: the sizes dockerd recorded, the layer tars `docker save` wrote, and
//! the special entries of the basic fixture. (The Engine API answers over the same stores are
//! compared with dockerd's in tests/docker_store.rs and tests/wasm_docker.rs, through
//! tests/support/dockerd.rs.)
#![cfg(not(target_arch = "wasm32"))]

mod support;

use futures::executor::block_on;
use imagestore::digest::Digest;
use imagestore::formats::tar_split::{parse_tar_split, EntryKind, TarSplit, Whiteout};
use imagestore::storage::blobs;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use support::docker_fixture::store_from_fixture;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// A fixture store imported the way users import it.
fn load(rel: &str) -> Store<MemoryBackend> {
    block_on(store_from_fixture(fixture(rel).to_str().unwrap()))
}

/// Every layer with a tar-split: chain ID → (size dockerd recorded, DiffID, tar-split).
fn layers_of(store: &Store<MemoryBackend>) -> Vec<(Digest, i64, Digest, TarSplit)> {
    let mut out = Vec::new();
    for l in store.docker().layers.records() {
        let Some(ts) = &l.tar_split else { continue };
        let gz = block_on(blobs::read_all(store.backend(), ts)).unwrap();
        let split = parse_tar_split(&gz[..]).unwrap_or_else(|e| panic!("{}: {e}", l.chain_id));
        out.push((l.chain_id.clone(), l.size, l.diff_id.clone(), split));
    }
    out
}

/// Layer `size` vs the tar-split listing. The rule depends on the driver that unpacked the
/// layer: vfs, aufs and overlay report the sum of regular file sizes (the naive diff driver
/// sums tar header sizes; hardlinks, dirs, symlinks are 0 in tar headers); overlay2's native
/// diff reports `directory.Size` of the unpacked dir, which also counts symlink target lengths.
#[test]
fn tar_split_listings_match_layer_sizes() {
    let mut layers = 0;
    for (store_tar, symlinks_counted) in [
        ("docker20/basic/image-store.tar", false),
        ("docker20/debian/image-store.tar", false),
        ("wild/docker-explorer/test_data/aufs.v2.tgz", false),
        ("wild/docker-explorer/test_data/overlay.v2.tgz", false),
        ("wild/docker-explorer/test_data/overlay2.v2.tgz", true),
        ("wild/docker-explorer/test_data/vols.v2.tgz", true),
    ] {
        let store = load(store_tar);
        for (chain, size, _, ts) in &layers_of(&store) {
            assert!(ts.tar_size % 512 == 0 && ts.tar_size >= 1024, "{store_tar} {chain}: tar length {}", ts.tar_size);
            let listed = if symlinks_counted { ts.regular_and_symlink_bytes() } else { ts.regular_file_bytes() };
            assert_eq!(listed, *size, "{store_tar} {chain}");
            layers += 1;
        }
    }
    assert!(layers > 20);
}

/// `docker save` streams each layer tar as tar-split reassembles it, so every `layer.tar` in
/// the basic fixture's docker-save.tar is the exact tar behind one tar-split: same length
/// (Σ segments + Σ file sizes), same sha256 as the layer's DiffID, same members in order.
#[test]
fn tar_split_describes_the_saved_layer_tars_exactly() {
    let layers = layers_of(&load("docker20/basic/image-store.tar"));
    let by_diff: HashMap<&Digest, (&Digest, &TarSplit)> = layers.iter().map(|(c, _, d, ts)| (d, (c, ts))).collect();
    let saved = std::fs::File::open(fixture("docker20/basic/docker-save.tar")).unwrap();
    let mut checked = 0;
    for entry in tar::Archive::new(saved).entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.path().unwrap().ends_with("layer.tar") || entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let mut layer_tar = Vec::new();
        entry.read_to_end(&mut layer_tar).unwrap();
        let (chain, ts) = by_diff[&Digest::sha256_of(&layer_tar)];
        assert_eq!(ts.tar_size, layer_tar.len() as u64, "{chain}");
        let members: Vec<(String, u64)> = tar::Archive::new(&layer_tar[..])
            .entries()
            .unwrap()
            .map(|m| {
                let m = m.unwrap();
                (String::from_utf8_lossy(&m.path_bytes()).into_owned(), m.header().entry_size().unwrap())
            })
            .collect();
        let listed: Vec<(String, u64)> = ts.entries.iter().map(|e| (e.name().into_owned(), e.size as u64)).collect();
        assert_eq!(listed, members, "{chain}");
        checked += 1;
    }
    assert!(checked >= 5, "{checked} layer tars checked");
}

#[test]
fn edge_layer_listing_has_every_special_entry() {
    // The layer made by the RUN that creates the special files (history: 8906 bytes).
    let all: Vec<TarSplit> = layers_of(&load("docker20/basic/image-store.tar")).into_iter().map(|l| l.3).collect();
    let edge = all.iter().find(|t| t.entries.iter().any(|e| e.name().contains("of-one-hundred-bytes"))).unwrap();
    let find = |suffix: &str| {
        edge.entries
            .iter()
            .find(|e| e.name().trim_end_matches('/').ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix}"))
    };
    let deep = find("of-one-hundred-bytes/file.txt");
    assert!(deep.name().len() > 100);
    assert_eq!((deep.kind, deep.size), (EntryKind::File, 5));
    assert_eq!(find("naïve-ファイル.txt").kind, EntryKind::File);
    let link = find("data/link");
    assert_eq!((link.kind, link.linkname().as_ref()), (EntryKind::Symlink, "/app/data.txt"));
    // `ln /app/data.txt /data/hard` links to a file of a lower layer: the diff stores a copy.
    let hard = find("data/hard");
    assert_eq!((hard.kind, hard.size), (EntryKind::File, 8893));
    assert_eq!(find("data/suid").mode & 0o7777, 0o4755);
    assert_eq!(find("data/fifo").kind, EntryKind::Fifo);
    let empty = find("data/empty-dir");
    assert_eq!((empty.kind, empty.mode & 0o777), (EntryKind::Dir, 0o700));

    // The `rm` layer holds the whiteouts.
    let whiteouts: Vec<Whiteout> = all.iter().flat_map(|t| t.entries.iter().filter_map(|e| e.whiteout())).collect();
    assert!(whiteouts.contains(&Whiteout::Deleted("etc/hello.txt".into())), "{whiteouts:?}");
    assert!(whiteouts.contains(&Whiteout::Deleted("app/built.txt".into())), "{whiteouts:?}");
}
